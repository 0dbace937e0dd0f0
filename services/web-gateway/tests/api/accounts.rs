//! Registration, login, who am I and logout: `/api/accounts` and `/api/session`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn accounts_and_sessions() {
    let gateway = Gateway::start().await;
    let http = &gateway.http;

    let weak = http
        .post(gateway.url("/api/accounts"))
        .json(&json!({"email": "olena@example.com", "password": "8273645190283", "display_name": "Olena"}))
        .send()
        .await
        .unwrap();
    let (status, code, message) = error_of(weak).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "weak_password")
    );
    assert_eq!(message, "This password is entirely numeric.");

    let missing_field = http
        .post(gateway.url("/api/accounts"))
        .json(&json!({"email": "x@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(missing_field).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let (account_id, token) = gateway.customer("Olena@Example.com").await;
    // Registering an address that has an account answers exactly as a new address does,
    // and changes nothing: the first password still signs in, the second does not.
    let register = |email: &str, password: &str| {
        http.post(gateway.url("/api/accounts"))
            .json(&json!({"email": email, "password": password, "display_name": "Someone"}))
            .send()
    };
    let new_address = register("taras@example.com", "another horse battery")
        .await
        .unwrap();
    let taken_address = register("olena@example.com", "another horse battery")
        .await
        .unwrap();
    assert_eq!(
        (new_address.status(), taken_address.status()),
        (StatusCode::CREATED, StatusCode::CREATED)
    );
    assert_eq!(
        new_address.json::<Value>().await.unwrap(),
        taken_address.json::<Value>().await.unwrap()
    );
    let second_password = http
        .post(gateway.url("/api/session"))
        .json(&json!({"email": "olena@example.com", "password": "another horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(second_password.status(), StatusCode::UNAUTHORIZED);
    gateway.log_in("olena@example.com").await;

    for (email, password) in [
        ("olena@example.com", "wrong password!"),
        ("nobody@example.com", PASSWORD),
    ] {
        let refused = http
            .post(gateway.url("/api/session"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        let (status, _, message) = error_of(refused).await;
        assert_eq!(
            (status, message.as_str()),
            (StatusCode::UNAUTHORIZED, "Wrong email or password.")
        );
    }

    let me: Value = http
        .get(gateway.url("/api/session"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        me,
        json!({"account_id": account_id, "role": "customer", "display_name": "Olena Koval"})
    );
    let by_cookie = http
        .get(gateway.url("/api/orders"))
        .header(reqwest::header::COOKIE, format!("bureau_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), StatusCode::OK);

    let staff_only = http
        .get(gateway.url("/api/staff/orders"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(staff_only).await.0, StatusCode::FORBIDDEN);

    let logged_out = http
        .delete(gateway.url("/api/session"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(logged_out.status(), StatusCode::NO_CONTENT);
    let after = http
        .get(gateway.url("/api/session"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(after).await.0, StatusCode::UNAUTHORIZED);

    gateway.finish().await;
}
