//! The back office's reports as SQL (issue 12): orders created by channel and status, time
//! spent in each status, created → delivered turnaround, staff throughput and workload,
//! revenue by month, and the full orders export, over a half-open range of UTC instants
//! `[from, until)`. Counts and sums are computed by MariaDB; percentiles are interpolated
//! here, as `PERCENTILE_CONT` does, over durations read from an index. `office::reports`
//! shapes them into pages and CSV.
//!
//! Days, weeks and months are the business's own (its time zone, `[business] time_zone` or
//! the business page): a [`Clock`] carries the UTC offsets in force over the range — the
//! offset at its start and each summer-time change within it, computed here from the tz
//! database with jiff — and buckets are taken of `changed_at + offset`. MariaDB's own
//! `CONVERT_TZ` with zone names needs its time zone tables loaded, which a stock server
//! does not have; this needs nothing from the server.
//!
//! Each report reads through an index made for it
//! (`migrations/20261206730001_report_indexes.sql`), so it costs what the range holds, not
//! what the database holds — too much for a year of 100,000 orders (`docs/benchmarks.md`,
//! `bench-reports`): the back office reads the same figures from day tables kept by
//! triggers ([`days`]) whenever they are of the business's zone, and these per-row reads
//! otherwise (and as what the day tables are checked against).

use bureau_platform::business::TimeZone;
use chrono::{DateTime, NaiveDate, Utc};
use proto_events::OrderStatus;
// The SQL built with `format!` here is made of this file's constants (the grain's bucket
// expression, the revenue sources) and of a `Clock`'s offsets and instants, which are an
// `i32` and a `DateTime<Utc>` written by `Clock::local` itself; every value that comes with
// a request (the range) is bound.
use sqlx::{AssertSqlSafe, MySqlPool};
use uuid::Uuid;

pub mod days;

/// A half-open range of instants: `from` included, `until` excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// How UTC instants read on the business's clock over one range: the offset from UTC in
/// force at the range's start, and every change of it (summer time) before its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    /// Seconds east of UTC at the range's start.
    first: i32,
    /// When the offset changes and what it is from then on, oldest first.
    changes: Vec<(DateTime<Utc>, i32)>,
}

/// A chrono instant as jiff's (both count from the Unix epoch).
pub fn to_jiff(at: DateTime<Utc>) -> jiff::Timestamp {
    jiff::Timestamp::new(at.timestamp(), at.timestamp_subsec_nanos() as i32)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// A jiff instant as chrono's.
pub fn from_jiff(at: jiff::Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(at.as_second(), at.subsec_nanosecond().max(0) as u32)
        .unwrap_or_default()
}

impl Clock {
    /// UTC itself.
    pub fn utc() -> Clock {
        Clock {
            first: 0,
            changes: Vec::new(),
        }
    }

    /// `zone`'s offsets over `range`.
    pub fn of(zone: &TimeZone, range: Range) -> Clock {
        let start = to_jiff(range.from);
        let end = to_jiff(range.until);
        let mut changes = Vec::new();
        let mut current = zone.to_offset(start).seconds();
        let first = current;
        for transition in zone.following(start) {
            let at = transition.timestamp();
            if at >= end {
                break;
            }
            let offset = transition.offset().seconds();
            if offset != current {
                changes.push((from_jiff(at), offset));
                current = offset;
            }
        }
        Clock { first, changes }
    }

    /// The SQL reading UTC `column` as the business's local time (a `DATETIME`).
    fn local(&self, column: &str) -> String {
        if self.changes.is_empty() {
            return format!("({column} + INTERVAL {} SECOND)", self.first);
        }
        let mut sql = format!("({column} + INTERVAL (CASE");
        let mut offset = self.first;
        for (at, next) in &self.changes {
            sql.push_str(&format!(
                " WHEN {column} < TIMESTAMP'{}' THEN {offset}",
                at.format("%Y-%m-%d %H:%M:%S%.6f")
            ));
            offset = *next;
        }
        sql.push_str(&format!(" ELSE {offset} END) SECOND)"));
        sql
    }
}

/// How created orders and deliveries are grouped in time (the business's days; weeks
/// start on Monday).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grain {
    Day,
    Week,
    Month,
}

