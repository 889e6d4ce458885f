//! The queue state machine checked against a reference model.
//!
//! Proptest drives [`jqueue_server::domain::queue::Queue`] and a deliberately
//! naive model (a `Vec` of waiting names, a map of who each staff member is
//! helping, a set of helped names) with the same random sequence of join /
//! cancel / serve (by one of several staff, of the top or a chosen student) /
//! finish / not here / back / expiry / remove / open / close over a handful
//! of students, plus restarts (the queue rebuilt from its persisted parts, as
//! the actor does) and new sessions. After every step the two must agree,
//! and the invariants the issues name must hold:
//!
//! - one entry per student, and a student is either waiting, being helped by
//!   exactly one staff member, or neither: two staff never hold one student
//!   (the claim), and a second serve of a student changes nothing;
//! - positions are 1..n with no gaps, and `position` agrees with `entries`;
//! - the order is the model's: arrival order, but for students put back at
//!   the front by a not-here help;
//! - a help is flagged as the student's first of the session (the flag the
//!   actor writes the helped log from) exactly when it ends as helped and
//!   the model has not seen them helped, restarts included; not here, remove
//!   and cancel never count as help.
//!
//! `JQUEUE_MODEL_CASES` raises the number of sequences for a longer run.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use jqueue_server::domain::queue::{Entry, JoinError, Queue, ServeError, UnixMillis};
use proptest::prelude::*;

/// Few students, so joins collide with existing entries and serves find
/// people helped before.
const STUDENTS: usize = 6;
/// Enough staff to race for the same students.
const STAFF: usize = 3;
const GRACE_MS: UnixMillis = 5_000;

#[derive(Debug, Clone)]
enum Op {
    Join(usize),
    Cancel(usize),
    /// Staff member `.0` serves the first student not away (`None`) or a
    /// chosen one.
    Serve(usize, Option<usize>),
    Finish(usize),
    NotHere(usize),
    Back(usize),
    /// Time away runs out for everyone marked away.
    Expire,
    Remove(usize),
    Open,
    Close,
    /// The server restarts with the same session: the queue is rebuilt from
    /// what the store would hold.
    Restart,
    /// A new session: nobody has been helped in it yet.
    NewSession,
}

fn name(i: usize) -> String {
    format!("s{i}")
}

fn staff(k: usize) -> Arc<str> {
    format!("ta{k}").into()
}

fn op() -> impl Strategy<Value = Op> {
    let student = 0..STUDENTS;
    let member = 0..STAFF;
    prop_oneof![
        6 => student.clone().prop_map(Op::Join),
        2 => student.clone().prop_map(Op::Cancel),
        4 => (member.clone(), proptest::option::of(student.clone()))
            .prop_map(|(k, s)| Op::Serve(k, s)),
        2 => member.clone().prop_map(Op::Finish),
        1 => member.prop_map(Op::NotHere),
        1 => student.clone().prop_map(Op::Back),
        1 => Just(Op::Expire),
        2 => student.prop_map(Op::Remove),
        1 => Just(Op::Open),
        1 => Just(Op::Close),
        1 => Just(Op::Restart),
        1 => Just(Op::NewSession),
    ]
}

/// The reference: as plain as possible.
#[derive(Debug)]
struct Model {
    open: bool,
    /// Waiting students, and whether each is marked away.
    waiting: Vec<(String, bool)>,
    /// Who each staff member is helping.
    helping: HashMap<usize, String>,
    /// Whose help ended as helped this session.
    helped: HashSet<String>,
    /// Who served each student last.
    served_by: HashMap<String, usize>,
}

impl Model {
    fn new() -> Self {
        Self {
            open: true,
            waiting: Vec::new(),
            helping: HashMap::new(),
            helped: HashSet::new(),
            served_by: HashMap::new(),
        }
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.waiting
            .iter()
            .position(|(n, _)| n == name)
            .map(|i| i + 1)
    }

    fn being_helped(&self, name: &str) -> bool {
        self.helping.values().any(|n| n == name)
    }

    /// Ends `k`'s help as helped; whether it was the student's first.
    fn finish(&mut self, k: usize) -> Option<(String, bool)> {
        let student = self.helping.remove(&k)?;
        let first = self.helped.insert(student.clone());
        Some((student, first))
    }
}

fn entry(name: &str, at: UnixMillis) -> Entry {
    Entry {
        username: name.into(),
        description: format!("help {name}").into(),
        location: "lab".into(),
        joined_at: at,
        away_until: None,
    }
}

