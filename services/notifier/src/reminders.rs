//! The reminder sender: every notifier replica claims due reminders from the durable
//! schedule (`bureau_scheduling::reminders`: `FOR UPDATE SKIP LOCKED` and a lease, so two
//! replicas never take the same one), checks each is still true (the booking still at that
//! time, the quote still unanswered, the invoice still unpaid), and sends it once, in the
//! customer's language, through the same channel choice (`route`) and the same shared
//! Telegram pace as every other notice. The clock is injected, so tests move time instead of
//! sleeping.
//!
//! A booking's reminder goes to its order's customer; a booking staff made for a customer
//! who phoned has no order, so it goes to the customer named on the booking, in their
//! language, without an order number or button (by e-mail: without the order page). Such a
//! customer with neither a Telegram chat nor a verified address is skipped (`no_contact`).
//!
//! The one duplicate window is the journal's: if a replica dies between Telegram accepting
//! a reminder and `sent_at` being written, the lease ends and another replica sends it again.
//! Writing `sent_at` first would turn that duplicate into a lost reminder.

use std::sync::Arc;
use std::time::Duration;

use bureau_mail::{Mail, MailError};
use bureau_scheduling::reminders::{self, Claimed, Kind};
use chrono::{DateTime, Utc};
use proto_events::{QuoteAnswer, callbacks};
use sqlx::Row;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::email;
use crate::handler::Notifier;
use crate::metrics;
use crate::notice::{Content, InlineButton, OutgoingMessage};
use crate::recipients::Recipient;
use crate::route::{Route, route};
use crate::telegram::SendFailure;

/// What time it is, for the reminder sender: `Utc::now` in service, a moved clock in tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// How the reminder sender runs.
#[derive(Clone)]
pub struct Reminding {
    pub clock: Clock,
    /// How often the schedule is looked at.
    pub poll: Duration,
    /// How long a claimed reminder is this replica's before another may take it.
    pub lease: chrono::Duration,
    /// This replica's name in `reminders.claimed_by`.
    pub sender: String,
}

impl Default for Reminding {
    fn default() -> Reminding {
        Reminding {
            clock: Arc::new(Utc::now),
            poll: Duration::from_secs(5),
            lease: chrono::Duration::seconds(120),
            sender: format!("notifier-{}", Uuid::now_v7()),
        }
    }
}

/// Reminders claimed at once.
const BATCH: u32 = 50;

