//! Bookings against a real MariaDB: 50 customers take the same slot at once and exactly one
//! gets it, the others are offered the next free ones; moving and cancelling free the slot;
//! what is not offered (the past, a break, a day off, off the grid) is refused.

use std::sync::Arc;

use bureau_scheduling::store::{self, BookingError, BookingRequest};
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
        booked_by: format!("telegram:{who}"),
    }
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
            let booked = store::book(&pool, &request(slot, who), now).await;
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
            Ok(booking) => assert_eq!(booking.starts_at, slot),
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
    db.remove().await;
}

#[tokio::test]
async fn moving_and_cancelling_free_the_slot_and_what_is_not_offered_is_refused() {
    let db = database().await;
    let pool = db.pool.clone();
    let monday = date(2027, 3, 1);
    let now = kyiv(date(2027, 2, 26), 12);
    let ten = kyiv(monday, 10);
    let booking = store::book(&pool, &request(ten, 1), now).await.unwrap();

    // Another customer cannot have 10:00, nor 10:30 (it overlaps), but 11:00 is free.
    let half_past = ten.checked_add(jiff::Span::new().minutes(30)).unwrap();
    assert!(matches!(
        store::book(&pool, &request(half_past, 2), now).await,
        Err(BookingError::Taken)
    ));
    // Moved to 15:00: 10:00 is free again for the next customer.
    let moved = store::reschedule(&pool, booking.id, kyiv(monday, 15), now)
        .await
        .unwrap();
    assert_eq!(moved.starts_at, kyiv(monday, 15));
    let second = store::book(&pool, &request(ten, 2), now).await.unwrap();
    assert!(
        store::free_on(&pool, INTERPRETER, monday, 60, now)
            .await
            .unwrap()
            .iter()
            .all(|s| *s != ten && *s != kyiv(monday, 15))
    );
    // Cancelled: free again; cancelling twice changes nothing.
    assert!(store::cancel(&pool, second.id).await.unwrap());
    assert!(!store::cancel(&pool, second.id).await.unwrap());
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
                store::book(&pool, &request(starts_at, 3), now).await,
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
        store::book(&pool, &request(kyiv(monday, 16), 3), now).await,
        Err(BookingError::NotOffered)
    ));
    db.remove().await;
}
