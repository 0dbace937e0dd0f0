//! The fault-injection suite: the whole of Bureau as real processes on PRIVATE RabbitMQ,
//! MariaDB and Garage servers (never the shared ones), a steady stream of web and Telegram
//! orders with files and staff status changes, and faults injected into it: kill -9 of
//! every service, SIGTERM (rolling) restarts, RabbitMQ and MariaDB restarts, an S3 outage,
//! Telegram answering 429 and 5xx, and poison messages. When the stream ends and the system
//! settles, [`audit`] counts what customers were told against what MySQL, S3, Telegram
//! and the broker hold.
//!
//! [`Scenario::short`] runs in `cargo test`; [`Scenario::long`] is the documented long run
//! (`cargo test -p bureau-faults -- --ignored`, see docs/reliability.md).

pub mod audit;
pub mod balancer;
pub mod cluster_run;
pub mod poison;
pub mod private_cluster;
pub mod private_stack;
pub mod services;
pub mod traffic;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use bureau_platform::object_store::ObjectStore;
use bureau_platform::{Secret, Settings};
use bureau_test_support::eventually;
use telegram_double::{DoubleConfig, Fault, TelegramDouble};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::audit::{Figures, Sources};
use crate::private_stack::{PrivateGarage, PrivateMariaDb, PrivateRabbit};
use crate::services::{Service, Services};
use crate::traffic::{Ledger, SharedLedger, WebClient};
use sqlx::MySqlPool;

/// How hard and how long to push.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: &'static str,
    pub web_customers: usize,
    pub telegram_customers: usize,
    /// How long a killed service stays dead before it is started again.
    pub dead_for: Duration,
    pub broker_outage: Duration,
    pub database_outage: Duration,
    pub object_store_outage: Duration,
    /// Each of the 429 and the 5xx windows.
    pub telegram_fault_window: Duration,
    /// Quiet time between two faults, so each one meets traffic.
    pub between_faults: Duration,
    /// How long the system may take to settle once the stream stopped.
    pub settle: Duration,
}

impl Scenario {
    /// The version in `cargo test`: every fault once, short outages.
    pub fn short() -> Scenario {
        Scenario {
            name: "short",
            web_customers: 3,
            telegram_customers: 3,
            dead_for: Duration::from_millis(500),
            broker_outage: Duration::from_secs(5),
            database_outage: Duration::from_secs(5),
            object_store_outage: Duration::from_secs(8),
            telegram_fault_window: Duration::from_secs(4),
            between_faults: Duration::from_secs(2),
            settle: Duration::from_secs(150),
        }
    }

    /// The documented long run: more customers, the 30 s S3 outage.
    pub fn long() -> Scenario {
        Scenario {
            name: "long",
            web_customers: 6,
            telegram_customers: 6,
            dead_for: Duration::from_secs(3),
            broker_outage: Duration::from_secs(20),
            database_outage: Duration::from_secs(20),
            object_store_outage: Duration::from_secs(30),
            telegram_fault_window: Duration::from_secs(20),
            between_faults: Duration::from_secs(8),
            settle: Duration::from_secs(300),
        }
    }
}

/// A private copy of everything, torn down when dropped.
struct World {
    root: PathBuf,
    rabbit: PrivateRabbit,
    mariadb: PrivateMariaDb,
    garage: PrivateGarage,
    telegram: TelegramDouble,
    services: Services,
    settings: Settings,
}

fn log(scenario: &Scenario, started: tokio::time::Instant, what: &str) {
    println!(
        "[faults {} +{:>5.1}s] {what}",
        scenario.name,
        started.elapsed().as_secs_f64()
    );
}

