//! Telegram's pace, shared by every notifier replica: each message reserves its send time
//! in MySQL (`telegram_send_slots`) before it goes out.
//!
//! One row holds the earliest time the bot may send its next message at all (chat id 0),
//! one row per chat the earliest time that chat may get its next message. A reservation
//! takes, in one short transaction, the slot `max(now, bot_next, chat_next)`, then moves
//! the bot's row one global interval past it and the chat's row one chat interval past it.
//! The caller sleeps until its slot and sends. Replicas therefore never exceed the limits
//! together, whichever of them takes which event, and no replica needs to know how many
//! others run. Times are MySQL's clock, so replicas on machines whose clocks differ still
//! agree; only the wait itself is measured locally.
//!
//! Every reservation locks the bot's row first and the chat's row second, so two
//! reservations never wait for each other in opposite orders (no deadlocks); the bot's row
//! serialises reservations, which at 30 a second costs nothing.

use std::time::Duration;

use sqlx::MySqlPool;

/// The row that paces the whole bot; Telegram never uses 0 as a chat id.
const WHOLE_BOT: i64 = 0;

/// How far apart messages must be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    /// Between any two messages of the bot.
    pub global: Duration,
    /// Between two messages to one private chat.
    pub chat: Duration,
    /// Between two messages to one group (negative chat ids).
    pub group: Duration,
}

impl Pace {
    /// From the settings' rates; a rate of zero or less is taken as Telegram's 30/s.
    pub fn new(
        messages_per_second: f64,
        chat_interval: Duration,
        group_interval: Duration,
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
        }
    }

    fn interval_for(&self, chat_id: i64) -> Duration {
        if chat_id < 0 { self.group } else { self.chat }
    }
}

/// The slot arithmetic, in microseconds of MySQL's clock: the slot taken, and the new "next"
/// times of the bot and of the chat.
fn reserve_at(
    now: i64,
    bot_next: i64,
    chat_next: i64,
    pace: &Pace,
    chat_id: i64,
) -> (i64, i64, i64) {
    let slot = now.max(bot_next).max(chat_next);
    let micros = |d: Duration| i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
    (
        slot,
        slot.saturating_add(micros(pace.global)),
        slot.saturating_add(micros(pace.interval_for(chat_id))),
    )
}

/// Reserves send times in `telegram_send_slots`.
#[derive(Debug, Clone)]
pub struct SendSlots {
    pool: MySqlPool,
    pace: Pace,
}

impl SendSlots {
    pub fn new(pool: MySqlPool, pace: Pace) -> SendSlots {
        SendSlots { pool, pace }
    }

    /// Reserves the next slot for a message to `chat_id` and returns how long to wait for it.
    pub async fn reserve(&self, chat_id: i64) -> Result<Duration, sqlx::Error> {
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
        let (slot, new_bot_next, new_chat_next) =
            reserve_at(now, bot_next, chat_next.unwrap_or(0), &self.pace, chat_id);
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
        Ok(Duration::from_micros(
            u64::try_from(slot - now).unwrap_or(0),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pace() -> Pace {
        Pace::new(25.0, Duration::from_secs(1), Duration::from_secs(3))
    }

    #[test]
    fn a_free_bot_sends_now_and_moves_both_clocks() {
        let (slot, bot, chat) = reserve_at(1_000_000, 0, 0, &pace(), 42);
        assert_eq!(slot, 1_000_000);
        assert_eq!(bot, 1_040_000);
        assert_eq!(chat, 2_000_000);
    }

    #[test]
    fn the_later_of_bot_and_chat_wins() {
        let (slot, _, _) = reserve_at(1_000_000, 1_500_000, 1_200_000, &pace(), 42);
        assert_eq!(slot, 1_500_000);
        let (slot, bot, chat) = reserve_at(1_000_000, 1_040_000, 2_000_000, &pace(), 42);
        assert_eq!((slot, bot, chat), (2_000_000, 2_040_000, 3_000_000));
    }

    #[test]
    fn groups_are_spaced_wider() {
        let (_, _, chat) = reserve_at(0, 0, 0, &pace(), -100);
        assert_eq!(chat, 3_000_000);
    }

    #[test]
    fn nonsense_rates_fall_back_to_telegrams() {
        let pace = Pace::new(0.0, Duration::from_secs(1), Duration::from_secs(3));
        assert_eq!(pace.global, Duration::from_secs_f64(1.0 / 30.0));
    }
}
