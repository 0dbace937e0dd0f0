//! The end-to-end harness: a whole Bureau on the real RabbitMQ, MariaDB and S3 server, with
//! only Telegram doubled.
//!
//! Each [`TestStack`] is isolated: its own database, broker namespace (every exchange and
//! queue name is prefixed), bucket, and Telegram double. The five services run in-process
//! (each with its own shutdown token, so a test can stop and restart one) on port 0.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow};
use bureau_platform::object_store::ObjectStore;
use bureau_platform::service::Running;
use bureau_platform::{Secret, Settings, database};
use sqlx::MySqlPool;
use sqlx::mysql::MySqlConnectOptions;
use telegram_double::{DoubleConfig, TelegramDouble};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use proto_events;
pub use telegram_double;

pub mod private_garage;
pub mod sse;
pub mod telegram_customer;
pub mod web;

/// Every wait in these tests has this deadline unless it says otherwise.
pub const DEADLINE: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    WebGateway,
    BotGateway,
    StorageWorker,
    PersistenceWorker,
    Notifier,
}

impl Service {
    pub const ALL: [Service; 5] = [
        Service::PersistenceWorker,
        Service::StorageWorker,
        Service::Notifier,
        Service::WebGateway,
        Service::BotGateway,
    ];
}

struct Started {
    running: Running,
    stop: CancellationToken,
}

pub struct TestStack {
    pub settings: Settings,
    pub telegram: TelegramDouble,
    /// The test's own database, for assertions.
    pub db: MySqlPool,
    pub store: ObjectStore,
    pub http: reqwest::Client,
    database_name: String,
    services: HashMap<Service, Started>,
    /// Replicas started with [`TestStack::start_extra_notifier`]; stopped at teardown.
    extra_notifiers: Vec<Started>,
    /// Replicas started with [`TestStack::start_bot_gateway_replica`]; stopped at teardown.
    bot_gateway_replicas: Vec<Option<Started>>,
}

/// The repository's `config/` directory.
pub fn config_dir() -> PathBuf {
    bureau_platform::settings::find_config_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")))
        .expect("config/default.toml above the test crate")
}

/// Installs a test log subscriber once (RUST_LOG decides; quiet by default).
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

impl TestStack {
    /// A fresh, isolated Bureau with every service running and ready.
    pub async fn start() -> anyhow::Result<TestStack> {
        Self::start_with(DoubleConfig::default(), |_| {}).await
    }

