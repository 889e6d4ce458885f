//! Drawing the main screen: the student's status (in large text where there is
//! room, in one line where there is not), the latest announcement, the
//! visible part of the queue with their own row highlighted, and a one-line
//! notice. After a help, a cooldown counts down in the status until the
//! student may ask again.
//!
//! It fits any height down to a single status row: the status comes first
//! (`#P of N` always shows), then the student's own row in the queue, then
//! the announcement, then everything else. It reads the state and never
//! changes it.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};

use jqueue_shared::Place;
use jqueue_shared::sanitize::sanitize;

use jqueue_tui::ui::{fit_parts, pack_parts};

use super::{Pending, Received};
use crate::app::{App, Link};
use crate::screens::big_text::big_text;
use crate::screens::words::{ordinal, wait_range};
use crate::screens::{Theme, centered_lines, disconnect_sentence, short_duration};

/// The tallest status: a bordered box with the position in big digits.
const BIG_STATUS: u16 = 7;
/// A bordered box around one line of status.
const BOXED_STATUS: u16 = 3;
/// The smallest queue panel worth drawing: borders and one row.
const MIN_QUEUE: u16 = 3;
/// Enough queue under a big status to show the top, a gap and your own row.
const ROOMY_QUEUE: u16 = 5;
/// The most lines the places in other queues take (one per place; a
/// student has one place per course).
const MAX_ELSEWHERE_LINES: usize = 3;

pub(crate) fn render(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let notice_height = u16::from(area.height >= 2);
    // Room for the whole announcement, up to three lines of it, if the
    // status and the student's own row still fit beside it.
    let announcement_height = app
        .announcement
        .as_ref()
        .map_or(0, |text| {
            let width = usize::from(area.width.saturating_sub(2)).max(1);
            (text.chars().count().div_ceil(width).clamp(1, 3) + 2) as u16
        })
        .min(
            area.height
                .saturating_sub(BOXED_STATUS + MIN_QUEUE + notice_height),
        );
    let announcement_height = if announcement_height < 3 {
        0
    } else {
        announcement_height
    };
    let room = area.height - notice_height - announcement_height;
    let status_height = if room >= BIG_STATUS + ROOMY_QUEUE {
        BIG_STATUS
    } else if room >= BOXED_STATUS + MIN_QUEUE {
        // A status that needs more than one line takes rows the queue
        // would leave empty, rather than drop its later parts.
        let spare = room.saturating_sub(BOXED_STATUS + queue_rows_wanted(app));
        BOXED_STATUS
            + status_lines(app, theme, area.width)
                .saturating_sub(1)
                .min(spare)
    } else if room > MIN_QUEUE {
        // One bare line of status, and the queue under it.
        1
    } else {
        room
    };
    // One line per place in another queue, under the status, where the
    // queue keeps its smallest panel beside them.
    let invited =
        usize::from(group_invitation(app).is_some()) + usize::from(viewing(app).is_some());
    let elsewhere_height = u16::try_from(app.elsewhere.len().min(MAX_ELSEWHERE_LINES) + invited)
        .unwrap_or(0)
        .min(room.saturating_sub(status_height + MIN_QUEUE));
    let [status, announcement, elsewhere, queue, notice] = Layout::vertical([
        Constraint::Length(status_height),
        Constraint::Length(announcement_height),
        Constraint::Length(elsewhere_height),
        Constraint::Fill(1),
        Constraint::Length(notice_height),
    ])
    .areas(area);
    render_status(app, theme, status, buf);
    render_elsewhere(app, theme, elsewhere, buf);
    if let Some(text) = app
        .announcement
        .as_ref()
        .filter(|_| announcement_height > 0)
    {
        Paragraph::new(text.as_str())
            .wrap(Wrap { trim: true })
            .block(
                Block::bordered()
                    .title(" Announcement ")
                    .title_style(theme.title()),
            )
            .render(announcement, buf);
    }
    if queue.height >= MIN_QUEUE {
        render_queue(app, theme, queue, buf);
    }
    render_notice(app, theme, notice, buf);
}

