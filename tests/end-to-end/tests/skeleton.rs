//! The walking skeleton, end to end on the real RabbitMQ, MariaDB and S3 server:
//! 1. a Telegram customer's order with a document reaches MySQL and S3 and gets a number;
//! 2. a web customer's order with a file does the same, and bad web input gets a clear 4xx;
//! 3. a staff status change is recorded and pushed to the Telegram customer;
//!
//! and poison on the bus is dead-lettered with its reason while work goes on.

use anyhow::{Context, anyhow};
use bureau_end_to_end::web::{change_status, register_customer};
use bureau_end_to_end::{DEADLINE, TestStack, eventually, random_bytes, sha256_hex};
use bureau_event_bus::dead_letters;
use futures::TryStreamExt;
use proto_events::topology::Consumer;
use proto_events::{CustomerRef, Envelope, OrderCreated};
use serde_json::Value;
use sqlx::Row;
use telegram_double::SimUser;
use uuid::Uuid;

/// Walks a Telegram customer through /start, a description, optional documents, Done,
/// Confirm (and registration the first time); returns the order number the bot announced.
async fn place_telegram_order(
    stack: &TestStack,
    user: &SimUser,
    text: &str,
    documents: &[(&str, &str, Vec<u8>, Option<&str>)],
) -> anyhow::Result<String> {
    let chat = user.id();
    user.send_text("/start");
    stack
        .telegram
        .wait_for_message(chat, DEADLINE, |m| m.reply_markup.is_some())
        .await?;
    bureau_end_to_end::telegram_customer::place_order(
        &stack.telegram,
        user,
        text,
        documents,
        DEADLINE,
    )
    .await
}

async fn object_sha256(stack: &TestStack, key: &str) -> anyhow::Result<String> {
    let stream = stack.store.get_stream(key).await.map_err(|e| anyhow!(e))?;
    let chunks: Vec<bytes::Bytes> = stream.map_err(|e| anyhow!(e)).try_collect().await?;
    Ok(sha256_hex(&chunks.concat()))
}

/// Waits until the order with `number` has `files` stored files; returns (order id, files)
/// where each file is (original name, sha256, object key, note).
async fn stored_order(
    stack: &TestStack,
    number: &str,
    files: usize,
) -> anyhow::Result<(Uuid, Vec<(String, String, String, Option<String>)>)> {
    eventually(
        &format!("order {number} with {files} stored file(s)"),
        DEADLINE,
        || async {
            let order = sqlx::query("SELECT id FROM orders WHERE order_number = ?")
                .bind(number)
                .fetch_optional(&stack.db)
                .await
                .ok()??;
            let order_id: Uuid = order.get("id");
            let rows = sqlx::query(
                "SELECT original_name, sha256, object_key, note FROM order_files
             WHERE order_id = ? AND state = 'stored' ORDER BY received_at",
            )
            .bind(order_id)
            .fetch_all(&stack.db)
            .await
            .ok()?;
            (rows.len() == files).then(|| {
                let files = rows
                    .iter()
                    .map(|r| {
                        (
                            r.get("original_name"),
                            r.get("sha256"),
                            r.get("object_key"),
                            r.get("note"),
                        )
                    })
                    .collect();
                (order_id, files)
            })
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_telegram_order_with_a_document_is_numbered_persisted_and_stored() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let user = stack.telegram.user_with(7001, "Олена", "uk");
    let document = random_bytes(300 * 1024);

    let number = place_telegram_order(
        &stack,
        &user,
        "Переклад диплома з печаткою",
        &[(
            "диплом.pdf",
            "application/pdf",
            document.clone(),
            Some("сторінка 1"),
        )],
    )
    .await?;

    let (order_id, files) = stored_order(&stack, &number, 1).await?;
    let (name, sha256, key, note) = &files[0];
    assert_eq!(name, "диплом.pdf");
    assert_eq!(
        sha256,
        &sha256_hex(&document),
        "MySQL records the hash of the bytes the user sent"
    );
    assert_eq!(
        note.as_deref(),
        Some("сторінка 1"),
        "the caption is kept as the file's note"
    );
    assert!(key.starts_with(&format!("orders/{order_id}/")), "{key}");
    assert_eq!(
        object_sha256(&stack, key).await?,
        sha256_hex(&document),
        "S3 holds exactly the bytes sent"
    );

    let order =
        sqlx::query("SELECT body, channel, status, status_version FROM orders WHERE id = ?")
            .bind(order_id)
            .fetch_one(&stack.db)
            .await?;
    assert_eq!(
        order.get::<String, _>("body"),
        "Переклад диплома з печаткою",
        "text is kept as typed"
    );
    assert_eq!(order.get::<String, _>("channel"), "telegram");
    assert_eq!(order.get::<String, _>("status"), "awaiting_confirmation");
    let customer = sqlx::query("SELECT c.telegram_user_id, c.web_account_id FROM customers c JOIN orders o ON o.customer_id = c.id WHERE o.id = ?")
        .bind(order_id)
        .fetch_one(&stack.db)
        .await?;
    assert_eq!(
        customer.get::<Option<i64>, _>("telegram_user_id"),
        Some(7001)
    );
    assert_eq!(customer.get::<Option<Uuid>, _>("web_account_id"), None);

    stack.teardown().await
}

/// Registers and logs in a web customer; returns the session token.
async fn web_customer(stack: &TestStack, email: &str) -> anyhow::Result<String> {
    register_customer(stack, email, "Web Customer").await
}

/// Sends a multipart POST's headers announcing `length` body bytes, sends no body, and
/// returns the answer's status and body: proves a refusal comes before the bytes are read.
async fn headers_only_post(
    stack: &TestStack,
    path: &str,
    token: &str,
    length: u64,
) -> anyhow::Result<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = stack.addr(bureau_end_to_end::Service::WebGateway);
    let mut socket = tokio::net::TcpStream::connect(addr).await?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    );
    socket.write_all(request.as_bytes()).await?;
    // Read one whole response (headers, then Content-Length bytes): the server may keep the
    // connection open for the body it never received.
    let mut answer = Vec::new();
    let complete = |answer: &[u8]| -> bool {
        let text = String::from_utf8_lossy(answer);
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            return false;
        };
        let length = head
            .lines()
            .find_map(|line| {
                line.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().to_owned())
            })
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        body.len() >= length
    };
    tokio::time::timeout(DEADLINE, async {
        let mut chunk = [0u8; 4096];
        while !complete(&answer) {
            let read = socket.read(&mut chunk).await?;
            if read == 0 {
                break;
            }
            answer.extend_from_slice(&chunk[..read]);
        }
        anyhow::Ok(())
    })
    .await??;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| anyhow!("no HTTP status in {answer:?}"))?;
    Ok((status, answer))
}

