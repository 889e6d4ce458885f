//! Office hours: a queue's weekly hours (`hours = ["Mon 14:00-16:00"]`),
//! the days it stays closed (`closed = ["2026-12-24"]`), its extra sessions
//! (`extra = ["2026-12-18 09:00-12:00"]`) and their time zone (`timezone =
//! "America/Chicago"`, else the host's), and what they say about an
//! instant: open or not, and when that changes next.
//!
//! It reads no clock and owns no timer: the queue's owner asks with the
//! time and sleeps until the next change itself; `jqueue-server schedule`
//! prints the coming week from the same answers. Local times are turned
//! into instants through the zone, so a session keeps its wall-clock hours
//! across a change of daylight-saving time.

use std::fmt;

use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Weekday,
};
use chrono_tz::Tz;

use jqueue_core::queue::UnixMillis;

/// How far ahead the next change is looked for: a week and a day covers
/// every weekly session.
const LOOK_AHEAD_DAYS: u64 = 8;

/// A schedule entry that cannot be read, as it was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entry:?}: {reason}")]
pub struct ScheduleError {
    pub entry: String,
    pub reason: String,
}

fn error(entry: &str, reason: impl Into<String>) -> ScheduleError {
    ScheduleError {
        entry: entry.to_owned(),
        reason: reason.into(),
    }
}

/// Where the hours are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// The host's own zone (the `TZ` variable, else the system's).
    Host,
    Named(Tz),
}

impl Zone {
    /// `Area/City`, as the IANA database names it.
    pub fn parse(name: &str) -> Result<Self, ScheduleError> {
        name.parse::<Tz>().map(Zone::Named).map_err(|_| {
            error(
                name,
                "not a time zone: use the IANA name, such as America/Chicago",
            )
        })
    }

    /// The instant `local` names here: in a daylight-saving gap (a time
    /// that does not exist that day), the moment the clocks jump to; in an
    /// overlap, the first of the two.
    fn instant(self, local: NaiveDateTime) -> UnixMillis {
        fn first<Z: TimeZone>(zone: &Z, local: NaiveDateTime) -> UnixMillis {
            let mut at = local;
            // A gap is at most a few hours wide: step to its end.
            for _ in 0..=24 * 4 {
                match zone.from_local_datetime(&at) {
                    LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                        return t.timestamp_millis();
                    }
                    LocalResult::None => at += chrono::Duration::minutes(15),
                }
            }
            local.and_utc().timestamp_millis()
        }
        match self {
            Zone::Host => first(&chrono::Local, local),
            Zone::Named(tz) => first(&tz, local),
        }
    }

    /// The local date and time of `at` here.
    pub fn local(self, at: UnixMillis) -> NaiveDateTime {
        let utc = DateTime::from_timestamp_millis(at).unwrap_or_default();
        match self {
            Zone::Host => utc.with_timezone(&chrono::Local).naive_local(),
            Zone::Named(tz) => utc.with_timezone(&tz).naive_local(),
        }
    }
}

/// One stretch of office hours, in local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hours {
    start: NaiveTime,
    end: NaiveTime,
}

impl Hours {
    /// `14:00-16:00`: the end after the start, both on one day.
    fn parse(entry: &str, text: &str) -> Result<Self, ScheduleError> {
        let (start, end) = text
            .split_once('-')
            .ok_or_else(|| error(entry, "the hours are HH:MM-HH:MM"))?;
        let time = |t: &str| {
            NaiveTime::parse_from_str(t.trim(), "%H:%M")
                .map_err(|_| error(entry, format!("{:?} is not a time (HH:MM)", t.trim())))
        };
        let hours = Self {
            start: time(start)?,
            end: time(end)?,
        };
        if hours.end <= hours.start {
            return Err(error(
                entry,
                "the end must be after the start, on the same day (split a session that \
                 runs past midnight in two)",
            ));
        }
        Ok(hours)
    }
}

/// A session of office hours, as instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    pub opens: UnixMillis,
    pub closes: UnixMillis,
}

/// A queue's office hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    weekly: Vec<(Weekday, Hours)>,
    closed: Vec<NaiveDate>,
    extra: Vec<(NaiveDate, Hours)>,
    zone: Zone,
}

