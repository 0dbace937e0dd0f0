//! The business's details as an admin edits them in the back office: the bot's greeting and
//! "Contact us" read `business_details` on each use, so an edit reaches the very next message,
//! without a restart; a blank column falls back to the `[business]` settings.

use bot_gateway::texts::key;

use crate::support::{EN, Harness, UK};

#[tokio::test]
async fn greeting_and_contacts_follow_the_admins_edit_at_once() {
    let harness = Harness::new().await;
    let gateway = harness.start_gateway(harness.settings.clone()).await;
    let t = &harness.texts;
    let business = &harness.settings.business;
    let mut taras = harness.customer(harness.double.user_with(6001, "Taras", "en"));

    // Nothing edited yet: the bot's own greeting and the settings' contacts.
    taras.user.send_text("/start");
    taras
        .expect_reply(&t.format(EN, key::GREETING, &[("name", "Taras")]))
        .await;
    let contact = |name: &str, hours: &str| {
        t.format(
            EN,
            key::CONTACT,
            &[
                ("business", name),
                ("phone", &business.phone),
                ("email", &business.email),
                ("hours", hours),
            ],
        )
    };
    taras.user.send_text(&t.get(EN, key::MENU_CONTACT));
    taras
        .expect_reply(&contact(&business.name, &business.hours))
        .await;

    // The admin saves a name, hours and an English greeting; the phone and email stay blank.
    sqlx::query(
        "UPDATE business_details SET name = 'Slovo & Partners', hours = 'Mon–Sat 9–19',
             greeting_en = 'Welcome back, {name}! Tap “📝 New order”.' WHERE id = 1",
    )
    .execute(&harness.db)
    .await
    .unwrap();
    taras.user.send_text("/start");
    taras
        .expect_reply("Welcome back, Taras! Tap “📝 New order”.")
        .await;
    taras.user.send_text(&t.get(EN, key::MENU_CONTACT));
    taras
        .expect_reply(&contact("Slovo & Partners", "Mon–Sat 9–19"))
        .await;

    // A Ukrainian speaker still gets the bot's own Ukrainian greeting.
    let mut olena = harness.customer(harness.double.user_with(6002, "Олена", "uk"));
    olena.user.send_text("/start");
    olena
        .expect_reply(&t.format(UK, key::GREETING, &[("name", "Олена")]))
        .await;
    gateway.stop().await;
    harness.finish().await;
}
