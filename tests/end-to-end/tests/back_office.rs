//! The back office in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`, installed by `scripts/stack up`) driven over WebDriver with
//! fantoccini, against the whole stack (all five services, the Telegram double).
//!
//! A manager signs in, finds a Telegram customer's order by name, quotes a price; the
//! customer presses Accept in Telegram and the open page updates by itself; the manager
//! starts the work and the customer gets the push, replies and the customer gets the
//! message, writes an internal comment that never reaches the customer. An executor opening
//! someone else's order gets the refusal page; a forged form on another site is refused; a
//! customer named `<script>` is shown as text.
//!
//! A second run works in Ukrainian (`Accept-Language: uk`): the full list, the customers
//! and a customer's card, uploading a result from the order page (the customer receives
//! the document), dragging cards across the board (a move made; a move not offered and a
//! stale one put back with the reason), the pages in a phone-sized window; and an executor whose account
//! is deactivated loses the open page's live stream and their next request. Screenshots of the main pages are written to
//! `target/screenshots/`, or to the directory `BUREAU_SCREENSHOTS` names (the ones in
//! `docs/screenshots/` come from `BUREAU_SCREENSHOTS=docs/screenshots`). Without
//! `chromedriver` the test fails unless `BUREAU_SKIP_BROWSER=1` (run `scripts/stack up` first).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use bureau_accounts::Role;
use bureau_end_to_end::telegram_customer::{button_with_prefix, place_order};
use bureau_end_to_end::telegram_double::DoubleConfig;
use bureau_end_to_end::{DEADLINE, Service, TestStack, eventually};
use fantoccini::{Client, Locator};
use serde_json::json;
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery";

/// A headless Chromium behind its own chromedriver, both ended when dropped.
struct Browser {
    client: Client,
    _driver: bureau_end_to_end::browser::Driver,
}

async fn browser() -> anyhow::Result<Option<Browser>> {
    browser_in("en-US,en").await
}

/// A browser whose interface language is `lang` and which asks for `accept` in
/// `Accept-Language`.
/// Chromium asking for `accept` (its first language also the UI's).
async fn browser_in(accept: &str) -> anyhow::Result<Option<Browser>> {
    Ok(bureau_end_to_end::browser::chromium(accept, "1400,1000")
        .await?
        .map(|(client, driver)| Browser {
            client,
            _driver: driver,
        }))
}

impl Browser {
    async fn go(&self, url: &str) -> anyhow::Result<()> {
        self.client
            .goto(url)
            .await
            .map_err(|e| anyhow!("opening {url}: {e}"))
    }

