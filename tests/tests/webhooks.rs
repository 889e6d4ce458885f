//! Webhooks over real sockets, to a receiver in the test (`webhook = URL`
//! per queue): each event is posted once with its body and signature, the
//! backlog once per crossing, a receiver that fails twice still gets the
//! event, and one that never answers does not slow the queue.

use std::time::{Duration, Instant};

use anyhow::Result;
use jqueue_server::webhook::delivery::{self, RetryPolicy, Target};
use jqueue_server::webhook::{Webhook, parse_url};
use jqueue_shared::staff::StaffRequest;
use jqueue_tests::receiver::{Answers, Receiver};
use jqueue_tests::{Student, TestServer, department_config, headless, server_binary};

const SECRET: &str = "0123456789abcdef0123456789abcdef";

fn webhook(url: &str, backlog: Option<u32>) -> Result<Webhook> {
    Ok(Webhook {
        target: Target {
            url: parse_url(url).map_err(anyhow::Error::msg)?,
            secret: Some(SECRET.into()),
        },
        backlog,
    })
}

#[tokio::test]
async fn each_event_is_posted_once_signed_with_the_queues_figures_and_nothing_personal()
-> Result<()> {
    let mut receiver = Receiver::start(Answers::Statuses(Vec::new())).await?;
    let dir = tempfile::tempdir()?;
    let mut config = department_config(dir.path(), "w", &[("cs101", &["lab", "exams"])]);
    config.courses[0].queues[0].webhook = Some(webhook(&receiver.url("/hook/lab"), Some(2))?);
    let server = TestServer::start(config).await?;
    let lab = server.handle.on_queue(0);

    lab.professor(StaffRequest::SetOpen { open: false }).await;
    let closed = receiver.next().await?;
    assert_eq!(closed.method, "POST");
    assert_eq!(closed.path, "/hook/lab");
    assert_eq!(closed.header("content-type"), Some("application/json"));
    assert_eq!(closed.header("x-jqueue-event"), Some("closed"));
    assert_eq!(
        closed.header("x-jqueue-signature"),
        Some(delivery::signature(SECRET, &closed.body).as_str()),
        "signed with the secret"
    );
    assert_eq!(
        closed.header("x-jqueue-secret"),
        None,
        "never the secret itself"
    );
    let body = closed.json()?;
    assert_eq!(body["event"], "closed");
    assert_eq!(body["course"], "cs101");
    assert_eq!(body["course_title"], "CS101");
    assert_eq!(body["queue"], "lab");
    assert_eq!(body["queue_title"], "lab help");
    assert_eq!(body["open"], false);
    assert_eq!(body["backlog"], 2);
    assert!(
        body["at"].as_str().is_some_and(|at| at.ends_with('Z')),
        "{body}"
    );
    assert_eq!(
        body["text"],
        "lab help (cs101/lab) is closed: 0 students still waiting."
    );

    lab.professor(StaffRequest::SetOpen { open: true }).await;
    let opened = receiver.next().await?.json()?;
    assert_eq!(opened["event"], "opened");
    assert_eq!(opened["open"], true);

    // Three join: past the backlog of 2 once, whatever joins after.
    let mut students = Vec::new();
    for name in ["amy", "bob", "cat", "dan"] {
        let mut student = Student::register_on(server.addr, name, "cs101/lab").await?;
        student
            .ask_for_help(&format!("{name}'s own question"))
            .await?;
        students.push(student);
    }
    let backlog = receiver.next().await?;
    let body = backlog.json()?;
    assert_eq!(body["event"], "backlog");
    assert_eq!(body["waiting"], 3, "posted as the line passed 2");
    assert_eq!(
        body["text"],
        "lab help (cs101/lab) has 3 students waiting (more than 2): 0 being helped, 0 on duty."
    );
    let text = String::from_utf8_lossy(&backlog.body).into_owned();
    for name in ["amy", "bob", "cat", "dan", "question"] {
        assert!(!text.contains(name), "{name} in {text}");
    }
    // Nothing more for the fourth join: the next post is the next event.
    lab.professor(StaffRequest::SetOpen { open: false }).await;
    assert_eq!(receiver.next().await?.json()?["event"], "closed");
    assert!(receiver.try_next().is_none());
    server.stop().await
}

