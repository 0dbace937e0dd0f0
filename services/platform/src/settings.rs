//! Settings, layered with the `config` crate (zero-to-production style):
//! `config/default.toml` -> `config/{BUREAU_ENVIRONMENT}.toml` -> `config/local.toml` ->
//! environment variables `BUREAU__SECTION__KEY`. Later layers win.
//!
//! Secrets are [`Secret`]s: they never appear in `Debug` output or logs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub log: LogSettings,
    pub broker: BrokerSettings,
    pub database: DatabaseSettings,
    pub storage: StorageSettings,
    pub telegram: TelegramSettings,
    pub web_gateway: WebGatewaySettings,
    pub bot_gateway: ServiceSettings,
    pub storage_worker: StorageWorkerSettings,
    pub persistence_worker: PersistenceWorkerSettings,
    pub notifier: NotifierSettings,
    pub links: LinkSettings,
    /// Who the business is, as the bot's "Contact us" shows it.
    #[serde(default)]
    pub business: BusinessSettings,
    /// How the gateways lease order numbers (see `order_numbers.rs`).
    #[serde(default)]
    pub order_numbers: OrderNumberSettings,
    /// Timeouts and caps of every HTTP server (see `health::serve_with`).
    #[serde(default)]
    pub http: HttpSettings,
    /// E-mail to customers through SMTP (`bureau-mail`); off while `mail.host` is empty.
    #[serde(default)]
    pub mail: MailSettings,
}

/// How the TLS of the SMTP connection is made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text: a relay on the same host or private network, and tests.
    None,
    /// Plain connection upgraded with STARTTLS (port 587), required.
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// The SMTP server customer e-mail goes through, and what the mails link to.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct MailSettings {
    /// Empty: no e-mail is sent (customers without Telegram then hear nothing when away).
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// Empty: no authentication.
    pub username: String,
    /// BUREAU__MAIL__PASSWORD
    pub password: Secret,
    /// The From address, e.g. `"Slovo <orders@slovo.example.com>"`.
    pub sender: String,
    /// Seconds one SMTP conversation may take.
    pub timeout_secs: u64,
    /// The customer's order page under `web_gateway.public_url`; `{number}` is the order's.
    pub order_path: String,
    /// How long a verification link and a password reset link stay valid.
    pub verify_ttl_secs: u64,
    pub reset_ttl_secs: u64,
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            host: String::new(),
            port: 587,
            tls: SmtpTls::Starttls,
            username: String::new(),
            password: Secret::default(),
            sender: "Bureau <orders@localhost>".to_owned(),
            timeout_secs: 30,
            order_path: "/portal/orders/{number}".to_owned(),
            verify_ttl_secs: 172_800,
            reset_ttl_secs: 3600,
        }
    }
}

impl MailSettings {
    pub fn enabled(&self) -> bool {
        !self.host.trim().is_empty()
    }
}

/// What a slow or idle client may hold of an HTTP server: each timeout closes the
/// connection, so a client trickling bytes cannot keep it forever.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct HttpSettings {
    /// A request's head (request line and headers) must arrive within this. The same timer
    /// runs while a kept-alive connection waits for its next request, so it is also the
    /// idle keep-alive timeout.
    pub header_read_timeout_secs: u64,
    /// A request body that sends nothing for this long is cut off (400). Bodies that keep
    /// flowing are never cut, however large or long.
    pub body_stall_timeout_secs: u64,
    /// Open connections at most; past it new ones are closed at once.
    pub max_connections: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            header_read_timeout_secs: 10,
            body_stall_timeout_secs: 30,
            max_connections: 4096,
        }
    }
}

/// Order numbers are leased from MySQL in blocks; each gateway holds one block and a spare,
/// so it numbers orders through a MySQL outage until it has issued a whole block.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderNumberSettings {
    /// Positions per lease. Larger blocks ride out longer outages and waste more positions
    /// when a gateway restarts (at most two blocks per restart, of 90 million).
    pub block_size: u64,
}

