//! Who the customer is: name, then phone (Telegram's "share my phone number" button, or
//! typed and checked). Asked once, when the first order is confirmed, which is then placed
//! at once; changeable any time with `/profile`. The profile lives in the conversation and
//! travels in every `OrderCreated`.

use std::sync::Arc;

use teloxide::prelude::*;

use super::confirmation::place_order;
use super::{Desk, HandlerResult};
use crate::dialogue::{
    ChatDialogue, Conversation, DraftStep, MAX_NAME_CHARS, Profile, Registration, Stage,
};
use crate::menu::{main_menu, share_phone};
use crate::phone;
use crate::telegram::GatewayBot;
use crate::texts::key;

/// `/profile`: the details we have, and the way to change them.
pub async fn show_profile(
    bot: GatewayBot,
    desk: Arc<Desk>,
    dialogue: ChatDialogue,
    conversation: Conversation,
    message: Message,
) -> HandlerResult {
    let language = conversation.language;
    if let Some(draft) = conversation.draft() {
        // Changing the profile would drop the draft: finish or cancel it first.
        return super::drafting::point_to_open_draft(&bot, &desk, message.chat.id, language, draft)
            .await;
    }
    let text = match &conversation.profile {
        Some(profile) => desk.texts.format(
            language,
            key::PROFILE_SHOW,
            &[("name", &profile.name), ("phone", &profile.phone)],
        ),
        None => desk.texts.get(language, key::PROFILE_NONE),
    };
    dialogue
        .update(conversation.with_stage(Stage::UpdatingProfile(Registration::Name)))
        .await?;
    let name = message
        .from
        .as_ref()
        .map(|user| user.full_name())
        .unwrap_or_default();
    bot.send_message(message.chat.id, text)
        .reply_markup(crate::menu::name_suggestion(&name))
        .await?;
    Ok(())
}

/// A message while registration is under way: the name, then the phone.
pub async fn receive(
    bot: GatewayBot,
    desk: Arc<Desk>,
    dialogue: ChatDialogue,
    conversation: Conversation,
    message: Message,
) -> HandlerResult {
    let language = conversation.language;
    let Some(step) = conversation.registration().cloned() else {
        return Ok(());
    };
    let chat_id = message.chat.id;
    match step {
        Registration::Name => {
            let Some(name) = valid_name(message.text()) else {
                let limit = MAX_NAME_CHARS.to_string();
                bot.send_message(
                    chat_id,
                    desk.texts
                        .format(language, key::REGISTER_NAME_INVALID, &[("limit", &limit)]),
                )
                .await?;
                return Ok(());
            };
            dialogue
                .update(at_step(
                    &conversation,
                    Registration::Phone { name: name.clone() },
                ))
                .await?;
            bot.send_message(
                chat_id,
                desk.texts
                    .format(language, key::REGISTER_PHONE, &[("name", &name)]),
            )
            .reply_markup(share_phone(desk.texts.words(language)))
            .await?;
        }
        Registration::Phone { name } => {
            let from_id = message.from.as_ref().map(|user| user.id);
            let phone = match (message.contact(), message.text()) {
                (Some(contact), _) if contact.user_id != from_id || from_id.is_none() => {
                    bot.send_message(
                        chat_id,
                        desk.texts.get(language, key::REGISTER_PHONE_NOT_YOURS),
                    )
                    .reply_markup(share_phone(desk.texts.words(language)))
                    .await?;
                    return Ok(());
                }
                (Some(contact), _) => phone::normalize(&format!(
                    "+{}",
                    contact.phone_number.trim_start_matches('+')
                )),
                (None, Some(text)) => phone::normalize(text),
                (None, None) => None,
            };
            let Some(phone) = phone else {
                bot.send_message(
                    chat_id,
                    desk.texts.get(language, key::REGISTER_PHONE_INVALID),
                )
                .reply_markup(share_phone(desk.texts.words(language)))
                .await?;
                return Ok(());
            };
            let mut registered = conversation.clone();
            registered.profile = Some(Profile { name, phone });
            complete(&bot, &desk, &dialogue, registered, &message).await?;
        }
    }
    Ok(())
}

/// Registration done: a pending order is placed now; a `/profile` change is confirmed.
async fn complete(
    bot: &GatewayBot,
    desk: &Desk,
    dialogue: &ChatDialogue,
    conversation: Conversation,
    message: &Message,
) -> HandlerResult {
    let language = conversation.language;
    match conversation.draft().cloned() {
        Some(draft) => {
            // Saved before publishing, so the profile is kept whatever the broker does. The
            // draft stays at the phone step until the order is placed: if placing is
            // deferred, Telegram's second delivery of this message takes the same path.
            let conversation = conversation.drafting(draft.clone());
            dialogue.update(conversation.clone()).await?;
            let Some(from) = message.from.as_ref() else {
                return Ok(());
            };
            place_order(bot, desk, dialogue, &conversation, &draft, from).await
        }
        None => {
            let idle = conversation.idle();
            dialogue.update(idle.clone()).await?;
            let profile = idle.profile.unwrap_or_else(|| Profile {
                name: String::new(),
                phone: String::new(),
            });
            let text = desk.texts.format(
                language,
                key::PROFILE_SAVED,
                &[("name", &profile.name), ("phone", &profile.phone)],
            );
            bot.send_message(message.chat.id, text)
                .reply_markup(main_menu(desk.texts.words(language)))
                .await?;
            Ok(())
        }
    }
}

/// The conversation with its registration (in a draft or on its own) at `step`.
fn at_step(conversation: &Conversation, step: Registration) -> Conversation {
    match conversation.draft() {
        Some(draft) => {
            let mut draft = draft.clone();
            draft.step = DraftStep::Registering(step);
            conversation.drafting(draft)
        }
        None => conversation.with_stage(Stage::UpdatingProfile(step)),
    }
}

/// A name as the customer typed it, trimmed, if it is one.
fn valid_name(text: Option<&str>) -> Option<String> {
    let name = text?.split_whitespace().collect::<Vec<_>>().join(" ");
    let plausible =
        !name.is_empty() && name.chars().count() <= MAX_NAME_CHARS && !name.starts_with('/');
    plausible.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            valid_name(Some("  Олена   Коваленко ")).as_deref(),
            Some("Олена Коваленко")
        );
        assert_eq!(valid_name(Some("   ")), None);
        assert_eq!(valid_name(None), None);
        assert_eq!(valid_name(Some(&"я".repeat(MAX_NAME_CHARS + 1))), None);
    }
}
