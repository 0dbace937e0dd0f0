//! What staff do on an order page, each a form posted to `/office/orders/{order_id}/...`
//! and answered with a redirect back to the page (303):
//!
//! - `status`: a status change request, exactly as the API makes it (checked by the state
//!   machine and the role, published, decided once by the persistence worker); the page
//!   follows it with `?request={id}` until it is recorded or refused;
//! - `reply`: `OrderMessagePosted` by staff, which the notifier delivers to the customer;
//! - `quote`: `PriceQuoted` (and, from `awaiting_confirmation`, the request to move the
//!   order to `quoted` first); the customer answers with Accept / Decline;
//! - `comment`: `OrderCommentPosted`, for staff only;
//! - `assign`: `OrderAssigned` (`me` takes an unassigned order, where allowed).
//!
//! Every action is checked against the matrix and appended to the audit log.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use bureau_accounts::Role;
use bureau_event_bus::PublishError;
use chrono::Utc;
use proto_events::{
    Actor, Envelope, OrderAssigned, OrderCommentPosted, OrderMessagePosted, OrderStatus,
    PriceQuoted,
};
use serde::Deserialize;
use uuid::Uuid;

use super::permissions::Act;
use super::{Desk, Failure, PageError, order_url};
use crate::http::{
    AppState, Error, StatusChangeRequest, prepare_status_change, status_change_detail,
};
use crate::intake::PRODUCER;
use crate::queries;
use crate::status_requests::{self, PUBLISH_TIMEOUT};

/// Longest reply or comment, in characters.
const MAX_TEXT: usize = 4000;

async fn publish(state: &AppState, event: &Envelope) -> Result<(), Error> {
    match tokio::time::timeout(PUBLISH_TIMEOUT, state.bus.publish(event)).await {
        Ok(published) => published.map_err(Error::from),
        Err(_) => {
            Err(PublishError::Unavailable(format!("no confirm within {PUBLISH_TIMEOUT:?}")).into())
        }
    }
}

fn text_of(desk: &Desk, text: &str) -> Result<String, PageError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(desk.fail(Error::unprocessable("empty_text", "Write something first.")));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(desk.fail(Error::unprocessable(
            "text_too_long",
            format!("At most {MAX_TEXT} characters."),
        )));
    }
    Ok(text.to_owned())
}

#[derive(Deserialize)]
pub struct StatusForm {
    to: String,
    reason: Option<String>,
    expected_version: Option<u32>,
}

pub async fn status(
    State(state): State<AppState>,
    desk: Desk,
    Path(order_id): Path<String>,
    Form(form): Form<StatusForm>,
) -> Result<Response, PageError> {
    let (order_id, _) = desk.may(&state, &order_id, Act::ChangeStatus).await?;
    let request = StatusChangeRequest {
        to: form.to,
        reason: form.reason.filter(|r| !r.trim().is_empty()),
        expected_version: form.expected_version,
    };
    let event = prepare_status_change(&state, &desk.account, &order_id.to_string(), &request)
        .await
        .map_err(|e| desk.fail(e))?;
    let asked = status_requests::request_of(&event)
        .cloned()
        .ok_or_else(|| desk.fail(Error::from(anyhow::anyhow!("not a request"))))?;
    desk.audit(
        &state,
        "status_change_requested",
        Some(order_id),
        Some(&asked.request_id.to_string()),
        Some(&status_change_detail(&asked)),
    )
    .await?;
    status_requests::publish(&state.pool, &state.bus, &event)
        .await
        .map_err(|e| desk.fail(e))?;
    Ok(Redirect::to(&format!(
        "{}?request={}",
        order_url(order_id),
        asked.request_id
    ))
    .into_response())
}

#[derive(Deserialize)]
pub struct TextForm {
    text: String,
}

