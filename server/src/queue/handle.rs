//! The typed API to a queue's owner, [`QueueHandle`], and the types its
//! calls and answers speak in.
//!
//! Each method builds its [`Call`] and awaits the answer; the calls
//! themselves are private to the owner, so no caller depends on how it is
//! built. The handle trusts its caller about *who* is asking and whether
//! they are staff: [`crate::ServerHandle`], the one API the rest of the
//! server uses, checks that with the accounts before it calls here.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use jqueue_shared::context::QuestionContext;
use jqueue_shared::staff::ActivityKind;
use jqueue_shared::staff::{StaffOutcome, StaffRequest, StaffView};
use jqueue_shared::{HelpEnd, ProtocolError, RequestResult, SessionToken};
use tokio::sync::{mpsc, oneshot, watch};

use super::Call;
use crate::owners::ShuttingDown;
use jqueue_core::queue::{Entry, UnixMillis};

/// Where a queue's owner leaves notices for one connection.
///
/// Delivering must never wait: the owner serves everyone, so a connection
/// that cannot take a notice now loses it (the next view still tells the
/// student where they stand, and what a student missed is told again when
/// they sign in).
pub trait NoticeSink: Send + Sync + std::fmt::Debug {
    /// Leaves `notice` for the connection; `false` if it was not taken.
    /// Views of snapshots older than `views_from` contradict the notice (they
    /// still show the student waiting) and must not go out after it.
    fn deliver(&self, notice: Notice, views_from: u64) -> bool;
}

/// Something for one student's connection to pass on.
#[derive(Debug, Clone)]
pub enum Notice {
    /// It is the student's turn ([`ServerMsg::BeingHelped`]).
    ///
    /// [`ServerMsg::BeingHelped`]: jqueue_shared::ServerMsg::BeingHelped
    BeingHelped {
        by: Arc<str>,
        at: UnixMillis,
        /// How many others are helped with them (a group help).
        others: u32,
        /// Their names, only when the server shows names to students.
        other_names: Vec<Arc<str>>,
    },
    Removed {
        at: UnixMillis,
    },
    /// The office hours closed the queue and released the student
    /// ([`ServerMsg::Released`]).
    ///
    /// [`ServerMsg::Released`]: jqueue_shared::ServerMsg::Released
    Released {
        at: UnixMillis,
    },
    /// The help the student was in ended ([`ServerMsg::HelpEnded`]).
    ///
    /// [`ServerMsg::HelpEnded`]: jqueue_shared::ServerMsg::HelpEnded
    HelpEnded {
        by: Arc<str>,
        outcome: HelpEnd,
        at: UnixMillis,
        help_secs: u64,
    },
    Announcement(Arc<str>),
    /// A staff member's message to this student ([`ServerMsg::Message`]).
    ///
    /// [`ServerMsg::Message`]: jqueue_shared::ServerMsg::Message
    Message(jqueue_shared::StaffMessage),
    /// Close the connection with this error.
    Kick(ProtocolError),
    /// The helps open to others, whenever they change
    /// ([`ServerMsg::OpenGroups`]).
    ///
    /// [`ServerMsg::OpenGroups`]: jqueue_shared::ServerMsg::OpenGroups
    OpenGroups(Vec<jqueue_shared::OpenGroup>),
}

/// A student's request, answered.
#[derive(Debug)]
pub struct Answer {
    pub result: RequestResult,
    /// The first snapshot that shows the request's effect: older views must
    /// not follow the answer.
    pub views_from: u64,
}

/// A student's request to join, with what the network layer knows of where
/// it comes from.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    pub description: String,
    /// Empty: the connection's host stands in.
    pub location: String,
    /// The question's tag as the student chose it, unchecked: the owner
    /// takes only one of its queue's tags.
    pub tag: Option<String>,
    /// The presence code the student typed, if any.
    pub code: Option<String>,
    /// Whether the connection comes from a host `--allow-hosts` allows.
    pub in_room: bool,
    /// The host name (or address) the connection comes from.
    pub host: String,
    /// The connection's address: wrong presence codes back off per
    /// (account, address), like wrong passwords.
    pub peer: IpAddr,
    /// What the student attached, unchecked: the owner checks it.
    pub context: Option<Box<QuestionContext>>,
    /// Move a place in another queue of the course here (the student
    /// said so: [`jqueue_shared::RequestResult::WaitingElsewhere`]).
    pub moving: bool,
    /// The join time the place keeps, when it moves here from another
    /// queue of the course ([`crate::ServerHandle::join`] sets it).
    pub kept_join_time: Option<UnixMillis>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachOutcome {
    Attached,
    ServerFull,
    /// As many students from this address as `--max-online-per-address` allows.
    HostFull,
    /// The course has a roster and the name is not on it.
    NotOnRoster,
}

