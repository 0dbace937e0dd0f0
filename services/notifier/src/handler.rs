//! The notifier's event handler: which events reach a customer, and the path of one notice
//! from the database through Telegram or e-mail (one channel per notice, `route`) to the
//! journal.

use std::time::Duration;

use bureau_event_bus::{EventHandler, HandlerError};
use proto_events::events::Event;
use proto_events::{Actor, Envelope, FilePurpose, RefusalCode};
use sqlx::MySqlPool;
use uuid::Uuid;

use bureau_kit::retry::Backoff;
use bureau_mail::{MailError, Mailer};

use crate::email::{self, MailContext};
use crate::journal::{FailedNotification, FailureKind, Journal, SentNotification, Skip};
use crate::metrics;
use crate::notice::{DownloadLink, Notice};
use crate::order_lock::OrderLock;
use crate::recipients::{Recipient, Recipients, TelegramReach};
use crate::route::{Route, route};
use crate::telegram::{SendFailure, TelegramSender};
use crate::texts::{TELEGRAM_TEXT_LIMIT, Texts, utf16_len};

/// How long a notice waits for another notice of the same order to finish before the
/// event goes back to the bus. Longer than one send with its flood waits is not needed:
/// the bus retries.
const ORDER_LOCK_WAIT: Duration = Duration::from_secs(10);

/// Pauses between tries to journal a message Telegram already accepted.
const RECORD_RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(200), Duration::from_secs(1)];

/// Quick tries of an e-mail the SMTP server could not take (down, 4xx) before the event
/// goes back to the bus, whose retries (1 s, 5 s, 30 s, 2 min) take over.
const EMAIL_TRIES: usize = 3;
const EMAIL_BACKOFF: Backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(2));

/// Handles the notifier queue: turns events into Telegram messages for customers.
pub struct Notifier {
    /// For order locks; the lookups below share it.
    pub(crate) pool: MySqlPool,
    pub(crate) recipients: Recipients,
    journal: Journal,
    pub(crate) telegram: TelegramSender,
    pub(crate) texts: Texts,
    pub(crate) links: ResultLinks,
    /// `None` when e-mail is off (`[mail] host` empty).
    pub(crate) mailer: Option<Mailer>,
}

/// Makes download links for results too big to upload to Telegram.
#[derive(Clone)]
pub struct ResultLinks {
    settings: std::sync::Arc<bureau_platform::Settings>,
}

impl ResultLinks {
    pub(crate) fn settings(&self) -> &bureau_platform::Settings {
        &self.settings
    }

    pub fn new(settings: bureau_platform::Settings) -> ResultLinks {
        ResultLinks {
            settings: std::sync::Arc::new(settings),
        }
    }

    /// A stored, revocable link to `file_id` of `order_id`; `None` when links are switched
    /// off (no `links.secret`).
    async fn for_file(
        &self,
        pool: &MySqlPool,
        order_id: Uuid,
        file_id: Uuid,
    ) -> Result<Option<DownloadLink>, sqlx::Error> {
        let issued =
            bureau_platform::links::issue_download_link(pool, &self.settings, order_id, file_id)
                .await?;
        let Some(url) = issued else {
            return Ok(None);
        };
        Ok(Some(DownloadLink {
            url,
            hours: (self.settings.links.download_ttl_secs / 3600).max(1),
        }))
    }
}

/// A status push about an open order that holds a booking ahead says when it is: the
/// customer reading "Accepted" learns the time is theirs without opening the order.
fn with_booked_time(
    mut message: crate::notice::OutgoingMessage,
    texts: &Texts,
    notice: &Notice<'_>,
    recipient: &Recipient,
) -> crate::notice::OutgoingMessage {
    if let (Some(line), crate::notice::Content::Text(text)) = (
        crate::notice::booked_line(texts, notice, recipient, chrono::Utc::now()),
        &mut message.content,
    ) {
        text.push('\n');
        text.push_str(&line);
    }
    message
}