/// Applies `op` to both and checks that the outcomes agree.
#[allow(clippy::too_many_lines)] // one arm per operation reads best as one match
fn step(
    queue: &mut Queue,
    model: &mut Model,
    op: &Op,
    now: UnixMillis,
) -> Result<(), TestCaseError> {
    match op {
        Op::Join(i) => {
            let who = name(*i);
            let expected = match model.position(&who) {
                Some(position) => Err(JoinError::AlreadyQueued { position }),
                None if model.being_helped(&who) => Err(JoinError::BeingHelped),
                None if !model.open => Err(JoinError::Closed),
                None => {
                    model.waiting.push((who.clone(), false));
                    Ok(model.waiting.len())
                }
            };
            prop_assert_eq!(queue.check_join(&who), expected.map(|_| ()));
            prop_assert_eq!(queue.join(entry(&who, now)), expected);
        }
        Op::Cancel(i) => {
            let who = name(*i);
            let was = model.position(&who);
            if let Some(p) = was {
                model.waiting.remove(p - 1);
            }
            let helped_before = queue.helped_count();
            let got = queue.cancel(&who);
            prop_assert_eq!(got.map(|e| e.username.to_string()), was.map(|_| who));
            prop_assert_eq!(queue.helped_count(), helped_before, "cancel marks nobody");
        }
        Op::Serve(k, target) => {
            let who = target.map(name);
            let expected: Result<String, ServeError> = match &who {
                Some(n) if model.position(n).is_some() => Ok(n.clone()),
                Some(n) => Err(match model.served_by.get(n) {
                    Some(by) => ServeError::AlreadyServed { by: staff(*by) },
                    None => ServeError::NotWaiting,
                }),
                None => model
                    .waiting
                    .iter()
                    .find(|(_, away)| !away)
                    .map(|(n, _)| n.clone())
                    .ok_or(ServeError::NobodyWaiting),
            };
            let peeked = queue
                .check_serve(who.as_deref())
                .map(|e| e.username.to_string());
            prop_assert_eq!(&peeked, &expected, "check_serve names whom serve takes");
            let helping_before: Vec<_> = queue.helps().cloned().collect();
            let served = queue.serve(&staff(*k), who.as_deref(), now);
            match (expected, served) {
                (Err(e), Err(got)) => {
                    prop_assert_eq!(e, got);
                    let helping_after: Vec<_> = queue.helps().cloned().collect();
                    prop_assert_eq!(
                        helping_before,
                        helping_after,
                        "a lost serve changes nothing"
                    );
                }
                (Ok(n), Ok(served)) => {
                    prop_assert_eq!(&*served.entry.username, n.as_str());
                    prop_assert_eq!(served.helped_before, model.helped.contains(&n));
                    let finished = model.finish(*k);
                    prop_assert_eq!(
                        served.finished.map(|f| (
                            f.help.entry.username.to_string(),
                            f.first_help_this_session
                        )),
                        finished
                    );
                    model.waiting.retain(|(w, _)| *w != n);
                    model.helping.insert(*k, n.clone());
                    model.served_by.insert(n, *k);
                }
                (expected, got) => {
                    return Err(TestCaseError::fail(format!(
                        "serve {who:?}: expected {expected:?}, got {got:?}"
                    )));
                }
            }
        }
        Op::Finish(k) => {
            let expected = model.finish(*k);
            let got = queue
                .finish(&staff(*k), now)
                .map(|f| (f.help.entry.username.to_string(), f.first_help_this_session));
            prop_assert_eq!(got, expected);
        }
        Op::NotHere(k) => {
            let expected = model.helping.remove(k);
            if let Some(n) = &expected {
                model.waiting.insert(0, (n.clone(), true));
            }
            let got = queue
                .not_here(&staff(*k), now + GRACE_MS)
                .map(|h| h.entry.username.to_string());
            prop_assert_eq!(got, expected);
        }
        Op::Back(i) => {
            let who = name(*i);
            let expected = match model.waiting.iter_mut().find(|(n, _)| *n == who) {
                Some((_, away)) if *away => {
                    *away = false;
                    true
                }
                _ => false,
            };
            prop_assert_eq!(queue.back(&who), expected);
        }
        Op::Expire => {
            let mut expected: Vec<String> = model
                .waiting
                .iter()
                .filter(|(_, away)| *away)
                .map(|(n, _)| n.clone())
                .collect();
            model.waiting.retain(|(_, away)| !away);
            let mut got: Vec<String> = queue
                .check_expired(UnixMillis::MAX)
                .map(|e| e.username.to_string())
                .collect();
            for who in &got {
                queue.remove(who);
            }
            expected.sort();
            got.sort();
            prop_assert_eq!(got, expected);
        }
        Op::Remove(i) => {
            let who = name(*i);
            let was = model.position(&who);
            if let Some(p) = was {
                model.waiting.remove(p - 1);
            }
            let helped_before = queue.helped_count();
            let was_helped = queue.was_helped(&who);
            let got = queue.remove(&who);
            prop_assert_eq!(
                got.map(|e| e.username.to_string()),
                was.map(|_| who.clone())
            );
            prop_assert_eq!(queue.helped_count(), helped_before, "remove never counts");
            prop_assert_eq!(queue.was_helped(&who), was_helped, "remove never marks");
        }
        Op::Open => {
            queue.set_open(true);
            model.open = true;
        }
        Op::Close => {
            queue.set_open(false);
            model.open = false;
        }
        Op::Restart => {
            // Exactly what the store hands back: entries in order (with their
            // away marks), the helps in progress, the helped set, the open
            // flag. Who served whom before the restart is not kept.
            let entries: Vec<Entry> = queue.entries().cloned().collect();
            let helps: Vec<_> = queue.helps().cloned().collect();
            let helped: Vec<Arc<str>> =
                model.helped.iter().map(|n| Arc::from(n.as_str())).collect();
            *queue = Queue::restore(queue.is_open(), entries, helps, helped, &[]);
            model.served_by = model.helping.iter().map(|(k, n)| (n.clone(), *k)).collect();
        }
        Op::NewSession => {
            // A new session starts empty and open, with nobody helped.
            *queue = Queue::new();
            *model = Model::new();
        }
    }
    Ok(())
}

