//! The cluster run (issue 17): two replicas of every service against the private
//! three-node RabbitMQ cluster and three-node Garage cluster ([`crate::private_cluster`]),
//! under the fault suite's stream of web and Telegram orders with files ([`crate::Stream`]).
//! Round after round it kills with kill -9 the RabbitMQ node leading most work queues, then
//! a Garage node, then one replica of each service, bringing each back before the next, and
//! times how soon orders are accepted again and how soon the part is back. Then the stream
//! stops and the fault suite's [`crate::audit`] counts what was lost or doubled.
//!
//! Topology, as a deployment has it: the web gateways behind one load balancer (a
//! [`Balancer`]), the bot gateways in webhook mode behind another (the Telegram double
//! delivers to it), the Garage nodes' S3 ports behind a third; each service replica gets the
//! three RabbitMQ nodes as its `broker.url` list (replica B's list starts at node 2, so the
//! replicas spread), and one MariaDB (MySQL is the managed database's job; not clustered here).
//!
//! Short version: `tests/cluster_run.rs` in `cargo test`; long one:
//! `BUREAU_CLUSTER_MINUTES=10 cargo test -p bureau-faults --test cluster_run -- --ignored --nocapture`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bureau_platform::Settings;
use bureau_platform::object_store::ObjectStore;
use bureau_test_support::eventually;
use proto_events::topology::{Consumer, Topology};
use telegram_double::{DoubleConfig, TelegramDouble};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::audit::{Figures, Sources};
use crate::balancer::Balancer;
use crate::private_cluster::{GarageCluster, RabbitCluster};
use crate::private_stack::PrivateMariaDb;
use crate::services::{Service, Services};
use crate::traffic::WebClient;
use crate::{StoreTarget, Stream, apply, base_env, settle};

/// The webhook route of the bot gateway (`updates::webhook::PATH`).
const WEBHOOK_PATH: &str = "/telegram/webhook";
const WEBHOOK_SECRET: &str = "cluster-run-replicas-share-this";
/// How long a replica or node may take to be ready again after it was started.
const READY_WITHIN: Duration = Duration::from_secs(120);

#[derive(Debug, Clone)]
pub struct ClusterScenario {
    pub name: &'static str,
    pub web_customers: usize,
    pub telegram_customers: usize,
    /// Rounds of faults (RabbitMQ leader, Garage node, a replica of each service) go on
    /// until the stream has run this long; at least one round.
    pub stream_for: Duration,
    /// How long a killed RabbitMQ or Garage node stays dead.
    pub node_dead_for: Duration,
    /// How long a killed replica stays dead.
    pub replica_dead_for: Duration,
    /// Quiet time between two faults, so each one meets traffic.
    pub between_faults: Duration,
    pub settle: Duration,
}

impl ClusterScenario {
    /// The version in `cargo test`: one round, short outages, few customers.
    pub fn short() -> ClusterScenario {
        ClusterScenario {
            name: "cluster-short",
            web_customers: 2,
            telegram_customers: 2,
            stream_for: Duration::ZERO,
            node_dead_for: Duration::from_secs(5),
            replica_dead_for: Duration::from_secs(1),
            between_faults: Duration::from_secs(3),
            settle: Duration::from_secs(150),
        }
    }

    /// The documented long run: `minutes` of stream, as many rounds as fit.
    pub fn long(minutes: u64) -> ClusterScenario {
        ClusterScenario {
            name: "cluster-long",
            web_customers: 6,
            telegram_customers: 6,
            stream_for: Duration::from_secs(minutes * 60),
            node_dead_for: Duration::from_secs(15),
            replica_dead_for: Duration::from_secs(3),
            between_faults: Duration::from_secs(8),
            settle: Duration::from_secs(300),
        }
    }
}

/// One kill and its recovery.
#[derive(Debug, Clone)]
pub struct Kill {
    pub round: usize,
    pub what: String,
    /// Seconds into the run.
    pub at: f64,
    /// From the kill until a customer was next shown an order number.
    pub next_order_after: Option<Duration>,
    /// Only for RabbitMQ: from the kill until every work queue had a leader elsewhere.
    pub new_leader_after: Option<Duration>,
    /// From the start again until the part was back: a node an online member of every work
    /// queue, or healthy in Garage; a replica ready.
    pub back_after: Duration,
}

