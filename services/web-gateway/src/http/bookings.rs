//! Booking time slots on the web, the same slots and the same rules as the bot's calendar
//! (`bureau_scheduling::desk`):
//!
//! - `GET /api/services/{service_code}/slots?from=YYYY-MM-DD&days=N`: the free starts of a
//!   bookable service, day by day in the business's time zone (public, like the catalogue);
//! - `GET /api/bookings`: the signed-in customer's upcoming bookings;
//! - `POST /api/bookings`: book a start for an order (the customer's own, or a new order's
//!   id reserved for the order form); 409 `taken` with `next_free` when someone was faster;
//! - `POST /api/bookings/{booking_id}/reschedule`: move one's own booking; the old slot is
//!   free at once;
//! - `DELETE /api/bookings/{booking_id}`: cancel one's own booking; its slot is free.
//!
//! Each change is made in MySQL under the resource's row lock (no slot is ever given twice:
//! the UNIQUE key backs it), its `BookingChanged` written into the outbox in the same
//! transaction and published by the outbox relay after the commit. Someone else's booking is
//! "no such booking", exactly as one that does not exist.
//!
//! A time booked for an order that does not exist yet (the portal's picker, before the
//! order is sent) is a hold: it expires `store::HOLD_MINUTES` after the last choice unless
//! the order is sent (`crate::holds`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json as JsonBody, Router};
use bureau_scheduling::desk::{self, Actor, Bookable, OwnBooking, Refusal};
use bureau_scheduling::jiff::Timestamp;
use bureau_scheduling::jiff::civil::Date;
use bureau_scheduling::store::{self, Booking, BookingError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::auth::Customer;
use super::extract::{Json, Query};
use super::openapi::ErrorBody;
use super::{AppState, Error};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/services/{service_code}/slots", get(free_slots))
        .route("/api/bookings", get(list_bookings).post(book))
        .route("/api/bookings/{booking_id}/reschedule", post(reschedule))
        .route("/api/bookings/{booking_id}", axum::routing::delete(cancel))
}

