//! Login sessions. The browser holds a random token in the `bureau_session` cookie (API
//! clients send it as `Authorization: Bearer`); MySQL holds only its SHA-256, so a leaked
//! database dump cannot be replayed as logins.

use bureau_accounts::{Account, Role};
use std::time::Duration;

use chrono::Utc;
use sha2::{Digest, Sha256};
use sqlx::MySqlPool;
use uuid::Uuid;

pub const COOKIE_NAME: &str = "bureau_session";
const TOKEN_BYTES: usize = 32;

/// A session token as the client holds it: 64 lowercase hex digits.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    /// 32 bytes from the thread-local CSPRNG.
    pub fn generate() -> SessionToken {
        let bytes: [u8; TOKEN_BYTES] = rand::random();
        SessionToken(hex::encode(bytes))
    }

    /// A token as presented by a client; anything that cannot be one is `None` (and so
    /// never reaches the database).
    pub fn from_presented(presented: &str) -> Option<SessionToken> {
        let token = presented.trim();
        let valid = token.len() == TOKEN_BYTES * 2 && token.bytes().all(|b| b.is_ascii_hexdigit());
        valid.then(|| SessionToken(token.to_ascii_lowercase()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    fn digest(&self) -> Vec<u8> {
        Sha256::digest(self.0.as_bytes()).to_vec()
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

/// Starts a session for `account_id` lasting `ttl`, and clears the account's expired ones.
pub async fn open(
    pool: &MySqlPool,
    account_id: Uuid,
    ttl: Duration,
) -> Result<SessionToken, sqlx::Error> {
    let token = SessionToken::generate();
    let now = Utc::now();
    let expires_at = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(14));
    sqlx::query("INSERT INTO web_sessions (token_hash, account_id, created_at, expires_at) VALUES (?, ?, ?, ?)")
        .bind(token.digest())
        .bind(account_id)
        .bind(now)
        .bind(expires_at)
        .execute(pool)
        .await?;
    // Housekeeping where it is cheap: this account's rows are already in the buffer pool.
    sqlx::query("DELETE FROM web_sessions WHERE account_id = ? AND expires_at < ?")
        .bind(account_id)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(token)
}

/// The account of a live session: unexpired, and the account still active.
pub async fn resolve(
    pool: &MySqlPool,
    token: &SessionToken,
) -> Result<Option<Account>, sqlx::Error> {
    let row: Option<(Uuid, String, String)> = sqlx::query_as(
        "SELECT a.id, a.role, a.display_name FROM web_sessions s JOIN web_accounts a ON a.id = s.account_id \
         WHERE s.token_hash = ? AND s.expires_at > ? AND a.active",
    )
    .bind(token.digest())
    .bind(Utc::now())
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|(id, role, display_name)| {
        // A role this build does not know cannot be granted anything.
        Role::parse(&role).ok().map(|role| Account {
            id,
            role,
            display_name,
        })
    }))
}

/// What placing an order needs to know of its caller, read with the session in one round
/// trip: the account, its customer row (`None` for staff, who have none) and how many of
/// that customer's orders are still open (the open-orders quota, counted from the
/// `orders_customer_status` index alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderingSession {
    pub account: Account,
    pub customer_id: Option<Uuid>,
    pub open_orders: i64,
}

/// Account id, role, display name, customer id, open orders.
type OrderingRow = (Uuid, String, String, Option<Uuid>, Option<i64>);

/// [`resolve`] for `POST /api/orders`: the same live-session rules, plus the customer row
/// and its open orders (see [`OrderingSession`]).
pub async fn resolve_ordering(
    pool: &MySqlPool,
    token: &SessionToken,
) -> Result<Option<OrderingSession>, sqlx::Error> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT a.id, a.role, a.display_name, c.id, \
                    (SELECT COUNT(*) FROM orders o \
                     WHERE o.customer_id = c.id AND o.status NOT IN ({closed})) \
             FROM web_sessions s JOIN web_accounts a ON a.id = s.account_id \
             LEFT JOIN customers c ON c.web_account_id = a.id \
             WHERE s.token_hash = ? AND s.expires_at > ? AND a.active",
            closed = crate::quotas::closed_statuses_sql()
        )
    });
    // Built once; the static lives as long as the process, as sqlx's statement cache needs.
    let sql: &'static str = SQL.as_str();
    let row: Option<OrderingRow> = sqlx::query_as(sql)
        .bind(token.digest())
        .bind(Utc::now())
        .fetch_optional(pool)
        .await?;
    Ok(row.and_then(|(id, role, display_name, customer_id, open)| {
        Role::parse(&role).ok().map(|role| OrderingSession {
            account: Account {
                id,
                role,
                display_name,
            },
            customer_id,
            open_orders: open.unwrap_or(0),
        })
    }))
}

/// Ends a session; ending one that does not exist is not an error.
pub async fn close(pool: &MySqlPool, token: &SessionToken) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM web_sessions WHERE token_hash = ?")
        .bind(token.digest())
        .execute(pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_64_hex_digits_and_unique() {
        let a = SessionToken::generate();
        let b = SessionToken::generate();
        assert_eq!(a.expose().len(), 64);
        assert_ne!(a, b);
        assert_eq!(SessionToken::from_presented(a.expose()), Some(a.clone()));
        assert_eq!(a.digest().len(), 32);
    }

    #[test]
    fn presented_junk_is_not_a_token() {
        assert_eq!(SessionToken::from_presented("abc"), None);
        assert_eq!(SessionToken::from_presented(&"g".repeat(64)), None);
        assert_eq!(
            format!("{:?}", SessionToken::generate()),
            "SessionToken(<redacted>)"
        );
    }
}
