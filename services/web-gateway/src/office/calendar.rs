//! Bookable time in the back office (issue 15):
//!
//! - `GET /office/calendar?resource=&day=&view=day|week`: the bookings of one resource (a
//!   staff member or a room) for a day or a week, each with "move" (to a free slot of its
//!   day) and "cancel"; and on the day view the form to book for a customer who phoned
//!   (found by phone, or created with name and phone; a service; one of the day's free
//!   slots). `resource=0` shows every resource this staff member may see at once, each
//!   booking naming the resource it took (a service done by several resources is booked
//!   by customers with whichever is free: `bureau_scheduling::desk`);
//! - `POST /office/calendar/book`, `POST /office/calendar/bookings/{id}/{move|cancel}`;
//! - `GET`, `POST /office/schedule/{resource}`: the weekly working hours, breaks and days
//!   off the slots are computed from (`bureau_scheduling::store::schedule` reads the same
//!   tables).
//!
//! Every booking goes through `bureau_scheduling::store` — the resource's row lock and the
//! UNIQUE key — exactly like the bot's and the portal's, so a slot staff took is never given
//! to a customer, nor the other way round; and like theirs, each change writes its
//! `BookingChanged` (`by` = `staff:{account}`) into the outbox in the same transaction,
//! published by the outbox relay. Who may: admins and managers edit schedules and
//! book, move and cancel for anyone; an executor who is a resource sees their own schedule
//! and calendar, read-only (`gate::schedule`). Every change is in the audit log.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use bureau_scheduling::store::{self, Actor, BookingError, BookingRequest};
use bureau_scheduling::{from_chrono, to_chrono};
use chrono::Utc;
use jiff::ToSpan;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use serde::Deserialize;
use sqlx::Row;
use uuid::Uuid;

use super::gate::{self, Access};
use super::i18n::Lang;
use super::views::{self, Chrome};
use super::{Desk, PageError};
use crate::http::{AppState, Error};

/// One bookable resource as the pages list it.
pub struct Resource {
    pub id: u32,
    pub name: String,
    pub kind: String,
    pub account_id: Option<Uuid>,
    pub time_zone: String,
}

impl Resource {
    fn zone(&self) -> TimeZone {
        TimeZone::get(&self.time_zone).unwrap_or(TimeZone::UTC)
    }
}

async fn resources(state: &AppState) -> Result<Vec<Resource>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, name, CAST(kind AS CHAR) AS kind, account_id, time_zone
         FROM booking_resources WHERE active ORDER BY id",
    )
    .fetch_all(&state.pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(Resource {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                kind: row.try_get("kind")?,
                account_id: row.try_get("account_id")?,
                time_zone: row.try_get("time_zone")?,
            })
        })
        .collect()
}

/// The resources this staff member may see, with what they may do to each.
async fn visible(state: &AppState, desk: &Desk) -> Result<Vec<(Resource, Access)>, PageError> {
    let all = resources(state)
        .await
        .map_err(|e| desk.fail(Error::from(e)))?;
    Ok(all
        .into_iter()
        .filter_map(|r| {
            gate::schedule(&desk.account, r.account_id)
                .ok()
                .map(|access| (r, access))
        })
        .collect())
}

/// A service a resource performs, with its length.
pub struct Service {
    pub code: String,
    pub name: String,
    pub minutes: i64,
}

async fn services(
    state: &AppState,
    resource: u32,
    lang: Lang,
) -> Result<Vec<Service>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT s.code, s.name_uk, s.name_en, s.duration_minutes
         FROM booking_resource_services rs JOIN catalogue_services s ON s.id = rs.service_id
         WHERE rs.resource_id = ? AND s.active AND s.duration_minutes IS NOT NULL
         ORDER BY s.position, s.id",
    )
    .bind(resource)
    .fetch_all(&state.pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            let minutes: u16 = row.try_get("duration_minutes")?;
            Ok(Service {
                code: row.try_get("code")?,
                name: row.try_get(if lang == Lang::En {
                    "name_en"
                } else {
                    "name_uk"
                })?,
                minutes: i64::from(minutes),
            })
        })
        .collect()
}

/// One live booking, as the calendar shows it.
pub struct Shown {
    pub id: Uuid,
    /// Its start (unix seconds), to order the bookings of several resources.
    pub starts: i64,
    /// The resource it took.
    pub resource: String,
    /// Whether this staff member may move and cancel it.
    pub editable: bool,
    pub day: Date,
    pub time: String,
    pub ends: String,
    pub service: String,
    pub customer: String,
    pub phone: String,
    pub order: Option<(Uuid, String)>,
    /// Free starts of its day it can move to: (unix seconds, "HH:MM").
    pub moves: Vec<(i64, String)>,
}

