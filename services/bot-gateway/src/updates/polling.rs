//! Long polling that acknowledges only what was done.
//!
//! `getUpdates` with `offset = N` tells Telegram to forget every update below `N`. So the
//! offset moves past a batch only when every update in it was handled; when one was
//! deferred, the next call starts at it, and Telegram sends it (and those after it) again.
//! Updates after it that were handled already are skipped, not handled twice. A chat's
//! updates are handled in order, one at a time; different chats' run concurrently. A
//! deferred update holds back its own chat's later updates, not other chats'.
//!
//! While something is deferred the loop waits between rounds (1 s, doubling to 30 s), since
//! Telegram answers at once with what is pending. Telegram returns at most 100 updates a
//! call: if more than that pile up behind a deferred one, the newest wait until it is done.
//! On shutdown the updates handled so far are acknowledged with one last call, so that a
//! restart does not handle them again; handled updates behind a deferred one cannot be
//! acknowledged without it and are handled again after a restart (docs/reliability.md).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bureau_kit::retry::{self, Backoff};
use futures::future::join_all;
use teloxide::prelude::*;
use teloxide::types::{AllowedUpdate, UpdateId};
use tokio_util::sync::CancellationToken;

use super::{Outcome, UpdateHandling, chat_of};
use crate::telegram::GatewayBot;

/// How long one `getUpdates` waits for news; below teloxide's 17 s HTTP timeout.
const POLL_TIMEOUT: Duration = Duration::from_secs(10);
/// Pauses while receiving fails or an update is deferred: 1 s doubling to 30 s.
const PAUSES: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));

/// Polls until `shutdown`, handling each batch before asking for the next.
pub async fn run(
    handling: Arc<UpdateHandling>,
    bot: GatewayBot,
    allowed: &[AllowedUpdate],
    shutdown: CancellationToken,
) {
    let mut progress = Progress::default();
    let mut pauses = PAUSES.pauses();
    tracing::info!("taking updates by long polling");
    loop {
        let request = bot
            .get_updates()
            .offset(progress.offset)
            .timeout(POLL_TIMEOUT.as_secs() as u32)
            .allowed_updates(allowed.to_vec())
            .send();
        let updates = tokio::select! {
            received = request => received,
            () = shutdown.cancelled() => break,
        };
        let updates = match updates {
            Ok(updates) => updates,
            Err(error) => {
                let pause = pauses.next_pause();
                tracing::warn!(%error, ?pause, "receiving updates failed; retrying");
                if !retry::pause(pause, &shutdown).await {
                    break;
                }
                continue;
            }
        };
        let Some(last) = updates.last().map(|update| update.id) else {
            continue;
        };
        let fresh = updates
            .into_iter()
            .filter(|update| !progress.handled.contains(&update.id))
            .collect();
        // The batch runs to its end even when shutdown comes meanwhile: those are in flight.
        let batch = handle_batch(fresh, |update| handling.handle(update)).await;
        if progress.record(last, batch) {
            pauses.reset();
        } else if !retry::pause(pauses.next_pause(), &shutdown).await {
            break;
        }
    }
    acknowledge(&bot, progress.offset).await;
}

/// Where polling stands: the next offset, and updates at or above it already handled.
#[derive(Debug, Default)]
struct Progress {
    offset: i32,
    handled: HashSet<UpdateId>,
}

impl Progress {
    /// Takes in a batch that ended with update `last`; `true` when all of it is done.
    fn record(&mut self, last: UpdateId, batch: Batch) -> bool {
        self.handled.extend(batch.handled);
        match batch.first_deferred {
            None => {
                self.offset = last.as_offset();
                self.handled.clear();
                true
            }
            Some(deferred) => {
                self.offset = deferred.as_offset() - 1;
                self.handled.retain(|id| id.0 > deferred.0);
                false
            }
        }
    }
}

/// What became of a batch.
#[derive(Debug, Default, PartialEq)]
struct Batch {
    handled: Vec<UpdateId>,
    /// The lowest id deferred, if any.
    first_deferred: Option<UpdateId>,
}

