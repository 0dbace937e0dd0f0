//! The event bus against the real RabbitMQ: confirmed publishing, the mandatory flag,
//! delayed retries held by the consumer, dead letters with reasons, replay. Each test uses
//! its own namespace.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bureau_event_bus::{
    BusConfig, EventBus, EventHandler, HandlerError, PublishError, Retirement, dead_letters,
};
use proto_events::topology::Consumer;
use proto_events::{CustomerRef, Envelope, EventKind, FileRejected, OrderCreated};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

fn bus(max_attempts: u32) -> Arc<EventBus> {
    bus_with_delays(
        max_attempts,
        vec![Duration::from_millis(100), Duration::from_millis(200)],
    )
}

fn bus_with_delays(max_attempts: u32, retry_delays: Vec<Duration>) -> Arc<EventBus> {
    EventBus::new(BusConfig {
        url: std::env::var("BUREAU__BROKER__URL")
            .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into()),
        namespace: format!("bus{}", &Uuid::new_v4().simple().to_string()[..12]),
        prefetch: 8,
        max_attempts,
        retry_delays,
        connection_name: "event-bus-test".into(),
        // The test's queues leave the broker by themselves should cleanup not run.
        idle_queue_expiry: Some(Duration::from_secs(20 * 60)),
    })
}

async fn cleanup(bus: &EventBus) {
    if let Ok(channel) = bus.open_channel().await {
        for queue in bus.topology().all_queues() {
            let _ = channel.queue_delete(queue.into(), Default::default()).await;
        }
        for exchange in [
            bus.topology().events_exchange(),
            bus.topology().dead_letter_exchange(),
        ] {
            let _ = channel
                .exchange_delete(exchange.into(), Default::default())
                .await;
        }
    }
    bus.close().await;
}

fn event() -> Envelope {
    let order_id = Uuid::now_v7();
    Envelope::new(
        "test",
        order_id,
        FileRejected {
            order_id,
            file_id: Uuid::now_v7(),
            original_name: "x".into(),
            code: "empty".into(),
            reason: "The file is empty".into(),
        },
    )
}

/// Fails the first `failures` times it sees each event, then succeeds; counts calls.
struct Flaky {
    failures: u32,
    permanent: bool,
    calls: AtomicU32,
    done: tokio::sync::Notify,
}

impl EventHandler for Flaky {
    async fn handle(&self, _event: &Envelope) -> Result<(), HandlerError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if self.permanent {
            return Err(HandlerError::permanent("this event is wrong for us"));
        }
        if call <= self.failures {
            return Err(HandlerError::transient(format!(
                "dependency down (call {call})"
            )));
        }
        self.done.notify_one();
        Ok(())
    }
}

fn flaky(failures: u32, permanent: bool) -> Arc<Flaky> {
    Arc::new(Flaky {
        failures,
        permanent,
        calls: AtomicU32::new(0),
        done: tokio::sync::Notify::new(),
    })
}

