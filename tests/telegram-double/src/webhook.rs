//! The webhook pusher: while a webhook is set, POSTs the oldest pending
//! update to it, one at a time in update order, and — like Telegram — keeps
//! retrying that same update until the endpoint answers 2xx, backing off
//! from 200 ms to 2 s between attempts.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::state::{Shared, unix_now};

const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
pub(crate) const SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";

struct Delivery {
    url: String,
    secret: Option<String>,
    update_id: u32,
    body: Value,
}

fn next_delivery(shared: &Shared) -> Option<Delivery> {
    let mut st = shared.lock();
    st.drop_unwanted();
    let webhook = st.webhook.as_ref()?;
    let update = st.updates.front()?;
    Some(Delivery {
        url: webhook.url.clone(),
        secret: webhook.secret.clone(),
        update_id: update.id,
        body: update.json.clone(),
    })
}

pub(crate) async fn run(shared: Arc<Shared>) {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(DELIVERY_TIMEOUT)
        .build()
        .expect("a plain HTTP client builds");
    let mut shutdown = shared.shutdown_tx.subscribe();
    let mut backoff = FIRST_BACKOFF;
    loop {
        if *shutdown.borrow_and_update() {
            return;
        }
        // Subscribe before looking, so a change right after the look is not missed.
        let mut changes = shared.updates_tx.subscribe();
        let Some(delivery) = next_delivery(&shared) else {
            tokio::select! {
                _ = changes.changed() => {}
                _ = shutdown.changed() => return,
            }
            continue;
        };

        let mut request = client.post(&delivery.url).json(&delivery.body);
        if let Some(secret) = &delivery.secret {
            request = request.header(SECRET_HEADER, secret);
        }
        let outcome = tokio::select! {
            outcome = request.send() => outcome,
            _ = shutdown.changed() => return,
        };
        let error = match outcome {
            Ok(response) if response.status().is_success() => None,
            Ok(response) => Some(format!(
                "Wrong response from the webhook: {}",
                response.status()
            )),
            Err(err) if err.is_timeout() => Some("Read timeout expired".to_owned()),
            Err(err) => Some(format!("Connection refused: {err}")),
        };
        match error {
            None => {
                {
                    let mut st = shared.lock();
                    if st
                        .updates
                        .front()
                        .is_some_and(|u| u.id == delivery.update_id)
                    {
                        st.updates.pop_front();
                    }
                }
                tracing::debug!(update_id = delivery.update_id, url = %delivery.url, "webhook delivered");
                shared.bump_updates();
                backoff = FIRST_BACKOFF;
            }
            Some(message) => {
                tracing::debug!(update_id = delivery.update_id, url = %delivery.url, %message, "webhook not delivered; will retry");
                shared.lock().webhook_last_error = Some((unix_now(), message));
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.changed() => return,
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
