//! Persistence: the SQLite database in the data directory.
//!
//! The store holds accounts, staff, session tokens (as SHA-256 digests), each
//! session's open/closed flag, pre-opening pool and queue, and one row per help (student,
//! staff, joined, served, finished, outcome, the question's tag). The schema is versioned by
//! `PRAGMA user_version` and upgraded in place by [`MIGRATIONS`], so a
//! database from an earlier jqueue opens without losing anything. Each method is
//! one transaction that is committed (WAL, `synchronous = NORMAL`) before it
//! returns, so a change the server acknowledges survives `kill -9`; a change
//! also survives a power cut once [`Store::sync`] has returned. Each owner
//! calls `sync` after each burst of commands, once the students' new views
//! are on their way, so the disk's flush never delays them. The store knows
//! nothing of the queue rules; an owner calls it before changing state.

pub mod data_home;
pub mod helped_log;
pub mod print;
pub mod private;
pub mod roster;
pub mod server_log;
pub mod system_users;

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params};

use jqueue_core::queue::{Entry, Help, UnixMillis};
use jqueue_core::report::HelpRecord;
use jqueue_shared::context::QuestionContext;
use jqueue_shared::staff::{Activity, MessageAnswer, PastHelp, StaffNote};

/// Activity lines kept per session: enough for the pane after a restart.
pub const ACTIVITY_KEPT: usize = 500;
/// Activity lines appended between two trims of a session's pane: at most
/// this many fewer than [`ACTIVITY_KEPT`] more are on disk.
pub const ACTIVITY_TRIM_EVERY: usize = 64;

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "the database was made by a newer jqueue (schema {found}; this one knows {known}): upgrade jqueue-server"
    )]
    TooNew { found: usize, known: usize },
    #[error("cannot create {}: {source}", path.display())]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot flush {}: {source}", path.display())]
    Sync {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug)]
pub struct Store {
    conn: Connection,
    /// The write-ahead log, where every commit lands (`<database>-wal`).
    wal_path: PathBuf,
    /// SQLite's count of changed rows when the log was last flushed.
    synced_changes: u64,
    /// Activity lines appended per queue's session since its pane was last
    /// trimmed ([`Store::append_activity`]); a queue not here has not been
    /// trimmed since the store was opened.
    untrimmed_activity: std::collections::HashMap<QueueKey, usize>,
}

/// A flush of the log owed by a [`Store`]: see [`Store::flush_due`].
#[derive(Debug)]
pub struct Flush {
    wal_path: PathBuf,
    /// The store's change count this flush covers.
    changes: u64,
}

impl Flush {
    /// Flushes the log to the disk. Must not overlap a write to the store.
    pub fn run(&self) -> Result<()> {
        // Opened afresh each time, so it is always the log SQLite is using.
        // Flushing a file flushes what was written to it through any handle.
        OpenOptions::new()
            .write(true)
            .open(&self.wal_path)
            .and_then(|wal| wal.sync_data())
            .map_err(|source| StoreError::Sync {
                path: self.wal_path.clone(),
                source,
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub username: String,
    /// `None` after `users reset`: the student sets a new password next time.
    pub password_phc: Option<String>,
    pub created_at: UnixMillis,
    pub last_sign_in: Option<UnixMillis>,
}

/// What a session looks like on disk; enough to rebuild the queue.
#[derive(Debug, Default)]
pub struct SessionState {
    pub open: bool,
    /// The pre-opening pool's slot (`early-join`), until the opening
    /// draws it.
    pub pool: Option<u64>,
    pub entries: Vec<Entry>,
    /// Helps in progress.
    pub helps: Vec<Help>,
    /// Students whose help ended as helped this session, with the first time.
    pub helped: Vec<(String, UnixMillis)>,
    /// Each helped student's count of helps this session and when the last
    /// one ended.
    pub history: Vec<(String, u32, UnixMillis)>,
    /// Lengths of this session's finished helps, oldest first.
    pub help_lengths: Vec<i64>,
}

/// How a help ended: the wire's type, so a past help travels as stored.
pub use jqueue_shared::staff::HelpOutcome;

/// The schema, one step per version: step `i` takes a database from
/// `user_version` `i` to `i + 1`, in one transaction. Append; never edit a
/// step that has shipped.
pub const MIGRATIONS: &[&str] = &[
    // 1: the first release's schema. Its databases say user_version 0 and
    // already have these tables, hence IF NOT EXISTS.
    "
CREATE TABLE IF NOT EXISTS users (
    username     TEXT PRIMARY KEY,
    password     TEXT,
    created_at   INTEGER NOT NULL,
    last_sign_in INTEGER
);
CREATE TABLE IF NOT EXISTS tokens (
    digest     BLOB PRIMARY KEY,
    username   TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    name       TEXT PRIMARY KEY,
    open       INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS queue (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    session     TEXT NOT NULL,
    username    TEXT NOT NULL,
    description TEXT NOT NULL,
    location    TEXT NOT NULL,
    joined_at   INTEGER NOT NULL,
    UNIQUE (session, username)
);
CREATE TABLE IF NOT EXISTS help_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    session     TEXT NOT NULL,
    username    TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('served', 'removed')),
    at          INTEGER NOT NULL,
    joined_at   INTEGER NOT NULL,
    description TEXT NOT NULL,
    location    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS help_events_by_session ON help_events (session, kind);
",
    // 2: several staff and fairness rules. Staff accounts; one row per help
    // with who helped, when it ended and how (NULL outcome: in progress);
    // students marked away keep their queue row; the queue's order is kept
    // as each entry's place (slot, draw, front_since), so rules that place
    // students other than at the back survive a restart. The first release recorded serves without
    // an end or a staff member: those stay helps of unknown length.
    "
CREATE TABLE staff (
    username TEXT PRIMARY KEY,
    added_at INTEGER NOT NULL
);
CREATE TABLE helps (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    session     TEXT NOT NULL,
    student     TEXT NOT NULL,
    staff       TEXT,
    joined_at   INTEGER NOT NULL,
    served_at   INTEGER,
    finished_at INTEGER,
    outcome     TEXT CHECK (outcome IN ('helped', 'not-here', 'removed')),
    description TEXT NOT NULL,
    location    TEXT NOT NULL
);
CREATE INDEX helps_by_session ON helps (session, outcome);
INSERT INTO helps (session, student, staff, joined_at, served_at, finished_at, outcome,
                   description, location)
    SELECT session, username, NULL, joined_at,
           CASE kind WHEN 'served' THEN at END,
           CASE kind WHEN 'removed' THEN at END,
           CASE kind WHEN 'served' THEN 'helped' ELSE 'removed' END,
           description, location
    FROM help_events ORDER BY id;
DROP TABLE help_events;
ALTER TABLE queue ADD COLUMN away_until INTEGER;
ALTER TABLE queue ADD COLUMN front_since INTEGER;
ALTER TABLE queue ADD COLUMN slot INTEGER;
ALTER TABLE queue ADD COLUMN draw INTEGER NOT NULL DEFAULT 0;
UPDATE queue SET slot = seq;
ALTER TABLE sessions ADD COLUMN announcement TEXT;
CREATE TABLE activity (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    session TEXT NOT NULL,
    at      INTEGER NOT NULL,
    kind    TEXT NOT NULL
);
CREATE INDEX activity_by_session ON activity (session, id);
",
    // 3: reset codes. `users reset` leaves one per account (its SHA-256 and
    // when it expires); the next sign-up for the name must give it.
    "
CREATE TABLE reset_codes (
    username   TEXT PRIMARY KEY REFERENCES users(username) ON DELETE CASCADE,
    digest     BLOB NOT NULL,
    expires_at INTEGER NOT NULL
);
",
    // 4: the machine each student asked from (`[seats]` names its seat in
    // the location; staff see the host itself in the detail pane). Rows
    // from before keep an empty host.
    "
ALTER TABLE queue ADD COLUMN host TEXT NOT NULL DEFAULT '';
ALTER TABLE helps ADD COLUMN host TEXT NOT NULL DEFAULT '';
",
    // 5: staff talk to students. Every message, with when it was read and
    // the student's one answer (the help record's conversation); on a
    // waiting student's row, whether staff asked for more detail and the
    // answer to the latest message; staff's private note on each student,
    // per course (a server without courses is course `default`).
    "
CREATE TABLE messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    session     TEXT NOT NULL,
    student     TEXT NOT NULL,
    staff       TEXT NOT NULL,
    text        TEXT NOT NULL,
    asks_edit   INTEGER NOT NULL,
    sent_at     INTEGER NOT NULL,
    read_at     INTEGER,
    answer      TEXT,
    answered_at INTEGER
);
CREATE INDEX messages_by_student ON messages (session, student);
ALTER TABLE queue ADD COLUMN needs_edit INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queue ADD COLUMN answer_to TEXT;
ALTER TABLE queue ADD COLUMN answer TEXT;
ALTER TABLE queue ADD COLUMN answered_at INTEGER;
CREATE TABLE notes (
    course     TEXT NOT NULL,
    student    TEXT NOT NULL,
    text       TEXT NOT NULL,
    staff      TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (course, student)
);
",
    // 6: the context a student attached to the question (JSON of
    // `QuestionContext`, NULL when none), kept with the place and moved to
    // the help with it; [`Store::forget_other_sessions_contexts`] deletes
    // it once the session is over. Rows from before have none.
    "
ALTER TABLE queue ADD COLUMN context TEXT;
ALTER TABLE helps ADD COLUMN context TEXT;
",
    // 7: courses and their queues. Every row of a queue's (its session's
    // open flag and announcement, places, helps, messages, activity) says
    // which course and queue it belongs to; a database from before is the
    // course `default`'s queue `main` (a server that declares courses
    // adopts it, see [`Store::adopt_default_queue`]). A session is now one
    // day of one queue, and a student may wait in one queue of each course:
    // the tables whose keys change are rebuilt. Staff are staff of a
    // course, or of every course (`''`, as every staff member was).
    "
CREATE TABLE sessions_7 (
    name         TEXT NOT NULL,
    course       TEXT NOT NULL,
    queue        TEXT NOT NULL,
    open         INTEGER NOT NULL DEFAULT 1,
    created_at   INTEGER NOT NULL,
    announcement TEXT,
    PRIMARY KEY (name, course, queue)
);
INSERT INTO sessions_7 (name, course, queue, open, created_at, announcement)
    SELECT name, 'default', 'main', open, created_at, announcement FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_7 RENAME TO sessions;

CREATE TABLE queue_7 (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    session     TEXT NOT NULL,
    course      TEXT NOT NULL,
    queue       TEXT NOT NULL,
    username    TEXT NOT NULL,
    description TEXT NOT NULL,
    location    TEXT NOT NULL,
    joined_at   INTEGER NOT NULL,
    away_until  INTEGER,
    front_since INTEGER,
    slot        INTEGER,
    draw        INTEGER NOT NULL DEFAULT 0,
    host        TEXT NOT NULL DEFAULT '',
    needs_edit  INTEGER NOT NULL DEFAULT 0,
    answer_to   TEXT,
    answer      TEXT,
    answered_at INTEGER,
    context     TEXT,
    UNIQUE (session, course, queue, username)
);
INSERT INTO queue_7 (seq, session, course, queue, username, description, location, joined_at,
                     away_until, front_since, slot, draw, host, needs_edit, answer_to, answer,
                     answered_at, context)
    SELECT seq, session, 'default', 'main', username, description, location, joined_at,
           away_until, front_since, slot, draw, host, needs_edit, answer_to, answer,
           answered_at, context
    FROM queue;
DROP TABLE queue;
ALTER TABLE queue_7 RENAME TO queue;

ALTER TABLE helps ADD COLUMN course TEXT NOT NULL DEFAULT 'default';
ALTER TABLE helps ADD COLUMN queue TEXT NOT NULL DEFAULT 'main';
DROP INDEX helps_by_session;
CREATE INDEX helps_by_queue ON helps (session, course, queue, outcome);
CREATE INDEX helps_by_student ON helps (student);
ALTER TABLE messages ADD COLUMN course TEXT NOT NULL DEFAULT 'default';
ALTER TABLE messages ADD COLUMN queue TEXT NOT NULL DEFAULT 'main';
DROP INDEX messages_by_student;
CREATE INDEX messages_by_student ON messages (session, course, queue, student);
ALTER TABLE activity ADD COLUMN course TEXT NOT NULL DEFAULT 'default';
ALTER TABLE activity ADD COLUMN queue TEXT NOT NULL DEFAULT 'main';
DROP INDEX activity_by_session;
CREATE INDEX activity_by_queue ON activity (session, course, queue, id);

CREATE TABLE staff_7 (
    username TEXT NOT NULL,
    course   TEXT NOT NULL DEFAULT '',
    added_at INTEGER NOT NULL,
    PRIMARY KEY (username, course)
);
INSERT INTO staff_7 (username, course, added_at) SELECT username, '', added_at FROM staff;
DROP TABLE staff;
ALTER TABLE staff_7 RENAME TO staff;
",
    // 8: the pre-opening pool (`early-join`): the slot its places share,
    // kept with the session from the first early join until the opening
    // draws their order, so a restart in between still draws it. NULL: no
    // pool. Sessions from before have none (the pool was kept in memory
    // only, and a closed queue's places do not say which were early joins).
    "
ALTER TABLE sessions ADD COLUMN pool INTEGER;
",
    // 9: whether staff have read a waiting student's answer (opened their
    // details since it came): the row shows it until then. Answers from
    // before count as not read.
    "
ALTER TABLE queue ADD COLUMN answer_read INTEGER NOT NULL DEFAULT 0;
",
    // 10: question tags (`tags = [...]`): the tag a student chose, kept with
    // the place and moved to the help with it, for the staff screen, the
    // statistics and the reports. NULL: untagged, as every row from before.
    "
ALTER TABLE queue ADD COLUMN tag TEXT;
ALTER TABLE helps ADD COLUMN tag TEXT;
",
];

/// Where one queue's rows are: its session (the day, `--session`), course
/// and queue. A server that declares no courses is course
/// [`crate::config::DEFAULT_COURSE`], queue [`crate::config::DEFAULT_QUEUE`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueueKey {
    pub session: String,
    pub course: String,
    pub queue: String,
}

/// A message staff sent a student, and their answer, for the report
/// (`jqueue-server report --messages`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportMessage {
    pub session: String,
    pub course: String,
    pub queue: String,
    pub student: String,
    pub staff: String,
    pub text: String,
    pub sent_at: UnixMillis,
    pub answer: Option<String>,
}

