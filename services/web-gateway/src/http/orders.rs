//! Customers' own orders: place one with files (`POST /api/orders`), list them
//! (`GET /api/orders`), read one (`GET /api/orders/{order_number}`).
//!
//! Placing an order writes nothing to MySQL: the gateway stages the files, publishes the
//! events and answers once the broker confirmed them; the persistence worker writes the
//! rows. Reads come from MySQL, so an order accepted a moment ago may take a moment to
//! show up in the list.
//!
//! With an `Idempotency-Key` header a retried POST gets the first answer (the same order
//! number), never a second order; see [`crate::idempotency`].

use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use proto_events::{Envelope, OrderStatus, order_number};
use serde::{Deserialize, Serialize};
use tracing::Instrument;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::{Customer, OrderingCustomer};
use super::extract::Query;
use super::listing::Listing;
use super::openapi::ErrorBody;
use super::order_form;
use super::{AppState, Error};
use crate::domain::{Cursor, Page, ServiceCode};
use crate::idempotency::{self, Claim, Fingerprint, IdempotencyKey};
use crate::intake::{self, NewWebOrder, Staging, publish_staged};
use crate::queries::{self, HistoryEntry};
use crate::quotas::{self, Budget};

pub fn router(max_upload_bytes: u64) -> Router<AppState> {
    // axum's default 2 MB body limit would cut every real upload short; the route reads up
    // to the configured file limit plus the form's own overhead.
    let body_limit =
        usize::try_from(order_form::request_limit(max_upload_bytes)).unwrap_or(usize::MAX);
    Router::new()
        .route(
            "/api/orders",
            post(place_order)
                .layer(DefaultBodyLimit::max(body_limit))
                .get(list_orders),
        )
        .route("/api/orders/{order_number}", get(order_details))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct OrderAccepted {
    order_id: Uuid,
    order_number: String,
    /// `awaiting_confirmation`.
    #[schema(value_type = String)]
    status: OrderStatus,
    files: Vec<AcceptedFile>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct AcceptedFile {
    file_id: Uuid,
    name: String,
    size: u64,
}

/// The order form as the API reads it (multipart/form-data; parts in any order).
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: `order_form` reads the parts as they stream.
pub(crate) struct OrderFormDoc {
    /// What to do; required unless a file is attached.
    text: Option<String>,
    /// A service of the catalogue.
    service_code: Option<String>,
    /// Any number of files, each up to the configured limit.
    #[schema(value_type = Vec<String>, format = Binary)]
    file: Vec<Vec<u8>>,
}

/// Place an order with its text and files (streamed; any size up to the limit).
#[utoipa::path(
    post,
    path = "/api/orders",
    tag = "orders",
    security(("session" = [])),
    request_body(content = OrderFormDoc, content_type = "multipart/form-data"),
    params(("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key get the first answer")),
    responses(
        (status = 201, description = "Accepted: the order number", body = OrderAccepted),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Staff cannot place orders", body = ErrorBody),
        (status = 413, description = "A file or the day's bytes over the limit", body = ErrorBody),
        (status = "4XX", description = "The form breaks a rule", body = ErrorBody),
        (status = 503, description = "Broker or storage down: nothing was saved (`Retry-After`)", body = ErrorBody),
    )
)]
pub(crate) async fn place_order(
    State(state): State<AppState>,
    caller: OrderingCustomer,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, Error> {
    let idempotency_key = IdempotencyKey::from_headers(&headers)?;
    let max_upload_bytes = state.settings.web_gateway.max_upload_bytes;
    order_form::refuse_oversized(&headers, max_upload_bytes)?;
    let mut multipart = multipart?;
    let quota_settings = &state.settings.web_gateway.quotas;
    // The session, the customer row and the open orders came in one statement.
    let OrderingCustomer {
        account: customer,
        customer_id,
        open_orders,
    } = caller;
    quotas::check_open(quota_settings, open_orders)?;
    // The day's allowance is read when a file part arrives: a text order never reads it.
    let mut budget = Budget::on_first_file(&state.pool, quota_settings, customer_id);
    // Taken before the upload, so a customer never streams a large file only to hear that
    // no number could be had; a number left unused is never issued again.
    let order_number = state.order_numbers.next().await?;

    let order_id = Uuid::now_v7();
    let mut staging = Staging::new(state.store.clone());
    let form = match order_form::read(
        &mut multipart,
        order_id,
        &state.store,
        max_upload_bytes,
        &mut budget,
        &mut staging,
    )
    .await
    {
        Ok(form) => form,
        Err(error) => {
            staging.discard().await;
            return Err(error);
        }
    };
    if form.text.is_empty() && form.files.is_empty() {
        return Err(Error::unprocessable(
            "empty_order",
            "Describe the order or attach at least one file.",
        ));
    }
    // A service staff withdrew (deactivated or archived) is not taken in new orders; a code
    // the catalogue does not know stays a free-form hint, as before.
    if let Some(code) = &form.service_code {
        let withdrawn = sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM catalogue_services
                            WHERE code = ? AND (NOT active OR archived_at IS NOT NULL))",
        )
        .bind(code.as_str())
        .fetch_one(&state.pool)
        .await;
        match withdrawn {
            Ok(false) => {}
            Ok(true) => {
                staging.discard().await;
                return Err(Error::unprocessable(
                    "service_withdrawn",
                    "This service is no longer offered. Choose another, or leave the service blank and describe what you need.",
                ));
            }
            Err(error) => {
                staging.discard().await;
                return Err(error.into());
            }
        }
    }
    // Exact under concurrency: another upload of this customer may have been charged while
    // this one streamed. An order without files charges nothing and writes nothing.
    let bytes: u64 = form.files.iter().map(|file| file.size).sum();
    let files = u32::try_from(form.files.len()).unwrap_or(u32::MAX);
    if let Err(error) = quotas::charge(&state.pool, quota_settings, customer_id, bytes, files).await
    {
        staging.discard().await;
        return Err(error.into());
    }

    let order = NewWebOrder {
        order_id,
        order_number,
        account_id: customer.id,
        text: form.text,
        service_code: form.service_code,
        files: form.files,
        created_at: Utc::now(),
    };
    let events = order.events();
    let accepted = OrderAccepted {
        order_id,
        order_number: order.order_number.clone(),
        status: OrderStatus::AwaitingConfirmation,
        files: order
            .files
            .iter()
            .map(|file| AcceptedFile {
                file_id: file.file_id,
                name: file.name.as_str().to_owned(),
                size: file.size,
            })
            .collect(),
    };
    if let Some(key) = idempotency_key {
        return place_idempotently(&state, customer.id, &key, &order, events, accepted, staging)
            .await;
    }
    // The files go with the events to a task of their own: a client that disconnects while
    // the broker's confirm is awaited leaves an order that may exist with its files.
    publish_staged(state.bus.clone(), events, staging).await?;
    tracing::info!(%order_id, order_number = %order.order_number, files = order.files.len(), "order accepted");
    Ok((StatusCode::CREATED, axum::Json(accepted)).into_response())
}

