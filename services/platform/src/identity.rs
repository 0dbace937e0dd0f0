//! One customer, two channels: joining a Telegram identity and a web account into the one
//! `customers` row both channels read (`customers.telegram_user_id` and
//! `customers.web_account_id`), through one-time tokens (`customer_link_tokens`).
//!
//! - Web → bot: a signed-in web customer asks for a token ([`issue_telegram_link`]) and opens
//!   `https://t.me/<bot>?start=<token>`; the bot's `/start <token>` calls [`join_by_link`]
//!   with the Telegram user who sent it.
//! - Bot → web: `/web` asks for a token for the Telegram user ([`issue_web_sign_in`]); the
//!   page it opens signs that customer's web account in ([`take_web_sign_in`]) or registers
//!   a web account joined to them ([`join_new_account`]).
//!
//! Joining never copies: when the Telegram user already has a customer row of their own
//! (orders from the bot), its orders move to the web customer and the row goes, in one
//! transaction that holds both rows locked, so both channels then show every order of the
//! one customer. A Telegram user already joined to another web account, or a web account
//! already joined to another Telegram user, is refused (nothing changes).
//!
//! Tokens are 64 hex digits (fits Telegram's 64-character start parameter), random (two
//! UUIDv4, 244 random bits), stored only as their SHA-256, single use and short-lived.

use std::time::Duration;

use chrono::Utc;
use sha2::{Digest, Sha256};
use sqlx::{MySqlConnection, MySqlPool, Row};
use uuid::Uuid;

/// How long a link token works.
pub const TOKEN_TTL: Duration = Duration::from_secs(30 * 60);

/// A link token as its holder sees it.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkToken(String);

impl LinkToken {
    fn generate() -> LinkToken {
        let mut bytes = Vec::with_capacity(32);
        bytes.extend_from_slice(Uuid::new_v4().as_bytes());
        bytes.extend_from_slice(Uuid::new_v4().as_bytes());
        LinkToken(hex::encode(bytes))
    }

    /// A token as presented (a start parameter, a URL path segment); anything that cannot
    /// be one is `None` and never reaches the database.
    pub fn from_presented(presented: &str) -> Option<LinkToken> {
        let token = presented.trim();
        (token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| LinkToken(token.to_ascii_lowercase()))
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

/// Who someone is in Telegram, as an update tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramIdentity {
    pub user_id: i64,
    pub chat_id: i64,
    pub username: Option<String>,
}

/// What became of a request to join the two identities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinOutcome {
    /// Joined now; `moved_orders` orders came over from the Telegram user's own row.
    Joined {
        customer_id: Uuid,
        moved_orders: u64,
    },
    /// They were one customer already.
    AlreadyJoined { customer_id: Uuid },
    /// This Telegram user is joined to another web account.
    TelegramTaken,
    /// This web account is joined to another Telegram user.
    AccountTaken,
    /// Unknown, used or expired token.
    Invalid,
}

