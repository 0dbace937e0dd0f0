//! `bench-intake`: web orders accepted per second by the web gateway's release binary, with
//! no file, 1 MB and 10 MB files, at 16 and 64 clients, each against the raw ceiling of the
//! same work measured in the same run on the same servers.
//!
//! ```text
//! cargo build --release -p web-gateway -p bureau-benchmarks --bin bench-intake
//! ./target/release/bench-intake --seconds 10 --clients 16,64 --sizes-mb 0,1,10 --runs 3
//! ```
//!
//! Every client is a customer of its own, sending `POST /api/orders` (multipart: a text, and
//! one file of the size) one after another for `--seconds`; an order counts when answered
//! 201. The ceilings, with as many clients or requests in flight:
//! - **HTTP**: `GET /healthz` on the same gateway — its own server stack with a trivial
//!   handler;
//! - **publish**: raw publish-with-confirm of an `OrderCreated` to the same exchange, each
//!   client a loop of publish-then-await-confirm on one shared channel (so confirms are
//!   pipelined), for orders without a file;
//! - **S3**: raw PUTs of the same bytes to the same Garage (unsigned payload, as the
//!   services send to a loopback endpoint), for orders with a file.
//!
//! Every file is the same bytes (random once per size): Garage deduplicates blocks, so the
//! disk does not fill, and both the gateway and the raw PUTs profit alike. The generator
//! measures its own CPU time (and the gateway's, MariaDB's, RabbitMQ's and Garage's) while
//! orders run, to show it is not what limits them, and the same for the raw ceiling (its
//! server's cores: are both held by the same thing?). When Garage's admin API answers
//! (`--garage-metrics`), the S3 requests Garage counted per order and per raw PUT, by kind,
//! so the two are seen to do the same S3 work. The storage and persistence workers are not
//! running: this is intake alone.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use aws_sdk_s3::primitives::ByteStream;
use bureau_benchmarks::machine::{CpuMark, CpuShare, Replica, load_average, server_pids};
use bureau_benchmarks::places::Fresh;
use bureau_platform::Settings;
use bytes::Bytes;
use clap::Parser;
use lapin::BasicProperties;
use lapin::options::BasicPublishOptions;
use proto_events::{CustomerRef, Envelope, EventKind, OrderCreated};
use rand::RngCore;
use serde_json::json;
use tokio::task::JoinSet;
use uuid::Uuid;

const MB: usize = 1_000_000;

#[derive(Parser, Debug)]
#[command(
    name = "bench-intake",
    about = "Web orders accepted per second against raw publish, raw S3 PUT and the gateway's HTTP ceiling"
)]
struct Args {
    /// Seconds of each measurement.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Client counts.
    #[arg(long, value_delimiter = ',', default_values_t = [16usize, 64])]
    clients: Vec<usize>,
    /// File sizes in MB (10^6 bytes); 0 is an order without a file.
    #[arg(long, value_delimiter = ',', default_values_t = [0usize, 1, 10])]
    sizes_mb: Vec<usize>,
    /// Repetitions of the whole measurement.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Where the gateway's binary is.
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
    /// Garage's Prometheus metrics (admin API), for the S3 requests per order; "" for none.
    #[arg(long, default_value = "http://127.0.0.1:3903/metrics")]
    garage_metrics: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config_dir = bureau_end_to_end::config_dir();
    let base = Settings::load_from(&config_dir).context("loading config/")?;
    println!(
        "bench-intake: {} s each, clients {:?}, sizes {:?} MB, {} run(s); {} CPUs; load average {}",
        args.seconds,
        args.clients,
        args.sizes_mb,
        args.runs,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );
    let mut rows = Vec::new();
    for run in 1..=args.runs {
        rows.extend(one_run(&args, &base, &config_dir, run).await?);
    }
    println!();
    println!(
        "| run | order | clients | orders/s | p50 / p99 ms | raw ceiling /s (what) | ratio | HTTP ceiling /s | errors | CPU cores: generator / gateway / MariaDB / RabbitMQ / Garage (machine busy) | raw ceiling's CPU: its server (machine busy) | S3 requests per order / per raw PUT |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for row in &rows {
        println!("{row}");
    }
    println!("\nload average at the end: {}", load_average());
    Ok(())
}

struct Row {
    run: usize,
    size_mb: usize,
    clients: usize,
    orders: Measured,
    raw: Measured,
    raw_what: &'static str,
    http: f64,
    /// S3 requests per order and per raw PUT, by kind, as Garage counted them.
    s3_requests: String,
}

