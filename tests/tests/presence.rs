//! Presence over real TCP: a student outside `--allow-hosts` (here, every
//! loopback student: the room is 10.0.0.0/8) is asked for the 6-digit code
//! the staff screen shows; the right code admits, a wrong one is refused and
//! backs off like a wrong password. On tokio's paused clock, which the
//! server then reads the time of day from, the code rotates every
//! `--code-minutes`, the previous one lasts one more window, and an older
//! one is refused.

use std::time::Duration;

use jqueue_core::presence::{AllowedHosts, PresenceCode};
use jqueue_server::clock::Clock;
use jqueue_shared::staff::StaffView;
use jqueue_shared::{ClientMsg, RequestResult, ServerMsg};
use jqueue_tests::{PATIENCE, Student, TestServer, test_config};

type Result = anyhow::Result<()>;

async fn ask(student: &mut Student, code: Option<&str>) -> anyhow::Result<RequestResult> {
    student
        .send(&ClientMsg::AskForHelp {
            description: "stuck".into(),
            location: String::new(),
            code: code.map(str::to_owned),
            context: None,
            moving: false,
            tag: None,
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
    assert_eq!(code.len(), jqueue_core::presence::CODE_DIGITS);

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

/// Waits until the staff view the server pushes shows `code`.
async fn code_on_screen(
    views: &mut tokio::sync::watch::Receiver<std::sync::Arc<StaffView>>,
    code: &str,
) -> Result {
    let shown = tokio::time::timeout(
        PATIENCE,
        views.wait_for(|v| v.presence_code.as_deref() == Some(code)),
    )
    .await
    .is_ok();
    anyhow::ensure!(
        shown,
        "the staff view shows {:?} at {}, not {code}",
        views.borrow().presence_code,
        views.borrow().now
    );
    Ok(())
}

/// Rotation over TCP on a paused clock. The day starts at the start of a
/// code window, so each `advance` of one window crosses exactly one
/// boundary (waiting on sockets lets tokio move the clock on by seconds at
/// most). The secret is given, so the test knows each window's code.
#[tokio::test(start_paused = true)]
async fn the_code_changes_every_code_minutes_and_the_previous_one_lasts_one_window() -> Result {
    const WINDOW: Duration = Duration::from_secs(10 * 60);
    // 2026-11-21T10:00:00Z, the start of a 10-minute window.
    const START_MS: i64 = 1_795_255_200_000;
    const SECRET: [u8; 32] = [42; 32];
    let window_ms = i64::try_from(WINDOW.as_millis())?;
    let codes = PresenceCode::new(SECRET, 10);
    let code = |window: i64| codes.current(START_MS + window * window_ms);
    let (first, second, third) = (code(0), code(1), code(2));
    assert!(
        first != second && second != third && first != third,
        "this secret must give three different codes: {first} {second} {third}"
    );

    let dir = tempfile::tempdir()?;
    let mut config = test_config(dir.path(), "s");
    config.allow_hosts = Some(AllowedHosts::parse("10.0.0.0/8").map_err(anyhow::Error::msg)?);
    config.code_minutes = 10;
    config.presence_secret = Some(SECRET);
    config.clock = Clock::tokio_from(START_MS);
    // Students say nothing while the clock jumps: keep them signed in.
    config.idle_timeout = Duration::from_secs(24 * 3600);
    let server = TestServer::start(config).await?;
    let mut views = server.handle.staff_views();
    code_on_screen(&mut views, &first).await?;

    let mut bea = Student::register(server.addr, "bea").await?;
    assert_eq!(ask(&mut bea, None).await?, RequestResult::CodeNeeded);

    // One window on: every staff screen is pushed the new code unasked.
    tokio::time::advance(WINDOW).await;
    code_on_screen(&mut views, &second).await?;
    assert_eq!(
        ask(&mut bea, Some(&first)).await?,
        RequestResult::Joined { position: 1 },
        "the previous code is good for one more window"
    );

    // Two windows on: the first code is too old, and a wrong code backs off.
    tokio::time::advance(WINDOW).await;
    code_on_screen(&mut views, &third).await?;
    let mut cal = Student::register(server.addr, "cal").await?;
    assert_eq!(
        ask(&mut cal, Some(&first)).await?,
        RequestResult::WrongCode {
            retry_after_ms: 1_000
        },
        "a code two windows old is refused, and counts as a wrong code"
    );
    assert!(
        matches!(
            ask(&mut cal, Some(&third)).await?,
            RequestResult::WrongCode { .. }
        ),
        "backed off: even the current code waits"
    );
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(
        ask(&mut cal, Some(&second)).await?,
        RequestResult::Joined { position: 2 },
        "after the back-off, the previous window's code still admits"
    );
    server.stop().await
}

/// A client on the Unix socket that claims to sit at the course host
/// (`LocalRoute::Socket`), as a hostile one behind `jqueue bridge` over SSH
/// may: the claim cannot be checked, so it grants nothing, even with the
/// course host and loopback in `--allow-hosts`.
#[tokio::test]
async fn a_claimed_route_on_the_socket_does_not_skip_the_code() -> Result {
    let dir = tempfile::tempdir()?;
    let socket = dir.path().join("jqueue.sock");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")?;
    let mut config = test_config(&dir.path().join("data"), "s");
    config.socket = Some(socket.clone());
    config.allow_hosts = Some(
        AllowedHosts::parse(&format!("{},127.0.0.0/8", host.trim())).map_err(anyhow::Error::msg)?,
    );
    let server = TestServer::start(config).await?;
    let code = server.view().await.presence_code.expect("a code");
    for route in [
        jqueue_shared::LocalRoute::Socket,
        jqueue_shared::LocalRoute::Ssh {
            from_host: host.trim().to_owned(),
        },
    ] {
        let mut student = Student::connect_local(&socket, server.addr, "?").await?;
        let result = student
            .sign_in(ClientMsg::SignInAsAccount {
                route: route.clone(),
                follower: false,
            })
            .await?;
        anyhow::ensure!(
            matches!(
                result,
                jqueue_shared::SignInResult::SignedInAsAccount { .. }
            ),
            "{result:?}"
        );
        assert_eq!(
            ask(&mut student, None).await?,
            RequestResult::CodeNeeded,
            "{route:?}"
        );
        assert!(
            matches!(
                ask(&mut student, Some(&code)).await?,
                RequestResult::Joined { .. }
            ),
            "{route:?}: the room's code admits"
        );
        assert_eq!(student.cancel().await?, RequestResult::Cancelled);
    }
    server.stop().await
}

/// Sock-puppet accounts on one host each guessing codes: the host has a few
/// wrong codes per code window between all of them, so more accounts buy
/// no more guesses; a student elsewhere is not held back.
#[tokio::test]
async fn sock_puppets_on_one_address_share_a_few_wrong_codes_per_window() -> Result {
    use jqueue_core::presence::WRONG_CODES_PER_WINDOW;
    use jqueue_shared::SignInResult;
    let dir = tempfile::tempdir()?;
    let mut config = test_config(dir.path(), "s");
    config.allow_hosts = Some(AllowedHosts::parse("10.0.0.0/8").map_err(anyhow::Error::msg)?);
    config.code_minutes = 10;
    let server = TestServer::start(config).await?;
    let code = server.view().await.presence_code.expect("a code");
    let puppet_host = std::net::Ipv4Addr::new(127, 0, 0, 3).into();
    let puppet = |i: u32| async move {
        let name = format!("puppet{i}");
        let mut puppet = Student::connect_from(puppet_host, server.addr, &name).await?;
        let result = puppet
            .sign_in(ClientMsg::Register {
                username: name.clone(),
                password: jqueue_tests::password_for(&name),
                reset_code: None,
            })
            .await?;
        anyhow::ensure!(matches!(result, SignInResult::Success { .. }), "{result:?}");
        anyhow::Ok(puppet)
    };
    let tenth_of_a_window_ms = 60_000;
    for i in 0..WRONG_CODES_PER_WINDOW {
        let mut puppet = puppet(i).await?;
        let wrong = format!("{:06}", (code.parse::<u32>()? + 1 + i) % 1_000_000);
        let answer = ask(&mut puppet, Some(&wrong)).await?;
        assert!(
            matches!(answer, RequestResult::WrongCode { .. }),
            "{answer:?}"
        );
    }
    // The host's wrong codes are spent: a new account there waits for the
    // next one, even with the right code.
    let mut late = puppet(WRONG_CODES_PER_WINDOW).await?;
    for guess in ["000000", code.as_str()] {
        let answer = ask(&mut late, Some(guess)).await?;
        assert!(
            matches!(answer, RequestResult::WrongCode { retry_after_ms } if retry_after_ms > tenth_of_a_window_ms / 2),
            "{answer:?}"
        );
    }
    let mut elsewhere = Student::register(server.addr, "dora").await?;
    assert_eq!(
        ask(&mut elsewhere, Some(&code)).await?,
        RequestResult::Joined { position: 1 }
    );
    server.stop().await
}

/// A resolver that never answers, counting the questions.
#[derive(Debug, Default)]
struct NeverAnswers(std::sync::atomic::AtomicUsize);

impl jqueue_server::net::resolve::Resolver for NeverAnswers {
    fn host_name(&self, _ip: std::net::IpAddr) -> Option<String> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        loop {
            std::thread::park();
        }
    }
}

/// Host-name lookups that never end hold neither joins (each waits the
/// short timeout, then goes by its address) nor sign-ins (lookups have
/// threads of their own, a few at most, never the hashing pool's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolver_that_never_answers_stalls_neither_joins_nor_sign_ins() -> Result {
    use jqueue_server::net::resolve::MAX_IN_FLIGHT;
    let dir = tempfile::tempdir()?;
    let resolver = std::sync::Arc::new(NeverAnswers::default());
    let mut config = test_config(dir.path(), "s");
    config.resolver = resolver.clone();
    config.resolve_timeout = Duration::from_millis(200);
    let server = TestServer::start(config).await?;
    // Students on more hosts than there are lookup threads, asking at once.
    let mut joins = tokio::task::JoinSet::new();
    for i in 0..2 * MAX_IN_FLIGHT {
        let addr = server.addr;
        joins.spawn(async move {
            let host = std::net::Ipv4Addr::new(127, 0, 1, u8::try_from(i + 1)?).into();
            let name = format!("s{i}");
            let mut student = Student::connect_from(host, addr, &name).await?;
            student
                .sign_in(ClientMsg::Register {
                    username: name.clone(),
                    password: jqueue_tests::password_for(&name),
                    reset_code: None,
                })
                .await?;
            let answer = tokio::time::timeout(PATIENCE, ask(&mut student, None)).await??;
            anyhow::Ok((answer, student))
        });
    }
    let mut students = Vec::new();
    while let Some(joined) = joins.join_next().await {
        let (answer, student) = joined??;
        anyhow::ensure!(matches!(answer, RequestResult::Joined { .. }), "{answer:?}");
        students.push(student);
    }
    let asked = resolver.0.load(std::sync::atomic::Ordering::SeqCst);
    anyhow::ensure!(
        (1..=MAX_IN_FLIGHT).contains(&asked),
        "{asked} lookups started"
    );
    // With every lookup thread stuck, signing up and in still works.
    let mut late = tokio::time::timeout(PATIENCE, Student::register(server.addr, "late")).await??;
    assert!(matches!(
        ask(&mut late, None).await?,
        RequestResult::Joined { .. }
    ));
    let view = server.view().await;
    anyhow::ensure!(
        view.rows.iter().any(|r| r.location.starts_with("127.0.1.")),
        "without a name the location is the address: {view:?}"
    );
    server.stop().await
}
