//! Inline buttons: what their callback data says, and nothing more.
//!
//! Callback data carries ids only (a draft's or order's id, a catalogue id, a revision, a
//! page offset), never display text, and stays within Telegram's 64 bytes. It is never
//! trusted: a handler acts only if the data matches the chat's stored state (the draft in
//! progress, at the revision shown) or, for orders, an order the asking customer owns.
//! Anything that does not parse is answered "this button is outdated".

use proto_events::callbacks;
use uuid::Uuid;

use crate::dialogue::Language;

/// What an inline button asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `lg:uk`: speak this language from now on.
    Language(Language),
    /// `cc:<draft>:<category>`: open a catalogue category (0: the top level).
    Category { draft: Uuid, category: u32 },
    /// `cs:<draft>:<service>`: this catalogue service.
    Service { draft: Uuid, service: u32 },
    /// `co:<draft>`: none of the catalogue's services ("Other").
    OtherService(Uuid),
    /// `dn:<draft>`: everything is attached; show the summary.
    Done(Uuid),
    /// `confirm:<draft>:<revision>`: place the order as the summary showed it.
    Confirm { draft: Uuid, revision: u32 },
    /// `ed:<draft>`: what may be changed in the draft.
    Edit(Uuid),
    /// `es:<draft>`: choose the service again.
    ChangeService(Uuid),
    /// `et:<draft>`: clear the description.
    ClearText(Uuid),
    /// `ef:<draft>`: remove the files.
    ClearFiles(Uuid),
    /// `cancel:<draft>`: drop the draft.
    CancelDraft(Uuid),
    /// `ol:<offset>`: a page of the customer's orders.
    Orders { offset: u32 },
    /// `od:<order>`: one order's page, in place of the list.
    Order(Uuid),
    /// `order:<order>`: the notifier's "Open order" button under a notification; the page
    /// comes as a new message, so the notification stays readable.
    OpenOrder(Uuid),
    /// `oc:<order>`: asks whether to cancel the order.
    AskCancelOrder(Uuid),
    /// `oy:<order>:<version>`: cancel it, if its status is still at this version.
    CancelOrder { order: Uuid, version: u32 },
    /// `om:<order>`: write to staff about the order.
    WriteAbout(Uuid),
}

impl Action {
    pub fn to_callback_data(self) -> String {
        match self {
            Action::Language(language) => format!("lg:{}", language.tag()),
            Action::Category { draft, category } => format!("cc:{}:{category}", draft.simple()),
            Action::Service { draft, service } => format!("cs:{}:{service}", draft.simple()),
            Action::OtherService(draft) => format!("co:{}", draft.simple()),
            Action::Done(draft) => format!("dn:{}", draft.simple()),
            Action::Confirm { draft, revision } => format!("confirm:{}:{revision}", draft.simple()),
            Action::Edit(draft) => format!("ed:{}", draft.simple()),
            Action::ChangeService(draft) => format!("es:{}", draft.simple()),
            Action::ClearText(draft) => format!("et:{}", draft.simple()),
            Action::ClearFiles(draft) => format!("ef:{}", draft.simple()),
            Action::CancelDraft(draft) => format!("cancel:{}", draft.simple()),
            Action::Orders { offset } => format!("ol:{offset}"),
            Action::Order(order) => format!("od:{}", order.simple()),
            Action::OpenOrder(order) => callbacks::open_order(order),
            Action::AskCancelOrder(order) => format!("oc:{}", order.simple()),
            Action::CancelOrder { order, version } => format!("oy:{}:{version}", order.simple()),
            Action::WriteAbout(order) => format!("om:{}", order.simple()),
        }
    }

