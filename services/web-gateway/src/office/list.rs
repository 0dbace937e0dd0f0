//! `GET /office`, the order list (filters, search, keyset paging, counts per status), and
//! `GET /office/board`, a column per open status with a button for each move the state
//! machine and the staff member's role allow.

use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use chrono::{Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use proto_events::{Channel, OrderStatus, TransitionError};
use serde::Deserialize;
use uuid::Uuid;

use super::i18n::Lang;
use super::permissions::{self, Act, Whose};
use super::views::{self, BoardPage, Card, Chrome, Column, CountTab, ListPage, Move, Opt, Row};
use super::{Desk, PageError};
use crate::http::{AppState, Error};
use crate::queries::office::{
    self as reads, AssigneeFilter, Cursor, OfficeOrderLine, OrderFilter, ServiceName, Sort,
};

/// Rows per page of the list.
const PAGE_ROWS: u32 = 50;
/// Cards per column of the board.
const BOARD_CARDS: u32 = 40;
/// Words of a search that count; more are ignored.
const MAX_WORDS: usize = 6;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    status: Option<String>,
    channel: Option<String>,
    service: Option<String>,
    assignee: Option<String>,
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
    sort: Option<String>,
    customer: Option<String>,
    after: Option<String>,
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// `application/x-www-form-urlencoded` for one value.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

impl ListQuery {
    /// The list's address with these filters, `status` replaced and paging dropped.
    fn href(&self, status: Option<&str>, after: Option<&str>) -> String {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        for (name, value) in [
            ("q", &self.q),
            ("channel", &self.channel),
            ("service", &self.service),
            ("assignee", &self.assignee),
            ("period", &self.period),
            ("from", &self.from),
            ("to", &self.to),
            ("sort", &self.sort),
            ("customer", &self.customer),
        ] {
            if let Some(value) = given(value) {
                pairs.push((name, value));
            }
        }
        if let Some(status) = status {
            pairs.push(("status", status));
        }
        if let Some(after) = after {
            pairs.push(("after", after));
        }
        if pairs.is_empty() {
            return "/office".to_owned();
        }
        let query: Vec<String> = pairs
            .iter()
            .map(|(name, value)| format!("{name}={}", encode(value)))
            .collect();
        format!("/office?{}", query.join("&"))
    }

    /// The order chosen (newest first unless the URL says otherwise).
    fn sort(&self) -> Sort {
        given(&self.sort).and_then(Sort::parse).unwrap_or_default()
    }

    fn filter(&self, me: Uuid) -> OrderFilter {
        let status = given(&self.status).and_then(OrderStatus::parse);
        let channel = match given(&self.channel) {
            Some("telegram") => Some(Channel::Telegram),
            Some("web") => Some(Channel::Web),
            _ => None,
        };
        let assignee = match given(&self.assignee) {
            Some("none") => Some(AssigneeFilter::Unassigned),
            Some("me") => Some(AssigneeFilter::Account(me)),
            Some(id) => Uuid::parse_str(id).ok().map(AssigneeFilter::Account),
            None => None,
        };
        let (mut created_from, mut created_before) = period(given(&self.period));
        let day = |v: &Option<String>| {
            given(v)
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .map(|d| Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN)))
        };
        if let Some(from) = day(&self.from) {
            created_from = Some(from);
        }
        if let Some(to) = day(&self.to) {
            created_before = to.checked_add_days(Days::new(1));
        }
        let words = given(&self.q)
            .map(|q| {
                q.split_whitespace()
                    .take(MAX_WORDS)
                    .map(|w| w.chars().take(64).collect())
                    .collect()
            })
            .unwrap_or_default();
        OrderFilter {
            status,
            channel,
            service: given(&self.service).map(str::to_owned),
            assignee,
            created_from,
            created_before,
            words,
            customer: given(&self.customer).and_then(|c| Uuid::parse_str(c).ok()),
        }
    }
}

type Range = (Option<chrono::DateTime<Utc>>, Option<chrono::DateTime<Utc>>);

