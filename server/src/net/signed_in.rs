//! A signed-in connection: attaching it to the queue, its loop (views and
//! notices out, requests in, heartbeats), and the staff feed with the
//! staff right checked again whenever the staff list may have changed.

#[allow(clippy::wildcard_imports)]
use super::*;

use crate::metrics::ConnectionKind;

impl Handler {
    /// Attaches a signed-in student to the queue, or a follower alongside
    /// them, and tells the client.
    pub(super) async fn attach(
        &mut self,
        username: String,
        token: Option<SessionToken>,
        origin: String,
        follower: bool,
    ) -> HandlerResult<SignIn> {
        let username: Arc<str> = username.into();
        if self.queue.is_none() {
            if !Box::pin(self.pick_queue(&username, follower)).await? {
                return Ok(SignIn::Close);
            }
            // Signed in before a queue was chosen, the accounts told no
            // course's pane (see `accounts::is_failure`): the queue chosen
            // is told now. (With one queue the accounts told it.)
            if !follower && self.shared.handle.queues.len() > 1 {
                let line = crate::queue::AccountEvent::Activity {
                    kind: jqueue_shared::staff::ActivityKind::SignedIn {
                        username: username.to_string(),
                        origin: origin.clone(),
                    },
                    peer: None,
                };
                self.handle().queue().account_events(vec![line]).await;
            }
        }
        if self.staff_screen
            && !follower
            && !self
                .handle()
                .is_staff(&username, self.by_os_account())
                .await?
        {
            self.send_last(&ServerMsg::NotStaff {
                username: username.to_string(),
            })
            .await?;
            return Ok(SignIn::Close);
        }
        let connection = Connection {
            username: username.clone(),
            id: self.conn,
            peer: self.peer.key_addr(),
            origin,
            by_os_account: self.by_os_account(),
            token,
            notices: self.outbox.clone(),
        };
        let refusal = self.join(connection, follower).await?;
        if let Some(refusal) = refusal {
            self.send_last(&ServerMsg::SignIn(refusal)).await?;
            return Ok(SignIn::Close);
        }
        let welcome = ServerMsg::SignIn(match token {
            Some(token) => SignInResult::Success {
                username: username.to_string(),
                token,
            },
            None => SignInResult::SignedInAsAccount {
                username: username.to_string(),
            },
        });
        let told = match self.send(&welcome).await {
            Ok(()) if self.staff_screen && !follower => self.watch_staff(&username).await,
            told => told,
        };
        if let Err(e) = told {
            // It pushed out the screen before it: there is none now.
            if !follower && !self.staff_screen {
                let me = crate::share::Party::Connection(self.conn);
                self.shared.handle.shares.screen_closed(&username, me);
            }
            // Attached but never told: the queue must not count them online.
            if follower {
                self.handle().unfollow(username, self.conn).await;
            } else {
                self.detach(username).await;
            }
            return Err(e);
        }
        Ok(SignIn::Done {
            username,
            token,
            follower,
        })
    }

    /// Attaches `connection` to the queue (or, a `follower`, alongside the
    /// student), or says why not. The student's own screen (neither a
    /// follower nor a staff screen) is where a staff member's ask to view
    /// their terminal, and who views it, are shown: it is theirs in the share
    /// registry before it pushes out the one before it, so that one's
    /// going ends no view of their terminal (it is told what the old one
    /// was once welcomed); refused, it gives the registry back.
    async fn join(
        &self,
        connection: Connection,
        follower: bool,
    ) -> HandlerResult<Option<SignInResult>> {
        let own_screen = !follower && !self.staff_screen;
        let username = connection.username.clone();
        let shares = self.shared.handle.shares.clone();
        let me = crate::share::Party::Connection(self.conn);
        if own_screen {
            shares.screen_signing_in(&username, self.share_endpoint());
        }
        let outcome = if follower {
            self.handle().follow(connection).await
        } else {
            self.handle().attach(connection).await
        };
        let refusal = match outcome {
            Ok(AttachOutcome::Attached) => None,
            Ok(AttachOutcome::ServerFull) => Some(SignInResult::ServerFull),
            Ok(AttachOutcome::HostFull) => Some(SignInResult::HostFull),
            Ok(AttachOutcome::NotOnRoster) => Some(SignInResult::NotOnRoster {
                username: username.to_string(),
                course: self.handle().queue_config().course.clone(),
            }),
            Err(e) => {
                if own_screen {
                    shares.screen_refused(&username, me);
                }
                return Err(e.into());
            }
        };
        if refusal.is_some() && own_screen {
            shares.screen_refused(&username, me);
        }
        Ok(refusal)
    }

