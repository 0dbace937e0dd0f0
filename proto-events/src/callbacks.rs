//! Telegram callback data that one service writes and another reads: the notifier puts an
//! "Open order" button under its messages, and the bot gateway answers its presses.
//! Telegram allows 64 bytes of callback data.

use uuid::Uuid;

/// The verb of the "Open order" button: `order:{order id, 32 hex digits}`. The bot gateway
/// answers a press by showing that order's page (if the customer owns it).
pub const OPEN_ORDER: &str = "order";

/// The "Open order" button's data: 38 bytes.
pub fn open_order(order_id: Uuid) -> String {
    format!("{OPEN_ORDER}:{}", order_id.simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_order_data_is_the_verb_and_the_bare_id() {
        let id = Uuid::parse_str("0193a5b0-7c1e-7d2a-9f00-0123456789ab").unwrap();
        assert_eq!(open_order(id), "order:0193a5b07c1e7d2a9f000123456789ab");
        assert!(open_order(id).len() <= 64);
    }
}
