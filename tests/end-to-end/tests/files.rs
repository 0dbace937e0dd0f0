//! Files end to end on the real RabbitMQ, MariaDB and S3 server (the Telegram document and
//! the web upload with the right hash are in `skeleton.rs`):
//! - bad input (zero bytes, `../`, NUL and control characters, 300-character names,
//!   a mismatched extension, a refused type, a vanished Telegram file) ends in a clear
//!   rejection or a stored file with a safe key;
//! - the same `FileReceived` twice stores one object and records one `FileStored`;
//! - results staff attach reach the customer's order; downloads go through presigned URLs
//!   checked against who may see the order, and through signed links; upload by link;
//! - the object store killed in the middle of an upload and started again: the file ends
//!   stored with the right hash (on a private Garage, never the shared one);
//! - the sweep removes abandoned multipart uploads and staged objects.

use std::time::Duration;

use anyhow::{Context, anyhow};
use bureau_end_to_end::private_garage::PrivateGarage;
use bureau_end_to_end::web::{login, register_customer};
use bureau_end_to_end::{DEADLINE, Service, TestStack, eventually, random_bytes, sha256_hex};
use bureau_event_bus::EventBus;
use bureau_platform::links::{self, LinkPurpose, LinkSigner};
use bureau_platform::object_store::ObjectStore;
use futures::TryStreamExt;
use proto_events::{CustomerRef, Envelope, FilePurpose, FileReceived, FileSource, OrderCreated};
use serde_json::{Value, json};
use sqlx::Row;
use std::sync::Arc;
use telegram_double::{DoubleConfig, SimUser};
use uuid::Uuid;

/// What `order_files` says about one file once it is settled.
#[derive(Debug)]
struct SettledFile {
    state: String,
    purpose: String,
    original_name: String,
    object_key: Option<String>,
    sha256: Option<String>,
    content_type: Option<String>,
    rejection_code: Option<String>,
    rejection_reason: Option<String>,
}

async fn settled(stack: &TestStack, file_id: Uuid) -> anyhow::Result<SettledFile> {
    settled_within(stack, file_id, DEADLINE).await
}

async fn settled_within(
    stack: &TestStack,
    file_id: Uuid,
    deadline: Duration,
) -> anyhow::Result<SettledFile> {
    eventually(&format!("file {file_id} settled"), deadline, || async {
        let row = sqlx::query(
            "SELECT state, purpose, original_name, object_key, sha256, content_type, rejection_code, rejection_reason
             FROM order_files WHERE id = ? AND state <> 'received'",
        )
        .bind(file_id)
        .fetch_optional(&stack.db)
        .await
        .ok()??;
        Some(SettledFile {
            state: row.get("state"),
            purpose: row.get("purpose"),
            original_name: row.get("original_name"),
            object_key: row.get("object_key"),
            sha256: row.get("sha256"),
            content_type: row.get("content_type"),
            rejection_code: row.get("rejection_code"),
            rejection_reason: row.get("rejection_reason"),
        })
    })
    .await
}

async fn object_bytes(store: &ObjectStore, key: &str) -> anyhow::Result<Vec<u8>> {
    let stream = store.get_stream(key).await.map_err(|e| anyhow!(e))?;
    let chunks: Vec<bytes::Bytes> = stream.map_err(|e| anyhow!(e)).try_collect().await?;
    Ok(chunks.concat())
}

/// Records a Telegram customer's order directly on the bus; returns its id.
async fn telegram_order(bus: &EventBus, stack: &TestStack, user_id: i64) -> anyhow::Result<Uuid> {
    let order_id = Uuid::now_v7();
    let created = OrderCreated {
        order_id,
        order_number: proto_events::order_number::generate(),
        customer: CustomerRef::Telegram {
            user_id,
            chat_id: user_id,
            display_name: "File Tester".into(),
            username: None,
            phone: None,
            language: Some("en".into()),
        },
        service_code: None,
        text: "files".into(),
        file_count: 0,
        created_at: chrono::Utc::now(),
        items: Vec::new(),
        total: None,
    };
    bus.publish(&Envelope::new("e2e-test", order_id, created))
        .await?;
    eventually("the order recorded", DEADLINE, || async {
        sqlx::query("SELECT 1 FROM orders WHERE id = ?")
            .bind(order_id)
            .fetch_optional(&stack.db)
            .await
            .ok()?
    })
    .await?;
    Ok(order_id)
}

