//! jqueue, the student's office-hours queue client.
//!
//! - [`cli`]: the command line, checked before the TUI starts.
//! - [`token_store`]: the session token file (mode 0600, one per server).
//! - [`net`]: the network task, which owns the connection.
//! - The staff screen (`jqueue --staff`) is jqueue-tui's, the same one the
//!   professor's `jqueue-server` draws; the client feeds it staff views and
//!   sends its staff requests.
//! - [`transport`]: the stream under TLS: TCP, the Unix socket, or ssh.
//! - [`trust`]: which server keys to trust (known_servers, pins, system roots)
//!   and the TLS connection that enforces it.
//! - [`app`]: the client's state and the pure `update` that changes it:
//!   which screen is up, and each event routed to the screen it concerns.
//! - [`keys`]: the key bindings, one table per screen.
//! - [`screens`]: one module per screen, its state and keys beside its
//!   drawing; drawing never changes state.
//! - [`bridge`]: `jqueue bridge`, stdin and stdout relayed to the server's
//!   Unix socket (what `--server ssh://` runs on the course host).
//! - [`logging`]: diagnostics to a file in the data dir, never the terminal.
//! - [`event_loop`]: joins terminal, network and timer events to the app, generic
//!   over the ratatui backend so tests drive the whole client.
//! - [`status`]: `jqueue status`, where the student stands as one line of
//!   text (no screen), over the same network task; [`status_line`] writes it.
//! - [`wall`]: `jqueue wall`, a lab's board: no sign-in, no student's name,
//!   drawn again only when the queues change.

pub mod app;
#[cfg(unix)]
pub mod bridge;
pub mod cli;
pub mod context;
pub mod event_loop;
pub mod keys;
pub mod location;
pub mod logging;
pub mod logout;
pub mod net;
pub mod screens;
pub mod share;
pub mod status;
pub mod status_line;
pub mod token_store;
pub mod transport;
pub mod trust;
pub mod wall;

pub use event_loop::{EventLoop, Farewell, run};
