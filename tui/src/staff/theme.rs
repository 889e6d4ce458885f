//! Styles for the staff screen, with and without colour.
//!
//! With `NO_COLOR` set (to anything non-empty, per no-color.org) every style
//! is built from bold, dim, reverse and underline only, so the screen stays
//! legible on a monochrome terminal and emphasis never depends on colour.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub const COLOR: Self = Self { color: true };
    pub const PLAIN: Self = Self { color: false };

    /// Colour unless `NO_COLOR` is set and non-empty.
    pub fn from_env() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self { color: !no_color }
    }

    fn pick(self, color: Style, plain: Style) -> Style {
        if self.color { color } else { plain }
    }

    pub fn title(self) -> Style {
        self.pick(
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    /// Bold text on a coloured ground; reverse video without colour.
    fn badge(self, fg: Color, bg: Color) -> Style {
        self.pick(
            Style::new().fg(fg).bg(bg).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED),
        )
    }

    pub fn open(self) -> Style {
        self.badge(Color::Black, Color::Green)
    }

    pub fn closed(self) -> Style {
        self.badge(Color::White, Color::Red)
    }

    /// The selected row: reverse video reads the same with and without colour.
    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn dim(self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }

    pub fn header(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }

    pub fn key(self) -> Style {
        self.pick(
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    pub fn warning(self) -> Style {
        self.pick(
            Style::new().fg(Color::Yellow),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    pub fn error(self) -> Style {
        self.pick(
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        )
    }

    pub fn good(self) -> Style {
        self.pick(Style::new().fg(Color::Green), Style::new())
    }

    /// My own help, among everyone's.
    pub fn mine(self) -> Style {
        self.pick(
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    /// The statistics view's line and bars.
    pub fn chart(self) -> Style {
        self.pick(Style::new().fg(Color::Cyan), Style::new())
    }

    /// A count written over its bar: reverse video without colour, so the
    /// digits stand out from the bar's blocks either way.
    pub fn bar_value(self) -> Style {
        self.badge(Color::Black, Color::Cyan)
    }

    pub fn border(self) -> Style {
        self.pick(Style::new().fg(Color::DarkGray), Style::new())
    }
}
