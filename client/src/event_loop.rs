//! The event loop: joins terminal keys, network events and the 1 s tick into
//! one stream of [`Event`]s, applies each with [`App::update`], carries out the
//! effects and redraws.
//!
//! It is generic over the ratatui [`Backend`], and every event — a real key or
//! a fake one from a test — goes through [`EventLoop::handle`], so tests drive
//! the whole client into a `TestBackend`. It draws only after an event, and the
//! tick runs only while the screen counts time: an idle client sleeps.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use chrono::Offset as _;
use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::crossterm::event as term;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior, interval};

use crate::app::{App, Effect, Event, Settings};
use crate::cli::Config;
use crate::context;
use crate::location;
use crate::net::{self, NetCommand, NetConfig, NetEvent};
use jqueue_tui::alert::{self, AlertSink};
use jqueue_tui::terminal::{Input, forward_input};

/// How often time-counting screens redraw.
pub const TICK: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct EventLoop<B: Backend> {
    terminal: Terminal<B>,
    app: App,
    commands: mpsc::UnboundedSender<NetCommand>,
    bell: AlertSink,
    bells: u32,
    draws: u64,
    /// Where the location typed last is kept ([`crate::location`]); `None`
    /// keeps nothing (tests).
    location_file: Option<PathBuf>,
    /// Where the context comes from and where "attach context" is kept
    /// ([`crate::context`]); `None` gathers nothing (tests inject it).
    context: Option<(context::Sources, PathBuf)>,
}

impl<B> EventLoop<B>
where
    B: Backend,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    pub fn new(
        terminal: Terminal<B>,
        app: App,
        commands: mpsc::UnboundedSender<NetCommand>,
        bell: AlertSink,
    ) -> Self {
        Self {
            terminal,
            app,
            commands,
            bell,
            bells: 0,
            draws: 0,
            location_file: None,
            context: None,
        }
    }

    /// Gathers the context from `sources` when the ask form wants it, and
    /// keeps "attach context" in `preference_file`.
    #[must_use]
    pub fn gathering_context(
        mut self,
        sources: context::Sources,
        preference_file: PathBuf,
    ) -> Self {
        self.context = Some((sources, preference_file));
        self
    }

    /// Keeps the location the student types in `path` for the next run.
    #[must_use]
    pub fn remembering_location_in(mut self, path: PathBuf) -> Self {
        self.location_file = Some(path);
        self
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    pub fn terminal(&self) -> &Terminal<B> {
        &self.terminal
    }

    pub fn terminal_mut(&mut self) -> &mut Terminal<B> {
        &mut self.terminal
    }

    /// How many times the bell has rung.
    pub fn bells(&self) -> u32 {
        self.bells
    }

    /// How many frames have been drawn.
    pub fn draws(&self) -> u64 {
        self.draws
    }

    pub fn draw(&mut self) -> anyhow::Result<()> {
        let app = &self.app;
        self.terminal
            .draw(|frame| frame.render_widget(app, frame.area()))
            .context("could not draw on the terminal")?;
        self.draws += 1;
        Ok(())
    }

    /// Applies one event, carries out its effects and redraws. Returns
    /// `false` once the student has quit.
    pub fn handle(&mut self, event: Event, now: Instant) -> anyhow::Result<bool> {
        if event == Event::Resize {
            self.terminal.autoresize().context("could not resize")?;
        }
        let mut effects = self.app.update(event, now);
        while !effects.is_empty() {
            effects = self.carry_out(effects, now);
        }
        if self.app.quitting {
            let _ = self.commands.send(NetCommand::Quit);
            return Ok(false);
        }
        self.draw()?;
        Ok(true)
    }

    /// Carries out `effects`; returns those of the events they caused (the
    /// gathered context).
    fn carry_out(&mut self, effects: Vec<Effect>, now: Instant) -> Vec<Effect> {
        let mut caused = Vec::new();
        for effect in effects {
            match effect {
                Effect::Send(command) => {
                    // A closed channel means the network task has stopped; the
                    // screen already says why.
                    let _ = self.commands.send(command);
                }
                Effect::Bell(body) => {
                    self.bells += 1;
                    self.bell.ring(alert::TITLE, body);
                }
                Effect::JoinAlert => {
                    self.bells += 1;
                    self.bell.ring(alert::JOIN_TITLE, alert::JOIN_BODY);
                }
                Effect::RememberLocation(location) => {
                    if let Some(path) = &self.location_file {
                        // Only a convenience: the request goes out all the same.
                        if let Err(e) = location::save(path, &location) {
                            tracing::warn!(path = %path.display(), "could not keep the location: {e}");
                        }
                    }
                }
                Effect::GatherContext => {
                    if let Some((sources, _)) = &self.context {
                        // Local files and at most one `git status`: quick
                        // enough for the key press that asked for it.
                        let gathered = context::gather(sources);
                        caused.extend(self.app.update(Event::Context(Box::new(gathered)), now));
                    }
                }
                Effect::RememberAttachContext(on) => {
                    if let Some((_, path)) = &self.context {
                        if let Err(e) = context::preference::save(path, on) {
                            tracing::warn!(path = %path.display(), "could not keep attach context: {e}");
                        }
                    }
                }
                Effect::Quit => {}
            }
        }
        caused
    }

    /// Runs until the student quits or every event source has closed.
    pub async fn run(
        &mut self,
        terminal_events: &mut mpsc::UnboundedReceiver<Event>,
        net_events: &mut mpsc::Receiver<NetEvent>,
    ) -> anyhow::Result<()> {
        self.draw()?;
        let mut tick = interval(TICK);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut net_open = true;
        loop {
            let event = tokio::select! {
                Some(event) = terminal_events.recv() => event,
                event = net_events.recv(), if net_open => {
                    if let Some(event) = event {
                        Event::Net(event)
                    } else {
                        net_open = false;
                        if self.app.net_done() {
                            continue;
                        }
                        anyhow::bail!("the network task stopped unexpectedly (see the log)");
                    }
                }
                _ = tick.tick(), if self.app.wants_tick() => Event::Tick,
                else => return Ok(()),
            };
            if !self.handle(event, Instant::now())? {
                return Ok(());
            }
        }
    }
}

