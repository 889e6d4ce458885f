//! The one typed API to the server's state: [`ServerHandle`].
//!
//! Every caller — a student's connection, a TA's connection, the professor's
//! screen, the headless console, tests — reaches the state through these
//! methods and nothing else. Behind them are the owner tasks (the accounts'
//! [`AccountsHandle`] and the queue's [`QueueHandle`]) and the lookups that
//! must not run on an owner ([`Membership`]: the roster and the staff
//! group). This is where they are put together: a connection signs in with
//! the accounts, and is then attached to its queue; a staff request is
//! checked against the staff list and the group, then carried out by the
//! queue's owner.
//!
//! The handle trusts its caller about *who* is asking (the network layer
//! passes the name a connection signed in as); it checks everything else,
//! including whether that name is staff and on the roster.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use jqueue_shared::staff::{StaffOutcome, StaffRequest, StaffView};
use jqueue_shared::{AccountStatus, RequestResult, SessionToken};
use tokio::sync::watch;

use crate::config::ServerConfig;
use crate::department::QueueNotFound;
use jqueue_core::view::QueueSnapshot;

use crate::accounts::{
    AccountSignIn, AccountsHandle, LoginGate, Membership, RegisterGate, RegisterOutcome, Resumed,
    Unavailable,
};
use crate::owners::ShuttingDown;
use crate::peer_log::PeerLog;
use crate::queue::{Acting, Answer, AttachOutcome, Connection, JoinRequest, QueueHandle};

/// A place that moved out, as a join that puts it back where it was: its
/// question, host and join time, in the room (it was admitted there).
fn put_back(entry: &jqueue_core::queue::Entry) -> JoinRequest {
    JoinRequest {
        description: entry.description.to_string(),
        location: entry.location.to_string(),
        tag: entry.tag.as_deref().map(str::to_owned),
        code: None,
        in_room: true,
        host: entry.host.to_string(),
        peer: IpAddr::from([127, 0, 0, 1]),
        context: None,
        moving: false,
        kept_join_time: Some(entry.joined_at),
    }
}

/// An answer from the accounts, or why there is none: the server is
/// stopping, or the step could not be completed now.
type AccountAnswer<T> = Result<Result<T, Unavailable>, ShuttingDown>;

/// One queue the server runs: its settings, its owner, and the snapshots
/// its students' fan-out writes.
#[derive(Debug)]
pub(crate) struct QueueSlot {
    pub config: Arc<ServerConfig>,
    pub handle: QueueHandle,
    pub snapshots: watch::Receiver<Arc<QueueSnapshot>>,
}

/// The handle every caller uses. Cheap to clone. It acts on one queue at a
/// time (the first, unless [`Self::on_queue`] picked another): a
/// connection's handle is on the queue its student chose.
#[derive(Debug, Clone)]
pub struct ServerHandle {
    pub(crate) accounts: AccountsHandle,
    pub(crate) queues: Arc<[QueueSlot]>,
    /// The queue this handle acts on: an index into `queues`.
    pub(crate) at: usize,
    /// No queue is chosen yet (a connection that is signing in on a
    /// server of several): a name is on the roster, or staff, if it is for
    /// any course. Queue requests go to `at` all the same.
    pub(crate) unchosen: bool,
    pub(crate) membership: Arc<Membership>,
    pub(crate) peer_log: PeerLog,
    /// The server's clock, for a screen in the same process.
    pub(crate) clock: crate::clock::Clock,
    pub(crate) shutdown: crate::shutdown::ShutdownSwitch,
    /// The server's counters, for `/metrics` ([`crate::metrics::render`]).
    pub(crate) metrics: Arc<crate::metrics::Metrics>,
    /// Students' terminals shared (`jqueue share`) and who views them.
    pub(crate) shares: Arc<crate::share::Shares>,
}

impl ServerHandle {
    // --- the queues -----------------------------------------------------------

    /// The same handle, acting on the queue at `index` (of
    /// [`Self::queue_configs`]).
    #[must_use]
    pub fn on_queue(&self, index: usize) -> Self {
        assert!(index < self.queues.len(), "no queue {index}");
        Self {
            at: index,
            unchosen: false,
            accounts: self.accounts.on_queue(Some(index)),
            ..self.clone()
        }
    }

