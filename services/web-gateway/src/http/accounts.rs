//! `POST /api/accounts`: customers register themselves. Staff accounts are created by
//! operators with [`bureau_accounts::create_account`], never through this route.
//!
//! The answer is the same whether or not the e-mail address already has an account (201
//! with the same sentence), so registration cannot be used to find out who is a customer
//! or who is staff. Someone registering an address that has an account simply cannot sign
//! in with the new password; the owner is e-mailed that someone tried (with a reset link),
//! while a new account is e-mailed its verification link (`crate::account_mail`; both in
//! the background, so the answer's timing tells nothing either).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use bureau_accounts::{self as accounts, AccountError, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::account_mail::mail_language;
use super::extract::Json;
use super::openapi::ErrorBody;
use super::{AppState, Error};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/accounts", post(register))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct Registration {
    email: String,
    password: String,
    display_name: String,
    /// `uk` or `en`: the language of the verification mail; else `Accept-Language`.
    #[serde(default)]
    language: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Registered {
    message: &'static str,
}

/// The one answer to a registration that passed the rules, new address or not.
const REGISTERED: &str =
    "Thank you. If this e-mail address had no account yet, it has one now: sign in with it.";

/// Register a customer account.
#[utoipa::path(
    post,
    path = "/api/accounts",
    tag = "accounts",
    request_body = Registration,
    responses(
        (status = 201, description = "Registered (or the address had an account already: the same answer)", body = Registered),
        (status = 422, description = "An e-mail, password or name that breaks the rules", body = ErrorBody),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 503, description = "Too busy to hash a password now", body = ErrorBody),
    )
)]
pub(crate) async fn register(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(registration): Json<Registration>,
) -> Result<(StatusCode, axum::Json<Registered>), Error> {
    let language = mail_language(registration.language.as_deref(), &headers);
    // Registration hashes a password too: it queues for the same bounded slots.
    let _slot = state
        .sign_in
        .hashing
        .acquire()
        .await
        .map_err(|_| Error::Busy)?;
    let created = accounts::create_account(
        &state.pool,
        &registration.email,
        &registration.password,
        &registration.display_name,
        Role::Customer,
    )
    .await;
    match created {
        Ok(account_id) => {
            tracing::info!(%account_id, "customer registered");
            state
                .account_mail
                .send_verification(&state.pool, account_id, language)
                .await?;
        }
        // Answered as a new address is; the address itself is not logged either.
        Err(AccountError::EmailTaken) => {
            tracing::info!("registration for an e-mail address that has an account");
            state
                .account_mail
                .send_already_registered(&state.pool, &registration.email, language)
                .await?;
        }
        Err(other) => return Err(other.into()),
    }
    Ok((
        StatusCode::CREATED,
        axum::Json(Registered {
            message: REGISTERED,
        }),
    ))
}
