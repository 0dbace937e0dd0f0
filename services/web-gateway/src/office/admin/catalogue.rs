//! The catalogue (admins and managers): nested categories and services with names and
//! descriptions in Ukrainian and English, a price (or "on quote") per item, page, word or
//! hour, a duration for services booked for a time slot, an active flag and a display order.
//! A service some order used is archived (hidden, not accepted in new orders) instead of
//! deleted; so is a category that still holds anything. The bot and the order form read the
//! tables on each use, so a change reaches customers at once.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use sqlx::MySqlPool;

use super::i18n::AdminTexts;
use super::{FieldError, frame, refusal};
use crate::http::{AppState, Error};
use crate::office::permissions::Act;
use crate::office::views::{self, Chrome, Opt};
use crate::office::{Desk, Failure, PageError};

const UNITS: [&str; 4] = ["item", "page", "word", "hour"];
const CURRENCIES: [&str; 3] = ["UAH", "EUR", "USD"];
const MAX_NAME: usize = 100;
const MAX_DESCRIPTION: usize = 4000;

#[derive(Debug, Clone, sqlx::FromRow)]
struct CategoryRow {
    id: u32,
    parent_id: Option<u32>,
    code: String,
    name_uk: String,
    name_en: String,
    position: i16,
    active: bool,
    archived: bool,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct ServiceRow {
    id: u32,
    category_id: Option<u32>,
    code: String,
    name_uk: String,
    name_en: String,
    description_uk: Option<String>,
    description_en: Option<String>,
    price_minor: Option<u64>,
    currency: String,
    unit: String,
    duration_minutes: Option<u16>,
    position: i16,
    active: bool,
    archived: bool,
}

async fn categories(pool: &MySqlPool) -> Result<Vec<CategoryRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, parent_id, code, name_uk, name_en, position, active, archived_at IS NOT NULL AS archived
         FROM catalogue_categories ORDER BY position, id",
    )
    .fetch_all(pool)
    .await
}

const SERVICE_COLUMNS: &str = "id, category_id, code, name_uk, name_en, description_uk, description_en, price_minor, currency, \
     CAST(unit AS CHAR) AS unit, duration_minutes, position, active, archived_at IS NOT NULL AS archived";

async fn services(pool: &MySqlPool) -> Result<Vec<ServiceRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SERVICE_COLUMNS} FROM catalogue_services ORDER BY position, id"
    )))
    .fetch_all(pool)
    .await
}

/// One line of the catalogue page: a category or a service, indented by depth.
pub struct Line {
    pub indent: String,
    pub is_category: bool,
    pub href: String,
    pub code: String,
    pub name: String,
    pub other_name: String,
    pub price: String,
    pub duration: String,
    pub position: i16,
    pub active: bool,
    pub archived: bool,
}

#[derive(Template)]
#[template(path = "office/admin/catalogue.html")]
pub struct CataloguePage {
    pub chrome: Chrome,
    pub a: &'static AdminTexts,
    pub lines: Vec<Line>,
}

/// The tree in display order: each category, then what it holds (categories, services).
fn tree(
    lang_uk: bool,
    a: &AdminTexts,
    cats: &[CategoryRow],
    svcs: &[ServiceRow],
    parent: Option<u32>,
    depth: usize,
    out: &mut Vec<Line>,
) {
    let names = |uk: &str, en: &str| {
        if lang_uk {
            (uk.to_owned(), en.to_owned())
        } else {
            (en.to_owned(), uk.to_owned())
        }
    };
    for c in cats.iter().filter(|c| c.parent_id == parent) {
        let (name, other_name) = names(&c.name_uk, &c.name_en);
        out.push(Line {
            indent: "\u{2003}".repeat(depth),
            is_category: true,
            href: format!("/office/catalogue/categories/{}", c.id),
            code: c.code.clone(),
            name,
            other_name,
            price: String::new(),
            duration: String::new(),
            position: c.position,
            active: c.active,
            archived: c.archived,
        });
        tree(lang_uk, a, cats, svcs, Some(c.id), depth + 1, out);
    }
    for s in svcs.iter().filter(|s| s.category_id == parent) {
        let (name, other_name) = names(&s.name_uk, &s.name_en);
        let price = bureau_platform::business::price_label(
            s.price_minor,
            &s.currency,
            &s.unit,
            if lang_uk { "uk" } else { "en" },
        )
        .unwrap_or_else(|| a.on_quote.to_owned());
        out.push(Line {
            indent: "\u{2003}".repeat(depth),
            is_category: false,
            href: format!("/office/catalogue/services/{}", s.id),
            code: s.code.clone(),
            name,
            other_name,
            price,
            duration: s
                .duration_minutes
                .map(|m| format!("{m} min"))
                .unwrap_or_default(),
            position: s.position,
            active: s.active,
            archived: s.archived,
        });
    }
}