    /// `None` for anything that is not one of our buttons: the caller treats it as outdated.
    pub fn parse(data: &str) -> Option<Action> {
        let mut parts = data.split(':');
        let verb = parts.next()?;
        let first = parts.next();
        let second = parts.next();
        if parts.next().is_some() {
            return None;
        }
        let id = || first.and_then(|id| Uuid::parse_str(id).ok());
        let number = || second.and_then(|n| n.parse::<u32>().ok());
        let alone = |action: fn(Uuid) -> Action| {
            if second.is_none() {
                id().map(action)
            } else {
                None
            }
        };
        match verb {
            "lg" if second.is_none() => first.and_then(Language::from_tag).map(Action::Language),
            "cc" => Some(Action::Category {
                draft: id()?,
                category: number()?,
            }),
            "cs" => Some(Action::Service {
                draft: id()?,
                service: number()?,
            }),
            "co" => alone(Action::OtherService),
            "dn" => alone(Action::Done),
            "confirm" => Some(Action::Confirm {
                draft: id()?,
                revision: number()?,
            }),
            "ed" => alone(Action::Edit),
            "es" => alone(Action::ChangeService),
            "et" => alone(Action::ClearText),
            "ef" => alone(Action::ClearFiles),
            "cancel" => alone(Action::CancelDraft),
            "ol" if second.is_none() => first?.parse().ok().map(|offset| Action::Orders { offset }),
            "od" => alone(Action::Order),
            callbacks::OPEN_ORDER => alone(Action::OpenOrder),
            "oc" => alone(Action::AskCancelOrder),
            "oy" => Some(Action::CancelOrder {
                order: id()?,
                version: number()?,
            }),
            "om" => alone(Action::WriteAbout),
            _ => None,
        }
    }

    /// The draft this button was drawn for, if it is a draft button.
    pub fn draft(self) -> Option<Uuid> {
        match self {
            Action::Category { draft, .. }
            | Action::Service { draft, .. }
            | Action::OtherService(draft)
            | Action::Done(draft)
            | Action::Confirm { draft, .. }
            | Action::Edit(draft)
            | Action::ChangeService(draft)
            | Action::ClearText(draft)
            | Action::ClearFiles(draft)
            | Action::CancelDraft(draft) => Some(draft),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_action(id: Uuid) -> Vec<Action> {
        vec![
            Action::Language(Language::Uk),
            Action::Language(Language::En),
            Action::Category {
                draft: id,
                category: u32::MAX,
            },
            Action::Service {
                draft: id,
                service: u32::MAX,
            },
            Action::OtherService(id),
            Action::Done(id),
            Action::Confirm {
                draft: id,
                revision: u32::MAX,
            },
            Action::Edit(id),
            Action::ChangeService(id),
            Action::ClearText(id),
            Action::ClearFiles(id),
            Action::CancelDraft(id),
            Action::Orders { offset: u32::MAX },
            Action::Order(id),
            Action::OpenOrder(id),
            Action::AskCancelOrder(id),
            Action::CancelOrder {
                order: id,
                version: u32::MAX,
            },
            Action::WriteAbout(id),
        ]
    }

    #[test]
    fn callback_data_round_trips_within_telegrams_64_bytes() {
        for action in every_action(Uuid::now_v7()) {
            let data = action.to_callback_data();
            assert!(data.len() <= 64, "{data} is {} bytes", data.len());
            assert_eq!(Action::parse(&data), Some(action), "{data}");
        }
    }

    #[test]
    fn the_confirm_button_keeps_its_prefix_and_carries_no_text() {
        let id = Uuid::now_v7();
        let data = Action::Confirm {
            draft: id,
            revision: 3,
        }
        .to_callback_data();
        assert_eq!(data, format!("confirm:{}:3", id.simple()));
    }

    #[test]
    fn the_notifiers_open_order_button_opens_the_order() {
        let id = Uuid::now_v7();
        assert_eq!(
            Action::parse(&format!("order:{}", id.simple())),
            Some(Action::OpenOrder(id))
        );
    }

    #[test]
    fn foreign_or_forged_data_is_not_an_action() {
        let id = Uuid::now_v7().simple().to_string();
        for data in [
            "".to_owned(),
            "confirm".into(),
            "confirm:".into(),
            format!("confirm:{id}"),
            format!("confirm:{id}:-1"),
            format!("confirm:{id}:1:2"),
            "confirm:42:1".into(),
            format!("dn:{id}:1"),
            "lg:de".into(),
            "ol:-5".into(),
            "ol:abc".into(),
            format!("delete:{id}"),
            "orders".into(),
            "📝 New order".into(),
        ] {
            assert_eq!(Action::parse(&data), None, "{data}");
        }
    }
}
