//! The double's settings: where it listens, the bot's token and identity,
//! and Telegram's limits (defaults are the cloud Bot API's).

use std::net::SocketAddr;
use std::time::Duration;

/// Settings of one [`TelegramDouble`](crate::TelegramDouble).
///
/// Build it with struct update syntax so new fields do not break callers:
/// `DoubleConfig { chat_burst: 10, ..DoubleConfig::default() }`.
#[derive(Debug, Clone)]
pub struct DoubleConfig {
    /// The bot token the double accepts; any other token gets 401 `Unauthorized`.
    /// The part before `:` is the bot's user id (as with real tokens).
    pub token: String,
    /// Where to listen; the default `127.0.0.1:0` picks a free port.
    pub listen: SocketAddr,
    /// Per chat: bucket capacity (messages that may go out in a burst).
    pub chat_burst: u32,
    /// Per chat: tokens regained per second.
    pub chat_per_sec: f64,
    /// Whole bot: bucket capacity.
    pub global_burst: u32,
    /// Whole bot: tokens regained per second.
    pub global_per_sec: f64,
    /// Group chats (negative ids): messages per minute (also the burst).
    pub group_per_min: u32,
    /// `getFile` refuses files above this with 400 "Bad Request: file is too big".
    pub max_download_bytes: u64,
    /// Uploads above this get 413 "Request Entity Too Large".
    pub max_upload_bytes: u64,
    /// Photos (sendPhoto) above this get 400.
    pub max_photo_bytes: u64,
    /// The longest a `getUpdates` long poll is held, whatever `timeout` asks
    /// (Telegram holds up to 50 s).
    pub long_poll_max: Duration,
    /// The bot's `username` in `getMe` (bots always have one).
    pub bot_username: String,
    /// The bot's `first_name` in `getMe`.
    pub bot_first_name: String,
}

impl Default for DoubleConfig {
    fn default() -> Self {
        DoubleConfig {
            token: "123456:TEST-TOKEN".to_owned(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            chat_burst: 3,
            chat_per_sec: 1.0,
            global_burst: 30,
            global_per_sec: 30.0,
            group_per_min: 20,
            max_download_bytes: 20 * 1024 * 1024,
            max_upload_bytes: 50 * 1024 * 1024,
            max_photo_bytes: 10 * 1024 * 1024,
            long_poll_max: Duration::from_secs(50),
            bot_username: "bureau_test_bot".to_owned(),
            bot_first_name: "Bureau Test Bot".to_owned(),
        }
    }
}

impl DoubleConfig {
    /// The defaults with the flood limits lifted, for tests about something else.
    pub fn without_limits() -> Self {
        DoubleConfig {
            chat_burst: 1_000_000,
            chat_per_sec: f64::INFINITY,
            global_burst: 1_000_000,
            global_per_sec: f64::INFINITY,
            group_per_min: 1_000_000,
            ..DoubleConfig::default()
        }
    }

    /// The bot's user id: the digits before `:` in the token (0 if there are none).
    pub fn bot_id(&self) -> u64 {
        self.token
            .split(':')
            .next()
            .and_then(|id| id.parse().ok())
            .unwrap_or(0)
    }

    pub(crate) fn limits(&self) -> crate::limits::LimitConfig {
        crate::limits::LimitConfig {
            chat_burst: self.chat_burst,
            chat_per_sec: self.chat_per_sec,
            global_burst: self.global_burst,
            global_per_sec: self.global_per_sec,
            group_per_min: self.group_per_min,
        }
    }
}