impl Schedule {
    /// Reads the config's lists; the first entry that cannot be read is
    /// the error. `None` when no hours or extra sessions are given: the
    /// queue is then opened and closed by hand only.
    pub fn parse(
        hours: &[String],
        closed: &[String],
        extra: &[String],
        timezone: Option<&str>,
    ) -> Result<Option<Self>, ScheduleError> {
        let zone = timezone.map_or(Ok(Zone::Host), Zone::parse)?;
        let weekly = hours
            .iter()
            .map(|entry| parse_weekly(entry))
            .collect::<Result<Vec<_>, _>>()?;
        let closed = closed
            .iter()
            .map(|entry| parse_date(entry, entry))
            .collect::<Result<Vec<_>, _>>()?;
        let extra = extra
            .iter()
            .map(|entry| parse_extra(entry))
            .collect::<Result<Vec<_>, _>>()?;
        if weekly.is_empty() && extra.is_empty() {
            return Ok(None);
        }
        Ok(Some(Self {
            weekly,
            closed,
            extra,
            zone,
        }))
    }

    pub fn zone(&self) -> Zone {
        self.zone
    }

    /// The sessions of one local day: its weekly hours unless the day is
    /// closed, and its extra sessions.
    fn day(&self, date: NaiveDate) -> impl Iterator<Item = Session> + '_ {
        let weekly = self
            .weekly
            .iter()
            .filter(move |(day, _)| *day == date.weekday() && !self.closed.contains(&date))
            .map(|(_, hours)| *hours);
        let extra = self
            .extra
            .iter()
            .filter(move |(day, _)| *day == date)
            .map(|(_, hours)| *hours);
        weekly.chain(extra).map(move |hours| Session {
            opens: self.zone.instant(date.and_time(hours.start)),
            closes: self.zone.instant(date.and_time(hours.end)),
        })
    }

    /// The sessions from the local day before `from` to `days` days after
    /// it, in order, overlapping and touching ones merged.
    pub fn sessions(&self, from: UnixMillis, days: u64) -> Vec<Session> {
        let today = self.zone.local(from).date();
        let first = today.checked_sub_days(Days::new(1)).unwrap_or(today);
        let mut all: Vec<Session> = (0..=days + 1)
            .filter_map(|n| first.checked_add_days(Days::new(n)))
            .flat_map(|date| self.day(date).collect::<Vec<_>>())
            .collect();
        all.sort_by_key(|s| s.opens);
        let mut merged: Vec<Session> = Vec::with_capacity(all.len());
        for session in all {
            match merged.last_mut() {
                Some(last) if session.opens <= last.closes => {
                    last.closes = last.closes.max(session.closes);
                }
                _ => merged.push(session),
            }
        }
        merged
    }

    /// The session `at` falls in, if any.
    pub fn session_at(&self, at: UnixMillis) -> Option<Session> {
        self.sessions(at, 1)
            .into_iter()
            .find(|s| s.opens <= at && at < s.closes)
    }

    /// Whether the queue is to be open at `at`.
    pub fn is_open_at(&self, at: UnixMillis) -> bool {
        self.session_at(at).is_some()
    }

    /// The next instant after `at` when the queue is to open or close, and
    /// whether it opens then.
    pub fn next_change(&self, at: UnixMillis) -> Option<(UnixMillis, bool)> {
        self.sessions(at, LOOK_AHEAD_DAYS)
            .into_iter()
            .find_map(|s| {
                if at < s.opens {
                    Some((s.opens, true))
                } else if at < s.closes {
                    Some((s.closes, false))
                } else {
                    None
                }
            })
    }
}

/// Who is on duty when (`shifts = ["tara Mon 14:00-16:00"]`), in the
/// office hours' zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shifts {
    shifts: Vec<(String, Weekday, Hours)>,
    zone: Zone,
}

/// A staff member's shift, as instants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shift {
    pub staff: String,
    pub starts: UnixMillis,
    pub ends: UnixMillis,
}

impl Shifts {
    /// Reads `NAME DAY HH:MM-HH:MM` entries; `None` when there are none.
    pub fn parse(entries: &[String], zone: Zone) -> Result<Option<Self>, ScheduleError> {
        let shifts = entries
            .iter()
            .map(|entry| parse_shift(entry))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((!shifts.is_empty()).then_some(Self { shifts, zone }))
    }

