//! Issuing order numbers in a gateway: blocks of sequence positions leased from MySQL ahead
//! of need, turned into 8 digits by `proto_events::order_number`'s keyed permutation.
//!
//! Each gateway process holds the block it issues from and a spare one. When the current
//! block runs out the spare takes over at once and a new spare is leased in the background,
//! so a MySQL outage stops numbering only after a whole block has been issued without MySQL
//! (`order_numbers.block_size`, 100 by default). A lease is one short transaction on the
//! sequence row, so two gateways never hold the same position; positions a process held
//! when it stopped are never issued (gaps are harmless: nobody can see them through the
//! permutation). A block's numbers that are already on an order (numbers issued at random
//! before the sequence existed) are skipped, so a new order never repeats an old number.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use proto_events::order_number;
use sqlx::{MySql, MySqlPool, QueryBuilder};
use tokio::sync::Mutex;

use crate::settings::OrderNumberSettings;

/// The row of `order_number_sequence` that numbers orders.
const SEQUENCE: &str = "orders";

#[derive(Debug, thiserror::Error)]
pub enum OrderNumberError {
    /// MySQL did not lease a block, and none is in hand.
    #[error("no order number in hand and none could be leased: {0}")]
    Database(#[from] sqlx::Error),
    /// All 90 million 8-digit numbers are used.
    #[error("the order number sequence is exhausted")]
    Exhausted,
    #[error("the order number sequence is missing from the database (migrations not applied?)")]
    NoSequence,
}

/// One process's order numbers. Cheap to clone; clones share the blocks.
#[derive(Clone)]
pub struct OrderNumbers {
    inner: Arc<Inner>,
}

struct Inner {
    pool: MySqlPool,
    block_size: u64,
    blocks: Mutex<Blocks>,
    /// A background lease of the spare block is under way.
    refilling: AtomicBool,
}

#[derive(Default)]
struct Blocks {
    current: VecDeque<String>,
    spare: Option<VecDeque<String>>,
}

impl OrderNumbers {
    /// Numbers from `pool`'s sequence; the first blocks are leased in the background now
    /// (a gateway that starts while MySQL is down leases them on first use).
    pub fn start(pool: MySqlPool, settings: &OrderNumberSettings) -> OrderNumbers {
        let numbers = OrderNumbers::new(pool, settings.block_size);
        numbers.refill_in_background();
        numbers
    }

    /// Like [`OrderNumbers::start`] without leasing ahead yet.
    pub fn new(pool: MySqlPool, block_size: u64) -> OrderNumbers {
        OrderNumbers {
            inner: Arc::new(Inner {
                pool,
                block_size: block_size.max(1),
                blocks: Mutex::new(Blocks::default()),
                refilling: AtomicBool::new(false),
            }),
        }
    }

    /// The next number, never issued before by any process. Waits for MySQL only when no
    /// block is in hand (then the pool's acquire timeout bounds the wait).
    pub async fn next(&self) -> Result<String, OrderNumberError> {
        let mut blocks = self.inner.blocks.lock().await;
        loop {
            if let Some(number) = blocks.current.pop_front() {
                if blocks.spare.is_none() {
                    self.refill_in_background();
                }
                return Ok(number);
            }
            if let Some(spare) = blocks.spare.take() {
                blocks.current = spare;
                continue;
            }
            // Nothing in hand: lease now, holding the lock so that callers waiting behind us
            // take from this block instead of leasing one each.
            let block = self.inner.lease().await?;
            blocks.current = block;
        }
    }

    /// Leases a spare block in the background, if none is held and no lease is under way.
    fn refill_in_background(&self) {
        if self.inner.refilling.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let leased = inner.lease().await;
            match leased {
                Ok(block) => {
                    let mut blocks = inner.blocks.lock().await;
                    if blocks.current.is_empty() {
                        blocks.current = block;
                    } else if blocks.spare.is_none() {
                        blocks.spare = Some(block);
                    } else {
                        // Raced with a caller that leased itself: the positions are simply
                        // never issued.
                        tracing::debug!("a leased block of order numbers was not needed");
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "could not lease order numbers ahead; will try again on the next order");
                }
            }
            inner.refilling.store(false, Ordering::Release);
        });
    }
}

impl Inner {
    /// Leases the next `block_size` positions and returns their numbers, less any already
    /// on an order.
    async fn lease(&self) -> Result<VecDeque<String>, OrderNumberError> {
        let mut tx = self.pool.begin().await?;
        let row: Option<(u64, u64)> = sqlx::query_as(
            "SELECT next_position, permutation_key FROM order_number_sequence WHERE name = ? FOR UPDATE",
        )
        .bind(SEQUENCE)
        .fetch_optional(&mut *tx)
        .await?;
        let (start, key) = row.ok_or(OrderNumberError::NoSequence)?;
        if start >= order_number::CAPACITY {
            return Err(OrderNumberError::Exhausted);
        }
        let end = start
            .saturating_add(self.block_size)
            .min(order_number::CAPACITY);
        sqlx::query("UPDATE order_number_sequence SET next_position = ? WHERE name = ?")
            .bind(end)
            .bind(SEQUENCE)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;

        let mut numbers: VecDeque<String> = (start..end)
            .filter_map(|position| order_number::from_sequence(position, key))
            .collect();
        let mut query: QueryBuilder<MySql> =
            QueryBuilder::new("SELECT order_number FROM orders WHERE order_number IN (");
        let mut list = query.separated(", ");
        for number in &numbers {
            list.push_bind(number.as_str());
        }
        query.push(")");
        let taken: Vec<(String,)> = query.build_query_as().fetch_all(&self.pool).await?;
        if !taken.is_empty() {
            tracing::info!(
                skipped = taken.len(),
                "skipping order numbers that orders from before the sequence already hold"
            );
            numbers.retain(|number| !taken.iter().any(|(t,)| t == number));
        }
        tracing::debug!(start, end, "leased a block of order numbers");
        Ok(numbers)
    }
}
