//! The bot's words, in Ukrainian and English, from `locales/{uk,en}.toml` (keys under
//! `[bot]`) plus the shared status names. Code refers to texts only through [`key`].

use bureau_platform::texts::Catalog;
use proto_events::OrderStatus;

use crate::dialogue::Language;

/// Every text the bot sends, by catalogue key.
pub mod key {
    pub const GREETING: &str = "bot.greeting";
    pub const HELP: &str = "bot.help";
    pub const UNSUPPORTED: &str = "bot.unsupported";
    pub const UNAVAILABLE: &str = "bot.unavailable";
    pub const MY_ORDERS_HINT: &str = "bot.my_orders_hint";

    pub const MENU_NEW_ORDER: &str = "bot.menu.new_order";
    pub const MENU_MY_ORDERS: &str = "bot.menu.my_orders";
    pub const MENU_HELP: &str = "bot.menu.help";

    pub const COMMAND_START: &str = "bot.commands.start";
    pub const COMMAND_HELP: &str = "bot.commands.help";
    pub const COMMAND_CANCEL: &str = "bot.commands.cancel";
    pub const COMMAND_STATUS: &str = "bot.commands.status";

    pub const BUTTON_CONFIRM: &str = "bot.buttons.confirm";
    pub const BUTTON_CANCEL: &str = "bot.buttons.cancel";
    pub const BUTTON_OUTDATED: &str = "bot.buttons.outdated";

    pub const DRAFT_PROMPT: &str = "bot.draft.prompt";
    pub const DRAFT_IN_PROGRESS: &str = "bot.draft.in_progress";
    pub const DRAFT_TEXT_SAVED: &str = "bot.draft.text_saved";
    pub const DRAFT_TOO_LONG: &str = "bot.draft.too_long";
    pub const DRAFT_FILE_RECEIVED: &str = "bot.draft.file_received";
    pub const DRAFT_FILE_TOO_LARGE: &str = "bot.draft.file_too_large";
    pub const DRAFT_TOO_MANY_FILES: &str = "bot.draft.too_many_files";
    pub const DRAFT_EMPTY: &str = "bot.draft.empty";
    pub const DRAFT_CANCELLED: &str = "bot.draft.cancelled";
    pub const DRAFT_NOTHING_TO_CANCEL: &str = "bot.draft.nothing_to_cancel";

    pub const ORDER_ACCEPTED: &str = "bot.order.accepted";
    pub const ORDER_NOT_ACCEPTED: &str = "bot.order.not_accepted";

    pub const STATUS_USAGE: &str = "bot.status.usage";
    pub const STATUS_FOUND: &str = "bot.status.found";
    pub const STATUS_NOT_FOUND: &str = "bot.status.not_found";

    /// Every key above; a test checks each has a text in every language.
    pub const ALL: &[&str] = &[
        GREETING, HELP, UNSUPPORTED, UNAVAILABLE, MY_ORDERS_HINT,
        MENU_NEW_ORDER, MENU_MY_ORDERS, MENU_HELP,
        COMMAND_START, COMMAND_HELP, COMMAND_CANCEL, COMMAND_STATUS,
        BUTTON_CONFIRM, BUTTON_CANCEL, BUTTON_OUTDATED,
        DRAFT_PROMPT, DRAFT_IN_PROGRESS, DRAFT_TEXT_SAVED, DRAFT_TOO_LONG, DRAFT_FILE_RECEIVED,
        DRAFT_FILE_TOO_LARGE, DRAFT_TOO_MANY_FILES, DRAFT_EMPTY, DRAFT_CANCELLED,
        DRAFT_NOTHING_TO_CANCEL,
        ORDER_ACCEPTED, ORDER_NOT_ACCEPTED,
        STATUS_USAGE, STATUS_FOUND, STATUS_NOT_FOUND,
    ];
}

/// The text catalogue, asked in terms of our [`Language`].
#[derive(Debug, Clone)]
pub struct Texts {
    catalog: Catalog,
}

impl Texts {
    pub fn load() -> Texts {
        Texts {
            catalog: Catalog::new(&[
                ("uk", include_str!("../locales/uk.toml")),
                ("en", include_str!("../locales/en.toml")),
            ]),
        }
    }

    pub fn get(&self, language: Language, key: &str) -> String {
        self.catalog.text(language.tag(), key)
    }

    /// The text with its `{name}` placeholders filled.
    pub fn format(&self, language: Language, key: &str, args: &[(&str, &str)]) -> String {
        self.catalog.format(language.tag(), key, args)
    }

    pub fn status(&self, language: Language, status: OrderStatus) -> String {
        self.catalog.status(language.tag(), status)
    }

    /// The text in each language we speak: a button label the customer taps arrives as text
    /// in whatever language their keyboard was drawn in.
    pub fn in_every_language(&self, key: &str) -> [String; 2] {
        [Language::Uk, Language::En].map(|language| self.get(language, key))
    }

    #[cfg(test)]
    fn missing_keys(&self) -> Vec<String> {
        self.catalog.missing_keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_texts() {
        let texts = Texts::load();
        assert!(texts.missing_keys().is_empty(), "{:?}", texts.missing_keys());
    }

    #[test]
    fn every_key_the_code_uses_has_a_text_in_every_language() {
        let texts = Texts::load();
        for &key in key::ALL {
            for language in [Language::Uk, Language::En] {
                let text = texts.get(language, key);
                assert_ne!(text, key, "{key} has no {} text", language.tag());
                assert!(!text.trim().is_empty(), "{key} is blank in {}", language.tag());
            }
        }
    }

    #[test]
    fn languages_really_differ_and_placeholders_are_filled() {
        let texts = Texts::load();
        let uk = texts.format(Language::Uk, key::ORDER_ACCEPTED, &[("number", "48213097")]);
        let en = texts.format(Language::En, key::ORDER_ACCEPTED, &[("number", "48213097")]);
        assert_ne!(uk, en);
        assert!(uk.contains("№48213097") && en.contains("№48213097"), "{uk} / {en}");
        assert!(!uk.contains('{') && !en.contains('{'));
    }

    #[test]
    fn labels_fit_telegram() {
        let texts = Texts::load();
        for language in [Language::Uk, Language::En] {
            for key in [key::COMMAND_START, key::COMMAND_HELP, key::COMMAND_CANCEL, key::COMMAND_STATUS] {
                let length = texts.get(language, key).chars().count();
                assert!((3..=256).contains(&length), "command description {key}");
            }
            // Callback answers show at most 200 characters.
            for key in [key::BUTTON_OUTDATED, key::DRAFT_EMPTY] {
                assert!(texts.get(language, key).chars().count() <= 200, "{key}");
            }
        }
    }
}
