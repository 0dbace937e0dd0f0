//! What a customer's file message (document, photo, audio, voice, video, video note,
//! animation) tells us about the file: Telegram's references, a display name, the declared
//! size and type, the caption and the album it belongs to; and the business's file policy
//! (Telegram's download limit, refused types), which decides what a draft takes.

use teloxide::types::{FileMeta, Message};
use uuid::Uuid;

use crate::dialogue::{Draft, DraftFile, LargeFile};

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

/// What the bot accepts into a draft, decided from what Telegram declares. The storage
/// worker checks the real bytes later; this spares the customer a confirmed order whose file
/// is then refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePolicy {
    pub limit: DownloadLimit,
    /// Content types refused (`storage_worker.refused_content_types`), lower case.
    refused_types: Vec<String>,
    /// Whether files above the limit get an upload link (`links.secret` is set).
    upload_links: bool,
}

/// What became of one incoming file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileOutcome {
    Added,
    /// Telegram says it holds nothing (0 bytes): not kept.
    Empty,
    /// Above the download limit; it gets an upload link once the order exists.
    TooLarge,
    /// Above the download limit, and links are off: not kept.
    TooLargeNoLinks,
    RefusedType,
    DraftFull,
}

impl FilePolicy {
    pub fn new(limit: DownloadLimit, refused_types: &[String], upload_links: bool) -> FilePolicy {
        FilePolicy {
            limit,
            refused_types: refused_types
                .iter()
                .map(|t| t.trim().to_ascii_lowercase())
                .collect(),
            upload_links,
        }
    }

    /// Applies the policy and the draft's bounds to one file: the draft takes it (or notes
    /// it for an upload link), or stays exactly as it was.
    pub fn admit(&self, draft: &mut Draft, file: IncomingFile) -> FileOutcome {
        if file.size == Some(0) {
            return FileOutcome::Empty;
        }
        if self.refuses(&file) {
            return FileOutcome::RefusedType;
        }
        if file.exceeds(self.limit) {
            if !self.upload_links {
                return FileOutcome::TooLargeNoLinks;
            }
            let large = LargeFile {
                name: file.name.clone(),
                size: file.size.unwrap_or_default(),
            };
            return match draft.add_large_file(large) {
                Ok(()) => FileOutcome::TooLarge,
                Err(_) => FileOutcome::DraftFull,
            };
        }
        match draft.add_file(file.into_draft_file()) {
            Ok(_) => FileOutcome::Added,
            Err(_) => FileOutcome::DraftFull,
        }
    }

    /// Whether the declared type is one the business refuses. Parameters (`; charset=…`)
    /// are ignored; an undeclared type is let through to the storage worker's sniffing.
    pub fn refuses(&self, file: &IncomingFile) -> bool {
        let Some(declared) = &file.content_type else {
            return false;
        };
        let essence = declared
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        self.refused_types.contains(&essence)
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
    /// Set when the file is one item of an album (a media group).
    pub media_group: Option<String>,
}

impl IncomingFile {
    /// The file in `message`, if it carries one.
    pub fn from_message(message: &Message) -> Option<IncomingFile> {
        let caption = message.caption().map(str::to_owned);
        // A name the sender chose may lie (`x\u{202E}ftp.hta`): what cannot be seen goes.
        let named = |name: &Option<String>, kind: &str, meta: &FileMeta, extension: &str| {
            name.as_deref()
                .map(shown_name)
                .filter(|name| !name.is_empty())
                .unwrap_or_else(|| format!("{kind}_{}{extension}", meta.unique_id))
        };
        let mut file = if let Some(document) = message.document() {
            IncomingFile::new(
                &document.file,
                named(&document.file_name, "document", &document.file, ""),
                mime(&document.mime_type),
            )
        } else if let Some(photos) = message.photo() {
            // Telegram sends each photo in several sizes; the largest is the original.
            let photo = photos.iter().max_by_key(|size| {
                (
                    u64::from(size.width) * u64::from(size.height),
                    size.file.size,
                )
            })?;
            // Telegram re-encodes every photo as JPEG.
            IncomingFile::new(
                &photo.file,
                format!("photo_{}.jpg", photo.file.unique_id),
                Some("image/jpeg".to_owned()),
            )
        } else if let Some(audio) = message.audio() {
            IncomingFile::new(
                &audio.file,
                named(&audio.file_name, "audio", &audio.file, ".mp3"),
                mime(&audio.mime_type),
            )
        } else if let Some(video) = message.video() {
            IncomingFile::new(
                &video.file,
                named(&video.file_name, "video", &video.file, ".mp4"),
                mime(&video.mime_type),
            )
        } else if let Some(animation) = message.animation() {
            let name = named(&animation.file_name, "animation", &animation.file, ".mp4");
            IncomingFile::new(&animation.file, name, mime(&animation.mime_type))
        } else if let Some(voice) = message.voice() {
            let name = format!("voice_{}.ogg", voice.file.unique_id);
            IncomingFile::new(
                &voice.file,
                name,
                mime(&voice.mime_type).or_else(|| Some("audio/ogg".to_owned())),
            )
        } else if let Some(note) = message.video_note() {
            IncomingFile::new(
                &note.file,
                format!("video_note_{}.mp4", note.file.unique_id),
                Some("video/mp4".to_owned()),
            )
        } else {
            return None;
        };
        file.caption = caption;
        file.media_group = message.media_group_id().map(|group| group.0.clone());
        Some(file)
    }

