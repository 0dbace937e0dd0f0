//! Phone numbers as customers type them, checked and written the one way we store them
//! (E.164: `+` and 8-15 digits). A number shared with Telegram's contact button is already
//! verified by Telegram; it only needs the same spelling.

/// The number in E.164, or `None` if `typed` is not a phone number.
///
/// Spaces, dashes, dots and brackets are ignored. A Ukrainian number written nationally
/// (`050 123 45 67`) gets the country code; anything else must carry its country code.
pub fn normalize(typed: &str) -> Option<String> {
    let typed = typed.trim();
    let (plus, rest) = match typed.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, typed),
    };
    let mut digits = String::with_capacity(rest.len());
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' | '\u{a0}' => {}
            _ => return None,
        }
    }
    let international = if plus {
        digits
    } else if digits.len() == 10 && digits.starts_with('0') {
        format!("38{digits}")
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_owned()
    } else {
        digits
    };
    let plausible = (8..=15).contains(&international.len()) && !international.starts_with('0');
    plausible.then(|| format!("+{international}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_spellings_become_e164() {
        assert_eq!(normalize("+380501234567").as_deref(), Some("+380501234567"));
        assert_eq!(
            normalize("+38 (050) 123-45-67").as_deref(),
            Some("+380501234567")
        );
        assert_eq!(normalize("050 123 45 67").as_deref(), Some("+380501234567"));
        assert_eq!(
            normalize("380501234567").as_deref(),
            Some("+380501234567"),
            "Telegram's contact spelling"
        );
        assert_eq!(
            normalize("0044 20 7946 0958").as_deref(),
            Some("+442079460958")
        );
    }

    #[test]
    fn what_is_not_a_phone_is_refused() {
        for typed in [
            "",
            "hello",
            "12345",
            "+",
            "+0501234567",
            "050-123-45-67 ext 5",
            "1234567890123456",
            "☎️",
        ] {
            assert_eq!(normalize(typed), None, "{typed}");
        }
    }
}
