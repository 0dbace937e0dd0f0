//! Files sent to the bot, fetched through the Bot API: `getFile` for the file's path, then
//! a streamed download of that path.
//!
//! The bot token is part of every Bot API URL, so no URL is ever logged or put in an error.

use std::time::Duration;

use bureau_event_bus::HandlerError;
use bureau_platform::Secret;
use bureau_platform::settings::TelegramSettings;
use futures::StreamExt;
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::sources::{ByteStream, Opened};
use crate::verdict::Rejection;

/// The longest we hold a delivery waiting out Telegram's flood control before handing it
/// back to the bus for a delayed retry.
const MAX_FLOOD_WAIT: Duration = Duration::from_secs(60);
const GET_FILE_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A download that sends nothing for this long is dead; a slow one is fine.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Files sent to the bot, fetched through the Bot API.
pub struct TelegramFiles {
    http: reqwest::Client,
    api_url: Url,
    token: Secret,
    max_download_bytes: u64,
    /// Cuts a flood-control wait short when the worker stops.
    shutdown: CancellationToken,
}

impl TelegramFiles {
    pub fn new(settings: &TelegramSettings, shutdown: CancellationToken) -> anyhow::Result<Self> {
        let api_url = Url::parse(&settings.api_url).map_err(|e| {
            anyhow::anyhow!("telegram.api_url `{}` is not a URL: {e}", settings.api_url)
        })?;
        if api_url.cannot_be_a_base() {
            anyhow::bail!("telegram.api_url `{}` cannot hold a path", settings.api_url);
        }
        if settings.token.is_empty() {
            tracing::warn!(
                "telegram.token is empty: files sent through Telegram cannot be fetched"
            );
        }
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .build()?;
        Ok(TelegramFiles {
            http,
            api_url,
            token: settings.token.clone(),
            max_download_bytes: settings.max_download_bytes,
            shutdown,
        })
    }

    /// Looks the file up with `getFile`, then opens its download.
    pub async fn open(&self, telegram_file_id: &str) -> Result<Opened, HandlerError> {
        match self.look_up(telegram_file_id).await? {
            FileLookup::Found { file_path } => self.download(&file_path).await.map(Opened::Bytes),
            FileLookup::Rejected(rejection) => Ok(Opened::Rejected(rejection)),
            FileLookup::RetryAfter(wait) => {
                let wait = wait.min(MAX_FLOOD_WAIT);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = self.shutdown.cancelled() => {}
                }
                Err(HandlerError::transient(format!(
                    "Telegram's flood control asked us to wait {}s",
                    wait.as_secs()
                )))
            }
            FileLookup::Failed(reason) => Err(HandlerError::transient(reason)),
        }
    }

    async fn look_up(&self, telegram_file_id: &str) -> Result<FileLookup, HandlerError> {
        let url = self.endpoint([self.bot_segment().as_str(), "getFile"]);
        let response = self
            .http
            .get(url)
            .query(&[("file_id", telegram_file_id)])
            .timeout(GET_FILE_TIMEOUT)
            .send()
            .await
            .map_err(|e| {
                HandlerError::transient(format!("Telegram getFile failed: {}", describe(e)))
            })?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| {
            HandlerError::transient(format!("Telegram getFile failed: {}", describe(e)))
        })?;
        Ok(read_get_file(status, &body, self.max_download_bytes))
    }

    async fn download(&self, file_path: &str) -> Result<ByteStream, HandlerError> {
        let bot = self.bot_segment();
        let url = self.endpoint(
            ["file", bot.as_str()]
                .into_iter()
                .chain(file_path.split('/')),
        );
        let response = self.http.get(url).send().await.map_err(|e| {
            HandlerError::transient(format!("Telegram file download failed: {}", describe(e)))
        })?;
        let status = response.status();
        if !status.is_success() {
            // We were just given this path; a refusal now is Telegram's hiccup, and if the
            // file is really gone the next `getFile` says so and the file is rejected then.
            return Err(HandlerError::transient(format!(
                "Telegram answered {status} to the file download"
            )));
        }
        Ok(response
            .bytes_stream()
            .map(|chunk| chunk.map_err(describe))
            .boxed())
    }

    /// `bot<token>`: the path segment that names our bot. Never log it.
    fn bot_segment(&self) -> String {
        format!("bot{}", self.token.expose())
    }

    /// `api_url` with `segments` appended; `.` and `..` segments are ignored by `extend`,
    /// so a file path cannot climb out of the file area.
    fn endpoint<'a>(&self, segments: impl IntoIterator<Item = &'a str>) -> Url {
        let mut url = self.api_url.clone();
        // Always `Ok`: `new` refused URLs that cannot hold a path.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }
}

