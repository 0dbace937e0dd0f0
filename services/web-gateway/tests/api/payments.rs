//! Staff record money by hand: a bank transfer or cash within what is left, a refund within
//! what was paid, each audited and published; executors and bad amounts are refused.

use bureau_accounts::{Role, create_account};
use proto_events::{Event, OrderStatus, PaymentMethod};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::*;

#[tokio::test]
async fn managers_record_payments_and_refunds_within_what_the_order_is_due() {
    let gateway = Gateway::start().await;
    let http = &gateway.http;
    let (customer, _) = gateway.customer("payer@example.com").await;
    let order_id = gateway
        .insert_order(
            customer,
            "48213098",
            "Notarise",
            OrderStatus::AwaitingConfirmation,
        )
        .await;
    sqlx::query("UPDATE orders SET total_minor = 90000, total_currency = 'UAH' WHERE id = ?")
        .bind(order_id)
        .execute(&gateway.db)
        .await
        .unwrap();
    create_account(
        &gateway.db,
        "boss@example.com",
        PASSWORD,
        "Maria",
        Role::Manager,
    )
    .await
    .unwrap();
    create_account(
        &gateway.db,
        "doer@example.com",
        PASSWORD,
        "Ivan",
        Role::Executor,
    )
    .await
    .unwrap();
    let manager = gateway.log_in("boss@example.com").await;
    let executor = gateway.log_in("doer@example.com").await;
    let (_connection, mut events) = gateway.observe_events().await;
    let payments = gateway.url(&format!("/api/staff/orders/{order_id}/payments"));
    let refunds = gateway.url(&format!("/api/staff/orders/{order_id}/refunds"));
    let post =
        |url: &str, token: &str, body: Value| http.post(url).bearer_auth(token).json(&body).send();

    let refused = post(
        &payments,
        &executor,
        json!({"amount_minor": 90000, "currency": "UAH", "method": "cash"}),
    )
    .await
    .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    for (body, code) in [
        (
            json!({"amount_minor": 0, "currency": "UAH", "method": "cash"}),
            "invalid_amount",
        ),
        (
            json!({"amount_minor": 100, "currency": "EUR", "method": "cash"}),
            "currency_mismatch",
        ),
        (
            json!({"amount_minor": 100, "currency": "UAH", "method": "telegram"}),
            "invalid_method",
        ),
        (
            json!({"amount_minor": 90001, "currency": "UAH", "method": "cash"}),
            "more_than_due",
        ),
    ] {
        let (_, got, _) = error_of(post(&payments, &manager, body).await.unwrap()).await;
        assert_eq!(got, code);
    }

    let recorded = post(
        &payments,
        &manager,
        json!({"amount_minor": 90000, "currency": "uah", "method": "bank_transfer", "note": "IBAN ...42"}),
    )
    .await
    .unwrap();
    assert_eq!(recorded.status(), StatusCode::ACCEPTED);
    let Event::PaymentReceived(paid) = next_event(&mut events).await.payload else {
        panic!("a payment event")
    };
    assert_eq!(
        (
            paid.order_id,
            paid.amount_minor,
            paid.currency.as_str(),
            paid.method
        ),
        (order_id, 90_000, "UAH", PaymentMethod::BankTransfer)
    );
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM staff_audit WHERE action = 'payment' AND order_id = ?",
    )
    .bind(order_id)
    .fetch_one(&gateway.db)
    .await
    .unwrap();
    assert_eq!(audited, 1);

    // Nothing paid is recorded yet (no worker here): a refund has nothing to give back.
    let (_, code, _) = error_of(
        post(
            &refunds,
            &manager,
            json!({"amount_minor": 100, "currency": "UAH", "reason": "x"}),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(code, "more_than_paid");
    // As the worker would record it: then a refund with a reason goes through.
    sqlx::query(
        "INSERT INTO order_payments (id, order_id, kind, method, amount_minor, currency, actor_kind, recorded_at)
         VALUES (?, ?, 'payment', 'bank_transfer', 90000, 'UAH', 'staff', UTC_TIMESTAMP(6))",
    )
    .bind(paid.payment_id)
    .bind(order_id)
    .execute(&gateway.db)
    .await
    .unwrap();
    let (_, code, _) = error_of(
        post(
            &refunds,
            &manager,
            json!({"amount_minor": 100, "currency": "UAH", "reason": " "}),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(code, "invalid_reason");
    let refunded = post(
        &refunds,
        &manager,
        json!({"amount_minor": 30000, "currency": "UAH", "reason": "one page less"}),
    )
    .await
    .unwrap();
    assert_eq!(refunded.status(), StatusCode::ACCEPTED);
    let Event::PaymentRefunded(refund) = next_event(&mut events).await.payload else {
        panic!("a refund event")
    };
    assert_eq!(refund.amount_minor, 30_000);
    let view: Value = http
        .get(&payments)
        .bearer_auth(&manager)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["price_minor"], 90000);
    assert_eq!(view["paid_minor"], 90000);
    assert_eq!(view["paid"], true);
    assert_eq!(view["lines"][0]["method"], "bank_transfer");
    gateway.finish().await;
}

/// The payment form as the order page sends it.
fn payment_form<'a>(
    amount: &'a str,
    method: &'a str,
    submission: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("amount", amount),
        ("method", method),
        ("currency", "UAH"),
        ("note", "IBAN ...42"),
        ("submission", submission),
    ]
}

