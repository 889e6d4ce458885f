//! Host names of students' addresses (reverse DNS), for `--allow-hosts`
//! name globs and the default location.
//!
//! A lookup can take seconds, or never end, on a resolver that does not
//! answer. So lookups run on threads of their own — never on the blocking
//! pool that password hashing and the database use — at most
//! [`MAX_IN_FLIGHT`] at once, each waited for [`HostNames::timeout`] at
//! most; answers (and the lack of one) are cached. Loopback addresses have
//! no name worth asking for, and peers on the Unix socket never come here.
//! `--no-resolve` turns lookups off: `--allow-hosts` then matches addresses
//! only. This module owns no room rules (see [`jqueue_core::presence`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, oneshot};
use tokio::time::Instant;

use jqueue_core::rate::SweepSchedule;

/// Lookups waiting for an answer at once. Beyond them an address goes
/// without a name at once: a stuck resolver costs this many threads, not
/// one per student.
pub const MAX_IN_FLIGHT: usize = 8;

/// How long an answer (or the lack of one) is kept.
const CACHE_FOR: Duration = Duration::from_secs(10 * 60);

/// Looks up the host name of an address. Blocking: [`HostNames`] calls it
/// on a thread of its own. A test gives one that never answers.
pub trait Resolver: Send + Sync + std::fmt::Debug {
    fn host_name(&self, ip: IpAddr) -> Option<String>;
}

/// The system's resolver. A name counts only when it resolves back to the
/// address, so a PTR record alone cannot claim a lab's name.
#[derive(Debug, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn host_name(&self, ip: IpAddr) -> Option<String> {
        if ip.is_loopback() {
            return None;
        }
        let name = dns_lookup::lookup_addr(&ip).ok()?;
        let addresses = dns_lookup::lookup_host(&name).ok()?;
        addresses.into_iter().any(|a| a == ip).then_some(name)
    }
}

/// Cached, bounded, time-limited host-name lookups.
#[derive(Debug)]
pub struct HostNames {
    /// `None` with `--no-resolve`.
    resolver: Option<Arc<dyn Resolver>>,
    timeout: Duration,
    slots: Arc<Semaphore>,
    cache: Mutex<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    names: HashMap<IpAddr, (Option<String>, Instant)>,
    sweeps: SweepSchedule,
}

impl HostNames {
    pub fn new(resolver: Option<Arc<dyn Resolver>>, timeout: Duration) -> Self {
        Self {
            resolver,
            timeout,
            slots: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            cache: Mutex::default(),
        }
    }

    /// The host name of `ip`, if known within the timeout.
    pub async fn lookup(&self, ip: IpAddr) -> Option<String> {
        let resolver = self.resolver.clone()?;
        let now = Instant::now();
        if let Some((name, _)) = self
            .cache()
            .names
            .get(&ip)
            .filter(|(_, at)| now.duration_since(*at) < CACHE_FOR)
        {
            return name.clone();
        }
        // Every slot held by a lookup still waiting: go without.
        let permit = self.slots.clone().try_acquire_owned().ok()?;
        let (answer, answered) = oneshot::channel();
        let spawned = std::thread::Builder::new()
            .name("jqueue-resolve".into())
            .spawn(move || {
                let name = resolver.host_name(ip);
                // The slot frees when the lookup ends, not when the
                // handler stops waiting: a stuck resolver keeps it.
                drop(permit);
                let _ = answer.send(name);
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot start a host-name lookup: {e}");
            return None;
        }
        let name = tokio::time::timeout(self.timeout, answered)
            .await
            .ok()
            .and_then(Result::ok)
            .flatten();
        let mut cache = self.cache();
        let Cache { names, sweeps } = &mut *cache;
        sweeps.maybe(names.len(), || {
            names.retain(|_, (_, at)| now.duration_since(*at) < CACHE_FOR);
            names.len()
        });
        names.insert(ip, (name.clone(), now));
        name
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Answers `name` for every address, counting the questions.
    #[derive(Debug, Default)]
    struct Counting(AtomicUsize);

    impl Resolver for Counting {
        fn host_name(&self, _ip: IpAddr) -> Option<String> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Some("lab1.example.edu".into())
        }
    }

    #[tokio::test]
    async fn answers_are_cached_and_no_resolve_asks_nothing() {
        let counting = Arc::new(Counting::default());
        let names = HostNames::new(Some(counting.clone()), Duration::from_secs(5));
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(names.lookup(ip).await.as_deref(), Some("lab1.example.edu"));
        }
        assert_eq!(counting.0.load(Ordering::SeqCst), 1);
        let off = HostNames::new(None, Duration::from_secs(5));
        assert_eq!(off.lookup(ip).await, None);
    }

    #[test]
    fn loopback_is_never_looked_up() {
        assert_eq!(SystemResolver.host_name("127.0.0.1".parse().unwrap()), None);
        assert_eq!(SystemResolver.host_name("::1".parse().unwrap()), None);
    }
}
