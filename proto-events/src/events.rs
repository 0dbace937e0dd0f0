//! Typed event payloads, their routing keys and schema versions: the event catalogue in code.
//!
//! `docs/events.md` describes each one for people; keep the two in step. File bytes never
//! appear here, only references to where the bytes are (a Telegram file id, an upload key).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::status::OrderStatus;

/// Every event type, as a routing key with a schema version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    OrderCreated,
    FileReceived,
    FileStored,
    FileRejected,
    OrderStatusChangeRequested,
    OrderStatusChanged,
    OrderStatusChangeRefused,
    OrderMessagePosted,
    PriceQuoted,
    OrderCommentPosted,
    OrderAssigned,
    PaymentReceived,
    PaymentRefunded,
    BookingChanged,
}

impl EventKind {
    pub const ALL: [EventKind; 14] = [
        EventKind::OrderCreated,
        EventKind::FileReceived,
        EventKind::FileStored,
        EventKind::FileRejected,
        EventKind::OrderStatusChangeRequested,
        EventKind::OrderStatusChanged,
        EventKind::OrderStatusChangeRefused,
        EventKind::OrderMessagePosted,
        EventKind::PriceQuoted,
        EventKind::OrderCommentPosted,
        EventKind::OrderAssigned,
        EventKind::PaymentReceived,
        EventKind::PaymentRefunded,
        EventKind::BookingChanged,
    ];

    pub fn routing_key(self) -> &'static str {
        match self {
            EventKind::OrderCreated => "order.created",
            EventKind::FileReceived => "order.file.received",
            EventKind::FileStored => "order.file.stored",
            EventKind::FileRejected => "order.file.rejected",
            EventKind::OrderStatusChangeRequested => "order.status.change_requested",
            EventKind::OrderStatusChanged => "order.status.changed",
            EventKind::OrderStatusChangeRefused => "order.status.change_refused",
            EventKind::OrderMessagePosted => "order.message.posted",
            EventKind::PriceQuoted => "order.price.quoted",
            EventKind::OrderCommentPosted => "order.comment.posted",
            EventKind::OrderAssigned => "order.assigned",
            EventKind::PaymentReceived => "order.payment.received",
            EventKind::PaymentRefunded => "order.payment.refunded",
            EventKind::BookingChanged => "order.booking.changed",
        }
    }

    pub fn schema_version(self) -> u16 {
        1
    }

    pub fn from_routing_key(key: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.routing_key() == key)
    }
}

/// One event payload. Serialized untagged: the envelope's `event_type` names the variant.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Event {
    OrderCreated(OrderCreated),
    FileReceived(FileReceived),
    FileStored(FileStored),
    FileRejected(FileRejected),
    OrderStatusChangeRequested(OrderStatusChangeRequested),
    OrderStatusChanged(OrderStatusChanged),
    OrderStatusChangeRefused(OrderStatusChangeRefused),
    OrderMessagePosted(OrderMessagePosted),
    PriceQuoted(PriceQuoted),
    OrderCommentPosted(OrderCommentPosted),
    OrderAssigned(OrderAssigned),
    PaymentReceived(PaymentReceived),
    PaymentRefunded(PaymentRefunded),
    BookingChanged(BookingChanged),
}

impl Event {
    pub fn kind(&self) -> EventKind {
        match self {
            Event::OrderCreated(_) => EventKind::OrderCreated,
            Event::FileReceived(_) => EventKind::FileReceived,
            Event::FileStored(_) => EventKind::FileStored,
            Event::FileRejected(_) => EventKind::FileRejected,
            Event::OrderStatusChangeRequested(_) => EventKind::OrderStatusChangeRequested,
            Event::OrderStatusChanged(_) => EventKind::OrderStatusChanged,
            Event::OrderStatusChangeRefused(_) => EventKind::OrderStatusChangeRefused,
            Event::OrderMessagePosted(_) => EventKind::OrderMessagePosted,
            Event::PriceQuoted(_) => EventKind::PriceQuoted,
            Event::OrderCommentPosted(_) => EventKind::OrderCommentPosted,
            Event::OrderAssigned(_) => EventKind::OrderAssigned,
            Event::PaymentReceived(_) => EventKind::PaymentReceived,
            Event::PaymentRefunded(_) => EventKind::PaymentRefunded,
            Event::BookingChanged(_) => EventKind::BookingChanged,
        }
    }

