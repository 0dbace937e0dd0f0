//! Metrics everywhere: every service serves `/metrics`; one order's journey moves the
//! counters of HTTP routes (by matched route, never a raw path), the bus, S3, the database
//! pool and Telegram; and every metric the Grafana dashboard and the Prometheus alert rules
//! in `deploy/observability/` query is exported by the running services.

use std::collections::BTreeSet;

use anyhow::Context;
use bureau_end_to_end::web::{change_status, staff};
use bureau_end_to_end::{DEADLINE, Service, TestStack, eventually, random_bytes};
use serde_json::Value;
use sqlx::Row;
use uuid::Uuid;

/// Words of PromQL that are not metric names.
const PROMQL_WORDS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "rate",
    "irate",
    "increase",
    "deriv",
    "delta",
    "histogram_quantile",
    "by",
    "without",
    "and",
    "or",
    "unless",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "abs",
    "clamp_min",
    "clamp_max",
    "time",
    "offset",
    "bool",
];

/// Series Prometheus makes itself rather than scraping them.
const PROMETHEUS_OWN: &[&str] = &["up"];

/// The metric names a PromQL expression reads: identifiers outside label matchers,
/// ranges, strings and `by (...)`-like label lists, that are not PromQL's own words.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut plain = String::new();
    let (mut depth, mut in_string) = (0, false);
    for c in expr.chars() {
        match c {
            '"' => in_string = !in_string,
            _ if in_string => {}
            '{' | '[' => depth += 1,
            '}' | ']' => depth -= 1,
            _ if depth > 0 => {}
            _ => {
                plain.push(c);
                continue;
            }
        }
        plain.push(' ');
    }
    let spaced = plain.replace('(', " ( ").replace(')', " ) ");
    let tokens: Vec<&str> = spaced
        .split(|c: char| !(c.is_ascii_alphanumeric() || "_:()".contains(c)))
        .filter(|token| !token.is_empty())
        .collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i];
        if ["by", "without", "on", "ignoring"].contains(&token) && tokens.get(i + 1) == Some(&"(") {
            while i < tokens.len() && tokens[i] != ")" {
                i += 1;
            }
        } else if token.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && !PROMQL_WORDS.contains(&token)
            && !PROMETHEUS_OWN.contains(&token)
        {
            names.insert(token.to_owned());
        }
        i += 1;
    }
    names
}

fn repository_file(path: &str) -> anyhow::Result<String> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    std::fs::read_to_string(format!("{root}/{path}")).with_context(|| format!("reading {path}"))
}

/// Every expression the dashboard's panels and the alert rules query.
fn queried_expressions() -> anyhow::Result<Vec<String>> {
    let dashboard: Value = serde_json::from_str(&repository_file(
        "deploy/observability/grafana-dashboard.json",
    )?)?;
    let mut expressions = Vec::new();
    for panel in dashboard["panels"].as_array().context("panels")? {
        for target in panel["targets"].as_array().context("targets")? {
            expressions.push(target["expr"].as_str().context("expr")?.to_owned());
        }
    }
    let rules = repository_file("deploy/observability/alert-rules.yml")?;
    let alerts: Vec<String> = rules
        .lines()
        .filter_map(|line| line.trim().strip_prefix("expr:"))
        .map(|expr| expr.trim().to_owned())
        .collect();
    anyhow::ensure!(
        alerts.len() >= 4,
        "the alert rules hold {} expressions",
        alerts.len()
    );
    expressions.extend(alerts);
    Ok(expressions)
}

/// The metric names in a Prometheus text exposition.
fn exported_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| line.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

/// The value of one series (name and labels exactly as exported).
fn series_value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

async fn scrape(stack: &TestStack, service: Service) -> anyhow::Result<String> {
    let response = stack
        .http
        .get(format!("http://{}/metrics", stack.addr(service)))
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "{service:?} /metrics: {}",
        response.status()
    );
    Ok(response.text().await?)
}

