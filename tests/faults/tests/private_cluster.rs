//! The short cluster run: a private three-node RabbitMQ cluster and a three-node Garage
//! cluster (src/private_cluster.rs) lose a node each, and nothing is lost.
//!
//! RabbitMQ: the topology is declared by our own code on the formed cluster, and the
//! storage worker's quorum queue must then have a member on each of the three nodes. A
//! publisher (on one follower) sends numbered persistent messages with confirms while a
//! consumer (on the other follower) takes them with manual acks; a third of the way in, the
//! queue's leader node is killed with kill -9. Every message the broker confirmed must reach
//! the consumer (redeliveries are allowed and counted: delivery is at least once), a new
//! leader must take over on a surviving node, and the killed node, started again, must
//! rejoin as an online member.
//!
//! First, the fault suite's audit count (`audit::queue_messages`, from `rabbitmqctl
//! list_queues`) must see a message held unacked, which a passive `queue.declare` does not.
//!
//! Garage: with replication factor 3, an object written before a node is killed and one
//! written (multipart) while it is down are read back whole through another node, and
//! through the returning node once it is back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, ensure};
use bureau_faults::private_cluster::{GarageCluster, RabbitCluster};
use bureau_platform::object_store::ObjectStore;
use bureau_test_support::eventually;
use bureau_test_support::{random_bytes, sha256_hex};
use bytes::Bytes;
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Confirmation, Connection, ConnectionProperties};
use proto_events::topology::{Consumer, Topology};
use tokio_util::sync::CancellationToken;

