//! The reports (admins and managers; `Act::SeeReports`): orders created by channel and by
//! status, time in each status, created → delivered turnaround, staff throughput and open
//! work, revenue by month — for a preset period or custom dates (days of the business's time
//! zone, `business::BusinessDetails::time_zone`), each drawn as a chart and exportable as
//! CSV, with every order of the period as one more CSV.
//!
//! - `GET /office/reports?preset=30d|7d|month|last-month|year|custom&from&to&by=day|week|month`:
//!   the page;
//! - `GET /office/reports/{report}.csv?...`: one report's table (`tables::Report` slugs);
//! - `GET /office/reports/orders.csv?...`: every order created in the period, streamed;
//! - `GET /office/assets/{uplot.min.js,uplot.min.css,reports.js,reports.css}`: the charting
//!   library (uPlot, vendored: `assets/vendor/uplot/README.md`) and the script that draws
//!   the charts from the page's `data-chart` attributes (no inline script: strict CSP).
//!
//! The figures are SQL (`queries::reports`); `tables` shapes each into the table the page
//! and its CSV share; `csv` writes them. Every export is audited (`reports.export`).

mod csv;
mod period;
mod tables;
pub mod texts;

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bureau_platform::business::TimeZone;
use chrono::Utc;

use super::i18n::Lang;
use super::permissions::{self, Act, Whose};
use super::views::{self, Chrome, Opt};
use super::{Desk, Failure, PageError};
use crate::http::{AppState, Error};
use period::{Period, PeriodError, PeriodQuery, Preset};
use tables::{Report, Table};
use texts::ReportTexts;

/// The reports' SQL, for the benchmark's baseline (`bench-reports`).
pub use crate::queries::reports as queries;
/// The business's today and its days' first instants, for the benchmark's periods.
pub use period::{start_of, today};

const UPLOT_JS: &str = include_str!("../../../assets/vendor/uplot/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("../../../assets/vendor/uplot/uPlot.min.css");
const REPORTS_JS: &str = include_str!("../../../assets/reports.js");
const REPORTS_CSS: &str = include_str!("../../../assets/reports.css");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/office/reports", get(page))
        .route("/office/reports/{file}", get(download))
        .route("/office/assets/uplot.min.js", get(|| script(UPLOT_JS)))
        .route("/office/assets/uplot.min.css", get(|| style(UPLOT_CSS)))
        .route("/office/assets/reports.js", get(|| script(REPORTS_JS)))
        .route("/office/assets/reports.css", get(|| style(REPORTS_CSS)))
}

async fn script(body: &'static str) -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn style(body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], body).into_response()
}

/// Why a report could not be shown.
enum Refusal {
    /// The matrix does not allow this role reports (executors): a page that says so.
    NotForRole(Lang),
    Page(PageError),
}

impl From<PageError> for Refusal {
    fn from(error: PageError) -> Refusal {
        Refusal::Page(error)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::NotForRole(lang) => views::render_failure(
                lang,
                StatusCode::FORBIDDEN,
                lang.texts().refusal_title,
                texts::of(lang).refused,
            ),
            Refusal::Page(error) => error.into_response(),
        }
    }
}

/// Refuses anyone the matrix does not allow reports (executors).
fn allowed(state: &AppState, desk: &Desk) -> Result<(), Refusal> {
    // Reports are about the whole business, not one order: `Whose` does not narrow them.
    if permissions::allows(
        desk.account.role,
        Act::SeeReports,
        Whose::Others,
        Desk::policy(state),
    ) {
        Ok(())
    } else {
        tracing::info!(account_id = %desk.account.id, "reports refused by the matrix");
        Err(Refusal::NotForRole(desk.lang))
    }
}

/// One report on the page.
struct Section {
    slug: &'static str,
    heading: String,
    hint: Option<&'static str>,
    csv_href: String,
    columns: Vec<tables::Column>,
    rows: Vec<Vec<ViewCell>>,
    total_row: bool,
    /// The chart's data (`tables::Chart`), for `reports.js`.
    chart_json: String,
    /// The rows as the CSV has them, for machines reading the page (the tests).
    rows_json: String,
}

struct ViewCell {
    shown: String,
    numeric: bool,
}

#[derive(Template)]
#[template(path = "office/reports/page.html")]
struct ReportsPage {
    chrome: Chrome,
    r: &'static ReportTexts,
    presets: Vec<Opt>,
    grains: Vec<Opt>,
    from: String,
    to: String,
    error: Option<&'static str>,
    period_text: String,
    /// The business's time zone (IANA name) its days are counted in.
    zone: String,
    orders_csv: String,
    sections: Vec<Section>,
}

