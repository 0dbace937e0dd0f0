//! Small helpers the suite shares (kept here rather than borrowed from the end-to-end
//! harness, so this crate builds on its own).

use std::path::PathBuf;

/// The repository's `config/` directory.
pub fn config_dir() -> PathBuf {
    bureau_platform::settings::find_config_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")))
        .expect("config/default.toml above the fault suite")
}

/// The first 8-digit order number after a `№` in `text`.
pub fn order_number_in(text: &str) -> Option<String> {
    let (_, after) = text.split_once('№')?;
    let digits: String = after
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    (digits.len() == 8).then_some(digits)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Bytes no sniffer mistakes for anything in particular.
pub fn random_bytes(len: usize) -> Vec<u8> {
    (0..len).map(|_| rand::random::<u8>()).collect()
}
