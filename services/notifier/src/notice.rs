//! What the notifier tells a customer about one event, and the Telegram message that says it.

use proto_events::{FileRejected, OrderStatusChanged};
use uuid::Uuid;

use crate::texts::Texts;

/// The prefix of the "Open order" button's callback data; the bot gateway answers a press
/// of `order:{order id, 32 hex digits}` by showing that order.
pub const OPEN_ORDER_CALLBACK_PREFIX: &str = "order:";

/// Telegram refuses callback data longer than this many bytes.
const CALLBACK_DATA_LIMIT: usize = 64;

/// An event that a customer hears about.
#[derive(Debug, Clone, Copy)]
pub enum Notice<'a> {
    StatusChanged(&'a OrderStatusChanged),
    FileRejected(&'a FileRejected),
}

impl Notice<'_> {
    pub fn order_id(&self) -> Uuid {
        match self {
            Notice::StatusChanged(change) => change.order_id,
            Notice::FileRejected(rejection) => rejection.order_id,
        }
    }

    /// The order's status version this notice announces; `None` for notices that do not
    /// move the order, which no ordering rule applies to.
    pub fn status_version(&self) -> Option<u32> {
        match self {
            Notice::StatusChanged(change) => Some(change.version),
            Notice::FileRejected(_) => None,
        }
    }

    /// A short name for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Notice::StatusChanged(_) => "status change",
            Notice::FileRejected(_) => "file refusal",
        }
    }

    /// The message in `language`, with a button that opens the order.
    pub fn message(&self, texts: &Texts, language: &str) -> OutgoingMessage {
        let text = match self {
            Notice::StatusChanged(change) => texts.status_changed(
                language,
                &change.order_number,
                change.to,
                change.reason.as_deref(),
            ),
            Notice::FileRejected(rejection) => {
                texts.file_rejected(language, &rejection.original_name, &rejection.reason)
            }
        };
        OutgoingMessage {
            text,
            button: InlineButton {
                label: texts.open_order(language),
                callback_data: open_order_callback(self.order_id()),
            },
        }
    }
}

/// A text message with one inline button under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub text: String,
    pub button: InlineButton,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineButton {
    pub label: String,
    pub callback_data: String,
}

/// `order:{order id without dashes}`: 38 bytes, well inside Telegram's 64.
pub fn open_order_callback(order_id: Uuid) -> String {
    let data = format!("{OPEN_ORDER_CALLBACK_PREFIX}{}", order_id.simple());
    debug_assert!(data.len() <= CALLBACK_DATA_LIMIT);
    data
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use proto_events::{Actor, OrderStatus};

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
        }
    }

    #[test]
    fn the_button_opens_the_order_within_telegrams_callback_limit() {
        let change = change(None);
        let message = Notice::StatusChanged(&change).message(&Texts::new(), "en");
        assert_eq!(message.text, "Order №48213097: Ready");
        assert_eq!(message.button.label, "Open order");
        assert_eq!(
            message.button.callback_data,
            "order:0193a5b07c1e7d2a9f000123456789ab"
        );
        assert!(message.button.callback_data.len() <= CALLBACK_DATA_LIMIT);
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
            notice.message(&Texts::new(), "uk").text,
            "Файл «scan.pdf» не прийнято: The file is empty."
        );
    }
}
