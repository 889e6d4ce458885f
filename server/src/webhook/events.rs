//! Which webhook events a queue's figures make: the rules alone, with no
//! I/O and no clock of their own (time comes in as an argument), so they are
//! tested here as plain functions.
//!
//! A [`Watcher`] is fed a queue's [`Figures`] each time its staff view
//! changes and answers the events that change makes: the queue opened or
//! closed, the waiting count passed the backlog threshold (once per
//! crossing, armed again once the count is back under it), and nobody on
//! duty signed in while students wait (once per such stretch, and only
//! after [`UNSTAFFED_GRACE`], so a staff screen that reconnects does not
//! page anyone). It must not send anything or read a view itself.

use std::time::Duration;

use jqueue_shared::staff::StaffView;
use serde::Serialize;
use tokio::time::Instant;

/// How long nobody on duty must be signed in while students wait before
/// the `unstaffed` event goes out: a staff member's network blip, or a
/// restart that staff screens ride out, is not worth a message.
pub const UNSTAFFED_GRACE: Duration = Duration::from_secs(60);

/// A queue's figures, as its staff view gives them: nothing personal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Figures {
    pub open: bool,
    pub waiting: u32,
    pub being_helped: u32,
    /// Staff on duty and signed in: with shifts, those whose shift is now
    /// and who are signed in; without, the staff signed in from their own
    /// screens (the server's own account, `professor`, is always "signed
    /// in" at the server and does not count).
    pub on_duty: u32,
}

impl Figures {
    pub fn of(view: &StaffView, professor: &str) -> Self {
        let on_duty = match &view.duty {
            Some(duty) => duty.on.iter().filter(|on| on.online).count(),
            None => view.staff_online.iter().filter(|s| *s != professor).count(),
        };
        Self {
            open: view.open,
            waiting: view.waiting,
            being_helped: u32::try_from(view.helps.len()).unwrap_or(u32::MAX),
            on_duty: u32::try_from(on_duty).unwrap_or(u32::MAX),
        }
    }

    /// Students wait in an open queue and nobody on duty is signed in.
    fn unstaffed(self) -> bool {
        self.open && self.waiting > 0 && self.on_duty == 0
    }
}

/// What happened to a queue, as the body's `event` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    Opened,
    Closed,
    /// The waiting count went over `webhook-backlog`.
    Backlog,
    /// Students have waited [`UNSTAFFED_GRACE`] with nobody on duty
    /// signed in.
    Unstaffed,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opened => "opened",
            Self::Closed => "closed",
            Self::Backlog => "backlog",
            Self::Unstaffed => "unstaffed",
        }
    }
}

/// One queue's events, worked out from its figures as they change.
#[derive(Debug, Clone)]
pub struct Watcher {
    /// `webhook-backlog`: the count to pass, if any.
    backlog: Option<u32>,
    last: Option<Figures>,
    /// The backlog event may go out: the count has been at or under the
    /// threshold since the last one (not at the start, when it was over).
    backlog_armed: bool,
    /// Since when nobody on duty has been signed in while students wait,
    /// and whether this stretch's event has gone out.
    unstaffed_since: Option<(Instant, bool)>,
}

impl Watcher {
    pub fn new(backlog: Option<u32>) -> Self {
        Self {
            backlog,
            last: None,
            backlog_armed: false,
            unstaffed_since: None,
        }
    }

    /// The events `figures`, seen at `now`, make. The first figures are
    /// where the queue stands when the server starts: they make no event
    /// (a restart is not an opening), and a stretch already under way is
    /// not reported.
    pub fn observe(&mut self, figures: Figures, now: Instant) -> Vec<EventKind> {
        let mut events = Vec::new();
        let Some(last) = self.last.replace(figures) else {
            self.backlog_armed = self.backlog.is_some_and(|n| figures.waiting <= n);
            self.unstaffed_since = figures.unstaffed().then_some((now, true));
            return events;
        };
        if figures.open != last.open {
            events.push(if figures.open {
                EventKind::Opened
            } else {
                EventKind::Closed
            });
        }
        if let Some(threshold) = self.backlog {
            if figures.waiting > threshold && self.backlog_armed {
                self.backlog_armed = false;
                events.push(EventKind::Backlog);
            } else if figures.waiting < threshold {
                self.backlog_armed = true;
            }
        }
        match (figures.unstaffed(), self.unstaffed_since) {
            (false, _) => self.unstaffed_since = None,
            (true, None) => self.unstaffed_since = Some((now, false)),
            (true, Some(_)) => {}
        }
        events.extend(self.tick(now));
        events
    }

    /// The `unstaffed` event, if its grace has run out by `now`.
    pub fn tick(&mut self, now: Instant) -> Option<EventKind> {
        match &mut self.unstaffed_since {
            Some((since, sent)) if !*sent && now >= *since + UNSTAFFED_GRACE => {
                *sent = true;
                Some(EventKind::Unstaffed)
            }
            _ => None,
        }
    }

