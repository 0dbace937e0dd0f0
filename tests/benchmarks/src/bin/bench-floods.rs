//! `bench-floods`: real customers keep ordering while the web gateway is flooded with
//! sign-ins and with slow requests; what their orders cost (p50/p99) and what the gateway
//! holds in memory, before and during the floods.
//!
//! ```text
//! cargo build -p web-gateway -p bureau-benchmarks --bin web-gateway --bin bench-floods
//! target/debug/bench-floods --bin-dir target/debug
//! ```
//!
//! Loopback only, bounded in time (`--calm-secs` + `--flood-secs`, 15 + 30 s by default),
//! against the shared local stack (`scripts/stack up`) with a fresh database, broker
//! namespace and bucket. It starts the real `web-gateway` binary as a child process (so its
//! memory is its own), signs in `--customers` customers, and then:
//!
//! 1. **calm**: each customer places orders one after another (a description and a 16 KiB
//!    file, a 201 once the broker confirmed), timing each;
//! 2. **floods**, the customers still ordering:
//!    - a sign-in flood: `--sign-in-flood` clients at once (500), each signing in with a
//!      wrong password again and again, spread over `--flood-addresses` loopback addresses
//!      (127.0.1.x) so that the per-address limit is reached from many addresses, as a
//!      botnet would; answers counted by status;
//!    - a slow-request flood: `--slow-connections` connections (2,000), each sending a
//!      request head one header line a second and never finishing it, opening a new one
//!      whenever the gateway closes it; how long the gateway let them live is counted.
//!
//! It prints the customers' order latencies in each phase, their failures, the flood
//! answers, and the gateway's resident memory (idle, at the end, and its peak `VmHWM`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use bureau_benchmarks::machine::Replica;
use bureau_platform::Settings;
use bureau_platform::object_store::ObjectStore;
use bureau_test_support::TestDatabase;
use clap::Parser;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[derive(Parser, Debug)]
#[command(
    name = "bench-floods",
    about = "Customers' orders under a sign-in flood and a slow-request flood"
)]
struct Args {
    /// Customers ordering throughout.
    #[arg(long, default_value_t = 8)]
    customers: usize,
    /// Seconds of ordering before the floods.
    #[arg(long, default_value_t = 15)]
    calm_secs: u64,
    /// Seconds of ordering during the floods.
    #[arg(long, default_value_t = 30)]
    flood_secs: u64,
    /// Sign-in clients at once.
    #[arg(long, default_value_t = 500)]
    sign_in_flood: usize,
    /// Loopback addresses the sign-in flood comes from.
    #[arg(long, default_value_t = 100)]
    flood_addresses: u8,
    /// Connections trickling request heads.
    #[arg(long, default_value_t = 2000)]
    slow_connections: usize,
    /// Where the web-gateway binary is.
    #[arg(long, default_value = "target/debug")]
    bin_dir: PathBuf,
    /// Internal: run only the floods against this address (the child process).
    #[arg(long, hide = true)]
    flood_against: Option<SocketAddr>,
    /// The floods' niceness: the attacker's processor is not ours in real life, so its
    /// process yields to the gateway and the customers here.
    #[arg(long, default_value_t = 19)]
    flood_nice: u8,
}

