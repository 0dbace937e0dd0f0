//! The order lists page by keyset: walked page by page while new orders keep arriving, every
//! order there when the walk began is seen once, in order, and none is skipped.

use bureau_accounts::{Role, create_account};
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::*;

/// Inserts an order of `account_id`'s customer, placed at `created_at`, as the persistence
/// worker would record it.
async fn order_at(gateway: &Gateway, account_id: Uuid, created_at: DateTime<Utc>) -> Uuid {
    let order_id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO orders (id, order_number, customer_id, channel, body, status, status_version, expected_files, created_at, updated_at) \
         SELECT ?, ?, id, 'web', 'Paging', 'awaiting_confirmation', 1, 0, ?, ? FROM customers WHERE web_account_id = ?",
    )
    .bind(order_id)
    .bind(format!("{:08}", rand::random_range(10_000_000..99_999_999)))
    .bind(created_at)
    .bind(created_at)
    .bind(account_id)
    .execute(&gateway.db)
    .await
    .expect("insert order");
    order_id
}

/// Walks a list from its first page to its last, placing `per_page` new orders (newer
/// than any) after each page. Returns the ids seen, in order.
async fn walk(
    gateway: &Gateway,
    path: &str,
    token: &str,
    customer: Uuid,
    per_page: usize,
) -> Vec<Uuid> {
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    for expected_page in 1.. {
        let url = match &next {
            None => gateway.url(path),
            Some(cursor) => gateway.url(&format!("{path}?after={cursor}")),
        };
        let response = gateway
            .http
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let page: Value = response.json().await.unwrap();
        assert_eq!(page["page"], expected_page);
        for line in page["orders"].as_array().unwrap() {
            seen.push(line["order_id"].as_str().unwrap().parse().unwrap());
        }
        for _ in 0..per_page {
            order_at(gateway, customer, Utc::now()).await;
        }
        match page["next"].as_str() {
            Some(cursor) => {
                assert_eq!(page["has_more"], true);
                next = Some(cursor.to_owned());
            }
            None => {
                assert_eq!(page["has_more"], false);
                return seen;
            }
        }
    }
    unreachable!()
}

#[tokio::test]
async fn lists_page_by_keyset_while_orders_arrive() {
    let gateway = Gateway::start().await;
    let (olena, olena_token) = gateway.customer("olena@example.com").await;
    create_account(
        &gateway.db,
        "manager@example.com",
        PASSWORD,
        "Maria",
        Role::Manager,
    )
    .await
    .unwrap();
    let manager_token = gateway.log_in("manager@example.com").await;

    // 45 orders an hour ago, 15 of them in the same microsecond: the id breaks the tie.
    let hour_ago = Utc::now() - Duration::hours(1);
    let mut placed = Vec::new();
    for n in 0..45 {
        let created_at = if (10..25).contains(&n) {
            hour_ago
        } else {
            hour_ago - Duration::milliseconds(n)
        };
        placed.push((created_at, order_at(&gateway, olena, created_at).await));
    }
    placed.sort_by(|a, b| b.cmp(a));
    let newest_first: Vec<Uuid> = placed.iter().map(|(_, id)| *id).collect();

    let seen = walk(&gateway, "/api/orders", &olena_token, olena, 3).await;
    assert_eq!(seen, newest_first, "every order once, newest first");

    // The staff list holds everything recorded before its walk began, newest first.
    let mut all: Vec<(DateTime<Utc>, Uuid)> = sqlx::query_as("SELECT created_at, id FROM orders")
        .fetch_all(&gateway.db)
        .await
        .unwrap();
    all.sort_by(|a, b| b.cmp(a));
    let all: Vec<Uuid> = all.into_iter().map(|(_, id)| id).collect();
    let seen = walk(&gateway, "/api/staff/orders", &manager_token, olena, 5).await;
    assert_eq!(seen, all, "every order once, newest first");

    // Offsets are gone; a cursor made up is refused.
    for query in ["page=2", "after=2.x.y"] {
        let refused = gateway
            .http
            .get(gateway.url(&format!("/api/orders?{query}")))
            .bearer_auth(&olena_token)
            .send()
            .await
            .unwrap();
        let (status, code, _) = error_of(refused).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_page")
        );
    }
    gateway.finish().await;
}