#[test]
fn metric_names_are_read_out_of_promql() {
    let names = metric_names(
        r#"histogram_quantile(0.95, sum by (route, le) (rate(http_request_duration_seconds_bucket{route!="x"}[5m]))) or up{job=~"b.*"} == 0"#,
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        vec!["http_request_duration_seconds_bucket".to_owned()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_exports_what_the_dashboard_and_the_alerts_query() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;

    // One order's journey: a Telegram order with a document (bot, bus, storage worker and
    // S3, persistence worker and MySQL), then a staff change pushed to the customer
    // (web gateway, notifier and Telegram).
    let user = stack.telegram.user_with(7301, "Ірина", "uk");
    let chat = user.id();
    user.send_text("/start");
    stack
        .telegram
        .wait_for_message(chat, DEADLINE, |m| m.reply_markup.is_some())
        .await?;
    let number = bureau_end_to_end::telegram_customer::place_order(
        &stack.telegram,
        &user,
        "Переклад довідки",
        &[(
            "довідка.pdf",
            "application/pdf",
            random_bytes(64 * 1024),
            None,
        )],
        DEADLINE,
    )
    .await?;
    let order_id: Uuid = eventually("the order stored with its file", DEADLINE, || async {
        let row = sqlx::query(
            "SELECT o.id FROM orders o JOIN order_files f ON f.order_id = o.id
             WHERE o.order_number = ? AND f.state = 'stored'",
        )
        .bind(&number)
        .fetch_optional(&stack.db)
        .await
        .ok()??;
        Some(row.get("id"))
    })
    .await?;
    let manager = staff(
        &stack,
        "metrics-manager@example.com",
        bureau_accounts::Role::Manager,
    )
    .await?;
    let changed = change_status(&stack, &manager, order_id, "accepted").await?;
    anyhow::ensure!(
        changed.status() == 202,
        "status change: {}",
        changed.status()
    );

    // Every service answers /metrics; together they export every name queried, once the
    // notifier has pushed the change.
    let queried: BTreeSet<String> = queried_expressions()?
        .iter()
        .flat_map(|expr| metric_names(expr))
        .collect();
    let mut exported = BTreeSet::new();
    let pushed = eventually(
        "the change pushed and every queried metric exported",
        DEADLINE,
        || {
            let (stack, queried) = (&stack, &queried);
            async move {
                let mut exported = BTreeSet::new();
                for service in Service::ALL {
                    exported.extend(exported_names(&scrape(stack, service).await.ok()?));
                }
                let sent = series_value(
                    &scrape(stack, Service::Notifier).await.ok()?,
                    r#"telegram_sends_total{outcome="sent"}"#,
                )?;
                (sent > 0.0 && queried.is_subset(&exported)).then_some(())
            }
        },
    )
    .await;
    if pushed.is_err() {
        for service in Service::ALL {
            exported.extend(exported_names(&scrape(&stack, service).await?));
        }
        let missing: Vec<&String> = queried.difference(&exported).collect();
        anyhow::bail!("no push seen, or queried but not exported: {missing:?}");
    }

    // Routes are matched paths: the order's id is nowhere in the HTTP series.
    let web = scrape(&stack, Service::WebGateway).await?;
    let http_lines: Vec<&str> = web
        .lines()
        .filter(|line| line.starts_with("http_requests_total{"))
        .collect();
    assert!(
        http_lines
            .iter()
            .any(|line| line.contains(r#"route="/api/staff/orders/{"#)
                && line.contains(r#"status="202""#)),
        "the status change is counted under its route: {http_lines:#?}"
    );
    assert!(
        !web.contains(&order_id.to_string()),
        "no raw path (with an id) in the metrics"
    );
    // The journey moved the bus, S3 and the database pool.
    let notifier = scrape(&stack, Service::Notifier).await?;
    for series in [
        r#"bus_events_published_total{event_type="order.created"}"#,
        r#"bus_events_consumed_total{consumer="notifier",event_type="order.status.changed"}"#,
        r#"s3_bytes_total{direction="upload"}"#,
        "db_pool_max_connections",
    ] {
        let value =
            series_value(&notifier, series).with_context(|| format!("{series} exported"))?;
        assert!(value > 0.0, "{series} = {value}");
    }
    stack.teardown().await
}
