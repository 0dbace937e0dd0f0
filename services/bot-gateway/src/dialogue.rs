//! The conversation state one chat is in, as stored between updates: the language we speak,
//! the customer's profile once registered, the stage of the conversation (idle, drafting an
//! order, writing to staff, updating the profile), and any replies Telegram did not take
//! yet.
//!
//! It is serialized to JSON in MySQL, so it must stay readable across deployments: new
//! fields get `#[serde(default)]`, new stages are new enum variants.

use serde::{Deserialize, Serialize};
use teloxide::dispatching::dialogue::Dialogue;
use uuid::Uuid;

use crate::replies::Undelivered;
use crate::storage::MySqlStorage;

/// The dialogue handle handlers receive: reads and writes this chat's [`Conversation`].
pub type ChatDialogue = Dialogue<Conversation, MySqlStorage>;

/// The longest order description we accept, in characters (all text messages together).
pub const MAX_DESCRIPTION_CHARS: usize = 4_000;

/// The most files one order may carry through Telegram; bounds the stored state, the events
/// published and what staff must look through. Larger sets go through the web page.
pub const MAX_FILES: usize = 20;

/// The longest name we keep for a customer, in characters.
pub const MAX_NAME_CHARS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Uk,
    En,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::Uk, Language::En];

    /// Ukrainian unless the customer's Telegram is set to English.
    pub fn from_telegram(language_code: Option<&str>) -> Language {
        Language::answered_by(language_code).unwrap_or(Language::Uk)
    }

    /// The language the customer's Telegram is set to, if it is one we speak: then there
    /// is no need to ask.
    pub fn answered_by(language_code: Option<&str>) -> Option<Language> {
        let code = language_code?.to_ascii_lowercase();
        Language::ALL
            .into_iter()
            .find(|language| code.starts_with(language.tag()))
    }

    /// The tag the text catalogue and the events use.
    pub fn tag(self) -> &'static str {
        match self {
            Language::Uk => "uk",
            Language::En => "en",
        }
    }

    pub fn from_tag(tag: &str) -> Option<Language> {
        Language::ALL
            .into_iter()
            .find(|language| language.tag() == tag)
    }
}

/// Who the customer told us they are: asked once, at their first order; changeable with
/// `/profile`. It travels in every `OrderCreated`, so the back office knows them too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    /// E.164, e.g. `+380501234567`.
    pub phone: String,
}

/// Everything we remember about one chat between updates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub language: Language,
    #[serde(default)]
    pub profile: Option<Profile>,
    #[serde(default)]
    pub stage: Stage,
    /// The language was asked at first contact, before the greeting: the answer greets.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub greeting_pending: bool,
    /// Replies Telegram would not take yet: said before anything else happens in the chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) undelivered: Option<Undelivered>,
    /// The last update whose handling saved this conversation: Telegram delivering it again
    /// (it waited too long for our answer) finds it handled and changes nothing twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_update: Option<u32>,
    /// The message (update id) of a burst whose card edit is still to come: the draft's card
    /// is edited once the customer has stopped sending for a moment, not once per message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) card_due: Option<u32>,
}

// The draft is by far the largest stage, and the usual one while a conversation is stored.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    #[default]
    Idle,
    /// Collecting a service, text and files for an order not yet confirmed.
    Drafting(Draft),
    /// The next text is a message to staff about this order (already checked to be theirs).
    WritingToStaff {
        order_id: Uuid,
        order_number: String,
    },
    /// Changing name and phone outside an order.
    UpdatingProfile(Registration),
}

/// Where registration is: it asks the name, then the phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Registration {
    Name,
    Phone { name: String },
}

impl Conversation {
    pub fn new(language: Language) -> Conversation {
        Conversation {
            language,
            profile: None,
            stage: Stage::Idle,
            greeting_pending: false,
            undelivered: None,
            last_update: None,
            card_due: None,
        }
    }

    pub fn draft(&self) -> Option<&Draft> {
        match &self.stage {
            Stage::Drafting(draft) => Some(draft),
            _ => None,
        }
    }

