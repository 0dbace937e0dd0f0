//! Verify an e-mail address and reset a forgotten password: the JSON API and the two small
//! pages the mailed links open.
//!
//! - `POST /api/accounts/verification`: a signed-in account asks for the verification
//!   link again (202; 200 when the address is verified already);
//! - `POST /api/accounts/verification/confirm` `{token}`: uses a verification link (200;
//!   410 when it is used, expired or unknown);
//! - `POST /api/password/forgot` `{email, language?}`: 202 with the same sentence whether
//!   or not the address has an account (the mail goes out in the background, so the
//!   timing does not tell either);
//! - `POST /api/password/reset` `{token, password}`: a new password by link (200; 410;
//!   422 when the password breaks the rules, and the link stays usable); every session of
//!   the account is closed.
//! - `GET /account/verify?token=&lang=`, `GET|POST /account/reset`: the pages the links
//!   open, and `GET|POST /account/forgot` (the e-mail address; the same answer for any), in Ukrainian or English (`lang`, else the browser's), with the back office's
//!   stylesheet and CSP. The portal may replace them; the links stay the same.
//!
//! The mails and tokens: `crate::account_mail`, `bureau_accounts::tokens`.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use bureau_accounts::tokens::{self, TokenError};
use serde::{Deserialize, Serialize};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::ToSchema;

use super::auth::SignedIn;
use super::extract::{Json, Query};
use super::openapi::ErrorBody;
use super::{AppState, Error};
use crate::office::CONTENT_SECURITY_POLICY;
use crate::office::i18n::Lang;

pub fn router() -> Router<AppState> {
    let pages = Router::new()
        .route("/account/verify", get(verify_page))
        .route("/account/reset", get(reset_form).post(reset_submit))
        .route("/account/forgot", get(forgot_form).post(forgot_submit))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        // The token is in the address: it must not leave in a Referer.
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ));
    Router::new()
        .route("/api/accounts/verification", post(resend_verification))
        .route(
            "/api/accounts/verification/confirm",
            post(confirm_verification),
        )
        .route("/api/password/forgot", post(forgot))
        .route("/api/password/reset", post(reset))
        .merge(pages)
}

/// A sentence for people.
#[derive(Serialize, ToSchema)]
pub struct Message {
    pub message: String,
}

fn message(text: &str) -> axum::Json<Message> {
    axum::Json(Message {
        message: text.to_owned(),
    })
}

/// A one-time token from a mailed link.
#[derive(Deserialize, ToSchema)]
pub struct TokenBody {
    /// 64 hexadecimal digits, as in the link.
    pub token: String,
}

#[derive(Deserialize, ToSchema)]
pub struct ForgotBody {
    pub email: String,
    /// `uk` or `en`: the mail's language; else the request's `Accept-Language`.
    #[serde(default)]
    pub language: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct ResetBody {
    pub token: String,
    /// The new password, under the same rules as at registration.
    pub password: String,
}

/// The mail's language: what the client asked for, else its `Accept-Language`.
pub(crate) fn mail_language(asked: Option<&str>, headers: &HeaderMap) -> &'static str {
    asked
        .and_then(Lang::parse)
        .unwrap_or_else(|| Lang::of_request(headers))
        .code()
}

fn expired(error: TokenError) -> Error {
    match error {
        TokenError::Expired => Error::Gone {
            code: "link_expired",
            message: TokenError::Expired.to_string(),
        },
        TokenError::Password(weak) => Error::unprocessable("weak_password", weak),
        TokenError::Database(error) => Error::Database(error),
        TokenError::Hashing(reason) => {
            Error::Internal(anyhow::anyhow!("password hashing: {reason}"))
        }
    }
}

const SENT_AGAIN: &str =
    "We sent the link again. It may take a minute to arrive; look in the spam folder too.";
const ALREADY_VERIFIED: &str = "Your e-mail address is already verified.";
const VERIFIED: &str = "Your e-mail address is verified.";
const FORGOT: &str = "If this address has an account, we sent it a link to choose a new password. It may take a minute to arrive.";
const RESET: &str = "Your password is changed. Sign in with the new one.";

