//! The Bot API methods: what each one checks, answers and records, with
//! Telegram's error descriptions (teloxide maps several of them to typed
//! `ApiError`s by their exact text).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::time::sleep_until;

use crate::limits::retry_after_secs;
use crate::params::{InputFile, Params, Upload};
use crate::records::Fault;
use crate::state::{Content, Shared, State, StoredMessage, Webhook, guess_mime, unix_now};

/// A failed call: HTTP status, `description`, and `retry_after` for 429s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub code: u16,
    pub description: String,
    pub retry_after: Option<u32>,
}

impl ApiError {
    fn new(code: u16, description: impl Into<String>) -> Self {
        ApiError {
            code,
            description: description.into(),
            retry_after: None,
        }
    }
    pub(crate) fn bad_request(what: impl AsRef<str>) -> Self {
        Self::new(400, format!("Bad Request: {}", what.as_ref()))
    }
    pub(crate) fn unauthorized() -> Self {
        Self::new(401, "Unauthorized")
    }
    pub(crate) fn blocked() -> Self {
        Self::new(403, "Forbidden: bot was blocked by the user")
    }
    pub(crate) fn method_not_found() -> Self {
        Self::new(404, "Not Found: method not found")
    }
    pub(crate) fn not_found() -> Self {
        Self::new(404, "Not Found")
    }
    pub(crate) fn entity_too_large() -> Self {
        Self::new(413, "Request Entity Too Large")
    }
    pub(crate) fn too_many_requests(retry_after: u32) -> Self {
        ApiError {
            code: 429,
            description: format!("Too Many Requests: retry after {retry_after}"),
            retry_after: Some(retry_after),
        }
    }
    pub(crate) fn bad_gateway() -> Self {
        Self::new(502, "Bad Gateway")
    }

    /// The answer body: `{"ok":false,"error_code":…,"description":…[,"parameters":{"retry_after":…}]}`.
    pub(crate) fn body(&self) -> Value {
        let mut body =
            json!({"ok": false, "error_code": self.code, "description": self.description});
        if let Some(retry_after) = self.retry_after {
            body["parameters"] = json!({"retry_after": retry_after});
        }
        body
    }
}

const TEXT_LIMIT: usize = 4096;
const CAPTION_LIMIT: usize = 1024;
const CONFLICT_OTHER_POLL: &str = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running";
const CONFLICT_WEBHOOK: &str = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first";

/// Runs one Bot API call (`method` as the client wrote it) and keeps the counters.
pub(crate) async fn call(
    shared: &Arc<Shared>,
    method: &str,
    params: Params,
) -> Result<Value, ApiError> {
    let lower = method.to_ascii_lowercase();
    {
        let mut st = shared.lock();
        *st.stats.calls.entry(canonical_name(method)).or_default() += 1;
    }
    let result = if lower == "getupdates" {
        get_updates(shared, &params).await
    } else {
        let result = {
            let mut st = shared.lock();
            call_sync(shared, &mut st, &lower, &params)
        };
        shared.bump_messages();
        shared.bump_updates();
        result
    };
    if let Err(err) = &result {
        let mut st = shared.lock();
        match err.code {
            400 => st.stats.bad_requests += 1,
            403 => st.stats.forbidden += 1,
            429 => st.stats.too_many_requests += 1,
            500..=599 => st.stats.server_errors += 1,
            _ => {}
        }
    }
    result
}

