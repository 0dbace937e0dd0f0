//! Staff accounts as an admin manages them from the back office: the list (with each
//! person's last sign-in), inviting someone with a one-time set-password link instead of a
//! password typed by the admin, resetting a password with the same kind of link, changing a
//! role, deactivating and reactivating.
//!
//! Set-password links are 32 random bytes the admin hands over (or a mail carries); MySQL
//! holds only their SHA-256 (`staff_password_links`), so a database dump cannot be used to
//! take over an account. A link works once, until it expires, and only the newest link of
//! an account works: issuing one revokes the account's earlier unused ones.
//!
//! **The last active admin stays.** Demoting or deactivating an active admin locks every
//! active admin's row (`SELECT … FOR UPDATE`) in the same transaction as the change, so two
//! admins demoting each other at the same moment cannot both succeed: the second sees the
//! first's change and is refused with [`StaffError::LastAdmin`].

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::MySqlPool;
use uuid::Uuid;

use crate::{DisplayName, DisplayNameError, Email, EmailError, Password, Role, WeakPassword};

const TOKEN_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error(transparent)]
    Email(#[from] EmailError),
    #[error(transparent)]
    DisplayName(#[from] DisplayNameError),
    #[error(transparent)]
    Password(#[from] WeakPassword),
    #[error("An account with this email address already exists.")]
    EmailTaken,
    #[error("Staff accounts are admins, managers or executors.")]
    NotAStaffRole,
    #[error("There is no such staff account.")]
    NotFound,
    #[error("This is the last active admin: make someone else an admin first.")]
    LastAdmin,
    /// The link is unknown, used, revoked, expired, or its account was deactivated.
    #[error("This link has expired or was already used. Ask an admin for a new one.")]
    LinkInvalid,
    #[error("the account database failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error("hashing the password failed: {0}")]
    Hashing(String),
}

/// One staff member as the list shows them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaffLine {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    /// The last back-office sign-in (from the audit log); `None`: never signed in.
    pub last_sign_in: Option<DateTime<Utc>>,
    /// Whether a set-password link is waiting to be used (an invitation not yet taken up).
    pub link_pending: bool,
}

/// Every staff account, active ones first, then by name.
pub async fn list(pool: &MySqlPool) -> Result<Vec<StaffLine>, sqlx::Error> {
    sqlx::query_as(
        "SELECT a.id, a.email, a.display_name, a.role, a.active, a.created_at,
                (SELECT MAX(s.at) FROM staff_audit s WHERE s.account_id = a.id AND s.action = 'sign_in') AS last_sign_in,
                EXISTS (SELECT 1 FROM staff_password_links l
                        WHERE l.account_id = a.id AND l.used_at IS NULL AND l.expires_at > ?) AS link_pending
         FROM web_accounts a WHERE a.role <> 'customer'
         ORDER BY a.active DESC, a.display_name, a.id",
    )
    .bind(Utc::now())
    .fetch_all(pool)
    .await
}

/// One staff account's id, email, name, role and whether it is active.
pub async fn find(
    pool: &MySqlPool,
    account_id: Uuid,
) -> Result<Option<(String, String, Role, bool)>, sqlx::Error> {
    let row: Option<(String, String, String, bool)> = sqlx::query_as(
        "SELECT email, display_name, role, active FROM web_accounts WHERE id = ? AND role <> 'customer'",
    )
    .bind(account_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|(email, name, role, active)| {
        Role::parse(&role)
            .ok()
            .map(|role| (email, name, role, active))
    }))
}

/// The language a staff member's mails are written in (`uk`, `en`), if one was chosen
/// (`web_accounts.language`).
pub async fn language(pool: &MySqlPool, account_id: Uuid) -> Result<Option<String>, sqlx::Error> {
    let language: Option<Option<String>> =
        sqlx::query_scalar("SELECT language FROM web_accounts WHERE id = ? AND role <> 'customer'")
            .bind(account_id)
            .fetch_optional(pool)
            .await?;
    Ok(language.flatten())
}

/// Sets the language of a staff member's mails.
pub async fn set_language(
    pool: &MySqlPool,
    account_id: Uuid,
    language: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE web_accounts SET language = ? WHERE id = ? AND role <> 'customer'")
        .bind(language)
        .bind(account_id)
        .execute(pool)
        .await?;
    Ok(())
}

/// A set-password link's secret as the person holds it: 64 lowercase hex digits.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkToken(String);

impl LinkToken {
    fn generate() -> LinkToken {
        let bytes: [u8; TOKEN_BYTES] = rand::random();
        LinkToken(hex::encode(bytes))
    }