    pub fn from_value(kind: EventKind, value: serde_json::Value) -> serde_json::Result<Event> {
        Ok(match kind {
            EventKind::OrderCreated => Event::OrderCreated(serde_json::from_value(value)?),
            EventKind::FileReceived => Event::FileReceived(serde_json::from_value(value)?),
            EventKind::FileStored => Event::FileStored(serde_json::from_value(value)?),
            EventKind::FileRejected => Event::FileRejected(serde_json::from_value(value)?),
            EventKind::OrderStatusChangeRequested => {
                Event::OrderStatusChangeRequested(serde_json::from_value(value)?)
            }
            EventKind::OrderStatusChanged => {
                Event::OrderStatusChanged(serde_json::from_value(value)?)
            }
            EventKind::OrderStatusChangeRefused => {
                Event::OrderStatusChangeRefused(serde_json::from_value(value)?)
            }
            EventKind::OrderMessagePosted => {
                Event::OrderMessagePosted(serde_json::from_value(value)?)
            }
            EventKind::PriceQuoted => Event::PriceQuoted(serde_json::from_value(value)?),
            EventKind::OrderCommentPosted => {
                Event::OrderCommentPosted(serde_json::from_value(value)?)
            }
            EventKind::OrderAssigned => Event::OrderAssigned(serde_json::from_value(value)?),
            EventKind::PaymentReceived => Event::PaymentReceived(serde_json::from_value(value)?),
            EventKind::PaymentRefunded => Event::PaymentRefunded(serde_json::from_value(value)?),
            EventKind::BookingChanged => Event::BookingChanged(serde_json::from_value(value)?),
        })
    }

    /// The order this event is about: every event today is about one order.
    pub fn order_id(&self) -> Uuid {
        match self {
            Event::OrderCreated(e) => e.order_id,
            Event::FileReceived(e) => e.order_id,
            Event::FileStored(e) => e.order_id,
            Event::FileRejected(e) => e.order_id,
            Event::OrderStatusChangeRequested(e) => e.order_id,
            Event::OrderStatusChanged(e) => e.order_id,
            Event::OrderStatusChangeRefused(e) => e.order_id,
            Event::OrderMessagePosted(e) => e.order_id,
            Event::PriceQuoted(e) => e.order_id,
            Event::OrderCommentPosted(e) => e.order_id,
            Event::OrderAssigned(e) => e.order_id,
            Event::PaymentReceived(e) => e.order_id,
            Event::PaymentRefunded(e) => e.order_id,
            Event::BookingChanged(e) => e.order_id,
        }
    }
}

macro_rules! into_event {
    ($($name:ident),*) => {$(
        impl From<$name> for Event {
            fn from(payload: $name) -> Event { Event::$name(payload) }
        }
    )*};
}
into_event!(
    OrderCreated,
    FileReceived,
    FileStored,
    FileRejected,
    OrderStatusChangeRequested,
    OrderStatusChanged,
    OrderStatusChangeRefused,
    OrderMessagePosted,
    PriceQuoted,
    OrderCommentPosted,
    OrderAssigned,
    PaymentReceived,
    PaymentRefunded,
    BookingChanged
);

/// How a payment was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    /// Telegram Payments: the customer paid an invoice in the bot.
    Telegram,
    /// Recorded by staff: a bank transfer.
    BankTransfer,
    /// Recorded by staff: cash at the desk.
    Cash,
    /// Recorded by staff: any other way (the note says which).
    Other,
}

impl PaymentMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Telegram => "telegram",
            PaymentMethod::BankTransfer => "bank_transfer",
            PaymentMethod::Cash => "cash",
            PaymentMethod::Other => "other",
        }
    }

    pub fn parse(name: &str) -> Option<PaymentMethod> {
        [
            PaymentMethod::Telegram,
            PaymentMethod::BankTransfer,
            PaymentMethod::Cash,
            PaymentMethod::Other,
        ]
        .into_iter()
        .find(|method| method.as_str() == name)
    }
}

/// Money for an order was received: a Telegram payment (published by the bot gateway on
/// `successful_payment`) or one staff recorded (bank transfer, cash). Recorded once by
/// `payment_id`, and for Telegram also by the charge id, however often it is delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentReceived {
    /// Derived from Telegram's charge id for Telegram payments, so a second delivery of
    /// the same `successful_payment` is the same payment.
    pub payment_id: Uuid,
    pub order_id: Uuid,
    pub order_number: String,
    /// In the currency's minor unit.
    pub amount_minor: u64,
    pub currency: String,
    pub method: PaymentMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telegram_payment_charge_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_payment_charge_id: Option<String>,
    /// The customer (Telegram) or the staff member who recorded it.
    pub actor: Actor,
    #[serde(default)]
    pub note: Option<String>,
    pub received_at: DateTime<Utc>,
}

