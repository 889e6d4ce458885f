//! The office-hours queue as a pure state machine.
//!
//! This module owns the queue rules: one entry per student, arrival order,
//! open/closed, the help each staff member has in progress (a serve claims a
//! student for one staff member), students marked away after a not-here help
//! (they keep their place at the front until a deadline), who has been
//! helped this session, and the wait estimate. A help may be a group's: one
//! staff member with several students at once ([`Queue::serve_group`]),
//! each of whom counts as helped when it ends. It does no I/O and reads no
//! clock: every time it needs is passed in as Unix milliseconds. The actor
//! persists a change *before* applying it here, so each mutating operation
//! has a `check_*` twin that says what would happen.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use jqueue_shared::staff::MessageAnswer;
use sha2::{Digest as _, Sha256};

/// Wall-clock time as milliseconds since the Unix epoch: the wire's type,
/// so a time goes from the queue to a view unconverted.
pub use jqueue_shared::UnixMillis;

/// How many recent help lengths the wait estimate looks at.
const RECENT_HELPS: usize = 10;
/// A help longer than this was left open over a break: it says nothing
/// about how long helps take.
const LONGEST_PLAUSIBLE_HELP_MS: i64 = 60 * 60 * 1000;

/// A student's name as snapshots look it up: the first 128 bits of its
/// SHA-256, worked out once per entry and once per connection. Building a
/// snapshot then reads no names (each one a separate allocation, a cache
/// miss apiece at 10 000 students) and a lookup compares no strings. Two
/// names with one key would need a SHA-256 collision in 128 bits; a student
/// cannot make one that lands on a classmate's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StudentKey(u128);

impl StudentKey {
    pub fn of(username: &str) -> Self {
        let digest = Sha256::digest(username.as_bytes());
        let mut first = [0; 16];
        first.copy_from_slice(&digest[..16]);
        Self(u128::from_le_bytes(first))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub username: Arc<str>,
    /// `StudentKey::of(&username)`, as [`Entry::new`] makes it.
    pub key: StudentKey,
    pub description: Arc<str>,
    pub location: Arc<str>,
    /// The machine the student asked from (its host name, or its address),
    /// for staff who walk over; empty when not known (an older database).
    pub host: Arc<str>,
    /// The question's tag, one of the queue's when it was asked (the
    /// server checks it); `None`: untagged.
    pub tag: Option<Arc<str>>,
    pub joined_at: UnixMillis,
    /// Marked not here: the place is kept until then.
    pub away_until: Option<UnixMillis>,
    /// Put back at the front (staff could not find them) at this time; kept
    /// after they are back. Later ones go ahead of earlier ones.
    pub front_since: Option<UnixMillis>,
    /// The place in arrival order: a count of joins. Joins during an opening
    /// shuffle share the window's slot and are ordered by `draw`.
    pub slot: u64,
    /// A random number for joins in an opening shuffle; 0 otherwise.
    pub draw: u64,
    /// Staff asked for more detail and the student has not edited the
    /// question since ([`Queue::edit`] clears it).
    pub needs_edit: bool,
    /// The student's answer to the latest message staff sent them (boxed:
    /// most entries have none).
    pub answer: Option<Box<MessageAnswer>>,
}

impl Entry {
    /// A new entry; the queue gives it its place when it joins.
    pub fn new(
        username: Arc<str>,
        description: Arc<str>,
        location: Arc<str>,
        joined_at: UnixMillis,
    ) -> Self {
        Self {
            key: StudentKey::of(&username),
            username,
            description,
            location,
            host: Arc::from(""),
            tag: None,
            joined_at,
            away_until: None,
            front_since: None,
            slot: 0,
            draw: 0,
            needs_edit: false,
            answer: None,
        }
    }

    /// Joined during an opening shuffle: the place was drawn at random.
    pub fn was_drawn(&self) -> bool {
        self.draw != 0
    }
}

/// The fairness rules (DESIGN §9). Each is off by default; with all off the
/// order is arrival order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rules {
    /// Students not yet helped this session go ahead of those already helped
    /// (in arrival order within each group).
    pub first_timers_first: bool,
    /// After a help ends, the student may not rejoin for this long.
    pub cooldown_ms: i64,
    /// At most this many helps per student per session (0: no limit).
    pub max_helps: u32,
    /// Joins this soon after the queue opens are put in random order.
    pub open_shuffle_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinError {
    Closed,
    /// Already waiting at this 1-based position.
    AlreadyQueued {
        position: usize,
    },
    /// Being helped right now.
    BeingHelped,
    /// Helped recently: may join again from `until`.
    Cooldown {
        until: UnixMillis,
    },
    /// Helped as many times this session as the rules allow.
    MaxHelps {
        max: u32,
    },
}

/// Why a student could not join an open group. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinGroupError {
    /// That staff member's help is not open to others (any more).
    NotOpen,
    /// The student is not waiting.
    NotWaiting,
}

/// Why a serve cannot go ahead. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServeError {
    /// Nobody (who is here) is waiting.
    NobodyWaiting,
    /// The student is not waiting.
    NotWaiting,
    /// Another staff member took the student first.
    AlreadyServed { by: Arc<str> },
    /// A group serve found fewer than two of its students waiting.
    TooFewForGroup,
}

/// A help in progress: `staff` is with `entry`'s student, and with the
/// students in `with` when it is a group's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Help {
    pub staff: Arc<str>,
    pub entry: Entry,
    /// The others helped together with `entry`, in the order they stood in
    /// line; empty for a one-student help.
    pub with: Vec<Entry>,
    pub served_at: UnixMillis,
}

impl Help {
    /// A help of one student.
    pub fn of_one(staff: Arc<str>, entry: Entry, served_at: UnixMillis) -> Self {
        Self {
            staff,
            entry,
            with: Vec::new(),
            served_at,
        }
    }

    /// Everyone in the help: `entry` first, then `with`.
    pub fn members(&self) -> impl Iterator<Item = &Entry> {
        std::iter::once(&self.entry).chain(&self.with)
    }

    /// Whether `student` is in the help.
    pub fn has(&self, student: &str) -> bool {
        self.members().any(|e| &*e.username == student)
    }
}

/// A help that ended as helped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub help: Help,
    pub help_ms: i64,
    /// One flag per member, in [`Help::members`] order: true the first time
    /// that student's help ends as helped in this session, when (and only
    /// when) their name goes to the helped log.
    pub first_helps: Vec<bool>,
}

impl Finished {
    /// Each member, with whether this was their first help this session.
    pub fn members(&self) -> impl Iterator<Item = (&Entry, bool)> {
        self.help.members().zip(self.first_helps.iter().copied())
    }
}

/// The outcome of serving a student (or a group: [`Queue::serve_group`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// The student served; of a group, the first in line.
    pub entry: Entry,
    /// Helped earlier this session.
    pub helped_before: bool,
    /// The help the serve ended (the staff member's previous one), if any.
    pub finished: Option<Finished>,
}

/// Whom a group serve would take ([`Queue::check_serve_group`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupCheck<'a> {
    /// The named students who are waiting, in the order they stand: the
    /// group, if there are two or more.
    pub members: Vec<&'a Entry>,
    /// The named students who are not waiting, each with why.
    pub missed: Vec<(Arc<str>, ServeError)>,
}

