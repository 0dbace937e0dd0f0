//! What the double records for tests to inspect: the bot's messages, its
//! callback answers, counters, and the faults tests can inject.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;

/// One thing the bot did in a chat: a message it sent, or an edit of one.
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    pub message_id: i64,
    pub chat_id: i64,
    /// The text of a text message (as sent; `parse_mode` is not applied).
    pub text: Option<String>,
    /// The caption of a document or photo.
    pub caption: Option<String>,
    /// `reply_markup` exactly as the bot sent it: an inline keyboard, a reply
    /// keyboard, `remove_keyboard` or `force_reply`.
    pub reply_markup: Option<Value>,
    pub document: Option<SentDocument>,
    /// The bot sent a photo.
    pub photo: bool,
    /// This entry records an edit (`editMessageText`/`editMessageReplyMarkup`)
    /// of the message `message_id`; it shows the message as edited.
    pub edited: bool,
    /// When the double accepted it.
    pub at: Instant,
}

impl SentMessage {
    /// The buttons of an inline keyboard, row by row: `(text, callback_data)`,
    /// or `(text, url)` for URL buttons (other kinds give an empty second part).
    pub fn inline_buttons(&self) -> Vec<(String, String)> {
        let Some(rows) = self
            .reply_markup
            .as_ref()
            .and_then(|markup| markup.get("inline_keyboard"))
            .and_then(Value::as_array)
        else {
            return Vec::new();
        };
        rows.iter()
            .filter_map(Value::as_array)
            .flatten()
            .map(|button| {
                let text = button
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let target = ["callback_data", "url", "switch_inline_query", "copy_text"]
                    .iter()
                    .find_map(|key| button.get(*key))
                    .map(|value| match value {
                        Value::String(s) => s.clone(),
                        Value::Object(o) => o
                            .get("text")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        other => other.to_string(),
                    })
                    .unwrap_or_default();
                (text.to_owned(), target)
            })
            .collect()
    }

    /// The buttons of a reply keyboard (`keyboard`), row by row, by text.
    pub fn reply_keyboard(&self) -> Vec<String> {
        let Some(rows) = self
            .reply_markup
            .as_ref()
            .and_then(|markup| markup.get("keyboard"))
            .and_then(Value::as_array)
        else {
            return Vec::new();
        };
        rows.iter()
            .filter_map(Value::as_array)
            .flatten()
            .filter_map(|button| match button {
                Value::String(s) => Some(s.clone()),
                other => other.get("text").and_then(Value::as_str).map(str::to_owned),
            })
            .collect()
    }

    /// The text, or else the caption, or else "".
    pub fn body(&self) -> &str {
        self.text
            .as_deref()
            .or(self.caption.as_deref())
            .unwrap_or("")
    }

    /// A one-line description for error messages.
    pub(crate) fn describe(&self) -> String {
        let mut out = format!("#{}", self.message_id);
        if self.edited {
            out.push_str(" (edit)");
        }
        if let Some(doc) = &self.document {
            out.push_str(&format!(" [document {} {} B]", doc.file_name, doc.size));
        }
        if self.photo {
            out.push_str(" [photo]");
        }
        let body = self.body();
        let short: String = body.chars().take(120).collect();
        out.push_str(&format!(" {short:?}"));
        if short.len() < body.len() {
            out.push('…');
        }
        let buttons = self.inline_buttons();
        if !buttons.is_empty() {
            out.push_str(&format!(" buttons={buttons:?}"));
        }
        out
    }
}

/// A document the bot sent (uploaded, or re-sent by `file_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentDocument {
    pub file_name: String,
    pub size: u64,
    /// SHA-256 of the bytes, lowercase hex. Empty for a file made with
    /// [`SimUser::send_document_sized`](crate::SimUser::send_document_sized),
    /// whose bytes the double never holds.
    pub sha256_hex: String,
}

/// An `answerCallbackQuery` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackAnswer {
    pub callback_query_id: String,
    pub text: Option<String>,
    pub show_alert: bool,
}

/// Counters of what the bot's calls met.
#[derive(Debug, Clone, Default)]
pub struct DoubleStats {
    /// Sending calls (sendMessage, sendDocument, sendPhoto, editMessageText,
    /// editMessageCaption) that succeeded.
    pub sent_ok: u64,
    /// 429 answers, from the limits and from injected faults.
    pub too_many_requests: u64,
    /// 403 answers (bot blocked).
    pub forbidden: u64,
    /// 5xx answers (injected faults).
    pub server_errors: u64,
    /// 400 answers of any method.
    pub bad_requests: u64,
    /// Every Bot API call by method name, spelled as in Telegram's docs when the
    /// client wrote it that way up to the first letter (`SendMessage` → `sendMessage`).
    pub calls: HashMap<String, u64>,
    /// When each successful sending call to a chat was accepted, in order.
    pub send_times: HashMap<i64, Vec<Instant>>,
}

impl DoubleStats {
    /// The most successful sends to `chat_id` that fell within any window of
    /// length `window` — for checking the bot kept under a limit.
    pub fn max_sends_in_window(&self, chat_id: i64, window: Duration) -> usize {
        let Some(times) = self.send_times.get(&chat_id) else {
            return 0;
        };
        let mut best = 0;
        let mut start = 0;
        for end in 0..times.len() {
            while times[end].duration_since(times[start]) >= window {
                start += 1;
            }
            best = best.max(end - start + 1);
        }
        best
    }

    /// How many calls of `method` (case-insensitive) the bot made.
    pub fn calls_of(&self, method: &str) -> u64 {
        self.calls
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case(method))
            .map(|(_, n)| n)
            .sum()
    }
}

/// Trouble to inject into the bot's next sending calls (sendMessage,
/// sendDocument, sendPhoto, editMessageText, editMessageCaption — the calls
/// the flood limits count). A fault answers before any other check.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Fault {
    #[default]
    None,
    /// The next `remaining` sending calls answer 502 Bad Gateway.
    ServerError { remaining: u32 },
    /// The next `remaining` sending calls answer 429 with `retry_after`.
    TooManyRequests { remaining: u32, retry_after: u32 },
}
