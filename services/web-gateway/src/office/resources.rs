//! Bookable resources in the back office (issue 15): the rooms (and staff members) bookings
//! are made with. Admins and managers (the matrix's `ManageResources`):
//!
//! - `GET /office/resources`: every resource, active or not, with its services and how many
//!   bookings it holds ahead;
//! - `GET /office/resources/new`, `POST /office/resources`: a new room (or staff member):
//!   name, time zone (blank: the business's), the bookable services it does; then its
//!   working hours (`/office/schedule/{id}`, the page the creation leads to);
//! - `GET`, `POST /office/resources/{id}`: rename it, change its zone and services;
//! - `POST /office/resources/{id}/active`: deactivate it (refused while it holds bookings
//!   ahead: move or cancel them first) or bring it back.
//!
//! A resource is a row of `booking_resources`; its services are `booking_resource_services`,
//! which `bureau_scheduling` reads to offer slots, so a service given a room is bookable
//! with it at once: in the office's calendar, and for customers as one more resource of the
//! service's pool (a time is offered when any resource doing the service is free then, and
//! booked with one that is). The form names, beside each service, which other active
//! resources do it. Deactivation takes the resource's row lock, the
//! one every booking takes (`store::book`), so no booking slips in between the check and
//! the change. Every change is in the audit log.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use bureau_platform::business;
use serde::Deserialize;
use sqlx::Row;
use uuid::Uuid;

use super::i18n::Lang;
use super::permissions::{self, Act, Policy, Whose};
use super::views::{self, Chrome, Opt};
use super::{Desk, PageError};
use crate::http::{AppState, Error};

/// The longest name (the column's width).
const MAX_NAME_CHARS: usize = 200;

/// `None` when this staff member may manage resources; else the refusal page (403).
fn refusal(desk: &Desk) -> Option<Response> {
    if permissions::allows(
        desk.account.role,
        Act::ManageResources,
        Whose::Unassigned,
        Policy::default(),
    ) {
        return None;
    }
    tracing::info!(account_id = %desk.account.id, "refused by the matrix: resources");
    let t = desk.lang.texts();
    Some(views::render_failure(
        desk.lang,
        StatusCode::FORBIDDEN,
        t.refusal_title,
        texts(desk.lang).managers_only,
    ))
}

/// A line of the list.
pub struct Line {
    pub id: u32,
    pub name: String,
    pub kind: &'static str,
    pub zone: String,
    pub services: String,
    pub active: bool,
    pub ahead: i64,
}

#[derive(Template)]
#[template(path = "office/resources.html")]
pub struct ListPage {
    pub chrome: Chrome,
    pub r: &'static ResourceTexts,
    pub lines: Vec<Line>,
    pub ok: Option<&'static str>,
    pub message: Option<String>,
}

/// A bookable service, checked when the resource does it.
pub struct Choice {
    pub id: u32,
    pub name: String,
    pub minutes: u16,
    pub checked: bool,
    /// The other active resources that do it (its pool besides this one), by name.
    pub others: String,
}

#[derive(Template)]
#[template(path = "office/resource.html")]
pub struct EditPage {
    pub chrome: Chrome,
    pub r: &'static ResourceTexts,
    /// `None` for a new one.
    pub id: Option<u32>,
    pub name: String,
    pub kind: String,
    pub zone: String,
    /// The business's zone, what a blank field means.
    pub business_zone: String,
    pub services: Vec<Choice>,
    pub accounts: Vec<Opt>,
    pub active: bool,
    pub ahead: i64,
    pub errors: Vec<&'static str>,
    pub saved: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct Done {
    pub done: Option<String>,
}

/// How many live bookings of the resource end after now.
async fn bookings_ahead(state: &AppState, id: u32) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM bookings WHERE resource_id = ? AND status = 'booked' AND ends_at > UTC_TIMESTAMP(6)",
    )
    .bind(id)
    .fetch_one(&state.pool)
    .await
}

fn kind_label(r: &ResourceTexts, kind: &str) -> &'static str {
    if kind == "room" { r.room } else { r.staff }
}

/// `GET /office/resources`.
pub async fn list(
    State(state): State<AppState>,
    desk: Desk,
    Query(done): Query<Done>,
) -> Result<Response, PageError> {
    if let Some(refused) = refusal(&desk) {
        return Ok(refused);
    }
    render_list(&state, &desk, StatusCode::OK, done.done.as_deref(), None).await
}