const NOT_BOOKABLE: &str = "No such bookable service.";
const NO_SUCH_BOOKING: &str = "No such booking.";
/// The most days one slots request covers.
const MAX_DAYS: i64 = 14;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SlotsQuery {
    /// The first local day (`YYYY-MM-DD`); default today. Days before today are today.
    from: Option<String>,
    /// How many days (1–14, default 7).
    days: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct SlotDay {
    /// The local day, `YYYY-MM-DD`.
    date: String,
    /// Free starts, UTC (RFC 3339), ascending.
    slots: Vec<DateTime<Utc>>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Slots {
    service_code: String,
    duration_minutes: i64,
    /// The IANA zone the days are in (the business's).
    time_zone: String,
    days: Vec<SlotDay>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct BookingView {
    booking_id: Uuid,
    /// The order the time is held for.
    order_id: Option<Uuid>,
    service_code: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    /// `booked` or `cancelled`.
    status: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Bookings {
    bookings: Vec<BookingView>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BookRequest {
    service_code: String,
    /// One of the starts `GET /api/services/{service_code}/slots` offers (RFC 3339).
    starts_at: DateTime<Utc>,
    /// The order the time is for: one of the customer's own, or a new id the order form
    /// then places its order under. Absent: a new id is reserved and returned.
    order_id: Option<Uuid>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RescheduleRequest {
    /// The new start (RFC 3339).
    starts_at: DateTime<Utc>,
}

/// 409 `taken`: the error, and the next free starts to offer instead.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct TakenBody {
    error: TakenDetail,
    next_free: Vec<DateTime<Utc>>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct TakenDetail {
    /// `taken`
    code: String,
    message: String,
}

/// A booking id from the path; anything else is no such booking (in the API's error shape,
/// not axum's plain-text rejection).
fn booking_id_of(text: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(text).map_err(|_| Error::NotFound(NO_SUCH_BOOKING))
}

fn by(customer: &bureau_accounts::Account) -> String {
    format!("web:{}", customer.id)
}

fn actor(by: &str) -> Actor<'_> {
    Actor {
        by,
        producer: crate::intake::PRODUCER,
    }
}

fn to_chrono(at: Timestamp) -> DateTime<Utc> {
    bureau_scheduling::to_chrono(at)
}

fn from_chrono(at: DateTime<Utc>) -> Timestamp {
    bureau_scheduling::from_chrono(at)
}

fn view(booking: &Booking, order_id: Option<Uuid>, status: &'static str) -> BookingView {
    BookingView {
        booking_id: booking.id,
        order_id,
        service_code: booking.service_code.clone(),
        starts_at: to_chrono(booking.starts_at),
        ends_at: to_chrono(booking.ends_at),
        status: status.to_owned(),
    }
}

async fn bookable(state: &AppState, code: &str) -> Result<Bookable, Error> {
    desk::bookable_by_code(&state.pool, code)
        .await?
        .ok_or(Error::NotFound(NOT_BOOKABLE))
}

fn failed(error: BookingError) -> Error {
    match error {
        BookingError::Database(error) => Error::Database(error),
        BookingError::NotFound => Error::NotFound(NOT_BOOKABLE),
        other => Error::Internal(anyhow::anyhow!("booking: {other}")),
    }
}

/// What a refused change answers.
fn refused(refusal: Refusal) -> Response {
    match refusal {
        Refusal::Taken { next_free } => {
            let message = if next_free.is_empty() {
                "Someone else has just booked this time, and nothing else is free in the next two weeks."
            } else {
                "Someone else has just booked this time. These are the next free ones."
            };
            (
                StatusCode::CONFLICT,
                JsonBody(json!({
                    "error": {"code": "taken", "message": message},
                    "next_free": next_free.into_iter().map(to_chrono).collect::<Vec<_>>(),
                })),
            )
                .into_response()
        }
        Refusal::InPast => Error::unprocessable(
            "in_past",
            "That time has already passed; choose another.".to_owned(),
        )
        .into_response(),
        Refusal::NotOffered => Error::unprocessable(
            "not_offered",
            "That time is not offered (outside working hours, a break, a day off, or too far ahead); choose one of the free slots.".to_owned(),
        )
        .into_response(),
        Refusal::AlreadyBooked => Error::Conflict {
            code: "already_booked",
            message: "This order already has a booked time; reschedule that one instead."
                .to_owned(),
        }
        .into_response(),
        Refusal::NotFound => Error::NotFound(NO_SUCH_BOOKING).into_response(),
        Refusal::Failed(error) => failed(error).into_response(),
    }
}

/// The free starts of a bookable service, day by day.
#[utoipa::path(
    get,
    path = "/api/services/{service_code}/slots",
    tag = "bookings",
    params(("service_code" = String, Path, description = "A bookable service's code"), SlotsQuery),
    responses(
        (status = 200, description = "Free starts by local day", body = Slots),
        (status = 404, description = "No such bookable service", body = ErrorBody),
        (status = 422, description = "A bad `from` or `days`", body = ErrorBody),
        (status = "4XX", description = "A query that cannot be read", body = ErrorBody),
    )
)]
pub(crate) async fn free_slots(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(query): Query<SlotsQuery>,
) -> Result<JsonBody<Slots>, Error> {
    let service = bookable(&state, &code).await?;
    let now = Timestamp::now();
    let today = service.day_of(now);
    let from = match query.from.as_deref() {
        None => today,
        Some(text) => text.parse::<Date>().map_err(|_| {
            Error::unprocessable(
                "invalid_date",
                "`from` is a day written YYYY-MM-DD.".to_owned(),
            )
        })?,
    };
    let days = query.days.unwrap_or(7);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(Error::unprocessable(
            "invalid_days",
            format!("`days` is 1 to {MAX_DAYS}."),
        ));
    }
    let found = desk::free_days(&state.pool, &service, from.max(today), days, now)
        .await
        .map_err(failed)?;
    Ok(JsonBody(Slots {
        service_code: service.code.clone(),
        duration_minutes: service.duration_minutes,
        time_zone: service.time_zone.iana_name().unwrap_or("UTC").to_owned(),
        days: found
            .into_iter()
            .map(|(day, slots)| SlotDay {
                date: day.to_string(),
                slots: slots.into_iter().map(to_chrono).collect(),
            })
            .collect(),
    }))
}

/// The signed-in customer's upcoming bookings.
#[utoipa::path(
    get,
    path = "/api/bookings",
    tag = "bookings",
    security(("session" = [])),
    responses(
        (status = 200, description = "Upcoming live bookings, soonest first", body = Bookings),
        (status = "4XX", description = "Not signed in, or not a customer", body = ErrorBody),
    )
)]
pub(crate) async fn list_bookings(
    State(state): State<AppState>,
    Customer(customer): Customer,
) -> Result<JsonBody<Bookings>, Error> {
    let own = desk::own_upcoming(&state.pool, &by(&customer), Timestamp::now()).await?;
    Ok(JsonBody(Bookings {
        bookings: own
            .iter()
            .map(|OwnBooking { booking, order_id }| view(booking, *order_id, "booked"))
            .collect(),
    }))
}

