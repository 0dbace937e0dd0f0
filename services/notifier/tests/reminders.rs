//! The reminder sender against real parts (MariaDB, RabbitMQ, the Telegram Bot API double,
//! the SMTP double) with a clock the test moves: no sleeping for hours. A booking made
//! through `bureau_scheduling::store` gets its 24-hour and 1-hour reminders from two
//! notifier replicas, each exactly once; the notifiers stop and start again between the
//! two; a reminder whose moment passed during the outage is skipped with its reason;
//! a moved booking is reminded at its new time, a cancelled one not at all; an unanswered
//! quote and an unpaid invoice are reminded in the customer's language, by e-mail where
//! the customer prefers it, and an answered quote is not; a booking staff made for a
//! customer who phoned (no order) is reminded in Telegram or by e-mail without an order
//! number, and skipped (`no_contact`) when the customer has neither.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use bureau_platform::Secret;
use bureau_platform::service::Running;
use bureau_platform::settings::Settings;
use bureau_scheduling::from_chrono;
use bureau_scheduling::reminders::{self, Kind};
use bureau_scheduling::store::{self, BookingRequest};
use bureau_test_support::smtp::SmtpDouble;
use bureau_test_support::{TestDatabase, eventually};
use chrono::{DateTime, TimeZone, Utc};
use notifier::reminders::Reminding;
use sqlx::MySqlPool;
use telegram_double::{DoubleConfig, TelegramDouble};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(20);

/// A clock the test sets; every replica reads the same one.
#[derive(Clone)]
struct TestClock(Arc<AtomicI64>);

impl TestClock {
    fn new(at: DateTime<Utc>) -> TestClock {
        TestClock(Arc::new(AtomicI64::new(at.timestamp_millis())))
    }
    fn set(&self, at: DateTime<Utc>) {
        self.0.store(at.timestamp_millis(), Ordering::SeqCst);
    }
    fn clock(&self) -> notifier::reminders::Clock {
        let millis = self.0.clone();
        Arc::new(move || {
            Utc.timestamp_millis_opt(millis.load(Ordering::SeqCst))
                .single()
                .unwrap_or_default()
        })
    }
}

struct Replica {
    shutdown: CancellationToken,
    running: Running,
    /// How often this replica has read the clock: once at the start of each round.
    looks: Arc<AtomicU64>,
}

impl Replica {
    async fn start(settings: &Settings, clock: &TestClock, name: &str) -> anyhow::Result<Replica> {
        let shutdown = CancellationToken::new();
        let mut settings = settings.clone();
        settings.notifier.listen = "127.0.0.1:0".parse()?;
        let looks = Arc::new(AtomicU64::new(0));
        let counted = {
            let (inner, looks) = (clock.clock(), looks.clone());
            Arc::new(move || {
                looks.fetch_add(1, Ordering::SeqCst);
                inner()
            })
        };
        let running = notifier::start_with(
            settings,
            shutdown.clone(),
            Reminding {
                clock: counted,
                poll: Duration::from_millis(100),
                lease: chrono::Duration::seconds(60),
                sender: name.into(),
            },
        )
        .await?;
        Ok(Replica {
            shutdown,
            running,
            looks,
        })
    }

    async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.running.stopped().await
    }
}

/// Waits until every replica has run a whole round that began after this call: it reads
/// the clock once at the start of each round and rounds follow one another, so its second
/// read from now on means the round of the first has ended. What that round did not send
/// is not due (instead of pausing and hoping a round ran).
async fn whole_rounds(replicas: &[&Replica]) -> anyhow::Result<()> {
    let from: Vec<u64> = replicas
        .iter()
        .map(|r| r.looks.load(Ordering::SeqCst))
        .collect();
    eventually("a whole round of every replica", WAIT, || async {
        anyhow::Ok(
            replicas
                .iter()
                .zip(&from)
                .all(|(r, from)| r.looks.load(Ordering::SeqCst) >= from + 2),
        )
    })
    .await
}

struct Harness {
    double: TelegramDouble,
    smtp: SmtpDouble,
    settings: Settings,
    pool: MySqlPool,
    _database: TestDatabase,
}

