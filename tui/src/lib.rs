//! jqueue-tui: the terminal side both programs share.
//!
//! - [`staff`]: the staff screen — the same screen, keys, theme and alerts
//!   for the professor at the server (`jqueue-server`, in-process) and a TA
//!   (`jqueue --staff`, over the network). It renders the pushed `StaffView`
//!   and turns keys into staff requests; it does no I/O of its own.
//! - [`keys`]: the one key type and matching rule every key table uses.
//! - [`tags`]: picking one of a queue's question tags with the arrows or a
//!   first letter, on the student's ask form and the staff screen's filter.
//! - [`status_message`]: the line each screen keeps for what the last key or
//!   answer did, until when, and while what holds — the student's notice and
//!   the staff screen's status line are the one type.
//! - [`ui`]: the UTF-8 test, the ASCII fallback and fitting text by whole parts.
//! - [`alert`]: the bell and desktop notifications (fixed text only), and
//!   the one sink both screens ring through.
//! - [`terminal`]: the terminal's keys and resizes, read the same way by
//!   both programs' event loops.
//! - [`text`]: a drawn buffer read back as plain text, for every crate's
//!   screen tests.
//!
//! Arrows point one way: the client and the server depend on this crate; it
//! depends on neither (only on the wire types in jqueue-shared).

pub mod alert;
pub mod keys;
pub mod staff;
pub mod status_message;
pub mod tags;
pub mod terminal;
pub mod text;
pub mod ui;
