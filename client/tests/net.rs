//! The network task against a scripted fake server on 127.0.0.1:0: the
//! handshake, resume by token, password fallback, heartbeats, back-off, and
//! the ways a server can end the conversation. The fake server speaks TLS
//! with a key made for this test run, and the client pins its fingerprint.

#[path = "common/fake_server.rs"]
mod fake_server;

use std::time::Duration;

use fake_server::{FakeConn, PATIENCE, identity};
use jqueue_client::cli::ServerAddr;
use jqueue_client::net::{
    Backoff, Disconnect, NetCommand, NetConfig, NetEvent, Password, Route, StopReason, spawn,
};
use jqueue_client::token_store::TokenStore;
use jqueue_client::trust::Trust;
use jqueue_shared::{
    AccountStatus, ClientMsg, ProtocolError, ServerMsg, SessionToken, SignInResult,
};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::timeout;

struct Client {
    commands: mpsc::UnboundedSender<NetCommand>,
    events: mpsc::Receiver<NetEvent>,
    tokens: TokenStore,
    _dir: tempfile::TempDir,
}

impl Client {
    fn start(port: u16, token: Option<SessionToken>) -> Self {
        Self::start_as(port, token, false)
    }

    fn start_as(port: u16, token: Option<SessionToken>, staff: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let server = ServerAddr {
            host: "127.0.0.1".into(),
            port,
        };
        let tokens = TokenStore::for_server(dir.path(), &server);
        if let Some(token) = token {
            tokens.save("alice", &token).unwrap();
        }
        let (commands, events, _task) = spawn(NetConfig {
            route: Route::Tcp {
                trust: Trust::pinned(&server, identity().1.clone()),
                server,
                tokens: tokens.clone(),
            },
            username: "alice".into(),
            backoff: Backoff::default(),
            staff,
            queue: None,
        });
        Self {
            commands,
            events,
            tokens,
            _dir: dir,
        }
    }

    async fn next(&mut self) -> NetEvent {
        fake_server::next_event(&mut self.events).await
    }

    /// The next event that is not `Connecting`.
    async fn next_news(&mut self) -> NetEvent {
        fake_server::next_news(&mut self.events).await
    }
}

async fn listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

#[tokio::test]
async fn resumes_with_the_stored_token_without_a_password() {
    let (listener, port) = listener().await;
    let token = SessionToken([9; 16]);
    let mut client = Client::start(port, Some(token));
    let mut conn = FakeConn::accept(&listener).await;
    conn.handshake().await;
    assert_eq!(conn.recv().await, ClientMsg::Resume { token });
    conn.send(ServerMsg::SignIn(SignInResult::Success {
        username: "alice".into(),
        token,
    }))
    .await;
    assert!(matches!(client.next_news().await, NetEvent::Welcome { .. }));
    assert_eq!(
        client.next_news().await,
        NetEvent::SignedIn {
            username: "alice".into()
        }
    );
}

#[tokio::test]
async fn a_rejected_token_falls_back_to_the_password_and_the_new_token_is_kept() {
    let (listener, port) = listener().await;
    let mut client = Client::start(port, Some(SessionToken([1; 16])));
    let mut conn = FakeConn::accept(&listener).await;
    conn.handshake().await;
    assert!(matches!(conn.recv().await, ClientMsg::Resume { .. }));
    conn.send(ServerMsg::SignIn(SignInResult::TokenRejected))
        .await;
    assert_eq!(
        conn.recv().await,
        ClientMsg::Identify {
            username: "alice".into()
        }
    );
    assert_eq!(
        client.tokens.load("alice"),
        None,
        "the rejected token is gone"
    );
    conn.send(ServerMsg::Identity {
        username: "alice".into(),
        status: AccountStatus::Known,
    })
    .await;
    assert!(matches!(client.next_news().await, NetEvent::Welcome { .. }));
    assert_eq!(
        client.next_news().await,
        NetEvent::NeedPassword(AccountStatus::Known)
    );
    client
        .commands
        .send(NetCommand::Login(Password("hunter22".into())))
        .unwrap();
    assert_eq!(
        conn.recv().await,
        ClientMsg::Login {
            username: "alice".into(),
            password: "hunter22".into()
        }
    );
    let fresh = SessionToken([2; 16]);
    conn.send(ServerMsg::SignIn(SignInResult::Success {
        username: "alice".into(),
        token: fresh,
    }))
    .await;
    assert!(matches!(
        client.next_news().await,
        NetEvent::SignedIn { .. }
    ));
    assert_eq!(client.tokens.load("alice"), Some(fresh));
}

