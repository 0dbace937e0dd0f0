//! What the notifier tells a customer about one event, and the Telegram message that says it.

use proto_events::callbacks;
use proto_events::{
    Actor, FileRejected, FileStored, OrderMessagePosted, OrderStatusChangeRefused,
    OrderStatusChanged, PriceQuoted, QuoteAnswer,
};
use uuid::Uuid;

use crate::texts::Texts;

/// The largest file a bot may upload to Telegram's cloud Bot API; bigger results go as a
/// download link.
pub const TELEGRAM_UPLOAD_LIMIT: u64 = 50 * 1024 * 1024;

/// An event that a customer hears about.
#[derive(Debug, Clone, Copy)]
pub enum Notice<'a> {
    /// A recorded status change.
    StatusChanged(&'a OrderStatusChanged),
    /// The customer's own request (a cancellation, an answer to a quote) was refused.
    StatusRefused(&'a OrderStatusChangeRefused),
    FileRejected(&'a FileRejected),
    /// A result file staff attached (`FileStored` with purpose `result`).
    ResultReady(&'a FileStored),
    /// Staff wrote to the customer about the order.
    StaffMessage(&'a OrderMessagePosted),
    PriceQuoted(&'a PriceQuoted),
}

/// How a result reaches the customer when it is too big to upload: a signed link, valid
/// for `hours`, or (links switched off) a pointer to the website.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadLink {
    pub url: String,
    pub hours: u64,
}

impl Notice<'_> {
    pub fn order_id(&self) -> Uuid {
        match self {
            Notice::StatusChanged(change) => change.order_id,
            Notice::StatusRefused(refusal) => refusal.order_id,
            Notice::FileRejected(rejection) => rejection.order_id,
            Notice::ResultReady(stored) => stored.order_id,
            Notice::StaffMessage(message) => message.order_id,
            Notice::PriceQuoted(quote) => quote.order_id,
        }
    }

    /// The order's status version this notice announces; `None` for notices that do not
    /// move the order, which no ordering rule applies to.
    pub fn status_version(&self) -> Option<u32> {
        match self {
            Notice::StatusChanged(change) => Some(change.version),
            _ => None,
        }
    }

    /// A short stable name, for logs, metrics and the journal's `kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            Notice::StatusChanged(_) => "status",
            Notice::StatusRefused(_) => "status_refused",
            Notice::FileRejected(_) => "file_rejected",
            Notice::ResultReady(_) => "result",
            Notice::StaffMessage(_) => "message",
            Notice::PriceQuoted(_) => "quote",
        }
    }

    /// The message in `language`, with a button that opens the order (and, under a price
    /// quote, Accept / Decline first). `order_number` is the order's, from the database
    /// (not every event carries it); `link` is where a result too big for Telegram can be
    /// downloaded; `event_id` is the event's, which names a quote in its buttons.
    pub fn message(
        &self,
        texts: &Texts,
        language: &str,
        order_number: &str,
        link: Option<&DownloadLink>,
        event_id: Uuid,
    ) -> OutgoingMessage {
        let content = match self {
            Notice::StatusChanged(change) => Content::Text(
                texts.status_changed(
                    language,
                    &change.order_number,
                    change.to,
                    // Customers know why they cancelled or answered a quote: no "Reason:" line.
                    change
                        .reason
                        .as_deref()
                        .filter(|_| change.actor != Actor::Customer),
                ),
            ),
            Notice::StatusRefused(refusal) => {
                Content::Text(texts.status_refused(language, refusal))
            }
            Notice::FileRejected(rejection) => Content::Text(texts.file_rejected(
                language,
                &rejection.original_name,
                &rejection.reason,
            )),
            Notice::ResultReady(stored) if stored.size <= TELEGRAM_UPLOAD_LIMIT => {
                Content::Document {
                    object_key: stored.object_key.clone(),
                    file_name: stored.original_name.clone(),
                    caption: texts.result_ready(language, order_number),
                }
            }
            Notice::ResultReady(stored) => Content::Text(texts.result_link(
                language,
                order_number,
                &stored.original_name,
                link.map(|link| (link.url.as_str(), link.hours)),
            )),
            Notice::StaffMessage(message) => {
                Content::Text(texts.staff_message(language, order_number, &message.text))
            }
            Notice::PriceQuoted(quote) => Content::Text(texts.price_quoted(
                language,
                &quote.order_number,
                quote.amount_minor,
                &quote.currency,
                quote.note.as_deref(),
                quote.valid_until,
            )),
        };
        let open = vec![InlineButton {
            label: texts.open_order(language),
            callback_data: callbacks::open_order(self.order_id()),
        }];
        let buttons = match self {
            // The quote is named by its event id: the answer is refused if a newer quote
            // was made since (the persistence worker checks).
            Notice::PriceQuoted(_) => vec![
                vec![
                    InlineButton {
                        label: texts.accept_quote(language),
                        callback_data: callbacks::quote_answer(QuoteAnswer::Accept, event_id),
                    },
                    InlineButton {
                        label: texts.decline_quote(language),
                        callback_data: callbacks::quote_answer(QuoteAnswer::Decline, event_id),
                    },
                ],
                open,
            ],
            _ => vec![open],
        };
        OutgoingMessage { content, buttons }
    }
}

/// The booked-time line of a status change about an open order whose booking is still
/// ahead ("🗓 Your booked time: Mon 07.12.2026, 10:00", in the business's zone and the
/// customer's language); `None` for other notices, a closing status, or no booking.
pub fn booked_line(
    texts: &Texts,
    notice: &Notice<'_>,
    recipient: &crate::recipients::Recipient,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<String> {
    let Notice::StatusChanged(change) = notice else {
        return None;
    };
    let at = recipient.booked_at.filter(|at| *at > now)?;
    if change.to.is_terminal() {
        return None;
    }
    let zone = recipient
        .business_zone
        .as_deref()
        .and_then(|name| jiff::tz::TimeZone::get(name).ok())
        .unwrap_or_else(|| {
            jiff::tz::TimeZone::get(bureau_platform::business::DEFAULT_TIME_ZONE)
                .unwrap_or(jiff::tz::TimeZone::UTC)
        });
    let language = bureau_platform::texts::Catalog::language_for(Some(&recipient.language));
    let when = bureau_scheduling::booked::when(bureau_scheduling::from_chrono(at), &zone, language);
    Some(texts.booked_time(language, &when))
}

/// A message with inline buttons under it, in rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub content: Content,
    pub buttons: Vec<Vec<InlineButton>>,
}

/// What the message carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Text(String),
    /// A stored object sent as a document, streamed from the object store.
    Document {
        object_key: String,
        file_name: String,
        caption: String,
    },
}