    /// Every shift from the local day before `from` to a week after it, by
    /// start.
    fn around(&self, from: UnixMillis) -> Vec<Shift> {
        let today = self.zone.local(from).date();
        let first = today.checked_sub_days(Days::new(1)).unwrap_or(today);
        let mut all: Vec<Shift> = (0..=LOOK_AHEAD_DAYS)
            .filter_map(|n| first.checked_add_days(Days::new(n)))
            .flat_map(|date| {
                self.shifts
                    .iter()
                    .filter(move |(_, day, _)| *day == date.weekday())
                    .map(move |(staff, _, hours)| Shift {
                        staff: staff.clone(),
                        starts: self.zone.instant(date.and_time(hours.start)),
                        ends: self.zone.instant(date.and_time(hours.end)),
                    })
            })
            .collect();
        all.sort_by(|a, b| a.starts.cmp(&b.starts).then_with(|| a.staff.cmp(&b.staff)));
        all
    }

    /// The shifts under way at `at`.
    pub fn on_duty(&self, at: UnixMillis) -> Vec<Shift> {
        self.around(at)
            .into_iter()
            .filter(|s| s.starts <= at && at < s.ends)
            .collect()
    }

    /// The shifts that start next after `at` (all that start at that
    /// instant).
    pub fn next(&self, at: UnixMillis) -> Vec<Shift> {
        let later: Vec<Shift> = self
            .around(at)
            .into_iter()
            .filter(|s| s.starts > at)
            .collect();
        let first = later.first().map(|s| s.starts);
        later
            .into_iter()
            .filter(|s| Some(s.starts) == first)
            .collect()
    }

    /// The next instant after `at` when someone's shift starts or ends.
    pub fn next_change(&self, at: UnixMillis) -> Option<UnixMillis> {
        self.around(at)
            .into_iter()
            .flat_map(|s| [s.starts, s.ends])
            .filter(|&t| t > at)
            .min()
    }
}

/// `tara Mon 14:00-16:00`.
fn parse_shift(entry: &str) -> Result<(String, Weekday, Hours), ScheduleError> {
    let (staff, rest) = entry
        .trim()
        .split_once(char::is_whitespace)
        .ok_or_else(|| {
            error(
                entry,
                "a shift is NAME DAY HH:MM-HH:MM, as tara Mon 14:00-16:00",
            )
        })?;
    if !jqueue_shared::validate::is_valid_username(staff) {
        return Err(error(entry, format!("{staff:?} is not a login name")));
    }
    let (day, hours) = parse_weekly(rest).map_err(|e| error(entry, e.reason))?;
    Ok((staff.to_owned(), day, hours))
}

/// One `--shift` entry.
pub fn shift_entry(entry: &str) -> Result<String, String> {
    parse_shift(entry)
        .map(|_| entry.trim().to_owned())
        .map_err(|e| e.reason)
}

/// One `--hours` entry, checked as the server will read it.
pub fn weekly_entry(entry: &str) -> Result<String, String> {
    parse_weekly(entry)
        .map(|_| entry.trim().to_owned())
        .map_err(|e| e.reason)
}

/// One `--closed` entry.
pub fn closed_entry(entry: &str) -> Result<String, String> {
    parse_date(entry, entry)
        .map(|_| entry.trim().to_owned())
        .map_err(|e| e.reason)
}

/// One `--extra` entry.
pub fn extra_entry(entry: &str) -> Result<String, String> {
    parse_extra(entry)
        .map(|_| entry.trim().to_owned())
        .map_err(|e| e.reason)
}

/// `--timezone`.
pub fn zone_entry(name: &str) -> Result<String, String> {
    Zone::parse(name)
        .map(|_| name.to_owned())
        .map_err(|e| e.reason)
}

fn parse_date(entry: &str, text: &str) -> Result<NaiveDate, ScheduleError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        error(
            entry,
            format!("{:?} is not a date (YYYY-MM-DD)", text.trim()),
        )
    })
}

/// `Mon 14:00-16:00`.
fn parse_weekly(entry: &str) -> Result<(Weekday, Hours), ScheduleError> {
    let (day, hours) = entry
        .trim()
        .split_once(char::is_whitespace)
        .ok_or_else(|| {
            error(
                entry,
                "weekly hours are DAY HH:MM-HH:MM, as Mon 14:00-16:00",
            )
        })?;
    let day = day
        .parse::<Weekday>()
        .map_err(|_| error(entry, format!("{day:?} is not a day: Mon, Tue, … Sun")))?;
    Ok((day, Hours::parse(entry, hours)?))
}

