//! The customer portal: server-rendered pages under `/portal` for web customers (askama
//! templates compiled into the binary, escaped by default), one embedded stylesheet and
//! one small script, in Ukrainian and English, for phones and desktops.
//!
//! - `account`: `GET`, `POST /portal/register`, `/portal/sign-in`, `POST /portal/sign-out`,
//!   `GET`, `POST /portal/profile` (name, phone, language, where to be told),
//!   `POST /portal/profile/telegram` (a one-time "Link Telegram" token),
//!   `POST /portal/profile/verify` (the address's confirmation link again), and
//!   `GET`, `POST /portal/link/{token}` (the bot's `/web` sign-in link);
//! - `orders`: `GET /portal/orders` (mine, newest first, keyset paged),
//!   `GET /portal/orders/new` and `POST /portal/orders` (the order first, without files:
//!   its cart of services and quantities priced on the server, `cart`),
//!   `POST /portal/orders/cart` (add, change a quantity, remove: the cart priced again),
//!   `POST /portal/orders/{number}/files` (files one request each, streamed into the order:
//!   a failed upload is retried alone), `GET /portal/orders/{number}` (status, history,
//!   files, results, conversation, price; live through `/api/orders/{number}/live`),
//!   `GET .../files/{file_id}` (a download), `POST .../message`, `.../quote/{accept|decline}`,
//!   `.../cancel`.
//!
//! Every order route finds the order among the signed-in customer's own
//! (`queries::portal::own_order`): someone else's order answers exactly like one that does
//! not exist. Every page carries the back office's strict headers (a CSP without inline
//! script); every state-changing request passes `office::csrf`.

mod account;
mod cart;
pub(crate) use account::phone;
pub mod i18n;
mod orders;
mod views;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use bureau_accounts::{Account, Role};
use serde::Deserialize;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::http::{AppState, Error};
use crate::office::CONTENT_SECURITY_POLICY;
use crate::sessions;
use i18n::{LANGUAGE_COOKIE, Lang};

const CSS: &str = include_str!("../../assets/portal.css");
const JS: &str = include_str!("../../assets/portal.js");
/// The new-order form's day → time picker (bookings), a script of its own.
const BOOKING_JS: &str = include_str!("../../assets/booking.js");

pub fn router(max_upload_bytes: u64) -> Router<AppState> {
    let body_limit =
        usize::try_from(crate::http::upload_request_limit(max_upload_bytes)).unwrap_or(usize::MAX);
    Router::new()
        .route("/portal", get(home))
        .route(
            "/portal/register",
            get(account::register_form).post(account::register),
        )
        .route(
            "/portal/sign-in",
            get(account::sign_in_form).post(account::sign_in),
        )
        .route("/portal/sign-out", post(account::sign_out))
        .route("/portal/language/{code}", get(language))
        .route(
            "/portal/profile",
            get(account::profile).post(account::save_profile),
        )
        .route("/portal/profile/telegram", post(account::link_telegram))
        .route("/portal/profile/verify", post(account::send_verification))
        .route(
            "/portal/link/{token}",
            get(account::link_page).post(account::link_sign_in),
        )
        .route("/portal/orders", get(orders::list).post(orders::create))
        .route("/portal/orders/new", get(orders::new_form))
        .route("/portal/orders/cart", post(orders::cart_action))
        .route("/portal/orders/{number}", get(orders::page))
        .route(
            "/portal/orders/{number}/files",
            post(orders::upload).layer(DefaultBodyLimit::max(body_limit)),
        )
        .route(
            "/portal/orders/{number}/files/{file_id}",
            get(orders::download),
        )
        .route("/portal/orders/{number}/message", post(orders::message))
        .route(
            "/portal/orders/{number}/quote/{answer}",
            post(orders::answer_quote),
        )
        .route("/portal/orders/{number}/cancel", post(orders::cancel))
        .route("/portal/assets/portal.css", get(css))
        .route("/portal/assets/portal.js", get(js))
        .route("/portal/assets/booking.js", get(booking_js))
        .layer(header_layer(
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY,
        ))
        .layer(header_layer(header::REFERRER_POLICY, "same-origin"))
        .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header_layer(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header_layer(header::CACHE_CONTROL, "no-store"))
}

fn header_layer(
    name: header::HeaderName,
    value: &'static str,
) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
}

async fn css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS)
}

async fn js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        JS,
    )
}

async fn booking_js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        BOOKING_JS,
    )
}

async fn home(State(state): State<AppState>, visitor: Visitor) -> Redirect {
    match visitor.account(&state).await {
        Some(_) => Redirect::to("/portal/orders"),
        None => Redirect::to("/portal/sign-in"),
    }
}

#[derive(Deserialize)]
struct Back {
    back: Option<String>,
}

