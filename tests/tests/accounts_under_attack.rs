//! Taking an account after `users reset`, inheriting a deleted one's place
//! (issue 16, items 1 and 10), and becoming staff by signing up first
//! (issue 27, item 1), attacked over a real socket.
//!
//! A server runs in-process on 127.0.0.1:0 (the test kit's); the attacker
//! and the owner are the kit's protocol-level students, and the professor's
//! `users` commands run against the same data directory while it serves,
//! as they do on a course host.

use std::path::Path;

use jqueue_server::cli::{StaffCommand, UsersCommand, staff, users};
use jqueue_shared::staff::{StaffOutcome, StaffRequest};
use jqueue_shared::{ClientMsg, RequestResult, ServerMsg, SignInResult};
use jqueue_tests::{Student, TestServer, server_command, test_config};

/// Connects and sends a sign-up for `name`, with the reset code if given.
async fn register(
    server: &TestServer,
    name: &str,
    password: &str,
    code: Option<&str>,
) -> (Student, SignInResult) {
    let mut peer = Student::connect(server.addr, name).await.unwrap();
    let result = peer
        .sign_in(ClientMsg::Register {
            username: name.into(),
            password: password.into(),
            reset_code: code.map(Into::into),
        })
        .await
        .unwrap();
    (peer, result)
}

async fn users_command(dir: &Path, action: UsersCommand) -> String {
    let dir = dir.to_owned();
    server_command(move |out| users(&dir, &action, out))
        .await
        .unwrap()
}

async fn reset(dir: &Path, name: &str) -> String {
    let out = users_command(dir, UsersCommand::Reset { name: name.into() }).await;
    let code = out
        .split_once("Reset code: ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no code in {out:?}"));
    code.to_owned()
}

#[tokio::test]
async fn after_a_reset_only_the_holder_of_the_code_gets_the_account() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_config(dir.path(), "s1"))
        .await
        .unwrap();
    let (owner, result) = register(&server, "dave", "first password", None).await;
    assert!(matches!(result, SignInResult::Success { .. }));
    drop(owner);

    let code = reset(dir.path(), "dave").await;

    // The attack: register the reset name first, polling without a code.
    let (_attacker, result) = register(&server, "dave", "attacker's pw", None).await;
    assert_eq!(result, SignInResult::ResetCodeRequired);

    // The owner types the code as they heard it.
    let typed = code.to_lowercase().replace('-', " ");
    let (_owner, result) = register(&server, "dave", "second password", Some(&typed)).await;
    assert!(matches!(result, SignInResult::Success { .. }));

    // The code is used up: nobody can use it again.
    let (_attacker, result) = register(&server, "dave", "attacker's pw", Some(&code)).await;
    assert_eq!(result, SignInResult::UsernameTaken);

    // After another reset, guessing the code is throttled like a password.
    let _code = reset(dir.path(), "dave").await;
    let (_attacker, result) = register(&server, "dave", "attacker's pw", Some("AAAAA-AAAAA")).await;
    assert_eq!(result, SignInResult::ResetCodeRequired);
    let (_attacker, result) = register(&server, "dave", "attacker's pw", Some("BBBBB-BBBBB")).await;
    assert!(matches!(result, SignInResult::TooManyAttempts { .. }));
}

#[tokio::test]
async fn a_newcomer_with_a_deleted_name_inherits_no_place_in_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_config(dir.path(), "s1"))
        .await
        .unwrap();
    let (mut bob, result) = register(&server, "bob", "bob's password", None).await;
    assert!(matches!(result, SignInResult::Success { .. }));
    assert_eq!(
        bob.ask_for_help("segfault").await.unwrap(),
        RequestResult::Joined { position: 1 }
    );
    drop(bob);

    users_command(dir.path(), UsersCommand::Delete { name: "bob".into() }).await;

    let (mut newcomer, result) = register(&server, "bob", "another password", None).await;
    assert!(matches!(result, SignInResult::Success { .. }));
    let view = newcomer.view_where(|_| true).await.unwrap();
    assert_eq!(
        view.you, None,
        "the deleted account's place is not inherited"
    );
    assert_eq!(view.length, 0);
}

