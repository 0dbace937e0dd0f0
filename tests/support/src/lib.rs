//! What every Bureau test crate repeats, written once: [`eventually`] (wait for a condition,
//! bounded by a deadline, never a fixed sleep), [`TestDatabase`] (a fresh database of the
//! test's own: created, migrated, dropped), the repository's [`settings`], [`init_logging`],
//! removing a test's broker namespace, an SMTP server double ([`smtp::SmtpDouble`]), and
//! small helpers for test data.
//!
//! Tests run against the real servers `scripts/stack up` starts, with the credentials it
//! writes to `config/local.toml`.

mod database;
mod eventually;
pub mod otlp;
pub mod smtp;

use std::path::PathBuf;

use bureau_platform::Settings;
use bureau_platform::settings::BrokerSettings;

pub use database::TestDatabase;
pub use eventually::{Settled, eventually};

/// The repository's `config/` directory.
pub fn config_dir() -> PathBuf {
    bureau_platform::settings::find_config_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")))
        .expect("config/default.toml above the test support crate")
}

/// The settings a local run has: `config/` with `local.toml` and `BUREAU__*` variables.
pub fn settings() -> anyhow::Result<Settings> {
    Ok(Settings::load_from(&config_dir())?)
}

/// Installs a test log subscriber once (RUST_LOG decides; quiet by default).
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

/// A short random name part (12 hex digits) for a test's database, namespace or bucket.
pub fn unique_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// How long a test's queues outlive their last use: longer than any test, short enough
/// that the queues of a test that failed before cleaning up leave the broker by themselves.
pub const TEST_QUEUE_EXPIRY_SECS: u64 = 20 * 60;

/// Gives `broker` a namespace of its own, `{prefix}{random}`, whose queues the broker
/// deletes once unused for [`TEST_QUEUE_EXPIRY_SECS`]: isolation, and no leftovers even
/// when a test panics before [`remove_broker_namespace`].
pub fn isolate_broker(broker: &mut BrokerSettings, prefix: &str) {
    broker.namespace = format!("{prefix}{}", unique_suffix());
    broker.idle_queue_expiry_secs = Some(TEST_QUEUE_EXPIRY_SECS);
}

/// Deletes every queue and exchange of `broker.namespace`. Best effort: leftovers are
/// namespaced and harmless.
pub async fn remove_broker_namespace(broker: &BrokerSettings) {
    let bus = bureau_platform::bus::event_bus(broker, "test-cleanup");
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
}

/// The first 8-digit order number after a `№` in `text`.
pub fn order_number_in(text: &str) -> Option<String> {
    let (_, after) = text.split_once('№')?;
    let digits: String = after
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    (digits.len() == 8).then_some(digits)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Bytes that no compressor or sniffer mistakes for anything in particular.
pub fn random_bytes(len: usize) -> Vec<u8> {
    (0..len).map(|_| rand::random::<u8>()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_numbers_are_found_in_replies() {
        assert_eq!(
            order_number_in("Замовлення №48213097 прийнято"),
            Some("48213097".into())
        );
        assert_eq!(
            order_number_in("Order № 48213097 accepted"),
            Some("48213097".into())
        );
        assert_eq!(order_number_in("no number"), None);
    }
}
