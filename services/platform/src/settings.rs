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
    pub storage_worker: WorkerSettings,
    pub persistence_worker: WorkerSettings,
    pub notifier: WorkerSettings,
    pub links: LinkSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub format: LogFormat,
    pub filter: String,
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
}

impl BrokerSettings {
    pub fn retry_delays(&self) -> Vec<Duration> {
        self.retry_delays_ms.iter().map(|ms| Duration::from_millis(*ms)).collect()
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
    pub mode: TelegramMode,
    pub webhook_url: String,
    pub webhook_secret: Secret,
    pub max_download_bytes: u64,
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
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"<redacted>\"" })
    }
}

impl Settings {
    /// Loads settings from the config directory: `BUREAU_CONFIG_DIR`, else the nearest
    /// `config/` holding `default.toml` in the working directory or one of its parents.
    pub fn load() -> Result<Settings, config::ConfigError> {
        let dir = match std::env::var_os("BUREAU_CONFIG_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => find_config_dir(&std::env::current_dir().unwrap_or_default())
                .ok_or_else(|| config::ConfigError::Message(
                    "no config/default.toml here or above; set BUREAU_CONFIG_DIR".into(),
                ))?,
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