pub async fn reply(
    State(state): State<AppState>,
    desk: Desk,
    Path(order_id): Path<String>,
    Form(form): Form<TextForm>,
) -> Result<Response, PageError> {
    let (order_id, _) = desk.may(&state, &order_id, Act::Reply).await?;
    let text = text_of(&desk, &form.text)?;
    let message_id = Uuid::now_v7();
    desk.audit(
        &state,
        "reply",
        Some(order_id),
        Some(&message_id.to_string()),
        Some(&text),
    )
    .await?;
    let event = Envelope::new(
        PRODUCER,
        order_id,
        OrderMessagePosted {
            order_id,
            message_id,
            author: Actor::Staff {
                account_id: desk.account.id,
            },
            text,
        },
    );
    publish(&state, &event).await.map_err(|e| desk.fail(e))?;
    Ok(Redirect::to(&format!("{}#timeline", order_url(order_id))).into_response())
}

pub async fn comment(
    State(state): State<AppState>,
    desk: Desk,
    Path(order_id): Path<String>,
    Form(form): Form<TextForm>,
) -> Result<Response, PageError> {
    let (order_id, _) = desk.may(&state, &order_id, Act::Comment).await?;
    let text = text_of(&desk, &form.text)?;
    let comment_id = Uuid::now_v7();
    desk.audit(
        &state,
        "comment",
        Some(order_id),
        Some(&comment_id.to_string()),
        Some(&text),
    )
    .await?;
    let event = Envelope::new(
        PRODUCER,
        order_id,
        OrderCommentPosted {
            order_id,
            comment_id,
            author_account_id: desk.account.id,
            text,
        },
    );
    publish(&state, &event).await.map_err(|e| desk.fail(e))?;
    Ok(Redirect::to(&format!("{}#timeline", order_url(order_id))).into_response())
}

#[derive(Deserialize)]
pub struct QuoteForm {
    amount: String,
    currency: String,
    note: Option<String>,
    /// `YYYY-MM-DD`: the last day the customer may accept the price (to the end of that
    /// day, UTC); empty for no limit.
    valid_until: Option<String>,
    expected_version: Option<u32>,
}

/// A quote's last day as the form sends it: today or later; the price holds to the end of
/// that day (UTC).
pub fn parse_valid_until(
    text: Option<&str>,
    today: chrono::NaiveDate,
) -> Result<Option<chrono::DateTime<Utc>>, &'static str> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let day = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| "The validity date is a day like 2026-12-31.")?;
    if day < today {
        return Err("The validity date is today or later.");
    }
    let end = day
        .and_hms_micro_opt(23, 59, 59, 999_999)
        .ok_or("The validity date is a day like 2026-12-31.")?;
    Ok(Some(end.and_utc()))
}

/// `1250`, `1250.5`, `1 250,50` -> minor units; at most two decimals, more than zero.
pub fn parse_amount(text: &str) -> Option<u64> {
    read_amount(text).ok()
}

/// Why a typed amount is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountProblem {
    Empty,
    /// Letters, a sign, two points, `.5`, `1e3`.
    NotANumber,
    TooManyDecimals,
    /// Zero or below (`-5`).
    NotPositive,
    /// More than any order could cost (a typo).
    TooLarge,
}

impl AmountProblem {
    /// The sentence a staff member reads (in Ukrainian through `error_uk`).
    pub fn sentence(self) -> &'static str {
        match self {
            AmountProblem::Empty => "Enter an amount, like 450 or 450.50.",
            AmountProblem::NotANumber => {
                "The amount is a number with at most two decimals, like 1250 or 1250.50."
            }
            AmountProblem::TooManyDecimals => "An amount has at most two decimals (kopiykas).",
            AmountProblem::NotPositive => "The amount must be more than 0.",
            AmountProblem::TooLarge => "That amount is too large: check the number.",
        }
    }
}

