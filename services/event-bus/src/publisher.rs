//! Publishing with publisher confirms and the mandatory flag.
//!
//! A publish is a success only when the broker acknowledged it *and* did not return it as
//! unroutable. Batches are pipelined: every message is sent, then every confirm awaited.

use std::sync::Arc;
use std::time::Instant;

use futures::future::try_join_all;
use lapin::{
    BasicProperties, Confirmation, PublisherConfirm,
    options::BasicPublishOptions,
    types::{AMQPValue, FieldTable, ShortString},
};

use proto_events::Envelope;

use crate::{EventBus, Live, metrics, trace_context};

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The broker cannot be reached, or did not take responsibility for the message (no
    /// confirm, or a nack): it may or may not hold it. Callers tell their client to retry
    /// later (503 on the web, no ack to Telegram) and keep whatever the message refers to;
    /// consumers deduplicate on event id, so sending it again is harmless.
    #[error("the message broker is unavailable: {0}")]
    Unavailable(String),
    /// The broker had no queue for the message (returned under the mandatory flag): nothing
    /// holds it. A defect or a broker without our topology, never a silent success.
    #[error("the broker did not accept `{event_type}`: {reason}")]
    Rejected { event_type: String, reason: String },
}

impl EventBus {
    /// Publishes one event and waits for the broker's confirm.
    pub async fn publish(&self, envelope: &Envelope) -> Result<(), PublishError> {
        self.publish_all(std::slice::from_ref(envelope)).await
    }

    /// Publishes events in order on one channel, then awaits all confirms together. On a
    /// broken connection it reconnects once and publishes the batch again: consumers
    /// deduplicate on event id, so a batch partly sent before the failure is harmless.
    pub async fn publish_all(&self, envelopes: &[Envelope]) -> Result<(), PublishError> {
        let mut last_error = String::new();
        for _ in 0..2 {
            let live = match self.live().await {
                Ok(live) => live,
                Err(error) => {
                    last_error = error.to_string();
                    continue;
                }
            };
            let sent_at = Instant::now();
            match self.send_batch(&live, envelopes).await {
                Ok(confirms) => {
                    let checked = check_confirms(envelopes, confirms).await;
                    match &checked {
                        Ok(()) => {
                            let confirm = sent_at.elapsed();
                            for envelope in envelopes {
                                metrics::published(&envelope.event_type, confirm);
                            }
                        }
                        Err(PublishError::Unavailable(_)) => {
                            metrics::publish_failed("unavailable");
                            self.renew_publish_channel(&live).await;
                        }
                        Err(PublishError::Rejected { .. }) => metrics::publish_failed("rejected"),
                    }
                    return checked;
                }
                Err(error) => {
                    last_error = error.to_string();
                    self.forget(&live).await;
                }
            }
        }
        metrics::publish_failed("unavailable");
        Err(PublishError::Unavailable(last_error))
    }

    /// Opens a new publish channel after one gave no clean confirm (a nack, or a confirm
    /// lost), or forgets the connection if that fails, so the next publish starts afresh.
    ///
    /// Why not keep the channel: on RabbitMQ 3.10 a channel that first published to a quorum
    /// queue while its leader was being elected (a node had just died) keeps sending to the
    /// dead leader and every publish on it is nacked for as long as it lives, though the
    /// queue has a new leader (seen in `cluster_failover`: 180 s of nacks; upstream fixed in
    /// 3.11/3.12, rabbitmq-server#9241). A new channel looks the leader up again.
    async fn renew_publish_channel(&self, used: &Arc<Live>) {
        let mut guard = self.live.lock().await;
        if !guard.as_ref().is_some_and(|live| Arc::ptr_eq(live, used)) {
            return; // another task renewed it already
        }
        let fresh = async {
            let channel = used.connection.create_channel().await?;
            channel.confirm_select(Default::default()).await?;
            Ok::<_, lapin::Error>(channel)
        }
        .await;
        match fresh {
            Ok(publish) => {
                let _ = used
                    .publish
                    .close(200, "renewed after an unclean confirm".into())
                    .await;
                *guard = Some(Arc::new(Live {
                    connection: used.connection.clone(),
                    publish,
                }));
            }
            Err(_) => *guard = None,
        }
    }

