//! TLS over real TCP (issue 14): what crosses the network is unreadable, a
//! server with another key gets nothing, a department certificate needs no
//! prompt, and a broken identity stops the server at start with a clear
//! message.

use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use anyhow::{Context as _, Result};
use jqueue_client::net::{self, Backoff, NetConfig, NetEvent};
use jqueue_client::token_store::TokenStore;
use jqueue_client::trust::{KnownServers, Refusal, Trust};
use jqueue_server::net::tls::TlsFiles;
use jqueue_shared::{Fingerprint, RequestResult, SignInResult};
use jqueue_tests::{
    PATIENCE, SERVER_TEST_ARGS, ServerProcess, Student, TestServer, note_fingerprint, password_for,
    server_addr, server_binary, test_config,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Everything that crossed a connection, both ways.
type Capture = Arc<Mutex<Vec<u8>>>;

/// A TCP relay in front of `target` that keeps a copy of every byte.
async fn recording_relay(target: SocketAddr, capture: Capture) -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let capture = capture.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(target).await else {
                    return;
                };
                let mut client = Recording {
                    inner: client,
                    capture,
                };
                let mut server = server;
                // Reads on either side are recorded: the client's reads of
                // what the server wrote, and (through the copy) the reverse.
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    Ok(addr)
}

/// A stream that records what is read from it and written to it.
struct Recording<S> {
    inner: S,
    capture: Capture,
}

impl<S: AsyncRead + Unpin> AsyncRead for Recording<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled()[before..].to_vec();
        self.capture.lock().unwrap().extend_from_slice(&read);
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Recording<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = result {
            self.capture.lock().unwrap().extend_from_slice(&buf[..n]);
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_client_connects_and_resumes_by_token() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let alice = Student::register(server.addr, "alice").await?;
    let token = alice.token.context("a token")?;
    drop(alice);
    let (_alice, result) = Student::resume(server.addr, "alice", token).await?;
    assert!(matches!(result, SignInResult::Success { .. }), "{result:?}");
    Ok(())
}

/// Sign-up, a join with a description, and a resume by token: none of the
/// password, the token or the description is in what crossed the socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_of_the_network_holds_no_password_token_or_description() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let capture = Capture::default();
    let relay = recording_relay(server.addr, capture.clone()).await?;
    note_fingerprint(relay, server.fingerprint.clone());

    let description = "my segfault is in list_insert at line 42";
    let mut alice = Student::register(relay, "alice").await?;
    let token = alice.token.context("a token")?;
    assert_eq!(
        alice.ask_for_help(description).await?,
        RequestResult::Joined { position: 1 }
    );
    drop(alice);
    let (mut alice, result) = Student::resume(relay, "alice", token).await?;
    assert!(matches!(result, SignInResult::Success { .. }), "{result:?}");
    alice.cancel().await?;
    drop(alice);

    let captured = capture.lock().unwrap().clone();
    // The conversation did cross the relay, a few kilobytes of it.
    assert!(captured.len() > 2_000, "only {} bytes", captured.len());
    let password = password_for("alice");
    for (what, secret) in [
        ("the password", password.as_bytes()),
        ("the token", &token.0[..]),
        ("the description", description.as_bytes()),
        ("the username", b"alice"),
    ] {
        assert!(!contains(&captured, secret), "{what} crossed in clear");
    }
    Ok(())
}

