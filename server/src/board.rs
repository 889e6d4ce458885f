//! The server's board: every queue's figures as a lab's wall shows them
//! ([`WallView`]), built once per change by one task and shared (`Arc`)
//! with every viewer — the terminal walls (`net::wall`) and the web
//! page (`http`). A thousand viewers cost one build per change and a send
//! each, not a thousand builds; and a burst of changes is one board (see
//! [`BOARD_EVERY`]).
//!
//! The board holds everything any viewer may see, the presence codes
//! included: it is not itself something to show. Each viewer picks its
//! queues and what it may see with [`Board::for_wall`] (the code only in
//! the room) or its own filter (the web page carries neither names nor
//! codes). The task reads the queues' published staff views and never
//! asks a queue owner anything, so a viewer can never hold one up.

use std::sync::Arc;
use std::time::Duration;

use jqueue_shared::wall::{WallQueue, WallView};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::ServerHandle;
use crate::any_changed::AnyChanged;

/// The least time between two boards. A change shows on every wall and
/// page within it; a burst of changes inside it is one board. Without it
/// every viewer would get a send per change, as a student does, and a
/// thousand viewers would double the work of a busy queue's changes.
pub const BOARD_EVERY: Duration = Duration::from_millis(250);

/// The board of every queue on the server, in the config's order: one
/// panel per queue, with its presence code (see [`Board::for_wall`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Board {
    pub queues: Vec<WallQueue>,
    /// Counts the boards published, from 0: a wall is never sent one older
    /// than it has (see `net::wall`).
    pub version: u64,
}

impl Board {
    /// Every queue's panel now, from its latest staff view.
    pub fn build(handle: &ServerHandle) -> Self {
        let queues = (0..handle.queue_configs().count())
            .map(|index| panel(&handle.on_queue(index)))
            .collect();
        Self { queues, version: 0 }
    }

    /// What a wall showing the queues at `indices` (places in the
    /// server's list) sees: each with its presence code only where
    /// `in_room` (one flag per index) says the wall is in that queue's
    /// room.
    pub fn for_wall(&self, indices: &[usize], in_room: &[bool]) -> WallView {
        let queues = indices
            .iter()
            .zip(in_room)
            .filter_map(|(&index, &in_room)| {
                let mut queue = self.queues.get(index)?.clone();
                if !in_room {
                    queue.presence_code = None;
                }
                Some(queue)
            })
            .collect();
        WallView { queues }
    }
}

/// One queue's panel, code included.
fn panel(queue: &ServerHandle) -> WallQueue {
    let view = queue.staff_views().borrow().clone();
    let on_duty = match &view.duty {
        Some(duty) => duty.on.iter().map(|on| on.staff.clone()).collect(),
        None => view.staff_online.clone(),
    };
    WallQueue {
        queue: crate::staff_feed::queue_choice(queue),
        being_helped: u32::try_from(view.helps.len()).unwrap_or(u32::MAX),
        closes_at: view.closes_at,
        on_duty,
        announcement: view.announcement.clone(),
        presence_code: view.presence_code.clone(),
    }
}

/// Starts the one task that keeps the board: it follows every queue's
/// staff view and publishes a new board only when the board differs (a
/// staff view moves for many reasons a wall does not show), so a viewer
/// woken by it always has something new, and at most once per
/// [`BOARD_EVERY`]. The task stops when the queues'
/// owners have all stopped or the returned set is dropped.
pub(crate) fn spawn(handle: &ServerHandle) -> (watch::Receiver<Arc<Board>>, JoinSet<()>) {
    let (publish, board) = watch::channel(Arc::new(Board::build(handle)));
    let handle = handle.clone();
    let mut changed = AnyChanged::new(
        (0..handle.queue_configs().count()).map(|i| handle.on_queue(i).staff_views()),
    );
    let mut task = JoinSet::new();
    task.spawn(async move {
        while changed.changed().await.is_ok() {
            let mut next = Board::build(&handle);
            let published = publish.send_if_modified(|shown| {
                if shown.queues == next.queues {
                    return false;
                }
                next.version = shown.version + 1;
                *shown = Arc::new(next);
                true
            });
            if published {
                // Changes until then wait and make one board (`changed`
                // holds at most one notice): a board is read from across
                // a room, and a burst of joins is one redraw, not a
                // send per join to every viewer.
                tokio::time::sleep(BOARD_EVERY).await;
            }
        }
    });
    (board, task)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jqueue_shared::QueueChoice;

    fn panel(name: &str, code: &str) -> WallQueue {
        WallQueue {
            queue: QueueChoice {
                name: name.into(),
                course: "CS 101".into(),
                title: None,
                room: None,
                open: true,
                waiting: 2,
                typical_wait_secs: None,
                opens_at: None,
            },
            being_helped: 0,
            closes_at: None,
            on_duty: vec!["ta".into()],
            announcement: None,
            presence_code: Some(code.into()),
        }
    }

    /// One build per change, published only when the board differs: the
    /// same announcement again moves the staff view (its activity pane),
    /// not the board, and wakes no viewer.
    #[tokio::test(start_paused = true)]
    async fn the_board_is_published_when_it_changes_and_only_then() {
        let dir = tempfile::tempdir().unwrap();
        let server =
            crate::Server::start(crate::ServerConfig::new(dir.path().join("d"), "s".into()))
                .unwrap();
        let handle = server.handle();
        let (mut board, _task) = spawn(&handle);
        let mut views = handle.staff_views();
        assert_eq!(board.borrow_and_update().queues[0].announcement, None);

        let announce = || {
            handle.professor(jqueue_shared::staff::StaffRequest::Announce {
                text: "Back at 3".into(),
            })
        };
        announce().await;
        board.changed().await.unwrap();
        assert_eq!(
            board.borrow_and_update().queues[0].announcement.as_deref(),
            Some("Back at 3")
        );
        views.borrow_and_update();

        announce().await;
        views.changed().await.unwrap();
        // The staff view moved. Paused, the clock moves on only once every
        // task (the board's too) has nothing left to do: by then a board
        // would have been published.
        let settled = tokio::time::timeout(std::time::Duration::from_secs(1), board.changed());
        assert!(settled.await.is_err(), "the same board was published again");
    }

    #[test]
    fn a_wall_gets_its_queues_in_its_order_and_a_code_only_in_the_room() {
        let board = Board {
            queues: vec![
                panel("a/x", "111111"),
                panel("b/y", "222222"),
                panel("c/z", "333333"),
            ],
            version: 0,
        };
        let view = board.for_wall(&[2, 0], &[false, true]);
        let shown: Vec<(&str, Option<&str>)> = view
            .queues
            .iter()
            .map(|q| (q.queue.name.as_str(), q.presence_code.as_deref()))
            .collect();
        assert_eq!(shown, [("c/z", None), ("a/x", Some("111111"))]);
        // The shared board is untouched by what one wall may not see.
        assert_eq!(board.queues[2].presence_code.as_deref(), Some("333333"));
    }
}
