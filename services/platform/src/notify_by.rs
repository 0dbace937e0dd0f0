//! Where a customer prefers to hear about their orders (`customers.notify_by`) and the one
//! rule that turns the preference into the channel of each notice. The portal's profile
//! page, the JSON profile API (`/api/accounts/me`) and the notifier all use this type and
//! this rule, so what the page promises is what the notifier does (docs/web-customers.md,
//! "Where notices go").

use serde::{Deserialize, Serialize};

/// `customers.notify_by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyBy {
    /// Telegram when there is a reachable chat, otherwise e-mail.
    #[default]
    Auto,
    /// Telegram only: never e-mail (a customer without a chat hears nothing but the page).
    Telegram,
    /// E-mail while the address is verified and takes our mail; Telegram otherwise.
    Email,
}

/// Where one notice goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Telegram,
    Email,
    /// Neither is usable: the notice is only on the order page.
    Nowhere,
}

impl NotifyBy {
    pub const ALL: [NotifyBy; 3] = [NotifyBy::Auto, NotifyBy::Telegram, NotifyBy::Email];

    pub fn as_str(self) -> &'static str {
        match self {
            NotifyBy::Auto => "auto",
            NotifyBy::Telegram => "telegram",
            NotifyBy::Email => "email",
        }
    }

    /// A value a person or program sent: exactly one of the three, else `None`.
    pub fn parse(value: &str) -> Option<NotifyBy> {
        NotifyBy::ALL.into_iter().find(|v| v.as_str() == value)
    }

    /// The stored column (an ENUM of the three); anything unexpected reads as `Auto`.
    pub fn from_stored(value: &str) -> NotifyBy {
        NotifyBy::parse(value).unwrap_or_default()
    }

    /// The rule. `telegram`: the customer has a Telegram chat that takes our messages;
    /// `email`: e-mail is configured and the customer's address is verified and not
    /// bouncing.
    pub fn channel(self, telegram: bool, email: bool) -> Channel {
        match (self, telegram, email) {
            (NotifyBy::Email, _, true) => Channel::Email,
            (NotifyBy::Telegram, true, _) => Channel::Telegram,
            (NotifyBy::Telegram, false, _) => Channel::Nowhere,
            (_, true, _) => Channel::Telegram,
            (_, false, true) => Channel::Email,
            (_, false, false) => Channel::Nowhere,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_for_every_preference() {
        use Channel as C;
        use NotifyBy as N;
        // (preference, telegram usable, e-mail usable) -> channel
        let table = [
            (N::Auto, true, true, C::Telegram),
            (N::Auto, true, false, C::Telegram),
            (N::Auto, false, true, C::Email),
            (N::Auto, false, false, C::Nowhere),
            (N::Email, true, true, C::Email),
            (N::Email, false, true, C::Email),
            (N::Email, true, false, C::Telegram),
            (N::Email, false, false, C::Nowhere),
            (N::Telegram, true, true, C::Telegram),
            (N::Telegram, false, true, C::Nowhere),
            (N::Telegram, true, false, C::Telegram),
            (N::Telegram, false, false, C::Nowhere),
        ];
        for (preference, telegram, email, expected) in table {
            assert_eq!(
                preference.channel(telegram, email),
                expected,
                "{preference:?} telegram={telegram} email={email}"
            );
        }
    }

    #[test]
    fn values_are_exactly_the_three() {
        for value in NotifyBy::ALL {
            assert_eq!(NotifyBy::parse(value.as_str()), Some(value));
        }
        assert_eq!(NotifyBy::parse("EMAIL"), None);
        assert_eq!(NotifyBy::parse("sms"), None);
        assert_eq!(NotifyBy::from_stored("sms"), NotifyBy::Auto);
        assert_eq!(
            serde_json::to_string(&NotifyBy::Email).unwrap(),
            "\"email\""
        );
    }
}
