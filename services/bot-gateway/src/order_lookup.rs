//! Answers "what is the status of my order N": only ever among the asking customer's own
//! orders, so someone else's number looks exactly like a number that does not exist.

use proto_events::OrderStatus;
use sqlx::{MySqlPool, Row};

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

impl OrderLookup {
    pub fn new(pool: MySqlPool) -> OrderLookup {
        OrderLookup { pool }
    }

    /// The status of the Telegram user's order with this number; `None` when they have no
    /// such order (whether or not someone else does). Numbers are random, so two orders may
    /// share one: the customer's newest wins.
    pub async fn status(&self, telegram_user_id: i64, order_number: &str) -> Result<Option<OrderStatus>, LookupError> {
        let row = sqlx::query(
            "SELECT o.status FROM orders o JOIN customers c ON c.id = o.customer_id
             WHERE o.order_number = ? AND c.telegram_user_id = ?
             ORDER BY o.created_at DESC LIMIT 1",
        )
        .bind(order_number)
        .bind(telegram_user_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let name: String = row.try_get("status")?;
        OrderStatus::parse(&name).map(Some).ok_or(LookupError::UnknownStatus(name))
    }
}
