//! `POST /api/staff/orders/{order_id}/results`: staff attach result files to an order
//! (multipart, `file` parts; staff the matrix lets upload results to the order, audited as
//! `result_upload` with the files' names). The files stream into staging like a
//! customer's, then travel as `FileReceived { purpose: Result }`; the storage worker keeps
//! them under `orders/{order}/results/...`, the persistence worker records them with
//! `purpose = 'result'`, and the notifier delivers them to the customer. The answer is 202:
//! the files are on their way, not yet stored.

use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use proto_events::FilePurpose;

use super::file_form::{FilesAccepted, publish_files, stage_files};
use super::openapi::ErrorBody;
use super::order_form;
use super::staff::Clerk;
use super::{AppState, Error};
use crate::office::permissions::Act;

pub fn router(max_upload_bytes: u64) -> Router<AppState> {
    let body_limit =
        usize::try_from(order_form::request_limit(max_upload_bytes)).unwrap_or(usize::MAX);
    Router::new().route(
        "/api/staff/orders/{order_id}/results",
        post(attach_results).layer(DefaultBodyLimit::max(body_limit)),
    )
}

const NO_SUCH_ORDER: &str = "No such order.";

/// The result form (multipart/form-data): any number of `file` parts.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Documentation only: the parts are read as they stream.
pub(crate) struct ResultFormDoc {
    #[schema(value_type = Vec<String>, format = Binary)]
    file: Vec<Vec<u8>>,
}

/// Staff attach result files to an order; they reach the customer once stored.
#[utoipa::path(
    post,
    path = "/api/staff/orders/{order_id}/results",
    tag = "staff",
    security(("session" = [])),
    params(("order_id" = String, Path, description = "The order's id (a UUID)")),
    request_body(content = ResultFormDoc, content_type = "multipart/form-data"),
    responses(
        (status = 202, description = "Accepted; stored and announced in the background", body = super::file_form::FilesAccepted),
        (status = 413, description = "A file over the limit", body = ErrorBody),
        (status = "4XX", description = "Not signed in, not staff, no such order, or a bad form", body = ErrorBody),
        (status = 503, description = "Broker or storage down: nothing was saved (`Retry-After`)", body = ErrorBody),
    )
)]
pub(crate) async fn attach_results(
    State(state): State<AppState>,
    clerk: Clerk,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, axum::Json<FilesAccepted>), Error> {
    let order_id = clerk
        .may(&state, &order_id, Act::UploadResult, NO_SUCH_ORDER)
        .await?;
    order_form::refuse_oversized(&headers, state.settings.web_gateway.max_upload_bytes)?;
    let mut multipart = multipart?;
    let staged = stage_files(&state, &mut multipart, order_id, FilePurpose::Result).await?;
    // Audited once the files are here and before they are announced, like every staff
    // action: an upload that failed did nothing, and nothing is announced unaudited.
    if let Err(error) = clerk
        .audit(
            &state,
            "result_upload",
            Some(order_id),
            None,
            Some(&staged.names().join(", ")),
        )
        .await
    {
        staged.discard().await;
        return Err(error);
    }
    let accepted = publish_files(&state, staged, order_id, FilePurpose::Result).await?;
    tracing::info!(%order_id, staff = %clerk.account.id, files = accepted.files.len(), "results attached");
    Ok((StatusCode::ACCEPTED, axum::Json(accepted)))
}
