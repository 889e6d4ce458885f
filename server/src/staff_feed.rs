//! What one staff screen follows: the queues its staff member serves, the
//! one it shows (or all of them as one, [`StaffView::merged`]) and its
//! queue bar. The professor's screen and a TA's connection both follow
//! their queues through a [`StaffFeed`], so both show the same views and
//! the same bar, made the same way.
//!
//! A feed does not decide who is staff: it is given the queues (the
//! professor's: all of them; a TA's: those of the courses they staff,
//! checked by the caller), and every request is checked again by the
//! queue's own handle. With one queue it is the queue's own watch and
//! nothing more, so a one-queue server's staff screens cost what they did.

use std::sync::Arc;

use jqueue_shared::codec::{FrameError, encode_frame};
use jqueue_shared::staff::StaffView;
use jqueue_shared::{QueueChoice, ServerMsg};
use tokio::sync::watch;

use crate::ServerHandle;
use crate::any_changed::{AnyChanged, Closed};

/// The queues one staff screen follows, and the one it shows.
#[derive(Debug)]
pub struct StaffFeed {
    handle: ServerHandle,
    /// The queues followed, as places in the server's list, in its order:
    /// the bar's order.
    queues: Vec<usize>,
    /// The one shown, as a place in `queues`; `None`: all of them.
    shown: Option<usize>,
    /// One watch per followed queue.
    views: Vec<watch::Receiver<Arc<StaffView>>>,
    /// With several queues: told whenever any of them publishes.
    news: Option<AnyChanged>,
    /// The bar as last given out, to give it again only when it changes
    /// (emptied to give it again).
    bar: Vec<QueueChoice>,
    /// A bar has been given out.
    bar_given: bool,
    /// The view [`Self::view_news`] last gave out.
    last_view: Option<Arc<StaffView>>,
}

impl StaffFeed {
    /// Follows `queues` (places in the server's list, in its order),
    /// showing `shown` (a place in the server's list, which should be among
    /// them; else the first is shown).
    pub fn new(handle: &ServerHandle, queues: Vec<usize>, shown: usize) -> Self {
        assert!(
            !queues.is_empty(),
            "a staff screen follows at least one queue"
        );
        let views: Vec<_> = queues
            .iter()
            .map(|&i| handle.on_queue(i).staff_views())
            .collect();
        let news = (queues.len() > 1).then(|| AnyChanged::new(views.iter().cloned()));
        let shown = queues.iter().position(|&i| i == shown).unwrap_or(0);
        Self {
            handle: handle.clone(),
            queues,
            shown: Some(shown),
            views,
            news,
            bar: Vec::new(),
            bar_given: false,
            last_view: None,
        }
    }

    /// The professor's feed: every queue on the server, showing the first.
    pub fn every_queue(handle: &ServerHandle) -> Self {
        let count = handle.queue_configs().count();
        Self::new(handle, (0..count).collect(), handle.queue_index())
    }

    /// Resolves when a followed queue's view has moved since
    /// [`Self::view`] last looked; `Err` once the queues have stopped.
    pub async fn changed(&mut self) -> Result<(), Closed> {
        match &mut self.news {
            None => Ok(self.views[0].changed().await?),
            Some(news) => news.changed().await,
        }
    }

    /// The view to show now: the queue shown's, or all of them merged.
    /// Marks every followed view as seen.
    pub fn view(&mut self) -> Arc<StaffView> {
        let views: Vec<Arc<StaffView>> = self
            .views
            .iter_mut()
            .map(|views| views.borrow_and_update().clone())
            .collect();
        if let Some(place) = self.shown {
            return views[place].clone();
        }
        let named: Vec<(String, &StaffView)> = self
            .queues
            .iter()
            .zip(&views)
            .map(|(&i, view)| (queue_name(&self.handle, i), view.as_ref()))
            .collect();
        Arc::new(StaffView::merged(&named))
    }

    /// The view to show, if it is not the one this returned last: another
    /// queue's change moves the bar, not the queue shown.
    pub fn view_news(&mut self) -> Option<Arc<StaffView>> {
        let view = self.view();
        if self
            .last_view
            .as_ref()
            .is_some_and(|last| Arc::ptr_eq(last, &view))
        {
            return None;
        }
        self.last_view = Some(view.clone());
        Some(view)
    }

