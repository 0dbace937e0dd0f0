//! Web API sign-in for tests: registering customers, making staff, and logging in.

use anyhow::Context;
use serde_json::json;

use crate::TestStack;

/// A password that passes the sign-up rules.
pub const PASSWORD: &str = "correct horse battery staple";

/// Logs in; returns the session token (sent back as a cookie, usable as a bearer token).
pub async fn login(stack: &TestStack, email: &str, password: &str) -> anyhow::Result<String> {
    let response = stack
        .http
        .post(stack.web_url("/api/session"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await?;
    anyhow::ensure!(
        response.status() == 200,
        "login: {} {}",
        response.status(),
        response.text().await?
    );
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("bureau_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
        .context("a bureau_session cookie")
}

/// Registers a web customer with [`PASSWORD`] and logs them in; returns the token.
pub async fn register_customer(
    stack: &TestStack,
    email: &str,
    display_name: &str,
) -> anyhow::Result<String> {
    let created = stack
        .http
        .post(stack.web_url("/api/accounts"))
        .json(&json!({"email": email, "password": PASSWORD, "display_name": display_name}))
        .send()
        .await?;
    anyhow::ensure!(
        created.status() == 201,
        "register: {} {}",
        created.status(),
        created.text().await?
    );
    login(stack, email, PASSWORD).await
}

/// Creates a staff account with [`PASSWORD`] (as `bureau staff add` would) and logs in.
pub async fn staff(
    stack: &TestStack,
    email: &str,
    role: bureau_accounts::Role,
) -> anyhow::Result<String> {
    bureau_accounts::create_account(&stack.db, email, PASSWORD, "Staff Member", role)
        .await
        .map_err(|e| anyhow::anyhow!("creating staff {email}: {e}"))?;
    login(stack, email, PASSWORD).await
}

/// Asks to move an order to status `to` as whoever `token` belongs to; returns the answer
/// as it came (tests assert on refusals as much as on successes).
pub async fn change_status(
    stack: &TestStack,
    token: &str,
    order_id: uuid::Uuid,
    to: &str,
) -> anyhow::Result<reqwest::Response> {
    Ok(stack
        .http
        .post(stack.web_url(&format!("/api/staff/orders/{order_id}/status")))
        .bearer_auth(token)
        .json(&json!({"to": to}))
        .send()
        .await?)
}
