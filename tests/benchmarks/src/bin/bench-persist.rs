//! `bench-persist`: whether the persistence worker keeps pace with intake. Orders with one
//! file (`OrderCreated`, `FileReceived`, `FileStored`) are offered to the worker's release
//! binary for a while; the figures are orders recorded per second, sustained, and the time
//! from accepted (the broker confirmed the order's events) to recorded (its `FileStored` is
//! committed) at a steady pace, next to raw batched INSERTs on the same MariaDB in the
//! same run.
//!
//! ```text
//! cargo build --release -p persistence-worker -p bureau-benchmarks --bin bench-persist
//! ./target/release/bench-persist --seconds 60 --rate 1000 --runs 3
//! ```
//!
//! Each run, on a fresh database and broker namespace:
//! - **raw**: the rows the worker writes for an order (three inbox rows, the order, its
//!   first history row, its file already stored), 100 orders to a transaction with
//!   multi-row INSERTs, from this process: what MariaDB allows with no broker, no checks.
//! - **sustained**, for each `--configs` entry (`{events per batch}x{batches in flight}`):
//!   the worker is kept `--window` orders behind (published, not yet recorded) for
//!   `--seconds`; the rate is the orders recorded in that time, per second.
//! - **paced**: orders published at `--rate` per second (10 ms ticks, each tick's orders in
//!   one confirmed batch) for `--seconds`; each order's latency runs from its confirm to
//!   the poll (every 10 ms) that first sees its `FileStored` in the inbox — committed rows
//!   only, so a figure is at most one poll late.
//!
//! With `--breakdown`, each paced phase also says where that time went: from publish to
//! the worker's inbox row (the worker's own clock as it writes the row, before its commit),
//! from that row to the poll that saw it, how long the broker's confirms and the polls
//! took — so a late measurement and a late worker can be told apart.
//!
//! The first 5 s of a phase are warm-up and not counted. The worker's queue is the only
//! one consumed: the storage worker's and notifier's copies of the events wait in theirs
//! (RabbitMQ routes every event to them as it would in production).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bureau_benchmarks::machine::{CpuMark, CpuShare, Replica, load_average, server_pids};
use bureau_benchmarks::places::Fresh;
use bureau_platform::Settings;
use clap::Parser;
use proto_events::{
    CustomerRef, Envelope, FilePurpose, FileReceived, FileSource, FileStored, OrderCreated,
};
use sqlx::MySqlPool;
use tokio::task::JoinSet;
use uuid::Uuid;

const WARM_UP: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(10);

#[derive(Parser, Debug)]
#[command(
    name = "bench-persist",
    about = "Orders recorded per second, sustained, and accepted → recorded at a steady pace, against raw batched INSERTs"
)]
struct Args {
    /// Seconds measured in each phase (after 5 s of warm-up).
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Orders per second in the paced phase.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Orders the worker is kept behind in the sustained phase.
    #[arg(long, default_value_t = 10_000)]
    window: u64,
    /// Worker settings of the sustained phase, `{batch_max_events}x{concurrency}[x{lanes}]`; the
    /// first is also the paced phase's.
    #[arg(long, value_delimiter = ',', default_values_t = ["100x1".to_owned()])]
    configs: Vec<String>,
    /// Phases to run: raw, sustained, paced.
    #[arg(long, value_delimiter = ',', default_values_t = ["raw".to_owned(), "sustained".to_owned(), "paced".to_owned()])]
    phases: Vec<String>,
    /// Repetitions of the whole measurement.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Orders in the raw measurement.
    #[arg(long, default_value_t = 20_000)]
    raw_orders: u64,
    /// After each paced phase, print where an order's time went: publish to the worker's
    /// inbox row (its clock, before the commit), that row to the watcher seeing it, the
    /// broker's confirms and the watcher's polls.
    #[arg(long)]
    breakdown: bool,
    /// Where the worker's binary is.
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
}

/// Events per batch, batches in flight, lanes per batch.
#[derive(Debug, Clone, Copy)]
struct Config {
    batch: usize,
    in_flight: usize,
    lanes: usize,
}

impl Config {
    fn parse(text: &str) -> anyhow::Result<Config> {
        let numbers = text
            .split('x')
            .map(str::parse::<usize>)
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("`{text}`: expected {{events}}x{{in flight}}[x{{lanes}}]"))?;
        match numbers[..] {
            [batch, in_flight] => Ok(Config {
                batch,
                in_flight,
                lanes: 1,
            }),
            [batch, in_flight, lanes] => Ok(Config {
                batch,
                in_flight,
                lanes,
            }),
            _ => bail!("`{text}`: expected {{events}}x{{in flight}}[x{{lanes}}]"),
        }
    }
}