    async fn fill(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let field = self.find(css).await?;
            field.clear().await.ok();
            match field.send_keys(text).await {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() < deadline && e.to_string().contains("stale") => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(anyhow!("typing into {css}: {e}")),
            }
        }
    }

    /// Clicks `css`, again if the page refreshed that part of itself under the click (a
    /// live update replaces the page's content).
    async fn click(&self, css: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            match self.find(css).await?.click().await {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() < deadline && e.to_string().contains("stale") => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(anyhow!("clicking {css}: {e}")),
            }
        }
    }

    /// The element, once it is there (the pages refresh parts of themselves).
    async fn find(&self, css: &str) -> anyhow::Result<fantoccini::elements::Element> {
        self.client
            .wait()
            .at_most(DEADLINE)
            .for_element(Locator::Css(css))
            .await
            .map_err(|e| anyhow!("waiting for {css}: {e}"))
    }

    /// The text of `css`, once `pred` accepts it.
    async fn text_until(&self, css: &str, pred: impl Fn(&str) -> bool) -> anyhow::Result<String> {
        let deadline = Instant::now() + DEADLINE;
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = element.text().await
            {
                if pred(&text) {
                    return Ok(text);
                }
                last = text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(anyhow!("{css} never matched; last text: {last:?}"))
    }

    async fn body(&self) -> anyhow::Result<String> {
        self.text_until("body", |_| true).await
    }

    async fn screenshot(&self, name: &str) -> anyhow::Result<()> {
        let png = self
            .client
            .screenshot()
            .await
            .map_err(|e| anyhow!("screenshot: {e}"))?;
        // Not into docs/ by default: a test run must not change files in the repository.
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let dir = match std::env::var_os("BUREAU_SCREENSHOTS") {
            Some(dir) => root.join(dir),
            None => root.join("target/screenshots"),
        };
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("{name}.png")), png)?;
        Ok(())
    }

    async fn sign_in(&self, stack: &TestStack, email: &str) -> anyhow::Result<()> {
        self.go(&stack.web_url("/office/sign-in")).await?;
        self.fill("input[name=email]", email).await?;
        self.fill("input[name=password]", PASSWORD).await?;
        self.click("#sign-in button[type=submit]").await?;
        self.find(".top nav").await?;
        Ok(())
    }

    async fn sign_out(&self) -> anyhow::Result<()> {
        self.click(".top form button").await?;
        self.find("#sign-in").await?;
        Ok(())
    }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_work_orders_in_a_real_browser() -> anyhow::Result<()> {
    let Some(browser) = browser().await? else {
        return Ok(());
    };
    let stack = TestStack::start().await?;
    let double = &stack.telegram;

    // A Telegram customer orders; a second order belongs to another executor.
    let user = double.user_with(7301, "Taras", "en");
    let number = place_order(
        double,
        &user,
        "Translate my passport into German",
        &[],
        DEADLINE,
    )
    .await?;
    let order_id = order_id_of(&stack, &number).await?;
    let manager = bureau_accounts::create_account(
        &stack.db,
        "maria@example.com",
        PASSWORD,
        "Maria Manager",
        Role::Manager,
    )
    .await
    .map_err(|e| anyhow!("{e}"))?;
    let _ = manager;

    // Sign in, find the order by the customer's name, open it.
    browser.sign_in(&stack, "maria@example.com").await?;
    browser.screenshot("office-list").await?;
    browser.fill("input[name=q]", "Test Customer").await?;
    browser.click("#filters button.primary").await?;
    browser
        .click(&format!("a[href='/office/orders/{order_id}']"))
        .await?;
    browser.find("#quote-form").await?;
    assert!(
        browser
            .body()
            .await?
            .contains("Translate my passport into German")
    );

    // Quote: the order moves to quoted and the customer gets Accept / Decline.
    browser
        .fill("#quote-form input[name=amount]", "1250")
        .await?;
    browser.click("#quote-form button").await?;
    browser
        .text_until("#request-banner", |t| t.contains("recorded"))
        .await?;
    let quoted = double
        .wait_for_message(user.chat_id(), DEADLINE, |m| {
            m.body().contains("the price is 1250.00 UAH")
        })
        .await?;
    browser.screenshot("office-order").await?;
    let accept = button_with_prefix(&quoted, "qa:").context("the Accept button")?;
    user.press_button(quoted.message_id, &accept);
    // The open page follows the staff feed and shows the recorded change by itself.
    browser.text_until("#status", |t| t == "Accepted").await?;

    // Start the work: pending until recorded, then the customer hears of it.
    let since = Instant::now();
    browser
        .click("#status-form select[name=to] option[value=in_progress]")
        .await?;
    browser.click("#status-form button").await?;
    browser
        .text_until("#request-banner", |t| t.contains("recorded"))
        .await?;
    double
        .wait_for_message(user.chat_id(), DEADLINE, |m| {
            m.at >= since && m.body().contains(&format!("Order №{number}: In progress"))
        })
        .await?;

    // Reply: the customer receives it. An internal comment: only the timeline shows it.
    browser
        .fill("#reply-form textarea", "Ready by Friday, 10:00.")
        .await?;
    browser.click("#reply-form button").await?;
    double
        .wait_for_message(user.chat_id(), DEADLINE, |m| {
            m.body().contains("Ready by Friday, 10:00.")
        })
        .await?;
    browser
        .fill(
            "#comment-form textarea",
            "Customer asked for a sworn translator",
        )
        .await?;
    browser.click("#comment-form button").await?;
    // The comment is recorded by the persistence worker after the page came back; the staff
    // feed announces it once recorded and the open page shows it without a reload.
    browser
        .text_until("#timeline", |t| {
            t.contains("Customer asked for a sworn translator")
        })
        .await?;
    browser.screenshot("office-order-timeline").await?;
    browser.go(&stack.web_url("/office/board")).await?;
    browser.find(".board").await?;
    browser.screenshot("office-board").await?;
    assert!(
        double
            .messages_to(user.chat_id())
            .iter()
            .all(|m| !m.body().contains("sworn translator")),
        "an internal comment never reaches the customer"
    );

    // A customer named <script> is text, and nothing runs.
    let evil = stack
        .http
        .post(stack.web_url("/api/accounts"))
        .json(&json!({"email": "evil@example.com", "password": PASSWORD,
                      "display_name": "<script>alert(1)</script>"}))
        .send()
        .await?;
    anyhow::ensure!(evil.status() == 201, "registering: {}", evil.status());
    let token = bureau_end_to_end::web::login(&stack, "evil@example.com", PASSWORD).await?;
    let placed = stack
        .http
        .post(stack.web_url("/api/orders"))
        .bearer_auth(&token)
        .multipart(reqwest::multipart::Form::new().text("text", "<b>bold</b> please"))
        .send()
        .await?;
    anyhow::ensure!(placed.status() == 201, "placing: {}", placed.status());
    let evil_number = placed.json::<serde_json::Value>().await?["order_number"]
        .as_str()
        .context("order_number")?
        .to_owned();
    order_id_of(&stack, &evil_number).await?;
    browser.go(&stack.web_url("/office")).await?;
    browser
        .text_until("table.orders", |t| t.contains("<script>alert(1)</script>"))
        .await?;
    assert!(
        browser.client.get_alert_text().await.is_err(),
        "no script ran"
    );

    // A forged form on another site (same host, another port: same-site, not same-origin)
    // posting to the order's status: refused, and nothing changed.
    let forged = forged_site(&stack.web_url(&format!("/office/orders/{order_id}/status"))).await?;
    browser.go(&forged).await?;
    browser.click("button").await?;
    // The browser lands on the refusal (403) at the form's target; what matters is that
    // nothing changed, checked below.
    let target = stack.web_url(&format!("/office/orders/{order_id}/status"));
    eventually("the forged form posted", DEADLINE * 2, || async {
        let url = browser.client.current_url().await.ok()?;
        (url.as_str() == target).then_some(())
    })
    .await?;
    let status: String = sqlx::query_scalar("SELECT status FROM orders WHERE id = ?")
        .bind(order_id)
        .fetch_one(&stack.db)
        .await?;
    assert_eq!(status, "in_progress");

    // An executor opening someone else's order gets the refusal page.
    browser.go(&stack.web_url("/office")).await?;
    browser.sign_out().await?;
    let other = bureau_accounts::create_account(
        &stack.db,
        "olha@example.com",
        PASSWORD,
        "Olha Executor",
        Role::Executor,
    )
    .await
    .map_err(|e| anyhow!("{e}"))?;
    bureau_accounts::create_account(
        &stack.db,
        "ivan@example.com",
        PASSWORD,
        "Ivan Executor",
        Role::Executor,
    )
    .await
    .map_err(|e| anyhow!("{e}"))?;
    sqlx::query("UPDATE orders SET assignee_id = ? WHERE id = ?")
        .bind(other)
        .bind(order_id)
        .execute(&stack.db)
        .await?;
    browser.sign_in(&stack, "ivan@example.com").await?;
    browser
        .go(&stack.web_url(&format!("/office/orders/{order_id}")))
        .await?;
    browser
        .text_until("main", |t| t.contains("assigned to someone else"))
        .await?;
    browser.screenshot("office-refusal").await?;

    browser.client.close().await.ok();
    stack.teardown().await
}