/// A server with another key where the real one was: the client, holding
/// a token and knowing the real key, refuses it inside the handshake and
/// says so; the impostor receives no application data at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_another_key_gets_no_credential() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let alice = Student::register(server.addr, "alice").await?;
    let token = alice.token.context("a token")?;
    drop(alice);
    let (addr, real) = (server.addr, server.fingerprint.clone());
    server.stop().await?;

    // The impostor: same address, a key of its own.
    let listener = TcpListener::bind(addr).await?;
    let made = rcgen::generate_simple_self_signed(vec!["jqueue".to_owned()])?;
    let key = rustls_pki_types::PrivateKeyDer::try_from(made.signing_key.serialize_der())
        .map_err(anyhow::Error::msg)?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])?
    .with_no_client_auth()
    .with_single_cert(vec![made.cert.der().clone()], key)?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let raw = Capture::default();
    let after_handshake = Capture::default();
    let impostor = {
        let (raw, after_handshake) = (raw.clone(), after_handshake.clone());
        tokio::spawn(async move {
            let (socket, _) = listener.accept().await?;
            let socket = Recording {
                inner: socket,
                capture: raw,
            };
            if let Ok(mut tls) = acceptor.accept(socket).await {
                let mut received = Vec::new();
                let _ = tokio::io::AsyncReadExt::read_to_end(&mut tls, &mut received).await;
                after_handshake.lock().unwrap().extend(received);
            }
            anyhow::Ok(())
        })
    };

    let home = tempfile::tempdir()?;
    let server = server_addr(addr);
    let known = KnownServers::in_dir(home.path());
    known.remember(&server.to_string(), &real)?;
    let tokens = TokenStore::for_server(home.path(), &server);
    tokens.save("alice", &token)?;
    let trust = Trust::new(&server, known, None, rustls::RootCertStore::empty());
    let (_commands, mut events, task) = net::spawn(NetConfig {
        route: net::Route::Tcp {
            trust,
            server,
            tokens: tokens.clone(),
        },
        username: "alice".into(),
        backoff: Backoff::default(),
        staff: false,
        queue: None,
    });
    let change = loop {
        match tokio::time::timeout(PATIENCE, events.recv()).await? {
            Some(NetEvent::KeyChanged(change)) => break change,
            Some(NetEvent::Connecting { .. }) => {}
            other => panic!("expected the key change, got {other:?}"),
        }
    };
    assert_eq!(change.expected, real);
    assert_ne!(change.presented, real);
    assert_eq!(
        change.known_servers.as_deref(),
        Some(&*home.path().join("known_servers"))
    );
    tokio::time::timeout(PATIENCE, task).await??;
    tokio::time::timeout(PATIENCE, impostor).await???;

    assert!(after_handshake.lock().unwrap().is_empty());
    let raw = raw.lock().unwrap().clone();
    assert!(!raw.is_empty(), "the client did start a handshake");
    assert!(!contains(&raw, &token.0), "the token reached the impostor");
    assert!(
        !contains(&raw, b"alice"),
        "the username reached the impostor"
    );
    // Still the token it had: the client did not give up its session.
    assert_eq!(tokens.load("alice"), Some(token));
    Ok(())
}

/// A certificate from a CA the client trusts, for the name it connects to:
/// no prompt, nothing written to known_servers. Under another name the
/// same certificate is just an unknown key (asked about, not trusted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_department_certificate_is_checked_against_the_roots_and_the_host_name() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let ca_key = rcgen::KeyPair::generate()?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key)?;
    let server_key = rcgen::KeyPair::generate()?;
    let server_cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])?
        .signed_by(&server_key, &rcgen::Issuer::new(ca_params, ca_key))?;
    let (cert, key) = (dir.path().join("dept.pem"), dir.path().join("dept.key"));
    std::fs::write(&cert, server_cert.pem())?;
    write_private(&key, &server_key.serialize_pem())?;

    let mut config = test_config(&dir.path().join("data"), "s");
    config.tls = TlsFiles::Given { cert, key };
    let server = TestServer::start(config).await?;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone())?;

    let home = tempfile::tempdir()?;
    let by_name = jqueue_client::cli::ServerAddr {
        host: "localhost".into(),
        port: server.addr.port(),
    };
    let trust = Trust::new(
        &by_name,
        KnownServers::in_dir(home.path()),
        None,
        roots.clone(),
    );
    let tcp = TcpStream::connect(server.addr).await?;
    trust
        .connect("localhost", tcp)
        .await
        .map_err(|refusal| anyhow::anyhow!("{refusal:?}"))?;
    assert!(!home.path().join("known_servers").exists());

    let by_ip = server_addr(server.addr);
    let trust = Trust::new(&by_ip, KnownServers::in_dir(home.path()), None, roots);
    let tcp = TcpStream::connect(server.addr).await?;
    let refusal = trust.connect("127.0.0.1", tcp).await.unwrap_err();
    assert_eq!(refusal, Refusal::Unknown(server.fingerprint.clone()));
    Ok(())
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    std::io::Write::write_all(&mut file, contents.as_bytes())?;
    Ok(())
}