async fn render_list(
    state: &AppState,
    desk: &Desk,
    status: StatusCode,
    done: Option<&str>,
    message: Option<String>,
) -> Result<Response, PageError> {
    let r = texts(desk.lang);
    let name = if desk.lang == Lang::En {
        "s.name_en"
    } else {
        "s.name_uk"
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT r.id, r.name, CAST(r.kind AS CHAR) AS kind, r.time_zone, r.active,
                (SELECT GROUP_CONCAT({name} ORDER BY s.position, s.id SEPARATOR ', ')
                 FROM booking_resource_services rs JOIN catalogue_services s ON s.id = rs.service_id
                 WHERE rs.resource_id = r.id) AS services,
                (SELECT COUNT(*) FROM bookings b WHERE b.resource_id = r.id AND b.status = 'booked'
                   AND b.ends_at > UTC_TIMESTAMP(6)) AS ahead
         FROM booking_resources r ORDER BY r.active DESC, r.name, r.id"
    )))
    .fetch_all(&state.pool)
    .await
    .map_err(|e| desk.fail(Error::from(e)))?;
    let mut lines = Vec::with_capacity(rows.len());
    for row in rows {
        let read = || -> Result<Line, sqlx::Error> {
            let kind: String = row.try_get("kind")?;
            Ok(Line {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                kind: kind_label(r, &kind),
                zone: row.try_get("time_zone")?,
                services: row
                    .try_get::<Option<String>, _>("services")?
                    .unwrap_or_default(),
                active: row.try_get("active")?,
                ahead: row.try_get("ahead")?,
            })
        };
        lines.push(read().map_err(|e| desk.fail(Error::from(e)))?);
    }
    let ok = match done {
        Some("deactivated") => Some(r.deactivated),
        Some("activated") => Some(r.activated),
        _ => None,
    };
    Ok(views::html(
        status,
        &ListPage {
            chrome: Chrome::new(desk.lang, Some(&desk.account), "/office/resources", r.title),
            r,
            lines,
            ok,
            message,
        },
    ))
}

/// The form as sent: `name`, `kind`, `account`, `time_zone`, and one `service` per checked
/// box (hence pairs, not a struct).
#[derive(Debug, Default)]
pub struct ResourceForm {
    pub name: String,
    pub kind: String,
    pub account: String,
    pub time_zone: String,
    pub services: Vec<u32>,
    pub bad_service: bool,
}

impl ResourceForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> ResourceForm {
        let mut form = ResourceForm::default();
        for (key, value) in pairs {
            match key.as_str() {
                "name" => form.name = value,
                "kind" => form.kind = value,
                "account" => form.account = value,
                "time_zone" => form.time_zone = value,
                "service" => match value.parse() {
                    Ok(id) => form.services.push(id),
                    Err(_) => form.bad_service = true,
                },
                _ => {}
            }
        }
        form
    }
}

/// What a valid form says.
struct Valid {
    name: String,
    kind: &'static str,
    account: Option<Uuid>,
    zone: String,
    services: Vec<u32>,
}

