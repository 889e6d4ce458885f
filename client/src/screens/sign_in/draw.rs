//! Drawing the sign-in screen: "Password" for a returning student, "Create
//! a password" (typed twice) for a new one, masked, with the length rule
//! shown and the server's answer (wrong password, too many attempts: a
//! countdown). On a short screen the box, the greeting and the spacing go,
//! then the field not being typed in; the field being typed in and its
//! message always show. It reads the form and never changes it.

use jqueue_shared::validate::PASSWORD_RULE;
use jqueue_tui::status_message::Tone;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};

use super::SignInForm;
use crate::app::{App, Link};
use crate::screens::{Theme, render_input};

/// The greeting of an account the professor reset (`users reset`).
const RESET_GREETING: &str = "Your password was reset — type the code staff gave you.";

const RESET_CODE_LABEL: &str = "Reset code (from your professor)";

pub(crate) fn render(app: &App, form: &SignInForm, theme: Theme, area: Rect, buf: &mut Buffer) {
    let height = if form.reset_code.is_some() {
        18
    } else if form.new_account {
        15
    } else {
        12
    };
    if area.height < height {
        render_compact(app, form, theme, area, buf);
        return;
    }
    let rect = area.centered(
        Constraint::Length(64.min(area.width)),
        Constraint::Length(height.min(area.height)),
    );
    let title = if form.new_account {
        " Create your account "
    } else {
        " Sign in "
    };
    let block = Block::bordered().title(title).title_style(theme.title());
    let inner = block.inner(rect).inner(ratatui::layout::Margin::new(1, 0));
    block.render(rect, buf);

    // The reset code, when the account was reset, comes first: it is what
    // the student must find before anything else.
    let code = u16::from(form.reset_code.is_some());
    let [
        intro,
        _,
        c_label,
        c_field,
        _,
        p_label,
        p_field,
        _,
        r_label,
        r_field,
        _,
        message,
    ] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(1),
        Constraint::Length(code),
        Constraint::Length(code),
        Constraint::Length(code),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(u16::from(form.new_account)),
        Constraint::Length(u16::from(form.new_account)),
        Constraint::Length(u16::from(form.new_account)),
        Constraint::Min(2),
    ])
    .areas(inner);

    let username = &app.settings.username;
    let greeting = if form.reset_code.is_some() {
        RESET_GREETING.to_owned()
    } else if form.new_account {
        format!("Welcome, {username}! This is your first time on this queue.")
    } else {
        format!("Welcome back, {username}.")
    };
    Paragraph::new(vec![
        Line::raw(greeting),
        Line::styled(
            format!("Not {username}? Press Esc and run jqueue --user NAME."),
            theme.dim(),
        ),
    ])
    .render(intro, buf);

    let first_label = if form.new_account {
        format!("Create a password ({PASSWORD_RULE})")
    } else {
        "Password".to_owned()
    };
    Line::styled(first_label, theme.title()).render(p_label, buf);
    render_input(
        &form.password,
        true,
        form.focus == 0 && !form.busy,
        p_field,
        buf,
    );
    if form.new_account {
        Line::styled("Type it again", theme.title()).render(r_label, buf);
        render_input(
            &form.repeat,
            true,
            form.focus == 1 && !form.busy,
            r_field,
            buf,
        );
    }

    if let Some(code) = &form.reset_code {
        Line::styled(RESET_CODE_LABEL, theme.title()).render(c_label, buf);
        render_input(code, false, form.focus == 2 && !form.busy, c_field, buf);
    }

    Paragraph::new(messages(app, form, theme))
        .wrap(Wrap { trim: true })
        .render(message, buf);
}

/// The form without its box: a label and a field per password (only the
/// focused one when two do not fit), then the messages that fit.
fn render_compact(app: &App, form: &SignInForm, theme: Theme, area: Rect, buf: &mut Buffer) {
    let rect = area.centered_horizontally(Constraint::Length(64.min(area.width)));
    let mut fields = Vec::new();
    if let Some(code) = &form.reset_code {
        fields.push((RESET_CODE_LABEL, code, 2));
    }
    fields.push((
        if form.new_account {
            "Create a password"
        } else {
            "Password"
        },
        &form.password,
        0,
    ));
    if form.new_account {
        fields.push(("Type it again", &form.repeat, 1));
    }
    if rect.height < 5 {
        fields.retain(|(_, _, i)| *i == form.focus);
    }
    let mut y = rect.y;
    for (label, input, i) in fields {
        for row in 0..2 {
            if y >= rect.bottom() {
                return;
            }
            let line = Rect {
                y,
                height: 1,
                ..rect
            };
            if row == 0 {
                Line::styled(label, theme.title()).render(line, buf);
            } else {
                render_input(input, true, form.focus == i && !form.busy, line, buf);
            }
            y += 1;
        }
    }
    let below = Rect {
        y,
        height: rect.bottom() - y,
        ..rect
    };
    Paragraph::new(messages(app, form, theme))
        .wrap(Wrap { trim: true })
        .render(below, buf);
}

/// What the form has to say, most important first.
fn messages(app: &App, form: &SignInForm, theme: Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if let Some(error) = &form.error {
        lines.push(Line::styled(error.clone(), theme.tone(Tone::Warning)));
    }
    if let Some(at) = form.retry_at.filter(|at| *at > app.now) {
        lines.push(Line::styled(
            format!(
                "Too many attempts: you can try again in {} s.",
                app.seconds_until(at)
            ),
            theme.tone(Tone::Warning),
        ));
    }
    if let Link::Retrying { retry_at, .. } = &app.link {
        lines.push(Line::styled(
            format!(
                "Connection lost: reconnecting in {} s…",
                app.seconds_until(*retry_at)
            ),
            theme.tone(Tone::Warning),
        ));
    }
    if form.send_when_connected {
        lines.push(Line::raw(
            "You will be signed in as soon as jqueue reconnects.",
        ));
    } else if form.busy {
        lines.push(Line::raw("Signing in…"));
    } else if lines.is_empty() && !form.new_account {
        lines.push(Line::styled(
            format!("Passwords are {PASSWORD_RULE}."),
            theme.dim(),
        ));
    }
    lines
}
