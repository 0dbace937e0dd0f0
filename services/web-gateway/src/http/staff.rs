//! The staff side of orders: the list (`GET /api/staff/orders`) and status changes
//! (`POST /api/staff/orders/{order_id}/status`).
//!
//! A status change is checked here against the state machine and the staff member's role,
//! then published as `OrderStatusChanged`; the persistence worker applies it and the
//! notifier tells the customer. The answer is 202: the change is on its way, not yet in
//! MySQL.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bureau_accounts::Account;
use chrono::Utc;
use proto_events::{Actor, Envelope, OrderStatus, OrderStatusChanged, TransitionError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::auth::Staff;
use super::extract::{Json, Query};
use super::listing::Listing;
use super::{AppState, Error};
use crate::domain::{Page, StatusReason};
use crate::idempotency::{self, Claim, Fingerprint, IdempotencyKey};
use crate::intake::PRODUCER;
use crate::queries::{self, OrderState, StaffOrderLine};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/staff/orders", get(list_orders))
        .route("/api/staff/orders/{order_id}/status", post(change_status))
}

#[derive(Deserialize)]
struct StaffListQuery {
    status: Option<String>,
    page: Option<String>,
}

async fn list_orders(
    State(state): State<AppState>,
    Staff(_): Staff,
    Query(query): Query<StaffListQuery>,
) -> Result<axum::Json<Listing<StaffOrderLine>>, Error> {
    let page =
        Page::parse(query.page.as_deref()).map_err(|e| Error::unprocessable("invalid_page", e))?;
    let status = match query
        .status
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(name) => Some(parse_status(name)?),
    };
    let rows = queries::staff_orders(&state.pool, status, page).await?;
    Ok(axum::Json(Listing::from_rows(page, rows)))
}

fn parse_status(name: &str) -> Result<OrderStatus, Error> {
    OrderStatus::parse(name).ok_or_else(|| {
        let known: Vec<&str> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
        Error::unprocessable(
            "unknown_status",
            format!(
                "`{name}` is not a status; statuses are {}.",
                known.join(", ")
            ),
        )
    })
}

#[derive(Deserialize)]
struct StatusChangeRequest {
    to: String,
    reason: Option<String>,
}

#[derive(Serialize)]
struct StatusChangeAccepted {
    order_id: Uuid,
    from: OrderStatus,
    to: OrderStatus,
    version: u32,
}

const NO_SUCH_ORDER: &str = "No such order.";

/// With an `Idempotency-Key`, a retried change gets the first answer (see
/// [`crate::idempotency`]); a repeat is never published twice.
async fn change_status(
    State(state): State<AppState>,
    Staff(staff): Staff,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    Json(request): Json<StatusChangeRequest>,
) -> Result<Response, Error> {
    let Some(key) = IdempotencyKey::from_headers(&headers)? else {
        return Ok(apply_status_change(state, staff, order_id, request)
            .await
            .into_response());
    };
    let fingerprint = Fingerprint::new("POST /api/staff/orders/{order_id}/status")
        .field(&order_id)
        .field(request.to.trim())
        .field(request.reason.as_deref().unwrap_or(""))
        .finish();
    let account_id = staff.id;
    match idempotency::claim(&state.pool, account_id, &key, &fingerprint, None).await? {
        Claim::Replay(response) | Claim::Refuse(response) => return Ok(response),
        // Nothing was reserved: redoing an abandoned change reads the order afresh.
        Claim::Fresh | Claim::Abandoned(_) => {}
    }
    let pool = state.pool.clone();
    let response = apply_status_change(state, staff, order_id, request)
        .await
        .into_response();
    Ok(idempotency::finish(&pool, account_id, &key, response).await?)
}

async fn apply_status_change(
    state: AppState,
    staff: Account,
    order_id: String,
    request: StatusChangeRequest,
) -> Result<(StatusCode, axum::Json<StatusChangeAccepted>), Error> {
    let order_id = Uuid::parse_str(&order_id).map_err(|_| Error::NotFound(NO_SUCH_ORDER))?;
    let to = parse_status(request.to.trim())?;
    let reason = StatusReason::parse(request.reason.as_deref())
        .map_err(|e| Error::unprocessable("invalid_reason", e))?;

    let OrderState {
        order_number,
        status,
        status_version,
    } = queries::order_state(&state.pool, order_id)
        .await?
        .ok_or(Error::NotFound(NO_SUCH_ORDER))?;
    let from = OrderStatus::parse(&status).ok_or_else(|| {
        anyhow::anyhow!("order {order_id} has unknown status `{status}` in the database")
    })?;
    from.transition(to, reason.as_ref().map(StatusReason::as_str))
        .map_err(transition_error)?;
    if !staff.role.may_move_order(from, to) {
        return Err(Error::Forbidden(
            "Executors can only start work on accepted orders and mark work in progress as ready.",
        ));
    }

    // The version is what the database showed a moment ago plus one. If two people change
    // the same order at once, both events carry the same version; the persistence worker
    // applies the first and drops the later one as stale, so the history never forks.
    let version = status_version
        .checked_add(1)
        .ok_or_else(|| anyhow::anyhow!("order {order_id} status version overflow"))?;
    let change = OrderStatusChanged {
        order_id,
        order_number,
        from,
        to,
        version,
        reason: reason.map(|r| r.as_str().to_owned()),
        actor: Actor::Staff {
            account_id: staff.id,
        },
        changed_at: Utc::now(),
    };
    state
        .bus
        .publish(&Envelope::new(PRODUCER, order_id, change))
        .await?;
    tracing::info!(%order_id, %from, %to, version, staff = %staff.id, "status change published");
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(StatusChangeAccepted {
            order_id,
            from,
            to,
            version,
        }),
    ))
}

/// The state machine's verdict as an answer: an impossible move conflicts with where the
/// order is (409); a missing reason is a fixable request (422).
fn transition_error(error: TransitionError) -> Error {
    let message = sentence(&error.to_string());
    match error {
        TransitionError::NotAllowed { .. } => Error::Conflict {
            code: "transition_not_allowed",
            message,
        },
        TransitionError::ReasonRequired { .. } => Error::unprocessable("reason_required", message),
    }
}

/// "an order cannot go from a to b" -> "An order cannot go from a to b."
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_machine_speaks_in_sentences() {
        let error = transition_error(TransitionError::NotAllowed {
            from: OrderStatus::Delivered,
            to: OrderStatus::InProgress,
        });
        assert!(matches!(
            error,
            Error::Conflict {
                code: "transition_not_allowed",
                ..
            }
        ));
        assert_eq!(
            error.to_string(),
            "An order cannot go from delivered to in_progress."
        );
        let error = transition_error(TransitionError::ReasonRequired {
            from: OrderStatus::Accepted,
            to: OrderStatus::Rejected,
        });
        assert!(matches!(
            error,
            Error::Unprocessable {
                code: "reason_required",
                ..
            }
        ));
    }

    #[test]
    fn unknown_status_names_list_the_known_ones() {
        let error = parse_status("done").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("`done` is not a status; statuses are awaiting_confirmation, quoted,")
        );
        assert_eq!(
            parse_status("in_progress").unwrap(),
            OrderStatus::InProgress
        );
    }
}
