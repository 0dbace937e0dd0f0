//! The one error type of the HTTP API and how it becomes a response.
//!
//! Every failure answers `{"error": {"code": "...", "message": "..."}}`: `code` is stable
//! for programs, `message` is a sentence for people, in English or Ukrainian
//! (`error_uk`: by the cookie, `Accept-Language` or the customer's chosen language). Database, broker and store details are
//! logged, never sent: a client learns what to do, not how we are built.

use axum::Json;
use axum::extract::multipart::MultipartError;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bureau_accounts::{AccountError, LoginError};
use bureau_event_bus::PublishError;
use bureau_platform::object_store::UploadError;
use bureau_platform::order_numbers::OrderNumberError;
use serde_json::json;

use super::error_uk::{UkrainianBody, message_in};
use crate::idempotency::{AnswerTooLarge, InvalidKey};
use crate::office::i18n::Lang;
use crate::quotas::{QuotaError, QuotaExceeded};

/// What a client should wait before retrying while a dependency is down.
const RETRY_AFTER_SECS: u32 = 5;
/// What a client should wait before retrying when every slot was busy.
const BUSY_RETRY_AFTER_SECS: u64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Log in to continue.")]
    Unauthorized,
    #[error("Wrong email or password.")]
    InvalidCredentials,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// What the request names is gone for good (a used or expired one-time link).
    #[error("{message}")]
    Gone { code: &'static str, message: String },
    /// The request was understood but its content breaks a rule.
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    /// The request could not be read at all (malformed JSON or multipart).
    #[error("{0}")]
    BadRequest(String),
    #[error("{message}")]
    PayloadTooLarge { message: String },
    /// Too many of something in too short a time; the client may retry after the pause.
    #[error("{message}")]
    TooManyRequests {
        code: &'static str,
        message: String,
        retry_after_secs: u64,
    },
    /// A customer's quota (bytes or files a day, open orders) is used up.
    #[error("{0}")]
    Quota(QuotaExceeded),
    /// Every slot for this work is taken and stayed taken while the request queued.
    #[error("We are very busy right now. Please try again in a moment.")]
    Busy,
    /// A dependency is down; nothing was done and the client may retry.
    #[error("{message}")]
    Unavailable {
        code: &'static str,
        message: &'static str,
    },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl Error {
    pub fn unprocessable(code: &'static str, message: impl ToString) -> Error {
        Error::Unprocessable {
            code,
            message: message.to_string(),
        }
    }

    pub fn broker_unavailable() -> Error {
        Error::Unavailable {
            code: "broker_unavailable",
            message: "We cannot accept this right now because our message service is down. Nothing was saved; please try again in a few seconds.",
        }
    }

    pub fn store_unavailable() -> Error {
        Error::Unavailable {
            code: "storage_unavailable",
            message: "We cannot accept files right now because our file storage is down. Nothing was saved; please try again in a few seconds.",
        }
    }

    fn database_unavailable() -> Error {
        Error::Unavailable {
            code: "database_unavailable",
            message: "Our database is not answering right now. Please try again in a few seconds.",
        }
    }

    pub(crate) fn status_code(&self) -> StatusCode {
        match self {
            Error::Unauthorized | Error::InvalidCredentials => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict { .. } => StatusCode::CONFLICT,
            Error::Gone { .. } => StatusCode::GONE,
            Error::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Quota(QuotaExceeded::BytesPerDay { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Quota(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::Unavailable { .. } | Error::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Error::Database(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Error::Unauthorized => "unauthorized",
            Error::InvalidCredentials => "invalid_credentials",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound(_) => "not_found",
            Error::Conflict { code, .. }
            | Error::Gone { code, .. }
            | Error::Unprocessable { code, .. }
            | Error::TooManyRequests { code, .. }
            | Error::Unavailable { code, .. } => code,
            Error::Busy => "busy",
            Error::Quota(exceeded) => exceeded.code(),
            Error::BadRequest(_) => "bad_request",
            Error::PayloadTooLarge { .. } => "payload_too_large",
            Error::Database(_) | Error::Internal(_) => "internal",
        }
    }
}

/// Whether a database error means "MySQL is unreachable" rather than "our query is wrong".
fn is_unreachable(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
    )
}

impl IntoResponse for Error {
    /// In English, with the Ukrainian body beside it for `error_uk::localize` to choose.
    fn into_response(self) -> Response {
        self.into_response_in(None)
    }
}

impl Error {
    /// The answer with its `message` in `lang`; `None`: English, carrying the Ukrainian
    /// body as an extension so the router's `error_uk::localize` picks by the request.
    pub(crate) fn into_response_in(self, lang: Option<Lang>) -> Response {
        let error = match self {
            Error::Database(error) if is_unreachable(&error) => {
                tracing::warn!(%error, "database unreachable");
                Error::database_unavailable()
            }
            Error::Database(ref error) => {
                tracing::error!(%error, "database error");
                self
            }
            Error::Internal(ref error) => {
                tracing::error!(error = format!("{error:#}"), "internal error");
                self
            }
            other => other,
        };
        let message = match &error {
            Error::Database(_) | Error::Internal(_) => {
                "Something went wrong on our side. Please try again; if it keeps happening, contact us.".to_owned()
            }
            other => other.to_string(),
        };
        let body_with = |message: &str| {
            let mut body = json!({"error": {"code": error.code(), "message": message}});
            if let Error::Quota(exceeded) = &error {
                body["error"]["limit"] = json!(exceeded.limit());
            }
            body
        };
        let chosen = message_in(&error, &message, lang.unwrap_or(Lang::En));
        let mut response = (error.status_code(), Json(body_with(&chosen))).into_response();
        if lang.is_none() {
            let ukrainian = message_in(&error, &message, Lang::Uk);
            if ukrainian != message {
                response
                    .extensions_mut()
                    .insert(UkrainianBody(body_with(&ukrainian)));
            }
        }
        let retry_after = match &error {
            Error::Unavailable { .. } => Some(u64::from(RETRY_AFTER_SECS)),
            Error::Busy => Some(BUSY_RETRY_AFTER_SECS),
            Error::TooManyRequests {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            Error::Quota(exceeded) => exceeded.retry_after_secs(),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<AccountError> for Error {
    fn from(error: AccountError) -> Error {
        match error {
            AccountError::Email(e) => Error::unprocessable("invalid_email", e),
            AccountError::Password(e) => Error::unprocessable("weak_password", e),
            AccountError::DisplayName(e) => Error::unprocessable("invalid_display_name", e),
            AccountError::EmailTaken => Error::Conflict {
                code: "email_taken",
                message: error.to_string(),
            },
            AccountError::Database(e) => Error::Database(e),
            AccountError::Hashing(e) => Error::Internal(anyhow::anyhow!("password hashing: {e}")),
        }
    }
}

impl From<LoginError> for Error {
    fn from(error: LoginError) -> Error {
        match error {
            LoginError::InvalidCredentials => Error::InvalidCredentials,
            LoginError::Database(e) => Error::Database(e),
            LoginError::Hashing(e) => Error::Internal(anyhow::anyhow!("password check: {e}")),
        }
    }
}

impl From<QuotaExceeded> for Error {
    fn from(exceeded: QuotaExceeded) -> Error {
        Error::Quota(exceeded)
    }
}

impl From<QuotaError> for Error {
    fn from(error: QuotaError) -> Error {
        match error {
            QuotaError::Exceeded(exceeded) => Error::Quota(exceeded),
            QuotaError::Database(error) => Error::Database(error),
        }
    }
}

impl From<PublishError> for Error {
    fn from(error: PublishError) -> Error {
        match error {
            PublishError::Unavailable(reason) => {
                tracing::warn!(%reason, "broker unavailable");
                Error::broker_unavailable()
            }
            // Unroutable or nacked: our topology is missing or broken, a defect to look at.
            rejected @ PublishError::Rejected { .. } => Error::Internal(rejected.into()),
        }
    }
}

impl From<OrderNumberError> for Error {
    fn from(error: OrderNumberError) -> Error {
        match error {
            // Unreachable MySQL becomes 503 with Retry-After, like any database outage.
            OrderNumberError::Database(error) => Error::Database(error),
            other => Error::Internal(other.into()),
        }
    }
}

impl From<InvalidKey> for Error {
    fn from(error: InvalidKey) -> Error {
        Error::unprocessable("invalid_idempotency_key", error)
    }
}

impl From<AnswerTooLarge> for Error {
    fn from(error: AnswerTooLarge) -> Error {
        Error::Internal(error.into())
    }
}

impl From<UploadError> for Error {
    fn from(error: UploadError) -> Error {
        match error {
            UploadError::TooLarge { limit } => Error::PayloadTooLarge {
                message: format!("Each file can be at most {}.", human_size(limit)),
            },
            // The client's body broke off or was malformed; it is usually gone already.
            UploadError::Source(reason) => {
                Error::BadRequest(format!("The upload could not be read to the end: {reason}"))
            }
            UploadError::Store(reason) => {
                tracing::warn!(%reason, "object store failed during an upload");
                Error::store_unavailable()
            }
        }
    }
}

impl From<MultipartError> for Error {
    fn from(error: MultipartError) -> Error {
        if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::PayloadTooLarge {
                message: "The upload is larger than we accept.".to_owned(),
            }
        } else {
            Error::BadRequest(format!(
                "The upload form could not be read: {}",
                error.body_text()
            ))
        }
    }
}

impl From<MultipartRejection> for Error {
    fn from(_: MultipartRejection) -> Error {
        Error::BadRequest("Send the order as multipart/form-data.".to_owned())
    }
}

impl From<JsonRejection> for Error {
    fn from(rejection: JsonRejection) -> Error {
        match rejection {
            // Well-formed JSON of the wrong shape (a missing field, a number for a string).
            JsonRejection::JsonDataError(e) => Error::unprocessable("invalid_body", e.body_text()),
            other => Error::BadRequest(other.body_text()),
        }
    }
}

impl From<QueryRejection> for Error {
    fn from(rejection: QueryRejection) -> Error {
        Error::BadRequest(rejection.body_text())
    }
}

/// "2 GiB", "20 MiB", "1500 bytes": limits as people read them.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (unit, name) in UNITS {
        if bytes >= unit {
            let value = bytes as f64 / unit as f64;
            return if value.fract() == 0.0 {
                format!("{value:.0} {name}")
            } else {
                format!("{value:.1} {name}")
            };
        }
    }
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;
    use bureau_platform::object_store::StoreError;

    use super::*;

    async fn body_of(error: Error) -> (StatusCode, Option<HeaderValue>, serde_json::Value) {
        let response = error.into_response();
        let status = response.status();
        let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
        let bytes = to_bytes(response.into_body(), 64 * 1024).await.unwrap();
        (status, retry_after, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn errors_answer_with_a_code_and_a_sentence() {
        let (status, _, body) = body_of(Error::NotFound("No such order.")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            body,
            json!({"error": {"code": "not_found", "message": "No such order."}})
        );
    }

    #[tokio::test]
    async fn internals_are_never_sent() {
        let secret = "Table 'bureau.web_accounts' doesn't exist";
        let (status, _, body) = body_of(Error::Internal(anyhow::anyhow!(secret))).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"]["code"], "internal");
        assert!(!body.to_string().contains("web_accounts"));
        let (status, _, body) = body_of(Error::Database(sqlx::Error::RowNotFound)).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body.to_string().contains("row"));
    }

    #[tokio::test]
    async fn outages_answer_503_with_retry_after() {
        let (status, retry, body) =
            body_of(PublishError::Unavailable("connection refused".into()).into()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry.unwrap(), "5");
        assert_eq!(body["error"]["code"], "broker_unavailable");
        assert!(!body.to_string().contains("refused"));

        let (status, retry, body) = body_of(Error::Database(sqlx::Error::PoolTimedOut)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(retry.is_some());
        assert_eq!(body["error"]["code"], "database_unavailable");

        let store_down = StoreError::Request {
            operation: "upload a part",
            detail: "NoSuchBucket".into(),
        };
        let (status, _, body) = body_of(UploadError::Store(store_down).into()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(!body.to_string().contains("NoSuchBucket"));
    }

    #[tokio::test]
    async fn account_errors_map_to_their_statuses() {
        let (status, _, body) = body_of(AccountError::EmailTaken.into()).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(body["error"]["code"], "email_taken");
        let weak = crate::domain::WeakPassword {
            problems: vec![crate::domain::PasswordProblem::TooCommon],
        };
        let (status, _, body) = body_of(AccountError::Password(weak).into()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["message"], "This password is too common.");
        let (status, _, _) = body_of(LoginError::InvalidCredentials.into()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn oversized_files_name_the_limit() {
        let (status, _, body) = body_of(UploadError::TooLarge { limit: 2 << 30 }.into()).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body["error"]["message"], "Each file can be at most 2 GiB.");
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_size(2_147_483_648), "2 GiB");
        assert_eq!(human_size(1_572_864), "1.5 MiB");
        assert_eq!(human_size(900), "900 bytes");
    }
}
