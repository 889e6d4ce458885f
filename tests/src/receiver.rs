//! A webhook receiver for tests: a tiny HTTP/1.1 server on `127.0.0.1:0`
//! that notes every request it is sent (its headers and body) and answers
//! as the test says — a status per request in turn, or never at all.
//!
//! It understands just what a webhook sends: one POST with a
//! `content-length` body per connection or several in a row; nothing else.
//! Over http, or https with a certificate the test made.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::PATIENCE;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body).context("the body is JSON")
    }
}

/// How the receiver answers.
#[derive(Debug, Clone)]
pub enum Answers {
    /// These statuses in turn, then 200 for ever.
    Statuses(Vec<u16>),
    /// Reads the request and never answers.
    Never,
}

/// A receiver listening on loopback; stops when dropped.
#[derive(Debug)]
pub struct Receiver {
    pub addr: SocketAddr,
    received: mpsc::UnboundedReceiver<Received>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    /// A receiver over plain HTTP.
    pub async fn start(answers: Answers) -> Result<Self> {
        Self::start_with(answers, None).await
    }

    /// A receiver over https with the certificate `cert` (for `key`).
    pub async fn start_tls(
        answers: Answers,
        cert: CertificateDer<'static>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)?;
        Self::start_with(
            answers,
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
        )
        .await
    }

    async fn start_with(answers: Answers, tls: Option<tokio_rustls::TlsAcceptor>) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (tell, received) = mpsc::unbounded_channel();
        let statuses = Arc::new(Mutex::new(match &answers {
            Answers::Statuses(list) => list.iter().copied().collect(),
            Answers::Never => VecDeque::new(),
        }));
        let never = matches!(answers, Answers::Never);
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let tell = tell.clone();
                let statuses = statuses.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let _ = match tls {
                        None => serve(socket, &tell, &statuses, never).await,
                        Some(tls) => match tls.accept(socket).await {
                            Ok(socket) => serve(socket, &tell, &statuses, never).await,
                            Err(e) => Err(e.into()),
                        },
                    };
                });
            }
        });
        Ok(Self {
            addr,
            received,
            task,
        })
    }

    /// The URL to give as `webhook` (`http://`; see [`Self::https_url`]).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn https_url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    /// The next request, within [`PATIENCE`].
    pub async fn next(&mut self) -> Result<Received> {
        tokio::time::timeout(PATIENCE, self.received.recv())
            .await
            .context("no request came")?
            .context("the receiver stopped")
    }

    /// The request already received, if any, without waiting.
    pub fn try_next(&mut self) -> Option<Received> {
        self.received.try_recv().ok()
    }
}

async fn serve(
    socket: impl AsyncRead + AsyncWrite + Unpin,
    tell: &mpsc::UnboundedSender<Received>,
    statuses: &Mutex<VecDeque<u16>>,
    never: bool,
) -> Result<()> {
    let mut socket = BufReader::new(socket);
    loop {
        let mut line = String::new();
        if socket.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
            bail!("not a request line: {line:?}");
        };
        let (method, path) = (method.to_owned(), path.to_owned());
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            socket.read_line(&mut line).await?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').context("a header line")?;
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map_or(Ok(0), |(_, v)| v.parse())?;
        let mut body = vec![0; length];
        socket.read_exact(&mut body).await?;
        let _ = tell.send(Received {
            method,
            path,
            headers,
            body,
        });
        if never {
            std::future::pending::<()>().await;
        }
        let status = statuses.lock().unwrap().pop_front().unwrap_or(200);
        let answer = format!("HTTP/1.1 {status} Status\r\ncontent-length: 0\r\n\r\n");
        socket.get_mut().write_all(answer.as_bytes()).await?;
    }
}
