//! One function per event: the SQL that records it. Each runs inside the caller's
//! transaction and is safe to apply twice (ids are primary keys; inserts ignore repeats).
//! Text is cut to its column's size with `truncate` (sizes are in characters).

use bureau_event_bus::HandlerError;
use bureau_kit::text::{truncate, visible};
use bureau_scheduling::reminders;
use chrono::Utc;
use proto_events::{
    Actor, BookingChanged, CustomerRef, Envelope, Event, FileReceived, FileRejected, FileSource,
    FileStored, MAX_ITEM_QUANTITY, MAX_ORDER_ITEMS, Money, OrderAssigned, OrderCommentPosted,
    OrderCreated, OrderMessagePosted, OrderStatus, OrderStatusChangeRequested, PaymentReceived,
    PaymentRefunded, PriceQuoted, order_total,
};
use sqlx::{MySqlConnection, Row};
use uuid::Uuid;

/// Decides whether a database error is worth retrying. Data that cannot fit the schema is
/// permanent (the event goes to the dead-letter queue with the reason); a missing row that
/// a foreign key needs, or a lost connection, is transient.
pub fn classify(error: sqlx::Error) -> HandlerError {
    if let sqlx::Error::Database(db) = &error {
        let code = db.code().unwrap_or_default();
        // 22xxx: data exceptions (too long, out of range, bad value).
        if code.starts_with("22") {
            return HandlerError::permanent(format!("the event does not fit the schema: {db}"));
        }
    }
    HandlerError::transient(format!("database: {error}"))
}

/// Claims the event in the inbox and records it, unless it was recorded before. Status
/// change requests are not records (see `decisions`): asked to record one, it refuses.
pub async fn record(tx: &mut MySqlConnection, event: &Envelope) -> Result<(), HandlerError> {
    if !bureau_platform::inbox::claim(tx, crate::SERVICE.name(), event.event_id)
        .await
        .map_err(classify)?
    {
        tracing::debug!("already recorded; skipping a redelivery");
        return Ok(());
    }
    match &event.payload {
        Event::OrderCreated(created) => order_created(tx, event, created).await,
        Event::FileReceived(received) => file_received(tx, event, received).await,
        Event::FileStored(stored) => file_stored(tx, stored).await,
        Event::FileRejected(rejected) => file_rejected(tx, rejected).await,
        Event::OrderMessagePosted(posted) => message_posted(tx, event, posted).await,
        Event::PriceQuoted(quoted) => price_quoted(tx, event, quoted).await,
        Event::OrderCommentPosted(posted) => comment_posted(tx, event, posted).await,
        Event::OrderAssigned(assigned) => order_assigned(tx, event, assigned).await,
        Event::PaymentReceived(paid) => payment_received(tx, paid).await.map(|_| ()),
        Event::PaymentRefunded(refunded) => payment_refunded(tx, refunded).await,
        Event::BookingChanged(changed) => booking_changed(tx, event, changed).await,
        Event::OrderStatusChangeRequested(_)
        | Event::OrderStatusChanged(_)
        | Event::OrderStatusChangeRefused(_) => Err(HandlerError::permanent(format!(
            "{} is decided, not recorded",
            event.event_type
        ))),
    }
}

pub async fn order_created(
    tx: &mut MySqlConnection,
    event: &Envelope,
    created: &OrderCreated,
) -> Result<(), HandlerError> {
    let total = checked_total(created)?;
    let customer_id = customer_for(tx, &created.customer).await?;
    if !order_exists(tx, created.order_id).await? {
        insert_order(tx, created, customer_id).await?;
        insert_items(tx, created, total.as_ref()).await?;
        if total.is_some() {
            // A priced order is invoiced at once: reminded if still unpaid a day later.
            reminders::schedule_in(
                tx,
                reminders::Kind::InvoiceUnpaid,
                created.order_id,
                created.created_at + reminders::answer_wait(),
                None,
                Utc::now(),
            )
            .await
            .map_err(classify)?;
        }
    }
    sqlx::query(
        "INSERT IGNORE INTO order_status_history
             (order_id, version, from_status, to_status, actor_kind, event_id, changed_at)
         VALUES (?, 1, NULL, ?, 'customer', ?, ?)",
    )
    .bind(created.order_id)
    .bind(OrderStatus::AwaitingConfirmation.as_str())
    .bind(event.event_id)
    .bind(created.created_at)
    .execute(&mut *tx)
    .await
    .map_err(classify)?;
    tracing::info!(order_number = %created.order_number, "order recorded");
    Ok(())
}

