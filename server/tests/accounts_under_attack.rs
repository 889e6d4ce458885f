//! Taking an account after `users reset`, and inheriting a deleted one's
//! place (issue 16, items 1 and 10), attacked over a real socket.
//!
//! A server runs in-process on 127.0.0.1:0; the attacker and the owner are
//! raw protocol clients built on `jqueue_shared::codec`, and the professor's
//! `users` commands run against the same data directory while it serves,
//! as they do on a course host.

use std::net::SocketAddr;
use std::path::Path;

use jqueue_server::cli::{UsersAction, users};
use jqueue_server::{Server, ServerConfig};
use jqueue_shared::codec::{FrameReader, encode_frame};
use jqueue_shared::{ClientMsg, PROTOCOL_VERSION, RequestResult, ServerMsg, SignInResult};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

struct Peer {
    reader: FrameReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl Peer {
    async fn connect(addr: SocketAddr) -> Self {
        let (read, writer) = TcpStream::connect(addr).await.unwrap().into_split();
        let mut peer = Peer {
            reader: FrameReader::new(read),
            writer,
        };
        peer.send(ClientMsg::Hello {
            protocol_version: PROTOCOL_VERSION,
            client: "attack test".into(),
        })
        .await;
        assert!(matches!(peer.recv().await, ServerMsg::Welcome { .. }));
        peer
    }

    async fn send(&mut self, msg: ClientMsg) {
        self.writer
            .write_all(&encode_frame(&msg).unwrap())
            .await
            .unwrap();
    }

    async fn recv(&mut self) -> ServerMsg {
        self.reader
            .read_frame::<ServerMsg>()
            .await
            .unwrap()
            .expect("the server closed the connection")
    }

    /// The next message that is not a heartbeat or a view.
    async fn answer(&mut self) -> ServerMsg {
        loop {
            match self.recv().await {
                ServerMsg::Ping { .. } | ServerMsg::View(_) => {}
                other => return other,
            }
        }
    }

    async fn register(&mut self, name: &str, password: &str, code: Option<&str>) -> SignInResult {
        self.send(ClientMsg::Register {
            username: name.into(),
            password: password.into(),
            reset_code: code.map(Into::into),
        })
        .await;
        match self.answer().await {
            ServerMsg::SignIn(result) => result,
            other => panic!("expected a sign-in result, got {other:?}"),
        }
    }
}

async fn start(dir: &Path) -> SocketAddr {
    let mut config = ServerConfig::new(dir.to_path_buf(), "s1".into());
    config.hash_rounds = 1000;
    let server = Server::start(config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(jqueue_server::run(
        listener,
        server,
        std::future::pending::<()>(),
    ));
    addr
}

fn users_command(dir: &Path, action: &UsersAction) -> String {
    let mut out = Vec::new();
    users(dir, action, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn reset(dir: &Path, name: &str) -> String {
    let out = users_command(dir, &UsersAction::Reset { name: name.into() });
    let code = out
        .split_once("Reset code: ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no code in {out:?}"));
    code.to_owned()
}

#[tokio::test]
async fn after_a_reset_only_the_holder_of_the_code_gets_the_account() {
    let dir = tempfile::tempdir().unwrap();
    let addr = start(dir.path()).await;
    let mut owner = Peer::connect(addr).await;
    assert!(matches!(
        owner.register("dave", "first password", None).await,
        SignInResult::Success { .. }
    ));
    drop(owner);

    let code = reset(dir.path(), "dave");

    // The attack: register the reset name first, polling without a code.
    let mut attacker = Peer::connect(addr).await;
    assert_eq!(
        attacker.register("dave", "attacker's pw", None).await,
        SignInResult::ResetCodeRequired
    );

    // The owner types the code as they heard it.
    let typed = code.to_lowercase().replace('-', " ");
    let mut owner = Peer::connect(addr).await;
    assert!(matches!(
        owner
            .register("dave", "second password", Some(&typed))
            .await,
        SignInResult::Success { .. }
    ));

    // The code is used up: nobody can use it again.
    assert_eq!(
        attacker
            .register("dave", "attacker's pw", Some(&code))
            .await,
        SignInResult::UsernameTaken
    );

    // After another reset, guessing the code is throttled like a password.
    let _code = reset(dir.path(), "dave");
    assert_eq!(
        attacker
            .register("dave", "attacker's pw", Some("AAAAA-AAAAA"))
            .await,
        SignInResult::ResetCodeRequired
    );
    assert!(matches!(
        attacker
            .register("dave", "attacker's pw", Some("BBBBB-BBBBB"))
            .await,
        SignInResult::TooManyAttempts { .. }
    ));
}

#[tokio::test]
async fn a_newcomer_with_a_deleted_name_inherits_no_place_in_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let addr = start(dir.path()).await;
    let mut bob = Peer::connect(addr).await;
    assert!(matches!(
        bob.register("bob", "bob's password", None).await,
        SignInResult::Success { .. }
    ));
    bob.send(ClientMsg::AskForHelp {
        description: "segfault".into(),
        location: "lab 1".into(),
        code: None,
    })
    .await;
    assert_eq!(
        bob.answer().await,
        ServerMsg::Request(RequestResult::Joined { position: 1 })
    );
    drop(bob);

    users_command(dir.path(), &UsersAction::Delete { name: "bob".into() });

    let mut newcomer = Peer::connect(addr).await;
    assert!(matches!(
        newcomer.register("bob", "another password", None).await,
        SignInResult::Success { .. }
    ));
    let view = loop {
        if let ServerMsg::View(view) = newcomer.recv().await {
            break view;
        }
    };
    assert_eq!(
        view.you, None,
        "the deleted account's place is not inherited"
    );
    assert_eq!(view.length, 0);
}
