//! Uploads by signed link, for customers without a web session: the bot sends a Telegram
//! customer whose file is above Telegram's 20 MB download limit a personal link
//! (`links::upload_link`) to one order.
//!
//! - `GET /u/{token}`: a small page with a file input and a progress bar;
//! - `POST /u/{token}` (multipart, `file` parts): the files stream into staging and travel
//!   as `FileReceived { purpose: CustomerUpload }` for that order; 201 with the files.
//!
//! An expired or revoked link answers 410 with a sentence saying what to do; one that is not
//! ours 404; one for an order that is closed (delivered, cancelled, rejected) 409: it takes
//! no more files, whatever the link's age. Both are checked again once every file is staged,
//! before anything is announced: an upload racing the order's closing (or staff revoking the
//! link) ends with the same answer and leaves nothing behind.
//!
//! - `POST /api/staff/orders/{order_id}/links/revoke`: staff revoke every live upload and
//!   download link of an order (a link was forwarded, a customer asked); 200 with how many.
//!   Staff the matrix lets revoke the order's links; audited as `links_revoked`.

use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use bureau_platform::links::{self, LinkPurpose, Revocation};
use proto_events::{FilePurpose, OrderStatus};
use serde::Serialize;
use uuid::Uuid;

use super::error::human_size;
use super::file_form::{publish_files, stage_files};
use super::files::{LINK_NOT_FOUND, escape_html, link_page, verify_link};
use super::openapi::ErrorBody;
use super::order_form;
use super::staff::Clerk;
use super::{AppState, Error};
use crate::office::permissions::Act;
use crate::queries::{self, OrderState};

pub fn router(max_upload_bytes: u64) -> Router<AppState> {
    let body_limit =
        usize::try_from(order_form::request_limit(max_upload_bytes)).unwrap_or(usize::MAX);
    Router::new()
        .route(
            "/u/{token}",
            get(upload_page)
                .post(upload)
                .layer(DefaultBodyLimit::max(body_limit)),
        )
        .route(
            "/api/staff/orders/{order_id}/links/revoke",
            post(revoke_links),
        )
}

const PAGE: &str = include_str!("../../assets/upload.html");

async fn upload_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, Error> {
    let order_id = match verify_link(&state, &token, LinkPurpose::Upload).await? {
        Ok(link) => link.subject,
        Err(page) => return Ok(*page),
    };
    let order_number = match open_order(&state, order_id).await? {
        Ok(order_number) => order_number,
        Err(page) => return Ok(page),
    };
    let page = PAGE
        .replace("{{order_number}}", &escape_html(&order_number))
        .replace(
            "{{max_size}}",
            &escape_html(&human_size(state.settings.web_gateway.max_upload_bytes)),
        )
        .replace(
            "{{max_bytes}}",
            &state.settings.web_gateway.max_upload_bytes.to_string(),
        );
    Ok(Html(page).into_response())
}

async fn upload(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, Error> {
    let order_id = match verify_link(&state, &token, LinkPurpose::Upload).await? {
        Ok(link) => link.subject,
        Err(page) => return Ok(*page),
    };
    order_form::refuse_oversized(&headers, state.settings.web_gateway.max_upload_bytes)?;
    if let Err(page) = open_order(&state, order_id).await? {
        return Ok(page);
    }
    let mut multipart = multipart?;
    let staged = stage_files(
        &state,
        &mut multipart,
        order_id,
        FilePurpose::CustomerUpload,
    )
    .await?;
    // The bytes took their time: the order may have closed, or the link been revoked, while
    // they streamed. Checked again at the end of the upload, before anything is announced.
    let still = match verify_link(&state, &token, LinkPurpose::Upload).await {
        Ok(Ok(_)) => open_order(&state, order_id).await,
        Ok(Err(page)) => Ok(Err(*page)),
        Err(error) => Err(error),
    };
    match still {
        Ok(Ok(_)) => {}
        Ok(Err(page)) => {
            staged.discard().await;
            tracing::info!(%order_id, "an upload by link ended after its order closed or its link was revoked; discarded");
            return Ok(page);
        }
        Err(error) => {
            staged.discard().await;
            return Err(error);
        }
    }
    let accepted = publish_files(&state, staged, order_id, FilePurpose::CustomerUpload).await?;
    Ok((StatusCode::CREATED, axum::Json(accepted)).into_response())
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Revoked {
    /// How many links were live and are revoked now.
    revoked: u64,
}

/// Staff revoke every live link of an order: 200 with how many were live (0 is fine).
#[utoipa::path(
    post,
    path = "/api/staff/orders/{order_id}/links/revoke",
    tag = "staff",
    security(("session" = [])),
    params(("order_id" = String, Path, description = "The order's id (a UUID)")),
    responses(
        (status = 200, description = "Revoked", body = Revoked),
        (status = "4XX", description = "Not signed in, not staff, or not an order id", body = ErrorBody),
    )
)]
pub(crate) async fn revoke_links(
    State(state): State<AppState>,
    clerk: Clerk,
    Path(order_id): Path<String>,
) -> Result<axum::Json<Revoked>, Error> {
    let order_id = clerk
        .may(&state, &order_id, Act::RevokeLinks, "No such order.")
        .await?;
    clerk
        .audit(&state, "links_revoked", Some(order_id), None, None)
        .await?;
    let mut connection = state.pool.acquire().await?;
    let revoked = links::revoke_order_links(
        &mut connection,
        order_id,
        &[LinkPurpose::Upload, LinkPurpose::Download],
        Revocation::Staff,
    )
    .await?;
    tracing::info!(%order_id, staff = %clerk.account.id, revoked, "links revoked by staff");
    Ok(axum::Json(Revoked { revoked }))
}

/// The number of the order the link is for, or the page to answer instead: 404 when there
/// is no such order, 409 when it is closed and takes no more files.
async fn open_order(state: &AppState, order_id: Uuid) -> Result<Result<String, Response>, Error> {
    let Some(OrderState {
        order_number,
        status,
        ..
    }) = queries::order_state(&state.pool, order_id).await?
    else {
        return Ok(Err(link_page(StatusCode::NOT_FOUND, LINK_NOT_FOUND)));
    };
    if OrderStatus::parse(&status).is_some_and(OrderStatus::is_terminal) {
        let message = format!(
            "Order №{order_number} is closed ({}) and takes no more files. If you need something more, place a new order or write to us.",
            status.replace('_', " ")
        );
        return Ok(Err(link_page(StatusCode::CONFLICT, &message)));
    }
    Ok(Ok(order_number))
}
