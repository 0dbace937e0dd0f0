//! `bench-drain`: how fast 1, 2 and 4 replicas of a worker drain the same backlog, next to
//! what the database or S3 allows for the same work, measured in the same run.
//!
//! ```text
//! cargo build --release -p persistence-worker -p storage-worker -p bureau-benchmarks --bin bench-drain
//! ./target/release/bench-drain --orders 20000 --replicas 1,2,4 --runs 3
//! ```
//!
//! For each worker and replica count, on a fresh database, broker namespace and bucket:
//! the backlog is published first (20,000 orders' events: `OrderCreated` + `FileReceived`
//! for the persistence worker, `FileReceived` of one Telegram document each for the storage
//! worker), then N replicas start as separate processes (the release binaries, default
//! settings: `persistence_worker.concurrency` 1, `storage_worker.concurrency` 4, prefetch
//! 16), and the drain rate is the work done from the moment every replica is ready until
//! the backlog is done, per second. "Done" is read from where the work lands: rows in the
//! inbox (`processed_events`) for the persistence worker, `FileStored` events announced
//! (counted in the notifier's queue, which nothing consumes here) for the storage worker,
//! whose objects are then counted in the bucket.
//!
//! The ceilings, measured in the same run on the same servers:
//! - **database, per event**: the persistence worker's own handler (`PersistenceHandler`,
//!   the same transaction per event) called directly, without the broker, from as many
//!   tasks as the replicas have handlers in all;
//! - **database, batched**: the same rows written 100 orders to a transaction with
//!   multi-row inserts — what MySQL allows if the worker batched;
//! - **S3**: raw PUTs of objects of the same size (fresh random bytes each, unsigned
//!   payload as the services send to a loopback endpoint), as many in flight as the
//!   replicas' handlers in all.
//!
//! The storage worker's files come from the Telegram double in this process (no limits),
//! each with its own random bytes, so Garage's block deduplication never helps. CPU time
//! of the replicas, MariaDB, RabbitMQ and Garage over the drain shows where the two cores
//! went.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use aws_sdk_s3::primitives::ByteStream;
use bureau_benchmarks::machine::{CpuMark, CpuShare, Replica, load_average, server_pids};
use bureau_benchmarks::places::{Fresh, count_objects};
use bureau_event_bus::{EventBus, EventHandler};
use bureau_platform::Settings;
use bureau_platform::object_store::ObjectStore;
use clap::Parser;
use proto_events::topology::Consumer;
use proto_events::{CustomerRef, Envelope, FilePurpose, FileReceived, FileSource, OrderCreated};
use rand::RngCore;
use telegram_double::{DoubleConfig, TelegramDouble};
use tokio::task::JoinSet;
use uuid::Uuid;

#[derive(Parser, Debug)]
#[command(
    name = "bench-drain",
    about = "Drain rate of 1, 2, 4 worker replicas against the database's and S3's ceilings"
)]
struct Args {
    /// Orders in the backlog (each: OrderCreated + FileReceived, one file).
    #[arg(long, default_value_t = 20_000)]
    orders: u64,
    /// Size of each order's file, KiB.
    #[arg(long, default_value_t = 16)]
    file_kib: u64,
    /// Replica counts to run, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 2, 4])]
    replicas: Vec<usize>,
    /// Workers to measure: persistence, storage.
    #[arg(long, value_delimiter = ',', default_values_t = ["persistence".to_owned(), "storage".to_owned()])]
    workers: Vec<String>,
    /// Repetitions of the whole measurement.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Orders in each ceiling measurement.
    #[arg(long, default_value_t = 5_000)]
    ceiling_orders: u64,
    /// Where the service binaries are.
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config_dir = bureau_end_to_end::config_dir();
    let base = Settings::load_from(&config_dir).context("loading config/")?;
    println!(
        "bench-drain: {} orders, {} KiB files, replicas {:?}, {} run(s); {} CPUs; load average {}",
        args.orders,
        args.file_kib,
        args.replicas,
        args.runs,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );
    let mut rows = Vec::new();
    for run in 1..=args.runs {
        for worker in &args.workers {
            let measured = match worker.as_str() {
                "persistence" => bench_persistence(&args, &base, &config_dir, run).await?,
                "storage" => bench_storage(&args, &base, &config_dir, run).await?,
                other => bail!("unknown worker `{other}` (persistence, storage)"),
            };
            rows.extend(measured);
        }
    }
    println!();
    println!(
        "| run | worker | replicas × handlers | work | drain /s | ceiling (same parallelism) /s | ratio | batched ceiling /s | machine busy | CPU cores: workers / MariaDB / RabbitMQ / Garage / this process |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for row in &rows {
        println!("{row}");
    }
    println!("\nload average at the end: {}", load_average());
    Ok(())
}