/// An amount as people type it (`1250`, `1250.5`, `1 250,50`) in minor units, or what is
/// wrong with it.
pub fn read_amount(text: &str) -> Result<u64, AmountProblem> {
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}')
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    if cleaned.is_empty() {
        return Err(AmountProblem::Empty);
    }
    // A minus sign (or the typographic one) before a number: a negative amount.
    let negative = cleaned
        .strip_prefix('-')
        .or_else(|| cleaned.strip_prefix('\u{2212}'));
    if let Some(rest) = negative
        && !rest.is_empty()
        && rest.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    {
        return Err(AmountProblem::NotPositive);
    }
    let (whole, fraction) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(AmountProblem::NotANumber);
    }
    if fraction.len() > 2 {
        return Err(AmountProblem::TooManyDecimals);
    }
    let whole: u64 = whole.parse().map_err(|_| AmountProblem::TooLarge)?;
    let cents: u64 = match fraction.len() {
        0 => 0,
        1 => {
            fraction
                .parse::<u64>()
                .map_err(|_| AmountProblem::NotANumber)?
                * 10
        }
        _ => fraction.parse().map_err(|_| AmountProblem::NotANumber)?,
    };
    let minor = whole
        .checked_mul(100)
        .and_then(|m| m.checked_add(cents))
        .ok_or(AmountProblem::TooLarge)?;
    if minor == 0 {
        return Err(AmountProblem::NotPositive);
    }
    Ok(minor)
}

pub async fn quote(
    State(state): State<AppState>,
    desk: Desk,
    Path(order_id): Path<String>,
    Form(form): Form<QuoteForm>,
) -> Result<Response, PageError> {
    let (order_id, _) = desk.may(&state, &order_id, Act::Quote).await?;
    let amount_minor = parse_amount(&form.amount).ok_or_else(|| {
        desk.fail(Error::unprocessable(
            "invalid_amount",
            "The amount is a number with at most two decimals, like 1250 or 1250.50.",
        ))
    })?;
    let currency = form.currency.trim().to_ascii_uppercase();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(desk.fail(Error::unprocessable(
            "invalid_currency",
            "The currency is a three-letter code, like UAH.",
        )));
    }
    let valid_until = parse_valid_until(form.valid_until.as_deref(), Utc::now().date_naive())
        .map_err(|message| desk.fail(Error::unprocessable("invalid_valid_until", message)))?;
    let note = form
        .note
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .map(|n| bureau_kit::text::clip(&n, 900));
    let state_now = queries::order_state(&state.pool, order_id)
        .await
        .map_err(|e| desk.fail(Error::from(e)))?
        .ok_or_else(|| desk.fail(Failure::NotFound))?;
    let status = OrderStatus::parse(&state_now.status);
    let mut follow = None;
    match status {
        Some(OrderStatus::Quoted) => {}
        Some(OrderStatus::AwaitingConfirmation) => {
            // The order moves to `quoted` first, at the version the page showed, so the
            // customer's answer finds it there.
            let request = StatusChangeRequest {
                to: OrderStatus::Quoted.as_str().to_owned(),
                reason: None,
                expected_version: form.expected_version,
            };
            let event =
                prepare_status_change(&state, &desk.account, &order_id.to_string(), &request)
                    .await
                    .map_err(|e| desk.fail(e))?;
            status_requests::publish(&state.pool, &state.bus, &event)
                .await
                .map_err(|e| desk.fail(e))?;
            follow = status_requests::request_of(&event).map(|r| r.request_id);
        }
        _ => {
            return Err(desk.fail(Error::Conflict {
                code: "not_quotable",
                message: "A price is quoted before the order is accepted.".to_owned(),
            }));
        }
    }
    let quoted = Envelope::new(
        PRODUCER,
        order_id,
        PriceQuoted {
            order_id,
            order_number: state_now.order_number.clone(),
            amount_minor,
            currency: currency.clone(),
            note,
            valid_until,
        },
    );
    desk.audit(
        &state,
        "quote",
        Some(order_id),
        Some(&quoted.event_id.to_string()),
        Some(&match valid_until {
            Some(until) => format!(
                "{}, valid until {}",
                super::order::money(amount_minor, &currency),
                until.format("%Y-%m-%d")
            ),
            None => super::order::money(amount_minor, &currency),
        }),
    )
    .await?;
    publish(&state, &quoted).await.map_err(|e| desk.fail(e))?;
    let url = match follow {
        Some(request_id) => format!("{}?request={request_id}", order_url(order_id)),
        None => format!("{}#timeline", order_url(order_id)),
    };
    Ok(Redirect::to(&url).into_response())
}