pub async fn page(State(state): State<AppState>, desk: Desk) -> Result<Response, PageError> {
    if let Some(refused) = refusal(&desk, Act::EditCatalogue) {
        return Ok(refused);
    }
    let (chrome, a) = frame(
        &desk,
        "/office/catalogue",
        super::i18n::texts(desk.lang).catalogue,
    );
    let db = |e: sqlx::Error| desk.fail(Error::from(e));
    let cats = categories(&state.pool).await.map_err(db)?;
    let svcs = services(&state.pool).await.map_err(db)?;
    let mut lines = Vec::new();
    let uk = desk.lang == crate::office::i18n::Lang::Uk;
    tree(uk, a, &cats, &svcs, None, 0, &mut lines);
    // A category whose parent is gone from the list (never, with the foreign key) would hide
    // its subtree; nothing else is left out.
    Ok(views::html(
        StatusCode::OK,
        &CataloguePage { chrome, a, lines },
    ))
}

/// The service form's fields as typed, and each one's problem.
#[derive(Debug, Default, Deserialize)]
pub struct ServiceForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    name_uk: String,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    description_uk: String,
    #[serde(default)]
    description_en: String,
    #[serde(default)]
    price: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    duration: String,
    #[serde(default)]
    position: String,
    /// A checkbox: present when ticked.
    active: Option<String>,
}

#[derive(Default)]
pub struct ServiceErrors {
    pub code: FieldError,
    pub name_uk: FieldError,
    pub name_en: FieldError,
    pub description: FieldError,
    pub price: FieldError,
    pub duration: FieldError,
    pub position: FieldError,
}

impl ServiceErrors {
    fn any(&self) -> bool {
        self.code.is_some()
            || self.name_uk.is_some()
            || self.name_en.is_some()
            || self.description.is_some()
            || self.price.is_some()
            || self.duration.is_some()
            || self.position.is_some()
    }
}

#[derive(Template)]
#[template(path = "office/admin/service.html")]
pub struct ServicePage {
    pub chrome: Chrome,
    pub a: &'static AdminTexts,
    /// `None`: a new service.
    pub id: Option<u32>,
    pub archived: bool,
    pub code: String,
    pub name_uk: String,
    pub name_en: String,
    pub description_uk: String,
    pub description_en: String,
    pub price: String,
    pub duration: String,
    pub position: String,
    pub active: bool,
    pub categories: Vec<Opt>,
    pub currencies: Vec<Opt>,
    pub units: Vec<Opt>,
    pub errors: ServiceErrors,
}

/// A valid service, ready for MySQL.
struct ServiceValues {
    code: Option<String>,
    category_id: Option<u32>,
    name_uk: String,
    name_en: String,
    description_uk: Option<String>,
    description_en: Option<String>,
    price_minor: Option<u64>,
    currency: String,
    unit: String,
    duration_minutes: Option<u16>,
    position: i16,
    active: bool,
}

/// "1250", "1250.5", "1 250,50" → minor units; blank → on quote (`Ok(None)`).
pub fn parse_price(input: &str) -> Result<Option<u64>, ()> {
    let cleaned: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{202F}')
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    if cleaned.is_empty() {
        return Ok(None);
    }
    let (whole, fraction) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
    if whole.is_empty()
        || whole.len() > 12
        || fraction.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(());
    }
    let whole: u64 = whole.parse().map_err(|_| ())?;
    let fraction: u64 = format!("{fraction:0<2}").parse().map_err(|_| ())?;
    Ok(Some(whole * 100 + fraction))
}

/// A code as orders carry it: lowercase Latin letters, digits, `.`, `_`, `-`.
fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 100
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

/// A code from an English name: "Sworn translation (EU)" → `sworn_translation_eu`.
fn code_from(name: &str) -> String {
    let mut code = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            code.push(c);
        } else if !code.ends_with('_') && !code.is_empty() {
            code.push('_');
        }
    }
    let code = code.trim_end_matches('_').to_owned();
    let mut code: String = code.chars().take(80).collect();
    if code.is_empty() {
        code = format!("service_{}", Utc::now().timestamp());
    }
    code
}