const FILE_BYTES: usize = 16 * 1024;
const PASSWORD: &str = "benchmark password 12345";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(web_addr) = args.flood_against {
        return flood(&args, web_addr).await;
    }
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
        // The few customers here order hundreds of times a minute: the per-customer quotas
        // would refuse them, and they are not what this run measures.
        (
            "BUREAU__WEB_GATEWAY__QUOTAS__OPEN_ORDERS",
            "1000000000".into(),
        ),
        (
            "BUREAU__WEB_GATEWAY__QUOTAS__FILES_PER_DAY",
            "1000000000".into(),
        ),
        (
            "BUREAU__WEB_GATEWAY__QUOTAS__BYTES_PER_DAY",
            "1000000000000000".into(),
        ),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect();
    let mut gateway = Replica::spawn(
        &args.bin_dir.join(proto_events::Service::WebGateway.name()),
        &environment,
        "BUREAU__WEB_GATEWAY__LISTEN",
    )?;
    let web_addr = gateway.addr;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    gateway.wait_ready(&http).await?;

    let mut tokens = Vec::new();
    for _ in 0..args.customers {
        tokens.push(customer(&http, web_addr).await?);
    }
    let idle_kib = gateway.status_kib("VmRSS:")?;
    eprintln!(
        "gateway ready, {} customers signed in, {idle_kib} KiB resident",
        tokens.len()
    );

    // Customers order throughout; each latency is filed under the phase it started in.
    let flooding = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = CancellationToken::new();
    let latencies = Arc::new(Mutex::new(Latencies::default()));
    let mut customers = tokio::task::JoinSet::new();
    for token in tokens {
        let (http, flooding, stop, latencies) = (
            http.clone(),
            flooding.clone(),
            stop.clone(),
            latencies.clone(),
        );
        customers.spawn(async move {
            while !stop.is_cancelled() {
                let during_flood = flooding.load(Ordering::Relaxed);
                let started = Instant::now();
                let ok = place_order(&http, web_addr, &token).await;
                let took = started.elapsed();
                latencies.lock().await.record(during_flood, took, ok);
            }
        });
    }
    tokio::time::sleep(Duration::from_secs(args.calm_secs)).await;

    eprintln!(
        "flooding: {} sign-ins at once, {} slow connections",
        args.sign_in_flood, args.slow_connections
    );
    flooding.store(true, Ordering::Relaxed);
    let flooder = Command::new("nice")
        .arg("-n")
        .arg(args.flood_nice.to_string())
        .arg(std::env::current_exe()?)
        .args([
            "--flood-against",
            &web_addr.to_string(),
            "--flood-secs",
            &args.flood_secs.to_string(),
            "--sign-in-flood",
            &args.sign_in_flood.to_string(),
            "--flood-addresses",
            &args.flood_addresses.to_string(),
            "--slow-connections",
            &args.slow_connections.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting the flood process")?;
    let mut peak_during = 0;
    let flood_end = Instant::now() + Duration::from_secs(args.flood_secs);
    while Instant::now() < flood_end {
        tokio::time::sleep(Duration::from_secs(1)).await;
        peak_during = peak_during.max(gateway.status_kib("VmRSS:")?);
    }
    let flood_report = tokio::task::spawn_blocking(move || flooder.wait_with_output()).await??;
    stop.cancel();
    while customers.join_next().await.is_some() {}
    let end_kib = gateway.status_kib("VmRSS:")?;
    let peak_kib = gateway.status_kib("VmHWM:")?;

    let latencies = latencies.lock().await;
    println!("| phase | orders | failed | p50 | p99 | max |");
    println!("|---|---|---|---|---|---|");
    for (name, phase) in [("calm", &latencies.calm), ("floods", &latencies.flood)] {
        println!(
            "| {name} | {} | {} | {} ms | {} ms | {} ms |",
            phase.ok.len(),
            phase.failed,
            phase.percentile(50.0),
            phase.percentile(99.0),
            phase.percentile(100.0),
        );
    }
    println!();
    print!("{}", String::from_utf8_lossy(&flood_report.stdout));
    println!(
        "gateway resident memory: idle {:.0} MiB, highest during the floods {:.0} MiB, after {:.0} MiB, peak (VmHWM) {:.0} MiB",
        idle_kib as f64 / 1024.0,
        peak_during as f64 / 1024.0,
        end_kib as f64 / 1024.0,
        peak_kib as f64 / 1024.0
    );

    gateway.stop();
    database.remove().await;
    bureau_test_support::remove_broker_namespace(&settings.broker).await;
    empty_bucket(&store).await;
    Ok(())
}

/// The floods, in a process of their own: a sign-in flood and a slow-request flood against
/// `web_addr` for `--flood-secs`, then what they were answered, on stdout.
async fn flood(args: &Args, web_addr: SocketAddr) -> anyhow::Result<()> {
    let flood_stop = CancellationToken::new();
    let sign_ins = SignInCounts::default();
    let slow = SlowCounts::default();
    let mut floods = tokio::task::JoinSet::new();
    for n in 0..args.sign_in_flood {
        let host = 1 + (n % usize::from(args.flood_addresses.max(1))) as u8;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 1, host)))
            .build()?;
        let (stop, counts) = (flood_stop.clone(), sign_ins.clone());
        floods.spawn(async move {
            let mut attempt = 0u64;
            while !stop.is_cancelled() {
                attempt += 1;
                let email = format!("victim{}-{attempt}@example.com", n % 50);
                let answer = client
                    .post(format!("http://{web_addr}/api/session"))
                    .json(&json!({"email": email, "password": "wrong password!"}))
                    .send()
                    .await;
                counts.record(answer.as_ref().map(|a| a.status().as_u16()).ok());
            }
        });
    }
    for n in 0..args.slow_connections {
        let (stop, counts) = (flood_stop.clone(), slow.clone());
        // Spread the connects over the first seconds, as a real flood ramps up.
        let delay = Duration::from_millis((n as u64 * 2) % 2000);
        floods.spawn(async move {
            tokio::time::sleep(delay).await;
            while !stop.is_cancelled() {
                trickle(web_addr, &stop, &counts).await;
            }
        });
    }
    tokio::time::sleep(Duration::from_secs(args.flood_secs)).await;
    flood_stop.cancel();
    floods.abort_all();
    while floods.join_next().await.is_some() {}
    println!("sign-in flood answers: {}", sign_ins.summary());
    println!("slow connections: {}", slow.summary());
    Ok(())
}

