//! The conversation as a dptree schema: which update goes to which handler. Routing only;
//! each handler file is one part of the conversation and reads as it goes.
//!
//! Messages come from private chats only (an order desk does not talk in groups), sent by
//! the chat's own user (anything else is forged). Every
//! message and button press first enters the conversation ([`context`]): the chat's turn,
//! its stored conversation, and the [`Chat`](context::Chat) (or [`Press`]) the handler
//! answers through. Then it is routed by type, the way teloxide's own examples do: commands
//! by [`Command`], the main menu by [`MenuChoice`], the stage the conversation is in by
//! [`Stage`] and [`Registration`], and button presses by their parsed [`Action`]. A draft
//! button reaches its handler only with the draft it was drawn for (the one in progress),
//! an order button only with the presser's own order; anything else is "outdated". When
//! MySQL cannot be read, the update falls through to [`outage`], which defers it.
//!
//! A new kind of button is one variant of [`Action`] (or of [`DraftButton`] /
//! [`OrderButton`], which then arrive already checked), one branch here and one handler; a
//! new kind of update is one branch of [`schema`] and one handler.

mod album;
mod booking;
mod cancellation;
mod card;
mod cart;
mod commands;
mod confirmation;
mod context;
mod deferred;
mod drafting;
mod link;
mod orders;
mod outage;
mod payments;
mod placing;
mod quotes;
mod registration;
mod staff;
mod status;

use std::sync::Arc;

use teloxide::dispatching::{UpdateFilterExt, UpdateHandler};
use teloxide::dptree::{self, case};
use teloxide::prelude::*;
use teloxide::utils::command::BotCommands;

use self::context::Press;
use self::deferred::HandlerResult;
pub use self::deferred::{Deferred, HandlerError};
use crate::attachments::IncomingFile;
use crate::buttons::{Action, DraftButton, OrderButton};
use crate::desk::Desk;
use crate::dialogue::{Conversation, Draft, Registration, Stage};
use crate::menu::MenuChoice;
use crate::order_lookup::OrderDetails;
use crate::texts::key;

/// The commands the bot understands (the menu Telegram shows is registered by the runner).
#[derive(BotCommands, Clone, Debug, PartialEq)]
#[command(rename_rule = "lowercase")]
pub enum Command {
    /// `/start`, or `/start <token>` from the website's "Link Telegram" (a deep link).
    Start(String),
    Help,
    Cancel,
    /// `/status 48213097`: the rest of the message, parsed by the handler so that a bad
    /// number gets a helpful answer rather than falling through.
    Status(String),
    Orders,
    /// The customer's booked times ahead, each with Reschedule and Cancel.
    Bookings,
    Language,
    Profile,
    /// A one-time sign-in link for the website.
    Web,
}

pub fn schema() -> UpdateHandler<HandlerError> {
    dptree::entry()
        .branch(messages())
        .branch(presses())
        // Telegram waits 10 s for the answer: no chat turn, no conversation, one reading.
        .branch(Update::filter_pre_checkout_query().endpoint(payments::pre_checkout))
}

