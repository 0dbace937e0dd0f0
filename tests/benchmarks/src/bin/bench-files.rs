//! `bench-files`: how fast files reach S3 through Bureau, and what it costs the services in
//! memory, against a raw aws-sdk-s3 multipart upload of the same bytes to the same server
//! in the same run.
//!
//! ```text
//! cargo build --release -p web-gateway -p storage-worker
//! cargo run --release -p bureau-benchmarks --bin bench-files -- --sizes 256,1024
//! ```
//!
//! For each size it starts the real service binaries (`target/release/web-gateway`,
//! `target/release/storage-worker`) as separate processes on a fresh database, broker
//! namespace and bucket, reads their idle RSS, then uploads:
//! - **web**: a multipart `POST /api/orders` streamed from a generator, timed until the
//!   storage worker has the file at its final key (the web path writes the bytes twice:
//!   staging, then the final object);
//! - **telegram**: a `FileReceived` naming a document in the Telegram double (no download
//!   limit, like a local Bot API server), timed until the file is at its key. The double
//!   runs in this process (`DoubleConfig::max_download_bytes`, the same knob as the binary's
//!   `--max-download-bytes`) because only the library can hold a document of a given size
//!   without its bytes (`send_document_sized`); the binary's control API buffers uploads.
//!   The bot gateway only relays the file id and never touches the bytes, so it is not
//!   started;
//! - **raw**: the same bytes straight to the same Garage with aws-sdk-s3 multipart (same
//!   part size and parts in flight as the services, no hashing, the SDK's default payload
//!   signing) — the baseline;
//! - **raw unsigned**: the same, each part sent with `UNSIGNED-PAYLOAD`, as the services
//!   send parts to a loopback or `https` endpoint (`object_store::payload_signing_needed`):
//!   the like-for-like baseline for them here.
//!
//! Every path uploads the same bytes: byte `i` is `i % 251` (the Telegram double's synthetic
//! file). Garage deduplicates blocks, so the baseline runs last: any advantage from blocks
//! already present goes to the baseline, never to Bureau. A second raw upload of random
//! bytes shows how large that advantage is.
//!
//! Peak RSS is each process's `VmHWM`; processes are fresh for every size, so the peak
//! belongs to that size alone.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bureau_platform::Settings;
use bureau_platform::object_store::ObjectStore;
use bureau_test_support::TestDatabase;
use bytes::Bytes;
use clap::Parser;
use futures::Stream;
use proto_events::{Envelope, FilePurpose, FileReceived, FileSource};
use rand::RngCore;
use serde_json::{Value, json};
use telegram_double::{DoubleConfig, TelegramDouble};
use tokio::task::JoinSet;
use uuid::Uuid;

const MIB: u64 = 1024 * 1024;
/// The generator's chunk: what a client writes at a time.
const CHUNK: u64 = 256 * 1024;

#[derive(Parser, Debug)]
#[command(
    name = "bench-files",
    about = "File upload throughput and service memory against raw S3"
)]
struct Args {
    /// File sizes in MiB, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [256u64, 1024])]
    sizes: Vec<u64>,
    /// Where the service binaries are.
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config_dir = bureau_test_support::config_dir();
    let mut rows = Vec::new();
    for size_mib in &args.sizes {
        let row = bench_size(&args.bin_dir, &config_dir, size_mib * MIB).await?;
        print_row(&row);
        rows.push(row);
    }
    println!();
    println!(
        "| size | path | MiB/s | ratio to raw | ratio to raw unsigned | peak RSS above idle (service) |"
    );
    println!("|---|---|---|---|---|---|");
    for row in &rows {
        let mib = row.size / MIB;
        let raw = row.raw.mib_per_s(row.size);
        let unsigned = row.raw_unsigned.mib_per_s(row.size);
        let line = |path: &str, timed: &Timed, memory: &str| {
            let speed = timed.mib_per_s(row.size);
            println!(
                "| {mib} MiB | {path} | {speed:.0} | {:.2} | {:.2} | {memory} |",
                speed / raw,
                speed / unsigned
            );
        };
        line("raw aws-sdk-s3 (same bytes)", &row.raw, "—");
        line(
            "raw aws-sdk-s3 unsigned payload (same bytes)",
            &row.raw_unsigned,
            "—",
        );
        line("raw aws-sdk-s3 (random bytes)", &row.raw_random, "—");
        line(
            "web: 201 answered (staged)",
            &row.web_accepted,
            &format!("web-gateway {:.1} MiB", row.web_gateway.above_idle_mib()),
        );
        let worker = format!(
            "storage-worker {:.1} MiB (both paths)",
            row.storage_worker.above_idle_mib()
        );
        line("web: stored at final key", &row.web_stored, &worker);
        line("telegram: stored at final key", &row.telegram, &worker);
    }
    Ok(())
}

