//! The real things the gateway talks to, fresh for each test: a MariaDB database
//! (`bureau_test_<uuid>`, migrated), a RabbitMQ namespace with a tap on the events, and the
//! Telegram Bot API double; plus a customer handle that reads the bot's replies in order.
#![allow(dead_code)]

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use bot_gateway::dialogue::Language;
use bot_gateway::texts::Texts;
use bureau_platform::service::Running;
use bureau_platform::settings::find_config_dir;
use bureau_platform::{Secret, Settings, bus, database, telemetry};
use futures::StreamExt;
use lapin::options::BasicConsumeOptions;
use proto_events::Envelope;
use proto_events::topology::Consumer;
use sqlx::{AssertSqlSafe, MySqlPool};
use telegram_double::{CallbackAnswer, DoubleConfig, SentMessage, SimUser, TelegramDouble};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub const UK: Language = Language::Uk;
pub const EN: Language = Language::En;

/// How long any one expected thing may take; generous for a shared 2-core machine.
pub const WAIT: Duration = Duration::from_secs(20);

const MYSQL_ADMIN_URL: &str = "mysql://root@127.0.0.1:3306";

pub struct Harness {
    pub double: TelegramDouble,
    /// Settings pointing at this test's database, namespace and double.
    pub settings: Settings,
    pub db: MySqlPool,
    pub texts: Texts,
    database_name: String,
}

impl Harness {
    pub async fn new() -> Harness {
        let mut settings = Settings::load_from(
            &find_config_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
                .expect("config/default.toml above the crate"),
        )
        .expect("settings load");
        if std::env::var_os("RUST_LOG").is_some() {
            telemetry::init("bot-gateway-test", &settings.log);
        }
        let database_name = format!("bureau_test_{}", Uuid::new_v4().simple());
        let admin = MySqlPool::connect(MYSQL_ADMIN_URL)
            .await
            .expect("MariaDB answers as root on 127.0.0.1:3306");
        // The name is ours: a fixed prefix and a UUID's hex digits.
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE `{database_name}`")))
            .execute(&admin)
            .await
            .expect("create database");
        admin.close().await;
        settings.database.url = Secret::new(format!("{MYSQL_ADMIN_URL}/{database_name}"));
        let db = database::pool(&settings.database).expect("pool");
        database::migrate(&db).await.expect("migrations apply");

        bureau_test_support::isolate_broker(&mut settings.broker, "t");
        let double = TelegramDouble::start(DoubleConfig::default())
            .await
            .expect("the Telegram double starts");
        // Upload links for files above Telegram's limit need a signing secret.
        settings.links.secret = Secret::new(Uuid::new_v4().simple().to_string());
        settings.telegram.api_url = double.api_url();
        settings.telegram.token = Secret::new(double.token());
        settings.bot_gateway.listen = "127.0.0.1:0".parse().expect("an address");
        Harness {
            double,
            settings,
            db,
            texts: Texts::load(),
            database_name,
        }
    }

    pub async fn start_gateway(&self, settings: Settings) -> Gateway {
        let stop = CancellationToken::new();
        let running = bot_gateway::start(settings, stop.clone())
            .await
            .expect("the gateway starts");
        Gateway { running, stop }
    }

    /// Everything the gateway publishes, read off the persistence worker's queue (every
    /// event type is routed there; no worker runs in these tests to take them).
    pub async fn tap_events(&self) -> EventTap {
        let bus = bus::event_bus(&self.settings.broker, "bot-gateway-test-tap");
        bus.connect()
            .await
            .expect("RabbitMQ answers on 127.0.0.1:5672");
        let channel = bus.open_channel().await.expect("a channel");
        let consumer = channel
            .basic_consume(
                bus.topology().queue(Consumer::PersistenceWorker).into(),
                "tap".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..Default::default()
                },
                Default::default(),
            )
            .await
            .expect("consume");
        EventTap {
            consumer,
            _channel: channel,
        }
    }

    pub fn customer(&self, user: SimUser) -> Customer {
        Customer {
            user,
            double: self.double.clone(),
            seen: 0,
        }
    }

    /// Removes the database and the namespace's queues; leftovers of a failed test are
    /// namespaced and harmless.
    pub async fn finish(self) {
        self.db.close().await;
        if let Ok(admin) = MySqlPool::connect(MYSQL_ADMIN_URL).await {
            let _ = sqlx::query(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS `{}`",
                self.database_name
            )))
            .execute(&admin)
            .await;
            admin.close().await;
        }
        let bus = bus::event_bus(&self.settings.broker, "bot-gateway-test-cleanup");
        if let Ok(channel) = bus.open_channel().await {
            for queue in bus.topology().all_queues() {
                let _ = channel.queue_delete(queue.into(), Default::default()).await;
            }
            for exchange in [
                bus.topology().events_exchange(),
                bus.topology().dead_letter_exchange(),
            ] {
                let _ = channel
                    .exchange_delete(exchange.into(), Default::default())
                    .await;
            }
        }
        bus.close().await;
        self.double.shutdown().await;
    }
}

