//! `GET /api/catalogue?lang=uk|en`: what the business sells, for the web order form (public,
//! like a shop window): active categories and services with names and descriptions in the
//! asked language, price per unit (or on quote, `price_minor: null`), the price as
//! customers read it, and the duration of bookable services. Read from MySQL on every
//! request, so an edit in the back office shows at once.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::{AppState, Error};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/catalogue", get(catalogue))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Language {
    /// `uk` (the default) or `en`: the language of the names.
    lang: Option<String>,
}

#[derive(Serialize, sqlx::FromRow, utoipa::ToSchema)]
struct Category {
    id: u32,
    parent_id: Option<u32>,
    code: String,
    name: String,
}

#[derive(Serialize, sqlx::FromRow, utoipa::ToSchema)]
struct Service {
    code: String,
    category_id: Option<u32>,
    name: String,
    description: Option<String>,
    price_minor: Option<u64>,
    currency: String,
    unit: String,
    duration_minutes: Option<u16>,
    #[sqlx(skip)]
    price_label: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Catalogue {
    categories: Vec<Category>,
    services: Vec<Service>,
}

/// What the business sells: active categories and services, with prices where set.
#[utoipa::path(
    get,
    path = "/api/catalogue",
    tag = "orders",
    params(Language),
    responses(
        (status = 200, description = "The catalogue", body = Catalogue),
        (status = "4XX", description = "A bad query", body = super::openapi::ErrorBody),
    )
)]
pub(crate) async fn catalogue(
    State(state): State<AppState>,
    Query(language): Query<Language>,
) -> Result<Json<Catalogue>, Error> {
    // One of two fixed column suffixes, never the input itself.
    let lang = match language.lang.as_deref() {
        Some("en") => "en",
        _ => "uk",
    };
    let categories = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, parent_id, code, name_{lang} AS name FROM catalogue_categories
         WHERE active AND archived_at IS NULL ORDER BY position, id"
    )))
    .fetch_all(&state.pool)
    .await?;
    let mut services: Vec<Service> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT code, category_id, name_{lang} AS name, description_{lang} AS description, price_minor,
                currency, CAST(unit AS CHAR) AS unit, duration_minutes
         FROM catalogue_services WHERE active AND archived_at IS NULL ORDER BY position, id"
    )))
    .fetch_all(&state.pool)
    .await?;
    for service in &mut services {
        service.price_label = bureau_platform::business::price_label(
            service.price_minor,
            &service.currency,
            &service.unit,
            lang,
        );
    }
    Ok(Json(Catalogue {
        categories,
        services,
    }))
}
