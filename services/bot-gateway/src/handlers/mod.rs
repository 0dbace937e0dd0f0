//! The conversation as a dptree schema: which update goes to which handler.
//!
//! Messages (from private chats only: an order desk does not talk in groups) and callback
//! queries first take the chat's turn (see [`chat_turns`](crate::chat_turns)) and load its
//! [`Conversation`] from MySQL. When MySQL cannot answer, the update falls through to a
//! handler that defers it (see [`Deferred`]): the customer hears that it will be handled
//! once we can, and Telegram delivers it again.
//!
//! Handlers receive their dependencies by type: the bot, `Arc<Desk>` (texts, catalogue,
//! orders, bus, file policy, links, the business's contacts), and for the older handlers
//! `Arc<Texts>`, `Arc<EventBus>`, [`OrderLookup`] and [`DownloadLimit`].

mod album;
mod buttons;
mod commands;
mod confirmation;
mod drafting;
mod orders;
mod outage;
mod registration;
mod status;

use std::sync::Arc;

use bureau_event_bus::EventBus;
use bureau_platform::Settings;
use bureau_platform::settings::BusinessSettings;
use teloxide::ApiError;
use teloxide::RequestError;
use teloxide::dispatching::dialogue::GetChatId;
use teloxide::dispatching::{UpdateFilterExt, UpdateHandler};
use teloxide::dptree::{self, case};
use teloxide::prelude::*;
use teloxide::types::InlineKeyboardMarkup;
use teloxide::utils::command::BotCommands;

use crate::attachments::{FilePolicy, IncomingFile};
use crate::buttons::Action;
use crate::catalogue::Catalogue;
use crate::chat_turns::{ChatTurn, ChatTurns};
use crate::dialogue::{ChatDialogue, Conversation, Language, Stage};
use crate::menu::MenuChoice;
use crate::order_lookup::OrderLookup;
use crate::storage::{MySqlStorage, StorageError};
use crate::telegram::GatewayBot;
use crate::texts::Texts;

pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;
type HandlerResult = Result<(), HandlerError>;

/// An update whose work cannot be done now (the broker did not confirm, MySQL did not
/// answer) and must not be lost: the update loop leaves it with Telegram (polling: the
/// offset stays before it; webhook: a non-2xx answer), and Telegram delivers it again. The
/// handler changed nothing that would make the second delivery go differently.
///
/// `notice` is what the customer is told, once per update and process, so that a retried
/// update does not repeat it.
#[derive(Debug)]
pub struct Deferred {
    pub reason: String,
    pub notice: Option<(ChatId, String)>,
}

impl Deferred {
    pub fn boxed(reason: impl Into<String>, notice: Option<(ChatId, String)>) -> HandlerError {
        Box::new(Deferred {
            reason: reason.into(),
            notice,
        })
    }
}

impl std::fmt::Display for Deferred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "deferred: {}", self.reason)
    }
}

impl std::error::Error for Deferred {}

/// What handlers work with besides the bot and the conversation.
pub struct Desk {
    pub texts: Arc<Texts>,
    pub bus: Arc<EventBus>,
    pub catalogue: Catalogue,
    pub orders: OrderLookup,
    pub files: FilePolicy,
    pub storage: Arc<MySqlStorage>,
    pub turns: ChatTurns,
    /// For upload links (`links.*`, `web_gateway.public_url`) and the business's contacts.
    pub settings: Arc<Settings>,
}

impl Desk {
    pub fn business(&self) -> &BusinessSettings {
        &self.settings.business
    }

    /// A personal, expiring upload link for `order_id`; `None` when links are off.
    pub fn upload_link(&self, order_id: uuid::Uuid) -> Option<String> {
        bureau_platform::links::upload_link(&self.settings, order_id)
    }

    pub fn links_enabled(&self) -> bool {
        bureau_platform::links::LinkSigner::new(&self.settings.links.secret).is_some()
    }

    /// How long an upload link works, in whole hours (at least 1).
    pub fn upload_link_hours(&self) -> u64 {
        (self.settings.links.upload_ttl_secs / 3600).max(1)
    }
}

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
    Orders,
    Language,
    Profile,
}

pub fn schema() -> UpdateHandler<HandlerError> {
    let commands = teloxide::filter_command::<Command, _>()
        .branch(case![Command::Start].endpoint(commands::start))
        .branch(case![Command::Help].endpoint(commands::help))
        .branch(case![Command::Cancel].endpoint(commands::cancel))
        .branch(case![Command::Status(argument)].endpoint(status::reply))
        .branch(case![Command::Orders].endpoint(orders::list))
        .branch(case![Command::Language].endpoint(commands::choose_language))
        .branch(case![Command::Profile].endpoint(registration::show_profile));

    let menu = dptree::filter_map(|message: Message, desk: Arc<Desk>| {
        message
            .text()
            .and_then(|text| MenuChoice::recognize(&desk.texts, text))
    })
    .branch(case![MenuChoice::NewOrder].endpoint(drafting::start_new))
    .branch(case![MenuChoice::MyOrders].endpoint(orders::list))
    .branch(case![MenuChoice::Help].endpoint(commands::help))
    .branch(case![MenuChoice::Contact].endpoint(commands::contact));

    let conversation = load_conversation()
        .branch(commands)
        // A command we do not know (or a known one with junk after it) is not an order.
        .branch(
            dptree::filter(|message: Message| message.text().is_some_and(|t| t.starts_with('/')))
                .endpoint(commands::help),
        )
        .branch(menu)
        .branch(
            dptree::filter(|conversation: Conversation| conversation.registration().is_some())
                .endpoint(registration::receive),
        )
        .branch(
            dptree::filter(|conversation: Conversation| {
                matches!(conversation.stage, Stage::WritingToStaff { .. })
            })
            .endpoint(orders::receive_message),
        )
        .branch(Message::filter_text().endpoint(drafting::add_text))
        .branch(
            dptree::filter_map(|message: Message| IncomingFile::from_message(&message))
                .endpoint(drafting::add_file),
        )
        .branch(dptree::endpoint(drafting::unsupported));

    let messages = Update::filter_message()
        .filter(|message: Message| message.chat.is_private())
        .branch(conversation)
        .branch(dptree::endpoint(outage::message_unavailable));

    let pressed =
        dptree::filter_map(|query: CallbackQuery| query.data.as_deref().and_then(Action::parse))
            .endpoint(buttons::route);

    let callbacks = Update::filter_callback_query()
        .branch(
            load_conversation()
                .branch(pressed)
                .branch(dptree::endpoint(buttons::outdated)),
        )
        .branch(dptree::endpoint(outage::callback_unavailable));

    dptree::entry().branch(messages).branch(callbacks)
}

