//! Declaring the contract's topology on RabbitMQ: exchanges, queues and bindings, from the
//! names in [`proto_events::topology`]. Idempotent, so every process declares it at start:
//! each consumer's queue is bound to the routing keys it subscribes to and unbound from the
//! others, so a subscription dropped in a new version also leaves existing deployments.

use std::time::Duration;

use lapin::{
    Channel, Connection, ExchangeKind,
    options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions},
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

/// What the bus declares when it connects: everything on `connection`'s `channel`, then the
/// removal of the classic retry queues earlier versions declared.
///
/// Those lived each on the one node that declared it first: while that node was down
/// RabbitMQ refused to declare them (`NOT_FOUND - home node ... is down`) and a transient
/// failure could not be parked. The retry queues are quorum queues now, replicated like the
/// work queues; a former classic one is deleted only when empty (messages still waiting in
/// it dead-letter back to their work queue as before), each on a channel of its own, since
/// a refusal (not empty yet, its node down) closes the channel it happened on and is
/// retried at the next connect.
pub(crate) async fn declare_on_connect(
    topology: &Topology,
    connection: &Connection,
    channel: &Channel,
) -> lapin::Result<()> {
    declare(topology, channel).await?;
    for consumer in Consumer::ALL {
        for &delay in topology.retry_delays() {
            let former = topology.former_classic_retry_queue(consumer, delay);
            let own = connection.create_channel().await?;
            let removed = own
                .queue_delete(
                    ShortString::from(former.as_str()),
                    QueueDeleteOptions {
                        if_empty: true,
                        ..Default::default()
                    },
                )
                .await;
            match removed {
                Ok(_) => {
                    let _ = own.close(200, "done".into()).await;
                }
                Err(error) if connection.status().connected() => {
                    tracing::info!(queue = %former, %error, "a former classic retry queue stays until it is empty");
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

/// One retry queue: it holds a message for its delay (with the per-message expiration that
/// carries each retry's jitter), then dead-letters it back to the work queue. A quorum
/// queue, so it survives the loss of a node like the work queues do, with at-least-once
/// dead-lettering (RabbitMQ 3.10+; it requires `reject-publish` overflow), so a message
/// moving back to its work queue is not dropped if that queue cannot take it at once.
async fn declare_retry_queue(
    topology: &Topology,
    channel: &Channel,
    consumer: Consumer,
    delay: Duration,
) -> lapin::Result<()> {
    let mut retry_args = FieldTable::default();
    retry_args.insert("x-queue-type".into(), long_string("quorum"));
    retry_args.insert(
        "x-message-ttl".into(),
        AMQPValue::LongLongInt(Topology::retry_queue_ttl(delay).as_millis() as i64),
    );
    retry_args.insert("x-dead-letter-exchange".into(), long_string(""));
    retry_args.insert(
        "x-dead-letter-routing-key".into(),
        long_string(&topology.queue(consumer)),
    );
    retry_args.insert(
        "x-dead-letter-strategy".into(),
        long_string("at-least-once"),
    );
    retry_args.insert("x-overflow".into(), long_string("reject-publish"));
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