struct Timed(Duration);

impl Timed {
    fn mib_per_s(&self, size: u64) -> f64 {
        size as f64 / MIB as f64 / self.0.as_secs_f64()
    }
}

struct Memory {
    idle_kib: u64,
    peak_kib: u64,
}

impl Memory {
    fn above_idle_mib(&self) -> f64 {
        self.peak_kib.saturating_sub(self.idle_kib) as f64 / 1024.0
    }
}

struct Row {
    size: u64,
    web_accepted: Timed,
    web_stored: Timed,
    telegram: Timed,
    raw: Timed,
    raw_unsigned: Timed,
    raw_random: Timed,
    web_gateway: Memory,
    storage_worker: Memory,
}

fn print_row(row: &Row) {
    eprintln!(
        "{} MiB: raw {:.0} MiB/s, raw unsigned {:.0}, raw random {:.0}, web accepted {:.0}, web stored {:.0}, telegram {:.0}; \
         web-gateway idle {} KiB peak {} KiB; storage-worker idle {} KiB peak {} KiB",
        row.size / MIB,
        row.raw.mib_per_s(row.size),
        row.raw_unsigned.mib_per_s(row.size),
        row.raw_random.mib_per_s(row.size),
        row.web_accepted.mib_per_s(row.size),
        row.web_stored.mib_per_s(row.size),
        row.telegram.mib_per_s(row.size),
        row.web_gateway.idle_kib,
        row.web_gateway.peak_kib,
        row.storage_worker.idle_kib,
        row.storage_worker.peak_kib,
    );
}

