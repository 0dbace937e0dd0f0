//! One notice at a time per order, across handlers and replicas: a MySQL named lock held
//! from the journal check until the journal record.
//!
//! Without it, two status changes of one order handled at once (`concurrency > 1`, or two
//! notifier replicas) could both pass the "nothing newer was sent" check and reach Telegram
//! in either order. A named lock (`GET_LOCK`) blocks no row the other services write, and
//! MySQL drops it by itself if the connection holding it dies.

use std::time::Duration;

use sqlx::{MySql, MySqlPool, pool::PoolConnection};
use uuid::Uuid;

/// A held lock on one order's notices. Release it with [`OrderLock::release`]; if it is
/// dropped instead (the handler panicked or was cancelled), its connection is closed rather
/// than returned to the pool, which makes MySQL release the lock.
pub struct OrderLock {
    connection: PoolConnection<MySql>,
    name: String,
    released: bool,
}

impl OrderLock {
    /// Waits up to `wait` for the lock on `order_id`'s notices. `Ok(None)` if another
    /// holder kept it all that time.
    pub async fn acquire(
        pool: &MySqlPool,
        order_id: Uuid,
        wait: Duration,
    ) -> Result<Option<OrderLock>, sqlx::Error> {
        let mut connection = pool.acquire().await?;
        let name = lock_name(order_id);
        // 1 = acquired, 0 = timed out, NULL = error (e.g. the connection was killed).
        let acquired: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, ?)")
            .bind(&name)
            .bind(wait.as_secs_f64())
            .fetch_one(&mut *connection)
            .await?;
        if acquired != Some(1) {
            return Ok(None);
        }
        Ok(Some(OrderLock {
            connection,
            name,
            released: false,
        }))
    }

    /// Releases the lock and returns the connection to the pool.
    pub async fn release(mut self) {
        let released = sqlx::query("SELECT RELEASE_LOCK(?)")
            .bind(&self.name)
            .execute(&mut *self.connection)
            .await;
        match released {
            Ok(_) => self.released = true,
            // Drop closes the connection, which releases the lock just as well.
            Err(error) => {
                tracing::warn!(lock = %self.name, %error, "could not release an order lock; closing its connection")
            }
        }
    }
}

impl Drop for OrderLock {
    fn drop(&mut self) {
        if !self.released {
            self.connection.close_on_drop();
        }
    }
}

/// MySQL lock names are server-wide and at most 64 characters: this one is 54.
fn lock_name(order_id: Uuid) -> String {
    format!("bureau.notifier.order.{}", order_id.simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_names_fit_mysql() {
        assert!(lock_name(Uuid::max()).len() <= 64);
    }

    /// Needs the MariaDB the integration tests use; named locks need no database or table.
    #[tokio::test]
    async fn one_holder_at_a_time_and_a_dropped_lock_is_freed() -> anyhow::Result<()> {
        let pool = MySqlPool::connect("mysql://root@127.0.0.1:3306").await?;
        let order_id = Uuid::now_v7();
        let short = Duration::from_millis(100);

        let held = OrderLock::acquire(&pool, order_id, short).await?;
        let held = held.ok_or_else(|| anyhow::anyhow!("the first lock"))?;
        assert!(OrderLock::acquire(&pool, order_id, short).await?.is_none());
        let other = OrderLock::acquire(&pool, Uuid::now_v7(), short).await?;
        assert!(other.is_some(), "other orders are not blocked");
        held.release().await;

        let dropped = OrderLock::acquire(&pool, order_id, short).await?;
        assert!(dropped.is_some(), "free again after release");
        drop(dropped);
        // The dropped lock's connection closes in the background, and the lock with it.
        let relocked = OrderLock::acquire(&pool, order_id, Duration::from_secs(5)).await?;
        assert!(relocked.is_some(), "a dropped lock is freed");
        if let Some(lock) = relocked {
            lock.release().await;
        }
        if let Some(lock) = other {
            lock.release().await;
        }
        Ok(())
    }
}
