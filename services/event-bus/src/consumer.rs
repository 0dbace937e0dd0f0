//! Consuming: one queue per service, manual acks, delayed retries and dead letters.
//!
//! The handler's `Ok` means its work is committed; only then is the message acked. After a
//! transient error the consumer holds the delivery unacked for an exponentially growing,
//! jittered delay ([`crate::held`]), then publishes a copy with the next attempt number to
//! its own work queue; a permanent error, undecodable bytes, or a transient error on the
//! last attempt moves it to the dead-letter queue with the reason in its headers. A message
//! is acked only after its copy was confirmed where it went, so a crash at any point means
//! a redelivery, never a loss.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bureau_kit::retry;
use bureau_kit::text::truncate;
use futures::{FutureExt, StreamExt};
use lapin::{
    BasicProperties, Channel,
    message::Delivery,
    options::{
        BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions,
        QueueDeclareOptions,
    },
    types::{AMQPValue, FieldTable},
};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use proto_events::Envelope;
use proto_events::topology::{Consumer, RETRY_JITTER};

use crate::held::Held;
use crate::{EventBus, RECONNECT, headers, metrics, trace_context};

/// The event type metrics give bytes that are not an event.
pub(crate) const UNDECODABLE: &str = "undecodable";

/// How often a consumer reads its queues' depth from the broker.
const QUEUE_SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// What a service does with one event. Implementations must be idempotent: the same event
/// may arrive more than once (use the event id).
pub trait EventHandler: Send + Sync + 'static {
    fn handle(&self, event: &Envelope) -> impl Future<Output = Result<(), HandlerError>> + Send;
}

/// How a handler failed, which decides what happens to the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// Worth retrying later: a dependency is down, or an event this one needs has not
    /// arrived yet.
    #[error("{0}")]
    Transient(String),
    /// Retrying cannot help: the event is wrong for this consumer.
    #[error("{0}")]
    Permanent(String),
}

impl HandlerError {
    pub fn transient(reason: impl std::fmt::Display) -> Self {
        HandlerError::Transient(reason.to_string())
    }
    pub fn permanent(reason: impl std::fmt::Display) -> Self {
        HandlerError::Permanent(reason.to_string())
    }
}

pub(crate) enum Verdict {
    Done,
    Retry(String),
    DeadLetter(String),
}

impl EventBus {
    /// Consumes `consumer`'s queue until `shutdown` fires, reconnecting with backoff after
    /// broker failures. On shutdown it stops taking deliveries, lets in-flight handlers
    /// finish and ack, and returns; unstarted prefetched messages go back to the queue.
    pub async fn consume<H: EventHandler>(
        self: Arc<Self>,
        consumer: Consumer,
        handler: Arc<H>,
        concurrency: usize,
        shutdown: CancellationToken,
    ) {
        let concurrency = concurrency.max(1);
        self.clone()
            .reconnecting(consumer, &shutdown, || {
                self.consume_until_broken(consumer, &handler, concurrency, &shutdown)
            })
            .await;
    }

    /// Runs `once` (one session of consuming) again after each broker failure, with
    /// backoff, until `shutdown` fires; samples the queues' depth meanwhile.
    pub(crate) async fn reconnecting<F, Fut>(
        self: Arc<Self>,
        consumer: Consumer,
        shutdown: &CancellationToken,
        mut once: F,
    ) where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(), String>>,
    {
        metrics::register_consumer(consumer);
        let sampler = tokio::spawn(self.clone().sample_queues(consumer, shutdown.child_token()));
        let mut pauses = RECONNECT.pauses();
        while !shutdown.is_cancelled() {
            match once().await {
                Ok(()) => pauses.reset(),
                Err(error) => {
                    tracing::warn!(consumer = consumer.name(), %error, "consumer lost the broker; reconnecting");
                }
            }
            let pause = pauses.next_pause();
            if !retry::pause(pause, shutdown).await {
                break;
            }
        }
        sampler.abort();
        tracing::info!(consumer = consumer.name(), "consumer stopped");
    }

