//! The order page's money (issue 15): what the order costs, what was paid and refunded and
//! what is left, every payment and refund, and the two forms that record a payment made
//! another way than Telegram (bank transfer, cash) and a refund:
//! `POST /office/orders/{order_id}/payments` and `POST /office/orders/{order_id}/refunds`.
//!
//! Admins and managers only (the matrix's `RecordMoney`; an executor is refused with the
//! sentence the JSON API uses). The checks, the audit and the publishing are the JSON API's
//! own (`http::payments`: [`api::payment_event`], [`api::publish_payment`], and the same for
//! refunds), so both sides refuse and record alike; the persistence worker records what is
//! published and moves the order as it does for any payment (paid in full while awaiting
//! confirmation: accepted). After the redirect the page says "recording…" until the row is
//! there (`?payment={id}`, `?refund={id}`, followed through `GET /api/staff/orders/{id}/payments/{id}`),
//! then "recorded".
//!
//! A refused form (no amount, zero or negative, letters, three decimals, more than is left
//! to pay, a refund of more than was paid or on an order with nothing paid, no reason) comes
//! back on the order page with the sentence beside the form and what was typed, in the
//! page's language; nothing is published or audited.
//!
//! Each form carries a submission id (a UUID made when the page was shown), claimed as an
//! idempotency key ([`crate::idempotency`]) before anything is published: the same form sent
//! twice (a double click, the browser posting it again) is recorded once, and the second
//! answer leads to the first one's page, saying the form had already been sent. A refused
//! form gives its claim back, so it can be corrected and sent again.

use std::time::Duration;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use bureau_platform::payments::{Due, NotPayable};
use serde::Deserialize;
use uuid::Uuid;

use super::actions::read_amount;
use super::i18n::{Lang, Texts};
use super::order::{self, PageQuery, money};
use super::permissions::{self, Act, Whose};
use super::views::{Banner, LineView, MoneyPanel, Opt, PaymentFormView, RefundFormView, When};
use super::{Desk, PageError, order_url};
use crate::http::payments::{self as api, PaymentAsked, RefundAsked};
use crate::http::{AppState, Error};
use crate::idempotency::{self, Claim, Fingerprint, IdempotencyKey};
use crate::queries::office::MoneyLine;

/// How long a form sent again waits for the first sending to finish, to answer as it did.
const WAIT_FOR_FIRST: Duration = Duration::from_secs(3);

/// The methods staff record, in the form's order.
const METHODS: [&str; 3] = ["bank_transfer", "cash", "other"];

#[derive(Deserialize)]
pub struct PaymentForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    method: String,
    /// The order's currency, as the page showed it (a price re-quoted in another currency
    /// meanwhile is caught).
    #[serde(default)]
    currency: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    submission: String,
}

#[derive(Deserialize)]
pub struct RefundForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    submission: String,
}

/// What was typed into a refused form, and why it was refused, to show it again.
#[derive(Debug, Default, Clone)]
pub struct Draft {
    pub amount: String,
    pub method: String,
    /// The payment's note, or the refund's reason.
    pub text: String,
    pub submission: String,
    pub error: String,
}

/// The forms as the page shows them again after a refusal (none: fresh forms).
#[derive(Debug, Default, Clone)]
pub struct Drafts {
    pub payment: Option<Draft>,
    pub refund: Option<Draft>,
}

/// `POST /office/orders/{order_id}/payments`.
pub async fn record_payment(
    State(state): State<AppState>,
    desk: Desk,
    Path(order_id): Path<String>,
    Form(form): Form<PaymentForm>,
) -> Result<Response, PageError> {
    let (order_id, whose) = may(&state, &desk, &order_id).await?;
    match pay(&state, &desk, order_id, &form).await {
        Ok(response) => Ok(response),
        Err(error) => {
            refused(&state, &desk, order_id, whose, error, |said| Drafts {
                payment: Some(Draft {
                    amount: form.amount.clone(),
                    method: form.method.clone(),
                    text: form.note.clone(),
                    submission: form.submission.clone(),
                    error: said,
                }),
                refund: None,
            })
            .await
        }
    }
}