fn check_name(value: &str, a: &AdminTexts) -> FieldError {
    let value = value.trim();
    if value.is_empty() {
        Some(a.required)
    } else if value.chars().count() > MAX_NAME {
        Some(a.too_long)
    } else {
        None
    }
}

fn optional_text(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

fn check_service(
    form: &ServiceForm,
    a: &AdminTexts,
    new: bool,
) -> Result<ServiceValues, ServiceErrors> {
    let mut errors = ServiceErrors {
        name_uk: check_name(&form.name_uk, a),
        name_en: check_name(&form.name_en, a),
        ..Default::default()
    };
    let code = form.code.trim();
    if new && !code.is_empty() && !valid_code(code) {
        errors.code = Some(a.bad_code);
    }
    if form.description_uk.chars().count() > MAX_DESCRIPTION
        || form.description_en.chars().count() > MAX_DESCRIPTION
    {
        errors.description = Some(a.too_long);
    }
    let price = parse_price(&form.price).map_err(|_| ());
    if price.is_err() {
        errors.price = Some(a.bad_price);
    }
    let duration = match form.duration.trim() {
        "" => Ok(None),
        text => match text.parse::<u16>() {
            Ok(minutes) if (5..=1440).contains(&minutes) => Ok(Some(minutes)),
            _ => Err(()),
        },
    };
    if duration.is_err() {
        errors.duration = Some(a.bad_duration);
    }
    let position = match form.position.trim() {
        "" => Ok(0),
        text => text.parse::<i16>().map_err(|_| ()),
    };
    if position.is_err() {
        errors.position = Some(a.bad_position);
    }
    if errors.any() {
        return Err(errors);
    }
    Ok(ServiceValues {
        code: new.then(|| {
            if code.is_empty() {
                code_from(&form.name_en)
            } else {
                code.to_owned()
            }
        }),
        category_id: form.category.trim().parse().ok(),
        name_uk: form.name_uk.trim().to_owned(),
        name_en: form.name_en.trim().to_owned(),
        description_uk: optional_text(&form.description_uk),
        description_en: optional_text(&form.description_en),
        price_minor: price.ok().flatten(),
        currency: CURRENCIES
            .into_iter()
            .find(|c| *c == form.currency)
            .unwrap_or("UAH")
            .to_owned(),
        unit: UNITS
            .into_iter()
            .find(|u| *u == form.unit)
            .unwrap_or("item")
            .to_owned(),
        duration_minutes: duration.ok().flatten(),
        position: position.unwrap_or(0),
        active: form.active.is_some(),
    })
}

fn category_options(
    lang_uk: bool,
    cats: &[CategoryRow],
    selected: Option<u32>,
    exclude: Option<u32>,
) -> Vec<Opt> {
    // Depth-first, so the select reads like the tree.
    fn walk(
        lang_uk: bool,
        cats: &[CategoryRow],
        parent: Option<u32>,
        depth: usize,
        selected: Option<u32>,
        exclude: Option<u32>,
        out: &mut Vec<Opt>,
    ) {
        for c in cats.iter().filter(|c| c.parent_id == parent) {
            if Some(c.id) == exclude {
                continue;
            }
            let name = if lang_uk { &c.name_uk } else { &c.name_en };
            out.push(Opt::new(
                c.id.to_string(),
                format!("{}{name}", "— ".repeat(depth)),
                Some(c.id) == selected,
            ));
            walk(lang_uk, cats, Some(c.id), depth + 1, selected, exclude, out);
        }
    }
    let mut out = Vec::new();
    walk(lang_uk, cats, None, 0, selected, exclude, &mut out);
    out
}

fn options(values: &[&str], label: impl Fn(&str) -> String, selected: &str) -> Vec<Opt> {
    values
        .iter()
        .map(|v| Opt::new(*v, label(v), *v == selected))
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn service_page(
    state: &AppState,
    desk: &Desk,
    status: StatusCode,
    id: Option<u32>,
    archived: bool,
    form: &ServiceForm,
    errors: ServiceErrors,
) -> Result<Response, PageError> {
    let a = super::i18n::texts(desk.lang);
    let back = match id {
        Some(id) => format!("/office/catalogue/services/{id}"),
        None => "/office/catalogue/services/new".to_owned(),
    };
    let title = if id.is_some() { a.edit } else { a.add_service };
    let (chrome, a) = frame(desk, &back, title);
    let cats = categories(&state.pool)
        .await
        .map_err(|e| desk.fail(Error::from(e)))?;
    let uk = desk.lang == crate::office::i18n::Lang::Uk;
    Ok(views::html(
        status,
        &ServicePage {
            chrome,
            a,
            id,
            archived,
            code: form.code.clone(),
            name_uk: form.name_uk.clone(),
            name_en: form.name_en.clone(),
            description_uk: form.description_uk.clone(),
            description_en: form.description_en.clone(),
            price: form.price.clone(),
            duration: form.duration.clone(),
            position: form.position.clone(),
            active: form.active.is_some(),
            categories: category_options(uk, &cats, form.category.parse().ok(), None),
            currencies: options(&CURRENCIES, |c| c.to_owned(), &form.currency),
            units: options(&UNITS, |u| a.unit(u).to_owned(), &form.unit),
            errors,
        },
    ))
}

pub async fn new_service(State(state): State<AppState>, desk: Desk) -> Result<Response, PageError> {
    if let Some(refused) = refusal(&desk, Act::EditCatalogue) {
        return Ok(refused);
    }
    let form = ServiceForm {
        currency: "UAH".into(),
        unit: "item".into(),
        position: "0".into(),
        active: Some("on".into()),
        ..Default::default()
    };
    service_page(
        &state,
        &desk,
        StatusCode::OK,
        None,
        false,
        &form,
        ServiceErrors::default(),
    )
    .await
}

async fn service_row(pool: &MySqlPool, id: u32) -> Result<Option<ServiceRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SERVICE_COLUMNS} FROM catalogue_services WHERE id = ?"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await
}

