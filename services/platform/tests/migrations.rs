//! Migrations on the real MariaDB: services that start together all migrate at once, and
//! exactly one applies each migration while the others wait for it.

use bureau_platform::Secret;
use bureau_platform::database;
use bureau_platform::settings::DatabaseSettings;
use sqlx::{AssertSqlSafe, MySqlPool};

const MYSQL_ADMIN_URL: &str = "mysql://root@127.0.0.1:3306";

#[tokio::test]
async fn services_starting_together_apply_each_migration_once() {
    let database_name = format!("bureau_test_{}", uuid::Uuid::new_v4().simple());
    let admin = MySqlPool::connect(MYSQL_ADMIN_URL)
        .await
        .expect("MariaDB answers as root on 127.0.0.1:3306");
    // The name is ours: a fixed prefix and a UUID's hex digits.
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE `{database_name}`")))
        .execute(&admin)
        .await
        .expect("create database");

    let settings = DatabaseSettings {
        url: Secret::new(format!("{MYSQL_ADMIN_URL}/{database_name}")),
        max_connections: 2,
        run_migrations: true,
    };
    // Five services, as `bureau run` starts them: each with its own pool.
    let pools: Vec<MySqlPool> = (0..5)
        .map(|_| database::pool(&settings).expect("pool"))
        .collect();
    let outcomes = futures::future::join_all(pools.iter().map(database::migrate)).await;
    for (service, outcome) in outcomes.iter().enumerate() {
        assert!(outcome.is_ok(), "service {service}: {outcome:?}");
    }
    let (applied, dirty): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(SUM(success = FALSE), 0) AS SIGNED) FROM _sqlx_migrations",
    )
    .fetch_one(&pools[0])
    .await
    .expect("the migrations table");
    assert_eq!(
        applied as usize,
        database::MIGRATOR.iter().count(),
        "every migration applied once"
    );
    assert_eq!(dirty, 0, "none left half-applied");

    for pool in pools {
        pool.close().await;
    }
    sqlx::query(AssertSqlSafe(format!("DROP DATABASE `{database_name}`")))
        .execute(&admin)
        .await
        .expect("drop database");
}