/// Telegram's spelling of a method name: teloxide writes `SendMessage`, the docs `sendMessage`.
fn canonical_name(method: &str) -> String {
    let mut chars = method.chars();
    chars
        .next()
        .map(|first| first.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn call_sync(shared: &Shared, st: &mut State, method: &str, p: &Params) -> Result<Value, ApiError> {
    match method {
        "getme" => Ok(shared.me()),
        "sendmessage" => send_message(shared, st, p),
        "senddocument" => send_document(shared, st, p),
        "sendphoto" => send_photo(shared, st, p),
        "editmessagetext" => edit_message(shared, st, p, Edit::Text),
        "editmessagecaption" => edit_message(shared, st, p, Edit::Caption),
        "editmessagereplymarkup" => edit_message(shared, st, p, Edit::Markup),
        "deletemessage" => delete_message(st, p),
        "answercallbackquery" => answer_callback_query(st, p),
        "sendinvoice" => send_invoice(shared, st, p),
        "answerprecheckoutquery" => answer_pre_checkout_query(shared, st, p),
        "getfile" => get_file(shared, st, p),
        "sendchataction" => {
            let chat_id = p.chat_id()?;
            check_chat(st, chat_id)?;
            if p.str("action").is_none_or(|a| a.is_empty()) {
                return Err(ApiError::bad_request("wrong parameter action in request"));
            }
            Ok(json!(true))
        }
        "setwebhook" => set_webhook(st, p),
        "deletewebhook" => {
            st.webhook = None;
            st.webhook_last_error = None;
            if p.bool("drop_pending_updates") {
                st.updates.clear();
            }
            Ok(json!(true))
        }
        "getwebhookinfo" => Ok(webhook_info(st)),
        "setmycommands" => {
            let commands = p.json("commands")?.unwrap_or_else(|| json!([]));
            if !commands.is_array() {
                return Err(ApiError::bad_request("can't parse commands JSON object"));
            }
            st.commands = commands;
            Ok(json!(true))
        }
        "getmycommands" => Ok(st.commands.clone()),
        "deletemycommands" => {
            st.commands = json!([]);
            Ok(json!(true))
        }
        // Accepted and forgotten: cosmetic settings a bot may make at start-up.
        "setmydescription" | "setmyshortdescription" | "setmyname" | "setchatmenubutton" => {
            Ok(json!(true))
        }
        _ => Err(ApiError::method_not_found()),
    }
}

// ---------------------------------------------------------------- getUpdates

async fn get_updates(shared: &Arc<Shared>, p: &Params) -> Result<Value, ApiError> {
    let offset = p.int("offset")?.unwrap_or(0);
    let limit = p.int("limit")?.unwrap_or(100).clamp(1, 100) as usize;
    let timeout = p.int("timeout")?.unwrap_or(0).max(0) as u64;
    let allowed = match p.json("allowed_updates")? {
        Some(Value::Array(kinds)) => {
            let kinds: Vec<String> = kinds
                .iter()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect();
            Some(if kinds.is_empty() { None } else { Some(kinds) })
        }
        _ => None,
    };

    let (generation, mut rx) = {
        let mut st = shared.lock();
        if st.webhook.is_some() {
            return Err(ApiError::new(409, CONFLICT_WEBHOOK));
        }
        // Like Telegram, a newer getUpdates terminates the one still waiting.
        st.poll_generation += 1;
        let generation = st.poll_generation;
        if let Some(allowed) = allowed {
            st.allowed_updates = allowed;
        }
        st.confirm(offset);
        let batch = st.batch(limit);
        if !batch.is_empty() || timeout == 0 {
            drop(st);
            shared.bump_updates();
            return Ok(Value::Array(batch));
        }
        shared.bump_updates();
        // Subscribed while holding the lock: nothing can change unseen in between.
        (generation, shared.updates_tx.subscribe())
    };

    let wait = Duration::from_secs(timeout).min(shared.config.long_poll_max);
    let deadline = tokio::time::Instant::now() + wait;
    let mut shutdown = shared.shutdown_tx.subscribe();
    loop {
        if *shutdown.borrow_and_update() {
            return Ok(json!([]));
        }
        tokio::select! {
            changed = rx.changed() => if changed.is_err() { return Ok(json!([])) },
            _ = shutdown.changed() => return Ok(json!([])),
            _ = sleep_until(deadline) => return Ok(json!([])),
        }
        let mut st = shared.lock();
        if st.poll_generation != generation {
            return Err(ApiError::new(409, CONFLICT_OTHER_POLL));
        }
        if st.webhook.is_some() {
            return Err(ApiError::new(409, CONFLICT_WEBHOOK));
        }
        let batch = st.batch(limit);
        if !batch.is_empty() {
            return Ok(Value::Array(batch));
        }
    }
}

// ------------------------------------------------------------------ webhook

fn set_webhook(st: &mut State, p: &Params) -> Result<Value, ApiError> {
    let url = p.str("url").unwrap_or_default();
    if p.bool("drop_pending_updates") {
        st.updates.clear();
    }
    if let Some(Value::Array(kinds)) = p.json("allowed_updates")? {
        let kinds: Vec<String> = kinds
            .iter()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect();
        st.allowed_updates = if kinds.is_empty() { None } else { Some(kinds) };
    }
    if url.is_empty() {
        st.webhook = None;
        return Ok(json!(true));
    }
    // Telegram wants HTTPS on ports 443/80/88/8443; a local double takes plain HTTP anywhere.
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ApiError::bad_request(
            "bad webhook: An HTTPS URL must be provided for webhook",
        ));
    }
    let secret = p.str("secret_token").filter(|s| !s.is_empty());
    if let Some(secret) = &secret
        && (secret.len() > 256
            || !secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
    {
        return Err(ApiError::bad_request(
            "secret token contains unallowed characters",
        ));
    }
    let max_connections = p.int("max_connections")?.unwrap_or(40).clamp(1, 100) as u32;
    st.webhook = Some(Webhook {
        url,
        secret,
        max_connections,
    });
    st.webhook_last_error = None;
    Ok(json!(true))
}

fn webhook_info(st: &State) -> Value {
    let mut info = json!({
        "url": st.webhook.as_ref().map(|w| w.url.clone()).unwrap_or_default(),
        "has_custom_certificate": false,
        "pending_update_count": st.updates.len(),
    });
    if let Some(webhook) = &st.webhook {
        info["ip_address"] = json!("127.0.0.1");
        info["max_connections"] = json!(webhook.max_connections);
        if let Some((date, message)) = &st.webhook_last_error {
            info["last_error_date"] = json!(date);
            info["last_error_message"] = json!(message);
        }
    }
    info
}

// ------------------------------------------------------------------ sending

/// Injected faults hit sending calls before anything else.
fn take_fault(st: &mut State) -> Result<(), ApiError> {
    let err = match &mut st.fault {
        Fault::None => return Ok(()),
        Fault::ServerError { remaining } | Fault::TooManyRequests { remaining, .. }
            if *remaining == 0 =>
        {
            None
        }
        Fault::ServerError { remaining } => {
            *remaining -= 1;
            Some(ApiError::bad_gateway())
        }
        Fault::TooManyRequests {
            remaining,
            retry_after,
        } => {
            *remaining -= 1;
            Some(ApiError::too_many_requests((*retry_after).max(1)))
        }
    };
    if matches!(
        st.fault,
        Fault::ServerError { remaining: 0 } | Fault::TooManyRequests { remaining: 0, .. }
    ) {
        st.fault = Fault::None;
    }
    err.map_or(Ok(()), Err)
}

fn check_chat(st: &State, chat_id: i64) -> Result<(), ApiError> {
    match st.chats.get(&chat_id) {
        None => Err(ApiError::bad_request("chat not found")),
        Some(chat) if chat.blocked => Err(ApiError::blocked()),
        Some(_) => Ok(()),
    }
}

fn check_rate(st: &mut State, chat_id: i64) -> Result<(), ApiError> {
    st.limiter
        .try_acquire(chat_id, Instant::now())
        .map_err(|wait| ApiError::too_many_requests(retry_after_secs(wait)))
}

fn count_sent(st: &mut State, chat_id: i64) {
    st.stats.sent_ok += 1;
    st.stats
        .send_times
        .entry(chat_id)
        .or_default()
        .push(Instant::now());
}

fn check_text(text: Option<&str>) -> Result<String, ApiError> {
    let text = text.unwrap_or_default();
    if text.trim().is_empty() {
        return Err(ApiError::bad_request("message text is empty"));
    }
    if text.chars().count() > TEXT_LIMIT {
        return Err(ApiError::bad_request("message is too long"));
    }
    Ok(text.to_owned())
}

fn check_caption(p: &Params) -> Result<Option<String>, ApiError> {
    let caption = p.str("caption").filter(|c| !c.is_empty());
    if caption
        .as_ref()
        .is_some_and(|c| c.chars().count() > CAPTION_LIMIT)
    {
        return Err(ApiError::bad_request("message caption is too long"));
    }
    Ok(caption)
}

/// `reply_markup`: one of Telegram's four markups, with sane inline buttons.
fn check_markup(p: &Params, inline_only: bool) -> Result<Option<Value>, ApiError> {
    let Some(markup) = p.json("reply_markup")? else {
        return Ok(None);
    };
    let Some(obj) = markup.as_object() else {
        return Err(ApiError::bad_request(
            "can't parse reply keyboard markup JSON object",
        ));
    };
    if let Some(rows) = obj.get("inline_keyboard") {
        let rows = rows.as_array().ok_or_else(|| {
            ApiError::bad_request(
                "can't parse inline keyboard button: field \"inline_keyboard\" must be an Array",
            )
        })?;
        for button in rows
            .iter()
            .flat_map(|row| row.as_array().map(Vec::as_slice).unwrap_or_default())
        {
            if button
                .get("text")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err(ApiError::bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
                ));
            }
            if let Some(data) = button.get("callback_data").and_then(Value::as_str)
                && (data.is_empty() || data.len() > 64)
            {
                return Err(ApiError::bad_request("BUTTON_DATA_INVALID"));
            }
        }
        return Ok(Some(markup));
    }
    if inline_only {
        return Err(ApiError::bad_request("inline keyboard expected"));
    }
    if ["keyboard", "remove_keyboard", "force_reply"]
        .iter()
        .any(|k| obj.contains_key(*k))
    {
        return Ok(Some(markup));
    }
    Err(ApiError::bad_request(
        "can't parse reply keyboard markup JSON object",
    ))
}