pub struct Gateway {
    pub running: Running,
    stop: CancellationToken,
}

impl Gateway {
    /// Stops it the graceful way and waits until it has.
    pub async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(WAIT, self.running.stopped())
            .await
            .expect("the gateway stops in time")
            .expect("the gateway stops cleanly");
    }
}

pub struct EventTap {
    consumer: lapin::Consumer,
    _channel: lapin::Channel,
}

impl EventTap {
    pub async fn next(&mut self) -> Envelope {
        let delivery = within("the next event", self.consumer.next())
            .await
            .expect("the tap is open")
            .expect("a delivery");
        Envelope::from_json(&delivery.data).expect("a valid event")
    }

    pub async fn take(&mut self, count: usize) -> Vec<Envelope> {
        let mut events = Vec::with_capacity(count);
        for _ in 0..count {
            events.push(self.next().await);
        }
        events
    }
}

/// A simulated customer and what the bot did in their chat (messages and edits of them), read
/// one at a time in order.
pub struct Customer {
    pub user: SimUser,
    double: TelegramDouble,
    /// How many entries of the chat's log have been read.
    seen: usize,
}

impl Customer {
    /// The next thing the bot did in this chat: a new message, or an edit of one.
    pub async fn next(&mut self) -> SentMessage {
        let chat = self.user.chat_id();
        // Entries are logged in order, each stamped when the double took it.
        let last_read = self
            .seen
            .checked_sub(1)
            .and_then(|i| self.double.messages_to(chat).get(i).map(|m| m.at));
        let entry = self
            .double
            .wait_for_message(chat, WAIT, |m| last_read.is_none_or(|last| m.at > last))
            .await
            .expect("the bot acts in the chat");
        self.seen += 1;
        entry
    }

    /// The bot's next message in this chat, which must be a new message (not an edit).
    pub async fn next_reply(&mut self) -> SentMessage {
        let message = self.next().await;
        assert!(
            !message.edited,
            "expected a new message, got an edit: {message:?}"
        );
        message
    }

    /// The bot's next message, which must read `expected`.
    pub async fn expect_reply(&mut self, expected: &str) -> SentMessage {
        let message = self.next_reply().await;
        assert_eq!(
            message.body(),
            expected,
            "the bot's reply in chat {}",
            self.user.chat_id()
        );
        message
    }

    /// The bot's next action, which must be an edit making a message read `expected`.
    pub async fn expect_edit(&mut self, expected: &str) -> SentMessage {
        let message = self.next().await;
        assert!(
            message.edited,
            "expected an edit, got a new message: {message:?}"
        );
        assert_eq!(
            message.body(),
            expected,
            "the edited message in chat {}",
            self.user.chat_id()
        );
        message
    }

    /// Presses an inline button and returns the bot's answer to the callback query.
    pub async fn press(&self, message: &SentMessage, callback_data: &str) -> CallbackAnswer {
        let query = self.user.press_button(message.message_id, callback_data);
        self.double
            .wait_for_callback_answer(&query, WAIT)
            .await
            .expect("the callback query is answered")
    }

    /// Presses the button labelled `label` under `message`.
    pub async fn press_label(&self, message: &SentMessage, label: &str) -> CallbackAnswer {
        self.press(message, &button_data(message, label)).await
    }

    /// Every bot message in this chat so far.
    pub fn received(&self) -> Vec<SentMessage> {
        self.double.messages_to(self.user.chat_id())
    }

