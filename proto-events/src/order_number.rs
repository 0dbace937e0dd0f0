//! Order numbers: what customers quote ("№48213097"), unique by construction.
//!
//! A number is a position in one sequence (MySQL's `order_number_sequence`, leased in blocks
//! by the gateways, see `bureau_platform::order_numbers`), turned into 8 digits by a keyed
//! permutation of the 90,000,000 numbers with 8 digits and no leading zero. Distinct
//! positions give distinct numbers, so two orders never share one; the permutation keeps
//! consecutive orders from getting consecutive numbers, so a number says nothing about how
//! many orders came before it. The key is made once per database (by the migration) and
//! never changes: a new key would map old positions to new numbers and could repeat one.
//!
//! The permutation is a Feistel network on the mixed radix 9,000 × 10,000 (each round adds
//! a keyed hash of one half to the other, modulo that half's radix, and swaps them; an even
//! number of rounds brings the radices back), so it is a bijection of `[0, 90,000,000)` with
//! no cycle walking. It hides volume from customers; it is not encryption.

/// How many order numbers exist: 8 digits, the first never 0.
pub const CAPACITY: u64 = 90_000_000;
/// The smallest number: positions map to `FIRST..FIRST + CAPACITY`.
const FIRST: u64 = 10_000_000;
/// The two halves of a position: `CAPACITY = HIGH * LOW`.
const HIGH: u64 = 9_000;
const LOW: u64 = 10_000;
const ROUNDS: u64 = 8;

/// The number at `position` of the sequence under `key`; `None` once all 90 million are
/// used (the desk would need 9-digit numbers then).
pub fn from_sequence(position: u64, key: u64) -> Option<String> {
    (position < CAPACITY).then(|| (FIRST + permute(position, key, HIGH, LOW)).to_string())
}

/// The sequence position `number` came from under `key` (for operators and tests).
pub fn sequence_of(number: &str, key: u64) -> Option<u64> {
    let number = parse(number)?.parse::<u64>().ok()?;
    Some(unpermute(number - FIRST, key, HIGH, LOW))
}

/// A random number, NOT unique: only for tests and tools that make throwaway orders. The
/// gateways issue numbers from the sequence (`bureau_platform::order_numbers`).
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

/// The round function: a keyed 64-bit mix (SplitMix64's finaliser) of one half.
fn round_key(key: u64, round: u64, half: u64) -> u64 {
    let mut z =
        key ^ round.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ half.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A bijection of `[0, high * low)`.
fn permute(position: u64, key: u64, high: u64, low: u64) -> u64 {
    let (mut left, mut right) = (position / low, position % low);
    // `left` is below `left_radix`, `right` below `right_radix`.
    let (mut left_radix, mut right_radix) = (high, low);
    for round in 0..ROUNDS {
        let mixed = (left + round_key(key, round, right) % left_radix) % left_radix;
        (left, right) = (right, mixed);
        (left_radix, right_radix) = (right_radix, left_radix);
    }
    left * right_radix + right
}

/// The inverse of [`permute`].
fn unpermute(value: u64, key: u64, high: u64, low: u64) -> u64 {
    let (mut left, mut right) = (value / low, value % low);
    let (mut left_radix, mut right_radix) = (high, low);
    for round in (0..ROUNDS).rev() {
        (left_radix, right_radix) = (right_radix, left_radix);
        // Before this round the pair was (l, r) with l < left_radix; after it, (r, m).
        let previous_right = left;
        let previous_left =
            (right + left_radix - round_key(key, round, previous_right) % left_radix) % left_radix;
        (left, right) = (previous_left, previous_right);
    }
    left * right_radix + right
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: u64 = 0x5EED_1234_ABCD_0042;

    #[test]
    fn the_permutation_is_a_bijection() {
        // Exhaustively on a small mixed radix, with several keys.
        for key in [0, 1, KEY, u64::MAX] {
            let (high, low) = (90, 100);
            let mut seen = vec![false; (high * low) as usize];
            for position in 0..high * low {
                let value = permute(position, key, high, low);
                assert!(value < high * low);
                assert!(!seen[value as usize], "{value} twice under key {key}");
                seen[value as usize] = true;
                assert_eq!(unpermute(value, key, high, low), position);
            }
        }
    }

    #[test]
    fn sequence_positions_become_distinct_8_digit_numbers() {
        let mut seen = std::collections::HashSet::new();
        for position in (0..200_000).chain(CAPACITY - 1000..CAPACITY) {
            let number = from_sequence(position, KEY).unwrap();
            assert_eq!(parse(&number), Some(number.clone()), "{number}");
            assert_eq!(sequence_of(&number, KEY), Some(position));
            assert!(seen.insert(number), "position {position} repeats a number");
        }
        assert_eq!(from_sequence(CAPACITY, KEY), None);
    }

    #[test]
    fn consecutive_orders_do_not_get_consecutive_numbers() {
        let numbers: Vec<u64> = (0..100)
            .map(|p| from_sequence(p, KEY).unwrap().parse().unwrap())
            .collect();
        let close = numbers
            .windows(2)
            .filter(|pair| pair[0].abs_diff(pair[1]) < 1000)
            .count();
        assert!(close <= 1, "{numbers:?}");
        // Another database (another key) numbers differently.
        assert_ne!(from_sequence(0, KEY), from_sequence(0, KEY + 1));
    }

    #[test]
    fn random_numbers_parse() {
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
