//! The customer portal's reads and its few writes of the customer's own profile: every
//! read is scoped to the signed-in account (`customers.web_account_id`), so a customer
//! joined to Telegram sees the orders of both channels, and nobody sees anyone else's.

use bureau_platform::notify_by::{Channel, NotifyBy};
use chrono::{DateTime, Utc};
use sqlx::MySqlPool;
use uuid::Uuid;

/// The customer behind a web account, as the profile shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Profile {
    pub id: Uuid,
    pub display_name: String,
    pub phone: Option<String>,
    pub language: String,
    pub notify_by: String,
    pub telegram_user_id: Option<i64>,
    pub telegram_username: Option<String>,
    pub telegram_chat_id: Option<i64>,
    pub telegram_unreachable_at: Option<DateTime<Utc>>,
    pub email: String,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub email_bouncing_at: Option<DateTime<Utc>>,
}

impl Profile {
    pub fn notify_by(&self) -> NotifyBy {
        NotifyBy::from_stored(&self.notify_by)
    }

    /// Where the next notice would go, by the notifier's rule (`NotifyBy::channel`).
    pub fn notices_go_to(&self, mail_on: bool) -> Channel {
        let telegram = self.telegram_chat_id.is_some() && self.telegram_unreachable_at.is_none();
        let email = mail_on && self.email_verified_at.is_some() && self.email_bouncing_at.is_none();
        self.notify_by().channel(telegram, email)
    }
}

pub async fn profile(pool: &MySqlPool, account_id: Uuid) -> Result<Option<Profile>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.id, c.display_name, c.phone, c.language, CAST(c.notify_by AS CHAR) AS notify_by, \
                c.telegram_user_id, c.telegram_username, c.telegram_chat_id, c.telegram_unreachable_at, \
                a.email, a.email_verified_at, a.email_bouncing_at \
         FROM customers c JOIN web_accounts a ON a.id = c.web_account_id \
         WHERE c.web_account_id = ?",
    )
    .bind(account_id)
    .fetch_optional(pool)
    .await
}

/// What the customer may change about themselves; the account's display name follows.
pub struct ProfileChange<'a> {
    pub display_name: &'a str,
    pub phone: Option<&'a str>,
    pub language: &'a str,
    pub notify_by: NotifyBy,
}

pub async fn update_profile(
    pool: &MySqlPool,
    account_id: Uuid,
    change: ProfileChange<'_>,
) -> Result<(), sqlx::Error> {
    let now = Utc::now();
    let mut tx = pool.begin().await?;
    sqlx::query(
        "UPDATE customers SET display_name = ?, phone = ?, language = ?, notify_by = ?, updated_at = ? \
         WHERE web_account_id = ?",
    )
    .bind(change.display_name)
    .bind(change.phone)
    .bind(change.language)
    .bind(change.notify_by.as_str())
    .bind(now)
    .bind(account_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE web_accounts SET display_name = ? WHERE id = ?")
        .bind(change.display_name)
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// The phone and language given at registration.
pub async fn set_contact(
    pool: &MySqlPool,
    account_id: Uuid,
    phone: Option<&str>,
    language: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE customers SET phone = ?, language = ? WHERE web_account_id = ?")
        .bind(phone)
        .bind(language)
        .bind(account_id)
        .execute(pool)
        .await
        .map(|_| ())
}

/// An order of the customer's, as its page starts from it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OwnOrder {
    pub id: Uuid,
    pub order_number: String,
    pub status: String,
    pub status_version: u32,
    pub body: String,
    pub service_code: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub async fn own_order(
    pool: &MySqlPool,
    account_id: Uuid,
    order_number: &str,
) -> Result<Option<OwnOrder>, sqlx::Error> {
    sqlx::query_as(
        "SELECT o.id, o.order_number, o.status, o.status_version, o.body, o.service_code, o.created_at \
         FROM orders o JOIN customers c ON c.id = o.customer_id \
         WHERE c.web_account_id = ? AND o.order_number = ? \
         ORDER BY o.created_at DESC LIMIT 1",
    )
    .bind(account_id)
    .bind(order_number)
    .fetch_optional(pool)
    .await
}

/// A message of the conversation the customer sees (never staff's internal comments).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Message {
    pub author_kind: String,
    pub body: String,
    pub posted_at: DateTime<Utc>,
}

pub async fn messages(pool: &MySqlPool, order_id: Uuid) -> Result<Vec<Message>, sqlx::Error> {
    sqlx::query_as(
        "SELECT CAST(author_kind AS CHAR) AS author_kind, body, posted_at \
         FROM order_messages WHERE order_id = ? ORDER BY posted_at, id",
    )
    .bind(order_id)
    .fetch_all(pool)
    .await
}

/// A file of the order, with when it arrived.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FileLine {
    pub id: Uuid,
    pub original_name: String,
    pub purpose: String,
    pub state: String,
    pub size: Option<u64>,
    pub rejection_reason: Option<String>,
    pub received_at: DateTime<Utc>,
}