/// A connection that has signed in, as a queue's owner knows it.
#[derive(Debug, Clone)]
pub struct Connection {
    pub username: Arc<str>,
    /// Unique per connection, so a late detach of an old connection cannot
    /// take a newer one offline.
    pub id: u64,
    pub peer: SocketAddr,
    /// How they came in, for staff (for example `password from 10.0.0.7`).
    pub origin: String,
    /// Signed in as its OS account (on the socket, or through `ssh://`),
    /// which the kernel vouched for: only such a connection is staff by
    /// `--staff-group`.
    pub by_os_account: bool,
    /// The token it signed in with (none when signed in by OS account): a
    /// logout of that token ends this connection.
    pub token: Option<SessionToken>,
    pub notices: Arc<dyn NoticeSink>,
}

/// Who a staff request acts for, as checked by [`crate::ServerHandle`].
#[derive(Debug, Clone)]
pub enum Acting {
    /// The professor at the server's own screen or console.
    Professor,
    /// A signed-in account found to be staff just now.
    Staff(Arc<str>),
}

/// What the accounts' owner tells a queue's owner, in the order it
/// happened, before it answers the call that caused it.
#[derive(Debug, Clone)]
pub enum AccountEvent {
    /// A line for the activity pane; `peer` when a peer caused it (its log
    /// line is then limited per address).
    Activity {
        kind: ActivityKind,
        peer: Option<IpAddr>,
    },
    /// A new account: a place under its name can only be a deleted
    /// account's, left in memory by `users delete` while the server ran.
    Created { username: String },
    /// This token was revoked (`jqueue logout`): the screen signed in with
    /// it ends.
    LoggedOut { token: SessionToken },
    /// The account's password was reset and its tokens revoked (`users
    /// reset`): its screen is signed out.
    SignedOut { username: String },
    /// The account is gone (`users delete`), and its place in the database:
    /// its place in memory goes too, and its screen is signed out.
    Deleted { username: String },
    /// The staff list changed (`staff add|remove`): staff screens check
    /// their right again before the next view, which is owed now.
    StaffChanged,
}

/// The handle to a queue's owner. Cheap to clone.
#[derive(Debug, Clone)]
pub struct QueueHandle {
    pub(super) calls: mpsc::Sender<Call>,
    pub(super) staff_views: watch::Receiver<Arc<StaffView>>,
    pub(super) staff_list: watch::Receiver<u64>,
    pub(super) staff_frames: Arc<super::staff_frames::StaffFrames>,
}