    /// A signed-in account that chose no queue, on a server of several:
    /// the queues of its own courses (staff: those it staffs, for the staff
    /// screen), one taken at once, several offered ([`ServerMsg::Queues`])
    /// and the answer awaited for as long as the client's heartbeat goes on
    /// (a follower is offered nothing: see below). `false`: none of them,
    /// or the client went silent; the connection closes.
    async fn pick_queue(&mut self, username: &Arc<str>, follower: bool) -> HandlerResult<bool> {
        let staff_screen = self.staff_screen && !follower;
        let by_os_account = self.by_os_account();
        let mut choices = Vec::new();
        for index in 0..self.shared.handle.queue_configs().count() {
            let queue = self.shared.handle.on_queue(index);
            let allowed = if staff_screen {
                queue.is_staff(username, by_os_account).await?
            } else {
                queue.may_use(username, by_os_account).await?
            };
            if allowed {
                choices.push((index, crate::staff_feed::queue_choice(&queue)));
            }
        }
        match choices.as_slice() {
            [] => {
                let refusal = if staff_screen {
                    ServerMsg::NotStaff {
                        username: username.to_string(),
                    }
                } else {
                    ServerMsg::SignIn(SignInResult::NotOnRoster {
                        username: username.to_string(),
                        course: "any course on this server".to_owned(),
                    })
                };
                self.send_last(&refusal).await?;
                return Ok(false);
            }
            [(index, _)] => {
                let index = *index;
                self.queue_chosen(index).await?;
                return Ok(true);
            }
            // A follower (`jqueue status`) asks nobody: it follows the
            // first place the student has, and is told of the others
            // (`ServerMsg::Elsewhere`); with none, the first queue.
            [(first, _), ..] if follower => {
                let key = StudentKey::of(username);
                let queues = &self.shared.handle.queues;
                let index = choices
                    .iter()
                    .map(|(i, _)| *i)
                    .find(|&i| queues[i].snapshots.borrow().has_place(key))
                    .unwrap_or(*first);
                self.queue_chosen(index).await?;
                return Ok(true);
            }
            _ => {}
        }
        let queues = choices.iter().map(|(_, choice)| choice.clone()).collect();
        self.send(&ServerMsg::Queues { queues }).await?;
        // Signed in: the student may take as long as their client is alive
        // (its heartbeats keep the choice open), not the sign-in's time.
        let patience = self.shared.config.idle_timeout;
        loop {
            let deadline = Instant::now() + patience;
            let msg = match timeout_at(deadline, self.reader.read_frame::<ClientMsg>()).await {
                Ok(Ok(Some(msg))) => msg,
                Ok(Ok(None)) => return Ok(false),
                Ok(Err(e)) => return Err(e.into()),
                Err(_) => {
                    self.send_last(&ServerMsg::ProtocolError(ProtocolError::TimedOut))
                        .await?;
                    return Ok(false);
                }
            };
            match msg {
                ClientMsg::Ping { nonce } => self.send(&ServerMsg::Pong { nonce }).await?,
                ClientMsg::Pong { .. } => {}
                ClientMsg::ChooseQueue { name: Some(name) } => {
                    let picked = self.shared.handle.find_queue(Some(&name)).ok();
                    if let Some(index) = picked.filter(|i| choices.iter().any(|(c, _)| c == i)) {
                        self.queue_chosen(index).await?;
                        return Ok(true);
                    }
                    let names: Vec<&str> = choices.iter().map(|(_, c)| c.name.as_str()).collect();
                    let reason = format!("no queue {name} for you here: {}", names.join(", "));
                    self.send_last(&ServerMsg::NoSuchQueue { reason }).await?;
                    return Ok(false);
                }
                _ => {
                    self.send_last(&ServerMsg::ProtocolError(ProtocolError::Unexpected))
                        .await?;
                    return Ok(false);
                }
            }
        }
    }

