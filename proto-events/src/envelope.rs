//! The envelope every event travels in, and decoding with reasons a dead-letter queue can show.
//!
//! On the wire an event is one JSON object: the metadata below plus `payload`. Readers ignore
//! fields they do not know, so producers may add optional fields without a version bump; a
//! breaking change bumps `schema_version` and readers reject versions they do not speak.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::events::{Event, EventKind};

/// Which service produced an event: shown in logs and dead-letter listings.
pub type Producer = &'static str;

/// The largest event we accept; anything bigger is refused before parsing. Events carry
/// references, never file bytes, so a real one is a few kilobytes.
pub const MAX_EVENT_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Envelope {
    /// Unique per event (UUIDv7, so ids sort by time). Consumers deduplicate on it.
    pub event_id: Uuid,
    /// The routing key, e.g. `order.created`.
    pub event_type: String,
    pub schema_version: u16,
    pub occurred_at: DateTime<Utc>,
    /// Follows one order through every service: the order id for order events.
    pub correlation_id: Uuid,
    /// The event that caused this one, if any.
    pub causation_id: Option<Uuid>,
    pub producer: String,
    pub payload: Event,
}

/// Why bytes from the broker are not an event we can handle. Each reason is terminal: the
/// message goes to the dead-letter queue with this text, never back to the queue.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("message of {0} bytes exceeds the {MAX_EVENT_BYTES}-byte event limit")]
    TooLarge(usize),
    #[error("not a JSON event envelope: {0}")]
    Malformed(String),
    #[error("unknown event type `{0}`")]
    UnknownType(String),
    #[error("event type `{event_type}` has unsupported schema version {version}")]
    UnsupportedVersion { event_type: String, version: u16 },
    #[error("invalid `{event_type}` payload: {reason}")]
    InvalidPayload { event_type: String, reason: String },
}

/// The envelope as first read: metadata typed, payload still raw.
#[derive(Deserialize)]
struct RawEnvelope {
    event_id: Uuid,
    event_type: String,
    schema_version: u16,
    occurred_at: DateTime<Utc>,
    correlation_id: Uuid,
    #[serde(default)]
    causation_id: Option<Uuid>,
    producer: String,
    payload: serde_json::Value,
}

impl Envelope {
    /// A new event, correlated to `correlation_id` (usually the order id).
    pub fn new(producer: Producer, correlation_id: Uuid, payload: impl Into<Event>) -> Self {
        let payload = payload.into();
        Envelope {
            event_id: Uuid::now_v7(),
            event_type: payload.kind().routing_key().to_owned(),
            schema_version: payload.kind().schema_version(),
            occurred_at: Utc::now(),
            correlation_id,
            causation_id: None,
            producer: producer.to_owned(),
            payload,
        }
    }

    /// A new event caused by `cause`: keeps its correlation id and records the causation.
    pub fn caused_by(producer: Producer, cause: &Envelope, payload: impl Into<Event>) -> Self {
        let mut envelope = Envelope::new(producer, cause.correlation_id, payload);
        envelope.causation_id = Some(cause.event_id);
        envelope
    }

    /// Replaces the random id with one derived from `seed`, so the same work done twice
    /// publishes the same event id and consumers drop the second.
    pub fn with_deterministic_id(mut self, seed: &[u8]) -> Self {
        self.event_id = deterministic_id(seed);
        self
    }

    pub fn kind(&self) -> EventKind {
        self.payload.kind()
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("events always serialize")
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_EVENT_BYTES {
            return Err(DecodeError::TooLarge(bytes.len()));
        }
        let raw: RawEnvelope =
            serde_json::from_slice(bytes).map_err(|e| DecodeError::Malformed(e.to_string()))?;
        let kind = EventKind::from_routing_key(&raw.event_type)
            .ok_or_else(|| DecodeError::UnknownType(raw.event_type.clone()))?;
        if raw.schema_version != kind.schema_version() {
            return Err(DecodeError::UnsupportedVersion {
                event_type: raw.event_type,
                version: raw.schema_version,
            });
        }
        let payload =
            Event::from_value(kind, raw.payload).map_err(|e| DecodeError::InvalidPayload {
                event_type: raw.event_type.clone(),
                reason: e.to_string(),
            })?;
        Ok(Envelope {
            event_id: raw.event_id,
            event_type: raw.event_type,
            schema_version: raw.schema_version,
            occurred_at: raw.occurred_at,
            correlation_id: raw.correlation_id,
            causation_id: raw.causation_id,
            producer: raw.producer,
            payload,
        })
    }
}

/// A UUID (version 8, "custom") derived from `seed` with a stable hash: the same seed always
/// gives the same id. Used where a retry must republish the very same event.
pub fn deterministic_id(seed: &[u8]) -> Uuid {
    // FNV-1a over two lanes: stable across builds and platforms, unlike std's SipHash keys.
    let mut a: u64 = 0xcbf29ce484222325;
    let mut b: u64 = 0x84222325cbf29ce4;
    for &byte in seed {
        a = (a ^ byte as u64).wrapping_mul(0x100000001b3);
        b = (b ^ (byte as u64).rotate_left(3)).wrapping_mul(0x100000001b3);
    }
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_be_bytes());
    bytes[8..].copy_from_slice(&b.to_be_bytes());
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}
