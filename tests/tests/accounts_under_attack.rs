//! Taking an account after `users reset`, and inheriting a deleted one's
//! place (issue 16, items 1 and 10), attacked over a real socket.
//!
//! A server runs in-process on 127.0.0.1:0 (the test kit's); the attacker
//! and the owner are the kit's protocol-level students, and the professor's
//! `users` commands run against the same data directory while it serves,
//! as they do on a course host.

use std::path::Path;

use jqueue_server::cli::{UsersCommand, users};
use jqueue_shared::{ClientMsg, RequestResult, SignInResult};
use jqueue_tests::{Student, TestServer, test_config};

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

fn users_command(dir: &Path, action: &UsersCommand) -> String {
    let mut out = Vec::new();
    users(dir, action, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn reset(dir: &Path, name: &str) -> String {
    let out = users_command(dir, &UsersCommand::Reset { name: name.into() });
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

    let code = reset(dir.path(), "dave");

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
    let _code = reset(dir.path(), "dave");
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

    users_command(dir.path(), &UsersCommand::Delete { name: "bob".into() });

    let (mut newcomer, result) = register(&server, "bob", "another password", None).await;
    assert!(matches!(result, SignInResult::Success { .. }));
    let view = newcomer.view_where(|_| true).await.unwrap();
    assert_eq!(
        view.you, None,
        "the deleted account's place is not inherited"
    );
    assert_eq!(view.length, 0);
}
