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
//! them. In each process every waiting message joins one queue, and one waiter at a time
//! takes the turns of all that are queued in a single transaction (replies before pushes),
//! so a thousand messages waiting cost one commit per batch, not one per message, and the
//! others wait their turn in the process rather than in MySQL.
//!
//! A batch's slots start no earlier than the moment its answer is expected back: "now" is
//! read once the bot's row is locked (`SYSDATE`, not the statement's start, which may be
//! long before the lock was granted), and the batch decides from that moment plus the time
//! this process's recent batches took to commit and hand over their answers (a margin that
//! follows them). Each taken slot is then waited for from the moment "now" was read, not
//! from when the answer arrived, so every process sends on MySQL's timeline and two batches
//! never overlap. A slot whose moment passed by more than one interval before its waiter
//! heard of it (a commit far slower than the margin) is not used late, which would put it
//! in the same second as the slots after it, but asked for again (twice at most: a MySQL
//! slower than the largest margin for good must not keep a message from ever going out).
//!
//! Times are MySQL's clock, so processes on machines whose clocks differ still agree; only
//! the wait itself is measured locally. Every turn locks the bot's row first and the chat's
//! row second, so two turns never wait for each other in opposite orders (no deadlocks); the
//! bot's row serialises turns, which at 30 a second costs nothing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use sqlx::MySqlPool;

use crate::settings::TelegramSettings;

/// The row that paces the whole bot; Telegram never uses 0 as a chat id.
const WHOLE_BOT: i64 = 0;

/// Every batch this process asked MySQL for, whichever [`SharedPace`] asked: for benchmarks
/// (how long a batch's transaction takes under load, and how many turns it decides).
static BATCH_COUNT: AtomicU64 = AtomicU64::new(0);
static BATCH_MICROS: AtomicU64 = AtomicU64::new(0);
static BATCH_MOST_MICROS: AtomicU64 = AtomicU64::new(0);
static BATCH_ASKS: AtomicU64 = AtomicU64::new(0);

/// This process's batches since the last [`reset_batch_totals`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchTotals {
    /// Transactions made.
    pub batches: u64,
    /// Their time in all, from the first statement to the commit's answer.
    pub micros: u64,
    /// The longest one.
    pub most_micros: u64,
    /// Asks decided in them.
    pub asks: u64,
}

/// The totals of this process's batches.
pub fn batch_totals() -> BatchTotals {
    BatchTotals {
        batches: BATCH_COUNT.load(Ordering::Relaxed),
        micros: BATCH_MICROS.load(Ordering::Relaxed),
        most_micros: BATCH_MOST_MICROS.load(Ordering::Relaxed),
        asks: BATCH_ASKS.load(Ordering::Relaxed),
    }
}

/// Starts [`batch_totals`] afresh.
pub fn reset_batch_totals() {
    for total in [&BATCH_COUNT, &BATCH_MICROS, &BATCH_MOST_MICROS, &BATCH_ASKS] {
        total.store(0, Ordering::Relaxed);
    }
}

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

/// One message waiting in this process for its turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ask {
    pub chat_id: i64,
    pub priority: Priority,
}

/// One waiting message and where its answer goes: the turn, and the moment its waits are
/// counted from (when the batch read MySQL's "now", plus the margin).
#[derive(Debug)]
struct Waiting {
    ask: Ask,
    answer: oneshot::Sender<Result<(Turn, Instant), String>>,
}

/// The margin before a batch's first slot when nothing was measured yet.
const FIRST_MARGIN: Duration = Duration::from_millis(20);
/// The most a margin grows to: a commit slower than this is met by asking again.
const MOST_MARGIN: Duration = Duration::from_millis(400);

/// The margin for a batch from the smoothed time earlier batches took from reading "now"
/// to handing out their answers: twice that, plus 2 ms, at most [`MOST_MARGIN`].
fn margin_for(smoothed_micros: u64) -> Duration {
    (Duration::from_micros(smoothed_micros.saturating_mul(2)) + Duration::from_millis(2))
        .min(MOST_MARGIN)
}

/// The smoothed batch time after one more batch took `micros`: a slower batch counts at
/// once, a faster one by a quarter.
fn smoothed(previous: u64, micros: u64) -> u64 {
    if micros >= previous {
        micros
    } else {
        previous - (previous - micros) / 4
    }
}

/// How many times a message asks again for a slot that came too late; after that it takes
/// the late one, so that a MySQL slower than [`MOST_MARGIN`] for good delays messages
/// (and lets them bunch) rather than never sending them.
const LATE_ASKS: u32 = 2;

/// A taken slot is used late only within one interval of its moment.
fn too_late(deadline: Instant, now: Instant, pace: &Pace) -> bool {
    now.saturating_duration_since(deadline) > pace.global
}

