//! Downloads: a stored file leaves through a short-lived presigned URL of the object store,
//! after the gateway checked who may see it, always as an attachment with a type that is
//! safe to serve (`domain::served`). Files a browser would run (HTML, SVG, XML, scripts,
//! by type or by name) are the exception: the object store cannot send
//! `X-Content-Type-Options: nosniff`, so the gateway streams those itself, opaque.
//!
//! - `GET /api/orders/{order_number}/files/{file_id}/download`: the customer's own order;
//! - `GET /api/staff/orders/{order_id}/files/{file_id}/download`: staff the matrix lets
//!   download the order's files (audited as `file_download`, as on the pages);
//! - `GET /d/{token}`: a signed, stored download link (`links::issue_download_link`), for
//!   customers without a web session (the notifier sends these for results too big for Telegram).
//!
//! Each answers 303 to the presigned URL (valid `storage.presigned_url_ttl_secs`), or 200
//! with the bytes for a file the gateway serves itself. A file
//! that is not stored (still arriving, rejected) answers 404 like one that does not exist,
//! and so does a file of someone else's order.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use bureau_platform::links::{self, LinkError, LinkPurpose, LinkSigner, LinkState, VerifiedLink};
use bureau_platform::object_store::attachment_disposition;
use proto_events::order_number;
use uuid::Uuid;

use super::auth::Customer;
use super::openapi::ErrorBody;
use super::staff::Clerk;
use super::{AppState, Error};
use crate::domain::{OPAQUE, Served, served};
use crate::office::permissions::Act;
use crate::queries::{self, StoredFile};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/orders/{order_number}/files/{file_id}/download",
            get(customer_download),
        )
        .route(
            "/api/staff/orders/{order_id}/files/{file_id}/download",
            get(staff_download),
        )
        .route("/d/{token}", get(link_download))
}

const NO_SUCH_FILE: &str = "No such file.";

/// Download a stored file of the customer's own order: a redirect to a short-lived
/// presigned URL (or, for types a browser would run, the bytes as an attachment).
#[utoipa::path(
    get,
    path = "/api/orders/{order_number}/files/{file_id}/download",
    tag = "orders",
    security(("session" = [])),
    params(
        ("order_number" = String, Path, description = "The order's number"),
        ("file_id" = String, Path, description = "The file's id (a UUID)"),
    ),
    responses(
        (status = 302, description = "Redirect to the file (`Location`)"),
        (status = 200, description = "The file itself, as an attachment", content_type = "application/octet-stream", body = Vec<u8>),
        (status = "4XX", description = "Not signed in, not a customer, or no such stored file of this customer", body = ErrorBody),
    )
)]
pub(crate) async fn customer_download(
    State(state): State<AppState>,
    Customer(customer): Customer,
    Path((number, file_id)): Path<(String, String)>,
) -> Result<Response, Error> {
    let number = order_number::parse(&number).ok_or(Error::NotFound(NO_SUCH_FILE))?;
    let file_id = Uuid::parse_str(&file_id).map_err(|_| Error::NotFound(NO_SUCH_FILE))?;
    let file = queries::customer_stored_file(&state.pool, customer.id, &number, file_id)
        .await?
        .ok_or(Error::NotFound(NO_SUCH_FILE))?;
    redirect_to(&state, &file).await
}

#[utoipa::path(
    get,
    path = "/api/staff/orders/{order_id}/files/{file_id}/download",
    tag = "staff",
    security(("session" = [])),
    params(
        ("order_id" = String, Path, description = "The order's id (a UUID)"),
        ("file_id" = String, Path, description = "The file's id (a UUID)"),
    ),
    responses(
        (status = 302, description = "Redirect to the file (`Location`)"),
        (status = 200, description = "The file itself, as an attachment", content_type = "application/octet-stream", body = Vec<u8>),
        (status = "4XX", description = "Not signed in, not staff, or no such stored file", body = ErrorBody),
    )
)]
pub(crate) async fn staff_download(
    State(state): State<AppState>,
    clerk: Clerk,
    Path((order_id, file_id)): Path<(String, String)>,
) -> Result<Response, Error> {
    let order_id = clerk
        .may(&state, &order_id, Act::DownloadFile, NO_SUCH_FILE)
        .await?;
    let file_id = Uuid::parse_str(&file_id).map_err(|_| Error::NotFound(NO_SUCH_FILE))?;
    let file = queries::order_stored_file(&state.pool, order_id, file_id)
        .await?
        .ok_or(Error::NotFound(NO_SUCH_FILE))?;
    clerk
        .audit(
            &state,
            "file_download",
            Some(order_id),
            Some(&file_id.to_string()),
            Some(&file.original_name),
        )
        .await?;
    redirect_to(&state, &file).await
}