#[derive(Debug, Clone, Default)]
pub struct Queue {
    open: bool,
    rules: Rules,
    /// Always in order: sorted by [`Queue::order_key`].
    entries: VecDeque<Entry>,
    /// The slot the next join gets.
    next_slot: u64,
    /// An opening shuffle in progress: its slot, and when it ends.
    shuffle: Option<(u64, UnixMillis)>,
    /// The pre-opening pool's slot, while the queue is closed and takes
    /// early joins: their order is drawn when it opens.
    pool: Option<u64>,
    /// Helps that ended as helped this session, per student, and when the
    /// last one ended.
    help_counts: HashMap<Arc<str>, (u32, UnixMillis)>,
    /// Helps in progress, by staff member (one each, a group's or not).
    helps: HashMap<Arc<str>, Help>,
    /// Helps open to others (`groups = true`), by staff member: the topic
    /// a waiting student may join them on. Ends with the help.
    open_groups: BTreeMap<Arc<str>, Arc<str>>,
    /// Students whose help ended as helped this session.
    helped: HashSet<Arc<str>>,
    /// Who served each student last, to tell a second staff member who won.
    served_by: HashMap<Arc<str>, Arc<str>>,
    /// Lengths of recent helps, most recent last.
    recent_helps: VecDeque<i64>,
}

impl Queue {
    /// An empty, open queue.
    pub fn new() -> Self {
        Self {
            open: true,
            ..Self::default()
        }
    }