/// Which helps [`Store::help_records`] returns: each part that is set
/// narrows them (none: every help ever recorded).
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordFilter<'a> {
    pub session: Option<&'a str>,
    pub course: Option<&'a str>,
    pub queue: Option<&'a str>,
    /// Joined at or after.
    pub since: Option<UnixMillis>,
}

impl<'a> RecordFilter<'a> {
    /// One queue's helps of its session.
    pub fn queue(key: &'a QueueKey) -> Self {
        Self {
            session: Some(&key.session),
            course: Some(&key.course),
            queue: Some(&key.queue),
            since: None,
        }
    }
}

impl QueueKey {
    pub fn new(session: &str, course: &str, queue: &str) -> Self {
        Self {
            session: session.to_owned(),
            course: course.to_owned(),
            queue: queue.to_owned(),
        }
    }
}

/// A message as the store keeps it until it is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub student: String,
    pub message: jqueue_shared::StaffMessage,
}

/// How [`Store::register`] went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// A new account.
    Created,
    /// A reset account took its new password: the reset code matched.
    Restored,
    /// The account has a password; nothing changed.
    Taken,
    /// The account was reset and the code is missing, wrong or expired;
    /// nothing changed.
    CodeRequired,
}

/// How [`Store::add_staff_claimed`] went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaffClaim {
    /// The name was not staff before.
    pub added: bool,
    /// The account already has a password: whoever set it holds it, and
    /// no claim code was made.
    pub claimed: bool,
}

