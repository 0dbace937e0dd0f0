//! The audit log (admins): every staff action in `staff_audit`, newest first, filtered by
//! person, action, order (number or id) and date range, paged by keyset (`before` carries
//! the last row's id, so a page deep in the log costs what the first does), and exported as
//! CSV: UTF-8 with a byte-order mark (so spreadsheet programs read Ukrainian right), streamed
//! from MySQL row by row through a small bounded channel, never held whole in memory.

use askama::Template;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use sqlx::{MySql, MySqlPool, QueryBuilder};
use uuid::Uuid;

use super::i18n::AdminTexts;
use super::{frame, refusal};
use crate::http::{AppState, Error};
use crate::office::permissions::Act;
use crate::office::views::{self, Chrome, Opt, When};
use crate::office::{Desk, PageError};

const PAGE: i64 = 50;
/// CSV bytes gathered before a chunk goes out.
const CHUNK: usize = 32 * 1024;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    person: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    order: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    before: String,
}

/// The filters, checked.
#[derive(Debug, Clone, Default)]
struct Filter {
    person: Option<Uuid>,
    action: Option<String>,
    /// An order number or id as typed.
    order: Option<String>,
    from: Option<DateTime<Utc>>,
    before_time: Option<DateTime<Utc>>,
    before_id: Option<u64>,
}

impl AuditQuery {
    fn filter(&self) -> Filter {
        let day = |text: &str| {
            NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        };
        let some = |text: &str| {
            let text = text.trim();
            (!text.is_empty()).then(|| text.to_owned())
        };
        Filter {
            person: Uuid::parse_str(self.person.trim()).ok(),
            action: some(&self.action),
            order: some(&self.order),
            from: day(&self.from),
            // `to` is inclusive: everything before the next day.
            before_time: day(&self.to).map(|t| t + chrono::Duration::days(1)),
            before_id: self.before.trim().parse().ok(),
        }
    }

    /// The query string with another `before` (or none).
    fn href(&self, path: &str, before: Option<u64>) -> String {
        let mut pairs = url_pairs(&[
            ("person", &self.person),
            ("action", &self.action),
            ("order", &self.order),
            ("from", &self.from),
            ("to", &self.to),
        ]);
        if let Some(before) = before {
            pairs.push(format!("before={before}"));
        }
        if pairs.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", pairs.join("&"))
        }
    }
}

fn url_pairs(pairs: &[(&str, &str)]) -> Vec<String> {
    pairs
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", urlencode(v.trim())))
        .collect()
}

/// Percent-encoding for a query value (RFC 3986 unreserved characters kept).
fn urlencode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Debug, sqlx::FromRow)]
struct AuditLine {
    id: u64,
    at: DateTime<Utc>,
    person: Option<String>,
    email: Option<String>,
    action: String,
    order_id: Option<Uuid>,
    order_number: Option<String>,
    subject: Option<String>,
    detail: Option<String>,
    remote_addr: Option<String>,
}

fn select(filter: &Filter) -> QueryBuilder<MySql> {
    let mut q = QueryBuilder::new(
        "SELECT s.id, s.at, a.display_name AS person, a.email, s.action, s.order_id, o.order_number,
                s.subject, s.detail, s.remote_addr
         FROM staff_audit s
         LEFT JOIN web_accounts a ON a.id = s.account_id
         LEFT JOIN orders o ON o.id = s.order_id
         WHERE TRUE",
    );
    if let Some(person) = filter.person {
        q.push(" AND s.account_id = ").push_bind(person);
    }
    if let Some(action) = &filter.action {
        q.push(" AND s.action = ").push_bind(action.clone());
    }
    if let Some(order) = &filter.order {
        match Uuid::parse_str(order) {
            Ok(id) => {
                q.push(" AND s.order_id = ").push_bind(id);
            }
            Err(_) => {
                let number: String = order
                    .trim_start_matches('№')
                    .chars()
                    .filter(|c| c.is_ascii_digit())
                    .collect();
                q.push(" AND s.order_id = (SELECT id FROM orders WHERE order_number = ")
                    .push_bind(number)
                    .push(")");
            }
        }
    }
    if let Some(from) = filter.from {
        q.push(" AND s.at >= ").push_bind(from);
    }
    if let Some(before) = filter.before_time {
        q.push(" AND s.at < ").push_bind(before);
    }
    if let Some(id) = filter.before_id {
        q.push(" AND s.id < ").push_bind(id);
    }
    q.push(" ORDER BY s.id DESC");
    q
}

