//! What a customer's document or photo message tells us about the file: Telegram's
//! references, a display name, the declared size and type, and the caption.

use teloxide::types::{FileMeta, Message};
use uuid::Uuid;

use crate::dialogue::DraftFile;

/// The largest file the Bot API lets a bot download (`telegram.max_download_bytes`; 20 MB on
/// Telegram's cloud API, unlimited with a local Bot API server).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownloadLimit {
    bytes: u64,
}

impl DownloadLimit {
    pub fn new(bytes: u64) -> DownloadLimit {
        DownloadLimit { bytes }
    }

    /// Whole megabytes, as customers are told the limit.
    pub fn megabytes(self) -> u64 {
        self.bytes / (1024 * 1024)
    }
}

/// A file as it arrived, before the draft takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingFile {
    pub telegram_file_id: String,
    pub telegram_file_unique_id: String,
    pub name: String,
    /// `None` when Telegram did not say.
    pub size: Option<u64>,
    pub content_type: Option<String>,
    pub caption: Option<String>,
}

impl IncomingFile {
    /// The document or photo in `message`, if it carries one.
    pub fn from_message(message: &Message) -> Option<IncomingFile> {
        let caption = message.caption().map(str::to_owned);
        if let Some(document) = message.document() {
            let name = document
                .file_name
                .clone()
                .unwrap_or_else(|| format!("document_{}", document.file.unique_id));
            return Some(IncomingFile::new(
                &document.file,
                name,
                document.mime_type.as_ref().map(|mime| mime.to_string()),
                caption,
            ));
        }
        // Telegram sends each photo in several sizes; the largest is the original.
        let photo = message.photo()?.iter().max_by_key(|size| (u64::from(size.width) * u64::from(size.height), size.file.size))?;
        let name = format!("photo_{}.jpg", photo.file.unique_id);
        // Telegram re-encodes every photo as JPEG.
        Some(IncomingFile::new(&photo.file, name, Some("image/jpeg".to_owned()), caption))
    }

    fn new(meta: &FileMeta, name: String, content_type: Option<String>, caption: Option<String>) -> IncomingFile {
        IncomingFile {
            telegram_file_id: meta.id.to_string(),
            telegram_file_unique_id: meta.unique_id.to_string(),
            name,
            size: declared_size(meta),
            content_type,
            caption,
        }
    }

    /// Whether the file is too big for the Bot API to hand us.
    pub fn exceeds(&self, limit: DownloadLimit) -> bool {
        self.size.is_some_and(|size| size > limit.bytes)
    }

    pub fn into_draft_file(self) -> DraftFile {
        DraftFile {
            file_id: Uuid::now_v7(),
            telegram_file_id: self.telegram_file_id,
            telegram_file_unique_id: self.telegram_file_unique_id,
            name: self.name,
            size: self.size,
            content_type: self.content_type,
            note: self.caption.filter(|caption| !caption.trim().is_empty()),
        }
    }
}

/// teloxide fills a missing `file_size` with `u32::MAX`; that means "unknown", not 4 GiB.
/// An unknown size is let through: the storage worker's download enforces the real limit.
fn declared_size(meta: &FileMeta) -> Option<u64> {
    (meta.size != u32::MAX).then_some(u64::from(meta.size))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(json: serde_json::Value) -> Message {
        let mut base = serde_json::json!({
            "message_id": 7,
            "date": 1_700_000_000,
            "chat": {"id": 1001, "type": "private", "first_name": "Olena"},
            "from": {"id": 1001, "is_bot": false, "first_name": "Olena"},
        });
        if let (Some(base), Some(extra)) = (base.as_object_mut(), json.as_object()) {
            base.extend(extra.clone());
        }
        serde_json::from_value(base).expect("a valid message")
    }

    #[test]
    fn a_document_keeps_its_name_type_size_and_caption() {
        let file = IncomingFile::from_message(&message(serde_json::json!({
            "document": {"file_id": "DOC", "file_unique_id": "UDOC", "file_name": "contract.pdf",
                         "mime_type": "application/pdf", "file_size": 2048},
            "caption": "3 pages",
        })))
        .unwrap();
        assert_eq!(file.telegram_file_id, "DOC");
        assert_eq!(file.telegram_file_unique_id, "UDOC");
        assert_eq!(file.name, "contract.pdf");
        assert_eq!(file.size, Some(2048));
        assert_eq!(file.content_type.as_deref(), Some("application/pdf"));
        assert_eq!(file.into_draft_file().note.as_deref(), Some("3 pages"));
    }

    #[test]
    fn a_photo_is_its_largest_size_named_after_its_unique_id() {
        let file = IncomingFile::from_message(&message(serde_json::json!({
            "photo": [
                {"file_id": "SMALL", "file_unique_id": "US", "width": 90, "height": 60, "file_size": 900},
                {"file_id": "BIG", "file_unique_id": "UB", "width": 1280, "height": 960, "file_size": 90000},
            ],
        })))
        .unwrap();
        assert_eq!(file.telegram_file_id, "BIG");
        assert_eq!(file.name, "photo_UB.jpg");
        assert_eq!(file.content_type.as_deref(), Some("image/jpeg"));
        assert_eq!(file.into_draft_file().note, None);
    }

    #[test]
    fn only_a_known_size_over_the_limit_is_too_large() {
        let bytes = 20 * 1024 * 1024;
        let limit = DownloadLimit::new(bytes);
        assert_eq!(limit.megabytes(), 20);
        let sized = |size| IncomingFile {
            telegram_file_id: "F".into(),
            telegram_file_unique_id: "U".into(),
            name: "f.bin".into(),
            size,
            content_type: None,
            caption: None,
        };
        assert!(!sized(Some(bytes)).exceeds(limit));
        assert!(sized(Some(bytes + 1)).exceeds(limit));
        assert!(!sized(None).exceeds(limit));
    }

    #[test]
    fn text_is_not_a_file() {
        assert_eq!(IncomingFile::from_message(&message(serde_json::json!({"text": "hi"}))), None);
    }
}
