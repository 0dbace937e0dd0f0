//! The customer portal's pages over HTTP: registration with its errors next to the fields
//! in the browser's language, signing in and out, the order list (mine only, newest first,
//! keyset paged), placing an order first and streaming its files one by one, every order
//! route refusing someone else's order, the profile, and both links with Telegram.

use bureau_accounts::{Role, create_account};
use bureau_platform::identity::{self, JoinOutcome, LinkToken, TelegramIdentity};
use proto_events::{Event, OrderStatus};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::*;

/// A browser: no redirects followed, so each answer can be checked.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(DEADLINE)
        .build()
        .unwrap()
}

/// What a browser sends with a form of our own pages, in `language`.
fn headers(gateway: &Gateway, token: Option<&str>, language: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(token) = token {
        headers.insert(
            "cookie",
            HeaderValue::from_str(&format!("bureau_session={token}")).unwrap(),
        );
    }
    headers.insert("origin", HeaderValue::from_str(&gateway.url("")).unwrap());
    headers.insert("accept-language", HeaderValue::from_str(language).unwrap());
    headers
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
    language: &str,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    browser()
        .post(gateway.url(path))
        .headers(headers(gateway, token, language))
        .form(form)
        .send()
        .await
        .unwrap()
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// A stored file of `order_id`, as the persistence worker records it.
async fn stored_file(gateway: &Gateway, order_id: Uuid, purpose: &str) -> Uuid {
    let file_id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO order_files (id, order_id, purpose, original_name, source, state, object_key, size_bytes, \
                                  content_type, sha256, received_at, settled_at) \
         VALUES (?, ?, ?, 'result.pdf', 'web', 'stored', ?, 10, 'application/pdf', ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
    )
    .bind(file_id)
    .bind(order_id)
    .bind(purpose)
    .bind(format!("orders/{order_id}/{file_id}/result.pdf"))
    .bind("ab".repeat(32))
    .execute(&gateway.db)
    .await
    .unwrap();
    file_id
}

async fn quote(gateway: &Gateway, order_id: Uuid) {
    sqlx::query(
        "INSERT INTO order_quotes (event_id, order_id, amount_minor, currency, note, quoted_at) \
         VALUES (?, ?, 125000, 'UAH', 'two pages', UTC_TIMESTAMP(6))",
    )
    .bind(Uuid::now_v7())
    .bind(order_id)
    .execute(&gateway.db)
    .await
    .unwrap();
}

#[tokio::test]
async fn registration_tells_every_broken_rule_next_to_its_field_in_the_readers_language() {
    let gateway = Gateway::start().await;
    let bad = [
        ("name", ""),
        ("email", "ann@example.com"),
        ("phone", "12ab"),
        ("password", "1234567"),
    ];
    let response = post(&gateway, None, "uk-UA,uk;q=0.9", "/portal/register", &bad).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    for text in [
        "lang=\"uk\"",
        "id=\"name-error\">Введіть ваше ім&#39;я.",
        "id=\"phone-error\">Введіть номер телефону",
        "Пароль закороткий",
        "Пароль складається лише з цифр.",
        "value=\"ann@example.com\"",
    ] {
        assert!(page.contains(text), "{text} in {page}");
    }
    assert!(!page.contains("email-error"), "the e-mail was fine");
    let response = post(&gateway, None, "en", "/portal/register", &bad).await;
    let page = response.text().await.unwrap();
    assert!(page.contains("This password is only digits."), "{page}");

    let good = [
        ("name", "Ann Koval"),
        ("email", "Ann@Example.com"),
        ("phone", "+380 67 123 4567"),
        ("password", PASSWORD),
    ];
    let response = post(&gateway, None, "uk", "/portal/register", &good).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("Дякуємо."), "{page}");
    let (phone, language): (Option<String>, String) = sqlx::query_as(
        "SELECT c.phone, c.language FROM customers c JOIN web_accounts a ON a.id = c.web_account_id \
         WHERE a.email = 'ann@example.com'",
    )
    .fetch_one(&gateway.db)
    .await
    .unwrap();
    assert_eq!(phone.as_deref(), Some("+380 67 123 4567"));
    assert_eq!(language, "uk");
    // The same address again: the same answer, no second account, nothing revealed.
    let again = post(&gateway, None, "uk", "/portal/register", &good).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert!(again.text().await.unwrap().contains("Дякуємо."));

    let wrong = post(
        &gateway,
        None,
        "en",
        "/portal/sign-in",
        &[
            ("email", "ann@example.com"),
            ("password", "wrong password!"),
        ],
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("Wrong e-mail or password.")
    );
    let signed = post(
        &gateway,
        None,
        "en",
        "/portal/sign-in",
        &[("email", "ann@example.com"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&signed), "/portal/orders");
    let token = session_token(&signed);
    let (status, page) = get(&gateway, Some(&token), "/portal/orders").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Ann Koval") && page.contains("You have no orders yet."),
        "{page}"
    );
    let out = post(&gateway, Some(&token), "en", "/portal/sign-out", &[]).await;
    assert_eq!(location(&out), "/portal/sign-in");
    let (status, _) = get(&gateway, Some(&token), "/portal/orders").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the session ended");

    // Staff work in the back office, not here.
    create_account(
        &gateway.db,
        "boss@example.com",
        PASSWORD,
        "Boss",
        Role::Manager,
    )
    .await
    .unwrap();
    let staff = post(
        &gateway,
        None,
        "en",
        "/portal/sign-in",
        &[("email", "boss@example.com"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(staff.status(), StatusCode::FORBIDDEN);
    gateway.finish().await;
}

#[tokio::test]
async fn pages_are_strict_and_forged_forms_are_refused() {
    let gateway = Gateway::start().await;
    let (_, token) = gateway.customer("ann@example.com").await;
    let response = browser()
        .get(gateway.url("/portal/sign-in"))
        .header("accept-language", "uk-UA,uk;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap();
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let page = response.text().await.unwrap();
    assert!(
        page.contains("lang=\"uk\"") && page.contains("Увійти"),
        "{page}"
    );
    assert!(!page.contains("<script>"), "no inline script");

    let forged = browser()
        .post(gateway.url("/portal/orders"))
        .header("cookie", format!("bureau_session={token}"))
        .header("origin", "https://evil.example")
        .form(&[("text", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let headerless = browser()
        .post(gateway.url("/portal/orders"))
        .header("cookie", format!("bureau_session={token}"))
        .form(&[("text", "no origin")])
        .send()
        .await
        .unwrap();
    assert_eq!(headerless.status(), StatusCode::FORBIDDEN);
    gateway.finish().await;
}

#[tokio::test]
async fn my_orders_are_mine_newest_first_and_paged_by_keyset() {
    let gateway = Gateway::start().await;
    let (ann, token) = gateway.customer("ann@example.com").await;
    let (bob, _) = gateway.customer("bob@example.com").await;
    for n in 0..23 {
        gateway
            .insert_order(
                ann,
                &format!("5100{n:04}"),
                &format!("order {n}"),
                OrderStatus::InProgress,
            )
            .await;
    }
    gateway
        .insert_order(bob, "52000000", "bob's", OrderStatus::Quoted)
        .await;
    let (status, first) = get(&gateway, Some(&token), "/portal/orders").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first.matches("class=\"order-row\"").count(), 20);
    let newest = first.find("№51000022").expect("the newest");
    let older = first.find("№51000003").expect("the twentieth");
    assert!(newest < older, "newest first");
    assert!(!first.contains("52000000"), "never someone else's");
    let href = first
        .split("href=\"")
        .find_map(|rest| rest.strip_prefix("/portal/orders?after="))
        .map(|rest| rest.split('"').next().unwrap().replace("&#38;", "&"))
        .expect("an Older link");
    let (_, second) = get(
        &gateway,
        Some(&token),
        &format!("/portal/orders?after={href}"),
    )
    .await;
    assert_eq!(second.matches("class=\"order-row\"").count(), 3);
    assert!(second.contains("№51000000") && !second.contains("№51000003"));
    let (status, _) = get(&gateway, Some(&token), "/portal/orders?after=junk").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    gateway.finish().await;
}

/// Every order route, for the order's owner and for another customer: the other gets
/// exactly "no such order" and nothing is published in the owner's order's name.
#[tokio::test]
async fn no_route_reaches_another_customers_order() {
    let gateway = Gateway::start().await;
    let (owner, owner_token) = gateway.customer("owner@example.com").await;
    let (_, stranger) = gateway.customer("stranger@example.com").await;
    let order_id = gateway
        .insert_order(
            owner,
            "53000001",
            "Translate my diploma",
            OrderStatus::Quoted,
        )
        .await;
    sqlx::query("UPDATE orders SET status_version = 2 WHERE id = ?")
        .bind(order_id)
        .execute(&gateway.db)
        .await
        .unwrap();
    quote(&gateway, order_id).await;
    let result = stored_file(&gateway, order_id, "result").await;
    let (_connection, mut events) = gateway.observe_events().await;

    let base = "/portal/orders/53000001";
    let file = format!("{base}/files/{result}");
    for path in [base, file.as_str()] {
        let (status, page) = get(&gateway, Some(&stranger), path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!page.contains("Translate my diploma"), "{path}");
    }
    let live = browser()
        .get(gateway.url("/api/orders/53000001/live"))
        .header("cookie", format!("bureau_session={stranger}"))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), StatusCode::NOT_FOUND);
    for (path, form) in [
        (format!("{base}/message"), vec![("text", "hello")]),
        (format!("{base}/quote/accept"), vec![]),
        (format!("{base}/quote/decline"), vec![]),
        (format!("{base}/cancel"), vec![("version", "2")]),
    ] {
        let response = post(&gateway, Some(&stranger), "en", &path, &form).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let upload = browser()
        .post(gateway.url(&format!("{base}/files")))
        .headers(headers(&gateway, Some(&stranger), "en"))
        .header("accept", "application/json")
        .multipart(reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"%PDF-1.4 stranger".to_vec()).file_name("x.pdf"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), StatusCode::NOT_FOUND);

    // The owner: the page with the price to answer, the result to download, and each
    // action published.
    let (status, page) = get(&gateway, Some(&owner_token), base).await;
    assert_eq!(status, StatusCode::OK);
    for text in [
        "Translate my diploma",
        "1250.00 UAH",
        "accept-quote",
        "result.pdf",
        "/api/orders/53000001/live",
    ] {
        assert!(page.contains(text), "{text} in {page}");
    }
    let (status, _) = get(&gateway, Some(&owner_token), &file).await;
    assert!(status.is_redirection(), "{status}");
    let sent = post(
        &gateway,
        Some(&owner_token),
        "en",
        &format!("{base}/message"),
        &[("text", "When ready?")],
    )
    .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let event = next_event(&mut events).await;
    let Event::OrderMessagePosted(message) = event.payload else {
        panic!("the owner's message first (nothing of the stranger's): {event:?}")
    };
    assert_eq!(
        (message.order_id, message.text.as_str()),
        (order_id, "When ready?")
    );
    let accepted = post(
        &gateway,
        Some(&owner_token),
        "en",
        &format!("{base}/quote/accept"),
        &[],
    )
    .await;
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    assert!(location(&accepted).starts_with("/portal/orders/53000001?request="));
    let Event::OrderStatusChangeRequested(request) = next_event(&mut events).await.payload else {
        panic!("a status change request")
    };
    assert_eq!(
        (request.to, request.expected_version),
        (OrderStatus::Accepted, 2)
    );
    // Cancelling a quoted order is the customer's right; an order in progress is not.
    let cancel = post(
        &gateway,
        Some(&owner_token),
        "en",
        &format!("{base}/cancel"),
        &[("version", "2")],
    )
    .await;
    assert_eq!(cancel.status(), StatusCode::SEE_OTHER);
    let Event::OrderStatusChangeRequested(request) = next_event(&mut events).await.payload else {
        panic!("a status change request")
    };
    assert_eq!(request.to, OrderStatus::Cancelled);
    gateway
        .insert_order(owner, "53000002", "busy", OrderStatus::InProgress)
        .await;
    let refused = post(
        &gateway,
        Some(&owner_token),
        "uk",
        "/portal/orders/53000002/cancel",
        &[("version", "1")],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("вже не можна скасувати")
    );
    gateway.finish().await;
}

#[tokio::test]
async fn an_order_is_placed_first_and_its_files_follow_one_by_one() {
    // Files up to 4 KiB, so that one over it is refused while it streams.
    let Some((gateway, store)) = gateway_with_store(|settings| {
        settings.web_gateway.max_upload_bytes = 4096;
    })
    .await
    else {
        return;
    };
    let (ann, token) = gateway.customer("ann@example.com").await;
    let (_connection, mut events) = gateway.observe_events().await;
    let json_post = |path: &str| {
        browser()
            .post(gateway.url(path))
            .headers(headers(&gateway, Some(&token), "uk"))
            .header("accept", "application/json")
    };
    // A service that is not offered is refused next to its field, in the reader's language.
    let refused = json_post("/portal/orders")
        .form(&[
            ("service", "no.such.service"),
            ("text", "x"),
            ("files", "0"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["errors"]["service"], "Оберіть послугу зі списку.");

    let placed = json_post("/portal/orders")
        .form(&[
            ("service", "apostille"),
            ("text", "Два документи"),
            ("files", "2"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(placed.status(), StatusCode::CREATED);
    let body: Value = placed.json().await.unwrap();
    let number = body["order_number"].as_str().unwrap().to_owned();
    let files_url = body["files_url"].as_str().unwrap().to_owned();
    assert_eq!(files_url, format!("/portal/orders/{number}/files"));
    let Event::OrderCreated(created) = next_event(&mut events).await.payload else {
        panic!("OrderCreated first")
    };
    assert_eq!(
        (
            created.file_count,
            created.service_code.as_deref(),
            created.text.as_str()
        ),
        (2, Some("apostille"), "Два документи")
    );
    // What the persistence worker writes; the upload waits for it when it comes first.
    let (customer_id,): (Uuid,) =
        sqlx::query_as("SELECT id FROM customers WHERE web_account_id = ?")
            .bind(ann)
            .fetch_one(&gateway.db)
            .await
            .unwrap();
    sqlx::query(
        "INSERT INTO orders (id, order_number, customer_id, channel, service_code, body, status, status_version, \
                             expected_files, created_at, updated_at) \
         VALUES (?, ?, ?, 'web', 'apostille', ?, 'awaiting_confirmation', 1, 2, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
    )
    .bind(created.order_id)
    .bind(&number)
    .bind(customer_id)
    .bind(&created.text)
    .execute(&gateway.db)
    .await
    .unwrap();

    let file = |name: &str, bytes: Vec<u8>| {
        reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
        )
    };
    let first = json_post(&files_url)
        .multipart(file("one.pdf", b"%PDF-1.4 first file".to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let Event::FileReceived(received) = next_event(&mut events).await.payload else {
        panic!("FileReceived")
    };
    assert_eq!(
        (received.order_id, received.original_name.as_str()),
        (created.order_id, "one.pdf")
    );
    // A second file whose upload is refused halfway (over the limit) loses nothing: the
    // order and the first file stay, and the file is sent again alone.
    let mut large = b"%PDF-1.4 ".to_vec();
    large.extend(std::iter::repeat_n(b'x', 8192));
    let too_large = json_post(&files_url)
        .multipart(file("two.pdf", large))
        .send()
        .await
        .unwrap();
    assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = too_large.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "Файл завеликий: кожен файл може мати щонайбільше 4 KiB."
    );
    let retried = json_post(&files_url)
        .multipart(file("two.pdf", b"%PDF-1.4 second file".to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), StatusCode::CREATED);
    let Event::FileReceived(second) = next_event(&mut events).await.payload else {
        panic!("FileReceived")
    };
    assert_eq!(second.original_name, "two.pdf");
    assert_eq!(
        staged_keys(&store).await.len(),
        2,
        "both files staged, nothing else"
    );

    // A closed order takes no more files.
    sqlx::query("UPDATE orders SET status = 'delivered' WHERE id = ?")
        .bind(created.order_id)
        .execute(&gateway.db)
        .await
        .unwrap();
    let closed = json_post(&files_url)
        .multipart(file("late.pdf", b"%PDF-1.4 late".to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), StatusCode::CONFLICT);
    remove_bucket(&store).await;
    gateway.finish().await;
}

#[tokio::test]
async fn the_profile_changes_and_links_telegram_as_one_customer() {
    let gateway = Gateway::start_with(|settings| {
        settings.telegram.bot_username = "bureau_test_bot".into();
    })
    .await;
    let (ann, token) = gateway.customer("ann@example.com").await;
    gateway
        .insert_order(
            ann,
            "54000001",
            "a web order",
            OrderStatus::AwaitingConfirmation,
        )
        .await;
    // Ann also ordered through the bot, as Telegram user 5400, before linking.
    let bot_customer = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO customers (id, display_name, language, telegram_user_id, telegram_chat_id, created_at, updated_at) \
         VALUES (?, 'Ann in Telegram', 'uk', 5400, 5400, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
    )
    .bind(bot_customer)
    .execute(&gateway.db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO orders (id, order_number, customer_id, channel, body, status, status_version, expected_files, created_at, updated_at) \
         VALUES (?, '54000002', ?, 'telegram', 'a bot order', 'accepted', 2, 0, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
    )
    .bind(Uuid::now_v7())
    .bind(bot_customer)
    .execute(&gateway.db)
    .await
    .unwrap();

    let bad = post(
        &gateway,
        Some(&token),
        "en",
        "/portal/profile",
        &[
            ("name", "Ann"),
            ("phone", "call me"),
            ("language", "en"),
            ("notify_by", "email"),
        ],
    )
    .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.unwrap().contains("Enter a phone number"));
    let saved = post(
        &gateway,
        Some(&token),
        "en",
        "/portal/profile",
        &[
            ("name", "Ann K."),
            ("phone", "+380 50 000 0000"),
            ("language", "en"),
            ("notify_by", "email"),
        ],
    )
    .await;
    assert_eq!(saved.status(), StatusCode::OK);
    let (name, language, notify): (String, String, String) = sqlx::query_as(
        "SELECT display_name, language, CAST(notify_by AS CHAR) FROM customers WHERE web_account_id = ?",
    )
    .bind(ann)
    .fetch_one(&gateway.db)
    .await
    .unwrap();
    assert_eq!(
        (name.as_str(), language.as_str(), notify.as_str()),
        ("Ann K.", "en", "email")
    );

    let page = post(
        &gateway,
        Some(&token),
        "en",
        "/portal/profile/telegram",
        &[],
    )
    .await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    let start = page
        .split("https://t.me/bureau_test_bot?start=")
        .nth(1)
        .expect("the bot's start link")
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    assert!(page.contains(&format!("/start {start}")));
    let token_hash: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM customer_link_tokens WHERE token_hash = UNHEX(SHA2(?, 256))",
    )
    .bind(&start)
    .fetch_one(&gateway.db)
    .await
    .unwrap();
    assert_eq!(token_hash, 1, "stored hashed");
    // What the bot does with `/start <token>`.
    let identity = TelegramIdentity {
        user_id: 5400,
        chat_id: 5400,
        username: Some("ann_k".into()),
    };
    let link = LinkToken::from_presented(&start).unwrap();
    let joined = identity::join_by_link(&gateway.db, &link, &identity)
        .await
        .unwrap();
    assert!(
        matches!(
            joined,
            JoinOutcome::Joined {
                moved_orders: 1,
                ..
            }
        ),
        "{joined:?}"
    );
    let (_, profile) = get(&gateway, Some(&token), "/portal/profile").await;
    assert!(profile.contains("@ann_k"), "{profile}");
    let (_, orders) = get(&gateway, Some(&token), "/portal/orders").await;
    assert!(
        orders.contains("54000001") && orders.contains("54000002"),
        "both channels: {orders}"
    );
    let (status, bot_order) = get(&gateway, Some(&token), "/portal/orders/54000002").await;
    assert_eq!(status, StatusCode::OK);
    assert!(bot_order.contains("a bot order"));

    // The bot's `/web`: a page that asks, then signs the same account in, once.
    let web = identity::issue_web_sign_in(&gateway.db, &identity)
        .await
        .unwrap();
    let path = format!("/portal/link/{}", web.expose());
    let (status, ask) = get(&gateway, None, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ask.contains("Ann K."), "{ask}");
    let signed = post(&gateway, None, "en", &path, &[]).await;
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    let from_bot = session_token(&signed);
    let (status, orders) = get(&gateway, Some(&from_bot), "/portal/orders").await;
    assert_eq!(status, StatusCode::OK);
    assert!(orders.contains("54000002"));
    let again = post(&gateway, None, "en", &path, &[]).await;
    assert_eq!(again.status(), StatusCode::GONE);

    // A Telegram user without a web account registers from `/web`, joined at once.
    let newcomer = TelegramIdentity {
        user_id: 5500,
        chat_id: 5500,
        username: None,
    };
    let web = identity::issue_web_sign_in(&gateway.db, &newcomer)
        .await
        .unwrap();
    let (_, form) = get(&gateway, None, &format!("/portal/link/{}", web.expose())).await;
    assert!(
        form.contains(&format!("name=\"link\" value=\"{}\"", web.expose())),
        "{form}"
    );
    let registered = post(
        &gateway,
        None,
        "en",
        "/portal/register",
        &[
            ("name", "New Comer"),
            ("email", "new@example.com"),
            ("phone", ""),
            ("password", PASSWORD),
            ("link", web.expose()),
        ],
    )
    .await;
    assert_eq!(registered.status(), StatusCode::SEE_OTHER);
    let linked: Option<i64> = sqlx::query_scalar(
        "SELECT c.telegram_user_id FROM customers c JOIN web_accounts a ON a.id = c.web_account_id WHERE a.email = 'new@example.com'",
    )
    .fetch_one(&gateway.db)
    .await
    .unwrap();
    assert_eq!(linked, Some(5500));
    gateway.finish().await;
}

/// Reads the stream until an event named `name` has arrived; returns everything read.
async fn read_until(response: &mut reqwest::Response, name: &str) -> String {
    read_until_within(response, name, DEADLINE).await
}

/// [`read_until`] with its own deadline.
async fn read_until_within(
    response: &mut reqwest::Response,
    name: &str,
    deadline: std::time::Duration,
) -> String {
    let mut seen = String::new();
    let wanted = format!("event: {name}\n");
    tokio::time::timeout(deadline, async {
        while !seen.contains(&wanted) {
            let chunk = response.chunk().await.unwrap().expect("the stream goes on");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no `{name}` event; read {seen:?}"));
    seen
}

#[tokio::test]
async fn the_order_pages_live_stream_says_when_staff_write_and_starts_again_from_the_status() {
    let gateway = Gateway::start().await;
    let (owner, token) = gateway.customer("owner@example.com").await;
    let order_id = gateway
        .insert_order(owner, "56000001", "live", OrderStatus::InProgress)
        .await;
    create_account(
        &gateway.db,
        "boss@example.com",
        PASSWORD,
        "Boss",
        Role::Manager,
    )
    .await
    .unwrap();
    let staff = gateway.log_in("boss@example.com").await;
    let mut live = reqwest::Client::new()
        .get(gateway.url("/api/orders/56000001/live"))
        .header("cookie", format!("bureau_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), StatusCode::OK);
    let first = read_until(&mut live, "status").await;
    assert!(first.contains("id: 1\n"), "{first}");
    let reply = post(
        &gateway,
        Some(&staff),
        "en",
        &format!("/office/orders/{order_id}/reply"),
        &[("text", "Ready tomorrow")],
    )
    .await;
    assert!(reply.status().is_redirection(), "{}", reply.status());
    // No persistence worker runs here: the hub waits up to 15 s for the message's row
    // (`http/live.rs`, RECORD_WAIT) before it announces the reply anyway.
    read_until_within(
        &mut live,
        "reply",
        DEADLINE + std::time::Duration::from_secs(15),
    )
    .await;
    drop(live);
    // A browser reconnecting sends Last-Event-ID; the stream starts from the current status.
    let mut again = reqwest::Client::new()
        .get(gateway.url("/api/orders/56000001/live"))
        .header("cookie", format!("bureau_session={token}"))
        .header("last-event-id", "1")
        .send()
        .await
        .unwrap();
    let first = read_until(&mut again, "status").await;
    assert!(first.contains("\"status\":\"in_progress\""), "{first}");
    drop(again);
    gateway.finish().await;
}

/// The form of a cart: `(code, quantity, shown price)` lines, then the other fields.
fn cart_fields<'a>(
    lines: &'a [(&'a str, &'a str, &'a str)],
    rest: &[(&'a str, &'a str)],
) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    for (code, quantity, shown) in lines {
        fields.push((format!("qty.{code}"), (*quantity).to_owned()));
        fields.push((format!("shown.{code}"), (*shown).to_owned()));
    }
    fields.extend(rest.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    fields
}

#[tokio::test]
async fn the_cart_is_priced_on_the_server_and_a_changed_price_stops_the_order() {
    let gateway = Gateway::start().await;
    let (_, token) = gateway.customer("carla@example.com").await;
    let (_connection, mut events) = gateway.observe_events().await;
    let send = |path: &str, language: &str, json: bool, fields: &[(String, String)]| {
        let mut request = browser()
            .post(gateway.url(path))
            .headers(headers(&gateway, Some(&token), language))
            .form(fields);
        if json {
            request = request.header("accept", "application/json");
        }
        request.send()
    };

    // Add two diplomas, then a notarisation: each answer is the page with the cart priced
    // from the price list (450.00 UAH a page, 300.00 UAH an item).
    let added = send(
        "/portal/orders/cart",
        "en",
        false,
        &cart_fields(
            &[],
            &[
                ("op", "add"),
                ("service", "translation.diploma"),
                ("add_quantity", "2"),
            ],
        ),
    )
    .await
    .unwrap();
    assert_eq!(added.status(), StatusCode::OK);
    let page = added.text().await.unwrap();
    assert!(
        page.contains("name=\"qty.translation.diploma\" value=\"2\""),
        "{page}"
    );
    assert!(page.contains("value=\"45000:UAH:page\""), "{page}");
    assert!(page.contains("id=\"cart-total\">900.00 UAH"), "{page}");
    let two = cart_fields(
        &[("translation.diploma", "2", "45000:UAH:page")],
        &[
            ("op", "add"),
            ("service", "notarisation"),
            ("add_quantity", "1"),
        ],
    );
    let page = send("/portal/orders/cart", "en", false, &two)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"cart-total\">1200.00 UAH"), "{page}");

    // Quantities of 0 or a million are refused next to the line, in the reader's language;
    // the cart keeps what was typed and nothing is ordered.
    for (typed, said) in [
        ("0", "Кількість має бути щонайменше 1."),
        ("1000000", "Кількість може бути щонайбільше 999"),
    ] {
        let fields = cart_fields(
            &[
                ("translation.diploma", typed, "45000:UAH:page"),
                ("notarisation", "1", "30000:UAH:item"),
            ],
            &[("op", "update")],
        );
        let refused = send("/portal/orders/cart", "uk", false, &fields)
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = refused.text().await.unwrap();
        assert!(page.contains(said), "{typed}: {page}");
        assert!(page.contains(&format!("value=\"{typed}\"")), "{page}");
        let mut place = fields.clone();
        place.push(("text".into(), "x".into()));
        let placed = send("/portal/orders", "uk", true, &place).await.unwrap();
        assert_eq!(placed.status(), StatusCode::UNPROCESSABLE_ENTITY, "{typed}");
    }

    // The price list changes while the customer checks out: the order is refused (409) with
    // a clear sentence, nothing is published, and the cart shows the new price.
    sqlx::query(
        "UPDATE catalogue_services SET price_minor = 50000 WHERE code = 'translation.diploma'",
    )
    .execute(&gateway.db)
    .await
    .unwrap();
    let checkout = cart_fields(
        &[
            ("translation.diploma", "2", "45000:UAH:page"),
            ("notarisation", "1", "30000:UAH:item"),
        ],
        &[("text", "Diploma and its notarisation"), ("files", "0")],
    );
    let stale = send("/portal/orders", "en", true, &checkout).await.unwrap();
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let body: Value = stale.json().await.unwrap();
    assert_eq!(body["repriced"], true);
    assert!(
        body["errors"]["cart"]
            .as_str()
            .unwrap()
            .starts_with("Prices changed while you were ordering"),
        "{body}"
    );
    let page = send("/portal/orders", "en", false, &checkout)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("value=\"50000:UAH:page\""), "{page}");
    assert!(page.contains("id=\"cart-total\">1300.00 UAH"), "{page}");

    // Placed with the prices it showed: the items and the total are frozen in the event.
    let fresh = cart_fields(
        &[
            ("translation.diploma", "2", "50000:UAH:page"),
            ("notarisation", "1", "30000:UAH:item"),
        ],
        &[("text", "Diploma and its notarisation"), ("files", "0")],
    );
    let placed = send("/portal/orders", "en", true, &fresh).await.unwrap();
    assert_eq!(placed.status(), StatusCode::CREATED);
    let Event::OrderCreated(created) = next_event(&mut events).await.payload else {
        panic!("OrderCreated, and only after the refused attempts")
    };
    let lines: Vec<(&str, u32, Option<u64>)> = created
        .items
        .iter()
        .map(|i| (i.service_code.as_str(), i.quantity, i.unit_price_minor))
        .collect();
    assert_eq!(
        lines,
        [
            ("translation.diploma", 2, Some(50_000)),
            ("notarisation", 1, Some(30_000))
        ]
    );
    let total = created.total.expect("a frozen total");
    assert_eq!(
        (total.amount_minor, total.currency.as_str()),
        (130_000, "UAH")
    );
    assert_eq!(created.service_code.as_deref(), Some("translation.diploma"));
    gateway.finish().await;
}

#[tokio::test]
async fn api_errors_answer_in_the_customers_language_and_keep_their_codes() {
    let gateway = Gateway::start_with(|settings| {
        settings.web_gateway.quotas.open_orders = 1;
    })
    .await;
    let http = &gateway.http;
    let weak = json!({"email": "uk@example.com", "password": "123", "display_name": "Оля"});
    let ukrainian = http
        .post(gateway.url("/api/accounts"))
        .header("accept-language", "uk-UA,uk;q=0.9,en;q=0.5")
        .json(&weak)
        .send()
        .await
        .unwrap();
    let (status, code, message) = error_of(ukrainian).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "weak_password")
    );
    assert!(message.starts_with("Пароль закороткий"), "{message}");
    let english = http
        .post(gateway.url("/api/accounts"))
        .json(&weak)
        .send()
        .await
        .unwrap();
    let (_, code, message) = error_of(english).await;
    assert_eq!(code, "weak_password");
    assert!(
        message.starts_with("This password is too short"),
        "{message}"
    );

    let (olena, token) = gateway.customer("olena.uk@example.com").await;
    // The portal's language switch (the cookie) counts as asking.
    let missing = http
        .get(gateway.url("/api/orders/99999999"))
        .bearer_auth(&token)
        .header("cookie", "bureau_lang=uk")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(missing).await,
        (
            StatusCode::NOT_FOUND,
            "not_found".into(),
            "Такого замовлення немає.".into()
        )
    );
    let bad_choice = http
        .patch(gateway.url("/api/accounts/me"))
        .bearer_auth(&token)
        .header("accept-language", "uk")
        .json(&json!({"notify_by": "sms"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(bad_choice).await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_notify_by".into(),
            "notify_by — одне з: auto, telegram або email.".into()
        )
    );

    // A quota refusal, from the API and from the portal page's script.
    gateway
        .insert_order(olena, "55000001", "open", OrderStatus::Accepted)
        .await;
    let over = http
        .post(gateway.url("/api/orders"))
        .bearer_auth(&token)
        .header("accept-language", "uk")
        .multipart(reqwest::multipart::Form::new().text("text", "one more"))
        .send()
        .await
        .unwrap();
    let (status, code, message) = error_of(over).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "quota_open_orders")
    );
    assert!(message.contains("1 відкритих замовлень"), "{message}");
    let from_page = browser()
        .post(gateway.url("/portal/orders"))
        .headers(headers(&gateway, Some(&token), "uk"))
        .header("accept", "application/json")
        .form(&[("text", "one more"), ("files", "0")])
        .send()
        .await
        .unwrap();
    assert_eq!(from_page.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = from_page.json().await.unwrap();
    assert_eq!(body["error"]["code"], "quota_open_orders");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("відкритих замовлень"),
        "{body}"
    );
    gateway.finish().await;
}

#[tokio::test]
async fn notify_by_is_one_rule_and_a_bouncing_address_shows_until_verified_again() {
    let smtp = bureau_test_support::smtp::SmtpDouble::start()
        .await
        .expect("the SMTP double starts");
    let gateway = Gateway::start_with(|settings| smtp.configure(&mut settings.mail)).await;
    let (ann, token) = gateway.customer("ann.rule@example.com").await;
    let me = || async {
        let answer = gateway
            .http
            .get(gateway.url("/api/accounts/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        answer.json::<Value>().await.unwrap()
    };
    // Chosen in the API, the page shows it; unverified, "email" reaches nobody yet.
    let changed = gateway
        .http
        .patch(gateway.url("/api/accounts/me"))
        .bearer_auth(&token)
        .json(&json!({"notify_by": "email"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    let profile: Value = changed.json().await.unwrap();
    assert_eq!(
        (
            &profile["notify_by"],
            &profile["notices_go_to"],
            &profile["email_verified"]
        ),
        (&json!("email"), &json!("nowhere"), &json!(false))
    );
    let (_, page) = get(&gateway, Some(&token), "/portal/profile").await;
    assert!(page.contains("<option value=\"email\" selected>"), "{page}");
    assert!(page.contains("id=\"email-unverified\""), "{page}");
    // The page refuses what the API refuses, next to the field.
    let refused = post(
        &gateway,
        Some(&token),
        "en",
        "/portal/profile",
        &[
            ("name", "Ann"),
            ("phone", ""),
            ("language", "en"),
            ("notify_by", "sms"),
        ],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("id=\"notify-by-error\">Choose one of the three ways.")
    );

    // Verified: e-mail, by the same rule.
    sqlx::query("UPDATE web_accounts SET email_verified_at = UTC_TIMESTAMP(6) WHERE id = ?")
        .bind(ann)
        .execute(&gateway.db)
        .await
        .unwrap();
    assert_eq!(me().await["notices_go_to"], "email");

    // The mail server refused it (as the notifier records): shown on the page, not used.
    sqlx::query(
        "UPDATE web_accounts SET email_bouncing_at = UTC_TIMESTAMP(6), \
                email_bounce_reason = '550 5.1.1 no such mailbox' WHERE id = ?",
    )
    .bind(ann)
    .execute(&gateway.db)
    .await
    .unwrap();
    let profile = me().await;
    assert_eq!(
        (&profile["email_bouncing"], &profile["notices_go_to"]),
        (&json!(true), &json!("nowhere"))
    );
    let (_, page) = get(&gateway, Some(&token), "/portal/profile").await;
    assert!(
        page.contains("We could not deliver mail to this address"),
        "{page}"
    );
    // "Send the confirmation link": the link, followed, takes the address back into use.
    let sent = post(&gateway, Some(&token), "en", "/portal/profile/verify", &[]).await;
    assert_eq!(sent.status(), StatusCode::OK);
    let link = bureau_test_support::eventually("the confirmation mail", DEADLINE, || async {
        anyhow::Ok(
            smtp.to("ann.rule@example.com")
                .iter()
                .find_map(|mail| mail.link_containing("/account/verify?token=")),
        )
    })
    .await
    .unwrap();
    let at = link.find("/account/verify").unwrap();
    let opened = browser()
        .get(gateway.url(&link[at..]))
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), StatusCode::OK);
    let profile = me().await;
    assert_eq!(
        (&profile["email_bouncing"], &profile["notices_go_to"]),
        (&json!(false), &json!("email"))
    );
    gateway.finish().await;
}

/// An order's booked time on the portal: on its page (in the business's zone, the reader's
/// language) with Reschedule and Cancel when the customer booked it on the web, and "change
/// it in Telegram" when they booked it there; and in the list. A cancelled booking is shown
/// nowhere.
#[tokio::test]
async fn the_booked_time_shows_on_the_order_page_and_in_the_list() {
    let gateway = Gateway::start().await;
    let (ann, token) = gateway.customer("ann@example.com").await;
    let order = gateway
        .insert_order(ann, "53000001", "interpreting", OrderStatus::Accepted)
        .await;
    // Monday 7 December 2037 (before MariaDB's TIMESTAMP ends in 2038), 08:00 UTC: 10:00 in Kyiv (UTC+2 in winter).
    let starts = chrono::DateTime::parse_from_rfc3339("2037-12-07T08:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let booking = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO bookings (id, resource_id, service_code, order_id, booked_by, starts_at, ends_at, created_at)
         VALUES (?, 1, 'interpreting', ?, ?, ?, ?, UTC_TIMESTAMP(6))",
    )
    .bind(booking)
    .bind(order)
    .bind(format!("web:{ann}"))
    .bind(starts)
    .bind(starts + chrono::Duration::hours(1))
    .execute(&gateway.db)
    .await
    .unwrap();

    let (status, page) = get(&gateway, Some(&token), "/portal/orders/53000001").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Booked time: <span id=\"booked-when\">Mon 07.12.2037, 10:00</span>"),
        "{page}"
    );
    assert!(page.contains("id=\"reschedule-booking\""), "{page}");
    assert!(
        page.contains(&format!("data-booking=\"{booking}\"")),
        "{page}"
    );
    assert!(page.contains("/portal/assets/booking.js"), "{page}");
    let (_, list) = get(&gateway, Some(&token), "/portal/orders").await;
    assert!(list.contains("🗓 Mon 07.12.2037, 10:00"), "{list}");

    // In Ukrainian.
    let page = browser()
        .get(gateway.url("/portal/orders/53000001"))
        .headers(headers(&gateway, Some(&token), "uk"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Пн 07.12.2037, 10:00"), "{page}");

    // Booked from Telegram: shown, changed there.
    sqlx::query("UPDATE bookings SET booked_by = 'telegram:501' WHERE id = ?")
        .bind(booking)
        .execute(&gateway.db)
        .await
        .unwrap();
    let (_, page) = get(&gateway, Some(&token), "/portal/orders/53000001").await;
    assert!(page.contains("Mon 07.12.2037, 10:00"), "{page}");
    assert!(!page.contains("id=\"reschedule-booking\""), "{page}");
    assert!(page.contains("/bookings"), "{page}");

    // Cancelled: gone.
    sqlx::query("UPDATE bookings SET status = 'cancelled' WHERE id = ?")
        .bind(booking)
        .execute(&gateway.db)
        .await
        .unwrap();
    let (_, page) = get(&gateway, Some(&token), "/portal/orders/53000001").await;
    assert!(!page.contains("booked-time"), "{page}");
    let (_, list) = get(&gateway, Some(&token), "/portal/orders").await;
    assert!(!list.contains("07.12.2037"), "{list}");
    gateway.finish().await;
}
