//! The journal of what Telegram or the SMTP server accepted (`notifications_sent`): it
//! stops a redelivered event from being sent twice and an older status from following a
//! newer one, whichever channel each went through (a notice goes to one channel). And of
//! what did not reach the customer (`notification_failures`), for staff to see on the order.

use sqlx::MySqlPool;
use uuid::Uuid;

/// One message Telegram (or the SMTP server) accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentNotification {
    pub event_id: Uuid,
    pub order_id: Uuid,
    /// The notice's kind (`status`, `result`, `message`, `quote`, `file_rejected`).
    pub kind: &'static str,
    /// The status version announced; `None` for notices that do not move the order.
    pub status_version: Option<u32>,
    /// `telegram` or `email`.
    pub channel: &'static str,
    /// The Telegram chat and message; `None` for an e-mail.
    pub chat_id: Option<i64>,
    pub telegram_message_id: Option<i64>,
}

/// Why a notice did not reach the customer (`notification_failures.outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Telegram answered that the customer blocked the bot or the chat is gone (403).
    Blocked,
    /// Not tried: the customer was already marked unreachable.
    SkippedUnreachable,
    /// Telegram refused the message itself; it goes to the dead letters.
    Refused,
    /// Telegram or the way there failed; the bus retries with backoff and dead-letters it
    /// after its last attempt. `attempts` counts the failures.
    Failing,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Blocked => "blocked",
            FailureKind::SkippedUnreachable => "skipped_unreachable",
            FailureKind::Refused => "refused",
            FailureKind::Failing => "failing",
        }
    }
}

/// One notice that did not reach the customer (this time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedNotification {
    pub event_id: Uuid,
    pub order_id: Uuid,
    pub kind: &'static str,
    pub outcome: FailureKind,
    pub detail: String,
}

/// Why a notice is not sent although its customer is reachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// This very event was sent before: a redelivery.
    AlreadySent,
    /// A status at least this new was already sent: this one arrived late.
    Superseded { newest_sent: u32 },
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skip::AlreadySent => f.write_str("this event was already sent"),
            Skip::Superseded { newest_sent } => {
                write!(f, "status version {newest_sent} was already sent")
            }
        }
    }
}

/// Decides from the journal whether a notice still needs sending.
pub fn skip_reason(
    already_sent: bool,
    newest_sent: Option<u32>,
    version: Option<u32>,
) -> Option<Skip> {
    if already_sent {
        return Some(Skip::AlreadySent);
    }
    match (newest_sent, version) {
        (Some(newest_sent), Some(version)) if newest_sent >= version => {
            Some(Skip::Superseded { newest_sent })
        }
        _ => None,
    }
}

#[derive(Debug, Clone)]
pub struct Journal {
    pool: MySqlPool,
}

impl Journal {
    pub fn new(pool: MySqlPool) -> Journal {
        Journal { pool }
    }

    /// Whether a notice for `event_id` must not be sent, and why.
    pub async fn skip_reason(
        &self,
        event_id: Uuid,
        order_id: Uuid,
        version: Option<u32>,
    ) -> Result<Option<Skip>, sqlx::Error> {
        let already_sent = sqlx::query("SELECT 1 FROM notifications_sent WHERE event_id = ?")
            .bind(event_id)
            .fetch_optional(&self.pool)
            .await?
            .is_some();
        let newest_sent = match version {
            Some(_) if !already_sent => self.newest_status_version(order_id).await?,
            _ => None,
        };
        Ok(skip_reason(already_sent, newest_sent, version))
    }

    async fn newest_status_version(&self, order_id: Uuid) -> Result<Option<u32>, sqlx::Error> {
        // ORDER BY + LIMIT rather than MAX(): the column keeps its INT UNSIGNED type.
        sqlx::query_scalar(
            "SELECT status_version FROM notifications_sent \
             WHERE order_id = ? AND status_version IS NOT NULL \
             ORDER BY status_version DESC LIMIT 1",
        )
        .bind(order_id)
        .fetch_optional(&self.pool)
        .await
    }

    /// Records a message Telegram accepted. A second record of the same event is ignored.
    pub async fn record(&self, sent: &SentNotification) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT IGNORE INTO notifications_sent \
             (event_id, order_id, kind, channel, status_version, chat_id, telegram_message_id, sent_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6))",
        )
        .bind(sent.event_id)
        .bind(sent.order_id)
        .bind(sent.kind)
        .bind(sent.channel)
        .bind(sent.status_version)
        .bind(sent.chat_id)
        .bind(sent.telegram_message_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

impl Journal {
    /// Records that a notice did not reach the customer: once per event, the latest outcome
    /// and reason kept and the failures counted (a retried event fails again and again).
    pub async fn record_failure(&self, failed: &FailedNotification) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO notification_failures \
             (event_id, order_id, kind, outcome, detail, attempts, failed_at) \
             VALUES (?, ?, ?, ?, ?, 1, UTC_TIMESTAMP(6)) \
             ON DUPLICATE KEY UPDATE outcome = VALUES(outcome), detail = VALUES(detail), \
             attempts = attempts + 1, failed_at = VALUES(failed_at)",
        )
        .bind(failed.event_id)
        .bind(failed.order_id)
        .bind(failed.kind)
        .bind(failed.outcome.as_str())
        .bind(failed.detail.chars().take(990).collect::<String>())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redelivery_is_skipped() {
        assert_eq!(skip_reason(true, None, Some(2)), Some(Skip::AlreadySent));
        assert_eq!(skip_reason(true, None, None), Some(Skip::AlreadySent));
    }

    #[test]
    fn an_older_or_equal_status_after_a_newer_one_is_skipped() {
        assert_eq!(
            skip_reason(false, Some(3), Some(2)),
            Some(Skip::Superseded { newest_sent: 3 })
        );
        assert_eq!(
            skip_reason(false, Some(3), Some(3)),
            Some(Skip::Superseded { newest_sent: 3 })
        );
        assert_eq!(skip_reason(false, Some(3), Some(4)), None);
        assert_eq!(skip_reason(false, None, Some(2)), None);
    }

    #[test]
    fn notices_without_a_version_ignore_the_status_order() {
        assert_eq!(skip_reason(false, Some(9), None), None);
    }
}
