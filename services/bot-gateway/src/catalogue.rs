//! The service catalogue as the bot shows it: one level of nested categories at a time, read
//! from MySQL (`catalogue_categories`, `catalogue_services`) on each tap, so changes staff
//! make appear without a restart. Only active entries are shown or accepted. A service
//! with a price shows it on its button ("Passport — 400 ₴/page"); one on quote shows its
//! name only.

use sqlx::{MySqlPool, Row};

use crate::dialogue::Language;

#[derive(Clone)]
pub struct Catalogue {
    pool: MySqlPool,
}

/// A category or service as a button: its id and its name in the customer's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: u32,
    pub name: String,
}

/// What one level of the catalogue shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    /// The category opened; `None` at the top level.
    pub category: Option<Entry>,
    /// Where "Back" leads: the parent category (0 for the top level); `None` at the top.
    pub back_to: Option<u32>,
    pub categories: Vec<Entry>,
    pub services: Vec<Entry>,
}

impl Catalogue {
    pub fn new(pool: MySqlPool) -> Catalogue {
        Catalogue { pool }
    }

    /// The level under `category` (0: the top level); `None` if there is no such active
    /// category (a forged or outdated button).
    pub async fn level(
        &self,
        category: u32,
        language: Language,
    ) -> Result<Option<Level>, sqlx::Error> {
        let name = name_column(language);
        let (opened, back_to) = if category == 0 {
            (None, None)
        } else {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT id, parent_id, {name} AS name FROM catalogue_categories
             WHERE id = ? AND active AND archived_at IS NULL"
            )))
            .bind(category)
            .fetch_optional(&self.pool)
            .await?;
            let Some(row) = row else { return Ok(None) };
            let parent: Option<u32> = row.try_get("parent_id")?;
            (
                Some(Entry {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                }),
                Some(parent.unwrap_or(0)),
            )
        };
        let parent = (category != 0).then_some(category);
        let categories = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id, {name} AS name FROM catalogue_categories
             WHERE parent_id <=> ? AND active AND archived_at IS NULL ORDER BY position, id"
        )))
        .bind(parent)
        .fetch_all(&self.pool)
        .await?;
        let services = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id, {name} AS name, price_minor, currency, CAST(unit AS CHAR) AS unit
             FROM catalogue_services
             WHERE category_id <=> ? AND active AND archived_at IS NULL ORDER BY position, id"
        )))
        .bind(parent)
        .fetch_all(&self.pool)
        .await?;
        let services = services
            .iter()
            .map(|row| {
                let name: String = row.try_get("name")?;
                let price = bureau_platform::business::price_label(
                    row.try_get("price_minor")?,
                    &row.try_get::<String, _>("currency")?,
                    &row.try_get::<String, _>("unit")?,
                    language.tag(),
                );
                Ok(Entry {
                    id: row.try_get("id")?,
                    name: match price {
                        Some(price) => format!("{name} — {price}"),
                        None => name,
                    },
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let entries = |rows: Vec<sqlx::mysql::MySqlRow>| -> Result<Vec<Entry>, sqlx::Error> {
            rows.iter()
                .map(|row| {
                    Ok(Entry {
                        id: row.try_get("id")?,
                        name: row.try_get("name")?,
                    })
                })
                .collect()
        };
        Ok(Some(Level {
            category: opened,
            back_to,
            categories: entries(categories)?,
            services,
        }))
    }

    /// A service's name by its code, active or not (an old order keeps its service's name).
    pub async fn name_of(
        &self,
        code: &str,
        language: Language,
    ) -> Result<Option<String>, sqlx::Error> {
        let name = name_column(language);
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {name} AS name FROM catalogue_services WHERE code = ?"
        )))
        .bind(code)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| row.try_get("name")).transpose()
    }
}

/// The column holding names in `language`: one of two fixed identifiers, never input.
fn name_column(language: Language) -> &'static str {
    match language {
        Language::Uk => "name_uk",
        Language::En => "name_en",
    }
}
