//! Politeness: how many requests a host gets at once, how far apart, and a global cap.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Limits for one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostPolicy {
    pub concurrency: usize,
    pub delay: Duration,
}

struct HostSlot {
    permits: Arc<Semaphore>,
    schedule: tokio::sync::Mutex<Schedule>,
}

/// When the next request to a host may start.
struct Schedule {
    last_start: Option<Instant>,
    /// Between two starts.
    delay: Duration,
    /// Nothing starts before this (a server's `Retry-After`).
    not_before: Instant,
}

impl Schedule {
    fn next_start(&self) -> Instant {
        let spaced = self.last_start.map_or(self.not_before, |t| t + self.delay);
        spaced.max(self.not_before)
    }
}

/// Per-host request slots plus the global cap, shared by every source.
///
/// A host's slot is made once, from the strictest policy configured for it (lowest concurrency,
/// longest delay), so two sources on one portal never add up to more than either allows.
pub struct HostLimits {
    global: Arc<Semaphore>,
    configured: HashMap<String, HostPolicy>,
    slots: Mutex<HashMap<String, Arc<HostSlot>>>,
}

/// Held while a request is in flight; dropping it frees the host and global slots.
pub struct Permit {
    _host: OwnedSemaphorePermit,
    _global: OwnedSemaphorePermit,
}

impl HostLimits {
    /// `configured` maps host → strictest policy of the sources on that host.
    pub fn new(global: usize, configured: HashMap<String, HostPolicy>) -> Self {
        HostLimits {
            global: Arc::new(Semaphore::new(global.max(1))),
            configured,
            slots: Mutex::new(HashMap::new()),
        }
    }

    fn slot(&self, host: &str, fallback: HostPolicy) -> Arc<HostSlot> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots
            .entry(host.to_owned())
            .or_insert_with(|| {
                let policy = self.configured.get(host).copied().unwrap_or(fallback);
                Arc::new(HostSlot {
                    permits: Arc::new(Semaphore::new(policy.concurrency.max(1))),
                    schedule: tokio::sync::Mutex::new(Schedule {
                        last_start: None,
                        delay: policy.delay,
                        not_before: Instant::now(),
                    }),
                })
            })
            .clone()
    }

    /// Waits for a free slot on `host` and globally, and for the host's delay since the last
    /// request started.
    pub async fn acquire(&self, host: &str, fallback: HostPolicy) -> Permit {
        let slot = self.slot(host, fallback);
        let host_permit = match slot.permits.clone().acquire_owned().await {
            Ok(p) => p,
            Err(_) => unreachable!("host semaphores are never closed"),
        };
        {
            let mut schedule = slot.schedule.lock().await;
            // Only a start that is really due later waits: tokio's timer rounds every sleep up
            // to the next millisecond tick, so sleeping until a moment already past would still
            // cost up to 1 ms, with the host's schedule locked (about 1,000 starts a second per
            // host at most, whatever `per_host_delay_ms = 0` and the concurrency allow).
            let next = schedule.next_start();
            if next > Instant::now() {
                tokio::time::sleep_until(next).await;
            }
            schedule.last_start = Some(Instant::now());
        }
        let global_permit = match self.global.clone().acquire_owned().await {
            Ok(p) => p,
            Err(_) => unreachable!("the global semaphore is never closed"),
        };
        Permit {
            _host: host_permit,
            _global: global_permit,
        }
    }

    /// Raises the host's delay to at least `delay` (robots.txt `Crawl-delay`).
    pub async fn raise_delay(&self, host: &str, fallback: HostPolicy, delay: Duration) {
        let slot = self.slot(host, fallback);
        let mut schedule = slot.schedule.lock().await;
        schedule.delay = schedule.delay.max(delay);
    }

    /// Starts no request to `host` before `until` (a server's `Retry-After`).
    pub async fn hold_off(&self, host: &str, fallback: HostPolicy, until: Instant) {
        let slot = self.slot(host, fallback);
        let mut schedule = slot.schedule.lock().await;
        schedule.not_before = schedule.not_before.max(until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spaces_requests_to_one_host_but_not_across_hosts() {
        let policy = HostPolicy {
            concurrency: 1,
            delay: Duration::from_millis(1000),
        };
        let limits = HostLimits::new(8, HashMap::new());
        let t0 = Instant::now();
        drop(limits.acquire("a", policy).await);
        drop(limits.acquire("a", policy).await);
        assert!(t0.elapsed() >= Duration::from_millis(1000));
        let t1 = Instant::now();
        drop(limits.acquire("b", policy).await);
        assert!(
            t1.elapsed() < Duration::from_millis(10),
            "another host does not wait"
        );
        limits
            .raise_delay("b", policy, Duration::from_secs(5))
            .await;
        let t2 = Instant::now();
        drop(limits.acquire("b", policy).await);
        assert!(
            t2.elapsed() >= Duration::from_secs(4),
            "crawl-delay raised the spacing"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn strictest_configured_policy_wins() {
        let mut configured = HashMap::new();
        configured.insert(
            "a".to_owned(),
            HostPolicy {
                concurrency: 1,
                delay: Duration::from_secs(2),
            },
        );
        let limits = HostLimits::new(8, configured);
        let lax = HostPolicy {
            concurrency: 4,
            delay: Duration::ZERO,
        };
        let t0 = Instant::now();
        drop(limits.acquire("a", lax).await);
        drop(limits.acquire("a", lax).await);
        assert!(t0.elapsed() >= Duration::from_secs(2));
    }
}