fn file_received(order_id: Uuid, source: FileSource, name: &str) -> Envelope {
    let received = FileReceived {
        order_id,
        file_id: Uuid::now_v7(),
        purpose: FilePurpose::CustomerUpload,
        source,
        original_name: name.to_owned(),
        declared_size: None,
        declared_content_type: None,
        note: None,
    };
    Envelope::new("e2e-test", order_id, received)
}

fn file_id_of(event: &Envelope) -> Uuid {
    match &event.payload {
        proto_events::Event::FileReceived(file) => file.file_id,
        _ => unreachable!("only FileReceived here"),
    }
}

/// A document the user sent to the bot, as a `FileSource`.
fn telegram_document(user: &SimUser, name: &str, bytes: Vec<u8>) -> FileSource {
    let message = user.send_document(name, "application/octet-stream", bytes, None);
    telegram_source(user, message)
}

fn telegram_source(user: &SimUser, message: i64) -> FileSource {
    let file_id = user
        .file_ids(message)
        .into_iter()
        .next()
        .expect("a document carries a file id");
    FileSource::Telegram {
        telegram_file_id: file_id,
        telegram_file_unique_id: format!("u{message}"),
    }
}

fn pdf_bytes() -> Vec<u8> {
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.extend(random_bytes(4096));
    pdf
}

fn elf_bytes() -> Vec<u8> {
    let mut elf = vec![0x7f, b'E', b'L', b'F', 2, 1, 1];
    elf.resize(4096, 0);
    elf
}

/// Byte `i` is `i % 251`: the Telegram double's synthetic files.
fn synthetic(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i % 251) as u8).collect()
}

fn assert_safe_key(key: &str, order_id: Uuid) {
    assert!(key.starts_with(&format!("orders/{order_id}/")), "{key}");
    let name = key.rsplit('/').next().unwrap_or_default();
    assert!(!key.contains(".."), "{key}");
    assert!(!key.chars().any(char::is_control), "{key:?}");
    assert!(name.chars().count() <= storage_worker_name_limit(), "{key}");
    assert_eq!(
        key.matches('/').count(),
        3,
        "only our own separators: {key}"
    );
}

