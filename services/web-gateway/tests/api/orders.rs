//! Customers' own orders: placing one once the broker has it, refused while it is down, and
//! reading only one's own.

use bureau_platform::Secret;
use bureau_test_support::eventually;
use proto_events::{Event, OrderStatus};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::*;

#[tokio::test]
async fn customers_see_only_their_own_orders() {
    let gateway = Gateway::start().await;
    let http = &gateway.http;
    let (olena, olena_token) = gateway.customer("olena@example.com").await;
    let (taras, taras_token) = gateway.customer("taras@example.com").await;
    gateway
        .insert_order(
            olena,
            "48213097",
            &"Переклад договору. ".repeat(20),
            OrderStatus::AwaitingConfirmation,
        )
        .await;
    gateway
        .insert_order(taras, "51112222", "Print 40 pages", OrderStatus::Accepted)
        .await;

    let list: Value = http
        .get(gateway.url("/api/orders"))
        .bearer_auth(&olena_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["page"], 1);
    assert_eq!(list["has_more"], false);
    let orders = list["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["order_number"], "48213097");
    assert_eq!(orders[0]["file_count"], 1);
    assert!(orders[0]["excerpt"].as_str().unwrap().ends_with('…'));

    let details: Value = http
        .get(gateway.url("/api/orders/№4821-3097"))
        .bearer_auth(&olena_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(details["status"], "awaiting_confirmation");
    assert_eq!(details["files"][0]["name"], "scan.pdf");
    assert_eq!(details["files"][0]["size"], 1234);
    assert_eq!(details["history"][0]["to_status"], "awaiting_confirmation");

    // Someone else's order, a missing one and a malformed number all look the same.
    for number in ["51112222", "99999999", "not-a-number"] {
        let hidden = http
            .get(gateway.url(&format!("/api/orders/{number}")))
            .bearer_auth(&olena_token)
            .send()
            .await
            .unwrap();
        let (status, _, message) = error_of(hidden).await;
        assert_eq!(
            (status, message.as_str()),
            (StatusCode::NOT_FOUND, "No such order."),
            "{number}"
        );
    }
    let bad_page = http
        .get(gateway.url("/api/orders?page=0"))
        .bearer_auth(&taras_token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(bad_page).await.1, "invalid_page");
    let anonymous = http.get(gateway.url("/api/orders")).send().await.unwrap();
    assert_eq!(error_of(anonymous).await.0, StatusCode::UNAUTHORIZED);

    gateway.finish().await;
}

#[tokio::test]
async fn a_text_order_is_accepted_once_the_broker_has_it() {
    let gateway = Gateway::start().await;
    let http = &gateway.http;
    let (account_id, token) = gateway.customer("olena@example.com").await;
    let (_connection, mut events) = gateway.observe_events().await;

    let empty = http
        .post(gateway.url("/api/orders"))
        .bearer_auth(&token)
        .multipart(reqwest::multipart::Form::new().text("text", "   "))
        .send()
        .await
        .unwrap();
    let (status, _, message) = error_of(empty).await;
    assert_eq!(
        (status, message.as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Describe the order or attach at least one file."
        )
    );

    let too_long = http
        .post(gateway.url("/api/orders"))
        .bearer_auth(&token)
        .multipart(reqwest::multipart::Form::new().text("text", "a".repeat(10_001)))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(too_long).await.0, StatusCode::UNPROCESSABLE_ENTITY);

    let wrong_field = http
        .post(gateway.url("/api/orders"))
        .bearer_auth(&token)
        .multipart(reqwest::multipart::Form::new().text("files", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(wrong_field).await.1, "unexpected_field");

    // Only headers are sent: the answer must come before any of the announced body.
    let huge = gateway.settings.web_gateway.max_upload_bytes + 2 * 1024 * 1024;
    let head = format!(
        "POST /api/orders HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {huge}\r\n\r\n"
    );
    let answer = raw_request(gateway.running.http_addr, &head).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("payload_too_large"), "{answer}");

    let placed = http
        .post(gateway.url("/api/orders"))
        .bearer_auth(&token)
        .multipart(
            reqwest::multipart::Form::new()
                .text("text", "Translate my diploma")
                .text("service_code", "translation"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(placed.status(), StatusCode::CREATED);
    assert!(
        placed.headers().contains_key("x-request-id"),
        "every answer carries a request id"
    );
    let body: Value = placed.json().await.unwrap();
    assert_eq!(body["status"], "awaiting_confirmation");
    assert_eq!(body["files"], json!([]));
    let event = next_event(&mut events).await;
    let Event::OrderCreated(created) = event.payload else {
        panic!("not OrderCreated: {event:?}")
    };
    assert_eq!(
        created.order_id.to_string(),
        body["order_id"].as_str().unwrap()
    );
    assert_eq!(created.order_number, body["order_number"].as_str().unwrap());
    assert_eq!(
        created.customer,
        proto_events::CustomerRef::Web { account_id }
    );
    assert_eq!(
        (created.text.as_str(), created.file_count),
        ("Translate my diploma", 0)
    );
    assert_eq!(created.service_code.as_deref(), Some("translation"));

    gateway.finish().await;
}

#[tokio::test]
async fn an_order_is_refused_with_503_while_the_broker_is_down() {
    let gateway = Gateway::start_with(|settings| {
        // Nothing listens on port 1: every publish fails at once.
        settings.broker.url = Secret::new("amqp://guest:guest@127.0.0.1:1/%2f");
    })
    .await;
    let (_, token) = gateway.customer("olena@example.com").await;

    let refused = gateway
        .http
        .post(gateway.url("/api/orders"))
        .bearer_auth(&token)
        .multipart(reqwest::multipart::Form::new().text("text", "Translate my diploma"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers()[reqwest::header::RETRY_AFTER], "5");
    assert_eq!(error_of(refused).await.1, "broker_unavailable");

    // The schema check turns green once the gateway's own background migration ran; the
    // checks' detail is for a signed-in admin only.
    bureau_accounts::create_account(
        &gateway.db,
        "admin@example.com",
        PASSWORD,
        "Ada Admin",
        bureau_accounts::Role::Admin,
    )
    .await
    .unwrap();
    let admin = gateway.log_in("admin@example.com").await;
    let public: Value = gateway
        .http
        .get(gateway.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(public, serde_json::json!({"ready": false}));
    let customer_asks = gateway
        .http
        .get(gateway.url("/api/admin/readiness"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(customer_asks.status(), StatusCode::FORBIDDEN);
    let readiness = gateway.url("/api/admin/readiness");
    let report = std::sync::Mutex::new(Value::Null);
    eventually("the schema is reported current", DEADLINE, || async {
        let ready = gateway
            .http
            .get(&readiness)
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: Value = ready.json().await.unwrap();
        let current = body["checks"]["schema"]["ok"] == true;
        *report.lock().unwrap() = body;
        current
    })
    .await
    .unwrap();
    let report = report.into_inner().unwrap();
    assert_eq!(report["checks"]["broker"]["ok"], false);
    assert_eq!(report["checks"]["database"]["ok"], true);

    gateway.finish().await;
}

/// A web customer answers a price quote: a request from `quoted`, naming the latest quote;
/// nothing is asked of an order that has no price waiting, nor for an older quote.
#[tokio::test]
async fn a_customer_answers_a_quote_with_a_request() {
    let gateway = Gateway::start().await;
    let http = &gateway.http;
    let (customer, token) = gateway.customer("olena@example.com").await;
    let (_, other_token) = gateway.customer("taras@example.com").await;
    let waiting = gateway
        .insert_order(
            customer,
            "48213097",
            "Translate",
            OrderStatus::AwaitingConfirmation,
        )
        .await;
    let order_id = gateway
        .insert_order(customer, "51234567", "Translate", OrderStatus::Quoted)
        .await;
    let (older, latest) = (Uuid::now_v7(), Uuid::now_v7());
    for (quote, minutes_ago) in [(older, 10), (latest, 1)] {
        sqlx::query(
            "INSERT INTO order_quotes (event_id, order_id, amount_minor, currency, quoted_at) \
             VALUES (?, ?, 125000, 'UAH', UTC_TIMESTAMP(6) - INTERVAL ? MINUTE)",
        )
        .bind(quote)
        .bind(order_id)
        .bind(minutes_ago)
        .execute(&gateway.db)
        .await
        .unwrap();
    }
    let (_connection, mut events) = gateway.observe_events().await;

    let not_quoted = http
        .post(gateway.url("/api/orders/48213097/quote/accept"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(not_quoted).await.1, "not_quoted");
    let someone_elses = http
        .post(gateway.url("/api/orders/51234567/quote/accept"))
        .bearer_auth(&other_token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(someone_elses).await.0, StatusCode::NOT_FOUND);
    let outdated = http
        .post(gateway.url("/api/orders/51234567/quote/decline"))
        .bearer_auth(&token)
        .json(&json!({"quote_id": older}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(outdated).await.1, "quote_outdated");
    let nonsense = http
        .post(gateway.url("/api/orders/51234567/quote/maybe"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(nonsense).await.0, StatusCode::NOT_FOUND);

    let declined = http
        .post(gateway.url("/api/orders/51234567/quote/decline"))
        .bearer_auth(&token)
        .json(&json!({"quote_id": latest}))
        .send()
        .await
        .unwrap();
    assert_eq!(declined.status(), StatusCode::ACCEPTED);
    let body: Value = declined.json().await.unwrap();
    assert_eq!(
        (body["from"].as_str(), body["to"].as_str()),
        (Some("quoted"), Some("cancelled"))
    );
    let Event::OrderStatusChangeRequested(requested) = next_event(&mut events).await.payload else {
        panic!("a status change request")
    };
    assert_eq!(requested.order_id, order_id);
    assert_eq!(requested.actor, proto_events::Actor::Customer);
    assert_eq!(requested.quote_id, Some(latest));
    assert_eq!(requested.reason.as_deref(), Some("quote declined"));
    assert_eq!(requested.expected_version, 1);

    let followed: Value = http
        .get(gateway.url(body["request_url"].as_str().unwrap()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(followed["outcome"], "pending");
    assert_eq!(followed["actor_kind"], "customer");
    let not_theirs = http
        .get(gateway.url(body["request_url"].as_str().unwrap()))
        .bearer_auth(&other_token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(not_theirs).await.0, StatusCode::NOT_FOUND);
    let _ = waiting;

    gateway.finish().await;
}
