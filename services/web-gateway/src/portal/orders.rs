//! The customer's orders on the portal: the list, a new order, one order's page and what
//! the customer does there.
//!
//! A new order is placed in two steps, so that a file whose upload breaks is sent again
//! alone, never the whole order: `POST /portal/orders` publishes `OrderCreated` (service,
//! description, how many files will follow) and answers with the order's number; then
//! `POST /portal/orders/{number}/files` streams each file into staging and publishes its
//! `FileReceived`, one request per file (the page's script shows a progress bar per file
//! and overall, and a Retry button on a file that failed). The same route adds files later,
//! while the order is open. Without the script the form places the order and opens its
//! page, where files are added.
//!
//! Answers to a quote and cancellations are status change requests, as in the API and the
//! bot (`status_requests`): the page shows them as sent, and the live stream shows what was
//! recorded. Messages go to staff as `OrderMessagePosted { author: Customer }`.

use std::time::Duration;

use axum::Form;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use bureau_scheduling::booked;
use chrono::Utc;
use proto_events::{
    Actor, Envelope, Event, FilePurpose, OrderMessagePosted, OrderStatus, QuoteAnswer, order_number,
};
use serde::Deserialize;
use uuid::Uuid;

use super::cart::{self, Cart, CartForm};
use super::i18n::Lang;
use super::views::{
    self, Banner, BookedView, Chrome, Entry, FileView, ItemView, MessageView, NewOrderPage,
    OrderPage, OrderRow, OrdersPage, QuoteView, ServiceGroup, When, money, size, status_class,
};
use super::{Failure, Member, PageError};
use crate::domain::{Cursor, OrderText, Page, ServiceCode};
use crate::http::{AppState, Error};
use crate::intake::{self, NewWebOrder, Staging};
use crate::queries::portal::{self as reads, OwnOrder};
use crate::queries::{self};
use crate::quotas;
use crate::status_requests::{self, Asked};

/// The longest message to staff, in characters (as in the bot).
const MAX_MESSAGE_CHARS: usize = 4_000;
/// How long a file upload waits for its order to be recorded (it was placed a moment ago).
const ORDER_RECORDED_WAIT: Duration = Duration::from_secs(8);
/// How long writing to staff waits for the message to be recorded before the page returns.
const MESSAGE_RECORDED_WAIT: Duration = Duration::from_secs(5);

fn status_name(state: &AppState, lang: Lang, status: &str) -> String {
    let _ = state;
    match OrderStatus::parse(status) {
        Some(status) => catalog().status(lang.code(), status),
        None => status.replace('_', " "),
    }
}

/// The shared customer-facing texts (status names as the bot and pushes say them).
fn catalog() -> &'static bureau_platform::texts::Catalog {
    static CATALOG: std::sync::OnceLock<bureau_platform::texts::Catalog> =
        std::sync::OnceLock::new();
    CATALOG.get_or_init(|| bureau_platform::texts::Catalog::new(&[]))
}

#[derive(Deserialize)]
pub struct ListQuery {
    after: Option<String>,
}

/// `GET /portal/orders`: the customer's orders from both channels, newest first, a page at
/// a time by keyset.
pub async fn list(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let lang = member.lang;
    let t = lang.portal();
    let page = Page::parse(None, query.after.as_deref())
        .map_err(|e| member.fail(Error::unprocessable("invalid_page", e)))?;
    let mut rows = queries::customer_orders(&state.pool, member.account.id, page, 120)
        .await
        .map_err(|e| member.fail(e))?;
    let more = rows.len() > Page::SIZE as usize;
    rows.truncate(Page::SIZE as usize);
    let older_href = match rows.last() {
        Some(last) if more => Some(format!(
            "/portal/orders?after={}",
            page.next(Cursor {
                created_at: last.created_at,
                id: last.id,
            })
        )),
        _ => None,
    };
    let channels = channels_of(&state, rows.iter().map(|r| r.id).collect()).await;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let booked = booked::of_orders(&state.pool, &ids)
        .await
        .map_err(|e| member.fail(e))?;
    let zone = business_zone(&state).await;
    let rows = rows
        .into_iter()
        .map(|row| OrderRow {
            href: format!("/portal/orders/{}", row.order_number),
            status: status_name(&state, lang, &row.status),
            status_class: status_class(&row.status),
            channel: if channels.contains(&row.id) {
                "Telegram"
            } else {
                "Web"
            },
            number: row.order_number,
            created: When::of(row.created_at),
            excerpt: bureau_kit::text::clip(&row.body_start, 120),
            booked: booked
                .get(&row.id)
                .map(|time| time.when(&zone, lang.code())),
        })
        .collect();
    Ok(views::html(
        StatusCode::OK,
        &OrdersPage {
            chrome: Chrome::new(
                lang,
                Some(&member.account.display_name),
                &member.path,
                t.my_orders,
            ),
            rows,
            older_href,
            newest_href: page.after().map(|_| "/portal/orders".to_owned()),
        },
    ))
}