/// Everything the run measured.
#[derive(Debug, Clone)]
pub struct ClusterFigures {
    pub audit: Figures,
    pub kills: Vec<Kill>,
    /// Connections each web gateway replica, each bot gateway replica (webhook
    /// deliveries) and each Garage node took through its balancer.
    pub served: BTreeMap<&'static str, Vec<usize>>,
    pub stream_secs: f64,
    pub wall_secs: f64,
    /// Load average (1 min) at the start and the end, from /proc/loadavg.
    pub load: (String, String),
}

impl ClusterFigures {
    pub fn clean(&self) -> bool {
        // No poison is sent in this run: any dead letter at all is a failure.
        self.audit.clean() && self.audit.dead_lettered.values().all(Vec::is_empty)
    }
}

impl fmt::Display for ClusterFigures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = |d: Option<Duration>| {
            d.map(|d| format!("{:.1} s", d.as_secs_f64()))
                .unwrap_or_else(|| "-".into())
        };
        writeln!(
            f,
            "{:<5} {:<40} {:>8} {:>12} {:>12} {:>10}",
            "round", "killed (kill -9)", "at", "next order", "new leader", "back in"
        )?;
        for kill in &self.kills {
            writeln!(
                f,
                "{:<5} {:<40} {:>7.1}s {:>12} {:>12} {:>10}",
                kill.round,
                kill.what,
                kill.at,
                secs(kill.next_order_after),
                secs(kill.new_leader_after),
                secs(Some(kill.back_after)),
            )?;
        }
        for (what, counts) in &self.served {
            writeln!(f, "connections through the {what} balancer: {counts:?}")?;
        }
        writeln!(
            f,
            "stream {:.0} s, whole run {:.0} s, load average {} at the start, {} at the end",
            self.stream_secs, self.wall_secs, self.load.0, self.load.1
        )?;
        write!(f, "{}", self.audit)
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

fn log(scenario: &ClusterScenario, started: Instant, what: &str) {
    println!(
        "[{} +{:>6.1}s] {what}",
        scenario.name,
        started.elapsed().as_secs_f64()
    );
}

/// Everything private to the run; the clusters stop their nodes when dropped.
struct World {
    rabbit: RabbitCluster,
    garage: GarageCluster,
    _mariadb: PrivateMariaDb,
    telegram: TelegramDouble,
    /// Replica A and replica B of every service.
    replicas: [Services; 2],
    web_balancer: Balancer,
    bot_balancer: Balancer,
    s3_balancer: Balancer,
    settings: Settings,
}

