//! The double's behaviour on the wire, checked with plain HTTP: answer
//! shapes, status codes, injected faults, limits, webhook delivery and
//! retries, and the control API.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::{WAIT, raw_client, start, start_with, within};
use serde_json::{Value, json};
use telegram_double::{DoubleConfig, Fault, SECRET_TOKEN_HEADER};

async fn call(double: &telegram_double::TelegramDouble, method: &str, body: Value) -> (u16, Value) {
    let url = format!("{}/bot{}/{method}", double.api_url(), double.token());
    let response = raw_client()
        .post(url)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json answer"))
}

#[tokio::test]
async fn auth_routing_and_method_names() {
    let double = start().await;
    let client = raw_client();

    let wrong = client
        .post(format!("{}/bot1:nope/getMe", double.api_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong.json::<Value>().await.unwrap(),
        json!({"ok": false, "error_code": 401, "description": "Unauthorized"})
    );

    let (status, body) = call(&double, "sendTelepathy", json!({})).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"ok": false, "error_code": 404, "description": "Not Found: method not found"})
    );

    // Method names are case-insensitive; GET with a query string works too.
    let (status, body) = call(&double, "GETME", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["username"], "bureau_test_bot");
    double.user(5);
    let url = format!(
        "{}/bot{}/sendmessage?chat_id=5&text=hi%20there",
        double.api_url(),
        double.token()
    );
    let body: Value = client.get(url).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["ok"], true);
    assert_eq!(body["result"]["text"], "hi there");

    // Urlencoded forms, with JSON-serialized fields, as other clients send them.
    let url = format!("{}/bot{}/sendMessage", double.api_url(), double.token());
    let body: Value = client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("chat_id=5&text=form&reply_markup=%7B%22inline_keyboard%22%3A%5B%5B%7B%22text%22%3A%22A%22%2C%22callback_data%22%3A%22a%22%7D%5D%5D%7D")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["result"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"],
        "a"
    );
}

#[tokio::test]
async fn faults_and_limits_answer_like_telegram() {
    let double = start().await;
    double.user(1);

    double.set_fault(Fault::ServerError { remaining: 2 });
    for _ in 0..2 {
        let (status, body) = call(&double, "sendMessage", json!({"chat_id": 1, "text": "x"})).await;
        assert_eq!(status, 502);
        assert_eq!(
            body,
            json!({"ok": false, "error_code": 502, "description": "Bad Gateway"})
        );
    }
    // Non-sending calls are not affected, and the fault is used up after two.
    assert_eq!(call(&double, "getMe", json!({})).await.0, 200);
    for i in 0..3 {
        let (status, _) = call(
            &double,
            "sendMessage",
            json!({"chat_id": 1, "text": format!("ok {i}")}),
        )
        .await;
        assert_eq!(status, 200);
    }
    let (status, body) = call(
        &double,
        "sendMessage",
        json!({"chat_id": 1, "text": "flood"}),
    )
    .await;
    assert_eq!(status, 429);
    assert_eq!(
        body,
        json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 1", "parameters": {"retry_after": 1}})
    );
    let stats = double.stats();
    assert_eq!(
        (stats.server_errors, stats.too_many_requests, stats.sent_ok),
        (2, 1, 3)
    );
    assert_eq!(stats.send_times[&1].len(), 3);
    assert_eq!(stats.calls_of("sendmessage"), 6);
    assert_eq!(stats.calls.get("sendMessage"), Some(&6));
}

#[tokio::test]
async fn upload_limits_are_telegrams_not_axums() {
    // Bigger than axum's 2 MB default body limit: accepted.
    let double = start_with(DoubleConfig {
        max_upload_bytes: 4 * 1024 * 1024,
        max_photo_bytes: 1024 * 1024,
        ..DoubleConfig::default()
    })
    .await;
    double.user(2);
    let url = format!("{}/bot{}/sendDocument", double.api_url(), double.token());
    let upload = |len: usize| {
        reqwest::multipart::Form::new().text("chat_id", "2").part(
            "document",
            reqwest::multipart::Part::bytes(vec![7u8; len]).file_name("blob.bin"),
        )
    };
    let ok: Value = raw_client()
        .post(&url)
        .multipart(upload(3 * 1024 * 1024))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ok["result"]["document"]["file_size"], 3 * 1024 * 1024);
    assert_eq!(
        double.messages_to(2)[0].document.as_ref().map(|d| d.size),
        Some(3 * 1024 * 1024)
    );

    // Far beyond the limit: the body is read to the end and refused with 413.
    let response = raw_client()
        .post(&url)
        .multipart(upload(6 * 1024 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"ok": false, "error_code": 413, "description": "Request Entity Too Large"})
    );
    assert_eq!(
        double.stats().calls_of("sendDocument"),
        1,
        "refused before the call was read"
    );
}