/// The value of the field `name` in the form `form_id` of a page.
fn field(html: &str, form_id: &str, name: &str) -> String {
    let form = &html[html
        .find(&format!("id=\"{form_id}\""))
        .unwrap_or_else(|| panic!("no #{form_id} in {html}"))..];
    let form = &form[..form.find("</form>").unwrap_or(form.len())];
    let at = form
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no {name} in #{form_id}: {form}"));
    let value = &form[at..];
    let value = &value[value.find("value=\"").expect("a value") + 7..];
    value[..value.find('"').expect("closed")].to_owned()
}

/// The text of the element with `id`, tags left in.
fn element<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    let rest = &html[at..];
    &rest[..rest.find("</").unwrap_or(rest.len())]
}

impl Gateway {
    /// Posts a form of the order page as a browser reading `lang` would.
    async fn post_in(
        &self,
        token: &str,
        lang: &'static str,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut headers = crate::office::headers(token, &self.origin());
        headers.insert(
            "accept-language",
            reqwest::header::HeaderValue::from_static(lang),
        );
        crate::office::browser()
            .post(self.url(path))
            .headers(headers)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    async fn audited(&self, action: &str, order_id: Uuid) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM staff_audit WHERE action = ? AND order_id = ?")
            .bind(action)
            .bind(order_id)
            .fetch_one(&self.db)
            .await
            .unwrap()
    }

    /// What the persistence worker writes for a staff member's payment.
    async fn record_payment(&self, paid: &proto_events::PaymentReceived, actor: Uuid) {
        sqlx::query(
            "INSERT INTO order_payments (id, order_id, kind, method, amount_minor, currency, actor_kind,
                                         actor_account_id, note, recorded_at)
             VALUES (?, ?, 'payment', ?, ?, ?, 'staff', ?, ?, UTC_TIMESTAMP(6))",
        )
        .bind(paid.payment_id)
        .bind(paid.order_id)
        .bind(paid.method.as_str())
        .bind(paid.amount_minor)
        .bind(&paid.currency)
        .bind(actor)
        .bind(&paid.note)
        .execute(&self.db)
        .await
        .unwrap();
    }

    /// What the persistence worker writes for a refund.
    async fn record_refund(&self, refund: &proto_events::PaymentRefunded) {
        sqlx::query(
            "INSERT INTO order_payments (id, order_id, kind, method, amount_minor, currency, actor_kind,
                                         actor_account_id, note, recorded_at)
             VALUES (?, ?, 'refund', NULL, ?, ?, 'staff', ?, ?, UTC_TIMESTAMP(6))",
        )
        .bind(refund.refund_id)
        .bind(refund.order_id)
        .bind(refund.amount_minor)
        .bind(&refund.currency)
        .bind(refund.actor_account_id)
        .bind(&refund.reason)
        .execute(&self.db)
        .await
        .unwrap();
    }
}