    /// The signed-in conversation: requests in; answers, notices and views
    /// the fan-out could not finish out.
    pub(super) async fn serve_student(
        &mut self,
        username: &Arc<str>,
        token: Option<SessionToken>,
        follower: bool,
    ) -> HandlerResult<()> {
        let key = StudentKey::of(username);
        self.student = Some(key);
        if !follower {
            // A question may now carry its context; before sign-in, and
            // for a follower (which may send nothing but heartbeats), the
            // smaller limit stands.
            self.reader.set_limit(MAX_SIGNED_IN_FRAME_LEN);
        }
        self.fanout()
            .subscribe(self.conn, username.clone(), key, self.outbox.clone());
        if !follower && !self.staff_screen {
            // Welcomed: the student's own screen may now be told of asks
            // and views (see `attach`).
            let screen = self.share_endpoint();
            self.shared.handle.shares.screen_opened(username, screen);
        }
        // Where else the student waits comes first: a status line gives
        // every place at the first view.
        Box::pin(self.look_elsewhere(key, username)).await?;
        // Send the current view straight away; from now on the fan-out sends
        // each new one.
        self.outbox.owe_view();
        Box::pin(self.flush()).await?;
        let interval = self.shared.config.heartbeat_interval;
        let mut heartbeat = tokio::time::interval_at(Instant::now() + interval, interval);
        let mut last_heard = Instant::now();
        let mut nonce = 0u64;
        let mut staff_list = self.handle().staff_list_changes();
        staff_list.borrow_and_update();
        // Made once, not on every wake-up: re-registering a waiter on the
        // shutdown channel each time is measurable when thousands are woken.
        let mut shutdown = self.shutdown.clone();
        let stopping = async move {
            shutdown.requested().await;
        };
        tokio::pin!(stopping);
        loop {
            let event = tokio::select! {
                // What is owed to the student first; the rare shutdown next.
                biased;
                () = self.outbox.woken() => StudentEvent::Outgoing,
                () = &mut stopping => StudentEvent::ShuttingDown,
                frame = self.reader.read_frame::<ClientMsg>() => StudentEvent::Frame(frame?),
                _ = heartbeat.tick() => StudentEvent::Heartbeat,
                Ok(()) = changed(self.staff.as_mut()) => StudentEvent::StaffView,
                () = elsewhere::changed_elsewhere(self.elsewhere.as_mut()) => StudentEvent::Elsewhere,
            };
            match event {
                // The rare events' futures are boxed: a task is as large as
                // its largest await point, and a student spends nearly all
                // their time idle in the `select!` above (see `Handler::run`).
                StudentEvent::ShuttingDown => {
                    return Box::pin(self.send_last(&ServerMsg::ShuttingDown)).await;
                }
                StudentEvent::Outgoing => self.flush().await?,
                StudentEvent::Frame(frame) => {
                    last_heard = Instant::now();
                    let Some(msg) = frame else { return Ok(()) };
                    if follower && msg == ClientMsg::OfferShare {
                        // `jqueue share` follows so as not to push out the
                        // student's screen; from now on it is a share.
                        return Box::pin(self.serve_share(username)).await;
                    }
                    let may = matches!(
                        msg,
                        ClientMsg::Ping { .. } | ClientMsg::Pong { .. } | ClientMsg::Logout
                    );
                    if follower && !may {
                        // A follower watches; it may not act as the student
                        // (but it may sign this machine out: `jqueue logout`).
                        return Box::pin(
                            self.send_last(&ServerMsg::ProtocolError(ProtocolError::Unexpected)),
                        )
                        .await;
                    }
                    if !Box::pin(self.request(username, token, msg)).await? {
                        return Ok(());
                    }
                    // A join or a move here may have ended a place elsewhere.
                    Box::pin(self.look_elsewhere(key, username)).await?;
                }
                StudentEvent::StaffView => {
                    // Checked again whenever the staff list may have changed
                    // (the queue's owner says so before the view that follows), so
                    // not one more view reaches an account just taken off
                    // the staff; not asked before every view, which cost
                    // every staff screen a call per change.
                    if staff_list.has_changed().unwrap_or(true) {
                        staff_list.borrow_and_update();
                        if !Box::pin(self.still_staff(username)).await? {
                            continue;
                        }
                    }
                    Box::pin(self.send_staff_view()).await?;
                }
                StudentEvent::Elsewhere => Box::pin(self.tell_elsewhere(key, username)).await?,
                StudentEvent::Heartbeat => {
                    if last_heard.elapsed() >= self.shared.config.idle_timeout {
                        tracing::info!(peer = %self.peer, %username, "no heartbeat: dropping connection");
                        return Ok(());
                    }
                    // A quiet queue publishes nothing: a staff screen whose
                    // right went (`staff remove`, the group) is told here.
                    if self.staff.is_some() {
                        Box::pin(self.still_staff_of_followed(username)).await?;
                    }
                    Box::pin(self.look_elsewhere(key, username)).await?;
                    nonce += 1;
                    Box::pin(self.send(&ServerMsg::Ping { nonce })).await?;
                }
            }
        }
    }

