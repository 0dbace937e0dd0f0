//! `Idempotency-Key` on POSTs that create something (an order, a status change): a client
//! that retries after a lost answer gets the first answer again instead of a second order.
//! The back office's payment and refund forms claim the same way with the submission id
//! their page carries (`office::money`: [`IdempotencyKey::new`], and [`release`] for a form
//! refused before anything was done).
//!
//! Modelled on zero-to-production's idempotency module: keys are per account; the first
//! request claims the key in MySQL (`idempotency_keys`) before doing the work and stores
//! status, headers and body of its answer afterwards. A repeat with the same key and the
//! same request gets that stored answer (marked `Idempotent-Replayed: true`); with another
//! request, 422; while the first is still being handled, 409 `request_in_progress` with
//! `Retry-After`. Answers meaning "try again" (5xx: broker or store down) are not stored:
//! the key is released so the retry really retries.
//!
//! A claim whose request died before answering (the process was killed) is taken over
//! after [`ABANDONED_AFTER_SECS`]; the claim keeps what the first attempt reserved (for an
//! order: its events and its answer), so the takeover redoes the same order rather than a
//! new one.
//!
//! The module speaks HTTP (headers, responses) but knows nothing of the API's error type:
//! its own errors ([`InvalidKey`], [`AnswerTooLarge`]) are turned into answers by the
//! `http` module, like any other error.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::{MySqlPool, Row};
use uuid::Uuid;

pub const HEADER: HeaderName = HeaderName::from_static("idempotency-key");
const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// A claim older than this with no answer belongs to a request that died.
pub const ABANDONED_AFTER_SECS: u32 = 30;
/// Stored answers are small JSON documents; anything bigger is not kept.
const MAX_STORED_BODY: usize = 64 * 1024;
const RETRY_AFTER_SECS: u32 = 2;

/// A client's key: 1 to 255 visible ASCII characters (a UUID is typical).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

/// The request's `Idempotency-Key` is not one we accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Idempotency-Key must be 1 to 255 visible ASCII characters, such as a UUID.")]
pub struct InvalidKey;

/// The work was done, but its answer is too large to keep for replays.
#[derive(Debug, thiserror::Error)]
#[error("an answer too large to keep for its idempotency key: {0}")]
pub struct AnswerTooLarge(axum::Error);

