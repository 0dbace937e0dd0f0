//! `GET /`: the one small page for web customers (log in, register, place an order with a
//! progress bar). Plain HTML and a little script, compiled into the binary.

use axum::Router;
use axum::response::Html;
use axum::routing::get;

use super::AppState;

const INDEX: &str = include_str!("../../assets/index.html");

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(|| async { Html(INDEX) }))
}
