//! Bookings against a real MariaDB: 50 customers take the same slot at once and exactly one
//! gets it, the others are offered the next free ones (and only the winner's event is in the
//! outbox); moving and cancelling free the slot, each writing its event in the same
//! transaction; what is not offered (the past, a break, a day off, off the grid) is refused;
//! a hold not joined by its order within 15 minutes expires (the clock is moved, not waited
//! for) and frees the slot.
//!
//! A service done by two resources (a pool): two customers taking one time both get it, on
//! different resources, and a third is offered the next free times; 30 customers racing for
//! one time: exactly two win, one per resource; a move stays with its resource when that is
//! free, else goes to the other, and a time taken on both is refused.

use std::sync::Arc;

use bureau_scheduling::desk::{self, Bookable, Refusal};
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

    // What Confirm in the bot sees (`desk::join_order`): the hold that ran out is said as
    // expired, with its time; a hold its customer cancelled is not; a live one joins.
    let order_of = |id: uuid::Uuid| {
        sqlx::query_scalar::<_, uuid::Uuid>("SELECT order_id FROM bookings WHERE id = ?")
            .bind(id)
            .fetch_one(&pool)
    };
    assert_eq!(
        desk::join_order(&pool, order_of(abandoned.id).await.unwrap(), "telegram:1")
            .await
            .unwrap(),
        desk::Joined::Expired {
            service_code: "interpreting".into(),
            starts_at: kyiv(monday, 10),
        }
    );
    let (dropped, _) = store::book(&pool, &held(kyiv(monday, 16), 4), PRODUCER, now)
        .await
        .unwrap();
    let later = now.checked_add(minutes(20)).unwrap();
    store::cancel(&pool, dropped.id, actor("telegram:4"), later)
        .await
        .unwrap();
    assert_eq!(
        desk::join_order(&pool, order_of(dropped.id).await.unwrap(), "telegram:4")
            .await
            .unwrap(),
        desk::Joined::Nothing,
        "cancelled by its customer, even after its 15 minutes: no hold that ran out"
    );
    let (live, _) = store::book(&pool, &held(kyiv(monday, 9), 5), PRODUCER, now)
        .await
        .unwrap();
    let order = order_of(live.id).await.unwrap();
    assert_eq!(
        desk::join_order(&pool, order, "telegram:5").await.unwrap(),
        desk::Joined::Joined(live.id)
    );
    assert_eq!(
        desk::join_order(&pool, order, "telegram:5").await.unwrap(),
        desk::Joined::Joined(live.id),
        "joined again (a second delivery of Confirm): the same"
    );
    db.remove().await;
}

/// A second resource for interpreting, "Room 2", with the interpreter's hours and breaks
/// (and, unlike the interpreter, Saturdays 09:00-12:00): the service's pool is then the
/// interpreter and the room. The room's id, and the service as customers book it.
async fn second_interpreting_room(pool: &sqlx::MySqlPool) -> (u32, Bookable) {
    let room = sqlx::query("INSERT INTO booking_resources (name, kind) VALUES ('Room 2', 'room')")
        .execute(pool)
        .await
        .unwrap()
        .last_insert_id() as u32;
    for statement in [
        "INSERT INTO booking_resource_services (resource_id, service_id)
         SELECT ?, service_id FROM booking_resource_services WHERE resource_id = 1",
        "INSERT INTO booking_working_hours (resource_id, weekday, starts, ends)
         SELECT ?, weekday, starts, ends FROM booking_working_hours WHERE resource_id = 1",
        "INSERT INTO booking_breaks (resource_id, weekday, starts, ends)
         SELECT ?, weekday, starts, ends FROM booking_breaks WHERE resource_id = 1",
        "INSERT INTO booking_working_hours (resource_id, weekday, starts, ends)
         VALUES (?, 6, '09:00', '12:00')",
    ] {
        sqlx::query(statement)
            .bind(room)
            .execute(pool)
            .await
            .unwrap();
    }
    let service: u32 =
        sqlx::query_scalar("SELECT id FROM catalogue_services WHERE code = 'interpreting'")
            .fetch_one(pool)
            .await
            .unwrap();
    let bookable = desk::bookable(pool, service).await.unwrap().unwrap();
    assert_eq!(
        bookable.resources,
        [INTERPRETER, room],
        "the pool, lowest id first"
    );
    (room, bookable)
}

/// Customer `who` books `starts_at` of `service` for an order of their own, at `now`.
async fn customer_books(
    pool: &sqlx::MySqlPool,
    service: &Bookable,
    starts_at: Timestamp,
    who: usize,
    now: Timestamp,
) -> Result<store::Booking, Refusal> {
    let by = format!("telegram:{who}");
    desk::book(
        pool,
        service,
        starts_at,
        uuid::Uuid::now_v7(),
        None,
        actor(&by),
        now,
    )
    .await
    .map(|(booking, _)| booking)
}

