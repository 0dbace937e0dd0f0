//! Reading the multipart order form: `text`, `service_code` and any number of `file`
//! parts, in whatever order the client sends them. Each file streams straight from the
//! request into staging in the object store, so memory stays bounded whatever its size.

use axum::extract::Multipart;
use axum::extract::multipart::{Field, MultipartError};
use axum::http::{HeaderMap, header};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream};
use uuid::Uuid;

use super::Error;
use super::error::human_size;
use crate::domain::{OrderText, ServiceCode, ServiceCodeError, UploadName};
use crate::intake::{StagedFile, Staging, staging_key};
use crate::quotas::Budget;
use bureau_platform::object_store::{ObjectStore, UploadError};

/// Room for part headers, boundaries and the text fields on top of the file bytes.
pub const MULTIPART_OVERHEAD_BYTES: u64 = 1024 * 1024;
/// Each file is one event and one row; an order with more is almost certainly a mistake.
pub const MAX_FILES: usize = 100;
/// UTF-8 needs at most 4 bytes per character.
const MAX_TEXT_BYTES: usize = OrderText::MAX_CHARS * 4;
const MAX_SERVICE_CODE_BYTES: usize = 1024;

/// The largest request body the orders route reads.
pub fn request_limit(max_upload_bytes: u64) -> u64 {
    max_upload_bytes.saturating_add(MULTIPART_OVERHEAD_BYTES)
}

/// Refuses, before reading a byte of it, a request whose `Content-Length` already says it
/// is too large: the client learns at once instead of after uploading gigabytes.
pub fn refuse_oversized(headers: &HeaderMap, max_upload_bytes: u64) -> Result<(), Error> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    match declared {
        Some(length) if length > request_limit(max_upload_bytes) => Err(Error::PayloadTooLarge {
            message: format!(
                "This upload is {}; an order can carry at most {} of files.",
                human_size(length),
                human_size(max_upload_bytes)
            ),
        }),
        _ => Ok(()),
    }
}

/// The form as read, files already staged.
pub struct OrderForm {
    pub text: OrderText,
    pub service_code: Option<ServiceCode>,
    pub files: Vec<StagedFile>,
}

/// Reads the whole form, staging each file under `staging/{order_id}/...` as it arrives.
/// Every key is tracked in `staging` before its upload starts, so the caller can remove
/// what was written if anything later fails.
pub async fn read(
    multipart: &mut Multipart,
    order_id: Uuid,
    store: &ObjectStore,
    max_file_bytes: u64,
    budget: &mut Budget,
    staging: &mut Staging,
) -> Result<OrderForm, Error> {
    let mut text = None;
    let mut service_code = None;
    let mut files = Vec::new();
    while let Some(field) = multipart.next_field().await? {
        match field.name().unwrap_or_default() {
            "text" => {
                refuse_repeat("text", text.is_some())?;
                let too_long = || {
                    let message = "The order description can be at most 10,000 characters long.";
                    Error::unprocessable("text_too_long", message)
                };
                let raw =
                    read_small(field, MAX_TEXT_BYTES, "The order description", too_long).await?;
                text = Some(
                    OrderText::parse(&raw).map_err(|e| Error::unprocessable("text_too_long", e))?,
                );
            }
            "service_code" => {
                refuse_repeat("service_code", service_code.is_some())?;
                let too_long = || Error::unprocessable("invalid_service_code", ServiceCodeError);
                let raw =
                    read_small(field, MAX_SERVICE_CODE_BYTES, "The service code", too_long).await?;
                service_code = Some(
                    ServiceCode::parse(&raw)
                        .map_err(|e| Error::unprocessable("invalid_service_code", e))?,
                );
            }
            "file" => {
                if files.len() == MAX_FILES {
                    return Err(Error::unprocessable(
                        "too_many_files",
                        format!("An order can have at most {MAX_FILES} files."),
                    ));
                }
                if let Some(file) = stage_file(
                    field,
                    order_id,
                    files.len() + 1,
                    store,
                    max_file_bytes,
                    budget,
                    staging,
                )
                .await?
                {
                    files.push(file);
                }
            }
            // Strict on purpose: a client sending `files` instead of `file` would otherwise
            // place an order without its files and never know.
            other => {
                return Err(Error::unprocessable(
                    "unexpected_field",
                    format!(
                        "The form has an unexpected field `{other}`; the fields are `text`, `service_code` and `file`."
                    ),
                ));
            }
        }
    }
    Ok(OrderForm {
        text: text.unwrap_or_default(),
        service_code: service_code.flatten(),
        files,
    })
}

