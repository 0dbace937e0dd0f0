//! One update at a time per chat, across every gateway replica.
//!
//! Within one process teloxide already handles a chat's updates in order. Behind a webhook,
//! though, consecutive updates of one chat (an album's items, a double tap) may reach two
//! replicas at once, and each would read the stored conversation, change it and write it
//! back: the later write would silently drop the earlier one's file or button press. So a
//! handler first takes the chat's turn, a row in `bot_chat_turns` with an expiry, and gives
//! it back when done. A replica that dies holding a turn holds it only until it expires;
//! one that stops gracefully waits for its turns to be given back before closing its pool
//! ([`ChatTurns::given_back`]), so the other replica answers the chat at once.
//! No database connection is held while waiting or working. An update that ends by writing
//! the conversation gives the turn back in that write's transaction
//! ([`ChatTurn::give_back_in`]): one commit where there were two. Within one process the
//! chat's turns also queue on a lock of the process's own ([`ChatTurns::take`]), so a
//! second update or a card's edit waiting in the same process is woken when the turn is
//! given back instead of asking MySQL every 15 ms.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::MySqlPool;
use tokio::sync::OwnedMutexGuard;
use tokio::time::Instant;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::stage_times::{self, Stage};

/// Longer than any one update's handling (a publish gives up after 10 s).
const TURN_LENGTH: Duration = Duration::from_secs(30);
/// How long to wait for a turn before handling the update anyway: a stuck turn must not
/// leave a customer unanswered.
const MAX_WAIT: Duration = Duration::from_secs(30);
const RETRY_EVERY: Duration = Duration::from_millis(15);

#[derive(Clone)]
pub struct ChatTurns {
    pool: MySqlPool,
    /// Every turn held and every give-back under way, so a graceful stop can wait for them.
    held: TaskTracker,
    /// Each chat's lock in this process, while anyone holds or waits for it.
    local: Arc<std::sync::Mutex<HashMap<i64, Weak<tokio::sync::Mutex<()>>>>>,
}

/// A chat's turn, held until dropped.
pub struct ChatTurn {
    pool: MySqlPool,
    chat_id: i64,
    holder: Uuid,
    held: TaskTracker,
    /// Counts this turn in [`ChatTurns::given_back`] until the give-back is under way.
    _held: tokio_util::task::task_tracker::TaskTrackerToken,
    /// Given back already, in the transaction of the update's last write
    /// ([`ChatTurn::give_back_in`]): nothing is left to do when dropped.
    returned: AtomicBool,
    /// The chat's lock in this process, let go once the turn is given back in MySQL.
    local: Option<OwnedMutexGuard<()>>,
}

impl ChatTurns {
    pub fn new(pool: MySqlPool) -> ChatTurns {
        ChatTurns {
            pool,
            held: TaskTracker::new(),
            local: Arc::default(),
        }
    }

