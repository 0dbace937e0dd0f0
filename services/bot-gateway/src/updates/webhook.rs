//! Webhook delivery, for gateways scaled out behind one bot token: Telegram POSTs each
//! update to `/telegram/webhook` on this service's own HTTP listener, and our answer is the
//! acknowledgement: 200 once the update's work is done, 503 when it was deferred (or the
//! bot is not ready yet), and Telegram delivers it again.
//!
//! Anything but the exact secret in `X-Telegram-Bot-Api-Secret-Token` gets 401 before the
//! body is read (compared in constant time). The webhook itself is set by the runner and
//! never deleted when one replica stops, since the others still serve it.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use teloxide::types::Update;

use super::{Outcome, UpdateHandling};
use crate::telegram::WebhookSetup;

/// Where Telegram posts updates, on our own listener.
pub const PATH: &str = "/telegram/webhook";

/// The header Telegram puts the secret in (header names are case-insensitive).
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// Updates are a few KiB; anything near this is not one.
const BODY_LIMIT: usize = 1024 * 1024;

/// Filled by the runner once the bot is ready (migrations applied, Telegram reached).
pub type HandlingSlot = Arc<OnceLock<Arc<UpdateHandling>>>;

/// The webhook route, guarded by the secret; it hands updates to whatever `slot` holds.
pub fn routes(setup: &WebhookSetup, slot: HandlingSlot) -> Router {
    let secret: Arc<str> = Arc::from(setup.secret.as_str());
    Router::new()
        .route(PATH, post(receive))
        .with_state(slot)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .route_layer(middleware::from_fn_with_state(secret, require_secret))
}

async fn receive(State(slot): State<HandlingSlot>, body: Bytes) -> StatusCode {
    let Some(handling) = slot.get() else {
        // Not ready yet: Telegram tries again shortly.
        return StatusCode::SERVICE_UNAVAILABLE;
    };
    let update: Update = match serde_json::from_slice(&body) {
        Ok(update) => update,
        Err(error) => {
            // Telegram would send it again forever, holding back the chat behind it; nothing
            // here can ever read it, so it is acknowledged and logged.
            tracing::error!(%error, bytes = body.len(), "webhook body is not an update; acknowledged and dropped");
            return StatusCode::OK;
        }
    };
    match handling.handle(update).await {
        Outcome::Done => StatusCode::OK,
        Outcome::Deferred => StatusCode::SERVICE_UNAVAILABLE,
    }
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
    use axum::body::Body;
    use teloxide::dptree;
    use teloxide::dptree::di::DependencyMap;
    use teloxide::prelude::*;
    use teloxide::types::Me;
    use tower::ServiceExt;

    use super::*;
    use crate::handlers::{Deferred, HandlerError};

    const SECRET: &str = "the-right_secret";

    fn setup() -> WebhookSetup {
        WebhookSetup {
            url: "https://bot.example.com/hook".parse().unwrap(),
            secret: SECRET.into(),
            max_connections: 40,
        }
    }

    fn update(id: u32, text: &str) -> String {
        serde_json::json!({
            "update_id": id,
            "message": {
                "message_id": 1, "date": 1_700_000_000,
                "chat": {"id": 5, "type": "private", "first_name": "A"},
                "from": {"id": 5, "is_bot": false, "first_name": "A"},
                "text": text,
            }
        })
        .to_string()
    }

    /// Handling whose schema defers a message saying "defer" and takes anything else.
    fn handling() -> Arc<UpdateHandling> {
        let schema = dptree::entry().endpoint(|update: Update| async move {
            let deferring = matches!(&update.kind, teloxide::types::UpdateKind::Message(m) if m.text() == Some("defer"));
            if deferring { Err(Deferred::boxed("test", None)) } else { Ok::<(), HandlerError>(()) }
        });
        // Nothing is sent: the handlers here never call Telegram.
        let bot = crate::telegram::GatewayBot::unpaced(teloxide::Bot::new("1:unused"));
        let me: Me = serde_json::from_value(serde_json::json!({
            "id": 1, "is_bot": true, "first_name": "Bureau", "username": "bureau_bot",
            "can_join_groups": false, "can_read_all_group_messages": false, "supports_inline_queries": false,
            "can_connect_to_business": false, "has_main_web_app": false,
        }))
        .unwrap();
        UpdateHandling::new(schema, DependencyMap::new(), bot, me)
    }

    async fn post(routes: &Router, secret: Option<&str>, body: String) -> StatusCode {
        let mut request =
            axum::http::Request::post(PATH).header("content-type", "application/json");
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
    async fn the_answer_says_whether_the_update_was_done() {
        let slot = HandlingSlot::default();
        let routes = routes(&setup(), slot.clone());
        assert_eq!(
            post(&routes, None, update(1, "hi")).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            post(&routes, Some("wrong"), update(2, "hi")).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            post(&routes, Some("not allowed!"), update(3, "hi")).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            post(&routes, Some(SECRET), update(4, "hi")).await,
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready yet"
        );

        assert!(slot.set(handling()).is_ok());
        assert_eq!(
            post(&routes, Some(SECRET), update(5, "hi")).await,
            StatusCode::OK
        );
        assert_eq!(
            post(&routes, Some(SECRET), update(6, "defer")).await,
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            post(&routes, Some(SECRET), "{\"not\": \"an update\"}".into()).await,
            StatusCode::OK,
            "unreadable: dropped, not retried forever"
        );
    }

    #[tokio::test]
    async fn other_paths_are_not_guarded_here() {
        let routes = routes(&setup(), HandlingSlot::default());
        let request = axum::http::Request::get("/healthz")
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            routes.oneshot(request).await.unwrap().status(),
            StatusCode::NOT_FOUND
        );
    }
}
