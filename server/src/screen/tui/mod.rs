//! The professor's screen, the default mode of `jqueue-server`: the one
//! staff screen ([`jqueue_tui::staff`], the same code a TA's
//! `jqueue --staff` draws) on this process's terminal.
//!
//! This module owns only the terminal and the event loop; the screen's state
//! and drawing live in `jqueue-tui`, and the queue lives with its owner.
//! Views come from a [`StaffFeed`] of every queue (watches: bursts coalesce,
//! the latest always wins) and requests go through [`ServerHandle::staff`]
//! as the professor — in-process, the same typed API the network layer uses
//! for a TA. A student's terminal (`v`) is asked for and relayed through
//! the same registry a TA's connection uses ([`crate::share`]), its rows
//! coming through an [`OwnScreenViewer`] instead of a socket. Nothing
//! polls: the loop wakes for a new view, a key, a resize, a share's news,
//! or the one-second tick while clocks are on screen. [`run_loop`] is
//! generic over the ratatui [`Backend`], so tests drive it with
//! `TestBackend`.
//!
//! Terminal hygiene: the terminal is restored when the screen ends, fails or
//! is dropped (main.rs drops it on a signal), and on a panic on the screen's
//! own thread; a panic in some student's connection task is only logged.

#[cfg(test)]
mod tests;

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::Duration;

use anyhow::Context as _;
use chrono::{Local, Offset as _};
use jqueue_shared::staff::StaffOutcome;
use jqueue_tui::alert::{self, AlertSink};
use jqueue_tui::staff::{Role, StaffEffect, StaffEvent, StaffScreen, StaffSettings, Theme};
use jqueue_tui::terminal::{Input, forward_input};
use ratatui::{Terminal, backend::Backend};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior, interval};

use crate::ServerHandle;
use crate::share::OwnScreenViewer;
use crate::staff_feed::StaffFeed;

/// What the professor's screen is told at start.
#[derive(Debug, Clone)]
pub struct Options {
    /// The staff name the professor's requests act as
    /// (`ServerConfig::professor`).
    pub professor: String,
}

/// Runs the professor's screen until the professor quits.
pub async fn run(handle: ServerHandle, options: Options) -> anyhow::Result<()> {
    let settings = StaffSettings {
        me: options.professor.clone(),
        role: Role::Professor,
        bell: true,
        theme: Theme::from_env(),
        // The student screen's rule for a terminal that cannot show UTF-8.
        unicode: jqueue_tui::ui::unicode_terminal(|var| std::env::var(var).ok()),
        time_zone: Local::now().offset().fix(),
    };
    let view = handle.staff_views().borrow().clone();
    let mut screen = StaffScreen::new(settings, view, Instant::now());
    let (inputs, mut receiver) = mpsc::channel(256);
    // Also when this future is dropped unfinished (main.rs stops on a signal).
    let _clean_up = CleanUp {
        key_reader: spawn_key_reader(inputs),
    };

    let mut terminal = ratatui::try_init().context("cannot set up the terminal")?;
    restore_only_for_panics_on_this_thread();
    let mut alerts = AlertSink::stdout();
    let mut viewer = handle.share_viewer();
    run_loop(
        &mut terminal,
        &mut screen,
        &handle,
        &mut Events {
            inputs: &mut receiver,
            shares: &mut viewer,
        },
        &mut alerts,
    )
    .await
}

/// Where the loop's events come from besides the queues' views: the keys
/// and resizes, and the news of a student's terminal the screen asked for.
/// Both outlive one run of the loop (a test runs it in steps).
#[derive(Debug)]
pub struct Events<'a> {
    pub inputs: &'a mut mpsc::Receiver<Input>,
    pub shares: &'a mut OwnScreenViewer,
}

