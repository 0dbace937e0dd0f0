//! Status pushes as load (`bench-notify`, and `bench-bot` with pushes): one customer with one
//! order per chat, inserted in bulk, and status changes published round-robin over them.

use anyhow::Context;
use bureau_end_to_end::TestStack;
use proto_events::{Actor, Envelope, OrderStatus, OrderStatusChanged};
use uuid::Uuid;

/// Status changes to `orders`, `count` in all: every order's version 2, then every order's
/// version 3, …, as when many customers' orders move at once. Each names its version in its
/// reason (`v{n}`).
pub fn status_changes(orders: &[(Uuid, String)], count: usize) -> Vec<Envelope> {
    let mut envelopes = Vec::with_capacity(count);
    let per_chat = count.div_ceil(orders.len().max(1));
    'rounds: for round in 0..per_chat {
        for (order_id, number) in orders {
            if envelopes.len() == count {
                break 'rounds;
            }
            let version = 2 + round as u32;
            let change = OrderStatusChanged {
                order_id: *order_id,
                order_number: number.clone(),
                from: OrderStatus::Accepted,
                to: if round % 2 == 0 {
                    OrderStatus::InProgress
                } else {
                    OrderStatus::Ready
                },
                version,
                reason: Some(format!("v{version}")),
                actor: Actor::System,
                changed_at: chrono::Utc::now(),
                // As the persistence worker publishes them: recorded, for a request.
                request_id: Some(Uuid::now_v7()),
            };
            envelopes.push(Envelope::new("bench-pushes", *order_id, change));
        }
    }
    envelopes
}

pub fn chat_id(chat: usize) -> i64 {
    1_000_000 + chat as i64
}

/// The status version a benchmark message announces: the reason line is `Reason: v{n}`.
pub fn version_in(text: &str) -> Option<u32> {
    text.rsplit_once("v")?.1.parse().ok()
}

/// One customer with one order (status version 1) per chat, inserted in bulk; the chats are
/// [`chat_id`]`(0..chats)`.
pub async fn seed_orders(stack: &TestStack, chats: usize) -> anyhow::Result<Vec<(Uuid, String)>> {
    let mut orders = Vec::with_capacity(chats);
    for start in (0..chats).step_by(500) {
        let end = (start + 500).min(chats);
        let mut customers = sqlx::QueryBuilder::new(
            "INSERT INTO customers (id, display_name, language, telegram_user_id, telegram_chat_id, created_at, updated_at) ",
        );
        let ids: Vec<(Uuid, Uuid, String)> = (start..end)
            .map(|_| {
                (
                    Uuid::now_v7(),
                    Uuid::now_v7(),
                    proto_events::order_number::generate(),
                )
            })
            .collect();
        customers.push_values(ids.iter().enumerate(), |mut row, (i, (customer, _, _))| {
            let chat = chat_id(start + i);
            row.push_bind(*customer)
                .push_bind("Bench Customer")
                .push_bind(if (start + i) % 2 == 0 { "en" } else { "uk" })
                .push_bind(chat)
                .push_bind(chat)
                .push("UTC_TIMESTAMP(6)")
                .push("UTC_TIMESTAMP(6)");
        });
        customers
            .build()
            .execute(&stack.db)
            .await
            .context("customers")?;
        let mut rows = sqlx::QueryBuilder::new(
            "INSERT INTO orders (id, order_number, customer_id, channel, body, status, status_version, expected_files, created_at, updated_at) ",
        );
        rows.push_values(ids.iter(), |mut row, (customer, order, number)| {
            row.push_bind(*order)
                .push_bind(number.clone())
                .push_bind(*customer)
                .push_bind("telegram")
                .push_bind("bench")
                .push_bind("accepted")
                .push_bind(1u32)
                .push_bind(0u32)
                .push("UTC_TIMESTAMP(6)")
                .push("UTC_TIMESTAMP(6)");
        });
        rows.build().execute(&stack.db).await.context("orders")?;
        for (i, (_, order, number)) in ids.into_iter().enumerate() {
            stack.telegram.user(chat_id(start + i));
            orders.push((order, number));
        }
    }
    Ok(orders)
}
