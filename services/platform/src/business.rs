//! The business as customers see it, as an admin edits it in the back office: its details
//! (`business_details`, one row; a NULL column falls back to the `[business]` settings),
//! its time zone (the zone its days are counted in: an IANA name, checked with jiff) and
//! how a catalogue price reads ("400 ₴/page", "400 ₴/стор."). Read from MySQL on each use by
//! the bot and the web, so an edit reaches customers at once, without a restart.

pub use jiff::tz::TimeZone;
use sqlx::MySqlPool;

use crate::settings::BusinessSettings;

/// The business's details in force: the table's values, else the settings'.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessDetails {
    pub name: String,
    pub phone: String,
    pub email: String,
    pub hours: String,
    /// The bot's greeting per language when an admin wrote one; `None`: the bot's own text.
    pub greeting_uk: Option<String>,
    pub greeting_en: Option<String>,
    /// The IANA name of the zone the business's days are counted in, always a known one.
    pub time_zone: String,
}

/// The zone when neither the table nor the settings name a known one.
pub const DEFAULT_TIME_ZONE: &str = "Europe/Kyiv";

/// The zone an IANA name (`Europe/Kyiv`, `America/New_York`, `UTC`) stands for, if the tz
/// database knows it (names are matched ignoring case; `TimeZone::iana_name` gives the
/// database's spelling). Offsets such as `+02:00` and POSIX rules are not names: `None`.
pub fn time_zone(name: &str) -> Option<TimeZone> {
    let name = name.trim();
    if name.is_empty() || name.len() > 64 {
        return None;
    }
    TimeZone::get(name).ok()
}

/// The database's spelling of a known zone name (`europe/kyiv` → `Europe/Kyiv`).
pub fn time_zone_name(name: &str) -> Option<String> {
    let zone = time_zone(name)?;
    Some(zone.iana_name().unwrap_or(name.trim()).to_owned())
}

impl BusinessDetails {
    /// The zone the business's days are counted in.
    pub fn zone(&self) -> TimeZone {
        time_zone(&self.time_zone).unwrap_or(TimeZone::UTC)
    }

    /// The admin's greeting in `language` (`uk` or `en`), if any.
    pub fn greeting(&self, language: &str) -> Option<&str> {
        match language {
            "en" => self.greeting_en.as_deref(),
            _ => self.greeting_uk.as_deref(),
        }
    }
}

/// What the table holds: `None` where nothing was set (the settings then apply).
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredDetails {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub hours: Option<String>,
    pub greeting_uk: Option<String>,
    pub greeting_en: Option<String>,
    pub time_zone: Option<String>,
}

impl StoredDetails {
    pub fn over(self, fallback: &BusinessSettings) -> BusinessDetails {
        let or = |value: Option<String>, fallback: &str| {
            value
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| fallback.to_owned())
        };
        BusinessDetails {
            name: or(self.name, &fallback.name),
            phone: or(self.phone, &fallback.phone),
            email: or(self.email, &fallback.email),
            hours: or(self.hours, &fallback.hours),
            greeting_uk: self.greeting_uk.filter(|v| !v.trim().is_empty()),
            greeting_en: self.greeting_en.filter(|v| !v.trim().is_empty()),
            time_zone: [self.time_zone.as_deref(), Some(fallback.time_zone.as_str())]
                .into_iter()
                .flatten()
                .find_map(time_zone_name)
                .unwrap_or_else(|| {
                    if !fallback.time_zone.trim().is_empty() {
                        tracing::error!(
                            time_zone = %fallback.time_zone,
                            "business.time_zone is not a known IANA zone; using {DEFAULT_TIME_ZONE}"
                        );
                    }
                    DEFAULT_TIME_ZONE.to_owned()
                }),
        }
    }
}

/// The stored row (all `None` when the row is missing).
pub async fn stored(pool: &MySqlPool) -> Result<StoredDetails, sqlx::Error> {
    let row: Option<StoredDetails> = sqlx::query_as(
        "SELECT name, phone, email, hours, greeting_uk, greeting_en, time_zone FROM business_details WHERE id = 1",
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.unwrap_or_default())
}

/// The details in force now.
pub async fn details(
    pool: &MySqlPool,
    fallback: &BusinessSettings,
) -> Result<BusinessDetails, sqlx::Error> {
    Ok(stored(pool).await?.over(fallback))
}