impl Harness {
    async fn start() -> anyhow::Result<Harness> {
        let double = TelegramDouble::start(DoubleConfig::default()).await?;
        let smtp = SmtpDouble::start().await?;
        let mut settings = bureau_test_support::settings()?;
        smtp.configure(&mut settings.mail);
        settings.web_gateway.public_url = "https://desk.example".into();
        let database = TestDatabase::create(&mut settings, "bureau_reminder_test").await?;
        settings.database.run_migrations = false;
        settings.broker.url = Secret::new("amqp://guest:guest@127.0.0.1:5672/%2f");
        bureau_test_support::isolate_broker(&mut settings.broker, "r");
        settings.telegram.api_url = double.api_url();
        settings.telegram.token = Secret::new(double.token());
        settings.notifier.concurrency = 1;
        Ok(Harness {
            double,
            smtp,
            pool: database.pool.clone(),
            settings,
            _database: database,
        })
    }

    /// A customer (Telegram chat `chat_id`, or a web account at `email` preferring e-mail)
    /// with an order in `status`, its total `total_minor` UAH if given.
    async fn order(
        &self,
        language: &str,
        chat_id: Option<i64>,
        email: Option<&str>,
        status: &str,
        total_minor: Option<u64>,
    ) -> anyhow::Result<(Uuid, String)> {
        let customer_id = self.customer(language, chat_id, email).await?;
        let order_id = Uuid::now_v7();
        let number = proto_events::order_number::generate();
        sqlx::query(
            "INSERT INTO orders (id, order_number, customer_id, channel, body, status, status_version, expected_files, total_minor, total_currency, created_at, updated_at) \
             VALUES (?, ?, ?, 'telegram', 'Interpreting', ?, 1, 0, ?, IF(? IS NULL, NULL, 'UAH'), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
        )
        .bind(order_id)
        .bind(&number)
        .bind(customer_id)
        .bind(status)
        .bind(total_minor)
        .bind(total_minor)
        .execute(&self.pool)
        .await?;
        Ok((order_id, number))
    }

    /// A customer with a Telegram chat `chat_id` and/or a web account at `email` (then
    /// preferring e-mail), or neither (someone staff know only by phone).
    async fn customer(
        &self,
        language: &str,
        chat_id: Option<i64>,
        email: Option<&str>,
    ) -> anyhow::Result<Uuid> {
        let account_id = match email {
            Some(email) => {
                let id = Uuid::now_v7();
                sqlx::query(
                    "INSERT INTO web_accounts (id, email, email_verified_at, password_hash, display_name, role, active, created_at) \
                     VALUES (?, ?, UTC_TIMESTAMP(6), 'x', 'Олена', 'customer', TRUE, UTC_TIMESTAMP(6))",
                )
                .bind(id)
                .bind(email)
                .execute(&self.pool)
                .await?;
                Some(id)
            }
            None => None,
        };
        if let Some(chat_id) = chat_id {
            self.double.user(chat_id);
        }
        let customer_id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO customers (id, display_name, language, notify_by, telegram_user_id, telegram_chat_id, web_account_id, created_at, updated_at) \
             VALUES (?, 'Olena', ?, ?, ?, ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
        )
        .bind(customer_id)
        .bind(language)
        .bind(if email.is_some() { "email" } else { "auto" })
        .bind(chat_id)
        .bind(chat_id)
        .bind(account_id)
        .execute(&self.pool)
        .await?;
        Ok(customer_id)
    }

    fn texts_to(&self, chat_id: i64) -> Vec<String> {
        self.double
            .messages_to(chat_id)
            .into_iter()
            .filter_map(|m| m.text)
            .collect()
    }

    async fn wait_texts(&self, chat_id: i64, count: usize) -> anyhow::Result<Vec<String>> {
        eventually(
            &format!("{count} message(s) to {chat_id}"),
            WAIT,
            || async { anyhow::Ok(self.texts_to(chat_id).len() >= count) },
        )
        .await?;
        Ok(self.texts_to(chat_id))
    }

    async fn state(&self, kind: Kind, subject: Uuid) -> anyhow::Result<(bool, Option<String>)> {
        let (sent, skipped): (Option<DateTime<Utc>>, Option<String>) = sqlx::query_as(
            "SELECT sent_at, skipped_reason FROM reminders WHERE kind = ? AND subject_id = ?",
        )
        .bind(kind.as_str())
        .bind(subject)
        .fetch_one(&self.pool)
        .await?;
        Ok((sent.is_some(), skipped))
    }

