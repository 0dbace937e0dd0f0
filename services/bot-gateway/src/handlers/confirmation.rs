//! From a draft to a placed order, on the order's card: Confirm / Edit / Cancel under it;
//! Edit changes the service or clears text or files; Confirm places the order. (Done, on
//! cards drawn before Confirm sat on the card itself, shows the card again.)
//!
//! Confirm carries the draft's revision, so only a card that still shows the draft as it is
//! can place it. A customer we do not know yet is registered first (name, then phone, see
//! [`registration`](super::registration)), after which the order is placed without another
//! tap (see [`placing`](super::placing)). These buttons act only on the draft in progress
//! (the schema checks it); any other press of them is "outdated".

use super::card;
use super::context::Press;
use super::deferred::HandlerResult;
use super::placing::{Announce, place_order};
use crate::dialogue::{Conversation, Draft, DraftStep, Registration};
use crate::keyboards;
use crate::menu::{main_menu, name_suggestion};
use crate::texts::key;

/// Done (or "Back to the order" under Edit or the cart): the card, as the draft is; a
/// quantity being asked for is not awaited any more.
pub async fn summarize(
    press: Press,
    conversation: Conversation,
    mut draft: Draft,
) -> HandlerResult {
    if matches!(draft.step, DraftStep::SettingQuantity { .. }) {
        draft.step = DraftStep::Collecting;
        press.save(conversation.drafting(draft.clone())).await?;
    }
    card::show(&press, &draft).await?;
    Ok(())
}

/// Edit: what may be changed, in place of the summary.
pub async fn edit(press: Press, draft: Draft) -> HandlerResult {
    press.show_card(
        &draft,
        press.text(key::DRAFT_EDIT),
        keyboards::edit(press.words(), draft.order_id),
    );
    Ok(())
}

/// Clear the description.
pub async fn clear_text(
    press: Press,
    conversation: Conversation,
    mut draft: Draft,
) -> HandlerResult {
    draft.clear_description();
    press.save(conversation.drafting(draft.clone())).await?;
    press.answer(key::DRAFT_TEXT_CLEARED);
    card::show(&press, &draft).await?;
    Ok(())
}

/// Remove the files.
pub async fn clear_files(
    press: Press,
    conversation: Conversation,
    mut draft: Draft,
) -> HandlerResult {
    draft.clear_files();
    press.save(conversation.drafting(draft.clone())).await?;
    press.answer(key::DRAFT_FILES_CLEARED);
    card::show(&press, &draft).await?;
    Ok(())
}

/// Confirm: places the order as the card showed it (registering a new customer first).
pub async fn confirm(
    press: Press,
    conversation: Conversation,
    mut draft: Draft,
    revision: u32,
) -> HandlerResult {
    if revision != draft.revision {
        // The draft changed after this card was drawn: it is not what the customer saw.
        return press.outdated();
    }
    if draft.is_empty() {
        press.answer(key::DRAFT_EMPTY);
        return Ok(());
    }
    if conversation.profile.is_none() {
        // First order: who the customer is comes first; the order is placed right after.
        draft.step = DraftStep::Registering(Registration::Name);
        press.save(conversation.drafting(draft.clone())).await?;
        let keyboard = keyboards::registering(press.words(), draft.order_id);
        card::show_with(&press, &draft, key::DRAFT_CARD_REGISTERING, keyboard).await?;
        press.reply_with(
            press.text(key::REGISTER_NAME),
            name_suggestion(&press.user().full_name()),
        );
        return Ok(());
    }
    place_order(
        &press,
        &conversation,
        &draft,
        press.user(),
        Announce::OnTheCard,
    )
    .await
}

/// Cancel: the draft is dropped.
pub async fn cancel(press: Press, conversation: Conversation) -> HandlerResult {
    super::booking::release_draft(&press, &conversation).await?;
    press.save(conversation.idle()).await?;
    press.reply_with(press.text(key::DRAFT_CANCELLED), main_menu(press.words()));
    Ok(())
}