/// Saves the details; `None` (or blank) clears a column back to the settings' value. The
/// time zone is saved as given: check it with [`time_zone_name`] first.
pub async fn save(pool: &MySqlPool, details: &StoredDetails) -> Result<(), sqlx::Error> {
    let clean = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    sqlx::query(
        "INSERT INTO business_details (id, name, phone, email, hours, greeting_uk, greeting_en, time_zone)
         VALUES (1, ?, ?, ?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE name = VALUES(name), phone = VALUES(phone), email = VALUES(email),
             hours = VALUES(hours), greeting_uk = VALUES(greeting_uk), greeting_en = VALUES(greeting_en),
             time_zone = VALUES(time_zone)",
    )
    .bind(clean(&details.name))
    .bind(clean(&details.phone))
    .bind(clean(&details.email))
    .bind(clean(&details.hours))
    .bind(clean(&details.greeting_uk))
    .bind(clean(&details.greeting_en))
    .bind(clean(&details.time_zone))
    .execute(pool)
    .await?;
    Ok(())
}

/// A price as customers read it: `400 ₴/page`, `1 250.50 ₴/hour`, `300 ₴` for a unit of
/// "item"; in Ukrainian the unit reads `стор.`, `слово`, `год`. `None` for a service on quote.
pub fn price_label(
    price_minor: Option<u64>,
    currency: &str,
    unit: &str,
    language: &str,
) -> Option<String> {
    let minor = price_minor?;
    let whole = group_thousands(minor / 100);
    let cents = minor % 100;
    let amount = if cents == 0 {
        whole
    } else {
        format!("{whole}.{cents:02}")
    };
    let symbol = match currency {
        "UAH" => "₴",
        "EUR" => "€",
        "USD" => "$",
        other => other,
    };
    let per = match (language, unit) {
        (_, "item") => None,
        ("uk", "page") => Some("стор."),
        ("uk", "word") => Some("слово"),
        ("uk", "hour") => Some("год"),
        (_, "page") => Some("page"),
        (_, "word") => Some("word"),
        (_, "hour") => Some("hour"),
        _ => None,
    };
    Some(match per {
        Some(per) => format!("{amount} {symbol}/{per}"),
        None => format!("{amount} {symbol}"),
    })
}

/// `1250` → `1 250` (a narrow no-break space, as Ukrainian and the SI write thousands).
fn group_thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202F}');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_read_per_unit_in_each_language() {
        assert_eq!(
            price_label(Some(40000), "UAH", "page", "en").as_deref(),
            Some("400 ₴/page")
        );
        assert_eq!(
            price_label(Some(40000), "UAH", "page", "uk").as_deref(),
            Some("400 ₴/стор.")
        );
        assert_eq!(
            price_label(Some(30000), "UAH", "item", "uk").as_deref(),
            Some("300 ₴")
        );
        assert_eq!(
            price_label(Some(125050), "EUR", "hour", "en").as_deref(),
            Some("1\u{202F}250.50 €/hour")
        );
        assert_eq!(price_label(None, "UAH", "page", "en"), None);
    }

    #[test]
    fn blank_columns_fall_back_to_the_settings() {
        let settings = BusinessSettings {
            name: "Slovo".into(),
            phone: "+380 44 000".into(),
            email: "a@b.c".into(),
            hours: "9-18".into(),
            time_zone: "Europe/Kyiv".into(),
        };
        let details = StoredDetails {
            name: Some("Slovo & Co".into()),
            phone: Some("  ".into()),
            greeting_en: Some("Hi".into()),
            ..Default::default()
        }
        .over(&settings);
        assert_eq!(details.name, "Slovo & Co");
        assert_eq!(details.phone, "+380 44 000");
        assert_eq!(details.greeting("en"), Some("Hi"));
        assert_eq!(details.greeting("uk"), None);
        assert_eq!(details.time_zone, "Europe/Kyiv");
    }

    #[test]
    fn time_zones_are_iana_names_the_stored_one_first() {
        assert_eq!(
            time_zone_name("europe/kyiv").as_deref(),
            Some("Europe/Kyiv")
        );
        assert_eq!(time_zone_name(" UTC ").as_deref(), Some("UTC"));
        for bad in [
            "",
            "Europe/Kyv",
            "+02:00",
            "EST5EDT,M3.2.0,M11.1.0",
            "Mars/Olympus",
        ] {
            assert_eq!(time_zone_name(bad), None, "{bad:?}");
        }
        let settings = BusinessSettings {
            time_zone: "Europe/Kyiv".into(),
            ..Default::default()
        };
        let stored = |zone: Option<&str>| StoredDetails {
            time_zone: zone.map(str::to_owned),
            ..Default::default()
        };
        assert_eq!(
            stored(Some("America/New_York")).over(&settings).time_zone,
            "America/New_York"
        );
        assert_eq!(stored(None).over(&settings).time_zone, "Europe/Kyiv");
        // A bad setting (or an empty one) falls back to the default zone.
        let unset = BusinessSettings::default();
        assert_eq!(stored(None).over(&unset).time_zone, DEFAULT_TIME_ZONE);
        assert_eq!(
            stored(None).over(&unset).zone().iana_name(),
            Some("Europe/Kyiv")
        );
    }
}