/// Runs the client on a real terminal until the student quits. Returns a
/// line to print once the terminal is restored. `color` and `unicode` say
/// what the terminal can show (see [`Settings`]).
pub async fn run<B>(
    terminal: Terminal<B>,
    config: Config,
    color: bool,
    unicode: bool,
) -> anyhow::Result<Farewell>
where
    B: Backend,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let host = host_name();
    let settings = Settings {
        server: config.server.to_string(),
        username: config.username.clone(),
        bell: config.bell,
        location: location::load_for(&config.data_dir, &host).unwrap_or_else(|| host.clone()),
        color,
        unicode,
        staff: config.staff,
    };
    let (commands, mut net_events, net_task) = net::spawn(NetConfig {
        route: net::Route::for_config(&config),
        username: config.username,
        backoff: net::Backoff::default(),
        staff: config.staff,
        queue: config.queue.clone(),
    });
    let (event_tx, mut terminal_events) = mpsc::unbounded_channel();
    spawn_terminal_reader(event_tx.clone());
    spawn_signal_watch(event_tx);

    let mut app = App::new(settings, Instant::now());
    app.time_zone = chrono::Local::now().offset().fix();
    let preference_file = context::preference::file_in(&config.data_dir, &host);
    app.attach_context = context::preference::load(&preference_file);
    let sources = context::Sources {
        directory: std::env::current_dir().unwrap_or_default(),
        git_program: std::env::var_os("PATH").and_then(|path| context::find_program("git", &path)),
        hook_file: context::hook::default_file(&config.data_dir),
        attach: config.attach.clone(),
    };
    let mut event_loop = EventLoop::new(terminal, app, commands, AlertSink::stdout())
        .remembering_location_in(location::file_in(&config.data_dir, &host))
        .gathering_context(sources, preference_file);
    let result = event_loop.run(&mut terminal_events, &mut net_events).await;
    // Give the network task a moment to close the socket cleanly.
    let _ = tokio::time::timeout(Duration::from_millis(500), net_task).await;
    result.map(|()| Farewell {
        line: event_loop.app().farewell(),
        failed: event_loop.app().failed(),
    })
}

/// What `jqueue` leaves on the terminal once the screen has gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Farewell {
    /// Where the student stands, or why it stopped.
    pub line: Option<String>,
    /// Exit non-zero: see [`App::failed`].
    pub failed: bool,
}

/// Forwards the terminal's keys and resizes (jqueue-tui's one reader). A
/// terminal that cannot be read any more leaves as Ctrl-C does (place kept)
/// rather than run on, deaf.
fn spawn_terminal_reader(events: mpsc::UnboundedSender<Event>) {
    tokio::spawn(async move {
        let read = forward_input(|input| {
            let event = match input {
                Input::Key(key) => Event::Key(key),
                Input::Resize => Event::Resize,
            };
            events.send(event).is_ok()
        })
        .await;
        if let Err(e) = read {
            tracing::error!("could not read the terminal: {e}");
            let _ = events.send(leave_now());
        }
    });
}

/// SIGTERM and SIGHUP (the SSH session went away) leave like Ctrl-C does, so
/// the terminal is restored and the place in line kept.
fn spawn_signal_watch(events: mpsc::UnboundedSender<Event>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
        let _ = events.send(leave_now());
    });
    #[cfg(not(unix))]
    drop(events);
}

/// Ctrl-C, as if pressed: quit at once, keeping the place in line.
fn leave_now() -> Event {
    Event::Key(term::KeyEvent::new(
        term::KeyCode::Char('c'),
        term::KeyModifiers::CONTROL,
    ))
}

/// This machine's name, to pre-fill "where are you sitting?".
fn host_name() -> String {
    let name = hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default();
    jqueue_shared::sanitize(&name)
        .chars()
        .take(jqueue_shared::validate::MAX_TEXT_CHARS)
        .collect()
}
