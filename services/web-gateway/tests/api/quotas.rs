//! Storage quotas per customer: files and bytes a day, orders open at once, each refused
//! with its limit named; an order refused by a quota leaves nothing staged.

use proto_events::OrderStatus;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

fn file(name: &str, size: usize) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(vec![b'x'; size]).file_name(name.to_owned())
}

async fn place(
    gateway: &Gateway,
    token: &str,
    form: reqwest::multipart::Form,
) -> reqwest::Response {
    gateway
        .http
        .post(gateway.url("/api/orders"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn quotas_per_customer_name_their_limits() {
    let Some((gateway, store)) = gateway_with_store(|settings| {
        let quotas = &mut settings.web_gateway.quotas;
        quotas.files_per_day = 3;
        quotas.bytes_per_day = 102_400;
        quotas.open_orders = 2;
    })
    .await
    else {
        return;
    };
    let (account_id, token) = gateway.customer("olena@example.com").await;

    let first = place(
        &gateway,
        &token,
        reqwest::multipart::Form::new()
            .part("file", file("a.txt", 10_000))
            .part("file", file("b.txt", 10_000)),
    )
    .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let staged_before = staged_keys(&store).await.len();

    // Two more files would be four today: the second is refused, the first not kept.
    let too_many = place(
        &gateway,
        &token,
        reqwest::multipart::Form::new()
            .part("file", file("c.txt", 1_000))
            .part("file", file("d.txt", 1_000)),
    )
    .await;
    assert!(
        too_many
            .headers()
            .contains_key(reqwest::header::RETRY_AFTER)
    );
    let (status, body) = (too_many.status(), too_many.json::<Value>().await.unwrap());
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"]["code"], "quota_files_per_day");
    assert_eq!(body["error"]["limit"], 3);
    assert_eq!(
        body["error"]["message"],
        "You can send at most 3 files a day; please try again tomorrow or write to us."
    );

    // 82,400 bytes are left of today's 102,400: a 90,000-byte file is cut off.
    let too_large = place(
        &gateway,
        &token,
        reqwest::multipart::Form::new().part("file", file("big.bin", 90_000)),
    )
    .await;
    let (status, body) = (too_large.status(), too_large.json::<Value>().await.unwrap());
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"]["code"], "quota_bytes_per_day");
    assert_eq!(body["error"]["limit"], 102_400);
    assert_eq!(
        body["error"]["message"],
        "You can send at most 100 KiB of files a day; please try again tomorrow or write to us."
    );
    bureau_test_support::eventually("refused files removed", DEADLINE, || async {
        staged_keys(&store).await.len() == staged_before
    })
    .await
    .unwrap();

    // Two orders open (as the persistence worker records them): a third is refused.
    for number in ["10000001", "10000002"] {
        gateway
            .insert_order(
                account_id,
                number,
                "open",
                OrderStatus::AwaitingConfirmation,
            )
            .await;
    }
    gateway
        .insert_order(account_id, "10000003", "closed", OrderStatus::Delivered)
        .await;
    let third = place(
        &gateway,
        &token,
        reqwest::multipart::Form::new().text("text", "One more, please"),
    )
    .await;
    let (status, body) = (third.status(), third.json::<Value>().await.unwrap());
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"]["code"], "quota_open_orders");
    assert_eq!(body["error"]["limit"], 2);

    remove_bucket(&store).await;
    gateway.finish().await;
}
