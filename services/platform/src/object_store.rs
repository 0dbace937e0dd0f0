//! The object store (any S3 server; Garage locally): streamed uploads with bounded memory,
//! streamed reads, presigned links.
//!
//! `upload_stream` is written here rather than taken from a crate: aws-sdk-s3 has the
//! multipart calls but no streaming uploader, and we need the SHA-256, the size limit and
//! the content sniffing computed on the same single pass over the bytes.

use std::time::{Duration, Instant};

use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
    timeout::TimeoutConfig,
};
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::task::JoinSet;

use crate::metrics;
use crate::settings::StorageSettings;

/// How many leading bytes are kept to recognise the content type.
const SNIFF_BYTES: usize = 8192;
/// S3's smallest part (except the last).
const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

#[derive(Clone)]
pub struct ObjectStore {
    client: aws_sdk_s3::Client,
    bucket: String,
    part_size: usize,
    max_parts_in_flight: usize,
    /// Whether uploaded bodies are signed (see [`payload_signing_needed`]).
    sign_payload: bool,
}

/// What an upload wrote, measured on the way through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    pub size: u64,
    pub sha256: String,
    /// Recognised from the first bytes, not from any name.
    pub content_type: String,
}

/// What `HeadObject` says about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectStat {
    pub size: u64,
    pub e_tag: Option<String>,
}

/// Why the object store did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store was unreachable or answered with an error; `detail` is the SDK's whole
    /// account of it (the error and its causes), for the logs.
    #[error("the object store could not {operation}: {detail}")]
    Request {
        operation: &'static str,
        detail: String,
    },
    /// The store answered without something the protocol promises.
    #[error("the object store answered `{operation}` without {missing}")]
    Incomplete {
        operation: &'static str,
        missing: &'static str,
    },
    /// A part of a multipart upload ended without an answer (its task panicked).
    #[error("an upload part did not finish: {0}")]
    PartTask(#[from] tokio::task::JoinError),
}

