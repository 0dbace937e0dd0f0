//! Routes each event to its record, inside one transaction with the inbox claim; decides
//! status change requests and publishes their outcomes once committed.
//!
//! Events come in batches (`EventBus::consume_batches`). A run of records shares one
//! transaction. Within it, consecutive events of the common kinds (new orders, files received
//! and stored) are written set-based (`sets`: one statement per table for all of them);
//! any other event, and a set that cannot be written so (a redelivery, a statement that
//! fails), is recorded one event at a time, each in its own savepoint: an event that fails
//! is rolled back alone and settled by its own outcome (retried, or dead-lettered with its
//! reason) while the others commit. A status change request ends the run — it is decided in a transaction of
//! its own and announced after that commit — so every event is handled in the order it was
//! delivered, and the acks come after the commits. With `lanes` above one, a run is split
//! by order into that many transactions on as many connections, committed side by side:
//! an order's events stay in one lane, in their order, and MySQL's round trips overlap.

use std::sync::Arc;
use std::time::Duration;

use bureau_event_bus::{BatchHandler, EventBus, EventHandler, HandlerError};
use proto_events::{Envelope, Event, OrderStatusChangeRequested, PaymentReceived};
use sqlx::MySqlPool;
use tracing::Instrument;

use crate::decisions::{self, Decision};
use crate::{records, sets};

/// How long the outcome of a decided request may wait for the broker's confirm before the
/// request goes back to the bus (and is announced again from what is stored).
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);

pub struct PersistenceHandler {
    pool: MySqlPool,
    /// Transactions a run of records is split into, by order, committed side by side.
    lanes: usize,
    bus: Arc<EventBus>,
}

impl PersistenceHandler {
    pub fn new(pool: MySqlPool, bus: Arc<EventBus>) -> Self {
        PersistenceHandler {
            pool,
            bus,
            lanes: 1,
        }
    }

    /// Splits each run of records into `lanes` transactions on as many connections, by
    /// order: an order's events stay in one lane, in the order they were delivered.
    pub fn with_lanes(mut self, lanes: usize) -> Self {
        self.lanes = lanes.max(1);
        self
    }

    /// Decides a request once and announces the outcome. The outcome is published only
    /// after the commit; if that publish fails (or the process dies first), the request is
    /// redelivered, finds its inbox row, and the stored outcome is published again under
    /// the same event id. The request is acked only after a confirmed publish.
    async fn request(
        &self,
        event: &Envelope,
        request: &OrderStatusChangeRequested,
    ) -> Result<(), HandlerError> {
        let mut tx = self.pool.begin().await.map_err(records::classify)?;
        let decision = if bureau_platform::inbox::claim(
            &mut tx,
            crate::SERVICE.name(),
            event.event_id,
        )
        .await
        .map_err(records::classify)?
        {
            let decision = decisions::decide(&mut tx, event, request).await?;
            tx.commit().await.map_err(records::classify)?;
            decision
        } else {
            tx.rollback().await.map_err(records::classify)?;
            let mut conn = self.pool.acquire().await.map_err(records::classify)?;
            match decisions::stored(&mut conn, request.request_id).await? {
                Some(decision) => {
                    tracing::info!(request_id = %request.request_id, "request decided before; announcing its outcome again");
                    decision
                }
                None => {
                    // Claimed by a build that did not decide requests: nothing to announce.
                    tracing::warn!(request_id = %request.request_id, "request claimed but never decided");
                    return Ok(());
                }
            }
        };
        self.announce(&decision).await
    }

    /// Records a payment once and, if it leaves the order paid while it awaits
    /// confirmation, moves the order on to `accepted` in the same transaction (a system
    /// request, decided like any other); the outcome is announced after the commit, and
    /// announced again from what is stored if the payment is redelivered.
    async fn payment(&self, event: &Envelope, paid: &PaymentReceived) -> Result<(), HandlerError> {
        let mut tx = self.pool.begin().await.map_err(records::classify)?;
        let decision =
            if bureau_platform::inbox::claim(&mut tx, crate::SERVICE.name(), event.event_id)
                .await
                .map_err(records::classify)?
            {
                let decision = if records::payment_received(&mut tx, paid).await? {
                    match records::acceptance_on_payment(&mut tx, paid).await? {
                        Some(request) => Some(decisions::decide(&mut tx, event, &request).await?),
                        None => None,
                    }
                } else {
                    None
                };
                tx.commit().await.map_err(records::classify)?;
                decision
            } else {
                tx.rollback().await.map_err(records::classify)?;
                let mut conn = self.pool.acquire().await.map_err(records::classify)?;
                decisions::stored(&mut conn, records::acceptance_request_id(paid.payment_id))
                    .await?
            };
        match decision {
            Some(decision) => self.announce(&decision).await,
            None => Ok(()),
        }
    }

    async fn announce(&self, decision: &Decision) -> Result<(), HandlerError> {
        let outcome = decisions::outcome_event(decision);
        match tokio::time::timeout(PUBLISH_TIMEOUT, self.bus.publish(&outcome)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(HandlerError::transient(format!(
                "the decided outcome was not published: {error}"
            ))),
            Err(_) => Err(HandlerError::transient(format!(
                "the broker did not confirm the decided outcome within {PUBLISH_TIMEOUT:?}"
            ))),
        }
    }
}

