//! Running the business over HTTP: staff invited with a one-time link (single use, policy
//! errors in the person's language; mailed in the language the admin chose, shown to the
//! admin only when it cannot be mailed), roles, deactivation ending sessions and live streams
//! at once, the last active admin kept; the catalogue edited by a manager and seen at once
//! by the order form's API, archived when orders use a service; the business's details;
//! the audit log's filters, keyset paging and streamed CSV; and the matrix for every admin
//! route and role (rooms and schedules too).

use std::time::Duration;

use bureau_accounts::{Role, create_account};
use futures::StreamExt;
use proto_events::OrderStatus;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;
use uuid::Uuid;
use web_gateway::office::permissions::{self, Act, Policy, Whose};

use crate::helpers::*;

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(DEADLINE)
        .build()
        .unwrap()
}

fn headers(gateway: &Gateway, token: Option<&str>, lang: &'static str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(token) = token {
        headers.insert(
            "cookie",
            HeaderValue::from_str(&format!("bureau_session={token}")).unwrap(),
        );
    }
    headers.insert("origin", HeaderValue::from_str(&gateway.url("")).unwrap());
    headers.insert("accept-language", HeaderValue::from_static(lang));
    headers
}

async fn staff(gateway: &Gateway, email: &str, name: &str, role: Role) -> (Uuid, String) {
    let id = create_account(&gateway.db, email, PASSWORD, name, role)
        .await
        .unwrap();
    (id, gateway.log_in(email).await)
}

