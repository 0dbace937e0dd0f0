//! axum's `Json` and `Query` extractors with our rejection: a malformed body or query
//! answers in the API's error shape, not axum's plain text.

use axum::extract::{FromRequest, FromRequestParts};

use super::Error;

#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(Error))]
pub struct Json<T>(pub T);

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Error))]
pub struct Query<T>(pub T);
