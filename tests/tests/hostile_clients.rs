//! Hostile clients: anyone on the lab network can write their own.
//!
//! - A thousand idle connections from one host that never say hello do not
//!   keep a real student on another host out, and beyond the cap the newest
//!   of them are shed (see `floods.rs` for the rest of the flood defences).
//! - A hundred thousand malformed, oversized and truncated frames against the
//!   real binary: no crash, memory stays bounded (VmRSS is measured and
//!   printed), and a real student is served afterwards.
//! - Brute force against one account: the back-off doubles 1, 2, 4, 8, 15,
//!   15 s (the server's own answer), even for the right password, while
//!   another student on the same address signs in at once.
//! - A corpus of terminal controls (C0, C1, ESC/CSI/OSC/DCS, bidi overrides)
//!   sent through a real server never reaches either TUI's buffer raw.
//!
//! No assertion measures speed: elapsed times are printed for
//! docs/RELIABILITY.md, and timeouts only turn hangs into failures.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use jqueue_client::app::{App as ClientApp, Event as ClientEvent, Settings};
use jqueue_client::event_loop::EventLoop;
use jqueue_client::net::{Disconnect, NetEvent};
use jqueue_shared::codec::encode_frame;
use jqueue_shared::sanitize::is_inert;
use jqueue_shared::staff::StaffRequest;
use jqueue_shared::{
    ClientMsg, MAX_FRAME_LEN, OwnEntry, PROTOCOL_VERSION, ProtocolError, QueueView, RequestResult,
    ServerMsg, SignInResult, ViewRow,
};
use jqueue_tests::{
    PATIENCE, SeededRng, ServerProcess, Student, TestServer, password_for, tcp_from, test_config,
    tls_connect_with, tls_over, trust_for,
};
use jqueue_tui::alert::AlertSink;
use jqueue_tui::staff::{Role, StaffScreen, StaffSettings, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

// --- idle connections ---------------------------------------------------------

/// `n` connections from the loopback address `source` that finish the TLS
/// handshake and then say nothing (an attacker can afford handshakes; the
/// server gives them no more than the hello deadline all the same).
async fn idle_connections(
    source: std::net::IpAddr,
    addr: std::net::SocketAddr,
    n: usize,
) -> Result<Vec<TlsStream<TcpStream>>> {
    let trust = trust_for(addr)?;
    let mut idle = Vec::with_capacity(n);
    for _ in 0..n {
        let tcp = tcp_from(source, addr).await?;
        idle.push(tls_over(&trust, addr, tcp).await?);
    }
    Ok(idle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_idle_connections_do_not_keep_a_student_out() -> Result<()> {
    // Both ends live in this process: two descriptors per connection.
    rlimit::increase_nofile_limit(8192)?;
    let dir = tempfile::tempdir()?;
    let mut config = test_config(dir.path(), "s");
    let cap = config.max_unauthenticated;
    assert_eq!(cap, 1024, "the default cap");
    // Making 1 100 TLS connections in a debug build may take longer than
    // the default ten seconds to say hello: this test is about the cap.
    config.hello_timeout = Duration::from_secs(120);
    let server = TestServer::start(config).await?;
    let attacker: std::net::IpAddr = [127, 0, 0, 66].into();

    let mut idle = idle_connections(attacker, server.addr, 1000).await?;
    let started = Instant::now();
    let mut alice = Student::register(server.addr, "alice").await?;
    assert_eq!(
        alice.ask_for_help("stuck").await?,
        RequestResult::Joined { position: 1 }
    );
    let with_1000_idle = started.elapsed();

    // Past the cap: each new idle connection is shed at once, before its
    // TLS handshake is done, and bob (on another host) still gets in.
    let trust = trust_for(server.addr)?;
    let mut shed_at_once = 0;
    for _ in 0..100 {
        let tcp = tcp_from(attacker, server.addr).await?;
        match tls_over(&trust, server.addr, tcp).await {
            Ok(conn) => idle.push(conn),
            Err(_) => shed_at_once += 1,
        }
    }
    assert_eq!(shed_at_once, 1100 - cap, "the ones past the cap");
    let started = Instant::now();
    let mut bob = Student::register(server.addr, "bob").await?;
    assert_eq!(
        bob.ask_for_help("stuck").await?,
        RequestResult::Joined { position: 2 }
    );
    let past_the_cap = started.elapsed();

    // bob's connection went one over the cap of 1 024: the newest idle one
    // was told why and closed; every other one is still open.
    let reads = idle.into_iter().enumerate().map(|(i, mut conn)| {
        tokio::spawn(async move {
            let mut buf = Vec::new();
            // Long enough for any eviction already made to arrive.
            match tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut buf)).await {
                Ok(_) => Some((
                    i,
                    jqueue_shared::codec::decode_frame::<ServerMsg>(&buf).ok(),
                )),
                Err(_) => None,
            }
        })
    });
    let mut evicted = Vec::new();
    for read in reads.collect::<Vec<_>>() {
        if let Some((i, msg)) = read.await? {
            assert_eq!(
                msg,
                Some(ServerMsg::ProtocolError(ProtocolError::Evicted)),
                "conn {i}"
            );
            evicted.push(i);
        }
    }
    assert_eq!(evicted, [cap - 1], "the newest goes");
    let evicted_count = shed_at_once + evicted.len();
    eprintln!(
        "idle connections: sign-in + join with 1000 idle took {with_1000_idle:?}; \
         past the cap {past_the_cap:?}; {evicted_count} newest shed and told why"
    );
    server.stop().await
}

// --- a hundred thousand bad frames -------------------------------------------

const BAD_FRAME_KINDS: usize = 7;

/// One hostile frame of kind `kind`: what a connection sends before it
/// shuts its write side.
fn bad_frame(rng: &mut SeededRng, kind: usize) -> Vec<u8> {
    let hello = encode_frame(&ClientMsg::Hello {
        protocol_version: PROTOCOL_VERSION,
        client: "fuzz".into(),
    })
    .expect("encodes");
    match kind {
        // Random payload under an honest length.
        0 => {
            let len = rng.below(200) as usize + 1;
            let mut f = (len as u32).to_be_bytes().to_vec();
            f.extend(rng.bytes(len));
            f
        }
        // Oversize: the length alone is refused, before any payload.
        1 => {
            let len = MAX_FRAME_LEN as u32 + 1 + rng.below(u64::from(u32::MAX) - 70_000) as u32;
            let mut f = len.to_be_bytes().to_vec();
            f.extend(rng.bytes(16));
            f
        }
        // Truncated: a long claim, a short payload, then the end.
        2 => {
            let len = rng.below(MAX_FRAME_LEN as u64) as u32 + 64;
            let mut f = len.to_be_bytes().to_vec();
            let n = rng.below(60) as usize;
            f.extend(rng.bytes(n));
            f
        }
        // A string length of 2^40 inside a ten-byte frame.
        3 => {
            let mut payload = vec![1u8, 0xFD];
            payload.extend((1u64 << 40).to_le_bytes());
            let mut f = (payload.len() as u32).to_be_bytes().to_vec();
            f.extend(payload);
            f
        }
        // A good handshake, then a damaged copy of a real request.
        4 => {
            let mut bad = encode_frame(&ClientMsg::Login {
                username: "mallory".into(),
                password: "x".repeat(rng.below(100) as usize),
            })
            .expect("encodes");
            let at = 4 + rng.below(bad.len() as u64 - 4) as usize;
            bad[at] ^= (rng.below(255) + 1) as u8;
            let mut f = hello.clone();
            f.extend(bad);
            f
        }
        // A prefix cut short.
        5 => {
            let n = rng.below(4) as usize;
            rng.bytes(n)
        }
        // A well-formed but unknown variant, and trailing bytes.
        _ => {
            let mut f = 2u32.to_be_bytes().to_vec();
            f.extend([200, rng.next_u64() as u8]);
            f
        }
    }
}

fn vm_rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS")
}

