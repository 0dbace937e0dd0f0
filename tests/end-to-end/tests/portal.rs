//! The customer portal in a real browser: headless Chromium driven over WebDriver with
//! fantoccini (like `back_office.rs`), against the whole stack (all five services, the
//! Telegram double).
//!
//! A customer registers and signs in, places an order with a 50 MB file and watches the
//! progress bars reach 100 %; the open order page shows, without a reload, the file once
//! stored, a staff status change, a price (accepted from the page), a staff reply (answered
//! from the page); the result downloads with the right SHA-256; "Link Telegram" joins the
//! Telegram user who ordered in the bot, whose "My orders" then shows the web order and
//! whose bot order the portal shows; a browser asking for Ukrainian gets Ukrainian.
//! Screenshots go to `target/screenshots/` or to `BUREAU_SCREENSHOTS` (the ones in
//! `docs/screenshots/` come from `BUREAU_SCREENSHOTS=docs/screenshots`). Without
//! `chromedriver` the test fails unless `BUREAU_SKIP_BROWSER=1`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use bureau_accounts::Role;
use bureau_end_to_end::telegram_customer::place_order;
use bureau_end_to_end::{DEADLINE, TestStack, eventually, random_bytes, sha256_hex};
use bureau_test_support::smtp::SmtpDouble;
use fantoccini::{Client, Locator};
use serde_json::json;
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery";

/// A headless Chromium behind its own chromedriver, both ended when dropped.
struct Browser {
    client: Client,
    _driver: bureau_end_to_end::browser::Driver,
}

/// A browser whose `Accept-Language` is `languages` (e.g. `en-US,en`).
async fn browser(languages: &str) -> anyhow::Result<Option<Browser>> {
    Ok(bureau_end_to_end::browser::chromium(languages, "1280,1000")
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
        let field = self.find(css).await?;
        field.clear().await.ok();
        field
            .send_keys(text)
            .await
            .map_err(|e| anyhow!("typing into {css}: {e}"))
    }

    /// Clicks `css`, again if a live update replaced it under the click.
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

    async fn find(&self, css: &str) -> anyhow::Result<fantoccini::elements::Element> {
        self.client
            .wait()
            .at_most(DEADLINE)
            .for_element(Locator::Css(css))
            .await
            .map_err(|e| anyhow!("waiting for {css}: {e}"))
    }

    /// The text of `css`, once `pred` accepts it (within `wait`).
    async fn text_within(
        &self,
        css: &str,
        wait: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> anyhow::Result<String> {
        let deadline = Instant::now() + wait;
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

    async fn text_until(&self, css: &str, pred: impl Fn(&str) -> bool) -> anyhow::Result<String> {
        self.text_within(css, DEADLINE, pred).await
    }

    async fn attr(&self, css: &str, name: &str) -> anyhow::Result<String> {
        self.find(css)
            .await?
            .attr(name)
            .await
            .map_err(|e| anyhow!("{css}[{name}]: {e}"))?
            .with_context(|| format!("{css} has no {name}"))
    }

    /// Marks the document: a mark still there later proves the page was not reloaded.
    async fn mark(&self) -> anyhow::Result<()> {
        self.client
            .execute("document.body.dataset.mark = 'kept'; return true;", vec![])
            .await
            .map_err(|e| anyhow!("marking: {e}"))?;
        Ok(())
    }

    async fn still_marked(&self) -> anyhow::Result<bool> {
        let value = self
            .client
            .execute("return document.body.dataset.mark || '';", vec![])
            .await
            .map_err(|e| anyhow!("reading the mark: {e}"))?;
        Ok(value == json!("kept"))
    }

    /// The page from its top, as `name.png`.
    async fn screenshot(&self, name: &str) -> anyhow::Result<()> {
        self.client
            .execute("window.scrollTo(0, 0); return true;", vec![])
            .await
            .map_err(|e| anyhow!("scrolling: {e}"))?;
        let png = self
            .client
            .screenshot()
            .await
            .map_err(|e| anyhow!("screenshot: {e}"))?;
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let dir = match std::env::var_os("BUREAU_SCREENSHOTS") {
            Some(dir) => root.join(dir),
            None => root.join("target/screenshots"),
        };
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("{name}.png")), png)?;
        Ok(())
    }
}

