//! The staff back office: server-rendered pages under `/office` (askama templates compiled
//! into the binary, escaped by default), one embedded stylesheet and one small script, in
//! Ukrainian and English.
//!
//! - `sign_in`: `GET`, `POST /office/sign-in`, `POST /office/sign-out`;
//! - `list`: `GET /office` (filters, search, keyset paging, counts per status) and
//!   `GET /office/board` (a column per open status, buttons for the allowed moves);
//! - `order`: `GET /office/orders/{order_id}` (customer card, files, timeline, actions) and
//!   `GET /office/orders/{order_id}/files/{file_id}` (a download, as an attachment);
//! - `actions`: `POST /office/orders/{order_id}/{status|reply|quote|comment|assign}`;
//! - `money`: the order page's payments panel and `POST /office/orders/{order_id}/payments`
//!   and `/refunds` (a payment made another way than Telegram, a refund; admins and managers);
//! - `customers`: `GET /office/customers` (search, keyset paging) and
//!   `GET /office/customers/{customer_id}` (details, channels, orders, conversation).
//! - `calendar`: `GET /office/calendar` (bookings by day and week, booking for a customer
//!   who phoned, moving and cancelling) and `GET`, `POST /office/schedule/{resource}`
//!   (working hours, breaks, days off);
//! - `resources`: `GET /office/resources` and the forms to create, rename, deactivate a
//!   room (or staff member) that bookings are made with, and say which services it does;
//! - `admin`: running the business (staff accounts, catalogue, business details, audit log).
//!
//! Every page carries strict security headers (a CSP without inline script, no framing, no
//! sniffing, same-origin referrers); every state-changing request passes [`csrf`]; who may
//! do what is [`permissions`]. Live parts follow the staff feed (`/api/staff/feed`) from
//! `office.js`. Staff actions are appended to the audit log (`staff_audit`).

mod actions;
mod admin;
mod calendar;
pub mod csrf;
mod customers;
pub mod gate;
pub mod i18n;
mod list;
mod money;
mod order;
pub mod permissions;
pub mod reports;
mod resources;
mod sign_in;
mod views;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use bureau_accounts::{Account, Role};
use serde::Deserialize;
use tower_http::set_header::SetResponseHeaderLayer;
use uuid::Uuid;

use crate::http::{AppState, Error};
use crate::queries::office::{self as reads, Audit, Scope};
use crate::sessions;
use i18n::{LANGUAGE_COOKIE, Lang};
use permissions::{Act, Policy, Whose};

const CSS: &str = include_str!("../../assets/office.css");
const JS: &str = include_str!("../../assets/office.js");

/// The pages' Content-Security-Policy: our own script and style files only, no inline
/// script, no framing, forms only to ourselves.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/office", get(list::orders))
        .route("/office/board", get(list::board))
        .route("/office/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/office/sign-out", post(sign_in::sign_out))
        .route("/office/language/{code}", get(language))
        .route("/office/customers", get(customers::list))
        .route("/office/customers/{customer_id}", get(customers::page))
        .route("/office/orders/{order_id}", get(order::page))
        .route(
            "/office/orders/{order_id}/files/{file_id}",
            get(order::download),
        )
        .route("/office/orders/{order_id}/status", post(actions::status))
        .route("/office/orders/{order_id}/reply", post(actions::reply))
        .route("/office/orders/{order_id}/quote", post(actions::quote))
        .route("/office/orders/{order_id}/comment", post(actions::comment))
        .route("/office/orders/{order_id}/assign", post(actions::assign))
        .route(
            "/office/orders/{order_id}/payments",
            post(money::record_payment),
        )
        .route(
            "/office/orders/{order_id}/refunds",
            post(money::record_refund),
        )
        .route("/office/calendar", get(calendar::page))
        .route("/office/calendar/book", post(calendar::book))
        .route(
            "/office/calendar/bookings/{booking_id}/move",
            post(calendar::move_booking),
        )
        .route(
            "/office/calendar/bookings/{booking_id}/cancel",
            post(calendar::cancel_booking),
        )
        .route(
            "/office/schedule/{resource_id}",
            get(calendar::schedule_page).post(calendar::schedule_save),
        )
        .route(
            "/office/resources",
            get(resources::list).post(resources::create),
        )
        .route("/office/resources/new", get(resources::new_form))
        .route(
            "/office/resources/{resource_id}",
            get(resources::edit_form).post(resources::update),
        )
        .route(
            "/office/resources/{resource_id}/active",
            post(resources::set_active),
        )
        .route("/office/assets/office.css", get(css))
        .route("/office/assets/office.js", get(js))
        .merge(admin::router())
        .merge(reports::router())
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

