//! The web board (`--http`) over a real socket on 127.0.0.1:0: the page,
//! its script, `/queues.json` (snapshot), `/healthz` and the live
//! `/events` stream, which sends the figures at once and again within the
//! test after a student joins. Nothing personal and never the presence
//! code in any answer; GET and HEAD only; a cap on live pages answered
//! with 503; a taken address is a start error naming it.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use jqueue_core::presence::AllowedHosts;
use jqueue_server::{Server, ServerConfig};
use jqueue_shared::staff::StaffRequest;
use jqueue_tests::web::{self, EventStream, SentEvent};
use jqueue_tests::{Student, TestServer, department_config};

const DEPARTMENT: &[(&str, &[&str])] = &[("cs101", &["lab", "concepts"]), ("cs225", &["office"])];

/// A department with a web board, whose professor has a name to look for
/// and whose first queue has a room (so the board holds a presence code).
fn config(dir: &std::path::Path) -> Result<ServerConfig> {
    let mut config = department_config(dir, "web", DEPARTMENT);
    config.http = Some("127.0.0.1:0".parse()?);
    config.professor = "prof_quillfeather".into();
    for course in &mut config.courses {
        for queue in &mut course.queues {
            queue.professor.clone_from(&config.professor);
        }
    }
    config.courses[0].queues[0].allow_hosts =
        Some(AllowedHosts::parse("127.0.0.0/8").map_err(anyhow::Error::msg)?);
    Ok(config)
}

fn web_of(server: &TestServer) -> Result<SocketAddr> {
    server.web.context("the server serves a web board")
}

/// The next `board` event's figures.
async fn next_board(events: &mut EventStream) -> Result<serde_json::Value> {
    let SentEvent { event, data } = events.next().await?.context("the stream ended")?;
    anyhow::ensure!(event.as_deref() == Some("board"), "{event:?}");
    Ok(serde_json::from_str(&data)?)
}

#[tokio::test]
async fn every_answer_carries_figures_and_nothing_personal() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(config(dir.path())?).await?;
    let web = web_of(&server)?;
    let mut amy = Student::register_on(server.addr, "amy_wobblesworth", "cs101/lab").await?;
    amy.ask_for_help("my secret segfault in heap.c").await?;
    let mut bo = Student::register_on(server.addr, "bo_tangerine", "cs101/lab").await?;
    bo.ask_for_help("pointer trouble").await?;
    server
        .handle
        .on_queue(0)
        .professor(StaffRequest::Serve { student: None })
        .await;
    server
        .handle
        .on_queue(2)
        .professor(StaffRequest::Announce {
            text: "<b>Moved</b> to 0216 & \"back\" at 3".into(),
        })
        .await;
    let lab = server
        .handle
        .on_queue(0)
        .staff_view()
        .await
        .context("view")?;
    let code = lab.presence_code.clone().context("the lab has a code")?;
    assert_eq!(lab.helps.len(), 1, "one being helped");
    // The board itself holds what the web must leave out: the test would
    // prove nothing if none of it were there to leak.
    assert!(
        lab.staff_online.contains(&"prof_quillfeather".to_owned()),
        "{:?}",
        lab.staff_online
    );

    // The board follows within a quarter second: wait for the one that
    // shows all of the above.
    let mut events = match EventStream::open(web, "/events").await? {
        Ok(events) => events,
        Err(refused) => anyhow::bail!("{refused:?}"),
    };
    let live = loop {
        let event = events.next().await?.context("the stream ended")?;
        let figures: serde_json::Value = serde_json::from_str(&event.data)?;
        if figures["queues"][0]["being_helped"] == 1
            && figures["queues"][2]["announcement"].is_string()
        {
            break event;
        }
    };
    let mut answers = Vec::new();
    for path in [
        "/",
        "/board.js",
        "/queues.json",
        "/metrics",
        "/healthz",
        "/nowhere",
    ] {
        answers.push((path, web::get(web, path).await?));
    }

    assert_nothing_personal(&answers, &live.data, &code);
    let answer = |path: &str| {
        answers
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, a)| a)
            .expect("asked")
    };
    let status = |path: &str| Some(answer(path).status);
    assert_eq!(status("/"), Some(200));
    assert_eq!(status("/metrics"), Some(200));
    assert_eq!(status("/nowhere"), Some(404));
    let metrics = &answer("/metrics").body;
    // The lab's two: one waiting, one being helped, by its labels.
    assert!(
        metrics.contains("jqueue_queue_being_helped{course=\"cs101\",queue=\"lab\"} 1"),
        "{metrics}"
    );
    let page = answer("/");
    assert!(page.body.contains("<script src=\"/board.js\">"));
    assert!(
        page.header("content-security-policy")
            .is_some_and(|csp| csp.contains("default-src 'none'")),
        "{:?}",
        page.headers
    );
    let health = answer("/healthz");
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));

    // The JSON and the live event are the same figures.
    let json = answer("/queues.json");
    assert_eq!(json.header("content-type"), Some("application/json"));
    assert_eq!(json.body, live.data);
    let figures: serde_json::Value = serde_json::from_str(&json.body)?;
    insta::assert_snapshot!(serde_json::to_string_pretty(&figures)?);
    server.stop().await
}