impl StoreError {
    fn request<E: std::error::Error>(operation: &'static str) -> impl FnOnce(E) -> StoreError {
        move |error| StoreError::Request {
            operation,
            detail: DisplayErrorContext(error).to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("the object to copy is not there")]
    SourceMissing,
    #[error("the object to copy changed since it was inspected")]
    SourceChanged,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the file is larger than the {limit}-byte limit")]
    TooLarge { limit: u64 },
    /// The stream being uploaded failed; its error, whatever its type, as text.
    #[error("reading the source failed: {0}")]
    Source(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ObjectStore {
    pub fn new(settings: &StorageSettings) -> ObjectStore {
        let credentials = Credentials::new(
            settings.access_key_id.clone(),
            settings.secret_access_key.expose().to_owned(),
            None,
            None,
            "bureau-settings",
        );
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .endpoint_url(settings.endpoint.clone())
            .credentials_provider(credentials)
            .force_path_style(settings.force_path_style)
            // Garage rejects aws-chunked bodies with checksum trailers (FIELD-NOTES.md);
            // we compute our own SHA-256 anyway.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(Duration::from_secs(120))
                    .build(),
            )
            .build();
        ObjectStore {
            client: aws_sdk_s3::Client::from_conf(config),
            bucket: settings.bucket.clone(),
            part_size: settings.part_size_bytes.max(MIN_PART_SIZE),
            max_parts_in_flight: settings.max_parts_in_flight.max(1),
            sign_payload: payload_signing_needed(&settings.endpoint),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    /// Readiness: the bucket answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(StoreError::request("reach the bucket"))
    }

    /// Creates the bucket if it does not exist yet, then asks for versioning on it.
    pub async fn ensure_bucket(&self) -> Result<(), StoreError> {
        if self.ping().await.is_err()
            && let Err(error) = self
                .client
                .create_bucket()
                .bucket(&self.bucket)
                .send()
                .await
        {
            use aws_sdk_s3::error::ProvideErrorMetadata;
            // Another process created it meanwhile: as good as created here.
            if !matches!(
                error.code(),
                Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")
            ) {
                return Err(StoreError::request("create the bucket")(error));
            }
        }
        self.enable_versioning().await;
        Ok(())
    }

    /// Turns bucket versioning on where the server has it (AWS S3, MinIO, Ceph), so an
    /// overwritten or deleted object can be brought back. Garage 2.5 answers 501
    /// NotImplemented: that is logged, never an error, as keys are never reused anyway.
    pub async fn enable_versioning(&self) -> bool {
        let configuration = aws_sdk_s3::types::VersioningConfiguration::builder()
            .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
            .build();
        match self
            .client
            .put_bucket_versioning()
            .bucket(&self.bucket)
            .versioning_configuration(configuration)
            .send()
            .await
        {
            Ok(_) => {
                tracing::info!(bucket = %self.bucket, "bucket versioning is enabled");
                true
            }
            Err(error) => {
                let text = DisplayErrorContext(error).to_string();
                if text.contains("NotImplemented") || text.contains("501") {
                    tracing::info!(bucket = %self.bucket, "the object store has no bucket versioning (NotImplemented); keys are never reused, so nothing is overwritten");
                } else {
                    tracing::warn!(bucket = %self.bucket, error = %text, "could not enable bucket versioning");
                }
                false
            }
        }
    }

    /// Aborts every incomplete multipart upload started before `older_than` ago: what a
    /// process killed mid-upload leaves behind (invisible, but it holds space). Returns how
    /// many were aborted.
    pub async fn abort_multipart_uploads_older_than(
        &self,
        older_than: Duration,
    ) -> Result<usize, StoreError> {
        let cutoff = unix_now() - older_than.as_secs() as i64;
        let mut aborted = 0;
        let (mut key_marker, mut upload_id_marker) = (None::<String>, None::<String>);
        loop {
            let page = self
                .client
                .list_multipart_uploads()
                .bucket(&self.bucket)
                .set_key_marker(key_marker.clone())
                .set_upload_id_marker(upload_id_marker.clone())
                .send()
                .await
                .map_err(StoreError::request("list multipart uploads"))?;
            for upload in page.uploads() {
                let (Some(key), Some(id)) = (upload.key(), upload.upload_id()) else {
                    continue;
                };
                let started = upload.initiated().map(|t| t.secs()).unwrap_or(i64::MAX);
                if started > cutoff {
                    continue;
                }
                match self
                    .client
                    .abort_multipart_upload()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(id)
                    .send()
                    .await
                {
                    Ok(_) => aborted += 1,
                    Err(error) => {
                        tracing::warn!(key, error = %DisplayErrorContext(error), "could not abort an abandoned multipart upload")
                    }
                }
            }
            if !page.is_truncated().unwrap_or(false) {
                return Ok(aborted);
            }
            key_marker = page.next_key_marker().map(str::to_owned);
            upload_id_marker = page.next_upload_id_marker().map(str::to_owned);
            if key_marker.is_none() && upload_id_marker.is_none() {
                return Ok(aborted);
            }
        }
    }

    /// The keys of every object under `prefix` last written before `older_than` ago.
    pub async fn list_older_than(
        &self,
        prefix: &str,
        older_than: Duration,
    ) -> Result<Vec<String>, StoreError> {
        let cutoff = unix_now() - older_than.as_secs() as i64;
        let mut keys = Vec::new();
        let mut continuation = None::<String>;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(continuation.clone())
                .send()
                .await
                .map_err(StoreError::request("list objects"))?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                let written = object.last_modified().map(|t| t.secs()).unwrap_or(i64::MAX);
                if written <= cutoff {
                    keys.push(key.to_owned());
                }
            }
            continuation = page.next_continuation_token().map(str::to_owned);
            if !page.is_truncated().unwrap_or(false) || continuation.is_none() {
                return Ok(keys);
            }
        }
    }

    /// Deletes every object under `prefix` last written before `older_than` ago. Returns
    /// how many were deleted.
    pub async fn delete_older_than(
        &self,
        prefix: &str,
        older_than: Duration,
    ) -> Result<usize, StoreError> {
        let cutoff = unix_now() - older_than.as_secs() as i64;
        let mut deleted = 0;
        let mut continuation = None::<String>;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(continuation.clone())
                .send()
                .await
                .map_err(StoreError::request("list objects"))?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                let written = object.last_modified().map(|t| t.secs()).unwrap_or(i64::MAX);
                if written > cutoff {
                    continue;
                }
                match self.delete(key).await {
                    Ok(()) => deleted += 1,
                    Err(error) => {
                        tracing::warn!(key, %error, "could not delete an abandoned object")
                    }
                }
            }
            continuation = page.next_continuation_token().map(str::to_owned);
            if !page.is_truncated().unwrap_or(false) || continuation.is_none() {
                return Ok(deleted);
            }
        }
    }

    /// Streams `body` to `key`: one PUT when it fits in a part, otherwise a multipart upload
    /// with at most `max_parts_in_flight` parts uploading at once. Memory stays below
    /// `(max_parts_in_flight + 1) * part_size` whatever the file's size. On any failure a
    /// started multipart upload is aborted, so nothing half-written becomes visible.
    #[tracing::instrument(name = "s3 upload", skip_all, fields(otel.kind = "client", key = %key))]
    pub async fn upload_stream<S, E>(
        &self,
        key: &str,
        body: S,
        limit: Option<u64>,
    ) -> Result<Uploaded, UploadError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let mut upload_id = None;
        let result = self.upload_inner(key, body, limit, &mut upload_id).await;
        if let (Err(_), Some(id)) = (&result, upload_id)
            && let Err(error) = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&id)
                .send()
                .await
        {
            tracing::warn!(key, error = %DisplayErrorContext(error), "could not abort a failed multipart upload; the sweep will");
        }
        result
    }

    async fn upload_inner<S, E>(
        &self,
        key: &str,
        mut body: S,
        limit: Option<u64>,
        upload_id: &mut Option<String>,
    ) -> Result<Uploaded, UploadError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let mut measurement = Measurement::new();
        // Each part is filled to exactly `part_size` in a buffer of its own and sent whole.
        // Appending past the part and splitting it off (as this did before) grew the buffer
        // to twice the part size and left every part in flight pinning that whole doubled
        // allocation: about twice the intended memory.
        let mut buffer = BytesMut::with_capacity(self.part_size);
        let mut in_flight: JoinSet<Result<CompletedPart, StoreError>> = JoinSet::new();
        let mut completed = Vec::new();
        let mut next_part = 1i32;

        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| UploadError::Source(e.to_string()))?;
            measurement.update(&chunk);
            if let Some(limit) = limit
                && measurement.size() > limit
            {
                return Err(UploadError::TooLarge { limit });
            }
            let mut rest: &[u8] = &chunk;
            while !rest.is_empty() {
                let take = (self.part_size - buffer.len()).min(rest.len());
                buffer.extend_from_slice(&rest[..take]);
                rest = &rest[take..];
                if buffer.len() < self.part_size {
                    continue;
                }
                let part = std::mem::take(&mut buffer).freeze();
                if upload_id.is_none() {
                    *upload_id = Some(self.start_multipart(key).await?);
                }
                while in_flight.len() >= self.max_parts_in_flight {
                    completed.push(join_part(&mut in_flight).await?);
                }
                in_flight.spawn(self.clone().upload_part(
                    key.to_owned(),
                    upload_id.clone().unwrap(),
                    next_part,
                    part,
                ));
                next_part += 1;
                // Allocated only once a slot is free: at most `max_parts_in_flight` parts
                // plus this one are held at any time.
                buffer = BytesMut::with_capacity(self.part_size);
            }
        }

        let uploaded = measurement.finish();
        match upload_id {
            None => {
                let request = self
                    .client
                    .put_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .content_type(&uploaded.content_type)
                    .body(ByteStream::from(buffer.freeze()))
                    .customize();
                let request = if self.sign_payload {
                    request
                } else {
                    request.disable_payload_signing()
                };
                let started = Instant::now();
                request
                    .send()
                    .await
                    .map_err(StoreError::request("upload the object"))?;
                metrics::s3_request("put", started.elapsed());
                metrics::s3_bytes("upload", uploaded.size as usize);
            }
            Some(id) => {
                if !buffer.is_empty() {
                    in_flight.spawn(self.clone().upload_part(
                        key.to_owned(),
                        id.clone(),
                        next_part,
                        buffer.freeze(),
                    ));
                }
                while !in_flight.is_empty() {
                    completed.push(join_part(&mut in_flight).await?);
                }
                completed.sort_by_key(|part| part.part_number());
                self.client
                    .complete_multipart_upload()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(id.as_str())
                    .multipart_upload(
                        CompletedMultipartUpload::builder()
                            .set_parts(Some(completed))
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(StoreError::request("complete a multipart upload"))?;
            }
        }
        Ok(uploaded)
    }

    async fn start_multipart(&self, key: &str) -> Result<String, UploadError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(StoreError::request("start a multipart upload"))?;
        created
            .upload_id()
            .map(str::to_owned)
            .ok_or(UploadError::Store(StoreError::Incomplete {
                operation: "CreateMultipartUpload",
                missing: "an upload id",
            }))
    }

    async fn upload_part(
        self,
        key: String,
        upload_id: String,
        number: i32,
        bytes: Bytes,
    ) -> Result<CompletedPart, StoreError> {
        let size = bytes.len();
        let request = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&key)
            .upload_id(&upload_id)
            .part_number(number)
            .content_length(bytes.len() as i64)
            .body(ByteStream::from(bytes))
            .customize();
        let request = if self.sign_payload {
            request
        } else {
            request.disable_payload_signing()
        };
        let started = Instant::now();
        let uploaded = request
            .send()
            .await
            .map_err(StoreError::request("upload a part"))?;
        metrics::s3_request("part", started.elapsed());
        metrics::s3_bytes("upload", size);
        Ok(CompletedPart::builder()
            .part_number(number)
            .set_e_tag(uploaded.e_tag().map(str::to_owned))
            .build())
    }

    /// The object's bytes as a stream, read as they arrive.
    #[tracing::instrument(name = "s3 get", skip_all, fields(otel.kind = "client", key = %key))]
    pub async fn get_stream(
        &self,
        key: &str,
    ) -> Result<impl Stream<Item = Result<Bytes, StoreError>> + Send + Unpin + use<>, StoreError>
    {
        let object = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(StoreError::request("read the object"))?;
        Ok(Box::pin(futures::stream::unfold(
            object.body,
            |mut body| async move {
                body.next().await.map(|chunk| {
                    if let Ok(bytes) = &chunk {
                        metrics::s3_bytes("download", bytes.len());
                    }
                    (
                        chunk.map_err(StoreError::request("read the object's bytes")),
                        body,
                    )
                })
            },
        )))
    }

    /// Size of an object, or `None` if there is none at `key`.
    pub async fn head(&self, key: &str) -> Result<Option<u64>, StoreError> {
        Ok(self.stat(key).await?.map(|stat| stat.size))
    }

    /// Size and ETag of an object, or `None` if there is none at `key`.
    #[tracing::instrument(name = "s3 head", skip_all, fields(otel.kind = "client", key = %key))]
    pub async fn stat(&self, key: &str) -> Result<Option<ObjectStat>, StoreError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(head) => Ok(Some(ObjectStat {
                size: head.content_length().unwrap_or(0).max(0) as u64,
                e_tag: head.e_tag().map(str::to_owned),
            })),
            Err(error) => {
                if error.as_service_error().is_some_and(|e| e.is_not_found()) {
                    Ok(None)
                } else {
                    Err(StoreError::request("inspect the object")(error))
                }
            }
        }
    }

    /// Copies the object at `from` to `to` inside the store (one `CopyObject`: no byte
    /// passes through this process), with `content_type` as the copy's type. With
    /// `if_e_tag`, the store copies only if `from` still has that ETag, so what is copied
    /// is exactly the object that was inspected. Objects up to 5 GiB; larger ones would need
    /// `UploadPartCopy`, which nothing here needs (files are at most 2 GiB).
    ///
    /// No checksum algorithm is asked for: the request then has no body to sign beyond the
    /// empty one (FIELD-NOTES: Garage refuses aws-chunked checksum trailers), and Garage
    /// copies by linking the source's blocks instead of rewriting them, which it does only
    /// when no new checksum is requested.
    #[tracing::instrument(name = "s3 copy", skip_all, fields(otel.kind = "client", from = %from, to = %to))]
    pub async fn copy(
        &self,
        from: &str,
        to: &str,
        content_type: &str,
        if_e_tag: Option<&str>,
    ) -> Result<(), CopyError> {
        let source = format!("{}/{}", self.bucket, percent_encode_path(from));
        self.client
            .copy_object()
            .bucket(&self.bucket)
            .key(to)
            .copy_source(source)
            .set_copy_source_if_match(if_e_tag.map(str::to_owned))
            .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace)
            .content_type(content_type)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| {
                use aws_sdk_s3::error::ProvideErrorMetadata;
                let status = error
                    .raw_response()
                    .map(|response| response.status().as_u16());
                match (error.code(), status) {
                    (Some("NoSuchKey"), _) => CopyError::SourceMissing,
                    (Some("PreconditionFailed"), _) | (_, Some(412)) => CopyError::SourceChanged,
                    _ => CopyError::Store(StoreError::request("copy the object")(error)),
                }
            })
    }

    #[tracing::instrument(name = "s3 delete", skip_all, fields(otel.kind = "client", key = %key))]
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(StoreError::request("delete the object"))
    }

    /// A link that downloads `key` as an attachment named `file_name`, with the response's
    /// `Content-Type` set to `content_type` whatever the object was stored with, until `ttl`
    /// passes. The caller chooses a type that is safe to serve (a browser never renders an
    /// attachment, and an overridden type cannot turn stored HTML into a page).
    pub async fn presigned_get(
        &self,
        key: &str,
        file_name: &str,
        content_type: &str,
        ttl: Duration,
    ) -> Result<String, StoreError> {
        let config =
            PresigningConfig::expires_in(ttl).map_err(StoreError::request("presign a link"))?;
        let disposition = attachment_disposition(file_name);
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(disposition)
            .response_content_type(content_type)
            .presigned(config)
            .await
            .map_err(StoreError::request("presign a link"))?;
        Ok(request.uri().to_owned())
    }
}

