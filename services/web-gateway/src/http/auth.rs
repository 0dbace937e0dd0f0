//! Who is calling: extractors that resolve the session token (cookie or Bearer header) to
//! an account and check its role before a handler runs.
//!
//! Cookies are `SameSite=Lax`, so browsers do not send them on cross-site POSTs: a form on
//! another site cannot place orders or change statuses in someone's name.

use axum::extract::FromRequestParts;
use axum::http::{HeaderMap, header, request::Parts};
use bureau_accounts::{Account, Role};

use super::{AppState, Error};
use crate::sessions::{self, COOKIE_NAME, OrderingSession, SessionToken};

/// What staff hear from a customers-only route.
const CUSTOMERS_ONLY: &str =
    "Orders are placed from customer accounts; staff work them in the back office.";

/// Any signed-in account.
pub struct SignedIn(pub Account);

/// A signed-in customer: the only role that places and reads its own orders.
pub struct Customer(pub Account);

/// A signed-in customer placing an order (`POST /api/orders`): [`Customer`] with its
/// customer row and open orders, read with the session in one statement
/// ([`sessions::resolve_ordering`]).
pub struct OrderingCustomer {
    pub account: Account,
    pub customer_id: uuid::Uuid,
    pub open_orders: i64,
}

/// A signed-in admin, manager or executor.
pub struct Staff(pub Account);

/// The token the client presented: `Authorization: Bearer` first (API clients), then the
/// session cookie (browsers). `None` when neither holds something shaped like a token.
pub fn presented_token(headers: &HeaderMap) -> Option<SessionToken> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    if let Some(token) = bearer {
        return SessionToken::from_presented(token);
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|cookie| cookie.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .and_then(|(_, value)| SessionToken::from_presented(value))
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = presented_token(&parts.headers).ok_or(Error::Unauthorized)?;
        let account = sessions::resolve(&state.pool, &token)
            .await?
            .ok_or(Error::Unauthorized)?;
        Ok(SignedIn(account))
    }
}

impl FromRequestParts<AppState> for Customer {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let SignedIn(account) = SignedIn::from_request_parts(parts, state).await?;
        if account.role != Role::Customer {
            return Err(Error::Forbidden(CUSTOMERS_ONLY));
        }
        Ok(Customer(account))
    }
}

impl FromRequestParts<AppState> for OrderingCustomer {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = presented_token(&parts.headers).ok_or(Error::Unauthorized)?;
        let OrderingSession {
            account,
            customer_id,
            open_orders,
        } = sessions::resolve_ordering(&state.pool, &token)
            .await?
            .ok_or(Error::Unauthorized)?;
        if account.role != Role::Customer {
            return Err(Error::Forbidden(CUSTOMERS_ONLY));
        }
        let customer_id = customer_id
            .ok_or_else(|| anyhow::anyhow!("account {} has no customer row", account.id))?;
        Ok(OrderingCustomer {
            account,
            customer_id,
            open_orders,
        })
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let SignedIn(account) = SignedIn::from_request_parts(parts, state).await?;
        if !account.role.is_staff() {
            return Err(Error::Forbidden("This needs a staff account."));
        }
        Ok(Staff(account))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn the_token_comes_from_bearer_or_cookie() {
        let mut headers = HeaderMap::new();
        assert!(presented_token(&headers).is_none());
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("theme=dark; {COOKIE_NAME}={TOKEN}")).unwrap(),
        );
        assert_eq!(presented_token(&headers).unwrap().expose(), TOKEN);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {}", TOKEN.to_uppercase())).unwrap(),
        );
        assert_eq!(presented_token(&headers).unwrap().expose(), TOKEN);
    }

    #[test]
    fn malformed_tokens_are_no_tokens() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("bureau_session=short"),
        );
        assert!(presented_token(&headers).is_none());
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic dXNlcjpwYXNz"),
        );
        assert!(presented_token(&headers).is_none());
    }
}
