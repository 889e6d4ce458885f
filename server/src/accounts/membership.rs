//! Who may sign in (the roster) and who is staff by Unix group: the
//! lookups that read files and the system's user and group database,
//! which on a lab host can be a directory server (LDAP through NSS) that
//! takes seconds to answer.
//!
//! So none of them runs on an owner task: each runs on tokio's blocking
//! pool, and an owner only ever gets the verdict. A lookup a peer can cause
//! before it has signed in (a name typed at the sign-in box) is limited per
//! address, so an outsider cannot keep the directory server busy.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::time::Instant;

use crate::store::roster::Roster;
use crate::store::system_users;
use jqueue_core::rate::{Allowances, ChangeRate};

/// The address has used up its lookups for now: the client is to try
/// again in a moment (it reconnects after its back-off).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("too many name lookups from one address")]
pub struct TooManyLookups;

/// Each course's roster and staff group, and the server's staff group,
/// looked up off the owner tasks.
#[derive(Debug)]
pub(crate) struct Membership {
    /// By course id.
    courses: HashMap<String, CourseMembership>,
    /// Members are staff of every course (`--staff-group`).
    staff_group: Option<String>,
    /// Pre-sign-in lookups per address.
    lookups: Mutex<Allowances<IpAddr, Instant>>,
    lookup_rate: ChangeRate,
}

/// One course's roster and staff group.
#[derive(Debug)]
struct CourseMembership {
    roster: Mutex<Roster>,
    staff_group: Option<String>,
}

impl Membership {
    /// `courses`: each course's id, roster and staff group.
    /// `lookup_rate`: each address's allowance of group lookups before
    /// sign-in (a host's worth of students typing their names at once:
    /// [`super::host_rate`]).
    pub(crate) fn new(
        courses: Vec<(String, Roster, Option<String>)>,
        staff_group: Option<String>,
        lookup_rate: ChangeRate,
    ) -> Self {
        Self {
            courses: courses
                .into_iter()
                .map(|(id, roster, staff_group)| {
                    let roster = Mutex::new(roster);
                    (
                        id,
                        CourseMembership {
                            roster,
                            staff_group,
                        },
                    )
                })
                .collect(),
            staff_group,
            lookups: Mutex::default(),
            lookup_rate,
        }
    }

    /// Whether every course has a roster (where one has none, anyone may
    /// sign in, and new accounts are limited per address instead).
    pub(crate) fn has_roster(&self) -> bool {
        !self.courses.is_empty() && self.courses.keys().all(|id| self.course_has_roster(id))
    }

    fn course_has_roster(&self, course: &str) -> bool {
        self.courses.get(course).is_some_and(|c| {
            c.roster
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .is_set()
        })
    }

    /// Whether `username` is on `course`'s roster (always, without one).
    /// `before_sign_in`: the address of a peer that has not signed in yet,
    /// whose group lookups are limited.
    pub(crate) async fn on_roster(
        self: &Arc<Self>,
        course: &str,
        username: &str,
        before_sign_in: Option<IpAddr>,
    ) -> Result<bool, TooManyLookups> {
        // Without a roster there is nothing to look up: no trip to the
        // blocking pool, where a class signing in at once would otherwise
        // start threads for nothing.
        if !self.course_has_roster(course) {
            return Ok(true);
        }
        let this = self.clone();
        let name = username.to_owned();
        let id = course.to_owned();
        let by_file = blocking(move || {
            this.courses[&id]
                .roster
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .admits_by_file(&name)
        })
        .await;
        match by_file {
            // The file (or no roster) decided; a read that panicked is "no".
            Some(Some(admitted)) => return Ok(admitted),
            None => return Ok(false),
            Some(None) => {}
        }
        let group = self.courses[course]
            .roster
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .group()
            .map(str::to_owned);
        let Some(group) = group else {
            return Ok(false);
        };
        if let Some(ip) = before_sign_in {
            self.lookups
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .spend(ip, self.lookup_rate, Instant::now())
                .map_err(|_| TooManyLookups)?;
        }
        let name = username.to_owned();
        Ok(blocking(move || system_users::in_group(&name, &group))
            .await
            .unwrap_or(false))
    }

