//! The gateway's API against the real MariaDB and RabbitMQ: each test gets a fresh database
//! and broker namespace, runs the gateway in-process on port 0, and talks HTTP to it.
//! The persistence worker is not running, so tests that read orders insert the rows it
//! would write. The file upload test also needs the S3 server (Garage) and skips without it.

use std::time::Duration;

use bureau_accounts::{Role, create_account};
use bureau_platform::object_store::ObjectStore;
use bureau_platform::service::Running;
use bureau_platform::{Secret, Settings, database, settings::find_config_dir};
use chrono::Utc;
use futures::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use proto_events::{Envelope, Event, OrderStatus, topology::Topology};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, MySqlPool};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Every wait in these tests ends by this deadline.
const DEADLINE: Duration = Duration::from_secs(15);
const ROOT_URL: &str = "mysql://root@127.0.0.1:3306";
const PASSWORD: &str = "correct horse battery";

/// One gateway with its own database and broker namespace.
struct Gateway {
    settings: Settings,
    db: MySqlPool,
    http: reqwest::Client,
    base: String,
    stop: CancellationToken,
    running: Running,
    database_name: String,
}

impl Gateway {
    async fn start() -> Gateway {
        Self::start_with(|_| {}).await
    }

    async fn start_with(adjust: impl FnOnce(&mut Settings)) -> Gateway {
        let dir = find_config_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")))
            .expect("config/ above the crate");
        let mut settings = Settings::load_from(&dir).expect("settings load");
        let id = Uuid::new_v4().simple().to_string();
        let database_name = format!("bureau_test_{id}");
        let root = MySqlPool::connect(ROOT_URL)
            .await
            .expect("MariaDB reachable as root over TCP");
        // The name is ours (a UUID), not input.
        sqlx::query(AssertSqlSafe(format!(
            "CREATE DATABASE `{database_name}` CHARACTER SET utf8mb4"
        )))
        .execute(&root)
        .await
        .expect("create test database");
        root.close().await;

        settings.database.url = Secret::new(format!("{ROOT_URL}/{database_name}"));
        settings.database.max_connections = 4;
        settings.broker.namespace = format!("wgtest{}", &id[..12]);
        settings.web_gateway.listen = "127.0.0.1:0".parse().expect("address");
        adjust(&mut settings);

        let db = database::pool(&settings.database).expect("pool");
        // The gateway migrates too, in the background; migrating here first means the
        // tests never race it. The migrator's lock makes the two safe together.
        database::migrate(&db)
            .await
            .expect("migrate the test database");
        let stop = CancellationToken::new();
        let running = web_gateway::start(settings.clone(), stop.clone())
            .await
            .expect("gateway starts");
        let base = format!("http://{}", running.http_addr);
        let http = reqwest::Client::builder()
            .timeout(DEADLINE)
            .build()
            .expect("client");
        Gateway {
            settings,
            db,
            http,
            base,
            stop,
            running,
            database_name,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Registers a customer and logs in; returns the account id and the session token.
    async fn customer(&self, email: &str) -> (Uuid, String) {
        let response = self
            .http
            .post(self.url("/api/accounts"))
            .json(&json!({"email": email, "password": PASSWORD, "display_name": "Olena Koval"}))
            .send()
            .await
            .expect("register");
        assert_eq!(response.status(), StatusCode::CREATED);
        let account_id: Uuid =
            serde_json::from_value(response.json::<Value>().await.unwrap()["account_id"].clone())
                .unwrap();
        (account_id, self.log_in(email).await)
    }

    async fn log_in(&self, email: &str) -> String {
        let response = self
            .http
            .post(self.url("/api/session"))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .expect("log in");
        assert_eq!(response.status(), StatusCode::OK);
        session_token(&response)
    }

    /// A temporary queue receiving every event published in this gateway's namespace.
    async fn observe_events(&self) -> (lapin::Connection, lapin::Consumer) {
        let connection =
            lapin::Connection::connect(self.settings.broker.url.expose(), Default::default())
                .await
                .expect("broker reachable");
        let channel = connection.create_channel().await.expect("channel");
        let topology = Topology::new(
            self.settings.broker.namespace.clone(),
            self.settings.broker.retry_delays(),
        );
        bureau_event_bus::declare(&topology, &channel)
            .await
            .expect("topology");
        let queue = channel
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("temporary queue");
        channel
            .queue_bind(
                queue.name().clone(),
                topology.events_exchange().into(),
                "#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("bind");
        let consumer = channel
            .basic_consume(
                queue.name().clone(),
                "test".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("consume");
        (connection, consumer)
    }

    /// What the persistence worker would write for a web order of `account_id`.
    async fn insert_order(
        &self,
        account_id: Uuid,
        number: &str,
        body: &str,
        status: OrderStatus,
    ) -> Uuid {
        let (customer_id,): (Uuid,) =
            sqlx::query_as("SELECT id FROM customers WHERE web_account_id = ?")
                .bind(account_id)
                .fetch_one(&self.db)
                .await
                .expect("customer row made at registration");
        let order_id = Uuid::now_v7();
        let now = Utc::now();
        sqlx::query(
            "INSERT INTO orders (id, order_number, customer_id, channel, body, status, status_version, expected_files, created_at, updated_at) \
             VALUES (?, ?, ?, 'web', ?, ?, 1, 1, ?, ?)",
        )
        .bind(order_id)
        .bind(number)
        .bind(customer_id)
        .bind(body)
        .bind(status.as_str())
        .bind(now)
        .bind(now)
        .execute(&self.db)
        .await
        .expect("insert order");
        sqlx::query(
            "INSERT INTO order_files (id, order_id, original_name, source, declared_size, state, received_at) \
             VALUES (?, ?, 'scan.pdf', 'web', 1234, 'received', ?)",
        )
        .bind(Uuid::now_v7())
        .bind(order_id)
        .bind(now)
        .execute(&self.db)
        .await
        .expect("insert file");
        sqlx::query(
            "INSERT INTO order_status_history (order_id, version, from_status, to_status, actor_kind, event_id, changed_at) \
             VALUES (?, 1, NULL, ?, 'customer', ?, ?)",
        )
        .bind(order_id)
        .bind(status.as_str())
        .bind(Uuid::now_v7())
        .bind(now)
        .execute(&self.db)
        .await
        .expect("insert history");
        order_id
    }

    /// Stops the gateway, then drops the database and the namespace's queues.
    async fn finish(self) {
        self.stop.cancel();
        tokio::time::timeout(DEADLINE, self.running.stopped())
            .await
            .expect("gateway stops in time")
            .expect("gateway stops cleanly");
        self.db.close().await;
        if let Ok(root) = MySqlPool::connect(ROOT_URL).await {
            let _ = sqlx::query(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS `{}`",
                self.database_name
            )))
            .execute(&root)
            .await;
            root.close().await;
        }
        let bus =
            bureau_platform::bus::event_bus(&self.settings.broker, "web-gateway-test-cleanup");
        if let Ok(channel) = bus.open_channel().await {
            for queue in bus.topology().all_queues() {
                let _ = channel.queue_delete(queue.into(), Default::default()).await;
            }
            for exchange in [
                bus.topology().events_exchange(),
                bus.topology().dead_letter_exchange(),
            ] {
                let _ = channel
                    .exchange_delete(exchange.into(), Default::default())
                    .await;
            }
        }
        bus.close().await;
    }
}

fn session_token(response: &reqwest::Response) -> String {
    let cookie = response.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    cookie
        .strip_prefix("bureau_session=")
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .to_owned()
}

async fn error_of(response: reqwest::Response) -> (StatusCode, String, String) {
    let status = response.status();
    let body: Value = response.json().await.expect("JSON error body");
    let code = body["error"]["code"]
        .as_str()
        .expect("error.code")
        .to_owned();
    let message = body["error"]["message"]
        .as_str()
        .expect("error.message")
        .to_owned();
    (status, code, message)
}

/// Sends `head` on a fresh connection and returns what comes back before the deadline.
async fn raw_request(addr: std::net::SocketAddr, head: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains("}}") {
        match tokio::time::timeout(DEADLINE, stream.read(&mut buffer))
            .await
            .expect("an answer in time")
        {
            Ok(0) | Err(_) => break,
            Ok(read) => answer.extend_from_slice(&buffer[..read]),
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

async fn next_event(consumer: &mut lapin::Consumer) -> Envelope {
    let delivery = tokio::time::timeout(DEADLINE, consumer.next())
        .await
        .expect("an event within the deadline")
        .expect("consumer open")
        .expect("delivery");
    delivery.ack(BasicAckOptions::default()).await.expect("ack");
    Envelope::from_json(&delivery.data).expect("a valid event")
}

#[tokio::test]
async fn accounts_and_sessions() {
    let gateway = Gateway::start().await;
    let http = &gateway.http;

    let weak = http
        .post(gateway.url("/api/accounts"))
        .json(&json!({"email": "olena@example.com", "password": "1234567890", "display_name": "Olena"}))
        .send()
        .await
        .unwrap();
    let (status, code, message) = error_of(weak).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "weak_password")
    );
    assert_eq!(message, "This password is entirely numeric.");

    let missing_field = http
        .post(gateway.url("/api/accounts"))
        .json(&json!({"email": "x@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(missing_field).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let (account_id, token) = gateway.customer("Olena@Example.com").await;
    let duplicate = http
        .post(gateway.url("/api/accounts"))
        .json(
            &json!({"email": "olena@example.com", "password": PASSWORD, "display_name": "Someone"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(duplicate).await.1, "email_taken");

    for (email, password) in [
        ("olena@example.com", "wrong password!"),
        ("nobody@example.com", PASSWORD),
    ] {
        let refused = http
            .post(gateway.url("/api/session"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        let (status, _, message) = error_of(refused).await;
        assert_eq!(
            (status, message.as_str()),
            (StatusCode::UNAUTHORIZED, "Wrong email or password.")
        );
    }

    let me: Value = http
        .get(gateway.url("/api/session"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        me,
        json!({"account_id": account_id, "role": "customer", "display_name": "Olena Koval"})
    );
    let by_cookie = http
        .get(gateway.url("/api/orders"))
        .header(reqwest::header::COOKIE, format!("bureau_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), StatusCode::OK);

    let staff_only = http
        .get(gateway.url("/api/staff/orders"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(staff_only).await.0, StatusCode::FORBIDDEN);

    let logged_out = http
        .delete(gateway.url("/api/session"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(logged_out.status(), StatusCode::NO_CONTENT);
    let after = http
        .get(gateway.url("/api/session"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(after).await.0, StatusCode::UNAUTHORIZED);

    gateway.finish().await;
}

#[tokio::test]
async fn customers_see_only_their_own_orders() {
    let gateway = Gateway::start().await;
    let http = &gateway.http;
    let (olena, olena_token) = gateway.customer("olena@example.com").await;
    let (taras, taras_token) = gateway.customer("taras@example.com").await;
    gateway
        .insert_order(
            olena,
            "48213097",
            &"Переклад договору. ".repeat(20),
            OrderStatus::AwaitingConfirmation,
        )
        .await;
    gateway
        .insert_order(taras, "51112222", "Print 40 pages", OrderStatus::Accepted)
        .await;

    let list: Value = http
        .get(gateway.url("/api/orders"))
        .bearer_auth(&olena_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["page"], 1);
    assert_eq!(list["has_more"], false);
    let orders = list["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["order_number"], "48213097");
    assert_eq!(orders[0]["file_count"], 1);
    assert!(orders[0]["excerpt"].as_str().unwrap().ends_with('…'));

    let details: Value = http
        .get(gateway.url("/api/orders/№4821-3097"))
        .bearer_auth(&olena_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(details["status"], "awaiting_confirmation");
    assert_eq!(details["files"][0]["name"], "scan.pdf");
    assert_eq!(details["files"][0]["size"], 1234);
    assert_eq!(details["history"][0]["to_status"], "awaiting_confirmation");

    // Someone else's order, a missing one and a malformed number all look the same.
    for number in ["51112222", "99999999", "not-a-number"] {
        let hidden = http
            .get(gateway.url(&format!("/api/orders/{number}")))
            .bearer_auth(&olena_token)
            .send()
            .await
            .unwrap();
        let (status, _, message) = error_of(hidden).await;
        assert_eq!(
            (status, message.as_str()),
            (StatusCode::NOT_FOUND, "No such order."),
            "{number}"
        );
    }
    let bad_page = http
        .get(gateway.url("/api/orders?page=0"))
        .bearer_auth(&taras_token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(bad_page).await.1, "invalid_page");
    let anonymous = http.get(gateway.url("/api/orders")).send().await.unwrap();
    assert_eq!(error_of(anonymous).await.0, StatusCode::UNAUTHORIZED);

    gateway.finish().await;
}

#[tokio::test]
async fn staff_change_status_through_the_state_machine() {
    let gateway = Gateway::start().await;
    let http = &gateway.http;
    let (customer, _) = gateway.customer("olena@example.com").await;
    let order_id = gateway
        .insert_order(
            customer,
            "48213097",
            "Translate",
            OrderStatus::AwaitingConfirmation,
        )
        .await;
    let manager = create_account(
        &gateway.db,
        "manager@example.com",
        PASSWORD,
        "Maria",
        Role::Manager,
    )
    .await
    .unwrap();
    create_account(
        &gateway.db,
        "executor@example.com",
        PASSWORD,
        "Ivan",
        Role::Executor,
    )
    .await
    .unwrap();
    let manager_token = gateway.log_in("manager@example.com").await;
    let executor_token = gateway.log_in("executor@example.com").await;
    let (_connection, mut events) = gateway.observe_events().await;

    let list: Value = http
        .get(gateway.url("/api/staff/orders?status=awaiting_confirmation"))
        .bearer_auth(&executor_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["orders"][0]["customer_name"], "Olena Koval");
    assert_eq!(list["orders"][0]["channel"], "web");
    let unknown = http
        .get(gateway.url("/api/staff/orders?status=done"))
        .bearer_auth(&executor_token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(unknown).await.1, "unknown_status");

    let status_url = gateway.url(&format!("/api/staff/orders/{order_id}/status"));
    let by_executor = http
        .post(&status_url)
        .bearer_auth(&executor_token)
        .json(&json!({"to": "accepted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(by_executor).await.0, StatusCode::FORBIDDEN);
    let skipping = http
        .post(&status_url)
        .bearer_auth(&manager_token)
        .json(&json!({"to": "delivered"}))
        .send()
        .await
        .unwrap();
    let (status, code, message) = error_of(skipping).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "transition_not_allowed")
    );
    assert_eq!(
        message,
        "An order cannot go from awaiting_confirmation to delivered."
    );
    let no_reason = http
        .post(&status_url)
        .bearer_auth(&manager_token)
        .json(&json!({"to": "rejected"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(no_reason).await.1, "reason_required");
    let unknown = http
        .post(&status_url)
        .bearer_auth(&manager_token)
        .json(&json!({"to": "done"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(unknown).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let missing = http
        .post(gateway.url(&format!("/api/staff/orders/{}/status", Uuid::now_v7())))
        .bearer_auth(&manager_token)
        .json(&json!({"to": "accepted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(missing).await.0, StatusCode::NOT_FOUND);

    let accepted = http
        .post(&status_url)
        .bearer_auth(&manager_token)
        .json(&json!({"to": "accepted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    let body: Value = accepted.json().await.unwrap();
    assert_eq!(
        body,
        json!({"order_id": order_id, "from": "awaiting_confirmation", "to": "accepted", "version": 2})
    );

    let event = next_event(&mut events).await;
    assert_eq!(event.correlation_id, order_id);
    let Event::OrderStatusChanged(change) = event.payload else {
        panic!("not a status change: {event:?}")
    };
    assert_eq!(
        (change.from, change.to, change.version),
        (OrderStatus::AwaitingConfirmation, OrderStatus::Accepted, 2)
    );
    assert_eq!(change.order_number, "48213097");
    assert_eq!(
        change.actor,
        proto_events::Actor::Staff {
            account_id: manager
        }
    );

    gateway.finish().await;
}

#[tokio::test]
async fn a_text_order_is_accepted_once_the_broker_has_it() {
    let gateway = Gateway::start().await;
    let http = &gateway.http;
    let (account_id, token) = gateway.customer("olena@example.com").await;
    let (_connection, mut events) = gateway.observe_events().await;

    let empty = http
        .post(gateway.url("/api/orders"))
        .bearer_auth(&token)
        .multipart(reqwest::multipart::Form::new().text("text", "   "))
        .send()
        .await
        .unwrap();
    let (status, _, message) = error_of(empty).await;
    assert_eq!(
        (status, message.as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Describe the order or attach at least one file."
        )
    );

    let too_long = http
        .post(gateway.url("/api/orders"))
        .bearer_auth(&token)
        .multipart(reqwest::multipart::Form::new().text("text", "a".repeat(10_001)))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(too_long).await.0, StatusCode::UNPROCESSABLE_ENTITY);

    let wrong_field = http
        .post(gateway.url("/api/orders"))
        .bearer_auth(&token)
        .multipart(reqwest::multipart::Form::new().text("files", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(wrong_field).await.1, "unexpected_field");

    // Only headers are sent: the answer must come before any of the announced body.
    let huge = gateway.settings.web_gateway.max_upload_bytes + 2 * 1024 * 1024;
    let head = format!(
        "POST /api/orders HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {huge}\r\n\r\n"
    );
    let answer = raw_request(gateway.running.http_addr, &head).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("payload_too_large"), "{answer}");

    let placed = http
        .post(gateway.url("/api/orders"))
        .bearer_auth(&token)
        .multipart(
            reqwest::multipart::Form::new()
                .text("text", "Translate my diploma")
                .text("service_code", "translation"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(placed.status(), StatusCode::CREATED);
    assert!(
        placed.headers().contains_key("x-request-id"),
        "every answer carries a request id"
    );
    let body: Value = placed.json().await.unwrap();
    assert_eq!(body["status"], "awaiting_confirmation");
    assert_eq!(body["files"], json!([]));
    let event = next_event(&mut events).await;
    let Event::OrderCreated(created) = event.payload else {
        panic!("not OrderCreated: {event:?}")
    };
    assert_eq!(
        created.order_id.to_string(),
        body["order_id"].as_str().unwrap()
    );
    assert_eq!(created.order_number, body["order_number"].as_str().unwrap());
    assert_eq!(
        created.customer,
        proto_events::CustomerRef::Web { account_id }
    );
    assert_eq!(
        (created.text.as_str(), created.file_count),
        ("Translate my diploma", 0)
    );
    assert_eq!(created.service_code.as_deref(), Some("translation"));

    gateway.finish().await;
}

#[tokio::test]
async fn an_order_is_refused_with_503_while_the_broker_is_down() {
    let gateway = Gateway::start_with(|settings| {
        // Nothing listens on port 1: every publish fails at once.
        settings.broker.url = Secret::new("amqp://guest:guest@127.0.0.1:1/%2f");
    })
    .await;
    let (_, token) = gateway.customer("olena@example.com").await;

    let refused = gateway
        .http
        .post(gateway.url("/api/orders"))
        .bearer_auth(&token)
        .multipart(reqwest::multipart::Form::new().text("text", "Translate my diploma"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers()[reqwest::header::RETRY_AFTER], "5");
    assert_eq!(error_of(refused).await.1, "broker_unavailable");

    // The schema check turns green once the gateway's own background migration ran.
    let readyz = gateway.url("/readyz");
    let report = std::sync::Mutex::new(Value::Null);
    eventually("the schema is reported current", || async {
        let ready = gateway.http.get(&readyz).send().await.unwrap();
        assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: Value = ready.json().await.unwrap();
        let current = body["checks"]["schema"]["ok"] == true;
        *report.lock().unwrap() = body;
        current
    })
    .await;
    let report = report.into_inner().unwrap();
    assert_eq!(report["checks"]["broker"]["ok"], false);
    assert_eq!(report["checks"]["database"]["ok"], true);

    gateway.finish().await;
}

/// A gateway with a bucket of its own, or `None` (the test skips) when no S3 server answers.
async fn gateway_with_store(adjust: impl FnOnce(&mut Settings)) -> Option<(Gateway, ObjectStore)> {
    let bucket = format!("wgtest-{}", &Uuid::new_v4().simple().to_string()[..12]);
    let gateway = Gateway::start_with(|settings| {
        settings.storage.bucket = bucket;
        adjust(settings);
    })
    .await;
    let store = ObjectStore::new(&gateway.settings.storage);
    let created = tokio::time::timeout(Duration::from_secs(5), store.ensure_bucket()).await;
    let reachable = match created {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("no answer".to_owned()),
    };
    if let Err(error) = reachable {
        eprintln!("skipping: the S3 server is not reachable ({error}); run scripts/stack up");
        gateway.finish().await;
        return None;
    }
    Some((gateway, store))
}

/// Keys under `staging/` in the test's bucket.
async fn staged_keys(store: &ObjectStore) -> Vec<String> {
    let listed = store
        .client()
        .list_objects_v2()
        .bucket(store.bucket())
        .prefix("staging/")
        .send()
        .await
        .expect("list");
    listed
        .contents()
        .iter()
        .filter_map(|object| object.key().map(str::to_owned))
        .collect()
}

/// Polls `probe` every 50 ms until it holds or the deadline passes.
async fn eventually<F, Fut>(what: &str, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = tokio::time::Instant::now() + DEADLINE;
    while !probe().await {
        assert!(
            tokio::time::Instant::now() < until,
            "not within {DEADLINE:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn remove_bucket(store: &ObjectStore) {
    for key in staged_keys(store).await {
        let _ = store.delete(&key).await;
    }
    let _ = store
        .client()
        .delete_bucket()
        .bucket(store.bucket())
        .send()
        .await;
}

#[tokio::test]
async fn files_stream_to_staging_and_two_events_announce_them() {
    let Some((gateway, store)) = gateway_with_store(|_| {}).await else {
        return;
    };
    let (_, token) = gateway.customer("olena@example.com").await;
    let (_connection, mut events) = gateway.observe_events().await;

    let contents = b"%PDF-1.7\nnot really a PDF, but it starts like one\n".to_vec();
    let part = reqwest::multipart::Part::bytes(contents.clone())
        .file_name("")
        .mime_str("application/pdf")
        .unwrap();
    let placed = gateway
        .http
        .post(gateway.url("/api/orders"))
        .bearer_auth(&token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(placed.status(), StatusCode::CREATED);
    let body: Value = placed.json().await.unwrap();
    assert_eq!(body["files"][0]["name"], "file-1");
    assert_eq!(body["files"][0]["size"], contents.len());

    let Event::OrderCreated(created) = next_event(&mut events).await.payload else {
        panic!("OrderCreated first")
    };
    assert_eq!(created.file_count, 1);
    assert_eq!(created.text, "");
    let Event::FileReceived(file) = next_event(&mut events).await.payload else {
        panic!("FileReceived second")
    };
    assert_eq!(
        file.file_id.to_string(),
        body["files"][0]["file_id"].as_str().unwrap()
    );
    assert_eq!(file.declared_size, Some(contents.len() as u64));
    assert_eq!(
        file.declared_content_type.as_deref(),
        Some("application/pdf")
    );
    let proto_events::FileSource::WebUpload {
        staging_key,
        measured,
    } = file.source
    else {
        panic!("a web upload")
    };
    // What the gateway measured while streaming: the storage worker relies on it.
    assert_eq!(
        measured,
        Some(proto_events::Measured {
            size: contents.len() as u64,
            sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&contents)),
            content_type: "application/pdf".into(),
        })
    );
    assert_eq!(
        staging_key,
        format!("staging/{}/{}", created.order_id, file.file_id)
    );
    assert_eq!(
        store.head(&staging_key).await.unwrap(),
        Some(contents.len() as u64)
    );

    remove_bucket(&store).await;
    gateway.finish().await;
}

#[tokio::test]
async fn an_oversized_file_is_refused_and_its_order_leaves_nothing_staged() {
    let Some((gateway, store)) =
        gateway_with_store(|settings| settings.web_gateway.max_upload_bytes = 1000).await
    else {
        return;
    };
    let (_, token) = gateway.customer("olena@example.com").await;

    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(vec![b'a'; 500]).file_name("fits.txt"),
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(vec![b'b'; 5000]).file_name("too-big.txt"),
        );
    let refused = gateway
        .http
        .post(gateway.url("/api/orders"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (status, _, message) = error_of(refused).await;
    assert_eq!(
        (status, message.as_str()),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "Each file can be at most 1000 bytes."
        )
    );
    assert_eq!(
        staged_keys(&store).await,
        Vec::<String>::new(),
        "the file that fitted was removed too"
    );

    remove_bucket(&store).await;
    gateway.finish().await;
}

#[tokio::test]
async fn a_client_that_goes_away_midway_leaves_nothing_staged() {
    let Some((gateway, store)) = gateway_with_store(|_| {}).await else {
        return;
    };
    let (_, token) = gateway.customer("olena@example.com").await;

    // One whole file, then the start of a second; the body announced is far longer.
    let head = format!(
        "POST /api/orders HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 100000\r\n\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"first.txt\"\r\n\r\nhello\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"second.txt\"\r\n\r\npartial"
    );
    use tokio::io::AsyncWriteExt;
    let mut connection = tokio::net::TcpStream::connect(gateway.running.http_addr)
        .await
        .unwrap();
    connection.write_all(head.as_bytes()).await.unwrap();
    eventually("the first file is staged", || async {
        staged_keys(&store).await.len() == 1
    })
    .await;
    drop(connection);
    eventually("the staged file is removed", || async {
        staged_keys(&store).await.is_empty()
    })
    .await;

    remove_bucket(&store).await;
    gateway.finish().await;
}

#[tokio::test]
async fn the_gateway_starts_while_its_database_is_down() {
    let dir = find_config_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")))
        .expect("config/ above the crate");
    let mut settings = Settings::load_from(&dir).expect("settings load");
    // Nothing listens on port 1.
    settings.database.url = Secret::new("mysql://root@127.0.0.1:1/bureau");
    settings.web_gateway.listen = "127.0.0.1:0".parse().unwrap();
    let stop = CancellationToken::new();
    let started = std::time::Instant::now();
    let running = web_gateway::start(settings, stop.clone())
        .await
        .expect("starts anyway");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "start waited for the database: {:?}",
        started.elapsed()
    );
    let http = reqwest::Client::builder()
        .timeout(DEADLINE)
        .build()
        .unwrap();
    let base = format!("http://{}", running.http_addr);

    assert_eq!(
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        ready.json::<Value>().await.unwrap()["checks"]["database"]["ok"],
        false
    );
    let login = http
        .post(format!("{base}/api/session"))
        .json(&json!({"email": "olena@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.headers()[reqwest::header::RETRY_AFTER], "5");
    assert_eq!(
        error_of(login).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable".into(),
            "Our database is not answering right now. Please try again in a few seconds.".into()
        )
    );

    stop.cancel();
    tokio::time::timeout(DEADLINE, running.stopped())
        .await
        .expect("stops in time")
        .expect("stops cleanly");
}
