//! Booking time slots on the whole real stack (RabbitMQ, MariaDB, S3, every service;
//! Telegram doubled):
//! 1. 50 customers — 25 in Telegram across two bot-gateway replicas, 25 on the web API —
//!    take the same slot at once: exactly one gets it, each of the others is told and
//!    offered the next free ones, and MySQL refuses a second live booking of the slot;
//! 2. a customer books a slot in the bot's calendar, a forged button changes nothing, they
//!    reschedule and the old slot is free again; a web customer books, reschedules and
//!    cancels, cannot touch someone else's booking, and cannot book the past;
//! 3. a web hold never sent with an order expires after 15 minutes (the clock moved, not
//!    waited for) and its slot is free, while one sent with its order does not; staff's
//!    phoned-in booking, move and cancel reach `booking_history` like customers'; and an
//!    event committed while every gateway is down is published when one comes back (the
//!    outbox);
//! 4. interpreting done by two resources (the interpreter and a room): two web customers
//!    take one time and both get it, on different resources, a third is offered the next
//!    free times; the back office's "all rooms and staff" calendar names the resource each
//!    booking took, and the room's form names the interpreter as also doing the service;
//! 5. a time chosen in the bot's calendar is a hold, like the portal's: 15 minutes from the
//!    choice; once it ran out (the clock moved, not waited for) Confirm sends nothing, says
//!    the time was released and shows the calendar again; a time chosen again and confirmed
//!    in time joins the order (no longer a hold).

use std::time::Instant;

use anyhow::{Context, anyhow};
use bot_gateway::calendar::{CALENDAR_TTL_MINUTES, CalendarButton, Pressed, Signer};
use bot_gateway::dialogue::Language;
use bot_gateway::texts::{Texts, key};
use bureau_end_to_end::telegram_customer::{button_with_prefix, reply_since};
use bureau_end_to_end::web::register_customer;
use bureau_end_to_end::webhook_proxy::Replicas;
use bureau_end_to_end::{DEADLINE, TestStack, eventually};
use bureau_scheduling::jiff::Timestamp;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{Value, json};
use telegram_double::{SentMessage, SimUser};

const UK: Language = Language::Uk;
/// The sample catalogue's bookable "interpreting" (60 minutes, resource 1).
const INTERPRETING: &str = "interpreting";
const INTERPRETING_ID: u32 = 8;

/// The part of a calendar button's data at `index` (`verb:context:service:value:...`).
fn part(data: &str, index: usize) -> Option<&str> {
    data.split(':').nth(index)
}

