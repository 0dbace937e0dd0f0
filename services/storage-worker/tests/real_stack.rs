//! The storage worker against the real local stack: RabbitMQ and Garage from
//! `scripts/stack up`, plus a small Bot API stand-in written here that answers `getFile`
//! and serves file downloads. Each test runs the worker in-process under a fresh broker
//! namespace and removes its queues afterwards.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bureau_event_bus::{EventBus, EventHandler, HandlerError};
use bureau_platform::object_store::ObjectStore;
use bureau_platform::service::Running;
use bureau_platform::{Secret, Settings};
use bureau_test_support::eventually;
use bytes::Bytes;
use proto_events::object_keys::STAGING_PREFIX;
use proto_events::topology::Consumer;
use proto_events::{Envelope, Event, FileReceived, FileRejected, FileSource, FileStored, Measured};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const TOKEN: &str = "123:TEST-TOKEN";
const WAIT: Duration = Duration::from_secs(30);
const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n";

// ------------------------------------------------------------------ the Bot API stand-in

/// How the stand-in answers `getFile` for one file id.
#[derive(Clone)]
enum TelegramFile {
    /// Answers with a path and serves these bytes.
    Present(Bytes),
    /// Says the file is bigger than it will serve, as a local Bot API server would.
    Oversized,
    /// Refuses as the cloud Bot API does for files above 20 MB.
    RefusedAsTooBig,
    /// Answers 500 this many times, then behaves as `Present`.
    FailingFirst(u32, Bytes),
    /// Answers 429 with `retry_after` 1 this many times, then behaves as `Present`.
    FloodFirst(u32, Bytes),
}

#[derive(Default)]
struct FakeTelegram {
    files: Mutex<HashMap<String, TelegramFile>>,
    downloads: AtomicU32,
}

impl FakeTelegram {
    async fn serve() -> (Arc<FakeTelegram>, String) {
        let fake = Arc::new(FakeTelegram::default());
        let app = Router::new()
            .route("/{bot}/getFile", get(get_file))
            .route("/file/{bot}/{*path}", get(download))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (fake, url)
    }

    fn add(&self, file_id: &str, file: TelegramFile) {
        self.files.lock().unwrap().insert(file_id.to_owned(), file);
    }
}

fn telegram_error(status: StatusCode, description: &str, retry_after: Option<u32>) -> Response {
    let mut body = json!({"ok": false, "error_code": status.as_u16(), "description": description});
    if let Some(seconds) = retry_after {
        body["parameters"] = json!({"retry_after": seconds});
    }
    (status, axum::Json(body)).into_response()
}

fn found(file_id: &str, size: usize) -> Response {
    axum::Json(json!({"ok": true, "result": {
        "file_id": file_id, "file_unique_id": format!("u-{file_id}"),
        "file_size": size, "file_path": format!("documents/{file_id}.bin"),
    }}))
    .into_response()
}

async fn get_file(
    State(fake): State<Arc<FakeTelegram>>,
    UrlPath(bot): UrlPath<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if bot != format!("bot{TOKEN}") {
        return telegram_error(StatusCode::UNAUTHORIZED, "Unauthorized", None);
    }
    let file_id = query.get("file_id").cloned().unwrap_or_default();
    let mut files = fake.files.lock().unwrap();
    let Some(file) = files.get_mut(&file_id) else {
        return telegram_error(
            StatusCode::BAD_REQUEST,
            "Bad Request: invalid file_id",
            None,
        );
    };
    match file {
        TelegramFile::Present(bytes) => found(&file_id, bytes.len()),
        TelegramFile::Oversized => found(&file_id, 30 * 1024 * 1024),
        TelegramFile::RefusedAsTooBig => telegram_error(
            StatusCode::BAD_REQUEST,
            "Bad Request: file is too big",
            None,
        ),
        TelegramFile::FailingFirst(0, bytes) | TelegramFile::FloodFirst(0, bytes) => {
            found(&file_id, bytes.len())
        }
        TelegramFile::FailingFirst(left, _) => {
            *left -= 1;
            telegram_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
                None,
            )
        }
        TelegramFile::FloodFirst(left, _) => {
            *left -= 1;
            telegram_error(
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests: retry after 1",
                Some(1),
            )
        }
    }
}

