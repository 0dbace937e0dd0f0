//! Money staff record by hand: a payment made another way than Telegram (bank transfer,
//! cash) and a refund, as JSON under `/api/staff/orders/{order_id}/payments` and
//! `/refunds`, and what an order has been paid (`GET .../payments`).
//!
//! Who may: the permission matrix's `RecordMoney` (admins and managers, never executors:
//! whoever may set a price handles its money). What: checked against
//! what the order is due now (`bureau_platform::payments`): a payment at most what is left,
//! in the order's currency, while the order can be paid; a refund at most what was paid,
//! with a reason. Each is appended to the audit log, then published (`PaymentReceived`,
//! `PaymentRefunded`) for the persistence worker, which records it once; the answer is 202.
//! Telegram payments are not recorded here: the bot records them from Telegram itself.
//!
//! The back office's order page records the same way (`office::money`): it calls
//! [`payment_event`] / [`refund_event`] (the checks, building the event) and
//! [`publish_payment`] / [`publish_refund`] (audit, then publish), as the JSON handlers here
//! do. `GET .../payments/{id}` says whether the worker has recorded one yet (the page's
//! "recording…" line follows it).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bureau_platform::payments::{self, NotPayable};
use chrono::Utc;
use proto_events::{Actor, Envelope, PaymentMethod, PaymentReceived, PaymentRefunded};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::auth::Staff;
use super::extract::Json;
use super::{AppState, Error};
use crate::intake::PRODUCER;
use crate::office::gate;
use crate::office::permissions::Act;
use crate::queries::office::{self as reads, Audit};

const NO_SUCH_ORDER: &str = "No such order.";
/// The refusal of everyone the matrix does not let handle money.
pub(crate) const MONEY_REFUSED: &str = "Only admins and managers record payments and refunds.";
/// Bounds a typo (an amount in kopiykas typed twice) well above any real order.
pub(crate) const MAX_AMOUNT_MINOR: u64 = 100_000_000_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/staff/orders/{order_id}/payments",
            get(list_payments).post(record_payment),
        )
        .route(
            "/api/staff/orders/{order_id}/payments/{line_id}",
            get(line_outcome),
        )
        .route("/api/staff/orders/{order_id}/refunds", post(record_refund))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct PaymentForm {
    amount_minor: u64,
    currency: String,
    /// `bank_transfer`, `cash` or `other`.
    method: String,
    note: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct RefundForm {
    amount_minor: u64,
    currency: String,
    reason: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Recorded {
    id: Uuid,
    order_id: Uuid,
    order_number: String,
}

/// The order, if it exists and `staff` may handle its money.
pub(crate) async fn money_of(
    state: &AppState,
    staff: &bureau_accounts::Account,
    order_id: &str,
) -> Result<payments::Due, Error> {
    // Money is handled by admins and managers (the one gate of the office's pages and
    // JSON routes).
    let policy = crate::office::Desk::policy(state);
    let order_id = match gate::order(&state.pool, staff, policy, order_id, Act::RecordMoney).await {
        Ok((order_id, _)) => order_id,
        Err(gate::Refused::NotFound) => return Err(Error::NotFound(NO_SUCH_ORDER)),
        Err(gate::Refused::NotYours) => return Err(Error::Forbidden(MONEY_REFUSED)),
        Err(gate::Refused::Database(error)) => return Err(error.into()),
    };
    due_now(state, order_id).await
}

/// What the order `order_id` is due now, as MySQL has it.
pub(crate) async fn due_now(state: &AppState, order_id: Uuid) -> Result<payments::Due, Error> {
    let mut conn = state.pool.acquire().await?;
    payments::due(&mut conn, order_id, false)
        .await?
        .ok_or(Error::NotFound(NO_SUCH_ORDER))
}

/// `45000` UAH as `450.00 UAH`, as the back office shows money.
fn money(amount_minor: u64, currency: &str) -> String {
    format!(
        "{}.{:02} {currency}",
        amount_minor / 100,
        amount_minor % 100
    )
}

fn check_amount(amount_minor: u64) -> Result<(), Error> {
    if amount_minor == 0 || amount_minor > MAX_AMOUNT_MINOR {
        return Err(Error::unprocessable(
            "invalid_amount",
            "The amount is a whole number of kopiykas (cents) above 0.",
        ));
    }
    Ok(())
}

fn check_currency(currency: &str, due: &payments::Due) -> Result<String, Error> {
    let currency = currency.trim().to_ascii_uppercase();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(Error::unprocessable(
            "invalid_currency",
            "The currency is a three-letter code, like UAH.",
        ));
    }
    if let Some(price) = &due.price
        && price.currency != currency
    {
        return Err(Error::unprocessable(
            "currency_mismatch",
            format!(
                "Order №{} is priced in {}.",
                due.order_number, price.currency
            ),
        ));
    }
    Ok(currency)
}

async fn publish(state: &AppState, event: &Envelope) -> Result<(), Error> {
    match tokio::time::timeout(
        crate::status_requests::PUBLISH_TIMEOUT,
        state.bus.publish(event),
    )
    .await
    {
        Ok(published) => published.map_err(Error::from),
        Err(_) => Err(Error::Unavailable {
            code: "broker_unavailable",
            message: "The payment could not be passed on just now; nothing was recorded. Please try again.",
        }),
    }
}

async fn audit(
    state: &AppState,
    staff: &bureau_accounts::Account,
    remote: Option<String>,
    action: &str,
    order_id: Uuid,
    subject: &str,
    detail: &str,
) -> Result<(), Error> {
    reads::audit(
        &state.pool,
        Audit {
            account_id: Some(staff.id),
            action,
            order_id: Some(order_id),
            subject: Some(subject),
            detail: Some(detail),
            remote_addr: remote,
        },
    )
    .await?;
    Ok(())
}

/// Records a payment made another way (bank transfer, cash); admins and managers, audited.
#[utoipa::path(
    post,
    path = "/api/staff/orders/{order_id}/payments",
    tag = "staff",
    security(("session" = [])),
    params(("order_id" = String, Path, description = "The order's id (a UUID)")),
    request_body = PaymentForm,
    responses(
        (status = 202, description = "Recorded and announced", body = Recorded),
        (status = "4XX", description = "Not signed in, not allowed, no such order, or a bad amount or currency", body = super::openapi::ErrorBody),
        (status = 503, description = "The broker is down: nothing was recorded", body = super::openapi::ErrorBody),
    )
)]
pub(crate) async fn record_payment(
    State(state): State<AppState>,
    Staff(staff): Staff,
    Path(order_id): Path<String>,
    Json(form): Json<PaymentForm>,
) -> Result<Response, Error> {
    let due = money_of(&state, &staff, &order_id).await?;
    let received = payment_event(
        &due,
        staff.id,
        Uuid::now_v7(),
        &PaymentAsked {
            amount_minor: form.amount_minor,
            currency: &form.currency,
            method: &form.method,
            note: form.note.as_deref(),
        },
    )?;
    let payment_id = received.payment_id;
    publish_payment(&state, &staff, None, received).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(Recorded {
            id: payment_id,
            order_id: due.order_id,
            order_number: due.order_number,
        }),
    )
        .into_response())
}