fn day_number(day: NaiveDate) -> i64 {
    (day - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days()
}

fn minute_number(at: DateTime<Utc>) -> i64 {
    at.timestamp() / 60
}

/// The first local day from the day after tomorrow with at least four free slots, and them.
async fn free_day(stack: &TestStack) -> anyhow::Result<(NaiveDate, Vec<DateTime<Utc>>)> {
    let from = (Utc::now() + Duration::days(2)).date_naive();
    let slots: Value = stack
        .http
        .get(stack.web_url(&format!(
            "/api/services/{INTERPRETING}/slots?from={from}&days=14"
        )))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    for day in slots["days"].as_array().context("days")? {
        let starts: Vec<DateTime<Utc>> = serde_json::from_value(day["slots"].clone())?;
        if starts.len() >= 4 {
            let date: NaiveDate = day["date"].as_str().context("date")?.parse()?;
            return Ok((date, starts));
        }
    }
    Err(anyhow!("no day with free slots: {slots}"))
}

async fn free_on(stack: &TestStack, day: NaiveDate) -> anyhow::Result<Vec<DateTime<Utc>>> {
    let slots: Value = stack
        .http
        .get(stack.web_url(&format!(
            "/api/services/{INTERPRETING}/slots?from={day}&days=1"
        )))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(serde_json::from_value(slots["days"][0]["slots"].clone())?)
}

/// Presses `data` under `message` and waits for the bot's edit of that message after it.
async fn press_for_edit(
    stack: &TestStack,
    user: &SimUser,
    message: &SentMessage,
    data: &str,
    pred: impl Fn(&SentMessage) -> bool,
) -> anyhow::Result<SentMessage> {
    let since = Instant::now();
    let id = message.message_id;
    user.press_button(id, data);
    reply_since(&stack.telegram, user, since, DEADLINE, |m| {
        m.message_id == id && m.edited && pred(m)
    })
    .await
}

/// A Telegram customer from `/start` to the day view of `day` in the calendar of a new
/// order for interpreting.
async fn to_the_day(
    stack: &TestStack,
    t: &Texts,
    user: &SimUser,
    day: NaiveDate,
) -> anyhow::Result<SentMessage> {
    let since = Instant::now();
    user.send_text("/start");
    reply_since(&stack.telegram, user, since, DEADLINE, |m| {
        m.reply_markup.is_some()
    })
    .await?;
    let since = Instant::now();
    user.send_text(&t.get(UK, key::MENU_NEW_ORDER));
    let service_button = |m: &SentMessage| {
        m.inline_buttons()
            .into_iter()
            .map(|(_, data)| data)
            .find(|data| data.starts_with("cs:") && data.ends_with(&format!(":{INTERPRETING_ID}")))
    };
    let top = reply_since(&stack.telegram, user, since, DEADLINE, |m| {
        service_button(m).is_some()
    })
    .await
    .context("the catalogue")?;
    let since = Instant::now();
    user.press_button(top.message_id, &service_button(&top).unwrap());
    let calendar = reply_since(&stack.telegram, user, since, DEADLINE, |m| {
        button_with_prefix(m, "kd:").is_some() || button_with_prefix(m, "kw:").is_some()
    })
    .await
    .context("the calendar under the card")?;
    calendar_to_the_day(stack, t, user, calendar, day).await
}

/// From a calendar message (a week of days) to the day view of `day`, paging forward.
async fn calendar_to_the_day(
    stack: &TestStack,
    t: &Texts,
    user: &SimUser,
    mut calendar: SentMessage,
    day: NaiveDate,
) -> anyhow::Result<SentMessage> {
    let wanted = format!("{:x}", day_number(day));
    let has_day = |m: &SentMessage| {
        m.inline_buttons()
            .into_iter()
            .map(|(_, data)| data)
            .find(|data| data.starts_with("kd:") && part(data, 3) == Some(wanted.as_str()))
    };
    // Page forward to the day's week.
    for _ in 0..3 {
        if has_day(&calendar).is_some() {
            break;
        }
        let later = calendar
            .inline_buttons()
            .into_iter()
            .find(|(label, _)| *label == t.get(UK, key::BOOKING_LATER))
            .map(|(_, data)| data)
            .context("a later week")?;
        calendar = press_for_edit(stack, user, &calendar, &later, |m| {
            button_with_prefix(m, "kw:").is_some()
        })
        .await?;
    }
    let day_data = has_day(&calendar).with_context(|| format!("{day} in the calendar"))?;
    press_for_edit(stack, user, &calendar, &day_data, |m| {
        button_with_prefix(m, "kt:").is_some()
    })
    .await
    .context("the day's times")
}

/// The button under `message` that books (or moves to) `slot`.
fn time_button(message: &SentMessage, verb: &str, slot: DateTime<Utc>) -> Option<String> {
    let wanted = format!("{:x}", minute_number(slot));
    message
        .inline_buttons()
        .into_iter()
        .map(|(_, data)| data)
        .find(|data| data.starts_with(verb) && part(data, 3) == Some(wanted.as_str()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_customers_on_the_web_and_two_bot_replicas_take_one_slot_and_exactly_one_gets_it()
-> anyhow::Result<()> {
    let mut stack = TestStack::start().await?;
    let t = Texts::load();
    let replicas = Replicas::start(&mut stack, 2).await?;
    let (day, starts) = free_day(&stack).await?;
    let slot = starts[0];

    // Everyone gets ready: 25 Telegram customers at the day's times, 25 web customers signed in.
    let telegram: Vec<SimUser> = (0..25)
        .map(|i| {
            stack
                .telegram
                .user_with(9100 + i, &format!("Клієнт {i}"), "uk")
        })
        .collect();
    let days = futures::future::try_join_all(
        telegram
            .iter()
            .map(|user| to_the_day(&stack, &t, user, day)),
    )
    .await?;
    // One by one: password hashing runs in few slots, and a registration finding none waits.
    let mut tokens = Vec::with_capacity(25);
    for i in 0..25 {
        tokens.push(register_customer(&stack, &format!("race{i}@example.com"), "Web").await?);
    }

    // All at once.
    let started = Instant::now();
    let stack_ref = &stack;
    let in_telegram = telegram.iter().zip(&days).map(|(user, day_view)| {
        let data = time_button(day_view, "kt:", slot);
        async move {
            let data = data.context("the slot's button")?;
            let edit = press_for_edit(stack_ref, user, day_view, &data, |m| {
                button_with_prefix(m, "bm:").is_some() || button_with_prefix(m, "kt:").is_some()
            })
            .await?;
            anyhow::Ok(Outcome::Telegram(edit))
        }
    });
    let on_the_web = tokens.iter().map(|token| {
        let request = stack
            .http
            .post(stack.web_url("/api/bookings"))
            .bearer_auth(token)
            .json(&json!({"service_code": INTERPRETING, "starts_at": slot}));
        async move {
            let response = request.send().await?;
            let status = response.status().as_u16();
            anyhow::Ok(Outcome::Web(status, response.json::<Value>().await?))
        }
    });
    let (telegram_outcomes, web_outcomes) = tokio::join!(
        futures::future::try_join_all(in_telegram),
        futures::future::try_join_all(on_the_web)
    );
    let outcomes: Vec<Outcome> = telegram_outcomes?
        .into_iter()
        .chain(web_outcomes?)
        .collect();
    let elapsed = started.elapsed();

    let mut winners = 0;
    let mut winner = "";
    for outcome in &outcomes {
        match outcome {
            Outcome::Telegram(edit) if button_with_prefix(edit, "bm:").is_some() => {
                winners += 1;
                winner = "a Telegram customer";
            }
            Outcome::Telegram(edit) => {
                let offered: Vec<String> = edit
                    .inline_buttons()
                    .into_iter()
                    .map(|(_, data)| data)
                    .filter(|data| data.starts_with("kt:"))
                    .collect();
                assert_eq!(offered.len(), 3, "the next free ones: {}", edit.body());
                assert!(
                    time_button(edit, "kt:", slot).is_none(),
                    "never the taken one"
                );
                assert!(edit.body().starts_with("😕"), "told: {}", edit.body());
            }
            Outcome::Web(201, _) => {
                winners += 1;
                winner = "a web customer";
            }
            Outcome::Web(409, body) => {
                assert_eq!(body["error"]["code"], "taken", "{body}");
                let offered: Vec<DateTime<Utc>> =
                    serde_json::from_value(body["next_free"].clone())?;
                assert_eq!(offered.len(), 3, "{body}");
                assert!(!offered.contains(&slot), "never the taken one: {body}");
                assert!(offered.iter().all(|at| *at > slot), "{body}");
            }
            Outcome::Web(status, body) => panic!("a web customer got {status}: {body}"),
        }
    }
    assert_eq!(winners, 1, "exactly one of the 50 gets the slot");
    let served = replicas.served();
    assert!(
        served.iter().all(|&n| n > 0),
        "both replicas took part: {served:?}"
    );

    let live: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM bookings WHERE resource_id = 1 AND starts_at = ? AND status = 'booked'",
    )
    .bind(slot)
    .fetch_one(&stack.db)
    .await?;
    assert_eq!(live, 1, "one live booking of the slot in MySQL");
    // The database itself refuses a second live booking of the slot.
    let again = sqlx::query(
        "INSERT INTO bookings (id, resource_id, service_code, booked_by, starts_at, ends_at, created_at)
         VALUES (?, 1, 'interpreting', 'test', ?, ?, NOW(6))",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(slot)
    .bind(slot + Duration::minutes(60))
    .execute(&stack.db)
    .await;
    match again {
        Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {}
        other => panic!("a second live booking of the slot must be refused: {other:?}"),
    }
    // The winner's booking reached the persistence worker as an event.
    eventually(
        "the booking recorded in booking_history",
        DEADLINE,
        || async {
            let recorded: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM booking_history h JOIN bookings b ON b.id = h.booking_id
             WHERE b.starts_at = ? AND b.status = 'booked' AND h.change_kind = 'booked'",
            )
            .bind(slot)
            .fetch_one(&stack.db)
            .await
            .ok()?;
            (recorded == 1).then_some(())
        },
    )
    .await?;
    assert!(!free_on(&stack, day).await?.contains(&slot));
    eprintln!(
        "50 customers raced for one slot: {winner} got it; all answered in {elapsed:?}; replicas served {served:?}"
    );

    drop(replicas);
    stack.teardown().await
}

enum Outcome {
    Telegram(SentMessage),
    Web(u16, Value),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_books_reschedules_and_the_old_slot_is_free_again() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let t = Texts::load();
    let (day, starts) = free_day(&stack).await?;
    let (first, second) = (starts[0], starts[2]);

    // In the bot: book the first slot.
    let user = stack.telegram.user_with(9301, "Оксана", "uk");
    let day_view = to_the_day(&stack, &t, &user, day).await?;
    let take = time_button(&day_view, "kt:", first).context("the first slot")?;

    // Signed as the bot signs: an expired calendar's button, and a fresh one for a time
    // already past. Each is answered and books nothing.
    let signer = Signer::new(stack.settings.telegram.token.expose());
    let genuine = Pressed::parse(&take).context("a calendar button")?.button;
    let at = |seconds: i64| Timestamp::from_second(seconds).unwrap();
    let now = Utc::now().timestamp();
    let expired = signer.data(genuine, 9301, at(now - 3 * 3600), CALENDAR_TTL_MINUTES);
    let query = user.press_button(day_view.message_id, &expired);
    let answer = stack
        .telegram
        .wait_for_callback_answer(&query, DEADLINE)
        .await?;
    assert_eq!(answer.text, Some(t.get(UK, key::BOOKING_EXPIRED)));
    let past = CalendarButton {
        value: (now - 3600) / 60,
        ..genuine
    };
    let past = signer.data(past, 9301, at(now), CALENDAR_TTL_MINUTES);
    let query = user.press_button(day_view.message_id, &past);
    let answer = stack
        .telegram
        .wait_for_callback_answer(&query, DEADLINE)
        .await?;
    assert_eq!(answer.text, Some(t.get(UK, key::BOOKING_PAST)));
    let none: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM bookings WHERE booked_by = 'telegram:9301'")
            .fetch_one(&stack.db)
            .await?;
    assert_eq!(none, 0, "nothing booked by an expired or past button");
    let booked = press_for_edit(&stack, &user, &day_view, &take, |m| {
        button_with_prefix(m, "bm:").is_some()
    })
    .await?;
    assert!(booked.body().starts_with("✅"), "{}", booked.body());
    assert!(!free_on(&stack, day).await?.contains(&first));

    // A forged button (another start under a genuine MAC) changes nothing.
    let reschedule = button_with_prefix(&booked, "bm:").unwrap();
    let (signed, mac) = take.rsplit_once(':').unwrap();
    let mut parts: Vec<&str> = signed.split(':').collect();
    let other_start = format!("{:x}", minute_number(second));
    parts[3] = &other_start;
    let forged = format!("{}:{mac}", parts.join(":"));
    let query = user.press_button(booked.message_id, &forged);
    let answer = stack
        .telegram
        .wait_for_callback_answer(&query, DEADLINE)
        .await?;
    assert_eq!(answer.text, Some(t.get(UK, key::BOOKING_FORGED)));
    assert!(free_on(&stack, day).await?.contains(&second), "still free");

    // Reschedule: this week's days, the day, the second slot.
    let week = press_for_edit(&stack, &user, &booked, &reschedule, |m| {
        button_with_prefix(m, "rd:").is_some() || button_with_prefix(m, "rw:").is_some()
    })
    .await?;
    let mut week = week;
    let wanted = format!("{:x}", day_number(day));
    for _ in 0..3 {
        if let Some(data) = week
            .inline_buttons()
            .into_iter()
            .map(|(_, d)| d)
            .find(|d| d.starts_with("rd:") && part(d, 3) == Some(wanted.as_str()))
        {
            let times = press_for_edit(&stack, &user, &week, &data, |m| {
                button_with_prefix(m, "rt:").is_some()
            })
            .await?;
            let move_to = time_button(&times, "rt:", second).context("the second slot")?;
            let moved = press_for_edit(&stack, &user, &times, &move_to, |m| {
                button_with_prefix(m, "bm:").is_some()
            })
            .await?;
            assert!(moved.body().starts_with("🔁"), "{}", moved.body());
            break;
        }
        let later = week
            .inline_buttons()
            .into_iter()
            .find(|(label, _)| *label == t.get(UK, key::BOOKING_LATER))
            .map(|(_, data)| data)
            .context("a later week")?;
        week = press_for_edit(&stack, &user, &week, &later, |m| {
            button_with_prefix(m, "rw:").is_some()
        })
        .await?;
    }
    let free = free_on(&stack, day).await?;
    assert!(
        free.contains(&first),
        "the old slot is free again: {free:?}"
    );
    assert!(!free.contains(&second), "the new one is taken");
    let by_user: Vec<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT starts_at FROM bookings WHERE booked_by = 'telegram:9301' AND status = 'booked'",
    )
    .fetch_all(&stack.db)
    .await?;
    assert_eq!(by_user, vec![second]);
    eventually(
        "booked and rescheduled in booking_history",
        DEADLINE,
        || async {
            let kinds: Vec<String> = sqlx::query_scalar(
                "SELECT CAST(change_kind AS CHAR) FROM booking_history
             WHERE changed_by = 'telegram:9301' ORDER BY changed_at",
            )
            .fetch_all(&stack.db)
            .await
            .ok()?;
            (kinds == ["booked", "rescheduled"]).then_some(())
        },
    )
    .await?;

    // On the web: book, reschedule, cancel; others' bookings and the past are refused.
    let olena = register_customer(&stack, "olena@example.com", "Olena").await?;
    let petro = register_customer(&stack, "petro@example.com", "Petro").await?;
    // Clear of the Telegram customer's hour (slots start every 30 minutes and last 60).
    let third = *starts.last().context("a last slot")?;
    let booked: Value = stack
        .http
        .post(stack.web_url("/api/bookings"))
        .bearer_auth(&olena)
        .json(&json!({"service_code": INTERPRETING, "starts_at": first}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = booked["booking_id"]
        .as_str()
        .context("booking_id")?
        .to_owned();
    assert!(!free_on(&stack, day).await?.contains(&first));
    let foreign = stack
        .http
        .delete(stack.web_url(&format!("/api/bookings/{id}")))
        .bearer_auth(&petro)
        .send()
        .await?;
    assert_eq!(foreign.status(), 404, "not someone else's booking");
    let moved = stack
        .http
        .post(stack.web_url(&format!("/api/bookings/{id}/reschedule")))
        .bearer_auth(&olena)
        .json(&json!({"starts_at": third}))
        .send()
        .await?;
    assert_eq!(moved.status(), 200, "{}", moved.text().await?);
    let free = free_on(&stack, day).await?;
    assert!(free.contains(&first) && !free.contains(&third), "{free:?}");
    let listed: Value = stack
        .http
        .get(stack.web_url("/api/bookings"))
        .bearer_auth(&olena)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(
        listed["bookings"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    let cancelled = stack
        .http
        .delete(stack.web_url(&format!("/api/bookings/{id}")))
        .bearer_auth(&olena)
        .send()
        .await?;
    assert_eq!(cancelled.status(), 200);
    assert!(
        free_on(&stack, day).await?.contains(&third),
        "free after the cancel"
    );
    let past = stack
        .http
        .post(stack.web_url("/api/bookings"))
        .bearer_auth(&olena)
        .json(&json!({"service_code": INTERPRETING, "starts_at": first - Duration::days(7)}))
        .send()
        .await?;
    assert_eq!(past.status(), 422);
    let past: Value = past.json().await?;
    assert_eq!(past["error"]["code"], "in_past", "{past}");

    // The Telegram customer drops the draft with /cancel: its time is free again.
    let since = Instant::now();
    user.send_text("/cancel");
    reply_since(&stack.telegram, &user, since, DEADLINE, |m| {
        m.body().contains("знову вільний")
    })
    .await?;
    assert!(free_on(&stack, day).await?.contains(&second), "freed");

    stack.teardown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_order_form_books_a_day_and_time_for_a_bookable_service() -> anyhow::Result<()> {
    let Some(browser) = bureau_end_to_end::browser::browser().await? else {
        return Ok(());
    };
    let stack = TestStack::start().await?;
    register_customer(&stack, "iryna@example.com", "Iryna").await?;
    browser.go(&stack.web_url("/portal/sign-in")).await?;
    browser
        .fill("input[name=email]", "iryna@example.com")
        .await?;
    browser
        .fill("input[name=password]", bureau_end_to_end::web::PASSWORD)
        .await?;
    browser.click("#sign-in button[type=submit]").await?;
    browser.find("#orders").await?;

    browser.go(&stack.web_url("/portal/orders/new")).await?;
    browser
        .click(&format!("#service option[value='{INTERPRETING}']"))
        .await?;
    // The picker appears with this week's days (on a weekend none: then the next week).
    browser.find("#slot-picker:not([hidden])").await?;
    for _ in 0..3 {
        let week = browser.text_until("#slot-week", |t| !t.is_empty()).await?;
        let days = browser
            .run("return document.querySelectorAll('.slot-day').length")
            .await?;
        if days.as_u64().unwrap_or(0) > 0 {
            break;
        }
        browser.click("#slot-later").await?;
        browser.text_until("#slot-week", |t| t != week).await?;
    }
    browser.click(".slot-day").await?;
    browser.click(".slot-time").await?;
    let status = browser
        .text_until("#slot-status", |t| t.starts_with("Booked:"))
        .await?;
    browser.screenshot("portal-slot-picker").await?;
    browser
        .fill("textarea[name=text]", "An interpreter for a notary visit")
        .await?;
    browser.click("#send-order").await?;

    // The order placed holds the booking the picker made.
    let order_id: uuid::Uuid = eventually("the order in MySQL", DEADLINE, || async {
        sqlx::query_scalar("SELECT id FROM orders WHERE body LIKE '%notary%'")
            .fetch_optional(&stack.db)
            .await
            .ok()?
    })
    .await
    .with_context(|| format!("after {status:?}"))?;
    let (held_for, booked_by): (Option<uuid::Uuid>, String) =
        sqlx::query_as("SELECT order_id, booked_by FROM bookings WHERE status = 'booked'")
            .fetch_one(&stack.db)
            .await?;
    assert_eq!(held_for, Some(order_id), "the booking joined the order");
    assert!(booked_by.starts_with("web:"), "{booked_by}");

    stack.teardown().await
}

/// The moment as every reader is told it: the business's zone (Kyiv), the reader's language.
fn told(at: DateTime<Utc>, language: &str) -> String {
    let kyiv = bureau_scheduling::jiff::tz::TimeZone::get("Europe/Kyiv").unwrap();
    bureau_scheduling::booked::when(bureau_scheduling::from_chrono(at), &kyiv, language)
}

/// The booked time wherever the order is looked at: the bot's card as soon as the time is
/// booked (edited in place), `/status`, the status push when staff accept it, the order's
/// page (opened from the push) with Reschedule and Cancel, and the back office's order page
/// and list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_booked_time_shows_on_the_card_status_pushes_and_order_pages() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let t = Texts::load();
    let (day, starts) = free_day(&stack).await?;
    let slot = starts[1];
    let when = told(slot, "uk");

    let user = stack.telegram.user_with(9401, "Ірина", "uk");
    let day_view = to_the_day(&stack, &t, &user, day).await?;
    let take = time_button(&day_view, "kt:", slot).context("the slot")?;
    let since = Instant::now();
    user.press_button(day_view.message_id, &take);
    // The card (the message with Confirm) is edited to show the time.
    let card = reply_since(&stack.telegram, &user, since, DEADLINE, |m| {
        m.edited && button_with_prefix(m, "confirm:").is_some() && m.body().contains(&when)
    })
    .await
    .context("the card showing the booked time")?;
    assert!(card.body().contains("🗓 Час: "), "{}", card.body());

    let number =
        bureau_end_to_end::telegram_customer::confirm(&stack.telegram, &user, &card, DEADLINE)
            .await?;
    let order_id: uuid::Uuid = eventually("the order recorded", DEADLINE, || async {
        sqlx::query_scalar("SELECT id FROM orders WHERE order_number = ?")
            .bind(&number)
            .fetch_optional(&stack.db)
            .await
            .ok()
            .flatten()
    })
    .await?;

    // /status says when.
    let since = Instant::now();
    user.send_text(&format!("/status {number}"));
    let status = reply_since(&stack.telegram, &user, since, DEADLINE, |m| {
        m.body().contains(&number)
    })
    .await?;
    assert!(
        status.body().contains("Записано на: ") && status.body().contains(&when),
        "{}",
        status.body()
    );

    // Staff accept it: the push says when.
    let manager =
        bureau_end_to_end::web::staff(&stack, "mila@example.com", bureau_accounts::Role::Manager)
            .await?;
    let since = Instant::now();
    let answer =
        bureau_end_to_end::web::change_status(&stack, &manager, order_id, "accepted").await?;
    assert!(answer.status().is_success(), "{}", answer.text().await?);
    let push = reply_since(&stack.telegram, &user, since, DEADLINE, |m| {
        !m.edited && m.body().contains(&number) && m.body().contains("🗓")
    })
    .await
    .context("the status push with the time")?;
    assert!(
        push.body().contains(&format!("🗓 Ваш час: {when}")),
        "{}",
        push.body()
    );

    // The order's page, from the push's "Open order": the time, with Reschedule and Cancel.
    let open = button_with_prefix(&push, "order:").context("Open order under the push")?;
    let since = Instant::now();
    user.press_button(push.message_id, &open);
    let page = reply_since(&stack.telegram, &user, since, DEADLINE, |m| {
        m.body().contains(&format!("№{number}")) && button_with_prefix(m, "bm:").is_some()
    })
    .await
    .context("the order page with Reschedule")?;
    assert!(page.body().contains(&when), "{}", page.body());
    assert!(button_with_prefix(&page, "bx:").is_some(), "Cancel booking");

    // The back office, in English: the order page and the list.
    let office = |path: String| {
        let request = stack
            .http
            .get(stack.web_url(&path))
            .bearer_auth(&manager)
            .header("accept-language", "en");
        async move { anyhow::Ok(request.send().await?.text().await?) }
    };
    let when_en = told(slot, "en");
    let order_page = office(format!("/office/orders/{order_id}")).await?;
    assert!(
        order_page.contains(&format!("🗓 {when_en} · Interpreting · Interpreter")),
        "{order_page}"
    );
    let list = office("/office".to_owned()).await?;
    assert!(list.contains(&format!("🗓 {when_en}")), "{list}");
    let board = office("/office/board".to_owned()).await?;
    assert!(board.contains(&format!("🗓 {when_en}")), "{board}");
    Ok(())
}

/// `count` free starts of `starts` at least an hour apart (a booking lasts 60 minutes).
fn apart(starts: &[DateTime<Utc>], count: usize) -> anyhow::Result<Vec<DateTime<Utc>>> {
    let mut chosen: Vec<DateTime<Utc>> = Vec::new();
    for &start in starts {
        if chosen
            .last()
            .is_none_or(|&last| start - last >= Duration::hours(1))
        {
            chosen.push(start);
        }
    }
    anyhow::ensure!(chosen.len() >= count, "not {count} free hours: {starts:?}");
    chosen.truncate(count);
    Ok(chosen)
}

/// The changes `booking_history` holds for `booking`, in order, with who made them.
async fn history(stack: &TestStack, booking: uuid::Uuid) -> anyhow::Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT CAST(change_kind AS CHAR), changed_by FROM booking_history
         WHERE booking_id = ? ORDER BY changed_at, event_id",
    )
    .bind(booking)
    .fetch_all(&stack.db)
    .await?)
}

async fn history_is(
    stack: &TestStack,
    booking: uuid::Uuid,
    expected: &[(&str, &str)],
) -> anyhow::Result<()> {
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(change, by)| ((*change).to_owned(), (*by).to_owned()))
        .collect();
    eventually(
        &format!("booking_history of {booking}: {expected:?}"),
        DEADLINE,
        || async { (history(stack, booking).await.ok()? == expected).then_some(()) },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holds_expire_staff_changes_are_announced_and_the_outbox_outlives_the_gateways()
-> anyhow::Result<()> {
    let mut stack = TestStack::start().await?;
    let (day, starts) = free_day(&stack).await?;
    let slots = apart(&starts, 5)?;
    let olena = register_customer(&stack, "olena@example.com", "Olena").await?;
    let olena_id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM web_accounts WHERE email = 'olena@example.com'")
            .fetch_one(&stack.db)
            .await?;
    let web_by = format!("web:{olena_id}");
    let book = |at: DateTime<Utc>| {
        stack
            .http
            .post(stack.web_url("/api/bookings"))
            .bearer_auth(&olena)
            .json(&json!({"service_code": INTERPRETING, "starts_at": at}))
            .send()
    };
    let booking_id = |answer: &Value| -> anyhow::Result<uuid::Uuid> {
        Ok(answer["booking_id"]
            .as_str()
            .context("booking_id")?
            .parse()?)
    };

    // 1. The picker holds a time for an order not sent yet: 15 minutes from now.
    let before = Utc::now();
    let held: Value = book(slots[0]).await?.error_for_status()?.json().await?;
    let abandoned = booking_id(&held)?;
    let held_until: DateTime<Utc> =
        sqlx::query_scalar("SELECT held_until FROM bookings WHERE id = ?")
            .bind(abandoned)
            .fetch_one(&stack.db)
            .await?;
    assert!(
        held_until >= before + Duration::minutes(15)
            && held_until <= Utc::now() + Duration::minutes(15),
        "{held_until}"
    );
    // The clock moved to 14 minutes on: still held. To 16: expired, the slot free again.
    let at = |minutes: i64| bureau_scheduling::from_chrono(Utc::now() + Duration::minutes(minutes));
    let expire = |now| bureau_scheduling::store::expire_holds(&stack.db, "web-gateway", now, 100);
    assert!(expire(at(14)).await?.is_empty());
    assert!(!free_on(&stack, day).await?.contains(&slots[0]));
    let expired = expire(at(16)).await?;
    assert_eq!(
        expired.iter().map(|b| b.id).collect::<Vec<_>>(),
        [abandoned]
    );
    assert!(free_on(&stack, day).await?.contains(&slots[0]), "freed");
    // Its cancellation reaches booking_history through the gateway's outbox relay.
    history_is(
        &stack,
        abandoned,
        &[
            ("booked", web_by.as_str()),
            ("cancelled", bureau_scheduling::store::HOLD_EXPIRED_BY),
        ],
    )
    .await?;

    // The order form sent afterwards with the expired hold: refused, nothing ordered.
    let price = "120000:UAH:hour";
    let order_form = |booking: uuid::Uuid| {
        vec![
            ("qty.interpreting".to_owned(), "1".to_owned()),
            ("shown.interpreting".to_owned(), price.to_owned()),
            ("text".to_owned(), "Interpreting at the notary".to_owned()),
            ("files".to_owned(), "0".to_owned()),
            ("booking".to_owned(), booking.to_string()),
        ]
    };
    let send_order = |fields: Vec<(String, String)>| {
        stack
            .http
            .post(stack.web_url("/portal/orders"))
            .header("cookie", format!("bureau_session={olena}"))
            .header("origin", stack.web_url(""))
            .header("accept", "application/json")
            .header("accept-language", "en")
            .form(&fields)
            .send()
    };
    let late = send_order(order_form(abandoned)).await?;
    assert_eq!(late.status(), 409);
    let late: Value = late.json().await?;
    assert!(
        late["errors"]["service"]
            .as_str()
            .is_some_and(|e| e.contains("held for 15 minutes")),
        "{late}"
    );
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(&stack.db)
        .await?;
    assert_eq!(orders, 0);

    // 2. A hold sent with its order in time joins it, and never expires.
    let kept: Value = book(slots[1]).await?.error_for_status()?.json().await?;
    let kept = booking_id(&kept)?;
    let placed = send_order(order_form(kept)).await?;
    assert_eq!(placed.status(), 201, "{}", placed.text().await?);
    let placed: Value = placed.json().await?;
    let order_id: uuid::Uuid = placed["order_id"].as_str().context("order_id")?.parse()?;
    let (joined, hold): (Option<uuid::Uuid>, Option<DateTime<Utc>>) =
        sqlx::query_as("SELECT order_id, held_until FROM bookings WHERE id = ?")
            .bind(kept)
            .fetch_one(&stack.db)
            .await?;
    assert_eq!((joined, hold), (Some(order_id), None));
    assert!(expire(at(24 * 60)).await?.is_empty());

    // 3. Staff book a customer who phoned, move and cancel the booking in the back office:
    //    each change reaches booking_history, by the staff member.
    let manager = bureau_end_to_end::web::staff(
        &stack,
        "manager@example.com",
        bureau_accounts::Role::Manager,
    )
    .await?;
    let manager_id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM web_accounts WHERE email = 'manager@example.com'")
            .fetch_one(&stack.db)
            .await?;
    let staff_by = format!("staff:{manager_id}");
    let office = |path: &str, fields: Vec<(&str, String)>| {
        stack
            .http
            .post(stack.web_url(path))
            .header("cookie", format!("bureau_session={manager}"))
            .header("origin", stack.web_url(""))
            .form(&fields)
            .send()
    };
    let booked = office(
        "/office/calendar/book",
        vec![
            ("resource", "1".into()),
            ("day", day.to_string()),
            ("slot", format!("{INTERPRETING}|{}", slots[2].timestamp())),
            ("name", "Petro Phoned".into()),
            ("phone", "+38 050 111 22 33".into()),
            ("language", "en".into()),
        ],
    )
    .await?;
    assert!(booked.status().is_success(), "{}", booked.status());
    let (phoned, customer): (uuid::Uuid, uuid::Uuid) = sqlx::query_as(
        "SELECT id, customer_id FROM bookings WHERE booked_by = ? AND status = 'booked'",
    )
    .bind(&staff_by)
    .fetch_one(&stack.db)
    .await?;
    let moved = office(
        &format!("/office/calendar/bookings/{phoned}/move"),
        vec![("starts", slots[3].timestamp().to_string())],
    )
    .await?;
    assert!(moved.status().is_success(), "{}", moved.status());
    let cancelled = office(
        &format!("/office/calendar/bookings/{phoned}/cancel"),
        vec![],
    )
    .await?;
    assert!(cancelled.status().is_success(), "{}", cancelled.status());
    history_is(
        &stack,
        phoned,
        &[
            ("booked", staff_by.as_str()),
            ("rescheduled", staff_by.as_str()),
            ("cancelled", staff_by.as_str()),
        ],
    )
    .await?;
    // Without an order, the event names the booking itself and the customer.
    let envelopes: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT envelope FROM event_outbox WHERE event_type = 'order.booking.changed' ORDER BY id",
    )
    .fetch_all(&stack.db)
    .await?;
    let changed = envelopes
        .iter()
        .filter_map(|bytes| proto_events::Envelope::from_json(bytes).ok())
        .find_map(|envelope| match envelope.payload {
            proto_events::Event::BookingChanged(changed) if changed.booking_id == phoned => {
                Some(changed)
            }
            _ => None,
        })
        .context("the phoned-in booking's event in the outbox")?;
    assert_eq!(
        (changed.order_id, changed.customer_id),
        (phoned, Some(customer))
    );

    // 4. Every gateway down (as if the one that committed died before publishing): the
    //    booking's event waits in the outbox, and the first gateway back publishes it.
    stack
        .stop_service(bureau_end_to_end::Service::WebGateway)
        .await?;
    stack
        .stop_service(bureau_end_to_end::Service::BotGateway)
        .await?;
    let request = bureau_scheduling::store::BookingRequest {
        resource_id: 1,
        service_code: INTERPRETING.into(),
        duration_minutes: 60,
        starts_at: bureau_scheduling::from_chrono(slots[4]),
        order_id: None,
        customer_id: Some(customer),
        held_until: None,
        booked_by: staff_by.clone(),
    };
    let (orphan, _) =
        bureau_scheduling::store::book(&stack.db, &request, "web-gateway", Timestamp::now())
            .await?;
    // Both gateways are stopped: no relay runs, so the row stays unsent.
    assert_eq!(bureau_platform::outbox::unsent(&stack.db).await?, 1);
    assert!(history(&stack, orphan.id).await?.is_empty());
    stack
        .start_service(bureau_end_to_end::Service::WebGateway)
        .await?;
    history_is(&stack, orphan.id, &[("booked", staff_by.as_str())]).await?;
    eventually("the outbox emptied", DEADLINE, || async {
        (bureau_platform::outbox::unsent(&stack.db).await.ok()? == 0).then_some(())
    })
    .await?;

    stack.teardown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_resources_of_a_service_take_one_time_twice_and_the_calendar_names_each()
-> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    // Room 2 does interpreting too, on the interpreter's hours and breaks.
    let room = sqlx::query("INSERT INTO booking_resources (name, kind) VALUES ('Room 2', 'room')")
        .execute(&stack.db)
        .await?
        .last_insert_id() as u32;
    for statement in [
        "INSERT INTO booking_resource_services (resource_id, service_id)
         SELECT ?, service_id FROM booking_resource_services WHERE resource_id = 1",
        "INSERT INTO booking_working_hours (resource_id, weekday, starts, ends)
         SELECT ?, weekday, starts, ends FROM booking_working_hours WHERE resource_id = 1",
        "INSERT INTO booking_breaks (resource_id, weekday, starts, ends)
         SELECT ?, weekday, starts, ends FROM booking_breaks WHERE resource_id = 1",
    ] {
        sqlx::query(statement).bind(room).execute(&stack.db).await?;
    }
    let (day, starts) = free_day(&stack).await?;
    let slot = starts[0];
    let book = |token: String| {
        stack
            .http
            .post(stack.web_url("/api/bookings"))
            .bearer_auth(token)
            .json(&json!({"service_code": INTERPRETING, "starts_at": slot}))
            .send()
    };
    let olena = register_customer(&stack, "olena@example.com", "Olena").await?;
    let petro = register_customer(&stack, "petro@example.com", "Petro").await?;
    let ivan = register_customer(&stack, "ivan@example.com", "Ivan").await?;
    for token in [&olena, &petro] {
        let answer = book(token.clone()).await?;
        assert_eq!(answer.status(), 201, "{}", answer.text().await?);
    }
    let live: Vec<u32> = sqlx::query_scalar(
        "SELECT resource_id FROM bookings WHERE starts_at = ? AND status = 'booked' ORDER BY resource_id",
    )
    .bind(slot)
    .fetch_all(&stack.db)
    .await?;
    assert_eq!(live, [1, room], "one on each resource");
    assert!(
        !free_on(&stack, day).await?.contains(&slot),
        "no longer offered"
    );
    let third = book(ivan).await?;
    assert_eq!(third.status(), 409);
    let third: Value = third.json().await?;
    assert_eq!(third["error"]["code"], "taken", "{third}");
    let offered: Vec<DateTime<Utc>> = serde_json::from_value(third["next_free"].clone())?;
    assert_eq!(offered.len(), 3, "{third}");
    assert!(
        !offered.contains(&slot) && offered.iter().all(|at| *at > slot),
        "{third}"
    );

    // The back office: every resource at once, each booking naming the resource it took.
    let manager = bureau_end_to_end::web::staff(
        &stack,
        "manager@example.com",
        bureau_accounts::Role::Manager,
    )
    .await?;
    let page = |path: String| {
        let manager = manager.clone();
        let http = stack.http.clone();
        let url = stack.web_url(&path);
        async move {
            let answer = http
                .get(url)
                .header("cookie", format!("bureau_session={manager}"))
                .send()
                .await?;
            anyhow::ensure!(answer.status() == 200, "{path}: {}", answer.status());
            Ok::<String, anyhow::Error>(answer.text().await?)
        }
    };
    let calendar = page(format!("/office/calendar?resource=0&day={day}&view=day")).await?;
    assert_eq!(calendar.matches("data-booking=").count(), 2, "{calendar}");
    for name in ["Interpreter", "Room 2"] {
        assert!(
            calendar.contains(&format!(
                "<div class=\"meta booking-resource\">{name}</div>"
            )),
            "{name} named: {calendar}"
        );
    }
    // One resource's page shows its own booking only.
    let room_page = page(format!(
        "/office/calendar?resource={room}&day={day}&view=day"
    ))
    .await?;
    assert_eq!(room_page.matches("data-booking=").count(), 1);
    // The room's form says who else does interpreting.
    let form = page(format!("/office/resources/{room}")).await?;
    let pool = form
        .split("class=\"pool\">")
        .nth(1)
        .and_then(|rest| rest.split("</small>").next())
        .context("the pool beside interpreting")?;
    assert!(pool.trim_end().ends_with("Interpreter"), "{pool}");
    stack.teardown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_drafts_time_is_a_fifteen_minute_hold_and_confirm_after_it_ran_out_chooses_again()
-> anyhow::Result<()> {
    use bureau_end_to_end::telegram_customer::{asks_name, register};
    let stack = TestStack::start().await?;
    let t = Texts::load();
    let (day, starts) = free_day(&stack).await?;
    let slots = apart(&starts, 2)?;
    let user = stack.telegram.user_with(9403, "Марта", "uk");
    let by = "telegram:9403";

    // The time is chosen: held for 15 minutes from the choice.
    let day_view = to_the_day(&stack, &t, &user, day).await?;
    let take = time_button(&day_view, "kt:", slots[0]).context("the first slot")?;
    let before = Utc::now();
    let since = Instant::now();
    user.press_button(day_view.message_id, &take);
    let card = reply_since(&stack.telegram, &user, since, DEADLINE, |m| {
        m.edited
            && button_with_prefix(m, "confirm:").is_some()
            && m.body().contains(&told(slots[0], "uk"))
    })
    .await
    .context("the card showing the held time")?;
    let (held, held_until): (uuid::Uuid, Option<DateTime<Utc>>) = sqlx::query_as(
        "SELECT id, held_until FROM bookings WHERE booked_by = ? AND status = 'booked'",
    )
    .bind(by)
    .fetch_one(&stack.db)
    .await?;
    let held_until = held_until.context("a bot draft's time is a hold")?;
    assert!(
        held_until >= before + Duration::minutes(15)
            && held_until <= Utc::now() + Duration::minutes(15),
        "{held_until}"
    );

    // 16 minutes on the sweep (the web gateway's, the portal's holds' own) releases it.
    let at = |minutes: i64| bureau_scheduling::from_chrono(Utc::now() + Duration::minutes(minutes));
    let expired =
        bureau_scheduling::store::expire_holds(&stack.db, "web-gateway", at(16), 100).await?;
    assert_eq!(expired.iter().map(|b| b.id).collect::<Vec<_>>(), [held]);
    assert!(free_on(&stack, day).await?.contains(&slots[0]), "released");

    // Confirm (registering first, as a new customer does): nothing is sent; the customer
    // is told the time was held for 15 minutes and released, and gets the calendar again.
    let released = t.format(
        UK,
        key::BOOKING_HOLD_EXPIRED,
        &[
            ("service", "Усний переклад"),
            ("when", "{when}"),
            ("minutes", "15"),
        ],
    );
    let opening = released
        .split("Усний переклад")
        .next()
        .unwrap_or_default()
        .to_owned();
    let since = Instant::now();
    user.press_button(
        card.message_id,
        &button_with_prefix(&card, "confirm:").context("Confirm")?,
    );
    reply_since(&stack.telegram, &user, since, DEADLINE, asks_name)
        .await
        .context("the name asked")?;
    let since = register(&stack.telegram, &user, DEADLINE).await?;
    let said = reply_since(&stack.telegram, &user, since, DEADLINE, |m| {
        m.body().starts_with(&opening) && m.body().contains("15")
    })
    .await
    .context("told the hold ran out")?;
    assert!(
        said.body()
            .contains(told(slots[0], "uk").split(", ").last().unwrap_or_default()),
        "names the released time: {}",
        said.body()
    );
    let calendar = reply_since(&stack.telegram, &user, since, DEADLINE, |m| {
        !m.edited
            && (button_with_prefix(m, "kd:").is_some() || button_with_prefix(m, "kw:").is_some())
    })
    .await
    .context("the calendar again")?;
    let live: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM bookings WHERE booked_by = ? AND status = 'booked'",
    )
    .bind(by)
    .fetch_one(&stack.db)
    .await?;
    assert_eq!(live, 0, "no time held now");

    // Chosen again and confirmed in time: the order is sent and the time is its own, no
    // longer a hold.
    let times = calendar_to_the_day(&stack, &t, &user, calendar, day).await?;
    let take = time_button(&times, "kt:", slots[1]).context("the second slot")?;
    let since = Instant::now();
    user.press_button(times.message_id, &take);
    let card = reply_since(&stack.telegram, &user, since, DEADLINE, |m| {
        button_with_prefix(m, "confirm:").is_some() && m.body().contains(&told(slots[1], "uk"))
    })
    .await
    .context("the card with the new time")?;
    let number =
        bureau_end_to_end::telegram_customer::confirm(&stack.telegram, &user, &card, DEADLINE)
            .await?;
    let (order_id, held_until): (Option<uuid::Uuid>, Option<DateTime<Utc>>) = sqlx::query_as(
        "SELECT order_id, held_until FROM bookings WHERE booked_by = ? AND status = 'booked'",
    )
    .bind(by)
    .fetch_one(&stack.db)
    .await?;
    assert!(held_until.is_none(), "joined its order: no longer a hold");
    let placed: uuid::Uuid = eventually("the order recorded", DEADLINE, || async {
        sqlx::query_scalar("SELECT id FROM orders WHERE order_number = ?")
            .bind(&number)
            .fetch_optional(&stack.db)
            .await
            .ok()
            .flatten()
    })
    .await?;
    assert_eq!(order_id, Some(placed));
    // A later sweep leaves it alone.
    assert!(
        bureau_scheduling::store::expire_holds(&stack.db, "web-gateway", at(60), 100)
            .await?
            .is_empty()
    );
    stack.teardown().await
}
