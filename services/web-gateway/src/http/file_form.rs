//! Forms that carry only files (`file` parts): staff results and uploads by signed link.
//! Each file streams into staging exactly as an order's files do (see `order_form`), and
//! becomes one `FileReceived` for an existing order once every file is staged.

use axum::extract::Multipart;
use proto_events::{Envelope, FilePurpose, FileReceived};
use serde::Serialize;
use uuid::Uuid;

use super::order_form::{self, MAX_FILES};
use super::{AppState, Error};
use crate::intake::{PRODUCER, StagedFile, Staging, publish_staged};
use crate::quotas::{self, Budget};

/// A file accepted into an order, as the answer lists it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AcceptedFile {
    pub file_id: Uuid,
    pub name: String,
    pub size: u64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct FilesAccepted {
    pub order_id: Uuid,
    pub files: Vec<AcceptedFile>,
}

/// Every `file` part of a form, staged for one order and not yet announced.
pub struct StagedFiles {
    files: Vec<StagedFile>,
    staging: Staging,
    /// The customer whose quotas the files count against (`None` for staff results).
    customer_id: Option<Uuid>,
}

impl StagedFiles {
    /// The files' names, as they will be stored.
    pub fn names(&self) -> Vec<String> {
        self.files
            .iter()
            .map(|f| f.name.as_str().to_owned())
            .collect()
    }

    /// Deletes the staged objects: the files will not be announced (nor charged).
    pub async fn discard(self) {
        self.staging.discard().await;
    }
}

/// Stages every `file` part of `multipart`, publishes one `FileReceived` with `purpose` per
/// file (confirmed by the broker) and lists what was accepted: [`stage_files`], then
/// [`publish_files`]. (Staff results go through the two steps apart, to audit between.)
pub async fn accept_files(
    state: &AppState,
    multipart: &mut Multipart,
    order_id: Uuid,
    purpose: FilePurpose,
) -> Result<FilesAccepted, Error> {
    let staged = stage_files(state, multipart, order_id, purpose).await?;
    publish_files(state, staged, order_id, purpose).await
}

/// Stages every `file` part of `multipart` for `order_id`, within the customer's quotas
/// for a customer's upload. A failure, or a form without files, deletes what was staged.
pub async fn stage_files(
    state: &AppState,
    multipart: &mut Multipart,
    order_id: Uuid,
    purpose: FilePurpose,
) -> Result<StagedFiles, Error> {
    let max_upload_bytes = state.settings.web_gateway.max_upload_bytes;
    // A customer's uploads count against their quotas; staff results do not.
    let quota_settings = &state.settings.web_gateway.quotas;
    let customer_id = match purpose {
        FilePurpose::CustomerUpload => quotas::customer_of_order(&state.pool, order_id).await?,
        _ => None,
    };
    let mut budget = match customer_id {
        Some(customer_id) => Budget::of(
            quotas::allowance(&state.pool, quota_settings, customer_id).await?,
            quota_settings,
        ),
        None => Budget::unlimited(),
    };
    let mut staging = Staging::new(state.store.clone());
    let read = read_files(
        state,
        multipart,
        order_id,
        max_upload_bytes,
        &mut budget,
        &mut staging,
    )
    .await;
    match read {
        Ok(files) if files.is_empty() => {
            staging.discard().await;
            Err(Error::unprocessable(
                "no_files",
                "Attach at least one file.",
            ))
        }
        Ok(files) => Ok(StagedFiles {
            files,
            staging,
            customer_id,
        }),
        Err(error) => {
            staging.discard().await;
            Err(error)
        }
    }
}

/// Charges the customer's quotas, publishes one `FileReceived` with `purpose` per staged
/// file (confirmed by the broker) and lists what was accepted. Nothing is published unless
/// every file is staged; the publish settles the staged objects as an order's are
/// ([`crate::intake::publish_staged`]).
pub async fn publish_files(
    state: &AppState,
    staged: StagedFiles,
    order_id: Uuid,
    purpose: FilePurpose,
) -> Result<FilesAccepted, Error> {
    let StagedFiles {
        files,
        staging,
        customer_id,
    } = staged;
    if let Some(customer_id) = customer_id {
        let quota_settings = &state.settings.web_gateway.quotas;
        let bytes: u64 = files.iter().map(|file| file.size).sum();
        let count = u32::try_from(files.len()).unwrap_or(u32::MAX);
        if let Err(error) =
            quotas::charge(&state.pool, quota_settings, customer_id, bytes, count).await
        {
            staging.discard().await;
            return Err(error.into());
        }
    }
    let events: Vec<Envelope> = files
        .iter()
        .map(|file| received(order_id, purpose, file))
        .collect();
    publish_staged(state.bus.clone(), events, staging).await?;
    tracing::info!(%order_id, purpose = purpose.as_str(), files = files.len(), "files accepted");
    Ok(FilesAccepted {
        order_id,
        files: files
            .into_iter()
            .map(|file| AcceptedFile {
                file_id: file.file_id,
                name: file.name.into_string(),
                size: file.size,
            })
            .collect(),
    })
}

async fn read_files(
    state: &AppState,
    multipart: &mut Multipart,
    order_id: Uuid,
    max_file_bytes: u64,
    budget: &mut Budget,
    staging: &mut Staging,
) -> Result<Vec<StagedFile>, Error> {
    let mut files = Vec::new();
    while let Some(field) = multipart.next_field().await? {
        if field.name() != Some("file") {
            let other = field.name().unwrap_or_default().to_owned();
            return Err(Error::unprocessable(
                "unexpected_field",
                format!("The form has an unexpected field `{other}`; send files as `file`."),
            ));
        }
        if files.len() == MAX_FILES {
            return Err(Error::unprocessable(
                "too_many_files",
                format!("At most {MAX_FILES} files at once."),
            ));
        }
        let position = files.len() + 1;
        if let Some(file) = order_form::stage_file(
            field,
            order_id,
            position,
            &state.store,
            max_file_bytes,
            budget,
            staging,
        )
        .await?
        {
            files.push(file);
        }
    }
    Ok(files)
}

fn received(order_id: Uuid, purpose: FilePurpose, file: &StagedFile) -> Envelope {
    let received = FileReceived {
        order_id,
        file_id: file.file_id,
        purpose,
        source: file.source(),
        original_name: file.name.as_str().to_owned(),
        declared_size: Some(file.size),
        declared_content_type: file.declared_content_type.clone(),
        note: None,
    };
    Envelope::new(PRODUCER, order_id, received)
}