/// Handles `updates` one chat at a time in order, chats concurrently; a chat stops at its
/// first deferred update (its later ones are neither handled nor counted as handled).
async fn handle_batch<F, Fut>(updates: Vec<Update>, handle: F) -> Batch
where
    F: Fn(Update) -> Fut,
    Fut: Future<Output = Outcome>,
{
    let mut by_chat: HashMap<Result<ChatId, UpdateId>, Vec<Update>> = HashMap::new();
    for update in updates {
        by_chat
            .entry(chat_of(&update).ok_or(update.id))
            .or_default()
            .push(update);
    }
    let chats = by_chat.into_values().map(|updates| {
        let handle = &handle;
        async move {
            let mut handled = Vec::new();
            for update in updates {
                let id = update.id;
                match handle(update).await {
                    Outcome::Done => handled.push(id),
                    Outcome::Deferred => return (handled, Some(id)),
                }
            }
            (handled, None)
        }
    });
    let mut batch = Batch::default();
    for (handled, deferred) in join_all(chats).await {
        batch.handled.extend(handled);
        batch.first_deferred = match (batch.first_deferred, deferred) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        };
    }
    batch
}

/// Tells Telegram to forget everything below `offset`.
async fn acknowledge(bot: &GatewayBot, offset: i32) {
    if offset == 0 {
        return;
    }
    let request = bot.get_updates().offset(offset).limit(1).timeout(0).send();
    match tokio::time::timeout(Duration::from_secs(5), request).await {
        Ok(Ok(_)) => tracing::info!("handled updates acknowledged to Telegram"),
        Ok(Err(error)) => {
            tracing::warn!(%error, "handled updates not acknowledged; a restart handles them again")
        }
        Err(_) => {
            tracing::warn!("handled updates not acknowledged in time; a restart handles them again")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    fn message(id: u32, chat: i64, text: &str) -> Update {
        // From text: teloxide's update parsing borrows strings, which a `Value` cannot lend.
        serde_json::from_str(
            &serde_json::json!({
                "update_id": id,
                "message": {
                    "message_id": id, "date": 1_700_000_000,
                    "chat": {"id": chat, "type": "private", "first_name": "A"},
                    "from": {"id": chat, "is_bot": false, "first_name": "A"},
                    "text": text,
                }
            })
            .to_string(),
        )
        .unwrap()
    }

    fn ids(ids: &[u32]) -> Vec<UpdateId> {
        ids.iter().copied().map(UpdateId).collect()
    }

    #[tokio::test]
    async fn a_deferred_update_holds_back_its_own_chat_only() {
        let seen = Mutex::new(Vec::new());
        let updates = vec![
            message(10, 1, "ok"),
            message(11, 2, "defer"),
            message(12, 1, "ok"),
            message(13, 2, "ok"),
        ];
        let batch = handle_batch(updates, |update| {
            seen.lock().unwrap().push(update.id.0);
            let text = match &update.kind {
                teloxide::types::UpdateKind::Message(message) => {
                    message.text().unwrap_or_default().to_owned()
                }
                other => panic!("not a message: {other:?}"),
            };
            async move {
                if text == "defer" {
                    Outcome::Deferred
                } else {
                    Outcome::Done
                }
            }
        })
        .await;
        let mut handled = batch.handled.clone();
        handled.sort_by_key(|id| id.0);
        assert_eq!(handled, ids(&[10, 12]));
        assert_eq!(batch.first_deferred, Some(UpdateId(11)));
        assert!(
            !seen.lock().unwrap().contains(&13),
            "chat 2's later update waits behind the deferred one"
        );
    }

    #[test]
    fn the_offset_moves_past_a_batch_only_when_all_of_it_is_done() {
        let mut progress = Progress::default();
        assert!(progress.record(
            UpdateId(12),
            Batch {
                handled: ids(&[10, 11, 12]),
                first_deferred: None
            }
        ));
        assert_eq!(progress.offset, 13);

        // 14 deferred; 13 and 15 handled.
        assert!(!progress.record(
            UpdateId(15),
            Batch {
                handled: ids(&[13, 15]),
                first_deferred: Some(UpdateId(14))
            }
        ));
        assert_eq!(progress.offset, 14, "Telegram keeps 14 and sends it again");
        assert_eq!(
            progress.handled,
            [UpdateId(15)].into(),
            "15 is skipped when it comes again"
        );

        // Next round: 14 is done now, 16 is new.
        assert!(progress.record(
            UpdateId(16),
            Batch {
                handled: ids(&[14, 16]),
                first_deferred: None
            }
        ));
        assert_eq!(progress.offset, 17);
        assert!(progress.handled.is_empty());
    }
}