async fn wait_for<T, F: AsyncFnMut() -> Option<T>>(what: &str, mut probe: F) -> T {
    let until = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_confirmed_publish_reaches_every_subscribed_queue() {
    let bus = bus(3);
    bus.publish_all(&[event(), event(), event()]).await.unwrap();
    let channel = bus.open_channel().await.unwrap();
    for consumer in [Consumer::PersistenceWorker, Consumer::Notifier] {
        let queue = channel
            .queue_declare(
                bus.topology().queue(consumer).into(),
                lapin::options::QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                Default::default(),
            )
            .await
            .unwrap();
        assert_eq!(queue.message_count(), 3, "{}", consumer.name());
    }
    cleanup(&bus).await;
}

/// Messages waiting in `consumer`'s queue.
async fn waiting(bus: &EventBus, consumer: Consumer) -> u32 {
    let channel = bus.open_channel().await.unwrap();
    let queue = channel
        .queue_declare(
            bus.topology().queue(consumer).into(),
            lapin::options::QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            Default::default(),
        )
        .await
        .unwrap();
    queue.message_count()
}

#[tokio::test]
async fn each_queue_receives_only_what_its_service_handles_even_after_an_older_binding() {
    let bus = bus(3);
    bus.connect().await.unwrap();
    // What a notifier of an earlier version declared: `order.created` bound to its queue.
    let channel = bus.open_channel().await.unwrap();
    channel
        .queue_bind(
            bus.topology().queue(Consumer::Notifier).into(),
            bus.topology().events_exchange().into(),
            EventKind::OrderCreated.routing_key().into(),
            Default::default(),
            Default::default(),
        )
        .await
        .unwrap();
    bureau_event_bus::declare(bus.topology(), &channel)
        .await
        .unwrap();

    let order_id = Uuid::now_v7();
    let created = OrderCreated {
        order_id,
        order_number: "48213097".into(),
        customer: CustomerRef::Web {
            account_id: Uuid::now_v7(),
        },
        service_code: None,
        text: "a test order".into(),
        file_count: 0,
        created_at: chrono::Utc::now(),
        items: Vec::new(),
        total: None,
    };
    bus.publish(&Envelope::new("test", order_id, created))
        .await
        .unwrap();
    assert_eq!(waiting(&bus, Consumer::PersistenceWorker).await, 1);
    assert_eq!(waiting(&bus, Consumer::Notifier).await, 0);
    assert_eq!(waiting(&bus, Consumer::StorageWorker).await, 0);
    cleanup(&bus).await;
}

#[tokio::test]
async fn an_unroutable_message_is_an_error_not_a_silent_ack() {
    let bus = bus(3);
    bus.connect().await.unwrap();
    // Remove the only queues bound to this event type: nothing can take it now.
    let channel = bus.open_channel().await.unwrap();
    for consumer in [Consumer::PersistenceWorker, Consumer::Notifier] {
        channel
            .queue_delete(bus.topology().queue(consumer).into(), Default::default())
            .await
            .unwrap();
    }
    let error = bus.publish(&event()).await.unwrap_err();
    assert!(matches!(error, PublishError::Rejected { .. }), "{error}");
    cleanup(&bus).await;
}

/// RabbitMQ nacks a message one of its queues refused even when the others took it (as
/// when a classic queue's node is down in a cluster): a nack is an unknown outcome, never
/// "nobody has it", or a caller would discard files an order recorded elsewhere refers to.
#[tokio::test]
async fn a_nack_is_an_unknown_outcome_not_a_refusal() {
    let bus = bus(3);
    bus.connect().await.unwrap();
    let channel = bus.open_channel().await.unwrap();
    // A queue that refuses everything, bound beside the real ones.
    let refusing = format!("{}.refusing", bus.topology().events_exchange());
    let mut args = lapin::types::FieldTable::default();
    args.insert("x-max-length".into(), lapin::types::AMQPValue::LongInt(0));
    args.insert(
        "x-overflow".into(),
        lapin::types::AMQPValue::LongString("reject-publish".into()),
    );
    args.insert(
        "x-expires".into(),
        lapin::types::AMQPValue::LongInt(600_000),
    );
    channel
        .queue_declare(refusing.as_str().into(), Default::default(), args)
        .await
        .unwrap();
    let event = event();
    channel
        .queue_bind(
            refusing.as_str().into(),
            bus.topology().events_exchange().into(),
            event.event_type.as_str().into(),
            Default::default(),
            Default::default(),
        )
        .await
        .unwrap();

    let error = bus.publish(&event).await.unwrap_err();
    assert!(matches!(error, PublishError::Unavailable(_)), "{error}");
    // ...and yet the notifier's queue holds it.
    let got = channel
        .basic_get(
            bus.topology().queue(Consumer::Notifier).into(),
            lapin::options::BasicGetOptions { no_ack: true },
        )
        .await
        .unwrap()
        .expect("the real queue took the nacked message");
    assert_eq!(
        got.delivery
            .properties
            .message_id()
            .as_ref()
            .map(|id| id.to_string()),
        Some(event.event_id.to_string())
    );
    let _ = channel
        .queue_delete(refusing.as_str().into(), Default::default())
        .await;
    cleanup(&bus).await;
}

/// Whether `queue` exists (a passive declare on a channel of its own).
async fn exists(bus: &EventBus, queue: &str) -> bool {
    let channel = bus.open_channel().await.unwrap();
    channel
        .queue_declare(
            queue.into(),
            lapin::options::QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            Default::default(),
        )
        .await
        .is_ok()
}

/// Earlier versions parked retries in retry queues, first classic ones (one node's, unusable
/// while it is down), then quorum ones (whose at-least-once dead-lettering stalls on
/// RabbitMQ 3.10.8 after a leader is killed). The consumer holds the delay itself now: no
/// retry queue is declared, and the operator's one-off `bureau bus retire-retry-queues`
/// removes a former one, but only once empty: a message still waiting in it goes back to its
/// work queue. A connect does not look for them (each look at an absent quorum queue closes
/// a channel, which the client logs as an error).
#[tokio::test]
async fn former_retry_queues_are_retired_once_empty_and_none_is_declared() {
    let bus = bus(3);
    bus.connect().await.unwrap();
    let channel = bus.open_channel().await.unwrap();
    channel.confirm_select(Default::default()).await.unwrap();
    let former = |consumer, quorum: bool| {
        bus.topology()
            .former_retry_queues(consumer)
            .into_iter()
            .find(|q| q.quorum == quorum)
            .unwrap()
            .name
    };
    // As the versions before declared them (a quorum one: TTL, at-least-once dead-lettering
    // back to the work queue, which needs reject-publish).
    let declare_former = |consumer: Consumer, quorum: bool| {
        let (channel, queue) = (channel.clone(), former(consumer, quorum));
        let work_queue = bus.topology().queue(consumer);
        async move {
            let long = |v: &str| lapin::types::AMQPValue::LongString(v.into());
            let mut args = lapin::types::FieldTable::default();
            args.insert(
                "x-expires".into(),
                lapin::types::AMQPValue::LongInt(600_000),
            );
            if quorum {
                args.insert("x-queue-type".into(), long("quorum"));
                args.insert(
                    "x-message-ttl".into(),
                    lapin::types::AMQPValue::LongLongInt(600_000),
                );
                args.insert("x-dead-letter-exchange".into(), long(""));
                args.insert("x-dead-letter-routing-key".into(), long(&work_queue));
                args.insert("x-dead-letter-strategy".into(), long("at-least-once"));
                args.insert("x-overflow".into(), long("reject-publish"));
            }
            channel
                .queue_declare(
                    queue.as_str().into(),
                    lapin::options::QueueDeclareOptions {
                        durable: true,
                        ..Default::default()
                    },
                    args,
                )
                .await
                .unwrap();
            queue
        }
    };
    let empty_classic = declare_former(Consumer::Notifier, false).await;
    let empty_quorum = declare_former(Consumer::Notifier, true).await;
    let holding_classic = declare_former(Consumer::PersistenceWorker, false).await;
    let holding_quorum = declare_former(Consumer::PersistenceWorker, true).await;
    for queue in [&holding_classic, &holding_quorum] {
        let confirmation = channel
            .basic_publish(
                "".into(),
                queue.as_str().into(),
                Default::default(),
                b"waiting",
                Default::default(),
            )
            .await
            .unwrap()
            .await
            .unwrap();
        assert!(confirmation.is_ack(), "{queue} took the message");
    }

    // A new process connects: it leaves them alone.
    let again = EventBus::new(bus.config().clone());
    again.connect().await.unwrap();
    assert!(
        exists(&again, &empty_quorum).await,
        "a connect does not touch a former retry queue"
    );
    // The operator retires them.
    let outcomes: std::collections::HashMap<String, Retirement> = again
        .retire_former_retry_queues()
        .await
        .unwrap()
        .into_iter()
        .map(|(queue, outcome)| (queue.name, outcome))
        .collect();
    assert_eq!(outcomes[&empty_classic], Retirement::Removed);
    assert_eq!(outcomes[&empty_quorum], Retirement::Removed);
    assert!(
        matches!(
            outcomes[&holding_quorum],
            Retirement::Kept { messages: 1, .. }
        ),
        "{:?}",
        outcomes[&holding_quorum]
    );
    assert!(
        matches!(
            outcomes[&holding_classic],
            Retirement::Kept { messages: 1, .. }
        ),
        "{:?}",
        outcomes[&holding_classic]
    );
    assert_eq!(
        outcomes[&former(Consumer::StorageWorker, true)],
        Retirement::Absent
    );
    assert!(
        !exists(&again, &empty_classic).await,
        "the empty classic one is gone"
    );
    assert!(
        !exists(&again, &empty_quorum).await,
        "the empty quorum one is gone"
    );
    assert!(
        exists(&again, &holding_classic).await,
        "the classic one still holding a message stays"
    );
    assert!(
        exists(&again, &holding_quorum).await,
        "the quorum one still holding a message stays"
    );
    assert!(
        again.is_connected().await,
        "the connection survived the retirement (if-empty on a quorum queue would close it)"
    );
    for queue in [
        former(Consumer::StorageWorker, true),
        former(Consumer::StorageWorker, false),
    ] {
        assert!(!exists(&again, &queue).await, "{queue} was declared");
    }
    for queue in [&holding_classic, &holding_quorum] {
        let _ = channel
            .queue_delete(queue.as_str().into(), Default::default())
            .await;
    }
    again.close().await;
    cleanup(&bus).await;
}

/// Records the events it is given, in order; fails the first delivery of one of them.
struct FailsOnce {
    failing: Uuid,
    seen: std::sync::Mutex<Vec<Uuid>>,
}

impl EventHandler for FailsOnce {
    async fn handle(&self, event: &Envelope) -> Result<(), HandlerError> {
        let mut seen = self.seen.lock().unwrap();
        let first = !seen.contains(&event.event_id);
        seen.push(event.event_id);
        if first && event.event_id == self.failing {
            return Err(HandlerError::transient("not yet"));
        }
        Ok(())
    }
}

/// A retry's delay is held by the consumer without holding up its other deliveries: with
/// one delivery handled at a time, the next event is handled while the first one waits.
#[tokio::test]
async fn a_held_retry_does_not_hold_up_the_next_delivery() {
    let bus = bus_with_delays(5, vec![Duration::from_secs(3)]);
    let (first, second) = (event(), event());
    bus.publish_all(&[first.clone(), second.clone()])
        .await
        .unwrap();
    let handler = Arc::new(FailsOnce {
        failing: first.event_id,
        seen: Default::default(),
    });
    let stop = CancellationToken::new();
    let consuming = tokio::spawn(bus.clone().consume(
        Consumer::PersistenceWorker,
        handler.clone(),
        1,
        stop.clone(),
    ));
    let seen = wait_for("the first event retried", async || {
        let seen = handler.seen.lock().unwrap().clone();
        (seen.len() >= 3).then_some(seen)
    })
    .await;
    assert_eq!(
        seen,
        vec![first.event_id, second.event_id, first.event_id],
        "the second event was handled during the first one's delay"
    );
    stop.cancel();
    consuming.await.unwrap();
    assert_eq!(waiting(&bus, Consumer::PersistenceWorker).await, 0);
    cleanup(&bus).await;
}

/// On shutdown a held retry is not waited out: it goes back to the work queue at once, as
/// the next attempt, with the routing key it was published with.
#[tokio::test]
async fn a_shutdown_sends_held_retries_back_at_once() {
    let bus = bus_with_delays(5, vec![Duration::from_secs(600)]);
    let sent = event();
    bus.publish(&sent).await.unwrap();
    let failing = flaky(u32::MAX, false);
    let stop = CancellationToken::new();
    let consuming = tokio::spawn(bus.clone().consume(
        Consumer::PersistenceWorker,
        failing.clone(),
        1,
        stop.clone(),
    ));
    wait_for("the first attempt", async || {
        (failing.calls.load(Ordering::SeqCst) == 1).then_some(())
    })
    .await;
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(20), consuming)
        .await
        .expect("the consumer stopped without waiting out the 10-minute delay")
        .unwrap();
    let channel = bus.open_channel().await.unwrap();
    let back = wait_for("the retry back in the work queue", async || {
        channel
            .basic_get(
                bus.topology().queue(Consumer::PersistenceWorker).into(),
                lapin::options::BasicGetOptions { no_ack: true },
            )
            .await
            .unwrap()
    })
    .await;
    let headers = back
        .delivery
        .properties
        .headers()
        .clone()
        .unwrap_or_default();
    assert_eq!(
        headers.inner().get(bureau_event_bus::headers::ATTEMPT),
        Some(&lapin::types::AMQPValue::LongLongInt(2))
    );
    assert_eq!(
        headers.inner().get(bureau_event_bus::headers::ROUTING_KEY),
        Some(&lapin::types::AMQPValue::LongString(
            sent.event_type.as_str().into()
        ))
    );
    assert_eq!(failing.calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        waiting(&bus, Consumer::PersistenceWorker).await,
        0,
        "one copy only"
    );
    cleanup(&bus).await;
}

