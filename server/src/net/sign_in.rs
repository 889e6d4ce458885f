//! A connection before sign-in: the handshake and the sign-in state
//! machine (one arm per sign-in message), under the pre-sign-in timeout and
//! the eviction of the address holding the most pending connections. It
//! decides which way in a message asks for; the ways themselves are in
//! [`super::login`].

#[allow(clippy::wildcard_imports)]
use super::*;

impl Handler {
    /// The handshake and sign-in. The client has `pre_auth_timeout` to finish,
    /// not counting time the server spends hashing.
    #[allow(clippy::too_many_lines)] // one arm per sign-in message reads best as one match
    pub(super) async fn sign_in(&mut self, evicted: &Notify) -> HandlerResult<SignIn> {
        let accepted = Instant::now();
        // A client says hello the moment TLS is up: one that has not within
        // a few seconds is holding a place for nothing.
        let config = &self.shared.config;
        let mut deadline = accepted + config.hello_timeout.min(config.pre_auth_timeout);
        let mut greeted = false;
        loop {
            let event = tokio::select! {
                // Eviction first: a connection shed on arrival must not get
                // its TLS handshake done by a read polled first.
                biased;
                () = evicted.notified() => PreAuthEvent::Evicted,
                () = sleep_until(deadline) => PreAuthEvent::TimedOut,
                () = self.shutdown.requested() => PreAuthEvent::ShuttingDown,
                frame = self.reader.read_frame::<ClientMsg>() => PreAuthEvent::Frame(frame?),
            };
            let msg = match event {
                PreAuthEvent::Frame(Some(msg)) => msg,
                PreAuthEvent::Frame(None) => return Ok(SignIn::Close),
                PreAuthEvent::Evicted => {
                    self.send_last(&ServerMsg::ProtocolError(ProtocolError::Evicted))
                        .await?;
                    return Ok(SignIn::Close);
                }
                PreAuthEvent::TimedOut => {
                    self.send_last(&ServerMsg::ProtocolError(ProtocolError::TimedOut))
                        .await?;
                    return Ok(SignIn::Close);
                }
                PreAuthEvent::ShuttingDown => {
                    self.send_last(&ServerMsg::ShuttingDown).await?;
                    return Ok(SignIn::Close);
                }
            };
            let started = Instant::now();
            if !greeted {
                if !self.handshake(msg).await? {
                    return Ok(SignIn::Close);
                }
                greeted = true;
                self.shared.admission.greeted(self.conn);
                deadline = accepted + self.shared.config.pre_auth_timeout;
                continue;
            }
            if matches!(
                msg,
                ClientMsg::Register { .. }
                    | ClientMsg::Login { .. }
                    | ClientMsg::Resume { .. }
                    | ClientMsg::Follow { .. }
                    | ClientMsg::SignInAsAccount { .. }
            ) {
                // A client that chose no queue is on the server's only
                // one; with several, it chooses once signed in, among its
                // own courses' queues (see `pick_queue`).
                if self.queue.is_none() && self.shared.handle.queue_configs().count() == 1 {
                    self.queue = Some(0);
                }
                // Making progress: never evicted from now on.
                self.shared.admission.committed(self.conn);
            }
            let outcome = match msg {
                ClientMsg::Ping { nonce } => {
                    self.send(&ServerMsg::Pong { nonce }).await?;
                    Verdict::Pending
                }
                ClientMsg::Pong { .. } => Verdict::Pending,
                ClientMsg::Identify { username } => {
                    let status = if !self.takes_passwords() {
                        AccountStatus::PasswordsOff
                    } else if is_valid_username(&username) {
                        let status = self
                            .handle()
                            .account_status(username.clone(), self.peer.key_addr())
                            .await?;
                        let Ok(status) = status else {
                            return Ok(SignIn::Close);
                        };
                        status
                    } else {
                        AccountStatus::InvalidUsername
                    };
                    self.send(&ServerMsg::Identity { username, status }).await?;
                    Verdict::Pending
                }
                ClientMsg::Register { .. }
                | ClientMsg::Login { .. }
                | ClientMsg::Resume { .. }
                | ClientMsg::Follow { .. }
                    if !self.takes_passwords() =>
                {
                    self.send(&ServerMsg::SignIn(SignInResult::PasswordsOff))
                        .await?;
                    Verdict::Pending
                }
                ClientMsg::SignInAsAccount { route, follower } => match self.peer {
                    Peer::Local { uid } => self.sign_in_as_account(uid, route, follower).await?,
                    Peer::Network(_) => {
                        self.send(&ServerMsg::SignIn(SignInResult::NoAccountSignIn))
                            .await?;
                        Verdict::Pending
                    }
                },
                ClientMsg::Register {
                    username,
                    password,
                    reset_code,
                } => self.register(username, password, reset_code).await?,
                ClientMsg::Login { username, password } => self.login(username, password).await?,
                ClientMsg::Resume { token } | ClientMsg::Follow { token } => {
                    let peer = self.peer.key_addr();
                    let follower = matches!(msg, ClientMsg::Follow { .. });
                    let owner = self.handle().resume(token, peer, follower).await?;
                    match owner {
                        Ok(Resumed::Owner(username)) => Verdict::SignedIn {
                            username,
                            token: Some(token),
                            origin: format!("token from {}", peer.ip()),
                            follower,
                        },
                        Ok(Resumed::Rejected) => {
                            self.send(&ServerMsg::SignIn(SignInResult::TokenRejected))
                                .await?;
                            Verdict::Pending
                        }
                        // Never reject a token we could not look up: the
                        // client would throw it away. Too many resumes
                        // lately: the same, so the client reconnects after
                        // its back-off with its token, asking nobody for a
                        // password.
                        Ok(Resumed::TooFast) | Err(_) => Verdict::Unavailable,
                    }
                }
                ClientMsg::WatchStaff => {
                    self.staff_screen = true;
                    Verdict::Pending
                }
                ClientMsg::ChooseQueue { name } => {
                    if !self.choose_queue(name.as_deref()).await? {
                        return Ok(SignIn::Close);
                    }
                    Verdict::Pending
                }
                ClientMsg::WatchWall { queues } => return Box::pin(self.watch_wall(queues)).await,
                ClientMsg::AskForHelp { .. }
                | ClientMsg::EditQuestion { .. }
                | ClientMsg::Cancel
                | ClientMsg::MessageRead { .. }
                | ClientMsg::AnswerMessage { .. }
                | ClientMsg::Back
                | ClientMsg::JoinGroup { .. }
                | ClientMsg::Staff { .. }
                | ClientMsg::ShowQueue { .. }
                | ClientMsg::OfferShare
                | ClientMsg::ShareScreen(_)
                | ClientMsg::ViewShare { .. }
                | ClientMsg::StopViewing
                | ClientMsg::ShareConsent { .. }
                | ClientMsg::StopShare
                | ClientMsg::Logout => {
                    self.send_last(&ServerMsg::ProtocolError(ProtocolError::NotSignedIn))
                        .await?;
                    return Ok(SignIn::Close);
                }
                ClientMsg::Hello { .. } => {
                    self.send_last(&ServerMsg::ProtocolError(ProtocolError::Unexpected))
                        .await?;
                    return Ok(SignIn::Close);
                }
            };
            match outcome {
                Verdict::SignedIn {
                    username,
                    token,
                    origin,
                    follower,
                } => return self.attach(username, token, origin, follower).await,
                Verdict::Unavailable => return Ok(SignIn::Close),
                Verdict::Pending => {}
            }
            deadline += started.elapsed();
        }
    }