pub struct Entry {
    pub when: When,
    pub person: String,
    pub action: String,
    pub order_href: Option<String>,
    pub order: String,
    pub subject: String,
    pub detail: String,
    pub address: String,
}

#[derive(Template)]
#[template(path = "office/admin/audit.html")]
pub struct AuditPage {
    pub chrome: Chrome,
    pub a: &'static AdminTexts,
    pub entries: Vec<Entry>,
    pub people: Vec<Opt>,
    pub actions: Vec<Opt>,
    pub order: String,
    pub from: String,
    pub to: String,
    pub older_href: Option<String>,
    pub newest_href: Option<String>,
    pub csv_href: String,
}

async fn choices(pool: &MySqlPool) -> Result<(Vec<(Uuid, String)>, Vec<String>), sqlx::Error> {
    let people = sqlx::query_as(
        "SELECT id, display_name FROM web_accounts WHERE role <> 'customer' ORDER BY display_name",
    )
    .fetch_all(pool)
    .await?;
    let actions = sqlx::query_scalar("SELECT DISTINCT action FROM staff_audit ORDER BY action")
        .fetch_all(pool)
        .await?;
    Ok((people, actions))
}

pub async fn page(
    State(state): State<AppState>,
    desk: Desk,
    Query(query): Query<AuditQuery>,
) -> Result<Response, PageError> {
    if let Some(refused) = refusal(&desk, Act::SeeAudit) {
        return Ok(refused);
    }
    let db = |e: sqlx::Error| desk.fail(Error::from(e));
    let filter = query.filter();
    let mut q = select(&filter);
    q.push(" LIMIT ").push_bind(PAGE + 1);
    let mut lines: Vec<AuditLine> = q
        .build_query_as()
        .fetch_all(&state.pool)
        .await
        .map_err(db)?;
    let more = lines.len() as i64 > PAGE;
    lines.truncate(PAGE as usize);
    let older_href = more
        .then(|| {
            lines
                .last()
                .map(|l| query.href("/office/audit", Some(l.id)))
        })
        .flatten();
    let newest_href = filter
        .before_id
        .is_some()
        .then(|| query.href("/office/audit", None));
    let (people, actions) = choices(&state.pool).await.map_err(db)?;
    let here = query.href("/office/audit", filter.before_id);
    let (chrome, a) = frame(&desk, &here, super::i18n::texts(desk.lang).audit);
    let entries = lines
        .into_iter()
        .map(|l| Entry {
            when: When::of(l.at),
            person: l.person.unwrap_or_default(),
            action: l.action,
            order_href: l.order_id.map(crate::office::order_url),
            order: l
                .order_number
                .map(|n| format!("№{n}"))
                .or_else(|| l.order_id.map(|id| id.to_string()))
                .unwrap_or_default(),
            subject: l.subject.unwrap_or_default(),
            detail: l.detail.unwrap_or_default(),
            address: l.remote_addr.unwrap_or_default(),
        })
        .collect();
    let person = filter.person;
    Ok(views::html(
        StatusCode::OK,
        &AuditPage {
            chrome,
            a,
            entries,
            people: people
                .into_iter()
                .map(|(id, name)| Opt::new(id.to_string(), name, Some(id) == person))
                .collect(),
            actions: actions
                .into_iter()
                .map(|action| {
                    let selected = filter.action.as_deref() == Some(action.as_str());
                    Opt::new(action.clone(), action, selected)
                })
                .collect(),
            order: query.order.clone(),
            from: query.from.clone(),
            to: query.to.clone(),
            older_href,
            newest_href,
            csv_href: AuditQuery {
                before: String::new(),
                ..query.clone()
            }
            .href("/office/audit.csv", None),
        },
    ))
}