impl QueueHandle {
    /// Sends a call and waits for its answer; fails only if the owner has
    /// stopped.
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Call,
    ) -> Result<T, ShuttingDown> {
        let (reply, answer) = oneshot::channel();
        self.calls
            .send(make(reply))
            .await
            .map_err(|_| ShuttingDown)?;
        answer.await.map_err(|_| ShuttingDown)
    }

    /// Passes on what the accounts' owner has to tell. Does not wait for
    /// them to be applied, only for them to be in line.
    pub(crate) async fn account_events(&self, events: Vec<AccountEvent>) {
        let _ = self.calls.send(Call::AccountEvents(events)).await;
    }

    // --- presence -----------------------------------------------------------

    /// Counts a signed-in connection online (`staff`: its account is staff,
    /// for counts and lists); an older connection of the same account is
    /// told it signed in elsewhere.
    pub async fn attach(
        &self,
        connection: Connection,
        staff: bool,
    ) -> Result<AttachOutcome, ShuttingDown> {
        self.ask(|reply| Call::Attach {
            connection,
            staff,
            reply,
        })
        .await
    }

    /// The connection `id` of `username` has gone. Does not wait.
    pub async fn detach(&self, username: Arc<str>, id: u64) {
        let _ = self.calls.send(Call::Detach { username, id }).await;
    }

    /// A connection that only follows where its student stands (`jqueue
    /// status`): it is told what their screen is told of their turn, and
    /// is not them being online.
    pub async fn follow(&self, connection: Connection) -> Result<AttachOutcome, ShuttingDown> {
        self.ask(|reply| Call::Follow { connection, reply }).await
    }

    /// The following connection `id` of `username` has gone. Does not wait.
    pub async fn unfollow(&self, username: Arc<str>, id: u64) {
        let _ = self.calls.send(Call::Unfollow { username, id }).await;
    }

    // --- a student's requests -------------------------------------------------

    /// Joins the queue. `room` is where the connection comes from, as the
    /// network layer found it; `code` the presence code the student gave.
    pub async fn join(
        &self,
        username: Arc<str>,
        request: JoinRequest,
    ) -> Result<Answer, ShuttingDown> {
        self.ask(|reply| Call::Join {
            username,
            request,
            reply,
        })
        .await
    }

    /// Where `username` waits in this queue: their entry, if they do. With
    /// `to` (the queue they move to), they leave it for there: the entry
    /// they had, with its join time.
    pub async fn move_out(
        &self,
        username: Arc<str>,
        to: Option<String>,
    ) -> Result<Option<Entry>, ShuttingDown> {
        self.ask(|reply| Call::MoveOut {
            username,
            to,
            reply,
        })
        .await
    }

    pub async fn cancel(&self, username: Arc<str>) -> Result<Answer, ShuttingDown> {
        self.ask(|reply| Call::Cancel { username, reply }).await
    }

    /// "I'm back" after staff could not find the student.
    pub async fn back(&self, username: Arc<str>) -> Result<Answer, ShuttingDown> {
        self.ask(|reply| Call::Back { username, reply }).await
    }

    /// The student joins `staff`'s help, open to others.
    pub async fn join_group(
        &self,
        username: Arc<str>,
        staff: String,
    ) -> Result<Answer, ShuttingDown> {
        self.ask(|reply| Call::JoinGroup {
            username,
            staff,
            reply,
        })
        .await
    }

    /// Changes a waiting student's question, keeping their place. The
    /// request's code is not asked for: they are in line already.
    pub async fn edit_question(
        &self,
        username: Arc<str>,
        request: JoinRequest,
    ) -> Result<Answer, ShuttingDown> {
        self.ask(|reply| Call::EditQuestion {
            username,
            request,
            reply,
        })
        .await
    }

    /// The student read message `id`. Does not wait.
    pub async fn message_read(&self, username: Arc<str>, id: u64) {
        let _ = self.calls.send(Call::MessageRead { username, id }).await;
    }

    /// The student's one answer to message `id`.
    pub async fn answer_message(
        &self,
        username: Arc<str>,
        id: u64,
        text: String,
    ) -> Result<Answer, ShuttingDown> {
        self.ask(|reply| Call::AnswerMessage {
            username,
            id,
            text,
            reply,
        })
        .await
    }

    // --- staff ----------------------------------------------------------------

    /// Carries out `request` for `acting`, whom the caller found to be staff.
    pub async fn staff(&self, acting: Acting, request: StaffRequest) -> StaffOutcome {
        self.ask(|reply| Call::Staff {
            acting,
            request,
            reply,
        })
        .await
        .unwrap_or_else(|ShuttingDown| StaffOutcome::Failed {
            reason: ShuttingDown.to_string(),
        })
    }

    /// The staff view as of now: every call sent before this one shows.
    /// (The watch from [`Self::staff_views`] may still be publishing.)
    pub async fn staff_view(&self) -> Result<StaffView, ShuttingDown> {
        self.ask(|reply| Call::StaffView { reply }).await
    }

    /// The latest staff view; changes after every change staff would see.
    pub fn staff_views(&self) -> watch::Receiver<Arc<StaffView>> {
        self.staff_views.clone()
    }

    /// Changes when the staff list may have changed (before the staff view
    /// that follows it): when a staff screen should check its right again.
    pub(crate) fn staff_list_changes(&self) -> watch::Receiver<u64> {
        self.staff_list.clone()
    }

    /// `view` as a frame, encoded once for every staff screen (by the owner
    /// when it published `view`).
    pub(crate) fn staff_frame(
        &self,
        view: &Arc<StaffView>,
    ) -> Result<Arc<[u8]>, jqueue_shared::FrameError> {
        self.staff_frames.frame(view)
    }

    /// Makes the owner panic, as a bug would.
    #[cfg(test)]
    pub(crate) async fn crash(&self) {
        let _ = self.calls.send(super::Call::Crash).await;
    }
}
