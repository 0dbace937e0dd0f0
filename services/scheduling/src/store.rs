//! Schedules and bookings in MySQL. A booking (and a move) runs in one transaction that
//! first locks its resource's row, so every booking of one resource waits for the one
//! before it; it then checks the slot is still offered (working hours, breaks, days off,
//! not in the past) and that no live booking overlaps it, and inserts. The UNIQUE key on
//! (resource, start) over live bookings is the last word: should anything slip past the
//! lock, the second insert fails and is answered as "taken". Only after the commit is
//! anyone told they have the slot.

use chrono::Utc;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use sqlx::{MySqlConnection, MySqlPool, Row};
use uuid::Uuid;

use crate::reminders;
use crate::{Schedule, Taken, Window, end_of, free_slots, from_chrono, is_offered, to_chrono};

/// Why a slot was not booked.
#[derive(Debug, thiserror::Error)]
pub enum BookingError {
    /// Someone else has it (or part of it) now.
    #[error("the slot is taken")]
    Taken,
    /// Not a slot the resource offers: outside the hours, on a break or a day off, in the
    /// past, or off the grid (a forged or outdated button).
    #[error("the slot is not offered")]
    NotOffered,
    /// No such (active) resource, or no such booking.
    #[error("not found")]
    NotFound,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// A live booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub id: Uuid,
    pub resource_id: u32,
    pub service_code: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
}

/// What to book.
#[derive(Debug, Clone)]
pub struct BookingRequest {
    pub resource_id: u32,
    pub service_code: String,
    pub duration_minutes: i64,
    pub starts_at: Timestamp,
    pub order_id: Option<Uuid>,
    /// Who: `telegram:{user id}`, `web:{account}`, `staff:{account}`.
    pub booked_by: String,
}

/// The resource's schedule, `None` if there is no such active resource.
pub async fn schedule(
    conn: &mut MySqlConnection,
    resource_id: u32,
) -> Result<Option<Schedule>, sqlx::Error> {
    let Some(row) = sqlx::query("SELECT time_zone FROM booking_resources WHERE id = ? AND active")
        .bind(resource_id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let zone: String = row.try_get("time_zone")?;
    let time_zone = TimeZone::get(&zone).unwrap_or(TimeZone::UTC);
    let windows = |table: &'static str| {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT weekday, CAST(starts AS CHAR) AS starts, CAST(ends AS CHAR) AS ends
             FROM {table} WHERE resource_id = ? ORDER BY weekday, starts"
        )))
        .bind(resource_id)
    };
    let hours = read_windows(
        windows("booking_working_hours")
            .fetch_all(&mut *conn)
            .await?,
    )?;
    let breaks = read_windows(windows("booking_breaks").fetch_all(&mut *conn).await?)?;
    let days_off: Vec<chrono::NaiveDate> =
        sqlx::query_scalar("SELECT day FROM booking_days_off WHERE resource_id = ?")
            .bind(resource_id)
            .fetch_all(&mut *conn)
            .await?;
    let days_off = days_off
        .into_iter()
        .filter_map(|day| {
            use chrono::Datelike;
            Date::new(day.year() as i16, day.month() as i8, day.day() as i8).ok()
        })
        .collect();
    Ok(Some(Schedule {
        time_zone,
        hours,
        breaks,
        days_off,
    }))
}

fn read_windows(rows: Vec<sqlx::mysql::MySqlRow>) -> Result<Vec<Window>, sqlx::Error> {
    let mut windows = Vec::with_capacity(rows.len());
    for row in rows {
        let weekday: u8 = row.try_get("weekday")?;
        let starts: String = row.try_get("starts")?;
        let ends: String = row.try_get("ends")?;
        let (Ok(weekday), Ok(starts), Ok(ends)) = (
            Weekday::from_monday_one_offset(weekday as i8),
            starts.parse::<Time>(),
            ends.parse::<Time>(),
        ) else {
            continue;
        };
        windows.push(Window {
            weekday,
            starts,
            ends,
        });
    }
    Ok(windows)
}

