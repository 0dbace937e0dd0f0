//! Signed, expiring links: a customer without a web session (a Telegram user) can download
//! a result or upload a large file through a URL that names one file or order, expires,
//! and cannot be forged. Any service holding `links.secret` can make them; the web gateway
//! checks them.
//!
//! A token is `base64url(payload) "." base64url(HMAC-SHA256(secret, payload))` where the
//! payload is `{purpose}:{uuid}:{expires unix seconds}`.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::settings::{Secret, Settings};

/// `{web_gateway.public_url}/u/{token}`: a page where anyone holding the link uploads files
/// into order `order_id` until `links.upload_ttl_secs` pass. `None` when links are off (no
/// `links.secret`). The bot sends it to customers whose file is above Telegram's 20 MB.
pub fn upload_link(settings: &Settings, order_id: Uuid) -> Option<String> {
    let signer = LinkSigner::new(&settings.links.secret)?;
    let token = signer.sign(
        LinkPurpose::Upload,
        order_id,
        Duration::from_secs(settings.links.upload_ttl_secs),
    );
    Some(format!(
        "{}/u/{token}",
        settings.web_gateway.public_url.trim_end_matches('/')
    ))
}

/// `{web_gateway.public_url}/d/{token}`: downloads stored file `file_id` until
/// `links.download_ttl_secs` pass (the web gateway redirects it to a short-lived presigned
/// URL). `None` when links are off. The notifier sends it for results too big for Telegram.
pub fn download_link(settings: &Settings, file_id: Uuid) -> Option<String> {
    let signer = LinkSigner::new(&settings.links.secret)?;
    let token = signer.sign(
        LinkPurpose::Download,
        file_id,
        Duration::from_secs(settings.links.download_ttl_secs),
    );
    Some(format!(
        "{}/d/{token}",
        settings.web_gateway.public_url.trim_end_matches('/')
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Download one stored file (subject: the file id).
    Download,
    /// Upload files into one order (subject: the order id).
    Upload,
}

impl LinkPurpose {
    fn tag(self) -> &'static str {
        match self {
            LinkPurpose::Download => "download",
            LinkPurpose::Upload => "upload",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("this link is not valid")]
    Invalid,
    #[error("this link has expired")]
    Expired,
}

#[derive(Clone)]
pub struct LinkSigner {
    key: Vec<u8>,
}

impl LinkSigner {
    /// `None` when no secret is configured: links are then unavailable, never unsigned.
    pub fn new(secret: &Secret) -> Option<LinkSigner> {
        (secret.expose().len() >= 16).then(|| LinkSigner {
            key: secret.expose().as_bytes().to_vec(),
        })
    }

    pub fn sign(&self, purpose: LinkPurpose, subject: Uuid, ttl: Duration) -> String {
        let expires = chrono::Utc::now().timestamp() + ttl.as_secs() as i64;
        self.sign_until(purpose, subject, expires)
    }

    fn sign_until(&self, purpose: LinkPurpose, subject: Uuid, expires: i64) -> String {
        let payload = format!("{}:{}:{}", purpose.tag(), subject.simple(), expires);
        let signature = self.mac(payload.as_bytes()).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(signature)
        )
    }

    /// The subject of a valid, unexpired token made for `purpose`.
    pub fn verify(&self, token: &str, purpose: LinkPurpose) -> Result<Uuid, LinkError> {
        let (payload, signature) = token.split_once('.').ok_or(LinkError::Invalid)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| LinkError::Invalid)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| LinkError::Invalid)?;
        self.mac(&payload)
            .verify_slice(&signature)
            .map_err(|_| LinkError::Invalid)?;
        let payload = String::from_utf8(payload).map_err(|_| LinkError::Invalid)?;
        let mut parts = payload.split(':');
        let (Some(tag), Some(subject), Some(expires), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(LinkError::Invalid);
        };
        if tag != purpose.tag() {
            return Err(LinkError::Invalid);
        }
        let subject = Uuid::parse_str(subject).map_err(|_| LinkError::Invalid)?;
        let expires: i64 = expires.parse().map_err(|_| LinkError::Invalid)?;
        if chrono::Utc::now().timestamp() > expires {
            return Err(LinkError::Expired);
        }
        Ok(subject)
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(payload);
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> LinkSigner {
        LinkSigner::new(&Secret::new("0123456789abcdef0123456789abcdef")).unwrap()
    }

    #[test]
    fn a_signed_link_verifies_for_its_purpose_only() {
        let id = Uuid::now_v7();
        let token = signer().sign(LinkPurpose::Download, id, Duration::from_secs(60));
        assert_eq!(signer().verify(&token, LinkPurpose::Download), Ok(id));
        assert_eq!(
            signer().verify(&token, LinkPurpose::Upload),
            Err(LinkError::Invalid)
        );
    }

    #[test]
    fn forged_tampered_and_expired_links_are_refused() {
        let id = Uuid::now_v7();
        let token = signer().sign(LinkPurpose::Upload, id, Duration::from_secs(60));
        let other = LinkSigner::new(&Secret::new("another secret of enough length")).unwrap();
        assert_eq!(
            other.verify(&token, LinkPurpose::Upload),
            Err(LinkError::Invalid)
        );
        let (payload, signature) = token.split_once('.').unwrap();
        let forged_payload =
            URL_SAFE_NO_PAD.encode(format!("upload:{}:9999999999", Uuid::now_v7().simple()));
        assert_eq!(
            signer().verify(
                &format!("{forged_payload}.{signature}"),
                LinkPurpose::Upload
            ),
            Err(LinkError::Invalid)
        );
        assert_eq!(
            signer().verify(payload, LinkPurpose::Upload),
            Err(LinkError::Invalid)
        );
        assert_eq!(
            signer().verify("", LinkPurpose::Upload),
            Err(LinkError::Invalid)
        );
        let expired =
            signer().sign_until(LinkPurpose::Upload, id, chrono::Utc::now().timestamp() - 1);
        assert_eq!(
            signer().verify(&expired, LinkPurpose::Upload),
            Err(LinkError::Expired)
        );
    }

    #[test]
    fn links_are_built_on_the_public_url() {
        let dir =
            crate::settings::find_config_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")))
                .unwrap();
        let mut settings = Settings::load_from(&dir).unwrap();
        settings.links.secret = Secret::new("0123456789abcdef0123456789abcdef");
        settings.web_gateway.public_url = "https://desk.example.com/".into();
        let order = Uuid::now_v7();
        let link = upload_link(&settings, order).unwrap();
        let token = link.strip_prefix("https://desk.example.com/u/").unwrap();
        assert_eq!(signer().verify(token, LinkPurpose::Upload), Ok(order));
        let link = download_link(&settings, order).unwrap();
        let token = link.strip_prefix("https://desk.example.com/d/").unwrap();
        assert_eq!(signer().verify(token, LinkPurpose::Download), Ok(order));
        settings.links.secret = Secret::new("");
        assert_eq!(upload_link(&settings, order), None);
    }

    #[test]
    fn short_secrets_disable_links() {
        assert!(LinkSigner::new(&Secret::new("")).is_none());
        assert!(LinkSigner::new(&Secret::new("short")).is_none());
    }
}
