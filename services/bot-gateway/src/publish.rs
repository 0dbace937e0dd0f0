//! Turns a confirmed draft into the events that place the order: one `OrderCreated` and one
//! `FileReceived` per file, all correlated to the order id. A pure function: the caller
//! publishes the batch and only then tells the customer.

use chrono::{DateTime, Utc};
use proto_events::{CustomerRef, Envelope, FilePurpose, FileReceived, FileSource, OrderCreated};

use crate::dialogue::{Draft, Language};

/// The producer name every event from this service carries.
pub const PRODUCER: &str = "bot-gateway";

/// The Telegram user placing the order, as the confirming callback shows them.
#[derive(Debug, Clone, PartialEq)]
pub struct TelegramCustomer {
    pub user_id: i64,
    pub chat_id: i64,
    /// First and last name as Telegram has them.
    pub display_name: String,
    pub username: Option<String>,
    pub language: Language,
}

impl TelegramCustomer {
    fn to_ref(&self) -> CustomerRef {
        CustomerRef::Telegram {
            user_id: self.user_id,
            chat_id: self.chat_id,
            display_name: self.display_name.clone(),
            username: self.username.clone(),
            // Asked for by a later conversation step (registration with the contact button).
            phone: None,
            language: Some(self.language.tag().to_owned()),
        }
    }
}

/// The events for `draft`, in publishing order: the order first, then its files.
///
/// Event ids derive from the order and file ids, so publishing the same draft twice (a
/// retry after a lost confirm) yields the same events, which consumers deduplicate.
pub fn order_events(draft: &Draft, customer: &TelegramCustomer, now: DateTime<Utc>) -> Vec<Envelope> {
    let order_id = draft.order_id;
    let created = OrderCreated {
        order_id,
        order_number: draft.order_number.clone(),
        customer: customer.to_ref(),
        service_code: None,
        text: draft.description.clone(),
        file_count: u32::try_from(draft.files.len()).unwrap_or(u32::MAX),
        created_at: now,
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
        Envelope::new(PRODUCER, order_id, received)
            .with_deterministic_id(format!("{PRODUCER}/order.file.received/{}", file.file_id).as_bytes())
    });
    std::iter::once(order).chain(files).collect()
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
        }
    }

    fn draft_with_two_files() -> Draft {
        let mut draft = Draft::new();
        draft.append_text("Translate the contract").unwrap();
        draft.add_file(file("contract.pdf", Some("main part"))).unwrap();
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
        let Event::OrderCreated(created) = &events[0].payload else { panic!("order first") };
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
        let Event::FileReceived(first) = &events[1].payload else { panic!("files follow") };
        assert_eq!(first.file_id, draft.files[0].file_id);
        assert_eq!(first.original_name, "contract.pdf");
        assert_eq!(first.note.as_deref(), Some("main part"));
        assert_eq!(first.declared_size, Some(1234));
        assert_eq!(first.declared_content_type.as_deref(), Some("application/pdf"));
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
    fn the_events_survive_the_wire() {
        for event in order_events(&draft_with_two_files(), &customer(), Utc::now()) {
            assert_eq!(Envelope::from_json(&event.to_json()).unwrap(), event);
        }
    }
}
