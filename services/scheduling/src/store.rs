//! Schedules and bookings in MySQL. A booking (and a move) runs in one transaction that
//! first locks its resource's row, so every booking of one resource waits for the one
//! before it; it then checks the slot is still offered (working hours, breaks, days off,
//! not in the past) and that no live booking overlaps it, and inserts. The UNIQUE key on
//! (resource, start) over live bookings is the last word: should anything slip past the
//! lock, the second insert fails and is answered as "taken". Only after the commit is
//! anyone told they have the slot.
//!
//! A service done by several resources (a pool: `booking_resource_services`) is offered at a
//! time when any of them is free then ([`free_on_any`], [`next_free_any`]) and booked with
//! one that is ([`book_any`]): the pool's resources are tried one by one in
//! [`pool_order`] (the least booked that day first), each attempt the single-resource
//! booking above in its own transaction, so the guarantee is the same per resource and a
//! customer is refused only when every resource that offers the time has it taken.
//!
//! Every change writes its `BookingChanged` into the outbox (`bureau_platform::outbox`) in
//! the same transaction, whoever makes it (a customer in the bot or on the web, staff in the
//! back office, the sweep of expired holds): the event is published by the outbox relay
//! after the commit and cannot be lost once the change is made.
//!
//! A hold: a booking made for an order the customer has not sent yet (the portal's picker,
//! the bot's draft) carries `held_until`; sending the order clears it (`desk::attach`), and
//! [`expire_holds`] cancels a hold still unplaced at that moment, freeing the slot.

use bureau_platform::outbox;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use proto_events::{BookingChange, BookingChanged, Envelope, Producer};
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
    /// The customer of a booking without an order (staff's, for a customer who phoned).
    pub customer_id: Option<Uuid>,
    /// For an order not sent yet: the booking is held until then, and cancelled by
    /// [`expire_holds`] unless the order joins it first.
    pub held_until: Option<Timestamp>,
    /// Who: `telegram:{user id}`, `web:{account}`, `staff:{account}`.
    pub booked_by: String,
}

/// How long a time is held for an order the customer has not sent yet (the portal's picker,
/// the bot's draft).
pub const HOLD_MINUTES: i64 = 15;

/// The end of a hold made (or moved) at `now`.
pub fn hold_until(now: Timestamp) -> Timestamp {
    now.checked_add(HOLD_MINUTES.minutes()).unwrap_or(now)
}

/// Who changes a booking (`BookingChanged.by`) and which service writes the change (the
/// event's producer).
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub by: &'a str,
    pub producer: Producer,
}

/// Who expires holds.
pub const HOLD_EXPIRED_BY: &str = "system:hold_expired";

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
    let rows: Vec<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
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
    free_on_any(pool, &[resource_id], day, duration_minutes, now).await
}