/// Money was given back to the customer (staff record it; the refund itself is made with
/// the payment provider or the bank).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRefunded {
    pub refund_id: Uuid,
    pub order_id: Uuid,
    pub order_number: String,
    pub amount_minor: u64,
    pub currency: String,
    pub reason: String,
    pub actor_account_id: Uuid,
    pub refunded_at: DateTime<Utc>,
}

/// What happened to a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingChange {
    /// The slot was taken for the order.
    Booked,
    /// The booking moved to another slot; the old one (`previous_starts_at`) is free.
    Rescheduled,
    /// The booking was cancelled; its slot is free.
    Cancelled,
}

impl BookingChange {
    pub fn as_str(self) -> &'static str {
        match self {
            BookingChange::Booked => "booked",
            BookingChange::Rescheduled => "rescheduled",
            BookingChange::Cancelled => "cancelled",
        }
    }
}

/// A time slot was booked, moved or cancelled: by a customer (the bot's calendar, the web),
/// by staff (the back office's calendar, for a customer who phoned), or by the system (a
/// web hold never placed, expired). The change and this event are written in one MySQL
/// transaction (`bureau_scheduling::store`: the resource's row lock, the one-live-booking-
/// per-slot key, and the event into the outbox), and the outbox relay publishes it after
/// the commit: the booking is a fact before the event is on the bus, and the event is never
/// lost once the booking is. The persistence worker records it in `booking_history` once per
/// `event_id`; staff see it in the live feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingChanged {
    pub booking_id: Uuid,
    /// The order the time is for: a bot draft's id (which becomes the order's), the web
    /// order it joined or the id reserved for it. A booking staff made for a customer who
    /// phoned has no order: then the booking's own id, and `customer_id` names the customer.
    pub order_id: Uuid,
    /// The customer a booking without an order is for (staff's phoned-in bookings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<Uuid>,
    pub change: BookingChange,
    /// The bookable resource (a staff member or a room): `booking_resources.id`.
    pub resource_id: u32,
    pub service_code: String,
    /// The slot as it is after the change (for a cancellation: the slot that was freed).
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// A move's old start, free again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_starts_at: Option<DateTime<Utc>>,
    /// Who: `telegram:{user id}`, `web:{account id}`, `staff:{account id}`, or
    /// `system:hold_expired` (a web hold whose order was never sent).
    pub by: String,
    pub changed_at: DateTime<Utc>,
}

/// Through which channel a customer reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Telegram,
    Web,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Telegram => "telegram",
            Channel::Web => "web",
        }
    }
}

/// Who the customer is, in the terms of the channel they used. A Telegram id and a web
/// account id are different things and never share a field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "channel", rename_all = "snake_case")]
pub enum CustomerRef {
    Telegram {
        user_id: i64,
        chat_id: i64,
        display_name: String,
        #[serde(default)]
        username: Option<String>,
        #[serde(default)]
        phone: Option<String>,
        /// IETF tag of the language the customer chose, e.g. `uk` or `en`.
        #[serde(default)]
        language: Option<String>,
    },
    Web {
        account_id: Uuid,
    },
}

impl CustomerRef {
    pub fn channel(&self) -> Channel {
        match self {
            CustomerRef::Telegram { .. } => Channel::Telegram,
            CustomerRef::Web { .. } => Channel::Web,
        }
    }
}

/// A customer placed an order. The gateway told the customer `order_number` only after the
/// broker confirmed this event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderCreated {
    pub order_id: Uuid,
    /// What customers quote: digits only, assigned by the gateway (see `order_number`).
    pub order_number: String,
    pub customer: CustomerRef,
    /// The catalogue service chosen, if any ("other" orders have none).
    #[serde(default)]
    pub service_code: Option<String>,
    pub text: String,
    /// How many `FileReceived` events follow for this order.
    pub file_count: u32,
    pub created_at: DateTime<Utc>,
    /// The cart: each service with its quantity and the unit price frozen at confirmation.
    /// Empty for orders of one service placed before carts existed, and for "other"
    /// orders (then `service_code` alone names the service, if any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<OrderItem>,
    /// The order's price, frozen at confirmation: [`order_total`] of `items`, present only
    /// when every item has a price in one currency; absent, the order is priced by a quote.
    /// The persistence worker recomputes it from `items` and refuses an event that
    /// disagrees, so no total is ever taken on trust.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<Money>,
}