async fn link_download(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, Error> {
    let link = match verify_link(&state, &token, LinkPurpose::Download).await? {
        Ok(link) => link,
        Err(page) => return Ok(*page),
    };
    match queries::stored_file(&state.pool, link.subject).await? {
        Some(file) => redirect_to(&state, &file).await,
        None => Ok(link_page(StatusCode::NOT_FOUND, LINK_NOT_FOUND)),
    }
}

/// 303 to a presigned GET that downloads the file as an attachment under its original name
/// with a safe type, or the bytes streamed by the gateway for a file a browser would run.
pub(crate) async fn redirect_to(state: &AppState, file: &StoredFile) -> Result<Response, Error> {
    let content_type = match served(file.content_type.as_deref(), &file.original_name) {
        Served::Presigned { content_type } => content_type,
        Served::Gateway => return stream_opaque(state, file).await,
    };
    let ttl = Duration::from_secs(state.settings.storage.presigned_url_ttl_secs);
    let url = state
        .store
        .presigned_get(&file.object_key, &file.original_name, content_type, ttl)
        .await
        .map_err(|error| anyhow::anyhow!("presigning a download: {error}"))?;
    Ok(Redirect::to(&url).into_response())
}

/// The file's bytes as an opaque attachment that no browser renders, sniffs or lets run
/// scripts: `application/octet-stream`, `nosniff`, `Content-Security-Policy: sandbox`.
async fn stream_opaque(state: &AppState, file: &StoredFile) -> Result<Response, Error> {
    let bytes = state
        .store
        .get_stream(&file.object_key)
        .await
        .map_err(|error| anyhow::anyhow!("reading a download: {error}"))?;
    let disposition = HeaderValue::from_str(&attachment_disposition(&file.original_name))
        .map_err(|error| anyhow::anyhow!("a download's disposition: {error}"))?;
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(OPAQUE)),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::CONTENT_DISPOSITION, disposition),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("sandbox; default-src 'none'"),
        ),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        ),
    ];
    Ok((headers, Body::from_stream(bytes)).into_response())
}

pub const LINK_NOT_FOUND: &str =
    "This link is not valid. Check that it was copied whole, or ask us for a new one.";
pub const LINK_EXPIRED: &str = "This link has expired. Ask us for a new one: in Telegram, open the order and we will send a fresh link.";

pub const LINK_REVOKED: &str = "This link was withdrawn: the order is closed, or we revoked it. If you still need it, ask us for a new one.";

/// A valid signed link that is stored and not revoked, or the page to answer instead: 404
/// for a link that is not ours (or links are off, or it was never stored), 410 Gone for one
/// that expired or was revoked. The page is boxed: a `Response` is large, and the `Ok` side
/// is only two ids.
pub async fn verify_link(
    state: &AppState,
    token: &str,
    purpose: LinkPurpose,
) -> Result<Result<VerifiedLink, Box<Response>>, Error> {
    let Some(signer) = LinkSigner::new(&state.settings.links.secret) else {
        return Ok(Err(Box::new(link_page(
            StatusCode::NOT_FOUND,
            LINK_NOT_FOUND,
        ))));
    };
    let verified = match signer.verify(token, purpose) {
        Ok(verified) => verified,
        Err(LinkError::Invalid) => {
            return Ok(Err(Box::new(link_page(
                StatusCode::NOT_FOUND,
                LINK_NOT_FOUND,
            ))));
        }
        Err(LinkError::Expired) => {
            return Ok(Err(Box::new(link_page(StatusCode::GONE, LINK_EXPIRED))));
        }
    };
    Ok(
        match links::link_state(&state.pool, &verified, purpose).await? {
            LinkState::Active { .. } => Ok(verified),
            LinkState::Revoked => Err(Box::new(link_page(StatusCode::GONE, LINK_REVOKED))),
            LinkState::Unknown => Err(Box::new(link_page(StatusCode::NOT_FOUND, LINK_NOT_FOUND))),
        },
    )
}

/// A small page with one sentence: signed links are opened in a browser, not by programs.
pub fn link_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Bureau</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\
         <body style=\"font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem\">\
         <p>{}</p></body></html>",
        escape_html(message)
    );
    (status, Html(body)).into_response()
}

pub fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_their_text() {
        assert_eq!(
            escape_html("<a href=\"x\">&"),
            "&lt;a href=&quot;x&quot;&gt;&amp;"
        );
    }
}
