//! Status change requests, decided once: the persistence worker is the one writer of orders,
//! so it is where "two people changed one order at once" is settled.
//!
//! In the transaction that claims the request in the inbox, [`decide`] locks the order's row,
//! compares the version the requester saw with the order's (compare-and-set), checks the
//! state machine with the actor's rules (staff: any move the machine allows, with its
//! reasons; customers: cancel while allowed and answer the latest price quote), and records
//! either the change (history + order) or the refusal, always with the outcome in
//! `status_change_requests`. Only after the commit does the handler publish the outcome
//! ([`outcome_event`]): `OrderStatusChanged` or `OrderStatusChangeRefused`, whose event id
//! derives from the request id. A crash between the commit and the broker's confirm
//! redelivers the request; its inbox row exists, so the handler reads the stored outcome
//! ([`stored`]) and publishes the very same event again, which consumers drop by its id.

use bureau_event_bus::HandlerError;
use bureau_kit::text::truncate;
use bureau_platform::links::{self, LinkPurpose, Revocation};
use bureau_scheduling::reminders;
use chrono::{DateTime, Utc};
use proto_events::envelope::deterministic_id;
use proto_events::{
    Actor, Envelope, OrderStatus, OrderStatusChangeRefused, OrderStatusChangeRequested,
    OrderStatusChanged, RefusalCode, TransitionError,
};
use sqlx::{MySqlConnection, Row};
use uuid::Uuid;

use crate::records::{actor_columns, classify};

/// What was decided about one request, as stored: everything its outcome event says.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub request_id: Uuid,
    /// The request event that was decided (the outcome's causation).
    pub request_event_id: Option<Uuid>,
    pub order_id: Uuid,
    pub order_number: String,
    pub actor: Actor,
    pub from: OrderStatus,
    pub to: OrderStatus,
    pub reason: Option<String>,
    pub expected_version: u32,
    pub verdict: Verdict,
    pub decided_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The change is in the order and its history at this version.
    Recorded { version: u32 },
    Refused {
        code: RefusalCode,
        reason: String,
        current_status: OrderStatus,
        current_version: u32,
    },
}

/// The id of the event that announces the outcome of `request_id`: the same however many
/// times it is published.
pub fn outcome_event_id(request_id: Uuid) -> Uuid {
    deterministic_id(format!("{}/status-change-outcome/{request_id}", crate::SERVICE).as_bytes())
}

/// A request made from a status change of the old shape (published by a gateway before
/// requests existed, see `docs/events.md`): it asked for `version` as the next version.
pub fn request_from_legacy(
    event: &Envelope,
    change: &OrderStatusChanged,
) -> Result<OrderStatusChangeRequested, HandlerError> {
    let expected_version = change.version.checked_sub(1).ok_or_else(|| {
        HandlerError::permanent("a status change of the old shape with version 0")
    })?;
    Ok(OrderStatusChangeRequested {
        request_id: deterministic_id(
            format!("{}/legacy-status-change/{}", crate::SERVICE, event.event_id).as_bytes(),
        ),
        order_id: change.order_id,
        order_number: change.order_number.clone(),
        expected_version,
        from: change.from,
        to: change.to,
        reason: change.reason.clone(),
        actor: change.actor.clone(),
        quote_id: None,
        requested_at: change.changed_at,
    })
}

