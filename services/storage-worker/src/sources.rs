//! Where a received file's bytes are now, opened as a stream: Telegram (see
//! [`crate::telegram`]) or the web gateway's staging object in the store.
//!
//! Opening either gives the bytes, a [`Rejection`] when the file cannot be had at all, or a
//! transient error when the source is out of reach for now.

use bureau_event_bus::HandlerError;
use bureau_platform::object_store::ObjectStore;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use proto_events::FileSource;
use proto_events::object_keys::STORED_PREFIX;

use crate::telegram::TelegramFiles;
use crate::verdict::Rejection;

/// A file's bytes as they arrive from its source.
pub type ByteStream = BoxStream<'static, Result<Bytes, String>>;

/// What opening a source gave.
pub enum Opened {
    Bytes(ByteStream),
    Rejected(Rejection),
}

/// Opens the source an event names.
pub struct FileSources {
    telegram: TelegramFiles,
    store: ObjectStore,
}

impl FileSources {
    pub fn new(telegram: TelegramFiles, store: ObjectStore) -> Self {
        FileSources { telegram, store }
    }

    /// Opens `source`. A reference no producer should send is a permanent error: the event
    /// goes to the dead-letter queue for a person to look at.
    pub async fn open(&self, source: &FileSource) -> Result<Opened, HandlerError> {
        match source {
            FileSource::Telegram {
                telegram_file_id, ..
            } => {
                if telegram_file_id.trim().is_empty() {
                    return Err(HandlerError::permanent("the Telegram file id is empty"));
                }
                self.telegram.open(telegram_file_id).await
            }
            FileSource::WebUpload { staging_key, .. } => {
                check_staging_key(staging_key)?;
                open_staged(&self.store, staging_key).await
            }
        }
    }
}

/// Refuses (permanently) a staging key no gateway writes: empty, or inside stored files.
pub fn check_staging_key(staging_key: &str) -> Result<(), HandlerError> {
    if staging_key.trim().is_empty() {
        return Err(HandlerError::permanent("the staging key is empty"));
    }
    // Stored files live there, and a staging object is deleted once its file is stored.
    if staging_key.starts_with(STORED_PREFIX) {
        return Err(HandlerError::permanent(format!(
            "the staging key `{staging_key}` points into the stored files (`{STORED_PREFIX}`)"
        )));
    }
    Ok(())
}

/// The bytes the web gateway streamed to `staging_key`.
async fn open_staged(store: &ObjectStore, staging_key: &str) -> Result<Opened, HandlerError> {
    // `get_stream` cannot tell "no such object" from "store down"; `head` can.
    if store
        .head(staging_key)
        .await
        .map_err(HandlerError::transient)?
        .is_none()
    {
        return Ok(Opened::Rejected(Rejection::UploadMissing));
    }
    let body = store
        .get_stream(staging_key)
        .await
        .map_err(HandlerError::transient)?;
    Ok(Opened::Bytes(
        body.map(|chunk| chunk.map_err(|error| error.to_string()))
            .boxed(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_keys_must_name_a_staging_object() {
        assert!(check_staging_key("staging/abc").is_ok());
        assert!(matches!(
            check_staging_key(""),
            Err(HandlerError::Permanent(_))
        ));
        assert!(matches!(
            check_staging_key("orders/x/y/z"),
            Err(HandlerError::Permanent(_))
        ));
    }
}
