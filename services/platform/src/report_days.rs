//! The reports' day tables (issue 12, `migrations/20261206850001_report_daily_aggregates.sql`):
//! per day of the business, orders created by channel and status, the lengths of stays in
//! each status and of created → delivered, staff throughput and accepted quotes — kept by
//! triggers in the transaction of every row they count. Here: the time zone they are of
//! ([`zone_key`], the offsets the triggers read) and [`rebuild`], which remakes them from
//! the orders and their histories (the web gateway when the business's zone is not the
//! tables' zone, `bureau reports rebuild` by hand). The web gateway reads them
//! (`queries::reports::days`); docs/reports.md says how they stay right.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{AssertSqlSafe, MySqlPool};

use crate::business::TimeZone;

fn to_jiff(at: DateTime<Utc>) -> jiff::Timestamp {
    jiff::Timestamp::new(at.timestamp(), at.timestamp_subsec_nanos() as i32)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn from_jiff(at: jiff::Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(at.as_second(), at.subsec_nanosecond().max(0) as u32)
        .unwrap_or_default()
}

/// The zone the day tables are of now (`None` before their first rebuild).
pub async fn tables_zone(pool: &MySqlPool) -> Result<Option<String>, sqlx::Error> {
    let kept: Option<(String,)> = sqlx::query_as("SELECT zone FROM report_state WHERE id = 1")
        .fetch_optional(pool)
        .await?;
    Ok(kept.map(|(zone,)| zone))
}

/// The name the tables are kept under for `zone`: its IANA name, `UTC` for UTC.
pub fn zone_key(zone: &TimeZone) -> String {
    zone.iana_name().unwrap_or("UTC").to_owned()
}

/// The UTC offsets of `zone` from 1970 to 2100: the first row from 1970 on, then each change.
pub fn offsets(zone: &TimeZone) -> Vec<(DateTime<Utc>, i32)> {
    let start = DateTime::<Utc>::UNIX_EPOCH;
    let end = to_jiff(
        NaiveDate::from_ymd_opt(2100, 1, 1)
            .unwrap_or_default()
            .and_time(chrono::NaiveTime::MIN)
            .and_utc(),
    );
    let first = zone.to_offset(to_jiff(start)).seconds();
    let mut rows = vec![(start, first)];
    let mut current = first;
    for transition in zone.following(to_jiff(start)) {
        if transition.timestamp() >= end {
            break;
        }
        let offset = transition.offset().seconds();
        if offset != current {
            rows.push((from_jiff(transition.timestamp()), offset));
            current = offset;
        }
    }
    rows
}

/// The SQL of the business's date of UTC `column`, as `report_day` gives it, for instants
/// between `lo` and `hi` (none: any offset will do): the offset in force at `lo`, and a
/// `CASE` on each change of it up to `hi`. Made of `offsets` (integers and instants written
/// here) and `column` (this file's constants), nothing from a request.
fn day_sql(
    offsets: &[(DateTime<Utc>, i32)],
    lo: Option<chrono::NaiveDateTime>,
    hi: Option<chrono::NaiveDateTime>,
    column: &str,
) -> String {
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return format!("DATE({column})");
    };
    let in_force = offsets
        .iter()
        .take_while(|(at, _)| at.naive_utc() <= lo)
        .last()
        .map_or(0, |(_, offset)| *offset);
    let changes: Vec<&(DateTime<Utc>, i32)> = offsets
        .iter()
        .filter(|(at, _)| at.naive_utc() > lo && at.naive_utc() <= hi)
        .collect();
    if changes.is_empty() {
        return format!("DATE({column} + INTERVAL {in_force} SECOND)");
    }
    let mut sql = format!("DATE({column} + INTERVAL (CASE");
    let mut offset = in_force;
    for (at, next) in changes {
        sql.push_str(&format!(
            " WHEN {column} < TIMESTAMP'{}' THEN {offset}",
            at.format("%Y-%m-%d %H:%M:%S%.6f")
        ));
        offset = *next;
    }
    sql.push_str(&format!(" ELSE {offset} END) SECOND)"));
    sql
}

/// What a rebuild wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebuilt {
    pub zone: String,
    pub offsets: usize,
    pub created_rows: u64,
    pub stay_rows: u64,
    pub turnaround_rows: u64,
    pub staff_rows: u64,
    pub quote_rows: u64,
}

/// Remakes every day table from the orders, their history and quotes, for `zone`'s days,
/// in one transaction (a rebuild in another process waits for this one: `GET_LOCK`).
/// Retried on a deadlock with a transaction recording history meanwhile.
pub async fn rebuild(pool: &MySqlPool, zone: &TimeZone) -> Result<Rebuilt, sqlx::Error> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match rebuild_once(pool, zone).await {
            Err(sqlx::Error::Database(error))
                if attempt < 5 && matches!(error.code().as_deref(), Some("40001")) =>
            {
                tracing::info!(%error, attempt, "report day tables: rebuild retried");
            }
            other => return other,
        }
    }
}