struct Row {
    run: usize,
    worker: &'static str,
    replicas: usize,
    handlers: usize,
    work: u64,
    unit: &'static str,
    rate: f64,
    ceiling: f64,
    batched: Option<f64>,
    cpu: CpuShare,
}

impl std::fmt::Display for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "| {} | {} | {} × {} | {} {} | {:.0} | {:.0} | {:.2} | {} | {:.0} % | {:.2} / {:.2} / {:.2} / {:.2} / {:.2} |",
            self.run,
            self.worker,
            self.replicas,
            self.handlers / self.replicas.max(1),
            self.work,
            self.unit,
            self.rate,
            self.ceiling,
            self.rate / self.ceiling,
            self.batched.map_or("—".to_owned(), |b| format!("{b:.0}")),
            self.cpu.machine_busy * 100.0,
            self.cpu.workers,
            self.cpu.mariadb,
            self.cpu.rabbitmq,
            self.cpu.garage,
            self.cpu.bench,
        )
    }
}

// ---------------------------------------------------------------- the drain itself

struct Drained {
    rate: f64,
    cpu: CpuShare,
    seconds: f64,
}

/// Starts `replicas` processes of `binary`, waits until all are ready, then until `done()`
/// reaches `total`; the rate counts only the work after every replica was ready.
async fn drain<F, Fut>(
    binary: &Path,
    environment: &[(String, String)],
    listen_variable: &str,
    replicas: usize,
    total: u64,
    mut done: F,
) -> anyhow::Result<Drained>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<u64>>,
{
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let servers = server_pids();
    let mut running = Vec::new();
    for _ in 0..replicas {
        running.push(Replica::spawn(binary, environment, listen_variable)?);
    }
    for replica in &mut running {
        replica.wait_ready(&http).await?;
    }
    let start_mark = CpuMark::now(&running, &servers);
    let done_at_ready = done().await?;
    let deadline = Instant::now() + Duration::from_secs(1800);
    let mut last = done_at_ready;
    let mut last_change = Instant::now();
    loop {
        let now_done = done().await?;
        if now_done >= total {
            break;
        }
        if now_done != last {
            last = now_done;
            last_change = Instant::now();
        }
        if last_change.elapsed() > Duration::from_secs(120) || Instant::now() > deadline {
            bail!("the drain stalled at {now_done} of {total}");
        }
        for replica in &mut running {
            if let Some(status) = replica.child.try_wait()? {
                bail!("a replica exited during the drain with {status}");
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let end_mark = CpuMark::now(&running, &servers);
    for replica in &mut running {
        replica.stop();
    }
    let seconds = end_mark.at.duration_since(start_mark.at).as_secs_f64();
    Ok(Drained {
        rate: (total - done_at_ready) as f64 / seconds,
        cpu: end_mark.share_since(&start_mark),
        seconds,
    })
}

// ---------------------------------------------------------------- persistence worker

fn order_events(orders: u64) -> Vec<Envelope> {
    let mut events = Vec::with_capacity(orders as usize * 2);
    for n in 0..orders {
        let order_id = Uuid::now_v7();
        let user_id = 7_000_000 + (n % 1000) as i64;
        events.push(Envelope::new(
            "bot-gateway",
            order_id,
            OrderCreated {
                order_id,
                order_number: format!("{:08}", 10_000_000 + n),
                customer: CustomerRef::Telegram {
                    user_id,
                    chat_id: user_id,
                    display_name: format!("Drain {}", n % 1000),
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
        ));
        events.push(Envelope::new(
            "bot-gateway",
            order_id,
            FileReceived {
                order_id,
                file_id: Uuid::now_v7(),
                purpose: FilePurpose::CustomerUpload,
                source: FileSource::Telegram {
                    telegram_file_id: format!("drain-file-{n}"),
                    telegram_file_unique_id: format!("drain-unique-{n}"),
                },
                original_name: "contract.pdf".into(),
                declared_size: Some(16 * 1024),
                declared_content_type: Some("application/pdf".into()),
                note: None,
            },
        ));
    }
    events
}

async fn bench_persistence(
    args: &Args,
    base: &Settings,
    config_dir: &Path,
    run: usize,
) -> anyhow::Result<Vec<Row>> {
    let concurrency = base.persistence_worker.concurrency.max(1);
    // Ceilings on a database of their own.
    let ceiling_place = Fresh::new(base, "drain").await?;
    let mut per_event = HashMap::new();
    for &replicas in &args.replicas {
        let parallel = replicas * concurrency;
        let rate = handler_ceiling(
            &ceiling_place.db,
            &ceiling_place.bus,
            args.ceiling_orders,
            parallel,
        )
        .await?;
        eprintln!(
            "run {run}: database ceiling, worker's transaction per event, {parallel} in parallel: {rate:.0} events/s"
        );
        per_event.insert(replicas, rate);
    }
    let batched = batched_ceiling(&ceiling_place.db, args.ceiling_orders).await?;
    eprintln!("run {run}: database ceiling, 100 orders per transaction: {batched:.0} events/s");
    ceiling_place.remove().await;

    let mut rows = Vec::new();
    for &replicas in &args.replicas {
        let place = Fresh::new(base, "drain").await?;
        let events = order_events(args.orders);
        let total = events.len() as u64;
        let published = place.publish(&events).await?;
        drop(events);
        eprintln!(
            "run {run}: persistence backlog of {total} events published in {:.1} s; {replicas} replica(s) draining",
            published.as_secs_f64()
        );
        let db = place.db.clone();
        let drained = drain(
            &args.bin_dir.join("persistence-worker"),
            &place.environment(config_dir),
            "BUREAU__PERSISTENCE_WORKER__LISTEN",
            replicas,
            total,
            || {
                let db = db.clone();
                async move {
                    let count: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM processed_events WHERE consumer = 'persistence-worker'",
                    )
                    .fetch_one(&db)
                    .await?;
                    Ok(count as u64)
                }
            },
        )
        .await?;
        eprintln!(
            "run {run}: persistence, {replicas} replica(s): {:.0} events/s over {:.1} s",
            drained.rate, drained.seconds
        );
        rows.push(Row {
            run,
            worker: "persistence",
            replicas,
            handlers: replicas * concurrency,
            work: total,
            unit: "events",
            rate: drained.rate,
            ceiling: per_event[&replicas],
            batched: Some(batched),
            cpu: drained.cpu,
        });
        place.remove().await;
    }
    Ok(rows)
}

/// The persistence worker's own handler, called directly from `parallel` tasks, each taking
/// whole orders (OrderCreated, then its FileReceived): no broker, no retries.
async fn handler_ceiling(
    db: &sqlx::MySqlPool,
    // Never used: these orders carry no status requests, the one thing the handler publishes.
    bus: &Arc<EventBus>,
    orders: u64,
    parallel: usize,
) -> anyhow::Result<f64> {
    let handler = Arc::new(persistence_worker::PersistenceHandler::new(
        db.clone(),
        bus.clone(),
    ));
    let events = order_events(orders);
    let per_task = events.len().div_ceil(parallel).next_multiple_of(2);
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for share in events.chunks(per_task) {
        let (handler, share) = (handler.clone(), share.to_vec());
        tasks.spawn(async move {
            for event in &share {
                // As the worker would after a deadlock or lock wait: try again.
                let mut attempt = 0;
                while let Err(error) = handler.handle(event).await {
                    attempt += 1;
                    if attempt >= 10 {
                        bail!("handler: {error}");
                    }
                }
            }
            Ok::<(), anyhow::Error>(())
        });
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    Ok(events.len() as f64 / started.elapsed().as_secs_f64())
}

/// The same rows the worker writes for an order (customer, order, history, file, two inbox
/// entries), 100 orders to a transaction with multi-row inserts.
async fn batched_ceiling(db: &sqlx::MySqlPool, orders: u64) -> anyhow::Result<f64> {
    let customer = Uuid::now_v7();
    let now = chrono::Utc::now();
    sqlx::query(
        "INSERT INTO customers (id, display_name, language, telegram_user_id, telegram_chat_id, created_at, updated_at)
         VALUES (?, 'Batched', 'en', 6999999, 6999999, ?, ?)",
    )
    .bind(customer)
    .bind(now)
    .bind(now)
    .execute(db)
    .await?;
    const BATCH: u64 = 100;
    let started = Instant::now();
    for first in (0..orders).step_by(BATCH as usize) {
        let count = BATCH.min(orders - first) as usize;
        let ids: Vec<(Uuid, Uuid, Uuid, Uuid)> = (0..count)
            .map(|_| {
                (
                    Uuid::now_v7(),
                    Uuid::now_v7(),
                    Uuid::now_v7(),
                    Uuid::now_v7(),
                )
            })
            .collect();
        let mut tx = db.begin().await?;
        let mut inbox = sqlx::QueryBuilder::new(
            "INSERT INTO processed_events (consumer, event_id, processed_at) ",
        );
        inbox.push_values(
            ids.iter().flat_map(|(_, _, a, b)| [*a, *b]),
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
        order_rows.push_values(ids.iter().enumerate(), |mut row, (n, (order, ..))| {
            row.push_bind(*order)
                .push_bind(format!("{:08}", 20_000_000 + first + n as u64))
                .push_bind(customer)
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
        history.push_values(ids.iter(), |mut row, (order, _, event, _)| {
            row.push_bind(*order)
                .push_bind(1)
                .push_bind(None::<String>)
                .push_bind("awaiting_confirmation")
                .push_bind("customer")
                .push_bind(*event)
                .push_bind(now);
        });
        history.build().execute(&mut *tx).await?;
        let mut files = sqlx::QueryBuilder::new(
            "INSERT INTO order_files (id, order_id, purpose, original_name, note, source, declared_size, state, received_at) ",
        );
        files.push_values(ids.iter(), |mut row, (order, file, ..)| {
            row.push_bind(*file)
                .push_bind(*order)
                .push_bind("customer_upload")
                .push_bind("contract.pdf")
                .push_bind(None::<String>)
                .push_bind("telegram")
                .push_bind(16 * 1024)
                .push_bind("received")
                .push_bind(now);
        });
        files.build().execute(&mut *tx).await?;
        tx.commit().await?;
    }
    Ok((orders * 2) as f64 / started.elapsed().as_secs_f64())
}

// ---------------------------------------------------------------- storage worker

/// A PDF header, then random bytes: every file sniffs as a PDF (random bytes alone now and
/// then start with an executable's magic number and are refused), and no two files share a
/// block Garage could deduplicate.
fn random_file(size: usize) -> Vec<u8> {
    const HEADER: &[u8] = b"%PDF-1.7\n";
    let mut bytes = vec![0u8; size.max(HEADER.len())];
    rand::rng().fill_bytes(&mut bytes);
    bytes[..HEADER.len()].copy_from_slice(HEADER);
    bytes
}

async fn bench_storage(
    args: &Args,
    base: &Settings,
    config_dir: &Path,
    run: usize,
) -> anyhow::Result<Vec<Row>> {
    let concurrency = base.storage_worker.concurrency.max(1);
    let size = (args.file_kib * 1024) as usize;
    let ceiling_place = Fresh::new(base, "drain").await?;
    let mut ceilings = HashMap::new();
    for &replicas in &args.replicas {
        let parallel = replicas * concurrency;
        let rate = put_ceiling(&ceiling_place.store, args.ceiling_orders, size, parallel).await?;
        eprintln!(
            "run {run}: S3 ceiling, raw PUTs of {} KiB, {parallel} in flight: {rate:.0} files/s",
            args.file_kib
        );
        ceilings.insert(replicas, rate);
    }
    ceiling_place.remove().await;

    let mut rows = Vec::new();
    for &replicas in &args.replicas {
        let place = Fresh::new(base, "drain").await?;
        let double = TelegramDouble::start(DoubleConfig {
            max_download_bytes: u64::MAX,
            ..DoubleConfig::without_limits()
        })
        .await?;
        let user = double.user(9_100);
        let mut events = Vec::with_capacity(args.orders as usize);
        for n in 0..args.orders {
            let message = user.send_document(
                &format!("scan-{n}.pdf"),
                "application/pdf",
                random_file(size),
                None,
            );
            let telegram_file_id = user
                .file_ids(message)
                .into_iter()
                .next()
                .ok_or_else(|| anyhow!("the double gave no file id"))?;
            let order_id = Uuid::now_v7();
            events.push(Envelope::new(
                "bot-gateway",
                order_id,
                FileReceived {
                    order_id,
                    file_id: Uuid::now_v7(),
                    purpose: FilePurpose::CustomerUpload,
                    source: FileSource::Telegram {
                        telegram_file_id,
                        telegram_file_unique_id: format!("drain-{n}"),
                    },
                    original_name: format!("scan-{n}.pdf"),
                    declared_size: Some(size as u64),
                    declared_content_type: None,
                    note: None,
                },
            ));
        }
        let total = events.len() as u64;
        let published = place.publish(&events).await?;
        drop(events);
        eprintln!(
            "run {run}: storage backlog of {total} files published in {:.1} s; {replicas} replica(s) draining",
            published.as_secs_f64()
        );
        let mut environment = place.environment(config_dir);
        environment.push(("BUREAU__TELEGRAM__API_URL".into(), double.api_url()));
        environment.push(("BUREAU__TELEGRAM__TOKEN".into(), double.token()));
        let place = Arc::new(place);
        let counter = place.clone();
        let drained = drain(
            &args.bin_dir.join("storage-worker"),
            &environment,
            "BUREAU__STORAGE_WORKER__LISTEN",
            replicas,
            total,
            move || {
                let counter = counter.clone();
                // FileStored and FileRejected reach the notifier's queue, which nothing reads here.
                async move { counter.queue_depth(Consumer::Notifier).await }
            },
        )
        .await?;
        let stored = count_objects(&place.store).await?;
        if stored != total {
            bail!("{stored} objects in the bucket for {total} files: some were rejected");
        }
        eprintln!(
            "run {run}: storage, {replicas} replica(s): {:.0} files/s over {:.1} s",
            drained.rate, drained.seconds
        );
        rows.push(Row {
            run,
            worker: "storage",
            replicas,
            handlers: replicas * concurrency,
            work: total,
            unit: "files",
            rate: drained.rate,
            ceiling: ceilings[&replicas],
            batched: None,
            cpu: drained.cpu,
        });
        double.shutdown().await;
        match Arc::try_unwrap(place) {
            Ok(place) => place.remove().await,
            Err(_) => bail!("the drain still holds the places"),
        }
    }
    Ok(rows)
}

/// Raw PUTs of `size` fresh random bytes each, `parallel` in flight, unsigned payload.
async fn put_ceiling(
    store: &ObjectStore,
    objects: u64,
    size: usize,
    parallel: usize,
) -> anyhow::Result<f64> {
    let bodies: Vec<Vec<u8>> = (0..objects).map(|_| random_file(size)).collect();
    let started = Instant::now();
    let mut in_flight = JoinSet::new();
    for body in bodies {
        while in_flight.len() >= parallel {
            in_flight
                .join_next()
                .await
                .ok_or_else(|| anyhow!("no PUT"))???;
        }
        let (client, bucket) = (store.client().clone(), store.bucket().to_owned());
        in_flight.spawn(async move {
            client
                .put_object()
                .bucket(bucket)
                .key(format!("raw/{}", Uuid::now_v7()))
                .content_length(body.len() as i64)
                .body(ByteStream::from(body))
                .customize()
                .disable_payload_signing()
                .send()
                .await
                .map(drop)
                .map_err(|e| anyhow!("PUT: {}", aws_sdk_s3::error::DisplayErrorContext(e)))
        });
    }
    while let Some(put) = in_flight.join_next().await {
        put??;
    }
    Ok(objects as f64 / started.elapsed().as_secs_f64())
}
