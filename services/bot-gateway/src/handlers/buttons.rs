//! Every inline button press lands here, parsed into an [`Action`], and goes to the handler
//! for it. Draft buttons act only on the draft they were drawn for; order buttons only on
//! the customer's own orders (checked by each handler). Anything else is "outdated", and
//! every callback query gets an answer.

use std::sync::Arc;

use teloxide::prelude::*;

use super::drafting::current_draft;
use super::{Desk, HandlerResult, commands, confirmation, drafting, orders};
use crate::buttons::{Action, DraftButton, OrderButton};
use crate::dialogue::{ChatDialogue, Conversation, Language};
use crate::telegram::GatewayBot;
use crate::texts::{Texts, key};

pub async fn route(
    bot: GatewayBot,
    desk: Arc<Desk>,
    dialogue: ChatDialogue,
    conversation: Conversation,
    query: CallbackQuery,
    action: Action,
) -> HandlerResult {
    let chat_id = dialogue.chat_id();
    let (draft_id, button) = match action {
        Action::Language(language) => {
            return commands::set_language(bot, desk, dialogue, conversation, query, language)
                .await;
        }
        Action::Orders { offset } => {
            return orders::show_page(&bot, &desk, &conversation, &query, chat_id, offset).await;
        }
        Action::Order { order, button } => {
            return match button {
                OrderButton::View => {
                    orders::show_order(&bot, &desk, &conversation, &query, chat_id, order, true)
                        .await
                }
                OrderButton::Open => {
                    orders::show_order(&bot, &desk, &conversation, &query, chat_id, order, false)
                        .await
                }
                OrderButton::AskCancel => {
                    orders::ask_cancel(&bot, &desk, &conversation, &query, chat_id, order).await
                }
                OrderButton::Cancel { version } => {
                    orders::cancel(&bot, &desk, &conversation, &query, chat_id, order, version)
                        .await
                }
                OrderButton::Write => {
                    orders::start_message(&bot, &desk, &dialogue, &conversation, &query, order)
                        .await
                }
            };
        }
        Action::Draft { draft, button } => (draft, button),
    };
    let Some(draft) = current_draft(&conversation, draft_id).cloned() else {
        return answer_outdated(&bot, &desk.texts, conversation.language, &query).await;
    };
    match button {
        DraftButton::Category(category) => {
            drafting::open_category(
                &bot,
                &desk,
                &conversation,
                &query,
                chat_id,
                &draft,
                category,
            )
            .await
        }
        DraftButton::ChangeService => {
            drafting::open_category(&bot, &desk, &conversation, &query, chat_id, &draft, 0).await
        }
        DraftButton::Service(service) => {
            drafting::choose_service(
                &bot,
                &desk,
                &dialogue,
                &conversation,
                &query,
                draft,
                Some(service),
            )
            .await
        }
        DraftButton::OtherService => {
            drafting::choose_service(&bot, &desk, &dialogue, &conversation, &query, draft, None)
                .await
        }
        DraftButton::Done => {
            confirmation::summarize(&bot, &desk, &conversation, &query, chat_id, &draft).await
        }
        DraftButton::Edit => {
            confirmation::edit(&bot, &desk, &conversation, &query, chat_id, &draft).await
        }
        DraftButton::ClearText => {
            confirmation::clear(
                &bot,
                &desk,
                &dialogue,
                &conversation,
                &query,
                draft,
                key::DRAFT_TEXT_CLEARED,
            )
            .await
        }
        DraftButton::ClearFiles => {
            confirmation::clear(
                &bot,
                &desk,
                &dialogue,
                &conversation,
                &query,
                draft,
                key::DRAFT_FILES_CLEARED,
            )
            .await
        }
        DraftButton::Confirm { revision } => {
            confirmation::confirm(bot, desk, dialogue, conversation, query, draft, revision).await
        }
        DraftButton::Cancel => confirmation::cancel(bot, desk, dialogue, conversation, query).await,
    }
}

/// A button that is not ours at all (its data does not parse).
pub async fn outdated(
    bot: GatewayBot,
    desk: Arc<Desk>,
    conversation: Conversation,
    query: CallbackQuery,
) -> HandlerResult {
    answer_outdated(&bot, &desk.texts, conversation.language, &query).await
}

/// "This button is outdated": for forged data, a draft that is gone, an order that is not
/// the customer's (or no longer in the state the button was drawn for).
pub async fn answer_outdated(
    bot: &GatewayBot,
    texts: &Texts,
    language: Language,
    query: &CallbackQuery,
) -> HandlerResult {
    bot.answer_callback_query(query.id.clone())
        .text(texts.get(language, key::BUTTON_OUTDATED))
        .await?;
    Ok(())
}