fn refuse_repeat(name: &str, seen: bool) -> Result<(), Error> {
    if seen {
        return Err(Error::unprocessable(
            "duplicate_field",
            format!("Send the field `{name}` only once."),
        ));
    }
    Ok(())
}

/// A text field, refused with `too_long` as soon as it grows past `max_bytes` rather than
/// buffered whole first.
async fn read_small(
    mut field: Field<'_>,
    max_bytes: usize,
    what: &str,
    too_long: impl FnOnce() -> Error,
) -> Result<String, Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        if bytes.len() + chunk.len() > max_bytes {
            return Err(too_long());
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes)
        .map_err(|_| Error::unprocessable("not_utf8", format!("{what} must be UTF-8 text.")))
}

/// Streams one file part into staging. `None` for the empty part a browser sends for a
/// file input left blank (no name, no bytes). The file counts against `budget` (the
/// customer's quotas for the day): a file past the day's count is refused before its
/// bytes are read, and one that passes the day's bytes as it streams is cut off there.
#[allow(clippy::too_many_arguments)]
pub(super) async fn stage_file(
    mut field: Field<'_>,
    order_id: Uuid,
    position: usize,
    store: &ObjectStore,
    max_file_bytes: u64,
    budget: &mut Budget,
    staging: &mut Staging,
) -> Result<Option<StagedFile>, Error> {
    let sent_name = field.file_name().map(str::to_owned);
    let declared_content_type = field.content_type().map(str::to_owned);
    let first_chunk = field.chunk().await?;
    if first_chunk.is_none() && sent_name.as_deref().is_none_or(str::is_empty) {
        return Ok(None);
    }
    budget.ready().await?;
    budget.check_file()?;
    let quota_binds = budget.bytes_bind(max_file_bytes);
    let max_file_bytes = budget.file_limit(max_file_bytes);

    let file_id = Uuid::now_v7();
    let key = staging_key(order_id, file_id);
    staging.track(&key);
    // Keep the request's own error aside: the store only sees its text, but a body that
    // hit the size limit must still answer 413, not 400.
    let mut body_error: Option<MultipartError> = None;
    let body = stream::iter(first_chunk.map(Ok::<Bytes, MultipartError>))
        .chain(&mut field)
        .map_err(|error| {
            let text = error.to_string();
            body_error = Some(error);
            text
        });
    let uploaded = store.upload_stream(&key, body, Some(max_file_bytes)).await;
    if let Some(error) = body_error {
        return Err(error.into());
    }
    let uploaded = match (uploaded, quota_binds) {
        (Err(UploadError::TooLarge { .. }), Some(exceeded)) => return Err(exceeded.into()),
        (uploaded, _) => uploaded?,
    };
    budget.take(uploaded.size);
    Ok(Some(StagedFile {
        file_id,
        staging_key: key,
        name: UploadName::from_sent(sent_name.as_deref(), position),
        size: uploaded.size,
        sha256: uploaded.sha256,
        content_type: uploaded.content_type,
        declared_content_type,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_length(length: u64) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        headers
    }

    #[test]
    fn declared_lengths_over_the_limit_are_refused_up_front() {
        let limit = 10 * 1024 * 1024;
        assert!(refuse_oversized(&HeaderMap::new(), limit).is_ok());
        assert!(refuse_oversized(&with_length(limit), limit).is_ok());
        assert!(refuse_oversized(&with_length(limit + MULTIPART_OVERHEAD_BYTES), limit).is_ok());
        let error = refuse_oversized(&with_length(limit + MULTIPART_OVERHEAD_BYTES + 1), limit)
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "This upload is 11.0 MiB; an order can carry at most 10 MiB of files."
        );
    }
}
