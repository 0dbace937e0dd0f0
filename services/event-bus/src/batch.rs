//! Consuming in batches: up to N deliveries handed to the handler at once, acked after it.
//!
//! A batch is what waits already when it starts (at most `max_events`): under load it takes
//! the backlog at once, without waiting; when the queue was quiet its first event waits at
//! most `max_wait` for others. The handler answers one outcome per event, and each delivery
//! is then settled exactly as [`EventBus::consume`] settles one (acked, held and retried
//! after its delay, or dead-lettered with its reason), only after the handler returned — so
//! after its commit. Settling runs beside the next batches: the next batch is gathered and
//! handled while the acks of the previous one are still going out (it was committed, so
//! its events are recorded before the next batch's are looked at). Undecodable bytes never
//! reach the handler; they go to the dead letters alone.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{FutureExt, Stream, StreamExt};
use lapin::message::Delivery;
use tokio_util::sync::CancellationToken;

use proto_events::Envelope;
use proto_events::topology::Consumer;

use crate::consumer::{UNDECODABLE, Verdict, attempt_of, ended};
use crate::held::Held;
use crate::trace_context;
use crate::{EventBus, HandlerError, metrics};

/// What a service does with several events at once. The answer has one outcome per event,
/// in the order given; `Ok` means that event's work is committed. Implementations must be
/// idempotent, as for [`crate::EventHandler`].
pub trait BatchHandler: Send + Sync + 'static {
    fn handle_batch(
        &self,
        events: &[Envelope],
    ) -> impl Future<Output = Vec<Result<(), HandlerError>>> + Send;
}

/// How deliveries are gathered into batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    /// The most events in one batch.
    pub max_events: usize,
    /// How long the first delivery of a batch waits for others.
    pub max_wait: Duration,
    /// Batches handled at once. With more than one, two batches may hold events of the
    /// same order; the handler's retries (an event that needs a row not yet committed) keep
    /// them right, at the cost of a delay.
    pub in_flight: usize,
}

impl Batching {
    /// Deliveries the broker may hand over unacked: every batch in flight full, as many
    /// again being settled (their acks going out), and as many again gathering, so the
    /// next batches are ready when one commits.
    fn prefetch(&self, configured: u16) -> u16 {
        let wanted = self.max_events.max(1) * self.in_flight.max(1) * 3;
        u16::try_from(wanted).unwrap_or(u16::MAX).max(configured)
    }
}

impl EventBus {
    /// Consumes `consumer`'s queue in batches until `shutdown` fires, reconnecting with
    /// backoff after broker failures, as [`EventBus::consume`] does one event at a time. On
    /// shutdown the batch being gathered is still handled and settled.
    pub async fn consume_batches<H: BatchHandler>(
        self: Arc<Self>,
        consumer: Consumer,
        handler: Arc<H>,
        batching: Batching,
        shutdown: CancellationToken,
    ) {
        self.clone()
            .reconnecting(consumer, &shutdown, || {
                self.consume_batches_until_broken(consumer, &handler, batching, &shutdown)
            })
            .await;
    }

    async fn consume_batches_until_broken<H: BatchHandler>(
        self: &Arc<Self>,
        consumer: Consumer,
        handler: &Arc<H>,
        batching: Batching,
        shutdown: &CancellationToken,
    ) -> Result<(), String> {
        let prefetch = batching.prefetch(self.config.prefetch);
        let (channel, deliveries) = self.open_consumer(consumer, prefetch).await?;
        let broken = std::sync::Mutex::new(None::<String>);
        let held = Held::new(self.clone(), consumer, shutdown);
        // A batch's settling (its acks, or its retries and dead letters) is handed over here
        // once its handler returned, and runs beside the next batches.
        let (to_settle, settling) = futures::channel::mpsc::unbounded::<Settling<'_>>();
        let handling = batches(
            deliveries.take_until(shutdown.cancelled()),
            batching.max_events.max(1),
            batching.max_wait,
        )
        .for_each_concurrent(batching.in_flight.max(1), |batch| {
            let (broken, held, to_settle) = (&broken, &held, &to_settle);
            async move {
                let mut deliveries = Vec::with_capacity(batch.len());
                for delivery in batch {
                    match delivery {
                        Ok(delivery) => deliveries.push(delivery),
                        Err(error) => *broken.lock().unwrap() = Some(error.to_string()),
                    }
                }
                let settle = self
                    .handle_batch(consumer, handler.as_ref(), deliveries, held)
                    .await;
                // The receiver lives as long as this function: the send cannot fail.
                let _ = to_settle.unbounded_send(settle);
            }
        });
        let handled_then_closed = async {
            handling.await;
            to_settle.close_channel();
        };
        let settled = settling
            .buffer_unordered(usize::MAX)
            .for_each(|()| std::future::ready(()));
        futures::join!(handled_then_closed, settled);
        held.release_all().await;
        let _ = channel.close(200, "consumer stopping".into()).await;
        ended(broken.into_inner().unwrap(), shutdown)
    }