impl std::fmt::Display for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} × {} × {}", self.batch, self.in_flight, self.lanes)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let configs = args
        .configs
        .iter()
        .map(|c| Config::parse(c))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let config_dir = bureau_end_to_end::config_dir();
    let base = Settings::load_from(&config_dir).context("loading config/")?;
    println!(
        "bench-persist: {} s per phase, paced at {} orders/s, window {} orders, configs {:?}, {} run(s); {} CPUs; load average {}",
        args.seconds,
        args.rate,
        args.window,
        args.configs,
        args.runs,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );
    let mut rows = Vec::new();
    for run in 1..=args.runs {
        let mut raw = None;
        if args.phases.iter().any(|p| p == "raw") {
            let place = Fresh::new(&base, "persist").await?;
            let rate = raw_ceiling(&place.db, args.raw_orders).await?;
            eprintln!("run {run}: raw batched INSERTs: {rate:.0} orders/s");
            place.remove().await;
            raw = Some(rate);
            rows.push(format!(
                "| {run} | raw batched INSERTs | 100 orders × 1 × 1 | {rate:.0} | — | — | — | — |"
            ));
        }
        if args.phases.iter().any(|p| p == "sustained") {
            for config in &configs {
                let measured = phase(&args, &base, &config_dir, *config, Load::Sustained).await?;
                eprintln!("run {run}: sustained, {config}: {measured}");
                rows.push(measured.row(run, "sustained", *config, raw));
            }
        }
        if args.phases.iter().any(|p| p == "paced") {
            let load = Load::Paced(args.rate);
            let measured = phase(&args, &base, &config_dir, configs[0], load).await?;
            eprintln!(
                "run {run}: paced at {}/s, {}: {measured}",
                args.rate, configs[0]
            );
            rows.push(measured.row(run, &format!("paced {}/s", args.rate), configs[0], raw));
        }
    }
    println!();
    println!(
        "| run | phase | batch × in flight × lanes | recorded orders/s | ratio to raw | p50 / p99 / max accepted → recorded | not recorded | CPU cores: worker / MariaDB / RabbitMQ / this process (machine busy) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for row in &rows {
        println!("{row}");
    }
    println!("\nload average at the end: {}", load_average());
    Ok(())
}

// ---------------------------------------------------------------- the orders

/// One order's three events; its `FileStored` id is how it is known to be recorded.
fn order(n: u64) -> [Envelope; 3] {
    let order_id = Uuid::now_v7();
    let file_id = Uuid::now_v7();
    let user_id = 7_100_000 + (n % 1000) as i64;
    let created = Envelope::new(
        "web-gateway",
        order_id,
        OrderCreated {
            order_id,
            order_number: format!("{:08}", 10_000_000 + n % 80_000_000),
            customer: CustomerRef::Telegram {
                user_id,
                chat_id: user_id,
                display_name: format!("Persist {}", n % 1000),
                username: None,
                phone: None,
                language: Some("en".into()),
            },
            service_code: None,
            text: "A translation of two pages, English to Ukrainian.".into(),
            file_count: 1,
            created_at: chrono::Utc::now(),
            items: Vec::new(),
            total: None,
        },
    );
    let received = Envelope::new(
        "web-gateway",
        order_id,
        FileReceived {
            order_id,
            file_id,
            purpose: FilePurpose::CustomerUpload,
            source: FileSource::Telegram {
                telegram_file_id: format!("persist-file-{n}"),
                telegram_file_unique_id: format!("persist-unique-{n}"),
            },
            original_name: "contract.pdf".into(),
            declared_size: Some(16 * 1024),
            declared_content_type: Some("application/pdf".into()),
            note: None,
        },
    );
    let stored = Envelope::new(
        "storage-worker",
        order_id,
        FileStored {
            order_id,
            file_id,
            purpose: FilePurpose::CustomerUpload,
            object_key: format!("orders/{order_id}/{file_id}/contract.pdf"),
            size: 16 * 1024,
            sha256: "0".repeat(64),
            content_type: "application/pdf".into(),
            original_name: "contract.pdf".into(),
        },
    );
    [created, received, stored]
}

// ---------------------------------------------------------------- timings

