//! The back office's calendar in a real browser (headless Chromium over WebDriver, the whole
//! stack): a manager gives the interpreter Saturday hours on the schedule page, and the
//! slots offered follow at once (the scheduling crate reads the same tables); books a
//! customer who phoned into a Saturday slot (the customer created from name and phone);
//! sees the booking in the day and week views; the same slot posted again from the page is
//! refused (409, "just taken") by the database-enforced path; moves the booking (its
//! reminders move with it) and cancels it (its reminders are called off); every step is in
//! the audit log, and each booking change reaches `booking_history` as a `BookingChanged`. Screenshots in English, in Ukrainian and phone-sized.

use anyhow::anyhow;
use bureau_accounts::Role;
use bureau_end_to_end::browser;
use bureau_end_to_end::{DEADLINE, TestStack, eventually};
use chrono::{DateTime, Datelike, Utc};
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery";

/// The next Saturday in Kyiv (never today), as `YYYY-MM-DD`.
fn next_saturday() -> String {
    let today = (Utc::now() + chrono::Duration::hours(2)).date_naive();
    let ahead = (5 - today.weekday().num_days_from_monday() as i64 + 7) % 7;
    let ahead = if ahead == 0 { 7 } else { ahead };
    (today + chrono::Duration::days(ahead)).to_string()
}