fn form_of(row: &ServiceRow) -> ServiceForm {
    ServiceForm {
        code: row.code.clone(),
        category: row.category_id.map(|c| c.to_string()).unwrap_or_default(),
        name_uk: row.name_uk.clone(),
        name_en: row.name_en.clone(),
        description_uk: row.description_uk.clone().unwrap_or_default(),
        description_en: row.description_en.clone().unwrap_or_default(),
        price: row
            .price_minor
            .map(|m| {
                if m % 100 == 0 {
                    (m / 100).to_string()
                } else {
                    format!("{}.{:02}", m / 100, m % 100)
                }
            })
            .unwrap_or_default(),
        currency: row.currency.clone(),
        unit: row.unit.clone(),
        duration: row
            .duration_minutes
            .map(|d| d.to_string())
            .unwrap_or_default(),
        position: row.position.to_string(),
        active: row.active.then(|| "on".to_owned()),
    }
}

pub async fn edit_service(
    State(state): State<AppState>,
    desk: Desk,
    Path(id): Path<u32>,
) -> Result<Response, PageError> {
    if let Some(refused) = refusal(&desk, Act::EditCatalogue) {
        return Ok(refused);
    }
    let row = service_row(&state.pool, id)
        .await
        .map_err(|e| desk.fail(Error::from(e)))?
        .ok_or_else(|| desk.fail(Failure::NotFound))?;
    service_page(
        &state,
        &desk,
        StatusCode::OK,
        Some(id),
        row.archived,
        &form_of(&row),
        ServiceErrors::default(),
    )
    .await
}

pub async fn create_service(
    State(state): State<AppState>,
    desk: Desk,
    Form(form): Form<ServiceForm>,
) -> Result<Response, PageError> {
    if let Some(refused) = refusal(&desk, Act::EditCatalogue) {
        return Ok(refused);
    }
    let a = super::i18n::texts(desk.lang);
    let values = match check_service(&form, a, true) {
        Ok(values) => values,
        Err(errors) => {
            return service_page(
                &state,
                &desk,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                false,
                &form,
                errors,
            )
            .await;
        }
    };
    let code = values.code.clone().unwrap_or_default();
    let inserted = sqlx::query(
        "INSERT INTO catalogue_services (category_id, code, name_uk, name_en, description_uk, description_en,
             price_minor, currency, unit, duration_minutes, position, active)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(values.category_id)
    .bind(&code)
    .bind(&values.name_uk)
    .bind(&values.name_en)
    .bind(&values.description_uk)
    .bind(&values.description_en)
    .bind(values.price_minor)
    .bind(&values.currency)
    .bind(&values.unit)
    .bind(values.duration_minutes)
    .bind(values.position)
    .bind(values.active)
    .execute(&state.pool)
    .await;
    match inserted {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            let errors = ServiceErrors {
                code: Some(a.code_taken),
                ..Default::default()
            };
            return service_page(
                &state,
                &desk,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                false,
                &form,
                errors,
            )
            .await;
        }
        Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
            return Err(desk.fail(Failure::NotFound));
        }
        Err(e) => return Err(desk.fail(Error::from(e))),
    }
    desk.audit(
        &state,
        "catalogue_service_create",
        None,
        Some(&code),
        Some(&describe(&values)),
    )
    .await?;
    Ok(Redirect::to("/office/catalogue").into_response())
}

