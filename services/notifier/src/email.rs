//! A notice as an e-mail: the same words as the Telegram push (`texts`), a subject, the
//! address of the customer's order page instead of buttons, and a download link instead of
//! an attached result (results may be gigabytes; a link is stored and revocable).

use bureau_mail::Mail;
use proto_events::Actor;

use crate::notice::{DownloadLink, Notice};
use crate::recipients::Recipient;
use crate::texts::Texts;

/// What the mail needs besides the notice.
pub struct MailContext<'a> {
    pub texts: &'a Texts,
    pub recipient: &'a Recipient,
    pub to: &'a str,
    /// The customer's order page.
    pub order_url: &'a str,
    /// Where a result can be downloaded without signing in; `None` without `links.secret`.
    pub link: Option<&'a DownloadLink>,
    pub business: &'a str,
}

pub fn compose(notice: &Notice<'_>, context: &MailContext<'_>) -> Mail {
    let texts = context.texts;
    let language = bureau_platform::texts::Catalog::language_for(Some(&context.recipient.language));
    let number = context.recipient.order_number.as_str();
    let by_number = [("number", number)];
    let (subject, text) = match notice {
        Notice::StatusChanged(change) => {
            let text = texts.status_changed(
                language,
                &change.order_number,
                change.to,
                change
                    .reason
                    .as_deref()
                    .filter(|_| change.actor != Actor::Customer),
            );
            let subject = text.lines().next().unwrap_or_default().to_owned();
            let text = match crate::notice::booked_line(
                texts,
                notice,
                context.recipient,
                chrono::Utc::now(),
            ) {
                Some(line) => format!("{text}\n{line}"),
                None => text,
            };
            (subject, text)
        }
        Notice::StatusRefused(refusal) => (
            texts.email(language, "subject_refused", &by_number),
            texts.status_refused(language, refusal),
        ),
        Notice::FileRejected(rejection) => (
            texts.email(language, "subject_file_rejected", &by_number),
            texts.file_rejected(language, &rejection.original_name, &rejection.reason),
        ),
        Notice::ResultReady(stored) => {
            let name = stored.original_name.trim();
            let text = match context.link {
                Some(link) => {
                    let hours = link.hours.to_string();
                    let head = texts.email(
                        language,
                        "result_link",
                        &[("name", name), ("hours", &hours), ("number", number)],
                    );
                    format!("{head}\n{}", link.url)
                }
                None => texts.email(
                    language,
                    "result_on_site",
                    &[("name", name), ("number", number)],
                ),
            };
            (texts.email(language, "subject_result", &by_number), text)
        }
        Notice::StaffMessage(message) => (
            texts.email(language, "subject_message", &by_number),
            texts.staff_message(language, number, &message.text),
        ),
        Notice::PriceQuoted(quote) => (
            texts.email(language, "subject_quote", &by_number),
            texts.price_quoted_by_email(
                language,
                &quote.order_number,
                quote.amount_minor,
                &quote.currency,
                quote.note.as_deref(),
                quote.valid_until,
            ),
        ),
    };
    let greeting = texts.email(
        language,
        "greeting",
        &[("name", context.recipient.display_name.trim())],
    );
    let open = texts.email(language, "open_order", &[]);
    let footer = texts.email(language, "footer", &[("business", context.business)]);
    Mail {
        to: context.to.to_owned(),
        // A subject is one line: a number or status with a new line in it stays one.
        subject: subject.replace(['\r', '\n'], " "),
        text: format!(
            "{greeting}\n\n{text}\n\n{open}\n{}\n\n{footer}\n",
            context.order_url
        ),
        language: language.to_owned(),
    }
}

/// The order page's address: `web_gateway.public_url` + `mail.order_path` with the number.
pub fn order_url(public_url: &str, order_path: &str, order_number: &str) -> String {
    format!(
        "{}{}",
        public_url.trim_end_matches('/'),
        order_path.replace("{number}", order_number)
    )
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use proto_events::{FilePurpose, FileStored, OrderStatus, OrderStatusChanged};
    use uuid::Uuid;

    use super::*;
    use crate::recipients::{NoticeChannel, TelegramReach};

    fn recipient(language: &str) -> Recipient {
        Recipient {
            customer_id: Uuid::nil(),
            display_name: "Олена".into(),
            order_number: "48213097".into(),
            language: language.into(),
            reach: TelegramReach::NoChat,
            email: Some("olena@example.com".into()),
            preference: NoticeChannel::Auto,
            booked_at: None,
            business_zone: None,
        }
    }

    #[test]
    fn a_status_change_in_the_customers_language_with_the_order_page() {
        let texts = Texts::new();
        let change = OrderStatusChanged {
            order_id: Uuid::now_v7(),
            order_number: "48213097".into(),
            from: OrderStatus::InProgress,
            to: OrderStatus::Ready,
            version: 4,
            reason: Some("checked twice".into()),
            actor: Actor::Staff {
                account_id: Uuid::nil(),
            },
            changed_at: Utc::now(),
            request_id: Some(Uuid::now_v7()),
        };
        let url = order_url("https://desk.example/", "/orders/{number}", "48213097");
        assert_eq!(url, "https://desk.example/orders/48213097");
        for (language, subject, greeting) in [
            ("en", "Order №48213097: Ready", "Hello, Олена!"),
            ("uk", "Замовлення №48213097: Готово", "Вітаємо, Олена!"),
        ] {
            let recipient = recipient(language);
            let mail = compose(
                &Notice::StatusChanged(&change),
                &MailContext {
                    texts: &texts,
                    recipient: &recipient,
                    to: "olena@example.com",
                    order_url: &url,
                    link: None,
                    business: "Slovo",
                },
            );
            assert_eq!(mail.subject, subject);
            assert_eq!(mail.language, language);
            assert!(mail.text.starts_with(greeting), "{}", mail.text);
            assert!(mail.text.contains("checked twice"));
            assert!(mail.text.contains(&url));
            assert!(mail.text.contains("Slovo"));
        }
    }

    #[test]
    fn a_result_goes_as_a_link_never_as_an_attachment() {
        let stored = FileStored {
            order_id: Uuid::now_v7(),
            file_id: Uuid::now_v7(),
            purpose: FilePurpose::Result,
            object_key: "orders/a/results/b/result.pdf".into(),
            size: 1024,
            sha256: String::new(),
            content_type: "application/pdf".into(),
            original_name: "result.pdf".into(),
        };
        let link = DownloadLink {
            url: "https://desk.example/d/token".into(),
            hours: 24,
        };
        let recipient = recipient("en");
        let mail = compose(
            &Notice::ResultReady(&stored),
            &MailContext {
                texts: &Texts::new(),
                recipient: &recipient,
                to: "olena@example.com",
                order_url: "https://desk.example/orders/48213097",
                link: Some(&link),
                business: "Slovo",
            },
        );
        assert_eq!(mail.subject, "Order №48213097: your result is ready");
        assert!(mail.text.contains("«result.pdf»"));
        assert!(
            mail.text
                .contains("within 24 h:\nhttps://desk.example/d/token")
        );
    }
}