#[derive(Deserialize)]
pub struct AssignForm {
    /// An account id, `me`, or empty to unassign.
    assignee: String,
}

pub async fn assign(
    State(state): State<AppState>,
    desk: Desk,
    Path(order_id): Path<String>,
    Form(form): Form<AssignForm>,
) -> Result<Response, PageError> {
    let assignee = match form.assignee.trim() {
        "" => None,
        "me" => Some(desk.account.id),
        id => Some(Uuid::parse_str(id).map_err(|_| {
            desk.fail(Error::unprocessable(
                "invalid_assignee",
                "No such staff member.",
            ))
        })?),
    };
    // An executor taking an order for themselves is its own cell of the matrix; anything
    // else is assigning.
    let act = if assignee == Some(desk.account.id) && desk.account.role == Role::Executor {
        Act::Take
    } else {
        Act::Assign
    };
    let (order_id, _) = desk.may(&state, &order_id, act).await?;
    if let Some(assignee) = assignee {
        let known = queries::office::staff_members(&state.pool)
            .await
            .map_err(|e| desk.fail(Error::from(e)))?
            .iter()
            .any(|m| m.id == assignee);
        if !known {
            return Err(desk.fail(Error::unprocessable(
                "invalid_assignee",
                "No such staff member.",
            )));
        }
    }
    let order = queries::order_state(&state.pool, order_id)
        .await
        .map_err(|e| desk.fail(Error::from(e)))?
        .ok_or_else(|| desk.fail(Failure::NotFound))?;
    desk.audit(
        &state,
        "assign",
        Some(order_id),
        assignee.map(|a| a.to_string()).as_deref(),
        None,
    )
    .await?;
    let event = Envelope::new(
        PRODUCER,
        order_id,
        OrderAssigned {
            order_id,
            order_number: order.order_number,
            assignee,
            actor_account_id: desk.account.id,
            assigned_at: Utc::now(),
        },
    );
    publish(&state, &event).await.map_err(|e| desk.fail(e))?;
    Ok(Redirect::to(&format!("{}#timeline", order_url(order_id))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_as_people_type_them() {
        assert_eq!(parse_amount("1250"), Some(125_000));
        assert_eq!(parse_amount("1250.5"), Some(125_050));
        assert_eq!(parse_amount("1 250,50"), Some(125_050));
        assert_eq!(parse_amount("0.05"), Some(5));
        for junk in ["", "0", "-5", "1.234", "12a", ".5", "1e3"] {
            assert_eq!(parse_amount(junk), None, "{junk}");
        }
    }

    #[test]
    fn a_bad_amount_says_what_is_wrong_with_it() {
        use AmountProblem::*;
        for (text, problem) in [
            ("", Empty),
            ("  ", Empty),
            ("abc", NotANumber),
            ("12a", NotANumber),
            (".5", NotANumber),
            ("1.2.3", NotANumber),
            ("1e3", NotANumber),
            ("+5", NotANumber),
            ("450.123", TooManyDecimals),
            ("0", NotPositive),
            ("0.00", NotPositive),
            ("-5", NotPositive),
            ("-0.5", NotPositive),
            ("\u{2212}450", NotPositive),
            ("99999999999999999999", TooLarge),
        ] {
            assert_eq!(read_amount(text), Err(problem), "{text:?}");
        }
        assert_eq!(read_amount("450"), Ok(45_000));
        assert_eq!(read_amount("1 250,5"), Ok(125_050));
    }

    #[test]
    fn a_quote_holds_to_the_end_of_its_last_day() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        assert_eq!(parse_valid_until(None, today), Ok(None));
        assert_eq!(parse_valid_until(Some("  "), today), Ok(None));
        let until = parse_valid_until(Some("2026-12-06"), today)
            .unwrap()
            .unwrap();
        assert_eq!(until.to_rfc3339(), "2026-12-06T23:59:59.999999+00:00");
        assert!(parse_valid_until(Some("2026-12-05"), today).is_err());
        assert!(parse_valid_until(Some("06.12.2026"), today).is_err());
    }
}
