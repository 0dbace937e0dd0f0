//! Booking as both gateways offer it to customers: which resources do a bookable catalogue
//! service (its pool), its free slots day by day, and booking, moving and cancelling a
//! customer's own booking, each answered with the `BookingChanged` event it wrote. The
//! Telegram calendar and the web API call these, so a slot means the same in both.
//!
//! A customer chooses a time, not a person or a room: a time is offered when any resource of
//! the service's pool is free then, and booking it takes one of those that are
//! (`store::book_any`, the least booked that day first). A move stays with the booking's
//! resource when it is free at the new time, and otherwise goes to another of the pool.
//!
//! Every change is made in MySQL through [`store`] (the resource's row lock and the
//! one-live-booking-per-slot key), its event written into the outbox in the same
//! transaction; the caller kicks its outbox relay afterwards. A customer is whoever `by`
//! names (`telegram:{user}`, `web:{account}`): they may move and cancel only bookings they
//! made.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use proto_events::BookingChanged;
use sqlx::{MySqlPool, Row};
use uuid::Uuid;

pub use crate::store::Actor;
use crate::store::{self, Booking, BookingError, BookingRequest};
use crate::{from_chrono, to_chrono};

/// How many days ahead a customer may book (the calendar shows this many weeks).
pub const HORIZON_DAYS: i64 = 56;

/// How many free slots a customer who lost one is offered instead.
pub const NEXT_FREE: usize = 3;

/// A catalogue service that can be booked, and who does it.
#[derive(Debug, Clone)]
pub struct Bookable {
    pub service_id: u32,
    pub code: String,
    pub name_uk: String,
    pub name_en: String,
    pub duration_minutes: i64,
    /// The active resources that do it (its pool), lowest id first; never empty.
    pub resources: Vec<u32>,
    /// The first resource's zone: the days the calendar shows are its days.
    pub time_zone: TimeZone,
}

impl Bookable {
    /// The local day of `at` in the resource's zone.
    pub fn day_of(&self, at: Timestamp) -> Date {
        at.to_zoned(self.time_zone.clone()).date()
    }

    /// The last local day a customer may book, seen from `now`.
    pub fn last_day(&self, now: Timestamp) -> Date {
        let today = self.day_of(now);
        today.checked_add(HORIZON_DAYS.days()).unwrap_or(today)
    }
}

/// The bookable service `service_id` (active, with a duration, done by at least one active
/// resource) with its pool, or `None`.
pub async fn bookable(pool: &MySqlPool, service_id: u32) -> Result<Option<Bookable>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT s.code, s.name_uk, s.name_en, s.duration_minutes, r.id AS resource_id, r.time_zone
         FROM catalogue_services s
         JOIN booking_resource_services rs ON rs.service_id = s.id
         JOIN booking_resources r ON r.id = rs.resource_id AND r.active
         WHERE s.id = ? AND s.active AND s.duration_minutes IS NOT NULL
         ORDER BY r.id",
    )
    .bind(service_id)
    .fetch_all(pool)
    .await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let resources = rows
        .iter()
        .map(|row| row.try_get("resource_id"))
        .collect::<Result<Vec<u32>, _>>()?;
    let duration: u16 = row.try_get("duration_minutes")?;
    let zone: String = row.try_get("time_zone")?;
    Ok(Some(Bookable {
        service_id,
        code: row.try_get("code")?,
        name_uk: row.try_get("name_uk")?,
        name_en: row.try_get("name_en")?,
        duration_minutes: i64::from(duration),
        resources,
        time_zone: TimeZone::get(&zone).unwrap_or(TimeZone::UTC),
    }))
}

