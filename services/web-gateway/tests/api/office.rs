//! The back office's pages over HTTP: signing in, the list and its search, the order page,
//! the actions' forms (each publishes its event and is audited), the security headers, the
//! refusal of forged cross-site forms, escaping, and the permission matrix walked cell by
//! cell (route × role × own / unassigned / someone else's order).

use bureau_accounts::{Role, create_account};
use proto_events::{Event, EventKind, OrderStatus};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use uuid::Uuid;
use web_gateway::office::permissions::{self, Act, Policy, Whose};

use crate::helpers::*;

/// A browser: no redirects followed, so each answer can be checked.
pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(DEADLINE)
        .build()
        .unwrap()
}

/// What a browser sends with a form of our own pages (or a forged one, with `origin`).
pub(crate) fn headers(token: &str, origin: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        "cookie",
        HeaderValue::from_str(&format!("bureau_session={token}")).unwrap(),
    );
    headers.insert("origin", HeaderValue::from_str(origin).unwrap());
    headers.insert(
        "accept-language",
        HeaderValue::from_static("en-GB,en;q=0.9"),
    );
    headers
}

impl Gateway {
    pub(crate) fn origin(&self) -> String {
        self.url("")
    }

    pub(crate) async fn staff(&self, email: &str, name: &str, role: Role) -> (Uuid, String) {
        let account = create_account(&self.db, email, PASSWORD, name, role)
            .await
            .unwrap();
        (account, self.log_in(email).await)
    }

