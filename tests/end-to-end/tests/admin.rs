//! Running the business in a real browser (headless Chromium over WebDriver, the whole stack,
//! Telegram doubled):
//!
//! - an admin invites an executor; the invitation is e-mailed (read from the SMTP double,
//!   `bureau_test_support::smtp`) and the admin told so; the executor opens the mailed
//!   one-time link, sets a password (the policy's errors shown next to the field first)
//!   and signs in;
//! - a manager cannot reach staff management, adds a service with a price, and a Telegram
//!   customer sees it with its price in the bot's catalogue at once;
//! - the admin changes the business's name and the bot's "Contact us" says it at once.
//!
//! Screenshots go to `target/screenshots/` (or `BUREAU_SCREENSHOTS`, e.g. `docs/screenshots`).

use std::time::Instant;

use anyhow::{Context, anyhow};
use bureau_accounts::Role;
use bureau_end_to_end::browser::browser;
use bureau_end_to_end::telegram_double::DoubleConfig;
use bureau_end_to_end::{DEADLINE, TestStack, eventually};
use bureau_test_support::smtp::SmtpDouble;

const PASSWORD: &str = "correct horse battery";
const NEW_PASSWORD: &str = "a quiet orchard in Lviv";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_runs_the_business_from_the_back_office() -> anyhow::Result<()> {
    let Some(browser) = browser().await? else {
        return Ok(());
    };
    let smtp = SmtpDouble::start().await?;
    let stack = TestStack::start_with(DoubleConfig::default(), |settings| {
        smtp.configure(&mut settings.mail)
    })
    .await?;
    let double = &stack.telegram;
    for (email, name, role) in [
        ("ada@example.com", "Ada Admin", Role::Admin),
        ("maria@example.com", "Maria Manager", Role::Manager),
    ] {
        bureau_accounts::create_account(&stack.db, email, PASSWORD, name, role)
            .await
            .map_err(|e| anyhow!("{e}"))?;
    }

    // The admin invites an executor; the one-time link goes to the executor by mail.
    browser.sign_in(&stack, "ada@example.com", PASSWORD).await?;
    browser.go(&stack.web_url("/office/staff")).await?;
    browser
        .fill("#invite-form input[name=name]", "Ivan Executor")
        .await?;
    browser
        .fill("#invite-form input[name=email]", "ivan@example.com")
        .await?;
    browser
        .click("#invite-form select[name=role] option[value=executor]")
        .await?;
    browser
        .click("#invite-form select[name=language] option[value=en]")
        .await?;
    browser.click("#invite-form button.primary").await?;
    browser
        .text_until("#link-mailed", |t| t.contains("ivan@example.com"))
        .await?;
    let shown = browser
        .run("return document.getElementById('set-password-link') !== null;")
        .await?;
    anyhow::ensure!(
        shown.as_bool() == Some(false),
        "a mailed link is not shown to the admin"
    );
    browser.screenshot("admin-invite-mailed").await?;
    let invitation = eventually("the invitation in the mailbox", DEADLINE, || async {
        anyhow::Ok(smtp.to("ivan@example.com").into_iter().next())
    })
    .await?;
    anyhow::ensure!(
        invitation.language.as_deref() == Some("en")
            && invitation.subject.contains("invitation")
            && invitation.text.contains("Ada Admin"),
        "the invitation: {invitation:?}"
    );
    let link = invitation
        .link_containing("/office/set-password/")
        .context("a set-password link in the mail")?;
    // The link is made on `web_gateway.public_url`; this stack's gateway listens elsewhere.
    let path = &link[link.find("/office/").context("a back-office link")?..];
    let link = stack.web_url(path);
    browser.go(&stack.web_url("/office/staff")).await?;
    browser
        .text_until("#staff", |t| t.contains("ivan@example.com"))
        .await?;
    browser.screenshot("admin-staff").await?;
    browser.sign_out().await?;

    // The executor opens the link: a breached password is refused next to the field, then a
    // good one is saved, and the executor signs in with it.
    browser.go(&link).await?;
    browser
        .fill("#set-password-form input[name=password]", "1qaz2wsx3edc")
        .await?;
    browser
        .fill("#set-password-form input[name=repeat]", "1qaz2wsx3edc")
        .await?;
    browser.click("#set-password-form button").await?;
    browser
        .text_until("#password-errors", |t| t.contains("too common"))
        .await?;
    browser.screenshot("admin-set-password-refused").await?;
    browser
        .fill("#set-password-form input[name=password]", NEW_PASSWORD)
        .await?;
    browser
        .fill("#set-password-form input[name=repeat]", NEW_PASSWORD)
        .await?;
    browser.click("#set-password-form button").await?;
    browser.find("#password-saved").await?;
    browser
        .sign_in(&stack, "ivan@example.com", NEW_PASSWORD)
        .await?;
    let nav = browser.text_until(".top nav", |_| true).await?;
    anyhow::ensure!(!nav.contains("Staff"), "an executor's menu: {nav}");
    browser.sign_out().await?;

    // A manager cannot reach staff management…
    browser
        .sign_in(&stack, "maria@example.com", PASSWORD)
        .await?;
    let nav = browser.text_until(".top nav", |_| true).await?;
    anyhow::ensure!(
        nav.contains("Catalogue") && !nav.contains("Staff"),
        "a manager's menu: {nav}"
    );
    browser.go(&stack.web_url("/office/staff")).await?;
    browser
        .text_until("main", |t| t.contains("Only admins can open this page."))
        .await?;
    browser.screenshot("admin-manager-refused").await?;

    // …but adds a service with a price.
    browser.go(&stack.web_url("/office/catalogue")).await?;
    browser.click("#add-service").await?;
    browser
        .fill("#service-form input[name=name_uk]", "Засвідчена копія")
        .await?;
    browser
        .fill("#service-form input[name=name_en]", "Certified copy")
        .await?;
    browser
        .fill("#service-form input[name=price]", "275")
        .await?;
    browser
        .click("#service-form select[name=unit] option[value=page]")
        .await?;
    browser
        .fill("#service-form input[name=position]", "5")
        .await?;
    browser.click("#service-form button.primary").await?;
    browser
        .text_until("#catalogue", |t| {
            t.contains("Certified copy") && t.contains("275 ₴/page")
        })
        .await?;
    browser.screenshot("admin-catalogue").await?;
    browser
        .go(&stack.web_url("/office/catalogue/services/new"))
        .await?;
    browser.screenshot("admin-service-form").await?;

    // A Telegram customer opens the catalogue: the new service is there, with its price.
    let user = double.user_with(7401, "Taras", "en");
    let since = Instant::now();
    user.send_text("/start");
    double
        .wait_for_message(user.chat_id(), DEADLINE, |m| {
            m.at >= since && m.reply_markup.is_some()
        })
        .await?;
    let since = Instant::now();
    user.send_text("📝 New order");
    let catalogue = double
        .wait_for_message(user.chat_id(), DEADLINE, |m| {
            m.at >= since
                && m.inline_buttons()
                    .iter()
                    .any(|(label, _)| label == "Certified copy — 275 ₴/page")
        })
        .await
        .context("the new service with its price in the bot's catalogue")?;
    anyhow::ensure!(
        catalogue
            .inline_buttons()
            .iter()
            .any(|(label, _)| label == "Notarisation — 300 ₴"),
        "prices on the other buttons too"
    );
    browser.sign_out().await?;

    // The admin renames the business; the bot's "Contact us" says so at once.
    browser.sign_in(&stack, "ada@example.com", PASSWORD).await?;
    browser.go(&stack.web_url("/office/business")).await?;
    browser
        .fill("#business-form input[name=name]", "Slovo & Partners")
        .await?;
    browser.click("#business-form button.primary").await?;
    browser.find("#saved").await?;
    browser.screenshot("admin-business").await?;
    let since = Instant::now();
    user.send_text("☎️ Contact us");
    double
        .wait_for_message(user.chat_id(), DEADLINE, |m| {
            m.at >= since && m.body().contains("Slovo & Partners")
        })
        .await
        .context("the new name in Contact us")?;

    // Everything above is in the audit log.
    browser.go(&stack.web_url("/office/audit")).await?;
    let log = browser
        .text_until("#audit", |t| t.contains("business_details_update"))
        .await?;
    for action in ["staff_invite", "catalogue_service_create", "sign_in"] {
        anyhow::ensure!(log.contains(action), "{action} in the audit log: {log}");
    }
    browser.screenshot("admin-audit").await?;

    // The same pages in Ukrainian.
    browser
        .go(&stack.web_url("/office/language/uk?back=/office/staff"))
        .await?;
    browser
        .text_until("main", |t| {
            t.contains("Працівники") && t.contains("виконавець")
        })
        .await?;
    browser.screenshot("admin-staff-uk").await?;
    stack.teardown().await?;
    Ok(())
}
