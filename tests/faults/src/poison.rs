//! Deliberately bad messages, published straight to the events exchange the way a broken
//! or hostile producer would: each must land in the dead-letter queue of every consumer
//! bound to `order.created` (the persistence worker) with its reason, once, while work
//! goes on.

use bureau_event_bus::EventBus;
use lapin::BasicProperties;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use proto_events::EventKind;
use proto_events::topology::Consumer;
use serde_json::json;

/// The message ids of the poison, so the audit can tell them from real failures.
pub const POISON_IDS: [&str; 5] = [
    "poison-invalid-json",
    "poison-unknown-type",
    "poison-wrong-version",
    "poison-missing-fields",
    "poison-10-mb",
];

/// How many consumers receive `order.created` and so each get a copy of every poison: as
/// the contract subscribes them.
pub fn poisoned_consumers() -> usize {
    Consumer::ALL
        .into_iter()
        .filter(|consumer| consumer.subscriptions().contains(&EventKind::OrderCreated))
        .count()
}

fn envelope(event_type: &str, version: u32, payload: serde_json::Value) -> Vec<u8> {
    json!({
        "event_id": uuid::Uuid::now_v7(),
        "event_type": event_type,
        "schema_version": version,
        "occurred_at": "2026-11-21T10:00:00Z",
        "correlation_id": uuid::Uuid::now_v7(),
        "causation_id": null,
        "producer": "fault-suite",
        "payload": payload,
    })
    .to_string()
    .into_bytes()
}

/// The five kinds of poison the issue names, as (message id, body).
pub fn poison() -> Vec<(&'static str, Vec<u8>)> {
    let ten_mb = "x".repeat(10 * 1024 * 1024);
    vec![
        (POISON_IDS[0], b"{this is not json".to_vec()),
        (
            POISON_IDS[1],
            envelope(
                "order.exploded",
                1,
                json!({"order_id": uuid::Uuid::now_v7()}),
            ),
        ),
        (
            POISON_IDS[2],
            envelope(
                "order.created",
                99,
                json!({"order_id": uuid::Uuid::now_v7()}),
            ),
        ),
        (
            POISON_IDS[3],
            envelope("order.created", 1, json!({"order_number": "12345678"})),
        ),
        (
            POISON_IDS[4],
            envelope("order.created", 1, json!({"text": ten_mb})),
        ),
    ]
}

/// Publishes the poison with confirms; all under `order.created` so it is routed.
pub async fn publish(bus: &EventBus) -> anyhow::Result<()> {
    let channel = bus.open_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let exchange = bus.topology().events_exchange();
    for (id, body) in poison() {
        let confirm = channel
            .basic_publish(
                exchange.as_str().into(),
                "order.created".into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..Default::default()
                },
                &body,
                BasicProperties::default()
                    .with_message_id(id.into())
                    .with_delivery_mode(2),
            )
            .await?
            .await?;
        anyhow::ensure!(
            confirm.is_ack(),
            "the broker refused poison {id}: {confirm:?}"
        );
    }
    let _ = channel.close(200, "poisoned".into()).await;
    Ok(())
}
