//! `GET /office/orders/{order_id}`: one order as staff work it — the customer card, the
//! service and description, every file, one timeline in time order (status changes with
//! who and why, the conversation, internal comments, files, quotes, assignments, what was
//! pushed to the customer) and the actions the matrix allows. `?request={id}` follows a
//! status change request: pending until the persistence worker decides it, then recorded or
//! refused with the reason. `GET .../files/{file_id}` downloads a file as an attachment.
//! For admins and managers the page also holds the payments panel (`office::money`), and
//! `?payment={id}` / `?refund={id}` follow one just sent until the worker recorded it.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use bureau_accounts::Role;
use proto_events::OrderStatus;
use serde::Deserialize;
use uuid::Uuid;

use super::i18n::Lang;
use super::list::{moves, status_label};
use super::money::{self, Drafts};
use super::permissions::{self, Act, Whose};
use super::views::{self, Banner, Can, Chrome, Entry, FileView, OrderPage, OtherView, When};
use super::{Desk, Failure, PageError};
use crate::http::{AppState, Error};
use crate::queries::office::{self as reads, FileLine};
use crate::queries::{self};
use crate::status_requests::{self, RequestView};

#[derive(Deserialize, Default)]
pub struct PageQuery {
    pub request: Option<String>,
    /// A payment or a refund just sent from the payments panel.
    pub payment: Option<String>,
    pub refund: Option<String>,
    /// The form had been sent before: this is the first sending's page.
    pub again: Option<String>,
}

/// Minor units as a price: `125000` -> `1250.00`.
pub fn money(amount_minor: u64, currency: &str) -> String {
    format!(
        "{}.{:02} {currency}",
        amount_minor / 100,
        amount_minor % 100
    )
}