#[tokio::test]
async fn groups_get_twenty_messages_a_minute() {
    let double = start_with(DoubleConfig {
        chat_burst: 100,
        chat_per_sec: 100.0,
        ..DoubleConfig::default()
    })
    .await;
    double.group(-1001, "Team");
    for i in 0..20 {
        let (status, body) = call(
            &double,
            "sendMessage",
            json!({"chat_id": -1001, "text": format!("{i}")}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["result"]["chat"]["type"], "group");
    }
    let (status, body) = call(
        &double,
        "sendMessage",
        json!({"chat_id": -1001, "text": "21st"}),
    )
    .await;
    assert_eq!(status, 429);
    let retry = body["parameters"]["retry_after"].as_u64().unwrap();
    assert!((2..=3).contains(&retry), "one token per 3 s: {retry}");
}

/// A webhook that refuses every update of one chat (user 41) and holds each of the
/// others' for a moment, recording who was delivered and how many at once.
#[derive(Default)]
struct PickyHook {
    delivered: Mutex<Vec<(i64, String)>>,
    refused: Mutex<u32>,
    in_flight: Mutex<(u32, u32)>,
}

async fn picky_hook(State(hook): State<Arc<PickyHook>>, body: axum::Json<Value>) -> StatusCode {
    let chat = body["message"]["chat"]["id"].as_i64().unwrap();
    if chat == 41 {
        *hook.refused.lock().unwrap() += 1;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    {
        let mut flight = hook.in_flight.lock().unwrap();
        flight.0 += 1;
        flight.1 = flight.1.max(flight.0);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    hook.in_flight.lock().unwrap().0 -= 1;
    let text = body["message"]["text"].as_str().unwrap().to_owned();
    hook.delivered.lock().unwrap().push((chat, text));
    StatusCode::OK
}

#[tokio::test]
async fn webhook_keeps_each_chat_in_order_and_a_failing_chat_holds_back_only_itself() {
    let receiver = Arc::new(PickyHook::default());
    let app = axum::Router::new()
        .route("/hook", post(picky_hook))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let double = start().await;
    let refused = double.user(41);
    let (ann, bob) = (double.user(42), double.user(43));
    refused.send_text("never taken");
    for n in 0..5 {
        ann.send_text(&format!("ann {n}"));
        bob.send_text(&format!("bob {n}"));
    }
    let (status, _) = call(
        &double,
        "setWebhook",
        json!({"url": hook_url, "max_connections": 40}),
    )
    .await;
    assert_eq!(status, 200);

    within("the other chats delivered", async {
        while receiver.delivered.lock().unwrap().len() < 10 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let delivered = receiver.delivered.lock().unwrap().clone();
    for (chat, name) in [(42, "ann"), (43, "bob")] {
        let texts: Vec<_> = delivered
            .iter()
            .filter(|(c, _)| *c == chat)
            .map(|(_, t)| t.clone())
            .collect();
        let expected: Vec<_> = (0..5).map(|n| format!("{name} {n}")).collect();
        assert_eq!(texts, expected, "one chat's updates in order");
    }
    assert_eq!(
        receiver.in_flight.lock().unwrap().1,
        2,
        "two chats at once, never two of one chat"
    );
    assert!(*receiver.refused.lock().unwrap() >= 1);
    assert_eq!(
        double.pending_updates(),
        1,
        "the refused update stays pending"
    );
}

#[derive(Default)]
struct Hook {
    seen: Mutex<Vec<(u64, Option<String>)>>,
    in_flight: Mutex<(u32, u32)>,
}

async fn hook(
    State(hook): State<Arc<Hook>>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> StatusCode {
    {
        let mut flight = hook.in_flight.lock().unwrap();
        flight.0 += 1;
        flight.1 = flight.1.max(flight.0);
    }
    tokio::task::yield_now().await;
    let secret = headers
        .get(SECRET_TOKEN_HEADER)
        .map(|v| v.to_str().unwrap().to_owned());
    let first = {
        let mut seen = hook.seen.lock().unwrap();
        seen.push((body["update_id"].as_u64().unwrap(), secret));
        seen.len() == 1
    };
    hook.in_flight.lock().unwrap().0 -= 1;
    if first {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

#[tokio::test]
async fn webhook_delivers_in_order_with_secret_and_retries_failures() {
    let receiver = Arc::new(Hook::default());
    let app = axum::Router::new()
        .route("/hook", post(hook))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let double = start().await;
    let gina = double.user(31);
    gina.send_text("first");
    gina.send_text("second");
    let (status, _) = call(
        &double,
        "setWebhook",
        json!({"url": hook_url, "secret_token": "tg-Secret_1"}),
    )
    .await;
    assert_eq!(status, 200);
    gina.send_text("third");

    within("all delivered", double.wait_for_no_pending_updates(WAIT))
        .await
        .unwrap();
    let seen = receiver.seen.lock().unwrap().clone();
    assert_eq!(
        seen.len(),
        4,
        "first delivery failed with 500 and was retried: {seen:?}"
    );
    assert_eq!(
        seen[0].0, seen[1].0,
        "the failed update is retried before any other"
    );
    assert!(
        seen[1].0 < seen[2].0 && seen[2].0 < seen[3].0,
        "in update order: {seen:?}"
    );
    assert!(
        seen.iter()
            .all(|(_, s)| s.as_deref() == Some("tg-Secret_1"))
    );
    assert_eq!(
        receiver.in_flight.lock().unwrap().1,
        1,
        "one delivery at a time"
    );

    let (_, info) = call(&double, "getWebhookInfo", json!({})).await;
    assert_eq!(info["result"]["pending_update_count"], 0);
    assert_eq!(
        info["result"]["last_error_message"],
        "Wrong response from the webhook: 500 Internal Server Error"
    );

    // A webhook that never answers 2xx keeps its update pending.
    let (status, _) = call(
        &double,
        "setWebhook",
        json!({"url": "http://127.0.0.1:9/closed"}),
    )
    .await;
    assert_eq!(status, 200);
    gina.send_text("stuck");
    assert_eq!(double.pending_updates(), 1);
    let (_, body) = call(
        &double,
        "deleteWebhook",
        json!({"drop_pending_updates": true}),
    )
    .await;
    assert_eq!(body["result"], true);
    assert_eq!(double.pending_updates(), 0);
}

#[tokio::test]
async fn offsets_and_allowed_updates() {
    let double = start().await;
    let hank = double.user(41);
    for i in 0..5 {
        hank.send_text(&format!("m{i}"));
    }
    let (_, body) = call(&double, "getUpdates", json!({"limit": 2})).await;
    let ids: Vec<i64> = body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["update_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    let (_, body) = call(&double, "getUpdates", json!({"offset": ids[1] + 1})).await;
    assert_eq!(body["result"].as_array().unwrap().len(), 3);
    let (_, body) = call(&double, "getUpdates", json!({"offset": -1})).await;
    assert_eq!(body["result"][0]["message"]["text"], "m4");
    assert_eq!(double.pending_updates(), 1);

    // allowed_updates sticks, and updates of other kinds are dropped.
    let (_, _) = call(
        &double,
        "getUpdates",
        json!({"offset": ids[1] + 10, "allowed_updates": ["message"]}),
    )
    .await;
    let sent = call(
        &double,
        "sendMessage",
        json!({"chat_id": 41, "text": "menu"}),
    )
    .await
    .1;
    hank.press_button(sent["result"]["message_id"].as_i64().unwrap(), "x");
    hank.send_text("after");
    let (_, body) = call(&double, "getUpdates", json!({})).await;
    let kinds: Vec<bool> = body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.get("message").is_some())
        .collect();
    assert_eq!(kinds, vec![true]);
}

#[tokio::test]
async fn control_api_drives_a_black_box() {
    let double = start().await;
    let client = raw_client();
    let base = double.api_url();

    let sent: Value = client
        .post(format!("{base}/_double/users/500/text"))
        .json(&json!({"text": "/start"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let message_id = sent["message_id"].as_i64().unwrap();
    let (_, updates) = call(&double, "getUpdates", json!({})).await;
    assert_eq!(updates["result"][0]["message"]["message_id"], message_id);
    assert_eq!(
        updates["result"][0]["message"]["entities"][0]["type"],
        "bot_command"
    );

    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"hello".to_vec())
                .file_name("note.txt")
                .mime_str("text/plain")
                .unwrap(),
        )
        .text("caption", "a note");
    let doc: Value = client
        .post(format!("{base}/_double/users/500/document"))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["message_id"].as_i64().unwrap() > message_id);

    let reply = call(&double, "sendMessage", json!({"chat_id": 500, "text": "Welcome", "reply_markup": {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}})).await.1;
    let listed: Value = client
        .get(format!("{base}/_double/chats/500/messages"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["text"], "Welcome");
    assert_eq!(listed[0]["message_id"], reply["result"]["message_id"]);

    let pressed: Value = client
        .post(format!("{base}/_double/users/500/press"))
        .json(&json!({"message_id": reply["result"]["message_id"], "data": "go"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(pressed["callback_query_id"].is_string());

    let stats: Value = client
        .get(format!("{base}/_double/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["sent_ok"], 1);
    assert_eq!(stats["pending_updates"], 3);
}

#[tokio::test]
async fn synthetic_files_stream_their_declared_size() {
    let double = start().await;
    let ivy = double.user(61);
    let message_id = ivy.send_document_sized("big.iso", "", 3 * 1024 * 1024 + 5, None);
    let file_id = ivy.file_ids(message_id).remove(0);
    let (status, file) = call(&double, "getFile", json!({"file_id": file_id})).await;
    assert_eq!(status, 200);
    let path = file["result"]["file_path"].as_str().unwrap().to_owned();
    let url = format!("{}/file/bot{}/{path}", double.api_url(), double.token());
    let bytes = raw_client()
        .get(url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.len(), 3 * 1024 * 1024 + 5);
    assert_eq!(bytes[252], 1);
}

#[tokio::test]
async fn wait_for_message_reports_what_arrived() {
    let double = start().await;
    double.user(71);
    call(
        &double,
        "sendMessage",
        json!({"chat_id": 71, "text": "not what you want"}),
    )
    .await;
    let err = double
        .wait_for_message(71, Duration::from_millis(200), |m| {
            m.body() == "something else"
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("not what you want"), "{err}");

    // A message arriving while waiting ends the wait.
    let waiter = tokio::spawn({
        let double = double.clone();
        async move {
            double
                .wait_for_new_message(71, WAIT, |m| m.body().starts_with("late"))
                .await
        }
    });
    tokio::task::yield_now().await;
    call(
        &double,
        "sendMessage",
        json!({"chat_id": 71, "text": "late reply"}),
    )
    .await;
    assert_eq!(
        within("waiter", waiter).await.unwrap().unwrap().body(),
        "late reply"
    );
}

#[tokio::test]
async fn shutdown_stops_serving_and_ends_long_polls() {
    let double = start().await;
    let url = format!("{}/bot{}/getUpdates", double.api_url(), double.token());
    let poll = tokio::spawn(async move {
        raw_client()
            .post(url)
            .json(&json!({"timeout": 30}))
            .send()
            .await
    });
    within("poll parked", async {
        while double.stats().calls_of("getUpdates") < 1 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    let api = double.api_url();
    within("shutdown", double.clone().shutdown()).await;
    let answer = within("poll ends", poll)
        .await
        .unwrap()
        .expect("answered before closing");
    assert_eq!(answer.json::<Value>().await.unwrap()["result"], json!([]));
    assert!(
        raw_client()
            .get(format!("{api}/_double/stats"))
            .send()
            .await
            .is_err()
    );
}