/// The bookable services (a duration, not archived), with which `checked` holds and which
/// active resources other than `this` do each.
async fn choices(
    state: &AppState,
    lang: Lang,
    checked: &[u32],
    this: Option<u32>,
) -> Result<Vec<Choice>, sqlx::Error> {
    let pooled: Vec<(u32, String)> = sqlx::query_as(
        "SELECT rs.service_id, r.name FROM booking_resource_services rs
         JOIN booking_resources r ON r.id = rs.resource_id
         WHERE r.active AND r.id <> ? ORDER BY r.id",
    )
    .bind(this.unwrap_or(0))
    .fetch_all(&state.pool)
    .await?;
    let rows = sqlx::query(
        "SELECT id, name_uk, name_en, duration_minutes FROM catalogue_services
         WHERE duration_minutes IS NOT NULL AND archived_at IS NULL ORDER BY position, id",
    )
    .fetch_all(&state.pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            let id: u32 = row.try_get("id")?;
            Ok(Choice {
                id,
                name: row.try_get(if lang == Lang::En {
                    "name_en"
                } else {
                    "name_uk"
                })?,
                minutes: row.try_get("duration_minutes")?,
                checked: checked.contains(&id),
                others: pooled
                    .iter()
                    .filter(|(service, _)| *service == id)
                    .map(|(_, name)| name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
        })
        .collect()
}

/// The staff accounts a staff resource can be.
async fn accounts(state: &AppState, chosen: &str) -> Result<Vec<Opt>, sqlx::Error> {
    let staff = crate::queries::office::staff_members(&state.pool).await?;
    Ok(staff
        .into_iter()
        .map(|m| {
            let id = m.id.to_string();
            let selected = id == chosen;
            Opt::new(id, m.display_name, selected)
        })
        .collect())
}

async fn validate(
    state: &AppState,
    r: &ResourceTexts,
    form: &ResourceForm,
    except: Option<u32>,
) -> Result<Result<Valid, Vec<&'static str>>, sqlx::Error> {
    let mut errors = Vec::new();
    let name = form.name.trim().to_owned();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        errors.push(r.bad_name);
    } else {
        let same: Option<u32> = sqlx::query_scalar(
            "SELECT id FROM booking_resources WHERE name = ? AND id <> ? LIMIT 1",
        )
        .bind(&name)
        .bind(except.unwrap_or(0))
        .fetch_optional(&state.pool)
        .await?;
        if same.is_some() {
            errors.push(r.name_taken);
        }
    }
    let kind = match form.kind.as_str() {
        "staff" => "staff",
        "room" | "" => "room",
        _ => {
            errors.push(r.bad_kind);
            "room"
        }
    };
    let account = match (kind, form.account.trim()) {
        ("staff", "") | ("room", _) => None,
        (_, id) => match Uuid::parse_str(id) {
            Ok(id) => {
                let staff: Option<Uuid> = sqlx::query_scalar(
                    "SELECT id FROM web_accounts WHERE id = ? AND role IN ('admin', 'manager', 'executor')",
                )
                .bind(id)
                .fetch_optional(&state.pool)
                .await?;
                if staff.is_none() {
                    errors.push(r.bad_account);
                }
                staff
            }
            Err(_) => {
                errors.push(r.bad_account);
                None
            }
        },
    };
    let zone = match form.time_zone.trim() {
        "" => Some(
            business::details(&state.pool, &state.settings.business)
                .await?
                .time_zone,
        ),
        name => business::time_zone_name(name),
    };
    let zone = zone.unwrap_or_else(|| {
        errors.push(r.bad_zone);
        String::new()
    });
    let bookable: Vec<u32> = choices(state, Lang::Uk, &[], except)
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    if form.bad_service || form.services.iter().any(|id| !bookable.contains(id)) {
        errors.push(r.bad_service);
    }
    let mut services = form.services.clone();
    services.sort_unstable();
    services.dedup();
    Ok(if errors.is_empty() {
        Ok(Valid {
            name,
            kind,
            account,
            zone,
            services,
        })
    } else {
        Err(errors)
    })
}

#[allow(clippy::too_many_arguments)]
async fn render_edit(
    state: &AppState,
    desk: &Desk,
    status: StatusCode,
    id: Option<u32>,
    form: &ResourceForm,
    active: bool,
    errors: Vec<&'static str>,
    saved: bool,
) -> Result<Response, PageError> {
    let r = texts(desk.lang);
    let fail = |e: sqlx::Error| desk.fail(Error::from(e));
    let business_zone = business::details(&state.pool, &state.settings.business)
        .await
        .map_err(fail)?
        .time_zone;
    let services = choices(state, desk.lang, &form.services, id)
        .await
        .map_err(fail)?;
    let accounts = accounts(state, &form.account).await.map_err(fail)?;
    let ahead = match id {
        Some(id) => bookings_ahead(state, id).await.map_err(fail)?,
        None => 0,
    };
    let back = match id {
        Some(id) => format!("/office/resources/{id}"),
        None => "/office/resources/new".to_owned(),
    };
    let title = match id {
        Some(_) => form.name.clone(),
        None => r.new_title.to_owned(),
    };
    Ok(views::html(
        status,
        &EditPage {
            chrome: Chrome::new(desk.lang, Some(&desk.account), &back, &title),
            r,
            id,
            name: form.name.clone(),
            kind: if form.kind.is_empty() {
                "room".into()
            } else {
                form.kind.clone()
            },
            zone: form.time_zone.clone(),
            business_zone,
            services,
            accounts,
            active,
            ahead,
            errors,
            saved,
        },
    ))
}

/// `GET /office/resources/new`.
pub async fn new_form(State(state): State<AppState>, desk: Desk) -> Result<Response, PageError> {
    if let Some(refused) = refusal(&desk) {
        return Ok(refused);
    }
    let form = ResourceForm {
        kind: "room".into(),
        ..ResourceForm::default()
    };
    render_edit(
        &state,
        &desk,
        StatusCode::OK,
        None,
        &form,
        true,
        vec![],
        false,
    )
    .await
}

