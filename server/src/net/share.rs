//! The read-only view of a student's terminal (`jqueue share`, DESIGN §17),
//! relayed between two connections here in the network layer, never
//! through a queue's owner: the queue's fan-out never waits behind a share.
//!
//! [`Shares`] is the registry: each signed-in student's own screen (where
//! the staff member's ask and "tara is viewing your terminal" go), each
//! running share, the staff member asking and the one viewing. Who may
//! view is decided here and nowhere else: a staff screen whose account is
//! helping that student in a queue it follows, now, and whom the student
//! accepted; a share's rows go to that one connection only. The help is
//! looked up in the queue's published staff view (every help in progress),
//! again at every relay tick, so a view ends within a tick of the help.
//!
//! The share's connection keeps the student's screen as a
//! [`SharedScreen`] in memory (bounded by the share limits) and relays the
//! rows that changed at most every [`SHARE_UPDATE_EVERY`], paid from a
//! [`ByteBudget`]; what a slow staff screen cannot take waits and
//! coalesces. Nothing is stored.
//!
//! A share is offered only on a connection of its own that signed in to
//! follow (`jqueue share` must not push out the student's screen): from
//! any other, `OfferShare` and `ShareScreen` break the protocol.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use jqueue_shared::share::{
    ByteBudget, SHARE_BYTES_PER_SEC, SHARE_UPDATE_EVERY, ShareEnd, ShareNotice, SharedScreen,
};

#[allow(clippy::wildcard_imports)]
use super::*;

/// Bytes a viewer's connection may have waiting before a share's update
/// is held back for it: about two updates' worth.
const SCREEN_BACKLOG: usize = 32 * 1024;
/// The same for a share's few notices (asked, started, ended), which are
/// small and must not be lost to a burst of updates.
const NOTICE_BACKLOG: usize = 256 * 1024;

/// One end of a share's relay: a connection and its outbox.
#[derive(Debug, Clone)]
pub(super) struct Endpoint {
    conn: u64,
    outbox: Arc<Outbox>,
}

/// A staff member asking for, or viewing, a share: on `queue`, where they
/// help the student.
#[derive(Debug, Clone)]
struct Viewer {
    staff: Arc<str>,
    queue: usize,
    at: Endpoint,
}

/// One running `jqueue share`.
#[derive(Debug)]
struct Offer {
    share: Endpoint,
    asked: Option<Viewer>,
    viewer: Option<Viewer>,
    /// Counts viewers: the relay sends every row to a new one.
    generation: u64,
}

#[derive(Debug, Default)]
struct Registry {
    /// Each student's own screen (not a follower, not a staff screen).
    screens: HashMap<Arc<str>, Endpoint>,
    /// Each running share, by its student.
    offers: HashMap<Arc<str>, Offer>,
}

/// Every share on the server and the screens that say yes to them.
#[derive(Debug, Default)]
pub(super) struct Shares {
    registry: Mutex<Registry>,
}

/// Queues `msg` on `at` (a notice of a share: asked, watched, ended).
fn tell(at: &Endpoint, msg: &ServerMsg) {
    if let Ok(frame) = encode_frame(msg) {
        at.outbox.relay(&frame, NOTICE_BACKLOG);
    }
}

fn watched(by: Option<&Arc<str>>) -> ServerMsg {
    ServerMsg::ShareWatched {
        by: by.map(ToString::to_string),
    }
}

/// Whether `staff` is helping `student` (alone or in a group) on `queue`,
/// as the queue last published.
fn helping(handle: &ServerHandle, queue: usize, staff: &str, student: &str) -> bool {
    let views = handle.on_queue(queue).staff_views();
    let view = views.borrow();
    view.helps.iter().any(|help| {
        help.staff == staff && (help.student == student || help.with.iter().any(|w| w == student))
    })
}

impl Shares {
    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A student's own screen signed in on `conn`.
    pub(super) fn screen_opened(&self, student: &Arc<str>, conn: u64, outbox: Arc<Outbox>) {
        self.lock()
            .screens
            .insert(student.clone(), Endpoint { conn, outbox });
    }

    /// A student's own screen on `conn` has gone: nobody sees any more that
    /// their terminal is viewed, so the view ends.
    pub(super) fn screen_closed(&self, student: &str, conn: u64) {
        let mut registry = self.lock();
        if registry
            .screens
            .get(student)
            .is_some_and(|s| s.conn == conn)
        {
            registry.screens.remove(student);
            end_view(&mut registry, student, ShareEnd::StudentLeft, None);
        }
    }