    /// Like [`TestStack::start`], with a Telegram double configuration and a last word on
    /// the settings.
    pub async fn start_with(
        double: DoubleConfig,
        adjust: impl FnOnce(&mut Settings),
    ) -> anyhow::Result<TestStack> {
        init_logging();
        let mut settings = Settings::load_from(&config_dir()).context("loading config/")?;
        let id = Uuid::new_v4().simple().to_string();
        let short = &id[..12];

        // Database: a fresh one, migrated.
        let database_name = format!("bureau_e2e_{short}");
        let admin_options: MySqlConnectOptions = settings.database.url.expose().parse()?;
        let admin = MySqlPool::connect_with(admin_options.clone().database("mysql"))
            .await
            .context(
                "connecting to MariaDB as the configured user (run `scripts/stack up` first)",
            )?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE `{database_name}` CHARACTER SET utf8mb4"
        )))
        .execute(&admin)
        .await?;
        admin.close().await;
        let url = with_database(settings.database.url.expose(), &database_name);
        settings.database.url = Secret::new(url);
        settings.database.max_connections = 5;
        let db = database::pool(&settings.database)?;
        database::migrate(&db)
            .await
            .context("migrating the test database")?;

        // Broker: a namespace of our own, short retry delays.
        settings.broker.namespace = format!("e2e{short}");
        settings.broker.retry_delays_ms = vec![200, 500, 1000];

        // Object store: a bucket of our own.
        settings.storage.bucket = format!("e2e-{short}");
        let store = ObjectStore::new(&settings.storage);
        store
            .ensure_bucket()
            .await
            .map_err(|e| anyhow!("creating the test bucket: {e}"))?;

        // Telegram: the double.
        let telegram = TelegramDouble::start(double).await?;
        settings.telegram.api_url = telegram.api_url();
        settings.telegram.token = Secret::new(telegram.token());

        settings.links.secret = Secret::new(Uuid::new_v4().simple().to_string());
        settings.web_gateway.listen = "127.0.0.1:0".parse()?;
        settings.bot_gateway.listen = "127.0.0.1:0".parse()?;
        settings.storage_worker.listen = "127.0.0.1:0".parse()?;
        settings.persistence_worker.listen = "127.0.0.1:0".parse()?;
        settings.notifier.listen = "127.0.0.1:0".parse()?;
        adjust(&mut settings);

        let mut stack = TestStack {
            settings,
            telegram,
            db,
            store,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()?,
            database_name,
            services: HashMap::new(),
            extra_notifiers: Vec::new(),
            bot_gateway_replicas: Vec::new(),
        };
        for service in Service::ALL {
            stack.start_service(service).await?;
        }
        for service in Service::ALL {
            stack.wait_ready(service).await?;
        }
        Ok(stack)
    }

    /// Starts one service (again) with the stack's settings.
    pub async fn start_service(&mut self, service: Service) -> anyhow::Result<()> {
        let stop = CancellationToken::new();
        let settings = self.settings.clone();
        let running = match service {
            Service::WebGateway => web_gateway::start(settings, stop.clone()).await,
            Service::BotGateway => bot_gateway::start(settings, stop.clone()).await,
            Service::StorageWorker => storage_worker::start(settings, stop.clone()).await,
            Service::PersistenceWorker => persistence_worker::start(settings, stop.clone()).await,
            Service::Notifier => notifier::start(settings, stop.clone()).await,
        }
        .with_context(|| format!("starting {service:?}"))?;
        self.services.insert(service, Started { running, stop });
        Ok(())
    }

    /// Stops one service the graceful way and waits until it has finished.
    pub async fn stop_service(&mut self, service: Service) -> anyhow::Result<()> {
        if let Some(started) = self.services.remove(&service) {
            started.stop.cancel();
            tokio::time::timeout(DEADLINE, started.running.stopped())
                .await
                .with_context(|| format!("{service:?} did not stop in time"))??;
        }
        Ok(())
    }

    pub fn addr(&self, service: Service) -> std::net::SocketAddr {
        self.services[&service].running.http_addr
    }

    pub fn web_url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr(Service::WebGateway), path)
    }

    pub async fn wait_ready(&self, service: Service) -> anyhow::Result<()> {
        let url = format!("http://{}/readyz", self.addr(service));
        let http = self.http.clone();
        eventually(&format!("{service:?} ready"), DEADLINE, || {
            let (http, url) = (http.clone(), url.clone());
            async move {
                let response = http.get(&url).send().await.ok()?;
                if response.status().is_success() {
                    Some(())
                } else {
                    None
                }
            }
        })
        .await
    }

    /// Starts one more notifier with the stack's settings, competing with the first on the
    /// same queue, database and Telegram double (a second replica); returns where its
    /// `/readyz` and `/metrics` are served. It stops at teardown.
    pub async fn start_extra_notifier(&mut self) -> anyhow::Result<std::net::SocketAddr> {
        let stop = CancellationToken::new();
        let running = notifier::start(self.settings.clone(), stop.clone())
            .await
            .context("starting an extra notifier")?;
        let addr = running.http_addr;
        self.extra_notifiers.push(Started { running, stop });
        let url = format!("http://{addr}/readyz");
        let http = self.http.clone();
        eventually("the extra notifier ready", DEADLINE, || {
            let (http, url) = (http.clone(), url.clone());
            async move {
                http.get(&url)
                    .send()
                    .await
                    .ok()?
                    .status()
                    .is_success()
                    .then_some(())
            }
        })
        .await?;
        Ok(addr)
    }

    /// Starts one more bot gateway with the stack's settings as changed by `adjust` (e.g.
    /// webhook mode on a port of its own), beside or instead of the stack's own; returns its
    /// index (for [`TestStack::stop_bot_gateway_replica`]) and HTTP address, once ready.
    pub async fn start_bot_gateway_replica(
        &mut self,
        adjust: impl FnOnce(&mut Settings),
    ) -> anyhow::Result<(usize, std::net::SocketAddr)> {
        let mut settings = self.settings.clone();
        adjust(&mut settings);
        let stop = CancellationToken::new();
        let running = bot_gateway::start(settings, stop.clone())
            .await
            .context("starting a bot gateway replica")?;
        let addr = running.http_addr;
        self.bot_gateway_replicas
            .push(Some(Started { running, stop }));
        let url = format!("http://{addr}/readyz");
        let http = self.http.clone();
        eventually("the bot gateway replica ready", DEADLINE, || {
            let (http, url) = (http.clone(), url.clone());
            async move {
                http.get(&url)
                    .send()
                    .await
                    .ok()?
                    .status()
                    .is_success()
                    .then_some(())
            }
        })
        .await?;
        Ok((self.bot_gateway_replicas.len() - 1, addr))
    }

    /// Stops a replica from [`TestStack::start_bot_gateway_replica`] the graceful way.
    pub async fn stop_bot_gateway_replica(&mut self, index: usize) -> anyhow::Result<()> {
        if let Some(started) = self
            .bot_gateway_replicas
            .get_mut(index)
            .and_then(Option::take)
        {
            started.stop.cancel();
            tokio::time::timeout(DEADLINE, started.running.stopped())
                .await
                .context("a bot gateway replica did not stop in time")??;
        }
        Ok(())
    }

    /// Stops every service, then removes the test's database, queues and bucket.
    pub async fn teardown(mut self) -> anyhow::Result<()> {
        for replica in 0..self.bot_gateway_replicas.len() {
            self.stop_bot_gateway_replica(replica).await?;
        }
        for extra in std::mem::take(&mut self.extra_notifiers) {
            extra.stop.cancel();
            tokio::time::timeout(DEADLINE, extra.running.stopped())
                .await
                .context("an extra notifier did not stop in time")??;
        }
        for service in Service::ALL {
            self.stop_service(service).await?;
        }
        self.db.close().await;
        // Best-effort cleanup: leftovers are namespaced and harmless.
        if let Ok(admin) = MySqlPool::connect_with(
            self.settings
                .database
                .url
                .expose()
                .parse::<MySqlConnectOptions>()?
                .database("mysql"),
        )
        .await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS `{}`",
                self.database_name
            )))
            .execute(&admin)
            .await;
            admin.close().await;
        }
        let bus = bureau_platform::bus::event_bus(&self.settings.broker, "e2e-cleanup");
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
        self.telegram.shutdown().await;
        Ok(())
    }
}

