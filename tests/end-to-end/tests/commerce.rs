//! Selling on the whole stack (all five services, the Telegram double with its Payments):
//! a customer fills a cart of two priced services in the bot, confirms, opens the order in
//! "My orders", pays (`sendInvoice` → `pre_checkout_query` → `successful_payment` on the
//! double), and staff see the order paid through the staff API and on the order page; an
//! order "on quote" is quoted by staff (the order page's form), accepted in Telegram and
//! paid the same way. The reminders of both follow: scheduled, called off by answer and
//! payment.

use std::time::Instant;

use anyhow::{Context, anyhow};
use bureau_accounts::Role;
use bureau_end_to_end::telegram_customer::{button_with_prefix, confirm, reply_since};
use bureau_end_to_end::telegram_double::{DoubleConfig, SentMessage, SimUser, TelegramDouble};
use bureau_end_to_end::{DEADLINE, TestStack, eventually, web};
use bureau_platform::Secret;
use serde_json::Value;
use uuid::Uuid;

const PROVIDER_TOKEN: &str = "284685063:TEST:e2e";

/// Presses the inline button labelled `label` under `message`; the bot's next message or
/// edit in the chat.
async fn press_label(
    double: &TelegramDouble,
    user: &SimUser,
    message: &SentMessage,
    label: &str,
) -> anyhow::Result<SentMessage> {
    let data = message
        .inline_buttons()
        .into_iter()
        .find(|(text, _)| text == label)
        .map(|(_, data)| data)
        .ok_or_else(|| anyhow!("no button {label:?} under {:?}", message.body()))?;
    let since = Instant::now();
    user.press_button(message.message_id, &data);
    reply_since(double, user, since, DEADLINE, |_| true).await
}

/// Opens the order in "My orders", presses Pay, pays the invoice; the invoice's amount.
async fn pay(
    stack: &TestStack,
    user: &SimUser,
    number: &str,
    order_id: Uuid,
) -> anyhow::Result<i64> {
    let double = &stack.telegram;
    let since = Instant::now();
    user.send_text("📋 My orders");
    let list = reply_since(double, user, since, DEADLINE, |m| {
        button_with_prefix(m, "od:").is_some()
    })
    .await
    .context("my orders")?;
    let open = list
        .inline_buttons()
        .into_iter()
        .find(|(text, data)| data.starts_with("od:") && text.contains(number))
        .map(|(_, data)| data)
        .ok_or_else(|| anyhow!("order {number} not in {:?}", list.body()))?;
    let since = Instant::now();
    user.press_button(list.message_id, &open);
    let page = reply_since(double, user, since, DEADLINE, |m| {
        button_with_prefix(m, "pay:").is_some()
    })
    .await
    .context("the order's page with Pay")?;
    let before = double.invoices_to(user.chat_id()).len();
    user.press_button(
        page.message_id,
        &button_with_prefix(&page, "pay:").unwrap_or_default(),
    );
    // The invoice Pay sent (the bot may also have sent one on its own when the order
    // became payable): the first after the press that names this order.
    let payload = format!("order:{}", order_id.simple());
    let invoice = eventually("the invoice", DEADLINE, || async {
        double
            .invoices_to(user.chat_id())
            .into_iter()
            .skip(before)
            .find(|invoice| invoice.payload == payload)
    })
    .await
    .context("the invoice")?;
    assert_eq!(invoice.currency, "UAH");
    assert_eq!(invoice.provider_token, PROVIDER_TOKEN);
    let query = user.pay(invoice.message_id);
    let answer = double
        .wait_for_pre_checkout_answer(&query, DEADLINE)
        .await?;
    assert!(answer.ok, "{answer:?}");
    Ok(invoice.total_amount)
}

async fn order_id_of(stack: &TestStack, number: &str) -> anyhow::Result<Uuid> {
    eventually("the order in MySQL", DEADLINE, || async {
        sqlx::query_scalar("SELECT id FROM orders WHERE order_number = ?")
            .bind(number)
            .fetch_optional(&stack.db)
            .await
            .ok()?
    })
    .await
}

