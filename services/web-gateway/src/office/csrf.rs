//! Cross-site request forgery: every state-changing request (anything but GET, HEAD,
//! OPTIONS) a browser sends must come from our own pages.
//!
//! Browsers say where a request comes from in `Sec-Fetch-Site` (all current ones) and
//! `Origin` (on every POST). A request is refused (403) when `Sec-Fetch-Site` is present and
//! is not `same-origin` (or `none`, a person's own action), or when `Origin` is present and is
//! neither the host the browser connected to nor `web_gateway.public_url`. The back office's
//! forms (`/office/...`) must carry one of the two: a browser too old to send either cannot
//! use them. API clients that send neither (programs with a Bearer token, tests) are not
//! browsers and cannot be forged into acting, so they pass. The session cookie is also
//! `SameSite=Lax`, which stops cross-site POSTs in browsers that honour it.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http::AppState;

/// What a request's headers say about where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provenance {
    SameOrigin,
    CrossSite,
    /// Neither header: not a browser.
    Unknown,
}

/// Judges a request's provenance from its headers; `public_url` is our configured address.
pub fn provenance(headers: &HeaderMap, public_url: &str) -> Provenance {
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.to_str().unwrap_or("") {
            "same-origin" | "none" => Provenance::SameOrigin,
            _ => Provenance::CrossSite,
        };
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Provenance::Unknown;
    };
    let origin = origin.to_str().unwrap_or("").trim_end_matches('/');
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let ours = origin_of(public_url).is_some_and(|public| public.eq_ignore_ascii_case(origin))
        || (!host.is_empty()
            && ["http://", "https://"]
                .iter()
                .any(|scheme| origin.eq_ignore_ascii_case(&format!("{scheme}{host}"))));
    if ours {
        Provenance::SameOrigin
    } else {
        Provenance::CrossSite
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<&str> {
    let after_scheme = url.find("://")? + 3;
    let end = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |i| after_scheme + i);
    Some(&url[..end])
}

/// The middleware: refuses forged state-changing requests before any handler runs.
pub async fn same_origin_only(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe {
        let from = provenance(request.headers(), &state.settings.web_gateway.public_url);
        let path = request.uri().path();
        let is_page = path.starts_with("/office") || path.starts_with("/portal");
        let refused = match from {
            Provenance::SameOrigin => false,
            Provenance::CrossSite => true,
            Provenance::Unknown => is_page,
        };
        if refused {
            tracing::warn!(method = %request.method(), path = %request.uri().path(), ?from,
                "cross-site state-changing request refused");
            return (
                StatusCode::FORBIDDEN,
                "This request did not come from Bureau's own pages, so it was not carried out.",
            )
                .into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const PUBLIC: &str = "https://desk.example.com";

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn fetch_metadata_decides_first() {
        assert_eq!(
            provenance(&headers(&[("sec-fetch-site", "same-origin")]), PUBLIC),
            Provenance::SameOrigin
        );
        for site in ["cross-site", "same-site"] {
            let h = headers(&[
                ("sec-fetch-site", site),
                ("origin", "https://desk.example.com"),
            ]);
            assert_eq!(provenance(&h, PUBLIC), Provenance::CrossSite);
        }
    }

    #[test]
    fn origin_must_be_ours() {
        let ours = headers(&[("origin", "https://desk.example.com")]);
        assert_eq!(provenance(&ours, PUBLIC), Provenance::SameOrigin);
        let by_host = headers(&[
            ("origin", "http://127.0.0.1:8080"),
            ("host", "127.0.0.1:8080"),
        ]);
        assert_eq!(provenance(&by_host, PUBLIC), Provenance::SameOrigin);
        let evil = headers(&[
            ("origin", "https://evil.example"),
            ("host", "127.0.0.1:8080"),
        ]);
        assert_eq!(provenance(&evil, PUBLIC), Provenance::CrossSite);
        let lookalike = headers(&[("origin", "https://desk.example.com.evil.example")]);
        assert_eq!(provenance(&lookalike, PUBLIC), Provenance::CrossSite);
        assert_eq!(
            provenance(&headers(&[("origin", "null")]), PUBLIC),
            Provenance::CrossSite
        );
        assert_eq!(provenance(&HeaderMap::new(), PUBLIC), Provenance::Unknown);
    }
}