/// A reqwest error in words, without the URL it carries (the URL holds the bot token).
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// What a `getFile` answer means for us.
#[derive(Debug, PartialEq)]
enum FileLookup {
    /// Download it from this path.
    Found {
        file_path: String,
    },
    Rejected(Rejection),
    /// Flood control: ask again after this long.
    RetryAfter(Duration),
    /// Telegram (or the way to it) failed; worth asking again later.
    Failed(String),
}

/// The Bot API's answer envelope: `{"ok":true,"result":…}` or
/// `{"ok":false,"error_code":…,"description":…,"parameters":{"retry_after":…}}`.
#[derive(Deserialize)]
struct ApiAnswer {
    ok: bool,
    #[serde(default)]
    result: Option<TelegramFile>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<ResponseParameters>,
}

#[derive(Deserialize)]
struct ResponseParameters {
    #[serde(default)]
    retry_after: Option<u64>,
}

#[derive(Deserialize)]
struct TelegramFile {
    #[serde(default)]
    file_size: Option<u64>,
    #[serde(default)]
    file_path: Option<String>,
}

fn read_get_file(status: StatusCode, body: &[u8], max_download_bytes: u64) -> FileLookup {
    let Ok(answer) = serde_json::from_slice::<ApiAnswer>(body) else {
        return FileLookup::Failed(format!(
            "Telegram answered getFile with {status} and no readable body"
        ));
    };
    let description = answer.description.unwrap_or_else(|| status.to_string());
    match status {
        StatusCode::OK if answer.ok => match answer.result {
            Some(TelegramFile {
                file_size: Some(size),
                ..
            }) if size > max_download_bytes => FileLookup::Rejected(Rejection::TooBigForTelegram {
                limit: max_download_bytes,
            }),
            Some(TelegramFile {
                file_path: Some(file_path),
                ..
            }) if !file_path.is_empty() => FileLookup::Found { file_path },
            _ => FileLookup::Rejected(Rejection::TelegramFileUnavailable {
                telegram_says: "no download path was given".to_owned(),
            }),
        },
        StatusCode::BAD_REQUEST if description.contains("file is too big") => {
            FileLookup::Rejected(Rejection::TooBigForTelegram {
                limit: max_download_bytes,
            })
        }
        // "Bad Request: invalid file_id", "wrong file_id or the file is temporarily
        // unavailable": the reference is no good, and asking again will not change that.
        StatusCode::BAD_REQUEST => FileLookup::Rejected(Rejection::TelegramFileUnavailable {
            telegram_says: description,
        }),
        StatusCode::TOO_MANY_REQUESTS => {
            let seconds = answer.parameters.and_then(|p| p.retry_after).unwrap_or(1);
            FileLookup::RetryAfter(Duration::from_secs(seconds.max(1)))
        }
        // 5xx, and also 401/404 (a wrong token): not the event's fault; retried, then
        // dead-lettered with this text for an operator.
        _ => FileLookup::Failed(format!(
            "Telegram answered getFile with {status}: {description}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: u64 = 20 * 1024 * 1024;

    fn read(status: u16, body: &str) -> FileLookup {
        read_get_file(
            StatusCode::from_u16(status).unwrap(),
            body.as_bytes(),
            LIMIT,
        )
    }

    #[test]
    fn a_found_file_gives_its_path() {
        let body = r#"{"ok":true,"result":{"file_id":"A","file_unique_id":"B","file_size":1234,"file_path":"documents/file_1.pdf"}}"#;
        assert_eq!(
            read(200, body),
            FileLookup::Found {
                file_path: "documents/file_1.pdf".into()
            }
        );
    }

    #[test]
    fn a_file_above_the_download_limit_is_rejected() {
        let body = format!(
            r#"{{"ok":true,"result":{{"file_id":"A","file_unique_id":"B","file_size":{},"file_path":"documents/x"}}}}"#,
            LIMIT + 1
        );
        let FileLookup::Rejected(rejection) = read(200, &body) else {
            panic!("not rejected")
        };
        assert_eq!(rejection.code(), "too_big_for_telegram");
        let too_big = read(
            400,
            r#"{"ok":false,"error_code":400,"description":"Bad Request: file is too big"}"#,
        );
        assert_eq!(
            too_big,
            FileLookup::Rejected(Rejection::TooBigForTelegram { limit: LIMIT })
        );
    }

    #[test]
    fn an_unknown_file_id_is_rejected_with_telegrams_words() {
        let lookup = read(
            400,
            r#"{"ok":false,"error_code":400,"description":"Bad Request: invalid file_id"}"#,
        );
        let FileLookup::Rejected(rejection) = lookup else {
            panic!("not rejected")
        };
        assert_eq!(rejection.code(), "telegram_file_unavailable");
        assert!(rejection.reason().contains("Bad Request: invalid file_id"));
    }

    #[test]
    fn a_file_without_a_path_is_unavailable() {
        let lookup = read(
            200,
            r#"{"ok":true,"result":{"file_id":"A","file_unique_id":"B"}}"#,
        );
        let FileLookup::Rejected(rejection) = lookup else {
            panic!("not rejected")
        };
        assert_eq!(rejection.code(), "telegram_file_unavailable");
    }

    #[test]
    fn flood_control_says_how_long_to_wait() {
        let body = r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#;
        assert_eq!(
            read(429, body),
            FileLookup::RetryAfter(Duration::from_secs(7))
        );
        let bare = r#"{"ok":false,"error_code":429,"description":"Too Many Requests"}"#;
        assert_eq!(
            read(429, bare),
            FileLookup::RetryAfter(Duration::from_secs(1))
        );
    }

    #[test]
    fn server_errors_and_wrong_tokens_are_worth_retrying() {
        assert!(matches!(
            read(502, "<html>bad gateway</html>"),
            FileLookup::Failed(_)
        ));
        assert!(matches!(
            read(
                401,
                r#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#
            ),
            FileLookup::Failed(_)
        ));
        assert!(matches!(
            read(200, r#"{"ok":false}"#),
            FileLookup::Failed(_)
        ));
    }

    fn files(api_url: &str) -> TelegramFiles {
        let settings = TelegramSettings {
            api_url: api_url.to_owned(),
            token: Secret::new("123:SECRET"),
            bot_username: String::new(),
            mode: bureau_platform::settings::TelegramMode::Polling,
            webhook_url: String::new(),
            webhook_secret: Secret::default(),
            payment_provider_token: Secret::default(),
            webhook_max_connections: 40,
            max_download_bytes: LIMIT,
            flood_limits: true,
            messages_per_second: 29.0,
            chat_interval_ms: 1000,
            group_interval_ms: 3000,
            push_lead_ms: 100,
        };
        TelegramFiles::new(&settings, CancellationToken::new()).unwrap()
    }

    #[test]
    fn urls_follow_the_bot_api_layout() {
        let telegram = files("https://api.telegram.org");
        assert_eq!(
            telegram.endpoint(["bot123:SECRET", "getFile"]).as_str(),
            "https://api.telegram.org/bot123:SECRET/getFile"
        );
        let behind_a_prefix = files("http://127.0.0.1:9000/telegram/");
        assert_eq!(
            behind_a_prefix
                .endpoint(["file", "bot1", "documents", "file_1.pdf"])
                .as_str(),
            "http://127.0.0.1:9000/telegram/file/bot1/documents/file_1.pdf"
        );
        assert_eq!(
            telegram
                .endpoint(["file", "bot1", "..", "..", "x"])
                .as_str(),
            "https://api.telegram.org/file/bot1/x"
        );
    }

    #[tokio::test]
    async fn errors_never_carry_the_token() {
        // Port 9 (discard) on localhost refuses connections on a machine with no such service.
        let telegram = files("http://127.0.0.1:9");
        let error = match telegram.open("some-file").await {
            Err(error) => error.to_string(),
            Ok(_) => panic!("nothing listens on port 9"),
        };
        assert!(!error.contains("SECRET"), "{error}");
        assert!(error.contains("getFile"), "{error}");
    }
}
