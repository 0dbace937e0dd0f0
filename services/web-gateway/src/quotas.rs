//! Storage quotas per customer, so scripted accounts cannot fill the object store: bytes
//! and files accepted per day (UTC), and orders open at once (`web_gateway.quotas`).
//!
//! The day's usage is kept in `customer_daily_usage` and charged with one conditional
//! UPDATE once an upload is staged, so concurrent uploads never pass a quota together; an
//! upload also stops streaming as soon as it passes what is left of the day's bytes. Open
//! orders are counted from `orders` as the persistence worker recorded them (an order
//! accepted a moment ago may not count yet; the daily quotas bound that gap).
//!
//! Only files count against the daily quotas: an order without files reads no allowance
//! (it is read when the first file part arrives, [`Budget::on_first_file`]) and charges
//! nothing, so it writes nothing here.

use bureau_platform::settings::QuotaSettings;
use chrono::{NaiveDate, Utc};
use proto_events::OrderStatus;
use sqlx::MySqlPool;
use std::sync::LazyLock;
use uuid::Uuid;

/// A quota that stopped an upload or an order, with its limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuotaExceeded {
    #[error("You can send at most {limit} files a day; please try again tomorrow or write to us.")]
    FilesPerDay { limit: u32, retry_after_secs: u64 },
    #[error("You can send at most {} of files a day; please try again tomorrow or write to us.", crate::http::human_size(*limit))]
    BytesPerDay { limit: u64, retry_after_secs: u64 },
    #[error(
        "You have {limit} open orders, the most we take at once; new orders can be placed once one of them is done."
    )]
    OpenOrders { limit: u32 },
}

impl QuotaExceeded {
    /// The stable code clients see: `quota_files_per_day`, `quota_bytes_per_day`,
    /// `quota_open_orders`.
    pub fn code(&self) -> &'static str {
        match self {
            QuotaExceeded::FilesPerDay { .. } => "quota_files_per_day",
            QuotaExceeded::BytesPerDay { .. } => "quota_bytes_per_day",
            QuotaExceeded::OpenOrders { .. } => "quota_open_orders",
        }
    }

    /// The limit itself, as a number.
    pub fn limit(&self) -> u64 {
        match self {
            QuotaExceeded::FilesPerDay { limit, .. } | QuotaExceeded::OpenOrders { limit } => {
                u64::from(*limit)
            }
            QuotaExceeded::BytesPerDay { limit, .. } => *limit,
        }
    }

    /// Seconds until the quota has room again, when that is known (the next UTC day).
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            QuotaExceeded::FilesPerDay {
                retry_after_secs, ..
            }
            | QuotaExceeded::BytesPerDay {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            QuotaExceeded::OpenOrders { .. } => None,
        }
    }
}

/// What a customer may still send today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    pub bytes_left: u64,
    pub files_left: u32,
}

/// What one request may still stage: the day's allowance as its files arrive, with the
/// quota to name when it runs out. Staff results have no quota ([`Budget::unlimited`]).
#[derive(Debug, Clone)]
pub struct Budget {
    bytes_left: u64,
    files_left: u32,
    on_bytes: Option<QuotaExceeded>,
    on_files: Option<QuotaExceeded>,
    /// The allowance still to read before the first file ([`Budget::on_first_file`]).
    unread: Option<UnreadAllowance>,
}

#[derive(Debug, Clone)]
struct UnreadAllowance {
    pool: MySqlPool,
    quotas: QuotaSettings,
    customer_id: Uuid,
}

impl Budget {
    pub fn unlimited() -> Budget {
        Budget {
            bytes_left: u64::MAX,
            files_left: u32::MAX,
            on_bytes: None,
            on_files: None,
            unread: None,
        }
    }

    pub fn of(allowance: Allowance, quotas: &QuotaSettings) -> Budget {
        Budget {
            bytes_left: allowance.bytes_left,
            files_left: allowance.files_left,
            on_bytes: Some(bytes_exceeded(quotas)),
            on_files: Some(files_exceeded(quotas)),
            unread: None,
        }
    }

