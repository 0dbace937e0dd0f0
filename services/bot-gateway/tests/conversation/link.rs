//! One customer in both channels: the website's "Link Telegram" token sent as
//! `/start <token>` joins the Telegram user to the web account (their bot orders move to the
//! one customer, and "My orders" shows the web orders too); a used or foreign token changes
//! nothing; `/web` answers with a one-time sign-in link for the website.

use bot_gateway::texts::key;
use bureau_platform::identity::{self, LinkToken};
use proto_events::OrderStatus;
use uuid::Uuid;

use crate::support::{Harness, UK};

/// A web customer as registration leaves it: the account and its customer row.
async fn web_customer(harness: &Harness, email: &str) -> (Uuid, Uuid) {
    let (account_id, customer_id) = (Uuid::now_v7(), Uuid::now_v7());
    sqlx::query(
        "INSERT INTO web_accounts (id, email, password_hash, display_name, role, active, created_at)
         VALUES (?, ?, 'x', 'Olena Web', 'customer', TRUE, UTC_TIMESTAMP(6))",
    )
    .bind(account_id)
    .bind(email)
    .execute(&harness.db)
    .await
    .expect("account");
    sqlx::query(
        "INSERT INTO customers (id, display_name, language, web_account_id, created_at, updated_at)
         VALUES (?, 'Olena Web', 'uk', ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
    )
    .bind(customer_id)
    .bind(account_id)
    .execute(&harness.db)
    .await
    .expect("customer");
    (account_id, customer_id)
}

async fn telegram_customer(harness: &Harness, user_id: i64) -> Uuid {
    let customer_id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO customers (id, display_name, phone, language, telegram_user_id, telegram_chat_id, created_at, updated_at)
         VALUES (?, 'Olena Bot', '+380671234567', 'uk', ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
    )
    .bind(customer_id)
    .bind(user_id)
    .bind(user_id)
    .execute(&harness.db)
    .await
    .expect("customer");
    customer_id
}

async fn order(
    harness: &Harness,
    customer_id: Uuid,
    number: &str,
    channel: &str,
    age: u32,
) -> Uuid {
    let order_id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO orders (id, order_number, customer_id, channel, body, status, status_version,
                             expected_files, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'Текст', ?, 1, 0, UTC_TIMESTAMP(6) - INTERVAL ? HOUR, UTC_TIMESTAMP(6))",
    )
    .bind(order_id)
    .bind(number)
    .bind(customer_id)
    .bind(channel)
    .bind(OrderStatus::AwaitingConfirmation.as_str())
    .bind(10 - age)
    .execute(&harness.db)
    .await
    .expect("order");
    order_id
}

#[tokio::test]
async fn a_link_token_joins_the_two_identities_and_my_orders_shows_both_channels() {
    let harness = Harness::new().await;
    let gateway = harness.start_gateway(harness.settings.clone()).await;
    let t = &harness.texts;
    let (account_id, web_id) = web_customer(&harness, "olena@example.com").await;
    order(&harness, web_id, "61000001", "web", 2).await;
    let bot_id = telegram_customer(&harness, 6100).await;
    let bot_order = order(&harness, bot_id, "61000002", "telegram", 1).await;
    let mut olena = harness.customer(harness.double.user_with(6100, "Olena", "uk"));

    let token = identity::issue_telegram_link(&harness.db, web_id)
        .await
        .unwrap();
    olena.user.send_text(&format!("/start {}", token.expose()));
    olena.expect_reply(&t.get(UK, key::LINK_JOINED)).await;

    // One customer row holds both identities; the bot order moved to it, not copied.
    let (telegram, account, phone): (Option<i64>, Option<Uuid>, Option<String>) = sqlx::query_as(
        "SELECT telegram_user_id, web_account_id, phone FROM customers WHERE id = ?",
    )
    .bind(web_id)
    .fetch_one(&harness.db)
    .await
    .unwrap();
    assert_eq!(telegram, Some(6100));
    assert_eq!(account, Some(account_id));
    assert_eq!(
        phone.as_deref(),
        Some("+380671234567"),
        "the phone came along"
    );
    let customers: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customers")
        .fetch_one(&harness.db)
        .await
        .unwrap();
    assert_eq!(customers, 1, "no copies");
    let owner: Uuid = sqlx::query_scalar("SELECT customer_id FROM orders WHERE id = ?")
        .bind(bot_order)
        .fetch_one(&harness.db)
        .await
        .unwrap();
    assert_eq!(owner, web_id);

    // "My orders" in the bot now shows the web order too.
    olena.user.send_text(&t.get(UK, key::MENU_MY_ORDERS));
    let list = olena
        .expect_reply(&t.format(
            UK,
            key::ORDERS_PAGE,
            &[("from", "1"), ("to", "2"), ("total", "2")],
        ))
        .await;
    let labels: Vec<String> = list.inline_buttons().into_iter().map(|(l, _)| l).collect();
    assert!(labels.iter().any(|l| l.contains("№61000001")), "{labels:?}");
    assert!(labels.iter().any(|l| l.contains("№61000002")), "{labels:?}");

    // The token worked once.
    olena.user.send_text(&format!("/start {}", token.expose()));
    olena.expect_reply(&t.get(UK, key::LINK_INVALID)).await;
    olena.user.send_text("/start 0123");
    olena.expect_reply(&t.get(UK, key::LINK_INVALID)).await;

    // Another Telegram user cannot take over the linked account with a fresh token.
    let mut other = harness.customer(harness.double.user_with(6200, "Other", "uk"));
    let fresh = identity::issue_telegram_link(&harness.db, web_id)
        .await
        .unwrap();
    other.user.send_text(&format!("/start {}", fresh.expose()));
    other
        .expect_reply(&t.get(UK, key::LINK_ACCOUNT_TAKEN))
        .await;
    let telegram: Option<i64> =
        sqlx::query_scalar("SELECT telegram_user_id FROM customers WHERE id = ?")
            .bind(web_id)
            .fetch_one(&harness.db)
            .await
            .unwrap();
    assert_eq!(telegram, Some(6100), "unchanged");

    // Nor can this Telegram user be joined to a second web account.
    let (_, second_web) = web_customer(&harness, "second@example.com").await;
    let second = identity::issue_telegram_link(&harness.db, second_web)
        .await
        .unwrap();
    olena.user.send_text(&format!("/start {}", second.expose()));
    olena
        .expect_reply(&t.get(UK, key::LINK_TELEGRAM_TAKEN))
        .await;

    // `/web`: a one-time sign-in link for the website, naming this customer's account.
    olena.user.send_text("/web");
    let reply = olena.next_reply().await;
    let body = reply.body();
    let url = body
        .split_whitespace()
        .find(|word| word.contains("/portal/link/"))
        .unwrap_or_else(|| panic!("a sign-in link in {body:?}"));
    assert!(
        url.starts_with(&harness.settings.web_gateway.public_url),
        "{url}"
    );
    let token = LinkToken::from_presented(url.rsplit('/').next().unwrap()).expect("a token");
    let found = identity::peek_web_sign_in(&harness.db, &token)
        .await
        .unwrap()
        .expect("the token works");
    assert_eq!(found.account_id, Some(account_id));
    assert_eq!(found.identity.user_id, 6100);

    gateway.stop().await;
    harness.finish().await;
}