/// Live bookings of the resource overlapping `[from, to)`.
pub async fn taken(
    conn: &mut MySqlConnection,
    resource_id: u32,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<Taken>, sqlx::Error> {
    let rows: Vec<(chrono::DateTime<Utc>, chrono::DateTime<Utc>)> = sqlx::query_as(
        "SELECT starts_at, ends_at FROM bookings
         WHERE resource_id = ? AND status = 'booked' AND starts_at < ? AND ends_at > ?",
    )
    .bind(resource_id)
    .bind(to_chrono(to))
    .bind(to_chrono(from))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(s, e)| (from_chrono(s), from_chrono(e)))
        .collect())
}

/// The free starts on local `day` for `duration_minutes`, from `now` on.
pub async fn free_on(
    pool: &MySqlPool,
    resource_id: u32,
    day: Date,
    duration_minutes: i64,
    now: Timestamp,
) -> Result<Vec<Timestamp>, BookingError> {
    let mut conn = pool.acquire().await?;
    let schedule = schedule(&mut conn, resource_id)
        .await?
        .ok_or(BookingError::NotFound)?;
    let (from, to) = day_bounds(&schedule, day);
    let taken = taken(&mut conn, resource_id, from, to).await?;
    Ok(free_slots(&schedule, day, duration_minutes, &taken, now))
}

/// Up to `limit` free starts from `after` on, over the next `days` local days: what a
/// customer who lost a slot is offered instead.
pub async fn next_free(
    pool: &MySqlPool,
    resource_id: u32,
    duration_minutes: i64,
    after: Timestamp,
    days: i64,
    limit: usize,
) -> Result<Vec<Timestamp>, BookingError> {
    let mut conn = pool.acquire().await?;
    let schedule = schedule(&mut conn, resource_id)
        .await?
        .ok_or(BookingError::NotFound)?;
    let first = after.to_zoned(schedule.time_zone.clone()).date();
    let mut found = Vec::new();
    for offset in 0..days {
        let Ok(day) = first.checked_add(offset.days()) else {
            break;
        };
        let (from, to) = day_bounds(&schedule, day);
        let taken = taken(&mut conn, resource_id, from, to).await?;
        found.extend(free_slots(&schedule, day, duration_minutes, &taken, after));
        if found.len() >= limit {
            break;
        }
    }
    found.truncate(limit);
    Ok(found)
}

/// The local day's bounds as instants (a whole day either side of summer time is fine).
fn day_bounds(schedule: &Schedule, day: Date) -> (Timestamp, Timestamp) {
    let start = day
        .to_zoned(schedule.time_zone.clone())
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let end = start.checked_add(26.hours()).unwrap_or(start);
    (start, end)
}

/// Locks the resource (every booking of it waits here for the one before) and reads its
/// schedule, inside the caller's transaction.
async fn lock_resource(
    tx: &mut MySqlConnection,
    resource_id: u32,
) -> Result<Schedule, BookingError> {
    sqlx::query("SELECT id FROM booking_resources WHERE id = ? AND active FOR UPDATE")
        .bind(resource_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(BookingError::NotFound)?;
    schedule(tx, resource_id)
        .await?
        .ok_or(BookingError::NotFound)
}

/// Checks `[starts, ends)` is offered and free (but for `except`, a booking being moved).
async fn check_free(
    tx: &mut MySqlConnection,
    schedule: &Schedule,
    resource_id: u32,
    starts: Timestamp,
    duration_minutes: i64,
    now: Timestamp,
    except: Option<Uuid>,
) -> Result<Timestamp, BookingError> {
    if !is_offered(schedule, starts, duration_minutes, now) {
        return Err(BookingError::NotOffered);
    }
    let ends = end_of(starts, duration_minutes).ok_or(BookingError::NotOffered)?;
    let clash: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM bookings
         WHERE resource_id = ? AND status = 'booked' AND starts_at < ? AND ends_at > ?
           AND id <> ? LIMIT 1",
    )
    .bind(resource_id)
    .bind(to_chrono(ends))
    .bind(to_chrono(starts))
    .bind(except.unwrap_or(Uuid::nil()))
    .fetch_optional(&mut *tx)
    .await?;
    if clash.is_some() {
        return Err(BookingError::Taken);
    }
    Ok(ends)
}

