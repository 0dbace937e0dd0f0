//! The durable reminder schedule (`reminders`): scheduled once per kind and subject,
//! claimed by one sender at a time with `FOR UPDATE SKIP LOCKED` and a lease, marked sent
//! or skipped. Every function takes the caller's `now`, so tests move a clock instead of
//! sleeping. Sending itself (in the customer's language, through the notifier's pace) is the
//! caller's: not built yet.
//!
//! Late reminders: one due while every sender was down is sent when a sender is back if it
//! is still useful, i.e. before its `not_after` (for a booking, its start); after that it is
//! skipped with the reason `moment_passed`, because "your appointment is in 1 hour" after the
//! appointment began only confuses. Quote and invoice reminders have no `not_after`: they
//! stay true until answered or paid, so they go out late.
//!
//! Who schedules: a booking's two reminders are written in the booking's own transaction
//! (`store::book`, moved by `store::reschedule`, cancelled by `store::cancel`); a quote's and
//! an invoice's by the persistence worker as it records the quote, the order, the answer and
//! the payment. A reminder whose moment is already past when it is scheduled (a booking made
//! 3 hours ahead has no use for a 24-hour reminder) is written skipped (`scheduled_late`).

use chrono::{DateTime, Duration, Utc};
use sqlx::{MySqlConnection, MySqlPool};
use uuid::Uuid;

/// What a reminder is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Booking24h,
    Booking1h,
    QuoteUnanswered,
    InvoiceUnpaid,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Booking24h => "booking_24h",
            Kind::Booking1h => "booking_1h",
            Kind::QuoteUnanswered => "quote_unanswered",
            Kind::InvoiceUnpaid => "invoice_unpaid",
        }
    }
}

impl Kind {
    pub fn parse(stored: &str) -> Option<Kind> {
        Some(match stored {
            "booking_24h" => Kind::Booking24h,
            "booking_1h" => Kind::Booking1h,
            "quote_unanswered" => Kind::QuoteUnanswered,
            "invoice_unpaid" => Kind::InvoiceUnpaid,
            _ => return None,
        })
    }

    /// How long before a booking's start its reminder is due.
    pub fn lead(self) -> Option<Duration> {
        match self {
            Kind::Booking24h => Some(Duration::hours(24)),
            Kind::Booking1h => Some(Duration::hours(1)),
            Kind::QuoteUnanswered | Kind::InvoiceUnpaid => None,
        }
    }
}

/// A quote not answered, or an invoice not paid, this long after it was sent is reminded of.
pub fn answer_wait() -> Duration {
    Duration::hours(24)
}

