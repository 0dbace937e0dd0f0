//! The words of every push, in the customer's language, cut to fit Telegram's text limit.
//!
//! Templates live in `locales/{uk,en}.toml` under `[notify]` and hold only our own words;
//! text that came from outside (a reason staff typed, a file name a customer chose) is
//! appended or inserted after the template is filled, so it can never be taken for a
//! placeholder.

use bureau_platform::texts::Catalog;
use proto_events::{OrderStatus, OrderStatusChangeRefused, QuoteAnswer, RefusalCode};

/// Telegram refuses message texts longer than this. Telegram counts in UTF-16 code units,
/// which are never fewer than characters, so measuring in them is always safe.
pub const TELEGRAM_TEXT_LIMIT: usize = 4096;

/// Telegram refuses document captions longer than this many UTF-16 units.
pub const TELEGRAM_CAPTION_LIMIT: usize = 1024;

/// A file name longer than this is shortened in messages: it is shown, never used.
const FILE_NAME_SHOWN: usize = 200;

const ELLIPSIS: char = '…';

/// The notifier's texts: the shared catalogue (status names) plus `locales/`.
#[derive(Debug, Clone)]
pub struct Texts {
    catalog: Catalog,
}

impl Texts {
    pub fn new() -> Texts {
        Texts {
            catalog: Catalog::new(&[
                ("uk", include_str!("../locales/uk.toml")),
                ("en", include_str!("../locales/en.toml")),
            ]),
        }
    }

    /// "Order №{number}: {status}", then "Reason: {reason}" on a second line when staff
    /// gave one. The reason is shortened so the whole text fits.
    pub fn status_changed(
        &self,
        language: &str,
        order_number: &str,
        status: OrderStatus,
        reason: Option<&str>,
    ) -> String {
        let status_words = self.catalog.status(language, status);
        // The status (our own words) is filled first, the number from the event last, so
        // nothing inside the number is ever read as a placeholder.
        let headline = self.catalog.format(
            language,
            "notify.status_changed",
            &[("status", &status_words), ("number", order_number)],
        );
        match reason.map(str::trim).filter(|r| !r.is_empty()) {
            None => shorten(&headline, TELEGRAM_TEXT_LIMIT),
            Some(reason) => {
                let label = self.catalog.text(language, "notify.reason");
                with_detail(&format!("{headline}\n{label} "), reason)
            }
        }
    }

    /// "🗓 Your booked time: {when}", the line a status push about a booked order ends with.
    pub fn booked_time(&self, language: &str, when: &str) -> String {
        self.catalog
            .format(language, "notify.booked_time", &[("when", when)])
    }

    /// "File «{name}» was not accepted: {reason}", shortened to fit.
    pub fn file_rejected(&self, language: &str, file_name: &str, reason: &str) -> String {
        let name = shorten(file_name.trim(), FILE_NAME_SHOWN);
        let prefix = self
            .catalog
            .format(language, "notify.file_rejected", &[("name", &name)]);
        with_detail(&format!("{prefix} "), reason.trim())
    }

    /// The caption of a result file sent as a document.
    pub fn result_ready(&self, language: &str, order_number: &str) -> String {
        let caption =
            self.catalog
                .format(language, "notify.result_ready", &[("number", order_number)]);
        shorten(&caption, TELEGRAM_CAPTION_LIMIT)
    }

    /// A result too big for Telegram: where to download it, and for how long. Without a
    /// link (links switched off) it points to the website.
    pub fn result_link(
        &self,
        language: &str,
        order_number: &str,
        file_name: &str,
        link: Option<(&str, u64)>,
    ) -> String {
        let name = shorten(file_name.trim(), FILE_NAME_SHOWN);
        match link {
            Some((url, hours)) => {
                let hours = hours.to_string();
                let head = self.catalog.format(
                    language,
                    "notify.result_link",
                    &[("name", &name), ("hours", &hours), ("number", order_number)],
                );
                shorten(&format!("{head}\n{url}"), TELEGRAM_TEXT_LIMIT)
            }
            None => {
                let text = self.catalog.format(
                    language,
                    "notify.result_on_web",
                    &[("name", &name), ("number", order_number)],
                );
                shorten(&text, TELEGRAM_TEXT_LIMIT)
            }
        }
    }

    /// What staff wrote about an order, under a line naming the order; cut to fit.
    pub fn staff_message(&self, language: &str, order_number: &str, text: &str) -> String {
        let head = self.catalog.format(
            language,
            "notify.staff_message",
            &[("number", order_number)],
        );
        with_detail(&format!("{head}\n"), text.trim())
    }

    /// A price quote: the amount in major units with two decimals, and staff's note.
    pub fn price_quoted(
        &self,
        language: &str,
        order_number: &str,
        amount_minor: u64,
        currency: &str,
        note: Option<&str>,
        valid_until: Option<chrono::DateTime<chrono::Utc>>,
    ) -> String {
        self.quote_in(
            "notify.price_quoted",
            language,
            order_number,
            amount_minor,
            currency,
            note,
            valid_until,
        )
    }

