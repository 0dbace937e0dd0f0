//! What every Bureau service shares, so each service crate holds only its own job:
//! settings, telemetry, health and readiness endpoints, Prometheus metrics, shutdown, the broker connection,
//! MySQL with its migrations, inbox and outbox, order numbers leased in blocks, the streaming
//! object store, and the bot token's pace towards Telegram shared through MySQL.
//! The business's details and how prices read are [`business`].

pub mod bus;
pub mod business;
pub mod database;
pub mod health;
pub mod identity;
pub mod inbox;
pub mod links;
pub mod metrics;
pub mod notify_by;
pub mod object_store;
pub mod order_numbers;
pub mod outbox;
pub mod payments;
pub mod report_days;
pub mod service;
pub mod settings;
pub mod shutdown;
pub mod telegram_pace;
pub mod telemetry;
pub mod texts;

pub use settings::{Secret, Settings};
