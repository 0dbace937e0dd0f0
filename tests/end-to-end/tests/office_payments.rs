//! Money on the back office's order page, in a real browser (headless Chromium over
//! WebDriver, the whole stack): a web customer's order without a price says "quote one
//! first"; the manager quotes 900.00 UAH and the customer accepts on the web; the payments
//! panel offers exactly that. The manager records the customer's bank transfer: "recording…"
//! until the persistence worker wrote it, then recorded, paid in full, on the timeline and in
//! the audit log. A partial refund with its reason leaves 150.00 UAH to pay. The executor the
//! order is then assigned to sees no payments and is refused the form (403) even when posting
//! it from the page. Screenshots of the panel (`office-payments`, `office-payments-uk`).

use anyhow::anyhow;
use bureau_accounts::Role;
use bureau_end_to_end::browser;
use bureau_end_to_end::{DEADLINE, TestStack, eventually, web};
use serde_json::Value;
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery";

async fn count(stack: &TestStack, sql: &'static str, order_id: Uuid) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sql)
        .bind(order_id)
        .fetch_one(&stack.db)
        .await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_records_a_bank_transfer_and_a_partial_refund_on_the_order_page()
-> anyhow::Result<()> {
    let Some(browser) = browser::browser().await? else {
        return Ok(());
    };
    let stack = TestStack::start().await?;
    for (email, name, role) in [
        ("olha@example.com", "Olha Manager", Role::Manager),
        ("petro@example.com", "Petro Executor", Role::Executor),
    ] {
        bureau_accounts::create_account(&stack.db, email, PASSWORD, name, role)
            .await
            .map_err(|e| anyhow!("{e}"))?;
    }
    let petro: Uuid =
        sqlx::query_scalar("SELECT id FROM web_accounts WHERE email = 'petro@example.com'")
            .fetch_one(&stack.db)
            .await?;

    // A web customer's order, recorded by the worker.
    let customer = web::register_customer(&stack, "olena@example.com", "Olena Koval").await?;
    let placed = stack
        .http
        .post(stack.web_url("/api/orders"))
        .bearer_auth(&customer)
        .multipart(
            reqwest::multipart::Form::new().text("text", "300 flyers, A5, two-sided, by Friday"),
        )
        .send()
        .await?;
    anyhow::ensure!(placed.status() == 201, "placing: {}", placed.status());
    let placed: Value = placed.json().await?;
    let number = placed["order_number"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let order_id: Uuid = placed["order_id"].as_str().unwrap_or_default().parse()?;
    eventually("the order recorded", DEADLINE, || async {
        count(&stack, "SELECT COUNT(*) FROM orders WHERE id = ?", order_id)
            .await
            .ok()
            .filter(|n| *n == 1)
    })
    .await?;
    let page = stack.web_url(&format!("/office/orders/{order_id}"));

    browser
        .sign_in(&stack, "olha@example.com", PASSWORD)
        .await?;
    browser.go(&page).await?;
    // No price yet: nothing can be paid.
    browser
        .text_until("#payment-blocked", |t| t.contains("quote one first"))
        .await?;

    // The manager quotes 900.00 UAH; the customer accepts on the web; the open page follows.
    browser
        .fill("#quote-form input[name=amount]", "900")
        .await?;
    browser.click("#quote-form button").await?;
    browser
        .text_until("#request-banner", |t| t.contains("recorded"))
        .await?;
    // The customer answers the price once the worker recorded it.
    eventually("the quote recorded", DEADLINE, || async {
        count(
            &stack,
            "SELECT COUNT(*) FROM order_quotes WHERE order_id = ?",
            order_id,
        )
        .await
        .ok()
        .filter(|n| *n == 1)
    })
    .await?;
    let accepted = stack
        .http
        .post(stack.web_url(&format!("/api/orders/{number}/quote/accept")))
        .bearer_auth(&customer)
        .send()
        .await?;
    anyhow::ensure!(accepted.status() == 202, "accepting: {}", accepted.status());
    browser.text_until("#status", |t| t == "Accepted").await?;
    browser.go(&page).await?;
    browser
        // (The labels are shown in capitals.)
        .text_until("#money-sum", |t| t.to_lowercase().contains("agreed price"))
        .await?;
    browser
        .text_until("#money-balance", |t| t.contains("900.00 UAH"))
        .await?;
    let offered = browser
        .run("return document.querySelector('#payment-amount').value")
        .await?;
    assert_eq!(offered, "900.00", "the amount defaults to what is left");

    // The bank transfer: recording, then recorded by the worker; paid in full.
    browser
        .click("#payment-method option[value=bank_transfer]")
        .await?;
    browser
        .fill("#payment-note", "Bank ref 2026-1206-77")
        .await?;
    browser.click("#payment-save").await?;
    browser
        .text_until("#money-banner", |t| {
            t.contains("Payment recorded: 900.00 UAH, bank transfer.")
        })
        .await?;
    browser
        .text_until("#money-balance", |t| t.contains("0.00 UAH"))
        .await?;
    browser
        .text_until("#money", |t| t.contains("paid") && !t.contains("unpaid"))
        .await?;
    browser
        .text_until("#payment-blocked", |t| t.contains("Paid in full"))
        .await?;
    browser
        .text_until("#timeline", |t| {
            t.contains("Payment received · Bank transfer") && t.contains("Bank ref 2026-1206-77")
        })
        .await?;
    let paid_at: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT paid_at FROM orders WHERE id = ?")
            .bind(order_id)
            .fetch_one(&stack.db)
            .await?;
    assert!(paid_at.is_some(), "the order is paid");
    let db = &stack.db;
    let audited_as = |action: &'static str| async move {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM staff_audit WHERE action = ? AND order_id = ?",
        )
        .bind(action)
        .bind(order_id)
        .fetch_one(db)
        .await
    };
    assert_eq!(audited_as("payment").await?, 1);

    // A partial refund: 150.00 UAH of it, with the reason.
    browser.fill("#refund-amount", "150").await?;
    browser
        .fill("#refund-reason", "50 flyers misprinted")
        .await?;
    browser.click("#refund-save").await?;
    browser
        .text_until("#money-banner", |t| {
            t.contains("Refund recorded: 150.00 UAH.")
        })
        .await?;
    let refunded = browser
        .text_until("#money-refunded", |t| t.contains("150.00 UAH"))
        .await?;
    assert!(refunded.contains("150.00 UAH"));
    browser
        .text_until("#money-balance", |t| t.contains("150.00 UAH"))
        .await?;
    browser
        .text_until("#money-lines", |t| {
            t.contains("Bank transfer") && t.contains("−150.00 UAH") && t.contains("Olha Manager")
        })
        .await?;
    browser
        .text_until("#timeline", |t| t.contains("50 flyers misprinted"))
        .await?;
    // What is left can be paid again: the form offers it.
    let offered = browser
        .run("return document.querySelector('#payment-amount').value")
        .await?;
    assert_eq!(offered, "150.00");
    // The page opened at the panel (`#payments`); the screenshot shows it under the header.
    browser.run("window.scrollTo(0, 0)").await?;
    browser.screenshot("office-payments").await?;
    assert_eq!(audited_as("refund").await?, 1);
    // The same panel in Ukrainian (the header's switch), then back to English.
    browser
        .go(&stack.web_url(&format!(
            "/office/language/uk?back=/office/orders/{order_id}"
        )))
        .await?;
    browser
        .text_until("#money-sum", |t| t.to_lowercase().contains("до сплати"))
        .await?;
    browser
        .text_until("#money-lines", |t| t.contains("Банківський переказ"))
        .await?;
    browser.screenshot("office-payments-uk").await?;
    browser
        .go(&stack.web_url(&format!(
            "/office/language/en?back=/office/orders/{order_id}"
        )))
        .await?;
    browser
        .text_until("#money-sum", |t| t.to_lowercase().contains("left to pay"))
        .await?;
    let paid_at: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT paid_at FROM orders WHERE id = ?")
            .bind(order_id)
            .fetch_one(&stack.db)
            .await?;
    assert!(paid_at.is_none(), "a refund leaves it unpaid");

    // Assigned to the executor: they see the order, no payments, and the form is refused.
    browser
        .click(&format!(
            "form[action$='/assign'] select[name=assignee] option[value='{petro}']"
        ))
        .await?;
    browser.click("form[action$='/assign'] button").await?;
    eventually("assigned to Petro", DEADLINE, || async {
        sqlx::query_scalar::<_, Option<Uuid>>("SELECT assignee_id FROM orders WHERE id = ?")
            .bind(order_id)
            .fetch_one(&stack.db)
            .await
            .ok()
            .flatten()
            .filter(|id| *id == petro)
    })
    .await?;
    browser.sign_out().await?;
    browser
        .sign_in(&stack, "petro@example.com", PASSWORD)
        .await?;
    browser.go(&page).await?;
    browser.find("#timeline").await?;
    let panel = browser
        .run("return document.querySelector('#payments') === null && !document.querySelector('form[action$=\"/payments\"]')")
        .await?;
    assert_eq!(
        panel,
        Value::Bool(true),
        "no payments panel for an executor"
    );
    let answer = browser
        .run(&format!(
            "return fetch('/office/orders/{order_id}/payments', {{method: 'POST', \
             headers: {{'Content-Type': 'application/x-www-form-urlencoded'}}, \
             body: 'amount=150&method=cash&currency=UAH&submission={}'}}) \
             .then(r => r.text().then(t => r.status + ' ' + t))",
            Uuid::now_v7()
        ))
        .await?;
    let answer = answer.as_str().unwrap_or_default();
    assert!(
        answer.starts_with("403 ")
            && answer.contains("Only admins and managers record payments and refunds."),
        "{answer}"
    );
    let lines = count(
        &stack,
        "SELECT COUNT(*) FROM order_payments WHERE order_id = ?",
        order_id,
    )
    .await?;
    assert_eq!(lines, 2, "one payment, one refund");
    assert_eq!(audited_as("payment").await?, 1);
    stack.teardown().await?;
    Ok(())
}
