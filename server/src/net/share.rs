//! The relay of a student's terminal (`jqueue share`, DESIGN §17) between
//! network connections, here in the network layer, never through a
//! queue's owner: the queue's fan-out never waits behind a share.
//!
//! Who may view, and every rule of asking, consenting and ending, is
//! [`crate::share`]'s: this module only takes a connection's share
//! requests there, makes the connection's [`Outbox`] a place the registry
//! can tell things, and runs the share's own connection.
//!
//! The share's connection keeps the student's screen as a
//! [`SharedScreen`] in memory (bounded by the share limits) and relays the
//! rows that changed at most every [`SHARE_UPDATE_EVERY`], paid from a
//! [`ByteBudget`], to the viewer wherever it is (a TA's connection or the
//! server's own screen); what a slow viewer cannot take waits and
//! coalesces. Nothing is stored.
//!
//! A share is offered only on a connection of its own that signed in to
//! follow (`jqueue share` must not push out the student's screen): from
//! any other, `OfferShare` and `ShareScreen` break the protocol.

use std::collections::BTreeSet;
use std::sync::Arc;

use jqueue_shared::share::{
    ByteBudget, SHARE_BYTES_PER_SEC, SHARE_UPDATE_EVERY, ShareEnd, ShareNotice, SharedScreen,
};

use crate::share::{Endpoint, Party, ShareSink, helping};

#[allow(clippy::wildcard_imports)]
use super::*;

/// Bytes a viewer's connection may have waiting before a share's update
/// is held back for it: about two updates' worth.
const SCREEN_BACKLOG: usize = 32 * 1024;
/// The same for a share's few notices (asked, started, ended), which are
/// small and must not be lost to a burst of updates.
const NOTICE_BACKLOG: usize = 256 * 1024;

impl ShareSink for Outbox {
    fn notice(&self, _msg: &ServerMsg, frame: &[u8]) {
        self.relay(frame, NOTICE_BACKLOG);
    }

    fn rows(&self, _msg: &ServerMsg, frame: &[u8]) -> bool {
        self.relay(frame, SCREEN_BACKLOG)
    }
}

impl Handler {
    /// This connection as an end of a share's relay.
    pub(super) fn share_endpoint(&self) -> Endpoint {
        Endpoint {
            party: Party::Connection(self.conn),
            sink: self.outbox.clone(),
        }
    }

    /// A share's request from a staff screen (`ViewShare`, `StopViewing`)
    /// or the student's own screen (`ShareConsent`, `StopShare`).
    pub(super) async fn share_request(
        &mut self,
        username: &Arc<str>,
        msg: ClientMsg,
    ) -> HandlerResult<()> {
        let shares = &self.shared.handle.shares;
        let me = Party::Connection(self.conn);
        match msg {
            ClientMsg::ViewShare { student } => {
                let answer = self.view_share(username, student);
                self.send(&ServerMsg::Share(answer)).await?;
            }
            ClientMsg::StopViewing => shares.staff_left(me),
            ClientMsg::ShareConsent { staff, allow } => {
                shares.consent(&self.shared.handle, username, me, &staff, allow);
            }
            ClientMsg::StopShare => shares.end(username, ShareEnd::StudentStopped, None),
            _ => {}
        }
        Ok(())
    }

    /// The staff screen asks to view `student`'s share (`v`): as this
    /// connection's account, in each queue the screen follows (none, for
    /// a connection that opened no staff screen).
    fn view_share(&self, username: &Arc<str>, student: String) -> ShareNotice {
        let followed = self
            .staff
            .as_ref()
            .map(|feed| feed.followed().to_vec())
            .unwrap_or_default();
        let acting = followed.into_iter().map(|queue| (queue, username.clone()));
        self.shared
            .handle
            .shares
            .ask(&self.shared.handle, acting, self.share_endpoint(), student)
    }