/// The order page's payments panel over HTTP: a manager sees the price and the form
/// (amount defaulting to what is left, the order's currency), every bad amount, method,
/// overpayment and refund is refused beside its form in English and Ukrainian with nothing
/// published or audited; a payment is published and audited once even when the form is
/// sent twice, followed as "recording…" until the worker's row is there; then a refund
/// within what was paid. An executor sees no panel and is refused the forms (403), and the
/// form forged on another site is refused (403).
#[tokio::test]
async fn the_order_page_records_a_payment_and_a_refund_and_refuses_bad_input() {
    let gateway = Gateway::start().await;
    let (customer, _) = gateway.customer("payer@example.com").await;
    let order_id = gateway
        .insert_order(
            customer,
            "48213099",
            "Print 300 flyers",
            OrderStatus::AwaitingConfirmation,
        )
        .await;
    sqlx::query("UPDATE orders SET total_minor = 90000, total_currency = 'UAH' WHERE id = ?")
        .bind(order_id)
        .execute(&gateway.db)
        .await
        .unwrap();
    let (maria, manager) = gateway
        .staff("boss@example.com", "Maria Manager", Role::Manager)
        .await;
    let (ivan, executor) = gateway
        .staff("doer@example.com", "Ivan", Role::Executor)
        .await;
    gateway.assign_directly(order_id, Some(ivan)).await;
    let (_connection, mut events) = gateway.observe_events().await;
    let page = format!("/office/orders/{order_id}");
    let payments = format!("{page}/payments");
    let refunds = format!("{page}/refunds");

    // The panel: the frozen total, nothing paid, the form filled with what is left.
    let (status, html) = gateway.page(&manager, &page).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        element(&html, "money-price").contains("900.00 UAH"),
        "{html}"
    );
    assert!(element(&html, "money-balance").contains("900.00 UAH"));
    assert_eq!(field(&html, "payment-form", "amount"), "900.00");
    assert_eq!(field(&html, "payment-form", "currency"), "UAH");
    assert!(
        !html.contains("id=\"refund-form\""),
        "nothing paid, nothing to refund"
    );
    let submission = field(&html, "payment-form", "submission");
    assert!(Uuid::parse_str(&submission).is_ok(), "{submission}");

    // Bad input: refused beside the form, in the page's language, what was typed kept.
    for (amount, method, lang, status, said) in [
        (
            "0",
            "bank_transfer",
            "en",
            422,
            "The amount must be more than 0.",
        ),
        (
            "-5",
            "bank_transfer",
            "en",
            422,
            "The amount must be more than 0.",
        ),
        (
            "-5",
            "bank_transfer",
            "uk",
            422,
            "Сума має бути більшою за 0.",
        ),
        (
            "nine hundred",
            "bank_transfer",
            "en",
            422,
            "The amount is a number with at most two decimals, like 1250 or 1250.50.",
        ),
        (
            "450.125",
            "bank_transfer",
            "en",
            422,
            "An amount has at most two decimals (kopiykas).",
        ),
        (
            "450.125",
            "bank_transfer",
            "uk",
            422,
            "У сумі щонайбільше два знаки після коми (копійки).",
        ),
        (
            "",
            "bank_transfer",
            "en",
            422,
            "Enter an amount, like 450 or 450.50.",
        ),
        (
            "900.01",
            "bank_transfer",
            "en",
            409,
            "Order №48213099 has 900.00 UAH left to pay; a payment cannot be more.",
        ),
        (
            "900.01",
            "bank_transfer",
            "uk",
            409,
            "За замовлення №48213099 лишилося сплатити 900.00 UAH; оплата не може бути більшою.",
        ),
        (
            "100",
            "telegram",
            "en",
            422,
            "Choose how it was paid: bank transfer, cash or other.",
        ),
    ] {
        let sent = payment_form(amount, method, &submission);
        let response = gateway.post_in(&manager, lang, &payments, &sent).await;
        assert_eq!(response.status().as_u16(), status, "{amount} {method}");
        let html = response.text().await.unwrap();
        assert!(
            element(&html, "payment-error").contains(said),
            "{amount} {method} {lang}: {html}"
        );
        if !amount.is_empty() {
            assert!(html.contains(&format!("value=\"{amount}\"")), "{amount}");
        }
    }
    // A form without its submission id is out of date (a page from before this release).
    let mut sent = payment_form("100", "cash", "");
    sent.retain(|(name, _)| *name != "submission");
    let response = gateway.post_in(&manager, "uk", &payments, &sent).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Форма застаріла: оновіть сторінку й заповніть її знову.")
    );
    // A refund on an order with nothing paid.
    let refund_form = |amount: &'static str, reason: &'static str, submission: &str| {
        vec![
            ("amount", amount.to_owned()),
            ("currency", "UAH".to_owned()),
            ("reason", reason.to_owned()),
            ("submission", submission.to_owned()),
        ]
    };
    let nothing_paid = Uuid::now_v7().to_string();
    for (lang, said) in [
        (
            "en",
            "Order №48213099 has nothing paid: there is nothing to refund.",
        ),
        (
            "uk",
            "За замовлення №48213099 нічого не сплачено: повертати нічого.",
        ),
    ] {
        let sent = refund_form("100", "changed their mind", &nothing_paid);
        let sent: Vec<(&str, &str)> = sent.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let response = gateway.post_in(&manager, lang, &refunds, &sent).await;
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let html = response.text().await.unwrap();
        assert!(element(&html, "refund-error").contains(said), "{html}");
    }
    assert_eq!(gateway.audited("payment", order_id).await, 0);
    assert_eq!(gateway.audited("refund", order_id).await, 0);

    // The executor the order is assigned to sees it, but no payments, and is refused the forms.
    let (status, html) = gateway.page(&executor, &page).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("id=\"payments\""), "{html}");
    let sent = payment_form("900", "cash", &submission);
    let response = gateway.post_in(&executor, "en", &payments, &sent).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Only admins and managers record payments and refunds.")
    );

    // The same form forged on another site is refused before anything is looked at.
    let sent = payment_form("900", "bank_transfer", &submission);
    let forged = gateway
        .post_form(&manager, "https://evil.example", &payments, &sent)
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(gateway.audited("payment", order_id).await, 0);

    // The payment, with the same submission id the refused tries carried.
    let sent = payment_form("900", "bank_transfer", &submission);
    let response = gateway.post_in(&manager, "en", &payments, &sent).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    // Nothing refused above was published: the first event is this payment.
    let Event::PaymentReceived(paid) = next_event(&mut events).await.payload else {
        panic!("a payment event")
    };
    assert_eq!(
        (
            paid.order_id,
            paid.amount_minor,
            paid.currency.as_str(),
            paid.method,
            paid.note.as_deref()
        ),
        (
            order_id,
            90_000,
            "UAH",
            PaymentMethod::BankTransfer,
            Some("IBAN ...42")
        )
    );
    assert_eq!(
        location,
        format!("{page}?payment={}#payments", paid.payment_id)
    );
    assert_eq!(gateway.audited("payment", order_id).await, 1);
    // Sent again (a double click): the first answer, marked, and nothing done again.
    let again = gateway.post_in(&manager, "en", &payments, &sent).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        again.headers()["location"],
        format!("{page}?payment={}&again=1#payments", paid.payment_id).as_str()
    );
    assert_eq!(gateway.audited("payment", order_id).await, 1);
    let (_, html) = gateway
        .page(
            &manager,
            &format!("{page}?payment={}&again=1", paid.payment_id),
        )
        .await;
    let banner = element(&html, "money-banner");
    assert!(
        banner.contains("This form had already been sent; it counts once.")
            && banner.contains("Recording the payment…")
            && banner.contains("data-poll=")
            && banner.contains(&paid.payment_id.to_string()),
        "{banner}"
    );
    let poll = gateway.url(&format!(
        "/api/staff/orders/{order_id}/payments/{}",
        paid.payment_id
    ));
    let outcome = |token: &str| gateway.http.get(&poll).bearer_auth(token.to_owned()).send();
    let pending: Value = outcome(&manager).await.unwrap().json().await.unwrap();
    assert_eq!(pending["outcome"], "pending");
    assert_eq!(
        outcome(&executor).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );

    // Recorded by the worker: paid in full, on the list and the timeline; the refund form.
    gateway.record_payment(&paid, maria).await;
    let recorded: Value = outcome(&manager).await.unwrap().json().await.unwrap();
    assert_eq!(recorded["outcome"], "recorded");
    let (_, html) = gateway.page(&manager, &location).await;
    assert!(
        element(&html, "money-banner").contains("Payment recorded: 900.00 UAH, bank transfer."),
        "{html}"
    );
    assert!(element(&html, "money-paid").contains("900.00 UAH"));
    assert!(element(&html, "money-balance").contains("0.00 UAH"));
    assert!(
        html.contains("Paid in full: nothing is left to pay."),
        "{html}"
    );
    assert!(!html.contains("id=\"payment-form\""));
    assert!(
        html.contains("<td>Bank transfer</td>") && html.contains("<td>Maria Manager</td>"),
        "{html}"
    );
    assert!(html.contains("Payment received · Bank transfer"), "{html}");
    assert!(
        html.contains("<td class=\"note\">IBAN ...42</td>"),
        "the reference is listed: {html}"
    );
    let refund_submission = field(&html, "refund-form", "submission");
    assert!(html.contains("Refundable, at most 900.00 UAH"), "{html}");

    // A refund: more than was paid, or without a reason, is refused; then a part.
    for (amount, reason, status, said) in [
        (
            "900.01",
            "one page less",
            409,
            "Order №48213099 has 900.00 UAH paid: a refund cannot be more.",
        ),
        (
            "100",
            " ",
            422,
            "A refund needs a reason of at most 1000 characters.",
        ),
        (
            "0,001",
            "one page less",
            422,
            "An amount has at most two decimals (kopiykas).",
        ),
    ] {
        let sent = refund_form(amount, reason, &refund_submission);
        let sent: Vec<(&str, &str)> = sent.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let response = gateway.post_in(&manager, "en", &refunds, &sent).await;
        assert_eq!(response.status().as_u16(), status, "{amount}");
        let html = response.text().await.unwrap();
        assert!(element(&html, "refund-error").contains(said), "{html}");
    }
    assert_eq!(gateway.audited("refund", order_id).await, 0);
    let sent = refund_form("100", "one page less", &refund_submission);
    let sent: Vec<(&str, &str)> = sent.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = gateway.post_in(&manager, "en", &refunds, &sent).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let Event::PaymentRefunded(refund) = next_event(&mut events).await.payload else {
        panic!("a refund event")
    };
    assert_eq!(
        (
            refund.amount_minor,
            refund.reason.as_str(),
            refund.actor_account_id
        ),
        (10_000, "one page less", maria)
    );
    assert_eq!(gateway.audited("refund", order_id).await, 1);
    let remote: Option<String> = sqlx::query_scalar(
        "SELECT remote_addr FROM staff_audit WHERE action = 'refund' AND order_id = ?",
    )
    .bind(order_id)
    .fetch_one(&gateway.db)
    .await
    .unwrap();
    assert!(remote.is_some(), "the page's address is audited");
    gateway.record_refund(&refund).await;
    let (_, html) = gateway
        .page(&manager, &format!("{page}?refund={}", refund.refund_id))
        .await;
    assert!(
        element(&html, "money-banner").contains("Refund recorded: 100.00 UAH."),
        "{html}"
    );
    assert!(element(&html, "money-refunded").contains("100.00 UAH"));
    assert!(element(&html, "money-balance").contains("100.00 UAH"));
    // What is left can be paid again; the form offers exactly that.
    assert_eq!(field(&html, "payment-form", "amount"), "100.00");
    gateway.finish().await;
}
