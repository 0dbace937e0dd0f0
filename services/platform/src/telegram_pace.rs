//! Telegram's pace for one bot token, shared by every process that sends with it (bot
//! gateway and notifier replicas): each message (or edit) takes its turn in MySQL
//! (`telegram_send_slots`) before it goes out, so together they never exceed Telegram's
//! limits, however many of them run.
//!
//! One row holds the earliest time the bot may send its next message at all (chat id 0),
//! one row per chat the earliest time that chat may get its next message. A turn is taken in
//! one short transaction: the bot's next free slot, `max(now, bot_next)`, if the chat is free
//! by then; the bot's row then moves one global interval past it and the chat's one chat
//! interval past it, and the caller sleeps until its slot and sends. A chat not free by then
//! takes nothing (so a busy chat never holds up the others) and asks again when it is.
//!
//! Replies to a customer who is waiting go first: a [`Priority::Reply`] takes the next free
//! slot whatever is queued, while a [`Priority::Push`] takes one only if it is due within
//! [`Pace::push_lead`], and otherwise asks again when it would be. Pushes therefore never
//! queue more than the lead ahead of the present, and a reply waits at most that long behind
//! them. In each process one push at a time asks ([`SharedPace`] holds a gate), so a
//! thousand pushes waiting cost one question per slot, not a thousand; and one question at
//! a time is asked, the others waiting their turn in the process rather than in MySQL.
//!
//! Times are MySQL's clock, so processes on machines whose clocks differ still agree; only
//! the wait itself is measured locally. Every turn locks the bot's row first and the chat's
//! row second, so two turns never wait for each other in opposite orders (no deadlocks); the
//! bot's row serialises turns, which at 30 a second costs nothing.

use std::sync::Arc;
use std::time::Duration;

use sqlx::MySqlPool;

use crate::settings::TelegramSettings;

/// The row that paces the whole bot; Telegram never uses 0 as a chat id.
const WHOLE_BOT: i64 = 0;

/// Who is waiting for a message, which decides who goes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// A customer in the conversation waits for it: the next free slot.
    Reply,
    /// Nobody is waiting on it right now (a status push): only slots due within the lead.
    Push,
}

/// How far apart messages must be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    /// Between any two messages of the bot.
    pub global: Duration,
    /// Between two messages to one private chat.
    pub chat: Duration,
    /// Between two messages to one group (negative chat ids).
    pub group: Duration,
    /// How far ahead of now a push may take its slot.
    pub push_lead: Duration,
}

impl Pace {
    /// From rates; a rate of zero or less is taken as Telegram's 30/s.
    pub fn new(
        messages_per_second: f64,
        chat_interval: Duration,
        group_interval: Duration,
        push_lead: Duration,
    ) -> Pace {
        let per_second = if messages_per_second.is_finite() && messages_per_second > 0.0 {
            messages_per_second
        } else {
            30.0
        };
        Pace {
            global: Duration::from_secs_f64(1.0 / per_second),
            chat: chat_interval,
            group: group_interval,
            push_lead,
        }
    }

    /// The bot's pace as the settings give it.
    pub fn from_settings(settings: &TelegramSettings) -> Pace {
        Pace::new(
            settings.messages_per_second,
            Duration::from_millis(settings.chat_interval_ms),
            Duration::from_millis(settings.group_interval_ms),
            Duration::from_millis(settings.push_lead_ms),
        )
    }

    fn interval_for(&self, chat_id: i64) -> Duration {
        if chat_id < 0 { self.group } else { self.chat }
    }
}

/// What one question to the pace got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// A slot is taken: send after this wait.
    Taken(Duration),
    /// Nothing is taken: the chat is not free yet; ask again after this wait.
    ChatBusy(Duration),
    /// Nothing is taken: a push not due within the lead; ask again after this wait.
    NotYet(Duration),
}

/// The slot arithmetic, in microseconds of MySQL's clock: the turn, and the new "next"
/// times of the bot and of the chat when one was taken.
fn decide(
    now: i64,
    bot_next: i64,
    chat_next: i64,
    pace: &Pace,
    chat_id: i64,
    priority: Priority,
) -> (Turn, Option<(i64, i64)>) {
    let micros = |d: Duration| i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
    let after = |us: i64| Duration::from_micros(u64::try_from(us).unwrap_or(0));
    let slot = now.max(bot_next);
    if chat_next > slot {
        return (Turn::ChatBusy(after(chat_next - now)), None);
    }
    if priority == Priority::Push && slot - now > micros(pace.push_lead) {
        return (
            Turn::NotYet(after(slot - now - micros(pace.push_lead))),
            None,
        );
    }
    (
        Turn::Taken(after(slot - now)),
        Some((
            slot.saturating_add(micros(pace.global)),
            slot.saturating_add(micros(pace.interval_for(chat_id))),
        )),
    )
}

/// Takes turns in `telegram_send_slots`.
#[derive(Debug, Clone)]
pub struct SharedPace {
    pool: MySqlPool,
    pace: Pace,
    /// One push of this process asks at a time.
    push_gate: Arc<tokio::sync::Mutex<()>>,
    /// One question of this process is asked at a time: the others wait here, in order,
    /// rather than in MySQL for the bot's row, each holding a connection.
    asking: Arc<tokio::sync::Mutex<()>>,
}

impl SharedPace {
    pub fn new(pool: MySqlPool, pace: Pace) -> SharedPace {
        SharedPace {
            pool,
            pace,
            push_gate: Arc::default(),
            asking: Arc::default(),
        }
    }