/// The staff API's view of the order's payments, once it says paid.
async fn paid_by_staff_api(
    stack: &TestStack,
    token: &str,
    order_id: Uuid,
) -> anyhow::Result<Value> {
    eventually("the order paid in the staff API", DEADLINE, || async {
        let view: Value = stack
            .http
            .get(stack.web_url(&format!("/api/staff/orders/{order_id}/payments")))
            .bearer_auth(token)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (view["paid"] == true).then_some(view)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cart_is_paid_in_telegram_and_a_quoted_order_is_accepted_and_paid() -> anyhow::Result<()>
{
    let stack = TestStack::start_with(DoubleConfig::default(), |settings| {
        settings.telegram.payment_provider_token = Secret::new(PROVIDER_TOKEN);
    })
    .await?;
    let double = &stack.telegram;
    let manager = web::staff(&stack, "mila@example.com", Role::Manager).await?;

    // A cart of two services: notarisation (300 ₴) and a diploma translation (450 ₴/page).
    let user = double.user_with(8801, "Oksana", "en");
    let since = Instant::now();
    user.send_text("📝 New order");
    let top = reply_since(double, &user, since, DEADLINE, |m| {
        m.inline_buttons()
            .iter()
            .any(|(text, _)| text == "Notarisation — 300 ₴")
    })
    .await
    .context("the catalogue")?;
    press_label(double, &user, &top, "Notarisation — 300 ₴").await?;
    let card = reply_since(double, &user, since, DEADLINE, |m| {
        m.body().contains("Notarisation") && button_with_prefix(m, "confirm:").is_some()
    })
    .await
    .context("the card with the first service")?;
    let catalogue = press_label(double, &user, &card, "➕ Add a service").await?;
    let catalogue = reply_since(double, &user, since, DEADLINE, |m| {
        m.message_id == catalogue.message_id
            && m.inline_buttons()
                .iter()
                .any(|(t, _)| t == "📂 Translation")
    })
    .await?;
    let translation = press_label(double, &user, &catalogue, "📂 Translation").await?;
    let documents = press_label(double, &user, &translation, "📂 Documents").await?;
    press_label(double, &user, &documents, "Diploma — 450 ₴/page").await?;
    let card = reply_since(double, &user, since, DEADLINE, |m| {
        m.body().contains("Diploma")
            && m.body().contains("Notarisation")
            && button_with_prefix(m, "confirm:").is_some()
    })
    .await
    .context("the card with both services")?;
    let number = confirm(double, &user, &card, DEADLINE).await?;
    let order_id = order_id_of(&stack, &number).await?;
    let total: Option<u64> = sqlx::query_scalar("SELECT total_minor FROM orders WHERE id = ?")
        .bind(order_id)
        .fetch_one(&stack.db)
        .await?;
    assert_eq!(total, Some(75_000), "frozen from the price list");

    // Paid in Telegram: the invoice is the frozen total.
    assert_eq!(pay(&stack, &user, &number, order_id).await?, 75_000);
    let view = paid_by_staff_api(&stack, &manager, order_id).await?;
    assert_eq!(view["paid_minor"], 75_000, "{view}");
    assert_eq!(view["lines"][0]["method"], "telegram", "{view}");
    // The invoice reminder is called off by the payment.
    let reminder: Option<String> = sqlx::query_scalar(
        "SELECT skipped_reason FROM reminders WHERE kind = 'invoice_unpaid' AND subject_id = ?",
    )
    .bind(order_id)
    .fetch_one(&stack.db)
    .await?;
    assert_eq!(reminder.as_deref(), Some("paid"));
    // The order page says so.
    let page = stack
        .http
        .get(stack.web_url(&format!("/office/orders/{order_id}")))
        .bearer_auth(&manager)
        .header("accept-language", "en")
        .send()
        .await?
        .text()
        .await?;
    assert!(page.contains("750.00 UAH · paid"), "{page}");

    // An order written freely is on quote: staff quote it, the customer accepts and pays.
    let since = Instant::now();
    user.send_text("Translate a 40-page contract into Polish");
    let card = reply_since(double, &user, since, DEADLINE, |m| {
        m.body().contains("40-page contract") && button_with_prefix(m, "confirm:").is_some()
    })
    .await?;
    let quoted_number = confirm(double, &user, &card, DEADLINE).await?;
    let quoted_id = order_id_of(&stack, &quoted_number).await?;
    let answer = stack
        .http
        .post(stack.web_url(&format!("/office/orders/{quoted_id}/quote")))
        .bearer_auth(&manager)
        // The page's form, as the browser sends it (the back office's forms must say so).
        .header("sec-fetch-site", "same-origin")
        .form(&[("amount", "4800"), ("currency", "UAH")])
        .send()
        .await?;
    assert!(answer.status().is_success(), "{}", answer.text().await?);
    let quote = double
        .wait_for_message(user.chat_id(), DEADLINE, |m| {
            m.body().contains("4800.00 UAH") && button_with_prefix(m, "qa:").is_some()
        })
        .await?;
    let accept = button_with_prefix(&quote, "qa:").context("Accept")?;
    user.press_button(quote.message_id, &accept);
    eventually("the quote accepted", DEADLINE, || async {
        let status: Option<String> = sqlx::query_scalar("SELECT status FROM orders WHERE id = ?")
            .bind(quoted_id)
            .fetch_optional(&stack.db)
            .await
            .ok()?;
        (status.as_deref() == Some("accepted")).then_some(())
    })
    .await?;
    assert_eq!(
        pay(&stack, &user, &quoted_number, quoted_id).await?,
        480_000
    );
    let view = paid_by_staff_api(&stack, &manager, quoted_id).await?;
    assert_eq!(view["paid_minor"], 480_000, "{view}");
    let reminders: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT CAST(kind AS CHAR), skipped_reason FROM reminders WHERE subject_id = ? ORDER BY kind",
    )
    .bind(quoted_id)
    .fetch_all(&stack.db)
    .await?;
    assert_eq!(
        reminders,
        vec![
            ("quote_unanswered".into(), Some("answered".into())),
            ("invoice_unpaid".into(), Some("paid".into())),
        ]
    );
    Ok(())
}
