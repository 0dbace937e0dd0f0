//! One customer in both channels (see `bureau_platform::identity`):
//!
//! - `/start <token>` (the web portal's "Link Telegram" button opens the bot with it): joins
//!   this Telegram user to the web account the token was issued for; their bot orders move
//!   to that one customer, so "My orders" here and on the website show the same orders;
//! - `/web`: a one-time link that signs this customer in on the website (or registers a web
//!   account joined to them).

use teloxide::prelude::*;

use super::context::{Chat, telegram_user_id};
use super::deferred::HandlerResult;
use crate::menu::main_menu;
use crate::texts::key;
use bureau_platform::identity::{JoinOutcome, LinkToken, TelegramIdentity};

fn identity_of(chat: &Chat, message: &Message) -> Option<TelegramIdentity> {
    let user = message.from.as_ref()?;
    Some(TelegramIdentity {
        user_id: telegram_user_id(user),
        chat_id: chat.id.0,
        username: user.username.clone(),
    })
}

/// `/start <token>`: the token from the website's "Link Telegram".
pub async fn join(chat: Chat, message: Message, token: &str) -> HandlerResult {
    let Some(identity) = identity_of(&chat, &message) else {
        return Ok(());
    };
    let Some(token) = LinkToken::from_presented(token) else {
        chat.reply_with(chat.text(key::LINK_INVALID), main_menu(chat.words()));
        return Ok(());
    };
    let answer = match chat.desk.join_web_customer(&token, &identity).await {
        Ok(JoinOutcome::Joined { .. }) => key::LINK_JOINED,
        Ok(JoinOutcome::AlreadyJoined { .. }) => key::LINK_ALREADY,
        Ok(JoinOutcome::TelegramTaken) => key::LINK_TELEGRAM_TAKEN,
        Ok(JoinOutcome::AccountTaken) => key::LINK_ACCOUNT_TAKEN,
        Ok(JoinOutcome::Invalid) => key::LINK_INVALID,
        Err(error) => {
            // Nothing was joined (the transaction did not commit): the same link works
            // again.
            tracing::error!(%error, "joining a Telegram user to a web customer failed");
            key::UNAVAILABLE
        }
    };
    chat.reply_with(chat.text(answer), main_menu(chat.words()));
    Ok(())
}

/// `/web`: a personal, one-time sign-in link for the website.
pub async fn web(chat: Chat, message: Message) -> HandlerResult {
    let Some(identity) = identity_of(&chat, &message) else {
        return Ok(());
    };
    match chat.desk.web_sign_in_link(&identity).await {
        Ok(url) => chat.reply(chat.format(key::LINK_WEB, &[("url", &url)])),
        Err(error) => {
            tracing::error!(%error, "issuing a web sign-in link failed");
            chat.reply(chat.text(key::UNAVAILABLE));
        }
    }
    Ok(())
}
