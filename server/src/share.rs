//! Who may view a student's terminal (`jqueue share`, DESIGN §17), decided
//! here and nowhere else: [`Shares`], the registry of each signed-in
//! student's own screen (where a staff member's ask and "tara is viewing
//! your terminal" go), each running share, the staff member asking and the
//! one viewing.
//!
//! A viewer is a staff screen whose account is helping that student in a
//! queue it follows, now, and whom the student accepted; a share's rows go
//! to that one screen only. The help is looked up in the queue's published
//! staff view (every help in progress) when asked, when the student says
//! yes, and again at every relay tick, so a view ends within a tick of the
//! help. Both kinds of staff screen take this one path: a TA's
//! `jqueue --staff` over the network and the professor's screen inside
//! `jqueue-server` ([`OwnScreenViewer`]); they differ only in where a
//! notice goes (a [`ShareSink`]) and whom they act as.
//!
//! This module keeps no screen and sends nothing itself: the share's own
//! connection (`crate::net`) keeps the student's screen, relays its rows
//! and runs the tick; every sink takes what it is given without waiting.
//! Nothing of a share is stored.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use jqueue_shared::ServerMsg;
use jqueue_shared::codec::encode_frame;
use jqueue_shared::share::{ShareEnd, ShareNotice};
use tokio::sync::mpsc;

use crate::ServerHandle;

/// Where one end of a share's relay is told things: a connection's outbox,
/// or the in-process channel of the server's own screen. Neither may wait.
pub(crate) trait ShareSink: Send + Sync + std::fmt::Debug {
    /// A notice of a share (asked, watched, started, ended): small and
    /// few, and not to be lost to a burst of rows. `frame` is `msg` encoded.
    fn notice(&self, msg: &ServerMsg, frame: &[u8]);

    /// A share's rows: refused (`false`) while the reader is behind, so it
    /// holds a bounded amount and the relay sends the rows again later,
    /// coalesced. `frame` is `msg` encoded.
    fn rows(&self, msg: &ServerMsg, frame: &[u8]) -> bool;
}

/// Who an end of the relay is: a network connection (by its number), or a
/// server's own screen (numbered apart: it is no connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Party {
    Connection(u64),
    OwnScreen(u64),
}

/// One end of a share's relay: who it is and where it is told things.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub(crate) party: Party,
    pub(crate) sink: Arc<dyn ShareSink>,
}

impl Endpoint {
    /// Tells this end `msg` (a notice of a share).
    fn tell(&self, msg: &ServerMsg) {
        if let Ok(frame) = encode_frame(msg) {
            self.sink.notice(msg, &frame);
        }
    }
}

/// A staff member asking for, or viewing, a share: `staff` is the name
/// they help under on `queue`, where they help the student.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    pub(crate) staff: Arc<str>,
    pub(crate) queue: usize,
    pub(crate) at: Endpoint,
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

/// A student's own screen: `told` once it has been welcomed and may be
/// told things (before, a notice could overtake its sign-in's answer).
#[derive(Debug, Clone)]
struct StudentScreen {
    at: Endpoint,
    told: bool,
    /// While signing in, the screen it is to push out: theirs again if
    /// the sign-in is refused.
    replacing: Option<Box<StudentScreen>>,
}

impl StudentScreen {
    fn tell(&self, msg: &ServerMsg) {
        if self.told {
            self.at.tell(msg);
        }
    }
}

#[derive(Debug, Default)]
struct Registry {
    /// Each student's own screen (not a follower, not a staff screen).
    screens: HashMap<Arc<str>, StudentScreen>,
    /// Each running share, by its student.
    offers: HashMap<Arc<str>, Offer>,
}

/// Every share on the server and the screens that say yes to them.
#[derive(Debug, Default)]
pub(crate) struct Shares {
    registry: Mutex<Registry>,
    /// Numbers the server's own screens ([`Party::OwnScreen`]).
    own_screens: AtomicU64,
}

fn watched(by: Option<&Arc<str>>) -> ServerMsg {
    ServerMsg::ShareWatched {
        by: by.map(ToString::to_string),
    }
}