fn messages() -> UpdateHandler<HandlerError> {
    let commands = teloxide::filter_command::<Command, _>()
        .branch(case![Command::Start(payload)].endpoint(commands::start))
        .branch(case![Command::Help].endpoint(commands::help))
        .branch(case![Command::Cancel].endpoint(commands::cancel))
        .branch(case![Command::Status(argument)].endpoint(status::reply))
        .branch(case![Command::Orders].endpoint(orders::list))
        .branch(case![Command::Bookings].endpoint(booking::list))
        .branch(case![Command::Language].endpoint(commands::choose_language))
        .branch(case![Command::Profile].endpoint(registration::show_profile))
        .branch(case![Command::Web].endpoint(link::web));
    // A command we do not know (or a known one with junk after it) is not an order.
    let unknown_command =
        dptree::filter(|message: Message| message.text().is_some_and(|t| t.starts_with('/')))
            .endpoint(commands::help);

    let menu = dptree::filter_map(|message: Message, desk: Arc<Desk>| {
        message
            .text()
            .and_then(|text| MenuChoice::recognize(&desk.texts, text))
    })
    .branch(case![MenuChoice::NewOrder].endpoint(drafting::start_new))
    .branch(case![MenuChoice::MyOrders].endpoint(orders::list))
    .branch(case![MenuChoice::Help].endpoint(commands::help))
    .branch(case![MenuChoice::Contact].endpoint(commands::contact));

    let registering =
        dptree::filter_map(|conversation: Conversation| conversation.registration().cloned())
            .branch(case![Registration::Name].endpoint(registration::receive_name))
            .branch(case![Registration::Phone { name }].endpoint(registration::receive_phone));

    let files = dptree::filter_map(|message: Message| IncomingFile::from_message(&message))
        .branch(
            dptree::filter(|file: IncomingFile| file.media_group.is_some()).endpoint(album::add),
        )
        .branch(dptree::endpoint(drafting::add_file));

    let conversation = context::enter_message()
        // Money taken: recorded before anything else the message could be mistaken for.
        .branch(
            dptree::filter(|message: Message| message.successful_payment().is_some())
                .endpoint(payments::received),
        )
        .branch(commands)
        .branch(unknown_command)
        .branch(menu)
        .branch(registering)
        .branch(
            case![Stage::WritingToStaff {
                order_id,
                order_number
            }]
            .endpoint(staff::receive_message),
        )
        .branch(
            dptree::filter_map(|conversation: Conversation| cart::QuantityFor::of(&conversation))
                .branch(Message::filter_text().endpoint(cart::receive_quantity)),
        )
        .branch(Message::filter_text().endpoint(drafting::add_text))
        .branch(files)
        .branch(dptree::endpoint(drafting::unsupported));

    Update::filter_message()
        .filter(|message: Message| message.chat.is_private())
        // In a private chat Telegram only ever sends the chat's own user as the sender; an
        // update that says otherwise is forged, and answering it would talk into someone
        // else's chat with the forger's data.
        .filter(|message: Message| {
            message
                .from
                .as_ref()
                .is_some_and(|sender| i64::try_from(sender.id.0) == Ok(message.chat.id.0))
        })
        .branch(conversation)
        .branch(dptree::endpoint(outage::message_unavailable))
}

fn presses() -> UpdateHandler<HandlerError> {
    let draft_buttons = dptree::filter_map(the_draft_pressed)
        .filter_map(|action: Action| action.draft_button().map(|(_, button)| button))
        .branch(case![DraftButton::Category(category)].endpoint(drafting::open_category))
        .branch(case![DraftButton::Service(service)].endpoint(drafting::choose_service))
        .branch(case![DraftButton::OtherService].endpoint(drafting::choose_other))
        .branch(case![DraftButton::Done].endpoint(confirmation::summarize))
        .branch(case![DraftButton::Confirm { revision }].endpoint(confirmation::confirm))
        .branch(case![DraftButton::Edit].endpoint(confirmation::edit))
        .branch(case![DraftButton::ChangeService].endpoint(drafting::change_service))
        .branch(case![DraftButton::ClearText].endpoint(confirmation::clear_text))
        .branch(case![DraftButton::ClearFiles].endpoint(confirmation::clear_files))
        .branch(case![DraftButton::Cancel].endpoint(confirmation::cancel))
        .branch(case![DraftButton::Cart].endpoint(cart::show))
        .branch(case![DraftButton::More(service)].endpoint(cart::more))
        .branch(case![DraftButton::Fewer(service)].endpoint(cart::fewer))
        .branch(case![DraftButton::Remove(service)].endpoint(cart::remove))
        .branch(case![DraftButton::AskQuantity(service)].endpoint(cart::ask_quantity));

    let order_buttons =
        dptree::filter_map(|action: Action| action.order_button().map(|(_, button)| button))
            .map_async(the_order_pressed)
            .branch(case![PressedOrder::Unavailable].endpoint(lookup_failed))
            .branch(
                case![PressedOrder::Theirs(order)]
                    .branch(case![OrderButton::View].endpoint(orders::show_order))
                    .branch(case![OrderButton::Open].endpoint(orders::open_order))
                    .branch(case![OrderButton::AskCancel].endpoint(cancellation::ask))
                    .branch(case![OrderButton::Cancel { version }].endpoint(cancellation::cancel))
                    .branch(case![OrderButton::Write].endpoint(staff::start_message))
                    .branch(case![OrderButton::Pay].endpoint(payments::pay)),
            );

    let buttons =
        dptree::filter_map(|query: CallbackQuery| query.data.as_deref().and_then(Action::parse))
            .branch(case![Action::Language(language)].endpoint(commands::set_language))
            .branch(case![Action::Orders { offset }].endpoint(orders::show_page))
            .branch(case![Action::AnswerQuote { quote, answer }].endpoint(quotes::answer))
            .branch(draft_buttons)
            .branch(order_buttons);

    // The booking calendar's signed buttons: verified (and answered) by their handler.
    let calendar = dptree::filter_map(|query: CallbackQuery| {
        query
            .data
            .as_deref()
            .and_then(crate::calendar::Pressed::parse)
    })
    .endpoint(booking::press);

    let conversation = context::enter_press()
        .branch(calendar)
        .branch(buttons)
        // Not ours (the data does not parse), or for a draft or order it may not touch.
        .branch(dptree::endpoint(
            |press: Press| async move { press.outdated() },
        ));

    Update::filter_callback_query()
        // A press that names no message (a button under an inline message, or a forged
        // update) has no chat to load: "outdated", never deferred — a deferred update that
        // can never succeed would hold back every later update.
        .branch(
            dptree::filter(|query: CallbackQuery| query.message.is_none())
                .endpoint(outage::callback_without_chat),
        )
        .branch(conversation)
        .branch(dptree::endpoint(outage::callback_unavailable))
}

