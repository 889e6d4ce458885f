//! Picking one of a queue's question tags from the keyboard: `←` `→` step
//! through them, a letter picks the next tag it begins (in either case).
//! The student's ask form (a tag for the question, or none) and the staff
//! screen's `/` filter both pick with a [`TagPicker`], so a tag is chosen
//! the same way on both screens; the ask form draws its choice on one line
//! with [`TagPicker::line`].
//!
//! It only picks: what the tag is for (a question, a filter) and whether
//! the server takes it are its screen's. The tags are the server's text:
//! the line sanitises them.

use jqueue_shared::sanitize;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// One of a list of tags, chosen, or none when that is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagPicker {
    tags: Vec<String>,
    /// Into `tags`; `None`: no tag.
    chosen: Option<usize>,
    /// "No tag" is a choice (before the first): a question may go untagged;
    /// a filter is always of one tag.
    optional: bool,
}

impl TagPicker {
    /// No tag chosen yet, if `optional`; else the first.
    pub fn new(tags: Vec<String>, optional: bool) -> Self {
        let chosen = (!optional && !tags.is_empty()).then_some(0);
        Self {
            tags,
            chosen,
            optional,
        }
    }

    /// The same, with `tag` chosen if it is one of them.
    #[must_use]
    pub fn choosing(mut self, tag: Option<&str>) -> Self {
        if let Some(index) = tag.and_then(|tag| self.tags.iter().position(|t| t == tag)) {
            self.chosen = Some(index);
        }
        self
    }

    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    /// Whether there is anything to pick.
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }

    /// The tag chosen, as the server wrote it.
    pub fn chosen(&self) -> Option<&str> {
        self.chosen.map(|i| self.tags[i].as_str())
    }

    /// The place of the tag chosen among them.
    pub fn chosen_index(&self) -> Option<usize> {
        self.chosen
    }

    /// The next tag (`forward`) or the one before, round: with "no tag"
    /// a choice, it stands between the last and the first.
    pub fn step(&mut self, forward: bool) {
        let count = self.tags.len();
        if count == 0 {
            return;
        }
        // Places on the round: 0 is "no tag" when optional.
        let places = count + usize::from(self.optional);
        let place = match self.chosen {
            Some(i) => i + usize::from(self.optional),
            None => 0,
        };
        let next = if forward {
            (place + 1) % places
        } else {
            (place + places - 1) % places
        };
        self.chosen = next.checked_sub(usize::from(self.optional));
    }

    /// The next tag after the one chosen that begins with `letter` (in
    /// either case), round: pressing it again goes through every tag it
    /// begins. `false`, and nothing changes, when none does.
    pub fn pick_letter(&mut self, letter: char) -> bool {
        let wanted: String = letter.to_lowercase().collect();
        let begins = |tag: &String| {
            tag.chars()
                .next()
                .is_some_and(|first| first.to_lowercase().collect::<String>() == wanted)
        };
        let count = self.tags.len();
        let after = self.chosen.map_or(0, |i| i + 1);
        let found = (0..count)
            .map(|k| (after + k) % count)
            .find(|&i| begins(&self.tags[i]));
        if found.is_some() {
            self.chosen = found;
        }
        found.is_some()
    }

    /// The keys that pick: `←` `→` (and `↑` `↓` when `arrows_up_down`, in a
    /// list of their own), a letter or digit, and Backspace or Delete for
    /// "no tag" when that is a choice. Whether the key was one of them.
    pub fn on_key(&mut self, key: &KeyEvent, arrows_up_down: bool) -> bool {
        if key.kind == KeyEventKind::Release || !(key.modifiers - KeyModifiers::SHIFT).is_empty() {
            return false;
        }
        match key.code {
            KeyCode::Right => self.step(true),
            KeyCode::Left => self.step(false),
            KeyCode::Down if arrows_up_down => self.step(true),
            KeyCode::Up if arrows_up_down => self.step(false),
            KeyCode::Backspace | KeyCode::Delete if self.optional => self.chosen = None,
            KeyCode::Char(c) if c.is_alphanumeric() => {
                self.pick_letter(c);
            }
            _ => return false,
        }
        true
    }

    /// The choices on one line `width` columns wide, the chosen one in
    /// brackets and `chosen_style` (readable without colour), "no tag"
    /// first when it is a choice (as `none`). Where they do not all fit, the
    /// line shows the chosen one and what fits beside it, with `…` for the
    /// rest.
    pub fn line(
        &self,
        width: usize,
        none: &str,
        style: Style,
        chosen_style: Style,
    ) -> Line<'static> {
        let mut items: Vec<(String, bool)> = Vec::with_capacity(self.tags.len() + 1);
        if self.optional {
            items.push((none.to_owned(), self.chosen.is_none()));
        }
        for (i, tag) in self.tags.iter().enumerate() {
            items.push((sanitize(tag).into_owned(), self.chosen == Some(i)));
        }
        let cells: Vec<String> = items
            .iter()
            .map(|(text, chosen)| {
                if *chosen {
                    format!("[{text}]")
                } else {
                    format!(" {text} ")
                }
            })
            .collect();
        let widths: Vec<usize> = cells
            .iter()
            .map(|c| Span::raw(c.as_str()).width())
            .collect();
        let target = items.iter().position(|(_, chosen)| *chosen).unwrap_or(0);
        // The first shown: as far left as lets the chosen one show whole,
        // a `…` before it when it is not the first.
        let span = |from: usize, to: usize| -> usize {
            widths[from..=to].iter().sum::<usize>() + (to - from) + if from > 0 { 2 } else { 0 }
        };
        let first = (0..=target)
            .find(|&from| span(from, target) + 2 <= width || from == target)
            .unwrap_or(target);
        let mut spans = Vec::new();
        let mut used = 0;
        if first > 0 {
            spans.push(Span::styled("… ", style));
            used += 2;
        }
        for (i, cell) in cells.iter().enumerate().skip(first) {
            let gap = usize::from(i > first);
            let more = i + 1 < cells.len();
            // Room for this one, and for a `…` after it if more follow.
            if i > target && used + gap + widths[i] + if more { 2 } else { 0 } > width {
                spans.push(Span::styled(" …", style));
                break;
            }
            if gap == 1 {
                spans.push(Span::raw(" "));
            }
            let look = if items[i].1 { chosen_style } else { style };
            spans.push(Span::styled(cell.clone(), look));
            used += gap + widths[i];
        }
        Line::from(spans)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags() -> Vec<String> {
        ["setup", "debugging", "design", "grading"]
            .map(str::to_owned)
            .to_vec()
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn the_arrows_go_round_with_no_tag_between_the_last_and_the_first() {
        let mut picker = TagPicker::new(tags(), true);
        assert_eq!(picker.chosen(), None);
        picker.step(true);
        assert_eq!(picker.chosen(), Some("setup"));
        picker.step(false);
        picker.step(false);
        assert_eq!(picker.chosen(), Some("grading"), "round the back");
        picker.step(true);
        assert_eq!(picker.chosen(), None);
        // A filter always has one.
        let mut filter = TagPicker::new(tags(), false);
        assert_eq!(filter.chosen(), Some("setup"));
        filter.step(false);
        assert_eq!(filter.chosen(), Some("grading"));
        filter.step(true);
        assert_eq!(filter.chosen(), Some("setup"));
    }

    #[test]
    fn a_letter_picks_each_tag_it_begins_in_turn_in_either_case() {
        let mut picker = TagPicker::new(tags(), true);
        assert!(picker.on_key(&key(KeyCode::Char('d')), false));
        assert_eq!(picker.chosen(), Some("debugging"));
        picker.on_key(&key(KeyCode::Char('D')), false);
        assert_eq!(picker.chosen(), Some("design"));
        picker.on_key(&key(KeyCode::Char('d')), false);
        assert_eq!(picker.chosen(), Some("debugging"), "round again");
        assert!(!picker.pick_letter('x'));
        assert_eq!(picker.chosen(), Some("debugging"), "no such tag: unchanged");
        picker.on_key(&key(KeyCode::Backspace), false);
        assert_eq!(picker.chosen(), None);
        // Ctrl and Alt chords are not letters; ↑↓ only where asked.
        let ctrl = KeyEvent::new(KeyCode::Char('g'), KeyModifiers::CONTROL);
        assert!(!picker.on_key(&ctrl, false));
        assert!(!picker.on_key(&key(KeyCode::Down), false));
        assert!(picker.on_key(&key(KeyCode::Down), true));
        assert_eq!(picker.chosen(), Some("setup"));
        assert_eq!(
            TagPicker::new(tags(), true)
                .choosing(Some("grading"))
                .chosen(),
            Some("grading")
        );
        assert_eq!(
            TagPicker::new(tags(), true)
                .choosing(Some("exams"))
                .chosen(),
            None
        );
    }

    fn text(line: &Line<'_>) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn the_line_marks_the_choice_and_keeps_it_in_sight_when_narrow() {
        let plain = Style::new();
        let picker = TagPicker::new(tags(), true).choosing(Some("debugging"));
        assert_eq!(
            text(&picker.line(80, "no tag", plain, plain)),
            " no tag   setup  [debugging]  design   grading "
        );
        let narrow = text(&picker.line(24, "no tag", plain, plain));
        assert!(narrow.contains("[debugging]"), "{narrow:?}");
        assert!(Span::raw(narrow.as_str()).width() <= 24, "{narrow:?}");
        let last = TagPicker::new(tags(), true).choosing(Some("grading"));
        let end = text(&last.line(24, "no tag", plain, plain));
        assert!(
            end.starts_with("… ") && end.ends_with("[grading]"),
            "{end:?}"
        );
        // Hostile text from a server is drawn inert.
        let hostile = TagPicker::new(vec!["x\u{1b}[2J".into()], false);
        assert!(!text(&hostile.line(40, "", plain, plain)).contains('\u{1b}'));
    }
}
