//! The inline keyboards under the bot's messages. Labels come from the text catalogue (or
//! the catalogue of services), in the conversation's language; callback data from
//! [`Action`], ids only.

use proto_events::OrderStatus;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};
use uuid::Uuid;

use crate::buttons::{Action, DraftButton, OrderButton};
use crate::catalogue::Level;
use crate::dialogue::{Draft, Language};
use crate::order_lookup::{OrderDetails, OrderPage, PAGE_SIZE};
use crate::texts::{Texts, Words, key};

fn button(label: impl Into<String>, action: Action) -> InlineKeyboardButton {
    InlineKeyboardButton::callback(label, action.to_callback_data())
}

/// A button labelled from the text catalogue.
fn labelled(words: Words, key: &str, action: Action) -> InlineKeyboardButton {
    button(words.get(key), action)
}

pub fn languages(texts: &Texts) -> InlineKeyboardMarkup {
    // Each language's name in that language, so the customer finds theirs.
    InlineKeyboardMarkup::new([[
        button(
            texts.get(Language::Uk, key::LANGUAGE_LABEL_UK),
            Action::Language(Language::Uk),
        ),
        button(
            texts.get(Language::En, key::LANGUAGE_LABEL_EN),
            Action::Language(Language::En),
        ),
    ]])
}

/// One level of the catalogue: categories, then services, one per row; "Other" at the top
/// level, "Back" below a category.
pub fn catalogue(words: Words, draft: Uuid, level: &Level) -> InlineKeyboardMarkup {
    let for_draft = |button| Action::draft(draft, button);
    let mut rows: Vec<Vec<InlineKeyboardButton>> = Vec::new();
    for category in &level.categories {
        rows.push(vec![button(
            format!("📂 {}", category.name),
            for_draft(DraftButton::Category(category.id)),
        )]);
    }
    for service in &level.services {
        rows.push(vec![button(
            service.name.clone(),
            for_draft(DraftButton::Service(service.id)),
        )]);
    }
    match level.back_to {
        Some(parent) => rows.push(vec![labelled(
            words,
            key::BUTTON_BACK,
            for_draft(DraftButton::Category(parent)),
        )]),
        None => rows.push(vec![labelled(
            words,
            key::BUTTON_OTHER,
            for_draft(DraftButton::OtherService),
        )]),
    }
    rows.push(vec![labelled(
        words,
        key::BUTTON_CANCEL,
        for_draft(DraftButton::Cancel),
    )]);
    InlineKeyboardMarkup::new(rows)
}

/// Under the order's card: Confirm once there is something to order, Edit, Cancel; before
/// that, the service and Cancel.
pub fn card(words: Words, draft: &Draft) -> InlineKeyboardMarkup {
    if draft.is_empty() {
        let for_draft = |button| Action::draft(draft.order_id, button);
        return InlineKeyboardMarkup::new([[
            labelled(
                words,
                key::BUTTON_CHANGE_SERVICE,
                for_draft(DraftButton::ChangeService),
            ),
            labelled(words, key::BUTTON_CANCEL, for_draft(DraftButton::Cancel)),
        ]]);
    }
    summary(words, draft)
}

/// Under the card while a first-time customer registers: only the way out.
pub fn registering(words: Words, draft: Uuid) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([[labelled(
        words,
        key::BUTTON_CANCEL,
        Action::draft(draft, DraftButton::Cancel),
    )]])
}

/// Confirm places exactly what the card shows (its revision); the cart and another
/// service beside it.
fn summary(words: Words, draft: &Draft) -> InlineKeyboardMarkup {
    let for_draft = |button| Action::draft(draft.order_id, button);
    let revision = draft.revision;
    let mut shopping = Vec::new();
    if !draft.items.is_empty() {
        shopping.push(labelled(
            words,
            key::BUTTON_CART,
            for_draft(DraftButton::Cart),
        ));
    }
    shopping.push(labelled(
        words,
        key::BUTTON_ADD_SERVICE,
        for_draft(DraftButton::ChangeService),
    ));
    InlineKeyboardMarkup::new([
        vec![labelled(
            words,
            key::BUTTON_CONFIRM,
            for_draft(DraftButton::Confirm { revision }),
        )],
        shopping,
        vec![
            labelled(words, key::BUTTON_EDIT, for_draft(DraftButton::Edit)),
            labelled(words, key::BUTTON_CANCEL, for_draft(DraftButton::Cancel)),
        ],
    ])
}

