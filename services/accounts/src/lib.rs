//! Web accounts: customers who register on the site and staff whom operators create. The
//! web gateway (registration, login) and the operator's command (`bureau staff add`) both
//! create accounts here, so neither depends on the other.
//!
//! Accounts are not order events. Nothing else reacts to an account being created, and a
//! taken email must be known at once ([`AccountError::EmailTaken`]: `bureau staff add`
//! says so; the web gateway answers a registration the same either way, so it tells
//! nobody which addresses have accounts), so accounts are written
//! to `web_accounts` (and, for customers, the linked `customers` row) straight in MySQL
//! instead of published to the broker. Orders placed from the account travel as events and find
//! the customer through `customers.web_account_id`.
//!
//! Passwords are hashed with Argon2id, version 0x13, m = 19 MiB (19,456 KiB), t = 2
//! iterations, p = 1 lane, 16-byte random salt, 32-byte output ([`ARGON2_PARAMS`]: OWASP's
//! recommended minimum, and the `argon2` crate's defaults, written out so that a crate
//! upgrade cannot change them silently), on the blocking pool, so a burst of logins does
//! not stall the request threads. Stored hashes are PHC strings carrying their parameters,
//! so raising them later still verifies older hashes.
//!
//! Staff accounts (invitations, set-password links, roles, deactivation, the last admin)
//! are [`staff`].

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::Utc;
use sqlx::MySqlPool;
use uuid::Uuid;

mod display_name;
mod email;
mod password;
mod role;
pub mod staff;
pub mod tokens;

pub use display_name::{DisplayName, DisplayNameError};
pub use email::{Email, EmailError};
pub use password::{Password, PasswordProblem, WeakPassword};
pub use role::{Role, UnknownRole};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Email(#[from] EmailError),
    #[error(transparent)]
    Password(#[from] WeakPassword),
    #[error(transparent)]
    DisplayName(#[from] DisplayNameError),
    #[error("An account with this email address already exists.")]
    EmailTaken,
    #[error("the account database failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error("hashing the password failed: {0}")]
    Hashing(String),
}

/// Who is signed in: what the session and the login answer carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: Uuid,
    pub role: Role,
    pub display_name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown email, wrong password or a deactivated account: deliberately one case, so
    /// the answer does not tell which emails have accounts.
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("the account database failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error("checking the password failed: {0}")]
    Hashing(String),
}

/// Creates an account with `role`; a customer account also gets its `customers` row, in
/// the same transaction, so an order can never arrive for a customer that does not exist.
pub async fn create_account(
    pool: &MySqlPool,
    email: &str,
    password: &str,
    display_name: &str,
    role: Role,
) -> Result<Uuid, AccountError> {
    let email = Email::parse(email)?;
    let password = Password::parse(password, &email)?;
    let display_name = DisplayName::parse(display_name)?;
    let password_hash = hash_password(password).await?;

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
            return Err(AccountError::EmailTaken);
        }
        other => other?,
    };
    if role == Role::Customer {
        sqlx::query(
            "INSERT INTO customers (id, display_name, web_account_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(Uuid::now_v7())
        .bind(display_name.as_str())
        .bind(account_id)
        .bind(now)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
    }
    transaction.commit().await?;
    tracing::info!(%account_id, role = %role, "account created");
    Ok(account_id)
}

/// The account behind an email and password, if they match an active account.
pub async fn authenticate(
    pool: &MySqlPool,
    email: &str,
    password: &str,
) -> Result<Account, LoginError> {
    let found: Option<(Uuid, String, String, String, bool)> = match Email::parse(email) {
        Ok(email) => {
            sqlx::query_as(
                "SELECT id, password_hash, display_name, role, active FROM web_accounts WHERE email = ?",
            )
            .bind(email.as_str())
            .fetch_optional(pool)
            .await?
        }
        Err(_) => None,
    };
    let password = password.to_owned();
    let Some((id, password_hash, display_name, role, active)) = found else {
        // Spend the same time as a real check, so response times do not reveal which
        // emails have accounts.
        run_blocking(move || verify(&password, &DUMMY_HASH)).await?;
        return Err(LoginError::InvalidCredentials);
    };
    let matches = run_blocking(move || verify(&password, &password_hash)).await?;
    if !matches || !active {
        return Err(LoginError::InvalidCredentials);
    }
    // The column is an ENUM of the roles we know, so this fails only on a schema from a
    // newer build; such an account cannot be granted anything here.
    let role = Role::parse(&role).map_err(|_| LoginError::InvalidCredentials)?;
    Ok(Account {
        id,
        role,
        display_name,
    })
}

/// A valid hash of a random password, compared against when the email is unknown.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let random_password: [u8; 32] = rand::random();
    hash(&hex::encode(random_password)).unwrap_or_default()
});

async fn hash_password(password: Password) -> Result<String, AccountError> {
    hash_blocking(password.expose().to_owned())
        .await
        .map_err(AccountError::Hashing)
}

/// Hashes on the blocking pool.
pub(crate) async fn hash_blocking(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || hash(&password))
        .await
        .map_err(|e| e.to_string())?
}

/// Argon2id's cost: memory in KiB, iterations, lanes (see the module's text).
pub const ARGON2_PARAMS: (u32, u32, u32) = (19 * 1024, 2, 1);

fn hasher() -> Argon2<'static> {
    let (memory_kib, iterations, lanes) = ARGON2_PARAMS;
    let params = Params::new(memory_kib, iterations, lanes, Some(32))
        .expect("constant Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash(password: &str) -> Result<String, String> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| e.to_string())?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches the stored PHC string. A malformed stored hash is a mismatch,
/// not an error: it can never match anything, and the login answer stays the same.
fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| {
            // The parameters come from the stored PHC string.
            hasher()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, LoginError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| LoginError::Hashing(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_salted() {
        let first = hash("correct horse battery").unwrap();
        let second = hash("correct horse battery").unwrap();
        assert!(
            first.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{first}"
        );
        assert_ne!(first, second);
        assert!(verify("correct horse battery", &first));
        assert!(!verify("correct horse battery!", &first));
        assert!(!verify("anything", "not a hash"));
    }
}