/// One size: fresh namespace, database, bucket and processes.
async fn bench_size(bin_dir: &Path, config_dir: &Path, size: u64) -> anyhow::Result<Row> {
    let mut settings = Settings::load_from(config_dir).context("loading config/")?;
    let run = Uuid::new_v4().simple().to_string()[..12].to_owned();
    settings.broker.namespace = format!("bench{run}");
    settings.storage.bucket = format!("bench-{run}");
    let database = TestDatabase::create(&mut settings, "bureau_bench").await?;
    let store = ObjectStore::new(&settings.storage);
    store
        .ensure_bucket()
        .await
        .map_err(|e| anyhow!("bucket: {e}"))?;

    let double = TelegramDouble::start(DoubleConfig {
        max_download_bytes: u64::MAX,
        ..DoubleConfig::without_limits()
    })
    .await?;

    let web_addr = free_port()?;
    let worker_addr = free_port()?;
    let environment = vec![
        ("BUREAU_CONFIG_DIR", config_dir.display().to_string()),
        ("BUREAU__LOG__FILTER", "warn".to_owned()),
        (
            "BUREAU__DATABASE__URL",
            settings.database.url.expose().to_owned(),
        ),
        (
            "BUREAU__BROKER__NAMESPACE",
            settings.broker.namespace.clone(),
        ),
        ("BUREAU__STORAGE__BUCKET", settings.storage.bucket.clone()),
        ("BUREAU__TELEGRAM__API_URL", double.api_url()),
        ("BUREAU__TELEGRAM__TOKEN", double.token()),
        ("BUREAU__TELEGRAM__MAX_DOWNLOAD_BYTES", u64::MAX.to_string()),
        ("BUREAU__WEB_GATEWAY__LISTEN", web_addr.to_string()),
        (
            "BUREAU__WEB_GATEWAY__MAX_UPLOAD_BYTES",
            (4 * 1024 * MIB).to_string(),
        ),
        ("BUREAU__STORAGE_WORKER__LISTEN", worker_addr.to_string()),
        // One customer sends every file: the per-customer quotas are not measured here.
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
            u64::MAX.to_string(),
        ),
    ];
    let mut web = Service::spawn(
        &bin_dir.join(proto_events::Service::WebGateway.name()),
        &environment,
        web_addr,
    )?;
    let mut worker = Service::spawn(
        &bin_dir.join(proto_events::Service::StorageWorker.name()),
        &environment,
        worker_addr,
    )?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3600))
        .build()?;
    web.wait_ready(&http).await?;
    worker.wait_ready(&http).await?;
    let web_idle = web.rss_kib()?;
    let worker_idle = worker.rss_kib()?;

    let token = web_customer(&http, web_addr).await?;
    let (web_accepted, web_stored) = web_upload(&http, web_addr, &token, &store, size).await?;
    let telegram = telegram_upload(&settings, &double, &store, size).await?;
    let raw = raw_upload(
        &store,
        &settings,
        size,
        Generator::Pattern,
        Signing::SdkDefault,
    )
    .await?;
    let raw_unsigned = raw_upload(
        &store,
        &settings,
        size,
        Generator::Pattern,
        Signing::Unsigned,
    )
    .await?;
    let raw_random = raw_upload(
        &store,
        &settings,
        size,
        Generator::Random,
        Signing::SdkDefault,
    )
    .await?;

    let row = Row {
        size,
        web_accepted,
        web_stored,
        telegram,
        raw,
        raw_unsigned,
        raw_random,
        web_gateway: Memory {
            idle_kib: web_idle,
            peak_kib: web.peak_kib()?,
        },
        storage_worker: Memory {
            idle_kib: worker_idle,
            peak_kib: worker.peak_kib()?,
        },
    };
    web.stop();
    worker.stop();
    double.shutdown().await;
    database.remove().await;
    empty_bucket(&store).await;
    Ok(row)
}

fn free_port() -> anyhow::Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// A service binary running as a child process.
struct Service {
    child: Child,
    addr: SocketAddr,
}

