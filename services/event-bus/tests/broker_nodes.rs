//! A bus given several broker addresses connects to the first live one and, when that node
//! goes away, moves to another by itself: publishing and consuming go on. The "nodes" are
//! TCP relays in front of the one test RabbitMQ, so a node can be killed without touching
//! the shared broker (the three-node cluster run is in `tests/faults`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bureau_event_bus::{BusConfig, EventBus, EventHandler, HandlerError};
use proto_events::topology::Consumer;
use proto_events::{Envelope, FileRejected};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

fn broker_url() -> String {
    std::env::var("BUREAU__BROKER__URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// `url` with its host and port replaced by `addr`.
fn via(url: &str, addr: SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (credentials, host_and_path) = rest.rsplit_once('@').unwrap();
    let path = host_and_path.split_once('/').map_or("", |(_, path)| path);
    format!("{scheme}://{credentials}@{addr}/{path}")
}

fn upstream(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    host.split('/').next().unwrap().to_owned()
}

/// A relay standing in for one broker node; dropping it kills the node and every
/// connection through it.
struct Node {
    addr: SocketAddr,
    accepted: Arc<AtomicU32>,
    task: JoinHandle<()>,
}

impl Node {
    async fn start(upstream: String) -> Node {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicU32::new(0));
        let counter = accepted.clone();
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let upstream = upstream.clone();
                connections.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Node {
            addr,
            accepted,
            task,
        }
    }

    fn kill(&self) {
        self.task.abort();
    }
}

fn event() -> Envelope {
    let order_id = Uuid::now_v7();
    Envelope::new(
        "test",
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

struct Counting(AtomicU32);

impl EventHandler for Counting {
    async fn handle(&self, _event: &Envelope) -> Result<(), HandlerError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Waits for `probe` with the shared `eventually` (30 s), failing the test when it passes.
async fn until(what: &str, probe: impl AsyncFn() -> bool) {
    bureau_test_support::eventually(what, Duration::from_secs(30), || probe())
        .await
        .unwrap_or_else(|error| panic!("{error:#}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bus_moves_to_a_live_node_when_its_node_dies() {
    let url = broker_url();
    let (first, second) = (
        Node::start(upstream(&url)).await,
        Node::start(upstream(&url)).await,
    );
    // A node that is down from the start comes first in the list.
    let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_addr = dead.local_addr().unwrap();
    drop(dead);
    let bus = EventBus::new(BusConfig {
        url: [dead_addr, first.addr, second.addr]
            .map(|addr| via(&url, addr))
            .join(","),
        namespace: format!("nodes{}", &Uuid::new_v4().simple().to_string()[..12]),
        prefetch: 8,
        max_attempts: 3,
        retry_delays: vec![Duration::from_millis(100)],
        connection_name: "event-bus-nodes-test".into(),
        idle_queue_expiry: Some(Duration::from_secs(20 * 60)),
    });
    let handler = Arc::new(Counting(AtomicU32::new(0)));
    let stop = CancellationToken::new();
    let consumer =
        tokio::spawn(
            bus.clone()
                .consume(Consumer::Notifier, handler.clone(), 2, stop.clone()),
        );

    bus.publish(&event())
        .await
        .expect("published through the first live node");
    until("the first event handled", async || {
        handler.0.load(Ordering::SeqCst) == 1
    })
    .await;
    assert!(
        first.accepted.load(Ordering::SeqCst) > 0,
        "the first live node was used"
    );
    assert_eq!(
        second.accepted.load(Ordering::SeqCst),
        0,
        "the other stayed unused"
    );

    first.kill();
    // Publishing goes on through the second node (a publish caught mid-failure may report
    // the broker unavailable; the caller's retry then lands).
    until("a publish after the node died", async || {
        bus.publish(&event()).await.is_ok()
    })
    .await;
    assert!(
        second.accepted.load(Ordering::SeqCst) > 0,
        "moved to the live node"
    );
    // And the consumer moved too: the event published after the failure is handled.
    until("the consumer back on a live node", async || {
        handler.0.load(Ordering::SeqCst) >= 2
    })
    .await;

    stop.cancel();
    consumer.await.unwrap();
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