#[derive(Deserialize)]
struct Back {
    back: Option<String>,
}

/// `GET /office/language/{uk|en}?back=/office/...`: keeps the choice in a cookie for a year
/// and returns to the page it was made on (only ever a back-office page).
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

/// A path inside the back office to return to; anything else (another site, `//host`)
/// becomes the list.
fn local_path(back: Option<&str>) -> String {
    match back {
        Some(path)
            if path.starts_with("/office")
                && !path.contains("//")
                && !path.contains('\\')
                && path.chars().all(|c| !c.is_control()) =>
        {
            path.to_owned()
        }
        _ => "/office".to_owned(),
    }
}

/// A signed-in staff member at a back-office page, in the language they read.
pub struct Desk {
    pub account: Account,
    pub lang: Lang,
    /// Where the request came from, for the audit log.
    pub remote: Option<String>,
}

impl Desk {
    pub fn policy(state: &AppState) -> Policy {
        Policy {
            executors_take_unassigned: state.settings.web_gateway.executors_take_unassigned,
        }
    }

    /// Which orders this staff member's lists hold.
    pub fn scope(&self, state: &AppState) -> Scope {
        scope_of(&self.account, state)
    }

    pub fn fail(&self, failure: impl Into<Failure>) -> PageError {
        PageError {
            lang: self.lang,
            failure: failure.into(),
        }
    }

    /// The order `order_id`, if it exists and this staff member may do `act` to it: the
    /// one check every order route makes (the matrix, by role and by object; see [`gate`]).
    pub async fn may(
        &self,
        state: &AppState,
        order_id: &str,
        act: Act,
    ) -> Result<(Uuid, Whose), PageError> {
        gate::order(
            &state.pool,
            &self.account,
            Desk::policy(state),
            order_id,
            act,
        )
        .await
        .map_err(|refused| self.refused(refused))
    }

    /// The customer `customer_id`, if they exist and this staff member may do `act` about
    /// them (see [`gate::customer`]).
    pub async fn may_customer(
        &self,
        state: &AppState,
        customer_id: &str,
        act: Act,
    ) -> Result<(Uuid, Whose), PageError> {
        gate::customer(
            &state.pool,
            &self.account,
            Desk::policy(state),
            customer_id,
            act,
        )
        .await
        .map_err(|refused| self.refused(refused))
    }

    fn refused(&self, refused: gate::Refused) -> PageError {
        match refused {
            gate::Refused::NotFound => self.fail(Failure::NotFound),
            gate::Refused::NotYours => self.fail(Failure::NotYours),
            gate::Refused::Database(error) => self.fail(Error::from(error)),
        }
    }

    /// Appends a staff action to the audit log. A failure to write it fails the action's
    /// answer, never silently drops the record.
    pub async fn audit(
        &self,
        state: &AppState,
        action: &str,
        order_id: Option<Uuid>,
        subject: Option<&str>,
        detail: Option<&str>,
    ) -> Result<(), PageError> {
        reads::audit(
            &state.pool,
            Audit {
                account_id: Some(self.account.id),
                action,
                order_id,
                subject,
                detail,
                remote_addr: self.remote.clone(),
            },
        )
        .await
        .map_err(|e| self.fail(Error::from(e)))
    }
}