/// A consumer that loses its channel while it holds a retry leaves the delivery unacked:
/// the broker delivers it again, and no copy is sent besides.
#[tokio::test]
async fn a_retry_held_when_the_connection_is_lost_is_delivered_again_once() {
    let bus = bus_with_delays(5, vec![Duration::from_secs(600)]);
    bus.publish(&event()).await.unwrap();
    let handler = flaky(1, false);
    let stop = CancellationToken::new();
    let consuming = tokio::spawn(bus.clone().consume(
        Consumer::PersistenceWorker,
        handler.clone(),
        1,
        stop.clone(),
    ));
    wait_for("the first attempt", async || {
        (handler.calls.load(Ordering::SeqCst) == 1).then_some(())
    })
    .await;
    // The connection goes (as when the broker node or the network does); the consumer
    // reconnects by itself.
    bus.close().await;
    tokio::time::timeout(Duration::from_secs(20), handler.done.notified())
        .await
        .expect("delivered again by the broker long before the 10-minute delay");
    stop.cancel();
    consuming.await.unwrap();
    assert_eq!(handler.calls.load(Ordering::SeqCst), 2);
    assert_eq!(
        waiting(&bus, Consumer::PersistenceWorker).await,
        0,
        "no copy was sent besides the redelivery"
    );
    cleanup(&bus).await;
}

