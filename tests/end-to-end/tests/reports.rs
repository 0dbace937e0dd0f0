//! The reports in a real browser (headless Chromium over WebDriver, like `back_office.rs`),
//! against the whole stack: a manager opens the reports over a month of orders and every
//! chart is drawn — its canvas holds pixels of its series' colours, not only axes — by the
//! vendored uPlot under the pages' strict CSP, with no request leaving the gateway; the
//! period form changes the figures; an executor is offered no reports and is refused them.
//! The screenshot `office-reports.png` goes to `target/screenshots/` (or
//! `BUREAU_SCREENSHOTS`, e.g. `docs/screenshots`).

use anyhow::anyhow;
use bureau_accounts::Role;
use bureau_end_to_end::browser::browser;
use bureau_end_to_end::{DEADLINE, TestStack, eventually};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery";

/// Writes an order created at `created` and its status changes (each `hours` after the one
/// before) as the persistence worker does, assigned to `assignee`, with a quote accepted
/// when the path goes through `quoted`.
async fn order(
    stack: &TestStack,
    customer: Uuid,
    channel: &str,
    created: DateTime<Utc>,
    path: &[(&str, i64, Option<Uuid>)],
    assignee: Option<Uuid>,
) -> anyhow::Result<()> {
    let db = &stack.db;
    let id = Uuid::now_v7();
    let number = format!("{}", 20_000_000 + (id.as_u128() % 9_000_000) as u64);
    sqlx::query(
        "INSERT INTO orders (id, order_number, order_number_repeat, customer_id, channel, body, status,
                             status_version, expected_files, assignee_id, created_at, updated_at)
         VALUES (?, ?, 0, ?, ?, 'Translation of a certificate', 'awaiting_confirmation', 1, 0, ?, ?, ?)",
    )
    .bind(id)
    .bind(number)
    .bind(customer)
    .bind(channel)
    .bind(assignee)
    .bind(created)
    .bind(created)
    .execute(db)
    .await?;
    sqlx::query(
        "INSERT INTO order_status_history (order_id, version, from_status, to_status, actor_kind, event_id, changed_at)
         VALUES (?, 1, NULL, 'awaiting_confirmation', 'customer', ?, ?)",
    )
    .bind(id)
    .bind(Uuid::now_v7())
    .bind(created)
    .execute(db)
    .await?;
    let (mut from, mut at) = ("awaiting_confirmation", created);
    for (index, (to, hours, actor)) in path.iter().enumerate() {
        at += Duration::hours(*hours);
        if *to == "quoted" {
            sqlx::query(
                "INSERT INTO order_quotes (event_id, order_id, amount_minor, currency, quoted_at)
                 VALUES (?, ?, ?, 'UAH', ?)",
            )
            .bind(Uuid::now_v7())
            .bind(id)
            .bind(40_000 + 5_000 * index as u64)
            .bind(at)
            .execute(db)
            .await?;
        }
        sqlx::query(
            "INSERT INTO order_status_history
                 (order_id, version, from_status, to_status, actor_kind, actor_account_id, event_id, changed_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(index as u32 + 2)
        .bind(from)
        .bind(to)
        .bind(if actor.is_some() { "staff" } else { "customer" })
        .bind(actor)
        .bind(Uuid::now_v7())
        .bind(at)
        .execute(db)
        .await?;
        sqlx::query("UPDATE orders SET status = ?, status_version = ? WHERE id = ?")
            .bind(to)
            .bind(index as u32 + 2)
            .bind(id)
            .execute(db)
            .await?;
        from = to;
    }
    Ok(())
}

/// Per chart on the page: pixels of its series' colours on its canvas (uPlot draws axes and
/// grid in grey on the same canvas, so these are the data).
const COLOURED_PIXELS: &str = r#"
const palette = [[44, 92, 197], [16, 105, 95], [178, 94, 0], [107, 43, 179]];
return Array.from(document.querySelectorAll(".chart[data-chart]")).map((chart) => {
  const canvas = chart.querySelector("canvas");
  if (!canvas) return { slug: chart.closest("section").id, pixels: -1 };
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let pixels = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] < 200) continue;
    if (palette.some(([r, g, b]) => Math.abs(data[i] - r) < 24 && Math.abs(data[i + 1] - g) < 24 && Math.abs(data[i + 2] - b) < 24)) pixels++;
  }
  return { slug: chart.closest("section").id, pixels, legend: (chart.querySelector(".u-legend") || {}).textContent || "" };
});
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reports_draw_their_charts_and_executors_cannot_reach_them() -> anyhow::Result<()> {
    let Some(browser) = browser().await? else {
        return Ok(());
    };
    let stack = TestStack::start().await?;
    let account = |email: &'static str, name: &'static str, role| {
        let db = stack.db.clone();
        async move {
            bureau_accounts::create_account(&db, email, PASSWORD, name, role)
                .await
                .map_err(|e| anyhow!("{e}"))
        }
    };
    let manager = account("maria@example.com", "Maria Manager", Role::Manager).await?;
    let ivan = account("ivan@example.com", "Ivan Executor", Role::Executor).await?;
    let olha = account("olha@example.com", "Olha Executor", Role::Executor).await?;
    let customer = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO customers (id, display_name, language, created_at, updated_at) VALUES (?, 'Олена Коваль', 'uk', ?, ?)",
    )
    .bind(customer)
    .bind(Utc::now())
    .bind(Utc::now())
    .execute(&stack.db)
    .await?;

    // A month of orders, a few a day: delivered, quoted and accepted, in progress, new.
    let now = Utc::now();
    let mut n = 0i64;
    for day in 0..28i64 {
        for _ in 0..(1 + (day * 7 + 3) % 5) {
            n += 1;
            let created = now - Duration::days(day) - Duration::hours(60 + n % 7);
            let (m, who) = (Some(manager), if n % 2 == 0 { ivan } else { olha });
            let channel = if n % 3 == 0 { "web" } else { "telegram" };
            let path: Vec<(&str, i64, Option<Uuid>)> = match n % 5 {
                0 | 4 => vec![
                    ("accepted", 2, m),
                    ("in_progress", 5, Some(who)),
                    ("ready", 20 + n % 30, Some(who)),
                    ("delivered", 4, m),
                ],
                1 => vec![
                    ("quoted", 1, m),
                    ("accepted", 3 + n % 20, None),
                    ("in_progress", 8, Some(who)),
                    ("ready", 30, Some(who)),
                    ("delivered", 2, m),
                ],
                2 => vec![("accepted", 1, m), ("in_progress", 6, Some(who))],
                _ => vec![],
            };
            order(&stack, customer, channel, created, &path, Some(who)).await?;
        }
    }

    browser
        .sign_in(&stack, "maria@example.com", PASSWORD)
        .await?;
    browser.click(".top nav a[href='/office/reports']").await?;
    browser.find("#report-turnaround").await?;
    let drawn = eventually("every chart drawn", DEADLINE, || async {
        let charts = browser.run(COLOURED_PIXELS).await.ok()?;
        let charts = charts.as_array()?.clone();
        (charts.len() == 6 && charts.iter().all(|c| c["pixels"].as_i64() > Some(40)))
            .then_some(charts)
    })
    .await;
    let drawn = match drawn {
        Ok(charts) => charts,
        Err(error) => {
            let seen = browser.run(COLOURED_PIXELS).await;
            browser.screenshot("office-reports-failed").await.ok();
            return Err(anyhow!("{error}; the charts: {seen:?}"));
        }
    };
    let legends: Vec<&str> = drawn.iter().filter_map(|c| c["legend"].as_str()).collect();
    assert!(
        legends.iter().any(|l| l.contains("Telegram")),
        "{legends:?}"
    );
    assert!(
        legends.iter().any(|l| l.contains("Median, h")),
        "{legends:?}"
    );
    // Nothing but the gateway's own files was loaded (the page works offline).
    let foreign: Value = browser
        .run(
            "return performance.getEntriesByType('resource').map((e) => e.name)\
               .filter((u) => !u.startsWith(location.origin));",
        )
        .await?;
    assert_eq!(
        foreign,
        Value::Array(vec![]),
        "every asset is served by the gateway"
    );
    browser.screenshot("office-reports").await?;
    browser
        .run("document.getElementById('report-time-in-status').scrollIntoView(); return true;")
        .await?;
    browser.screenshot("office-reports-durations").await?;

    // A shorter period: the form keeps it and the figures follow.
    browser
        .click("#report-period select[name=preset] option[value='7d']")
        .await?;
    browser.click("#report-period button[type=submit]").await?;
    // The period's first day is the business's (its zone, Europe/Kyiv by default).
    let zone = bureau_platform::business::time_zone(&stack.settings.business.time_zone)
        .unwrap_or(bureau_platform::business::TimeZone::UTC);
    let first_day = web_gateway::office::reports::today(&zone, now) - Duration::days(6);
    browser
        .text_until(".report-note", |t| t.contains(&first_day.to_string()))
        .await?;
    eventually("the week's charts drawn", DEADLINE, || async {
        let charts = browser.run(COLOURED_PIXELS).await.ok()?;
        charts
            .as_array()?
            .iter()
            .any(|c| c["pixels"].as_i64() > Some(40))
            .then_some(())
    })
    .await?;

    // An executor: no reports in the navigation, and the page refuses them.
    browser.sign_out().await?;
    browser
        .sign_in(&stack, "ivan@example.com", PASSWORD)
        .await?;
    let nav = browser.text_until(".top nav", |_| true).await?;
    assert!(!nav.contains("Reports"), "{nav}");
    browser.go(&stack.web_url("/office/reports")).await?;
    browser
        .text_until("main", |t| {
            t.contains("Reports are for admins and managers")
        })
        .await?;
    browser
        .go(&stack.web_url("/office/reports/orders.csv"))
        .await?;
    browser
        .text_until("main", |t| {
            t.contains("Reports are for admins and managers")
        })
        .await?;

    browser.client.close().await.ok();
    stack.teardown().await
}