/// `reply_parameters.message_id` / `reply_to_message_id` must exist unless
/// the bot allows sending without the reply.
fn check_reply(st: &State, chat_id: i64, p: &Params) -> Result<(), ApiError> {
    let (target, lenient) = match p.json("reply_parameters")? {
        Some(params) => (
            params.get("message_id").and_then(Value::as_i64),
            params
                .get("allow_sending_without_reply")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        ),
        None => (
            p.int("reply_to_message_id")?,
            p.bool("allow_sending_without_reply"),
        ),
    };
    match target {
        Some(id) if !lenient && !st.messages.contains_key(&(chat_id, id)) => {
            Err(ApiError::bad_request("message to be replied not found"))
        }
        _ => Ok(()),
    }
}

fn store_bot_message(shared: &Shared, st: &mut State, chat_id: i64, msg: StoredMessage) -> Value {
    let message_id = st.next_message_id(chat_id);
    st.messages.insert((chat_id, message_id), msg);
    let entry = st
        .sent_entry(chat_id, message_id, false)
        .expect("just stored");
    st.record_sent(entry);
    count_sent(st, chat_id);
    st.message_json(chat_id, message_id, &shared.bot_user())
        .expect("just stored")
}

fn bot_message(
    text: Option<String>,
    caption: Option<String>,
    reply_markup: Option<Value>,
) -> StoredMessage {
    StoredMessage {
        from_bot: true,
        date: unix_now(),
        edit_date: None,
        text,
        caption,
        reply_markup,
        document: None,
        photo: Vec::new(),
        extra: Default::default(),
    }
}

