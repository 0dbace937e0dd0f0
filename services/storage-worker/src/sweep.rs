//! The sweep: what crashed uploads leave in the object store, removed once it is surely
//! abandoned. A process killed mid-upload leaves an incomplete multipart upload (invisible
//! to readers, but it holds space) and, on the web path, a `staging/` object whose order
//! was never announced. Both are removed when older than the configured ages; the ages are
//! far above the longest upload, so nothing in progress is touched.

use std::time::Duration;

use bureau_platform::object_store::ObjectStore;
use bureau_platform::settings::StorageWorkerSettings;
use proto_events::object_keys::STAGING_PREFIX;
use tokio_util::sync::CancellationToken;

/// What one pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub multipart_uploads_aborted: usize,
    pub staging_objects_deleted: usize,
}

/// The ages and interval of the sweep, from settings.
#[derive(Debug, Clone, Copy)]
pub struct SweepPolicy {
    pub interval: Duration,
    pub multipart_after: Duration,
    pub staging_after: Duration,
}

impl SweepPolicy {
    /// `None` when the interval is 0 (the sweep is off).
    pub fn from_settings(settings: &StorageWorkerSettings) -> Option<SweepPolicy> {
        (settings.sweep_interval_secs > 0).then(|| SweepPolicy {
            interval: Duration::from_secs(settings.sweep_interval_secs),
            multipart_after: Duration::from_secs(settings.abandoned_multipart_after_secs),
            staging_after: Duration::from_secs(settings.abandoned_staging_after_secs),
        })
    }
}

/// One pass over the bucket. A failure of one half does not stop the other; errors are
/// logged, and the next pass tries again.
pub async fn sweep_once(store: &ObjectStore, policy: &SweepPolicy) -> Swept {
    let mut swept = Swept::default();
    match store
        .abort_multipart_uploads_older_than(policy.multipart_after)
        .await
    {
        Ok(count) => swept.multipart_uploads_aborted = count,
        Err(error) => tracing::warn!(%error, "the sweep could not list multipart uploads"),
    }
    match store
        .delete_older_than(STAGING_PREFIX, policy.staging_after)
        .await
    {
        Ok(count) => swept.staging_objects_deleted = count,
        Err(error) => tracing::warn!(%error, "the sweep could not list staged uploads"),
    }
    if swept != Swept::default() {
        tracing::info!(
            aborted = swept.multipart_uploads_aborted,
            deleted = swept.staging_objects_deleted,
            "swept abandoned uploads"
        );
    }
    swept
}

/// Sweeps at start (a restart after a crash is when leftovers are likeliest) and then every
/// `interval` until `shutdown`. Several replicas sweeping at once is harmless: aborting or
/// deleting twice is a no-op.
pub async fn run(store: ObjectStore, policy: SweepPolicy, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(policy.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        tokio::select! {
            _ = sweep_once(&store, &policy) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}
