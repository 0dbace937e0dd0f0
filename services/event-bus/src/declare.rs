//! Declaring the contract's topology on RabbitMQ: exchanges, queues and bindings, from the
//! names in [`proto_events::topology`]. Idempotent, so every process declares it at start:
//! each consumer's queue is bound to the routing keys it subscribes to and unbound from the
//! others, so a subscription dropped in a new version also leaves existing deployments.

use std::time::Duration;

use lapin::{
    Channel, Connection, ExchangeKind,
    options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable, ShortString},
};
use proto_events::EventKind;
use proto_events::topology::{Consumer, DELIVERY_LIMIT, Topology};

/// Declares exchanges, queues and bindings. Safe to call any number of times, from any
/// number of processes.
pub async fn declare(topology: &Topology, channel: &Channel) -> lapin::Result<()> {
    declare_replicated(topology, channel).await?;
    for consumer in Consumer::ALL {
        for &delay in topology.retry_delays() {
            declare_retry_queue(topology, channel, consumer, delay).await?;
        }
    }
    Ok(())
}

/// What the bus declares when it connects: everything on `connection`'s `channel`, except
/// that a retry queue that cannot be declared does not stop it. The retry queues are
/// classic queues, each living on the one node that declared it first; while that node is
/// down RabbitMQ refuses to declare them (`NOT_FOUND - home node ... is down`), and the bus
/// must still reach the quorum queues through a live node. Each retry queue is declared on
/// a channel of its own (a refusal closes the channel it happened on).
pub(crate) async fn declare_on_connect(
    topology: &Topology,
    connection: &Connection,
    channel: &Channel,
) -> lapin::Result<()> {
    declare_replicated(topology, channel).await?;
    for consumer in Consumer::ALL {
        for &delay in topology.retry_delays() {
            let own = connection.create_channel().await?;
            match declare_retry_queue(topology, &own, consumer, delay).await {
                Ok(()) => {
                    let _ = own.close(200, "declared".into()).await;
                }
                Err(error) if connection.status().connected() => {
                    tracing::warn!(
                        queue = %topology.retry_queue(consumer, delay),
                        %error,
                        "a retry queue is unavailable (its node is down?); retries through it fail until it returns"
                    );
                }
                Err(error) => return Err(error),
            }
        }
    }
    Ok(())
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

/// One classic retry queue: it holds a message for its delay (with the per-message
/// expiration that carries each retry's jitter), then dead-letters it back to the work queue.
async fn declare_retry_queue(
    topology: &Topology,
    channel: &Channel,
    consumer: Consumer,
    delay: Duration,
) -> lapin::Result<()> {
    let mut retry_args = FieldTable::default();
    retry_args.insert(
        "x-message-ttl".into(),
        AMQPValue::LongLongInt(Topology::retry_queue_ttl(delay).as_millis() as i64),
    );
    retry_args.insert("x-dead-letter-exchange".into(), long_string(""));
    retry_args.insert(
        "x-dead-letter-routing-key".into(),
        long_string(&topology.queue(consumer)),
    );
    if let Some(expiry) = topology.idle_expiry() {
        retry_args.insert(
            "x-expires".into(),
            AMQPValue::LongLongInt(expiry.as_millis() as i64),
        );
    }
    channel
        .queue_declare(
            ShortString::from(topology.retry_queue(consumer, delay)),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            retry_args,
        )
        .await
        .map(drop)
}

fn long_string(value: &str) -> AMQPValue {
    AMQPValue::LongString(value.into())
}
