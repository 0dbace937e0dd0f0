//! The events the bot publishes, built by pure functions; the caller publishes them and only
//! then tells the customer. A confirmed draft becomes one `OrderCreated` and one
//! `FileReceived` per file; a customer's cancellation or answer to a price quote an
//! `OrderStatusChangeRequested` (decided by the persistence worker: the customer hears the
//! outcome from the notifier); a message to staff an `OrderMessagePosted`. Event ids are derived from what the customer did, so a
//! retried publish repeats the same events and consumers drop the repeat.

use chrono::{DateTime, Utc};
use proto_events::envelope::deterministic_id;
use proto_events::{
    Actor, CustomerRef, Envelope, FilePurpose, FileReceived, FileSource, OrderCreated,
    OrderMessagePosted, OrderStatus, OrderStatusChangeRequested, PaymentMethod, PaymentReceived,
    QuoteAnswer,
};
use uuid::Uuid;

use crate::dialogue::{Draft, Language, Profile};

/// The producer name every event from this service carries.
pub const PRODUCER: &str = crate::SERVICE.name();

/// The Telegram user placing the order, as the confirming callback shows them.
#[derive(Debug, Clone, PartialEq)]
pub struct TelegramCustomer {
    pub user_id: i64,
    pub chat_id: i64,
    /// First and last name as Telegram has them.
    pub display_name: String,
    pub username: Option<String>,
    pub language: Language,
    /// What the customer registered with; its name wins over Telegram's.
    pub profile: Option<Profile>,
}

impl TelegramCustomer {
    fn to_ref(&self) -> CustomerRef {
        CustomerRef::Telegram {
            user_id: self.user_id,
            chat_id: self.chat_id,
            display_name: self
                .profile
                .as_ref()
                .map_or_else(|| self.display_name.clone(), |p| p.name.clone()),
            username: self.username.clone(),
            phone: self.profile.as_ref().map(|profile| profile.phone.clone()),
            language: Some(self.language.tag().to_owned()),
        }
    }
}

/// The events for `draft`, in publishing order: the order first, then its files.
///
/// Event ids derive from the order and file ids, so publishing the same draft twice (a
/// retry after a lost confirm) yields the same events, which consumers deduplicate.
pub fn order_events(
    draft: &Draft,
    customer: &TelegramCustomer,
    now: DateTime<Utc>,
) -> Vec<Envelope> {
    let order_id = draft.order_id;
    let created = OrderCreated {
        order_id,
        order_number: draft.order_number.clone(),
        customer: customer.to_ref(),
        service_code: draft.service.as_ref().map(|service| service.code.clone()),
        text: draft.description.clone(),
        file_count: u32::try_from(draft.files.len()).unwrap_or(u32::MAX),
        created_at: now,
        items: crate::pricing::order_items(draft),
        total: crate::pricing::total(draft),
    };
    let order = Envelope::new(PRODUCER, order_id, created)
        .with_deterministic_id(format!("{PRODUCER}/order.created/{order_id}").as_bytes());
    let files = draft.files.iter().map(|file| {
        let received = FileReceived {
            order_id,
            file_id: file.file_id,
            purpose: FilePurpose::CustomerUpload,
            source: FileSource::Telegram {
                telegram_file_id: file.telegram_file_id.clone(),
                telegram_file_unique_id: file.telegram_file_unique_id.clone(),
            },
            original_name: file.name.clone(),
            declared_size: file.size,
            declared_content_type: file.content_type.clone(),
            note: file.note.clone(),
        };
        Envelope::new(PRODUCER, order_id, received).with_deterministic_id(
            format!("{PRODUCER}/order.file.received/{}", file.file_id).as_bytes(),
        )
    });
    std::iter::once(order).chain(files).collect()
}

/// The customer asks to cancel their order, which they saw at `from` with status
/// `version`. Only a request: the persistence worker records it if the order is still at
/// that version and still cancellable, or refuses it (the notifier tells the customer
/// either way). The request and event ids derive from the order and the version, so a
/// retried publish or a second press of the same button is the same request.
pub fn cancellation_event(
    order_id: Uuid,
    order_number: &str,
    from: OrderStatus,
    version: u32,
    now: DateTime<Utc>,
) -> Envelope {
    status_request(
        order_id,
        order_number,
        from,
        version,
        OrderStatus::Cancelled,
        None,
        None,
        &format!("cancel/{order_id}/{version}"),
        now,
    )
}

/// The customer answers the price quote `quote_id` (a `PriceQuoted` event id) of their
/// order, which is `quoted` at status `version`: a request to move it to `accepted`, or to
/// `cancelled` with the reason "quote declined". Ids derive from the quote and the answer,
/// so pressing the same button again is the same request.
pub fn quote_answer_event(
    order_id: Uuid,
    order_number: &str,
    version: u32,
    quote_id: Uuid,
    answer: QuoteAnswer,
    now: DateTime<Utc>,
) -> Envelope {
    status_request(
        order_id,
        order_number,
        OrderStatus::Quoted,
        version,
        answer.target(),
        answer.reason(),
        Some(quote_id),
        &format!("quote/{quote_id}/{}/{version}", answer.as_str()),
        now,
    )
}

