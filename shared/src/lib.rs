//! The jqueue wire protocol, shared by the server (`jqueue-server`) and the
//! student client (`jqueue`).
//!
//! - [`protocol`]: the messages both sides exchange and the types inside them.
//! - [`codec`]: framing (a 4-byte big-endian length, then a bincode payload) and
//!   every use of bincode in the project, so the codec can be swapped in one place.
//! - [`validate`]: the rules for usernames, passwords, free text and question tags.
//! - [`context`]: the context a student may attach to a question, its limits.
//! - [`mod@sanitize`]: makes student-supplied text safe to put on a terminal.
//! - [`staff`]: the staff view, staff requests and their outcomes.
//! - [`statistics`]: the session's figures for the staff screen's statistics view.
//! - `manual` (feature `manual`): man pages and shell completions for the binaries.
//! - [`fingerprint`]: the `SHA256:…` name of a server's key, as both sides show it.
//! - [`wall`]: what a lab's wall (`jqueue wall`) shows, anonymous.
//!
//! This crate does no networking of its own beyond reading and writing frames on
//! a stream it is given (feature `net`, on by default; jqueue-core goes
//! without it).

pub mod codec;
pub mod context;
pub mod fingerprint;
#[cfg(feature = "manual")]
pub mod manual;
pub mod protocol;
pub mod sanitize;
pub mod share;
pub mod staff;
pub mod statistics;
pub mod validate;
pub mod wall;
pub mod words;

pub use codec::{FrameError, MAX_FRAME_LEN};
#[cfg(feature = "net")]
pub use codec::{FrameReader, read_frame, write_frame};
pub use fingerprint::Fingerprint;
pub use protocol::*;
pub use sanitize::sanitize;

/// Wall-clock time as milliseconds since the Unix epoch (the server's clock),
/// wherever a time crosses the wire.
pub type UnixMillis = i64;