    /// The draft in progress, or a fresh one.
    pub fn draft_or_new(&self) -> Draft {
        self.draft().cloned().unwrap_or_else(Draft::new)
    }

    /// This conversation with `draft` as the order in progress.
    pub fn drafting(&self, draft: Draft) -> Conversation {
        self.with_stage(Stage::Drafting(draft))
    }

    /// This conversation back at the main menu, any draft dropped; language and profile kept.
    pub fn idle(&self) -> Conversation {
        self.with_stage(Stage::Idle)
    }

    /// This conversation at `stage`; everything else kept.
    pub fn with_stage(&self, stage: Stage) -> Conversation {
        Conversation {
            stage,
            ..self.clone()
        }
    }

    /// The registration step under way, in a draft or on its own.
    pub fn registration(&self) -> Option<&Registration> {
        match &self.stage {
            Stage::Drafting(Draft {
                step: DraftStep::Registering(step),
                ..
            }) => Some(step),
            Stage::UpdatingProfile(step) => Some(step),
            _ => None,
        }
    }
}

/// What a draft is waiting for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftStep {
    /// Text and files go into the draft.
    #[default]
    Collecting,
    /// The catalogue is shown; text and files still go into the draft.
    ChoosingService,
    /// Confirm was pressed by a customer we do not know yet: their name and phone come
    /// first, then the order is placed.
    Registering(Registration),
    /// The next text is the quantity of this cart item (a catalogue service id).
    SettingQuantity { service: u32 },
}

/// The service chosen from the catalogue. A draft without one is an "Other" order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChosenService {
    pub id: u32,
    pub code: String,
}

/// An order being put together.
///
/// Its identity (order id and number) is fixed when the draft starts, not when it is
/// confirmed: if a confirmation fails half-way (the broker took the events but the confirm
/// was lost) and the customer presses Confirm again, the very same events are published
/// again and consumers drop the repeat, so one draft can never become two orders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub order_id: Uuid,
    pub order_number: String,
    /// Raised by every change, and carried by the summary's Confirm button: a summary that
    /// no longer shows the draft as it is cannot confirm it.
    #[serde(default)]
    pub revision: u32,
    #[serde(default)]
    pub step: DraftStep,
    /// The first service in the cart, as drafts stored before carts existed name it;
    /// [`Draft::cart`] is what the order holds.
    #[serde(default)]
    pub service: Option<ChosenService>,
    /// The cart: catalogue services with quantities, each with the price last shown.
    #[serde(default)]
    pub items: Vec<CartItem>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub files: Vec<DraftFile>,
    /// Files above the Bot API's download limit: they get a web upload link once the
    /// order exists.
    #[serde(default)]
    pub large_files: Vec<LargeFile>,
    /// An album (media group) still arriving: answered once, when it has all come in.
    #[serde(default)]
    pub album: Option<Album>,
    /// The order's card: the one message that shows the draft and is edited in place as
    /// it grows; `None` until it has been sent.
    #[serde(default)]
    pub card: Option<i32>,
}

/// One line of the cart: a catalogue service, how many, and its price as the card last
/// showed it (from the price list, never from the customer). Confirm places the order only
/// if the price list still says the same; otherwise the customer is shown the new total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartItem {
    pub service_id: u32,
    pub code: String,
    pub quantity: u32,
    pub price: ShownPrice,
}

/// A service's price as the price list gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownPrice {
    /// Minor units (kopiykas); `None`: on quote.
    pub unit_price_minor: Option<u64>,
    pub currency: String,
    pub unit: String,
}

/// Why the cart did not take a change; the draft is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CartRefusal {
    #[error("the cart already has {MAX_ORDER_ITEMS} services")]
    TooManyItems,
    #[error("a quantity is 1 to {MAX_ITEM_QUANTITY}")]
    QuantityOutOfRange,
    #[error("the service is not in the cart")]
    NotInCart,
}

pub use proto_events::{MAX_ITEM_QUANTITY, MAX_ORDER_ITEMS};

