//! Signed, expiring, revocable links: a customer without a web session (a Telegram user)
//! can download a result or upload a large file through a URL that names one file or order,
//! expires, cannot be forged, and stops working when it is revoked. Any service holding
//! `links.secret` and the database can issue them; the web gateway checks them.
//!
//! A token is `base64url(payload) "." base64url(HMAC-SHA256(secret, payload))` where the
//! payload is `{purpose}:{uuid}:{expires unix seconds}:{link id}`. The link id names a row
//! of `signed_links` (written when the link is issued), which says which order the link
//! belongs to and whether it was revoked: when the order closes (upload links on every
//! close, download links when it is cancelled or rejected) or when staff revoke the
//! order's links. Tokens of the older, unstored shape (three fields) are refused as
//! expired: the customer asks for a new one.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::{MySqlConnection, MySqlPool};
use uuid::Uuid;

use crate::settings::{Secret, Settings};

/// Issues a stored link for `{web_gateway.public_url}/u/{token}`: a page where anyone
/// holding the link uploads files into order `order_id` until `links.upload_ttl_secs` pass,
/// the order closes or the link is revoked. `None` when links are off (no `links.secret`).
/// The bot sends it to customers whose file is above Telegram's 20 MB.
pub async fn issue_upload_link(
    pool: &MySqlPool,
    settings: &Settings,
    order_id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    let ttl = Duration::from_secs(settings.links.upload_ttl_secs);
    issue(
        pool,
        settings,
        LinkPurpose::Upload,
        order_id,
        order_id,
        ttl,
        "u",
    )
    .await
}

/// Issues a stored link for `{web_gateway.public_url}/d/{token}`: downloads stored file
/// `file_id` of order `order_id` until `links.download_ttl_secs` pass or the link is
/// revoked (the web gateway redirects it to a short-lived presigned URL). `None` when links
/// are off. The notifier sends it for results too big for Telegram.
pub async fn issue_download_link(
    pool: &MySqlPool,
    settings: &Settings,
    order_id: Uuid,
    file_id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    let ttl = Duration::from_secs(settings.links.download_ttl_secs);
    issue(
        pool,
        settings,
        LinkPurpose::Download,
        file_id,
        order_id,
        ttl,
        "d",
    )
    .await
}

async fn issue(
    pool: &MySqlPool,
    settings: &Settings,
    purpose: LinkPurpose,
    subject: Uuid,
    order_id: Uuid,
    ttl: Duration,
    path: &str,
) -> Result<Option<String>, sqlx::Error> {
    let Some(signer) = LinkSigner::new(&settings.links.secret) else {
        return Ok(None);
    };
    let link_id = Uuid::now_v7();
    let now = Utc::now();
    let expires = now.timestamp() + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
    sqlx::query(
        "INSERT INTO signed_links (id, purpose, subject_id, order_id, created_at, expires_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(link_id)
    .bind(purpose.tag())
    .bind(subject)
    .bind(order_id)
    .bind(now)
    .bind(DateTime::<Utc>::from_timestamp(expires, 0).unwrap_or(now))
    .execute(pool)
    .await?;
    let token = signer.sign_until(purpose, subject, expires, link_id);
    Ok(Some(format!(
        "{}/{path}/{token}",
        settings.web_gateway.public_url.trim_end_matches('/')
    )))
}

/// What the database says of a link whose signature checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Issued for this purpose and subject, not revoked: it belongs to `order_id`.
    Active { order_id: Uuid },
    /// Revoked (the order closed, or staff revoked it).
    Revoked,
    /// No such link was issued for this purpose and subject.
    Unknown,
}

/// The state of link `link`, verified as `verified`.
pub async fn link_state(
    pool: &MySqlPool,
    verified: &VerifiedLink,
    purpose: LinkPurpose,
) -> Result<LinkState, sqlx::Error> {
    let row: Option<(Uuid, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT order_id, revoked_at FROM signed_links WHERE id = ? AND purpose = ? AND subject_id = ?",
    )
    .bind(verified.link_id)
    .bind(purpose.tag())
    .bind(verified.subject)
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        None => LinkState::Unknown,
        Some((_, Some(_))) => LinkState::Revoked,
        Some((order_id, None)) => LinkState::Active { order_id },
    })
}

/// Why links are revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// The order closed: no more uploads (and, when it was cancelled or rejected, no more
    /// downloads either).
    OrderClosed,
    /// Staff revoked the order's links (a link was forwarded, a customer asked).
    Staff,
}

impl Revocation {
    fn reason(self) -> &'static str {
        match self {
            Revocation::OrderClosed => "order_closed",
            Revocation::Staff => "staff",
        }
    }
}

