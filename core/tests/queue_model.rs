//! The queue state machine checked against a reference model.
//!
//! Proptest drives [`jqueue_core::queue::Queue`] and a deliberately
//! naive model (a `Vec` of waiting names, a map of who each staff member is
//! helping, a set of helped names) with the same random sequence of join /
//! cancel / serve (by one of several staff, of the top or a chosen student) /
//! group serve (several chosen students at once) / finish / not here / back /
//! expiry / remove / open / close over a handful
//! of students, plus restarts (the queue rebuilt from its persisted parts, as
//! the actor does) and new sessions. After every step the two must agree,
//! and the invariants the issues name must hold:
//!
//! - one entry per student, and a student is either waiting, being helped by
//!   exactly one staff member, or neither: two staff never hold one student
//!   (the claim), and a second serve of a student changes nothing;
//! - a group serve takes exactly the named students who are waiting (two or
//!   more, else nothing changes), in line order, for one staff member; its
//!   members are served once each and nobody is lost: when it ends every
//!   member counts as helped (each flagged first or not on their own), and
//!   not here puts every member back at the front, marked away;
//! - a restart rebuilds each group from one stored row per member;
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

use jqueue_core::queue::{Entry, Help, JoinError, Queue, Rules, ServeError, UnixMillis};
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
    /// Staff member `.0` helps the named students together (repeats and
    /// students not waiting included, as a screen's marks may be).
    ServeGroup(usize, Vec<usize>),
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
        3 => (member.clone(), proptest::collection::vec(student.clone(), 0..5))
            .prop_map(|(k, s)| Op::ServeGroup(k, s)),
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
    /// Who each staff member is helping: one student, or a group in line
    /// order.
    helping: HashMap<usize, Vec<String>>,
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
        self.helping.values().flatten().any(|n| n == name)
    }

    /// Ends `k`'s help as helped; each member with whether it was their
    /// first.
    fn finish(&mut self, k: usize, now: UnixMillis) -> Option<Vec<(String, bool)>> {
        let students = self.helping.remove(&k)?;
        let firsts = students
            .into_iter()
            .map(|student| {
                let first = self.helped.insert(student.clone());
                let count = self.counts.entry(student.clone()).or_insert((0, now));
                *count = (count.0 + 1, now);
                (student, first)
            })
            .collect();
        Some(firsts)
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

/// A finished help as the model has it: each member and their first flag.
fn members(finished: &jqueue_core::queue::Finished) -> Vec<(String, bool)> {
    finished
        .members()
        .map(|(e, first)| (e.username.to_string(), first))
        .collect()
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
                    prop_assert_eq!(served.finished.as_ref().map(members), finished);
                    model.take(&n);
                    model.helping.insert(*k, vec![n.clone()]);
                    model.served_by.insert(n, *k);
                }
                (expected, got) => {
                    return Err(TestCaseError::fail(format!(
                        "serve {who:?}: expected {expected:?}, got {got:?}"
                    )));
                }
            }
        }
        Op::ServeGroup(k, students) => {
            let named: Vec<String> = students.iter().map(|&i| name(i)).collect();
            let asked: Vec<&str> = named.iter().map(String::as_str).collect();
            // The model knows who waits; the order they stand in is
            // compared after every step, so it is read from the queue.
            let in_line: Vec<String> = queue
                .entries()
                .map(|e| e.username.to_string())
                .filter(|n| named.contains(n))
                .collect();
            let mut waiting: Vec<&String> = named
                .iter()
                .filter(|n| model.position(n).is_some())
                .collect();
            waiting.sort();
            waiting.dedup();
            let mut sorted: Vec<&String> = in_line.iter().collect();
            sorted.sort();
            prop_assert_eq!(sorted, waiting, "the group is whoever named waits");
            let mut missed: Vec<(Arc<str>, ServeError)> = Vec::new();
            for n in &named {
                if model.position(n).is_none() && !missed.iter().any(|(m, _)| **m == **n) {
                    let why = match model.served_by.get(n) {
                        Some(by) => ServeError::AlreadyServed { by: staff(*by) },
                        None => ServeError::NotWaiting,
                    };
                    missed.push((n.as_str().into(), why));
                }
            }
            let check = queue.check_serve_group(&asked);
            let checked: Vec<String> = check
                .members
                .iter()
                .map(|e| e.username.to_string())
                .collect();
            prop_assert_eq!(&checked, &in_line);
            prop_assert_eq!(check.missed, missed, "why each other one is not taken");
            let helping_before: Vec<_> = queue.helps().cloned().collect();
            let served = queue.serve_group(&staff(*k), &asked, now);
            if in_line.len() < 2 {
                prop_assert_eq!(served, Err(ServeError::TooFewForGroup));
                let helping_after: Vec<_> = queue.helps().cloned().collect();
                prop_assert_eq!(helping_before, helping_after, "too few changes nothing");
            } else {
                let served = served.map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                prop_assert_eq!(&*served.entry.username, in_line[0].as_str());
                prop_assert_eq!(served.helped_before, model.helped.contains(&in_line[0]));
                let finished = model.finish(*k, now);
                prop_assert_eq!(served.finished.as_ref().map(members), finished);
                for n in &in_line {
                    model.take(n);
                    model.served_by.insert(n.clone(), *k);
                }
                model.helping.insert(*k, in_line);
            }
        }
        Op::Finish(k) => {
            let expected = model.finish(*k, now);
            let got = queue.finish(&staff(*k), now).map(|f| members(&f));
            prop_assert_eq!(got, expected);
        }
        Op::NotHere(k) => {
            let expected = model.helping.remove(k);
            let got = queue
                .not_here(&staff(*k), now, now + GRACE_MS)
                .map(|h| h.members().map(|e| e.username.to_string()).collect());
            prop_assert_eq!(&got, &expected);
            if let Some(group) = expected {
                // Every member is back at the front: in which order among
                // themselves (they were put back at one instant) is the
                // queue's to say; that they are all there is the model's.
                let front: Vec<String> = queue
                    .entries()
                    .take(group.len())
                    .map(|e| e.username.to_string())
                    .collect();
                let (mut a, mut b) = (front.clone(), group);
                a.sort();
                b.sort();
                prop_assert_eq!(a, b, "the whole group is back at the front");
                for (i, n) in front.into_iter().enumerate() {
                    model.waiting.insert(
                        i,
                        Waiter {
                            name: n,
                            away: true,
                            drawn: None,
                        },
                    );
                }
                model.fronts += got.map_or(0, |g: Vec<String>| g.len());
            }
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
            // away marks), the helps in progress (a row per student, a
            // group's in line order), the helped set, the open flag and the
            // pre-opening pool. Who served whom before the restart is not
            // kept. A shuffle in progress is not kept.
            let entries: Vec<Entry> = queue.entries().cloned().collect();
            let helps: Vec<Help> = queue
                .helps()
                .flat_map(|h| {
                    h.members()
                        .map(|e| Help::of_one(h.staff.clone(), e.clone(), h.served_at))
                })
                .collect();
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
            model.served_by = model
                .helping
                .iter()
                .flat_map(|(k, group)| group.iter().map(|n| (n.clone(), *k)))
                .collect();
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
        let group: Vec<String> = help.members().map(|e| e.username.to_string()).collect();
        for student in &group {
            prop_assert!(held.insert(student.clone()), "{} held twice", student);
            prop_assert!(!names.contains(student), "{} helped and waiting", student);
            prop_assert_eq!(queue.help_for(student).map(|h| &h.staff), Some(&help.staff));
        }
        let k: usize = help.staff[2..].parse().unwrap();
        prop_assert_eq!(model.helping.get(&k), Some(&group));
    }
    prop_assert_eq!(queue.helps().len(), model.helping.len());
    // Nobody lost: everyone the model has waiting or in a help is in the
    // queue or in a help there, and nobody else is.
    let modelled = model.waiting.len() + model.helping.values().map(Vec::len).sum::<usize>();
    prop_assert_eq!(
        names.len() + held.len(),
        modelled,
        "nobody lost, nobody made up"
    );

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

    let helped_or_helping: HashSet<&String> = model
        .helped
        .iter()
        .chain(model.helping.values().flatten())
        .collect();
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

#[test]
fn a_group_and_a_single_serve_racing_for_one_student_one_wins() {
    let mut queue = Queue::new();
    let mut model = Model::new(Rules::default());
    for op in [
        Op::Join(0, 1),
        Op::Join(1, 1),
        Op::Join(2, 1),
        // ta1 takes s1 first: ta0's group is s0 and s2, told about s1.
        Op::Serve(1, Some(1)),
        Op::ServeGroup(0, vec![0, 1, 2]),
        // The other way round: s0 is ta0's now.
        Op::Serve(2, Some(0)),
        Op::Restart,
        Op::NotHere(0),
        Op::ServeGroup(2, vec![2, 0]),
        Op::Finish(2),
    ] {
        step(&mut queue, &mut model, &op, 0).unwrap();
        check_invariants(&queue, &model).unwrap();
    }
    assert!(queue.was_helped("s0") && queue.was_helped("s2"));
}
