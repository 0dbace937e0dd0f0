//! The pages' templates (`templates/office/*.html`, compiled in; every `{{ }}` is
//! HTML-escaped) and the small view models they read: strings already formatted, so the
//! templates hold no logic beyond loops and conditions.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use bureau_accounts::Account;
use chrono::{DateTime, Utc};

use super::i18n::{Lang, Texts};
use super::permissions::{self, Act, Policy, Whose};

/// What every page's frame needs: language, texts, who is signed in, where the language
/// switch returns to.
pub struct Chrome {
    pub lang: &'static str,
    pub t: &'static Texts,
    pub other_lang: &'static str,
    pub other_lang_name: &'static str,
    /// This page's path and query, for the language switch to return to.
    pub back: String,
    pub user: Option<Badge>,
    /// Whether the page follows the staff feed.
    pub live: bool,
    pub title: String,
    /// Whether the navigation offers the reports (the matrix's `SeeReports`).
    pub reports_link: bool,
}

pub struct Badge {
    pub name: String,
    /// The role's code (what the navigation checks).
    pub role: &'static str,
    /// The role as the page's language names it.
    pub role_label: &'static str,
}

impl Chrome {
    pub fn new(lang: Lang, account: Option<&Account>, back: &str, title: &str) -> Chrome {
        Chrome {
            lang: lang.code(),
            t: lang.texts(),
            other_lang: lang.other().code(),
            other_lang_name: lang.other().texts().language_name,
            back: back.to_owned(),
            user: account.map(|a| Badge {
                name: a.display_name.clone(),
                role: a.role.as_str(),
                role_label: super::admin::i18n::texts(lang).role(a.role.as_str()),
            }),
            live: account.is_some(),
            title: title.to_owned(),
            reports_link: account.is_some_and(|a| {
                permissions::allows(a.role, Act::SeeReports, Whose::Others, Policy::default())
            }),
        }
    }
}

/// A choice in a `<select>`.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Opt {
    pub fn new(value: impl Into<String>, label: impl Into<String>, selected: bool) -> Opt {
        Opt {
            value: value.into(),
            label: label.into(),
            selected,
        }
    }
}

/// A moment, as `<time datetime>` (the script shows it in the reader's time zone) with a
/// UTC fallback text.
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
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[derive(Template)]
#[template(path = "office/sign_in.html")]
pub struct SignInPage {
    pub chrome: Chrome,
    pub error: Option<&'static str>,
    pub email: String,
}

pub struct CountTab {
    pub label: String,
    /// "12", or "1000+" at the cap.
    pub count: String,
    pub href: String,
    pub active: bool,
    pub class: &'static str,
}

pub struct Row {
    pub href: String,
    pub order_id: String,
    pub number: String,
    pub customer: String,
    pub username: Option<String>,
    pub unreachable: bool,
    pub channel: &'static str,
    pub service: String,
    pub status: String,
    pub status_class: &'static str,
    pub assignee: String,
    pub created: When,
    pub excerpt: String,
    /// The booked time, if the order holds one ("Mon 07.12.2026, 10:00").
    pub booked: Option<String>,
}

#[derive(Template)]
#[template(path = "office/list.html")]
pub struct ListPage {
    pub chrome: Chrome,
    pub tabs: Vec<CountTab>,
    pub rows: Vec<Row>,
    pub q: String,
    pub from: String,
    pub to: String,
    pub statuses: Vec<Opt>,
    pub channels: Vec<Opt>,
    pub services: Vec<Opt>,
    pub assignees: Vec<Opt>,
    pub periods: Vec<Opt>,
    pub sorts: Vec<Opt>,
    /// Listing one customer's orders: their id and name.
    pub customer: Option<(String, String)>,
    /// The pager's words: "older" when newest first, "next" otherwise.
    pub by_newest: bool,
    pub older_href: Option<String>,
    pub newest_href: Option<String>,
}

pub struct Move {
    pub to: &'static str,
    pub label: String,
    pub needs_reason: bool,
}

pub struct Card {
    pub href: String,
    pub order_id: String,
    pub number: String,
    pub customer: String,
    pub excerpt: String,
    pub assignee: String,
    pub created: When,
    /// The booked time, if the order holds one.
    pub booked: Option<String>,
    pub version: u32,
    pub moves: Vec<Move>,
    /// For dragging: the statuses it may move to, and those of them that need a reason
    /// (space-separated).
    pub move_list: String,
    pub reason_list: String,
}

pub struct Column {
    /// The status's name in the API (`in_progress`): where a card dropped here goes.
    pub status: &'static str,
    pub label: String,
    pub class: &'static str,
    pub cards: Vec<Card>,
}

#[derive(Template)]
#[template(path = "office/board.html")]
pub struct BoardPage {
    pub chrome: Chrome,
    pub columns: Vec<Column>,
    /// Why a move was refused, by refusal code, in the page's language (JSON).
    pub refusals: String,
}

pub struct FileView {
    pub href: Option<String>,
    pub name: String,
    pub note: Option<String>,
    pub kind: String,
    pub size: String,
    pub state: Option<String>,
}

pub struct Entry {
    pub when: When,
    pub class: &'static str,
    pub title: String,
    pub who: String,
    pub text: String,
}

pub struct OtherView {
    pub href: String,
    pub number: String,
    pub status: String,
    pub created: When,
}

/// What became of the status change the page was asked to follow.
pub struct Banner {
    pub class: &'static str,
    pub text: String,
    /// While pending: where the script asks for the outcome.
    pub poll: Option<String>,
}

