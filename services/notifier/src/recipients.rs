//! Who hears about an order: its customer, their language and how to reach them (Telegram
//! chat, verified e-mail address that is not bouncing, and where they prefer to hear),
//! read from `orders` joined with `customers` and their web account; and marking a
//! Telegram chat that refuses our messages, or an address the mail server refuses.

use chrono::{DateTime, Utc};
use sqlx::MySqlPool;
use uuid::Uuid;

/// The customer of one order, as the notifier needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub customer_id: Uuid,
    /// The customer's name, for an e-mail's greeting.
    pub display_name: String,
    /// The number of the order the notice is about, as the customer knows it.
    pub order_number: String,
    /// The language tag the customer chose (`uk`, `en`).
    pub language: String,
    pub reach: TelegramReach,
    /// The web account's address, only once its owner verified it.
    pub email: Option<String>,
    /// Where the customer prefers to hear (`customers.notify_by`).
    pub preference: NoticeChannel,
    /// The start of the order's live booking, if it holds one (status pushes mention it).
    pub booked_at: Option<DateTime<Utc>>,
    /// The business's time zone as an admin set it (`business_details`); `None`: the
    /// settings'.
    pub business_zone: Option<String>,
}

/// `customers.notify_by`: where a customer prefers to hear about their orders; the type
/// and its rule are shared with the portal and the profile API.
pub use bureau_platform::notify_by::NotifyBy as NoticeChannel;

/// Whether, and where, we can write to the customer in Telegram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TelegramReach {
    /// Their private chat with the bot.
    Chat(i64),
    /// They use the web only: there is no chat to write to.
    NoChat,
    /// Telegram told us they blocked the bot (or the chat is gone) at this time; the bot
    /// gateway clears the mark when they write again.
    Unreachable { chat_id: i64, since: DateTime<Utc> },
}

#[derive(sqlx::FromRow)]
struct RecipientRow {
    customer_id: Uuid,
    display_name: String,
    order_number: String,
    language: String,
    telegram_chat_id: Option<i64>,
    telegram_unreachable_at: Option<DateTime<Utc>>,
    email: Option<String>,
    email_verified_at: Option<DateTime<Utc>>,
    email_bouncing_at: Option<DateTime<Utc>>,
    notice_channel: String,
    booked_at: Option<DateTime<Utc>>,
    business_zone: Option<String>,
}

impl From<RecipientRow> for Recipient {
    fn from(row: RecipientRow) -> Recipient {
        let reach = match (row.telegram_chat_id, row.telegram_unreachable_at) {
            (None, _) => TelegramReach::NoChat,
            (Some(chat_id), Some(since)) => TelegramReach::Unreachable { chat_id, since },
            (Some(chat_id), None) => TelegramReach::Chat(chat_id),
        };
        Recipient {
            customer_id: row.customer_id,
            display_name: row.display_name,
            order_number: row.order_number,
            language: row.language,
            reach,
            email: row
                .email
                .filter(|_| row.email_verified_at.is_some() && row.email_bouncing_at.is_none()),
            preference: NoticeChannel::from_stored(&row.notice_channel),
            booked_at: row.booked_at,
            business_zone: row.business_zone,
        }
    }
}

/// Lookups of order customers.
#[derive(Debug, Clone)]
pub struct Recipients {
    pool: MySqlPool,
}

impl Recipients {
    pub fn new(pool: MySqlPool) -> Recipients {
        Recipients { pool }
    }

