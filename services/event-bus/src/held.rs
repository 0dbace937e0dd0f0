//! Retries held by the consumer: a delivery whose handler failed transiently stays unacked
//! for its delay (a timer in a task of its own, so the consumer's other deliveries go on),
//! then a copy with the next attempt number is published to the consumer's own work queue,
//! confirmed, and only then is the original acked ([`EventBus::send_back`]).
//!
//! Why not a broker-side delay (a retry queue with a TTL dead-lettering back, as before): on
//! RabbitMQ 3.10.8 a quorum queue's at-least-once dead-lettering stops moving expired
//! messages after its leader is killed, and they never return (docs/reliability.md, "The
//! cluster run"); a classic queue is lost with its node. Held by the consumer, the delay
//! needs nothing of the broker but the work queue: a consumer killed during the delay (or
//! its connection or node) leaves the delivery unacked, so the broker delivers it again.
//!
//! On shutdown, and when a session of consuming ends, every held retry is sent back at once
//! instead of waiting out its delay ([`Held::release_all`]).
//!
//! A held delivery occupies a prefetch slot (`broker.prefetch`, or the batch consumer's
//! larger count) for its delay. That is deliberate: when a dependency is down and every
//! message fails, a consumer holds at most `prefetch` of them and takes no more from the
//! queue until a delay ends — backpressure instead of cycling the whole queue through retry
//! copies, and the rest stay in the work queue for the other replicas or for later. It
//! cannot wedge a consumer: every hold ends after its delay (at most the longest configured
//! one, +20 %), which frees the slot, so a message that must wait for another one behind it
//! in the queue (a file's event before its order's) lets that one in within a delay. The
//! price is throughput while many retries are held (at most `prefetch` per longest delay);
//! `bus_retries_held` shows how many are.
//!
//! Redelivered originals count towards the work queue's `x-delivery-limit`
//! ([`proto_events::topology::DELIVERY_LIMIT`]) as they always did; a copy sent back is a new
//! message, counted from zero.

use std::sync::Arc;
use std::time::Duration;

use lapin::message::Delivery;
use proto_events::topology::Consumer;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::{EventBus, metrics};

/// The retries one session of consuming (one channel) holds.
pub(crate) struct Held {
    bus: Arc<EventBus>,
    consumer: Consumer,
    /// Cancelled on shutdown or when the session ends: every held retry is sent back now.
    hurry: CancellationToken,
    tasks: TaskTracker,
}

impl Held {
    pub(crate) fn new(
        bus: Arc<EventBus>,
        consumer: Consumer,
        shutdown: &CancellationToken,
    ) -> Held {
        Held {
            bus,
            consumer,
            hurry: shutdown.child_token(),
            tasks: TaskTracker::new(),
        }
    }

    /// Holds `delivery` (attempt `attempt` failed) for `delay`, then sends it back.
    pub(crate) fn hold(&self, delivery: Delivery, attempt: u32, delay: Duration) {
        let (bus, consumer, hurry) = (self.bus.clone(), self.consumer, self.hurry.clone());
        let counted = HeldCount::new(consumer);
        self.tasks.spawn(
            async move {
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = hurry.cancelled() => {}
                }
                bus.send_back(consumer, delivery, attempt).await;
                drop(counted);
            }
            .instrument(tracing::Span::current()),
        );
    }

    /// Sends every held retry back now and waits until each is settled.
    pub(crate) async fn release_all(&self) {
        self.hurry.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }
}

/// One held retry in `bus_retries_held`, for as long as it lives.
struct HeldCount(Consumer);

impl HeldCount {
    fn new(consumer: Consumer) -> HeldCount {
        metrics::retries_held(consumer, 1.0);
        HeldCount(consumer)
    }
}

impl Drop for HeldCount {
    fn drop(&mut self) {
        metrics::retries_held(self.0, -1.0);
    }
}
