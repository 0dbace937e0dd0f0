//! Object keys for stored files, and the safe file name that ends each key.
//!
//! A customer's file name is untrusted text: it may hold path separators, `..`, control
//! characters or thousands of characters. The key is built from our own ids plus a name
//! reduced to characters that are harmless in S3 keys, URLs and downloads on any system.

use proto_events::{FilePurpose, object_keys};
use uuid::Uuid;

/// The longest safe name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// A name with nothing usable left becomes this.
pub const FALLBACK_NAME: &str = "file";
/// Longer "extensions" are just part of the name (`notes.this-is-not-an-extension-…`).
const MAX_EXTENSION_CHARS: usize = 16;

/// Where a customer's file is stored: `orders/{order_id}/{file_id}/{safe_name}`.
pub fn object_key(order_id: Uuid, file_id: Uuid, original_name: &str) -> String {
    object_keys::stored_key(order_id, file_id, &safe_name(original_name))
}

/// Where a file is stored for its purpose: customer uploads as [`object_key`], results staff
/// attached under `orders/{order_id}/results/{file_id}/{safe_name}`, so the two never mix
/// and a listing of one order's results is one prefix.
pub fn object_key_for(
    purpose: FilePurpose,
    order_id: Uuid,
    file_id: Uuid,
    original_name: &str,
) -> String {
    match purpose {
        FilePurpose::CustomerUpload => object_key(order_id, file_id, original_name),
        FilePurpose::Result => {
            object_keys::result_key(order_id, file_id, &safe_name(original_name))
        }
    }
}

/// `original_name` reduced to letters and digits of any script, `.`, `-` and `_`; whitespace
/// becomes `_`; separators, control characters and everything else are dropped; runs of dots
/// collapse to one (so `..` never survives) and no dot starts or ends the name; at most
/// [`MAX_NAME_CHARS`] characters, keeping the extension; [`FALLBACK_NAME`] if nothing is left.
pub fn safe_name(original_name: &str) -> String {
    let mut kept = String::with_capacity(original_name.len());
    let mut previous: Option<char> = None;
    for c in original_name.chars() {
        let keep = match c {
            // Before whitespace: tabs and line breaks are control characters, dropped.
            c if c.is_control() => None,
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            '.' if previous != Some('.') => Some('.'),
            c if c.is_whitespace() => Some('_'),
            // Decomposed accents (macOS writes names this way) stay on their letter, so
            // "й" typed as "и" + breve is not silently turned into "и".
            '\u{0300}'..='\u{036F}' if previous.is_some_and(char::is_alphabetic) => Some(c),
            _ => None,
        };
        if let Some(c) = keep {
            kept.push(c);
            // Marks keep the letter as "previous", so several marks may follow one letter.
            if !is_combining_mark(c) {
                previous = Some(c);
            }
        }
    }
    let trimmed = kept.trim_matches('.');
    if trimmed.is_empty() {
        return FALLBACK_NAME.to_owned();
    }
    shorten(trimmed)
}

fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}')
}

