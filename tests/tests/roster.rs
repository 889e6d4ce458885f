//! The course roster over real TCP: a name off the roster cannot create an
//! account or sign in, one on it can, staff need not be on it, a changed
//! roster file counts at the next sign-in without a restart, and
//! `users list` marks the accounts not on it.

use jqueue_server::cli::{UsersCommand, users_on_roster};
use jqueue_server::store::roster::Roster;
use jqueue_shared::{AccountStatus, ClientMsg, SignInResult};
use jqueue_tests::{Student, TestServer, make_staff, password_for, rewrite, test_config};

type Result = anyhow::Result<()>;

async fn sign_up(server: &TestServer, name: &str) -> anyhow::Result<SignInResult> {
    let mut student = Student::connect(server.addr, name).await?;
    student
        .sign_in(ClientMsg::Register {
            username: name.into(),
            password: password_for(name),
            reset_code: Some(jqueue_tests::CLAIM_CODE.into()),
        })
        .await
}

#[tokio::test]
async fn only_names_on_the_roster_sign_up_and_a_changed_roster_counts_at_once() -> Result {
    let dir = tempfile::tempdir()?;
    let roster = dir.path().join("roster.txt");
    std::fs::write(&roster, "# CS 101\nalice\n")?;
    make_staff(&dir.path().join("data"), "ta")?;
    let mut config = test_config(&dir.path().join("data"), "s");
    config.roster_file = Some(roster.clone());
    let server = TestServer::start(config).await?;

    let mut mallory = Student::connect(server.addr, "mallory").await?;
    assert_eq!(mallory.identify().await?, AccountStatus::NotOnRoster);
    assert_eq!(
        sign_up(&server, "mallory").await?,
        SignInResult::NotOnRoster {
            username: "mallory".into(),
            course: "CS 101".into()
        }
    );
    assert!(matches!(
        sign_up(&server, "alice").await?,
        SignInResult::Success { .. }
    ));
    assert!(
        matches!(sign_up(&server, "ta").await?, SignInResult::Success { .. }),
        "staff need not be on the students' roster"
    );

    // The professor adds a late student: no restart.
    rewrite(&roster, "alice\nmallory\n")?;
    assert!(matches!(
        sign_up(&server, "mallory").await?,
        SignInResult::Success { .. }
    ));

    // Taken off again: `users list` marks the account.
    rewrite(&roster, "alice\n")?;
    let mut out = Vec::new();
    users_on_roster(
        &dir.path().join("data"),
        &UsersCommand::List,
        &mut Roster::new(Some(roster.clone()), None)?,
        &mut out,
    )?;
    let list = String::from_utf8(out)?;
    let line = |name: &str| {
        list.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(line("mallory").contains("(not on the roster)"), "{list}");
    assert!(!line("alice").contains("roster"), "{list}");
    assert!(!line("ta").contains("roster"), "{list}");
    server.stop().await
}