impl PersistenceHandler {
    /// Records a run of events, split by order into lanes that commit side by side; the
    /// outcomes come back in the run's order.
    async fn record_run(&self, events: &[Envelope]) -> Vec<Result<(), HandlerError>> {
        let mut lanes: Vec<Vec<usize>> = vec![Vec::new(); self.lanes.min(events.len())];
        for (index, event) in events.iter().enumerate() {
            let lane = (event.correlation_id.as_u128() % lanes.len() as u128) as usize;
            lanes[lane].push(index);
        }
        let recorded = futures::future::join_all(lanes.iter().map(|lane| {
            let lane_events: Vec<&Envelope> = lane.iter().map(|&index| &events[index]).collect();
            async move { self.record_lane(&lane_events).await }
        }))
        .await;
        let mut outcomes = vec![Ok(()); events.len()];
        for (lane, lane_outcomes) in lanes.iter().zip(recorded) {
            for (&index, outcome) in lane.iter().zip(lane_outcomes) {
                outcomes[index] = outcome;
            }
        }
        outcomes
    }

    /// Records events in one transaction, each in its own savepoint. If the transaction as
    /// a whole fails (a deadlock, a lost connection, the commit), nothing of it is kept and
    /// every event of the lane is retried.
    async fn record_lane(&self, events: &[&Envelope]) -> Vec<Result<(), HandlerError>> {
        self.try_record_lane(events).await.unwrap_or_else(|error| {
            let error = HandlerError::transient(format!("the batch's transaction failed: {error}"));
            vec![Err(error); events.len()]
        })
    }

    async fn try_record_lane(
        &self,
        events: &[&Envelope],
    ) -> Result<Vec<Result<(), HandlerError>>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let mut outcomes = Vec::with_capacity(events.len());
        let mut rest = events;
        while !rest.is_empty() {
            let run = rest.iter().take_while(|e| sets::is_set_based(e)).count();
            if run > 1 {
                let segment = &rest[..run];
                sqlx::query("SAVEPOINT records").execute(&mut *tx).await?;
                let span = tracing::info_span!("record_set", events = run);
                match sets::record(&mut tx, segment).instrument(span).await {
                    Ok(recorded) => outcomes.extend(recorded),
                    Err(fallback) => {
                        tracing::info!(%fallback, events = run, "recording these events one by one");
                        sqlx::query("ROLLBACK TO SAVEPOINT records")
                            .execute(&mut *tx)
                            .await?;
                        for event in segment {
                            outcomes.push(record_one(&mut tx, event).await?);
                        }
                    }
                }
                rest = &rest[run..];
            } else {
                outcomes.push(record_one(&mut tx, rest[0]).await?);
                rest = &rest[1..];
            }
        }
        tx.commit().await?;
        Ok(outcomes)
    }
}

/// Records one event in its own savepoint: if it fails, it is rolled back alone.
async fn record_one(
    tx: &mut sqlx::MySqlConnection,
    event: &Envelope,
) -> Result<Result<(), HandlerError>, sqlx::Error> {
    // A savepoint of the same name replaces the previous one: no RELEASE needed.
    sqlx::query("SAVEPOINT event").execute(&mut *tx).await?;
    let span = tracing::info_span!(
        "record",
        event_type = %event.event_type,
        event_id = %event.event_id,
        correlation_id = %event.correlation_id,
    );
    let outcome = records::record(tx, event).instrument(span).await;
    if outcome.is_err() {
        sqlx::query("ROLLBACK TO SAVEPOINT event")
            .execute(&mut *tx)
            .await?;
    }
    Ok(outcome)
}

/// Whether an event is recorded with others in a batch's transaction (rather than decided
/// and announced on its own).
fn is_record(event: &Envelope) -> bool {
    matches!(
        event.payload,
        Event::OrderCreated(_)
            | Event::FileReceived(_)
            | Event::FileStored(_)
            | Event::FileRejected(_)
            | Event::OrderMessagePosted(_)
            | Event::PriceQuoted(_)
            | Event::OrderCommentPosted(_)
            | Event::OrderAssigned(_)
            | Event::PaymentRefunded(_)
            | Event::BookingChanged(_)
    )
}

impl BatchHandler for PersistenceHandler {
    async fn handle_batch(&self, events: &[Envelope]) -> Vec<Result<(), HandlerError>> {
        let mut outcomes = Vec::with_capacity(events.len());
        let mut rest = events;
        while !rest.is_empty() {
            let run = rest.iter().take_while(|event| is_record(event)).count();
            if run > 0 {
                outcomes.extend(self.record_run(&rest[..run]).await);
            } else {
                outcomes.push(self.handle(&rest[0]).await);
            }
            rest = &rest[run.max(1)..];
        }
        outcomes
    }
}

impl EventHandler for PersistenceHandler {
    async fn handle(&self, event: &Envelope) -> Result<(), HandlerError> {
        match &event.payload {
            Event::OrderStatusChangeRequested(request) => self.request(event, request).await,
            // Our own outcome, on a broker whose queue still has the binding of older
            // releases: nothing to do.
            Event::OrderStatusChanged(change) if change.is_recorded() => Ok(()),
            // The old shape, published by a gateway of an older release and never checked:
            // decided like a request for the version it named (docs/events.md, "Upgrade").
            Event::OrderStatusChanged(change) => {
                let request = decisions::request_from_legacy(event, change)?;
                self.request(event, &request).await
            }
            Event::OrderStatusChangeRefused(_) => Ok(()),
            Event::PaymentReceived(paid) => self.payment(event, paid).await,
            _ => {
                let mut outcome = self.record_run(std::slice::from_ref(event)).await;
                outcome.pop().unwrap_or(Ok(()))
            }
        }
    }
}
