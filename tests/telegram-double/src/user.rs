//! A simulated Telegram user: everything they do becomes an update in the
//! bot's queue (messages, files, button presses, blocking the bot).

use std::sync::Arc;

use bytes::Bytes;
use rand::Rng;
use serde_json::{Map, Value, json};

use crate::payments::Payment;
use crate::state::{Content, Shared, State, StoredMessage, guess_mime, unix_now};

/// A user talking to the bot. By default in their private chat (chat id ==
/// user id); [`SimUser::in_chat`] gives the same user writing in a group.
#[derive(Clone)]
pub struct SimUser {
    pub(crate) shared: Arc<Shared>,
    pub(crate) user_id: i64,
    pub(crate) chat_id: i64,
}

impl std::fmt::Debug for SimUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimUser")
            .field("user_id", &self.user_id)
            .field("chat_id", &self.chat_id)
            .finish()
    }
}

impl SimUser {
    /// The user's id (also their private chat's id).
    pub fn id(&self) -> i64 {
        self.user_id
    }

    /// The chat this handle writes in.
    pub fn chat_id(&self) -> i64 {
        self.chat_id
    }

    /// The same user writing in group `chat_id` (a negative id; the group is
    /// registered if new).
    pub fn in_chat(&self, chat_id: i64) -> SimUser {
        assert!(chat_id < 0, "group chat ids are negative");
        self.shared.lock().register_group(chat_id, None);
        SimUser {
            shared: self.shared.clone(),
            user_id: self.user_id,
            chat_id,
        }
    }

    /// Sends a text message; returns its `message_id`.
    pub fn send_text(&self, text: &str) -> i64 {
        self.send(|_, msg| msg.text = Some(text.to_owned()))
    }

    /// Sends a document with these bytes (`file_size` is their length).
    pub fn send_document(
        &self,
        file_name: &str,
        mime_type: &str,
        bytes: Vec<u8>,
        caption: Option<&str>,
    ) -> i64 {
        let size = bytes.len() as u64;
        self.send_file_message(
            file_name,
            mime_type,
            Content::Bytes(Bytes::from(bytes)),
            size,
            caption,
            None,
        )
    }

    /// Sends a document of `declared_size` bytes without holding them: `getFile`
    /// refuses it when over the download limit; under it, downloads stream a
    /// fixed pattern of that length.
    pub fn send_document_sized(
        &self,
        file_name: &str,
        mime_type: &str,
        declared_size: u64,
        caption: Option<&str>,
    ) -> i64 {
        self.send_file_message(
            file_name,
            mime_type,
            Content::Synthetic,
            declared_size,
            caption,
            None,
        )
    }

    /// Sends a photo; the message carries two sizes (a thumbnail and the full one).
    pub fn send_photo(&self, bytes: Vec<u8>, caption: Option<&str>) -> i64 {
        let bytes = Bytes::from(bytes);
        let size = bytes.len() as u64;
        self.send(|st, msg| {
            let small = st.store_file("photos", None, None, Content::Bytes(bytes.clone()), size);
            let large = st.store_file("photos", None, None, Content::Bytes(bytes), size);
            msg.photo = vec![small, large];
            msg.caption = caption.map(str::to_owned);
        })
    }

    /// Sends several documents as one album: one message each, sharing a
    /// `media_group_id`; the caption rides on the first, as in Telegram.
    pub fn send_media_group(
        &self,
        items: Vec<(String, String, Vec<u8>)>,
        caption: Option<&str>,
    ) -> Vec<i64> {
        let group_id = {
            let mut st = self.shared.lock();
            st.next_media_group += 1;
            st.next_media_group.to_string()
        };
        items
            .into_iter()
            .enumerate()
            .map(|(i, (name, mime, bytes))| {
                let size = bytes.len() as u64;
                let caption = if i == 0 { caption } else { None };
                self.send_file_message(
                    &name,
                    &mime,
                    Content::Bytes(Bytes::from(bytes)),
                    size,
                    caption,
                    Some(&group_id),
                )
            })
            .collect()
    }

    /// Shares a contact card of this very user (`contact.user_id` == [`SimUser::id`]).
    pub fn send_contact(&self, phone: &str) -> i64 {
        let user_id = self.user_id;
        self.send(|st, msg| {
            let first_name = st.user_json(user_id)["first_name"].clone();
            msg.extra.insert(
                "contact".into(),
                json!({"phone_number": phone, "first_name": first_name, "user_id": user_id}),
            );
        })
    }

