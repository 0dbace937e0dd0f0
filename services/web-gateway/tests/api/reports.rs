//! The reports against a known history: orders created on chosen dates with every status
//! change, assignment and quote written with the persistence worker's own statements, then
//! every figure of every report checked on the page (the rows it embeds for machines) and
//! in its CSV (UTF-8 with BOM, quoted), the orders export row by row, the exports audited,
//! and who may see reports (admins and managers; executors and customers are refused).
//!
//! The history's times are the business's clock (Europe/Kyiv, the default zone), and
//! orders, deliveries and an acceptance fall just after local midnight — still the day
//! before in UTC — so every figure that depends on it proves the days are the business's.
//! Another test crosses a summer-time change and changes the zone on the business page.

use bureau_accounts::{Role, create_account};
use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};
use reqwest::StatusCode;
use uuid::Uuid;

use crate::helpers::*;

/// `2026-11-02 09:00:00` on the business's clock (Europe/Kyiv) as a UTC instant.
fn at(text: &str) -> DateTime<Utc> {
    let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap();
    let zoned = jiff::civil::DateTime::from_parts(
        jiff::civil::Date::new(local.year() as i16, local.month() as i8, local.day() as i8)
            .unwrap(),
        jiff::civil::Time::new(
            local.hour() as i8,
            local.minute() as i8,
            local.second() as i8,
            0,
        )
        .unwrap(),
    )
    .in_tz("Europe/Kyiv")
    .unwrap();
    DateTime::from_timestamp(zoned.timestamp().as_second(), 0).unwrap()
}

/// One status change of a made-up history: when, to what, by whom.
struct Step {
    at: &'static str,
    to: &'static str,
    actor: Option<Uuid>,
}

fn step(at: &'static str, to: &'static str, actor: Option<Uuid>) -> Step {
    Step { at, to, actor }
}

/// A price quote made at `at`.
struct Quote {
    at: &'static str,
    amount_minor: u64,
    currency: &'static str,
}

struct History<'a> {
    number: &'a str,
    channel: &'a str,
    customer: Uuid,
    body: &'a str,
    created: &'a str,
    steps: Vec<Step>,
    quotes: Vec<Quote>,
    assignee: Option<(Uuid, Uuid)>,
}