    async fn book(
        &self,
        order_id: Uuid,
        starts: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Uuid> {
        self.book_for(Some(order_id), None, starts, now).await
    }

    /// A booking for an order, or (staff's, for a customer who phoned) for a customer.
    async fn book_for(
        &self,
        order_id: Option<Uuid>,
        customer_id: Option<Uuid>,
        starts: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Uuid> {
        let (booking, _) = store::book(
            &self.pool,
            &BookingRequest {
                resource_id: 1,
                service_code: "interpreting".into(),
                duration_minutes: 60,
                starts_at: from_chrono(starts),
                order_id,
                customer_id,
                held_until: None,
                booked_by: "staff:test".into(),
            },
            "notifier-test",
            from_chrono(now),
        )
        .await?;
        Ok(booking.id)
    }
}

/// Monday 1 March 2027, 10:00 in Kyiv (UTC+2): the interpreter's hours.
fn monday_ten() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, 8, 0, 0).unwrap()
}

#[tokio::test]
async fn a_booking_is_reminded_a_day_and_an_hour_before_once_across_replicas_and_a_restart()
-> anyhow::Result<()> {
    bureau_test_support::init_logging();
    let h = Harness::start().await?;
    let starts = monday_ten();
    let t0 = starts - chrono::Duration::days(3);
    let clock = TestClock::new(t0);
    let chat = 41_000_001;
    let (order, number) = h.order("en", Some(chat), None, "accepted", None).await?;
    let booking = h.book(order, starts, t0).await?;
    // Another customer's booking an hour earlier (09:00 Kyiv): it will begin while every
    // notifier is down.
    let (early_order, _) = h
        .order("uk", Some(chat + 1), None, "accepted", None)
        .await?;
    let early_starts = starts - chrono::Duration::hours(1);
    let early_booking = h.book(early_order, early_starts, t0).await?;

    let a = Replica::start(&h.settings, &clock, "a").await?;
    let b = Replica::start(&h.settings, &clock, "b").await?;

    // Nothing is due yet.
    clock.set(early_starts - chrono::Duration::hours(25));
    whole_rounds(&[&a, &b]).await?;
    assert!(h.texts_to(chat).is_empty(), "{:?}", h.texts_to(chat));

    // A day before: the 24-hour reminders, once each, though two replicas look.
    clock.set(starts - chrono::Duration::hours(24) + chrono::Duration::seconds(1));
    let texts = h.wait_texts(chat, 1).await?;
    assert!(texts[0].contains("tomorrow"), "{texts:?}");
    assert!(texts[0].contains("01.03.2027 at 10:00"), "{texts:?}");
    assert!(texts[0].contains(&number), "{texts:?}");
    let uk = h.wait_texts(chat + 1, 1).await?;
    assert!(
        uk[0].contains("завтра") && uk[0].contains("09:00"),
        "{uk:?}"
    );

    // Both notifiers stop. While they are down both 1-hour moments pass, and the earlier
    // booking begins: at 09:20 Kyiv the 10:00 booking's reminder is late but still true,
    // the 09:00 booking's is no use any more.
    a.stop().await?;
    b.stop().await?;
    clock.set(starts - chrono::Duration::minutes(40));
    let a = Replica::start(&h.settings, &clock, "a2").await?;
    let b = Replica::start(&h.settings, &clock, "b2").await?;
    let texts = h.wait_texts(chat, 2).await?;
    assert!(texts[1].contains("in an hour"), "{texts:?}");
    eventually(
        "the 1-hour reminder of the started booking skipped",
        WAIT,
        || async {
            anyhow::Ok(
                h.state(Kind::Booking1h, early_booking).await?.1.as_deref()
                    == Some("moment_passed"),
            )
        },
    )
    .await?;
    assert_eq!(h.state(Kind::Booking1h, booking).await?, (true, None));
    whole_rounds(&[&a, &b]).await?;
    assert_eq!(
        h.texts_to(chat).len(),
        2,
        "each reminder once: {:?}",
        h.texts_to(chat)
    );
    assert_eq!(h.texts_to(chat + 1).len(), 1, "{:?}", h.texts_to(chat + 1));
    let sent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reminders WHERE sent_at IS NOT NULL")
        .fetch_one(&h.pool)
        .await?;
    assert_eq!(sent, 3);
    a.stop().await?;
    b.stop().await?;
    Ok(())
}

