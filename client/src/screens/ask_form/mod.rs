//! The ask-for-help form, over the main screen: what the student is stuck
//! on, the question's tag when the queue has tags (picked with `←` `→` or
//! the tag's first letter, [`jqueue_tui::tags`]; none is a choice), where
//! they sit (pre-filled with the location typed last on this machine, else
//! its host name) and, once the server asks for it, the room's presence
//! code; and "attach context" (Ctrl-T; [`context`]), which shows each part
//! of the student's context exactly as it would be sent, to edit or drop
//! (Ctrl-D), the attached file's tail line by line. Its keys move between
//! the fields, type into them and send the request once the texts pass the
//! server's limits.
//!
//! It owns only the form: whether a request may go (one at a time), the
//! request on its way and the location to remember are the main screen's;
//! opening and closing the form is the app's. [`draw`] draws it.

pub mod context;
mod draw;

use jqueue_shared::TextField;
use jqueue_shared::context::QuestionContext;
use jqueue_shared::validate::{MAX_TEXT_CHARS, is_valid_text};
use jqueue_tui::tags::TagPicker;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use tui_input::Input;

pub(crate) use draw::render;

use super::edit;
use super::words::NOT_CONNECTED;
use crate::keys::Action;

/// How many lines of the attached file's tail PgUp and PgDn move.
pub(crate) const TAIL_PAGE: usize = 5;

/// "Ask for help": what the student is stuck on, and where they sit.
#[derive(Debug, Clone)]
pub struct AskForm {
    pub description: Input,
    /// The question's tag, among the queue's (none is a choice); a queue
    /// without tags has an empty picker and the form no tag line.
    pub tag: TagPicker,
    pub location: Input,
    /// The room's presence code: only once the server asked for it (the
    /// student is not on a lab machine).
    pub code: Option<Input>,
    /// 0: description, then the tag (when the queue has tags), the
    /// location, the code (when asked for), then the context's parts
    /// (while attached) and the lines of the file's tail (while kept).
    pub focus: usize,
    pub error: Option<String>,
    /// Changing the question of a student in line (`e`): sent as an edit,
    /// which keeps the place.
    pub editing: bool,
    /// "Attach context" and the parts it would send.
    pub context: context::ContextDraft,
    /// The student waits in this other queue of the course: Enter moves
    /// the place here (keeping its join time).
    pub moving_from: Option<String>,
}

/// A field of the form, as `focus` picks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Description,
    Tag,
    Location,
    Code,
    /// The context's part at this index.
    Part(usize),
    /// The line of the file's tail at this index.
    TailLine(usize),
}

/// What a key in the form comes to.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The form stays open.
    Open,
    Close,
    /// Send this (the form stays open until the answer).
    Send(Box<Request>),
    /// "Attach context" was switched on or off: keep the choice for this
    /// machine, and gather the context if it is on and not yet gathered.
    ContextSwitched {
        on: bool,
        gather: bool,
    },
}

/// The request for help, checked and trimmed.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) description: String,
    /// One of the queue's tags, or none.
    pub(crate) tag: Option<String>,
    pub(crate) location: String,
    pub(crate) code: Option<String>,
    /// The context as previewed; `None` unless attached.
    pub(crate) context: Option<QuestionContext>,
    /// An edit of the question, not a request to join.
    pub(crate) editing: bool,
    /// Move the place in another queue of the course here.
    pub(crate) moving: bool,
}

