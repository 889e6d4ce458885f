//! The sign-in screen: its form (the password, typed twice for a new
//! account, after the reset code for an account the professor reset), the
//! keys that fill and send it, and the server's answers to it (wrong
//! password, too many attempts, a reset code needed). What was typed is kept
//! across a lost connection and sent once the server asks again.
//!
//! It owns only the form: it never switches screens (the app does, when the
//! server signs the student in or asks again) and never draws ([`draw`]
//! does, reading the form).

mod draw;

use std::time::Duration;

use jqueue_shared::SignInResult;
use jqueue_shared::validate::{PASSWORD_RULE, is_valid_password};
use ratatui::crossterm::event::KeyEvent;
use tokio::time::Instant;
use tui_input::Input;

pub(crate) use draw::render;

use super::edit;
use crate::app::Effect;
use crate::keys::Action;
use crate::net::{NetCommand, Password};

/// The password form: one field for a returning student, two for a new one.
#[derive(Debug, Clone)]
pub struct SignInForm {
    pub new_account: bool,
    pub password: Input,
    pub repeat: Input,
    /// 0: `password`, 1: `repeat`.
    pub focus: usize,
    pub error: Option<String>,
    /// Waiting for the server's answer, or for a connection to send it on.
    pub busy: bool,
    /// Enter was pressed (or an answer was lost) while the connection was
    /// down: the form goes out again as soon as the server asks for it.
    pub send_when_connected: bool,
    /// After too many attempts: no new attempt before this moment.
    pub retry_at: Option<Instant>,
    /// The professor reset this account: the one-time code they gave the
    /// student (only once the server asked for it).
    pub reset_code: Option<Input>,
}

impl SignInForm {
    /// A fresh form; an account the professor reset starts on its code
    /// (without it the passwords would only be refused).
    pub(crate) fn new(new_account: bool, reset: bool) -> Self {
        let mut form = Self::blank(new_account);
        if reset {
            form.reset_code = Some(Input::default());
            form.focus = 2;
        }
        form
    }

    fn blank(new_account: bool) -> Self {
        Self {
            new_account,
            password: Input::default(),
            repeat: Input::default(),
            focus: 0,
            error: None,
            busy: false,
            send_when_connected: false,
            retry_at: None,
            reset_code: None,
        }
    }

    /// How many fields the form shows.
    fn fields(&self) -> usize {
        if !self.new_account {
            1
        } else if self.reset_code.is_some() {
            3
        } else {
            2
        }
    }

    /// Ends a finished countdown, with whatever it said.
    pub(crate) fn expire(&mut self, now: Instant) {
        if self.retry_at.is_some_and(|at| at <= now) {
            self.retry_at = None;
            self.error = None;
        }
    }

    /// Whether a countdown runs (the screen then ticks).
    pub(crate) fn counting_down(&self, now: Instant) -> bool {
        self.retry_at.is_some_and(|at| at > now)
    }

    /// A key on the form: Tab moves, Enter sends (or, while the connection
    /// is down, checks now and sends once it is back), anything else types.
    pub(crate) fn on_key(
        &mut self,
        action: Option<Action>,
        key: &KeyEvent,
        link_up: bool,
        now: Instant,
    ) -> Vec<Effect> {
        match action {
            Some(Action::NextField) => self.focus = (self.focus + 1) % self.fields().max(2),
            Some(Action::Submit) if !self.busy => {
                if link_up {
                    return self.submit(now);
                }
                // Checked now, sent once the server asks for it again.
                if self.check(now).is_some() {
                    self.busy = true;
                    self.send_when_connected = true;
                }
            }
            Some(_) => {}
            None if self.busy => {}
            None => {
                let input = match (self.focus, &mut self.reset_code) {
                    (0, _) => &mut self.password,
                    (2, Some(code)) => code,
                    _ => &mut self.repeat,
                };
                edit(input, key);
                // Whatever was wrong is being put right.
                self.error = None;
            }
        }
        Vec::new()
    }

    /// The server asks for the password again after a reconnect: keep what
    /// was typed, and send it if Enter was pressed while the connection was
    /// down.
    pub(crate) fn asked_again(&mut self, reset: bool, now: Instant) -> Vec<Effect> {
        self.busy = false;
        if reset && self.reset_code.is_none() {
            self.reset_code = Some(Input::default());
        }
        if std::mem::take(&mut self.send_when_connected) {
            return self.submit(now);
        }
        Vec::new()
    }

    /// The connection went: a sign-in sent and not answered goes again on
    /// the next connection (the student pressed Enter once).
    pub(crate) fn connection_lost(&mut self) {
        self.send_when_connected |= self.busy;
    }

    /// The server refused the sign-in: say why, and keep what still holds.
    pub(crate) fn on_failed(&mut self, result: &SignInResult, now: Instant) {
        self.busy = false;
        let error = match result {
            SignInResult::WrongCredentials => {
                self.password.reset();
                "Wrong username or password. Try again.".to_owned()
            }
            SignInResult::TooManyAttempts { retry_after_ms } => {
                // The countdown says it all, and goes when it is over.
                self.retry_at = Some(now + Duration::from_millis(*retry_after_ms));
                return;
            }
            SignInResult::InvalidPassword => {
                format!("That password is not allowed: use {PASSWORD_RULE}.")
            }
            SignInResult::TooManyAccounts { retry_after_ms } => format!(
                "Too many new accounts from this computer: try again in {} min.",
                retry_after_ms.div_ceil(60_000)
            ),
            SignInResult::ResetCodeRequired => {
                let retyped = self.reset_code.is_some();
                self.reset_code.get_or_insert_with(Input::default).reset();
                self.focus = 2;
                if retyped {
                    "That reset code is wrong or has expired: ask the professor.".to_owned()
                } else {
                    "Your professor reset this account: type the reset code they gave you."
                        .to_owned()
                }
            }
            SignInResult::UsernameTaken => {
                *self = Self::blank(false);
                "That account has a password already: enter it.".to_owned()
            }
            other => format!("Sign-in failed ({other:?})."),
        };
        self.error = Some(error);
    }

