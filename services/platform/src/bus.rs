//! The broker connection for a service, built from settings.

use std::sync::Arc;

use bureau_event_bus::{BusConfig, EventBus};

use crate::settings::BrokerSettings;

pub fn event_bus(settings: &BrokerSettings, service: &str) -> Arc<EventBus> {
    EventBus::new(BusConfig {
        url: settings.url.expose().to_owned(),
        namespace: settings.namespace.clone(),
        prefetch: settings.prefetch,
        max_attempts: settings.max_attempts.max(1),
        retry_delays: settings.retry_delays(),
        connection_name: format!("{service}@{}", hostname()),
        idle_queue_expiry: settings.idle_queue_expiry(),
    })
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into())
}
