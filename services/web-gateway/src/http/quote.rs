//! A web customer's answer to a price quote, and what became of their requests:
//!
//! - `POST /api/orders/{order_number}/quote/accept` and `.../quote/decline`, with an optional
//!   JSON body `{"quote_id": "..."}` naming the quote answered (default: the latest one).
//!   The order must be the customer's own and `quoted`, and an acceptance within the
//!   quote's `valid_until` (else 409 `quote_expired`). The answer is a status change
//!   request like a staff member's (`quoted → accepted`; `quoted → cancelled` with the reason
//!   "quote declined"), decided by the persistence worker; 202 with the request's id.
//! - `GET /api/orders/{order_number}/status-requests/{request_id}`: pending, recorded or
//!   refused, for the customer's own requests and orders only.
//!
//! The Telegram side of the same answer is the notifier's Accept / Decline buttons.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use proto_events::{Actor, OrderStatus, QuoteAnswer, order_number};
use serde::Deserialize;
use uuid::Uuid;

use super::auth::Customer;
use super::openapi::ErrorBody;
use super::{AppState, Error};
use crate::status_requests::{self, Asked, RequestAccepted, RequestView};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/orders/{order_number}/quote/{answer}",
            post(answer_quote),
        )
        .route(
            "/api/orders/{order_number}/status-requests/{request_id}",
            get(status_request),
        )
}

const NO_SUCH_ORDER: &str = "No such order.";
const NO_SUCH_REQUEST: &str = "No such request.";

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuoteAnswerBody {
    /// The quote answered (the `PriceQuoted` event's id); refused if a newer one was made.
    quote_id: Option<Uuid>,
}

#[derive(sqlx::FromRow)]
struct OwnOrder {
    id: Uuid,
    order_number: String,
    status: String,
    status_version: u32,
}