const MESSAGES: u64 = 3_000;
const BATCH: u64 = 100;
/// The leader dies after this many messages were confirmed.
const KILL_AFTER: u64 = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_quorum_queue_and_the_object_store_survive_losing_a_node() -> anyhow::Result<()> {
    let started = Instant::now();
    let root =
        std::env::temp_dir().join(format!("bureau-cluster-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&root)?;
    std::fs::set_permissions(&root, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    let (rabbit_dir, garage_dir) = (root.join("rabbitmq"), root.join("garage"));
    let (rabbit, mut garage) = tokio::try_join!(
        RabbitCluster::start(&rabbit_dir, 3),
        GarageCluster::start(&garage_dir, 3)
    )
    .with_context(|| format!("starting the clusters (logs in {})", root.display()))?;
    println!(
        "[cluster +{:>5.1}s] 3 RabbitMQ nodes clustered, 3 Garage nodes with replication factor 3, in {}",
        started.elapsed().as_secs_f64(),
        root.display()
    );

    let outcome = async {
        the_audit_counts_unacked_messages(&rabbit, started).await?;
        quorum_queue_loses_its_leader(&rabbit, started).await?;
        object_store_loses_a_node(&mut garage, started).await
    }
    .await;
    match &outcome {
        Ok(()) => {
            drop(garage);
            drop(rabbit);
            let _ = std::fs::remove_dir_all(&root);
        }
        Err(_) => println!("logs kept in {}", root.display()),
    }
    outcome
}

/// Two messages in a work queue, one of them taken and held unacked: the audit's count must
/// say 2 (1 ready, 1 unacked), where a passive declare says 1.
async fn the_audit_counts_unacked_messages(
    rabbit: &RabbitCluster,
    started: Instant,
) -> anyhow::Result<()> {
    let topology = Topology::new("audit", vec![Duration::from_secs(1)]);
    let queue = topology.queue(Consumer::Notifier);
    let (connection, channel) = connect_confirming(&rabbit.nodes[0].url()).await?;
    bureau_event_bus::declare(&topology, &channel).await?;
    for body in [b"one", b"two"] {
        let confirmation = channel
            .basic_publish(
                "".into(),
                queue.as_str().into(),
                BasicPublishOptions::default(),
                body,
                BasicProperties::default().with_delivery_mode(2),
            )
            .await?
            .await?;
        ensure!(confirmation.is_ack(), "{queue} did not take a message");
    }
    let held = channel
        .basic_get(
            queue.as_str().into(),
            lapin::options::BasicGetOptions { no_ack: false },
        )
        .await?
        .ok_or_else(|| anyhow!("{queue} gave no message"))?;
    let passive = channel
        .queue_declare(
            queue.as_str().into(),
            lapin::options::QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    let nodes: Vec<String> = rabbit.nodes.iter().map(|n| n.name.clone()).collect();
    let counted = eventually(
        "the unacked message counted",
        Duration::from_secs(30),
        || {
            let (nodes, queue) = (&nodes, &queue);
            async move {
                bureau_faults::audit::queue_messages(nodes)
                    .await
                    .ok()
                    .and_then(|listed| listed.into_iter().find(|q| &q.name == queue))
                    .is_some_and(|q| q.messages == 2 && q.ready == 1 && q.unacked == 1)
            }
        },
    )
    .await;
    log(
        started,
        &format!(
            "{queue}: 1 of 2 messages held unacked; a passive declare counts {}, the audit {}",
            passive.message_count(),
            if counted.is_ok() {
                "2 (1 ready, 1 unacked)"
            } else {
                "otherwise"
            }
        ),
    );
    counted?;
    held.ack(BasicAckOptions::default()).await?;
    let _ = connection.close(200, "audit checked".into()).await;
    Ok(())
}

fn log(started: Instant, what: &str) {
    println!(
        "[cluster +{:>5.1}s] {what}",
        started.elapsed().as_secs_f64()
    );
}

async fn quorum_queue_loses_its_leader(
    rabbit: &RabbitCluster,
    started: Instant,
) -> anyhow::Result<()> {
    let topology = Topology::new("cluster", vec![Duration::from_secs(1)]);
    let queue = topology.queue(Consumer::StorageWorker);
    {
        let connection =
            Connection::connect(&rabbit.nodes[0].url(), ConnectionProperties::default()).await?;
        let channel = connection.create_channel().await?;
        bureau_event_bus::declare(&topology, &channel).await?;
        let _ = connection.close(200, "declared".into()).await;
    }
    let status = rabbit.quorum_status(0, &queue).await?;
    let mut members = status.members.clone();
    members.sort();
    let mut nodes: Vec<String> = rabbit.nodes.iter().map(|n| n.name.clone()).collect();
    nodes.sort();
    ensure!(
        members == nodes,
        "{queue} should have a member on each of the 3 nodes (no x-quorum-initial-group-size: the cluster size decides), has {members:?}"
    );
    let leader = rabbit.index_of(&status.leader)?;
    let publisher_node = (leader + 1) % 3;
    let consumer_node = (leader + 2) % 3;
    log(
        started,
        &format!(
            "{queue}: quorum queue with 3 members, leader {}",
            status.leader
        ),
    );

    let seen: Arc<Mutex<HashMap<u64, u32>>> = Arc::default();
    let stop = CancellationToken::new();
    let urls = rabbit.urls();
    let consumer = tokio::spawn(consume(
        rotated(&urls, consumer_node),
        queue.clone(),
        seen.clone(),
        stop.clone(),
    ));

    let mut publisher = Publisher::new(rotated(&urls, publisher_node), queue.clone());
    let mut confirmed = 0u64;
    let mut killed_at = None;
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut next = 0u64;
    while next < MESSAGES {
        ensure!(
            Instant::now() < deadline,
            "publishing did not finish in 120 s"
        );
        if killed_at.is_none() && confirmed >= KILL_AFTER {
            rabbit.nodes[leader].kill()?;
            killed_at = Some(Instant::now());
            log(
                started,
                &format!(
                    "kill -9 of the leader {} after {confirmed} confirmed",
                    rabbit.nodes[leader].name
                ),
            );
        }
        let batch: Vec<u64> = (next..(next + BATCH).min(MESSAGES)).collect();
        // A batch is sent again, whole, until the broker confirmed every message in it: what
        // a publisher with at-least-once delivery does.
        match publisher.publish_confirmed(&batch).await {
            Ok(()) => {
                confirmed += batch.len() as u64;
                next += BATCH;
            }
            Err(error) => {
                publisher.republished += batch.len() as u64;
                println!(
                    "  batch from {} not confirmed ({error:#}); sending it again",
                    batch[0]
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    log(
        started,
        &format!(
            "{confirmed} messages confirmed ({} sent again after a failed batch)",
            publisher.republished
        ),
    );

    let received = || {
        let seen = seen.lock().expect("seen");
        (0..MESSAGES).filter(|n| seen.contains_key(n)).count() as u64
    };
    let all_received = eventually(
        "the consumer to receive every confirmed message",
        Duration::from_secs(90),
        || {
            let count = received();
            async move { count == MESSAGES }
        },
    )
    .await;
    stop.cancel();
    let reconnects = consumer.await??;
    let (missing, redelivered) = {
        let seen = seen.lock().expect("seen");
        let missing: Vec<u64> = (0..MESSAGES).filter(|n| !seen.contains_key(n)).collect();
        let redelivered: u32 = seen.values().map(|c| c - 1).sum();
        (missing, redelivered)
    };
    println!(
        "  confirmed {MESSAGES}, received {} distinct, lost {}, received twice or more {redelivered}, consumer reconnects {reconnects}",
        MESSAGES - missing.len() as u64,
        missing.len()
    );
    ensure!(
        missing.is_empty() && all_received.is_ok(),
        "{} confirmed messages never reached the consumer, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );

    let after = rabbit.quorum_status(publisher_node, &queue).await?;
    ensure!(
        after.leader != rabbit.nodes[leader].name && !after.leader.is_empty(),
        "no new leader took over from the killed node: {after:?}"
    );
    ensure!(
        after.online.len() == 2,
        "two members online while one node is down: {after:?}"
    );
    log(
        started,
        &format!(
            "new leader {}, {} of 3 members online",
            after.leader,
            after.online.len()
        ),
    );

    rabbit.nodes[leader].up().await?;
    eventually(
        "the killed node to rejoin the queue as an online member",
        Duration::from_secs(60),
        || async {
            rabbit
                .quorum_status(publisher_node, &queue)
                .await
                .is_ok_and(|s| s.online.len() == 3)
        },
    )
    .await?;
    log(
        started,
        &format!(
            "{} back: 3 of 3 members online ({:.1} s after the kill)",
            rabbit.nodes[leader].name,
            killed_at.map_or(0.0, |at| at.elapsed().as_secs_f64())
        ),
    );
    Ok(())
}

/// `urls` starting at `first`: the preferred node, then the others to fall back on.
fn rotated(urls: &[String], first: usize) -> Vec<String> {
    let mut urls = urls.to_vec();
    urls.rotate_left(first);
    urls
}

/// Numbered messages to one queue with publisher confirms, over whichever node answers.
struct Publisher {
    urls: Vec<String>,
    queue: String,
    live: Option<(Connection, lapin::Channel)>,
    republished: u64,
}

impl Publisher {
    fn new(urls: Vec<String>, queue: String) -> Publisher {
        Publisher {
            urls,
            queue,
            live: None,
            republished: 0,
        }
    }

    async fn channel(&mut self) -> anyhow::Result<lapin::Channel> {
        if let Some((connection, channel)) = &self.live
            && connection.status().connected()
            && channel.status().connected()
        {
            return Ok(channel.clone());
        }
        self.live = None;
        let mut last = anyhow!("no node");
        for url in &self.urls {
            match connect_confirming(url).await {
                Ok(live) => {
                    let channel = live.1.clone();
                    self.live = Some(live);
                    return Ok(channel);
                }
                Err(error) => last = error,
            }
        }
        Err(last)
    }

    async fn publish_confirmed(&mut self, batch: &[u64]) -> anyhow::Result<()> {
        let channel = self.channel().await?;
        let result = async {
            let mut confirms = Vec::new();
            for n in batch {
                confirms.push(
                    channel
                        .basic_publish(
                            "".into(),
                            self.queue.as_str().into(),
                            BasicPublishOptions {
                                mandatory: true,
                                ..Default::default()
                            },
                            n.to_string().as_bytes(),
                            BasicProperties::default().with_delivery_mode(2),
                        )
                        .await?,
                );
            }
            let confirmations = tokio::time::timeout(
                Duration::from_secs(30),
                futures::future::try_join_all(confirms),
            )
            .await
            .map_err(|_| anyhow!("no confirms within 30 s"))??;
            for confirmation in confirmations {
                match confirmation {
                    Confirmation::Ack(None) => {}
                    other => anyhow::bail!("not confirmed: {other:?}"),
                }
            }
            Ok(())
        }
        .await;
        if result.is_err() {
            self.live = None; // a fresh connection for the retry
        }
        result
    }
}

async fn connect_confirming(url: &str) -> anyhow::Result<(Connection, lapin::Channel)> {
    let connection = tokio::time::timeout(
        Duration::from_secs(5),
        Connection::connect(url, ConnectionProperties::default()),
    )
    .await
    .map_err(|_| anyhow!("connecting to {url} timed out"))??;
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    Ok((connection, channel))
}

/// Takes messages off `queue` with manual acks, counting each number it sees, until `stop`;
/// moves to another node when its connection or consumer breaks. Returns the reconnects.
async fn consume(
    urls: Vec<String>,
    queue: String,
    seen: Arc<Mutex<HashMap<u64, u32>>>,
    stop: CancellationToken,
) -> anyhow::Result<u32> {
    let mut reconnects = 0u32;
    let mut attempt = 0usize;
    while !stop.is_cancelled() {
        let url = &urls[attempt % urls.len()];
        let session = async {
            let connection = tokio::time::timeout(
                Duration::from_secs(5),
                Connection::connect(url, ConnectionProperties::default()),
            )
            .await
            .map_err(|_| anyhow!("connect timed out"))??;
            let channel = connection.create_channel().await?;
            channel.basic_qos(64, BasicQosOptions::default()).await?;
            let mut deliveries = channel
                .basic_consume(
                    queue.as_str().into(),
                    "cluster-test".into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            loop {
                let delivery = tokio::select! {
                    _ = stop.cancelled() => break,
                    next = deliveries.next() => next,
                };
                let Some(delivery) = delivery else {
                    anyhow::bail!("the broker ended the consumer");
                };
                let delivery = delivery?;
                let number: u64 = std::str::from_utf8(&delivery.data)?.parse()?;
                *seen.lock().expect("seen").entry(number).or_default() += 1;
                delivery.ack(BasicAckOptions::default()).await?;
            }
            let _ = connection.close(200, "done".into()).await;
            Ok::<(), anyhow::Error>(())
        }
        .await;
        if let Err(error) = session {
            if stop.is_cancelled() {
                break;
            }
            println!("  consumer on {url}: {error:#}; moving to the next node");
            reconnects += 1;
            attempt += 1;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(reconnects)
}

async fn object_store_loses_a_node(
    garage: &mut GarageCluster,
    started: Instant,
) -> anyhow::Result<()> {
    let base = bureau_platform::Settings::load_from(&bureau_test_support::config_dir())?.storage;
    let stores: Vec<ObjectStore> = (0..garage.nodes.len())
        .map(|n| ObjectStore::new(&garage.storage_settings(n, &base)))
        .collect();
    let (first, second, third) = (&stores[0], &stores[1], &stores[2]);

    let before = random_bytes(1024 * 1024);
    put(first, "cluster/before-the-outage", &before).await?;
    garage.nodes[2].kill().await?;
    log(started, "Garage node 3 killed (kill -9)");

    // Larger than one 8 MiB part: a multipart upload while a replica is missing.
    let during = random_bytes(20 * 1024 * 1024);
    put(first, "cluster/during-the-outage", &during).await?;
    for (key, bytes) in [
        ("cluster/before-the-outage", &before),
        ("cluster/during-the-outage", &during),
    ] {
        ensure!(
            sha256_hex(&get(second, key).await?) == sha256_hex(bytes),
            "{key} read back through node 2 differs from what was written"
        );
    }
    log(
        started,
        "with node 3 down: a 20 MiB multipart write and both reads succeeded, bytes intact",
    );

    garage.nodes[2].up().await?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()?;
    let node = &garage.nodes[2];
    eventually(
        "Garage node 3 to call the cluster healthy again",
        Duration::from_secs(60),
        || node.healthy(&http),
    )
    .await?;
    ensure!(
        sha256_hex(&get(third, "cluster/during-the-outage").await?) == sha256_hex(&during),
        "the object written during the outage reads differently through the returning node"
    );
    log(
        started,
        "node 3 back; it serves the object written while it was down",
    );
    Ok(())
}

async fn put(store: &ObjectStore, key: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let chunks: Vec<Result<Bytes, std::io::Error>> = bytes
        .chunks(256 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    store
        .upload_stream(key, futures::stream::iter(chunks), None)
        .await
        .map_err(|e| anyhow!("writing {key}: {e}"))?;
    Ok(())
}

async fn get(store: &ObjectStore, key: &str) -> anyhow::Result<Vec<u8>> {
    let mut stream = store
        .get_stream(key)
        .await
        .map_err(|e| anyhow!("reading {key}: {e}"))?;
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.map_err(|e| anyhow!("reading {key}: {e}"))?);
    }
    Ok(bytes)
}
