//! Presence over real TCP: a student outside `--allow-hosts` (here, every
//! loopback student: the room is 10.0.0.0/8) is asked for the 4-digit code
//! the staff screen shows; the right code admits, a wrong one is refused and
//! backs off like a wrong password. (The code's rotation and the previous
//! code's one extra window are unit-tested in `domain::presence` on given
//! times.)

use jqueue_server::domain::presence::AllowedHosts;
use jqueue_shared::{ClientMsg, RequestResult, ServerMsg};
use jqueue_tests::{Student, TestServer, test_config};

type Result = anyhow::Result<()>;

async fn ask(student: &mut Student, code: Option<&str>) -> anyhow::Result<RequestResult> {
    student
        .send(&ClientMsg::AskForHelp {
            description: "stuck".into(),
            location: String::new(),
            code: code.map(str::to_owned),
        })
        .await?;
    match student
        .recv_until(|m| matches!(m, ServerMsg::Request(_)))
        .await?
    {
        ServerMsg::Request(result) => Ok(result),
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn outside_the_room_the_code_on_the_staff_screen_is_needed() -> Result {
    let dir = tempfile::tempdir()?;
    let mut config = test_config(dir.path(), "s");
    config.allow_hosts = Some(AllowedHosts::parse("10.0.0.0/8").map_err(anyhow::Error::msg)?);
    let server = TestServer::start(config).await?;
    let code = server
        .view()
        .await
        .presence_code
        .expect("the staff screen shows a code");
    assert_eq!(code.len(), 4);

    let mut bea = Student::register(server.addr, "bea").await?;
    assert_eq!(ask(&mut bea, None).await?, RequestResult::CodeNeeded);
    let wrong = if code == "0000" { "0001" } else { "0000" };
    assert!(matches!(
        ask(&mut bea, Some(wrong)).await?,
        RequestResult::WrongCode { retry_after_ms } if retry_after_ms >= 1000
    ));
    // Backed off: even the right code waits its turn.
    assert!(matches!(
        ask(&mut bea, Some(&code)).await?,
        RequestResult::WrongCode { .. }
    ));

    let mut cal = Student::register(server.addr, "cal").await?;
    assert_eq!(
        ask(&mut cal, Some(&code)).await?,
        RequestResult::Joined { position: 1 },
        "the right code admits, and another student is not held back"
    );
    // The location defaults to where the connection comes from.
    let view = server.view().await;
    assert!(!view.rows[0].location.is_empty(), "{view:?}");
    server.stop().await
}
