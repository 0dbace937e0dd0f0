//! What we refuse to keep, and how a refusal is worded.
//!
//! A [`Rejection`] carries a stable `code` (for programs: the notifier, the back office,
//! reports) and a `reason` a customer can read. [`check`] judges bytes already measured on
//! their way into the object store.

use bureau_platform::object_store::Uploaded;

/// The largest file we store (2 GiB), whatever its source.
pub const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// The sniffed content types refused when `[storage_worker] refused_content_types` is not
/// changed: executable programs, which a business has no use for in an order and which
/// could reach staff machines through downloads. The shipped `config/default.toml` lists
/// the same ones; operators change the setting, not this.
pub const DEFAULT_REFUSED_CONTENT_TYPES: [&str; 6] = [
    "application/x-msdownload",
    "application/vnd.microsoft.portable-executable",
    "application/x-executable",
    "application/x-elf",
    "application/x-mach-binary",
    "application/x-sharedlib",
];

/// Why a file is not stored. Each variant is final: retrying would give the same answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Zero bytes arrived.
    Empty,
    /// The bytes are a kind the business refuses (`refused_content_types`).
    TypeRefused { content_type: String },
    /// More than [`MAX_FILE_BYTES`] arrived.
    TooLarge { limit: u64 },
    /// Telegram's cloud Bot API does not hand out files this big.
    TooBigForTelegram { limit: u64 },
    /// Telegram no longer has the file, or never had it under this id.
    TelegramFileUnavailable { telegram_says: String },
    /// The web upload's staged bytes are gone and the file was never stored.
    UploadMissing,
}

impl Rejection {
    /// The stable code sent in `FileRejected.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Empty => "empty",
            Rejection::TypeRefused { .. } => "type_refused",
            Rejection::TooLarge { .. } => "too_large",
            Rejection::TooBigForTelegram { .. } => "too_big_for_telegram",
            Rejection::TelegramFileUnavailable { .. } => "telegram_file_unavailable",
            Rejection::UploadMissing => "upload_missing",
        }
    }

    /// The sentence sent in `FileRejected.reason`, in English; consumers that speak to a
    /// customer in another language translate by `code`.
    pub fn reason(&self) -> String {
        match self {
            Rejection::Empty => "The file is empty".to_owned(),
            Rejection::TypeRefused { content_type } => {
                format!("Files of this type are not accepted (the file is {content_type})")
            }
            Rejection::TooLarge { limit } => {
                format!("The file is larger than the {} limit", human_size(*limit))
            }
            Rejection::TooBigForTelegram { limit } => format!(
                "Files above {} cannot be fetched from Telegram; please upload it through the web link",
                human_size(*limit)
            ),
            Rejection::TelegramFileUnavailable { telegram_says } => format!(
                "Telegram could not give us this file ({telegram_says}); please send it again"
            ),
            Rejection::UploadMissing => {
                "The uploaded file was not found; please upload it again".to_owned()
            }
        }
    }
}

/// Judges bytes that reached the object store: `Ok` to keep them, or why not. The content
/// type is the sniffed one; the name's extension is never consulted, so a `photo.jpg` that
/// holds a PDF is kept as `application/pdf` under the customer's name.
pub fn check(uploaded: &Uploaded, refused_content_types: &[String]) -> Result<(), Rejection> {
    if uploaded.size == 0 {
        return Err(Rejection::Empty);
    }
    if refused_content_types
        .iter()
        .any(|refused| refused.eq_ignore_ascii_case(&uploaded.content_type))
    {
        return Err(Rejection::TypeRefused {
            content_type: uploaded.content_type.clone(),
        });
    }
    Ok(())
}

