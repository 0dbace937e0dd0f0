//! Quoting a customer's text within Telegram's message size: the one `clip` the bot uses.

/// At most `limit` characters of `text`, with an ellipsis when cut.
pub fn clip(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_counts_characters_not_bytes() {
        assert_eq!(clip("привіт", 10), "привіт");
        assert_eq!(clip("привіт", 3), "при…");
    }
}