/// Writes an order and its whole history as the persistence worker does: the order row and
/// its first history row (`records::order_created`), a history row and the order's status
/// and version per recorded change (`decisions::record_change`), the quotes
/// (`records::price_quoted`) and the assignment (`records::order_assigned`).
async fn record(db: &sqlx::MySqlPool, history: History<'_>) -> Uuid {
    let order_id = Uuid::now_v7();
    let created = at(history.created);
    sqlx::query(
        "INSERT INTO orders (id, order_number, order_number_repeat, customer_id, channel, service_code, body,
                             status, status_version, expected_files, created_at, updated_at)
         VALUES (?, ?, 0, ?, ?, ?, ?, ?, 1, 0, ?, ?)",
    )
    .bind(order_id)
    .bind(history.number)
    .bind(history.customer)
    .bind(history.channel)
    .bind("translation.passport")
    .bind(history.body)
    .bind("awaiting_confirmation")
    .bind(created)
    .bind(created)
    .execute(db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT IGNORE INTO order_status_history
             (order_id, version, from_status, to_status, actor_kind, event_id, changed_at)
         VALUES (?, 1, NULL, ?, 'customer', ?, ?)",
    )
    .bind(order_id)
    .bind("awaiting_confirmation")
    .bind(Uuid::now_v7())
    .bind(created)
    .execute(db)
    .await
    .unwrap();
    for quote in &history.quotes {
        sqlx::query(
            "INSERT IGNORE INTO order_quotes (event_id, order_id, amount_minor, currency, note, quoted_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(Uuid::now_v7())
        .bind(order_id)
        .bind(quote.amount_minor)
        .bind(quote.currency)
        .bind(None::<String>)
        .bind(at(quote.at))
        .execute(db)
        .await
        .unwrap();
    }
    let mut from = "awaiting_confirmation";
    for (index, step) in history.steps.iter().enumerate() {
        let version = index as u32 + 2;
        let when = at(step.at);
        let (kind, account) = match step.actor {
            Some(id) => ("staff", Some(id)),
            None => ("customer", None),
        };
        sqlx::query(
            "INSERT INTO order_status_history
                 (order_id, version, from_status, to_status, actor_kind, actor_account_id, reason, event_id, changed_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(order_id)
        .bind(version)
        .bind(from)
        .bind(step.to)
        .bind(kind)
        .bind(account)
        .bind(None::<String>)
        .bind(Uuid::now_v7())
        .bind(when)
        .execute(db)
        .await
        .unwrap();
        sqlx::query(
            "UPDATE orders SET status = ?, status_version = ?, updated_at = ? WHERE id = ?",
        )
        .bind(step.to)
        .bind(version)
        .bind(when)
        .bind(order_id)
        .execute(db)
        .await
        .unwrap();
        from = step.to;
    }
    if let Some((assignee, actor)) = history.assignee {
        sqlx::query(
            "INSERT IGNORE INTO order_assignments (event_id, order_id, assignee_id, actor_account_id, assigned_at)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(Uuid::now_v7())
        .bind(order_id)
        .bind(assignee)
        .bind(actor)
        .bind(created)
        .execute(db)
        .await
        .unwrap();
        sqlx::query(
            "UPDATE orders SET assignee_id = (
                 SELECT assignee_id FROM order_assignments WHERE order_id = ?
                 ORDER BY assigned_at DESC, event_id DESC LIMIT 1)
             WHERE id = ?",
        )
        .bind(order_id)
        .bind(order_id)
        .execute(db)
        .await
        .unwrap();
    }
    order_id
}

async fn customer(db: &sqlx::MySqlPool, name: &str, telegram: Option<(i64, &str)>) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO customers (id, display_name, phone, language, telegram_user_id, telegram_chat_id,
                                telegram_username, created_at, updated_at)
         VALUES (?, ?, ?, 'uk', ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(name)
    .bind(telegram.map(|_| "+380501234567"))
    .bind(telegram.map(|(user, _)| user))
    .bind(telegram.map(|(user, _)| user))
    .bind(telegram.map(|(_, username)| username))
    .bind(at("2026-10-01 00:00:00"))
    .bind(at("2026-10-01 00:00:00"))
    .execute(db)
    .await
    .unwrap();
    id
}

async fn get(gateway: &Gateway, token: &str, path: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(DEADLINE)
        .build()
        .unwrap()
        .get(gateway.url(path))
        .header("cookie", format!("bureau_session={token}"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
}

/// Undoes askama's escaping of an attribute.
fn unescape(text: &str) -> String {
    text.replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
}

/// The rows a report's table embeds on the page (`data-rows`), as the CSV has them.
fn page_rows(html: &str, slug: &str) -> Vec<Vec<String>> {
    let marker = format!("data-report=\"{slug}\" data-rows=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("the page has no table {slug}"))
        + marker.len();
    let end = start + html[start..].find('"').unwrap();
    serde_json::from_str(&unescape(&html[start..end])).unwrap()
}

/// A CSV download: its BOM checked, its headings and rows.
async fn csv_of(gateway: &Gateway, token: &str, path: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let response = get(gateway, token, path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"bureau-"),
        "{disposition}"
    );
    let bytes = response.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 BOM first");
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let headings = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (headings, rows)
}

/// A report's slug, its CSV headings and its rows.
type Expected = (&'static str, &'static [&'static str], Vec<Vec<String>>);

fn strings(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|row| row.iter().map(|c| c.to_string()).collect())
        .collect()
}

#[tokio::test]
async fn every_figure_of_every_report_matches_a_known_history_on_the_page_and_in_csv() {
    let gateway = Gateway::start().await;
    let db = gateway.db.clone();
    // The day tables are of Kyiv's days before the history is written, so the triggers
    // count it as it comes and every figure below is read from them (`queries::reports::days`;
    // the next test reads the history itself while the tables are of another zone).
    let kyiv = bureau_platform::business::TimeZone::get("Europe/Kyiv").unwrap();
    bureau_platform::report_days::rebuild(&db, &kyiv)
        .await
        .unwrap();
    let account = |email: &'static str, name: &'static str, role| {
        let db = db.clone();
        async move {
            create_account(&db, email, PASSWORD, name, role)
                .await
                .unwrap()
        }
    };
    let admin = account("ada@bureau.example", "Ada Admin", Role::Admin).await;
    let manager = account("marta@bureau.example", "Marta Manager", Role::Manager).await;
    let ivan = account("ivan@bureau.example", "Ivan Executor", Role::Executor).await;
    let oksana = account("oksana@bureau.example", "Oksana Executor", Role::Executor).await;
    let former = account("petro@bureau.example", "Petro Former", Role::Executor).await;
    sqlx::query("UPDATE web_accounts SET active = FALSE WHERE id = ?")
        .bind(former)
        .execute(&db)
        .await
        .unwrap();
    let taras = customer(&db, "Тарас Шевченко", Some((7001, "taras"))).await;
    let lesya = customer(&db, "Леся Українка", None).await;
    let m = Some(manager);
    let (i, o) = (Some(ivan), Some(oksana));

    // Created before the period, delivered within it.
    record(
        &db,
        History {
            number: "10000007",
            channel: "telegram",
            customer: taras,
            body: "before",
            created: "2026-10-31 23:59:59",
            steps: vec![
                step("2026-11-01 09:00:00", "accepted", m),
                step("2026-11-01 10:00:00", "in_progress", o),
                step("2026-11-02 10:00:00", "ready", o),
                step("2026-11-02 12:00:00", "delivered", m),
            ],
            quotes: vec![],
            assignee: Some((oksana, manager)),
        },
    )
    .await;
    let diploma = record(
        &db,
        History {
            number: "10000001",
            channel: "web",
            customer: lesya,
            body: "Переклад диплому, \"терміново\"\nдва примірники",
            created: "2026-11-02 09:00:00",
            steps: vec![
                step("2026-11-02 10:00:00", "quoted", m),
                step("2026-11-02 12:00:00", "accepted", None),
                step("2026-11-03 09:00:00", "in_progress", i),
                step("2026-11-04 09:00:00", "ready", i),
                step("2026-11-04 15:00:00", "delivered", m),
            ],
            quotes: vec![Quote {
                at: "2026-11-02 10:00:00",
                amount_minor: 100_000,
                currency: "UAH",
            }],
            assignee: Some((ivan, manager)),
        },
    )
    .await;
    record(
        &db,
        History {
            number: "10000002",
            channel: "telegram",
            customer: taras,
            body: "passport",
            created: "2026-11-03 10:00:00",
            steps: vec![
                step("2026-11-03 14:00:00", "accepted", m),
                step("2026-11-04 10:00:00", "in_progress", i),
                step("2026-11-05 10:00:00", "ready", i),
                step("2026-11-06 10:00:00", "delivered", m),
            ],
            quotes: vec![],
            assignee: Some((ivan, manager)),
        },
    )
    .await;
    // Accepted by staff for the customer, then rejected: the quote still counts.
    record(
        &db,
        History {
            number: "10000009",
            channel: "telegram",
            customer: taras,
            body: "apostille",
            created: "2026-11-05 10:00:00",
            steps: vec![
                step("2026-11-05 11:00:00", "quoted", m),
                step("2026-11-05 12:00:00", "accepted", m),
                step("2026-11-06 09:00:00", "rejected", m),
            ],
            quotes: vec![Quote {
                at: "2026-11-05 11:00:00",
                amount_minor: 12_345,
                currency: "USD",
            }],
            assignee: None,
        },
    )
    .await;
    // Quoted twice: the latest quote before the acceptance is the one accepted.
    record(
        &db,
        History {
            number: "10000003",
            channel: "telegram",
            customer: taras,
            body: "contract",
            created: "2026-11-10 08:00:00",
            steps: vec![
                step("2026-11-10 09:00:00", "quoted", m),
                step("2026-11-10 13:00:00", "accepted", None),
                step("2026-11-11 09:00:00", "in_progress", o),
            ],
            quotes: vec![
                Quote {
                    at: "2026-11-10 09:00:00",
                    amount_minor: 50_000,
                    currency: "UAH",
                },
                Quote {
                    at: "2026-11-10 11:00:00",
                    amount_minor: 45_000,
                    currency: "UAH",
                },
            ],
            assignee: Some((oksana, manager)),
        },
    )
    .await;
    record(
        &db,
        History {
            number: "10000004",
            channel: "web",
            customer: lesya,
            body: "cancelled",
            created: "2026-11-16 12:00:00",
            steps: vec![step("2026-11-16 13:00:00", "cancelled", None)],
            quotes: vec![],
            assignee: None,
        },
    )
    .await;
    // Sent back for rework once: two stays in progress, two in ready.
    record(
        &db,
        History {
            number: "10000010",
            channel: "web",
            customer: lesya,
            body: "rework",
            created: "2026-11-17 09:00:00",
            steps: vec![
                step("2026-11-17 10:00:00", "accepted", m),
                step("2026-11-17 11:00:00", "in_progress", i),
                step("2026-11-18 11:00:00", "ready", i),
                step("2026-11-18 15:00:00", "in_progress", m),
                step("2026-11-19 11:00:00", "ready", i),
                step("2026-11-20 11:00:00", "delivered", m),
            ],
            quotes: vec![],
            assignee: Some((ivan, manager)),
        },
    )
    .await;
    record(
        &db,
        History {
            number: "10000005",
            channel: "telegram",
            customer: taras,
            body: "waiting",
            created: "2026-11-24 09:00:00",
            steps: vec![],
            quotes: vec![],
            assignee: Some((oksana, manager)),
        },
    )
    .await;
    // Paid in full, part refunded later; a payment ten minutes into 1 December local time
    // (30 November in UTC) is outside the period.
    for (kind, amount_minor, recorded) in [
        ("payment", 100_000u64, "2026-11-04 15:00:00"),
        ("refund", 5_000, "2026-11-20 10:00:00"),
        ("payment", 7_000, "2026-12-01 00:10:00"),
    ] {
        sqlx::query(
            "INSERT INTO order_payments (id, order_id, kind, method, amount_minor, currency, actor_kind, recorded_at)
             VALUES (?, ?, ?, ?, ?, 'UAH', 'staff', ?)",
        )
        .bind(Uuid::now_v7())
        .bind(diploma)
        .bind(kind)
        .bind((kind == "payment").then_some("bank_transfer"))
        .bind(amount_minor)
        .bind(at(recorded))
        .execute(&db)
        .await
        .unwrap();
    }
    // Just after local midnight, the Monday the third week begins: still Sunday in UTC.
    record(
        &db,
        History {
            number: "10000011",
            channel: "telegram",
            customer: taras,
            body: "after midnight",
            created: "2026-11-16 00:30:00",
            steps: vec![],
            quotes: vec![],
            assignee: None,
        },
    )
    .await;
    // Worked through a Sunday evening, delivered after local midnight: Monday's week.
    record(
        &db,
        History {
            number: "10000012",
            channel: "web",
            customer: lesya,
            body: "late evening",
            created: "2026-11-08 21:00:00",
            steps: vec![
                step("2026-11-08 21:30:00", "accepted", m),
                step("2026-11-08 22:00:00", "in_progress", o),
                step("2026-11-08 23:30:00", "ready", o),
                step("2026-11-09 00:30:00", "delivered", m),
            ],
            quotes: vec![],
            assignee: Some((oksana, manager)),
        },
    )
    .await;
    // Created and quoted on 31 October, accepted half an hour into 1 November local time
    // (still October in UTC): November's revenue, and a stay in "quoted" ended in the period.
    record(
        &db,
        History {
            number: "10000013",
            channel: "telegram",
            customer: taras,
            body: "accepted after midnight",
            created: "2026-10-31 22:00:00",
            steps: vec![
                step("2026-10-31 23:00:00", "quoted", m),
                step("2026-11-01 00:30:00", "accepted", None),
            ],
            quotes: vec![Quote {
                at: "2026-10-31 23:00:00",
                amount_minor: 20_000,
                currency: "UAH",
            }],
            assignee: None,
        },
    )
    .await;
    // The period's last instant, and the first after it (local: 22:00 UTC on 30 November).
    record(
        &db,
        History {
            number: "10000006",
            channel: "web",
            customer: lesya,
            body: "last",
            created: "2026-11-30 23:59:59",
            steps: vec![],
            quotes: vec![],
            assignee: None,
        },
    )
    .await;
    record(
        &db,
        History {
            number: "10000008",
            channel: "web",
            customer: lesya,
            body: "after",
            created: "2026-12-01 00:00:00",
            steps: vec![],
            quotes: vec![],
            assignee: None,
        },
    )
    .await;

    let token = gateway.log_in("ada@bureau.example").await;
    let query = "preset=custom&from=2026-11-01&to=2026-11-30&by=week";
    let response = get(&gateway, &token, &format!("/office/reports?{query}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let html = response.text().await.unwrap();
    assert!(
        html.contains("counted in the business&#39;s time zone")
            && html.contains("<span id=\"report-zone\">Europe/Kyiv</span>"),
        "the page states its time zone"
    );
    assert!(html.contains("/office/assets/uplot.min.js") && html.contains("data-chart="));

    let expected: [Expected; 6] = [
        (
            "created-by-channel",
            &["Period", "Telegram", "Web", "Total"],
            // In UTC days 10000011 would fall in the week of 9 November and 10000008
            // (22:00 UTC on 30 November) in the period.
            strings(&[
                &["2026-10-26", "0", "0", "0"],
                &["2026-11-02", "2", "2", "4"],
                &["2026-11-09", "1", "0", "1"],
                &["2026-11-16", "1", "2", "3"],
                &["2026-11-23", "1", "0", "1"],
                &["2026-11-30", "0", "1", "1"],
                &["Total", "5", "5", "10"],
            ]),
        ),
        (
            "created-by-status",
            &[
                "Period",
                "New",
                "Quoted",
                "Accepted",
                "In progress",
                "Ready",
                "Delivered",
                "Cancelled",
                "Rejected",
                "Total",
            ],
            strings(&[
                &["2026-10-26", "0", "0", "0", "0", "0", "0", "0", "0", "0"],
                &["2026-11-02", "0", "0", "0", "0", "0", "3", "0", "1", "4"],
                &["2026-11-09", "0", "0", "0", "1", "0", "0", "0", "0", "1"],
                &["2026-11-16", "1", "0", "0", "0", "0", "1", "1", "0", "3"],
                &["2026-11-23", "1", "0", "0", "0", "0", "0", "0", "0", "1"],
                &["2026-11-30", "1", "0", "0", "0", "0", "0", "0", "0", "1"],
                &["Total", "3", "0", "0", "1", "0", "4", "1", "1", "10"],
            ]),
        ),
        (
            // Seconds. New: 1800, 3600 ×5, 14400, 32401 → p90 interpolates
            // 14400 + 0.3 × 18001. Quoted: 3600, 5400 (10000013's, ended at 00:30 local on
            // 1 November: outside the period in UTC), 7200, 14400.
            "time-in-status",
            &["Status", "Stays", "Median, s", "90th percentile, s"],
            strings(&[
                &["New", "8", "3600", "19800"],
                &["Quoted", "4", "6300", "12240"],
                &["Accepted", "7", "72000", "75600"],
                &["In progress", "6", "86400", "86400"],
                &["Ready", "6", "18000", "86400"],
            ]),
        ),
        (
            // Delivered: 12600 (at 00:30 local on Monday 9 November: Sunday in UTC, the
            // week before), 129601 (created before the period), 194400, 259200, 266400.
            "turnaround",
            &["Period", "Delivered", "Median, s", "90th percentile, s"],
            strings(&[
                &["Whole period", "5", "194400", "263520"],
                &["2026-11-02", "3", "194400", "246240"],
                &["2026-11-09", "1", "12600", "12600"],
                &["2026-11-16", "1", "266400", "266400"],
            ]),
        ),
        (
            "staff",
            &["Staff member", "Role", "Finished", "Delivered", "Open now"],
            strings(&[
                &["Ivan Executor", "executor", "4", "3", "0"],
                &["Oksana Executor", "executor", "2", "2", "2"],
                &["Ada Admin", "admin", "0", "0", "0"],
                &["Marta Manager", "manager", "0", "0", "0"],
            ]),
        ),
        (
            "revenue",
            &["Month", "Source", "Currency", "Orders", "Amount"],
            strings(&[
                &["2026-11", "Payments", "UAH", "1", "950.00"],
                &["2026-11", "Accepted quotes", "UAH", "3", "1650.00"],
                &["2026-11", "Accepted quotes", "USD", "1", "123.45"],
            ]),
        ),
    ];
    for (slug, headings, rows) in &expected {
        assert_eq!(&page_rows(&html, slug), rows, "{slug} on the page");
        let (csv_headings, csv_rows) = csv_of(
            &gateway,
            &token,
            &format!("/office/reports/{slug}.csv?{query}"),
        )
        .await;
        assert_eq!(csv_headings, *headings, "{slug} CSV headings");
        assert_eq!(&csv_rows, rows, "{slug} CSV rows");
    }
    // The page shows the same figures for people.
    assert!(
        html.contains("2 d 6 h"),
        "the whole period's median turnaround, 194400 s"
    );
    assert!(html.contains("1650.00 UAH"));

    // Every order of the period, oldest first, text quoted and kept whole.
    let (headings, rows) = csv_of(
        &gateway,
        &token,
        &format!("/office/reports/orders.csv?{query}"),
    )
    .await;
    assert_eq!(
        headings,
        [
            "Number",
            "Created (Europe/Kyiv)",
            "Channel",
            "Service",
            "Status",
            "Customer",
            "Phone",
            "Telegram",
            "Assignee",
            "Delivered (Europe/Kyiv)",
            "Description"
        ]
    );
    let numbers: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        numbers,
        [
            "10000001", "10000002", "10000009", "10000012", "10000003", "10000011", "10000004",
            "10000010", "10000005", "10000006"
        ]
    );
    assert_eq!(
        rows[0],
        [
            "10000001",
            "2026-11-02 09:00:00",
            "Web",
            "translation.passport",
            "Delivered",
            "Леся Українка",
            "",
            "",
            "Ivan Executor",
            "2026-11-04 15:00:00",
            "Переклад диплому, \"терміново\"\nдва примірники"
        ]
    );
    assert_eq!(
        rows[1][..10],
        [
            "10000002",
            "2026-11-03 10:00:00",
            "Telegram",
            "translation.passport",
            "Delivered",
            "Тарас Шевченко",
            "+380501234567",
            "@taras",
            "Ivan Executor",
            "2026-11-06 10:00:00"
        ]
    );
    // Times on the business's clock.
    assert_eq!(rows[3][1], "2026-11-08 21:00:00");
    assert_eq!(rows[3][9], "2026-11-09 00:30:00");
    assert_eq!(rows[5][1], "2026-11-16 00:30:00");
    assert_eq!(rows[9][1], "2026-11-30 23:59:59");
    assert_eq!(rows[9][9], "", "not delivered");

    let (exports,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM staff_audit WHERE action = 'reports.export' AND account_id = ?",
    )
    .bind(admin)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(exports, 7, "every export is in the audit log");
    gateway.finish().await;
}

#[tokio::test]
async fn reports_are_for_admins_and_managers_only() {
    let gateway = Gateway::start().await;
    for (email, role) in [
        ("admin@bureau.example", Role::Admin),
        ("manager@bureau.example", Role::Manager),
        ("executor@bureau.example", Role::Executor),
    ] {
        create_account(&gateway.db, email, PASSWORD, "Staff", role)
            .await
            .unwrap();
    }
    let (_, customer) = gateway.customer("olena@example.com").await;
    for (email, allowed) in [
        ("admin@bureau.example", true),
        ("manager@bureau.example", true),
        ("executor@bureau.example", false),
    ] {
        let token = gateway.log_in(email).await;
        for path in [
            "/office/reports",
            "/office/reports/staff.csv",
            "/office/reports/orders.csv?preset=7d",
        ] {
            let status = get(&gateway, &token, path).await.status();
            let want = if allowed {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(status, want, "{email} {path}");
        }
        let list = get(&gateway, &token, "/office").await.text().await.unwrap();
        assert_eq!(
            list.contains("href=\"/office/reports\""),
            allowed,
            "{email}: the navigation offers reports only where they open"
        );
    }
    let refused = get(&gateway, &customer, "/office/reports").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let anonymous = get(&gateway, "nothing", "/office/reports/orders.csv").await;
    assert!(anonymous.status().is_redirection());
    assert_eq!(anonymous.headers()["location"], "/office/sign-in");
    // Bad dates are said, in the reader's language, and the default period is shown.
    let token = gateway.log_in("manager@bureau.example").await;
    let page = get(
        &gateway,
        &token,
        "/office/reports?preset=custom&from=2026-11-30&to=2026-11-01",
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(page.contains("The period starts after it ends"), "{page}");
    let unknown = get(&gateway, &token, "/office/reports/nothing.csv").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    gateway.finish().await;
}

/// Orders created around the night summer time began in Kyiv (29 March 2026, 03:00 → 04:00
/// local, 01:00 UTC), counted by day: each on its local date, the offset changing within
/// the period. Then the admin sets the business's zone to New York on the business page (a
/// bad name refused next to the field) and the same orders fall on New York's dates.
#[tokio::test]
async fn days_follow_the_business_time_zone_through_summer_time_and_a_change_of_zone() {
    let gateway = Gateway::start().await;
    let db = gateway.db.clone();
    create_account(
        &db,
        "ada@bureau.example",
        PASSWORD,
        "Ada Admin",
        Role::Admin,
    )
    .await
    .unwrap();
    let lesya = customer(&db, "Леся Українка", None).await;
    // Kyiv local times; in UTC: 03-28 21:30, 03-28 22:30, 03-29 20:30, 03-29 21:30.
    for (number, created) in [
        ("20000001", "2026-03-28 23:30:00"),
        ("20000002", "2026-03-29 00:30:00"),
        ("20000003", "2026-03-29 23:30:00"),
        ("20000004", "2026-03-30 00:30:00"),
    ] {
        record(
            &db,
            History {
                number,
                channel: "web",
                customer: lesya,
                body: "spring",
                created,
                steps: vec![],
                quotes: vec![],
                assignee: None,
            },
        )
        .await;
    }
    let token = gateway.log_in("ada@bureau.example").await;
    let query = "preset=custom&from=2026-03-28&to=2026-03-30&by=day";
    let by_day = |html: &str| {
        page_rows(html, "created-by-channel")
            .into_iter()
            .map(|row| (row[0].clone(), row[3].clone()))
            .collect::<Vec<_>>()
    };
    let pairs = |rows: &[(&str, &str)]| {
        rows.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<Vec<_>>()
    };
    let html = get(&gateway, &token, &format!("/office/reports?{query}"))
        .await
        .text()
        .await
        .unwrap();
    // In UTC it would be 2, 2, 0.
    assert_eq!(
        by_day(&html),
        pairs(&[
            ("2026-03-28", "1"),
            ("2026-03-29", "2"),
            ("2026-03-30", "1"),
            ("Total", "4")
        ])
    );

    // A name the tz database does not know is refused next to the field; nothing changes.
    let form = |zone: &'static str| {
        [
            ("name", ""),
            ("phone", ""),
            ("email", ""),
            ("hours", ""),
            ("greeting_uk", ""),
            ("greeting_en", ""),
            ("time_zone", zone),
        ]
    };
    let post = |zone: &'static str| {
        let (gateway, token) = (&gateway, &token);
        async move {
            let response = reqwest::Client::new()
                .post(gateway.url("/office/business"))
                .header("cookie", format!("bureau_session={token}"))
                .header("origin", gateway.url(""))
                .header("accept-language", "en")
                .form(&form(zone))
                .send()
                .await
                .unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    let (status, page) = post("Europe/Kyv").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Unknown time zone"), "{page}");
    let (status, page) = post("america/new_york").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("value=\"America/New_York\""),
        "saved as the database spells it"
    );
    let stored: Option<String> =
        sqlx::query_scalar("SELECT time_zone FROM business_details WHERE id = 1")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(stored.as_deref(), Some("America/New_York"));

    // New York (summer time since 8 March, UTC−4): 17:30 and 18:30 on the 28th, 16:30 and
    // 17:30 on the 29th.
    let html = get(&gateway, &token, &format!("/office/reports?{query}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("<span id=\"report-zone\">America/New_York</span>"));
    assert_eq!(
        by_day(&html),
        pairs(&[
            ("2026-03-28", "2"),
            ("2026-03-29", "2"),
            ("2026-03-30", "0"),
            ("Total", "4")
        ])
    );
    let (headings, rows) = csv_of(
        &gateway,
        &token,
        &format!("/office/reports/orders.csv?{query}"),
    )
    .await;
    assert_eq!(headings[1], "Created (America/New_York)");
    assert_eq!(rows[0][1], "2026-03-28 17:30:00");
    assert_eq!(rows[3][1], "2026-03-29 17:30:00");
    gateway.finish().await;
}