/// The free starts of each of `days` local days from `first`, from `now` on and within the
/// horizon; days past it come back empty.
pub async fn free_days(
    pool: &MySqlPool,
    service: &Bookable,
    first: Date,
    days: i64,
    now: Timestamp,
) -> Result<Vec<(Date, Vec<Timestamp>)>, BookingError> {
    let last = service.last_day(now);
    let mut found = Vec::new();
    for offset in 0..days.clamp(0, HORIZON_DAYS) {
        let Ok(day) = first.checked_add(offset.days()) else {
            break;
        };
        let slots = if day > last || day < service.day_of(now) {
            Vec::new()
        } else {
            store::free_on_any(pool, &service.resources, day, service.duration_minutes, now).await?
        };
        found.push((day, slots));
    }
    Ok(found)
}

/// The next free starts after `after` (what a customer who lost a slot is offered).
pub async fn next_free(
    pool: &MySqlPool,
    service: &Bookable,
    after: Timestamp,
    now: Timestamp,
) -> Result<Vec<Timestamp>, BookingError> {
    let from = after.max(now);
    store::next_free_any(
        pool,
        &service.resources,
        service.duration_minutes,
        from,
        14,
        NEXT_FREE,
    )
    .await
}

/// Why a customer's booking request was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Someone else got it first: these are the next free ones.
    #[error("the slot is taken")]
    Taken { next_free: Vec<Timestamp> },
    /// The start is before `now`.
    #[error("the slot is in the past")]
    InPast,
    /// Not a start the resource offers (a break, a day off, off the grid, past the horizon).
    #[error("the slot is not offered")]
    NotOffered,
    /// The order holds a live booking already (move that one instead).
    #[error("the order has a booking already")]
    AlreadyBooked,
    /// No such live booking of this customer's.
    #[error("no such booking")]
    NotFound,
    #[error("{0}")]
    Failed(BookingError),
}

impl From<BookingError> for Refusal {
    fn from(error: BookingError) -> Refusal {
        match error {
            BookingError::NotOffered => Refusal::NotOffered,
            BookingError::NotFound => Refusal::NotFound,
            other => Refusal::Failed(other),
        }
    }
}

impl From<sqlx::Error> for Refusal {
    fn from(error: sqlx::Error) -> Refusal {
        Refusal::Failed(BookingError::Database(error))
    }
}

/// A customer's live booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnBooking {
    pub booking: Booking,
    pub order_id: Option<Uuid>,
}

fn check_window(service: &Bookable, starts_at: Timestamp, now: Timestamp) -> Result<(), Refusal> {
    if starts_at <= now {
        return Err(Refusal::InPast);
    }
    if service.day_of(starts_at) > service.last_day(now) {
        return Err(Refusal::NotOffered);
    }
    Ok(())
}

/// Books `starts_at` for `order_id` as `actor`; a loser is offered the next free slots.
/// `held_until`: the order is not sent yet (the portal's picker), so the time is held only
/// until then unless the order joins it ([`attach`]).
pub async fn book(
    pool: &MySqlPool,
    service: &Bookable,
    starts_at: Timestamp,
    order_id: Uuid,
    held_until: Option<Timestamp>,
    actor: Actor<'_>,
    now: Timestamp,
) -> Result<(Booking, BookingChanged), Refusal> {
    check_window(service, starts_at, now)?;
    if of_order(pool, order_id).await?.is_some() {
        return Err(Refusal::AlreadyBooked);
    }
    // `book_any` chooses the resource.
    let request = BookingRequest {
        resource_id: 0,
        service_code: service.code.clone(),
        duration_minutes: service.duration_minutes,
        starts_at,
        order_id: Some(order_id),
        customer_id: None,
        held_until,
        booked_by: actor.by.to_owned(),
    };
    match store::book_any(pool, &service.resources, &request, actor.producer, now).await {
        Ok(done) => Ok(done),
        Err(BookingError::Taken) => Err(Refusal::Taken {
            next_free: next_free(pool, service, starts_at, now).await?,
        }),
        Err(other) => Err(other.into()),
    }
}

