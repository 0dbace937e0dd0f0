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
use super::openapi::ErrorBody;
use super::{AppState, Error};

pub fn router(checks: Readiness) -> Router<AppState> {
    Router::new().route(
        "/api/admin/readiness",
        get(move |staff: Staff| readiness(checks.clone(), staff)),
    )
}

/// Every dependency check with its outcome and error.
#[utoipa::path(
    get,
    path = "/api/admin/readiness",
    tag = "admin",
    security(("session" = [])),
    responses(
        (status = 200, description = "Ready: every check passed", body = Object),
        (status = 503, description = "Not ready: the failing checks with their errors", body = Object),
        (status = "4XX", description = "Not signed in, or not an admin", body = ErrorBody),
    )
)]
pub(crate) async fn readiness(
    readiness: Readiness,
    Staff(account): Staff,
) -> Result<(StatusCode, Json<serde_json::Value>), Error> {
    if account.role != Role::Admin {
        return Err(Error::Forbidden("This needs an admin account."));
    }
    let (ready, report) = readiness.report().await;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok((status, Json(report)))
}
