//! Order numbers: what customers quote ("№48213097").
//!
//! A gateway assigns the number the moment it accepts an order, before any database is
//! involved, so that it can answer even while MySQL is down. So the number is random, not a
//! sequence: 8 digits, the first never 0. Two orders may (rarely) share a number; a
//! customer's lookups are scoped to their own orders, and the order id stays the identity.

/// A fresh order number.
pub fn generate() -> String {
    let first = rand::random_range(1..=9u8);
    let rest = rand::random_range(0..10_000_000u32);
    format!("{first}{rest:07}")
}

/// Reads a number as a customer may type it ("№ 4821-3097", " 48213097 "): digits only
/// once spaces, dashes and the sign are dropped. `None` if it cannot be an order number.
pub fn parse(input: &str) -> Option<String> {
    let cleaned: String = input
        .trim()
        .trim_start_matches(['№', '#'])
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect();
    let valid = cleaned.len() == 8
        && cleaned.bytes().all(|b| b.is_ascii_digit())
        && !cleaned.starts_with('0');
    valid.then_some(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_numbers_parse() {
        for _ in 0..1000 {
            let n = generate();
            assert_eq!(parse(&n), Some(n.clone()));
        }
    }

    #[test]
    fn typed_forms_are_accepted_and_junk_refused() {
        assert_eq!(parse("№ 4821-3097"), Some("48213097".into()));
        assert_eq!(parse("#48213097 "), Some("48213097".into()));
        assert_eq!(parse("abc"), None);
        assert_eq!(parse("4821309"), None);
        assert_eq!(parse("08213097"), None);
        assert_eq!(parse("482130971"), None);
    }
}