async fn download(
    State(fake): State<Arc<FakeTelegram>>,
    UrlPath((bot, path)): UrlPath<(String, String)>,
) -> Response {
    if bot != format!("bot{TOKEN}") {
        return telegram_error(StatusCode::UNAUTHORIZED, "Unauthorized", None);
    }
    let file_id = path
        .trim_start_matches("documents/")
        .trim_end_matches(".bin");
    let bytes = match fake.files.lock().unwrap().get(file_id) {
        Some(
            TelegramFile::Present(bytes)
            | TelegramFile::FailingFirst(0, bytes)
            | TelegramFile::FloodFirst(0, bytes),
        ) => bytes.clone(),
        _ => return telegram_error(StatusCode::NOT_FOUND, "Not Found", None),
    };
    fake.downloads.fetch_add(1, Ordering::SeqCst);
    bytes.into_response()
}

// ------------------------------------------------------------------ the harness

/// Records every event the notifier's queue receives (it is bound to both outcomes).
struct Record(mpsc::UnboundedSender<Envelope>);

impl EventHandler for Record {
    async fn handle(&self, event: &Envelope) -> Result<(), HandlerError> {
        let _ = self.0.send(event.clone());
        Ok(())
    }
}

/// The outcome events seen so far, in arrival order.
struct Outcomes {
    arrivals: mpsc::UnboundedReceiver<Envelope>,
    seen: Vec<Envelope>,
}

impl Outcomes {
    /// Waits for the `nth` (1-based) outcome event about `file_id`.
    async fn nth_about(&mut self, file_id: Uuid, nth: usize) -> Envelope {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let about: Vec<_> = self
                .seen
                .iter()
                .filter(|e| outcome_file(e) == Some(file_id))
                .collect();
            if about.len() >= nth {
                return about[nth - 1].clone();
            }
            match tokio::time::timeout_at(deadline, self.arrivals.recv()).await {
                Ok(Some(event)) => self.seen.push(event),
                Ok(None) => panic!("the recording consumer stopped"),
                Err(_) => panic!("no outcome number {nth} for file {file_id} within {WAIT:?}"),
            }
        }
    }

    async fn stored(&mut self, file_id: Uuid) -> (Envelope, FileStored) {
        let event = self.nth_about(file_id, 1).await;
        match &event.payload {
            Event::FileStored(stored) => (event.clone(), stored.clone()),
            other => panic!("expected FileStored, got {other:?}"),
        }
    }

    async fn rejected(&mut self, file_id: Uuid) -> FileRejected {
        match self.nth_about(file_id, 1).await.payload {
            Event::FileRejected(rejected) => rejected,
            other => panic!("expected FileRejected, got {other:?}"),
        }
    }
}

fn outcome_file(event: &Envelope) -> Option<Uuid> {
    match &event.payload {
        Event::FileStored(stored) => Some(stored.file_id),
        Event::FileRejected(rejected) => Some(rejected.file_id),
        _ => None,
    }
}

struct Harness {
    settings: Settings,
    store: ObjectStore,
    publisher: Arc<EventBus>,
    outcomes: Outcomes,
    worker: Running,
    shutdown: CancellationToken,
    /// Objects to remove when the test ends.
    keys: Vec<String>,
}

fn test_settings() -> Settings {
    let mut settings = bureau_test_support::settings().expect("settings load");
    bureau_test_support::isolate_broker(&mut settings.broker, "t");
    settings.broker.retry_delays_ms = vec![200];
    settings.storage_worker.listen = "127.0.0.1:0".parse().unwrap();
    settings.telegram.token = Secret::new(TOKEN);
    settings
}

impl Harness {
    async fn start(telegram_url: &str) -> Harness {
        let mut settings = test_settings();
        settings.telegram.api_url = telegram_url.to_owned();
        let store = ObjectStore::new(&settings.storage);
        store
            .ping()
            .await
            .expect("the object store answers (run scripts/stack up)");

        let publisher = bureau_platform::bus::event_bus(&settings.broker, "storage-worker-test");
        publisher
            .connect()
            .await
            .expect("RabbitMQ answers (run scripts/stack up)");
        let shutdown = CancellationToken::new();
        let (sender, arrivals) = mpsc::unbounded_channel();
        tokio::spawn(publisher.clone().consume(
            Consumer::Notifier,
            Arc::new(Record(sender)),
            4,
            shutdown.clone(),
        ));
        let worker = storage_worker::start(settings.clone(), shutdown.clone())
            .await
            .expect("worker starts");
        Harness {
            settings,
            store,
            publisher,
            outcomes: Outcomes {
                arrivals,
                seen: Vec::new(),
            },
            worker,
            shutdown,
            keys: Vec::new(),
        }
    }

