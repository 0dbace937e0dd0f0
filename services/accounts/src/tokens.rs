//! One-time links of web accounts: "verify your e-mail address" and "reset your password".
//!
//! The token (32 random bytes, 64 hex digits) travels only in the e-mail; `account_tokens`
//! keeps its SHA-256, the address it was sent to, an expiry and when it was used. Using a
//! token is one conditional `UPDATE` (unused, unexpired), so two clicks at once use it
//! once. A used, expired or unknown token is one case ([`TokenError::Expired`]): the answer
//! tells nobody which tokens ever existed.

use std::time::Duration;

use chrono::Utc;
use sha2::{Digest, Sha256};
use sqlx::MySqlPool;
use uuid::Uuid;

use crate::{AccountError, Email, Password};

const TOKEN_BYTES: usize = 32;

/// At most this many links of one purpose are sent to one account per
/// [`ISSUE_WINDOW_MINUTES`]: a forgot-password form cannot be used to flood a mailbox.
const MAX_ISSUED_IN_WINDOW: i64 = 3;
const ISSUE_WINDOW_MINUTES: i64 = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    VerifyEmail,
    ResetPassword,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "verify_email",
            TokenPurpose::ResetPassword => "reset_password",
        }
    }
}

/// A token just made, with whom to send it to.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// What goes into the link; never stored.
    pub token: String,
    pub account_id: Uuid,
    pub email: String,
    pub display_name: String,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Used already, expired, or never issued.
    #[error("This link has expired or was already used. Ask for a new one.")]
    Expired,
    /// The new password breaks the password rules (reset only); the token stays unused.
    #[error(transparent)]
    Password(#[from] crate::WeakPassword),
    #[error("the account database failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error("hashing the password failed: {0}")]
    Hashing(String),
}

fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A presented token in its one valid shape, lowercased; anything else never reaches MySQL.
fn presented(token: &str) -> Option<String> {
    let token = token.trim();
    let valid = token.len() == TOKEN_BYTES * 2 && token.bytes().all(|b| b.is_ascii_hexdigit());
    valid.then(|| token.to_ascii_lowercase())
}

/// A token for the active account `account_id`, valid `ttl`. `None` when there is no such
/// active account, or it was sent too many links of this purpose lately.
pub async fn issue_for_account(
    pool: &MySqlPool,
    account_id: Uuid,
    purpose: TokenPurpose,
    ttl: Duration,
) -> Result<Option<IssuedToken>, sqlx::Error> {
    let found: Option<(Uuid, String, String)> =
        sqlx::query_as("SELECT id, email, display_name FROM web_accounts WHERE id = ? AND active")
            .bind(account_id)
            .fetch_optional(pool)
            .await?;
    issue(pool, found, purpose, ttl).await
}

/// A token for the active account with address `email` (as typed; normalised here), valid
/// `ttl`. `None` when there is none (or it was sent too many lately): the caller answers
/// the same either way.
pub async fn issue_for_email(
    pool: &MySqlPool,
    email: &str,
    purpose: TokenPurpose,
    ttl: Duration,
) -> Result<Option<IssuedToken>, sqlx::Error> {
    let Ok(email) = Email::parse(email) else {
        return Ok(None);
    };
    let found: Option<(Uuid, String, String)> = sqlx::query_as(
        "SELECT id, email, display_name FROM web_accounts WHERE email = ? AND active",
    )
    .bind(email.as_str())
    .fetch_optional(pool)
    .await?;
    issue(pool, found, purpose, ttl).await
}

