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
    pub const DEFERRED: &str = "bot.deferred";
    pub const CONTACT: &str = "bot.contact";
    pub const NOTHING_TO_CANCEL: &str = "bot.nothing_to_cancel";

    pub const LANGUAGE_PROMPT: &str = "bot.language.prompt";
    pub const LANGUAGE_SET: &str = "bot.language.set";
    pub const LANGUAGE_LABEL_UK: &str = "bot.language.label_uk";
    pub const LANGUAGE_LABEL_EN: &str = "bot.language.label_en";

    pub const MENU_NEW_ORDER: &str = "bot.menu.new_order";
    pub const MENU_MY_ORDERS: &str = "bot.menu.my_orders";
    pub const MENU_HELP: &str = "bot.menu.help";
    pub const MENU_CONTACT: &str = "bot.menu.contact";

    pub const COMMAND_START: &str = "bot.commands.start";
    pub const COMMAND_HELP: &str = "bot.commands.help";
    pub const COMMAND_CANCEL: &str = "bot.commands.cancel";
    pub const COMMAND_STATUS: &str = "bot.commands.status";
    pub const COMMAND_ORDERS: &str = "bot.commands.orders";
    pub const COMMAND_LANGUAGE: &str = "bot.commands.language";
    pub const COMMAND_PROFILE: &str = "bot.commands.profile";
    pub const COMMAND_WEB: &str = "bot.commands.web";

    pub const BOOKING_CHOOSE_DAY: &str = "bot.booking.choose_day";
    pub const BOOKING_CHOOSE_DAY_MOVE: &str = "bot.booking.choose_day_move";
    pub const BOOKING_CHOOSE_TIME: &str = "bot.booking.choose_time";
    pub const BOOKING_NO_DAYS: &str = "bot.booking.no_days";
    pub const BOOKING_NO_TIMES: &str = "bot.booking.no_times";
    pub const BOOKING_BOOKED: &str = "bot.booking.booked";
    pub const BOOKING_MOVED: &str = "bot.booking.moved";
    pub const BOOKING_CANCELLED: &str = "bot.booking.cancelled";
    pub const BOOKING_DONE: &str = "bot.booking.done";
    pub const BOOKING_TAKEN: &str = "bot.booking.taken";
    pub const BOOKING_TAKEN_NONE: &str = "bot.booking.taken_none";
    pub const BOOKING_TAKEN_SHORT: &str = "bot.booking.taken_short";
    pub const BOOKING_PAST: &str = "bot.booking.past";
    pub const BOOKING_NOT_OFFERED: &str = "bot.booking.not_offered";
    pub const BOOKING_FORGED: &str = "bot.booking.forged";
    pub const BOOKING_EXPIRED: &str = "bot.booking.expired";
    pub const BOOKING_GONE: &str = "bot.booking.gone";
    pub const BOOKING_DRAFT_GONE: &str = "bot.booking.draft_gone";
    pub const BOOKING_ALREADY: &str = "bot.booking.already";
    pub const BOOKING_EARLIER: &str = "bot.booking.earlier";
    pub const BOOKING_LATER: &str = "bot.booking.later";
    pub const BOOKING_BACK_TO_DAYS: &str = "bot.booking.back_to_days";
    pub const BOOKING_OTHER_DAYS: &str = "bot.booking.other_days";
    pub const BOOKING_RESCHEDULE: &str = "bot.booking.reschedule";
    pub const BOOKING_CANCEL: &str = "bot.booking.cancel";
    pub const BOOKING_WEEKDAYS: &str = "bot.booking.weekdays";
    pub const BOOKING_LIST_NONE: &str = "bot.booking.list_none";
    pub const BOOKING_RELEASED: &str = "bot.booking.released";
    /// A draft's held time ran out before Confirm (`{service}`, `{when}`, `{minutes}`).
    pub const BOOKING_HOLD_EXPIRED: &str = "bot.booking.hold_expired";
    pub const BOOKING_LIST_LINE: &str = "bot.booking.list_line";
    /// The booked time on the order's card, its page and `/status`.
    pub const BOOKING_CARD_LINE: &str = "bot.booking.card_line";
    pub const BOOKING_ORDER_LINE: &str = "bot.booking.order_line";
    pub const STATUS_FOUND_BOOKED: &str = "bot.status.found_booked";
    pub const COMMAND_BOOKINGS: &str = "bot.commands.bookings";

    pub const LINK_JOINED: &str = "bot.link.joined";
    pub const LINK_ALREADY: &str = "bot.link.already";
    pub const LINK_INVALID: &str = "bot.link.invalid";
    pub const LINK_TELEGRAM_TAKEN: &str = "bot.link.telegram_taken";
    pub const LINK_ACCOUNT_TAKEN: &str = "bot.link.account_taken";
    pub const LINK_WEB: &str = "bot.link.web";

    pub const BUTTON_CONFIRM: &str = "bot.buttons.confirm";
    pub const BUTTON_EDIT: &str = "bot.buttons.edit";
    pub const BUTTON_CANCEL: &str = "bot.buttons.cancel";
    pub const BUTTON_BACK: &str = "bot.buttons.back";
    pub const BUTTON_OTHER: &str = "bot.buttons.other";
    pub const BUTTON_CHANGE_SERVICE: &str = "bot.buttons.change_service";
    pub const BUTTON_CLEAR_TEXT: &str = "bot.buttons.clear_text";
    pub const BUTTON_CLEAR_FILES: &str = "bot.buttons.clear_files";
    pub const BUTTON_TO_SUMMARY: &str = "bot.buttons.to_summary";
    pub const BUTTON_SHARE_PHONE: &str = "bot.buttons.share_phone";
    pub const BUTTON_NEWER: &str = "bot.buttons.newer";
    pub const BUTTON_OLDER: &str = "bot.buttons.older";
    pub const BUTTON_CANCEL_ORDER: &str = "bot.buttons.cancel_order";
    pub const BUTTON_YES_CANCEL: &str = "bot.buttons.yes_cancel";
    pub const BUTTON_NO: &str = "bot.buttons.no";
    pub const BUTTON_WRITE: &str = "bot.buttons.write";
    pub const BUTTON_TO_LIST: &str = "bot.buttons.to_list";
    pub const BUTTON_OUTDATED: &str = "bot.buttons.outdated";

    pub const CATALOGUE_PROMPT: &str = "bot.catalogue.prompt";
    pub const CATALOGUE_CATEGORY: &str = "bot.catalogue.category";
    pub const SERVICE_OTHER: &str = "bot.catalogue.other";

    pub const CART: &str = "bot.cart.summary";
    pub const CART_NONE: &str = "bot.cart.none";
    pub const CART_LINE: &str = "bot.cart.line";
    pub const CART_LINE_ON_QUOTE: &str = "bot.cart.line_on_quote";
    pub const CART_TOTAL: &str = "bot.cart.total";
    pub const CART_TOTAL_ON_QUOTE: &str = "bot.cart.total_on_quote";
    pub const CART_PER_ITEM: &str = "bot.cart.per_item";
    pub const CART_PER_PAGE: &str = "bot.cart.per_page";
    pub const CART_PER_WORD: &str = "bot.cart.per_word";
    pub const CART_PER_HOUR: &str = "bot.cart.per_hour";
    pub const CART_VIEW: &str = "bot.cart.view";
    pub const CART_EMPTY: &str = "bot.cart.empty";
    pub const CART_QUANTITY_PROMPT: &str = "bot.cart.quantity_prompt";
    pub const CART_QUANTITY_INVALID: &str = "bot.cart.quantity_invalid";
    pub const CART_QUANTITY_MAX: &str = "bot.cart.quantity_max";
    pub const CART_TOO_MANY: &str = "bot.cart.too_many";
    pub const CART_ADDED: &str = "bot.cart.added";
    pub const CART_REMOVED: &str = "bot.cart.removed";
    pub const CART_PRICES_CHANGED: &str = "bot.cart.prices_changed";
    pub const CART_SERVICES_GONE: &str = "bot.cart.services_gone";
    pub const BUTTON_CART: &str = "bot.buttons.cart";
    pub const BUTTON_ADD_SERVICE: &str = "bot.buttons.add_service";
    pub const BUTTON_QUANTITY: &str = "bot.buttons.quantity";
    pub const BUTTON_REMOVE: &str = "bot.buttons.remove";

    pub const BUTTON_PAY: &str = "bot.buttons.pay";
    pub const PAY_TITLE: &str = "bot.pay.title";
    pub const PAY_DESCRIPTION: &str = "bot.pay.description";
    pub const PAY_LABEL: &str = "bot.pay.label";
    pub const PAY_NOT_FOUND: &str = "bot.pay.not_found";
    pub const PAY_CLOSED: &str = "bot.pay.closed";
    pub const PAY_AWAITING_QUOTE_ANSWER: &str = "bot.pay.awaiting_quote_answer";
    pub const PAY_NO_PRICE: &str = "bot.pay.no_price";
    pub const PAY_ALREADY_PAID: &str = "bot.pay.already_paid";
    pub const PAY_AMOUNT_CHANGED: &str = "bot.pay.amount_changed";
    pub const PAY_UNAVAILABLE: &str = "bot.pay.unavailable";
    pub const PAY_OFF: &str = "bot.pay.off";
    pub const PAY_RECEIVED: &str = "bot.pay.received";
    pub const PAY_DEFERRED: &str = "bot.pay.deferred";
    pub const PAY_UNKNOWN_ORDER: &str = "bot.pay.unknown_order";

    pub const DRAFT_IN_PROGRESS: &str = "bot.draft.in_progress";
    pub const DRAFT_TOO_LONG: &str = "bot.draft.too_long";
    pub const DRAFT_ALBUM_OVER_LIMIT: &str = "bot.draft.album_over_limit";
    pub const DRAFT_FILE_TOO_LARGE: &str = "bot.draft.file_too_large";
    pub const DRAFT_FILE_TOO_LARGE_NO_LINKS: &str = "bot.draft.file_too_large_no_links";
    pub const DRAFT_FILE_REFUSED: &str = "bot.draft.file_refused";
    pub const DRAFT_FILE_EMPTY: &str = "bot.draft.file_empty";
    pub const DRAFT_TOO_MANY_FILES: &str = "bot.draft.too_many_files";
    pub const DRAFT_EMPTY: &str = "bot.draft.empty";
    pub const DRAFT_CANCELLED: &str = "bot.draft.cancelled";
    pub const DRAFT_CARD: &str = "bot.draft.card";
    pub const DRAFT_CARD_EMPTY: &str = "bot.draft.card_empty";
    pub const DRAFT_CARD_READY: &str = "bot.draft.card_ready";
    pub const DRAFT_CARD_REGISTERING: &str = "bot.draft.card_registering";
    pub const DRAFT_NO_TEXT: &str = "bot.draft.no_text";
    pub const DRAFT_NO_FILES: &str = "bot.draft.no_files";
    pub const DRAFT_LARGE_FILE_LINE: &str = "bot.draft.large_file_line";
    pub const DRAFT_EDIT: &str = "bot.draft.edit";
    pub const DRAFT_TEXT_CLEARED: &str = "bot.draft.text_cleared";
    pub const DRAFT_FILES_CLEARED: &str = "bot.draft.files_cleared";

    pub const REGISTER_NAME: &str = "bot.register.name";
    pub const REGISTER_NAME_INVALID: &str = "bot.register.name_invalid";
    pub const REGISTER_PHONE: &str = "bot.register.phone";
    pub const REGISTER_PHONE_INVALID: &str = "bot.register.phone_invalid";
    pub const REGISTER_PHONE_NOT_YOURS: &str = "bot.register.phone_not_yours";
    pub const PROFILE_SHOW: &str = "bot.profile.show";
    pub const PROFILE_NONE: &str = "bot.profile.none";
    pub const PROFILE_SAVED: &str = "bot.profile.saved";
    pub const PROFILE_UNCHANGED: &str = "bot.profile.unchanged";

    pub const ORDER_ACCEPTED: &str = "bot.order.accepted";
    pub const ORDER_DEFERRED: &str = "bot.order.deferred";
    pub const ORDER_UPLOAD_LINK: &str = "bot.order.upload_link";
    pub const ORDER_UPLOAD_ELSEWHERE: &str = "bot.order.upload_elsewhere";

    pub const STATUS_USAGE: &str = "bot.status.usage";
    pub const STATUS_FOUND: &str = "bot.status.found";
    pub const STATUS_NOT_FOUND: &str = "bot.status.not_found";

    pub const ORDERS_NONE: &str = "bot.orders.none";
    pub const ORDERS_PAGE: &str = "bot.orders.page";
    pub const ORDERS_BUTTON: &str = "bot.orders.button";
    pub const ORDER_PAGE: &str = "bot.orders.order";
    pub const ORDER_FILE_LINE: &str = "bot.orders.file_line";
    pub const ORDER_NO_FILES: &str = "bot.orders.no_files";
    pub const ORDER_HISTORY_LINE: &str = "bot.orders.history_line";
    pub const ORDER_CANCEL_QUESTION: &str = "bot.orders.cancel_question";
    pub const ORDER_CANCELLED: &str = "bot.orders.cancelled";
    pub const ORDER_CANCEL_DEFERRED: &str = "bot.orders.cancel_deferred";
    /// The answer to the notifier's Accept / Decline buttons under a price quote: sent, not
    /// yet recorded (the notifier's push of the recorded status, or of the refusal, follows).
    pub const QUOTE_ACCEPT_SENT: &str = "bot.quote.accept_sent";
    pub const QUOTE_DECLINE_SENT: &str = "bot.quote.decline_sent";
    pub const QUOTE_ANSWER_DEFERRED: &str = "bot.quote.deferred";

    pub const WRITE_PROMPT: &str = "bot.write.prompt";
    pub const WRITE_SENT: &str = "bot.write.sent";
    pub const WRITE_TEXT_ONLY: &str = "bot.write.text_only";
    pub const WRITE_DEFERRED: &str = "bot.write.deferred";
    pub const WRITE_CANCELLED: &str = "bot.write.cancelled";

    pub const UNIT_BYTES: &str = "bot.units.bytes";
    pub const UNIT_KB: &str = "bot.units.kb";
    pub const UNIT_MB: &str = "bot.units.mb";

    /// Every key above; a test checks each has a text in every language.
    pub const ALL: &[&str] = &[
        GREETING,
        BOOKING_CHOOSE_DAY,
        BOOKING_CHOOSE_DAY_MOVE,
        BOOKING_CHOOSE_TIME,
        BOOKING_NO_DAYS,
        BOOKING_NO_TIMES,
        BOOKING_BOOKED,
        BOOKING_MOVED,
        BOOKING_CANCELLED,
        BOOKING_DONE,
        BOOKING_TAKEN,
        BOOKING_TAKEN_NONE,
        BOOKING_TAKEN_SHORT,
        BOOKING_PAST,
        BOOKING_NOT_OFFERED,
        BOOKING_FORGED,
        BOOKING_EXPIRED,
        BOOKING_GONE,
        BOOKING_DRAFT_GONE,
        BOOKING_ALREADY,
        BOOKING_EARLIER,
        BOOKING_LATER,
        BOOKING_BACK_TO_DAYS,
        BOOKING_OTHER_DAYS,
        BOOKING_RESCHEDULE,
        BOOKING_CANCEL,
        BOOKING_WEEKDAYS,
        BOOKING_LIST_NONE,
        BOOKING_RELEASED,
        BOOKING_HOLD_EXPIRED,
        BOOKING_LIST_LINE,
        BOOKING_CARD_LINE,
        BOOKING_ORDER_LINE,
        STATUS_FOUND_BOOKED,
        COMMAND_BOOKINGS,
        HELP,
        UNSUPPORTED,
        UNAVAILABLE,
        DEFERRED,
        CONTACT,
        NOTHING_TO_CANCEL,
        LANGUAGE_PROMPT,
        LANGUAGE_SET,
        LANGUAGE_LABEL_UK,
        LANGUAGE_LABEL_EN,
        MENU_NEW_ORDER,
        MENU_MY_ORDERS,
        MENU_HELP,
        MENU_CONTACT,
        COMMAND_START,
        COMMAND_HELP,
        COMMAND_CANCEL,
        COMMAND_STATUS,
        COMMAND_ORDERS,
        COMMAND_LANGUAGE,
        COMMAND_PROFILE,
        BUTTON_CONFIRM,
        BUTTON_EDIT,
        BUTTON_CANCEL,
        BUTTON_BACK,
        BUTTON_OTHER,
        BUTTON_CHANGE_SERVICE,
        BUTTON_CLEAR_TEXT,
        BUTTON_CLEAR_FILES,
        BUTTON_TO_SUMMARY,
        BUTTON_SHARE_PHONE,
        BUTTON_NEWER,
        BUTTON_OLDER,
        BUTTON_CANCEL_ORDER,
        BUTTON_YES_CANCEL,
        BUTTON_NO,
        BUTTON_WRITE,
        BUTTON_TO_LIST,
        BUTTON_OUTDATED,
        CATALOGUE_PROMPT,
        CATALOGUE_CATEGORY,
        SERVICE_OTHER,
        CART,
        CART_NONE,
        CART_LINE,
        CART_LINE_ON_QUOTE,
        CART_TOTAL,
        CART_TOTAL_ON_QUOTE,
        CART_PER_ITEM,
        CART_PER_PAGE,
        CART_PER_WORD,
        CART_PER_HOUR,
        CART_VIEW,
        CART_EMPTY,
        CART_QUANTITY_PROMPT,
        CART_QUANTITY_INVALID,
        CART_QUANTITY_MAX,
        PAY_CLOSED,
        PAY_AWAITING_QUOTE_ANSWER,
        PAY_NO_PRICE,
        PAY_ALREADY_PAID,
        PAY_OFF,
        CART_TOO_MANY,
        CART_ADDED,
        CART_REMOVED,
        CART_PRICES_CHANGED,
        CART_SERVICES_GONE,
        BUTTON_CART,
        BUTTON_ADD_SERVICE,
        BUTTON_QUANTITY,
        BUTTON_REMOVE,
        BUTTON_PAY,
        PAY_TITLE,
        PAY_DESCRIPTION,
        PAY_LABEL,
        PAY_NOT_FOUND,
        PAY_CLOSED,
        PAY_AWAITING_QUOTE_ANSWER,
        PAY_NO_PRICE,
        PAY_ALREADY_PAID,
        PAY_AMOUNT_CHANGED,
        PAY_UNAVAILABLE,
        PAY_OFF,
        PAY_RECEIVED,
        PAY_DEFERRED,
        PAY_UNKNOWN_ORDER,
        DRAFT_IN_PROGRESS,
        DRAFT_TOO_LONG,
        DRAFT_ALBUM_OVER_LIMIT,
        DRAFT_FILE_TOO_LARGE,
        DRAFT_FILE_TOO_LARGE_NO_LINKS,
        DRAFT_FILE_REFUSED,
        DRAFT_FILE_EMPTY,
        DRAFT_TOO_MANY_FILES,
        DRAFT_EMPTY,
        DRAFT_CANCELLED,
        DRAFT_CARD,
        DRAFT_CARD_EMPTY,
        DRAFT_CARD_READY,
        DRAFT_CARD_REGISTERING,
        DRAFT_NO_TEXT,
        DRAFT_NO_FILES,
        DRAFT_LARGE_FILE_LINE,
        DRAFT_EDIT,
        DRAFT_TEXT_CLEARED,
        DRAFT_FILES_CLEARED,
        REGISTER_NAME,
        REGISTER_NAME_INVALID,
        REGISTER_PHONE,
        REGISTER_PHONE_INVALID,
        REGISTER_PHONE_NOT_YOURS,
        PROFILE_SHOW,
        PROFILE_NONE,
        PROFILE_SAVED,
        PROFILE_UNCHANGED,
        ORDER_ACCEPTED,
        ORDER_DEFERRED,
        ORDER_UPLOAD_LINK,
        ORDER_UPLOAD_ELSEWHERE,
        STATUS_USAGE,
        STATUS_FOUND,
        STATUS_NOT_FOUND,
        ORDERS_NONE,
        ORDERS_PAGE,
        ORDERS_BUTTON,
        ORDER_PAGE,
        ORDER_FILE_LINE,
        ORDER_NO_FILES,
        ORDER_HISTORY_LINE,
        ORDER_CANCEL_QUESTION,
        ORDER_CANCELLED,
        ORDER_CANCEL_DEFERRED,
        QUOTE_ACCEPT_SENT,
        QUOTE_DECLINE_SENT,
        QUOTE_ANSWER_DEFERRED,
        WRITE_PROMPT,
        WRITE_SENT,
        WRITE_TEXT_ONLY,
        WRITE_DEFERRED,
        WRITE_CANCELLED,
        UNIT_BYTES,
        UNIT_KB,
        UNIT_MB,
    ];

    /// Texts shown as callback-query answers, which Telegram cuts at 200 characters.
    pub const CALLBACK_ANSWERS: &[&str] = &[
        BUTTON_OUTDATED,
        BOOKING_DONE,
        BOOKING_TAKEN_SHORT,
        BOOKING_PAST,
        BOOKING_NOT_OFFERED,
        BOOKING_FORGED,
        BOOKING_EXPIRED,
        BOOKING_GONE,
        BOOKING_DRAFT_GONE,
        BOOKING_ALREADY,
        CART_QUANTITY_MAX,
        CART_TOO_MANY,
        CART_ADDED,
        CART_REMOVED,
        DRAFT_EMPTY,
        DRAFT_TEXT_CLEARED,
        DRAFT_FILES_CLEARED,
        DRAFT_IN_PROGRESS,
        UNAVAILABLE,
        DEFERRED,
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

    /// The texts in `language`: what one conversation speaks.
    pub fn words(&self, language: Language) -> Words<'_> {
        Words {
            texts: self,
            language,
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

    /// A file size as customers read it: bytes, KB or MB, in their language's units.
    pub fn size(&self, language: Language, bytes: u64) -> String {
        const KB: u64 = 1024;
        const MB: u64 = 1024 * 1024;
        let (key, amount) = match bytes {
            b if b < KB => (key::UNIT_BYTES, b.to_string()),
            b if b < MB => (key::UNIT_KB, (b.div_ceil(KB)).to_string()),
            b => (key::UNIT_MB, format!("{:.1}", b as f64 / MB as f64)),
        };
        self.format(language, key, &[("n", &amount)])
    }

    /// One line of a file list: its name and size ("?" when Telegram did not say).
    pub fn file_line(&self, language: Language, name: &str, size: Option<u64>) -> String {
        let size = size
            .map(|size| self.size(language, size))
            .unwrap_or_else(|| "?".to_owned());
        self.format(
            language,
            key::ORDER_FILE_LINE,
            &[("name", name), ("size", &size)],
        )
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

/// The texts in one language, as a handler or a keyboard speaks them.
#[derive(Debug, Clone, Copy)]
pub struct Words<'a> {
    texts: &'a Texts,
    pub language: Language,
}

impl Words<'_> {
    pub fn get(&self, key: &str) -> String {
        self.texts.get(self.language, key)
    }

    /// The text with its `{name}` placeholders filled.
    pub fn format(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.texts.format(self.language, key, args)
    }

    pub fn status(&self, status: OrderStatus) -> String {
        self.texts.status(self.language, status)
    }

    pub fn size(&self, bytes: u64) -> String {
        self.texts.size(self.language, bytes)
    }

    pub fn file_line(&self, name: &str, size: Option<u64>) -> String {
        self.texts.file_line(self.language, name, size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_texts() {
        let texts = Texts::load();
        assert!(
            texts.missing_keys().is_empty(),
            "{:?}",
            texts.missing_keys()
        );
    }

    #[test]
    fn every_key_the_code_uses_has_a_text_in_every_language() {
        let texts = Texts::load();
        for &key in key::ALL {
            for language in [Language::Uk, Language::En] {
                let text = texts.get(language, key);
                assert_ne!(text, key, "{key} has no {} text", language.tag());
                assert!(
                    !text.trim().is_empty(),
                    "{key} is blank in {}",
                    language.tag()
                );
            }
        }
    }

    #[test]
    fn languages_really_differ_and_placeholders_are_filled() {
        let texts = Texts::load();
        let uk = texts.format(Language::Uk, key::ORDER_ACCEPTED, &[("number", "48213097")]);
        let en = texts.format(Language::En, key::ORDER_ACCEPTED, &[("number", "48213097")]);
        assert_ne!(uk, en);
        assert!(
            uk.contains("№48213097") && en.contains("№48213097"),
            "{uk} / {en}"
        );
        assert!(!uk.contains('{') && !en.contains('{'));
    }

    #[test]
    fn sizes_read_naturally() {
        let texts = Texts::load();
        assert_eq!(texts.size(Language::En, 512), "512 B");
        assert_eq!(texts.size(Language::En, 2048), "2 KB");
        assert_eq!(texts.size(Language::En, 25 * 1024 * 1024), "25.0 MB");
        assert_eq!(texts.size(Language::Uk, 25 * 1024 * 1024), "25.0 МБ");
    }

    #[test]
    fn labels_fit_telegram() {
        let texts = Texts::load();
        for language in [Language::Uk, Language::En] {
            for key in [
                key::COMMAND_START,
                key::COMMAND_HELP,
                key::COMMAND_CANCEL,
                key::COMMAND_STATUS,
                key::COMMAND_ORDERS,
                key::COMMAND_LANGUAGE,
                key::COMMAND_PROFILE,
                key::COMMAND_BOOKINGS,
            ] {
                let length = texts.get(language, key).chars().count();
                assert!((3..=256).contains(&length), "command description {key}");
            }
            // Callback answers show at most 200 characters.
            for &key in key::CALLBACK_ANSWERS {
                assert!(texts.get(language, key).chars().count() <= 200, "{key}");
            }
        }
    }
}