impl EventHandler for Notifier {
    async fn handle(&self, event: &Envelope) -> Result<(), HandlerError> {
        let notice = match &event.payload {
            Event::OrderStatusChanged(change) if change.is_recorded() => {
                Notice::StatusChanged(change)
            }
            // The old shape: announced by a gateway before anything was decided. The
            // persistence worker decides it and publishes the recorded change (or the
            // refusal), which is what the customer hears (docs/events.md, "Upgrade").
            Event::OrderStatusChanged(_) => {
                tracing::info!(
                    "a status change of the old shape; its recorded outcome will follow"
                );
                metrics::skipped("unrecorded");
                return Ok(());
            }
            // Refusals of the customer's own requests are theirs to hear; staff see the
            // others on the web. A request for a status the order already has needs no
            // word: the customer heard of that status when it was recorded.
            Event::OrderStatusChangeRefused(refusal)
                if refusal.actor == Actor::Customer
                    && refusal.code != RefusalCode::AlreadyInStatus =>
            {
                Notice::StatusRefused(refusal)
            }
            Event::OrderStatusChangeRefused(_) => {
                tracing::debug!("a refused request that is not the customer's to hear about");
                return Ok(());
            }
            Event::FileRejected(rejection) => Notice::FileRejected(rejection),
            Event::FileStored(stored) if stored.purpose == FilePurpose::Result => {
                Notice::ResultReady(stored)
            }
            Event::OrderMessagePosted(message) if matches!(message.author, Actor::Staff { .. }) => {
                Notice::StaffMessage(message)
            }
            Event::PriceQuoted(quote) => Notice::PriceQuoted(quote),
            // The customer's own files and messages: the bot or the web page confirmed them
            // already; staff see them in the live feed of the web gateway.
            Event::FileStored(_) | Event::OrderMessagePosted(_) => {
                tracing::debug!("nothing to tell the customer");
                return Ok(());
            }
            // Not among the notifier's subscriptions (new orders are confirmed by the gateway
            // that took them); arrives only through a manual replay.
            Event::OrderCreated(_)
            | Event::FileReceived(_)
            | Event::OrderStatusChangeRequested(_)
            // Staff's own business: internal comments and assignments never reach customers.
            | Event::OrderCommentPosted(_)
            | Event::OrderAssigned(_)
            // Payments: the bot thanks a Telegram payer itself; staff see them live.
            | Event::PaymentReceived(_)
            | Event::PaymentRefunded(_)
            // Bookings: the gateway that took the choice told the customer at once.
            | Event::BookingChanged(_) => {
                tracing::debug!("not an event the notifier handles");
                return Ok(());
            }
        };
        self.notify(event.event_id, notice).await
    }
}

impl Notifier {
    pub fn new(
        pool: MySqlPool,
        telegram: TelegramSender,
        links: ResultLinks,
        mailer: Option<Mailer>,
    ) -> Notifier {
        let texts = Texts::new();
        for missing in texts.missing_keys() {
            // A defect in locales/: those notices fall back to Ukrainian until it is fixed.
            tracing::error!(%missing, "a notification text is missing in one language");
            metrics::skipped("template_missing");
        }
        Notifier {
            recipients: Recipients::new(pool.clone()),
            journal: Journal::new(pool.clone()),
            pool,
            telegram,
            texts,
            links,
            mailer,
        }
    }

    async fn notify(&self, event_id: Uuid, notice: Notice<'_>) -> Result<(), HandlerError> {
        let order_id = notice.order_id();
        let Some(mut recipient) = self
            .recipients
            .of_order(order_id)
            .await
            .map_err(database_error)?
        else {
            // The persistence worker consumes the same events and may not have written the
            // order yet: the bus retries with backoff, then dead-letters with this reason
            // (an order that never comes ends in the dead-letter queue, not in a stuck one).
            tracing::warn!(%order_id, notice = notice.kind(), "order not in the database (yet); retrying later");
            metrics::skipped("unknown_order");
            return Err(HandlerError::transient(format!(
                "order {order_id} is not in the database yet"
            )));
        };
        // The settings' zone where an admin set none (a booked time is told in it).
        if recipient.business_zone.is_none() {
            recipient.business_zone = Some(self.links.settings().business.time_zone.clone());
        }
        let route = route(&recipient, self.mailer.is_some());
        if let Route::Nowhere(reason) = route {
            match recipient.reach {
                TelegramReach::Unreachable { chat_id, since } => tracing::info!(
                    %order_id, customer_id = %recipient.customer_id, chat_id, %since, notice = notice.kind(),
                    "customer's Telegram chat is marked unreachable and there is no e-mail to use; not sending"
                ),
                _ => tracing::info!(
                    %order_id, customer_id = %recipient.customer_id, notice = notice.kind(),
                    "customer has no Telegram chat and no verified e-mail address we may use; nothing to send"
                ),
            }
            if let TelegramReach::Unreachable { since, .. } = recipient.reach {
                // Staff see on the order that this notice did not go.
                self.journal
                    .record_failure(&FailedNotification {
                        event_id,
                        order_id,
                        kind: notice.kind(),
                        outcome: FailureKind::SkippedUnreachable,
                        detail: format!("unreachable since {since}"),
                    })
                    .await
                    .map_err(database_error)?;
            }
            metrics::skipped(reason);
            return Ok(());
        }

        let Some(lock) = OrderLock::acquire(&self.pool, order_id, ORDER_LOCK_WAIT)
            .await
            .map_err(database_error)?
        else {
            return Err(HandlerError::transient(format!(
                "another notice of order {order_id} is still being sent"
            )));
        };
        let outcome = match route {
            Route::Telegram(chat_id) => self.deliver(event_id, notice, &recipient, chat_id).await,
            Route::Email(address) => {
                self.deliver_email(event_id, notice, &recipient, &address)
                    .await
            }
            Route::Nowhere(_) => Ok(()),
        };
        lock.release().await;
        outcome
    }