fn order_form(text: Option<&str>, file: Option<(&str, Vec<u8>)>) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new();
    if let Some(text) = text {
        form = form.text("text", text.to_owned());
    }
    if let Some((name, bytes)) = file {
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
        );
    }
    form
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_order_with_a_file_is_numbered_persisted_and_stored() -> anyhow::Result<()> {
    let stack = TestStack::start_with(Default::default(), |s| {
        s.web_gateway.max_upload_bytes = 1024 * 1024
    })
    .await?;
    let token = web_customer(&stack, "web.customer@example.com").await?;
    let file = random_bytes(200 * 1024);

    let response = stack
        .http
        .post(stack.web_url("/api/orders"))
        .bearer_auth(&token)
        .multipart(order_form(
            Some("Print 20 copies, A4"),
            Some(("poster.bin", file.clone())),
        ))
        .send()
        .await?;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await?;
    let number = body["order_number"]
        .as_str()
        .context("order_number in the answer")?
        .to_owned();

    let (_, files) = stored_order(&stack, &number, 1).await?;
    assert_eq!(files[0].1, sha256_hex(&file));
    assert_eq!(object_sha256(&stack, &files[0].2).await?, sha256_hex(&file));

    // Bad input: a clear 4xx, and nothing half-made left behind.
    let empty = stack
        .http
        .post(stack.web_url("/api/orders"))
        .bearer_auth(&token)
        .multipart(order_form(Some("   "), None))
        .send()
        .await?;
    assert_eq!(empty.status(), 422);
    let message: Value = empty.json().await?;
    assert!(
        message["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{message}"
    );

    // Above the limit: refused from the headers alone, before any byte of the body is sent.
    let (status, body) = headers_only_post(&stack, "/api/orders", &token, 3 * 1024 * 1024).await?;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("\"message\""), "a clear message: {body}");

    let anonymous = stack
        .http
        .post(stack.web_url("/api/orders"))
        .multipart(order_form(Some("who am I"), None))
        .send()
        .await?;
    assert_eq!(anonymous.status(), 401);

    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(&stack.db)
        .await?;
    assert_eq!(orders, 1, "refused requests created no orders");

    // The customer sees the order in "my orders".
    let mine: Value = stack
        .http
        .get(stack.web_url("/api/orders"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert!(mine.to_string().contains(&number), "{mine}");

    stack.teardown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staff_status_change_is_recorded_and_pushed_to_the_telegram_customer()
-> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let user = stack.telegram.user_with(7002, "Taras", "uk");
    let number = place_telegram_order(&stack, &user, "Нотаріальний переклад паспорта", &[]).await?;
    let (order_id, _) = stored_order(&stack, &number, 0).await?;

    let staff = bureau_end_to_end::web::staff(
        &stack,
        "manager@example.com",
        bureau_accounts::Role::Manager,
    )
    .await?;

    let changed = change_status(&stack, &staff, order_id, "accepted").await?;
    assert_eq!(changed.status(), 202, "{}", changed.text().await?);

    eventually("the change in MySQL", DEADLINE, || async {
        let row = sqlx::query("SELECT status, status_version FROM orders WHERE id = ?")
            .bind(order_id)
            .fetch_one(&stack.db)
            .await
            .ok()?;
        (row.get::<String, _>("status") == "accepted" && row.get::<u32, _>("status_version") == 2)
            .then_some(())
    })
    .await?;
    let history = sqlx::query(
        "SELECT from_status, to_status, actor_kind FROM order_status_history WHERE order_id = ? ORDER BY version",
    )
    .bind(order_id)
    .fetch_all(&stack.db)
    .await?;
    assert_eq!(history.len(), 2);
    assert_eq!(
        history[1]
            .get::<Option<String>, _>("from_status")
            .as_deref(),
        Some("awaiting_confirmation")
    );
    assert_eq!(history[1].get::<String, _>("to_status"), "accepted");
    assert_eq!(history[1].get::<String, _>("actor_kind"), "staff");

    let pushed = stack
        .telegram
        .wait_for_message(user.id(), DEADLINE, |m| {
            m.body().contains(&number) && m.body().contains("Прийнято")
        })
        .await?;
    assert!(
        !pushed.inline_buttons().is_empty(),
        "the push offers a button to open the order"
    );

    // The state machine, not free text: skipping ahead is refused with a reason.
    let skip = change_status(&stack, &staff, order_id, "delivered").await?;
    assert_eq!(skip.status(), 409);

    // Customers are not staff.
    let customer = web_customer(&stack, "curious@example.com").await?;
    let forbidden = change_status(&stack, &customer, order_id, "in_progress").await?;
    assert_eq!(forbidden.status(), 403);

    stack.teardown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_is_dead_lettered_with_its_reason_and_work_goes_on() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let bus = bureau_platform::bus::event_bus(&stack.settings.broker, "e2e-test");
    let channel = bus.open_channel().await?;
    let exchange = bus.topology().events_exchange();
    for body in [
        &b"{this is not json"[..],
        br#"{"event_type":"order.created","schema_version":1}"#,
    ] {
        channel
            .basic_publish(
                exchange.as_str().into(),
                "order.created".into(),
                Default::default(),
                body,
                lapin::BasicProperties::default()
                    .with_message_id(Uuid::new_v4().to_string().into()),
            )
            .await?
            .await?;
    }

    let letters = eventually("two dead letters", DEADLINE, || async {
        let letters = dead_letters::list(&bus, Consumer::PersistenceWorker, 10)
            .await
            .ok()?;
        (letters.len() == 2).then_some(letters)
    })
    .await?;
    for letter in &letters {
        let reason = letter.error.as_deref().unwrap_or_default();
        assert!(reason.contains("not a JSON event envelope"), "{reason}");
    }

    // The worker is still working: a good event right after is recorded.
    let order_id = Uuid::now_v7();
    let good = Envelope::new(
        "e2e-test",
        order_id,
        OrderCreated {
            order_id,
            order_number: proto_events::order_number::generate(),
            customer: CustomerRef::Telegram {
                user_id: 7003,
                chat_id: 7003,
                display_name: "Poison Survivor".into(),
                username: None,
                phone: None,
                language: Some("en".into()),
            },
            service_code: None,
            text: "still here".into(),
            file_count: 0,
            created_at: chrono::Utc::now(),
            items: Vec::new(),
            total: None,
        },
    );
    bus.publish(&good).await?;
    // Delivered twice (at least once means sometimes twice), then a marker: the worker takes
    // its queue in order, so once the marker is recorded the duplicate has been handled.
    bus.publish(&good).await?;
    let marker_id = Uuid::now_v7();
    let mut marker = good.clone();
    marker.event_id = Uuid::now_v7();
    if let proto_events::Event::OrderCreated(created) = &mut marker.payload {
        created.order_id = marker_id;
    }
    bus.publish(&marker).await?;
    eventually("the marker order recorded", DEADLINE, || async {
        sqlx::query("SELECT 1 FROM orders WHERE id = ?")
            .bind(marker_id)
            .fetch_optional(&stack.db)
            .await
            .ok()?
    })
    .await?;
    let recorded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE id = ?")
        .bind(order_id)
        .fetch_one(&stack.db)
        .await?;
    assert_eq!(recorded, 1);
    let history: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM order_status_history WHERE order_id = ?")
            .bind(order_id)
            .fetch_one(&stack.db)
            .await?;
    assert_eq!(history, 1);

    // The operator can replay a dead letter; it fails again and returns with its reason.
    let replayed = dead_letters::replay(&bus, Consumer::PersistenceWorker, None).await?;
    assert_eq!(replayed, 2);
    eventually(
        "the replayed poison back in the dead-letter queue",
        DEADLINE,
        || async {
            let letters = dead_letters::list(&bus, Consumer::PersistenceWorker, 10)
                .await
                .ok()?;
            (letters.len() == 2).then_some(())
        },
    )
    .await?;

    bus.close().await;
    stack.teardown().await
}
