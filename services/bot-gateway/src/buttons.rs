//! Inline buttons: what their callback data says, and nothing more.
//!
//! Callback data carries ids only (a draft's or order's id, a catalogue id, a revision, a
//! page offset), never display text, and stays within Telegram's 64 bytes. It is never
//! trusted: a handler acts only if the data matches the chat's stored state (the draft in
//! progress, at the revision shown) or, for orders, an order the asking customer owns.
//! Anything that does not parse is answered "this button is outdated".

use proto_events::QuoteAnswer;
use proto_events::callbacks;
use uuid::Uuid;

use crate::dialogue::Language;

/// What an inline button asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `lg:uk`: speak this language from now on.
    Language(Language),
    /// A button under the draft `draft`: it acts on that draft only, while it is the one in
    /// progress.
    Draft { draft: Uuid, button: DraftButton },
    /// `ol:<offset>`: a page of the customer's orders.
    Orders { offset: u32 },
    /// A button about the order `order`: it acts only if the order is the presser's own.
    Order { order: Uuid, button: OrderButton },
    /// `qa:<quote>` / `qd:<quote>`: the notifier's Accept / Decline under a price quote;
    /// `quote` is the `PriceQuoted` event id. The format is the contract's
    /// (`proto_events::callbacks`), shared with the notifier that draws the buttons. It acts
    /// only if the quote is the presser's own order's latest and the order is still quoted.
    AnswerQuote { quote: Uuid, answer: QuoteAnswer },
}

/// The buttons under a draft, each `<verb>:<draft>[:<number>]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftButton {
    /// `cc:<draft>:<category>`: open a catalogue category (0: the top level).
    Category(u32),
    /// `cs:<draft>:<service>`: this catalogue service.
    Service(u32),
    /// `co:<draft>`: none of the catalogue's services ("Other").
    OtherService,
    /// `dn:<draft>`: everything is attached; show the summary.
    Done,
    /// `confirm:<draft>:<revision>`: place the order as the summary showed it.
    Confirm { revision: u32 },
    /// `ed:<draft>`: what may be changed in the draft.
    Edit,
    /// `es:<draft>`: choose the service again.
    ChangeService,
    /// `et:<draft>`: clear the description.
    ClearText,
    /// `ef:<draft>`: remove the files.
    ClearFiles,
    /// `cancel:<draft>`: drop the draft.
    Cancel,
    /// `ct:<draft>`: the cart, with a row of buttons per service.
    Cart,
    /// `ci:<draft>:<service>`: one more of this service in the cart.
    More(u32),
    /// `cm:<draft>:<service>`: one fewer (the last one takes it out).
    Fewer(u32),
    /// `cx:<draft>:<service>`: take this service out of the cart.
    Remove(u32),
    /// `cq:<draft>:<service>`: the next text is this service's quantity.
    AskQuantity(u32),
}

/// The buttons about one order, each `<verb>:<order>[:<number>]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderButton {
    /// `od:<order>`: the order's page, in place of the list.
    View,
    /// `order:<order>`: the notifier's "Open order" button under a notification; the page
    /// comes as a new message, so the notification stays readable.
    Open,
    /// `oc:<order>`: asks whether to cancel the order.
    AskCancel,
    /// `oy:<order>:<version>`: cancel it, if its status is still at this version.
    Cancel { version: u32 },
    /// `om:<order>`: write to staff about the order.
    Write,
    /// `pay:<order>`: the order's invoice (also drawn by the notifier).
    Pay,
}

impl Action {
    pub fn draft(draft: Uuid, button: DraftButton) -> Action {
        Action::Draft { draft, button }
    }

    pub fn order(order: Uuid, button: OrderButton) -> Action {
        Action::Order { order, button }
    }

    pub fn to_callback_data(self) -> String {
        match self {
            Action::Language(language) => format!("lg:{}", language.tag()),
            Action::Orders { offset } => format!("ol:{offset}"),
            Action::Draft { draft, button } => {
                let (verb, number) = button.parts();
                with_id(verb, draft, number)
            }
            Action::Order { order, button } => {
                let (verb, number) = button.parts();
                with_id(verb, order, number)
            }
            Action::AnswerQuote { quote, answer } => callbacks::quote_answer(answer, quote),
        }
    }

    /// `None` for anything that is not one of our buttons: the caller treats it as outdated.
    pub fn parse(data: &str) -> Option<Action> {
        if let Some((answer, quote)) = callbacks::parse_quote_answer(data) {
            return Some(Action::AnswerQuote { quote, answer });
        }
        let mut parts = data.split(':');
        let verb = parts.next()?;
        let first = parts.next()?;
        let number = match parts.next() {
            None => None,
            Some(number) => Some(number.parse::<u32>().ok()?),
        };
        if parts.next().is_some() {
            return None;
        }
        match (verb, number) {
            ("lg", None) => return Language::from_tag(first).map(Action::Language),
            ("ol", None) => return first.parse().ok().map(|offset| Action::Orders { offset }),
            _ => {}
        }
        let id = Uuid::parse_str(first).ok()?;
        if let Some(button) = DraftButton::from_parts(verb, number) {
            return Some(Action::draft(id, button));
        }
        OrderButton::from_parts(verb, number).map(|button| Action::order(id, button))
    }

    /// The draft this button was drawn for and what it asks of it, if it is a draft button.
    pub fn draft_button(self) -> Option<(Uuid, DraftButton)> {
        match self {
            Action::Draft { draft, button } => Some((draft, button)),
            _ => None,
        }
    }

    /// The order this button is about and what it asks, if it is an order button.
    pub fn order_button(self) -> Option<(Uuid, OrderButton)> {
        match self {
            Action::Order { order, button } => Some((order, button)),
            _ => None,
        }
    }
}

