//! The Confirm / Cancel buttons under a draft, and their callback data.
//!
//! Callback data carries the draft's order id only (`confirm:<uuid>`, `cancel:<uuid>`,
//! 44 and 43 bytes; Telegram allows 64): what the button does is decided from the stored
//! draft, never from the data, so an old button cannot act on a newer draft.

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};
use uuid::Uuid;

use crate::dialogue::Language;
use crate::texts::{Texts, key};

/// What a draft button asks for, and which draft it was drawn for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftAction {
    Confirm(Uuid),
    Cancel(Uuid),
}

const CONFIRM: &str = "confirm";
const CANCEL: &str = "cancel";

impl DraftAction {
    pub fn to_callback_data(self) -> String {
        match self {
            DraftAction::Confirm(order_id) => format!("{CONFIRM}:{order_id}"),
            DraftAction::Cancel(order_id) => format!("{CANCEL}:{order_id}"),
        }
    }

    /// `None` for anything that is not one of our buttons: the caller treats it as outdated.
    pub fn parse(data: &str) -> Option<DraftAction> {
        let (verb, id) = data.split_once(':')?;
        let order_id = Uuid::parse_str(id).ok()?;
        match verb {
            CONFIRM => Some(DraftAction::Confirm(order_id)),
            CANCEL => Some(DraftAction::Cancel(order_id)),
            _ => None,
        }
    }
}

pub fn draft_buttons(texts: &Texts, language: Language, order_id: Uuid) -> InlineKeyboardMarkup {
    let button = |key, action: DraftAction| {
        InlineKeyboardButton::callback(texts.get(language, key), action.to_callback_data())
    };
    InlineKeyboardMarkup::new([[
        button(key::BUTTON_CONFIRM, DraftAction::Confirm(order_id)),
        button(key::BUTTON_CANCEL, DraftAction::Cancel(order_id)),
    ]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_data_round_trips_within_telegrams_64_bytes() {
        let order_id = Uuid::now_v7();
        for action in [DraftAction::Confirm(order_id), DraftAction::Cancel(order_id)] {
            let data = action.to_callback_data();
            assert!(data.len() <= 64, "{data}");
            assert_eq!(DraftAction::parse(&data), Some(action));
        }
        assert_eq!(DraftAction::Confirm(order_id).to_callback_data(), format!("confirm:{order_id}"));
    }

    #[test]
    fn foreign_callback_data_is_not_an_action() {
        for data in ["", "confirm", "confirm:", "confirm:42", "delete:0190f5c2-0000-7000-8000-000000000000", "orders"] {
            assert_eq!(DraftAction::parse(data), None, "{data}");
        }
    }
}
