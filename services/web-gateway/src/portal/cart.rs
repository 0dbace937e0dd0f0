//! The new-order form's cart: several catalogue services with quantities in one order,
//! priced on the server from the price list as it is now, never from what the browser
//! sends. The form carries the cart as fields (`qty.<code>` in cart order, and
//! `shown.<code>`, the unit price the page showed); every cart action (`POST
//! /portal/orders/cart`: add, change quantities, remove) reads the price list again and
//! shows the running total, and placing the order (`POST /portal/orders`) reads it once
//! more: a price (or currency, or unit) that is not the one the page showed, or a service
//! withdrawn meanwhile, stops the order and shows the cart with the new prices and a
//! message — only an order whose customer saw its prices is placed. The total frozen into
//! `OrderCreated.total` is `proto_events::order_total` of the items, the definition the bot
//! uses and the persistence worker checks (docs/commerce.md).
//!
//! Quantities are whole numbers 1..=999 (`MAX_ITEM_QUANTITY`), at most 20 services
//! (`MAX_ORDER_ITEMS`); anything else is refused next to its field, in the customer's
//! language, and nothing in the cart changes.

use proto_events::{MAX_ITEM_QUANTITY, MAX_ORDER_ITEMS, Money, OrderItem, order_total};

use super::i18n::{Lang, Texts};
use super::views::money;
use crate::queries::portal::Service;

/// What the browser sent about the cart: lines in order, what was shown, what to do.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CartForm {
    /// `(service code, quantity as typed)`, in cart order.
    pub lines: Vec<(String, String)>,
    /// `(service code, the unit price shown)`, see [`shown`].
    pub shown: Vec<(String, String)>,
    /// The service in the "add" select (and, with an empty cart, the order's one service).
    pub service: String,
    /// The quantity to add, as typed.
    pub add_quantity: String,
    /// `add`, `update`, `remove.<code>`, or empty.
    pub op: String,
    pub text: String,
    pub files: u32,
    /// The booking the form's slot picker made (`booking.js`), joined to the order placed.
    pub booking: String,
}

impl CartForm {
    /// From the form's fields, as `Form<Vec<(String, String)>>` gives them.
    pub fn from_fields(fields: Vec<(String, String)>) -> CartForm {
        let mut form = CartForm::default();
        for (name, value) in fields {
            if let Some(code) = name.strip_prefix("qty.") {
                if !form.lines.iter().any(|(c, _)| c == code) {
                    form.lines.push((code.to_owned(), value));
                }
            } else if let Some(code) = name.strip_prefix("shown.") {
                form.shown.push((code.to_owned(), value));
            } else {
                match name.as_str() {
                    "service" => form.service = value,
                    "add_quantity" => form.add_quantity = value,
                    "op" => form.op = value,
                    "text" => form.text = value,
                    "files" => form.files = value.trim().parse().unwrap_or(0),
                    "booking" => form.booking = value,
                    _ => {}
                }
            }
        }
        form
    }

    fn shown_for(&self, code: &str) -> Option<&str> {
        self.shown
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, v)| v.as_str())
    }
}

/// A unit price as the page shows it and sends back: `minor:currency:unit`, or
/// `quote:currency:unit` for a service on quote.
pub fn shown(service: &Service) -> String {
    format!(
        "{}:{}:{}",
        service
            .price_minor
            .map_or_else(|| "quote".to_owned(), |p| p.to_string()),
        service.currency,
        service.unit
    )
}

/// A quantity as typed: 1..=999, or the sentence that says why not.
pub fn quantity(raw: &str, t: &Texts) -> Result<u32, &'static str> {
    match raw.trim().parse::<u64>() {
        Ok(0) => Err(t.quantity_zero),
        Ok(n) if n <= u64::from(MAX_ITEM_QUANTITY) => Ok(n as u32),
        Ok(_) => Err(t.quantity_too_many),
        Err(_) if raw.trim().starts_with('-') => Err(t.quantity_zero),
        Err(_) if !raw.trim().is_empty() && raw.trim().chars().all(|c| c.is_ascii_digit()) => {
            Err(t.quantity_too_many)
        }
        Err(_) => Err(t.quantity_not_number),
    }
}

/// One line of the cart as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartLine {
    pub code: String,
    pub name: String,
    /// As typed (kept when refused).
    pub quantity: String,
    pub unit_price: String,
    /// The line's total, when priced and the quantity is valid.
    pub line_total: Option<String>,
    /// The unit price now, sent back as `shown.<code>`.
    pub shown: String,
    pub error: Option<&'static str>,
}

/// The cart, priced from the price list as it is now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cart {
    pub lines: Vec<CartLine>,
    /// The running total, or "on quote", or `None` for an empty cart.
    pub total: Option<String>,
    /// A sentence about the whole cart (services withdrawn, a price that changed).
    pub error: Option<String>,
    /// Why the service could not be added (next to the "add" fields): no service chosen,
    /// one not offered, a quantity that is not one, a full cart.
    pub add_error: Option<&'static str>,
    /// The page showed other prices than the price list has now.
    pub repriced: bool,
    /// What would be frozen into the order: every line valid.
    pub items: Option<Vec<OrderItem>>,
}