/// Decides a whole batch against the bot's and the chats' "next" times, replies first (in
/// the order they asked), then pushes: the turns in the batch's order, the bot's new next
/// time, and the chats' new next times (only those that moved).
fn decide_batch(
    now: i64,
    bot_next: i64,
    chats: &HashMap<i64, i64>,
    pace: &Pace,
    asks: &[Ask],
) -> (Vec<Turn>, i64, HashMap<i64, i64>) {
    let mut turns = vec![Turn::Taken(Duration::ZERO); asks.len()];
    let mut bot = bot_next;
    let mut moved: HashMap<i64, i64> = HashMap::new();
    let order = asks
        .iter()
        .enumerate()
        .filter(|(_, ask)| ask.priority == Priority::Reply)
        .chain(
            asks.iter()
                .enumerate()
                .filter(|(_, ask)| ask.priority == Priority::Push),
        );
    for (index, ask) in order {
        let chat_next = moved
            .get(&ask.chat_id)
            .or_else(|| chats.get(&ask.chat_id))
            .copied()
            .unwrap_or(0);
        let (turn, next) = decide(now, bot, chat_next, pace, ask.chat_id, ask.priority);
        turns[index] = turn;
        if let Some((new_bot, new_chat)) = next {
            bot = new_bot;
            moved.insert(ask.chat_id, new_chat);
        }
    }
    (turns, bot, moved)
}

/// Takes turns in `telegram_send_slots`.
///
/// Every message of this process that waits for its turn joins one process-local queue;
/// whichever waiter holds the asker's lock takes the turns of everything queued at that
/// moment in one transaction (one commit per batch, not per message), hands each waiter its
/// answer and lets go, and the messages that queued meanwhile form the next batch. Under
/// load a commit's latency therefore no longer caps the rate: a slow commit only makes the
/// next batch larger. A queue and a lock rather than a task of its own, so nothing outlives
/// the pace and a waiter that is cancelled (the notifier's shutdown) takes nothing with it.
#[derive(Debug, Clone)]
pub struct SharedPace {
    pool: MySqlPool,
    pace: Pace,
    /// The messages of this process waiting for an answer.
    queue: Arc<Mutex<Vec<Waiting>>>,
    /// Held by the one waiter that asks MySQL for the queue's turns.
    asker: Arc<tokio::sync::Mutex<()>>,
    /// Transactions committed or rolled back, and turns decided: for tests and metrics.
    batches: Arc<AtomicU64>,
    /// The smoothed time, in µs, from reading "now" to handing out a batch's answers.
    batch_micros: Arc<AtomicU64>,
    /// Slots given up because their answer came more than an interval after their moment.
    late: Arc<AtomicU64>,
}

impl SharedPace {
    pub fn new(pool: MySqlPool, pace: Pace) -> SharedPace {
        SharedPace {
            pool,
            pace,
            queue: Arc::default(),
            asker: Arc::default(),
            batches: Arc::default(),
            batch_micros: Arc::new(AtomicU64::new(
                u64::try_from(FIRST_MARGIN.as_micros() / 2).unwrap_or(0),
            )),
            late: Arc::default(),
        }
    }

    /// How many taken slots this process gave up because they came too late to use.
    pub fn late(&self) -> u64 {
        self.late.load(Ordering::Relaxed)
    }