/// One line of an order: a catalogue service, how many, and its price when confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItem {
    pub service_code: String,
    /// 1..=[`MAX_ITEM_QUANTITY`].
    pub quantity: u32,
    /// The price of one unit in the currency's minor unit; `None`: on quote.
    #[serde(default)]
    pub unit_price_minor: Option<u64>,
    /// ISO 4217, e.g. `UAH`.
    pub currency: String,
    /// What one unit is: `item`, `page`, `word` or `hour`.
    pub unit: String,
}

/// The most of one service an order may hold: bounds totals (and typos such as 1000000).
pub const MAX_ITEM_QUANTITY: u32 = 999;

/// The most lines one order may hold.
pub const MAX_ORDER_ITEMS: usize = 20;

/// An amount in a currency's minor unit (kopiykas, cents): never a float.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub amount_minor: u64,
    /// ISO 4217, e.g. `UAH`.
    pub currency: String,
}

impl OrderItem {
    /// The line's price: unit price × quantity; `None` on quote (or past `u64`).
    pub fn line_total_minor(&self) -> Option<u64> {
        self.unit_price_minor?.checked_mul(u64::from(self.quantity))
    }
}

/// The total of `items`: `Some` only when there is at least one item, every item has a
/// price, all in one currency, and the sum fits; otherwise the order is priced by a quote.
/// The one definition of a total: gateways freeze it, the persistence worker checks it.
pub fn order_total(items: &[OrderItem]) -> Option<Money> {
    let currency = &items.first()?.currency;
    let mut sum: u64 = 0;
    for item in items {
        if &item.currency != currency {
            return None;
        }
        sum = sum.checked_add(item.line_total_minor()?)?;
    }
    Some(Money {
        amount_minor: sum,
        currency: currency.clone(),
    })
}

/// Where a received file's bytes are now. The storage worker fetches them from there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FileSource {
    /// In Telegram: fetched with `getFile` and the Bot API file path.
    Telegram {
        telegram_file_id: String,
        telegram_file_unique_id: String,
    },
    /// Streamed by the web gateway into the object store under `staging_key`.
    WebUpload {
        staging_key: String,
        /// What the gateway measured on the bytes it streamed into staging. With it the
        /// storage worker checks the staged object's size and copies it to its final key
        /// inside the store instead of reading it back; absent (events from before the
        /// field existed) it reads and measures the bytes itself.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        measured: Option<Measured>,
    },
}

/// Size, SHA-256 and sniffed content type of a file's bytes, as measured by the service that
/// streamed them (the same rules as `FileStored`'s fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measured {
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
    /// Sniffed from the first bytes, not taken from the name.
    pub content_type: String,
}

/// Whose file it is: what the customer sent, or a result staff made for the customer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilePurpose {
    #[default]
    CustomerUpload,
    Result,
}

impl FilePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            FilePurpose::CustomerUpload => "customer_upload",
            FilePurpose::Result => "result",
        }
    }
}

/// A file arrived with an order and waits to be stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileReceived {
    pub order_id: Uuid,
    pub file_id: Uuid,
    /// Absent on the wire means a customer upload (the field was added later).
    #[serde(default)]
    pub purpose: FilePurpose,
    pub source: FileSource,
    /// The name as the customer sent it, for display only; never used as a path.
    pub original_name: String,
    #[serde(default)]
    pub declared_size: Option<u64>,
    #[serde(default)]
    pub declared_content_type: Option<String>,
    /// The customer's caption or note for this file.
    #[serde(default)]
    pub note: Option<String>,
}

/// A file is in the object store, verified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileStored {
    pub order_id: Uuid,
    pub file_id: Uuid,
    #[serde(default)]
    pub purpose: FilePurpose,
    pub object_key: String,
    pub size: u64,
    pub sha256: String,
    /// Sniffed from the bytes, not taken from the name.
    pub content_type: String,
    pub original_name: String,
}

/// Why a file was not stored, in words a customer can read, plus a stable code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRejected {
    pub order_id: Uuid,
    pub file_id: Uuid,
    pub original_name: String,
    pub code: String,
    pub reason: String,
}

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    Staff { account_id: Uuid },
    Customer,
    System,
}