/// A file attached to a draft: a reference to the bytes in Telegram, never the bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DraftFile {
    pub file_id: Uuid,
    pub telegram_file_id: String,
    pub telegram_file_unique_id: String,
    pub name: String,
    pub size: Option<u64>,
    pub content_type: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LargeFile {
    pub name: String,
    pub size: u64,
}

/// What an album's items did to the draft, for the one reply the album gets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Album {
    pub group_id: String,
    /// Items seen so far; the reply goes out once no new one came for a moment.
    pub items: u32,
    pub added: u32,
    /// Items not added because the draft was full.
    pub over_limit: u32,
    /// Names of items refused for their type.
    pub refused: Vec<String>,
    /// Names of items Telegram says are empty.
    #[serde(default)]
    pub empty: Vec<String>,
    /// Names of items above the download limit (they get an upload link).
    pub too_large: Vec<String>,
}

/// Why a draft did not take what the customer sent; the draft is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DraftRefusal {
    #[error("the description would exceed {MAX_DESCRIPTION_CHARS} characters")]
    DescriptionTooLong,
    #[error("the draft already has {MAX_FILES} files")]
    TooManyFiles,
}

impl Draft {
    pub fn new() -> Draft {
        Draft {
            order_id: Uuid::now_v7(),
            // Given when the draft is first saved (`storage::MySqlStorage`): a number
            // leased from MySQL's sequence, unique.
            order_number: String::new(),
            revision: 0,
            step: DraftStep::Collecting,
            service: None,
            items: Vec::new(),
            description: String::new(),
            files: Vec::new(),
            large_files: Vec::new(),
            album: None,
            card: None,
        }
    }

    /// Neither services in the cart, nor text, nor files yet: nothing to order.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
            && self.description.trim().is_empty()
            && self.files.is_empty()
            && self.large_files.is_empty()
    }

    /// Adds a message to the description. Customers often write in several messages, so a
    /// later one extends the description instead of replacing it.
    pub fn append_text(&mut self, text: &str) -> Result<(), DraftRefusal> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(());
        }
        let separator = if self.description.is_empty() {
            ""
        } else {
            "\n\n"
        };
        let total = self.description.chars().count() + separator.len() + text.chars().count();
        if total > MAX_DESCRIPTION_CHARS {
            return Err(DraftRefusal::DescriptionTooLong);
        }
        self.description.push_str(separator);
        self.description.push_str(text);
        self.revision += 1;
        Ok(())
    }

    /// Attaches a file; its caption becomes the description while the draft has none (and
    /// stays the file's note). Returns how many files the draft now has.
    pub fn add_file(&mut self, file: DraftFile) -> Result<usize, DraftRefusal> {
        if self.file_count() >= MAX_FILES {
            return Err(DraftRefusal::TooManyFiles);
        }
        if let Some(caption) = &file.note
            && self.description.is_empty()
        {
            // A caption too long for the description still stays the file's note.
            let _ = self.append_text(caption);
        }
        self.files.push(file);
        self.revision += 1;
        Ok(self.files.len())
    }

    /// Notes a file too large for the Bot API; it counts towards the draft's files.
    pub fn add_large_file(&mut self, file: LargeFile) -> Result<(), DraftRefusal> {
        if self.file_count() >= MAX_FILES {
            return Err(DraftRefusal::TooManyFiles);
        }
        self.large_files.push(file);
        self.revision += 1;
        Ok(())
    }

    /// Files in Telegram plus files waiting for an upload link.
    pub fn file_count(&self) -> usize {
        self.files.len() + self.large_files.len()
    }

    pub fn choose_service(&mut self, service: Option<ChosenService>) {
        self.service = service;
        self.step = DraftStep::Collecting;
        self.revision += 1;
    }

    /// Puts one of `service` in the cart (another one if it is there already).
    pub fn add_item(
        &mut self,
        service: ChosenService,
        price: ShownPrice,
    ) -> Result<(), CartRefusal> {
        if let Some(item) = self
            .items
            .iter_mut()
            .find(|item| item.service_id == service.id)
        {
            if item.quantity >= MAX_ITEM_QUANTITY {
                return Err(CartRefusal::QuantityOutOfRange);
            }
            item.quantity += 1;
            item.price = price;
        } else {
            if self.items.len() >= MAX_ORDER_ITEMS {
                return Err(CartRefusal::TooManyItems);
            }
            self.items.push(CartItem {
                service_id: service.id,
                code: service.code,
                quantity: 1,
                price,
            });
        }
        self.after_cart_change();
        Ok(())
    }

    /// Sets the quantity of `service` (1..=[`MAX_ITEM_QUANTITY`]).
    pub fn set_quantity(&mut self, service: u32, quantity: u32) -> Result<(), CartRefusal> {
        if !(1..=MAX_ITEM_QUANTITY).contains(&quantity) {
            return Err(CartRefusal::QuantityOutOfRange);
        }
        let item = self
            .items
            .iter_mut()
            .find(|item| item.service_id == service)
            .ok_or(CartRefusal::NotInCart)?;
        item.quantity = quantity;
        self.after_cart_change();
        Ok(())
    }

    /// The quantity of `service` in the cart, if it is there.
    pub fn quantity_of(&self, service: u32) -> Option<u32> {
        self.items
            .iter()
            .find(|item| item.service_id == service)
            .map(|item| item.quantity)
    }

    /// Takes `service` out of the cart.
    pub fn remove_item(&mut self, service: u32) -> Result<(), CartRefusal> {
        let before = self.items.len();
        self.items.retain(|item| item.service_id != service);
        if self.items.len() == before {
            return Err(CartRefusal::NotInCart);
        }
        self.after_cart_change();
        Ok(())
    }

    /// Empties the cart ("Other": none of the catalogue's services).
    pub fn clear_cart(&mut self) {
        self.items.clear();
        self.after_cart_change();
    }

    fn after_cart_change(&mut self) {
        self.service = self.items.first().map(|item| ChosenService {
            id: item.service_id,
            code: item.code.clone(),
        });
        self.step = DraftStep::Collecting;
        self.revision += 1;
    }

    pub fn clear_description(&mut self) {
        self.description.clear();
        self.revision += 1;
    }

    pub fn clear_files(&mut self) {
        self.files.clear();
        self.large_files.clear();
        self.revision += 1;
    }
}