/// The free starts on local `day` for `duration_minutes`, from `now` on, on any of
/// `resources` (a service's pool): the union of each one's free starts (each on that day
/// in its own zone), ascending, each start once. An inactive resource offers nothing;
/// none active at all is [`BookingError::NotFound`].
pub async fn free_on_any(
    pool: &MySqlPool,
    resources: &[u32],
    day: Date,
    duration_minutes: i64,
    now: Timestamp,
) -> Result<Vec<Timestamp>, BookingError> {
    let mut conn = pool.acquire().await?;
    let schedules = schedules(&mut conn, resources).await?;
    if schedules.is_empty() {
        return Err(BookingError::NotFound);
    }
    let mut found = Vec::new();
    for (resource_id, schedule) in &schedules {
        found.extend(
            free_of(
                &mut conn,
                *resource_id,
                schedule,
                day,
                duration_minutes,
                now,
            )
            .await?,
        );
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// The schedules of the active ones of `resources`, in the order given.
async fn schedules(
    conn: &mut MySqlConnection,
    resources: &[u32],
) -> Result<Vec<(u32, Schedule)>, sqlx::Error> {
    let mut found = Vec::with_capacity(resources.len());
    for &resource_id in resources {
        if let Some(schedule) = schedule(&mut *conn, resource_id).await? {
            found.push((resource_id, schedule));
        }
    }
    Ok(found)
}

/// One resource's free starts on its local `day`, from `not_before` on.
async fn free_of(
    conn: &mut MySqlConnection,
    resource_id: u32,
    schedule: &Schedule,
    day: Date,
    duration_minutes: i64,
    not_before: Timestamp,
) -> Result<Vec<Timestamp>, sqlx::Error> {
    let (from, to) = day_bounds(schedule, day);
    let taken = taken(&mut *conn, resource_id, from, to).await?;
    Ok(free_slots(
        schedule,
        day,
        duration_minutes,
        &taken,
        not_before,
    ))
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
    next_free_any(pool, &[resource_id], duration_minutes, after, days, limit).await
}

/// As [`next_free`], on any of `resources` (a service's pool): a start is offered when one
/// of them is free then. The days are those of the first active resource's zone.
pub async fn next_free_any(
    pool: &MySqlPool,
    resources: &[u32],
    duration_minutes: i64,
    after: Timestamp,
    days: i64,
    limit: usize,
) -> Result<Vec<Timestamp>, BookingError> {
    let mut conn = pool.acquire().await?;
    let schedules = schedules(&mut conn, resources).await?;
    let Some((_, first_schedule)) = schedules.first() else {
        return Err(BookingError::NotFound);
    };
    let first = after.to_zoned(first_schedule.time_zone.clone()).date();
    let mut found = Vec::new();
    for offset in 0..days {
        let Ok(day) = first.checked_add(offset.days()) else {
            break;
        };
        let mut of_day = Vec::new();
        for (resource_id, schedule) in &schedules {
            of_day.extend(
                free_of(
                    &mut conn,
                    *resource_id,
                    schedule,
                    day,
                    duration_minutes,
                    after,
                )
                .await?,
            );
        }
        of_day.sort();
        of_day.dedup();
        found.extend(of_day);
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

/// Books the slot, or says why not; the booking's reminders and its `BookingChanged` (into
/// the outbox, from `producer`) are written in the same transaction. `now` is the caller's
/// clock (tests move it).
pub async fn book(
    pool: &MySqlPool,
    request: &BookingRequest,
    producer: Producer,
    now: Timestamp,
) -> Result<(Booking, BookingChanged), BookingError> {
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
        "INSERT INTO bookings (id, resource_id, service_code, order_id, customer_id, held_until,
                               booked_by, starts_at, ends_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(request.resource_id)
    .bind(&request.service_code)
    .bind(request.order_id)
    .bind(request.customer_id)
    .bind(request.held_until.map(to_chrono))
    .bind(&request.booked_by)
    .bind(to_chrono(request.starts_at))
    .bind(to_chrono(ends))
    .bind(to_chrono(now))
    .execute(&mut *tx)
    .await
    .map_err(taken_if_duplicate)?;
    // Its reminders, in the same transaction: a booking never exists without them.
    reminders::schedule_booking(&mut tx, id, to_chrono(request.starts_at), to_chrono(now)).await?;
    let booking = Booking {
        id,
        resource_id: request.resource_id,
        service_code: request.service_code.clone(),
        starts_at: request.starts_at,
        ends_at: ends,
    };
    let event = changed(
        &booking,
        (request.order_id, request.customer_id),
        BookingChange::Booked,
        None,
        &request.booked_by,
        now,
    );
    announce(&mut tx, producer, &event).await?;
    tx.commit().await.map_err(taken_if_duplicate)?;
    tracing::info!(%id, resource_id = request.resource_id, starts_at = %request.starts_at, "slot booked");
    Ok((booking, event))
}

/// The order in which a booking of `starts_at` tries the resources of a pool: the one with
/// the fewest live bookings on that local day (its own zone's) first, then by the order
/// given (the pool's, lowest id first). Inactive ones are left out. Read without a lock: it
/// only says whom to try first; the resource's lock and the UNIQUE key decide.
pub async fn pool_order(
    pool: &MySqlPool,
    resources: &[u32],
    starts_at: Timestamp,
) -> Result<Vec<u32>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let mut ranked = Vec::with_capacity(resources.len());
    for (position, (resource_id, schedule)) in schedules(&mut conn, resources)
        .await?
        .into_iter()
        .enumerate()
    {
        let day = starts_at.to_zoned(schedule.time_zone.clone()).date();
        let (from, to) = day_bounds(&schedule, day);
        let to = day
            .checked_add(1.days())
            .ok()
            .and_then(|next| next.to_zoned(schedule.time_zone.clone()).ok())
            .map(|z| z.timestamp())
            .unwrap_or(to);
        let booked: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM bookings
             WHERE resource_id = ? AND status = 'booked' AND starts_at >= ? AND starts_at < ?",
        )
        .bind(resource_id)
        .bind(to_chrono(from))
        .bind(to_chrono(to))
        .fetch_one(&mut *conn)
        .await?;
        ranked.push((booked, position, resource_id));
    }
    ranked.sort_unstable();
    Ok(ranked.into_iter().map(|(_, _, id)| id).collect())
}

/// What trying the resources of a pool one by one came to, when none took the change.
#[derive(Default)]
pub(crate) struct Tried {
    taken: bool,
    not_offered: bool,
}

impl Tried {
    /// Notes a refusal and goes on to the next resource; a database failure stops.
    pub(crate) fn note(&mut self, error: BookingError) -> Result<(), BookingError> {
        match error {
            BookingError::Taken => self.taken = true,
            BookingError::NotOffered => self.not_offered = true,
            BookingError::NotFound => {}
            failure @ BookingError::Database(_) => return Err(failure),
        }
        Ok(())
    }

    /// Someone has it on every resource that offers it: taken; else not offered by any.
    pub(crate) fn refusal(self) -> BookingError {
        if self.taken {
            BookingError::Taken
        } else if self.not_offered {
            BookingError::NotOffered
        } else {
            BookingError::NotFound
        }
    }
}

/// Books the slot with one of `resources` (a service's pool; `request.resource_id` is
/// ignored): they are tried in [`pool_order`], each with [`book`] (its own transaction
/// under that resource's row lock, the UNIQUE key behind it), and the first that takes it
/// has it. [`BookingError::Taken`] only when the slot is taken on every resource that
/// offers it: of several customers racing for one time, exactly as many win as the pool
/// has resources free then.
pub async fn book_any(
    pool: &MySqlPool,
    resources: &[u32],
    request: &BookingRequest,
    producer: Producer,
    now: Timestamp,
) -> Result<(Booking, BookingChanged), BookingError> {
    let mut tried = Tried::default();
    for resource_id in pool_order(pool, resources, request.starts_at).await? {
        let attempt = BookingRequest {
            resource_id,
            ..request.clone()
        };
        match book(pool, &attempt, producer, now).await {
            Ok(done) => return Ok(done),
            Err(error) => tried.note(error)?,
        }
    }
    Err(tried.refusal())
}

/// The event of a change: `order_id` is the booking's own id when it has no order.
fn changed(
    booking: &Booking,
    (order_id, customer_id): (Option<Uuid>, Option<Uuid>),
    change: BookingChange,
    previous: Option<Timestamp>,
    by: &str,
    now: Timestamp,
) -> BookingChanged {
    BookingChanged {
        booking_id: booking.id,
        order_id: order_id.unwrap_or(booking.id),
        customer_id: if order_id.is_none() {
            customer_id
        } else {
            None
        },
        change,
        resource_id: booking.resource_id,
        service_code: booking.service_code.clone(),
        starts_at: to_chrono(booking.starts_at),
        ends_at: to_chrono(booking.ends_at),
        previous_starts_at: previous.map(to_chrono),
        by: by.to_owned(),
        changed_at: to_chrono(now),
    }
}

/// Writes the change's event into the outbox, in the change's transaction.
async fn announce(
    tx: &mut MySqlConnection,
    producer: Producer,
    event: &BookingChanged,
) -> Result<(), sqlx::Error> {
    let envelope = Envelope::new(producer, event.order_id, event.clone());
    outbox::enqueue(tx, &envelope).await
}

/// A live booking as read under its row lock, with what it belongs to.
struct Held {
    booking: Booking,
    order_id: Option<Uuid>,
    customer_id: Option<Uuid>,
}

/// Locks the live booking `booking_id` (`None` if it is not live).
async fn lock_live(
    tx: &mut MySqlConnection,
    booking_id: Uuid,
) -> Result<Option<Held>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT resource_id, service_code, order_id, customer_id, starts_at, ends_at
         FROM bookings WHERE id = ? AND status = 'booked' FOR UPDATE",
    )
    .bind(booking_id)
    .fetch_optional(&mut *tx)
    .await?;
    row.map(|row| {
        Ok(Held {
            booking: Booking {
                id: booking_id,
                resource_id: row.try_get("resource_id")?,
                service_code: row.try_get("service_code")?,
                starts_at: from_chrono(row.try_get("starts_at")?),
                ends_at: from_chrono(row.try_get("ends_at")?),
            },
            order_id: row.try_get("order_id")?,
            customer_id: row.try_get("customer_id")?,
        })
    })
    .transpose()
}

