//! Albums: many files in one go, answered once (on the order's card), and a draft's cap on
//! files.

use bot_gateway::dialogue::MAX_FILES;
use bot_gateway::texts::key;

use crate::support::{Harness, UK};

#[tokio::test]
async fn an_album_is_answered_once_and_a_draft_is_capped() {
    let harness = Harness::new().await;
    let gateway = harness.start_gateway(harness.settings.clone()).await;
    let t = &harness.texts;
    let mut taras = harness.customer(harness.double.user_with(3003, "Тарас", "uk"));
    let pages = |count: usize| -> Vec<(String, String, Vec<u8>)> {
        (1..=count)
            .map(|i| {
                (
                    format!("page-{i}.pdf"),
                    "application/pdf".to_owned(),
                    format!("%PDF page {i}").into_bytes(),
                )
            })
            .collect()
    };

    taras
        .user
        .send_media_group(pages(3), Some("Договір, 3 сторінки"));
    // One answer: the order's card, new, with the three pages.
    let first = taras.next_reply().await;
    assert_eq!(
        first.body().matches("• page-").count(),
        3,
        "{}",
        first.body()
    );
    // An album as big as the double allows: the draft takes what fits; what was left out is
    // said, and the card (edited) shows what went in.
    taras.user.send_media_group(pages(30), None);
    let over = (33 - MAX_FILES).to_string();
    taras
        .expect_reply(&t.format(
            UK,
            key::DRAFT_ALBUM_OVER_LIMIT,
            &[("skipped", &over), ("limit", &MAX_FILES.to_string())],
        ))
        .await;
    let card = taras.next().await;
    assert!(card.edited && card.message_id == first.message_id);
    assert!(
        card.body().contains("Договір, 3 сторінки"),
        "the album's caption describes the order"
    );
    assert_eq!(
        card.body().matches("• page-").count(),
        MAX_FILES,
        "{}",
        card.body()
    );
    taras.assert_all_read();

    gateway.stop().await;
    harness.finish().await;
}
