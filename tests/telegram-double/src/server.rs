//! HTTP routing: the Bot API (`/bot<token>/<method>`), file downloads
//! (`/file/bot<token>/<file_path>`) and the control API under `/_double/`
//! for black-box use and local runs.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::stream;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{self, ApiError};
use crate::params::{self, InputFile, percent_decode};
use crate::records::SentMessage;
use crate::state::{Content, Shared, synthetic_chunk};
use crate::user::SimUser;

/// Room for the non-file fields of a multipart upload.
const FORM_SLACK: u64 = 1024 * 1024;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/_double/users/{user_id}/text", post(control_text))
        .route("/_double/users/{user_id}/document", post(control_document))
        .route("/_double/users/{user_id}/press", post(control_press))
        .route("/_double/users/{user_id}/block", post(control_block))
        .route("/_double/users/{user_id}/unblock", post(control_unblock))
        .route("/_double/chats/{chat_id}/messages", get(control_messages))
        .route("/_double/callback_answers", get(control_callback_answers))
        .route("/_double/stats", get(control_stats))
        .fallback(bot_api)
        // Upload limits are Telegram's, enforced in `params::read_limited`, not axum's 2 MB default.
        .layer(DefaultBodyLimit::disable())
        .with_state(shared)
}

fn answer(result: Result<Value, ApiError>) -> Response {
    match result {
        Ok(value) => Json(json!({"ok": true, "result": value})).into_response(),
        Err(err) => {
            let status = StatusCode::from_u16(err.code).unwrap_or(StatusCode::BAD_REQUEST);
            (status, Json(err.body())).into_response()
        }
    }
}

/// Everything that is not a control route: Bot API calls and file downloads.
async fn bot_api(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    if let Some(rest) = path.strip_prefix("/file/") {
        return download(&shared, req.method(), rest).await;
    }
    let Some((token_segment, method)) = path.trim_start_matches('/').split_once('/') else {
        return answer(Err(ApiError::not_found()));
    };
    let Some(token) = percent_decode(token_segment)
        .strip_prefix("bot")
        .map(str::to_owned)
    else {
        return answer(Err(ApiError::not_found()));
    };
    if token != shared.config.token {
        return answer(Err(ApiError::unauthorized()));
    }
    if method.is_empty()
        || method.contains('/')
        || !(req.method() == Method::POST || req.method() == Method::GET)
    {
        return answer(Err(ApiError::method_not_found()));
    }
    let method = percent_decode(method);
    let max_body = shared
        .config
        .max_upload_bytes
        .max(shared.config.max_photo_bytes)
        + FORM_SLACK;
    let params = match params::extract(req, max_body).await {
        Ok(params) => params,
        Err(err) => return answer(Err(err)),
    };
    tracing::debug!(%method, "bot api call");
    answer(api::call(&shared, &method, params).await)
}

/// `GET /file/bot<token>/<file_path>` (teloxide sends the path as one
/// percent-encoded segment: `documents%2Ffile_1.pdf`).
async fn download(shared: &Shared, method: &Method, rest: &str) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return answer(Err(ApiError::not_found()));
    }
    let Some((token_segment, file_path)) = rest.split_once('/') else {
        return answer(Err(ApiError::not_found()));
    };
    if percent_decode(token_segment).strip_prefix("bot") != Some(shared.config.token.as_str()) {
        return answer(Err(ApiError::unauthorized()));
    }
    let file_path = percent_decode(file_path);
    let file = {
        let st = shared.lock();
        st.file_paths
            .get(&file_path)
            .and_then(|id| st.files.get(id))
            .filter(|f| !f.removed)
            .cloned()
    };
    let Some(file) = file else {
        return answer(Err(ApiError::not_found()));
    };
    let body = match file.content {
        Content::Bytes(bytes) => Body::from(bytes),
        Content::Synthetic => {
            const CHUNK: u64 = 64 * 1024;
            let size = file.size;
            let chunks = stream::iter((0..size.div_ceil(CHUNK)).map(move |i| {
                let start = i * CHUNK;
                let len = CHUNK.min(size - start) as usize;
                Ok::<_, std::io::Error>(synthetic_chunk(start, len))
            }));
            Body::from_stream(chunks)
        }
    };
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, file.size)
        .body(body)
        .expect("valid response")
}

// ------------------------------------------------------------- control API

fn sim_user(shared: &Arc<Shared>, user_id: i64) -> SimUser {
    shared.lock().register_private(user_id, None, None);
    SimUser {
        shared: shared.clone(),
        user_id,
        chat_id: user_id,
    }
}

#[derive(Deserialize)]
struct TextBody {
    text: String,
}