#[tokio::test]
async fn two_resources_of_a_service_give_one_time_twice_and_a_third_customer_the_next() {
    let db = database().await;
    let pool = db.pool.clone();
    let (room, service) = second_interpreting_room(&pool).await;
    let monday = date(2027, 3, 1);
    let now = kyiv(date(2027, 2, 26), 12);
    let ten = kyiv(monday, 10);

    // The same time twice: both get it, on different resources (the first on the
    // interpreter, the lowest id of two equally free; the second on the room).
    let first = customer_books(&pool, &service, ten, 1, now).await.unwrap();
    let second = customer_books(&pool, &service, ten, 2, now).await.unwrap();
    assert_eq!((first.resource_id, second.resource_id), (INTERPRETER, room));
    assert_eq!((first.starts_at, second.starts_at), (ten, ten));
    // 10:00 is no longer offered at all; a third customer is told and offered 11:00 on.
    let free = desk::free_days(&pool, &service, monday, 1, now)
        .await
        .unwrap();
    assert!(!free[0].1.contains(&ten), "{free:?}");
    match customer_books(&pool, &service, ten, 3, now).await {
        Err(Refusal::Taken { next_free }) => {
            assert_eq!(next_free.len(), desk::NEXT_FREE);
            assert_eq!(next_free[0], kyiv(monday, 11), "{next_free:?}");
            assert!(!next_free.contains(&ten));
        }
        other => panic!("the third is told it is taken, not {other:?}"),
    }
    // 11:00: both are free and each holds one booking that day; the lower id takes it.
    let third = customer_books(&pool, &service, kyiv(monday, 11), 3, now)
        .await
        .unwrap();
    assert_eq!(third.resource_id, INTERPRETER);
    // 12:00: the room holds fewer bookings that day, so the room takes it.
    let fourth = customer_books(&pool, &service, kyiv(monday, 12), 4, now)
        .await
        .unwrap();
    assert_eq!(fourth.resource_id, room, "the least booked that day");

    // The pool's times are the union: on a Saturday only the room works, 09:00-12:00.
    let saturday = date(2027, 3, 6);
    let free = desk::free_days(&pool, &service, saturday, 1, now)
        .await
        .unwrap();
    assert_eq!(
        free[0].1,
        [
            kyiv(saturday, 9),
            kyiv(saturday, 9)
                .checked_add(jiff::Span::new().minutes(30))
                .unwrap(),
            kyiv(saturday, 10),
            kyiv(saturday, 10)
                .checked_add(jiff::Span::new().minutes(30))
                .unwrap(),
            kyiv(saturday, 11)
        ]
    );
    let weekend = customer_books(&pool, &service, kyiv(saturday, 9), 5, now)
        .await
        .unwrap();
    assert_eq!(weekend.resource_id, room, "the one resource that offers it");

    // Moves stay in the pool. The first customer (interpreter, 10:00) moves to 11:00: the
    // interpreter has the third customer then, so the booking goes to the room; 10:00 on
    // the interpreter is free again.
    let (moved, event) =
        desk::reschedule(&pool, first.id, kyiv(monday, 11), actor("telegram:1"), now)
            .await
            .unwrap();
    assert_eq!(
        (moved.resource_id, moved.starts_at),
        (room, kyiv(monday, 11))
    );
    assert_eq!(event.resource_id, room);
    assert!(
        store::free_on(&pool, INTERPRETER, monday, 60, now)
            .await
            .unwrap()
            .contains(&ten)
    );
    // The second (room, 10:00) moves to 15:00, free on both: it stays in the room.
    let (moved, _) = desk::reschedule(&pool, second.id, kyiv(monday, 15), actor("telegram:2"), now)
        .await
        .unwrap();
    assert_eq!(
        (moved.resource_id, moved.starts_at),
        (room, kyiv(monday, 15))
    );
    // 11:00 is taken on both now (the third on the interpreter, the first in the room):
    // the fourth cannot move there, and keeps 12:00.
    assert!(matches!(
        desk::reschedule(&pool, fourth.id, kyiv(monday, 11), actor("telegram:4"), now).await,
        Err(Refusal::Taken { .. })
    ));
    let kept: (u32, chrono::DateTime<chrono::Utc>) =
        sqlx::query_as("SELECT resource_id, starts_at FROM bookings WHERE id = ?")
            .bind(fourth.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(kept, (room, bureau_scheduling::to_chrono(kyiv(monday, 12))));
    db.remove().await;
}

#[tokio::test]
async fn thirty_customers_take_one_time_of_a_two_resource_service_and_exactly_two_get_it() {
    let db = database().await;
    let pool = db.pool.clone();
    let (room, service) = second_interpreting_room(&pool).await;
    let monday = date(2027, 3, 1);
    let now = kyiv(date(2027, 2, 26), 12);
    let slot = kyiv(monday, 10);
    let start = Arc::new(tokio::sync::Barrier::new(30));
    let attempts = (0..30).map(|who| {
        let (pool, start, service) = (pool.clone(), start.clone(), service.clone());
        tokio::spawn(async move {
            start.wait().await;
            customer_books(&pool, &service, slot, who, now).await
        })
    });
    let outcomes: Vec<_> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|joined| joined.expect("no attempt panics"))
        .collect();
    let mut winners: Vec<_> = outcomes
        .iter()
        .filter_map(|outcome| outcome.as_ref().ok())
        .map(|booking| (booking.resource_id, booking.starts_at))
        .collect();
    winners.sort();
    assert_eq!(
        winners,
        [(INTERPRETER, slot), (room, slot)],
        "exactly two get it, one on each resource"
    );
    for outcome in &outcomes {
        match outcome {
            Ok(_) => {}
            Err(Refusal::Taken { next_free }) => {
                assert_eq!(next_free.len(), desk::NEXT_FREE, "{next_free:?}");
                assert!(!next_free.contains(&slot), "never the taken one");
                assert_eq!(next_free[0], kyiv(monday, 11), "{next_free:?}");
            }
            Err(other) => panic!("every loser is told the time is taken, not {other}"),
        }
    }
    let live: Vec<u32> = sqlx::query_scalar(
        "SELECT resource_id FROM bookings WHERE status = 'booked' AND starts_at = ? ORDER BY resource_id",
    )
    .bind(bureau_scheduling::to_chrono(slot))
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        live,
        [INTERPRETER, room],
        "one row per resource holds the time"
    );
    // Only the winners' events: a refused attempt on either resource writes nothing.
    let events = outbox(&pool).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events.iter().all(|(_, change, _)| change == "booked"));
    db.remove().await;
}