    /// A token from a link; anything that cannot be one is `None` and never reaches MySQL.
    pub fn from_presented(presented: &str) -> Option<LinkToken> {
        let token = presented.trim();
        let valid = token.len() == TOKEN_BYTES * 2 && token.bytes().all(|b| b.is_ascii_hexdigit());
        valid.then(|| LinkToken(token.to_ascii_lowercase()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    fn digest(&self) -> Vec<u8> {
        Sha256::digest(self.0.as_bytes()).to_vec()
    }
}

impl std::fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkToken(<redacted>)")
    }
}

/// Why a link was made: an invitation or a reset (the page and the audit say which).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    Invite,
    Reset,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Invite => "invite",
            LinkPurpose::Reset => "reset",
        }
    }
}

/// Creates a staff account that cannot sign in until its person sets a password through the
/// returned link (valid for `ttl`).
pub async fn invite(
    pool: &MySqlPool,
    email: &str,
    display_name: &str,
    role: Role,
    invited_by: Uuid,
    ttl: chrono::Duration,
) -> Result<(Uuid, LinkToken), StaffError> {
    if !role.is_staff() {
        return Err(StaffError::NotAStaffRole);
    }
    let email = Email::parse(email)?;
    let display_name = DisplayName::parse(display_name)?;
    // A hash of a random secret nobody holds: the account exists (its email is taken, the
    // list shows it) but no password opens it until the link is used.
    let unusable = hex::encode(rand::random::<[u8; 32]>());
    let password_hash = crate::hash_blocking(unusable)
        .await
        .map_err(StaffError::Hashing)?;
    let account_id = Uuid::now_v7();
    let now = Utc::now();
    let mut transaction = pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO web_accounts (id, email, password_hash, display_name, role, active, created_at) \
         VALUES (?, ?, ?, ?, ?, TRUE, ?)",
    )
    .bind(account_id)
    .bind(email.as_str())
    .bind(&password_hash)
    .bind(display_name.as_str())
    .bind(role.as_str())
    .bind(now)
    .execute(&mut *transaction)
    .await;
    match inserted {
        Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
            return Err(StaffError::EmailTaken);
        }
        other => other?,
    };
    let token = insert_link(
        &mut transaction,
        account_id,
        LinkPurpose::Invite,
        invited_by,
        ttl,
    )
    .await?;
    transaction.commit().await?;
    tracing::info!(%account_id, role = %role, "staff member invited");
    Ok((account_id, token))
}

/// A new set-password link for an existing, active staff account; earlier unused links of
/// the account stop working. The current password keeps working until the link is used.
pub async fn reset_link(
    pool: &MySqlPool,
    account_id: Uuid,
    issued_by: Uuid,
    ttl: chrono::Duration,
) -> Result<LinkToken, StaffError> {
    let mut transaction = pool.begin().await?;
    let active: Option<bool> = sqlx::query_scalar(
        "SELECT active FROM web_accounts WHERE id = ? AND role <> 'customer' FOR UPDATE",
    )
    .bind(account_id)
    .fetch_optional(&mut *transaction)
    .await?;
    if active != Some(true) {
        return Err(StaffError::NotFound);
    }
    let token = insert_link(
        &mut transaction,
        account_id,
        LinkPurpose::Reset,
        issued_by,
        ttl,
    )
    .await?;
    transaction.commit().await?;
    Ok(token)
}

async fn insert_link(
    transaction: &mut sqlx::Transaction<'_, sqlx::MySql>,
    account_id: Uuid,
    purpose: LinkPurpose,
    issued_by: Uuid,
    ttl: chrono::Duration,
) -> Result<LinkToken, sqlx::Error> {
    let now = Utc::now();
    revoke_links(transaction, account_id, now).await?;
    let token = LinkToken::generate();
    sqlx::query(
        "INSERT INTO staff_password_links (token_hash, account_id, purpose, issued_by, created_at, expires_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(token.digest())
    .bind(account_id)
    .bind(purpose.as_str())
    .bind(issued_by)
    .bind(now)
    .bind(now + ttl)
    .execute(&mut **transaction)
    .await?;
    Ok(token)
}

async fn revoke_links(
    transaction: &mut sqlx::Transaction<'_, sqlx::MySql>,
    account_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE staff_password_links SET used_at = ? WHERE account_id = ? AND used_at IS NULL",
    )
    .bind(now)
    .bind(account_id)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

/// Whose link it is (email, name, purpose), while it still works.
pub async fn link_holder(
    pool: &MySqlPool,
    token: &LinkToken,
) -> Result<Option<(Uuid, String, String, LinkPurpose)>, sqlx::Error> {
    let row: Option<(Uuid, String, String, String)> = sqlx::query_as(
        "SELECT a.id, a.email, a.display_name, l.purpose FROM staff_password_links l
         JOIN web_accounts a ON a.id = l.account_id
         WHERE l.token_hash = ? AND l.used_at IS NULL AND l.expires_at > ? AND a.active",
    )
    .bind(token.digest())
    .bind(Utc::now())
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(id, email, name, purpose)| {
        let purpose = if purpose == "invite" {
            LinkPurpose::Invite
        } else {
            LinkPurpose::Reset
        };
        (id, email, name, purpose)
    }))
}

