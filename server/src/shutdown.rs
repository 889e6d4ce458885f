//! "Stop now", for the whole server: one [`ShutdownSwitch`] that the
//! professor's quit, the console's `quit`, a signal and a failed owner all
//! flip (through [`crate::ServerHandle::shutdown`]), and one [`Shutdown`]
//! that every task which must stop waits on. Flipped once, it stays flipped:
//! a task that subscribes late still sees it.
//!
//! It only signals; what stopping means (telling every student, closing the
//! socket file, waiting for the handlers) is [`crate::run`]'s.

use std::sync::Arc;

use tokio::sync::watch;

/// Flips "stop now" for every [`Shutdown`] made from it. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct ShutdownSwitch(Arc<watch::Sender<bool>>);

impl ShutdownSwitch {
    pub(crate) fn new() -> Self {
        Self(Arc::new(watch::channel(false).0))
    }

    /// Asks every task to stop; asking again changes nothing.
    pub(crate) fn request(&self) {
        self.0.send_replace(true);
    }

    pub(crate) fn subscribe(&self) -> Shutdown {
        Shutdown(self.0.subscribe())
    }
}

/// What a task waits on to learn it must stop.
#[derive(Debug, Clone)]
pub(crate) struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// Completes once stopping has been asked for (at once if it already
    /// was). Cancel-safe: it can sit in a `select!` loop.
    pub(crate) async fn requested(&mut self) {
        // An error means the switch is gone, which only happens once the
        // server has stopped: nothing left to wait for.
        let _ = self.0.wait_for(|&stop| stop).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_request_reaches_every_subscriber_even_one_made_after_it() {
        let switch = ShutdownSwitch::new();
        let mut early = switch.subscribe();
        let waiting = tokio::time::timeout(std::time::Duration::from_secs(60), early.requested());
        assert!(waiting.await.is_err(), "nothing asked yet");
        switch.request();
        early.requested().await;
        switch.subscribe().requested().await;
    }
}
