//! Cutting text to a length counted in characters (Unicode scalar values), never in bytes,
//! so a cut never splits a character: column sizes, header limits and message excerpts
//! are all counted that way. [`visible`] drops the characters that make a name lie.

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

/// `text` without the characters a reader cannot see or that change how the rest is shown:
/// control characters (C0, DEL, C1: NUL, line breaks, escapes), bidirectional controls
/// (`x\u{202E}ftp.hta` shows as `x ath.ptf`), zero-width spaces and joiners, the word
/// joiner and invisible operators, the byte order mark, soft hyphens, Hangul fillers,
/// interlinear annotation marks and tag characters. For names that arrive from outside
/// (file names from browsers, Telegram and staff) before anyone shows, stores or serves
/// them.
pub fn visible(text: &str) -> String {
    text.chars().filter(|&c| !is_invisible(c)).collect()
}

/// Whether `c` is one of the characters [`visible`] drops.
pub fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'                      // soft hyphen
                | '\u{034F}'                // combining grapheme joiner
                | '\u{061C}'                // Arabic letter mark
                | '\u{115F}'..='\u{1160}'  // Hangul fillers
                | '\u{17B4}'..='\u{17B5}'  // Khmer inherent vowels
                | '\u{180B}'..='\u{180F}'  // Mongolian variation selectors, vowel separator
                | '\u{200B}'..='\u{200F}'  // zero-width space, joiners, LRM, RLM
                | '\u{202A}'..='\u{202E}'  // bidi embeddings and overrides
                | '\u{2060}'..='\u{206F}'  // word joiner, invisible operators, bidi isolates
                | '\u{3164}'                // Hangul filler
                | '\u{FE00}'..='\u{FE0F}'  // variation selectors
                | '\u{FEFF}'                // byte order mark
                | '\u{FFA0}'                // halfwidth Hangul filler
                | '\u{FFF9}'..='\u{FFFB}'  // interlinear annotation
                | '\u{1D173}'..='\u{1D17A}' // musical formatting
                | '\u{E0000}'..='\u{E0FFF}' // tags, variation selectors supplement
        )
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

    #[test]
    fn names_lose_what_cannot_be_seen() {
        assert_eq!(visible("x\u{202E}ftp.hta"), "xftp.hta");
        assert_eq!(visible("a\u{0}b\r\n\u{1b}[31m.txt"), "ab[31m.txt");
        assert_eq!(
            visible("\u{FEFF}in\u{200B}voice\u{2066}.pdf\u{2069}"),
            "invoice.pdf"
        );
        assert_eq!(visible("\u{E0041}tag\u{AD}ged\u{85}"), "tagged");
        assert_eq!(visible("Договір №3 (final).pdf"), "Договір №3 (final).pdf");
        assert_eq!(visible("契約書 ✓.pdf"), "契約書 ✓.pdf");
    }
}
