//! The sweep: what crashed uploads leave in the object store, removed once it is surely
//! abandoned. A process killed mid-upload leaves an incomplete multipart upload (invisible
//! to readers, but it holds space) and, on the web path, a `staging/` object whose order
//! was never announced. Both are removed when older than the configured ages; the ages are
//! far above the longest upload, so nothing in progress is touched.
//!
//! A staged object is never removed while its order still expects it: a file MySQL has
//! recorded `received` and not yet settled (stored or rejected) waits for its
//! `FileReceived` to be handled, however late that is — a storage worker outage, a message
//! in the dead-letter queue replayed days later. The sweep asks MySQL; when MySQL does not
//! answer, it deletes no staged object that pass (better some space for a while than a
//! customer's file for good). Staged objects no order recorded (their order was never
//! announced, or the persistence worker has not recorded it) go at the configured age.

use std::collections::HashSet;
use std::time::Duration;

use bureau_platform::object_store::ObjectStore;
use bureau_platform::settings::StorageWorkerSettings;
use proto_events::object_keys::STAGING_PREFIX;
use sqlx::{MySql, MySqlPool, QueryBuilder};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// File ids per MySQL question.
const IDS_PER_QUERY: usize = 500;

/// What one pass removed, and what it kept because an order still expects it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub multipart_uploads_aborted: usize,
    pub staging_objects_deleted: usize,
    pub staging_objects_kept: usize,
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

/// Which staged files orders still expect, as MySQL (written by the persistence worker)
/// has them.
#[derive(Clone)]
pub struct ExpectedFiles {
    pool: MySqlPool,
}

impl ExpectedFiles {
    pub fn new(pool: MySqlPool) -> ExpectedFiles {
        ExpectedFiles { pool }
    }

    /// Of `file_ids`, those recorded `received` and not settled.
    pub async fn still_expected(&self, file_ids: &[Uuid]) -> Result<HashSet<Uuid>, sqlx::Error> {
        let mut expected = HashSet::new();
        for chunk in file_ids.chunks(IDS_PER_QUERY) {
            let mut query: QueryBuilder<MySql> = QueryBuilder::new(
                "SELECT id FROM order_files WHERE state = 'received' AND id IN (",
            );
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            query.push(")");
            let rows: Vec<(Uuid,)> = query.build_query_as().fetch_all(&self.pool).await?;
            expected.extend(rows.into_iter().map(|(id,)| id));
        }
        Ok(expected)
    }
}

/// The file id of a staging key, `staging/{order}/{file}`.
fn file_id_of(key: &str) -> Option<Uuid> {
    let rest = key.strip_prefix(STAGING_PREFIX)?;
    let (_order, file) = rest.split_once('/')?;
    Uuid::parse_str(file).ok()
}

/// One pass over the bucket. A failure of one half does not stop the other; errors are
/// logged, and the next pass tries again.
pub async fn sweep_once(
    store: &ObjectStore,
    expected: &ExpectedFiles,
    policy: &SweepPolicy,
) -> Swept {
    let mut swept = Swept::default();
    match store
        .abort_multipart_uploads_older_than(policy.multipart_after)
        .await
    {
        Ok(count) => swept.multipart_uploads_aborted = count,
        Err(error) => tracing::warn!(%error, "the sweep could not list multipart uploads"),
    }
    match store
        .list_older_than(STAGING_PREFIX, policy.staging_after)
        .await
    {
        Ok(keys) if keys.is_empty() => {}
        Ok(keys) => sweep_staging(store, expected, keys, &mut swept).await,
        Err(error) => tracing::warn!(%error, "the sweep could not list staged uploads"),
    }
    if swept != Swept::default() {
        tracing::info!(
            aborted = swept.multipart_uploads_aborted,
            deleted = swept.staging_objects_deleted,
            kept = swept.staging_objects_kept,
            "swept abandoned uploads"
        );
    }
    swept
}

async fn sweep_staging(
    store: &ObjectStore,
    expected: &ExpectedFiles,
    keys: Vec<String>,
    swept: &mut Swept,
) {
    let ids: Vec<Uuid> = keys.iter().filter_map(|key| file_id_of(key)).collect();
    let still_expected = match expected.still_expected(&ids).await {
        Ok(still_expected) => still_expected,
        Err(error) => {
            tracing::warn!(%error, candidates = keys.len(), "the sweep could not ask MySQL which staged files are still expected; deleting none this time");
            return;
        }
    };
    for key in keys {
        if file_id_of(&key).is_some_and(|id| still_expected.contains(&id)) {
            tracing::info!(key, "kept a staged file its order still expects");
            swept.staging_objects_kept += 1;
            continue;
        }
        match store.delete(&key).await {
            Ok(()) => swept.staging_objects_deleted += 1,
            Err(error) => {
                tracing::warn!(key, %error, "could not delete an abandoned staged upload")
            }
        }
    }
}

/// Sweeps at start (a restart after a crash is when leftovers are likeliest) and then every
/// `interval` until `shutdown`. Several replicas sweeping at once is harmless: aborting or
/// deleting twice is a no-op.
pub async fn run(
    store: ObjectStore,
    expected: ExpectedFiles,
    policy: SweepPolicy,
    shutdown: CancellationToken,
) {
    let mut ticks = tokio::time::interval(policy.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        tokio::select! {
            _ = sweep_once(&store, &expected, &policy) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_keys_name_their_file() {
        let (order, file) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(file_id_of(&format!("staging/{order}/{file}")), Some(file));
        assert_eq!(file_id_of("staging/junk"), None);
        assert_eq!(file_id_of(&format!("orders/{order}/{file}")), None);
    }
}
