//! Order numbers on the real MariaDB: many issuers at once never repeat a number, the
//! database refuses a second order with one, numbers taken by old orders are skipped, and a
//! database that already holds repeated numbers migrates without losing or changing any.

use std::collections::HashSet;

use bureau_platform::database;
use bureau_platform::order_numbers::OrderNumbers;
use sqlx::{AssertSqlSafe, MySqlPool};
use uuid::Uuid;

const MYSQL_ADMIN_URL: &str = "mysql://root@127.0.0.1:3306";

/// The version of the migration that adds the sequence and the UNIQUE key.
const SEQUENCE_MIGRATION: i64 = 20261206200002;

/// A fresh database (dropped by [`Scratch::drop_database`]), not yet migrated.
struct Scratch {
    admin: MySqlPool,
    name: String,
    pool: MySqlPool,
}

impl Scratch {
    async fn new(max_connections: u32) -> Scratch {
        let name = format!("bureau_test_{}", Uuid::new_v4().simple());
        let admin = MySqlPool::connect(MYSQL_ADMIN_URL)
            .await
            .expect("MariaDB answers as root on 127.0.0.1:3306");
        // The name is ours: a fixed prefix and a UUID's hex digits.
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE `{name}`")))
            .execute(&admin)
            .await
            .expect("create database");
        let settings = bureau_platform::settings::DatabaseSettings {
            url: bureau_platform::Secret::new(format!("{MYSQL_ADMIN_URL}/{name}")),
            max_connections,
            run_migrations: true,
        };
        let pool = database::pool(&settings).expect("pool");
        Scratch { admin, name, pool }
    }

    async fn drop_database(self) {
        self.pool.close().await;
        sqlx::query(AssertSqlSafe(format!("DROP DATABASE `{}`", self.name)))
            .execute(&self.admin)
            .await
            .expect("drop database");
    }
}

async fn customer(pool: &MySqlPool) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO customers (id, display_name, created_at, updated_at) VALUES (?, 'c', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
    )
    .bind(id)
    .execute(pool)
    .await
    .expect("customer");
    id
}

async fn insert_order(
    pool: &MySqlPool,
    customer: Uuid,
    number: &str,
    created_at: &str,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO orders (id, order_number, customer_id, channel, body, status, status_version, expected_files, created_at, updated_at) \
         VALUES (?, ?, ?, 'web', 'x', 'accepted', 1, 0, ?, UTC_TIMESTAMP(6))",
    )
    .bind(id)
    .bind(number)
    .bind(customer)
    .bind(created_at)
    .execute(pool)
    .await?;
    Ok(id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_issuers_at_once_never_repeat_a_number() {
    let scratch = Scratch::new(8).await;
    database::migrate(&scratch.pool).await.expect("migrate");
    // Eight gateways, each with its own blocks (small ones, so they lease often and
    // race each other on the sequence row), issuing 300 numbers each, all at once.
    let issuers: Vec<OrderNumbers> = (0..8)
        .map(|_| OrderNumbers::new(scratch.pool.clone(), 7))
        .collect();
    let batches = futures::future::join_all(issuers.iter().map(|issuer| async move {
        let mut numbers = Vec::new();
        for _ in 0..300 {
            numbers.push(issuer.next().await.expect("a number"));
        }
        numbers
    }))
    .await;
    let mut seen = HashSet::new();
    for number in batches.into_iter().flatten() {
        assert_eq!(
            proto_events::order_number::parse(&number),
            Some(number.clone())
        );
        assert!(seen.insert(number.clone()), "{number} issued twice");
    }
    assert_eq!(seen.len(), 8 * 300);

    // The UNIQUE key refuses a second order with a number.
    let customer = customer(&scratch.pool).await;
    let number = issuers[0].next().await.unwrap();
    insert_order(&scratch.pool, customer, &number, "2026-12-06 10:00:00")
        .await
        .expect("the first order with the number");
    let second = insert_order(&scratch.pool, customer, &number, "2026-12-06 10:00:01").await;
    assert!(
        matches!(&second, Err(sqlx::Error::Database(db)) if db.is_unique_violation()),
        "{second:?}"
    );
    scratch.drop_database().await;
}

#[tokio::test]
async fn numbers_already_on_orders_are_never_issued_again() {
    let scratch = Scratch::new(2).await;
    database::migrate(&scratch.pool).await.expect("migrate");
    let (position, key): (u64, u64) = sqlx::query_as(
        "SELECT next_position, permutation_key FROM order_number_sequence WHERE name = 'orders'",
    )
    .fetch_one(&scratch.pool)
    .await
    .unwrap();
    // An order from before the sequence happened to get the number the next position maps to.
    let taken = proto_events::order_number::from_sequence(position, key).unwrap();
    let customer = customer(&scratch.pool).await;
    insert_order(&scratch.pool, customer, &taken, "2026-01-01 00:00:00")
        .await
        .unwrap();
    let issuer = OrderNumbers::new(scratch.pool.clone(), 5);
    let issued: Vec<String> = futures::future::join_all((0..4).map(|_| issuer.next()))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(!issued.contains(&taken), "{taken} issued again: {issued:?}");
    assert_eq!(
        issued[0],
        proto_events::order_number::from_sequence(position + 1, key).unwrap()
    );
    scratch.drop_database().await;
}

/// A database from before the sequence, where two orders share a number: the migration
/// keeps every order and every number as it was, marks the later holders as repeats, and
/// the UNIQUE key holds from then on.
#[tokio::test]
async fn a_database_with_repeated_numbers_migrates_and_keeps_them_all() {
    let scratch = Scratch::new(2).await;
    database::MIGRATOR
        .run_to(SEQUENCE_MIGRATION - 1, &scratch.pool)
        .await
        .expect("the migrations before the sequence");
    let customer = customer(&scratch.pool).await;
    let first = insert_order(&scratch.pool, customer, "15660544", "2026-03-01 09:00:00")
        .await
        .unwrap();
    let second = insert_order(&scratch.pool, customer, "15660544", "2026-05-01 09:00:00")
        .await
        .unwrap();
    let third = insert_order(&scratch.pool, customer, "15660544", "2026-04-01 09:00:00")
        .await
        .unwrap();
    let alone = insert_order(&scratch.pool, customer, "48213097", "2026-03-01 09:00:00")
        .await
        .unwrap();

    database::migrate(&scratch.pool)
        .await
        .expect("the rest of the migrations, repeats and all");
    let rows: Vec<(Uuid, String, u16)> = sqlx::query_as(
        "SELECT id, order_number, order_number_repeat FROM orders ORDER BY order_number, order_number_repeat",
    )
    .fetch_all(&scratch.pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        [
            (first, "15660544".to_owned(), 0),
            (third, "15660544".to_owned(), 1),
            (second, "15660544".to_owned(), 2),
            (alone, "48213097".to_owned(), 0),
        ],
        "every order kept with its number; the oldest holder is repeat 0"
    );
    let again = insert_order(&scratch.pool, customer, "48213097", "2026-12-06 10:00:00").await;
    assert!(
        matches!(&again, Err(sqlx::Error::Database(db)) if db.is_unique_violation()),
        "{again:?}"
    );
    scratch.drop_database().await;
}