async fn bookings(
    state: &AppState,
    (resource, access): (&Resource, Access),
    from: Date,
    days: i64,
    lang: Lang,
) -> Result<Vec<Shown>, sqlx::Error> {
    let zone = resource.zone();
    let start = from
        .to_zoned(zone.clone())
        .map(|z| z.timestamp())
        .unwrap_or_default();
    let end = from
        .checked_add(days.days())
        .ok()
        .and_then(|d| d.to_zoned(zone.clone()).ok())
        .map(|z| z.timestamp())
        .unwrap_or(start);
    let name = if lang == Lang::En {
        "s.name_en"
    } else {
        "s.name_uk"
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT b.id, b.starts_at, b.ends_at, b.service_code, {name} AS service_name,
                COALESCE(c.display_name, oc.display_name) AS customer,
                COALESCE(c.phone, oc.phone) AS phone, o.id AS order_id, o.order_number
         FROM bookings b
         LEFT JOIN catalogue_services s ON s.code = b.service_code
         LEFT JOIN customers c ON c.id = b.customer_id
         LEFT JOIN orders o ON o.id = b.order_id
         LEFT JOIN customers oc ON oc.id = o.customer_id
         WHERE b.resource_id = ? AND b.status = 'booked' AND b.starts_at < ? AND b.ends_at > ?
         ORDER BY b.starts_at"
    )))
    .bind(resource.id)
    .bind(to_chrono(end))
    .bind(to_chrono(start))
    .fetch_all(&state.pool)
    .await?;
    let now = from_chrono(Utc::now());
    let mut shown = Vec::with_capacity(rows.len());
    for row in rows {
        let starts = from_chrono(row.try_get("starts_at")?);
        let ends = from_chrono(row.try_get("ends_at")?);
        let local = starts.to_zoned(zone.clone());
        let minutes = (ends.as_second() - starts.as_second()) / 60;
        let moves = match store::free_on(&state.pool, resource.id, local.date(), minutes, now).await
        {
            Ok(slots) => slots
                .into_iter()
                .map(|s| (s.as_second(), hh_mm(s, &zone)))
                .collect(),
            Err(_) => Vec::new(),
        };
        let order_id: Option<Uuid> = row.try_get("order_id")?;
        let order_number: Option<String> = row.try_get("order_number")?;
        let service_code: String = row.try_get("service_code")?;
        let service_name: Option<String> = row.try_get("service_name")?;
        shown.push(Shown {
            id: row.try_get("id")?,
            starts: starts.as_second(),
            resource: resource.name.clone(),
            editable: access == Access::Edit,
            day: local.date(),
            time: hh_mm(starts, &zone),
            ends: hh_mm(ends, &zone),
            service: service_name.unwrap_or(service_code),
            customer: row
                .try_get::<Option<String>, _>("customer")?
                .unwrap_or_default(),
            phone: row
                .try_get::<Option<String>, _>("phone")?
                .unwrap_or_default(),
            order: order_id.zip(order_number),
            moves,
        });
    }
    Ok(shown)
}

fn hh_mm(at: jiff::Timestamp, zone: &TimeZone) -> String {
    at.to_zoned(zone.clone()).strftime("%H:%M").to_string()
}

/// `resource=0`: every resource this staff member may see, at once.
pub const ALL: u32 = 0;

/// A day column of the week view (or the one day of the day view).
pub struct DayColumn {
    pub date: String,
    pub label: String,
    pub bookings: Vec<Shown>,
    pub today: bool,
}

/// A free slot to book: `code|unix seconds` and what the select shows.
pub struct SlotOption {
    pub value: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "office/calendar.html")]
