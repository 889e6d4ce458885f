//! Sign-in by OS account on the server's Unix socket (`--socket`), in
//! process: the kernel names the account, nothing a client sends can name
//! another, an account made there cannot be taken over the network, the
//! roster and `--auth` hold on every path, and a student who reconnects
//! keeps their place. (Other OS accounts, and the bridge that `ssh://`
//! runs, are in `identity_accounts.rs`.)

use std::path::{Path, PathBuf};

use jqueue_server::ServerConfig;
use jqueue_server::cli::{UsersCommand, users};
use jqueue_server::config::AuthMode;
use jqueue_shared::{AccountStatus, ClientMsg, LocalRoute, RequestResult, ServerMsg, SignInResult};
use jqueue_tests::{
    Student, TestServer, password_for, rewrite, server_command, sign_ins_naming, test_config,
};

type Result = anyhow::Result<()>;

/// The account this test process runs as: who the socket signs in.
fn me() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .expect("the user database answers")
        .expect("the test runs as an account with a name")
        .name
}

/// A server with its socket in `dir`, and the socket's path.
async fn server_with_socket(
    dir: &Path,
    tune: impl FnOnce(&mut ServerConfig),
) -> anyhow::Result<(TestServer, PathBuf)> {
    let socket = dir.join("jqueue.sock");
    let mut config = test_config(&dir.join("data"), "s");
    config.socket = Some(socket.clone());
    tune(&mut config);
    Ok((TestServer::start(config).await?, socket))
}

/// Connects on the socket and signs in by account, as this process's
/// account.
async fn signed_in_locally(socket: &Path, server: &TestServer) -> anyhow::Result<Student> {
    let mut student = Student::connect_local(socket, server.addr, "?").await?;
    let result = student.sign_in(by_account(LocalRoute::Socket)).await?;
    anyhow::ensure!(
        result == SignInResult::SignedInAsAccount { username: me() },
        "{result:?}"
    );
    Ok(student)
}

fn by_account(route: LocalRoute) -> ClientMsg {
    ClientMsg::SignInAsAccount {
        route,
        follower: false,
    }
}

#[tokio::test]
async fn the_socket_signs_in_the_connecting_account_with_nothing_to_type() -> Result {
    let dir = tempfile::tempdir()?;
    let (server, socket) = server_with_socket(dir.path(), |_| {}).await?;
    let mut student = Student::connect_local(&socket, server.addr, "?").await?;
    let result = student.sign_in(by_account(LocalRoute::Socket)).await?;
    assert_eq!(result, SignInResult::SignedInAsAccount { username: me() });
    assert_eq!(
        student.token, None,
        "no token: the account signs in by itself"
    );
    assert!(matches!(
        student.ask_for_help("segfault").await?,
        RequestResult::Joined { position: 1 }
    ));
    let view = server.view().await;
    let online = view
        .online
        .iter()
        .find(|o| o.username == me())
        .expect("online");
    assert_eq!(online.origin, "Unix account over the socket");
    assert_eq!(view.rows[0].username, me());
    server.stop().await
}

#[tokio::test]
async fn on_the_socket_no_message_can_name_another_account() -> Result {
    let dir = tempfile::tempdir()?;
    let (server, socket) = server_with_socket(dir.path(), |_| {}).await?;
    // alice has an account with a password, and a live token.
    let alice = Student::register(server.addr, "alice").await?;
    let token = alice.token.expect("registered");

    let mut impostor = Student::connect_local(&socket, server.addr, "impostor").await?;
    impostor
        .send(&ClientMsg::Identify {
            username: "alice".into(),
        })
        .await?;
    assert!(matches!(
        impostor.recv().await?,
        ServerMsg::Identity {
            status: AccountStatus::PasswordsOff,
            ..
        }
    ));
    // alice's sign-ins, and a sign-up for bob, who has no account.
    let bob = sign_ins_naming("bob", token);
    for attempt in sign_ins_naming("alice", token).iter().chain(&bob[..2]) {
        assert_eq!(
            impostor.sign_in(attempt.clone()).await?,
            SignInResult::PasswordsOff,
            "{attempt:?}"
        );
    }
    // Still nobody signed in on that connection; the account sign-in
    // names only the kernel's account.
    assert_eq!(
        impostor.sign_in(by_account(LocalRoute::Socket)).await?,
        SignInResult::SignedInAsAccount { username: me() }
    );
    let online: Vec<_> = server
        .view()
        .await
        .online
        .into_iter()
        .map(|o| o.username)
        .collect();
    assert!(!online.contains(&"bob".to_owned()), "{online:?}");
    server.stop().await
}

#[tokio::test]
async fn over_tcp_an_account_sign_in_is_refused() -> Result {
    let dir = tempfile::tempdir()?;
    let (server, _socket) = server_with_socket(dir.path(), |_| {}).await?;
    let mut student = Student::connect(server.addr, "root").await?;
    assert_eq!(
        student.sign_in(by_account(LocalRoute::Socket)).await?,
        SignInResult::NoAccountSignIn,
        "over TCP the kernel cannot say who is connecting"
    );
    server.stop().await
}