/// What the audit log keeps of a service's values.
fn describe(values: &ServiceValues) -> String {
    format!(
        "{} / {}; price {}; {} {}; {}; position {}; {}",
        values.name_uk,
        values.name_en,
        values
            .price_minor
            .map(|m| format!("{}.{:02}", m / 100, m % 100))
            .unwrap_or_else(|| "on quote".into()),
        values.currency,
        values.unit,
        values
            .duration_minutes
            .map(|d| format!("{d} min"))
            .unwrap_or_else(|| "not booked".into()),
        values.position,
        if values.active { "active" } else { "inactive" },
    )
}

pub async fn update_service(
    State(state): State<AppState>,
    desk: Desk,
    Path(id): Path<u32>,
    Form(form): Form<ServiceForm>,
) -> Result<Response, PageError> {
    if let Some(refused) = refusal(&desk, Act::EditCatalogue) {
        return Ok(refused);
    }
    let a = super::i18n::texts(desk.lang);
    let row = service_row(&state.pool, id)
        .await
        .map_err(|e| desk.fail(Error::from(e)))?
        .ok_or_else(|| desk.fail(Failure::NotFound))?;
    let values = match check_service(&form, a, false) {
        Ok(values) => values,
        Err(errors) => {
            let mut shown = form;
            shown.code = row.code.clone();
            return service_page(
                &state,
                &desk,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(id),
                row.archived,
                &shown,
                errors,
            )
            .await;
        }
    };
    // Saving an archived service as active brings it back from the archive.
    let updated = sqlx::query(
        "UPDATE catalogue_services SET category_id = ?, name_uk = ?, name_en = ?, description_uk = ?,
             description_en = ?, price_minor = ?, currency = ?, unit = ?, duration_minutes = ?, position = ?,
             active = ?, archived_at = IF(?, NULL, archived_at)
         WHERE id = ?",
    )
    .bind(values.category_id)
    .bind(&values.name_uk)
    .bind(&values.name_en)
    .bind(&values.description_uk)
    .bind(&values.description_en)
    .bind(values.price_minor)
    .bind(&values.currency)
    .bind(&values.unit)
    .bind(values.duration_minutes)
    .bind(values.position)
    .bind(values.active)
    .bind(values.active)
    .bind(id)
    .execute(&state.pool)
    .await;
    match updated {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
            return Err(desk.fail(Failure::NotFound));
        }
        Err(e) => return Err(desk.fail(Error::from(e))),
    }
    desk.audit(
        &state,
        "catalogue_service_update",
        None,
        Some(&row.code),
        Some(&describe(&values)),
    )
    .await?;
    Ok(Redirect::to("/office/catalogue").into_response())
}