/// What a claimed reminder turned out to be.
enum Verdict {
    Send {
        /// `None`: a booking staff made for a customer who phoned, with no order.
        order_id: Option<Uuid>,
        text: String,
        buttons: Vec<Vec<InlineButton>>,
    },
    /// No longer true (the reason is stored on the row).
    Skip(&'static str),
    /// Not answerable now (the booking moved while it was claimed): left to its lease,
    /// looked at again.
    Later,
}

/// Looks at the schedule every `poll` until `shutdown`.
pub async fn run(notifier: Arc<Notifier>, reminding: Reminding, shutdown: CancellationToken) {
    tracing::info!(sender = %reminding.sender, "reminder sender started");
    loop {
        if let Err(error) = round(&notifier, &reminding).await {
            tracing::warn!(%error, "reminder round failed; trying again shortly");
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(reminding.poll) => {}
        }
    }
}

/// One look at the schedule: claims what is due and sends it. Public for tests.
pub async fn round(notifier: &Notifier, reminding: &Reminding) -> Result<usize, sqlx::Error> {
    let now = (reminding.clock)();
    let claimed = reminders::claim_due(
        &notifier.pool,
        &reminding.sender,
        now,
        reminding.lease,
        BATCH,
    )
    .await?;
    let mut sent = 0;
    for reminder in claimed {
        match one(notifier, reminding, &reminder, now).await {
            Ok(true) => sent += 1,
            Ok(false) => {}
            Err(error) => {
                // Left claimed: another round takes it once the lease ends.
                tracing::warn!(id = %reminder.id, kind = %reminder.kind, %error, "reminder not sent; it will be tried again");
            }
        }
    }
    Ok(sent)
}

async fn one(
    notifier: &Notifier,
    reminding: &Reminding,
    reminder: &Claimed,
    now: DateTime<Utc>,
) -> Result<bool, anyhow::Error> {
    let pool = &notifier.pool;
    let Some(kind) = Kind::parse(&reminder.kind) else {
        reminders::mark_skipped(pool, reminder.id, &reminding.sender, "unknown_kind").await?;
        return Ok(false);
    };
    let skip = |reason: &'static str| async move {
        tracing::info!(id = %reminder.id, kind = kind.as_str(), reason, "reminder skipped");
        metrics::skipped(reason);
        reminders::mark_skipped(pool, reminder.id, &reminding.sender, reason)
            .await
            .map(|_| false)
    };
    // Who hears it: the order's customer, or (a booking staff made for a customer who
    // phoned, with no order) the customer named on the booking.
    let (order_id, recipient) = match kind {
        Kind::Booking24h | Kind::Booking1h => {
            let row = sqlx::query("SELECT order_id, customer_id FROM bookings WHERE id = ?")
                .bind(reminder.subject_id)
                .fetch_optional(pool)
                .await?;
            let Some(row) = row else {
                return Ok(skip("no_booking").await?);
            };
            let order_id: Option<Uuid> = row.try_get("order_id")?;
            let customer_id: Option<Uuid> = row.try_get("customer_id")?;
            match (order_id, customer_id) {
                (Some(order_id), _) => (
                    Some(order_id),
                    notifier.recipients.of_order(order_id).await?,
                ),
                (None, Some(customer_id)) => {
                    (None, notifier.recipients.of_customer(customer_id).await?)
                }
                (None, None) => return Ok(skip("no_customer").await?),
            }
        }
        Kind::QuoteUnanswered | Kind::InvoiceUnpaid => (
            Some(reminder.subject_id),
            notifier.recipients.of_order(reminder.subject_id).await?,
        ),
    };
    let Some(recipient) = recipient else {
        return Ok(skip(if order_id.is_some() {
            "no_order"
        } else {
            "no_customer"
        })
        .await?);
    };
    let language =
        bureau_platform::texts::Catalog::language_for(Some(&recipient.language)).to_owned();
    let verdict = verdict(notifier, kind, reminder, order_id, &recipient, &language).await?;
    let (order_id, text, buttons) = match verdict {
        Verdict::Send {
            order_id,
            text,
            buttons,
        } => (order_id, text, buttons),
        Verdict::Skip(reason) => return Ok(skip(reason).await?),
        Verdict::Later => return Ok(false),
    };
    match route(&recipient, notifier.mailer.is_some()) {
        // A customer who phoned and has neither a Telegram chat with the bot nor a verified
        // address: nobody to write to (staff see the reason on the reminder's row).
        Route::Nowhere("web_only") if order_id.is_none() => Ok(skip("no_contact").await?),
        Route::Nowhere(reason) => Ok(skip(reason).await?),
        Route::Telegram(chat_id) => {
            let message = OutgoingMessage {
                content: Content::Text(text),
                buttons,
            };
            match notifier.telegram.send(chat_id, &message).await {
                Ok(_) => {}
                Err(SendFailure::Unreachable(_)) => {
                    notifier
                        .recipients
                        .mark_unreachable(recipient.customer_id, chat_id)
                        .await?;
                    return Ok(skip("unreachable").await?);
                }
                Err(SendFailure::Refused(reason)) => {
                    tracing::warn!(?order_id, %reason, "Telegram refused a reminder for good");
                    return Ok(skip("refused").await?);
                }
                Err(failure) => return Err(failure.into()),
            }
            sent(
                notifier, reminding, reminder, kind, order_id, "telegram", now,
            )
            .await
        }
        Route::Email(address) => {
            let Some(mailer) = &notifier.mailer else {
                return Ok(false);
            };
            let settings = notifier.links.settings();
            let texts = &notifier.texts;
            let greeting = texts.email(
                &language,
                "greeting",
                &[("name", recipient.display_name.trim())],
            );
            let footer = texts.email(
                &language,
                "footer",
                &[("business", settings.business.name.as_str())],
            );
            let (subject, body) = if order_id.is_some() {
                let order_url = email::order_url(
                    &settings.web_gateway.public_url,
                    &settings.mail.order_path,
                    &recipient.order_number,
                );
                let open = texts.email(&language, "open_order", &[]);
                (
                    texts.email(
                        &language,
                        "subject_reminder",
                        &[("number", recipient.order_number.as_str())],
                    ),
                    format!("{greeting}\n\n{text}\n\n{open}\n{order_url}\n\n{footer}\n"),
                )
            } else {
                // No order, so no order page to point to.
                (
                    texts.email(&language, "subject_booking_reminder", &[]),
                    format!("{greeting}\n\n{text}\n\n{footer}\n"),
                )
            };
            let mail = Mail {
                to: address,
                subject,
                text: body,
                language: language.clone(),
            };
            match mailer.send(&mail).await {
                Ok(()) => {}
                Err(MailError::Permanent(reason)) => {
                    tracing::warn!(?order_id, %reason, "the customer's address refused a reminder for good");
                    return Ok(skip("bounced").await?);
                }
                Err(failure) => return Err(failure.into()),
            }
            sent(notifier, reminding, reminder, kind, order_id, "email", now).await
        }
    }
}