/// A date preset as a range of creation times (UTC days).
fn period(preset: Option<&str>) -> Range {
    let today = Utc::now().date_naive();
    let start = |d: NaiveDate| Some(Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN)));
    match preset {
        Some("today") => (start(today), None),
        Some("week") => (
            start(today - Days::new(u64::from(today.weekday().num_days_from_monday()))),
            None,
        ),
        Some("month") => (start(today.with_day(1).unwrap_or(today)), None),
        _ => (None, None),
    }
}

fn channel_label(lang: Lang, channel: &str) -> &'static str {
    let t = lang.texts();
    if channel == "telegram" {
        t.telegram
    } else {
        t.web
    }
}

fn service_label(lang: Lang, services: &[ServiceName], code: Option<&str>) -> String {
    match code {
        None => lang.texts().none.to_owned(),
        Some(code) => services
            .iter()
            .find(|s| s.code == code)
            .map(|s| match lang {
                Lang::Uk => s.name_uk.clone(),
                Lang::En => s.name_en.clone(),
            })
            .unwrap_or_else(|| code.to_owned()),
    }
}

fn sort_label(lang: Lang, sort: Sort) -> &'static str {
    let t = lang.texts();
    match sort {
        Sort::Newest => t.sort_newest,
        Sort::Oldest => t.sort_oldest,
        Sort::Updated => t.sort_updated,
    }
}

pub fn status_label(lang: Lang, status: &str) -> String {
    OrderStatus::parse(status)
        .map(|s| lang.status(s))
        .unwrap_or_else(|| status.to_owned())
}

fn excerpt(body: &str) -> String {
    bureau_kit::text::clip(body, 160)
}

pub async fn orders(
    State(state): State<AppState>,
    desk: Desk,
    uri: Uri,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let lang = desk.lang;
    let t = lang.texts();
    let scope = desk.scope(&state);
    let filter = query.filter(desk.account.id);
    let sort = query.sort();
    let after = given(&query.after).and_then(Cursor::decode);
    let fail = |e: sqlx::Error| desk.fail(Error::from(e));
    let mut lines = reads::orders(&state.pool, scope, &filter, sort, after, PAGE_ROWS)
        .await
        .map_err(fail)?;
    let counts = reads::status_counts(&state.pool, scope, &filter)
        .await
        .map_err(fail)?;
    let services = reads::services(&state.pool).await.map_err(fail)?;
    let staff = reads::staff_members(&state.pool).await.map_err(fail)?;

    let more = lines.len() > PAGE_ROWS as usize;
    lines.truncate(PAGE_ROWS as usize);
    let older_href = more
        .then(|| lines.last())
        .flatten()
        .map(|last| query.href(given(&query.status), Some(&sort.cursor_of(last).encode())));
    let newest_href = after.map(|_| query.href(given(&query.status), None));

    // A count at the cap is shown as "1000+" (and so is the total it is part of); a broad
    // search's counts, taken among its newest matches, all read "at least".
    let shown = |n: i64, capped: bool| {
        if capped || counts.at_least {
            format!("{n}+")
        } else {
            n.to_string()
        }
    };
    let total: i64 = counts.by_status.iter().map(|(_, n)| n).sum();
    let any_capped = counts.by_status.iter().any(|(_, n)| *n >= reads::COUNT_CAP);
    let mut tabs = vec![CountTab {
        label: t.all.to_owned(),
        count: shown(total, any_capped),
        href: query.href(None, None),
        active: filter.status.is_none(),
        class: "s-all",
    }];
    for status in OrderStatus::ALL {
        let count = counts.of(status);
        tabs.push(CountTab {
            label: lang.status(status),
            count: shown(count, count >= reads::COUNT_CAP),
            href: query.href(Some(status.as_str()), None),
            active: filter.status == Some(status),
            class: views::status_class(status.as_str()),
        });
    }
    let ids: Vec<uuid::Uuid> = lines.iter().map(|line| line.id).collect();
    let mut booked = booked_times(&state, lang, &ids)
        .await
        .map_err(|e| desk.fail(Error::from(e)))?;
    let rows = lines
        .iter()
        .map(|line| Row {
            booked: booked.remove(&line.id),
            ..row(lang, &services, line)
        })
        .collect();
    let selected = |value: &Option<String>, candidate: &str| given(value) == Some(candidate);
    let statuses = OrderStatus::ALL
        .iter()
        .map(|s| Opt::new(s.as_str(), lang.status(*s), filter.status == Some(*s)))
        .collect();
    let channels = [("telegram", t.telegram), ("web", t.web)]
        .iter()
        .map(|(v, l)| Opt::new(*v, *l, selected(&query.channel, v)))
        .collect();
    let service_opts = services
        .iter()
        .map(|s| {
            Opt::new(
                s.code.clone(),
                service_label(lang, &services, Some(&s.code)),
                selected(&query.service, &s.code),
            )
        })
        .collect();
    let mut assignees = vec![
        Opt::new("me", t.assigned_to_me, selected(&query.assignee, "me")),
        Opt::new("none", t.unassigned, selected(&query.assignee, "none")),
    ];
    if desk.account.role != bureau_accounts::Role::Executor {
        assignees.extend(staff.iter().map(|m| {
            let id = m.id.to_string();
            let chosen = selected(&query.assignee, &id);
            Opt::new(id, m.display_name.clone(), chosen)
        }));
    }
    let periods = [
        ("", t.any_time),
        ("today", t.today),
        ("week", t.this_week),
        ("month", t.this_month),
    ]
    .iter()
    .map(|(v, l)| Opt::new(*v, *l, given(&query.period).unwrap_or("") == *v))
    .collect();
    let sorts = Sort::ALL
        .iter()
        .map(|s| Opt::new(s.as_str(), sort_label(lang, *s), *s == sort))
        .collect();
    // Listing one customer's orders: say whose, and keep it in the form.
    let customer = match filter.customer {
        Some(id) => reads::customer(&state.pool, id)
            .await
            .map_err(fail)?
            .map(|c| (id.to_string(), c.display_name)),
        None => None,
    };

    let back = uri
        .path_and_query()
        .map_or("/office".to_owned(), |p| p.to_string());
    let page = ListPage {
        chrome: Chrome::new(lang, Some(&desk.account), &back, t.orders),
        tabs,
        rows,
        q: given(&query.q).unwrap_or("").to_owned(),
        from: given(&query.from).unwrap_or("").to_owned(),
        to: given(&query.to).unwrap_or("").to_owned(),
        statuses,
        channels,
        services: service_opts,
        assignees,
        periods,
        sorts,
        customer,
        by_newest: sort == Sort::Newest,
        older_href,
        newest_href,
    };
    Ok(views::html(StatusCode::OK, &page))
}