/// `GET /office/audit.csv`: every entry the filters match (paging ignored), streamed.
pub async fn csv(
    State(state): State<AppState>,
    desk: Desk,
    Query(query): Query<AuditQuery>,
) -> Result<Response, PageError> {
    if let Some(refused) = refusal(&desk, Act::SeeAudit) {
        return Ok(refused);
    }
    let filter = Filter {
        before_id: None,
        ..query.filter()
    };
    desk.audit(&state, "audit_export", None, None, None).await?;
    let (mut sender, receiver) =
        futures::channel::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let pool = state.pool.clone();
    tokio::spawn(async move {
        let mut buffer = String::with_capacity(CHUNK + 1024);
        buffer.push('\u{FEFF}');
        buffer.push_str(
            "id,at,person,email,action,order_number,order_id,subject,detail,remote_addr\r\n",
        );
        let mut q = select(&filter);
        let mut rows = q.build_query_as::<AuditLine>().fetch(&pool);
        while let Some(row) = rows.next().await {
            let line = match row {
                Ok(line) => line,
                Err(error) => {
                    tracing::warn!(%error, "audit export cut short");
                    let _ = sender
                        .send(Err(std::io::Error::other(error.to_string())))
                        .await;
                    return;
                }
            };
            csv_row(
                &mut buffer,
                &[
                    &line.id.to_string(),
                    &line.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    line.person.as_deref().unwrap_or(""),
                    line.email.as_deref().unwrap_or(""),
                    &line.action,
                    line.order_number.as_deref().unwrap_or(""),
                    &line.order_id.map(|id| id.to_string()).unwrap_or_default(),
                    line.subject.as_deref().unwrap_or(""),
                    line.detail.as_deref().unwrap_or(""),
                    line.remote_addr.as_deref().unwrap_or(""),
                ],
            );
            if buffer.len() >= CHUNK {
                let chunk = Bytes::from(std::mem::take(&mut buffer));
                // The client went away: stop reading.
                if sender.send(Ok(chunk)).await.is_err() {
                    return;
                }
            }
        }
        if !buffer.is_empty() {
            let _ = sender.send(Ok(Bytes::from(buffer))).await;
        }
    });
    let name = format!("audit-{}.csv", Utc::now().format("%Y%m%d-%H%M%S"));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from_stream(receiver),
    )
        .into_response())
}

/// One CSV record (RFC 4180), written by hand because it is ten lines: fields with a comma,
/// quote or line break are quoted with quotes doubled; a field a spreadsheet would run as a
/// formula (`=`, `+`, `-`, `@`, tab, CR first) gets a leading `'`.
fn csv_row(out: &mut String, fields: &[&str]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let guarded;
        let field = if field.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            guarded = format!("'{field}");
            guarded.as_str()
        } else {
            field
        };
        if field.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(field);
        }
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_disarmed() {
        let mut out = String::new();
        csv_row(&mut out, &["a", "b,c", "say \"hi\"", "=SUM(A1)", "Олена"]);
        assert_eq!(out, "a,\"b,c\",\"say \"\"hi\"\"\",'=SUM(A1),Олена\r\n");
    }

    #[test]
    fn the_to_date_is_inclusive() {
        let filter = AuditQuery {
            from: "2026-12-01".into(),
            to: "2026-12-06".into(),
            ..Default::default()
        }
        .filter();
        assert_eq!(
            filter.before_time.unwrap().to_rfc3339(),
            "2026-12-07T00:00:00+00:00"
        );
        assert_eq!(
            AuditQuery {
                action: "sign in".into(),
                ..Default::default()
            }
            .href("/office/audit", Some(7)),
            "/office/audit?action=sign%20in&before=7"
        );
    }
}
