//! The customer's orders as MySQL has them (written by the persistence worker): status by
//! number, the paged list, one order's page. Every query is scoped to the asking Telegram
//! user, so someone else's order looks exactly like an order that does not exist.

use chrono::{DateTime, Utc};
use proto_events::OrderStatus;
use sqlx::{MySqlPool, Row};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("order lookup failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error("order has a status this build does not know: {0}")]
    UnknownStatus(String),
}

#[derive(Clone)]
pub struct OrderLookup {
    pool: MySqlPool,
}

/// A line of the order list.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderLine {
    pub id: Uuid,
    pub number: String,
    pub status: OrderStatus,
}

/// A page of the order list.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderPage {
    pub total: u32,
    pub offset: u32,
    pub lines: Vec<OrderLine>,
}

/// Everything one order's page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderDetails {
    pub id: Uuid,
    pub number: String,
    pub status: OrderStatus,
    /// The status version: a cancellation is requested at this version.
    pub version: u32,
    pub service_code: Option<String>,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub files: Vec<OrderFile>,
    pub history: Vec<(DateTime<Utc>, OrderStatus)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderFile {
    pub name: String,
    pub size: Option<u64>,
}

/// Orders per page of the list: one button each, plus the paging row.
pub const PAGE_SIZE: u32 = 5;

impl OrderLookup {
    pub fn new(pool: MySqlPool) -> OrderLookup {
        OrderLookup { pool }
    }

    /// The id and status of the Telegram user's order with this number; `None` when they have no
    /// such order (whether or not someone else does). Numbers issued before the sequence
    /// existed may repeat: the customer's newest wins.
    pub async fn status(
        &self,
        telegram_user_id: i64,
        order_number: &str,
    ) -> Result<Option<(Uuid, OrderStatus)>, LookupError> {
        let row = sqlx::query(
            "SELECT o.id, o.status FROM orders o JOIN customers c ON c.id = o.customer_id
             WHERE o.order_number = ? AND c.telegram_user_id = ?
             ORDER BY o.created_at DESC LIMIT 1",
        )
        .bind(order_number)
        .bind(telegram_user_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some((
            row.try_get("id")?,
            parse_status(row.try_get("status")?)?,
        )))
    }

