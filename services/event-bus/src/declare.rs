//! Declaring the contract's topology on RabbitMQ: exchanges, queues and bindings, from the
//! names in [`proto_events::topology`]. Idempotent, so every process declares it at start:
//! each consumer's queue is bound to the routing keys it subscribes to and unbound from the
//! others, so a subscription dropped in a new version also leaves existing deployments.

use lapin::{
    Channel, Connection, ExchangeKind,
    options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions},
    types::{AMQPValue, FieldTable, ShortString},
};
use proto_events::EventKind;
use proto_events::topology::{Consumer, DELIVERY_LIMIT, FormerRetryQueue, Topology};

/// Declares exchanges, queues and bindings. Safe to call any number of times, from any
/// number of processes.
pub async fn declare(topology: &Topology, channel: &Channel) -> lapin::Result<()> {
    declare_replicated(topology, channel).await
}

/// What became of a former retry queue when [`crate::EventBus::retire_former_retry_queues`]
/// looked at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retirement {
    /// It was not there (a deployment that never had it, or it is already gone).
    Absent,
    /// It was empty and is deleted.
    Removed,
    /// It still holds messages (they dead-letter back to their work queue as their delay
    /// ends) or has a consumer; it is left for a later run.
    Kept { messages: u32, consumers: u32 },
    /// The broker refused to say (its node is down, say); nothing was changed.
    Unknown(String),
}

/// Removes the retry queues earlier versions declared, those that are empty.
///
/// Those held a failed message for its delay (a TTL, then dead-lettered back to the work
/// queue): first classic queues, which lived on the one node that declared them first
/// (unusable while it was down), then quorum queues with at-least-once dead-lettering, which
/// on RabbitMQ 3.10.8 stop moving expired messages back after their leader is killed
/// (docs/reliability.md, "The cluster run"). The consumer holds a retry's delay itself now
/// ([`crate::consumer`]), so no retry queue is declared. Removing the former ones is an
/// operator's one-off step after upgrading (`bureau bus retire-retry-queues`), not something
/// every connect does: asking whether a quorum queue exists is a passive declare that the
/// broker answers, when it does not, by closing the channel, which the client logs as an
/// error, nine times per connect of every process. Each queue is looked at on a channel of
/// its own for that reason.
pub(crate) async fn retire_former_retry_queues(
    topology: &Topology,
    connection: &Connection,
) -> lapin::Result<Vec<(FormerRetryQueue, Retirement)>> {
    let mut outcomes = Vec::new();
    for consumer in Consumer::ALL {
        for former in topology.former_retry_queues(consumer) {
            let own = connection.create_channel().await?;
            let outcome = match remove_if_empty(&own, &former).await {
                Ok(outcome) => {
                    let _ = own.close(200, "done".into()).await;
                    outcome
                }
                Err(error) if connection.status().connected() => {
                    if is_not_found(&error) {
                        Retirement::Absent
                    } else {
                        Retirement::Unknown(error.to_string())
                    }
                }
                Err(error) => return Err(error),
            };
            match &outcome {
                Retirement::Removed => {
                    tracing::info!(queue = %former.name, "removed a former retry queue, empty")
                }
                Retirement::Kept { messages, .. } => {
                    tracing::info!(queue = %former.name, messages, "a former retry queue stays until it is empty")
                }
                Retirement::Absent | Retirement::Unknown(_) => {}
            }
            outcomes.push((former, outcome));
        }
    }
    Ok(outcomes)
}

/// Whether the broker answered "no such queue".
fn is_not_found(error: &lapin::Error) -> bool {
    use lapin::protocol::{AMQPErrorKind, AMQPSoftError};
    matches!(error.kind(), lapin::ErrorKind::ProtocolError(amqp)
        if matches!(amqp.kind(), AMQPErrorKind::Soft(AMQPSoftError::NOTFOUND)))
}