#[tokio::test]
async fn answers_pings_and_sends_its_own() {
    let (listener, port) = listener().await;
    let mut client = Client::start(port, None);
    let mut conn = FakeConn::accept(&listener).await;
    conn.handshake().await;
    assert!(matches!(conn.recv().await, ClientMsg::Identify { .. }));
    conn.send(ServerMsg::Ping { nonce: 77 }).await;
    assert_eq!(conn.recv().await, ClientMsg::Pong { nonce: 77 });
    assert!(matches!(client.next_news().await, NetEvent::Welcome { .. }));

    // Ten quiet seconds later the client pings on its own.
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(10)).await;
    assert!(matches!(conn.recv().await, ClientMsg::Ping { .. }));
}

#[tokio::test(start_paused = true)]
async fn thirty_silent_seconds_mean_a_dead_connection_then_it_reconnects() {
    let (listener, port) = listener().await;
    let mut client = Client::start(port, None);
    let mut conn = FakeConn::accept(&listener).await;
    conn.handshake().await;
    assert!(matches!(client.next_news().await, NetEvent::Welcome { .. }));
    // The fake server now says nothing at all (the client's pings go unanswered).
    assert_eq!(
        client.next_news().await,
        NetEvent::Disconnected {
            reason: Disconnect::NoHeartbeat,
            retry_in: Duration::from_secs(1),
        }
    );
    // The server had answered: this is a first attempt at a new connection.
    assert_eq!(client.next().await, NetEvent::Connecting { attempt: 1 });
    let mut again = FakeConn::accept(&listener).await;
    again.handshake().await;
    drop(conn);
}

#[tokio::test(start_paused = true)]
async fn back_off_doubles_up_to_fifteen_seconds() {
    // A port with nobody listening.
    let (listener, port) = listener().await;
    drop(listener);
    let mut client = Client::start(port, None);
    let mut delays = Vec::new();
    while delays.len() < 6 {
        if let NetEvent::Disconnected { reason, retry_in } = client.next().await {
            assert!(matches!(reason, Disconnect::Unreachable(_)), "{reason:?}");
            delays.push(retry_in.as_secs());
        }
    }
    assert_eq!(delays, [1, 2, 4, 8, 15, 15]);
}

#[tokio::test(start_paused = true)]
async fn the_back_off_starts_again_after_every_welcome() {
    // A server that welcomes, asks for a password, and drops the idle prompt
    // (its pre-authentication limit), again and again: each reconnect comes
    // after the shortest delay, never a growing one.
    let (listener, port) = listener().await;
    let mut client = Client::start(port, None);
    for _ in 0..4 {
        let mut conn = FakeConn::accept(&listener).await;
        conn.handshake().await;
        // (On the paused clock a heartbeat may come first.)
        let first = loop {
            match conn.recv().await {
                ClientMsg::Ping { .. } => {}
                other => break other,
            }
        };
        assert!(matches!(first, ClientMsg::Identify { .. }), "{first:?}");
        conn.send(ServerMsg::Identity {
            username: "alice".into(),
            status: AccountStatus::Known,
        })
        .await;
        conn.send(ServerMsg::ProtocolError(ProtocolError::TimedOut))
            .await;
        drop(conn);
        assert!(matches!(client.next_news().await, NetEvent::Welcome { .. }));
        assert_eq!(
            client.next_news().await,
            NetEvent::NeedPassword(AccountStatus::Known)
        );
        assert_eq!(
            client.next_news().await,
            NetEvent::Disconnected {
                reason: Disconnect::SignInExpired,
                retry_in: Duration::from_secs(1),
            }
        );
    }
}

#[tokio::test]
async fn a_server_shutdown_is_reported_as_such() {
    let (listener, port) = listener().await;
    let mut client = Client::start(port, None);
    let mut conn = FakeConn::accept(&listener).await;
    conn.handshake().await;
    conn.send(ServerMsg::ShuttingDown).await;
    drop(conn);
    assert!(matches!(client.next_news().await, NetEvent::Welcome { .. }));
    assert_eq!(client.next_news().await, NetEvent::ShuttingDown);
    assert!(matches!(
        client.next_news().await,
        NetEvent::Disconnected {
            reason: Disconnect::ServerShutDown,
            ..
        }
    ));
}