    /// Sends the form if it passes [`Self::check`].
    fn submit(&mut self, now: Instant) -> Vec<Effect> {
        let Some(command) = self.check(now) else {
            self.busy = false;
            return Vec::new();
        };
        self.busy = true;
        self.error = None;
        vec![Effect::Send(command)]
    }

    /// Checks the form; on success returns the command to send, otherwise
    /// leaves a message in the form.
    fn check(&mut self, now: Instant) -> Option<NetCommand> {
        let password = self.password.value().to_owned();
        let code_missing = self
            .reset_code
            .as_ref()
            .is_some_and(|code| code.value().trim().is_empty());
        let error = if self.retry_at.is_some_and(|at| at > now) {
            Some("Too many attempts: wait for the countdown.".to_owned())
        } else if code_missing {
            // The code comes first on the form, and first here.
            self.focus = 2;
            Some("Type the reset code your professor gave you.".to_owned())
        } else if self.focus == 2 && password.is_empty() {
            // Enter in the code field moves on to the password.
            self.focus = 0;
            return None;
        } else if password.is_empty() {
            Some("Type your password, then press Enter.".to_owned())
        } else if self.new_account && !is_valid_password(&password) {
            Some(format!("A password must be {PASSWORD_RULE}."))
        } else if self.new_account && self.focus == 0 && self.repeat.value().is_empty() {
            // Enter in the first field moves on to the second.
            self.focus = 1;
            return None;
        } else if self.new_account && self.repeat.value() != password {
            self.repeat.reset();
            self.focus = 1;
            Some("The two passwords differ: type it again.".to_owned())
        } else {
            None
        };
        if error.is_some() {
            self.error = error;
            return None;
        }
        self.retry_at = None;
        let password = Password(password);
        Some(if self.new_account {
            let reset_code = self
                .reset_code
                .as_ref()
                .map(|c| c.value().trim().to_owned());
            NetCommand::Register(password, reset_code)
        } else {
            NetCommand::Login(password)
        })
    }
}

#[cfg(test)]
mod tests {
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};

    use super::*;

    fn typed(form: &mut SignInForm, text: &str, now: Instant) {
        for c in text.chars() {
            let key = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
            form.on_key(None, &key, true, now);
        }
    }

    fn enter(form: &mut SignInForm, link_up: bool, now: Instant) -> Vec<Effect> {
        let key = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
        form.on_key(Some(Action::Submit), &key, link_up, now)
    }

    #[test]
    fn a_new_password_goes_out_only_once_typed_twice_alike() {
        let now = Instant::now();
        let mut form = SignInForm::new(true, false);
        typed(&mut form, "correct horse", now);
        assert!(enter(&mut form, true, now).is_empty(), "on to the second");
        assert_eq!(form.focus, 1);
        typed(&mut form, "correct hose", now);
        assert!(enter(&mut form, true, now).is_empty());
        assert_eq!(form.repeat.value(), "", "typed again from scratch");
        typed(&mut form, "correct horse", now);
        let sent = enter(&mut form, true, now);
        assert!(matches!(
            sent.as_slice(),
            [Effect::Send(NetCommand::Register(_, None))]
        ));
        assert!(form.busy);
    }

    #[test]
    fn enter_while_down_is_checked_now_and_sent_when_asked_again() {
        let now = Instant::now();
        let mut form = SignInForm::new(false, false);
        typed(&mut form, "secret", now);
        assert!(enter(&mut form, false, now).is_empty());
        assert!(form.send_when_connected);
        let sent = form.asked_again(false, now);
        assert!(matches!(
            sent.as_slice(),
            [Effect::Send(NetCommand::Login(_))]
        ));
        assert!(!form.send_when_connected);
    }

    #[test]
    fn a_reset_account_starts_on_its_code_and_will_not_go_without_it() {
        let now = Instant::now();
        let mut form = SignInForm::new(true, true);
        assert_eq!(form.focus, 2);
        form.focus = 0;
        typed(&mut form, "correct horse", now);
        assert!(enter(&mut form, true, now).is_empty());
        assert_eq!(form.focus, 2, "back to the code");
        assert!(form.error.is_some());
    }

    #[test]
    fn a_countdown_blocks_sending_until_it_is_over() {
        let now = Instant::now();
        let mut form = SignInForm::new(false, false);
        form.on_failed(
            &SignInResult::TooManyAttempts {
                retry_after_ms: 2000,
            },
            now,
        );
        typed(&mut form, "secret", now);
        assert!(enter(&mut form, true, now).is_empty());
        assert!(form.counting_down(now));
        let later = now + Duration::from_secs(2);
        form.expire(later);
        assert!(!form.counting_down(later));
        assert_eq!(form.error, None);
        assert_eq!(enter(&mut form, true, later).len(), 1);
    }
}