    /// Puts `bytes` where the web gateway would, and returns the staging key.
    async fn stage(&mut self, bytes: &[u8]) -> String {
        let key = format!("{STAGING_PREFIX}{}", Uuid::new_v4());
        let body = futures::stream::iter([Ok::<_, String>(Bytes::copy_from_slice(bytes))]);
        self.store
            .upload_stream(&key, body, None)
            .await
            .expect("staging upload");
        self.keys.push(key.clone());
        key
    }

    async fn receive(
        &mut self,
        source: FileSource,
        original_name: &str,
    ) -> (Envelope, FileReceived) {
        let order_id = Uuid::now_v7();
        let file = FileReceived {
            order_id,
            file_id: Uuid::now_v7(),
            purpose: Default::default(),
            source,
            original_name: original_name.to_owned(),
            declared_size: None,
            declared_content_type: None,
            note: None,
        };
        self.keys.push(storage_worker::object_key(
            order_id,
            file.file_id,
            original_name,
        ));
        let event = Envelope::new("test", order_id, file.clone());
        self.publisher
            .publish(&event)
            .await
            .expect("publish FileReceived");
        (event, file)
    }

    async fn exists(&self, key: &str) -> bool {
        self.store.head(key).await.expect("head").is_some()
    }

    /// Waits until nothing is stored at `key` any more.
    async fn wait_gone(&self, key: &str) {
        eventually(&format!("{key} gone"), WAIT, || async {
            !self.exists(key).await
        })
        .await
        .unwrap();
    }

    /// Stops the worker (which must end promptly), then removes the test's objects, queues
    /// and exchanges.
    async fn finish(self) {
        self.shutdown.cancel();
        tokio::time::timeout(WAIT, self.worker.stopped())
            .await
            .expect("the worker stops after shutdown")
            .expect("the worker stops cleanly");
        for key in &self.keys {
            let _ = self.store.delete(key).await;
        }
        self.publisher.close().await;
        bureau_test_support::remove_broker_namespace(&self.settings.broker).await;
    }
}

fn sha256(bytes: &[u8]) -> String {
    bureau_test_support::sha256_hex(bytes)
}

/// Bytes that differ at every position and sniff as nothing in particular.
fn patterned(len: usize) -> Bytes {
    (0..len)
        .map(|i| (i * 7 + i / 251) as u8 | 0x80)
        .collect::<Vec<u8>>()
        .into()
}

