//! The notifier against real parts: a fresh MariaDB database, a fresh RabbitMQ namespace,
//! the Telegram Bot API double and the SMTP double (`bureau_test_support::smtp`), which
//! receives and parses the e-mail web customers get. Rows are inserted directly (the persistence worker's
//! job), events published on the bus, and what customers receive read at the double.
//!
//! The consumer runs with concurrency 1, so the queue is handled in publish order: to show
//! that an event was handled without sending anything, a test publishes a "marker" event
//! for another customer after it and waits for the marker's message.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::Context;
use bureau_event_bus::{EventBus, dead_letters};
use bureau_platform::Secret;
use bureau_platform::service::Running;
use bureau_platform::settings::BrokerSettings;
use bureau_test_support::smtp::SmtpDouble;
use bureau_test_support::{TestDatabase, eventually};
use chrono::Utc;
use proto_events::topology::Consumer;
use proto_events::{Actor, Envelope, FileRejected, OrderStatus, OrderStatusChanged};
use sqlx::MySqlPool;
use telegram_double::{DoubleConfig, Fault, SentMessage, TelegramDouble};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(15);

/// One notifier with its own database, namespace and Telegram double.
struct Harness {
    double: TelegramDouble,
    smtp: SmtpDouble,
    pool: MySqlPool,
    database: TestDatabase,
    broker: BrokerSettings,
    bus: Arc<EventBus>,
    shutdown: CancellationToken,
    running: Running,
    /// The next status version a marker event announces.
    marker_version: AtomicU32,
}

/// A customer with an order, as the persistence worker would have written them.
#[derive(Debug, Clone)]
struct Seeded {
    order_id: Uuid,
    order_number: String,
    customer_id: Uuid,
    chat_id: Option<i64>,
}

impl Harness {
    async fn start() -> anyhow::Result<Harness> {
        let double = TelegramDouble::start(DoubleConfig::default()).await?;
        let smtp = SmtpDouble::start().await?;
        let mut settings = bureau_test_support::settings()?;
        smtp.configure(&mut settings.mail);
        settings.web_gateway.public_url = "https://desk.example".into();
        let database = TestDatabase::create(&mut settings, "bureau_notifier_test").await?;
        settings.database.run_migrations = false;
        settings.broker.url = Secret::new("amqp://guest:guest@127.0.0.1:5672/%2f");
        bureau_test_support::isolate_broker(&mut settings.broker, "t");
        settings.broker.retry_delays_ms = vec![200, 500];
        settings.broker.max_attempts = 20;
        settings.telegram.api_url = double.api_url();
        settings.telegram.token = Secret::new(double.token());
        settings.notifier.listen = "127.0.0.1:0".parse()?;
        settings.notifier.concurrency = 1;

        let pool = database.pool.clone();
        let bus = bureau_platform::bus::event_bus(&settings.broker, "notifier-test");
        bus.connect().await?;
        let shutdown = CancellationToken::new();
        let broker = settings.broker.clone();
        let running = notifier::start(settings, shutdown.clone()).await?;
        Ok(Harness {
            double,
            smtp,
            pool,
            database,
            broker,
            bus,
            shutdown,
            running,
            marker_version: AtomicU32::new(2),
        })
    }

    /// A customer (in Telegram chat `chat_id`, or web-only) with an order at version 1.
    async fn seed(&self, language: &str, chat_id: Option<i64>) -> anyhow::Result<Seeded> {
        let order = Seeded {
            order_id: Uuid::now_v7(),
            order_number: proto_events::order_number::generate(),
            customer_id: Uuid::now_v7(),
            chat_id,
        };
        if let Some(chat_id) = chat_id {
            self.double.user(chat_id);
        }
        sqlx::query(
            "INSERT INTO customers (id, display_name, language, telegram_user_id, telegram_chat_id, created_at, updated_at) \
             VALUES (?, 'Test Customer', ?, ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
        )
        .bind(order.customer_id)
        .bind(language)
        .bind(chat_id)
        .bind(chat_id)
        .execute(&self.pool)
        .await?;
        self.insert_order(&order).await?;
        Ok(order)
    }

