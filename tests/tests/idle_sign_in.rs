//! The real `jqueue` in a pseudo-terminal, left at its password prompt past
//! the server's pre-authentication limit: the server drops the idle
//! connection, the client reconnects without a word on screen, nothing
//! typed is lost, and finishing the password signs in.
//!
//! The server runs in-process with a 1 s limit (so the test crosses it
//! several times in a few seconds) behind a small TCP relay that reports
//! each new connection: the test waits for those reports, never sleeps.

use std::net::SocketAddr;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use anyhow::{Context, Result};
use jqueue_tests::pty::{Key, PtyCommand};
use jqueue_tests::{PATIENCE, TestServer, client_binary, test_config};
use tokio::net::{TcpListener, TcpStream};

/// A relay on 127.0.0.1:0 to `server`; sends the number of each connection
/// it accepts (1, 2, …) on the returned channel.
async fn counting_relay(server: SocketAddr) -> Result<(SocketAddr, std_mpsc::Receiver<usize>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = std_mpsc::channel();
    tokio::spawn(async move {
        for n in 1.. {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let _ = tx.send(n);
            tokio::spawn(async move {
                if let Ok(mut upstream) = TcpStream::connect(server).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
            });
        }
    });
    Ok((addr, rx))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_password_prompt_survives_the_pre_authentication_limit() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = test_config(&dir.path().join("server"), "idle");
    config.pre_auth_timeout = Duration::from_secs(1);
    let server = TestServer::start(config).await?;
    let (relay, connections) = counting_relay(server.addr).await?;
    let next_connection = || {
        connections
            .recv_timeout(PATIENCE)
            .context("no new connection in time")
    };

    let mut alice = PtyCommand::new("alice", &client_binary()?)
        .args(["--server", &relay.to_string(), "--user", "alice"])
        // Pinned: this test is about the prompt after the TLS handshake.
        .args(["--fingerprint", server.fingerprint.as_str()])
        .arg("--data-dir")
        .arg(dir.path().join("alice"))
        .spawn()?;
    alice.wait_for_text("Create a password")?;
    assert_eq!(next_connection()?, 1);
    alice.send_keys("correct h")?;
    alice.wait_for_text("•••••••••")?;

    // The server drops the idle prompt after 1 s, twice; each time the
    // client is back at once (the back-off starts again after a welcome).
    assert_eq!(next_connection()?, 2);
    assert_eq!(next_connection()?, 3);
    let screen = alice.screen();
    assert!(
        !screen.text().contains("connect"),
        "the renewal is silent:\n{screen}"
    );
    assert!(screen.contains("•••••••••"), "typing kept:\n{screen}");
    assert!(
        !screen.contains("••••••••••"),
        "and nothing added:\n{screen}"
    );

    // Finishing the password works, whatever the connection is doing.
    alice.send_keys("orse")?;
    alice.send_key(Key::Enter)?;
    alice.wait_for_text("Type it again")?;
    alice.send_keys("correct horse")?;
    alice.send_key(Key::Enter)?;
    alice.wait_for_text("press h to ask for help")?;
    alice.send_key(Key::Ctrl('c'))?;
    alice.wait_exit()?;
    server.stop().await
}