/// A payment staff ask to record, as the JSON body or the office's form gives it.
pub(crate) struct PaymentAsked<'a> {
    pub amount_minor: u64,
    pub currency: &'a str,
    /// `bank_transfer`, `cash` or `other`.
    pub method: &'a str,
    pub note: Option<&'a str>,
}

/// The payment `asked`, as the event that records it with the id `payment_id`, if what the
/// order is due allows it: in the order's currency, a method staff record, while the order
/// can be paid, at most what is left (an overpayment is refused, never recorded).
pub(crate) fn payment_event(
    due: &payments::Due,
    staff_id: Uuid,
    payment_id: Uuid,
    asked: &PaymentAsked<'_>,
) -> Result<PaymentReceived, Error> {
    check_amount(asked.amount_minor)?;
    let currency = check_currency(asked.currency, due)?;
    let method = match PaymentMethod::parse(asked.method.trim()) {
        Some(PaymentMethod::Telegram) | None => {
            return Err(Error::unprocessable(
                "invalid_method",
                "The method is bank_transfer, cash or other (Telegram payments record themselves).",
            ));
        }
        Some(method) => method,
    };
    let left = due.payable().map_err(|why| {
        let message = match why {
            NotPayable::Closed => {
                "The order is cancelled or rejected: record a refund, not a payment."
            }
            NotPayable::AwaitingQuoteAnswer => "The customer has not answered the price quote yet.",
            NotPayable::NoPrice => "The order has no price yet: quote one first.",
            NotPayable::AlreadyPaid => "The order is paid in full already.",
        };
        Error::Conflict {
            code: why.code(),
            message: message.to_owned(),
        }
    })?;
    if asked.amount_minor > left.amount_minor {
        return Err(Error::Conflict {
            code: "more_than_due",
            message: format!(
                "Order №{} has {} left to pay; a payment cannot be more.",
                due.order_number,
                money(left.amount_minor, &left.currency),
            ),
        });
    }
    let note = asked
        .note
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| bureau_kit::text::clip(n, 900));
    Ok(PaymentReceived {
        payment_id,
        order_id: due.order_id,
        order_number: due.order_number.clone(),
        amount_minor: asked.amount_minor,
        currency,
        method,
        telegram_payment_charge_id: None,
        provider_payment_charge_id: None,
        actor: Actor::Staff {
            account_id: staff_id,
        },
        note,
        received_at: Utc::now(),
    })
}