/// The texts of the booking form's free times, one a line (a select's WebDriver text is
/// empty in Chromium).
async fn slot_options(browser: &browser::Browser) -> anyhow::Result<String> {
    browser.find("#book-slot").await?;
    Ok(browser
        .run("return [...document.querySelectorAll('#book-slot option')].map(o => o.text).join('\\n')")
        .await?
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_edits_working_hours_and_books_a_phoned_in_customer() -> anyhow::Result<()> {
    let Some(browser) = browser::browser().await? else {
        return Ok(());
    };
    let stack = TestStack::start().await?;
    bureau_accounts::create_account(
        &stack.db,
        "olha@example.com",
        PASSWORD,
        "Olha Manager",
        Role::Manager,
    )
    .await
    .map_err(|e| anyhow!("{e}"))?;
    browser
        .sign_in(&stack, "olha@example.com", PASSWORD)
        .await?;

    // Saturday is not a working day yet: no free time.
    let saturday = next_saturday();
    let day_url = stack.web_url(&format!(
        "/office/calendar?resource=1&day={saturday}&view=day"
    ));
    browser.go(&day_url).await?;
    let body = browser.body().await?;
    assert!(body.contains("No free time this day."), "{body}");

    // The schedule: Saturday 10:00-14:00 with a break 12:00-12:30, and a day off; a
    // nonsense span is refused with the part that is wrong, nothing saved.
    browser.click("#edit-schedule").await?;
    browser.fill("#hours-6", "10:00-14:00, 13:00-15:00").await?;
    browser.click("#schedule-save").await?;
    browser
        .text_until(".field-error", |t| t.contains("13:00-15:00"))
        .await?;
    browser.fill("#hours-6", "10:00-14:00").await?;
    browser.fill("#breaks-6", "12:00-12:30").await?;
    browser.fill("#days-off", "2027-01-07 Christmas").await?;
    browser.click("#schedule-save").await?;
    browser.find("#saved").await?;
    browser.screenshot("office-schedule").await?;
    let saturday_hours: Vec<(String, String)> = sqlx::query_as(
        "SELECT CAST(starts AS CHAR), CAST(ends AS CHAR) FROM booking_working_hours WHERE resource_id = 1 AND weekday = 6",
    )
    .fetch_all(&stack.db)
    .await?;
    assert_eq!(saturday_hours, vec![("10:00:00".into(), "14:00:00".into())]);

    // Now Saturday offers 10:00, 11:00 and (after the break) 12:30 for the 60-minute
    // interpreting; 11:30 runs into the break.
    browser.go(&day_url).await?;
    let options = slot_options(&browser).await?;
    assert!(
        options.contains("11:00") && options.contains("12:30"),
        "{options}"
    );
    assert!(!options.contains("11:30"), "{options}");

    // Book the phoned-in customer into 10:00.
    browser.click("#book-slot option:first-child").await?;
    let slot_value = browser
        .run("return document.querySelector('#book-slot').value")
        .await?
        .as_str()
        .unwrap_or_default()
        .to_owned();
    browser.fill("#book-phone", "+38 050 123 45 67").await?;
    browser.fill("#book-name", "Petro Phoned").await?;
    browser.click("#book-submit").await?;
    browser.find("#cal-ok").await?;
    let card = browser
        .text_until(".booking", |t| t.contains("Petro Phoned"))
        .await?;
    assert!(card.contains("10:00–11:00"), "{card}");
    browser.screenshot("office-calendar-day").await?;
    let (booking_id, customer_phone): (Uuid, Option<String>) = sqlx::query_as(
        "SELECT b.id, c.phone FROM bookings b JOIN customers c ON c.id = b.customer_id
         WHERE b.status = 'booked' AND c.display_name = 'Petro Phoned'",
    )
    .fetch_one(&stack.db)
    .await?;
    assert_eq!(customer_phone.as_deref(), Some("+380501234567"));

    // The same slot once more, posted from the page as a second tab would: refused by the
    // database-enforced path, and still one booking.
    let replay = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const body = new URLSearchParams({resource: '1', day: arguments[0], slot: arguments[1],
                                               name: 'Second Caller', phone: '0671112233', language: 'uk'});
             fetch('/office/calendar/book', {method: 'POST', body})
               .then(async r => done([r.status, await r.text()]));",
            vec![saturday.clone().into(), slot_value.clone().into()],
        )
        .await
        .map_err(|e| anyhow!("replaying the booking: {e}"))?;
    assert_eq!(replay[0], 409, "{replay}");
    assert!(
        replay[1]
            .as_str()
            .unwrap_or_default()
            .contains("just taken"),
        "{replay}"
    );
    let live: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM bookings WHERE status = 'booked' AND resource_id = 1",
    )
    .fetch_one(&stack.db)
    .await?;
    assert_eq!(live, 1);
    // The slot is gone from the offer.
    browser.go(&day_url).await?;
    let options = slot_options(&browser).await?;
    assert!(!options.contains("10:00"), "{options}");

    // The week view shows it on its Saturday.
    browser
        .go(&stack.web_url(&format!(
            "/office/calendar?resource=1&day={saturday}&view=week"
        )))
        .await?;
    let column = browser
        .text_until(&format!(".cal-day[data-day='{saturday}']"), |t| {
            t.contains("Petro Phoned")
        })
        .await?;
    assert!(column.contains("10:00"), "{column}");
    browser.screenshot("office-calendar-week").await?;

    // Ukrainian, phone-sized.
    browser
        .go(&stack.web_url(&format!(
            "/office/language/uk?back=/office/calendar%3Fresource%3D1%26day%3D{saturday}"
        )))
        .await?;
    browser.text_until("h1", |t| t.contains("Календар")).await?;
    browser
        .client
        .set_window_size(390, 844)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    browser.screenshot("office-calendar-phone-uk").await?;
    browser
        .client
        .set_window_size(1400, 1000)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    browser
        .go(&stack.web_url("/office/language/en?back=/office/calendar"))
        .await?;
    browser.text_until("h1", |t| t.contains("Calendar")).await?;

    // Move it to 12:30: the slot and its reminders move.
    browser.go(&day_url).await?;
    let before: DateTime<Utc> = sqlx::query_scalar("SELECT starts_at FROM bookings WHERE id = ?")
        .bind(booking_id)
        .fetch_one(&stack.db)
        .await?;
    let to_option = browser
        .run(
            "const s = document.querySelector('.booking .move select');
             const o = [...s.options].find(o => o.text === '12:30');
             s.value = o.value; return o.value;",
        )
        .await?;
    assert!(to_option.is_string(), "{to_option}");
    browser.click(".booking .move button").await?;
    browser
        .text_until("#cal-ok", |t| t.contains("moved"))
        .await?;
    let after: DateTime<Utc> = sqlx::query_scalar("SELECT starts_at FROM bookings WHERE id = ?")
        .bind(booking_id)
        .fetch_one(&stack.db)
        .await?;
    assert_eq!(after - before, chrono::Duration::minutes(150));
    let due: DateTime<Utc> = sqlx::query_scalar(
        "SELECT due_at FROM reminders WHERE kind = 'booking_1h' AND subject_id = ?",
    )
    .bind(booking_id)
    .fetch_one(&stack.db)
    .await?;
    assert_eq!(due, after - chrono::Duration::hours(1));

    // Cancel it: the slot is free again, the reminders called off.
    browser.click(".booking .cancel-booking").await?;
    browser
        .text_until("#cal-ok", |t| t.contains("cancelled"))
        .await?;
    let options = slot_options(&browser).await?;
    assert!(options.contains("12:30"), "{options}");
    let called_off: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM reminders WHERE subject_id = ? AND skipped_reason = 'cancelled'",
    )
    .bind(booking_id)
    .fetch_one(&stack.db)
    .await?;
    assert_eq!(called_off, 2);

    // Every step is in the audit log.
    let actions = eventually("the audit rows", DEADLINE, || async {
        let actions: Vec<String> = sqlx::query_scalar(
            "SELECT action FROM staff_audit WHERE action IN
               ('schedule_update', 'booking_create', 'booking_move', 'booking_cancel') ORDER BY id",
        )
        .fetch_all(&stack.db)
        .await
        .ok()?;
        (actions.len() == 4).then_some(actions)
    })
    .await?;
    assert_eq!(
        actions,
        [
            "schedule_update",
            "booking_create",
            "booking_move",
            "booking_cancel"
        ]
    );

    // And each change was announced like a customer's: `BookingChanged`, by the manager,
    // through the outbox into booking_history.
    let olha: Uuid =
        sqlx::query_scalar("SELECT id FROM web_accounts WHERE email = 'olha@example.com'")
            .fetch_one(&stack.db)
            .await?;
    let by = format!("staff:{olha}");
    let expected: Vec<(String, String)> = ["booked", "rescheduled", "cancelled"]
        .iter()
        .map(|change| ((*change).to_owned(), by.clone()))
        .collect();
    eventually(
        "the staff's changes in booking_history",
        DEADLINE,
        || async {
            let history: Vec<(String, String)> = sqlx::query_as(
                "SELECT CAST(change_kind AS CHAR), changed_by FROM booking_history
             WHERE booking_id = ? ORDER BY changed_at, event_id",
            )
            .bind(booking_id)
            .fetch_all(&stack.db)
            .await
            .ok()?;
            (history == expected).then_some(())
        },
    )
    .await?;
    Ok(())
}
