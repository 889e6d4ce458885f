//! The professor's ways in: the full-screen staff screen ([`tui`]) and the
//! headless console ([`console`]).
//!
//! Both reach the queue only through [`crate::ServerHandle`], the same typed
//! API the network layer uses; neither holds queue state of its own.

pub mod console;
pub mod tui;