/// What an order's first attempt keeps with its idempotency key: the exact events and the
/// answer, so a retry after a crash or a failed publish republishes the same events (the
/// consumers drop copies by event id) and answers with the same order number.
#[derive(Serialize, Deserialize)]
struct OrderReservation {
    events: Vec<String>,
    answer: serde_json::Value,
}

/// `place_order` for a request with an `Idempotency-Key`: see [`crate::idempotency`].
async fn place_idempotently(
    state: &AppState,
    account_id: Uuid,
    key: &IdempotencyKey,
    order: &NewWebOrder,
    events: Vec<Envelope>,
    accepted: OrderAccepted,
    staging: Staging,
) -> Result<Response, Error> {
    let mut fingerprint = Fingerprint::new("POST /api/orders")
        .field(order.text.as_str())
        .field(
            &order
                .service_code
                .clone()
                .map(ServiceCode::into_string)
                .unwrap_or_default(),
        );
    for file in &order.files {
        fingerprint = fingerprint
            .field(file.name.as_str())
            .field(&file.size.to_string())
            .field(file.declared_content_type.as_deref().unwrap_or(""));
    }
    let reservation = OrderReservation {
        events: events
            .iter()
            .map(|event| String::from_utf8_lossy(&event.to_json()).into_owned())
            .collect(),
        answer: serde_json::to_value(&accepted).map_err(anyhow::Error::from)?,
    };
    let reserved = serde_json::to_string(&reservation).map_err(anyhow::Error::from)?;
    let claim = idempotency::claim(
        &state.pool,
        account_id,
        key,
        &fingerprint.finish(),
        Some(&reserved),
    )
    .await;
    let reservation = match claim {
        Err(error) => {
            staging.discard().await;
            return Err(error.into());
        }
        Ok(Claim::Replay(response) | Claim::Refuse(response)) => {
            staging.discard().await;
            return Ok(response);
        }
        // The reservation now refers to the staged objects: they stay even if publishing
        // fails, for the retry to publish (a staging sweep removes them if none comes).
        Ok(Claim::Fresh) => {
            staging.hand_over();
            reservation
        }
        // An earlier attempt reserved this order: redo it, not ours.
        Ok(Claim::Abandoned(reserved)) => {
            staging.discard().await;
            reserved
                .and_then(|json| serde_json::from_str::<OrderReservation>(&json).ok())
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "idempotency key {} has no readable reservation",
                        key.as_str()
                    )
                })?
        }
    };
    let events = reservation
        .events
        .iter()
        .map(|json| Envelope::from_json(json.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| anyhow::anyhow!("reserved event unreadable: {error}"))?;
    // Published and answered in a task of its own, bounded like any order's publish: a
    // client that goes away mid-confirm still leaves the key answered for its retry.
    let (bus, pool, key) = (state.bus.clone(), state.pool.clone(), key.clone());
    let task = tokio::spawn(async move {
        let published =
            tokio::time::timeout(intake::PUBLISH_TIMEOUT, bus.publish_all(&events)).await;
        let response = match published {
            Ok(Ok(())) => {
                tracing::info!(order_id = %events[0].correlation_id, files = events.len() - 1, "order accepted");
                (StatusCode::CREATED, axum::Json(reservation.answer)).into_response()
            }
            Ok(Err(error)) => Error::from(error).into_response(),
            Err(_) => Error::broker_unavailable().into_response(),
        };
        idempotency::finish(&pool, account_id, &key, response).await
    }
    // In the request's span, so the trace goes on from it.
    .in_current_span());
    Ok(task.await.map_err(|error| {
        Error::Internal(anyhow::anyhow!("the publishing task failed: {error}"))
    })??)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Page number (1, 2, ...).
    page: Option<String>,
    /// The `next` cursor of the previous page.
    after: Option<String>,
}

