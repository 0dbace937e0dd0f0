//! Live updates as server-sent events, without reloading:
//!
//! - `GET /api/orders/{order_number}/live` (a customer, their own order): first the current
//!   status from the database, then a `status` event for every recorded change, each with
//!   the status, its version and its name in the customer's language, and a `refused`
//!   event when a request of the customer's own (a cancellation, an answer to a quote) was
//!   refused; `reply` (staff or the customer wrote), `quote` (a price) and `file` (a file or result stored)
//!   say only that something came, for the portal's order page to read. A reconnecting
//!   `EventSource` (with `Last-Event-ID`) starts again from the current status, so a status
//!   is never missed; the page reads the rest again on reconnecting;
//! - `GET /api/staff/feed` (staff): `order.created`, `order.message.posted`,
//!   `order.status.changed` (recorded changes, with the request that made them) and
//!   `order.status.change_refused` (requests refused, with the reason and where the order
//!   is), `order.price.quoted`, `order.file.stored`, `order.comment.posted` and
//!   `order.assigned` as they happen (executors get only `order.changed` with the order's
//!   id: never another order's content).
//!
//! Only what the persistence worker recorded is shown: a status change exists on the bus
//! only once it is in MySQL (requests are decided there first); a message or an internal
//! comment (and a payment or refund) is published before the worker records it, so the
//! hub passes it on only once its row is there ([`LiveHub::announce_when_recorded`]: an open order page that
//! refreshes on the news shows it). Status changes of the old
//! shape (without a request id, from gateways of an older release) are never shown.
//!
//! One [`LiveHub`] per gateway process follows the bus (a transient queue of its own, see
//! `bureau_event_bus::live`) and fans events out to the connected clients through a
//! bounded broadcast channel. A client that falls that far behind is disconnected rather
//! than slowing the others; its browser's `EventSource` reconnects by itself and starts
//! again from the database. Streams end when the gateway shuts down, so graceful shutdown
//! is not held up by open pages.
//!
//! A stream holds a connection for as long as it lives, so each is bounded
//! (`web_gateway.live`): an account has at most `max_streams_per_account` open at once (the
//! next answers 429), a stream ends after `max_stream_secs` (the browser reconnects), and
//! it ends when its session does (signed out, expired, the account deactivated), checked
//! every `session_check_secs`. Deactivating an account in the back office ends its streams
//! in this process at once ([`LiveHub::end_account`]), and in every other replica within
//! about a second: each hub follows the audit log for deactivations and passwords set
//! ([`follow_account_ends`]), one indexed read of the newest rows a second.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::get;
use bureau_event_bus::EventBus;
use bureau_platform::settings::LiveSettings;
use bureau_platform::texts::Catalog;
use futures::{Stream, StreamExt};
use proto_events::{
    Actor, Envelope, Event, EventKind, OrderStatus, OrderStatusChangeRefused, order_number,
};
use serde_json::json;
use sqlx::MySqlPool;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::auth::{Customer, presented_token};
use super::openapi::ErrorBody;
use super::staff::Clerk;
use super::{AppState, Error};
use crate::queries;
use crate::sessions::{self, SessionToken};

/// Events a client may fall behind by before it is disconnected.
const CLIENT_BUFFER: usize = 256;

/// How often each hub reads the audit log for accounts ended by another replica.
const ACCOUNT_ENDS_EVERY: Duration = Duration::from_secs(1);

/// How long a new client waits for the hub's subscription before it is answered anyway.
const BIND_WAIT: Duration = Duration::from_secs(5);

const NO_SUCH_ORDER: &str = "No such order.";