/// Decides `request` inside `tx` (which holds its inbox claim) and records the outcome.
/// Transient when the order is not recorded yet (its `OrderCreated` may still be on the way).
pub async fn decide(
    tx: &mut MySqlConnection,
    event: &Envelope,
    request: &OrderStatusChangeRequested,
) -> Result<Decision, HandlerError> {
    // Every decision about one order waits here for the one before it.
    let order = sqlx::query(
        "SELECT status, status_version, order_number FROM orders WHERE id = ? FOR UPDATE",
    )
    .bind(request.order_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(classify)?
    .ok_or_else(|| {
        HandlerError::transient(format!("order {} is not recorded yet", request.order_id))
    })?;
    let status_name: String = order.try_get("status").map_err(classify)?;
    let current_status = OrderStatus::parse(&status_name).ok_or_else(|| {
        HandlerError::permanent(format!("the order has an unknown status `{status_name}`"))
    })?;
    let current_version: u32 = order.try_get("status_version").map_err(classify)?;
    let order_number: String = order.try_get("order_number").map_err(classify)?;

    // The same request under another event id (a gateway's retry): decided already.
    if let Some(decision) = stored_in(tx, request.request_id).await? {
        tracing::info!(request_id = %request.request_id, "request already decided; its outcome is announced again");
        return Ok(decision);
    }

    let decided_at = Utc::now();
    let refusal = judge(request, current_status, current_version, &order_number);
    let refusal = match refusal {
        Some(refusal) => Some(refusal),
        None => quote_refusal(tx, request, &order_number, decided_at).await?,
    };
    let verdict = match refusal {
        Some((code, reason)) => Verdict::Refused {
            code,
            reason,
            current_status,
            current_version,
        },
        None => {
            let version = current_version + 1;
            record_change(tx, request, version, decided_at).await?;
            Verdict::Recorded { version }
        }
    };
    let decision = Decision {
        request_id: request.request_id,
        request_event_id: Some(event.event_id),
        order_id: request.order_id,
        order_number,
        actor: request.actor.clone(),
        from: request.from,
        to: request.to,
        reason: request.reason.clone(),
        expected_version: request.expected_version,
        verdict,
        decided_at,
    };
    store(tx, request, &decision).await?;
    match &decision.verdict {
        Verdict::Recorded { version } => {
            tracing::info!(order_number = %decision.order_number, to = %decision.to, version, request_id = %decision.request_id, "status change recorded")
        }
        Verdict::Refused { code, reason, .. } => {
            tracing::info!(order_number = %decision.order_number, to = %decision.to, code = code.as_str(), %reason, request_id = %decision.request_id, "status change refused")
        }
    }
    Ok(decision)
}

/// The compare-and-set and the state machine: `None` if the change may be made.
fn judge(
    request: &OrderStatusChangeRequested,
    status: OrderStatus,
    version: u32,
    order_number: &str,
) -> Option<(RefusalCode, String)> {
    if request.expected_version != version {
        return Some(if status == request.to {
            (
                RefusalCode::AlreadyInStatus,
                format!("Order №{order_number} is already {status} (version {version})."),
            )
        } else {
            (
                RefusalCode::VersionConflict,
                format!(
                    "Order №{order_number} changed since the request was made: it is now {status} (version {version}), the request was made at version {}.",
                    request.expected_version
                ),
            )
        });
    }
    if status != request.from {
        // The version matches but the status does not: the requester read something else.
        return Some((
            RefusalCode::VersionConflict,
            format!(
                "Order №{order_number} is {status} at version {version}, not {} as the request says.",
                request.from
            ),
        ));
    }
    let checked = match request.actor {
        Actor::Customer => status.customer_transition(request.to),
        Actor::Staff { .. } | Actor::System => {
            status.transition(request.to, request.reason.as_deref())
        }
    };
    checked.err().map(|error| {
        let code = match error {
            TransitionError::NotAllowed { .. } => RefusalCode::TransitionNotAllowed,
            TransitionError::ReasonRequired { .. } => RefusalCode::ReasonRequired,
            TransitionError::NotForCustomers { .. } => RefusalCode::NotAllowedForCustomer,
        };
        (code, sentence(&error.to_string()))
    })
}

/// A customer's answer to a quote that a newer quote replaced is refused, and so is an
/// acceptance after the quote's `valid_until` (declining an expired price is still fine).
async fn quote_refusal(
    tx: &mut MySqlConnection,
    request: &OrderStatusChangeRequested,
    order_number: &str,
    now: DateTime<Utc>,
) -> Result<Option<(RefusalCode, String)>, HandlerError> {
    let Some(quote_id) = request.quote_id else {
        return Ok(None);
    };
    let latest: Option<(Uuid, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT event_id, valid_until FROM order_quotes WHERE order_id = ? ORDER BY quoted_at DESC, event_id DESC LIMIT 1",
    )
    .bind(request.order_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(classify)?;
    Ok(match latest {
        Some((latest, _)) if latest != quote_id => Some(outdated(order_number)),
        None => Some(outdated(order_number)),
        Some((_, Some(valid_until)))
            if request.to == OrderStatus::Accepted && valid_until < now =>
        {
            Some((
                RefusalCode::QuoteExpired,
                format!(
                    "The price quoted for order №{order_number} was valid until {}; it can no longer be accepted.",
                    valid_until.format("%Y-%m-%d %H:%M UTC")
                ),
            ))
        }
        Some(_) => None,
    })
}

fn outdated(order_number: &str) -> (RefusalCode, String) {
    (
        RefusalCode::QuoteOutdated,
        format!("The quote answered is not the latest price quoted for order №{order_number}."),
    )
}

async fn record_change(
    tx: &mut MySqlConnection,
    request: &OrderStatusChangeRequested,
    version: u32,
    decided_at: DateTime<Utc>,
) -> Result<(), HandlerError> {
    let (actor_kind, actor_account) = actor_columns(&request.actor);
    sqlx::query(
        "INSERT INTO order_status_history
             (order_id, version, from_status, to_status, actor_kind, actor_account_id, reason, event_id, changed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(request.order_id)
    .bind(version)
    .bind(request.from.as_str())
    .bind(request.to.as_str())
    .bind(actor_kind)
    .bind(actor_account)
    .bind(request.reason.as_deref().map(|r| truncate(r, 1000)))
    .bind(outcome_event_id(request.request_id))
    .bind(decided_at)
    .execute(&mut *tx)
    .await
    .map_err(classify)?;
    sqlx::query("UPDATE orders SET status = ?, status_version = ?, updated_at = ? WHERE id = ?")
        .bind(request.to.as_str())
        .bind(version)
        .bind(decided_at)
        .bind(request.order_id)
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
    // The reminders follow the order: an answered quote is not reminded of, an accepted
    // one is invoiced (reminded if unpaid a day later), a closed order hears of neither.
    if request.from == OrderStatus::Quoted {
        reminders::call_off(
            tx,
            &[reminders::Kind::QuoteUnanswered],
            request.order_id,
            "answered",
        )
        .await
        .map_err(classify)?;
        if request.to == OrderStatus::Accepted {
            reminders::schedule_in(
                tx,
                reminders::Kind::InvoiceUnpaid,
                request.order_id,
                decided_at + reminders::answer_wait(),
                None,
                Utc::now(),
            )
            .await
            .map_err(classify)?;
        }
    }
    if matches!(request.to, OrderStatus::Cancelled | OrderStatus::Rejected) {
        reminders::call_off(
            tx,
            &[
                reminders::Kind::QuoteUnanswered,
                reminders::Kind::InvoiceUnpaid,
            ],
            request.order_id,
            "closed",
        )
        .await
        .map_err(classify)?;
    }
    if request.to.is_terminal() {
        // A closed order takes no more files: its upload links die with the change, in the
        // same transaction. A delivered order's results stay downloadable until their links
        // expire; a cancelled or rejected order's do not.
        let purposes: &[LinkPurpose] = if request.to == OrderStatus::Delivered {
            &[LinkPurpose::Upload]
        } else {
            &[LinkPurpose::Upload, LinkPurpose::Download]
        };
        links::revoke_order_links(tx, request.order_id, purposes, Revocation::OrderClosed)
            .await
            .map_err(classify)?;
    }
    Ok(())
}

/// Writes the outcome over the gateway's `pending` row, or as a new row (requests from the
/// bot have none).
async fn store(
    tx: &mut MySqlConnection,
    request: &OrderStatusChangeRequested,
    decision: &Decision,
) -> Result<(), HandlerError> {
    let (actor_kind, actor_account) = actor_columns(&request.actor);
    let (outcome, recorded_version, code, reason, current_status, current_version) =
        match &decision.verdict {
            Verdict::Recorded { version } => (
                "recorded",
                Some(*version),
                None,
                None,
                decision.to,
                *version,
            ),
            Verdict::Refused {
                code,
                reason,
                current_status,
                current_version,
            } => (
                "refused",
                None,
                Some(code.as_str()),
                Some(truncate(reason, 1000)),
                *current_status,
                *current_version,
            ),
        };
    sqlx::query(
        "INSERT INTO status_change_requests
             (request_id, order_id, event_id, actor_kind, actor_account_id, from_status, to_status, reason,
              expected_version, quote_id, outcome, recorded_version, refusal_code, refusal_reason,
              current_status, current_version, requested_at, decided_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE
             event_id = VALUES(event_id), outcome = VALUES(outcome),
             recorded_version = VALUES(recorded_version), refusal_code = VALUES(refusal_code),
             refusal_reason = VALUES(refusal_reason), current_status = VALUES(current_status),
             current_version = VALUES(current_version), decided_at = VALUES(decided_at)",
    )
    .bind(request.request_id)
    .bind(request.order_id)
    .bind(decision.request_event_id)
    .bind(actor_kind)
    .bind(actor_account)
    .bind(request.from.as_str())
    .bind(request.to.as_str())
    .bind(request.reason.as_deref().map(|r| truncate(r, 1000)))
    .bind(request.expected_version)
    .bind(request.quote_id)
    .bind(outcome)
    .bind(recorded_version)
    .bind(code)
    .bind(reason)
    .bind(current_status.as_str())
    .bind(current_version)
    .bind(request.requested_at)
    .bind(decision.decided_at)
    .execute(&mut *tx)
    .await
    .map_err(classify)?;
    Ok(())
}

/// The stored decision about `request_id`, if it was decided.
pub async fn stored(
    conn: &mut MySqlConnection,
    request_id: Uuid,
) -> Result<Option<Decision>, HandlerError> {
    stored_in(conn, request_id).await
}

async fn stored_in(
    conn: &mut MySqlConnection,
    request_id: Uuid,
) -> Result<Option<Decision>, HandlerError> {
    let Some(row) = sqlx::query(
        "SELECT r.order_id, r.event_id, r.actor_kind, r.actor_account_id, r.from_status, r.to_status, r.reason,
                r.expected_version, r.outcome, r.recorded_version, r.refusal_code, r.refusal_reason,
                r.current_status, r.current_version, r.decided_at, o.order_number
         FROM status_change_requests r JOIN orders o ON o.id = r.order_id
         WHERE r.request_id = ? AND r.outcome <> 'pending'",
    )
    .bind(request_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(classify)?
    else {
        return Ok(None);
    };
    let get_status = |column: &str| -> Result<OrderStatus, HandlerError> {
        let name: String = row.try_get(column).map_err(classify)?;
        OrderStatus::parse(&name)
            .ok_or_else(|| HandlerError::permanent(format!("unknown status `{name}` in {column}")))
    };
    let actor = match row
        .try_get::<String, _>("actor_kind")
        .map_err(classify)?
        .as_str()
    {
        "staff" => Actor::Staff {
            account_id: row
                .try_get::<Option<Uuid>, _>("actor_account_id")
                .map_err(classify)?
                .unwrap_or_default(),
        },
        "customer" => Actor::Customer,
        _ => Actor::System,
    };
    let verdict = match row
        .try_get::<String, _>("outcome")
        .map_err(classify)?
        .as_str()
    {
        "recorded" => Verdict::Recorded {
            version: row
                .try_get::<Option<u32>, _>("recorded_version")
                .map_err(classify)?
                .unwrap_or_default(),
        },
        _ => {
            let code: Option<String> = row.try_get("refusal_code").map_err(classify)?;
            Verdict::Refused {
                code: code
                    .as_deref()
                    .and_then(RefusalCode::parse)
                    .unwrap_or(RefusalCode::VersionConflict),
                reason: row
                    .try_get::<Option<String>, _>("refusal_reason")
                    .map_err(classify)?
                    .unwrap_or_default(),
                current_status: get_status("current_status")?,
                current_version: row
                    .try_get::<Option<u32>, _>("current_version")
                    .map_err(classify)?
                    .unwrap_or_default(),
            }
        }
    };
    Ok(Some(Decision {
        request_id,
        request_event_id: row.try_get("event_id").map_err(classify)?,
        order_id: row.try_get("order_id").map_err(classify)?,
        order_number: row.try_get("order_number").map_err(classify)?,
        actor,
        from: get_status("from_status")?,
        to: get_status("to_status")?,
        reason: row.try_get("reason").map_err(classify)?,
        expected_version: row.try_get("expected_version").map_err(classify)?,
        verdict,
        decided_at: row
            .try_get::<Option<DateTime<Utc>>, _>("decided_at")
            .map_err(classify)?
            .unwrap_or_else(Utc::now),
    }))
}

/// The event announcing `decision`: built from what is stored, so every publication of one
/// decision is the same event (the same id and payload).
pub fn outcome_event(decision: &Decision) -> Envelope {
    let payload: proto_events::Event = match &decision.verdict {
        Verdict::Recorded { version } => OrderStatusChanged {
            order_id: decision.order_id,
            order_number: decision.order_number.clone(),
            from: decision.from,
            to: decision.to,
            version: *version,
            reason: decision.reason.clone(),
            actor: decision.actor.clone(),
            changed_at: decision.decided_at,
            request_id: Some(decision.request_id),
        }
        .into(),
        Verdict::Refused {
            code,
            reason,
            current_status,
            current_version,
        } => OrderStatusChangeRefused {
            request_id: decision.request_id,
            order_id: decision.order_id,
            order_number: decision.order_number.clone(),
            from: decision.from,
            to: decision.to,
            expected_version: decision.expected_version,
            actor: decision.actor.clone(),
            code: *code,
            reason: reason.clone(),
            current_status: *current_status,
            current_version: *current_version,
            refused_at: decision.decided_at,
        }
        .into(),
    };
    let mut envelope = Envelope::new(crate::SERVICE.name(), decision.order_id, payload);
    envelope.event_id = outcome_event_id(decision.request_id);
    envelope.causation_id = decision.request_event_id;
    envelope
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

    fn request(
        from: OrderStatus,
        to: OrderStatus,
        expected_version: u32,
        actor: Actor,
    ) -> OrderStatusChangeRequested {
        OrderStatusChangeRequested {
            request_id: Uuid::now_v7(),
            order_id: Uuid::now_v7(),
            order_number: "48213097".into(),
            expected_version,
            from,
            to,
            reason: None,
            actor,
            quote_id: None,
            requested_at: Utc::now(),
        }
    }

    fn staff() -> Actor {
        Actor::Staff {
            account_id: Uuid::now_v7(),
        }
    }

    #[test]
    fn the_loser_of_a_race_is_refused_with_where_the_order_is() {
        use OrderStatus::*;
        let late = request(AwaitingConfirmation, Rejected, 1, staff());
        let (code, reason) = judge(&late, Accepted, 2, "48213097").unwrap();
        assert_eq!(code, RefusalCode::VersionConflict);
        assert_eq!(
            reason,
            "Order №48213097 changed since the request was made: it is now accepted (version 2), the request was made at version 1."
        );
        let same = request(AwaitingConfirmation, Accepted, 1, staff());
        assert_eq!(
            judge(&same, Accepted, 2, "1").unwrap().0,
            RefusalCode::AlreadyInStatus
        );
        assert_eq!(judge(&same, AwaitingConfirmation, 1, "1"), None);
    }

    #[test]
    fn the_state_machine_and_the_actor_decide_the_rest() {
        use OrderStatus::*;
        let no_reason = request(Accepted, Rejected, 2, staff());
        assert_eq!(
            judge(&no_reason, Accepted, 2, "1").unwrap().0,
            RefusalCode::ReasonRequired
        );
        let customer_late_cancel = request(Accepted, Cancelled, 2, Actor::Customer);
        assert_eq!(
            judge(&customer_late_cancel, Accepted, 2, "1").unwrap().0,
            RefusalCode::NotAllowedForCustomer
        );
        let customer_accepts = request(Quoted, Accepted, 3, Actor::Customer);
        assert_eq!(judge(&customer_accepts, Quoted, 3, "1"), None);
        let skipping = request(AwaitingConfirmation, Delivered, 1, staff());
        let (code, reason) = judge(&skipping, AwaitingConfirmation, 1, "1").unwrap();
        assert_eq!(code, RefusalCode::TransitionNotAllowed);
        assert_eq!(
            reason,
            "An order cannot go from awaiting_confirmation to delivered."
        );
    }

    #[test]
    fn an_outcome_is_the_same_event_every_time_it_is_announced() {
        let decision = Decision {
            request_id: Uuid::now_v7(),
            request_event_id: Some(Uuid::now_v7()),
            order_id: Uuid::now_v7(),
            order_number: "48213097".into(),
            actor: staff(),
            from: OrderStatus::AwaitingConfirmation,
            to: OrderStatus::Accepted,
            reason: None,
            expected_version: 1,
            verdict: Verdict::Recorded { version: 2 },
            decided_at: Utc::now(),
        };
        let first = outcome_event(&decision);
        let again = outcome_event(&decision);
        assert_eq!(first.event_id, again.event_id);
        assert_eq!(first.payload, again.payload);
        assert_eq!(first.event_id, outcome_event_id(decision.request_id));
        assert_eq!(first.causation_id, decision.request_event_id);
        let proto_events::Event::OrderStatusChanged(change) = &first.payload else {
            panic!("recorded: a status change")
        };
        assert_eq!(change.request_id, Some(decision.request_id));
        assert_eq!(change.version, 2);
        assert_eq!(
            Envelope::from_json(&first.to_json()).unwrap().payload,
            first.payload
        );
    }
}