/// `jqueue-server staff add NAME`'s claim code.
async fn staff_add(dir: &Path, name: &str) -> String {
    let (dir, action) = (
        dir.to_owned(),
        StaffCommand::Add {
            name: name.into(),
            course: None,
        },
    );
    let out = server_command(move |out| staff(&dir, &action, out))
        .await
        .unwrap();
    out.split_once("Claim code: ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no code in {out:?}"))
        .to_owned()
}

#[tokio::test]
async fn a_staff_name_goes_only_to_whoever_holds_the_code_staff_add_printed() {
    let dir = tempfile::tempdir().unwrap();
    let roster = dir.path().join("roster.txt");
    std::fs::write(&roster, "alice\n").unwrap();
    let mut config = test_config(dir.path(), "s1");
    config.roster_file = Some(roster);
    let server = TestServer::start(config).await.unwrap();
    // Named while the server runs, before ta_vera has signed up.
    let code = staff_add(dir.path(), "ta_vera").await;

    // The squatter registers the name first: without the code, and with
    // a wrong one, nothing; the roster is not got past either.
    let (_attacker, result) = register(&server, "ta_vera", "attacker's pw", None).await;
    assert_eq!(result, SignInResult::ResetCodeRequired);
    let (_attacker, result) =
        register(&server, "ta_vera", "attacker's pw", Some("AAAAA-AAAAA")).await;
    assert_eq!(result, SignInResult::ResetCodeRequired);
    let (mut attacker, result) = register(&server, "ta_vera", "attacker's pw", None).await;
    assert!(
        matches!(
            result,
            SignInResult::ResetCodeRequired | SignInResult::TooManyAttempts { .. }
        ),
        "{result:?}"
    );
    attacker.send(&ClientMsg::WatchStaff).await.unwrap();
    let reply = tokio::time::timeout(
        std::time::Duration::from_millis(500),
        attacker.recv_or_closed(),
    )
    .await;
    assert!(
        !matches!(reply, Ok(Ok(Some(ServerMsg::StaffView(_))))),
        "no staff view for a squatter"
    );

    // ta_vera, with the code she was handed, gets her account and the
    // staff screen (from her own host: the squatter's guesses slowed only
    // theirs); the code is then used up.
    let vera_host = std::net::Ipv4Addr::new(127, 0, 0, 2).into();
    let mut vera = Student::connect_from(vera_host, server.addr, "ta_vera")
        .await
        .unwrap();
    let result = vera
        .sign_in(ClientMsg::Register {
            username: "ta_vera".into(),
            password: "vera's password".into(),
            reset_code: Some(code.clone()),
        })
        .await
        .unwrap();
    assert!(matches!(result, SignInResult::Success { .. }), "{result:?}");
    assert!(matches!(
        vera.watch_staff().await.unwrap(),
        ServerMsg::StaffView(_)
    ));
    let (_attacker, result) = register(&server, "ta_vera", "attacker's pw", Some(&code)).await;
    assert_eq!(result, SignInResult::UsernameTaken);
}

#[tokio::test]
async fn a_staff_group_makes_staff_only_of_its_unix_accounts_never_a_tcp_namesake() {
    // The group and its member exist on every Debian system (`daemon` is
    // the primary group of the account `daemon`).
    assert!(jqueue_server::store::system_users::in_group(
        "daemon", "daemon"
    ));
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path(), "s1");
    config.staff_group = Some("daemon".into());
    let server = TestServer::start(config).await.unwrap();
    let (mut outsider, result) = register(&server, "daemon", "outsider's pw", None).await;
    assert!(matches!(result, SignInResult::Success { .. }), "{result:?}");
    assert_eq!(
        outsider.watch_staff().await.unwrap(),
        ServerMsg::NotStaff {
            username: "daemon".into()
        }
    );
    assert_eq!(
        outsider
            .staff(StaffRequest::Serve { student: None })
            .await
            .unwrap(),
        StaffOutcome::NotStaff {
            username: "daemon".into()
        }
    );
}