/// The student's places in other queues, one line each: `Also in line at
/// cs225/office: #3 of 7 · estimated wait 10–15 min`. The last line that
/// fits says how many more there are.
fn render_elsewhere(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let mut area = area;
    // Someone viewing the terminal, first and the whole time: the student
    // must always know.
    if let Some(viewing) = viewing(app).filter(|_| area.height > 0) {
        Line::styled(viewing, theme.alert()).render(Rect { height: 1, ..area }, buf);
        area.y += 1;
        area.height -= 1;
    }
    // An open group first: it is an offer that will not wait.
    if let Some(invitation) = group_invitation(app).filter(|_| area.height > 0) {
        Line::styled(invitation, theme.key()).render(Rect { height: 1, ..area }, buf);
        area.y += 1;
        area.height -= 1;
    }
    let rows = usize::from(area.height);
    let dot = theme.glyph(" · ", " - ");
    for (i, place) in app.elsewhere.iter().take(rows).enumerate() {
        let more = app.elsewhere.len() - i - 1;
        let text = if i + 1 == rows && more > 0 && i == 0 {
            format!("Also in line in {} other queues.", more + 1)
        } else if i + 1 == rows && more > 0 {
            format!("…and in {} more queues.", more + 1)
        } else {
            let view = &place.view;
            let queue = sanitize(&place.queue);
            if let Some(staff) = &place.helped_by {
                let text = format!(
                    "It's your turn at {queue}: {} (staff) is on the way.",
                    sanitize(staff)
                );
                let line = Rect::new(area.x, area.y + i as u16, area.width, 1);
                Line::styled(text, theme.alert()).render(line, buf);
                continue;
            }
            let mut parts = vec![match &view.you {
                Some(you) => {
                    format!(
                        "Also in line at {queue}: #{} of {}",
                        you.position, view.length
                    )
                }
                None => format!("Also in line at {queue}:"),
            }];
            if let Some(you) = &view.you {
                if let Some(until) = you.away_until {
                    parts.push(format!("not here, kept until {}", app.clock_time(until)));
                } else if let Some(eta) = you.estimated_wait_secs {
                    parts.push(format!("estimated wait {}", wait_range(eta)));
                }
            }
            if !view.open {
                parts.push("closed to new requests".to_owned());
            }
            fit_parts(&parts, dot, usize::from(area.width))
        };
        let line = Rect::new(area.x, area.y + i as u16, area.width, 1);
        Line::styled(text, theme.dim()).render(line, buf);
    }
}

/// `tara is viewing your terminal — press x to stop`, while a staff
/// member views the student's `jqueue share`.
fn viewing(app: &App) -> Option<String> {
    let staff = app.share_viewer.as_deref()?;
    Some(format!(
        "{} is viewing your terminal — press x to stop",
        sanitize(staff)
    ))
}

/// `Join tara's group on linked lists? Press j (you leave your place).`,
/// while the student is in line and staff opened a help to others; with
/// several, the first (the others are counted).
fn group_invitation(app: &App) -> Option<String> {
    let group = app
        .open_groups
        .first()
        .filter(|_| app.position().is_some())?;
    let more = match app.open_groups.len() - 1 {
        0 => String::new(),
        n => format!(" ({n} more open)"),
    };
    Some(format!(
        "Join {}'s group on {}? Press j (you leave your place).{more}",
        sanitize(&group.staff),
        sanitize(&group.topic)
    ))
}

/// How many lines the status needs inside its box, `width` wide.
fn status_lines(app: &App, theme: Theme, width: u16) -> u16 {
    let standing = standing(app, theme);
    let width = usize::from(width.saturating_sub(2));
    let lines = pack_parts(&standing.parts, standing.sep, width, standing.parts.len()).len();
    u16::try_from(lines).unwrap_or(u16::MAX).max(1)
}

/// The rows the queue panel would fill: its borders and every row it has
/// (one for "Nobody is waiting.").
fn queue_rows_wanted(app: &App) -> u16 {
    let rows = app.queue_length().unwrap_or(0).clamp(1, 50);
    u16::try_from(rows).unwrap_or(50) + 2
}

/// Where the student stands, as the status box says it, most important
/// first: the first part is the headline, the rest details that may be left
/// out when room is short. (Not a [`jqueue_tui::status_message`]: that is
/// the notice under the queue.)
struct Standing {
    parts: Vec<String>,
    /// How the parts join on one line.
    sep: &'static str,
    alert: bool,
}

/// It is the student's turn: who is coming (with whom, in a group help),
/// or who called while they were away.
fn your_turn(app: &App, theme: Theme) -> Standing {
    let star = theme.glyph("★", "*");
    let mut parts = vec![format!("{star}  IT'S YOUR TURN  {star}")];
    match &app.called {
        // Who called first: where there is room for one line only,
        // that is what the student needs.
        Some(called) if called.missed => {
            parts.push(match called.together.words() {
                Some(with) => format!("{} (staff) called you — {with}.", called.by),
                None => format!("{} (staff) called you.", called.by),
            });
            parts.push(format!(
                "You were called at {} while you were away.",
                app.clock_time(called.at)
            ));
        }
        Some(called) => parts.push(match called.together.words() {
            Some(with) => format!("{} (staff) is on the way — {with}.", called.by),
            None => format!("{} (staff) is on the way.", called.by),
        }),
        None => parts.push("Staff are ready to help you.".to_owned()),
    }
    Standing {
        parts,
        sep: "  ",
        alert: true,
    }
}