/// Schedules a reminder in the caller's transaction, or moves one already scheduled for
/// the same kind and subject. Scheduled again at the same moment (a redelivered event)
/// nothing changes; at another moment (a booking moved, a new quote) the reminder is due
/// anew, unsent, even if the old one was sent. Due before `now`: written skipped with the
/// reason `scheduled_late`.
pub async fn schedule_in(
    conn: &mut MySqlConnection,
    kind: Kind,
    subject_id: Uuid,
    due_at: DateTime<Utc>,
    not_after: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let late = (due_at <= now).then_some("scheduled_late");
    // MySQL assigns left to right: every column is compared with the old `due_at` before
    // `due_at` itself is replaced, last.
    sqlx::query(
        "INSERT INTO reminders (id, kind, subject_id, due_at, not_after, skipped_reason)
         VALUES (?, ?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE
           sent_at = IF(due_at = VALUES(due_at), sent_at, NULL),
           skipped_reason = IF(due_at = VALUES(due_at), skipped_reason, VALUES(skipped_reason)),
           claimed_by = IF(due_at = VALUES(due_at), claimed_by, NULL),
           claimed_until = IF(due_at = VALUES(due_at), claimed_until, NULL),
           not_after = VALUES(not_after),
           due_at = VALUES(due_at)",
    )
    .bind(Uuid::now_v7())
    .bind(kind.as_str())
    .bind(subject_id)
    .bind(due_at)
    .bind(not_after)
    .bind(late)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A booking's 24-hour and 1-hour reminders (or their move to a new start), each useless
/// once the booking has begun.
pub async fn schedule_booking(
    conn: &mut MySqlConnection,
    booking_id: Uuid,
    starts_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    for kind in [Kind::Booking24h, Kind::Booking1h] {
        let lead = kind.lead().unwrap_or_default();
        schedule_in(
            conn,
            kind,
            booking_id,
            starts_at - lead,
            Some(starts_at),
            now,
        )
        .await?;
    }
    Ok(())
}

/// Calls off the subject's unsent reminders of `kinds` with `reason` (`cancelled`,
/// `answered`, `paid`, `closed`); how many were called off.
pub async fn call_off(
    conn: &mut MySqlConnection,
    kinds: &[Kind],
    subject_id: Uuid,
    reason: &str,
) -> Result<u64, sqlx::Error> {
    let mut total = 0;
    for kind in kinds {
        let done = sqlx::query(
            "UPDATE reminders SET skipped_reason = ?
             WHERE kind = ? AND subject_id = ? AND sent_at IS NULL AND skipped_reason IS NULL",
        )
        .bind(reason)
        .bind(kind.as_str())
        .bind(subject_id)
        .execute(&mut *conn)
        .await?;
        total += done.rows_affected();
    }
    Ok(total)
}

/// A reminder a sender claimed: its to send, until `claimed_until`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Claimed {
    pub id: Uuid,
    pub kind: String,
    pub subject_id: Uuid,
    pub due_at: DateTime<Utc>,
}

/// A due row as read: id, kind, subject, due, not after.
type DueRow = (Uuid, String, Uuid, DateTime<Utc>, Option<DateTime<Utc>>);

/// Schedules a reminder once: a second call for the same kind and subject changes nothing.
pub async fn schedule(
    pool: &MySqlPool,
    kind: Kind,
    subject_id: Uuid,
    due_at: DateTime<Utc>,
    not_after: Option<DateTime<Utc>>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT IGNORE INTO reminders (id, kind, subject_id, due_at, not_after) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(Uuid::now_v7())
    .bind(kind.as_str())
    .bind(subject_id)
    .bind(due_at)
    .bind(not_after)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Claims up to `limit` due reminders for `sender` for `lease`; rows other senders hold
/// are skipped, not waited for. Reminders past their `not_after` are marked skipped.
pub async fn claim_due(
    pool: &MySqlPool,
    sender: &str,
    now: DateTime<Utc>,
    lease: Duration,
    limit: u32,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let rows: Vec<DueRow> = sqlx::query_as(
        "SELECT id, CAST(kind AS CHAR), subject_id, due_at, not_after FROM reminders
         WHERE sent_at IS NULL AND skipped_reason IS NULL AND due_at <= ?
           AND (claimed_until IS NULL OR claimed_until < ?)
         ORDER BY due_at LIMIT ? FOR UPDATE SKIP LOCKED",
    )
    .bind(now)
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let mut claimed = Vec::with_capacity(rows.len());
    for (id, kind, subject_id, due_at, not_after) in rows {
        if not_after.is_some_and(|last| last <= now) {
            sqlx::query("UPDATE reminders SET skipped_reason = 'moment_passed' WHERE id = ?")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tracing::info!(%id, kind, "reminder skipped: its moment passed");
            continue;
        }
        sqlx::query("UPDATE reminders SET claimed_by = ?, claimed_until = ? WHERE id = ?")
            .bind(sender)
            .bind(now + lease)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        claimed.push(Claimed {
            id,
            kind,
            subject_id,
            due_at,
        });
    }
    tx.commit().await?;
    Ok(claimed)
}

/// Marks a claimed reminder sent; `false` if `sender` no longer holds it (its lease ended
/// and another sender took it).
pub async fn mark_sent(
    pool: &MySqlPool,
    id: Uuid,
    sender: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE reminders SET sent_at = ? WHERE id = ? AND claimed_by = ? AND sent_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .bind(sender)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks a claimed reminder skipped with `reason` (the booking was cancelled, the quote
/// answered, the customer cannot be reached); `false` if `sender` no longer holds it.
pub async fn mark_skipped(
    pool: &MySqlPool,
    id: Uuid,
    sender: &str,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE reminders SET skipped_reason = ?
         WHERE id = ? AND claimed_by = ? AND sent_at IS NULL AND skipped_reason IS NULL",
    )
    .bind(reason)
    .bind(id)
    .bind(sender)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}
