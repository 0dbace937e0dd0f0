//! Cutting text to a length counted in characters (Unicode scalar values), never in bytes,
//! so a cut never splits a character: column sizes, header limits and message excerpts
//! are all counted that way.

/// At most `max` characters of `text`, with "…" after them when something was cut: for
/// text people read (summaries, previews, excerpts). The result has at most `max + 1`
/// characters.
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// At most `max` characters of `text`, with nothing added: for values that must fit a
/// column or a header.
pub fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_counts_characters_not_bytes() {
        assert_eq!(clip("привіт", 10), "привіт");
        assert_eq!(clip("привіт", 6), "привіт");
        assert_eq!(clip("привіт", 3), "при…");
        assert_eq!(clip("", 0), "");
    }

    #[test]
    fn truncating_counts_characters_and_adds_nothing() {
        assert_eq!(truncate("привіт", 3), "при");
        assert_eq!(truncate("ab", 5), "ab");
        assert_eq!(truncate("a😀b", 2), "a😀");
        assert_eq!(truncate("abc", 0), "");
    }
}