    /// Rebuilds a queue from persisted state: `pool` is the pre-opening
    /// pool's slot ([`Queue::pool`]), `helps` the helps in progress (as
    /// the store keeps them, a row per student: the rows of one staff
    /// member are one group help, the first row its `entry`),
    /// `history` each student's finished helps (count, last end),
    /// `help_lengths` this session's help lengths, oldest first. An open
    /// queue has no pool (its opening drew it), whatever `pool` says.
    pub fn restore(
        open: bool,
        pool: Option<u64>,
        rules: Rules,
        entries: impl IntoIterator<Item = Entry>,
        helps: impl IntoIterator<Item = Help>,
        history: impl IntoIterator<Item = (Arc<str>, u32, UnixMillis)>,
        help_lengths: &[i64],
    ) -> Self {
        let help_counts: HashMap<_, _> = history
            .into_iter()
            .map(|(name, count, last)| (name, (count, last)))
            .collect();
        let mut queue = Self {
            open,
            rules,
            entries: entries.into_iter().collect(),
            pool: pool.filter(|_| !open),
            helped: help_counts.keys().cloned().collect(),
            help_counts,
            ..Self::default()
        };
        // Past the pool's slot too, as [`Queue::join_early`] left it: a
        // pool whose students all left is still the pool.
        queue.next_slot = queue
            .entries
            .iter()
            .map(|e| e.slot)
            .chain(queue.pool)
            .map(|slot| slot + 1)
            .max()
            .unwrap_or(0);
        queue.sort();
        for help in helps {
            for member in help.members() {
                queue
                    .served_by
                    .insert(member.username.clone(), help.staff.clone());
            }
            match queue.helps.get_mut(&help.staff) {
                Some(group) => group.with.extend(help.members().cloned()),
                None => {
                    queue.helps.insert(help.staff.clone(), help);
                }
            }
        }
        for &length in help_lengths {
            queue.note_help(length);
        }
        queue
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Opens or closes the queue. Opening at `now` starts the opening
    /// shuffle, if the rules have one.
    pub fn set_open(&mut self, open: bool, now: UnixMillis) {
        self.open_drawing(open, now, || 0);
    }

    /// Opens or closes the queue; opening draws the pre-opening pool's
    /// order with `random` (the caller's generator: this module has none),
    /// and the opening shuffle, if the rules have one, goes on in the same
    /// slot, so the campers and the first minutes' joins are drawn as one.
    pub fn open_drawing(&mut self, open: bool, now: UnixMillis, mut random: impl FnMut() -> u64) {
        if open && !self.open {
            if let Some(pool) = self.pool.take() {
                for entry in self.entries.iter_mut().filter(|e| e.slot == pool) {
                    entry.draw = random().max(1);
                }
                self.sort();
                if self.rules.open_shuffle_ms > 0 {
                    self.shuffle = Some((pool, now + self.rules.open_shuffle_ms));
                }
            } else if self.rules.open_shuffle_ms > 0 {
                self.start_shuffle(now);
            }
        }
        self.open = open;
    }

    /// `entry` with its place in the pre-opening pool, if it may join
    /// there at `now`: as [`Queue::check_place`] for a closed queue (the
    /// caller decides it is early-join time). The pool keeps arrival order
    /// until the opening draws it.
    pub fn check_early_place(&self, mut entry: Entry, now: UnixMillis) -> Result<Entry, JoinError> {
        self.check_join_rules(&entry.username, now)?;
        entry.away_until = None;
        entry.front_since = None;
        entry.slot = self.pool.unwrap_or(self.next_slot);
        entry.draw = 0;
        Ok(entry)
    }

    /// Adds a student to the pre-opening pool (see
    /// [`Queue::check_early_place`]); returns their 1-based position.
    pub fn join_early(&mut self, entry: Entry, now: UnixMillis) -> Result<usize, JoinError> {
        self.check_join_rules(&entry.username, now)?;
        if self.pool.is_none() {
            self.pool = Some(entry.slot);
        }
        self.next_slot = self.next_slot.max(entry.slot + 1);
        Ok(self.insert(entry))
    }

    /// Whether `entry` waits in the pre-opening pool.
    pub fn in_pool(&self, entry: &Entry) -> bool {
        self.pool == Some(entry.slot)
    }

    /// The pre-opening pool's slot, while the queue is closed and has
    /// taken an early join: what [`Queue::restore`] needs to keep it.
    pub fn pool(&self) -> Option<u64> {
        self.pool
    }

    /// Starts an opening shuffle at `now` (also when a new session starts
    /// open).
    pub fn start_shuffle(&mut self, now: UnixMillis) {
        if self.rules.open_shuffle_ms > 0 {
            self.shuffle = Some((self.next_slot, now + self.rules.open_shuffle_ms));
            self.next_slot += 1;
        }
    }

    pub fn rules(&self) -> Rules {
        self.rules
    }

    /// Changes the rules; the queue is put in the new order at once.
    pub fn set_rules(&mut self, rules: Rules) {
        self.rules = rules;
        if rules.open_shuffle_ms == 0 {
            self.shuffle = None;
        }
        self.sort();
    }

    /// The order: students put back at the front first (the latest first),
    /// then, with first-timers-first, those not yet helped; then by slot
    /// (arrival), and within an opening shuffle's slot by the draw.
    fn order_key(&self, e: &Entry) -> (i64, bool, u64, u64) {
        let front = e.front_since.map_or(0, |t| -t.max(1));
        let repeat = self.rules.first_timers_first && self.helped.contains(&e.username);
        (front, repeat, e.slot, e.draw)
    }

    fn sort(&mut self) {
        let mut entries = std::mem::take(&mut self.entries);
        // Stable: equal keys keep their order.
        entries.make_contiguous().sort_by_key(|e| self.order_key(e));
        self.entries = entries;
    }

    /// Why `entry` stands where it does.
    pub fn place_of(&self, entry: &Entry) -> jqueue_shared::Place {
        use jqueue_shared::Place;
        if entry.front_since.is_some() {
            Place::KeptAtFront
        } else if self.in_pool(entry) {
            Place::Pool
        } else if entry.was_drawn() {
            Place::Drawn
        } else if self.rules.first_timers_first {
            if self.helped.contains(&entry.username) {
                Place::AfterFirstTimers
            } else {
                Place::FirstTime
            }
        } else {
            Place::Arrival
        }
    }

    /// Inserts `entry` at its place; returns its 1-based position.
    fn insert(&mut self, entry: Entry) -> usize {
        let key = self.order_key(&entry);
        let index = self.entries.partition_point(|e| self.order_key(e) <= key);
        self.entries.insert(index, entry);
        index + 1
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The waiting students, first in line first.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = &Entry> {
        self.entries.iter()
    }

    /// The helps in progress, in no particular order.
    pub fn helps(&self) -> impl ExactSizeIterator<Item = &Help> {
        self.helps.values()
    }

    /// `staff`'s help in progress.
    pub fn help_of(&self, staff: &str) -> Option<&Help> {
        self.helps.get(staff)
    }

    /// The help `student` is in (alone or in a group), if any.
    pub fn help_for(&self, student: &str) -> Option<&Help> {
        self.helps.values().find(|h| h.has(student))
    }

    /// 1-based position of `username`, if waiting.
    pub fn position(&self, username: &str) -> Option<usize> {
        self.index(username).map(|i| i + 1)
    }

    fn index(&self, username: &str) -> Option<usize> {
        self.entries.iter().position(|e| &*e.username == username)
    }

    pub fn entry(&self, username: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| &*e.username == username)
    }

    /// Helped this session: a help that ended as helped, or one in progress.
    pub fn was_helped(&self, username: &str) -> bool {
        self.helped.contains(username) || self.help_for(username).is_some()
    }

    /// Number of distinct students helped this session (helps in progress
    /// included).
    pub fn helped_count(&self) -> usize {
        self.helped.len()
            + self
                .helps
                .values()
                .flat_map(Help::members)
                .filter(|e| !self.helped.contains(&e.username))
                .count()
    }

    /// Whether `username` may join at `now`.
    pub fn check_join(&self, username: &str, now: UnixMillis) -> Result<(), JoinError> {
        if !self.open && self.position(username).is_none() && self.help_for(username).is_none() {
            return Err(JoinError::Closed);
        }
        self.check_join_rules(username, now)
    }

    /// Every rule of [`Queue::check_join`] but the open queue's.
    fn check_join_rules(&self, username: &str, now: UnixMillis) -> Result<(), JoinError> {
        if let Some(position) = self.position(username) {
            return Err(JoinError::AlreadyQueued { position });
        }
        if self.help_for(username).is_some() {
            return Err(JoinError::BeingHelped);
        }
        if let Some(&(count, last_end)) = self.help_counts.get(username) {
            if self.rules.max_helps > 0 && count >= self.rules.max_helps {
                return Err(JoinError::MaxHelps {
                    max: self.rules.max_helps,
                });
            }
            let until = last_end + self.rules.cooldown_ms;
            if self.rules.cooldown_ms > 0 && now < until {
                return Err(JoinError::Cooldown { until });
            }
        }
        Ok(())
    }

    /// `entry` with its place in line, if it may join at `now`: the entry
    /// [`Queue::join`] takes. `random` decides the place in an opening
    /// shuffle (the caller draws it; this module has no randomness).
    pub fn check_place(
        &self,
        mut entry: Entry,
        now: UnixMillis,
        random: u64,
    ) -> Result<Entry, JoinError> {
        self.check_join(&entry.username, now)?;
        entry.away_until = None;
        entry.front_since = None;
        match self.shuffle {
            Some((slot, until)) if now < until => {
                entry.slot = slot;
                entry.draw = random.max(1);
            }
            _ => {
                entry.slot = self.next_slot;
                entry.draw = 0;
            }
        }
        Ok(entry)
    }

    /// Adds a student at their place (see [`Queue::check_place`]); returns
    /// their 1-based position.
    pub fn join(&mut self, entry: Entry, now: UnixMillis) -> Result<usize, JoinError> {
        self.check_join(&entry.username, now)?;
        if self.shuffle.is_some_and(|(_, until)| now >= until) {
            self.shuffle = None;
        }
        self.next_slot = self.next_slot.max(entry.slot + 1);
        Ok(self.insert(entry))
    }

    /// `entry`, moved here from another queue of the course, with the place
    /// its join time gives it: after everyone here who joined before it
    /// and ahead of everyone who joined after (by arrival; the rules then
    /// order as for anyone). Also the waiting students whose places move
    /// back one to make room, with their new places: the caller keeps them
    /// before [`Queue::join_moved`] applies the lot.
    pub fn place_by_join_time(
        &self,
        mut entry: Entry,
        now: UnixMillis,
    ) -> Result<(Entry, Vec<Entry>), JoinError> {
        self.check_join(&entry.username, now)?;
        entry.away_until = None;
        entry.front_since = None;
        entry.draw = 0;
        let later = self
            .entries
            .iter()
            .filter(|e| e.joined_at > entry.joined_at)
            .map(|e| e.slot)
            .min();
        let Some(slot) = later else {
            entry.slot = self.next_slot;
            return Ok((entry, Vec::new()));
        };
        entry.slot = slot;
        let moved = self
            .entries
            .iter()
            .filter(|e| e.slot >= slot)
            .map(|e| Entry {
                slot: e.slot + 1,
                ..e.clone()
            })
            .collect();
        Ok((entry, moved))
    }

    /// Adds `entry` at the place [`Queue::place_by_join_time`] gave it,
    /// moving `moved` back as it said; returns the 1-based position.
    pub fn join_moved(
        &mut self,
        entry: Entry,
        moved: &[Entry],
        now: UnixMillis,
    ) -> Result<usize, JoinError> {
        self.check_join(&entry.username, now)?;
        let shift = |slot: &mut u64| {
            if *slot >= entry.slot && !moved.is_empty() {
                *slot += 1;
            }
        };
        for waiting in &mut self.entries {
            if moved.iter().any(|m| m.username == waiting.username) {
                shift(&mut waiting.slot);
            }
        }
        if let Some((slot, _)) = &mut self.shuffle {
            shift(slot);
        }
        if let Some(slot) = &mut self.pool {
            shift(slot);
        }
        self.next_slot = self
            .entries
            .iter()
            .map(|e| e.slot + 1)
            .chain([self.next_slot, entry.slot + 1])
            .max()
            .unwrap_or(0);
        self.sort();
        Ok(self.insert(entry))
    }

    /// Changes a waiting student's question to `question`'s (for the
    /// student it names: its description, location, host and tag); their
    /// place and join time stay, and a request for more detail is met.
    /// `false`: not waiting.
    pub fn edit(&mut self, question: &Entry) -> bool {
        let Some(index) = self.index(&question.username) else {
            return false;
        };
        let entry = &mut self.entries[index];
        entry.description.clone_from(&question.description);
        entry.location.clone_from(&question.location);
        entry.host.clone_from(&question.host);
        entry.tag.clone_from(&question.tag);
        entry.needs_edit = false;
        true
    }

    /// A staff member sent a waiting student a message: their earlier answer
    /// is no longer the latest word, and `asks_edit` marks the row until the
    /// student edits. `false`: not waiting.
    pub fn note_message(&mut self, username: &str, asks_edit: bool) -> bool {
        let Some(index) = self.index(username) else {
            return false;
        };
        let entry = &mut self.entries[index];
        entry.answer = None;
        entry.needs_edit |= asks_edit;
        true
    }

    /// Staff read a waiting student's answer. `false`: no answer not yet
    /// read (nothing changed).
    pub fn mark_answer_read(&mut self, username: &str) -> bool {
        let answer = self
            .entries
            .iter_mut()
            .find(|e| &*e.username == username)
            .and_then(|e| e.answer.as_mut());
        match answer {
            Some(answer) if !answer.read => {
                answer.read = true;
                true
            }
            _ => false,
        }
    }

    /// A waiting student answered a message. `false`: not waiting.
    pub fn note_answer(&mut self, username: &str, answer: MessageAnswer) -> bool {
        let Some(index) = self.index(username) else {
            return false;
        };
        self.entries[index].answer = Some(Box::new(answer));
        true
    }

    /// Takes a student out of the queue at their own request.
    pub fn cancel(&mut self, username: &str) -> Option<Entry> {
        self.take(username)
    }

    /// The entry [`Queue::serve`] would take: `student`'s, or the first one
    /// not marked away.
    pub fn check_serve(&self, student: Option<&str>) -> Result<&Entry, ServeError> {
        match student {
            Some(name) => self
                .entry(name)
                .ok_or_else(|| match self.served_by.get(name) {
                    Some(by) => ServeError::AlreadyServed { by: by.clone() },
                    None => ServeError::NotWaiting,
                }),
            None => self
                .entries
                .iter()
                .find(|e| e.away_until.is_none())
                .ok_or(ServeError::NobodyWaiting),
        }
    }

    /// `staff` serves `student` (or the first student not away): it ends
    /// their current help as helped, and claims the student, who leaves the
    /// queue. Two staff can never hold the same student: the second serve of
    /// a student finds them gone.
    pub fn serve(
        &mut self,
        staff: &Arc<str>,
        student: Option<&str>,
        now: UnixMillis,
    ) -> Result<Served, ServeError> {
        let name = self.check_serve(student)?.username.clone();
        let finished = self.finish(staff, now);
        let index = self.index(&name).expect("checked above");
        let mut entry = self.entries.remove(index).expect("index is in range");
        entry.away_until = None;
        entry.front_since = None;
        let helped_before = self.helped.contains(&entry.username);
        self.served_by.insert(entry.username.clone(), staff.clone());
        self.helps.insert(
            staff.clone(),
            Help::of_one(staff.clone(), entry.clone(), now),
        );
        Ok(Served {
            entry,
            helped_before,
            finished,
        })
    }

    /// Whom [`Queue::serve_group`] would take of `students`: those waiting
    /// (each once, in the order they stand), and why each other one is not
    /// taken. A group needs two or more members.
    pub fn check_serve_group(&self, students: &[&str]) -> GroupCheck<'_> {
        let members = self
            .entries
            .iter()
            .filter(|e| students.contains(&&*e.username))
            .collect();
        let mut missed: Vec<(Arc<str>, ServeError)> = Vec::new();
        for &name in students {
            if self.entry(name).is_some() || missed.iter().any(|(m, _)| &**m == name) {
                continue;
            }
            let why = match self.served_by.get(name) {
                Some(by) => ServeError::AlreadyServed { by: by.clone() },
                None => ServeError::NotWaiting,
            };
            missed.push((name.into(), why));
        }
        GroupCheck { members, missed }
    }