/// Sends `frames` hostile frames, one per connection, from `tasks` tasks at
/// once; each connection is read until the server closes it.
async fn send_bad_frames(addr: std::net::SocketAddr, frames: usize, seed: u64) -> Result<()> {
    const TASKS: usize = 32;
    // Inside TLS, so the frames reach the decoder; sessions resume, so the
    // run measures frames more than handshakes.
    let trust =
        trust_for(addr)?.with_resumption(rustls::client::Resumption::in_memory_sessions(TASKS * 4));
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let trust = trust.clone();
        let count = frames / TASKS + usize::from(t < frames % TASKS);
        tasks.push(tokio::spawn(async move {
            let mut rng = SeededRng::new(seed ^ ((t as u64) << 32));
            for i in 0..count {
                let frame = bad_frame(&mut rng, (i + t) % BAD_FRAME_KINDS);
                let mut conn = tls_connect_with(&trust, addr).await?;
                // The server may close before taking it all: that's fine.
                let _ = conn.write_all(&frame).await;
                let _ = conn.shutdown().await;
                let mut sink = Vec::new();
                tokio::time::timeout(PATIENCE, conn.read_to_end(&mut sink))
                    .await
                    .context("the server kept a bad connection open")?
                    .ok();
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_bad_frames_leave_the_server_up_and_small() -> Result<()> {
    let frames: usize = std::env::var("JQUEUE_BAD_FRAMES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let mut server = ServerProcess::start(dir.path(), "s", &[])?;
    let pid = server.pid();
    // Warm up (allocator arenas, thread pools), then measure.
    send_bad_frames(server.addr, 1_000, 1).await?;
    let before = vm_rss_kib(pid)?;
    let started = Instant::now();
    send_bad_frames(server.addr, frames, 2).await?;
    let elapsed = started.elapsed();
    let after = vm_rss_kib(pid)?;

    // Still serving: a real student signs in and joins.
    let mut alice = Student::register(server.addr, "alice").await?;
    assert_eq!(
        alice.ask_for_help("stuck").await?,
        RequestResult::Joined { position: 1 }
    );
    assert_eq!(
        server.command("status")?,
        "OPEN · 1 waiting · 1 online · 0 helped"
    );
    let growth = after.saturating_sub(before);
    eprintln!(
        "bad frames: {frames} on {frames} connections in {elapsed:?}; \
         server VmRSS {before} KiB before, {after} KiB after (+{growth} KiB)"
    );
    assert!(
        growth < 64 * 1024,
        "memory grew by {growth} KiB over {frames} bad frames"
    );
    drop(alice);
    assert!(server.quit()?.success());
    Ok(())
}

// --- brute force --------------------------------------------------------------

/// Paused time: the back-off clock is tokio's, so `advance` moves it without
/// waiting, and the server's own `retry_after_ms` shows each step exactly.
#[tokio::test(start_paused = true)]
async fn brute_force_backs_off_to_fifteen_seconds_without_locking_out_the_lab() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    drop(Student::register(server.addr, "victim").await?);
    drop(Student::register(server.addr, "neighbour").await?);

    let mut steps = Vec::new();
    for guess in 0..6 {
        let (_, result) = Student::login(server.addr, "victim", &format!("guess-{guess}")).await?;
        assert_eq!(result, SignInResult::WrongCredentials, "guess {guess}");
        // Even the right password must wait now.
        let (_, result) = Student::login(server.addr, "victim", &password_for("victim")).await?;
        let SignInResult::TooManyAttempts { retry_after_ms } = result else {
            panic!("guess {guess}: expected a back-off, got {result:?}");
        };
        steps.push(retry_after_ms);
        // Another student from the same address is not held up at all.
        let (_, result) =
            Student::login(server.addr, "neighbour", &password_for("neighbour")).await?;
        assert!(
            matches!(result, SignInResult::Success { .. }),
            "neighbour after guess {guess}: {result:?}"
        );
        tokio::time::advance(Duration::from_millis(retry_after_ms)).await;
    }
    assert_eq!(steps, [1_000, 2_000, 4_000, 8_000, 15_000, 15_000]);
    // Once the last wait is over, the owner gets in.
    let (_, result) = Student::login(server.addr, "victim", &password_for("victim")).await?;
    assert!(matches!(result, SignInResult::Success { .. }), "{result:?}");
    server.stop().await
}

// --- terminal controls --------------------------------------------------------

/// Each item is at most 200 characters, so the server accepts it as a
/// description or location.
const CORPUS: &[&str] = &[
    "\u{1b}[2J\u{1b}[H clear",
    "\u{1b}]0;pwned\u{7} title",
    "\u{1b}]52;c;ZXZpbA==\u{1b}\\ clipboard",
    "\u{1b}[31mred\u{1b}[0m \u{1b}[5m blink",
    "over\rwrite\nline\r\n",
    "\u{9b}2J \u{9d}0;title\u{9c} \u{90}dcs\u{9c} c1",
    "abc\u{202e}fed\u{202c} \u{2067}iso\u{2069}\u{200f}\u{200e}\u{061c}",
    "bell\u{7}\u{8}\u{8}back\u{7f} tab\there\u{0}nul",
    "\u{1b}P+q\u{1b}\\ \u{1b}[6n \u{1b}c reset",
    "para\u{2029}sep\u{2028}\u{b}\u{c}\u{1a}\u{1c}",
];

fn assert_inert(buffer: &ratatui::buffer::Buffer, screen: &str) {
    for (i, cell) in buffer.content.iter().enumerate() {
        let symbol = cell.symbol();
        assert!(
            is_inert(symbol) && !symbol.chars().any(char::is_control),
            "{screen}: raw control {symbol:?} in cell {i}"
        );
    }
}

fn buffer_text(buffer: &ratatui::buffer::Buffer) -> String {
    buffer
        .content
        .iter()
        .map(ratatui::buffer::Cell::symbol)
        .collect()
}

/// Hostile text goes through a real server: a student's description and
/// location, the course title, an announcement. Then both screens draw what
/// they were given, and no cell may hold a raw control.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminal_controls_never_reach_either_screen() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = test_config(dir.path(), "s");
    config.course = format!("CS 101 {}", CORPUS[1]);
    let server = TestServer::start(config).await?;

    let mut students = Vec::new();
    for (i, text) in CORPUS.iter().enumerate() {
        let mut s = Student::register(server.addr, &format!("evil{i}")).await?;
        s.send(&ClientMsg::AskForHelp {
            description: (*text).to_owned(),
            location: CORPUS[(i + 3) % CORPUS.len()].to_owned(),
            code: None,
            context: None,
            moving: false,
            tag: None,
        })
        .await?;
        let ServerMsg::Request(result) =
            s.recv_until(|m| matches!(m, ServerMsg::Request(_))).await?
        else {
            unreachable!()
        };
        ensure!(matches!(result, RequestResult::Joined { .. }), "{result:?}");
        students.push(s);
    }
    for text in CORPUS {
        announce(&server, text).await;
    }

    // The staff screen, fed the view the server really pushes (activity
    // included).
    let mut views = server.handle.staff_views();
    let view = views
        .wait_for(|v| v.waiting as usize == CORPUS.len() && v.announcement.is_some())
        .await?
        .clone();
    let settings = StaffSettings {
        me: "prof".into(),
        role: Role::Professor,
        bell: false,
        theme: Theme::COLOR,
        unicode: true,
        time_zone: chrono::FixedOffset::east_opt(0).expect("UTC"),
    };
    let app = StaffScreen::new(settings, view, tokio::time::Instant::now());
    for (w, h) in [(250, 60), (80, 24)] {
        let mut terminal = Terminal::new(TestBackend::new(w, h))?;
        terminal.draw(|frame| frame.render_widget(&app, frame.area()))?;
        let buffer = terminal.backend().buffer();
        assert_inert(buffer, &format!("professor {w}x{h}"));
        if w == 250 {
            let text = buffer_text(buffer);
            assert!(text.contains("␛[2J"), "escapes are shown, not run:\n{text}");
        }
    }

    // A student's screen, fed the messages a student really received, plus
    // what a hostile *server* could send (names in rows, error text).
    let mut alice = Student::register(server.addr, "alice").await?;
    let welcome = {
        let mut s = Student::connect_raw(server.addr, "peek").await?;
        s.send(&ClientMsg::Hello {
            protocol_version: PROTOCOL_VERSION,
            client: "t".into(),
        })
        .await?;
        s.recv().await?
    };
    announce(&server, CORPUS[0]).await;
    let announced = alice
        .recv_until(|m| matches!(m, ServerMsg::Announcement { .. }))
        .await?;
    draw_student_screens(welcome, announced)?;
    drop(students);
    server.stop().await
}

async fn announce(server: &TestServer, text: &str) {
    server
        .handle
        .professor(StaffRequest::Announce {
            text: text.to_owned(),
        })
        .await;
}

/// Feeds a student's screen what a student really received, plus what a
/// hostile *server* could send (names in rows, error text), drawing after
/// each event; no cell may ever hold a raw control.
fn draw_student_screens(welcome: ServerMsg, announced: ServerMsg) -> Result<()> {
    let settings = Settings {
        server: "lab:7420".into(),
        username: "alice".into(),
        bell: false,
        location: CORPUS[2].into(),
        color: true,
        unicode: true,
        staff: false,
    };
    let now = tokio::time::Instant::now();
    let (tx, _commands) = tokio::sync::mpsc::unbounded_channel();
    let terminal = Terminal::new(TestBackend::new(120, 40))?;
    let mut client = EventLoop::new(
        terminal,
        ClientApp::new(settings, now),
        tx,
        AlertSink::silent(),
    );
    let mut events = vec![NetEvent::Connecting { attempt: 1 }];
    if let ServerMsg::Welcome {
        course, session, ..
    } = welcome
    {
        events.push(NetEvent::Welcome {
            course,
            session,
            ready_at: 3,
            tags: Vec::new(),
        });
    }
    events.push(NetEvent::SignedIn {
        username: "alice".into(),
    });
    if let ServerMsg::Announcement { text } = announced {
        events.push(NetEvent::Announcement(text));
    }
    for text in CORPUS {
        events.push(NetEvent::View(QueueView {
            now_ms: 10_000,
            open: true,
            length: 2,
            you: Some(OwnEntry {
                position: 2,
                joined_at_ms: 5_000,
                estimated_wait_secs: None,
                away_until: None,
                place: jqueue_shared::Place::Arrival,
            }),
            estimated_wait_secs: None,
            opens_at: None,
            closes_at: None,
            rows: vec![
                ViewRow {
                    position: 1,
                    name: Some((*text).to_owned()),
                    joined_at_ms: 1_000,
                },
                ViewRow {
                    position: 2,
                    name: Some("alice".into()),
                    joined_at_ms: 5_000,
                },
            ],
        }));
        events.push(NetEvent::Announcement((*text).to_owned()));
    }
    events.push(NetEvent::Disconnected {
        reason: Disconnect::Error(CORPUS[5].to_owned()),
        retry_in: Duration::from_secs(3),
    });
    for event in events {
        client.handle(ClientEvent::Net(event), now)?;
        client.draw()?;
        assert_inert(client.terminal().backend().buffer(), "student");
    }
    Ok(())
}

// --- the largest staff view ------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_of_the_longest_texts_still_reaches_a_fresh_staff_screen() -> Result<()> {
    use jqueue_shared::staff::MAX_STAFF_ROWS;
    use jqueue_shared::validate::MAX_TEXT_CHARS;
    let dir = tempfile::tempdir()?;
    jqueue_tests::make_staff(dir.path(), "ta")?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    // The longest texts the validator allows, in four-byte characters,
    // for more students than the view carries.
    let longest: String = "𝄞".repeat(MAX_TEXT_CHARS);
    let students = MAX_STAFF_ROWS + 5;
    // A screen open all along decodes the view at every length of the
    // queue, the sizes just under a limit included.
    let mut watching = Student::register(server.addr, "ta").await?;
    ensure!(matches!(
        watching.watch_staff().await?,
        ServerMsg::StaffView(_)
    ));
    for i in 0..students {
        let mut student = Student::register(server.addr, &format!("s{i}")).await?;
        student
            .send(&ClientMsg::AskForHelp {
                description: longest.clone(),
                location: longest.clone(),
                code: None,
                context: None,
                moving: false,
                tag: None,
            })
            .await?;
        let answer = student
            .recv_until(|m| matches!(m, ServerMsg::Request(_)))
            .await?;
        ensure!(
            matches!(answer, ServerMsg::Request(RequestResult::Joined { .. })),
            "{answer:?}"
        );
        watching
            .staff_view_where(|view| view.waiting as usize == i + 1)
            .await?;
    }
    // A fresh staff screen decodes its first view with the decoder every
    // client uses (a refused one would be an error here).
    let (mut ta, _) = Student::login(server.addr, "ta", &password_for("ta")).await?;
    let ServerMsg::StaffView(view) = ta.watch_staff().await? else {
        panic!("ta is staff");
    };
    ensure!(view.waiting as usize == students, "{}", view.waiting);
    ensure!(!view.rows.is_empty(), "rows of a full queue are shown");
    ensure!(view.rows[0].description == longest);
    println!(
        "{} of {students} rows of the longest texts fit",
        view.rows.len()
    );
    Ok(())
}

// --- reconnect floods ---------------------------------------------------------

/// One student resuming by token as fast as the connection allows: past the
/// account's allowance each resume is closed unanswered (the token kept,
/// nothing logged but a few lines a minute), and the staff activity pane
/// shows the loop on one counted line, the real events before it intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_flood_is_refused_past_a_burst_and_takes_one_activity_line() -> Result<()> {
    use jqueue_shared::staff::ActivityKind;
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let alice = Student::register(server.addr, "alice").await?;
    let token = alice.token.context("a token")?;
    drop(alice);
    let mut bob = Student::register(server.addr, "bob").await?;
    bob.ask_for_help("linker error").await?;

    let mut signed_in = 0u32;
    let mut refused = 0u32;
    for _ in 0..120 {
        let mut student = Student::connect(server.addr, "alice").await?;
        student.send(&ClientMsg::Resume { token }).await?;
        match student.recv_or_closed().await {
            Ok(Some(ServerMsg::SignIn(SignInResult::Success { .. }))) => signed_in += 1,
            Ok(Some(ServerMsg::SignIn(other))) => panic!("the token is good: {other:?}"),
            // Closed without a verdict: try later, token kept.
            Ok(None) | Err(_) => refused += 1,
            Ok(Some(other)) => panic!("{other:?}"),
        }
    }
    println!("{signed_in} resumes signed in, {refused} refused");
    ensure!((20..=25).contains(&signed_in), "{signed_in} signed in");

    let view = server.view().await;
    let lines: Vec<String> = view.activity.iter().map(|a| a.kind.to_string()).collect();
    ensure!(
        lines.iter().any(|l| l == "bob joined the queue"),
        "real events stay: {lines:#?}"
    );
    let about_alice = view
        .activity
        .iter()
        .filter(|a| a.kind.to_string().starts_with("alice "))
        .collect::<Vec<_>>();
    // Created, left, the loop, and the disconnections since its last
    // sign-in (a replaced connection may report after its successor).
    ensure!(about_alice.len() <= 5, "{lines:#?}");
    ensure!(
        about_alice.iter().any(|a| matches!(
            &a.kind,
            ActivityKind::Reconnected { times, .. } if *times + 1 == signed_in
        )),
        "one line counts the loop: {lines:#?}"
    );
    Ok(())
}

/// The same flood against the real binary: the log gets the first sign-in
/// and a few repeats a minute from the address, not a line per resume.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_flood_writes_a_few_log_lines_not_one_per_resume() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start(dir.path(), "s", &["--port", "0"])?;
    let alice = Student::register(server.addr, "alice").await?;
    let token = alice.token.context("a token")?;
    drop(alice);
    let mut signed_in = 0;
    for _ in 0..60 {
        let mut student = Student::connect(server.addr, "alice").await?;
        student.send(&ClientMsg::Resume { token }).await?;
        if let Ok(Some(ServerMsg::SignIn(SignInResult::Success { .. }))) =
            student.recv_or_closed().await
        {
            signed_in += 1;
        }
    }
    ensure!(signed_in >= 20, "{signed_in}");
    server.quit()?;
    let log = std::fs::read_to_string(dir.path().join("logs").join("server.log"))?;
    let lines = log
        .lines()
        .filter(|l| l.contains("alice signed in"))
        .count();
    println!("{signed_in} sign-ins, {lines} log lines");
    // The first, then the address's allowance of a few lines a minute.
    let most = 1 + jqueue_core::rate::LOG_LINES_PER_WINDOW as usize;
    ensure!((1..=most).contains(&lines), "{lines} lines:\n{log}");
    Ok(())
}