impl OutgoingMessage {
    /// The text or caption, for logs and tests.
    pub fn text(&self) -> &str {
        match &self.content {
            Content::Text(text) => text,
            Content::Document { caption, .. } => caption,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineButton {
    pub label: String,
    pub callback_data: String,
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use proto_events::{OrderStatus, RefusalCode};

    use super::*;

    fn change(reason: Option<&str>) -> OrderStatusChanged {
        OrderStatusChanged {
            order_id: Uuid::parse_str("0193a5b0-7c1e-7d2a-9f00-0123456789ab")
                .expect("a valid uuid"),
            order_number: "48213097".into(),
            from: OrderStatus::InProgress,
            to: OrderStatus::Ready,
            version: 4,
            reason: reason.map(str::to_owned),
            actor: Actor::System,
            changed_at: Utc::now(),
            request_id: Some(Uuid::now_v7()),
        }
    }

    #[test]
    fn a_status_push_of_an_open_order_tells_its_booked_time_ahead() {
        let texts = Texts::new();
        let mut recipient = crate::recipients::Recipient {
            customer_id: Uuid::nil(),
            display_name: "Олена".into(),
            order_number: "48213097".into(),
            language: "uk".into(),
            reach: crate::recipients::TelegramReach::NoChat,
            email: None,
            preference: crate::recipients::NoticeChannel::Auto,
            // Monday 7 December 2099, 10:00 in Kyiv.
            booked_at: Some("2099-12-07T08:00:00Z".parse().unwrap()),
            business_zone: Some("Europe/Kyiv".into()),
        };
        let ready = change(None);
        let now = Utc::now();
        assert_eq!(
            booked_line(&texts, &Notice::StatusChanged(&ready), &recipient, now).as_deref(),
            Some("🗓 Ваш час: Пн 07.12.2099, 10:00")
        );
        recipient.language = "en".into();
        recipient.business_zone = Some("America/New_York".into());
        assert_eq!(
            booked_line(&texts, &Notice::StatusChanged(&ready), &recipient, now).as_deref(),
            Some("🗓 Your booked time: Mon 07.12.2099, 03:00")
        );
        // Not once the order is closed, nor for a time already past, nor for other notices.
        let cancelled = OrderStatusChanged {
            to: OrderStatus::Cancelled,
            ..change(None)
        };
        assert_eq!(
            booked_line(&texts, &Notice::StatusChanged(&cancelled), &recipient, now),
            None
        );
        let later: chrono::DateTime<Utc> = "2100-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(
            booked_line(&texts, &Notice::StatusChanged(&ready), &recipient, later),
            None
        );
        recipient.booked_at = None;
        assert_eq!(
            booked_line(&texts, &Notice::StatusChanged(&ready), &recipient, now),
            None
        );
    }

    #[test]
    fn the_button_opens_the_order_within_telegrams_callback_limit() {
        let change = change(None);
        let message = Notice::StatusChanged(&change).message(
            &Texts::new(),
            "en",
            "48213097",
            None,
            Uuid::now_v7(),
        );
        assert_eq!(message.text(), "Order №48213097: Ready");
        let [row] = message.buttons.as_slice() else {
            panic!("one row: {:?}", message.buttons)
        };
        assert_eq!(row[0].label, "Open order");
        assert_eq!(
            row[0].callback_data,
            "order:0193a5b07c1e7d2a9f000123456789ab"
        );
        assert!(row[0].callback_data.len() <= callbacks::CALLBACK_DATA_LIMIT);
    }

    #[test]
    fn only_status_changes_carry_a_version() {
        let change = change(Some("rework"));
        assert_eq!(Notice::StatusChanged(&change).status_version(), Some(4));
        let rejection = FileRejected {
            order_id: change.order_id,
            file_id: Uuid::nil(),
            original_name: "scan.pdf".into(),
            code: "empty".into(),
            reason: "The file is empty.".into(),
        };
        let notice = Notice::FileRejected(&rejection);
        assert_eq!(notice.status_version(), None);
        assert_eq!(notice.order_id(), change.order_id);
        assert_eq!(
            notice
                .message(&Texts::new(), "uk", "48213097", None, Uuid::nil())
                .text(),
            "Файл «scan.pdf» не прийнято: The file is empty."
        );
    }

    #[test]
    fn results_go_as_documents_up_to_telegrams_upload_limit_then_as_links() {
        let mut stored = FileStored {
            order_id: Uuid::now_v7(),
            file_id: Uuid::now_v7(),
            purpose: proto_events::FilePurpose::Result,
            object_key: "orders/a/b/result.pdf".into(),
            size: TELEGRAM_UPLOAD_LIMIT,
            sha256: String::new(),
            content_type: "application/pdf".into(),
            original_name: "result.pdf".into(),
        };
        let texts = Texts::new();
        let message =
            Notice::ResultReady(&stored).message(&texts, "en", "48213097", None, Uuid::nil());
        assert!(
            matches!(message.content, Content::Document { ref file_name, .. } if file_name == "result.pdf")
        );
        stored.size += 1;
        let link = DownloadLink {
            url: "https://desk/d/token".into(),
            hours: 24,
        };
        let message = Notice::ResultReady(&stored).message(
            &texts,
            "en",
            "48213097",
            Some(&link),
            Uuid::nil(),
        );
        assert!(
            message.text().ends_with("https://desk/d/token"),
            "{}",
            message.text()
        );
    }

    #[test]
    fn a_quote_asks_for_an_answer_with_buttons_naming_the_quote() {
        let quote = PriceQuoted {
            order_id: Uuid::now_v7(),
            order_number: "48213097".into(),
            amount_minor: 125_000,
            currency: "UAH".into(),
            note: None,
            valid_until: None,
        };
        let quote_event = Uuid::now_v7();
        let message =
            Notice::PriceQuoted(&quote).message(&Texts::new(), "en", "48213097", None, quote_event);
        let [answers, open] = message.buttons.as_slice() else {
            panic!("two rows: {:?}", message.buttons)
        };
        let labels: Vec<&str> = answers.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["Accept", "Decline"]);
        assert_eq!(
            callbacks::parse_quote_answer(&answers[0].callback_data),
            Some((QuoteAnswer::Accept, quote_event))
        );
        assert_eq!(
            callbacks::parse_quote_answer(&answers[1].callback_data),
            Some((QuoteAnswer::Decline, quote_event))
        );
        assert_eq!(open[0].callback_data, callbacks::open_order(quote.order_id));
    }

    #[test]
    fn a_customers_own_change_is_told_without_a_reason_and_a_refusal_in_words() {
        let mut cancelled = change(Some(QuoteAnswer::DECLINED_REASON));
        cancelled.to = OrderStatus::Cancelled;
        cancelled.actor = Actor::Customer;
        let texts = Texts::new();
        let message =
            Notice::StatusChanged(&cancelled).message(&texts, "en", "48213097", None, Uuid::nil());
        assert_eq!(message.text(), "Order №48213097: Cancelled");
        let refusal = OrderStatusChangeRefused {
            request_id: Uuid::now_v7(),
            order_id: cancelled.order_id,
            order_number: "48213097".into(),
            from: OrderStatus::AwaitingConfirmation,
            to: OrderStatus::Cancelled,
            expected_version: 1,
            actor: Actor::Customer,
            code: RefusalCode::VersionConflict,
            reason: "Order №48213097 changed since the request was made".into(),
            current_status: OrderStatus::Accepted,
            current_version: 2,
            refused_at: Utc::now(),
        };
        let notice = Notice::StatusRefused(&refusal);
        assert_eq!(notice.status_version(), None);
        assert_eq!(
            notice
                .message(&texts, "en", "48213097", None, Uuid::nil())
                .text(),
            "Order №48213097: your cancellation could not be made; the order is now Accepted. Write to us if you still want to cancel it."
        );
        assert!(
            notice
                .message(&texts, "uk", "48213097", None, Uuid::nil())
                .text()
                .starts_with("Замовлення №48213097: скасувати не вдалося")
        );
    }
}
