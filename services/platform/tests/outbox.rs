//! The transactional outbox on the real MariaDB and RabbitMQ: an event written in a
//! transaction that rolls back is never published; events committed while no relay runs
//! (the writer crashed before publishing) are published by the next relay; two relays at
//! once (two replicas) publish each event once, in the order written; a broker that does
//! not confirm leaves the rows unsent (attempts and the error recorded) until one does; a
//! relay holding the lease makes the others skip their round instead of waiting.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bureau_event_bus::{EventBus, EventHandler, HandlerError};
use bureau_platform::outbox::{self, Relay, RelaySettings};
use bureau_platform::settings::Settings;
use bureau_test_support::{TestDatabase, eventually};
use proto_events::topology::Consumer;
use proto_events::{BookingChange, BookingChanged, Envelope};
use sqlx::MySqlPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(30);

fn booking_event(n: u32) -> Envelope {
    let order_id = Uuid::now_v7();
    Envelope::new(
        "outbox-test",
        order_id,
        BookingChanged {
            booking_id: Uuid::now_v7(),
            order_id,
            customer_id: None,
            change: BookingChange::Booked,
            resource_id: 1,
            service_code: format!("service-{n}"),
            starts_at: chrono::Utc::now(),
            ends_at: chrono::Utc::now() + chrono::Duration::hours(1),
            previous_starts_at: None,
            by: "staff:test".into(),
            changed_at: chrono::Utc::now(),
        },
    )
}

/// The event ids delivered to the persistence worker's queue, in order of delivery.
#[derive(Default)]
struct Received(Mutex<Vec<Uuid>>);

impl EventHandler for Received {
    async fn handle(&self, event: &Envelope) -> Result<(), HandlerError> {
        self.0.lock().unwrap().push(event.event_id);
        Ok(())
    }
}

impl Received {
    fn ids(&self) -> Vec<Uuid> {
        self.0.lock().unwrap().clone()
    }
}

struct Harness {
    settings: Settings,
    pool: MySqlPool,
    database: TestDatabase,
    received: Arc<Received>,
    stop: CancellationToken,
    consumer: tokio::task::JoinHandle<()>,
}

impl Harness {
    async fn start() -> Harness {
        let mut settings = bureau_test_support::settings().expect("settings");
        let database = TestDatabase::create(&mut settings, "bureau_outbox_test")
            .await
            .expect("a test database");
        bureau_test_support::isolate_broker(&mut settings.broker, "outbox");
        let received = Arc::new(Received::default());
        let stop = CancellationToken::new();
        let bus = bureau_platform::bus::event_bus(&settings.broker, "outbox-consumer");
        bus.connect().await.expect("the broker answers");
        let consumer = tokio::spawn(bus.clone().consume(
            Consumer::PersistenceWorker,
            received.clone(),
            1,
            stop.clone(),
        ));
        Harness {
            pool: database.pool.clone(),
            settings,
            database,
            received,
            stop,
            consumer,
        }
    }

    fn bus(&self, name: &str) -> Arc<EventBus> {
        bureau_platform::bus::event_bus(&self.settings.broker, name)
    }

    /// Writes `envelope` into the outbox in a transaction of its own, committed.
    async fn write(&self, envelope: &Envelope) {
        let mut tx = self.pool.begin().await.unwrap();
        outbox::enqueue(&mut tx, envelope).await.unwrap();
        tx.commit().await.unwrap();
    }

    async fn sent(&self, event_id: Uuid) -> (bool, u32, Option<String>) {
        let (sent, attempts, error): (Option<chrono::DateTime<chrono::Utc>>, u32, Option<String>) =
            sqlx::query_as(
                "SELECT sent_at, attempts, last_error FROM event_outbox WHERE event_id = ?",
            )
            .bind(event_id)
            .fetch_one(&self.pool)
            .await
            .unwrap();
        (sent.is_some(), attempts, error)
    }

    async fn finish(self) {
        self.stop.cancel();
        let _ = self.consumer.await;
        bureau_test_support::remove_broker_namespace(&self.settings.broker).await;
        self.database.remove().await;
    }
}

