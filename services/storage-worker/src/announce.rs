//! The events the storage worker publishes: `FileStored` and `FileRejected`, each with an
//! id derived from the `FileReceived` that caused it, so handling one delivery twice
//! publishes the very same event and downstream consumers drop the second copy.

use bureau_platform::object_store::Uploaded;
use proto_events::{Envelope, FileReceived, FileRejected, FileStored, Producer};

use crate::verdict::Rejection;

pub const PRODUCER: Producer = crate::SERVICE.name();

/// The file is stored at `object_key`, as measured on the way in.
pub fn file_stored(
    cause: &Envelope,
    file: &FileReceived,
    object_key: &str,
    uploaded: Uploaded,
) -> Envelope {
    let payload = FileStored {
        order_id: file.order_id,
        file_id: file.file_id,
        purpose: file.purpose,
        object_key: object_key.to_owned(),
        size: uploaded.size,
        sha256: uploaded.sha256,
        content_type: uploaded.content_type,
        original_name: file.original_name.clone(),
    };
    Envelope::caused_by(PRODUCER, cause, payload)
        .with_deterministic_id(format!("file-stored:{}", cause.event_id).as_bytes())
}

/// The file was not stored, and why.
pub fn file_rejected(cause: &Envelope, file: &FileReceived, rejection: &Rejection) -> Envelope {
    let payload = FileRejected {
        order_id: file.order_id,
        file_id: file.file_id,
        original_name: file.original_name.clone(),
        code: rejection.code().to_owned(),
        reason: rejection.reason(),
    };
    Envelope::caused_by(PRODUCER, cause, payload)
        .with_deterministic_id(format!("file-rejected:{}", cause.event_id).as_bytes())
}

#[cfg(test)]
mod tests {
    use proto_events::{Event, FileSource};
    use uuid::Uuid;

    use super::*;

    fn received() -> (Envelope, FileReceived) {
        let file = FileReceived {
            order_id: Uuid::now_v7(),
            file_id: Uuid::now_v7(),
            purpose: Default::default(),
            source: FileSource::WebUpload {
                staging_key: "staging/x".into(),
                measured: None,
            },
            original_name: "scan 1.pdf".into(),
            declared_size: None,
            declared_content_type: None,
            note: None,
        };
        (
            Envelope::new(
                proto_events::Service::WebGateway.name(),
                file.order_id,
                file.clone(),
            ),
            file,
        )
    }

    fn uploaded() -> Uploaded {
        Uploaded {
            size: 3,
            sha256: "ab".repeat(32),
            content_type: "application/pdf".into(),
        }
    }

    #[test]
    fn the_same_cause_gives_the_same_event_id() {
        let (cause, file) = received();
        let first = file_stored(&cause, &file, "orders/k", uploaded());
        let again = file_stored(&cause, &file, "orders/k", uploaded());
        assert_eq!(first.event_id, again.event_id);
        let rejected = file_rejected(&cause, &file, &Rejection::Empty);
        assert_eq!(
            rejected.event_id,
            file_rejected(&cause, &file, &Rejection::UploadMissing).event_id
        );
        assert_ne!(
            first.event_id, rejected.event_id,
            "stored and rejected are different events"
        );
        let (other_cause, _) = received();
        assert_ne!(
            first.event_id,
            file_stored(&other_cause, &file, "orders/k", uploaded()).event_id
        );
    }

    #[test]
    fn events_are_caused_by_and_correlated_with_the_received_file() {
        let (cause, file) = received();
        let stored = file_stored(&cause, &file, "orders/k", uploaded());
        assert_eq!(stored.causation_id, Some(cause.event_id));
        assert_eq!(stored.correlation_id, cause.correlation_id);
        assert_eq!(stored.producer, PRODUCER);
        let Event::FileStored(payload) = stored.payload else {
            panic!("not FileStored")
        };
        assert_eq!(payload.object_key, "orders/k");
        assert_eq!(payload.original_name, "scan 1.pdf");
        assert_eq!(payload.size, 3);
    }

    #[test]
    fn rejections_carry_code_and_reason() {
        let (cause, file) = received();
        let Event::FileRejected(payload) = file_rejected(&cause, &file, &Rejection::Empty).payload
        else {
            panic!("not FileRejected")
        };
        assert_eq!(payload.code, "empty");
        assert_eq!(payload.reason, "The file is empty");
        assert_eq!(payload.file_id, file.file_id);
    }
}