    /// When [`Watcher::tick`] may next have an event, if it may.
    pub fn next_tick(&self) -> Option<Instant> {
        match self.unstaffed_since {
            Some((since, false)) => Some(since + UNSTAFFED_GRACE),
            _ => None,
        }
    }

    /// The figures last seen.
    pub fn figures(&self) -> Option<Figures> {
        self.last
    }
}

/// Which queue an event is about, as the body names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueLabel {
    /// The course's id and title, the queue's id and title (the queue's
    /// title is its id when it has none).
    pub course: String,
    pub course_title: String,
    pub queue: String,
    pub queue_title: String,
}

impl QueueLabel {
    pub fn of(config: &crate::ServerConfig) -> Self {
        Self {
            course: config.course_id.clone(),
            course_title: config.course.clone(),
            queue: config.queue_id.clone(),
            queue_title: config
                .queue_title
                .clone()
                .unwrap_or_else(|| config.queue_id.clone()),
        }
    }

    /// `cs101/lab`, as students type it.
    fn name(&self) -> String {
        format!("{}/{}", self.course, self.queue)
    }
}

/// The JSON body a webhook is sent (docs/ADMIN.md lists its fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventBody {
    pub event: EventKind,
    #[serde(flatten)]
    pub queue: QueueLabel,
    #[serde(flatten)]
    pub figures: Figures,
    /// `webhook-backlog`, when the queue has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backlog: Option<u32>,
    /// When it happened, RFC 3339 in UTC.
    pub at: String,
    /// One line for people: what Slack (and Discord's `/slack` URLs)
    /// post.
    pub text: String,
}

impl EventBody {
    pub fn new(
        event: EventKind,
        queue: QueueLabel,
        figures: Figures,
        backlog: Option<u32>,
        at_ms: i64,
    ) -> Self {
        let at = chrono::DateTime::from_timestamp_millis(at_ms)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let text = sentence(event, &queue, figures, backlog);
        Self {
            event,
            queue,
            figures,
            backlog,
            at,
            text,
        }
    }
}

/// The body's `text`: one line a channel reads at a glance.
fn sentence(
    event: EventKind,
    queue: &QueueLabel,
    figures: Figures,
    backlog: Option<u32>,
) -> String {
    let name = format!("{} ({})", queue.queue_title, queue.name());
    let waiting = students(figures.waiting);
    let on_duty = format!("{} on duty", figures.on_duty);
    match event {
        EventKind::Opened => format!("{name} is open: {waiting} waiting, {on_duty}."),
        EventKind::Closed => format!("{name} is closed: {waiting} still waiting."),
        EventKind::Backlog => format!(
            "{name} has {waiting} waiting (more than {}): {} being helped, {on_duty}.",
            backlog.unwrap_or_default(),
            figures.being_helped
        ),
        EventKind::Unstaffed => {
            format!("{name} has {waiting} waiting and nobody on duty is signed in.")
        }
    }
}

