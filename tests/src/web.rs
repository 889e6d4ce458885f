//! A small HTTP/1.1 client written by hand over a `TcpStream`, for the web
//! board's tests (`--http`), the load generator's web viewers, and talking
//! to chromedriver in the browser test: one request per connection
//! (`Connection: close`), and a reader for a server-sent event stream.
//!
//! By hand rather than through a client crate so that a test sees exactly
//! the bytes on the wire (status line, headers, chunks), and so that the
//! tests add no dependency. It follows no redirects and speaks no TLS:
//! it is only ever pointed at loopback.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// How long any one read may take before the test fails rather than hangs.
const PATIENCE: Duration = Duration::from_secs(20);

/// An answer: its status, headers (names in lower case) and body.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    /// The first header named `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `GET path` on `addr`.
pub async fn get(addr: SocketAddr, path: &str) -> Result<Response> {
    request(addr, "GET", path, None).await
}

/// `method path` on `addr`, with a JSON `body` if given, read to the end.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Result<Response> {
    let mut stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    send_head(&mut stream, addr, method, path, body).await?;
    let mut reader = BufReader::new(stream);
    let (status, headers) = read_head(&mut reader).await?;
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let mut bytes = Vec::new();
    if method == "HEAD" {
        // No body follows a HEAD's head, whatever its length says.
    } else if chunked {
        while let Some(chunk) = read_chunk(&mut reader).await? {
            bytes.extend(chunk);
        }
    } else if let Some(length) = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        // Some servers (chromedriver) keep the connection open all the
        // same: read what was announced, not to the end.
        bytes.resize(length, 0);
        tokio::time::timeout(PATIENCE, reader.read_exact(&mut bytes))
            .await
            .context("the body did not come")??;
    } else {
        tokio::time::timeout(PATIENCE, reader.read_to_end(&mut bytes))
            .await
            .context("the body did not end")??;
    }
    Ok(Response {
        status,
        headers,
        body: String::from_utf8(bytes).context("the body is not UTF-8")?,
    })
}

async fn send_head(
    stream: &mut TcpStream,
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Result<()> {
    let length = body.map_or_else(String::new, |body| {
        format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        )
    });
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{length}\r\n{}",
        body.unwrap_or_default()
    );
    stream.write_all(head.as_bytes()).await?;
    Ok(())
}

/// The status line and headers.
async fn read_head(reader: &mut BufReader<TcpStream>) -> Result<(u16, Vec<(String, String)>)> {
    let status_line = read_line(reader).await?;
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("not a status line: {status_line:?}"))?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader).await?;
        if line.is_empty() {
            return Ok((status, headers));
        }
        let (name, value) = line
            .split_once(':')
            .with_context(|| format!("not a header: {line:?}"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
}

/// One line without its CRLF; an error at the end of the stream.
async fn read_line(reader: &mut BufReader<TcpStream>) -> Result<String> {
    read_line_or_end(reader)
        .await?
        .context("the connection closed")
}

/// One line without its CRLF; `None` at the end of the stream.
async fn read_line_or_end(reader: &mut BufReader<TcpStream>) -> Result<Option<String>> {
    let mut line = String::new();
    let read = tokio::time::timeout(PATIENCE, reader.read_line(&mut line))
        .await
        .context("no line in time")??;
    Ok((read > 0).then(|| line.trim_end_matches(['\r', '\n']).to_owned()))
}

/// One chunk of a chunked body; `None` after the last (or when the
/// connection closed between chunks).
async fn read_chunk(reader: &mut BufReader<TcpStream>) -> Result<Option<Vec<u8>>> {
    let Some(size_line) = read_line_or_end(reader).await? else {
        return Ok(None);
    };
    let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
        .with_context(|| format!("not a chunk size: {size_line:?}"))?;
    if size == 0 {
        // The (empty) trailer.
        read_line(reader).await?;
        return Ok(None);
    }
    let mut chunk = vec![0; size];
    tokio::time::timeout(PATIENCE, reader.read_exact(&mut chunk))
        .await
        .context("the chunk did not come")??;
    read_line(reader).await?;
    Ok(Some(chunk))
}

/// A live `text/event-stream` (`GET /events`), read an event at a time.
#[derive(Debug)]
pub struct EventStream {
    reader: BufReader<TcpStream>,
    /// What has come of the body and is not yet an event.
    pending: String,
}

/// One server-sent event: its type (`event:`) and data (`data:` lines,
/// joined by newlines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentEvent {
    pub event: Option<String>,
    pub data: String,
}

impl EventStream {
    /// Opens `path` on `addr` as an event stream; the answer's status and
    /// headers if it is not one (a 503, say).
    pub async fn open(addr: SocketAddr, path: &str) -> Result<Result<Self, Response>> {
        Self::open_from(TcpStream::connect(addr).await?, addr, path).await
    }

    /// The same over a socket already connected (from a chosen local
    /// address, say).
    pub async fn open_from(
        mut stream: TcpStream,
        addr: SocketAddr,
        path: &str,
    ) -> Result<Result<Self, Response>> {
        send_head(&mut stream, addr, "GET", path, None).await?;
        let mut reader = BufReader::new(stream);
        let (status, headers) = read_head(&mut reader).await?;
        if status != 200 {
            return Ok(Err(Response {
                status,
                headers,
                body: String::new(),
            }));
        }
        Ok(Ok(Self {
            reader,
            pending: String::new(),
        }))
    }

    /// The next event (keep-alive comments skipped); `None` once the
    /// stream has ended.
    pub async fn next(&mut self) -> Result<Option<SentEvent>> {
        loop {
            if let Some(end) = self.pending.find("\n\n") {
                let block: String = self.pending.drain(..end + 2).collect();
                if let Some(event) = parse_event(&block) {
                    return Ok(Some(event));
                }
                continue;
            }
            match read_chunk(&mut self.reader).await? {
                Some(chunk) => self
                    .pending
                    .push_str(&String::from_utf8(chunk).context("an event is not UTF-8")?),
                None => return Ok(None),
            }
        }
    }
}

/// An event block's fields; `None` for a comment-only block.
fn parse_event(block: &str) -> Option<SentEvent> {
    let mut event = None;
    let mut data: Option<String> = None;
    for line in block.lines() {
        if let Some(value) = line.strip_prefix("event:") {
            event = Some(value.trim_start().to_owned());
        } else if let Some(value) = line.strip_prefix("data:") {
            let value = value.strip_prefix(' ').unwrap_or(value);
            match &mut data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => data = Some(value.to_owned()),
            }
        }
    }
    data.map(|data| SentEvent { event, data })
}
