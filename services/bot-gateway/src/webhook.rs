//! Webhook delivery, for gateways scaled out behind one bot token: Telegram POSTs each
//! update to `/telegram/webhook` on this service's own HTTP listener.
//!
//! teloxide's `axum_no_setup` provides the route and turns requests into an update stream.
//! It does compare the `X-Telegram-Bot-Api-Secret-Token` header, but not in constant time,
//! and it answers 400 rather than 401 to a header it finds malformed. So our own check runs
//! in front of it: anything but the exact secret gets 401 before the body is even read.
//!
//! `set_webhook` is called by the runner, not through teloxide's `axum_to_router`: that
//! helper deletes the webhook when its listener stops, and one replica stopping must not
//! cut off the others.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use teloxide::update_listeners::UpdateListener;
use teloxide::update_listeners::webhooks::{Options, axum_no_setup};

use crate::telegram::WebhookSetup;

/// Where Telegram posts updates, on our own listener.
pub const PATH: &str = "/telegram/webhook";

/// The header Telegram puts the secret in (header names are case-insensitive).
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// The webhook route, guarded by the secret, and the stream of updates it accepts. The
/// stream ends once the route is dropped, i.e. when the HTTP server serving it has stopped.
pub fn receiver(
    setup: &WebhookSetup,
    listen: SocketAddr,
) -> (impl UpdateListener<Err = Infallible> + use<>, Router) {
    // `listen` is informational here: `axum_no_setup` binds nothing, we serve the router.
    let options = Options::new(listen, setup.url.clone())
        .path(PATH.to_owned())
        .secret_token(setup.secret.clone());
    // The returned stop future only says the listener stopped; our server stops on the
    // service's own shutdown token instead.
    let (updates, _stopped, routes) = axum_no_setup(options);
    let secret: Arc<str> = Arc::from(setup.secret.as_str());
    (
        updates,
        routes.route_layer(middleware::from_fn_with_state(secret, require_secret)),
    )
}

async fn require_secret(State(secret): State<Arc<str>>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(SECRET_HEADER)
        .map(|value| value.as_bytes());
    if presented.is_some_and(|presented| same_secret(presented, secret.as_bytes())) {
        next.run(request).await
    } else {
        tracing::warn!("webhook request without the right secret token refused");
        StatusCode::UNAUTHORIZED.into_response()
    }
}

/// Compares without stopping at the first difference, so response timing does not reveal
/// how much of a guessed secret was right.
fn same_secret(presented: &[u8], expected: &[u8]) -> bool {
    presented.len() == expected.len()
        && presented
            .iter()
            .zip(expected)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::body::Body;
    use futures::StreamExt;
    use teloxide::update_listeners::AsUpdateStream;
    use tower::ServiceExt;

    use super::*;

    const SECRET: &str = "the-right_secret";

    fn setup() -> WebhookSetup {
        WebhookSetup {
            url: "https://bot.example.com/hook".parse().unwrap(),
            secret: SECRET.into(),
        }
    }

    fn update(id: u32) -> String {
        serde_json::json!({
            "update_id": id,
            "message": {
                "message_id": 1, "date": 1_700_000_000,
                "chat": {"id": 5, "type": "private", "first_name": "A"},
                "from": {"id": 5, "is_bot": false, "first_name": "A"},
                "text": "hello",
            }
        })
        .to_string()
    }

    async fn post(routes: &Router, secret: Option<&str>, body: String) -> StatusCode {
        let mut request = Request::post(PATH).header("content-type", "application/json");
        if let Some(secret) = secret {
            request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        let request = request.body(Body::from(body)).unwrap();
        routes.clone().oneshot(request).await.unwrap().status()
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abd", b"abc"));
        assert!(!same_secret(b"ab", b"abc"));
        assert!(!same_secret(b"", b"abc"));
    }

    #[tokio::test]
    async fn only_the_right_secret_gets_an_update_through() {
        let (mut updates, routes) = receiver(&setup(), "127.0.0.1:0".parse().unwrap());
        assert_eq!(
            post(&routes, None, update(1)).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            post(&routes, Some("wrong"), update(2)).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            post(&routes, Some("not allowed!"), update(3)).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(post(&routes, Some(SECRET), update(4)).await, StatusCode::OK);

        let stream = updates.as_stream();
        futures::pin_mut!(stream);
        let first = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("the accepted update arrives")
            .expect("the stream is open")
            .expect("no listener error");
        assert_eq!(first.id.0, 4, "refused requests changed nothing");
    }

    #[tokio::test]
    async fn other_paths_are_not_guarded_here() {
        let (_updates, routes) = receiver(&setup(), "127.0.0.1:0".parse().unwrap());
        let request = Request::get("/healthz").body(Body::empty()).unwrap();
        assert_eq!(
            routes.oneshot(request).await.unwrap().status(),
            StatusCode::NOT_FOUND
        );
    }
}