    /// Waits for a slot for one message to `chat_id` and returns how long it waited; the
    /// message goes out right after. `Err` when MySQL did not answer.
    pub async fn wait_turn(
        &self,
        chat_id: i64,
        priority: Priority,
    ) -> Result<Duration, sqlx::Error> {
        let started = tokio::time::Instant::now();
        let slot = loop {
            let gate = match priority {
                Priority::Push => Some(self.push_gate.lock().await),
                Priority::Reply => None,
            };
            match self.ask(chat_id, priority).await? {
                Turn::Taken(wait) => break wait,
                // The gate stays held: the other pushes would be told the same.
                Turn::NotYet(wait) => tokio::time::sleep(wait).await,
                // Another push, to another chat, may go meanwhile.
                Turn::ChatBusy(wait) => {
                    drop(gate);
                    tokio::time::sleep(wait).await;
                }
            }
        };
        // The next push of this process may ask while this one waits for its slot.
        tokio::time::sleep(slot).await;
        Ok(started.elapsed())
    }

    /// Asks once for a slot for a message to `chat_id`.
    pub async fn ask(&self, chat_id: i64, priority: Priority) -> Result<Turn, sqlx::Error> {
        let _asking = self.asking.lock().await;
        let mut tx = self.pool.begin().await?;
        // The bot's row first (see the module comment); it also gives the transaction's "now".
        let (now, bot_next): (i64, i64) = sqlx::query_as(
            "SELECT CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED), next_at_us \
             FROM telegram_send_slots WHERE chat_id = ? FOR UPDATE",
        )
        .bind(WHOLE_BOT)
        .fetch_one(&mut *tx)
        .await?;
        let chat_next: Option<i64> = sqlx::query_scalar(
            "SELECT next_at_us FROM telegram_send_slots WHERE chat_id = ? FOR UPDATE",
        )
        .bind(chat_id)
        .fetch_optional(&mut *tx)
        .await?;
        let (turn, next) = decide(
            now,
            bot_next,
            chat_next.unwrap_or(0),
            &self.pace,
            chat_id,
            priority,
        );
        let Some((new_bot_next, new_chat_next)) = next else {
            tx.rollback().await?;
            return Ok(turn);
        };
        sqlx::query("UPDATE telegram_send_slots SET next_at_us = ? WHERE chat_id = ?")
            .bind(new_bot_next)
            .bind(WHOLE_BOT)
            .execute(&mut *tx)
            .await?;
        // Safe without a race: every writer of chat rows holds the bot's row lock.
        sqlx::query(
            "INSERT INTO telegram_send_slots (chat_id, next_at_us) VALUES (?, ?) \
             ON DUPLICATE KEY UPDATE next_at_us = VALUES(next_at_us)",
        )
        .bind(chat_id)
        .bind(new_chat_next)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(turn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pace() -> Pace {
        Pace::new(
            25.0,
            Duration::from_secs(1),
            Duration::from_secs(3),
            Duration::from_millis(100),
        )
    }

    fn taken(wait_us: u64) -> Turn {
        Turn::Taken(Duration::from_micros(wait_us))
    }

    #[test]
    fn a_free_bot_sends_now_and_moves_both_clocks() {
        let (turn, next) = decide(1_000_000, 0, 0, &pace(), 42, Priority::Reply);
        assert_eq!(turn, taken(0));
        assert_eq!(next, Some((1_040_000, 2_000_000)));
    }

    #[test]
    fn a_reply_takes_the_next_free_slot() {
        let (turn, next) = decide(
            1_000_000,
            1_500_000,
            1_200_000,
            &pace(),
            42,
            Priority::Reply,
        );
        assert_eq!(turn, taken(500_000));
        assert_eq!(next, Some((1_540_000, 2_500_000)));
    }

    #[test]
    fn a_busy_chat_takes_nothing_and_holds_nobody_up() {
        let (turn, next) = decide(
            1_000_000,
            1_040_000,
            2_000_000,
            &pace(),
            42,
            Priority::Reply,
        );
        assert_eq!(turn, Turn::ChatBusy(Duration::from_secs(1)));
        assert_eq!(next, None, "the bot's row is left for the others");
    }

    #[test]
    fn a_push_takes_only_a_slot_due_within_the_lead() {
        let (turn, _) = decide(1_000_000, 1_080_000, 0, &pace(), 42, Priority::Push);
        assert_eq!(turn, taken(80_000));
        let (turn, next) = decide(1_000_000, 1_500_000, 0, &pace(), 42, Priority::Push);
        assert_eq!(turn, Turn::NotYet(Duration::from_millis(400)));
        assert_eq!(next, None);
        // A reply in the same place goes ahead of every push not yet taken.
        let (turn, _) = decide(1_000_000, 1_500_000, 0, &pace(), 42, Priority::Reply);
        assert_eq!(turn, taken(500_000));
    }

    #[test]
    fn groups_are_spaced_wider() {
        let (_, next) = decide(0, 0, 0, &pace(), -100, Priority::Reply);
        assert_eq!(next.map(|(_, chat)| chat), Some(3_000_000));
    }

    #[test]
    fn nonsense_rates_fall_back_to_telegrams() {
        let pace = Pace::new(0.0, Duration::from_secs(1), Duration::ZERO, Duration::ZERO);
        assert_eq!(pace.global, Duration::from_secs_f64(1.0 / 30.0));
    }
}
