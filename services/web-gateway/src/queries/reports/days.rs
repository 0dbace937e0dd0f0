//! The reports read from day tables: per day of the business, what the per-row reports in
//! `super` count (`migrations/20261206850001_report_daily_aggregates.sql`), kept by triggers
//! in the transaction of every order, status change and quote the persistence worker
//! records — so today is as live as the history itself, and a year is a few thousand rows.
//! Medians and percentiles do not add up across days, so the stays' and deliveries' lengths
//! are kept themselves, packed 8 bytes each, and summarised here exactly as the per-row
//! reads are (`summarise`): both give the same figures (`tests/api/reports.rs`,
//! `bench-reports`).
//!
//! The tables are of one time zone's days (`report_state`). [`ready`] says whether that is
//! the business's zone now; when it is not (a new database, the zone changed on the
//! business page or in the settings, a tz database update), the reports read the history
//! itself and `bureau_platform::report_days::rebuild` remakes the tables from it in the
//! background, in one transaction. `bureau reports rebuild` does the same by hand. docs/reports.md.

use std::sync::atomic::{AtomicBool, Ordering};

use bureau_platform::business::TimeZone;
use bureau_platform::report_days::{self, zone_key};
use chrono::NaiveDate;
use sqlx::{AssertSqlSafe, MySqlPool};

use super::{
    Clock, CreatedCount, Grain, PAYMENTS, Range, Revenue, STAFF_LOAD, StaffLoad, StatusStays,
    Turnaround, status_at, status_place, summarise, turnaround_lines,
};

pub use report_days::{Rebuilt, rebuild};

/// Whether the day tables are of `zone`'s days. When they are not, a rebuild for `zone`
/// starts in the background (one at a time in this process) and the caller reads the
/// history itself meanwhile.
pub async fn ready(pool: &MySqlPool, zone: &TimeZone) -> Result<bool, sqlx::Error> {
    let key = zone_key(zone);
    if report_days::tables_zone(pool).await?.as_deref() == Some(key.as_str()) {
        return Ok(true);
    }
    static REBUILDING: AtomicBool = AtomicBool::new(false);
    if !REBUILDING.swap(true, Ordering::SeqCst) {
        let (pool, zone) = (pool.clone(), zone.clone());
        tokio::spawn(async move {
            match report_days::rebuild(&pool, &zone).await {
                Ok(rebuilt) => tracing::info!(zone = %key, ?rebuilt, "report day tables rebuilt"),
                Err(error) => tracing::warn!(zone = %key, %error, "report day tables not rebuilt"),
            }
            REBUILDING.store(false, Ordering::SeqCst);
        });
    }
    Ok(false)
}

