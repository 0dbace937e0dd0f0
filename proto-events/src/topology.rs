//! The RabbitMQ topology, declared idempotently from this one place.
//!
//! ```text
//!  publishers ──▶ {ns}.events (topic) ──▶ {ns}.{consumer}            quorum, one per consuming service
//!                                              │  handler failed, transient
//!                                              │  ▲ handler failed, transient: the consumer holds the
//!                                              │  └ delivery unacked for the delay, then publishes a copy here
//!                                              │  attempts exhausted or poison
//!                                              └──▶ {ns}.dead-letter (direct) ──▶ {ns}.{consumer}.dead-letter
//! ```
//!
//! This module holds the names; the transport crate (`bureau-event-bus`) declares them.
//! Every service declares the whole topology at start, so an event published before its
//! consumer ever ran still has a queue to wait in. Replicas of one service share its queue
//! and compete for messages.

use std::time::Duration;

use crate::events::EventKind;
use crate::service::Service;

/// The services that consume events; each owns one queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Consumer {
    PersistenceWorker,
    StorageWorker,
    Notifier,
}

impl Consumer {
    pub const ALL: [Consumer; 3] = [
        Consumer::PersistenceWorker,
        Consumer::StorageWorker,
        Consumer::Notifier,
    ];

    /// The service that owns this queue.
    pub const fn service(self) -> Service {
        match self {
            Consumer::PersistenceWorker => Service::PersistenceWorker,
            Consumer::StorageWorker => Service::StorageWorker,
            Consumer::Notifier => Service::Notifier,
        }
    }

    /// The service's name, which names its queues.
    pub const fn name(self) -> &'static str {
        self.service().name()
    }

    pub fn parse(name: &str) -> Option<Consumer> {
        Consumer::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The events this consumer's queue receives: those its service handles, no more. The
    /// transport binds these routing keys and unbinds every other one, so a key dropped
    /// from this list stops arriving in queues declared by older versions too.
    pub fn subscriptions(self) -> &'static [EventKind] {
        match self {
            // The database records everything that happens to an order, and decides status
            // change requests; the outcomes (changed, refused) are its own events.
            Consumer::PersistenceWorker => &[
                EventKind::OrderCreated,
                EventKind::FileReceived,
                EventKind::FileStored,
                EventKind::FileRejected,
                EventKind::OrderStatusChangeRequested,
                EventKind::OrderMessagePosted,
                EventKind::PriceQuoted,
                EventKind::OrderCommentPosted,
                EventKind::OrderAssigned,
                EventKind::PaymentReceived,
                EventKind::PaymentRefunded,
                EventKind::BookingChanged,
            ],
            Consumer::StorageWorker => &[EventKind::FileReceived],
            // New orders are confirmed to the customer by the gateway that took them.
            Consumer::Notifier => &[
                EventKind::OrderStatusChanged,
                EventKind::OrderStatusChangeRefused,
                EventKind::FileStored,
                EventKind::FileRejected,
                EventKind::OrderMessagePosted,
                EventKind::PriceQuoted,
            ],
        }
    }
}

/// Retry delays vary by up to this fraction either way, so retries of many messages that
/// failed together do not hit a recovering dependency at the same instant.
pub const RETRY_JITTER: f64 = 0.2;

/// A quorum queue that dead-letters into the consumer's dead-letter queue if a message
/// keeps crashing its consumer (redelivered this many times without an ack).
pub const DELIVERY_LIMIT: i64 = 10;

/// A retry queue of an earlier version, by name and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormerRetryQueue {
    pub name: String,
    /// A quorum queue (`….quorum`), else a classic one.
    pub quorum: bool,
}

/// Names of every exchange and queue under one namespace.
#[derive(Debug, Clone)]
pub struct Topology {
    namespace: String,
    retry_delays: Vec<Duration>,
    idle_expiry: Option<Duration>,
}

impl Topology {
    pub fn new(namespace: impl Into<String>, retry_delays: Vec<Duration>) -> Self {
        let retry_delays = if retry_delays.is_empty() {
            vec![Duration::from_secs(1)]
        } else {
            retry_delays
        };
        Topology {
            namespace: namespace.into(),
            retry_delays,
            idle_expiry: None,
        }
    }

    /// Every queue of the namespace is deleted by the broker once it has been unused (no
    /// consumer, no declaration) for `expiry`: for throwaway namespaces such as a test's,
    /// so that one which was never cleaned up does not stay on the broker for ever.
    /// Production namespaces have none.
    pub fn with_idle_expiry(mut self, expiry: Option<Duration>) -> Self {
        self.idle_expiry = expiry;
        self
    }

    /// See [`Topology::with_idle_expiry`].
    pub fn idle_expiry(&self) -> Option<Duration> {
        self.idle_expiry
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn events_exchange(&self) -> String {
        format!("{}.events", self.namespace)
    }

    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dead-letter", self.namespace)
    }

    pub fn queue(&self, consumer: Consumer) -> String {
        format!("{}.{}", self.namespace, consumer.name())
    }

