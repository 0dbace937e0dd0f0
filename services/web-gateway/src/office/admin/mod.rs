//! Running the business from the back office: the pages an owner uses instead of SQL and the
//! operator's command.
//!
//! - `staff`: `GET /office/staff` (list, invite), `POST /office/staff/invite`,
//!   `POST /office/staff/{id}/{role|active|reset}`; `GET`, `POST /office/set-password/{token}`
//!   (the one-time link, no session needed);
//! - `catalogue`: `GET /office/catalogue`, the service and category forms, archiving;
//! - `business`: `GET`, `POST /office/business` (name, phone, email, hours, greetings);
//! - `audit`: `GET /office/audit` (filters, keyset paging) and `GET /office/audit.csv`.
//!
//! Each route names its [`Act`] (`permissions.rs`: staff, business and audit are the
//! admin's; the catalogue the admin's and the manager's) and every change is appended to
//! `staff_audit`.

mod audit;
mod business;
mod catalogue;
pub mod i18n;
mod staff;

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};

use super::Desk;
use super::permissions::{self, Act, Whose};
use super::views::{self, Chrome};
use crate::http::AppState;
use i18n::AdminTexts;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/office/staff", get(staff::page))
        .route("/office/staff/invite", post(staff::invite))
        .route("/office/staff/{account_id}/role", post(staff::role))
        .route("/office/staff/{account_id}/active", post(staff::active))
        .route("/office/staff/{account_id}/reset", post(staff::reset))
        .route(
            "/office/set-password/{token}",
            get(staff::set_password_form).post(staff::set_password),
        )
        .route("/office/catalogue", get(catalogue::page))
        .route(
            "/office/catalogue/services/new",
            get(catalogue::new_service),
        )
        .route(
            "/office/catalogue/services",
            post(catalogue::create_service),
        )
        .route(
            "/office/catalogue/services/{id}",
            get(catalogue::edit_service).post(catalogue::update_service),
        )
        .route(
            "/office/catalogue/services/{id}/remove",
            post(catalogue::remove_service),
        )
        .route(
            "/office/catalogue/categories/new",
            get(catalogue::new_category),
        )
        .route(
            "/office/catalogue/categories",
            post(catalogue::create_category),
        )
        .route(
            "/office/catalogue/categories/{id}",
            get(catalogue::edit_category).post(catalogue::update_category),
        )
        .route(
            "/office/catalogue/categories/{id}/remove",
            post(catalogue::remove_category),
        )
        .route("/office/business", get(business::page).post(business::save))
        .route("/office/audit", get(audit::page))
        .route("/office/audit.csv", get(audit::csv))
}

/// The page frame and this area's words for a signed-in staff member.
pub fn frame(desk: &Desk, back: &str, title: &str) -> (Chrome, &'static AdminTexts) {
    (
        Chrome::new(desk.lang, Some(&desk.account), back, title),
        i18n::texts(desk.lang),
    )
}

/// `None` when the matrix lets this staff member do `act`; otherwise the refusal page
/// (403), saying who may.
pub fn refusal(desk: &Desk, act: Act) -> Option<Response> {
    if permissions::allows(
        desk.account.role,
        act,
        Whose::Unassigned,
        permissions::Policy::default(),
    ) {
        return None;
    }
    tracing::info!(account_id = %desk.account.id, ?act, "refused by the matrix");
    let a = i18n::texts(desk.lang);
    let text = match act {
        Act::EditCatalogue => a.managers_only,
        _ => a.admins_only,
    };
    let t = desk.lang.texts();
    Some(views::render_failure(
        desk.lang,
        StatusCode::FORBIDDEN,
        t.refusal_title,
        text,
    ))
}

/// A field's problem, shown next to it.
pub type FieldError = Option<&'static str>;
