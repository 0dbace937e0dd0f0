//! `GET /api/admin/readiness`: what `/readyz` checks, with each check's outcome and error,
//! for a signed-in admin. The public `/readyz` says only whether the gateway is ready: host
//! names and raw errors are for the people who run it.

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use bureau_accounts::Role;
use bureau_platform::health::Readiness;

use super::auth::Staff;
use super::{AppState, Error};

pub fn router(readiness: Readiness) -> Router<AppState> {
    Router::new().route(
        "/api/admin/readiness",
        get(move |Staff(account): Staff| {
            let readiness = readiness.clone();
            async move {
                if account.role != Role::Admin {
                    return Err(Error::Forbidden("This needs an admin account."));
                }
                let (ready, report) = readiness.report().await;
                let status = if ready {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                };
                Ok::<_, Error>((status, Json(report)))
            }
        }),
    )
}
