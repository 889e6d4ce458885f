//! Persistence: the SQLite database in the data directory.
//!
//! The store holds accounts, session tokens (as SHA-256 digests), each
//! session's open/closed flag and queue, and every help event. Each method is
//! one transaction that is committed (WAL, `synchronous = NORMAL`) before it
//! returns, so a change the server acknowledges survives `kill -9`; a change
//! also survives a power cut once [`Store::sync`] has returned. The actor
//! calls `sync` after each burst of commands, once the students' new views
//! are on their way, so the disk's flush never delays them. The store knows
//! nothing of the queue rules; the actor calls it before changing state.

pub mod helped_log;
pub mod print;

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params};

use crate::domain::queue::{Entry, UnixMillis};

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
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
    pub entries: Vec<Entry>,
    /// Students served at least once this session, with their first serve.
    pub helped: Vec<(String, UnixMillis)>,
    /// Times of every serve this session, oldest first.
    pub serve_times: Vec<UnixMillis>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelpKind {
    Served,
    Removed,
}

impl HelpKind {
    fn as_str(self) -> &'static str {
        match self {
            HelpKind::Served => "served",
            HelpKind::Removed => "removed",
        }
    }
}

const SCHEMA: &str = "
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
";

impl Store {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // A commit is written to the log but not flushed to the disk: that is
        // `sync`'s job (and SQLite's own, at checkpoints).
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        let mut wal_path = path.as_os_str().to_owned();
        wal_path.push("-wal");
        Ok(Self {
            synced_changes: conn.total_changes(),
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

    /// Sets the password of a new account, or of one whose password was reset.
    /// Returns `false` (and changes nothing) if the account has a password.
    pub fn register(&self, username: &str, phc: &str, now: UnixMillis) -> Result<bool> {
        let changed = self.conn.execute(
            "INSERT INTO users (username, password, created_at, last_sign_in)
             VALUES (?1, ?2, ?3, ?3)
             ON CONFLICT (username) DO UPDATE SET password = excluded.password,
                                                  last_sign_in = excluded.last_sign_in
             WHERE users.password IS NULL",
            params![username, phc, now],
        )?;
        Ok(changed == 1)
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

    /// Forgets the password and revokes every token. Returns whether the
    /// account exists.
    pub fn reset_password(&mut self, username: &str) -> Result<bool> {
        let tx = self.conn.transaction()?;
        let changed = tx.execute(
            "UPDATE users SET password = NULL WHERE username = ?1",
            [username],
        )?;
        tx.execute("DELETE FROM tokens WHERE username = ?1", [username])?;
        tx.commit()?;
        Ok(changed == 1)
    }

    /// Deletes the account and its tokens. Queue history stays.
    pub fn delete_account(&mut self, username: &str) -> Result<bool> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM tokens WHERE username = ?1", [username])?;
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
    pub fn load_session(&self, session: &str, now: UnixMillis) -> Result<SessionState> {
        self.conn.execute(
            "INSERT OR IGNORE INTO sessions (name, open, created_at) VALUES (?1, 1, ?2)",
            params![session, now],
        )?;
        let open: bool = self.conn.query_row(
            "SELECT open FROM sessions WHERE name = ?1",
            [session],
            |r| r.get(0),
        )?;
        let entries = self
            .conn
            .prepare(
                "SELECT username, description, location, joined_at FROM queue
                 WHERE session = ?1 ORDER BY seq",
            )?
            .query_map([session], |row| {
                Ok(Entry {
                    username: Arc::from(row.get::<_, String>(0)?),
                    description: Arc::from(row.get::<_, String>(1)?),
                    location: Arc::from(row.get::<_, String>(2)?),
                    joined_at: row.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let helped = self
            .conn
            .prepare(
                "SELECT username, MIN(at) FROM help_events WHERE session = ?1 AND kind = 'served'
                 GROUP BY username ORDER BY MIN(at), username",
            )?
            .query_map([session], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let serve_times = self
            .conn
            .prepare(
                "SELECT at FROM help_events WHERE session = ?1 AND kind = 'served' ORDER BY id",
            )?
            .query_map([session], |row| row.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(SessionState {
            open,
            entries,
            helped,
            serve_times,
        })
    }

    pub fn set_open(&self, session: &str, open: bool) -> Result<()> {
        self.conn.execute(
            "UPDATE sessions SET open = ?2 WHERE name = ?1",
            params![session, open],
        )?;
        Ok(())
    }

    pub fn insert_entry(&self, session: &str, entry: &Entry) -> Result<()> {
        self.conn.execute(
            "INSERT INTO queue (session, username, description, location, joined_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                session,
                &*entry.username,
                &*entry.description,
                &*entry.location,
                entry.joined_at
            ],
        )?;
        Ok(())
    }

    /// Takes a student out of the queue (they cancelled).
    pub fn delete_entry(&self, session: &str, username: &str) -> Result<()> {
        self.conn.execute(
            "DELETE FROM queue WHERE session = ?1 AND username = ?2",
            params![session, username],
        )?;
        Ok(())
    }

    /// Takes a student out of the queue and records why, in one transaction.
    pub fn record_help(
        &mut self,
        session: &str,
        entry: &Entry,
        kind: HelpKind,
        at: UnixMillis,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "DELETE FROM queue WHERE session = ?1 AND username = ?2",
            params![session, &*entry.username],
        )?;
        tx.execute(
            "INSERT INTO help_events (session, username, kind, at, joined_at, description, location)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                session,
                &*entry.username,
                kind.as_str(),
                at,
                entry.joined_at,
                &*entry.description,
                &*entry.location
            ],
        )?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, at: UnixMillis) -> Entry {
        Entry {
            username: name.into(),
            description: "d".into(),
            location: "l".into(),
            joined_at: at,
        }
    }

    #[test]
    fn session_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jqueue.db");
        {
            let mut store = Store::open(&path).unwrap();
            let s = store.load_session("s1", 0).unwrap();
            assert!(s.open && s.entries.is_empty());
            for (i, n) in ["a", "b", "c"].iter().enumerate() {
                store.insert_entry("s1", &entry(n, i as i64)).unwrap();
            }
            assert!(
                store.insert_entry("s1", &entry("a", 9)).is_err(),
                "one entry per student"
            );
            store
                .record_help("s1", &entry("a", 0), HelpKind::Served, 100)
                .unwrap();
            store
                .record_help("s1", &entry("c", 2), HelpKind::Removed, 110)
                .unwrap();
            store.delete_entry("s1", "zzz").unwrap();
            store.set_open("s1", false).unwrap();
            store.insert_entry("s2", &entry("a", 5)).unwrap();
        }
        let store = Store::open(&path).unwrap();
        let s = store.load_session("s1", 0).unwrap();
        assert!(!s.open);
        assert_eq!(s.entries, vec![entry("b", 1)]);
        assert_eq!(s.helped, vec![("a".to_string(), 100)]);
        assert_eq!(s.serve_times, vec![100]);
        assert_eq!(store.load_session("s2", 0).unwrap().entries.len(), 1);
    }

    #[test]
    fn sync_flushes_the_log_only_after_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jqueue.db");
        let mut store = Store::open(&path).unwrap();
        store.load_session("s1", 0).unwrap();
        store.sync().unwrap();
        assert_eq!(store.unsynced_changes(), 0);

        store.insert_entry("s1", &entry("a", 1)).unwrap();
        store.set_open("s1", false).unwrap();
        assert_eq!(store.unsynced_changes(), 2, "committed, not yet flushed");
        store.sync().unwrap();
        assert_eq!(store.unsynced_changes(), 0);

        store.account("a").unwrap();
        store.load_session("s1", 0).unwrap();
        assert_eq!(store.unsynced_changes(), 0, "reading changes nothing");
    }

    #[test]
    fn a_log_that_cannot_be_flushed_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jqueue.db");
        let mut store = Store::open(&path).unwrap();
        store.insert_entry("s1", &entry("a", 1)).unwrap();
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
        assert!(store.register("alice", "$h1", 1).unwrap());
        assert!(!store.register("alice", "$h2", 2).unwrap(), "taken");
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
        assert!(store.reset_password("alice").unwrap());
        assert_eq!(
            store.token_owner(&[1; 32], 0).unwrap(),
            None,
            "reset revokes tokens"
        );
        assert!(
            store.register("alice", "$h3", 3).unwrap(),
            "a reset account takes a new password"
        );
        assert_eq!(store.accounts().unwrap().len(), 1);
        assert!(store.delete_account("alice").unwrap());
        assert!(!store.delete_account("alice").unwrap());
        assert!(store.account("alice").unwrap().is_none());
    }
}
