//! The Telegram side as configured: the bot pointed at the configured Bot API with the
//! token's shared pace, and how updates reach us (long polling or a webhook). Checked before
//! anything starts, so a bad setting stops the service at once instead of failing on the
//! first update.

use std::ops::Deref;

use anyhow::{Context, bail, ensure};
use bureau_platform::Secret;
use bureau_platform::settings::{TelegramMode, TelegramSettings};
use bureau_platform::telegram_pace::{Pace, Priority, SharedPace};
use sqlx::MySqlPool;
use teloxide::Bot;
use teloxide::types::ChatId;
use url::Url;

/// The bot every handler talks through: teloxide's [`Bot`] (by deref) and the bot token's
/// pace. Every message and edit the gateway makes first takes its turn
/// ([`GatewayBot::wait_turn`]) in the pace shared through MySQL by every process sending
/// with the token (gateway and notifier replicas: see `bureau_platform::telegram_pace`), as
/// a reply, ahead of the notifier's pushes; so together they keep to Telegram's limits (1
/// message/s per chat, 30/s overall) instead of meeting 429s. Callback answers and
/// `getUpdates`, which Telegram does not count, are not paced.
#[derive(Clone, Debug)]
pub struct GatewayBot {
    bot: Bot,
    /// `None` with `telegram.flood_limits = false` (benchmarks against a double without limits).
    pace: Option<SharedPace>,
    /// The payment provider's token for invoices; `None`: no invoices.
    payment_token: Option<Secret>,
}

impl Deref for GatewayBot {
    type Target = Bot;

    fn deref(&self) -> &Bot {
        &self.bot
    }
}

impl GatewayBot {
    /// A bot that paces nothing: for tests whose handlers never call Telegram.
    #[cfg(test)]
    pub fn unpaced(bot: Bot) -> GatewayBot {
        GatewayBot {
            bot,
            pace: None,
            payment_token: None,
        }
    }

    /// The payment provider's token, when invoices are on.
    pub fn payment_token(&self) -> Option<String> {
        self.payment_token
            .as_ref()
            .map(|token| token.expose().to_owned())
    }

    /// Waits for this process's turn to send one message (or edit) to `chat_id`. When MySQL
    /// does not answer, the message goes unpaced: a 429 is then waited out by the caller.
    pub async fn wait_turn(&self, chat_id: ChatId) {
        let Some(pace) = &self.pace else {
            return;
        };
        let waited = crate::stage_times::timed(
            crate::stage_times::Stage::PaceWait,
            pace.wait_turn(chat_id.0, Priority::Reply),
        )
        .await;
        if let Err(error) = waited {
            tracing::warn!(%error, chat_id = chat_id.0, "the shared pace did not answer; sending unpaced");
        }
    }
}

/// How Telegram hands us updates.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// One instance long-polls `getUpdates` (Telegram allows only one poller per token).
    Polling,
    /// Telegram POSTs to our `/telegram/webhook`; any number of replicas may serve it.
    Webhook(WebhookSetup),
}

#[derive(Clone)]
pub struct WebhookSetup {
    /// The public URL Telegram posts to; it must reach `/telegram/webhook` on this service.
    pub url: Url,
    /// Telegram echoes it in `X-Telegram-Bot-Api-Secret-Token`; requests without it are refused.
    pub secret: String,
    /// Deliveries Telegram may make at once (1–100).
    pub max_connections: u8,
}

impl std::fmt::Debug for WebhookSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSetup")
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

/// The validated Telegram settings.
#[derive(Debug, Clone)]
pub struct TelegramConfig {
    api_url: Url,
    token: Secret,
    flood_limits: bool,
    pace: Pace,
    payment_token: Secret,
    pub delivery: Delivery,
}