impl Default for OrderNumberSettings {
    fn default() -> Self {
        OrderNumberSettings { block_size: 100 }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub format: LogFormat,
    pub filter: String,
    /// Where spans go, as OTLP/HTTP with JSON bodies (`http://collector:4318`; `/v1/traces` is
    /// added). Empty (the default): no traces are exported.
    #[serde(default)]
    pub otlp_endpoint: String,
    /// Which spans are exported, in `RUST_LOG` syntax; the log filter does not apply to them.
    #[serde(default = "default_traces_filter")]
    pub traces_filter: String,
}

fn default_traces_filter() -> String {
    "info,sqlx=warn,lapin=warn,aws=warn,hyper=warn,h2=warn,reqwest=warn,tower=warn,teloxide=warn,opentelemetry=off".to_owned()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BrokerSettings {
    pub url: Secret,
    pub namespace: String,
    pub prefetch: u16,
    pub max_attempts: u32,
    pub retry_delays_ms: Vec<u64>,
    /// Seconds after which the broker deletes a queue nobody uses: set by tests for their
    /// throwaway namespaces, never in a deployment (a queue must outlive its consumers).
    #[serde(default)]
    pub idle_queue_expiry_secs: Option<u64>,
}

impl BrokerSettings {
    pub fn idle_queue_expiry(&self) -> Option<Duration> {
        self.idle_queue_expiry_secs.map(Duration::from_secs)
    }

    pub fn retry_delays(&self) -> Vec<Duration> {
        self.retry_delays_ms
            .iter()
            .map(|ms| Duration::from_millis(*ms))
            .collect()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: Secret,
    pub max_connections: u32,
    pub run_migrations: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StorageSettings {
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub force_path_style: bool,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub part_size_bytes: usize,
    pub max_parts_in_flight: usize,
    pub presigned_url_ttl_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TelegramSettings {
    pub api_url: String,
    pub token: Secret,
    /// The bot's @username without the `@`: the web portal's "Link Telegram" button opens
    /// `https://t.me/{bot_username}?start=<token>`. Empty: the page shows the command to send.
    #[serde(default)]
    pub bot_username: String,
    pub mode: TelegramMode,
    pub webhook_url: String,
    pub webhook_secret: Secret,
    /// The payment provider's token for Telegram Payments (`sendInvoice`), from BotFather;
    /// empty: no invoices are sent, and staff record payments made another way.
    #[serde(default)]
    pub payment_provider_token: Secret,
    /// How many webhook deliveries Telegram may make at once (1–100; Telegram's default is
    /// 40). Each waits for its update to be handled, so this caps updates in flight.
    #[serde(default = "TelegramSettings::default_webhook_max_connections")]
    pub webhook_max_connections: u8,
    pub max_download_bytes: u64,
    /// Whether the bot gateway paces its own sends to Telegram's flood limits (1/s per
    /// chat, 20/min per chat, 30/s overall). Only benchmarks against the double turn it off.
    #[serde(default = "TelegramSettings::default_flood_limits")]
    pub flood_limits: bool,
    /// The bot's pace towards Telegram, one budget for the token: every process that sends
    /// with it (bot gateway and notifier replicas) takes its turns from MySQL
    /// (`telegram_send_slots`, see `telegram_pace`), so these are the bot's totals, not per
    /// process. Messages (and edits) per second for the whole bot; Telegram allows about 30.
    #[serde(default = "TelegramSettings::default_messages_per_second")]
    pub messages_per_second: f64,
    /// The least time between two messages to one private chat (Telegram: about 1 s).
    #[serde(default = "TelegramSettings::default_chat_interval_ms")]
    pub chat_interval_ms: u64,
    /// The least time between two messages to one group (Telegram: 20 a minute).
    #[serde(default = "TelegramSettings::default_group_interval_ms")]
    pub group_interval_ms: u64,
    /// How far ahead a push (the notifier's) may take its turn: replies to customers who are
    /// waiting go before every push not due within this.
    #[serde(default = "TelegramSettings::default_push_lead_ms")]
    pub push_lead_ms: u64,
}

impl TelegramSettings {
    fn default_messages_per_second() -> f64 {
        29.0
    }
    fn default_chat_interval_ms() -> u64 {
        1000
    }
    fn default_group_interval_ms() -> u64 {
        3000
    }
    fn default_push_lead_ms() -> u64 {
        100
    }

    fn default_flood_limits() -> bool {
        true
    }

    fn default_webhook_max_connections() -> u8 {
        40
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TelegramMode {
    Polling,
    Webhook,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WebGatewaySettings {
    pub listen: SocketAddr,
    pub public_url: String,
    pub max_upload_bytes: u64,
    pub session_ttl_hours: u64,
    /// Whether executors see unassigned orders in the back office and may take one
    /// (docs/back-office.md, the permission matrix).
    #[serde(default)]
    pub executors_take_unassigned: bool,
    /// Behind a reverse proxy: the header holding the client's address, as sign-in limits
    /// count it (the last entry, the one the proxy appended, is used). Empty: the
    /// connection's peer address.
    #[serde(default)]
    pub client_address_header: String,
    /// How many password hashes run at once and how failed sign-ins are slowed down.
    #[serde(default)]
    pub sign_in: SignInSettings,
    /// Bounds on live (server-sent event) streams.
    #[serde(default)]
    pub live: LiveSettings,
    /// What one customer may send.
    #[serde(default)]
    pub quotas: QuotaSettings,
}

/// Storage quotas per customer (web orders and upload links), so scripted accounts cannot
/// fill the object store. Days are UTC days.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct QuotaSettings {
    /// Bytes of files accepted per customer per day.
    pub bytes_per_day: u64,
    /// Files accepted per customer per day.
    pub files_per_day: u32,
    /// Orders a customer may have open (not delivered, cancelled or rejected) at once.
    pub open_orders: u32,
}

impl Default for QuotaSettings {
    fn default() -> Self {
        QuotaSettings {
            bytes_per_day: 10 * 1024 * 1024 * 1024,
            files_per_day: 500,
            open_orders: 20,
        }
    }
}

/// Each live stream holds a connection, so each is bounded.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct LiveSettings {
    /// Streams one account may have open at once; the next answers 429.
    pub max_streams_per_account: usize,
    /// A stream ends after this long; the browser's `EventSource` reconnects.
    pub max_stream_secs: u64,
    /// How often a stream checks that its session is still live.
    pub session_check_secs: u64,
}

impl Default for LiveSettings {
    fn default() -> Self {
        LiveSettings {
            max_streams_per_account: 8,
            max_stream_secs: 3600,
            session_check_secs: 30,
        }
    }
}

/// Sign-in cannot be used to exhaust the gateway or to guess passwords without end:
/// Argon2 runs in a bounded number of slots, and failed sign-ins are counted per client
/// address and per account, each failure past the free ones doubling the pause.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SignInSettings {
    /// Password hashes at once (each takes 19 MiB and a core for tens of milliseconds);
    /// 0 means half the cores (at least one), leaving the rest to orders.
    pub hashing_slots: usize,
    /// How long a sign-in or registration waits for a slot before it hears 503.
    pub hashing_queue_ms: u64,
    /// Sign-ins from one address (IPv6: one /64) that may fail in a row before a pause.
    pub free_failures_per_address: u32,
    /// Sign-ins to one e-mail address that may fail in a row before a pause.
    pub free_failures_per_account: u32,
    /// The first pause; each further failure doubles it, up to `max_pause_secs`.
    pub first_pause_secs: u64,
    pub max_pause_secs: u64,
    /// Failures are forgotten this long after the last one.
    pub forget_after_secs: u64,
    /// Addresses and accounts tracked at most (memory bound); see docs/reliability.md.
    pub max_tracked: usize,
}

impl Default for SignInSettings {
    fn default() -> Self {
        SignInSettings {
            hashing_slots: 0,
            hashing_queue_ms: 2000,
            free_failures_per_address: 20,
            free_failures_per_account: 5,
            first_pause_secs: 1,
            max_pause_secs: 900,
            forget_after_secs: 3600,
            max_tracked: 100_000,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServiceSettings {
    pub listen: SocketAddr,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WorkerSettings {
    pub listen: SocketAddr,
    pub concurrency: usize,
}

/// The persistence worker: a worker whose events are recorded in batches, one transaction
/// per batch. `concurrency` is the number of batches in flight.
#[derive(Debug, Clone, Deserialize)]
pub struct PersistenceWorkerSettings {
    pub listen: SocketAddr,
    pub concurrency: usize,
    /// The most events recorded in one transaction.
    #[serde(default = "PersistenceWorkerSettings::default_batch_max_events")]
    pub batch_max_events: usize,
    /// How long the first event of a batch waits for others, in milliseconds.
    #[serde(default = "PersistenceWorkerSettings::default_batch_max_wait_ms")]
    pub batch_max_wait_ms: u64,
    /// Transactions (and connections) a batch is split into, by order.
    #[serde(default = "PersistenceWorkerSettings::default_lanes")]
    pub lanes: usize,
}

impl PersistenceWorkerSettings {
    fn default_batch_max_events() -> usize {
        100
    }
    fn default_batch_max_wait_ms() -> u64 {
        5
    }
    fn default_lanes() -> usize {
        1
    }

    pub fn batch_max_wait(&self) -> Duration {
        Duration::from_millis(self.batch_max_wait_ms)
    }
}

/// The storage worker: a worker, plus what it refuses and how it sweeps abandoned uploads.
#[derive(Debug, Clone, Deserialize)]
pub struct StorageWorkerSettings {
    pub listen: SocketAddr,
    pub concurrency: usize,
    /// Sniffed content types never kept (rejected with `type_refused`).
    pub refused_content_types: Vec<String>,
    /// How often the sweep looks for abandoned uploads; 0 turns it off.
    pub sweep_interval_secs: u64,
    /// Incomplete multipart uploads older than this are aborted by the sweep.
    pub abandoned_multipart_after_secs: u64,
    /// `staging/` objects older than this are deleted by the sweep.
    pub abandoned_staging_after_secs: u64,
}

/// The notifier: a worker. Its pace towards Telegram is the bot's, in
/// [`TelegramSettings`], shared with the bot gateway.
#[derive(Debug, Clone, Deserialize)]
pub struct NotifierSettings {
    pub listen: SocketAddr,
    pub concurrency: usize,
}

/// The business's contacts, shown to customers (the bot's "Contact us"), and its time zone.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BusinessSettings {
    pub name: String,
    pub phone: String,
    pub email: String,
    /// Opening hours in words, e.g. "Mon–Fri 9:00–18:00".
    pub hours: String,
    /// The IANA name of the zone the business's days are counted in (reports' days, weeks
    /// and months), e.g. "Europe/Kyiv", until an admin sets one in the back office
    /// (`business::time_zone`). Empty or unknown: `business::DEFAULT_TIME_ZONE`.
    #[serde(default)]
    pub time_zone: String,
}

/// Signed links for downloads and uploads without a web session (see `links.rs`).
#[derive(Debug, Clone, Deserialize)]
pub struct LinkSettings {
    /// At least 16 characters; every service that makes or checks links needs the same one.
    pub secret: Secret,
    pub download_ttl_secs: u64,
    pub upload_ttl_secs: u64,
}

/// A value that must not be logged: passwords, tokens, keys, URLs with credentials.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() {
            "\"\""
        } else {
            "\"<redacted>\""
        })
    }
}

impl Settings {
    /// Loads settings from the config directory: `BUREAU_CONFIG_DIR`, else the nearest
    /// `config/` holding `default.toml` in the working directory or one of its parents.
    pub fn load() -> Result<Settings, config::ConfigError> {
        let dir = match std::env::var_os("BUREAU_CONFIG_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => {
                find_config_dir(&std::env::current_dir().unwrap_or_default()).ok_or_else(|| {
                    config::ConfigError::Message(
                        "no config/default.toml here or above; set BUREAU_CONFIG_DIR".into(),
                    )
                })?
            }
        };
        Settings::load_from(&dir)
    }

    /// Loads settings from `dir`, then the environment.
    pub fn load_from(dir: &Path) -> Result<Settings, config::ConfigError> {
        let environment =
            std::env::var("BUREAU_ENVIRONMENT").unwrap_or_else(|_| "local".to_owned());
        config::Config::builder()
            .add_source(config::File::from(dir.join("default.toml")))
            .add_source(config::File::from(dir.join(format!("{environment}.toml"))).required(false))
            .add_source(config::File::from(dir.join("local.toml")).required(false))
            .add_source(
                config::Environment::with_prefix("BUREAU")
                    .prefix_separator("__")
                    .separator("__")
                    .list_separator(",")
                    .with_list_parse_key("broker.retry_delays_ms")
                    .with_list_parse_key("storage_worker.refused_content_types")
                    .try_parsing(true),
            )
            .build()?
            .try_deserialize()
    }
}

/// The `config/` directory at or above `start`.
pub fn find_config_dir(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join("config"))
        .find(|dir| dir.join("default.toml").is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_defaults_load_and_hide_secrets() {
        let dir = find_config_dir(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
        let settings = Settings::load_from(&dir).unwrap();
        assert_eq!(settings.telegram.api_url, "https://api.telegram.org");
        assert_eq!(settings.telegram.mode, TelegramMode::Polling);
        assert!(!settings.broker.retry_delays().is_empty());
        let shown = format!("{:?}", Secret::new("hunter2"));
        assert!(!shown.contains("hunter2"));
    }
}