impl std::fmt::Display for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cpu = &self.orders.cpu;
        write!(
            f,
            "| {} | {} | {} | {:.1} | {:.1} / {:.1} | {:.1} ({}) | {:.2} | {:.0} | {} | {:.2} / {:.2} / {:.2} / {:.2} / {:.2} ({:.0} %) | {:.2} ({:.0} %) | {} |",
            self.run,
            if self.size_mb == 0 {
                "no file".to_owned()
            } else {
                format!("{} MB file", self.size_mb)
            },
            self.clients,
            self.orders.rate,
            self.orders.percentile_ms(0.5),
            self.orders.percentile_ms(0.99),
            self.raw.rate,
            self.raw_what,
            self.orders.rate / self.raw.rate,
            self.http,
            self.orders.errors,
            cpu.bench,
            cpu.workers,
            cpu.mariadb,
            cpu.rabbitmq,
            cpu.garage,
            cpu.machine_busy * 100.0,
            if self.size_mb == 0 {
                self.raw.cpu.rabbitmq
            } else {
                self.raw.cpu.garage
            },
            self.raw.cpu.machine_busy * 100.0,
            self.s3_requests,
        )
    }
}

/// What a measurement saw: successes per second, their latencies, failures, CPU.
#[derive(Default)]
struct Measured {
    rate: f64,
    latencies: Vec<Duration>,
    errors: u64,
    cpu: CpuShare,
}

/// Garage's S3 requests counted so far, by endpoint (`PutObject`, ...), from its admin API's
/// metrics; empty when it does not answer.
async fn garage_requests(
    http: &reqwest::Client,
    url: &str,
) -> std::collections::BTreeMap<String, f64> {
    let mut counts = std::collections::BTreeMap::new();
    if url.is_empty() {
        return counts;
    }
    let Ok(answer) = http.get(url).send().await else {
        return counts;
    };
    let Ok(text) = answer.text().await else {
        return counts;
    };
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("api_s3_request_counter{") else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once("} ") else {
            continue;
        };
        let endpoint = labels
            .split(',')
            .find_map(|label| label.strip_prefix("api_endpoint=\""))
            .map(|value| value.trim_end_matches('"').to_owned());
        if let (Some(endpoint), Ok(value)) = (endpoint, value.trim().parse::<f64>()) {
            *counts.entry(endpoint).or_insert(0.0) += value;
        }
    }
    counts
}

/// The requests between two counts per operation (`done` of them), e.g. `PutObject 1.00`.
fn per_operation(
    before: &std::collections::BTreeMap<String, f64>,
    after: &std::collections::BTreeMap<String, f64>,
    done: usize,
) -> String {
    if after.is_empty() || done == 0 {
        return "-".to_owned();
    }
    let parts: Vec<String> = after
        .iter()
        .map(|(endpoint, count)| {
            (
                endpoint,
                count - before.get(endpoint).copied().unwrap_or(0.0),
            )
        })
        .filter(|(_, delta)| *delta > 0.0)
        .map(|(endpoint, delta)| format!("{endpoint} {:.2}", delta / done as f64))
        .collect();
    if parts.is_empty() {
        "none".to_owned()
    } else {
        parts.join(", ")
    }
}

impl Measured {
    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let index =
            ((self.latencies.len() as f64 * p).ceil() as usize).clamp(1, self.latencies.len()) - 1;
        self.latencies[index].as_secs_f64() * 1000.0
    }
}