/// Which orders a staff member's lists hold: everything, or an executor's own (and the
/// unassigned ones where executors may take them).
pub fn scope_of(account: &Account, state: &AppState) -> Scope {
    match account.role {
        Role::Executor => Scope::AssignedTo {
            account_id: account.id,
            with_unassigned: Desk::policy(state).executors_take_unassigned,
        },
        _ => Scope::Everything,
    }
}

/// Any visitor of a back-office page, signed in or not: their language, headers and address.
pub struct Client {
    pub lang: Lang,
    pub headers: HeaderMap,
    pub remote: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Client {
            lang: Lang::of_request(&parts.headers),
            headers: parts.headers.clone(),
            remote: remote_addr(parts),
        })
    }
}

/// The client's address: the first `X-Forwarded-For` hop behind a proxy, else the peer.
pub fn remote_addr(parts: &Parts) -> Option<String> {
    let forwarded = parts
        .headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty());
    forwarded.or_else(|| {
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string())
    })
}

impl FromRequestParts<AppState> for Desk {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = Lang::of_request(&parts.headers);
        let sign_in = || Redirect::to("/office/sign-in").into_response();
        let Some(token) = crate::http::presented_token(&parts.headers) else {
            return Err(sign_in());
        };
        let account = match sessions::resolve(&state.pool, &token).await {
            Ok(Some(account)) => account,
            Ok(None) => return Err(sign_in()),
            Err(error) => {
                return Err(PageError {
                    lang,
                    failure: Failure::Api(error.into()),
                }
                .into_response());
            }
        };
        if !account.role.is_staff() {
            return Err(PageError {
                lang,
                failure: Failure::StaffOnly,
            }
            .into_response());
        }
        Ok(Desk {
            account,
            lang,
            remote: remote_addr(parts),
        })
    }
}

/// Why a page could not be shown or an action not done.
#[derive(Debug)]
pub enum Failure {
    NotFound,
    /// The matrix says no: someone else's order (or not this role's act).
    NotYours,
    StaffOnly,
    /// A request the API would refuse, with its sentence (a conflict, a missing reason).
    Api(Error),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure::Api(error)
    }
}

/// A failure, shown as a page in the staff member's language.
#[derive(Debug)]
pub struct PageError {
    lang: Lang,
    failure: Failure,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let t = self.lang.texts();
        let (status, title, text) = match self.failure {
            Failure::NotFound => (
                StatusCode::NOT_FOUND,
                t.not_found_title,
                t.not_found_text.to_owned(),
            ),
            Failure::NotYours => (
                StatusCode::FORBIDDEN,
                t.refusal_title,
                t.refusal_text.to_owned(),
            ),
            Failure::StaffOnly => (
                StatusCode::FORBIDDEN,
                t.refusal_title,
                t.staff_only.to_owned(),
            ),
            Failure::Api(error) => {
                let status = error.status_code();
                match error {
                    Error::Database(_) | Error::Internal(_) | Error::Unavailable { .. } => {
                        // Logged (and answered with a retry hint) the API's way.
                        let _ = error.into_response();
                        (status, t.error_title, t.error_text.to_owned())
                    }
                    Error::NotFound(_) => (status, t.not_found_title, t.not_found_text.to_owned()),
                    other => {
                        // The API's sentence, in the page's language (`error_uk`).
                        let english = other.to_string();
                        let said = crate::http::error_message_in(&other, &english, self.lang);
                        (status, t.error_title, said)
                    }
                }
            }
        };
        views::render_failure(self.lang, status, title, &text)
    }
}

/// Where a form's page lives, for the redirect after it.
pub fn order_url(order_id: Uuid) -> String {
    format!("/office/orders/{order_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_back_office_paths_are_returned_to() {
        assert_eq!(local_path(Some("/office/board")), "/office/board");
        assert_eq!(local_path(Some("/office?q=x")), "/office?q=x");
        assert_eq!(local_path(Some("https://evil.example")), "/office");
        assert_eq!(local_path(Some("//evil.example/office")), "/office");
        assert_eq!(local_path(Some("/office//evil")), "/office");
        assert_eq!(local_path(None), "/office");
    }
}