/// Runs `scenario` with services spawned from `binary` (`CARGO_BIN_EXE_fault-service`);
/// returns the figures once the system settled (or the settle deadline passed).
pub async fn run(scenario: Scenario, binary: &Path) -> anyhow::Result<Figures> {
    let started = tokio::time::Instant::now();
    let root =
        std::env::temp_dir().join(format!("bureau-faults-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&root)?;
    std::fs::set_permissions(&root, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    log(
        &scenario,
        started,
        &format!("private stack in {}", root.display()),
    );

    let (rabbit, mariadb, garage) = tokio::try_join!(
        PrivateRabbit::start(&root),
        PrivateMariaDb::start(&root),
        PrivateGarage::start(&root)
    )?;
    let telegram = TelegramDouble::start(DoubleConfig::without_limits()).await?;
    let env = service_env(&rabbit, &mariadb, &garage, &telegram);
    let mut settings = Settings::load_from(&bureau_test_support::config_dir())?;
    apply(&mut settings, &env);
    let services = Services::new(binary, env, &root)?;
    let mut world = World {
        root,
        rabbit,
        mariadb,
        garage,
        telegram,
        services,
        settings,
    };
    log(
        &scenario,
        started,
        "private RabbitMQ, MariaDB and Garage up",
    );

    let outcome = storm(&scenario, &mut world, started).await;
    world.services.stop_all().await;
    let figures = outcome?;
    if figures.clean() {
        let _ = std::fs::remove_dir_all(&world.root);
    } else {
        println!("logs kept in {}", world.root.display());
    }
    Ok(figures)
}

/// The settings every service process gets, as `BUREAU__*` variables.
fn service_env(
    rabbit: &PrivateRabbit,
    mariadb: &PrivateMariaDb,
    garage: &PrivateGarage,
    telegram: &TelegramDouble,
) -> Vec<(String, String)> {
    base_env(
        rabbit.url(),
        mariadb.url(),
        StoreTarget {
            endpoint: garage.endpoint(),
            bucket: garage.bucket.clone(),
            access_key: garage.access_key.clone(),
            secret_key: garage.secret_key.clone(),
        },
        telegram,
    )
}

/// Where the services' S3 is and how to sign in to it.
#[derive(Clone)]
pub(crate) struct StoreTarget {
    pub endpoint: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
}

/// The suite's `BUREAU__*` settings for any broker URL (a comma list for a cluster),
/// database and S3; the Telegram double in polling mode.
pub(crate) fn base_env(
    broker_url: String,
    database_url: String,
    store: StoreTarget,
    telegram: &TelegramDouble,
) -> Vec<(String, String)> {
    let config_dir = bureau_test_support::config_dir();
    [
        ("BUREAU_CONFIG_DIR", config_dir.display().to_string()),
        ("BUREAU__BROKER__URL", broker_url),
        ("BUREAU__BROKER__NAMESPACE", "faults".into()),
        // Retries must outlast the longest outage (30 s) before a message is given up on.
        (
            "BUREAU__BROKER__RETRY_DELAYS_MS",
            "500,2000,8000,20000".into(),
        ),
        ("BUREAU__BROKER__MAX_ATTEMPTS", "8".into()),
        // The scripted web customers order far more than a real one may: the per-customer
        // quotas (issue 14) are not what this suite tests.
        ("BUREAU__WEB_GATEWAY__QUOTAS__OPEN_ORDERS", "1000000".into()),
        (
            "BUREAU__WEB_GATEWAY__QUOTAS__FILES_PER_DAY",
            "1000000".into(),
        ),
        (
            "BUREAU__WEB_GATEWAY__QUOTAS__BYTES_PER_DAY",
            u64::MAX.to_string(),
        ),
        ("BUREAU__DATABASE__URL", database_url),
        ("BUREAU__STORAGE__ENDPOINT", store.endpoint),
        ("BUREAU__STORAGE__BUCKET", store.bucket),
        ("BUREAU__STORAGE__ACCESS_KEY_ID", store.access_key),
        ("BUREAU__STORAGE__SECRET_ACCESS_KEY", store.secret_key),
        ("BUREAU__TELEGRAM__API_URL", telegram.api_url()),
        ("BUREAU__TELEGRAM__TOKEN", telegram.token()),
        ("BUREAU__TELEGRAM__MODE", "polling".into()),
        (
            "BUREAU__LINKS__SECRET",
            uuid::Uuid::new_v4().simple().to_string(),
        ),
        ("BUREAU__LOG__FORMAT", "pretty".into()),
        (
            "RUST_LOG",
            "info,sqlx=warn,lapin=warn,aws=warn,hyper=warn".into(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The same settings for this process's own checks.
fn apply(settings: &mut Settings, env: &[(String, String)]) {
    let get = |name: &str| {
        env.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    settings.broker.url = Secret::new(get("BUREAU__BROKER__URL"));
    settings.broker.namespace = get("BUREAU__BROKER__NAMESPACE");
    // The same retry delays as the services (the former retry queues the audit looks for).
    settings.broker.retry_delays_ms = get("BUREAU__BROKER__RETRY_DELAYS_MS")
        .split(',')
        .filter_map(|ms| ms.parse().ok())
        .collect();
    settings.database.url = Secret::new(get("BUREAU__DATABASE__URL"));
    settings.database.max_connections = 4;
    settings.storage.endpoint = get("BUREAU__STORAGE__ENDPOINT");
    settings.storage.bucket = get("BUREAU__STORAGE__BUCKET");
    settings.storage.access_key_id = get("BUREAU__STORAGE__ACCESS_KEY_ID");
    settings.storage.secret_access_key = Secret::new(get("BUREAU__STORAGE__SECRET_ACCESS_KEY"));
}

async fn storm(
    scenario: &Scenario,
    world: &mut World,
    started: tokio::time::Instant,
) -> anyhow::Result<Figures> {
    for service in Service::ALL {
        world.services.start(service)?;
    }
    for service in Service::ALL {
        world
            .services
            .wait_ready(service, Duration::from_secs(90))
            .await?;
    }
    log(scenario, started, "five services ready");

    let db = bureau_platform::database::pool(&world.settings.database)?;
    let store = ObjectStore::new(&world.settings.storage);
    let bus = bureau_platform::bus::event_bus(&world.settings.broker, "fault-suite");
    let web = Arc::new(WebClient {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?,
        base: world.services.url(Service::WebGateway, ""),
    });
    poison::publish(&bus).await.context("publishing poison")?;
    let stream = Stream::start(
        &db,
        web.clone(),
        &world.telegram,
        scenario.web_customers,
        scenario.telegram_customers,
    )
    .await?;
    log(
        scenario,
        started,
        "stream of orders running; injecting faults",
    );

    let mut not_reported = Vec::new();
    inject(scenario, world, started, &mut not_reported).await?;

    log(scenario, started, "faults done; ending the stream");
    let ledger = stream.end().await;
    let crashed = world.services.crashed();

    log(scenario, started, "stream ended; settling");
    let sources = Sources {
        db: &db,
        store: &store,
        bus: &bus,
        telegram: &world.telegram,
        rabbit_nodes: vec![world.rabbit.node_name().to_owned()],
    };
    let mut figures = settle(&ledger, &sources, scenario.settle).await?;
    figures.crashed = crashed;
    figures.outages_unreported = not_reported;
    log(scenario, started, "settled");
    println!("{figures}");
    bus.close().await;
    db.close().await;
    Ok(figures)
}

/// The steady stream of orders ([`traffic`]): web and Telegram customers and the staff
/// member, running until [`Stream::end`]; what they were told is in `ledger`.
pub(crate) struct Stream {
    pub ledger: SharedLedger,
    stop: CancellationToken,
    clients: JoinSet<()>,
    staff: tokio::task::JoinHandle<()>,
}

impl Stream {
    /// Creates the staff account and `web_customers` customer accounts through `web`, then
    /// starts every customer (web and Telegram) and the staff member.
    pub(crate) async fn start(
        db: &MySqlPool,
        web: Arc<WebClient>,
        telegram: &TelegramDouble,
        web_customers: usize,
        telegram_customers: usize,
    ) -> anyhow::Result<Stream> {
        let staff_password = "staff password for the fault run";
        bureau_accounts::create_account(
            db,
            "staff@faults.example",
            staff_password,
            "Fault Staff",
            bureau_accounts::Role::Manager,
        )
        .await
        .map_err(|e| anyhow::anyhow!("creating the staff account: {e}"))?;
        let staff_token = web.login("staff@faults.example", staff_password).await?;
        let mut customers = Vec::new();
        for n in 0..web_customers {
            customers.push(web.customer(&format!("customer{n}@faults.example")).await?);
        }
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let stop = CancellationToken::new();
        let mut clients = JoinSet::new();
        for token in customers {
            clients.spawn(traffic::web_customer(
                web.clone(),
                token,
                ledger.clone(),
                stop.clone(),
            ));
        }
        let (accepted_tx, accepted_rx) = tokio::sync::mpsc::unbounded_channel();
        for n in 0..telegram_customers {
            let user = telegram.user_with(880_000 + n as i64, &format!("Fault{n}"), "en");
            clients.spawn(traffic::telegram_customer(
                telegram.clone(),
                user,
                ledger.clone(),
                accepted_tx.clone(),
                stop.clone(),
            ));
        }
        drop(accepted_tx);
        let staff = tokio::spawn(traffic::staff(
            web,
            staff_token,
            db.clone(),
            accepted_rx,
            ledger.clone(),
        ));
        Ok(Stream {
            ledger,
            stop,
            clients,
            staff,
        })
    }

    /// Orders accepted so far (the customer was shown the number).
    pub(crate) fn accepted(&self) -> usize {
        accepted(&self.ledger)
    }

    /// Stops the customers (each finishes the order in hand) and waits for the staff
    /// member to work through what was accepted; returns the ledger.
    pub(crate) async fn end(mut self) -> SharedLedger {
        self.stop.cancel();
        while self.clients.join_next().await.is_some() {}
        let _ = self.staff.await;
        self.ledger
    }
}

/// Orders in `ledger` whose number the customer was shown.
pub(crate) fn accepted(ledger: &SharedLedger) -> usize {
    ledger
        .lock()
        .expect("ledger lock")
        .orders
        .iter()
        .filter(|o| o.accepted_number.is_some())
        .count()
}

/// Audits again and again until the figures are clean or `within` has passed; the last
/// figures.
pub(crate) async fn settle(
    ledger: &SharedLedger,
    sources: &Sources<'_>,
    within: Duration,
) -> anyhow::Result<Figures> {
    let until = tokio::time::Instant::now() + within;
    loop {
        let snapshot = {
            let ledger = ledger.lock().expect("ledger lock");
            Ledger {
                orders: ledger.orders.clone(),
                status_changes: ledger.status_changes.clone(),
                client_errors: ledger.client_errors.clone(),
            }
        };
        let figures = audit::audit(&snapshot, sources).await;
        match figures {
            Ok(figures) if figures.clean() || tokio::time::Instant::now() >= until => {
                return Ok(figures);
            }
            Err(error) if tokio::time::Instant::now() >= until => return Err(error),
            _ => tokio::time::sleep(Duration::from_secs(3)).await,
        }
    }
}

/// Every fault once, one after another, each met by traffic.
async fn inject(
    scenario: &Scenario,
    world: &mut World,
    started: tokio::time::Instant,
    not_reported: &mut Vec<String>,
) -> anyhow::Result<()> {
    let quiet = || tokio::time::sleep(scenario.between_faults);
    quiet().await;

    for service in Service::ALL {
        log(scenario, started, &format!("kill -9 {}", service.name()));
        world.services.kill(service).await?;
        tokio::time::sleep(scenario.dead_for).await;
        world.services.start(service)?;
        world
            .services
            .wait_ready(service, Duration::from_secs(90))
            .await?;
        quiet().await;
    }

    log(scenario, started, "restarting RabbitMQ");
    world.rabbit.down().await?;
    observe_outage(world, Service::PersistenceWorker, "RabbitMQ", not_reported).await;
    tokio::time::sleep(scenario.broker_outage).await;
    world.rabbit.up().await?;
    for service in Service::ALL {
        world
            .services
            .wait_ready(service, Duration::from_secs(90))
            .await?;
    }
    log(scenario, started, "RabbitMQ back");
    quiet().await;

    log(scenario, started, "restarting MariaDB");
    world.mariadb.down().await?;
    observe_outage(world, Service::PersistenceWorker, "MariaDB", not_reported).await;
    tokio::time::sleep(scenario.database_outage).await;
    world.mariadb.up().await?;
    for service in Service::ALL {
        world
            .services
            .wait_ready(service, Duration::from_secs(90))
            .await?;
    }
    log(scenario, started, "MariaDB back");
    quiet().await;

    log(
        scenario,
        started,
        &format!("stopping Garage for {:?}", scenario.object_store_outage),
    );
    world.garage.down().await?;
    observe_outage(world, Service::StorageWorker, "Garage", not_reported).await;
    tokio::time::sleep(scenario.object_store_outage).await;
    world.garage.up().await?;
    world
        .services
        .wait_ready(Service::StorageWorker, Duration::from_secs(90))
        .await?;
    log(scenario, started, "Garage back");
    quiet().await;

    log(scenario, started, "Telegram answers 429");
    world.telegram.set_fault(Fault::TooManyRequests {
        remaining: u32::MAX,
        retry_after: 1,
    });
    tokio::time::sleep(scenario.telegram_fault_window).await;
    log(scenario, started, "Telegram answers 502");
    world.telegram.set_fault(Fault::ServerError {
        remaining: u32::MAX,
    });
    tokio::time::sleep(scenario.telegram_fault_window).await;
    world.telegram.set_fault(Fault::None);
    log(scenario, started, "Telegram healthy");
    quiet().await;

    for service in Service::ALL {
        log(
            scenario,
            started,
            &format!("SIGTERM {} (rolling restart)", service.name()),
        );
        world.services.terminate(service).await?;
        world.services.start(service)?;
        world
            .services
            .wait_ready(service, Duration::from_secs(90))
            .await?;
    }
    quiet().await;
    Ok(())
}

/// Checks that `/readyz` of `service` reports the outage of `dependency` within 10 s.
async fn observe_outage(
    world: &World,
    service: Service,
    dependency: &str,
    not_reported: &mut Vec<String>,
) {
    let services = &world.services;
    let seen = eventually(
        &format!("{} not ready", service.name()),
        Duration::from_secs(10),
        || services.reports_not_ready(service),
    )
    .await;
    if seen.is_err() {
        not_reported.push(format!(
            "{}'s /readyz did not report the {dependency} outage",
            service.name()
        ));
    }
}