    /// `jqueue share` signed in on `share` for `student`: a share that was
    /// running for them before is replaced (its view ends).
    fn offer(&self, student: &Arc<str>, share: Endpoint) {
        let mut registry = self.lock();
        end_view(&mut registry, student, ShareEnd::ShareClosed, None);
        registry.offers.insert(
            student.clone(),
            Offer {
                share,
                asked: None,
                viewer: None,
                generation: 0,
            },
        );
    }

    /// The share on `conn` has ended.
    fn withdraw(&self, student: &str, conn: u64) {
        let mut registry = self.lock();
        if registry
            .offers
            .get(student)
            .is_some_and(|o| o.share.conn == conn)
        {
            end_view(&mut registry, student, ShareEnd::ShareClosed, None);
            registry.offers.remove(student);
        }
    }

    /// A staff screen on `conn` has gone: its views end, its asks lapse.
    pub(super) fn staff_left(&self, conn: u64) {
        let mut registry = self.lock();
        let students: Vec<Arc<str>> = registry
            .offers
            .iter()
            .filter(|(_, o)| o.viewer.as_ref().is_some_and(|v| v.at.conn == conn))
            .map(|(s, _)| s.clone())
            .collect();
        for student in students {
            end_view(&mut registry, &student, ShareEnd::StaffClosed, Some(conn));
        }
        for offer in registry.offers.values_mut() {
            if offer.asked.as_ref().is_some_and(|a| a.at.conn == conn) {
                offer.asked = None;
            }
        }
    }

    /// The viewer of `student`'s share on `conn` now, if any, and which
    /// viewer it is (a new one is sent every row).
    fn viewer_of(&self, student: &str, conn: u64) -> Option<(u64, Viewer)> {
        let registry = self.lock();
        let offer = registry.offers.get(student)?;
        if offer.share.conn != conn {
            return None;
        }
        offer
            .viewer
            .as_ref()
            .map(|viewer| (offer.generation, viewer.clone()))
    }

    /// Ends the view of `student`'s share for `reason` (only `viewer_conn`'s,
    /// when given).
    fn end(&self, student: &str, reason: ShareEnd, viewer_conn: Option<u64>) {
        end_view(&mut self.lock(), student, reason, viewer_conn);
    }
}

/// Ends the view of `student`'s share, if there is one (and, with
/// `viewer_conn`, it is that connection's), telling the staff member why
/// and the student's screen and share that nobody views any more.
fn end_view(registry: &mut Registry, student: &str, reason: ShareEnd, viewer_conn: Option<u64>) {
    let Some(offer) = registry.offers.get_mut(student) else {
        return;
    };
    if viewer_conn.is_some_and(|conn| offer.viewer.as_ref().is_none_or(|v| v.at.conn != conn)) {
        return;
    }
    let Some(viewer) = offer.viewer.take() else {
        return;
    };
    tell(&offer.share, &watched(None));
    tell(
        &viewer.at,
        &ServerMsg::Share(ShareNotice::Ended {
            student: student.to_owned(),
            reason,
        }),
    );
    if let Some(screen) = registry.screens.get(student) {
        tell(screen, &watched(None));
    }
    tracing::info!(%student, staff = %viewer.staff, ?reason, "a view of a terminal ended");
}

impl Handler {
    /// A share's request from a staff screen (`ViewShare`, `StopViewing`)
    /// or the student's own screen (`ShareConsent`, `StopShare`).
    pub(super) async fn share_request(
        &mut self,
        username: &Arc<str>,
        msg: ClientMsg,
    ) -> HandlerResult<()> {
        match msg {
            ClientMsg::ViewShare { student } => {
                let answer = self.view_share(username, student);
                self.send(&answer).await?;
            }
            ClientMsg::StopViewing => self.shared.shares.staff_left(self.conn),
            ClientMsg::ShareConsent { staff, allow } => {
                self.share_consent(username, &staff, allow);
            }
            ClientMsg::StopShare => {
                self.shared
                    .shares
                    .end(username, ShareEnd::StudentStopped, None);
            }
            _ => {}
        }
        Ok(())
    }