    /// `staff` helps the named students who are waiting together, as one
    /// help (see [`Queue::check_serve_group`]): as [`Queue::serve`], it
    /// ends their current help as helped and claims every member, who
    /// leave the queue; the first in line is the help's `entry`, the
    /// others its `with`. With fewer than two waiting, nothing changes.
    pub fn serve_group(
        &mut self,
        staff: &Arc<str>,
        students: &[&str],
        now: UnixMillis,
    ) -> Result<Served, ServeError> {
        let names: Vec<Arc<str>> = self
            .check_serve_group(students)
            .members
            .iter()
            .map(|e| e.username.clone())
            .collect();
        if names.len() < 2 {
            return Err(ServeError::TooFewForGroup);
        }
        let finished = self.finish(staff, now);
        let mut members = names.iter().map(|name| {
            let mut entry = self.take(name).expect("checked above");
            entry.away_until = None;
            entry.front_since = None;
            self.served_by.insert(entry.username.clone(), staff.clone());
            entry
        });
        let entry = members.next().expect("two or more");
        let with = members.collect();
        let helped_before = self.helped.contains(&entry.username);
        self.helps.insert(
            staff.clone(),
            Help {
                staff: staff.clone(),
                entry: entry.clone(),
                with,
                served_at: now,
            },
        );
        Ok(Served {
            entry,
            helped_before,
            finished,
        })
    }

    /// Opens `staff`'s help to others on `topic` (`None`: closes it);
    /// `false` when they are helping nobody.
    pub fn open_group(&mut self, staff: &Arc<str>, topic: Option<Arc<str>>) -> bool {
        if !self.helps.contains_key(staff) {
            return false;
        }
        match topic {
            Some(topic) => self.open_groups.insert(staff.clone(), topic),
            None => self.open_groups.remove(staff),
        };
        true
    }

    /// The helps open to others: staff member and topic, by name.
    pub fn open_groups(&self) -> impl Iterator<Item = (&Arc<str>, &Arc<str>)> {
        self.open_groups.iter()
    }

    /// Whether `student`, waiting, may join `staff`'s open group.
    pub fn check_join_group(&self, student: &str, staff: &str) -> Result<&Entry, JoinGroupError> {
        if !self.open_groups.contains_key(staff) {
            return Err(JoinGroupError::NotOpen);
        }
        self.entry(student).ok_or(JoinGroupError::NotWaiting)
    }

    /// `student` leaves the queue to join `staff`'s open group: one more
    /// member of that help, claimed by `staff` as a serve claims.
    pub fn join_group(&mut self, student: &str, staff: &str) -> Result<(), JoinGroupError> {
        self.check_join_group(student, staff)?;
        let mut entry = self.take(student).expect("checked above");
        entry.away_until = None;
        entry.front_since = None;
        let help = self.helps.get_mut(staff).expect("an open group is a help");
        self.served_by
            .insert(entry.username.clone(), help.staff.clone());
        help.with.push(entry);
        Ok(())
    }

    /// Ends `staff`'s help as helped: every member of a group counts as
    /// helped (for the helped log and the fairness rules). A group's help
    /// is one length for the wait estimate: it took one stretch of staff
    /// time.
    pub fn finish(&mut self, staff: &str, now: UnixMillis) -> Option<Finished> {
        let help = self.helps.remove(staff)?;
        self.open_groups.remove(staff);
        let help_ms = (now - help.served_at).max(0);
        self.note_help(help_ms);
        let first_helps = help
            .members()
            .map(|member| {
                let count = self
                    .help_counts
                    .entry(member.username.clone())
                    .or_insert((0, now));
                *count = (count.0 + 1, now);
                self.helped.insert(member.username.clone())
            })
            .collect();
        Some(Finished {
            help,
            help_ms,
            first_helps,
        })
    }

    /// Ends `staff`'s help as not here: the student (every member of a
    /// group) goes back to the front, marked away until `until`. It does
    /// not count as help.
    pub fn not_here(&mut self, staff: &str, now: UnixMillis, until: UnixMillis) -> Option<Help> {
        let help = self.helps.remove(staff)?;
        self.open_groups.remove(staff);
        for member in help.members() {
            let mut entry = member.clone();
            entry.away_until = Some(until);
            entry.front_since = Some(now);
            // Its place is the front now, not a draw.
            entry.draw = 0;
            self.insert(entry);
        }
        Some(help)
    }

    /// `student` is back: no longer marked away. `false` if they were not.
    pub fn back(&mut self, student: &str) -> bool {
        match self.entries.iter_mut().find(|e| &*e.username == student) {
            Some(entry) if entry.away_until.is_some() => {
                entry.away_until = None;
                true
            }
            _ => false,
        }
    }

