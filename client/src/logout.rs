//! `jqueue logout`: sign this machine out of the server.
//!
//! A student on a shared lab machine must be able to leave nothing behind
//! that signs in as them: the server revokes the stored token and the token
//! file is deleted. It connects as the full client does but never asks
//! anything (an unknown or changed server key is an error, and then nothing
//! is sent). If the server cannot be reached the file is deleted all the
//! same, and the student is told the token stays valid on the server until
//! it expires. On `unix:` and `ssh://` there is no token, anywhere: the
//! account signs in by itself, so there is nothing to sign out and nothing
//! is connected to. This module drives the network task and says what
//! happened; `main` prints it.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::timeout;

use crate::cli::Config;
use crate::net::{self, Backoff, NetCommand, NetConfig, NetEvent, Route};
use crate::status::{Progress, ScreenlessError, StandingTracker};

/// How long a logout waits for the server before signing out locally only.
const PATIENCE: Duration = Duration::from_secs(10);

/// How a logout ended.
#[derive(Debug, PartialEq, Eq)]
pub enum LoggedOut {
    /// The server revoked the token, and the file is gone.
    Everywhere,
    /// The server no longer knew the token; the file is gone.
    AlreadyRevoked,
    /// There was no token for this server and name: nothing to do.
    WasNotSignedIn,
    /// `unix:` or `ssh://`: the account signs in by itself, with no token
    /// to revoke or delete.
    SignsInByAccount,
}

impl LoggedOut {
    /// The line `jqueue logout` prints.
    pub fn sentence(&self, config: &Config) -> String {
        let (server, username) = (&config.server, &config.username);
        match self {
            Self::Everywhere => format!("Signed out of {server} as {username}."),
            Self::AlreadyRevoked => {
                format!(
                    "Signed out of {server} as {username} (the server had already ended that sign-in)."
                )
            }
            Self::WasNotSignedIn => format!("Not signed in to {server} as {username}."),
            Self::SignsInByAccount => format!(
                "Nothing to sign out of on {server}: your account signs you in by itself, \
                 and no sign-in is kept on this machine."
            ),
        }
    }
}

/// Signs out. On an error the token file has been deleted anyway, and the
/// error says why the server could not be told.
pub async fn run(config: &Config) -> Result<LoggedOut, ScreenlessError> {
    let route = Route::for_config(config);
    let Some(tokens) = route.tokens().cloned() else {
        return Ok(LoggedOut::SignsInByAccount);
    };
    if tokens.load(&config.username).is_none() {
        return Ok(LoggedOut::WasNotSignedIn);
    }
    // As a follower: signing out must not first push out the student's
    // open screen as a sign-in would. The server ends that screen itself
    // if it signed in with this token, saying it was a logout.
    let (commands, mut events, task) = net::spawn_follower(NetConfig {
        route,
        username: config.username.clone(),
        backoff: Backoff::default(),
        staff: false,
        queue: config.queue.clone(),
    });
    let server = config.server.to_string();
    let mut tracker = StandingTracker::new(server.clone(), config.username.clone());
    let result = timeout(PATIENCE, until_done(&mut tracker, &commands, &mut events))
        .await
        .unwrap_or(Err(ScreenlessError::NoAnswer { server }));
    let _ = commands.send(NetCommand::Quit);
    let _ = timeout(Duration::from_millis(500), task).await;
    // Whatever the server said, nothing that signs in as the student stays
    // on this machine.
    if let Err(e) = tokens.clear() {
        tracing::warn!("could not delete the token file: {e}");
    }
    match result {
        Err(ScreenlessError::TokenRefused { .. }) => Ok(LoggedOut::AlreadyRevoked),
        other => other,
    }
}

async fn until_done(
    tracker: &mut StandingTracker,
    commands: &mpsc::UnboundedSender<NetCommand>,
    events: &mut mpsc::Receiver<NetEvent>,
) -> Result<LoggedOut, ScreenlessError> {
    while let Some(event) = events.recv().await {
        match event {
            NetEvent::SignedIn { .. } => {
                let _ = commands.send(NetCommand::Logout);
            }
            NetEvent::LoggedOut => return Ok(LoggedOut::Everywhere),
            // The rest means what it means to `jqueue status`: a key to
            // check, a refused token, a server that went away.
            other => {
                if let Progress::Lost(reason) = tracker.apply(other)? {
                    return Err(ScreenlessError::Unreachable {
                        server: tracker.server.clone(),
                        reason: crate::screens::disconnect_sentence(&reason).to_owned(),
                    });
                }
            }
        }
    }
    Err(ScreenlessError::NetTaskEnded)
}
