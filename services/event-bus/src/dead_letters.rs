//! Inspecting, replaying and purging a service's dead-letter queue (`bureau dlq ...`).
//!
//! Listing reads messages without acking them and closes the channel, which returns them
//! all to the queue: looking never removes anything.

use lapin::{
    options::{BasicAckOptions, BasicGetOptions, QueuePurgeOptions},
    types::{AMQPValue, FieldTable},
};

use proto_events::topology::Consumer;

use crate::consumer::{header_text, header_u32};
use crate::{EventBus, PublishError, headers};

/// One dead-lettered message as an operator sees it.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub message_id: Option<String>,
    pub event_type: Option<String>,
    pub correlation_id: Option<String>,
    pub error: Option<String>,
    pub attempts: Option<u32>,
    pub failed_at: Option<String>,
    pub body: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error("broker: {0}")]
    Broker(#[from] lapin::Error),
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// Up to `limit` dead letters of `consumer`, oldest first, left in place.
pub async fn list(
    bus: &EventBus,
    consumer: Consumer,
    limit: usize,
) -> Result<Vec<DeadLetter>, DeadLetterError> {
    let channel = bus.open_channel().await?;
    let queue = bus.topology().dead_letter_queue(consumer);
    let mut letters = Vec::new();
    while letters.len() < limit {
        let Some(message) = channel
            .basic_get(queue.as_str().into(), BasicGetOptions::default())
            .await?
        else {
            break;
        };
        letters.push(describe(&message.delivery));
    }
    // Closing without acks hands every message back to the queue.
    channel.close(200, "listed".into()).await?;
    Ok(letters)
}

/// Moves dead letters back to the consumer's queue for another try, all of them or only
/// those whose message id is in `only`. Each is re-published (confirmed) before it is
/// removed from the dead-letter queue. Returns how many were replayed.
pub async fn replay(
    bus: &EventBus,
    consumer: Consumer,
    only: Option<&[String]>,
) -> Result<usize, DeadLetterError> {
    let channel = bus.open_channel().await?;
    let queue = bus.topology().dead_letter_queue(consumer);
    let target = bus.topology().queue(consumer);
    let mut replayed = 0;
    // Only the letters there now: a replayed message that fails again comes back to this
    // queue at once, and must wait for the operator rather than loop.
    let mut remaining: Option<u32> = None;
    while remaining != Some(0) {
        let Some(message) = channel
            .basic_get(queue.as_str().into(), BasicGetOptions::default())
            .await?
        else {
            break;
        };
        let left = *remaining.get_or_insert(message.message_count + 1) - 1;
        remaining = Some(left);
        let delivery = message.delivery;
        let letter = describe(&delivery);
        let wanted = match only {
            None => true,
            Some(ids) => letter
                .message_id
                .as_ref()
                .is_some_and(|id| ids.contains(id)),
        };
        if wanted {
            // A fresh start: attempts from 1, the old failure forgotten.
            let mut table = FieldTable::default();
            for (key, value) in delivery.properties.headers().iter().flat_map(|h| h.inner()) {
                if key.as_str() != headers::ERROR && key.as_str() != headers::FAILED_AT {
                    table.insert(key.clone(), value.clone());
                }
            }
            table.insert(headers::ATTEMPT.into(), AMQPValue::LongLongInt(1));
            let properties = delivery.properties.clone().with_headers(table);
            bus.publish_raw("", &target, &delivery.data, properties)
                .await?;
            delivery.ack(BasicAckOptions::default()).await?;
            replayed += 1;
        }
    }
    channel.close(200, "replayed".into()).await?;
    Ok(replayed)
}

/// Deletes every dead letter of `consumer`; returns how many there were.
pub async fn purge(bus: &EventBus, consumer: Consumer) -> Result<u32, DeadLetterError> {
    let channel = bus.open_channel().await?;
    let count = channel
        .queue_purge(
            bus.topology().dead_letter_queue(consumer).into(),
            QueuePurgeOptions::default(),
        )
        .await?;
    channel.close(200, "purged".into()).await?;
    Ok(count)
}

fn describe(delivery: &lapin::message::Delivery) -> DeadLetter {
    let properties = &delivery.properties;
    DeadLetter {
        message_id: properties.message_id().as_ref().map(|s| s.to_string()),
        event_type: properties.kind().as_ref().map(|s| s.to_string()),
        correlation_id: properties.correlation_id().as_ref().map(|s| s.to_string()),
        error: header_text(properties, headers::ERROR),
        attempts: header_u32(properties, headers::ATTEMPT),
        failed_at: header_text(properties, headers::FAILED_AT),
        body: delivery.data.clone(),
    }
}
