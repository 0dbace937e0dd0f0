//! Every read of orders the web gateway makes, as MySQL has them (written by the persistence
//! worker): the web counterpart of the bot's `order_lookup`. Handlers decide who may ask
//! and what the answer looks like; the SQL lives here.
//!
//! Reads for a customer are scoped to their account, so someone else's order (or file)
//! looks exactly like one that does not exist. Order numbers are random, so one customer
//! may (very rarely) hold two equal ones: the newest wins, as it is the one they most
//! likely mean.

use chrono::{DateTime, Utc};
use proto_events::OrderStatus;
use serde::Serialize;
use sqlx::{MySql, MySqlPool, QueryBuilder};
use uuid::Uuid;

use crate::domain::{Cursor, Page};

pub mod office;
pub mod portal;
pub mod reports;

/// A line of a customer's order list; the description only as far as an excerpt needs.
#[derive(Debug, sqlx::FromRow)]
pub struct CustomerOrderLine {
    pub id: Uuid,
    pub order_number: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    /// The description's first `excerpt_chars + 1` characters: enough to tell whether it
    /// goes on.
    pub body_start: String,
    pub expected_files: u32,
}

/// One page of the customer's orders, newest first, with one line more than a page when
/// there are more (see `Listing::from_rows`). Walks `orders_customer`
/// (`customer_id, created_at`, then the id) from the page's cursor.
pub async fn customer_orders(
    pool: &MySqlPool,
    account_id: Uuid,
    page: Page,
    excerpt_chars: u32,
) -> Result<Vec<CustomerOrderLine>, sqlx::Error> {
    let mut sql: QueryBuilder<MySql> = QueryBuilder::new(
        "SELECT o.id, o.order_number, o.status, o.created_at, SUBSTRING(o.body, 1, ",
    );
    sql.push_bind(excerpt_chars + 1)
        .push(
            ") AS body_start, o.expected_files \
             FROM orders o JOIN customers c ON c.id = o.customer_id \
             WHERE c.web_account_id = ",
        )
        .push_bind(account_id);
    below(&mut sql, page);
    sql.build_query_as().fetch_all(pool).await
}

/// Narrows a list to the lines below the page's cursor and orders it newest first, one line
/// more than a page. `(created_at, id) < cursor` is spelled out so that MariaDB reads it as
/// a range of the index.
fn below(sql: &mut QueryBuilder<MySql>, page: Page) {
    if let Some(cursor) = page.after() {
        sql.push(" AND (o.created_at < ")
            .push_bind(cursor.created_at)
            .push(" OR (o.created_at = ")
            .push_bind(cursor.created_at)
            .push(" AND o.id < ")
            .push_bind(cursor.id)
            .push("))");
    }
    sql.push(" ORDER BY o.created_at DESC, o.id DESC LIMIT ")
        .push_bind(Page::SIZE + 1);
}

/// An order as its page shows it.
#[derive(Debug, sqlx::FromRow)]
pub struct Order {
    pub id: Uuid,
    pub order_number: String,
    pub status: String,
    pub body: String,
    pub service_code: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The customer's order with this number, if they have one.
pub async fn customer_order(
    pool: &MySqlPool,
    account_id: Uuid,
    order_number: &str,
) -> Result<Option<Order>, sqlx::Error> {
    sqlx::query_as(
        "SELECT o.id, o.order_number, o.status, o.body, o.service_code, o.created_at, o.updated_at \
         FROM orders o JOIN customers c ON c.id = o.customer_id \
         WHERE c.web_account_id = ? AND o.order_number = ? \
         ORDER BY o.created_at DESC LIMIT 1",
    )
    .bind(account_id)
    .bind(order_number)
    .fetch_optional(pool)
    .await
}

/// A file of an order, in whatever state it is.
#[derive(Debug, sqlx::FromRow)]
pub struct OrderFile {
    pub id: Uuid,
    pub original_name: String,
    /// `customer_upload` or `result`.
    pub purpose: String,
    /// `received`, `stored` or `rejected`.
    pub state: String,
    pub declared_size: Option<u64>,
    pub size_bytes: Option<u64>,
    pub content_type: Option<String>,
    pub rejection_reason: Option<String>,
}

/// An order's files, in the order they arrived.
pub async fn order_files(pool: &MySqlPool, order_id: Uuid) -> Result<Vec<OrderFile>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, original_name, purpose, state, declared_size, size_bytes, content_type, rejection_reason \
         FROM order_files WHERE order_id = ? ORDER BY received_at, id",
    )
    .bind(order_id)
    .fetch_all(pool)
    .await
}

/// One step of an order's status history, as customers see it.
#[derive(Debug, sqlx::FromRow, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub version: u32,
    pub from_status: Option<String>,
    pub to_status: String,
    /// `staff`, `customer` or `system`; which staff member is not the customer's business.
    pub actor_kind: String,
    pub reason: Option<String>,
    pub changed_at: DateTime<Utc>,
}

/// An order's status history, oldest first.
pub async fn order_history(
    pool: &MySqlPool,
    order_id: Uuid,
) -> Result<Vec<HistoryEntry>, sqlx::Error> {
    sqlx::query_as(
        "SELECT version, from_status, to_status, actor_kind, reason, changed_at \
         FROM order_status_history WHERE order_id = ? ORDER BY version",
    )
    .bind(order_id)
    .fetch_all(pool)
    .await
}