/// Whether upload bodies must be signed for this endpoint: not over `https` (TLS already
/// protects every byte, which is why AWS's SDKs send `UNSIGNED-PAYLOAD` over HTTPS), nor to
/// a loopback address (the bytes never leave the machine); yes over plain HTTP to any other
/// host, where the signature is the only thing that would notice a body changed on the way.
///
/// Unsigned, the request itself (key, upload id, length, headers) is still signed; what is
/// saved is one SHA-256 pass over every byte here and one more in the store, which checks
/// the signed hash (docs/benchmarks.md, "Files"). Our own SHA-256 is of the whole file and
/// cannot stand in for the per-request hash SigV4 wants.
pub fn payload_signing_needed(endpoint: &str) -> bool {
    let endpoint = endpoint.trim().to_ascii_lowercase();
    if endpoint.starts_with("https://") {
        return false;
    }
    let authority = endpoint.strip_prefix("http://").unwrap_or(&endpoint);
    let authority = authority.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host),
    };
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    !loopback
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

async fn join_part(
    in_flight: &mut JoinSet<Result<CompletedPart, StoreError>>,
) -> Result<CompletedPart, UploadError> {
    match in_flight.join_next().await {
        Some(Ok(Ok(part))) => Ok(part),
        Some(Ok(Err(error))) => Err(UploadError::Store(error)),
        Some(Err(join_error)) => Err(UploadError::Store(StoreError::PartTask(join_error))),
        // Called only with parts in flight.
        None => Err(UploadError::Store(StoreError::Incomplete {
            operation: "UploadPart",
            missing: "a part in flight",
        })),
    }
}