fn students(n: u32) -> String {
    if n == 1 {
        "1 student".to_owned()
    } else {
        format!("{n} students")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(open: bool, waiting: u32, on_duty: u32) -> Figures {
        Figures {
            open,
            waiting,
            being_helped: 0,
            on_duty,
        }
    }

    #[test]
    fn the_first_figures_are_where_the_queue_stands_and_make_no_event() {
        let now = Instant::now();
        let mut watcher = Watcher::new(Some(3));
        assert!(watcher.observe(figures(true, 9, 0), now).is_empty());
        // Over the threshold at the start: no backlog event until it has
        // fallen under it and passed it again.
        assert!(watcher.observe(figures(true, 10, 1), now).is_empty());
        assert!(watcher.observe(figures(true, 2, 1), now).is_empty());
        assert_eq!(
            watcher.observe(figures(true, 4, 1), now),
            [EventKind::Backlog]
        );
    }

    #[test]
    fn opening_and_closing_are_one_event_each() {
        let now = Instant::now();
        let mut watcher = Watcher::new(None);
        watcher.observe(figures(false, 0, 1), now);
        assert_eq!(
            watcher.observe(figures(true, 0, 1), now),
            [EventKind::Opened]
        );
        assert!(watcher.observe(figures(true, 1, 1), now).is_empty());
        assert_eq!(
            watcher.observe(figures(false, 1, 1), now),
            [EventKind::Closed]
        );
        assert!(watcher.observe(figures(false, 0, 1), now).is_empty());
    }

    #[test]
    fn the_backlog_goes_out_once_per_crossing_and_rearms_under_the_threshold() {
        let now = Instant::now();
        let mut watcher = Watcher::new(Some(3));
        watcher.observe(figures(true, 0, 1), now);
        let mut sent = Vec::new();
        // Up past it, wobbling around it, down under it, up past it again.
        for waiting in [1, 2, 3, 4, 5, 4, 3, 4, 5, 6, 2, 3, 4] {
            sent.push((waiting, watcher.observe(figures(true, waiting, 1), now)));
        }
        let crossings: Vec<u32> = sent
            .iter()
            .filter(|(_, events)| events.contains(&EventKind::Backlog))
            .map(|(waiting, _)| *waiting)
            .collect();
        assert_eq!(crossings, [4, 4], "{sent:?}");
    }

    #[test]
    fn nobody_on_duty_while_students_wait_goes_out_once_per_stretch_after_the_grace() {
        let start = Instant::now();
        let mut watcher = Watcher::new(None);
        watcher.observe(figures(true, 0, 1), start);
        // The TA leaves; a student waits.
        assert!(watcher.observe(figures(true, 1, 0), start).is_empty());
        assert_eq!(watcher.next_tick(), Some(start + UNSTAFFED_GRACE));
        assert_eq!(watcher.tick(start + UNSTAFFED_GRACE / 2), None);
        // More join: still the same stretch, nothing new.
        let later = start + UNSTAFFED_GRACE;
        assert!(watcher.observe(figures(true, 2, 0), start).is_empty());
        assert_eq!(watcher.tick(later), Some(EventKind::Unstaffed));
        assert_eq!(watcher.tick(later), None, "once per stretch");
        assert_eq!(watcher.next_tick(), None);
        assert!(watcher.observe(figures(true, 3, 0), later).is_empty());
        // Someone signs in: the stretch ends; the next one is reported too.
        assert!(watcher.observe(figures(true, 3, 1), later).is_empty());
        assert!(watcher.observe(figures(true, 3, 0), later).is_empty());
        assert_eq!(
            watcher.tick(later + UNSTAFFED_GRACE),
            Some(EventKind::Unstaffed)
        );
    }

    #[test]
    fn a_blip_shorter_than_the_grace_sends_nothing() {
        let start = Instant::now();
        let mut watcher = Watcher::new(None);
        watcher.observe(figures(true, 4, 1), start);
        assert!(watcher.observe(figures(true, 4, 0), start).is_empty());
        let back = start + UNSTAFFED_GRACE / 2;
        assert!(watcher.observe(figures(true, 4, 1), back).is_empty());
        assert_eq!(watcher.tick(start + UNSTAFFED_GRACE * 2), None);
        // A closed queue, or an empty one, is not unstaffed.
        assert!(watcher.observe(figures(true, 0, 0), back).is_empty());
        assert_eq!(
            watcher.observe(figures(false, 4, 0), back),
            [EventKind::Closed],
            "closed: not unstaffed"
        );
        assert_eq!(watcher.next_tick(), None);
    }

    #[test]
    fn on_duty_is_those_on_shift_and_signed_in_else_staff_signed_in_but_the_servers_own() {
        use jqueue_shared::staff::{Duty, OnDuty};
        let mut view = StaffView {
            open: true,
            waiting: 2,
            staff_online: vec!["prof".into(), "tara".into()],
            ..StaffView::default()
        };
        assert_eq!(Figures::of(&view, "prof").on_duty, 1, "tara");
        view.staff_online = vec!["prof".into()];
        assert_eq!(Figures::of(&view, "prof").on_duty, 0, "the server's own");
        assert!(Figures::of(&view, "prof").unstaffed());
        let on = |staff: &str, online| OnDuty {
            staff: staff.into(),
            until: 0,
            online,
        };
        view.staff_online = vec!["prof".into(), "tara".into(), "uma".into()];
        view.duty = Some(Duty {
            on: vec![on("tara", false), on("vic", false)],
            next: Vec::new(),
            next_at: None,
            nobody_here: true,
        });
        assert_eq!(
            Figures::of(&view, "prof").on_duty,
            0,
            "uma is signed in but not on shift"
        );
        view.duty.as_mut().unwrap().on[0].online = true;
        assert_eq!(Figures::of(&view, "prof").on_duty, 1);
    }

    #[test]
    fn the_body_names_the_queue_its_figures_and_a_sentence() {
        let queue = QueueLabel {
            course: "cs101".into(),
            course_title: "CS 101".into(),
            queue: "lab".into(),
            queue_title: "Lab".into(),
        };
        let figures = Figures {
            open: true,
            waiting: 11,
            being_helped: 2,
            on_duty: 3,
        };
        let body = EventBody::new(
            EventKind::Backlog,
            queue,
            figures,
            Some(10),
            1_765_000_000_000,
        );
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "event": "backlog",
                "course": "cs101",
                "course_title": "CS 101",
                "queue": "lab",
                "queue_title": "Lab",
                "open": true,
                "waiting": 11,
                "being_helped": 2,
                "on_duty": 3,
                "backlog": 10,
                "at": "2025-12-06T05:46:40Z",
                "text": "Lab (cs101/lab) has 11 students waiting (more than 10): 2 being helped, 3 on duty."
            })
        );
    }
}
