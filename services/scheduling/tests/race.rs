//! Bookings against a real MariaDB: 50 customers take the same slot at once and exactly one
//! gets it, the others are offered the next free ones (and only the winner's event is in the
//! outbox); moving and cancelling free the slot, each writing its event in the same
//! transaction; what is not offered (the past, a break, a day off, off the grid) is refused;
//! a hold not joined by its order within 15 minutes expires (the clock is moved, not waited
//! for) and frees the slot.

use std::sync::Arc;

use bureau_scheduling::desk;
use bureau_scheduling::store::{self, Actor, BookingError, BookingRequest};
use bureau_test_support::TestDatabase;
use jiff::Timestamp;
use jiff::civil::date;
use jiff::tz::TimeZone;

/// The sample interpreter (resource 1): weekdays 09:00-18:00 Kyiv, break 13:00-14:00.
const INTERPRETER: u32 = 1;

fn kyiv(day: jiff::civil::Date, hour: i8) -> Timestamp {
    day.at(hour, 0, 0, 0)
        .to_zoned(TimeZone::get("Europe/Kyiv").unwrap())
        .unwrap()
        .timestamp()
}

fn request(starts_at: Timestamp, who: usize) -> BookingRequest {
    BookingRequest {
        resource_id: INTERPRETER,
        service_code: "interpreting".into(),
        duration_minutes: 60,
        starts_at,
        order_id: None,
        customer_id: None,
        held_until: None,
        booked_by: format!("telegram:{who}"),
    }
}

const PRODUCER: &str = "scheduling-test";

fn actor(by: &str) -> Actor<'_> {
    Actor {
        by,
        producer: PRODUCER,
    }
}

/// The outbox's events, in order: (booking, change, by).
async fn outbox(pool: &sqlx::MySqlPool) -> Vec<(uuid::Uuid, String, String)> {
    let rows: Vec<Vec<u8>> = sqlx::query_scalar("SELECT envelope FROM event_outbox ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap();
    rows.iter()
        .map(|bytes| {
            let envelope = proto_events::Envelope::from_json(bytes).unwrap();
            assert_eq!(envelope.producer, PRODUCER);
            match envelope.payload {
                proto_events::Event::BookingChanged(changed) => (
                    changed.booking_id,
                    changed.change.as_str().to_owned(),
                    changed.by,
                ),
                other => panic!("not a booking's event: {other:?}"),
            }
        })
        .collect()
}

async fn database() -> TestDatabase {
    let mut settings = bureau_test_support::settings().expect("settings");
    TestDatabase::create(&mut settings, "bureau_test_sched")
        .await
        .expect("a test database")
}

#[tokio::test]
async fn fifty_customers_take_one_slot_at_once_and_exactly_one_gets_it() {
    let db = database().await;
    let pool = db.pool.clone();
    // A Monday in the test's future, seen from a clock set the Friday before.
    let monday = date(2027, 3, 1);
    let now = kyiv(date(2027, 2, 26), 12);
    let slot = kyiv(monday, 10);
    let start = Arc::new(tokio::sync::Barrier::new(50));
    let attempts = (0..50).map(|who| {
        let (pool, start) = (pool.clone(), start.clone());
        tokio::spawn(async move {
            start.wait().await;
            let booked = store::book(&pool, &request(slot, who), PRODUCER, now).await;
            let offered = match &booked {
                Err(BookingError::Taken) => store::next_free(&pool, INTERPRETER, 60, slot, 7, 3)
                    .await
                    .unwrap(),
                _ => Vec::new(),
            };
            (booked, offered)
        })
    });
    let outcomes: Vec<_> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|joined| joined.expect("no attempt panics"))
        .collect();
    let winners = outcomes.iter().filter(|(b, _)| b.is_ok()).count();
    assert_eq!(winners, 1, "exactly one gets the slot");
    for (booked, offered) in &outcomes {
        match booked {
            Ok((booking, _)) => assert_eq!(booking.starts_at, slot),
            Err(BookingError::Taken) => {
                assert_eq!(offered.len(), 3, "the next free slots are offered");
                assert!(!offered.contains(&slot), "never the taken one: {offered:?}");
                assert_eq!(offered[0], kyiv(monday, 11), "{offered:?}");
            }
            Err(other) => panic!("every loser is told the slot is taken, not {other}"),
        }
    }
    let live: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM bookings WHERE status = 'booked' AND starts_at = ?",
    )
    .bind(bureau_scheduling::to_chrono(slot))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(live, 1, "one row holds the slot");
    let winner = outcomes
        .iter()
        .find_map(|(b, _)| b.as_ref().ok())
        .map(|(booking, _)| booking.id)
        .unwrap();
    let events = outbox(&pool).await;
    assert_eq!(
        events.len(),
        1,
        "the winner's event only: a refused booking writes nothing"
    );
    assert_eq!((events[0].0, events[0].1.as_str()), (winner, "booked"));
    db.remove().await;
}