pub struct CalendarPage {
    pub chrome: Chrome,
    pub c: &'static CalendarTexts,
    pub resources: Vec<(u32, String, bool)>,
    /// Whether "every resource" is offered (more than one is visible), and shown.
    pub all_option: bool,
    pub all: bool,
    /// The resource shown, or [`ALL`].
    pub resource_id: u32,
    pub resource_name: String,
    pub zone: String,
    pub can_book: bool,
    pub can_edit_schedule: bool,
    pub week: bool,
    pub day: String,
    pub prev: String,
    pub next: String,
    pub columns: Vec<DayColumn>,
    pub slots: Vec<SlotOption>,
    pub form: BookForm,
    pub message: Option<String>,
    pub ok: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct CalendarQuery {
    pub resource: Option<u32>,
    pub day: Option<String>,
    pub view: Option<String>,
    /// A notice to show after a redirect: `booked`, `moved`, `cancelled`.
    pub done: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct BookForm {
    #[serde(default)]
    pub resource: u32,
    #[serde(default)]
    pub day: String,
    #[serde(default)]
    pub slot: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub language: String,
}

pub async fn page(
    State(state): State<AppState>,
    desk: Desk,
    Query(query): Query<CalendarQuery>,
) -> Result<Response, PageError> {
    let c = texts(desk.lang);
    let done = match query.done.as_deref() {
        Some("booked") => Some(c.booked.to_owned()),
        Some("moved") => Some(c.moved.to_owned()),
        Some("cancelled") => Some(c.cancelled.to_owned()),
        _ => None,
    };
    render(
        &state,
        &desk,
        StatusCode::OK,
        &query,
        BookForm::default(),
        None,
        done,
    )
    .await
}

async fn render(
    state: &AppState,
    desk: &Desk,
    status: StatusCode,
    query: &CalendarQuery,
    form: BookForm,
    message: Option<String>,
    ok: Option<String>,
) -> Result<Response, PageError> {
    let c = texts(desk.lang);
    let visible = visible(state, desk).await?;
    let Some(index) = visible
        .iter()
        .position(|(r, _)| Some(r.id) == query.resource)
        .or(if visible.is_empty() { None } else { Some(0) })
    else {
        return Err(desk.fail(super::Failure::NotYours));
    };
    // Every visible resource at once (`resource=0`): the days are the first one's.
    let all = query.resource == Some(ALL) && visible.len() > 1;
    let (resource, access) = &visible[index];
    let zone = resource.zone();
    let today = jiff::Timestamp::now().to_zoned(zone.clone()).date();
    let day = query
        .day
        .as_deref()
        .and_then(|d| d.parse::<Date>().ok())
        .unwrap_or(today);
    let week = query.view.as_deref() == Some("week");
    let (from, days) = if week {
        let monday = day
            .checked_sub(i64::from(day.weekday().to_monday_zero_offset()).days())
            .unwrap_or(day);
        (monday, 7)
    } else {
        (day, 1)
    };
    let mut shown = Vec::new();
    for (shown_resource, shown_access) in &visible {
        if all || shown_resource.id == resource.id {
            shown.extend(
                bookings(
                    state,
                    (shown_resource, *shown_access),
                    from,
                    days,
                    desk.lang,
                )
                .await
                .map_err(|e| desk.fail(Error::from(e)))?,
            );
        }
    }
    shown.sort_by(|a, b| (a.starts, &a.resource).cmp(&(b.starts, &b.resource)));
    let mut columns: Vec<DayColumn> = (0..days)
        .filter_map(|offset| from.checked_add(offset.days()).ok())
        .map(|date| DayColumn {
            date: date.to_string(),
            label: format!(
                "{} {}",
                c.weekdays[date.weekday().to_monday_zero_offset() as usize],
                date.strftime("%d.%m")
            ),
            bookings: Vec::new(),
            today: date == today,
        })
        .collect();
    for booking in shown {
        if let Some(column) = columns
            .iter_mut()
            .find(|col| col.date == booking.day.to_string())
        {
            column.bookings.push(booking);
        }
    }
    // Booking for a phoned-in customer and the schedule are one resource's.
    let can_book = *access == Access::Edit && !all;
    let mut slots = Vec::new();
    if can_book && !week {
        let now = from_chrono(Utc::now());
        for service in services(state, resource.id, desk.lang)
            .await
            .map_err(|e| desk.fail(Error::from(e)))?
        {
            let free = store::free_on(&state.pool, resource.id, day, service.minutes, now)
                .await
                .map_err(|e| desk.fail(Error::from(e)))?;
            for start in free {
                slots.push(SlotOption {
                    value: format!("{}|{}", service.code, start.as_second()),
                    label: format!("{} — {}", hh_mm(start, &zone), service.name),
                });
            }
        }
    }
    let step = if week { 7 } else { 1 };
    let prev = from
        .checked_sub(step.days())
        .map(|d| d.to_string())
        .unwrap_or_default();
    let next = from
        .checked_add(step.days())
        .map(|d| d.to_string())
        .unwrap_or_default();
    let shown_id = if all { ALL } else { resource.id };
    let back = format!(
        "/office/calendar?resource={shown_id}&day={day}&view={}",
        if week { "week" } else { "day" }
    );
    let page = CalendarPage {
        chrome: Chrome::new(desk.lang, Some(&desk.account), &back, c.calendar),
        c,
        resources: visible
            .iter()
            .map(|(r, _)| (r.id, r.name.clone(), !all && r.id == resource.id))
            .collect(),
        all_option: visible.len() > 1,
        all,
        resource_id: shown_id,
        resource_name: if all {
            c.all_resources.to_owned()
        } else {
            resource.name.clone()
        },
        zone: resource.time_zone.clone(),
        can_book,
        can_edit_schedule: can_book,
        week,
        day: day.to_string(),
        prev,
        next,
        columns,
        slots,
        form,
        message,
        ok,
    };
    Ok(views::html(status, &page))
}

/// The digits of a phone number (and a leading +), to find a customer by it.
fn normalized_phone(phone: &str) -> String {
    let trimmed = phone.trim();
    let digits: String = trimmed.chars().filter(|c| c.is_ascii_digit()).collect();
    if trimmed.starts_with('+') {
        format!("+{digits}")
    } else {
        digits
    }
}

/// The customer with this phone number, or a new one with `name`.
async fn customer_by_phone(
    state: &AppState,
    phone: &str,
    name: &str,
    language: &str,
) -> Result<(Uuid, bool), sqlx::Error> {
    let found: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM customers WHERE phone = ? ORDER BY created_at LIMIT 1")
            .bind(phone)
            .fetch_optional(&state.pool)
            .await?;
    if let Some(id) = found {
        return Ok((id, false));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO customers (id, display_name, phone, language, created_at, updated_at)
         VALUES (?, ?, ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
    )
    .bind(id)
    .bind(name)
    .bind(phone)
    .bind(language)
    .execute(&state.pool)
    .await?;
    Ok((id, true))
}

pub async fn book(
    State(state): State<AppState>,
    desk: Desk,
    Form(form): Form<BookForm>,
) -> Result<Response, PageError> {
    let c = texts(desk.lang);
    let query = CalendarQuery {
        resource: Some(form.resource),
        day: Some(form.day.clone()),
        view: Some("day".into()),
        done: None,
    };
    let visible = visible(&state, &desk).await?;
    let Some((resource, Access::Edit)) = visible.iter().find(|(r, _)| r.id == form.resource) else {
        return Err(desk.fail(super::Failure::NotYours));
    };
    let phone = normalized_phone(&form.phone);
    let name = form.name.trim().to_owned();
    let language = if form.language == "en" { "en" } else { "uk" };
    let problem = if phone.trim_start_matches('+').len() < 5 || phone.len() > 32 {
        Some(c.bad_phone)
    } else if name.is_empty() || name.chars().count() > 200 {
        Some(c.bad_name)
    } else {
        None
    };
    let slot = form.slot.split_once('|').and_then(|(code, secs)| {
        let at = jiff::Timestamp::from_second(secs.parse().ok()?).ok()?;
        Some((code.to_owned(), at))
    });
    let (problem, slot) = match (problem, slot) {
        (Some(p), _) => (Some(p), None),
        (None, None) => (Some(c.pick_slot), None),
        (None, Some(slot)) => (None, Some(slot)),
    };
    let Some((code, starts_at)) = slot else {
        let message = problem.map(str::to_owned);
        return render(
            &state,
            &desk,
            StatusCode::UNPROCESSABLE_ENTITY,
            &query,
            form,
            message,
            None,
        )
        .await;
    };
    // The length comes from the catalogue, never from the form.
    let services = services(&state, resource.id, desk.lang)
        .await
        .map_err(|e| desk.fail(Error::from(e)))?;
    let Some(service) = services.iter().find(|s| s.code == code) else {
        return render(
            &state,
            &desk,
            StatusCode::UNPROCESSABLE_ENTITY,
            &query,
            form,
            Some(c.not_offered.to_owned()),
            None,
        )
        .await;
    };
    let (customer_id, created) = customer_by_phone(&state, &phone, &name, language)
        .await
        .map_err(|e| desk.fail(Error::from(e)))?;
    let request = BookingRequest {
        resource_id: resource.id,
        service_code: service.code.clone(),
        duration_minutes: service.minutes,
        starts_at,
        order_id: None,
        customer_id: Some(customer_id),
        held_until: None,
        booked_by: staff(&desk),
    };
    match store::book(&state.pool, &request, PRODUCER, from_chrono(Utc::now())).await {
        Ok((booking, _)) => {
            state.outbox.kick();
            desk.audit(
                &state,
                "booking_create",
                None,
                Some(&booking.id.to_string()),
                Some(&format!(
                    "{} {} for {}{}",
                    service.code,
                    booking.starts_at,
                    phone,
                    if created { " (new customer)" } else { "" }
                )),
            )
            .await?;
            Ok(Redirect::to(&format!(
                "/office/calendar?resource={}&day={}&view=day&done=booked",
                resource.id, form.day
            ))
            .into_response())
        }
        Err(error) => {
            let message = refusal(c, &error).ok_or_else(|| desk.fail(Error::from(error)))?;
            render(
                &state,
                &desk,
                StatusCode::CONFLICT,
                &query,
                form,
                Some(message.to_owned()),
                None,
            )
            .await
        }
    }
}

/// The service writing staff's booking changes (their events' producer).
const PRODUCER: proto_events::Producer = crate::SERVICE.name();

/// `BookingChanged.by` for a change this staff member makes.
fn staff(desk: &Desk) -> String {
    format!("staff:{}", desk.account.id)
}

/// The sentence for a booking the store refused; `None` for a database failure.
fn refusal(c: &'static CalendarTexts, error: &BookingError) -> Option<&'static str> {
    match error {
        BookingError::Taken => Some(c.taken),
        BookingError::NotOffered => Some(c.not_offered),
        BookingError::NotFound => Some(c.gone),
        BookingError::Database(_) => None,
    }
}

impl From<BookingError> for Error {
    fn from(error: BookingError) -> Error {
        match error {
            BookingError::Database(e) => Error::from(e),
            other => Error::Internal(anyhow::anyhow!(other.to_string())),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    pub starts: String,
}

/// The booking's resource, if this staff member may change its bookings.
async fn editable(
    state: &AppState,
    desk: &Desk,
    booking: &str,
) -> Result<(Uuid, Resource), PageError> {
    let id = Uuid::parse_str(booking).map_err(|_| desk.fail(super::Failure::NotFound))?;
    let resource_id: Option<u32> =
        sqlx::query_scalar("SELECT resource_id FROM bookings WHERE id = ? AND status = 'booked'")
            .bind(id)
            .fetch_optional(&state.pool)
            .await
            .map_err(|e| desk.fail(Error::from(e)))?;
    let resource_id = resource_id.ok_or_else(|| desk.fail(super::Failure::NotFound))?;
    let visible = visible(state, desk).await?;
    match visible.into_iter().find(|(r, _)| r.id == resource_id) {
        Some((resource, Access::Edit)) => Ok((id, resource)),
        _ => Err(desk.fail(super::Failure::NotYours)),
    }
}

pub async fn move_booking(
    State(state): State<AppState>,
    desk: Desk,
    Path(booking): Path<String>,
    Form(form): Form<MoveForm>,
) -> Result<Response, PageError> {
    let c = texts(desk.lang);
    let (id, resource) = editable(&state, &desk, &booking).await?;
    let starts = form
        .starts
        .parse::<i64>()
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok());
    let day = starts
        .map(|s| s.to_zoned(resource.zone()).date().to_string())
        .unwrap_or_default();
    let query = CalendarQuery {
        resource: Some(resource.id),
        day: Some(day.clone()),
        view: Some("day".into()),
        done: None,
    };
    let Some(starts) = starts else {
        return render(
            &state,
            &desk,
            StatusCode::UNPROCESSABLE_ENTITY,
            &query,
            BookForm::default(),
            Some(c.pick_slot.to_owned()),
            None,
        )
        .await;
    };
    let by = staff(&desk);
    let actor = Actor {
        by: &by,
        producer: PRODUCER,
    };
    match store::reschedule(&state.pool, id, starts, actor, from_chrono(Utc::now())).await {
        Ok((moved, _)) => {
            state.outbox.kick();
            desk.audit(
                &state,
                "booking_move",
                None,
                Some(&id.to_string()),
                Some(&format!("to {}", moved.starts_at)),
            )
            .await?;
            Ok(Redirect::to(&format!(
                "/office/calendar?resource={}&day={day}&view=day&done=moved",
                resource.id
            ))
            .into_response())
        }
        Err(error) => {
            let message = refusal(c, &error).ok_or_else(|| desk.fail(Error::from(error)))?;
            render(
                &state,
                &desk,
                StatusCode::CONFLICT,
                &query,
                BookForm::default(),
                Some(message.to_owned()),
                None,
            )
            .await
        }
    }
}

pub async fn cancel_booking(
    State(state): State<AppState>,
    desk: Desk,
    Path(booking): Path<String>,
) -> Result<Response, PageError> {
    let (id, resource) = editable(&state, &desk, &booking).await?;
    let starts: Option<chrono::DateTime<Utc>> =
        sqlx::query_scalar("SELECT starts_at FROM bookings WHERE id = ?")
            .bind(id)
            .fetch_optional(&state.pool)
            .await
            .map_err(|e| desk.fail(Error::from(e)))?;
    let day = starts
        .map(|s| from_chrono(s).to_zoned(resource.zone()).date().to_string())
        .unwrap_or_default();
    let by = staff(&desk);
    let actor = Actor {
        by: &by,
        producer: PRODUCER,
    };
    store::cancel(&state.pool, id, actor, from_chrono(Utc::now()))
        .await
        .map_err(|e| desk.fail(Error::from(e)))?;
    state.outbox.kick();
    desk.audit(&state, "booking_cancel", None, Some(&id.to_string()), None)
        .await?;
    Ok(Redirect::to(&format!(
        "/office/calendar?resource={}&day={day}&view=day&done=cancelled",
        resource.id
    ))
    .into_response())
}

// ---- the weekly schedule ----

/// One weekday's row of the schedule form.
pub struct DayRow {
    pub weekday: u8,
    pub name: &'static str,
    pub hours: String,
    pub breaks: String,
}

#[derive(Template)]
#[template(path = "office/schedule.html")]
pub struct SchedulePage {
    pub chrome: Chrome,
    pub c: &'static CalendarTexts,
    pub resource_id: u32,
    pub resource_name: String,
    pub kind: String,
    pub zone: String,
    pub editable: bool,
    pub rows: Vec<DayRow>,
    pub days_off: String,
    pub errors: Vec<String>,
    pub saved: bool,
}

async fn schedule_resource(
    state: &AppState,
    desk: &Desk,
    resource: u32,
) -> Result<(Resource, Access), PageError> {
    visible(state, desk)
        .await?
        .into_iter()
        .find(|(r, _)| r.id == resource)
        .ok_or_else(|| desk.fail(super::Failure::NotYours))
}

fn windows_text(windows: &[(u8, String, String)], weekday: u8) -> String {
    windows
        .iter()
        .filter(|(d, _, _)| *d == weekday)
        .map(|(_, s, e)| format!("{}-{}", &s[..5.min(s.len())], &e[..5.min(e.len())]))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn read_windows(
    state: &AppState,
    table: &str,
    resource: u32,
) -> Result<Vec<(u8, String, String)>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT weekday, CAST(starts AS CHAR), CAST(ends AS CHAR) FROM {table}
         WHERE resource_id = ? ORDER BY weekday, starts"
    )))
    .bind(resource)
    .fetch_all(&state.pool)
    .await
}

pub async fn schedule_page(
    State(state): State<AppState>,
    desk: Desk,
    Path(resource): Path<u32>,
) -> Result<Response, PageError> {
    let (resource, access) = schedule_resource(&state, &desk, resource).await?;
    let hours = read_windows(&state, "booking_working_hours", resource.id)
        .await
        .map_err(|e| desk.fail(Error::from(e)))?;
    let breaks = read_windows(&state, "booking_breaks", resource.id)
        .await
        .map_err(|e| desk.fail(Error::from(e)))?;
    let days_off: Vec<(chrono::NaiveDate, Option<String>)> = sqlx::query_as(
        "SELECT day, reason FROM booking_days_off WHERE resource_id = ? ORDER BY day",
    )
    .bind(resource.id)
    .fetch_all(&state.pool)
    .await
    .map_err(|e| desk.fail(Error::from(e)))?;
    let c = texts(desk.lang);
    let rows = (1..=7u8)
        .map(|weekday| DayRow {
            weekday,
            name: c.weekdays[usize::from(weekday - 1)],
            hours: windows_text(&hours, weekday),
            breaks: windows_text(&breaks, weekday),
        })
        .collect();
    let days_off = days_off
        .into_iter()
        .map(|(day, reason)| match reason {
            Some(reason) => format!("{day} {reason}"),
            None => day.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    Ok(render_schedule(
        &desk,
        StatusCode::OK,
        &resource,
        access,
        rows,
        days_off,
        vec![],
        false,
    ))
}

#[allow(clippy::too_many_arguments)]
fn render_schedule(
    desk: &Desk,
    status: StatusCode,
    resource: &Resource,
    access: Access,
    rows: Vec<DayRow>,
    days_off: String,
    errors: Vec<String>,
    saved: bool,
) -> Response {
    let c = texts(desk.lang);
    let back = format!("/office/schedule/{}", resource.id);
    views::html(
        status,
        &SchedulePage {
            chrome: Chrome::new(desk.lang, Some(&desk.account), &back, c.schedule),
            c,
            resource_id: resource.id,
            resource_name: resource.name.clone(),
            kind: resource.kind.clone(),
            zone: resource.time_zone.clone(),
            editable: access == Access::Edit,
            rows,
            days_off,
            errors,
            saved,
        },
    )
}

/// "09:00-13:00, 14:00-18:00" as windows; `Err` names what is wrong.
pub fn parse_windows(text: &str) -> Result<Vec<(Time, Time)>, String> {
    let mut windows: Vec<(Time, Time)> = Vec::new();
    for part in text
        .split([',', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (a, b) = part.split_once(['-', '–']).ok_or_else(|| part.to_owned())?;
        let parse = |t: &str| -> Option<Time> {
            let t = t.trim();
            let (h, m) = t.split_once(':').unwrap_or((t, "0"));
            Time::new(h.parse().ok()?, m.parse().ok()?, 0, 0).ok()
        };
        let (Some(starts), Some(ends)) = (parse(a), parse(b)) else {
            return Err(part.to_owned());
        };
        if starts >= ends {
            return Err(part.to_owned());
        }
        if windows.iter().any(|(s, e)| starts < *e && *s < ends) {
            return Err(part.to_owned());
        }
        windows.push((starts, ends));
    }
    windows.sort();
    Ok(windows)
}

/// "2026-12-25 Christmas" lines as days off.
pub fn parse_days_off(text: &str) -> Result<Vec<(Date, Option<String>)>, String> {
    let mut days = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (day, reason) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let day: Date = day.parse().map_err(|_| line.to_owned())?;
        let reason = reason.trim();
        if reason.chars().count() > 200 {
            return Err(line.to_owned());
        }
        if !days.iter().any(|(d, _)| *d == day) {
            days.push((day, (!reason.is_empty()).then(|| reason.to_owned())));
        }
    }
    Ok(days)
}

#[derive(Debug, Default, Deserialize)]
pub struct ScheduleForm {
    #[serde(default)]
    pub hours_1: String,
    #[serde(default)]
    pub hours_2: String,
    #[serde(default)]
    pub hours_3: String,
    #[serde(default)]
    pub hours_4: String,
    #[serde(default)]
    pub hours_5: String,
    #[serde(default)]
    pub hours_6: String,
    #[serde(default)]
    pub hours_7: String,
    #[serde(default)]
    pub breaks_1: String,
    #[serde(default)]
    pub breaks_2: String,
    #[serde(default)]
    pub breaks_3: String,
    #[serde(default)]
    pub breaks_4: String,
    #[serde(default)]
    pub breaks_5: String,
    #[serde(default)]
    pub breaks_6: String,
    #[serde(default)]
    pub breaks_7: String,
    #[serde(default)]
    pub days_off: String,
}

impl ScheduleForm {
    fn day(&self, weekday: u8) -> (&str, &str) {
        match weekday {
            1 => (&self.hours_1, &self.breaks_1),
            2 => (&self.hours_2, &self.breaks_2),
            3 => (&self.hours_3, &self.breaks_3),
            4 => (&self.hours_4, &self.breaks_4),
            5 => (&self.hours_5, &self.breaks_5),
            6 => (&self.hours_6, &self.breaks_6),
            _ => (&self.hours_7, &self.breaks_7),
        }
    }
}

pub async fn schedule_save(
    State(state): State<AppState>,
    desk: Desk,
    Path(resource): Path<u32>,
    Form(form): Form<ScheduleForm>,
) -> Result<Response, PageError> {
    let (resource, access) = schedule_resource(&state, &desk, resource).await?;
    if access != Access::Edit {
        return Err(desk.fail(super::Failure::NotYours));
    }
    let c = texts(desk.lang);
    let mut errors = Vec::new();
    let mut parsed = Vec::new();
    let mut rows = Vec::new();
    for weekday in 1..=7u8 {
        let (hours, breaks) = form.day(weekday);
        let name = c.weekdays[usize::from(weekday - 1)];
        let h = parse_windows(hours).unwrap_or_else(|bad| {
            errors.push(format!("{name}: {} «{bad}»", c.bad_window));
            Vec::new()
        });
        let b = parse_windows(breaks).unwrap_or_else(|bad| {
            errors.push(format!("{name}: {} «{bad}»", c.bad_window));
            Vec::new()
        });
        parsed.push((weekday, h, b));
        rows.push(DayRow {
            weekday,
            name,
            hours: hours.to_owned(),
            breaks: breaks.to_owned(),
        });
    }
    let days_off = parse_days_off(&form.days_off).unwrap_or_else(|bad| {
        errors.push(format!("{} «{bad}»", c.bad_day_off));
        Vec::new()
    });
    if !errors.is_empty() {
        return Ok(render_schedule(
            &desk,
            StatusCode::UNPROCESSABLE_ENTITY,
            &resource,
            access,
            rows,
            form.days_off.clone(),
            errors,
            false,
        ));
    }
    let save = async {
        let mut tx = state.pool.begin().await?;
        // The resource's row lock: no booking of it is checked against half a schedule.
        sqlx::query("SELECT id FROM booking_resources WHERE id = ? FOR UPDATE")
            .bind(resource.id)
            .execute(&mut *tx)
            .await?;
        for table in [
            "booking_working_hours",
            "booking_breaks",
            "booking_days_off",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE resource_id = ?"
            )))
            .bind(resource.id)
            .execute(&mut *tx)
            .await?;
        }
        for (weekday, hours, breaks) in &parsed {
            for (table, windows) in [("booking_working_hours", hours), ("booking_breaks", breaks)] {
                for (starts, ends) in windows {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO {table} (resource_id, weekday, starts, ends) VALUES (?, ?, ?, ?)"
                    )))
                    .bind(resource.id)
                    .bind(weekday)
                    .bind(starts.strftime("%H:%M:%S").to_string())
                    .bind(ends.strftime("%H:%M:%S").to_string())
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        for (day, reason) in &days_off {
            sqlx::query("INSERT INTO booking_days_off (resource_id, day, reason) VALUES (?, ?, ?)")
                .bind(resource.id)
                .bind(day.to_string())
                .bind(reason)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    };
    save.await
        .map_err(|e: sqlx::Error| desk.fail(Error::from(e)))?;
    let summary = parsed
        .iter()
        .map(|(d, h, _)| {
            format!(
                "{d}:{}",
                h.iter()
                    .map(|(s, e)| format!("{}-{}", s.strftime("%H:%M"), e.strftime("%H:%M")))
                    .collect::<Vec<_>>()
                    .join("+")
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    desk.audit(
        &state,
        "schedule_update",
        None,
        Some(&format!("resource:{}", resource.id)),
        Some(&format!("{summary}; days off: {}", days_off.len())),
    )
    .await?;
    Ok(render_schedule(
        &desk,
        StatusCode::OK,
        &resource,
        access,
        rows,
        form.days_off.clone(),
        vec![],
        true,
    ))
}

// ---- words ----

/// The calendar's and schedule's words in one language.
pub struct CalendarTexts {
    pub calendar: &'static str,
    pub schedule: &'static str,
    pub resource: &'static str,
    pub all_resources: &'static str,
    pub day_view: &'static str,
    pub week_view: &'static str,
    pub previous: &'static str,
    pub next: &'static str,
    pub today: &'static str,
    pub go: &'static str,
    pub no_bookings: &'static str,
    pub time_zone: &'static str,
    pub book_title: &'static str,
    pub book_hint: &'static str,
    pub slot: &'static str,
    pub no_slots: &'static str,
    pub customer_name: &'static str,
    pub customer_phone: &'static str,
    pub customer_language: &'static str,
    pub book: &'static str,
    pub move_to: &'static str,
    pub move_button: &'static str,
    pub cancel_button: &'static str,
    pub order: &'static str,
    pub booked: &'static str,
    pub moved: &'static str,
    pub cancelled: &'static str,
    pub taken: &'static str,
    pub not_offered: &'static str,
    pub gone: &'static str,
    pub pick_slot: &'static str,
    pub bad_phone: &'static str,
    pub bad_name: &'static str,
    pub edit_schedule: &'static str,
    pub weekday: &'static str,
    pub hours: &'static str,
    pub breaks: &'static str,
    pub days_off: &'static str,
    pub hours_hint: &'static str,
    pub days_off_hint: &'static str,
    pub save: &'static str,
    pub saved: &'static str,
    pub read_only: &'static str,
    pub bad_window: &'static str,
    pub bad_day_off: &'static str,
    pub staff_kind: &'static str,
    pub room_kind: &'static str,
    pub weekdays: [&'static str; 7],
}

static UK: CalendarTexts = CalendarTexts {
    calendar: "Календар",
    schedule: "Графік роботи",
    resource: "Хто / що",
    all_resources: "Усі приміщення й виконавці",
    day_view: "День",
    week_view: "Тиждень",
    previous: "← Раніше",
    next: "Далі →",
    today: "Сьогодні",
    go: "Показати",
    no_bookings: "Записів немає.",
    time_zone: "Час за",
    book_title: "Записати клієнта, який зателефонував",
    book_hint: "Клієнта шукаємо за телефоном; якщо такого немає — створюємо з цим ім'ям.",
    slot: "Вільний час і послуга",
    no_slots: "Цього дня вільного часу немає.",
    customer_name: "Ім'я клієнта",
    customer_phone: "Телефон",
    customer_language: "Мова нагадувань",
    book: "Записати",
    move_to: "Перенести на",
    move_button: "Перенести",
    cancel_button: "Скасувати запис",
    order: "Замовлення",
    booked: "Записано.",
    moved: "Запис перенесено.",
    cancelled: "Запис скасовано; час знову вільний.",
    taken: "Цей час щойно зайняли. Оберіть інший вільний час.",
    not_offered: "Цей час не пропонується (поза графіком, перерва, вихідний або вже минув).",
    gone: "Такого запису чи ресурсу вже немає.",
    pick_slot: "Оберіть вільний час.",
    bad_phone: "Вкажіть номер телефону (щонайменше 5 цифр).",
    bad_name: "Вкажіть ім'я клієнта (до 200 символів).",
    edit_schedule: "Графік роботи",
    weekday: "День",
    hours: "Робочі години",
    breaks: "Перерви",
    days_off: "Вихідні дні",
    hours_hint: "Наприклад «09:00-13:00, 14:00-18:00»; порожньо — не працює.",
    days_off_hint: "По одному на рядок: «2026-12-25 Різдво».",
    save: "Зберегти",
    saved: "Графік збережено; вільний час рахується вже за ним.",
    read_only: "Ви бачите свій графік; змінюють його адміністратор або менеджер.",
    bad_window: "незрозумілий проміжок",
    bad_day_off: "Незрозумілий вихідний",
    staff_kind: "працівник",
    room_kind: "приміщення",
    weekdays: ["Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Нд"],
};

static EN: CalendarTexts = CalendarTexts {
    calendar: "Calendar",
    schedule: "Working hours",
    resource: "Who / what",
    all_resources: "All rooms and staff",
    day_view: "Day",
    week_view: "Week",
    previous: "← Earlier",
    next: "Later →",
    today: "Today",
    go: "Show",
    no_bookings: "No bookings.",
    time_zone: "Times in",
    book_title: "Book a customer who phoned",
    book_hint: "The customer is found by phone; if there is none, one is created with this name.",
    slot: "Free time and service",
    no_slots: "No free time this day.",
    customer_name: "Customer's name",
    customer_phone: "Phone",
    customer_language: "Reminders in",
    book: "Book",
    move_to: "Move to",
    move_button: "Move",
    cancel_button: "Cancel booking",
    order: "Order",
    booked: "Booked.",
    moved: "Booking moved.",
    cancelled: "Booking cancelled; the time is free again.",
    taken: "This time was just taken. Choose another free time.",
    not_offered: "This time is not offered (outside the hours, a break, a day off, or past).",
    gone: "That booking or resource no longer exists.",
    pick_slot: "Choose a free time.",
    bad_phone: "Give a phone number (at least 5 digits).",
    bad_name: "Give the customer's name (up to 200 characters).",
    edit_schedule: "Working hours",
    weekday: "Day",
    hours: "Working hours",
    breaks: "Breaks",
    days_off: "Days off",
    hours_hint: "For example “09:00-13:00, 14:00-18:00”; empty: not working.",
    days_off_hint: "One a line: “2026-12-25 Christmas”.",
    save: "Save",
    saved: "Schedule saved; free times follow it from now on.",
    read_only: "This is your schedule; an admin or a manager changes it.",
    bad_window: "a span that makes no sense",
    bad_day_off: "A day off that makes no sense",
    staff_kind: "staff",
    room_kind: "room",
    weekdays: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
};

pub fn texts(lang: Lang) -> &'static CalendarTexts {
    match lang {
        Lang::En => &EN,
        _ => &UK,
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::time;

    use super::*;

    #[test]
    fn windows_and_days_off_are_read_or_refused_with_the_bad_part() {
        assert_eq!(
            parse_windows("09:00-13:00, 14:00-18:30").unwrap(),
            vec![
                (time(9, 0, 0, 0), time(13, 0, 0, 0)),
                (time(14, 0, 0, 0), time(18, 30, 0, 0))
            ]
        );
        assert_eq!(parse_windows(" ").unwrap(), vec![]);
        assert_eq!(
            parse_windows("9-12").unwrap(),
            vec![(time(9, 0, 0, 0), time(12, 0, 0, 0))]
        );
        assert_eq!(parse_windows("18:00-09:00"), Err("18:00-09:00".into()));
        assert_eq!(
            parse_windows("09:00-12:00, 11:00-13:00"),
            Err("11:00-13:00".into())
        );
        assert_eq!(parse_windows("25:00-26:00"), Err("25:00-26:00".into()));
        assert_eq!(parse_windows("lunch"), Err("lunch".into()));
        let days = parse_days_off("2026-12-25 Christmas\n\n2027-01-01").unwrap();
        assert_eq!(days.len(), 2);
        assert_eq!(days[0].1.as_deref(), Some("Christmas"));
        assert!(parse_days_off("25.12.2026").is_err());
        assert_eq!(normalized_phone(" +38 (050) 123-45-67 "), "+380501234567");
    }
}