    /// Reads the depth of `consumer`'s work and dead-letter queues from the broker every
    /// [`QUEUE_SAMPLE_EVERY`] (a passive declare on a channel of its own) into
    /// `bus_queue_messages`, and the age bound of the oldest waiting message.
    async fn sample_queues(self: Arc<Self>, consumer: Consumer, shutdown: CancellationToken) {
        let queues = [
            ("work", self.topology.queue(consumer)),
            ("dead_letter", self.topology.dead_letter_queue(consumer)),
        ];
        let mut channel: Option<lapin::Channel> = None;
        loop {
            if channel.as_ref().is_none_or(|c| !c.status().connected()) {
                channel = self.open_channel().await.ok();
            }
            if let Some(open) = &channel {
                for (kind, name) in &queues {
                    match open
                        .queue_declare(
                            name.as_str().into(),
                            QueueDeclareOptions {
                                passive: true,
                                ..Default::default()
                            },
                            FieldTable::default(),
                        )
                        .await
                    {
                        Ok(queue) => {
                            metrics::queue_sampled(
                                consumer,
                                kind,
                                queue.message_count(),
                                queue.consumer_count(),
                            );
                            if *kind == "work" {
                                let age = match queue.message_count() {
                                    0 => Duration::ZERO,
                                    _ => self.newest_delivered_age(),
                                };
                                metrics::oldest_age(consumer, age);
                            }
                        }
                        Err(error) => {
                            tracing::debug!(queue = %name, %error, "could not read the queue's depth");
                            channel = None;
                            break;
                        }
                    }
                }
            }
            if !retry::pause(QUEUE_SAMPLE_EVERY, &shutdown).await {
                break;
            }
        }
        if let Some(channel) = channel {
            let _ = channel.close(200, "sampler stopping".into()).await;
        }
    }

    /// How long ago the newest message handed to a consumer of this process was published.
    fn newest_delivered_age(&self) -> std::time::Duration {
        let published_ms = self.newest_delivered_ms.load(Ordering::Relaxed);
        if published_ms == 0 {
            return Duration::ZERO;
        }
        let now_ms = chrono::Utc::now().timestamp_millis();
        Duration::from_millis(now_ms.saturating_sub(published_ms).max(0) as u64)
    }

    /// Opens a channel with `prefetch` unacked deliveries allowed and starts consuming
    /// `consumer`'s queue on it.
    pub(crate) async fn open_consumer(
        &self,
        consumer: Consumer,
        prefetch: u16,
    ) -> Result<(Channel, lapin::Consumer), String> {
        let channel = self.open_channel().await.map_err(|e| e.to_string())?;
        channel
            .basic_qos(prefetch, BasicQosOptions::default())
            .await
            .map_err(|e| e.to_string())?;
        let deliveries = channel
            .basic_consume(
                self.topology.queue(consumer).into(),
                format!("{}-{}", consumer.name(), uuid::Uuid::new_v4()).into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(consumer = consumer.name(), queue = %self.topology.queue(consumer), "consuming");
        Ok((channel, deliveries))
    }

    async fn consume_until_broken<H: EventHandler>(
        self: &Arc<Self>,
        consumer: Consumer,
        handler: &Arc<H>,
        concurrency: usize,
        shutdown: &CancellationToken,
    ) -> Result<(), String> {
        let (channel, deliveries) = self.open_consumer(consumer, self.config.prefetch).await?;
        let broken = std::sync::Mutex::new(None::<String>);
        let held = Held::new(self.clone(), consumer, shutdown);
        deliveries
            .take_until(shutdown.cancelled())
            .for_each_concurrent(concurrency, |delivery| {
                let (broken, held) = (&broken, &held);
                async move {
                    match delivery {
                        Ok(delivery) => {
                            self.handle_delivery(consumer, handler.as_ref(), delivery, held)
                                .await
                        }
                        Err(error) => *broken.lock().unwrap() = Some(error.to_string()),
                    }
                }
            })
            .await;
        // Retries still held go back to the work queue now (or, if the channel is gone,
        // the broker has put them back already), before the channel closes.
        held.release_all().await;
        let _ = channel.close(200, "consumer stopping".into()).await;
        ended(broken.into_inner().unwrap(), shutdown)
    }

    async fn handle_delivery<H: EventHandler>(
        &self,
        consumer: Consumer,
        handler: &H,
        delivery: Delivery,
        held: &Held,
    ) {
        let attempt = attempt_of(&delivery);
        let started = Instant::now();
        let decoded = Envelope::from_json(&delivery.data);
        let event_type = match &decoded {
            Ok(envelope) => envelope.event_type.clone(),
            Err(_) => UNDECODABLE.to_owned(),
        };
        metrics::consumed(consumer, &event_type);
        let verdict = match decoded {
            Err(error) => Verdict::DeadLetter(error.to_string()),
            Ok(envelope) => {
                self.delivered(&envelope);
                let span = tracing::info_span!(
                    "event",
                    consumer = consumer.name(),
                    event_type = %envelope.event_type,
                    event_id = %envelope.event_id,
                    correlation_id = %envelope.correlation_id,
                    attempt,
                    otel.name = %format!("{} {}", consumer.name(), envelope.event_type),
                    otel.kind = "consumer",
                );
                trace_context::continue_in(&span, &delivery.properties);
                let outcome = AssertUnwindSafe(handler.handle(&envelope).instrument(span.clone()))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|_| Err(HandlerError::transient("the handler panicked")));
                metrics::handled(consumer, &event_type, started.elapsed());
                let _entered = span.enter();
                self.verdict(attempt, outcome)
            }
        };
        self.settle(held, consumer, &event_type, delivery, attempt, verdict)
            .await;
    }