/// Book a free start for an order. For an order not placed yet (no `order_id`, or one no
/// order has yet) the time is held for 15 minutes: unless the portal's order form sends it
/// with its order by then, it is cancelled and free again.
#[utoipa::path(
    post,
    path = "/api/bookings",
    tag = "bookings",
    security(("session" = [])),
    request_body = BookRequest,
    responses(
        (status = 201, description = "Booked", body = BookingView),
        (status = 409, description = "`taken` (with `next_free`) or `already_booked`", body = TakenBody),
        (status = 422, description = "`in_past` or `not_offered`", body = ErrorBody),
        (status = "4XX", description = "Not signed in, not a customer, no such service or order", body = ErrorBody),
    )
)]
pub(crate) async fn book(
    State(state): State<AppState>,
    Customer(customer): Customer,
    Json(request): Json<BookRequest>,
) -> Result<Response, Error> {
    let service = bookable(&state, &request.service_code).await?;
    let (order_id, placed) = match request.order_id {
        Some(order_id) => {
            // An order that exists must be the customer's own; a new id is theirs to use.
            let owner: Option<Option<Uuid>> = sqlx::query_scalar(
                "SELECT c.web_account_id FROM orders o JOIN customers c ON c.id = o.customer_id
                 WHERE o.id = ?",
            )
            .bind(order_id)
            .fetch_optional(&state.pool)
            .await?;
            if owner.is_some_and(|account| account != Some(customer.id)) {
                return Err(Error::NotFound("No such order."));
            }
            (order_id, owner.is_some())
        }
        None => (Uuid::now_v7(), false),
    };
    let now = Timestamp::now();
    let by = by(&customer);
    // For an order not sent yet the time is held, and expires unless the order comes.
    let held_until = (!placed).then(|| store::hold_until(now));
    match desk::book(
        &state.pool,
        &service,
        from_chrono(request.starts_at),
        order_id,
        held_until,
        actor(&by),
        now,
    )
    .await
    {
        Ok((booking, _)) => {
            state.outbox.kick();
            Ok((
                StatusCode::CREATED,
                JsonBody(view(&booking, Some(order_id), "booked")),
            )
                .into_response())
        }
        Err(refusal) => Ok(refused(refusal)),
    }
}