    pub fn dead_letter_queue(&self, consumer: Consumer) -> String {
        format!("{}.{}.dead-letter", self.namespace, consumer.name())
    }

    /// The retry delays, shortest first.
    pub fn retry_delays(&self) -> &[Duration] {
        &self.retry_delays
    }

    /// The delay before retry number `attempt` (1-based): the configured list, last repeating.
    pub fn retry_delay(&self, attempt: u32) -> Duration {
        let index = (attempt.max(1) as usize - 1).min(self.retry_delays.len() - 1);
        self.retry_delays[index]
    }

    /// The retry queues earlier versions parked a failed message in for a delay (a TTL, then
    /// dead-lettered back to the work queue): first classic queues
    /// (`{ns}.{consumer}.retry.{delay}ms`), then quorum queues (the same name plus `.quorum`).
    /// The consumer holds a retry's delay itself now; the bus deletes these once empty.
    pub fn former_retry_queues(&self, consumer: Consumer) -> Vec<FormerRetryQueue> {
        self.retry_delays
            .iter()
            .flat_map(|delay| {
                let classic = format!(
                    "{}.{}.retry.{}ms",
                    self.namespace,
                    consumer.name(),
                    delay.as_millis()
                );
                [
                    FormerRetryQueue {
                        name: format!("{classic}.quorum"),
                        quorum: true,
                    },
                    FormerRetryQueue {
                        name: classic,
                        quorum: false,
                    },
                ]
            })
            .collect()
    }

    /// The prefix of every retry queue name of `consumer`, former delays included.
    pub fn former_retry_queue_prefix(&self, consumer: Consumer) -> String {
        format!("{}.retry.", self.queue(consumer))
    }

    /// Every name this topology owns, for cleanup in tests.
    pub fn all_queues(&self) -> Vec<String> {
        let mut names = Vec::new();
        for consumer in Consumer::ALL {
            names.push(self.queue(consumer));
            names.push(self.dead_letter_queue(consumer));
        }
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_namespaced() {
        let t = Topology::new("t1", vec![Duration::from_secs(1), Duration::from_secs(5)]);
        assert_eq!(t.events_exchange(), "t1.events");
        assert_eq!(t.queue(Consumer::Notifier), "t1.notifier");
        assert_eq!(
            t.dead_letter_queue(Consumer::StorageWorker),
            "t1.storage-worker.dead-letter"
        );
    }

    #[test]
    fn former_retry_queues_are_the_classic_and_the_quorum_ones_of_every_delay() {
        let t = Topology::new(
            "t1",
            vec![Duration::from_millis(1500), Duration::from_secs(5)],
        );
        let former = |name: &str, quorum| FormerRetryQueue {
            name: name.into(),
            quorum,
        };
        assert_eq!(
            t.former_retry_queues(Consumer::PersistenceWorker),
            vec![
                former("t1.persistence-worker.retry.1500ms.quorum", true),
                former("t1.persistence-worker.retry.1500ms", false),
                former("t1.persistence-worker.retry.5000ms.quorum", true),
                former("t1.persistence-worker.retry.5000ms", false),
            ]
        );
        for queue in t.former_retry_queues(Consumer::Notifier) {
            assert!(
                queue
                    .name
                    .starts_with(&t.former_retry_queue_prefix(Consumer::Notifier))
            );
        }
        assert!(
            t.all_queues().iter().all(|q| !q.contains(".retry.")),
            "no retry queue is declared any more"
        );
    }

    #[test]
    fn retry_delays_repeat_the_last() {
        let t = Topology::new("t", vec![Duration::from_secs(1), Duration::from_secs(5)]);
        assert_eq!(t.retry_delay(1), Duration::from_secs(1));
        assert_eq!(t.retry_delay(2), Duration::from_secs(5));
        assert_eq!(t.retry_delay(9), Duration::from_secs(5));
    }

    #[test]
    fn every_event_but_its_own_outcomes_reaches_the_persistence_worker() {
        let own = [
            EventKind::OrderStatusChanged,
            EventKind::OrderStatusChangeRefused,
        ];
        for kind in EventKind::ALL {
            assert_eq!(
                Consumer::PersistenceWorker.subscriptions().contains(&kind),
                !own.contains(&kind),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn queues_are_named_after_their_service() {
        for consumer in Consumer::ALL {
            assert_eq!(consumer.name(), consumer.service().name());
            assert_eq!(Consumer::parse(consumer.name()), Some(consumer));
        }
    }

    #[test]
    fn only_outcomes_of_status_requests_reach_the_notifier() {
        let notified = Consumer::Notifier.subscriptions();
        assert!(notified.contains(&EventKind::OrderStatusChanged));
        assert!(notified.contains(&EventKind::OrderStatusChangeRefused));
        assert!(!notified.contains(&EventKind::OrderStatusChangeRequested));
    }

    #[test]
    fn the_notifier_does_not_receive_new_orders() {
        assert!(
            !Consumer::Notifier
                .subscriptions()
                .contains(&EventKind::OrderCreated)
        );
    }
}