fn send_message(shared: &Shared, st: &mut State, p: &Params) -> Result<Value, ApiError> {
    let chat_id = p.chat_id()?;
    take_fault(st)?;
    check_chat(st, chat_id)?;
    let text = check_text(p.str("text").as_deref())?;
    let markup = check_markup(p, false)?;
    check_reply(st, chat_id, p)?;
    check_rate(st, chat_id)?;
    Ok(store_bot_message(
        shared,
        st,
        chat_id,
        bot_message(Some(text), None, markup),
    ))
}

/// A file the bot sends: a fresh upload or a `file_id` it got earlier.
fn resolve_file(
    shared: &Shared,
    st: &State,
    p: &Params,
    key: &str,
    size_limit: u64,
    too_big: fn() -> ApiError,
) -> Result<InputFile, ApiError> {
    let file = p
        .input_file(key)
        .ok_or_else(|| ApiError::bad_request(format!("there is no {key} in the request")))?;
    match &file {
        InputFile::Upload(upload) => {
            let len = upload.bytes.len() as u64;
            if len > shared.config.max_upload_bytes {
                return Err(ApiError::entity_too_large());
            }
            if len > size_limit {
                return Err(too_big());
            }
            if len == 0 {
                return Err(ApiError::bad_request("file must be non-empty"));
            }
        }
        InputFile::Id(id) => {
            if st.files.get(id).is_none_or(|f| f.removed) {
                return Err(ApiError::bad_request(
                    "wrong file identifier/HTTP URL specified",
                ));
            }
        }
    }
    Ok(file)
}

