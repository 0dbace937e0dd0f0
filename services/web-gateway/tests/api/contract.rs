//! The API contract against a running gateway: the OpenAPI document and its reference page
//! are served, and Schemathesis (from PyPI, installed by `scripts/api-fuzz`) fuzzes every
//! documented route from the document — anonymously and as a signed-in customer — and
//! finds no 5xx and no answer that does not match its schema. (That every route of the
//! router is in the document is a unit test of `http/openapi.rs`.)

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::process::Command;

use crate::helpers::*;

/// One fuzzing run may take this long at most (`st` itself stops after `--max-time`).
const FUZZ_DEADLINE: Duration = Duration::from_secs(240);

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[tokio::test]
async fn the_document_and_its_reference_page_are_served_by_the_gateway() {
    let gateway = Gateway::start().await;
    let document = gateway
        .http
        .get(gateway.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(document.status(), StatusCode::OK);
    let document: Value = document.json().await.unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1."));
    assert!(document["paths"]["/api/password/forgot"]["post"].is_object());

    let page = gateway
        .http
        .get(gateway.url("/api/docs"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = page.text().await.unwrap();
    // Every script and the document come from the gateway itself: no CDN.
    assert!(html.contains("src=\"/api/docs/rapidoc-min.js\""), "{html}");
    assert!(html.contains("spec-url=\"/api/openapi.json\""));
    assert!(
        !html.contains("//unpkg") && !html.contains("//cdn"),
        "{html}"
    );
    let script = gateway
        .http
        .get(gateway.url("/api/docs/rapidoc-min.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert!(script.text().await.unwrap().starts_with("/*! RapiDoc"));
    gateway.finish().await;
}

/// Runs `scripts/api-fuzz run` against the gateway with `args`; its output on failure.
async fn fuzz(base: &str, args: &[&str]) -> Result<String, String> {
    let script = repository().join("scripts/api-fuzz");
    let mut child = Command::new(&script)
        .arg("run")
        .arg(base)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let read = async {
        use tokio::io::AsyncReadExt;
        let (mut out, mut err) = (String::new(), String::new());
        let _ = tokio::join!(
            stdout.read_to_string(&mut out),
            stderr.read_to_string(&mut err)
        );
        (out, err)
    };
    let ran = tokio::time::timeout(FUZZ_DEADLINE, async {
        let (out, err) = read.await;
        (child.wait().await, out, err)
    })
    .await;
    let Ok((status, out, err)) = ran else {
        return Err(format!(
            "schemathesis did not finish within {FUZZ_DEADLINE:?}"
        ));
    };
    let report = format!("{out}\n{err}");
    match status {
        Ok(status) if status.success() => Ok(report),
        Ok(status) => Err(format!("schemathesis failed ({status}):\n{report}")),
        Err(error) => Err(format!("schemathesis: {error}\n{report}")),
    }
}

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_answer_off_its_schema() {
    // Installing the fuzzer is the script's job (once; PyPI): do it before the clock runs.
    let installed = std::process::Command::new(repository().join("scripts/api-fuzz"))
        .arg("st-path")
        .output()
        .expect("scripts/api-fuzz runs");
    assert!(
        installed.status.success(),
        "installing schemathesis failed: {}",
        String::from_utf8_lossy(&installed.stderr)
    );
    let (gateway, store) = gateway_with_store(|_| {})
        .await
        .expect("the S3 server answers (scripts/stack up): orders are fuzzed with files");
    let (_, token) = gateway.customer("fuzzing.customer@example.com").await;
    let base = gateway.url("");

    let anonymous = fuzz(&base, &[]).await;
    let bearer = format!("Authorization: Bearer {token}");
    // Signing out would end the run's own session: every other route is fuzzed signed in.
    let customer = fuzz(&base, &["-H", &bearer, "--exclude-operation-id", "log_out"]).await;
    gateway.finish().await;
    remove_bucket(&store).await;
    let anonymous = anonymous.unwrap_or_else(|report| panic!("anonymous: {report}"));
    let customer = customer.unwrap_or_else(|report| panic!("signed-in customer: {report}"));
    for report in [&anonymous, &customer] {
        // It fuzzed something: the summary names the operations it tested.
        assert!(report.contains("passed"), "{report}");
    }
}