    /// A customer with a web account at `email` (verified or not), linked to Telegram chat
    /// `chat_id` if given, preferring `channel`, with an order at version 1.
    async fn seed_web(
        &self,
        language: &str,
        email: &str,
        verified: bool,
        chat_id: Option<i64>,
        channel: &str,
    ) -> anyhow::Result<Seeded> {
        let account_id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO web_accounts (id, email, email_verified_at, password_hash, display_name, role, active, created_at) \
             VALUES (?, ?, IF(?, UTC_TIMESTAMP(6), NULL), 'x', 'Олена', 'customer', TRUE, UTC_TIMESTAMP(6))",
        )
        .bind(account_id)
        .bind(email)
        .bind(verified)
        .execute(&self.pool)
        .await?;
        let order = Seeded {
            order_id: Uuid::now_v7(),
            order_number: proto_events::order_number::generate(),
            customer_id: Uuid::now_v7(),
            chat_id,
        };
        if let Some(chat_id) = chat_id {
            self.double.user(chat_id);
        }
        sqlx::query(
            "INSERT INTO customers (id, display_name, language, notify_by, telegram_user_id, telegram_chat_id, web_account_id, created_at, updated_at) \
             VALUES (?, 'Олена', ?, ?, ?, ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
        )
        .bind(order.customer_id)
        .bind(language)
        .bind(channel)
        .bind(chat_id)
        .bind(chat_id)
        .bind(account_id)
        .execute(&self.pool)
        .await?;
        self.insert_order(&order).await?;
        Ok(order)
    }

    /// Waits until `address` has received `count` messages, and returns them.
    async fn expect_mail(
        &self,
        address: &str,
        count: usize,
    ) -> anyhow::Result<Vec<bureau_test_support::smtp::ReceivedMail>> {
        eventually(&format!("{count} e-mail(s) to {address}"), WAIT, || async {
            anyhow::Ok(self.smtp.to(address).len() >= count)
        })
        .await?;
        Ok(self.smtp.to(address))
    }

    async fn journal_channels(&self, order: &Seeded) -> anyhow::Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT channel FROM notifications_sent WHERE order_id = ? ORDER BY sent_at",
        )
        .bind(order.order_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn insert_order(&self, order: &Seeded) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO orders (id, order_number, customer_id, channel, body, status, status_version, expected_files, created_at, updated_at) \
             VALUES (?, ?, ?, 'telegram', 'Translate my diploma', 'awaiting_confirmation', 1, 0, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
        )
        .bind(order.order_id)
        .bind(&order.order_number)
        .bind(order.customer_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn publish(&self, envelope: &Envelope) -> anyhow::Result<()> {
        Ok(self.bus.publish(envelope).await?)
    }

    /// Publishes a status change of `order` and returns the event.
    async fn change_status(
        &self,
        order: &Seeded,
        to: OrderStatus,
        version: u32,
        reason: Option<&str>,
    ) -> anyhow::Result<Envelope> {
        let change = OrderStatusChanged {
            order_id: order.order_id,
            order_number: order.order_number.clone(),
            from: OrderStatus::AwaitingConfirmation,
            to,
            version,
            reason: reason.map(str::to_owned),
            actor: Actor::Staff {
                account_id: Uuid::now_v7(),
            },
            changed_at: Utc::now(),
            // As the persistence worker publishes a change it recorded.
            request_id: Some(Uuid::now_v7()),
        };
        let envelope = Envelope::new("test", order.order_id, change);
        self.publish(&envelope).await?;
        Ok(envelope)
    }

    /// Waits for a message in `order`'s chat whose text is exactly `text`.
    async fn expect_text(&self, order: &Seeded, text: &str) -> anyhow::Result<SentMessage> {
        let chat_id = order.chat_id.context("a Telegram customer")?;
        self.double
            .wait_for_message(chat_id, WAIT, |m| m.text.as_deref() == Some(text))
            .await
    }

    /// Waits until every event published before this call has been handled (see the
    /// module comment): publishes a status change of `marker`'s order and waits for it.
    async fn drain(&self, marker: &Seeded) -> anyhow::Result<()> {
        let chat_id = marker.chat_id.context("a Telegram marker customer")?;
        let last_before = self
            .double
            .messages_to(chat_id)
            .last()
            .map_or(0, |m| m.message_id);
        // Each drain announces a newer version, or the journal would skip it as stale.
        let version = self.marker_version.fetch_add(1, Ordering::SeqCst);
        self.change_status(marker, OrderStatus::Accepted, version, None)
            .await?;
        self.double
            .wait_for_message(chat_id, WAIT, |m| m.message_id > last_before)
            .await?;
        Ok(())
    }

    async fn texts_in(&self, order: &Seeded) -> Vec<String> {
        let chat_id = order.chat_id.unwrap_or_default();
        self.double
            .messages_to(chat_id)
            .into_iter()
            .filter_map(|m| m.text)
            .collect()
    }

    async fn journal_versions(&self, order: &Seeded) -> anyhow::Result<Vec<Option<u32>>> {
        Ok(sqlx::query_scalar(
            "SELECT status_version FROM notifications_sent WHERE order_id = ? ORDER BY sent_at",
        )
        .bind(order.order_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Waits until the journal holds exactly these status versions for `order`: the record
    /// is written just after Telegram accepts, so it may trail the message at the double.
    async fn expect_journal(&self, order: &Seeded, versions: &[Option<u32>]) -> anyhow::Result<()> {
        let recorded = eventually("the journal records what was sent", WAIT, || async {
            anyhow::Ok(self.journal_versions(order).await? == versions)
        })
        .await;
        match recorded {
            Ok(()) => Ok(()),
            Err(error) => Err(error.context(format!(
                "expected {versions:?}, journal holds {:?}",
                self.journal_versions(order).await?
            ))),
        }
    }

    /// Stops the notifier (it must stop promptly), checks nothing was dead-lettered, and
    /// removes the database and the namespace.
    async fn finish(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        tokio::time::timeout(WAIT, self.running.stopped())
            .await
            .context("the notifier did not stop in time")??;
        let dead = dead_letters::list(&self.bus, Consumer::Notifier, 10).await?;
        let reasons: Vec<_> = dead.iter().map(|d| d.error.clone()).collect();
        anyhow::ensure!(dead.is_empty(), "dead-lettered: {reasons:?}");

        self.bus.close().await;
        bureau_test_support::remove_broker_namespace(&self.broker).await;
        self.database.remove().await;
        Ok(())
    }
}

#[tokio::test]
async fn status_changes_reach_the_customer_once_and_in_order() -> anyhow::Result<()> {
    let harness = Harness::start().await?;
    let order = harness.seed("en", Some(4001)).await?;

    let ready = reqwest::get(format!("http://{}/readyz", harness.running.http_addr)).await?;
    assert_eq!(ready.status(), 200, "{}", ready.text().await?);

    harness
        .change_status(&order, OrderStatus::Accepted, 2, None)
        .await?;
    let accepted = harness
        .expect_text(&order, &format!("Order №{}: Accepted", order.order_number))
        .await?;
    assert_eq!(
        accepted.inline_buttons(),
        vec![(
            "Open order".to_owned(),
            format!("order:{}", order.order_id.simple())
        )]
    );

    let in_progress = harness
        .change_status(&order, OrderStatus::InProgress, 3, None)
        .await?;
    harness
        .expect_text(
            &order,
            &format!("Order №{}: In progress", order.order_number),
        )
        .await?;

    // A redelivery of version 3 and a late version 2 are both dropped; version 4 is sent.
    harness.publish(&in_progress).await?;
    harness
        .change_status(&order, OrderStatus::Accepted, 2, None)
        .await?;
    harness
        .change_status(
            &order,
            OrderStatus::Ready,
            4,
            Some("Pick it up at the front desk"),
        )
        .await?;
    let ready_text = format!(
        "Order №{}: Ready\nReason: Pick it up at the front desk",
        order.order_number
    );
    harness.expect_text(&order, &ready_text).await?;

    assert_eq!(
        harness.texts_in(&order).await,
        vec![
            format!("Order №{}: Accepted", order.order_number),
            format!("Order №{}: In progress", order.order_number),
            ready_text,
        ]
    );
    harness
        .expect_journal(&order, &[Some(2), Some(3), Some(4)])
        .await?;
    harness.finish().await
}

#[tokio::test]
async fn ukrainian_customer_hears_of_a_refused_file_and_a_long_reason_fits() -> anyhow::Result<()> {
    let harness = Harness::start().await?;
    let order = harness.seed("uk", Some(4002)).await?;

    let rejection = FileRejected {
        order_id: order.order_id,
        file_id: Uuid::now_v7(),
        original_name: "scan.pdf".into(),
        code: "empty".into(),
        reason: "The file is empty.".into(),
    };
    let envelope = Envelope::new("test", order.order_id, rejection);
    harness.publish(&envelope).await?;
    harness
        .expect_text(&order, "Файл «scan.pdf» не прийнято: The file is empty.")
        .await?;
    // Redelivered: not sent again (the status change after it proves it was handled).
    harness.publish(&envelope).await?;

    let reason = "ї".repeat(6000);
    harness
        .change_status(&order, OrderStatus::Rejected, 2, Some(&reason))
        .await?;
    let chat_id = order.chat_id.context("a Telegram customer")?;
    let rejected = harness
        .double
        .wait_for_message(chat_id, WAIT, |m| m.body().contains("Відхилено"))
        .await?;
    let text = rejected.text.clone().context("a text message")?;
    assert!(text.starts_with(&format!(
        "Замовлення №{}: Відхилено\nПричина: їїї",
        order.order_number
    )));
    assert_eq!(text.chars().count(), 4096);
    assert!(text.ends_with('…'));
    assert_eq!(rejected.inline_buttons()[0].0, "Відкрити замовлення");

    assert_eq!(harness.texts_in(&order).await.len(), 2);
    harness.expect_journal(&order, &[None, Some(2)]).await?;
    harness.finish().await
}

#[tokio::test]
async fn an_order_not_yet_recorded_is_retried_until_it_is() -> anyhow::Result<()> {
    let harness = Harness::start().await?;
    let marker = harness.seed("en", Some(4100)).await?;
    let customer_only = harness.seed("en", Some(4003)).await?;
    // The customer's second order: numbers are unique, so it has a number of its own.
    let order = Seeded {
        order_id: Uuid::now_v7(),
        order_number: proto_events::order_number::generate(),
        ..customer_only.clone()
    };

    harness
        .change_status(&order, OrderStatus::Accepted, 2, None)
        .await?;
    harness.drain(&marker).await?;
    assert!(
        harness.texts_in(&order).await.is_empty(),
        "nothing to send before the order exists"
    );

    harness.insert_order(&order).await?;
    harness
        .expect_text(&order, &format!("Order №{}: Accepted", order.order_number))
        .await?;
    harness.finish().await
}

#[tokio::test]
async fn web_customers_are_emailed_in_their_language_once_and_never_an_older_status()
-> anyhow::Result<()> {
    let harness = Harness::start().await?;
    let marker = harness.seed("en", Some(4200)).await?;
    let address = format!("olena.{}@example.com", Uuid::now_v7().simple());
    let order = harness.seed_web("uk", &address, true, None, "auto").await?;
    let number = order.order_number.clone();

    // In progress (version 3) arrives before the older Accepted (version 2).
    let newer = harness
        .change_status(&order, OrderStatus::InProgress, 3, Some("перевірено"))
        .await?;
    let [first] = harness
        .expect_mail(&address, 1)
        .await?
        .try_into()
        .map_err(|m: Vec<_>| anyhow::anyhow!("{} mails", m.len()))?;
    assert_eq!(first.language.as_deref(), Some("uk"));
    assert_eq!(first.subject, format!("Замовлення №{number}: В роботі"));
    assert!(first.text.starts_with("Вітаємо, Олена!"), "{}", first.text);
    assert!(first.text.contains("Причина: перевірено"), "{}", first.text);
    assert_eq!(
        first.link_containing("/orders/").as_deref(),
        Some(format!("https://desk.example/portal/orders/{number}").as_str())
    );
    assert!(first.from.contains('@'), "From: {}", first.from);

    harness
        .change_status(&order, OrderStatus::Accepted, 2, None)
        .await?;
    // A redelivery of the newer change: the same event id.
    harness.publish(&newer).await?;
    let message = proto_events::OrderMessagePosted {
        order_id: order.order_id,
        message_id: Uuid::now_v7(),
        author: Actor::Staff {
            account_id: Uuid::now_v7(),
        },
        text: "Додайте, будь ласка, скан другої сторінки.".into(),
    };
    harness
        .publish(&Envelope::new("test", order.order_id, message))
        .await?;
    let mails = harness.expect_mail(&address, 2).await?;
    assert_eq!(
        mails[1].subject,
        format!("Замовлення №{number}: повідомлення від нас")
    );
    assert!(mails[1].text.contains("скан другої сторінки"));
    harness.drain(&marker).await?;
    assert_eq!(
        harness.smtp.to(&address).len(),
        2,
        "no older status, no repeat"
    );
    harness.expect_journal(&order, &[Some(3), None]).await?;
    assert_eq!(harness.journal_channels(&order).await?, ["email", "email"]);
    harness.finish().await
}

#[tokio::test]
async fn a_linked_customer_who_prefers_email_gets_email_retried_and_no_push() -> anyhow::Result<()>
{
    let harness = Harness::start().await?;
    let marker = harness.seed("en", Some(4300)).await?;
    let address = format!("linked.{}@example.com", Uuid::now_v7().simple());
    let linked = harness
        .seed_web("en", &address, true, Some(4301), "email")
        .await?;
    // An unverified address is never written to: that customer hears in Telegram.
    let unverified_address = format!("unverified.{}@example.com", Uuid::now_v7().simple());
    let unverified = harness
        .seed_web("en", &unverified_address, false, Some(4302), "email")
        .await?;
    // The server is busy twice (451): tried again with backoff, delivered once.
    harness.smtp.defer(&address, 2);

    harness
        .change_status(&linked, OrderStatus::Accepted, 2, None)
        .await?;
    harness
        .change_status(&unverified, OrderStatus::Accepted, 2, None)
        .await?;
    let mails = harness.expect_mail(&address, 1).await?;
    assert_eq!(
        mails[0].subject,
        format!("Order №{}: Accepted", linked.order_number)
    );
    assert_eq!(mails[0].language.as_deref(), Some("en"));
    assert_eq!(harness.smtp.rcpt_answers(&address), [451, 451, 250]);
    harness
        .expect_text(
            &unverified,
            &format!("Order №{}: Accepted", unverified.order_number),
        )
        .await?;
    harness.drain(&marker).await?;
    assert!(
        harness.texts_in(&linked).await.is_empty(),
        "no Telegram push as well"
    );
    assert!(harness.smtp.to(&unverified_address).is_empty());
    assert_eq!(harness.journal_channels(&linked).await?, ["email"]);
    harness.finish().await
}

#[tokio::test]
async fn an_address_that_bounces_is_dead_lettered_with_the_servers_reason() -> anyhow::Result<()> {
    let harness = Harness::start().await?;
    let marker = harness.seed("en", Some(4320)).await?;
    let address = format!("gone.{}@example.com", Uuid::now_v7().simple());
    let order = harness.seed_web("en", &address, true, None, "auto").await?;
    // A linked customer who prefers e-mail, at an address that bounces too.
    let linked_address = format!("gone.linked.{}@example.com", Uuid::now_v7().simple());
    let linked = harness
        .seed_web("en", &linked_address, true, Some(4321), "email")
        .await?;
    harness.smtp.refuse(&address);
    harness.smtp.refuse(&linked_address);

    harness
        .change_status(&order, OrderStatus::Accepted, 2, None)
        .await?;
    let order_id = order.order_id.to_string();
    let dead = eventually("the notice is dead-lettered", WAIT, || async {
        let dead = dead_letters::list(&harness.bus, Consumer::Notifier, 10).await?;
        anyhow::Ok(
            dead.into_iter()
                .find(|d| d.correlation_id.as_deref() == Some(order_id.as_str())),
        )
    })
    .await?;
    let reason = dead.error.unwrap_or_default();
    assert!(
        reason.contains("refused for good") && reason.contains("550"),
        "{reason}"
    );
    // Refused at once: a permanent answer is not tried again.
    assert_eq!(harness.smtp.rcpt_answers(&address), [550]);
    assert!(harness.smtp.to(&address).is_empty());
    assert!(harness.journal_versions(&order).await?.is_empty());

    // The address is marked bouncing, with the server's answer, for the profile page and
    // the staff card.
    let bounce_of = |email: String| {
        let pool = harness.pool.clone();
        async move {
            let row: Option<(Option<chrono::DateTime<Utc>>, Option<String>)> = sqlx::query_as(
                "SELECT email_bouncing_at, email_bounce_reason FROM web_accounts WHERE email = ?",
            )
            .bind(email)
            .fetch_optional(&pool)
            .await?;
            anyhow::Ok(row.and_then(|(at, reason)| at.and(reason)))
        }
    };
    let reason = eventually("the address is marked bouncing", WAIT, || {
        bounce_of(address.clone())
    })
    .await?;
    assert!(reason.contains("550"), "{reason}");

    // The linked customer's notice bounces too; from then on their notices go to Telegram,
    // and nobody mails either address again until it is verified anew.
    harness
        .change_status(&linked, OrderStatus::Accepted, 2, None)
        .await?;
    eventually("the linked address is marked bouncing", WAIT, || {
        bounce_of(linked_address.clone())
    })
    .await?;
    harness
        .change_status(&linked, OrderStatus::InProgress, 3, None)
        .await?;
    harness
        .expect_text(
            &linked,
            &format!("Order №{}: In progress", linked.order_number),
        )
        .await?;
    harness
        .change_status(&order, OrderStatus::InProgress, 3, None)
        .await?;
    harness.drain(&marker).await?;
    assert_eq!(
        harness.smtp.rcpt_answers(&address),
        [550],
        "not mailed again"
    );
    assert_eq!(harness.smtp.rcpt_answers(&linked_address), [550]);
    assert_eq!(harness.journal_channels(&linked).await?, ["telegram"]);
    dead_letters::purge(&harness.bus, Consumer::Notifier).await?;
    harness.finish().await
}

#[tokio::test]
async fn blocked_and_web_only_customers_get_nothing_and_nothing_is_dead_lettered()
-> anyhow::Result<()> {
    let harness = Harness::start().await?;
    let marker = harness.seed("en", Some(4100)).await?;
    let blocked = harness.seed("en", Some(4004)).await?;
    let web_only = harness.seed("en", None).await?;
    harness.double.user(4004).block_bot();

    harness
        .change_status(&blocked, OrderStatus::Accepted, 2, None)
        .await?;
    eventually("the blocked chat is marked unreachable", WAIT, || async {
        let marked: Option<Option<chrono::DateTime<Utc>>> =
            sqlx::query_scalar("SELECT telegram_unreachable_at FROM customers WHERE id = ?")
                .bind(blocked.customer_id)
                .fetch_optional(&harness.pool)
                .await?;
        anyhow::Ok(marked.flatten().is_some())
    })
    .await?;
    assert_eq!(harness.double.stats().forbidden, 1);

    // Marked: the next change is skipped without asking Telegram.
    harness
        .change_status(&blocked, OrderStatus::InProgress, 3, None)
        .await?;
    harness
        .change_status(&web_only, OrderStatus::Accepted, 2, None)
        .await?;
    harness.drain(&marker).await?;
    assert_eq!(harness.double.stats().forbidden, 1);
    assert!(harness.journal_versions(&blocked).await?.is_empty());
    assert!(harness.journal_versions(&web_only).await?.is_empty());
    harness.finish().await
}

#[tokio::test]
async fn telegram_flood_control_and_server_errors_are_waited_out() -> anyhow::Result<()> {
    let harness = Harness::start().await?;
    let order = harness.seed("en", Some(4005)).await?;

    // A 429: the sender waits retry_after and sends again within the same delivery.
    harness.double.set_fault(Fault::TooManyRequests {
        remaining: 1,
        retry_after: 1,
    });
    harness
        .change_status(&order, OrderStatus::Accepted, 2, None)
        .await?;
    harness
        .expect_text(&order, &format!("Order №{}: Accepted", order.order_number))
        .await?;
    assert_eq!(harness.double.stats().too_many_requests, 1);

    // A 502: the event goes back to the bus and succeeds on a later delivery.
    harness
        .double
        .set_fault(Fault::ServerError { remaining: 1 });
    harness
        .change_status(&order, OrderStatus::InProgress, 3, None)
        .await?;
    harness
        .expect_text(
            &order,
            &format!("Order №{}: In progress", order.order_number),
        )
        .await?;
    assert_eq!(harness.double.stats().server_errors, 1);
    assert_eq!(harness.texts_in(&order).await.len(), 2);
    harness.finish().await
}
