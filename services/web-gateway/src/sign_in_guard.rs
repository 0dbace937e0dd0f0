//! Sign-in cannot be used as a weapon: Argon2 runs in a bounded number of slots
//! ([`HashingSlots`]), and failed sign-ins are counted per client address and per e-mail
//! address, each failure past the free ones doubling the pause before the next try
//! ([`SignInLimiter`]).
//!
//! An attempt is counted when it is admitted, before the password is checked, so a
//! thousand requests sent at once are counted as a thousand, not as none; a sign-in that
//! succeeds (or never reached the hash) gives its attempt back. The counts live in the
//! process: each gateway replica counts on its own (docs/reliability.md, "Sign-in").

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bureau_platform::settings::SignInSettings;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How many password hashes may run at once, and how long a request queues for a slot.
#[derive(Clone)]
pub struct HashingSlots {
    slots: Arc<Semaphore>,
    queue_wait: Duration,
}

/// No hashing slot freed up within the queue wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

impl HashingSlots {
    /// `slots` 0 means half the cores (at least one), so that sign-ins can never take all
    /// the processor from orders.
    pub fn new(slots: usize, queue_wait: Duration) -> HashingSlots {
        let slots = if slots == 0 {
            (std::thread::available_parallelism().map_or(1, usize::from) / 2).max(1)
        } else {
            slots
        };
        HashingSlots {
            slots: Arc::new(Semaphore::new(slots)),
            queue_wait,
        }
    }

    /// A slot, held while the password is hashed; [`Busy`] after the queue wait.
    pub async fn acquire(&self) -> Result<OwnedSemaphorePermit, Busy> {
        match tokio::time::timeout(self.queue_wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(Busy),
        }
    }
}

/// What is counted: a client address (an IPv6 address by its /64, which one customer
/// line usually gets whole) or the e-mail address signed in to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Address(IpAddr),
    Account(String),
}

impl Key {
    fn address(address: IpAddr) -> Key {
        match address {
            IpAddr::V4(_) => Key::Address(address),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Key::Address(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    Key::Address(IpAddr::V6(prefix.into()))
                }
            },
        }
    }

    fn account(email: &str) -> Key {
        Key::Account(email.trim().to_lowercase())
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    paused_until: Option<Instant>,
    last: Instant,
}

/// Sign-in is paused for this long; the answer is 429 with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paused {
    pub retry_after: Duration,
}

/// One admitted attempt; hand it back with [`SignInLimiter::succeeded`] or
/// [`SignInLimiter::give_back`], or let it count as a failure by dropping it.
#[derive(Debug)]
pub struct Attempt {
    address: Key,
    account: Key,
}

/// Failed sign-ins per address and per account, with pauses that double.
#[derive(Clone)]
pub struct SignInLimiter {
    settings: SignInSettings,
    entries: Arc<Mutex<HashMap<Key, Entry>>>,
}

