//! The one contract between Bureau services.
//!
//! Everything two services must agree on lives here and nowhere else:
//! - [`envelope`]: the metadata every event carries (ids, correlation, producer, version);
//! - [`events`]: the typed payloads and their routing keys;
//! - [`status`]: the order state machine whose names both staff and customers see;
//! - [`topology`]: the names of the RabbitMQ exchanges and queues and who consumes what.
//!
//! The transport that carries these events (publishing with confirms, consuming with
//! retries and dead letters) is the `bureau-event-bus` crate, apart from the contract.

pub mod envelope;
pub mod events;
pub mod order_number;
pub mod status;
pub mod topology;

pub use envelope::{DecodeError, Envelope, Producer};
pub use events::*;
pub use status::{OrderStatus, TransitionError};