/// `storage_worker::file_name::MAX_NAME_CHARS`.
fn storage_worker_name_limit() -> usize {
    100
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_ends_in_a_clear_rejection_or_a_safe_key() -> anyhow::Result<()> {
    let mut stack = TestStack::start().await?;
    // The bytes are fetched by file id; the bot has no part in this and would only answer
    // the simulated user's documents.
    stack.stop_service(Service::BotGateway).await?;
    let bus = bureau_platform::bus::event_bus(&stack.settings.broker, "e2e-test");
    let user = stack.telegram.user_with(7101, "Bad Input", "en");
    let order_id = telegram_order(&bus, &stack, user.id()).await?;

    let ordinary = random_bytes(2048);
    let long_name = format!("{}.pdf", "ж".repeat(300));
    let cases = [
        (
            "zero bytes",
            file_received(
                order_id,
                telegram_document(&user, "empty.txt", Vec::new()),
                "empty.txt",
            ),
        ),
        (
            "parent references",
            file_received(
                order_id,
                telegram_document(&user, "x", ordinary.clone()),
                "../../etc/passwd",
            ),
        ),
        (
            "NUL and control characters",
            file_received(
                order_id,
                telegram_document(&user, "x", ordinary.clone()),
                "bad\0na\u{7}me\r\n.txt",
            ),
        ),
        (
            "300-character name",
            file_received(
                order_id,
                telegram_document(&user, "x", ordinary.clone()),
                &long_name,
            ),
        ),
        (
            "mismatched extension",
            file_received(
                order_id,
                telegram_document(&user, "photo.jpg", pdf_bytes()),
                "photo.jpg",
            ),
        ),
        (
            "refused type",
            file_received(
                order_id,
                telegram_document(&user, "invoice.pdf", elf_bytes()),
                "invoice.pdf",
            ),
        ),
    ];
    let vanished = {
        let message = user.send_document("gone.pdf", "application/pdf", pdf_bytes(), None);
        let source = telegram_source(&user, message);
        if let FileSource::Telegram {
            telegram_file_id, ..
        } = &source
        {
            user.remove_file(telegram_file_id);
        }
        file_received(order_id, source, "gone.pdf")
    };
    // A web upload whose staged bytes are empty: the other way a zero-byte file arrives.
    let staged_empty = {
        let key = format!("staging/{order_id}/{}", Uuid::now_v7());
        stack
            .store
            .upload_stream(
                &key,
                futures::stream::iter(Vec::<Result<bytes::Bytes, String>>::new()),
                None,
            )
            .await?;
        file_received(
            order_id,
            FileSource::WebUpload {
                staging_key: key,
                measured: None,
            },
            "empty-web.txt",
        )
    };
    for (_, event) in &cases {
        bus.publish(event).await?;
    }
    bus.publish(&vanished).await?;
    bus.publish(&staged_empty).await?;

    let empty = settled(&stack, file_id_of(&cases[0].1)).await?;
    assert_eq!(
        (empty.state.as_str(), empty.rejection_code.as_deref()),
        ("rejected", Some("empty")),
        "{empty:?}"
    );
    assert_eq!(empty.rejection_reason.as_deref(), Some("The file is empty"));
    let empty_web = settled(&stack, file_id_of(&staged_empty)).await?;
    assert_eq!(
        empty_web.rejection_code.as_deref(),
        Some("empty"),
        "{empty_web:?}"
    );

    for (what, event) in &cases[1..4] {
        let file = settled(&stack, file_id_of(event)).await?;
        assert_eq!(file.state, "stored", "{what}: {file:?}");
        let key = file
            .object_key
            .as_deref()
            .context("a stored file has a key")?;
        assert_safe_key(key, order_id);
        assert_eq!(
            file.sha256.as_deref(),
            Some(sha256_hex(&ordinary).as_str()),
            "{what}"
        );
        assert_eq!(object_bytes(&stack.store, key).await?, ordinary, "{what}");
    }
    let climbing = settled(&stack, file_id_of(&cases[1].1)).await?;
    assert_eq!(
        climbing.original_name, "../../etc/passwd",
        "the customer's name is kept for display"
    );
    assert!(
        climbing
            .object_key
            .unwrap_or_default()
            .ends_with("/etcpasswd")
    );
    let control = settled(&stack, file_id_of(&cases[2].1)).await?;
    assert!(
        control
            .object_key
            .unwrap_or_default()
            .ends_with("/badname.txt")
    );
    let long = settled(&stack, file_id_of(&cases[3].1)).await?;
    assert_eq!(long.original_name, long_name);
    assert!(long.object_key.unwrap_or_default().ends_with(".pdf"));

    let mismatched = settled(&stack, file_id_of(&cases[4].1)).await?;
    assert_eq!(
        mismatched.state, "stored",
        "a mismatched extension is stored, not refused: {mismatched:?}"
    );
    assert_eq!(
        mismatched.content_type.as_deref(),
        Some("application/pdf"),
        "the type comes from the bytes"
    );
    assert_eq!(
        mismatched.original_name, "photo.jpg",
        "the name stays the customer's"
    );

    let refused = settled(&stack, file_id_of(&cases[5].1)).await?;
    assert_eq!(
        refused.rejection_code.as_deref(),
        Some("type_refused"),
        "{refused:?}"
    );
    assert!(
        refused
            .rejection_reason
            .unwrap_or_default()
            .contains("application/x-"),
        "the reason names the sniffed type"
    );

    let gone = settled(&stack, file_id_of(&vanished)).await?;
    assert_eq!(
        gone.rejection_code.as_deref(),
        Some("telegram_file_unavailable"),
        "{gone:?}"
    );
    assert!(
        gone.rejection_reason
            .unwrap_or_default()
            .contains("send it again")
    );

    // Nothing refused is left where a download could reach it.
    let listed = stack
        .store
        .client()
        .list_objects_v2()
        .bucket(stack.store.bucket())
        .prefix(format!("orders/{order_id}/"))
        .send()
        .await?;
    assert_eq!(
        listed.contents().len(),
        4,
        "the four stored files and nothing else"
    );

    bus.close().await;
    stack.teardown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_file_received_twice_is_stored_once() -> anyhow::Result<()> {
    // One event at a time, so the marker below is handled after the duplicate.
    let mut stack = TestStack::start_with(DoubleConfig::default(), |s| {
        s.storage_worker.concurrency = 1
    })
    .await?;
    stack.stop_service(Service::BotGateway).await?;
    let bus = bureau_platform::bus::event_bus(&stack.settings.broker, "e2e-test");
    let user = stack.telegram.user_with(7102, "Twice", "en");
    let order_id = telegram_order(&bus, &stack, user.id()).await?;
    let bytes = random_bytes(64 * 1024);
    let event = file_received(
        order_id,
        telegram_document(&user, "twice.bin", bytes.clone()),
        "twice.bin",
    );
    bus.publish(&event).await?;
    bus.publish(&event).await?;
    let marker = file_received(
        order_id,
        telegram_document(&user, "marker.bin", random_bytes(10)),
        "marker.bin",
    );
    bus.publish(&marker).await?;
    settled(&stack, file_id_of(&marker)).await?;

    let file = settled(&stack, file_id_of(&event)).await?;
    assert_eq!(file.sha256.as_deref(), Some(sha256_hex(&bytes).as_str()));
    let listed = stack
        .store
        .client()
        .list_objects_v2()
        .bucket(stack.store.bucket())
        .prefix(format!("orders/{order_id}/{}/", file_id_of(&event)))
        .send()
        .await?;
    assert_eq!(listed.contents().len(), 1, "one object for the file");
    // The persistence worker's inbox: the order, two FileReceived (the duplicate shares its
    // id with the first) and two FileStored. A second FileStored would make it six.
    let processed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM processed_events WHERE consumer = 'persistence-worker'",
    )
    .fetch_one(&stack.db)
    .await?;
    assert_eq!(
        processed, 5,
        "the duplicate delivery published the very same FileStored"
    );
    bus.close().await;
    stack.teardown().await
}

fn file_form(name: &str, bytes: Vec<u8>) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
    )
}