impl SignInLimiter {
    pub fn new(settings: SignInSettings) -> SignInLimiter {
        SignInLimiter {
            settings,
            entries: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Admits an attempt from `address` on `email`, counting it, or says how long sign-in
    /// is paused for either of them.
    pub fn admit(&self, address: IpAddr, email: &str, now: Instant) -> Result<Attempt, Paused> {
        let attempt = Attempt {
            address: Key::address(address),
            account: Key::account(email),
        };
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let forget_after = Duration::from_secs(self.settings.forget_after_secs);
        let mut longest = Duration::ZERO;
        for key in [&attempt.address, &attempt.account] {
            if let Some(entry) = entries.get(key) {
                if now.saturating_duration_since(entry.last) >= forget_after {
                    entries.remove(key);
                } else if let Some(until) = entry.paused_until {
                    longest = longest.max(until.saturating_duration_since(now));
                }
            }
        }
        if !longest.is_zero() {
            return Err(Paused {
                retry_after: longest,
            });
        }
        for key in [&attempt.address, &attempt.account] {
            if !entries.contains_key(key) && !self.make_room(&mut entries, now) {
                // Full of paused addresses and accounts: an attack on the table itself.
                // New ones wait rather than go uncounted.
                return Err(Paused {
                    retry_after: Duration::from_secs(self.settings.first_pause_secs.max(1)),
                });
            }
            let free = match key {
                Key::Address(_) => self.settings.free_failures_per_address,
                Key::Account(_) => self.settings.free_failures_per_account,
            };
            let entry = entries.entry(key.clone()).or_insert(Entry {
                failures: 0,
                paused_until: None,
                last: now,
            });
            entry.failures = entry.failures.saturating_add(1);
            entry.last = now;
            if entry.failures >= free {
                entry.paused_until = Some(now + self.pause(entry.failures + 1 - free));
            }
        }
        Ok(attempt)
    }

    /// The password matched: the account's failures are forgotten, the address's attempt
    /// is given back.
    pub fn succeeded(&self, attempt: Attempt) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove(&attempt.account);
        self.uncount(&mut entries, &attempt.address);
    }

    /// No hashing slot was free: the attempt still counts for its address (a flood from
    /// one address is paused, and answered cheaply, the sooner), not for the account (a
    /// flood must not pause someone else's account without guessing at it).
    pub fn busy(&self, attempt: Attempt) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        self.uncount(&mut entries, &attempt.account);
    }

