//! The queue state machine checked against a reference model.
//!
//! Proptest drives [`jqueue_core::queue::Queue`] and a deliberately
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
//!   and cancel never count as help;
//! - with the fairness rules (each case draws its own: first-timers-first,
//!   a cooldown, a cap on helps, an opening shuffle), the order is the
//!   model's — first-timers ahead of students already helped, in arrival
//!   order within each group — except that the students who joined during
//!   an opening shuffle may stand in any order among themselves: they must
//!   be exactly those students, side by side; a cooldown or a cap never lets
//!   a student in early; with every rule off, the order is arrival order.
//!
//! `JQUEUE_MODEL_CASES` raises the number of sequences for a longer run.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use jqueue_core::queue::{Entry, JoinError, Queue, Rules, ServeError, UnixMillis};
use proptest::prelude::*;

/// Few students, so joins collide with existing entries and serves find
/// people helped before.
const STUDENTS: usize = 6;
/// Enough staff to race for the same students.
const STAFF: usize = 3;
const GRACE_MS: UnixMillis = 5_000;
/// Each step is a second: an opening shuffle lasts three steps.
const SHUFFLE_MS: UnixMillis = 3_000;
const COOLDOWN_MS: UnixMillis = 4_000;

#[derive(Debug, Clone)]
enum Op {
    /// Student `.0` joins; `.1` decides their place in an opening shuffle.
    Join(usize, u64),
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
        6 => (student.clone(), 1..u64::MAX).prop_map(|(i, r)| Op::Join(i, r)),
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

fn rules() -> impl Strategy<Value = Rules> {
    (any::<bool>(), any::<bool>(), 0..3u32, any::<bool>()).prop_map(
        |(first_timers_first, cooldown, max_helps, shuffle)| Rules {
            first_timers_first,
            cooldown_ms: if cooldown { COOLDOWN_MS } else { 0 },
            max_helps,
            open_shuffle_ms: if shuffle { SHUFFLE_MS } else { 0 },
        },
    )
}

/// One waiting student, as the model sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Waiter {
    name: String,
    away: bool,
    /// Joined during the opening shuffle with this number.
    drawn: Option<u32>,
}

/// The reference: as plain as possible.
#[derive(Debug)]
struct Model {
    rules: Rules,
    open: bool,
    /// The opening shuffle in progress: its number and its end.
    shuffle: Option<(u32, UnixMillis)>,
    shuffles: u32,
    /// Waiting students, in order (shuffled joins at the end of their run).
    waiting: Vec<Waiter>,
    /// Helps that ended as helped, per student, and when the last ended.
    counts: HashMap<String, (u32, UnixMillis)>,
    /// Who each staff member is helping.
    helping: HashMap<usize, String>,
    /// Whose help ended as helped this session.
    helped: HashSet<String>,
    /// Who served each student last.
    served_by: HashMap<String, usize>,
    /// Students put back at the front (not here) stand first, the latest
    /// first: how many there are.
    fronts: usize,
}

impl Model {
    fn new(rules: Rules) -> Self {
        Self {
            rules,
            open: true,
            shuffle: None,
            shuffles: 0,
            waiting: Vec::new(),
            counts: HashMap::new(),
            helping: HashMap::new(),
            helped: HashSet::new(),
            served_by: HashMap::new(),
            fronts: 0,
        }
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.waiting
            .iter()
            .position(|w| w.name == name)
            .map(|i| i + 1)
    }

    /// Where a new join goes: a first-timer (with the rule) before the first
    /// student already helped who was not put back at the front; anyone else
    /// at the back.
    fn join_index(&self, name: &str) -> usize {
        if self.rules.first_timers_first && !self.helped.contains(name) {
            self.waiting
                .iter()
                .enumerate()
                .skip(self.fronts)
                .find(|(_, w)| self.helped.contains(&w.name))
                .map_or(self.waiting.len(), |(i, _)| i)
        } else {
            self.waiting.len()
        }
    }

    fn being_helped(&self, name: &str) -> bool {
        self.helping.values().any(|n| n == name)
    }

