//! Traces that follow one order: with `log.otlp_endpoint` set, a web order with a file —
//! sent with a W3C `traceparent` — is one trace from the web gateway's HTTP span through
//! the bus to the storage worker and the notifier, every span's parent in the trace,
//! received by the OTLP receiver of the test support; the persistence worker, which takes
//! events in batches, puts each event's span in its own trace too.
//!
//! Its own test binary: traces are switched on with the process's one global subscriber.

use std::collections::HashMap;

use anyhow::Context;
use bureau_end_to_end::web::register_customer;
use bureau_end_to_end::{DEADLINE, TestStack, eventually, random_bytes};
use bureau_test_support::otlp::{OtlpReceiver, ReceivedSpan};
use serde_json::Value;

/// The consumer span of `consumer` handling `event_type` in `spans`.
fn consumer_span<'a>(
    spans: &'a [ReceivedSpan],
    consumer: &str,
    event_type: &str,
) -> Option<&'a ReceivedSpan> {
    spans.iter().find(|span| {
        span.attributes.get("consumer").map(String::as_str) == Some(consumer)
            && span.attributes.get("event_type").map(String::as_str) == Some(event_type)
    })
}

/// The chain of spans from `span` up to the trace's root, by parent links; `None` if a
/// parent is not in `spans`.
fn ancestry<'a>(
    spans: &'a [ReceivedSpan],
    span: &'a ReceivedSpan,
) -> Option<Vec<&'a ReceivedSpan>> {
    let by_id: HashMap<&str, &ReceivedSpan> =
        spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
    let mut chain = vec![span];
    let mut current = span;
    while !current.parent_span_id.is_empty() {
        match by_id.get(current.parent_span_id.as_str()) {
            Some(parent) => {
                chain.push(parent);
                current = parent;
            }
            // The caller's own span (outside the system) ends the chain.
            None => return Some(chain),
        }
        if chain.len() > 64 {
            return None;
        }
    }
    Some(chain)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_web_order_is_one_trace_from_the_gateway_to_the_notifier() -> anyhow::Result<()> {
    let receiver = OtlpReceiver::start().await?;
    let mut log = bureau_test_support::settings()?.log;
    log.filter = "warn".into();
    log.otlp_endpoint = receiver.endpoint().to_owned();
    bureau_platform::telemetry::init("bureau-traces-test", &log);

    let stack = TestStack::start().await?;
    let token = register_customer(&stack, "traced@example.com", "Traced Customer").await?;

    // The caller's span: the trace id and the parent the gateway's span must name.
    let trace_id = format!("{:032x}", rand::random::<u128>() | 1);
    let caller_span = format!("{:016x}", rand::random::<u64>() | 1);
    let form = reqwest::multipart::Form::new()
        .text("text", "Scan and print, traced")
        .part(
            "file",
            reqwest::multipart::Part::bytes(random_bytes(32 * 1024)).file_name("scan.bin"),
        );
    let response = stack
        .http
        .post(stack.web_url("/api/orders"))
        .bearer_auth(&token)
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .multipart(form)
        .send()
        .await?;
    anyhow::ensure!(response.status() == 201, "order: {}", response.status());
    let answer: Value = response.json().await?;
    answer["order_number"].as_str().context("order_number")?;

    // The notifier's handling of `order.file.stored` is in the trace, and every span from it
    // up goes through the storage worker to the gateway's HTTP span.
    let spans = eventually("the order's trace, gateway to notifier", DEADLINE, || {
        let receiver = receiver.clone();
        let trace_id = trace_id.clone();
        async move {
            let spans = receiver.trace(&trace_id);
            consumer_span(&spans, "notifier", "order.file.stored")?;
            consumer_span(&spans, "storage-worker", "order.file.received")?;
            Some(spans)
        }
    })
    .await
    .map_err(|error| {
        let seen: Vec<String> = receiver
            .spans()
            .iter()
            .map(|s| {
                format!(
                    "{} {} {}<-{} {:?}",
                    s.trace_id,
                    s.name,
                    s.span_id,
                    s.parent_span_id,
                    s.attributes.get("consumer")
                )
            })
            .collect();
        anyhow::anyhow!(
            "{error}; trace {trace_id}; received {} spans: {seen:#?}",
            seen.len()
        )
    })?;

    let gateway = spans
        .iter()
        .find(|span| span.parent_span_id == caller_span)
        .context("a span whose parent is the caller's")?;
    assert_eq!(
        gateway.attributes.get("http.route").map(String::as_str),
        Some("/api/orders"),
        "the gateway's HTTP span, by route: {gateway:?}"
    );

    let notifier = consumer_span(&spans, "notifier", "order.file.stored").unwrap();
    let chain = eventually(
        "every parent of the notifier's span received",
        DEADLINE,
        || {
            let receiver = receiver.clone();
            let trace_id = trace_id.clone();
            let notifier = notifier.clone();
            let caller_span = caller_span.clone();
            async move {
                let spans = receiver.trace(&trace_id);
                let chain: Vec<ReceivedSpan> =
                    ancestry(&spans, &notifier)?.into_iter().cloned().collect();
                (chain.last()?.parent_span_id == caller_span).then_some(chain)
            }
        },
    )
    .await?;
    let names: Vec<&str> = chain.iter().map(|span| span.name.as_str()).collect();
    let position = |name: &str| names.iter().position(|n| *n == name);
    let storage = position("storage-worker order.file.received")
        .with_context(|| format!("the storage worker's span on the way up: {names:?}"))?;
    let published = position("publish order.file.stored")
        .with_context(|| format!("the publish of the stored file: {names:?}"))?;
    let received = position("publish order.file.received")
        .with_context(|| format!("the gateway's publish: {names:?}"))?;
    assert!(
        published < storage && storage < received,
        "notifier <- publish(stored) <- storage worker <- publish(received) <- gateway: {names:?}"
    );
    assert_eq!(chain.last().unwrap().span_id, gateway.span_id, "{names:?}");

    // The S3 calls are spans of their own: the gateway's streaming into staging under its
    // HTTP span, the storage worker's move to the final key under its consumer span.
    let s3_under = |owner: &str| {
        let all = receiver.trace(&trace_id);
        all.iter().any(|span| {
            span.name.starts_with("s3 ")
                && ancestry(&all, span)
                    .is_some_and(|chain| chain.iter().any(|parent| parent.name == owner))
        })
    };
    eventually("the S3 calls' spans in the trace", DEADLINE, || async {
        (s3_under("storage-worker order.file.received") && s3_under(&gateway.name)).then_some(())
    })
    .await?;

    // The persistence worker handles events in batches (one transaction for many orders);
    // each event still has its consumer span in its own trace, under the gateway's publish.
    let persisted = eventually(
        "the persistence worker's span of order.created in the trace",
        DEADLINE,
        || {
            let receiver = receiver.clone();
            let trace_id = trace_id.clone();
            let caller_span = caller_span.clone();
            async move {
                let spans = receiver.trace(&trace_id);
                let span = consumer_span(&spans, "persistence-worker", "order.created")?;
                let chain: Vec<String> = ancestry(&spans, span)?
                    .into_iter()
                    .map(|s| s.name.clone())
                    .collect();
                let reaches_caller = ancestry(&spans, span)?.last()?.parent_span_id == caller_span;
                reaches_caller.then_some(chain)
            }
        },
    )
    .await?;
    assert!(
        persisted.iter().any(|name| name == "publish order.created"),
        "persistence worker <- publish(created) <- gateway: {persisted:?}"
    );

    // No span of the trace points at a parent outside it, but the caller's.
    let all = receiver.trace(&trace_id);
    let ids: std::collections::HashSet<&str> = all.iter().map(|s| s.span_id.as_str()).collect();
    for span in &all {
        assert!(
            span.parent_span_id == caller_span || ids.contains(span.parent_span_id.as_str()),
            "{} has a parent outside the trace",
            span.name
        );
    }
    stack.teardown().await
}