impl IdempotencyKey {
    /// The key the request carries, if any; a malformed one is refused, not ignored, so a
    /// client never believes it is protected when it is not.
    pub fn from_headers(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, InvalidKey> {
        let Some(value) = headers.get(HEADER) else {
            return Ok(None);
        };
        let text = value.to_str().map_err(|_| InvalidKey)?;
        IdempotencyKey::new(text).map(Some)
    }

    /// A key made by the gateway itself (a back-office form's submission id).
    pub fn new(text: &str) -> Result<IdempotencyKey, InvalidKey> {
        let text = text.trim();
        if text.is_empty() || text.len() > 255 || !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidKey);
        }
        Ok(IdempotencyKey(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A hash of what a request asks for, to tell a true retry from a reused key.
pub struct Fingerprint(Sha256);

impl Fingerprint {
    pub fn new(operation: &str) -> Fingerprint {
        let mut hasher = Sha256::new();
        hasher.update(operation.as_bytes());
        Fingerprint(hasher)
    }

    /// Adds one field; fields are length-prefixed so ("ab", "c") differs from ("a", "bc").
    pub fn field(mut self, value: &str) -> Fingerprint {
        self.0.update((value.len() as u64).to_be_bytes());
        self.0.update(value.as_bytes());
        self
    }

    pub fn finish(self) -> String {
        hex::encode(self.0.finalize())
    }
}

/// The outcome of presenting a key.
#[derive(Debug)]
pub enum Claim {
    /// First time: do the work, then [`finish`].
    Fresh,
    /// An earlier attempt died or failed before answering; redo its work from what it
    /// reserved (opaque to this module), then [`finish`].
    Abandoned(Option<String>),
    /// Answered before: send this again.
    Replay(Response),
    /// Refuse: the key was used for another request, or its first request is still running.
    Refuse(Response),
}

pub async fn claim(
    pool: &MySqlPool,
    account_id: Uuid,
    key: &IdempotencyKey,
    fingerprint: &str,
    reservation: Option<&str>,
) -> Result<Claim, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT IGNORE INTO idempotency_keys (account_id, idempotency_key, request_hash, reserved, claimed_at) \
         VALUES (?, ?, ?, ?, UTC_TIMESTAMP(6))",
    )
    .bind(account_id)
    .bind(key.as_str())
    .bind(fingerprint)
    .bind(reservation)
    .execute(pool)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Claim::Fresh);
    }
    let Some(row) = sqlx::query(
        "SELECT request_hash, reserved, response_status, response_headers, response_body \
         FROM idempotency_keys WHERE account_id = ? AND idempotency_key = ?",
    )
    .bind(account_id)
    .bind(key.as_str())
    .fetch_optional(pool)
    .await?
    else {
        // Released between our insert and this read: the first attempt failed; the client's
        // next retry will claim it afresh.
        return Ok(Claim::Refuse(in_progress()));
    };
    if row.get::<String, _>("request_hash") != fingerprint {
        return Ok(Claim::Refuse(mismatch()));
    }
    if let Some(status) = row.get::<Option<u16>, _>("response_status") {
        let headers: Option<String> = row.get("response_headers");
        let body: Option<Vec<u8>> = row.get("response_body");
        return Ok(Claim::Replay(saved_response(
            status,
            headers.as_deref(),
            body.unwrap_or_default(),
        )));
    }
    let taken_over = sqlx::query(
        "UPDATE idempotency_keys SET claimed_at = UTC_TIMESTAMP(6) \
         WHERE account_id = ? AND idempotency_key = ? AND response_status IS NULL \
         AND claimed_at < UTC_TIMESTAMP(6) - INTERVAL ? SECOND",
    )
    .bind(account_id)
    .bind(key.as_str())
    .bind(ABANDONED_AFTER_SECS)
    .execute(pool)
    .await?;
    if taken_over.rows_affected() == 1 {
        tracing::warn!(
            key = key.as_str(),
            "taking over an idempotency key whose first request did not finish"
        );
        return Ok(Claim::Abandoned(row.get("reserved")));
    }
    Ok(Claim::Refuse(in_progress()))
}

/// Sets aside what a fresh claim's work will publish (a status change request), so a
/// takeover after a failed or dead first attempt publishes the same thing instead of
/// building it again from a state that may have moved on.
pub async fn reserve(
    pool: &MySqlPool,
    account_id: Uuid,
    key: &IdempotencyKey,
    reserved: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE idempotency_keys SET reserved = ? \
         WHERE account_id = ? AND idempotency_key = ? AND response_status IS NULL",
    )
    .bind(reserved)
    .bind(account_id)
    .bind(key.as_str())
    .execute(pool)
    .await?;
    Ok(())
}

/// Gives a fresh claim back: its request was refused before anything was done (a bad
/// amount), so the same key may come again with a corrected request.
pub async fn release(
    pool: &MySqlPool,
    account_id: Uuid,
    key: &IdempotencyKey,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM idempotency_keys \
         WHERE account_id = ? AND idempotency_key = ? AND response_status IS NULL",
    )
    .bind(account_id)
    .bind(key.as_str())
    .execute(pool)
    .await?;
    Ok(())
}

