//! Services move to a live RabbitMQ node by themselves: on the private three-node cluster
//! (src/private_cluster.rs), two consumer replicas and a publisher, each given the list of
//! the three nodes (`broker.url` with commas), all start on node 1. Under a steady stream of
//! confirmed events node 1 is killed with kill -9: every bus must move to a live node on
//! its own, and every event the broker confirmed must be handled (at least once), and
//! publishing must resume within a minute (a channel the broker keeps nacking is renewed).
//!
//! `cargo test -p bureau-faults --test cluster_failover -- --nocapture` prints the figures
//! (docs/reliability.md, "Moving to a live node").

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use bureau_event_bus::{BusConfig, EventBus, EventHandler, HandlerError};
use bureau_faults::private_cluster::RabbitCluster;
use bureau_test_support::eventually;
use proto_events::topology::Consumer;
use proto_events::{Envelope, FileRejected};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const EVENTS: usize = 1_500;
const BATCH: usize = 10;
/// Node 1 dies once this many events were confirmed.
const KILL_AFTER: usize = 500;

#[derive(Default)]
struct Handled {
    ids: Mutex<HashSet<Uuid>>,
    deliveries: Mutex<usize>,
}

struct Replica(Arc<Handled>);

impl EventHandler for Replica {
    async fn handle(&self, event: &Envelope) -> Result<(), HandlerError> {
        *self.0.deliveries.lock().unwrap() += 1;
        self.0.ids.lock().unwrap().insert(event.event_id);
        Ok(())
    }
}

fn event() -> Envelope {
    let order_id = Uuid::now_v7();
    Envelope::new(
        "cluster-failover",
        order_id,
        FileRejected {
            order_id,
            file_id: Uuid::now_v7(),
            original_name: "x".into(),
            code: "empty".into(),
            reason: "The file is empty".into(),
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn buses_move_to_a_live_node_when_theirs_is_killed() -> anyhow::Result<()> {
    let started = Instant::now();
    let root = std::env::temp_dir().join(format!("bureau-failover-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&root)?;
    std::fs::set_permissions(&root, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    let rabbit = RabbitCluster::start(&root.join("rabbitmq"), 3)
        .await
        .with_context(|| format!("starting the cluster (logs in {})", root.display()))?;
    println!(
        "[failover +{:>5.1}s] 3 RabbitMQ nodes clustered",
        started.elapsed().as_secs_f64()
    );
    let outcome = run(&rabbit, started).await;
    match &outcome {
        Ok(()) => {
            drop(rabbit);
            let _ = std::fs::remove_dir_all(&root);
        }
        Err(_) => println!("logs kept in {}", root.display()),
    }
    outcome
}

async fn run(rabbit: &RabbitCluster, started: Instant) -> anyhow::Result<()> {
    let nodes = rabbit.urls().join(",");
    let bus = |name: &str| {
        EventBus::new(BusConfig {
            url: nodes.clone(),
            namespace: "failover".into(),
            prefetch: 16,
            max_attempts: 5,
            retry_delays: vec![Duration::from_millis(200)],
            connection_name: name.into(),
            idle_queue_expiry: None,
        })
    };
    let publisher = bus("publisher");
    publisher
        .connect()
        .await
        .context("the publisher connects")?;
    let handled = Arc::new(Handled::default());
    let stop = CancellationToken::new();
    let replicas: Vec<_> = ["replica-1", "replica-2"]
        .into_iter()
        .map(|name| {
            tokio::spawn(bus(name).consume(
                Consumer::Notifier,
                Arc::new(Replica(handled.clone())),
                4,
                stop.clone(),
            ))
        })
        .collect();

    let mut confirmed = Vec::with_capacity(EVENTS);
    let (mut resent, mut killed_at, mut first_after_kill) = (0, None, None);
    let mut nacked = 0;
    while confirmed.len() < EVENTS {
        if killed_at.is_none() && confirmed.len() >= KILL_AFTER {
            rabbit.nodes[0].kill()?;
            killed_at = Some(Instant::now());
            println!(
                "[failover +{:>5.1}s] node 1 killed with kill -9 after {} confirmed",
                started.elapsed().as_secs_f64(),
                confirmed.len()
            );
        }
        let batch: Vec<Envelope> = (0..BATCH).map(|_| event()).collect();
        // A batch caught by the failure is sent again whole until it is confirmed (the
        // consumers deduplicate on event id; here duplicates are only counted).
        // Generous: the guarantee here is nothing lost and a move without help; how long the
        // survivors take to elect new leaders is a figure, printed below. (Before the bus
        // renewed its channel after a nack, one run in four was nacked here for minutes.)
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match publisher.publish_all(&batch).await {
                Ok(()) => break,
                Err(error) => {
                    if error.to_string().contains("negatively acknowledged") {
                        nacked += 1;
                    }
                    if resent < 10 || resent % 100 == 0 {
                        println!(
                            "[failover +{:>5.1}s] batch not confirmed ({resent} resends so far): {error}",
                            started.elapsed().as_secs_f64()
                        );
                    }
                    ensure!(
                        Instant::now() < deadline,
                        "no node took a batch for 60 s: {error}"
                    );
                    resent += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        if let Some(killed) = killed_at
            && first_after_kill.is_none()
        {
            first_after_kill = Some(killed.elapsed());
        }
        confirmed.extend(batch.iter().map(|e| e.event_id));
    }
    println!(
        "[failover +{:>5.1}s] {} confirmed; batches sent again: {resent} ({nacked} nacked); first batch confirmed {:.2?} after the kill",
        started.elapsed().as_secs_f64(),
        confirmed.len(),
        first_after_kill.unwrap_or_default()
    );

    let handled_all = eventually(
        "every confirmed event handled by a replica",
        Duration::from_secs(120),
        || async {
            let ids = handled.ids.lock().unwrap();
            confirmed.iter().all(|id| ids.contains(id)).then_some(())
        },
    )
    .await;
    let ids = handled.ids.lock().unwrap().clone();
    let lost = confirmed.iter().filter(|id| !ids.contains(id)).count();
    let deliveries = *handled.deliveries.lock().unwrap();
    println!(
        "[failover +{:>5.1}s] handled {} distinct, {} deliveries ({} again), lost {lost}; consumers moved to a live node",
        started.elapsed().as_secs_f64(),
        ids.len(),
        deliveries,
        deliveries.saturating_sub(ids.len())
    );
    handled_all.with_context(|| format!("{lost} confirmed events never handled"))?;
    ensure!(lost == 0);

    stop.cancel();
    for replica in replicas {
        replica.await?;
    }
    publisher.close().await;
    Ok(())
}