fn standing(app: &App, theme: Theme) -> Standing {
    let dot = theme.glyph(" · ", " - ");
    if app.link != Link::Up {
        return link_down(app);
    }
    if app.your_turn {
        return your_turn(app, theme);
    }
    if let Some(until) = app.away_until {
        // Until when before where: a student kept at the front needs the
        // deadline more than the number.
        let mut parts = vec![
            "Staff could not find you — press b when you are back".to_owned(),
            format!("your place is kept until {}.", app.clock_time(until)),
        ];
        if let Some(p) = app.position() {
            parts.push(format!("#{p} of {}", app.queue_length().unwrap_or(p)));
        }
        return Standing {
            parts,
            sep: dot,
            alert: true,
        };
    }
    let Some(received) = &app.queue else {
        return Standing {
            parts: vec!["Waiting for the queue…".to_owned()],
            sep: dot,
            alert: false,
        };
    };
    let view = &received.view;
    let mut parts = Vec::new();
    if let Some(you) = &view.you {
        let elapsed = app.seconds_since_view();
        parts.push(format!("#{} of {}", you.position, view.length));
        if app.should_get_ready() {
            parts.push(format!("You're {} — get ready", ordinal(you.position)));
        }
        // Why this place: the course's rules, in plain words.
        if let Some(why) = place_words(you.place) {
            parts.push(why.to_owned());
        }
        // The estimate before the time waited: the row below shows that too.
        // No estimate yet is not worth the room.
        if let Some(eta) = you.estimated_wait_secs {
            parts.push(format!(
                "estimated wait {}",
                wait_range(eta.saturating_sub(elapsed))
            ));
        }
        parts.push(format!(
            "waiting {}",
            waited_time(app.waited_secs(you.joined_at_ms))
        ));
        if !view.open {
            parts.push("The queue is closed to new requests; you keep your place.".to_owned());
        }
        if let Some(closes) = app.closes_words() {
            parts.push(closes);
        }
    } else if !view.open {
        parts.push("The queue is closed".to_owned());
        parts.push(
            app.opens_words()
                .unwrap_or_else(|| "The professor is not taking requests right now.".to_owned()),
        );
    } else if let (Some(words), Some(until)) = (app.cooldown_words(), app.cooldown_until) {
        parts.push(words);
        parts.push(format!("at {}", app.clock_time(until)));
        parts.push("You are not in line".to_owned());
    } else {
        parts.push("You are not in line".to_owned());
        parts.push("press h to ask for help".to_owned());
        if let Some(closes) = app.closes_words() {
            parts.push(closes);
        }
        if let Some(eta) = view.estimated_wait_secs {
            parts.push(format!("estimated wait {}", wait_range(eta)));
        }
    }
    Standing {
        parts,
        sep: dot,
        alert: false,
    }
}

/// Why a student stands where they do, when a rule put them there.
fn place_words(place: Place) -> Option<&'static str> {
    match place {
        Place::Arrival | Place::KeptAtFront => None,
        Place::FirstTime => Some("first help today: ahead of students already helped"),
        Place::AfterFirstTimers => Some("helped earlier today: after the first-timers"),
        Place::Drawn => Some("asked at the opening: the order was drawn at random"),
        Place::Pool => Some("before the opening: your place is drawn when it opens"),
    }
}

/// Reconnecting (or the server has shut down): the reassurance and the
/// countdown come straight after the headline, why the connection went
/// last, in a plain sentence (the raw error is in the log).
fn link_down(app: &App) -> Standing {
    let mut parts = vec![
        if app.server_shut_down {
            "The server has shut down"
        } else {
            "Reconnecting…"
        }
        .to_owned(),
    ];
    if app.position().is_some() {
        parts.push("Your place in line is kept.".to_owned());
    }
    match &app.link {
        Link::Retrying { reason, retry_at } => {
            parts.push(format!(
                "Trying again in {} s.",
                app.seconds_until(*retry_at)
            ));
            parts.push(if app.server_shut_down {
                "Office hours may be over; jqueue will reconnect if the server comes back."
                    .to_owned()
            } else {
                disconnect_sentence(reason).to_owned()
            });
        }
        Link::Connecting { .. } | Link::Up | Link::Renewing => parts.push("Connecting…".to_owned()),
    }
    Standing {
        parts,
        sep: " ",
        alert: false,
    }
}