#[tokio::test]
async fn moved_bookings_are_reminded_at_the_new_time_and_cancelled_ones_not_at_all()
-> anyhow::Result<()> {
    bureau_test_support::init_logging();
    let h = Harness::start().await?;
    let starts = monday_ten();
    let t0 = starts - chrono::Duration::days(3);
    let clock = TestClock::new(t0);
    let chat = 42_000_001;
    let (order, _) = h.order("en", Some(chat), None, "accepted", None).await?;
    let booking = h.book(order, starts, t0).await?;
    let (other, _) = h
        .order("en", Some(chat + 1), None, "accepted", None)
        .await?;
    let cancelled = h
        .book(other, starts + chrono::Duration::hours(1), t0)
        .await?;

    // Moved a day later (Tuesday 10:00); the other cancelled.
    let moved_to = starts + chrono::Duration::days(1);
    let staff = store::Actor {
        by: "staff:test",
        producer: "notifier-test",
    };
    store::reschedule(
        &h.pool,
        booking,
        from_chrono(moved_to),
        staff,
        from_chrono(t0),
    )
    .await?;
    assert!(
        store::cancel(&h.pool, cancelled, staff, from_chrono(t0))
            .await?
            .is_some()
    );
    assert_eq!(
        h.state(Kind::Booking24h, cancelled).await?,
        (false, Some("cancelled".into()))
    );
    let due: DateTime<Utc> = sqlx::query_scalar(
        "SELECT due_at FROM reminders WHERE kind = 'booking_24h' AND subject_id = ?",
    )
    .bind(booking)
    .fetch_one(&h.pool)
    .await?;
    assert_eq!(due, moved_to - chrono::Duration::hours(24));

    let replica = Replica::start(&h.settings, &clock, "a").await?;
    // The old moment comes and goes: nothing.
    clock.set(starts - chrono::Duration::hours(23));
    whole_rounds(&[&replica]).await?;
    assert!(h.texts_to(chat).is_empty(), "{:?}", h.texts_to(chat));
    // The new one: Tuesday's date.
    clock.set(moved_to - chrono::Duration::hours(23));
    let texts = h.wait_texts(chat, 1).await?;
    assert!(texts[0].contains("02.03.2027 at 10:00"), "{texts:?}");
    assert!(h.texts_to(chat + 1).is_empty());
    // A booking made less than a day ahead has no 24-hour reminder: written skipped.
    let (soon_order, _) = h
        .order("en", Some(chat + 2), None, "accepted", None)
        .await?;
    let now = moved_to - chrono::Duration::hours(23);
    // Monday 14:00 Kyiv, booked at 11:00 the same day.
    let soon = h
        .book(soon_order, starts + chrono::Duration::hours(4), now)
        .await?;
    assert_eq!(
        h.state(Kind::Booking24h, soon).await?,
        (false, Some("scheduled_late".into()))
    );
    assert_eq!(h.state(Kind::Booking1h, soon).await?, (false, None));
    replica.stop().await?;
    Ok(())
}

