//! The time booked for an order, as customers and staff read it wherever they look at the
//! order (the bot's card and order page, `/status`, the portal, the back office, status
//! pushes): one query for one or many orders, and one way of writing the moment, in the
//! business's time zone and the reader's language ("Mon 07.12.2026, 10:00").

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use sqlx::{MySqlPool, Row};
use uuid::Uuid;

use crate::from_chrono;

/// An order's live booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookedTime {
    pub booking_id: Uuid,
    pub order_id: Uuid,
    pub service_code: String,
    pub service_uk: Option<String>,
    pub service_en: Option<String>,
    pub resource_id: u32,
    pub resource_name: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    /// Who booked it (`telegram:{user}`, `web:{account}`, `staff:{account}`): only they move
    /// or cancel it themselves.
    pub booked_by: String,
}

impl BookedTime {
    /// The service's name in `language` (`uk`, `en`), else its code.
    pub fn service(&self, language: &str) -> String {
        let name = if language == "en" {
            &self.service_en
        } else {
            &self.service_uk
        };
        name.clone().unwrap_or_else(|| self.service_code.clone())
    }

    /// The start in `zone`, in `language`: "Mon 07.12.2026, 10:00".
    pub fn when(&self, zone: &TimeZone, language: &str) -> String {
        when(self.starts_at, zone, language)
    }

    /// Its local day in `zone`, `YYYY-MM-DD` (the back office's calendar opens on it).
    pub fn day(&self, zone: &TimeZone) -> String {
        self.starts_at.to_zoned(zone.clone()).date().to_string()
    }

    /// Whether it is still ahead (a customer may still move or cancel it).
    pub fn ahead(&self, now: Timestamp) -> bool {
        self.starts_at > now
    }
}

const WEEKDAYS_UK: [&str; 7] = ["Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Нд"];
const WEEKDAYS_EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// A moment in `zone`, in `language` (`uk`, else English for `en`): "Пн 07.12.2026, 10:00".
pub fn when(at: Timestamp, zone: &TimeZone, language: &str) -> String {
    let local = at.to_zoned(zone.clone());
    let names = if language == "en" {
        WEEKDAYS_EN
    } else {
        WEEKDAYS_UK
    };
    format!(
        "{} {:02}.{:02}.{}, {:02}:{:02}",
        names[local.weekday().to_monday_zero_offset() as usize],
        local.day(),
        local.month(),
        local.year(),
        local.hour(),
        local.minute()
    )
}

const SELECT: &str =
    "SELECT b.id, b.order_id, b.resource_id, b.service_code, b.starts_at, b.ends_at, b.booked_by,
        s.name_uk, s.name_en, r.name AS resource_name
 FROM bookings b
 JOIN booking_resources r ON r.id = b.resource_id
 LEFT JOIN catalogue_services s ON s.code = b.service_code
 WHERE b.status = 'booked' AND b.order_id";

fn read(row: &sqlx::mysql::MySqlRow) -> Result<BookedTime, sqlx::Error> {
    Ok(BookedTime {
        booking_id: row.try_get("id")?,
        order_id: row.try_get("order_id")?,
        service_code: row.try_get("service_code")?,
        service_uk: row.try_get("name_uk")?,
        service_en: row.try_get("name_en")?,
        resource_id: row.try_get("resource_id")?,
        resource_name: row.try_get("resource_name")?,
        starts_at: from_chrono(row.try_get("starts_at")?),
        ends_at: from_chrono(row.try_get("ends_at")?),
        booked_by: row.try_get("booked_by")?,
    })
}

/// The live booking of `order_id`, if it has one (an order holds one).
pub async fn of_order(pool: &MySqlPool, order_id: Uuid) -> Result<Option<BookedTime>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} = ? ORDER BY b.starts_at LIMIT 1"
    )))
    .bind(order_id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(read).transpose()
}

/// The live bookings of these orders (a list's page), by order.
pub async fn of_orders(
    pool: &MySqlPool,
    order_ids: &[Uuid],
) -> Result<HashMap<Uuid, BookedTime>, sqlx::Error> {
    if order_ids.is_empty() {
        return Ok(HashMap::new());
    }
    // Only placeholders are formatted into the statement; the ids are bound.
    let marks = vec!["?"; order_ids.len()].join(", ");
    let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} IN ({marks}) ORDER BY b.starts_at"
    )));
    for id in order_ids {
        query = query.bind(id);
    }
    let mut found = HashMap::new();
    for row in query.fetch_all(pool).await? {
        let booked = read(&row)?;
        found.entry(booked.order_id).or_insert(booked);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moment_is_written_in_the_zone_and_the_language() {
        let at: Timestamp = "2026-12-07T08:00:00Z".parse().unwrap();
        let kyiv = TimeZone::get("Europe/Kyiv").unwrap();
        assert_eq!(when(at, &kyiv, "en"), "Mon 07.12.2026, 10:00");
        assert_eq!(when(at, &kyiv, "uk"), "Пн 07.12.2026, 10:00");
        let summer: Timestamp = "2027-07-05T06:30:00Z".parse().unwrap();
        assert_eq!(when(summer, &kyiv, "en"), "Mon 05.07.2027, 09:30");
        let new_york = TimeZone::get("America/New_York").unwrap();
        assert_eq!(when(at, &new_york, "en"), "Mon 07.12.2026, 03:00");
    }
}
