//! The double's world: chats, messages, stored files, the update queue, the
//! webhook setting, limits, faults and counters — all behind one mutex — plus
//! the builders of the Bot API's JSON objects (`User`, `Chat`, `Message`, …)
//! in exactly the shapes teloxide-core 0.13 deserializes.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use bytes::Bytes;
use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::config::DoubleConfig;
use crate::limits::Limiter;
use crate::records::{CallbackAnswer, DoubleStats, Fault, SentDocument, SentMessage};

/// Everything the server, the webhook pusher, the handle and the simulated
/// users share.
pub(crate) struct Shared {
    pub config: DoubleConfig,
    pub addr: SocketAddr,
    pub started: Instant,
    state: Mutex<State>,
    /// Bumped whenever the update queue, the webhook or the poller changes:
    /// long polls and the webhook pusher wait on it.
    pub updates_tx: watch::Sender<u64>,
    /// Bumped whenever the bot's message log changes: `wait_for_message` waits on it.
    pub messages_tx: watch::Sender<u64>,
    /// Set to `true` once to stop the server and the pusher.
    pub shutdown_tx: watch::Sender<bool>,
}

impl Shared {
    pub(crate) fn new(config: DoubleConfig, addr: SocketAddr) -> Self {
        let now = Instant::now();
        let state = State::new(&config, now);
        Shared {
            config,
            addr,
            started: now,
            state: Mutex::new(state),
            updates_tx: watch::Sender::new(0),
            messages_tx: watch::Sender::new(0),
            shutdown_tx: watch::Sender::new(false),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent-enough test state; keep going.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn bump_updates(&self) {
        self.updates_tx.send_modify(|v| *v = v.wrapping_add(1));
    }

    pub(crate) fn bump_messages(&self) {
        self.messages_tx.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// The bot as a `User` object.
    pub(crate) fn bot_user(&self) -> Value {
        json!({
            "id": self.config.bot_id(),
            "is_bot": true,
            "first_name": self.config.bot_first_name,
            "username": self.config.bot_username,
        })
    }

    /// The bot as `getMe` answers it (`Me`: a `User` plus the bot flags).
    pub(crate) fn me(&self) -> Value {
        let mut me = self.bot_user();
        let obj = me.as_object_mut().expect("object");
        obj.insert("can_join_groups".into(), json!(true));
        obj.insert("can_read_all_group_messages".into(), json!(false));
        obj.insert("supports_inline_queries".into(), json!(false));
        obj.insert("can_connect_to_business".into(), json!(false));
        obj.insert("has_main_web_app".into(), json!(false));
        me
    }
}

#[derive(Debug, Clone)]
pub(crate) enum ChatKind {
    Private {
        first_name: String,
        language_code: String,
    },
    Group {
        title: String,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct ChatInfo {
    pub id: i64,
    pub kind: ChatKind,
    pub blocked: bool,
    pub next_message_id: i64,
}

impl ChatInfo {
    /// The chat as a `Chat` object.
    pub(crate) fn json(&self) -> Value {
        match &self.kind {
            ChatKind::Private { first_name, .. } => {
                json!({"id": self.id, "type": "private", "first_name": first_name})
            }
            ChatKind::Group { title } => json!({"id": self.id, "type": "group", "title": title}),
        }
    }
}

/// What a stored file holds.
#[derive(Debug, Clone)]
pub(crate) enum Content {
    Bytes(Bytes),
    /// `size` bytes of a fixed pattern, produced on download (see [`synthetic_chunk`]).
    Synthetic,
}

#[derive(Debug, Clone)]
pub(crate) struct FileEntry {
    pub file_id: String,
    pub unique_id: String,
    pub size: u64,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
    pub content: Content,
    pub sha256_hex: String,
    /// Folder of its `file_path`, as Telegram names them: documents, photos, stickers.
    pub folder: &'static str,
    /// Set by the first `getFile`.
    pub path: Option<String>,
    pub removed: bool,
}

impl FileEntry {
    /// The `file_id`/`file_unique_id`/`file_size` triple (teloxide's `FileMeta`).
    pub(crate) fn meta(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("file_id".into(), json!(self.file_id));
        m.insert("file_unique_id".into(), json!(self.unique_id));
        m.insert("file_size".into(), json!(self.size));
        m
    }

    pub(crate) fn document_json(&self) -> Value {
        let mut m = self.meta();
        if let Some(name) = &self.file_name {
            m.insert("file_name".into(), json!(name));
        }
        if let Some(mime) = &self.mime_type {
            m.insert("mime_type".into(), json!(mime));
        }
        Value::Object(m)
    }
}

/// A message that exists in a chat (from the bot or from a user).
#[derive(Debug, Clone)]
pub(crate) struct StoredMessage {
    pub from_bot: bool,
    pub date: i64,
    pub edit_date: Option<i64>,
    pub text: Option<String>,
    pub caption: Option<String>,
    pub reply_markup: Option<Value>,
    pub document: Option<String>,
    pub photo: Vec<String>,
    /// Other content of user messages (contact, sticker, location…), already as JSON fields.
    pub extra: Map<String, Value>,
}

#[derive(Clone)]
pub(crate) struct PendingUpdate {
    pub id: u32,
    pub kind: &'static str,
    pub json: Value,
}

pub(crate) struct Webhook {
    pub url: String,
    pub secret: Option<String>,
    pub max_connections: u32,
}

pub(crate) struct State {
    pub chats: HashMap<i64, ChatInfo>,
    pub messages: HashMap<(i64, i64), StoredMessage>,
    pub log: HashMap<i64, Vec<SentMessage>>,
    pub deleted: HashMap<i64, Vec<i64>>,
    pub updates: VecDeque<PendingUpdate>,
    /// Every update ever queued, for delivering one again as Telegram may.
    pub sent_updates: HashMap<u32, PendingUpdate>,
    pub next_update_id: u32,
    /// The last `allowed_updates` given (None: Telegram's default, everything here).
    pub allowed_updates: Option<Vec<String>>,
    pub files: HashMap<String, FileEntry>,
    pub file_paths: HashMap<String, String>,
    pub next_file_no: u64,
    /// Callback query id → answered yet.
    pub callback_queries: HashMap<String, bool>,
    pub callback_answers: Vec<CallbackAnswer>,
    pub webhook: Option<Webhook>,
    pub webhook_last_error: Option<(i64, String)>,
    /// Bumped by each getUpdates call; a waiting poll with an older number was superseded.
    pub poll_generation: u64,
    pub limiter: Limiter,
    pub fault: Fault,
    pub stats: DoubleStats,
    pub commands: Value,
    pub next_media_group: u64,
    pub payments: crate::payments::Payments,
}

impl State {
    fn new(config: &DoubleConfig, now: Instant) -> Self {
        State {
            chats: HashMap::new(),
            messages: HashMap::new(),
            log: HashMap::new(),
            deleted: HashMap::new(),
            updates: VecDeque::new(),
            sent_updates: HashMap::new(),
            // Real update ids start anywhere; bots must not assume 1.
            next_update_id: rand::rng().random_range(100_000_000..200_000_000),
            allowed_updates: None,
            files: HashMap::new(),
            file_paths: HashMap::new(),
            next_file_no: 1,
            callback_queries: HashMap::new(),
            callback_answers: Vec::new(),
            webhook: None,
            webhook_last_error: None,
            poll_generation: 0,
            limiter: Limiter::new(config.limits(), now),
            fault: Fault::None,
            stats: DoubleStats::default(),
            commands: json!([]),
            next_media_group: rand::rng().random_range(10_000_000_000_000u64..20_000_000_000_000),
            payments: Default::default(),
        }
    }

    pub(crate) fn register_private(
        &mut self,
        user_id: i64,
        first_name: Option<&str>,
        language_code: Option<&str>,
    ) {
        let chat = self.chats.entry(user_id).or_insert_with(|| ChatInfo {
            id: user_id,
            kind: ChatKind::Private {
                first_name: format!("User{user_id}"),
                language_code: "en".to_owned(),
            },
            blocked: false,
            next_message_id: 1,
        });
        if let ChatKind::Private {
            first_name: name,
            language_code: lang,
        } = &mut chat.kind
        {
            if let Some(first_name) = first_name {
                *name = first_name.to_owned();
            }
            if let Some(language_code) = language_code {
                *lang = language_code.to_owned();
            }
        }
    }

    pub(crate) fn register_group(&mut self, chat_id: i64, title: Option<&str>) {
        let chat = self.chats.entry(chat_id).or_insert_with(|| ChatInfo {
            id: chat_id,
            kind: ChatKind::Group {
                title: format!("Group {chat_id}"),
            },
            blocked: false,
            next_message_id: 1,
        });
        if let (ChatKind::Group { title: t }, Some(title)) = (&mut chat.kind, title) {
            *t = title.to_owned();
        }
    }

    /// The `User` object of a simulated user (their private chat holds name and language).
    pub(crate) fn user_json(&self, user_id: i64) -> Value {
        let (first_name, language_code) = match self.chats.get(&user_id).map(|c| &c.kind) {
            Some(ChatKind::Private {
                first_name,
                language_code,
            }) => (first_name.clone(), language_code.clone()),
            _ => (format!("User{user_id}"), "en".to_owned()),
        };
        json!({"id": user_id, "is_bot": false, "first_name": first_name, "language_code": language_code})
    }

    pub(crate) fn chat_json(&self, chat_id: i64) -> Value {
        self.chats
            .get(&chat_id)
            .map(ChatInfo::json)
            .unwrap_or_else(|| json!({"id": chat_id, "type": "private"}))
    }

    pub(crate) fn next_message_id(&mut self, chat_id: i64) -> i64 {
        let chat = self
            .chats
            .get_mut(&chat_id)
            .expect("chat registered before use");
        let id = chat.next_message_id;
        chat.next_message_id += 1;
        id
    }

    /// Stores a file and returns its `file_id`.
    pub(crate) fn store_file(
        &mut self,
        folder: &'static str,
        file_name: Option<String>,
        mime_type: Option<String>,
        content: Content,
        size: u64,
    ) -> String {
        let prefix = match folder {
            "photos" => "AgACAgIAAxkBAA",
            "stickers" => "CAACAgIAAxkBAA",
            _ => "BQACAgIAAxkBAA",
        };
        let file_id = format!("{prefix}{}", random_token(40));
        let unique_id = format!("AgAD{}", random_token(12));
        let sha256_hex = match &content {
            Content::Bytes(bytes) => hex::encode(Sha256::digest(bytes)),
            Content::Synthetic => String::new(),
        };
        self.files.insert(
            file_id.clone(),
            FileEntry {
                file_id: file_id.clone(),
                unique_id,
                size,
                file_name,
                mime_type,
                content,
                sha256_hex,
                folder,
                path: None,
                removed: false,
            },
        );
        file_id
    }

    /// The `Message` object of a stored message.
    pub(crate) fn message_json(&self, chat_id: i64, message_id: i64, bot: &Value) -> Option<Value> {
        let msg = self.messages.get(&(chat_id, message_id))?;
        let mut m = Map::new();
        m.insert("message_id".into(), json!(message_id));
        let from = if msg.from_bot {
            bot.clone()
        } else {
            // In private chats the sender is the chat's user; in groups we keep the sender in `extra`.
            msg.extra
                .get("__from")
                .cloned()
                .unwrap_or_else(|| self.user_json(chat_id))
        };
        m.insert("from".into(), from);
        m.insert("chat".into(), self.chat_json(chat_id));
        m.insert("date".into(), json!(msg.date));
        if let Some(edit_date) = msg.edit_date {
            m.insert("edit_date".into(), json!(edit_date));
        }
        if let Some(text) = &msg.text {
            m.insert("text".into(), json!(text));
            if let Some(entities) = command_entities(text) {
                m.insert("entities".into(), entities);
            }
        }
        if let Some(file_id) = &msg.document
            && let Some(file) = self.files.get(file_id)
        {
            m.insert("document".into(), file.document_json());
        }
        if !msg.photo.is_empty() {
            let sizes: Vec<Value> = msg
                .photo
                .iter()
                .enumerate()
                .filter_map(|(i, id)| {
                    let file = self.files.get(id)?;
                    let mut meta = file.meta();
                    let (w, h) = if i == 0 { (90, 68) } else { (1280, 960) };
                    meta.insert("width".into(), json!(w));
                    meta.insert("height".into(), json!(h));
                    Some(Value::Object(meta))
                })
                .collect();
            m.insert("photo".into(), Value::Array(sizes));
        }
        if let Some(caption) = &msg.caption {
            m.insert("caption".into(), json!(caption));
        }
        for (key, value) in &msg.extra {
            if !key.starts_with("__") {
                m.insert(key.clone(), value.clone());
            }
        }
        // Telegram only ever returns inline keyboards on messages (teloxide's
        // `Message::reply_markup` is an `InlineKeyboardMarkup`).
        if let Some(inline) = msg
            .reply_markup
            .as_ref()
            .and_then(|r| r.get("inline_keyboard"))
            && inline.as_array().is_some_and(|rows| !rows.is_empty())
        {
            m.insert("reply_markup".into(), json!({"inline_keyboard": inline}));
        }
        Some(Value::Object(m))
    }

    /// Adds an update (`{"update_id": n, kind: payload}`) to the queue.
    pub(crate) fn push_update(&mut self, kind: &'static str, payload: Value) -> u32 {
        let id = self.next_update_id;
        self.next_update_id += 1;
        let mut m = Map::new();
        m.insert("update_id".into(), json!(id));
        m.insert(kind.into(), payload);
        let update = PendingUpdate {
            id,
            kind,
            json: Value::Object(m),
        };
        self.sent_updates.insert(id, update.clone());
        self.updates.push_back(update);
        id
    }

    /// Queues the update that carried message `message_id` in `chat_id` once more, with its
    /// own update id, ahead of anything pending. Returns its id.
    pub(crate) fn push_again(&mut self, chat_id: i64, message_id: i64) -> Option<u32> {
        let update = self
            .sent_updates
            .values()
            .find(|update| {
                let message = &update.json[update.kind];
                message["chat"]["id"].as_i64() == Some(chat_id)
                    && message["message_id"].as_i64() == Some(message_id)
            })?
            .clone();
        let id = update.id;
        self.updates.push_front(update);
        Some(id)
    }

    /// `getUpdates`' `offset`: a positive offset confirms every update below
    /// it; a negative one keeps only the last `-offset` updates.
    pub(crate) fn confirm(&mut self, offset: i64) {
        if offset > 0 {
            while self
                .updates
                .front()
                .is_some_and(|u| i64::from(u.id) < offset)
            {
                self.updates.pop_front();
            }
        } else if offset < 0 {
            let keep = usize::try_from(offset.unsigned_abs()).unwrap_or(usize::MAX);
            while self.updates.len() > keep {
                self.updates.pop_front();
            }
        }
    }

    /// Drops queued updates of kinds the bot did not ask for.
    pub(crate) fn drop_unwanted(&mut self) {
        if let Some(allowed) = &self.allowed_updates {
            let allowed = allowed.clone();
            self.updates.retain(|u| allowed.iter().any(|a| a == u.kind));
        }
    }

    /// Up to `limit` queued updates, oldest first (they stay queued until confirmed).
    pub(crate) fn batch(&mut self, limit: usize) -> Vec<Value> {
        self.drop_unwanted();
        self.updates
            .iter()
            .take(limit)
            .map(|u| u.json.clone())
            .collect()
    }

    pub(crate) fn record_sent(&mut self, entry: SentMessage) {
        self.log.entry(entry.chat_id).or_default().push(entry);
    }

    /// The log entry for a stored bot message.
    pub(crate) fn sent_entry(
        &self,
        chat_id: i64,
        message_id: i64,
        edited: bool,
    ) -> Option<SentMessage> {
        let msg = self.messages.get(&(chat_id, message_id))?;
        let document = msg
            .document
            .as_ref()
            .and_then(|id| self.files.get(id))
            .map(|f| SentDocument {
                file_name: f.file_name.clone().unwrap_or_else(|| "document".to_owned()),
                size: f.size,
                sha256_hex: f.sha256_hex.clone(),
            });
        Some(SentMessage {
            message_id,
            chat_id,
            text: msg.text.clone(),
            caption: msg.caption.clone(),
            reply_markup: msg.reply_markup.clone(),
            document,
            photo: !msg.photo.is_empty(),
            edited,
            at: Instant::now(),
        })
    }
}

/// Telegram marks a leading `/command` as a `bot_command` entity (offsets in UTF-16 units).
fn command_entities(text: &str) -> Option<Value> {
    if !text.starts_with('/') {
        return None;
    }
    let command = text.split(char::is_whitespace).next().unwrap_or("");
    if command.len() < 2 {
        return None;
    }
    let length = command.encode_utf16().count();
    Some(json!([{"type": "bot_command", "offset": 0, "length": length}]))
}

pub(crate) fn random_token(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

pub(crate) fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A Telegram-like MIME type from a file name, for documents sent without one.
pub(crate) fn guess_mime(file_name: &str) -> &'static str {
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "txt" | "log" => "text/plain",
        "csv" => "text/csv",
        "json" => "application/json",
        "zip" => "application/zip",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "mp4" => "video/mp4",
        "mp3" => "audio/mpeg",
        _ => "application/octet-stream",
    }
}

/// The bytes of a synthetic file: byte `i` is `i % 251`.
pub(crate) fn synthetic_chunk(start: u64, len: usize) -> Bytes {
    (0..len as u64)
        .map(|i| ((start + i) % 251) as u8)
        .collect::<Vec<u8>>()
        .into()
}
