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

/// What the bus declares when it connects: everything on `connection`'s `channel`, then the
/// removal of the retry queues earlier versions declared.
///
/// Those held a failed message for its delay (a TTL, then dead-lettered back to the work
/// queue): first classic queues, which lived on the one node that declared them first
/// (unusable while it was down), then quorum queues with at-least-once dead-lettering, which
/// on RabbitMQ 3.10.8 stop moving expired messages back after their leader is killed
/// (docs/reliability.md, "The cluster run"). The consumer holds a retry's delay itself now
/// ([`crate::consumer`]), so no retry queue is declared; a former one is deleted only when
/// empty (messages still waiting in it dead-letter back to their work queue as before),
/// each on a channel of its own, since a refusal (not empty yet, its node down, the queue
/// already gone) closes the channel it happened on; it is tried again at the next connect.
pub(crate) async fn declare_on_connect(
    topology: &Topology,
    connection: &Connection,
    channel: &Channel,
) -> lapin::Result<()> {
    declare(topology, channel).await?;
    for consumer in Consumer::ALL {
        for former in topology.former_retry_queues(consumer) {
            let own = connection.create_channel().await?;
            let removed = remove_if_empty(&own, &former).await;
            match removed {
                Ok(true) => {
                    tracing::info!(queue = %former.name, "removed a former retry queue, empty");
                    let _ = own.close(200, "done".into()).await;
                }
                Ok(false) => {
                    tracing::info!(queue = %former.name, "a former retry queue stays until it is empty");
                    let _ = own.close(200, "done".into()).await;
                }
                Err(_) if connection.status().connected() => {
                    // Not there (the usual case), not empty, or its node is down.
                }
                Err(error) => return Err(error),
            }
        }
    }
    Ok(())
}

/// Deletes a former retry queue if it holds nothing; whether it did.
///
/// A classic queue is deleted with `if-empty` (the broker refuses if a message waits). A
/// quorum queue cannot be: RabbitMQ answers `if-empty` on a quorum queue with
/// `NOT_IMPLEMENTED`, which closes the whole connection (3.10.8,
/// `rabbit_quorum_queue:delete/4`). So it is looked at first (a passive declare, which fails
/// on this channel if the queue is gone) and deleted only if it has no message ready and no
/// consumer. What that cannot see: messages that expired and wait for the at-least-once
/// dead-letter worker (the 3.10.8 stall: they are stranded there anyway) and a retry an
/// older replica parks in the instant between the look and the delete, during a rolling
/// upgrade (docs/reliability.md).
async fn remove_if_empty(channel: &Channel, former: &FormerRetryQueue) -> lapin::Result<bool> {
    let name = ShortString::from(former.name.as_str());
    if !former.quorum {
        channel
            .queue_delete(
                name,
                QueueDeleteOptions {
                    if_empty: true,
                    ..Default::default()
                },
            )
            .await?;
        return Ok(true);
    }
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
        return Ok(false);
    }
    let deleted = channel
        .queue_delete(name, QueueDeleteOptions::default())
        .await?;
    if deleted > 0 {
        tracing::error!(queue = %former.name, messages = deleted, "a former retry queue took messages between its check and its deletion; they are gone");
    }
    Ok(true)
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