    /// The same handle, for a connection that has chosen no queue yet:
    /// its sign-in is checked against every course.
    #[must_use]
    pub fn unchosen(&self) -> Self {
        Self {
            unchosen: true,
            accounts: self.accounts.on_queue(None),
            ..self.clone()
        }
    }

    /// The distinct course ids this handle checks a name against: its
    /// queue's, or every course's until a queue is chosen.
    fn courses(&self) -> Vec<String> {
        if !self.unchosen {
            return vec![self.queue_config().course_id.clone()];
        }
        let mut ids: Vec<String> = self.queue_configs().map(|q| q.course_id.clone()).collect();
        ids.dedup();
        ids
    }

    /// The server's counters ([`crate::metrics`]).
    pub fn metrics(&self) -> &Arc<crate::metrics::Metrics> {
        &self.metrics
    }

    /// Every queue's settings, in the config's order.
    pub fn queue_configs(&self) -> impl Iterator<Item = &Arc<ServerConfig>> {
        self.queues.iter().map(|slot| &slot.config)
    }

    /// Which queue this handle acts on: its place in [`Self::queue_configs`].
    pub fn queue_index(&self) -> usize {
        self.at
    }

    /// The settings of the queue this handle acts on.
    pub fn queue_config(&self) -> &Arc<ServerConfig> {
        &self.queues[self.at].config
    }

    /// Whether `username` (signed in, `by_os_account` or not) may join this
    /// handle's queue: on its course's roster, or staff of the course.
    pub(crate) async fn may_use(
        &self,
        username: &str,
        by_os_account: bool,
    ) -> Result<bool, ShuttingDown> {
        Ok(matches!(
            self.may_sign_in(username, by_os_account, None).await?,
            Ok(true)
        ))
    }

    /// The queue `name` names (`COURSE/QUEUE`, or a course with one
    /// queue); no name: the only queue, if there is only one.
    pub fn find_queue(&self, name: Option<&str>) -> Result<usize, QueueNotFound> {
        let configs: Vec<Arc<ServerConfig>> = self.queue_configs().cloned().collect();
        crate::department::find_queue(&configs, name)
    }

    pub(crate) fn queue(&self) -> &QueueHandle {
        &self.queues[self.at].handle
    }

    // --- signing in -----------------------------------------------------------

    /// Whether `username` may create an account or sign in: on the roster,
    /// or staff (TAs need not be on the students' roster). `before_sign_in`:
    /// the address of a peer that has not signed in yet, whose group
    /// lookups are limited.
    async fn may_sign_in(
        &self,
        username: &str,
        by_os_account: bool,
        before_sign_in: Option<IpAddr>,
    ) -> AccountAnswer<bool> {
        for course in self.courses() {
            match self
                .membership
                .on_roster(&course, username, before_sign_in)
                .await
            {
                Ok(true) => return Ok(Ok(true)),
                Ok(false) => {}
                Err(too_many) => return Ok(Err(too_many.into())),
            }
        }
        Ok(Ok(self.is_staff(username, by_os_account).await?))
    }

    /// Whether `username` has a password (`Known`) or must set one (`New`),
    /// asked from `peer` before it has signed in.
    pub async fn account_status(
        &self,
        username: String,
        peer: SocketAddr,
    ) -> AccountAnswer<AccountStatus> {
        match self.may_sign_in(&username, false, Some(peer.ip())).await? {
            Ok(true) => self.accounts.account_status(username).await,
            Ok(false) => Ok(Ok(AccountStatus::NotOnRoster)),
            Err(e) => Ok(Err(e)),
        }
    }

    /// Starts a password check: the stored hash, or how long to wait first.
    pub async fn begin_login(
        &self,
        username: String,
        peer: SocketAddr,
    ) -> AccountAnswer<LoginGate> {
        self.accounts.begin_login(username, peer).await
    }

    /// Ends a password check begun with [`Self::begin_login`]: a token when
    /// `success`, `None` when the password was wrong.
    pub async fn finish_login(
        &self,
        username: String,
        peer: SocketAddr,
        success: bool,
    ) -> AccountAnswer<Option<SessionToken>> {
        self.accounts.finish_login(username, peer, success).await
    }

