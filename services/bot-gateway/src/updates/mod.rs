//! How updates reach the handlers, and what Telegram is told afterwards.
//!
//! An update is acknowledged to Telegram only once its work is done. One whose handler
//! [deferred](crate::handlers::Deferred) it (the broker did not confirm, MySQL did not
//! answer) is left with Telegram, which delivers it again: long polling keeps the
//! `getUpdates` offset before it ([`polling`]); the webhook answers it with 503
//! ([`webhook`]). So a customer's Confirm pressed while the broker is down is not lost,
//! even if this process dies before the broker is back.
//!
//! Written here rather than taken from teloxide: its `Dispatcher` gives no way to learn an
//! update's outcome before acknowledging it (its polling listener moves the offset past an
//! update before the handler runs, and its webhook listener answers 200 as soon as the
//! update is queued).

pub mod polling;
pub mod webhook;

use std::collections::{HashSet, VecDeque};
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

use teloxide::dispatching::UpdateHandler;
use teloxide::dispatching::dialogue::GetChatId;
use teloxide::dptree::di::DependencyMap;
use teloxide::prelude::*;
use teloxide::types::{Me, UpdateId};

use crate::handlers::{Deferred, HandlerError};
use crate::telegram::GatewayBot;

/// What became of one update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Handled (or nothing handles it, or it failed in a way a second delivery would not
    /// change): Telegram may forget it.
    Done,
    /// Must be delivered again.
    Deferred,
}

/// The handler schema with everything it needs, for one update at a time.
pub struct UpdateHandling {
    schema: UpdateHandler<HandlerError>,
    dependencies: DependencyMap,
    bot: GatewayBot,
    noticed: Mutex<Noticed>,
}

impl UpdateHandling {
    pub fn new(
        schema: UpdateHandler<HandlerError>,
        mut dependencies: DependencyMap,
        bot: GatewayBot,
        me: Me,
    ) -> Arc<Self> {
        dependencies.insert(bot.clone());
        dependencies.insert(me);
        Arc::new(UpdateHandling {
            schema,
            dependencies,
            bot,
            noticed: Mutex::new(Noticed::default()),
        })
    }

    /// Runs the schema on `update` to the end.
    pub async fn handle(&self, update: Update) -> Outcome {
        let id = update.id;
        let mut dependencies = self.dependencies.clone();
        dependencies.insert(update);
        let dispatched = crate::stage_times::timed(
            crate::stage_times::Stage::Update,
            self.schema.dispatch(dependencies),
        )
        .await;
        match dispatched {
            ControlFlow::Continue(_) => {
                tracing::debug!(update_id = id.0, "update ignored: nothing handles it");
                Outcome::Done
            }
            ControlFlow::Break(Ok(())) => Outcome::Done,
            ControlFlow::Break(Err(error)) => match error.downcast::<Deferred>() {
                Ok(deferred) => {
                    tracing::warn!(update_id = id.0, reason = %deferred.reason, "update deferred: Telegram will deliver it again");
                    self.tell_once(id, *deferred).await;
                    Outcome::Deferred
                }
                // A failure another delivery would not mend (Telegram refused our reply, a
                // bug): logged, and the update is not retried forever.
                Err(error) => {
                    tracing::error!(update_id = id.0, %error, "handling an update failed");
                    Outcome::Done
                }
            },
        }
    }

    /// The deferral notice, the first time this update is deferred in this process.
    async fn tell_once(&self, id: UpdateId, deferred: Deferred) {
        let Some((chat_id, notice)) = deferred.notice else {
            return;
        };
        if !self.noticed.lock().expect("not poisoned").first_time(id) {
            return;
        }
        // Not paced: it is said when MySQL (where the pace is kept) may be out of reach,
        // once per update, and a 429 here costs only the notice.
        if let Err(error) = self.bot.send_message(chat_id, notice).await {
            tracing::warn!(%error, update_id = id.0, "deferral notice not sent");
        }
    }
}

/// The chat an update belongs to, for keeping one chat's updates in order: its chat, else
/// its sender's private chat, else none (it is ordered with nothing).
pub fn chat_of(update: &Update) -> Option<ChatId> {
    update
        .chat_id()
        .or_else(|| update.from().map(|user| ChatId(user.id.0 as i64)))
}

/// Updates whose customer was already told about a deferral. Bounded: the oldest are
/// forgotten first (at worst a customer is told twice).
#[derive(Default)]
struct Noticed {
    ids: HashSet<UpdateId>,
    order: VecDeque<UpdateId>,
}

impl Noticed {
    const CAPACITY: usize = 10_000;

    fn first_time(&mut self, id: UpdateId) -> bool {
        if !self.ids.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > Self::CAPACITY
            && let Some(oldest) = self.order.pop_front()
        {
            self.ids.remove(&oldest);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_customer_is_told_once_per_update() {
        let mut noticed = Noticed::default();
        assert!(noticed.first_time(UpdateId(7)));
        assert!(!noticed.first_time(UpdateId(7)));
        assert!(noticed.first_time(UpdateId(8)));
    }

    #[test]
    fn the_oldest_notices_are_forgotten_first() {
        let mut noticed = Noticed::default();
        for id in 0..=Noticed::CAPACITY as u32 {
            assert!(noticed.first_time(UpdateId(id)));
        }
        assert_eq!(noticed.ids.len(), Noticed::CAPACITY);
        assert!(noticed.first_time(UpdateId(0)), "forgotten");
        assert!(
            !noticed.first_time(UpdateId(Noticed::CAPACITY as u32)),
            "remembered"
        );
    }
}