/// The draft a draft button was drawn for, if it is still the one in progress.
fn the_draft_pressed(action: Action, conversation: Conversation) -> Option<Draft> {
    let (draft, _) = action.draft_button()?;
    conversation
        .draft()
        .filter(|current| current.order_id == draft)
        .cloned()
}

/// The order an order button is about, looked up among the presser's own.
#[derive(Debug, Clone)]
enum PressedOrder {
    Theirs(OrderDetails),
    /// Someone else's, or none at all: the same "outdated" answer.
    NotTheirs,
    /// MySQL did not answer.
    Unavailable,
}

async fn the_order_pressed(action: Action, press: Press) -> PressedOrder {
    let Some((order_id, _)) = action.order_button() else {
        return PressedOrder::NotTheirs;
    };
    match press.desk.orders.details(press.user_id(), order_id).await {
        Ok(Some(order)) => PressedOrder::Theirs(order),
        Ok(None) => PressedOrder::NotTheirs,
        Err(error) => {
            tracing::error!(%error, %order_id, "order lookup failed");
            PressedOrder::Unavailable
        }
    }
}

/// The order could not be looked up: the customer may try again.
async fn lookup_failed(press: Press) -> HandlerResult {
    press.answer(key::UNAVAILABLE);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bureau_event_bus::{BusConfig, EventBus};
    use teloxide::types::Me;

    use super::*;
    use crate::telegram::GatewayBot;
    use crate::texts::Texts;

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
            idle_queue_expiry: None,
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
        assert_eq!(parse("/start"), Some(Command::Start(String::new())));
        assert_eq!(
            parse("/start 0123abcd"),
            Some(Command::Start("0123abcd".into()))
        );
        assert_eq!(parse("/web"), Some(Command::Web));
        assert_eq!(parse("/help@bureau_bot"), Some(Command::Help));
        assert_eq!(
            parse("/status 4821 3097"),
            Some(Command::Status("4821 3097".into()))
        );
        assert_eq!(parse("/status"), Some(Command::Status(String::new())));
        assert_eq!(parse("/language"), Some(Command::Language));
        assert_eq!(parse("/orders"), Some(Command::Orders));
        assert_eq!(parse("/bookings"), Some(Command::Bookings));
        assert_eq!(parse("/frobnicate"), None);
    }
}
