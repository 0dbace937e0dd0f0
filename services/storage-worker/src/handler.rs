//! One `FileReceived` in: the bytes brought from their source into the object store,
//! measured and judged, then one `FileStored` or `FileRejected` out.
//!
//! Safe to run twice for one event (deliveries are at least once): an object already at the
//! key means an earlier delivery stored it, so it is measured again instead of fetched (or,
//! for a web upload the gateway measured, its size is checked against that measurement),
//! and the event published again carries the same id as before.
//!
//! A web upload that carries the gateway's measurement is copied inside the store
//! ([`crate::staged`]); everything else streams from its source through `upload_stream`.

use std::sync::Arc;

use bureau_event_bus::{EventBus, EventHandler, HandlerError};
use bureau_platform::object_store::{ObjectStore, UploadError, Uploaded};
use proto_events::{Envelope, Event, FileReceived, FileSource};

use crate::announce::{file_rejected, file_stored};
use crate::file_name::object_key_for;
use crate::measure::measure;
use crate::sources::{FileSources, Opened, check_staging_key};
use crate::staged;
use crate::verdict::{self, MAX_FILE_BYTES, Rejection};

/// How storing a file ended once every dependency answered: kept as measured, or refused.
pub(crate) type Outcome = Result<Uploaded, Rejection>;

pub struct StoreReceivedFiles {
    store: ObjectStore,
    sources: FileSources,
    bus: Arc<EventBus>,
    /// Sniffed content types never kept (`storage_worker.refused_content_types`).
    refused_content_types: Vec<String>,
}

impl StoreReceivedFiles {
    pub fn new(
        store: ObjectStore,
        sources: FileSources,
        bus: Arc<EventBus>,
        refused_content_types: Vec<String>,
    ) -> Self {
        StoreReceivedFiles {
            store,
            sources,
            bus,
            refused_content_types,
        }
    }

    async fn store_file(&self, file: &FileReceived, key: &str) -> Result<Outcome, HandlerError> {
        let measured = match &file.source {
            FileSource::WebUpload {
                staging_key,
                measured: Some(measured),
            } => {
                check_staging_key(staging_key)?;
                staged::trusted(measured).map(|measured| (staging_key, measured))
            }
            _ => None,
        };
        let arrived = match (
            self.store
                .head(key)
                .await
                .map_err(HandlerError::transient)?,
            measured,
        ) {
            // Copied by an earlier delivery: the copy was made only from a staged object of
            // the measured size, so the measurement still describes it.
            (Some(size), Some((_, measured))) if size == measured.size => Ok(measured),
            (Some(_), _) => Ok(self.measure_stored(key).await?),
            (None, Some((staging_key, measured))) => {
                return staged::copy_measured(
                    &self.store,
                    &self.refused_content_types,
                    staging_key,
                    key,
                    measured,
                )
                .await;
            }
            (None, None) => match self.upload(&file.source, key).await? {
                // The staged upload is gone because another delivery of this event stored
                // it and deleted it since we looked at `key`: it is stored, not missing.
                Err(Rejection::UploadMissing)
                    if self
                        .store
                        .head(key)
                        .await
                        .map_err(HandlerError::transient)?
                        .is_some() =>
                {
                    Ok(self.measure_stored(key).await?)
                }
                outcome => outcome,
            },
        };
        match arrived {
            Ok(uploaded) => self.judge(key, uploaded).await,
            Err(rejection) => Ok(Err(rejection)),
        }
    }

    /// Re-reads an object an earlier delivery stored, for the facts `FileStored` carries.
    async fn measure_stored(&self, key: &str) -> Result<Uploaded, HandlerError> {
        tracing::info!(
            key,
            "already stored by an earlier delivery; measuring it again"
        );
        let body = self
            .store
            .get_stream(key)
            .await
            .map_err(HandlerError::transient)?;
        measure(body).await.map_err(HandlerError::transient)
    }

    /// Streams the source's bytes to `key`. A failed upload leaves nothing at `key`
    /// (`upload_stream` aborts its multipart upload), so a retry starts clean.
    async fn upload(&self, source: &FileSource, key: &str) -> Result<Outcome, HandlerError> {
        let body = match self.sources.open(source).await? {
            Opened::Bytes(body) => body,
            Opened::Rejected(rejection) => return Ok(Err(rejection)),
        };
        match self
            .store
            .upload_stream(key, body, Some(MAX_FILE_BYTES))
            .await
        {
            Ok(uploaded) => Ok(Ok(uploaded)),
            Err(UploadError::TooLarge { limit }) => Ok(Err(Rejection::TooLarge { limit })),
            Err(error @ (UploadError::Source(_) | UploadError::Store(_))) => {
                Err(HandlerError::transient(error))
            }
        }
    }

    /// Keeps the stored bytes, or deletes them when refused: refused files must not stay
    /// where a download link could reach them.
    async fn judge(&self, key: &str, uploaded: Uploaded) -> Result<Outcome, HandlerError> {
        match verdict::check(&uploaded, &self.refused_content_types) {
            Ok(()) => Ok(Ok(uploaded)),
            Err(rejection) => {
                self.store
                    .delete(key)
                    .await
                    .map_err(HandlerError::transient)?;
                Ok(Err(rejection))
            }
        }
    }

    async fn announce(
        &self,
        cause: &Envelope,
        file: &FileReceived,
        key: &str,
        outcome: Outcome,
    ) -> Result<(), HandlerError> {
        let event = match outcome {
            Ok(uploaded) => {
                tracing::info!(
                    key,
                    size = uploaded.size,
                    sha256 = %uploaded.sha256,
                    content_type = %uploaded.content_type,
                    "file stored"
                );
                file_stored(cause, file, key, uploaded)
            }
            Err(rejection) => {
                tracing::warn!(code = rejection.code(), reason = %rejection.reason(), "file rejected");
                file_rejected(cause, file, &rejection)
            }
        };
        self.bus
            .publish(&event)
            .await
            .map_err(HandlerError::transient)
    }

    /// Deletes a web upload's staging object once the outcome is announced, whichever it was.
    /// Best effort: a left-over staging object only costs space, since a redelivery finds
    /// the stored object first and never reads the staging one again.
    async fn discard_staging(&self, source: &FileSource) {
        if let FileSource::WebUpload { staging_key, .. } = source
            && let Err(error) = self.store.delete(staging_key).await
        {
            tracing::warn!(staging_key, %error, "could not delete a staged upload; it stays until swept");
        }
    }
}

impl EventHandler for StoreReceivedFiles {
    async fn handle(&self, event: &Envelope) -> Result<(), HandlerError> {
        let Event::FileReceived(file) = &event.payload else {
            return Err(HandlerError::permanent(format!(
                "the storage worker handles order.file.received, not {}",
                event.event_type
            )));
        };
        let key = object_key_for(
            file.purpose,
            file.order_id,
            file.file_id,
            &file.original_name,
        );
        let outcome = self.store_file(file, &key).await?;
        self.announce(event, file, &key, outcome).await?;
        self.discard_staging(&file.source).await;
        Ok(())
    }
}
