//! jqueue's domain: the queue rules and the fairness rules ([`queue`]), the
//! student views built from a queue ([`view`]), statistics and report math
//! ([`statistics`], [`report`]), presence-code math ([`presence`]), the
//! rate rules ([`rate`]) and where lab machines are ([`seats`]).
//!
//! Nothing here does I/O, spawns a task, reads a clock or draws a random
//! number: times and random draws are passed in, so every rule can be tested
//! on its own, deterministically. The dependency list (no tokio, no terminal,
//! no database, no `rand`) makes that checkable; the server's owners are the
//! only callers that change state.

pub mod presence;
pub mod queue;
pub mod rate;
pub mod report;
pub mod seats;
pub mod statistics;
pub mod view;