/// No answer and no live event carries a student's name or question, a
/// staff name or the room's code.
fn assert_nothing_personal(answers: &[(&str, web::Response)], live: &str, code: &str) {
    let personal = [
        "amy_wobblesworth",
        "secret segfault",
        "bo_tangerine",
        "pointer trouble",
        "prof_quillfeather",
        code,
    ];
    for (path, answer) in answers {
        let everything = format!("{:?}{}", answer.headers, answer.body);
        for personal in personal {
            assert!(
                !everything.contains(personal),
                "{path} carries {personal:?}"
            );
        }
    }
    for personal in personal {
        assert!(!live.contains(personal), "/events carries {personal:?}");
    }
}

#[tokio::test]
async fn a_live_page_hears_of_a_join_and_of_nothing_the_web_does_not_show() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(config(dir.path())?).await?;
    let web = web_of(&server)?;
    let mut events = EventStream::open(web, "/events")
        .await?
        .map_err(|r| anyhow::anyhow!("{r:?}"))?;
    let first = next_board(&mut events).await?;
    assert_eq!(first["queues"][0]["waiting"], 0);

    // A student signing in moves the staff view, not the figures: no
    // event. Then a join is one.
    let mut amy = Student::register_on(server.addr, "amy", "cs101/lab").await?;
    amy.ask_for_help("help").await?;
    let next = next_board(&mut events).await?;
    assert_eq!(next["queues"][0]["waiting"], 1);
    assert_eq!(next["queues"][0]["name"], "cs101/lab");

    // Stopping the server ends the stream rather than leaving it hanging.
    server.stop().await?;
    assert_eq!(events.next().await?, None);
    Ok(())
}

#[tokio::test]
async fn only_get_and_head_and_a_cap_on_live_pages() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = config(dir.path())?;
    config.max_web_viewers = 2;
    let server = TestServer::start(config).await?;
    let web = web_of(&server)?;

    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        let answer = web::request(web, method, "/queues.json", Some("{}")).await?;
        assert_eq!(answer.status, 405, "{method}");
    }
    let head = web::request(web, "HEAD", "/queues.json", None).await?;
    assert_eq!((head.status, head.body.as_str()), (200, ""));

    let mut live = Vec::new();
    for _ in 0..2 {
        let mut events = EventStream::open(web, "/events")
            .await?
            .map_err(|r| anyhow::anyhow!("{r:?}"))?;
        next_board(&mut events).await?;
        live.push(events);
    }
    let refused = EventStream::open(web, "/events")
        .await?
        .err()
        .context("a third live page is refused")?;
    assert_eq!(refused.status, 503);
    assert_eq!(refused.header("retry-after"), Some("30"));
    // The other routes still answer.
    assert_eq!(web::get(web, "/queues.json").await?.status, 200);

    // A page that goes gives its place back.
    drop(live.pop());
    let mut again = None;
    for _ in 0..100 {
        if let Ok(events) = EventStream::open(web, "/events").await? {
            again = Some(events);
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    next_board(&mut again.context("the place came back")?).await?;
    server.stop().await
}

#[tokio::test]
async fn a_taken_web_address_is_a_start_error_naming_it() -> Result<()> {
    let taken = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = taken.local_addr()?;
    let dir = tempfile::tempdir()?;
    let mut config = config(dir.path())?;
    config.http = Some(addr);
    let err = Server::start(config).expect_err("the address is taken");
    let message = err.to_string();
    assert!(
        message.contains(&addr.to_string()) && message.contains("web board"),
        "{message}"
    );
    Ok(())
}