/// The process's one follower of the bus, shared by every live client.
#[derive(Clone)]
pub struct LiveHub {
    events: broadcast::Sender<Arc<Envelope>>,
    bound: watch::Receiver<bool>,
    shutdown: CancellationToken,
    catalog: Arc<Catalog>,
    limits: LiveSettings,
    /// Open streams per account.
    open: Arc<Mutex<HashMap<Uuid, usize>>>,
    /// Accounts whose streams must end now (deactivated, password reset).
    ended: broadcast::Sender<Uuid>,
    /// Where messages and comments are recorded: when set, their events are passed on only
    /// once the persistence worker has recorded them (see [`LiveHub::announce_when_recorded`]).
    records: Arc<OnceLock<MySqlPool>>,
}

/// One open stream of an account, counted until it is dropped.
struct StreamSlot {
    account_id: Uuid,
    open: Arc<Mutex<HashMap<Uuid, usize>>>,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.account_id) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.account_id);
            }
        }
    }
}

/// Whose stream it is: the account, and the session it was opened with.
struct Viewer {
    account_id: Uuid,
    token: SessionToken,
    pool: MySqlPool,
}

impl LiveHub {
    /// Starts following the bus; the subscription reconnects by itself, and stops when
    /// `shutdown` fires.
    pub fn start(bus: Arc<EventBus>, shutdown: CancellationToken, limits: LiveSettings) -> LiveHub {
        let (events, _) = broadcast::channel(CLIENT_BUFFER);
        let (bound_sender, bound) = watch::channel(false);
        let mut stream = bus.subscribe_live(
            &[
                EventKind::OrderStatusChanged,
                EventKind::OrderStatusChangeRefused,
                EventKind::OrderCreated,
                EventKind::OrderMessagePosted,
                EventKind::PriceQuoted,
                EventKind::FileStored,
                EventKind::OrderCommentPosted,
                EventKind::OrderAssigned,
                EventKind::PaymentReceived,
                EventKind::PaymentRefunded,
                EventKind::BookingChanged,
            ],
            Some(bound_sender),
        );
        let fan_out = events.clone();
        let stop = shutdown.clone();
        let records: Arc<OnceLock<MySqlPool>> = Arc::default();
        let recorded = records.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    next = stream.next() => match next {
                        Some(envelope) => pass_on(&fan_out, recorded.get(), &stop, envelope),
                        None => break,
                    },
                    _ = stop.cancelled() => break,
                }
            }
        });
        LiveHub {
            events,
            bound,
            shutdown,
            catalog: Arc::new(Catalog::new(&[])),
            limits,
            open: Arc::default(),
            ended: broadcast::channel(64).0,
            records,
        }
    }

    /// From now on a message or an internal comment is announced once its row is in
    /// `pool` (the persistence worker records it after the gateway published it), so a page
    /// that refreshes on the news shows it.
    pub fn announce_when_recorded(&self, pool: MySqlPool) {
        let _ = self.records.set(pool);
    }

    /// Ends every open stream of `account_id` in this process now.
    pub fn end_account(&self, account_id: Uuid) {
        // No stream open is not an error.
        let _ = self.ended.send(account_id);
    }

    /// Follows the audit log for accounts whose sessions another replica ended
    /// (`staff_deactivate`, `password_set`) and ends their streams here too, until
    /// `shutdown`. (A row committed out of id order can be passed over; the per-stream
    /// session checks still end those streams.)
    pub fn follow_account_ends(&self, pool: MySqlPool) {
        let hub = self.clone();
        tokio::spawn(async move {
            let mut last: Option<u64> = None;
            let mut tick = tokio::time::interval(ACCOUNT_ENDS_EVERY);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = hub.shutdown.cancelled() => break,
                }
                let Some(after) = last else {
                    // Start from now: what ended before this process started has no stream here.
                    if let Ok(max) =
                        sqlx::query_scalar::<_, Option<u64>>("SELECT MAX(id) FROM staff_audit")
                            .fetch_one(&pool)
                            .await
                    {
                        last = Some(max.unwrap_or(0));
                    }
                    continue;
                };
                let ended: Result<Vec<(u64, Option<String>)>, _> = sqlx::query_as(
                    "SELECT id, subject FROM staff_audit
                     WHERE id > ? AND action IN ('staff_deactivate', 'password_set') ORDER BY id",
                )
                .bind(after)
                .fetch_all(&pool)
                .await;
                // MySQL not answering: the per-stream session checks still end them.
                let Ok(ended) = ended else { continue };
                for (id, subject) in ended {
                    last = Some(id);
                    if let Some(account_id) = subject.and_then(|s| Uuid::parse_str(&s).ok()) {
                        hub.end_account(account_id);
                    }
                }
            }
        });
    }

    /// A slot for one more stream of `account_id`, or 429 when it has its fill.
    fn open_slot(&self, account_id: Uuid) -> Result<StreamSlot, Error> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(account_id).or_default();
        let max = self.limits.max_streams_per_account;
        if *count >= max {
            return Err(Error::TooManyRequests {
                code: "too_many_streams",
                message: format!(
                    "This account already has {max} live pages open. Close one, then reload this page."
                ),
                retry_after_secs: 5,
            });
        }
        *count += 1;
        Ok(StreamSlot {
            account_id,
            open: self.open.clone(),
        })
    }

    /// Resolves when the stream must end: the gateway stops, the stream reached its
    /// longest life, or its session ended. Holds the stream's slot until then.
    fn end_of(&self, slot: StreamSlot, viewer: Viewer) -> impl Future<Output = ()> + use<> {
        let shutdown = self.shutdown.clone();
        let max_life = Duration::from_secs(self.limits.max_stream_secs.max(1));
        let check_every = Duration::from_secs(self.limits.session_check_secs.max(1));
        let mut ended = self.ended.subscribe();
        async move {
            let _slot = slot;
            let account_ended = async {
                loop {
                    match ended.recv().await {
                        Ok(id) if id == viewer.account_id => break,
                        // Missed some: the periodic session check still catches ours.
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => {
                            std::future::pending::<()>().await
                        }
                    }
                }
            };
            let session_ended = async {
                loop {
                    tokio::time::sleep(check_every).await;
                    match sessions::resolve(&viewer.pool, &viewer.token).await {
                        Ok(Some(account)) if account.id == viewer.account_id => {}
                        Ok(_) => break,
                        // MySQL not answering says nothing about the session.
                        Err(_) => {}
                    }
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = tokio::time::sleep(max_life) => {}
                _ = session_ended => {}
                _ = account_ended => {}
            }
        }
    }

    /// A receiver for one client, once the hub follows the bus (or after [`BIND_WAIT`]).
    async fn subscribe(&self) -> broadcast::Receiver<Arc<Envelope>> {
        // Subscribe before waiting, so nothing published after the wait is missed.
        let receiver = self.events.subscribe();
        let mut bound = self.bound.clone();
        if tokio::time::timeout(BIND_WAIT, bound.wait_for(|bound| *bound))
            .await
            .is_err()
        {
            tracing::warn!(
                "live updates are not following the broker yet; the client gets them once they are"
            );
        }
        receiver
    }

    /// The SSE response: `first` events, then whatever `pick` makes of the hub's events.
    fn respond<F>(
        &self,
        (slot, viewer): (StreamSlot, Viewer),
        first: Vec<SseEvent>,
        receiver: broadcast::Receiver<Arc<Envelope>>,
        pick: F,
    ) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>> + use<F>>
    where
        F: Fn(&Envelope) -> Option<SseEvent> + Send + 'static,
    {
        let updates =
            futures::stream::unfold((receiver, pick), |(mut receiver, pick)| async move {
                loop {
                    match receiver.recv().await {
                        Ok(envelope) => {
                            if let Some(event) = pick(&envelope) {
                                return Some((event, (receiver, pick)));
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            tracing::info!(missed, "live client too slow; disconnecting it");
                            return None;
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            });
        let stream = futures::stream::iter(first)
            .chain(updates)
            .map(Ok)
            .take_until(self.end_of(slot, viewer));
        Sse::new(stream).keep_alive(KeepAlive::default())
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/orders/{order_number}/live", get(order_live))
        .route("/api/staff/feed", get(staff_feed))
}

/// The stream's slot and whose it is; 429 when the account has its fill of streams.
fn viewer(
    state: &AppState,
    headers: &HeaderMap,
    account_id: Uuid,
) -> Result<(StreamSlot, Viewer), Error> {
    // The extractor resolved this very token a moment ago.
    let token = presented_token(headers).ok_or(Error::Unauthorized)?;
    let slot = state.live.open_slot(account_id)?;
    Ok((
        slot,
        Viewer {
            account_id,
            token,
            pool: state.pool.clone(),
        },
    ))
}

/// The customer's own order, live (server-sent events): the current status first, then
/// a `status` event per recorded change and a `refused` event per refused request of
/// theirs. Reconnect with `Last-Event-ID`.
#[utoipa::path(
    get,
    path = "/api/orders/{order_number}/live",
    tag = "orders",
    security(("session" = [])),
    params(("order_number" = String, Path, description = "The order's number")),
    responses(
        (status = 200, description = "An event stream", content_type = "text/event-stream", body = String),
        (status = 429, description = "Too many live streams open for this account", body = ErrorBody),
        (status = "4XX", description = "Not signed in, not a customer, or no such order of this customer", body = ErrorBody),
    )
)]
pub(crate) async fn order_live(
    State(state): State<AppState>,
    Customer(customer): Customer,
    headers: HeaderMap,
    Path(number): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, Error> {
    let number = order_number::parse(&number).ok_or(Error::NotFound(NO_SUCH_ORDER))?;
    let viewer = viewer(&state, &headers, customer.id)?;
    let hub = state.live.clone();
    // Before reading the snapshot: a change committed after the read is then still seen.
    let receiver = hub.subscribe().await;
    let order = queries::customer_live_order(&state.pool, customer.id, &number)
        .await?
        .ok_or(Error::NotFound(NO_SUCH_ORDER))?;

    let catalog = hub.catalog.clone();
    let language = order.language.clone();
    let snapshot = OrderStatus::parse(&order.status).map(|status| {
        status_event(
            &catalog,
            &language,
            &order.order_number,
            status,
            order.status_version,
        )
    });
    let order_id = order.id;
    Ok(hub.respond(
        viewer,
        snapshot.into_iter().collect(),
        receiver,
        move |envelope| match &envelope.payload {
            Event::OrderStatusChanged(change)
                if change.order_id == order_id && change.is_recorded() =>
            {
                Some(status_event(
                    &catalog,
                    &language,
                    &change.order_number,
                    change.to,
                    change.version,
                ))
            }
            Event::OrderStatusChangeRefused(refusal)
                if refusal.order_id == order_id && refusal.actor == Actor::Customer =>
            {
                Some(refused_event(&catalog, &language, refusal))
            }
            // The customer's page refreshes its conversation, price and files on these;
            // they say only that something came (the page reads what once it is recorded).
            Event::OrderMessagePosted(message) if message.order_id == order_id => {
                Some(news_event("reply", message.message_id))
            }
            Event::PriceQuoted(_) if envelope.payload.order_id() == order_id => {
                Some(news_event("quote", envelope.event_id))
            }
            Event::FileStored(stored) if stored.order_id == order_id => {
                Some(news_event("file", stored.file_id))
            }
            _ => None,
        },
    ))
}

/// `event: status` with `{order_number, status, version, status_name}`; the id is the
/// version, so a client can tell a repeat from news.
fn status_event(
    catalog: &Catalog,
    language: &str,
    order_number: &str,
    status: OrderStatus,
    version: u32,
) -> SseEvent {
    let data = json!({
        "order_number": order_number,
        "status": status,
        "version": version,
        "status_name": catalog.status(language, status),
    });
    SseEvent::default()
        .event("status")
        .id(version.to_string())
        .data(data.to_string())
}

/// `event: refused` with what the customer asked, why it was not done and where the order
/// is now (its status in the customer's language).
/// Something new on the order (`reply`, `quote`, `file`), by its id.
fn news_event(kind: &'static str, id: Uuid) -> SseEvent {
    SseEvent::default()
        .event(kind)
        .data(json!({ "id": id }).to_string())
}

fn refused_event(
    catalog: &Catalog,
    language: &str,
    refusal: &OrderStatusChangeRefused,
) -> SseEvent {
    let data = json!({
        "order_number": refusal.order_number,
        "request_id": refusal.request_id,
        "to": refusal.to,
        "code": refusal.code,
        "status": refusal.current_status,
        "version": refusal.current_version,
        "status_name": catalog.status(language, refusal.current_status),
    });
    SseEvent::default()
        .event("refused")
        .id(refusal.request_id.to_string())
        .data(data.to_string())
}

/// The staff feed (server-sent events): new orders, messages, recorded and refused status
/// changes.
#[utoipa::path(
    get,
    path = "/api/staff/feed",
    tag = "staff",
    security(("session" = [])),
    responses(
        (status = 200, description = "An event stream", content_type = "text/event-stream", body = String),
        (status = "4XX", description = "Not signed in, not staff, or too many streams open", body = ErrorBody),
    )
)]
pub(crate) async fn staff_feed(
    State(state): State<AppState>,
    clerk: Clerk,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, Error> {
    clerk.may_see_lists(&state)?;
    let staff = clerk.account;
    let viewer = viewer(&state, &headers, staff.id)?;
    let hub = state.live.clone();
    let receiver = hub.subscribe().await;
    // A first event so the page knows it is live (and tests know when to act).
    let ready = SseEvent::default().event("ready").data("{}");
    // Executors never see other executors' orders: their feed says only that an order
    // (an opaque id) changed, so their open pages refresh, and nothing of its content.
    let content = staff.role != bureau_accounts::Role::Executor;
    Ok(hub.respond(viewer, vec![ready], receiver, move |envelope| {
        if !content {
            let data = json!({ "order_id": envelope.payload.order_id() });
            return Some(
                SseEvent::default()
                    .event("order.changed")
                    .id(envelope.event_id.to_string())
                    .data(data.to_string()),
            );
        }
        let data = match &envelope.payload {
            Event::OrderCreated(created) => json!({
                "order_id": created.order_id,
                "order_number": created.order_number,
                "channel": created.customer.channel(),
                "service_code": created.service_code,
                "text": preview(&created.text),
                "file_count": created.file_count,
                "created_at": created.created_at,
            }),
            Event::OrderMessagePosted(message) => json!({
                "order_id": message.order_id,
                "message_id": message.message_id,
                "from_customer": matches!(message.author, Actor::Customer),
                "text": preview(&message.text),
            }),
            Event::OrderStatusChanged(change) if change.is_recorded() => json!({
                "order_id": change.order_id,
                "order_number": change.order_number,
                "request_id": change.request_id,
                "from": change.from,
                "to": change.to,
                "version": change.version,
                "reason": change.reason,
                "actor": change.actor,
                "changed_at": change.changed_at,
            }),
            Event::OrderStatusChangeRefused(refusal) => json!({
                "order_id": refusal.order_id,
                "order_number": refusal.order_number,
                "request_id": refusal.request_id,
                "from": refusal.from,
                "to": refusal.to,
                "expected_version": refusal.expected_version,
                "actor": refusal.actor,
                "code": refusal.code,
                "reason": refusal.reason,
                "current_status": refusal.current_status,
                "current_version": refusal.current_version,
            }),
            Event::PriceQuoted(quote) => json!({
                "order_id": quote.order_id,
                "order_number": quote.order_number,
                "amount_minor": quote.amount_minor,
                "currency": quote.currency,
            }),
            Event::FileStored(stored) => json!({
                "order_id": stored.order_id,
                "file_id": stored.file_id,
                "purpose": stored.purpose,
            }),
            Event::OrderCommentPosted(comment) => json!({
                "order_id": comment.order_id,
                "comment_id": comment.comment_id,
            }),
            Event::OrderAssigned(assigned) => json!({
                "order_id": assigned.order_id,
                "order_number": assigned.order_number,
                "assignee": assigned.assignee,
            }),
            // Staff hear of money at once: a Telegram payment, or one a colleague recorded.
            Event::PaymentReceived(paid) => json!({
                "order_id": paid.order_id,
                "order_number": paid.order_number,
                "payment_id": paid.payment_id,
                "amount_minor": paid.amount_minor,
                "currency": paid.currency,
                "method": paid.method,
            }),
            Event::PaymentRefunded(refunded) => json!({
                "order_id": refunded.order_id,
                "order_number": refunded.order_number,
                "refund_id": refunded.refund_id,
                "amount_minor": refunded.amount_minor,
                "currency": refunded.currency,
            }),
            Event::BookingChanged(changed) => json!({
                "order_id": changed.order_id,
                "booking_id": changed.booking_id,
                "change": changed.change,
                "service_code": changed.service_code,
                "starts_at": changed.starts_at,
                "ends_at": changed.ends_at,
                "previous_starts_at": changed.previous_starts_at,
            }),
            _ => return None,
        };
        Some(
            SseEvent::default()
                .event(envelope.event_type.clone())
                .id(envelope.event_id.to_string())
                .data(data.to_string()),
        )
    }))
}

/// How long an announcement waits for its row before it is sent anyway.
const RECORD_WAIT: Duration = Duration::from_secs(15);
/// How often the row is looked for meanwhile.
const RECORD_POLL: Duration = Duration::from_millis(100);

/// Sends `envelope` to every client: at once, or (a message, a comment, a payment or a
/// refund, with `records` set) once its row is recorded, by a task of its own so nothing
/// else waits behind it.
fn pass_on(
    fan_out: &broadcast::Sender<Arc<Envelope>>,
    records: Option<&MySqlPool>,
    stop: &CancellationToken,
    envelope: Envelope,
) {
    let row = match (&envelope.payload, records) {
        (Event::OrderMessagePosted(m), Some(_)) => Some(("order_messages", m.message_id)),
        (Event::OrderCommentPosted(c), Some(_)) => Some(("order_comments", c.comment_id)),
        (Event::PaymentReceived(p), Some(_)) => Some(("order_payments", p.payment_id)),
        (Event::PaymentRefunded(r), Some(_)) => Some(("order_payments", r.refund_id)),
        _ => None,
    };
    let (Some((table, id)), Some(pool)) = (row, records) else {
        // No client connected is not an error.
        let _ = fan_out.send(Arc::new(envelope));
        return;
    };
    let (fan_out, pool, stop) = (fan_out.clone(), pool.clone(), stop.clone());
    tokio::spawn(async move {
        let query = match table {
            "order_messages" => "SELECT 1 FROM order_messages WHERE id = ?",
            "order_payments" => "SELECT 1 FROM order_payments WHERE id = ?",
            _ => "SELECT 1 FROM order_comments WHERE id = ?",
        };
        let deadline = tokio::time::Instant::now() + RECORD_WAIT;
        while tokio::time::Instant::now() < deadline && !stop.is_cancelled() {
            let found = sqlx::query_scalar::<_, i32>(query)
                .bind(id)
                .fetch_optional(&pool)
                .await;
            if matches!(found, Ok(Some(_))) {
                break;
            }
            tokio::time::sleep(RECORD_POLL).await;
        }
        let _ = fan_out.send(Arc::new(envelope));
    });
}

/// The start of a text, for a feed line; the order page shows it whole.
fn preview(text: &str) -> String {
    const SHOWN: usize = 280;
    bureau_kit::text::clip(text, SHOWN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_are_cut_on_character_boundaries() {
        assert_eq!(preview("short"), "short");
        let long = "ї".repeat(300);
        let shown = preview(&long);
        assert_eq!(shown.chars().count(), 281);
        assert!(shown.ends_with('…'));
    }
}