    /// Puts this connection on the queue at `index`, and says which.
    pub(super) async fn queue_chosen(&mut self, index: usize) -> HandlerResult<()> {
        self.queue = Some(index);
        let config = self.handle().queue_config().clone();
        self.send(&ServerMsg::QueueChosen {
            name: crate::department::queue_name(&config),
            course: config.course.clone(),
            title: config.queue_title.clone(),
            room: config.room.clone(),
            ready_at: config.ready_at,
            tags: config.tags.clone(),
        })
        .await
    }

    /// Puts this connection on the queue `name` names, and says which (or
    /// that there is none by that name: `false`, the connection closes).
    /// No name, on a server of several: the choice waits for the sign-in.
    pub(super) async fn choose_queue(&mut self, name: Option<&str>) -> HandlerResult<bool> {
        match self.shared.handle.find_queue(name) {
            Ok(index) => {
                self.queue_chosen(index).await?;
                Ok(true)
            }
            // None named on a server of several: chosen once signed in,
            // among the account's own courses' queues (`pick_queue`).
            Err(crate::department::QueueNotFound::NotNamed { .. }) => Ok(true),
            Err(e) => {
                self.send_last(&ServerMsg::NoSuchQueue {
                    reason: e.to_string(),
                })
                .await?;
                Ok(false)
            }
        }
    }

    /// Answers the first message, which must be a `Hello` of our version.
    /// `false` closes the connection.
    pub(super) async fn handshake(&mut self, msg: ClientMsg) -> HandlerResult<bool> {
        let ClientMsg::Hello {
            protocol_version, ..
        } = msg
        else {
            self.send_last(&ServerMsg::ProtocolError(ProtocolError::Unexpected))
                .await?;
            return Ok(false);
        };
        if protocol_version != PROTOCOL_VERSION {
            self.send_last(&ServerMsg::Incompatible {
                server_version: PROTOCOL_VERSION,
            })
            .await?;
            return Ok(false);
        }
        let welcome = ServerMsg::Welcome {
            protocol_version: PROTOCOL_VERSION,
            course: self.shared.config.course.clone(),
            session: self.shared.config.session.clone(),
            ready_at: self.shared.config.ready_at,
        };
        self.send(&welcome).await?;
        Ok(true)
    }
}
