//! Reply keyboards (under the input field): the main menu, recognizing its buttons when they
//! come back as plain text, and the keyboards registration offers (the customer's Telegram
//! name, the "share my phone number" button).

use teloxide::types::{KeyboardButton, KeyboardMarkup};

use crate::texts::{Texts, Words, key};

/// A main-menu button the customer tapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuChoice {
    NewOrder,
    MyOrders,
    Help,
    Contact,
}

impl MenuChoice {
    const ALL: [(MenuChoice, &'static str); 4] = [
        (MenuChoice::NewOrder, key::MENU_NEW_ORDER),
        (MenuChoice::MyOrders, key::MENU_MY_ORDERS),
        (MenuChoice::Help, key::MENU_HELP),
        (MenuChoice::Contact, key::MENU_CONTACT),
    ];

    /// The button whose label `text` is, in any language: the keyboard on the customer's
    /// screen may have been drawn before their language was known.
    pub fn recognize(texts: &Texts, text: &str) -> Option<MenuChoice> {
        let text = text.trim();
        MenuChoice::ALL
            .into_iter()
            .find(|(_, key)| {
                texts
                    .in_every_language(key)
                    .iter()
                    .any(|label| label == text)
            })
            .map(|(choice, _)| choice)
    }
}

pub fn main_menu(words: Words) -> KeyboardMarkup {
    let label = |key| KeyboardButton::new(words.get(key));
    KeyboardMarkup::new([
        vec![label(key::MENU_NEW_ORDER), label(key::MENU_MY_ORDERS)],
        vec![label(key::MENU_HELP), label(key::MENU_CONTACT)],
    ])
    .resize_keyboard()
    .persistent()
}

/// Offers the customer's Telegram name as a one-tap answer to "what is your name".
pub fn name_suggestion(name: &str) -> KeyboardMarkup {
    KeyboardMarkup::new([[KeyboardButton::new(name)]])
        .resize_keyboard()
        .one_time_keyboard()
}

/// The "share my phone number" button: Telegram sends the customer's own, verified number.
pub fn share_phone(words: Words) -> KeyboardMarkup {
    KeyboardMarkup::new([[KeyboardButton::new(words.get(key::BUTTON_SHARE_PHONE))
        .request(teloxide::types::ButtonRequest::Contact)]])
    .resize_keyboard()
    .one_time_keyboard()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialogue::Language;

    #[test]
    fn labels_are_recognized_in_either_language() {
        let texts = Texts::load();
        for language in [Language::Uk, Language::En] {
            for (choice, key) in MenuChoice::ALL {
                let label = texts.get(language, key);
                assert_eq!(
                    MenuChoice::recognize(&texts, &label),
                    Some(choice),
                    "{label}"
                );
            }
        }
        assert_eq!(
            MenuChoice::recognize(&texts, "Please translate my diploma"),
            None
        );
    }

    #[test]
    fn the_keyboard_shows_every_choice() {
        let texts = Texts::load();
        let keyboard = main_menu(texts.words(Language::En));
        let labels: Vec<&str> = keyboard
            .keyboard
            .iter()
            .flatten()
            .map(|button| button.text.as_str())
            .collect();
        assert_eq!(
            labels,
            ["📝 New order", "📋 My orders", "❓ Help", "☎️ Contact us"]
        );
    }
}