/// Sets the password through a link: the policy first (every broken rule reported), then,
/// in one transaction, the link is spent (only if still unused and unexpired: a link
/// cannot be used twice, even by two requests at once), the password replaced and every
/// session of the account ended.
pub async fn set_password_with_link(
    pool: &MySqlPool,
    token: &LinkToken,
    candidate: &str,
) -> Result<Uuid, StaffError> {
    let Some((account_id, email, _, _)) = link_holder(pool, token).await? else {
        return Err(StaffError::LinkInvalid);
    };
    let email = Email::parse(&email)?;
    let password = Password::parse(candidate, &email)?;
    let password_hash = crate::hash_blocking(password.expose().to_owned())
        .await
        .map_err(StaffError::Hashing)?;
    let now = Utc::now();
    let mut transaction = pool.begin().await?;
    let spent = sqlx::query(
        "UPDATE staff_password_links l JOIN web_accounts a ON a.id = l.account_id
         SET l.used_at = ?
         WHERE l.token_hash = ? AND l.used_at IS NULL AND l.expires_at > ? AND a.active",
    )
    .bind(now)
    .bind(token.digest())
    .bind(now)
    .execute(&mut *transaction)
    .await?;
    if spent.rows_affected() != 1 {
        return Err(StaffError::LinkInvalid);
    }
    sqlx::query("UPDATE web_accounts SET password_hash = ? WHERE id = ?")
        .bind(&password_hash)
        .bind(account_id)
        .execute(&mut *transaction)
        .await?;
    sqlx::query("DELETE FROM web_sessions WHERE account_id = ?")
        .bind(account_id)
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    tracing::info!(%account_id, "password set through a link");
    Ok(account_id)
}

/// What a change did, for the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub role_before: Role,
    pub active_before: bool,
}

/// Sets a staff account's role and/or whether it is active (`None`: unchanged), refusing
/// to leave no active admin. Deactivating also ends every session of the account and revokes its links, in
/// the same transaction. Customers are not staff and are not found here.
pub async fn update(
    pool: &MySqlPool,
    account_id: Uuid,
    role: Option<Role>,
    active: Option<bool>,
) -> Result<Change, StaffError> {
    if role.is_some_and(|role| !role.is_staff()) {
        return Err(StaffError::NotAStaffRole);
    }
    let mut transaction = pool.begin().await?;
    // Every active admin's row, locked: a concurrent demotion waits here, then sees ours.
    let admins: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM web_accounts WHERE role = 'admin' AND active FOR UPDATE",
    )
    .fetch_all(&mut *transaction)
    .await?;
    let target: Option<(String, bool)> = sqlx::query_as(
        "SELECT role, active FROM web_accounts WHERE id = ? AND role <> 'customer' FOR UPDATE",
    )
    .bind(account_id)
    .fetch_optional(&mut *transaction)
    .await?;
    let Some((role_before, active_before)) = target else {
        return Err(StaffError::NotFound);
    };
    let role_before = Role::parse(&role_before).map_err(|_| StaffError::NotFound)?;
    let role = role.unwrap_or(role_before);
    let active = active.unwrap_or(active_before);
    let stays_admin = role == Role::Admin && active;
    if admins.contains(&account_id) && !stays_admin && admins.len() <= 1 {
        return Err(StaffError::LastAdmin);
    }
    sqlx::query("UPDATE web_accounts SET role = ?, active = ? WHERE id = ?")
        .bind(role.as_str())
        .bind(active)
        .bind(account_id)
        .execute(&mut *transaction)
        .await?;
    if !active {
        sqlx::query("DELETE FROM web_sessions WHERE account_id = ?")
            .bind(account_id)
            .execute(&mut *transaction)
            .await?;
        revoke_links(&mut transaction, account_id, Utc::now()).await?;
    }
    transaction.commit().await?;
    tracing::info!(%account_id, role = %role, active, "staff account changed");
    Ok(Change {
        role_before,
        active_before,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_tokens_are_64_hex_digits_and_never_shown() {
        let a = LinkToken::generate();
        assert_eq!(a.expose().len(), 64);
        assert_ne!(a, LinkToken::generate());
        assert_eq!(LinkToken::from_presented(a.expose()), Some(a.clone()));
        assert_eq!(LinkToken::from_presented("abc"), None);
        assert_eq!(format!("{a:?}"), "LinkToken(<redacted>)");
        assert_eq!(a.digest().len(), 32);
    }
}
