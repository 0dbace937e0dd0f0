//! The one contract between Bureau services.
//!
//! Everything two services must agree on lives here and nowhere else:
//! - [`envelope`]: the metadata every event carries (ids, correlation, producer, version);
//! - [`events`]: the typed payloads and their routing keys;
//! - [`status`]: the order state machine whose names both staff and customers see;
//! - [`order_number`]: the numbers customers quote, unique by construction;
//! - [`topology`]: the names of the RabbitMQ exchanges and queues and who consumes what;
//! - [`service`]: the services' names;
//! - [`callbacks`]: Telegram button data one service writes and another reads;
//! - [`object_keys`]: where files live in the object store.
//!
//! The transport that carries these events (publishing with confirms, consuming with
//! retries and dead letters) is the `bureau-event-bus` crate, apart from the contract.

pub mod callbacks;
pub mod envelope;
pub mod events;
pub mod object_keys;
pub mod order_number;
pub mod service;
pub mod status;
pub mod topology;

pub use envelope::{DecodeError, Envelope, Producer};
pub use events::*;
pub use service::Service;
pub use status::{OrderStatus, QuoteAnswer, TransitionError};
