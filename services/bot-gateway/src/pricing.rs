//! Prices for the cart, from the price list (`catalogue_services.price_minor`, `currency`,
//! `unit`), never from the customer: read when a service goes into the cart or the cart
//! changes (what the card shows), and again at Confirm, where a price that changed in the
//! meantime stops the order until the customer has seen the new total. The total itself is
//! `proto_events::order_total`, the one definition the persistence worker checks against.

use std::collections::HashMap;

use proto_events::{Money, OrderItem, order_total};
use sqlx::{MySqlPool, Row};

use crate::dialogue::{CartItem, ChosenService, Draft, Language, ShownPrice};
use crate::texts::{Words, key};

/// A service as the price list has it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub code: String,
    pub name: String,
    pub price: ShownPrice,
    /// Active and not archived: it may go into new orders.
    pub available: bool,
}

/// The services with these ids, as the price list has them now (missing ids are absent).
pub async fn listed(
    pool: &MySqlPool,
    ids: &[u32],
    language: Language,
) -> Result<HashMap<u32, Listed>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let name = match language {
        Language::Uk => "name_uk",
        Language::En => "name_en",
    };
    let placeholders = vec!["?"; ids.len()].join(", ");
    // Only fixed identifiers and placeholders are formatted in; the ids are bound.
    let sql = format!(
        "SELECT id, code, {name} AS name, price_minor, currency, CAST(unit AS CHAR) AS unit,
                (active AND archived_at IS NULL) AS available
         FROM catalogue_services WHERE id IN ({placeholders})"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(id);
    }
    let mut listed = HashMap::new();
    for row in query.fetch_all(pool).await? {
        let available: i64 = row.try_get("available")?;
        listed.insert(
            row.try_get::<u32, _>("id")?,
            Listed {
                code: row.try_get("code")?,
                name: row.try_get("name")?,
                price: ShownPrice {
                    unit_price_minor: row.try_get("price_minor")?,
                    currency: row.try_get("currency")?,
                    unit: row.try_get("unit")?,
                },
                available: available != 0,
            },
        );
    }
    Ok(listed)
}

/// The service `id` if it may be ordered now, with its price.
pub async fn orderable(
    pool: &MySqlPool,
    id: u32,
    language: Language,
) -> Result<Option<(ChosenService, ShownPrice)>, sqlx::Error> {
    Ok(listed(pool, &[id], language)
        .await?
        .remove(&id)
        .filter(|service| service.available)
        .map(|service| {
            (
                ChosenService {
                    id,
                    code: service.code,
                },
                service.price,
            )
        }))
}

/// What reading the price list again did to a cart.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Repriced {
    /// Some item's price (or currency, or unit) is not what the card showed.
    pub changed: bool,
    /// Names of services taken out of the cart: no longer offered.
    pub removed: Vec<String>,
}

impl Repriced {
    pub fn anything(&self) -> bool {
        self.changed || !self.removed.is_empty()
    }
}

/// Brings the cart's prices up to the price list, dropping services no longer offered. A
/// draft stored before carts existed gets its one service as a cart of one.
pub async fn reprice(
    pool: &MySqlPool,
    draft: &mut Draft,
    language: Language,
) -> Result<Repriced, sqlx::Error> {
    if draft.items.is_empty()
        && let Some(service) = &draft.service
    {
        draft.items.push(CartItem {
            service_id: service.id,
            code: service.code.clone(),
            quantity: 1,
            // Never shown with a price: any listed price counts as a change.
            price: ShownPrice {
                unit_price_minor: None,
                currency: String::new(),
                unit: String::new(),
            },
        });
    }
    let ids: Vec<u32> = draft.items.iter().map(|item| item.service_id).collect();
    let now = listed(pool, &ids, language).await?;
    let mut repriced = Repriced::default();
    let mut kept = Vec::with_capacity(draft.items.len());
    for mut item in std::mem::take(&mut draft.items) {
        match now.get(&item.service_id) {
            Some(listed) if listed.available => {
                if listed.price != item.price {
                    item.price = listed.price.clone();
                    repriced.changed = true;
                }
                kept.push(item);
            }
            Some(listed) => repriced.removed.push(listed.name.clone()),
            None => repriced.removed.push(item.code.clone()),
        }
    }
    draft.items = kept;
    if repriced.anything() {
        draft.service = draft.items.first().map(|item| ChosenService {
            id: item.service_id,
            code: item.code.clone(),
        });
        draft.revision += 1;
    }
    Ok(repriced)
}

/// The cart as the order's items, at the prices shown.
pub fn order_items(draft: &Draft) -> Vec<OrderItem> {
    draft
        .items
        .iter()
        .map(|item| OrderItem {
            service_code: item.code.clone(),
            quantity: item.quantity,
            unit_price_minor: item.price.unit_price_minor,
            currency: item.price.currency.clone(),
            unit: item.price.unit.clone(),
        })
        .collect()
}

/// The cart's total at the prices shown; `None`: priced by a quote.
pub fn total(draft: &Draft) -> Option<Money> {
    order_total(&order_items(draft))
}

/// `45000` UAH as `450.00 UAH`: minor units shown with two decimals, as the back office
/// shows quotes.
pub fn money(amount_minor: u64, currency: &str) -> String {
    format!(
        "{}.{:02} {currency}",
        amount_minor / 100,
        amount_minor % 100
    )
}

/// The card's lines about what is ordered: each service with its quantity and price, and
/// the total (or that the order is priced by a quote); "Other" without a cart. `names`
/// gives each service's name by id (its code when missing).
pub fn cart_text(words: Words, draft: &Draft, names: &HashMap<u32, Listed>) -> String {
    if draft.items.is_empty() {
        return words.format(key::CART_NONE, &[("other", &words.get(key::SERVICE_OTHER))]);
    }
    let lines: Vec<String> = draft
        .items
        .iter()
        .map(|item| {
            let name = names
                .get(&item.service_id)
                .map_or(item.code.as_str(), |listed| listed.name.as_str());
            let quantity = item.quantity.to_string();
            match item.price.unit_price_minor {
                Some(unit_price) => {
                    let line_total = unit_price.saturating_mul(u64::from(item.quantity));
                    words.format(
                        key::CART_LINE,
                        &[
                            ("name", name),
                            ("quantity", &quantity),
                            ("price", &money(unit_price, &item.price.currency)),
                            ("unit", &words.get(unit_key(&item.price.unit))),
                            ("amount", &money(line_total, &item.price.currency)),
                        ],
                    )
                }
                None => words.format(
                    key::CART_LINE_ON_QUOTE,
                    &[("name", name), ("quantity", &quantity)],
                ),
            }
        })
        .collect();
    let total = match total(draft) {
        Some(total) => words.format(
            key::CART_TOTAL,
            &[("total", &money(total.amount_minor, &total.currency))],
        ),
        None => words.get(key::CART_TOTAL_ON_QUOTE),
    };
    words.format(
        key::CART,
        &[("lines", &lines.join("\n")), ("total", &total)],
    )
}

/// The text key of "per page" and the like; unknown units read as "per item".
pub fn unit_key(unit: &str) -> &'static str {
    match unit {
        "page" => key::CART_PER_PAGE,
        "word" => key::CART_PER_WORD,
        "hour" => key::CART_PER_HOUR,
        _ => key::CART_PER_ITEM,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_has_two_decimals_and_the_currency() {
        assert_eq!(money(45_000, "UAH"), "450.00 UAH");
        assert_eq!(money(5, "EUR"), "0.05 EUR");
        assert_eq!(money(0, "UAH"), "0.00 UAH");
    }
}
