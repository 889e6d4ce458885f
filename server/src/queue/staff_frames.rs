//! The latest staff view as a frame, encoded once for every staff screen on
//! the network: with a room of TAs, cloning and encoding the view once per
//! screen was most of what a change cost them. The queue's owner seeds it with the
//! frame it made while fitting the view under the decoder's bound, so a
//! published view is encoded exactly once; a view nobody seeded (a staff
//! screen's first, built for it) is encoded by the first screen to send it.

use std::sync::{Arc, Mutex, PoisonError};

use jqueue_shared::ServerMsg;
use jqueue_shared::codec::{FrameError, encode_frame};
use jqueue_shared::staff::StaffView;

/// A staff view and its frame.
type EncodedStaffView = (Arc<StaffView>, Arc<[u8]>);

#[derive(Debug, Default)]
pub(crate) struct StaffFrames {
    latest: Mutex<Option<EncodedStaffView>>,
}

impl StaffFrames {
    /// Keeps `frame` as `view`'s, for every screen that sends it.
    pub(crate) fn remember(&self, view: &Arc<StaffView>, frame: Arc<[u8]>) {
        *self.latest.lock().unwrap_or_else(PoisonError::into_inner) = Some((view.clone(), frame));
    }

    /// `view`'s frame: the one already made, if `view` is the latest.
    /// Encoding under the lock is deliberate: the other screens woken by
    /// the same change wait for it and then share it.
    pub(crate) fn frame(&self, view: &Arc<StaffView>) -> Result<Arc<[u8]>, FrameError> {
        let mut latest = self.latest.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((seen, frame)) = latest.as_ref()
            && Arc::ptr_eq(seen, view)
        {
            return Ok(frame.clone());
        }
        let frame: Arc<[u8]> =
            encode_frame(&ServerMsg::StaffView(Box::new((**view).clone())))?.into();
        *latest = Some((view.clone(), frame.clone()));
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_staff_screen_shares_one_frame_per_view() {
        let frames = StaffFrames::default();
        let first = Arc::new(StaffView {
            waiting: 3,
            ..StaffView::default()
        });
        let a = frames.frame(&first).unwrap();
        let b = frames.frame(&first).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "encoded once");
        assert_eq!(
            &a[..],
            &encode_frame(&ServerMsg::StaffView(Box::new((*first).clone()))).unwrap()[..]
        );
        // An equal view that is a new publication is a new frame: the cache
        // goes by identity, never by a comparison that could mistake views.
        let next = Arc::new((*first).clone());
        assert!(!Arc::ptr_eq(&frames.frame(&next).unwrap(), &a));
    }

    #[test]
    fn a_remembered_frame_is_sent_as_it_is() {
        let frames = StaffFrames::default();
        let view = Arc::new(StaffView::default());
        let made: Arc<[u8]> = encode_frame(&ServerMsg::StaffView(Box::new((*view).clone())))
            .unwrap()
            .into();
        frames.remember(&view, made.clone());
        assert!(Arc::ptr_eq(&frames.frame(&view).unwrap(), &made));
    }
}
