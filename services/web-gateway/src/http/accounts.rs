//! `POST /api/accounts`: customers register themselves. Staff accounts are created by
//! operators with [`bureau_accounts::create_account`], never through this route.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use bureau_accounts::{self as accounts, Role};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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
    account_id: Uuid,
}

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
    let account_id = accounts::create_account(
        &state.pool,
        &registration.email,
        &registration.password,
        &registration.display_name,
        Role::Customer,
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(Registered { account_id })))
}