/// Stores `response` as the key's answer and returns the response to send (or, when the
/// answer cannot be kept, [`AnswerTooLarge`], leaving the claim to be taken over). An answer that
/// means "try again" (5xx) is not stored: the claim is marked abandoned at once, so the
/// client's retry takes it over and redoes the work from the same reservation (a publish
/// that failed may still have reached the broker; redoing it with the same events is
/// harmless, a new order would not be).
pub async fn finish(
    pool: &MySqlPool,
    account_id: Uuid,
    key: &IdempotencyKey,
    response: Response,
) -> Result<Response, AnswerTooLarge> {
    let (parts, body) = response.into_parts();
    if parts.status.is_server_error() {
        if let Err(error) = sqlx::query(
            "UPDATE idempotency_keys SET claimed_at = '1970-01-01 00:00:00' \
             WHERE account_id = ? AND idempotency_key = ? AND response_status IS NULL",
        )
        .bind(account_id)
        .bind(key.as_str())
        .execute(pool)
        .await
        {
            // The claim then looks abandoned after a while and is taken over: still safe.
            tracing::warn!(%error, "could not release an idempotency key");
        }
        return Ok(Response::from_parts(parts, body));
    }
    let bytes = axum::body::to_bytes(body, MAX_STORED_BODY)
        .await
        .map_err(AnswerTooLarge)?;
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter(|(name, _)| *name == header::CONTENT_TYPE || *name == header::LOCATION)
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let stored = sqlx::query(
        "UPDATE idempotency_keys SET response_status = ?, response_headers = ?, response_body = ?, \
         completed_at = UTC_TIMESTAMP(6) WHERE account_id = ? AND idempotency_key = ?",
    )
    .bind(parts.status.as_u16())
    .bind(serde_json::to_string(&headers).expect("headers serialize"))
    .bind(bytes.as_ref())
    .bind(account_id)
    .bind(key.as_str())
    .execute(pool)
    .await;
    if let Err(error) = stored {
        // The work is done and the client must hear so. A retry will find the claim
        // unanswered, wait it out and take it over with the same reservation.
        tracing::error!(%error, key = key.as_str(), "answer not stored for its idempotency key");
    }
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

fn saved_response(status: u16, headers: Option<&str>, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let pairs: Vec<(String, String)> = headers
        .and_then(|h| serde_json::from_str(h).ok())
        .unwrap_or_default();
    for (name, value) in pairs {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            response.headers_mut().insert(name, value);
        }
    }
    response
        .headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    response
}

fn refusal(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

fn in_progress() -> Response {
    let mut response = refusal(
        StatusCode::CONFLICT,
        "request_in_progress",
        "A request with this Idempotency-Key is still being handled. Try again in a moment.",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    response
}

fn mismatch() -> Response {
    refusal(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
        "This Idempotency-Key was already used for a different request. Use a new key for a new request.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_up_to_255() {
        let mut headers = HeaderMap::new();
        assert_eq!(IdempotencyKey::from_headers(&headers).unwrap(), None);
        headers.insert(
            HEADER,
            HeaderValue::from_static("7f1c2a9e-0b1d-4d7e-9a51-1e0f3b2c4d5e"),
        );
        assert_eq!(
            IdempotencyKey::from_headers(&headers)
                .unwrap()
                .unwrap()
                .as_str(),
            "7f1c2a9e-0b1d-4d7e-9a51-1e0f3b2c4d5e"
        );
        headers.insert(HEADER, HeaderValue::from_static("two words"));
        assert!(IdempotencyKey::from_headers(&headers).is_err());
        headers.insert(HEADER, HeaderValue::from_str(&"k".repeat(256)).unwrap());
        assert!(IdempotencyKey::from_headers(&headers).is_err());
    }

    #[test]
    fn fingerprints_separate_fields() {
        let a = Fingerprint::new("op").field("ab").field("c").finish();
        let b = Fingerprint::new("op").field("a").field("bc").finish();
        assert_ne!(a, b);
        assert_eq!(a, Fingerprint::new("op").field("ab").field("c").finish());
        assert_ne!(a, Fingerprint::new("other").field("ab").field("c").finish());
    }

    #[tokio::test]
    async fn replays_carry_the_first_answer_and_say_so() {
        let response = saved_response(
            201,
            Some(r#"[["content-type","application/json"]]"#),
            br#"{"order_number":"12345678"}"#.to_vec(),
        );
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(response.headers()[REPLAYED], "true");
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(&body[..], br#"{"order_number":"12345678"}"#);
    }
}