/// The invariants that hold after every step, whatever happened.
fn check_invariants(queue: &Queue, model: &Model) -> Result<(), TestCaseError> {
    let waiting: Vec<(String, bool)> = queue
        .entries()
        .map(|e| (e.username.to_string(), e.away_until.is_some()))
        .collect();
    prop_assert_eq!(&waiting, &model.waiting, "same students in the same order");
    prop_assert_eq!(queue.len(), model.waiting.len());
    prop_assert_eq!(queue.is_empty(), model.waiting.is_empty());
    prop_assert_eq!(queue.is_open(), model.open);

    let names: HashSet<&String> = waiting.iter().map(|(n, _)| n).collect();
    prop_assert_eq!(names.len(), waiting.len(), "one entry per student");

    let mut held = HashSet::new();
    for help in queue.helps() {
        let student = help.entry.username.to_string();
        prop_assert!(held.insert(student.clone()), "{} held twice", student);
        prop_assert!(!names.contains(&student), "{} helped and waiting", student);
        let k: usize = help.staff[2..].parse().unwrap();
        prop_assert_eq!(model.helping.get(&k), Some(&student));
    }
    prop_assert_eq!(held.len(), model.helping.len());

    for (i, e) in queue.entries().enumerate() {
        prop_assert_eq!(
            queue.position(&e.username),
            Some(i + 1),
            "positions 1..n, no gaps"
        );
    }
    for i in 0..STUDENTS {
        let who = name(i);
        if !names.contains(&who) {
            prop_assert_eq!(queue.position(&who), None);
        }
        prop_assert_eq!(
            queue.was_helped(&who),
            model.helped.contains(&who) || model.being_helped(&who)
        );
    }

    let helped_or_helping: HashSet<&String> =
        model.helped.iter().chain(model.helping.values()).collect();
    prop_assert_eq!(queue.helped_count(), helped_or_helping.len());
    Ok(())
}

fn cases() -> u32 {
    std::env::var("JQUEUE_MODEL_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn queue_agrees_with_the_reference_model(ops in proptest::collection::vec(op(), 1..200)) {
        let mut queue = Queue::new();
        let mut model = Model::new();
        for (t, op) in ops.iter().enumerate() {
            // Time moves on with every step, as a clock would.
            let now = 1_000 * t as UnixMillis;
            step(&mut queue, &mut model, op, now)?;
            check_invariants(&queue, &model)?;
        }
    }
}

#[test]
fn a_restart_does_not_make_a_second_help_look_like_the_first() {
    let mut queue = Queue::new();
    let mut model = Model::new();
    for op in [
        Op::Join(0),
        Op::Serve(0, None),
        Op::Finish(0),
        Op::Join(0),
        Op::Restart,
        Op::Serve(1, Some(0)),
        Op::Finish(1),
        Op::Join(1),
        Op::Remove(1),
    ] {
        // `step` checks the second help of s0 is not flagged as a first.
        step(&mut queue, &mut model, &op, 0).unwrap();
        check_invariants(&queue, &model).unwrap();
    }
    assert_eq!(queue.helped_count(), 1, "the remove helped nobody");
}

#[test]
fn two_staff_racing_for_one_student_one_wins_and_nothing_else_changes() {
    let mut queue = Queue::new();
    let mut model = Model::new();
    for op in [
        Op::Join(0),
        Op::Join(1),
        Op::Serve(0, Some(0)),
        Op::Serve(1, Some(0)),
        Op::Serve(1, None),
    ] {
        step(&mut queue, &mut model, &op, 0).unwrap();
        check_invariants(&queue, &model).unwrap();
    }
    assert_eq!(queue.help_of("ta0").unwrap().entry.username.as_ref(), "s0");
    assert_eq!(queue.help_of("ta1").unwrap().entry.username.as_ref(), "s1");
}