    /// The attempt never reached the password check (a database outage).
    pub fn give_back(&self, attempt: Attempt) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        self.uncount(&mut entries, &attempt.address);
        self.uncount(&mut entries, &attempt.account);
    }

    fn uncount(&self, entries: &mut HashMap<Key, Entry>, key: &Key) {
        let free = match key {
            Key::Address(_) => self.settings.free_failures_per_address,
            Key::Account(_) => self.settings.free_failures_per_account,
        };
        if let Some(entry) = entries.get_mut(key) {
            entry.failures = entry.failures.saturating_sub(1);
            if entry.failures < free {
                entry.paused_until = None;
            }
        }
    }

    /// The pause after the `excess`-th failure past the free ones: 1, 2, 4, ... times the
    /// first pause, at most the longest.
    fn pause(&self, excess: u32) -> Duration {
        let doublings = excess.saturating_sub(1).min(32);
        let secs = self
            .settings
            .first_pause_secs
            .saturating_mul(1u64 << doublings)
            .min(self.settings.max_pause_secs);
        Duration::from_secs(secs)
    }

    /// Whether a new key fits: forgotten entries go first, then those not paused.
    fn make_room(&self, entries: &mut HashMap<Key, Entry>, now: Instant) -> bool {
        if entries.len() < self.settings.max_tracked {
            return true;
        }
        let forget_after = Duration::from_secs(self.settings.forget_after_secs);
        entries.retain(|_, entry| now.saturating_duration_since(entry.last) < forget_after);
        if entries.len() >= self.settings.max_tracked {
            entries.retain(|_, entry| entry.paused_until.is_some_and(|until| until > now));
        }
        entries.len() < self.settings.max_tracked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> SignInLimiter {
        SignInLimiter::new(SignInSettings {
            free_failures_per_address: 4,
            free_failures_per_account: 2,
            first_pause_secs: 1,
            max_pause_secs: 60,
            forget_after_secs: 3600,
            max_tracked: 100,
            ..SignInSettings::default()
        })
    }

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 7));

    #[test]
    fn pauses_begin_after_the_free_failures_and_double() {
        let limiter = limiter();
        let mut now = Instant::now();
        assert!(limiter.admit(HOME, "olena@example.com", now).is_ok());
        // The second (the last free one) starts a 1 s pause.
        assert!(limiter.admit(HOME, "Olena@Example.com ", now).is_ok());
        let paused = limiter.admit(HOME, "olena@example.com", now).unwrap_err();
        assert_eq!(paused.retry_after, Duration::from_secs(1));
        now += Duration::from_secs(1);
        assert!(limiter.admit(HOME, "olena@example.com", now).is_ok());
        assert_eq!(
            limiter
                .admit(HOME, "olena@example.com", now)
                .unwrap_err()
                .retry_after,
            Duration::from_secs(2)
        );
        now += Duration::from_secs(2);
        assert!(limiter.admit(HOME, "olena@example.com", now).is_ok());
        assert_eq!(
            limiter
                .admit(HOME, "olena@example.com", now)
                .unwrap_err()
                .retry_after,
            Duration::from_secs(4)
        );
    }

    #[test]
    fn an_address_is_paused_whatever_account_it_tries() {
        let limiter = limiter();
        let now = Instant::now();
        for n in 0..4 {
            assert!(
                limiter
                    .admit(HOME, &format!("user{n}@example.com"), now)
                    .is_ok()
            );
        }
        assert!(limiter.admit(HOME, "someone@example.com", now).is_err());
        let elsewhere = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 1));
        assert!(limiter.admit(elsewhere, "someone@example.com", now).is_ok());
    }

    #[test]
    fn a_success_forgets_the_accounts_failures() {
        let limiter = limiter();
        let now = Instant::now();
        let _ = limiter.admit(HOME, "olena@example.com", now).unwrap();
        let right = limiter.admit(HOME, "olena@example.com", now).unwrap();
        limiter.succeeded(right);
        for _ in 0..2 {
            assert!(limiter.admit(HOME, "olena@example.com", now).is_ok());
        }
    }

    #[test]
    fn attempts_given_back_do_not_count() {
        let limiter = limiter();
        let now = Instant::now();
        for _ in 0..10 {
            let attempt = limiter.admit(HOME, "olena@example.com", now).unwrap();
            limiter.give_back(attempt);
        }
    }

    #[test]
    fn a_busy_answer_counts_for_the_address_only() {
        let limiter = limiter();
        let now = Instant::now();
        for n in 0..4 {
            let attempt = limiter
                .admit(HOME, "olena@example.com", now)
                .unwrap_or_else(|_| {
                    panic!("attempt {n} paused: busy answers counted for the account")
                });
            limiter.busy(attempt);
        }
        assert!(limiter.admit(HOME, "taras@example.com", now).is_err());
    }

    #[test]
    fn failures_are_forgotten_and_ipv6_counts_by_prefix() {
        let limiter = limiter();
        let now = Instant::now();
        let first: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let same_line: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        for n in 0..5 {
            let _ = limiter.admit(first, &format!("u{n}@example.com"), now);
        }
        assert!(limiter.admit(same_line, "x@example.com", now).is_err());
        let later = now + Duration::from_secs(3600);
        assert!(limiter.admit(same_line, "x@example.com", later).is_ok());
    }

    #[test]
    fn the_table_stays_bounded() {
        let limiter = SignInLimiter::new(SignInSettings {
            max_tracked: 10,
            free_failures_per_account: 0,
            free_failures_per_address: 1000,
            ..SignInSettings::default()
        });
        let now = Instant::now();
        // Each admitted attempt pauses its account at once; the table fills with pauses.
        let admitted = (0..20)
            .filter(|n| {
                limiter
                    .admit(HOME, &format!("u{n}@example.com"), now)
                    .is_ok()
            })
            .count();
        assert!(admitted < 20);
        assert!(limiter.entries.lock().unwrap().len() <= 10);
    }

    #[tokio::test]
    async fn hashing_slots_queue_then_refuse() {
        let slots = HashingSlots::new(1, Duration::from_millis(50));
        let held = slots.acquire().await.unwrap();
        assert_eq!(slots.acquire().await.unwrap_err(), Busy);
        drop(held);
        assert!(slots.acquire().await.is_ok());
    }
}