/// Orders as the persistence worker writes them, for a list that looks like a working day:
/// `count` orders of a few customers, in every status, some assigned.
async fn busy_day(stack: &TestStack, count: usize, assignee: Uuid) -> anyhow::Result<()> {
    const NAMES: [&str; 6] = [
        "Олена Коваль",
        "Ігор Шевченко",
        "Printing Co. Ltd",
        "Марія Бондар",
        "Dmytro Lysenko",
        "Наталія Мельник",
    ];
    const TEXTS: [&str; 6] = [
        "Переклад диплому з нотаріальним засвідченням",
        "Business cards, 500 pcs, matte, two-sided",
        "Ремонт ноутбука: не вмикається після оновлення",
        "Банер 3×1 м для вітрини, до п'ятниці",
        "Translate the contract (12 pages) into English",
        "Візитки 200 шт., глянець",
    ];
    const STATUSES: [&str; 8] = [
        "awaiting_confirmation",
        "quoted",
        "accepted",
        "in_progress",
        "ready",
        "delivered",
        "awaiting_confirmation",
        "in_progress",
    ];
    let mut customers = Vec::new();
    for (n, name) in NAMES.iter().enumerate() {
        let id = Uuid::now_v7();
        let now = chrono::Utc::now();
        sqlx::query(
            "INSERT INTO customers (id, display_name, phone, language, telegram_user_id, telegram_chat_id, \
             telegram_username, created_at, updated_at) VALUES (?, ?, ?, 'uk', ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(name)
        .bind(format!("+38067{:07}", 1_234_500 + n))
        .bind(9_100 + n as i64)
        .bind(9_100 + n as i64)
        .bind(format!("client{n}"))
        .bind(now)
        .bind(now)
        .execute(&stack.db)
        .await?;
        customers.push(id);
    }
    for n in 0..count {
        let at = chrono::Utc::now() - chrono::Duration::minutes(7 * (n as i64 + 1));
        let status = STATUSES[n % STATUSES.len()];
        sqlx::query(
            "INSERT INTO orders (id, order_number, customer_id, channel, body, status, status_version, \
             expected_files, assignee_id, created_at, updated_at) \
             VALUES (?, ?, ?, 'telegram', ?, ?, 1, 0, ?, ?, ?)",
        )
        .bind(Uuid::now_v7())
        .bind(format!("{}", 52_000_000 + n * 7919))
        .bind(customers[n % customers.len()])
        .bind(TEXTS[n % TEXTS.len()])
        .bind(status)
        .bind((n % 3 == 0).then_some(assignee))
        .bind(at)
        .bind(at)
        .execute(&stack.db)
        .await?;
    }
    Ok(())
}

impl Browser {
    /// Drags the card of `order_id` onto the board's column for `status`, as a person's
    /// mouse would (WebDriver cannot drive HTML5 drag and drop, so the same events are
    /// dispatched in the page); `version`: the card claims to show the order at it.
    async fn drag(&self, order_id: Uuid, status: &str, version: Option<u32>) -> anyhow::Result<()> {
        self.find(&format!("article[data-order-id='{order_id}']"))
            .await?;
        self.client
            .execute(
                "const card = document.querySelector(`article[data-order-id='${arguments[0]}']`);
                 const column = document.querySelector(`.column[data-status='${arguments[1]}']`);
                 if (arguments[2] !== null) card.dataset.version = String(arguments[2]);
                 const data = new DataTransfer();
                 const fire = (el, kind) => el.dispatchEvent(new DragEvent(kind,
                     { bubbles: true, cancelable: true, dataTransfer: data }));
                 fire(card, 'dragstart'); fire(column, 'dragenter'); fire(column, 'dragover');
                 fire(column, 'drop'); fire(card, 'dragend');",
                vec![json!(order_id.to_string()), json!(status), json!(version)],
            )
            .await
            .map_err(|e| anyhow!("dragging: {e}"))?;
        Ok(())
    }

    async fn window(&self, width: u32, height: u32) -> anyhow::Result<()> {
        self.client
            .set_window_size(width, height)
            .await
            .map_err(|e| anyhow!("resizing the window: {e}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_work_in_ukrainian_drag_cards_upload_results_and_lose_access() -> anyhow::Result<()> {
    let Some(browser) = browser_in("uk,en;q=0.5").await? else {
        return Ok(());
    };
    // Open streams check their session every second: a deactivated account's page loses
    // its live stream at once.
    let mut stack = TestStack::start_with(DoubleConfig::default(), |settings| {
        settings.web_gateway.live.session_check_secs = 1;
    })
    .await?;
    let double = &stack.telegram;
    let user = double.user_with(7401, "Оксана", "uk");
    let number = place_order(double, &user, "Надрукувати 100 флаєрів А5", &[], DEADLINE).await?;
    let order_id = order_id_of(&stack, &number).await?;
    let executor_user = double.user_with(7402, "Богдан", "uk");
    let executors_number =
        place_order(double, &executor_user, "Заламінувати меню", &[], DEADLINE).await?;
    let executors_order = order_id_of(&stack, &executors_number).await?;
    for (email, name, role) in [
        ("maria@example.com", "Марія Менеджерка", Role::Manager),
        ("ivan@example.com", "Іван Виконавець", Role::Executor),
    ] {
        bureau_accounts::create_account(&stack.db, email, PASSWORD, name, role)
            .await
            .map_err(|e| anyhow!("{e}"))?;
    }
    let ivan: Uuid = sqlx::query_scalar("SELECT id FROM web_accounts WHERE email = ?")
        .bind("ivan@example.com")
        .fetch_one(&stack.db)
        .await?;
    busy_day(&stack, 36, ivan).await?;

    // In Ukrainian, from Accept-Language; the whole list in one tall window.
    browser.sign_in(&stack, "maria@example.com").await?;
    let list = browser.text_until("main", |t| t.contains("Нове")).await?;
    assert!(list.contains("Олена Коваль"), "{list}");
    browser
        .text_until(".top nav", |t| t.contains("Клієнти"))
        .await?;
    browser.window(1400, 2600).await?;
    browser.screenshot("office-list-full").await?;
    browser.window(1400, 1000).await?;
    // Oldest first, kept in the URL.
    browser.click("#sort option[value=oldest]").await?;
    browser.click("#filters button.primary").await?;
    eventually("the sort in the URL", DEADLINE, || async {
        let url = browser.client.current_url().await.ok()?;
        url.as_str().contains("sort=oldest").then_some(())
    })
    .await?;

    // The customers, and one customer's card, reached from the order page.
    browser.go(&stack.web_url("/office/customers")).await?;
    browser
        .text_until("main", |t| t.contains("Наталія Мельник"))
        .await?;
    browser.screenshot("office-customers").await?;
    browser
        .go(&stack.web_url(&format!("/office/orders/{order_id}")))
        .await?;
    browser.click("#customer-name").await?;
    browser
        .text_until("#customer-title", |t| !t.is_empty())
        .await?;
    browser.text_until("main", |t| t.contains(&number)).await?;
    browser.screenshot("office-customer").await?;

    // A result uploaded from the order page reaches the customer as a document.
    browser
        .go(&stack.web_url(&format!("/office/orders/{order_id}")))
        .await?;
    browser.find("#result-upload input[type=file]").await?;
    browser
        .client
        .execute(
            "const input = document.querySelector('#result-upload input[type=file]');
             const data = new DataTransfer();
             data.items.add(new File([arguments[0]], 'flyers-proof.pdf', { type: 'application/pdf' }));
             input.files = data.files;",
            vec![json!("%PDF-1.4\n% a proof of the flyers\n%%EOF\n")],
        )
        .await
        .map_err(|e| anyhow!("choosing the file: {e}"))?;
    browser.click("#result-upload button").await?;
    browser
        .text_until("#result-upload .message", |t| t.contains("Завантажено"))
        .await?;
    double
        .wait_for_message(user.chat_id(), DEADLINE, |m| {
            m.document
                .as_ref()
                .is_some_and(|d| d.file_name == "flyers-proof.pdf")
        })
        .await?;
    let uploads: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM staff_audit WHERE action = 'result_upload' AND order_id = ?",
    )
    .bind(order_id)
    .fetch_one(&stack.db)
    .await?;
    assert_eq!(uploads, 1, "the upload is audited");

    // The board: a card dragged to "accepted" is accepted; dragged on to "ready" (not a
    // move from there) it stays and the reason is shown; a stale card (someone changed the
    // order meanwhile) snaps back with the conflict.
    let db = stack.db.clone();
    let status_of = || {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT status FROM orders WHERE id = ?")
                .bind(order_id)
                .fetch_one(&db)
                .await
                .ok()
        }
    };
    browser.go(&stack.web_url("/office/board")).await?;
    browser.find(".board article[draggable=true]").await?;
    browser.screenshot("office-board-uk").await?;
    browser.drag(order_id, "accepted", None).await?;
    eventually("the dragged order accepted", DEADLINE, || async {
        (status_of().await? == "accepted").then_some(())
    })
    .await?;
    // Every drag says what became of it, the next one right after the first included (no
    // reload in between): recorded, not offered, refused.
    browser
        .text_until("#toasts", |t| t.contains("Записано"))
        .await?;
    browser
        .find(&format!(
            ".column[data-status=accepted] article[data-order-id='{order_id}']:not(.moving):not([data-version='1'])"
        ))
        .await?;
    browser.drag(order_id, "ready", None).await?;
    browser
        .text_until("#toasts", |t| {
            t.contains("Сюди це замовлення перевести не можна")
        })
        .await?;
    // Refused by the gateway (the card's version is stale): the API's sentence comes in
    // the page's language.
    browser.drag(order_id, "in_progress", Some(1)).await?;
    let toasts = browser
        .text_until("#toasts", |t| {
            t.contains("Не змінено") && t.contains("змінилося, відколи ви його бачили")
        })
        .await?;
    assert!(!toasts.contains("changed since"), "{toasts}");
    browser.screenshot("office-board-refused").await?;
    browser
        .find(&format!(
            ".column[data-status=accepted] article[data-order-id='{order_id}']"
        ))
        .await?;
    assert_eq!(status_of().await.as_deref(), Some("accepted"));

    // Refused by the persistence worker (another change won the race while both were
    // pending): the worker's reason is English; the page says it in Ukrainian.
    let maria = bureau_end_to_end::web::login(&stack, "maria@example.com", PASSWORD).await?;
    let version: u32 = sqlx::query_scalar("SELECT status_version FROM orders WHERE id = ?")
        .bind(order_id)
        .fetch_one(&stack.db)
        .await?;
    browser
        .find(&format!(
            ".column[data-status=accepted] article[data-order-id='{order_id}'][data-version='{version}']:not(.moving)"
        ))
        .await?;
    stack.stop_service(Service::PersistenceWorker).await?;
    let first = stack
        .http
        .post(stack.web_url(&format!("/api/staff/orders/{order_id}/status")))
        .bearer_auth(&maria)
        .json(
            &json!({"to": "cancelled", "reason": "The customer phoned to cancel.",
                      "expected_version": version}),
        )
        .send()
        .await?;
    anyhow::ensure!(
        first.status() == 202,
        "the first change: {}",
        first.status()
    );
    browser.drag(order_id, "in_progress", Some(version)).await?;
    browser
        .find(&format!(
            ".column[data-status=in_progress] article[data-order-id='{order_id}'].moving"
        ))
        .await?;
    stack.start_service(Service::PersistenceWorker).await?;
    let toasts = browser
        .text_until("#toasts", |t| {
            t.contains("Замовлення тим часом змінив хтось інший")
        })
        .await?;
    assert!(!toasts.contains("changed since the request"), "{toasts}");
    eventually("the first change recorded", DEADLINE, || async {
        (status_of().await? == "cancelled").then_some(())
    })
    .await?;

    // A phone-sized window: the list and the order page still work.
    browser.window(390, 844).await?;
    browser.go(&stack.web_url("/office")).await?;
    browser.find("table.orders").await?;
    browser.screenshot("office-list-phone").await?;
    browser
        .go(&stack.web_url(&format!("/office/orders/{order_id}")))
        .await?;
    browser.find("#timeline").await?;
    browser.screenshot("office-order-phone").await?;
    // Nothing on the order page is wider than the phone: no sideways scrolling.
    let overflow = browser
        .client
        .execute(
            "return document.documentElement.scrollWidth - window.innerWidth;",
            vec![],
        )
        .await
        .map_err(|e| anyhow!("measuring the page: {e}"))?;
    assert!(
        overflow.as_i64().is_some_and(|px| px <= 0),
        "the order page scrolls sideways on a phone by {overflow} px"
    );
    browser.window(1400, 1000).await?;

    // An executor's open page: once their account is deactivated, its live stream ends
    // and their next request is refused (back to signing in).
    browser.go(&stack.web_url("/office")).await?;
    browser.sign_out().await?;
    sqlx::query("UPDATE orders SET assignee_id = ? WHERE id = ?")
        .bind(ivan)
        .bind(executors_order)
        .execute(&stack.db)
        .await?;
    browser.sign_in(&stack, "ivan@example.com").await?;
    browser
        .go(&stack.web_url(&format!("/office/orders/{executors_order}")))
        .await?;
    browser.find("body[data-feed=ready]").await?;
    sqlx::query("UPDATE web_accounts SET active = FALSE WHERE id = ?")
        .bind(ivan)
        .execute(&stack.db)
        .await?;
    browser.find("body[data-feed=closed]").await?;
    browser.find("#live-notice:not([hidden])").await?;
    browser
        .go(&stack.web_url(&format!("/office/orders/{executors_order}")))
        .await?;
    browser.find("#sign-in").await?;

    browser.client.close().await.ok();
    stack.teardown().await
}

/// A one-page site on another port holding a form that posts to `target`.
async fn forged_site(target: &str) -> anyhow::Result<String> {
    let page = format!(
        "<!doctype html><form method=post action=\"{target}\">\
         <input type=hidden name=to value=cancelled><input type=hidden name=reason value=forged>\
         <button>Win a prize</button></form>"
    );
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let page = page.clone();
            async move { axum::response::Html(page) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}/"))
}
