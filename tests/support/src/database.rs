//! A database of the test's own on the shared MariaDB: created empty, migrated, dropped at
//! the end, so tests running at once never see each other's rows.

use anyhow::Context;
use bureau_platform::{Secret, Settings, database};
use sqlx::MySqlPool;
use sqlx::mysql::MySqlConnectOptions;

/// A fresh, migrated database; [`TestDatabase::remove`] drops it.
pub struct TestDatabase {
    /// A pool on it, for the test's own reads and writes.
    pub pool: MySqlPool,
    pub name: String,
    admin: MySqlConnectOptions,
}

impl TestDatabase {
    /// Creates `{prefix}_{random}` with the credentials of `settings.database.url`, points
    /// `settings.database.url` at it, and applies the migrations.
    pub async fn create(settings: &mut Settings, prefix: &str) -> anyhow::Result<TestDatabase> {
        let created = TestDatabase::create_empty(settings, prefix).await?;
        database::migrate(&created.pool)
            .await
            .context("migrating the test database")?;
        Ok(created)
    }

    /// Like [`TestDatabase::create`], without migrating: for tests of the migrations.
    pub async fn create_empty(
        settings: &mut Settings,
        prefix: &str,
    ) -> anyhow::Result<TestDatabase> {
        let name = format!("{prefix}_{}", crate::unique_suffix());
        let options: MySqlConnectOptions = settings.database.url.expose().parse()?;
        let admin = options.database("mysql");
        let connection = MySqlPool::connect_with(admin.clone()).await.context(
            "connecting to MariaDB as the configured user (run `scripts/stack up` first)",
        )?;
        // The name is ours (a prefix and hex digits), not input.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4"
        )))
        .execute(&connection)
        .await
        .with_context(|| format!("creating the test database {name}"))?;
        connection.close().await;

        settings.database.url = Secret::new(with_database(settings.database.url.expose(), &name));
        let pool = database::pool(&settings.database)?;
        Ok(TestDatabase { pool, name, admin })
    }

    /// Closes the pool and drops the database. Best effort: a leftover is harmless.
    pub async fn remove(self) {
        self.pool.close().await;
        if let Ok(connection) = MySqlPool::connect_with(self.admin).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS `{}`",
                self.name
            )))
            .execute(&connection)
            .await;
            connection.close().await;
        }
    }
}

/// `url` with its database path replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[authority_end..]
        .find('/')
        .map(|i| i + authority_end)
        .unwrap_or(base.len());
    let mut result = format!("{}/{}", &base[..path_start], database);
    if let Some(query) = query {
        result.push('?');
        result.push_str(query);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_in_a_url_is_replaced() {
        assert_eq!(
            with_database("mysql://u:p@h:3306/bureau", "x"),
            "mysql://u:p@h:3306/x"
        );
        assert_eq!(with_database("mysql://u@h:3306", "x"), "mysql://u@h:3306/x");
        assert_eq!(
            with_database("mysql://u@h/b?ssl-mode=disabled", "x"),
            "mysql://u@h/x?ssl-mode=disabled"
        );
    }
}