    /// Checks, before any hashing, that `username` may be signed up:
    /// it has no password and, if it was reset, `reset_code` (the digest of
    /// the typed code) is its live code. Wrong codes count as failed
    /// sign-ins for the back-off.
    pub async fn begin_register(
        &self,
        username: String,
        peer: SocketAddr,
        reset_code: Option<[u8; 32]>,
    ) -> AccountAnswer<RegisterGate> {
        self.accounts
            .begin_register(username, peer, reset_code)
            .await
    }

    /// Creates the account (or sets a reset account's new password), if the
    /// name is on the roster.
    pub async fn register(
        &self,
        username: String,
        peer: SocketAddr,
        password_phc: String,
        reset_code: Option<[u8; 32]>,
    ) -> AccountAnswer<RegisterOutcome> {
        match self.may_sign_in(&username, false, Some(peer.ip())).await? {
            Ok(true) => {
                self.accounts
                    .register(username, peer, password_phc, reset_code)
                    .await
            }
            Ok(false) => Ok(Ok(RegisterOutcome::NotOnRoster)),
            Err(e) => Ok(Err(e)),
        }
    }

    /// The account a live token belongs to. A `follower` (`jqueue status`)
    /// is not a sign-in: it is neither noted as the account's last sign-in
    /// nor shown in the activity pane, which a status bar asking every few
    /// seconds would otherwise fill.
    pub async fn resume(
        &self,
        token: SessionToken,
        peer: SocketAddr,
        follower: bool,
    ) -> AccountAnswer<Resumed> {
        self.accounts.resume(token, peer, follower).await
    }

    /// Signs in `username`, the OS account the kernel named for a
    /// connection on the Unix socket: no password, and an account made the
    /// first time (see [`crate::store::Store::ensure_account`]), if the name
    /// is on the roster. `origin` says how they came in, for staff; a
    /// `follower` is not recorded, as for [`Self::resume`].
    pub async fn sign_in_as_account(
        &self,
        username: String,
        origin: String,
        follower: bool,
    ) -> AccountAnswer<AccountSignIn> {
        // The kernel named the account: its lookups are not an outsider's.
        match self.may_sign_in(&username, true, None).await? {
            Ok(true) => {
                self.accounts
                    .sign_in_as_account(username, origin, follower)
                    .await
            }
            Ok(false) => Ok(Ok(AccountSignIn::NotOnRoster)),
            Err(e) => Ok(Err(e)),
        }
    }

    /// Revokes a token, and ends the screen that signed in with it. Does
    /// not wait for the answer.
    pub async fn logout(&self, token: SessionToken) {
        self.accounts.logout(token).await;
    }

    // --- presence -----------------------------------------------------------

    /// Counts a signed-in connection online; an older connection of the same
    /// account is told it signed in elsewhere.
    pub async fn attach(&self, connection: Connection) -> Result<AttachOutcome, ShuttingDown> {
        let (username, by_os_account) = (connection.username.clone(), connection.by_os_account);
        if !matches!(
            self.may_sign_in(&username, by_os_account, None).await?,
            Ok(true)
        ) {
            return Ok(AttachOutcome::NotOnRoster);
        }
        let staff = self.is_staff(&username, by_os_account).await?;
        self.queue().attach(connection, staff).await
    }

    /// The connection `id` of `username` has gone. Does not wait.
    pub async fn detach(&self, username: Arc<str>, id: u64) {
        self.queue().detach(username, id).await;
    }

    /// A connection that only follows where its student stands (`jqueue
    /// status`): it is told what their screen is told of their turn, and
    /// is not them being online.
    pub async fn follow(&self, connection: Connection) -> Result<AttachOutcome, ShuttingDown> {
        let (username, by_os_account) = (connection.username.clone(), connection.by_os_account);
        if !matches!(
            self.may_sign_in(&username, by_os_account, None).await?,
            Ok(true)
        ) {
            return Ok(AttachOutcome::NotOnRoster);
        }
        self.queue().follow(connection).await
    }

    /// The following connection `id` of `username` has gone. Does not wait.
    pub async fn unfollow(&self, username: Arc<str>, id: u64) {
        self.queue().unfollow(username, id).await;
    }

    // --- a student's requests -------------------------------------------------

