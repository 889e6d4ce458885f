//! The pure domain: the queue rules, the views built from them, the
//! report and the statistics view's figures, and the
//! password and token rules.
//!
//! Nothing here does I/O, spawns a task or reads a clock: times are passed
//! in. Everything is unit- and property-tested on its own; the actor
//! ([`crate::actor`]) is the only caller that changes state.

pub mod auth;
pub mod presence;
pub mod queue;
pub mod rate;
pub mod report;
pub mod statistics;
pub mod view;