#[allow(clippy::too_many_arguments)]
fn status_request(
    order_id: Uuid,
    order_number: &str,
    from: OrderStatus,
    version: u32,
    to: OrderStatus,
    reason: Option<&str>,
    quote_id: Option<Uuid>,
    what: &str,
    now: DateTime<Utc>,
) -> Envelope {
    let request_id = deterministic_id(format!("{PRODUCER}/status-request/{what}").as_bytes());
    let requested = OrderStatusChangeRequested {
        request_id,
        order_id,
        order_number: order_number.to_owned(),
        expected_version: version,
        from,
        to,
        reason: reason.map(str::to_owned),
        actor: Actor::Customer,
        quote_id,
        requested_at: now,
    };
    Envelope::new(PRODUCER, order_id, requested).with_deterministic_id(
        format!("{PRODUCER}/order.status.change_requested/{request_id}").as_bytes(),
    )
}

/// The customer's message to staff about an order: Telegram message `telegram_message_id`
/// in `chat_id`, so a redelivered update is the same message.
pub fn customer_message_event(
    order_id: Uuid,
    chat_id: i64,
    telegram_message_id: i32,
    text: &str,
) -> Envelope {
    let message_id = deterministic_id(
        format!("{PRODUCER}/telegram-message/{chat_id}/{telegram_message_id}").as_bytes(),
    );
    let posted = OrderMessagePosted {
        order_id,
        message_id,
        author: Actor::Customer,
        text: text.to_owned(),
    };
    Envelope::new(PRODUCER, order_id, posted)
        .with_deterministic_id(format!("{PRODUCER}/order.message.posted/{message_id}").as_bytes())
}

/// A Telegram payment for `order_id`: ids derived from Telegram's charge id, so the same
/// `successful_payment` delivered again is the same payment and the same event.
pub fn payment_event(
    order_number: &str,
    order_id: Uuid,
    payment: &teloxide::types::SuccessfulPayment,
    now: DateTime<Utc>,
) -> Envelope {
    let charge = &payment.telegram_payment_charge_id.0;
    let payment_id = deterministic_id(format!("{PRODUCER}/telegram-payment/{charge}").as_bytes());
    let received = PaymentReceived {
        payment_id,
        order_id,
        order_number: order_number.to_owned(),
        amount_minor: u64::from(payment.total_amount),
        currency: payment.currency.clone(),
        method: PaymentMethod::Telegram,
        telegram_payment_charge_id: Some(charge.clone()),
        provider_payment_charge_id: Some(payment.provider_payment_charge_id.clone()),
        actor: Actor::Customer,
        note: None,
        received_at: now,
    };
    Envelope::new(PRODUCER, order_id, received)
        .with_deterministic_id(format!("{PRODUCER}/order.payment.received/{payment_id}").as_bytes())
}

#[cfg(test)]
mod tests {
    use proto_events::Event;

    use super::*;
    use crate::dialogue::tests::file;

    fn customer() -> TelegramCustomer {
        TelegramCustomer {
            user_id: 1001,
            chat_id: 1001,
            display_name: "Olena Kovalenko".into(),
            username: Some("olena".into()),
            language: Language::En,
            profile: None,
        }
    }

    fn draft_with_two_files() -> Draft {
        let mut draft = Draft::new();
        draft.append_text("Translate the contract").unwrap();
        draft
            .add_file(file("contract.pdf", Some("main part")))
            .unwrap();
        draft.add_file(file("photo_AQAD.jpg", None)).unwrap();
        draft
    }

    #[test]
    fn one_order_then_one_event_per_file_all_correlated_to_the_order() {
        let draft = draft_with_two_files();
        let events = order_events(&draft, &customer(), Utc::now());
        assert_eq!(events.len(), 3);
        for event in &events {
            assert_eq!(event.correlation_id, draft.order_id);
            assert_eq!(event.producer, PRODUCER);
            assert_eq!(event.payload.order_id(), draft.order_id);
        }
        let Event::OrderCreated(created) = &events[0].payload else {
            panic!("order first")
        };
        assert_eq!(created.order_number, draft.order_number);
        assert_eq!(created.text, "Translate the contract");
        assert_eq!(created.file_count, 2);
        assert_eq!(
            created.customer,
            CustomerRef::Telegram {
                user_id: 1001,
                chat_id: 1001,
                display_name: "Olena Kovalenko".into(),
                username: Some("olena".into()),
                phone: None,
                language: Some("en".into()),
            }
        );
        let Event::FileReceived(first) = &events[1].payload else {
            panic!("files follow")
        };
        assert_eq!(first.file_id, draft.files[0].file_id);
        assert_eq!(first.original_name, "contract.pdf");
        assert_eq!(first.note.as_deref(), Some("main part"));
        assert_eq!(first.declared_size, Some(1234));
        assert_eq!(
            first.declared_content_type.as_deref(),
            Some("application/pdf")
        );
        assert_eq!(
            first.source,
            FileSource::Telegram {
                telegram_file_id: "tg-contract.pdf".into(),
                telegram_file_unique_id: "u-contract.pdf".into(),
            }
        );
    }

