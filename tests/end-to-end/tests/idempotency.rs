//! `Idempotency-Key` end to end: a retried POST gets the first answer (the same order
//! number, the same status change), never a second order; the same key with another
//! request is refused with 422.

use anyhow::anyhow;
use bureau_end_to_end::web::login;
use bureau_end_to_end::{DEADLINE, TestStack, eventually, random_bytes};
use serde_json::{Value, json};
use sqlx::Row;

async fn place(
    stack: &TestStack,
    token: &str,
    key: &str,
    text: &str,
    file: &[u8],
) -> anyhow::Result<reqwest::Response> {
    let form = reqwest::multipart::Form::new()
        .text("text", text.to_owned())
        .part(
            "file",
            reqwest::multipart::Part::bytes(file.to_vec()).file_name("scan.bin"),
        );
    Ok(stack
        .http
        .post(stack.web_url("/api/orders"))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .multipart(form)
        .send()
        .await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_post_gets_the_first_answer_not_a_second_order() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let password = "correct horse battery staple";
    let created = stack
        .http
        .post(stack.web_url("/api/accounts"))
        .json(&json!({"email": "retry@example.com", "password": password, "display_name": "Retrying Customer"}))
        .send()
        .await?;
    assert_eq!(created.status(), 201);
    let token = login(&stack, "retry@example.com", password).await?;
    let file = random_bytes(64 * 1024);
    let key = uuid::Uuid::new_v4().to_string();

    let first = place(&stack, &token, &key, "idempotent order", &file).await?;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await?;
    let again = place(&stack, &token, &key, "idempotent order", &file).await?;
    assert_eq!(
        again.status(),
        201,
        "a retry is answered like the first request"
    );
    assert_eq!(
        again
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    let again: Value = again.json().await?;
    assert_eq!(
        again["order_number"], first["order_number"],
        "the same order, not a second one"
    );
    assert_eq!(again["order_id"], first["order_id"]);

    let other = place(&stack, &token, &key, "another order", &file).await?;
    assert_eq!(
        other.status(),
        422,
        "the same key for another request is refused"
    );
    let other: Value = other.json().await?;
    assert_eq!(other["error"]["code"], "idempotency_key_reused");

    let fresh = place(
        &stack,
        &token,
        &uuid::Uuid::new_v4().to_string(),
        "idempotent order",
        &file,
    )
    .await?;
    assert_eq!(fresh.status(), 201, "a new key is a new order");
    let fresh: Value = fresh.json().await?;
    assert_ne!(fresh["order_number"], first["order_number"]);

    let number = first["order_number"]
        .as_str()
        .ok_or_else(|| anyhow!("a number"))?
        .to_owned();
    let order_id: uuid::Uuid = eventually("both orders in MySQL", DEADLINE, || async {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
            .fetch_one(&stack.db)
            .await
            .ok()?;
        if count < 2 {
            return None;
        }
        sqlx::query("SELECT id FROM orders WHERE order_number = ?")
            .bind(&number)
            .fetch_optional(&stack.db)
            .await
            .ok()?
            .map(|r| r.get("id"))
    })
    .await?;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(&stack.db)
        .await?;
    assert_eq!(count, 2, "the retry made no order of its own");

    // Staff status changes: the retry is the first answer, and one change is published.
    let staff_password = "staff password for tests 1";
    bureau_accounts::create_account(
        &stack.db,
        "manager@example.com",
        staff_password,
        "Maria Manager",
        bureau_accounts::Role::Manager,
    )
    .await
    .map_err(|e| anyhow!("{e}"))?;
    let staff = login(&stack, "manager@example.com", staff_password).await?;
    let key = uuid::Uuid::new_v4().to_string();
    let change = || {
        stack
            .http
            .post(stack.web_url(&format!("/api/staff/orders/{order_id}/status")))
            .bearer_auth(&staff)
            .header("Idempotency-Key", &key)
            .json(&json!({"to": "accepted"}))
            .send()
    };
    let first = change().await?;
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await?;
    eventually("the change applied", DEADLINE, || async {
        let version: u32 = sqlx::query_scalar("SELECT status_version FROM orders WHERE id = ?")
            .bind(order_id)
            .fetch_one(&stack.db)
            .await
            .ok()?;
        (version == 2).then_some(())
    })
    .await?;
    // Without the key this would now be refused (409: already accepted); with it, the
    // retry learns what happened to its first attempt.
    let again = change().await?;
    assert_eq!(again.status(), 202);
    assert_eq!(again.json::<Value>().await?, first);
    let history: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM order_status_history WHERE order_id = ?")
            .bind(order_id)
            .fetch_one(&stack.db)
            .await?;
    assert_eq!(history, 2, "created, then accepted once");

    stack.teardown().await
}