/// Deletes a service no order ever used; archives one that some order did (old orders keep
/// its code and name).
pub async fn remove_service(
    State(state): State<AppState>,
    desk: Desk,
    Path(id): Path<u32>,
) -> Result<Response, PageError> {
    if let Some(refused) = refusal(&desk, Act::EditCatalogue) {
        return Ok(refused);
    }
    let db = |e: sqlx::Error| desk.fail(Error::from(e));
    let mut transaction = state.pool.begin().await.map_err(db)?;
    let code: Option<String> =
        sqlx::query_scalar("SELECT code FROM catalogue_services WHERE id = ? FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *transaction)
            .await
            .map_err(db)?;
    let Some(code) = code else {
        return Err(desk.fail(Failure::NotFound));
    };
    let used: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM orders WHERE service_code = ?)")
            .bind(&code)
            .fetch_one(&mut *transaction)
            .await
            .map_err(db)?;
    let action = if used {
        sqlx::query(
            "UPDATE catalogue_services SET active = FALSE, archived_at = COALESCE(archived_at, ?) WHERE id = ?",
        )
        .bind(Utc::now())
        .bind(id)
        .execute(&mut *transaction)
        .await
        .map_err(db)?;
        "catalogue_service_archive"
    } else {
        sqlx::query("DELETE FROM catalogue_services WHERE id = ?")
            .bind(id)
            .execute(&mut *transaction)
            .await
            .map_err(db)?;
        "catalogue_service_delete"
    };
    transaction.commit().await.map_err(db)?;
    desk.audit(&state, action, None, Some(&code), None).await?;
    Ok(Redirect::to("/office/catalogue").into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct CategoryForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    parent: String,
    #[serde(default)]
    name_uk: String,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    position: String,
    active: Option<String>,
}

#[derive(Default)]
pub struct CategoryErrors {
    pub code: FieldError,
    pub parent: FieldError,
    pub name_uk: FieldError,
    pub name_en: FieldError,
    pub position: FieldError,
}

#[derive(Template)]
#[template(path = "office/admin/category.html")]
pub struct CategoryPage {
    pub chrome: Chrome,
    pub a: &'static AdminTexts,
    pub id: Option<u32>,
    pub archived: bool,
    pub code: String,
    pub name_uk: String,
    pub name_en: String,
    pub position: String,
    pub active: bool,
    pub parents: Vec<Opt>,
    pub errors: CategoryErrors,
}

#[allow(clippy::too_many_arguments)]
async fn category_page(
    state: &AppState,
    desk: &Desk,
    status: StatusCode,
    id: Option<u32>,
    archived: bool,
    form: &CategoryForm,
    errors: CategoryErrors,
) -> Result<Response, PageError> {
    let a = super::i18n::texts(desk.lang);
    let back = match id {
        Some(id) => format!("/office/catalogue/categories/{id}"),
        None => "/office/catalogue/categories/new".to_owned(),
    };
    let (chrome, a) = frame(
        desk,
        &back,
        if id.is_some() { a.edit } else { a.add_category },
    );
    let cats = categories(&state.pool)
        .await
        .map_err(|e| desk.fail(Error::from(e)))?;
    let uk = desk.lang == crate::office::i18n::Lang::Uk;
    Ok(views::html(
        status,
        &CategoryPage {
            chrome,
            a,
            id,
            archived,
            code: form.code.clone(),
            name_uk: form.name_uk.clone(),
            name_en: form.name_en.clone(),
            position: form.position.clone(),
            active: form.active.is_some(),
            // A category cannot sit inside itself (its own subtree is refused on save).
            parents: category_options(uk, &cats, form.parent.parse().ok(), id),
            errors,
        },
    ))
}

pub async fn new_category(
    State(state): State<AppState>,
    desk: Desk,
) -> Result<Response, PageError> {
    if let Some(refused) = refusal(&desk, Act::EditCatalogue) {
        return Ok(refused);
    }
    let form = CategoryForm {
        position: "0".into(),
        active: Some("on".into()),
        ..Default::default()
    };
    category_page(
        &state,
        &desk,
        StatusCode::OK,
        None,
        false,
        &form,
        CategoryErrors::default(),
    )
    .await
}

pub async fn edit_category(
    State(state): State<AppState>,
    desk: Desk,
    Path(id): Path<u32>,
) -> Result<Response, PageError> {
    if let Some(refused) = refusal(&desk, Act::EditCatalogue) {
        return Ok(refused);
    }
    let cats = categories(&state.pool)
        .await
        .map_err(|e| desk.fail(Error::from(e)))?;
    let row = cats
        .iter()
        .find(|c| c.id == id)
        .ok_or_else(|| desk.fail(Failure::NotFound))?;
    let form = CategoryForm {
        code: row.code.clone(),
        parent: row.parent_id.map(|p| p.to_string()).unwrap_or_default(),
        name_uk: row.name_uk.clone(),
        name_en: row.name_en.clone(),
        position: row.position.to_string(),
        active: row.active.then(|| "on".to_owned()),
    };
    category_page(
        &state,
        &desk,
        StatusCode::OK,
        Some(id),
        row.archived,
        &form,
        CategoryErrors::default(),
    )
    .await
}

/// Whether `candidate` is `id` or inside it.
fn within(cats: &[CategoryRow], candidate: u32, id: u32) -> bool {
    let mut at = Some(candidate);
    let mut steps = 0;
    while let Some(current) = at {
        if current == id {
            return true;
        }
        at = cats
            .iter()
            .find(|c| c.id == current)
            .and_then(|c| c.parent_id);
        steps += 1;
        if steps > cats.len() {
            return true;
        }
    }
    false
}

fn check_category(
    form: &CategoryForm,
    a: &AdminTexts,
    cats: &[CategoryRow],
    id: Option<u32>,
) -> Result<(Option<u32>, i16), CategoryErrors> {
    let mut errors = CategoryErrors {
        name_uk: check_name(&form.name_uk, a),
        name_en: check_name(&form.name_en, a),
        ..Default::default()
    };
    if id.is_none() && !form.code.trim().is_empty() && !valid_code(form.code.trim()) {
        errors.code = Some(a.bad_code);
    }
    let parent: Option<u32> = form.parent.trim().parse().ok();
    if let (Some(parent), Some(id)) = (parent, id)
        && within(cats, parent, id)
    {
        errors.parent = Some(a.bad_parent);
    }
    if parent.is_some_and(|p| !cats.iter().any(|c| c.id == p)) {
        errors.parent = Some(a.bad_parent);
    }
    let position = match form.position.trim() {
        "" => Some(0),
        text => text.parse::<i16>().ok(),
    };
    if position.is_none() {
        errors.position = Some(a.bad_position);
    }
    if errors.code.is_some()
        || errors.parent.is_some()
        || errors.name_uk.is_some()
        || errors.name_en.is_some()
        || errors.position.is_some()
    {
        return Err(errors);
    }
    Ok((parent, position.unwrap_or(0)))
}

pub async fn create_category(
    State(state): State<AppState>,
    desk: Desk,
    Form(form): Form<CategoryForm>,
) -> Result<Response, PageError> {
    if let Some(refused) = refusal(&desk, Act::EditCatalogue) {
        return Ok(refused);
    }
    let a = super::i18n::texts(desk.lang);
    let db = |e: sqlx::Error| desk.fail(Error::from(e));
    let cats = categories(&state.pool).await.map_err(db)?;
    let (parent, position) = match check_category(&form, a, &cats, None) {
        Ok(checked) => checked,
        Err(errors) => {
            return category_page(
                &state,
                &desk,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                false,
                &form,
                errors,
            )
            .await;
        }
    };
    let code = match form.code.trim() {
        "" => code_from(&form.name_en),
        code => code.to_owned(),
    };
    // The table's ids are not AUTO_INCREMENT (the seed names them): the next one is taken
    // under the table's lock; a concurrent insert of the same id fails on the primary key
    // and is retried.
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut transaction = state.pool.begin().await.map_err(db)?;
        let next: u32 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(MAX(id), 0) + 1 AS UNSIGNED) FROM catalogue_categories FOR UPDATE",
        )
        .fetch_one(&mut *transaction)
        .await
        .map_err(db)?;
        let inserted = sqlx::query(
            "INSERT INTO catalogue_categories (id, parent_id, code, name_uk, name_en, position, active)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(next)
        .bind(parent)
        .bind(&code)
        .bind(form.name_uk.trim())
        .bind(form.name_en.trim())
        .bind(position)
        .bind(form.active.is_some())
        .execute(&mut *transaction)
        .await;
        match inserted {
            Ok(_) => {
                transaction.commit().await.map_err(db)?;
                break;
            }
            Err(sqlx::Error::Database(e))
                if e.is_unique_violation() && e.message().contains("code") =>
            {
                let errors = CategoryErrors {
                    code: Some(a.code_taken),
                    ..Default::default()
                };
                return category_page(
                    &state,
                    &desk,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    None,
                    false,
                    &form,
                    errors,
                )
                .await;
            }
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() && attempts < 5 => continue,
            Err(e) => return Err(db(e)),
        }
    }
    desk.audit(
        &state,
        "catalogue_category_create",
        None,
        Some(&code),
        Some(&format!(
            "{} / {}",
            form.name_uk.trim(),
            form.name_en.trim()
        )),
    )
    .await?;
    Ok(Redirect::to("/office/catalogue").into_response())
}

