//! The inbox: records that a consumer processed an event, inside the transaction of the
//! work itself, so a redelivered event is recognised and skipped.

use sqlx::MySqlConnection;
use uuid::Uuid;

/// Records `event_id` for `consumer`. Returns `false` if it was already there: the caller
/// must then skip the work (and roll back anything it did).
pub async fn claim(
    conn: &mut MySqlConnection,
    consumer: &str,
    event_id: Uuid,
) -> Result<bool, sqlx::Error> {
    // INSERT IGNORE reports 0 rows for a duplicate key (ON DUPLICATE KEY UPDATE would report 1).
    let result = sqlx::query(
        "INSERT IGNORE INTO processed_events (consumer, event_id, processed_at) VALUES (?, ?, UTC_TIMESTAMP(6))",
    )
    .bind(consumer)
    .bind(event_id)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}