fn fast(name: &str) -> RelaySettings {
    RelaySettings {
        poll: Duration::from_millis(50),
        batch: 7,
        ..RelaySettings::for_service(name)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relays_publish_each_committed_event_once_in_order_and_none_rolled_back() {
    bureau_test_support::init_logging();
    let h = Harness::start().await;
    // Rolled back with the change it announced: never published.
    let rolled_back = booking_event(0);
    let mut tx = h.pool.begin().await.unwrap();
    outbox::enqueue(&mut tx, &rolled_back).await.unwrap();
    tx.rollback().await.unwrap();
    // Forty committed while no relay runs: the writers died before publishing anything.
    let written: Vec<Envelope> = (1..=40).map(booking_event).collect();
    for envelope in &written {
        h.write(envelope).await;
    }
    assert_eq!(outbox::unsent(&h.pool).await.unwrap(), 40);

    // Two replicas' relays start together (batches of 7, so many rounds each).
    let relays = CancellationToken::new();
    let a = Relay::start(h.pool.clone(), h.bus("relay-a"), fast("a"), relays.clone());
    let b = Relay::start(h.pool.clone(), h.bus("relay-b"), fast("b"), relays.clone());
    a.kick();
    b.kick();
    eventually("forty events delivered", WAIT, || async {
        anyhow::Ok(h.received.ids().len() >= 40)
    })
    .await
    .unwrap();
    // Ten more while both run, written between kicks of either.
    let more: Vec<Envelope> = (41..=50).map(booking_event).collect();
    for (i, envelope) in more.iter().enumerate() {
        h.write(envelope).await;
        if i % 2 == 0 { a.kick() } else { b.kick() }
    }
    eventually("fifty events delivered", WAIT, || async {
        anyhow::Ok(h.received.ids().len() >= 50)
    })
    .await
    .unwrap();
    eventually("every row marked sent", WAIT, || async {
        anyhow::Ok(outbox::unsent(&h.pool).await? == 0)
    })
    .await
    .unwrap();
    // No copies follow: a sentinel published straight to the bus after every row was
    // marked sent arrives behind anything the relays published before it (one queue, one
    // consumer, in order), so what came before it is everything they sent.
    relays.cancel();
    let sentinel = booking_event(0);
    let bus = h.bus("sentinel");
    bus.connect().await.unwrap();
    bus.publish(&sentinel).await.unwrap();
    eventually("the sentinel delivered", WAIT, || async {
        anyhow::Ok(h.received.ids().contains(&sentinel.event_id))
    })
    .await
    .unwrap();
    let expected: Vec<Uuid> = written.iter().chain(&more).map(|e| e.event_id).collect();
    let received = h.received.ids();
    assert_eq!(
        received
            .split_last()
            .map(|(last, before)| (*last, before.to_vec())),
        Some((sentinel.event_id, expected.clone())),
        "each once, in the order written"
    );
    assert!(!h.received.ids().contains(&rolled_back.event_id));
    let (sent, attempts, error) = h.sent(expected[0]).await;
    assert!(sent);
    assert_eq!((attempts, error), (1, None));
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_does_not_confirm_leaves_the_rows_unsent_and_a_held_lease_is_skipped() {
    bureau_test_support::init_logging();
    let h = Harness::start().await;
    let envelope = booking_event(1);
    h.write(&envelope).await;

    // A broker that does not answer: nothing is marked sent, the attempt is recorded.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let nowhere = closed.local_addr().unwrap();
    drop(closed);
    let mut broker = h.settings.broker.clone();
    broker.url = bureau_platform::Secret::new(format!("amqp://guest:guest@{nowhere}/%2f"));
    let down = bureau_platform::bus::event_bus(&broker, "relay-down");
    let settings = fast("down");
    let failed = outbox::relay_once(&h.pool, &down, &settings).await;
    assert!(
        matches!(failed, Err(outbox::RelayError::Broker(_))),
        "{failed:?}"
    );
    let (sent, attempts, error) = h.sent(envelope.event_id).await;
    assert!(!sent);
    assert_eq!(attempts, 1);
    assert!(error.is_some());

    // Another replica holds the lease (mid-round): this one skips rather than waits.
    let mut holder = h.pool.begin().await.unwrap();
    sqlx::query("SELECT name FROM event_outbox_relay WHERE name = 'outbox' FOR UPDATE")
        .fetch_one(&mut *holder)
        .await
        .unwrap();
    let up = h.bus("relay-up");
    let started = std::time::Instant::now();
    let round = outbox::relay_once(&h.pool, &up, &fast("up")).await.unwrap();
    assert!(round.busy, "{round:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "did not wait for the lock"
    );
    assert!(h.received.ids().is_empty());
    holder.rollback().await.unwrap();

    // The lease free and the broker up: published, then marked sent.
    let round = outbox::relay_once(&h.pool, &up, &fast("up")).await.unwrap();
    assert_eq!(round.sent, 1);
    eventually("the event delivered", WAIT, || async {
        anyhow::Ok(h.received.ids() == vec![envelope.event_id])
    })
    .await
    .unwrap();
    let (sent, attempts, error) = h.sent(envelope.event_id).await;
    assert!(sent);
    assert_eq!((attempts, error), (2, None));
    h.finish().await;
}
