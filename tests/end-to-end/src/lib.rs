//! The end-to-end harness: a whole Bureau on the real RabbitMQ, MariaDB and S3 server, with
//! only Telegram doubled.
//!
//! Each [`TestStack`] is isolated: its own database, broker namespace (every exchange and
//! queue name is prefixed), bucket, and Telegram double. The five services run in-process
//! (each with its own shutdown token, so a test can stop and restart one) on port 0.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, anyhow};
use bureau_platform::object_store::ObjectStore;
use bureau_platform::service::Running;
use bureau_platform::{Secret, Settings};
use bureau_test_support::TestDatabase;
use sqlx::MySqlPool;
use telegram_double::{DoubleConfig, TelegramDouble};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use proto_events;
pub use telegram_double;

pub mod browser;
pub mod private_garage;
pub mod sse;
pub mod telegram_customer;
pub mod web;
pub mod webhook_proxy;

/// Every wait in these tests has this deadline unless it says otherwise.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// The services a stack runs, by their contract names.
pub use proto_events::Service;

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
    database: TestDatabase,
    services: HashMap<Service, Started>,
    /// Replicas started with [`TestStack::start_extra_notifier`]; stopped at teardown.
    extra_notifiers: Vec<Started>,
    /// Replicas started with [`TestStack::start_bot_gateway_replica`]; stopped at teardown.
    bot_gateway_replicas: Vec<Option<Started>>,
}

pub use bureau_test_support::{
    config_dir, eventually, init_logging, order_number_in, random_bytes, sha256_hex,
};

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
        let mut settings = bureau_test_support::settings().context("loading config/")?;
        let short = bureau_test_support::unique_suffix();

        // Database: a fresh one, migrated.
        settings.database.max_connections = 5;
        let database = TestDatabase::create(&mut settings, "bureau_e2e").await?;
        let db = database.pool.clone();

        // Broker: a namespace of our own, short retry delays.
        settings.broker.namespace = format!("e2e{short}");
        settings.broker.idle_queue_expiry_secs = Some(bureau_test_support::TEST_QUEUE_EXPIRY_SECS);
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
            database,
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
        // Best-effort cleanup: leftovers are namespaced and harmless.
        self.database.remove().await;
        bureau_test_support::remove_broker_namespace(&self.settings.broker).await;
        self.telegram.shutdown().await;
        Ok(())
    }
}