pub async fn files(pool: &MySqlPool, order_id: Uuid) -> Result<Vec<FileLine>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, original_name, CAST(purpose AS CHAR) AS purpose, CAST(state AS CHAR) AS state, \
                COALESCE(size_bytes, declared_size) AS size, rejection_reason, received_at \
         FROM order_files WHERE order_id = ? ORDER BY received_at, id",
    )
    .bind(order_id)
    .fetch_all(pool)
    .await
}

/// A price staff offered.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Quote {
    pub event_id: Uuid,
    pub amount_minor: u64,
    pub currency: String,
    pub note: Option<String>,
    pub quoted_at: DateTime<Utc>,
}

pub async fn quotes(pool: &MySqlPool, order_id: Uuid) -> Result<Vec<Quote>, sqlx::Error> {
    sqlx::query_as(
        "SELECT event_id, amount_minor, currency, note, quoted_at FROM order_quotes \
         WHERE order_id = ? ORDER BY quoted_at, event_id",
    )
    .bind(order_id)
    .fetch_all(pool)
    .await
}

/// A service of the catalogue, with its category's path, for the order form.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Service {
    pub code: String,
    pub name_uk: String,
    pub name_en: String,
    pub price_minor: Option<u64>,
    pub currency: String,
    pub unit: String,
    pub category_uk: Option<String>,
    pub category_en: Option<String>,
}

/// Every service offered now (active, not archived, in an active category), grouped by
/// category in the catalogue's order; top-level services last.
pub async fn services(pool: &MySqlPool) -> Result<Vec<Service>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.code, s.name_uk, s.name_en, s.price_minor, s.currency, CAST(s.unit AS CHAR) AS unit, \
                CASE WHEN p.id IS NULL THEN k.name_uk ELSE CONCAT(p.name_uk, ' · ', k.name_uk) END AS category_uk, \
                CASE WHEN p.id IS NULL THEN k.name_en ELSE CONCAT(p.name_en, ' · ', k.name_en) END AS category_en \
         FROM catalogue_services s \
         LEFT JOIN catalogue_categories k ON k.id = s.category_id \
         LEFT JOIN catalogue_categories p ON p.id = k.parent_id \
         WHERE s.active AND s.archived_at IS NULL \
           AND (k.id IS NULL OR (k.active AND k.archived_at IS NULL)) \
           AND (p.id IS NULL OR (p.active AND p.archived_at IS NULL)) \
         ORDER BY k.id IS NULL, COALESCE(p.position, k.position), p.id, k.position, k.id, s.position, s.id",
    )
    .fetch_all(pool)
    .await
}

/// One line of an order's cart, as frozen at confirmation, with the service's names.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderLine {
    pub service_code: String,
    pub name_uk: Option<String>,
    pub name_en: Option<String>,
    pub quantity: u32,
    pub unit_price_minor: Option<u64>,
    pub currency: String,
    pub unit: String,
    pub line_total_minor: Option<u64>,
}

/// The order's cart lines in the customer's order, and its frozen total.
pub async fn order_lines(
    pool: &MySqlPool,
    order_id: Uuid,
) -> Result<(Vec<OrderLine>, Option<(u64, String)>), sqlx::Error> {
    let lines = sqlx::query_as(
        "SELECT i.service_code, s.name_uk, s.name_en, i.quantity, i.unit_price_minor, i.currency, \
                CAST(i.unit AS CHAR) AS unit, i.line_total_minor \
         FROM order_items i LEFT JOIN catalogue_services s ON s.code = i.service_code \
         WHERE i.order_id = ? ORDER BY i.position",
    )
    .bind(order_id)
    .fetch_all(pool)
    .await?;
    let total: Option<(Option<u64>, Option<String>)> =
        sqlx::query_as("SELECT total_minor, total_currency FROM orders WHERE id = ?")
            .bind(order_id)
            .fetch_optional(pool)
            .await?;
    let total = match total {
        Some((Some(minor), Some(currency))) => Some((minor, currency)),
        _ => None,
    };
    Ok((lines, total))
}
