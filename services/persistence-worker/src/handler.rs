//! Routes each event to its record, inside one transaction with the inbox claim; decides
//! status change requests and publishes their outcomes once committed.

use std::sync::Arc;
use std::time::Duration;

use bureau_event_bus::{EventBus, EventHandler, HandlerError};
use proto_events::{Envelope, Event, OrderStatusChangeRequested};
use sqlx::MySqlPool;

use crate::decisions::{self, Decision};
use crate::records;

/// How long the outcome of a decided request may wait for the broker's confirm before the
/// request goes back to the bus (and is announced again from what is stored).
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);

pub struct PersistenceHandler {
    pool: MySqlPool,
    bus: Arc<EventBus>,
}

impl PersistenceHandler {
    pub fn new(pool: MySqlPool, bus: Arc<EventBus>) -> Self {
        PersistenceHandler { pool, bus }
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

impl EventHandler for PersistenceHandler {
    async fn handle(&self, event: &Envelope) -> Result<(), HandlerError> {
        match &event.payload {
            Event::OrderStatusChangeRequested(request) => {
                return self.request(event, request).await;
            }
            // Our own outcome, on a broker whose queue still has the binding of older
            // releases: nothing to do.
            Event::OrderStatusChanged(change) if change.is_recorded() => return Ok(()),
            // The old shape, published by a gateway of an older release and never checked:
            // decided like a request for the version it named (docs/events.md, "Upgrade").
            Event::OrderStatusChanged(change) => {
                let request = decisions::request_from_legacy(event, change)?;
                return self.request(event, &request).await;
            }
            Event::OrderStatusChangeRefused(_) => return Ok(()),
            _ => {}
        }
        let mut tx = self.pool.begin().await.map_err(records::classify)?;
        if !bureau_platform::inbox::claim(&mut tx, crate::SERVICE.name(), event.event_id)
            .await
            .map_err(records::classify)?
        {
            tracing::debug!("already recorded; skipping a redelivery");
            return Ok(());
        }
        match &event.payload {
            Event::OrderCreated(created) => records::order_created(&mut tx, event, created).await?,
            Event::FileReceived(received) => {
                records::file_received(&mut tx, event, received).await?
            }
            Event::FileStored(stored) => records::file_stored(&mut tx, stored).await?,
            Event::FileRejected(rejected) => records::file_rejected(&mut tx, rejected).await?,
            Event::OrderMessagePosted(posted) => {
                records::message_posted(&mut tx, event, posted).await?
            }
            Event::PriceQuoted(quoted) => records::price_quoted(&mut tx, event, quoted).await?,
            Event::OrderCommentPosted(posted) => {
                records::comment_posted(&mut tx, event, posted).await?
            }
            Event::OrderAssigned(assigned) => {
                records::order_assigned(&mut tx, event, assigned).await?
            }
            Event::OrderStatusChangeRequested(_)
            | Event::OrderStatusChanged(_)
            | Event::OrderStatusChangeRefused(_) => unreachable!("handled above"),
        }
        tx.commit().await.map_err(records::classify)?;
        Ok(())
    }
}
