//! Where an update's time goes: process-wide totals per stage of the gateway's handling
//! (the chat's turn, the conversation read and written, the replies and their pace), kept
//! in atomics so they cost nothing worth measuring. `bench-bot` resets them before its run
//! and prints them after, with the MySQL commits each stage makes, per update.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// A stage of handling one update (or of a card's edit after a burst).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// An update from delivery to its outcome.
    Update,
    /// Taking the chat's turn (and, where folded, reading the conversation).
    TurnTake,
    /// Reading the conversation.
    Load,
    /// The handler itself, its saves included.
    Handler,
    /// Writing the conversation (a handler's save, replies kept ahead, cleared after).
    Save,
    /// Delivering the replies: waiting for the pace and the calls to Telegram.
    Deliver,
    /// Waiting for the pace (part of [`Stage::Deliver`]).
    PaceWait,
    /// Giving the chat's turn back.
    GiveBack,
    /// A card's edit after a burst (turn, read, pace, edit, write, give-back).
    DueCard,
}

impl Stage {
    pub const ALL: [Stage; 9] = [
        Stage::Update,
        Stage::TurnTake,
        Stage::Load,
        Stage::Handler,
        Stage::Save,
        Stage::Deliver,
        Stage::PaceWait,
        Stage::GiveBack,
        Stage::DueCard,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Update => "update (all of it)",
            Stage::TurnTake => "chat's turn taken",
            Stage::Load => "conversation read",
            Stage::Handler => "handler",
            Stage::Save => "conversation written",
            Stage::Deliver => "replies delivered",
            Stage::PaceWait => "  of which the pace",
            Stage::GiveBack => "chat's turn given back",
            Stage::DueCard => "a burst's card edit",
        }
    }
}

struct Totals {
    count: AtomicU64,
    micros: AtomicU64,
    most: AtomicU64,
    /// MySQL commits made (a statement on its own, or a transaction of several).
    writes: AtomicU64,
}

static TOTALS: [Totals; 9] = [const {
    Totals {
        count: AtomicU64::new(0),
        micros: AtomicU64::new(0),
        most: AtomicU64::new(0),
        writes: AtomicU64::new(0),
    }
}; 9];

fn totals(stage: Stage) -> &'static Totals {
    &TOTALS[Stage::ALL
        .iter()
        .position(|s| *s == stage)
        .expect("every stage is listed")]
}

/// Counts one run of `stage` that took `since.elapsed()`.
pub fn record(stage: Stage, since: Instant) {
    let micros = u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX);
    let totals = totals(stage);
    totals.count.fetch_add(1, Ordering::Relaxed);
    totals.micros.fetch_add(micros, Ordering::Relaxed);
    totals.most.fetch_max(micros, Ordering::Relaxed);
}

/// Counts `writes` MySQL commits made by `stage`.
pub fn wrote(stage: Stage, writes: u64) {
    totals(stage).writes.fetch_add(writes, Ordering::Relaxed);
}

/// Runs `future` as one run of `stage`.
pub async fn timed<F: Future>(stage: Stage, future: F) -> F::Output {
    let since = Instant::now();
    let output = future.await;
    record(stage, since);
    output
}

/// One stage's totals since the last [`reset`].
#[derive(Debug, Clone, Copy)]
pub struct StageTotals {
    pub stage: Stage,
    pub count: u64,
    pub micros: u64,
    pub most_micros: u64,
    pub writes: u64,
}

/// Every stage's totals.
pub fn snapshot() -> Vec<StageTotals> {
    Stage::ALL
        .iter()
        .map(|stage| {
            let totals = totals(*stage);
            StageTotals {
                stage: *stage,
                count: totals.count.load(Ordering::Relaxed),
                micros: totals.micros.load(Ordering::Relaxed),
                most_micros: totals.most.load(Ordering::Relaxed),
                writes: totals.writes.load(Ordering::Relaxed),
            }
        })
        .collect()
}

/// Starts counting afresh.
pub fn reset() {
    for totals in &TOTALS {
        totals.count.store(0, Ordering::Relaxed);
        totals.micros.store(0, Ordering::Relaxed);
        totals.most.store(0, Ordering::Relaxed);
        totals.writes.store(0, Ordering::Relaxed);
    }
}