    /// A price quote as an e-mail says it (answered on the order page, not with buttons).
    pub fn price_quoted_by_email(
        &self,
        language: &str,
        order_number: &str,
        amount_minor: u64,
        currency: &str,
        note: Option<&str>,
        valid_until: Option<chrono::DateTime<chrono::Utc>>,
    ) -> String {
        self.quote_in(
            "email.price_quoted",
            language,
            order_number,
            amount_minor,
            currency,
            note,
            valid_until,
        )
    }

    /// An e-mail's own words (`[email]` in `locales/`), placeholders filled in one pass.
    /// A `[notify]` text filled with `args` (the reminders').
    pub fn notify(&self, language: &str, key: &str, args: &[(&str, &str)]) -> String {
        shorten(
            &self
                .catalog
                .format(language, &format!("notify.{key}"), args),
            TELEGRAM_TEXT_LIMIT,
        )
    }

    pub fn email(&self, language: &str, key: &str, args: &[(&str, &str)]) -> String {
        self.catalog.format(language, &format!("email.{key}"), args)
    }

    // The quote's fields one by one, as both callers have them (Telegram and e-mail).
    #[allow(clippy::too_many_arguments)]
    fn quote_in(
        &self,
        key: &str,
        language: &str,
        order_number: &str,
        amount_minor: u64,
        currency: &str,
        note: Option<&str>,
        valid_until: Option<chrono::DateTime<chrono::Utc>>,
    ) -> String {
        let amount = format!("{}.{:02}", amount_minor / 100, amount_minor % 100);
        let currency = shorten(currency.trim(), 8);
        let mut head = self.catalog.format(
            language,
            key,
            &[
                ("amount", &amount),
                ("currency", &currency),
                ("number", order_number),
            ],
        );
        if let Some(valid_until) = valid_until {
            let date = valid_until.format("%d.%m.%Y").to_string();
            head.push(' ');
            head.push_str(&self.catalog.format(
                language,
                "notify.quote_valid_until",
                &[("date", &date)],
            ));
        }
        match note.map(str::trim).filter(|n| !n.is_empty()) {
            None => shorten(&head, TELEGRAM_TEXT_LIMIT),
            Some(note) => with_detail(&format!("{head}\n"), note),
        }
    }

    /// A customer's own request that was not made: what it was, and where the order is.
    /// Built from the refusal's code and statuses, never from the worker's English reason.
    pub fn status_refused(&self, language: &str, refusal: &OrderStatusChangeRefused) -> String {
        let key = match (refusal.code, refusal.from, refusal.to) {
            (RefusalCode::QuoteOutdated, _, _) => "notify.quote_outdated",
            (RefusalCode::QuoteExpired, _, _) => "notify.quote_expired",
            (_, OrderStatus::Quoted, OrderStatus::Accepted) => "notify.refused_quote_accept",
            (_, OrderStatus::Quoted, to) if to == QuoteAnswer::Decline.target() => {
                "notify.refused_quote_decline"
            }
            (_, _, OrderStatus::Cancelled) => "notify.refused_cancel",
            _ => "notify.refused",
        };
        let status = self.catalog.status(language, refusal.current_status);
        let text = self.catalog.format(
            language,
            key,
            &[("status", &status), ("number", &refusal.order_number)],
        );
        shorten(&text, TELEGRAM_TEXT_LIMIT)
    }

    /// The labels of a price quote's answer buttons.
    pub fn accept_quote(&self, language: &str) -> String {
        self.catalog.text(language, "notify.accept_quote")
    }

    pub fn decline_quote(&self, language: &str) -> String {
        self.catalog.text(language, "notify.decline_quote")
    }

    /// Whether we have texts in `language`; others are answered in the default language.
    pub fn speaks(language: &str) -> bool {
        bureau_platform::texts::LANGUAGES.contains(&language)
    }

    /// Keys one language has and another lacks (a defect: those texts fall back).
    pub fn missing_keys(&self) -> Vec<String> {
        self.catalog.missing_keys()
    }

    /// The label of the button that opens the order in the bot.
    pub fn open_order(&self, language: &str) -> String {
        self.catalog.text(language, "notify.open_order")
    }
}

/// `head` followed by as much of `detail` as fits in a Telegram message.
pub fn with_detail(head: &str, detail: &str) -> String {
    let room = TELEGRAM_TEXT_LIMIT.saturating_sub(utf16_len(head));
    shorten(
        &format!("{head}{}", shorten(detail, room)),
        TELEGRAM_TEXT_LIMIT,
    )
}

/// `text` if it is at most `max` UTF-16 units long, else its start and an ellipsis, `max`
/// units in all.
pub fn shorten(text: &str, max: usize) -> String {
    if utf16_len(text) <= max {
        return text.to_owned();
    }
    let Some(budget) = max.checked_sub(ELLIPSIS.len_utf16()) else {
        return String::new();
    };
    let mut used = 0;
    let mut kept: String = text
        .chars()
        .take_while(|c| {
            used += c.len_utf16();
            used <= budget
        })
        .collect();
    kept.push(ELLIPSIS);
    kept
}