pub struct Can {
    pub status: bool,
    pub quote: bool,
    pub assign: bool,
    pub take: bool,
    pub reply: bool,
    pub comment: bool,
    pub upload: bool,
}

#[derive(Template)]
#[template(path = "office/order.html")]
pub struct OrderPage {
    pub chrome: Chrome,
    /// What the order costs and whether it is paid ("750.00 UAH · paid"); `None`: no price.
    pub money: Option<String>,
    /// The order's booked time: "Mon 07.12.2026, 10:00 · Interpreting · Interpreter", and
    /// its day in the calendar.
    pub booked: Option<(String, String)>,
    pub order_id: String,
    pub number: String,
    pub status: String,
    pub status_class: &'static str,
    pub version: u32,
    pub channel: &'static str,
    pub service: String,
    pub body: String,
    pub created: When,
    pub assignee: String,
    pub customer: String,
    /// The customer's card.
    pub customer_href: String,
    pub phone: Option<String>,
    pub username: Option<String>,
    pub unreachable: Option<When>,
    pub others: Vec<OtherView>,
    pub files: Vec<FileView>,
    pub results: Vec<FileView>,
    pub timeline: Vec<Entry>,
    pub moves: Vec<Move>,
    pub staff: Vec<Opt>,
    pub banner: Option<Banner>,
    pub can: Can,
    /// The payments panel, for those who handle money.
    pub payments: Option<MoneyPanel>,
}

/// A payment or a refund in the payments panel.
pub struct LineView {
    pub id: String,
    pub when: When,
    /// `payment` or `refund`.
    pub class: &'static str,
    /// The method, or "Refund".
    pub what: String,
    /// "900.00 UAH"; a refund "−100.00 UAH".
    pub amount: String,
    pub who: String,
    /// The payment's reference or note, the refund's reason.
    pub note: String,
}

/// The form that records a payment, filled in.
pub struct PaymentFormView {
    pub amount: String,
    pub methods: Vec<Opt>,
    pub note: String,
    /// Claimed when the form is sent, so sending it twice records it once.
    pub submission: String,
}

/// The form that records a refund, filled in.
pub struct RefundFormView {
    pub amount: String,
    pub reason: String,
    pub submission: String,
    /// What was paid and not refunded yet: the most a refund may be.
    pub at_most: String,
}

/// The order page's money: the price, paid, refunded, what is left, every line, the forms.
pub struct MoneyPanel {
    /// "Order total", "Agreed price", "Quoted price (...)".
    pub price_label: &'static str,
    pub price: String,
    pub paid: String,
    pub refunded: String,
    /// "Left to pay", "Paid in full", "Overpaid by".
    pub balance_label: &'static str,
    pub balance: String,
    /// `due`, `settled` or `over`.
    pub balance_class: &'static str,
    pub lines: Vec<LineView>,
    /// What became of the payment or refund just sent.
    pub banner: Option<Banner>,
    /// The order's currency (the forms' fixed one); empty without a price.
    pub currency: String,
    pub payment: Option<PaymentFormView>,
    /// Why no payment can be recorded now, instead of the form.
    pub payment_blocked: Option<&'static str>,
    pub payment_error: Option<String>,
    pub refund: Option<RefundFormView>,
    pub refund_error: Option<String>,
}

/// A customer in the customers list.
pub struct CustomerRow {
    pub href: String,
    pub name: String,
    pub phone: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
    pub channels: String,
    pub unreachable: bool,
    pub orders: i64,
    pub last_order: Option<When>,
}

#[derive(Template)]
#[template(path = "office/customers.html")]
pub struct CustomersPage {
    pub chrome: Chrome,
    pub rows: Vec<CustomerRow>,
    pub q: String,
    pub older_href: Option<String>,
    pub newest_href: Option<String>,
}

/// A message on a customer's card, with the order it is about.
pub struct ConversationView {
    pub order_href: String,
    pub number: String,
    pub who: String,
    pub from_customer: bool,
    pub text: String,
    pub when: When,
}

#[derive(Template)]
#[template(path = "office/customer.html")]
pub struct CustomerPage {
    pub chrome: Chrome,
    pub customer_id: String,
    pub name: String,
    pub phone: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
    pub language: String,
    pub channels: String,
    pub unreachable: Option<When>,
    /// Mail servers refuse the customer's address: since when, and their answer.
    pub bouncing: Option<When>,
    pub bounce_reason: String,
    pub created: When,
    pub rows: Vec<Row>,
    /// When there are more orders than the card shows: the order list of this customer.
    pub all_orders_href: Option<String>,
    pub conversation: Vec<ConversationView>,
}

#[derive(Template)]
#[template(path = "office/failure.html")]
pub struct FailurePage {
    pub chrome: Chrome,
    pub heading: String,
    pub text: String,
}

/// A page as the answer, or the failure page if it cannot be rendered.
pub fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => (status, Html(body)).into_response(),
        Err(error) => {
            tracing::error!(%error, "a page did not render");
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
        chrome: Chrome::new(lang, None, "/office", title),
        heading: title.to_owned(),
        text: text.to_owned(),
    };
    html(status, &page)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(size(512), "512 B");
        assert_eq!(size(1536), "1.5 KB");
        assert_eq!(size(5 * 1024 * 1024), "5.0 MB");
    }

    #[test]
    fn user_text_is_escaped() {
        let page = FailurePage {
            chrome: Chrome::new(Lang::En, None, "/office", "<b>x</b>"),
            heading: "<script>alert(1)</script>".into(),
            text: "\"quoted\" & <i>".into(),
        };
        let html = page.render().unwrap();
        assert!(
            html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "{html}"
        );
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("<i>"));
    }
}