    /// The staff screen asks to view `student`'s share (`v`): allowed only
    /// while this staff member helps that student in a queue the screen
    /// follows; the student is asked, and the answer is theirs.
    fn view_share(&self, username: &Arc<str>, student: String) -> ServerMsg {
        let handle = &self.shared.handle;
        let queue = self.staff.as_ref().and_then(|feed| {
            feed.followed()
                .iter()
                .copied()
                .find(|&q| helping(handle, q, username, &student))
        });
        let Some(queue) = queue else {
            return ServerMsg::Share(ShareNotice::NotHelping { student });
        };
        let mut registry = self.shared.shares.lock();
        let screen = registry.screens.get(student.as_str()).cloned();
        let Some(offer) = registry.offers.get_mut(student.as_str()) else {
            return ServerMsg::Share(ShareNotice::NoShare { student });
        };
        let Some(screen) = screen else {
            return ServerMsg::Share(ShareNotice::NoScreen { student });
        };
        offer.asked = Some(Viewer {
            staff: username.clone(),
            queue,
            at: Endpoint {
                conn: self.conn,
                outbox: self.outbox.clone(),
            },
        });
        tell(
            &screen,
            &ServerMsg::ShareAsked {
                staff: username.to_string(),
            },
        );
        tracing::info!(%student, staff = %username, "asked to view a terminal");
        ServerMsg::Share(ShareNotice::Asked { student })
    }

    /// The student's answer to `staff`'s ask: with a yes, and `staff` still
    /// helping them, the view starts.
    fn share_consent(&self, username: &Arc<str>, staff: &str, allow: bool) {
        let mut registry = self.shared.shares.lock();
        if registry
            .screens
            .get(&**username)
            .is_none_or(|s| s.conn != self.conn)
        {
            return;
        }
        let Some(offer) = registry.offers.get_mut(&**username) else {
            return;
        };
        let Some(asked) = offer.asked.take_if(|a| *a.staff == *staff) else {
            return;
        };
        let student = username.to_string();
        if !allow {
            tell(
                &asked.at,
                &ServerMsg::Share(ShareNotice::Ended {
                    student,
                    reason: ShareEnd::Declined,
                }),
            );
            return;
        }
        if !helping(&self.shared.handle, asked.queue, staff, username) {
            tell(
                &asked.at,
                &ServerMsg::Share(ShareNotice::Ended {
                    student,
                    reason: ShareEnd::HelpEnded,
                }),
            );
            return;
        }
        // One viewer at a time: one accepted before gives way.
        end_view(&mut registry, username, ShareEnd::StaffClosed, None);
        tell(
            &asked.at,
            &ServerMsg::Share(ShareNotice::Started { student }),
        );
        if let Some(screen) = registry.screens.get(&**username) {
            tell(screen, &watched(Some(&asked.staff)));
        }
        let Some(offer) = registry.offers.get_mut(&**username) else {
            return;
        };
        tell(&offer.share, &watched(Some(&asked.staff)));
        offer.generation += 1;
        tracing::info!(student = %username, %staff, "a view of a terminal started");
        offer.viewer = Some(asked);
    }

    /// `jqueue share`'s connection from its `OfferShare` on: the student's
    /// screen as it sends it in, relayed to the viewer they accepted.
    pub(super) async fn serve_share(&mut self, username: &Arc<str>) -> HandlerResult<()> {
        // A screen's update is larger than anything else a follower may
        // send; a signed-in student's limit holds it (see
        // `jqueue_shared::share::MAX_UPDATE_BYTES`).
        self.reader.set_limit(MAX_SIGNED_IN_FRAME_LEN);
        let endpoint = Endpoint {
            conn: self.conn,
            outbox: self.outbox.clone(),
        };
        self.shared.shares.offer(username, endpoint);
        let result = self.relay_share(username).await;
        self.shared.shares.withdraw(username, self.conn);
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
                    let Some((generation, viewer)) = self.shared.shares.viewer_of(username, self.conn) else {
                        sent_to = None;
                        continue;
                    };
                    if !helping(&self.shared.handle, viewer.queue, &viewer.staff, username) {
                        self.shared.shares.end(username, ShareEnd::HelpEnded, Some(viewer.at.conn));
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
/// for and its connection takes now; the rest stay dirty for the next tick.
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
    if viewer.outbox.relay(&frame, SCREEN_BACKLOG) {
        budget.spend(frame.len());
        for row in &rows[..taken] {
            dirty.remove(row);
        }
    }
}
