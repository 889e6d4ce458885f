//! The statistics view's data, as the queue's owner keeps and answers it: the
//! queue's length over the session (recorded after every burst that changed
//! the queue, seeded from the store at start) and the answer to
//! [`StaffRequest::Statistics`](jqueue_shared::staff::StaffRequest::Statistics).
//!
//! It only gathers: the figures are computed by
//! [`jqueue_core::statistics`], which also says why the length is kept
//! here and not read back from the helps table. Nothing here goes into the
//! pushed [`StaffView`](jqueue_shared::staff::StaffView): statistics are
//! asked for by the screen that shows them.

use jqueue_shared::staff::StaffOutcome;
use jqueue_shared::statistics::SessionStatistics;

use super::{QueueOwner, blocking};
use crate::store::{QueueKey, RecordFilter, Store, StoreError};
use jqueue_core::queue::{Queue, UnixMillis};
use jqueue_core::statistics::{QueueLengthHistory, TagsNow, count, session_statistics};

/// The history a (re)starting server begins with: what the store knows of
/// `session`'s queue, then the queue's length `now`.
pub(super) fn seed_history(
    store: &Store,
    key: &QueueKey,
    queue: &Queue,
    now: UnixMillis,
) -> Result<QueueLengthHistory, StoreError> {
    let records = store.help_records(&RecordFilter::queue(key))?;
    let waiting = queue.entries().map(|e| (&*e.username, e.joined_at));
    let mut history = QueueLengthHistory::seeded(&records, waiting, now);
    history.record(now, count(queue.len()));
    Ok(history)
}

/// How long an answer serves while nothing changes: the chart runs up to
/// the moment it was made.
const ANSWER_KEPT_MS: UnixMillis = 60_000;

/// The figures last worked out, and when.
#[derive(Debug)]
pub(super) struct Answered {
    at: UnixMillis,
    statistics: SessionStatistics,
}

impl QueueOwner {
    /// Notes the queue's length now (once per burst that changed it).
    pub(super) fn note_queue_length(&mut self) {
        let length = count(self.queue.len());
        self.queue_history.record(self.now_ms(), length);
    }

