//! The name a file arrived with. Kept for display only: object keys are ids, never names.

/// Long enough for real names, well inside the `order_files.original_name` column.
const MAX_CHARS: usize = 255;
/// An extension longer than this is not worth keeping when a long name is cut.
const MAX_EXTENSION_CHARS: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadName(String);

impl UploadName {
    /// Any input gives a name: browsers may send a full local path (old Windows browsers),
    /// control or bidirectional characters (dropped) or nothing at all. `position` (from 1) numbers placeholder names.
    pub fn from_sent(sent: Option<&str>, position: usize) -> UploadName {
        let base = sent
            .unwrap_or_default()
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or_default();
        // Control and bidirectional characters make a name lie (`x\u{202E}ftp.hta`).
        let cleaned = bureau_kit::text::visible(base);
        let cleaned = cleaned.trim();
        if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
            return UploadName(format!("file-{position}"));
        }
        UploadName(shorten(cleaned))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Cuts an overlong name in the middle, keeping its extension so it still reads as a PDF.
fn shorten(name: &str) -> String {
    if name.chars().count() <= MAX_CHARS {
        return name.to_owned();
    }
    let extension = match name.rsplit_once('.') {
        Some((_, ext)) if !ext.is_empty() && ext.chars().count() <= MAX_EXTENSION_CHARS => {
            format!(".{ext}")
        }
        _ => String::new(),
    };
    let stem: String = name
        .chars()
        .take(MAX_CHARS - 1 - extension.chars().count())
        .collect();
    format!("{stem}…{extension}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_control_characters_are_dropped() {
        assert_eq!(
            UploadName::from_sent(Some("C:\\Users\\olena\\договір.pdf"), 1).as_str(),
            "договір.pdf"
        );
        assert_eq!(
            UploadName::from_sent(Some("../../etc/passwd"), 1).as_str(),
            "passwd"
        );
        assert_eq!(
            UploadName::from_sent(Some("a\u{0}b\n.txt"), 1).as_str(),
            "ab.txt"
        );
    }

    #[test]
    fn names_that_lie_are_shown_as_they_are() {
        assert_eq!(
            UploadName::from_sent(Some("x\u{202E}ftp.hta"), 1).as_str(),
            "xftp.hta"
        );
        assert_eq!(
            UploadName::from_sent(Some("\u{200B}\u{2067}\u{FEFF}"), 2).as_str(),
            "file-2"
        );
    }

    #[test]
    fn missing_names_get_numbered_placeholders() {
        assert_eq!(UploadName::from_sent(None, 1).as_str(), "file-1");
        assert_eq!(UploadName::from_sent(Some("  "), 2).as_str(), "file-2");
        assert_eq!(UploadName::from_sent(Some("dir/"), 3).as_str(), "file-3");
        assert_eq!(UploadName::from_sent(Some(".."), 4).as_str(), "file-4");
    }

    #[test]
    fn long_names_keep_their_extension() {
        let name = UploadName::from_sent(Some(&format!("{}.pdf", "я".repeat(300))), 1);
        assert_eq!(name.as_str().chars().count(), MAX_CHARS);
        assert!(name.as_str().ends_with("….pdf"));
    }
}
