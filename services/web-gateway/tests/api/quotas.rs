//! Storage quotas per customer: files and bytes a day, orders open at once, each refused
//! with its limit named; an order refused by a quota leaves nothing staged. Only files
//! count a day: an order without one writes no usage, and is taken when the files are used
//! up; concurrent uploads never pass a quota together.

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

#[tokio::test]
async fn text_orders_charge_nothing_and_concurrent_uploads_stay_within_the_quota() {
    let Some((gateway, store)) = gateway_with_store(|settings| {
        let quotas = &mut settings.web_gateway.quotas;
        quotas.files_per_day = 3;
        quotas.open_orders = 100;
    })
    .await
    else {
        return;
    };
    let (_, token) = gateway.customer("olena@example.com").await;
    let usage = || async {
        sqlx::query_as::<_, (u64, u32)>("SELECT bytes, files FROM customer_daily_usage")
            .fetch_all(&gateway.db)
            .await
            .unwrap()
    };

    // A text order neither reads nor writes the day's usage.
    let text = || reqwest::multipart::Form::new().text("text", "Two pages, please");
    let placed = place(&gateway, &token, text()).await;
    assert_eq!(placed.status(), StatusCode::CREATED);
    assert_eq!(usage().await, vec![]);

    // Eight one-file orders at once against three files a day: exactly three are taken
    // (the day's row is made by one of them while the others race it).
    let attempts = (0..8).map(|n| {
        place(
            &gateway,
            &token,
            reqwest::multipart::Form::new().part("file", file(&format!("{n}.txt"), 1_000)),
        )
    });
    let answers = futures::future::join_all(attempts).await;
    let mut taken = 0;
    for answer in answers {
        match answer.status() {
            StatusCode::CREATED => taken += 1,
            status => {
                let body = answer.json::<Value>().await.unwrap();
                assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
                assert_eq!(body["error"]["code"], "quota_files_per_day");
            }
        }
    }
    assert_eq!(taken, 3);
    assert_eq!(usage().await, vec![(3_000, 3)]);
    bureau_test_support::eventually("refused files removed", DEADLINE, || async {
        staged_keys(&store).await.len() == 3
    })
    .await
    .unwrap();

    // The files are used up for today; an order without one is still taken, charging nothing.
    let placed = place(&gateway, &token, text()).await;
    assert_eq!(placed.status(), StatusCode::CREATED);
    assert_eq!(usage().await, vec![(3_000, 3)]);
    // One with a file is refused before its bytes are staged.
    let refused = place(
        &gateway,
        &token,
        text().part("file", file("late.txt", 1_000)),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);

    remove_bucket(&store).await;
    gateway.finish().await;
}