/// `POST /office/orders/{order_id}/refunds`.
pub async fn record_refund(
    State(state): State<AppState>,
    desk: Desk,
    Path(order_id): Path<String>,
    Form(form): Form<RefundForm>,
) -> Result<Response, PageError> {
    let (order_id, whose) = may(&state, &desk, &order_id).await?;
    match refund(&state, &desk, order_id, &form).await {
        Ok(response) => Ok(response),
        Err(error) => {
            refused(&state, &desk, order_id, whose, error, |said| Drafts {
                payment: None,
                refund: Some(Draft {
                    amount: form.amount.clone(),
                    method: String::new(),
                    text: form.reason.clone(),
                    submission: form.submission.clone(),
                    error: said,
                }),
            })
            .await
        }
    }
}

/// The order, if this staff member may see it and handle its money: an executor on their
/// own order hears who records money, not "someone else's order".
async fn may(state: &AppState, desk: &Desk, order_id: &str) -> Result<(Uuid, Whose), PageError> {
    let (order_id, whose) = desk.may(state, order_id, Act::SeeOrder).await?;
    if !permissions::allows(
        desk.account.role,
        Act::RecordMoney,
        whose,
        Desk::policy(state),
    ) {
        tracing::info!(account_id = %desk.account.id, %order_id, "money refused by the matrix");
        return Err(desk.fail(Error::Forbidden(api::MONEY_REFUSED)));
    }
    Ok((order_id, whose))
}

fn amount_of(text: &str) -> Result<u64, Error> {
    let amount =
        read_amount(text).map_err(|p| Error::unprocessable("invalid_amount", p.sentence()))?;
    if amount > api::MAX_AMOUNT_MINOR {
        return Err(Error::unprocessable(
            "invalid_amount",
            super::actions::AmountProblem::TooLarge.sentence(),
        ));
    }
    Ok(amount)
}

/// The form's currency, else the order's (a form without the field).
fn currency_of<'a>(form: &'a str, due: &'a Due) -> &'a str {
    match form.trim() {
        "" => due
            .price
            .as_ref()
            .map(|p| p.currency.as_str())
            .unwrap_or("UAH"),
        given => given,
    }
}

async fn pay(
    state: &AppState,
    desk: &Desk,
    order_id: Uuid,
    form: &PaymentForm,
) -> Result<Response, Error> {
    let amount_minor = amount_of(&form.amount)?;
    let method = form.method.trim();
    if !METHODS.contains(&method) {
        return Err(Error::unprocessable(
            "invalid_method",
            "Choose how it was paid: bank transfer, cash or other.",
        ));
    }
    let (submission, payment_id) =
        match claim(state, desk, "payment", order_id, &form.submission).await? {
            Claimed::Fresh(submission, id) => (submission, id),
            Claimed::Again(response) => return Ok(response),
        };
    let checked = async {
        let due = api::due_now(state, order_id).await?;
        api::payment_event(
            &due,
            desk.account.id,
            payment_id,
            &PaymentAsked {
                amount_minor,
                currency: currency_of(&form.currency, &due),
                method,
                note: Some(form.note.as_str()),
            },
        )
    }
    .await;
    let url = format!("{}?payment={payment_id}#payments", order_url(order_id));
    submission
        .complete(state, checked, &url, |received| {
            api::publish_payment(state, &desk.account, desk.remote.clone(), received)
        })
        .await
}

async fn refund(
    state: &AppState,
    desk: &Desk,
    order_id: Uuid,
    form: &RefundForm,
) -> Result<Response, Error> {
    let amount_minor = amount_of(&form.amount)?;
    let (submission, refund_id) =
        match claim(state, desk, "refund", order_id, &form.submission).await? {
            Claimed::Fresh(submission, id) => (submission, id),
            Claimed::Again(response) => return Ok(response),
        };
    let checked = async {
        let due = api::due_now(state, order_id).await?;
        api::refund_event(
            &due,
            desk.account.id,
            refund_id,
            &RefundAsked {
                amount_minor,
                currency: currency_of(&form.currency, &due),
                reason: &form.reason,
            },
        )
    }
    .await;
    let url = format!("{}?refund={refund_id}#payments", order_url(order_id));
    submission
        .complete(state, checked, &url, |refunded| {
            api::publish_refund(state, &desk.account, desk.remote.clone(), refunded)
        })
        .await
}

/// A form's submission id, claimed by this staff member.
struct Submission {
    account_id: Uuid,
    key: IdempotencyKey,
}

enum Claimed {
    /// First sending (or the first one died before answering): record with this id.
    Fresh(Submission, Uuid),
    /// Sent before and answered: where the first answer led, saying so.
    Again(Response),
}

