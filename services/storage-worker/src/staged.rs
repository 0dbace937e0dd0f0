//! Web uploads that arrive measured: the web gateway's size, SHA-256 and sniffed type are
//! checked against the staged object and judged, then the object is copied to its final
//! key inside the object store, so its bytes cross the store once instead of twice.
//!
//! Why the measurement is trusted rather than recomputed: the web gateway is our own
//! service, and it computed these facts with the same code (`Measurement`) on the very bytes
//! it streamed into the staging key, in the same pass that wrote them. What could still go
//! wrong between its upload and this copy is that the staged object is gone or is not the
//! object the gateway wrote; the size check catches a different object, and the copy is
//! made only if the object still has the ETag we inspected, so what is copied is what was
//! checked. Events without a measurement (from before it existed) take the old path: the
//! bytes are read back and measured here.

use bureau_event_bus::HandlerError;
use bureau_platform::object_store::{CopyError, ObjectStore, Uploaded};
use proto_events::Measured;

use crate::handler::Outcome;
use crate::verdict::{self, MAX_FILE_BYTES, Rejection};

/// What the measurement says, if it has the shape every measurement has (a 64-digit hex
/// SHA-256, a content type). A malformed one is not trusted: the caller reads the bytes.
pub fn trusted(measured: &Measured) -> Option<Uploaded> {
    let hex_sha = measured.sha256.len() == 64
        && measured
            .sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    (hex_sha && !measured.content_type.trim().is_empty()).then(|| Uploaded {
        size: measured.size,
        sha256: measured.sha256.clone(),
        content_type: measured.content_type.clone(),
    })
}

/// The outcome for a measured web upload whose final `key` holds nothing yet: rejected
/// (staged object missing or not the measured one, empty, too large, refused type) or
/// copied from `staging_key` to `key`. The staging object is left for the caller to delete
/// once the outcome is announced.
pub async fn copy_measured(
    store: &ObjectStore,
    refused_content_types: &[String],
    staging_key: &str,
    key: &str,
    measured: Uploaded,
) -> Result<Outcome, HandlerError> {
    let Some(staged) = store
        .stat(staging_key)
        .await
        .map_err(HandlerError::transient)?
    else {
        // Gone since the caller found nothing at `key`: another delivery of this event (a
        // publisher's resend after a nack, a redelivery) may have copied it and deleted it
        // meanwhile. Then the file is at its key, and refusing it would tell the customer a
        // stored file was lost (found by the cluster run: both outcomes were announced).
        return copied_by_another_delivery(store, key, measured).await;
    };
    if staged.size != measured.size {
        // Not the bytes the gateway measured: storing them under its facts would record a
        // size and hash the stored file does not have. The customer uploads again.
        tracing::error!(
            staging_key,
            staged_size = staged.size,
            measured_size = measured.size,
            "the staged object is not the size the web gateway measured; not storing it"
        );
        return Ok(Err(Rejection::UploadMissing));
    }
    if measured.size > MAX_FILE_BYTES {
        return Ok(Err(Rejection::TooLarge {
            limit: MAX_FILE_BYTES,
        }));
    }
    // Judged before copying, so a refused file never reaches a key a download could name.
    if let Err(rejection) = verdict::check(&measured, refused_content_types) {
        return Ok(Err(rejection));
    }
    match store
        .copy(
            staging_key,
            key,
            &measured.content_type,
            staged.e_tag.as_deref(),
        )
        .await
    {
        Ok(()) => Ok(Ok(measured)),
        // Gone between the look and the copy: another delivery of this event may have just
        // copied and deleted it; then the file is at its key, with the measured size.
        Err(CopyError::SourceMissing) => copied_by_another_delivery(store, key, measured).await,
        // Replaced since we looked: look again on the retry.
        Err(error @ (CopyError::SourceChanged | CopyError::Store(_))) => {
            Err(HandlerError::transient(error))
        }
    }
}

/// The outcome when the staged object is gone: stored, if another delivery of the same
/// event copied it to `key` (the size is the measured one: copies are made only from a
/// staged object of that size), else the upload is missing.
async fn copied_by_another_delivery(
    store: &ObjectStore,
    key: &str,
    measured: Uploaded,
) -> Result<Outcome, HandlerError> {
    match store.head(key).await.map_err(HandlerError::transient)? {
        Some(size) if size == measured.size => {
            tracing::info!(
                key,
                "the staged object was already copied by another delivery of this event"
            );
            Ok(Ok(measured))
        }
        _ => Ok(Err(Rejection::UploadMissing)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(sha256: &str, content_type: &str) -> Measured {
        Measured {
            size: 3,
            sha256: sha256.to_owned(),
            content_type: content_type.to_owned(),
        }
    }

    #[test]
    fn only_well_formed_measurements_are_trusted() {
        let good = "0123456789abcdef".repeat(4);
        assert_eq!(
            trusted(&measured(&good, "text/plain")),
            Some(Uploaded {
                size: 3,
                sha256: good.clone(),
                content_type: "text/plain".into()
            })
        );
        assert_eq!(trusted(&measured(&good.to_uppercase(), "text/plain")), None);
        assert_eq!(trusted(&measured(&good[..63], "text/plain")), None);
        assert_eq!(trusted(&measured(&good, " ")), None);
    }
}