    async fn send_batch(
        &self,
        live: &Arc<Live>,
        envelopes: &[Envelope],
    ) -> lapin::Result<Vec<PublisherConfirm>> {
        let exchange = ShortString::from(self.topology.events_exchange());
        let mut confirms = Vec::with_capacity(envelopes.len());
        for envelope in envelopes {
            // One span per event, child of the caller's; its context travels in the headers.
            let span = tracing::info_span!(
                "publish",
                otel.name = %format!("publish {}", envelope.event_type),
                otel.kind = "producer",
                event_type = %envelope.event_type,
                event_id = %envelope.event_id,
            );
            let mut headers = FieldTable::default();
            trace_context::inject(&span, &mut headers);
            let confirm = live
                .publish
                .basic_publish(
                    exchange.clone(),
                    envelope.event_type.as_str().into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..Default::default()
                    },
                    &envelope.to_json(),
                    properties(envelope, headers),
                )
                .await?;
            confirms.push(confirm);
        }
        Ok(confirms)
    }
}

async fn check_confirms(
    envelopes: &[Envelope],
    confirms: Vec<PublisherConfirm>,
) -> Result<(), PublishError> {
    let results = try_join_all(confirms)
        .await
        .map_err(|e| PublishError::Unavailable(format!("confirm lost: {e}")))?;
    for (envelope, confirmation) in envelopes.iter().zip(results) {
        confirmation_ok(&envelope.event_type, confirmation)?;
    }
    Ok(())
}

/// Turns a confirm into our verdict: acked and not returned, or an error saying why not.
pub(crate) fn confirmation_ok(
    event_type: &str,
    confirmation: Confirmation,
) -> Result<(), PublishError> {
    let rejected = |reason: String| PublishError::Rejected {
        event_type: event_type.to_owned(),
        reason,
    };
    match confirmation {
        Confirmation::Ack(None) => Ok(()),
        Confirmation::Ack(Some(returned)) => Err(rejected(format!(
            "unroutable ({} {})",
            returned.reply_code, returned.reply_text
        ))),
        // A nack is not "nobody has it": RabbitMQ nacks a message routed to several queues
        // when one of them is down (a classic queue whose node died, a quorum queue without
        // its quorum) even though the others took it. Whoever publishes must treat it as an
        // unknown outcome, like a lost confirm, and never discard what the message refers to.
        Confirmation::Nack(_) => Err(PublishError::Unavailable(format!(
            "the broker negatively acknowledged `{event_type}`: it may or may not hold it"
        ))),
        Confirmation::NotRequested => Err(rejected("confirms were not enabled".into())),
    }
}

/// AMQP properties for an event: persistent, typed, with ids a broker UI can show.
pub(crate) fn properties(envelope: &Envelope, mut headers: FieldTable) -> BasicProperties {
    headers.insert(
        "x-bureau-correlation-id".into(),
        AMQPValue::LongString(envelope.correlation_id.to_string().into()),
    );
    BasicProperties::default()
        .with_content_type("application/json".into())
        .with_delivery_mode(2)
        .with_message_id(envelope.event_id.to_string().into())
        .with_correlation_id(envelope.correlation_id.to_string().into())
        .with_type(envelope.event_type.as_str().into())
        .with_app_id(envelope.producer.as_str().into())
        .with_timestamp(envelope.occurred_at.timestamp().max(0) as u64)
        .with_headers(headers)
}

impl EventBus {
    /// Publishes already-encoded bytes to an exchange (the default one when `exchange` is
    /// empty) and waits for the confirm. Used to move messages between queues: retries, dead
    /// letters and replays.
    pub(crate) async fn publish_raw(
        &self,
        exchange: &str,
        routing_key: &str,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<(), PublishError> {
        let live = self
            .live()
            .await
            .map_err(|e| PublishError::Unavailable(e.to_string()))?;
        let sent = live
            .publish
            .basic_publish(
                exchange.into(),
                routing_key.into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..Default::default()
                },
                body,
                properties,
            )
            .await;
        let confirm = match sent {
            Ok(confirm) => confirm,
            Err(error) => {
                self.forget(&live).await;
                return Err(PublishError::Unavailable(error.to_string()));
            }
        };
        let outcome = confirm
            .await
            .map_err(|e| PublishError::Unavailable(format!("confirm lost: {e}")))
            .and_then(|confirmation| confirmation_ok(routing_key, confirmation));
        if let Err(PublishError::Unavailable(_)) = &outcome {
            self.renew_publish_channel(&live).await;
        }
        outcome
    }
}