async fn one_run(
    args: &Args,
    base: &Settings,
    config_dir: &std::path::Path,
    run: usize,
) -> anyhow::Result<Vec<Row>> {
    let place = Arc::new(Fresh::new(base, "intake").await?);
    let mut environment = place.environment(config_dir);
    environment.push((
        "BUREAU__WEB_GATEWAY__MAX_UPLOAD_BYTES".into(),
        (64 * MB).to_string(),
    ));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(256)
        .build()?;
    let servers = server_pids();
    let mut gateway = Replica::spawn(
        &args.bin_dir.join("web-gateway"),
        &environment,
        "BUREAU__WEB_GATEWAY__LISTEN",
    )?;
    gateway.wait_ready(&http).await?;
    let web = gateway.addr;
    let most = args.clients.iter().copied().max().unwrap_or(1);
    let mut tokens = Vec::with_capacity(most);
    for n in 0..most {
        tokens.push(customer(&http, web, n).await?);
    }
    let tokens = Arc::new(tokens);

    let mut http_ceilings = std::collections::HashMap::new();
    for &clients in &args.clients {
        let measured = drive(args.seconds, clients, &[&gateway], &servers, {
            let http = http.clone();
            move |_| {
                let http = http.clone();
                async move {
                    let answer = http.get(format!("http://{web}/healthz")).send().await?;
                    if !answer.status().is_success() {
                        bail!("healthz: {}", answer.status());
                    }
                    answer.bytes().await?;
                    Ok(())
                }
            }
        })
        .await?;
        eprintln!(
            "run {run}: HTTP ceiling (GET /healthz), {clients} clients: {:.0}/s",
            measured.rate
        );
        http_ceilings.insert(clients, measured.rate);
    }

    let mut rows = Vec::new();
    for &size_mb in &args.sizes_mb {
        let file = match size_mb {
            0 => Bytes::new(),
            _ => Bytes::from(random_bytes(size_mb * MB)),
        };
        for &clients in &args.clients {
            let s3_at_start = garage_requests(&http, &args.garage_metrics).await;
            let (raw, raw_what) = if size_mb == 0 {
                let channel = Arc::new(place.bus.open_channel().await?);
                channel.confirm_select(Default::default()).await?;
                let exchange = place.bus.topology().events_exchange();
                let measured = drive(args.seconds, clients, &[&gateway], &servers, move |n| {
                    let (channel, exchange) = (channel.clone(), exchange.clone());
                    async move {
                        let event = created_event(n);
                        let confirm = channel
                            .basic_publish(
                                exchange.as_str().into(),
                                EventKind::OrderCreated.routing_key().into(),
                                BasicPublishOptions {
                                    mandatory: true,
                                    ..Default::default()
                                },
                                &event.to_json(),
                                BasicProperties::default().with_delivery_mode(2),
                            )
                            .await?
                            .await?;
                        if !confirm.is_ack() {
                            bail!("the broker did not ack a raw publish");
                        }
                        Ok(())
                    }
                })
                .await?;
                (measured, "publish with confirm")
            } else {
                let (store, file) = (place.store.clone(), file.clone());
                let measured = drive(args.seconds, clients, &[&gateway], &servers, move |_| {
                    let (client, bucket, body) = (
                        store.client().clone(),
                        store.bucket().to_owned(),
                        file.clone(),
                    );
                    async move {
                        client
                            .put_object()
                            .bucket(bucket)
                            // As the gateway stages a file: a new key each time, the sniffed
                            // type, a sized body.
                            .key(format!("raw/{}/{}", Uuid::now_v7(), Uuid::now_v7()))
                            .content_type("application/pdf")
                            .content_length(body.len() as i64)
                            .body(ByteStream::from(body))
                            .customize()
                            .disable_payload_signing()
                            .send()
                            .await
                            .map_err(|e| {
                                anyhow!("PUT: {}", aws_sdk_s3::error::DisplayErrorContext(e))
                            })?;
                        Ok(())
                    }
                })
                .await?;
                (measured, "S3 PUT")
            };
            eprintln!(
                "run {run}: raw ceiling ({raw_what}), {size_mb} MB, {clients} clients: {:.1}/s",
                raw.rate
            );
            let s3_after_raw = garage_requests(&http, &args.garage_metrics).await;
            let orders = {
                let (http, tokens, file) = (http.clone(), tokens.clone(), file.clone());
                drive(
                    args.seconds,
                    clients,
                    &[&gateway],
                    &servers,
                    move |client| {
                        let (http, token, file) = (
                            http.clone(),
                            tokens[client % tokens.len()].clone(),
                            file.clone(),
                        );
                        async move { place_order(&http, web, &token, file).await }
                    },
                )
                .await?
            };
            let s3_after_orders = garage_requests(&http, &args.garage_metrics).await;
            let attempts =
                |measured: &Measured| measured.latencies.len() + measured.errors as usize;
            let s3_requests = format!(
                "{} / {}",
                per_operation(&s3_after_raw, &s3_after_orders, attempts(&orders)),
                if size_mb == 0 {
                    "-".to_owned()
                } else {
                    per_operation(&s3_at_start, &s3_after_raw, attempts(&raw))
                }
            );
            eprintln!(
                "run {run}: orders, {size_mb} MB, {clients} clients: {:.1}/s, p50 {:.1} ms, p99 {:.1} ms, {} errors; S3 requests per order / raw PUT: {s3_requests}",
                orders.rate,
                orders.percentile_ms(0.5),
                orders.percentile_ms(0.99),
                orders.errors
            );
            rows.push(Row {
                run,
                size_mb,
                clients,
                orders,
                raw,
                raw_what,
                http: http_ceilings[&clients],
                s3_requests,
            });
            if let Some(status) = gateway.child.try_wait()? {
                bail!("the gateway exited with {status}");
            }
        }
    }
    gateway.stop();
    match Arc::try_unwrap(place) {
        Ok(place) => place.remove().await,
        Err(_) => bail!("the places are still shared"),
    }
    Ok(rows)
}