/// Send the verification link again.
#[utoipa::path(
    post,
    path = "/api/accounts/verification",
    tag = "accounts",
    security(("session" = [])),
    responses(
        (status = 202, description = "The link is on its way", body = Message),
        (status = 200, description = "The address is verified already (and not bouncing)", body = Message),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
pub(crate) async fn resend_verification(
    State(state): State<AppState>,
    SignedIn(account): SignedIn,
    headers: HeaderMap,
) -> Result<Response, Error> {
    // A bouncing address is verified again by a new link, as an unverified one is.
    let usable = tokens::email_state(&state.pool, account.id)
        .await?
        .is_some_and(|state| state.usable());
    if usable {
        return Ok((StatusCode::OK, message(ALREADY_VERIFIED)).into_response());
    }
    state
        .account_mail
        .send_verification(&state.pool, account.id, mail_language(None, &headers))
        .await?;
    Ok((StatusCode::ACCEPTED, message(SENT_AGAIN)).into_response())
}

/// Use a verification link.
#[utoipa::path(
    post,
    path = "/api/accounts/verification/confirm",
    tag = "accounts",
    request_body = TokenBody,
    responses(
        (status = 200, description = "The address is verified", body = Message),
        (status = 410, description = "The link was used, expired or never existed", body = ErrorBody),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 422, description = "The body lacks the token", body = ErrorBody),
    )
)]
pub(crate) async fn confirm_verification(
    State(state): State<AppState>,
    Json(body): Json<TokenBody>,
) -> Result<axum::Json<Message>, Error> {
    tokens::verify_email(&state.pool, &body.token)
        .await
        .map_err(expired)?;
    Ok(message(VERIFIED))
}

/// Ask for a password reset link.
#[utoipa::path(
    post,
    path = "/api/password/forgot",
    tag = "accounts",
    request_body = ForgotBody,
    responses(
        (status = 202, description = "The same answer whether or not the address has an account", body = Message),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 422, description = "The body lacks the address", body = ErrorBody),
    )
)]
pub(crate) async fn forgot(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<ForgotBody>,
) -> Result<(StatusCode, axum::Json<Message>), Error> {
    let language = mail_language(body.language.as_deref(), &headers);
    state
        .account_mail
        .send_reset(&state.pool, &body.email, language)
        .await?;
    Ok((StatusCode::ACCEPTED, message(FORGOT)))
}

/// Choose a new password with a reset link.
#[utoipa::path(
    post,
    path = "/api/password/reset",
    tag = "accounts",
    request_body = ResetBody,
    responses(
        (status = 200, description = "The password is changed; every session of the account is closed", body = Message),
        (status = 410, description = "The link was used, expired or never existed", body = ErrorBody),
        (status = 422, description = "The password breaks the rules (the link stays usable)", body = ErrorBody),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 503, description = "Too busy to hash a password now", body = ErrorBody),
    )
)]
pub(crate) async fn reset(
    State(state): State<AppState>,
    Json(body): Json<ResetBody>,
) -> Result<axum::Json<Message>, Error> {
    set_password(&state, &body.token, &body.password).await?;
    Ok(message(RESET))
}

async fn set_password(state: &AppState, token: &str, password: &str) -> Result<(), Error> {
    // A reset hashes a password: it queues for the same bounded slots as sign-ins.
    let _slot = state
        .sign_in
        .hashing
        .acquire()
        .await
        .map_err(|_| Error::Busy)?;
    tokens::reset_password(&state.pool, token, password)
        .await
        .map_err(expired)?;
    Ok(())
}

// ---- The pages the links open ----

#[derive(Deserialize)]
struct LinkQuery {
    #[serde(default)]
    token: String,
    lang: Option<String>,
}

#[derive(Deserialize)]
struct ForgotForm {
    #[serde(default)]
    email: String,
    lang: Option<String>,
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

#[derive(Deserialize)]
struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    lang: Option<String>,
}

/// The pages' words.
struct Words {
    lang: &'static str,
    verify_title: &'static str,
    verified: &'static str,
    reset_title: &'static str,
    new_password: &'static str,
    save: &'static str,
    changed: &'static str,
    expired: &'static str,
    sign_in: &'static str,
    forgot_title: &'static str,
    email: &'static str,
    send_link: &'static str,
    link_sent: &'static str,
}

const UK: Words = Words {
    lang: "uk",
    verify_title: "Підтвердження адреси",
    verified: "Дякуємо! Вашу адресу електронної пошти підтверджено.",
    reset_title: "Новий пароль",
    new_password: "Новий пароль",
    save: "Зберегти пароль",
    changed: "Пароль змінено. Увійдіть із новим паролем.",
    expired: "Це посилання вже використане або застаріло. Попросіть нове.",
    sign_in: "Увійти",
    forgot_title: "Забули пароль?",
    email: "Електронна пошта",
    send_link: "Надіслати посилання",
    link_sent: "Якщо для цієї адреси є обліковий запис, ми надіслали на неї посилання для нового пароля. Лист може йти хвилину; перевірте й теку «Спам».",
};