    fn new(meta: &FileMeta, name: String, content_type: Option<String>) -> IncomingFile {
        IncomingFile {
            telegram_file_id: meta.id.to_string(),
            telegram_file_unique_id: meta.unique_id.to_string(),
            name,
            size: declared_size(meta),
            content_type,
            caption: None,
            media_group: None,
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

/// A declared MIME type as text.
/// The longest file name kept from Telegram, in characters (as the web keeps).
const MAX_NAME_CHARS: usize = 255;

/// A sender's file name without control, bidirectional or invisible characters, trimmed
/// and cut to [`MAX_NAME_CHARS`].
fn shown_name(name: &str) -> String {
    let visible = bureau_kit::text::visible(name);
    bureau_kit::text::truncate(visible.trim(), MAX_NAME_CHARS).to_owned()
}

fn mime<T: ToString>(declared: &Option<T>) -> Option<String> {
    declared.as_ref().map(ToString::to_string)
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
    fn a_document_name_that_lies_loses_what_cannot_be_seen() {
        let file = IncomingFile::from_message(&message(serde_json::json!({
            "document": {"file_id": "DOC", "file_unique_id": "UDOC",
                         "file_name": "invoice\u{202E}fdp.exe\u{0}", "file_size": 10},
        })))
        .unwrap();
        assert_eq!(file.name, "invoicefdp.exe");
        let file = IncomingFile::from_message(&message(serde_json::json!({
            "document": {"file_id": "DOC", "file_unique_id": "UDOC",
                         "file_name": "\u{200B}\u{2066} ", "file_size": 10},
        })))
        .unwrap();
        assert_eq!(file.name, "document_UDOC");
        let file = IncomingFile::from_message(&message(serde_json::json!({
            "document": {"file_id": "DOC", "file_unique_id": "UDOC",
                         "file_name": "я".repeat(10_000), "file_size": 10},
        })))
        .unwrap();
        assert_eq!(file.name.chars().count(), MAX_NAME_CHARS);
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
            media_group: None,
        };
        assert!(!sized(Some(bytes)).exceeds(limit));
        assert!(sized(Some(bytes + 1)).exceeds(limit));
        assert!(!sized(None).exceeds(limit));
    }

    #[test]
    fn audio_video_and_voice_are_files_too_and_albums_are_noticed() {
        let audio = IncomingFile::from_message(&message(serde_json::json!({
            "audio": {"file_id": "AUD", "file_unique_id": "UAUD", "duration": 61, "file_name": "interview.m4a",
                      "mime_type": "audio/mp4", "file_size": 4096},
            "caption": "interview, 1 min",
            "media_group_id": "album-7",
        })))
        .unwrap();
        assert_eq!(
            (audio.name.as_str(), audio.content_type.as_deref()),
            ("interview.m4a", Some("audio/mp4"))
        );
        assert_eq!(audio.media_group.as_deref(), Some("album-7"));
        assert_eq!(audio.caption.as_deref(), Some("interview, 1 min"));

        let video = IncomingFile::from_message(&message(serde_json::json!({
            "video": {"file_id": "VID", "file_unique_id": "UVID", "width": 640, "height": 480, "duration": 5,
                      "mime_type": "video/mp4", "file_size": 90000},
        })))
        .unwrap();
        assert_eq!(video.name, "video_UVID.mp4");
        assert_eq!(video.media_group, None);

        let voice = IncomingFile::from_message(&message(serde_json::json!({
            "voice": {"file_id": "VOI", "file_unique_id": "UVOI", "duration": 3, "mime_type": "audio/ogg"},
        })))
        .unwrap();
        assert_eq!(
            (voice.name.as_str(), voice.content_type.as_deref()),
            ("voice_UVOI.ogg", Some("audio/ogg"))
        );
    }

    #[test]
    fn refused_types_are_recognized_by_their_declared_type_only() {
        let policy = FilePolicy::new(
            DownloadLimit::new(1),
            &["application/x-msdownload".to_owned()],
            true,
        );
        let typed = |content_type: Option<&str>| IncomingFile {
            telegram_file_id: "F".into(),
            telegram_file_unique_id: "U".into(),
            name: "setup.exe".into(),
            size: Some(1),
            content_type: content_type.map(str::to_owned),
            caption: None,
            media_group: None,
        };
        assert!(policy.refuses(&typed(Some("application/x-msdownload"))));
        assert!(policy.refuses(&typed(Some("Application/X-MSDownload; charset=binary"))));
        assert!(!policy.refuses(&typed(Some("application/pdf"))));
        assert!(
            !policy.refuses(&typed(None)),
            "undeclared: the storage worker sniffs the bytes"
        );
    }

    #[test]
    fn an_empty_file_is_not_taken_into_the_draft() {
        let policy = FilePolicy::new(DownloadLimit::new(1024), &[], true);
        let file = |size| IncomingFile {
            telegram_file_id: "F".into(),
            telegram_file_unique_id: "U".into(),
            name: "empty.pdf".into(),
            size,
            content_type: Some("application/pdf".into()),
            caption: Some("a caption".into()),
            media_group: None,
        };
        let mut draft = Draft::new();
        assert_eq!(policy.admit(&mut draft, file(Some(0))), FileOutcome::Empty);
        assert!(draft.is_empty(), "not even its caption is kept: {draft:?}");
        assert_eq!(policy.admit(&mut draft, file(Some(1))), FileOutcome::Added);
        assert_eq!(
            policy.admit(&mut draft, file(None)),
            FileOutcome::Added,
            "an unknown size is let through"
        );
    }

    #[test]
    fn text_is_not_a_file() {
        assert_eq!(
            IncomingFile::from_message(&message(serde_json::json!({"text": "hi"}))),
            None
        );
    }
}
