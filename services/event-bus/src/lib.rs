//! The event bus: the narrow interface services use to talk through RabbitMQ. The contract
//! (events, envelope, the names of exchanges and queues) is `proto-events`; this crate is
//! the transport that carries it, and nothing outside it speaks AMQP except tests.
//!
//! - [`EventBus::publish`] / [`EventBus::publish_all`]: persistent, mandatory, confirmed.
//!   `Ok` means the broker has the event in a queue; nothing less is reported as success.
//! - [`EventBus::consume`]: manual acks after the handler's work is done; a transient failure
//!   is held unacked by the consumer for a delay with backoff and jitter, then sent back to
//!   the work queue; poison and exhausted messages go to the service's dead-letter queue with
//!   the reason in headers.
//! - [`EventBus::consume_batches`]: the same, several deliveries handed over at once (one
//!   transaction for many events), each settled on its own after the handler returned.
//! - The connection heals itself: after a broker restart the next publish reconnects and
//!   consumers resume with backoff.

mod batch;
mod consumer;
pub mod dead_letters;
mod declare;
mod held;
pub mod live;
pub mod metrics;
mod publisher;
mod trace_context;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;

use bureau_kit::retry::Backoff;
use lapin::{Channel, Connection, ConnectionProperties};
use proto_events::topology::Topology;
use tokio::sync::Mutex;

pub use batch::{BatchHandler, Batching};
pub use consumer::{EventHandler, HandlerError};
pub use declare::{Retirement, declare};
pub use publisher::PublishError;

/// Header names the bus sets on retried and dead-lettered messages.
pub mod headers {
    /// 1 on first delivery, then counts each retry.
    pub const ATTEMPT: &str = "x-bureau-attempt";
    /// Why the message was dead-lettered.
    pub const ERROR: &str = "x-bureau-error";
    /// Which consumer gave up on it.
    pub const CONSUMER: &str = "x-bureau-consumer";
    pub const FAILED_AT: &str = "x-bureau-failed-at";
    /// The routing key the message had when first published.
    pub const ROUTING_KEY: &str = "x-bureau-routing-key";
}

#[derive(Debug, Clone)]
pub struct BusConfig {
    /// The broker's AMQP URL, or the URLs of a cluster's nodes separated by commas: the bus
    /// connects to the first that answers and, when its connection is lost, moves on to
    /// the next live one by itself ([`BusConfig::addresses`]).
    pub url: String,
    pub namespace: String,
    pub prefetch: u16,
    pub max_attempts: u32,
    pub retry_delays: Vec<Duration>,
    /// Shown in the broker's connection list.
    pub connection_name: String,
    /// Queues unused this long are deleted by the broker: for throwaway namespaces only
    /// (see [`Topology::with_idle_expiry`]).
    pub idle_queue_expiry: Option<Duration>,
}

impl BusConfig {
    /// The broker addresses `url` lists, in the order they are tried.
    pub fn addresses(&self) -> Vec<&str> {
        self.url
            .split(',')
            .map(str::trim)
            .filter(|address| !address.is_empty())
            .collect()
    }
}