fn stale_form() -> Error {
    Error::unprocessable(
        "stale_form",
        "The form is out of date: reload the page and fill it in again.",
    )
}

/// Claims the form's submission id for `what` (`payment`, `refund`) on the order. The id
/// the money will be recorded with is set aside with the claim, so a takeover after a first
/// attempt that died records the same payment (the worker counts an id once).
async fn claim(
    state: &AppState,
    desk: &Desk,
    what: &str,
    order_id: Uuid,
    submission: &str,
) -> Result<Claimed, Error> {
    let submission = Uuid::parse_str(submission.trim()).map_err(|_| stale_form())?;
    let key =
        IdempotencyKey::new(&format!("office:{what}:{submission}")).map_err(|_| stale_form())?;
    let fingerprint = Fingerprint::new(&format!("office_{what}"))
        .field(&order_id.to_string())
        .finish();
    let fresh_id = Uuid::now_v7();
    let account_id = desk.account.id;
    let deadline = tokio::time::Instant::now() + WAIT_FOR_FIRST;
    loop {
        match idempotency::claim(
            &state.pool,
            account_id,
            &key,
            &fingerprint,
            Some(&fresh_id.to_string()),
        )
        .await?
        {
            Claim::Fresh => return Ok(Claimed::Fresh(Submission { account_id, key }, fresh_id)),
            Claim::Abandoned(reserved) => {
                let id = reserved
                    .and_then(|r| Uuid::parse_str(&r).ok())
                    .unwrap_or(fresh_id);
                return Ok(Claimed::Fresh(Submission { account_id, key }, id));
            }
            Claim::Replay(first) => return Ok(Claimed::Again(again(&first, order_id))),
            // The first sending is still being handled: its answer is a moment away.
            Claim::Refuse(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Claim::Refuse(_) => {
                return Err(Error::Conflict {
                    code: "form_in_progress",
                    message:
                        "This form was already sent and is still being recorded; it counts once."
                            .to_owned(),
                });
            }
        }
    }
}

/// The first answer's page again, marked "already sent".
fn again(first: &Response, order_id: Uuid) -> Response {
    let location = first
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|l| super::local_path(Some(l)))
        .unwrap_or_else(|| order_url(order_id));
    Redirect::to(&marked_again(&location)).into_response()
}

/// `/office/orders/x?payment=y#payments` -> `...?payment=y&again=1#payments`.
fn marked_again(location: &str) -> String {
    let (path, fragment) = match location.split_once('#') {
        Some((path, fragment)) => (path, format!("#{fragment}")),
        None => (location, String::new()),
    };
    let joint = if path.contains('?') { '&' } else { '?' };
    format!("{path}{joint}again=1{fragment}")
}

impl Submission {
    /// Ends the submission of a checked form: refused by its checks, it is released (the
    /// form may come again, corrected); not passed on by `publish`, it is abandoned (a retry
    /// takes it over with the same id); published, its answer is the way to `url`.
    async fn complete<T, F>(
        self,
        state: &AppState,
        checked: Result<T, Error>,
        url: &str,
        publish: impl FnOnce(T) -> F,
    ) -> Result<Response, Error>
    where
        F: Future<Output = Result<(), Error>>,
    {
        let event = match checked {
            Ok(event) => event,
            Err(error) => {
                self.release(state).await;
                return Err(error);
            }
        };
        if let Err(error) = publish(event).await {
            self.abandon(state).await;
            return Err(error);
        }
        self.finish(state, Redirect::to(url).into_response()).await
    }

    /// Refused before anything was done: the same form may come again, corrected.
    async fn release(&self, state: &AppState) {
        if let Err(error) = idempotency::release(&state.pool, self.account_id, &self.key).await {
            // The claim then stays unanswered and is taken over after a while: still safe.
            tracing::warn!(%error, "could not release a form's submission id");
        }
    }

    /// Not passed on (the broker down): a retry takes the claim over with the same id.
    async fn abandon(&self, state: &AppState) {
        let _ = idempotency::finish(
            &state.pool,
            self.account_id,
            &self.key,
            StatusCode::SERVICE_UNAVAILABLE.into_response(),
        )
        .await;
    }

    async fn finish(self, state: &AppState, response: Response) -> Result<Response, Error> {
        Ok(idempotency::finish(&state.pool, self.account_id, &self.key, response).await?)
    }
}