/// The zone booked times are told in: the business's (an admin's choice, else the
/// settings').
async fn business_zone(state: &AppState) -> bureau_platform::business::TimeZone {
    match bureau_platform::business::details(&state.pool, &state.settings.business).await {
        Ok(details) => details.zone(),
        Err(error) => {
            tracing::warn!(%error, "business details not readable; times in the settings' zone");
            bureau_platform::business::StoredDetails::default()
                .over(&state.settings.business)
                .zone()
        }
    }
}

/// Which of these orders came through Telegram.
async fn channels_of(state: &AppState, ids: Vec<Uuid>) -> Vec<Uuid> {
    if ids.is_empty() {
        return Vec::new();
    }
    let mut sql = sqlx::QueryBuilder::<sqlx::MySql>::new(
        "SELECT id FROM orders WHERE channel = 'telegram' AND id IN (",
    );
    let mut list = sql.separated(", ");
    for id in ids {
        list.push_bind(id);
    }
    sql.push(")");
    sql.build_query_scalar::<Uuid>()
        .fetch_all(&state.pool)
        .await
        .unwrap_or_default()
}

/// The new-order page: the catalogue to add from, the cart priced now, the description
/// and the files.
#[allow(clippy::too_many_arguments)]
async fn new_order_page(
    state: &AppState,
    member: &Member,
    status: StatusCode,
    form: &CartForm,
    cart: &Cart,
    error: Option<String>,
    service_error: Option<String>,
) -> Result<Response, PageError> {
    let lang = member.lang;
    let t = lang.portal();
    let services = reads::services(&state.pool)
        .await
        .map_err(|e| member.fail(e))?;
    // The select keeps a choice only when adding it was refused (to fix the quantity).
    let chosen = if cart.add_error.is_some() || service_error.is_some() {
        form.service.trim()
    } else {
        ""
    };
    let mut groups: Vec<ServiceGroup> = Vec::new();
    for service in services {
        let shown = cart::shown(&service);
        let (name, category) = match lang {
            Lang::Uk => (service.name_uk, service.category_uk),
            Lang::En => (service.name_en, service.category_en),
        };
        let unit = match service.unit.as_str() {
            "page" => t.per_page,
            "word" => t.per_word,
            "hour" => t.per_hour,
            _ => t.per_item,
        };
        let price = match service.price_minor {
            Some(minor) => format!("{} {unit}", money(minor, &service.currency)),
            None => t.on_quote.to_owned(),
        };
        let label = format!("{name} — {price}");
        let mut option = views::Opt::new(service.code.clone(), label, service.code == chosen);
        option.shown = shown;
        let category = category.unwrap_or_default();
        match groups.last_mut() {
            Some(group) if group.label == category => group.services.push(option),
            _ => groups.push(ServiceGroup {
                label: category,
                services: vec![option],
            }),
        }
    }
    let max_bytes = state.settings.web_gateway.max_upload_bytes;
    Ok(views::html(
        status,
        &NewOrderPage {
            chrome: Chrome::new(
                lang,
                Some(&member.account.display_name),
                &member.path,
                t.new_order,
            ),
            groups,
            cart: cart.clone(),
            add_quantity: if cart.add_error.is_some() {
                form.add_quantity.clone()
            } else {
                "1".to_owned()
            },
            text: form.text.clone(),
            error,
            // Next to the service select: a refused service, or why adding failed.
            service_error: service_error.or_else(|| cart.add_error.map(str::to_owned)),
            max_size: size(max_bytes),
            max_bytes,
        },
    ))
}