    /// Notes the newest event handed to a handler of this process (for the age metric).
    pub(crate) fn delivered(&self, envelope: &Envelope) {
        self.newest_delivered_ms
            .fetch_max(envelope.occurred_at.timestamp_millis(), Ordering::Relaxed);
    }

    /// What becomes of a delivery whose handler answered `outcome`.
    pub(crate) fn verdict(&self, attempt: u32, outcome: Result<(), HandlerError>) -> Verdict {
        match outcome {
            Ok(()) => Verdict::Done,
            Err(HandlerError::Permanent(reason)) => Verdict::DeadLetter(reason),
            Err(HandlerError::Transient(reason)) if attempt >= self.config.max_attempts => {
                Verdict::DeadLetter(format!("gave up after {attempt} attempts: {reason}"))
            }
            Err(HandlerError::Transient(reason)) => Verdict::Retry(reason),
        }
    }

    /// Carries out a verdict: acks a handled message; holds one to retry for its delay
    /// ([`Held`]); moves one given up on to the dead letters, acking it only once its copy
    /// landed (or requeueing it if the copy did not).
    pub(crate) async fn settle(
        &self,
        held: &Held,
        consumer: Consumer,
        event_type: &str,
        delivery: Delivery,
        attempt: u32,
        verdict: Verdict,
    ) {
        let moved = match verdict {
            Verdict::Done => Ok(()),
            Verdict::Retry(reason) => {
                metrics::retried(consumer, event_type);
                let delay = self.topology.retry_delay(attempt);
                tracing::warn!(consumer = consumer.name(), attempt, ?delay, %reason, "handler failed; will retry");
                let jittered =
                    delay.mul_f64(1.0 + rand::random_range(-RETRY_JITTER..=RETRY_JITTER));
                held.hold(delivery, attempt, jittered);
                return;
            }
            Verdict::DeadLetter(reason) => {
                metrics::dead_lettered(consumer, event_type);
                tracing::error!(consumer = consumer.name(), attempt, %reason, "dead-lettering a message");
                let mut table = copy_headers(&delivery.properties);
                table.insert(
                    headers::ERROR.into(),
                    AMQPValue::LongString(truncate(&reason, 2000).into()),
                );
                table.insert(
                    headers::ATTEMPT.into(),
                    AMQPValue::LongLongInt(attempt as i64),
                );
                table.insert(
                    headers::CONSUMER.into(),
                    AMQPValue::LongString(consumer.name().into()),
                );
                table.insert(
                    headers::FAILED_AT.into(),
                    AMQPValue::LongString(chrono::Utc::now().to_rfc3339().into()),
                );
                keep_routing_key(&mut table, &delivery);
                let properties = delivery.properties.clone().with_headers(table);
                let exchange = self.topology.dead_letter_exchange();
                self.publish_raw(&exchange, consumer.name(), &delivery.data, properties)
                    .await
            }
        };
        ack_or_requeue(consumer, &delivery, moved).await;
    }