/// A refusal the staff member can act on comes back on the order page, beside its form;
/// anything else (the broker or MySQL down) is the failure page.
async fn refused(
    state: &AppState,
    desk: &Desk,
    order_id: Uuid,
    whose: Whose,
    error: Error,
    drafts: impl FnOnce(String) -> Drafts,
) -> Result<Response, PageError> {
    match error {
        Error::Conflict { .. } | Error::Unprocessable { .. } => {
            let status = error.status_code();
            let english = error.to_string();
            let said = crate::http::error_message_in(&error, &english, desk.lang);
            order::render(
                state,
                desk,
                order_id,
                whose,
                &PageQuery::default(),
                drafts(said),
                status,
            )
            .await
        }
        other => Err(desk.fail(other)),
    }
}

/// `125000` -> `1250.00`, for an amount field.
fn major(amount_minor: u64) -> String {
    format!("{}.{:02}", amount_minor / 100, amount_minor % 100)
}

/// A method as staff read it.
pub fn method_label(t: &Texts, method: Option<&str>) -> &'static str {
    match method {
        Some("telegram") => t.pay_telegram,
        Some("bank_transfer") => t.pay_bank_transfer,
        Some("cash") => t.pay_cash,
        Some("other") => t.pay_other,
        _ => t.none,
    }
}

/// Who recorded a line: the staff member, the customer (Telegram), or the system.
pub fn recorder(t: &Texts, line: &MoneyLine, customer: &str) -> String {
    match line.actor_kind.as_str() {
        "staff" => line.actor_name.clone().unwrap_or_else(|| t.none.to_owned()),
        "customer" => customer.to_owned(),
        _ => t.by_system.to_owned(),
    }
}

/// What the order page's payments panel shows.
pub struct PanelInput<'a> {
    pub lang: Lang,
    pub order_id: Uuid,
    pub due: Option<&'a Due>,
    /// Whether staff quoted a price (the price is then the latest quote).
    pub quoted: bool,
    pub lines: &'a [MoneyLine],
    pub customer: &'a str,
    pub query: &'a PageQuery,
    pub drafts: Drafts,
}

pub fn panel(input: PanelInput<'_>) -> MoneyPanel {
    let t = input.lang.texts();
    let price = input.due.and_then(|d| d.price.clone());
    let currency = price
        .as_ref()
        .map(|p| p.currency.clone())
        .unwrap_or_default();
    let in_currency = |kind: &str| -> u64 {
        input
            .lines
            .iter()
            .filter(|l| l.kind == kind && l.currency == currency)
            .map(|l| l.amount_minor)
            .sum()
    };
    let (paid, refunded) = (in_currency("payment"), in_currency("refund"));
    let net = paid.saturating_sub(refunded);
    let price_label = match (input.due, input.quoted) {
        (Some(due), true) if due.status == proto_events::OrderStatus::Quoted => t.pay_quoted,
        (Some(_), true) => t.pay_agreed,
        (Some(_), false) if price.is_some() => t.pay_total,
        _ => t.pay_price,
    };
    let (balance_label, balance, balance_class) = match &price {
        None => (t.pay_left, t.none.to_owned(), "due"),
        Some(p) if net > p.amount_minor => (
            t.pay_overpaid,
            money(net - p.amount_minor, &currency),
            "over",
        ),
        Some(p) if net == p.amount_minor => (t.pay_in_full, money(0, &currency), "settled"),
        Some(p) => (t.pay_left, money(p.amount_minor - net, &currency), "due"),
    };
    let lines = input
        .lines
        .iter()
        .map(|line| {
            let refund = line.kind == "refund";
            LineView {
                id: line.id.to_string(),
                when: When::of(line.recorded_at),
                class: if refund { "refund" } else { "payment" },
                what: if refund {
                    t.pay_refund.to_owned()
                } else {
                    method_label(t, line.method.as_deref()).to_owned()
                },
                amount: if refund {
                    format!("−{}", money(line.amount_minor, &line.currency))
                } else {
                    money(line.amount_minor, &line.currency)
                },
                who: recorder(t, line, input.customer),
                note: line.note.clone().unwrap_or_default(),
            }
        })
        .collect();
    let Drafts {
        payment: payment_draft,
        refund: refund_draft,
    } = input.drafts;
    let submission = |draft: Option<&Draft>| {
        draft
            .map(|d| d.submission.trim())
            .filter(|s| Uuid::parse_str(s).is_ok())
            .map(str::to_owned)
            .unwrap_or_else(|| Uuid::now_v7().to_string())
    };
    let payable = input.due.map(Due::payable);
    let (payment, payment_blocked) = match payable {
        Some(Ok(left)) => {
            let chosen = payment_draft
                .as_ref()
                .map(|d| d.method.as_str())
                .filter(|m| METHODS.contains(m))
                .unwrap_or("bank_transfer");
            (
                Some(PaymentFormView {
                    amount: payment_draft
                        .as_ref()
                        .map(|d| d.amount.clone())
                        .unwrap_or_else(|| major(left.amount_minor)),
                    methods: METHODS
                        .iter()
                        .map(|m| Opt::new(*m, method_label(t, Some(*m)), *m == chosen))
                        .collect(),
                    note: payment_draft
                        .as_ref()
                        .map(|d| d.text.clone())
                        .unwrap_or_default(),
                    submission: submission(payment_draft.as_ref()),
                }),
                None,
            )
        }
        Some(Err(why)) => (
            None,
            Some(match why {
                NotPayable::Closed => t.pay_blocked_closed,
                NotPayable::AwaitingQuoteAnswer => t.pay_blocked_answer,
                NotPayable::NoPrice => t.pay_blocked_price,
                NotPayable::AlreadyPaid => t.pay_blocked_paid,
            }),
        ),
        None => (None, Some(t.pay_blocked_price)),
    };
    let refundable = input
        .due
        .map(|d| u64::try_from(d.paid_minor).unwrap_or(0))
        .unwrap_or(0);
    let refund = (refundable > 0).then(|| RefundFormView {
        amount: refund_draft
            .as_ref()
            .map(|d| d.amount.clone())
            .unwrap_or_default(),
        reason: refund_draft
            .as_ref()
            .map(|d| d.text.clone())
            .unwrap_or_default(),
        submission: submission(refund_draft.as_ref()),
        at_most: money(refundable, &currency),
    });
    MoneyPanel {
        price_label,
        price: price
            .as_ref()
            .map(|p| money(p.amount_minor, &p.currency))
            .unwrap_or_else(|| t.pay_no_price.to_owned()),
        paid: money(paid, &currency),
        refunded: money(refunded, &currency),
        balance_label,
        balance,
        balance_class,
        lines,
        banner: banner(t, input.order_id, input.lines, input.query),
        currency,
        payment,
        payment_blocked,
        payment_error: payment_draft.map(|d| d.error),
        refund,
        refund_error: refund_draft.map(|d| d.error),
    }
}