impl Grain {
    pub fn as_str(self) -> &'static str {
        match self {
            Grain::Day => "day",
            Grain::Week => "week",
            Grain::Month => "month",
        }
    }

    pub fn parse(name: &str) -> Option<Grain> {
        [Grain::Day, Grain::Week, Grain::Month]
            .into_iter()
            .find(|g| g.as_str() == name)
    }

    /// The SQL giving the first day of the bucket of `column` (a local time, from
    /// [`Clock::local`]), as a `DATE`.
    fn bucket(self, column: &str) -> String {
        match self {
            Grain::Day => format!("DATE({column})"),
            Grain::Week => format!("(DATE({column}) - INTERVAL WEEKDAY({column}) DAY)"),
            Grain::Month => format!("(DATE({column}) - INTERVAL (DAYOFMONTH({column}) - 1) DAY)"),
        }
    }
}

/// Orders created in one bucket with one channel and (current) status.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CreatedCount {
    pub bucket: NaiveDate,
    pub channel: String,
    pub status: String,
    pub orders: i64,
}

/// Orders created in `range`, counted by (local) bucket, channel and the status they are
/// in now. Read from `orders_report_created` alone.
pub async fn created_counts(
    pool: &MySqlPool,
    range: Range,
    clock: &Clock,
    grain: Grain,
) -> Result<Vec<CreatedCount>, sqlx::Error> {
    let sql = format!(
        "SELECT {bucket} AS bucket, CAST(channel AS CHAR) AS channel, status, COUNT(*) AS orders \
         FROM orders WHERE created_at >= ? AND created_at < ? \
         GROUP BY bucket, channel, status ORDER BY bucket",
        bucket = grain.bucket(&clock.local("created_at"))
    );
    sqlx::query_as(AssertSqlSafe(sql))
        .bind(range.from)
        .bind(range.until)
        .fetch_all(pool)
        .await
}

/// The value at the `p` quantile of `sorted`, interpolated between the two ranks around
/// `p × (n − 1)` exactly as SQL's `PERCENTILE_CONT` does. Computed here rather than by
/// MariaDB: its `PERCENTILE_CONT` window (and even ranking with `ROW_NUMBER`) took seconds
/// on a year of status changes, while the rows come from an index in one pass and sort
/// here in milliseconds (bench-reports).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else {
        return 0.0;
    };
    let position = p * last as f64;
    let below = position.floor() as usize;
    let fraction = position - below as f64;
    match sorted.get(below + 1) {
        Some(above) if fraction > 0.0 => sorted[below] + fraction * (above - sorted[below]),
        _ => sorted[below],
    }
}

/// Count, median and 90th percentile of each group's durations (in microseconds), in the
/// groups' order. The microseconds are sorted as integers and then made seconds (the same
/// order: the conversion never reverses two values), whatever order they came in — so the
/// per-row reads and the day tables' (`days`) give the very same figures.
fn summarise<G: Ord>(rows: impl IntoIterator<Item = (G, i64)>) -> Vec<(G, i64, f64, f64)> {
    let mut groups: std::collections::BTreeMap<G, Vec<i64>> = std::collections::BTreeMap::new();
    for (group, micros) in rows {
        groups.entry(group).or_default().push(micros);
    }
    groups
        .into_iter()
        .map(|(group, mut micros)| {
            micros.sort_unstable();
            let secs: Vec<f64> = micros.iter().map(|m| *m as f64 / 1_000_000.0).collect();
            let (median, p90) = (percentile(&secs, 0.5), percentile(&secs, 0.9));
            (group, secs.len() as i64, median, p90)
        })
        .collect()
}

/// A status's place in `OrderStatus::ALL`, 1-based; 0 for a name this build does not know.
fn status_place(name: &str) -> i64 {
    OrderStatus::ALL
        .iter()
        .position(|s| s.as_str() == name)
        .map_or(0, |i| i as i64 + 1)
}

/// The status at a place given by [`status_place`] (or `FIELD`), `other` for 0.
fn status_at(place: i64) -> String {
    usize::try_from(place - 1)
        .ok()
        .and_then(|i| OrderStatus::ALL.get(i))
        .map_or("other", |s| s.as_str())
        .to_owned()
}

/// How long orders stayed in one status: stays that ended within the range.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusStays {
    pub status: String,
    pub stays: i64,
    pub median_secs: f64,
    pub p90_secs: f64,
}