/// Moves a live booking to `starts_at` (same length); the old slot is free at once. The
/// reminders move with it and its `BookingChanged` goes into the outbox, in the same
/// transaction. A hold moved is held anew from `now` (the customer is still choosing).
pub async fn reschedule(
    pool: &MySqlPool,
    booking_id: Uuid,
    starts_at: Timestamp,
    actor: Actor<'_>,
    now: Timestamp,
) -> Result<(Booking, BookingChanged), BookingError> {
    let resource_id: u32 =
        sqlx::query_scalar("SELECT resource_id FROM bookings WHERE id = ? AND status = 'booked'")
            .bind(booking_id)
            .fetch_optional(pool)
            .await?
            .ok_or(BookingError::NotFound)?;
    reschedule_on(pool, booking_id, resource_id, starts_at, actor, now).await
}

/// Moves a live booking to `starts_at` with `resource_id` (its own, or another of its
/// service's pool), as [`reschedule`] does: under the target resource's row lock, then the
/// booking's; the old slot (on whichever resource) is free at once.
pub async fn reschedule_on(
    pool: &MySqlPool,
    booking_id: Uuid,
    resource_id: u32,
    starts_at: Timestamp,
    actor: Actor<'_>,
    now: Timestamp,
) -> Result<(Booking, BookingChanged), BookingError> {
    let mut tx = pool.begin().await?;
    // The resource first, then the booking: the order every booking change takes locks in.
    let schedule = lock_resource(&mut tx, resource_id).await?;
    let current = lock_live(&mut tx, booking_id)
        .await?
        .ok_or(BookingError::NotFound)?;
    let old = &current.booking;
    let duration_minutes = (old.ends_at.as_second() - old.starts_at.as_second()) / 60;
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
        "UPDATE bookings SET resource_id = ?, starts_at = ?, ends_at = ?,
                             held_until = IF(held_until IS NULL, NULL, ?)
         WHERE id = ? AND status = 'booked'",
    )
    .bind(resource_id)
    .bind(to_chrono(starts_at))
    .bind(to_chrono(ends))
    .bind(to_chrono(hold_until(now)))
    .bind(booking_id)
    .execute(&mut *tx)
    .await
    .map_err(taken_if_duplicate)?;
    // The reminders move with it (due anew, even if the old ones were sent).
    reminders::schedule_booking(&mut tx, booking_id, to_chrono(starts_at), to_chrono(now)).await?;
    let moved = Booking {
        id: booking_id,
        resource_id,
        service_code: old.service_code.clone(),
        starts_at,
        ends_at: ends,
    };
    let event = changed(
        &moved,
        (current.order_id, current.customer_id),
        BookingChange::Rescheduled,
        Some(old.starts_at),
        actor.by,
        now,
    );
    announce(&mut tx, actor.producer, &event).await?;
    tx.commit().await.map_err(taken_if_duplicate)?;
    Ok((moved, event))
}