#[tokio::test]
async fn unanswered_quotes_and_unpaid_invoices_are_reminded_in_the_customers_language_and_channel()
-> anyhow::Result<()> {
    bureau_test_support::init_logging();
    let h = Harness::start().await?;
    let t0 = Utc.with_ymd_and_hms(2027, 3, 1, 8, 0, 0).unwrap();
    let clock = TestClock::new(t0);
    let later = t0 + reminders::answer_wait();

    // A quoted order (Ukrainian, Telegram) and one whose quote was answered meanwhile.
    let chat = 43_000_001;
    let (quoted, quoted_number) = h.order("uk", Some(chat), None, "quoted", None).await?;
    let (answered, _) = h
        .order("uk", Some(chat + 1), None, "accepted", None)
        .await?;
    for order in [quoted, answered] {
        sqlx::query(
            "INSERT INTO order_quotes (event_id, order_id, amount_minor, currency, quoted_at) VALUES (?, ?, 125000, 'UAH', ?)",
        )
        .bind(Uuid::now_v7())
        .bind(order)
        .bind(t0)
        .execute(&h.pool)
        .await?;
        reminders::schedule(&h.pool, Kind::QuoteUnanswered, order, later, None).await?;
    }
    // An unpaid priced order of a web customer who prefers e-mail (English).
    let address = "olena@example.com";
    let (unpaid, unpaid_number) = h
        .order(
            "en",
            None,
            Some(address),
            "awaiting_confirmation",
            Some(99_900),
        )
        .await?;
    reminders::schedule(&h.pool, Kind::InvoiceUnpaid, unpaid, later, None).await?;

    let replica = Replica::start(&h.settings, &clock, "a").await?;
    clock.set(later + chrono::Duration::minutes(1));
    let texts = h.wait_texts(chat, 1).await?;
    assert!(
        texts[0].contains("чекаємо на вашу відповідь") && texts[0].contains("1250.00 UAH"),
        "{texts:?}"
    );
    assert!(texts[0].contains(&quoted_number));
    let buttons = h.double.messages_to(chat)[0]
        .reply_markup
        .clone()
        .unwrap_or_default()
        .to_string();
    assert!(buttons.contains("Прийняти"), "{buttons}");

    eventually("the invoice reminder e-mailed", WAIT, || async {
        anyhow::Ok(!h.smtp.to(address).is_empty())
    })
    .await?;
    let mail = &h.smtp.to(address)[0];
    assert!(mail.subject.contains("a reminder"), "{}", mail.subject);
    assert!(
        mail.text.contains("waiting for payment: 999.00 UAH") && mail.text.contains(&unpaid_number),
        "{}",
        mail.text
    );
    eventually("the answered quote skipped", WAIT, || async {
        anyhow::Ok(h.state(Kind::QuoteUnanswered, answered).await?.1.as_deref() == Some("answered"))
    })
    .await?;
    assert!(h.texts_to(chat + 1).is_empty());
    replica.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_phoned_in_booking_without_an_order_is_reminded_where_the_customer_can_be_reached()
-> anyhow::Result<()> {
    bureau_test_support::init_logging();
    let h = Harness::start().await?;
    let starts = monday_ten();
    let t0 = starts - chrono::Duration::days(3);
    let clock = TestClock::new(t0);
    // Three customers staff booked by phone: one also writes to the bot (Ukrainian), one
    // has a web account with a verified address (English), one only a phone number.
    let chat = 44_000_001;
    let in_telegram = h.customer("uk", Some(chat), None).await?;
    let address = "petro@example.com";
    let by_email = h.customer("en", None, Some(address)).await?;
    let phone_only = h.customer("uk", None, None).await?;
    let telegram_booking = h.book_for(None, Some(in_telegram), starts, t0).await?;
    let email_booking = h
        .book_for(
            None,
            Some(by_email),
            starts + chrono::Duration::hours(1),
            t0,
        )
        .await?;
    let unreachable = h
        .book_for(
            None,
            Some(phone_only),
            starts + chrono::Duration::hours(2),
            t0,
        )
        .await?;

    let replica = Replica::start(&h.settings, &clock, "a").await?;
    // A day before the last of the three: every 24-hour reminder is due.
    clock.set(starts + chrono::Duration::hours(2) - chrono::Duration::hours(24));
    let texts = h.wait_texts(chat, 1).await?;
    assert!(
        texts[0].contains("завтра, 01.03.2027 о 10:00") && !texts[0].contains("Замовлення"),
        "in Ukrainian, no order number: {texts:?}"
    );
    eventually("the 24-hour reminder e-mailed", WAIT, || async {
        anyhow::Ok(!h.smtp.to(address).is_empty())
    })
    .await?;
    let mail = &h.smtp.to(address)[0];
    assert_eq!(mail.subject, "A reminder of your appointment");
    assert!(
        mail.text.contains("is tomorrow, 01.03.2027 at 11:00") && !mail.text.contains("Order"),
        "{}",
        mail.text
    );
    eventually(
        "the unreachable customer's reminder skipped",
        WAIT,
        || async {
            anyhow::Ok(
                h.state(Kind::Booking24h, unreachable).await?.1.as_deref() == Some("no_contact"),
            )
        },
    )
    .await?;
    assert_eq!(
        h.state(Kind::Booking24h, telegram_booking).await?,
        (true, None)
    );
    assert_eq!(
        h.state(Kind::Booking24h, email_booking).await?,
        (true, None)
    );

    // An hour before the first: its 1-hour reminder, in Ukrainian, once.
    clock.set(starts - chrono::Duration::minutes(59));
    let texts = h.wait_texts(chat, 2).await?;
    assert!(
        texts[1].contains("за годину, сьогодні о 10:00"),
        "{texts:?}"
    );
    // Marked sent, it is never taken again: once.
    eventually("the 1-hour reminder marked sent", WAIT, || async {
        anyhow::Ok(h.state(Kind::Booking1h, telegram_booking).await? == (true, None))
    })
    .await?;
    assert_eq!(h.texts_to(chat).len(), 2, "{:?}", h.texts_to(chat));
    replica.stop().await?;
    Ok(())
}