    /// The heartbeat's check of a staff screen's right: only the courses of
    /// the queues it follows (one call each, not one per course on the
    /// server), and the full look ([`Self::still_staff`]) when one of them
    /// was lost. Queues gained show with the next change of the staff list.
    async fn still_staff_of_followed(&mut self, username: &Arc<str>) -> HandlerResult<bool> {
        let Some(feed) = self.staff.as_ref() else {
            return Ok(true);
        };
        let handle = &self.shared.handle;
        let mut checked: Vec<&str> = Vec::new();
        for &index in feed.followed() {
            let queue = handle.on_queue(index);
            let course = handle.queues[index].config.course_id.as_str();
            if checked.contains(&course) {
                continue;
            }
            checked.push(course);
            if !queue.is_staff(username, self.by_os_account()).await? {
                return Box::pin(self.still_staff(username)).await;
            }
        }
        Ok(true)
    }

    /// Whether the staff screen on this connection may go on: if its
    /// account is no longer staff of any queue, the feed ends and the
    /// screen is told with [`ServerMsg::NotStaff`] (it shows `NAME is not
    /// staff on this server`); if it lost or gained some of its queues,
    /// the feed follows the queues it has now.
    pub(super) async fn still_staff(&mut self, username: &Arc<str>) -> HandlerResult<bool> {
        let queues = self.staffed_queues(username).await?;
        if let Some(feed) = self.staff.as_mut()
            && !queues.is_empty()
        {
            if feed.follows(&queues) {
                return Ok(true);
            }
            // The queue shown stays shown if it is still theirs.
            let shown = feed.shown_index().unwrap_or(queues[0]);
            let mut fresh = StaffFeed::new(&self.shared.handle, queues, shown);
            if feed.shown_index().is_none() {
                fresh.show(None);
            }
            self.staff = Some(Box::new(fresh));
            Box::pin(self.send_staff_view()).await?;
            return Ok(true);
        }
        self.staff = None;
        tracing::info!(%username, "no longer staff: their staff screen is closed");
        self.send(&ServerMsg::NotStaff {
            username: username.to_string(),
        })
        .await?;
        Ok(false)
    }

    /// The queues `username` is staff of (places in the server's list, in
    /// its order): asked once per course, since staff are per course.
    async fn staffed_queues(&self, username: &str) -> HandlerResult<Vec<usize>> {
        let by_os_account = self.by_os_account();
        let mut courses: Vec<(&str, bool)> = Vec::new();
        let mut queues = Vec::new();
        for (index, config) in self.shared.handle.queue_configs().enumerate() {
            let known = courses.iter().find(|(c, _)| *c == config.course_id);
            let staffed = if let Some(&(_, staffed)) = known {
                staffed
            } else {
                let queue = self.shared.handle.on_queue(index);
                let staffed = queue.is_staff(username, by_os_account).await?;
                courses.push((&config.course_id, staffed));
                staffed
            };
            if staffed {
                queues.push(index);
            }
        }
        Ok(queues)
    }

    /// Shows another of the staff screen's queues, or all of them
    /// ([`ClientMsg::ShowQueue`]); a queue the screen does not follow is
    /// ignored (the screen only offers those on its bar).
    pub(super) async fn show_queue(&mut self, queue: Option<String>) -> HandlerResult<()> {
        let Some(feed) = self.staff.as_mut() else {
            return Ok(());
        };
        if feed.show_named(queue.as_deref()) {
            self.send_staff_view().await?;
        }
        Ok(())
    }

    /// Opens the staff screen on this connection: the view now and after
    /// every change, or `NotStaff`.
    pub(super) async fn watch_staff(&mut self, username: &str) -> HandlerResult<()> {
        if self
            .handle()
            .is_staff(username, self.by_os_account())
            .await?
        {
            // The published view already shows every staff request this
            // account has had an answer to: the owner answers those only
            // after publishing the view of their burst.
            let queues = self.staffed_queues(username).await?;
            let shown = self.handle().queue_index();
            self.staff = Some(Box::new(StaffFeed::new(&self.shared.handle, queues, shown)));
            self.slot.counts_as(ConnectionKind::Staff);
            self.send_staff_view().await
        } else {
            self.send(&ServerMsg::NotStaff {
                username: username.to_owned(),
            })
            .await
        }
    }
}