/// The cart: per service − / its quantity (🔢 types one) / + / 🗑; then another service,
/// and back to the order.
pub fn cart(
    words: Words,
    draft: &Draft,
    names: &std::collections::HashMap<u32, crate::pricing::Listed>,
) -> InlineKeyboardMarkup {
    let for_draft = |button| Action::draft(draft.order_id, button);
    let mut rows: Vec<Vec<InlineKeyboardButton>> = draft
        .items
        .iter()
        .map(|item| {
            let name = names
                .get(&item.service_id)
                .map_or(item.code.as_str(), |listed| listed.name.as_str());
            let service = item.service_id;
            vec![
                button("➖", for_draft(DraftButton::Fewer(service))),
                button(
                    format!(
                        "{} {name} × {}",
                        words.get(key::BUTTON_QUANTITY),
                        item.quantity
                    ),
                    for_draft(DraftButton::AskQuantity(service)),
                ),
                button("➕", for_draft(DraftButton::More(service))),
                labelled(
                    words,
                    key::BUTTON_REMOVE,
                    for_draft(DraftButton::Remove(service)),
                ),
            ]
        })
        .collect();
    rows.push(vec![labelled(
        words,
        key::BUTTON_ADD_SERVICE,
        for_draft(DraftButton::ChangeService),
    )]);
    rows.push(vec![labelled(
        words,
        key::BUTTON_TO_SUMMARY,
        for_draft(DraftButton::Done),
    )]);
    InlineKeyboardMarkup::new(rows)
}

pub fn edit(words: Words, draft: Uuid) -> InlineKeyboardMarkup {
    let row = |key, button| vec![labelled(words, key, Action::draft(draft, button))];
    InlineKeyboardMarkup::new([
        row(key::BUTTON_CHANGE_SERVICE, DraftButton::ChangeService),
        row(key::BUTTON_CLEAR_TEXT, DraftButton::ClearText),
        row(key::BUTTON_CLEAR_FILES, DraftButton::ClearFiles),
        row(key::BUTTON_TO_SUMMARY, DraftButton::Done),
    ])
}

/// One button per order, then Newer / Older where there are more.
pub fn order_list(words: Words, page: &OrderPage) -> InlineKeyboardMarkup {
    let mut rows: Vec<Vec<InlineKeyboardButton>> = page
        .lines
        .iter()
        .map(|line| {
            let status = words.status(line.status);
            let label = words.format(
                key::ORDERS_BUTTON,
                &[("number", &line.number), ("status", &status)],
            );
            vec![button(label, Action::order(line.id, OrderButton::View))]
        })
        .collect();
    let mut paging = Vec::new();
    if page.offset > 0 {
        let offset = page.offset.saturating_sub(PAGE_SIZE);
        paging.push(labelled(
            words,
            key::BUTTON_NEWER,
            Action::Orders { offset },
        ));
    }
    if page.offset + PAGE_SIZE < page.total {
        let offset = page.offset + PAGE_SIZE;
        paging.push(labelled(
            words,
            key::BUTTON_OLDER,
            Action::Orders { offset },
        ));
    }
    if !paging.is_empty() {
        rows.push(paging);
    }
    InlineKeyboardMarkup::new(rows)
}

/// Just the way back to the list (under "order cancelled").
pub fn order_list_back(words: Words) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([[labelled(
        words,
        key::BUTTON_TO_LIST,
        Action::Orders { offset: 0 },
    )]])
}

/// What the customer may do with this order in its current status; "💳 Pay" when
/// something is left to pay (`payable`).
pub fn order_actions(words: Words, order: &OrderDetails, payable: bool) -> InlineKeyboardMarkup {
    let for_order = |button| Action::order(order.id, button);
    let mut rows = Vec::new();
    if payable {
        rows.push(vec![labelled(
            words,
            key::BUTTON_PAY,
            for_order(OrderButton::Pay),
        )]);
    }
    if order.status.customer_may_cancel() {
        rows.push(vec![labelled(
            words,
            key::BUTTON_CANCEL_ORDER,
            for_order(OrderButton::AskCancel),
        )]);
    }
    if !matches!(order.status, OrderStatus::Cancelled | OrderStatus::Rejected) {
        rows.push(vec![labelled(
            words,
            key::BUTTON_WRITE,
            for_order(OrderButton::Write),
        )]);
    }
    rows.push(vec![labelled(
        words,
        key::BUTTON_TO_LIST,
        Action::Orders { offset: 0 },
    )]);
    InlineKeyboardMarkup::new(rows)
}