async fn sent(
    notifier: &Notifier,
    reminding: &Reminding,
    reminder: &Claimed,
    kind: Kind,
    order_id: Option<Uuid>,
    channel: &str,
    now: DateTime<Utc>,
) -> Result<bool, anyhow::Error> {
    tracing::info!(id = %reminder.id, kind = kind.as_str(), ?order_id, channel, "reminder sent");
    metrics::sent(kind.as_str());
    if !reminders::mark_sent(&notifier.pool, reminder.id, &reminding.sender, now).await? {
        tracing::warn!(id = %reminder.id, "a reminder was sent after its lease ended");
    }
    Ok(true)
}

/// Whether the reminder is still true, and its words.
async fn verdict(
    notifier: &Notifier,
    kind: Kind,
    reminder: &Claimed,
    order_id: Option<Uuid>,
    recipient: &Recipient,
    language: &str,
) -> Result<Verdict, anyhow::Error> {
    let pool = &notifier.pool;
    let texts = &notifier.texts;
    let number = recipient.order_number.as_str();
    let open = |order_id: Uuid| {
        vec![InlineButton {
            label: texts.open_order(language),
            callback_data: callbacks::open_order(order_id),
        }]
    };
    match kind {
        Kind::Booking24h | Kind::Booking1h => {
            let row = sqlx::query(
                "SELECT b.status, b.starts_at, r.time_zone, s.name_uk, s.name_en
                 FROM bookings b JOIN booking_resources r ON r.id = b.resource_id
                 LEFT JOIN catalogue_services s ON s.code = b.service_code
                 WHERE b.id = ?",
            )
            .bind(reminder.subject_id)
            .fetch_one(pool)
            .await?;
            let status: String = row.try_get("status")?;
            if status != "booked" {
                return Ok(Verdict::Skip("cancelled"));
            }
            let starts_at: DateTime<Utc> = row.try_get("starts_at")?;
            // A moved booking's reminder was moved in the same transaction; a row that
            // still disagrees was claimed before the move committed.
            if kind
                .lead()
                .is_some_and(|lead| starts_at - lead != reminder.due_at)
            {
                return Ok(Verdict::Later);
            }
            let zone: String = row.try_get("time_zone")?;
            let service: Option<String> = row.try_get(if language == "en" {
                "name_en"
            } else {
                "name_uk"
            })?;
            let (date, time) = local_date_time(starts_at, &zone);
            let key = match (kind, order_id) {
                (Kind::Booking24h, Some(_)) => "reminder_booking_24h",
                (_, Some(_)) => "reminder_booking_1h",
                (Kind::Booking24h, None) => "reminder_booking_24h_no_order",
                (_, None) => "reminder_booking_1h_no_order",
            };
            let text = texts.notify(
                language,
                key,
                &[
                    ("date", &date),
                    ("time", &time),
                    ("service", service.as_deref().unwrap_or("")),
                    ("number", number),
                ],
            );
            Ok(Verdict::Send {
                order_id,
                text,
                buttons: order_id.map(open).into_iter().collect(),
            })
        }
        Kind::QuoteUnanswered => {
            let Some(order_id) = order_id else {
                return Ok(Verdict::Skip("no_order"));
            };
            let mut conn = pool.acquire().await?;
            let Some(due) = bureau_platform::payments::due(&mut conn, order_id, false).await?
            else {
                return Ok(Verdict::Skip("no_order"));
            };
            if due.status != proto_events::OrderStatus::Quoted {
                return Ok(Verdict::Skip("answered"));
            }
            let quote = sqlx::query(
                "SELECT event_id, amount_minor, currency FROM order_quotes WHERE order_id = ?
                 ORDER BY quoted_at DESC LIMIT 1",
            )
            .bind(order_id)
            .fetch_optional(&mut *conn)
            .await?;
            let Some(quote) = quote else {
                return Ok(Verdict::Skip("no_quote"));
            };
            let quote_id: Uuid = quote.try_get("event_id")?;
            let amount: u64 = quote.try_get("amount_minor")?;
            let currency: String = quote.try_get("currency")?;
            let text = texts.notify(
                language,
                "reminder_quote",
                &[
                    ("amount", &major(amount)),
                    ("currency", currency.trim()),
                    ("number", number),
                ],
            );
            Ok(Verdict::Send {
                order_id: Some(order_id),
                text,
                buttons: vec![
                    vec![
                        InlineButton {
                            label: texts.accept_quote(language),
                            callback_data: callbacks::quote_answer(QuoteAnswer::Accept, quote_id),
                        },
                        InlineButton {
                            label: texts.decline_quote(language),
                            callback_data: callbacks::quote_answer(QuoteAnswer::Decline, quote_id),
                        },
                    ],
                    open(order_id),
                ],
            })
        }
        Kind::InvoiceUnpaid => {
            let Some(order_id) = order_id else {
                return Ok(Verdict::Skip("no_order"));
            };
            let mut conn = pool.acquire().await?;
            let Some(due) = bureau_platform::payments::due(&mut conn, order_id, false).await?
            else {
                return Ok(Verdict::Skip("no_order"));
            };
            let left = match due.payable() {
                Ok(left) => left,
                Err(reason) => return Ok(Verdict::Skip(reason.code())),
            };
            let text = texts.notify(
                language,
                "reminder_invoice",
                &[
                    ("amount", &major(left.amount_minor)),
                    ("currency", left.currency.trim()),
                    ("number", number),
                ],
            );
            Ok(Verdict::Send {
                order_id: Some(order_id),
                text,
                buttons: vec![open(order_id)],
            })
        }
    }
}

/// Minor units as "1250.00".
fn major(minor: u64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// The booking's local date and time in its resource's zone ("07.12.2026", "09:00").
fn local_date_time(at: DateTime<Utc>, zone: &str) -> (String, String) {
    let zone = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let local = bureau_scheduling::from_chrono(at).to_zoned(zone);
    (
        local.strftime("%d.%m.%Y").to_string(),
        local.strftime("%H:%M").to_string(),
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn bookings_are_told_in_their_resources_local_time() {
        let at = Utc.with_ymd_and_hms(2026, 12, 7, 7, 0, 0).unwrap();
        assert_eq!(
            local_date_time(at, "Europe/Kyiv"),
            ("07.12.2026".into(), "09:00".into())
        );
        let summer = Utc.with_ymd_and_hms(2027, 7, 5, 6, 0, 0).unwrap();
        assert_eq!(local_date_time(summer, "Europe/Kyiv").1, "09:00");
        assert_eq!(major(125_000), "1250.00");
        assert_eq!(major(5), "0.05");
    }
}