async fn get(gateway: &Gateway, token: Option<&str>, path: &str) -> (StatusCode, String) {
    let response = browser()
        .get(gateway.url(path))
        .headers(headers(gateway, token, "en"))
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn post(
    gateway: &Gateway,
    token: Option<&str>,
    lang: &'static str,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let response = browser()
        .post(gateway.url(path))
        .headers(headers(gateway, token, lang))
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

/// The set-password link's path in a link page.
fn link_path(page: &str) -> String {
    let start = page
        .find("/office/set-password/")
        .expect("a link on the page");
    page[start..start + "/office/set-password/".len() + 64].to_owned()
}

async fn audited(gateway: &Gateway, action: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM staff_audit WHERE action = ?")
        .bind(action)
        .fetch_one(&gateway.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_invited_executor_sets_a_password_once_through_the_link_and_signs_in() {
    let gateway = Gateway::start().await;
    let (_, admin) = staff(&gateway, "ada@example.com", "Ada Admin", Role::Admin).await;

    let (status, page) = post(
        &gateway,
        Some(&admin),
        "en",
        "/office/staff/invite",
        &[
            ("name", "Ivan Executor"),
            ("email", "ivan@example.com"),
            ("role", "executor"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let link = link_path(&page);
    let token = link.rsplit('/').next().unwrap().to_owned();
    // Only its hash is stored.
    let stored: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM staff_password_links WHERE token_hash = UNHEX(SHA2(?, 256))",
    )
    .bind(&token)
    .fetch_one(&gateway.db)
    .await
    .unwrap();
    assert_eq!(stored, 1);
    let (_, list) = get(&gateway, Some(&admin), "/office/staff").await;
    assert!(
        list.contains("ivan@example.com") && list.contains("invitation pending"),
        "{list}"
    );
    assert_eq!(audited(&gateway, "staff_invite").await, 1);

    // Not signable into before the password is set.
    let response = gateway
        .http
        .post(gateway.url("/api/session"))
        .json(&serde_json::json!({"email": "ivan@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // The link opens the form; the policy's rules come back next to the field, in Ukrainian.
    let (status, form) = get(&gateway, None, &link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("ivan@example.com"), "{form}");
    let (status, refused) = post(
        &gateway,
        None,
        "uk",
        &link,
        &[("password", "1qaz2wsx3edc"), ("repeat", "1qaz2wsx3edc")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.contains("списках зламаних паролів"), "{refused}");
    let (_, short) = post(
        &gateway,
        None,
        "en",
        &link,
        &[("password", "short one"), ("repeat", "short one")],
    )
    .await;
    assert!(short.contains("at least 12 characters"), "{short}");
    let (_, differ) = post(
        &gateway,
        None,
        "en",
        &link,
        &[
            ("password", "a quiet orchard in Lviv"),
            ("repeat", "another"),
        ],
    )
    .await;
    assert!(differ.contains("The passwords differ."), "{differ}");

    let (status, done) = post(
        &gateway,
        None,
        "en",
        &link,
        &[
            ("password", "a quiet orchard in Lviv"),
            ("repeat", "a quiet orchard in Lviv"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(done.contains("password-saved"), "{done}");
    let response = gateway
        .http
        .post(gateway.url("/api/session"))
        .json(&serde_json::json!({"email": "ivan@example.com", "password": "a quiet orchard in Lviv"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // Single use: the same link is dead now, for reading and for setting.
    let (status, _) = get(&gateway, None, &link).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, again) = post(
        &gateway,
        None,
        "en",
        &link,
        &[
            ("password", "an evil new password"),
            ("repeat", "an evil new password"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(again.contains("expired or was already used"), "{again}");

    // A reset makes a new link and revokes an older unused one.
    let ivan: Uuid =
        sqlx::query_scalar("SELECT id FROM web_accounts WHERE email = 'ivan@example.com'")
            .fetch_one(&gateway.db)
            .await
            .unwrap();
    let (_, first) = post(
        &gateway,
        Some(&admin),
        "en",
        &format!("/office/staff/{ivan}/reset"),
        &[],
    )
    .await;
    let (_, second) = post(
        &gateway,
        Some(&admin),
        "en",
        &format!("/office/staff/{ivan}/reset"),
        &[],
    )
    .await;
    assert_eq!(
        get(&gateway, None, &link_path(&first)).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&gateway, None, &link_path(&second)).await.0,
        StatusCode::OK
    );
    assert_eq!(audited(&gateway, "staff_password_reset").await, 2);

    // An expired link does not work.
    sqlx::query("UPDATE staff_password_links SET expires_at = NOW(6) - INTERVAL 1 SECOND")
        .execute(&gateway.db)
        .await
        .unwrap();
    assert_eq!(
        get(&gateway, None, &link_path(&second)).await.0,
        StatusCode::NOT_FOUND
    );
    gateway.finish().await;
}

/// With `[mail]` set (the SMTP double), the invitation goes to the person in the language
/// the admin picked — not the admin's — and the admin's page says so without the link; the
/// mailed link opens the set-password page in that language; a reset goes out in the same
/// language; an address the server refuses gets the link shown to the admin, with the reason.
#[tokio::test]
async fn invitations_and_resets_are_mailed_in_the_person_s_language() {
    use bureau_test_support::smtp::SmtpDouble;
    let smtp = SmtpDouble::start().await.expect("the SMTP double starts");
    let gateway = Gateway::start_with(|settings| smtp.configure(&mut settings.mail)).await;
    let (_, admin) = staff(&gateway, "ada@example.com", "Ada Admin", Role::Admin).await;
    let mail_to = |address: &'static str, n: usize| {
        let smtp = &smtp;
        async move {
            bureau_test_support::eventually(&format!("mail {n} to {address}"), DEADLINE, || async {
                anyhow::Ok(smtp.to(address).get(n - 1).cloned())
            })
            .await
            .expect("the mail arrives")
        }
    };

    let (status, page) = post(
        &gateway,
        Some(&admin),
        "en",
        "/office/staff/invite",
        &[
            ("name", "Іван Виконавець"),
            ("email", "ivan@example.com"),
            ("role", "executor"),
            ("language", "uk"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("id=\"link-mailed\"")
            && page.contains("The link was e-mailed to ivan@example.com (Ukrainian)"),
        "{page}"
    );
    assert!(
        !page.contains("/office/set-password/"),
        "a mailed link is not shown to the admin"
    );
    assert_eq!(audited(&gateway, "staff_link_mailed").await, 1);
    let invitation = mail_to("ivan@example.com", 1).await;
    assert_eq!(invitation.language.as_deref(), Some("uk"));
    assert!(
        invitation.subject.contains("Запрошення"),
        "{}",
        invitation.subject
    );
    assert!(
        invitation.text.contains("Ada Admin") && invitation.text.contains("виконавець"),
        "{}",
        invitation.text
    );
    let link = invitation
        .link_containing("/office/language/uk?back=/office/set-password/")
        .expect("the link in the mail");
    let path = &link[link.find("/office/").unwrap()..];
    // The link sets the page's language and lands on the form.
    let response = browser()
        .get(gateway.url(path))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection());
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    let form_path = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        form_path.starts_with("/office/set-password/"),
        "{form_path}"
    );
    let form = browser()
        .get(gateway.url(&form_path))
        .header("cookie", cookie.split(';').next().unwrap())
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let form = form.text().await.unwrap();
    assert!(
        form.contains("ivan@example.com") && form.contains("Зберегти пароль"),
        "{form}"
    );
    let (status, done) = post(
        &gateway,
        None,
        "uk",
        &form_path,
        &[
            ("password", "a quiet orchard in Lviv"),
            ("repeat", "a quiet orchard in Lviv"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(done.contains("password-saved"), "{done}");

    // A reset is mailed in the language chosen at the invitation.
    let ivan: Uuid =
        sqlx::query_scalar("SELECT id FROM web_accounts WHERE email = 'ivan@example.com'")
            .fetch_one(&gateway.db)
            .await
            .unwrap();
    let (status, page) = post(
        &gateway,
        Some(&admin),
        "en",
        &format!("/office/staff/{ivan}/reset"),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"link-mailed\""), "{page}");
    let reset = mail_to("ivan@example.com", 2).await;
    assert_eq!(reset.language.as_deref(), Some("uk"));
    assert!(reset.subject.contains("Новий пароль"), "{}", reset.subject);
    assert!(reset.link_containing("/office/set-password/").is_some());

    // The mail server refuses an address: the admin gets the link to hand over, and why.
    smtp.refuse("olha@example.com");
    let (status, page) = post(
        &gateway,
        Some(&admin),
        "en",
        "/office/staff/invite",
        &[
            ("name", "Olha"),
            ("email", "olha@example.com"),
            ("role", "manager"),
            ("language", "en"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("id=\"link-not-mailed\"") && page.contains("The mail could not be sent"),
        "{page}"
    );
    assert_eq!(
        get(&gateway, None, &link_path(&page)).await.0,
        StatusCode::OK,
        "the shown link works"
    );
    assert_eq!(audited(&gateway, "staff_link_mail_failed").await, 1);
    gateway.finish().await;
}

#[tokio::test]
async fn deactivating_ends_sessions_and_live_streams_at_once_and_the_last_admin_stays() {
    let gateway = Gateway::start_with(|settings| {
        // A periodic check this slow would never end the stream within the test.
        settings.web_gateway.live.session_check_secs = 3600;
    })
    .await;
    let (ada, admin) = staff(&gateway, "ada@example.com", "Ada Admin", Role::Admin).await;
    let (maria, maria_token) = staff(&gateway, "maria@example.com", "Maria", Role::Manager).await;

    // Maria follows the staff feed.
    let mut feed = gateway
        .http
        .get(gateway.url("/api/staff/feed"))
        .bearer_auth(&maria_token)
        .send()
        .await
        .unwrap()
        .bytes_stream();
    let first = tokio::time::timeout(DEADLINE, feed.next()).await.unwrap();
    assert!(first.is_some(), "the feed said it is live");
    // And on a second replica of the gateway (same database and broker).
    let replica_stop = tokio_util::sync::CancellationToken::new();
    let replica = web_gateway::start(gateway.settings.clone(), replica_stop.clone())
        .await
        .unwrap();
    let mut replica_feed = gateway
        .http
        .get(format!("http://{}/api/staff/feed", replica.http_addr))
        .bearer_auth(&maria_token)
        .send()
        .await
        .unwrap()
        .bytes_stream();
    let first = tokio::time::timeout(DEADLINE, replica_feed.next())
        .await
        .unwrap();
    assert!(first.is_some(), "the replica's feed said it is live");

    let (status, _) = post(
        &gateway,
        Some(&admin),
        "en",
        &format!("/office/staff/{maria}/active"),
        &[("active", "0")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // The stream ends now, not at the next hourly check.
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(chunk) = feed.next().await {
            if chunk.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the live stream ended at once");
    let ended_there = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(chunk) = replica_feed.next().await {
            if chunk.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(ended_there.is_ok(), "the other replica's stream ended too");
    replica_stop.cancel();
    replica.task.await.unwrap().unwrap();
    let (status, _) = get(&gateway, Some(&maria_token), "/office").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the session is gone");
    let response = gateway
        .http
        .post(gateway.url("/api/session"))
        .json(&serde_json::json!({"email": "maria@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "cannot sign in"
    );
    assert_eq!(audited(&gateway, "staff_deactivate").await, 1);

    // Reactivated: signs in again.
    post(
        &gateway,
        Some(&admin),
        "en",
        &format!("/office/staff/{maria}/active"),
        &[("active", "1")],
    )
    .await;
    gateway.log_in("maria@example.com").await;

    // The last active admin cannot be demoted or deactivated, by the page or by two
    // admins at once.
    let (status, page) = post(
        &gateway,
        Some(&admin),
        "en",
        &format!("/office/staff/{ada}/role"),
        &[("role", "manager")],
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("last active admin"), "{page}");
    let (status, _) = post(
        &gateway,
        Some(&admin),
        "en",
        &format!("/office/staff/{ada}/active"),
        &[("active", "0")],
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = post(
        &gateway,
        Some(&admin),
        "uk",
        &format!("/office/staff/{maria}/role"),
        &[("role", "admin")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // Two admins demote each other at the same moment: exactly one succeeds.
    let (a, b) = tokio::join!(
        bureau_accounts::staff::update(&gateway.db, ada, Some(Role::Manager), None),
        bureau_accounts::staff::update(&gateway.db, maria, Some(Role::Manager), None),
    );
    assert_eq!(
        [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{a:?} {b:?}"
    );
    let admins: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM web_accounts WHERE role = 'admin' AND active")
            .fetch_one(&gateway.db)
            .await
            .unwrap();
    assert_eq!(admins, 1);
    gateway.finish().await;
}

#[tokio::test]
async fn a_manager_edits_the_catalogue_and_the_order_form_sees_it_at_once() {
    let gateway = Gateway::start().await;
    let (_, manager) = staff(&gateway, "maria@example.com", "Maria", Role::Manager).await;

    // Bad input: each problem next to its field, in the staff member's language; nothing saved.
    let (status, page) = post(
        &gateway,
        Some(&manager),
        "uk",
        "/office/catalogue/services",
        &[
            ("name_uk", ""),
            ("name_en", "Sworn translation"),
            ("price", "12.345"),
            ("duration", "3"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("Обов’язкове поле.") && page.contains("Ціна — число"),
        "{page}"
    );
    assert!(page.contains("Sworn translation"), "what was typed is kept");

    let (status, _) = post(
        &gateway,
        Some(&manager),
        "en",
        "/office/catalogue/services",
        &[
            ("category", "2"),
            ("name_uk", "Присяжний переклад"),
            ("name_en", "Sworn translation"),
            ("description_en", "By a sworn translator"),
            ("price", "520,50"),
            ("currency", "UAH"),
            ("unit", "page"),
            ("position", "5"),
            ("active", "on"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let catalogue: Value = gateway
        .http
        .get(gateway.url("/api/catalogue?lang=en"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sworn = catalogue["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"] == "sworn_translation")
        .cloned()
        .expect("the new service is offered");
    assert_eq!(sworn["price_minor"], 52050);
    assert_eq!(sworn["price_label"], "520.50 ₴/page");
    assert_eq!(sworn["category_id"], 2);
    let (_, list) = get(&gateway, Some(&manager), "/office/catalogue").await;
    assert!(
        list.contains("Sworn translation") && list.contains("520.50 ₴/page"),
        "{list}"
    );
    assert_eq!(audited(&gateway, "catalogue_service_create").await, 1);

    // A service some order used is archived, never deleted; an unused one is deleted.
    let (customer, olena) = gateway.customer("olena@example.com").await;
    let order = gateway
        .insert_order(customer, "48213097", "Passport", OrderStatus::Delivered)
        .await;
    sqlx::query("UPDATE orders SET service_code = 'translation.passport' WHERE id = ?")
        .bind(order)
        .execute(&gateway.db)
        .await
        .unwrap();
    post(
        &gateway,
        Some(&manager),
        "en",
        "/office/catalogue/services/1/remove",
        &[],
    )
    .await;
    let (archived, active): (bool, bool) = sqlx::query_as(
        "SELECT archived_at IS NOT NULL, active FROM catalogue_services WHERE code = 'translation.passport'",
    )
    .fetch_one(&gateway.db)
    .await
    .unwrap();
    assert!(archived && !active);
    // …and a new web order for it is refused, with nothing staged left behind.
    let refused = gateway
        .http
        .post(gateway.url("/api/orders"))
        .bearer_auth(&olena)
        .multipart(
            reqwest::multipart::Form::new()
                .text("service_code", "translation.passport")
                .text("text", "My passport, please"),
        )
        .send()
        .await
        .unwrap();
    let (status, code, _) = error_of(refused).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "service_withdrawn")
    );
    let sworn_id: u32 =
        sqlx::query_scalar("SELECT id FROM catalogue_services WHERE code = 'sworn_translation'")
            .fetch_one(&gateway.db)
            .await
            .unwrap();
    post(
        &gateway,
        Some(&manager),
        "en",
        &format!("/office/catalogue/services/{sworn_id}/remove"),
        &[],
    )
    .await;
    let left: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM catalogue_services WHERE code = 'sworn_translation'",
    )
    .fetch_one(&gateway.db)
    .await
    .unwrap();
    assert_eq!(left, 0);
    let catalogue: Value = gateway
        .http
        .get(gateway.url("/api/catalogue"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        catalogue["services"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["code"] != "translation.passport"),
        "archived services are not offered"
    );

    // Categories: a new one nests; one cannot be put inside itself.
    let (status, _) = post(
        &gateway,
        Some(&manager),
        "en",
        "/office/catalogue/categories",
        &[
            ("parent", "1"),
            ("name_uk", "Художній"),
            ("name_en", "Literary"),
            ("position", "40"),
            ("active", "on"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, page) = post(
        &gateway,
        Some(&manager),
        "en",
        "/office/catalogue/categories/1",
        &[
            ("parent", "2"),
            ("name_uk", "Переклад"),
            ("name_en", "Translation"),
            ("active", "on"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("cannot be put inside itself"), "{page}");
    gateway.finish().await;
}

#[tokio::test]
async fn business_details_are_saved_and_blank_fields_fall_back_to_the_settings() {
    let gateway = Gateway::start().await;
    let (_, admin) = staff(&gateway, "ada@example.com", "Ada Admin", Role::Admin).await;
    let (status, page) = post(
        &gateway,
        Some(&admin),
        "en",
        "/office/business",
        &[
            ("name", "Slovo & Partners"),
            ("phone", ""),
            ("email", "not an email"),
            ("hours", "Mon–Sat 9–19"),
            ("greeting_uk", "Вітаємо, {name}!"),
            ("greeting_en", ""),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Check the email address."), "{page}");
    let (status, page) = post(
        &gateway,
        Some(&admin),
        "en",
        "/office/business",
        &[
            ("name", "Slovo & Partners"),
            ("phone", ""),
            ("email", "desk@slovo.example.com"),
            ("hours", "Mon–Sat 9–19"),
            ("greeting_uk", "Вітаємо, {name}!"),
            ("greeting_en", ""),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let details = bureau_platform::business::details(&gateway.db, &gateway.settings.business)
        .await
        .unwrap();
    assert_eq!(details.name, "Slovo & Partners");
    assert_eq!(details.phone, gateway.settings.business.phone);
    assert_eq!(details.greeting("uk"), Some("Вітаємо, {name}!"));
    assert_eq!(details.greeting("en"), None);
    assert_eq!(audited(&gateway, "business_details_update").await, 1);
    gateway.finish().await;
}

#[tokio::test]
async fn the_audit_log_filters_pages_and_streams_csv_with_a_bom() {
    let gateway = Gateway::start().await;
    let (ada, admin) = staff(&gateway, "ada@example.com", "Ada Admin", Role::Admin).await;
    let (customer, _) = gateway.customer("olena@example.com").await;
    let order = gateway
        .insert_order(customer, "48213097", "Passport", OrderStatus::Accepted)
        .await;
    // 120 entries of Ada's, 3 on the order, one with text a spreadsheet would run.
    for i in 0..120 {
        sqlx::query(
            "INSERT INTO staff_audit (account_id, action, order_id, detail, at) VALUES (?, ?, ?, ?, NOW(6))",
        )
        .bind(ada)
        .bind(if i < 3 { "order_comment" } else { "order_view" })
        .bind((i < 3).then_some(order))
        .bind(if i == 0 { "=HYPERLINK(\"x\"), «лапки»" } else { "ok" })
        .execute(&gateway.db)
        .await
        .unwrap();
    }
    let (status, page) = get(&gateway, Some(&admin), "/office/audit?action=order_view").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        page.matches("<code>order_view</code>").count(),
        50,
        "a page of 50"
    );
    let older = page
        .split("rel=\"next\"")
        .next()
        .and_then(|head| head.rsplit("href=\"").next())
        .map(|href| href.split('"').next().unwrap().replace("&amp;", "&"))
        .expect("an older page");
    assert!(older.contains("before="), "{older}");
    let (_, second) = get(&gateway, Some(&admin), &older).await;
    assert_eq!(second.matches("<code>order_view</code>").count(), 50);
    let (_, by_order) = get(&gateway, Some(&admin), "/office/audit?order=48213097").await;
    assert_eq!(by_order.matches("<code>order_comment</code>").count(), 3);
    let (_, by_nobody) = get(
        &gateway,
        Some(&admin),
        &format!("/office/audit?person={}", Uuid::now_v7()),
    )
    .await;
    assert!(by_nobody.contains("No entries."));

    let response = browser()
        .get(gateway.url("/office/audit.csv?order=48213097"))
        .headers(headers(&gateway, Some(&admin), "en"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let body = response.bytes().await.unwrap();
    assert!(body.starts_with(&[0xEF, 0xBB, 0xBF]), "UTF-8 with a BOM");
    let text = String::from_utf8(body.to_vec()).unwrap();
    let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[0].ends_with(
            "id,at,person,email,action,order_number,order_id,subject,detail,remote_addr"
        )
    );
    assert!(
        text.contains("\"'=HYPERLINK(\"\"x\"\"), «лапки»\""),
        "{text}"
    );
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.contains("48213097") && l.contains("Ada Admin"))
    );
    assert_eq!(audited(&gateway, "audit_export").await, 1);

    // At volume: some 30,000 entries stream out whole, in many chunks, none lost.
    for _ in 0..8 {
        sqlx::query(
            "INSERT INTO staff_audit (account_id, action, order_id, detail, at)
             SELECT account_id, 'bulk', order_id, detail, at FROM staff_audit",
        )
        .execute(&gateway.db)
        .await
        .unwrap();
    }
    let mut response = browser()
        .get(gateway.url("/office/audit.csv"))
        .headers(headers(&gateway, Some(&admin), "en"))
        .send()
        .await
        .unwrap();
    let (mut chunks, mut lines) = (0, 0);
    while let Some(chunk) = response.chunk().await.unwrap() {
        chunks += 1;
        lines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM staff_audit")
        .fetch_one(&gateway.db)
        .await
        .unwrap();
    assert!(total > 30_000, "{total}");
    // Each entry one line (none has a line break in it), plus the header.
    assert_eq!(lines as i64, total + 1);
    assert!(
        chunks > 10,
        "streamed in pieces, not built whole: {chunks} chunks"
    );
    gateway.finish().await;
}

/// An admin route: the act it performs, method, path, form.
type AdminRoute = (Act, &'static str, String, Vec<(&'static str, &'static str)>);

/// Every admin route, for each staff role, answers as the matrix says: refused (403)
/// exactly where `permissions::allows` says no.
#[tokio::test]
async fn the_matrix_holds_on_every_admin_route() {
    let gateway = Gateway::start().await;
    let people = [
        (
            Role::Admin,
            staff(&gateway, "ada@example.com", "Ada", Role::Admin).await,
        ),
        (
            Role::Manager,
            staff(&gateway, "maria@example.com", "Maria", Role::Manager).await,
        ),
        (
            Role::Executor,
            staff(&gateway, "ivan@example.com", "Ivan", Role::Executor).await,
        ),
    ];
    let (victim, _) = staff(&gateway, "petro@example.com", "Petro", Role::Executor).await;
    let victim = victim.to_string();
    let routes: Vec<AdminRoute> = vec![
        (Act::ManageStaff, "GET", "/office/staff".into(), vec![]),
        (
            Act::ManageStaff,
            "POST",
            "/office/staff/invite".into(),
            vec![("name", "X"), ("email", "bad"), ("role", "executor")],
        ),
        (
            Act::ManageStaff,
            "POST",
            format!("/office/staff/{victim}/role"),
            vec![("role", "executor")],
        ),
        (
            Act::ManageStaff,
            "POST",
            format!("/office/staff/{victim}/active"),
            vec![("active", "1")],
        ),
        (
            Act::ManageStaff,
            "POST",
            format!("/office/staff/{victim}/reset"),
            vec![],
        ),
        (
            Act::EditCatalogue,
            "GET",
            "/office/catalogue".into(),
            vec![],
        ),
        (
            Act::EditCatalogue,
            "GET",
            "/office/catalogue/services/new".into(),
            vec![],
        ),
        (
            Act::EditCatalogue,
            "GET",
            "/office/catalogue/services/2".into(),
            vec![],
        ),
        (
            Act::EditCatalogue,
            "POST",
            "/office/catalogue/services".into(),
            vec![("name_uk", "")],
        ),
        (
            Act::EditCatalogue,
            "POST",
            "/office/catalogue/services/2".into(),
            vec![("name_uk", "")],
        ),
        (
            Act::EditCatalogue,
            "POST",
            "/office/catalogue/services/999/remove".into(),
            vec![],
        ),
        (
            Act::EditCatalogue,
            "GET",
            "/office/catalogue/categories/new".into(),
            vec![],
        ),
        (
            Act::EditCatalogue,
            "GET",
            "/office/catalogue/categories/1".into(),
            vec![],
        ),
        (
            Act::EditCatalogue,
            "POST",
            "/office/catalogue/categories".into(),
            vec![("name_uk", "")],
        ),
        (
            Act::EditCatalogue,
            "POST",
            "/office/catalogue/categories/1".into(),
            vec![("name_uk", "")],
        ),
        (
            Act::EditCatalogue,
            "POST",
            "/office/catalogue/categories/999/remove".into(),
            vec![],
        ),
        (
            Act::ManageResources,
            "GET",
            "/office/resources".into(),
            vec![],
        ),
        (
            Act::ManageResources,
            "GET",
            "/office/resources/new".into(),
            vec![],
        ),
        (
            Act::ManageResources,
            "GET",
            "/office/resources/1".into(),
            vec![],
        ),
        (
            Act::ManageResources,
            "POST",
            "/office/resources".into(),
            vec![("name", "")],
        ),
        (
            Act::ManageResources,
            "POST",
            "/office/resources/1".into(),
            vec![("name", "")],
        ),
        (
            Act::ManageResources,
            "POST",
            "/office/resources/1/active".into(),
            vec![("active", "maybe")],
        ),
        (Act::EditBusiness, "GET", "/office/business".into(), vec![]),
        (
            Act::EditBusiness,
            "POST",
            "/office/business".into(),
            vec![("email", "bad")],
        ),
        (Act::SeeAudit, "GET", "/office/audit".into(), vec![]),
        (Act::SeeAudit, "GET", "/office/audit.csv".into(), vec![]),
    ];
    let mut cells = 0;
    for (role, (_, token)) in &people {
        for (act, method, path, form) in &routes {
            let status = if *method == "GET" {
                get(&gateway, Some(token), path).await.0
            } else {
                post(&gateway, Some(token), "en", path, form).await.0
            };
            let allowed = permissions::allows(*role, *act, Whose::Unassigned, Policy::default());
            assert_eq!(
                status != StatusCode::FORBIDDEN,
                allowed,
                "{role:?} {act:?} {method} {path}: {status}"
            );
            cells += 1;
        }
    }
    assert_eq!(cells, 3 * routes.len());
    // The schedules and the calendar (`gate::schedule`): admins and managers edit every
    // resource's; an executor who is not a resource is refused them all.
    // (method, path, form fields)
    type Route = (
        &'static str,
        &'static str,
        Vec<(&'static str, &'static str)>,
    );
    let schedule_routes: [Route; 6] = [
        ("GET", "/office/calendar?resource=1", vec![]),
        ("GET", "/office/schedule/1", vec![]),
        (
            "POST",
            "/office/schedule/1",
            vec![("hours_1", "25:00-26:00")],
        ),
        (
            "POST",
            "/office/calendar/book",
            vec![("resource", "1"), ("slot", "")],
        ),
        (
            "POST",
            "/office/calendar/bookings/00000000-0000-0000-0000-000000000000/move",
            vec![("starts", "x")],
        ),
        (
            "POST",
            "/office/calendar/bookings/00000000-0000-0000-0000-000000000000/cancel",
            vec![],
        ),
    ];
    for (role, (_, token)) in &people {
        for (method, path, form) in &schedule_routes {
            let status = if *method == "GET" {
                get(&gateway, Some(token), path).await.0
            } else {
                post(&gateway, Some(token), "en", path, form).await.0
            };
            let allowed = matches!(role, Role::Admin | Role::Manager);
            // A booking that does not exist is "not found" before anyone's rights are asked.
            let expected_refusal = !allowed && !path.contains("/bookings/");
            assert_eq!(
                status == StatusCode::FORBIDDEN,
                expected_refusal,
                "{role:?} {method} {path}: {status}"
            );
            assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{method} {path}");
        }
    }
    // A customer's session is refused everything here.
    let (_, customer) = gateway.customer("olena@example.com").await;
    assert_eq!(
        get(&gateway, Some(&customer), "/office/staff").await.0,
        StatusCode::FORBIDDEN
    );
    // The navigation shows each role only what it may open.
    let (_, as_manager) = get(&gateway, Some(&people[1].1.1), "/office").await;
    assert!(
        as_manager.contains("href=\"/office/catalogue\"")
            && as_manager.contains("href=\"/office/resources\"")
            && !as_manager.contains("href=\"/office/staff\"")
    );
    let (_, as_executor) = get(&gateway, Some(&people[2].1.1), "/office").await;
    assert!(!as_executor.contains("href=\"/office/catalogue\""));
    assert!(!as_executor.contains("href=\"/office/resources\""));
    gateway.finish().await;
}