/// The live booking held for `order_id`, if any (an order holds one booking).
pub async fn of_order(pool: &MySqlPool, order_id: Uuid) -> Result<Option<OwnBooking>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, resource_id, service_code, order_id, starts_at, ends_at FROM bookings
         WHERE order_id = ? AND status = 'booked' LIMIT 1",
    )
    .bind(order_id)
    .fetch_optional(pool)
    .await?;
    row.map(|row| own_from_row(&row)).transpose()
}

/// `by`'s live booking `booking_id`, or `None` (someone else's, cancelled, or none).
pub async fn own(
    pool: &MySqlPool,
    booking_id: Uuid,
    by: &str,
) -> Result<Option<OwnBooking>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, resource_id, service_code, order_id, starts_at, ends_at FROM bookings
         WHERE id = ? AND booked_by = ? AND status = 'booked'",
    )
    .bind(booking_id)
    .bind(by)
    .fetch_optional(pool)
    .await?;
    row.map(|row| own_from_row(&row)).transpose()
}

/// `by`'s live bookings from `now` on, soonest first.
pub async fn own_upcoming(
    pool: &MySqlPool,
    by: &str,
    now: Timestamp,
) -> Result<Vec<OwnBooking>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, resource_id, service_code, order_id, starts_at, ends_at FROM bookings
         WHERE booked_by = ? AND status = 'booked' AND ends_at > ?
         ORDER BY starts_at LIMIT 50",
    )
    .bind(by)
    .bind(to_chrono(now))
    .fetch_all(pool)
    .await?;
    rows.iter().map(own_from_row).collect()
}

fn own_from_row(row: &sqlx::mysql::MySqlRow) -> Result<OwnBooking, sqlx::Error> {
    Ok(OwnBooking {
        booking: Booking {
            id: row.try_get("id")?,
            resource_id: row.try_get("resource_id")?,
            service_code: row.try_get("service_code")?,
            starts_at: from_chrono(row.try_get("starts_at")?),
            ends_at: from_chrono(row.try_get("ends_at")?),
        },
        order_id: row.try_get("order_id")?,
    })
}

/// The catalogue service a booking is of (by its code), as bookable now.
pub async fn bookable_by_code(
    pool: &MySqlPool,
    code: &str,
) -> Result<Option<Bookable>, sqlx::Error> {
    let id: Option<u32> = sqlx::query_scalar("SELECT id FROM catalogue_services WHERE code = ?")
        .bind(code)
        .fetch_optional(pool)
        .await?;
    match id {
        Some(id) => bookable(pool, id).await,
        None => Ok(None),
    }
}

/// Moves `actor`'s booking to `starts_at`, within its service's pool: with its own resource
/// when that one is free then, else with the first of the others (in `store::pool_order`)
/// that is; the old slot is free at once. A loser is offered the next free slots.
pub async fn reschedule(
    pool: &MySqlPool,
    booking_id: Uuid,
    starts_at: Timestamp,
    actor: Actor<'_>,
    now: Timestamp,
) -> Result<(Booking, BookingChanged), Refusal> {
    let current = own(pool, booking_id, actor.by)
        .await?
        .ok_or(Refusal::NotFound)?;
    let service = bookable_by_code(pool, &current.booking.service_code)
        .await?
        .ok_or(Refusal::NotOffered)?;
    check_window(&service, starts_at, now)?;
    let own_resource = current.booking.resource_id;
    let mut order = Vec::with_capacity(service.resources.len());
    if service.resources.contains(&own_resource) {
        order.push(own_resource);
    }
    order.extend(
        store::pool_order(pool, &service.resources, starts_at)
            .await?
            .into_iter()
            .filter(|&id| id != own_resource),
    );
    let mut tried = store::Tried::default();
    for resource_id in order {
        match store::reschedule_on(pool, booking_id, resource_id, starts_at, actor, now).await {
            Ok(done) => return Ok(done),
            Err(error) => tried.note(error)?,
        }
    }
    match tried.refusal() {
        BookingError::Taken => Err(Refusal::Taken {
            next_free: next_free(pool, &service, starts_at, now).await?,
        }),
        other => Err(other.into()),
    }
}