fn ended(student: &str, reason: ShareEnd) -> ServerMsg {
    ServerMsg::Share(ShareNotice::Ended {
        student: student.to_owned(),
        reason,
    })
}

/// Whether `staff` is helping `student` (alone or in a group) on `queue`,
/// as the queue last published.
pub(crate) fn helping(handle: &ServerHandle, queue: usize, staff: &str, student: &str) -> bool {
    let views = handle.on_queue(queue).staff_views();
    let view = views.borrow();
    view.helps.iter().any(|help| {
        help.staff == staff && (help.student == student || help.with.iter().any(|w| w == student))
    })
}

impl Shares {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A student's own screen at `screen` is signing in, and is about to
    /// push out the one before it (if any): it is their screen from now
    /// on, so that the old one's going ends no view; it is told nothing
    /// until [`Self::screen_opened`].
    pub(crate) fn screen_signing_in(&self, student: &Arc<str>, screen: Endpoint) {
        let mut registry = self.lock();
        let replacing = registry.screens.remove(student).map(|mut old| {
            old.replacing = None;
            Box::new(old)
        });
        let screen = StudentScreen {
            at: screen,
            told: false,
            replacing,
        };
        registry.screens.insert(student.clone(), screen);
    }

    /// The sign-in of a student's own screen at `party` was refused, or
    /// its welcome never went out: the screen before it, if any, is theirs
    /// again (it was not pushed out).
    pub(crate) fn screen_refused(&self, student: &str, party: Party) {
        let mut registry = self.lock();
        if registry
            .screens
            .get(student)
            .is_none_or(|s| s.at.party != party)
        {
            return;
        }
        let screen = registry.screens.remove(student);
        if let Some(old) = screen.and_then(|s| s.replacing) {
            registry.screens.insert(Arc::from(student), *old);
        }
    }

    /// A student's own screen at `screen` has been welcomed. A screen that
    /// comes back (the student's connection dropped, or was replaced, and
    /// signed in again) is told again what the one before it was: the ask
    /// still waiting for its answer, or who views the terminal now.
    pub(crate) fn screen_opened(&self, student: &Arc<str>, screen: Endpoint) {
        let mut registry = self.lock();
        let screen = StudentScreen {
            at: screen,
            told: true,
            replacing: None,
        };
        if let Some(offer) = registry.offers.get(student) {
            if let Some(viewer) = &offer.viewer {
                screen.tell(&watched(Some(&viewer.staff)));
            }
            if let Some(asked) = &offer.asked {
                screen.tell(&ServerMsg::ShareAsked {
                    staff: asked.staff.to_string(),
                });
            }
        }
        registry.screens.insert(student.clone(), screen);
    }

    /// A student's own screen at `party` has gone: nobody sees any more that
    /// their terminal is viewed, so the view ends. An ask still waiting
    /// stays, for the screen that comes back.
    pub(crate) fn screen_closed(&self, student: &str, party: Party) {
        let mut registry = self.lock();
        if registry
            .screens
            .get(student)
            .is_some_and(|s| s.at.party == party)
        {
            registry.screens.remove(student);
            end_view(&mut registry, student, ShareEnd::StudentLeft, None);
        }
    }