fn with_id(verb: &str, id: Uuid, number: Option<u32>) -> String {
    match number {
        Some(number) => format!("{verb}:{}:{number}", id.simple()),
        None => format!("{verb}:{}", id.simple()),
    }
}

impl DraftButton {
    fn parts(self) -> (&'static str, Option<u32>) {
        match self {
            DraftButton::Category(category) => ("cc", Some(category)),
            DraftButton::Service(service) => ("cs", Some(service)),
            DraftButton::OtherService => ("co", None),
            DraftButton::Done => ("dn", None),
            DraftButton::Confirm { revision } => ("confirm", Some(revision)),
            DraftButton::Edit => ("ed", None),
            DraftButton::ChangeService => ("es", None),
            DraftButton::ClearText => ("et", None),
            DraftButton::ClearFiles => ("ef", None),
            DraftButton::Cancel => ("cancel", None),
            DraftButton::Cart => ("ct", None),
            DraftButton::More(service) => ("ci", Some(service)),
            DraftButton::Fewer(service) => ("cm", Some(service)),
            DraftButton::Remove(service) => ("cx", Some(service)),
            DraftButton::AskQuantity(service) => ("cq", Some(service)),
        }
    }

    fn from_parts(verb: &str, number: Option<u32>) -> Option<DraftButton> {
        Some(match (verb, number) {
            ("cc", Some(category)) => DraftButton::Category(category),
            ("cs", Some(service)) => DraftButton::Service(service),
            ("co", None) => DraftButton::OtherService,
            ("dn", None) => DraftButton::Done,
            ("confirm", Some(revision)) => DraftButton::Confirm { revision },
            ("ed", None) => DraftButton::Edit,
            ("es", None) => DraftButton::ChangeService,
            ("et", None) => DraftButton::ClearText,
            ("ef", None) => DraftButton::ClearFiles,
            ("cancel", None) => DraftButton::Cancel,
            ("ct", None) => DraftButton::Cart,
            ("ci", Some(service)) => DraftButton::More(service),
            ("cm", Some(service)) => DraftButton::Fewer(service),
            ("cx", Some(service)) => DraftButton::Remove(service),
            ("cq", Some(service)) => DraftButton::AskQuantity(service),
            _ => return None,
        })
    }
}

impl OrderButton {
    fn parts(self) -> (&'static str, Option<u32>) {
        match self {
            OrderButton::View => ("od", None),
            OrderButton::Open => (callbacks::OPEN_ORDER, None),
            OrderButton::AskCancel => ("oc", None),
            OrderButton::Cancel { version } => ("oy", Some(version)),
            OrderButton::Write => ("om", None),
            OrderButton::Pay => (callbacks::PAY_ORDER, None),
        }
    }

    fn from_parts(verb: &str, number: Option<u32>) -> Option<OrderButton> {
        Some(match (verb, number) {
            ("od", None) => OrderButton::View,
            (callbacks::OPEN_ORDER, None) => OrderButton::Open,
            ("oc", None) => OrderButton::AskCancel,
            ("oy", Some(version)) => OrderButton::Cancel { version },
            ("om", None) => OrderButton::Write,
            (callbacks::PAY_ORDER, None) => OrderButton::Pay,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_action(id: Uuid) -> Vec<Action> {
        let drafts = [
            DraftButton::Category(u32::MAX),
            DraftButton::Service(u32::MAX),
            DraftButton::OtherService,
            DraftButton::Done,
            DraftButton::Confirm { revision: u32::MAX },
            DraftButton::Edit,
            DraftButton::ChangeService,
            DraftButton::ClearText,
            DraftButton::ClearFiles,
            DraftButton::Cancel,
            DraftButton::Cart,
            DraftButton::More(u32::MAX),
            DraftButton::Fewer(u32::MAX),
            DraftButton::Remove(u32::MAX),
            DraftButton::AskQuantity(u32::MAX),
        ]
        .map(|button| Action::draft(id, button));
        let orders = [
            OrderButton::View,
            OrderButton::Open,
            OrderButton::AskCancel,
            OrderButton::Cancel { version: u32::MAX },
            OrderButton::Write,
            OrderButton::Pay,
        ]
        .map(|button| Action::order(id, button));
        [
            Action::Language(Language::Uk),
            Action::Language(Language::En),
            Action::Orders { offset: u32::MAX },
            Action::AnswerQuote {
                quote: id,
                answer: QuoteAnswer::Accept,
            },
            Action::AnswerQuote {
                quote: id,
                answer: QuoteAnswer::Decline,
            },
        ]
        .into_iter()
        .chain(drafts)
        .chain(orders)
        .collect()
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
        let data = Action::draft(id, DraftButton::Confirm { revision: 3 }).to_callback_data();
        assert_eq!(data, format!("confirm:{}:3", id.simple()));
    }

    #[test]
    fn the_notifiers_open_order_button_opens_the_order() {
        let id = Uuid::now_v7();
        assert_eq!(
            Action::parse(&format!("order:{}", id.simple())),
            Some(Action::order(id, OrderButton::Open))
        );
    }

    #[test]
    fn the_notifiers_quote_buttons_are_quote_answers() {
        let quote = Uuid::now_v7();
        for answer in [QuoteAnswer::Accept, QuoteAnswer::Decline] {
            let drawn = callbacks::quote_answer(answer, quote);
            assert_eq!(
                Action::parse(&drawn),
                Some(Action::AnswerQuote { quote, answer })
            );
        }
        assert_eq!(Action::parse(&format!("qa:{quote}")), None);
        assert_eq!(Action::parse(&format!("qa:{}:1", quote.simple())), None);
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
            format!("ci:{id}"),
            format!("cq:{id}:-3"),
            format!("cx:{id}:99999999999"),
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