/// When each order was accepted and seen recorded, by its `FileStored` event id.
#[derive(Default)]
struct Timings {
    orders: BTreeMap<Uuid, Timing>,
    recorded: u64,
    /// How long each tick's confirmed batch took (`--breakdown`).
    confirms: Vec<Duration>,
    /// How long each poll of the watcher took, and the inbox rows it read.
    polls: Vec<(Duration, usize)>,
    /// Each order's publish time on the wall clock (to compare with the worker's
    /// `processed_at`) and as an instant.
    walls: std::collections::HashMap<Uuid, (chrono::DateTime<chrono::Utc>, Instant)>,
}

#[derive(Clone, Copy)]
struct Timing {
    published_at: Instant,
    accepted_at: Option<Instant>,
    recorded_at: Option<Instant>,
}

impl Timings {
    fn published(&mut self, id: Uuid, at: Instant) {
        self.orders.insert(
            id,
            Timing {
                published_at: at,
                accepted_at: None,
                recorded_at: None,
            },
        );
    }

    fn accepted(&mut self, id: Uuid, at: Instant) {
        if let Some(timing) = self.orders.get_mut(&id) {
            timing.accepted_at = Some(at);
        }
    }

    /// The oldest order not seen recorded yet.
    fn oldest_pending(&self) -> Option<Uuid> {
        self.orders
            .iter()
            .find(|(_, t)| t.recorded_at.is_none())
            .map(|(id, _)| *id)
    }
}

/// Polls the inbox every 10 ms for `FileStored` ids at or after the oldest pending order.
async fn watch(
    db: MySqlPool,
    timings: Arc<Mutex<Timings>>,
    stop: tokio_util::sync::CancellationToken,
) {
    while !stop.is_cancelled() {
        let polled = Instant::now();
        let oldest = timings.lock().unwrap().oldest_pending();
        if let Some(oldest) = oldest {
            let seen: Result<Vec<Uuid>, _> = sqlx::query_scalar(
                "SELECT event_id FROM processed_events WHERE consumer = 'persistence-worker' AND event_id >= ? LIMIT 200000",
            )
            .bind(oldest)
            .fetch_all(&db)
            .await;
            let now = Instant::now();
            let asked = now - polled;
            if let Ok(seen) = &seen {
                timings.lock().unwrap().polls.push((asked, seen.len()));
            }
            if let Ok(seen) = seen {
                let mut timings = timings.lock().unwrap();
                let mut newly = 0;
                for id in seen {
                    if let Some(timing) = timings.orders.get_mut(&id)
                        && timing.recorded_at.is_none()
                    {
                        timing.recorded_at = Some(now);
                        newly += 1;
                    }
                }
                timings.recorded += newly;
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

// ---------------------------------------------------------------- a phase

enum Load {
    /// Keep the worker `--window` orders behind.
    Sustained,
    /// Publish this many orders per second.
    Paced(u64),
}

struct Measured {
    rate: f64,
    latencies: Vec<Duration>,
    unrecorded: usize,
    cpu: CpuShare,
}

impl Measured {
    fn percentile(&self, p: f64) -> String {
        if self.latencies.is_empty() {
            return "—".into();
        }
        let index =
            ((self.latencies.len() as f64 * p).ceil() as usize).clamp(1, self.latencies.len()) - 1;
        format!("{:.0}", self.latencies[index].as_secs_f64() * 1000.0)
    }

    fn row(&self, run: usize, phase: &str, config: Config, raw: Option<f64>) -> String {
        format!(
            "| {run} | {phase} | {config} | {:.0} | {} | {} / {} / {} ms | {} | {:.2} / {:.2} / {:.2} / {:.2} ({:.0} %) |",
            self.rate,
            raw.map_or("—".to_owned(), |r| format!("{:.2}", self.rate / r)),
            self.percentile(0.5),
            self.percentile(0.99),
            self.percentile(1.0),
            self.unrecorded,
            self.cpu.workers,
            self.cpu.mariadb,
            self.cpu.rabbitmq,
            self.cpu.bench,
            self.cpu.machine_busy * 100.0,
        )
    }
}

impl std::fmt::Display for Measured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.0} orders/s recorded; accepted → recorded p50 {} ms, p99 {} ms; {} not recorded",
            self.rate,
            self.percentile(0.5),
            self.percentile(0.99),
            self.unrecorded
        )
    }
}