/// A token for `/start <token>`: joins whoever sends it in Telegram to web customer
/// `customer_id`. Earlier unused tokens of that customer stop working.
pub async fn issue_telegram_link(
    pool: &MySqlPool,
    customer_id: Uuid,
) -> Result<LinkToken, sqlx::Error> {
    let token = LinkToken::generate();
    let now = Utc::now();
    let mut tx = pool.begin().await?;
    sqlx::query(
        "UPDATE customer_link_tokens SET used_at = ? \
         WHERE customer_id = ? AND purpose = 'link_telegram' AND used_at IS NULL",
    )
    .bind(now)
    .bind(customer_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO customer_link_tokens (token_hash, purpose, customer_id, created_at, expires_at) \
         VALUES (?, 'link_telegram', ?, ?, ?)",
    )
    .bind(token.digest())
    .bind(customer_id)
    .bind(now)
    .bind(now + ttl())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// A token for the web page `/portal/link/<token>`, for Telegram user `identity`.
pub async fn issue_web_sign_in(
    pool: &MySqlPool,
    identity: &TelegramIdentity,
) -> Result<LinkToken, sqlx::Error> {
    let token = LinkToken::generate();
    let now = Utc::now();
    sqlx::query(
        "INSERT INTO customer_link_tokens (token_hash, purpose, telegram_user_id, telegram_chat_id, \
                                           telegram_username, created_at, expires_at) \
         VALUES (?, 'web_sign_in', ?, ?, ?, ?, ?)",
    )
    .bind(token.digest())
    .bind(identity.user_id)
    .bind(identity.chat_id)
    .bind(identity.username.as_deref().map(|u| clip(u, 64)))
    .bind(now)
    .bind(now + ttl())
    .execute(pool)
    .await?;
    Ok(token)
}

/// `/start <token>` from `identity`: joins them to the web customer the token was issued
/// for, and uses the token up. A refused join leaves the token as it was.
pub async fn join_by_link(
    pool: &MySqlPool,
    token: &LinkToken,
    identity: &TelegramIdentity,
) -> Result<JoinOutcome, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let row = sqlx::query(
        "SELECT customer_id FROM customer_link_tokens \
         WHERE token_hash = ? AND purpose = 'link_telegram' AND used_at IS NULL AND expires_at > ? \
         FOR UPDATE",
    )
    .bind(token.digest())
    .bind(Utc::now())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(customer_id) = row.and_then(|r| r.try_get::<Option<Uuid>, _>(0).ok().flatten()) else {
        return Ok(JoinOutcome::Invalid);
    };
    let outcome = join(&mut tx, customer_id, identity).await?;
    if matches!(
        outcome,
        JoinOutcome::Joined { .. } | JoinOutcome::AlreadyJoined { .. }
    ) {
        use_up(&mut tx, token).await?;
        tx.commit().await?;
    }
    Ok(outcome)
}

/// What a `/web` token says, while it works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSignIn {
    pub identity: TelegramIdentity,
    /// The web account of the customer this Telegram user is, if they have one.
    pub account_id: Option<Uuid>,
}

/// Reads a `/web` token without using it up (the page that asks "sign in?").
pub async fn peek_web_sign_in(
    pool: &MySqlPool,
    token: &LinkToken,
) -> Result<Option<WebSignIn>, sqlx::Error> {
    let mut connection = pool.acquire().await?;
    web_sign_in(&mut connection, token, false).await
}

/// Uses a `/web` token up: the web account to sign in, when the customer has one. A
/// Telegram user without a web account keeps the token, for [`join_new_account`].
pub async fn take_web_sign_in(
    pool: &MySqlPool,
    token: &LinkToken,
) -> Result<Option<WebSignIn>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let found = web_sign_in(&mut tx, token, true).await?;
    if let Some(WebSignIn {
        account_id: Some(_),
        ..
    }) = &found
    {
        use_up(&mut tx, token).await?;
        tx.commit().await?;
    }
    Ok(found)
}

/// A web account `account_id` just registered from a `/web` link: joins it to the Telegram
/// user the token was issued for, and uses the token up.
pub async fn join_new_account(
    pool: &MySqlPool,
    token: &LinkToken,
    account_id: Uuid,
) -> Result<JoinOutcome, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let Some(found) = web_sign_in(&mut tx, token, true).await? else {
        return Ok(JoinOutcome::Invalid);
    };
    let customer = sqlx::query("SELECT id FROM customers WHERE web_account_id = ?")
        .bind(account_id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(customer_id) = customer.map(|r| r.try_get::<Uuid, _>(0)).transpose()? else {
        return Ok(JoinOutcome::Invalid);
    };
    let outcome = join(&mut tx, customer_id, &found.identity).await?;
    if matches!(outcome, JoinOutcome::Joined { .. }) {
        use_up(&mut tx, token).await?;
        tx.commit().await?;
    }
    Ok(outcome)
}