/// What a staff member's browser sends with a back-office form.
async fn office_form(
    stack: &TestStack,
    token: &str,
    path: &str,
    form: &[(&str, &str)],
) -> anyhow::Result<()> {
    let response = stack
        .http
        .post(stack.web_url(path))
        .header("cookie", format!("bureau_session={token}"))
        .header("origin", stack.web_url(""))
        .form(form)
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success() || response.status().is_redirection(),
        "{path}: {}",
        response.status()
    );
    Ok(())
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
async fn a_web_customer_orders_follows_and_links_telegram_in_a_real_browser() -> anyhow::Result<()>
{
    let Some(browser) = browser("en-US,en").await? else {
        return Ok(());
    };
    let smtp = SmtpDouble::start().await?;
    let stack = TestStack::start_with(Default::default(), |settings| {
        settings.telegram.bot_username = "bureau_test_bot".into();
        smtp.configure(&mut settings.mail);
    })
    .await?;
    let double = &stack.telegram;

    // The same person ordered in Telegram before they had a web account.
    let user = double.user_with(7401, "Olena", "en");
    let bot_number = place_order(double, &user, "Apostille for my diploma", &[], DEADLINE).await?;
    order_id_of(&stack, &bot_number).await?;

    // Register (a rule broken first: the error is next to its field), then sign in.
    browser.go(&stack.web_url("/portal/register")).await?;
    browser.fill("input[name=name]", "Olena Koval").await?;
    browser
        .fill("input[name=email]", "olena@example.com")
        .await?;
    browser
        .fill("input[name=phone]", "+380 67 123 4567")
        .await?;
    browser.fill("input[name=password]", "12345").await?;
    browser.click("#register button[type=submit]").await?;
    browser
        .text_until("#password-error", |t| t.contains("too short"))
        .await?;
    browser.screenshot("portal-register").await?;
    browser.fill("input[name=password]", PASSWORD).await?;
    browser.click("#register button[type=submit]").await?;
    browser.find("#sign-in .notice").await?;

    // The verification mail: in the page's language, with a link that verifies the address
    // when the browser opens it.
    let mail = eventually("the verification mail", DEADLINE, || async {
        smtp.to("olena@example.com").into_iter().next()
    })
    .await?;
    assert_eq!(mail.language.as_deref(), Some("en"), "{mail:?}");
    assert!(mail.text.contains("Olena Koval"), "{}", mail.text);
    let link = mail
        .link_containing("/account/verify?token=")
        .with_context(|| format!("a verification link in {:?}", mail.text))?;
    let public = stack.settings.web_gateway.public_url.trim_end_matches('/');
    anyhow::ensure!(
        link.starts_with(&format!("{public}/account/verify?token=")) && link.ends_with("&lang=en"),
        "the link: {link}"
    );
    let verified_at = || async {
        sqlx::query_scalar::<_, Option<chrono::NaiveDateTime>>(
            "SELECT email_verified_at FROM web_accounts WHERE email = ?",
        )
        .bind("olena@example.com")
        .fetch_one(&stack.db)
        .await
    };
    anyhow::ensure!(
        verified_at().await?.is_none(),
        "verified before the link was opened"
    );
    browser.go(&stack.web_url(&link[public.len()..])).await?;
    browser
        .text_until("#account-said .notice", |t| t.contains("is verified"))
        .await?;
    browser.screenshot("account-verify").await?;
    anyhow::ensure!(verified_at().await?.is_some(), "the address is verified");
    // Used once: the same link again says it is spent.
    browser.go(&stack.web_url(&link[public.len()..])).await?;
    browser
        .text_until("#account-said .error", |t| t.contains("already used"))
        .await?;
    browser.go(&stack.web_url("/portal/sign-in")).await?;
    browser
        .fill("input[name=email]", "olena@example.com")
        .await?;
    browser.fill("input[name=password]", PASSWORD).await?;
    browser.click("#sign-in button[type=submit]").await?;
    browser.find("#orders").await?;

    // A new order with a 50 MB file: the bars reach 100 %.
    let dir = std::env::temp_dir().join(format!("portal-e2e-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let big = dir.join("scans.pdf");
    let mut bytes = b"%PDF-1.4\n".to_vec();
    bytes.extend(random_bytes(50 * 1024 * 1024));
    std::fs::write(&big, &bytes)?;
    browser.go(&stack.web_url("/portal/orders/new")).await?;
    browser
        .click("#service option[value='translation.diploma']")
        .await?;
    browser
        .fill(
            "textarea[name=text]",
            "Translate my diploma into German, please",
        )
        .await?;
    browser
        .find("#files")
        .await?
        .send_keys(&big.display().to_string())
        .await
        .map_err(|e| anyhow!("choosing the file: {e}"))?;
    browser.find("#uploads li").await?;
    browser.click("#send-order").await?;
    browser
        .text_within("#overall-pct", DEADLINE * 4, |t| t == "100 %")
        .await?;
    browser
        .text_until("#uploads .pct", |t| t == "100 %")
        .await?;
    browser.find("#order-done:not([hidden])").await?;
    browser.screenshot("portal-new-order").await?;
    let number = browser
        .text_until("#done-number", |t| t.starts_with('№'))
        .await?
        .trim_start_matches('№')
        .to_owned();
    let order_id = order_id_of(&stack, &number).await?;
    browser.click("#done-link").await?;
    browser.find("#order").await?;
    browser.mark().await?;
    // Stored by the storage worker: the page shows it without a reload.
    browser
        .text_within("#uploaded", DEADLINE * 2, |t| {
            t.contains("scans.pdf") && !t.contains("being checked")
        })
        .await?;

    // Staff quote a price: it appears; the customer accepts it from the page.
    let staff = bureau_end_to_end::web::staff(&stack, "maria@example.com", Role::Manager).await?;
    office_form(
        &stack,
        &staff,
        &format!("/office/orders/{order_id}/quote"),
        &[("amount", "1250"), ("currency", "UAH")],
    )
    .await?;
    browser
        .text_until("#quote .price", |t| t.contains("1250.00 UAH"))
        .await?;
    anyhow::ensure!(
        browser.still_marked().await?,
        "the price came without a reload"
    );
    browser.screenshot("portal-order-quote").await?;
    browser.click("#accept-quote").await?;
    browser.text_until("#status", |t| t == "Accepted").await?;

    // A staff status change appears on the open page without a reload.
    browser.mark().await?;
    let moved =
        bureau_end_to_end::web::change_status(&stack, &staff, order_id, "in_progress").await?;
    anyhow::ensure!(moved.status() == 202, "status change: {}", moved.status());
    browser
        .text_until("#status", |t| t == "In progress")
        .await?;
    anyhow::ensure!(
        browser.still_marked().await?,
        "the status came without a reload"
    );

    // A staff reply appears live; the answer goes back to staff.
    office_form(
        &stack,
        &staff,
        &format!("/office/orders/{order_id}/reply"),
        &[("text", "Ready by Friday. Sworn translator?")],
    )
    .await?;
    browser
        .text_until("#messages", |t| {
            t.contains("Ready by Friday. Sworn translator?")
        })
        .await?;
    anyhow::ensure!(
        browser.still_marked().await?,
        "the reply came without a reload"
    );
    browser
        .fill("#write textarea", "Yes, sworn, please.")
        .await?;
    browser.click("#write button").await?;
    eventually("the answer recorded for staff", DEADLINE, || async {
        let found: Option<String> = sqlx::query_scalar(
            "SELECT body FROM order_messages WHERE order_id = ? AND author_kind = 'customer'",
        )
        .bind(order_id)
        .fetch_optional(&stack.db)
        .await
        .ok()?;
        found.filter(|body| body == "Yes, sworn, please.")
    })
    .await?;
    browser
        .text_until("#messages", |t| t.contains("Yes, sworn, please."))
        .await?;

    // The result: staff attach it, the page shows it, it downloads with the right bytes.
    let result = random_bytes(300 * 1024);
    let attached = stack
        .http
        .post(stack.web_url(&format!("/api/staff/orders/{order_id}/results")))
        .bearer_auth(&staff)
        .multipart(reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(result.clone()).file_name("diploma-de.bin"),
        ))
        .send()
        .await?;
    anyhow::ensure!(
        attached.status().is_success(),
        "result: {}",
        attached.status()
    );
    browser.mark().await?;
    browser
        .text_within("#results", DEADLINE * 2, |t| t.contains("diploma-de.bin"))
        .await?;
    anyhow::ensure!(
        browser.still_marked().await?,
        "the result came without a reload"
    );
    browser.screenshot("portal-order").await?;
    let href = browser.attr("#results a.download", "href").await?;
    let cookie = browser
        .client
        .get_named_cookie("bureau_session")
        .await
        .map_err(|e| anyhow!("the session cookie: {e}"))?;
    let downloaded = stack
        .http
        .get(if href.starts_with("http") {
            href.clone()
        } else {
            stack.web_url(&href)
        })
        .header("cookie", format!("bureau_session={}", cookie.value()))
        .send()
        .await?;
    anyhow::ensure!(
        downloaded.status() == 200,
        "download: {}",
        downloaded.status()
    );
    let body = downloaded.bytes().await?;
    assert_eq!(sha256_hex(&body), sha256_hex(&result), "the result's bytes");

    // A cart of two services: add, change a quantity, remove, the running total from the
    // server; a price changed during checkout is caught; the order freezes what was shown.
    browser.go(&stack.web_url("/portal/orders/new")).await?;
    browser
        .click("#service option[value='translation.diploma']")
        .await?;
    browser.fill("#add-quantity", "2").await?;
    browser.click("#add-to-cart").await?;
    browser
        .text_until("#cart-total", |t| t == "900.00 UAH")
        .await?;
    browser
        .click("#service option[value='notarisation']")
        .await?;
    browser.click("#add-to-cart").await?;
    browser
        .text_until("#cart-total", |t| t == "1200.00 UAH")
        .await?;
    browser
        .fill("input[name='qty.translation.diploma']", "3")
        .await?;
    browser.click("#cart-update").await?;
    browser
        .text_until("#cart-total", |t| t == "1650.00 UAH")
        .await?;
    browser
        .fill("input[name='qty.translation.diploma']", "1000000")
        .await?;
    browser.click("#cart-update").await?;
    browser
        .text_until("#cart .qty-error", |t| t.contains("at most 999"))
        .await?;
    browser
        .fill("input[name='qty.translation.diploma']", "2")
        .await?;
    browser.click("button[value='remove.notarisation']").await?;
    browser
        .text_until("#cart-total", |t| t == "900.00 UAH")
        .await?;
    browser
        .click("#service option[value='notarisation']")
        .await?;
    browser.click("#add-to-cart").await?;
    browser
        .text_until("#cart-total", |t| t == "1200.00 UAH")
        .await?;
    browser
        .fill("textarea[name=text]", "Diploma, two copies, notarised")
        .await?;
    browser.screenshot("portal-cart").await?;
    // Staff raise the notarisation's price while the customer is checking out.
    sqlx::query("UPDATE catalogue_services SET price_minor = 35000 WHERE code = 'notarisation'")
        .execute(&stack.db)
        .await?;
    browser.click("#send-order").await?;
    browser
        .text_until("#cart-message", |t| t.contains("Prices changed"))
        .await?;
    browser
        .text_until("#cart-total", |t| t == "1250.00 UAH")
        .await?;
    browser.screenshot("portal-cart-repriced").await?;
    browser.click("#send-order").await?;
    browser
        .text_until("#items-total", |t| t == "1250.00 UAH")
        .await?;
    let cart_number = browser.text_until("#order h1", |t| t.contains('№')).await?;
    let cart_number = cart_number
        .rsplit('№')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let frozen: (Option<u64>, Option<String>) =
        eventually("the cart order recorded", DEADLINE, || async {
            sqlx::query_as("SELECT total_minor, total_currency FROM orders WHERE order_number = ?")
                .bind(&cart_number)
                .fetch_optional(&stack.db)
                .await
                .ok()?
        })
        .await?;
    assert_eq!(frozen, (Some(125_000), Some("UAH".to_owned())));
    let lines: Vec<(String, u32, u64)> = sqlx::query_as(
        "SELECT i.service_code, i.quantity, i.unit_price_minor FROM order_items i \
         JOIN orders o ON o.id = i.order_id WHERE o.order_number = ? ORDER BY i.position",
    )
    .bind(&cart_number)
    .fetch_all(&stack.db)
    .await?;
    assert_eq!(
        lines,
        [
            ("translation.diploma".to_owned(), 2, 45_000),
            ("notarisation".to_owned(), 1, 35_000)
        ]
    );
    browser.screenshot("portal-order-cart").await?;

    // Link Telegram: the bot joins the identities; both channels show both orders.
    browser.go(&stack.web_url("/portal/profile")).await?;
    browser.click("#link-telegram").await?;
    let start = browser.attr("#open-bot", "href").await?;
    let token = start
        .strip_prefix("https://t.me/bureau_test_bot?start=")
        .context("the bot's start link")?
        .to_owned();
    browser.screenshot("portal-profile").await?;
    let since = Instant::now();
    user.send_text(&format!("/start {token}"));
    double
        .wait_for_message(user.chat_id(), DEADLINE, |m| {
            m.at >= since && m.body().contains("linked to your web account")
        })
        .await?;
    let since = Instant::now();
    user.send_text("📋 My orders");
    double
        .wait_for_message(user.chat_id(), DEADLINE, |m| {
            m.at >= since
                && m.inline_buttons()
                    .iter()
                    .any(|(label, _)| label.contains(&number))
                && m.inline_buttons()
                    .iter()
                    .any(|(label, _)| label.contains(&bot_number))
        })
        .await?;
    browser.go(&stack.web_url("/portal/orders")).await?;
    browser
        .text_until("#orders", |t| {
            t.contains(&number) && t.contains(&bot_number)
        })
        .await?;
    browser.screenshot("portal-orders").await?;
    browser.client.set_window_size(390, 844).await.ok();
    browser.screenshot("portal-orders-phone").await?;
    browser
        .go(&stack.web_url(&format!("/portal/orders/{number}")))
        .await?;
    browser.find("#order").await?;
    browser.screenshot("portal-order-phone").await?;
    browser.client.set_window_size(1280, 1000).await.ok();

    // Forgot the password: the page mails a one-time link; the reset page tells a broken
    // rule next to the field and keeps the link usable; the new password signs in.
    browser.go(&stack.web_url("/account/forgot")).await?;
    browser
        .fill("#forgot input[name=email]", "olena@example.com")
        .await?;
    browser.screenshot("account-forgot").await?;
    browser.click("#forgot button[type=submit]").await?;
    browser
        .text_until("#account-said .notice", |t| t.contains("we sent it a link"))
        .await?;
    let reset = eventually("the reset mail", DEADLINE, || async {
        smtp.to("olena@example.com")
            .into_iter()
            .find_map(|mail| mail.link_containing("/account/reset?token="))
    })
    .await?;
    browser.go(&stack.web_url(&reset[public.len()..])).await?;
    browser
        .fill("#reset input[name=password]", "123456789012345")
        .await?;
    browser.click("#reset button[type=submit]").await?;
    browser
        .text_until("#password-error", |t| t.contains("entirely numeric"))
        .await?;
    browser.screenshot("account-reset").await?;
    browser
        .fill("#reset input[name=password]", "a new horse battery staple")
        .await?;
    browser.click("#reset button[type=submit]").await?;
    browser
        .text_until("#account-said .notice", |t| {
            t.contains("password is changed")
        })
        .await?;
    let signed_in = stack
        .http
        .post(stack.web_url("/api/session"))
        .json(&json!({"email": "olena@example.com", "password": "a new horse battery staple"}))
        .send()
        .await?;
    anyhow::ensure!(
        signed_in.status().is_success(),
        "sign-in with the new password: {}",
        signed_in.status()
    );

    // The API reference, rendered by the embedded RapiDoc from /api/openapi.json.
    browser.go(&stack.web_url("/api/docs")).await?;
    let deadline = Instant::now() + DEADLINE;
    loop {
        let rendered = browser
            .client
            .execute(
                "const d = document.querySelector('rapi-doc'); \
                 return !!(d && d.shadowRoot && d.shadowRoot.textContent.includes('/api/orders'));",
                vec![],
            )
            .await
            .map_err(|e| anyhow!("reading the reference: {e}"))?;
        if rendered == json!(true) {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the API reference never rendered"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    browser.screenshot("api-docs").await?;

    browser.client.close().await.ok();

    // A browser that asks for Ukrainian gets Ukrainian: bad input is told next to its
    // field in Ukrainian, the verification mail is Ukrainian, the cart refuses in Ukrainian.
    if let Some(ukrainian) = self::browser("uk-UA,uk").await? {
        ukrainian.go(&stack.web_url("/portal/sign-in")).await?;
        ukrainian
            .text_until("#sign-in h1", |t| t == "Увійти")
            .await?;
        let lang = ukrainian.attr("html", "lang").await?;
        assert_eq!(lang, "uk");
        ukrainian.screenshot("portal-sign-in-uk").await?;

        ukrainian.go(&stack.web_url("/portal/register")).await?;
        ukrainian.fill("input[name=name]", " ").await?;
        ukrainian.fill("input[name=email]", "oksana@").await?;
        ukrainian.fill("input[name=phone]", "дзвоніть").await?;
        ukrainian.fill("input[name=password]", "123").await?;
        ukrainian.click("#register button[type=submit]").await?;
        ukrainian
            .text_until("#name-error", |t| t.contains("Введіть ваше ім'я"))
            .await?;
        ukrainian
            .text_until("#email-error", |t| t.contains("правильну адресу"))
            .await?;
        ukrainian
            .text_until("#phone-error", |t| t.contains("Введіть номер телефону"))
            .await?;
        ukrainian.screenshot("portal-register-uk").await?;
        ukrainian.fill("input[name=name]", "Оксана Бондар").await?;
        ukrainian
            .fill("input[name=email]", "oksana@example.com")
            .await?;
        ukrainian.fill("input[name=phone]", "").await?;
        ukrainian.fill("input[name=password]", PASSWORD).await?;
        ukrainian.click("#register button[type=submit]").await?;
        ukrainian.find("#sign-in .notice").await?;
        let mail = eventually("the Ukrainian verification mail", DEADLINE, || async {
            smtp.to("oksana@example.com").into_iter().next()
        })
        .await?;
        assert_eq!(mail.language.as_deref(), Some("uk"), "{mail:?}");
        anyhow::ensure!(
            mail.link_containing("/account/verify?token=")
                .is_some_and(|link| link.ends_with("&lang=uk")),
            "{}",
            mail.text
        );
        ukrainian.fill("input[name=password]", PASSWORD).await?;
        ukrainian.click("#sign-in button[type=submit]").await?;
        ukrainian.find("#orders").await?;
        ukrainian.go(&stack.web_url("/portal/orders/new")).await?;
        ukrainian
            .click("#service option[value='translation.passport']")
            .await?;
        ukrainian.fill("#add-quantity", "0").await?;
        ukrainian.click("#add-to-cart").await?;
        ukrainian
            .text_until("#service-error", |t| {
                t == "Кількість має бути щонайменше 1."
            })
            .await?;
        ukrainian.screenshot("portal-cart-refused-uk").await?;
        ukrainian.client.close().await.ok();
    }
    std::fs::remove_dir_all(&dir).ok();
    stack.teardown().await
}
