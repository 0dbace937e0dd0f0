//! What an order is due and whether it can be paid now: one reading, shared by the bot
//! gateway (the invoice it sends, the `pre_checkout_query` it approves), the persistence
//! worker (whether a payment covers the order) and the web gateway (staff recording a
//! payment or a refund), so all of them agree.
//!
//! An order is due its latest price quote if staff quoted one, else the total frozen from
//! its cart at confirmation. It can be paid while it is neither cancelled nor rejected, not
//! waiting for the customer's answer to a quote, and not covered yet by payments less
//! refunds; an invoice is for what is left.

use proto_events::{Money, OrderStatus};
use sqlx::{MySqlConnection, Row};
use uuid::Uuid;

/// An order's money, as MySQL has it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub order_id: Uuid,
    pub order_number: String,
    pub status: OrderStatus,
    /// The latest quote, else the cart's total; `None`: no price yet.
    pub price: Option<Money>,
    /// Payments less refunds, in the price's currency (minor units; may be negative
    /// transiently, never shown so).
    pub paid_minor: i64,
    /// The customer's Telegram user id, when they came through Telegram (or linked it).
    pub telegram_user_id: Option<i64>,
    /// The customer's language tag (`uk`, `en`).
    pub language: String,
}

/// Why an order cannot be paid now; each has a sentence the customer understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotPayable {
    /// Cancelled or rejected.
    Closed,
    /// Quoted: the customer answers the quote first.
    AwaitingQuoteAnswer,
    /// No price yet (an order "on quote" not quoted).
    NoPrice,
    /// Payments already cover it.
    AlreadyPaid,
}

impl NotPayable {
    /// A stable code, for logs, the JSON API and the customer's message key.
    pub fn code(self) -> &'static str {
        match self {
            NotPayable::Closed => "closed",
            NotPayable::AwaitingQuoteAnswer => "awaiting_quote_answer",
            NotPayable::NoPrice => "no_price",
            NotPayable::AlreadyPaid => "already_paid",
        }
    }
}

impl Due {
    /// What is left to pay, or why nothing can be paid now.
    pub fn payable(&self) -> Result<Money, NotPayable> {
        match self.status {
            OrderStatus::Cancelled | OrderStatus::Rejected => return Err(NotPayable::Closed),
            OrderStatus::Quoted => return Err(NotPayable::AwaitingQuoteAnswer),
            _ => {}
        }
        let price = self.price.as_ref().ok_or(NotPayable::NoPrice)?;
        let paid = u64::try_from(self.paid_minor).unwrap_or(0);
        if paid >= price.amount_minor {
            return Err(NotPayable::AlreadyPaid);
        }
        Ok(Money {
            amount_minor: price.amount_minor - paid,
            currency: price.currency.clone(),
        })
    }

    /// Payments less refunds cover the price.
    pub fn is_paid(&self) -> bool {
        self.price.as_ref().is_some_and(|price| {
            u64::try_from(self.paid_minor).is_ok_and(|paid| paid >= price.amount_minor)
        })
    }
}

/// The order's money; `None` if there is no such order. `lock` takes the order's row lock
/// (`FOR UPDATE`), for a caller that records a payment in the same transaction.
pub async fn due(
    conn: &mut MySqlConnection,
    order_id: Uuid,
    lock: bool,
) -> Result<Option<Due>, sqlx::Error> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT o.order_number, o.status, o.total_minor, o.total_currency,
                c.telegram_user_id, c.language
         FROM orders o JOIN customers c ON c.id = o.customer_id
         WHERE o.id = ?{lock}"
    )))
    .bind(order_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let status: String = row.try_get("status")?;
    let Some(status) = OrderStatus::parse(&status) else {
        return Ok(None);
    };
    let quote = sqlx::query(
        "SELECT amount_minor, currency FROM order_quotes WHERE order_id = ?
         ORDER BY quoted_at DESC LIMIT 1",
    )
    .bind(order_id)
    .fetch_optional(&mut *conn)
    .await?;
    let price = match quote {
        Some(quote) => Some(Money {
            amount_minor: quote.try_get("amount_minor")?,
            currency: quote.try_get("currency")?,
        }),
        None => {
            let total: Option<u64> = row.try_get("total_minor")?;
            let currency: Option<String> = row.try_get("total_currency")?;
            total.zip(currency).map(|(amount_minor, currency)| Money {
                amount_minor,
                currency,
            })
        }
    };
    let paid_minor: i64 = match &price {
        Some(price) => sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(CASE kind WHEN 'payment' THEN CAST(amount_minor AS SIGNED)
                                               ELSE -CAST(amount_minor AS SIGNED) END), 0) AS SIGNED)
             FROM order_payments WHERE order_id = ? AND currency = ?",
        )
        .bind(order_id)
        .bind(&price.currency)
        .fetch_one(&mut *conn)
        .await?,
        None => 0,
    };
    Ok(Some(Due {
        order_id,
        order_number: row.try_get("order_number")?,
        status,
        price,
        paid_minor,
        telegram_user_id: row.try_get("telegram_user_id")?,
        language: row.try_get("language")?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due(status: OrderStatus, price: Option<u64>, paid: i64) -> Due {
        Due {
            order_id: Uuid::nil(),
            order_number: "48213097".into(),
            status,
            price: price.map(|amount_minor| Money {
                amount_minor,
                currency: "UAH".into(),
            }),
            paid_minor: paid,
            telegram_user_id: Some(1),
            language: "uk".into(),
        }
    }

    #[test]
    fn what_is_left_is_payable_while_the_order_is_open() {
        assert_eq!(
            due(OrderStatus::AwaitingConfirmation, Some(190_000), 0)
                .payable()
                .map(|m| m.amount_minor),
            Ok(190_000)
        );
        assert_eq!(
            due(OrderStatus::Accepted, Some(190_000), 40_000)
                .payable()
                .map(|m| m.amount_minor),
            Ok(150_000)
        );
        assert_eq!(
            due(OrderStatus::Accepted, Some(190_000), 190_000).payable(),
            Err(NotPayable::AlreadyPaid)
        );
        assert_eq!(
            due(OrderStatus::Cancelled, Some(1), 0).payable(),
            Err(NotPayable::Closed)
        );
        assert_eq!(
            due(OrderStatus::Quoted, Some(1), 0).payable(),
            Err(NotPayable::AwaitingQuoteAnswer)
        );
        assert_eq!(
            due(OrderStatus::Accepted, None, 0).payable(),
            Err(NotPayable::NoPrice)
        );
        assert!(due(OrderStatus::Delivered, Some(10), 10).is_paid());
        assert!(!due(OrderStatus::Delivered, Some(10), -5).is_paid());
    }
}
