//! `jqueue --staff`: the client's side of jqueue-tui's staff screen — the
//! settings it is opened with, its effects as the client's, and the one line
//! the client draws over it while the connection is down.
//!
//! The screen itself (its state, keys and drawing) is jqueue-tui's, the
//! same one the professor's server draws; nothing here changes it but
//! through [`StaffScreen::update`].

use std::sync::Arc;

use jqueue_shared::QueueChoice;
use jqueue_shared::staff::StaffView;
use jqueue_tui::staff::{
    Role, StaffEffect, StaffEvent, StaffScreen, StaffSettings, Theme as StaffTheme,
};
use jqueue_tui::status_message::Tone;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Widget};
use tokio::time::Instant;

use super::Theme;
use crate::app::{App, Effect, Link};
use crate::net::NetCommand;

/// The staff screen for the first staff view, acting for this signed-in
/// staff member.
pub(crate) fn open(app: &App, view: Arc<StaffView>) -> StaffScreen {
    let settings = StaffSettings {
        me: app.settings.username.clone(),
        role: Role::Assistant,
        bell: app.settings.bell,
        theme: if app.settings.color {
            StaffTheme::COLOR
        } else {
            StaffTheme::PLAIN
        },
        unicode: app.settings.unicode,
        time_zone: app.time_zone,
    };
    StaffScreen::new(settings, view, app.now)
}

/// Passes an event to the staff screen and turns its effects into the
/// client's.
pub(crate) fn update(screen: &mut StaffScreen, event: StaffEvent, now: Instant) -> Vec<Effect> {
    let effects = screen.update(event, now);
    let (bar, _) = screen.queues();
    effects
        .into_iter()
        .filter_map(|effect| match effect {
            StaffEffect::Request { queue, request } => {
                Some(Effect::Send(NetCommand::Staff { queue, request }))
            }
            StaffEffect::JoinAlert => Some(Effect::JoinAlert),
            StaffEffect::Quit => Some(Effect::Quit),
            StaffEffect::ViewShare { student } => {
                Some(Effect::Send(NetCommand::ViewShare { student }))
            }
            StaffEffect::StopViewing => Some(Effect::Send(NetCommand::StopViewing)),
            // The server shows it and says so with the bar and the view
            // ([`set_queues`]); until then the screen stays as it is.
            StaffEffect::ShowQueue(place) => {
                let queue = match place {
                    Some(place) => Some(bar.get(place)?.name.clone()),
                    None => None,
                };
                Some(Effect::Send(NetCommand::ShowQueue(queue)))
            }
        })
        .collect()
}

/// The server's queue bar for this account ([`NetEvent::StaffQueues`]),
/// with the queue shown by name (`None`: all of them).
///
/// [`NetEvent::StaffQueues`]: crate::net::NetEvent::StaffQueues
pub(crate) fn set_queues(screen: &mut StaffScreen, queues: Vec<QueueChoice>, shown: Option<&str>) {
    let place = shown.and_then(|name| queues.iter().position(|q| q.name == name));
    // A name not on the bar (it cannot be) shows as the first queue.
    let place = shown.map(|_| place.unwrap_or(0));
    screen.set_queues(queues, place);
}

/// The staff screen while the connection is down: its last line says the
/// view is not live, and when the next attempt is.
pub(super) fn render_link_down(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let text = match &app.link {
        Link::Retrying { retry_at, .. } => format!(
            " ○ reconnecting in {} s: this view is not live",
            app.seconds_until(*retry_at)
        ),
        Link::Connecting { .. } | Link::Up | Link::Renewing => {
            " ○ reconnecting…: this view is not live".to_owned()
        }
    };
    let line = Rect::new(
        area.x,
        area.bottom().saturating_sub(1),
        area.width,
        1.min(area.height),
    );
    Clear.render(line, buf);
    Line::styled(text, theme.tone(Tone::Warning)).render(line, buf);
}