/// `2026-12-18 09:00-12:00`.
fn parse_extra(entry: &str) -> Result<(NaiveDate, Hours), ScheduleError> {
    let (date, hours) = entry
        .trim()
        .split_once(char::is_whitespace)
        .ok_or_else(|| {
            error(
                entry,
                "an extra session is YYYY-MM-DD HH:MM-HH:MM, as 2026-12-18 09:00-12:00",
            )
        })?;
    Ok((parse_date(entry, date)?, Hours::parse(entry, hours)?))
}

/// The coming week, one line per session: what `jqueue-server schedule`
/// prints.
#[derive(Debug)]
pub struct Week<'a> {
    pub schedule: &'a Schedule,
    pub from: UnixMillis,
}

impl fmt::Display for Week<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let zone = self.schedule.zone;
        let end = self.from + 7 * 24 * 3_600_000;
        let sessions: Vec<Session> = self
            .schedule
            .sessions(self.from, 7)
            .into_iter()
            .filter(|s| s.closes > self.from && s.opens < end)
            .collect();
        if sessions.is_empty() {
            return writeln!(f, "no office hours in the coming week");
        }
        for s in sessions {
            let (opens, closes) = (zone.local(s.opens), zone.local(s.closes));
            let now = if s.opens <= self.from {
                "  (open now)"
            } else {
                ""
            };
            writeln!(
                f,
                "{}  {}–{}{now}",
                opens.format("%a %Y-%m-%d"),
                opens.format("%H:%M"),
                closes.format("%H:%M")
            )?;
        }
        Ok(())
    }
}

