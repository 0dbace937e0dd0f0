//! The webhook pusher: while a webhook is set, POSTs pending updates to it the way
//! Telegram does. Up to the webhook's `max_connections` deliveries run at once, but a
//! chat's updates go one at a time and in update order: a chat's next update waits until
//! the previous one was answered 2xx. An update whose delivery fails (non-2xx, timeout,
//! refused connection) is retried, backing off from 200 ms to 2 s, and holds back only
//! its own chat's later updates, never other chats'.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use bureau_kit::retry::{Backoff, Pauses};
use serde_json::Value;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::state::{PendingUpdate, Shared, unix_now};

/// Pauses before redelivering an update that failed: 200 ms doubling to 2 s.
const RETRY_BACKOFF: Backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(2));
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the pusher sleeps when nothing is due and nothing changes: a safety net only.
const IDLE_RECHECK: Duration = Duration::from_secs(1);
pub(crate) const SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";

struct Delivery {
    url: String,
    secret: Option<String>,
    update_id: u32,
    body: Value,
}

/// An update that failed: when it may be tried again, and the pauses after that.
struct Retry {
    at: Instant,
    pauses: Pauses,
}

/// The order key of an update: its chat (a callback query without a message counts as the
/// user's private chat), or the update itself when it has none.
fn chat_of(update: &PendingUpdate) -> Result<i64, u32> {
    let payload = &update.json[update.kind];
    let chat = payload["chat"]["id"]
        .as_i64()
        .or_else(|| payload["message"]["chat"]["id"].as_i64())
        .or_else(|| payload["from"]["id"].as_i64());
    chat.ok_or(update.id)
}

/// The deliveries to start now: each chat's oldest pending update, if it is neither in
/// flight nor waiting out a retry, within the connection limit. Also returns when the
/// earliest waiting retry is due.
fn due_deliveries(
    shared: &Shared,
    in_flight: &HashSet<u32>,
    retries: &HashMap<u32, Retry>,
    now: Instant,
) -> (Vec<Delivery>, Option<Instant>) {
    let mut st = shared.lock();
    st.drop_unwanted();
    let Some(webhook) = st.webhook.as_ref() else {
        return (Vec::new(), None);
    };
    let free = (webhook.max_connections as usize).saturating_sub(in_flight.len());
    let mut seen_chats = HashSet::new();
    let mut due = Vec::new();
    let mut next_retry: Option<Instant> = None;
    for update in &st.updates {
        // Only a chat's oldest pending update may go; the rest wait behind it.
        if !seen_chats.insert(chat_of(update)) || in_flight.contains(&update.id) {
            continue;
        }
        if let Some(retry) = retries.get(&update.id)
            && retry.at > now
        {
            next_retry = Some(next_retry.map_or(retry.at, |at| at.min(retry.at)));
            continue;
        }
        if due.len() >= free {
            break;
        }
        due.push(Delivery {
            url: webhook.url.clone(),
            secret: webhook.secret.clone(),
            update_id: update.id,
            body: update.json.clone(),
        });
    }
    (due, next_retry)
}

async fn deliver(client: reqwest::Client, delivery: Delivery) -> (u32, Option<String>, String) {
    let mut request = client.post(&delivery.url).json(&delivery.body);
    if let Some(secret) = &delivery.secret {
        request = request.header(SECRET_HEADER, secret);
    }
    let error = match request.send().await {
        Ok(response) if response.status().is_success() => None,
        Ok(response) => Some(format!(
            "Wrong response from the webhook: {}",
            response.status()
        )),
        Err(err) if err.is_timeout() => Some("Read timeout expired".to_owned()),
        Err(err) => Some(format!("Connection refused: {err}")),
    };
    (delivery.update_id, error, delivery.url)
}

pub(crate) async fn run(shared: Arc<Shared>) {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(DELIVERY_TIMEOUT)
        .build()
        .expect("a plain HTTP client builds");
    let mut shutdown = shared.shutdown_tx.subscribe();
    let mut deliveries = JoinSet::new();
    let mut in_flight = HashSet::new();
    let mut retries: HashMap<u32, Retry> = HashMap::new();
    loop {
        if *shutdown.borrow_and_update() {
            return;
        }
        // Subscribe before looking, so a change right after the look is not missed.
        let mut changes = shared.updates_tx.subscribe();
        let (due, next_retry) = due_deliveries(&shared, &in_flight, &retries, Instant::now());
        for delivery in due {
            in_flight.insert(delivery.update_id);
            deliveries.spawn(deliver(client.clone(), delivery));
        }
        let wake_at = next_retry.unwrap_or_else(|| Instant::now() + IDLE_RECHECK);
        tokio::select! {
            Some(finished) = deliveries.join_next(), if !deliveries.is_empty() => {
                let Ok((update_id, error, url)) = finished else { continue };
                in_flight.remove(&update_id);
                match error {
                    None => {
                        retries.remove(&update_id);
                        shared.lock().updates.retain(|update| update.id != update_id);
                        tracing::debug!(update_id, %url, "webhook delivered");
                        shared.bump_updates();
                    }
                    Some(message) => {
                        tracing::debug!(update_id, %url, %message, "webhook not delivered; will retry");
                        shared.lock().webhook_last_error = Some((unix_now(), message));
                        let mut pauses = retries.remove(&update_id).map_or_else(|| RETRY_BACKOFF.pauses(), |retry| retry.pauses);
                        let at = Instant::now() + pauses.next_pause();
                        retries.insert(update_id, Retry { at, pauses });
                    }
                }
            }
            _ = changes.changed() => {}
            _ = tokio::time::sleep_until(wake_at) => {}
            _ = shutdown.changed() => return,
        }
        // Forget retries of updates no longer pending (dropped with deleteWebhook).
        if !retries.is_empty() {
            let st = shared.lock();
            retries.retain(|id, _| st.updates.iter().any(|update| update.id == *id));
        }
    }
}