async fn phase(
    args: &Args,
    base: &Settings,
    config_dir: &std::path::Path,
    config: Config,
    load: Load,
) -> anyhow::Result<Measured> {
    let place = Fresh::new(base, "persist").await?;
    let mut environment = place.environment(config_dir);
    environment.extend([
        (
            "BUREAU__PERSISTENCE_WORKER__BATCH_MAX_EVENTS".to_owned(),
            config.batch.to_string(),
        ),
        (
            "BUREAU__PERSISTENCE_WORKER__CONCURRENCY".to_owned(),
            config.in_flight.to_string(),
        ),
        (
            "BUREAU__PERSISTENCE_WORKER__LANES".to_owned(),
            config.lanes.to_string(),
        ),
        (
            "BUREAU__DATABASE__MAX_CONNECTIONS".to_owned(),
            (config.in_flight * config.lanes + 4).to_string(),
        ),
    ]);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let servers = server_pids();
    let mut worker = Replica::spawn(
        &args.bin_dir.join("persistence-worker"),
        &environment,
        "BUREAU__PERSISTENCE_WORKER__LISTEN",
    )?;
    worker.wait_ready(&http).await?;

    let timings = Arc::new(Mutex::new(Timings::default()));
    let stop = tokio_util::sync::CancellationToken::new();
    let watcher = tokio::spawn(watch(place.db.clone(), timings.clone(), stop.clone()));
    let started = Instant::now();
    let window_opens = started + WARM_UP;
    let window_closes = window_opens + Duration::from_secs(args.seconds);
    let mut publishes = JoinSet::new();
    let mut next = 0u64;
    let mut start_mark = None;
    let mut recorded_at_open = 0;
    match load {
        Load::Sustained => {
            while Instant::now() < window_closes {
                if start_mark.is_none() && Instant::now() >= window_opens {
                    start_mark = Some(CpuMark::now(std::slice::from_ref(&worker), &servers));
                    recorded_at_open = timings.lock().unwrap().recorded;
                }
                let behind = next - timings.lock().unwrap().recorded;
                if behind + 100 <= args.window && publishes.len() < 8 {
                    publishes.spawn(publish(&place, &timings, next, 100));
                    next += 100;
                } else {
                    tokio::select! {
                        Some(published) = publishes.join_next() => published??,
                        _ = tokio::time::sleep(Duration::from_millis(5)) => {}
                    }
                }
                check_alive(&mut worker)?;
            }
        }
        Load::Paced(rate) => {
            let per_tick = (rate / 100).max(1);
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            while Instant::now() < window_closes {
                tick.tick().await;
                if start_mark.is_none() && Instant::now() >= window_opens {
                    start_mark = Some(CpuMark::now(std::slice::from_ref(&worker), &servers));
                    recorded_at_open = timings.lock().unwrap().recorded;
                }
                publishes.spawn(publish(&place, &timings, next, per_tick));
                next += per_tick;
                while let Some(published) = publishes.try_join_next() {
                    published??;
                }
                check_alive(&mut worker)?;
            }
        }
    }
    let end_mark = CpuMark::now(std::slice::from_ref(&worker), &servers);
    let recorded_at_close = timings.lock().unwrap().recorded;
    while let Some(published) = publishes.join_next().await {
        published??;
    }
    // Stragglers of the paced phase: wait until all are seen (at most 30 s).
    if matches!(load, Load::Paced(_)) {
        let until = Instant::now() + Duration::from_secs(30);
        while timings.lock().unwrap().oldest_pending().is_some() && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    stop.cancel();
    watcher.await?;
    worker.stop();
    if args.breakdown && matches!(load, Load::Paced(_)) {
        let rows: Vec<(Uuid, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
            "SELECT event_id, processed_at FROM processed_events WHERE consumer = 'persistence-worker'",
        )
        .fetch_all(&place.db)
        .await?;
        let t = timings.lock().unwrap();
        let mut to_write = Vec::new();
        let mut write_to_seen = Vec::new();
        let mut pub_to_seen = Vec::new();
        for (id, processed_at) in rows {
            if let (Some((wall, published_at)), Some(timing)) =
                (t.walls.get(&id), t.orders.get(&id))
            {
                if *published_at < window_opens || *published_at >= window_closes {
                    continue;
                }
                let write_ms =
                    (processed_at - *wall).num_microseconds().unwrap_or(0) as f64 / 1000.0;
                to_write.push(write_ms);
                if let Some(recorded) = timing.recorded_at {
                    let seen_ms = recorded.duration_since(*published_at).as_secs_f64() * 1000.0;
                    pub_to_seen.push(seen_ms);
                    write_to_seen.push(seen_ms - write_ms);
                }
            }
        }
        let show = |name: &str, v: &mut Vec<f64>| {
            v.sort_by(|a, b| a.partial_cmp(b).unwrap());
            if v.is_empty() {
                return;
            }
            let at = |p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)];
            eprintln!(
                "breakdown: {name}: n={} p10={:.1} p50={:.1} p90={:.1} p99={:.1} max={:.1} ms",
                v.len(),
                at(0.1),
                at(0.5),
                at(0.9),
                at(0.99),
                at(1.0)
            );
        };
        show("published->inbox insert (worker clock)", &mut to_write);
        show("inbox insert->seen by watcher", &mut write_to_seen);
        show("published->seen", &mut pub_to_seen);
    }

    let start_mark = start_mark.context("the phase ended before its warm-up did")?;
    let seconds = end_mark.at.duration_since(start_mark.at).as_secs_f64();
    let timings = Arc::try_unwrap(timings)
        .map_err(|_| anyhow::anyhow!("timings still shared"))?
        .into_inner()
        .unwrap();
    let mut latencies = Vec::new();
    let mut unrecorded = 0;
    for timing in timings.orders.values() {
        let counted = timing.published_at >= window_opens && timing.published_at < window_closes;
        if !counted {
            continue;
        }
        match (timing.accepted_at, timing.recorded_at) {
            (Some(accepted), Some(recorded)) => {
                latencies.push(recorded.saturating_duration_since(accepted))
            }
            _ => unrecorded += 1,
        }
    }
    latencies.sort();
    if args.breakdown && matches!(load, Load::Paced(_)) {
        let mut confirms = timings.confirms.clone();
        confirms.sort();
        let mut polls: Vec<_> = timings.polls.iter().map(|p| p.0).collect();
        polls.sort();
        let mut rows: Vec<_> = timings.polls.iter().map(|p| p.1).collect();
        rows.sort();
        let pct = |v: &[Duration], p: f64| {
            v.get(((v.len() as f64 * p) as usize).min(v.len().saturating_sub(1)))
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        eprintln!(
            "breakdown: confirms n={} p50={:.1} p99={:.1} max={:.1}; polls n={} p50={:.1} p99={:.1} max={:.1} ms; rows p50={} p99={} max={}",
            confirms.len(),
            pct(&confirms, 0.5),
            pct(&confirms, 0.99),
            pct(&confirms, 1.0),
            polls.len(),
            pct(&polls, 0.5),
            pct(&polls, 0.99),
            pct(&polls, 1.0),
            rows.get(rows.len() / 2).copied().unwrap_or(0),
            rows.get(rows.len() * 99 / 100).copied().unwrap_or(0),
            rows.last().copied().unwrap_or(0)
        );
    }
    let measured = Measured {
        rate: (recorded_at_close - recorded_at_open) as f64 / seconds,
        // In the sustained phase every order waits its turn behind the window: its latency
        // says how long the window is, not how fast the worker is.
        latencies: if matches!(load, Load::Paced(_)) {
            latencies
        } else {
            Vec::new()
        },
        unrecorded: if matches!(load, Load::Paced(_)) {
            unrecorded
        } else {
            0
        },
        cpu: end_mark.share_since(&start_mark),
    };
    place.remove().await;
    Ok(measured)
}