/// Appends the payment to the audit log (from `remote`, when a page sent it), then
/// publishes it for the persistence worker.
pub(crate) async fn publish_payment(
    state: &AppState,
    staff: &bureau_accounts::Account,
    remote: Option<String>,
    received: PaymentReceived,
) -> Result<(), Error> {
    let detail = format!(
        "{} {}",
        money(received.amount_minor, &received.currency),
        received.method.as_str()
    );
    let detail = match &received.note {
        Some(note) => format!("{detail}: {note}"),
        None => detail,
    };
    audit(
        state,
        staff,
        remote,
        "payment",
        received.order_id,
        &received.payment_id.to_string(),
        &detail,
    )
    .await?;
    let event = Envelope::new(PRODUCER, received.order_id, received);
    publish(state, &event).await
}

/// Records a refund; admins and managers, audited.
#[utoipa::path(
    post,
    path = "/api/staff/orders/{order_id}/refunds",
    tag = "staff",
    security(("session" = [])),
    params(("order_id" = String, Path, description = "The order's id (a UUID)")),
    request_body = RefundForm,
    responses(
        (status = 202, description = "Recorded and announced", body = Recorded),
        (status = "4XX", description = "Not signed in, not allowed, no such order, or a bad amount, currency or reason", body = super::openapi::ErrorBody),
        (status = 503, description = "The broker is down: nothing was recorded", body = super::openapi::ErrorBody),
    )
)]
pub(crate) async fn record_refund(
    State(state): State<AppState>,
    Staff(staff): Staff,
    Path(order_id): Path<String>,
    Json(form): Json<RefundForm>,
) -> Result<Response, Error> {
    let due = money_of(&state, &staff, &order_id).await?;
    let refunded = refund_event(
        &due,
        staff.id,
        Uuid::now_v7(),
        &RefundAsked {
            amount_minor: form.amount_minor,
            currency: &form.currency,
            reason: &form.reason,
        },
    )?;
    let refund_id = refunded.refund_id;
    publish_refund(&state, &staff, None, refunded).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(Recorded {
            id: refund_id,
            order_id: due.order_id,
            order_number: due.order_number,
        }),
    )
        .into_response())
}

/// A refund staff ask to record.
pub(crate) struct RefundAsked<'a> {
    pub amount_minor: u64,
    pub currency: &'a str,
    pub reason: &'a str,
}

/// The refund `asked`, as the event that records it with the id `refund_id`, if it is in
/// the order's currency, has a reason, and is at most what was paid and not refunded yet.
pub(crate) fn refund_event(
    due: &payments::Due,
    staff_id: Uuid,
    refund_id: Uuid,
    asked: &RefundAsked<'_>,
) -> Result<PaymentRefunded, Error> {
    check_amount(asked.amount_minor)?;
    let currency = check_currency(asked.currency, due)?;
    let reason = asked.reason.trim();
    if reason.is_empty() || reason.chars().count() > 1000 {
        return Err(Error::unprocessable(
            "invalid_reason",
            "A refund needs a reason of at most 1000 characters.",
        ));
    }
    let paid = u64::try_from(due.paid_minor).unwrap_or(0);
    if paid == 0 {
        return Err(Error::Conflict {
            code: "more_than_paid",
            message: format!(
                "Order №{} has nothing paid: there is nothing to refund.",
                due.order_number
            ),
        });
    }
    if asked.amount_minor > paid {
        return Err(Error::Conflict {
            code: "more_than_paid",
            message: format!(
                "Order №{} has {} paid: a refund cannot be more.",
                due.order_number,
                money(paid, &currency)
            ),
        });
    }
    Ok(PaymentRefunded {
        refund_id,
        order_id: due.order_id,
        order_number: due.order_number.clone(),
        amount_minor: asked.amount_minor,
        currency,
        reason: reason.to_owned(),
        actor_account_id: staff_id,
        refunded_at: Utc::now(),
    })
}