    /// Whether the journal says not to send this notice (a redelivery, or a status older
    /// than one already sent); runs under the order's lock.
    async fn already_done(
        &self,
        event_id: Uuid,
        notice: &Notice<'_>,
    ) -> Result<bool, HandlerError> {
        let order_id = notice.order_id();
        let Some(skip) = self
            .journal
            .skip_reason(event_id, order_id, notice.status_version())
            .await
            .map_err(database_error)?
        else {
            return Ok(false);
        };
        tracing::info!(%order_id, notice = notice.kind(), %skip, "not sending");
        metrics::skipped(match skip {
            Skip::AlreadySent => "redelivery",
            Skip::Superseded { .. } => "superseded",
        });
        Ok(true)
    }

    /// E-mails one notice to the customer's verified address; runs under the order's lock.
    /// A permanent refusal (a 5xx answer: no such mailbox, address refused) marks the
    /// address bouncing and dead-letters the event with the server's reason; a passing failure is tried again, then the bus
    /// retries it with backoff.
    async fn deliver_email(
        &self,
        event_id: Uuid,
        notice: Notice<'_>,
        recipient: &Recipient,
        address: &str,
    ) -> Result<(), HandlerError> {
        let Some(mailer) = &self.mailer else {
            return Ok(());
        };
        if self.already_done(event_id, &notice).await? {
            return Ok(());
        }
        let order_id = notice.order_id();
        let link = match notice {
            Notice::ResultReady(stored) => self
                .links
                .for_file(&self.pool, stored.order_id, stored.file_id)
                .await
                .map_err(database_error)?,
            _ => None,
        };
        let settings = self.links.settings();
        let order_url = email::order_url(
            &settings.web_gateway.public_url,
            &settings.mail.order_path,
            &recipient.order_number,
        );
        let mail = email::compose(
            &notice,
            &MailContext {
                texts: &self.texts,
                recipient,
                to: address,
                order_url: &order_url,
                link: link.as_ref(),
                business: &settings.business.name,
            },
        );
        let mut pauses = EMAIL_BACKOFF.pauses();
        let mut tries = 0;
        let sent = loop {
            tries += 1;
            match mailer.send(&mail).await {
                Err(MailError::Transient(reason)) if tries < EMAIL_TRIES => {
                    let pause = pauses.next_pause();
                    tracing::warn!(%order_id, %reason, retry_in = ?pause, "the SMTP server did not take an e-mail; trying again");
                    tokio::time::sleep(pause).await;
                }
                other => break other,
            }
        };
        match sent {
            Ok(()) => {
                tracing::info!(%order_id, customer_id = %recipient.customer_id, notice = notice.kind(), "customer e-mailed");
                metrics::sent(notice.kind());
                metrics::emailed("sent");
                // The same one duplicate window as Telegram's (see `deliver`).
                self.record(SentNotification {
                    event_id,
                    order_id,
                    kind: notice.kind(),
                    status_version: notice.status_version(),
                    channel: "email",
                    chat_id: None,
                    telegram_message_id: None,
                })
                .await;
                Ok(())
            }
            Err(MailError::Permanent(reason)) => {
                tracing::warn!(
                    %order_id, customer_id = %recipient.customer_id, notice = notice.kind(), %reason,
                    "the customer's e-mail address refused the notice for good; dead-lettering it"
                );
                metrics::emailed("bounced");
                // The address is marked bouncing: later notices go to Telegram or nowhere,
                // and the customer and staff are shown why, until it is verified again.
                self.recipients
                    .mark_email_bouncing(recipient.customer_id, address, &reason.to_string())
                    .await
                    .map_err(database_error)?;
                Err(HandlerError::permanent(format!(
                    "e-mail to the customer refused for good: {reason}"
                )))
            }
            Err(failure @ MailError::Transient(_)) => {
                metrics::emailed("failed");
                Err(HandlerError::transient(failure))
            }
        }
    }