/// A line of the staff's order list.
#[derive(Debug, sqlx::FromRow, Serialize, utoipa::ToSchema)]
pub struct StaffOrderLine {
    pub order_id: Uuid,
    pub order_number: String,
    pub customer_name: String,
    pub channel: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    /// Set when Telegram refused our messages (the customer blocked the bot): staff must
    /// reach this customer another way.
    pub customer_telegram_unreachable_since: Option<DateTime<Utc>>,
}

impl StaffOrderLine {
    /// Where this line is in the list.
    pub fn place(&self) -> Cursor {
        Cursor {
            created_at: self.created_at,
            id: self.order_id,
        }
    }
}

/// One page of every order (only those in `status`, if given), newest first, with one
/// line more than a page when there are more. Walks `orders_created` (`created_at, id`),
/// or `orders_status` (`status, created_at`, then the id) for one status.
/// `scope` narrows it to what the staff member may see (an executor's own orders).
pub async fn staff_orders(
    pool: &MySqlPool,
    scope: office::Scope,
    status: Option<OrderStatus>,
    page: Page,
) -> Result<Vec<StaffOrderLine>, sqlx::Error> {
    let mut sql: QueryBuilder<MySql> = QueryBuilder::new(
        "SELECT o.id AS order_id, o.order_number, c.display_name AS customer_name, o.channel, o.status, o.created_at, \
                c.telegram_unreachable_at AS customer_telegram_unreachable_since \
         FROM orders o JOIN customers c ON c.id = o.customer_id",
    );
    match status {
        Some(status) => sql.push(" WHERE o.status = ").push_bind(status.as_str()),
        None => sql.push(" WHERE TRUE"),
    };
    office::push_scope(&mut sql, scope);
    below(&mut sql, page);
    sql.build_query_as::<StaffOrderLine>().fetch_all(pool).await
}

/// Where an order stands: what a status change or an upload link checks first.
#[derive(Debug, sqlx::FromRow)]
pub struct OrderState {
    pub order_number: String,
    pub status: String,
    pub status_version: u32,
}

/// Where the order with this id stands, if there is one.
pub async fn order_state(
    pool: &MySqlPool,
    order_id: Uuid,
) -> Result<Option<OrderState>, sqlx::Error> {
    sqlx::query_as("SELECT order_number, status, status_version FROM orders WHERE id = ?")
        .bind(order_id)
        .fetch_optional(pool)
        .await
}

/// What a live order page starts from: the status now, and the customer's language for
/// the status names.
#[derive(Debug, sqlx::FromRow)]
pub struct LiveOrder {
    pub id: Uuid,
    pub order_number: String,
    pub status: String,
    pub status_version: u32,
    pub language: String,
}

/// The customer's order with this number, as a live page starts from it.
pub async fn customer_live_order(
    pool: &MySqlPool,
    account_id: Uuid,
    order_number: &str,
) -> Result<Option<LiveOrder>, sqlx::Error> {
    sqlx::query_as(
        "SELECT o.id, o.order_number, o.status, o.status_version, c.language \
         FROM orders o JOIN customers c ON c.id = o.customer_id \
         WHERE c.web_account_id = ? AND o.order_number = ? \
         ORDER BY o.created_at DESC LIMIT 1",
    )
    .bind(account_id)
    .bind(order_number)
    .fetch_optional(pool)
    .await
}

/// A stored file: where it is, the name to download it as and the type the storage worker
/// sniffed (`None` for files stored before types were recorded).
#[derive(Debug, sqlx::FromRow)]
pub struct StoredFile {
    pub object_key: String,
    pub original_name: String,
    pub content_type: Option<String>,
}

/// A stored file of the customer's order with this number.
pub async fn customer_stored_file(
    pool: &MySqlPool,
    account_id: Uuid,
    order_number: &str,
    file_id: Uuid,
) -> Result<Option<StoredFile>, sqlx::Error> {
    sqlx::query_as(
        "SELECT f.object_key, f.original_name, f.content_type FROM order_files f \
         JOIN orders o ON o.id = f.order_id JOIN customers c ON c.id = o.customer_id \
         WHERE c.web_account_id = ? AND o.order_number = ? AND f.id = ? \
           AND f.state = 'stored' AND f.object_key IS NOT NULL",
    )
    .bind(account_id)
    .bind(order_number)
    .bind(file_id)
    .fetch_optional(pool)
    .await
}

/// A stored file of the order with this id (for staff).
pub async fn order_stored_file(
    pool: &MySqlPool,
    order_id: Uuid,
    file_id: Uuid,
) -> Result<Option<StoredFile>, sqlx::Error> {
    sqlx::query_as(
        "SELECT object_key, original_name, content_type FROM order_files \
         WHERE order_id = ? AND id = ? AND state = 'stored' AND object_key IS NOT NULL",
    )
    .bind(order_id)
    .bind(file_id)
    .fetch_optional(pool)
    .await
}

/// The stored file with this id, whatever its order (for a signed download link).
pub async fn stored_file(
    pool: &MySqlPool,
    file_id: Uuid,
) -> Result<Option<StoredFile>, sqlx::Error> {
    sqlx::query_as(
        "SELECT object_key, original_name, content_type FROM order_files \
         WHERE id = ? AND state = 'stored' AND object_key IS NOT NULL",
    )
    .bind(file_id)
    .fetch_optional(pool)
    .await
}