    /// `jqueue share` signed in at `share` for `student`: a share that was
    /// running for them before is replaced (its view ends).
    pub(crate) fn offer(&self, student: &Arc<str>, share: Endpoint) {
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

    /// The share at `party` has ended.
    pub(crate) fn withdraw(&self, student: &str, party: Party) {
        let mut registry = self.lock();
        if registry
            .offers
            .get(student)
            .is_some_and(|o| o.share.party == party)
        {
            end_view(&mut registry, student, ShareEnd::ShareClosed, None);
            registry.offers.remove(student);
        }
    }

    /// The staff screen at `party` has gone, or closed its view: its views
    /// end, its asks lapse.
    pub(crate) fn staff_left(&self, party: Party) {
        let mut registry = self.lock();
        let students: Vec<Arc<str>> = registry
            .offers
            .iter()
            .filter(|(_, o)| o.viewer.as_ref().is_some_and(|v| v.at.party == party))
            .map(|(s, _)| s.clone())
            .collect();
        for student in students {
            end_view(&mut registry, &student, ShareEnd::StaffClosed, Some(party));
        }
        for offer in registry.offers.values_mut() {
            if offer.asked.as_ref().is_some_and(|a| a.at.party == party) {
                offer.asked = None;
            }
        }
    }

    /// The viewer of `student`'s share at `share` now, if any, and which
    /// viewer it is (a new one is sent every row).
    pub(crate) fn viewer_of(&self, student: &str, share: Party) -> Option<(u64, Viewer)> {
        let registry = self.lock();
        let offer = registry.offers.get(student)?;
        if offer.share.party != share {
            return None;
        }
        offer
            .viewer
            .as_ref()
            .map(|viewer| (offer.generation, viewer.clone()))
    }

    /// Ends the view of `student`'s share for `reason` (only `viewer`'s,
    /// when given).
    pub(crate) fn end(&self, student: &str, reason: ShareEnd, viewer: Option<Party>) {
        end_view(&mut self.lock(), student, reason, viewer);
    }

    /// A staff screen at `at` asks to view `student`'s share (`v`).
    /// `acting` is each queue the screen is staff of, with the name its
    /// account helps under there: allowed only while that name helps the
    /// student in one of them. The student's screen is asked, and the
    /// answer is theirs ([`Self::consent`]). Returns what the staff screen
    /// is told now.
    pub(crate) fn ask(
        &self,
        handle: &ServerHandle,
        acting: impl IntoIterator<Item = (usize, Arc<str>)>,
        at: Endpoint,
        student: String,
    ) -> ShareNotice {
        let found = acting
            .into_iter()
            .find(|(queue, staff)| helping(handle, *queue, staff, &student));
        let Some((queue, staff)) = found else {
            return ShareNotice::NotHelping { student };
        };
        let mut registry = self.lock();
        let screen = registry.screens.get(student.as_str()).cloned();
        let Some(offer) = registry.offers.get_mut(student.as_str()) else {
            return ShareNotice::NoShare { student };
        };
        let Some(screen) = screen else {
            return ShareNotice::NoScreen { student };
        };
        screen.tell(&ServerMsg::ShareAsked {
            staff: staff.to_string(),
        });
        tracing::info!(%student, %staff, "asked to view a terminal");
        offer.asked = Some(Viewer { staff, queue, at });
        ShareNotice::Asked { student }
    }

    /// The answer of `student`'s own screen at `screen` to `staff`'s ask:
    /// with a yes, and `staff` still helping them, the view starts.
    pub(crate) fn consent(
        &self,
        handle: &ServerHandle,
        student: &Arc<str>,
        screen: Party,
        staff: &str,
        allow: bool,
    ) {
        let mut registry = self.lock();
        if registry
            .screens
            .get(&**student)
            .is_none_or(|s| !s.told || s.at.party != screen)
        {
            return;
        }
        let Some(offer) = registry.offers.get_mut(&**student) else {
            return;
        };
        let Some(asked) = offer.asked.take_if(|a| *a.staff == *staff) else {
            return;
        };
        if !allow {
            asked.at.tell(&ended(student, ShareEnd::Declined));
            return;
        }
        if !helping(handle, asked.queue, staff, student) {
            asked.at.tell(&ended(student, ShareEnd::HelpEnded));
            return;
        }
        // One viewer at a time: one accepted before gives way.
        end_view(&mut registry, student, ShareEnd::StaffClosed, None);
        asked.at.tell(&ServerMsg::Share(ShareNotice::Started {
            student: student.to_string(),
        }));
        if let Some(screen) = registry.screens.get(&**student) {
            screen.tell(&watched(Some(&asked.staff)));
        }
        let Some(offer) = registry.offers.get_mut(&**student) else {
            return;
        };
        offer.share.tell(&watched(Some(&asked.staff)));
        offer.generation += 1;
        tracing::info!(%student, %staff, "a view of a terminal started");
        offer.viewer = Some(asked);
    }

    /// A number for a new own screen, apart from every other.
    fn next_own_screen(&self) -> Party {
        Party::OwnScreen(self.own_screens.fetch_add(1, Ordering::Relaxed))
    }
}

/// Ends the view of `student`'s share, if there is one (and, with
/// `viewer`, it is that party's), telling the staff member why and the
/// student's screen and share that nobody views any more.
fn end_view(registry: &mut Registry, student: &str, reason: ShareEnd, viewer: Option<Party>) {
    let Some(offer) = registry.offers.get_mut(student) else {
        return;
    };
    if viewer.is_some_and(|party| offer.viewer.as_ref().is_none_or(|v| v.at.party != party)) {
        return;
    }
    let Some(viewer) = offer.viewer.take() else {
        return;
    };
    offer.share.tell(&watched(None));
    viewer.at.tell(&ended(student, reason));
    if let Some(screen) = registry.screens.get(student) {
        screen.tell(&watched(None));
    }
    tracing::info!(%student, staff = %viewer.staff, ?reason, "a view of a terminal ended");
}

/// Messages waiting for the server's own screen: enough for a few rows'
/// updates and the few notices a view has.
const OWN_SCREEN_BACKLOG: usize = 16;
/// Of those, kept free of rows, so that a notice is never crowded out.
const OWN_SCREEN_NOTICE_ROOM: usize = 8;

/// The server's own screen's sink: a channel to its event loop.
#[derive(Debug)]
struct OwnScreenSink(mpsc::Sender<ServerMsg>);

impl ShareSink for OwnScreenSink {
    fn notice(&self, msg: &ServerMsg, _frame: &[u8]) {
        // Full only if the screen has stopped reading: then nobody looks.
        let _ = self.0.try_send(msg.clone());
    }