impl Default for Draft {
    fn default() -> Self {
        Draft::new()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn file(name: &str, note: Option<&str>) -> DraftFile {
        DraftFile {
            file_id: Uuid::now_v7(),
            telegram_file_id: format!("tg-{name}"),
            telegram_file_unique_id: format!("u-{name}"),
            name: name.to_owned(),
            size: Some(1234),
            content_type: Some("application/pdf".to_owned()),
            note: note.map(str::to_owned),
        }
    }

    #[test]
    fn english_only_when_telegram_says_so() {
        assert_eq!(Language::from_telegram(Some("en")), Language::En);
        assert_eq!(Language::from_telegram(Some("en-GB")), Language::En);
        assert_eq!(Language::from_telegram(Some("uk")), Language::Uk);
        assert_eq!(Language::from_telegram(Some("de")), Language::Uk);
        assert_eq!(Language::from_telegram(None), Language::Uk);
        assert_eq!(Language::from_tag("en"), Some(Language::En));
        assert_eq!(Language::from_tag("de"), None);
    }

    #[test]
    fn later_messages_extend_the_description_and_every_change_is_a_revision() {
        let mut draft = Draft::new();
        draft.append_text("  Translate this  ").unwrap();
        draft.append_text("by Friday").unwrap();
        draft.append_text("   ").unwrap();
        assert_eq!(draft.description, "Translate this\n\nby Friday");
        assert_eq!(draft.revision, 2);
        draft.choose_service(Some(ChosenService {
            id: 1,
            code: "translation.passport".into(),
        }));
        draft.clear_description();
        assert_eq!(draft.revision, 4);
        assert!(draft.is_empty());
    }

    #[test]
    fn an_overlong_description_is_refused_and_the_draft_kept() {
        let mut draft = Draft::new();
        draft
            .append_text(&"я".repeat(MAX_DESCRIPTION_CHARS))
            .unwrap();
        let before = draft.clone();
        assert_eq!(
            draft.append_text("more"),
            Err(DraftRefusal::DescriptionTooLong)
        );
        assert_eq!(draft, before);

        let mut fresh = Draft::new();
        assert_eq!(
            fresh.append_text(&"x".repeat(MAX_DESCRIPTION_CHARS + 1)),
            Err(DraftRefusal::DescriptionTooLong)
        );
        assert!(fresh.is_empty());
    }

    #[test]
    fn a_draft_may_start_with_a_file_whose_caption_describes_it() {
        let mut draft = Draft::new();
        assert_eq!(
            draft.add_file(file("a.pdf", Some("contract, 3 pages"))),
            Ok(1)
        );
        assert_eq!(draft.description, "contract, 3 pages");
        assert_eq!(draft.add_file(file("b.pdf", Some("appendix"))), Ok(2));
        assert_eq!(
            draft.description, "contract, 3 pages",
            "later captions stay file notes"
        );
        assert_eq!(draft.files[1].note.as_deref(), Some("appendix"));
        assert!(!draft.is_empty());
    }

    #[test]
    fn files_large_ones_included_are_bounded() {
        let mut draft = Draft::new();
        draft
            .add_large_file(LargeFile {
                name: "big.tiff".into(),
                size: 30 << 20,
            })
            .unwrap();
        assert!(
            !draft.is_empty(),
            "a large file alone is something to order"
        );
        for i in 1..MAX_FILES {
            draft.add_file(file(&format!("{i}.pdf"), None)).unwrap();
        }
        assert_eq!(
            draft.add_file(file("one-more.pdf", None)),
            Err(DraftRefusal::TooManyFiles)
        );
        assert_eq!(
            draft.add_large_file(LargeFile {
                name: "x".into(),
                size: 1
            }),
            Err(DraftRefusal::TooManyFiles)
        );
        assert_eq!(draft.file_count(), MAX_FILES);
    }

    #[test]
    fn the_state_survives_a_json_round_trip_and_older_shapes_still_read() {
        let mut draft = Draft::new();
        draft.append_text("text").unwrap();
        draft.add_file(file("a.pdf", None)).unwrap();
        draft.step = DraftStep::Registering(Registration::Phone {
            name: "Olena".into(),
        });
        draft.album = Some(Album {
            group_id: "g1".into(),
            items: 2,
            added: 2,
            ..Album::default()
        });
        let mut conversation = Conversation::new(Language::En).drafting(draft);
        conversation.profile = Some(Profile {
            name: "Olena".into(),
            phone: "+380501234567".into(),
        });
        let json = serde_json::to_string(&conversation).unwrap();
        assert_eq!(
            serde_json::from_str::<Conversation>(&json).unwrap(),
            conversation
        );
        // State written before `stage` existed still reads.
        let old: Conversation = serde_json::from_str(r#"{"language":"uk"}"#).unwrap();
        assert_eq!(old, Conversation::new(Language::Uk));
        // A draft stored by the walking skeleton (no step, service, revision) still reads.
        let skeleton = r#"{"language":"en","stage":{"drafting":{"order_id":"0190f5c2-0000-7000-8000-000000000000",
            "order_number":"48213097","description":"x","files":[]}}}"#;
        let read: Conversation = serde_json::from_str(skeleton).unwrap();
        let draft = read.draft().unwrap();
        assert_eq!(
            (draft.step.clone(), draft.revision, draft.service.clone()),
            (DraftStep::Collecting, 0, None)
        );
    }

    #[test]
    fn idle_keeps_language_and_profile() {
        let mut conversation = Conversation::new(Language::En).drafting(Draft::new());
        conversation.profile = Some(Profile {
            name: "A".into(),
            phone: "+380501234567".into(),
        });
        let idle = conversation.idle();
        assert_eq!(
            (idle.language, idle.profile.clone(), idle.stage),
            (Language::En, conversation.profile, Stage::Idle)
        );
    }
}
