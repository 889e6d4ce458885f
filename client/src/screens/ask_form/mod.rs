//! The ask-for-help form, over the main screen: what the student is stuck
//! on, where they sit (pre-filled with the location typed last on this
//! machine, else its host name) and, once the server asks for it, the room's
//! presence code. Its keys move between the fields, type into them and send
//! the request once the texts pass the server's limits.
//!
//! It owns only the form: whether a request may go (one at a time), the
//! request on its way and the location to remember are the main screen's;
//! opening and closing the form is the app's. [`draw`] draws it.

mod draw;

use jqueue_shared::TextField;
use jqueue_shared::validate::{MAX_TEXT_CHARS, is_valid_text};
use ratatui::crossterm::event::KeyEvent;
use tui_input::Input;

pub(crate) use draw::render;

use super::edit;
use super::words::NOT_CONNECTED;
use crate::keys::Action;

/// "Ask for help": what the student is stuck on, and where they sit.
#[derive(Debug, Clone)]
pub struct AskForm {
    pub description: Input,
    pub location: Input,
    /// The room's presence code: only once the server asked for it (the
    /// student is not on a lab machine).
    pub code: Option<Input>,
    /// 0: description, 1: location, 2: code.
    pub focus: usize,
    pub error: Option<String>,
    /// Changing the question of a student in line (`e`): sent as an edit,
    /// which keeps the place.
    pub editing: bool,
}

/// What a key in the form comes to.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The form stays open.
    Open,
    Close,
    /// Send this (the form stays open until the answer).
    Send(Request),
}

/// The request for help, checked and trimmed.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) description: String,
    pub(crate) location: String,
    pub(crate) code: Option<String>,
    /// An edit of the question, not a request to join.
    pub(crate) editing: bool,
}

impl AskForm {
    /// An empty form with `location` filled in.
    pub(crate) fn new(location: &str) -> Self {
        Self {
            description: Input::default(),
            location: Input::new(location.to_owned()),
            code: None,
            focus: 0,
            error: None,
            editing: false,
        }
    }

    /// The question being edited, as it was sent.
    pub(crate) fn editing(description: &str, location: &str) -> Self {
        Self {
            description: Input::new(description.to_owned()),
            editing: true,
            ..Self::new(location)
        }
    }

    fn fields(&self) -> usize {
        if self.code.is_some() { 3 } else { 2 }
    }

    /// The server wants the room's code: an empty code field, focused.
    pub(crate) fn ask_for_code(&mut self) {
        self.code = Some(Input::default());
        self.focus = 2;
    }

    /// A key in the form. Enter sends only while nothing else is `sending`,
    /// and says why not while the link is down.
    pub(crate) fn on_key(
        &mut self,
        action: Option<Action>,
        key: &KeyEvent,
        sending: bool,
        link_up: bool,
    ) -> Outcome {
        match action {
            Some(Action::Close) => return Outcome::Close,
            Some(Action::NextField) => self.focus = (self.focus + 1) % self.fields(),
            Some(Action::PreviousField) => {
                self.focus = (self.focus + self.fields() - 1) % self.fields();
            }
            Some(Action::Submit) if !sending => {
                let description = self.description.value().trim().to_owned();
                let location = self.location.value().trim().to_owned();
                let code = self.code.as_ref().map(|c| c.value().trim().to_owned());
                if !is_valid_text(&description) {
                    self.error = Some(too_long(TextField::Description));
                } else if !is_valid_text(&location) {
                    self.error = Some(too_long(TextField::Location));
                } else if !link_up {
                    self.error = Some(NOT_CONNECTED.to_owned());
                } else {
                    self.error = None;
                    return Outcome::Send(Request {
                        description,
                        location,
                        code,
                        editing: self.editing,
                    });
                }
            }
            Some(_) => {}
            None => {
                let input = match (self.focus, &mut self.code) {
                    (0, _) => &mut self.description,
                    (2, Some(code)) => code,
                    _ => &mut self.location,
                };
                edit(input, key);
                self.error = None;
            }
        }
        Outcome::Open
    }
}

/// The form's name for a field, in the server's answers too.
pub(crate) fn field_name(field: TextField) -> &'static str {
    match field {
        TextField::Description => "description",
        TextField::Location => "location",
        TextField::Answer => "answer",
    }
}

fn too_long(field: TextField) -> String {
    format!(
        "The {} is too long: at most {MAX_TEXT_CHARS} characters.",
        field_name(field)
    )
}

#[cfg(test)]
mod tests {
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};

    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn submit(form: &mut AskForm, sending: bool, link_up: bool) -> Outcome {
        form.on_key(Some(Action::Submit), &key(KeyCode::Enter), sending, link_up)
    }

    #[test]
    fn the_request_goes_trimmed_with_the_location_filled_in() {
        let mut form = AskForm::new("lab 2, seat 14");
        form.on_key(None, &key(KeyCode::Char(' ')), false, true);
        form.on_key(None, &key(KeyCode::Char('x')), false, true);
        let Outcome::Send(request) = submit(&mut form, false, true) else {
            panic!("not sent");
        };
        assert_eq!(request.description, "x");
        assert_eq!(request.location, "lab 2, seat 14");
        assert_eq!(request.code, None);
    }

    #[test]
    fn nothing_goes_while_a_request_is_on_its_way_or_the_link_is_down() {
        let mut form = AskForm::new("lab 2");
        assert!(matches!(submit(&mut form, true, true), Outcome::Open));
        assert_eq!(form.error, None);
        assert!(matches!(submit(&mut form, false, false), Outcome::Open));
        assert_eq!(form.error.as_deref(), Some(NOT_CONNECTED));
    }

    #[test]
    fn text_over_the_limit_is_refused_before_sending() {
        let mut form = AskForm::new(&"x".repeat(MAX_TEXT_CHARS + 1));
        assert!(matches!(submit(&mut form, false, true), Outcome::Open));
        assert!(form.error.as_deref().unwrap().contains("location"));
    }

    #[test]
    fn a_code_asked_for_is_the_third_field() {
        let mut form = AskForm::new("home");
        form.ask_for_code();
        assert_eq!(form.focus, 2);
        form.on_key(Some(Action::NextField), &key(KeyCode::Tab), false, true);
        assert_eq!(form.focus, 0, "three fields round");
    }
}
