//! Routes each event to its record, inside one transaction with the inbox claim.

use bureau_event_bus::{EventHandler, HandlerError};
use proto_events::{Envelope, Event};
use sqlx::MySqlPool;

use crate::records;

pub struct PersistenceHandler {
    pool: MySqlPool,
}

impl PersistenceHandler {
    pub fn new(pool: MySqlPool) -> Self {
        PersistenceHandler { pool }
    }
}

impl EventHandler for PersistenceHandler {
    async fn handle(&self, event: &Envelope) -> Result<(), HandlerError> {
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
            Event::OrderStatusChanged(changed) => {
                records::status_changed(&mut tx, event, changed).await?
            }
            Event::OrderMessagePosted(posted) => {
                records::message_posted(&mut tx, event, posted).await?
            }
            Event::PriceQuoted(quoted) => records::price_quoted(&mut tx, event, quoted).await?,
        }
        tx.commit().await.map_err(records::classify)?;
        Ok(())
    }
}