pub async fn update_category(
    State(state): State<AppState>,
    desk: Desk,
    Path(id): Path<u32>,
    Form(form): Form<CategoryForm>,
) -> Result<Response, PageError> {
    if let Some(refused) = refusal(&desk, Act::EditCatalogue) {
        return Ok(refused);
    }
    let a = super::i18n::texts(desk.lang);
    let db = |e: sqlx::Error| desk.fail(Error::from(e));
    let cats = categories(&state.pool).await.map_err(db)?;
    let row = cats
        .iter()
        .find(|c| c.id == id)
        .cloned()
        .ok_or_else(|| desk.fail(Failure::NotFound))?;
    let (parent, position) = match check_category(&form, a, &cats, Some(id)) {
        Ok(checked) => checked,
        Err(errors) => {
            let mut shown = form;
            shown.code = row.code.clone();
            return category_page(
                &state,
                &desk,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(id),
                row.archived,
                &shown,
                errors,
            )
            .await;
        }
    };
    let active = form.active.is_some();
    sqlx::query(
        "UPDATE catalogue_categories SET parent_id = ?, name_uk = ?, name_en = ?, position = ?, active = ?,
             archived_at = IF(?, NULL, archived_at)
         WHERE id = ?",
    )
    .bind(parent)
    .bind(form.name_uk.trim())
    .bind(form.name_en.trim())
    .bind(position)
    .bind(active)
    .bind(active)
    .bind(id)
    .execute(&state.pool)
    .await
    .map_err(db)?;
    desk.audit(
        &state,
        "catalogue_category_update",
        None,
        Some(&row.code),
        Some(&format!(
            "{} / {}; position {position}; {}",
            form.name_uk.trim(),
            form.name_en.trim(),
            if active { "active" } else { "inactive" }
        )),
    )
    .await?;
    Ok(Redirect::to("/office/catalogue").into_response())
}

