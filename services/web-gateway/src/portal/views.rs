//! The portal's templates (`templates/portal/*.html`, compiled in; every `{{ }}` is
//! HTML-escaped) and the view models they read: strings already formatted, so the templates
//! hold no logic beyond loops and conditions.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use chrono::{DateTime, Utc};

use super::i18n::{Lang, Texts};

/// A choice in a `<select>`.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
    /// A catalogue service's unit price as shown (`cart::shown`); empty for other choices.
    pub shown: String,
}

impl Opt {
    pub fn new(value: impl Into<String>, label: impl Into<String>, selected: bool) -> Opt {
        Opt {
            value: value.into(),
            label: label.into(),
            selected,
            shown: String::new(),
        }
    }
}

/// A moment, as `<time datetime>` with a UTC text.
pub struct When {
    pub iso: String,
    pub text: String,
    /// For ordering: the moment to the microsecond.
    pub micros: i64,
}

impl When {
    pub fn of(at: DateTime<Utc>) -> When {
        When {
            iso: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            text: at.format("%Y-%m-%d %H:%M UTC").to_string(),
            micros: at.timestamp_micros(),
        }
    }
}

/// Bytes as people read them.
pub fn size(bytes: u64) -> String {
    crate::http::human_size(bytes)
}

/// The CSS class of a status's badge.
pub fn status_class(status: &str) -> &'static str {
    match status {
        "awaiting_confirmation" => "s-new",
        "quoted" => "s-quoted",
        "accepted" => "s-accepted",
        "in_progress" => "s-progress",
        "ready" => "s-ready",
        "delivered" => "s-done",
        "cancelled" | "rejected" => "s-closed",
        _ => "s-other",
    }
}

/// What every page's frame needs.
pub struct Chrome {
    pub lang: &'static str,
    pub t: &'static Texts,
    pub other_lang: &'static str,
    pub other_lang_name: &'static str,
    /// This page's path and query, for the language switch to return to.
    pub back: String,
    /// The signed-in customer's name.
    pub user: Option<String>,
    pub title: String,
}

impl Chrome {
    pub fn new(lang: Lang, user: Option<&str>, back: &str, title: &str) -> Chrome {
        Chrome {
            lang: lang.code(),
            t: lang.portal(),
            other_lang: lang.other().code(),
            other_lang_name: lang.other().portal().language_name,
            back: back.to_owned(),
            user: user.map(str::to_owned),
            title: title.to_owned(),
        }
    }
}

/// Errors next to the fields of the registration and profile forms.
#[derive(Default)]
pub struct FieldErrors {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub password: Option<String>,
    pub notify_by: Option<String>,
}

impl FieldErrors {
    pub fn any(&self) -> bool {
        self.name.is_some()
            || self.email.is_some()
            || self.phone.is_some()
            || self.password.is_some()
            || self.notify_by.is_some()
    }
}

#[derive(Template)]
#[template(path = "portal/register.html")]
pub struct RegisterPage {
    pub chrome: Chrome,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub errors: FieldErrors,
    /// A `/web` token: the new account joins that Telegram user.
    pub link: Option<String>,
    pub intro: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "portal/sign_in.html")]
pub struct SignInPage {
    pub chrome: Chrome,
    pub email: String,
    pub error: Option<&'static str>,
    pub notice: Option<&'static str>,
}