/// Follows one 303 by hand and returns the bytes behind it.
async fn download(
    no_redirects: &reqwest::Client,
    stack: &TestStack,
    path: &str,
    token: Option<&str>,
) -> anyhow::Result<Vec<u8>> {
    let mut request = no_redirects.get(stack.web_url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    anyhow::ensure!(response.status() == 303, "{path}: {}", response.status());
    let location = response
        .headers()
        .get("location")
        .context("a Location")?
        .to_str()?
        .to_owned();
    let object = stack.http.get(&location).send().await?;
    anyhow::ensure!(object.status() == 200, "presigned GET: {}", object.status());
    Ok(object.bytes().await?.to_vec())
}

/// The path of a link made on `web_gateway.public_url`, to ask the test's gateway.
fn path_of(link: &str, settings: &bureau_platform::Settings) -> String {
    link.strip_prefix(settings.web_gateway.public_url.trim_end_matches('/'))
        .unwrap_or(link)
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_downloads_and_upload_links() -> anyhow::Result<()> {
    let stack = TestStack::start_with(DoubleConfig::default(), |s| {
        s.web_gateway.max_upload_bytes = 4 * 1024 * 1024
    })
    .await?;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let customer =
        register_customer(&stack, "files.customer@example.com", "Files Customer").await?;
    let stranger = register_customer(&stack, "stranger@example.com", "Stranger").await?;
    let password = "staff password for tests 1";
    bureau_accounts::create_account(
        &stack.db,
        "manager@example.com",
        password,
        "Maria Manager",
        // A manager: every order is theirs to work (an executor only their own, see the
        // back office's permission matrix).
        bureau_accounts::Role::Manager,
    )
    .await
    .map_err(|e| anyhow!("{e}"))?;
    let staff = login(&stack, "manager@example.com", password).await?;

    // The customer's order with one file.
    let upload = random_bytes(100 * 1024);
    let placed: Value = stack
        .http
        .post(stack.web_url("/api/orders"))
        .bearer_auth(&customer)
        .multipart(file_form("scan.bin", upload.clone()).text("text", "translate this"))
        .send()
        .await?
        .json()
        .await?;
    let number = placed["order_number"]
        .as_str()
        .context("order_number")?
        .to_owned();
    let order_id: Uuid = placed["order_id"].as_str().context("order_id")?.parse()?;
    let upload_id: Uuid = placed["files"][0]["file_id"]
        .as_str()
        .context("file_id")?
        .parse()?;
    settled(&stack, upload_id).await?;

    // Customer download: theirs only; a stranger and an unknown file get 404 alike.
    let own = format!("/api/orders/{number}/files/{upload_id}/download");
    assert_eq!(
        sha256_hex(&download(&no_redirects, &stack, &own, Some(&customer)).await?),
        sha256_hex(&upload)
    );
    let strangers = no_redirects
        .get(stack.web_url(&own))
        .bearer_auth(&stranger)
        .send()
        .await?;
    assert_eq!(strangers.status(), 404);
    let unknown = no_redirects
        .get(stack.web_url(&format!(
            "/api/orders/{number}/files/{}/download",
            Uuid::now_v7()
        )))
        .bearer_auth(&customer)
        .send()
        .await?;
    assert_eq!(unknown.status(), 404);
    let anonymous = no_redirects.get(stack.web_url(&own)).send().await?;
    assert_eq!(anonymous.status(), 401);

    // Staff attach a result.
    let result = pdf_bytes();
    let results_url = stack.web_url(&format!("/api/staff/orders/{order_id}/results"));
    let attached = stack
        .http
        .post(&results_url)
        .bearer_auth(&staff)
        .multipart(file_form("переклад.pdf", result.clone()))
        .send()
        .await?;
    assert_eq!(attached.status(), 202, "{}", attached.text().await?);
    let attached: Value = attached.json().await?;
    let result_id: Uuid = attached["files"][0]["file_id"]
        .as_str()
        .context("file_id")?
        .parse()?;
    let stored = settled(&stack, result_id).await?;
    assert_eq!(
        (stored.state.as_str(), stored.purpose.as_str()),
        ("stored", "result"),
        "{stored:?}"
    );
    assert!(
        stored
            .object_key
            .as_deref()
            .unwrap_or_default()
            .starts_with(&format!("orders/{order_id}/results/{result_id}/")),
        "{stored:?}"
    );
    assert_eq!(stored.sha256.as_deref(), Some(sha256_hex(&result).as_str()));
    // Customers are not staff; an unknown order is 404; a declared size above the limit is
    // refused before a byte is read.
    let by_customer = stack
        .http
        .post(&results_url)
        .bearer_auth(&customer)
        .multipart(file_form("x.pdf", result.clone()))
        .send()
        .await?;
    assert_eq!(by_customer.status(), 403);
    let no_order = stack
        .http
        .post(stack.web_url(&format!("/api/staff/orders/{}/results", Uuid::now_v7())))
        .bearer_auth(&staff)
        .multipart(file_form("x.pdf", result.clone()))
        .send()
        .await?;
    assert_eq!(no_order.status(), 404);
    let too_big = stack
        .http
        .post(&results_url)
        .bearer_auth(&staff)
        .header("content-type", "multipart/form-data; boundary=x")
        .header("content-length", (6u64 * 1024 * 1024).to_string())
        .body(vec![0u8; 16])
        .send()
        .await;
    // Either the 413 arrives, or the server closes the connection after answering it.
    if let Ok(response) = too_big {
        assert_eq!(response.status(), 413);
    }

    // The customer sees the result on the order and downloads it; staff download too.
    let details: Value = stack
        .http
        .get(stack.web_url(&format!("/api/orders/{number}")))
        .bearer_auth(&customer)
        .send()
        .await?
        .json()
        .await?;
    let files = details["files"].as_array().context("files")?;
    assert!(
        files.iter().any(|f| f["file_id"] == json!(result_id)
            && f["purpose"] == "result"
            && f["state"] == "stored"),
        "{details}"
    );
    let theirs = format!("/api/orders/{number}/files/{result_id}/download");
    assert_eq!(
        download(&no_redirects, &stack, &theirs, Some(&customer)).await?,
        result
    );
    let staffs = format!("/api/staff/orders/{order_id}/files/{upload_id}/download");
    assert_eq!(
        download(&no_redirects, &stack, &staffs, Some(&staff)).await?,
        upload
    );
    let customer_as_staff = no_redirects
        .get(stack.web_url(&staffs))
        .bearer_auth(&customer)
        .send()
        .await?;
    assert_eq!(customer_as_staff.status(), 403);

    // The signed download link the notifier sends for results too big for Telegram.
    let link = links::issue_download_link(&stack.db, &stack.settings, order_id, result_id)
        .await?
        .context("links are configured")?;
    assert!(
        link.starts_with(&format!(
            "{}/d/",
            stack.settings.web_gateway.public_url.trim_end_matches('/')
        )),
        "{link}"
    );
    let link_path = path_of(&link, &stack.settings);
    assert_eq!(
        download(&no_redirects, &stack, &link_path, None).await?,
        result
    );
    let tampered = no_redirects
        .get(stack.web_url(&format!("{link_path}x")))
        .send()
        .await?;
    assert_eq!(tampered.status(), 404);
    let signer = LinkSigner::new(&stack.settings.links.secret).context("a signer")?;
    let wrong_purpose = signer.sign(
        LinkPurpose::Upload,
        result_id,
        Duration::from_secs(60),
        Uuid::now_v7(),
    );
    assert_eq!(
        no_redirects
            .get(stack.web_url(&format!("/d/{wrong_purpose}")))
            .send()
            .await?
            .status(),
        404
    );
    let expiring = signer.sign(
        LinkPurpose::Download,
        result_id,
        Duration::ZERO,
        Uuid::now_v7(),
    );
    let gone = eventually("the link expired", DEADLINE, || async {
        let response = no_redirects
            .get(stack.web_url(&format!("/d/{expiring}")))
            .send()
            .await
            .ok()?;
        (response.status() == 410).then_some(response)
    })
    .await?;
    assert!(gone.text().await?.contains("expired"));

    // Upload by link into the existing order: the page, then the file.
    let link = links::issue_upload_link(&stack.db, &stack.settings, order_id)
        .await?
        .context("links are configured")?;
    let link_path = path_of(&link, &stack.settings);
    let page = stack.http.get(stack.web_url(&link_path)).send().await?;
    assert_eq!(page.status(), 200);
    let page = page.text().await?;
    assert!(
        page.contains("<progress") && page.contains(&number),
        "the page names the order and shows progress"
    );
    let big = random_bytes(1024 * 1024);
    let sent = stack
        .http
        .post(stack.web_url(&link_path))
        .multipart(file_form("big scan.tiff", big.clone()))
        .send()
        .await?;
    assert_eq!(sent.status(), 201, "{}", sent.text().await?);
    let sent: Value = sent.json().await?;
    let linked_id: Uuid = sent["files"][0]["file_id"]
        .as_str()
        .context("file_id")?
        .parse()?;
    let linked = settled(&stack, linked_id).await?;
    assert_eq!(
        (linked.state.as_str(), linked.purpose.as_str()),
        ("stored", "customer_upload")
    );
    assert_eq!(linked.sha256.as_deref(), Some(sha256_hex(&big).as_str()));
    let order_of_file: Uuid = sqlx::query_scalar("SELECT order_id FROM order_files WHERE id = ?")
        .bind(linked_id)
        .fetch_one(&stack.db)
        .await?;
    assert_eq!(order_of_file, order_id);
    let tampered = stack
        .http
        .get(stack.web_url(&format!("{link_path}x")))
        .send()
        .await?;
    assert_eq!(tampered.status(), 404);

    stack.teardown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_object_store_killed_mid_upload_and_started_again_ends_with_the_file_stored()
-> anyhow::Result<()> {
    let mut garage = PrivateGarage::start().await?;
    let storage = garage.storage_settings(
        &bureau_platform::Settings::load_from(&bureau_end_to_end::config_dir())?.storage,
    );
    let double = DoubleConfig {
        max_download_bytes: 1 << 30,
        ..DoubleConfig::default()
    };
    let mut stack = TestStack::start_with(double, |s| {
        s.storage = storage;
        s.storage.part_size_bytes = 5 * 1024 * 1024;
        // Like a local Bot API server: no 20 MB download limit.
        s.telegram.max_download_bytes = 1 << 30;
        // Enough redeliveries to outlast the outage; the delays stay short.
        s.broker.max_attempts = 100;
    })
    .await?;
    stack.stop_service(Service::BotGateway).await?;
    let private = ObjectStore::new(&stack.settings.storage);
    let bus: Arc<EventBus> = bureau_platform::bus::event_bus(&stack.settings.broker, "e2e-test");
    let user = stack.telegram.user_with(7103, "Outage", "en");
    let order_id = telegram_order(&bus, &stack, user.id()).await?;

    let size = 48 * 1024 * 1024;
    let message =
        user.send_document_sized("big.bin", "application/octet-stream", size as u64, None);
    let event = file_received(order_id, telegram_source(&user, message), "big.bin");
    bus.publish(&event).await?;

    // Mid-upload: a multipart upload is open on the server.
    eventually("a multipart upload in progress", DEADLINE, || async {
        let uploads = private
            .client()
            .list_multipart_uploads()
            .bucket(private.bucket())
            .send()
            .await
            .ok()?;
        (!uploads.uploads().is_empty()).then_some(())
    })
    .await?;
    garage.kill();
    let readiness = format!("http://{}/readyz", stack.addr(Service::StorageWorker));
    eventually(
        "the storage worker sees the store down",
        DEADLINE,
        || async {
            let status = stack.http.get(&readiness).send().await.ok()?.status();
            (!status.is_success()).then_some(())
        },
    )
    .await?;
    garage.start_again().await?;

    let file = settled_within(&stack, file_id_of(&event), Duration::from_secs(90)).await?;
    assert_eq!(file.state, "stored", "{file:?}");
    let expected = sha256_hex(&synthetic(size));
    assert_eq!(file.sha256.as_deref(), Some(expected.as_str()));
    let key = file.object_key.context("a key")?;
    assert_eq!(
        sha256_hex(&object_bytes(&private, &key).await?),
        expected,
        "the object holds every byte"
    );

    bus.close().await;
    stack.teardown().await?;
    drop(garage);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_removes_abandoned_uploads_and_nothing_else() -> anyhow::Result<()> {
    let stack = TestStack::start_with(DoubleConfig::default(), |s| {
        s.storage_worker.sweep_interval_secs = 1;
        s.storage_worker.abandoned_multipart_after_secs = 1;
        s.storage_worker.abandoned_staging_after_secs = 1;
    })
    .await?;
    let client = stack.store.client();
    let bucket = stack.store.bucket();
    let abandoned = client
        .create_multipart_upload()
        .bucket(bucket)
        .key("orders/x/y/abandoned.bin")
        .send()
        .await?;
    let abandoned_id = abandoned.upload_id().context("an upload id")?.to_owned();
    let one = |bytes: &'static [u8]| {
        futures::stream::iter([Ok::<_, String>(bytes::Bytes::from_static(bytes))])
    };
    stack
        .store
        .upload_stream("staging/x/left-behind", one(b"half an order"), None)
        .await?;
    stack
        .store
        .upload_stream("orders/x/y/kept.txt", one(b"a stored file"), None)
        .await?;

    eventually(
        "the abandoned upload and the staged object swept",
        DEADLINE,
        || async {
            let uploads = client
                .list_multipart_uploads()
                .bucket(bucket)
                .send()
                .await
                .ok()?;
            let open = uploads
                .uploads()
                .iter()
                .any(|u| u.upload_id() == Some(abandoned_id.as_str()));
            let staged = stack.store.head("staging/x/left-behind").await.ok()?;
            (!open && staged.is_none()).then_some(())
        },
    )
    .await?;
    assert!(
        stack
            .store
            .head("orders/x/y/kept.txt")
            .await
            .map_err(|e| anyhow!(e))?
            .is_some(),
        "stored files are never swept"
    );
    stack.teardown().await
}
