//! `GET /office/customers`, the customers list (search by name, phone, e-mail or Telegram
//! username; keyset paging, newest first, like the order list), and
//! `GET /office/customers/{customer_id}`, one customer's card: their details, channels,
//! their orders and their latest conversation with staff.
//!
//! Executors see only customers with an order they may see, and on a customer's card only
//! those orders and their messages (`Act::SeeCustomer`, `gate::customer`).

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde::Deserialize;

use super::list::{encode, row};
use super::permissions::Act;
use super::views::{
    self, Chrome, ConversationView, CustomerPage, CustomerRow, CustomersPage, When,
};
use super::{Desk, Failure, PageError};
use crate::http::{AppState, Error};
use crate::queries::office::{self as reads, Cursor, CustomerLine, OrderFilter, Sort};

/// Rows per page of the customers list.
const PAGE_ROWS: u32 = 50;
/// Orders shown on a customer's card; the rest are one click away in the order list.
const CARD_ORDERS: u32 = 50;
/// Messages of the conversation shown on a customer's card.
const CARD_MESSAGES: u32 = 30;
/// Words of a search that count; more are ignored.
const MAX_WORDS: usize = 6;

#[derive(Debug, Default, Deserialize)]
pub struct CustomersQuery {
    q: Option<String>,
    after: Option<String>,
}

pub fn customer_url(customer_id: impl std::fmt::Display) -> String {
    format!("/office/customers/{customer_id}")
}

/// The channels a customer can be reached on, as staff read them.
fn channels(desk: &Desk, telegram: bool, web: bool) -> String {
    let t = desk.lang.texts();
    match (telegram, web) {
        (true, true) => format!("{}, {}", t.telegram, t.web),
        (true, false) => t.telegram.to_owned(),
        (false, true) => t.web.to_owned(),
        (false, false) => t.none.to_owned(),
    }
}

fn customer_row(desk: &Desk, line: &CustomerLine) -> CustomerRow {
    CustomerRow {
        href: customer_url(line.id),
        name: line.display_name.clone(),
        phone: line.phone.clone(),
        username: line.telegram_username.clone(),
        email: line.email.clone(),
        channels: channels(desk, line.telegram_user_id.is_some(), line.email.is_some()),
        unreachable: line.unreachable_since.is_some(),
        orders: line.orders,
        last_order: line.last_order_at.map(When::of),
    }
}

pub async fn list(
    State(state): State<AppState>,
    desk: Desk,
    uri: Uri,
    Query(query): Query<CustomersQuery>,
) -> Result<Response, PageError> {
    let t = desk.lang.texts();
    let q = query.q.as_deref().map(str::trim).unwrap_or("").to_owned();
    let words: Vec<String> = q
        .split_whitespace()
        .take(MAX_WORDS)
        .map(|w| w.chars().take(64).collect())
        .collect();
    let after = query
        .after
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .and_then(Cursor::decode);
    let mut lines = reads::customers(&state.pool, desk.scope(&state), &words, after, PAGE_ROWS)
        .await
        .map_err(|e| desk.fail(Error::from(e)))?;
    let more = lines.len() > PAGE_ROWS as usize;
    lines.truncate(PAGE_ROWS as usize);
    let href = |after: Option<String>| {
        let mut pairs = Vec::new();
        if !q.is_empty() {
            pairs.push(format!("q={}", encode(&q)));
        }
        if let Some(after) = after {
            pairs.push(format!("after={}", encode(&after)));
        }
        if pairs.is_empty() {
            "/office/customers".to_owned()
        } else {
            format!("/office/customers?{}", pairs.join("&"))
        }
    };
    let older_href = more.then(|| lines.last()).flatten().map(|last| {
        href(Some(
            Cursor {
                created_at: last.created_at,
                id: last.id,
            }
            .encode(),
        ))
    });
    let newest_href = after.map(|_| href(None));
    let back = uri
        .path_and_query()
        .map_or("/office/customers".to_owned(), |p| p.to_string());
    let page = CustomersPage {
        chrome: Chrome::new(desk.lang, Some(&desk.account), &back, t.customers),
        rows: lines.iter().map(|line| customer_row(&desk, line)).collect(),
        q: q.clone(),
        older_href,
        newest_href,
    };
    Ok(views::html(StatusCode::OK, &page))
}

pub async fn page(
    State(state): State<AppState>,
    desk: Desk,
    Path(customer_id): Path<String>,
) -> Result<Response, PageError> {
    let (customer_id, _) = desk
        .may_customer(&state, &customer_id, Act::SeeCustomer)
        .await?;
    let fail = |e: sqlx::Error| desk.fail(Error::from(e));
    let pool = &state.pool;
    let lang = desk.lang;
    let t = lang.texts();
    let scope = desk.scope(&state);
    let customer = reads::customer(pool, customer_id)
        .await
        .map_err(fail)?
        .ok_or_else(|| desk.fail(Failure::NotFound))?;
    let filter = OrderFilter {
        customer: Some(customer_id),
        ..OrderFilter::default()
    };
    let mut orders = reads::orders(pool, scope, &filter, Sort::Newest, None, CARD_ORDERS)
        .await
        .map_err(fail)?;
    let more = orders.len() > CARD_ORDERS as usize;
    orders.truncate(CARD_ORDERS as usize);
    let services = reads::services(pool).await.map_err(fail)?;
    let messages = reads::conversation(pool, scope, customer_id, CARD_MESSAGES)
        .await
        .map_err(fail)?;
    let page = CustomerPage {
        chrome: Chrome::new(
            lang,
            Some(&desk.account),
            &customer_url(customer_id),
            &customer.display_name,
        ),
        customer_id: customer_id.to_string(),
        name: customer.display_name.clone(),
        phone: customer.phone.clone(),
        username: customer.telegram_username.clone(),
        email: customer.email.clone(),
        language: customer.language.clone(),
        channels: channels(
            &desk,
            customer.telegram_user_id.is_some(),
            customer.email.is_some(),
        ),
        unreachable: customer.unreachable_since.map(When::of),
        bouncing: customer.email_bouncing_at.map(When::of),
        bounce_reason: customer.email_bounce_reason.clone().unwrap_or_default(),
        created: When::of(customer.created_at),
        rows: orders
            .iter()
            .map(|line| row(lang, &services, line))
            .collect(),
        all_orders_href: more.then(|| format!("/office?customer={customer_id}")),
        conversation: messages
            .iter()
            .map(|m| {
                let from_customer = m.author_kind == "customer";
                ConversationView {
                    order_href: super::order_url(m.order_id),
                    number: m.order_number.clone(),
                    who: if from_customer {
                        customer.display_name.clone()
                    } else {
                        m.author_name
                            .clone()
                            .unwrap_or_else(|| t.by_system.to_owned())
                    },
                    from_customer,
                    text: m.body.clone(),
                    when: When::of(m.posted_at),
                }
            })
            .collect(),
    };
    Ok(views::html(StatusCode::OK, &page))
}
