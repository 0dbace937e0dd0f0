//! The bus's Prometheus metrics, through the `metrics` facade (the service's recorder,
//! installed by `bureau-platform`, exports them):
//!
//! - `bus_events_published_total{event_type}`: events the broker confirmed;
//! - `bus_publish_failures_total{reason}`: publishes not confirmed (`unavailable`, `rejected`);
//! - `bus_publish_confirm_seconds`: from sending a batch to having all its confirms;
//! - `bus_events_consumed_total{consumer,event_type}`: deliveries taken from a queue;
//! - `bus_events_retried_total{consumer,event_type}` (a transient failure, to be retried
//!   after its delay), `bus_events_dead_lettered_total{..}`;
//! - `bus_retries_held{consumer}`: deliveries this process holds unacked while their retry
//!   delay runs (each takes a prefetch slot, see `held.rs`);
//! - `bus_event_handling_seconds{consumer,event_type}`: the handler's time per event;
//! - `bus_queue_messages{consumer,queue}` (`queue` is `work` or `dead_letter`): ready
//!   messages, read from the broker every few seconds by each consumer;
//! - `bus_queue_oldest_message_age_seconds{consumer}`: 0 when the work queue is empty, else
//!   the age of the newest message handed to this consumer — the messages still waiting
//!   were published after it, so this bounds the oldest waiting one's age from above.

use std::time::Duration;

use proto_events::topology::Consumer;

pub const PUBLISHED: &str = "bus_events_published_total";
pub const PUBLISH_FAILURES: &str = "bus_publish_failures_total";
pub const CONFIRM_SECONDS: &str = "bus_publish_confirm_seconds";
pub const CONSUMED: &str = "bus_events_consumed_total";
pub const RETRIED: &str = "bus_events_retried_total";
pub const DEAD_LETTERED: &str = "bus_events_dead_lettered_total";
pub const HANDLING_SECONDS: &str = "bus_event_handling_seconds";
pub const QUEUE_MESSAGES: &str = "bus_queue_messages";
pub const QUEUE_CONSUMERS: &str = "bus_queue_consumers";
pub const OLDEST_AGE: &str = "bus_queue_oldest_message_age_seconds";
pub const RETRIES_HELD: &str = "bus_retries_held";

/// Says what each metric is; the recorder calls it once when installed.
pub fn describe() {
    metrics::describe_counter!(PUBLISHED, "Events the broker confirmed, by type");
    metrics::describe_counter!(PUBLISH_FAILURES, "Publishes the broker did not confirm");
    metrics::describe_histogram!(
        CONFIRM_SECONDS,
        "Seconds from sending a batch of events to having all their confirms"
    );
    metrics::describe_counter!(CONSUMED, "Events taken from a queue, by consumer and type");
    metrics::describe_counter!(
        RETRIED,
        "Events whose handler failed transiently, to be retried after a delay"
    );
    metrics::describe_gauge!(
        RETRIES_HELD,
        "Deliveries held unacked by a consumer while their retry delay runs"
    );
    metrics::describe_counter!(DEAD_LETTERED, "Events moved to a dead-letter queue");
    metrics::describe_histogram!(HANDLING_SECONDS, "Seconds a handler spent on one event");
    metrics::describe_gauge!(
        QUEUE_MESSAGES,
        "Messages ready in a queue, read from the broker"
    );
    metrics::describe_gauge!(QUEUE_CONSUMERS, "Consumers attached to a queue");
    metrics::describe_gauge!(
        OLDEST_AGE,
        "Upper bound of the age of the oldest message waiting in the work queue"
    );
}

/// Makes a consumer's series exist at 0 before anything happens, so dashboards and alert
/// rules find them (`increase()` of a series born at 1 misses that first event).
pub(crate) fn register_consumer(consumer: Consumer) {
    for kind in consumer.subscriptions() {
        let labels = [
            ("consumer", consumer.name()),
            ("event_type", kind.routing_key()),
        ];
        metrics::counter!(CONSUMED, &labels).increment(0);
        metrics::counter!(RETRIED, &labels).increment(0);
        metrics::counter!(DEAD_LETTERED, &labels).increment(0);
    }
    metrics::gauge!(OLDEST_AGE, "consumer" => consumer.name()).set(0.0);
    metrics::gauge!(RETRIES_HELD, "consumer" => consumer.name()).increment(0.0);
}

/// Makes the publish failure series exist at 0 (called when a bus is made).
pub(crate) fn register_publisher() {
    for reason in ["unavailable", "rejected"] {
        metrics::counter!(PUBLISH_FAILURES, "reason" => reason).increment(0);
    }
}

pub(crate) fn published(event_type: &str, confirm: Duration) {
    metrics::counter!(PUBLISHED, "event_type" => event_type.to_owned()).increment(1);
    metrics::histogram!(CONFIRM_SECONDS).record(confirm.as_secs_f64());
}

pub(crate) fn publish_failed(reason: &'static str) {
    metrics::counter!(PUBLISH_FAILURES, "reason" => reason).increment(1);
}

pub(crate) fn consumed(consumer: Consumer, event_type: &str) {
    metrics::counter!(CONSUMED, "consumer" => consumer.name(), "event_type" => event_type.to_owned())
        .increment(1);
}

pub(crate) fn handled(consumer: Consumer, event_type: &str, took: Duration) {
    metrics::histogram!(HANDLING_SECONDS, "consumer" => consumer.name(), "event_type" => event_type.to_owned())
        .record(took.as_secs_f64());
}

pub(crate) fn retried(consumer: Consumer, event_type: &str) {
    metrics::counter!(RETRIED, "consumer" => consumer.name(), "event_type" => event_type.to_owned())
        .increment(1);
}

pub(crate) fn retries_held(consumer: Consumer, change: f64) {
    metrics::gauge!(RETRIES_HELD, "consumer" => consumer.name()).increment(change);
}

pub(crate) fn dead_lettered(consumer: Consumer, event_type: &str) {
    metrics::counter!(DEAD_LETTERED, "consumer" => consumer.name(), "event_type" => event_type.to_owned())
        .increment(1);
}

pub(crate) fn queue_sampled(
    consumer: Consumer,
    queue: &'static str,
    messages: u32,
    consumers: u32,
) {
    metrics::gauge!(QUEUE_MESSAGES, "consumer" => consumer.name(), "queue" => queue)
        .set(f64::from(messages));
    metrics::gauge!(QUEUE_CONSUMERS, "consumer" => consumer.name(), "queue" => queue)
        .set(f64::from(consumers));
}

pub(crate) fn oldest_age(consumer: Consumer, age: Duration) {
    metrics::gauge!(OLDEST_AGE, "consumer" => consumer.name()).set(age.as_secs_f64());
}
