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

use chrono::{DateTime, Duration, Utc};
use sqlx::MySqlPool;
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
