//! The professor's full-screen TUI, the default mode of `jqueue-server`.
//!
//! This module owns the terminal and the event loop; it does not own the
//! queue. [`app`] holds the screen's state and turns events into actions,
//! [`keys`] is the key table (also shown by the `?` overlay), [`ui`] draws.
//! Every change to the queue goes through the [`ServerHandle`], the same
//! command channel student connections use.
//!
//! Events come from four sources merged into one channel: keys (read on a
//! blocking thread), the actor's revision counter (a fresh view whenever
//! anything the professor sees changed), the activity broadcast, and a
//! one-second tick for waiting times. The screen is redrawn only after an
//! event that can change it. The loop, [`run_app`], is generic over the
//! ratatui [`Backend`], so tests drive it with `TestBackend`.

pub mod app;
pub mod keys;
pub mod theme;
pub mod ui;

#[cfg(test)]
mod tests;

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{FixedOffset, Local, Offset as _};
use ratatui::crossterm::event::{self as term, KeyEventKind};
use ratatui::{Terminal, backend::Backend};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;

pub use app::{Action, App, Event, Flow};
pub use theme::Theme;

use jqueue_shared::Fingerprint;

use crate::actor::{ServerHandle, now_ms};
use crate::domain::queue::UnixMillis;

/// Runs the professor's screen until the professor quits. Restores the
/// terminal on the way out: when the screen ends, fails or is dropped, and on
/// a panic on the screen's own thread.
pub async fn run(
    handle: ServerHandle,
    addr: SocketAddr,
    fingerprint: Fingerprint,
) -> anyhow::Result<()> {
    let view = handle.snapshot().await?;
    let mut app = App::new(
        view,
        student_address(addr),
        Theme::from_env(),
        Local::now().offset().fix(),
    )
    .with_fingerprint(fingerprint.to_string());
    let (events, mut receiver) = mpsc::channel(256);
    let stop_keys = Arc::new(AtomicBool::new(false));
    // Also when this future is dropped unfinished (main.rs stops on a signal).
    let _clean_up = CleanUp {
        sources: spawn_server_events(&handle, &events),
        stop_keys: stop_keys.clone(),
    };
    spawn_key_reader(events, stop_keys);

    match ratatui::try_init() {
        Ok(mut terminal) => {
            restore_only_for_panics_on_this_thread();
            run_app(&mut terminal, &mut app, &handle, &mut receiver, now_ms).await
        }
        Err(e) => Err(anyhow::Error::new(e).context("cannot set up the terminal")),
    }
}

/// Puts the terminal back and stops the screen's helpers.
struct CleanUp {
    sources: Vec<tokio::task::JoinHandle<()>>,
    stop_keys: Arc<AtomicBool>,
}

impl Drop for CleanUp {
    fn drop(&mut self) {
        ratatui::restore();
        self.stop_keys.store(true, Ordering::Relaxed);
        for source in &self.sources {
            source.abort();
        }
    }
}

/// `ratatui::init` restores the terminal on *any* panic. In the server a
/// panic ends only the task it happens in — one student's connection — and
/// the professor's screen carries on, so restoring the terminal (and printing
/// the panic over the screen) would leave it drawing on a cooked terminal.
/// Keep that hook for panics on the screen's own thread; log the others.
fn restore_only_for_panics_on_this_thread() {
    let screen_thread = std::thread::current().id();
    let restore_and_report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == screen_thread {
            restore_and_report(info);
        } else {
            tracing::error!("a server task panicked: {info}");
        }
    }));
}

/// The event loop: draw, wait for an event, update, run the resulting
/// action, repeat until the professor quits or every event source is gone.
/// `clock` gives the time to draw waiting times for (tests fix it).
pub async fn run_app<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    handle: &ServerHandle,
    events: &mut mpsc::Receiver<Event>,
    clock: impl Fn() -> UnixMillis,
) -> anyhow::Result<()>
where
    B::Error: Send + Sync + 'static,
{
    let mut redraw = true;
    loop {
        if redraw {
            app.set_now(clock());
            draw(terminal, app)?;
        }
        let Some(event) = events.recv().await else {
            return Ok(());
        };
        redraw = !matches!(event, Event::Tick) || app.shows_clocks();
        if let Some(action) = app.update(event) {
            if app.execute(action, handle).await == Flow::Quit {
                return Ok(());
            }
            redraw = true;
        }
    }
}

