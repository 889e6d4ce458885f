//! Getting a webhook's events to its receiver: a bounded line of pending
//! deliveries per webhook ([`Outgoing`]: when it is full the oldest is
//! dropped, and the log says so), sent one at a time in order with a
//! timeout per request and a bounded number of tries, waiting longer after
//! each failure ([`RetryPolicy`]).
//!
//! The HTTP itself is behind [`Transport`]: [`HttpTransport`] posts over
//! hyper's client (https verified against the system's roots, TLS 1.3 as
//! everywhere in jqueue), and a test can stand in for it to see exactly
//! when each try went out. Nothing here reads a queue or decides what is an
//! event (see [`super::events`]); a slow or dead receiver delays only its
//! own webhook's line.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue, USER_AGENT};
use hyper::{Request, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::Notify;

use super::events::EventKind;

/// The header that carries the body's signature: `sha256=` and the hex
/// HMAC-SHA256 of the body under `webhook-secret`.
pub const SIGNATURE_HEADER: &str = "x-jqueue-signature";

/// The header that names the event, so a receiver can route without
/// parsing the body.
pub const EVENT_HEADER: &str = "x-jqueue-event";

/// Deliveries one webhook may have waiting: at most a few per queue
/// change, so this many is a receiver down for a long afternoon.
pub const MAX_PENDING: usize = 64;

/// How hard a delivery is tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// The wait after the first failure; each later one doubles it...
    pub first_backoff: Duration,
    /// ...up to this.
    pub max_backoff: Duration,
    /// One try's limit, from connecting to the response's status.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    /// Five tries over about a quarter of a minute (waits of 1, 2, 4 and 8
    /// seconds), ten seconds each.
    fn default() -> Self {
        Self {
            attempts: 5,
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Where a webhook goes and how its receiver checks it came from us.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    pub url: Uri,
    pub secret: Option<String>,
}

impl std::fmt::Debug for Target {
    /// A webhook's URL is often its only secret (Slack's and Discord's
    /// are): only its host is ever shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("host", &self.url.host())
            .field("secret", &self.secret.as_ref().map(|_| "…"))
            .finish()
    }
}

/// One event's body, ready to send.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub event: EventKind,
    /// The queue's name (`cs101/lab`), for the log.
    pub queue: String,
    pub body: Bytes,
}

/// Why a try failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth trying again: no connection, a timeout, a 5xx, 408 or 429.
    Retry(String),
    /// Not worth it: the receiver refused the request itself (4xx), or
    /// sent it elsewhere (3xx, not followed).
    GiveUp(String),
}

/// Sends one delivery once.
pub trait Transport: Clone + Send + Sync + 'static {
    fn post(
        &self,
        target: &Target,
        delivery: &Delivery,
    ) -> impl Future<Output = Result<(), Failure>> + Send;
}

/// A webhook's pending deliveries, oldest first, at most [`MAX_PENDING`].
#[derive(Debug, Default)]
pub struct Outgoing {
    pending: Mutex<VecDeque<Delivery>>,
    ready: Notify,
}

impl Outgoing {
    /// Puts `delivery` in line; when the line is full the oldest waiting
    /// is dropped and returned, so the caller can say so.
    pub fn push(&self, delivery: Delivery) -> Option<Delivery> {
        let mut pending = self.lock();
        let dropped = (pending.len() >= MAX_PENDING)
            .then(|| pending.pop_front())
            .flatten();
        pending.push_back(delivery);
        drop(pending);
        self.ready.notify_one();
        dropped
    }

