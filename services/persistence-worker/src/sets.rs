//! Set-based recording: a run of the common events — `OrderCreated` of an order without a
//! cart, `FileReceived`, `FileStored` — written with one statement per table instead of a
//! dozen round trips per event.
//!
//! Inside the batch's transaction: one read of which of the run's orders and files exist
//! already, then every event is judged in memory in the order it was delivered (an event
//! whose order or file is neither stored nor recorded earlier in the run waits, as
//! `records` makes it wait), then multi-row writes: the inbox claims of the events that are
//! recorded, the customers, the orders, their first history rows and the files (a file
//! stored in the same run as it was received is inserted already stored). The result is the
//! same as recording the events one by one with `records::record`. When a write fails or an
//! event turns out claimed before (a redelivery, or another replica), the caller rolls the
//! run back to its savepoint and records its events one by one, which gives each its own
//! outcome.

use std::collections::{HashMap, HashSet};

use bureau_event_bus::HandlerError;
use bureau_kit::text::{truncate, visible};
use chrono::{DateTime, Utc};
use proto_events::{
    CustomerRef, Envelope, Event, FileReceived, FileSource, FileStored, OrderCreated, OrderStatus,
};
use sqlx::{MySql, MySqlConnection, QueryBuilder, Row};
use uuid::Uuid;

use crate::records;

/// Why a run could not be recorded set-based; it is then recorded one event at a time.
#[derive(Debug, thiserror::Error)]
pub enum Fallback {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0} of the run's events were claimed before")]
    AlreadyClaimed(u64),
    #[error("a customer could not be found or made: {0}")]
    Customer(HandlerError),
}

/// Whether an event can be recorded set-based.
pub fn is_set_based(event: &Envelope) -> bool {
    match &event.payload {
        // An order with a cart also writes its lines, its total and a reminder.
        Event::OrderCreated(created) => created.items.is_empty() && created.total.is_none(),
        Event::FileReceived(_) | Event::FileStored(_) => true,
        _ => false,
    }
}

/// A file row to insert.
struct NewFile<'a> {
    received: &'a FileReceived,
    received_at: DateTime<Utc>,
    stored: Option<&'a FileStored>,
}