/// Brings the schema up to date, one step per transaction.
fn migrate(conn: &mut Connection) -> Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let version = usize::try_from(version).unwrap_or(usize::MAX);
    if version > MIGRATIONS.len() {
        return Err(StoreError::TooNew {
            found: version,
            known: MIGRATIONS.len(),
        });
    }
    for (step, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", step as i64 + 1)?;
        tx.commit()?;
        if step > 0 {
            tracing::info!("database upgraded to schema {}", step + 1);
        }
    }
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        // Made 0600 before SQLite opens it: SQLite gives the `-wal` and
        // `-shm` files the database's mode.
        private::create_file(path).map_err(|source| StoreError::Create {
            path: path.to_path_buf(),
            source,
        })?;
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // A commit is written to the log but not flushed to the disk: that is
        // `sync`'s job (and SQLite's own, at checkpoints).
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Two owners (the queue's and the accounts') and the command line
        // each write through a connection of their own. A transaction that
        // read first and then writes cannot wait for another writer (SQLite
        // answers "busy" at once rather than risk a deadlock), so every
        // transaction takes the write lock when it begins, and waits for it
        // within the timeout above.
        conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        migrate(&mut conn)?;
        let mut wal_path = path.as_os_str().to_owned();
        wal_path.push("-wal");
        Ok(Self {
            synced_changes: conn.total_changes(),
            untrimmed_activity: std::collections::HashMap::new(),
            conn,
            wal_path: wal_path.into(),
        })
    }

    /// Flushes every change committed so far to the disk, so that it survives
    /// a power cut as well as `kill -9`. Costs nothing when nothing changed
    /// since the last call.
    pub fn sync(&mut self) -> Result<()> {
        if let Some(flush) = self.flush_due() {
            flush.run()?;
            self.flushed(&flush);
        }
        Ok(())
    }

    /// The flush owed for the changes committed since the last one, if any,
    /// to [`Flush::run`] away from the store (it only touches the log file)
    /// and then report with [`Store::flushed`]. [`Store::sync`] in two halves,
    /// so that a caller need not block while the disk works.
    pub fn flush_due(&self) -> Option<Flush> {
        let changes = self.conn.total_changes();
        (changes != self.synced_changes).then(|| Flush {
            wal_path: self.wal_path.clone(),
            changes,
        })
    }

    /// Records that `flush` has run successfully.
    pub fn flushed(&mut self, flush: &Flush) {
        self.synced_changes = self.synced_changes.max(flush.changes);
    }

    /// How many changed rows have not been flushed by [`Store::sync`] yet.
    #[cfg(test)]
    fn unsynced_changes(&self) -> u64 {
        self.conn
            .total_changes()
            .saturating_sub(self.synced_changes)
    }

    // --- accounts -------------------------------------------------------

    pub fn account(&self, username: &str) -> Result<Option<Account>> {
        Ok(self
            .conn
            .query_row(
                "SELECT username, password, created_at, last_sign_in FROM users WHERE username = ?1",
                [username],
                |row| {
                    Ok(Account {
                        username: row.get(0)?,
                        password_phc: row.get(1)?,
                        created_at: row.get(2)?,
                        last_sign_in: row.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    /// Creates an account, or sets the new password of one that was reset
    /// when `reset_code` (a code's SHA-256) is the live code `users reset`
    /// gave out; the code is then used up. Anything else changes nothing.
    pub fn register(
        &mut self,
        username: &str,
        phc: &str,
        reset_code: Option<&[u8; 32]>,
        now: UnixMillis,
    ) -> Result<Registration> {
        let tx = self.conn.transaction()?;
        let password: Option<Option<String>> = tx
            .query_row(
                "SELECT password FROM users WHERE username = ?1",
                [username],
                |row| row.get(0),
            )
            .optional()?;
        // A staff name nobody has claimed yet (named by a jqueue from
        // before claim codes) is locked like a reset account: staff rights
        // go only to whoever the professor hands a code.
        let unclaimed_staff = password.is_none()
            && tx
                .query_row(
                    "SELECT 1 FROM staff WHERE username = ?1",
                    [username],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
        let outcome = match password {
            None if unclaimed_staff => Registration::CodeRequired,
            None => {
                tx.execute(
                    "INSERT INTO users (username, password, created_at, last_sign_in)
                     VALUES (?1, ?2, ?3, ?3)",
                    params![username, phc, now],
                )?;
                Registration::Created
            }
            Some(Some(_)) => Registration::Taken,
            Some(None) => {
                // A reset account without a live code (expired, or reset by
                // a jqueue that gave none) stays locked: only a new `users
                // reset` hands it back. The digest comparison need not be
                // constant-time: the caller cannot choose what it is
                // compared with, only the code it hashes.
                let live: Option<Vec<u8>> = tx
                    .query_row(
                        "SELECT digest FROM reset_codes WHERE username = ?1 AND expires_at > ?2",
                        params![username, now],
                        |row| row.get(0),
                    )
                    .optional()?;
                match (live, reset_code) {
                    (Some(live), Some(code)) if live == code => {
                        tx.execute(
                            "UPDATE users SET password = ?2, last_sign_in = ?3 WHERE username = ?1",
                            params![username, phc, now],
                        )?;
                        tx.execute("DELETE FROM reset_codes WHERE username = ?1", [username])?;
                        Registration::Restored
                    }
                    _ => Registration::CodeRequired,
                }
            }
        };
        tx.commit()?;
        Ok(outcome)
    }

    /// Makes sure `username` has an account, for a sign-in by OS account
    /// (which needs no password). One made here has none: on the password
    /// path it is locked like a reset account, so nobody can set a password
    /// for it over the network without a reset code from the professor.
    /// Returns whether the account is new. Records the sign-in time.
    pub fn ensure_account(&self, username: &str, now: UnixMillis) -> Result<bool> {
        let created = self.conn.execute(
            "INSERT INTO users (username, password, created_at, last_sign_in)
             VALUES (?1, NULL, ?2, ?2) ON CONFLICT (username) DO NOTHING",
            params![username, now],
        )?;
        Ok(created == 1)
    }

    /// Whether `code` (a code's SHA-256) is the live reset code of
    /// `username`.
    pub fn reset_code_matches(
        &self,
        username: &str,
        code: Option<&[u8; 32]>,
        now: UnixMillis,
    ) -> Result<bool> {
        let Some(code) = code else { return Ok(false) };
        let live: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT digest FROM reset_codes WHERE username = ?1 AND expires_at > ?2",
                params![username, now],
                |row| row.get(0),
            )
            .optional()?;
        Ok(live.is_some_and(|live| live == code))
    }

    /// Whether `username` has a reset code that has not expired: the
    /// professor reset the account, and the student is asked for the code
    /// first.
    pub fn has_live_reset_code(&self, username: &str, now: UnixMillis) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM reset_codes WHERE username = ?1 AND expires_at > ?2",
                params![username, now],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Whether the next sign-up for `username` needs a reset code: the
    /// account exists and has no password.
    pub fn needs_reset_code(&self, username: &str) -> Result<bool> {
        Ok(self
            .account(username)?
            .is_some_and(|a| a.password_phc.is_none()))
    }

    /// Records a sign-in time, unless one within `granularity` ms is already
    /// recorded: a storm of reconnections then costs reads, not disk syncs.
    pub fn note_sign_in(&self, username: &str, now: UnixMillis, granularity: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE users SET last_sign_in = ?2
             WHERE username = ?1 AND (last_sign_in IS NULL OR last_sign_in < ?3)",
            params![username, now, now - granularity],
        )?;
        Ok(())
    }

    pub fn accounts(&self) -> Result<Vec<Account>> {
        let mut stmt = self.conn.prepare(
            "SELECT username, password, created_at, last_sign_in FROM users ORDER BY username",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(Account {
                username: row.get(0)?,
                password_phc: row.get(1)?,
                created_at: row.get(2)?,
                last_sign_in: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Forgets the password, revokes every token and records the reset
    /// code (its SHA-256) the next sign-up must give, until `code_expires`.
    /// Returns whether the account exists.
    pub fn reset_password(
        &mut self,
        username: &str,
        code_digest: &[u8; 32],
        code_expires: UnixMillis,
    ) -> Result<bool> {
        let tx = self.conn.transaction()?;
        let changed = tx.execute(
            "UPDATE users SET password = NULL WHERE username = ?1",
            [username],
        )?;
        tx.execute("DELETE FROM tokens WHERE username = ?1", [username])?;
        if changed == 1 {
            set_reset_code(&tx, username, code_digest, code_expires)?;
        }
        tx.commit()?;
        Ok(changed == 1)
    }

    /// Deletes the account, its tokens, its reset code and its place in
    /// every session's queue, so a newcomer who takes the name inherits
    /// nothing. The history of helps stays.
    pub fn delete_account(&mut self, username: &str) -> Result<bool> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM tokens WHERE username = ?1", [username])?;
        tx.execute("DELETE FROM reset_codes WHERE username = ?1", [username])?;
        tx.execute("DELETE FROM queue WHERE username = ?1", [username])?;
        // The help records stay, for the reports; what the student attached
        // to their questions does not.
        tx.execute(
            "UPDATE helps SET context = NULL WHERE student = ?1",
            [username],
        )?;
        tx.execute("DELETE FROM messages WHERE student = ?1", [username])?;
        let changed = tx.execute("DELETE FROM users WHERE username = ?1", [username])?;
        tx.commit()?;
        Ok(changed == 1)
    }

    // --- tokens ---------------------------------------------------------

    pub fn insert_token(
        &self,
        digest: &[u8; 32],
        username: &str,
        expires_at: UnixMillis,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO tokens (digest, username, expires_at) VALUES (?1, ?2, ?3)",
            params![&digest[..], username, expires_at],
        )?;
        Ok(())
    }

    /// The account a live token belongs to.
    pub fn token_owner(&self, digest: &[u8; 32], now: UnixMillis) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT username FROM tokens WHERE digest = ?1 AND expires_at > ?2",
                params![&digest[..], now],
                |row| row.get(0),
            )
            .optional()?)
    }

    pub fn revoke_token(&self, digest: &[u8; 32]) -> Result<()> {
        self.conn
            .execute("DELETE FROM tokens WHERE digest = ?1", [&digest[..]])?;
        Ok(())
    }

    pub fn purge_expired_tokens(&self, now: UnixMillis) -> Result<usize> {
        Ok(self
            .conn
            .execute("DELETE FROM tokens WHERE expires_at <= ?1", [now])?)
    }

    // --- sessions and the queue ----------------------------------------

    /// Loads a session, creating it (open, empty) if it is new.
    pub fn load_session(&self, q: &QueueKey, now: UnixMillis) -> Result<SessionState> {
        self.conn.execute(
            "INSERT OR IGNORE INTO sessions (name, course, queue, open, created_at)
             VALUES (?1, ?2, ?3, 1, ?4)",
            params![q.session, q.course, q.queue, now],
        )?;
        let (open, pool): (bool, Option<i64>) = self.conn.query_row(
            "SELECT open, pool FROM sessions WHERE name = ?1 AND course = ?2 AND queue = ?3",
            params![q.session, q.course, q.queue],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let entries = self
            .conn
            .prepare(
                "SELECT username, description, location, joined_at, away_until, front_since,
                        slot, draw, host, needs_edit, answer_to, answer, answered_at, answer_read,
                        tag
                 FROM queue WHERE session = ?1 AND course = ?2 AND queue = ?3 ORDER BY seq",
            )?
            .query_map(params![q.session, q.course, q.queue], |row| {
                let answer = match (row.get(10)?, row.get(11)?, row.get(12)?) {
                    (Some(to), Some(text), Some(at)) => Some(Box::new(MessageAnswer {
                        to,
                        text,
                        at,
                        read: row.get(13)?,
                    })),
                    _ => None,
                };
                Ok(Entry {
                    away_until: row.get(4)?,
                    front_since: row.get(5)?,
                    slot: row.get::<_, i64>(6)? as u64,
                    draw: row.get::<_, i64>(7)? as u64,
                    host: Arc::from(row.get::<_, String>(8)?),
                    needs_edit: row.get(9)?,
                    answer,
                    tag: row.get::<_, Option<String>>(14)?.map(Arc::from),
                    ..Entry::new(
                        Arc::from(row.get::<_, String>(0)?),
                        Arc::from(row.get::<_, String>(1)?),
                        Arc::from(row.get::<_, String>(2)?),
                        row.get(3)?,
                    )
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let helps = self
            .conn
            .prepare(
                "SELECT staff, student, description, location, joined_at, served_at, host, tag
                 FROM helps
                 WHERE session = ?1 AND course = ?2 AND queue = ?3
                   AND outcome IS NULL AND staff IS NOT NULL ORDER BY id",
            )?
            .query_map(params![q.session, q.course, q.queue], |row| {
                // One row per student: a group's rows are put together
                // again by [`jqueue_core::queue::Queue::restore`].
                Ok(Help::of_one(
                    Arc::from(row.get::<_, String>(0)?),
                    Entry {
                        host: Arc::from(row.get::<_, String>(6)?),
                        tag: row.get::<_, Option<String>>(7)?.map(Arc::from),
                        ..Entry::new(
                            Arc::from(row.get::<_, String>(1)?),
                            Arc::from(row.get::<_, String>(2)?),
                            Arc::from(row.get::<_, String>(3)?),
                            row.get(4)?,
                        )
                    },
                    row.get(5)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let (helped, history, help_lengths) = self.past_helps(q)?;
        Ok(SessionState {
            open,
            pool: pool.map(|slot| slot as u64),
            entries,
            helps,
            helped,
            history,
            help_lengths,
        })
    }

    /// The queue's helps this session as a restart needs them: who was
    /// helped and when first, how often and when last, and how long each
    /// finished help took.
    #[allow(clippy::type_complexity)]
    fn past_helps(
        &self,
        q: &QueueKey,
    ) -> Result<(
        Vec<(String, UnixMillis)>,
        Vec<(String, u32, UnixMillis)>,
        Vec<i64>,
    )> {
        let helped = self
            .conn
            .prepare(
                "SELECT student, MIN(COALESCE(finished_at, served_at)) AS at FROM helps
                 WHERE session = ?1 AND course = ?2 AND queue = ?3
                   AND outcome = 'helped'
                 GROUP BY student ORDER BY at, student",
            )?
            .query_map(params![q.session, q.course, q.queue], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let history = self
            .conn
            .prepare(
                "SELECT student, COUNT(*), MAX(COALESCE(finished_at, served_at)) FROM helps
                 WHERE session = ?1 AND course = ?2 AND queue = ?3
                   AND outcome = 'helped' GROUP BY student",
            )?
            .query_map(params![q.session, q.course, q.queue], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let help_lengths = self
            .conn
            .prepare(
                "SELECT finished_at - served_at FROM helps
                 WHERE session = ?1 AND course = ?2 AND queue = ?3
                   AND outcome = 'helped' AND finished_at IS NOT NULL
                   AND served_at IS NOT NULL
                 ORDER BY finished_at",
            )?
            .query_map(params![q.session, q.course, q.queue], |row| row.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok((helped, history, help_lengths))
    }

    /// The session's last announcement, if any.
    pub fn announcement(&self, q: &QueueKey) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT announcement FROM sessions WHERE name = ?1 AND course = ?2 AND queue = ?3",
                params![q.session, q.course, q.queue],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    pub fn set_announcement(&self, q: &QueueKey, text: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE sessions SET announcement = ?4 WHERE name = ?1 AND course = ?2 AND queue = ?3",
            params![q.session, q.course, q.queue, text],
        )?;
        Ok(())
    }

    /// Opens or closes the queue. Opening ends the pre-opening pool, and
    /// `drawn` are its places with the order the opening drew for them,
    /// kept in the same transaction: a restart finds either the pool still
    /// waiting for its draw or the draw, never the pool gone undrawn.
    pub fn set_open(&mut self, q: &QueueKey, open: bool, drawn: &[Entry]) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE sessions SET open = ?4, pool = CASE WHEN ?4 THEN NULL ELSE pool END
             WHERE name = ?1 AND course = ?2 AND queue = ?3",
            params![q.session, q.course, q.queue, open],
        )?;
        set_places(&tx, q, drawn)?;
        tx.commit()?;
        Ok(())
    }

    pub fn insert_entry(&self, q: &QueueKey, entry: &Entry) -> Result<()> {
        insert_entry(&self.conn, q, entry)
    }

    /// Adds `entry` to `session`'s queue with the context its student
    /// attached, in one transaction.
    pub fn insert_entry_with_context(
        &mut self,
        q: &QueueKey,
        entry: &Entry,
        context: Option<&QuestionContext>,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        insert_entry(&tx, q, entry)?;
        set_context(&tx, q, &entry.username, context)?;
        tx.commit()?;
        Ok(())
    }

    /// Adds `entry`, an early join, to the queue's pre-opening pool: its
    /// place and context as [`Store::insert_entry_with_context`], and its
    /// slot (the one every place in the pool shares) as the session's pool,
    /// in one transaction.
    pub fn insert_pool_entry(
        &mut self,
        q: &QueueKey,
        entry: &Entry,
        context: Option<&QuestionContext>,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        insert_entry(&tx, q, entry)?;
        set_context(&tx, q, &entry.username, context)?;
        tx.execute(
            "UPDATE sessions SET pool = ?4 WHERE name = ?1 AND course = ?2 AND queue = ?3",
            params![q.session, q.course, q.queue, entry.slot as i64],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The context `student` attached to the question they are waiting
    /// with, or else to the one they are being helped with now; `None`
    /// when they attached none (or are neither waiting nor being helped).
    pub fn context_of(&self, q: &QueueKey, student: &str) -> Result<Option<QuestionContext>> {
        let waiting: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT context FROM queue WHERE session = ?1 AND course = ?2 AND queue = ?3
                   AND username = ?4",
                params![q.session, q.course, q.queue, student],
                |row| row.get(0),
            )
            .optional()?;
        let json = match waiting {
            Some(json) => json,
            None => self
                .conn
                .query_row(
                    "SELECT context FROM helps
                     WHERE session = ?1 AND course = ?2 AND queue = ?3
                   AND student = ?4 AND outcome IS NULL
                       AND staff IS NOT NULL
                     ORDER BY id DESC LIMIT 1",
                    params![q.session, q.course, q.queue, student],
                    |row| row.get(0),
                )
                .optional()?
                .flatten(),
        };
        Ok(json.as_deref().and_then(parse_context))
    }

    /// The retention rule for contexts: a student's context is kept for
    /// the session they asked in, and deleted (from waiting places and help
    /// records alike; the records stay) when the server starts any other
    /// session. Returns how many rows lost theirs.
    pub fn forget_other_sessions_contexts(&mut self, session: &str) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let mut forgotten = 0;
        for table in ["queue", "helps"] {
            forgotten += tx.execute(
                &format!(
                    "UPDATE {table} SET context = NULL
                     WHERE session <> ?1 AND context IS NOT NULL"
                ),
                [session],
            )?;
        }
        tx.commit()?;
        Ok(forgotten)
    }

    /// Changes a waiting student's question (its text, host and tag),
    /// keeping their place; a request for more detail is met. `false`: they
    /// were not waiting.
    pub fn edit_entry(&self, q: &QueueKey, entry: &Entry) -> Result<bool> {
        Ok(self.conn.execute(
            "UPDATE queue SET description = ?5, location = ?6, host = ?7, tag = ?8,
                              needs_edit = 0
             WHERE session = ?1 AND course = ?2 AND queue = ?3
                   AND username = ?4",
            params![
                q.session,
                q.course,
                q.queue,
                &*entry.username,
                &*entry.description,
                &*entry.location,
                &*entry.host,
                entry.tag.as_deref()
            ],
        )? == 1)
    }

    /// Keeps a message for `student` until they read it; a waiting
    /// student's earlier answer is no longer the latest, and `asks_edit`
    /// marks their row. Returns the message's id.
    pub fn insert_message(
        &mut self,
        q: &QueueKey,
        student: &str,
        staff: &str,
        text: &str,
        asks_edit: bool,
        at: UnixMillis,
    ) -> Result<u64> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO messages (session, course, queue, student, staff, text, asks_edit, sent_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![q.session, q.course, q.queue, student, staff, text, asks_edit, at],
        )?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "UPDATE queue SET needs_edit = (needs_edit OR ?5), answer_to = NULL, answer = NULL,
                              answered_at = NULL, answer_read = 0
             WHERE session = ?1 AND course = ?2 AND queue = ?3
                   AND username = ?4",
            params![q.session, q.course, q.queue, student, asks_edit],
        )?;
        tx.commit()?;
        Ok(u64::try_from(id).unwrap_or_default())
    }

    /// `student` read message `id`: it is not sent again.
    pub fn mark_message_read(
        &self,
        q: &QueueKey,
        student: &str,
        id: u64,
        at: UnixMillis,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE messages SET read_at = ?6
             WHERE session = ?1 AND course = ?2 AND queue = ?3
                   AND student = ?4 AND id = ?5 AND read_at IS NULL",
            params![q.session, q.course, q.queue, student, id as i64, at],
        )?;
        Ok(())
    }

    /// `student`'s one answer to message `id`, which also counts as read;
    /// shown on their row if they wait. Returns who sent the message, or
    /// `None` (nothing changed) if it is not theirs or was answered.
    pub fn answer_message(
        &mut self,
        q: &QueueKey,
        student: &str,
        id: u64,
        text: &str,
        at: UnixMillis,
    ) -> Result<Option<String>> {
        let tx = self.conn.transaction()?;
        let staff: Option<String> = tx
            .query_row(
                "SELECT staff FROM messages
                 WHERE session = ?1 AND course = ?2 AND queue = ?3
                   AND student = ?4 AND id = ?5 AND answer IS NULL",
                params![q.session, q.course, q.queue, student, id as i64],
                |row| row.get(0),
            )
            .optional()?;
        let Some(staff) = staff else {
            return Ok(None);
        };
        tx.execute(
            "UPDATE messages SET answer = ?2, answered_at = ?3, read_at = COALESCE(read_at, ?3)
             WHERE id = ?1",
            params![id as i64, text, at],
        )?;
        tx.execute(
            "UPDATE queue SET answer_to = ?5, answer = ?6, answered_at = ?7, answer_read = 0
             WHERE session = ?1 AND course = ?2 AND queue = ?3
                   AND username = ?4",
            params![q.session, q.course, q.queue, student, staff, text, at],
        )?;
        tx.commit()?;
        Ok(Some(staff))
    }

    /// Staff read `student`'s answer (they opened the student's details):
    /// their row stops showing it.
    pub fn mark_answer_read(&self, q: &QueueKey, student: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE queue SET answer_read = 1
             WHERE session = ?1 AND course = ?2 AND queue = ?3 AND username = ?4
                   AND answer IS NOT NULL",
            params![q.session, q.course, q.queue, student],
        )?;
        Ok(())
    }

    /// The course's note on `student`, if staff wrote one.
    pub fn note(&self, course: &str, student: &str) -> Result<Option<StaffNote>> {
        Ok(self
            .conn
            .query_row(
                "SELECT text, staff, updated_at FROM notes WHERE course = ?1 AND student = ?2",
                params![course, student],
                |row| {
                    Ok(StaffNote {
                        text: row.get(0)?,
                        by: row.get(1)?,
                        at: row.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// Sets the course's note on `student` (written by `staff`); empty
    /// text deletes it.
    pub fn set_note(
        &self,
        course: &str,
        student: &str,
        text: &str,
        staff: &str,
        at: UnixMillis,
    ) -> Result<()> {
        if text.is_empty() {
            self.conn.execute(
                "DELETE FROM notes WHERE course = ?1 AND student = ?2",
                params![course, student],
            )?;
        } else {
            self.conn.execute(
                "INSERT INTO notes (course, student, text, staff, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (course, student)
                 DO UPDATE SET text = ?3, staff = ?4, updated_at = ?5",
                params![course, student, text, staff, at],
            )?;
        }
        Ok(())
    }

    /// Every note of the course, by student (for `report --notes`).
    pub fn notes(&self, course: &str) -> Result<std::collections::HashMap<String, String>> {
        Ok(self
            .conn
            .prepare("SELECT student, text FROM notes WHERE course = ?1")?
            .query_map([course], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// `student`'s helps in `course` that ended as helped since `since`, in
    /// every session, and their latest help there that ended however it
    /// ended.
    pub fn recent_helps(
        &self,
        course: &str,
        student: &str,
        since: UnixMillis,
    ) -> Result<(u32, Option<PastHelp>)> {
        let helped: u32 = self.conn.query_row(
            "SELECT COUNT(*) FROM helps
             WHERE course = ?1 AND student = ?2 AND outcome = 'helped'
               AND COALESCE(finished_at, served_at) >= ?3",
            params![course, student, since],
            |row| row.get(0),
        )?;
        let last = self
            .conn
            .query_row(
                "SELECT COALESCE(staff, ''), outcome, COALESCE(finished_at, served_at, joined_at)
                 FROM helps WHERE course = ?1 AND student = ?2 AND outcome IS NOT NULL
                 ORDER BY COALESCE(finished_at, served_at, joined_at) DESC, id DESC LIMIT 1",
                params![course, student],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, i64>(2)?,
                    ))
                },
            )
            .optional()?;
        let last = last.and_then(|(staff, outcome, at)| {
            Some(PastHelp {
                staff,
                outcome: HelpOutcome::parse(&outcome)?,
                at,
            })
        });
        Ok((helped, last))
    }

    /// Every message the filter's helps could hold (sent on or after
    /// `since`, in its sessions, courses and queues), oldest first: the
    /// report puts each with the help it was sent during.
    pub fn messages(&self, filter: &RecordFilter<'_>) -> Result<Vec<ReportMessage>> {
        Ok(self
            .conn
            .prepare(
                "SELECT session, course, queue, student, staff, text, sent_at, answer
                 FROM messages
                 WHERE (?1 IS NULL OR session = ?1) AND (?2 IS NULL OR course = ?2)
                   AND (?3 IS NULL OR queue = ?3) AND (?4 IS NULL OR sent_at >= ?4)
                 ORDER BY sent_at, id",
            )?
            .query_map(
                params![filter.session, filter.course, filter.queue, filter.since],
                |row| {
                    Ok(ReportMessage {
                        session: row.get(0)?,
                        course: row.get(1)?,
                        queue: row.get(2)?,
                        student: row.get(3)?,
                        staff: row.get(4)?,
                        text: row.get(5)?,
                        sent_at: row.get(6)?,
                        answer: row.get(7)?,
                    })
                },
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The session's messages not yet read, oldest first.
    pub fn unread_messages(&self, q: &QueueKey) -> Result<Vec<StoredMessage>> {
        Ok(self
            .conn
            .prepare(
                "SELECT student, id, staff, text, sent_at, asks_edit, answer IS NOT NULL
                 FROM messages WHERE session = ?1 AND course = ?2 AND queue = ?3
                   AND read_at IS NULL ORDER BY id",
            )?
            .query_map(params![q.session, q.course, q.queue], |row| {
                Ok(StoredMessage {
                    student: row.get(0)?,
                    message: jqueue_shared::StaffMessage {
                        id: row.get::<_, i64>(1)? as u64,
                        from: row.get(2)?,
                        text: row.get(3)?,
                        at: row.get(4)?,
                        asks_edit: row.get(5)?,
                        answered: row.get(6)?,
                    },
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Changes the order of waiting students (the rules changed).
    pub fn set_places(&mut self, q: &QueueKey, entries: &[Entry]) -> Result<()> {
        let tx = self.conn.transaction()?;
        set_places(&tx, q, entries)?;
        tx.commit()?;
        Ok(())
    }
}

/// Keeps each of `entries`' place (slot and draw) in `q`'s queue.
fn set_places(conn: &Connection, q: &QueueKey, entries: &[Entry]) -> Result<()> {
    for entry in entries {
        conn.execute(
            "UPDATE queue SET slot = ?5, draw = ?6 WHERE session = ?1 AND course = ?2 AND queue = ?3
                   AND username = ?4",
            params![
                q.session,
                q.course,
                q.queue,
                &*entry.username,
                entry.slot as i64,
                entry.draw as i64
            ],
        )?;
    }
    Ok(())
}

/// Keeps the context `username` attached to their place, if any.
fn set_context(
    conn: &Connection,
    q: &QueueKey,
    username: &str,
    context: Option<&QuestionContext>,
) -> Result<()> {
    if let Some(context) = context {
        conn.execute_cached(
            "UPDATE queue SET context = ?5 WHERE session = ?1 AND course = ?2 AND queue = ?3
                   AND username = ?4",
            params![
                q.session,
                q.course,
                q.queue,
                username,
                context_json(context)
            ],
        )?;
    }
    Ok(())
}

/// The context (as stored) of `username`'s place in `session`'s queue.
fn queued_context(conn: &Connection, q: &QueueKey, username: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT context FROM queue WHERE session = ?1 AND course = ?2 AND queue = ?3
                   AND username = ?4",
        )?
        .query_row(params![q.session, q.course, q.queue, username], |row| {
            row.get(0)
        })
        .optional()?
        .flatten())
}

/// A context as the store keeps it: JSON, readable with `sqlite3`.
fn context_json(context: &QuestionContext) -> String {
    // Strings and integers only: it cannot fail to serialise.
    serde_json::to_string(context).unwrap_or_default()
}

/// A stored context; one that does not parse (written by hand, or by a
/// jqueue to come) is shown as none, and said in the log.
fn parse_context(json: &str) -> Option<QuestionContext> {
    serde_json::from_str(json)
        .inspect_err(|e| tracing::warn!("a stored context does not parse: {e}"))
        .ok()
}

/// Adds `entry` to `session`'s queue, with its place.
fn insert_entry(conn: &Connection, q: &QueueKey, entry: &Entry) -> Result<()> {
    conn.execute_cached(
        "INSERT INTO queue (session, course, queue, username, description, location, joined_at,
                            away_until, front_since, slot, draw, host, tag)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            q.session,
            q.course,
            q.queue,
            &*entry.username,
            &*entry.description,
            &*entry.location,
            entry.joined_at,
            entry.away_until,
            entry.front_since,
            entry.slot as i64,
            entry.draw as i64,
            &*entry.host,
            entry.tag.as_deref()
        ],
    )?;
    Ok(())
}

impl Store {
    /// Takes a student out of the queue (they cancelled).
    pub fn delete_entry(&self, q: &QueueKey, username: &str) -> Result<()> {
        self.conn.execute_cached(
            "DELETE FROM queue WHERE session = ?1 AND course = ?2 AND queue = ?3
                   AND username = ?4",
            params![q.session, q.course, q.queue, username],
        )?;
        Ok(())
    }

    /// `staff` serves the students of `entries` (one, or a group helped
    /// together, in line order): ends `staff`'s help in progress as helped
    /// (at `now`), takes the students out of the queue and starts a help
    /// row for each, in one transaction. A group is its members' rows: the
    /// open rows of one staff member, in the order of their ids, the first
    /// the help's (what [`Store::load_session`] reads back).
    pub fn start_help(
        &mut self,
        q: &QueueKey,
        staff: &str,
        entries: &[Entry],
        now: UnixMillis,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        end_help(&tx, q, staff, now, HelpOutcome::Helped)?;
        for entry in entries {
            start_help_row(&tx, q, staff, entry, now)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// `entry`'s student leaves the queue to join `staff`'s help in
    /// progress (an open group), in one transaction: one more row of it.
    pub fn join_help(
        &mut self,
        q: &QueueKey,
        staff: &str,
        entry: &Entry,
        now: UnixMillis,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        start_help_row(&tx, q, staff, entry, now)?;
        tx.commit()?;
        Ok(())
    }

    /// Ends `staff`'s help in progress as helped.
    pub fn finish_help(&self, q: &QueueKey, staff: &str, now: UnixMillis) -> Result<()> {
        end_help(&self.conn, q, staff, now, HelpOutcome::Helped)
    }

    /// Ends `staff`'s help as not here and puts its students (`entries`:
    /// one, or every member of a group) back at the front of the queue,
    /// marked away until `until`, in one transaction.
    pub fn not_here(
        &mut self,
        q: &QueueKey,
        staff: &str,
        entries: &[Entry],
        now: UnixMillis,
        until: UnixMillis,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        // Each context goes back in line with its student.
        let mut contexts = Vec::with_capacity(entries.len());
        for entry in entries {
            let context: Option<String> = tx
                .query_row(
                    "SELECT context FROM helps
                     WHERE session = ?1 AND course = ?2 AND queue = ?3
                       AND staff = ?4 AND student = ?5 AND outcome IS NULL",
                    params![q.session, q.course, q.queue, staff, &*entry.username],
                    |row| row.get(0),
                )
                .optional()?
                .flatten();
            contexts.push(context);
        }
        end_help(&tx, q, staff, now, HelpOutcome::NotHere)?;
        for (entry, context) in entries.iter().zip(contexts) {
            let mut entry = entry.clone();
            entry.away_until = Some(until);
            entry.front_since = Some(now);
            entry.draw = 0;
            insert_entry(&tx, q, &entry)?;
            if context.is_some() {
                tx.execute(
                    "UPDATE queue SET context = ?5
                     WHERE session = ?1 AND course = ?2 AND queue = ?3 AND username = ?4",
                    params![q.session, q.course, q.queue, &*entry.username, context],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// `student` is back: no longer marked away.
    pub fn mark_back(&self, q: &QueueKey, student: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE queue SET away_until = NULL WHERE session = ?1 AND course = ?2 AND queue = ?3
                   AND username = ?4",
            params![q.session, q.course, q.queue, student],
        )?;
        Ok(())
    }

    /// Takes students out of the queue without helping them, recording
    /// each as a help that ended as `outcome` (removed by `staff`, or
    /// not-here when their time away ran out), in one transaction.
    pub fn remove_entries(
        &mut self,
        q: &QueueKey,
        staff: Option<&str>,
        entries: &[Entry],
        outcome: HelpOutcome,
        now: UnixMillis,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        for entry in entries {
            let context = queued_context(&tx, q, &entry.username)?;
            tx.execute_cached(
                "DELETE FROM queue WHERE session = ?1 AND course = ?2 AND queue = ?3
                   AND username = ?4",
                params![q.session, q.course, q.queue, &*entry.username],
            )?;
            tx.execute_cached(
                "INSERT INTO helps (session, course, queue, student, staff, joined_at, finished_at, outcome,
                                    description, location, context, tag)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    q.session,
                    q.course,
                    q.queue,
                    &*entry.username,
                    staff,
                    entry.joined_at,
                    now,
                    outcome.as_str(),
                    &*entry.description,
                    &*entry.location,
                    context,
                    entry.tag.as_deref()
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    // --- the activity pane --------------------------------------------------

    /// Appends activity lines (as JSON), in one transaction; every
    /// [`ACTIVITY_TRIM_EVERY`] lines (and at the first append after the
    /// store opens) it forgets all but the latest [`ACTIVITY_KEPT`] of the
    /// session in the same transaction. Trimming at every change read the
    /// last [`ACTIVITY_KEPT`] rows back each time: a tenth of the server's
    /// work in a busy queue (issue 29). The pane reads the latest lines
    /// only, so the few more kept between trims are never shown.
    pub fn append_activity(&mut self, q: &QueueKey, lines: &[Activity]) -> Result<()> {
        let untrimmed = self
            .untrimmed_activity
            .get(q)
            .map_or(ACTIVITY_TRIM_EVERY, |&n| n + lines.len());
        let trim = untrimmed >= ACTIVITY_TRIM_EVERY;
        let tx = self.conn.transaction()?;
        for line in lines {
            let kind = serde_json::to_string(&line.kind).unwrap_or_default();
            tx.execute_cached(
                "INSERT INTO activity (session, course, queue, at, kind) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![q.session, q.course, q.queue, line.at, kind],
            )?;
        }
        if !trim {
            tx.commit()?;
            self.set_untrimmed(q, untrimmed);
            return Ok(());
        }
        // Per session: ids are shared by every session, so counting back
        // from the table's highest id would drop lines of a quiet session
        // whenever another one is busy.
        tx.execute_cached(
            "DELETE FROM activity WHERE session = ?1 AND course = ?2 AND queue = ?3
                   AND id < (
                 SELECT MIN(id) FROM (
                     SELECT id FROM activity WHERE session = ?1 AND course = ?2 AND queue = ?3 ORDER BY id DESC LIMIT ?4))",
            params![q.session, q.course, q.queue, ACTIVITY_KEPT as i64],
        )?;
        tx.commit()?;
        self.set_untrimmed(q, 0);
        Ok(())
    }

    fn set_untrimmed(&mut self, q: &QueueKey, lines: usize) {
        match self.untrimmed_activity.get_mut(q) {
            Some(untrimmed) => *untrimmed = lines,
            None => {
                self.untrimmed_activity.insert(q.clone(), lines);
            }
        }
    }

    /// The session's latest `limit` activity lines, oldest first. Lines this
    /// jqueue cannot read (from a newer one) are skipped.
    pub fn recent_activity(&self, q: &QueueKey, limit: usize) -> Result<Vec<Activity>> {
        let mut stmt = self.conn.prepare(
            "SELECT at, kind FROM activity WHERE session = ?1 AND course = ?2 AND queue = ?3 ORDER BY id DESC LIMIT ?4",
        )?;
        let rows = stmt.query_map(params![q.session, q.course, q.queue, limit as i64], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
        })?;
        let mut lines: Vec<Activity> = rows
            .filter_map(|row| {
                let (at, kind) = row.ok()?;
                Some(Activity {
                    at,
                    kind: serde_json::from_str(&kind).ok()?,
                })
            })
            .collect();
        lines.reverse();
        Ok(lines)
    }

    // --- reports ----------------------------------------------------------

    /// Every help `filter` picks, in the order they happened.
    pub fn help_records(&self, filter: &RecordFilter<'_>) -> Result<Vec<HelpRecord>> {
        let mut stmt = self.conn.prepare(
            "SELECT session, course, queue, student, COALESCE(staff, ''), joined_at, served_at,
                    finished_at, COALESCE(outcome, 'in-progress'), tag
             FROM helps
             WHERE (?1 IS NULL OR session = ?1) AND (?2 IS NULL OR course = ?2)
               AND (?3 IS NULL OR queue = ?3) AND (?4 IS NULL OR joined_at >= ?4)
             ORDER BY COALESCE(served_at, finished_at), id",
        )?;
        let bind = params![filter.session, filter.course, filter.queue, filter.since];
        let rows = stmt.query_map(bind, |row| {
            Ok(HelpRecord {
                session: row.get(0)?,
                course: row.get(1)?,
                queue: row.get(2)?,
                student: row.get(3)?,
                staff: row.get(4)?,
                joined: row.get(5)?,
                served: row.get(6)?,
                finished: row.get(7)?,
                outcome: row.get(8)?,
                tag: row.get(9)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    // --- staff ------------------------------------------------------------

    /// Names `username` staff. Returns `false` if they already were.
    pub fn add_staff(&self, username: &str, now: UnixMillis) -> Result<bool> {
        let changed = self.conn.execute(
            "INSERT OR IGNORE INTO staff (username, added_at) VALUES (?1, ?2)",
            params![username, now],
        )?;
        Ok(changed == 1)
    }

    /// Names `username` staff so that only its person can take the
    /// account: a name with no account gets one with no password, locked
    /// on the password path until `code` (a claim code's SHA-256, live
    /// until `code_expires`) is given, like a reset account; a passwordless
    /// account gets a new code. An account that has a password keeps it
    /// (someone already holds it: the caller says so). One transaction, so
    /// no sign-up can slip between naming and locking.
    pub fn add_staff_claimed(
        &mut self,
        username: &str,
        course: Option<&str>,
        now: UnixMillis,
        code: &[u8; 32],
        code_expires: UnixMillis,
    ) -> Result<StaffClaim> {
        let tx = self.conn.transaction()?;
        let added = tx.execute(
            "INSERT OR IGNORE INTO staff (username, course, added_at) VALUES (?1, ?2, ?3)",
            params![username, course.unwrap_or_default(), now],
        )? == 1;
        tx.execute(
            "INSERT INTO users (username, password, created_at, last_sign_in)
             VALUES (?1, NULL, ?2, NULL) ON CONFLICT (username) DO NOTHING",
            params![username, now],
        )?;
        let has_password: bool = tx.query_row(
            "SELECT password IS NOT NULL FROM users WHERE username = ?1",
            [username],
            |row| row.get(0),
        )?;
        if !has_password {
            set_reset_code(&tx, username, code, code_expires)?;
        }
        tx.commit()?;
        Ok(StaffClaim {
            added,
            claimed: has_password,
        })
    }

    /// Makes `username` no longer staff of `course` (`None`: of any
    /// course). Returns `false` if they were not.
    pub fn remove_staff(&self, username: &str, course: Option<&str>) -> Result<bool> {
        let changed = self.conn.execute(
            "DELETE FROM staff WHERE username = ?1 AND (?2 IS NULL OR course = ?2)",
            params![username, course],
        )?;
        Ok(changed > 0)
    }

    /// A number that changes whenever another connection (a `jqueue-server
    /// staff` or `users` command) has committed to the database since the
    /// last call; this connection's own commits leave it alone. Reading it
    /// costs no I/O.
    pub fn outside_changes(&self) -> Result<i64> {
        Ok(self
            .conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |row| row.get(0))?)
    }

    /// A database from before courses, opened by a server that declares
    /// them: the rows of course `default`, queue `main` (every session's
    /// places, helps, messages, activity, open flag and announcement, and
    /// the course's notes) become `course`/`queue`'s, the first queue the
    /// config declares. Only while that queue has no session of its own,
    /// so it happens once. Returns whether it did.
    pub fn adopt_default_queue(&mut self, course: &str, queue: &str) -> Result<bool> {
        let tx = self.conn.transaction()?;
        let count = |sql: &str, bind: &[&dyn rusqlite::ToSql]| -> Result<i64> {
            Ok(tx.query_row(sql, bind, |row| row.get(0))?)
        };
        let theirs = count(
            "SELECT COUNT(*) FROM sessions WHERE course = ?1 AND queue = ?2",
            &[&course, &queue],
        )?;
        let old = count(
            "SELECT COUNT(*) FROM sessions WHERE course = 'default' AND queue = 'main'",
            &[],
        )?;
        if theirs > 0 || old == 0 {
            return Ok(false);
        }
        for table in ["sessions", "queue", "helps", "messages", "activity"] {
            tx.execute(
                &format!(
                    "UPDATE {table} SET course = ?1, queue = ?2
                     WHERE course = 'default' AND queue = 'main'"
                ),
                params![course, queue],
            )?;
        }
        tx.execute(
            "UPDATE OR IGNORE notes SET course = ?1 WHERE course = 'default'",
            [course],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// Whether `username` is staff of `course`: named for it, or for
    /// every course.
    pub fn is_staff_of(&self, username: &str, course: &str) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM staff WHERE username = ?1 AND (course = '' OR course = ?2)",
                params![username, course],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Whether `username` is staff of any course.
    pub fn is_staff(&self, username: &str) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM staff WHERE username = ?1",
                [username],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Every staff account: its name, its course (empty: every course) and
    /// when it was added.
    pub fn staff(&self) -> Result<Vec<(String, String, UnixMillis)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT username, course, added_at FROM staff ORDER BY username, course")?;
        let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// Takes `entry`'s student out of the queue and starts their help row
/// with `staff` at `now`, their attached context going with them.
fn start_help_row(
    tx: &rusqlite::Transaction<'_>,
    q: &QueueKey,
    staff: &str,
    entry: &Entry,
    now: UnixMillis,
) -> Result<()> {
    let context = queued_context(tx, q, &entry.username)?;
    tx.execute_cached(
        "DELETE FROM queue WHERE session = ?1 AND course = ?2 AND queue = ?3
                   AND username = ?4",
        params![q.session, q.course, q.queue, &*entry.username],
    )?;
    tx.execute_cached(
        "INSERT INTO helps (session, course, queue, student, staff, joined_at, served_at,
                                description, location, host, context, tag)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            q.session,
            q.course,
            q.queue,
            &*entry.username,
            staff,
            entry.joined_at,
            now,
            &*entry.description,
            &*entry.location,
            &*entry.host,
            context,
            entry.tag.as_deref()
        ],
    )?;
    Ok(())
}

/// Ends `staff`'s help in progress in `session`, if any.
fn end_help(
    conn: &Connection,
    q: &QueueKey,
    staff: &str,
    now: UnixMillis,
    outcome: HelpOutcome,
) -> Result<()> {
    conn.execute_cached(
        "UPDATE helps SET finished_at = ?5, outcome = ?6
         WHERE session = ?1 AND course = ?2 AND queue = ?3
                   AND staff = ?4 AND outcome IS NULL",
        params![q.session, q.course, q.queue, staff, now, outcome.as_str()],
    )?;
    Ok(())
}

/// The statements every change runs (a join, a cancel, a serve, a removal,
/// the activity pane's lines), kept prepared on the connection: parsing and
/// planning them anew for every change was a measurable part of what a
/// change cost the owner before its students could be told (issue 29).
/// Rarer statements are prepared when run, and keep the cache small.
trait Cached {
    fn execute_cached<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
}

impl Cached for Connection {
    fn execute_cached<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }
}

/// Gives `username` the one-time code whose digest is `digest` (a reset
/// code or a staff claim code: the same lock on the password path),
/// replacing any earlier one.
fn set_reset_code(
    tx: &rusqlite::Transaction<'_>,
    username: &str,
    digest: &[u8; 32],
    expires_at: UnixMillis,
) -> Result<()> {
    tx.execute(
        "INSERT INTO reset_codes (username, digest, expires_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (username) DO UPDATE SET digest = excluded.digest,
                                              expires_at = excluded.expires_at",
        params![username, &digest[..], expires_at],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The queue of a server that declares no courses, in session `session`.
    fn k(session: &str) -> QueueKey {
        QueueKey::new(session, "default", "main")
    }

    fn entry(name: &str, at: UnixMillis) -> Entry {
        Entry {
            slot: at as u64,
            ..Entry::new(name.into(), "d".into(), "l".into(), at)
        }
    }

    #[test]
    fn session_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jqueue.db");
        {
            let mut store = Store::open(&path).unwrap();
            let s = store.load_session(&k("s1"), 0).unwrap();
            assert!(s.open && s.entries.is_empty());
            for (i, n) in ["a", "b", "c", "d"].iter().enumerate() {
                store.insert_entry(&k("s1"), &entry(n, i as i64)).unwrap();
            }
            assert!(
                store.insert_entry(&k("s1"), &entry("a", 9)).is_err(),
                "one entry per student"
            );
            store
                .start_help(&k("s1"), "t", &[entry("a", 0)], 100)
                .unwrap();
            // Serving again ends the help in progress as helped.
            store
                .start_help(&k("s1"), "t", &[entry("d", 3)], 160)
                .unwrap();
            store
                .start_help(&k("s1"), "u", &[entry("b", 1)], 170)
                .unwrap();
            store
                .not_here(&k("s1"), "u", &[entry("b", 1)], 180, 999)
                .unwrap();
            store
                .remove_entries(
                    &k("s1"),
                    Some("t"),
                    &[entry("c", 2)],
                    HelpOutcome::Removed,
                    110,
                )
                .unwrap();
            store.delete_entry(&k("s1"), "zzz").unwrap();
            store.set_open(&k("s1"), false, &[]).unwrap();
            store.insert_entry(&k("s2"), &entry("a", 5)).unwrap();
        }
        let store = Store::open(&path).unwrap();
        let s = store.load_session(&k("s1"), 0).unwrap();
        assert!(!s.open);
        let mut away = entry("b", 1);
        away.away_until = Some(999);
        away.front_since = Some(180);
        assert_eq!(s.entries, vec![away], "not here: back at the front, away");
        assert_eq!(s.helped, vec![("a".to_string(), 160)]);
        assert_eq!(s.help_lengths, vec![60]);
        assert_eq!(s.helps.len(), 1, "t is still helping d");
        assert_eq!(s.helps[0].staff.as_ref(), "t");
        assert_eq!(s.helps[0].entry.username.as_ref(), "d");
        assert_eq!(s.helps[0].served_at, 160);
        assert_eq!(store.load_session(&k("s2"), 0).unwrap().entries.len(), 1);
    }

    #[test]
    fn a_group_help_is_a_row_per_member_ended_together() {
        use jqueue_shared::context::QuestionContext;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jqueue.db");
        let mut store = Store::open(&path).unwrap();
        store.load_session(&k("s1"), 0).unwrap();
        let bob_context = QuestionContext {
            directory: Some("/home/bob/lab3".into()),
            ..QuestionContext::default()
        };
        for (i, n) in ["amy", "bob", "cal", "dee"].iter().enumerate() {
            let context = (*n == "bob").then_some(&bob_context);
            store
                .insert_entry_with_context(&k("s1"), &entry(n, i as i64), context)
                .unwrap();
        }
        let group = [entry("amy", 0), entry("bob", 1), entry("cal", 2)];
        store.start_help(&k("s1"), "tara", &group, 100).unwrap();
        let s = store.load_session(&k("s1"), 0).unwrap();
        let rows: Vec<(&str, &str)> = s
            .helps
            .iter()
            .map(|h| (&*h.staff, &*h.entry.username))
            .collect();
        assert_eq!(rows, [("tara", "amy"), ("tara", "bob"), ("tara", "cal")]);
        assert_eq!(s.entries.len(), 1, "dee still waits");
        // Not here: every member back at the front, each with their context.
        store.not_here(&k("s1"), "tara", &group, 110, 999).unwrap();
        let s = store.load_session(&k("s1"), 0).unwrap();
        assert!(s.helps.is_empty(), "the whole group's rows ended");
        assert_eq!(
            store.context_of(&k("s1"), "bob").unwrap(),
            Some(bob_context)
        );
        // Served again and finished: one helped record each.
        store
            .start_help(&k("s1"), "tara", &[entry("bob", 1), entry("cal", 2)], 120)
            .unwrap();
        store.finish_help(&k("s1"), "tara", 180).unwrap();
        let s = store.load_session(&k("s1"), 0).unwrap();
        assert!(s.helps.is_empty());
        let mut helped: Vec<&str> = s.helped.iter().map(|(n, _)| n.as_str()).collect();
        helped.sort_unstable();
        assert_eq!(helped, ["bob", "cal"]);
        assert_eq!(s.help_lengths, [60, 60]);
        let outcomes: Vec<(String, String)> = store
            .help_records(&RecordFilter::queue(&k("s1")))
            .unwrap()
            .into_iter()
            .map(|r| (r.student, r.outcome))
            .collect();
        let expected = [
            ("amy", "not-here"),
            ("bob", "not-here"),
            ("cal", "not-here"),
            ("bob", "helped"),
            ("cal", "helped"),
        ];
        assert_eq!(
            outcomes,
            expected.map(|(n, o)| (n.to_owned(), o.to_owned())),
            "each member has a record of their own"
        );
    }

    /// The queue's owner and the accounts' owner each write through a
    /// connection of their own, at the same time: neither may be told
    /// "busy" (which a transaction that reads before it writes would be,
    /// at once, if the other committed in between).
    #[test]
    fn two_connections_writing_at_once_both_get_through() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jqueue.db");
        Store::open(&path).unwrap();
        let accounts = {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut store = Store::open(&path).unwrap();
                for i in 0..200 {
                    store
                        .register(&format!("u{i}"), "$phc", None, i)
                        .expect("registering beside the queue's writes");
                }
            })
        };
        let mut store = Store::open(&path).unwrap();
        for i in 0..200 {
            store
                .insert_entry(&k("s"), &entry(&format!("q{i}"), i))
                .expect("queueing beside the accounts' writes");
            store
                .set_places(&k("s"), &[entry(&format!("q{i}"), i)])
                .expect("a transaction beside the accounts' writes");
        }
        accounts.join().unwrap();
        assert_eq!(store.accounts().unwrap().len(), 200);
    }

    /// A copy of the database `name` in `tests/fixtures`, written by an
    /// earlier release, in a directory of its own.
    fn fixture(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jqueue.db");
        let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        std::fs::copy(from.join(name), &path).unwrap();
        (dir, path)
    }

    #[test]
    fn a_first_release_database_upgrades_without_losing_anything() {
        // Made by the first release (commit 295901c): five accounts with
        // tokens, session `r1` with two students waiting, one served and one
        // removed.
        let (_dir, path) = fixture("r1.db");
        let store = Store::open(&path).unwrap();
        let version: i64 = store
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        let accounts = store.accounts().unwrap();
        assert_eq!(accounts.len(), 5);
        assert!(accounts.iter().all(|a| a.password_phc.is_some()));
        let tokens: i64 = store
            .conn
            .query_row("SELECT COUNT(*) FROM tokens", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tokens, 5);
        let s = store.load_session(&k("r1"), 0).unwrap();
        let waiting: Vec<&str> = s.entries.iter().map(|e| &*e.username).collect();
        assert_eq!(waiting, ["s00002", "s00004"]);
        assert_eq!(s.helped.len(), 1);
        assert_eq!(s.helped[0].0, "s00000");
        assert!(s.helps.is_empty(), "old serves are not helps in progress");
        let outcomes: Vec<(String, String)> = store
            .conn
            .prepare("SELECT student, outcome FROM helps ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            outcomes,
            [
                ("s00000".to_string(), "helped".to_string()),
                ("s00001".to_string(), "removed".to_string())
            ]
        );
        drop(store);
        // Opening again changes nothing.
        let again = Store::open(&path).unwrap();
        assert_eq!(again.load_session(&k("r1"), 0).unwrap().entries.len(), 2);
    }

    #[test]
    fn a_round_two_database_opens_as_the_default_course_s_main_queue_with_nothing_lost() {
        // Made by the release before courses (schema 6, commit d39b364)
        // through its store: six accounts with tokens, `tara` staff,
        // session `fall` with an announcement, amy (with a context) and
        // bob waiting, bob's answered message, cal helped, dee being
        // helped, eve removed, a note on cal and an activity line.
        let (_dir, path) = fixture("r2.db");
        let store = Store::open(&path).unwrap();
        let fall = k("fall");
        assert_eq!(store.accounts().unwrap().len(), 6);
        assert!(store.token_owner(&[2; 32], 0).unwrap().as_deref() == Some("cal"));
        assert_eq!(store.staff().unwrap()[0].0, "tara");
        assert!(
            store.is_staff("tara").unwrap(),
            "staff of every course, as before"
        );
        let s = store.load_session(&fall, 0).unwrap();
        assert_eq!(s.pool, None);
        let waiting: Vec<&str> = s.entries.iter().map(|e| &*e.username).collect();
        assert_eq!(waiting, ["amy", "bob"]);
        assert_eq!(&*s.entries[0].description, "segfault in lab 3");
        assert_eq!(&*s.entries[0].host, "lab07-3");
        let answer = s.entries[1].answer.as_deref().unwrap();
        assert_eq!(answer.text, "it says undefined reference");
        assert!(s.open);
        assert_eq!(s.helps.len(), 1);
        assert_eq!(&*s.helps[0].entry.username, "dee");
        assert_eq!(s.helped.len(), 1);
        assert_eq!(s.helped[0].0, "cal");
        assert_eq!(
            store.announcement(&fall).unwrap().as_deref(),
            Some("Lab 3 help in 0220")
        );
        assert_eq!(
            store
                .context_of(&fall, "amy")
                .unwrap()
                .unwrap()
                .directory
                .as_deref(),
            Some("/home/amy/lab3")
        );
        assert_eq!(store.recent_activity(&fall, 10).unwrap().len(), 1);
        assert_eq!(
            store.note("default", "cal").unwrap().unwrap().text,
            "needs a hand with gdb"
        );
        let records = store.help_records(&RecordFilter::default()).unwrap();
        let outcomes: Vec<(&str, &str, &str)> = records
            .iter()
            .map(|r| (r.course.as_str(), r.queue.as_str(), r.outcome.as_str()))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("default", "main", "helped"),
                ("default", "main", "removed"),
                ("default", "main", "in-progress")
            ]
        );
        // Nothing of it is another queue's.
        let other = QueueKey::new("fall", "cs101", "lab");
        assert!(store.load_session(&other, 0).unwrap().entries.is_empty());
    }

    #[test]
    fn two_queues_keep_their_own_rows_and_a_student_may_wait_in_both() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("jqueue.db")).unwrap();
        let lab = QueueKey::new("d", "cs101", "lab");
        let concepts = QueueKey::new("d", "cs202", "concepts");
        store.load_session(&lab, 0).unwrap();
        store.load_session(&concepts, 0).unwrap();
        store.insert_entry(&lab, &entry("amy", 1)).unwrap();
        store.insert_entry(&concepts, &entry("amy", 2)).unwrap();
        store.insert_entry(&concepts, &entry("bob", 3)).unwrap();
        store.set_open(&lab, false, &[]).unwrap();
        store.set_announcement(&concepts, "in 1404").unwrap();
        store
            .start_help(&concepts, "tara", &[entry("bob", 3)], 10)
            .unwrap();
        let lab_now = store.load_session(&lab, 0).unwrap();
        let concepts_now = store.load_session(&concepts, 0).unwrap();
        assert!(!lab_now.open && concepts_now.open);
        assert_eq!(lab_now.entries.len(), 1);
        assert!(lab_now.helps.is_empty());
        assert_eq!(concepts_now.entries.len(), 1);
        assert_eq!(concepts_now.helps.len(), 1);
        assert_eq!(store.announcement(&lab).unwrap(), None);
        // The same helper in the other queue ends only that queue's help.
        store.finish_help(&lab, "tara", 20).unwrap();
        assert_eq!(store.load_session(&concepts, 0).unwrap().helps.len(), 1);
    }

    fn context(directory: &str) -> QuestionContext {
        QuestionContext {
            directory: Some(directory.into()),
            failed: Some(jqueue_shared::context::FailedCommand {
                command: "make \u{1b}[2J".into(),
                status: 2,
            }),
            ..QuestionContext::default()
        }
    }

    #[test]
    fn a_context_goes_with_the_place_and_the_help_and_only_for_its_session() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("jqueue.db")).unwrap();
        let amy = context("/home/amy/lab3");
        store
            .insert_entry_with_context(&k("s1"), &entry("amy", 1), Some(&amy))
            .unwrap();
        store
            .insert_entry_with_context(&k("s1"), &entry("bob", 2), None)
            .unwrap();
        assert_eq!(
            store.context_of(&k("s1"), "amy").unwrap(),
            Some(amy.clone())
        );
        assert_eq!(store.context_of(&k("s1"), "bob").unwrap(), None);
        assert_eq!(
            store.context_of(&k("s2"), "amy").unwrap(),
            None,
            "per session"
        );
        // Served: it is the help's now.
        store
            .start_help(&k("s1"), "tara", &[entry("amy", 1)], 10)
            .unwrap();
        assert_eq!(
            store.context_of(&k("s1"), "amy").unwrap(),
            Some(amy.clone())
        );
        // Not here: back in line with it.
        store
            .not_here(&k("s1"), "tara", &[entry("amy", 1)], 20, 999)
            .unwrap();
        assert_eq!(
            store.context_of(&k("s1"), "amy").unwrap(),
            Some(amy.clone())
        );
        // Removed: no longer waiting, but kept with the help record.
        store
            .remove_entries(
                &k("s1"),
                Some("tara"),
                &[entry("amy", 1)],
                HelpOutcome::Removed,
                30,
            )
            .unwrap();
        assert_eq!(store.context_of(&k("s1"), "amy").unwrap(), None);
        let kept: i64 = store
            .conn
            .query_row(
                "SELECT COUNT(*) FROM helps WHERE student = 'amy' AND context IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            kept, 2,
            "the not-here help's record and the removal's keep it"
        );

        // The next session: the earlier one's contexts are deleted, the
        // records stay.
        let cal = context("/home/cal");
        store
            .insert_entry_with_context(&k("s2"), &entry("cal", 3), Some(&cal))
            .unwrap();
        assert_eq!(store.forget_other_sessions_contexts("s2").unwrap(), 2);
        let left: i64 = store
            .conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM helps WHERE context IS NOT NULL)
                      + (SELECT COUNT(*) FROM queue WHERE context IS NOT NULL)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 1, "only the current session's");
        assert_eq!(store.context_of(&k("s2"), "cal").unwrap(), Some(cal));
        let records: i64 = store
            .conn
            .query_row("SELECT COUNT(*) FROM helps", [], |r| r.get(0))
            .unwrap();
        assert_eq!(records, 2);
    }

    #[test]
    fn deleting_an_account_deletes_what_it_attached() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("jqueue.db")).unwrap();
        store.ensure_account("amy", 0).unwrap();
        store
            .insert_entry_with_context(&k("s"), &entry("amy", 1), Some(&context("/a")))
            .unwrap();
        store
            .start_help(&k("s"), "tara", &[entry("amy", 1)], 10)
            .unwrap();
        store.finish_help(&k("s"), "tara", 20).unwrap();
        store
            .insert_entry_with_context(&k("s"), &entry("amy", 30), Some(&context("/b")))
            .unwrap();
        assert!(store.delete_account("amy").unwrap());
        let left: i64 = store
            .conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM helps WHERE context IS NOT NULL)
                      + (SELECT COUNT(*) FROM queue WHERE context IS NOT NULL)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 0);
    }

    /// A database as an earlier jqueue left it: the first `version`
    /// migrations, and `rows` inserted in one transaction.
    fn old_database(path: &Path, version: usize, rows: &str) {
        let mut conn = Connection::open(path).unwrap();
        for sql in &MIGRATIONS[..version] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", version as i64)
            .unwrap();
        let tx = conn.transaction().unwrap();
        tx.execute_batch(rows).unwrap();
        tx.commit().unwrap();
    }

    #[test]
    fn a_schema_4_database_gains_contexts_and_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jqueue.db");
        {
            // A database as the previous jqueue left it: schema 4, a
            // student waiting and a help in progress.
            old_database(
                &path,
                4,
                "INSERT INTO sessions (name, open, created_at) VALUES ('s', 1, 0);
                 INSERT INTO queue (session, username, description, location, joined_at,
                                    slot, host)
                     VALUES ('s', 'amy', 'segfault', 'row 3', 5, 1, 'lab07-3');
                 INSERT INTO helps (session, student, staff, joined_at, served_at,
                                    description, location, host)
                     VALUES ('s', 'bob', 'tara', 1, 2, 'loops', 'row 1', 'lab07-1');",
            );
        }
        let store = Store::open(&path).unwrap();
        let s = store.load_session(&k("s"), 0).unwrap();
        assert_eq!(s.entries.len(), 1);
        assert_eq!(&*s.entries[0].description, "segfault");
        assert_eq!(&*s.entries[0].host, "lab07-3");
        assert_eq!(s.helps.len(), 1);
        assert_eq!(&*s.helps[0].entry.username, "bob");
        assert_eq!(store.context_of(&k("s"), "amy").unwrap(), None);
        assert_eq!(store.context_of(&k("s"), "bob").unwrap(), None);
    }

    #[test]
    fn a_schema_7_database_gains_the_pool_and_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jqueue.db");
        {
            // A database as the release before the stored pool left it:
            // schema 7, a closed queue with two students waiting (early
            // joins, for all it can say) and a help in progress.
            old_database(
                &path,
                7,
                "INSERT INTO sessions (name, course, queue, open, created_at, announcement)
                     VALUES ('s', 'cs101', 'lab', 0, 0, 'in 0220');
                 INSERT INTO queue (session, course, queue, username, description, location,
                                    joined_at, slot, draw, host)
                     VALUES ('s', 'cs101', 'lab', 'amy', 'segfault', 'row 3', 5, 4, 0, 'lab07-3'),
                            ('s', 'cs101', 'lab', 'bob', 'loops', 'row 1', 6, 4, 0, 'lab07-1');
                 INSERT INTO helps (session, course, queue, student, staff, joined_at,
                                    served_at, description, location, host)
                     VALUES ('s', 'cs101', 'lab', 'cal', 'tara', 1, 2, 'gdb', 'row 2', '');",
            );
        }
        let mut store = Store::open(&path).unwrap();
        let version: i64 = store
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        let lab = QueueKey::new("s", "cs101", "lab");
        let s = store.load_session(&lab, 0).unwrap();
        assert!(!s.open);
        assert_eq!(s.pool, None, "a schema-7 server kept no pool on disk");
        let waiting: Vec<(&str, u64)> = s.entries.iter().map(|e| (&*e.username, e.slot)).collect();
        assert_eq!(waiting, [("amy", 4), ("bob", 4)]);
        assert_eq!(&*s.entries[0].host, "lab07-3");
        assert_eq!(s.helps.len(), 1);
        assert_eq!(&*s.helps[0].entry.username, "cal");
        assert_eq!(
            store.announcement(&lab).unwrap().as_deref(),
            Some("in 0220")
        );
        // The next early join marks the pool from then on.
        let mut cat = entry("cat", 7);
        cat.slot = 4;
        store.insert_pool_entry(&lab, &cat, None).unwrap();
        assert_eq!(store.load_session(&lab, 0).unwrap().pool, Some(4));
    }

    #[test]
    fn a_schema_8_database_gains_tags_and_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jqueue.db");
        {
            // A database as the release before tags left it: schema 8, a
            // pre-opening pool, a student waiting, a help in progress and
            // one finished.
            old_database(
                &path,
                8,
                "INSERT INTO sessions (name, course, queue, open, created_at, announcement, pool)
                     VALUES ('s', 'cs101', 'lab', 0, 0, 'in 0220', 4);
                 INSERT INTO queue (session, course, queue, username, description, location,
                                    joined_at, slot, draw, host, context)
                     VALUES ('s', 'cs101', 'lab', 'amy', 'segfault', 'row 3', 5, 4, 0,
                             'lab07-3', '{\"directory\":\"/home/amy\"}');
                 INSERT INTO helps (session, course, queue, student, staff, joined_at,
                                    served_at, description, location, host)
                     VALUES ('s', 'cs101', 'lab', 'cal', 'tara', 1, 2, 'gdb', 'row 2', '');
                 INSERT INTO helps (session, course, queue, student, staff, joined_at,
                                    served_at, finished_at, outcome, description, location)
                     VALUES ('s', 'cs101', 'lab', 'bob', 'tara', 0, 1, 3, 'helped', 'loops',
                             'row 1');",
            );
        }
        let store = Store::open(&path).unwrap();
        let version: i64 = store
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        let lab = QueueKey::new("s", "cs101", "lab");
        let s = store.load_session(&lab, 0).unwrap();
        assert_eq!(s.pool, Some(4));
        assert_eq!(s.entries.len(), 1);
        let amy = &s.entries[0];
        assert_eq!(
            (&*amy.description, &*amy.host, amy.slot, amy.tag.as_deref()),
            ("segfault", "lab07-3", 4, None),
            "untagged, as it was asked"
        );
        assert_eq!(
            store
                .context_of(&lab, "amy")
                .unwrap()
                .unwrap()
                .directory
                .as_deref(),
            Some("/home/amy")
        );
        assert_eq!(s.helps.len(), 1);
        assert_eq!(
            (&*s.helps[0].entry.username, s.helps[0].entry.tag.as_deref()),
            ("cal", None)
        );
        assert_eq!(s.helped, [("bob".to_owned(), 3)]);
        let records = store.help_records(&RecordFilter::default()).unwrap();
        assert_eq!(records.len(), 2);
        assert!(records.iter().all(|r| r.tag.is_none()));
        // From now on a question keeps its tag.
        let tagged = Entry {
            tag: Some("debugging".into()),
            ..entry("dee", 6)
        };
        store.insert_entry(&lab, &tagged).unwrap();
        let s = store.load_session(&lab, 0).unwrap();
        assert_eq!(s.entries[1].tag.as_deref(), Some("debugging"));
    }

    #[test]
    fn a_tag_goes_with_the_place_the_help_and_the_record_and_an_edit_changes_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("jqueue.db")).unwrap();
        let tagged = |name: &str, tag: Option<&str>| Entry {
            tag: tag.map(Arc::from),
            ..entry(name, 1)
        };
        store
            .insert_entry(&k("s"), &tagged("amy", Some("setup")))
            .unwrap();
        store.insert_entry(&k("s"), &tagged("bob", None)).unwrap();
        // An edit changes the tag (and may take it away).
        assert!(
            store
                .edit_entry(&k("s"), &tagged("amy", Some("debugging")))
                .unwrap()
        );
        assert!(
            store
                .edit_entry(&k("s"), &tagged("bob", Some("setup")))
                .unwrap()
        );
        let s = store.load_session(&k("s"), 0).unwrap();
        let tags: Vec<Option<&str>> = s.entries.iter().map(|e| e.tag.as_deref()).collect();
        assert_eq!(tags, [Some("debugging"), Some("setup")]);
        // Served: the help has it; not here: back in line with it.
        let amy = s.entries[0].clone();
        store
            .start_help(&k("s"), "tara", std::slice::from_ref(&amy), 10)
            .unwrap();
        let s = store.load_session(&k("s"), 0).unwrap();
        assert_eq!(s.helps[0].entry.tag.as_deref(), Some("debugging"));
        store
            .not_here(&k("s"), "tara", std::slice::from_ref(&amy), 20, 999)
            .unwrap();
        let s = store.load_session(&k("s"), 0).unwrap();
        let back = s.entries.iter().find(|e| &*e.username == "amy").unwrap();
        assert_eq!(back.tag.as_deref(), Some("debugging"));
        // Removed: the record keeps it.
        store
            .remove_entries(
                &k("s"),
                Some("tara"),
                std::slice::from_ref(back),
                HelpOutcome::Removed,
                30,
            )
            .unwrap();
        let records = store.help_records(&RecordFilter::default()).unwrap();
        let tags: Vec<(&str, Option<&str>)> = records
            .iter()
            .map(|r| (r.outcome.as_str(), r.tag.as_deref()))
            .collect();
        assert_eq!(
            tags,
            [
                ("not-here", Some("debugging")),
                ("removed", Some("debugging"))
            ]
        );
    }

    #[test]
    fn the_pool_is_kept_until_the_opening_keeps_its_draw_instead() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jqueue.db");
        let pooled = |name: &str, draw: u64| Entry {
            slot: 3,
            draw,
            ..entry(name, 10)
        };
        {
            let mut store = Store::open(&path).unwrap();
            store.load_session(&k("s"), 0).unwrap();
            store.set_open(&k("s"), false, &[]).unwrap();
            assert_eq!(store.load_session(&k("s"), 0).unwrap().pool, None);
            store
                .insert_pool_entry(&k("s"), &pooled("amy", 0), Some(&context("/home/amy")))
                .unwrap();
            store
                .insert_pool_entry(&k("s"), &pooled("bob", 0), None)
                .unwrap();
            // Closing again (by hand, or the schedule at a start) keeps it.
            store.set_open(&k("s"), false, &[]).unwrap();
        }
        // A restart before the opening finds the pool.
        let mut store = Store::open(&path).unwrap();
        let s = store.load_session(&k("s"), 0).unwrap();
        assert_eq!(s.pool, Some(3));
        assert_eq!(s.entries.len(), 2);
        assert_eq!(
            store.context_of(&k("s"), "amy").unwrap(),
            Some(context("/home/amy")),
            "an early join keeps its context as any join does"
        );
        // The opening ends it, keeping the draw in its place.
        store
            .set_open(&k("s"), true, &[pooled("amy", 20), pooled("bob", 10)])
            .unwrap();
        let s = store.load_session(&k("s"), 0).unwrap();
        assert!(s.open);
        assert_eq!(s.pool, None);
        let draws: Vec<(&str, u64)> = s.entries.iter().map(|e| (&*e.username, e.draw)).collect();
        assert_eq!(draws, [("amy", 20), ("bob", 10)]);
    }

    #[test]
    fn a_database_from_a_newer_jqueue_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jqueue.db");
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = Store::open(&path).unwrap_err();
        assert!(err.to_string().contains("newer jqueue"), "{err}");
    }

    /// An activity line at `i` that names student `s<i>`.
    fn line(i: i64) -> Activity {
        Activity {
            at: i,
            kind: jqueue_shared::staff::ActivityKind::Joined {
                username: format!("s{i}"),
            },
        }
    }

    #[test]
    fn the_activity_pane_survives_a_restart_and_stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("jqueue.db")).unwrap();
        let lines: Vec<Activity> = (0..ACTIVITY_KEPT as i64 + 20).map(line).collect();
        store.append_activity(&k("s1"), &lines).unwrap();
        store.append_activity(&k("s2"), &[line(7)]).unwrap();
        let recent = store.recent_activity(&k("s1"), 3).unwrap();
        let last = ACTIVITY_KEPT as i64 + 19;
        assert_eq!(recent, [line(last - 2), line(last - 1), line(last)]);
        let kept: i64 = store
            .conn
            .query_row(
                "SELECT COUNT(*) FROM activity WHERE session = 's1'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(kept <= ACTIVITY_KEPT as i64, "{kept}");
        assert_eq!(store.recent_activity(&k("s2"), 10).unwrap(), [line(7)]);
    }

    #[test]
    fn the_pane_is_trimmed_every_so_many_lines_not_at_every_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jqueue.db");
        let count = |store: &Store| -> i64 {
            store
                .conn
                .query_row("SELECT COUNT(*) FROM activity", [], |r| r.get(0))
                .unwrap()
        };
        let mut store = Store::open(&path).unwrap();
        let append = |store: &mut Store, from: usize, lines: usize| {
            for i in from..from + lines {
                store.append_activity(&k("s1"), &[line(i as i64)]).unwrap();
            }
            from + lines
        };
        let next = append(&mut store, 0, ACTIVITY_KEPT + 10);
        let most = (ACTIVITY_KEPT + ACTIVITY_TRIM_EVERY) as i64;
        assert!(count(&store) <= most, "{}", count(&store));
        let next = append(&mut store, next, 3 * ACTIVITY_TRIM_EVERY);
        assert!(count(&store) <= most, "{}", count(&store));
        assert!(
            count(&store) > ACTIVITY_KEPT as i64,
            "not trimmed at every line"
        );
        let latest = store.recent_activity(&k("s1"), 1).unwrap();
        assert_eq!(latest, [line(next as i64 - 1)]);
        // Reopened, the first line trims what an earlier run left.
        drop(store);
        let mut store = Store::open(&path).unwrap();
        append(&mut store, next, 1);
        assert_eq!(count(&store), ACTIVITY_KEPT as i64);
    }

    #[test]
    fn a_busy_session_does_not_trim_a_quiet_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("jqueue.db")).unwrap();
        store
            .append_activity(&k("quiet"), &[line(1), line(2)])
            .unwrap();
        let busy: Vec<Activity> = (0..ACTIVITY_KEPT as i64 * 2).map(line).collect();
        store.append_activity(&k("busy"), &busy).unwrap();
        store.append_activity(&k("quiet"), &[line(3)]).unwrap();
        assert_eq!(
            store.recent_activity(&k("quiet"), 10).unwrap(),
            [line(1), line(2), line(3)]
        );
        assert_eq!(
            store
                .recent_activity(&k("busy"), ACTIVITY_KEPT * 3)
                .unwrap()
                .len(),
            ACTIVITY_KEPT
        );
    }

    #[test]
    fn staff_accounts() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("jqueue.db")).unwrap();
        assert!(store.add_staff("ta", 5).unwrap());
        assert!(!store.add_staff("ta", 6).unwrap());
        assert!(store.is_staff("ta").unwrap());
        assert!(!store.is_staff("student").unwrap());
        assert_eq!(
            store.staff().unwrap(),
            [("ta".to_string(), String::new(), 5)]
        );
        assert!(store.is_staff_of("ta", "cs101").unwrap(), "every course");
        assert!(store.remove_staff("ta", None).unwrap());
        assert!(!store.is_staff("ta").unwrap());
        // Staff of one course are staff of it alone.
        let mut store = store;
        store
            .add_staff_claimed("tara", Some("cs101"), 7, &[1; 32], 99)
            .unwrap();
        assert!(store.is_staff_of("tara", "cs101").unwrap());
        assert!(!store.is_staff_of("tara", "cs225").unwrap());
        store
            .add_staff_claimed("tara", Some("cs225"), 8, &[1; 32], 99)
            .unwrap();
        assert!(store.remove_staff("tara", Some("cs101")).unwrap());
        assert!(!store.is_staff_of("tara", "cs101").unwrap());
        assert!(store.is_staff_of("tara", "cs225").unwrap());
    }

    #[test]
    fn sync_flushes_the_log_only_after_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jqueue.db");
        let mut store = Store::open(&path).unwrap();
        store.load_session(&k("s1"), 0).unwrap();
        store.sync().unwrap();
        assert_eq!(store.unsynced_changes(), 0);

        store.insert_entry(&k("s1"), &entry("a", 1)).unwrap();
        store.set_open(&k("s1"), false, &[]).unwrap();
        assert_eq!(store.unsynced_changes(), 2, "committed, not yet flushed");
        store.sync().unwrap();
        assert_eq!(store.unsynced_changes(), 0);

        store.account("a").unwrap();
        store.load_session(&k("s1"), 0).unwrap();
        assert_eq!(store.unsynced_changes(), 0, "reading changes nothing");
    }

    #[test]
    fn a_log_that_cannot_be_flushed_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jqueue.db");
        let mut store = Store::open(&path).unwrap();
        store.insert_entry(&k("s1"), &entry("a", 1)).unwrap();
        let wal = dir.path().join("jqueue.db-wal");
        std::fs::remove_file(&wal).unwrap();
        let err = store.sync().unwrap_err();
        assert!(
            matches!(&err, StoreError::Sync { path, .. } if *path == wal),
            "{err}"
        );
        assert_eq!(store.unsynced_changes(), 1, "still owed a flush");
    }

    #[test]
    fn accounts_register_reset_delete() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("jqueue.db")).unwrap();
        assert_eq!(
            store.register("alice", "$h1", None, 1).unwrap(),
            Registration::Created
        );
        assert_eq!(
            store.register("alice", "$h2", None, 2).unwrap(),
            Registration::Taken
        );
        assert_eq!(
            store
                .account("alice")
                .unwrap()
                .unwrap()
                .password_phc
                .as_deref(),
            Some("$h1")
        );
        store.insert_token(&[1; 32], "alice", 1000).unwrap();
        assert_eq!(
            store.token_owner(&[1; 32], 999).unwrap().as_deref(),
            Some("alice")
        );
        assert_eq!(store.token_owner(&[1; 32], 1000).unwrap(), None, "expired");
        assert!(store.reset_password("alice", &[7; 32], 100).unwrap());
        assert!(!store.reset_password("nobody", &[7; 32], 100).unwrap());
        assert_eq!(
            store.token_owner(&[1; 32], 0).unwrap(),
            None,
            "reset revokes tokens"
        );
        assert!(store.needs_reset_code("alice").unwrap());
        for (code, now) in [(None, 3), (Some(&[8; 32]), 3), (Some(&[7; 32]), 100)] {
            assert_eq!(
                store.register("alice", "$h3", code, now).unwrap(),
                Registration::CodeRequired,
                "no code, a wrong one, or the right one too late"
            );
        }
        assert_eq!(
            store.register("alice", "$h3", Some(&[7; 32]), 99).unwrap(),
            Registration::Restored,
            "a reset account takes a new password with its code"
        );
        assert_eq!(
            store.register("alice", "$h4", Some(&[7; 32]), 99).unwrap(),
            Registration::Taken,
            "the code is used up"
        );
        assert_eq!(store.accounts().unwrap().len(), 1);
        store.insert_entry(&k("s1"), &entry("alice", 5)).unwrap();
        assert!(store.delete_account("alice").unwrap());
        assert!(
            store.load_session(&k("s1"), 6).unwrap().entries.is_empty(),
            "deleting an account takes it out of the queue"
        );
        assert!(!store.delete_account("alice").unwrap());
        assert!(store.account("alice").unwrap().is_none());
    }
}