    /// The customer's orders, newest first, [`PAGE_SIZE`] from `offset`.
    pub async fn page(&self, telegram_user_id: i64, offset: u32) -> Result<OrderPage, LookupError> {
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.telegram_user_id = ?",
        )
        .bind(telegram_user_id)
        .fetch_one(&self.pool)
        .await?;
        let rows = sqlx::query(
            "SELECT o.id, o.order_number, o.status FROM orders o JOIN customers c ON c.id = o.customer_id
             WHERE c.telegram_user_id = ? ORDER BY o.created_at DESC, o.id DESC LIMIT ? OFFSET ?",
        )
        .bind(telegram_user_id)
        .bind(PAGE_SIZE)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let lines = rows
            .iter()
            .map(|row| {
                Ok(OrderLine {
                    id: row.try_get("id")?,
                    number: row.try_get("order_number")?,
                    status: parse_status(row.try_get("status")?)?,
                })
            })
            .collect::<Result<_, LookupError>>()?;
        Ok(OrderPage {
            total: u32::try_from(total).unwrap_or(u32::MAX),
            offset,
            lines,
        })
    }

    /// One of the customer's orders; `None` if it is not theirs or does not exist.
    pub async fn details(
        &self,
        telegram_user_id: i64,
        order_id: Uuid,
    ) -> Result<Option<OrderDetails>, LookupError> {
        let row = sqlx::query(
            "SELECT o.id, o.order_number, o.status, o.status_version, o.service_code, o.body, o.created_at
             FROM orders o JOIN customers c ON c.id = o.customer_id
             WHERE o.id = ? AND c.telegram_user_id = ?",
        )
        .bind(order_id)
        .bind(telegram_user_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let files = sqlx::query(
            "SELECT original_name, COALESCE(size_bytes, declared_size) AS size FROM order_files
             WHERE order_id = ? AND purpose = 'customer_upload' ORDER BY received_at, id",
        )
        .bind(order_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|file| {
            Ok(OrderFile {
                name: file.try_get("original_name")?,
                size: file.try_get("size")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
        let history = sqlx::query(
            "SELECT changed_at, to_status FROM order_status_history WHERE order_id = ? ORDER BY version",
        )
        .bind(order_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|entry| Ok((entry.try_get("changed_at")?, parse_status(entry.try_get("to_status")?)?)))
        .collect::<Result<_, LookupError>>()?;
        Ok(Some(OrderDetails {
            id: row.try_get("id")?,
            number: row.try_get("order_number")?,
            status: parse_status(row.try_get("status")?)?,
            version: row.try_get("status_version")?,
            service_code: row.try_get("service_code")?,
            body: row.try_get("body")?,
            created_at: row.try_get("created_at")?,
            files,
            history,
        }))
    }
}

/// A customer's order waiting for their answer to a price quote.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotedOrder {
    pub id: Uuid,
    pub number: String,
    /// The status version the answer is requested at.
    pub version: u32,
}

impl OrderLookup {
    /// The order that `quote_id` (a `PriceQuoted` event id) quoted, if it is the asking
    /// customer's, `quote_id` is its latest quote, and it is still `quoted`; else `None`
    /// (the button is outdated). The persistence worker checks all of it again when it
    /// decides the answer; this only spares the customer a request that cannot succeed.
    pub async fn quoted_order(
        &self,
        telegram_user_id: i64,
        quote_id: Uuid,
    ) -> Result<Option<QuotedOrder>, LookupError> {
        let row = sqlx::query(
            "SELECT o.id, o.order_number, o.status, o.status_version,
                    (SELECT latest.event_id FROM order_quotes latest WHERE latest.order_id = o.id
                     ORDER BY latest.quoted_at DESC, latest.event_id DESC LIMIT 1) AS latest_quote
             FROM order_quotes q
             JOIN orders o ON o.id = q.order_id
             JOIN customers c ON c.id = o.customer_id
             WHERE q.event_id = ? AND c.telegram_user_id = ?",
        )
        .bind(quote_id)
        .bind(telegram_user_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let latest: Option<Uuid> = row.try_get("latest_quote")?;
        let status = parse_status(row.try_get("status")?)?;
        if status != OrderStatus::Quoted || latest != Some(quote_id) {
            return Ok(None);
        }
        Ok(Some(QuotedOrder {
            id: row.try_get("id")?,
            number: row.try_get("order_number")?,
            version: row.try_get("status_version")?,
        }))
    }
}

fn parse_status(name: String) -> Result<OrderStatus, LookupError> {
    OrderStatus::parse(&name).ok_or(LookupError::UnknownStatus(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MYSQL_ADMIN_URL: &str = "mysql://root@127.0.0.1:3306";

    /// The quote-answer button's lookup on the real MariaDB: only the asking customer's
    /// order, only its latest quote, only while the order is `quoted`.
    #[tokio::test]
    async fn a_quote_answer_finds_only_the_customers_quoted_order_at_its_latest_quote() {
        let name = format!("bureau_test_{}", Uuid::new_v4().simple());
        let admin = MySqlPool::connect(MYSQL_ADMIN_URL)
            .await
            .expect("MariaDB answers as root on 127.0.0.1:3306");
        // The name is ours: a fixed prefix and a UUID's hex digits.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE `{name}`")))
            .execute(&admin)
            .await
            .unwrap();
        let pool = MySqlPool::connect(&format!("{MYSQL_ADMIN_URL}/{name}"))
            .await
            .unwrap();
        bureau_platform::database::migrate(&pool).await.unwrap();
        let (customer, order) = (Uuid::now_v7(), Uuid::now_v7());
        sqlx::query(
            "INSERT INTO customers (id, display_name, telegram_user_id, telegram_chat_id, created_at, updated_at) \
             VALUES (?, 'Olena', 501, 501, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
        )
        .bind(customer)
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO orders (id, order_number, customer_id, channel, body, status, status_version, expected_files, created_at, updated_at) \
             VALUES (?, '48213097', ?, 'telegram', 'x', 'quoted', 2, 0, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
        )
        .bind(order)
        .bind(customer)
        .execute(&pool)
        .await
        .unwrap();
        let (older, latest) = (Uuid::now_v7(), Uuid::now_v7());
        for (quote, minutes_ago) in [(older, 5), (latest, 1)] {
            sqlx::query(
                "INSERT INTO order_quotes (event_id, order_id, amount_minor, currency, quoted_at) \
                 VALUES (?, ?, 125000, 'UAH', UTC_TIMESTAMP(6) - INTERVAL ? MINUTE)",
            )
            .bind(quote)
            .bind(order)
            .bind(minutes_ago)
            .execute(&pool)
            .await
            .unwrap();
        }
        let lookup = OrderLookup::new(pool.clone());

        assert_eq!(
            lookup.quoted_order(501, latest).await.unwrap(),
            Some(QuotedOrder {
                id: order,
                number: "48213097".into(),
                version: 2
            })
        );
        assert_eq!(
            lookup.quoted_order(501, older).await.unwrap(),
            None,
            "not the latest quote"
        );
        assert_eq!(
            lookup.quoted_order(502, latest).await.unwrap(),
            None,
            "someone else's"
        );
        assert_eq!(
            lookup.quoted_order(501, Uuid::now_v7()).await.unwrap(),
            None,
            "no such quote"
        );
        sqlx::query("UPDATE orders SET status = 'accepted', status_version = 3 WHERE id = ?")
            .bind(order)
            .execute(&pool)
            .await
            .unwrap();
        assert_eq!(
            lookup.quoted_order(501, latest).await.unwrap(),
            None,
            "answered already"
        );

        pool.close().await;
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE `{name}`")))
            .execute(&admin)
            .await
            .unwrap();
    }
}