/// Runs `clients` loops of `operation` (given the client's number) for `seconds`; counts
/// what succeeded in that time, its latencies, the failures, and the CPU time spent.
async fn drive<F, Fut>(
    seconds: u64,
    clients: usize,
    watched: &[&Replica],
    servers: &std::collections::HashMap<&'static str, Vec<u32>>,
    operation: F,
) -> anyhow::Result<Measured>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let replicas: Vec<&Replica> = watched.to_vec();
    let start = CpuMark::now(replicas.iter().copied(), servers);
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = JoinSet::new();
    for client in 0..clients {
        let operation = operation.clone();
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut first_error = None;
            while Instant::now() < until {
                let started = Instant::now();
                match operation(client).await {
                    Ok(()) => latencies.push(started.elapsed()),
                    Err(error) => {
                        errors += 1;
                        first_error.get_or_insert(error.to_string());
                    }
                }
            }
            (latencies, errors, first_error)
        });
    }
    let mut measured = Measured::default();
    while let Some(joined) = tasks.join_next().await {
        let (latencies, errors, first_error) = joined?;
        measured.latencies.extend(latencies);
        measured.errors += errors;
        if let Some(error) = first_error {
            eprintln!("  a client failed: {error}");
        }
    }
    let end = CpuMark::now(replicas.iter().copied(), servers);
    let elapsed = end.at.duration_since(start.at).as_secs_f64();
    measured.rate = measured.latencies.len() as f64 / elapsed;
    measured.latencies.sort();
    measured.cpu = end.share_since(&start);
    Ok(measured)
}

async fn customer(
    http: &reqwest::Client,
    web: std::net::SocketAddr,
    n: usize,
) -> anyhow::Result<String> {
    let email = format!("intake-{n}-{}@example.com", Uuid::new_v4().simple());
    let password = "benchmark password 12345";
    let created = http
        .post(format!("http://{web}/api/accounts"))
        .json(&json!({"email": email, "password": password, "display_name": format!("Intake {n}")}))
        .send()
        .await?;
    if created.status() != 201 {
        bail!("register: {} {}", created.status(), created.text().await?);
    }
    let session = http
        .post(format!("http://{web}/api/session"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await?;
    session
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("bureau_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("no session cookie in the login answer"))
}

async fn place_order(
    http: &reqwest::Client,
    web: std::net::SocketAddr,
    token: &str,
    file: Bytes,
) -> anyhow::Result<()> {
    let mut form = reqwest::multipart::Form::new()
        .text("text", "A translation of two pages, English to Ukrainian.");
    if !file.is_empty() {
        let length = file.len() as u64;
        let part = reqwest::multipart::Part::stream_with_length(reqwest::Body::from(file), length)
            .file_name("contract.pdf");
        form = form.part("file", part);
    }
    let answer = http
        .post(format!("http://{web}/api/orders"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await?;
    let status = answer.status();
    let body = answer.bytes().await?;
    if status != reqwest::StatusCode::CREATED {
        bail!("order: {status} {}", String::from_utf8_lossy(&body));
    }
    Ok(())
}

/// The event a text order publishes, for the raw publish ceiling.
fn created_event(n: usize) -> Envelope {
    let order_id = Uuid::now_v7();
    Envelope::new(
        "web-gateway",
        order_id,
        OrderCreated {
            order_id,
            order_number: format!("{:08}", 10_000_000 + n),
            customer: CustomerRef::Web {
                account_id: Uuid::now_v7(),
            },
            service_code: None,
            text: "A translation of two pages, English to Ukrainian.".into(),
            file_count: 0,
            created_at: chrono::Utc::now(),
            items: Vec::new(),
            total: None,
        },
    )
}

/// A PDF header, then random bytes: sniffed as a PDF, never as something refused.
fn random_bytes(size: usize) -> Vec<u8> {
    const HEADER: &[u8] = b"%PDF-1.7\n";
    let mut bytes = vec![0u8; size.max(HEADER.len())];
    rand::rng().fill_bytes(&mut bytes);
    bytes[..HEADER.len()].copy_from_slice(HEADER);
    bytes
}
