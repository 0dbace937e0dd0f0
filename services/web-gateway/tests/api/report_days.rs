//! The reports' day tables (kept by triggers, `queries::reports::days`) against the history
//! itself (the per-row reads): a made-up but busy history — orders created, moved, quoted,
//! assigned, delivered and paid around both summer-time changes of Europe/Kyiv, around
//! local midnights, and today up to a minute ago (today's day is still open: some orders
//! are still in a status) — written with the persistence worker's statements in the order
//! it may meet them (a quote recorded after the acceptance it precedes, an assignee changed
//! after the delivery), then every report over many periods and grains read both ways must
//! be the same, figure for figure. Then the tables are rebuilt (the same again), rebuilt for
//! another zone (New York's days: the same as the history read on New York's clock), and
//! a zone the tables are not of is not read from them.

use bureau_platform::business::TimeZone;
use bureau_platform::report_days;
use chrono::{DateTime, Datelike, Days, Duration, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::MySqlPool;
use uuid::Uuid;
use web_gateway::office::reports::queries::{self as sql, Clock, Grain, Range, days};
use web_gateway::office::reports::{start_of, today};

use crate::helpers::*;

const STATUSES_AFTER_ACCEPTED: [&str; 3] = ["in_progress", "ready", "delivered"];

/// Writes one order with a random history starting at `created`, never after `now`.
async fn order(
    db: &MySqlPool,
    rng: &mut StdRng,
    created: DateTime<Utc>,
    now: DateTime<Utc>,
    customer: Uuid,
    staff: &[Uuid],
) {
    let id = Uuid::now_v7();
    let channel = if rng.random_bool(0.6) {
        "telegram"
    } else {
        "web"
    };
    sqlx::query(
        "INSERT INTO orders (id, order_number, order_number_repeat, customer_id, channel, service_code, body,
                             status, status_version, expected_files, created_at, updated_at)
         VALUES (?, ?, 0, ?, ?, 'translation.passport', 'x', 'awaiting_confirmation', 1, 0, ?, ?)",
    )
    .bind(id)
    .bind(format!("{:08}", rng.random_range(0..100_000_000u32)))
    .bind(customer)
    .bind(channel)
    .bind(created)
    .bind(created)
    .execute(db)
    .await
    .unwrap();
    // The first status change's row comes with the order, as `records::order_created` writes it.
    sqlx::query(
        "INSERT INTO order_status_history (order_id, version, from_status, to_status, actor_kind, event_id, changed_at)
         VALUES (?, 1, NULL, 'awaiting_confirmation', 'customer', ?, ?)",
    )
    .bind(id)
    .bind(Uuid::now_v7())
    .bind(created)
    .execute(db)
    .await
    .unwrap();
    let mut history = vec![(None, "awaiting_confirmation", None, created)];
    let quoted = rng.random_bool(0.4);
    let mut path: Vec<&str> = Vec::new();
    if quoted {
        path.push("quoted");
    }
    match rng.random_range(0..10) {
        0 => path.push("cancelled"),
        1 => path.push("rejected"),
        _ => {
            path.push("accepted");
            path.extend(STATUSES_AFTER_ACCEPTED);
            if rng.random_bool(0.2) {
                // Sent back for rework once.
                path.insert(path.len() - 1, "in_progress");
                path.insert(path.len() - 1, "ready");
            }
        }
    }
    let mut at = created;
    let mut quotes = Vec::new();
    for to in path {
        // Seconds to two days, with microseconds: lengths in every range, ties rare.
        at += Duration::microseconds(rng.random_range(1_000_000..172_800_000_000i64));
        if at > now {
            break;
        }
        if to == "quoted" {
            quotes.push(at);
            if rng.random_bool(0.5) {
                // A second quote, still before the answer (the latest is the one accepted).
                quotes.push(at + Duration::seconds(rng.random_range(1..600)));
                at += Duration::seconds(600);
            }
        }
        let actor = staff[rng.random_range(0..staff.len())];
        let from = history.last().map(|h| h.1);
        history.push((from, to, Some(actor), at));
    }
    // Quotes before the history, or (some of them) after it, as a late event would be.
    let late_quotes = rng.random_bool(0.3);
    if !late_quotes {
        insert_quotes(db, rng, id, &quotes).await;
    }
    for (version, (from, to, actor, at)) in history.iter().enumerate().skip(1) {
        sqlx::query(
            "INSERT INTO order_status_history
                 (order_id, version, from_status, to_status, actor_kind, actor_account_id, event_id, changed_at)
             VALUES (?, ?, ?, ?, 'staff', ?, ?, ?)",
        )
        .bind(id)
        .bind(version as u32 + 1)
        .bind(from)
        .bind(to)
        .bind(actor)
        .bind(Uuid::now_v7())
        .bind(at)
        .execute(db)
        .await
        .unwrap();
        sqlx::query(
            "UPDATE orders SET status = ?, status_version = ?, updated_at = ? WHERE id = ?",
        )
        .bind(to)
        .bind(version as u32 + 1)
        .bind(at)
        .bind(id)
        .execute(db)
        .await
        .unwrap();
        if *to == "accepted" && rng.random_bool(0.8) {
            assign(db, id, staff[rng.random_range(0..staff.len())]).await;
        }
    }
    if late_quotes {
        insert_quotes(db, rng, id, &quotes).await;
    }
    if rng.random_bool(0.15) {
        // Reassigned after the work (deliveries move with the order), or unassigned.
        if rng.random_bool(0.8) {
            assign(db, id, staff[rng.random_range(0..staff.len())]).await;
        } else {
            sqlx::query("UPDATE orders SET assignee_id = NULL WHERE id = ?")
                .bind(id)
                .execute(db)
                .await
                .unwrap();
        }
    }
    if history.len() > 2 && rng.random_bool(0.3) {
        for kind in ["payment", "refund"] {
            if kind == "refund" && rng.random_bool(0.5) {
                continue;
            }
            let recorded = history[2].3 + Duration::seconds(rng.random_range(0..200_000));
            if recorded > now {
                continue;
            }
            sqlx::query(
                "INSERT INTO order_payments (id, order_id, kind, method, amount_minor, currency, actor_kind, recorded_at)
                 VALUES (?, ?, ?, ?, ?, ?, 'staff', ?)",
            )
            .bind(Uuid::now_v7())
            .bind(id)
            .bind(kind)
            .bind((kind == "payment").then_some("bank_transfer"))
            .bind(rng.random_range(100..100_000u64))
            .bind(if rng.random_bool(0.8) { "UAH" } else { "EUR" })
            .bind(recorded)
            .execute(db)
            .await
            .unwrap();
        }
    }
}