    #[test]
    fn publishing_the_same_draft_again_repeats_the_same_event_ids() {
        let draft = draft_with_two_files();
        let first = order_events(&draft, &customer(), Utc::now());
        let again = order_events(&draft, &customer(), Utc::now());
        let ids = |events: &[Envelope]| events.iter().map(|e| e.event_id).collect::<Vec<_>>();
        assert_eq!(ids(&first), ids(&again));
        let unique: std::collections::HashSet<_> = ids(&first).into_iter().collect();
        assert_eq!(unique.len(), 3, "each event has its own id");
        let other = order_events(&draft_with_two_files(), &customer(), Utc::now());
        assert_ne!(ids(&first)[0], ids(&other)[0], "another draft, other ids");
    }

    #[test]
    fn the_registered_profile_and_the_service_travel_with_the_order() {
        let mut draft = draft_with_two_files();
        draft.choose_service(Some(crate::dialogue::ChosenService {
            id: 2,
            code: "translation.diploma".into(),
        }));
        let customer = TelegramCustomer {
            profile: Some(Profile {
                name: "Олена Коваленко".into(),
                phone: "+380501234567".into(),
            }),
            ..customer()
        };
        let Event::OrderCreated(created) = &order_events(&draft, &customer, Utc::now())[0].payload
        else {
            panic!()
        };
        assert_eq!(created.service_code.as_deref(), Some("translation.diploma"));
        let CustomerRef::Telegram {
            display_name,
            phone,
            ..
        } = &created.customer
        else {
            panic!()
        };
        assert_eq!(
            (display_name.as_str(), phone.as_deref()),
            ("Олена Коваленко", Some("+380501234567"))
        );
    }

    #[test]
    fn a_cancellation_is_a_request_at_the_version_seen_and_repeats_identically() {
        let order_id = Uuid::now_v7();
        let event = cancellation_event(
            order_id,
            "48213097",
            OrderStatus::AwaitingConfirmation,
            1,
            Utc::now(),
        );
        let Event::OrderStatusChangeRequested(requested) = &event.payload else {
            panic!("a request, never a change: {event:?}")
        };
        assert_eq!(
            (requested.from, requested.to, requested.expected_version),
            (OrderStatus::AwaitingConfirmation, OrderStatus::Cancelled, 1)
        );
        assert_eq!(requested.actor, Actor::Customer);
        let again = cancellation_event(
            order_id,
            "48213097",
            OrderStatus::AwaitingConfirmation,
            1,
            Utc::now(),
        );
        assert_eq!(event.event_id, again.event_id);
        let Event::OrderStatusChangeRequested(repeated) = &again.payload else {
            panic!()
        };
        assert_eq!(repeated.request_id, requested.request_id);
        let later = cancellation_event(order_id, "48213097", OrderStatus::Quoted, 2, Utc::now());
        assert_ne!(later.event_id, event.event_id);
    }

    #[test]
    fn a_quote_answer_is_a_customer_request_from_quoted_naming_the_quote() {
        let (order_id, quote_id) = (Uuid::now_v7(), Uuid::now_v7());
        let accept = quote_answer_event(
            order_id,
            "48213097",
            2,
            quote_id,
            QuoteAnswer::Accept,
            Utc::now(),
        );
        let decline = quote_answer_event(
            order_id,
            "48213097",
            2,
            quote_id,
            QuoteAnswer::Decline,
            Utc::now(),
        );
        assert_ne!(accept.event_id, decline.event_id);
        let Event::OrderStatusChangeRequested(declined) = &decline.payload else {
            panic!()
        };
        assert_eq!(
            (declined.from, declined.to, declined.expected_version),
            (OrderStatus::Quoted, OrderStatus::Cancelled, 2)
        );
        assert_eq!(declined.reason.as_deref(), Some("quote declined"));
        assert_eq!(declined.quote_id, Some(quote_id));
        assert_eq!(
            quote_answer_event(
                order_id,
                "48213097",
                2,
                quote_id,
                QuoteAnswer::Decline,
                Utc::now()
            )
            .event_id,
            decline.event_id
        );
    }

    #[test]
    fn a_message_to_staff_is_identified_by_the_telegram_message() {
        let order_id = Uuid::now_v7();
        let first = customer_message_event(order_id, 1001, 17, "When will it be ready?");
        let Event::OrderMessagePosted(posted) = &first.payload else {
            panic!()
        };
        assert_eq!(
            (posted.author.clone(), posted.text.as_str()),
            (Actor::Customer, "When will it be ready?")
        );
        assert_eq!(
            customer_message_event(order_id, 1001, 17, "When will it be ready?").event_id,
            first.event_id
        );
        assert_ne!(
            customer_message_event(order_id, 1001, 18, "Again").event_id,
            first.event_id
        );
    }

    #[test]
    fn the_events_survive_the_wire() {
        for event in order_events(&draft_with_two_files(), &customer(), Utc::now()) {
            assert_eq!(Envelope::from_json(&event.to_json()).unwrap(), event);
        }
    }
}