fn upload_name_and_mime(upload: &Upload, fallback: &str) -> (String, String) {
    let name = upload
        .file_name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| fallback.to_owned());
    let mime = upload
        .content_type
        .clone()
        .filter(|m| !m.is_empty() && m != "application/octet-stream")
        .unwrap_or_else(|| guess_mime(&name).to_owned());
    (name, mime)
}

fn send_document(shared: &Shared, st: &mut State, p: &Params) -> Result<Value, ApiError> {
    let chat_id = p.chat_id()?;
    take_fault(st)?;
    check_chat(st, chat_id)?;
    let caption = check_caption(p)?;
    let file = resolve_file(
        shared,
        st,
        p,
        "document",
        shared.config.max_upload_bytes,
        ApiError::entity_too_large,
    )?;
    let markup = check_markup(p, false)?;
    check_reply(st, chat_id, p)?;
    check_rate(st, chat_id)?;
    let file_id = match file {
        InputFile::Id(id) => id,
        InputFile::Upload(upload) => {
            let (name, mime) = upload_name_and_mime(&upload, "document");
            let size = upload.bytes.len() as u64;
            st.store_file(
                "documents",
                Some(name),
                Some(mime),
                Content::Bytes(upload.bytes),
                size,
            )
        }
    };
    let mut msg = bot_message(None, caption, markup);
    msg.document = Some(file_id);
    Ok(store_bot_message(shared, st, chat_id, msg))
}