#[tokio::test]
async fn an_incompatible_server_stops_the_task() {
    let (listener, port) = listener().await;
    let mut client = Client::start(port, None);
    let mut conn = FakeConn::accept(&listener).await;
    assert!(matches!(conn.recv().await, ClientMsg::Hello { .. }));
    conn.send(ServerMsg::Incompatible { server_version: 2 })
        .await;
    assert_eq!(
        client.next_news().await,
        NetEvent::Stopped(StopReason::Incompatible { server_version: 2 })
    );
    assert!(
        timeout(PATIENCE, client.events.recv())
            .await
            .unwrap()
            .is_none(),
        "the task ended"
    );
}

#[tokio::test]
async fn signed_in_elsewhere_stops_instead_of_fighting_back() {
    let (listener, port) = listener().await;
    let token = SessionToken([3; 16]);
    let mut client = Client::start(port, Some(token));
    let mut conn = FakeConn::accept(&listener).await;
    conn.handshake().await;
    conn.recv().await;
    conn.send(ServerMsg::SignIn(SignInResult::Success {
        username: "alice".into(),
        token,
    }))
    .await;
    conn.send(ServerMsg::ProtocolError(
        jqueue_shared::ProtocolError::SignedInElsewhere,
    ))
    .await;
    let mut last = client.next_news().await;
    while !matches!(last, NetEvent::Stopped(_)) {
        last = client.next_news().await;
    }
    assert_eq!(last, NetEvent::Stopped(StopReason::SignedInElsewhere));
    assert_eq!(
        client.tokens.load("alice"),
        Some(token),
        "the token is kept"
    );
}

#[tokio::test]
async fn quit_closes_the_connection_without_logging_out() {
    let (listener, port) = listener().await;
    let token = SessionToken([4; 16]);
    let client = Client::start(port, Some(token));
    let mut conn = FakeConn::accept(&listener).await;
    conn.handshake().await;
    conn.recv().await;
    client.commands.send(NetCommand::Quit).unwrap();
    // The next thing the server sees is the close: no Logout, no Cancel.
    let next = timeout(PATIENCE, conn.reader.read_frame::<ClientMsg>())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next, None);
    assert_eq!(client.tokens.load("alice"), Some(token));
}

#[tokio::test]
async fn an_unresolvable_host_is_retried_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerAddr {
        host: "no-such-host.invalid".into(),
        port: 7420,
    };
    let (_commands, mut events, _task) = spawn(NetConfig {
        route: Route::Tcp {
            trust: Trust::pinned(&server, identity().1.clone()),
            tokens: TokenStore::for_server(dir.path(), &server),
            server,
        },
        username: "alice".into(),
        backoff: Backoff::default(),
        staff: false,
        queue: None,
    });
    assert_eq!(
        events.recv().await,
        Some(NetEvent::Connecting { attempt: 1 })
    );
    let event = timeout(PATIENCE, events.recv()).await.unwrap().unwrap();
    assert!(
        matches!(
            event,
            NetEvent::Disconnected {
                reason: Disconnect::Unreachable(_),
                ..
            }
        ),
        "{event:?}"
    );
}

