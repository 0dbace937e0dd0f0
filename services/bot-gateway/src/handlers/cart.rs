//! The cart on the order's card: "🛒 Cart" shows each service with − / 🔢 / + / 🗑, edited
//! in place; 🔢 asks for a typed quantity (the next text). Every change re-reads the price
//! list, so the card always shows the prices the order would be placed at; a quantity of 0,
//! of a million, or not a number is refused with the bounds and the cart left as it was. A
//! button for a service not in the cart (forged, or from an older card) is "outdated".

use super::card;
use super::context::{Chat, Press};
use super::deferred::HandlerResult;
use crate::dialogue::{
    CartRefusal, Conversation, Draft, DraftStep, MAX_ITEM_QUANTITY, MAX_ORDER_ITEMS,
};
use crate::keyboards;
use crate::pricing;
use crate::texts::key;

/// The service whose quantity the next text is (the draft's [`DraftStep::SettingQuantity`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuantityFor(pub u32);

impl QuantityFor {
    pub fn of(conversation: &Conversation) -> Option<QuantityFor> {
        match conversation.draft()?.step {
            DraftStep::SettingQuantity { service } => Some(QuantityFor(service)),
            _ => None,
        }
    }
}

/// "🛒 Cart": the cart with its buttons, in place of the card.
pub async fn show(press: Press, draft: Draft) -> HandlerResult {
    show_cart(&press, &draft).await
}

async fn show_cart(press: &Press, draft: &Draft) -> HandlerResult {
    if draft.items.is_empty() {
        card::show_with(
            press,
            draft,
            key::CART_EMPTY,
            keyboards::card(press.words(), draft),
        )
        .await?;
        return Ok(());
    }
    let ids: Vec<u32> = draft.items.iter().map(|item| item.service_id).collect();
    let names = pricing::listed(press.desk.pool(), &ids, press.language).await?;
    let cart = pricing::cart_text(press.words(), draft, &names);
    press.show_card(
        draft,
        press.format(key::CART_VIEW, &[("cart", &cart)]),
        keyboards::cart(press.words(), draft, &names),
    );
    Ok(())
}

/// ➕: one more.
pub async fn more(
    press: Press,
    conversation: Conversation,
    draft: Draft,
    service: u32,
) -> HandlerResult {
    let Some(quantity) = draft.quantity_of(service) else {
        return press.outdated();
    };
    change(press, conversation, draft, |draft| {
        draft.set_quantity(service, quantity + 1)
    })
    .await
}

/// ➖: one fewer; the last one takes the service out.
pub async fn fewer(
    press: Press,
    conversation: Conversation,
    draft: Draft,
    service: u32,
) -> HandlerResult {
    let Some(quantity) = draft.quantity_of(service) else {
        return press.outdated();
    };
    change(press, conversation, draft, |draft| {
        if quantity <= 1 {
            draft.remove_item(service)
        } else {
            draft.set_quantity(service, quantity - 1)
        }
    })
    .await
}

/// 🗑: takes the service out.
pub async fn remove(
    press: Press,
    conversation: Conversation,
    draft: Draft,
    service: u32,
) -> HandlerResult {
    if draft.quantity_of(service).is_none() {
        return press.outdated();
    }
    press.answer(key::CART_REMOVED);
    change(press, conversation, draft, |draft| {
        draft.remove_item(service)
    })
    .await
}

/// Applies a change to the cart, re-reads the prices and shows the cart again; a refused
/// change is answered with its reason and changes nothing.
async fn change(
    press: Press,
    conversation: Conversation,
    mut draft: Draft,
    apply: impl FnOnce(&mut Draft) -> Result<(), CartRefusal>,
) -> HandlerResult {
    if let Err(refusal) = apply(&mut draft) {
        answer_refusal(&press, refusal);
        return Ok(());
    }
    pricing::reprice(press.desk.pool(), &mut draft, press.language).await?;
    press.save(conversation.drafting(draft.clone())).await?;
    show_cart(&press, &draft).await
}

/// The notice over the button for a refused change.
pub fn answer_refusal(press: &Press, refusal: CartRefusal) {
    let max = MAX_ITEM_QUANTITY.to_string();
    let limit = MAX_ORDER_ITEMS.to_string();
    let text = match refusal {
        CartRefusal::QuantityOutOfRange => press.format(key::CART_QUANTITY_MAX, &[("max", &max)]),
        CartRefusal::TooManyItems => press.format(key::CART_TOO_MANY, &[("limit", &limit)]),
        CartRefusal::NotInCart => press.text(key::BUTTON_OUTDATED),
    };
    press.answer_text(text);
}

/// 🔢: the next text is the quantity.
pub async fn ask_quantity(
    press: Press,
    conversation: Conversation,
    mut draft: Draft,
    service: u32,
) -> HandlerResult {
    let Some(item) = draft.items.iter().find(|item| item.service_id == service) else {
        return press.outdated();
    };
    let names = pricing::listed(press.desk.pool(), &[service], press.language).await?;
    let name = names
        .get(&service)
        .map_or(item.code.clone(), |listed| listed.name.clone());
    let unit = press.text(pricing::unit_key(&item.price.unit));
    draft.step = DraftStep::SettingQuantity { service };
    press.save(conversation.drafting(draft)).await?;
    press.reply(press.format(
        key::CART_QUANTITY_PROMPT,
        &[
            ("name", &name),
            ("unit", &unit),
            ("max", &MAX_ITEM_QUANTITY.to_string()),
        ],
    ));
    Ok(())
}

/// The typed quantity: 1..=999 sets it and shows the card; anything else is refused and
/// the cart kept (the next text is still the quantity).
pub async fn receive_quantity(
    chat: Chat,
    conversation: Conversation,
    text: String,
    QuantityFor(service): QuantityFor,
) -> HandlerResult {
    let mut draft = conversation.draft_or_new();
    let quantity = parse_quantity(&text);
    let outcome = match quantity {
        Some(quantity) => draft.set_quantity(service, quantity),
        None => Err(CartRefusal::QuantityOutOfRange),
    };
    match outcome {
        Ok(()) => {}
        Err(CartRefusal::NotInCart) => {
            // Taken out meanwhile: the text is the order's description again.
            draft.step = DraftStep::Collecting;
            chat.save(conversation.drafting(draft.clone())).await?;
            card::show(&chat, &draft).await?;
            return Ok(());
        }
        Err(_) => {
            chat.reply(chat.format(
                key::CART_QUANTITY_INVALID,
                &[("max", &MAX_ITEM_QUANTITY.to_string())],
            ));
            return Ok(());
        }
    }
    pricing::reprice(chat.desk.pool(), &mut draft, chat.language).await?;
    chat.save(conversation.drafting(draft.clone())).await?;
    card::show(&chat, &draft).await?;
    Ok(())
}

/// A whole number as customers type it ("3", " 12 "); `None` for anything else, or for one
/// too large to be a quantity at all.
fn parse_quantity(text: &str) -> Option<u32> {
    let text = text.trim();
    if text.is_empty() || text.len() > 9 || !text.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::parse_quantity;

    #[test]
    fn quantities_are_whole_numbers() {
        assert_eq!(parse_quantity(" 12 "), Some(12));
        assert_eq!(
            parse_quantity("0"),
            Some(0),
            "parsed; refused by the cart's bounds"
        );
        assert_eq!(parse_quantity("1000000"), Some(1_000_000));
        assert_eq!(parse_quantity("99999999999999"), None);
        for text in ["", "-1", "2.5", "two", "1e3", "+3"] {
            assert_eq!(parse_quantity(text), None, "{text}");
        }
    }
}
