//! Verify an e-mail address and reset a forgotten password, with the mails received by the
//! SMTP double (`bureau_test_support::smtp`): the content, the language and the link, which
//! is then followed against the gateway.

use bureau_test_support::eventually;
use bureau_test_support::smtp::{ReceivedMail, SmtpDouble};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn gateway_with_mail() -> (Gateway, SmtpDouble) {
    let smtp = SmtpDouble::start().await.expect("the SMTP double starts");
    let gateway = Gateway::start_with(|settings| {
        smtp.configure(&mut settings.mail);
        settings.business.name = "Slovo".into();
    })
    .await;
    (gateway, smtp)
}

/// Waits for the `n`th mail to `address` (1-based) and returns it.
async fn nth_mail(smtp: &SmtpDouble, address: &str, n: usize) -> ReceivedMail {
    eventually(&format!("mail {n} to {address}"), DEADLINE, || async {
        anyhow::Ok(smtp.to(address).get(n - 1).cloned())
    })
    .await
    .expect("the mail arrives")
}

/// The mailed link, pointed at this gateway (links carry `web_gateway.public_url`).
fn followable(gateway: &Gateway, mail: &ReceivedMail, path: &str) -> String {
    let link = mail.link_containing(path).expect("a link in the mail");
    let at = link.find(path).expect("the path in the link");
    gateway.url(&link[at..])
}

fn token_of(link: &str) -> String {
    link.split("token=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .expect("a token in the link")
        .to_owned()
}

async fn forgot(gateway: &Gateway, email: &str) -> (StatusCode, Value) {
    let response = gateway
        .http
        .post(gateway.url("/api/password/forgot"))
        .json(&json!({"email": email, "language": "en"}))
        .send()
        .await
        .unwrap();
    (response.status(), response.json::<Value>().await.unwrap())
}

async fn reset(gateway: &Gateway, password: &str, token: &str) -> reqwest::Response {
    gateway
        .http
        .post(gateway.url("/api/password/reset"))
        .json(&json!({"token": token, "password": password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn registration_mails_a_link_that_verifies_the_address_once() {
    let (gateway, smtp) = gateway_with_mail().await;
    let http = &gateway.http;
    let address = "olena.verify@example.com";
    let registered = http
        .post(gateway.url("/api/accounts"))
        .json(&json!({"email": address, "password": PASSWORD, "display_name": "Олена", "language": "uk"}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), StatusCode::CREATED);

    let mail = nth_mail(&smtp, address, 1).await;
    assert_eq!(mail.language.as_deref(), Some("uk"));
    assert_eq!(mail.subject, "Підтвердьте адресу електронної пошти — Slovo");
    assert!(mail.text.starts_with("Вітаємо, Олена!"), "{}", mail.text);
    let link = followable(&gateway, &mail, "/account/verify?token=");
    assert!(link.ends_with("&lang=uk"), "{link}");

    let verified_at = || async {
        let at: Option<chrono::DateTime<chrono::Utc>> =
            sqlx::query_scalar("SELECT email_verified_at FROM web_accounts WHERE email = ?")
                .bind(address)
                .fetch_one(&gateway.db)
                .await
                .unwrap();
        at
    };
    assert!(verified_at().await.is_none());
    let page = http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains("lang=\"uk\"") && html.contains("адресу електронної пошти підтверджено"),
        "{html}"
    );
    assert!(verified_at().await.is_some());

    // Once only: the page and the API both say the link is spent.
    assert_eq!(
        http.get(&link).send().await.unwrap().status(),
        StatusCode::GONE
    );
    let again = http
        .post(gateway.url("/api/accounts/verification/confirm"))
        .json(&json!({"token": token_of(&link)}))
        .send()
        .await
        .unwrap();
    let (status, code, _) = error_of(again).await;
    assert_eq!((status, code.as_str()), (StatusCode::GONE, "link_expired"));

    // Signed in, asking again: nothing to verify.
    let token = gateway.log_in(address).await;
    let resend = http
        .post(gateway.url("/api/accounts/verification"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resend.status(), StatusCode::OK);

    // Registering the address again answers the same, and its owner is told, in English
    // when the browser asks for it, with a reset link.
    let twice = http
        .post(gateway.url("/api/accounts"))
        .header("accept-language", "en-GB,en;q=0.9")
        .json(&json!({"email": address, "password": "another good password", "display_name": "Someone"}))
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), StatusCode::CREATED);
    let told = nth_mail(&smtp, address, 2).await;
    assert_eq!(told.subject, "Your account at Slovo");
    assert_eq!(told.language.as_deref(), Some("en"));
    assert!(
        told.link_containing("/account/reset?token=").is_some(),
        "{}",
        told.text
    );
    gateway.finish().await;
}

#[tokio::test]
async fn a_forgotten_password_is_reset_by_a_one_time_link_and_nobody_learns_who_has_an_account() {
    let (gateway, smtp) = gateway_with_mail().await;
    let http = &gateway.http;
    let address = "olena.reset@example.com";
    let (_, old_session) = gateway.customer(address).await;
    // The verification mail of the registration.
    nth_mail(&smtp, address, 1).await;

    let unknown = forgot(&gateway, "nobody.here@example.com").await;
    let known = forgot(&gateway, "Olena.Reset@Example.com").await;
    assert_eq!(unknown.0, StatusCode::ACCEPTED);
    assert_eq!(
        unknown, known,
        "the same answer whether or not the address has an account"
    );

    let mail = nth_mail(&smtp, address, 2).await;
    assert_eq!(mail.subject, "Reset your password — Slovo");
    assert!(mail.text.contains("60 minutes"), "{}", mail.text);
    let link = followable(&gateway, &mail, "/account/reset?token=");
    assert!(smtp.to("nobody.here@example.com").is_empty());

    // The page the link opens: a form for the new password.
    let page = http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("name=\"password\"") && html.contains("New password"),
        "{html}"
    );

    let token = token_of(&link);
    // A weak password is refused and the link stays usable.
    let (status, code, _) = error_of(reset(&gateway, "1234567890", &token).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "weak_password")
    );
    assert_eq!(
        reset(&gateway, "a brand new passphrase", &token)
            .await
            .status(),
        StatusCode::OK
    );

    // Every old session is closed; the new password signs in, the old one does not.
    let who = http
        .get(gateway.url("/api/session"))
        .bearer_auth(&old_session)
        .send()
        .await
        .unwrap();
    assert_eq!(who.status(), StatusCode::UNAUTHORIZED);
    let signed_in = http
        .post(gateway.url("/api/session"))
        .json(&json!({"email": address, "password": "a brand new passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::OK);
    let old = http
        .post(gateway.url("/api/session"))
        .json(&json!({"email": address, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);

    // Used: the API and the form both refuse it.
    let (status, code, _) = error_of(reset(&gateway, "yet another passphrase", &token).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::GONE, "link_expired"));
    let form = http
        .post(gateway.url("/account/reset"))
        .form(&[
            ("token", token.as_str()),
            ("password", "yet another passphrase"),
            ("lang", "uk"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::GONE);
    assert!(form.text().await.unwrap().contains("вже використане"));
    gateway.finish().await;
}
