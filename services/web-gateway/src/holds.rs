//! The sweep of unplaced holds: a time the portal's picker (or the bot's calendar, for a
//! draft) booked for an order the customer never sent is held for `bureau_scheduling::store::HOLD_MINUTES` (15) minutes from the
//! last choice, then cancelled here so the slot is free again
//! (`bureau_scheduling::store::expire_holds`: one transaction per sweep, its
//! `BookingChanged` events into the outbox, the reminders called off). Every replica sweeps;
//! `SKIP LOCKED` keeps two from taking the same hold. The holds are rows in MySQL, so a
//! restart forgets nothing: a hold that ran out while every gateway was down is swept by
//! the first one back. The clock is injected, so tests move time instead of waiting.

use std::sync::Arc;
use std::time::Duration;

use bureau_platform::outbox::Relay;
use bureau_scheduling::jiff::Timestamp;
use bureau_scheduling::store::{self, BookingError};
use sqlx::MySqlPool;
use tokio_util::sync::CancellationToken;

/// What time it is for the sweep: `Timestamp::now` in service, a moved clock in tests.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// How the sweep runs.
#[derive(Clone)]
pub struct Sweeping {
    pub clock: Clock,
    /// How often holds are looked at: a hold lives at most this much past its 15 minutes.
    pub poll: Duration,
}

impl Default for Sweeping {
    fn default() -> Sweeping {
        Sweeping {
            clock: Arc::new(Timestamp::now),
            poll: Duration::from_secs(30),
        }
    }
}

/// Holds expired per transaction.
const BATCH: u32 = 100;

/// Sweeps every `poll` until `shutdown`.
pub fn start(pool: MySqlPool, outbox: Relay, sweeping: Sweeping, shutdown: CancellationToken) {
    tokio::spawn(async move {
        loop {
            if let Err(error) = sweep(&pool, &outbox, (sweeping.clock)()).await {
                tracing::warn!(%error, "sweeping expired holds failed; trying again shortly");
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(sweeping.poll) => {}
            }
        }
    });
}

/// Cancels every hold unplaced at `now`; how many. Public for tests.
pub async fn sweep(
    pool: &MySqlPool,
    outbox: &Relay,
    now: Timestamp,
) -> Result<usize, BookingError> {
    let mut total = 0;
    loop {
        let expired = store::expire_holds(pool, crate::intake::PRODUCER, now, BATCH).await?;
        total += expired.len();
        if !expired.is_empty() {
            outbox.kick();
        }
        if expired.len() < BATCH as usize {
            return Ok(total);
        }
    }
}
