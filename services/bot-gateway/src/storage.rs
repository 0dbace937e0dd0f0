//! Dialogue states in MySQL (`bot_dialogues`), as JSON, so a conversation survives a
//! gateway restart and every replica behind the webhook sees the same one.
//!
//! A draft gets its order number here, when it is first saved (so when it starts): a
//! number leased from MySQL's sequence (`bureau_platform::order_numbers`), unique, and then
//! kept by the draft through every later save, up to the `OrderCreated` it becomes.
//!
//! Hand-written because teloxide 0.17 ships only in-memory, Redis, SQLite and Postgres
//! storages (behind `redis-storage`, `sqlite-storage-*`, `postgres-storage-nativetls`);
//! there is no MySQL one, and our state lives beside the orders in MySQL.

use std::sync::Arc;

use bureau_platform::order_numbers::{OrderNumberError, OrderNumbers};
use futures::future::BoxFuture;
use sqlx::{MySqlPool, Row};
use teloxide::dispatching::dialogue::Storage;
use teloxide::types::ChatId;

use crate::chat_turns::ChatTurn;
use crate::dialogue::{Conversation, Stage as ConversationStage};
use crate::stage_times::{self, Stage};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("dialogue storage unavailable: {0}")]
    Database(#[from] sqlx::Error),
    /// The stored JSON is not a state this build understands (e.g. written by an older
    /// release that had a different shape).
    #[error("stored dialogue state does not parse: {0}")]
    Unreadable(serde_json::Error),
    #[error("dialogue state does not serialize: {0}")]
    Unwritable(serde_json::Error),
    #[error("no dialogue stored for chat {0}")]
    NotFound(ChatId),
    /// A new draft could not get its order number (MySQL unreachable): nothing was saved.
    #[error("no order number for a new draft: {0}")]
    OrderNumber(#[from] OrderNumberError),
}

pub struct MySqlStorage {
    pool: MySqlPool,
    numbers: OrderNumbers,
}

impl MySqlStorage {
    pub fn new(pool: MySqlPool, numbers: OrderNumbers) -> Arc<MySqlStorage> {
        Arc::new(MySqlStorage { pool, numbers })
    }

    /// Gives a draft that has no order number yet its number (before it is first written,
    /// so that the replies about it can show the number).
    pub(crate) async fn number_new_draft(
        &self,
        conversation: &mut Conversation,
    ) -> Result<(), StorageError> {
        if let ConversationStage::Drafting(draft) = &mut conversation.stage
            && draft.order_number.is_empty()
        {
            draft.order_number = self.numbers.next().await?;
        }
        Ok(())
    }
}

impl MySqlStorage {
    /// Writes the chat's conversation and, when `turn` is given, gives the chat's turn back
    /// in the same transaction: one commit where there were two, and whoever takes the turn
    /// next finds the conversation written.
    pub(crate) async fn write_giving_back(
        &self,
        chat_id: ChatId,
        mut conversation: Conversation,
        turn: Option<&ChatTurn>,
    ) -> Result<(), StorageError> {
        let since = std::time::Instant::now();
        self.number_new_draft(&mut conversation).await?;
        let state = serde_json::to_string(&conversation).map_err(StorageError::Unwritable)?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO bot_dialogues (chat_id, state, updated_at) VALUES (?, ?, UTC_TIMESTAMP(6))
             ON DUPLICATE KEY UPDATE state = VALUES(state), updated_at = VALUES(updated_at)",
        )
        .bind(chat_id.0)
        .bind(state)
        .execute(&mut *tx)
        .await?;
        if let Some(turn) = turn {
            turn.give_back_in(&mut tx).await?;
        }
        tx.commit().await?;
        if let Some(turn) = turn {
            turn.mark_returned();
        }
        stage_times::record(Stage::Save, since);
        stage_times::wrote(Stage::Save, 1);
        Ok(())
    }
}

impl Storage<Conversation> for MySqlStorage {
    type Error = StorageError;

    /// Fails with [`StorageError::NotFound`] when there is nothing to remove, as the
    /// `Storage` contract asks.
    fn remove_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
    ) -> BoxFuture<'static, Result<(), StorageError>> {
        Box::pin(async move {
            let removed = sqlx::query("DELETE FROM bot_dialogues WHERE chat_id = ?")
                .bind(chat_id.0)
                .execute(&self.pool)
                .await?
                .rows_affected();
            if removed == 0 {
                return Err(StorageError::NotFound(chat_id));
            }
            Ok(())
        })
    }

    fn update_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
        mut dialogue: Conversation,
    ) -> BoxFuture<'static, Result<(), StorageError>> {
        Box::pin(async move {
            let since = std::time::Instant::now();
            self.number_new_draft(&mut dialogue).await?;
            let state = serde_json::to_string(&dialogue).map_err(StorageError::Unwritable)?;
            sqlx::query(
                "INSERT INTO bot_dialogues (chat_id, state, updated_at) VALUES (?, ?, UTC_TIMESTAMP(6))
                 ON DUPLICATE KEY UPDATE state = VALUES(state), updated_at = VALUES(updated_at)",
            )
            .bind(chat_id.0)
            .bind(state)
            .execute(&self.pool)
            .await?;
            stage_times::record(Stage::Save, since);
            stage_times::wrote(Stage::Save, 1);
            Ok(())
        })
    }

    fn get_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
    ) -> BoxFuture<'static, Result<Option<Conversation>, StorageError>> {
        Box::pin(async move {
            let row = stage_times::timed(
                Stage::Load,
                sqlx::query("SELECT state FROM bot_dialogues WHERE chat_id = ?")
                    .bind(chat_id.0)
                    .fetch_optional(&self.pool),
            )
            .await?;
            let Some(row) = row else { return Ok(None) };
            let state: String = row.try_get("state")?;
            serde_json::from_str(&state)
                .map(Some)
                .map_err(StorageError::Unreadable)
        })
    }
}
