//! The queue state machine checked against a reference model.
//!
//! Proptest drives [`jqueue_server::domain::queue::Queue`] and a deliberately naive
//! model (a `Vec` of names and a set of helped names)
//! with the same random sequence of join / cancel / serve / remove / open /
//! close over a handful of students, plus restarts (the queue rebuilt from its
//! persisted parts, as the actor does) and new sessions. After every step the
//! two must agree, and the invariants the issue names must hold:
//!
//! - one entry per student;
//! - positions are 1..n with no gaps, and `position` agrees with `entries`;
//! - the order is arrival order (join times never decrease front to back);
//! - a serve is flagged as the student's first help of the session (the flag
//!   the actor writes the helped log from) exactly when the model has not
//!   seen them helped in this session, restarts included;
//! - remove (and cancel) never mark anyone helped.
//!
//! `JQUEUE_MODEL_CASES` raises the number of sequences for a longer run.

use std::collections::HashSet;
use std::sync::Arc;

use jqueue_server::domain::queue::{Entry, JoinError, Queue, UnixMillis};
use proptest::prelude::*;

/// Few students, so joins collide with existing entries and serves find
/// people helped before.
const STUDENTS: usize = 6;

#[derive(Debug, Clone)]
enum Op {
    Join(usize),
    Cancel(usize),
    /// Serve the first student (`None`) or a chosen one.
    Serve(Option<usize>),
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

fn op() -> impl Strategy<Value = Op> {
    let student = 0..STUDENTS;
    prop_oneof![
        6 => student.clone().prop_map(Op::Join),
        2 => student.clone().prop_map(Op::Cancel),
        3 => proptest::option::of(student.clone()).prop_map(Op::Serve),
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
    waiting: Vec<String>,
    helped: HashSet<String>,
}

impl Model {
    fn new() -> Self {
        Self {
            open: true,
            waiting: Vec::new(),
            helped: HashSet::new(),
        }
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.waiting.iter().position(|n| n == name).map(|i| i + 1)
    }
}

fn entry(name: &str, at: UnixMillis) -> Entry {
    Entry {
        username: name.into(),
        description: format!("help {name}").into(),
        location: "lab".into(),
        joined_at: at,
    }
}

/// Applies `op` to both and checks that the outcomes agree.
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
                None if !model.open => Err(JoinError::Closed),
                None => {
                    model.waiting.push(who.clone());
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
        Op::Serve(target) => {
            let who = target.map(name);
            let expected = match &who {
                Some(n) => model.position(n).map(|_| n.clone()),
                None => model.waiting.first().cloned(),
            };
            let peeked = queue
                .check_serve(who.as_deref())
                .map(|e| e.username.to_string());
            prop_assert_eq!(&peeked, &expected, "check_serve names whom serve takes");
            let served = queue.serve(who.as_deref(), now);
            match (&expected, served) {
                (None, None) => {}
                (Some(n), Some(served)) => {
                    prop_assert_eq!(&*served.entry.username, n.as_str());
                    let first = model.helped.insert(n.clone());
                    prop_assert_eq!(served.first_help_this_session, first);
                    model.waiting.retain(|w| w != n);
                }
                (expected, got) => {
                    return Err(TestCaseError::fail(format!(
                        "serve {who:?}: expected {expected:?}, got {got:?}"
                    )));
                }
            }
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
            // Exactly what the store hands back: entries in order, the helped
            // set, the open flag.
            let entries: Vec<Entry> = queue.entries().cloned().collect();
            let helped: Vec<Arc<str>> =
                model.helped.iter().map(|n| Arc::from(n.as_str())).collect();
            *queue = Queue::restore(queue.is_open(), entries, helped, &[]);
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
    let names: Vec<String> = queue.entries().map(|e| e.username.to_string()).collect();
    prop_assert_eq!(&names, &model.waiting, "same students in the same order");
    prop_assert_eq!(queue.len(), model.waiting.len());
    prop_assert_eq!(queue.is_empty(), model.waiting.is_empty());
    prop_assert_eq!(queue.is_open(), model.open);

    let unique: HashSet<&String> = names.iter().collect();
    prop_assert_eq!(unique.len(), names.len(), "one entry per student");

    for (i, e) in queue.entries().enumerate() {
        prop_assert_eq!(
            queue.position(&e.username),
            Some(i + 1),
            "positions 1..n, no gaps"
        );
    }
    for i in 0..STUDENTS {
        let who = name(i);
        if !unique.contains(&who) {
            prop_assert_eq!(queue.position(&who), None);
        }
        prop_assert_eq!(queue.was_helped(&who), model.helped.contains(&who));
    }

    let times: Vec<UnixMillis> = queue.entries().map(|e| e.joined_at).collect();
    prop_assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "arrival order: {:?}",
        times
    );

    prop_assert_eq!(queue.helped_count(), model.helped.len());
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
        Op::Serve(None),
        Op::Join(0),
        Op::Restart,
        Op::Serve(Some(0)),
        Op::Join(1),
        Op::Remove(1),
    ] {
        // `step` checks the second serve of s0 is not flagged as a first.
        step(&mut queue, &mut model, &op, 0).unwrap();
        check_invariants(&queue, &model).unwrap();
    }
    assert_eq!(queue.helped_count(), 1, "the remove helped nobody");
}