    /// How many wait.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    async fn next(&self) -> Delivery {
        loop {
            if let Some(delivery) = self.lock().pop_front() {
                return delivery;
            }
            self.ready.notified().await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Delivery>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Sends `outgoing`'s deliveries to `target` one after the other, for
/// ever: each is tried as `policy` says, then the next.
pub async fn deliver(
    outgoing: Arc<Outgoing>,
    target: Target,
    transport: impl Transport,
    policy: RetryPolicy,
) {
    loop {
        let delivery = outgoing.next().await;
        send(&target, &delivery, &transport, policy).await;
    }
}

/// Tries `delivery` until it is taken, refused, or out of tries; says
/// whether it was taken.
pub async fn send(
    target: &Target,
    delivery: &Delivery,
    transport: &impl Transport,
    policy: RetryPolicy,
) -> bool {
    let host = target.url.host().unwrap_or_default();
    let mut backoff = policy.first_backoff;
    for attempt in 1..=policy.attempts {
        let why = match tokio::time::timeout(policy.timeout, transport.post(target, delivery)).await
        {
            Ok(Ok(())) => return true,
            Ok(Err(Failure::GiveUp(why))) => {
                tracing::warn!(
                    queue = delivery.queue,
                    event = delivery.event.as_str(),
                    "webhook to {host} refused: {why}; not trying again"
                );
                return false;
            }
            Ok(Err(Failure::Retry(why))) => why,
            Err(_) => format!("no answer in {:?}", policy.timeout),
        };
        if attempt == policy.attempts {
            tracing::warn!(
                queue = delivery.queue,
                event = delivery.event.as_str(),
                "webhook to {host} failed {attempt} times ({why}): dropped"
            );
            return false;
        }
        tracing::info!(
            queue = delivery.queue,
            event = delivery.event.as_str(),
            "webhook to {host} failed ({why}): trying again in {backoff:?}"
        );
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(policy.max_backoff);
    }
    false
}

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`: what
/// [`SIGNATURE_HEADER`] carries.
pub fn signature(secret: &str, body: &[u8]) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// POSTs over HTTP/1.1, https verified against the system's roots.
#[derive(Clone)]
pub struct HttpTransport {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HttpTransport")
    }
}

impl HttpTransport {
    /// A client that trusts the system's roots (and, in a test, `extra`).
    pub fn new(extra: &[rustls_pki_types::CertificateDer<'static>]) -> Self {
        let mut roots = rustls::RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::warn!("webhooks: cannot read a system certificate: {e}");
        }
        let (_, ignored) = roots.add_parsable_certificates(found.certs);
        if ignored > 0 {
            tracing::warn!("webhooks: {ignored} system certificates could not be used");
        }
        roots.add_parsable_certificates(extra.iter().cloned());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .expect("ring offers TLS 1.3")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }
}

impl Transport for HttpTransport {
    async fn post(&self, target: &Target, delivery: &Delivery) -> Result<(), Failure> {
        let mut request = Request::post(target.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, concat!("jqueue/", env!("CARGO_PKG_VERSION")))
            .header(EVENT_HEADER, delivery.event.as_str())
            .body(Full::new(delivery.body.clone()))
            .map_err(|e| Failure::GiveUp(e.to_string()))?;
        if let Some(secret) = &target.secret {
            let signed = signature(secret, &delivery.body);
            let value = HeaderValue::from_str(&signed).expect("hex is a header value");
            request.headers_mut().insert(SIGNATURE_HEADER, value);
        }
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| Failure::Retry(error_chain(&e)))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else if status.is_redirection() {
            // Not followed: a webhook that moved is the config's to change.
            Err(Failure::GiveUp(format!("{status}: the webhook has moved")))
        } else if status.is_client_error()
            && status != StatusCode::REQUEST_TIMEOUT
            && status != StatusCode::TOO_MANY_REQUESTS
        {
            Err(Failure::GiveUp(status.to_string()))
        } else {
            Err(Failure::Retry(status.to_string()))
        }
    }
}

/// An error and its causes on one line: hyper's own says only "client
/// error (Connect)".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Instant;

    /// A receiver that fails its first `failures` tries and notes when
    /// each came.
    #[derive(Clone)]
    struct Flaky {
        failures: u32,
        tries: Arc<Mutex<Vec<Instant>>>,
    }

    impl Transport for Flaky {
        async fn post(&self, _: &Target, _: &Delivery) -> Result<(), Failure> {
            let mut tries = self.tries.lock().unwrap();
            tries.push(Instant::now());
            if tries.len() as u32 <= self.failures {
                Err(Failure::Retry("503 Service Unavailable".into()))
            } else {
                Ok(())
            }
        }
    }

    fn delivery(n: u32) -> Delivery {
        Delivery {
            event: EventKind::Backlog,
            queue: format!("cs101/q{n}"),
            body: Bytes::from(n.to_string()),
        }
    }

    fn target() -> Target {
        Target {
            url: Uri::from_static("http://127.0.0.1:9/hook"),
            secret: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_receiver_that_fails_twice_gets_the_event_on_the_third_try_after_backing_off() {
        let flaky = Flaky {
            failures: 2,
            tries: Arc::default(),
        };
        let start = Instant::now();
        assert!(send(&target(), &delivery(1), &flaky, RetryPolicy::default()).await);
        let after: Vec<Duration> = flaky
            .tries
            .lock()
            .unwrap()
            .iter()
            .map(|t| *t - start)
            .collect();
        assert_eq!(
            after,
            [
                Duration::ZERO,
                Duration::from_secs(1),
                Duration::from_secs(3)
            ],
            "waits of 1 s, then 2 s"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn tries_are_bounded_and_the_waits_double_up_to_the_cap() {
        let flaky = Flaky {
            failures: u32::MAX,
            tries: Arc::default(),
        };
        let policy = RetryPolicy {
            attempts: 6,
            max_backoff: Duration::from_secs(5),
            ..RetryPolicy::default()
        };
        let start = Instant::now();
        assert!(!send(&target(), &delivery(1), &flaky, policy).await);
        let after: Vec<u64> = flaky
            .tries
            .lock()
            .unwrap()
            .iter()
            .map(|t| (*t - start).as_secs())
            .collect();
        assert_eq!(after, [0, 1, 3, 7, 12, 17]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_try_that_hangs_times_out_and_counts_as_a_failure() {
        #[derive(Clone)]
        struct Silent(Arc<Mutex<u32>>);
        impl Transport for Silent {
            async fn post(&self, _: &Target, _: &Delivery) -> Result<(), Failure> {
                *self.0.lock().unwrap() += 1;
                std::future::pending().await
            }
        }
        let silent = Silent(Arc::default());
        let start = Instant::now();
        assert!(!send(&target(), &delivery(1), &silent, RetryPolicy::default()).await);
        assert_eq!(*silent.0.lock().unwrap(), 5);
        // Five tries of 10 s and waits of 1 + 2 + 4 + 8 s.
        assert_eq!(Instant::now() - start, Duration::from_secs(65));
    }

    #[test]
    fn a_full_line_drops_its_oldest_delivery() {
        let outgoing = Outgoing::default();
        for n in 0..MAX_PENDING as u32 {
            assert!(outgoing.push(delivery(n)).is_none());
        }
        let dropped = outgoing.push(delivery(999)).expect("full");
        assert_eq!(dropped.queue, "cs101/q0", "the oldest");
        assert_eq!(outgoing.len(), MAX_PENDING);
    }

    #[test]
    fn the_signature_is_the_bodys_hmac_sha256() {
        // RFC 4231's test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
