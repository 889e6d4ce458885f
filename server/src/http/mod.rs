//! The read-only web board (`--http ADDR`, off by default): `/` the board
//! as a page that updates itself, `/events` its live feed (server-sent
//! events), `/queues.json` the same figures, `/metrics` the server's
//! figures in the Prometheus text format ([`crate::metrics`]), `/healthz`.
//! GET and HEAD only; anything else is refused by the router.
//!
//! Two rules bind everything here. It must never block a queue: it reads
//! the server's one [`Board`] (a watch) and asks no owner anything, so the
//! slowest browser only ever waits on its own socket. And it must carry
//! nothing personal: what leaves is [`public::PublicBoard`], figures with
//! no student's name or text, no staff name and never the presence code.
//! It runs on the server's runtime on its own address, so it can sit
//! behind a reverse proxy while the queue's port stays where it is.

pub mod public;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;

use crate::StartError;
use crate::board::Board;
use crate::shutdown::Shutdown;
use public::PublicBoard;

/// Live pages open at once (each an `/events` stream): a department's
/// projectors and dashboards many times over. Past it a page is told 503
/// and its script tries again later; the streams cost a socket and a send
/// per change each, so the cap is about sockets, not work.
pub const MAX_WEB_VIEWERS: usize = 4_096;

/// The page, its script and its look: in the binary, fetching nothing
/// from anywhere else.
const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("board.js");

/// Where the page may load from and talk to: here, and nowhere else. The
/// script writes text only (never markup), and this makes sure of the rest.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// Binds the board's address: a start error naming it if that fails.
pub(crate) fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    crate::listen(addr)
        .map_err(|e| StartError::Bind(format!("cannot serve the web board on {addr}: {e}")))
}

/// What every request reads: the public figures, encoded once per change,
/// and the places for live pages.
#[derive(Debug, Clone)]
struct Web {
    figures: watch::Receiver<Arc<str>>,
    viewers: Arc<Semaphore>,
    /// For `/metrics`, which reads the queues' published views and the
    /// server's counters: never a call to an owner.
    handle: crate::ServerHandle,
}

/// Serves the web board on `listener` until `shutdown`, from `board`,
/// with at most `max_viewers` live pages.
pub(crate) async fn serve(
    listener: TcpListener,
    board: watch::Receiver<Arc<Board>>,
    handle: crate::ServerHandle,
    max_viewers: usize,
) {
    let mut shutdown = handle.shutdown_signal();
    let (figures, _encoder) = encode_figures(board, shutdown.clone());
    let web = Web {
        figures,
        viewers: Arc::new(Semaphore::new(max_viewers)),
        handle,
    };
    let served = axum::serve(listener, routes(web))
        .with_graceful_shutdown(async move { shutdown.requested().await })
        .await;
    if let Err(e) = served {
        tracing::error!("the web board stopped: {e}");
    }
}

/// Every route: one line each.
fn routes(web: Web) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/board.js", get(script))
        .route("/events", get(events))
        .route("/queues.json", get(queues_json))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(web)
}

/// The public figures as JSON, re-encoded when the board changes and
/// published only when they differ (a presence code or a staff name
/// moving changes the board, not the web's figures): every page and every
/// `/queues.json` shares the one text. Ends, closing the watch and with
/// it every live page, when the board stops or the server is stopping.
fn encode_figures(
    mut board: watch::Receiver<Arc<Board>>,
    mut shutdown: Shutdown,
) -> (watch::Receiver<Arc<str>>, JoinSet<()>) {
    let encode = |board: &Board| -> Arc<str> {
        serde_json::to_string(&PublicBoard::of(board))
            .expect("figures are plain data")
            .into()
    };
    let (publish, figures) = watch::channel(encode(&board.borrow_and_update()));
    let mut task = JoinSet::new();
    task.spawn(async move {
        loop {
            tokio::select! {
                changed = board.changed() => if changed.is_err() { return },
                () = shutdown.requested() => return,
            }
            let next = encode(&board.borrow_and_update());
            publish.send_if_modified(|shown| {
                if *shown == next {
                    return false;
                }
                *shown = next;
                true
            });
        }
    });
    (figures, task)
}

/// Headers every answer carries: the browser guesses no other type, and
/// nothing here is cached (it is live).
fn fresh(content_type: &'static str) -> [(header::HeaderName, &'static str); 3] {
    [
        (header::CONTENT_TYPE, content_type),
        (header::CACHE_CONTROL, "no-cache"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ]
}

async fn page() -> Response {
    (
        fresh("text/html; charset=utf-8"),
        [(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY)],
        PAGE,
    )
        .into_response()
}

async fn script() -> Response {
    (fresh("text/javascript; charset=utf-8"), SCRIPT).into_response()
}

async fn queues_json(State(web): State<Web>) -> Response {
    let figures = web.figures.borrow().clone();
    (fresh("application/json"), figures.to_string()).into_response()
}

/// 200 while the server's board is kept (its owners run); 503 once it
/// has stopped.
/// The Prometheus text format, version 0.0.4 (what every scraper reads).
async fn metrics(State(web): State<Web>) -> Response {
    (
        fresh("text/plain; version=0.0.4; charset=utf-8"),
        crate::metrics::render(&web.handle),
    )
        .into_response()
}

async fn healthz(State(web): State<Web>) -> Response {
    if web.figures.has_changed().is_err() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            fresh("text/plain"),
            "stopping\n",
        )
            .into_response();
    }
    (fresh("text/plain"), "ok\n").into_response()
}

/// A live page's feed: the figures now, then each time they change, as
/// `board` events; 503 when the most live pages (`--http`'s cap,
/// [`MAX_WEB_VIEWERS`]) are already open.
async fn events(State(web): State<Web>) -> Response {
    let Ok(place) = web.viewers.clone().try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "30")],
            fresh("text/plain"),
            "too many live pages: try again later\n",
        )
            .into_response();
    };
    let mut figures = web.figures.clone();
    // The figures now go first, so a page has something to show at once.
    figures.mark_changed();
    let viewer = Viewer {
        next: Some(next_change(figures)),
        _place: place,
    };
    Sse::new(viewer)
        // A comment every 15 s keeps proxies from closing a quiet stream.
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// The figures' watch, back once it has changed; `None` once it closed.
type NextChange = Pin<Box<dyn Future<Output = Option<watch::Receiver<Arc<str>>>> + Send>>;

fn next_change(mut figures: watch::Receiver<Arc<str>>) -> NextChange {
    Box::pin(async move { figures.changed().await.ok().map(|()| figures) })
}

/// One live page's stream: an event per change of the shared figures,
/// the latest only (a page that fell behind skips to now). It holds its
/// place among [`MAX_WEB_VIEWERS`] until the page goes.
struct Viewer {
    next: Option<NextChange>,
    _place: OwnedSemaphorePermit,
}

impl futures_core::Stream for Viewer {
    type Item = Result<Event, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let Some(next) = self.next.as_mut() else {
            return Poll::Ready(None);
        };
        let Some(mut figures) = ready!(next.as_mut().poll(cx)) else {
            self.next = None;
            return Poll::Ready(None);
        };
        let data = figures.borrow_and_update().clone();
        self.next = Some(next_change(figures));
        Poll::Ready(Some(Ok(Event::default().event("board").data(&*data))))
    }
}