/// Cancels a live booking; its slot is free at once, its unsent reminders are called off
/// and its `BookingChanged` goes into the outbox, in one transaction. `None` if it was not
/// live.
pub async fn cancel(
    pool: &MySqlPool,
    booking_id: Uuid,
    actor: Actor<'_>,
    now: Timestamp,
) -> Result<Option<(Booking, BookingChanged)>, BookingError> {
    let mut tx = pool.begin().await?;
    let cancelled = cancel_in(&mut tx, booking_id, actor, now, "cancelled").await?;
    tx.commit().await?;
    Ok(cancelled)
}

async fn cancel_in(
    tx: &mut MySqlConnection,
    booking_id: Uuid,
    actor: Actor<'_>,
    now: Timestamp,
    reason: &str,
) -> Result<Option<(Booking, BookingChanged)>, BookingError> {
    let Some(current) = lock_live(tx, booking_id).await? else {
        return Ok(None);
    };
    // A hold keeps its `held_until` only when it ran out: a cancelled booking that still
    // has one is an expired hold (`desk::join_order` says so to a customer confirming).
    sqlx::query(
        "UPDATE bookings SET status = 'cancelled', cancelled_at = ?,
                             held_until = IF(? = 'hold_expired', held_until, NULL)
         WHERE id = ? AND status = 'booked'",
    )
    .bind(to_chrono(now))
    .bind(reason)
    .bind(booking_id)
    .execute(&mut *tx)
    .await?;
    reminders::call_off(
        tx,
        &[reminders::Kind::Booking24h, reminders::Kind::Booking1h],
        booking_id,
        reason,
    )
    .await?;
    let event = changed(
        &current.booking,
        (current.order_id, current.customer_id),
        BookingChange::Cancelled,
        None,
        actor.by,
        now,
    );
    announce(tx, actor.producer, &event).await?;
    Ok(Some((current.booking, event)))
}