#[tokio::test]
async fn a_staff_group_member_on_the_socket_is_staff() {
    // This process's own account and its primary group.
    let me = nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .expect("the test runs as a named account");
    let group = nix::unistd::Group::from_gid(me.gid)
        .unwrap()
        .expect("its primary group has a name");
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("jqueue.sock");
    let mut config = test_config(&dir.path().join("data"), "s1");
    config.socket = Some(socket.clone());
    config.staff_group = Some(group.name);
    let server = TestServer::start(config).await.unwrap();
    let mut member = Student::connect_local(&socket, server.addr, "?")
        .await
        .unwrap();
    let result = member
        .sign_in(ClientMsg::SignInAsAccount {
            route: jqueue_shared::LocalRoute::Socket,
            follower: false,
        })
        .await
        .unwrap();
    assert_eq!(
        result,
        SignInResult::SignedInAsAccount { username: me.name }
    );
    assert!(matches!(
        member.watch_staff().await.unwrap(),
        ServerMsg::StaffView(_)
    ));
}

#[tokio::test]
async fn after_staff_remove_not_one_more_staff_view_reaches_the_screen() {
    let dir = tempfile::tempdir().unwrap();
    jqueue_tests::make_staff(dir.path(), "tom").unwrap();
    let server = TestServer::start(test_config(dir.path(), "s1"))
        .await
        .unwrap();
    let mut tom = Student::register(server.addr, "tom").await.unwrap();
    assert!(matches!(
        tom.watch_staff().await.unwrap(),
        ServerMsg::StaffView(_)
    ));
    // Let the views of tom's own sign-in go by.
    while next_within_a_moment(&mut tom).await.is_some() {}

    let (data, action) = (
        dir.path().to_owned(),
        StaffCommand::Remove {
            name: "tom".into(),
            course: None,
        },
    );
    server_command(move |out| staff(&data, &action, out))
        .await
        .unwrap();
    // A new student's description and location would be in the next view.
    let mut eve = Student::register(server.addr, "eve").await.unwrap();
    eve.ask_for_help("secret question").await.unwrap();

    loop {
        match tom.recv().await.unwrap() {
            ServerMsg::NotStaff { username } => {
                assert_eq!(username, "tom");
                break;
            }
            ServerMsg::StaffView(view) => panic!("a view after removal: {view:?}"),
            _ => {}
        }
    }
    // The feed is over: more changes send tom no view.
    eve.cancel().await.unwrap();
    while let Some(msg) = next_within_a_moment(&mut tom).await {
        assert!(!matches!(msg, ServerMsg::StaffView(_)), "{msg:?}");
    }
}

/// The next message if one comes within a moment (heartbeats answered).
async fn next_within_a_moment(peer: &mut Student) -> Option<ServerMsg> {
    tokio::time::timeout(std::time::Duration::from_millis(300), peer.recv())
        .await
        .ok()
        .map(Result::unwrap)
}

/// A copied token (docs/SECURITY.md, "Session tokens"): its use is loud —
/// the owner's screen is signed out with `SignedInElsewhere` — and the
/// owner's `jqueue logout` revokes the copy with their own.
#[tokio::test]
async fn a_copied_token_signs_the_owner_out_and_their_logout_revokes_the_copy() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_config(dir.path(), "s1"))
        .await
        .unwrap();
    let mut owner = Student::register(server.addr, "ann").await.unwrap();
    let token = owner.token.unwrap();
    let thief_host = std::net::Ipv4Addr::new(127, 0, 0, 9).into();
    let mut thief = Student::connect_from(thief_host, server.addr, "ann")
        .await
        .unwrap();
    assert!(matches!(
        thief.sign_in(ClientMsg::Resume { token }).await.unwrap(),
        SignInResult::Success { .. }
    ));
    let kicked = owner
        .recv_until(|m| matches!(m, ServerMsg::ProtocolError(_)))
        .await
        .unwrap();
    assert_eq!(
        kicked,
        ServerMsg::ProtocolError(jqueue_shared::ProtocolError::SignedInElsewhere)
    );

    // `jqueue logout` on the owner's machine: resume, then log out.
    let (mut again, result) = Student::resume(server.addr, "ann", token).await.unwrap();
    assert!(matches!(result, SignInResult::Success { .. }));
    again.send(&ClientMsg::Logout).await.unwrap();
    again.expect_closed().await.unwrap();
    let mut thief = Student::connect_from(thief_host, server.addr, "ann")
        .await
        .unwrap();
    assert_eq!(
        thief.sign_in(ClientMsg::Resume { token }).await.unwrap(),
        SignInResult::TokenRejected
    );
}
