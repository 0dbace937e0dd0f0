//! The staging sweep keeps what an order still expects: a web upload whose storage worker is
//! away (an outage, a dead letter replayed later than the sweep's age) is still in staging
//! when the worker comes to it, while what no order claims is removed.

use std::time::Duration;

use anyhow::Context;
use bureau_end_to_end::web::register_customer;
use bureau_end_to_end::{DEADLINE, Service, TestStack, eventually, random_bytes};
use bureau_platform::Secret;
use bureau_platform::settings::DatabaseSettings;
use bytes::Bytes;
use serde_json::Value;
use storage_worker::sweep::{ExpectedFiles, SweepPolicy, sweep_once};
use uuid::Uuid;

/// Every staged object counts as old enough to sweep.
const SWEEP_NOW: SweepPolicy = SweepPolicy {
    interval: Duration::from_secs(3600),
    multipart_after: Duration::from_secs(86_400),
    staging_after: Duration::ZERO,
};

async fn stage(stack: &TestStack, key: &str) -> anyhow::Result<()> {
    let body = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"left behind"))]);
    stack
        .store
        .upload_stream(key, body, None)
        .await
        .map_err(|e| anyhow::anyhow!("staging {key}: {e}"))?;
    Ok(())
}

async fn file_state(stack: &TestStack, file_id: Uuid) -> Option<String> {
    sqlx::query_scalar("SELECT state FROM order_files WHERE id = ?")
        .bind(file_id)
        .fetch_optional(&stack.db)
        .await
        .ok()?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_upload_waiting_for_the_storage_worker_survives_the_sweep() -> anyhow::Result<()> {
    let mut stack = TestStack::start().await?;
    let customer = register_customer(&stack, "sweep@example.com", "Olena Koval").await?;

    // The storage worker is away; the order and its file are accepted and recorded.
    stack.stop_service(Service::StorageWorker).await?;
    let contents = random_bytes(64 * 1024);
    let placed = stack
        .http
        .post(stack.web_url("/api/orders"))
        .bearer_auth(&customer)
        .multipart(
            reqwest::multipart::Form::new()
                .text("text", "Scan attached")
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(contents.clone()).file_name("scan.bin"),
                ),
        )
        .send()
        .await?;
    anyhow::ensure!(placed.status() == 201, "placing: {}", placed.status());
    let placed: Value = placed.json().await?;
    let order_id: Uuid = placed["order_id"].as_str().context("order_id")?.parse()?;
    let file_id: Uuid = placed["files"][0]["file_id"]
        .as_str()
        .context("file_id")?
        .parse()?;
    eventually("the file recorded as received", DEADLINE, || async {
        (file_state(&stack, file_id).await.as_deref() == Some("received")).then_some(())
    })
    .await?;
    let expected_key = format!("staging/{order_id}/{file_id}");

    // Beside it: a staged object no order announced, and one whose file is settled.
    let orphan = format!("staging/{}/{}", Uuid::now_v7(), Uuid::now_v7());
    stage(&stack, &orphan).await?;
    stage(&stack, "staging/not-a-staging-key").await?;

    // MySQL unreachable: the sweep cannot tell what is expected, so it deletes nothing.
    let unreachable = bureau_platform::database::pool(&DatabaseSettings {
        url: Secret::new("mysql://nobody@127.0.0.1:1/none"),
        max_connections: 1,
        run_migrations: false,
    })?;
    let blind = sweep_once(&stack.store, &ExpectedFiles::new(unreachable), &SWEEP_NOW).await;
    assert_eq!(
        (blind.staging_objects_deleted, blind.staging_objects_kept),
        (0, 0)
    );
    assert!(
        stack
            .store
            .head(&orphan)
            .await
            .map_err(anyhow::Error::msg)?
            .is_some()
    );

    // Long past the sweep's age: the expected file stays, the rest goes.
    let swept = sweep_once(
        &stack.store,
        &ExpectedFiles::new(stack.db.clone()),
        &SWEEP_NOW,
    )
    .await;
    assert_eq!(
        (swept.staging_objects_deleted, swept.staging_objects_kept),
        (2, 1)
    );
    assert_eq!(
        stack
            .store
            .head(&expected_key)
            .await
            .map_err(anyhow::Error::msg)?,
        Some(contents.len() as u64)
    );
    assert_eq!(
        stack
            .store
            .head(&orphan)
            .await
            .map_err(anyhow::Error::msg)?,
        None
    );

    // The worker comes back (as a replayed dead letter would reach it) and stores the file.
    stack.start_service(Service::StorageWorker).await?;
    eventually("the file stored", DEADLINE, || async {
        (file_state(&stack, file_id).await.as_deref() == Some("stored")).then_some(())
    })
    .await?;
    let sha256: String = sqlx::query_scalar("SELECT sha256 FROM order_files WHERE id = ?")
        .bind(file_id)
        .fetch_one(&stack.db)
        .await?;
    assert_eq!(sha256, bureau_end_to_end::sha256_hex(&contents));

    // Settled: its staging object is gone, and a sweep has nothing left to keep.
    let after = sweep_once(
        &stack.store,
        &ExpectedFiles::new(stack.db.clone()),
        &SWEEP_NOW,
    )
    .await;
    assert_eq!(after.staging_objects_kept, 0);
    stack.teardown().await
}
