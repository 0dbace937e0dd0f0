//! The business's details (admins): name, phone, email, opening hours and the bot's greeting
//! in each language, and its time zone (an IANA name, checked against the tz database; the
//! reports count its days in it), saved to `business_details`. A blank field falls back to
//! the `[business]` settings (shown as the field's placeholder); the bot reads the table on
//! each "Contact us" and greeting and the reports on each request, so an edit applies at
//! once.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bureau_platform::business::{self, StoredDetails};
use serde::Deserialize;

use super::i18n::AdminTexts;
use super::{FieldError, frame, refusal};
use crate::http::{AppState, Error};
use crate::office::permissions::Act;
use crate::office::views::{self, Chrome};
use crate::office::{Desk, PageError};

/// The columns' widths (`business_details`).
const LIMITS: [(&str, usize); 7] = [
    ("name", 200),
    ("phone", 50),
    ("email", 254),
    ("hours", 500),
    ("greeting_uk", 1000),
    ("greeting_en", 1000),
    ("time_zone", 64),
];

#[derive(Template)]
#[template(path = "office/admin/business.html")]
pub struct BusinessPage {
    pub chrome: Chrome,
    pub a: &'static AdminTexts,
    pub form: BusinessForm,
    /// The settings' values, shown where a field is blank.
    pub fallback: bureau_platform::settings::BusinessSettings,
    pub errors: Vec<(&'static str, &'static str)>,
    pub saved: bool,
    /// The zone in force when the field is blank (the settings', else the default).
    pub fallback_zone: String,
    /// Every zone name the tz database knows, offered while typing (a `datalist`).
    pub zones: Vec<String>,
}

impl BusinessPage {
    /// The problem of field `name`, if any (for the template).
    pub fn error(&self, name: &str) -> FieldError {
        self.errors
            .iter()
            .find(|(field, _)| *field == name)
            .map(|(_, e)| *e)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct BusinessForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub hours: String,
    #[serde(default)]
    pub greeting_uk: String,
    #[serde(default)]
    pub greeting_en: String,
    #[serde(default)]
    pub time_zone: String,
}

impl BusinessForm {
    fn values(&self) -> [(&'static str, &str); 7] {
        [
            ("name", &self.name),
            ("phone", &self.phone),
            ("email", &self.email),
            ("hours", &self.hours),
            ("greeting_uk", &self.greeting_uk),
            ("greeting_en", &self.greeting_en),
            ("time_zone", &self.time_zone),
        ]
    }
}

/// The zone names of the tz database, sorted (for the field's suggestions).
fn zone_names() -> Vec<String> {
    let mut names: Vec<String> = jiff::tz::db()
        .available()
        .map(|name| name.as_str().to_owned())
        .filter(|name| name.contains('/') || name == "UTC")
        .collect();
    names.sort();
    names.dedup();
    names
}

fn render(
    state: &AppState,
    desk: &Desk,
    status: StatusCode,
    form: BusinessForm,
    errors: Vec<(&'static str, &'static str)>,
    saved: bool,
) -> Response {
    let (chrome, a) = frame(
        desk,
        "/office/business",
        super::i18n::texts(desk.lang).business,
    );
    views::html(
        status,
        &BusinessPage {
            chrome,
            a,
            form,
            fallback: state.settings.business.clone(),
            errors,
            saved,
            fallback_zone: business::StoredDetails::default()
                .over(&state.settings.business)
                .time_zone,
            zones: zone_names(),
        },
    )
}

pub async fn page(State(state): State<AppState>, desk: Desk) -> Result<Response, PageError> {
    if let Some(refused) = refusal(&desk, Act::EditBusiness) {
        return Ok(refused);
    }
    let stored = business::stored(&state.pool)
        .await
        .map_err(|e| desk.fail(Error::from(e)))?;
    let form = BusinessForm {
        name: stored.name.unwrap_or_default(),
        phone: stored.phone.unwrap_or_default(),
        email: stored.email.unwrap_or_default(),
        hours: stored.hours.unwrap_or_default(),
        greeting_uk: stored.greeting_uk.unwrap_or_default(),
        greeting_en: stored.greeting_en.unwrap_or_default(),
        time_zone: stored.time_zone.unwrap_or_default(),
    };
    Ok(render(&state, &desk, StatusCode::OK, form, vec![], false))
}

pub async fn save(
    State(state): State<AppState>,
    desk: Desk,
    Form(form): Form<BusinessForm>,
) -> Result<Response, PageError> {
    if let Some(refused) = refusal(&desk, Act::EditBusiness) {
        return Ok(refused);
    }
    let a = super::i18n::texts(desk.lang);
    let mut errors = Vec::new();
    for ((field, value), (_, limit)) in form.values().into_iter().zip(LIMITS) {
        if value.trim().chars().count() > limit {
            errors.push((field, a.too_long));
        }
    }
    let email = form.email.trim();
    if !email.is_empty() && bureau_accounts::Email::parse(email).is_err() {
        errors.push(("email", a.bad_email));
    }
    // A zone is saved as the tz database spells it; blank: the settings' zone.
    let time_zone = match form.time_zone.trim() {
        "" => Some(String::new()),
        name => business::time_zone_name(name),
    };
    let Some(time_zone) = time_zone else {
        errors.push(("time_zone", a.bad_time_zone));
        return Ok(render(
            &state,
            &desk,
            StatusCode::UNPROCESSABLE_ENTITY,
            form,
            errors,
            false,
        ));
    };
    if !errors.is_empty() {
        return Ok(render(
            &state,
            &desk,
            StatusCode::UNPROCESSABLE_ENTITY,
            form,
            errors,
            false,
        ));
    }
    let some = |v: &str| Some(v.to_owned());
    business::save(
        &state.pool,
        &StoredDetails {
            name: some(&form.name),
            phone: some(&form.phone),
            email: some(&form.email),
            hours: some(&form.hours),
            greeting_uk: some(&form.greeting_uk),
            greeting_en: some(&form.greeting_en),
            time_zone: some(&time_zone),
        },
    )
    .await
    .map_err(|e| desk.fail(Error::from(e)))?;
    let changed: Vec<&str> = form
        .values()
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(f, _)| *f)
        .collect();
    desk.audit(
        &state,
        "business_details_update",
        None,
        None,
        Some(&format!("set: {}", changed.join(", "))),
    )
    .await?;
    let form = BusinessForm { time_zone, ..form };
    Ok(render(&state, &desk, StatusCode::OK, form, vec![], true))
}