    /// Sends a held retry back: a copy with the next attempt number to `consumer`'s work
    /// queue (the default exchange, confirmed), then the original acked; if the copy did not
    /// land, the original requeued. If the delivery's channel is gone meanwhile, the broker
    /// has put the original back already, so nothing is sent.
    pub(crate) async fn send_back(&self, consumer: Consumer, delivery: Delivery, attempt: u32) {
        if !delivery.usable() {
            tracing::info!(
                consumer = consumer.name(),
                attempt,
                "the channel of a held retry is gone; the broker delivers it again"
            );
            return;
        }
        let mut table = copy_headers(&delivery.properties);
        table.insert(
            headers::ATTEMPT.into(),
            AMQPValue::LongLongInt(attempt as i64 + 1),
        );
        keep_routing_key(&mut table, &delivery);
        let properties = delivery.properties.clone().with_headers(table);
        let moved = self
            .publish_raw(
                "",
                &self.topology.queue(consumer),
                &delivery.data,
                properties,
            )
            .await;
        ack_or_requeue(consumer, &delivery, moved).await;
    }
}

/// Acks a delivery whose copy landed where it had to (or that needed none); requeues it if
/// the copy did not, so nothing is lost.
async fn ack_or_requeue(
    consumer: Consumer,
    delivery: &Delivery,
    moved: Result<(), crate::PublishError>,
) {
    let acked = match moved {
        Ok(()) => delivery.ack(BasicAckOptions::default()).await,
        Err(error) => {
            tracing::warn!(consumer = consumer.name(), %error, "could not move a message; requeueing it");
            delivery
                .nack(BasicNackOptions {
                    requeue: true,
                    ..Default::default()
                })
                .await
        }
    };
    if let Err(error) = acked {
        // The channel is gone; the broker redelivers the message to the next consumer.
        tracing::warn!(consumer = consumer.name(), %error, "ack failed");
    }
}

/// Notes the routing key a message was first published with, unless a header has it: its
/// copies are published to a queue by name, which replaces the routing key.
fn keep_routing_key(table: &mut FieldTable, delivery: &Delivery) {
    if !table.inner().contains_key(headers::ROUTING_KEY) {
        table.insert(
            headers::ROUTING_KEY.into(),
            AMQPValue::LongString(delivery.routing_key.as_str().into()),
        );
    }
}

/// How a session of consuming ended: a broken channel, a shutdown, or the broker's cancel.
pub(crate) fn ended(broken: Option<String>, shutdown: &CancellationToken) -> Result<(), String> {
    match broken {
        Some(error) => Err(error),
        None if shutdown.is_cancelled() => Ok(()),
        None => Err("the broker cancelled the consumer".into()),
    }
}

/// Which attempt this delivery is: 1 on first delivery.
pub(crate) fn attempt_of(delivery: &Delivery) -> u32 {
    header_u32(&delivery.properties, headers::ATTEMPT)
        .unwrap_or(1)
        .max(1)
}

fn copy_headers(properties: &BasicProperties) -> FieldTable {
    properties.headers().clone().unwrap_or_default()
}

/// Reads a numeric header whatever integer type the sender used.
pub(crate) fn header_u32(properties: &BasicProperties, name: &str) -> Option<u32> {
    let value = properties.headers().as_ref()?.inner().get(name)?;
    let number = match value {
        AMQPValue::LongLongInt(v) => *v,
        AMQPValue::LongInt(v) => *v as i64,
        AMQPValue::LongUInt(v) => *v as i64,
        AMQPValue::ShortInt(v) => *v as i64,
        AMQPValue::ShortUInt(v) => *v as i64,
        AMQPValue::ShortShortInt(v) => *v as i64,
        AMQPValue::ShortShortUInt(v) => *v as i64,
        _ => return None,
    };
    u32::try_from(number).ok()
}

/// Reads a text header.
pub(crate) fn header_text(properties: &BasicProperties, name: &str) -> Option<String> {
    match properties.headers().as_ref()?.inner().get(name)? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}