    /// The customer's allowance, read from MySQL only when [`Budget::ready`] is first
    /// called, i.e. when a file part actually arrives: an order without files never reads
    /// it. Until then the budget refuses nothing.
    pub fn on_first_file(pool: &MySqlPool, quotas: &QuotaSettings, customer_id: Uuid) -> Budget {
        Budget {
            unread: Some(UnreadAllowance {
                pool: pool.clone(),
                quotas: quotas.clone(),
                customer_id,
            }),
            ..Budget::unlimited()
        }
    }

    /// Reads the allowance if it is still unread ([`Budget::on_first_file`]), refusing at
    /// once when nothing is left of the day; call before staging each file.
    pub async fn ready(&mut self) -> Result<(), QuotaError> {
        if let Some(unread) = self.unread.take() {
            let left = allowance(&unread.pool, &unread.quotas, unread.customer_id).await?;
            *self = Budget::of(left, &unread.quotas);
        }
        Ok(())
    }

    /// The most the next file may be: the per-file limit or what is left of the day.
    pub fn file_limit(&self, max_file_bytes: u64) -> u64 {
        max_file_bytes.min(self.bytes_left)
    }

    /// Whether the day's bytes, not the per-file limit, bound the next file.
    pub fn bytes_bind(&self, max_file_bytes: u64) -> Option<QuotaExceeded> {
        (self.bytes_left < max_file_bytes)
            .then(|| self.on_bytes.clone())
            .flatten()
    }

    /// Refuses one more file past the day's count.
    pub fn check_file(&self) -> Result<(), QuotaExceeded> {
        match &self.on_files {
            Some(exceeded) if self.files_left == 0 => Err(exceeded.clone()),
            _ => Ok(()),
        }
    }

    pub fn take(&mut self, size: u64) {
        self.bytes_left = self.bytes_left.saturating_sub(size);
        self.files_left = self.files_left.saturating_sub(1);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QuotaError {
    #[error(transparent)]
    Exceeded(#[from] QuotaExceeded),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The customer row of a web account (made at registration).
pub async fn customer_of_account(
    pool: &MySqlPool,
    account_id: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    let row: Option<(Uuid,)> = sqlx::query_as("SELECT id FROM customers WHERE web_account_id = ?")
        .bind(account_id)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|(id,)| id))
}

/// The customer an order belongs to.
pub async fn customer_of_order(
    pool: &MySqlPool,
    order_id: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    let row: Option<(Uuid,)> = sqlx::query_as("SELECT customer_id FROM orders WHERE id = ?")
        .bind(order_id)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|(id,)| id))
}

/// Refuses a new order while the customer has `open_orders` orders not yet closed.
pub async fn check_open_orders(
    pool: &MySqlPool,
    quotas: &QuotaSettings,
    customer_id: Uuid,
) -> Result<(), QuotaError> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT COUNT(*) FROM orders WHERE customer_id = ? AND status NOT IN ({})",
            closed_statuses_sql()
        )
    });
    let sql: &'static str = SQL.as_str();
    let (open,): (i64,) = sqlx::query_as(sql)
        .bind(customer_id)
        .fetch_one(pool)
        .await?;
    Ok(check_open(quotas, open)?)
}

/// Refuses a new order when `open` (the customer's orders not yet closed, as counted by
/// [`check_open_orders`] or with the session) reaches the quota.
pub fn check_open(quotas: &QuotaSettings, open: i64) -> Result<(), QuotaExceeded> {
    if open >= i64::from(quotas.open_orders) {
        return Err(QuotaExceeded::OpenOrders {
            limit: quotas.open_orders,
        });
    }
    Ok(())
}

