//! Sign-in as a weapon: failed sign-ins pause per account and per address, with the wait
//! said in `Retry-After`; password hashing runs in bounded slots and a request that cannot
//! get one in time hears 503.

use std::net::{IpAddr, Ipv4Addr};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

fn client_from(address: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(DEADLINE)
        .local_address(IpAddr::V4(Ipv4Addr::from(address)))
        .build()
        .expect("client")
}

async fn sign_in(
    http: &reqwest::Client,
    gateway: &Gateway,
    email: &str,
    password: &str,
) -> reqwest::Response {
    http.post(gateway.url("/api/session"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("sign-in answered")
}

#[tokio::test]
async fn failed_sign_ins_pause_the_account_and_the_address() {
    let gateway = Gateway::start_with(|settings| {
        let sign_in = &mut settings.web_gateway.sign_in;
        sign_in.free_failures_per_account = 3;
        sign_in.free_failures_per_address = 6;
        sign_in.first_pause_secs = 120;
    })
    .await;
    gateway.customer("olena@example.com").await;

    // Three wrong passwords in a row are answered; then the account is paused, even for
    // the right password and from another address.
    let here = client_from([127, 0, 0, 1]);
    for _ in 0..3 {
        let wrong = sign_in(&here, &gateway, "olena@example.com", "wrong password!").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    let elsewhere = client_from([127, 0, 0, 3]);
    let paused = sign_in(&elsewhere, &gateway, "Olena@example.com", PASSWORD).await;
    assert_eq!(paused.headers()[reqwest::header::RETRY_AFTER], "120");
    let (status, code, message) = error_of(paused).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
    );
    assert_eq!(
        message,
        "Too many sign-in attempts. To protect the account, signing in is paused; try again in 2 minutes."
    );
    // An address nobody registered answers the same, so the pause tells nothing.
    for _ in 0..3 {
        sign_in(&here, &gateway, "nobody@example.com", "wrong password!").await;
    }
    let unknown = sign_in(&here, &gateway, "nobody@example.com", "wrong password!").await;
    assert_eq!(error_of(unknown).await, (status, code, message));

    // One address guessing across many accounts is paused whatever account it tries next.
    let guesser = client_from([127, 0, 0, 2]);
    for n in 0..6 {
        let wrong = sign_in(
            &guesser,
            &gateway,
            &format!("user{n}@example.com"),
            "wrong password!",
        )
        .await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    let paused = sign_in(&guesser, &gateway, "user99@example.com", "wrong password!").await;
    assert_eq!(paused.status(), StatusCode::TOO_MANY_REQUESTS);
    let other = sign_in(
        &elsewhere,
        &gateway,
        "user99@example.com",
        "wrong password!",
    )
    .await;
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);

    gateway.finish().await;
}

#[tokio::test]
async fn hashing_runs_in_bounded_slots_and_the_overflow_hears_503() {
    let gateway = Gateway::start_with(|settings| {
        let sign_in = &mut settings.web_gateway.sign_in;
        sign_in.hashing_slots = 1;
        sign_in.hashing_queue_ms = 0;
        sign_in.free_failures_per_address = 1000;
    })
    .await;
    let answers = futures::future::join_all((0..30).map(|n| {
        let gateway = &gateway;
        async move {
            sign_in(
                &gateway.http,
                gateway,
                &format!("flood{n}@example.com"),
                "wrong password!",
            )
            .await
        }
    }))
    .await;
    let mut busy = 0;
    for answer in answers {
        match answer.status() {
            StatusCode::UNAUTHORIZED => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(answer.headers()[reqwest::header::RETRY_AFTER], "1");
                assert_eq!(error_of(answer).await.1, "busy");
                busy += 1;
            }
            other => panic!("unexpected answer {other}"),
        }
    }
    assert!(
        busy > 0,
        "thirty sign-ins at once all hashed in one slot without waiting"
    );
    gateway.finish().await;
}

#[tokio::test]
async fn behind_a_proxy_the_forwarded_address_is_counted() {
    let gateway = Gateway::start_with(|settings| {
        settings.web_gateway.client_address_header = "x-forwarded-for".into();
        let sign_in = &mut settings.web_gateway.sign_in;
        sign_in.free_failures_per_address = 2;
        sign_in.first_pause_secs = 60;
    })
    .await;
    let from = |forwarded: &'static str, n: u32| {
        gateway
            .http
            .post(gateway.url("/api/session"))
            // A client's own entry first, the proxy's appended last: only the last counts.
            .header("x-forwarded-for", format!("203.0.113.{n}, {forwarded}"))
            .json(&json!({"email": format!("user{n}@example.com"), "password": "wrong password!"}))
            .send()
    };
    for n in 0..2 {
        assert_eq!(
            from("198.51.100.7", n).await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        from("198.51.100.7", 2).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        from("198.51.100.8", 3).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    gateway.finish().await;
}