/// Records `events` (all [`is_set_based`]) inside `tx`; one outcome per event, in order.
pub async fn record(
    tx: &mut MySqlConnection,
    events: &[&Envelope],
) -> Result<Vec<Result<(), HandlerError>>, Fallback> {
    // What is stored already.
    let mut order_ids = HashSet::new();
    let mut file_ids = HashSet::new();
    for event in events {
        match &event.payload {
            Event::OrderCreated(created) => {
                order_ids.insert(created.order_id);
            }
            Event::FileReceived(received) => {
                order_ids.insert(received.order_id);
                file_ids.insert(received.file_id);
            }
            Event::FileStored(stored) => {
                file_ids.insert(stored.file_id);
            }
            _ => {}
        }
    }
    let mut known_orders: HashSet<Uuid> = HashSet::new();
    if !order_ids.is_empty() {
        let mut query = QueryBuilder::<MySql>::new("SELECT id FROM orders WHERE id IN ");
        query.push_tuples(order_ids.iter(), |mut row, id| {
            row.push_bind(*id);
        });
        for row in query.build().fetch_all(&mut *tx).await? {
            known_orders.insert(row.try_get("id")?);
        }
    }
    // Each known file's order: the files recorded before this run, then those received in it.
    let mut file_order: HashMap<Uuid, Uuid> = HashMap::new();
    if !file_ids.is_empty() {
        let mut query =
            QueryBuilder::<MySql>::new("SELECT id, order_id FROM order_files WHERE id IN ");
        query.push_tuples(file_ids.iter(), |mut row, id| {
            row.push_bind(*id);
        });
        for row in query.build().fetch_all(&mut *tx).await? {
            file_order.insert(row.try_get("id")?, row.try_get("order_id")?);
        }
    }

    // Each event judged in delivery order, against what is stored and what the events
    // before it in the run record.
    let mut outcomes: Vec<Result<(), HandlerError>> = Vec::with_capacity(events.len());
    let mut claims: Vec<Uuid> = Vec::with_capacity(events.len());
    let mut seen: HashSet<Uuid> = HashSet::with_capacity(events.len());
    let mut new_orders: Vec<&OrderCreated> = Vec::new();
    let mut created: Vec<(&Envelope, &OrderCreated)> = Vec::new();
    let mut new_files: Vec<NewFile> = Vec::new();
    let mut new_file_index: HashMap<Uuid, usize> = HashMap::new();
    let mut settle_stored: Vec<&FileStored> = Vec::new();
    for event in events {
        if !seen.insert(event.event_id) {
            // The same event twice in one run: the second finds the first's claim.
            outcomes.push(Ok(()));
            continue;
        }
        let outcome = match &event.payload {
            Event::OrderCreated(order) => match records::checked_total(order) {
                Err(error) => Err(error),
                Ok(_) => {
                    if known_orders.insert(order.order_id) {
                        new_orders.push(order);
                    }
                    created.push((event, order));
                    Ok(())
                }
            },
            Event::FileReceived(received) => {
                if !known_orders.contains(&received.order_id) {
                    Err(not_yet("order", received.order_id))
                } else {
                    if let std::collections::hash_map::Entry::Vacant(entry) =
                        file_order.entry(received.file_id)
                    {
                        entry.insert(received.order_id);
                        new_file_index.insert(received.file_id, new_files.len());
                        new_files.push(NewFile {
                            received,
                            received_at: event.occurred_at,
                            stored: None,
                        });
                    }
                    Ok(())
                }
            }
            Event::FileStored(stored) => match file_order.get(&stored.file_id) {
                None => Err(not_yet("file", stored.file_id)),
                // A file of another order: nothing to settle (as the UPDATE finds no row).
                Some(order_id) if *order_id != stored.order_id => Ok(()),
                Some(_) => {
                    match new_file_index.get(&stored.file_id) {
                        Some(&index) => new_files[index].stored = Some(stored),
                        None => settle_stored.push(stored),
                    }
                    Ok(())
                }
            },
            _ => Err(HandlerError::permanent(format!(
                "{} is not recorded set-based",
                event.event_type
            ))),
        };
        if outcome.is_ok() {
            claims.push(event.event_id);
        }
        outcomes.push(outcome);
    }

    // The inbox first: a claim found means a redelivery, and the run is recorded event by
    // event, where each claim is looked at alone.
    if !claims.is_empty() {
        let now = Utc::now();
        let mut query = QueryBuilder::<MySql>::new(
            "INSERT IGNORE INTO processed_events (consumer, event_id, processed_at) ",
        );
        query.push_values(claims.iter(), |mut row, id| {
            row.push_bind(crate::SERVICE.name())
                .push_bind(*id)
                .push_bind(now);
        });
        let claimed = query.build().execute(&mut *tx).await?.rows_affected();
        let wanted = claims.len() as u64;
        if claimed != wanted {
            return Err(Fallback::AlreadyClaimed(wanted - claimed));
        }
    }

    let customers = customers_for(tx, &created).await?;

    if !new_orders.is_empty() {
        let now = Utc::now();
        let mut query = QueryBuilder::<MySql>::new(
            "INSERT INTO orders (id, order_number, order_number_repeat, customer_id, channel, service_code, body,
                                 status, status_version, expected_files, created_at, updated_at) ",
        );
        query.push_values(new_orders.iter(), |mut row, order| {
            row.push_bind(order.order_id)
                .push_bind(order.order_number.as_str())
                .push_bind(0u16)
                .push_bind(customers.get(&customer_key(&order.customer)).copied())
                .push_bind(order.customer.channel().as_str())
                .push_bind(order.service_code.as_deref())
                .push_bind(order.text.as_str())
                .push_bind(OrderStatus::AwaitingConfirmation.as_str())
                .push_bind(1u32)
                .push_bind(order.file_count)
                .push_bind(order.created_at)
                .push_bind(now);
        });
        // A number already taken fails the statement: the run is recorded event by event,
        // where the order gets the number's next repeat.
        query.build().execute(&mut *tx).await?;
        for order in &new_orders {
            tracing::info!(order_number = %order.order_number, order_id = %order.order_id, "order recorded");
        }
    }
    if !created.is_empty() {
        let mut query = QueryBuilder::<MySql>::new(
            "INSERT IGNORE INTO order_status_history
                 (order_id, version, from_status, to_status, actor_kind, event_id, changed_at) ",
        );
        query.push_values(created.iter(), |mut row, (event, order)| {
            row.push_bind(order.order_id)
                .push_bind(1u32)
                .push_bind(None::<&str>)
                .push_bind(OrderStatus::AwaitingConfirmation.as_str())
                .push_bind("customer")
                .push_bind(event.event_id)
                .push_bind(order.created_at);
        });
        query.build().execute(&mut *tx).await?;
    }
    if !new_files.is_empty() {
        let now = Utc::now();
        let mut query = QueryBuilder::<MySql>::new(
            "INSERT IGNORE INTO order_files (id, order_id, purpose, original_name, note, source, declared_size,
                                             state, object_key, size_bytes, content_type, sha256,
                                             received_at, settled_at) ",
        );
        query.push_values(new_files.iter(), |mut row, file| {
            let received = file.received;
            let source = match received.source {
                FileSource::Telegram { .. } => "telegram",
                FileSource::WebUpload { .. } => "web",
            };
            row.push_bind(received.file_id)
                .push_bind(received.order_id)
                .push_bind(received.purpose.as_str())
                // Cleaned as `records::file_received` cleans it.
                .push_bind(truncate(&visible(&received.original_name), 512).to_owned())
                .push_bind(received.note.as_deref().map(|n| truncate(n, 16_000)))
                .push_bind(source)
                .push_bind(received.declared_size);
            match file.stored {
                None => {
                    row.push_bind("received")
                        .push_bind(None::<&str>)
                        .push_bind(None::<u64>)
                        .push_bind(None::<&str>)
                        .push_bind(None::<&str>)
                        .push_bind(file.received_at)
                        .push_bind(None::<DateTime<Utc>>);
                }
                Some(stored) => {
                    row.push_bind("stored")
                        .push_bind(stored.object_key.as_str())
                        .push_bind(Some(stored.size))
                        .push_bind(truncate(&stored.content_type, 255))
                        .push_bind(stored.sha256.as_str())
                        .push_bind(file.received_at)
                        .push_bind(Some(now));
                }
            }
        });
        query.build().execute(&mut *tx).await?;
    }
    // Files received before this run and stored in it: rare under load (a batch that ends
    // between an order's `FileReceived` and its `FileStored`), one statement each.
    for stored in settle_stored {
        records::settle_stored(stored).execute(&mut *tx).await?;
    }
    Ok(outcomes)
}

