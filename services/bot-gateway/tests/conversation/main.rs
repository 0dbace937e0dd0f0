//! The bot conversation end to end within this service: the real gateway against MariaDB,
//! RabbitMQ and the Telegram Bot API double, as a customer would use it. Scripted
//! conversations for every flow and every bad input the bot must answer kindly, one module
//! per journey.

mod albums;
mod bad_input;
mod business;
mod cart;
mod deferred_updates;
mod first_order;
mod link;
mod my_orders;
mod payments;
mod support;
mod telegram_failures;
