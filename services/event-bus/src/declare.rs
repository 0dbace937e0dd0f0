//! Declaring the contract's topology on RabbitMQ: exchanges, queues and bindings, from the
//! names in [`proto_events::topology`]. Idempotent, so every process declares it at start:
//! each consumer's queue is bound to the routing keys it subscribes to and unbound from the
//! others, so a subscription dropped in a new version also leaves existing deployments.

use lapin::{
    Channel, ExchangeKind,
    options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable, ShortString},
};
use proto_events::EventKind;
use proto_events::topology::{Consumer, DELIVERY_LIMIT, Topology};

/// Declares exchanges, queues and bindings. Safe to call any number of times, from any
/// number of processes.
pub async fn declare(topology: &Topology, channel: &Channel) -> lapin::Result<()> {
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

        for &delay in topology.retry_delays() {
            // Classic durable queues: they hold a message only for its delay, and support
            // the per-message expiration that carries each retry's jitter.
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
            channel
                .queue_declare(
                    ShortString::from(topology.retry_queue(consumer, delay)),
                    queue_options,
                    expiring(retry_args),
                )
                .await?;
        }
    }
    Ok(())
}

fn long_string(value: &str) -> AMQPValue {
    AMQPValue::LongString(value.into())
}