pub fn row(lang: Lang, services: &[ServiceName], line: &OfficeOrderLine) -> Row {
    Row {
        href: super::order_url(line.id),
        order_id: line.id.to_string(),
        number: line.order_number.clone(),
        customer: line.customer_name.clone(),
        username: line.telegram_username.clone(),
        unreachable: line.unreachable_since.is_some(),
        channel: channel_label(lang, &line.channel),
        service: service_label(lang, services, line.service_code.as_deref()),
        status: status_label(lang, &line.status),
        status_class: views::status_class(&line.status),
        assignee: line
            .assignee_name
            .clone()
            .unwrap_or_else(|| lang.texts().none.to_owned()),
        created: views::When::of(line.created_at),
        excerpt: excerpt(&line.body_start),
        booked: None,
    }
}

/// The booked times of these orders, in the business's zone and the reader's language.
async fn booked_times(
    state: &AppState,
    lang: Lang,
    ids: &[uuid::Uuid],
) -> Result<std::collections::HashMap<uuid::Uuid, String>, sqlx::Error> {
    let found = bureau_scheduling::booked::of_orders(&state.pool, ids).await?;
    if found.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let zone = bureau_platform::business::details(&state.pool, &state.settings.business)
        .await?
        .zone();
    Ok(found
        .into_iter()
        .map(|(id, time)| (id, time.when(&zone, lang.code())))
        .collect())
}

/// The moves a staff member may offer from `from`: the state machine's, narrowed by role.
pub fn moves(lang: Lang, role: bureau_accounts::Role, from: OrderStatus) -> Vec<Move> {
    from.next()
        .iter()
        .filter(|to| role.may_move_order(from, **to))
        .map(|to| Move {
            to: to.as_str(),
            label: lang.status(*to),
            needs_reason: matches!(
                from.transition(*to, None),
                Err(TransitionError::ReasonRequired { .. })
            ),
        })
        .collect()
}