fn check_alive(worker: &mut Replica) -> anyhow::Result<()> {
    if let Some(status) = worker.child.try_wait()? {
        bail!("the worker exited with {status}");
    }
    Ok(())
}

/// Publishes `count` orders from number `first` in one confirmed batch, noting when.
fn publish(
    place: &Fresh,
    timings: &Arc<Mutex<Timings>>,
    first: u64,
    count: u64,
) -> impl std::future::Future<Output = anyhow::Result<()>> + Send + 'static {
    let (bus, timings) = (place.bus.clone(), timings.clone());
    async move {
        let mut events = Vec::with_capacity(count as usize * 3);
        let mut ids = Vec::with_capacity(count as usize);
        for n in first..first + count {
            let order = order(n);
            ids.push(order[2].event_id);
            events.extend(order);
        }
        let published_at = Instant::now();
        {
            let mut timings = timings.lock().unwrap();
            let wall = chrono::Utc::now();
            for id in &ids {
                timings.published(*id, published_at);
                timings.walls.insert(*id, (wall, published_at));
            }
        }
        bus.publish_all(&events).await?;
        let accepted_at = Instant::now();
        let mut timings = timings.lock().unwrap();
        timings.confirms.push(accepted_at - published_at);
        for id in &ids {
            timings.accepted(*id, accepted_at);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- raw

/// The rows the worker writes for an order, 100 orders to a transaction with multi-row
/// INSERTs: three inbox rows, the order, its first history row, its file already stored.
async fn raw_ceiling(db: &MySqlPool, orders: u64) -> anyhow::Result<f64> {
    let now = chrono::Utc::now();
    let customers: Vec<Uuid> = (0..1000).map(|_| Uuid::now_v7()).collect();
    for chunk in customers.chunks(500).enumerate() {
        let (offset, chunk) = chunk;
        let mut rows = sqlx::QueryBuilder::new(
            "INSERT INTO customers (id, display_name, language, telegram_user_id, telegram_chat_id, created_at, updated_at) ",
        );
        rows.push_values(chunk.iter().enumerate(), |mut row, (n, id)| {
            let user = 7_200_000 + (offset * 500 + n) as i64;
            row.push_bind(*id)
                .push_bind("Raw")
                .push_bind("en")
                .push_bind(user)
                .push_bind(user)
                .push_bind(now)
                .push_bind(now);
        });
        rows.build().execute(db).await?;
    }
    const BATCH: u64 = 100;
    let started = Instant::now();
    for first in (0..orders).step_by(BATCH as usize) {
        let count = BATCH.min(orders - first) as usize;
        let ids: Vec<[Uuid; 5]> = (0..count)
            .map(|_| std::array::from_fn(|_| Uuid::now_v7()))
            .collect();
        let mut tx = db.begin().await?;
        let mut inbox = sqlx::QueryBuilder::new(
            "INSERT INTO processed_events (consumer, event_id, processed_at) ",
        );
        inbox.push_values(
            ids.iter().flat_map(|i| [i[2], i[3], i[4]]),
            |mut row, id| {
                row.push_bind("persistence-worker")
                    .push_bind(id)
                    .push_bind(now);
            },
        );
        inbox.build().execute(&mut *tx).await?;
        let mut order_rows = sqlx::QueryBuilder::new(
            "INSERT INTO orders (id, order_number, customer_id, channel, service_code, body, status, status_version, expected_files, created_at, updated_at) ",
        );
        order_rows.push_values(ids.iter().enumerate(), |mut row, (n, i)| {
            let number = first + n as u64;
            row.push_bind(i[0])
                .push_bind(format!("{:08}", 20_000_000 + number))
                .push_bind(customers[(number % 1000) as usize])
                .push_bind("telegram")
                .push_bind(None::<String>)
                .push_bind("A translation of two pages, English to Ukrainian.")
                .push_bind("awaiting_confirmation")
                .push_bind(1)
                .push_bind(1)
                .push_bind(now)
                .push_bind(now);
        });
        order_rows.build().execute(&mut *tx).await?;
        let mut history = sqlx::QueryBuilder::new(
            "INSERT INTO order_status_history (order_id, version, from_status, to_status, actor_kind, event_id, changed_at) ",
        );
        history.push_values(ids.iter(), |mut row, i| {
            row.push_bind(i[0])
                .push_bind(1)
                .push_bind(None::<String>)
                .push_bind("awaiting_confirmation")
                .push_bind("customer")
                .push_bind(i[2])
                .push_bind(now);
        });
        history.build().execute(&mut *tx).await?;
        let mut files = sqlx::QueryBuilder::new(
            "INSERT INTO order_files (id, order_id, purpose, original_name, source, declared_size, state, object_key, size_bytes, content_type, sha256, received_at, settled_at) ",
        );
        files.push_values(ids.iter(), |mut row, i| {
            row.push_bind(i[1])
                .push_bind(i[0])
                .push_bind("customer_upload")
                .push_bind("contract.pdf")
                .push_bind("telegram")
                .push_bind(16 * 1024)
                .push_bind("stored")
                .push_bind(format!("orders/{}/{}/contract.pdf", i[0], i[1]))
                .push_bind(16 * 1024)
                .push_bind("application/pdf")
                .push_bind("0".repeat(64))
                .push_bind(now)
                .push_bind(now);
        });
        files.build().execute(&mut *tx).await?;
        tx.commit().await?;
    }
    Ok(orders as f64 / started.elapsed().as_secs_f64())
}
