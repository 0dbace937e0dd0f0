//! `POST /api/accounts`: customers register themselves. Staff accounts are created by
//! operators with [`bureau_accounts::create_account`], never through this route.
//!
//! The answer is the same whether or not the e-mail address already has an account (201
//! with the same sentence), so registration cannot be used to find out who is a customer
//! or who is staff. Someone registering an address that has an account simply cannot sign
//! in with the new password; once the desk sends e-mail, the owner is told instead.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use bureau_accounts::{self as accounts, AccountError, Role};
use serde::{Deserialize, Serialize};

use super::extract::Json;
use super::{AppState, Error};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/accounts", post(register))
}

#[derive(Deserialize)]
struct Registration {
    email: String,
    password: String,
    display_name: String,
}

#[derive(Serialize)]
struct Registered {
    message: &'static str,
}

/// The one answer to a registration that passed the rules, new address or not.
const REGISTERED: &str =
    "Thank you. If this e-mail address had no account yet, it has one now: sign in with it.";

async fn register(
    State(state): State<AppState>,
    Json(registration): Json<Registration>,
) -> Result<(StatusCode, axum::Json<Registered>), Error> {
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
        Ok(account_id) => tracing::info!(%account_id, "customer registered"),
        // Answered as a new address is; the address itself is not logged either.
        Err(AccountError::EmailTaken) => {
            tracing::info!("registration for an e-mail address that has an account")
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