    /// `view` (from [`Self::view`]) as a frame: one queue's is encoded once
    /// for all its staff screens; a merged view is this screen's own.
    pub fn frame(&self, view: &Arc<StaffView>) -> Result<Arc<[u8]>, FrameError> {
        match self.shown_queue() {
            Some(queue) => queue.staff_frame(view),
            None => Ok(encode_frame(&ServerMsg::StaffView(Box::new((**view).clone())))?.into()),
        }
    }

    /// Whether the screen has a queue bar: it follows several queues.
    pub fn has_bar(&self) -> bool {
        self.queues.len() > 1
    }

    /// The queue bar now (empty with one queue), and the one shown as a
    /// place on it.
    pub fn bar(&self) -> (Vec<QueueChoice>, Option<usize>) {
        if !self.has_bar() {
            return (Vec::new(), self.shown);
        }
        let queues = self
            .queues
            .iter()
            .map(|&i| queue_choice(&self.handle.on_queue(i)))
            .collect();
        (queues, self.shown)
    }

    /// The bar, if it differs from the one last returned here (never with
    /// one queue): what a connection sends after a change.
    pub fn bar_news(&mut self) -> Option<(Vec<QueueChoice>, Option<usize>)> {
        let (bar, shown) = self.bar();
        if bar == self.bar {
            return None;
        }
        self.bar.clone_from(&bar);
        self.bar_given = true;
        Some((bar, shown))
    }

    /// Whether [`Self::bar_news`] has given out a bar yet.
    pub fn bar_given(&self) -> bool {
        self.bar_given
    }

    /// Shows the queue at `place` on the bar, or with `None` all of them.
    /// A place past the bar's end changes nothing.
    pub fn show(&mut self, place: Option<usize>) {
        if place.is_none_or(|p| p < self.queues.len()) {
            self.shown = place;
            // The bar's highlight moved: give it out again.
            self.bar.clear();
        }
    }

    /// Shows the queue named `name` (`cs101/lab`), or with `None` all of
    /// them; `false` if this screen does not follow a queue of that name.
    pub fn show_named(&mut self, name: Option<&str>) -> bool {
        let place = match name {
            None => None,
            Some(name) => match self.place_of(name) {
                Some(place) => Some(place),
                None => return false,
            },
        };
        self.show(place);
        true
    }

    /// The queues this feed follows (places in the server's list, in its
    /// order).
    pub fn followed(&self) -> &[usize] {
        &self.queues
    }

    /// Whether this feed follows exactly `queues` (places in the server's
    /// list, in its order).
    pub fn follows(&self, queues: &[usize]) -> bool {
        self.queues == queues
    }

    /// The queue shown as a place in the server's list; `None`: all.
    pub fn shown_index(&self) -> Option<usize> {
        self.shown.map(|place| self.queues[place])
    }

    /// The queue shown, when one is (the professor's screen acts on it).
    pub fn shown_queue(&self) -> Option<ServerHandle> {
        self.shown
            .map(|place| self.handle.on_queue(self.queues[place]))
    }

    /// The handle of the queue named `name` (`cs101/lab`), if this screen
    /// follows it.
    pub fn named_queue(&self, name: &str) -> Option<ServerHandle> {
        self.place_of(name)
            .map(|place| self.handle.on_queue(self.queues[place]))
    }

    fn place_of(&self, name: &str) -> Option<usize> {
        self.queues
            .iter()
            .position(|&i| queue_name(&self.handle, i) == name)
    }
}

fn queue_name(handle: &ServerHandle, index: usize) -> String {
    crate::department::queue_name(handle.on_queue(index).queue_config())
}

/// How a queue is offered to someone choosing one (a student's chooser,
/// a staff screen's bar): its names, and how it stands (from its latest
/// staff view).
pub fn queue_choice(queue: &ServerHandle) -> QueueChoice {
    let config = queue.queue_config();
    let view = queue.staff_views().borrow().clone();
    let helpers = u64::try_from(view.staff_online.len().max(1)).unwrap_or(1);
    QueueChoice {
        name: crate::department::queue_name(config),
        course: config.course.clone(),
        title: config.queue_title.clone(),
        room: config.room.clone(),
        open: view.open,
        waiting: view.waiting,
        typical_wait_secs: view
            .typical_help_secs
            .map(|help| help * u64::from(view.waiting) / helpers),
        opens_at: view.opens_at,
    }
}