/// `url` with its database path replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[authority_end..]
        .find('/')
        .map(|i| i + authority_end)
        .unwrap_or(base.len());
    let mut result = format!("{}/{}", &base[..path_start], database);
    if let Some(query) = query {
        result.push('?');
        result.push_str(query);
    }
    result
}

/// Polls `probe` until it yields a value or `deadline` passes. Polling backs off from
/// 20 ms to 250 ms; the deadline, not a sleep, bounds the test.
pub async fn eventually<T, F, Fut>(
    what: &str,
    deadline: Duration,
    mut probe: F,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let until = tokio::time::Instant::now() + deadline;
    let mut pause = Duration::from_millis(20);
    loop {
        if let Some(value) = probe().await {
            return Ok(value);
        }
        if tokio::time::Instant::now() >= until {
            anyhow::bail!("timed out after {deadline:?} waiting for {what}");
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(250));
    }
}

/// The first 8-digit order number after a `№` in `text`.
pub fn order_number_in(text: &str) -> Option<String> {
    let (_, after) = text.split_once('№')?;
    let digits: String = after
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    (digits.len() == 8).then_some(digits)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Bytes that no compressor or sniffer mistakes for anything in particular.
pub fn random_bytes(len: usize) -> Vec<u8> {
    (0..len).map(|_| rand::random::<u8>()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_are_rewritten() {
        assert_eq!(
            with_database("mysql://u:p@h:3306/bureau", "x"),
            "mysql://u:p@h:3306/x"
        );
        assert_eq!(with_database("mysql://u@h:3306", "x"), "mysql://u@h:3306/x");
        assert_eq!(
            with_database("mysql://u@h/b?ssl-mode=disabled", "x"),
            "mysql://u@h/x?ssl-mode=disabled"
        );
    }

    #[test]
    fn order_numbers_are_found_in_replies() {
        assert_eq!(
            order_number_in("Замовлення №48213097 прийнято"),
            Some("48213097".into())
        );
        assert_eq!(
            order_number_in("Order № 48213097 accepted"),
            Some("48213097".into())
        );
        assert_eq!(order_number_in("no number"), None);
    }
}