/// Time spent in each status. A stay begins with the change that entered the status and
/// ends with the next change, whose `from_status` names it and whose `previous_changed_at`
/// (filled by the migration's trigger) is when it began; the stays counted are those that
/// ended within the range (a status an order is still in has no length yet). Read from
/// `order_status_history_stays` alone.
pub async fn status_stays(pool: &MySqlPool, range: Range) -> Result<Vec<StatusStays>, sqlx::Error> {
    // Statuses travel as their place in `OrderStatus::ALL` (1-based; 0 for a name this
    // build does not know): an integer per row instead of a string.
    let names: Vec<String> = OrderStatus::ALL
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    let sql = format!(
        "SELECT FIELD(from_status, {names}), TIMESTAMPDIFF(MICROSECOND, previous_changed_at, changed_at) \
         FROM order_status_history \
         WHERE changed_at >= ? AND changed_at < ? AND previous_changed_at IS NOT NULL",
        names = names.join(", ")
    );
    let rows: Vec<(i64, i64)> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(range.from)
        .bind(range.until)
        .fetch_all(pool)
        .await?;
    Ok(summarise(rows)
        .into_iter()
        .map(|(place, stays, median_secs, p90_secs)| StatusStays {
            status: status_at(place),
            stays,
            median_secs,
            p90_secs,
        })
        .collect())
}

/// Created → delivered, for the orders delivered in one bucket (`bucket` is `None` for the
/// whole range).
#[derive(Debug, Clone, PartialEq)]
pub struct Turnaround {
    pub bucket: Option<NaiveDate>,
    pub orders: i64,
    pub median_secs: f64,
    pub p90_secs: f64,
}

/// Created → delivered turnaround of the orders delivered within the range, over the whole
/// range (the first line, `bucket: None`) and by the (local) bucket of their delivery.
/// Empty when nothing was delivered. Read from `order_status_history_into` alone (the
/// order's creation is on its history rows).
pub async fn turnaround(
    pool: &MySqlPool,
    range: Range,
    clock: &Clock,
    grain: Grain,
) -> Result<Vec<Turnaround>, sqlx::Error> {
    let sql = format!(
        "SELECT {bucket}, TIMESTAMPDIFF(MICROSECOND, order_created_at, changed_at) \
         FROM order_status_history \
         WHERE to_status = 'delivered' AND changed_at >= ? AND changed_at < ? \
           AND order_created_at IS NOT NULL",
        bucket = grain.bucket(&clock.local("changed_at"))
    );
    let rows: Vec<(NaiveDate, i64)> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(range.from)
        .bind(range.until)
        .fetch_all(pool)
        .await?;
    Ok(turnaround_lines(rows))
}

/// The turnaround's lines from each delivery's bucket and length: the whole range first.
fn turnaround_lines(rows: Vec<(NaiveDate, i64)>) -> Vec<Turnaround> {
    let whole: Vec<((), i64)> = rows.iter().map(|(_, micros)| ((), *micros)).collect();
    let line = |bucket, (orders, median_secs, p90_secs)| Turnaround {
        bucket,
        orders,
        median_secs,
        p90_secs,
    };
    summarise(whole)
        .into_iter()
        .map(|(_, n, m, p)| line(None, (n, m, p)))
        .chain(
            summarise(rows)
                .into_iter()
                .map(|(bucket, n, m, p)| line(Some(bucket), (n, m, p))),
        )
        .collect()
}

/// One staff member's throughput in the range and open work now.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StaffLoad {
    pub account_id: Uuid,
    pub display_name: String,
    pub role: String,
    pub active: bool,
    /// Orders they moved to `ready` within the range (finished the work).
    pub finished: i64,
    /// Orders assigned to them that were delivered within the range.
    pub delivered: i64,
    /// Orders assigned to them that are open now (not delivered, cancelled or rejected).
    pub open_now: i64,
}

/// The staff report's `SELECT`, given the derived tables `f` (finished) and `d`
/// (delivered) as `(id, n)` with `n` never 0, each with two parameters.
const STAFF_LOAD: &str = "SELECT a.id AS account_id, a.display_name, CAST(a.role AS CHAR) AS role, a.active, \
            CAST(COALESCE(f.n, 0) AS SIGNED) AS finished, \
            CAST(COALESCE(d.n, 0) AS SIGNED) AS delivered, \
            CAST(COALESCE(w.n, 0) AS SIGNED) AS open_now \
     FROM web_accounts a \
     LEFT JOIN ({finished}) f ON f.id = a.id \
     LEFT JOIN ({delivered}) d ON d.id = a.id \
     LEFT JOIN (SELECT assignee_id AS id, COUNT(*) AS n FROM orders \
                WHERE status IN ('awaiting_confirmation', 'quoted', 'accepted', 'in_progress', 'ready') \
                  AND assignee_id IS NOT NULL \
                GROUP BY assignee_id) w ON w.id = a.id \
     WHERE a.role <> 'customer' \
       AND (a.active OR f.n IS NOT NULL OR d.n IS NOT NULL OR w.n IS NOT NULL) \
     ORDER BY finished DESC, delivered DESC, a.display_name, a.id";

