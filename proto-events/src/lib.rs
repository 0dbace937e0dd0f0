//! The one contract between Bureau services.
//!
//! Everything two services must agree on lives here and nowhere else:
//! - [`envelope`]: the metadata every event carries (ids, correlation, producer, version);
//! - [`events`]: the typed payloads and their routing keys;
//! - [`status`]: the order state machine whose names both staff and customers see;
//! - [`order_number`]: the numbers customers quote, unique by construction;
//! - [`callbacks`]: callback data of buttons one service draws and another answers;
//! - [`topology`]: the RabbitMQ exchanges and queues, declared idempotently;
//! - [`bus`]: publishing with confirms and consuming with an inbox, retries and dead letters.

pub mod bus;
pub mod callbacks;
pub mod envelope;
pub mod events;
pub mod order_number;
pub mod status;
pub mod topology;

pub use envelope::{DecodeError, Envelope, Producer};
pub use events::*;
pub use status::{OrderStatus, QuoteAnswer, TransitionError};
