//! The transactional outbox: an event is written to `event_outbox` in the same MySQL
//! transaction as the change it announces ([`enqueue`]), so the change and its event are
//! committed together or not at all; a [`Relay`] then publishes it with publisher confirms
//! and marks it sent only after the broker confirmed. A crash between the commit and the
//! publish loses nothing: the row is still unsent and the next round (of this replica after
//! its restart, or of any other) publishes it.
//!
//! One relay at a time: a round starts by locking `event_outbox_relay`'s one row with
//! `SELECT … FOR UPDATE SKIP LOCKED`; a replica that finds it locked skips the round rather
//! than wait, so every gateway replica can run a relay and two never publish the same rows
//! at once. The holder reads the unsent rows in `id` order without locking them (a booking
//! committing meanwhile is never held up by the relay), publishes them in that order as one
//! confirmed batch, and marks them sent by primary key before it commits and lets the lease
//! go. A relay that dies mid-round releases the lease with its connection (the server drops
//! a vanished holder's connection after a minute idle); rows it had published but not
//! marked are published again by the next round, and consumers' inboxes drop the copies
//! (same `event_id`): at least once, never lost.
//!
//! Order: two changes of one booking are serialised by the booking's row lock, so the
//! later one's outbox row is inserted after the earlier one committed and has the higher
//! `id`; the relay publishes in `id` order, so consumers see a booking's changes in order.

use std::sync::Arc;
use std::time::Duration;

use bureau_event_bus::EventBus;
use proto_events::Envelope;
use sqlx::{Connection, MySqlConnection, MySqlPool};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How the relay runs.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// How often the outbox is looked at when nobody kicked the relay (a row written by
    /// another replica, or left by a crash, is published within this).
    pub poll: Duration,
    /// Rows published per round (one confirmed batch).
    pub batch: u32,
    /// How long the broker may take to confirm a batch before the round gives up (the rows
    /// stay unsent and are tried again).
    pub publish_timeout: Duration,
    /// Sent rows are deleted after this long (kept meanwhile for inspection).
    pub keep_sent: chrono::Duration,
    /// This replica's name in `event_outbox_relay.holder`.
    pub name: String,
}

impl RelaySettings {
    pub fn for_service(service: &str) -> RelaySettings {
        RelaySettings {
            poll: Duration::from_millis(500),
            batch: 100,
            publish_timeout: Duration::from_secs(10),
            keep_sent: chrono::Duration::days(1),
            name: format!("{service}-{}", Uuid::now_v7()),
        }
    }
}

/// Writes `envelope` to the outbox inside the caller's transaction; it is published after
/// the commit by whichever relay runs next. Writing the same event twice is an error (the
/// `event_id` is unique).
pub async fn enqueue(conn: &mut MySqlConnection, envelope: &Envelope) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO event_outbox (event_id, event_type, envelope, created_at)
         VALUES (?, ?, ?, UTC_TIMESTAMP(6))",
    )
    .bind(envelope.event_id)
    .bind(&envelope.event_type)
    .bind(envelope.to_json())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What one round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Round {
    /// Another replica held the lease: nothing was looked at.
    pub busy: bool,
    /// Rows published and marked sent.
    pub sent: usize,
    /// Rows set aside because they no longer decode.
    pub dead: usize,
}

/// Why a round published nothing it read.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the broker did not confirm: {0}")]
    Broker(String),
}

/// One round: takes the lease (or reports `busy`), publishes up to `batch` unsent rows in
/// order, marks them sent after the broker's confirm. Public for tests and tools.
pub async fn relay_once(
    pool: &MySqlPool,
    bus: &EventBus,
    settings: &RelaySettings,
) -> Result<Round, RelayError> {
    let mut conn = pool.acquire().await?;
    // The lease is this connection's lock: should the holder vanish without closing it (a
    // machine lost, a network cut), the server drops the connection after a minute idle
    // and the lease with it, rather than after its default eight hours. A round is never
    // idle that long (the broker's confirm is bounded by `publish_timeout`).
    sqlx::query("SET SESSION wait_timeout = 60")
        .execute(&mut *conn)
        .await?;
    let outcome = round(&mut conn, bus, settings).await;
    // The pool's other users get the server's default back (best effort).
    let _ = sqlx::query("SET SESSION wait_timeout = @@GLOBAL.wait_timeout")
        .execute(&mut *conn)
        .await;
    outcome
}