/// Cancels `actor`'s booking; its slot is free at once.
pub async fn cancel(
    pool: &MySqlPool,
    booking_id: Uuid,
    actor: Actor<'_>,
    now: Timestamp,
) -> Result<(Booking, BookingChanged), Refusal> {
    own(pool, booking_id, actor.by)
        .await?
        .ok_or(Refusal::NotFound)?;
    store::cancel(pool, booking_id, actor, now)
        .await?
        .ok_or(Refusal::NotFound)
}

/// Joins `by`'s live booking `booking_id` to `order_id` (a web order placed with the time
/// its form's picker booked under a reserved id): the hold ends, the time is the order's.
/// `false` if there is no such live booking (someone else's, cancelled, or a hold that
/// expired).
pub async fn attach(
    pool: &MySqlPool,
    booking_id: Uuid,
    by: &str,
    order_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE bookings SET order_id = ?, held_until = NULL
         WHERE id = ? AND booked_by = ? AND status = 'booked'",
    )
    .bind(order_id)
    .bind(booking_id)
    .bind(by)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What became of the time booked for an order that is being sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Joined {
    /// The order has no booking, and had none that expired (the customer chose no time).
    Nothing,
    /// Its live booking is the order's now: a hold ended ([`attach`]).
    Joined(Uuid),
    /// Its latest booking was a hold that ran out before the order was sent: the time
    /// (`starts_at`, of `service_code`) was released, and no other is live.
    Expired {
        service_code: String,
        starts_at: Timestamp,
    },
}

/// `by` is sending the order `order_id`, whose time was booked under the order's own id
/// (the bot's draft): its live booking joins the order exactly as the portal's does
/// ([`attach`]: the hold ends), or, when the latest booking of it was a hold that ran out
/// (cancelled by the sweep, `store::expire_holds`, which alone leaves `held_until` on a
/// cancelled booking), [`Joined::Expired`] says which time was released, so the customer is
/// told and chooses again. A hold its customer cancelled is no expired one.
pub async fn join_order(pool: &MySqlPool, order_id: Uuid, by: &str) -> Result<Joined, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, service_code, starts_at, CAST(status AS CHAR) AS status, held_until,
                cancelled_at
         FROM bookings WHERE order_id = ? AND booked_by = ?
         ORDER BY created_at DESC LIMIT 1",
    )
    .bind(order_id)
    .bind(by)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(Joined::Nothing);
    };
    let id: Uuid = row.try_get("id")?;
    let status: String = row.try_get("status")?;
    let held_until: Option<chrono::DateTime<chrono::Utc>> = row.try_get("held_until")?;
    let cancelled_at: Option<chrono::DateTime<chrono::Utc>> = row.try_get("cancelled_at")?;
    let held = held_until.is_some();
    let ran_out = matches!((held_until, cancelled_at), (Some(until), Some(at)) if at >= until);
    let expired = || -> Result<Joined, sqlx::Error> {
        Ok(Joined::Expired {
            service_code: row.try_get("service_code")?,
            starts_at: from_chrono(row.try_get("starts_at")?),
        })
    };
    if status == "booked" {
        // Not held (joined already, by a first attempt at sending): nothing to end.
        if !held || attach(pool, id, by, order_id).await? {
            return Ok(Joined::Joined(id));
        }
        // The sweep cancelled it between the read and the update.
        return expired();
    }
    if ran_out {
        return expired();
    }
    Ok(Joined::Nothing)
}

/// Holds `by`'s booking `booking_id` again from `now` (an order joined to it could not be
/// sent after all: the broker refused it), so it expires like any hold if the customer does
/// not send the order again.
pub async fn hold_again(
    pool: &MySqlPool,
    booking_id: Uuid,
    by: &str,
    now: Timestamp,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE bookings SET held_until = ? WHERE id = ? AND booked_by = ? AND status = 'booked'",
    )
    .bind(to_chrono(store::hold_until(now)))
    .bind(booking_id)
    .bind(by)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}