impl AskForm {
    /// An empty form with `location` filled in, offering no tags.
    pub(crate) fn new(location: &str) -> Self {
        Self {
            description: Input::default(),
            tag: TagPicker::new(Vec::new(), true),
            location: Input::new(location.to_owned()),
            code: None,
            focus: 0,
            error: None,
            context: context::ContextDraft::default(),
            editing: false,
            moving_from: None,
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

    /// The form offering the queue's `tags` (none chosen, or `chosen`
    /// when it is one of them).
    #[must_use]
    pub(crate) fn offering(mut self, tags: &[String], chosen: Option<&str>) -> Self {
        self.tag = TagPicker::new(tags.to_vec(), true).choosing(chosen);
        self
    }

    /// The form with "attach context" as this machine last left it.
    #[must_use]
    pub(crate) fn attaching(mut self, attach: bool) -> Self {
        self.context = context::ContextDraft::new(attach);
        self
    }

    /// The fields before the context's parts, in order.
    fn fixed_fields(&self) -> Vec<Field> {
        let mut fields = vec![Field::Description];
        if !self.tag.is_empty() {
            fields.push(Field::Tag);
        }
        fields.push(Field::Location);
        if self.code.is_some() {
            fields.push(Field::Code);
        }
        fields
    }

    fn fields(&self) -> usize {
        self.fixed_fields().len() + self.context.shown().len() + self.context.shown_tail().len()
    }

    fn field(&self, focus: usize) -> Field {
        let fixed = self.fixed_fields();
        if let Some(&field) = fixed.get(focus) {
            return field;
        }
        let part = focus - fixed.len();
        let parts = self.context.shown().len();
        if part < parts {
            Field::Part(part)
        } else {
            Field::TailLine(part - parts)
        }
    }

    /// The focus on the tail's line `index`.
    fn tail_focus(&self, index: usize) -> usize {
        self.fixed_fields().len() + self.context.shown().len() + index
    }

    /// Whether `field` has the focus.
    pub(crate) fn focuses(&self, field: Field) -> bool {
        self.field(self.focus) == field
    }

    /// The focused part of the context, if a part has the focus.
    pub(crate) fn focused_part(&self) -> Option<usize> {
        match self.field(self.focus) {
            Field::Part(index) => Some(index),
            _ => None,
        }
    }

    /// The focused line of the file's tail, if one has the focus.
    pub(crate) fn focused_tail_line(&self) -> Option<usize> {
        match self.field(self.focus) {
            Field::TailLine(index) => Some(index),
            _ => None,
        }
    }

    /// Whether the file's part has the focus.
    fn focused_is_file(&self) -> bool {
        self.focused_part()
            .and_then(|index| self.context.shown().get(index))
            .is_some_and(|part| part.input.is_none())
    }

    /// Tab and Shift-Tab step over the tail as one field (it is last, so
    /// Tab goes round to the top); ↑ and ↓ go through it a line at a time,
    /// and PgUp and PgDn a page.
    fn move_in_tail(&mut self, key: &KeyEvent) -> bool {
        let lines = self.context.shown_tail().len();
        let on_file = self.focused_is_file();
        let line = self.focused_tail_line();
        if lines == 0 || !(on_file || line.is_some()) {
            return false;
        }
        let page = |line: Option<usize>, down: bool| match (line, down) {
            (None, true) => 0,
            (None, false) => lines - 1,
            (Some(line), true) => (line + TAIL_PAGE).min(lines - 1),
            (Some(line), false) => line.saturating_sub(TAIL_PAGE),
        };
        self.focus = match key.code {
            KeyCode::Tab => 0,
            KeyCode::BackTab if line.is_some() => self.focus - line.unwrap_or(0) - 1,
            KeyCode::PageDown => self.tail_focus(page(line, true)),
            KeyCode::PageUp => self.tail_focus(page(line, false)),
            _ => return false,
        };
        true
    }

    /// The server wants the room's code: an empty code field, focused.
    pub(crate) fn ask_for_code(&mut self) {
        self.code = Some(Input::default());
        self.focus = self
            .fixed_fields()
            .iter()
            .position(|&f| f == Field::Code)
            .unwrap_or(0);
    }

    /// The server's tags differ from those offered (the server's config
    /// changed): offer its own, keeping the choice if it is still one.
    pub(crate) fn retag(&mut self, tags: &[String]) {
        let chosen = self.tag.chosen().map(str::to_owned);
        self.tag = TagPicker::new(tags.to_vec(), true).choosing(chosen.as_deref());
        if self.focus >= self.fields() {
            self.focus = 0;
        }
    }

    /// The gathered context arrived: each part to preview and edit.
    pub(crate) fn context_gathered(&mut self, context: QuestionContext) {
        self.context.fill(context);
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
        // The tag keys pick on the tag's line; elsewhere they are a text
        // field's (`←` `→` move its cursor).
        let action = action.filter(|&a| a != Action::PickTag || self.focuses(Field::Tag));
        if matches!(
            action,
            Some(Action::NextField | Action::PreviousField) | None
        ) && self.move_in_tail(key)
        {
            return Outcome::Open;
        }
        match action {
            Some(Action::Close) => return Outcome::Close,
            Some(Action::NextField) => self.focus = (self.focus + 1) % self.fields(),
            Some(Action::PreviousField) => {
                self.focus = (self.focus + self.fields() - 1) % self.fields();
            }
            Some(Action::ToggleContext) if !self.editing => {
                self.context.attach = !self.context.attach;
                if self.focus >= self.fields() {
                    self.focus = 0;
                }
                self.error = None;
                return Outcome::ContextSwitched {
                    on: self.context.attach,
                    gather: self.context.attach && !self.context.gathered,
                };
            }
            Some(Action::DropPart) => {
                if let Some(line) = self
                    .focused_tail_line()
                    .and_then(|index| self.context.tail_line_mut(index))
                {
                    line.kept = !line.kept;
                } else if let Some(part) = self
                    .focused_part()
                    .and_then(|index| self.context.part_mut(index))
                {
                    part.kept = !part.kept;
                }
            }
            Some(Action::Submit) if !sending => {
                let description = self.description.value().trim().to_owned();
                let location = self.location.value().trim().to_owned();
                let code = self.code.as_ref().map(|c| c.value().trim().to_owned());
                let context = self.context.to_send();
                let context_error = context.as_ref().and_then(|c| c.check().err());
                if !is_valid_text(&description) {
                    self.error = Some(too_long(TextField::Description));
                } else if !is_valid_text(&location) {
                    self.error = Some(too_long(TextField::Location));
                } else if let Some(e) = context_error {
                    self.error = Some(e.to_string());
                } else if !link_up {
                    self.error = Some(NOT_CONNECTED.to_owned());
                } else {
                    self.error = None;
                    return Outcome::Send(Box::new(Request {
                        description,
                        tag: self.tag.chosen().map(str::to_owned),
                        location,
                        code,
                        context,
                        editing: self.editing,
                        moving: self.moving_from.is_some(),
                    }));
                }
            }
            Some(Action::PickTag) => {
                self.tag.on_key(key, false);
                self.error = None;
            }
            Some(_) => {}
            // The tag's line has no text: a letter picks the tag it begins.
            None if self.focuses(Field::Tag) => {
                self.tag.on_key(key, false);
                self.error = None;
            }
            None => {
                let input = match self.field(self.focus) {
                    Field::Description => Some(&mut self.description),
                    Field::Tag => None,
                    Field::Location => Some(&mut self.location),
                    Field::Code => self.code.as_mut(),
                    // A dropped part is not typed into; the file is not
                    // typed into at all.
                    Field::Part(index) => self
                        .context
                        .part_mut(index)
                        .filter(|part| part.kept)
                        .and_then(|part| part.input.as_mut()),
                    Field::TailLine(index) => self
                        .context
                        .tail_line_mut(index)
                        .filter(|line| line.kept)
                        .map(|line| &mut line.input),
                };
                if let Some(input) = input {
                    edit(input, key);
                }
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
    fn attached_context_is_fields_to_edit_and_drop_and_goes_as_shown() {
        use jqueue_shared::context::FailedCommand;
        let ctrl = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
        let mut form = AskForm::new("lab").attaching(false);
        assert_eq!(form.fields(), 2);
        let switched = form.on_key(Some(Action::ToggleContext), &ctrl('t'), false, true);
        assert!(matches!(
            switched,
            Outcome::ContextSwitched {
                on: true,
                gather: true
            }
        ));
        form.context_gathered(QuestionContext {
            directory: Some("/home/amy/lab3".into()),
            failed: Some(FailedCommand {
                command: "make".into(),
                status: 2,
            }),
            ..QuestionContext::default()
        });
        assert_eq!(form.fields(), 4, "two parts to go through");
        form.focus = 2;
        form.on_key(None, &key(KeyCode::Backspace), false, true);
        form.on_key(Some(Action::NextField), &key(KeyCode::Tab), false, true);
        form.on_key(Some(Action::DropPart), &ctrl('d'), false, true);
        form.on_key(None, &key(KeyCode::Char('x')), false, true);
        let Outcome::Send(request) = submit(&mut form, false, true) else {
            panic!("not sent");
        };
        assert_eq!(
            request.context,
            Some(QuestionContext {
                directory: Some("/home/amy/lab".into()),
                ..QuestionContext::default()
            }),
            "edited, and the dropped command left out"
        );
        // Off again: nothing goes, and the choice is the app's to keep.
        let switched = form.on_key(Some(Action::ToggleContext), &ctrl('t'), false, true);
        assert!(matches!(
            switched,
            Outcome::ContextSwitched {
                on: false,
                gather: false
            }
        ));
        let Outcome::Send(request) = submit(&mut form, false, true) else {
            panic!("not sent");
        };
        assert_eq!(request.context, None);
    }

    #[test]
    fn a_code_asked_for_is_the_third_field() {
        let mut form = AskForm::new("home");
        form.ask_for_code();
        assert_eq!(form.focus, 2);
        form.on_key(Some(Action::NextField), &key(KeyCode::Tab), false, true);
        assert_eq!(form.focus, 0, "three fields round");
        // After the tag's line, when the queue has tags.
        let mut tagged = AskForm::new("home").offering(&["setup".into()], None);
        tagged.ask_for_code();
        assert!(tagged.focuses(Field::Code));
        assert_eq!(tagged.focus, 3);
    }

    fn tags() -> Vec<String> {
        ["setup", "debugging", "design"].map(str::to_owned).to_vec()
    }

    #[test]
    fn the_tag_is_the_second_field_picked_by_arrow_or_letter_and_goes_with_the_request() {
        let mut form = AskForm::new("lab").offering(&tags(), None);
        form.on_key(None, &key(KeyCode::Char('x')), false, true);
        // Down to the tag's line: letters pick there, they type nowhere.
        form.on_key(Some(Action::NextField), &key(KeyCode::Down), false, true);
        assert!(form.focuses(Field::Tag));
        form.on_key(None, &key(KeyCode::Char('d')), false, true);
        assert_eq!(form.tag.chosen(), Some("debugging"));
        form.on_key(None, &key(KeyCode::Char('d')), false, true);
        assert_eq!(form.tag.chosen(), Some("design"));
        form.on_key(Some(Action::PickTag), &key(KeyCode::Left), false, true);
        assert_eq!(form.tag.chosen(), Some("debugging"));
        assert_eq!(form.description.value(), "x", "nothing typed into the text");
        let Outcome::Send(request) = submit(&mut form, false, true) else {
            panic!("not sent");
        };
        assert_eq!(request.tag.as_deref(), Some("debugging"));
        // No tag is a choice: Backspace, or the arrow before the first.
        form.on_key(None, &key(KeyCode::Backspace), false, true);
        let Outcome::Send(request) = submit(&mut form, false, true) else {
            panic!("not sent");
        };
        assert_eq!(request.tag, None);
        // On a text field the arrows move the cursor, as ever.
        form.on_key(Some(Action::NextField), &key(KeyCode::Down), false, true);
        assert!(form.focuses(Field::Location));
        form.on_key(Some(Action::PickTag), &key(KeyCode::Left), false, true);
        form.on_key(None, &key(KeyCode::Char('!')), false, true);
        assert_eq!(form.location.value(), "la!b");
        assert_eq!(form.tag.chosen(), None);
    }

    #[test]
    fn a_queue_without_tags_has_no_tag_line_and_sends_none() {
        let mut form = AskForm::new("lab");
        form.on_key(Some(Action::NextField), &key(KeyCode::Tab), false, true);
        assert!(form.focuses(Field::Location));
        let Outcome::Send(request) = submit(&mut form, false, true) else {
            panic!("not sent");
        };
        assert_eq!(request.tag, None);
    }
}
