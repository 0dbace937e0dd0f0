//! Albums (media groups): Telegram delivers each item as its own update, a few milliseconds
//! apart. Answering each would flood the chat (and Telegram's per-chat limit), so the items
//! are tallied in the stored draft under the album's id and answered once, when no new item
//! has come for [`QUIET`]: whichever replica handled the last item sends the answer.
//!
//! The wait is in memory: if the gateway stops in that second, the files are kept in the
//! draft but the album's answer is not sent (the next message's answer shows the count).

use std::sync::Arc;
use std::time::Duration;

use teloxide::prelude::*;

use super::Desk;
use crate::attachments::FileOutcome;
use crate::dialogue::{Album, ChatDialogue, Draft, Language, MAX_FILES};
use crate::keyboards;
use crate::telegram::GatewayBot;
use crate::texts::{Texts, key};

/// How long after an album's last item it counts as complete.
const QUIET: Duration = Duration::from_millis(1_000);

/// Tallies one album item in the draft. If another album was still open, it is returned as
/// finished, for the caller to answer now.
pub fn note(
    mut draft: Draft,
    group_id: &str,
    name: &str,
    outcome: &FileOutcome,
) -> (Draft, Option<Album>) {
    let finished = draft.album.take_if(|album| album.group_id != group_id);
    let album = draft.album.get_or_insert_with(|| Album {
        group_id: group_id.to_owned(),
        ..Album::default()
    });
    album.items += 1;
    match outcome {
        FileOutcome::Added => album.added += 1,
        FileOutcome::TooLarge | FileOutcome::TooLargeNoLinks => {
            album.too_large.push(name.to_owned())
        }
        FileOutcome::RefusedType => album.refused.push(name.to_owned()),
        FileOutcome::DraftFull => album.over_limit += 1,
    }
    (draft, finished)
}

/// The one answer to an album: how many files it added, and what was left out and why.
pub fn answer_text(
    texts: &Texts,
    language: Language,
    limit_mb: u64,
    album: &Album,
    draft: &Draft,
) -> String {
    let limit_mb = limit_mb.to_string();
    let added = album.added.to_string();
    let count = draft.file_count().to_string();
    let mut parts = vec![texts.format(
        language,
        key::DRAFT_ALBUM_RECEIVED,
        &[("added", &added), ("count", &count)],
    )];
    if album.over_limit > 0 {
        let (skipped, limit) = (album.over_limit.to_string(), MAX_FILES.to_string());
        parts.push(texts.format(
            language,
            key::DRAFT_ALBUM_OVER_LIMIT,
            &[("skipped", &skipped), ("limit", &limit)],
        ));
    }
    for name in &album.refused {
        parts.push(texts.format(language, key::DRAFT_FILE_REFUSED, &[("name", name)]));
    }
    for name in &album.too_large {
        parts.push(texts.format(
            language,
            key::DRAFT_FILE_TOO_LARGE,
            &[("name", name), ("limit_mb", &limit_mb)],
        ));
    }
    parts.join("\n\n")
}

pub async fn answer(
    bot: &GatewayBot,
    desk: &Desk,
    language: Language,
    chat_id: ChatId,
    album: &Album,
    draft: &Draft,
) -> Result<(), teloxide::RequestError> {
    let text = answer_text(
        &desk.texts,
        language,
        desk.files.limit.megabytes(),
        album,
        draft,
    );
    bot.send_message(chat_id, text)
        .reply_markup(keyboards::collecting(
            desk.texts.words(language),
            draft.order_id,
        ))
        .await?;
    Ok(())
}

/// After [`QUIET`], answers the album if its item count is still `items` (no later item
/// came, and no other handler answered it yet).
pub fn answer_when_complete(
    bot: GatewayBot,
    desk: Arc<Desk>,
    chat_id: ChatId,
    group_id: String,
    items: u32,
) {
    tokio::spawn(async move {
        tokio::time::sleep(QUIET).await;
        if let Err(error) = answer_if_complete(&bot, &desk, chat_id, &group_id, items).await {
            tracing::warn!(%error, chat_id = chat_id.0, "album not answered");
        }
    });
}

async fn answer_if_complete(
    bot: &GatewayBot,
    desk: &Desk,
    chat_id: ChatId,
    group_id: &str,
    items: u32,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let _turn = desk.turns.take(chat_id.0).await?;
    let dialogue = ChatDialogue::new(desk.storage.clone(), chat_id);
    let Some(conversation) = dialogue.get().await? else {
        return Ok(());
    };
    let Some(mut draft) = conversation.draft().cloned() else {
        return Ok(());
    };
    let complete = draft
        .album
        .as_ref()
        .is_some_and(|album| album.group_id == group_id && album.items == items);
    if !complete {
        return Ok(());
    }
    let Some(album) = draft.album.take() else {
        return Ok(());
    };
    dialogue
        .update(conversation.drafting(draft.clone()))
        .await?;
    answer(bot, desk, conversation.language, chat_id, &album, &draft).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_tallied_per_album_and_a_new_album_finishes_the_old() {
        let draft = Draft::new();
        let (draft, finished) = note(draft, "a", "1.pdf", &FileOutcome::Added);
        assert!(finished.is_none());
        let (draft, _) = note(draft, "a", "2.exe", &FileOutcome::RefusedType);
        let (draft, _) = note(draft, "a", "3.pdf", &FileOutcome::DraftFull);
        let album = draft.album.clone().unwrap();
        assert_eq!(
            (
                album.items,
                album.added,
                album.over_limit,
                album.refused.clone()
            ),
            (3, 1, 1, vec!["2.exe".to_owned()])
        );
        let (draft, finished) = note(draft, "b", "4.pdf", &FileOutcome::Added);
        assert_eq!(finished, Some(album));
        assert_eq!(draft.album.unwrap().group_id, "b");
    }

    #[test]
    fn the_answer_says_what_was_left_out() {
        let texts = Texts::load();
        let album = Album {
            group_id: "a".into(),
            items: 30,
            added: 20,
            over_limit: 10,
            ..Album::default()
        };
        let text = answer_text(&texts, Language::En, 20, &album, &Draft::new());
        assert!(
            text.contains("Received 20 file(s)") && text.contains("10 file(s) were not added"),
            "{text}"
        );
    }
}