async fn rebuild_once(pool: &MySqlPool, zone: &TimeZone) -> Result<Rebuilt, sqlx::Error> {
    let key = zone_key(zone);
    let offsets = offsets(zone);
    let mut conn = pool.acquire().await?;
    sqlx::query("SELECT GET_LOCK('bureau_report_days', 600)")
        .execute(&mut *conn)
        .await?;
    // A day's lengths are concatenated by `GROUP_CONCAT`, cut at this length otherwise.
    sqlx::query("SET SESSION group_concat_max_len = 4294967295")
        .execute(&mut *conn)
        .await?;
    let result = async {
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        sqlx::query("DELETE FROM report_zone_offsets")
            .execute(&mut *tx)
            .await?;
        let mut insert = sqlx::QueryBuilder::<sqlx::MySql>::new(
            "INSERT INTO report_zone_offsets (starts_at, offset_secs) ",
        );
        insert.push_values(&offsets, |mut row, (at, offset)| {
            // As a `DATETIME` (the epoch itself is no `TIMESTAMP`).
            row.push_bind(at.naive_utc()).push_bind(*offset);
        });
        insert.build().execute(&mut *tx).await?;
        // The day of each row as SQL: `report_day` is a function with a lookup, ~100 µs a
        // row on 500,000 rows; the same offsets as a `CASE` over the instants the data
        // spans cost almost nothing (the triggers keep using `report_day`).
        type Instant = Option<chrono::NaiveDateTime>;
        let (orders_lo, history_lo, orders_hi, history_hi): (Instant, Instant, Instant, Instant) =
            sqlx::query_as(
                "SELECT (SELECT MIN(created_at) FROM orders), \
                        (SELECT MIN(changed_at) FROM order_status_history), \
                        (SELECT MAX(created_at) FROM orders), \
                        (SELECT MAX(changed_at) FROM order_status_history)",
            )
            .fetch_one(&mut *tx)
            .await?;
        let lo = orders_lo.into_iter().chain(history_lo).min();
        let hi = orders_hi.into_iter().chain(history_hi).max();
        let day = |column: &str| day_sql(&offsets, lo, hi, column);
        for table in [
            "report_created_days",
            "report_stay_days",
            "report_turnaround_days",
            "report_staff_days",
            "report_quote_days",
        ] {
            sqlx::query(AssertSqlSafe(format!("DELETE FROM {table}")))
                .execute(&mut *tx)
                .await?;
        }
        let created_rows = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO report_created_days (day, channel, status, orders) \
             SELECT {} AS d, CAST(channel AS CHAR), status, COUNT(*) \
             FROM orders GROUP BY d, channel, status",
            day("created_at")
        )))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let stay_rows = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO report_stay_days (day, status, stays, durations) \
             SELECT {} AS d, COALESCE(from_status, '') AS s, COUNT(*), \
                    GROUP_CONCAT(report_micros(TIMESTAMPDIFF(MICROSECOND, previous_changed_at, changed_at)) SEPARATOR '') \
             FROM order_status_history WHERE previous_changed_at IS NOT NULL \
             GROUP BY d, s",
            day("changed_at")
        )))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let turnaround_rows = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO report_turnaround_days (day, orders, durations) \
             SELECT {} AS d, COUNT(*), \
                    GROUP_CONCAT(report_micros(TIMESTAMPDIFF(MICROSECOND, order_created_at, changed_at)) SEPARATOR '') \
             FROM order_status_history \
             WHERE to_status = 'delivered' AND order_created_at IS NOT NULL \
             GROUP BY d",
            day("changed_at")
        )))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let staff_rows = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO report_staff_days (day, account_id, finished, delivered) \
             SELECT d, a, SUM(f), SUM(n) FROM ( \
                 SELECT {} AS d, actor_account_id AS a, 1 AS f, 0 AS n \
                 FROM order_status_history \
                 WHERE to_status = 'ready' AND actor_account_id IS NOT NULL \
                 UNION ALL \
                 SELECT {}, o.assignee_id, 0, 1 \
                 FROM order_status_history h JOIN orders o ON o.id = h.order_id \
                 WHERE h.to_status = 'delivered' AND o.assignee_id IS NOT NULL) work \
             GROUP BY d, a",
            day("changed_at"),
            day("h.changed_at")
        )))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let quote_rows = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO report_quote_days (day, currency, orders, amount_minor) \
             SELECT {} AS d, currency, COUNT(*), SUM(amount_minor) FROM ( \
                 SELECT h.changed_at AS accepted_at, q.currency, q.amount_minor, \
                        ROW_NUMBER() OVER (PARTITION BY h.id ORDER BY q.quoted_at DESC, q.event_id DESC) AS latest \
                 FROM order_status_history h \
                 JOIN order_quotes q ON q.order_id = h.order_id AND q.quoted_at <= h.changed_at \
                 WHERE h.to_status = 'accepted' AND h.from_status = 'quoted') accepted \
             WHERE latest = 1 GROUP BY d, currency",
            day("accepted_at")
        )))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // Every day's lengths whole (none cut by `GROUP_CONCAT`).
        let (cut,): (i64,) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM report_stay_days WHERE LENGTH(durations) <> 8 * stays) \
                  + (SELECT COUNT(*) FROM report_turnaround_days WHERE LENGTH(durations) <> 8 * orders)",
        )
        .fetch_one(&mut *tx)
        .await?;
        if cut > 0 {
            return Err(sqlx::Error::Protocol(format!(
                "{cut} day rows of lengths were cut short; not rebuilt"
            )));
        }
        sqlx::query(
            "INSERT INTO report_state (id, zone, rebuilt_at) VALUES (1, ?, UTC_TIMESTAMP(6)) \
             ON DUPLICATE KEY UPDATE zone = VALUES(zone), rebuilt_at = VALUES(rebuilt_at)",
        )
        .bind(&key)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Rebuilt {
            zone: key.clone(),
            offsets: offsets.len(),
            created_rows,
            stay_rows,
            turnaround_rows,
            staff_rows,
            quote_rows,
        })
    }
    .await;
    sqlx::query("SELECT RELEASE_LOCK('bureau_report_days')")
        .execute(&mut *conn)
        .await?;
    result
}