/// Per staff member: work finished and delivered in the range, open work now. Staff who
/// are inactive appear only while they have a figure; staff with none show zeros.
pub async fn staff_load(pool: &MySqlPool, range: Range) -> Result<Vec<StaffLoad>, sqlx::Error> {
    let sql = STAFF_LOAD
        .replace(
            "{finished}",
            "SELECT actor_account_id AS id, COUNT(*) AS n FROM order_status_history \
             WHERE to_status = 'ready' AND changed_at >= ? AND changed_at < ? \
               AND actor_account_id IS NOT NULL \
             GROUP BY actor_account_id",
        )
        .replace(
            "{delivered}",
            "SELECT o.assignee_id AS id, COUNT(*) AS n \
             FROM order_status_history h JOIN orders o ON o.id = h.order_id \
             WHERE h.to_status = 'delivered' AND h.changed_at >= ? AND h.changed_at < ? \
               AND o.assignee_id IS NOT NULL \
             GROUP BY o.assignee_id",
        );
    sqlx::query_as(AssertSqlSafe(sql))
        .bind(range.from)
        .bind(range.until)
        .bind(range.from)
        .bind(range.until)
        .fetch_all(pool)
        .await
}

/// Money in one month from one source, in one currency.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Revenue {
    pub month: NaiveDate,
    /// `quotes` (accepted price quotes); `payments` once payments exist.
    pub source: String,
    pub currency: String,
    pub orders: i64,
    pub amount_minor: i64,
}

/// Accepted quotes: an order's move from `quoted` to `accepted` accepts the latest quote made
/// before it (a customer's answer to an older quote is refused by the persistence worker, so
/// this is the quote they accepted; staff accepting for the customer accept the latest too),
/// counted in the (local) month of the acceptance.
const ACCEPTED_QUOTES: &str = "SELECT {month} AS month, \
            'quotes' AS source, currency, COUNT(*) AS orders, CAST(SUM(amount_minor) AS SIGNED) AS amount_minor \
     FROM (SELECT h.changed_at AS revenue_at, q.currency, q.amount_minor, \
                  ROW_NUMBER() OVER (PARTITION BY h.order_id ORDER BY q.quoted_at DESC, q.event_id DESC) AS latest \
           FROM order_status_history h \
           JOIN order_quotes q ON q.order_id = h.order_id AND q.quoted_at <= h.changed_at \
           WHERE h.to_status = 'accepted' AND h.from_status = 'quoted' \
             AND h.changed_at >= ? AND h.changed_at < ?) accepted \
     WHERE latest = 1 \
     GROUP BY month, currency";

/// Payments received less refunds made (`order_payments`: Telegram Payments and what staff
/// record), in the (local) month each was recorded, per currency; `orders` counts the
/// orders with a payment or refund that month. Read from `order_payments_recorded` alone.
const PAYMENTS: &str = "SELECT {month} AS month, \
            'payments' AS source, currency, COUNT(DISTINCT order_id) AS orders, \
            CAST(SUM(IF(kind = 'payment', CAST(amount_minor AS SIGNED), -CAST(amount_minor AS SIGNED))) AS SIGNED) AS amount_minor \
     FROM (SELECT recorded_at AS revenue_at, order_id, kind, currency, amount_minor \
           FROM order_payments WHERE recorded_at >= ? AND recorded_at < ?) paid \
     GROUP BY month, currency";

/// Where revenue comes from: each a `SELECT` of `(month, source, currency, orders,
/// amount_minor)` over the range (two parameters, `from` and `until`; `{month}` stands for
/// the local month of the instant it names `revenue_at`), joined with `UNION ALL`. The page,
/// the chart and the CSV show each source as its own line: sources are never added up (a
/// paid order was usually a quoted one too).
const REVENUE_SOURCES: &[&str] = &[ACCEPTED_QUOTES, PAYMENTS];

