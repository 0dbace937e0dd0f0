//! Migrations on the real MariaDB: services that start together all migrate at once, and
//! exactly one applies each migration while the others wait for it.

use bureau_platform::database;
use bureau_test_support::TestDatabase;
use sqlx::MySqlPool;

#[tokio::test]
async fn services_starting_together_apply_each_migration_once() {
    let mut settings = bureau_test_support::settings().expect("settings load");
    let database = TestDatabase::create_empty(&mut settings, "bureau_migrations_test")
        .await
        .expect("an empty test database");
    let settings = bureau_platform::settings::DatabaseSettings {
        max_connections: 2,
        ..settings.database
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
    database.remove().await;
}
