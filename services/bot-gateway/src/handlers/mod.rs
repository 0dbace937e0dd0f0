//! The conversation as a dptree schema: which update goes to which handler.
//!
//! Messages (from private chats only: an order desk does not talk in groups) and callback
//! queries first load the chat's [`Conversation`] from MySQL. When MySQL cannot answer,
//! the update falls through to a handler that says "try again in a minute": a customer
//! never meets silence, and every callback query is answered.
//!
//! Handlers receive their dependencies by type: the bot, `Arc<Texts>`, `Arc<MySqlStorage>`,
//! `Arc<EventBus>`, [`OrderLookup`](crate::order_lookup::OrderLookup) and
//! [`DownloadLimit`](crate::attachments::DownloadLimit).

mod commands;
mod confirmation;
mod drafting;
mod outage;
mod status;

use std::sync::Arc;

use teloxide::dispatching::dialogue::GetChatId;
use teloxide::dispatching::{UpdateFilterExt, UpdateHandler};
use teloxide::dptree::{self, case};
use teloxide::prelude::*;
use teloxide::utils::command::BotCommands;

use crate::attachments::IncomingFile;
use crate::dialogue::{ChatDialogue, Conversation, Language};
use crate::draft_buttons::DraftAction;
use crate::menu::MenuChoice;
use crate::storage::{MySqlStorage, StorageError};
use crate::texts::Texts;

pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;
type HandlerResult = Result<(), HandlerError>;

/// The commands the bot understands (the menu Telegram shows is registered by the runner).
#[derive(BotCommands, Clone, Debug, PartialEq)]
#[command(rename_rule = "lowercase")]
pub enum Command {
    Start,
    Help,
    Cancel,
    /// `/status 48213097`: the rest of the message, parsed by the handler so that a bad
    /// number gets a helpful answer rather than falling through.
    Status(String),
}

pub fn schema() -> UpdateHandler<HandlerError> {
    let commands = teloxide::filter_command::<Command, _>()
        .branch(case![Command::Start].endpoint(commands::start))
        .branch(case![Command::Help].endpoint(commands::help))
        .branch(case![Command::Cancel].endpoint(commands::cancel))
        .branch(case![Command::Status(argument)].endpoint(status::reply));

    let menu = dptree::filter_map(|message: Message, texts: Arc<Texts>| {
        message.text().and_then(|text| MenuChoice::recognize(&texts, text))
    })
    .branch(case![MenuChoice::NewOrder].endpoint(drafting::start_new))
    .branch(case![MenuChoice::MyOrders].endpoint(commands::my_orders))
    .branch(case![MenuChoice::Help].endpoint(commands::help));

    let conversation = load_conversation()
        .branch(commands)
        // A command we do not know (or a known one with junk after it) is not an order.
        .branch(dptree::filter(|message: Message| message.text().is_some_and(|t| t.starts_with('/'))).endpoint(commands::help))
        .branch(menu)
        .branch(Message::filter_text().endpoint(drafting::add_text))
        .branch(dptree::filter_map(|message: Message| IncomingFile::from_message(&message)).endpoint(drafting::add_file))
        .branch(dptree::endpoint(drafting::unsupported));

    let messages = Update::filter_message()
        .filter(|message: Message| message.chat.is_private())
        .branch(conversation)
        .branch(dptree::endpoint(outage::message_unavailable));

    let buttons = dptree::filter_map(|query: CallbackQuery| query.data.as_deref().and_then(DraftAction::parse))
        .branch(case![DraftAction::Confirm(order_id)].endpoint(confirmation::confirm))
        .branch(case![DraftAction::Cancel(order_id)].endpoint(confirmation::cancel));

    let callbacks = Update::filter_callback_query()
        .branch(load_conversation().branch(buttons).branch(dptree::endpoint(confirmation::outdated)))
        .branch(dptree::endpoint(outage::callback_unavailable));

    dptree::entry().branch(messages).branch(callbacks)
}

/// Provides the chat's [`ChatDialogue`] and [`Conversation`]: the stored one, or a new one
/// in the language of the customer's Telegram on first contact. Stops the branch (the update
/// falls through to the outage handlers) when MySQL cannot be read.
fn load_conversation() -> UpdateHandler<HandlerError> {
    dptree::filter_map(|storage: Arc<MySqlStorage>, update: Update| {
        update.chat_id().map(|chat_id| ChatDialogue::new(storage, chat_id))
    })
    .filter_map_async(|dialogue: ChatDialogue, update: Update| async move {
        let first_contact = || Conversation::new(language_of(&update));
        match dialogue.get().await {
            Ok(Some(conversation)) => Some(conversation),
            Ok(None) => Some(first_contact()),
            // Unreadable state (an incompatible older shape) must not lock the customer
            // out forever: start over, as on first contact.
            Err(StorageError::Unreadable(error)) => {
                tracing::warn!(%error, chat_id = dialogue.chat_id().0, "stored conversation unreadable; starting afresh");
                Some(first_contact())
            }
            Err(error) => {
                tracing::error!(%error, chat_id = dialogue.chat_id().0, "conversation could not be loaded");
                None
            }
        }
    })
}

/// The language for someone we have no conversation with yet.
fn language_of(update: &Update) -> Language {
    Language::from_telegram(update.from().and_then(|user| user.language_code.as_deref()))
}

/// Telegram user ids fit in 52 bits, so they always fit our signed columns.
fn telegram_user_id(user: &teloxide::types::User) -> i64 {
    user.id.0 as i64
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use proto_events::bus::{BusConfig, EventBus};
    use teloxide::types::Me;

    use super::*;
    use crate::attachments::DownloadLimit;
    use crate::telegram::GatewayBot;

    #[tokio::test]
    async fn the_schema_gets_every_dependency_it_asks_for() {
        // Built the way `start` builds them; nothing connects until used.
        let pool = sqlx::mysql::MySqlPoolOptions::new().connect_lazy("mysql://nobody@127.0.0.1:1/none").unwrap();
        let bus = EventBus::new(BusConfig {
            url: "amqp://127.0.0.1:1".into(),
            namespace: "unused".into(),
            prefetch: 1,
            max_attempts: 1,
            retry_delays: Vec::new(),
            connection_name: "test".into(),
        });
        let dependencies = crate::dependencies(pool, bus, Arc::new(Texts::load()), DownloadLimit::new(1));
        // Panics, naming what is missing, if a handler asks for something not provided.
        dptree::type_check(
            schema().sig(),
            &dependencies,
            &[dptree::Type::of::<GatewayBot>(), dptree::Type::of::<Update>(), dptree::Type::of::<Me>()],
        );
    }

    #[test]
    fn commands_parse_with_and_without_arguments() {
        let parse = |text| Command::parse(text, "bureau_bot").ok();
        assert_eq!(parse("/start"), Some(Command::Start));
        assert_eq!(parse("/help@bureau_bot"), Some(Command::Help));
        assert_eq!(parse("/status 4821 3097"), Some(Command::Status("4821 3097".into())));
        assert_eq!(parse("/status"), Some(Command::Status(String::new())));
        assert_eq!(parse("/frobnicate"), None);
    }
}