/// Provides the chat's turn, [`ChatDialogue`] and [`Conversation`]: the stored one, or a new
/// one in the language of the customer's Telegram on first contact. Stops the branch (the
/// update falls through to the outage handlers) when MySQL cannot be read.
fn load_conversation() -> UpdateHandler<HandlerError> {
    dptree::filter_map(|desk: Arc<Desk>, update: Update| {
        update.chat_id().map(|chat_id| ChatDialogue::new(desk.storage.clone(), chat_id))
    })
    .filter_map_async(|dialogue: ChatDialogue, desk: Arc<Desk>| async move {
        match desk.turns.take(dialogue.chat_id().0).await {
            Ok(turn) => Some(turn),
            Err(error) => {
                tracing::error!(%error, chat_id = dialogue.chat_id().0, "chat's turn could not be taken");
                None
            }
        }
    })
    .filter_map_async(|dialogue: ChatDialogue, update: Update, _turn: Arc<ChatTurn>| async move {
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

/// Shows `text` and `keyboard` in place of the message the pressed button was under, or as
/// a new message when that one cannot be edited (gone, or too old for Telegram).
async fn show(
    bot: &GatewayBot,
    chat_id: ChatId,
    query: &CallbackQuery,
    text: String,
    keyboard: InlineKeyboardMarkup,
) -> HandlerResult {
    if let Some(message) = query
        .message
        .as_ref()
        .filter(|message| message.regular_message().is_some())
    {
        // Edits are not paced by the throttle (it paces sends only), but Telegram counts them
        // against the chat's limit: a 429 is waited out, a few times at most.
        for _ in 0..3 {
            match bot
                .edit_message_text(chat_id, message.id(), text.clone())
                .reply_markup(keyboard.clone())
                .await
            {
                Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => return Ok(()),
                Err(RequestError::RetryAfter(wait)) => tokio::time::sleep(wait.duration()).await,
                Err(error) => {
                    tracing::debug!(%error, "message not editable; sending a new one");
                    break;
                }
            }
        }
    }
    bot.send_message(chat_id, text)
        .reply_markup(keyboard)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bureau_event_bus::{BusConfig, EventBus};
    use teloxide::types::Me;

    use super::*;
    use crate::telegram::GatewayBot;

    #[tokio::test]
    async fn the_schema_gets_every_dependency_it_asks_for() {
        // Built the way `start` builds them; nothing connects until used.
        let pool = sqlx::mysql::MySqlPoolOptions::new()
            .connect_lazy("mysql://nobody@127.0.0.1:1/none")
            .unwrap();
        let bus = EventBus::new(BusConfig {
            url: "amqp://127.0.0.1:1".into(),
            namespace: "unused".into(),
            prefetch: 1,
            max_attempts: 1,
            retry_delays: Vec::new(),
            connection_name: "test".into(),
        });
        let settings = bureau_platform::Settings::load_from(
            &bureau_platform::settings::find_config_dir(std::path::Path::new(env!(
                "CARGO_MANIFEST_DIR"
            )))
            .unwrap(),
        )
        .unwrap();
        let dependencies =
            crate::dependencies(pool, bus, Arc::new(Texts::load()), Arc::new(settings));
        // Panics, naming what is missing, if a handler asks for something not provided.
        dptree::type_check(
            schema().sig(),
            &dependencies,
            &[
                dptree::Type::of::<GatewayBot>(),
                dptree::Type::of::<Update>(),
                dptree::Type::of::<Me>(),
            ],
        );
    }

    #[test]
    fn commands_parse_with_and_without_arguments() {
        let parse = |text| Command::parse(text, "bureau_bot").ok();
        assert_eq!(parse("/start"), Some(Command::Start));
        assert_eq!(parse("/help@bureau_bot"), Some(Command::Help));
        assert_eq!(
            parse("/status 4821 3097"),
            Some(Command::Status("4821 3097".into()))
        );
        assert_eq!(parse("/status"), Some(Command::Status(String::new())));
        assert_eq!(parse("/language"), Some(Command::Language));
        assert_eq!(parse("/orders"), Some(Command::Orders));
        assert_eq!(parse("/frobnicate"), None);
    }
}