/// Deletes a former retry queue if it holds nothing, and says what it found.
///
/// It is looked at first (a passive declare, which fails on this channel with `NOT_FOUND`
/// if the queue is gone) and deleted only if it has no message ready and no consumer. A
/// classic queue is then deleted with `if-empty`, so a message arriving in between keeps it.
/// A quorum queue cannot be: RabbitMQ answers `if-empty` on a quorum queue with
/// `NOT_IMPLEMENTED`, which closes the whole connection (3.10.8,
/// `rabbit_quorum_queue:delete/4`). What the look cannot see there: messages that expired
/// and wait for the at-least-once dead-letter worker (the 3.10.8 stall: they are stranded
/// anyway) and a retry an older replica parks in the instant between the look and the
/// delete, during a rolling upgrade (docs/reliability.md).
async fn remove_if_empty(
    channel: &Channel,
    former: &FormerRetryQueue,
) -> lapin::Result<Retirement> {
    let name = ShortString::from(former.name.as_str());
    let queue = channel
        .queue_declare(
            name.clone(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    if queue.message_count() > 0 || queue.consumer_count() > 0 {
        return Ok(Retirement::Kept {
            messages: queue.message_count(),
            consumers: queue.consumer_count(),
        });
    }
    let deleted = channel
        .queue_delete(
            name,
            QueueDeleteOptions {
                if_empty: !former.quorum,
                ..Default::default()
            },
        )
        .await?;
    if deleted > 0 {
        tracing::error!(queue = %former.name, messages = deleted, "a former retry queue took messages between its check and its deletion; they are gone");
    }
    Ok(Retirement::Removed)
}

/// The exchanges, the quorum queues (work and dead-letter) and their bindings.
async fn declare_replicated(topology: &Topology, channel: &Channel) -> lapin::Result<()> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..Default::default()
    };
    channel
        .exchange_declare(
            topology.events_exchange().into(),
            ExchangeKind::Topic,
            durable,
            FieldTable::default(),
        )
        .await?;
    channel
        .exchange_declare(
            topology.dead_letter_exchange().into(),
            ExchangeKind::Direct,
            durable,
            FieldTable::default(),
        )
        .await?;

    let queue_options = QueueDeclareOptions {
        durable: true,
        ..Default::default()
    };
    let expiring = |mut args: FieldTable| {
        if let Some(expiry) = topology.idle_expiry() {
            args.insert(
                "x-expires".into(),
                AMQPValue::LongLongInt(expiry.as_millis() as i64),
            );
        }
        args
    };
    for consumer in Consumer::ALL {
        let mut dead_letter_args = FieldTable::default();
        dead_letter_args.insert("x-queue-type".into(), long_string("quorum"));
        channel
            .queue_declare(
                topology.dead_letter_queue(consumer).into(),
                queue_options,
                expiring(dead_letter_args),
            )
            .await?;
        channel
            .queue_bind(
                topology.dead_letter_queue(consumer).into(),
                topology.dead_letter_exchange().into(),
                consumer.name().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;

        let mut main_args = FieldTable::default();
        main_args.insert("x-queue-type".into(), long_string("quorum"));
        main_args.insert(
            "x-dead-letter-exchange".into(),
            long_string(&topology.dead_letter_exchange()),
        );
        main_args.insert(
            "x-dead-letter-routing-key".into(),
            long_string(consumer.name()),
        );
        main_args.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongLongInt(DELIVERY_LIMIT),
        );
        channel
            .queue_declare(
                topology.queue(consumer).into(),
                queue_options,
                expiring(main_args),
            )
            .await?;
        for kind in EventKind::ALL {
            let (queue, exchange, key) = (
                topology.queue(consumer).into(),
                topology.events_exchange().into(),
                kind.routing_key().into(),
            );
            if consumer.subscriptions().contains(&kind) {
                channel
                    .queue_bind(
                        queue,
                        exchange,
                        key,
                        QueueBindOptions::default(),
                        FieldTable::default(),
                    )
                    .await?;
            } else {
                // A binding an older version made (the notifier once took `order.created`):
                // removed, so the queue holds only what its service handles. Unbinding what
                // is not bound is a no-op.
                channel
                    .queue_unbind(queue, exchange, key, FieldTable::default())
                    .await?;
            }
        }
    }
    Ok(())
}

fn long_string(value: &str) -> AMQPValue {
    AMQPValue::LongString(value.into())
}