/// `GET /portal/language/{uk|en}?back=/portal/...`: keeps the choice in the cookie the back
/// office uses too, for a year, and returns to the portal page it was made on.
async fn language(Path(code): Path<String>, Query(back): Query<Back>) -> Response {
    let lang = Lang::parse(&code).unwrap_or(Lang::Uk);
    let back = local_path(back.back.as_deref());
    let cookie = format!(
        "{LANGUAGE_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        lang.code()
    );
    let mut response = Redirect::to(&back).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// A portal path to return to; anything else (another site, `//host`) becomes the start.
fn local_path(back: Option<&str>) -> String {
    match back {
        Some(path)
            if path.starts_with("/portal")
                && !path.contains("//")
                && !path.contains('\\')
                && path.chars().all(|c| !c.is_control()) =>
        {
            path.to_owned()
        }
        _ => "/portal".to_owned(),
    }
}

/// Anyone at a portal page: their language and headers.
pub struct Visitor {
    pub lang: Lang,
    pub headers: HeaderMap,
    pub path: String,
}

impl Visitor {
    /// The signed-in account, if any.
    async fn account(&self, state: &AppState) -> Option<Account> {
        let token = crate::http::presented_token(&self.headers)?;
        sessions::resolve(&state.pool, &token).await.ok().flatten()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Visitor {
            lang: Lang::of_request(&parts.headers),
            headers: parts.headers.clone(),
            path: parts
                .uri
                .path_and_query()
                .map_or_else(|| "/portal".to_owned(), |p| p.as_str().to_owned()),
        })
    }
}

/// A signed-in customer at a portal page. Anyone else is sent to sign in; a staff account
/// is told the portal is for customers.
pub struct Member {
    pub account: Account,
    pub lang: Lang,
    pub path: String,
    /// Whether the request came from the page's script (`Accept: application/json`).
    pub wants_json: bool,
}

impl Member {
    pub fn fail(&self, failure: impl Into<Failure>) -> PageError {
        PageError {
            lang: self.lang,
            json: self.wants_json,
            failure: failure.into(),
        }
    }
}

pub fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

impl FromRequestParts<AppState> for Member {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = Lang::of_request(&parts.headers);
        let json = wants_json(&parts.headers);
        let sign_in = || {
            if json {
                Error::Unauthorized.into_response()
            } else {
                Redirect::to("/portal/sign-in").into_response()
            }
        };
        let Some(token) = crate::http::presented_token(&parts.headers) else {
            return Err(sign_in());
        };
        let account = match sessions::resolve(&state.pool, &token).await {
            Ok(Some(account)) => account,
            Ok(None) => return Err(sign_in()),
            Err(error) => {
                return Err(PageError {
                    lang,
                    json,
                    failure: Failure::Api(error.into()),
                }
                .into_response());
            }
        };
        if account.role != Role::Customer {
            return Err(PageError {
                lang,
                json,
                failure: Failure::StaffAccount,
            }
            .into_response());
        }
        Ok(Member {
            account,
            lang,
            path: parts
                .uri
                .path_and_query()
                .map_or_else(|| "/portal".to_owned(), |p| p.as_str().to_owned()),
            wants_json: json,
        })
    }
}

/// Why a page could not be shown or an action not done.
#[derive(Debug)]
pub enum Failure {
    /// No such order among the customer's own (whether or not it exists).
    NotFound,
    StaffAccount,
    /// A rule of the order's state, in the customer's language (409).
    Conflict(&'static str),
    /// A file over the size limit, with the limit, in the customer's language (413).
    TooLarge(String),
    Api(Error),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure::Api(error)
    }
}

impl From<sqlx::Error> for Failure {
    fn from(error: sqlx::Error) -> Failure {
        Failure::Api(error.into())
    }
}

/// A failure, as a page in the customer's language (or JSON for the page's script).
#[derive(Debug)]
pub struct PageError {
    lang: Lang,
    json: bool,
    failure: Failure,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let t = self.lang.portal();
        let (status, title, text) = match self.failure {
            Failure::NotFound => (
                StatusCode::NOT_FOUND,
                t.not_found_title,
                t.not_found_text.to_owned(),
            ),
            Failure::StaffAccount => (
                StatusCode::FORBIDDEN,
                t.error_title,
                t.staff_account.to_owned(),
            ),
            Failure::Conflict(text) => (StatusCode::CONFLICT, t.error_title, text.to_owned()),
            Failure::TooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                t.error_title,
                format!("{} {limit}.", t.file_too_large),
            ),
            Failure::Api(error) => {
                let status = error.status_code();
                match error {
                    Error::Database(_) | Error::Internal(_) | Error::Unavailable { .. } => {
                        // Logged (and answered with a retry hint) the API's way.
                        let answered = error.into_response_in(Some(self.lang));
                        if self.json {
                            return answered;
                        }
                        (status, t.error_title, t.error_text.to_owned())
                    }
                    Error::NotFound(_) => (status, t.not_found_title, t.not_found_text.to_owned()),
                    other => {
                        if self.json {
                            return other.into_response_in(Some(self.lang));
                        }
                        // The API's sentence, in the customer's language (quotas too).
                        let english = other.to_string();
                        let said = crate::http::error_message_in(&other, &english, self.lang);
                        (status, t.error_title, said)
                    }
                }
            }
        };
        if self.json {
            let body = serde_json::json!({ "error": { "code": status.as_u16(), "message": text } });
            return (status, axum::Json(body)).into_response();
        }
        views::render_failure(self.lang, status, title, &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_portal_paths_are_returned_to() {
        assert_eq!(local_path(Some("/portal/orders")), "/portal/orders");
        assert_eq!(local_path(Some("https://evil.example")), "/portal");
        assert_eq!(local_path(Some("//evil.example/portal")), "/portal");
        assert_eq!(local_path(Some("/office")), "/portal");
        assert_eq!(local_path(None), "/portal");
    }
}