    /// The session's figures, as of the last staff view published. Working
    /// them out reads the session's help records (one query, a few hundred
    /// rows on the busiest day), and every screen showing the view asks
    /// again after each change: so the answer is worked out once and shared
    /// until the next staff view (which [`QueueOwner::publish`] marks by dropping
    /// it), or for a minute while nothing changes.
    pub(super) fn statistics(&mut self) -> StaffOutcome {
        let now = self.now_ms();
        let fresh = |answered: &Answered| now - answered.at < ANSWER_KEPT_MS;
        if let Some(answered) = self.statistics.as_ref().filter(|a| fresh(a)) {
            return StaffOutcome::Statistics(Box::new(answered.statistics.clone()));
        }
        let filter = RecordFilter::queue(&self.key);
        let records = match blocking(|| self.store.help_records(&filter)) {
            Ok(records) => records,
            Err(e) => {
                return StaffOutcome::Failed {
                    reason: e.to_string(),
                };
            }
        };
        let helped = self.queue.helped_count();
        // Every waiting question's tag, not only the staff view's rows: a
        // count asked for, once per change at most.
        let waiting: Vec<&str> = self
            .queue
            .entries()
            .filter_map(|e| e.tag.as_deref())
            .collect();
        let tags = TagsNow {
            declared: &self.config.tags,
            waiting: &waiting,
        };
        let statistics = session_statistics(
            &self.key.session,
            &self.queue_history,
            &records,
            helped,
            tags,
            now,
        );
        self.statistics = Some(Answered {
            at: now,
            statistics: statistics.clone(),
        });
        StaffOutcome::Statistics(Box::new(statistics))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use jqueue_shared::staff::{StaffOutcome, StaffRequest};
    use jqueue_shared::statistics::{SessionStatistics, WaitBucket};

    use tokio::time::Instant;

    use crate::ServerHandle;
    use crate::clock::Clock;
    use crate::config::ServerConfig;

    /// 2026-11-21T10:00:00Z.
    const START: i64 = 1_795_255_200_000;
    const MIN: i64 = 60_000;

    fn config(dir: &std::path::Path, clock: Clock) -> ServerConfig {
        let mut config = ServerConfig::new(dir.to_path_buf(), "s".into());
        config.clock = clock;
        config.professor = "prof".into();
        // Dan, marked not here, keeps his place past the end of the test.
        config.away_grace = Duration::from_secs(3600);
        config
    }

    /// Moves the paused clock on to `minute` minutes after the start.
    async fn at_minute(start: Instant, minute: u64) {
        let target = start + Duration::from_secs(minute * 60);
        tokio::time::advance(target.saturating_duration_since(Instant::now())).await;
    }

    async fn statistics(handle: &ServerHandle) -> SessionStatistics {
        match handle.professor(StaffRequest::Statistics).await {
            StaffOutcome::Statistics(statistics) => *statistics,
            other => panic!("{other:?}"),
        }
    }

    /// The series as (minute, length) at each change.
    fn changes(statistics: &SessionStatistics) -> Vec<(i64, u32)> {
        let mut out: Vec<(i64, u32)> = Vec::new();
        for p in &statistics.queue_length {
            if out.last().is_none_or(|&(_, length)| length != p.length) {
                out.push(((p.at - START) / MIN, p.length));
            }
        }
        out
    }

    fn waits(statistics: &SessionStatistics) -> Vec<u32> {
        statistics
            .waits
            .iter()
            .map(|b: &WaitBucket| b.helps)
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_scripted_session_gives_the_right_figures_and_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        crate::store::Store::open(&dir.path().join("jqueue.db"))
            .unwrap()
            .add_staff("tess", 0)
            .unwrap();
        let start = Instant::now();
        let clock = Clock::tokio_from(START);
        let server = crate::Server::start(config(dir.path(), clock)).unwrap();
        let handle = server.handle();

        handle.join_from_the_lab("amy").await;
        at_minute(start, 1).await;
        handle.join_from_the_lab("bea").await;
        at_minute(start, 2).await;
        handle.join_from_the_lab("cal").await;
        at_minute(start, 3).await;
        let first = handle
            .professor(StaffRequest::Serve { student: None })
            .await;
        assert!(matches!(first, StaffOutcome::Served { ref student, .. } if student == "amy"));
        at_minute(start, 4).await;
        handle.cancel(Arc::from("cal")).await.unwrap();
        at_minute(start, 8).await;
        // Ends amy's help (5 min) and serves bea (waited 7 min).
        handle
            .professor(StaffRequest::Serve { student: None })
            .await;
        // Amy helped, bea being helped: the header's 2 helped, and the
        // statistics' too (one definition, helps in progress included).
        let helping = statistics(&handle).await;
        assert_eq!(helping.totals.helped, 2);
        assert_eq!(
            helping.totals.helped,
            handle.staff_views().borrow().helped_count
        );
        at_minute(start, 9).await;
        handle.join_from_the_lab("dan").await;
        at_minute(start, 21).await;
        handle
            .staff("tess", false, StaffRequest::Serve { student: None })
            .await;
        at_minute(start, 22).await;
        let not_here = handle.staff("tess", false, StaffRequest::NotHere).await;
        assert!(matches!(not_here, StaffOutcome::MarkedNotHere { .. }));
        at_minute(start, 25).await;
        // Bea's help took 17 min.
        handle.professor(StaffRequest::Finish).await;
        at_minute(start, 30).await;

        let live = statistics(&handle).await;
        assert_eq!(live.now, START + 30 * MIN);
        assert_eq!(live.step_ms, 15_000);
        assert_eq!(live.queue_length.len(), 120);
        assert_eq!(live.queue_length[0].at, START);
        assert_eq!(
            changes(&live),
            [
                (0, 1),
                (1, 2),
                (2, 3),
                (3, 2),
                (4, 1),
                (8, 0),
                (9, 1),
                (21, 0),
                (22, 1)
            ],
            "cal's cancel shows"
        );
        // Waits: amy 3 min, bea 7, dan 12 (not here is still a wait for help).
        assert_eq!(waits(&live), [1, 1, 1, 0, 0, 0]);
        let t = live.totals;
        assert_eq!((t.helped, t.not_here, t.removed), (2, 1, 0));
        assert_eq!(
            (t.median_wait_secs, t.p90_wait_secs),
            (Some(7 * 60), Some(12 * 60))
        );
        let staff: Vec<_> = live
            .staff
            .iter()
            .map(|s| (s.staff.as_str(), s.helped, s.not_here, s.median_help_secs))
            .collect();
        // Prof's helps took 5 and 17 min: the nearest-rank median is 5.
        assert_eq!(staff, [("prof", 2, 0, Some(5 * 60)), ("tess", 0, 1, None)]);

        // A second server on the same data: the chart comes back from the
        // store, without cal (a cancel leaves no record) and with dan
        // waiting from his join on (his help was a not-here).
        drop(server);
        let restarted = crate::Server::start(config(dir.path(), clock)).unwrap();
        let seeded = statistics(&restarted.handle()).await;
        assert_eq!(changes(&seeded), [(0, 1), (1, 2), (3, 1), (8, 0), (9, 1)]);
        assert_eq!(waits(&seeded), waits(&live));
        assert_eq!(seeded.staff, live.staff);
    }

    /// Every screen showing the figures asks again after each change, so
    /// one answer serves them all until the next staff view, or a minute
    /// while nothing changes; never an answer older than a change.
    #[tokio::test(start_paused = true)]
    async fn one_answer_serves_every_screen_until_something_changes() {
        let dir = tempfile::tempdir().unwrap();
        let start = Instant::now();
        let server = crate::Server::start(config(dir.path(), Clock::tokio_from(START))).unwrap();
        let handle = server.handle();
        handle.join_from_the_lab("amy").await;
        let first = statistics(&handle).await;
        at_minute(start, 0).await;
        tokio::time::advance(Duration::from_secs(30)).await;
        // Half a minute on, nothing changed: the same answer, as of then.
        assert_eq!(statistics(&handle).await, first);
        // A change publishes a staff view: the next answer shows it.
        handle.join_from_the_lab("bea").await;
        let after_join = statistics(&handle).await;
        assert_eq!(after_join.now, START + 30_000);
        assert_eq!(changes(&after_join), [(0, 1), (0, 2)]);
        // A minute with no change: worked out again, up to the new now.
        at_minute(start, 2).await;
        assert_eq!(statistics(&handle).await.now, START + 2 * MIN);
    }
}
