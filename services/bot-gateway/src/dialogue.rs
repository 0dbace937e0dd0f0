//! The conversation state one chat is in, as stored between updates: the language we speak
//! with the customer and the stage of the conversation (idle, or drafting an order).
//!
//! It is serialized to JSON in MySQL, so it must stay readable across deployments: new
//! fields get `#[serde(default)]`, new stages are new enum variants.

use proto_events::order_number;
use serde::{Deserialize, Serialize};
use teloxide::dispatching::dialogue::Dialogue;
use uuid::Uuid;

use crate::storage::MySqlStorage;

/// The dialogue handle handlers receive: reads and writes this chat's [`Conversation`].
pub type ChatDialogue = Dialogue<Conversation, MySqlStorage>;

/// The longest order description we accept, in characters (all text messages together).
pub const MAX_DESCRIPTION_CHARS: usize = 4_000;

/// The most files one order may carry; bounds the stored state and the events published.
pub const MAX_FILES: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Uk,
    En,
}

impl Language {
    /// Ukrainian unless the customer's Telegram is set to English.
    pub fn from_telegram(language_code: Option<&str>) -> Language {
        match language_code {
            Some(code) if code.to_ascii_lowercase().starts_with("en") => Language::En,
            _ => Language::Uk,
        }
    }

    /// The tag the text catalogue and the events use.
    pub fn tag(self) -> &'static str {
        match self {
            Language::Uk => "uk",
            Language::En => "en",
        }
    }
}

/// Everything we remember about one chat between updates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub language: Language,
    #[serde(default)]
    pub stage: Stage,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    #[default]
    Idle,
    /// Collecting text and files for an order not yet confirmed.
    Drafting(Draft),
}

impl Conversation {
    pub fn new(language: Language) -> Conversation {
        Conversation { language, stage: Stage::Idle }
    }

    pub fn draft(&self) -> Option<&Draft> {
        match &self.stage {
            Stage::Drafting(draft) => Some(draft),
            Stage::Idle => None,
        }
    }

    /// The draft in progress, or a fresh one.
    pub fn draft_or_new(&self) -> Draft {
        self.draft().cloned().unwrap_or_else(Draft::new)
    }

    /// This conversation with `draft` as the order in progress.
    pub fn drafting(&self, draft: Draft) -> Conversation {
        Conversation { language: self.language, stage: Stage::Drafting(draft) }
    }

    /// This conversation back at the main menu, any draft dropped.
    pub fn idle(&self) -> Conversation {
        Conversation::new(self.language)
    }
}

/// An order being put together.
///
/// Its identity (order id and number) is fixed when the draft starts, not when it is
/// confirmed: if a confirmation fails half-way (the broker took the events but the confirm
/// was lost) and the customer presses Confirm again, the very same events are published
/// again and consumers drop the repeat, so one draft can never become two orders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub order_id: Uuid,
    pub order_number: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub files: Vec<DraftFile>,
}

/// A file attached to a draft: a reference to the bytes in Telegram, never the bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DraftFile {
    pub file_id: Uuid,
    pub telegram_file_id: String,
    pub telegram_file_unique_id: String,
    pub name: String,
    pub size: Option<u64>,
    pub content_type: Option<String>,
    pub note: Option<String>,
}

/// Why a draft did not take what the customer sent; the draft is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DraftRefusal {
    #[error("the description would exceed {MAX_DESCRIPTION_CHARS} characters")]
    DescriptionTooLong,
    #[error("the draft already has {MAX_FILES} files")]
    TooManyFiles,
}

impl Draft {
    pub fn new() -> Draft {
        Draft {
            order_id: Uuid::now_v7(),
            order_number: order_number::generate(),
            description: String::new(),
            files: Vec::new(),
        }
    }

    /// Neither text nor files yet: nothing to order.
    pub fn is_empty(&self) -> bool {
        self.description.trim().is_empty() && self.files.is_empty()
    }