#[tokio::test]
async fn moving_and_cancelling_free_the_slot_and_what_is_not_offered_is_refused() {
    let db = database().await;
    let pool = db.pool.clone();
    let monday = date(2027, 3, 1);
    let now = kyiv(date(2027, 2, 26), 12);
    let ten = kyiv(monday, 10);
    let (booking, event) = store::book(&pool, &request(ten, 1), PRODUCER, now)
        .await
        .unwrap();
    // No order: the event names the booking itself.
    assert_eq!(event.order_id, booking.id);

    // Another customer cannot have 10:00, nor 10:30 (it overlaps), but 11:00 is free.
    let half_past = ten.checked_add(jiff::Span::new().minutes(30)).unwrap();
    assert!(matches!(
        store::book(&pool, &request(half_past, 2), PRODUCER, now).await,
        Err(BookingError::Taken)
    ));
    // Moved to 15:00: 10:00 is free again for the next customer.
    let (moved, event) = store::reschedule(
        &pool,
        booking.id,
        kyiv(monday, 15),
        actor("staff:manager"),
        now,
    )
    .await
    .unwrap();
    assert_eq!(moved.starts_at, kyiv(monday, 15));
    assert_eq!(
        event.previous_starts_at,
        Some(bureau_scheduling::to_chrono(ten))
    );
    let (second, _) = store::book(&pool, &request(ten, 2), PRODUCER, now)
        .await
        .unwrap();
    assert!(
        store::free_on(&pool, INTERPRETER, monday, 60, now)
            .await
            .unwrap()
            .iter()
            .all(|s| *s != ten && *s != kyiv(monday, 15))
    );
    // Cancelled: free again; cancelling twice changes nothing.
    assert!(
        store::cancel(&pool, second.id, actor("telegram:2"), now)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store::cancel(&pool, second.id, actor("telegram:2"), now)
            .await
            .unwrap()
            .is_none()
    );
    // Each change wrote its event, in order; the refusals and the second cancel nothing.
    assert_eq!(
        outbox(&pool).await,
        vec![
            (booking.id, "booked".into(), "telegram:1".into()),
            (booking.id, "rescheduled".into(), "staff:manager".into()),
            (second.id, "booked".into(), "telegram:2".into()),
            (second.id, "cancelled".into(), "telegram:2".into()),
        ]
    );
    assert!(
        store::free_on(&pool, INTERPRETER, monday, 60, now)
            .await
            .unwrap()
            .contains(&ten)
    );

    // Not offered: in the past, in the break, on a Saturday, off the grid, a day off.
    let refused = [
        kyiv(date(2027, 2, 22), 10),
        kyiv(monday, 13),
        kyiv(date(2027, 3, 6), 10),
        ten.checked_add(jiff::Span::new().minutes(10)).unwrap(),
    ];
    for starts_at in refused {
        assert!(
            matches!(
                store::book(&pool, &request(starts_at, 3), PRODUCER, now).await,
                Err(BookingError::NotOffered)
            ),
            "{starts_at}"
        );
    }
    sqlx::query("INSERT INTO booking_days_off (resource_id, day, reason) VALUES (1, '2027-03-01', 'holiday')")
        .execute(&pool)
        .await
        .unwrap();
    assert!(matches!(
        store::book(&pool, &request(kyiv(monday, 16), 3), PRODUCER, now).await,
        Err(BookingError::NotOffered)
    ));
    db.remove().await;
}