    /// Joins the queue. `room` is where the connection comes from, as the
    /// network layer found it; `code` the presence code the student gave.
    ///
    /// One place per course: a student waiting in another queue of this
    /// course is told so (`WaitingElsewhere`), and moves here only when the
    /// request says `moving`, keeping the join time they had there. Should
    /// this queue then refuse them, the place goes back where it was.
    pub async fn join(
        &self,
        username: Arc<str>,
        mut request: JoinRequest,
    ) -> Result<Answer, ShuttingDown> {
        let here = crate::department::queue_name(self.queue_config());
        for other in self.course_siblings() {
            let Some(_) = other.queue().move_out(username.clone(), None).await? else {
                continue;
            };
            let there = crate::department::queue_name(other.queue_config());
            if !request.moving {
                return Ok(Answer {
                    result: RequestResult::WaitingElsewhere { queue: there },
                    views_from: 0,
                });
            }
            let Some(entry) = other.queue().move_out(username.clone(), Some(here)).await? else {
                // Served or gone in the meantime: an ordinary join.
                break;
            };
            request.kept_join_time = Some(entry.joined_at);
            let answer = self.queue().join(username.clone(), request).await?;
            let result = match answer.result {
                RequestResult::Joined { position } => RequestResult::Moved {
                    position,
                    from: there,
                },
                refused => {
                    other.queue().join(username, put_back(&entry)).await?;
                    refused
                }
            };
            return Ok(Answer { result, ..answer });
        }
        self.queue().join(username, request).await
    }