    /// Ends `k`'s help as helped; whether it was the student's first.
    fn finish(&mut self, k: usize, now: UnixMillis) -> Option<(String, bool)> {
        let student = self.helping.remove(&k)?;
        let first = self.helped.insert(student.clone());
        let count = self.counts.entry(student.clone()).or_insert((0, now));
        *count = (count.0 + 1, now);
        Some((student, first))
    }

    /// Takes `name` out of the waiting list.
    fn take(&mut self, name: &str) -> Option<Waiter> {
        let index = self.position(name)? - 1;
        if index < self.fronts {
            self.fronts -= 1;
        }
        Some(self.waiting.remove(index))
    }
}

fn entry(name: &str, at: UnixMillis) -> Entry {
    Entry::new(name.into(), format!("help {name}").into(), "lab".into(), at)
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
        Op::Join(i, random) => {
            let who = name(*i);
            let rules = model.rules;
            let counted = model.counts.get(&who).copied();
            let expected = match model.position(&who) {
                // Where exactly is the queue's to say (a draw may have
                // placed them); that they are there is the model's.
                Some(_) => Err(JoinError::AlreadyQueued {
                    position: queue.position(&who).unwrap_or(0),
                }),
                None if model.being_helped(&who) => Err(JoinError::BeingHelped),
                None if !model.open => Err(JoinError::Closed),
                None if rules.max_helps > 0
                    && counted.is_some_and(|(n, _)| n >= rules.max_helps) =>
                {
                    Err(JoinError::MaxHelps {
                        max: rules.max_helps,
                    })
                }
                None if rules.cooldown_ms > 0
                    && counted.is_some_and(|(_, end)| now < end + rules.cooldown_ms) =>
                {
                    Err(JoinError::Cooldown {
                        until: counted.unwrap().1 + rules.cooldown_ms,
                    })
                }
                None => {
                    let drawn = model
                        .shuffle
                        .filter(|&(_, until)| now < until)
                        .map(|(id, _)| id);
                    let index = model.join_index(&who);
                    model.waiting.insert(
                        index,
                        Waiter {
                            name: who.clone(),
                            away: false,
                            drawn,
                        },
                    );
                    Ok(index + 1)
                }
            };
            prop_assert_eq!(queue.check_join(&who, now), expected.map(|_| ()));
            match queue.check_place(entry(&who, now), now, *random) {
                Ok(placed) => {
                    let got = queue.join(placed, now);
                    // A shuffled join's position is the draw's; the order is
                    // compared after the step.
                    prop_assert_eq!(got.is_ok(), expected.is_ok());
                }
                Err(e) => prop_assert_eq!(Err(e), expected),
            }
        }
        Op::Cancel(i) => {
            let who = name(*i);
            let was = model.take(&who);
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
                None => queue
                    .entries()
                    .find(|e| e.away_until.is_none())
                    .map(|e| e.username.to_string())
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
                    let finished = model.finish(*k, now);
                    prop_assert_eq!(
                        served.finished.map(|f| (
                            f.help.entry.username.to_string(),
                            f.first_help_this_session
                        )),
                        finished
                    );
                    model.take(&n);
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
            let expected = model.finish(*k, now);
            let got = queue
                .finish(&staff(*k), now)
                .map(|f| (f.help.entry.username.to_string(), f.first_help_this_session));
            prop_assert_eq!(got, expected);
        }
        Op::NotHere(k) => {
            let expected = model.helping.remove(k);
            if let Some(n) = &expected {
                model.waiting.insert(
                    0,
                    Waiter {
                        name: n.clone(),
                        away: true,
                        drawn: None,
                    },
                );
                model.fronts += 1;
            }
            let got = queue
                .not_here(&staff(*k), now, now + GRACE_MS)
                .map(|h| h.entry.username.to_string());
            prop_assert_eq!(got, expected);
        }
        Op::Back(i) => {
            let who = name(*i);
            let expected = match model.waiting.iter_mut().find(|w| w.name == who) {
                Some(w) if w.away => {
                    w.away = false;
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
                .filter(|w| w.away)
                .map(|w| w.name.clone())
                .collect();
            for who in &expected {
                model.take(who);
            }
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
            let was = model.take(&who);
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
            if !model.open && model.rules.open_shuffle_ms > 0 {
                model.shuffles += 1;
                model.shuffle = Some((model.shuffles, now + model.rules.open_shuffle_ms));
            }
            queue.set_open(true, now);
            model.open = true;
        }
        Op::Close => {
            queue.set_open(false, now);
            model.open = false;
        }
        Op::Restart => {
            // Exactly what the store hands back: entries in order (with their
            // away marks), the helps in progress, the helped set, the open
            // flag and the pre-opening pool. Who served whom before the restart is not kept.
            // A shuffle in progress is not kept.
            let entries: Vec<Entry> = queue.entries().cloned().collect();
            let helps: Vec<_> = queue.helps().cloned().collect();
            let history: Vec<(Arc<str>, u32, UnixMillis)> = model
                .counts
                .iter()
                .map(|(n, &(count, last))| (Arc::from(n.as_str()), count, last))
                .collect();
            *queue = Queue::restore(
                queue.is_open(),
                queue.pool(),
                model.rules,
                entries,
                helps,
                history,
                &[],
            );
            model.shuffle = None;
            model.served_by = model.helping.iter().map(|(k, n)| (n.clone(), *k)).collect();
        }
        Op::NewSession => {
            // A new session starts empty and open, with nobody helped.
            *queue = Queue::new();
            queue.set_rules(model.rules);
            *model = Model::new(model.rules);
        }
    }
    Ok(())
}

/// The invariants that hold after every step, whatever happened.
fn check_invariants(queue: &Queue, model: &Model) -> Result<(), TestCaseError> {
    let waiting: Vec<Waiter> = queue
        .entries()
        .map(|e| {
            let modelled = model.waiting.iter().find(|w| *w.name == *e.username);
            Waiter {
                name: e.username.to_string(),
                away: e.away_until.is_some(),
                drawn: modelled.and_then(|w| w.drawn),
            }
        })
        .collect();
    prop_assert_eq!(
        canonical(&waiting),
        canonical(&model.waiting),
        "same students in the same order"
    );
    for w in &waiting {
        let entry = queue.entry(&w.name).unwrap();
        prop_assert_eq!(entry.was_drawn(), w.drawn.is_some(), "{} drawn", w.name);
    }
    if model.rules == Rules::default() {
        prop_assert_eq!(&waiting, &model.waiting, "no rules: arrival order");
    }
    prop_assert_eq!(queue.len(), model.waiting.len());
    prop_assert_eq!(queue.is_empty(), model.waiting.is_empty());
    prop_assert_eq!(queue.is_open(), model.open);

    let names: HashSet<&String> = waiting.iter().map(|w| &w.name).collect();
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

/// The order with each run of students drawn in the same opening shuffle
/// sorted by name: their order among themselves is the draw's.
fn canonical(waiting: &[Waiter]) -> Vec<Waiter> {
    let mut out = waiting.to_vec();
    let mut start = 0;
    while start < out.len() {
        let mut end = start + 1;
        if out[start].drawn.is_some() {
            while end < out.len() && out[end].drawn == out[start].drawn {
                end += 1;
            }
            out[start..end].sort_by(|a, b| a.name.cmp(&b.name));
        }
        start = end;
    }
    out
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
    fn queue_agrees_with_the_reference_model(
        rules in rules(),
        ops in proptest::collection::vec(op(), 1..200),
    ) {
        let mut queue = Queue::new();
        queue.set_rules(rules);
        let mut model = Model::new(rules);
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
    let mut model = Model::new(Rules::default());
    for op in [
        Op::Join(0, 1),
        Op::Serve(0, None),
        Op::Finish(0),
        Op::Join(0, 1),
        Op::Restart,
        Op::Serve(1, Some(0)),
        Op::Finish(1),
        Op::Join(1, 1),
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
    let mut model = Model::new(Rules::default());
    for op in [
        Op::Join(0, 1),
        Op::Join(1, 1),
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
