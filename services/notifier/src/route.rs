//! Which one channel a notice goes to: each notice reaches a customer once, where they
//! prefer, or where they can be reached at all: `NotifyBy::channel`, the rule the portal
//! and the profile API describe to the customer.

use bureau_platform::notify_by::Channel;

use crate::recipients::{Recipient, TelegramReach};

/// Where one notice goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Telegram(i64),
    Email(String),
    /// Nowhere; the reason is the `notifications_skipped_total` label.
    Nowhere(&'static str),
}

/// `mail_on`: e-mail is configured (`[mail] host`).
pub fn route(recipient: &Recipient, mail_on: bool) -> Route {
    let chat = match recipient.reach {
        TelegramReach::Chat(chat_id) => Some(chat_id),
        _ => None,
    };
    let email = recipient.email.clone().filter(|_| mail_on);
    let channel = recipient
        .preference
        .channel(chat.is_some(), email.is_some());
    match (channel, chat, email) {
        (Channel::Telegram, Some(chat_id), _) => Route::Telegram(chat_id),
        (Channel::Email, _, Some(email)) => Route::Email(email),
        _ => Route::Nowhere(match recipient.reach {
            TelegramReach::Unreachable { .. } => "unreachable",
            _ => "web_only",
        }),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use uuid::Uuid;

    use super::*;
    use crate::recipients::NoticeChannel;

    fn recipient(
        reach: TelegramReach,
        email: Option<&str>,
        preference: NoticeChannel,
    ) -> Recipient {
        Recipient {
            customer_id: Uuid::nil(),
            display_name: "Olena".into(),
            order_number: "48213097".into(),
            language: "uk".into(),
            reach,
            email: email.map(str::to_owned),
            preference,
            booked_at: None,
            business_zone: None,
        }
    }

    const ADDRESS: &str = "olena@example.com";

    #[test]
    fn web_customers_hear_by_email_telegram_customers_in_telegram() {
        let web = recipient(TelegramReach::NoChat, Some(ADDRESS), NoticeChannel::Auto);
        assert_eq!(route(&web, true), Route::Email(ADDRESS.into()));
        let bot = recipient(TelegramReach::Chat(7), None, NoticeChannel::Auto);
        assert_eq!(route(&bot, true), Route::Telegram(7));
        // Linked, no preference: Telegram, once.
        let linked = recipient(TelegramReach::Chat(7), Some(ADDRESS), NoticeChannel::Auto);
        assert_eq!(route(&linked, true), Route::Telegram(7));
    }

    #[test]
    fn the_preference_decides_for_linked_customers() {
        let email = recipient(TelegramReach::Chat(7), Some(ADDRESS), NoticeChannel::Email);
        assert_eq!(route(&email, true), Route::Email(ADDRESS.into()));
        // Without e-mail configured, Telegram after all.
        assert_eq!(route(&email, false), Route::Telegram(7));
        let never = recipient(
            TelegramReach::NoChat,
            Some(ADDRESS),
            NoticeChannel::Telegram,
        );
        assert_eq!(route(&never, true), Route::Nowhere("web_only"));
    }

    #[test]
    fn a_blocked_chat_falls_back_to_email_and_nothing_is_nowhere_with_a_reason() {
        let unreachable = TelegramReach::Unreachable {
            chat_id: 7,
            since: Utc::now(),
        };
        let blocked = recipient(unreachable, Some(ADDRESS), NoticeChannel::Auto);
        assert_eq!(route(&blocked, true), Route::Email(ADDRESS.into()));
        let blocked = recipient(unreachable, None, NoticeChannel::Auto);
        assert_eq!(route(&blocked, true), Route::Nowhere("unreachable"));
        let unverified = recipient(TelegramReach::NoChat, None, NoticeChannel::Email);
        assert_eq!(route(&unverified, true), Route::Nowhere("web_only"));
    }
}