fn render_status(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let Standing { parts, sep, alert } = standing(app, theme);
    let inner = if area.height >= BOXED_STATUS {
        let block = Block::bordered();
        let inner = block.inner(area);
        block.render(area, buf);
        inner
    } else {
        area
    };
    let width = usize::from(inner.width);
    let headline_style = if alert {
        theme.alert()
    } else {
        theme.headline()
    };
    if inner.height < 5 {
        // One line, or a few: as many whole parts as fit.
        let lines: Vec<Line> = pack_parts(&parts, sep, width, usize::from(inner.height))
            .into_iter()
            .enumerate()
            .map(|(i, text)| {
                if i == 0 {
                    Line::styled(text, headline_style)
                } else {
                    Line::raw(text)
                }
            })
            .collect();
        if alert {
            buf.set_style(inner, theme.alert());
        }
        centered_lines(lines, inner, buf);
        return;
    }
    let [big, gap, detail] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(inner);
    // Details that need two lines take the gap under the big text too.
    let two_rows = gap.union(detail);
    let in_line = app.link == Link::Up
        && !app.your_turn
        && app.away_until.is_none()
        && app.position().is_some();
    let (headline, details) = parts.split_first().expect("a standing has a headline");
    if app.link != Link::Up {
        // Headline, then the rest as sentences: no big area to fill.
        let mut lines = vec![Line::styled(headline.clone(), theme.headline())];
        lines.extend(
            pack_parts(details, sep, width, usize::from(inner.height) - 1)
                .into_iter()
                .map(Line::raw),
        );
        centered_lines(lines, inner, buf);
        return;
    }
    if alert {
        buf.set_style(big, theme.alert());
    }
    match app.position().filter(|_| in_line) {
        Some(position) if big_position_fits(app, theme, position, width) => {
            render_big_position(app, theme, position, big, buf);
        }
        _ => centered_lines(
            vec![Line::styled(headline.clone(), headline_style)],
            big,
            buf,
        ),
    }
    // Under the big digits the position is said again in text, so it can be
    // read (and copied) whatever the font; the digits are only a bonus.
    let details = if in_line { &parts[..] } else { details };
    let dim = |text: &String| text.starts_with("The queue is closed to new");
    let lines: Vec<Line> = pack_parts(
        &details
            .iter()
            .filter(|t| !dim(t))
            .cloned()
            .collect::<Vec<_>>(),
        sep,
        width,
        usize::from(two_rows.height),
    )
    .into_iter()
    .map(Line::raw)
    .chain(
        details
            .iter()
            .filter(|t| dim(t))
            .map(|t| Line::styled(t.clone(), theme.dim())),
    )
    .collect();
    let area = if lines.len() > 1 { two_rows } else { detail };
    centered_lines(lines, area, buf);
}

/// `   of N` beside the big `#P`.
fn beside(app: &App) -> String {
    format!("   of {}", app.queue_length().unwrap_or(0))
}

fn big_position_fits(app: &App, theme: Theme, position: u32, width: usize) -> bool {
    let [row, ..] = big_text(&format!("#{position}"), theme);
    row.chars().count() + beside(app).chars().count() <= width
}

/// `#2` three rows tall, with `of 5` beside its middle row.
fn render_big_position(app: &App, theme: Theme, position: u32, area: Rect, buf: &mut Buffer) {
    let beside = beside(app);
    let blank = " ".repeat(beside.chars().count());
    let lines: Vec<Line> = big_text(&format!("#{position}"), theme)
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            Line::from(vec![
                Span::styled(row, theme.headline()),
                if i == 1 {
                    Span::styled(beside.clone(), theme.title())
                } else {
                    Span::raw(blank.clone())
                },
            ])
        })
        .collect();
    Paragraph::new(lines).centered().render(area, buf);
}

/// "3 min 12 s": the live waiting counter, which ticks every second.
fn waited_time(secs: u64) -> String {
    if secs < 3600 {
        format!("{} min {:02} s", secs / 60, secs % 60)
    } else {
        short_duration(secs)
    }
}