/// What became of the payment or refund the page was asked to follow.
fn banner(t: &Texts, order_id: Uuid, lines: &[MoneyLine], query: &PageQuery) -> Option<Banner> {
    let (id, is_refund) = match (query.payment.as_deref(), query.refund.as_deref()) {
        (Some(id), _) => (id, false),
        (None, Some(id)) => (id, true),
        (None, None) => return None,
    };
    let id = Uuid::parse_str(id).ok()?;
    let again = if query.again.is_some() {
        format!("{} ", t.pay_again)
    } else {
        String::new()
    };
    Some(match lines.iter().find(|l| l.id == id) {
        Some(line) if line.kind == "refund" => Banner {
            class: "ok",
            text: format!(
                "{again}{}: {}.",
                t.refund_recorded,
                money(line.amount_minor, &line.currency)
            ),
            poll: None,
        },
        Some(line) => Banner {
            class: "ok",
            text: format!(
                "{again}{}: {}, {}.",
                t.pay_recorded,
                money(line.amount_minor, &line.currency),
                method_label(t, line.method.as_deref()).to_lowercase()
            ),
            poll: None,
        },
        None => Banner {
            class: "pending",
            text: format!(
                "{again}{}",
                if is_refund {
                    t.refund_pending
                } else {
                    t.pay_pending
                }
            ),
            poll: Some(format!("/api/staff/orders/{order_id}/payments/{id}")),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_sent_again_leads_to_the_first_answer_marked() {
        assert_eq!(
            marked_again("/office/orders/x?payment=y#payments"),
            "/office/orders/x?payment=y&again=1#payments"
        );
        assert_eq!(marked_again("/office/orders/x"), "/office/orders/x?again=1");
    }

    #[test]
    fn amounts_over_the_bound_are_refused() {
        assert!(amount_of("2000000000").is_err());
        assert_eq!(amount_of("450.50").unwrap(), 45_050);
        let said = amount_of("-1").unwrap_err().to_string();
        assert_eq!(said, "The amount must be more than 0.");
    }
}
