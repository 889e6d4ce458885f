//! The one per-address limit on log lines a peer causes (failed sign-ins,
//! floods, wrong codes, reconnect loops), shared by the network layer and
//! every owner task, so an address has one allowance however many parts of
//! the server it keeps busy.
//!
//! It only decides whether a line may be written; it writes nothing itself
//! and holds its lock for one table update, never across an `.await`.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use jqueue_core::rate::PeerLines;
use tokio::time::Instant;

/// A cheap handle to the server's [`PeerLines`].
#[derive(Debug, Clone, Default)]
pub(crate) struct PeerLog(Arc<Mutex<PeerLines<Instant>>>);

impl PeerLog {
    /// Whether a line `ip` caused may be written now: `Some(n)` with the
    /// lines from it held back before ([`PeerLines::admit`]), `None` to
    /// drop it.
    pub(crate) fn admit(&self, ip: IpAddr) -> Option<u32> {
        // A panic elsewhere while holding the lock leaves a table that is
        // still a valid table: keep using it.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .admit(ip, Instant::now())
    }
}