pub async fn page(
    State(state): State<AppState>,
    desk: Desk,
    Path(order_id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, PageError> {
    let (order_id, whose) = desk.may(&state, &order_id, Act::SeeOrder).await?;
    render(
        &state,
        &desk,
        order_id,
        whose,
        &query,
        Drafts::default(),
        StatusCode::OK,
    )
    .await
}

/// The order page, answered with `status_code`: shown, or again after a refused payments form
/// (`drafts`: what was typed and why it was refused).
pub async fn render(
    state: &AppState,
    desk: &Desk,
    order_id: Uuid,
    whose: Whose,
    query: &PageQuery,
    drafts: Drafts,
    status_code: StatusCode,
) -> Result<Response, PageError> {
    let fail = |e: sqlx::Error| desk.fail(Error::from(e));
    let pool = &state.pool;
    // The request before the order: a request read as decided then finds the order at
    // least as far as the decision took it.
    let request = match query.request.as_deref().map(Uuid::parse_str) {
        Some(Ok(request_id)) => status_requests::view(pool, request_id, None)
            .await
            .map_err(fail)?
            .filter(|r| r.order_id == order_id),
        _ => None,
    };
    let order = reads::order(pool, order_id)
        .await
        .map_err(fail)?
        .ok_or_else(|| desk.fail(Failure::NotFound))?;
    let files = reads::files(pool, order_id).await.map_err(fail)?;
    let steps = reads::status_steps(pool, order_id).await.map_err(fail)?;
    let notes = reads::notes(pool, order_id).await.map_err(fail)?;
    let quotes = reads::quotes(pool, order_id).await.map_err(fail)?;
    let assignments = reads::assignments(pool, order_id).await.map_err(fail)?;
    let pushes = reads::pushes(pool, order_id).await.map_err(fail)?;
    let push_failures = reads::push_failures(pool, order_id).await.map_err(fail)?;
    let others = reads::other_orders(pool, order.customer_id, order_id)
        .await
        .map_err(fail)?;
    let services = reads::services(pool).await.map_err(fail)?;
    let staff = reads::staff_members(pool).await.map_err(fail)?;

    let lang = desk.lang;
    let t = lang.texts();
    let policy = Desk::policy(state);
    let allowed = |act| permissions::allows(desk.account.role, act, whose, policy);
    let may_money = allowed(Act::RecordMoney);
    let money_lines = if may_money {
        reads::money_lines(pool, order_id).await.map_err(fail)?
    } else {
        Vec::new()
    };
    let status = OrderStatus::parse(&order.status);
    let offered = status
        .map(|s| moves(lang, desk.account.role, s))
        .unwrap_or_default();

    let mut timeline = Vec::new();
    for step in &steps {
        let who = match step.actor_kind.as_str() {
            "customer" => order.customer_name.clone(),
            "staff" => step.actor_name.clone().unwrap_or_else(|| "—".into()),
            _ => t.by_system.to_owned(),
        };
        let (title, class) = match &step.from_status {
            None => (t.ev_created.to_owned(), "ev-created"),
            Some(from) => (
                format!(
                    "{}: {} → {}",
                    t.ev_status,
                    status_label(lang, from),
                    status_label(lang, &step.to_status)
                ),
                "ev-status",
            ),
        };
        timeline.push(Entry {
            when: When::of(step.changed_at),
            class,
            title,
            who,
            text: step.reason.clone().unwrap_or_default(),
        });
    }
    for note in &notes {
        let (title, class, who) = if note.internal != 0 {
            (t.ev_comment, "ev-internal", note.author_name.clone())
        } else if note.author_kind == "customer" {
            (
                t.ev_customer_message,
                "ev-customer",
                Some(order.customer_name.clone()),
            )
        } else {
            (t.ev_staff_reply, "ev-reply", note.author_name.clone())
        };
        timeline.push(Entry {
            when: When::of(note.posted_at),
            class,
            title: title.to_owned(),
            who: who.unwrap_or_else(|| t.by_system.to_owned()),
            text: note.body.clone(),
        });
    }
    for file in &files {
        let result = file.purpose == "result";
        timeline.push(Entry {
            when: When::of(file.received_at),
            class: if result { "ev-result" } else { "ev-file" },
            title: if result { t.ev_result } else { t.ev_file }.to_owned(),
            who: if result {
                t.by_system.to_owned()
            } else {
                order.customer_name.clone()
            },
            text: match &file.note {
                Some(note) => format!("{} — {note}", file.original_name),
                None => file.original_name.clone(),
            },
        });
    }
    for quote in &quotes {
        let mut text = money(quote.amount_minor, &quote.currency);
        if let Some(until) = quote.valid_until {
            text.push_str(&format!(
                " · {} {}",
                t.valid_until,
                until.format("%Y-%m-%d")
            ));
            if until < chrono::Utc::now() {
                text.push_str(&format!(" ({})", t.expired));
            }
        }
        if let Some(note) = &quote.note {
            text.push_str(" — ");
            text.push_str(note);
        }
        timeline.push(Entry {
            when: When::of(quote.quoted_at),
            class: "ev-quote",
            title: t.ev_quote.to_owned(),
            who: String::new(),
            text,
        });
    }
    for assignment in &assignments {
        let (title, text) = match &assignment.assignee_name {
            Some(name) => (t.ev_assigned, name.clone()),
            None => (t.ev_unassigned, String::new()),
        };
        timeline.push(Entry {
            when: When::of(assignment.assigned_at),
            class: "ev-assigned",
            title: title.to_owned(),
            who: assignment.actor_name.clone().unwrap_or_default(),
            text,
        });
    }
    for push in &pushes {
        let about = push
            .status_version
            .and_then(|v| steps.iter().find(|s| s.version == v))
            .map(|s| status_label(lang, &s.to_status))
            .unwrap_or_default();
        let (title, who) = match push.channel.as_str() {
            "email" => (t.ev_push_email, "E-mail"),
            _ => (t.ev_push, "Telegram"),
        };
        timeline.push(Entry {
            when: When::of(push.sent_at),
            class: "ev-push",
            title: title.to_owned(),
            who: who.to_owned(),
            text: about,
        });
    }
    for failure in &push_failures {
        let detail = failure.detail.clone().unwrap_or_default();
        let text = match failure.outcome.as_str() {
            "blocked" => t.push_blocked.to_owned(),
            "skipped_unreachable" => t.push_unreachable.to_owned(),
            "failing" => format!("{} ({}×): {detail}", t.push_gave_up, failure.attempts),
            _ => format!("{}: {detail}", t.push_gave_up),
        };
        timeline.push(Entry {
            when: When::of(failure.failed_at),
            class: "ev-push-failed",
            title: t.push_failed.to_owned(),
            who: "Telegram".to_owned(),
            text,
        });
    }
    for line in &money_lines {
        let (title, class) = if line.kind == "refund" {
            (t.ev_refund.to_owned(), "ev-refund")
        } else {
            (
                format!(
                    "{} · {}",
                    t.ev_payment,
                    money::method_label(t, line.method.as_deref())
                ),
                "ev-payment",
            )
        };
        let mut text = money(line.amount_minor, &line.currency);
        if let Some(note) = &line.note {
            text.push_str(" — ");
            text.push_str(note);
        }
        timeline.push(Entry {
            when: When::of(line.recorded_at),
            class,
            title,
            who: money::recorder(t, line, &order.customer_name),
            text,
        });
    }
    // Stable: entries of one moment keep the order above (the status before its push).
    timeline.sort_by_key(|entry| entry.when.micros);

    let (customer_files, results): (Vec<&FileLine>, Vec<&FileLine>) =
        files.iter().partition(|f| f.purpose != "result");
    let file_view = |file: &FileLine| FileView {
        href: (file.state == "stored")
            .then(|| format!("/office/orders/{order_id}/files/{}", file.id)),
        name: file.original_name.clone(),
        note: file.note.clone(),
        kind: file.content_type.clone().unwrap_or_else(|| "—".into()),
        size: file
            .size_bytes
            .or(file.declared_size)
            .map(views::size)
            .unwrap_or_else(|| "—".into()),
        state: match file.state.as_str() {
            "stored" => None,
            "rejected" => Some(format!(
                "{}: {}",
                t.file_rejected,
                lang.file_rejection(
                    file.rejection_code.as_deref(),
                    file.rejection_reason.as_deref()
                )
            )),
            _ => Some(t.file_waiting.to_owned()),
        },
    };
    let service = match order.service_code.as_deref() {
        None => t.none.to_owned(),
        Some(code) => services
            .iter()
            .find(|s| s.code == code)
            .map(|s| match lang {
                Lang::Uk => s.name_uk.clone(),
                Lang::En => s.name_en.clone(),
            })
            .unwrap_or_else(|| code.to_owned()),
    };
    let back = match (&request, &query.payment, &query.refund) {
        (Some(r), _, _) => format!("/office/orders/{order_id}?request={}", r.request_id),
        (None, Some(id), _) if Uuid::parse_str(id).is_ok() => {
            format!("/office/orders/{order_id}?payment={id}")
        }
        (None, None, Some(id)) if Uuid::parse_str(id).is_ok() => {
            format!("/office/orders/{order_id}?refund={id}")
        }
        _ => format!("/office/orders/{order_id}"),
    };
    let may_assign = allowed(Act::Assign);
    // The price (latest quote, else the cart's total) and what has been paid of it.
    let due = {
        let mut conn = pool.acquire().await.map_err(fail)?;
        bureau_platform::payments::due(&mut conn, order_id, false)
            .await
            .map_err(fail)?
    };
    let payments = may_money.then(|| {
        money::panel(money::PanelInput {
            lang,
            order_id,
            due: due.as_ref(),
            quoted: !quotes.is_empty(),
            lines: &money_lines,
            customer: &order.customer_name,
            query,
            drafts,
        })
    });
    let money = due.and_then(|due| {
        let price = due.price.clone()?;
        let amount = |minor: u64| format!("{}.{:02} {}", minor / 100, minor % 100, price.currency);
        let state = match (lang, due.is_paid()) {
            (Lang::En, true) => "paid".to_owned(),
            (Lang::Uk, true) => "оплачено".to_owned(),
            (Lang::En, false) => format!("unpaid (paid {})", amount(due.paid_minor.max(0) as u64)),
            (Lang::Uk, false) => format!(
                "не оплачено (сплачено {})",
                amount(due.paid_minor.max(0) as u64)
            ),
        };
        Some(format!("{} · {state}", amount(price.amount_minor)))
    });
    // The booked time, in the business's zone; its day in the calendar.
    let booked = match bureau_scheduling::booked::of_order(pool, order_id)
        .await
        .map_err(fail)?
    {
        Some(time) => {
            let zone = bureau_platform::business::details(pool, &state.settings.business)
                .await
                .map_err(fail)?
                .zone();
            Some((
                format!(
                    "{} · {} · {}",
                    time.when(&zone, lang.code()),
                    time.service(lang.code()),
                    time.resource_name
                ),
                format!(
                    "/office/calendar?resource={}&day={}&view=day",
                    time.resource_id,
                    time.day(&zone)
                ),
            ))
        }
        None => None,
    };
    let page = OrderPage {
        booked,
        money,
        chrome: Chrome::new(
            lang,
            Some(&desk.account),
            &back,
            &format!("№{}", order.order_number),
        ),
        order_id: order_id.to_string(),
        number: order.order_number.clone(),
        status: status_label(lang, &order.status),
        status_class: views::status_class(&order.status),
        version: order.status_version,
        channel: if order.channel == "telegram" {
            t.telegram
        } else {
            t.web
        },
        service,
        body: order.body.clone(),
        created: When::of(order.created_at),
        assignee: order
            .assignee_name
            .clone()
            .unwrap_or_else(|| t.unassigned.to_owned()),
        customer: order.customer_name.clone(),
        customer_href: super::customers::customer_url(order.customer_id),
        phone: order.phone.clone(),
        username: order.telegram_username.clone(),
        unreachable: order.unreachable_since.map(When::of),
        others: others
            .iter()
            .map(|o| OtherView {
                href: super::order_url(o.id),
                number: o.order_number.clone(),
                status: status_label(lang, &o.status),
                created: When::of(o.created_at),
            })
            .collect(),
        files: customer_files.into_iter().map(file_view).collect(),
        results: results.into_iter().map(file_view).collect(),
        timeline,
        moves: offered,
        staff: if may_assign {
            staff
                .iter()
                .map(|m| {
                    views::Opt::new(
                        m.id.to_string(),
                        format!("{} ({})", m.display_name, m.role),
                        order.assignee_id == Some(m.id),
                    )
                })
                .collect()
        } else {
            Vec::new()
        },
        banner: request.map(|r| banner(lang, &r)),
        payments,
        can: Can {
            status: allowed(Act::ChangeStatus),
            quote: allowed(Act::Quote)
                && matches!(
                    status,
                    Some(OrderStatus::AwaitingConfirmation | OrderStatus::Quoted)
                ),
            assign: may_assign,
            take: desk.account.role == Role::Executor && allowed(Act::Take),
            reply: allowed(Act::Reply),
            comment: allowed(Act::Comment),
            upload: allowed(Act::UploadResult),
        },
    };
    Ok(views::html(status_code, &page))
}

/// The line that says what became of a status change request.
fn banner(lang: Lang, request: &RequestView) -> Banner {
    let t = lang.texts();
    let to = status_label(lang, &request.to);
    match request.outcome.as_str() {
        "recorded" => Banner {
            class: "ok",
            text: format!("{to}: {}.", t.recorded),
            poll: None,
        },
        "refused" => {
            let now = request
                .current_status
                .as_deref()
                .map(|s| status_label(lang, s))
                .unwrap_or_default();
            Banner {
                class: "refused",
                text: format!(
                    "{to}: {}. {} ({}: {now})",
                    t.refused,
                    lang.refusal(
                        request.refusal_code.as_deref(),
                        request.refusal_reason.as_deref()
                    ),
                    t.now_it_is
                ),
                poll: None,
            }
        }
        _ => Banner {
            class: "pending",
            text: format!("{to}: {}…", t.pending),
            poll: Some(format!("/api/staff/status-requests/{}", request.request_id)),
        },
    }
}

pub async fn download(
    State(state): State<AppState>,
    desk: Desk,
    Path((order_id, file_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (order_id, _) = desk.may(&state, &order_id, Act::DownloadFile).await?;
    let file_id = Uuid::parse_str(&file_id).map_err(|_| desk.fail(Failure::NotFound))?;
    let file = queries::order_stored_file(&state.pool, order_id, file_id)
        .await
        .map_err(|e| desk.fail(Error::from(e)))?
        .ok_or_else(|| desk.fail(Failure::NotFound))?;
    desk.audit(
        &state,
        "file_download",
        Some(order_id),
        Some(&file_id.to_string()),
        Some(&file.original_name),
    )
    .await?;
    crate::http::redirect_to(&state, &file)
        .await
        .map_err(|e| desk.fail(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_read_in_major_units() {
        assert_eq!(money(125_000, "UAH"), "1250.00 UAH");
        assert_eq!(money(5, "EUR"), "0.05 EUR");
    }
}