/// `jqueue-server --headless` that must refuse to start: its exit status and
/// the one line it prints on stderr.
fn refused_start(data_dir: &Path, extra: &[&str]) -> Result<String> {
    let output = Command::new(server_binary()?)
        .arg("--headless")
        .args(SERVER_TEST_ARGS)
        .args(["--port", "0", "--session", "s"])
        .arg("--data-dir")
        .arg(data_dir)
        .args(extra)
        .output()?;
    assert!(!output.status.success(), "it started: {output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains("listening on"), "{stdout}");
    Ok(String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn a_broken_tls_identity_is_a_clear_error_at_start() -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    // A first start makes the identity and prints its fingerprint.
    let server = ServerProcess::start(&data, "s", &[])?;
    let fingerprint: Fingerprint = server.fingerprint.clone().expect("TLS");
    assert!(server.quit()?.success());
    let key = data.join("tls/key.pem");
    assert_eq!(std::fs::metadata(&key)?.permissions().mode() & 0o777, 0o600);

    // The key readable by others.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644))?;
    let stderr = refused_start(&data, &[])?;
    assert!(
        stderr.contains(&key.display().to_string()) && stderr.contains("chmod 600"),
        "{stderr}"
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))?;

    // A certificate file that is not one.
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "-----BEGIN NONSENSE-----\n")?;
    let key_arg = key.display().to_string();
    let garbage_arg = garbage.display().to_string();
    let stderr = refused_start(&data, &["--tls-cert", &garbage_arg, "--tls-key", &key_arg])?;
    assert!(
        stderr.contains(&garbage_arg) && stderr.contains("certificate"),
        "{stderr}"
    );

    // The key gone: refused, not silently replaced by a new identity.
    std::fs::remove_file(&key)?;
    let stderr = refused_start(&data, &[])?;
    assert!(
        stderr.contains(&key_arg) && stderr.contains("missing"),
        "{stderr}"
    );
    assert!(!key.exists());
    assert_eq!(fingerprint.as_str().len(), "SHA256:".len() + 43);
    Ok(())
}

/// `jqueue` in a terminal against the real server binary, from a home that
/// has never met it.
fn student_in_a_terminal(home: &Path, server: &ServerProcess) -> Result<jqueue_tests::pty::Pty> {
    jqueue_tests::pty::PtyCommand::new("alice", &jqueue_tests::client_binary()?)
        .args(["--server", &server.addr.to_string(), "--user", "alice"])
        .arg("--data-dir")
        .arg(home)
        .size(24, 80)
        .spawn()
}

/// Through the real binaries: the prompt shows the key the server printed;
/// y goes on to the password, and the next run does not ask again.
#[test]
fn the_trust_prompt_accepted_in_a_terminal() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start(&dir.path().join("data"), "s", &[])?;
    let home = dir.path().join("alice");
    let mut alice = student_in_a_terminal(&home, &server)?;
    let screen = alice.wait_for_text("Trust this key?")?;
    assert!(
        screen.contains(server.fingerprint.as_ref().expect("TLS").as_str()),
        "{}",
        screen.text()
    );
    alice.send_keys("y")?;
    alice.wait_for_text("Create a password")?;
    alice.send_key(jqueue_tests::pty::Key::Esc)?;
    alice.wait_exit()?;
    let known = std::fs::read_to_string(home.join("known_servers"))?;
    let fingerprint = server.fingerprint.as_ref().expect("TLS");
    assert_eq!(known, format!("{} {fingerprint}\n", server.addr));

    let mut again = student_in_a_terminal(&home, &server)?;
    let screen = again.wait_for_text("Create a password")?;
    assert!(!screen.contains("Trust this key?"), "{}", screen.text());
    again.send_key(jqueue_tests::pty::Key::Esc)?;
    again.wait_exit()?;
    assert!(server.quit()?.success());
    Ok(())
}

/// Through the real binaries: n quits at once, says nothing was sent, and
/// the server never had the student (no account, nobody online).
#[test]
fn the_trust_prompt_refused_in_a_terminal() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut server = ServerProcess::start(&dir.path().join("data"), "s", &[])?;
    let home = dir.path().join("alice");
    let mut alice = student_in_a_terminal(&home, &server)?;
    alice.wait_for_text("Trust this key?")?;
    alice.send_keys("n")?;
    let status = alice.wait_exit()?;
    assert!(status.success(), "{status:?}");
    let text = alice.screen_text();
    assert!(
        text.contains("you did not trust the key") && text.contains("nothing was sent"),
        "{text}"
    );
    assert!(!home.join("known_servers").exists());
    assert_eq!(
        server.command("status")?,
        "OPEN · 0 waiting · 0 online · 0 helped"
    );
    assert!(server.quit()?.success());
    let users = Command::new(server_binary()?)
        .args(["users", "list", "--data-dir"])
        .arg(dir.path().join("data"))
        .output()?;
    let listed = String::from_utf8_lossy(&users.stdout);
    assert!(!listed.contains("alice"), "{listed}");
    Ok(())
}