/// Runs `scenario` with services spawned from `binary` (`CARGO_BIN_EXE_fault-service`).
pub async fn run(scenario: ClusterScenario, binary: &Path) -> anyhow::Result<ClusterFigures> {
    let started = Instant::now();
    let load_at_start = load_average();
    let root: PathBuf = std::env::temp_dir().join(format!(
        "bureau-cluster-run-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&root)?;
    std::fs::set_permissions(&root, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    log(
        &scenario,
        started,
        &format!("private clusters in {}", root.display()),
    );

    let (rabbit_dir, garage_dir) = (root.join("rabbit"), root.join("garage"));
    let (rabbit, garage, mariadb) = tokio::try_join!(
        RabbitCluster::start(&rabbit_dir, 3),
        GarageCluster::start(&garage_dir, 3),
        PrivateMariaDb::start(&root),
    )?;
    log(
        &scenario,
        started,
        "3 RabbitMQ nodes, 3 Garage nodes (replication factor 3) and MariaDB up",
    );
    let telegram = TelegramDouble::start(DoubleConfig::without_limits()).await?;
    let s3_balancer = Balancer::start(
        garage
            .nodes
            .iter()
            .map(|n| SocketAddr::from(([127, 0, 0, 1], n.s3_port)))
            .collect(),
    )
    .await?;
    let store = StoreTarget {
        endpoint: s3_balancer.url(),
        bucket: garage.bucket.clone(),
        access_key: garage.access_key.clone(),
        secret_key: garage.secret_key.clone(),
    };
    let urls = rabbit.urls();
    // Replica A lists node 1 first, replica B node 2: each connects to the first that
    // answers, so the replicas spread over the cluster.
    let broker_list = |first: usize| -> String {
        (0..urls.len())
            .map(|i| urls[(first + i) % urls.len()].clone())
            .collect::<Vec<_>>()
            .join(",")
    };
    let env_a = base_env(broker_list(0), mariadb.url(), store.clone(), &telegram);
    let env_b = base_env(broker_list(1), mariadb.url(), store, &telegram);
    let mut settings = Settings::load_from(&bureau_test_support::config_dir())?;
    apply(&mut settings, &env_a);
    settings.storage.region = garage.region.clone();

    let replica_dir = |name: &str| -> anyhow::Result<PathBuf> {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    };
    // Ports first, so the balancers know their backends; the webhook URL is the bot
    // balancer's, which needs the ports: build without the webhook, then add it.
    let mut replicas = [
        Services::new(binary, env_a, &replica_dir("replica-a")?)?,
        Services::new(binary, env_b, &replica_dir("replica-b")?)?,
    ];
    let port_of = |services: &Services, service: Service| -> anyhow::Result<SocketAddr> {
        let url = services.url(service, "");
        url.trim_start_matches("http://")
            .parse()
            .with_context(|| format!("the address of {url}"))
    };
    let web_balancer = Balancer::start(vec![
        port_of(&replicas[0], Service::WebGateway)?,
        port_of(&replicas[1], Service::WebGateway)?,
    ])
    .await?;
    let bot_balancer = Balancer::start(vec![
        port_of(&replicas[0], Service::BotGateway)?,
        port_of(&replicas[1], Service::BotGateway)?,
    ])
    .await?;
    for services in &mut replicas {
        services.set_env("BUREAU__TELEGRAM__MODE", "webhook");
        services.set_env(
            "BUREAU__TELEGRAM__WEBHOOK_URL",
            &format!("{}{WEBHOOK_PATH}", bot_balancer.url()),
        );
        services.set_env("BUREAU__TELEGRAM__WEBHOOK_SECRET", WEBHOOK_SECRET);
    }

    let mut world = World {
        rabbit,
        garage,
        _mariadb: mariadb,
        telegram,
        replicas,
        web_balancer,
        bot_balancer,
        s3_balancer,
        settings,
    };
    let outcome = storm(&scenario, &mut world, started).await;
    for services in &mut world.replicas {
        services.stop_all().await;
    }
    let (audit, kills, stream_secs) = outcome?;
    let figures = ClusterFigures {
        audit,
        kills,
        served: BTreeMap::from([
            ("web gateway", world.web_balancer.served()),
            ("bot gateway webhook", world.bot_balancer.served()),
            ("Garage S3", world.s3_balancer.served()),
        ]),
        stream_secs,
        wall_secs: started.elapsed().as_secs_f64(),
        load: (load_at_start, load_average()),
    };
    log(&scenario, started, "done");
    println!("{figures}");
    drop(world);
    if figures.clean() {
        let _ = std::fs::remove_dir_all(&root);
    } else {
        println!("logs kept in {}", root.display());
    }
    Ok(figures)
}

async fn storm(
    scenario: &ClusterScenario,
    world: &mut World,
    started: Instant,
) -> anyhow::Result<(Figures, Vec<Kill>, f64)> {
    // Replica A first (it applies the migrations), then B.
    for replica in 0..2 {
        for service in Service::ALL {
            world.replicas[replica].start(service)?;
        }
        for service in Service::ALL {
            world.replicas[replica]
                .wait_ready(service, READY_WITHIN)
                .await?;
        }
    }
    log(
        scenario,
        started,
        "two replicas of each of the five services ready",
    );

    let db = bureau_platform::database::pool(&world.settings.database)?;
    let store = ObjectStore::new(&world.settings.storage);
    let bus = bureau_platform::bus::event_bus(&world.settings.broker, "cluster-run");
    let web = Arc::new(WebClient {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?,
        base: world.web_balancer.url(),
    });
    let stream = Stream::start(
        &db,
        web,
        &world.telegram,
        scenario.web_customers,
        scenario.telegram_customers,
    )
    .await?;
    let stream_started = Instant::now();
    log(
        scenario,
        started,
        "stream of orders running; injecting faults",
    );

    let mut kills = Vec::new();
    let mut round = 1;
    loop {
        inject_round(scenario, world, &stream, started, round, &mut kills).await?;
        if stream_started.elapsed() >= scenario.stream_for {
            break;
        }
        round += 1;
    }

    log(scenario, started, "faults done; ending the stream");
    let ledger = stream.end().await;
    let stream_secs = stream_started.elapsed().as_secs_f64();
    let mut crashed = Vec::new();
    for (name, services) in ["replica A", "replica B"].iter().zip(&mut world.replicas) {
        crashed.extend(
            services
                .crashed()
                .into_iter()
                .map(|line| format!("{name}: {line}")),
        );
    }
    log(scenario, started, "stream ended; settling");
    let sources = Sources {
        db: &db,
        store: &store,
        bus: &bus,
        telegram: &world.telegram,
        rabbit_nodes: world.rabbit.nodes.iter().map(|n| n.name.clone()).collect(),
    };
    let mut figures = settle(&ledger, &sources, scenario.settle).await?;
    figures.crashed = crashed;
    log(scenario, started, "settled");
    bus.close().await;
    db.close().await;
    Ok((figures, kills, stream_secs))
}

/// Watches, from a kill on, for the next order a customer is shown the number of; the
/// time from `since` until then (`None` after 5 minutes).
fn watch_next_order(stream: &Stream, since: Instant) -> JoinHandle<Option<Duration>> {
    let before = stream.accepted();
    let ledger = stream.ledger.clone();
    tokio::spawn(async move {
        eventually(
            "an order accepted after the kill",
            Duration::from_secs(300),
            || {
                let accepted = crate::accepted(&ledger);
                async move { accepted > before }
            },
        )
        .await
        .ok()
        .map(|()| since.elapsed())
    })
}

/// The work queues of every consumer.
fn work_queues(settings: &Settings) -> Vec<String> {
    let topology = Topology::new(settings.broker.namespace.clone(), Vec::new());
    Consumer::ALL.iter().map(|c| topology.queue(*c)).collect()
}

/// Every replica of every service ready again.
async fn all_ready(world: &World) -> anyhow::Result<()> {
    for services in &world.replicas {
        for service in Service::ALL {
            services.wait_ready(service, READY_WITHIN).await?;
        }
    }
    Ok(())
}

/// One round: the RabbitMQ node leading most work queues, a Garage node, one replica of
/// each service; each killed with kill -9, then brought back.
async fn inject_round(
    scenario: &ClusterScenario,
    world: &mut World,
    stream: &Stream,
    started: Instant,
    round: usize,
    kills: &mut Vec<Kill>,
) -> anyhow::Result<()> {
    let quiet = || tokio::time::sleep(scenario.between_faults);
    quiet().await;
    let queues = work_queues(&world.settings);

    // RabbitMQ: the leader of the most work queues.
    let mut leaders: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let statuses = world.rabbit.quorum_statuses(0, &queues).await?;
    for (queue, status) in queues.iter().zip(statuses) {
        anyhow::ensure!(
            status.members.len() == 3,
            "{queue} has members {:?}, not one on each of the 3 nodes",
            status.members
        );
        leaders
            .entry(status.leader)
            .or_default()
            .push(queue.clone());
    }
    let (leader, led) = leaders
        .iter()
        .max_by_key(|(_, led)| led.len())
        .map(|(leader, led)| (leader.clone(), led.clone()))
        .context("no work queue has a leader")?;
    let victim = world.rabbit.index_of(&leader)?;
    let witness = (victim + 1) % world.rabbit.nodes.len();
    log(
        scenario,
        started,
        &format!("kill -9 RabbitMQ node {} (leader of {led:?})", victim + 1),
    );
    let killed_at = Instant::now();
    let at = started.elapsed().as_secs_f64();
    world.rabbit.nodes[victim].kill()?;
    let next_order = watch_next_order(stream, killed_at);
    let rabbit = &world.rabbit;
    let new_leader = eventually(
        "every work queue led by a live node",
        Duration::from_secs(120),
        || {
            let (queues, leader) = (&queues, &leader);
            async move {
                rabbit
                    .quorum_statuses(witness, queues)
                    .await
                    .is_ok_and(|statuses| {
                        statuses
                            .iter()
                            .all(|s| !s.leader.is_empty() && &s.leader != leader)
                    })
            }
        },
    )
    .await
    .map(|()| killed_at.elapsed())
    .ok();
    tokio::time::sleep(scenario.node_dead_for.saturating_sub(killed_at.elapsed())).await;
    let restarted = Instant::now();
    world.rabbit.nodes[victim].up().await?;
    let name = world.rabbit.nodes[victim].name.clone();
    eventually(
        "the restarted node online in every work queue",
        READY_WITHIN,
        || {
            let (queues, name) = (&queues, &name);
            async move {
                rabbit
                    .quorum_statuses(witness, queues)
                    .await
                    .is_ok_and(|statuses| statuses.iter().all(|s| s.online.contains(name)))
            }
        },
    )
    .await?;
    let back_after = restarted.elapsed();
    all_ready(world).await?;
    let next_order_after = next_order.await?;
    kills.push(Kill {
        round,
        what: format!("RabbitMQ node {} (queue leader)", victim + 1),
        at,
        next_order_after,
        new_leader_after: new_leader,
        back_after,
    });
    log(scenario, started, "RabbitMQ node back");
    quiet().await;

    // Garage: a different node each round.
    let victim = (round - 1) % world.garage.nodes.len();
    log(
        scenario,
        started,
        &format!("kill -9 Garage node {}", victim + 1),
    );
    let killed_at = Instant::now();
    let at = started.elapsed().as_secs_f64();
    world.garage.nodes[victim].kill().await?;
    let next_order = watch_next_order(stream, killed_at);
    tokio::time::sleep(scenario.node_dead_for.saturating_sub(killed_at.elapsed())).await;
    let restarted = Instant::now();
    world.garage.nodes[victim].up().await?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()?;
    for node in &world.garage.nodes {
        eventually("every Garage node healthy", READY_WITHIN, || {
            node.healthy(&http)
        })
        .await?;
    }
    let back_after = restarted.elapsed();
    let next_order_after = next_order.await?;
    kills.push(Kill {
        round,
        what: format!("Garage node {}", victim + 1),
        at,
        next_order_after,
        new_leader_after: None,
        back_after,
    });
    log(scenario, started, "Garage node back");
    quiet().await;

    // One replica of each service: A in odd rounds, B in even ones.
    let replica = (round - 1) % 2;
    for service in Service::ALL {
        let label = format!("{} replica {}", service.name(), ["A", "B"][replica]);
        log(scenario, started, &format!("kill -9 {label}"));
        let killed_at = Instant::now();
        let at = started.elapsed().as_secs_f64();
        world.replicas[replica].kill(service).await?;
        let next_order = watch_next_order(stream, killed_at);
        tokio::time::sleep(scenario.replica_dead_for).await;
        let restarted = Instant::now();
        world.replicas[replica].start(service)?;
        world.replicas[replica]
            .wait_ready(service, READY_WITHIN)
            .await?;
        let back_after = restarted.elapsed();
        let next_order_after = next_order.await?;
        kills.push(Kill {
            round,
            what: label,
            at,
            next_order_after,
            new_leader_after: None,
            back_after,
        });
        quiet().await;
    }
    Ok(())
}