/// "Cancel order N?": yes carries the status version the customer saw.
pub fn cancel_question(words: Words, order: &OrderDetails) -> InlineKeyboardMarkup {
    let for_order = |button| Action::order(order.id, button);
    let version = order.version;
    InlineKeyboardMarkup::new([[
        labelled(
            words,
            key::BUTTON_YES_CANCEL,
            for_order(OrderButton::Cancel { version }),
        ),
        labelled(words, key::BUTTON_NO, for_order(OrderButton::View)),
    ]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Entry;
    use crate::order_lookup::OrderLine;

    fn data(markup: &InlineKeyboardMarkup) -> Vec<String> {
        markup
            .inline_keyboard
            .iter()
            .flatten()
            .filter_map(|button| match &button.kind {
                teloxide::types::InlineKeyboardButtonKind::CallbackData(data) => Some(data.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_top_level_offers_other_and_a_category_offers_back() {
        let texts = Texts::load();
        let draft = Uuid::now_v7();
        let entry = |id, name: &str| Entry {
            id,
            name: name.into(),
        };
        let top = Level {
            category: None,
            back_to: None,
            categories: vec![entry(1, "Translation")],
            services: vec![entry(6, "Apostille")],
        };
        let d = draft.simple();
        assert_eq!(
            data(&catalogue(texts.words(Language::En), draft, &top)),
            [
                format!("cc:{d}:1"),
                format!("cs:{d}:6"),
                format!("co:{d}"),
                format!("cancel:{d}")
            ]
        );
        let nested = Level {
            category: Some(entry(2, "Documents")),
            back_to: Some(1),
            categories: vec![],
            services: vec![entry(1, "Passport")],
        };
        assert_eq!(
            data(&catalogue(texts.words(Language::En), draft, &nested)),
            [
                format!("cs:{d}:1"),
                format!("cc:{d}:1"),
                format!("cancel:{d}")
            ]
        );
    }

    #[test]
    fn the_list_pages_both_ways() {
        let texts = Texts::load();
        let line = OrderLine {
            id: Uuid::now_v7(),
            number: "48213097".into(),
            status: OrderStatus::Accepted,
        };
        let page = OrderPage {
            total: 12,
            offset: 5,
            lines: vec![line.clone()],
        };
        let all = data(&order_list(texts.words(Language::En), &page));
        assert_eq!(
            all,
            [
                format!("od:{}", line.id.simple()),
                "ol:0".to_owned(),
                "ol:10".to_owned()
            ]
        );
        let last = OrderPage {
            total: 12,
            offset: 10,
            lines: vec![line],
        };
        assert_eq!(
            data(&order_list(texts.words(Language::En), &last))[1..],
            ["ol:5".to_owned()]
        );
    }

    #[test]
    fn cancel_is_offered_only_where_the_customer_may_cancel() {
        let texts = Texts::load();
        let mut order = OrderDetails {
            id: Uuid::now_v7(),
            number: "48213097".into(),
            status: OrderStatus::AwaitingConfirmation,
            version: 1,
            service_code: None,
            body: String::new(),
            created_at: chrono::Utc::now(),
            files: vec![],
            history: vec![],
        };
        assert!(
            data(&order_actions(texts.words(Language::Uk), &order, false))[0].starts_with("oc:")
        );
        order.status = OrderStatus::InProgress;
        assert!(
            data(&order_actions(texts.words(Language::Uk), &order, false))
                .iter()
                .all(|d| !d.starts_with("oc:"))
        );
        order.status = OrderStatus::Quoted;
        order.version = 3;
        assert_eq!(
            data(&cancel_question(texts.words(Language::Uk), &order))[0],
            format!("oy:{}:3", order.id.simple())
        );
    }
}