async fn insert_quotes(db: &MySqlPool, rng: &mut StdRng, order: Uuid, quotes: &[DateTime<Utc>]) {
    for at in quotes {
        sqlx::query(
            "INSERT INTO order_quotes (event_id, order_id, amount_minor, currency, quoted_at)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(Uuid::now_v7())
        .bind(order)
        .bind(rng.random_range(1_000..900_000u64))
        .bind(if rng.random_bool(0.85) { "UAH" } else { "EUR" })
        .bind(at)
        .execute(db)
        .await
        .unwrap();
    }
}

async fn assign(db: &MySqlPool, order: Uuid, assignee: Uuid) {
    sqlx::query("UPDATE orders SET assignee_id = ? WHERE id = ?")
        .bind(assignee)
        .bind(order)
        .execute(db)
        .await
        .unwrap();
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// Every report over `first..=last` by `grain`, from the history and from the day tables:
/// the same.
async fn same_both_ways(
    db: &MySqlPool,
    zone: &TimeZone,
    first: NaiveDate,
    last: NaiveDate,
    grain: Grain,
) -> usize {
    let range = Range {
        from: start_of(zone, first),
        until: start_of(zone, last + Days::new(1)),
    };
    let clock = Clock::of(zone, range);
    let what = format!("{first} — {last} by {grain:?} in {zone:?}");
    let sorted = |mut counts: Vec<sql::CreatedCount>| {
        counts.sort_by(|a, b| {
            (a.bucket, &a.channel, &a.status).cmp(&(b.bucket, &b.channel, &b.status))
        });
        counts
    };
    let raw = sorted(sql::created_counts(db, range, &clock, grain).await.unwrap());
    assert_eq!(
        raw,
        sorted(days::created_counts(db, first, last, grain).await.unwrap()),
        "created, {what}"
    );
    let stays = sql::status_stays(db, range).await.unwrap();
    assert_eq!(
        stays,
        days::status_stays(db, first, last).await.unwrap(),
        "time in each status, {what}"
    );
    assert_eq!(
        sql::turnaround(db, range, &clock, grain).await.unwrap(),
        days::turnaround(db, first, last, grain).await.unwrap(),
        "turnaround, {what}"
    );
    assert_eq!(
        sql::staff_load(db, range).await.unwrap(),
        days::staff_load(db, first, last).await.unwrap(),
        "staff, {what}"
    );
    assert_eq!(
        sql::revenue(db, range, &clock).await.unwrap(),
        days::revenue(db, first, last, range, &clock).await.unwrap(),
        "revenue, {what}"
    );
    raw.len() + stays.len()
}

/// The periods checked: summer time beginning and ending, single days on either side of
/// the changes, the year, and today (still open) alone and with the days before it.
fn periods(today: NaiveDate) -> Vec<(NaiveDate, NaiveDate, Grain)> {
    let mut periods = vec![
        (day("2026-03-01"), day("2026-03-31"), Grain::Day),
        (day("2026-03-28"), day("2026-03-30"), Grain::Day),
        (day("2026-03-29"), day("2026-03-29"), Grain::Week),
        (day("2026-10-01"), day("2026-10-31"), Grain::Week),
        (day("2026-10-25"), day("2026-10-26"), Grain::Day),
        (day("2026-10-24"), day("2026-10-24"), Grain::Month),
        (day("2026-01-01"), today, Grain::Month),
        (day("2026-02-15"), today, Grain::Week),
        (today, today, Grain::Day),
        (today - Days::new(6), today, Grain::Day),
        (today - Days::new(29), today, Grain::Week),
    ];
    periods.retain(|(first, last, _)| first <= last && *last <= today);
    periods
}

#[tokio::test]
async fn the_day_tables_give_the_figures_of_the_history_itself() {
    let gateway = Gateway::start().await;
    let db = gateway.db.clone();
    let kyiv = TimeZone::get("Europe/Kyiv").unwrap();
    // The tables are of Kyiv's days from the start, so the triggers count every row below
    // in them as it is written.
    let rebuilt = report_days::rebuild(&db, &kyiv).await.unwrap();
    assert_eq!(rebuilt.zone, "Europe/Kyiv");
    assert!(days::ready(&db, &kyiv).await.unwrap());

    let mut rng = StdRng::seed_from_u64(85);
    let customer = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO customers (id, display_name, language, created_at, updated_at)
         VALUES (?, 'Oksana', 'uk', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
    )
    .bind(customer)
    .execute(&db)
    .await
    .unwrap();
    let mut staff = Vec::new();
    for n in 0..4 {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO web_accounts (id, email, password_hash, display_name, role, active, created_at)
             VALUES (?, ?, '!', ?, ?, ?, UTC_TIMESTAMP(6))",
        )
        .bind(id)
        .bind(format!("staff{n}@days.example"))
        .bind(format!("Staff {n}"))
        .bind(if n == 0 { "manager" } else { "executor" })
        .bind(n != 3)
        .execute(&db)
        .await
        .unwrap();
        staff.push(id);
    }

    let now = Utc::now();
    let today = today(&kyiv, now);
    // Orders begun around the summer-time changes' nights and local midnights, spread over
    // the year, and today's, up to a minute ago.
    let mut starts: Vec<DateTime<Utc>> = Vec::new();
    for change in ["2026-03-27T20:00:00Z", "2026-10-23T20:00:00Z"] {
        let base = DateTime::parse_from_rfc3339(change).unwrap().to_utc();
        for _ in 0..60 {
            starts.push(base + Duration::seconds(rng.random_range(0..4 * 86_400)));
        }
    }
    let year = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .to_utc();
    let span = (now - year).num_seconds().max(1);
    for _ in 0..120 {
        starts.push(year + Duration::seconds(rng.random_range(0..span)));
    }
    let midnight = start_of(&kyiv, today);
    let since_midnight = (now - midnight).num_seconds().max(61);
    for _ in 0..30 {
        starts.push(midnight + Duration::seconds(rng.random_range(0..since_midnight - 60)));
    }
    for created in starts.into_iter().filter(|at| *at < now) {
        order(&db, &mut rng, created, now, customer, &staff).await;
    }

    let mut figures = 0;
    for (first, last, grain) in periods(today) {
        figures += same_both_ways(&db, &kyiv, first, last, grain).await;
    }
    assert!(
        figures > 50,
        "the history has figures to compare: {figures}"
    );

    // Rebuilt from the history: the same again.
    report_days::rebuild(&db, &kyiv).await.unwrap();
    for (first, last, grain) in periods(today) {
        same_both_ways(&db, &kyiv, first, last, grain).await;
    }

    // Another zone: not read from tables of Kyiv's days; rebuilt for it, its own days.
    let new_york = TimeZone::get("America/New_York").unwrap();
    let rebuilt = report_days::rebuild(&db, &new_york).await.unwrap();
    assert_eq!(rebuilt.zone, "America/New_York");
    assert!(days::ready(&db, &new_york).await.unwrap());
    let ny_today = web_gateway::office::reports::today(&new_york, now);
    for (first, last, grain) in [
        (day("2026-03-01"), day("2026-03-31"), Grain::Day),
        (day("2026-11-01"), day("2026-11-02"), Grain::Day),
        (day("2026-01-01"), ny_today, Grain::Week),
        (ny_today, ny_today, Grain::Day),
    ] {
        if last <= ny_today && first.year() >= 2026 {
            same_both_ways(&db, &new_york, first, last, grain).await;
        }
    }
    // Kyiv's days are not in the tables now: the reports read the history (and a rebuild
    // for Kyiv starts in the background, waited for here so the test leaves nothing running).
    assert!(!days::ready(&db, &kyiv).await.unwrap());
    bureau_test_support::eventually("the tables rebuilt for Kyiv again", DEADLINE, || async {
        days::ready(&db, &kyiv).await.unwrap()
    })
    .await
    .unwrap();
    same_both_ways(&db, &kyiv, day("2026-01-01"), today, Grain::Month).await;
}