/// Appends the refund to the audit log, then publishes it for the persistence worker.
pub(crate) async fn publish_refund(
    state: &AppState,
    staff: &bureau_accounts::Account,
    remote: Option<String>,
    refunded: PaymentRefunded,
) -> Result<(), Error> {
    audit(
        state,
        staff,
        remote,
        "refund",
        refunded.order_id,
        &refunded.refund_id.to_string(),
        &format!(
            "{}: {}",
            money(refunded.amount_minor, &refunded.currency),
            refunded.reason
        ),
    )
    .await?;
    let event = Envelope::new(PRODUCER, refunded.order_id, refunded);
    publish(state, &event).await
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct PaymentsView {
    order_id: Uuid,
    order_number: String,
    /// What the order is due (its latest quote, else its cart's total); null: no price.
    price_minor: Option<u64>,
    currency: Option<String>,
    /// Payments less refunds.
    paid_minor: i64,
    paid: bool,
    lines: Vec<PaymentLine>,
}

#[derive(Serialize, sqlx::FromRow, utoipa::ToSchema)]
struct PaymentLine {
    id: Uuid,
    kind: String,
    method: Option<String>,
    amount_minor: u64,
    currency: String,
    telegram_charge_id: Option<String>,
    note: Option<String>,
    recorded_at: chrono::DateTime<Utc>,
}

/// What the order is due and every payment and refund recorded on it.
#[utoipa::path(
    get,
    path = "/api/staff/orders/{order_id}/payments",
    tag = "staff",
    security(("session" = [])),
    params(("order_id" = String, Path, description = "The order's id (a UUID)")),
    responses(
        (status = 200, description = "The order's money", body = PaymentsView),
        (status = "4XX", description = "Not signed in, not allowed, or no such order", body = super::openapi::ErrorBody),
    )
)]
pub(crate) async fn list_payments(
    State(state): State<AppState>,
    Staff(staff): Staff,
    Path(order_id): Path<String>,
) -> Result<axum::Json<PaymentsView>, Error> {
    let due = money_of(&state, &staff, &order_id).await?;
    let lines: Vec<PaymentLine> = sqlx::query_as(
        "SELECT id, CAST(kind AS CHAR) AS kind, CAST(method AS CHAR) AS method, amount_minor,
                currency, telegram_charge_id, note, recorded_at
         FROM order_payments WHERE order_id = ? ORDER BY recorded_at, id",
    )
    .bind(due.order_id)
    .fetch_all(&state.pool)
    .await?;
    Ok(axum::Json(PaymentsView {
        order_id: due.order_id,
        order_number: due.order_number.clone(),
        price_minor: due.price.as_ref().map(|p| p.amount_minor),
        currency: due.price.as_ref().map(|p| p.currency.clone()),
        paid_minor: due.paid_minor,
        paid: due.is_paid(),
        lines,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct LineOutcome {
    id: Uuid,
    /// `recorded` once the persistence worker wrote it; `pending` until then (also for an
    /// id that was never published).
    #[schema(value_type = String)]
    outcome: &'static str,
}

/// Whether a payment or refund published for the order is recorded yet.
#[utoipa::path(
    get,
    path = "/api/staff/orders/{order_id}/payments/{line_id}",
    tag = "staff",
    security(("session" = [])),
    params(
        ("order_id" = String, Path, description = "The order's id (a UUID)"),
        ("line_id" = String, Path, description = "The payment's or refund's id (a UUID)"),
    ),
    responses(
        (status = 200, description = "Recorded or still pending", body = LineOutcome),
        (status = "4XX", description = "Not signed in, not allowed, or no such order", body = super::openapi::ErrorBody),
    )
)]
pub(crate) async fn line_outcome(
    State(state): State<AppState>,
    Staff(staff): Staff,
    Path((order_id, line_id)): Path<(String, String)>,
) -> Result<axum::Json<LineOutcome>, Error> {
    let due = money_of(&state, &staff, &order_id).await?;
    let line_id =
        Uuid::parse_str(&line_id).map_err(|_| Error::NotFound("No such payment or refund."))?;
    let recorded: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM order_payments WHERE id = ? AND order_id = ?")
            .bind(line_id)
            .bind(due.order_id)
            .fetch_optional(&state.pool)
            .await?;
    Ok(axum::Json(LineOutcome {
        id: line_id,
        outcome: if recorded.is_some() {
            "recorded"
        } else {
            "pending"
        },
    }))
}
