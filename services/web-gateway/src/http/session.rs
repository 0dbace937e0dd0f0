//! `/api/session`: log in (`POST`), who am I (`GET`), log out (`DELETE`).

use bureau_accounts::{self as accounts, Account, Role};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::{SignedIn, presented_token};
use super::client::ClientAddress;
use super::extract::Json;
use super::openapi::ErrorBody;
use super::{AppState, Error};
use crate::sessions::{self, COOKIE_NAME};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/session", post(log_in).get(current).delete(log_out))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct Credentials {
    email: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SessionView {
    account_id: Uuid,
    /// `customer`, `executor`, `manager` or `admin`.
    #[schema(value_type = String)]
    role: Role,
    display_name: String,
}

impl From<Account> for SessionView {
    fn from(account: Account) -> SessionView {
        SessionView {
            account_id: account.id,
            role: account.role,
            display_name: account.display_name,
        }
    }
}

/// Counted per address and per account before the password is checked, and checked in
/// one of a bounded number of hashing slots (`sign_in_guard`).
#[utoipa::path(
    post,
    path = "/api/session",
    tag = "session",
    request_body = Credentials,
    responses(
        (status = 200, description = "Signed in; the session token is in the `bureau_session` cookie (`Set-Cookie`)", body = SessionView),
        (status = 401, description = "Wrong e-mail or password", body = ErrorBody),
        (status = 429, description = "Too many failed attempts: paused (`Retry-After`)", body = ErrorBody),
        (status = "4XX", description = "The body is not what this route reads", body = ErrorBody),
        (status = 503, description = "Too busy to check a password now (`Retry-After`)", body = ErrorBody),
    )
)]
pub(crate) async fn log_in(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    Json(credentials): Json<Credentials>,
) -> Result<impl IntoResponse, Error> {
    let account =
        guarded_authenticate(&state, address, &credentials.email, &credentials.password).await?;
    let ttl = Duration::from_secs(
        state
            .settings
            .web_gateway
            .session_ttl_hours
            .saturating_mul(3600),
    );
    let token = sessions::open(&state.pool, account.id, ttl).await?;
    let cookie = session_cookie(token.expose(), ttl.as_secs(), is_https(&state));
    tracing::info!(account_id = %account.id, role = %account.role, "logged in");
    Ok((
        AppendHeaders([(header::SET_COOKIE, cookie)]),
        axum::Json(SessionView::from(account)),
    ))
}

/// Checks a password the way every sign-in does (the API's and the back office's): paused
/// after too many failures per address and per account, hashed in a bounded slot.
pub(crate) async fn guarded_authenticate(
    state: &AppState,
    address: std::net::IpAddr,
    email: &str,
    password: &str,
) -> Result<Account, Error> {
    let limiter = &state.sign_in.limiter;
    let attempt = limiter
        .admit(address, email, Instant::now())
        .map_err(|paused| {
            tracing::info!(%address, retry_after_secs = paused.retry_after.as_secs(), "sign-in paused");
            paused_error(paused.retry_after)
        })?;
    let Ok(slot) = state.sign_in.hashing.acquire().await else {
        limiter.busy(attempt);
        return Err(Error::Busy);
    };
    let checked = accounts::authenticate(&state.pool, email, password).await;
    drop(slot);
    match checked {
        Ok(account) => {
            limiter.succeeded(attempt);
            Ok(account)
        }
        Err(error @ accounts::LoginError::InvalidCredentials) => Err(error.into()),
        Err(error) => {
            limiter.give_back(attempt);
            Err(error.into())
        }
    }
}

/// Who is signed in.
#[utoipa::path(
    get,
    path = "/api/session",
    tag = "session",
    security(("session" = [])),
    responses(
        (status = 200, description = "The signed-in account", body = SessionView),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
pub(crate) async fn current(SignedIn(account): SignedIn) -> axum::Json<SessionView> {
    axum::Json(SessionView::from(account))
}

/// Always succeeds: logging out of a session that already ended leaves the client where
/// it wanted to be. The cookie is cleared either way.
#[utoipa::path(
    delete,
    path = "/api/session",
    tag = "session",
    responses((status = 204, description = "Signed out (also when the session had ended already); the cookie is cleared"))
)]
pub(crate) async fn log_out(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, Error> {
    if let Some(token) = presented_token(&headers) {
        sessions::close(&state.pool, &token).await?;
    }
    let expired = session_cookie("", 0, is_https(&state));
    Ok((
        StatusCode::NO_CONTENT,
        AppendHeaders([(header::SET_COOKIE, expired)]),
    ))
}

/// What a person whose sign-in is paused sees: the same for every e-mail address, known
/// or not, with the wait in words and in `Retry-After`.
fn paused_error(retry_after: Duration) -> Error {
    let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
    let wait = if secs < 90 {
        format!("{secs} seconds")
    } else {
        format!("{} minutes", secs.div_ceil(60))
    };
    Error::TooManyRequests {
        code: "too_many_attempts",
        message: format!(
            "Too many sign-in attempts. To protect the account, signing in is paused; try again in {wait}."
        ),
        retry_after_secs: secs,
    }
}

fn is_https(state: &AppState) -> bool {
    state
        .settings
        .web_gateway
        .public_url
        .starts_with("https://")
}

/// The session cookie: unreadable from scripts, not sent on cross-site POSTs, and marked
/// `Secure` when the site is served over HTTPS (a plain-HTTP local run would lose it).
pub(crate) fn session_cookie(token: &str, max_age_secs: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE_NAME}={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age_secs}{secure}"
    );
    // Built only from hex digits and fixed ASCII, so it is always a valid header value.
    HeaderValue::from_str(&cookie)
        .unwrap_or_else(|_| HeaderValue::from_static("bureau_session=; Max-Age=0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_http_only_and_lax() {
        let cookie = session_cookie("abc123", 3600, false);
        assert_eq!(
            cookie,
            "bureau_session=abc123; HttpOnly; SameSite=Lax; Path=/; Max-Age=3600"
        );
        assert!(
            session_cookie("abc123", 3600, true)
                .to_str()
                .unwrap()
                .ends_with("; Secure")
        );
    }
}