/// The order's total as the items make it: an event whose declared total disagrees (or
/// whose items break the cart's bounds) is refused for good, never recorded with a total
/// nobody computed from the price list.
pub(crate) fn checked_total(created: &OrderCreated) -> Result<Option<Money>, HandlerError> {
    if created.items.len() > MAX_ORDER_ITEMS {
        return Err(HandlerError::permanent(format!(
            "{} items: at most {MAX_ORDER_ITEMS}",
            created.items.len()
        )));
    }
    if let Some(item) = created
        .items
        .iter()
        .find(|item| !(1..=MAX_ITEM_QUANTITY).contains(&item.quantity))
    {
        return Err(HandlerError::permanent(format!(
            "quantity {} of {}: 1..={MAX_ITEM_QUANTITY}",
            item.quantity, item.service_code
        )));
    }
    let computed = order_total(&created.items);
    if created.total != computed {
        return Err(HandlerError::permanent(format!(
            "declared total {:?} is not the items' total {computed:?}",
            created.total
        )));
    }
    Ok(computed)
}

/// The cart's lines and the frozen total, once, with the order.
async fn insert_items(
    tx: &mut MySqlConnection,
    created: &OrderCreated,
    total: Option<&Money>,
) -> Result<(), HandlerError> {
    for (position, item) in created.items.iter().enumerate() {
        sqlx::query(
            "INSERT IGNORE INTO order_items (order_id, position, service_code, quantity,
                                            unit_price_minor, currency, unit, line_total_minor)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(created.order_id)
        .bind(position as u16)
        .bind(truncate(&item.service_code, 100))
        .bind(item.quantity)
        .bind(item.unit_price_minor)
        .bind(&item.currency)
        .bind(&item.unit)
        .bind(item.line_total_minor())
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
    }
    if let Some(total) = total {
        sqlx::query("UPDATE orders SET total_minor = ?, total_currency = ? WHERE id = ?")
            .bind(total.amount_minor)
            .bind(&total.currency)
            .bind(created.order_id)
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
    }
    Ok(())
}

/// Inserts the order under its number. Numbers are unique by construction (a sequence
/// leased in blocks, see `bureau_platform::order_numbers`) and the UNIQUE key on
/// `(order_number, order_number_repeat)` proves it; should a number still arrive twice (a
/// draft started before the sequence existed, a database restored from an old backup),
/// the order is never lost for it: it is recorded as the number's next repeat, as the
/// migration did with the old duplicates, and the error is logged for an operator.
async fn insert_order(
    tx: &mut MySqlConnection,
    created: &OrderCreated,
    customer_id: Uuid,
) -> Result<(), HandlerError> {
    let mut repeat: u16 = 0;
    loop {
        let now = Utc::now();
        let inserted = sqlx::query(
            "INSERT INTO orders (id, order_number, order_number_repeat, customer_id, channel, service_code, body,
                                 status, status_version, expected_files, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
        )
        .bind(created.order_id)
        .bind(&created.order_number)
        .bind(repeat)
        .bind(customer_id)
        .bind(created.customer.channel().as_str())
        .bind(created.service_code.as_deref())
        .bind(&created.text)
        .bind(OrderStatus::AwaitingConfirmation.as_str())
        .bind(created.file_count)
        .bind(created.created_at)
        .bind(now)
        .execute(&mut *tx)
        .await;
        let error = match inserted {
            Ok(_) => return Ok(()),
            Err(error) => error,
        };
        let duplicate = matches!(&error, sqlx::Error::Database(db) if db.is_unique_violation());
        if !duplicate {
            return Err(classify(error));
        }
        if order_exists(tx, created.order_id).await? {
            // The same order, recorded meanwhile under another event id.
            return Ok(());
        }
        let next: Option<u16> = sqlx::query_scalar(
            "SELECT CAST(MAX(order_number_repeat) + 1 AS UNSIGNED) FROM orders WHERE order_number = ?",
        )
        .bind(&created.order_number)
        .fetch_one(&mut *tx)
        .await
        .map_err(classify)?;
        let next = next.unwrap_or(1);
        if next <= repeat {
            return Err(classify(error));
        }
        tracing::error!(
            order_number = %created.order_number,
            repeat = next,
            "this order number is already on another order; recording the order as a repeat of it"
        );
        repeat = next;
    }
}

