//! `/metrics`' figures over real sockets: connections counted by what
//! they are, TLS handshakes by result, a wrong password, a join and the
//! fan-out that carried it, as `jqueue_server::metrics::render` gives them.

use anyhow::{Result, bail};
use jqueue_server::metrics::render;
use jqueue_shared::{ClientMsg, ServerMsg, SignInResult};
use jqueue_tests::{Student, TestServer, test_config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The value of the sample `series` (name and labels as written): a count.
fn value(text: &str, series: &str) -> Result<u64> {
    for line in text.lines() {
        if let Some(value) = line
            .strip_prefix(series)
            .and_then(|rest| rest.strip_prefix(' '))
        {
            return Ok(value.parse()?);
        }
    }
    bail!("no {series} in\n{text}")
}

#[tokio::test]
async fn connections_handshakes_sign_ins_joins_and_the_fanout_are_counted() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "m")).await?;

    let mut amy = Student::register(server.addr, "amy").await?;
    amy.ask_for_help("why").await?;
    // Her view of the change comes from the fan-out.
    amy.recv_until(|m| matches!(m, ServerMsg::View(view) if view.you.is_some()))
        .await?;
    let mut wall = Student::connect(server.addr, "wall").await?;
    wall.send(&ClientMsg::WatchWall { queues: Vec::new() })
        .await?;
    assert!(matches!(wall.recv().await?, ServerMsg::Wall(_)));
    let (_bob, result) = Student::login(server.addr, "amy", "not amy's password").await?;
    assert_eq!(result, SignInResult::WrongCredentials);
    // Not TLS at all: the server answers with an alert and hangs up.
    let mut plain = tokio::net::TcpStream::connect(server.addr).await?;
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await?;
    let mut rest = Vec::new();
    let _ = plain.read_to_end(&mut rest).await;
    // Everything above has been applied once the queue answers this.
    server.view().await;

    let text = render(&server.handle);
    assert_eq!(
        value(&text, "jqueue_connections{kind=\"student\"}")?,
        1,
        "amy"
    );
    assert_eq!(value(&text, "jqueue_connections{kind=\"wall\"}")?, 1);
    assert_eq!(
        value(&text, "jqueue_connections_total{kind=\"student\"}")?,
        1
    );
    assert_eq!(value(&text, "jqueue_connections_accepted_total")?, 4);
    assert_eq!(
        value(&text, "jqueue_tls_handshakes_total{result=\"ok\"}")?,
        3
    );
    assert_eq!(
        value(&text, "jqueue_tls_handshakes_total{result=\"failed\"}")?,
        1
    );
    assert_eq!(value(&text, "jqueue_sign_in_failures_total")?, 1);
    let lab = "course=\"default\",queue=\"main\"";
    assert_eq!(
        value(&text, &format!("jqueue_queue_joins_total{{{lab}}}"))?,
        1
    );
    assert_eq!(value(&text, &format!("jqueue_queue_waiting{{{lab}}}"))?, 1);
    assert_eq!(value(&text, &format!("jqueue_queue_open{{{lab}}}"))?, 1);
    assert!(
        value(&text, "jqueue_fanout_seconds_count")? >= 1,
        "amy's view of her own join went out through the fan-out"
    );
    for name in ["amy", "why"] {
        assert!(!text.contains(name), "{name} in the metrics");
    }
    server.stop().await
}