async fn round(
    conn: &mut MySqlConnection,
    bus: &EventBus,
    settings: &RelaySettings,
) -> Result<Round, RelayError> {
    let mut tx = conn.begin().await?;
    let lease: Option<String> = sqlx::query_scalar(
        "SELECT name FROM event_outbox_relay WHERE name = 'outbox' FOR UPDATE SKIP LOCKED",
    )
    .fetch_optional(&mut *tx)
    .await?;
    if lease.is_none() {
        return Ok(Round {
            busy: true,
            ..Round::default()
        });
    }
    // A plain read: the rows are not locked, so bookings writing new ones never wait for
    // the relay; only the lease holder reaches this line.
    let rows: Vec<(u64, Vec<u8>)> = sqlx::query_as(
        "SELECT id, envelope FROM event_outbox
         WHERE sent_at IS NULL AND dead_reason IS NULL ORDER BY id LIMIT ?",
    )
    .bind(settings.batch)
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        tx.commit().await?;
        return Ok(Round::default());
    }
    sqlx::query(
        "UPDATE event_outbox_relay SET holder = ?, held_since = UTC_TIMESTAMP(6) WHERE name = 'outbox'",
    )
    .bind(&settings.name)
    .execute(&mut *tx)
    .await?;
    let mut round = Round::default();
    let mut ids = Vec::with_capacity(rows.len());
    let mut envelopes = Vec::with_capacity(rows.len());
    for (id, bytes) in rows {
        match Envelope::from_json(&bytes) {
            Ok(envelope) => {
                ids.push(id);
                envelopes.push(envelope);
            }
            Err(error) => {
                let reason: String = error.to_string().chars().take(500).collect();
                tracing::error!(id, %reason, "an outbox row does not decode; set aside");
                sqlx::query("UPDATE event_outbox SET dead_reason = ? WHERE id = ?")
                    .bind(reason)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                round.dead += 1;
            }
        }
    }
    if envelopes.is_empty() {
        tx.commit().await?;
        return Ok(round);
    }
    let published =
        match tokio::time::timeout(settings.publish_timeout, bus.publish_all(&envelopes)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(format!("no confirm within {:?}", settings.publish_timeout)),
        };
    match published {
        Ok(()) => {
            let marks = format!(
                "UPDATE event_outbox SET sent_at = UTC_TIMESTAMP(6), attempts = attempts + 1,
                                         last_error = NULL
                 WHERE id IN ({})",
                placeholders(ids.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(marks));
            for id in &ids {
                query = query.bind(*id);
            }
            query.execute(&mut *tx).await?;
            tx.commit().await?;
            round.sent = ids.len();
            Ok(round)
        }
        Err(reason) => {
            let reason: String = reason.chars().take(500).collect();
            let marks = format!(
                "UPDATE event_outbox SET attempts = attempts + 1, last_error = ? WHERE id IN ({})",
                placeholders(ids.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(marks)).bind(&reason);
            for id in &ids {
                query = query.bind(*id);
            }
            query.execute(&mut *tx).await?;
            tx.commit().await?;
            Err(RelayError::Broker(reason))
        }
    }
}

/// `?, ?, ?` for `count` values.
fn placeholders(count: usize) -> String {
    vec!["?"; count].join(", ")
}

/// Deletes sent rows older than `keep`; how many.
pub async fn prune(pool: &MySqlPool, keep: chrono::Duration) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM event_outbox
         WHERE sent_at IS NOT NULL AND sent_at < UTC_TIMESTAMP(6) - INTERVAL ? SECOND
         LIMIT 1000",
    )
    .bind(keep.num_seconds())
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// How many rows wait to be published (for tests and readiness views).
pub async fn unsent(pool: &MySqlPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM event_outbox WHERE sent_at IS NULL AND dead_reason IS NULL",
    )
    .fetch_one(pool)
    .await
}

/// A running relay: publishes what the outbox holds, at once when [`Relay::kick`]ed (the
/// replica that just committed an event), otherwise every `poll`.
#[derive(Clone)]
pub struct Relay {
    kick: Arc<Notify>,
}

impl Relay {
    /// Starts the relay's loop until `shutdown`.
    pub fn start(
        pool: MySqlPool,
        bus: Arc<EventBus>,
        settings: RelaySettings,
        shutdown: CancellationToken,
    ) -> Relay {
        let kick = Arc::new(Notify::new());
        tokio::spawn(run(pool, bus, settings, kick.clone(), shutdown));
        Relay { kick }
    }

    /// Asks the relay to look now (an event was just committed).
    pub fn kick(&self) {
        self.kick.notify_one();
    }
}

async fn run(
    pool: MySqlPool,
    bus: Arc<EventBus>,
    settings: RelaySettings,
    kick: Arc<Notify>,
    shutdown: CancellationToken,
) {
    tracing::info!(relay = %settings.name, "outbox relay started");
    let mut failures = 0u32;
    let mut last_prune = tokio::time::Instant::now();
    while !shutdown.is_cancelled() {
        let pause = match relay_once(&pool, &bus, &settings).await {
            // More may be waiting: go on at once.
            Ok(round) if round.sent + round.dead > 0 => {
                failures = 0;
                Duration::ZERO
            }
            // Another replica is publishing; look again shortly in case it read its batch
            // before our row committed.
            Ok(round) if round.busy => Duration::from_millis(100),
            Ok(_) => {
                failures = 0;
                settings.poll
            }
            Err(error) => {
                failures = failures.saturating_add(1);
                tracing::warn!(%error, failures, "outbox relay round failed; the rows stay unsent");
                // 0.5 s doubling to 8 s while the broker or MySQL is away.
                settings.poll.max(Duration::from_millis(500)) * 2u32.pow(failures.min(5) - 1)
            }
        };
        if last_prune.elapsed() > Duration::from_secs(600) {
            last_prune = tokio::time::Instant::now();
            if let Err(error) = prune(&pool, settings.keep_sent).await {
                tracing::warn!(%error, "pruning the outbox failed");
            }
        }
        if pause.is_zero() {
            continue;
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = kick.notified() => {}
            _ = tokio::time::sleep(pause) => {}
        }
    }
    tracing::info!(relay = %settings.name, "outbox relay stopped");
}