#[tokio::test]
async fn transient_failures_are_retried_after_a_delay_then_succeed() {
    let bus = bus(5);
    bus.publish(&event()).await.unwrap();
    let handler = flaky(2, false);
    let stop = CancellationToken::new();
    let consuming = tokio::spawn(bus.clone().consume(
        Consumer::PersistenceWorker,
        handler.clone(),
        1,
        stop.clone(),
    ));
    tokio::time::timeout(Duration::from_secs(20), handler.done.notified())
        .await
        .expect("handled in the end");
    assert_eq!(handler.calls.load(Ordering::SeqCst), 3);
    stop.cancel();
    consuming.await.unwrap();
    assert!(
        dead_letters::list(&bus, Consumer::PersistenceWorker, 10)
            .await
            .unwrap()
            .is_empty()
    );
    cleanup(&bus).await;
}

#[tokio::test]
async fn exhausted_and_permanent_failures_are_dead_lettered_with_reasons_and_can_be_replayed() {
    let bus = bus(3);
    let sent = event();
    bus.publish(&sent).await.unwrap();
    let always_failing = flaky(u32::MAX, false);
    let stop = CancellationToken::new();
    let consuming = tokio::spawn(bus.clone().consume(
        Consumer::PersistenceWorker,
        always_failing.clone(),
        1,
        stop.clone(),
    ));
    let letters = wait_for("a dead letter", async || {
        let letters = dead_letters::list(&bus, Consumer::PersistenceWorker, 10)
            .await
            .ok()?;
        (!letters.is_empty()).then_some(letters)
    })
    .await;
    assert_eq!(
        always_failing.calls.load(Ordering::SeqCst),
        3,
        "exactly max_attempts deliveries"
    );
    let letter = &letters[0];
    assert_eq!(
        letter.message_id.as_deref(),
        Some(sent.event_id.to_string().as_str())
    );
    assert_eq!(letter.attempts, Some(3));
    assert!(
        letter
            .error
            .as_deref()
            .unwrap()
            .contains("gave up after 3 attempts: dependency down")
    );
    stop.cancel();
    consuming.await.unwrap();

    // Listing left it in place; a replay hands it to a healthy consumer.
    let replayed = dead_letters::replay(&bus, Consumer::PersistenceWorker, None)
        .await
        .unwrap();
    assert_eq!(replayed, 1);
    let healthy = flaky(0, false);
    let stop = CancellationToken::new();
    let consuming = tokio::spawn(bus.clone().consume(
        Consumer::PersistenceWorker,
        healthy.clone(),
        1,
        stop.clone(),
    ));
    tokio::time::timeout(Duration::from_secs(20), healthy.done.notified())
        .await
        .expect("replayed and handled");
    stop.cancel();
    consuming.await.unwrap();

    // A permanent failure skips the retries.
    bus.publish(&event()).await.unwrap();
    let wrong = flaky(0, true);
    let stop = CancellationToken::new();
    let consuming = tokio::spawn(bus.clone().consume(
        Consumer::PersistenceWorker,
        wrong.clone(),
        1,
        stop.clone(),
    ));
    let letters = wait_for("the permanent failure dead-lettered", async || {
        let letters = dead_letters::list(&bus, Consumer::PersistenceWorker, 10)
            .await
            .ok()?;
        (letters.len() == 1).then_some(letters)
    })
    .await;
    assert_eq!(wrong.calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        letters[0].error.as_deref(),
        Some("this event is wrong for us")
    );
    assert_eq!(
        dead_letters::purge(&bus, Consumer::PersistenceWorker)
            .await
            .unwrap(),
        1
    );
    stop.cancel();
    consuming.await.unwrap();
    cleanup(&bus).await;
}