    /// Whether `username` is in `--staff-group` or `course`'s
    /// `staff-group`. Only a connection signed in as that OS account may
    /// ask (see [`super::AccountsOwner`]).
    pub(crate) async fn in_staff_group(&self, course: &str, username: &str) -> bool {
        let groups: Vec<String> = self
            .staff_group
            .iter()
            .chain(
                self.courses
                    .get(course)
                    .and_then(|c| c.staff_group.as_ref()),
            )
            .cloned()
            .collect();
        if groups.is_empty() {
            return false;
        }
        let name = username.to_owned();
        blocking(move || {
            groups
                .iter()
                .any(|group| system_users::in_group(&name, group))
        })
        .await
        .unwrap_or(false)
    }
}

/// Runs `f` on the blocking pool; `None` if it panicked or the runtime is
/// going away (a lookup that fails is "no").
async fn blocking<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> Option<R> {
    tokio::task::spawn_blocking(f).await.ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// One course, `c`, with `roster` and no staff group of its own.
    fn one(roster: Roster) -> Vec<(String, Roster, Option<String>)> {
        vec![("c".into(), roster, None)]
    }

    fn at_once(burst: u32) -> ChangeRate {
        ChangeRate {
            burst,
            refill_every: Duration::from_secs(3600),
        }
    }

    #[tokio::test]
    async fn before_sign_in_group_lookups_are_limited_per_address() {
        // `root` is in group `root` on every Debian system.
        let roster = Roster::new(None, Some("root".into())).unwrap();
        let membership = Arc::new(Membership::new(one(roster), None, at_once(2)));
        let outsider: IpAddr = [192, 0, 2, 1].into();
        let neighbour: IpAddr = [192, 0, 2, 2].into();
        for _ in 0..2 {
            assert_eq!(
                membership.on_roster("c", "root", Some(outsider)).await.ok(),
                Some(true)
            );
        }
        assert!(
            membership
                .on_roster("c", "root", Some(outsider))
                .await
                .is_err(),
            "a third lookup at once from one address waits"
        );
        assert_eq!(
            membership
                .on_roster("c", "nobody", Some(neighbour))
                .await
                .ok(),
            Some(false),
            "another address has its own allowance"
        );
        assert_eq!(
            membership.on_roster("c", "root", None).await.ok(),
            Some(true),
            "a signed-in connection's check is not limited"
        );
    }

    #[tokio::test]
    async fn a_roster_file_answers_without_a_lookup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roster.txt");
        std::fs::write(&path, "alice\n").unwrap();
        let roster = Roster::new(Some(path), Some("no-such-group-jqueue".into())).unwrap();
        let membership = Arc::new(Membership::new(one(roster), None, at_once(1)));
        let ip: IpAddr = [192, 0, 2, 1].into();
        for _ in 0..5 {
            assert_eq!(
                membership.on_roster("c", "alice", Some(ip)).await.ok(),
                Some(true)
            );
        }
    }

    #[tokio::test]
    async fn without_a_staff_group_nobody_is_staff_by_group() {
        let membership = Membership::new(one(Roster::default()), None, at_once(1));
        assert!(!membership.in_staff_group("c", "root").await);
        let membership = Membership::new(one(Roster::default()), Some("root".into()), at_once(1));
        assert!(membership.in_staff_group("c", "root").await);
        assert!(!membership.in_staff_group("c", "nobody").await);
        // A course's own group makes staff of that course alone.
        let courses = vec![
            ("cs101".into(), Roster::default(), Some("root".into())),
            ("cs225".into(), Roster::default(), None),
        ];
        let membership = Membership::new(courses, None, at_once(1));
        assert!(membership.in_staff_group("cs101", "root").await);
        assert!(!membership.in_staff_group("cs225", "root").await);
    }

    #[tokio::test]
    async fn each_course_has_its_own_roster() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cs101.txt");
        std::fs::write(&path, "alice\n").unwrap();
        let courses = vec![
            ("cs101".into(), Roster::new(Some(path), None).unwrap(), None),
            ("cs225".into(), Roster::default(), None),
        ];
        let membership = Arc::new(Membership::new(courses, None, at_once(1)));
        assert!(membership.on_roster("cs101", "alice", None).await.unwrap());
        assert!(!membership.on_roster("cs101", "bob", None).await.unwrap());
        assert!(
            membership.on_roster("cs225", "bob", None).await.unwrap(),
            "no roster"
        );
        assert!(!membership.has_roster(), "cs225 takes anyone");
    }
}