    /// The students whose time away has run out by `now`.
    pub fn check_expired(&self, now: UnixMillis) -> impl Iterator<Item = &Entry> {
        self.entries
            .iter()
            .filter(move |e| e.away_until.is_some_and(|until| until <= now))
    }

    /// When the next student marked away runs out of time.
    pub fn next_away_deadline(&self) -> Option<UnixMillis> {
        self.entries.iter().filter_map(|e| e.away_until).min()
    }

    /// Removes a student without helping them: nothing is marked or logged.
    pub fn remove(&mut self, username: &str) -> Option<Entry> {
        self.take(username)
    }

    fn take(&mut self, username: &str) -> Option<Entry> {
        let index = self.index(username)?;
        self.entries.remove(index)
    }

    fn note_help(&mut self, length: i64) {
        if (0..=LONGEST_PLAUSIBLE_HELP_MS).contains(&length) {
            if self.recent_helps.len() == RECENT_HELPS {
                self.recent_helps.pop_front();
            }
            self.recent_helps.push_back(length);
        }
    }

    /// The typical time one help takes: the median of the recent help
    /// lengths. `None` until a help has ended.
    pub fn typical_help_ms(&self) -> Option<i64> {
        if self.recent_helps.is_empty() {
            return None;
        }
        let mut lengths: Vec<i64> = self.recent_helps.iter().copied().collect();
        lengths.sort_unstable();
        Some(lengths[lengths.len() / 2])
    }

