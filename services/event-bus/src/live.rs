//! Live subscriptions: a process watches events as they happen, to push them to browsers.
//!
//! Unlike [`EventBus::consume`], nothing here is durable or acknowledged: each subscription
//! is a server-named, exclusive, auto-delete queue bound to the chosen routing keys, which
//! the broker removes when the process goes away. Events published while the subscription is
//! down are not seen: a live page shows what happens from now on, and reads the current
//! state from the database when it (re)connects. After a broker failure the subscription
//! reconnects with backoff by itself.

use std::sync::Arc;

use futures::{Stream, StreamExt};
use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use tokio::sync::mpsc;

use proto_events::{Envelope, EventKind};

use crate::{EventBus, RECONNECT};

/// Events buffered between the broker and a slow reader; more are dropped (with a warning)
/// rather than letting the broker connection back up.
const BUFFER: usize = 1024;

impl EventBus {
    /// Every event of `kinds` published from now on, until the returned stream is dropped.
    /// Reconnects after broker failures; events published meanwhile are missed (see the
    /// module comment). `bound` flips to `true` each time the queue is bound and consuming.
    pub fn subscribe_live(
        self: &Arc<Self>,
        kinds: &[EventKind],
        bound: Option<tokio::sync::watch::Sender<bool>>,
    ) -> impl Stream<Item = Envelope> + Send + Unpin + 'static {
        let (sender, receiver) = mpsc::channel(BUFFER);
        let bus = self.clone();
        let kinds = kinds.to_vec();
        tokio::spawn(async move {
            let mut pauses = RECONNECT.pauses();
            while !sender.is_closed() {
                let outcome = tokio::select! {
                    outcome = bus.follow(&kinds, &sender, bound.as_ref()) => outcome,
                    _ = sender.closed() => break,
                };
                if let Some(bound) = &bound {
                    bound.send_replace(false);
                }
                match outcome {
                    Ok(()) => break,
                    Err(error) => {
                        tracing::warn!(%error, "live subscription lost the broker; reconnecting");
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(pauses.next_pause()) => {}
                    _ = sender.closed() => break,
                }
            }
            tracing::debug!("live subscription ended");
        });
        Box::pin(futures::stream::unfold(
            receiver,
            |mut receiver| async move { receiver.recv().await.map(|envelope| (envelope, receiver)) },
        ))
    }

    /// One connection's worth of following: `Ok` when the reader went away, `Err` when the
    /// broker did.
    async fn follow(
        &self,
        kinds: &[EventKind],
        sender: &mpsc::Sender<Envelope>,
        bound: Option<&tokio::sync::watch::Sender<bool>>,
    ) -> Result<(), String> {
        let channel = self.open_channel().await.map_err(|e| e.to_string())?;
        let queue = channel
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| e.to_string())?;
        let exchange = self.topology.events_exchange();
        for kind in kinds {
            channel
                .queue_bind(
                    queue.name().clone(),
                    exchange.clone().into(),
                    kind.routing_key().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(|e| e.to_string())?;
        }
        let mut deliveries = channel
            .basic_consume(
                queue.name().clone(),
                format!("live-{}", uuid::Uuid::new_v4()).into(),
                BasicConsumeOptions {
                    no_ack: true,
                    exclusive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| e.to_string())?;
        if let Some(bound) = bound {
            bound.send_replace(true);
        }
        tracing::debug!(queue = %queue.name(), "live subscription bound");
        while let Some(delivery) = deliveries.next().await {
            let delivery = delivery.map_err(|e| e.to_string())?;
            let envelope = match Envelope::from_json(&delivery.data) {
                Ok(envelope) => envelope,
                Err(error) => {
                    tracing::warn!(%error, "live subscription skipped an undecodable event");
                    continue;
                }
            };
            match sender.try_send(envelope) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::warn!("live subscription reader is behind; dropped an event");
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    let _ = channel.close(200, "live subscription ended".into()).await;
                    return Ok(());
                }
            }
        }
        Err("the broker ended the live subscription".into())
    }
}