fn send_photo(shared: &Shared, st: &mut State, p: &Params) -> Result<Value, ApiError> {
    let chat_id = p.chat_id()?;
    take_fault(st)?;
    check_chat(st, chat_id)?;
    let caption = check_caption(p)?;
    let file = resolve_file(
        shared,
        st,
        p,
        "photo",
        shared.config.max_photo_bytes,
        || ApiError::bad_request("PHOTO_SAVE_FILE_INVALID"),
    )?;
    if let InputFile::Id(id) = &file
        && st.files.get(id).is_some_and(|f| f.folder != "photos")
    {
        return Err(ApiError::bad_request(
            "wrong file identifier/HTTP URL specified",
        ));
    }
    let markup = check_markup(p, false)?;
    check_reply(st, chat_id, p)?;
    check_rate(st, chat_id)?;
    let sizes = match file {
        InputFile::Id(id) => vec![id],
        InputFile::Upload(upload) => {
            let size = upload.bytes.len() as u64;
            // Telegram answers with several sizes; the double keeps the upload as each.
            let small = st.store_file(
                "photos",
                None,
                None,
                Content::Bytes(upload.bytes.clone()),
                size,
            );
            let large = st.store_file("photos", None, None, Content::Bytes(upload.bytes), size);
            vec![small, large]
        }
    };
    let mut msg = bot_message(None, caption, markup);
    msg.photo = sizes;
    Ok(store_bot_message(shared, st, chat_id, msg))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Edit {
    Text,
    Caption,
    Markup,
}

fn edit_message(
    shared: &Shared,
    st: &mut State,
    p: &Params,
    edit: Edit,
) -> Result<Value, ApiError> {
    if p.str("inline_message_id").is_some() {
        return Err(ApiError::bad_request("MESSAGE_ID_INVALID"));
    }
    let chat_id = p.chat_id()?;
    let message_id = p.message_id()?;
    if edit != Edit::Markup {
        take_fault(st)?;
    }
    check_chat(st, chat_id)?;
    let Some(old) = st.messages.get(&(chat_id, message_id)).cloned() else {
        return Err(ApiError::bad_request("message to edit not found"));
    };
    if !old.from_bot {
        return Err(ApiError::bad_request("message can't be edited"));
    }
    let markup = check_markup(p, true)?;
    let mut new = old.clone();
    new.reply_markup = markup;
    match edit {
        Edit::Text => {
            if old.text.is_none() {
                return Err(ApiError::bad_request(
                    "there is no text in the message to edit",
                ));
            }
            new.text = Some(check_text(p.str("text").as_deref())?);
        }
        Edit::Caption => {
            if old.text.is_some() {
                return Err(ApiError::bad_request(
                    "there is no caption in the message to edit",
                ));
            }
            new.caption = check_caption(p)?;
        }
        Edit::Markup => {}
    }
    let inline = |m: &Option<Value>| m.as_ref().and_then(|m| m.get("inline_keyboard")).cloned();
    if new.text == old.text
        && new.caption == old.caption
        && inline(&new.reply_markup) == inline(&old.reply_markup)
    {
        return Err(ApiError::bad_request(
            "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
        ));
    }
    if edit != Edit::Markup {
        check_rate(st, chat_id)?;
        count_sent(st, chat_id);
    }
    new.edit_date = Some(unix_now());
    st.messages.insert((chat_id, message_id), new);
    let entry = st.sent_entry(chat_id, message_id, true).expect("stored");
    st.record_sent(entry);
    Ok(st
        .message_json(chat_id, message_id, &shared.bot_user())
        .expect("stored"))
}

fn delete_message(st: &mut State, p: &Params) -> Result<Value, ApiError> {
    let chat_id = p.chat_id()?;
    let message_id = p.message_id()?;
    if !st.chats.contains_key(&chat_id) {
        return Err(ApiError::bad_request("chat not found"));
    }
    if st.messages.remove(&(chat_id, message_id)).is_none() {
        return Err(ApiError::bad_request("message to delete not found"));
    }
    st.deleted.entry(chat_id).or_default().push(message_id);
    Ok(json!(true))
}

fn send_invoice(shared: &Shared, st: &mut State, p: &Params) -> Result<Value, ApiError> {
    let chat_id = p.chat_id()?;
    take_fault(st)?;
    check_chat(st, chat_id)?;
    let (mut invoice, message) = crate::payments::send_invoice(p, chat_id)?;
    check_rate(st, chat_id)?;
    let sent = store_bot_message(shared, st, chat_id, message);
    invoice.message_id = sent["message_id"]
        .as_i64()
        .expect("a stored message has an id");
    st.payments.invoices.push(invoice);
    Ok(sent)
}

/// An approval charges the user: Telegram then posts their `successful_payment` message.
fn answer_pre_checkout_query(
    shared: &Shared,
    st: &mut State,
    p: &Params,
) -> Result<Value, ApiError> {
    take_fault(st)?;
    if let Some(payment) = crate::payments::answer_pre_checkout_query(st, p)? {
        crate::user::post_successful_payment(shared, st, &payment);
    }
    Ok(json!(true))
}

fn answer_callback_query(st: &mut State, p: &Params) -> Result<Value, ApiError> {
    let id = p.str("callback_query_id").unwrap_or_default();
    match st.callback_queries.get_mut(&id) {
        Some(answered) if !*answered => *answered = true,
        _ => {
            return Err(ApiError::bad_request(
                "query is too old and response timeout expired or query id is invalid",
            ));
        }
    }
    st.callback_answers.push(crate::records::CallbackAnswer {
        callback_query_id: id,
        text: p.str("text").filter(|t| !t.is_empty()),
        show_alert: p.bool("show_alert"),
    });
    Ok(json!(true))
}

fn get_file(shared: &Shared, st: &mut State, p: &Params) -> Result<Value, ApiError> {
    let file_id = p.str("file_id").unwrap_or_default();
    let max = shared.config.max_download_bytes;
    let next_no = st.next_file_no;
    let Some(file) = st.files.get_mut(&file_id).filter(|f| !f.removed) else {
        return Err(ApiError::bad_request("invalid file_id"));
    };
    if file.size > max {
        return Err(ApiError::bad_request("file is too big"));
    }
    let mut assigned = None;
    if file.path.is_none() {
        let ext = match (
            file.folder,
            file.file_name.as_deref().and_then(|n| n.rsplit_once('.')),
        ) {
            (_, Some((_, ext))) if !ext.is_empty() && ext.len() <= 8 => ext.to_ascii_lowercase(),
            ("photos", _) => "jpg".to_owned(),
            ("stickers", _) => "webp".to_owned(),
            _ => "bin".to_owned(),
        };
        let path = format!("{}/file_{next_no}.{ext}", file.folder);
        file.path = Some(path.clone());
        assigned = Some(path);
    }
    let mut answer = file.meta();
    answer.insert(
        "file_path".into(),
        json!(file.path.clone().expect("set above")),
    );
    if let Some(path) = assigned {
        st.next_file_no += 1;
        st.file_paths.insert(path, file_id);
    }
    Ok(Value::Object(answer))
}