/// Revokes the live links of `order_id` made for one of `purposes`; how many were live.
/// Runs on a connection so a caller revokes in the transaction that closes the order.
pub async fn revoke_order_links(
    connection: &mut MySqlConnection,
    order_id: Uuid,
    purposes: &[LinkPurpose],
    why: Revocation,
) -> Result<u64, sqlx::Error> {
    let mut revoked = 0;
    for purpose in purposes {
        revoked += sqlx::query(
            "UPDATE signed_links SET revoked_at = ?, revoked_reason = ? \
             WHERE order_id = ? AND purpose = ? AND revoked_at IS NULL",
        )
        .bind(Utc::now())
        .bind(why.reason())
        .bind(order_id)
        .bind(purpose.tag())
        .execute(&mut *connection)
        .await?
        .rows_affected();
    }
    Ok(revoked)
}

/// A token whose signature and expiry checked: what it names and the link row it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedLink {
    pub subject: Uuid,
    pub link_id: Uuid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Download one stored file (subject: the file id).
    Download,
    /// Upload files into one order (subject: the order id).
    Upload,
}

impl LinkPurpose {
    pub fn tag(self) -> &'static str {
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

    /// A token for link row `link_id` (which the caller stores: see [`issue_upload_link`]).
    pub fn sign(
        &self,
        purpose: LinkPurpose,
        subject: Uuid,
        ttl: Duration,
        link_id: Uuid,
    ) -> String {
        let expires = chrono::Utc::now().timestamp() + ttl.as_secs() as i64;
        self.sign_until(purpose, subject, expires, link_id)
    }

    fn sign_until(
        &self,
        purpose: LinkPurpose,
        subject: Uuid,
        expires: i64,
        link_id: Uuid,
    ) -> String {
        let payload = format!(
            "{}:{}:{}:{}",
            purpose.tag(),
            subject.simple(),
            expires,
            link_id.simple()
        );
        let signature = self.mac(payload.as_bytes()).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(signature)
        )
    }

    /// The subject and link id of a valid, unexpired token made for `purpose`. Whether the
    /// link was revoked is the database's to say ([`link_state`]).
    pub fn verify(&self, token: &str, purpose: LinkPurpose) -> Result<VerifiedLink, LinkError> {
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
        let parts: Vec<&str> = payload.split(':').collect();
        let (tag, subject, expires, link_id) = match parts[..] {
            [tag, subject, expires, link_id] => (tag, subject, expires, link_id),
            // Signed by us before links were stored: it cannot be revoked, so it is over.
            [_, _, _] => return Err(LinkError::Expired),
            _ => return Err(LinkError::Invalid),
        };
        if tag != purpose.tag() {
            return Err(LinkError::Invalid);
        }
        let subject = Uuid::parse_str(subject).map_err(|_| LinkError::Invalid)?;
        let expires: i64 = expires.parse().map_err(|_| LinkError::Invalid)?;
        let link_id = Uuid::parse_str(link_id).map_err(|_| LinkError::Invalid)?;
        if chrono::Utc::now().timestamp() > expires {
            return Err(LinkError::Expired);
        }
        Ok(VerifiedLink { subject, link_id })
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
        let link_id = Uuid::now_v7();
        let token = signer().sign(LinkPurpose::Download, id, Duration::from_secs(60), link_id);
        assert_eq!(
            signer().verify(&token, LinkPurpose::Download),
            Ok(VerifiedLink {
                subject: id,
                link_id
            })
        );
        assert_eq!(
            signer().verify(&token, LinkPurpose::Upload),
            Err(LinkError::Invalid)
        );
    }

    #[test]
    fn forged_tampered_and_expired_links_are_refused() {
        let id = Uuid::now_v7();
        let link_id = Uuid::now_v7();
        let token = signer().sign(LinkPurpose::Upload, id, Duration::from_secs(60), link_id);
        let other = LinkSigner::new(&Secret::new("another secret of enough length")).unwrap();
        assert_eq!(
            other.verify(&token, LinkPurpose::Upload),
            Err(LinkError::Invalid)
        );
        let (payload, signature) = token.split_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode(format!(
            "upload:{}:9999999999:{}",
            Uuid::now_v7().simple(),
            link_id.simple()
        ));
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
        let expired = signer().sign_until(
            LinkPurpose::Upload,
            id,
            chrono::Utc::now().timestamp() - 1,
            link_id,
        );
        assert_eq!(
            signer().verify(&expired, LinkPurpose::Upload),
            Err(LinkError::Expired)
        );
    }

    #[test]
    fn tokens_of_the_unstored_shape_are_over() {
        let payload = format!("upload:{}:9999999999", Uuid::now_v7().simple());
        let signature = signer().mac(payload.as_bytes()).finalize().into_bytes();
        let old = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(signature)
        );
        assert_eq!(
            signer().verify(&old, LinkPurpose::Upload),
            Err(LinkError::Expired)
        );
    }

    #[test]
    fn short_secrets_disable_links() {
        assert!(LinkSigner::new(&Secret::new("")).is_none());
        assert!(LinkSigner::new(&Secret::new("short")).is_none());
    }
}