/// Someone asks to move an order in the state machine: staff in the back office, a
/// customer cancelling or answering a price quote. Only a request: the persistence worker,
/// the one writer of orders, decides it once (a compare-and-set on `expected_version`,
/// then the state machine with the actor's rules) and publishes the outcome,
/// [`OrderStatusChanged`] or [`OrderStatusChangeRefused`], both carrying `request_id`.
/// Nothing is announced to anyone on the strength of a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderStatusChangeRequested {
    /// Unique per request; a request published twice (a retry) keeps its id, and the
    /// outcome's event id derives from it.
    pub request_id: Uuid,
    pub order_id: Uuid,
    /// For logs and messages, without a lookup.
    pub order_number: String,
    /// The order's status version the requester saw: the change is made only if the order
    /// is still at this version.
    pub expected_version: u32,
    /// The status the requester saw at that version.
    pub from: OrderStatus,
    pub to: OrderStatus,
    #[serde(default)]
    pub reason: Option<String>,
    pub actor: Actor,
    /// A customer's answer to a price quote names the quote (the `PriceQuoted` event id)
    /// it answers; it is refused if a newer quote was made since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote_id: Option<Uuid>,
    pub requested_at: DateTime<Utc>,
}

/// An order moved in the state machine: a request was decided and recorded. `version` is
/// the order's status version after the change (the order starts at version 1): consumers
/// never let a lower version overwrite a higher one, whatever order the broker delivers
/// them in.
///
/// Published only by the persistence worker, after the change is committed in MySQL, with
/// an event id derived from `request_id` (so publishing it again after a crash is dropped
/// by consumers' inboxes). Events without `request_id` are of the old shape, published by
/// gateways before requests existed and never checked: see `docs/events.md` (upgrade).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderStatusChanged {
    pub order_id: Uuid,
    pub order_number: String,
    pub from: OrderStatus,
    pub to: OrderStatus,
    pub version: u32,
    #[serde(default)]
    pub reason: Option<String>,
    pub actor: Actor,
    pub changed_at: DateTime<Utc>,
    /// The request this change recorded; absent only on events of the old shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Uuid>,
}

impl OrderStatusChanged {
    /// Whether the persistence worker recorded this change before publishing it (it carries
    /// its request). The old shape was announced by gateways before anything was decided.
    pub fn is_recorded(&self) -> bool {
        self.request_id.is_some()
    }
}

/// Why the persistence worker did not make a requested change: stable codes for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalCode {
    /// The order moved on since the requester saw it (another change won the race).
    VersionConflict,
    /// The order is already in the requested status (the same change was made by someone
    /// else, or by an earlier request).
    AlreadyInStatus,
    /// The state machine does not allow the move from where the order is.
    TransitionNotAllowed,
    /// The move needs a reason and none was given.
    ReasonRequired,
    /// Customers may not make this move (only cancel while allowed and answer a quote).
    NotAllowedForCustomer,
    /// The quote answered is not the order's latest one.
    QuoteOutdated,
    /// The quote accepted is past its `valid_until`. Added later: readers must know it
    /// before the persistence worker that writes it is deployed.
    QuoteExpired,
}

impl RefusalCode {
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalCode::VersionConflict => "version_conflict",
            RefusalCode::AlreadyInStatus => "already_in_status",
            RefusalCode::TransitionNotAllowed => "transition_not_allowed",
            RefusalCode::ReasonRequired => "reason_required",
            RefusalCode::NotAllowedForCustomer => "not_allowed_for_customer",
            RefusalCode::QuoteOutdated => "quote_outdated",
            RefusalCode::QuoteExpired => "quote_expired",
        }
    }

    pub fn parse(code: &str) -> Option<RefusalCode> {
        [
            RefusalCode::VersionConflict,
            RefusalCode::AlreadyInStatus,
            RefusalCode::TransitionNotAllowed,
            RefusalCode::ReasonRequired,
            RefusalCode::NotAllowedForCustomer,
            RefusalCode::QuoteOutdated,
            RefusalCode::QuoteExpired,
        ]
        .into_iter()
        .find(|c| c.as_str() == code)
    }
}

