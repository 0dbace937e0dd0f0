//! Telegram's flood limits as token buckets: one per chat, one for the bot
//! overall, and one per group chat (negative chat ids).
//!
//! Written by hand on purpose: no crate models Telegram's per-chat, global and
//! per-group limits together with the `retry_after` answer Telegram gives
//! (the whole seconds until the bucket that refused frees a token). The
//! general-purpose limiters (governor and friends) answer "not now" but not
//! Telegram's composite "all three must agree, tell me when" question.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A classic token bucket: holds up to `capacity` tokens, gains
/// `refill_per_sec` tokens a second, a request takes one.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    capacity: f64,
    refill_per_sec: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub(crate) fn new(capacity: u32, refill_per_sec: f64, now: Instant) -> Self {
        let capacity = f64::from(capacity);
        TokenBucket {
            capacity,
            refill_per_sec,
            tokens: capacity,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        if self.refill_per_sec.is_finite() {
            self.tokens = (self.tokens + elapsed * self.refill_per_sec).min(self.capacity);
        } else {
            self.tokens = self.capacity.max(1.0);
        }
    }

    /// How long until one token is available (zero if one is available now).
    fn wait(&mut self, now: Instant) -> Duration {
        self.refill(now);
        if self.tokens >= 1.0 {
            return Duration::ZERO;
        }
        if self.refill_per_sec <= 0.0 || self.capacity < 1.0 {
            // A bucket that never refills: tell the client to come back in an hour.
            return Duration::from_secs(3600);
        }
        Duration::from_secs_f64((1.0 - self.tokens) / self.refill_per_sec)
    }

    fn take(&mut self) {
        self.tokens -= 1.0;
    }
}

/// The limits one sending call has to pass, in Telegram's shape.
#[derive(Debug, Clone)]
pub(crate) struct LimitConfig {
    pub chat_burst: u32,
    pub chat_per_sec: f64,
    pub global_burst: u32,
    pub global_per_sec: f64,
    pub group_per_min: u32,
}

/// All buckets of one bot.
#[derive(Debug)]
pub(crate) struct Limiter {
    config: LimitConfig,
    global: TokenBucket,
    chats: HashMap<i64, TokenBucket>,
    groups: HashMap<i64, TokenBucket>,
}

impl Limiter {
    pub(crate) fn new(config: LimitConfig, now: Instant) -> Self {
        let global = TokenBucket::new(config.global_burst, config.global_per_sec, now);
        Limiter {
            config,
            global,
            chats: HashMap::new(),
            groups: HashMap::new(),
        }
    }

    /// Takes a token from every bucket that applies to `chat_id`, or takes
    /// none and answers how long to wait: the longest wait among the buckets
    /// that refused.
    pub(crate) fn try_acquire(&mut self, chat_id: i64, now: Instant) -> Result<(), Duration> {
        let config = &self.config;
        let chat = self
            .chats
            .entry(chat_id)
            .or_insert_with(|| TokenBucket::new(config.chat_burst, config.chat_per_sec, now));
        let mut wait = chat.wait(now).max(self.global.wait(now));
        let group = if chat_id < 0 {
            let per_sec = f64::from(config.group_per_min) / 60.0;
            let bucket = self
                .groups
                .entry(chat_id)
                .or_insert_with(|| TokenBucket::new(config.group_per_min, per_sec, now));
            wait = wait.max(bucket.wait(now));
            Some(bucket)
        } else {
            None
        };
        if !wait.is_zero() {
            return Err(wait);
        }
        if let Some(group) = group {
            group.take();
        }
        self.global.take();
        self.chats
            .get_mut(&chat_id)
            .expect("bucket inserted above")
            .take();
        Ok(())
    }
}

/// Telegram's `retry_after`: whole seconds, at least one.
pub(crate) fn retry_after_secs(wait: Duration) -> u32 {
    let secs = wait.as_secs_f64().ceil();
    if secs >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        (secs as u32).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> LimitConfig {
        LimitConfig {
            chat_burst: 3,
            chat_per_sec: 1.0,
            global_burst: 30,
            global_per_sec: 30.0,
            group_per_min: 20,
        }
    }

    #[test]
    fn chat_burst_then_one_per_second() {
        let t0 = Instant::now();
        let mut limiter = Limiter::new(config(), t0);
        for _ in 0..3 {
            limiter.try_acquire(7, t0).unwrap();
        }
        let wait = limiter.try_acquire(7, t0).unwrap_err();
        assert_eq!(retry_after_secs(wait), 1);
        // Another chat is not affected.
        limiter.try_acquire(8, t0).unwrap();
        // A second later one token is back, and only one.
        let t1 = t0 + Duration::from_secs(1);
        limiter.try_acquire(7, t1).unwrap();
        assert!(limiter.try_acquire(7, t1).is_err());
    }

    #[test]
    fn global_limit_spans_chats() {
        let t0 = Instant::now();
        let mut limiter = Limiter::new(config(), t0);
        for chat in 0..30 {
            limiter.try_acquire(chat + 1, t0).unwrap();
        }
        let wait = limiter.try_acquire(1000, t0).unwrap_err();
        assert!(wait <= Duration::from_millis(40), "{wait:?}");
        assert_eq!(retry_after_secs(wait), 1);
    }

    #[test]
    fn groups_get_twenty_a_minute() {
        let t0 = Instant::now();
        let mut config = config();
        config.chat_burst = 100;
        config.chat_per_sec = 100.0;
        let mut limiter = Limiter::new(config, t0);
        for i in 0..20 {
            limiter
                .try_acquire(-100, t0 + Duration::from_millis(i * 40))
                .unwrap();
        }
        let now = t0 + Duration::from_millis(800);
        let wait = limiter.try_acquire(-100, now).unwrap_err();
        // 20/min refills one token every 3 s; 0.8 s of it already passed.
        assert_eq!(retry_after_secs(wait), 3);
    }

    #[test]
    fn refused_calls_take_nothing() {
        let t0 = Instant::now();
        let mut limiter = Limiter::new(config(), t0);
        for _ in 0..3 {
            limiter.try_acquire(1, t0).unwrap();
        }
        for _ in 0..10 {
            assert!(limiter.try_acquire(1, t0).is_err());
        }
        // The refusals did not drain the global bucket: 27 more chats fit.
        for chat in 2..29 {
            limiter.try_acquire(chat, t0).unwrap();
        }
    }
}