/// Accept or decline the price quoted for the customer's own order: a status change
/// request, decided by the persistence worker.
#[utoipa::path(
    post,
    path = "/api/orders/{order_number}/quote/{answer}",
    tag = "orders",
    security(("session" = [])),
    params(
        ("order_number" = String, Path, description = "The order's number"),
        ("answer" = String, Path, description = "`accept` or `decline`"),
    ),
    request_body(content = Option<QuoteAnswerBody>, description = "Optional; an empty body answers the current quote"),
    responses(
        (status = 202, description = "Asked; follow `request_url` for the outcome", body = crate::status_requests::RequestAccepted),
        (status = 409, description = "The order has no quote to answer now", body = ErrorBody),
        (status = "4XX", description = "Not signed in, not a customer, no such order, or a bad body", body = ErrorBody),
        (status = 503, description = "The broker is down: nothing was asked (`Retry-After`)", body = ErrorBody),
    )
)]
pub(crate) async fn answer_quote(
    State(state): State<AppState>,
    Customer(customer): Customer,
    Path((number, answer)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, Error> {
    let answer = match answer.as_str() {
        "accept" => QuoteAnswer::Accept,
        "decline" => QuoteAnswer::Decline,
        _ => return Err(Error::NotFound("Answer a quote with accept or decline.")),
    };
    let body: QuoteAnswerBody = if body.iter().all(u8::is_ascii_whitespace) {
        QuoteAnswerBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|error| {
            Error::unprocessable(
                "invalid_body",
                format!("The body is optional; if sent it is {{\"quote_id\": \"...\"}}: {error}"),
            )
        })?
    };
    let number = order_number::parse(&number).ok_or(Error::NotFound(NO_SUCH_ORDER))?;
    let order: OwnOrder = sqlx::query_as(
        "SELECT o.id, o.order_number, o.status, o.status_version \
         FROM orders o JOIN customers c ON c.id = o.customer_id \
         WHERE c.web_account_id = ? AND o.order_number = ? \
         ORDER BY o.created_at DESC LIMIT 1",
    )
    .bind(customer.id)
    .bind(&number)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(Error::NotFound(NO_SUCH_ORDER))?;
    let status = OrderStatus::parse(&order.status).ok_or_else(|| {
        anyhow::anyhow!("order {} has unknown status `{}`", order.id, order.status)
    })?;
    if status != OrderStatus::Quoted {
        return Err(Error::Conflict {
            code: "not_quoted",
            message: format!(
                "Order №{} has no price waiting for your answer: it is {}.",
                order.order_number,
                status.as_str().replace('_', " ")
            ),
        });
    }
    let latest: Option<(Uuid, Option<chrono::DateTime<chrono::Utc>>)> = sqlx::query_as(
        "SELECT event_id, valid_until FROM order_quotes WHERE order_id = ? ORDER BY quoted_at DESC, event_id DESC LIMIT 1",
    )
    .bind(order.id)
    .fetch_optional(&state.pool)
    .await?;
    let (latest, valid_until) = match latest {
        Some((id, until)) => (Some(id), until),
        None => (None, None),
    };
    // A quick answer for what cannot work; the persistence worker decides it anyway (the
    // price may expire while the request travels).
    if answer == QuoteAnswer::Accept
        && let Some(until) = valid_until
        && until < chrono::Utc::now()
    {
        return Err(Error::Conflict {
            code: "quote_expired",
            message: format!(
                "The price for order №{} was valid until {}; it can no longer be accepted. Write to us and we will quote again.",
                order.order_number,
                until.format("%Y-%m-%d")
            ),
        });
    }
    if let Some(quote_id) = body.quote_id
        && Some(quote_id) != latest
    {
        return Err(Error::Conflict {
            code: "quote_outdated",
            message: format!(
                "This is not the latest price for order №{}; please answer the latest one.",
                order.order_number
            ),
        });
    }
    let event = Asked {
        order_id: order.id,
        order_number: order.order_number.clone(),
        expected_version: order.status_version,
        from: status,
        to: answer.target(),
        reason: answer.reason().map(str::to_owned),
        actor: Actor::Customer,
        quote_id: body.quote_id.or(latest),
    }
    .event();
    status_requests::publish(&state.pool, &state.bus, &event).await?;
    let request = status_requests::request_of(&event)
        .ok_or_else(|| anyhow::anyhow!("not a status change request"))?;
    let url = format!(
        "/api/orders/{}/status-requests/{}",
        order.order_number, request.request_id
    );
    tracing::info!(order_id = %order.id, answer = answer.as_str(), request_id = %request.request_id, "quote answered");
    let mut response = (
        StatusCode::ACCEPTED,
        axum::Json(RequestAccepted::new(request, url.clone())),
    )
        .into_response();
    if let Ok(location) = HeaderValue::from_str(&url) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// A request about the customer's own order; which staff member made it is not shown.
#[utoipa::path(
    get,
    path = "/api/orders/{order_number}/status-requests/{request_id}",
    tag = "orders",
    security(("session" = [])),
    params(
        ("order_number" = String, Path, description = "The order's number"),
        ("request_id" = String, Path, description = "The request's id (a UUID)"),
    ),
    responses(
        (status = 200, description = "Pending, recorded or refused", body = crate::status_requests::RequestView),
        (status = "4XX", description = "Not signed in, not a customer, or no such request of this customer", body = ErrorBody),
    )
)]
pub(crate) async fn status_request(
    State(state): State<AppState>,
    Customer(customer): Customer,
    Path((number, request_id)): Path<(String, String)>,
) -> Result<axum::Json<RequestView>, Error> {
    let number = order_number::parse(&number).ok_or(Error::NotFound(NO_SUCH_REQUEST))?;
    let request_id = Uuid::parse_str(&request_id).map_err(|_| Error::NotFound(NO_SUCH_REQUEST))?;
    let mut view = status_requests::view(&state.pool, request_id, Some(customer.id))
        .await?
        .filter(|view| view.order_number == number)
        .ok_or(Error::NotFound(NO_SUCH_REQUEST))?;
    view.actor_account_id = None;
    Ok(axum::Json(view))
}