async fn customer(http: &reqwest::Client, web: SocketAddr) -> anyhow::Result<String> {
    let email = format!("bench-{}@example.com", Uuid::new_v4().simple());
    let created = http
        .post(format!("http://{web}/api/accounts"))
        .json(&json!({"email": email, "password": PASSWORD, "display_name": "Bench"}))
        .send()
        .await?;
    if created.status() != 201 {
        bail!("register: {} {}", created.status(), created.text().await?);
    }
    let session = http
        .post(format!("http://{web}/api/session"))
        .json(&json!({"email": email, "password": PASSWORD}))
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

async fn place_order(http: &reqwest::Client, web: SocketAddr, token: &str) -> bool {
    let part = reqwest::multipart::Part::bytes(vec![b'b'; FILE_BYTES]).file_name("scan.txt");
    let form = reqwest::multipart::Form::new()
        .text("text", "Translate this, please")
        .part("file", part);
    let answer = http
        .post(format!("http://{web}/api/orders"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await;
    matches!(answer, Ok(answer) if answer.status() == 201)
}

/// One connection that sends a request head a header line a second and never ends it;
/// returns when the gateway closes it (or the flood stops).
async fn trickle(web: SocketAddr, stop: &CancellationToken, counts: &SlowCounts) {
    let Ok(socket) = TcpSocket::new_v4() else {
        return;
    };
    let Ok(mut stream) = socket.connect(web).await else {
        counts.refused.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(200)).await;
        return;
    };
    counts.opened.fetch_add(1, Ordering::Relaxed);
    let opened = Instant::now();
    if stream
        .write_all(b"GET /api/session HTTP/1.1\r\nHost: bureau\r\n")
        .await
        .is_err()
    {
        return;
    }
    let mut buffer = [0u8; 1024];
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            read = stream.read(&mut buffer) => match read {
                Ok(0) | Err(_) => break,
                Ok(_) => continue,
            },
            _ = tokio::time::sleep(Duration::from_secs(1)) => {
                if stream.write_all(b"X-Trickle: 1\r\n").await.is_err() {
                    break;
                }
            }
        }
    }
    counts.closed.fetch_add(1, Ordering::Relaxed);
    counts
        .lived_ms
        .fetch_add(opened.elapsed().as_millis() as u64, Ordering::Relaxed);
}

#[derive(Default)]
struct Phase {
    ok: Vec<Duration>,
    failed: usize,
}

impl Phase {
    fn percentile(&self, p: f64) -> u128 {
        if self.ok.is_empty() {
            return 0;
        }
        let mut sorted = self.ok.clone();
        sorted.sort();
        let index = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
        sorted[index.min(sorted.len() - 1)].as_millis()
    }
}

#[derive(Default)]
struct Latencies {
    calm: Phase,
    flood: Phase,
}

impl Latencies {
    fn record(&mut self, during_flood: bool, took: Duration, ok: bool) {
        let phase = if during_flood {
            &mut self.flood
        } else {
            &mut self.calm
        };
        if ok {
            phase.ok.push(took);
        } else {
            phase.failed += 1;
        }
    }
}

#[derive(Clone, Default)]
struct SignInCounts {
    counts: Arc<std::sync::Mutex<std::collections::BTreeMap<String, u64>>>,
}

impl SignInCounts {
    fn record(&self, status: Option<u16>) {
        let key = status.map_or_else(|| "no answer".to_owned(), |s| s.to_string());
        *self
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_default() += 1;
    }

    fn summary(&self) -> String {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts
            .iter()
            .map(|(status, count)| format!("{status}: {count}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Clone, Default)]
struct SlowCounts {
    opened: Arc<AtomicU64>,
    closed: Arc<AtomicU64>,
    refused: Arc<AtomicU64>,
    lived_ms: Arc<AtomicU64>,
}

impl SlowCounts {
    fn summary(&self) -> String {
        let closed = self.closed.load(Ordering::Relaxed);
        format!(
            "{} opened, {} closed by the gateway (after {:.1} s on average), {} connects refused",
            self.opened.load(Ordering::Relaxed),
            closed,
            self.lived_ms.load(Ordering::Relaxed) as f64 / 1000.0 / closed.max(1) as f64,
            self.refused.load(Ordering::Relaxed)
        )
    }
}

/// Deletes what the run left in its bucket, then the bucket.
async fn empty_bucket(store: &ObjectStore) {
    let client = store.client();
    if let Ok(listed) = client.list_objects_v2().bucket(store.bucket()).send().await {
        for object in listed.contents() {
            if let Some(key) = object.key() {
                let _ = store.delete(key).await;
            }
        }
    }
    let _ = client.delete_bucket().bucket(store.bucket()).send().await;
}