    /// At a graceful stop, before the pool closes: waits until every turn this process
    /// holds has been given back (the handlers and album answers in flight finish), at most
    /// `patience`. A turn still held after that expires by itself ([`TURN_LENGTH`]).
    pub async fn given_back(&self, patience: Duration) {
        self.held.close();
        if tokio::time::timeout(patience, self.held.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                held = self.held.len(),
                "chat turns still held at shutdown; they expire by themselves"
            );
        }
    }

    fn turn(
        &self,
        chat_id: i64,
        holder: Uuid,
        local: Option<OwnedMutexGuard<()>>,
    ) -> Arc<ChatTurn> {
        Arc::new(ChatTurn {
            pool: self.pool.clone(),
            chat_id,
            holder,
            held: self.held.clone(),
            _held: self.held.token(),
            returned: AtomicBool::new(false),
            local,
        })
    }

    /// The chat's lock in this process (made when nobody holds or waits for it).
    fn local_lock(&self, chat_id: i64) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.local.lock().expect("never poisoned");
        if let Some(lock) = locks.get(&chat_id).and_then(Weak::upgrade) {
            return lock;
        }
        if locks.len() >= 1_024 {
            locks.retain(|_, lock| lock.strong_count() > 0);
        }
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        locks.insert(chat_id, Arc::downgrade(&lock));
        lock
    }

    /// Waits for the chat's turn and takes it. After [`MAX_WAIT`] it goes ahead without
    /// (logged); a database error is returned at once.
    pub async fn take(&self, chat_id: i64) -> Result<Arc<ChatTurn>, sqlx::Error> {
        let holder = Uuid::now_v7();
        let since = std::time::Instant::now();
        let give_up = Instant::now() + MAX_WAIT;
        // First in this process: whoever holds the turn here wakes us when done.
        let local = tokio::time::timeout_at(give_up, self.local_lock(chat_id).lock_owned())
            .await
            .ok();
        loop {
            if self.try_take(chat_id, holder).await? {
                stage_times::record(Stage::TurnTake, since);
                return Ok(self.turn(chat_id, holder, local));
            }
            if Instant::now() >= give_up {
                tracing::warn!(
                    chat_id,
                    "chat's turn not free after {MAX_WAIT:?}; handling the update anyway"
                );
                return Ok(self.turn(chat_id, holder, local));
            }
            tokio::time::sleep(RETRY_EVERY).await;
        }
    }

    async fn try_take(&self, chat_id: i64, holder: Uuid) -> Result<bool, sqlx::Error> {
        let length = TURN_LENGTH.as_micros() as i64;
        // Matches only an expired turn, so "rows matched" and "rows changed" agree whatever
        // the connection reports.
        let taken = sqlx::query(
            "UPDATE bot_chat_turns SET holder = ?, expires_at = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND
             WHERE chat_id = ? AND expires_at < UTC_TIMESTAMP(6)",
        )
        .bind(holder)
        .bind(length)
        .bind(chat_id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        stage_times::wrote(Stage::TurnTake, 1);
        if taken == 1 {
            return Ok(true);
        }
        // The chat's first turn ever: the row does not exist yet. `INSERT IGNORE` reports 0
        // rows when another replica's row (a turn in progress) is already there.
        let inserted = sqlx::query(
            "INSERT IGNORE INTO bot_chat_turns (chat_id, holder, expires_at)
             VALUES (?, ?, UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND)",
        )
        .bind(chat_id)
        .bind(holder)
        .bind(length)
        .execute(&self.pool)
        .await?
        .rows_affected();
        stage_times::wrote(Stage::TurnTake, 1);
        Ok(inserted == 1)
    }
}

impl ChatTurn {
    /// Gives the turn back inside `tx` (the update's last write of the conversation); once
    /// that commits, [`ChatTurn::mark_returned`] tells the turn not to give itself back again.
    pub async fn give_back_in(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::MySql>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(GIVE_BACK)
            .bind(self.chat_id)
            .bind(self.holder)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The transaction of [`ChatTurn::give_back_in`] committed: the turn is free.
    pub fn mark_returned(&self) {
        self.returned.store(true, Ordering::Relaxed);
    }
}

/// Frees the chat's turn if this holder still has it.
const GIVE_BACK: &str =
    "UPDATE bot_chat_turns SET expires_at = '1970-01-01 00:00:01' WHERE chat_id = ? AND holder = ?";

impl Drop for ChatTurn {
    fn drop(&mut self) {
        if self.returned.load(Ordering::Relaxed) {
            return;
        }
        let (pool, chat_id, holder) = (self.pool.clone(), self.chat_id, self.holder);
        // Held until MySQL has the turn back, so the next in this process finds it free.
        let local = self.local.take();
        // Dropped inside the dispatcher's runtime; if there is none (shutdown), the turn
        // simply expires.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(self.held.track_future(async move {
                let since = std::time::Instant::now();
                let released = sqlx::query(GIVE_BACK)
                .bind(chat_id)
                .bind(holder)
                .execute(&pool)
                .await;
                stage_times::record(Stage::GiveBack, since);
                stage_times::wrote(Stage::GiveBack, 1);
                drop(local);
                match released {
                    Ok(_) => {}
                    // The gateway is stopping: the turn expires by itself.
                    Err(sqlx::Error::PoolClosed) => tracing::debug!(chat_id, "chat's turn left to expire at shutdown"),
                    Err(error) => tracing::warn!(%error, chat_id, "chat's turn not given back; it expires by itself"),
                }
            }));
        }
    }
}