#[tokio::test]
async fn auth_unix_takes_no_password_over_tcp_and_the_socket_still_works() -> Result {
    let dir = tempfile::tempdir()?;
    let (server, socket) = server_with_socket(dir.path(), |c| c.auth = AuthMode::Unix).await?;
    let mut student = Student::connect(server.addr, "alice").await?;
    assert_eq!(student.identify().await?, AccountStatus::PasswordsOff);
    let register = ClientMsg::Register {
        username: "alice".into(),
        password: password_for("alice"),
        reset_code: None,
    };
    assert_eq!(student.sign_in(register).await?, SignInResult::PasswordsOff);

    signed_in_locally(&socket, &server).await?;
    server.stop().await
}

#[tokio::test]
async fn an_account_made_on_the_socket_cannot_be_claimed_with_a_password() -> Result {
    let dir = tempfile::tempdir()?;
    let (server, socket) = server_with_socket(dir.path(), |_| {}).await?;
    signed_in_locally(&socket, &server).await?;

    let name = me();
    // Without a password the account reads as one to set up, like a reset
    // account, and like one it needs the professor's code.
    let mut outsider = Student::connect(server.addr, &name).await?;
    assert_eq!(outsider.identify().await?, AccountStatus::New);
    let claim = ClientMsg::Register {
        username: name.clone(),
        password: "a password of my own".into(),
        reset_code: None,
    };
    assert_eq!(
        outsider.sign_in(claim).await?,
        SignInResult::ResetCodeRequired,
        "only the professor's reset code opens the password path"
    );
    let guess = ClientMsg::Login {
        username: name,
        password: "a password of my own".into(),
    };
    assert_eq!(
        outsider.sign_in(guess).await?,
        SignInResult::WrongCredentials
    );
    server.stop().await
}

#[tokio::test]
async fn the_socket_signs_in_an_account_whose_password_was_reset() -> Result {
    let dir = tempfile::tempdir()?;
    let (server, socket) = server_with_socket(dir.path(), |_| {}).await?;
    let name = me();
    Student::register(server.addr, &name).await?;
    let data = dir.path().join("data");
    server_command(move |out| users(&data, &UsersCommand::Reset { name }, out)).await?;

    // A forgotten password does not exist on the socket.
    signed_in_locally(&socket, &server).await?;
    server.stop().await
}

#[tokio::test]
async fn the_roster_holds_on_the_socket_and_is_read_again_when_it_changes() -> Result {
    let dir = tempfile::tempdir()?;
    let roster = dir.path().join("roster.txt");
    std::fs::write(&roster, "alice\n")?;
    let (server, socket) =
        server_with_socket(dir.path(), |c| c.roster_file = Some(roster.clone())).await?;
    let mut local = Student::connect_local(&socket, server.addr, "?").await?;
    assert_eq!(
        local.sign_in(by_account(LocalRoute::Socket)).await?,
        SignInResult::NotOnRoster {
            username: me(),
            course: "CS 101".into()
        }
    );

    rewrite(&roster, &format!("alice\n{}\n", me()))?;
    assert_eq!(
        local.sign_in(by_account(LocalRoute::Socket)).await?,
        SignInResult::SignedInAsAccount { username: me() }
    );
    server.stop().await
}

#[tokio::test]
async fn a_student_who_reconnects_on_the_socket_keeps_their_place() -> Result {
    let dir = tempfile::tempdir()?;
    let (server, socket) = server_with_socket(dir.path(), |_| {}).await?;
    Student::register(server.addr, "alice")
        .await?
        .ask_for_help("first")
        .await?;
    let mut local = signed_in_locally(&socket, &server).await?;
    assert!(matches!(
        local.ask_for_help("second").await?,
        RequestResult::Joined { position: 2 }
    ));
    drop(local);

    let mut again = signed_in_locally(&socket, &server).await?;
    again.expect_position(Some(2), 2).await?;
    assert_eq!(server.waiting().await, vec!["alice".to_owned(), me()]);
    server.stop().await
}

#[tokio::test]
async fn a_claimed_ssh_host_is_shown_only_if_it_is_a_host_name() -> Result {
    let dir = tempfile::tempdir()?;
    let (server, socket) = server_with_socket(dir.path(), |_| {}).await?;
    let mut local = Student::connect_local(&socket, server.addr, "?").await?;
    let claim = LocalRoute::Ssh {
        from_host: "lab-pc-12\x1b[2J".into(),
    };
    local.sign_in(by_account(claim)).await?;
    let view = server.view().await;
    let online = view
        .online
        .iter()
        .find(|o| o.username == me())
        .expect("online");
    assert_eq!(online.origin, "Unix account over SSH");
    server.stop().await
}
