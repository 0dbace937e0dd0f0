//! Signing staff in and out of the back office, with the accounts and sessions the API
//! uses (`bureau-accounts`, `sessions`): the same cookie, `HttpOnly`, `SameSite=Lax`,
//! `Secure` behind https.

use std::time::Duration;

use axum::Form;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::Client;
use super::i18n::Lang;
use super::views::{self, Chrome, SignInPage};
use crate::http::{
    AppState, ClientAddress, Error, guarded_authenticate, presented_token, session_cookie,
};
use crate::queries::office::{self as reads, Audit};
use crate::sessions;

pub async fn form(State(state): State<AppState>, client: Client) -> Response {
    // Already signed in as staff: straight to the list.
    if let Some(token) = presented_token(&client.headers)
        && let Ok(Some(account)) = sessions::resolve(&state.pool, &token).await
        && account.role.is_staff()
    {
        return Redirect::to("/office").into_response();
    }
    page(client.lang, StatusCode::OK, None, "")
}

fn page(lang: Lang, status: StatusCode, error: Option<&'static str>, email: &str) -> Response {
    let t = lang.texts();
    views::html(
        status,
        &SignInPage {
            chrome: Chrome::new(lang, None, "/office/sign-in", t.sign_in),
            error,
            email: email.to_owned(),
        },
    )
}

#[derive(Deserialize)]
pub struct Credentials {
    email: String,
    password: String,
}

/// Signs in with the API's guard (pauses after repeated failures, bounded hashing).
pub async fn submit(
    State(state): State<AppState>,
    client: Client,
    ClientAddress(address): ClientAddress,
    Form(credentials): Form<Credentials>,
) -> Response {
    let lang = client.lang;
    let t = lang.texts();
    let remote = client.remote;
    let checked =
        guarded_authenticate(&state, address, &credentials.email, &credentials.password).await;
    let account = match checked {
        Ok(account) => account,
        Err(Error::InvalidCredentials) => {
            return page(
                lang,
                StatusCode::UNAUTHORIZED,
                Some(t.wrong_credentials),
                &credentials.email,
            );
        }
        Err(error @ (Error::TooManyRequests { .. } | Error::Busy)) => {
            return page(
                lang,
                error.status_code(),
                Some(t.try_later),
                &credentials.email,
            );
        }
        Err(error) => return error.into_response(),
    };
    if !account.role.is_staff() {
        return page(
            lang,
            StatusCode::FORBIDDEN,
            Some(t.staff_only),
            &credentials.email,
        );
    }
    let ttl = Duration::from_secs(
        state
            .settings
            .web_gateway
            .session_ttl_hours
            .saturating_mul(3600),
    );
    let token = match sessions::open(&state.pool, account.id, ttl).await {
        Ok(token) => token,
        Err(error) => return Error::from(error).into_response(),
    };
    let audited = reads::audit(
        &state.pool,
        Audit {
            account_id: Some(account.id),
            action: "sign_in",
            order_id: None,
            subject: None,
            detail: None,
            remote_addr: remote,
        },
    )
    .await;
    if let Err(error) = audited {
        return Error::from(error).into_response();
    }
    tracing::info!(account_id = %account.id, role = %account.role, "signed in to the back office");
    let cookie = session_cookie(token.expose(), ttl.as_secs(), is_https(&state));
    ([(header::SET_COOKIE, cookie)], Redirect::to("/office")).into_response()
}

fn is_https(state: &AppState) -> bool {
    state
        .settings
        .web_gateway
        .public_url
        .starts_with("https://")
}

pub async fn sign_out(State(state): State<AppState>, client: Client) -> Response {
    if let Some(token) = presented_token(&client.headers) {
        if let Ok(Some(account)) = sessions::resolve(&state.pool, &token).await {
            let _ = reads::audit(
                &state.pool,
                Audit {
                    account_id: Some(account.id),
                    action: "sign_out",
                    order_id: None,
                    subject: None,
                    detail: None,
                    remote_addr: client.remote.clone(),
                },
            )
            .await;
        }
        if let Err(error) = sessions::close(&state.pool, &token).await {
            return Error::from(error).into_response();
        }
    }
    (
        [(header::SET_COOKIE, session_cookie("", 0, is_https(&state)))],
        Redirect::to("/office/sign-in"),
    )
        .into_response()
}