impl Service {
    fn spawn(
        binary: &Path,
        environment: &[(&str, String)],
        addr: SocketAddr,
    ) -> anyhow::Result<Service> {
        if !binary.is_file() {
            bail!(
                "{} is missing: run `cargo build --release -p web-gateway -p storage-worker` first",
                binary.display()
            );
        }
        let child = Command::new(binary)
            .envs(environment.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(Service { child, addr })
    }

    async fn wait_ready(&mut self, http: &reqwest::Client) -> anyhow::Result<()> {
        let url = format!("http://{}/readyz", self.addr);
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(response) = http.get(&url).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("a service exited at start with {status}");
            }
            if Instant::now() > until {
                bail!("{url} not ready after 60 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn status_field(&self, field: &str) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| anyhow!("no {field} in /proc/{}/status", self.child.id()))
    }

    fn rss_kib(&self) -> anyhow::Result<u64> {
        self.status_field("VmRSS:")
    }

    fn peak_kib(&self) -> anyhow::Result<u64> {
        self.status_field("VmHWM:")
    }

    fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[derive(Clone, Copy)]
enum Generator {
    /// Byte `i` is `i % 251`, as the Telegram double's synthetic files.
    Pattern,
    Random,
}

/// `size` bytes in `CHUNK`s, produced as read: nothing holds the whole file.
fn generated(
    size: u64,
    generator: Generator,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    futures::stream::iter((0..size.div_ceil(CHUNK)).map(move |i| {
        let start = i * CHUNK;
        let len = CHUNK.min(size - start) as usize;
        Ok(chunk(start, len, generator))
    }))
}

fn chunk(start: u64, len: usize, generator: Generator) -> Bytes {
    match generator {
        Generator::Pattern => (0..len as u64)
            .map(|i| ((start + i) % 251) as u8)
            .collect::<Vec<_>>()
            .into(),
        Generator::Random => {
            let mut bytes = vec![0u8; len];
            rand::rng().fill_bytes(&mut bytes);
            bytes.into()
        }
    }
}

async fn web_customer(http: &reqwest::Client, web: SocketAddr) -> anyhow::Result<String> {
    let email = format!("bench-{}@example.com", Uuid::new_v4().simple());
    let password = "benchmark password 12345";
    let created = http
        .post(format!("http://{web}/api/accounts"))
        .json(&json!({"email": email, "password": password, "display_name": "Bench"}))
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

async fn web_upload(
    http: &reqwest::Client,
    web: SocketAddr,
    token: &str,
    store: &ObjectStore,
    size: u64,
) -> anyhow::Result<(Timed, Timed)> {
    let name = "bench.bin";
    let body = reqwest::Body::wrap_stream(generated(size, Generator::Pattern));
    let part = reqwest::multipart::Part::stream_with_length(body, size).file_name(name);
    let form = reqwest::multipart::Form::new()
        .text("text", "benchmark")
        .part("file", part);
    let started = Instant::now();
    let response = http
        .post(format!("http://{web}/api/orders"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await?;
    let accepted = started.elapsed();
    if response.status() != 201 {
        bail!(
            "web upload: {} {}",
            response.status(),
            response.text().await?
        );
    }
    let answer: Value = response.json().await?;
    let order_id = Uuid::parse_str(answer["order_id"].as_str().unwrap_or_default())?;
    let file_id = Uuid::parse_str(answer["files"][0]["file_id"].as_str().unwrap_or_default())?;
    let key = storage_worker::object_key(order_id, file_id, name);
    wait_for_object(store, &key, size).await?;
    Ok((Timed(accepted), Timed(started.elapsed())))
}

async fn telegram_upload(
    settings: &Settings,
    double: &TelegramDouble,
    store: &ObjectStore,
    size: u64,
) -> anyhow::Result<Timed> {
    let user = double.user(9001);
    let name = "bench.bin";
    let message = user.send_document_sized(name, "application/octet-stream", size, None);
    let file_id = user
        .file_ids(message)
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("no file id"))?;
    let order_id = Uuid::now_v7();
    let received = FileReceived {
        order_id,
        file_id: Uuid::now_v7(),
        purpose: FilePurpose::CustomerUpload,
        source: FileSource::Telegram {
            telegram_file_id: file_id,
            telegram_file_unique_id: "bench".into(),
        },
        original_name: name.into(),
        declared_size: Some(size),
        declared_content_type: None,
        note: None,
    };
    let key = storage_worker::object_key(order_id, received.file_id, name);
    let bus = bureau_platform::bus::event_bus(&settings.broker, "bench-files");
    let started = Instant::now();
    bus.publish(&Envelope::new(
        proto_events::Service::BotGateway.name(),
        order_id,
        received,
    ))
    .await?;
    wait_for_object(store, &key, size).await?;
    let took = started.elapsed();
    bus.close().await;
    Ok(Timed(took))
}

async fn wait_for_object(store: &ObjectStore, key: &str, size: u64) -> anyhow::Result<()> {
    let until = Instant::now() + Duration::from_secs(3600);
    loop {
        match store.head(key).await {
            Ok(Some(stored)) if stored == size => return Ok(()),
            Ok(Some(other)) => bail!("{key} holds {other} bytes, not {size}"),
            _ if Instant::now() > until => bail!("{key} never appeared"),
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// How the raw baseline sends each part's body.
#[derive(Clone, Copy)]
enum Signing {
    /// What aws-sdk-s3 does unless told otherwise: the part's SHA-256 in the signature.
    SdkDefault,
    /// `UNSIGNED-PAYLOAD`, as the services send to a loopback or `https` endpoint.
    Unsigned,
}

/// The baseline: aws-sdk-s3 multipart with the services' part size and parts in flight,
/// bytes generated as they are sent, nothing else. The client is the services' (path-style,
/// checksums only when required: Garage refuses the SDK's default checksum trailers).
async fn raw_upload(
    store: &ObjectStore,
    settings: &Settings,
    size: u64,
    generator: Generator,
    signing: Signing,
) -> anyhow::Result<Timed> {
    let client = store.client().clone();
    let bucket = store.bucket().to_owned();
    let key = format!("raw/{}", Uuid::new_v4());
    let part_size = settings.storage.part_size_bytes.max(5 * MIB as usize) as u64;
    let in_flight_max = settings.storage.max_parts_in_flight.max(1);
    let started = Instant::now();
    let upload = client
        .create_multipart_upload()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await?;
    let upload_id = Arc::new(
        upload
            .upload_id()
            .ok_or_else(|| anyhow!("no upload id"))?
            .to_owned(),
    );
    let mut in_flight = JoinSet::new();
    let mut parts = Vec::new();
    for (index, start) in (0..size).step_by(part_size as usize).enumerate() {
        let len = part_size.min(size - start);
        // Generated chunk by chunk, like a client reading a file.
        let mut part = Vec::with_capacity(len as usize);
        let mut offset = start;
        while offset < start + len {
            let take = CHUNK.min(start + len - offset) as usize;
            part.extend_from_slice(&chunk(offset, take, generator));
            offset += take as u64;
        }
        while in_flight.len() >= in_flight_max {
            parts.push(
                in_flight
                    .join_next()
                    .await
                    .ok_or_else(|| anyhow!("no part"))???,
            );
        }
        let (client, bucket, key, upload_id) = (
            client.clone(),
            bucket.clone(),
            key.clone(),
            upload_id.clone(),
        );
        let number = index as i32 + 1;
        in_flight.spawn(async move {
            let request = client
                .upload_part()
                .bucket(bucket)
                .key(key)
                .upload_id(upload_id.as_str())
                .part_number(number)
                .content_length(part.len() as i64)
                .body(ByteStream::from(part))
                .customize();
            let uploaded = match signing {
                Signing::SdkDefault => request.send().await?,
                Signing::Unsigned => request.disable_payload_signing().send().await?,
            };
            Ok::<_, anyhow::Error>(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(uploaded.e_tag().map(str::to_owned))
                    .build(),
            )
        });
    }
    while let Some(part) = in_flight.join_next().await {
        parts.push(part??);
    }
    parts.sort_by_key(|p| p.part_number());
    client
        .complete_multipart_upload()
        .bucket(&bucket)
        .key(&key)
        .upload_id(upload_id.as_str())
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await?;
    Ok(Timed(started.elapsed()))
}

/// Deletes what the run wrote, then the bucket: a benchmark leaves no gigabytes behind.
async fn empty_bucket(store: &ObjectStore) {
    let client = store.client();
    loop {
        let Ok(page) = client.list_objects_v2().bucket(store.bucket()).send().await else {
            return;
        };
        if page.contents().is_empty() {
            break;
        }
        for object in page.contents() {
            if let Some(key) = object.key() {
                let _ = store.delete(key).await;
            }
        }
    }
    let _ = client.delete_bucket().bucket(store.bucket()).send().await;
}
