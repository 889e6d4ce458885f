//! A student's places in other queues than their connection's, on a server
//! of several courses (a student may wait in a queue of each of their
//! courses at once): found in those queues' published snapshots (no owner
//! is asked), followed while they last, and told to the client as
//! [`ServerMsg::Elsewhere`], one line per place on the student's screen
//! and one per place in `jqueue status`.
//!
//! A one-queue server never looks, and a student with no place elsewhere
//! costs the connection one empty word: only students waiting in several
//! queues have a [`Elsewhere`], and only their connections wake for
//! another queue's changes.

#[allow(clippy::wildcard_imports)]
use super::*;

use jqueue_shared::{PlaceElsewhere, QueueView};

use crate::any_changed::AnyChanged;

/// The queues, other than the connection's, where its student has a place,
/// followed; and what the client was last told of them.
#[derive(Debug)]
pub(super) struct Elsewhere {
    /// Places in the server's list, in its order.
    queues: Vec<usize>,
    /// Wakes when one of their snapshots changes.
    pub(super) changed: AnyChanged,
    told: Vec<PlaceElsewhere>,
}

impl Handler {
    /// Looks for the student's places in every other queue (at sign-in,
    /// at each heartbeat, after each of their requests: a place made from
    /// another terminal shows within a heartbeat), follows those it finds,
    /// and tells the client if what it knows changed.
    pub(super) async fn look_elsewhere(
        &mut self,
        student: StudentKey,
        username: &str,
    ) -> HandlerResult<()> {
        let queues = &self.shared.handle.queues;
        if queues.len() < 2 {
            return Ok(());
        }
        let found: Vec<usize> = (0..queues.len())
            .filter(|&i| {
                Some(i) != self.queue
                    && (queues[i].snapshots.borrow().has_place(student)
                        || helped_by(&queues[i], username).is_some())
            })
            .collect();
        let following = self.elsewhere.as_ref().map(|e| e.queues.as_slice());
        if following != Some(found.as_slice()) && !(following.is_none() && found.is_empty()) {
            let told = self.elsewhere.take().map(|e| e.told).unwrap_or_default();
            // The staff views too: a place that leaves the line may be the
            // student's turn, which only they say; they are published after
            // the snapshot of the same change, so waking on either sees both.
            let changed = AnyChanged::of_kinds(|follow| {
                follow.watches(found.iter().map(|&i| queues[i].snapshots.clone()));
                follow.watches(found.iter().map(|&i| queues[i].handle.staff_views()));
            });
            self.elsewhere = Some(Box::new(Elsewhere {
                queues: found,
                changed,
                told,
            }));
        }
        self.tell_elsewhere(student, username).await
    }

    /// Tells the client where the student stands in the other queues it
    /// follows, if that changed since it was last told; stops following
    /// once there is nothing left to tell.
    pub(super) async fn tell_elsewhere(
        &mut self,
        student: StudentKey,
        username: &str,
    ) -> HandlerResult<()> {
        let Some(elsewhere) = self.elsewhere.as_mut() else {
            return Ok(());
        };
        let now = self.shared.handle.now_ms();
        let queues = &self.shared.handle.queues;
        let places: Vec<PlaceElsewhere> = elsewhere
            .queues
            .iter()
            .filter_map(|&i| {
                let snapshot = queues[i].snapshots.borrow().clone();
                let helped_by = helped_by(&queues[i], username);
                (snapshot.has_place(student) || helped_by.is_some()).then(|| PlaceElsewhere {
                    queue: crate::department::queue_name(&queues[i].config),
                    view: snapshot.head_for(student, now),
                    helped_by,
                })
            })
            .collect();
        // The clock in each view moves on every time: not news by itself.
        let news = places.len() != elsewhere.told.len()
            || places.iter().zip(&elsewhere.told).any(|(new, old)| {
                new.queue != old.queue
                    || new.helped_by != old.helped_by
                    || QueueView {
                        now_ms: old.view.now_ms,
                        ..new.view.clone()
                    } != old.view
            });
        if places.is_empty() {
            self.elsewhere = None;
        } else {
            elsewhere.told.clone_from(&places);
        }
        if news {
            self.send(&ServerMsg::Elsewhere { places }).await?;
        }
        Ok(())
    }
}

/// Who is helping `username` in `queue` (a group's member too), from its
/// latest staff view.
fn helped_by(queue: &crate::handle::QueueSlot, username: &str) -> Option<String> {
    let view = queue.handle.staff_views();
    let view = view.borrow();
    view.helps
        .iter()
        .find(|h| h.student == username || h.with.iter().any(|w| w == username))
        .map(|h| h.staff.clone())
}

/// Resolves when another queue where the student has a place changes;
/// never without one.
pub(super) async fn changed_elsewhere(elsewhere: Option<&mut Box<Elsewhere>>) {
    match elsewhere {
        Some(elsewhere) => {
            if elsewhere.changed.changed().await.is_err() {
                // Those queues have stopped: the server is going.
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}