/// The closed (terminal) statuses as an SQL list, `'delivered', ...`: the contract's own
/// names, never input, so they may be written into a statement.
pub fn closed_statuses_sql() -> String {
    OrderStatus::ALL
        .iter()
        .filter(|status| status.is_terminal())
        .map(|status| format!("'{}'", status.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What is left of today's quotas; refuses at once when nothing is.
pub async fn allowance(
    pool: &MySqlPool,
    quotas: &QuotaSettings,
    customer_id: Uuid,
) -> Result<Allowance, QuotaError> {
    let used: Option<(u64, u32)> = sqlx::query_as(
        "SELECT bytes, files FROM customer_daily_usage WHERE customer_id = ? AND day = ?",
    )
    .bind(customer_id)
    .bind(today())
    .fetch_optional(pool)
    .await?;
    let (bytes, files) = used.unwrap_or_default();
    let allowance = Allowance {
        bytes_left: quotas.bytes_per_day.saturating_sub(bytes),
        files_left: quotas.files_per_day.saturating_sub(files),
    };
    if allowance.files_left == 0 {
        return Err(files_exceeded(quotas).into());
    }
    if allowance.bytes_left == 0 {
        return Err(bytes_exceeded(quotas).into());
    }
    Ok(allowance)
}

/// Charges an accepted upload to today's usage, or refuses it when it would pass a quota
/// (another upload of the same customer may have been charged meanwhile).
///
/// Nothing to charge (no file) writes nothing. Otherwise one conditional UPDATE when the
/// day's row exists (every upload of the day after the first): one statement, one commit.
/// Only when it matched no row is the row made (`INSERT IGNORE`) and the UPDATE tried
/// again, so a quota is exact under concurrency either way: each UPDATE checks and adds
/// in one row-locked step.
pub async fn charge(
    pool: &MySqlPool,
    quotas: &QuotaSettings,
    customer_id: Uuid,
    bytes: u64,
    files: u32,
) -> Result<(), QuotaError> {
    if bytes == 0 && files == 0 {
        return Ok(());
    }
    let day = today();
    let mut charged = charge_row(pool, quotas, customer_id, day, bytes, files).await?;
    if !charged {
        sqlx::query("INSERT IGNORE INTO customer_daily_usage (customer_id, day) VALUES (?, ?)")
            .bind(customer_id)
            .bind(day)
            .execute(pool)
            .await?;
        // Tried again even when the row was there already: another upload may have made it
        // between our UPDATE and INSERT.
        charged = charge_row(pool, quotas, customer_id, day, bytes, files).await?;
    }
    if charged {
        return Ok(());
    }
    let allowance = allowance(pool, quotas, customer_id).await?;
    Err(if u64::from(files) > u64::from(allowance.files_left) {
        files_exceeded(quotas)
    } else {
        bytes_exceeded(quotas)
    }
    .into())
}

/// The conditional UPDATE of [`charge`]: whether the day's row took the charge (false
/// when there is no row, or it would pass a quota).
async fn charge_row(
    pool: &MySqlPool,
    quotas: &QuotaSettings,
    customer_id: Uuid,
    day: NaiveDate,
    bytes: u64,
    files: u32,
) -> Result<bool, sqlx::Error> {
    let charged = sqlx::query(
        "UPDATE customer_daily_usage SET bytes = bytes + ?, files = files + ? \
         WHERE customer_id = ? AND day = ? AND bytes + ? <= ? AND files + ? <= ?",
    )
    .bind(bytes)
    .bind(files)
    .bind(customer_id)
    .bind(day)
    .bind(bytes)
    .bind(quotas.bytes_per_day)
    .bind(files)
    .bind(quotas.files_per_day)
    .execute(pool)
    .await?;
    Ok(charged.rows_affected() == 1)
}

pub fn files_exceeded(quotas: &QuotaSettings) -> QuotaExceeded {
    QuotaExceeded::FilesPerDay {
        limit: quotas.files_per_day,
        retry_after_secs: secs_until_tomorrow(),
    }
}

pub fn bytes_exceeded(quotas: &QuotaSettings) -> QuotaExceeded {
    QuotaExceeded::BytesPerDay {
        limit: quotas.bytes_per_day,
        retry_after_secs: secs_until_tomorrow(),
    }
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn secs_until_tomorrow() -> u64 {
    let now = Utc::now();
    let tomorrow = (now.date_naive() + chrono::Days::new(1))
        .and_hms_opt(0, 0, 0)
        .map(|midnight| midnight.and_utc());
    tomorrow
        .map(|midnight| (midnight - now).num_seconds().max(1) as u64)
        .unwrap_or(3600)
}