    pub(crate) async fn page(&self, token: &str, path: &str) -> (StatusCode, String) {
        let response = browser()
            .get(self.url(path))
            .headers(headers(token, &self.origin()))
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    pub(crate) async fn post_form(
        &self,
        token: &str,
        origin: &str,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        browser()
            .post(self.url(path))
            .headers(headers(token, origin))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn assign_directly(&self, order_id: Uuid, assignee: Option<Uuid>) {
        sqlx::query("UPDATE orders SET assignee_id = ? WHERE id = ?")
            .bind(assignee)
            .bind(order_id)
            .execute(&self.db)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn staff_sign_in_find_an_order_and_open_it_behind_strict_headers() {
    let gateway = Gateway::start().await;
    let (customer, _) = gateway.customer("olena@example.com").await;
    let order_id = gateway
        .insert_order(
            customer,
            "48213097",
            "Translate the diploma, notarised",
            OrderStatus::AwaitingConfirmation,
        )
        .await;
    create_account(
        &gateway.db,
        "maria@example.com",
        PASSWORD,
        "Maria",
        Role::Manager,
    )
    .await
    .unwrap();

    // Not signed in: the sign-in page, with the pages' security headers, in the browser's
    // language.
    let response = browser().get(gateway.url("/office")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/office/sign-in");
    let response = browser()
        .get(gateway.url("/office/sign-in"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.headers()["referrer-policy"], "same-origin");
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Sign in") && !html.contains("<script>"),
        "{html}"
    );

    // Wrong password: the form again, with the reason.
    let wrong = browser()
        .post(gateway.url("/office/sign-in"))
        .header("origin", gateway.origin())
        .header("accept-language", "en")
        .form(&[("email", "maria@example.com"), ("password", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("Wrong email or password.")
    );

    let signed_in = browser()
        .post(gateway.url("/office/sign-in"))
        .header("origin", gateway.origin())
        .form(&[("email", "maria@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_in.headers()["location"], "/office");
    let token = session_token(&signed_in);

    let (status, list) = gateway.page(&token, "/office").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        list.contains("48213097") && list.contains("Olena Koval"),
        "{list}"
    );
    for search in ["olena", "48213097", "diploma notarised", "KOVAL"] {
        let (_, found) = gateway
            .page(&token, &format!("/office?q={}", search.replace(' ', "+")))
            .await;
        assert!(found.contains("48213097"), "searching {search}");
    }
    let (_, none) = gateway.page(&token, "/office?q=nobody").await;
    assert!(none.contains("No orders match.") && !none.contains("48213097"));
    let (_, filtered) = gateway.page(&token, "/office?status=accepted").await;
    assert!(!filtered.contains("48213097"));
    let (_, board) = gateway.page(&token, "/office/board").await;
    assert!(board.contains("48213097") && board.contains("name=\"to\" value=\"accepted\""));

    let (status, page) = gateway
        .page(&token, &format!("/office/orders/{order_id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Translate the diploma, notarised"));
    assert!(page.contains("scan.pdf"));
    assert!(page.contains("Order placed"));

    // Ukrainian when the switch says so, kept in a cookie.
    let switched = browser()
        .get(gateway.url("/office/language/uk?back=/office/board"))
        .send()
        .await
        .unwrap();
    assert_eq!(switched.headers()["location"], "/office/board");
    assert!(
        switched.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("bureau_lang=uk")
    );

    // Signing out ends the session.
    let out = gateway
        .post_form(&token, &gateway.origin(), "/office/sign-out", &[])
        .await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let (status, _) = gateway.page(&token, "/office").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let audited: Vec<(String,)> = sqlx::query_as("SELECT action FROM staff_audit ORDER BY id")
        .fetch_all(&gateway.db)
        .await
        .unwrap();
    assert_eq!(
        audited.into_iter().map(|(a,)| a).collect::<Vec<_>>(),
        ["sign_in", "sign_out"]
    );
    gateway.finish().await;
}

#[tokio::test]
async fn a_forged_cross_site_form_is_refused_and_nothing_is_published() {
    let gateway = Gateway::start().await;
    let (customer, _) = gateway.customer("olena@example.com").await;
    let order_id = gateway
        .insert_order(
            customer,
            "48213097",
            "Translate",
            OrderStatus::AwaitingConfirmation,
        )
        .await;
    let (_, token) = gateway
        .staff("maria@example.com", "Maria", Role::Manager)
        .await;
    let (_connection, mut events) = gateway.observe_events().await;
    let path = format!("/office/orders/{order_id}/status");
    let form = [("to", "accepted"), ("expected_version", "1")];

    let forged = gateway
        .post_form(&token, "https://evil.example", &path, &form)
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let mut fetch_metadata = headers(&token, &gateway.origin());
    fetch_metadata.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
    let forged = browser()
        .post(gateway.url(&path))
        .headers(fetch_metadata)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    // Neither header on a page's form: not one of our pages either.
    let bare = browser()
        .post(gateway.url(&path))
        .header("cookie", format!("bureau_session={token}"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), StatusCode::FORBIDDEN);
    // The API's JSON clients with a Bearer token are not browsers and still work.

    // Our own page's form goes through: exactly one request is published.
    let ours = gateway
        .post_form(&token, &gateway.origin(), &path, &form)
        .await;
    assert_eq!(ours.status(), StatusCode::SEE_OTHER);
    let location = ours.headers()["location"].to_str().unwrap().to_owned();
    let event = next_event(&mut events).await;
    let Event::OrderStatusChangeRequested(request) = &event.payload else {
        panic!("{event:?}")
    };
    assert_eq!(request.to, OrderStatus::Accepted);
    assert_eq!(
        location,
        format!("/office/orders/{order_id}?request={}", request.request_id)
    );
    assert!(
        tokio::time::timeout(
            std::time::Duration::from_millis(500),
            next_event(&mut events)
        )
        .await
        .is_err(),
        "only one event"
    );

    // The page shows the change as pending until the persistence worker decides it, then
    // tells what became of it.
    let (_, page) = gateway.page(&token, &location).await;
    assert!(
        page.contains("pending") && page.contains("data-poll"),
        "{page}"
    );
    sqlx::query(
        "UPDATE status_change_requests SET outcome = 'refused', refusal_code = 'version_conflict', \
         refusal_reason = 'Someone else changed it first.', current_status = 'cancelled', \
         current_version = 2, decided_at = NOW(6) WHERE request_id = ?",
    )
    .bind(request.request_id)
    .execute(&gateway.db)
    .await
    .unwrap();
    let (_, page) = gateway.page(&token, &location).await;
    assert!(
        page.contains("not changed. Someone else changed it first."),
        "{page}"
    );
    assert!(!page.contains("data-poll"));
    gateway.finish().await;
}

#[tokio::test]
async fn a_customer_named_script_is_shown_as_text() {
    let gateway = Gateway::start().await;
    let response = gateway
        .http
        .post(gateway.url("/api/accounts"))
        .json(&serde_json::json!({
            "email": "x@example.com", "password": PASSWORD,
            "display_name": "<script>alert('x')</script>"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    // Registration answers the same for every address (no account id): read it back.
    let (account,): (Uuid,) = sqlx::query_as("SELECT id FROM web_accounts WHERE email = ?")
        .bind("x@example.com")
        .fetch_one(&gateway.db)
        .await
        .unwrap();
    let order_id = gateway
        .insert_order(
            account,
            "48213097",
            "<img src=x onerror=alert(1)> please",
            OrderStatus::AwaitingConfirmation,
        )
        .await;
    let (_, token) = gateway
        .staff("maria@example.com", "Maria", Role::Manager)
        .await;
    for path in [
        "/office".to_owned(),
        "/office/board".to_owned(),
        format!("/office/orders/{order_id}"),
    ] {
        let (status, html) = gateway.page(&token, &path).await;
        assert_eq!(status, StatusCode::OK);
        // askama escapes with numeric references.
        assert!(html.contains("&#60;script&#62;alert("), "{path}: {html}");
        assert!(!html.contains("<script>alert"), "{path}");
        assert!(!html.contains("<img src=x"), "{path}");
    }
    gateway.finish().await;
}

#[tokio::test]
async fn actions_publish_their_events_and_the_audit_log_cannot_be_edited() {
    let gateway = Gateway::start().await;
    let (customer, _) = gateway.customer("olena@example.com").await;
    let order_id = gateway
        .insert_order(
            customer,
            "48213097",
            "Translate",
            OrderStatus::AwaitingConfirmation,
        )
        .await;
    let (_, token) = gateway
        .staff("maria@example.com", "Maria", Role::Manager)
        .await;
    let (ivan, _) = gateway
        .staff("ivan@example.com", "Ivan", Role::Executor)
        .await;
    let (_connection, mut events) = gateway.observe_events().await;
    let origin = gateway.origin();
    let path = |action: &str| format!("/office/orders/{order_id}/{action}");

    let answer = gateway
        .post_form(
            &token,
            &origin,
            &path("reply"),
            &[("text", "We start tomorrow.")],
        )
        .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let Event::OrderMessagePosted(reply) = next_event(&mut events).await.payload else {
        panic!("a message")
    };
    assert_eq!(reply.text, "We start tomorrow.");
    assert!(matches!(reply.author, proto_events::Actor::Staff { .. }));

    gateway
        .post_form(
            &token,
            &origin,
            &path("comment"),
            &[("text", "Customer is a VIP")],
        )
        .await;
    let event = next_event(&mut events).await;
    assert_eq!(
        event.event_type,
        EventKind::OrderCommentPosted.routing_key()
    );
    let Event::OrderCommentPosted(comment) = event.payload else {
        panic!("a comment")
    };
    assert_eq!(comment.text, "Customer is a VIP");

    let ivan_id = ivan.to_string();
    gateway
        .post_form(
            &token,
            &origin,
            &path("assign"),
            &[("assignee", ivan_id.as_str())],
        )
        .await;
    let Event::OrderAssigned(assigned) = next_event(&mut events).await.payload else {
        panic!("an assignment")
    };
    assert_eq!(assigned.assignee, Some(ivan));

    // A quote from awaiting_confirmation: first the move to `quoted`, then the price.
    let quoted = gateway
        .post_form(
            &token,
            &origin,
            &path("quote"),
            &[
                ("amount", "1250,50"),
                ("currency", "uah"),
                ("note", "48 h"),
                ("expected_version", "1"),
            ],
        )
        .await;
    assert_eq!(quoted.status(), StatusCode::SEE_OTHER);
    let Event::OrderStatusChangeRequested(request) = next_event(&mut events).await.payload else {
        panic!("the move to quoted")
    };
    assert_eq!(request.to, OrderStatus::Quoted);
    let Event::PriceQuoted(price) = next_event(&mut events).await.payload else {
        panic!("the price")
    };
    assert_eq!(
        (price.amount_minor, price.currency.as_str()),
        (125_050, "UAH")
    );

    let empty = gateway
        .post_form(&token, &origin, &path("reply"), &[("text", "   ")])
        .await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A file downloaded (served as a short-lived link) and a status change asked for are
    // audited too, like every action above, with where they came from.
    let (file_id,): (Uuid,) = sqlx::query_as("SELECT id FROM order_files WHERE order_id = ?")
        .bind(order_id)
        .fetch_one(&gateway.db)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE order_files SET state = 'stored', object_key = ?, content_type = 'application/pdf', \
                size_bytes = 1234 WHERE id = ?",
    )
    .bind(format!("orders/{order_id}/scan.pdf"))
    .bind(file_id)
    .execute(&gateway.db)
    .await
    .unwrap();
    let (status, _) = gateway
        .page(
            &token,
            &format!("/office/orders/{order_id}/files/{file_id}"),
        )
        .await;
    assert!(status.is_redirection(), "the download: {status}");
    let changed = gateway
        .post_form(
            &token,
            &origin,
            &path("status"),
            &[("to", "rejected"), ("reason", "We cannot print on glass.")],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);

    let actions: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT action, remote_addr FROM staff_audit WHERE order_id = ? ORDER BY id",
    )
    .bind(order_id)
    .fetch_all(&gateway.db)
    .await
    .unwrap();
    assert!(
        actions.iter().all(|(_, from)| from.is_some()),
        "every entry says where it came from: {actions:?}"
    );
    assert_eq!(
        actions.into_iter().map(|(a, _)| a).collect::<Vec<_>>(),
        [
            "reply",
            "comment",
            "assign",
            "quote",
            "file_download",
            "status_change_requested"
        ]
    );
    let edit = sqlx::query("UPDATE staff_audit SET action = 'nothing'")
        .execute(&gateway.db)
        .await;
    assert!(edit.is_err(), "the audit log refuses updates");
    let delete = sqlx::query("DELETE FROM staff_audit")
        .execute(&gateway.db)
        .await;
    assert!(delete.is_err(), "the audit log refuses deletes");
    gateway.finish().await;
}

/// An order route: what it does, its method, its path after the order's, its form.
type Route = (
    Act,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// Every cell: each order route, for each staff role, on an order of their own, an
/// unassigned one and someone else's, answers as the matrix says: refused (403) exactly
/// where `permissions::allows` says no.
#[tokio::test]
async fn the_permission_matrix_holds_on_every_route() {
    let gateway = Gateway::start().await;
    let (customer, _) = gateway.customer("olena@example.com").await;
    let (other, _) = gateway
        .staff("other@example.com", "Other Executor", Role::Executor)
        .await;
    let people = [
        (
            Role::Admin,
            gateway.staff("admin@example.com", "Ada", Role::Admin).await,
        ),
        (
            Role::Manager,
            gateway
                .staff("maria@example.com", "Maria", Role::Manager)
                .await,
        ),
        (
            Role::Executor,
            gateway
                .staff("ivan@example.com", "Ivan", Role::Executor)
                .await,
        ),
    ];
    let routes: [Route; 9] = [
        (Act::SeeOrder, "GET", "", &[]),
        (
            Act::DownloadFile,
            "GET",
            "/files/00000000-0000-0000-0000-000000000000",
            &[],
        ),
        (
            Act::ChangeStatus,
            "POST",
            "/status",
            &[("to", "in_progress")],
        ),
        (Act::Reply, "POST", "/reply", &[("text", "hello")]),
        (Act::Comment, "POST", "/comment", &[("text", "note")]),
        (
            Act::Quote,
            "POST",
            "/quote",
            &[("amount", "10"), ("currency", "UAH")],
        ),
        (Act::Assign, "POST", "/assign", &[("assignee", "")]),
        // The payments panel's forms (the order has no price: refused with a sentence on
        // the page, not 403, where allowed).
        (
            Act::RecordMoney,
            "POST",
            "/payments",
            &[
                ("amount", "10"),
                ("method", "cash"),
                ("currency", "UAH"),
                ("submission", "01937a52-0000-7000-8000-000000000001"),
            ],
        ),
        (
            Act::RecordMoney,
            "POST",
            "/refunds",
            &[
                ("amount", "10"),
                ("currency", "UAH"),
                ("reason", "one page less"),
                ("submission", "01937a52-0000-7000-8000-000000000002"),
            ],
        ),
    ];
    let policy = Policy::default();
    let origin = gateway.origin();
    let mut cells = 0;
    for (role, (me, token)) in &people {
        for whose in Whose::ALL {
            for (act, method, suffix, form) in routes {
                // A fresh order per cell, so one cell's action never changes another's; accepted,
                // where every role has a move (executors start the work).
                let number = format!("{:08}", 10_000_000 + cells);
                let order_id = gateway
                    .insert_order(customer, &number, "Cell", OrderStatus::Accepted)
                    .await;
                let assignee = match whose {
                    Whose::Own => Some(*me),
                    Whose::Unassigned => None,
                    Whose::Others => Some(other),
                };
                gateway.assign_directly(order_id, assignee).await;
                let path = format!("/office/orders/{order_id}{suffix}");
                let status = if method == "GET" {
                    gateway.page(token, &path).await.0
                } else {
                    gateway
                        .post_form(token, &origin, &path, form)
                        .await
                        .status()
                };
                let allowed = permissions::allows(*role, act, whose, policy);
                assert_eq!(
                    status != StatusCode::FORBIDDEN,
                    allowed,
                    "{role:?} {act:?} on {whose:?}: {status}"
                );
                cells += 1;
            }
        }
    }
    assert_eq!(cells, 3 * 3 * 9);

    // The lists hold only what the matrix lets one see: the executor's list shows none of
    // someone else's orders.
    let mine = gateway
        .insert_order(customer, "20000001", "Mine", OrderStatus::Accepted)
        .await;
    let theirs = gateway
        .insert_order(customer, "20000002", "Theirs", OrderStatus::Accepted)
        .await;
    let (_, (ivan, ivan_token)) = &people[2];
    gateway.assign_directly(mine, Some(*ivan)).await;
    gateway.assign_directly(theirs, Some(other)).await;
    let (_, list) = gateway.page(ivan_token, "/office?status=accepted").await;
    assert!(
        list.contains("20000001") && !list.contains("20000002"),
        "{list}"
    );
    let (status, refusal) = gateway
        .page(ivan_token, &format!("/office/orders/{theirs}"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(refusal.contains("assigned to someone else"), "{refusal}");
    gateway.finish().await;
}

/// How a route is called in the matrix walk.
#[derive(Clone, Copy)]
enum Call {
    /// A page, with the session cookie.
    Page,
    /// The JSON API, with a Bearer token: a JSON body for a POST.
    JsonGet,
    JsonPost(&'static str),
    /// A multipart form with one small file.
    Multipart,
}

/// A customer of their own with one order, as the workers would write them (a Telegram
/// customer: no web account).
async fn telegram_customer_with_order(gateway: &Gateway, n: usize) -> (Uuid, Uuid) {
    let customer_id = Uuid::now_v7();
    let order_id = Uuid::now_v7();
    let now = chrono::Utc::now();
    sqlx::query(
        "INSERT INTO customers (id, display_name, phone, telegram_user_id, telegram_chat_id, \
         telegram_username, created_at, updated_at) VALUES (?, ?, '+380501234567', ?, ?, ?, ?, ?)",
    )
    .bind(customer_id)
    .bind(format!("Cell Customer {n}"))
    .bind(700_000 + n as i64)
    .bind(700_000 + n as i64)
    .bind(format!("cell{n}"))
    .bind(now)
    .bind(now)
    .execute(&gateway.db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO orders (id, order_number, customer_id, channel, body, status, status_version, \
         expected_files, created_at, updated_at) VALUES (?, ?, ?, 'telegram', 'Cell', 'accepted', 1, 0, ?, ?)",
    )
    .bind(order_id)
    .bind(format!("{:08}", 30_000_000 + n))
    .bind(customer_id)
    .bind(now)
    .bind(now)
    .execute(&gateway.db)
    .await
    .unwrap();
    (customer_id, order_id)
}

/// The JSON staff API and the customer pages under the same matrix: every route, for each
/// staff role, on an order (or customer) of their own, an unassigned one and someone
/// else's, is refused (403) exactly where `permissions::allows` says no; and what the API
/// does is audited as the pages audit it.
#[tokio::test]
async fn the_permission_matrix_holds_on_the_json_api_and_the_customer_pages() {
    let gateway = Gateway::start().await;
    let (other, _) = gateway
        .staff("other@example.com", "Other Executor", Role::Executor)
        .await;
    let people = [
        (
            Role::Admin,
            gateway.staff("admin@example.com", "Ada", Role::Admin).await,
        ),
        (
            Role::Manager,
            gateway
                .staff("maria@example.com", "Maria", Role::Manager)
                .await,
        ),
        (
            Role::Executor,
            gateway
                .staff("ivan@example.com", "Ivan", Role::Executor)
                .await,
        ),
    ];
    // (act, call, path with {order}, {customer} or {request} in it)
    let routes: [(Act, Call, &str); 11] = [
        (
            Act::ChangeStatus,
            Call::JsonPost(r#"{"to": "in_progress"}"#),
            "/api/staff/orders/{order}/status",
        ),
        (
            Act::DownloadFile,
            Call::JsonGet,
            "/api/staff/orders/{order}/files/00000000-0000-0000-0000-000000000000/download",
        ),
        (
            Act::UploadResult,
            Call::Multipart,
            "/api/staff/orders/{order}/results",
        ),
        (
            Act::RevokeLinks,
            Call::JsonPost("{}"),
            "/api/staff/orders/{order}/links/revoke",
        ),
        (
            Act::SeeOrder,
            Call::JsonGet,
            "/api/staff/status-requests/{request}",
        ),
        (
            Act::RecordMoney,
            Call::JsonGet,
            "/api/staff/orders/{order}/payments",
        ),
        (
            Act::RecordMoney,
            Call::JsonGet,
            "/api/staff/orders/{order}/payments/00000000-0000-0000-0000-000000000000",
        ),
        // No price, nothing paid: refused (409) where allowed, never recorded.
        (
            Act::RecordMoney,
            Call::JsonPost(r#"{"amount_minor": 100, "currency": "UAH", "method": "cash"}"#),
            "/api/staff/orders/{order}/payments",
        ),
        (
            Act::RecordMoney,
            Call::JsonPost(r#"{"amount_minor": 100, "currency": "UAH", "reason": "x"}"#),
            "/api/staff/orders/{order}/refunds",
        ),
        (Act::SeeCustomer, Call::Page, "/office/customers/{customer}"),
        (Act::SeeOrder, Call::Page, "/office?customer={customer}"),
    ];
    let policy = Policy::default();
    let mut cells = 0;
    for (role, (me, token)) in &people {
        for whose in Whose::ALL {
            for (act, call, template) in routes {
                let (customer_id, order_id) = telegram_customer_with_order(&gateway, cells).await;
                let assignee = match whose {
                    Whose::Own => Some(*me),
                    Whose::Unassigned => None,
                    Whose::Others => Some(other),
                };
                gateway.assign_directly(order_id, assignee).await;
                let request_id = Uuid::now_v7();
                sqlx::query(
                    "INSERT INTO status_change_requests (request_id, order_id, actor_kind, \
                     from_status, to_status, expected_version, outcome, requested_at) \
                     VALUES (?, ?, 'system', 'accepted', 'in_progress', 1, 'pending', NOW(6))",
                )
                .bind(request_id)
                .bind(order_id)
                .execute(&gateway.db)
                .await
                .unwrap();
                let path = template
                    .replace("{order}", &order_id.to_string())
                    .replace("{customer}", &customer_id.to_string())
                    .replace("{request}", &request_id.to_string());
                let http = &gateway.http;
                let status = match call {
                    Call::Page => gateway.page(token, &path).await.0,
                    Call::JsonGet => browser()
                        .get(gateway.url(&path))
                        .bearer_auth(token)
                        .send()
                        .await
                        .unwrap()
                        .status(),
                    Call::JsonPost(body) => http
                        .post(gateway.url(&path))
                        .bearer_auth(token)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .unwrap()
                        .status(),
                    Call::Multipart => {
                        let form = reqwest::multipart::Form::new().part(
                            "file",
                            reqwest::multipart::Part::bytes(b"result".to_vec())
                                .file_name("result.txt"),
                        );
                        http.post(gateway.url(&path))
                            .bearer_auth(token)
                            .multipart(form)
                            .send()
                            .await
                            .unwrap()
                            .status()
                    }
                };
                let allowed = permissions::allows(*role, act, whose, policy);
                let listed = if template.starts_with("/office?customer=") {
                    // A list is never refused: it holds only what may be seen.
                    let (_, html) = gateway.page(token, &path).await;
                    Some(html.contains(&format!("{:08}", 30_000_000 + cells)))
                } else {
                    None
                };
                match listed {
                    Some(shown) => assert_eq!(
                        shown, allowed,
                        "{role:?} listing a customer's orders, {whose:?}"
                    ),
                    None => assert_eq!(
                        status != StatusCode::FORBIDDEN,
                        allowed,
                        "{role:?} {act:?} {path} on {whose:?}: {status}"
                    ),
                }
                cells += 1;
            }
        }
    }
    assert_eq!(cells, 3 * 3 * 11);

    // What the API did was audited like the pages' actions, and nothing it refused was.
    let audited: Vec<(String, i64)> = sqlx::query_as(
        "SELECT action, COUNT(*) FROM staff_audit WHERE action <> 'sign_in' GROUP BY action ORDER BY action",
    )
    .fetch_all(&gateway.db)
    .await
    .unwrap();
    // Status changes: admin and manager on 3 orders each, the executor on its own (7 cells).
    // Link revocations likewise. Downloads of a file that does not exist and uploads
    // without storage behind them are not done, so not audited.
    let expected: Vec<(String, i64)> = vec![
        ("links_revoked".to_owned(), 7),
        ("status_change_requested".to_owned(), 7),
    ];
    let audited: Vec<(String, i64)> = audited
        .into_iter()
        .filter(|(action, _)| action != "result_upload")
        .collect();
    assert_eq!(audited, expected);
    gateway.finish().await;
}

/// The search is the FULLTEXT index's (`orders_search`): Ukrainian words by their start in
/// any case, a phone as staff type it, an order number with `№`; an executor's search stays
/// inside their orders; a customer renamed is found by the new name at once (the triggers).
#[tokio::test]
async fn the_search_finds_ukrainian_words_phones_and_numbers_within_the_role() {
    let gateway = Gateway::start().await;
    let (account, _) = gateway.customer("olena@example.com").await;
    sqlx::query(
        "UPDATE customers SET display_name = 'Олена Коваленко', phone = '+380 67 123 45 67', \
         telegram_username = 'olena_k' WHERE web_account_id = ?",
    )
    .bind(account)
    .execute(&gateway.db)
    .await
    .unwrap();
    let mine = gateway
        .insert_order(
            account,
            "48213097",
            "Переклад диплома з печаткою, 2 сторінки",
            OrderStatus::Accepted,
        )
        .await;
    let other = gateway
        .insert_order(
            account,
            "55501234",
            "Друк флаєрів А5",
            OrderStatus::Accepted,
        )
        .await;
    let (_, manager) = gateway
        .staff("maria@example.com", "Maria", Role::Manager)
        .await;
    let (ivan, executor) = gateway
        .staff("ivan@example.com", "Ivan", Role::Executor)
        .await;
    let (someone, _) = gateway
        .staff("petro@example.com", "Petro", Role::Executor)
        .await;
    for (order, assignee) in [(mine, ivan), (other, someone)] {
        sqlx::query("UPDATE orders SET assignee_id = ? WHERE id = ?")
            .bind(assignee)
            .bind(order)
            .execute(&gateway.db)
            .await
            .unwrap();
    }
    let search = |token: String, q: &'static str| {
        let gateway = &gateway;
        async move {
            let encoded: String = q
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            let (status, page) = gateway.page(&token, &format!("/office?q={encoded}")).await;
            assert_eq!(status, StatusCode::OK, "{q}");
            (page.contains("48213097"), page.contains("55501234"))
        }
    };
    for (q, expected) in [
        ("коваленко", (true, true)),
        ("КОВАЛЬ", (false, false)),
        ("КОВАЛ", (true, true)),
        ("олена диплом", (true, false)),
        ("перекл печатк", (true, false)),
        ("флаєр", (false, true)),
        ("067-123-45-67", (true, true)),
        ("+380671234567", (true, true)),
        ("№48213097", (true, false)),
        ("@olena_k", (true, true)),
        ("з диплом", (true, false)),
        ("\"+-печатк*\"", (true, false)),
        ("довідка", (false, false)),
    ] {
        assert_eq!(
            search(manager.clone(), q).await,
            expected,
            "the manager searching {q}"
        );
    }
    // The executor: only their own order, whatever the words.
    assert_eq!(search(executor.clone(), "коваленко").await, (true, false));
    assert_eq!(search(executor.clone(), "флаєр").await, (false, false));
    // Renamed: found by the new name, no longer by the old.
    sqlx::query("UPDATE customers SET display_name = 'Ірина Шевченко' WHERE web_account_id = ?")
        .bind(account)
        .execute(&gateway.db)
        .await
        .unwrap();
    assert_eq!(search(manager.clone(), "шевченко").await, (true, true));
    assert_eq!(search(manager.clone(), "коваленко").await, (false, false));
    // The customers list: the same index's way.
    let (_, customers) = gateway
        .page(&manager, "/office/customers?q=%D1%88%D0%B5%D0%B2%D1%87")
        .await;
    assert!(customers.contains("Ірина Шевченко"), "{customers}");
    gateway.finish().await;
}

#[tokio::test]
async fn customers_are_found_by_name_phone_email_or_username_and_paged() {
    let gateway = Gateway::start().await;
    let (olena, _) = gateway.customer("olena@example.com").await;
    let order_id = gateway
        .insert_order(olena, "48213097", "Translate", OrderStatus::Accepted)
        .await;
    for n in 0..55 {
        telegram_customer_with_order(&gateway, n).await;
    }
    let (_, token) = gateway
        .staff("maria@example.com", "Maria", Role::Manager)
        .await;
    let (_, list) = gateway.page(&token, "/office/customers").await;
    assert!(list.contains("Cell Customer 54"), "{list}");
    assert!(
        !list.contains("Olena Koval"),
        "the oldest is on the next page"
    );
    let next = list
        .split("href=\"")
        .filter_map(|part| part.split('"').next())
        .find(|href| href.starts_with("/office/customers?after="))
        .expect("a next page")
        .replace("&amp;", "&");
    let (_, second) = gateway.page(&token, &next).await;
    assert!(
        second.contains("Olena Koval") && !second.contains("Cell Customer 54"),
        "{second}"
    );
    for search in ["koval", "olena%40example", "cell7", "@cell7", "380501"] {
        let (status, found) = gateway
            .page(&token, &format!("/office/customers?q={search}"))
            .await;
        assert_eq!(status, StatusCode::OK);
        let hit = if search.contains("cell7") {
            "Cell Customer 7"
        } else if search == "380501" {
            "Cell Customer 54"
        } else {
            "Olena Koval"
        };
        assert!(found.contains(hit), "{search}: {found}");
    }
    let (_, none) = gateway.page(&token, "/office/customers?q=nobody").await;
    assert!(none.contains("No customers match."), "{none}");

    // The card: details, channel, their orders; reachable from the order page.
    let (_, order_page) = gateway
        .page(&token, &format!("/office/orders/{order_id}"))
        .await;
    let card = order_page
        .split("href=\"")
        .filter_map(|part| part.split('"').next())
        .find(|href| href.starts_with("/office/customers/"))
        .expect("a link to the customer's card")
        .to_owned();
    let (status, card) = gateway.page(&token, &card).await;
    assert_eq!(status, StatusCode::OK);
    assert!(card.contains("Olena Koval") && card.contains("olena@example.com"));
    assert!(card.contains("48213097") && card.contains("Web"), "{card}");
    gateway.finish().await;
}

/// A search walks the list's newest rows before it asks the FULLTEXT index (a broad word
/// fills its page there; a rare one does not, and the index answers): either way the pages
/// are the matches newest first (or oldest first), each once, in order, across the keyset
/// pages; and a broad word's counts are "at least" those of its newest matches, a rare
/// one's exact.
#[tokio::test]
async fn broad_and_rare_words_page_the_same_way_whether_walked_or_indexed() {
    use web_gateway::office_reads::{
        self as reads, OrderFilter, SEARCH_COUNT_SAMPLE, Scope, Sort, WALK_ROWS,
    };
    let gateway = Gateway::start().await;
    let (account, _) = gateway.customer("olena@example.com").await;
    let (customer_id,): (Uuid,) =
        sqlx::query_as("SELECT id FROM customers WHERE web_account_id = ?")
            .bind(account)
            .fetch_one(&gateway.db)
            .await
            .unwrap();
    // More orders than a walk's window; one in four names a translation (a broad word,
    // also after a bracket: found as a word's start there too); five of the oldest hold a
    // rare word, out of the newest window's reach; "непереклад" is no word's start.
    let rows = i64::from(WALK_ROWS) + 600;
    sqlx::query(
        "INSERT INTO orders (id, order_number, customer_id, channel, body, status, status_version, \
                             expected_files, created_at, updated_at) \
         SELECT UNHEX(LPAD(HEX(seq), 32, '0')), LPAD(seq, 8, '0'), ?, 'web', \
                CASE WHEN seq % 4 = 0 AND seq % 8 = 0 THEN 'Переклад диплома, 2 сторінки' \
                     WHEN seq % 4 = 0 THEN 'Нотаріальний (переклад) паспорта' \
                     WHEN seq IN (3, 7, 11, 13, 17) THEN 'Апостиль на довідку' \
                     WHEN seq % 4 = 1 THEN 'Друк непереклад-флаєрів' \
                     ELSE 'Друк флаєрів А5' END, \
                ELT(1 + seq % 3, 'accepted', 'in_progress', 'delivered'), 1, 0, \
                TIMESTAMP('2026-01-01') + INTERVAL seq MINUTE, \
                TIMESTAMP('2026-01-01') + INTERVAL seq MINUTE \
         FROM seq_1_to_5000 WHERE seq <= ?",
    )
    .bind(customer_id)
    .bind(rows)
    .execute(&gateway.db)
    .await
    .unwrap();
    let search = |q: &str| OrderFilter {
        words: q.split_whitespace().map(str::to_owned).collect(),
        ..OrderFilter::default()
    };
    // Every page of a search, following the cursor, as order numbers.
    let all_pages_of = |scope: Scope, filter: OrderFilter, sort: Sort| {
        let db = gateway.db.clone();
        async move {
            let mut seen = Vec::new();
            let mut after = None;
            loop {
                let mut page = reads::orders(&db, scope, &filter, sort, after, 50)
                    .await
                    .unwrap();
                let more = page.len() > 50;
                page.truncate(50);
                after = page.last().map(|line| sort.cursor_of(line));
                seen.extend(page.into_iter().map(|line| line.order_number));
                if !more {
                    return seen;
                }
            }
        }
    };
    let all_pages = |filter: OrderFilter, sort: Sort| all_pages_of(Scope::Everything, filter, sort);
    let numbers = |matching: &dyn Fn(i64) -> bool, newest_first: bool| {
        let mut all: Vec<String> = (1..=rows)
            .filter(|seq| matching(*seq))
            .map(|seq| format!("{seq:0>8}"))
            .collect();
        if newest_first {
            all.reverse();
        }
        all
    };
    let translation = |seq: i64| seq % 4 == 0;
    assert_eq!(
        all_pages(search("перекл"), Sort::Newest).await,
        numbers(&translation, true)
    );
    assert_eq!(
        all_pages(search("ПЕРЕКЛАД"), Sort::Oldest).await,
        numbers(&translation, false)
    );
    assert_eq!(
        all_pages(search("переклад диплом"), Sort::Newest).await,
        numbers(&|seq| seq % 8 == 0, true)
    );
    let rare = |seq: i64| [3, 7, 11, 13, 17].contains(&seq);
    assert_eq!(
        all_pages(search("апостил"), Sort::Newest).await,
        numbers(&rare, true)
    );
    assert_eq!(
        all_pages(search("апостиль довідк"), Sort::Oldest).await,
        numbers(&rare, false)
    );
    // Within a status (the walk reads that status's index).
    let mut in_progress = search("перекл");
    in_progress.status = Some(OrderStatus::InProgress);
    assert_eq!(
        all_pages(in_progress, Sort::Newest).await,
        numbers(&|seq| translation(seq) && seq % 3 == 1, true)
    );

    // An executor's list walks too, within their scope: three in five orders are theirs,
    // one in five nobody's (more than a window of rows with them), one in five another's.
    let (ivan, _) = gateway
        .staff("ivan@example.com", "Ivan", Role::Executor)
        .await;
    let (petro, _) = gateway
        .staff("petro@example.com", "Petro", Role::Executor)
        .await;
    sqlx::query(
        "UPDATE orders SET assignee_id = CASE CAST(order_number AS UNSIGNED) % 5 \
             WHEN 3 THEN NULL WHEN 4 THEN ? ELSE ? END WHERE customer_id = ?",
    )
    .bind(petro)
    .bind(ivan)
    .bind(customer_id)
    .execute(&gateway.db)
    .await
    .unwrap();
    for (with_unassigned, visible) in [(true, 4), (false, 3)] {
        let scope = Scope::AssignedTo {
            account_id: ivan,
            with_unassigned,
        };
        for (sort, newest_first) in [(Sort::Newest, true), (Sort::Oldest, false)] {
            assert_eq!(
                all_pages_of(scope, search("перекл"), sort).await,
                numbers(&|seq| translation(seq) && seq % 5 < visible, newest_first),
                "with unassigned: {with_unassigned}, {sort:?}"
            );
        }
        assert_eq!(
            all_pages_of(scope, search("апостил"), Sort::Newest).await,
            numbers(&|seq| rare(seq) && seq % 5 < visible, true),
            "with unassigned: {with_unassigned}"
        );
    }
    sqlx::query("UPDATE orders SET assignee_id = NULL WHERE customer_id = ?")
        .bind(customer_id)
        .execute(&gateway.db)
        .await
        .unwrap();

    // Counts: the broad word's among its newest matches, "at least"; the rare word's exact.
    let broad = reads::status_counts(&gateway.db, Scope::Everything, &search("перекл"))
        .await
        .unwrap();
    assert!(broad.at_least);
    assert_eq!(
        broad.by_status.iter().map(|(_, n)| n).sum::<i64>(),
        SEARCH_COUNT_SAMPLE
    );
    let exact = reads::status_counts(&gateway.db, Scope::Everything, &search("апостил"))
        .await
        .unwrap();
    assert!(!exact.at_least);
    let expected = |status: &str| {
        [3i64, 7, 11, 13, 17]
            .iter()
            .filter(|seq| ["accepted", "in_progress", "delivered"][(**seq % 3) as usize] == status)
            .count() as i64
    };
    for status in [
        OrderStatus::Accepted,
        OrderStatus::InProgress,
        OrderStatus::Delivered,
    ] {
        assert_eq!(exact.of(status), expected(status.as_str()), "{status:?}");
    }
    // The page shows a broad word's counts as "at least".
    let (_, manager) = gateway
        .staff("maria@example.com", "Maria", Role::Manager)
        .await;
    let (status, page) = gateway
        .page(&manager, "/office?q=%D0%BF%D0%B5%D1%80%D0%B5%D0%BA%D0%BB")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!("<b>{SEARCH_COUNT_SAMPLE}+</b>")),
        "{page}"
    );
    gateway.finish().await;
}

/// The list's filters and orders, each over HTTP as the filter form sends them: channel,
/// service, assignee (mine, unassigned, a staff member), status, the date presets and a
/// custom range, and the three orders.
#[tokio::test]
async fn the_list_filters_by_channel_service_assignee_status_and_date_and_sorts() {
    let gateway = Gateway::start().await;
    let (customer, _) = gateway.customer("olena@example.com").await;
    let (maria, manager) = gateway
        .staff("maria@example.com", "Maria", Role::Manager)
        .await;
    let (ivan, _) = gateway
        .staff("ivan@example.com", "Ivan", Role::Executor)
        .await;
    let now = chrono::Utc::now();
    let days_ago = |days: i64| now - chrono::Duration::days(days);
    let custom_day = chrono::NaiveDate::from_ymd_opt(2025, 3, 15)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc();
    // (number, channel, service, assignee, status, created, updated)
    let orders = [
        (
            "11110001",
            "web",
            Some("print"),
            Some(maria),
            OrderStatus::Accepted,
            now,
            days_ago(0) - chrono::Duration::hours(1),
        ),
        (
            "22220002",
            "telegram",
            Some("translate"),
            None,
            OrderStatus::AwaitingConfirmation,
            days_ago(40),
            now,
        ),
        (
            "33330003",
            "web",
            None,
            Some(ivan),
            OrderStatus::Delivered,
            custom_day,
            custom_day,
        ),
    ];
    for (number, channel, service, assignee, status, created, updated) in orders {
        let id = gateway
            .insert_order(customer, number, "Order", status)
            .await;
        sqlx::query(
            "UPDATE orders SET channel = ?, service_code = ?, assignee_id = ?, created_at = ?, \
                    updated_at = ? WHERE id = ?",
        )
        .bind(channel)
        .bind(service)
        .bind(assignee)
        .bind(created)
        .bind(updated)
        .bind(id)
        .execute(&gateway.db)
        .await
        .unwrap();
    }
    let shown = |query: String| {
        let gateway = &gateway;
        let manager = manager.clone();
        async move {
            let (status, page) = gateway.page(&manager, &format!("/office?{query}")).await;
            assert_eq!(status, StatusCode::OK, "{query}");
            let mut found: Vec<(usize, &str)> = ["11110001", "22220002", "33330003"]
                .into_iter()
                .filter_map(|n| page.find(&format!("№{n}")).map(|at| (at, n)))
                .collect();
            found.sort();
            found.into_iter().map(|(_, n)| n).collect::<Vec<_>>()
        }
    };
    for (query, expected) in [
        (String::new(), vec!["11110001", "22220002", "33330003"]),
        (
            "sort=oldest".to_owned(),
            vec!["33330003", "22220002", "11110001"],
        ),
        (
            "sort=updated".to_owned(),
            vec!["22220002", "11110001", "33330003"],
        ),
        ("channel=telegram".to_owned(), vec!["22220002"]),
        ("channel=web".to_owned(), vec!["11110001", "33330003"]),
        ("service=print".to_owned(), vec!["11110001"]),
        ("assignee=me".to_owned(), vec!["11110001"]),
        ("assignee=none".to_owned(), vec!["22220002"]),
        (format!("assignee={ivan}"), vec!["33330003"]),
        ("status=delivered".to_owned(), vec!["33330003"]),
        ("period=today".to_owned(), vec!["11110001"]),
        ("period=week".to_owned(), vec!["11110001"]),
        ("period=month".to_owned(), vec!["11110001"]),
        ("from=2025-03-15&to=2025-03-15".to_owned(), vec!["33330003"]),
        ("from=2025-03-16".to_owned(), vec!["11110001", "22220002"]),
        (
            "channel=web&assignee=me&period=month".to_owned(),
            vec!["11110001"],
        ),
    ] {
        assert_eq!(shown(query.clone()).await, expected, "/office?{query}");
    }
    gateway.finish().await;
}

/// The order page's timeline says what each push did: sent in Telegram, e-mailed, refused
/// because the customer blocked the bot, not tried because they are unreachable, or still
/// failing (with Telegram's answer).
#[tokio::test]
async fn the_timeline_says_what_each_push_did() {
    let gateway = Gateway::start().await;
    let (customer, _) = gateway.customer("olena@example.com").await;
    let order_id = gateway
        .insert_order(customer, "48213097", "Translate", OrderStatus::Accepted)
        .await;
    let (_, manager) = gateway
        .staff("maria@example.com", "Maria", Role::Manager)
        .await;
    let now = chrono::Utc::now();
    for (channel, chat) in [("telegram", Some(7301_i64)), ("email", None)] {
        sqlx::query(
            "INSERT INTO notifications_sent (event_id, order_id, kind, channel, status_version, chat_id, sent_at) \
             VALUES (?, ?, 'status', ?, 1, ?, ?)",
        )
        .bind(Uuid::now_v7())
        .bind(order_id)
        .bind(channel)
        .bind(chat)
        .bind(now)
        .execute(&gateway.db)
        .await
        .unwrap();
    }
    for (outcome, detail) in [
        ("blocked", "Forbidden: bot was blocked by the user"),
        ("skipped_unreachable", ""),
        ("failing", "Bad Gateway"),
    ] {
        sqlx::query(
            "INSERT INTO notification_failures (event_id, order_id, kind, outcome, detail, attempts, failed_at) \
             VALUES (?, ?, 'status', ?, ?, 3, ?)",
        )
        .bind(Uuid::now_v7())
        .bind(order_id)
        .bind(outcome)
        .bind(detail)
        .bind(now)
        .execute(&gateway.db)
        .await
        .unwrap();
    }
    let (status, page) = gateway
        .page(&manager, &format!("/office/orders/{order_id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    for said in [
        "Sent to the customer in Telegram",
        "E-mailed to the customer",
        "the customer blocked the bot",
        "not tried: the customer is unreachable in Telegram",
        "Telegram did not take the message (3×): Bad Gateway",
    ] {
        assert!(page.contains(said), "{said} missing from the timeline");
    }
    gateway.finish().await;
}