/// Revenue by (local) month, source and currency, oldest month first.
pub async fn revenue(
    pool: &MySqlPool,
    range: Range,
    clock: &Clock,
) -> Result<Vec<Revenue>, sqlx::Error> {
    let month = Grain::Month.bucket(&clock.local("revenue_at"));
    let union = REVENUE_SOURCES
        .iter()
        .map(|source| format!("({})", source.replace("{month}", &month)))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let sql = format!("SELECT * FROM ({union}) revenue ORDER BY month, source, currency");
    let mut query = sqlx::query_as(AssertSqlSafe(sql));
    for _ in REVENUE_SOURCES {
        query = query.bind(range.from).bind(range.until);
    }
    query.fetch_all(pool).await
}

/// One line of the orders export.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExportLine {
    pub order_number: String,
    pub created_at: DateTime<Utc>,
    pub channel: String,
    pub service_code: Option<String>,
    pub status: String,
    pub customer_name: String,
    pub phone: Option<String>,
    pub telegram_username: Option<String>,
    pub assignee_name: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub body: String,
}

/// Every order created in the range, oldest first, with its customer, assignee and
/// delivery time: bind `from` and `until`, then `fetch` it row by row (the export streams).
///
/// The orders are read in `orders_created` order and each joined to its customer
/// (`STRAIGHT_JOIN`, `FORCE INDEX`): left to itself, on a long range MariaDB read every
/// customer first and sorted all the joined rows (bodies included) in a temporary table
/// before sending the first one — no streaming, and 30 % slower (bench-reports, EXPLAIN in
/// docs/benchmarks.md).
pub const EXPORT_ORDERS: &str = "SELECT STRAIGHT_JOIN o.order_number, o.created_at, CAST(o.channel AS CHAR) AS channel, \
            o.service_code, o.status, c.display_name AS customer_name, c.phone, c.telegram_username, \
            a.display_name AS assignee_name, \
            (SELECT MIN(d.changed_at) FROM order_status_history d \
             WHERE d.order_id = o.id AND d.to_status = 'delivered') AS delivered_at, \
            o.body \
     FROM orders o FORCE INDEX (orders_created) JOIN customers c ON c.id = o.customer_id \
     LEFT JOIN web_accounts a ON a.id = o.assignee_id \
     WHERE o.created_at >= ? AND o.created_at < ? \
     ORDER BY o.created_at, o.id";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_like_percentile_cont() {
        let values = [3600.0, 3600.0, 3600.0, 3600.0, 3600.0, 14400.0, 32401.0];
        assert_eq!(percentile(&values, 0.5), 3600.0);
        assert!((percentile(&values, 0.9) - 21600.4).abs() < 1e-6);
        assert_eq!(percentile(&[7.0], 0.9), 7.0);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.5);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    fn instant(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn a_clock_knows_the_offsets_of_its_range_and_writes_them_as_sql() {
        let kyiv = TimeZone::get("Europe/Kyiv").unwrap();
        // March 2026: winter time (+2) until 01:00 UTC on the 29th, summer time (+3) after.
        let march = Range {
            from: instant("2026-02-28T22:00:00Z"),
            until: instant("2026-03-31T21:00:00Z"),
        };
        let clock = Clock::of(&kyiv, march);
        assert_eq!(
            clock,
            Clock {
                first: 7200,
                changes: vec![(instant("2026-03-29T01:00:00Z"), 10800)],
            }
        );
        assert_eq!(
            clock.local("c"),
            "(c + INTERVAL (CASE WHEN c < TIMESTAMP'2026-03-29 01:00:00.000000' THEN 7200 \
             ELSE 10800 END) SECOND)"
        );
        // November has no change: one offset.
        let november = Range {
            from: instant("2026-10-31T22:00:00Z"),
            until: instant("2026-11-30T22:00:00Z"),
        };
        assert_eq!(
            Clock::of(&kyiv, november).local("c"),
            "(c + INTERVAL 7200 SECOND)"
        );
        assert_eq!(Clock::utc().local("c"), "(c + INTERVAL 0 SECOND)");
        // A year: both changes.
        let year = Range {
            from: instant("2025-12-31T22:00:00Z"),
            until: instant("2026-12-31T22:00:00Z"),
        };
        assert_eq!(Clock::of(&kyiv, year).changes.len(), 2);
    }
}