fn render_queue(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let Some(received) = &app.queue else {
        Block::bordered().title(" Queue ").render(area, buf);
        return;
    };
    let view = &received.view;
    let title = fit_parts(
        &[
            "Queue".to_owned(),
            format!("{} waiting", view.length),
            if view.open { "open" } else { "closed" }.to_owned(),
        ],
        theme.glyph(" · ", " - "),
        usize::from(area.width.saturating_sub(4)),
    );
    let block = Block::bordered()
        .title(format!(" {title} "))
        .title_style(theme.title());
    let inner = block.inner(area);
    block.render(area, buf);
    if view.length == 0 {
        centered_lines(
            vec![Line::styled("Nobody is waiting.", theme.dim())],
            inner,
            buf,
        );
        return;
    }
    let lines = queue_lines(
        app,
        received,
        theme,
        inner.height as usize,
        inner.width as usize,
    );
    Paragraph::new(Text::from(lines)).render(inner, buf);
}

/// The rows that fit in `height` lines. The student's own row always shows
/// (after a gap mark when it is further down); then as many rows from the
/// top as fit, then "and N more" if there is still a line for it.
fn queue_lines<'a>(
    app: &App,
    received: &'a Received,
    theme: Theme,
    height: usize,
    width: usize,
) -> Vec<Line<'a>> {
    let view = &received.view;
    let own = view.you.as_ref();
    let own_position = own.map(|you| you.position);
    let marker = theme.glyph("▶", ">");
    let row_line = |position: u32, name: &str, joined_at_ms: i64, mine: bool| {
        let marker = if mine { marker } else { " " };
        // Marker, position, name, and the time waited against the right
        // edge; on a narrow screen the name goes first.
        let waited = short_duration(app.waited_secs(joined_at_ms));
        let name_width = width.saturating_sub(20);
        let text = if name_width >= 5 {
            let name_width = name_width.max(8);
            let name: String = name.chars().take(name_width).collect();
            format!("{marker} #{position:<4} {name:<name_width$} {waited:>10} ")
        } else {
            let time_width = width.saturating_sub(9).max(1);
            format!("{marker} #{position:<4} {waited:>time_width$} ")
        };
        if mine {
            Line::styled(text, theme.own_row())
        } else {
            Line::raw(text)
        }
    };
    let own_name = format!("{} (you)", app.settings.username);
    let line_for = |row: &jqueue_shared::ViewRow| {
        let mine = Some(row.position) == own_position;
        let name = if mine {
            own_name.clone()
        } else {
            row.name.as_deref().map_or_else(
                || "student".to_owned(),
                |n| jqueue_shared::sanitize(n).into_owned(),
            )
        };
        row_line(row.position, &name, row.joined_at_ms, mine)
    };

    let total = view.length as usize;
    if total <= height && view.rows.len() == total {
        return view.rows.iter().map(line_for).collect();
    }
    // Not everything fits. Lines needed besides the top rows: the own row and
    // a gap mark when it is below them, and "and N more" when there is room.
    let more_line = usize::from(height >= 2);
    let fits_in_order =
        |top: usize| own_position.is_none_or(|p| (p as usize) <= top.min(view.rows.len()));
    let top = height - more_line;
    let (top, own_below) = if fits_in_order(top) {
        (top, false)
    } else {
        // The own row, with the gap mark before it if a top row fits too.
        let top = height.saturating_sub(more_line + 2);
        (top, true)
    };
    let mut lines: Vec<Line> = view.rows.iter().take(top).map(line_for).collect();
    let mut shown = lines.len();
    if let (true, Some(you)) = (own_below, own) {
        if height >= 2 {
            lines.push(Line::styled(
                format!("  {}", theme.glyph("⋮", ":")),
                theme.dim(),
            ));
        }
        lines.push(row_line(you.position, &own_name, you.joined_at_ms, true));
        shown += 1;
    }
    if total > shown && lines.len() < height {
        lines.push(Line::styled(
            format!("  {}and {} more", theme.glyph("… ", "... "), total - shown),
            theme.dim(),
        ));
    }
    lines
}

fn render_notice(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let line = match (app.pending, &app.status_message) {
        (Some(Pending::Join), _) => Line::raw(" Sending your request…"),
        (Some(Pending::Cancel), _) => Line::raw(" Leaving the queue…"),
        (Some(Pending::Back), _) => Line::raw(" Telling staff you are back…"),
        (Some(Pending::Edit), _) => Line::raw(" Saving your question…"),
        (Some(Pending::Answer), _) => Line::raw(" Sending your answer…"),
        (Some(Pending::JoinGroup), _) => Line::raw(" Joining the group…"),
        (None, Some(notice)) => Line::styled(format!(" {}", notice.text), theme.tone(notice.tone)),
        (None, None) => return,
    };
    line.render(area, buf);
}