fn not_yet(what: &str, id: Uuid) -> HandlerError {
    HandlerError::transient(format!("{what} {id} is not recorded yet"))
}

/// How a customer is known in a run: by Telegram user, or by web account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum CustomerKey {
    Telegram(i64),
    Web(Uuid),
}

fn customer_key(customer: &CustomerRef) -> CustomerKey {
    match customer {
        CustomerRef::Telegram { user_id, .. } => CustomerKey::Telegram(*user_id),
        CustomerRef::Web { account_id } => CustomerKey::Web(*account_id),
    }
}

/// The customers behind the run's orders, made or refreshed as `records::customer_for`
/// does for one: Telegram customers in one upsert (what each tells us, in delivery order,
/// merged per user first) of those the orders tell something new about — so a returning
/// customer's `updated_at` is the last change of what we know of them, not their last
/// order —, web customers in one read (a web account without a customer,
/// rare, gets one as `records` makes it).
async fn customers_for(
    tx: &mut MySqlConnection,
    created: &[(&Envelope, &OrderCreated)],
) -> Result<HashMap<CustomerKey, Uuid>, Fallback> {
    let mut ids = HashMap::new();
    // Per Telegram user, what the upsert would leave after each order in turn.
    struct Telegram<'a> {
        user_id: i64,
        chat_id: i64,
        display_name: &'a str,
        phone: Option<&'a str>,
        language: Option<&'a str>,
        username: Option<&'a str>,
    }
    let mut telegram: HashMap<i64, Telegram> = HashMap::new();
    let mut web: Vec<&CustomerRef> = Vec::new();
    for (_, order) in created {
        match &order.customer {
            CustomerRef::Telegram {
                user_id,
                chat_id,
                display_name,
                username,
                phone,
                language,
            } => {
                let earlier_phone = telegram.get(user_id).and_then(|t| t.phone);
                telegram.insert(
                    *user_id,
                    Telegram {
                        user_id: *user_id,
                        chat_id: *chat_id,
                        display_name,
                        // `COALESCE(VALUES(phone), phone)`: a phone once told is kept.
                        phone: phone.as_deref().or(earlier_phone),
                        language: language.as_deref(),
                        username: username.as_deref(),
                    },
                );
            }
            CustomerRef::Web { .. } => web.push(&order.customer),
        }
    }
    if !telegram.is_empty() {
        let mut users: Vec<Telegram> = telegram.into_values().collect();
        // One order of locks for every transaction: concurrent runs do not deadlock here.
        users.sort_by_key(|user| user.user_id);
        // What is stored for them: a customer the orders tell nothing new about is not
        // written at all (no row lock held to the commit, no search trigger run).
        let mut query = QueryBuilder::<MySql>::new(
            "SELECT id, telegram_user_id, display_name, phone, language, telegram_chat_id, telegram_username,
                    CAST(web_account_id IS NULL AS SIGNED) AS own_profile,
                    CAST(telegram_unreachable_at IS NULL AS SIGNED) AS reachable
             FROM customers WHERE telegram_user_id IN ",
        );
        query.push_tuples(users.iter(), |mut row, user| {
            row.push_bind(user.user_id);
        });
        let mut unchanged: HashSet<i64> = HashSet::new();
        for row in query.build().fetch_all(&mut *tx).await? {
            let user_id: i64 = row.try_get("telegram_user_id")?;
            let Some(user) = users.iter().find(|u| u.user_id == user_id) else {
                continue;
            };
            let own_profile = row.try_get::<i64, _>("own_profile")? == 1;
            let same = row.try_get::<i64, _>("reachable")? == 1
                && row.try_get::<i64, _>("telegram_chat_id")? == user.chat_id
                && row
                    .try_get::<Option<String>, _>("telegram_username")?
                    .as_deref()
                    == user.username.map(|u| truncate(u, 64))
                && user.phone.is_none_or(|phone| {
                    row.try_get::<Option<String>, _>("phone")
                        .is_ok_and(|stored| stored.as_deref() == Some(truncate(phone, 32)))
                })
                && (!own_profile
                    || (row.try_get::<String, _>("display_name")?
                        == truncate(user.display_name, 200)
                        && row.try_get::<String, _>("language")?
                            == user.language.map(|l| truncate(l, 8)).unwrap_or("uk")));
            if same {
                unchanged.insert(user_id);
                ids.insert(CustomerKey::Telegram(user_id), row.try_get("id")?);
            }
        }
        users.retain(|user| !unchanged.contains(&user.user_id));
        if !users.is_empty() {
            let now = Utc::now();
            let mut query = QueryBuilder::<MySql>::new(
                "INSERT INTO customers (id, display_name, phone, language, telegram_user_id, telegram_chat_id,
                                        telegram_username, created_at, updated_at) ",
            );
            query.push_values(users.iter(), |mut row, user| {
                row.push_bind(Uuid::now_v7())
                    .push_bind(truncate(user.display_name, 200))
                    .push_bind(user.phone.map(|p| truncate(p, 32)))
                    .push_bind(user.language.map(|l| truncate(l, 8)).unwrap_or("uk"))
                    .push_bind(user.user_id)
                    .push_bind(user.chat_id)
                    .push_bind(user.username.map(|u| truncate(u, 64)))
                    .push_bind(now)
                    .push_bind(now);
            });
            // The same refresh as `records::customer_for`.
            query.push(
                " ON DUPLICATE KEY UPDATE
                     display_name = IF(web_account_id IS NULL, VALUES(display_name), display_name),
                     phone = COALESCE(VALUES(phone), phone),
                     language = IF(web_account_id IS NULL, VALUES(language), language),
                     telegram_chat_id = VALUES(telegram_chat_id),
                     telegram_username = VALUES(telegram_username),
                     telegram_unreachable_at = NULL,
                     updated_at = VALUES(updated_at)",
            );
            query.build().execute(&mut *tx).await?;
            let mut query = QueryBuilder::<MySql>::new(
                "SELECT id, telegram_user_id FROM customers WHERE telegram_user_id IN ",
            );
            query.push_tuples(users.iter(), |mut row, user| {
                row.push_bind(user.user_id);
            });
            for row in query.build().fetch_all(&mut *tx).await? {
                let user_id: i64 = row.try_get("telegram_user_id")?;
                ids.insert(CustomerKey::Telegram(user_id), row.try_get("id")?);
            }
        }
    }
    if !web.is_empty() {
        let mut query = QueryBuilder::<MySql>::new(
            "SELECT id, web_account_id FROM customers WHERE web_account_id IN ",
        );
        query.push_tuples(web.iter(), |mut row, customer| {
            if let CustomerRef::Web { account_id } = customer {
                row.push_bind(*account_id);
            }
        });
        for row in query.build().fetch_all(&mut *tx).await? {
            ids.insert(
                CustomerKey::Web(row.try_get("web_account_id")?),
                row.try_get("id")?,
            );
        }
        for customer in web {
            let key = customer_key(customer);
            if let std::collections::hash_map::Entry::Vacant(entry) = ids.entry(key) {
                let id = records::customer_for(tx, customer)
                    .await
                    .map_err(Fallback::Customer)?;
                entry.insert(id);
            }
        }
    }
    Ok(ids)
}
