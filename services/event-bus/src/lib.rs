//! The event bus: the narrow interface services use to talk through RabbitMQ. The contract
//! (events, envelope, the names of exchanges and queues) is `proto-events`; this crate is
//! the transport that carries it, and nothing outside it speaks AMQP except tests.
//!
//! - [`EventBus::publish`] / [`EventBus::publish_all`]: persistent, mandatory, confirmed.
//!   `Ok` means the broker has the event in a queue; nothing less is reported as success.
//! - [`EventBus::consume`]: manual acks after the handler's work is done; transient failures
//!   go to a delayed retry queue with backoff and jitter, poison and exhausted messages to
//!   the service's dead-letter queue with the reason in headers.
//! - The connection heals itself: after a broker restart the next publish reconnects and
//!   consumers resume with backoff.

mod consumer;
pub mod dead_letters;
mod declare;
pub mod live;
pub mod metrics;
mod publisher;

use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::Duration;

use bureau_kit::retry::Backoff;
use lapin::{Channel, Connection, ConnectionProperties};
use proto_events::topology::Topology;
use tokio::sync::Mutex;

pub use consumer::{EventHandler, HandlerError};
pub use declare::declare;
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

struct Live {
    connection: Connection,
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
        let properties = ConnectionProperties::default()
            .with_connection_name(self.config.connection_name.clone().into());
        let connection = Connection::connect(&self.config.url, properties).await?;
        let publish = connection.create_channel().await?;
        publish.confirm_select(Default::default()).await?;
        declare(&self.topology, &publish).await?;
        let live = Arc::new(Live {
            connection,
            publish,
        });
        *guard = Some(live.clone());
        tracing::info!(namespace = %self.config.namespace, "connected to the broker");
        Ok(live)
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