    /// Adds a message to the description. Customers often write in several messages, so a
    /// later one extends the description instead of replacing it.
    pub fn append_text(&mut self, text: &str) -> Result<(), DraftRefusal> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(());
        }
        let separator = if self.description.is_empty() { "" } else { "\n\n" };
        let total = self.description.chars().count() + separator.len() + text.chars().count();
        if total > MAX_DESCRIPTION_CHARS {
            return Err(DraftRefusal::DescriptionTooLong);
        }
        self.description.push_str(separator);
        self.description.push_str(text);
        Ok(())
    }

    /// Attaches a file; its caption becomes the description while the draft has none.
    /// Returns how many files the draft now has.
    pub fn add_file(&mut self, file: DraftFile) -> Result<usize, DraftRefusal> {
        if self.files.len() >= MAX_FILES {
            return Err(DraftRefusal::TooManyFiles);
        }
        if let Some(caption) = &file.note
            && self.description.is_empty()
        {
            self.append_text(caption)?;
        }
        self.files.push(file);
        Ok(self.files.len())
    }
}

impl Default for Draft {
    fn default() -> Self {
        Draft::new()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn file(name: &str, note: Option<&str>) -> DraftFile {
        DraftFile {
            file_id: Uuid::now_v7(),
            telegram_file_id: format!("tg-{name}"),
            telegram_file_unique_id: format!("u-{name}"),
            name: name.to_owned(),
            size: Some(1234),
            content_type: Some("application/pdf".to_owned()),
            note: note.map(str::to_owned),
        }
    }

    #[test]
    fn english_only_when_telegram_says_so() {
        assert_eq!(Language::from_telegram(Some("en")), Language::En);
        assert_eq!(Language::from_telegram(Some("en-GB")), Language::En);
        assert_eq!(Language::from_telegram(Some("uk")), Language::Uk);
        assert_eq!(Language::from_telegram(Some("de")), Language::Uk);
        assert_eq!(Language::from_telegram(None), Language::Uk);
    }

    #[test]
    fn later_messages_extend_the_description() {
        let mut draft = Draft::new();
        draft.append_text("  Translate this  ").unwrap();
        draft.append_text("by Friday").unwrap();
        assert_eq!(draft.description, "Translate this\n\nby Friday");
    }

    #[test]
    fn an_overlong_description_is_refused_and_the_draft_kept() {
        let mut draft = Draft::new();
        draft.append_text(&"я".repeat(MAX_DESCRIPTION_CHARS)).unwrap();
        let before = draft.clone();
        assert_eq!(draft.append_text("more"), Err(DraftRefusal::DescriptionTooLong));
        assert_eq!(draft, before);

        let mut fresh = Draft::new();
        assert_eq!(
            fresh.append_text(&"x".repeat(MAX_DESCRIPTION_CHARS + 1)),
            Err(DraftRefusal::DescriptionTooLong)
        );
        assert!(fresh.is_empty());
    }

    #[test]
    fn a_draft_may_start_with_a_file_whose_caption_describes_it() {
        let mut draft = Draft::new();
        assert_eq!(draft.add_file(file("a.pdf", Some("contract, 3 pages"))), Ok(1));
        assert_eq!(draft.description, "contract, 3 pages");
        assert_eq!(draft.add_file(file("b.pdf", Some("appendix"))), Ok(2));
        assert_eq!(draft.description, "contract, 3 pages", "later captions stay file notes");
        assert_eq!(draft.files[1].note.as_deref(), Some("appendix"));
        assert!(!draft.is_empty());
    }

    #[test]
    fn files_are_bounded() {
        let mut draft = Draft::new();
        for i in 0..MAX_FILES {
            draft.add_file(file(&format!("{i}.pdf"), None)).unwrap();
        }
        assert_eq!(draft.add_file(file("one-more.pdf", None)), Err(DraftRefusal::TooManyFiles));
        assert_eq!(draft.files.len(), MAX_FILES);
    }

    #[test]
    fn the_state_survives_a_json_round_trip() {
        let mut draft = Draft::new();
        draft.append_text("text").unwrap();
        draft.add_file(file("a.pdf", None)).unwrap();
        let conversation = Conversation::new(Language::En).drafting(draft);
        let json = serde_json::to_string(&conversation).unwrap();
        assert_eq!(serde_json::from_str::<Conversation>(&json).unwrap(), conversation);
        // State written before `stage` existed still reads.
        let old: Conversation = serde_json::from_str(r#"{"language":"uk"}"#).unwrap();
        assert_eq!(old, Conversation::new(Language::Uk));
    }
}