    /// Estimated wait for whoever stands at 1-based `position`: one typical
    /// help for each student up to and including them, shared among the
    /// staff helping right now (at least one).
    pub fn estimated_wait_ms(&self, position: usize) -> Option<i64> {
        let serving = self.helps.len().max(1) as i64;
        self.typical_help_ms().map(|typical| {
            typical.saturating_mul(i64::try_from(position).unwrap_or(i64::MAX)) / serving
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, at: UnixMillis) -> Entry {
        Entry::new(name.into(), "".into(), "".into(), at)
    }

    /// Joins `name` at `at` the ordinary way.
    fn joined(q: &mut Queue, name: &str, at: UnixMillis) {
        let placed = q.check_place(entry(name, at), at, 1).unwrap();
        q.join(placed, at).unwrap();
    }

    #[test]
    fn a_moved_place_keeps_its_join_time_among_those_who_joined_here() {
        let mut q = Queue::new();
        for (name, at) in [("ann", 10), ("cat", 30), ("dan", 50)] {
            joined(&mut q, name, at);
        }
        // bob joined the course's other queue at 20: between ann and cat.
        let (placed, moved) = q.place_by_join_time(entry("bob", 20), 60).unwrap();
        let pushed: Vec<&str> = moved.iter().map(|e| &*e.username).collect();
        assert_eq!(pushed, ["cat", "dan"], "those who joined later move back");
        assert_eq!(q.join_moved(placed, &moved, 60), Ok(2));
        assert_eq!(names(&q), ["ann", "bob", "cat", "dan"]);
        assert_eq!(
            q.entry("bob").unwrap().joined_at,
            20,
            "the join time is kept"
        );
        // The earliest of all goes first; the latest last, moving nobody.
        let (placed, moved) = q.place_by_join_time(entry("amy", 1), 61).unwrap();
        assert_eq!(moved.len(), 4);
        assert_eq!(q.join_moved(placed, &moved, 61), Ok(1));
        let (placed, moved) = q.place_by_join_time(entry("zed", 99), 62).unwrap();
        assert!(moved.is_empty());
        assert_eq!(q.join_moved(placed, &moved, 62), Ok(6));
        // Joins after that go at the back, as ever.
        joined(&mut q, "eve", 70);
        assert_eq!(names(&q), ["amy", "ann", "bob", "cat", "dan", "zed", "eve"]);
        // A restart (places as the store keeps them) gives the same line.
        let again = Queue::restore(
            true,
            None,
            Rules::default(),
            q.entries().cloned(),
            [],
            [],
            &[],
        );
        assert_eq!(names(&again), names(&q));
        // The rules still hold: someone already here is refused.
        assert_eq!(
            q.place_by_join_time(entry("cat", 5), 63).unwrap_err(),
            JoinError::AlreadyQueued { position: 4 }
        );
    }

    #[test]
    fn the_pre_opening_pool_is_drawn_at_the_opening_with_the_first_minutes() {
        let mut q = Queue::new();
        q.set_rules(Rules {
            open_shuffle_ms: 60_000,
            ..Rules::default()
        });
        q.set_open(false, 0);
        assert_eq!(
            q.check_place(entry("x", 0), 0, 7).unwrap_err(),
            JoinError::Closed,
            "closed: no ordinary join"
        );
        for (i, name) in ["ann", "bob", "cat"].into_iter().enumerate() {
            let early = q
                .check_early_place(entry(name, i as i64), i as i64)
                .unwrap();
            q.join_early(early, i as i64).unwrap();
        }
        assert_eq!(
            q.join_early(
                q.check_early_place(entry("ann", 9), 9)
                    .unwrap_or(entry("ann", 9)),
                9
            ),
            Err(JoinError::AlreadyQueued { position: 1 })
        );
        assert!(
            q.entries()
                .all(|e| q.place_of(e) == jqueue_shared::Place::Pool)
        );
        // Opening draws: cat, ann, bob by the numbers given.
        let mut draws = [20_u64, 30, 10].into_iter();
        q.open_drawing(true, 1_000, || draws.next().unwrap());
        let order: Vec<&str> = q.entries().map(|e| &*e.username).collect();
        assert_eq!(
            order,
            ["cat", "ann", "bob"],
            "no advantage for camping first"
        );
        assert!(
            q.entries()
                .all(|e| q.place_of(e) == jqueue_shared::Place::Drawn)
        );
        // A join in the opening minute is drawn with them.
        let dan = q.check_place(entry("dan", 1_500), 1_500, 15).unwrap();
        q.join(dan, 1_500).unwrap();
        let order: Vec<&str> = q.entries().map(|e| &*e.username).collect();
        assert_eq!(order, ["cat", "dan", "ann", "bob"]);
        // After the minute, arrival order again.
        let eve = q.check_place(entry("eve", 70_000), 70_000, 1).unwrap();
        q.join(eve, 70_000).unwrap();
        assert_eq!(q.entries().last().map(|e| &*e.username), Some("eve"));
    }

    #[test]
    fn a_restored_closed_queue_keeps_its_pool_and_draws_it_at_the_opening() {
        let mut q = Queue::new();
        joined(&mut q, "old", 0);
        q.set_open(false, 5);
        for (i, name) in ["ann", "bob"].into_iter().enumerate() {
            let early = q.check_early_place(entry(name, 10 + i as i64), 10).unwrap();
            q.join_early(early, 10).unwrap();
        }
        // What the store hands back after a restart.
        let restored = |q: &Queue| {
            Queue::restore(
                false,
                q.pool(),
                Rules::default(),
                q.entries().cloned(),
                [],
                [],
                &[],
            )
        };
        let mut again = restored(&q);
        assert_eq!(again.pool(), q.pool());
        let places: Vec<_> = again.entries().map(|e| again.place_of(e)).collect();
        assert_eq!(
            places,
            [
                jqueue_shared::Place::Arrival,
                jqueue_shared::Place::Pool,
                jqueue_shared::Place::Pool
            ],
            "the one who waited from before the close is not in the pool"
        );
        // A later camper joins the same pool, not behind it.
        let cat = again.check_early_place(entry("cat", 20), 20).unwrap();
        again.join_early(cat, 20).unwrap();
        assert!(again.in_pool(again.entry("cat").unwrap()));
        // The opening draws all three: bob, cat, ann by the numbers given.
        let mut draws = [30_u64, 10, 20].into_iter();
        again.open_drawing(true, 1_000, || draws.next().unwrap());
        assert_eq!(names(&again), ["old", "bob", "cat", "ann"]);
        assert_eq!(again.pool(), None, "the opening ends the pool");
        // Restored open, a queue has no pool, whatever it is handed.
        let open = Queue::restore(true, Some(1), Rules::default(), [], [], [], &[]);
        assert_eq!(open.pool(), None);
    }

    #[test]
    fn a_closed_queue_with_a_pool_takes_no_move_so_the_pool_never_shifts() {
        let mut q = Queue::new();
        q.set_open(false, 0);
        let ann = q.check_early_place(entry("ann", 10), 10).unwrap();
        q.join_early(ann, 10).unwrap();
        // The owner persists the pool with an early join and its end with
        // the opening; a move is the only other change of slots, and it is
        // refused while the pool exists (in early-join time a move joins
        // the pool instead).
        assert_eq!(
            q.place_by_join_time(entry("bob", 1), 11).unwrap_err(),
            JoinError::Closed
        );
        assert_eq!(q.pool(), Some(0));
    }

    #[test]
    fn an_edit_keeps_the_place_and_the_join_time_and_meets_a_request_for_detail() {
        let mut q = Queue::new();
        for (i, name) in ["ann", "bob", "cat"].into_iter().enumerate() {
            q.join(entry(name, i as i64), i as i64).unwrap();
        }
        assert!(q.note_message("bob", true));
        assert!(q.note_answer(
            "bob",
            MessageAnswer {
                to: "tara".into(),
                text: "ok".into(),
                at: 5,
                read: false,
            }
        ));
        assert!(q.entry("bob").unwrap().needs_edit);
        // Staff read it once; a second reading changes nothing.
        assert!(q.mark_answer_read("bob"));
        assert!(!q.mark_answer_read("bob"));
        assert!(q.entry("bob").unwrap().answer.as_ref().unwrap().read);
        let question = |name: &str| Entry {
            host: "lab07".into(),
            tag: Some("debugging".into()),
            ..Entry::new(name.into(), "segfault in main.c".into(), "row 3".into(), 99)
        };
        assert!(q.edit(&question("bob")));
        let bob = q.entry("bob").unwrap();
        assert_eq!(q.position("bob"), Some(2));
        assert_eq!(bob.joined_at, 1);
        assert_eq!(&*bob.description, "segfault in main.c");
        assert_eq!(&*bob.location, "row 3");
        assert_eq!(bob.tag.as_deref(), Some("debugging"));
        assert!(!bob.needs_edit, "the edit met the request");
        assert!(bob.answer.is_some(), "an edit is not a new message");
        // A new message makes the answer old news.
        assert!(q.note_message("bob", false));
        assert!(q.entry("bob").unwrap().answer.is_none());
        assert!(!q.edit(&question("dan")), "not waiting");
        // Edited again without a tag: the tag goes.
        assert!(q.edit(&Entry {
            tag: None,
            ..question("bob")
        }));
        assert_eq!(q.entry("bob").unwrap().tag, None);
        assert!(!q.note_message("dan", true));
    }

    #[test]
    fn a_students_key_is_their_name_and_nothing_else() {
        assert_eq!(entry("ann", 0).key, StudentKey::of("ann"));
        assert_eq!(entry("ann", 5).key, entry("ann", 9).key);
        // Case and a trailing byte make another student.
        assert_ne!(StudentKey::of("ann"), StudentKey::of("Ann"));
        assert_ne!(StudentKey::of("ann"), StudentKey::of("ann "));
    }

    /// Joins at `at` (with no randomness), as the actor does.
    fn join(q: &mut Queue, name: &str, at: UnixMillis) -> Result<usize, JoinError> {
        join_drawn(q, name, at, 0)
    }

    fn join_drawn(
        q: &mut Queue,
        name: &str,
        at: UnixMillis,
        random: u64,
    ) -> Result<usize, JoinError> {
        let entry = q.check_place(entry(name, at), at, random)?;
        q.join(entry, at)
    }

    fn names(q: &Queue) -> Vec<&str> {
        q.entries().map(|e| &*e.username).collect()
    }

    fn staff(name: &str) -> Arc<str> {
        name.into()
    }

    #[test]
    fn join_keeps_arrival_order_and_one_entry_per_student() {
        let mut q = Queue::new();
        assert_eq!(join(&mut q, "a", 1), Ok(1));
        assert_eq!(join(&mut q, "b", 2), Ok(2));
        assert_eq!(
            join(&mut q, "a", 3),
            Err(JoinError::AlreadyQueued { position: 1 })
        );
        assert_eq!(names(&q), ["a", "b"]);
        assert_eq!(q.position("b"), Some(2));
        assert_eq!(q.position("zed"), None);
    }

    #[test]
    fn closed_queue_refuses_joins_but_keeps_its_students() {
        let mut q = Queue::new();
        join(&mut q, "a", 1).unwrap();
        q.set_open(false, 0);
        assert_eq!(join(&mut q, "b", 2), Err(JoinError::Closed));
        assert_eq!(
            q.serve(&staff("t"), None, 10)
                .unwrap()
                .entry
                .username
                .as_ref(),
            "a"
        );
        q.set_open(true, 0);
        assert_eq!(join(&mut q, "b", 2), Ok(1));
    }

    #[test]
    fn cancel_and_remove_close_the_gap() {
        let mut q = Queue::new();
        for (i, n) in ["a", "b", "c", "d"].iter().enumerate() {
            join(&mut q, n, i as i64).unwrap();
        }
        assert!(q.cancel("b").is_some());
        assert!(q.remove("d").is_some());
        assert!(q.cancel("b").is_none());
        assert_eq!(names(&q), ["a", "c"]);
        assert_eq!(q.position("c"), Some(2));
        assert_eq!(q.helped_count(), 0, "remove never counts as help");
    }

    #[test]
    fn a_help_counts_once_it_ends_as_helped() {
        let mut q = Queue::new();
        let t = staff("t");
        join(&mut q, "a", 0).unwrap();
        let served = q.serve(&t, None, 100).unwrap();
        assert!(!served.helped_before);
        assert!(q.was_helped("a"), "a help in progress counts");
        assert_eq!(join(&mut q, "a", 150), Err(JoinError::BeingHelped));
        let done = q.finish(&t, 400).unwrap();
        assert_eq!(done.first_helps, [true]);
        assert_eq!(done.help_ms, 300);
        join(&mut q, "a", 500).unwrap();
        let again = q.serve(&t, Some("a"), 600).unwrap();
        assert!(again.helped_before);
        assert_eq!(q.finish(&t, 700).unwrap().first_helps, [false]);
        assert_eq!(q.helped_count(), 1);
        assert_eq!(q.serve(&t, None, 800), Err(ServeError::NobodyWaiting));
    }

    #[test]
    fn serving_again_finishes_the_help_in_progress() {
        let mut q = Queue::new();
        let t = staff("t");
        join(&mut q, "a", 0).unwrap();
        join(&mut q, "b", 0).unwrap();
        q.serve(&t, None, 0).unwrap();
        let served = q.serve(&t, None, 60_000).unwrap();
        assert_eq!(served.entry.username.as_ref(), "b");
        let finished = served.finished.unwrap();
        assert_eq!(finished.help.entry.username.as_ref(), "a");
        assert_eq!(finished.help_ms, 60_000);
        assert_eq!(q.helps().len(), 1);
    }

    #[test]
    fn two_staff_never_hold_the_same_student() {
        let mut q = Queue::new();
        join(&mut q, "carol", 0).unwrap();
        join(&mut q, "dave", 0).unwrap();
        q.serve(&staff("alice"), Some("carol"), 10).unwrap();
        assert_eq!(
            q.serve(&staff("bob"), Some("carol"), 11),
            Err(ServeError::AlreadyServed { by: staff("alice") })
        );
        assert!(q.help_of("bob").is_none(), "the loser changes nothing");
        assert_eq!(names(&q), ["dave"]);
        assert_eq!(
            q.serve(&staff("bob"), Some("zed"), 12),
            Err(ServeError::NotWaiting)
        );
    }

    #[test]
    fn not_here_keeps_the_place_at_the_front_until_the_deadline() {
        let mut q = Queue::new();
        let t = staff("t");
        for n in ["a", "b"] {
            join(&mut q, n, 0).unwrap();
        }
        q.serve(&t, None, 10).unwrap();
        let help = q.not_here(&t, 10, 1_000).unwrap();
        assert_eq!(help.entry.username.as_ref(), "a");
        assert_eq!(names(&q), ["a", "b"]);
        assert!(!q.was_helped("a"), "not here is not help");
        assert!(q.help_of("t").is_none());
        // Serving the top skips a student who is away.
        assert_eq!(q.check_serve(None).unwrap().username.as_ref(), "b");
        assert_eq!(q.next_away_deadline(), Some(1_000));
        assert_eq!(q.check_expired(999).count(), 0);
        assert_eq!(q.check_expired(1_000).count(), 1);
        assert!(q.back("a"));
        assert!(!q.back("a"), "back only once");
        assert_eq!(q.check_serve(None).unwrap().username.as_ref(), "a");
        assert_eq!(q.next_away_deadline(), None);
    }

    #[test]
    fn wait_estimate_is_the_median_help_shared_among_staff_helping() {
        let mut q = Queue::new();
        assert_eq!(q.estimated_wait_ms(3), None);
        let t = staff("t");
        for (i, length) in [60_000, 120_000, 60_000].iter().enumerate() {
            join(&mut q, &format!("s{i}"), 0).unwrap();
            q.serve(&t, None, 0).unwrap();
            q.finish(&t, *length).unwrap();
        }
        assert_eq!(q.typical_help_ms(), Some(60_000));
        assert_eq!(q.estimated_wait_ms(3), Some(180_000));
        for (i, who) in ["u", "v"].iter().enumerate() {
            join(&mut q, &format!("w{i}"), 0).unwrap();
            q.serve(&staff(who), None, 0).unwrap();
        }
        assert_eq!(q.estimated_wait_ms(3), Some(90_000), "two staff helping");
    }

    #[test]
    fn a_help_left_open_over_a_break_is_not_a_length() {
        let mut q = Queue::new();
        let t = staff("t");
        join(&mut q, "a", 0).unwrap();
        q.serve(&t, None, 0).unwrap();
        q.finish(&t, 3 * 3_600_000).unwrap();
        assert_eq!(q.typical_help_ms(), None);
    }

    #[test]
    fn restore_brings_back_entries_helps_helped_set_and_estimate() {
        let help = Help::of_one(staff("t"), entry("d", 1), 2);
        let (mut b, mut c) = (entry("b", 5), entry("c", 6));
        (b.slot, c.slot) = (0, 1);
        let q = Queue::restore(
            false,
            None,
            Rules::default(),
            [c, b],
            [help],
            [("a".into(), 1, 0)],
            &[90_000],
        );
        assert!(!q.is_open());
        assert_eq!(names(&q), ["b", "c"]);
        assert!(q.was_helped("a"));
        assert!(q.was_helped("d"));
        assert_eq!(q.help_of("t").unwrap().entry.username.as_ref(), "d");
        assert_eq!(q.typical_help_ms(), Some(90_000));
    }

    #[test]
    fn a_group_serve_takes_the_waiting_students_named_in_line_order() {
        let mut q = Queue::new();
        for (i, n) in ["ann", "bob", "cat", "dan"].iter().enumerate() {
            join(&mut q, n, i as i64).unwrap();
        }
        let t = staff("t");
        q.serve(&staff("u"), Some("dan"), 5).unwrap();
        let check = q.check_serve_group(&["cat", "ann", "dan", "zed", "ann"]);
        let members: Vec<&str> = check.members.iter().map(|e| &*e.username).collect();
        assert_eq!(members, ["ann", "cat"], "in line order, each once");
        assert_eq!(
            check.missed,
            [
                ("dan".into(), ServeError::AlreadyServed { by: staff("u") }),
                ("zed".into(), ServeError::NotWaiting),
            ]
        );
        let served = q.serve_group(&t, &["cat", "ann", "dan"], 10).unwrap();
        assert_eq!(&*served.entry.username, "ann");
        let help = q.help_of("t").unwrap();
        let with: Vec<&str> = help.with.iter().map(|e| &*e.username).collect();
        assert_eq!(with, ["cat"]);
        assert_eq!(names(&q), ["bob"]);
        assert!(q.was_helped("cat"), "a member is in a help");
        assert_eq!(q.help_for("cat").map(|h| &*h.staff), Some("t"));
        assert_eq!(join(&mut q, "cat", 11), Err(JoinError::BeingHelped));
        // A second staff member serving a member is told who won.
        assert_eq!(
            q.serve(&staff("u"), Some("cat"), 12),
            Err(ServeError::AlreadyServed { by: staff("t") })
        );
        assert_eq!(q.helped_count(), 3, "ann, cat and dan");
    }

    #[test]
    fn a_group_of_fewer_than_two_waiting_changes_nothing() {
        let mut q = Queue::new();
        join(&mut q, "ann", 0).unwrap();
        join(&mut q, "bob", 0).unwrap();
        let t = staff("t");
        q.serve(&t, Some("bob"), 1).unwrap();
        assert_eq!(
            q.serve_group(&t, &["ann", "bob"], 2),
            Err(ServeError::TooFewForGroup)
        );
        assert_eq!(
            q.serve_group(&t, &["ann", "ann"], 2),
            Err(ServeError::TooFewForGroup)
        );
        assert_eq!(names(&q), ["ann"]);
        assert_eq!(q.help_of("t").unwrap().entry.username.as_ref(), "bob");
    }

    #[test]
    fn finishing_a_group_counts_every_member_as_helped() {
        let mut q = rules(Rules {
            cooldown_ms: 1_000,
            max_helps: 2,
            ..Rules::default()
        });
        help(&mut q, "ann", 0);
        for n in ["ann", "bob", "cat"] {
            join(&mut q, n, 5_000).unwrap();
        }
        let t = staff("t");
        q.serve(&t, Some("bob"), 5_000).unwrap();
        // Serving the group ends bob's help.
        let served = q.serve_group(&t, &["ann", "cat"], 6_000).unwrap();
        assert!(served.helped_before, "ann was helped before");
        let bob = served.finished.unwrap();
        assert_eq!(bob.first_helps, [true]);
        let done = q.finish(&t, 66_000).unwrap();
        let firsts: Vec<(&str, bool)> = done
            .members()
            .map(|(e, first)| (&*e.username, first))
            .collect();
        assert_eq!(firsts, [("ann", false), ("cat", true)]);
        assert_eq!(done.help_ms, 60_000);
        assert_eq!(q.helped_count(), 3);
        assert_eq!(
            join(&mut q, "cat", 66_500),
            Err(JoinError::Cooldown { until: 67_000 })
        );
        assert_eq!(
            join(&mut q, "ann", 70_000),
            Err(JoinError::MaxHelps { max: 2 })
        );
        assert_eq!(join(&mut q, "cat", 70_000), Ok(1));
    }

    #[test]
    fn a_student_joins_an_open_group_which_closes_with_the_help() {
        let mut q = Queue::new();
        for n in ["ann", "bob", "cat"] {
            join(&mut q, n, 0).unwrap();
        }
        let t = staff("t");
        assert!(!q.open_group(&t, Some("loops".into())), "helping nobody");
        q.serve(&t, Some("ann"), 1_000).unwrap();
        assert_eq!(
            q.join_group("cat", "t"),
            Err(JoinGroupError::NotOpen),
            "not open yet"
        );
        assert!(q.open_group(&t, Some("loops".into())));
        let open: Vec<(&str, &str)> = q.open_groups().map(|(s, t)| (&**s, &**t)).collect();
        assert_eq!(open, [("t", "loops")]);
        q.join_group("cat", "t").unwrap();
        assert_eq!(q.join_group("cat", "t"), Err(JoinGroupError::NotWaiting));
        assert!(q.entry("cat").is_none(), "out of the line");
        assert_eq!(&*q.help_for("cat").unwrap().entry.username, "ann");
        // Another staff member cannot take a member: they are claimed.
        assert_eq!(
            q.serve(&staff("u"), Some("cat"), 2_000).unwrap_err(),
            ServeError::AlreadyServed { by: t.clone() }
        );
        let done = q.finish(&t, 61_000).unwrap();
        assert_eq!(done.members().count(), 2);
        assert_eq!(q.helped_count(), 2);
        assert_eq!(q.open_groups().count(), 0, "the group closed with the help");
        // A new help starts closed.
        q.serve(&t, Some("bob"), 62_000).unwrap();
        assert_eq!(q.open_groups().count(), 0);
    }

    #[test]
    fn a_group_not_here_puts_every_member_back_at_the_front_away() {
        let mut q = Queue::new();
        for n in ["ann", "bob", "cat", "dan"] {
            join(&mut q, n, 0).unwrap();
        }
        let t = staff("t");
        q.serve_group(&t, &["bob", "dan"], 10).unwrap();
        let help = q.not_here(&t, 20, 1_000).unwrap();
        assert_eq!(help.members().count(), 2);
        assert_eq!(names(&q), ["bob", "dan", "ann", "cat"]);
        assert!(q.entries().take(2).all(|e| e.away_until == Some(1_000)));
        assert!(!q.was_helped("bob") && !q.was_helped("dan"));
        assert!(q.help_of("t").is_none());
    }

    #[test]
    fn a_group_is_rebuilt_from_the_stores_rows() {
        let row = |staff_name: &str, name: &str| Help::of_one(staff(staff_name), entry(name, 0), 7);
        // One row per member, as the store keeps them: the rows of one
        // staff member are one help, the first row its `entry`.
        let q = Queue::restore(
            true,
            None,
            Rules::default(),
            [],
            [
                row("t", "ann"),
                row("u", "eve"),
                row("t", "bob"),
                row("t", "cat"),
            ],
            [],
            &[],
        );
        let help = q.help_of("t").unwrap();
        let members: Vec<&str> = help.members().map(|e| &*e.username).collect();
        assert_eq!(members, ["ann", "bob", "cat"]);
        assert_eq!(q.help_of("u").unwrap().with, []);
        assert_eq!(q.helped_count(), 4);
        assert_eq!(
            q.check_serve(Some("bob")),
            Err(ServeError::AlreadyServed { by: staff("t") })
        );
    }

    fn rules(rules: Rules) -> Queue {
        let mut q = Queue::new();
        q.set_rules(rules);
        q
    }

    /// Helps `name` once, finishing at `at`.
    fn help(q: &mut Queue, name: &str, at: UnixMillis) {
        join(q, name, at).unwrap();
        q.serve(&staff("t"), Some(name), at).unwrap();
        q.finish("t", at).unwrap();
    }

    #[test]
    fn with_every_rule_off_the_order_is_arrival_order() {
        let mut q = Queue::new();
        help(&mut q, "a", 0);
        for (i, n) in ["b", "a", "c"].iter().enumerate() {
            join_drawn(&mut q, n, 10 + i as i64, 99).unwrap();
        }
        assert_eq!(names(&q), ["b", "a", "c"]);
    }

    #[test]
    fn first_timers_go_ahead_of_students_already_helped() {
        let mut q = rules(Rules {
            first_timers_first: true,
            ..Rules::default()
        });
        help(&mut q, "a", 0);
        help(&mut q, "b", 0);
        assert_eq!(join(&mut q, "a", 1), Ok(1));
        assert_eq!(join(&mut q, "c", 2), Ok(1), "first time: ahead of a");
        assert_eq!(join(&mut q, "b", 3), Ok(3));
        assert_eq!(join(&mut q, "d", 4), Ok(2));
        assert_eq!(names(&q), ["c", "d", "a", "b"]);
        // Turned off: arrival order again.
        q.set_rules(Rules::default());
        assert_eq!(names(&q), ["a", "c", "b", "d"]);
    }

    #[test]
    fn a_cooldown_keeps_a_student_out_until_it_ends() {
        let mut q = rules(Rules {
            cooldown_ms: 60_000,
            ..Rules::default()
        });
        help(&mut q, "a", 1_000);
        assert_eq!(
            join(&mut q, "a", 60_999),
            Err(JoinError::Cooldown { until: 61_000 })
        );
        assert_eq!(join(&mut q, "a", 61_000), Ok(1));
        assert_eq!(join(&mut q, "b", 1_001), Ok(2), "others are not held back");
    }

    #[test]
    fn a_cap_on_helps_is_a_cap() {
        let mut q = rules(Rules {
            max_helps: 2,
            ..Rules::default()
        });
        help(&mut q, "a", 0);
        help(&mut q, "a", 1);
        assert_eq!(join(&mut q, "a", 2), Err(JoinError::MaxHelps { max: 2 }));
        // Not here does not count.
        join(&mut q, "b", 3).unwrap();
        q.serve(&staff("t"), Some("b"), 3).unwrap();
        q.not_here("t", 4, 5).unwrap();
        q.remove("b");
        assert_eq!(join(&mut q, "b", 6), Ok(1));
    }

    #[test]
    fn joins_in_the_opening_window_are_drawn_at_random() {
        let mut q = rules(Rules {
            open_shuffle_ms: 60_000,
            ..Rules::default()
        });
        q.set_open(false, 0);
        join(&mut q, "early", 0).unwrap_err();
        q.set_open(true, 1_000);
        for (name, draw) in [("a", 30), ("b", 10), ("c", 20)] {
            join_drawn(&mut q, name, 2_000, draw).unwrap();
        }
        join_drawn(&mut q, "late", 61_000, 5).unwrap();
        assert_eq!(names(&q), ["b", "c", "a", "late"]);
        assert!(q.entry("b").unwrap().was_drawn());
        assert!(!q.entry("late").unwrap().was_drawn());
    }
}
