//! `POST /api/staff/orders/{order_id}/results`: staff attach result files to an order
//! (multipart, `file` parts; any staff role). The files stream into staging like a
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
use uuid::Uuid;

use super::auth::Staff;
use super::file_form::{FilesAccepted, accept_files};
use super::openapi::ErrorBody;
use super::order_form;
use super::{AppState, Error};
use crate::queries;

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
    Staff(staff): Staff,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, axum::Json<FilesAccepted>), Error> {
    order_form::refuse_oversized(&headers, state.settings.web_gateway.max_upload_bytes)?;
    let order_id = Uuid::parse_str(&order_id).map_err(|_| Error::NotFound(NO_SUCH_ORDER))?;
    if !queries::order_exists(&state.pool, order_id).await? {
        return Err(Error::NotFound(NO_SUCH_ORDER));
    }
    let mut multipart = multipart?;
    let accepted = accept_files(&state, &mut multipart, order_id, FilePurpose::Result).await?;
    tracing::info!(%order_id, staff = %staff.id, files = accepted.files.len(), "results attached");
    Ok((StatusCode::ACCEPTED, axum::Json(accepted)))
}
