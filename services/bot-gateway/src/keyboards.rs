//! The inline keyboards under the bot's messages. Labels come from the text catalogue (or
//! the catalogue of services); callback data from [`Action`], ids only.

use proto_events::OrderStatus;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};
use uuid::Uuid;

use crate::buttons::Action;
use crate::catalogue::Level;
use crate::dialogue::{Draft, Language};
use crate::order_lookup::{OrderDetails, OrderPage, PAGE_SIZE};
use crate::texts::{Texts, key};

fn button(label: impl Into<String>, action: Action) -> InlineKeyboardButton {
    InlineKeyboardButton::callback(label, action.to_callback_data())
}

/// Labels from the text catalogue, in one language.
struct Labels<'a> {
    texts: &'a Texts,
    language: Language,
}

impl Labels<'_> {
    fn button(&self, key: &str, action: Action) -> InlineKeyboardButton {
        button(self.texts.get(self.language, key), action)
    }
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
pub fn catalogue(
    texts: &Texts,
    language: Language,
    draft: Uuid,
    level: &Level,
) -> InlineKeyboardMarkup {
    let labels = Labels { texts, language };
    let mut rows: Vec<Vec<InlineKeyboardButton>> = Vec::new();
    for category in &level.categories {
        rows.push(vec![button(
            format!("📂 {}", category.name),
            Action::Category {
                draft,
                category: category.id,
            },
        )]);
    }
    for service in &level.services {
        rows.push(vec![button(
            service.name.clone(),
            Action::Service {
                draft,
                service: service.id,
            },
        )]);
    }
    match level.back_to {
        Some(parent) => rows.push(vec![labels.button(
            key::BUTTON_BACK,
            Action::Category {
                draft,
                category: parent,
            },
        )]),
        None => rows.push(vec![
            labels.button(key::BUTTON_OTHER, Action::OtherService(draft)),
        ]),
    }
    rows.push(vec![
        labels.button(key::BUTTON_CANCEL, Action::CancelDraft(draft)),
    ]);
    InlineKeyboardMarkup::new(rows)
}

/// Under every "noted" / "file received": finish, or drop the draft.
pub fn collecting(texts: &Texts, language: Language, draft: Uuid) -> InlineKeyboardMarkup {
    let labels = Labels { texts, language };
    InlineKeyboardMarkup::new([[
        labels.button(key::BUTTON_DONE, Action::Done(draft)),
        labels.button(key::BUTTON_CANCEL, Action::CancelDraft(draft)),
    ]])
}

/// Under the summary: Confirm places exactly what the summary shows (its revision).
pub fn summary(texts: &Texts, language: Language, draft: &Draft) -> InlineKeyboardMarkup {
    let labels = Labels { texts, language };
    let id = draft.order_id;
    InlineKeyboardMarkup::new([
        vec![labels.button(
            key::BUTTON_CONFIRM,
            Action::Confirm {
                draft: id,
                revision: draft.revision,
            },
        )],
        vec![
            labels.button(key::BUTTON_EDIT, Action::Edit(id)),
            labels.button(key::BUTTON_CANCEL, Action::CancelDraft(id)),
        ],
    ])
}

pub fn edit(texts: &Texts, language: Language, draft: Uuid) -> InlineKeyboardMarkup {
    let labels = Labels { texts, language };
    InlineKeyboardMarkup::new([
        vec![labels.button(key::BUTTON_CHANGE_SERVICE, Action::ChangeService(draft))],
        vec![labels.button(key::BUTTON_CLEAR_TEXT, Action::ClearText(draft))],
        vec![labels.button(key::BUTTON_CLEAR_FILES, Action::ClearFiles(draft))],
        vec![labels.button(key::BUTTON_TO_SUMMARY, Action::Done(draft))],
    ])
}

/// One button per order, then Newer / Older where there are more.
pub fn order_list(texts: &Texts, language: Language, page: &OrderPage) -> InlineKeyboardMarkup {
    let labels = Labels { texts, language };
    let mut rows: Vec<Vec<InlineKeyboardButton>> = page
        .lines
        .iter()
        .map(|line| {
            let status = texts.status(language, line.status);
            let label = texts.format(
                language,
                key::ORDERS_BUTTON,
                &[("number", &line.number), ("status", &status)],
            );
            vec![button(label, Action::Order(line.id))]
        })
        .collect();
    let mut paging = Vec::new();
    if page.offset > 0 {
        paging.push(labels.button(
            key::BUTTON_NEWER,
            Action::Orders {
                offset: page.offset.saturating_sub(PAGE_SIZE),
            },
        ));
    }
    if page.offset + PAGE_SIZE < page.total {
        paging.push(labels.button(
            key::BUTTON_OLDER,
            Action::Orders {
                offset: page.offset + PAGE_SIZE,
            },
        ));
    }
    if !paging.is_empty() {
        rows.push(paging);
    }
    InlineKeyboardMarkup::new(rows)
}

/// Just the way back to the list (under "order cancelled").
pub fn order_list_back(texts: &Texts, language: Language) -> InlineKeyboardMarkup {
    let labels = Labels { texts, language };
    InlineKeyboardMarkup::new([[labels.button(key::BUTTON_TO_LIST, Action::Orders { offset: 0 })]])
}

/// What the customer may do with this order in its current status.
pub fn order_actions(
    texts: &Texts,
    language: Language,
    order: &OrderDetails,
) -> InlineKeyboardMarkup {
    let labels = Labels { texts, language };
    let mut rows = Vec::new();
    if order.status.customer_may_cancel() {
        rows.push(vec![labels.button(
            key::BUTTON_CANCEL_ORDER,
            Action::AskCancelOrder(order.id),
        )]);
    }
    if !matches!(order.status, OrderStatus::Cancelled | OrderStatus::Rejected) {
        rows.push(vec![
            labels.button(key::BUTTON_WRITE, Action::WriteAbout(order.id)),
        ]);
    }
    rows.push(vec![
        labels.button(key::BUTTON_TO_LIST, Action::Orders { offset: 0 }),
    ]);
    InlineKeyboardMarkup::new(rows)
}

/// "Cancel order N?": yes carries the status version the customer saw.
pub fn cancel_question(
    texts: &Texts,
    language: Language,
    order: &OrderDetails,
) -> InlineKeyboardMarkup {
    let labels = Labels { texts, language };
    InlineKeyboardMarkup::new([[
        labels.button(
            key::BUTTON_YES_CANCEL,
            Action::CancelOrder {
                order: order.id,
                version: order.version,
            },
        ),
        labels.button(key::BUTTON_NO, Action::Order(order.id)),
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
            data(&catalogue(&texts, Language::En, draft, &top)),
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
            data(&catalogue(&texts, Language::En, draft, &nested)),
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
        let all = data(&order_list(&texts, Language::En, &page));
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
            data(&order_list(&texts, Language::En, &last))[1..],
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
        assert!(data(&order_actions(&texts, Language::Uk, &order))[0].starts_with("oc:"));
        order.status = OrderStatus::InProgress;
        assert!(
            data(&order_actions(&texts, Language::Uk, &order))
                .iter()
                .all(|d| !d.starts_with("oc:"))
        );
        order.status = OrderStatus::Quoted;
        order.version = 3;
        assert_eq!(
            data(&cancel_question(&texts, Language::Uk, &order))[0],
            format!("oy:{}:3", order.id.simple())
        );
    }
}