impl Cart {
    pub fn total_money(&self) -> Option<Money> {
        self.items.as_deref().and_then(order_total)
    }
}

fn name_of(service: &Service, lang: Lang) -> String {
    match lang {
        Lang::Uk => service.name_uk.clone(),
        Lang::En => service.name_en.clone(),
    }
}

fn unit_label(t: &Texts, unit: &str) -> &'static str {
    match unit {
        "page" => t.per_page,
        "word" => t.per_word,
        "hour" => t.per_hour,
        _ => t.per_item,
    }
}

/// Applies `form.op` to the cart and prices it against `offered` (the price list now).
/// `placing`: the customer pressed "Send": an empty cart takes the selected service as
/// one line, and prices must be the ones shown.
pub fn build(form: &CartForm, offered: &[Service], lang: Lang, placing: bool) -> Cart {
    let t = lang.portal();
    let mut cart = Cart::default();
    let mut errors: Vec<String> = Vec::new();
    let mut lines: Vec<(String, String)> = form.lines.clone();
    if let Some(code) = form.op.strip_prefix("remove.") {
        lines.retain(|(c, _)| c != code);
    }
    let service = form.service.trim();
    let adding = form.op == "add" || (placing && lines.is_empty());
    if adding && !service.is_empty() {
        let raw = if form.add_quantity.trim().is_empty() {
            "1"
        } else {
            form.add_quantity.as_str()
        };
        match quantity(raw, t) {
            Err(why) => cart.add_error = Some(why),
            Ok(more) => {
                if !offered.iter().any(|s| s.code == service) {
                    cart.add_error = Some(t.service_unknown);
                } else if let Some((_, existing)) = lines.iter_mut().find(|(c, _)| c == service) {
                    let now = existing.trim().parse::<u32>().unwrap_or(0);
                    *existing = now.saturating_add(more).to_string();
                } else if lines.len() >= MAX_ORDER_ITEMS {
                    cart.add_error = Some(t.cart_full);
                } else {
                    lines.push((service.to_owned(), more.to_string()));
                }
            }
        }
    } else if form.op == "add" {
        cart.add_error = Some(t.choose_service);
    }

    let mut withdrawn = Vec::new();
    let mut items = Vec::new();
    let mut valid = true;
    for (code, raw) in lines {
        let Some(service) = offered.iter().find(|s| s.code == code) else {
            withdrawn.push(code);
            continue;
        };
        let now = shown(service);
        if let Some(before) = form.shown_for(&code)
            && before != now
        {
            cart.repriced = true;
        } else if placing && form.shown_for(&code).is_none() && !form.lines.is_empty() {
            // A line the page never priced: show it before ordering it.
            cart.repriced = true;
        }
        let unit = unit_label(t, &service.unit);
        let unit_price = match service.price_minor {
            Some(minor) => format!("{} {unit}", money(minor, &service.currency)),
            None => t.on_quote.to_owned(),
        };
        let parsed = quantity(&raw, t);
        let line_total = match (&parsed, service.price_minor) {
            (Ok(q), Some(minor)) => minor
                .checked_mul(u64::from(*q))
                .map(|sum| money(sum, &service.currency)),
            _ => None,
        };
        if let Ok(q) = parsed {
            items.push(OrderItem {
                service_code: service.code.clone(),
                quantity: q,
                unit_price_minor: service.price_minor,
                currency: service.currency.clone(),
                unit: service.unit.clone(),
            });
        } else {
            valid = false;
        }
        cart.lines.push(CartLine {
            name: name_of(service, lang),
            code,
            quantity: raw.trim().to_owned(),
            unit_price,
            line_total,
            shown: now,
            error: parsed.err(),
        });
    }
    if !withdrawn.is_empty() {
        cart.repriced = true;
        errors.push(format!("{} {}", t.cart_withdrawn, withdrawn.join(", ")));
    }
    if placing && cart.repriced {
        errors.insert(0, t.price_changed.to_owned());
    }
    if !cart.lines.is_empty() {
        cart.total = Some(match order_total(&items) {
            Some(total) if valid => money(total.amount_minor, &total.currency),
            _ if !valid => "—".to_owned(),
            _ => t.on_quote.to_owned(),
        });
    }
    if valid && errors.is_empty() && cart.add_error.is_none() {
        cart.items = Some(items);
    }
    if !errors.is_empty() {
        cart.error = Some(errors.join(" "));
    }
    cart
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(code: &str, price: Option<u64>) -> Service {
        Service {
            code: code.into(),
            name_uk: format!("{code} uk"),
            name_en: format!("{code} en"),
            price_minor: price,
            currency: "UAH".into(),
            unit: "page".into(),
            category_uk: None,
            category_en: None,
        }
    }

    fn form(lines: &[(&str, &str)], shown: &[(&str, &str)], op: &str) -> CartForm {
        CartForm {
            lines: lines
                .iter()
                .map(|(a, b)| ((*a).into(), (*b).into()))
                .collect(),
            shown: shown
                .iter()
                .map(|(a, b)| ((*a).into(), (*b).into()))
                .collect(),
            op: op.into(),
            ..CartForm::default()
        }
    }

    #[test]
    fn two_services_with_quantities_make_one_total() {
        let offered = [service("a", Some(25_000)), service("b", Some(1_250))];
        let cart = build(
            &form(
                &[("a", "2"), ("b", "3")],
                &[("a", "25000:UAH:page"), ("b", "1250:UAH:page")],
                "",
            ),
            &offered,
            Lang::En,
            true,
        );
        assert_eq!(cart.error, None);
        assert_eq!(cart.total.as_deref(), Some("537.50 UAH"));
        let total = cart.total_money().unwrap();
        assert_eq!(total.amount_minor, 53_750);
        assert_eq!(cart.items.unwrap().len(), 2);
    }

    #[test]
    fn adding_again_adds_to_the_line_and_remove_takes_it_out() {
        let offered = [service("a", Some(100)), service("b", None)];
        let f = CartForm {
            service: "a".into(),
            add_quantity: "4".into(),
            ..form(&[("a", "1")], &[], "add")
        };
        let cart = build(&f, &offered, Lang::En, false);
        assert_eq!(cart.lines[0].quantity, "5");
        let cart = build(
            &form(&[("a", "1"), ("b", "2")], &[], "remove.a"),
            &offered,
            Lang::En,
            false,
        );
        assert_eq!(cart.lines.len(), 1);
        assert_eq!(cart.total.as_deref(), Some(Lang::En.portal().on_quote));
        assert_eq!(cart.total_money(), None);
    }

    #[test]
    fn zero_a_million_and_words_are_refused_next_to_the_line() {
        let offered = [service("a", Some(100))];
        let t = Lang::Uk.portal();
        for (typed, said) in [
            ("0", t.quantity_zero),
            ("1000000", t.quantity_too_many),
            ("99999999999999999999999", t.quantity_too_many),
            ("three", t.quantity_not_number),
            ("-2", t.quantity_zero),
        ] {
            let cart = build(
                &form(&[("a", typed)], &[("a", "100:UAH:page")], ""),
                &offered,
                Lang::Uk,
                true,
            );
            assert_eq!(cart.lines[0].error, Some(said), "{typed}");
            assert_eq!(cart.lines[0].quantity, typed);
            assert!(cart.items.is_none(), "{typed} must not be ordered");
        }
    }

    #[test]
    fn a_price_changed_during_checkout_stops_the_order() {
        let offered = [service("a", Some(150))];
        let cart = build(
            &form(&[("a", "2")], &[("a", "100:UAH:page")], ""),
            &offered,
            Lang::En,
            true,
        );
        assert!(cart.repriced);
        assert!(cart.items.is_none());
        assert!(
            cart.error
                .unwrap()
                .starts_with(Lang::En.portal().price_changed)
        );
        assert_eq!(cart.lines[0].shown, "150:UAH:page");
        assert_eq!(cart.total.as_deref(), Some("3.00 UAH"));
        // Shown again with the new price, the same cart is placed.
        let cart = build(
            &form(&[("a", "2")], &[("a", "150:UAH:page")], ""),
            &offered,
            Lang::En,
            true,
        );
        assert!(cart.items.is_some());
    }

    #[test]
    fn a_withdrawn_service_leaves_the_cart_with_a_word() {
        let offered = [service("a", Some(150))];
        let cart = build(
            &form(
                &[("a", "1"), ("gone", "1")],
                &[("a", "150:UAH:page"), ("gone", "1:UAH:page")],
                "",
            ),
            &offered,
            Lang::En,
            true,
        );
        assert_eq!(cart.lines.len(), 1);
        assert!(cart.items.is_none());
        assert!(cart.error.unwrap().contains("gone"));
    }

    #[test]
    fn an_empty_cart_places_the_selected_service_as_one() {
        let offered = [service("a", Some(150))];
        let f = CartForm {
            service: "a".into(),
            ..CartForm::default()
        };
        let cart = build(&f, &offered, Lang::En, true);
        assert_eq!(cart.error, None);
        assert_eq!(cart.items.unwrap()[0].quantity, 1);
    }

    #[test]
    fn fields_are_read_in_cart_order() {
        let f = CartForm::from_fields(vec![
            ("qty.b".into(), "2".into()),
            ("shown.b".into(), "1:UAH:page".into()),
            ("qty.a".into(), "1".into()),
            ("op".into(), "update".into()),
            ("files".into(), "3".into()),
        ]);
        assert_eq!(
            f.lines,
            vec![("b".into(), "2".into()), ("a".into(), "1".into())]
        );
        assert_eq!(f.files, 3);
        assert_eq!(f.op, "update");
    }
}