/// Replaces the resource's services with `services`, inside the caller's transaction.
async fn set_services(
    tx: &mut sqlx::MySqlConnection,
    id: u32,
    services: &[u32],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM booking_resource_services WHERE resource_id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    for service in services {
        sqlx::query(
            "INSERT INTO booking_resource_services (resource_id, service_id) VALUES (?, ?)",
        )
        .bind(id)
        .bind(service)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

fn detail(valid: &Valid) -> String {
    format!(
        "{}; {}; {}; services: {}",
        valid.name,
        valid.kind,
        valid.zone,
        valid
            .services
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",")
    )
}

/// `POST /office/resources`: creates it, then leads to its working hours.
pub async fn create(
    State(state): State<AppState>,
    desk: Desk,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    if let Some(refused) = refusal(&desk) {
        return Ok(refused);
    }
    let r = texts(desk.lang);
    let form = ResourceForm::from_pairs(pairs);
    let fail = |e: sqlx::Error| desk.fail(Error::from(e));
    let valid = match validate(&state, r, &form, None).await.map_err(fail)? {
        Ok(valid) => valid,
        Err(errors) => {
            return render_edit(
                &state,
                &desk,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                &form,
                true,
                errors,
                false,
            )
            .await;
        }
    };
    let save = async {
        let mut tx = state.pool.begin().await?;
        let id = sqlx::query(
            "INSERT INTO booking_resources (name, kind, account_id, time_zone, active) VALUES (?, ?, ?, ?, TRUE)",
        )
        .bind(&valid.name)
        .bind(valid.kind)
        .bind(valid.account)
        .bind(&valid.zone)
        .execute(&mut *tx)
        .await?
        .last_insert_id() as u32;
        set_services(&mut tx, id, &valid.services).await?;
        tx.commit().await?;
        Ok::<u32, sqlx::Error>(id)
    };
    let id = save.await.map_err(fail)?;
    desk.audit(
        &state,
        "resource_create",
        None,
        Some(&format!("resource:{id}")),
        Some(&detail(&valid)),
    )
    .await?;
    Ok(Redirect::to(&format!("/office/schedule/{id}")).into_response())
}

/// The stored resource as its form: `(form, active)`, or `None`.
async fn stored(state: &AppState, id: u32) -> Result<Option<(ResourceForm, bool)>, sqlx::Error> {
    let Some(row) = sqlx::query(
        "SELECT name, CAST(kind AS CHAR) AS kind, account_id, time_zone, active
         FROM booking_resources WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(&state.pool)
    .await?
    else {
        return Ok(None);
    };
    let services: Vec<u32> = sqlx::query_scalar(
        "SELECT service_id FROM booking_resource_services WHERE resource_id = ?",
    )
    .bind(id)
    .fetch_all(&state.pool)
    .await?;
    let account: Option<Uuid> = row.try_get("account_id")?;
    Ok(Some((
        ResourceForm {
            name: row.try_get("name")?,
            kind: row.try_get("kind")?,
            account: account.map(|a| a.to_string()).unwrap_or_default(),
            time_zone: row.try_get("time_zone")?,
            services,
            bad_service: false,
        },
        row.try_get("active")?,
    )))
}

/// `GET /office/resources/{id}`.
pub async fn edit_form(
    State(state): State<AppState>,
    desk: Desk,
    Path(id): Path<u32>,
) -> Result<Response, PageError> {
    if let Some(refused) = refusal(&desk) {
        return Ok(refused);
    }
    let (form, active) = stored(&state, id)
        .await
        .map_err(|e| desk.fail(Error::from(e)))?
        .ok_or_else(|| desk.fail(super::Failure::NotFound))?;
    render_edit(
        &state,
        &desk,
        StatusCode::OK,
        Some(id),
        &form,
        active,
        vec![],
        false,
    )
    .await
}

/// `POST /office/resources/{id}`: name, zone, kind, services.
pub async fn update(
    State(state): State<AppState>,
    desk: Desk,
    Path(id): Path<u32>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    if let Some(refused) = refusal(&desk) {
        return Ok(refused);
    }
    let r = texts(desk.lang);
    let fail = |e: sqlx::Error| desk.fail(Error::from(e));
    let (_, active) = stored(&state, id)
        .await
        .map_err(fail)?
        .ok_or_else(|| desk.fail(super::Failure::NotFound))?;
    let form = ResourceForm::from_pairs(pairs);
    let valid = match validate(&state, r, &form, Some(id)).await.map_err(fail)? {
        Ok(valid) => valid,
        Err(errors) => {
            return render_edit(
                &state,
                &desk,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(id),
                &form,
                active,
                errors,
                false,
            )
            .await;
        }
    };
    let save = async {
        let mut tx = state.pool.begin().await?;
        // The row lock every booking of it takes: a zone change never meets a booking
        // being checked against the old one.
        sqlx::query("SELECT id FROM booking_resources WHERE id = ? FOR UPDATE")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE booking_resources SET name = ?, kind = ?, account_id = ?, time_zone = ? WHERE id = ?",
        )
        .bind(&valid.name)
        .bind(valid.kind)
        .bind(valid.account)
        .bind(&valid.zone)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        set_services(&mut tx, id, &valid.services).await?;
        tx.commit().await
    };
    save.await.map_err(fail)?;
    desk.audit(
        &state,
        "resource_update",
        None,
        Some(&format!("resource:{id}")),
        Some(&detail(&valid)),
    )
    .await?;
    let (form, active) = stored(&state, id)
        .await
        .map_err(fail)?
        .ok_or_else(|| desk.fail(super::Failure::NotFound))?;
    render_edit(
        &state,
        &desk,
        StatusCode::OK,
        Some(id),
        &form,
        active,
        vec![],
        true,
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
pub struct ActiveForm {
    #[serde(default)]
    pub active: String,
}

/// `POST /office/resources/{id}/active`: `active=0` deactivates (refused while it holds
/// bookings ahead), `active=1` brings it back.
pub async fn set_active(
    State(state): State<AppState>,
    desk: Desk,
    Path(id): Path<u32>,
    Form(form): Form<ActiveForm>,
) -> Result<Response, PageError> {
    if let Some(refused) = refusal(&desk) {
        return Ok(refused);
    }
    let r = texts(desk.lang);
    let fail = |e: sqlx::Error| desk.fail(Error::from(e));
    let activate = match form.active.as_str() {
        "1" => true,
        "0" => false,
        _ => {
            return render_list(
                &state,
                &desk,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(r.bad_active.to_owned()),
            )
            .await;
        }
    };
    let change = async {
        let mut tx = state.pool.begin().await?;
        // The lock every booking of the resource takes first (`store::book`): once we hold
        // it, nobody books it until we commit, and after that it is inactive.
        let found: Option<u32> =
            sqlx::query_scalar("SELECT id FROM booking_resources WHERE id = ? FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        if found.is_none() {
            return Ok(None);
        }
        let ahead: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM bookings WHERE resource_id = ? AND status = 'booked' AND ends_at > UTC_TIMESTAMP(6)",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        if !activate && ahead > 0 {
            return Ok(Some(Err(ahead)));
        }
        sqlx::query("UPDATE booking_resources SET active = ? WHERE id = ?")
            .bind(activate)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Some(Ok(())))
    };
    match change.await.map_err(fail)? {
        None => Err(desk.fail(super::Failure::NotFound)),
        Some(Err(ahead)) => {
            let message = r.still_booked.replace("{count}", &ahead.to_string());
            render_list(&state, &desk, StatusCode::CONFLICT, None, Some(message)).await
        }
        Some(Ok(())) => {
            desk.audit(
                &state,
                if activate {
                    "resource_activate"
                } else {
                    "resource_deactivate"
                },
                None,
                Some(&format!("resource:{id}")),
                None,
            )
            .await?;
            let done = if activate { "activated" } else { "deactivated" };
            Ok(Redirect::to(&format!("/office/resources?done={done}")).into_response())
        }
    }
}

// ---- words ----

pub struct ResourceTexts {
    pub title: &'static str,
    pub new_title: &'static str,
    pub add: &'static str,
    pub name: &'static str,
    pub kind: &'static str,
    pub room: &'static str,
    pub staff: &'static str,
    pub account: &'static str,
    pub no_account: &'static str,
    pub time_zone: &'static str,
    pub zone_hint: &'static str,
    pub services: &'static str,
    pub services_hint: &'static str,
    pub also_done_by: &'static str,
    pub no_services: &'static str,
    pub minutes: &'static str,
    pub ahead: &'static str,
    pub inactive: &'static str,
    pub hours: &'static str,
    pub calendar: &'static str,
    pub create: &'static str,
    pub save: &'static str,
    pub saved: &'static str,
    pub deactivate: &'static str,
    pub activate: &'static str,
    pub deactivated: &'static str,
    pub activated: &'static str,
    pub still_booked: &'static str,
    pub bad_name: &'static str,
    pub name_taken: &'static str,
    pub bad_kind: &'static str,
    pub bad_account: &'static str,
    pub bad_zone: &'static str,
    pub bad_service: &'static str,
    pub bad_active: &'static str,
    pub managers_only: &'static str,
    pub none: &'static str,
}

static UK: ResourceTexts = ResourceTexts {
    title: "Приміщення й виконавці",
    new_title: "Нове приміщення",
    add: "Додати приміщення",
    name: "Назва",
    kind: "Що це",
    room: "приміщення",
    staff: "працівник",
    account: "Обліковий запис працівника",
    no_account: "— немає —",
    time_zone: "Часовий пояс",
    zone_hint: "Назва IANA, як-от Europe/Kyiv; порожньо — часовий пояс бізнесу",
    services: "Послуги із записом",
    services_hint: "На ці послуги можна записати в це приміщення (послуги з тривалістю з каталогу). Послугу, яку виконують кілька приміщень чи працівників, клієнтам пропонують, коли вільний будь-хто з них, і записують до вільного.",
    also_done_by: "також виконують:",
    no_services: "У каталозі немає послуг із тривалістю: задайте тривалість послузі, щоб на неї записували.",
    minutes: "хв",
    ahead: "Записів попереду",
    inactive: "вимкнено",
    hours: "Графік роботи",
    calendar: "Календар",
    create: "Створити й задати графік",
    save: "Зберегти",
    saved: "Збережено.",
    deactivate: "Вимкнути",
    activate: "Увімкнути знову",
    deactivated: "Вимкнено: на нього більше не записують.",
    activated: "Увімкнено знову.",
    still_booked: "Не вимкнено: попереду ще {count} записів. Перенесіть або скасуйте їх у календарі.",
    bad_name: "Вкажіть назву (до 200 символів).",
    name_taken: "Така назва вже є.",
    bad_kind: "Оберіть: приміщення чи працівник.",
    bad_account: "Такого працівника немає.",
    bad_zone: "Невідомий часовий пояс: вкажіть назву IANA, як-от Europe/Kyiv.",
    bad_service: "Серед послуг є така, на яку не можна записати.",
    bad_active: "Незрозуміла дія.",
    managers_only: "Приміщеннями й виконавцями керують адміністратори й менеджери.",
    none: "Ще нічого немає.",
};

static EN: ResourceTexts = ResourceTexts {
    title: "Rooms and staff",
    new_title: "New room",
    add: "Add a room",
    name: "Name",
    kind: "What it is",
    room: "room",
    staff: "staff member",
    account: "Staff member's account",
    no_account: "— none —",
    time_zone: "Time zone",
    zone_hint: "An IANA name such as Europe/Kyiv; blank: the business's zone",
    services: "Bookable services",
    services_hint: "These services can be booked in it (the catalogue's services with a duration). A service several rooms or staff do is offered to customers when any of them is free, and booked with one that is.",
    also_done_by: "also done by:",
    no_services: "The catalogue has no service with a duration: give a service one so it can be booked.",
    minutes: "min",
    ahead: "Bookings ahead",
    inactive: "deactivated",
    hours: "Working hours",
    calendar: "Calendar",
    create: "Create and set its hours",
    save: "Save",
    saved: "Saved.",
    deactivate: "Deactivate",
    activate: "Activate again",
    deactivated: "Deactivated: nothing is booked with it any more.",
    activated: "Active again.",
    still_booked: "Not deactivated: it still holds {count} bookings ahead. Move or cancel them in the calendar first.",
    bad_name: "Give a name (up to 200 characters).",
    name_taken: "That name is taken.",
    bad_kind: "Choose: a room or a staff member.",
    bad_account: "No such staff member.",
    bad_zone: "Unknown time zone: use an IANA name such as Europe/Kyiv.",
    bad_service: "One of the services cannot be booked.",
    bad_active: "An action that makes no sense.",
    managers_only: "Rooms and staff are managed by admins and managers.",
    none: "Nothing yet.",
};

pub fn texts(lang: Lang) -> &'static ResourceTexts {
    match lang {
        Lang::En => &EN,
        _ => &UK,
    }
}