/// Move one's own booking to another free start; the old one is free at once.
#[utoipa::path(
    post,
    path = "/api/bookings/{booking_id}/reschedule",
    tag = "bookings",
    security(("session" = [])),
    params(("booking_id" = Uuid, Path, description = "The booking")),
    request_body = RescheduleRequest,
    responses(
        (status = 200, description = "Moved", body = BookingView),
        (status = 409, description = "`taken`, with `next_free`", body = TakenBody),
        (status = 422, description = "`in_past` or `not_offered`", body = ErrorBody),
        (status = "4XX", description = "Not signed in, not a customer, or no such booking of theirs", body = ErrorBody),
    )
)]
pub(crate) async fn reschedule(
    State(state): State<AppState>,
    Customer(customer): Customer,
    Path(booking_id): Path<String>,
    Json(request): Json<RescheduleRequest>,
) -> Result<Response, Error> {
    let booking_id = booking_id_of(&booking_id)?;
    let now = Timestamp::now();
    let by = by(&customer);
    match desk::reschedule(
        &state.pool,
        booking_id,
        from_chrono(request.starts_at),
        actor(&by),
        now,
    )
    .await
    {
        Ok((booking, event)) => {
            let order_id = Some(event.order_id);
            state.outbox.kick();
            Ok(JsonBody(view(&booking, order_id, "booked")).into_response())
        }
        Err(refusal) => Ok(refused(refusal)),
    }
}

/// Cancel one's own booking; its slot is free at once.
#[utoipa::path(
    delete,
    path = "/api/bookings/{booking_id}",
    tag = "bookings",
    security(("session" = [])),
    params(("booking_id" = Uuid, Path, description = "The booking")),
    responses(
        (status = 200, description = "Cancelled", body = BookingView),
        (status = "4XX", description = "Not signed in, not a customer, or no such live booking of theirs", body = ErrorBody),
    )
)]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    Customer(customer): Customer,
    Path(booking_id): Path<String>,
) -> Result<Response, Error> {
    let booking_id = booking_id_of(&booking_id)?;
    let by = by(&customer);
    match desk::cancel(&state.pool, booking_id, actor(&by), Timestamp::now()).await {
        Ok((booking, event)) => {
            let order_id = Some(event.order_id);
            state.outbox.kick();
            Ok(JsonBody(view(&booking, order_id, "cancelled")).into_response())
        }
        Err(refusal) => Ok(refused(refusal)),
    }
}

/// What became of the booking a new web order was sent with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attached {
    /// The form sent none (or something that is no booking id: logged, ignored).
    Nothing,
    /// The booking joined the order: its hold ended.
    Joined(Uuid),
    /// Not the customer's live booking: its hold expired (or it was cancelled) meanwhile.
    Gone,
}

/// The portal's new-order form is placing `order_id` with the booking its slot picker made
/// (`booking`, the id as the form sent it; empty: none): the booking joins the order before
/// the order is published, so a hold cannot expire under an order already sent. [`Attached::Gone`]
/// stops the order (the customer chooses a time again).
pub(crate) async fn attach_booking(
    state: &AppState,
    customer: &bureau_accounts::Account,
    booking: &str,
    order_id: Uuid,
) -> Result<Attached, sqlx::Error> {
    let booking = booking.trim();
    if booking.is_empty() {
        return Ok(Attached::Nothing);
    }
    let Ok(booking_id) = Uuid::parse_str(booking) else {
        tracing::warn!(booking, "the order form sent a booking that is no id");
        return Ok(Attached::Nothing);
    };
    if desk::attach(&state.pool, booking_id, &by(customer), order_id).await? {
        tracing::info!(%booking_id, %order_id, "booking joined the order");
        Ok(Attached::Joined(booking_id))
    } else {
        tracing::info!(%booking_id, "the order form's booking is no longer the customer's live one");
        Ok(Attached::Gone)
    }
}

/// The order joined to `booking_id` was not sent after all (the broker refused it): the
/// time is held again from now, so it expires if the customer does not send it again.
pub(crate) async fn hold_again(
    state: &AppState,
    customer: &bureau_accounts::Account,
    booking_id: Uuid,
) {
    if let Err(error) =
        desk::hold_again(&state.pool, booking_id, &by(customer), Timestamp::now()).await
    {
        tracing::error!(%error, %booking_id, "a booking of an unsent order not held again");
    }
}