fn section(period: &Period, r: &ReportTexts, table: Table) -> Section {
    let heading = match table.report {
        Report::CreatedByChannel | Report::CreatedByStatus => {
            format!("{}: {}", r.created_title, table.title.to_lowercase())
        }
        _ => table.title.to_owned(),
    };
    let rows_json = serde_json::to_string(&table.raw_rows()).unwrap_or_default();
    let chart_json = serde_json::to_string(&table.chart).unwrap_or_default();
    let numeric: Vec<bool> = table.columns.iter().map(|c| c.numeric).collect();
    let rows = table
        .rows
        .into_iter()
        .map(|row| {
            row.into_iter()
                .enumerate()
                .map(|(i, cell)| ViewCell {
                    shown: cell.shown,
                    numeric: numeric.get(i).copied().unwrap_or(false),
                })
                .collect()
        })
        .collect();
    Section {
        slug: table.report.slug(),
        heading,
        hint: table.hint,
        csv_href: format!(
            "/office/reports/{}.csv?{}",
            table.report.slug(),
            period.query_string()
        ),
        columns: table.columns,
        rows,
        total_row: table.total_row,
        chart_json,
        rows_json,
    }
}

/// The zone the business's days are counted in, read on each request (an admin's change
/// applies to the next report).
async fn business_zone(state: &AppState) -> Result<TimeZone, sqlx::Error> {
    Ok(
        bureau_platform::business::details(&state.pool, &state.settings.business)
            .await?
            .zone(),
    )
}

/// `GET /office/reports`: every report for the period.
async fn page(
    State(state): State<AppState>,
    desk: Desk,
    uri: Uri,
    Query(query): Query<PeriodQuery>,
) -> Result<Response, Refusal> {
    allowed(&state, &desk)?;
    let lang = desk.lang;
    let r = texts::of(lang);
    let zone = business_zone(&state)
        .await
        .map_err(|e| desk.fail(Error::from(e)))?;
    let (period, error) = Period::from_query(&query, period::today(&zone, Utc::now()));
    let built = futures::future::try_join_all(
        Report::ALL.map(|report| tables::table(&state.pool, &period, &zone, lang, report)),
    )
    .await
    .map_err(|e| desk.fail(Error::from(e)))?;
    let presets = Preset::ALL
        .iter()
        .map(|p| {
            let label = match p {
                Preset::Last7Days => r.last_7_days,
                Preset::Last30Days => r.last_30_days,
                Preset::ThisMonth => r.this_month,
                Preset::LastMonth => r.last_month,
                Preset::ThisYear => r.this_year,
                Preset::Custom => r.custom,
            };
            Opt::new(p.as_str(), label, *p == period.preset)
        })
        .collect();
    let grains = [
        (crate::queries::reports::Grain::Day, r.by_day),
        (crate::queries::reports::Grain::Week, r.by_week),
        (crate::queries::reports::Grain::Month, r.by_month),
    ]
    .iter()
    .map(|(g, label)| Opt::new(g.as_str(), *label, *g == period.grain))
    .collect();
    let back = uri
        .path_and_query()
        .map_or("/office/reports".to_owned(), |p| p.to_string());
    let mut chrome = Chrome::new(lang, Some(&desk.account), &back, r.reports);
    // The figures are of a period, not live: the page does not follow the staff feed (whose
    // refresh would replace the drawn charts).
    chrome.live = false;
    let page = ReportsPage {
        chrome,
        r,
        presets,
        grains,
        from: period.first.to_string(),
        to: period.last.to_string(),
        error: error.map(|e| match e {
            PeriodError::BadDate => r.bad_date,
            PeriodError::Backwards => r.bad_range,
        }),
        period_text: format!("{} — {}", period.first, period.last),
        zone: zone.iana_name().unwrap_or("UTC").to_owned(),
        orders_csv: format!("/office/reports/orders.csv?{}", period.query_string()),
        sections: built
            .into_iter()
            .map(|table| section(&period, r, table))
            .collect(),
    };
    Ok(views::html(StatusCode::OK, &page))
}

/// `GET /office/reports/{report}.csv`: one report's table, or every order of the period.
async fn download(
    State(state): State<AppState>,
    desk: Desk,
    Path(file): Path<String>,
    Query(query): Query<PeriodQuery>,
) -> Result<Response, Refusal> {
    allowed(&state, &desk)?;
    let fail = |failure: Failure| desk.fail(failure);
    let slug = file
        .strip_suffix(".csv")
        .ok_or_else(|| fail(Failure::NotFound))?;
    let zone = business_zone(&state)
        .await
        .map_err(|e| fail(Error::from(e).into()))?;
    let (period, _) = Period::from_query(&query, period::today(&zone, Utc::now()));
    let name = format!("bureau-{slug}-{}-{}.csv", period.first, period.last);
    let detail = format!("{slug} {} — {}", period.first, period.last);
    if slug == "orders" {
        desk.audit(&state, "reports.export", None, Some(slug), Some(&detail))
            .await?;
        let body = csv::orders(state.pool.clone(), period.range(&zone), zone, desk.lang);
        return Ok(csv::attachment(&name, body));
    }
    let report = Report::parse(slug).ok_or_else(|| fail(Failure::NotFound))?;
    let table = tables::table(&state.pool, &period, &zone, desk.lang, report)
        .await
        .map_err(|e| fail(Error::from(e).into()))?;
    let bytes =
        csv::table(&table).map_err(|e| fail(Error::Internal(anyhow::Error::new(e)).into()))?;
    desk.audit(&state, "reports.export", None, Some(slug), Some(&detail))
        .await?;
    Ok(csv::attachment(&name, Body::from(bytes)))
}
