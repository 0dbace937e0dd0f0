//! Every inline button press lands here, parsed into an [`Action`], and goes to the handler
//! for it. Draft buttons act only on the draft they were drawn for; order buttons only on
//! the customer's own orders (checked by each handler). Anything else is "outdated", and
//! every callback query gets an answer.

use std::sync::Arc;

use teloxide::prelude::*;

use super::drafting::current_draft;
use super::{Desk, HandlerResult, commands, confirmation, drafting, orders};
use crate::buttons::Action;
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
    match action {
        Action::Language(language) => {
            return commands::set_language(bot, desk, dialogue, conversation, query, language)
                .await;
        }
        Action::Orders { offset } => {
            return orders::show_page(&bot, &desk, &conversation, &query, chat_id, offset).await;
        }
        Action::Order(order) => {
            return orders::show_order(&bot, &desk, &conversation, &query, chat_id, order, true)
                .await;
        }
        Action::OpenOrder(order) => {
            return orders::show_order(&bot, &desk, &conversation, &query, chat_id, order, false)
                .await;
        }
        Action::AskCancelOrder(order) => {
            return orders::ask_cancel(&bot, &desk, &conversation, &query, chat_id, order).await;
        }
        Action::CancelOrder { order, version } => {
            return orders::cancel(&bot, &desk, &conversation, &query, chat_id, order, version)
                .await;
        }
        Action::WriteAbout(order) => {
            return orders::start_message(&bot, &desk, &dialogue, &conversation, &query, order)
                .await;
        }
        _ => {}
    }
    let Some(draft) = action
        .draft()
        .and_then(|id| current_draft(&conversation, id))
        .cloned()
    else {
        return answer_outdated(&bot, &desk.texts, conversation.language, &query).await;
    };
    match action {
        Action::Category { category, .. } => {
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
        Action::ChangeService(_) => {
            drafting::open_category(&bot, &desk, &conversation, &query, chat_id, &draft, 0).await
        }
        Action::Service { service, .. } => {
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
        Action::OtherService(_) => {
            drafting::choose_service(&bot, &desk, &dialogue, &conversation, &query, draft, None)
                .await
        }
        Action::Done(_) => {
            confirmation::summarize(&bot, &desk, &conversation, &query, chat_id, &draft).await
        }
        Action::Edit(_) => {
            confirmation::edit(&bot, &desk, &conversation, &query, chat_id, &draft).await
        }
        Action::ClearText(_) => {
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
        Action::ClearFiles(_) => {
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
        Action::Confirm { revision, .. } => {
            confirmation::confirm(bot, desk, dialogue, conversation, query, draft, revision).await
        }
        Action::CancelDraft(_) => {
            confirmation::cancel(bot, desk, dialogue, conversation, query).await
        }
        // Handled above (a quote answer is outdated until its handler is added: see
        // `Action::AnswerQuote`).
        Action::AnswerQuote { .. }
        | Action::Language(_)
        | Action::Orders { .. }
        | Action::Order(_)
        | Action::OpenOrder(_)
        | Action::AskCancelOrder(_)
        | Action::CancelOrder { .. }
        | Action::WriteAbout(_) => Ok(()),
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
