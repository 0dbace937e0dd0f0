//! The reminder schedule on MariaDB with a clock the test moves: scheduled once, claimed by
//! one of two racing senders only, re-claimable once a dead sender's lease ends, a booking
//! reminder whose moment passed during an outage skipped, a quote reminder sent late.

use std::collections::HashSet;

use bureau_scheduling::reminders::{self, Kind};
use bureau_test_support::TestDatabase;
use chrono::{Duration, TimeZone, Utc};
use uuid::Uuid;

#[tokio::test]
async fn each_reminder_goes_to_one_sender_once_and_late_ones_are_sent_or_skipped() {
    let mut settings = bureau_test_support::settings().expect("settings");
    let db = TestDatabase::create(&mut settings, "bureau_test_remind")
        .await
        .expect("database");
    let pool = db.pool.clone();
    let t0 = Utc.with_ymd_and_hms(2027, 3, 1, 8, 0, 0).unwrap();
    let lease = Duration::seconds(60);

    // Twenty bookings: their 1-hour reminders are due at t0 + 1 h, each booking at t0 + 2 h.
    let mut bookings = Vec::new();
    for _ in 0..20 {
        let booking = Uuid::now_v7();
        let starts = t0 + Duration::hours(2);
        assert!(
            reminders::schedule(
                &pool,
                Kind::Booking1h,
                booking,
                starts - Duration::hours(1),
                Some(starts)
            )
            .await
            .unwrap()
        );
        assert!(
            !reminders::schedule(&pool, Kind::Booking1h, booking, starts, Some(starts))
                .await
                .unwrap(),
            "once"
        );
        bookings.push(booking);
    }
    assert!(
        reminders::claim_due(&pool, "a", t0, lease, 100)
            .await
            .unwrap()
            .is_empty(),
        "not due yet"
    );

    // The clock moves to the moment; two senders claim at once.
    let now = t0 + Duration::hours(1);
    let (a, b) = tokio::join!(
        reminders::claim_due(&pool, "a", now, lease, 100),
        reminders::claim_due(&pool, "b", now, lease, 100),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let a_ids: HashSet<_> = a.iter().map(|r| r.id).collect();
    let b_ids: HashSet<_> = b.iter().map(|r| r.id).collect();
    assert!(a_ids.is_disjoint(&b_ids), "no reminder claimed twice");
    assert_eq!(a_ids.len() + b_ids.len(), 20, "every due reminder claimed");

    // Sender "a" sends its share; "b" dies before sending.
    for r in &a {
        assert!(reminders::mark_sent(&pool, r.id, "a", now).await.unwrap());
    }
    assert!(
        reminders::claim_due(&pool, "c", now, lease, 100)
            .await
            .unwrap()
            .is_empty(),
        "b's lease holds"
    );
    let later = now + Duration::seconds(61);
    let retaken = reminders::claim_due(&pool, "c", later, lease, 100)
        .await
        .unwrap();
    assert_eq!(
        retaken.iter().map(|r| r.id).collect::<HashSet<_>>(),
        b_ids,
        "b's share, once its lease ended"
    );
    for r in &retaken {
        assert!(
            !reminders::mark_sent(&pool, r.id, "b", later).await.unwrap(),
            "b lost it"
        );
        assert!(reminders::mark_sent(&pool, r.id, "c", later).await.unwrap());
    }

    // An outage across a booking's start: its reminder is skipped; a quote's goes out late.
    let (booking, order) = (Uuid::now_v7(), Uuid::now_v7());
    let starts = t0 + Duration::hours(5);
    reminders::schedule(
        &pool,
        Kind::Booking1h,
        booking,
        starts - Duration::hours(1),
        Some(starts),
    )
    .await
    .unwrap();
    reminders::schedule(
        &pool,
        Kind::QuoteUnanswered,
        order,
        t0 + Duration::hours(4),
        None,
    )
    .await
    .unwrap();
    let back = t0 + Duration::hours(6);
    let after_outage = reminders::claim_due(&pool, "a", back, lease, 100)
        .await
        .unwrap();
    assert_eq!(after_outage.len(), 1);
    assert_eq!(
        (after_outage[0].subject_id, after_outage[0].kind.as_str()),
        (order, "quote_unanswered")
    );
    let reason: Option<String> =
        sqlx::query_scalar("SELECT skipped_reason FROM reminders WHERE subject_id = ?")
            .bind(booking)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(reason.as_deref(), Some("moment_passed"));
    db.remove().await;
}