pub async fn new_form(
    State(state): State<AppState>,
    member: Member,
) -> Result<Response, PageError> {
    new_order_page(
        &state,
        &member,
        StatusCode::OK,
        &CartForm::default(),
        &Cart::default(),
        None,
        None,
    )
    .await
}

/// `POST /portal/orders/cart`: add a service, change quantities or remove one; the page
/// again with the cart priced from the price list now (the script swaps in its `#cart`).
pub async fn cart_action(
    State(state): State<AppState>,
    member: Member,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let form = CartForm::from_fields(fields);
    let offered = reads::services(&state.pool)
        .await
        .map_err(|e| member.fail(e))?;
    let cart = cart::build(&form, &offered, member.lang, false);
    let status = if cart.add_error.is_some() || cart.lines.iter().any(|l| l.error.is_some()) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    new_order_page(&state, &member, status, &form, &cart, None, None).await
}

/// `POST /portal/orders`: the order, without its files: the cart priced once more (a price
/// that changed since the page showed it stops the order: 409 with the cart repriced),
/// its items and frozen total in `OrderCreated`. The script gets `{order_number,
/// order_url, files_url}` (201); a plain form post opens the order's page.
pub async fn create(
    State(state): State<AppState>,
    member: Member,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let t = member.lang.portal();
    let form = CartForm::from_fields(fields);
    let offered = reads::services(&state.pool)
        .await
        .map_err(|e| member.fail(e))?;
    let cart = cart::build(&form, &offered, member.lang, true);
    let text = OrderText::parse(&form.text);
    if cart.add_error == Some(t.service_unknown) {
        return refuse(
            &state,
            &member,
            &form,
            &cart,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(t.service_unknown.to_owned()),
        )
        .await;
    }
    let Some(items) = cart.items.clone() else {
        let status = if cart.repriced {
            StatusCode::CONFLICT
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        return refuse(&state, &member, &form, &cart, status, None, None).await;
    };
    let Ok(text) = text else {
        return refuse(
            &state,
            &member,
            &form,
            &cart,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(t.text_too_long.to_owned()),
            None,
        )
        .await;
    };
    let files = form.files.min(crate::http::MAX_FILES_PER_FORM);
    if text.is_empty() && items.is_empty() && files == 0 {
        return refuse(
            &state,
            &member,
            &form,
            &cart,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(t.order_empty.to_owned()),
            None,
        )
        .await;
    }
    // The order's service is its first line's (as the bot's); `None` for "something else".
    let service_code = items
        .first()
        .and_then(|item| ServiceCode::parse(&item.service_code).ok().flatten());
    let total = cart.total_money();
    let customer_id = quotas::customer_of_account(&state.pool, member.account.id)
        .await
        .map_err(|e| member.fail(e))?
        .ok_or_else(|| member.fail(Error::Internal(anyhow::anyhow!("account without customer"))))?;
    quotas::check_open_orders(&state.pool, &state.settings.web_gateway.quotas, customer_id)
        .await
        .map_err(|e| member.fail(Error::from(e)))?;
    let order_number = state
        .order_numbers
        .next()
        .await
        .map_err(|e| member.fail(Error::from(e)))?;
    let order = NewWebOrder {
        order_id: Uuid::now_v7(),
        order_number,
        account_id: member.account.id,
        text,
        service_code,
        files: Vec::new(),
        created_at: Utc::now(),
    };
    let mut events = order.events();
    if let Some(Event::OrderCreated(created)) = events.first_mut().map(|e| &mut e.payload) {
        // The files the page is about to upload, one by one (staff see how many to expect).
        created.file_count = files;
        // The cart, frozen: the prices the customer saw, which are the price list's now.
        created.items = items;
        created.total = total;
    }
    // The time the picker held joins the order before the order is sent: a hold that
    // expired meanwhile stops it here, and once joined it can no longer expire.
    let attached =
        crate::http::attach_booking(&state, &member.account, &form.booking, order.order_id)
            .await
            .map_err(|e| member.fail(e))?;
    if attached == crate::http::Attached::Gone {
        return refuse(
            &state,
            &member,
            &form,
            &cart,
            StatusCode::CONFLICT,
            None,
            Some(t.booking_expired.to_owned()),
        )
        .await;
    }
    if let Err(error) =
        intake::publish_staged(state.bus.clone(), events, Staging::new(state.store.clone())).await
    {
        if let crate::http::Attached::Joined(booking_id) = attached {
            crate::http::hold_again(&state, &member.account, booking_id).await;
        }
        return Err(member.fail(Error::from(error)));
    }
    tracing::info!(order_id = %order.order_id, order_number = %order.order_number, files, lines = cart.lines.len(), "order placed on the portal");
    let order_url = format!("/portal/orders/{}", order.order_number);
    if member.wants_json {
        let body = serde_json::json!({
            "order_id": order.order_id,
            "order_number": order.order_number,
            "order_url": order_url,
            "files_url": format!("{order_url}/files"),
        });
        return Ok((StatusCode::CREATED, axum::Json(body)).into_response());
    }
    Ok(Redirect::to(&order_url).into_response())
}

/// A new order the form cannot place: the errors next to their fields, the cart as priced
/// now (JSON for the page's script: the errors by field, and the cart's HTML to swap in).
#[allow(clippy::too_many_arguments)]
async fn refuse(
    state: &AppState,
    member: &Member,
    form: &CartForm,
    cart: &Cart,
    status: StatusCode,
    error: Option<String>,
    service_error: Option<String>,
) -> Result<Response, PageError> {
    if member.wants_json {
        let body = serde_json::json!({
            "errors": {
                "text": error,
                "service": service_error.as_deref().or(cart.add_error),
                "cart": cart.error,
            },
            "repriced": cart.repriced,
        });
        return Ok((status, axum::Json(body)).into_response());
    }
    new_order_page(state, member, status, form, cart, error, service_error).await
}

/// The customer's own order with this number, or "not found" (someone else's looks the
/// same).
async fn own(state: &AppState, member: &Member, number: &str) -> Result<OwnOrder, PageError> {
    let number = order_number::parse(number).ok_or_else(|| member.fail(Failure::NotFound))?;
    reads::own_order(&state.pool, member.account.id, &number)
        .await
        .map_err(|e| member.fail(e))?
        .ok_or_else(|| member.fail(Failure::NotFound))
}

#[derive(Deserialize)]
pub struct PageQuery {
    request: Option<String>,
    sent: Option<String>,
    /// Opened right after placing the order: it may not be recorded for a moment yet.
    placed: Option<String>,
}

/// `GET /portal/orders/{number}`: the order's status, history, files, results,
/// conversation and price, and what the customer may do now. The part the live stream
/// refreshes is `#live`.
pub async fn page(
    State(state): State<AppState>,
    member: Member,
    Path(number): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, PageError> {
    // Just placed: wait (bounded) for the persistence worker to record it, as uploads do.
    let deadline = tokio::time::Instant::now() + ORDER_RECORDED_WAIT;
    let order = loop {
        match own(&state, &member, &number).await {
            Ok(order) => break order,
            Err(error) if query.placed.is_none() || tokio::time::Instant::now() >= deadline => {
                return Err(error);
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    let lang = member.lang;
    let t = lang.portal();
    let pool = &state.pool;
    let fail = |e: sqlx::Error| member.fail(e);
    let history = queries::order_history(pool, order.id).await.map_err(fail)?;
    let files = reads::files(pool, order.id).await.map_err(fail)?;
    let messages = reads::messages(pool, order.id).await.map_err(fail)?;
    let quotes = reads::quotes(pool, order.id).await.map_err(fail)?;
    let (lines, frozen_total) = reads::order_lines(pool, order.id).await.map_err(fail)?;
    let status = OrderStatus::parse(&order.status);
    let items: Vec<ItemView> = lines
        .into_iter()
        .map(|line| {
            let unit = match line.unit.as_str() {
                "page" => t.per_page,
                "word" => t.per_word,
                "hour" => t.per_hour,
                _ => t.per_item,
            };
            ItemView {
                name: match lang {
                    Lang::Uk => line.name_uk,
                    Lang::En => line.name_en,
                }
                .unwrap_or_else(|| line.service_code.clone()),
                quantity: line.quantity,
                unit_price: line.unit_price_minor.map_or_else(
                    || t.on_quote.to_owned(),
                    |minor| format!("{} {unit}", money(minor, &line.currency)),
                ),
                line_total: line
                    .line_total_minor
                    .map(|minor| money(minor, &line.currency)),
            }
        })
        .collect();
    let items_total = match frozen_total {
        Some((minor, currency)) => Some(money(minor, &currency)),
        None if !items.is_empty() => Some(t.on_quote.to_owned()),
        None => None,
    };

    let mut timeline = Vec::new();
    for step in &history {
        let (title, class) = match &step.from_status {
            None => (t.ev_created.to_owned(), "ev-created"),
            Some(_) => (
                format!(
                    "{}: {}",
                    t.ev_status,
                    status_name(&state, lang, &step.to_status)
                ),
                "ev-status",
            ),
        };
        timeline.push(Entry {
            when: When::of(step.changed_at),
            class,
            title,
            text: step.reason.clone().unwrap_or_default(),
        });
    }
    for quote in &quotes {
        timeline.push(Entry {
            when: When::of(quote.quoted_at),
            class: "ev-quote",
            title: format!(
                "{}: {}",
                t.ev_quote,
                money(quote.amount_minor, &quote.currency)
            ),
            text: quote.note.clone().unwrap_or_default(),
        });
    }
    for file in &files {
        let result = file.purpose == "result";
        timeline.push(Entry {
            when: When::of(file.received_at),
            class: if result { "ev-result" } else { "ev-file" },
            title: if result { t.ev_result } else { t.ev_file }.to_owned(),
            text: file.original_name.clone(),
        });
    }
    timeline.sort_by_key(|entry| entry.when.micros);

    let file_view = |file: &reads::FileLine| FileView {
        href: (file.state == "stored")
            .then(|| format!("/portal/orders/{}/files/{}", order.order_number, file.id)),
        name: file.original_name.clone(),
        size: file.size.map(size).unwrap_or_default(),
        state: match file.state.as_str() {
            "stored" => None,
            "rejected" => Some(match &file.rejection_reason {
                Some(reason) => format!("{} — {reason}", t.file_rejected),
                None => t.file_rejected.to_owned(),
            }),
            _ => Some(t.file_checking.to_owned()),
        },
    };
    let (results, uploads): (Vec<_>, Vec<_>) = files.iter().partition(|f| f.purpose == "result");
    let quote = match (status, quotes.last()) {
        (Some(OrderStatus::Quoted), Some(latest)) => Some(QuoteView {
            price: money(latest.amount_minor, &latest.currency),
            note: latest.note.clone(),
        }),
        _ => None,
    };
    let banner = match query.request.as_deref().map(Uuid::parse_str) {
        Some(Ok(request_id)) => status_requests::view(pool, request_id, Some(member.account.id))
            .await
            .map_err(fail)?
            .filter(|r| r.order_id == order.id)
            .map(|request| match request.outcome.as_str() {
                "refused" => Banner {
                    class: "error",
                    text: format!(
                        "{} {}.",
                        t.request_refused,
                        status_name(
                            &state,
                            lang,
                            request.current_status.as_deref().unwrap_or(&order.status)
                        )
                    ),
                },
                _ => Banner {
                    class: "notice",
                    text: t.request_sent.to_owned(),
                },
            }),
        _ => query.sent.as_ref().map(|_| Banner {
            class: "notice",
            text: t.request_sent.to_owned(),
        }),
    };
    let max_bytes = state.settings.web_gateway.max_upload_bytes;
    let service = match &order.service_code {
        Some(code) => reads::services(pool)
            .await
            .map_err(fail)?
            .into_iter()
            .find(|s| &s.code == code)
            .map(|s| match lang {
                Lang::Uk => s.name_uk,
                Lang::En => s.name_en,
            })
            .unwrap_or_else(|| code.clone()),
        None => String::new(),
    };
    let booked = match booked::of_order(pool, order.id).await.map_err(fail)? {
        Some(time) => {
            let zone = business_zone(&state).await;
            let open = status.is_some_and(|s| !s.is_terminal());
            let ahead = time.ahead(bureau_scheduling::jiff::Timestamp::now());
            Some(BookedView {
                booking_id: time.booking_id.to_string(),
                service_code: time.service_code.clone(),
                service: time.service(lang.code()),
                when: time.when(&zone, lang.code()),
                can_change: open && ahead && time.booked_by == format!("web:{}", member.account.id),
                in_telegram: open && ahead && time.booked_by.starts_with("telegram:"),
            })
        }
        None => None,
    };
    let title = format!("{} №{}", t.order, order.order_number);
    Ok(views::html(
        StatusCode::OK,
        &OrderPage {
            chrome: Chrome::new(
                lang,
                Some(&member.account.display_name),
                &member.path,
                &title,
            ),
            status: status_name(&state, lang, &order.status),
            status_class: status_class(&order.status),
            version: order.status_version,
            service,
            items,
            items_total,
            body: order.body.clone(),
            created: When::of(order.created_at),
            timeline,
            stored: files.iter().filter(|f| f.state != "received").count(),
            files: uploads.into_iter().map(file_view).collect(),
            results: results.into_iter().map(file_view).collect(),
            messages: messages
                .into_iter()
                .map(|m| MessageView {
                    mine: m.author_kind == "customer",
                    who: if m.author_kind == "customer" {
                        t.ev_you
                    } else {
                        t.ev_staff
                    },
                    when: When::of(m.posted_at),
                    text: m.body,
                })
                .collect(),
            quotes: quotes.len(),
            quote,
            can_cancel: status.is_some_and(OrderStatus::customer_may_cancel),
            can_add_files: status.is_some_and(|s| !s.is_terminal()),
            booked,
            banner,
            live_url: format!("/api/orders/{}/live", order.order_number),
            max_size: size(max_bytes),
            max_bytes,
            number: order.order_number,
        },
    ))
}

/// `POST /portal/orders/{number}/files`: the `file` parts of the form stream into the
/// order (the script sends one file per request). An order placed a moment ago may not be
/// recorded yet: the upload waits for it a little.
pub async fn upload(
    State(state): State<AppState>,
    member: Member,
    Path(number): Path<String>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let t = member.lang.portal();
    let deadline = tokio::time::Instant::now() + ORDER_RECORDED_WAIT;
    let order = loop {
        match own(&state, &member, &number).await {
            Ok(order) => break order,
            Err(error) if tokio::time::Instant::now() >= deadline => return Err(error),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    if OrderStatus::parse(&order.status).is_none_or(OrderStatus::is_terminal) {
        return Err(member.fail(Failure::Conflict(t.closed_no_files)));
    }
    let max_bytes = state.settings.web_gateway.max_upload_bytes;
    // Over the limit, said in the customer's words; other refusals as the API says them.
    let fail = |error: Error| match error {
        Error::PayloadTooLarge { .. } => member.fail(Failure::TooLarge(size(max_bytes))),
        other => member.fail(other),
    };
    crate::http::refuse_oversized_upload(&headers, max_bytes).map_err(fail)?;
    let mut multipart = multipart.map_err(|e| member.fail(Error::from(e)))?;
    let accepted = crate::http::accept_files(
        &state,
        &mut multipart,
        order.id,
        FilePurpose::CustomerUpload,
    )
    .await
    .map_err(fail)?;
    if member.wants_json {
        return Ok((StatusCode::CREATED, axum::Json(accepted)).into_response());
    }
    Ok(Redirect::to(&format!("/portal/orders/{}?sent=1", order.order_number)).into_response())
}

/// `GET /portal/orders/{number}/files/{file_id}`: a stored file or result of the
/// customer's own order, through a short-lived link to the object store.
pub async fn download(
    State(state): State<AppState>,
    member: Member,
    Path((number, file_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let order = own(&state, &member, &number).await?;
    let file_id = Uuid::parse_str(&file_id).map_err(|_| member.fail(Failure::NotFound))?;
    let file =
        queries::customer_stored_file(&state.pool, member.account.id, &order.order_number, file_id)
            .await
            .map_err(|e| member.fail(e))?
            .ok_or_else(|| member.fail(Failure::NotFound))?;
    crate::http::redirect_to(&state, &file)
        .await
        .map_err(|e| member.fail(e))
}

#[derive(Deserialize)]
pub struct MessageForm {
    #[serde(default)]
    text: String,
}

/// `POST /portal/orders/{number}/message`: the customer writes to staff.
pub async fn message(
    State(state): State<AppState>,
    member: Member,
    Path(number): Path<String>,
    Form(form): Form<MessageForm>,
) -> Result<Response, PageError> {
    let t = member.lang.portal();
    let order = own(&state, &member, &number).await?;
    let text = bureau_kit::text::visible(form.text.trim());
    let text = text.trim();
    if text.is_empty() {
        return Err(member.fail(Error::unprocessable("text_empty", t.text_empty)));
    }
    if text.chars().count() > MAX_MESSAGE_CHARS {
        return Err(member.fail(Error::unprocessable("text_too_long", t.text_too_long)));
    }
    let message_id = Uuid::now_v7();
    let event = Envelope::new(
        intake::PRODUCER,
        order.id,
        OrderMessagePosted {
            order_id: order.id,
            message_id,
            author: Actor::Customer,
            text: text.to_owned(),
        },
    );
    match tokio::time::timeout(status_requests::PUBLISH_TIMEOUT, state.bus.publish(&event)).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return Err(member.fail(Error::from(error))),
        Err(_) => return Err(member.fail(Error::broker_unavailable())),
    }
    tracing::info!(order_id = %order.id, "customer wrote to staff from the portal");
    // The page it returns to shows the message once recorded: wait for that a little (the
    // message is with the broker either way; a slow record only shows a moment later).
    let deadline = tokio::time::Instant::now() + MESSAGE_RECORDED_WAIT;
    while tokio::time::Instant::now() < deadline {
        let recorded: Option<i32> = sqlx::query_scalar("SELECT 1 FROM order_messages WHERE id = ?")
            .bind(message_id)
            .fetch_optional(&state.pool)
            .await
            .map_err(|e| member.fail(e))?;
        if recorded.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(Redirect::to(&format!(
        "/portal/orders/{}?sent=1#conversation",
        order.order_number
    ))
    .into_response())
}

/// `POST /portal/orders/{number}/quote/{accept|decline}`: the answer to the latest price.
pub async fn answer_quote(
    State(state): State<AppState>,
    member: Member,
    Path((number, answer)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let t = member.lang.portal();
    let answer = match answer.as_str() {
        "accept" => QuoteAnswer::Accept,
        "decline" => QuoteAnswer::Decline,
        _ => return Err(member.fail(Failure::NotFound)),
    };
    let order = own(&state, &member, &number).await?;
    if OrderStatus::parse(&order.status) != Some(OrderStatus::Quoted) {
        return Err(member.fail(Failure::Conflict(t.not_quoted)));
    }
    let latest = reads::quotes(&state.pool, order.id)
        .await
        .map_err(|e| member.fail(e))?
        .last()
        .map(|q| q.event_id);
    let asked = Asked {
        order_id: order.id,
        order_number: order.order_number.clone(),
        expected_version: order.status_version,
        from: OrderStatus::Quoted,
        to: answer.target(),
        reason: answer.reason().map(str::to_owned),
        actor: Actor::Customer,
        quote_id: latest,
    };
    request(&state, &member, asked).await
}

#[derive(Deserialize)]
pub struct CancelForm {
    /// The status version the page showed: a cancellation of an order that moved on since
    /// is refused, not applied to a status the customer never saw.
    version: Option<u32>,
}

/// `POST /portal/orders/{number}/cancel`: while the state machine lets the customer.
pub async fn cancel(
    State(state): State<AppState>,
    member: Member,
    Path(number): Path<String>,
    Form(form): Form<CancelForm>,
) -> Result<Response, PageError> {
    let t = member.lang.portal();
    let order = own(&state, &member, &number).await?;
    let Some(status) = OrderStatus::parse(&order.status).filter(|s| s.customer_may_cancel()) else {
        return Err(member.fail(Failure::Conflict(t.not_cancellable)));
    };
    let asked = Asked {
        order_id: order.id,
        order_number: order.order_number.clone(),
        expected_version: form.version.unwrap_or(order.status_version),
        from: status,
        to: OrderStatus::Cancelled,
        reason: None,
        actor: Actor::Customer,
        quote_id: None,
    };
    request(&state, &member, asked).await
}

/// Publishes a customer's status change request and returns to the order's page, which
/// follows the request.
async fn request(state: &AppState, member: &Member, asked: Asked) -> Result<Response, PageError> {
    let number = asked.order_number.clone();
    let event = asked.event();
    status_requests::publish(&state.pool, &state.bus, &event)
        .await
        .map_err(|e| member.fail(e))?;
    let request_id = status_requests::request_of(&event)
        .map(|r| r.request_id)
        .ok_or_else(|| member.fail(Error::Internal(anyhow::anyhow!("not a request"))))?;
    tracing::info!(order_number = %number, %request_id, "customer status request from the portal");
    Ok(Redirect::to(&format!("/portal/orders/{number}?request={request_id}")).into_response())
}