/// A requested status change was decided and refused: nothing changed. Published by the
/// persistence worker after the refusal is committed (so the request endpoint and this
/// event always agree), with an event id derived from `request_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderStatusChangeRefused {
    pub request_id: Uuid,
    pub order_id: Uuid,
    pub order_number: String,
    /// What was asked: from `from` (at `expected_version`) to `to`.
    pub from: OrderStatus,
    pub to: OrderStatus,
    pub expected_version: u32,
    pub actor: Actor,
    pub code: RefusalCode,
    /// A sentence for staff (English); customers are told in their language from `code`.
    pub reason: String,
    /// Where the order is now.
    pub current_status: OrderStatus,
    pub current_version: u32,
    pub refused_at: DateTime<Utc>,
}

/// Someone wrote in an order's conversation: staff to the customer (the notifier passes it
/// on) or the customer to staff (the staff feed shows it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderMessagePosted {
    pub order_id: Uuid,
    /// Unique per message; consumers deduplicate on it as well as on the event id.
    pub message_id: Uuid,
    pub author: Actor,
    pub text: String,
}

/// Staff quoted a price for an order; the customer is asked to accept it. Amounts are in
/// the currency's minor unit (kopiyky, cents), never floating point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceQuoted {
    pub order_id: Uuid,
    pub order_number: String,
    pub amount_minor: u64,
    /// ISO 4217 code, e.g. `UAH`.
    pub currency: String,
    #[serde(default)]
    pub note: Option<String>,
    /// The last moment the customer may accept this price; `None`: no limit. An answer
    /// after it is refused (`RefusalCode::QuoteExpired`). Added later: events without it
    /// read as no limit, and it is left out of events that have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<DateTime<Utc>>,
}

/// Staff wrote an internal comment on an order: for staff only, it never reaches the
/// customer (the notifier does not subscribe to it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderCommentPosted {
    pub order_id: Uuid,
    /// Unique per comment; recorded once whatever the event id.
    pub comment_id: Uuid,
    pub author_account_id: Uuid,
    pub text: String,
}

/// Staff assigned an order to a staff member (an executor, usually), or took the
/// assignment away (`assignee: None`). The persistence worker keeps the latest on the order
/// and every one in its history, in the order they were made (`assigned_at`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderAssigned {
    pub order_id: Uuid,
    pub order_number: String,
    pub assignee: Option<Uuid>,
    /// Who assigned it (the assignee themselves when they took an unassigned order).
    pub actor_account_id: Uuid,
    pub assigned_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(code: &str, quantity: u32, price: Option<u64>, currency: &str) -> OrderItem {
        OrderItem {
            service_code: code.into(),
            quantity,
            unit_price_minor: price,
            currency: currency.into(),
            unit: "page".into(),
        }
    }

    #[test]
    fn a_total_is_the_sum_of_priced_lines_in_one_currency() {
        let items = [
            item("a", 2, Some(45_000), "UAH"),
            item("b", 1, Some(30_000), "UAH"),
        ];
        assert_eq!(
            order_total(&items),
            Some(Money {
                amount_minor: 120_000,
                currency: "UAH".into()
            })
        );
    }

    #[test]
    fn no_total_for_an_empty_cart_an_item_on_quote_mixed_currencies_or_overflow() {
        assert_eq!(order_total(&[]), None);
        assert_eq!(
            order_total(&[item("a", 1, Some(1), "UAH"), item("b", 1, None, "UAH")]),
            None
        );
        assert_eq!(
            order_total(&[item("a", 1, Some(1), "UAH"), item("b", 1, Some(1), "EUR")]),
            None
        );
        assert_eq!(
            order_total(&[
                item("a", MAX_ITEM_QUANTITY, Some(u64::MAX / 2), "UAH"),
                item("b", 1, Some(1), "UAH")
            ]),
            None
        );
    }

    #[test]
    fn an_order_created_before_carts_still_reads() {
        let old = serde_json::json!({
            "order_id": "0190f5c2-0000-7000-8000-000000000000",
            "order_number": "48213097",
            "customer": {"channel": "web", "account_id": "0190f5c2-0000-7000-8000-000000000001"},
            "service_code": "notarisation",
            "text": "x",
            "file_count": 0,
            "created_at": "2026-12-01T10:00:00Z"
        });
        let created: OrderCreated = serde_json::from_value(old).unwrap();
        assert!(created.items.is_empty());
        assert_eq!(created.total, None);
        let written = serde_json::to_value(&created).unwrap();
        assert!(written.get("items").is_none() && written.get("total").is_none());
    }
}
