//! Who the customer is: name, then phone (Telegram's "share my phone number" button, or
//! typed and checked). Asked once, when the first order is confirmed, which is then placed
//! at once; changeable any time with `/profile`. The profile lives in the conversation and
//! travels in every `OrderCreated`.

use teloxide::prelude::*;

use super::context::Chat;
use super::deferred::HandlerResult;
use super::placing::{Announce, place_order};
use crate::dialogue::{Conversation, DraftStep, MAX_NAME_CHARS, Profile, Registration, Stage};
use crate::menu::{main_menu, name_suggestion, share_phone};
use crate::phone;
use crate::texts::key;

/// `/profile`: the details we have, and the way to change them.
pub async fn show_profile(
    chat: Chat,
    conversation: Conversation,
    message: Message,
) -> HandlerResult {
    if let Some(draft) = conversation.draft() {
        // Changing the profile would drop the draft: finish or cancel it first.
        chat.point_to_open_draft(draft);
        return Ok(());
    }
    let text = match &conversation.profile {
        Some(profile) => chat.format(
            key::PROFILE_SHOW,
            &[("name", &profile.name), ("phone", &profile.phone)],
        ),
        None => chat.text(key::PROFILE_NONE),
    };
    chat.save(conversation.with_stage(Stage::UpdatingProfile(Registration::Name)))
        .await?;
    let name = message
        .from
        .as_ref()
        .map(|user| user.full_name())
        .unwrap_or_default();
    chat.reply_with(text, name_suggestion(&name));
    Ok(())
}

/// The name, while registration asks for it.
pub async fn receive_name(
    chat: Chat,
    conversation: Conversation,
    message: Message,
) -> HandlerResult {
    let Some(name) = valid_name(message.text()) else {
        let limit = MAX_NAME_CHARS.to_string();
        chat.reply(chat.format(key::REGISTER_NAME_INVALID, &[("limit", &limit)]));
        return Ok(());
    };
    chat.save(at_step(
        &conversation,
        Registration::Phone { name: name.clone() },
    ))
    .await?;
    chat.reply_with(
        chat.format(key::REGISTER_PHONE, &[("name", &name)]),
        share_phone(chat.words()),
    );
    Ok(())
}

/// The phone, while registration asks for it: the customer's own shared contact, or typed.
pub async fn receive_phone(
    chat: Chat,
    conversation: Conversation,
    message: Message,
    name: String,
) -> HandlerResult {
    let from_id = message.from.as_ref().map(|user| user.id);
    let phone = match (message.contact(), message.text()) {
        (Some(contact), _) if contact.user_id != from_id || from_id.is_none() => {
            chat.reply_with(
                chat.text(key::REGISTER_PHONE_NOT_YOURS),
                share_phone(chat.words()),
            );
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
        chat.reply_with(
            chat.text(key::REGISTER_PHONE_INVALID),
            share_phone(chat.words()),
        );
        return Ok(());
    };
    let mut registered = conversation;
    registered.profile = Some(Profile { name, phone });
    complete(&chat, registered, &message).await
}

/// Registration done: a pending order is placed now; a `/profile` change is confirmed.
async fn complete(chat: &Chat, conversation: Conversation, message: &Message) -> HandlerResult {
    let Some(draft) = conversation.draft().cloned() else {
        let idle = conversation.idle();
        chat.save(idle.clone()).await?;
        let profile = idle.profile.unwrap_or_else(|| Profile {
            name: String::new(),
            phone: String::new(),
        });
        chat.reply_with(
            chat.format(
                key::PROFILE_SAVED,
                &[("name", &profile.name), ("phone", &profile.phone)],
            ),
            main_menu(chat.words()),
        );
        return Ok(());
    };
    // Saved before publishing, so the profile is kept whatever the broker does. The draft
    // stays at the phone step until the order is placed: if placing is deferred, Telegram's
    // second delivery of this message takes the same path.
    chat.save(conversation.clone()).await?;
    let Some(from) = message.from.as_ref() else {
        return Ok(());
    };
    place_order(chat, &conversation, &draft, from, Announce::WithTheMenu).await
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