/// Size, SHA-256 and content type of bytes seen once, in order, with memory bounded by the
/// sniff window: the one way a file is measured, on upload and when re-read.
pub struct Measurement {
    hasher: Sha256,
    head: Vec<u8>,
    size: u64,
}

impl Measurement {
    pub fn new() -> Self {
        Measurement {
            hasher: Sha256::new(),
            head: Vec::with_capacity(SNIFF_BYTES),
            size: 0,
        }
    }

    pub fn update(&mut self, chunk: &[u8]) {
        self.size += chunk.len() as u64;
        self.hasher.update(chunk);
        if self.head.len() < SNIFF_BYTES {
            let take = (SNIFF_BYTES - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn finish(self) -> Uploaded {
        Uploaded {
            size: self.size,
            sha256: hex::encode(self.hasher.finalize()),
            content_type: sniff(&self.head),
        }
    }
}

impl Default for Measurement {
    fn default() -> Self {
        Measurement::new()
    }
}

/// The content type the bytes say they are.
pub fn sniff(head: &[u8]) -> String {
    if let Some(kind) = infer::get(head).filter(|kind| signature_holds(kind, head)) {
        return kind.mime_type().to_owned();
    }
    // A multi-byte character may be cut at the end of the sniffed window.
    let text_prefix = match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(error) => error.error_len().is_none() && error.valid_up_to() + 4 > head.len(),
    };
    if text_prefix && !head.contains(&0) {
        "text/plain".to_owned()
    } else {
        "application/octet-stream".to_owned()
    }
}

/// Whether what `infer` named from a two-byte magic number is really that kind, where the
/// name decides whether a customer's file is refused as a program. `infer` names any bytes
/// starting `00 02`, `4C 01` or `64 86` a COFF object ("application/x-executable") and any
/// starting `MZ` a Windows program: one random file in about 20,000 is "executable". The
/// cluster run refused two of 3,603 random test files that way (docs/reliability.md). An
/// object file is not a program, so it is not named; a Windows program is named only when
/// its DOS header points (`e_lfanew`, at 0x3C) to the `PE\0\0` signature within the sniffed
/// head, as every PE file's does (the loader reads it there).
fn signature_holds(kind: &infer::Type, head: &[u8]) -> bool {
    match kind.extension() {
        "obj" => false,
        "exe" | "dll" => {
            let Some(offset) = head.get(0x3C..0x40) else {
                return false;
            };
            let offset = u32::from_le_bytes([offset[0], offset[1], offset[2], offset[3]]) as usize;
            offset >= 0x40
                && head.get(offset..offset.saturating_add(4)) == Some(b"PE\0\0".as_slice())
        }
        _ => true,
    }
}

/// A key for `x-amz-copy-source`: percent-encoded, its `/` kept as separators.
fn percent_encode_path(key: &str) -> String {
    key.split('/')
        .map(percent_encode)
        .collect::<Vec<_>>()
        .join("/")
}

/// `Content-Disposition` for a download: always an attachment (never shown inline), named
/// `file_name` without the characters that make a name lie, percent-encoded (RFC 6266 and
/// 8187), so no quote, semicolon or line break in a name can add a parameter or a header.
pub fn attachment_disposition(file_name: &str) -> String {
    let name = bureau_kit::text::visible(file_name);
    let name = match name.trim() {
        "" => "file",
        name => name,
    };
    format!("attachment; filename*=UTF-8''{}", percent_encode(name))
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downloads_are_attachments_whose_name_cannot_lie_or_add_parameters() {
        assert_eq!(
            attachment_disposition("x\u{202E}ftp.hta"),
            "attachment; filename*=UTF-8''xftp.hta"
        );
        assert_eq!(
            attachment_disposition("a\"; filename=evil.html\r\nX: y"),
            "attachment; filename*=UTF-8''a%22%3B%20filename%3Devil.htmlX%3A%20y"
        );
        assert_eq!(
            attachment_disposition("\u{200B}"),
            "attachment; filename*=UTF-8''file"
        );
    }

    #[test]
    fn sniffing_trusts_bytes_not_names() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), "application/pdf");
        assert_eq!(
            sniff(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0]),
            "image/png"
        );
        assert_eq!(sniff("Привіт, світ".as_bytes()), "text/plain");
        assert_eq!(sniff(&[0, 1, 2, 3, 0xff]), "application/octet-stream");
        // Two bytes are not a program: COFF object magic, or "MZ" with no PE header.
        for start in [[0x00, 0x02], [0x4C, 0x01], [0x64, 0x86], [b'M', b'Z']] {
            let mut bytes = vec![0xA7; 4096];
            bytes[..2].copy_from_slice(&start);
            assert_eq!(sniff(&bytes), "application/octet-stream", "{start:x?}");
        }
        assert_eq!(sniff(b"MZ is where the letter starts."), "text/plain");
        assert_eq!(sniff(b""), "text/plain");
    }

    #[test]
    fn bodies_are_signed_only_over_plain_http_to_another_host() {
        assert!(!payload_signing_needed(
            "https://s3.eu-central-1.amazonaws.com"
        ));
        assert!(!payload_signing_needed("http://127.0.0.1:3900"));
        assert!(!payload_signing_needed("http://localhost:3900/"));
        assert!(!payload_signing_needed("http://[::1]:3900"));
        assert!(payload_signing_needed("http://garage:3900"));
        assert!(payload_signing_needed("http://10.0.0.5:3900"));
        assert!(payload_signing_needed("http://[2001:db8::1]:3900"));
    }

    #[test]
    fn names_are_encoded_for_content_disposition() {
        assert_eq!(percent_encode("a b.pdf"), "a%20b.pdf");
        assert_eq!(percent_encode("я"), "%D1%8F");
        assert_eq!(percent_encode_path("staging/a b/я"), "staging/a%20b/%D1%8F");
    }
}
