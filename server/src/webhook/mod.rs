//! Webhooks (`webhook = "URL"` per queue, DESIGN §18): a POST to a
//! receiver — the course's chat channel, the department's alerting — when a
//! queue opens or closes, when its line grows past `webhook-backlog`, and
//! when students wait with nobody on duty signed in.
//!
//! One task per server ([`spawn`]) follows the staff views the queues
//! already publish, as a wall does; it never runs on a queue's owner and
//! never makes one wait. What counts as an event is [`events`]'; getting it
//! to the receiver (a bounded line, timeouts, tries with back-off, the
//! signature) is [`delivery`]'s. Nothing personal is ever sent: figures,
//! ids and titles only.

pub mod delivery;
pub mod events;

use std::sync::Arc;

use hyper::Uri;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::ServerHandle;
use crate::any_changed::AnyChanged;
use delivery::{Delivery, HttpTransport, Outgoing, RetryPolicy, Target, Transport};
use events::{EventBody, Figures, QueueLabel, Watcher};

/// A queue's webhook: `webhook`, `webhook-secret` and `webhook-backlog`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Where to POST (its `Debug` shows only the host), and the secret
    /// the body is signed with.
    pub target: Target,
    /// Post when the waiting count goes over this.
    pub backlog: Option<u32>,
}

/// `--webhook`'s value: an absolute http or https URL.
pub fn parse_url(text: &str) -> Result<Uri, String> {
    let url: Uri = text
        .parse()
        .map_err(|e| format!("not a URL ({e}): a webhook is an http:// or https:// URL"))?;
    match url.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err("a webhook is an http:// or https:// URL".to_owned()),
    }
    if url.host().is_none_or(str::is_empty) {
        return Err("the webhook URL has no host".to_owned());
    }
    Ok(url)
}

/// The webhook task: stops (with its deliveries) when dropped.
#[derive(Debug)]
pub struct Webhooks {
    task: tokio::task::AbortHandle,
}