    /// Sends a (regular, static) sticker.
    pub fn send_sticker(&self) -> i64 {
        self.send(|st, msg| {
            let bytes = Bytes::from_static(b"RIFF\x1a\x00\x00\x00WEBPVP8 sticker");
            let size = bytes.len() as u64;
            let file_id = st.store_file(
                "stickers",
                Some("sticker.webp".into()),
                Some("image/webp".into()),
                Content::Bytes(bytes),
                size,
            );
            let mut sticker = st.files[&file_id].meta();
            for (key, value) in [
                ("width", json!(512)),
                ("height", json!(512)),
                ("type", json!("regular")),
                ("is_animated", json!(false)),
                ("is_video", json!(false)),
                ("emoji", json!("👍")),
                ("set_name", json!("BureauTestStickers")),
            ] {
                sticker.insert(key.into(), value);
            }
            msg.extra.insert("sticker".into(), Value::Object(sticker));
        })
    }

    /// Shares a location.
    pub fn send_location(&self, lat: f64, lon: f64) -> i64 {
        self.send(|_, msg| {
            msg.extra.insert(
                "location".into(),
                json!({"latitude": lat, "longitude": lon}),
            );
        })
    }

    /// Presses an inline button of message `message_id` with this
    /// `callback_data`; returns the callback query id the bot must answer.
    /// The query carries the message as it is now (or, if it is gone, as
    /// an inaccessible message, `date` 0, as Telegram does).
    pub fn press_button(&self, message_id: i64, data: &str) -> String {
        let query_id = rand::rng()
            .random_range(1_000_000_000_000_000u64..9_000_000_000_000_000)
            .to_string();
        {
            let mut st = self.shared.lock();
            let bot = self.shared.bot_user();
            let message = st.message_json(self.chat_id, message_id, &bot).unwrap_or_else(|| {
                json!({"message_id": message_id, "chat": st.chat_json(self.chat_id), "date": 0})
            });
            let query = json!({
                "id": query_id,
                "from": st.user_json(self.user_id),
                "message": message,
                "chat_instance": format!("{}", self.chat_id.unsigned_abs().wrapping_mul(7_919) + 424_242),
                "data": data,
            });
            st.callback_queries.insert(query_id.clone(), false);
            st.push_update("callback_query", query);
        }
        self.shared.bump_updates();
        query_id
    }

    /// Presses "Pay" under the invoice message `message_id` and confirms the payment
    /// form: the bot gets a `pre_checkout_query`; returns its id. Telegram charges only if
    /// the bot approves it within [`PRE_CHECKOUT_WINDOW`](crate::PRE_CHECKOUT_WINDOW).
    pub fn pay(&self, message_id: i64) -> String {
        let id = {
            let mut st = self.shared.lock();
            let invoice = st
                .payments
                .invoices
                .iter()
                .find(|i| i.chat_id == self.chat_id && i.message_id == message_id)
                .cloned()
                .unwrap_or_else(|| panic!("no invoice #{message_id} in chat {}", self.chat_id));
            crate::payments::ask_pre_checkout(&mut st, self.user_id, invoice)
        };
        self.shared.bump_updates();
        id
    }

    /// Pays `invoice` although it was sent to another chat: a forwarded invoice keeps its
    /// Pay button, and anyone can press it. Returns the `pre_checkout_query` id.
    pub fn pay_forwarded(&self, invoice: &crate::SentInvoice) -> String {
        let id = {
            let mut st = self.shared.lock();
            crate::payments::ask_pre_checkout(&mut st, self.user_id, invoice.clone())
        };
        self.shared.bump_updates();
        id
    }

    /// Delivers `payment`'s `successful_payment` message again, as a new message (Telegram
    /// may deliver a service message twice, e.g. across a webhook retry gone wrong).
    pub fn repeat_successful_payment(&self, payment: &Payment) {
        {
            let mut st = self.shared.lock();
            post_successful_payment(&self.shared, &mut st, payment);
        }
        self.shared.bump_updates();
    }

    /// Blocks the bot: its sends here get 403 "Forbidden: bot was blocked by
    /// the user", and the bot gets a `my_chat_member` update (status `kicked`).
    pub fn block_bot(&self) {
        self.set_blocked(true);
    }

    /// Unblocks the bot (a `my_chat_member` update back to `member`).
    pub fn unblock_bot(&self) {
        self.set_blocked(false);
    }

    /// Makes a file vanish: `getFile` then answers 400 "Bad Request: invalid
    /// file_id" and its download path is gone.
    pub fn remove_file(&self, file_id: &str) {
        let mut st = self.shared.lock();
        if let Some(file) = st.files.get_mut(file_id) {
            file.removed = true;
            if let Some(path) = file.path.take() {
                st.file_paths.remove(&path);
            }
        }
    }

