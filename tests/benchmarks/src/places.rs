//! Fresh places per measurement: a database, broker namespace and bucket of a benchmark's
//! own on the shared servers, removed afterwards.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use bureau_event_bus::EventBus;
use bureau_platform::object_store::ObjectStore;
use bureau_platform::{Secret, Settings, database};
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use proto_events::Envelope;
use proto_events::topology::{Consumer, Topology};
use sqlx::mysql::MySqlConnectOptions;
use tokio::task::JoinSet;
use uuid::Uuid;

/// A database, broker namespace and bucket of their own, removed afterwards.
pub struct Fresh {
    pub settings: Settings,
    database_name: String,
    admin: sqlx::MySqlPool,
    pub db: sqlx::MySqlPool,
    pub bus: Arc<EventBus>,
    pub store: ObjectStore,
}

impl Fresh {
    /// `label` names the namespace, bucket and database (`{label}…`), so leftovers show
    /// which benchmark made them.
    pub async fn new(base: &Settings, label: &str) -> anyhow::Result<Fresh> {
        let mut settings = base.clone();
        let run = Uuid::new_v4().simple().to_string()[..12].to_owned();
        settings.broker.namespace = format!("{label}{run}");
        settings.storage.bucket = format!("{label}-{run}");
        let database_name = format!("bureau_{label}_{run}");
        let admin_options: MySqlConnectOptions = settings.database.url.expose().parse()?;
        let admin = sqlx::MySqlPool::connect_with(admin_options.clone().database("mysql")).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE `{database_name}` CHARACTER SET utf8mb4"
        )))
        .execute(&admin)
        .await?;
        settings.database.url = Secret::new(format!(
            "mysql://{}:{}@{}:{}/{database_name}",
            admin_options.get_username(),
            password_of(settings.database.url.expose()),
            admin_options.get_host(),
            admin_options.get_port()
        ));
        settings.database.max_connections = 16;
        let db = database::pool(&settings.database)?;
        database::migrate(&db).await?;
        let store = ObjectStore::new(&settings.storage);
        store
            .ensure_bucket()
            .await
            .map_err(|e| anyhow!("bucket: {e}"))?;
        let bus = bureau_platform::bus::event_bus(&settings.broker, &format!("bench-{label}"));
        Ok(Fresh {
            settings,
            database_name,
            admin,
            db,
            bus,
            store,
        })
    }

    pub fn topology(&self) -> Topology {
        Topology::new(
            self.settings.broker.namespace.clone(),
            self.settings.broker.retry_delays(),
        )
    }

    /// Ready messages in `consumer`'s queue.
    pub async fn queue_depth(&self, consumer: Consumer) -> anyhow::Result<u64> {
        let channel = self.bus.open_channel().await?;
        let queue = channel
            .queue_declare(
                self.topology().queue(consumer).into(),
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await?;
        let _ = channel.close(200, "counted".into()).await;
        Ok(u64::from(queue.message_count()))
    }

    /// Publishes `envelopes` in pipelined batches.
    pub async fn publish(&self, envelopes: &[Envelope]) -> anyhow::Result<Duration> {
        let started = Instant::now();
        for batch in envelopes.chunks(1000) {
            self.bus.publish_all(batch).await?;
        }
        Ok(started.elapsed())
    }

    pub async fn remove(self) {
        if let Ok(channel) = self.bus.open_channel().await {
            let topology = self.topology();
            for queue in topology.all_queues() {
                let _ = channel
                    .queue_delete(queue.as_str().into(), Default::default())
                    .await;
            }
            for exchange in [topology.events_exchange(), topology.dead_letter_exchange()] {
                let _ = channel
                    .exchange_delete(exchange.as_str().into(), Default::default())
                    .await;
            }
        }
        self.bus.close().await;
        self.db.close().await;
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS `{}`",
            self.database_name
        )))
        .execute(&self.admin)
        .await;
        self.admin.close().await;
        empty_bucket(&self.store).await;
    }

    /// The environment of a worker process on these places.
    pub fn environment(&self, config_dir: &Path) -> Vec<(String, String)> {
        vec![
            ("BUREAU_CONFIG_DIR".into(), config_dir.display().to_string()),
            ("BUREAU__LOG__FILTER".into(), "warn".into()),
            (
                "BUREAU__DATABASE__URL".into(),
                self.settings.database.url.expose().to_owned(),
            ),
            (
                "BUREAU__BROKER__NAMESPACE".into(),
                self.settings.broker.namespace.clone(),
            ),
            (
                "BUREAU__STORAGE__BUCKET".into(),
                self.settings.storage.bucket.clone(),
            ),
            // A benchmark's customer orders thousands of times a minute: the per-customer
            // quotas would refuse it long before the system's ceiling.
            (
                "BUREAU__WEB_GATEWAY__QUOTAS__OPEN_ORDERS".into(),
                "1000000000".into(),
            ),
            (
                "BUREAU__WEB_GATEWAY__QUOTAS__FILES_PER_DAY".into(),
                "1000000000".into(),
            ),
            (
                "BUREAU__WEB_GATEWAY__QUOTAS__BYTES_PER_DAY".into(),
                "1000000000000000".into(),
            ),
        ]
    }
}

/// The password in a `mysql://user:password@host/db` URL.
pub fn password_of(url: &str) -> String {
    url.split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(credentials, _)| credentials.split_once(':'))
        .map(|(_, password)| password.to_owned())
        .unwrap_or_default()
}

/// Deletes what the run wrote, then the bucket.
pub async fn empty_bucket(store: &ObjectStore) {
    let client = store.client();
    loop {
        let Ok(page) = client.list_objects_v2().bucket(store.bucket()).send().await else {
            return;
        };
        if page.contents().is_empty() {
            break;
        }
        let mut deletions = JoinSet::new();
        for object in page.contents() {
            if let Some(key) = object.key() {
                let (store, key) = (store.clone(), key.to_owned());
                deletions.spawn(async move { store.delete(&key).await });
            }
            while deletions.len() >= 32 {
                deletions.join_next().await;
            }
        }
        while deletions.join_next().await.is_some() {}
    }
    let _ = client.delete_bucket().bucket(store.bucket()).send().await;
}

pub async fn count_objects(store: &ObjectStore) -> anyhow::Result<u64> {
    let mut count = 0u64;
    let mut token = None;
    loop {
        let page = store
            .client()
            .list_objects_v2()
            .bucket(store.bucket())
            .set_continuation_token(token)
            .send()
            .await?;
        count += page.contents().len() as u64;
        match page.next_continuation_token() {
            Some(next) => token = Some(next.to_owned()),
            None => return Ok(count),
        }
    }
}