const EN: Words = Words {
    lang: "en",
    verify_title: "Confirm your address",
    verified: "Thank you! Your e-mail address is verified.",
    reset_title: "New password",
    new_password: "New password",
    save: "Save the password",
    changed: "Your password is changed. Sign in with the new one.",
    expired: "This link was already used or has expired. Ask for a new one.",
    sign_in: "Sign in",
    forgot_title: "Forgot your password?",
    email: "E-mail",
    send_link: "Send the link",
    link_sent: "If this address has an account, we sent it a link to choose a new password. It may take a minute to arrive; look in the spam folder too.",
};

fn words(asked: Option<&str>, headers: &HeaderMap) -> &'static Words {
    match mail_language(asked, headers) {
        "en" => &EN,
        _ => &UK,
    }
}

/// A page that says one thing (verified, changed, expired).
#[derive(Template)]
#[template(path = "account/said.html")]
struct Said {
    w: &'static Words,
    title: &'static str,
    text: String,
    ok: bool,
}

#[derive(Template)]
#[template(path = "account/reset.html")]
struct ResetPage {
    w: &'static Words,
    token: String,
    error: Option<String>,
}

fn page(status: StatusCode, template: impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => Error::Internal(anyhow::anyhow!("template: {error}")).into_response(),
    }
}

/// Verifies on opening: following the mailed link is the proof. (A mail scanner that
/// opens links first verifies the address too; it did receive the mail.)
async fn verify_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<LinkQuery>,
) -> Response {
    let w = words(query.lang.as_deref(), &headers);
    match tokens::verify_email(&state.pool, &query.token).await {
        Ok(_) => page(
            StatusCode::OK,
            Said {
                w,
                title: w.verify_title,
                text: w.verified.to_owned(),
                ok: true,
            },
        ),
        Err(TokenError::Database(error)) => Error::Database(error).into_response(),
        Err(_) => page(
            StatusCode::GONE,
            Said {
                w,
                title: w.verify_title,
                text: w.expired.to_owned(),
                ok: false,
            },
        ),
    }
}

#[derive(Template)]
#[template(path = "account/forgot.html")]
struct ForgotPage {
    w: &'static Words,
}

async fn forgot_form(headers: HeaderMap, Query(query): Query<LangQuery>) -> Response {
    page(
        StatusCode::OK,
        ForgotPage {
            w: words(query.lang.as_deref(), &headers),
        },
    )
}

/// The same page whatever the address; the mail (if any) goes out in the background.
async fn forgot_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<ForgotForm>,
) -> Response {
    let w = words(form.lang.as_deref(), &headers);
    if let Err(error) = state
        .account_mail
        .send_reset(&state.pool, &form.email, w.lang)
        .await
    {
        return Error::Database(error).into_response();
    }
    page(
        StatusCode::OK,
        Said {
            w,
            title: w.forgot_title,
            text: w.link_sent.to_owned(),
            ok: true,
        },
    )
}

async fn reset_form(headers: HeaderMap, Query(query): Query<LinkQuery>) -> Response {
    let w = words(query.lang.as_deref(), &headers);
    page(
        StatusCode::OK,
        ResetPage {
            w,
            token: query.token,
            error: None,
        },
    )
}

async fn reset_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<ResetForm>,
) -> Response {
    let w = words(form.lang.as_deref(), &headers);
    match set_password(&state, &form.token, &form.password).await {
        Ok(()) => page(
            StatusCode::OK,
            Said {
                w,
                title: w.reset_title,
                text: w.changed.to_owned(),
                ok: true,
            },
        ),
        Err(Error::Gone { .. }) => page(
            StatusCode::GONE,
            Said {
                w,
                title: w.reset_title,
                text: w.expired.to_owned(),
                ok: false,
            },
        ),
        // The rule the password broke, next to the field, in the page's language; the
        // link stays usable.
        Err(error @ Error::Unprocessable { .. }) => {
            let english = error.to_string();
            let lang = Lang::parse(w.lang).unwrap_or(Lang::Uk);
            page(
                StatusCode::UNPROCESSABLE_ENTITY,
                ResetPage {
                    w,
                    token: form.token,
                    error: Some(super::error_uk::message_in(&error, &english, lang)),
                },
            )
        }
        Err(other) => other.into_response(),
    }
}