    /// How many transactions this process has made to take turns.
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
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
            match self.ask(chat_id, priority).await? {
                Turn::Taken(wait) => break wait,
                Turn::NotYet(wait) | Turn::ChatBusy(wait) => tokio::time::sleep(wait).await,
            }
        };
        tokio::time::sleep(slot).await;
        Ok(started.elapsed())
    }

    /// Asks once for a slot for a message to `chat_id`, in the next batch of this process;
    /// the waits in the answer count from now. A slot that came too late to use (see the
    /// module's comment) is asked for again.
    pub async fn ask(&self, chat_id: i64, priority: Priority) -> Result<Turn, sqlx::Error> {
        let mut asked_again = 0;
        loop {
            let (answer, mut answered) = oneshot::channel();
            self.queue
                .lock()
                .expect("the pace's queue is never poisoned")
                .push(Waiting {
                    ask: Ask { chat_id, priority },
                    answer,
                });
            let outcome = loop {
                tokio::select! {
                    biased;
                    outcome = &mut answered => break outcome,
                    _asking = self.asker.lock() => {
                        // This waiter asks for everything queued, its own ask included
                        // unless an earlier asker took it (its answer is then on the way).
                        let batch = std::mem::take(
                            &mut *self.queue.lock().expect("the pace's queue is never poisoned"),
                        );
                        if !batch.is_empty() {
                            self.take_batch(batch).await;
                        }
                    }
                }
            };
            match outcome {
                Ok(Ok((turn, from))) => {
                    let now = Instant::now();
                    let since = |wait: Duration| (from + wait).saturating_duration_since(now);
                    return Ok(match turn {
                        Turn::Taken(wait)
                            if asked_again < LATE_ASKS
                                && too_late(from + wait, now, &self.pace) =>
                        {
                            asked_again += 1;
                            self.late.fetch_add(1, Ordering::Relaxed);
                            tracing::debug!(
                                chat_id,
                                late = ?now.saturating_duration_since(from + wait),
                                "a slot came too late to use; asking again"
                            );
                            continue;
                        }
                        Turn::Taken(wait) => Turn::Taken(since(wait)),
                        Turn::ChatBusy(wait) => Turn::ChatBusy(since(wait)),
                        Turn::NotYet(wait) => Turn::NotYet(since(wait)),
                    });
                }
                Ok(Err(error)) => return Err(sqlx::Error::Protocol(error)),
                // The asker holding this ask was cancelled mid-batch: ask again.
                Err(_) => continue,
            }
        }
    }

    /// One transaction for a batch; every waiter gets its answer, or the error.
    async fn take_batch(&self, batch: Vec<Waiting>) {
        let asks: Vec<Ask> = batch.iter().map(|waiting| waiting.ask).collect();
        let since = Instant::now();
        let margin = margin_for(self.batch_micros.load(Ordering::Relaxed));
        let turns = self.take_slots_from(&asks, margin).await;
        let micros = u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX);
        BATCH_COUNT.fetch_add(1, Ordering::Relaxed);
        BATCH_MICROS.fetch_add(micros, Ordering::Relaxed);
        BATCH_MOST_MICROS.fetch_max(micros, Ordering::Relaxed);
        BATCH_ASKS.fetch_add(asks.len() as u64, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
        if let Ok((_, from)) = &turns {
            // From reading "now" (the margin's start) to the answers handed out.
            let took = from.checked_sub(margin).map_or(0, |read| {
                u64::try_from(read.elapsed().as_micros()).unwrap_or(u64::MAX)
            });
            let previous = self.batch_micros.load(Ordering::Relaxed);
            self.batch_micros
                .store(smoothed(previous, took), Ordering::Relaxed);
        }
        for (index, waiting) in batch.into_iter().enumerate() {
            let answer = match &turns {
                Ok((turns, from)) => Ok((turns[index].0, *from)),
                Err(error) => Err(error.to_string()),
            };
            // A waiter that stopped waiting (cancelled) just leaves its slot unused.
            let _ = waiting.answer.send(answer);
        }
    }

    /// Takes the turns of `asks` in one transaction on MySQL's clock: the bot's row locked
    /// first, then the chats' rows, decided (replies first), written and committed once.
    /// Public for the tests that check the slots across processes.
    pub async fn take_turns(&self, asks: &[Ask]) -> Result<Vec<Turn>, sqlx::Error> {
        Ok(self
            .take_slots(asks)
            .await?
            .into_iter()
            .map(|(turn, _)| turn)
            .collect())
    }

    /// As [`SharedPace::take_turns`], with each taken turn's slot in microseconds of MySQL's
    /// clock (0 when nothing was taken). The waits count from MySQL's "now" plus this
    /// process's current margin.
    pub async fn take_slots(&self, asks: &[Ask]) -> Result<Vec<(Turn, i64)>, sqlx::Error> {
        let margin = margin_for(self.batch_micros.load(Ordering::Relaxed));
        Ok(self.take_slots_from(asks, margin).await?.0)
    }

    /// The batch's transaction: its turns and slots decided from MySQL's "now" plus
    /// `margin`, and the local moment their waits count from.
    async fn take_slots_from(
        &self,
        asks: &[Ask],
        margin: Duration,
    ) -> Result<(Vec<(Turn, i64)>, Instant), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        // The bot's row first (see the module comment); it also gives the transaction's
        // "now": SYSDATE is read once the row is locked, NOW would be the statement's start.
        let (read_now, bot_next): (i64, i64) = sqlx::query_as(
            "SELECT CAST(UNIX_TIMESTAMP(SYSDATE(6)) * 1000000 AS SIGNED), next_at_us \
             FROM telegram_send_slots WHERE chat_id = ? FOR UPDATE",
        )
        .bind(WHOLE_BOT)
        .fetch_one(&mut *tx)
        .await?;
        let from = Instant::now() + margin;
        let now = read_now.saturating_add(i64::try_from(margin.as_micros()).unwrap_or(0));
        let mut chat_ids: Vec<i64> = asks.iter().map(|ask| ask.chat_id).collect();
        chat_ids.sort_unstable();
        chat_ids.dedup();
        let mut select = sqlx::QueryBuilder::<sqlx::MySql>::new(
            "SELECT chat_id, next_at_us FROM telegram_send_slots WHERE chat_id IN (",
        );
        let mut ids = select.separated(", ");
        for chat_id in &chat_ids {
            ids.push_bind(*chat_id);
        }
        select.push(") FOR UPDATE");
        let chats: HashMap<i64, i64> = select
            .build_query_as::<(i64, i64)>()
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
        let (turns, new_bot_next, moved) = decide_batch(now, bot_next, &chats, &self.pace, asks);
        if moved.is_empty() {
            tx.rollback().await?;
        } else {
            sqlx::query("UPDATE telegram_send_slots SET next_at_us = ? WHERE chat_id = ?")
                .bind(new_bot_next)
                .bind(WHOLE_BOT)
                .execute(&mut *tx)
                .await?;
            // Safe without a race: every writer of chat rows holds the bot's row lock.
            let mut upsert = sqlx::QueryBuilder::<sqlx::MySql>::new(
                "INSERT INTO telegram_send_slots (chat_id, next_at_us) ",
            );
            upsert.push_values(&moved, |mut row, (chat_id, next)| {
                row.push_bind(*chat_id).push_bind(*next);
            });
            upsert.push(" ON DUPLICATE KEY UPDATE next_at_us = VALUES(next_at_us)");
            upsert.build().execute(&mut *tx).await?;
            tx.commit().await?;
        }
        let slots = turns
            .into_iter()
            .map(|turn| match turn {
                Turn::Taken(wait) => (
                    turn,
                    now + i64::try_from(wait.as_micros()).unwrap_or(i64::MAX),
                ),
                _ => (turn, 0),
            })
            .collect();
        Ok((slots, from))
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

    #[test]
    fn a_batch_serves_replies_first_and_each_chat_once() {
        let pace = pace();
        let asks = [
            Ask {
                chat_id: 1,
                priority: Priority::Push,
            },
            Ask {
                chat_id: 2,
                priority: Priority::Push,
            },
            Ask {
                chat_id: 3,
                priority: Priority::Reply,
            },
            Ask {
                chat_id: 3,
                priority: Priority::Reply,
            },
            Ask {
                chat_id: 4,
                priority: Priority::Reply,
            },
        ];
        let (turns, bot, moved) = decide_batch(1_000_000, 0, &HashMap::new(), &pace, &asks);
        // Replies in their order: chat 3 now, chat 3 again is busy, chat 4 one interval on.
        assert_eq!(turns[2], taken(0));
        assert_eq!(turns[3], Turn::ChatBusy(Duration::from_secs(1)));
        assert_eq!(turns[4], taken(40_000));
        // Then pushes, only within the 100 ms lead: 80 ms is, 120 ms is not.
        assert_eq!(turns[0], taken(80_000));
        assert_eq!(turns[1], Turn::NotYet(Duration::from_millis(20)));
        assert_eq!(bot, 1_120_000);
        assert_eq!(moved.len(), 3, "chats 1, 3 and 4 moved: {moved:?}");
        assert_eq!(moved[&3], 2_000_000);
    }

    #[test]
    fn the_margin_follows_the_batches_and_stays_bounded() {
        // Nothing measured yet: 20 ms.
        assert_eq!(margin_for(10_000), Duration::from_millis(22));
        // A slow batch counts at once, a fast one by a quarter.
        assert_eq!(smoothed(10_000, 80_000), 80_000);
        assert_eq!(smoothed(80_000, 0), 60_000);
        assert_eq!(margin_for(60_000), Duration::from_millis(122));
        assert_eq!(margin_for(10_000_000), MOST_MARGIN);
    }

    #[test]
    fn a_slot_is_used_late_only_within_one_interval() {
        let pace = pace();
        let moment = Instant::now();
        assert!(!too_late(moment, moment, &pace));
        assert!(!too_late(moment + Duration::from_secs(1), moment, &pace));
        assert!(!too_late(moment, moment + pace.global, &pace));
        assert!(too_late(
            moment,
            moment + pace.global + Duration::from_millis(1),
            &pace
        ));
    }

    #[test]
    fn a_batch_respects_the_chats_stored_next_times() {
        let chats = HashMap::from([(7, 1_500_000)]);
        let asks = [Ask {
            chat_id: 7,
            priority: Priority::Reply,
        }];
        let (turns, bot, moved) = decide_batch(1_000_000, 0, &chats, &pace(), &asks);
        assert_eq!(turns[0], Turn::ChatBusy(Duration::from_millis(500)));
        assert_eq!(bot, 0);
        assert!(moved.is_empty());
    }
}