/// Finds or creates the customer behind a channel identity, refreshing what the channel
/// tells us about them (name, chat, phone, language).
pub(crate) async fn customer_for(
    tx: &mut MySqlConnection,
    customer: &CustomerRef,
) -> Result<Uuid, HandlerError> {
    let now = Utc::now();
    match customer {
        CustomerRef::Telegram {
            user_id,
            chat_id,
            display_name,
            username,
            phone,
            language,
        } => {
            sqlx::query(
                "INSERT INTO customers (id, display_name, phone, language, telegram_user_id, telegram_chat_id,
                                        telegram_username, created_at, updated_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON DUPLICATE KEY UPDATE
                     -- A customer joined to a web account keeps the name and language of
                     -- their web profile (bureau_platform::identity).
                     display_name = IF(web_account_id IS NULL, VALUES(display_name), display_name),
                     phone = COALESCE(VALUES(phone), phone),
                     language = IF(web_account_id IS NULL, VALUES(language), language),
                     telegram_chat_id = VALUES(telegram_chat_id),
                     telegram_username = VALUES(telegram_username),
                     telegram_unreachable_at = NULL,
                     updated_at = VALUES(updated_at)",
            )
            .bind(Uuid::now_v7())
            .bind(truncate(display_name, 200))
            .bind(phone.as_deref().map(|p| truncate(p, 32)))
            .bind(language.as_deref().map(|l| truncate(l, 8)).unwrap_or("uk"))
            .bind(user_id)
            .bind(chat_id)
            .bind(username.as_deref().map(|u| truncate(u, 64)))
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
            let row = sqlx::query("SELECT id FROM customers WHERE telegram_user_id = ?")
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(classify)?;
            row.try_get::<Uuid, _>("id").map_err(classify)
        }
        CustomerRef::Web { account_id } => {
            let existing = sqlx::query("SELECT id FROM customers WHERE web_account_id = ?")
                .bind(account_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(classify)?;
            if let Some(row) = existing {
                return row.try_get::<Uuid, _>("id").map_err(classify);
            }
            // The web gateway creates the customer at registration; this covers accounts
            // made some other way (e.g. by an operator).
            let account = sqlx::query("SELECT display_name FROM web_accounts WHERE id = ?")
                .bind(account_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(classify)?
                .ok_or_else(|| HandlerError::permanent(format!("no web account {account_id}")))?;
            let name: String = account.try_get("display_name").map_err(classify)?;
            let id = Uuid::now_v7();
            sqlx::query(
                "INSERT INTO customers (id, display_name, web_account_id, created_at, updated_at)
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(id)
            .bind(name)
            .bind(account_id)
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
            Ok(id)
        }
    }
}

async fn order_exists(tx: &mut MySqlConnection, order_id: Uuid) -> Result<bool, HandlerError> {
    let row = sqlx::query("SELECT 1 FROM orders WHERE id = ?")
        .bind(order_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(classify)?;
    Ok(row.is_some())
}

pub async fn file_received(
    tx: &mut MySqlConnection,
    event: &Envelope,
    received: &FileReceived,
) -> Result<(), HandlerError> {
    if !order_exists(tx, received.order_id).await? {
        // Events of one order can arrive out of order after retries; wait for the order.
        return Err(HandlerError::transient(format!(
            "order {} is not recorded yet",
            received.order_id
        )));
    }
    let source = match received.source {
        FileSource::Telegram { .. } => "telegram",
        FileSource::WebUpload { .. } => "web",
    };
    sqlx::query(
        "INSERT IGNORE INTO order_files (id, order_id, purpose, original_name, note, source, declared_size,
                                         state, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'received', ?)",
    )
    .bind(received.file_id)
    .bind(received.order_id)
    .bind(received.purpose.as_str())
    // Every producer cleans names; an event from an older or foreign one is cleaned here, so
    // no name that lies (bidirectional or control characters) is ever shown or served.
    .bind(truncate(&visible(&received.original_name), 512))
    .bind(received.note.as_deref().map(|n| truncate(n, 16_000)))
    .bind(source)
    .bind(received.declared_size)
    .bind(event.occurred_at)
    .execute(&mut *tx)
    .await
    .map_err(classify)?;
    Ok(())
}

/// Settles a received file; waits (transiently) if its `FileReceived` is not recorded yet.
async fn settle_file(
    tx: &mut MySqlConnection,
    file_id: Uuid,
    query: sqlx::query::Query<'_, sqlx::MySql, sqlx::mysql::MySqlArguments>,
) -> Result<(), HandlerError> {
    let updated = query.execute(&mut *tx).await.map_err(classify)?;
    if updated.rows_affected() == 0 {
        let known = sqlx::query("SELECT 1 FROM order_files WHERE id = ?")
            .bind(file_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(classify)?;
        if known.is_none() {
            return Err(HandlerError::transient(format!(
                "file {file_id} is not recorded yet"
            )));
        }
    }
    Ok(())
}

pub async fn file_stored(
    tx: &mut MySqlConnection,
    stored: &FileStored,
) -> Result<(), HandlerError> {
    settle_file(tx, stored.file_id, settle_stored(stored)).await
}

/// The statement that marks a received file stored (no row changes if it is not there).
pub(crate) fn settle_stored(
    stored: &FileStored,
) -> sqlx::query::Query<'_, sqlx::MySql, sqlx::mysql::MySqlArguments> {
    sqlx::query(
        "UPDATE order_files SET state = 'stored', object_key = ?, size_bytes = ?, content_type = ?, sha256 = ?,
                                settled_at = ?
         WHERE id = ? AND order_id = ?",
    )
    .bind(&stored.object_key)
    .bind(stored.size)
    .bind(truncate(&stored.content_type, 255))
    .bind(&stored.sha256)
    .bind(Utc::now())
    .bind(stored.file_id)
    .bind(stored.order_id)
}

/// Records a refusal, unless the file is already recorded as stored: a stored file is at its
/// key whatever a racing delivery of its `FileReceived` concluded, so stored wins (and a
/// `FileStored` after a refusal replaces it).
pub async fn file_rejected(
    tx: &mut MySqlConnection,
    rejected: &FileRejected,
) -> Result<(), HandlerError> {
    let query = sqlx::query(
        "UPDATE order_files SET state = 'rejected', rejection_code = ?, rejection_reason = ?, settled_at = ?
         WHERE id = ? AND order_id = ? AND state <> 'stored'",
    )
    .bind(truncate(&rejected.code, 64))
    .bind(truncate(&rejected.reason, 1000))
    .bind(Utc::now())
    .bind(rejected.file_id)
    .bind(rejected.order_id);
    settle_file(tx, rejected.file_id, query).await
}

/// A message in an order's conversation. Its own id is the key, so a message published
/// twice (even under two event ids) is recorded once.
pub async fn message_posted(
    tx: &mut MySqlConnection,
    event: &Envelope,
    posted: &OrderMessagePosted,
) -> Result<(), HandlerError> {
    if !order_exists(tx, posted.order_id).await? {
        return Err(HandlerError::transient(format!(
            "order {} is not recorded yet",
            posted.order_id
        )));
    }
    let (author_kind, author_account) = actor_columns(&posted.author);
    sqlx::query(
        "INSERT IGNORE INTO order_messages (id, order_id, author_kind, author_account_id, body, event_id, posted_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(posted.message_id)
    .bind(posted.order_id)
    .bind(author_kind)
    .bind(author_account)
    .bind(truncate(&posted.text, 16_000))
    .bind(event.event_id)
    .bind(event.occurred_at)
    .execute(&mut *tx)
    .await
    .map_err(classify)?;
    Ok(())
}

pub async fn price_quoted(
    tx: &mut MySqlConnection,
    event: &Envelope,
    quoted: &PriceQuoted,
) -> Result<(), HandlerError> {
    if !order_exists(tx, quoted.order_id).await? {
        return Err(HandlerError::transient(format!(
            "order {} is not recorded yet",
            quoted.order_id
        )));
    }
    if quoted.currency.len() != 3 || !quoted.currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(HandlerError::permanent(format!(
            "`{}` is not an ISO 4217 currency code",
            quoted.currency
        )));
    }
    sqlx::query(
        "INSERT IGNORE INTO order_quotes (event_id, order_id, amount_minor, currency, note, valid_until, quoted_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(event.event_id)
    .bind(quoted.order_id)
    .bind(quoted.amount_minor)
    .bind(&quoted.currency)
    .bind(quoted.note.as_deref().map(|n| truncate(n, 1000)))
    .bind(quoted.valid_until)
    .bind(event.occurred_at)
    .execute(&mut *tx)
    .await
    .map_err(classify)?;
    // Reminded if not answered a day later (a new quote moves the reminder); no use once
    // the quote has expired.
    reminders::schedule_in(
        tx,
        reminders::Kind::QuoteUnanswered,
        quoted.order_id,
        event.occurred_at + reminders::answer_wait(),
        quoted.valid_until,
        Utc::now(),
    )
    .await
    .map_err(classify)?;
    Ok(())
}

/// An internal comment (staff only). Its own id is the key, like a message's.
pub async fn comment_posted(
    tx: &mut MySqlConnection,
    event: &Envelope,
    posted: &OrderCommentPosted,
) -> Result<(), HandlerError> {
    if !order_exists(tx, posted.order_id).await? {
        return Err(HandlerError::transient(format!(
            "order {} is not recorded yet",
            posted.order_id
        )));
    }
    sqlx::query(
        "INSERT IGNORE INTO order_comments (id, order_id, author_account_id, body, event_id, posted_at)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(posted.comment_id)
    .bind(posted.order_id)
    .bind(posted.author_account_id)
    .bind(truncate(&posted.text, 16_000))
    .bind(event.event_id)
    .bind(event.occurred_at)
    .execute(&mut *tx)
    .await
    .map_err(classify)?;
    Ok(())
}

/// An assignment: kept in the order's assignment history, and the latest one made (by
/// `assigned_at`, whatever order the events arrive in) is the order's assignee.
pub async fn order_assigned(
    tx: &mut MySqlConnection,
    event: &Envelope,
    assigned: &OrderAssigned,
) -> Result<(), HandlerError> {
    if !order_exists(tx, assigned.order_id).await? {
        return Err(HandlerError::transient(format!(
            "order {} is not recorded yet",
            assigned.order_id
        )));
    }
    sqlx::query(
        "INSERT IGNORE INTO order_assignments (event_id, order_id, assignee_id, actor_account_id, assigned_at)
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(event.event_id)
    .bind(assigned.order_id)
    .bind(assigned.assignee)
    .bind(assigned.actor_account_id)
    .bind(assigned.assigned_at)
    .execute(&mut *tx)
    .await
    .map_err(classify)?;
    sqlx::query(
        "UPDATE orders SET assignee_id = (
             SELECT assignee_id FROM order_assignments WHERE order_id = ?
             ORDER BY assigned_at DESC, event_id DESC LIMIT 1)
         WHERE id = ?",
    )
    .bind(assigned.order_id)
    .bind(assigned.order_id)
    .execute(&mut *tx)
    .await
    .map_err(classify)?;
    Ok(())
}

pub(crate) fn actor_columns(actor: &Actor) -> (&'static str, Option<Uuid>) {
    match actor {
        Actor::Staff { account_id } => ("staff", Some(*account_id)),
        Actor::Customer => ("customer", None),
        Actor::System => ("system", None),
    }
}

fn check_currency(currency: &str) -> Result<(), HandlerError> {
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(HandlerError::permanent(format!(
            "`{currency}` is not an ISO 4217 currency code"
        )));
    }
    Ok(())
}

/// Records a payment once: by its id, and a Telegram payment also by Telegram's charge id
/// (UNIQUE), so the same charge delivered again under any id is not counted twice. `true`
/// when this call recorded it. The order's `paid_at` follows.
pub async fn payment_received(
    tx: &mut MySqlConnection,
    paid: &PaymentReceived,
) -> Result<bool, HandlerError> {
    if !order_exists(tx, paid.order_id).await? {
        return Err(HandlerError::transient(format!(
            "order {} is not recorded yet",
            paid.order_id
        )));
    }
    check_currency(&paid.currency)?;
    if paid.amount_minor == 0 {
        return Err(HandlerError::permanent("a payment of nothing"));
    }
    let (actor_kind, actor_account) = actor_columns(&paid.actor);
    let inserted = sqlx::query(
        "INSERT IGNORE INTO order_payments (id, order_id, kind, method, amount_minor, currency,
                                            telegram_charge_id, provider_charge_id, actor_kind,
                                            actor_account_id, note, recorded_at)
         VALUES (?, ?, 'payment', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(paid.payment_id)
    .bind(paid.order_id)
    .bind(paid.method.as_str())
    .bind(paid.amount_minor)
    .bind(&paid.currency)
    .bind(
        paid.telegram_payment_charge_id
            .as_deref()
            .map(|id| truncate(id, 255)),
    )
    .bind(
        paid.provider_payment_charge_id
            .as_deref()
            .map(|id| truncate(id, 255)),
    )
    .bind(actor_kind)
    .bind(actor_account)
    .bind(paid.note.as_deref().map(|n| truncate(n, 1000)))
    .bind(paid.received_at)
    .execute(&mut *tx)
    .await
    .map_err(classify)?;
    let new = inserted.rows_affected() == 1;
    if new {
        if settle_paid(tx, paid.order_id).await? {
            reminders::call_off(tx, &[reminders::Kind::InvoiceUnpaid], paid.order_id, "paid")
                .await
                .map_err(classify)?;
        }
        tracing::info!(order_number = %paid.order_number, amount_minor = paid.amount_minor, method = paid.method.as_str(), "payment recorded");
    } else {
        tracing::info!(order_number = %paid.order_number, "payment recorded before; not counted again");
    }
    Ok(new)
}

/// Records what happened to a booking, once per event. No check that the order exists: a
/// bot customer books while the order is still a draft (its id is the draft's).
pub async fn booking_changed(
    tx: &mut MySqlConnection,
    event: &Envelope,
    changed: &BookingChanged,
) -> Result<(), HandlerError> {
    sqlx::query(
        "INSERT IGNORE INTO booking_history
             (event_id, booking_id, order_id, change_kind, resource_id, service_code,
              starts_at, ends_at, previous_starts_at, changed_by, changed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(event.event_id)
    .bind(changed.booking_id)
    .bind(changed.order_id)
    .bind(changed.change.as_str())
    .bind(changed.resource_id)
    .bind(truncate(&changed.service_code, 100))
    .bind(changed.starts_at)
    .bind(changed.ends_at)
    .bind(changed.previous_starts_at)
    .bind(truncate(&changed.by, 100))
    .bind(changed.changed_at)
    .execute(&mut *tx)
    .await
    .map_err(classify)?;
    Ok(())
}

/// Records a refund once (by its id); the order's `paid_at` follows.
pub async fn payment_refunded(
    tx: &mut MySqlConnection,
    refunded: &PaymentRefunded,
) -> Result<(), HandlerError> {
    if !order_exists(tx, refunded.order_id).await? {
        return Err(HandlerError::transient(format!(
            "order {} is not recorded yet",
            refunded.order_id
        )));
    }
    check_currency(&refunded.currency)?;
    let inserted = sqlx::query(
        "INSERT IGNORE INTO order_payments (id, order_id, kind, method, amount_minor, currency,
                                            actor_kind, actor_account_id, note, recorded_at)
         VALUES (?, ?, 'refund', NULL, ?, ?, 'staff', ?, ?, ?)",
    )
    .bind(refunded.refund_id)
    .bind(refunded.order_id)
    .bind(refunded.amount_minor)
    .bind(&refunded.currency)
    .bind(refunded.actor_account_id)
    .bind(truncate(&refunded.reason, 1000))
    .bind(refunded.refunded_at)
    .execute(&mut *tx)
    .await
    .map_err(classify)?;
    if inserted.rows_affected() == 1 {
        settle_paid(tx, refunded.order_id).await?;
    }
    Ok(())
}

/// `orders.paid_at`: set when payments less refunds cover what the order is due, cleared
/// when they no longer do.
/// `true` when the order is paid now.
async fn settle_paid(tx: &mut MySqlConnection, order_id: Uuid) -> Result<bool, HandlerError> {
    let due = bureau_platform::payments::due(tx, order_id, true)
        .await
        .map_err(classify)?;
    let paid = due.is_some_and(|due| due.is_paid());
    sqlx::query(
        "UPDATE orders SET paid_at = IF(?, COALESCE(paid_at, UTC_TIMESTAMP(6)), NULL) WHERE id = ?",
    )
    .bind(paid)
    .bind(order_id)
    .execute(&mut *tx)
    .await
    .map_err(classify)?;
    Ok(paid)
}

/// A paid order still awaiting confirmation moves on to `accepted`: a system request for
/// it, decided like any other (at the order's current version), with an id derived from the
/// payment. `None` when the payment does not cover the order or the order is past that.
pub async fn acceptance_on_payment(
    tx: &mut MySqlConnection,
    paid: &PaymentReceived,
) -> Result<Option<OrderStatusChangeRequested>, HandlerError> {
    let Some(due) = bureau_platform::payments::due(tx, paid.order_id, false)
        .await
        .map_err(classify)?
    else {
        return Ok(None);
    };
    if !due.is_paid() || due.status != OrderStatus::AwaitingConfirmation {
        return Ok(None);
    }
    let version: u32 = sqlx::query_scalar("SELECT status_version FROM orders WHERE id = ?")
        .bind(paid.order_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(classify)?;
    Ok(Some(OrderStatusChangeRequested {
        request_id: acceptance_request_id(paid.payment_id),
        order_id: paid.order_id,
        order_number: due.order_number,
        expected_version: version,
        from: OrderStatus::AwaitingConfirmation,
        to: OrderStatus::Accepted,
        reason: None,
        actor: Actor::System,
        quote_id: None,
        requested_at: Utc::now(),
    }))
}

/// The id of the acceptance a payment asks for: the same however often it is handled.
pub fn acceptance_request_id(payment_id: Uuid) -> Uuid {
    proto_events::envelope::deterministic_id(
        format!("{}/paid/{payment_id}", crate::SERVICE.name()).as_bytes(),
    )
}