/// `jqueue --staff`: the staff view is asked for before every sign-in (so
/// a refusal signs nobody in), staff requests and outcomes go through, and
/// the queue the screen was asked to show is asked for again after a
/// reconnect.
#[tokio::test]
async fn staff_ask_for_the_staff_view_before_signing_in() {
    use jqueue_shared::staff::{StaffOutcome, StaffRequest};
    let (listener, port) = listener().await;
    let token = SessionToken([7; 16]);
    let mut client = Client::start_as(port, Some(token), true);
    let mut conn = FakeConn::accept(&listener).await;
    conn.handshake().await;
    assert_eq!(conn.recv().await, ClientMsg::WatchStaff);
    assert_eq!(conn.recv().await, ClientMsg::Resume { token });
    conn.send(ServerMsg::SignIn(SignInResult::Success {
        username: "alice".into(),
        token,
    }))
    .await;
    while !matches!(client.next_news().await, NetEvent::SignedIn { .. }) {}
    client
        .commands
        .send(NetCommand::Staff {
            queue: None,
            request: StaffRequest::Finish,
        })
        .unwrap();
    assert_eq!(
        conn.recv().await,
        ClientMsg::Staff {
            queue: None,
            request: StaffRequest::Finish,
        }
    );
    conn.send(ServerMsg::StaffOutcome(StaffOutcome::NotHelping))
        .await;
    loop {
        if let NetEvent::StaffOutcome(outcome) = client.next_news().await {
            assert_eq!(outcome, StaffOutcome::NotHelping);
            break;
        }
    }
    let concepts = Some("cs101/concepts".to_owned());
    client
        .commands
        .send(NetCommand::ShowQueue(concepts.clone()))
        .unwrap();
    assert_eq!(
        conn.recv().await,
        ClientMsg::ShowQueue {
            queue: concepts.clone()
        }
    );
    drop(conn);
    let mut again = FakeConn::accept(&listener).await;
    again.handshake().await;
    assert_eq!(again.recv().await, ClientMsg::WatchStaff);
    assert_eq!(again.recv().await, ClientMsg::Resume { token });
    again
        .send(ServerMsg::SignIn(SignInResult::Success {
            username: "alice".into(),
            token,
        }))
        .await;
    assert_eq!(again.recv().await, ClientMsg::ShowQueue { queue: concepts });
}

/// A student account asking for the staff view: the task stops for good.
#[tokio::test]
async fn not_staff_stops_the_task() {
    let (listener, port) = listener().await;
    let token = SessionToken([8; 16]);
    let mut client = Client::start_as(port, Some(token), true);
    let mut conn = FakeConn::accept(&listener).await;
    conn.handshake().await;
    assert_eq!(conn.recv().await, ClientMsg::WatchStaff);
    assert_eq!(conn.recv().await, ClientMsg::Resume { token });
    // The server refuses before signing in: no `SignIn` comes.
    conn.send(ServerMsg::NotStaff {
        username: "alice".into(),
    })
    .await;
    loop {
        match client.next_news().await {
            NetEvent::Stopped(reason) => {
                assert_eq!(reason, StopReason::NotStaff);
                break;
            }
            NetEvent::Welcome { .. } | NetEvent::SignedIn { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(client.events.recv().await.is_none(), "nothing else happens");
}

#[tokio::test]
async fn a_password_typed_before_the_server_answers_who_the_name_is_goes_after_its_answer() {
    // The screen is up once the queue is chosen; the student may press
    // Enter (a reconnect kept what they typed) before the server has
    // answered `Identify`. The password is held, not dropped.
    let (listener, port) = listener().await;
    let mut client = Client::start(port, None);
    let mut conn = FakeConn::accept(&listener).await;
    conn.handshake().await;
    assert!(matches!(conn.recv().await, ClientMsg::Identify { .. }));
    assert!(matches!(client.next_news().await, NetEvent::Welcome { .. }));
    client
        .commands
        .send(NetCommand::Login(Password("hunter22".into())))
        .unwrap();
    conn.send(ServerMsg::Identity {
        username: "alice".into(),
        status: AccountStatus::Known,
    })
    .await;
    assert_eq!(
        conn.recv().await,
        ClientMsg::Login {
            username: "alice".into(),
            password: "hunter22".into()
        },
        "sent once the server has answered"
    );
    conn.send(ServerMsg::SignIn(SignInResult::Success {
        username: "alice".into(),
        token: SessionToken([3; 16]),
    }))
    .await;
    // Not asked again for what was already typed.
    assert_eq!(
        client.next_news().await,
        NetEvent::SignedIn {
            username: "alice".into()
        }
    );
}

#[tokio::test]
async fn a_welcome_names_the_queue_first() {
    let (listener, port) = listener().await;
    let mut client = Client::start(port, None);
    let mut conn = FakeConn::accept(&listener).await;
    conn.handshake().await;
    loop {
        match client.next().await {
            NetEvent::Connecting { .. } => {}
            first => {
                assert_eq!(
                    first,
                    NetEvent::Queue {
                        name: "default/main".into()
                    }
                );
                break;
            }
        }
    }
    assert!(matches!(client.next().await, NetEvent::Welcome { .. }));
}