async fn web_sign_in(
    connection: &mut MySqlConnection,
    token: &LinkToken,
    lock: bool,
) -> Result<Option<WebSignIn>, sqlx::Error> {
    const READ: &str = "SELECT t.telegram_user_id, t.telegram_chat_id, t.telegram_username, c.web_account_id \
         FROM customer_link_tokens t LEFT JOIN customers c ON c.telegram_user_id = t.telegram_user_id \
         WHERE t.token_hash = ? AND t.purpose = 'web_sign_in' AND t.used_at IS NULL AND t.expires_at > ?";
    const LOCK: &str = "SELECT t.telegram_user_id, t.telegram_chat_id, t.telegram_username, c.web_account_id \
         FROM customer_link_tokens t LEFT JOIN customers c ON c.telegram_user_id = t.telegram_user_id \
         WHERE t.token_hash = ? AND t.purpose = 'web_sign_in' AND t.used_at IS NULL AND t.expires_at > ? \
         FOR UPDATE";
    let row = sqlx::query(if lock { LOCK } else { READ })
        .bind(token.digest())
        .bind(Utc::now())
        .fetch_optional(&mut *connection)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let user_id: Option<i64> = row.try_get(0)?;
    let chat_id: Option<i64> = row.try_get(1)?;
    let (Some(user_id), Some(chat_id)) = (user_id, chat_id) else {
        return Ok(None);
    };
    Ok(Some(WebSignIn {
        identity: TelegramIdentity {
            user_id,
            chat_id,
            username: row.try_get(2)?,
        },
        account_id: row.try_get(3)?,
    }))
}

async fn use_up(connection: &mut MySqlConnection, token: &LinkToken) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE customer_link_tokens SET used_at = ? WHERE token_hash = ?")
        .bind(Utc::now())
        .bind(token.digest())
        .execute(&mut *connection)
        .await?;
    Ok(())
}

/// Joins Telegram user `identity` to customer `customer_id` (who has a web account), in the
/// caller's transaction: both rows locked, the Telegram user's own orders moved over and
/// their row removed, the Telegram identity written on the web customer.
async fn join(
    tx: &mut MySqlConnection,
    customer_id: Uuid,
    identity: &TelegramIdentity,
) -> Result<JoinOutcome, sqlx::Error> {
    let web = sqlx::query("SELECT telegram_user_id FROM customers WHERE id = ? FOR UPDATE")
        .bind(customer_id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(web) = web else {
        return Ok(JoinOutcome::Invalid);
    };
    match web.try_get::<Option<i64>, _>(0)? {
        Some(user_id) if user_id == identity.user_id => {
            return Ok(JoinOutcome::AlreadyJoined { customer_id });
        }
        Some(_) => return Ok(JoinOutcome::AccountTaken),
        None => {}
    }
    let own = sqlx::query(
        "SELECT id, web_account_id, phone FROM customers WHERE telegram_user_id = ? FOR UPDATE",
    )
    .bind(identity.user_id)
    .fetch_optional(&mut *tx)
    .await?;
    let mut moved_orders = 0;
    let mut phone: Option<String> = None;
    if let Some(own) = own {
        let own_id: Uuid = own.try_get(0)?;
        if own.try_get::<Option<Uuid>, _>(1)?.is_some() {
            return Ok(JoinOutcome::TelegramTaken);
        }
        phone = own.try_get(2)?;
        moved_orders = sqlx::query("UPDATE orders SET customer_id = ? WHERE customer_id = ?")
            .bind(customer_id)
            .bind(own_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM customers WHERE id = ?")
            .bind(own_id)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "UPDATE customers SET telegram_user_id = ?, telegram_chat_id = ?, telegram_username = ?, \
                telegram_unreachable_at = NULL, phone = COALESCE(phone, ?), updated_at = ? \
         WHERE id = ?",
    )
    .bind(identity.user_id)
    .bind(identity.chat_id)
    .bind(identity.username.as_deref().map(|u| clip(u, 64)))
    .bind(phone)
    .bind(Utc::now())
    .bind(customer_id)
    .execute(&mut *tx)
    .await?;
    tracing::info!(%customer_id, moved_orders, "a Telegram identity joined a web customer");
    Ok(JoinOutcome::Joined {
        customer_id,
        moved_orders,
    })
}

fn ttl() -> chrono::Duration {
    chrono::Duration::from_std(TOKEN_TTL).unwrap_or(chrono::Duration::minutes(30))
}

fn clip(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_fit_a_telegram_start_parameter_and_parse_back() {
        let token = LinkToken::generate();
        assert_eq!(token.expose().len(), 64);
        assert_eq!(
            LinkToken::from_presented(token.expose()),
            Some(token.clone())
        );
        assert_ne!(LinkToken::generate(), token);
        assert_eq!(LinkToken::from_presented("short"), None);
        assert_eq!(LinkToken::from_presented(&"z".repeat(64)), None);
        assert!(!format!("{token:?}").contains(token.expose()));
    }
}
