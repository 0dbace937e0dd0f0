//! Status changes asked for through the web: staff moving an order, a customer answering a
//! price quote. The gateway never changes an order; it publishes a request
//! (`OrderStatusChangeRequested`) that the persistence worker decides once, and answers
//! 202 with the request's id. `status_change_requests` holds the request from the moment it
//! is published (`pending`, written here) to its outcome (`recorded` or `refused`, written by
//! the persistence worker), which is what `GET .../status-requests/{id}` shows.

use std::sync::Arc;
use std::time::Duration;

use bureau_event_bus::{EventBus, PublishError};
use chrono::{DateTime, Utc};
use proto_events::{Actor, Envelope, Event, OrderStatus, OrderStatusChangeRequested};
use serde::Serialize;
use sqlx::MySqlPool;
use uuid::Uuid;

use crate::intake::PRODUCER;

/// How long a request waits for the broker's confirm before the client hears 503.
pub const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);

/// The order as the requester saw it, and what they ask for.
#[derive(Debug, Clone)]
pub struct Asked {
    pub order_id: Uuid,
    pub order_number: String,
    pub expected_version: u32,
    pub from: OrderStatus,
    pub to: OrderStatus,
    pub reason: Option<String>,
    pub actor: Actor,
    pub quote_id: Option<Uuid>,
}

impl Asked {
    /// The request event, with a fresh request id.
    pub fn event(self) -> Envelope {
        let request = OrderStatusChangeRequested {
            request_id: Uuid::now_v7(),
            order_id: self.order_id,
            order_number: self.order_number,
            expected_version: self.expected_version,
            from: self.from,
            to: self.to,
            reason: self.reason,
            actor: self.actor,
            quote_id: self.quote_id,
            requested_at: Utc::now(),
        };
        Envelope::new(PRODUCER, self.order_id, request)
    }
}

/// The request inside `event`; `None` if it holds something else (a corrupt reservation).
pub fn request_of(event: &Envelope) -> Option<&OrderStatusChangeRequested> {
    match &event.payload {
        Event::OrderStatusChangeRequested(request) => Some(request),
        _ => None,
    }
}

/// Notes the request as pending, then publishes it and waits for the broker's confirm
/// (bounded by [`PUBLISH_TIMEOUT`]). A request noted but never published stays pending
/// and unseen: its id was never given to anyone.
pub async fn publish(
    pool: &MySqlPool,
    bus: &Arc<EventBus>,
    event: &Envelope,
) -> Result<(), crate::http::Error> {
    let request = request_of(event)
        .ok_or_else(|| anyhow::anyhow!("not a status change request: {}", event.event_type))?;
    note_pending(pool, request).await?;
    match tokio::time::timeout(PUBLISH_TIMEOUT, bus.publish(event)).await {
        Ok(published) => published.map_err(crate::http::Error::from),
        Err(_) => {
            Err(PublishError::Unavailable(format!("no confirm within {PUBLISH_TIMEOUT:?}")).into())
        }
    }
}

async fn note_pending(
    pool: &MySqlPool,
    request: &OrderStatusChangeRequested,
) -> Result<(), sqlx::Error> {
    let (actor_kind, actor_account) = match &request.actor {
        Actor::Staff { account_id } => ("staff", Some(*account_id)),
        Actor::Customer => ("customer", None),
        Actor::System => ("system", None),
    };
    // IGNORE: a retry of the same request (or its outcome, already written) keeps the row.
    sqlx::query(
        "INSERT IGNORE INTO status_change_requests
             (request_id, order_id, actor_kind, actor_account_id, from_status, to_status, reason,
              expected_version, quote_id, outcome, requested_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
    )
    .bind(request.request_id)
    .bind(request.order_id)
    .bind(actor_kind)
    .bind(actor_account)
    .bind(request.from.as_str())
    .bind(request.to.as_str())
    .bind(request.reason.as_deref())
    .bind(request.expected_version)
    .bind(request.quote_id)
    .bind(request.requested_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// The answer to a request: 202, with where to follow it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RequestAccepted {
    pub request_id: Uuid,
    pub order_id: Uuid,
    pub order_number: String,
    #[schema(value_type = String)]
    pub from: OrderStatus,
    #[schema(value_type = String)]
    pub to: OrderStatus,
    pub expected_version: u32,
    /// Always `pending`: the persistence worker has not decided it yet.
    #[schema(value_type = String)]
    pub outcome: &'static str,
    /// `GET` this for the outcome.
    pub request_url: String,
}

impl RequestAccepted {
    pub fn new(request: &OrderStatusChangeRequested, request_url: String) -> RequestAccepted {
        RequestAccepted {
            request_id: request.request_id,
            order_id: request.order_id,
            order_number: request.order_number.clone(),
            from: request.from,
            to: request.to,
            expected_version: request.expected_version,
            outcome: "pending",
            request_url,
        }
    }
}

/// A request and what became of it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct RequestView {
    pub request_id: Uuid,
    pub order_id: Uuid,
    pub order_number: String,
    /// `staff`, `customer` or `system`.
    pub actor_kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_account_id: Option<Uuid>,
    pub from: String,
    pub to: String,
    pub reason: Option<String>,
    pub expected_version: u32,
    /// `pending`, `recorded` or `refused`.
    pub outcome: String,
    /// Recorded: the order's status version the change made.
    pub version: Option<u32>,
    /// Refused: a stable code (`version_conflict`, `transition_not_allowed`, ...).
    pub refusal_code: Option<String>,
    /// Refused: why, in a sentence.
    pub refusal_reason: Option<String>,
    /// Decided: where the order was then (after the change, if recorded).
    pub current_status: Option<String>,
    pub current_version: Option<u32>,
    pub requested_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// The request `request_id`, if it exists and (for customers) is about `customer`'s order.
pub async fn view(
    pool: &MySqlPool,
    request_id: Uuid,
    customer: Option<Uuid>,
) -> Result<Option<RequestView>, sqlx::Error> {
    sqlx::query_as(
        "SELECT r.request_id, r.order_id, o.order_number, r.actor_kind, r.actor_account_id,
                r.from_status AS `from`, r.to_status AS `to`, r.reason, r.expected_version, r.outcome,
                r.recorded_version AS version, r.refusal_code, r.refusal_reason, r.current_status,
                r.current_version, r.requested_at, r.decided_at
         FROM status_change_requests r
         JOIN orders o ON o.id = r.order_id
         JOIN customers c ON c.id = o.customer_id
         WHERE r.request_id = ? AND (? IS NULL OR c.web_account_id = ?)",
    )
    .bind(request_id)
    .bind(customer)
    .bind(customer)
    .fetch_optional(pool)
    .await
}
