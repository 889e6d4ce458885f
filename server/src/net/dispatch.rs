//! One request from a signed-in student or staff member: what it asks of
//! the queue's owner, and its answer sent ahead of the views it caused.

#[allow(clippy::wildcard_imports)]
use super::*;

impl Handler {
    /// Handles one request from a signed-in student; `false` closes the connection.
    pub(super) async fn request(
        &mut self,
        username: &Arc<str>,
        token: Option<SessionToken>,
        msg: ClientMsg,
    ) -> HandlerResult<bool> {
        let username = username.clone();
        match msg {
            ClientMsg::AskForHelp {
                description,
                location,
                code,
                context,
                moving,
                tag,
            } => {
                let mut request = self.question(description, location, code, context).await;
                request.moving = moving;
                request.tag = tag;
                let result = self.handle().join(username, request).await?;
                self.answer(result).await?;
            }
            ClientMsg::EditQuestion {
                description,
                location,
                tag,
            } => {
                // An edit changes the text and the tag; the context asked
                // with stays.
                let mut request = self.question(description, location, None, None).await;
                request.tag = tag;
                let result = self.handle().edit_question(username, request).await?;
                self.answer(result).await?;
            }
            ClientMsg::MessageRead { id } => self.handle().message_read(username, id).await,
            ClientMsg::AnswerMessage { id, text } => {
                self.outbox.hold_views();
                let result = self.handle().answer_message(username, id, text).await?;
                self.answer(result).await?;
            }
            ClientMsg::Cancel => {
                self.outbox.hold_views();
                let result = self.handle().cancel(username).await?;
                self.answer(result).await?;
            }
            ClientMsg::Back => {
                self.outbox.hold_views();
                let result = self.handle().back(username).await?;
                self.answer(result).await?;
            }
            ClientMsg::JoinGroup { staff } => {
                self.outbox.hold_views();
                let result = self.handle().join_group(username, staff).await?;
                self.answer(result).await?;
            }
            ClientMsg::WatchStaff => self.watch_staff(&username).await?,
            ClientMsg::Staff { queue, request } => {
                self.staff_request(&username, queue, request).await?;
            }
            ClientMsg::ShowQueue { queue } => self.show_queue(queue).await?,
            msg @ (ClientMsg::ViewShare { .. }
            | ClientMsg::StopViewing
            | ClientMsg::ShareConsent { .. }
            | ClientMsg::StopShare) => self.share_request(&username, msg).await?,
            ClientMsg::Logout => {
                // Signed in by OS account there is no token: the account
                // signs in again by itself, so there is nothing to end.
                if let Some(token) = token {
                    self.handle().logout(token).await;
                }
                return Ok(false);
            }
            ClientMsg::Ping { nonce } => self.send(&ServerMsg::Pong { nonce }).await?,
            ClientMsg::Pong { .. } => {}
            ClientMsg::Hello { .. }
            | ClientMsg::Identify { .. }
            | ClientMsg::Register { .. }
            | ClientMsg::Login { .. }
            | ClientMsg::Resume { .. }
            | ClientMsg::Follow { .. }
            | ClientMsg::SignInAsAccount { .. }
            | ClientMsg::ChooseQueue { .. }
            | ClientMsg::WatchWall { .. }
            | ClientMsg::OfferShare
            | ClientMsg::ShareScreen(_) => {
                self.send_last(&ServerMsg::ProtocolError(ProtocolError::Unexpected))
                    .await?;
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// A staff request, on the queue it names (a row of "all my queues" is
    /// in one) or else the one the screen shows; the queue's handle checks
    /// the right.
    async fn staff_request(
        &mut self,
        username: &Arc<str>,
        queue: Option<String>,
        request: jqueue_shared::staff::StaffRequest,
    ) -> HandlerResult<()> {
        let on = match queue {
            Some(name) => self.shared.handle.find_queue(Some(&name)).ok(),
            None => self
                .staff
                .as_ref()
                .map_or(Some(self.handle().queue_index()), |feed| feed.shown_index()),
        };
        let outcome = match on {
            Some(index) => {
                self.shared
                    .handle
                    .on_queue(index)
                    .staff(username, self.by_os_account(), request)
                    .await
            }
            None => StaffOutcome::Failed {
                reason: "name the queue: this screen shows several".to_owned(),
            },
        };
        self.send(&ServerMsg::StaffOutcome(outcome)).await
    }

    /// A student's question with what this connection knows of where it
    /// comes from; the views it causes are held until it is answered.
    async fn question(
        &mut self,
        description: String,
        location: String,
        code: Option<String>,
        context: Option<Box<jqueue_shared::context::QuestionContext>>,
    ) -> JoinRequest {
        let (in_room, host) = self.room().await;
        self.outbox.hold_views();
        JoinRequest {
            description,
            location,
            tag: None,
            code,
            in_room,
            host,
            peer: self.peer.key(),
            context,
            moving: false,
            kept_join_time: None,
        }
    }

    /// Whether this connection comes from a host its queue's
    /// `--allow-hosts` allows, and its host name (or address, without a
    /// name).
    pub(super) async fn room(&mut self) -> (bool, String) {
        let whence = self.whence().await;
        let in_room = whence.in_room(self.handle().queue_config().allow_hosts.as_ref());
        (in_room, whence.host)
    }

    /// Where this connection comes from. Looked up once per connection,
    /// and only when asked (a question, a wall), through
    /// [`resolve::HostNames`] (its own threads, a timeout, a cache).
    pub(super) async fn whence(&mut self) -> Whence {
        if let Some(whence) = &self.whence {
            return (**whence).clone();
        }
        // Set at sign-in for a peer on the socket (see `sign_in_as_account`).
        let whence = match self.peer {
            Peer::Network(addr) => {
                let ip = addr.ip();
                let name = self.shared.host_names.lookup(ip).await;
                Whence {
                    host: name.clone().unwrap_or_else(|| ip.to_string()),
                    network: Some((ip, name)),
                }
            }
            Peer::Local { .. } => Whence {
                host: local::host_name(),
                network: None,
            },
        };
        self.whence = Some(Box::new(whence.clone()));
        whence
    }

    /// Sends a request's answer, then the views held back while it was
    /// being worked out.
    pub(super) async fn answer(&self, answer: Answer) -> HandlerResult<()> {
        let frame = encode_frame(&ServerMsg::Request(answer.result))?;
        self.outbox.queue_answer(&frame, answer.views_from);
        self.flush().await
    }
}