/// Deletes an empty category; archives one that still holds categories or services.
pub async fn remove_category(
    State(state): State<AppState>,
    desk: Desk,
    Path(id): Path<u32>,
) -> Result<Response, PageError> {
    if let Some(refused) = refusal(&desk, Act::EditCatalogue) {
        return Ok(refused);
    }
    let db = |e: sqlx::Error| desk.fail(Error::from(e));
    let mut transaction = state.pool.begin().await.map_err(db)?;
    let code: Option<String> =
        sqlx::query_scalar("SELECT code FROM catalogue_categories WHERE id = ? FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *transaction)
            .await
            .map_err(db)?;
    let Some(code) = code else {
        return Err(desk.fail(Failure::NotFound));
    };
    let holds: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM catalogue_categories WHERE parent_id = ?)
             OR EXISTS (SELECT 1 FROM catalogue_services WHERE category_id = ?)",
    )
    .bind(id)
    .bind(id)
    .fetch_one(&mut *transaction)
    .await
    .map_err(db)?;
    let action = if holds {
        sqlx::query(
            "UPDATE catalogue_categories SET active = FALSE, archived_at = COALESCE(archived_at, ?) WHERE id = ?",
        )
        .bind(Utc::now())
        .bind(id)
        .execute(&mut *transaction)
        .await
        .map_err(db)?;
        "catalogue_category_archive"
    } else {
        sqlx::query("DELETE FROM catalogue_categories WHERE id = ?")
            .bind(id)
            .execute(&mut *transaction)
            .await
            .map_err(db)?;
        "catalogue_category_delete"
    };
    transaction.commit().await.map_err(db)?;
    desk.audit(&state, action, None, Some(&code), None).await?;
    Ok(Redirect::to("/office/catalogue").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_parsed_to_minor_units() {
        assert_eq!(parse_price(""), Ok(None));
        assert_eq!(parse_price("400"), Ok(Some(40000)));
        assert_eq!(parse_price("1 250,5"), Ok(Some(125050)));
        assert_eq!(parse_price("0.99"), Ok(Some(99)));
        assert_eq!(parse_price("12.345"), Err(()));
        assert_eq!(parse_price("-5"), Err(()));
        assert_eq!(parse_price("abc"), Err(()));
    }

    #[test]
    fn codes_come_from_english_names() {
        assert_eq!(code_from("Sworn translation (EU)"), "sworn_translation_eu");
        assert!(valid_code(&code_from("Sworn translation (EU)")));
        assert!(code_from("Переклад").starts_with("service_"));
    }
}
