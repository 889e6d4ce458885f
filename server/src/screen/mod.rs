//! The professor's ways in: the headless console ([`console`]) and the
//! staff screen (the same screen TAs run, fed in-process).
//!
//! Both reach the queue only through [`crate::ServerHandle`], the same typed
//! API the network layer uses; neither holds queue state of its own.

pub mod console;
pub mod tui;