/// The event loop: draw, wait for a view, an input, a share's news or the
/// tick, update, carry out the effects, redraw; until the professor quits,
/// the keyboard goes away or the server stops publishing views.
pub async fn run_loop<B>(
    terminal: &mut Terminal<B>,
    screen: &mut StaffScreen,
    handle: &ServerHandle,
    events: &mut Events<'_>,
    alerts: &mut AlertSink,
) -> anyhow::Result<()>
where
    B: Backend,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    // The professor is staff of every queue: the bar names them all, and
    // "all" shows them as one.
    let mut feed = StaffFeed::every_queue(handle);
    let (bar, shown) = feed.bar();
    screen.set_queues(bar, shown);
    // Whatever was published before the loop started is the first view.
    screen.update(StaffEvent::View(feed.view()), Instant::now());
    // Same process, same clock: the screen's clocks are exact from the start.
    screen.sync_clock(handle.now_ms(), Instant::now());
    let mut tick = interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    draw(terminal, screen)?;
    loop {
        let event = tokio::select! {
            // A pending view goes first: a key acts on the freshest queue.
            biased;
            changed = feed.changed() => match changed {
                Ok(()) => {
                    let (bar, shown) = feed.bar();
                    screen.set_queues(bar, shown);
                    StaffEvent::View(feed.view())
                }
                // The queue's owner has stopped: nothing left to show.
                Err(_) => return Ok(()),
            },
            input = events.inputs.recv() => match input {
                Some(Input::Key(key)) => StaffEvent::Key(key),
                Some(Input::Resize) => {
                    terminal.autoresize().context("cannot resize")?;
                    StaffEvent::Resize
                }
                None => return Ok(()),
            },
            notice = events.shares.next() => StaffEvent::Share(notice),
            _ = tick.tick(), if screen.shows_clocks() => StaffEvent::Tick,
        };
        let mut effects = screen.update(event, Instant::now());
        // Requests are answered in order, before the next view is read, so
        // the status line never shows an answer older than the screen.
        while !effects.is_empty() {
            let mut next = Vec::new();
            for effect in effects {
                match effect {
                    StaffEffect::Request { queue, request } => {
                        // The professor at this terminal is staff by running
                        // the server; the name is only how others see them.
                        let on = match queue {
                            Some(name) => feed.named_queue(&name),
                            None => feed.shown_queue(),
                        };
                        let outcome = match on {
                            Some(queue) => queue.professor(request).await,
                            None => StaffOutcome::Failed {
                                reason: "that queue is not on this server".to_owned(),
                            },
                        };
                        next.extend(screen.update(StaffEvent::Outcome(outcome), Instant::now()));
                    }
                    StaffEffect::JoinAlert => alerts.ring(alert::JOIN_TITLE, alert::JOIN_BODY),
                    StaffEffect::ShowQueue(place) => {
                        feed.show(place);
                        let (bar, shown) = feed.bar();
                        screen.set_queues(bar, shown);
                        next.extend(screen.update(StaffEvent::View(feed.view()), Instant::now()));
                    }
                    StaffEffect::ViewShare { student } => {
                        let answer = events.shares.ask(student);
                        next.extend(screen.update(StaffEvent::Share(answer), Instant::now()));
                    }
                    StaffEffect::StopViewing => events.shares.stop(),
                    StaffEffect::Quit => return Ok(()),
                }
            }
            effects = next;
        }
        draw(terminal, screen)?;
    }
}

/// Draws one frame (resizing the buffers first if the terminal changed size).
pub fn draw<B>(terminal: &mut Terminal<B>, screen: &StaffScreen) -> anyhow::Result<()>
where
    B: Backend,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    terminal
        .draw(|frame| frame.render_widget(screen, frame.area()))
        .context("cannot draw on the terminal")?;
    Ok(())
}

/// Puts the terminal back and stops the key reader: the server process goes
/// on after its screen ends (a quit still tells every student first).
struct CleanUp {
    key_reader: tokio::task::AbortHandle,
}

impl Drop for CleanUp {
    fn drop(&mut self) {
        ratatui::restore();
        self.key_reader.abort();
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

/// Forwards the terminal's keys and resizes to the loop (jqueue-tui's one
/// reader). A backlog of 256 unread keys means the screen is stuck; more
/// are dropped rather than queued.
fn spawn_key_reader(inputs: mpsc::Sender<Input>) -> tokio::task::AbortHandle {
    tokio::spawn(async move {
        let read = forward_input(|input| {
            !matches!(
                inputs.try_send(input),
                Err(mpsc::error::TrySendError::Closed(_))
            )
        })
        .await;
        if let Err(e) = read {
            tracing::error!("cannot read the keyboard: {e}");
        }
    })
    .abort_handle()
}

/// The TCP address students should pass to `jqueue --server` (one of the
/// ways in [`crate::join_ways`] lists). A server listening on every interface (`0.0.0.0`) shows the address this machine uses for
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