impl Drop for Webhooks {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts following the server's queues that have a webhook, from where
/// they stand now; `None` when none has. [`crate::Server::start`] calls it.
pub fn spawn(handle: &ServerHandle) -> Option<Webhooks> {
    let any = handle
        .queue_configs()
        .any(|config| config.webhook.is_some());
    any.then(|| spawn_with(handle, &HttpTransport::new(&[]), RetryPolicy::default()))
}

/// [`spawn`] over `transport`, trying as `policy` says.
pub fn spawn_with(
    handle: &ServerHandle,
    transport: &impl Transport,
    policy: RetryPolicy,
) -> Webhooks {
    let mut senders = JoinSet::new();
    let mut hooked: Vec<Hooked> = (0..handle.queue_configs().count())
        .map(|index| handle.on_queue(index))
        .filter_map(|queue| {
            let webhook = queue.queue_config().webhook.clone()?;
            let outgoing = Arc::new(Outgoing::default());
            senders.spawn(delivery::deliver(
                outgoing.clone(),
                webhook.target.clone(),
                transport.clone(),
                policy,
            ));
            Some(Hooked {
                label: QueueLabel::of(queue.queue_config()),
                watcher: Watcher::new(webhook.backlog),
                backlog: webhook.backlog,
                queue,
                outgoing,
            })
        })
        .collect();
    // Where each queue stands now is the baseline, taken here rather than
    // on the task: a change made before the task first runs is an event.
    let changed = AnyChanged::new(hooked.iter().map(|h| h.queue.staff_views()));
    for queue in &mut hooked {
        queue.look();
    }
    let task = tokio::spawn(follow(hooked, changed, senders));
    Webhooks {
        task: task.abort_handle(),
    }
}

/// One queue with a webhook, as the task follows it.
struct Hooked {
    queue: ServerHandle,
    label: QueueLabel,
    backlog: Option<u32>,
    watcher: Watcher,
    outgoing: Arc<Outgoing>,
}

impl Hooked {
    /// Puts in line the events the queue's current figures make.
    fn look(&mut self) {
        let professor = &self.queue.queue_config().professor;
        let figures = Figures::of(&self.queue.staff_views().borrow(), professor);
        for event in self.watcher.observe(figures, Instant::now()) {
            let body = EventBody::new(
                event,
                self.label.clone(),
                figures,
                self.backlog,
                self.queue.now_ms(),
            );
            let body = serde_json::to_vec(&body).expect("the body is plain data");
            let delivery = Delivery {
                event,
                queue: format!("{}/{}", self.label.course, self.label.queue),
                body: body.into(),
            };
            if let Some(dropped) = self.outgoing.push(delivery) {
                tracing::warn!(
                    queue = dropped.queue,
                    event = dropped.event.as_str(),
                    "webhook: {} deliveries waiting for the receiver; dropped the oldest",
                    delivery::MAX_PENDING
                );
            }
        }
    }
}

/// Looks at every hooked queue whenever one's staff view changes, and when
/// an `unstaffed` grace runs out; ends when the queues' owners have gone.
/// `_senders` deliver meanwhile, and stop with this task.
async fn follow(mut hooked: Vec<Hooked>, mut changed: AnyChanged, _senders: JoinSet<()>) {
    loop {
        let next_tick = hooked.iter().filter_map(|h| h.watcher.next_tick()).min();
        tokio::select! {
            result = changed.changed() => if result.is_err() { return },
            () = sleep_until(next_tick) => {}
        }
        for queue in &mut hooked {
            queue.look();
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use jqueue_shared::staff::StaffRequest;
    use tokio::sync::Notify;

    use super::delivery::Failure;
    use super::events::UNSTAFFED_GRACE;
    use super::*;
    use crate::clock::Clock;
    use crate::config::ServerConfig;

    /// Takes every post, noting its body.
    #[derive(Clone, Default)]
    struct Recorded {
        bodies: Arc<Mutex<Vec<serde_json::Value>>>,
        posted: Arc<Notify>,
    }

    impl Transport for Recorded {
        async fn post(&self, _: &Target, delivery: &Delivery) -> Result<(), Failure> {
            let body = serde_json::from_slice(&delivery.body).unwrap();
            self.bodies.lock().unwrap().push(body);
            self.posted.notify_one();
            Ok(())
        }
    }

    impl Recorded {
        fn events(&self) -> Vec<String> {
            let bodies = self.bodies.lock().unwrap();
            bodies
                .iter()
                .map(|b| b["event"].as_str().unwrap().to_owned())
                .collect()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn students_waiting_with_nobody_on_duty_are_posted_once_after_the_grace() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::new(dir.path().to_path_buf(), "s".into());
        config.clock = Clock::tokio_from(1_795_255_200_000);
        config.professor = "prof".into();
        config.webhook = Some(Webhook {
            target: Target {
                url: parse_url("http://127.0.0.1:9/hook").unwrap(),
                secret: None,
            },
            backlog: Some(1),
        });
        let mut server = crate::Server::start(config).unwrap();
        // Its own posts go over HTTP: these, to `recorded`, instead.
        drop(server.webhooks.take());
        let handle = server.handle();
        let recorded = Recorded::default();
        let _webhooks = spawn_with(&handle, &recorded, RetryPolicy::default());
        tokio::task::yield_now().await;

        // Nobody but the server's own account is signed in as staff.
        handle.join_from_the_lab("amy").await;
        tokio::time::sleep(UNSTAFFED_GRACE.saturating_sub(Duration::from_secs(1))).await;
        assert!(recorded.events().is_empty(), "{:?}", recorded.events());
        tokio::time::sleep(Duration::from_secs(2)).await;
        tokio::time::timeout(Duration::from_secs(1), recorded.posted.notified())
            .await
            .expect("posted");
        assert_eq!(recorded.events(), ["unstaffed"]);
        let body = recorded.bodies.lock().unwrap()[0].clone();
        assert_eq!(body["waiting"], 1);
        assert_eq!(body["on_duty"], 0);
        assert_eq!(
            body["text"],
            "main (default/main) has 1 student waiting and nobody on duty is signed in."
        );

        // Still the same stretch: more students, more time, no more posts
        // of it; the line passing the backlog is its own event.
        handle.join_from_the_lab("bob").await;
        tokio::time::sleep(UNSTAFFED_GRACE * 3).await;
        assert_eq!(recorded.events(), ["unstaffed", "backlog"]);
        // Closing ends the stretch; reopening with them still waiting is a
        // new one.
        handle
            .professor(StaffRequest::SetOpen { open: false })
            .await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        handle.professor(StaffRequest::SetOpen { open: true }).await;
        tokio::time::sleep(UNSTAFFED_GRACE * 2).await;
        assert_eq!(
            recorded.events(),
            ["unstaffed", "backlog", "closed", "opened", "unstaffed"]
        );
    }

    #[test]
    fn a_webhook_url_is_absolute_http_or_https() {
        for good in [
            "https://hooks.slack.com/services/T0/B0/xyz",
            "http://127.0.0.1:8080/hook",
        ] {
            assert!(parse_url(good).is_ok(), "{good}");
        }
        for (bad, words) in [
            ("hooks.slack.com/services", "http:// or https://"),
            ("ftp://example.org/x", "http:// or https://"),
            ("https://", "not a URL"),
            ("https://exa mple.org/", "not a URL"),
            ("/just/a/path", "http:// or https://"),
        ] {
            let err = parse_url(bad).unwrap_err();
            assert!(err.contains(words), "{bad}: {err}");
        }
    }

    #[test]
    fn a_targets_debug_shows_neither_the_path_nor_the_secret() {
        let target = Target {
            url: parse_url("https://hooks.slack.com/services/T0/B0/xyz").unwrap(),
            secret: Some("hunter2".into()),
        };
        let shown = format!("{target:?}");
        assert!(shown.contains("hooks.slack.com"), "{shown}");
        assert!(
            !shown.contains("xyz") && !shown.contains("hunter2"),
            "{shown}"
        );
    }
}