    /// Hands a batch to the handler and returns, once it answered, the settling of its
    /// deliveries (to run beside the next batches).
    async fn handle_batch<'a, H: BatchHandler>(
        &'a self,
        consumer: Consumer,
        handler: &H,
        deliveries: Vec<Delivery>,
        held: &'a Held,
    ) -> Settling<'a> {
        let mut decoded = Vec::with_capacity(deliveries.len());
        let mut events = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            let attempt = attempt_of(&delivery);
            match Envelope::from_json(&delivery.data) {
                Ok(envelope) => {
                    metrics::consumed(consumer, &envelope.event_type);
                    self.delivered(&envelope);
                    // Each event's own consumer span, in the trace its message carries: it
                    // lasts from here to its settlement, so the batch's work is inside it.
                    let span = tracing::info_span!(
                        "event",
                        consumer = consumer.name(),
                        event_type = %envelope.event_type,
                        event_id = %envelope.event_id,
                        correlation_id = %envelope.correlation_id,
                        attempt,
                        batched = true,
                        otel.name = %format!("{} {}", consumer.name(), envelope.event_type),
                        otel.kind = "consumer",
                    );
                    trace_context::continue_in(&span, &delivery.properties);
                    events.push(envelope);
                    decoded.push((delivery, attempt, span));
                }
                Err(error) => {
                    metrics::consumed(consumer, UNDECODABLE);
                    let verdict = Verdict::DeadLetter(error.to_string());
                    self.settle(held, consumer, UNDECODABLE, delivery, attempt, verdict)
                        .await;
                }
            }
        }
        if events.is_empty() {
            return Box::pin(async {});
        }
        let started = Instant::now();
        // The batch's own span (one transaction for many traces) is linked to each event's
        // span, as OpenTelemetry's messaging conventions do for batch processing.
        let span = tracing::info_span!("batch", consumer = consumer.name(), events = events.len());
        for (_, _, event_span) in &decoded {
            trace_context::link(&span, event_span);
        }
        let mut outcomes = AssertUnwindSafe(tracing::Instrument::instrument(
            handler.handle_batch(&events),
            span,
        ))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| {
            vec![Err(HandlerError::transient("the handler panicked")); events.len()]
        })
        .into_iter();
        let took = started.elapsed();
        // Settled side by side: the acks (and the rare retry or dead-letter copies) go out
        // together instead of one waiting for the other.
        let settling: Vec<_> = decoded
            .into_iter()
            .zip(events)
            .map(|((delivery, attempt, span), event)| {
                metrics::handled(consumer, &event.event_type, took);
                let outcome = outcomes.next().unwrap_or_else(|| {
                    Err(HandlerError::transient(
                        "the batch handler gave no outcome for this event",
                    ))
                });
                let verdict = {
                    let _entered = span.enter();
                    self.verdict(attempt, outcome)
                };
                tracing::Instrument::instrument(
                    async move {
                        self.settle(
                            held,
                            consumer,
                            &event.event_type,
                            delivery,
                            attempt,
                            verdict,
                        )
                        .await
                    },
                    span,
                )
            })
            .collect();
        Box::pin(async move {
            futures::future::join_all(settling).await;
        })
    }
}

/// A batch's settling, run beside the next batches.
type Settling<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Groups a stream into batches, up to `max` items each. A batch that starts with items
/// waiting takes those already there and goes (a backlog is not made to wait again); a
/// batch whose first item had to be waited for takes what arrives within `max_wait` of it.
/// A batch being gathered when the stream ends is still given out.
fn batches<S: Stream>(
    items: S,
    max: usize,
    max_wait: Duration,
) -> impl Stream<Item = Vec<S::Item>> {
    futures::stream::unfold(Box::pin(items), move |mut items| async move {
        let (first, waited) = match items.next().now_or_never() {
            Some(first) => (first?, false),
            None => (items.next().await?, true),
        };
        let mut batch = vec![first];
        if waited {
            let deadline = tokio::time::Instant::now() + max_wait;
            while batch.len() < max {
                match tokio::time::timeout_at(deadline, items.next()).await {
                    Ok(Some(item)) => batch.push(item),
                    Ok(None) | Err(_) => break,
                }
            }
        } else {
            while batch.len() < max {
                match items.next().now_or_never() {
                    Some(Some(item)) => batch.push(item),
                    Some(None) | None => break,
                }
            }
        }
        Some((batch, items))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn batches_fill_up_to_their_size_or_close_after_the_wait() {
        let (sender, receiver) = futures::channel::mpsc::unbounded::<u32>();
        for n in 0..5 {
            sender.unbounded_send(n).unwrap();
        }
        let mut stream = Box::pin(batches(receiver, 3, Duration::from_millis(10)));
        assert_eq!(stream.next().await, Some(vec![0, 1, 2]));
        // Two waiting, a third never comes: the batch closes after the wait.
        assert_eq!(stream.next().await, Some(vec![3, 4]));
        sender.unbounded_send(5).unwrap();
        drop(sender);
        assert_eq!(stream.next().await, Some(vec![5]));
        assert_eq!(stream.next().await, None);
    }

    #[tokio::test]
    async fn a_batch_that_waited_for_its_first_event_takes_what_follows_within_the_wait() {
        let (sender, receiver) = futures::channel::mpsc::unbounded::<u32>();
        let mut stream = Box::pin(batches(receiver, 10, Duration::from_millis(50)));
        let mut next = stream.next();
        assert!(
            futures::poll!(&mut next).is_pending(),
            "nothing to take yet"
        );
        sender.unbounded_send(0).unwrap();
        assert!(
            futures::poll!(&mut next).is_pending(),
            "its first event had to be waited for: it waits for others"
        );
        sender.unbounded_send(1).unwrap();
        assert_eq!(next.await, Some(vec![0, 1]));
        // A backlog is taken at once: the batch is ready at its first poll, no wait.
        sender.unbounded_send(2).unwrap();
        sender.unbounded_send(3).unwrap();
        assert_eq!(
            futures::poll!(stream.next()),
            std::task::Poll::Ready(Some(vec![2, 3]))
        );
        drop(sender);
        assert_eq!(stream.next().await, None);
    }

    #[test]
    fn prefetch_covers_the_batches_in_flight_and_the_next_ones() {
        let batching = Batching {
            max_events: 100,
            in_flight: 2,
            max_wait: Duration::from_millis(5),
        };
        assert_eq!(batching.prefetch(16), 600);
        assert_eq!(batching.prefetch(1000), 1000);
    }
}