/// Where an AMQP URL points, without its credentials (for logs).
fn node_of(address: &str) -> &str {
    let rest = address.split_once("://").map_or(address, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    rest.split('/').next().unwrap_or(rest)
}

/// How long one node may take to accept a connection before the next one is tried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

struct Live {
    /// Shared with the [`Live`] that replaces this one when only its channel is renewed.
    connection: Arc<Connection>,
    /// The publishing channel, in confirm mode. Shared by all publishers of this process:
    /// confirms for concurrent publishes are pipelined on it.
    publish: Channel,
}

/// One process's connection to the broker.
pub struct EventBus {
    config: BusConfig,
    topology: Topology,
    live: Mutex<Option<Arc<Live>>>,
    /// When the newest event handed to a consumer of this process was published (Unix
    /// milliseconds, 0 before the first): the bound behind `bus_queue_oldest_message_age_seconds`.
    newest_delivered_ms: AtomicI64,
    /// The address that answered last: tried first next time.
    preferred: AtomicUsize,
}

impl EventBus {
    /// Creates the bus without connecting; the first use connects. Call [`EventBus::connect`]
    /// at start-up to fail fast or declare the topology early.
    pub fn new(config: BusConfig) -> Arc<EventBus> {
        let topology = Topology::new(config.namespace.clone(), config.retry_delays.clone())
            .with_idle_expiry(config.idle_queue_expiry);
        metrics::register_publisher();
        Arc::new(EventBus {
            config,
            topology,
            live: Mutex::new(None),
            newest_delivered_ms: AtomicI64::new(0),
            preferred: AtomicUsize::new(0),
        })
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    pub fn config(&self) -> &BusConfig {
        &self.config
    }

    /// Connects (if not connected) and declares the topology.
    pub async fn connect(&self) -> lapin::Result<()> {
        self.live().await.map(|_| ())
    }

    /// Removes the empty retry queues of earlier versions and says what it found for each:
    /// an operator's one-off step after upgrading (`bureau bus retire-retry-queues`).
    pub async fn retire_former_retry_queues(
        &self,
    ) -> lapin::Result<Vec<(proto_events::topology::FormerRetryQueue, Retirement)>> {
        let live = self.live().await?;
        declare::retire_former_retry_queues(&self.topology, &live.connection).await
    }

    /// Whether the last known connection is up. Used by `/readyz`.
    pub async fn is_connected(&self) -> bool {
        match self.live.lock().await.as_ref() {
            Some(live) => live.connection.status().connected() && live.publish.status().connected(),
            None => false,
        }
    }

    /// Opens a fresh channel on the shared connection (consumers and tools use their own).
    pub async fn open_channel(&self) -> lapin::Result<Channel> {
        let live = self.live().await?;
        match live.connection.create_channel().await {
            Ok(channel) => Ok(channel),
            Err(error) => {
                self.forget(&live).await;
                Err(error)
            }
        }
    }

    async fn live(&self) -> lapin::Result<Arc<Live>> {
        let mut guard = self.live.lock().await;
        if let Some(live) = guard.as_ref()
            && live.connection.status().connected()
            && live.publish.status().connected()
        {
            return Ok(live.clone());
        }
        let live = Arc::new(self.connect_to_a_node().await?);
        *guard = Some(live.clone());
        Ok(live)
    }

    /// Connects to the broker's nodes in turn, from the one that answered last, until one
    /// accepts and has the topology declared; the last node's error if none does.
    async fn connect_to_a_node(&self) -> lapin::Result<Live> {
        let addresses = self.config.addresses();
        if addresses.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "broker.url lists no address",
            )
            .into());
        }
        let first = self.preferred.load(Ordering::Relaxed) % addresses.len();
        let mut last_error = None;
        for offset in 0..addresses.len() {
            let index = (first + offset) % addresses.len();
            let address = addresses[index];
            let attempt = tokio::time::timeout(CONNECT_TIMEOUT, self.open_live(address)).await;
            match attempt.unwrap_or_else(|_| {
                Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no answer within {CONNECT_TIMEOUT:?}"),
                )
                .into())
            }) {
                Ok(live) => {
                    self.preferred.store(index, Ordering::Relaxed);
                    tracing::info!(namespace = %self.config.namespace, node = node_of(address), "connected to the broker");
                    return Ok(live);
                }
                Err(error) => {
                    if addresses.len() > 1 {
                        tracing::warn!(node = node_of(address), %error, "broker node unavailable; trying the next");
                    }
                    last_error = Some(error);
                }
            }
        }
        Err(last_error.expect("at least one address was tried"))
    }

    async fn open_live(&self, address: &str) -> lapin::Result<Live> {
        let properties = ConnectionProperties::default()
            .with_connection_name(self.config.connection_name.clone().into());
        let connection = Connection::connect(address, properties).await?;
        let publish = connection.create_channel().await?;
        publish.confirm_select(Default::default()).await?;
        declare::declare(&self.topology, &publish).await?;
        Ok(Live {
            connection: Arc::new(connection),
            publish,
        })
    }

    /// Drops a connection that failed, so the next use reconnects.
    async fn forget(&self, failed: &Arc<Live>) {
        let mut guard = self.live.lock().await;
        if guard.as_ref().is_some_and(|live| Arc::ptr_eq(live, failed)) {
            *guard = None;
        }
    }

    /// Closes the connection (after consumers stopped), so the broker sees a clean goodbye.
    pub async fn close(&self) {
        if let Some(live) = self.live.lock().await.take() {
            let _ = live.connection.close(200, "shutdown".into()).await;
        }
    }
}

/// Pauses between reconnections: 200 ms doubling to 5 s, each drawn from [pause, 2 × pause).
pub(crate) const RECONNECT: Backoff =
    Backoff::new(Duration::from_millis(200), Duration::from_secs(5)).with_jitter();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_of_nodes_is_read_from_the_url_and_logged_without_credentials() {
        let config = BusConfig {
            url: "amqp://u:p@a:5672/%2f, amqp://u:p@b:5673/%2f,".into(),
            namespace: "n".into(),
            prefetch: 1,
            max_attempts: 1,
            retry_delays: vec![],
            connection_name: "t".into(),
            idle_queue_expiry: None,
        };
        assert_eq!(
            config.addresses(),
            vec!["amqp://u:p@a:5672/%2f", "amqp://u:p@b:5673/%2f"]
        );
        assert_eq!(node_of(config.addresses()[1]), "b:5673");
        assert_eq!(node_of("amqp://localhost"), "localhost");
    }
}