    /// `jqueue share`'s connection from its `OfferShare` on: the student's
    /// screen as it sends it in, relayed to the viewer they accepted.
    pub(super) async fn serve_share(&mut self, username: &Arc<str>) -> HandlerResult<()> {
        // A screen's update is larger than anything else a follower may
        // send; a signed-in student's limit holds it (see
        // `jqueue_shared::share::MAX_UPDATE_BYTES`).
        self.reader.set_limit(MAX_SIGNED_IN_FRAME_LEN);
        let shares = self.shared.handle.shares.clone();
        shares.offer(username, self.share_endpoint());
        let result = self.relay_share(username).await;
        shares.withdraw(username, Party::Connection(self.conn));
        result
    }

    async fn relay_share(&mut self, username: &Arc<str>) -> HandlerResult<()> {
        let mut screen = SharedScreen::default();
        let mut dirty: BTreeSet<u16> = BTreeSet::new();
        let mut budget = ByteBudget::new(SHARE_BYTES_PER_SEC, Instant::now().into_std());
        let mut sent_to: Option<u64> = None;
        let mut tick = tokio::time::interval(SHARE_UPDATE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut heartbeat = tokio::time::interval(self.shared.config.heartbeat_interval);
        let mut last_heard = Instant::now();
        let mut nonce = 0u64;
        let mut shutdown = self.shutdown.clone();
        loop {
            tokio::select! {
                () = self.outbox.woken() => self.flush().await?,
                () = shutdown.requested() => {
                    return self.send_last(&ServerMsg::ShuttingDown).await;
                }
                frame = self.reader.read_frame::<ClientMsg>() => {
                    last_heard = Instant::now();
                    match frame? {
                        None | Some(ClientMsg::Logout) => return Ok(()),
                        Some(ClientMsg::ShareScreen(update)) => {
                            if update.check().is_err() {
                                return self
                                    .send_last(&ServerMsg::ProtocolError(ProtocolError::Unexpected))
                                    .await;
                            }
                            dirty.extend(screen.apply(update));
                        }
                        Some(ClientMsg::Ping { nonce }) => self.send(&ServerMsg::Pong { nonce }).await?,
                        Some(ClientMsg::Pong { .. } | ClientMsg::OfferShare) => {}
                        Some(_) => {
                            return self
                                .send_last(&ServerMsg::ProtocolError(ProtocolError::Unexpected))
                                .await;
                        }
                    }
                }
                _ = tick.tick() => {
                    let shares = &self.shared.handle.shares;
                    let Some((generation, viewer)) = shares.viewer_of(username, Party::Connection(self.conn)) else {
                        sent_to = None;
                        continue;
                    };
                    if !helping(&self.shared.handle, viewer.queue, &viewer.staff, username) {
                        shares.end(username, ShareEnd::HelpEnded, Some(viewer.at.party));
                        sent_to = None;
                        continue;
                    }
                    if sent_to != Some(generation) {
                        // A new viewer sees every row.
                        sent_to = Some(generation);
                        dirty.extend(0..screen.rows);
                    }
                    relay_rows(username, &screen, &mut dirty, &mut budget, &viewer.at);
                }
                _ = heartbeat.tick() => {
                    if last_heard.elapsed() >= self.shared.config.idle_timeout {
                        return Ok(());
                    }
                    nonce += 1;
                    self.send(&ServerMsg::Ping { nonce }).await?;
                }
            }
        }
    }
}

/// Relays `dirty` rows of `screen` to `viewer`, as many as the budget pays
/// for and the viewer takes now; the rest stay dirty for the next tick.
fn relay_rows(
    student: &str,
    screen: &SharedScreen,
    dirty: &mut BTreeSet<u16>,
    budget: &mut ByteBudget,
    viewer: &Endpoint,
) {
    if dirty.is_empty() || screen.rows == 0 {
        return;
    }
    let rows: Vec<u16> = dirty.iter().copied().collect();
    let available = budget.available(Instant::now().into_std());
    let (update, taken) = screen.update_of(&rows, available);
    if taken == 0 {
        return;
    }
    let msg = ServerMsg::Share(ShareNotice::Screen {
        student: student.to_owned(),
        update,
    });
    let Ok(frame) = encode_frame(&msg) else {
        return;
    };
    if viewer.sink.rows(&msg, &frame) {
        budget.spend(frame.len());
        for row in &rows[..taken] {
            dirty.remove(row);
        }
    }
}
