//! What every API test needs: a gateway of its own (fresh database and broker namespace,
//! in-process on a random port, zero-to-production's `spawn_app`), customers and their
//! sessions, rows the persistence worker would write, the events the gateway publishes,
//! and a bucket of the test's own.

use std::time::Duration;

use bureau_platform::Settings;
use bureau_platform::object_store::ObjectStore;
use bureau_platform::service::Running;
use bureau_test_support::TestDatabase;
use chrono::Utc;
use futures::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use proto_events::object_keys::STAGING_PREFIX;
use proto_events::topology::Topology;
use proto_events::{Envelope, OrderStatus};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::MySqlPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Every wait in these tests ends by this deadline.
pub const DEADLINE: Duration = Duration::from_secs(15);
pub const PASSWORD: &str = "correct horse battery";

/// One gateway with its own database and broker namespace.
pub struct Gateway {
    pub settings: Settings,
    /// The test's own database, for rows the persistence worker would write.
    pub db: MySqlPool,
    pub http: reqwest::Client,
    pub running: Running,
    base: String,
    stop: CancellationToken,
    database: TestDatabase,
}

impl Gateway {
    pub async fn start() -> Gateway {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Settings)) -> Gateway {
        bureau_test_support::init_logging();
        let mut settings = bureau_test_support::settings().expect("settings load");
        settings.database.max_connections = 4;
        // The gateway migrates too, in the background; migrating here first means the
        // tests never race it. The migrator's lock makes the two safe together.
        let database = TestDatabase::create(&mut settings, "bureau_web_test")
            .await
            .expect("a migrated test database");
        bureau_test_support::isolate_broker(&mut settings.broker, "wgtest");
        settings.web_gateway.listen = "127.0.0.1:0".parse().expect("address");
        adjust(&mut settings);
        let db = database.pool.clone();
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
            database,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Registers a customer and logs in; returns the account id and the session token.
    pub async fn customer(&self, email: &str) -> (Uuid, String) {
        let response = self
            .http
            .post(self.url("/api/accounts"))
            .json(&json!({"email": email, "password": PASSWORD, "display_name": "Olena Koval"}))
            .send()
            .await
            .expect("register");
        assert_eq!(response.status(), StatusCode::CREATED);
        let (account_id,): (Uuid,) = sqlx::query_as("SELECT id FROM web_accounts WHERE email = ?")
            .bind(email.to_lowercase())
            .fetch_one(&self.db)
            .await
            .expect("the account was made");
        (account_id, self.log_in(email).await)
    }

    pub async fn log_in(&self, email: &str) -> String {
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
    pub async fn observe_events(&self) -> (lapin::Connection, lapin::Consumer) {
        let connection =
            lapin::Connection::connect(self.settings.broker.url.expose(), Default::default())
                .await
                .expect("broker reachable");
        let channel = connection.create_channel().await.expect("channel");
        let topology = Topology::new(
            self.settings.broker.namespace.clone(),
            self.settings.broker.retry_delays(),
        )
        .with_idle_expiry(self.settings.broker.idle_queue_expiry());
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
    pub async fn insert_order(
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
    pub async fn finish(self) {
        self.stop.cancel();
        tokio::time::timeout(DEADLINE, self.running.stopped())
            .await
            .expect("gateway stops in time")
            .expect("gateway stops cleanly");
        self.database.remove().await;
        bureau_test_support::remove_broker_namespace(&self.settings.broker).await;
    }
}

pub fn session_token(response: &reqwest::Response) -> String {
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

pub async fn error_of(response: reqwest::Response) -> (StatusCode, String, String) {
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
pub async fn raw_request(addr: std::net::SocketAddr, head: &str) -> String {
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

pub async fn next_event(consumer: &mut lapin::Consumer) -> Envelope {
    let delivery = tokio::time::timeout(DEADLINE, consumer.next())
        .await
        .expect("an event within the deadline")
        .expect("consumer open")
        .expect("delivery");
    delivery.ack(BasicAckOptions::default()).await.expect("ack");
    Envelope::from_json(&delivery.data).expect("a valid event")
}

/// A gateway with a bucket of its own, or `None` (the test skips) when no S3 server answers.
pub async fn gateway_with_store(
    adjust: impl FnOnce(&mut Settings),
) -> Option<(Gateway, ObjectStore)> {
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
pub async fn staged_keys(store: &ObjectStore) -> Vec<String> {
    let listed = store
        .client()
        .list_objects_v2()
        .bucket(store.bucket())
        .prefix(STAGING_PREFIX)
        .send()
        .await
        .expect("list");
    listed
        .contents()
        .iter()
        .filter_map(|object| object.key().map(str::to_owned))
        .collect()
}

pub async fn remove_bucket(store: &ObjectStore) {
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