    /// The `file_id`s carried by message `message_id` of this chat (the
    /// document, or each photo size, or the sticker).
    pub fn file_ids(&self, message_id: i64) -> Vec<String> {
        let st = self.shared.lock();
        let Some(msg) = st.messages.get(&(self.chat_id, message_id)) else {
            return Vec::new();
        };
        let mut ids: Vec<String> = msg
            .document
            .iter()
            .chain(msg.photo.iter())
            .cloned()
            .collect();
        if let Some(id) = msg
            .extra
            .get("sticker")
            .and_then(|s| s.get("file_id"))
            .and_then(Value::as_str)
        {
            ids.push(id.to_owned());
        }
        ids
    }

    fn set_blocked(&self, blocked: bool) {
        let changed = {
            let mut st = self.shared.lock();
            let Some(chat) = st.chats.get_mut(&self.user_id) else {
                return;
            };
            if chat.blocked == blocked {
                false
            } else {
                chat.blocked = blocked;
                push_member_update(&self.shared, &mut st, self.user_id, blocked);
                true
            }
        };
        if changed {
            self.shared.bump_updates();
        }
    }

    fn send_file_message(
        &self,
        file_name: &str,
        mime_type: &str,
        content: Content,
        size: u64,
        caption: Option<&str>,
        media_group: Option<&str>,
    ) -> i64 {
        let mime = if mime_type.is_empty() {
            guess_mime(file_name)
        } else {
            mime_type
        };
        self.send(|st, msg| {
            let file_id = st.store_file(
                "documents",
                Some(file_name.to_owned()),
                Some(mime.to_owned()),
                content,
                size,
            );
            msg.document = Some(file_id);
            msg.caption = caption.map(str::to_owned);
            if let Some(group) = media_group {
                msg.extra.insert("media_group_id".into(), json!(group));
            }
        })
    }

    /// Stores a new user message built by `fill` and queues it as a `message` update.
    fn send(&self, fill: impl FnOnce(&mut State, &mut StoredMessage)) -> i64 {
        let message_id = {
            let mut st = self.shared.lock();
            // Writing to a bot you blocked means pressing "Restart": it unblocks it first.
            if self.chat_id == self.user_id
                && st.chats.get(&self.user_id).is_some_and(|c| c.blocked)
            {
                st.chats.get_mut(&self.user_id).expect("checked").blocked = false;
                push_member_update(&self.shared, &mut st, self.user_id, false);
            }
            let mut msg = StoredMessage {
                from_bot: false,
                date: unix_now(),
                edit_date: None,
                text: None,
                caption: None,
                reply_markup: None,
                document: None,
                photo: Vec::new(),
                extra: Map::new(),
            };
            if self.chat_id != self.user_id {
                msg.extra
                    .insert("__from".into(), st.user_json(self.user_id));
            }
            fill(&mut st, &mut msg);
            let message_id = st.next_message_id(self.chat_id);
            st.messages.insert((self.chat_id, message_id), msg);
            let json = st
                .message_json(self.chat_id, message_id, &self.shared.bot_user())
                .expect("just stored");
            st.push_update("message", json);
            message_id
        };
        self.shared.bump_updates();
        message_id
    }
}

/// The user's `successful_payment` service message, as Telegram posts it once it charged.
pub(crate) fn post_successful_payment(shared: &Shared, st: &mut State, payment: &Payment) {
    let chat_id = payment.chat_id;
    let mut extra = Map::new();
    extra.insert("successful_payment".into(), payment.json());
    let msg = StoredMessage {
        from_bot: false,
        date: unix_now(),
        edit_date: None,
        text: None,
        caption: None,
        reply_markup: None,
        document: None,
        photo: Vec::new(),
        extra,
    };
    let message_id = st.next_message_id(chat_id);
    st.messages.insert((chat_id, message_id), msg);
    let json = st
        .message_json(chat_id, message_id, &shared.bot_user())
        .expect("just stored");
    st.push_update("message", json);
}

/// The `my_chat_member` update Telegram sends when a user blocks or unblocks the bot.
fn push_member_update(shared: &Shared, st: &mut State, user_id: i64, blocked: bool) {
    let bot = shared.bot_user();
    let member = json!({"user": bot, "status": "member"});
    let kicked = json!({"user": bot, "status": "kicked", "until_date": 0});
    let (old, new) = if blocked {
        (member, kicked)
    } else {
        (kicked, member)
    };
    let update = json!({
        "chat": st.chat_json(user_id),
        "from": st.user_json(user_id),
        "date": unix_now(),
        "old_chat_member": old,
        "new_chat_member": new,
    });
    st.push_update("my_chat_member", update);
}