/// `20 MB`, `2 GB`, `1500 bytes`: whole binary units, as Telegram and people quote limits.
fn human_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GB"), (1 << 20, "MB"), (1 << 10, "KB")];
    UNITS
        .iter()
        .find(|(unit, _)| bytes >= *unit && bytes.is_multiple_of(*unit))
        .map(|(unit, name)| format!("{} {name}", bytes / unit))
        .unwrap_or_else(|| format!("{bytes} bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused() -> Vec<String> {
        DEFAULT_REFUSED_CONTENT_TYPES.map(str::to_owned).to_vec()
    }

    fn check(uploaded: &Uploaded) -> Result<(), Rejection> {
        super::check(uploaded, &refused())
    }

    fn uploaded(size: u64, content_type: &str) -> Uploaded {
        Uploaded {
            size,
            sha256: "00".repeat(32),
            content_type: content_type.to_owned(),
        }
    }

    #[test]
    fn ordinary_files_are_kept() {
        assert_eq!(check(&uploaded(10, "application/pdf")), Ok(()));
        assert_eq!(check(&uploaded(1, "text/plain")), Ok(()));
        assert_eq!(check(&uploaded(1, "application/octet-stream")), Ok(()));
    }

    #[test]
    fn empty_files_are_refused() {
        let rejection = check(&uploaded(0, "text/plain")).unwrap_err();
        assert_eq!(rejection.code(), "empty");
        assert_eq!(rejection.reason(), "The file is empty");
    }

    #[test]
    fn executables_are_refused() {
        for content_type in DEFAULT_REFUSED_CONTENT_TYPES {
            let rejection = check(&uploaded(100, content_type)).unwrap_err();
            assert_eq!(rejection.code(), "type_refused");
            assert!(rejection.reason().contains(content_type));
        }
    }

    #[test]
    fn sniffed_executables_are_in_the_refused_list() {
        // infer needs a full ELF header (more than 52 bytes) before it names the type.
        let mut elf = vec![0x7f, b'E', b'L', b'F', 2, 1, 1];
        elf.resize(64, 0);
        let sniffed = bureau_platform::object_store::sniff(&elf);
        assert!(
            DEFAULT_REFUSED_CONTENT_TYPES.contains(&sniffed.as_str()),
            "{sniffed}"
        );
        // A Windows program: the DOS header's `e_lfanew` points to the PE signature.
        let mut pe = vec![0u8; 0x100];
        pe[..2].copy_from_slice(b"MZ");
        pe[0x3C..0x40].copy_from_slice(&0x80u32.to_le_bytes());
        pe[0x80..0x84].copy_from_slice(b"PE\0\0");
        let windows = bureau_platform::object_store::sniff(&pe);
        assert!(
            DEFAULT_REFUSED_CONTENT_TYPES.contains(&windows.as_str()),
            "{windows}"
        );
    }

    #[test]
    fn the_refused_list_is_the_operators_choice() {
        let only_pdf = vec!["application/pdf".to_owned()];
        assert_eq!(
            super::check(&uploaded(5, "application/pdf"), &only_pdf)
                .unwrap_err()
                .code(),
            "type_refused"
        );
        assert_eq!(
            super::check(&uploaded(5, "application/x-elf"), &only_pdf),
            Ok(())
        );
        assert_eq!(super::check(&uploaded(5, "application/x-elf"), &[]), Ok(()));
    }

    #[test]
    fn the_shipped_settings_refuse_the_default_list() {
        let dir = bureau_platform::settings::find_config_dir(std::path::Path::new(env!(
            "CARGO_MANIFEST_DIR"
        )))
        .unwrap();
        let settings = bureau_platform::Settings::load_from(&dir).unwrap();
        assert_eq!(settings.storage_worker.refused_content_types, refused());
    }

    #[test]
    fn reasons_quote_limits_as_people_do() {
        let telegram = Rejection::TooBigForTelegram {
            limit: 20 * 1024 * 1024,
        };
        assert_eq!(
            telegram.reason(),
            "Files above 20 MB cannot be fetched from Telegram; please upload it through the web link"
        );
        assert_eq!(
            Rejection::TooLarge {
                limit: MAX_FILE_BYTES
            }
            .reason(),
            "The file is larger than the 2 GB limit"
        );
        assert_eq!(human_size(1500), "1500 bytes");
    }

    #[test]
    fn codes_are_stable() {
        let codes: Vec<_> = [
            Rejection::Empty,
            Rejection::TypeRefused {
                content_type: String::new(),
            },
            Rejection::TooLarge { limit: 1 },
            Rejection::TooBigForTelegram { limit: 1 },
            Rejection::TelegramFileUnavailable {
                telegram_says: String::new(),
            },
            Rejection::UploadMissing,
        ]
        .iter()
        .map(Rejection::code)
        .collect();
        assert_eq!(
            codes,
            [
                "empty",
                "type_refused",
                "too_large",
                "too_big_for_telegram",
                "telegram_file_unavailable",
                "upload_missing"
            ]
        );
    }
}