    /// The customer of `order_id`, or `None` if the order is not in the database (yet).
    pub async fn of_order(&self, order_id: Uuid) -> Result<Option<Recipient>, sqlx::Error> {
        let row: Option<RecipientRow> = sqlx::query_as(
            "SELECT c.id AS customer_id, c.display_name, o.order_number, c.language, c.telegram_chat_id, c.telegram_unreachable_at, \
                    a.email, a.email_verified_at, a.email_bouncing_at, CAST(c.notify_by AS CHAR) AS notice_channel, \
                    (SELECT MIN(b.starts_at) FROM bookings b WHERE b.order_id = o.id AND b.status = 'booked') AS booked_at, \
                    (SELECT d.time_zone FROM business_details d WHERE d.id = 1) AS business_zone \
             FROM orders o JOIN customers c ON c.id = o.customer_id \
             LEFT JOIN web_accounts a ON a.id = c.web_account_id AND a.active \
             WHERE o.id = ?",
        )
        .bind(order_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Recipient::from))
    }

    /// Customer `customer_id` for a notice about no order (a booking staff made for a
    /// customer who phoned): `order_number` is empty. `None` if there is no such customer.
    pub async fn of_customer(&self, customer_id: Uuid) -> Result<Option<Recipient>, sqlx::Error> {
        let row: Option<RecipientRow> = sqlx::query_as(
            "SELECT c.id AS customer_id, c.display_name, '' AS order_number, c.language, c.telegram_chat_id, c.telegram_unreachable_at, \
                    a.email, a.email_verified_at, a.email_bouncing_at, CAST(c.notify_by AS CHAR) AS notice_channel, \
                    CAST(NULL AS DATETIME(6)) AS booked_at, \
                    (SELECT d.time_zone FROM business_details d WHERE d.id = 1) AS business_zone \
             FROM customers c \
             LEFT JOIN web_accounts a ON a.id = c.web_account_id AND a.active \
             WHERE c.id = ?",
        )
        .bind(customer_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Recipient::from))
    }

    /// Records that the mail server refused `email` for good (`reason`: its answer): the
    /// address is not e-mailed again until its owner verifies it anew. Only that address
    /// is marked: if the account changed it meanwhile, the new one stays usable.
    pub async fn mark_email_bouncing(
        &self,
        customer_id: Uuid,
        email: &str,
        reason: &str,
    ) -> Result<(), sqlx::Error> {
        let reason: String = reason.chars().take(500).collect();
        // Two statements, not one UPDATE joining `customers`: a change of `web_accounts`
        // fires the search trigger that updates `customers` (migration 20261206770001),
        // which MariaDB refuses inside a statement that reads `customers` (error 1442).
        let account: Option<Uuid> =
            sqlx::query_scalar("SELECT web_account_id FROM customers WHERE id = ?")
                .bind(customer_id)
                .fetch_optional(&self.pool)
                .await?
                .flatten();
        let Some(account) = account else {
            return Ok(());
        };
        sqlx::query(
            "UPDATE web_accounts \
             SET email_bouncing_at = COALESCE(email_bouncing_at, UTC_TIMESTAMP(6)), \
                 email_bounce_reason = ? \
             WHERE id = ? AND email = ?",
        )
        .bind(reason)
        .bind(account)
        .bind(email)
        .execute(&self.pool)
        .await?;
        tracing::info!(%customer_id, "the customer's e-mail address is marked bouncing");
        Ok(())
    }

    /// Records that Telegram refuses messages to the customer's chat, so later notices skip
    /// it instead of asking Telegram again. Only the chat that refused is marked: if the
    /// customer has linked another chat meanwhile, that one stays reachable.
    pub async fn mark_unreachable(
        &self,
        customer_id: Uuid,
        chat_id: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE customers \
             SET telegram_unreachable_at = UTC_TIMESTAMP(6), updated_at = UTC_TIMESTAMP(6) \
             WHERE id = ? AND telegram_chat_id = ?",
        )
        .bind(customer_id)
        .bind(chat_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(chat: Option<i64>, unreachable: Option<DateTime<Utc>>) -> RecipientRow {
        RecipientRow {
            customer_id: Uuid::nil(),
            display_name: "Olena".into(),
            order_number: "48213097".into(),
            language: "en".into(),
            telegram_chat_id: chat,
            telegram_unreachable_at: unreachable,
            email: Some("olena@example.com".into()),
            email_verified_at: None,
            email_bouncing_at: None,
            notice_channel: "auto".into(),
            booked_at: None,
            business_zone: None,
        }
    }

    #[test]
    fn only_a_verified_address_is_an_address() {
        assert_eq!(Recipient::from(row(None, None)).email, None);
        let mut verified = row(None, None);
        verified.email_verified_at = Some(Utc::now());
        verified.notice_channel = "email".into();
        let recipient = Recipient::from(verified);
        assert_eq!(recipient.email.as_deref(), Some("olena@example.com"));
        assert_eq!(recipient.preference, NoticeChannel::Email);
    }

    #[test]
    fn a_bouncing_address_is_no_address_until_verified_again() {
        let mut bouncing = row(None, None);
        bouncing.email_verified_at = Some(Utc::now());
        bouncing.email_bouncing_at = Some(Utc::now());
        assert_eq!(Recipient::from(bouncing).email, None);
    }

    #[test]
    fn reach_follows_the_chat_and_the_unreachable_mark() {
        let now = Utc::now();
        assert_eq!(
            Recipient::from(row(Some(7), None)).reach,
            TelegramReach::Chat(7)
        );
        assert_eq!(
            Recipient::from(row(None, None)).reach,
            TelegramReach::NoChat
        );
        assert_eq!(
            Recipient::from(row(None, Some(now))).reach,
            TelegramReach::NoChat
        );
        assert_eq!(
            Recipient::from(row(Some(7), Some(now))).reach,
            TelegramReach::Unreachable {
                chat_id: 7,
                since: now
            }
        );
    }
}