/// `jqueue-server schedule`'s zone line: which zone the times are in.
pub fn zone_name(zone: Zone) -> String {
    match zone {
        Zone::Host => "the host's time zone".to_owned(),
        Zone::Named(tz) => tz.name().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chicago(weekly: &[&str], closed: &[&str], extra: &[&str]) -> Schedule {
        let list = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        Schedule::parse(
            &list(weekly),
            &list(closed),
            &list(extra),
            Some("America/Chicago"),
        )
        .unwrap()
        .unwrap()
    }

    /// `2026-12-07 13:59` in Chicago (a Monday), as an instant.
    fn at(local: &str) -> UnixMillis {
        let tz: Tz = "America/Chicago".parse().unwrap();
        let naive = NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").unwrap();
        tz.from_local_datetime(&naive).unwrap().timestamp_millis()
    }

    #[test]
    fn weekly_hours_open_and_close_on_time_in_their_zone() {
        let s = chicago(&["Mon 14:00-16:00", "Wed 10:00-12:00"], &[], &[]);
        assert!(!s.is_open_at(at("2026-12-07 13:59")));
        assert_eq!(
            s.next_change(at("2026-12-07 13:59")),
            Some((at("2026-12-07 14:00"), true))
        );
        assert!(s.is_open_at(at("2026-12-07 14:00")));
        assert_eq!(
            s.next_change(at("2026-12-07 15:00")),
            Some((at("2026-12-07 16:00"), false))
        );
        assert!(!s.is_open_at(at("2026-12-07 16:00")), "the end is closed");
        assert_eq!(
            s.next_change(at("2026-12-07 16:00")),
            Some((at("2026-12-09 10:00"), true)),
            "Wednesday next"
        );
        // From Wednesday noon, a week round to Monday.
        assert_eq!(
            s.next_change(at("2026-12-09 12:00")),
            Some((at("2026-12-14 14:00"), true))
        );
    }

    #[test]
    fn closed_days_and_extra_sessions_are_the_exceptions() {
        let s = chicago(
            &["Thu 14:00-16:00"],
            &["2026-12-24"],
            &["2026-12-18 09:00-12:00"],
        );
        assert!(!s.is_open_at(at("2026-12-24 15:00")), "closed on the 24th");
        assert!(s.is_open_at(at("2026-12-17 15:00")));
        assert!(s.is_open_at(at("2026-12-18 09:30")), "the extra session");
        assert_eq!(
            s.next_change(at("2026-12-23 12:00")),
            Some((at("2026-12-31 14:00"), true)),
            "past the closed Thursday"
        );
    }

    #[test]
    fn touching_sessions_are_one_and_hours_keep_their_wall_clock_across_dst() {
        let s = chicago(&["Mon 10:00-12:00", "Mon 12:00-13:00"], &[], &[]);
        assert_eq!(
            s.next_change(at("2026-12-07 11:00")),
            Some((at("2026-12-07 13:00"), false)),
            "no close and reopen at noon"
        );
        // Clocks go forward on 2027-03-14 in Chicago: still 10:00 local.
        let s = chicago(&["Mon 10:00-12:00"], &[], &[]);
        let monday = at("2027-03-15 10:00");
        assert_eq!(s.next_change(at("2027-03-12 12:00")), Some((monday, true)));
        assert_eq!(
            at("2027-03-15 10:00") - at("2027-03-08 10:00"),
            7 * 24 * 3_600_000 - 3_600_000,
            "an hour shorter week"
        );
    }

    #[test]
    fn a_time_that_does_not_exist_opens_when_the_clocks_jump() {
        // 02:30 does not exist on 2027-03-14 in Chicago.
        let s = chicago(&["Sun 02:30-04:00"], &[], &[]);
        assert_eq!(
            s.next_change(at("2027-03-13 12:00")),
            Some((at("2027-03-14 03:00"), true))
        );
    }

    #[test]
    fn bad_entries_say_what_is_wrong() {
        let list = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        for (hours, closed, extra, zone, words) in [
            (&["Mon 14:00"][..], &[][..], &[][..], None, "HH:MM-HH:MM"),
            (&["Mnd 14:00-16:00"], &[], &[], None, "not a day"),
            (&["Mon 16:00-14:00"], &[], &[], None, "after the start"),
            (&["Mon 25:00-26:00"], &[], &[], None, "not a time"),
            (
                &["Mon 14:00-16:00"],
                &["24.12.2026"],
                &[],
                None,
                "not a date",
            ),
            (&[], &[], &["2026-12-18"], None, "an extra session is"),
            (
                &["Mon 14:00-16:00"],
                &[],
                &[],
                Some("Mars/Olympus"),
                "not a time zone",
            ),
        ] {
            let err =
                Schedule::parse(&list(hours), &list(closed), &list(extra), zone).expect_err(words);
            assert!(err.to_string().contains(words), "{err}");
        }
        assert_eq!(
            Schedule::parse(&[], &list(&["2026-12-24"]), &[], None),
            Ok(None)
        );
    }

    #[test]
    fn shifts_say_who_is_on_duty_and_who_comes_next() {
        let list = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let zone = Zone::parse("America/Chicago").unwrap();
        let shifts = Shifts::parse(
            &list(&[
                "tara Mon 14:00-16:00",
                "sam Mon 15:00-17:00",
                "ivy Wed 10:00-12:00",
            ]),
            zone,
        )
        .unwrap()
        .unwrap();
        let names = |s: Vec<Shift>| s.into_iter().map(|s| s.staff).collect::<Vec<_>>();
        assert_eq!(names(shifts.on_duty(at("2026-12-07 14:30"))), ["tara"]);
        assert_eq!(names(shifts.next(at("2026-12-07 14:30"))), ["sam"]);
        assert_eq!(
            names(shifts.on_duty(at("2026-12-07 15:30"))),
            ["tara", "sam"]
        );
        let tara = &shifts.on_duty(at("2026-12-07 15:30"))[0];
        assert_eq!(tara.ends, at("2026-12-07 16:00"));
        assert_eq!(names(shifts.next(at("2026-12-07 16:30"))), ["ivy"]);
        assert_eq!(
            shifts.next_change(at("2026-12-07 14:30")),
            Some(at("2026-12-07 15:00"))
        );
        for bad in [
            "tara",
            "Tara Mon 14:00-16:00",
            "tara Mnd 14:00-16:00",
            "tara Mon 16:00-14:00",
        ] {
            assert!(Shifts::parse(&list(&[bad]), zone).is_err(), "{bad}");
        }
        assert_eq!(Shifts::parse(&[], zone), Ok(None));
    }

    #[test]
    fn the_week_prints_one_line_per_session() {
        let s = chicago(
            &["Mon 14:00-16:00", "Wed 10:00-12:00"],
            &["2026-12-09"],
            &[],
        );
        let week = Week {
            schedule: &s,
            from: at("2026-12-07 15:00"),
        }
        .to_string();
        assert_eq!(
            week, "Mon 2026-12-07  14:00–16:00  (open now)\nMon 2026-12-14  14:00–16:00\n",
            "the closed Wednesday is left out; the week ends before the next one"
        );
    }
}