/// Cancels up to `limit` holds unplaced at `now` (their `held_until` passed and no order
/// joined them): the slots are free again, the reminders called off (`hold_expired`), and a
/// `BookingChanged` (`cancelled`, by [`HOLD_EXPIRED_BY`]) written for each, in one
/// transaction. Holds another sweeper is expiring at the moment are skipped, not waited for,
/// so every replica may sweep. The cancelled bookings.
pub async fn expire_holds(
    pool: &MySqlPool,
    producer: Producer,
    now: Timestamp,
    limit: u32,
) -> Result<Vec<Booking>, BookingError> {
    let mut tx = pool.begin().await?;
    let due: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM bookings WHERE status = 'booked' AND held_until <= ?
         ORDER BY held_until LIMIT ? FOR UPDATE SKIP LOCKED",
    )
    .bind(to_chrono(now))
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let actor = Actor {
        by: HOLD_EXPIRED_BY,
        producer,
    };
    let mut expired = Vec::with_capacity(due.len());
    for id in due {
        if let Some((booking, _)) = cancel_in(&mut tx, id, actor, now, "hold_expired").await? {
            tracing::info!(%id, starts_at = %booking.starts_at, "an unplaced hold expired; its slot is free");
            expired.push(booking);
        }
    }
    tx.commit().await?;
    Ok(expired)
}