/// Characters of the description shown in lists.
const EXCERPT_CHARS: usize = 160;

#[derive(Serialize, ToSchema)]
pub(crate) struct OrderSummary {
    order_id: Uuid,
    order_number: String,
    status: String,
    created_at: DateTime<Utc>,
    excerpt: String,
    file_count: u32,
}

/// The signed-in customer's orders, newest first, paged.
#[utoipa::path(
    get,
    path = "/api/orders",
    tag = "orders",
    security(("session" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "One page", body = Listing<OrderSummary>),
        (status = "4XX", description = "Not signed in, not a customer, or a bad page", body = ErrorBody),
    )
)]
pub(crate) async fn list_orders(
    State(state): State<AppState>,
    Customer(customer): Customer,
    Query(query): Query<ListQuery>,
) -> Result<axum::Json<Listing<OrderSummary>>, Error> {
    let page = Page::parse(query.page.as_deref(), query.after.as_deref())
        .map_err(|e| Error::unprocessable("invalid_page", e))?;
    let rows =
        queries::customer_orders(&state.pool, customer.id, page, EXCERPT_CHARS as u32).await?;
    let summaries = rows
        .into_iter()
        .map(|row| OrderSummary {
            order_id: row.id,
            order_number: row.order_number,
            status: row.status,
            created_at: row.created_at,
            excerpt: excerpt(&row.body_start),
            file_count: row.expected_files,
        })
        .collect();
    Ok(axum::Json(Listing::from_rows(page, summaries, |line| {
        Cursor {
            created_at: line.created_at,
            id: line.order_id,
        }
    })))
}

/// The start of a description, cut at a character boundary with an ellipsis if longer.
fn excerpt(text: &str) -> String {
    bureau_kit::text::clip(text, EXCERPT_CHARS)
}

#[derive(Serialize, ToSchema)]
pub(crate) struct OrderDetails {
    order_id: Uuid,
    order_number: String,
    status: String,
    text: String,
    service_code: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    files: Vec<FileView>,
    history: Vec<HistoryEntry>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct FileView {
    file_id: Uuid,
    name: String,
    /// `customer_upload` or `result`.
    purpose: String,
    /// `received`, `stored` or `rejected`.
    state: String,
    /// Measured once stored, as declared before that.
    size: Option<u64>,
    content_type: Option<String>,
    rejection_reason: Option<String>,
}

const NO_SUCH_ORDER: &str = "No such order.";

/// Only the customer's own orders are found; someone else's order answers exactly like
/// one that does not exist, so order numbers cannot be probed.
#[utoipa::path(
    get,
    path = "/api/orders/{order_number}",
    tag = "orders",
    security(("session" = [])),
    params(("order_number" = String, Path, description = "The order's number (8 digits)")),
    responses(
        (status = 200, description = "The order, its files and its history", body = OrderDetails),
        (status = 404, description = "No such order of this customer", body = ErrorBody),
        (status = "4XX", description = "Not signed in, or not a customer", body = ErrorBody),
    )
)]
pub(crate) async fn order_details(
    State(state): State<AppState>,
    Customer(customer): Customer,
    Path(number): Path<String>,
) -> Result<axum::Json<OrderDetails>, Error> {
    let number = order_number::parse(&number).ok_or(Error::NotFound(NO_SUCH_ORDER))?;
    let order = queries::customer_order(&state.pool, customer.id, &number)
        .await?
        .ok_or(Error::NotFound(NO_SUCH_ORDER))?;
    let files = queries::order_files(&state.pool, order.id).await?;
    let history = queries::order_history(&state.pool, order.id).await?;

    Ok(axum::Json(OrderDetails {
        order_id: order.id,
        order_number: order.order_number,
        status: order.status,
        text: order.body,
        service_code: order.service_code,
        created_at: order.created_at,
        updated_at: order.updated_at,
        files: files
            .into_iter()
            .map(|file| FileView {
                file_id: file.id,
                name: file.original_name,
                purpose: file.purpose,
                state: file.state,
                size: file.size_bytes.or(file.declared_size),
                content_type: file.content_type,
                rejection_reason: file.rejection_reason,
            })
            .collect(),
        history,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_cut_long_text_at_a_character() {
        assert_eq!(excerpt("short"), "short");
        let long = "ї".repeat(EXCERPT_CHARS + 1);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}
