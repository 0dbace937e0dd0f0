//! `bench-reports`: the back office's reports on a large history — each report's answer time
//! (p50 / p95 / max) for several periods, and the full orders CSV's rate with the gateway's
//! memory watched, against raw baselines measured in the same run.
//!
//! ```text
//! cargo build -p web-gateway -p bureau-benchmarks --bin web-gateway --bin bench-reports
//! target/debug/bench-reports --bin-dir target/debug --orders 2000      # a quick check
//! cargo build --release -p web-gateway -p bureau-benchmarks --bin web-gateway --bin bench-reports
//! target/release/bench-reports --bin-dir target/release                # 100,000 orders
//! ```
//!
//! Against the shared local stack (`scripts/stack up`), with a fresh database (dropped at
//! the end), broker namespace and bucket. It seeds `--orders` orders (100,000) spread over
//! `--days` days (730) with their whole histories — status changes by staff and customers,
//! price quotes, assignees — in multi-row inserts, then starts the real `web-gateway`
//! binary as a child process (its memory is its own) and signs an admin in. Then:
//!
//! 1. **reports**: for each period (the last 30 days, this year, everything), each report's
//!    CSV (`/office/reports/{report}.csv`: exactly that report's query and table) and the
//!    whole page (all six reports, rendered) are asked `--samples` times one after another;
//!    the time is from the request to the last byte on loopback, so it bounds the server's
//!    time from above. Baseline: the same report's SQL run directly by this process — the
//!    day tables' reads (`web_gateway::office::reports::queries::days`, what the gateway
//!    runs), so the difference is the gateway's own share (HTTP, session, shaping, CSV or
//!    HTML) — and, for comparison, the per-row reads of the history the day tables replace
//!    (`queries`). Before timing, every report of every period is read both ways and must
//!    be the same (the day tables are checked against the history on 100,000 orders).
//! 2. **orders CSV**: `/office/reports/orders.csv` for everything, `--exports` times, rows
//!    per second; the gateway's resident memory sampled every 20 ms meanwhile (idle before,
//!    highest during, `VmHWM`). Baseline: the export's own `SELECT` fetched row by row by
//!    this process (the same rows and joins, no CSV, no HTTP).
//!
//! Goals (issue 12): every report p95 ≤ 200 ms; the orders CSV ≥ 50,000 rows/s with the
//! gateway's memory flat (the peak not growing with the rows).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use bureau_benchmarks::machine::Replica;
use bureau_platform::Settings;
use bureau_platform::object_store::ObjectStore;
use bureau_test_support::TestDatabase;
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use clap::Parser;
use futures::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use sqlx::{MySql, MySqlPool, QueryBuilder};
use uuid::Uuid;
use web_gateway::office::reports::queries::{self as sql, Clock, Grain, Range};
use web_gateway::office::reports::{start_of, today as business_today};

#[derive(Parser, Debug)]
#[command(
    name = "bench-reports",
    about = "Reports and the orders CSV on a large history"
)]
struct Args {
    /// Orders seeded.
    #[arg(long, default_value_t = 100_000)]
    orders: usize,
    /// Days the orders are spread over, ending now.
    #[arg(long, default_value_t = 730)]
    days: u64,
    /// Customers the orders belong to.
    #[arg(long, default_value_t = 5_000)]
    customers: usize,
    /// Requests per report and period.
    #[arg(long, default_value_t = 20)]
    samples: usize,
    /// Full orders exports.
    #[arg(long, default_value_t = 3)]
    exports: usize,
    /// Where the web-gateway binary is.
    #[arg(long, default_value = "target/debug")]
    bin_dir: PathBuf,
    /// Keeps the seeded database (its name is printed) to look at the queries' plans.
    #[arg(long)]
    keep_database: bool,
}