async fn issue(
    pool: &MySqlPool,
    account: Option<(Uuid, String, String)>,
    purpose: TokenPurpose,
    ttl: Duration,
) -> Result<Option<IssuedToken>, sqlx::Error> {
    let Some((account_id, email, display_name)) = account else {
        return Ok(None);
    };
    let now = Utc::now();
    let recent: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM account_tokens WHERE account_id = ? AND purpose = ? AND created_at > ?",
    )
    .bind(account_id)
    .bind(purpose.as_str())
    .bind(now - chrono::Duration::minutes(ISSUE_WINDOW_MINUTES))
    .fetch_one(pool)
    .await?;
    if recent >= MAX_ISSUED_IN_WINDOW {
        tracing::info!(%account_id, purpose = purpose.as_str(), "enough links sent lately; not sending another");
        return Ok(None);
    }
    let bytes: [u8; TOKEN_BYTES] = rand::random();
    let token = hex::encode(bytes);
    let expires_at = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(1));
    sqlx::query(
        "INSERT INTO account_tokens (token_hash, account_id, purpose, email, created_at, expires_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(digest(&token))
    .bind(account_id)
    .bind(purpose.as_str())
    .bind(&email)
    .bind(now)
    .bind(expires_at)
    .execute(pool)
    .await?;
    Ok(Some(IssuedToken {
        token,
        account_id,
        email,
        display_name,
    }))
}

/// Uses a verification token: the account's address is verified if it is still the one
/// the link was sent to. Returns the account.
pub async fn verify_email(pool: &MySqlPool, token: &str) -> Result<Uuid, TokenError> {
    let token = presented(token).ok_or(TokenError::Expired)?;
    let now = Utc::now();
    let mut transaction = pool.begin().await?;
    let row: Option<(Uuid, String)> = sqlx::query_as(
        "SELECT account_id, email FROM account_tokens \
         WHERE token_hash = ? AND purpose = 'verify_email' AND used_at IS NULL AND expires_at > ? \
         FOR UPDATE",
    )
    .bind(digest(&token))
    .bind(now)
    .fetch_optional(&mut *transaction)
    .await?;
    let (account_id, email) = row.ok_or(TokenError::Expired)?;
    sqlx::query("UPDATE account_tokens SET used_at = ? WHERE token_hash = ?")
        .bind(now)
        .bind(digest(&token))
        .execute(&mut *transaction)
        .await?;
    let verified = sqlx::query(
        "UPDATE web_accounts SET email_verified_at = COALESCE(email_verified_at, ?), \
                email_bouncing_at = NULL, email_bounce_reason = NULL \
         WHERE id = ? AND email = ? AND active",
    )
    .bind(now)
    .bind(account_id)
    .bind(&email)
    .execute(&mut *transaction)
    .await?;
    if verified.rows_affected() == 0 {
        // The account changed its address (or was closed) since: nothing to verify.
        return Err(TokenError::Expired);
    }
    transaction.commit().await?;
    tracing::info!(%account_id, "e-mail address verified");
    Ok(account_id)
}

/// Whether the account's address is verified.
pub async fn email_verified(pool: &MySqlPool, account_id: Uuid) -> Result<bool, sqlx::Error> {
    let verified: Option<Option<chrono::DateTime<Utc>>> =
        sqlx::query_scalar("SELECT email_verified_at FROM web_accounts WHERE id = ?")
            .bind(account_id)
            .fetch_optional(pool)
            .await?;
    Ok(matches!(verified, Some(Some(_))))
}

/// The account's address and what we know of it: verified, and whether mail servers
/// refuse it (when, and their answer).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EmailState {
    pub email: String,
    pub verified_at: Option<chrono::DateTime<Utc>>,
    pub bouncing_at: Option<chrono::DateTime<Utc>>,
    pub bounce_reason: Option<String>,
}

impl EmailState {
    /// Whether order notices may be e-mailed to it.
    pub fn usable(&self) -> bool {
        self.verified_at.is_some() && self.bouncing_at.is_none()
    }
}

pub async fn email_state(
    pool: &MySqlPool,
    account_id: Uuid,
) -> Result<Option<EmailState>, sqlx::Error> {
    sqlx::query_as(
        "SELECT email, email_verified_at AS verified_at, email_bouncing_at AS bouncing_at, \
                email_bounce_reason AS bounce_reason \
         FROM web_accounts WHERE id = ?",
    )
    .bind(account_id)
    .fetch_optional(pool)
    .await
}