pub struct OrderRow {
    pub href: String,
    pub number: String,
    pub status: String,
    pub status_class: &'static str,
    pub channel: &'static str,
    pub created: When,
    pub excerpt: String,
    /// The booked time, in the business's zone ("Mon 07.12.2026, 10:00").
    pub booked: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/orders.html")]
pub struct OrdersPage {
    pub chrome: Chrome,
    pub rows: Vec<OrderRow>,
    pub older_href: Option<String>,
    pub newest_href: Option<String>,
}

pub struct ServiceGroup {
    pub label: String,
    pub services: Vec<Opt>,
}

#[derive(Template)]
#[template(path = "portal/new_order.html")]
pub struct NewOrderPage {
    pub chrome: Chrome,
    pub groups: Vec<ServiceGroup>,
    /// The cart, priced from the price list now.
    pub cart: super::cart::Cart,
    /// The quantity in the "add" field.
    pub add_quantity: String,
    pub text: String,
    pub error: Option<String>,
    pub service_error: Option<String>,
    pub max_size: String,
    pub max_bytes: u64,
}

/// One line of an order's frozen cart.
pub struct ItemView {
    pub name: String,
    pub quantity: u32,
    pub unit_price: String,
    pub line_total: Option<String>,
}

pub struct FileView {
    pub href: Option<String>,
    pub name: String,
    pub size: String,
    pub state: Option<String>,
}

pub struct Entry {
    pub when: When,
    pub class: &'static str,
    pub title: String,
    pub text: String,
}

pub struct MessageView {
    pub mine: bool,
    pub who: &'static str,
    pub when: When,
    pub text: String,
}

pub struct QuoteView {
    pub price: String,
    pub note: Option<String>,
}

pub struct Banner {
    pub class: &'static str,
    pub text: String,
}

#[derive(Template)]
#[template(path = "portal/order.html")]
pub struct OrderPage {
    pub chrome: Chrome,
    pub number: String,
    pub status: String,
    pub status_class: &'static str,
    pub version: u32,
    pub service: String,
    /// The cart as frozen when the order was placed, and its total (or "on quote").
    pub items: Vec<ItemView>,
    pub items_total: Option<String>,
    pub body: String,
    pub created: When,
    pub timeline: Vec<Entry>,
    pub files: Vec<FileView>,
    pub results: Vec<FileView>,
    pub stored: usize,
    pub messages: Vec<MessageView>,
    pub quotes: usize,
    /// The price waiting for an answer, while the order is quoted.
    pub quote: Option<QuoteView>,
    pub can_cancel: bool,
    pub can_add_files: bool,
    pub booked: Option<BookedView>,
    pub banner: Option<Banner>,
    pub live_url: String,
    pub max_size: String,
    pub max_bytes: u64,
}

/// The order's booked time on its page.
pub struct BookedView {
    pub booking_id: String,
    pub service_code: String,
    pub service: String,
    /// In the business's zone and the reader's language.
    pub when: String,
    /// The customer booked it on the web and it is ahead: Reschedule and Cancel are theirs.
    pub can_change: bool,
    /// Booked from the customer's Telegram: changed there.
    pub in_telegram: bool,
}

pub struct TelegramLink {
    /// `https://t.me/<bot>?start=<token>`, when the bot's username is set.
    pub url: Option<String>,
    pub command: String,
}

#[derive(Template)]
#[template(path = "portal/profile.html")]
pub struct ProfilePage {
    pub chrome: Chrome,
    pub name: String,
    pub phone: String,
    pub languages: Vec<Opt>,
    pub notify: Vec<Opt>,
    /// Where the next notice goes now, by the notifier's rule.
    pub notices_now: &'static str,
    pub errors: FieldErrors,
    pub notice: Option<&'static str>,
    pub email: String,
    pub email_verified: bool,
    /// Mail servers refuse the address: order notices are not e-mailed to it.
    pub email_bouncing: bool,
    pub telegram: Option<String>,
    pub link: Option<TelegramLink>,
}

#[derive(Template)]
#[template(path = "portal/link.html")]
pub struct LinkPage {
    pub chrome: Chrome,
    pub token: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "portal/failure.html")]
pub struct FailurePage {
    pub chrome: Chrome,
    pub heading: String,
    pub text: String,
}

/// A page as the answer, or a plain failure if it cannot be rendered.
pub fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => (status, Html(body)).into_response(),
        Err(error) => {
            tracing::error!(%error, "a portal page did not render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be shown.",
            )
                .into_response()
        }
    }
}

pub fn render_failure(lang: Lang, status: StatusCode, title: &str, text: &str) -> Response {
    let page = FailurePage {
        chrome: Chrome::new(lang, None, "/portal", title),
        heading: title.to_owned(),
        text: text.to_owned(),
    };
    html(status, &page)
}

/// Minor units as a price: `125000`, `UAH` -> `1250.00 UAH`.
pub fn money(amount_minor: u64, currency: &str) -> String {
    format!(
        "{}.{:02} {currency}",
        amount_minor / 100,
        amount_minor % 100
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_text_is_escaped() {
        let page = FailurePage {
            chrome: Chrome::new(Lang::Uk, Some("<b>"), "/portal", "x"),
            heading: "<script>alert(1)</script>".into(),
            text: "<i>".into(),
        };
        let html = page.render().unwrap();
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("<i>"));
        assert!(html.contains("lang=\"uk\""));
    }

    #[test]
    fn prices_read_in_major_units() {
        assert_eq!(money(125000, "UAH"), "1250.00 UAH");
        assert_eq!(money(5, "EUR"), "0.05 EUR");
    }
}