/// Lengths packed 8 bytes each (big-endian), as `report_micros` writes them.
fn unpack(bytes: &[u8]) -> Result<impl Iterator<Item = i64> + '_, sqlx::Error> {
    if !bytes.len().is_multiple_of(8) {
        return Err(sqlx::Error::Protocol(format!(
            "a day's lengths are {} bytes, not a multiple of 8",
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|chunk| i64::from_be_bytes(chunk.try_into().unwrap_or([0; 8]))))
}

/// As [`super::created_counts`], for the days `first..=last`.
pub async fn created_counts(
    pool: &MySqlPool,
    first: NaiveDate,
    last: NaiveDate,
    grain: Grain,
) -> Result<Vec<CreatedCount>, sqlx::Error> {
    let sql = format!(
        "SELECT {bucket} AS bucket, channel, status, CAST(SUM(orders) AS SIGNED) AS orders \
         FROM report_created_days WHERE day >= ? AND day <= ? \
         GROUP BY bucket, channel, status HAVING SUM(orders) <> 0 ORDER BY bucket",
        bucket = grain.bucket("day")
    );
    sqlx::query_as(AssertSqlSafe(sql))
        .bind(first)
        .bind(last)
        .fetch_all(pool)
        .await
}

/// As [`super::status_stays`], for the days `first..=last`.
pub async fn status_stays(
    pool: &MySqlPool,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Vec<StatusStays>, sqlx::Error> {
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT status, durations FROM report_stay_days WHERE day >= ? AND day <= ?",
    )
    .bind(first)
    .bind(last)
    .fetch_all(pool)
    .await?;
    let mut lengths = Vec::new();
    for (status, durations) in &rows {
        let place = status_place(status);
        lengths.extend(unpack(durations)?.map(|micros| (place, micros)));
    }
    Ok(summarise(lengths)
        .into_iter()
        .map(|(place, stays, median_secs, p90_secs)| StatusStays {
            status: status_at(place),
            stays,
            median_secs,
            p90_secs,
        })
        .collect())
}

/// As [`super::turnaround`], for the days `first..=last`.
pub async fn turnaround(
    pool: &MySqlPool,
    first: NaiveDate,
    last: NaiveDate,
    grain: Grain,
) -> Result<Vec<Turnaround>, sqlx::Error> {
    let sql = format!(
        "SELECT {bucket}, durations FROM report_turnaround_days WHERE day >= ? AND day <= ?",
        bucket = grain.bucket("day")
    );
    let rows: Vec<(NaiveDate, Vec<u8>)> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(first)
        .bind(last)
        .fetch_all(pool)
        .await?;
    let mut lengths = Vec::new();
    for (bucket, durations) in &rows {
        lengths.extend(unpack(durations)?.map(|micros| (*bucket, micros)));
    }
    Ok(turnaround_lines(lengths))
}

/// As [`super::staff_load`], for the days `first..=last`.
pub async fn staff_load(
    pool: &MySqlPool,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Vec<StaffLoad>, sqlx::Error> {
    let sql = STAFF_LOAD
        .replace(
            "{finished}",
            "SELECT account_id AS id, NULLIF(SUM(finished), 0) AS n FROM report_staff_days \
             WHERE day >= ? AND day <= ? GROUP BY account_id HAVING SUM(finished) <> 0",
        )
        .replace(
            "{delivered}",
            "SELECT account_id AS id, NULLIF(SUM(delivered), 0) AS n FROM report_staff_days \
             WHERE day >= ? AND day <= ? GROUP BY account_id HAVING SUM(delivered) <> 0",
        );
    sqlx::query_as(AssertSqlSafe(sql))
        .bind(first)
        .bind(last)
        .bind(first)
        .bind(last)
        .fetch_all(pool)
        .await
}

/// As [`super::revenue`]: accepted quotes from the day tables for the days `first..=last`,
/// payments from their own index over `range` (the same days as instants; each payment is
/// one row of `order_payments_recorded`, and a month counts its distinct orders, which do
/// not add up across days).
pub async fn revenue(
    pool: &MySqlPool,
    first: NaiveDate,
    last: NaiveDate,
    range: Range,
    clock: &Clock,
) -> Result<Vec<Revenue>, sqlx::Error> {
    let quotes = format!(
        "SELECT {month} AS month, 'quotes' AS source, currency, \
                CAST(SUM(orders) AS SIGNED) AS orders, CAST(SUM(amount_minor) AS SIGNED) AS amount_minor \
         FROM report_quote_days WHERE day >= ? AND day <= ? \
         GROUP BY month, currency HAVING SUM(orders) <> 0",
        month = Grain::Month.bucket("day")
    );
    let payments = PAYMENTS.replace("{month}", &Grain::Month.bucket(&clock.local("revenue_at")));
    let sql = format!(
        "SELECT * FROM (({quotes}) UNION ALL ({payments})) revenue ORDER BY month, source, currency"
    );
    sqlx::query_as(AssertSqlSafe(sql))
        .bind(first)
        .bind(last)
        .bind(range.from)
        .bind(range.until)
        .fetch_all(pool)
        .await
}