/// A mail server refused `email` for good (`reason`, its answer): marked bouncing, if it
/// is still the account's address, until it is verified again.
pub async fn mark_email_bouncing(
    pool: &MySqlPool,
    account_id: Uuid,
    email: &str,
    reason: &str,
) -> Result<(), sqlx::Error> {
    let reason: String = reason.chars().take(500).collect();
    sqlx::query(
        "UPDATE web_accounts \
         SET email_bouncing_at = COALESCE(email_bouncing_at, UTC_TIMESTAMP(6)), email_bounce_reason = ? \
         WHERE id = ? AND email = ?",
    )
    .bind(reason)
    .bind(account_id)
    .bind(email)
    .execute(pool)
    .await?;
    Ok(())
}

/// Sets a new password with a reset token: the password must pass the rules (the token
/// stays usable if not); then the token is used, the password replaced, every session of
/// the account closed and every other reset link of it used up. Following the link also
/// proves the address, so it counts as verified. Returns the account.
pub async fn reset_password(
    pool: &MySqlPool,
    token: &str,
    new_password: &str,
) -> Result<Uuid, TokenError> {
    let token = presented(token).ok_or(TokenError::Expired)?;
    let now = Utc::now();
    let row: Option<(Uuid, String)> = sqlx::query_as(
        "SELECT account_id, email FROM account_tokens \
         WHERE token_hash = ? AND purpose = 'reset_password' AND used_at IS NULL AND expires_at > ?",
    )
    .bind(digest(&token))
    .bind(now)
    .fetch_optional(pool)
    .await?;
    let (account_id, email) = row.ok_or(TokenError::Expired)?;
    // The address is the stored one, already valid; a parse failure would be a defect.
    let parsed = Email::parse(&email).map_err(|_| TokenError::Expired)?;
    let password = Password::parse(new_password, &parsed)?;
    let password_hash = match crate::hash_password(password).await {
        Ok(hash) => hash,
        Err(AccountError::Hashing(e)) => return Err(TokenError::Hashing(e)),
        Err(other) => return Err(TokenError::Hashing(other.to_string())),
    };

    let mut transaction = pool.begin().await?;
    let used = sqlx::query(
        "UPDATE account_tokens SET used_at = ? \
         WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
    )
    .bind(now)
    .bind(digest(&token))
    .bind(now)
    .execute(&mut *transaction)
    .await?;
    if used.rows_affected() == 0 {
        // Used by a click racing this one.
        return Err(TokenError::Expired);
    }
    let changed = sqlx::query(
        "UPDATE web_accounts SET password_hash = ?, email_verified_at = COALESCE(email_verified_at, ?), \
                email_bouncing_at = NULL, email_bounce_reason = NULL \
         WHERE id = ? AND email = ? AND active",
    )
    .bind(&password_hash)
    .bind(now)
    .bind(account_id)
    .bind(&email)
    .execute(&mut *transaction)
    .await?;
    if changed.rows_affected() == 0 {
        return Err(TokenError::Expired);
    }
    sqlx::query(
        "UPDATE account_tokens SET used_at = ? \
         WHERE account_id = ? AND purpose = 'reset_password' AND used_at IS NULL",
    )
    .bind(now)
    .bind(account_id)
    .execute(&mut *transaction)
    .await?;
    sqlx::query("DELETE FROM web_sessions WHERE account_id = ?")
        .bind(account_id)
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    tracing::info!(%account_id, "password reset by e-mail link; every session closed");
    Ok(account_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tokens_of_the_issued_shape_are_looked_up() {
        let token = hex::encode([7u8; TOKEN_BYTES]);
        assert_eq!(
            presented(&format!(" {} ", token.to_uppercase())),
            Some(token)
        );
        assert_eq!(presented("abc"), None);
        assert_eq!(presented(&"g".repeat(64)), None);
        assert_ne!(digest("a"), digest("b"));
    }
}