fn taken_if_duplicate(error: sqlx::Error) -> BookingError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => BookingError::Taken,
        _ => BookingError::Database(error),
    }
}

/// Books the slot, or says why not. `now` is the caller's clock (tests move it).
pub async fn book(
    pool: &MySqlPool,
    request: &BookingRequest,
    now: Timestamp,
) -> Result<Booking, BookingError> {
    let mut tx = pool.begin().await?;
    let schedule = lock_resource(&mut tx, request.resource_id).await?;
    let ends = check_free(
        &mut tx,
        &schedule,
        request.resource_id,
        request.starts_at,
        request.duration_minutes,
        now,
        None,
    )
    .await?;
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO bookings (id, resource_id, service_code, order_id, booked_by, starts_at, ends_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(request.resource_id)
    .bind(&request.service_code)
    .bind(request.order_id)
    .bind(&request.booked_by)
    .bind(to_chrono(request.starts_at))
    .bind(to_chrono(ends))
    .bind(Utc::now())
    .execute(&mut *tx)
    .await
    .map_err(taken_if_duplicate)?;
    // Its reminders, in the same transaction: a booking never exists without them.
    reminders::schedule_booking(&mut tx, id, to_chrono(request.starts_at), to_chrono(now)).await?;
    tx.commit().await.map_err(taken_if_duplicate)?;
    tracing::info!(%id, resource_id = request.resource_id, starts_at = %request.starts_at, "slot booked");
    Ok(Booking {
        id,
        resource_id: request.resource_id,
        service_code: request.service_code.clone(),
        starts_at: request.starts_at,
        ends_at: ends,
    })
}

/// Moves a live booking to `starts_at` (same length); the old slot is free at once.
pub async fn reschedule(
    pool: &MySqlPool,
    booking_id: Uuid,
    starts_at: Timestamp,
    now: Timestamp,
) -> Result<Booking, BookingError> {
    let mut tx = pool.begin().await?;
    let row = sqlx::query(
        "SELECT resource_id, service_code, starts_at, ends_at FROM bookings
         WHERE id = ? AND status = 'booked'",
    )
    .bind(booking_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(BookingError::NotFound)?;
    let resource_id: u32 = row.try_get("resource_id")?;
    let service_code: String = row.try_get("service_code")?;
    let old_start = from_chrono(row.try_get("starts_at")?);
    let old_end = from_chrono(row.try_get("ends_at")?);
    let duration_minutes = (old_end.as_second() - old_start.as_second()) / 60;
    let schedule = lock_resource(&mut tx, resource_id).await?;
    let ends = check_free(
        &mut tx,
        &schedule,
        resource_id,
        starts_at,
        duration_minutes,
        now,
        Some(booking_id),
    )
    .await?;
    sqlx::query(
        "UPDATE bookings SET starts_at = ?, ends_at = ? WHERE id = ? AND status = 'booked'",
    )
    .bind(to_chrono(starts_at))
    .bind(to_chrono(ends))
    .bind(booking_id)
    .execute(&mut *tx)
    .await
    .map_err(taken_if_duplicate)?;
    // The reminders move with it (due anew, even if the old ones were sent).
    reminders::schedule_booking(&mut tx, booking_id, to_chrono(starts_at), to_chrono(now)).await?;
    tx.commit().await.map_err(taken_if_duplicate)?;
    Ok(Booking {
        id: booking_id,
        resource_id,
        service_code,
        starts_at,
        ends_at: ends,
    })
}

/// Cancels a live booking; its slot is free at once and its unsent reminders are called
/// off. `false` if it was not live.
pub async fn cancel(pool: &MySqlPool, booking_id: Uuid) -> Result<bool, BookingError> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query(
        "UPDATE bookings SET status = 'cancelled', cancelled_at = ? WHERE id = ? AND status = 'booked'",
    )
    .bind(Utc::now())
    .bind(booking_id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 1 {
        reminders::call_off(
            &mut tx,
            &[reminders::Kind::Booking24h, reminders::Kind::Booking1h],
            booking_id,
            "cancelled",
        )
        .await?;
    }
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}