pub async fn board(State(state): State<AppState>, desk: Desk) -> Result<Response, PageError> {
    let lang = desk.lang;
    let lines = reads::board(&state.pool, desk.scope(&state), BOARD_CARDS)
        .await
        .map_err(|e| desk.fail(Error::from(e)))?;
    let policy = Desk::policy(&state);
    let ids: Vec<uuid::Uuid> = lines.iter().map(|line| line.id).collect();
    let booked = booked_times(&state, lang, &ids)
        .await
        .map_err(|e| desk.fail(Error::from(e)))?;
    let columns = OrderStatus::ALL
        .into_iter()
        .filter(|s| !s.is_terminal())
        .map(|status| Column {
            status: status.as_str(),
            label: lang.status(status),
            class: views::status_class(status.as_str()),
            cards: lines
                .iter()
                .filter(|line| line.status == status.as_str())
                .map(|line| {
                    let whose = Whose::of(&desk.account, line.assignee_id);
                    let may_move =
                        permissions::allows(desk.account.role, Act::ChangeStatus, whose, policy);
                    let moves = if may_move {
                        moves(lang, desk.account.role, status)
                    } else {
                        Vec::new()
                    };
                    let list = |reason: bool| {
                        moves
                            .iter()
                            .filter(|m| !reason || m.needs_reason)
                            .map(|m| m.to)
                            .collect::<Vec<_>>()
                            .join(" ")
                    };
                    Card {
                        move_list: list(false),
                        reason_list: list(true),
                        href: super::order_url(line.id),
                        order_id: line.id.to_string(),
                        number: line.order_number.clone(),
                        customer: line.customer_name.clone(),
                        excerpt: bureau_kit::text::clip(&line.body_start, 90),
                        assignee: line
                            .assignee_name
                            .clone()
                            .unwrap_or_else(|| lang.texts().unassigned.to_owned()),
                        created: views::When::of(line.created_at),
                        booked: booked.get(&line.id).cloned(),
                        version: line.status_version,
                        moves,
                    }
                })
                .collect(),
        })
        .collect();
    let page = BoardPage {
        chrome: Chrome::new(
            lang,
            Some(&desk.account),
            "/office/board",
            lang.texts().board,
        ),
        columns,
        refusals: lang.refusals_json(),
    };
    Ok(views::html(StatusCode::OK, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs_keep_the_filters_and_encode_them() {
        let query = ListQuery {
            q: Some("Олена & co".into()),
            channel: Some("telegram".into()),
            status: Some("quoted".into()),
            ..ListQuery::default()
        };
        assert_eq!(
            query.href(Some("accepted"), None),
            "/office?q=%D0%9E%D0%BB%D0%B5%D0%BD%D0%B0+%26+co&channel=telegram&status=accepted"
        );
        assert_eq!(ListQuery::default().href(None, None), "/office");
    }

    #[test]
    fn executors_are_offered_only_their_moves() {
        let moves = moves(
            Lang::En,
            bureau_accounts::Role::Executor,
            OrderStatus::Accepted,
        );
        let targets: Vec<&str> = moves.iter().map(|m| m.to).collect();
        assert_eq!(targets, ["in_progress"]);
        let manager = moves_of(bureau_accounts::Role::Manager, OrderStatus::Accepted);
        assert_eq!(
            manager,
            [
                ("in_progress", false),
                ("cancelled", true),
                ("rejected", true)
            ]
        );
    }

    fn moves_of(role: bureau_accounts::Role, from: OrderStatus) -> Vec<(&'static str, bool)> {
        moves(Lang::En, role, from)
            .into_iter()
            .map(|m| (m.to, m.needs_reason))
            .collect()
    }

    #[test]
    fn search_words_and_presets_become_filters() {
        let query = ListQuery {
            q: Some("  Olena   48213097 ".into()),
            period: Some("today".into()),
            assignee: Some("none".into()),
            ..ListQuery::default()
        };
        let filter = query.filter(Uuid::nil());
        assert_eq!(filter.words, ["Olena", "48213097"]);
        assert_eq!(filter.assignee, Some(AssigneeFilter::Unassigned));
        assert!(filter.created_from.is_some());
    }
}