const PASSWORD: &str = "benchmark password 12345";
const ADMIN: &str = "admin@bench.example";
const EXECUTORS: usize = 12;
/// Orders per multi-row insert.
const BATCH: usize = 1_000;
const REPORTS: [&str; 6] = [
    "created-by-channel",
    "created-by-status",
    "time-in-status",
    "turnaround",
    "staff",
    "revenue",
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config_dir = bureau_test_support::config_dir();
    let mut settings = Settings::load_from(&config_dir).context("loading config/")?;
    let run = Uuid::new_v4().simple().to_string()[..12].to_owned();
    settings.broker.namespace = format!("bench{run}");
    settings.storage.bucket = format!("bench-{run}");
    let database = TestDatabase::create(&mut settings, "bureau_bench").await?;
    let store = ObjectStore::new(&settings.storage);
    store
        .ensure_bucket()
        .await
        .map_err(|e| anyhow!("bucket: {e}"))?;
    let pool = database.pool.clone();
    let outcome = measure(&args, &settings, &config_dir, &pool).await;
    if args.keep_database {
        let name: String = sqlx::query_scalar("SELECT DATABASE()")
            .fetch_one(&pool)
            .await?;
        eprintln!("kept the database {name}: drop it when done");
    } else {
        database.remove().await;
    }
    bureau_test_support::remove_broker_namespace(&settings.broker).await;
    let _ = store
        .client()
        .delete_bucket()
        .bucket(store.bucket())
        .send()
        .await;
    outcome
}

