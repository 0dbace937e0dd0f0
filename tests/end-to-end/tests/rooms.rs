//! Rooms in the back office, in a real browser (headless Chromium over WebDriver, the whole
//! stack): a manager creates a room (a nameless one refused first) that does interpreting,
//! sets its working hours, and books a customer who phoned into it; the booking is the
//! room's, not the interpreter's. A room holding a booking ahead is not deactivated (409,
//! "move or cancel them first"); once the booking is cancelled it is, and nothing more can
//! be booked with it. Every step is in the audit log. Screenshots of the list and the form.

use anyhow::anyhow;
use bureau_accounts::Role;
use bureau_end_to_end::browser;
use bureau_end_to_end::{DEADLINE, TestStack, eventually};
use chrono::{Datelike, Utc};
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery";

/// The next Saturday in Kyiv (never today), as `YYYY-MM-DD`.
fn next_saturday() -> String {
    let today = (Utc::now() + chrono::Duration::hours(2)).date_naive();
    let ahead = (5 - today.weekday().num_days_from_monday() as i64 + 7) % 7;
    let ahead = if ahead == 0 { 7 } else { ahead };
    (today + chrono::Duration::days(ahead)).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_creates_a_room_sets_its_hours_and_books_a_phoned_in_customer_into_it()
-> anyhow::Result<()> {
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

    // The list, from the navigation: the interpreter is there, no room yet.
    browser.go(&stack.web_url("/office")).await?;
    browser.click("#nav-resources").await?;
    let list = browser
        .text_until("#resources", |t| t.contains("Interpreter"))
        .await?;
    assert!(!list.contains("Room 2"), "{list}");

    // A room without a name is refused, nothing created.
    browser.click("#add-resource").await?;
    browser.find("#resource-form").await?;
    browser
        .run("document.querySelector('#resource-name').removeAttribute('required')")
        .await?;
    browser.click("#resource-save").await?;
    browser
        .text_until(".field-error", |t| t.contains("Give a name"))
        .await?;
    let rooms: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM booking_resources")
        .fetch_one(&stack.db)
        .await?;
    assert_eq!(rooms, 1);

    // Room 2, in the business's zone (blank), doing interpreting.
    browser.fill("#resource-name", "Room 2").await?;
    browser
        .click("#resource-services input[name='service']")
        .await?;
    browser.screenshot("office-room-form").await?;
    browser.click("#resource-save").await?;
    // The creation leads to its working hours.
    browser
        .text_until("h1", |t| t.contains("Working hours: Room 2"))
        .await?;
    let (room, zone, kind): (u32, String, String) = sqlx::query_as(
        "SELECT id, time_zone, CAST(kind AS CHAR) FROM booking_resources WHERE name = 'Room 2'",
    )
    .fetch_one(&stack.db)
    .await?;
    assert_eq!((zone.as_str(), kind.as_str()), ("Europe/Kyiv", "room"));
    let services: Vec<String> = sqlx::query_scalar(
        "SELECT s.code FROM booking_resource_services rs JOIN catalogue_services s ON s.id = rs.service_id
         WHERE rs.resource_id = ?",
    )
    .bind(room)
    .fetch_all(&stack.db)
    .await?;
    assert_eq!(services, ["interpreting"]);

    // Its hours: Saturdays 09:00-12:00.
    browser.fill("#hours-6", "09:00-12:00").await?;
    browser.click("#schedule-save").await?;
    browser.find("#saved").await?;

    // The room's Saturday offers 09:00, 09:30 ... 11:00 for the 60-minute interpreting
    // (the interpreter does not work Saturdays at all).
    let saturday = next_saturday();
    let day_url = stack.web_url(&format!(
        "/office/calendar?resource={room}&day={saturday}&view=day"
    ));
    browser.go(&day_url).await?;
    let options = browser
        .run("return [...document.querySelectorAll('#book-slot option')].map(o => o.text).join('\\n')")
        .await?
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        options.starts_with("09:00") && options.contains("11:00"),
        "{options}"
    );
    assert!(!options.contains("11:30"), "runs past noon: {options}");

    // Book the customer who phoned into 09:00.
    browser.fill("#book-phone", "+38 067 765 43 21").await?;
    browser.fill("#book-name", "Roman Phoned").await?;
    browser.click("#book-submit").await?;
    browser.find("#cal-ok").await?;
    let card = browser
        .text_until(".booking", |t| t.contains("Roman Phoned"))
        .await?;
    assert!(card.contains("09:00–10:00"), "{card}");
    browser.screenshot("office-room-calendar").await?;
    let (booking, resource): (Uuid, u32) = sqlx::query_as(
        "SELECT b.id, b.resource_id FROM bookings b JOIN customers c ON c.id = b.customer_id
         WHERE b.status = 'booked' AND c.display_name = 'Roman Phoned'",
    )
    .fetch_one(&stack.db)
    .await?;
    assert_eq!(resource, room, "booked into the room");

    // Rename it; the list shows the booking ahead.
    browser
        .go(&stack.web_url(&format!("/office/resources/{room}")))
        .await?;
    browser.fill("#resource-name", "Blue room").await?;
    browser.click("#resource-save").await?;
    browser.find("#resource-saved").await?;
    browser.go(&stack.web_url("/office/resources")).await?;
    let row = browser
        .text_until(&format!("tr[data-resource='{room}']"), |t| {
            t.contains("Blue room")
        })
        .await?;
    assert!(row.contains("Interpreting") && row.contains('1'), "{row}");
    browser.screenshot("office-rooms").await?;

    // Not deactivated while it holds that booking.
    browser
        .click(&format!("tr[data-resource='{room}'] .deactivate"))
        .await?;
    browser
        .text_until("#resources-error", |t| t.contains("1 bookings ahead"))
        .await?;
    let active: bool = sqlx::query_scalar("SELECT active FROM booking_resources WHERE id = ?")
        .bind(room)
        .fetch_one(&stack.db)
        .await?;
    assert!(active);

    // Cancel the booking in the calendar, then it goes.
    browser.go(&day_url).await?;
    browser.click(".booking .cancel-booking").await?;
    browser
        .text_until("#cal-ok", |t| t.contains("cancelled"))
        .await?;
    browser.go(&stack.web_url("/office/resources")).await?;
    browser
        .click(&format!("tr[data-resource='{room}'] .deactivate"))
        .await?;
    browser
        .text_until("#resources-ok", |t| t.contains("Deactivated"))
        .await?;
    let active: bool = sqlx::query_scalar("SELECT active FROM booking_resources WHERE id = ?")
        .bind(room)
        .fetch_one(&stack.db)
        .await?;
    assert!(!active);
    // Nothing is booked with it any more: the store refuses an inactive resource.
    let offered = bureau_scheduling::store::free_on(
        &stack.db,
        room,
        saturday.parse()?,
        60,
        bureau_scheduling::jiff::Timestamp::now(),
    )
    .await;
    assert!(
        matches!(
            offered,
            Err(bureau_scheduling::store::BookingError::NotFound)
        ),
        "{offered:?}"
    );
    let cancelled: String =
        sqlx::query_scalar("SELECT CAST(status AS CHAR) FROM bookings WHERE id = ?")
            .bind(booking)
            .fetch_one(&stack.db)
            .await?;
    assert_eq!(cancelled, "cancelled");

    // Every step is in the audit log.
    let actions = eventually("the audit rows", DEADLINE, || async {
        let actions: Vec<String> = sqlx::query_scalar(
            "SELECT action FROM staff_audit WHERE action LIKE 'resource_%' OR action IN
               ('schedule_update', 'booking_create', 'booking_cancel') ORDER BY id",
        )
        .fetch_all(&stack.db)
        .await
        .ok()?;
        (actions.len() == 6).then_some(actions)
    })
    .await?;
    assert_eq!(
        actions,
        [
            "resource_create",
            "schedule_update",
            "booking_create",
            "resource_update",
            "booking_cancel",
            "resource_deactivate"
        ]
    );
    Ok(())
}