/// Draws one frame (resizing the buffers first if the terminal changed size).
pub fn draw<B: Backend>(terminal: &mut Terminal<B>, app: &App) -> Result<(), B::Error> {
    terminal.draw(|frame| {
        let area = frame.area();
        frame.render_widget(app, area);
        if let Some(position) = ui::cursor(app, area) {
            frame.set_cursor_position(position);
        }
    })?;
    Ok(())
}

/// Forwards the server's changes, its activity and a one-second tick to
/// `events`. The tasks end when the receiver is dropped or the server stops.
pub fn spawn_server_events(
    handle: &ServerHandle,
    events: &mpsc::Sender<Event>,
) -> Vec<JoinHandle<()>> {
    let views = {
        let handle = handle.clone();
        let events = events.clone();
        let mut revisions = handle.revisions();
        tokio::spawn(async move {
            // Bursts of changes coalesce: `changed` only says "newer than
            // what you saw", and the snapshot is always the latest.
            while revisions.changed().await.is_ok() {
                let Ok(view) = handle.snapshot().await else {
                    break;
                };
                if events.send(Event::Changed(Box::new(view))).await.is_err() {
                    break;
                }
            }
        })
    };
    let activity = {
        let events = events.clone();
        let mut activity = handle.activity();
        tokio::spawn(async move {
            loop {
                match activity.recv().await {
                    Ok(a) => {
                        if events.send(Event::Activity(a)).await.is_err() {
                            break;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::debug!("activity pane skipped {missed} events");
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        })
    };
    let tick = {
        let events = events.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(Duration::from_secs(1));
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                interval.tick().await;
                if events.send(Event::Tick).await.is_err() {
                    break;
                }
            }
        })
    };
    vec![views, activity, tick]
}

/// Reads the terminal's keys and resizes on a plain thread (crossterm's
/// reader blocks) and forwards them. Polls so it notices `stop` promptly.
fn spawn_key_reader(events: mpsc::Sender<Event>, stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let event = match term::poll(Duration::from_millis(250)) {
                Ok(false) => continue,
                Ok(true) => term::read(),
                Err(e) => Err(e),
            };
            let event = match event {
                // Key releases (reported by some terminals) are not presses.
                Ok(term::Event::Key(key)) if key.kind != KeyEventKind::Release => Event::Key(key),
                Ok(term::Event::Resize(..)) => Event::Resize,
                Ok(_) => continue,
                Err(e) => {
                    tracing::error!("cannot read the keyboard: {e}");
                    break;
                }
            };
            if events.blocking_send(event).is_err() {
                break;
            }
        }
    });
}

/// What students should pass to `jqueue --server`. A server listening on
/// every interface (`0.0.0.0`) shows the address this machine uses for
/// outgoing traffic, which is what lab machines can usually reach.
pub fn student_address(addr: SocketAddr) -> String {
    if !addr.ip().is_unspecified() {
        return addr.to_string();
    }
    match outgoing_ip(addr.ip()) {
        Some(ip) => SocketAddr::new(ip, addr.port()).to_string(),
        None => format!("<this machine>:{}", addr.port()),
    }
}

/// The local address the OS would route outgoing packets from. Connecting a
/// UDP socket sends nothing; it only picks a route.
fn outgoing_ip(unspecified: IpAddr) -> Option<IpAddr> {
    let (bind, probe): (&str, &str) = if unspecified.is_ipv4() {
        ("0.0.0.0:0", "192.0.2.1:9") // TEST-NET-1: never actually contacted
    } else {
        ("[::]:0", "[2001:db8::1]:9")
    };
    let socket = UdpSocket::bind(bind).ok()?;
    socket.connect(probe).ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_unspecified()).then_some(ip)
}

/// UTC, for tests that must not depend on the machine's time zone.
pub fn utc() -> FixedOffset {
    FixedOffset::east_opt(0).expect("zero is a valid offset")
}