// ------------------------------------------------------------------ the tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_upload_is_stored_announced_and_its_staging_copy_removed() {
    let (_telegram, telegram_url) = FakeTelegram::serve().await;
    let mut h = Harness::start(&telegram_url).await;

    let staging_key = h.stage(PDF).await;
    let (received, file) = h
        .receive(
            FileSource::WebUpload {
                staging_key: staging_key.clone(),
                measured: None,
            },
            "Звіт 2024 (final).pdf",
        )
        .await;
    let (event, stored) = h.outcomes.stored(file.file_id).await;

    assert_eq!(
        stored.object_key,
        format!(
            "orders/{}/{}/Звіт_2024_final.pdf",
            file.order_id, file.file_id
        )
    );
    assert_eq!(stored.size, PDF.len() as u64);
    assert_eq!(stored.sha256, sha256(PDF));
    assert_eq!(stored.content_type, "application/pdf");
    assert_eq!(stored.original_name, "Звіт 2024 (final).pdf");
    assert_eq!(event.causation_id, Some(received.event_id));
    assert_eq!(event.correlation_id, file.order_id);
    assert_eq!(event.producer, storage_worker::SERVICE.name());
    assert!(h.exists(&stored.object_key).await);
    h.wait_gone(&staging_key).await;

    // A redelivery finds the stored file (its staging copy is gone) and announces it again,
    // under the same event id so consumers drop the copy.
    h.publisher
        .publish(&received)
        .await
        .expect("publish the same FileReceived again");
    let again = h.outcomes.nth_about(file.file_id, 2).await;
    assert_eq!(again.event_id, event.event_id);
    assert_eq!(again.payload, event.payload);

    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_uploads_that_are_missing_empty_or_executable_are_rejected_and_not_kept() {
    let (_telegram, telegram_url) = FakeTelegram::serve().await;
    let mut h = Harness::start(&telegram_url).await;

    let (_, missing) = h
        .receive(
            FileSource::WebUpload {
                staging_key: format!("staging/{}", Uuid::new_v4()),
                measured: None,
            },
            "gone.pdf",
        )
        .await;
    let empty_key = h.stage(b"").await;
    let (_, empty) = h
        .receive(
            FileSource::WebUpload {
                staging_key: empty_key.clone(),
                measured: None,
            },
            "empty.txt",
        )
        .await;
    let mut elf = vec![0x7f, b'E', b'L', b'F', 2, 1, 1];
    elf.resize(4096, 0);
    let elf_key = h.stage(&elf).await;
    let (_, program) = h
        .receive(
            FileSource::WebUpload {
                staging_key: elf_key.clone(),
                measured: None,
            },
            "invoice.pdf",
        )
        .await;

    let rejected = h.outcomes.rejected(missing.file_id).await;
    assert_eq!(rejected.code, "upload_missing");
    assert_eq!(rejected.original_name, "gone.pdf");

    let rejected = h.outcomes.rejected(empty.file_id).await;
    assert_eq!(
        (rejected.code.as_str(), rejected.reason.as_str()),
        ("empty", "The file is empty")
    );
    assert!(
        !h.exists(&storage_worker::object_key(
            empty.order_id,
            empty.file_id,
            "empty.txt"
        ))
        .await
    );
    h.wait_gone(&empty_key).await;

    let rejected = h.outcomes.rejected(program.file_id).await;
    assert_eq!(rejected.code, "type_refused");
    assert!(
        !h.exists(&storage_worker::object_key(
            program.order_id,
            program.file_id,
            "invoice.pdf"
        ))
        .await
    );
    h.wait_gone(&elf_key).await;

    h.finish().await;
}