async fn control_text(
    State(shared): State<Arc<Shared>>,
    Path(user_id): Path<i64>,
    Json(body): Json<TextBody>,
) -> Response {
    let message_id = sim_user(&shared, user_id).send_text(&body.text);
    Json(json!({"ok": true, "message_id": message_id})).into_response()
}

/// Multipart: a file part (any name; `file` preferred), optional `caption` and `mime_type` fields.
async fn control_document(
    State(shared): State<Arc<Shared>>,
    Path(user_id): Path<i64>,
    req: Request,
) -> Response {
    let params = match params::extract(req, u64::MAX).await {
        Ok(params) => params,
        Err(err) => return answer(Err(err)),
    };
    let upload = match params.input_file("file") {
        Some(InputFile::Upload(upload)) => upload,
        _ => match params.files.values().next() {
            Some(upload) => upload.clone(),
            None => {
                return answer(Err(ApiError::bad_request(
                    "there is no file part in the request",
                )));
            }
        },
    };
    let name = upload
        .file_name
        .clone()
        .unwrap_or_else(|| "document".to_owned());
    let mime = params
        .str("mime_type")
        .or(upload.content_type.clone())
        .unwrap_or_default();
    let caption = params.str("caption");
    let message_id = sim_user(&shared, user_id).send_document(
        &name,
        &mime,
        upload.bytes.to_vec(),
        caption.as_deref(),
    );
    Json(json!({"ok": true, "message_id": message_id})).into_response()
}

#[derive(Deserialize)]
struct PressBody {
    message_id: i64,
    data: String,
}

async fn control_press(
    State(shared): State<Arc<Shared>>,
    Path(user_id): Path<i64>,
    Json(body): Json<PressBody>,
) -> Response {
    let id = sim_user(&shared, user_id).press_button(body.message_id, &body.data);
    Json(json!({"ok": true, "callback_query_id": id})).into_response()
}

async fn control_block(State(shared): State<Arc<Shared>>, Path(user_id): Path<i64>) -> Response {
    sim_user(&shared, user_id).block_bot();
    Json(json!({"ok": true})).into_response()
}

async fn control_unblock(State(shared): State<Arc<Shared>>, Path(user_id): Path<i64>) -> Response {
    sim_user(&shared, user_id).unblock_bot();
    Json(json!({"ok": true})).into_response()
}

pub(crate) fn sent_message_json(started: Instant, m: &SentMessage) -> Value {
    json!({
        "message_id": m.message_id,
        "chat_id": m.chat_id,
        "text": m.text,
        "caption": m.caption,
        "reply_markup": m.reply_markup,
        "document": m.document.as_ref().map(|d| json!({
            "file_name": d.file_name, "size": d.size, "sha256_hex": d.sha256_hex,
        })),
        "photo": m.photo,
        "edited": m.edited,
        "at_ms": m.at.saturating_duration_since(started).as_millis() as u64,
    })
}

async fn control_messages(State(shared): State<Arc<Shared>>, Path(chat_id): Path<i64>) -> Response {
    let st = shared.lock();
    let list: Vec<Value> = st
        .log
        .get(&chat_id)
        .map(|log| {
            log.iter()
                .map(|m| sent_message_json(shared.started, m))
                .collect()
        })
        .unwrap_or_default();
    Json(Value::Array(list)).into_response()
}

async fn control_callback_answers(State(shared): State<Arc<Shared>>) -> Response {
    let st = shared.lock();
    let list: Vec<Value> = st
        .callback_answers
        .iter()
        .map(|a| json!({"callback_query_id": a.callback_query_id, "text": a.text, "show_alert": a.show_alert}))
        .collect();
    Json(Value::Array(list)).into_response()
}

async fn control_stats(State(shared): State<Arc<Shared>>) -> Response {
    let st = shared.lock();
    let s = &st.stats;
    let send_times: serde_json::Map<String, Value> = s
        .send_times
        .iter()
        .map(|(chat, times)| {
            let ms: Vec<u64> = times
                .iter()
                .map(|t| t.saturating_duration_since(shared.started).as_millis() as u64)
                .collect();
            (chat.to_string(), json!(ms))
        })
        .collect();
    Json(json!({
        "sent_ok": s.sent_ok,
        "too_many_requests": s.too_many_requests,
        "forbidden": s.forbidden,
        "server_errors": s.server_errors,
        "bad_requests": s.bad_requests,
        "calls": s.calls,
        "send_times_ms": send_times,
        "pending_updates": st.updates.len(),
        "webhook": st.webhook.as_ref().map(|w| json!({"url": w.url, "has_secret": w.secret.is_some()})),
    }))
    .into_response()
}