#[tokio::test]
async fn a_receiver_that_fails_twice_gets_the_event_on_the_third_try() -> Result<()> {
    let mut receiver = Receiver::start(Answers::Statuses(vec![503, 500])).await?;
    let target = Target {
        url: parse_url(&receiver.url("/flaky")).map_err(anyhow::Error::msg)?,
        secret: None,
    };
    let sent = delivery::Delivery {
        event: jqueue_server::webhook::events::EventKind::Opened,
        queue: "cs101/lab".into(),
        body: bytes::Bytes::from_static(br#"{"event":"opened"}"#),
    };
    // Quick waits: the back-off's schedule is tested under a paused clock
    // in the server's own tests; here it is the real client and sockets.
    let policy = RetryPolicy {
        first_backoff: Duration::from_millis(10),
        ..RetryPolicy::default()
    };
    let transport = delivery::HttpTransport::new(&[]);
    assert!(delivery::send(&target, &sent, &transport, policy).await);
    for _ in 0..3 {
        let got = receiver.next().await?;
        assert_eq!(got.body, sent.body.to_vec());
        assert_eq!(
            got.header("x-jqueue-signature"),
            None,
            "no secret, no signature"
        );
    }
    assert!(receiver.try_next().is_none(), "three tries, no more");

    // A refusal (4xx), or a redirect (not followed), is final: one try.
    for status in [404, 301] {
        let mut refusing = Receiver::start(Answers::Statuses(vec![status])).await?;
        let target = Target {
            url: parse_url(&refusing.url("/gone")).map_err(anyhow::Error::msg)?,
            secret: None,
        };
        assert!(!delivery::send(&target, &sent, &transport, policy).await);
        refusing.next().await?;
        assert!(refusing.try_next().is_none(), "{status}: tried again");
    }
    Ok(())
}

#[tokio::test]
async fn a_receiver_that_never_answers_does_not_slow_the_queue() -> Result<()> {
    let mut receiver = Receiver::start(Answers::Never).await?;
    let dir = tempfile::tempdir()?;
    let mut config = department_config(dir.path(), "w", &[("cs101", &["lab"])]);
    config.courses[0].queues[0].webhook = Some(webhook(&receiver.url("/void"), Some(1))?);
    let server = TestServer::start(config).await?;
    let lab = server.handle.on_queue(0);
    lab.professor(StaffRequest::SetOpen { open: false }).await;
    receiver.next().await?; // taken, never answered
    lab.professor(StaffRequest::SetOpen { open: true }).await;
    // Students join and are served while the webhook hangs on its first
    // post.
    let started = Instant::now();
    let mut students = Vec::new();
    for name in ["amy", "bob", "cat", "dan", "eve"] {
        let mut student = Student::register_on(server.addr, name, "cs101/lab").await?;
        student.ask_for_help("help").await?;
        students.push(student);
    }
    server.serve(None).await;
    server.finish().await;
    assert_eq!(server.waiting().await.len(), 4);
    // Had any change waited for the post, it would have waited out a
    // whole try.
    let took = started.elapsed();
    assert!(
        took < RetryPolicy::default().timeout,
        "the queue waited for the webhook: {took:?}"
    );
    assert!(receiver.try_next().is_none(), "still on the first post");
    server.stop().await
}

#[tokio::test]
async fn https_is_checked_against_the_trusted_roots() -> Result<()> {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])?;
    let cert = made.cert.der().clone();
    let key = rustls_pki_types::PrivateKeyDer::try_from(made.signing_key.serialize_der())
        .map_err(anyhow::Error::msg)?;
    let mut receiver =
        Receiver::start_tls(Answers::Statuses(Vec::new()), cert.clone(), key).await?;
    let target = Target {
        url: parse_url(&receiver.https_url("/tls")).map_err(anyhow::Error::msg)?,
        secret: Some(SECRET.into()),
    };
    let sent = delivery::Delivery {
        event: jqueue_server::webhook::events::EventKind::Closed,
        queue: "cs101/lab".into(),
        body: bytes::Bytes::from_static(br#"{"event":"closed"}"#),
    };
    let once = RetryPolicy {
        attempts: 1,
        ..RetryPolicy::default()
    };
    // The system's roots do not know the test's certificate: not sent.
    let system = delivery::HttpTransport::new(&[]);
    assert!(!delivery::send(&target, &sent, &system, once).await);
    assert!(receiver.try_next().is_none());
    // Trusted, it goes through, signed.
    let trusting = delivery::HttpTransport::new(&[cert]);
    assert!(delivery::send(&target, &sent, &trusting, once).await);
    let got = receiver.next().await?;
    assert_eq!(got.body, sent.body.to_vec());
    assert_eq!(
        got.header("x-jqueue-signature"),
        Some(delivery::signature(SECRET, &sent.body).as_str())
    );
    Ok(())
}

#[test]
fn the_server_refuses_a_config_file_holding_a_webhook_that_others_can_read() -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("server.toml");
    std::fs::write(
        &file,
        format!("webhook = \"https://hooks.example.org/T0/B0/x\"\nwebhook-secret = \"{SECRET}\"\n"),
    )?;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644))?;
    let data = dir.path().join("data");
    let shown = file.display().to_string();
    let output = headless(&server_binary()?, &data, "w", &[])
        .args(["--config", &shown])
        .stdin(std::process::Stdio::null())
        .output()?;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "{shown}: it holds a webhook and other accounts can read it"
        )),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("chmod 600 {shown}")), "{stderr}");
    assert!(!stderr.contains(SECRET), "{stderr}");
    assert!(
        !data.join("jqueue.db").exists(),
        "refused before anything started"
    );
    Ok(())
}