    fn rows(&self, msg: &ServerMsg, _frame: &[u8]) -> bool {
        self.0.capacity() > OWN_SCREEN_NOTICE_ROOM && self.0.try_send(msg.clone()).is_ok()
    }
}

/// The professor's screen inside `jqueue-server` as a viewer of students'
/// terminals: it asks and stops through the same [`Shares`] a TA's
/// connection does, acting as the name the professor helps under
/// (`ServerConfig::professor`, the name [`ServerHandle::professor`]'s
/// helps carry) in every queue, and its notices and rows come through an
/// in-process channel instead of a socket. Dropped, it is a staff screen
/// gone: its view ends, its ask lapses.
#[derive(Debug)]
pub struct OwnScreenViewer {
    handle: ServerHandle,
    at: Endpoint,
    notices: mpsc::Receiver<ServerMsg>,
}

impl OwnScreenViewer {
    pub(crate) fn new(handle: ServerHandle) -> Self {
        let (sender, notices) = mpsc::channel(OWN_SCREEN_BACKLOG);
        let at = Endpoint {
            party: handle.shares.next_own_screen(),
            sink: Arc::new(OwnScreenSink(sender)),
        };
        Self {
            handle,
            at,
            notices,
        }
    }

    /// `v`: asks to view `student`'s terminal; what the screen is told now.
    /// The professor is staff of every queue, under each queue's name for
    /// them.
    pub fn ask(&self, student: String) -> ShareNotice {
        let acting: Vec<(usize, Arc<str>)> = self
            .handle
            .queue_configs()
            .enumerate()
            .map(|(queue, config)| (queue, Arc::from(config.professor.as_str())))
            .collect();
        self.handle
            .shares
            .ask(&self.handle, acting, self.at.clone(), student)
    }

    /// `Esc`: closes the view (or the ask).
    pub fn stop(&self) {
        self.handle.shares.staff_left(self.at.party);
    }

    /// The next notice or rows of the share asked for or viewed. Never
    /// ends while this viewer lives (it holds the sending side too).
    pub async fn next(&mut self) -> ShareNotice {
        loop {
            match self.notices.recv().await {
                Some(ServerMsg::Share(notice)) => return notice,
                // Only a student's screen or share is told anything else.
                Some(_) => {}
                None => std::future::pending::<()>().await,
            }
        }
    }
}

impl Drop for OwnScreenViewer {
    fn drop(&mut self) {
        self.handle.shares.staff_left(self.at.party);
    }
}