impl TelegramConfig {
    pub fn from_settings(settings: &TelegramSettings) -> anyhow::Result<TelegramConfig> {
        let api_url: Url = settings
            .api_url
            .parse()
            .with_context(|| format!("telegram.api_url {:?}", settings.api_url))?;
        ensure!(
            !settings.token.is_empty(),
            "telegram.token is empty (set BUREAU__TELEGRAM__TOKEN)"
        );
        let delivery = match settings.mode {
            TelegramMode::Polling => Delivery::Polling,
            TelegramMode::Webhook => {
                let url: Url = settings
                    .webhook_url
                    .parse()
                    .with_context(|| format!("telegram.webhook_url {:?}", settings.webhook_url))?;
                let secret = settings.webhook_secret.expose().to_owned();
                check_webhook_secret(&secret)?;
                let max_connections = settings.webhook_max_connections;
                ensure!(
                    (1..=100).contains(&max_connections),
                    "telegram.webhook_max_connections must be 1 to 100 (Telegram's range), not {max_connections}"
                );
                Delivery::Webhook(WebhookSetup {
                    url,
                    secret,
                    max_connections,
                })
            }
        };
        Ok(TelegramConfig {
            api_url,
            token: settings.token.clone(),
            flood_limits: settings.flood_limits,
            pace: Pace::from_settings(settings),
            payment_token: settings.payment_provider_token.clone(),
            delivery,
        })
    }

    /// The bot, paced through `pool` (not at all when `flood_limits` is off).
    pub fn bot(&self, pool: MySqlPool) -> GatewayBot {
        GatewayBot {
            bot: Bot::new(self.token.expose()).set_api_url(self.api_url.clone()),
            pace: self.flood_limits.then(|| SharedPace::new(pool, self.pace)),
            payment_token: (!self.payment_token.is_empty()).then(|| self.payment_token.clone()),
        }
    }
}

/// Telegram's rule for secret tokens: 1-256 of `A-Z a-z 0-9 _ -`. An empty secret would
/// leave the webhook open to anyone who finds its URL, so it is refused too.
fn check_webhook_secret(secret: &str) -> anyhow::Result<()> {
    if secret.is_empty() {
        bail!(
            "telegram.webhook_secret is empty; webhook mode needs one (BUREAU__TELEGRAM__WEBHOOK_SECRET)"
        );
    }
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    ensure!(
        secret.len() <= 256 && secret.bytes().all(allowed),
        "telegram.webhook_secret must be 1-256 characters of A-Z, a-z, 0-9, _ and -"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(mode: TelegramMode, secret: &str) -> TelegramSettings {
        TelegramSettings {
            api_url: "http://127.0.0.1:8999".into(),
            token: Secret::new("123:abc"),
            bot_username: String::new(),
            mode,
            webhook_url: "https://bot.example.com/telegram/webhook".into(),
            webhook_secret: Secret::new(secret),
            payment_provider_token: Secret::default(),
            webhook_max_connections: 40,
            max_download_bytes: 20 * 1024 * 1024,
            flood_limits: true,
            messages_per_second: 29.0,
            chat_interval_ms: 1000,
            group_interval_ms: 3000,
            push_lead_ms: 100,
        }
    }

    #[test]
    fn polling_needs_only_a_token() {
        let config = TelegramConfig::from_settings(&settings(TelegramMode::Polling, "")).unwrap();
        assert!(matches!(config.delivery, Delivery::Polling));
        let mut no_token = settings(TelegramMode::Polling, "");
        no_token.token = Secret::new("");
        assert!(TelegramConfig::from_settings(&no_token).is_err());
    }

    #[test]
    fn a_webhook_needs_a_valid_secret() {
        let config =
            TelegramConfig::from_settings(&settings(TelegramMode::Webhook, "s3cret_-X")).unwrap();
        let Delivery::Webhook(setup) = config.delivery else {
            panic!("webhook expected")
        };
        assert_eq!(setup.url.path(), "/telegram/webhook");
        assert!(
            !format!("{setup:?}").contains("s3cret"),
            "the secret is never logged"
        );
        for bad in ["", "has space", "ünicode", &"x".repeat(257)] {
            assert!(
                TelegramConfig::from_settings(&settings(TelegramMode::Webhook, bad)).is_err(),
                "{bad}"
            );
        }
        for connections in [0, 101] {
            let mut out_of_range = settings(TelegramMode::Webhook, "s3cret_-X");
            out_of_range.webhook_max_connections = connections;
            assert!(
                TelegramConfig::from_settings(&out_of_range).is_err(),
                "{connections}"
            );
        }
    }
}
