//! Helpers shared by the double's integration tests.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use telegram_double::{DoubleConfig, TelegramDouble};
use teloxide::Bot;

pub const WAIT: Duration = Duration::from_secs(5);

pub async fn start() -> TelegramDouble {
    TelegramDouble::start(DoubleConfig::default())
        .await
        .expect("double starts")
}

pub async fn start_with(config: DoubleConfig) -> TelegramDouble {
    TelegramDouble::start(config).await.expect("double starts")
}

/// A teloxide bot pointed at the double.
pub fn bot(double: &TelegramDouble) -> Bot {
    Bot::new(double.token()).set_api_url(double.api_url().parse().expect("api url parses"))
}

/// Runs `fut` with a deadline, failing the test (instead of hanging) when it passes.
pub async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, fut)
        .await
        .unwrap_or_else(|_| panic!("{what}: no result within {WAIT:?}"))
}

pub fn raw_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}