    /// Nothing the bot did in this chat is unread.
    pub fn assert_all_read(&self) {
        let log = self.received();
        assert_eq!(
            log.len(),
            self.seen,
            "unread bot messages: {:?}",
            &log[self.seen.min(log.len())..]
        );
    }
}

/// The callback data of the inline button labelled `label`.
pub fn button_data(message: &SentMessage, label: &str) -> String {
    message
        .inline_buttons()
        .into_iter()
        .find(|(text, _)| text == label)
        .map(|(_, data)| data)
        .unwrap_or_else(|| panic!("no button {label:?} under {:?}", message.body()))
}

/// The eight-digit order number in an "Order №… accepted" message.
pub fn order_number_in(message: &SentMessage) -> String {
    let after_sign = message
        .body()
        .split('№')
        .nth(1)
        .expect("an order number after №");
    after_sign
        .chars()
        .take_while(char::is_ascii_digit)
        .collect()
}

/// Waits until `condition` holds: the shared `eventually` with this crate's [`WAIT`],
/// failing the test when it passes.
pub async fn eventually(what: &str, condition: impl AsyncFn() -> bool) {
    bureau_test_support::eventually(what, WAIT, || condition())
        .await
        .unwrap_or_else(|error| panic!("{error:#}"));
}

pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing within {WAIT:?}"))
}

/// A port free right now, for a webhook URL that must be known before the gateway binds.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The order card's text for a draft with these parts, `hint` the key of the line under it;
/// `cart` as [`cart`] or [`no_cart`] make it.
pub fn card_text(
    texts: &Texts,
    language: Language,
    cart: &str,
    description: &str,
    files: &str,
    hint: &str,
) -> String {
    texts.format(
        language,
        bot_gateway::texts::key::DRAFT_CARD,
        &[
            ("cart", cart),
            ("description", description),
            ("files", files),
            ("hint", &texts.get(language, hint)),
        ],
    )
}

/// The card's line for an order of no catalogue service ("Other").
pub fn no_cart(texts: &Texts, language: Language) -> String {
    use bot_gateway::texts::key;
    texts.format(
        language,
        key::CART_NONE,
        &[("other", &texts.get(language, key::SERVICE_OTHER))],
    )
}

/// A cart line: name, quantity, unit price in kopiykas (`None`: on quote), unit key.
pub type Line<'a> = (&'a str, u32, Option<u64>, &'a str);

/// The card's cart in UAH as the bot words it: one line per service, then the total.
pub fn cart(texts: &Texts, language: Language, lines: &[Line]) -> String {
    use bot_gateway::texts::key;
    let money = |minor: u64| format!("{}.{:02} UAH", minor / 100, minor % 100);
    let mut total = Some(0u64);
    let lines: Vec<String> = lines
        .iter()
        .map(|(name, quantity, price, unit)| {
            let quantity_text = quantity.to_string();
            match price {
                Some(price) => {
                    total = total.map(|sum| sum + price * u64::from(*quantity));
                    texts.format(
                        language,
                        key::CART_LINE,
                        &[
                            ("name", name),
                            ("quantity", &quantity_text),
                            ("price", &money(*price)),
                            ("unit", &texts.get(language, unit)),
                            ("amount", &money(price * u64::from(*quantity))),
                        ],
                    )
                }
                None => {
                    total = None;
                    texts.format(
                        language,
                        key::CART_LINE_ON_QUOTE,
                        &[("name", name), ("quantity", &quantity_text)],
                    )
                }
            }
        })
        .collect();
    let total = match total {
        Some(total) => texts.format(language, key::CART_TOTAL, &[("total", &money(total))]),
        None => texts.get(language, key::CART_TOTAL_ON_QUOTE),
    };
    texts.format(
        language,
        key::CART,
        &[("lines", &lines.join("\n")), ("total", &total)],
    )
}

/// The callback data of the first inline button under `message` that starts with `prefix`.
pub fn button_with_prefix(message: &SentMessage, prefix: &str) -> String {
    message
        .inline_buttons()
        .into_iter()
        .map(|(_, data)| data)
        .find(|data| data.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} button under {:?}", message.body()))
}