/// What the web gateway would send along with a staged file it measured.
fn measurement(bytes: &[u8], content_type: &str) -> Measured {
    Measured {
        size: bytes.len() as u64,
        sha256: sha256(bytes),
        content_type: content_type.to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_measured_web_upload_is_copied_to_its_key_and_its_staging_object_removed() {
    let (_telegram, telegram_url) = FakeTelegram::serve().await;
    let mut h = Harness::start(&telegram_url).await;
    // A PDF larger than one part, so the staged object is a multipart one.
    let mut bytes = PDF.to_vec();
    bytes.extend_from_slice(&patterned(
        h.settings.storage.part_size_bytes + 1024 * 1024 + 5,
    ));
    let staging_key = h.stage(&bytes).await;

    let (received, file) = h
        .receive(
            FileSource::WebUpload {
                staging_key: staging_key.clone(),
                measured: Some(measurement(&bytes, "application/pdf")),
            },
            "big scan.pdf",
        )
        .await;
    let (event, stored) = h.outcomes.stored(file.file_id).await;
    assert_eq!(
        stored.object_key,
        storage_worker::object_key(file.order_id, file.file_id, "big scan.pdf")
    );
    assert_eq!(stored.size, bytes.len() as u64);
    assert_eq!(stored.sha256, sha256(&bytes));
    assert_eq!(stored.content_type, "application/pdf");

    // The bytes at the final key are the staged ones, and the copy carries the sniffed type.
    let copied = h
        .store
        .client()
        .get_object()
        .bucket(h.store.bucket())
        .key(&stored.object_key)
        .send()
        .await
        .expect("the stored object");
    assert_eq!(copied.content_type(), Some("application/pdf"));
    let copied = copied.body.collect().await.expect("its bytes").into_bytes();
    assert_eq!(sha256(&copied), sha256(&bytes));
    h.wait_gone(&staging_key).await;

    // A redelivery finds the copy (the staging object is gone) and announces it again,
    // under the same event id.
    h.publisher
        .publish(&received)
        .await
        .expect("publish the same FileReceived again");
    let again = h.outcomes.nth_about(file.file_id, 2).await;
    assert_eq!(again.event_id, event.event_id);
    assert_eq!(again.payload, event.payload);

    h.finish().await;
}

/// Two deliveries of one `FileReceived` at once (a publisher's resend after a nack, both
/// storage worker replicas): one finds nothing at the file's key, and by the time it looks
/// at the staged object the other has copied it and deleted it. That is a stored file, not
/// a missing upload: the cluster run found both `FileStored` and `FileRejected` announced
/// for one file, and the refusal recorded last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staged_upload_another_delivery_copied_meanwhile_is_stored_not_missing() {
    let (_telegram, telegram_url) = FakeTelegram::serve().await;
    let mut h = Harness::start(&telegram_url).await;
    let order_id = Uuid::now_v7();
    let file_id = Uuid::now_v7();
    let key = storage_worker::object_key(order_id, file_id, "scan.pdf");
    let gone = format!("{STAGING_PREFIX}{order_id}/{file_id}");
    let measured = bureau_platform::object_store::Uploaded {
        size: PDF.len() as u64,
        sha256: sha256(PDF),
        content_type: "application/pdf".into(),
    };

    // Nothing staged, nothing at the key: the upload is missing.
    let outcome =
        storage_worker::staged::copy_measured(&h.store, &[], &gone, &key, measured.clone())
            .await
            .expect("the store answers");
    assert!(outcome.is_err(), "nothing anywhere is a missing upload");

    // The other delivery's copy is at the key, its staged object deleted.
    let body = futures::stream::iter([Ok::<_, String>(Bytes::from_static(PDF))]);
    h.store
        .upload_stream(&key, body, None)
        .await
        .expect("the copy the other delivery made");
    h.keys.push(key.clone());
    let outcome =
        storage_worker::staged::copy_measured(&h.store, &[], &gone, &key, measured.clone())
            .await
            .expect("the store answers");
    assert_eq!(
        outcome.ok(),
        Some(measured),
        "stored, as the other delivery announced"
    );

    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_measurement_the_staged_object_contradicts_or_that_is_refused_is_not_stored() {
    let (_telegram, telegram_url) = FakeTelegram::serve().await;
    let mut h = Harness::start(&telegram_url).await;

    // The gateway says one byte more than the staged object holds.
    let wrong_key = h.stage(PDF).await;
    let mut wrong = measurement(PDF, "application/pdf");
    wrong.size += 1;
    let (_, contradicted) = h
        .receive(
            FileSource::WebUpload {
                staging_key: wrong_key.clone(),
                measured: Some(wrong),
            },
            "wrong.pdf",
        )
        .await;
    let mut elf = vec![0x7f, b'E', b'L', b'F', 2, 1, 1];
    elf.resize(4096, 0);
    let elf_key = h.stage(&elf).await;
    let (_, program) = h
        .receive(
            FileSource::WebUpload {
                staging_key: elf_key.clone(),
                measured: Some(measurement(&elf, "application/x-executable")),
            },
            "invoice.pdf",
        )
        .await;
    let empty_key = h.stage(b"").await;
    let (_, empty) = h
        .receive(
            FileSource::WebUpload {
                staging_key: empty_key.clone(),
                measured: Some(measurement(b"", "text/plain")),
            },
            "empty.txt",
        )
        .await;
    let (_, missing) = h
        .receive(
            FileSource::WebUpload {
                staging_key: format!("staging/{}", Uuid::new_v4()),
                measured: Some(measurement(PDF, "application/pdf")),
            },
            "gone.pdf",
        )
        .await;

    for (file, name, code, staged) in [
        (
            &contradicted,
            "wrong.pdf",
            "upload_missing",
            Some(&wrong_key),
        ),
        (&program, "invoice.pdf", "type_refused", Some(&elf_key)),
        (&empty, "empty.txt", "empty", Some(&empty_key)),
        (&missing, "gone.pdf", "upload_missing", None),
    ] {
        let rejected = h.outcomes.rejected(file.file_id).await;
        assert_eq!(rejected.code, code, "{name}");
        assert!(
            !h.exists(&storage_worker::object_key(
                file.order_id,
                file.file_id,
                name
            ))
            .await,
            "{name} is not at its final key"
        );
        if let Some(staged) = staged {
            h.wait_gone(staged).await;
        }
    }

    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_telegram_file_is_streamed_in_parts_and_not_fetched_twice() {
    let (telegram, telegram_url) = FakeTelegram::serve().await;
    let mut h = Harness::start(&telegram_url).await;
    // Larger than one part (8 MiB by default), so the multipart path runs.
    let bytes = patterned(h.settings.storage.part_size_bytes + 3 * 1024 * 1024 + 17);
    telegram.add("big-doc", TelegramFile::Present(bytes.clone()));

    let source = FileSource::Telegram {
        telegram_file_id: "big-doc".into(),
        telegram_file_unique_id: "u".into(),
    };
    let (received, file) = h.receive(source, "scan.bin").await;
    let (event, stored) = h.outcomes.stored(file.file_id).await;
    assert_eq!(stored.size, bytes.len() as u64);
    assert_eq!(stored.sha256, sha256(&bytes));
    assert_eq!(stored.content_type, "application/octet-stream");
    assert_eq!(telegram.downloads.load(Ordering::SeqCst), 1);

    h.publisher
        .publish(&received)
        .await
        .expect("publish the same FileReceived again");
    let again = h.outcomes.nth_about(file.file_id, 2).await;
    assert_eq!(again.event_id, event.event_id);
    assert_eq!(
        again.payload, event.payload,
        "re-measured facts match the first upload"
    );
    assert_eq!(
        telegram.downloads.load(Ordering::SeqCst),
        1,
        "a redelivery does not download again"
    );

    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_refusals_become_readable_rejections() {
    let (telegram, telegram_url) = FakeTelegram::serve().await;
    let mut h = Harness::start(&telegram_url).await;
    telegram.add("huge", TelegramFile::Oversized);
    telegram.add("refused", TelegramFile::RefusedAsTooBig);
    let source = |id: &str| FileSource::Telegram {
        telegram_file_id: id.into(),
        telegram_file_unique_id: "u".into(),
    };

    let (_, unknown) = h.receive(source("never-sent"), "a.pdf").await;
    let (_, huge) = h.receive(source("huge"), "b.mp4").await;
    let (_, refused) = h.receive(source("refused"), "c.mp4").await;

    let rejected = h.outcomes.rejected(unknown.file_id).await;
    assert_eq!(rejected.code, "telegram_file_unavailable");
    assert!(
        rejected.reason.contains("invalid file_id"),
        "{}",
        rejected.reason
    );
    for file in [huge, refused] {
        let rejected = h.outcomes.rejected(file.file_id).await;
        assert_eq!(rejected.code, "too_big_for_telegram");
        assert_eq!(
            rejected.reason,
            "Files above 20 MB cannot be fetched from Telegram; please upload it through the web link"
        );
    }
    assert_eq!(telegram.downloads.load(Ordering::SeqCst), 0);

    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_outages_and_flood_control_are_retried_until_the_file_is_stored() {
    let (telegram, telegram_url) = FakeTelegram::serve().await;
    let mut h = Harness::start(&telegram_url).await;
    telegram.add(
        "flaky",
        TelegramFile::FailingFirst(2, Bytes::from_static(PDF)),
    );
    telegram.add(
        "flooded",
        TelegramFile::FloodFirst(1, Bytes::from_static(b"plain text")),
    );
    let source = |id: &str| FileSource::Telegram {
        telegram_file_id: id.into(),
        telegram_file_unique_id: "u".into(),
    };

    let (_, flaky) = h.receive(source("flaky"), "a.pdf").await;
    let (_, flooded) = h.receive(source("flooded"), "b.txt").await;

    let (_, stored) = h.outcomes.stored(flaky.file_id).await;
    assert_eq!(stored.sha256, sha256(PDF));
    let (_, stored) = h.outcomes.stored(flooded.file_id).await;
    assert_eq!(stored.content_type, "text/plain");

    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_starts_unready_while_broker_and_store_are_down_and_stops_on_request() {
    let mut settings = test_settings();
    // Nothing listens on port 9 (discard) here.
    settings.broker.url = Secret::new("amqp://guest:guest@127.0.0.1:9/%2f");
    settings.storage.endpoint = "http://127.0.0.1:9".into();
    let shutdown = CancellationToken::new();
    let worker = storage_worker::start(settings, shutdown.clone())
        .await
        .expect("starts anyway");
    let base = format!("http://{}", worker.http_addr);

    let http = reqwest::Client::new();
    let alive = http
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("healthz answers");
    assert_eq!(alive.status(), reqwest::StatusCode::OK);
    let ready = http
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("readyz answers");
    assert_eq!(ready.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    let report: serde_json::Value = ready.json().await.expect("readiness report");
    assert_eq!(report["checks"]["broker"]["ok"], false);
    assert_eq!(report["checks"]["object_store"]["ok"], false);

    shutdown.cancel();
    tokio::time::timeout(WAIT, worker.stopped())
        .await
        .expect("stops promptly")
        .expect("stops cleanly");
}