    /// The handles of the other queues of this handle's course.
    fn course_siblings(&self) -> impl Iterator<Item = ServerHandle> + '_ {
        let course = &self.queue_config().course_id;
        (0..self.queues.len())
            .filter(move |&i| i != self.at && self.queues[i].config.course_id == *course)
            .map(|i| self.on_queue(i))
    }

    pub async fn cancel(&self, username: Arc<str>) -> Result<Answer, ShuttingDown> {
        self.queue().cancel(username).await
    }

    /// "I'm back" after staff could not find the student.
    pub async fn back(&self, username: Arc<str>) -> Result<Answer, ShuttingDown> {
        self.queue().back(username).await
    }

    /// The student joins `staff`'s help, open to others (`groups = true`).
    pub async fn join_group(
        &self,
        username: Arc<str>,
        staff: String,
    ) -> Result<Answer, ShuttingDown> {
        self.queue().join_group(username, staff).await
    }

    /// Changes a waiting student's question, keeping their place.
    pub async fn edit_question(
        &self,
        username: Arc<str>,
        request: JoinRequest,
    ) -> Result<Answer, ShuttingDown> {
        self.queue().edit_question(username, request).await
    }

    /// The student read message `id`.
    pub async fn message_read(&self, username: Arc<str>, id: u64) {
        self.queue().message_read(username, id).await;
    }

    /// The student's one answer to message `id`.
    pub async fn answer_message(
        &self,
        username: Arc<str>,
        id: u64,
        text: String,
    ) -> Result<Answer, ShuttingDown> {
        self.queue().answer_message(username, id, text).await
    }

    // --- staff ----------------------------------------------------------------

    /// Staff accounts are those named with `jqueue-server staff add` and the
    /// members of `--staff-group`. Checked at every request, so a change takes
    /// effect at once. A lookup that fails is "no". (The professor at the
    /// server's own screen is staff without an account: see
    /// [`Self::professor`]. Their name grants nothing over the network,
    /// where anyone could sign up under it.)
    ///
    /// The group names OS accounts, so it makes staff only a connection
    /// signed in as that OS account (`by_os_account`: on the socket or
    /// through `ssh://`). A password account of the same name over TCP is
    /// whoever registered the name first, and gets nothing from the group.
    /// A name from `staff add` is locked until its person claims it (see
    /// [`crate::store::Store::add_staff_claimed`]), so it holds on any path.
    pub async fn is_staff(
        &self,
        username: &str,
        by_os_account: bool,
    ) -> Result<bool, ShuttingDown> {
        for course in self.courses() {
            if self.accounts.is_listed_staff(username, &course).await?
                || (by_os_account && self.membership.in_staff_group(&course, username).await)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Carries out `request` for the staff account `staff` (a signed-in
    /// connection's account). Refused with [`StaffOutcome::NotStaff`] unless
    /// that account is staff right now.
    pub async fn staff(
        &self,
        staff: &str,
        by_os_account: bool,
        request: StaffRequest,
    ) -> StaffOutcome {
        match self.is_staff(staff, by_os_account).await {
            Ok(true) => {
                self.queue()
                    .staff(Acting::Staff(staff.into()), request)
                    .await
            }
            Ok(false) => {
                tracing::warn!(username = %staff, "staff request from an account that is not staff");
                StaffOutcome::NotStaff {
                    username: staff.to_owned(),
                }
            }
            Err(ShuttingDown) => StaffOutcome::Failed {
                reason: ShuttingDown.to_string(),
            },
        }
    }

    /// Carries out `request` for the professor at the server's own screen or
    /// console, who is staff by running the server (named
    /// [`crate::ServerConfig::professor`]).
    pub async fn professor(&self, request: StaffRequest) -> StaffOutcome {
        self.queue().staff(Acting::Professor, request).await
    }

    /// The professor's screen's end of the relay of students' terminals
    /// (`v`): it asks, views and stops as the professor.
    pub fn share_viewer(&self) -> crate::share::OwnScreenViewer {
        crate::share::OwnScreenViewer::new(self.clone())
    }

    /// The staff view as of now: every call sent before this one shows.
    /// (The watch from [`Self::staff_views`] may still be publishing.)
    pub async fn staff_view(&self) -> Result<StaffView, ShuttingDown> {
        self.queue().staff_view().await
    }

    /// The latest staff view; changes after every change staff would see.
    pub fn staff_views(&self) -> watch::Receiver<Arc<StaffView>> {
        self.queue().staff_views()
    }

    /// Changes when the staff list may have changed (before the staff view
    /// that follows it): when a staff screen should check its right again.
    pub(crate) fn staff_list_changes(&self) -> watch::Receiver<u64> {
        self.queue().staff_list_changes()
    }

    /// `view` as a frame, encoded once for every staff screen.
    pub(crate) fn staff_frame(
        &self,
        view: &Arc<StaffView>,
    ) -> Result<Arc<[u8]>, jqueue_shared::FrameError> {
        self.queue().staff_frame(view)
    }

    // --- the server -----------------------------------------------------------

    /// Makes a change `jqueue-server users|staff` asked for while this
    /// server runs ([`crate::control`]).
    pub(crate) async fn control(
        &self,
        request: crate::control::ControlRequest,
    ) -> crate::control::ControlAnswer {
        // The command line's changes are the whole server's.
        self.accounts
            .on_queue(None)
            .control(request)
            .await
            .unwrap_or_else(|e| crate::control::ControlAnswer::Failed(e.to_string()))
    }

    /// The server's time of day ([`crate::clock::Clock`]): what a screen in
    /// the same process sets its clocks by.
    pub fn now_ms(&self) -> jqueue_core::queue::UnixMillis {
        self.clock.now_ms()
    }

    /// The one per-address limit on log lines peers cause.
    pub(crate) fn peer_log(&self) -> &PeerLog {
        &self.peer_log
    }

    /// Asks the server to shut down gracefully: every student is told.
    pub fn shutdown(&self) {
        self.shutdown.request();
    }

    /// What a task waits on to learn the server is stopping.
    pub(crate) fn shutdown_signal(&self) -> crate::shutdown::Shutdown {
        self.shutdown.subscribe()
    }
}

#[cfg(test)]
impl ServerHandle {
    /// `name` joins this queue from a lab machine in the room, with
    /// nothing attached, and is in line: the owners' tests' student.
    pub(crate) async fn join_from_the_lab(&self, name: &str) {
        let request = crate::queue::JoinRequest {
            description: "help".into(),
            location: "lab".into(),
            tag: None,
            code: None,
            in_room: true,
            host: "lab".into(),
            peer: std::net::Ipv4Addr::LOCALHOST.into(),
            context: None,
            moving: false,
            kept_join_time: None,
        };
        let answer = self.join(Arc::from(name), request).await.unwrap();
        assert!(
            matches!(answer.result, jqueue_shared::RequestResult::Joined { .. }),
            "{:?}",
            answer.result
        );
    }
}