/// Cuts the stem so the whole name fits [`MAX_NAME_CHARS`], keeping a short extension.
fn shorten(name: &str) -> String {
    if name.chars().count() <= MAX_NAME_CHARS {
        return name.to_owned();
    }
    let extension = name
        .rsplit_once('.')
        .map(|(_, extension)| extension)
        .filter(|extension| extension.chars().count() <= MAX_EXTENSION_CHARS);
    match extension {
        Some(extension) => {
            let stem_chars = MAX_NAME_CHARS - 1 - extension.chars().count();
            let stem: String = name.chars().take(stem_chars).collect();
            // A cut right after a dot would leave `stem..ext`.
            format!("{}.{extension}", stem.trim_end_matches('.'))
        }
        None => name
            .chars()
            .take(MAX_NAME_CHARS)
            .collect::<String>()
            .trim_end_matches('.')
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_pass_unchanged() {
        assert_eq!(safe_name("invoice-2024_03.pdf"), "invoice-2024_03.pdf");
        assert_eq!(safe_name("Договір.docx"), "Договір.docx");
        assert_eq!(safe_name("契約書.pdf"), "契約書.pdf");
    }

    #[test]
    fn spaces_become_underscores_and_other_punctuation_goes() {
        assert_eq!(safe_name("my scan (final)!.jpg"), "my_scan_final.jpg");
        assert_eq!(safe_name("a\u{a0}b.txt"), "a_b.txt");
    }

    #[test]
    fn paths_and_parent_references_are_dropped() {
        assert_eq!(safe_name("../../etc/passwd"), "etcpasswd");
        assert_eq!(safe_name("C:\\Users\\me\\doc.pdf"), "CUsersmedoc.pdf");
        assert_eq!(safe_name("a..b...pdf"), "a.b.pdf");
        assert_eq!(safe_name(".hidden"), "hidden");
        assert_eq!(safe_name("trailing."), "trailing");
    }

    #[test]
    fn control_characters_and_nul_are_dropped() {
        assert_eq!(safe_name("bad\0name\r\n.txt"), "badname.txt");
        assert_eq!(safe_name("tab\there.txt"), "tabhere.txt");
        assert_eq!(safe_name("bell\u{7}.txt"), "bell.txt");
    }

    #[test]
    fn decomposed_accents_stay_with_their_letter() {
        let decomposed = "\u{0438}\u{0306}.txt"; // "й" as "и" + combining breve
        assert_eq!(safe_name(decomposed), decomposed);
        assert_eq!(safe_name("\u{0306}x"), "x");
    }

    #[test]
    fn nothing_usable_becomes_the_fallback() {
        assert_eq!(safe_name(""), FALLBACK_NAME);
        assert_eq!(safe_name(".."), FALLBACK_NAME);
        assert_eq!(safe_name("/\\/"), FALLBACK_NAME);
        assert_eq!(safe_name("\0\u{1b}"), FALLBACK_NAME);
    }

    #[test]
    fn long_names_are_cut_keeping_the_extension() {
        let long = format!("{}.pdf", "ж".repeat(300));
        let safe = safe_name(&long);
        assert_eq!(safe.chars().count(), MAX_NAME_CHARS);
        assert!(safe.ends_with(".pdf"));
        assert!(safe.starts_with("жжж"));
    }

    #[test]
    fn a_long_tail_after_the_last_dot_is_not_an_extension() {
        let long = format!("x.{}", "y".repeat(300));
        let safe = safe_name(&long);
        assert_eq!(safe.chars().count(), MAX_NAME_CHARS);
        assert!(safe.starts_with("x.yyy"));
    }

    #[test]
    fn a_cut_never_leaves_a_double_dot() {
        let name = format!("{}.{}.pdf", "a".repeat(95), "b".repeat(10));
        let safe = safe_name(&name);
        assert!(!safe.contains(".."), "{safe}");
        assert!(safe.ends_with(".pdf"));
        assert!(safe.chars().count() <= MAX_NAME_CHARS);
    }

    #[test]
    fn results_have_their_own_prefix() {
        let order = Uuid::from_u128(1);
        let file = Uuid::from_u128(2);
        assert_eq!(
            object_key_for(FilePurpose::Result, order, file, "переклад final.pdf"),
            format!("orders/{order}/results/{file}/переклад_final.pdf")
        );
        assert_eq!(
            object_key_for(FilePurpose::CustomerUpload, order, file, "a.pdf"),
            object_key(order, file, "a.pdf")
        );
    }

    #[test]
    fn keys_are_built_from_ids_and_the_safe_name() {
        let order = Uuid::from_u128(1);
        let file = Uuid::from_u128(2);
        assert_eq!(
            object_key(order, file, "../my file.pdf"),
            format!("orders/{order}/{file}/my_file.pdf")
        );
    }
}