pub fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_exists_in_both_languages() {
        let missing = Texts::new().catalog.missing_keys();
        assert!(missing.is_empty(), "{missing:?}");
    }

    #[test]
    fn status_change_reads_in_the_customer_language() {
        let texts = Texts::new();
        assert_eq!(
            texts.status_changed("en", "48213097", OrderStatus::Ready, None),
            "Order №48213097: Ready"
        );
        assert_eq!(
            texts.status_changed(
                "uk",
                "48213097",
                OrderStatus::Rejected,
                Some(" out of paper ")
            ),
            "Замовлення №48213097: Відхилено\nПричина: out of paper"
        );
        // An unknown language falls back to Ukrainian; a blank reason is no reason.
        assert_eq!(
            texts.status_changed("de", "48213097", OrderStatus::InProgress, Some("  ")),
            "Замовлення №48213097: В роботі"
        );
    }

    #[test]
    fn file_refusal_names_the_file_and_the_reason() {
        let texts = Texts::new();
        assert_eq!(
            texts.file_rejected("en", "scan.pdf", "The file is empty."),
            "File «scan.pdf» was not accepted: The file is empty."
        );
        assert_eq!(
            texts.file_rejected("uk", "scan.pdf", "The file is empty."),
            "Файл «scan.pdf» не прийнято: The file is empty."
        );
        assert_eq!(texts.open_order("en"), "Open order");
    }

    #[test]
    fn text_from_outside_is_never_read_as_a_placeholder() {
        let texts = Texts::new();
        assert_eq!(
            texts.status_changed("en", "{status}", OrderStatus::Ready, Some("{number}")),
            "Order №{status}: Ready\nReason: {number}"
        );
        assert_eq!(
            texts.file_rejected("en", "{name}.pdf", "{reason}"),
            "File «{name}.pdf» was not accepted: {reason}"
        );
    }

    #[test]
    fn a_long_reason_is_shortened_to_fit_telegram() {
        let texts = Texts::new();
        // Astral characters take two UTF-16 units each: the limit must count those.
        let reason = "😀".repeat(5000);
        let text = texts.status_changed("en", "48213097", OrderStatus::Rejected, Some(&reason));
        assert!(utf16_len(&text) <= TELEGRAM_TEXT_LIMIT);
        assert!(
            utf16_len(&text) >= TELEGRAM_TEXT_LIMIT - 1,
            "the reason fills the room"
        );
        assert!(text.starts_with("Order №48213097: Rejected\nReason: 😀"));
        assert!(text.ends_with('…'));

        let text = texts.file_rejected("uk", &"n".repeat(1000), &"r".repeat(9000));
        assert_eq!(utf16_len(&text), TELEGRAM_TEXT_LIMIT);
        assert!(text.contains(&format!("«{}…»", "n".repeat(FILE_NAME_SHOWN - 1))));
    }

    #[test]
    fn results_messages_and_quotes_read_in_both_languages() {
        let texts = Texts::new();
        assert_eq!(
            texts.result_ready("en", "48213097"),
            "Order №48213097: your result is ready"
        );
        assert_eq!(
            texts.result_ready("uk", "48213097"),
            "Замовлення №48213097: результат готовий"
        );
        let link = texts.result_link("en", "48213097", "big.zip", Some(("https://x/d/t", 24)));
        assert!(link.ends_with("within 24 h:\nhttps://x/d/t"), "{link}");
        assert!(
            texts
                .result_link("uk", "1", "big.zip", None)
                .contains("на нашому сайті")
        );
        assert_eq!(
            texts.staff_message("en", "48213097", " Please call us "),
            "Order №48213097, a message from us:\nPlease call us"
        );
        assert_eq!(
            texts.price_quoted("uk", "48213097", 125_005, "UAH", Some("incl. notary"), None),
            "Замовлення №48213097: вартість 1250.05 UAH. Прийміть або відхиліть її кнопками нижче.\nincl. notary"
        );
        let until = chrono::DateTime::parse_from_rfc3339("2026-12-20T23:59:59Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            texts.price_quoted("en", "48213097", 125_000, "UAH", None, Some(until)),
            "Order №48213097: the price is 1250.00 UAH. Accept or decline it below. The price is valid until 20.12.2026."
        );
        let long = texts.staff_message("en", "1", &"x".repeat(10_000));
        assert_eq!(utf16_len(&long), TELEGRAM_TEXT_LIMIT);
        assert!(Texts::speaks("en") && !Texts::speaks("de"));
    }

    #[test]
    fn shortening_keeps_short_texts_and_cuts_on_character_boundaries() {
        assert_eq!(shorten("abc", 3), "abc");
        assert_eq!(shorten("abcd", 3), "ab…");
        assert_eq!(shorten("a😀b", 3), "a…");
        assert_eq!(shorten("abc", 0), "");
    }
}
