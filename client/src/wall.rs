//! `jqueue wall`: a lab's board. It owns the board's state ([`WallScreen`],
//! changed only by the network task's events and the keys) and its loop
//! ([`run_loop`]), which draws only when the board or the terminal changed:
//! a projector showing a quiet queue shows the same frame for hours.
//!
//! It signs nobody in: the connection is the network task's
//! ([`crate::net::spawn_wall`]), which asks the server for the board instead
//! of a sign-in. The drawing is [`crate::screens::wall`]'s.

use chrono::FixedOffset;
use jqueue_shared::Fingerprint;
use jqueue_shared::wall::WallView;
use jqueue_tui::terminal::Input;
use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::crossterm::event::{KeyCode, KeyEventKind, KeyModifiers};
use tokio::sync::mpsc;

use crate::net::{Disconnect, NetCommand, NetEvent, StopReason};
use crate::screens::Theme;

/// What the wall shows.
#[derive(Debug, Clone)]
pub struct WallScreen {
    /// The latest board, once one came (kept, dimmed, while the
    /// connection is down).
    pub board: Option<WallView>,
    pub link: WallLink,
    pub(crate) theme: Theme,
    /// For "until 16:00".
    pub time_zone: FixedOffset,
}

/// How the wall's connection stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WallLink {
    Connecting,
    Live,
    /// Lost; the network task tries again.
    Down(Disconnect),
    /// A server met for the first time: `y` trusts its key (compare it
    /// with the staff screen's), as the student's screen asks.
    UnknownServer(Fingerprint),
    /// Nothing more will come (the server refused, or is the wrong
    /// version): why, in a sentence.
    Stopped(String),
}

/// What a key asks of the loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WallKey {
    Nothing,
    Quit,
    Trust,
}

impl WallScreen {
    pub fn new(color: bool, unicode: bool, time_zone: FixedOffset) -> Self {
        Self {
            board: None,
            link: WallLink::Connecting,
            theme: Theme::new(color, unicode),
            time_zone,
        }
    }

    /// Applies a network event; `true` when the wall looks different now.
    pub fn update(&mut self, event: NetEvent) -> bool {
        let before = (self.board.clone(), self.link.clone());
        match event {
            NetEvent::Wall(board) => {
                self.board = Some(board);
                self.link = WallLink::Live;
            }
            NetEvent::Disconnected { reason, .. } => self.link = WallLink::Down(reason),
            NetEvent::UnknownServer { fingerprint } => {
                self.link = WallLink::UnknownServer(fingerprint);
            }
            NetEvent::KeyChanged(change) => {
                self.link = WallLink::Stopped(format!(
                    "{}'s key is not the one this machine trusts ({} now): nothing was \
                     sent; if the change is real, remove the old key from {}",
                    change.server,
                    change.presented,
                    change.known_servers.map_or_else(
                        || "the known servers".to_owned(),
                        |f| f.display().to_string()
                    )
                ));
            }
            NetEvent::Stopped(reason) => self.link = WallLink::Stopped(stopped(&reason)),
            NetEvent::ShuttingDown => {
                self.link = WallLink::Down(Disconnect::ServerShutDown);
            }
            _ => {}
        }
        (self.board.clone(), self.link.clone()) != before
    }

    /// What a key does: q, Esc or Ctrl-C leave; y trusts a server met for
    /// the first time.
    pub fn key(&self, key: &ratatui::crossterm::event::KeyEvent) -> WallKey {
        if key.kind == KeyEventKind::Release {
            return WallKey::Nothing;
        }
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => WallKey::Quit,
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => WallKey::Quit,
            KeyCode::Char('y') if matches!(self.link, WallLink::UnknownServer(_)) => WallKey::Trust,
            _ => WallKey::Nothing,
        }
    }
}

/// Why a wall stopped, in a sentence (the server's words sanitised).
fn stopped(reason: &StopReason) -> String {
    match reason {
        StopReason::NoSuchQueue { reason } => jqueue_shared::sanitize(reason).into_owned(),
        StopReason::Incompatible { server_version } => format!(
            "The server speaks protocol version {server_version} and this jqueue {}: use the \
             jqueue that goes with the server.",
            jqueue_shared::PROTOCOL_VERSION
        ),
        other => format!("The server stopped this wall ({other:?})."),
    }
}

/// The wall's loop: draw, then wait for a board, a key or a resize, and
/// draw again only if the wall changed. Returns the number of frames drawn
/// (what "calm" means, for tests) when a key asked to leave or the inputs
/// closed.
pub async fn run_loop<B>(
    terminal: &mut Terminal<B>,
    screen: &mut WallScreen,
    net_events: &mut mpsc::Receiver<NetEvent>,
    commands: &mpsc::UnboundedSender<NetCommand>,
    inputs: &mut mpsc::Receiver<Input>,
) -> anyhow::Result<u64>
where
    B: Backend,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let mut frames = 0;
    let mut dirty = true;
    let mut net_open = true;
    loop {
        if dirty {
            terminal.draw(|frame| {
                crate::screens::wall::render(screen, frame.area(), frame.buffer_mut());
            })?;
            frames += 1;
            dirty = false;
        }
        tokio::select! {
            event = net_events.recv(), if net_open => match event {
                Some(event) => dirty = screen.update(event),
                None => net_open = false,
            },
            input = inputs.recv() => match input {
                Some(Input::Key(key)) => match screen.key(&key) {
                    WallKey::Quit => return Ok(frames),
                    WallKey::Trust => {
                        let _ = commands.send(NetCommand::TrustServer);
                        screen.link = WallLink::Connecting;
                        dirty = true;
                    }
                    WallKey::Nothing => {}
                },
                Some(Input::Resize) => {
                    terminal.autoresize()?;
                    dirty = true;
                }
                None => return Ok(frames),
            },
        }
    }
}

/// Runs `jqueue wall` on a real terminal until `q`: the board of `queues`
/// (none: every queue) from the server `config` names.
pub async fn run<B>(
    mut terminal: Terminal<B>,
    config: crate::cli::Config,
    queues: Vec<String>,
    color: bool,
    unicode: bool,
) -> anyhow::Result<()>
where
    B: Backend,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    use chrono::Offset as _;
    let (commands, mut net_events, net_task) = crate::net::spawn_wall(
        crate::net::NetConfig {
            route: crate::net::Route::for_config(&config),
            username: config.username,
            backoff: crate::net::Backoff::default(),
            staff: false,
            queue: None,
        },
        queues,
    );
    let (inputs, mut receiver) = mpsc::channel(64);
    tokio::spawn(async move {
        let read =
            jqueue_tui::terminal::forward_input(|input| inputs.try_send(input).is_ok()).await;
        if let Err(e) = read {
            tracing::error!("could not read the terminal: {e}");
        }
    });
    let mut screen = WallScreen::new(color, unicode, chrono::Local::now().offset().fix());
    let result = run_loop(
        &mut terminal,
        &mut screen,
        &mut net_events,
        &commands,
        &mut receiver,
    )
    .await;
    let _ = commands.send(NetCommand::Quit);
    let _ = tokio::time::timeout(std::time::Duration::from_millis(500), net_task).await;
    result.map(|_| ())
}