#[tokio::test]
async fn a_hold_not_joined_by_its_order_expires_after_fifteen_minutes_and_frees_the_slot() {
    let db = database().await;
    let pool = db.pool.clone();
    let monday = date(2027, 3, 1);
    let now = kyiv(date(2027, 2, 26), 12);
    let minutes = |m: i64| jiff::Span::new().minutes(m);
    let held = |starts_at, who| BookingRequest {
        held_until: Some(store::hold_until(now)),
        order_id: Some(uuid::Uuid::now_v7()),
        ..request(starts_at, who)
    };
    let (abandoned, _) = store::book(&pool, &held(kyiv(monday, 10), 1), PRODUCER, now)
        .await
        .unwrap();
    let (sent, _) = store::book(&pool, &held(kyiv(monday, 11), 2), PRODUCER, now)
        .await
        .unwrap();
    let (moved, _) = store::book(&pool, &held(kyiv(monday, 12), 3), PRODUCER, now)
        .await
        .unwrap();
    // The second customer sends their order: the booking joins it and is no hold any more.
    let order = uuid::Uuid::now_v7();
    assert!(
        desk::attach(&pool, sent.id, "telegram:2", order)
            .await
            .unwrap()
    );
    // The third changes their mind 10 minutes later: moved, held anew from then.
    let later = now.checked_add(minutes(10)).unwrap();
    store::reschedule(
        &pool,
        moved.id,
        kyiv(monday, 15),
        actor("telegram:3"),
        later,
    )
    .await
    .unwrap();

    // 14 minutes on, nothing has expired.
    let expire = |at: Timestamp| store::expire_holds(&pool, PRODUCER, at, 100);
    assert!(
        expire(now.checked_add(minutes(14)).unwrap())
            .await
            .unwrap()
            .is_empty()
    );
    // 15 minutes on, the abandoned hold has; the joined one and the moved one have not.
    let expired = expire(now.checked_add(minutes(15)).unwrap()).await.unwrap();
    assert_eq!(
        expired.iter().map(|b| b.id).collect::<Vec<_>>(),
        vec![abandoned.id]
    );
    let free = store::free_on(&pool, INTERPRETER, monday, 60, now)
        .await
        .unwrap();
    assert!(free.contains(&kyiv(monday, 10)), "the slot is free again");
    assert!(!free.contains(&kyiv(monday, 11)));
    let called_off: Vec<String> = sqlx::query_scalar(
        "SELECT skipped_reason FROM reminders WHERE subject_id = ? ORDER BY kind",
    )
    .bind(abandoned.id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(called_off, ["hold_expired", "hold_expired"]);
    // Expired once: a second sweep finds nothing, and the customer's order form can no
    // longer join it.
    assert!(
        expire(now.checked_add(minutes(16)).unwrap())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        !desk::attach(&pool, abandoned.id, "telegram:1", uuid::Uuid::now_v7())
            .await
            .unwrap()
    );
    // The moved one runs out 15 minutes after its move; the joined one never.
    let expired = expire(later.checked_add(minutes(15)).unwrap())
        .await
        .unwrap();
    assert_eq!(
        expired.iter().map(|b| b.id).collect::<Vec<_>>(),
        vec![moved.id]
    );
    assert!(
        expire(now.checked_add(jiff::Span::new().hours(48)).unwrap())
            .await
            .unwrap()
            .is_empty()
    );
    let events = outbox(&pool).await;
    assert!(
        events.contains(&(
            abandoned.id,
            "cancelled".into(),
            store::HOLD_EXPIRED_BY.into()
        )),
        "{events:?}"
    );
    assert!(
        events.contains(&(moved.id, "cancelled".into(), store::HOLD_EXPIRED_BY.into())),
        "{events:?}"
    );
    assert!(
        !events
            .iter()
            .any(|(id, change, _)| *id == sent.id && change == "cancelled")
    );
    db.remove().await;
}
