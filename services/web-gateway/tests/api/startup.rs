//! The gateway starts while its database is down, says so on `/readyz`, and answers 503.

use std::time::Duration;

use bureau_platform::Secret;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::helpers::*;

#[tokio::test]
async fn the_gateway_starts_while_its_database_is_down() {
    let mut settings = bureau_test_support::settings().expect("settings load");
    // Nothing listens on port 1.
    settings.database.url = Secret::new("mysql://root@127.0.0.1:1/bureau");
    settings.web_gateway.listen = "127.0.0.1:0".parse().unwrap();
    let stop = CancellationToken::new();
    let started = std::time::Instant::now();
    let running = web_gateway::start(settings, stop.clone())
        .await
        .expect("starts anyway");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "start waited for the database: {:?}",
        started.elapsed()
    );
    let http = reqwest::Client::builder()
        .timeout(DEADLINE)
        .build()
        .unwrap();
    let base = format!("http://{}", running.http_addr);

    assert_eq!(
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // The public port says only that it is not ready: no host names, no raw errors.
    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        ready.json::<Value>().await.unwrap(),
        json!({"ready": false})
    );
    let login = http
        .post(format!("{base}/api/session"))
        .json(&json!({"email": "olena@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.headers()[reqwest::header::RETRY_AFTER], "5");
    assert_eq!(
        error_of(login).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable".into(),
            "Our database is not answering right now. Please try again in a few seconds.".into()
        )
    );

    stop.cancel();
    tokio::time::timeout(DEADLINE, running.stopped())
        .await
        .expect("stops in time")
        .expect("stops cleanly");
}
