//! The one way Bureau waits for something to come back: exponential backoff, cut short by
//! shutdown.
//!
//! - [`Backoff`] says how long to pause between tries: a first pause doubling up to a
//!   longest, optionally jittered. The arithmetic is the `backon` crate's.
//! - [`until_done`] repeats an attempt until it succeeds, logging each failure, and gives
//!   up when shutdown fires (starting a database migration, reaching Telegram).
//! - [`Pauses`] is the sequence of pauses for loops that run on after a success and start
//!   the sequence over ([`Pauses::reset`]): polling Telegram, reconnecting a consumer,
//!   restarting a child process, a test polling for a condition.
//!
//! An attempt in progress is never abandoned here: only the pauses end early at shutdown.
//! A caller whose attempt may be dropped midway races the whole call against shutdown.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use tokio_util::sync::CancellationToken;

/// How long to pause between tries: `first`, doubling each time up to `longest`, for ever.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    first: Duration,
    longest: Duration,
    jitter: bool,
}

impl Backoff {
    pub const fn new(first: Duration, longest: Duration) -> Backoff {
        Backoff {
            first,
            longest,
            jitter: false,
        }
    }

    /// Each pause is drawn from `[pause, 2 × pause)`, so that many processes that failed
    /// together (a broker restart) do not all come back at the same instant.
    pub const fn with_jitter(mut self) -> Backoff {
        self.jitter = true;
        self
    }

    /// The pauses, from the first.
    pub fn pauses(self) -> Pauses {
        Pauses {
            backoff: self,
            sequence: self.builder().build(),
        }
    }

    fn builder(self) -> ExponentialBuilder {
        let builder = ExponentialBuilder::new()
            .with_factor(2.0)
            .with_min_delay(self.first)
            .with_max_delay(self.longest)
            .without_max_times();
        if self.jitter {
            builder.with_jitter()
        } else {
            builder
        }
    }
}

/// The pauses of a [`Backoff`], endless; [`Pauses::reset`] starts them over.
#[derive(Debug)]
pub struct Pauses {
    backoff: Backoff,
    sequence: ExponentialBackoff,
}

impl Pauses {
    /// The pause to take now; the next call gives the one after it.
    pub fn next_pause(&mut self) -> Duration {
        // Without a limit of tries the sequence never ends; the longest pause is the answer
        // should it ever.
        self.sequence.next().unwrap_or(self.backoff.longest)
    }

    /// Back to the first pause, after a success.
    pub fn reset(&mut self) {
        self.sequence = self.backoff.builder().build();
    }
}

impl Iterator for Pauses {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        Some(self.next_pause())
    }
}

/// Sleeps for `pause` unless `shutdown` fires first; `false` when it did.
pub async fn pause(pause: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        () = tokio::time::sleep(pause) => true,
        () = shutdown.cancelled() => false,
    }
}

/// Runs `attempt` until it succeeds, pausing as `backoff` says between tries and logging
/// each failure as "could not {what} yet". `None` when `shutdown` fired first: an attempt
/// in progress runs to its end, no new one starts.
pub async fn until_done<T, E, F, Fut>(
    what: &str,
    backoff: Backoff,
    shutdown: &CancellationToken,
    mut attempt: F,
) -> Option<T>
where
    E: Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut pauses = backoff.pauses();
    while !shutdown.is_cancelled() {
        match attempt().await {
            Ok(value) => return Some(value),
            Err(error) => {
                let next = pauses.next_pause();
                tracing::warn!(%error, retry_in = ?next, "could not {what} yet; retrying");
                if !pause(next, shutdown).await {
                    break;
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn pauses_double_up_to_the_longest_and_start_over_on_reset() {
        let mut pauses = Backoff::new(250 * MS, 1000 * MS).pauses();
        let first: Vec<_> = pauses.by_ref().take(5).collect();
        assert_eq!(first, [250 * MS, 500 * MS, 1000 * MS, 1000 * MS, 1000 * MS]);
        pauses.reset();
        assert_eq!(pauses.next(), Some(250 * MS));
    }

    #[test]
    fn jittered_pauses_stay_between_the_pause_and_twice_it() {
        let pauses = Backoff::new(100 * MS, 400 * MS).with_jitter().pauses();
        for (pause, base) in pauses.zip([100, 200, 400, 400, 400]) {
            assert!(
                pause >= base * MS && pause < 2 * base * MS,
                "{pause:?} for {base} ms"
            );
        }
    }

    #[tokio::test]
    async fn until_done_retries_until_the_attempt_succeeds() {
        let tries = AtomicU32::new(0);
        let shutdown = CancellationToken::new();
        let done = until_done(
            "count to three",
            Backoff::new(MS, 10 * MS),
            &shutdown,
            || {
                let tried = tries.fetch_add(1, Ordering::SeqCst) + 1;
                async move {
                    if tried < 3 {
                        Err(format!("only {tried}"))
                    } else {
                        Ok(tried)
                    }
                }
            },
        )
        .await;
        assert_eq!(done, Some(3));
    }

    #[tokio::test]
    async fn until_done_gives_up_at_shutdown_without_another_try() {
        let tries = AtomicU32::new(0);
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        let done: Option<()> = until_done(
            "fail",
            Backoff::new(Duration::from_secs(60), Duration::from_secs(60)),
            &shutdown,
            || {
                tries.fetch_add(1, Ordering::SeqCst);
                stop.cancel();
                async { Err("down") }
            },
        )
        .await;
        assert_eq!(done, None);
        assert_eq!(tries.load(Ordering::SeqCst), 1);
    }
}