async fn measure(
    args: &Args,
    settings: &Settings,
    config_dir: &std::path::Path,
    pool: &MySqlPool,
) -> anyhow::Result<()> {
    let now = Utc::now();
    // The business's days, as the gateway counts them (`[business] time_zone`). The day
    // tables are of them before seeding, so the triggers count every seeded row (quotes
    // recorded after their acceptances included) and the check below is of what they kept.
    let zone = bureau_platform::business::time_zone(&settings.business.time_zone)
        .unwrap_or(bureau_platform::business::TimeZone::UTC);
    bureau_platform::report_days::rebuild(pool, &zone).await?;
    let started = Instant::now();
    let rows = seed(pool, args, now).await?;
    let seeded = started.elapsed();
    eprintln!(
        "seeded {} orders, {} status changes, {} quotes in {:.1} s",
        args.orders,
        rows.history,
        rows.quotes,
        seeded.as_secs_f64()
    );

    let environment: Vec<(String, String)> = [
        ("BUREAU_CONFIG_DIR", config_dir.display().to_string()),
        ("BUREAU__LOG__FILTER", "error".to_owned()),
        (
            "BUREAU__DATABASE__URL",
            settings.database.url.expose().to_owned(),
        ),
        (
            "BUREAU__BROKER__NAMESPACE",
            settings.broker.namespace.clone(),
        ),
        ("BUREAU__STORAGE__BUCKET", settings.storage.bucket.clone()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect();
    let mut gateway = Replica::spawn(
        &args.bin_dir.join(proto_events::Service::WebGateway.name()),
        &environment,
        "BUREAU__WEB_GATEWAY__LISTEN",
    )?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()?;
    gateway.wait_ready(&http).await?;
    let base = format!("http://{}", gateway.addr);
    let signed_in = http
        .post(format!("{base}/api/session"))
        .json(&json!({"email": ADMIN, "password": PASSWORD}))
        .send()
        .await?;
    if !signed_in.status().is_success() {
        bail!("signing the admin in: {}", signed_in.status());
    }
    let cookie = signed_in
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("a session cookie")?
        .to_owned();
    let get = |path: String| {
        let (http, cookie, base) = (http.clone(), cookie.clone(), base.clone());
        async move {
            let response = http
                .get(format!("{base}{path}"))
                .header("cookie", cookie)
                .send()
                .await?;
            if !response.status().is_success() {
                bail!("{path}: {}", response.status());
            }
            let bytes = response.bytes().await?;
            anyhow::Ok(bytes.len())
        }
    };
    // The first answers warm the gateway's and MariaDB's caches; not counted.
    get("/office/reports?preset=year".into()).await?;

    let today = business_today(&zone, now);
    let midnight = |d: NaiveDate| start_of(&zone, d);
    let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1).context("1 January")?;
    let first_day = today - Days::new(args.days + 1);
    let periods = [
        (
            "last 30 days",
            "preset=30d&by=day".to_owned(),
            Range {
                from: midnight(today - Days::new(29)),
                until: midnight(today + Days::new(1)),
            },
            Grain::Day,
        ),
        (
            "this year",
            "preset=year&by=week".to_owned(),
            Range {
                from: midnight(year_start),
                until: midnight(today + Days::new(1)),
            },
            Grain::Week,
        ),
        (
            "everything",
            format!("preset=custom&from={first_day}&to={today}&by=month"),
            Range {
                from: midnight(first_day),
                until: midnight(today + Days::new(1)),
            },
            Grain::Month,
        ),
    ];

    // What the triggers kept, then what a rebuild makes (timed: what a change of zone
    // costs), each read against the history itself for every report and period.
    let mut rebuilt = None;
    for kept_by in ["the triggers", "a rebuild"] {
        if kept_by == "a rebuild" {
            let started = Instant::now();
            let made = bureau_platform::report_days::rebuild(pool, &zone).await?;
            rebuilt = Some((made, started.elapsed()));
        }
        for (name, _, range, grain) in &periods {
            let (first, last) = (
                business_today(&zone, range.from),
                business_today(&zone, range.until) - Days::new(1),
            );
            agree(pool, *range, &Clock::of(&zone, *range), first, last, *grain)
                .await
                .with_context(|| format!("the day tables made by {kept_by}, {name}"))?;
        }
        eprintln!(
            "the day tables made by {kept_by} give the history's figures for every report and period"
        );
    }
    let (rebuilt, rebuild_took) = rebuilt.context("rebuilt")?;

    println!(
        "{} orders over {} days ({} status changes, {} quotes); seeding took {:.1} s; days of {}; \
         day tables rebuilt in {:.1} s ({} + {} + {} + {} + {} rows)",
        args.orders,
        args.days,
        rows.history,
        rows.quotes,
        seeded.as_secs_f64(),
        zone.iana_name().unwrap_or("UTC"),
        rebuild_took.as_secs_f64(),
        rebuilt.created_rows,
        rebuilt.stay_rows,
        rebuilt.turnaround_rows,
        rebuilt.staff_rows,
        rebuilt.quote_rows
    );
    println!();
    println!(
        "| period | report | p50 | p95 | max | day-table SQL p95 | ratio p95 / SQL | per-row SQL p95 | goal p95 ≤ 200 ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (name, query, range, grain) in &periods {
        let clock = Clock::of(&zone, *range);
        let (first, last) = (
            business_today(&zone, range.from),
            business_today(&zone, range.until) - Days::new(1),
        );
        let span = (*range, &clock, first, last, *grain);
        for report in REPORTS {
            let mut times = Vec::with_capacity(args.samples);
            for _ in 0..args.samples {
                let started = Instant::now();
                get(format!("/office/reports/{report}.csv?{query}")).await?;
                times.push(started.elapsed());
            }
            let mut days = Vec::with_capacity(args.samples);
            let mut rows = Vec::with_capacity(args.samples);
            for _ in 0..args.samples {
                let started = Instant::now();
                sql_report(pool, report, span, true).await?;
                days.push(started.elapsed());
                let started = Instant::now();
                sql_report(pool, report, span, false).await?;
                rows.push(started.elapsed());
            }
            print_line(name, report, &mut times, &mut days, &mut rows);
        }
        let mut times = Vec::with_capacity(args.samples);
        for _ in 0..args.samples {
            let started = Instant::now();
            get(format!("/office/reports?{query}")).await?;
            times.push(started.elapsed());
        }
        let mut days = Vec::with_capacity(args.samples);
        let mut rows = Vec::with_capacity(args.samples);
        for _ in 0..args.samples {
            let started = Instant::now();
            for report in REPORTS {
                sql_report(pool, report, span, true).await?;
            }
            days.push(started.elapsed());
            let started = Instant::now();
            for report in REPORTS {
                sql_report(pool, report, span, false).await?;
            }
            rows.push(started.elapsed());
        }
        print_line(name, "the page (all six)", &mut times, &mut days, &mut rows);
    }

    // The orders export: everything, with the gateway's memory sampled meanwhile.
    let everything = &periods[2];
    let idle_kib = gateway.status_kib("VmRSS:")?;
    let highest = Arc::new(AtomicU64::new(idle_kib));
    let watching = Arc::new(AtomicBool::new(true));
    let pid = gateway.child.id();
    let watcher = {
        let (highest, watching) = (highest.clone(), watching.clone());
        tokio::spawn(async move {
            while watching.load(Ordering::Relaxed) {
                if let Some(kib) = rss_kib(pid) {
                    highest.fetch_max(kib, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    println!();
    println!(
        "| orders CSV | rows | MiB | seconds | rows/s | raw SELECT rows/s | ratio to raw | goal ≥ 50,000 rows/s |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for export in 1..=args.exports {
        let started = Instant::now();
        let response = http
            .get(format!("{base}/office/reports/orders.csv?{}", everything.1))
            .header("cookie", &cookie)
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("the orders export: {}", response.status());
        }
        let mut body = response.bytes_stream();
        let (mut bytes, mut lines) = (0u64, 0u64);
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            bytes += chunk.len() as u64;
            lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        }
        let took = started.elapsed().as_secs_f64();
        // The seeded descriptions hold no line breaks: one line per order, one of headings.
        let exported = lines.saturating_sub(1);
        if exported != args.orders as u64 {
            bail!("the export held {exported} orders, not {}", args.orders);
        }
        let started = Instant::now();
        let mut raw_rows = 0u64;
        let mut fetched = sqlx::query_as::<_, sql::ExportLine>(sql::EXPORT_ORDERS)
            .bind(everything.2.from)
            .bind(everything.2.until)
            .fetch(pool);
        while let Some(row) = fetched.next().await {
            row?;
            raw_rows += 1;
        }
        let raw_took = started.elapsed().as_secs_f64();
        let rate = exported as f64 / took;
        let raw_rate = raw_rows as f64 / raw_took;
        println!(
            "| export {export} | {exported} | {:.1} | {took:.2} | {rate:.0} | {raw_rate:.0} | {:.2} | {} |",
            bytes as f64 / 1024.0 / 1024.0,
            rate / raw_rate,
            if rate >= 50_000.0 { "met" } else { "not met" }
        );
    }
    watching.store(false, Ordering::Relaxed);
    watcher.await?;
    let peak_kib = gateway.status_kib("VmHWM:")?;
    println!();
    println!(
        "gateway resident memory: idle before the exports {:.1} MiB, highest during them {:.1} MiB, peak of the whole run (VmHWM) {:.1} MiB",
        idle_kib as f64 / 1024.0,
        highest.load(Ordering::Relaxed) as f64 / 1024.0,
        peak_kib as f64 / 1024.0
    );
    gateway.stop();
    Ok(())
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

fn percentile(times: &mut [Duration], p: f64) -> Duration {
    times.sort();
    if times.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * times.len() as f64).ceil() as usize;
    times[rank.clamp(1, times.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn print_line(
    period: &str,
    report: &str,
    times: &mut [Duration],
    days: &mut [Duration],
    rows: &mut [Duration],
) {
    let p95 = percentile(times, 95.0);
    let days95 = percentile(days, 95.0);
    println!(
        "| {period} | {report} | {} | {} | {} | {} | {:.2} | {} | {} |",
        ms(percentile(times, 50.0)),
        ms(p95),
        ms(percentile(times, 100.0)),
        ms(days95),
        p95.as_secs_f64() / days95.as_secs_f64().max(1e-6),
        ms(percentile(rows, 95.0)),
        if p95 <= Duration::from_millis(200) {
            "met"
        } else {
            "not met"
        }
    );
}

/// A period as each kind of read takes it: instants (with the clock) and the business's days.
type Span<'a> = (Range, &'a Clock, NaiveDate, NaiveDate, Grain);

/// A report's SQL, run by this process: from the day tables (`days`, what the gateway
/// reads) or from the history row by row.
async fn sql_report(
    pool: &MySqlPool,
    report: &str,
    (range, clock, first, last, grain): Span<'_>,
    days: bool,
) -> anyhow::Result<()> {
    use web_gateway::office::reports::queries::days as d;
    match (report, days) {
        ("created-by-channel" | "created-by-status", true) => {
            d::created_counts(pool, first, last, grain).await?;
        }
        ("created-by-channel" | "created-by-status", false) => {
            sql::created_counts(pool, range, clock, grain).await?;
        }
        ("time-in-status", true) => {
            d::status_stays(pool, first, last).await?;
        }
        ("time-in-status", false) => {
            sql::status_stays(pool, range).await?;
        }
        ("turnaround", true) => {
            d::turnaround(pool, first, last, grain).await?;
        }
        ("turnaround", false) => {
            sql::turnaround(pool, range, clock, grain).await?;
        }
        ("staff", true) => {
            d::staff_load(pool, first, last).await?;
        }
        ("staff", false) => {
            sql::staff_load(pool, range).await?;
        }
        ("revenue", true) => {
            d::revenue(pool, first, last, range, clock).await?;
        }
        ("revenue", false) => {
            sql::revenue(pool, range, clock).await?;
        }
        (other, _) => bail!("no report {other}"),
    }
    Ok(())
}

/// Every report of a period read from the day tables and from the history: the same.
async fn agree(
    pool: &MySqlPool,
    range: Range,
    clock: &Clock,
    first: NaiveDate,
    last: NaiveDate,
    grain: Grain,
) -> anyhow::Result<()> {
    use web_gateway::office::reports::queries::days as d;
    let sorted = |mut counts: Vec<sql::CreatedCount>| {
        counts.sort_by(|a, b| {
            (a.bucket, &a.channel, &a.status).cmp(&(b.bucket, &b.channel, &b.status))
        });
        counts
    };
    if sorted(sql::created_counts(pool, range, clock, grain).await?)
        != sorted(d::created_counts(pool, first, last, grain).await?)
    {
        bail!("orders created differ");
    }
    if sql::status_stays(pool, range).await? != d::status_stays(pool, first, last).await? {
        bail!("time in each status differs");
    }
    if sql::turnaround(pool, range, clock, grain).await?
        != d::turnaround(pool, first, last, grain).await?
    {
        bail!("turnaround differs");
    }
    if sql::staff_load(pool, range).await? != d::staff_load(pool, first, last).await? {
        bail!("staff differs");
    }
    if sql::revenue(pool, range, clock).await?
        != d::revenue(pool, first, last, range, clock).await?
    {
        bail!("revenue differs");
    }
    Ok(())
}

struct Seeded {
    history: u64,
    quotes: u64,
}

/// One status change of a seeded order.
struct Change {
    order: Uuid,
    version: u32,
    from: &'static str,
    to: &'static str,
    actor: Option<Uuid>,
    at: DateTime<Utc>,
}

/// Seeds staff, customers and `args.orders` orders with histories, in multi-row inserts.
async fn seed(pool: &MySqlPool, args: &Args, now: DateTime<Utc>) -> anyhow::Result<Seeded> {
    let mut rng = StdRng::seed_from_u64(12);
    bureau_accounts::create_account(
        pool,
        ADMIN,
        PASSWORD,
        "Bench Admin",
        bureau_accounts::Role::Admin,
    )
    .await
    .map_err(|e| anyhow!("{e}"))?;
    let manager = Uuid::now_v7();
    let mut staff: Vec<Uuid> = Vec::new();
    let mut accounts = QueryBuilder::<MySql>::new(
        "INSERT INTO web_accounts (id, email, password_hash, display_name, role, active, created_at) ",
    );
    accounts.push_values(0..=EXECUTORS, |mut row, n| {
        let id = if n == 0 { manager } else { Uuid::now_v7() };
        if n > 0 {
            staff.push(id);
        }
        row.push_bind(id)
            .push_bind(format!("staff{n}@bench.example"))
            .push_bind("!")
            .push_bind(format!("Staff member {n}"))
            .push_bind(if n == 0 { "manager" } else { "executor" })
            .push_bind(true)
            .push_bind(now);
    });
    accounts.build().execute(pool).await?;

    let customers: Vec<Uuid> = (0..args.customers).map(|_| Uuid::now_v7()).collect();
    for chunk in customers.chunks(BATCH) {
        let mut insert = QueryBuilder::<MySql>::new(
            "INSERT INTO customers (id, display_name, phone, language, telegram_user_id, telegram_chat_id, created_at, updated_at) ",
        );
        insert.push_values(chunk.iter().enumerate(), |mut row, (n, id)| {
            let user = (id.as_u128() % 1_000_000_000_000) as i64 + n as i64;
            row.push_bind(*id)
                .push_bind(format!("Клієнт {user}"))
                .push_bind(format!("+38050{:07}", user % 10_000_000))
                .push_bind("uk")
                .push_bind(user)
                .push_bind(user)
                .push_bind(now)
                .push_bind(now);
        });
        insert.build().execute(pool).await?;
    }

    let span_secs = (args.days * 86_400) as i64;
    let (mut history_rows, mut quote_rows) = (0u64, 0u64);
    for batch_start in (0..args.orders).step_by(BATCH) {
        let count = BATCH.min(args.orders - batch_start);
        let mut orders = Vec::with_capacity(count);
        let mut changes: Vec<Change> = Vec::with_capacity(count * 6);
        let mut quotes = Vec::new();
        for n in 0..count {
            let id = Uuid::now_v7();
            let created = now - chrono::Duration::seconds(rng.random_range(0..span_secs));
            let channel = if rng.random_bool(0.7) {
                "telegram"
            } else {
                "web"
            };
            let assignee = staff[rng.random_range(0..staff.len())];
            // Where the order goes: most are delivered; some are quoted first; some close early.
            let quoted = rng.random_bool(0.3);
            let fate = rng.random_range(0..100);
            let mut path: Vec<(&'static str, Option<Uuid>)> = Vec::new();
            if quoted {
                path.push(("quoted", Some(manager)));
            }
            match fate {
                0..10 => path.push(("cancelled", None)),
                10..15 => path.push(("rejected", Some(manager))),
                _ => {
                    path.push(("accepted", if quoted { None } else { Some(manager) }));
                    path.push(("in_progress", Some(assignee)));
                    path.push(("ready", Some(assignee)));
                    if fate < 25 {
                        path.push(("in_progress", Some(manager)));
                        path.push(("ready", Some(assignee)));
                    }
                    path.push(("delivered", Some(manager)));
                }
            }
            let mut at = created;
            let mut from = "awaiting_confirmation";
            let mut status = from;
            let mut version = 1u32;
            changes.push(Change {
                order: id,
                version: 1,
                from: "",
                to: from,
                actor: None,
                at,
            });
            for (to, actor) in path {
                at += chrono::Duration::seconds(rng.random_range(600..172_800));
                if at > now {
                    break;
                }
                if to == "quoted" {
                    quotes.push((id, rng.random_range(20_000u64..500_000), at));
                }
                version += 1;
                changes.push(Change {
                    order: id,
                    version,
                    from,
                    to,
                    actor,
                    at,
                });
                from = to;
                status = to;
            }
            let number = format!("{:08}", batch_start + n);
            orders.push((
                id,
                number,
                customers[rng.random_range(0..customers.len())],
                channel,
                status,
                version,
                Some(assignee).filter(|_| fate >= 10 || rng.random_bool(0.5)),
                created,
            ));
        }
        let mut insert = QueryBuilder::<MySql>::new(
            "INSERT INTO orders (id, order_number, order_number_repeat, customer_id, channel, service_code, body, \
             status, status_version, expected_files, assignee_id, created_at, updated_at) ",
        );
        insert.push_values(&orders, |mut row, o| {
            row.push_bind(o.0)
                .push_bind(&o.1)
                .push_bind(0)
                .push_bind(o.2)
                .push_bind(o.3)
                .push_bind("translation.passport")
                .push_bind("Переклад паспорта, 2 сторінки; нотаріальне засвідчення")
                .push_bind(o.4)
                .push_bind(o.5)
                .push_bind(0)
                .push_bind(o.6)
                .push_bind(o.7)
                .push_bind(o.7);
        });
        insert.build().execute(pool).await?;
        for chunk in changes.chunks(BATCH * 2) {
            let mut insert = QueryBuilder::<MySql>::new(
                "INSERT INTO order_status_history (order_id, version, from_status, to_status, actor_kind, \
                 actor_account_id, event_id, changed_at) ",
            );
            insert.push_values(chunk, |mut row, c| {
                row.push_bind(c.order)
                    .push_bind(c.version)
                    .push_bind(Some(c.from).filter(|f| !f.is_empty()))
                    .push_bind(c.to)
                    .push_bind(if c.actor.is_some() {
                        "staff"
                    } else {
                        "customer"
                    })
                    .push_bind(c.actor)
                    .push_bind(Uuid::now_v7())
                    .push_bind(c.at);
            });
            insert.build().execute(pool).await?;
        }
        history_rows += changes.len() as u64;
        if !quotes.is_empty() {
            let mut insert = QueryBuilder::<MySql>::new(
                "INSERT INTO order_quotes (event_id, order_id, amount_minor, currency, quoted_at) ",
            );
            insert.push_values(&quotes, |mut row, (order, amount, at)| {
                row.push_bind(Uuid::now_v7())
                    .push_bind(*order)
                    .push_bind(*amount)
                    .push_bind("UAH")
                    .push_bind(*at);
            });
            insert.build().execute(pool).await?;
            quote_rows += quotes.len() as u64;
        }
    }
    for table in [
        "orders",
        "order_status_history",
        "order_quotes",
        "web_accounts",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(format!("ANALYZE TABLE {table}")))
            .execute(pool)
            .await?;
    }
    Ok(Seeded {
        history: history_rows,
        quotes: quote_rows,
    })
}