    /// Sends one notice to a reachable chat; runs under the order's lock.
    async fn deliver(
        &self,
        event_id: Uuid,
        notice: Notice<'_>,
        recipient: &Recipient,
        chat_id: i64,
    ) -> Result<(), HandlerError> {
        let order_id = notice.order_id();
        let status_version = notice.status_version();
        if self.already_done(event_id, &notice).await? {
            return Ok(());
        }

        if !Texts::speaks(&recipient.language) {
            tracing::warn!(
                %order_id, customer_id = %recipient.customer_id, language = %recipient.language,
                "no notification texts in the customer's language; sending in the default language"
            );
            metrics::skipped("language_fallback");
        }
        let link = match notice {
            Notice::ResultReady(stored) => self
                .links
                .for_file(&self.pool, stored.order_id, stored.file_id)
                .await
                .map_err(database_error)?,
            _ => None,
        };
        let message = notice.message(
            &self.texts,
            &recipient.language,
            &recipient.order_number,
            link.as_ref(),
            event_id,
        );
        let message = with_booked_time(message, &self.texts, &notice, recipient);
        if message.text().ends_with('…') && utf16_len(message.text()) >= TELEGRAM_TEXT_LIMIT - 1 {
            tracing::warn!(%order_id, notice = notice.kind(), "text longer than Telegram allows; sending it cut");
            metrics::skipped("text_cut");
        }
        match self.telegram.send(chat_id, &message).await {
            Ok(telegram_message_id) => {
                tracing::info!(%order_id, chat_id, telegram_message_id, notice = notice.kind(), "customer notified");
                metrics::sent(notice.kind());
                // The one duplicate window: if the process dies (or MySQL stays away) between
                // Telegram's acceptance above and this record, the event is redelivered and
                // sent again. Recording first would turn that duplicate into a lost notice,
                // and Telegram has no idempotency key to close the window from its side.
                self.record(SentNotification {
                    event_id,
                    order_id,
                    kind: notice.kind(),
                    status_version,
                    channel: "telegram",
                    chat_id: Some(chat_id),
                    telegram_message_id: Some(telegram_message_id),
                })
                .await;
                Ok(())
            }
            Err(SendFailure::Unreachable(reason)) => {
                self.recipients
                    .mark_unreachable(recipient.customer_id, chat_id)
                    .await
                    .map_err(database_error)?;
                self.journal
                    .record_failure(&FailedNotification {
                        event_id,
                        order_id,
                        kind: notice.kind(),
                        outcome: FailureKind::Blocked,
                        detail: reason.clone(),
                    })
                    .await
                    .map_err(database_error)?;
                tracing::warn!(
                    %order_id, customer_id = %recipient.customer_id, chat_id, %reason,
                    "Telegram chat unreachable; marked, no more notices until the customer writes again"
                );
                metrics::unreachable();
                Ok(())
            }
            Err(failure @ (SendFailure::Retryable(_) | SendFailure::Api(_))) => {
                self.failed(event_id, &notice, FailureKind::Failing, &failure)
                    .await;
                Err(HandlerError::transient(failure))
            }
            Err(failure @ SendFailure::Refused(_)) => {
                self.failed(event_id, &notice, FailureKind::Refused, &failure)
                    .await;
                Err(HandlerError::permanent(failure))
            }
        }
    }

    /// Records a failed send for staff, best effort: the event's own fate (retried,
    /// dead-lettered) does not wait on the record, and a record that could not be written
    /// is only a line staff miss.
    async fn failed(
        &self,
        event_id: Uuid,
        notice: &Notice<'_>,
        outcome: FailureKind,
        failure: &SendFailure,
    ) {
        let failed = FailedNotification {
            event_id,
            order_id: notice.order_id(),
            kind: notice.kind(),
            outcome,
            detail: failure.to_string(),
        };
        if let Err(error) = self.journal.record_failure(&failed).await {
            tracing::warn!(order_id = %failed.order_id, %error, "could not record a failed notice for staff");
        }
    }

    /// Journals a sent message, retrying briefly. If the journal stays unreachable the
    /// event is still acked: the customer has the message, and failing the event would
    /// send it again for certain, while a missing record only matters if it is redelivered.
    async fn record(&self, sent: SentNotification) {
        let mut delays = RECORD_RETRY_DELAYS.iter();
        loop {
            let error = match self.journal.record(&sent).await {
                Ok(()) => return,
                Err(error) => error,
            };
            let Some(delay) = delays.next() else {
                tracing::error!(
                    order_id = %sent.order_id, event_id = %sent.event_id, %error,
                    "sent, but could not journal it; a redelivery would send it again"
                );
                return;
            };
            tracing::warn!(order_id = %sent.order_id, %error, "could not journal a sent message; retrying");
            tokio::time::sleep(*delay).await;
        }
    }
}

fn database_error(error: sqlx::Error) -> HandlerError {
    HandlerError::transient(format!("database: {error}"))
}
