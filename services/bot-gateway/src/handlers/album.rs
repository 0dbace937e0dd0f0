//! Albums (media groups): Telegram delivers each item as its own update, a few milliseconds
//! apart. Answering each would flood the chat (and Telegram's per-chat limit), so the items
//! are tallied in the stored draft under the album's id and answered once, when no new item
//! has come for [`QUIET`]: whichever replica handled the last item shows the order's card
//! (and says what was left out, if anything).
//!
//! The wait is in memory: if the gateway stops in that second, the files are kept in the
//! draft but the album's answer is not sent (the next message's answer shows the count).
//! An answer Telegram does not take is kept with the conversation and tried again.

use std::sync::Arc;
use std::time::Duration;

use teloxide::types::ChatId;

use super::card;
use super::context::{Chat, keep_saying, say_outside_update};
use super::deferred::{HandlerError, HandlerResult};
use crate::attachments::{FileOutcome, IncomingFile};
use crate::desk::Desk;
use crate::dialogue::{Album, ChatDialogue, Conversation, Draft, MAX_FILES};
use crate::replies::Reply;
use crate::telegram::GatewayBot;
use crate::texts::{Words, key};

/// How long after an album's last item it counts as complete.
const QUIET: Duration = Duration::from_millis(1_000);

/// One item of an album: it joins the draft as any file would, and is tallied for the
/// album's one answer.
pub async fn add(chat: Chat, conversation: Conversation, file: IncomingFile) -> HandlerResult {
    let mut draft = conversation.draft_or_new();
    let name = file.name.clone();
    let group_id = file.media_group.clone().unwrap_or_default();
    let outcome = chat.desk.files.admit(&mut draft, file);
    let (draft, finished) = note(draft, &group_id, &name, &outcome);
    if let Some(finished) = finished {
        // Another album was still waiting for its answer: it is complete now.
        if let Some(notes) = left_out(chat.words(), chat.desk.files.limit.megabytes(), &finished) {
            chat.reply(notes);
        }
        card::show(&chat, &draft).await?;
    }
    let items = draft.album.as_ref().map_or(0, |album| album.items);
    chat.save(conversation.drafting(draft)).await?;
    let waiting = Waiting {
        bot: chat.bot.clone(),
        desk: chat.desk.clone(),
        chat_id: chat.id,
        group_id,
        items,
    };
    tokio::spawn(async move {
        tokio::time::sleep(QUIET).await;
        if let Err(error) = waiting.answer_if_complete().await {
            tracing::warn!(%error, chat_id = waiting.chat_id.0, "album not answered");
        }
    });
    Ok(())
}

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
        FileOutcome::Empty => album.empty.push(name.to_owned()),
        FileOutcome::DraftFull => album.over_limit += 1,
    }
    (draft, finished)
}

/// What an album left out of the draft and why, if anything: told apart from the card,
/// which shows what went in.
pub fn left_out(words: Words, limit_mb: u64, album: &Album) -> Option<String> {
    let limit_mb = limit_mb.to_string();
    let mut parts = Vec::new();
    if album.over_limit > 0 {
        let (skipped, limit) = (album.over_limit.to_string(), MAX_FILES.to_string());
        parts.push(words.format(
            key::DRAFT_ALBUM_OVER_LIMIT,
            &[("skipped", &skipped), ("limit", &limit)],
        ));
    }
    for name in &album.refused {
        parts.push(words.format(key::DRAFT_FILE_REFUSED, &[("name", name)]));
    }
    for name in &album.empty {
        parts.push(words.format(key::DRAFT_FILE_EMPTY, &[("name", name)]));
    }
    for name in &album.too_large {
        parts.push(words.format(
            key::DRAFT_FILE_TOO_LARGE,
            &[("name", name), ("limit_mb", &limit_mb)],
        ));
    }
    (!parts.is_empty()).then(|| parts.join("\n\n"))
}

/// An album whose last item so far made it `items` long, to be answered once complete.
struct Waiting {
    bot: GatewayBot,
    desk: Arc<Desk>,
    chat_id: ChatId,
    group_id: String,
    items: u32,
}

impl Waiting {
    /// Answers the album if its item count is still `items` (no later item came, and no
    /// other handler answered it yet). Telegram failing to take the answer keeps it for later.
    async fn answer_if_complete(&self) -> Result<(), HandlerError> {
        let (desk, chat_id) = (&self.desk, self.chat_id);
        let turn = desk.turns.take(chat_id.0).await?;
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
            .is_some_and(|album| album.group_id == self.group_id && album.items == self.items);
        let Some(album) = draft.album.take().filter(|_| complete) else {
            return Ok(());
        };
        let words = desk.texts.words(conversation.language);
        let mut answer = Vec::new();
        if let Some(notes) = left_out(words, desk.files.limit.megabytes(), &album) {
            answer.push(Reply::Send {
                text: notes,
                markup: None,
            });
        }
        answer.push(card::reply(desk, conversation.language, &draft).await?);
        let mut conversation = conversation.drafting(draft);
        let unsaid = say_outside_update(&self.bot, chat_id, &mut conversation, answer).await;
        // Written and the chat's turn given back in one commit.
        desk.storage
            .write_giving_back(chat_id, conversation, Some(&*turn))
            .await?;
        if unsaid {
            keep_saying(self.bot.clone(), desk.clone(), chat_id);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialogue::Language;
    use crate::texts::Texts;

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
        let text = left_out(texts.words(Language::En), 20, &album).unwrap();
        assert!(text.contains("10 file(s) were not added"), "{text}");
        let whole = Album {
            added: 3,
            ..Album::default()
        };
        assert_eq!(left_out(texts.words(Language::En), 20, &whole), None);
    }
}
