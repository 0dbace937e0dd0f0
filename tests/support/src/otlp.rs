//! An OTLP receiver for tests: `POST /v1/traces` with JSON bodies (what
//! `bureau_platform::telemetry` exports with `log.otlp_endpoint` set), keeping every span
//! it was sent so a test can follow one trace across services.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::Value;
use tokio::net::TcpListener;

/// One span as received: ids in lowercase hex, `parent_span_id` empty for a root.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedSpan {
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    pub name: String,
    /// The service that sent it (`service.name` of its resource).
    pub service: String,
    /// String, integer and boolean attributes, as text.
    pub attributes: HashMap<String, String>,
}

/// The receiver; it serves until the test process ends.
#[derive(Clone)]
pub struct OtlpReceiver {
    endpoint: String,
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
}

impl OtlpReceiver {
    pub async fn start() -> anyhow::Result<OtlpReceiver> {
        let spans = Arc::new(Mutex::new(Vec::new()));
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let app = Router::new()
            .route("/v1/traces", post(receive))
            .with_state(spans.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(OtlpReceiver { endpoint, spans })
    }

    /// What to set as `log.otlp_endpoint`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.spans.lock().unwrap().clone()
    }

    /// The spans of one trace.
    pub fn trace(&self, trace_id: &str) -> Vec<ReceivedSpan> {
        self.spans()
            .into_iter()
            .filter(|span| span.trace_id == trace_id)
            .collect()
    }
}

async fn receive(State(spans): State<Arc<Mutex<Vec<ReceivedSpan>>>>, body: Bytes) -> StatusCode {
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let received = parse(&request);
    spans.lock().unwrap().extend(received);
    StatusCode::OK
}

/// An `ExportTraceServiceRequest` in OTLP's JSON encoding (camelCase names, hex ids).
fn parse(request: &Value) -> Vec<ReceivedSpan> {
    let mut received = Vec::new();
    for resource_spans in array(request, "resourceSpans") {
        let resource = attributes(&resource_spans["resource"]);
        let service = resource.get("service.name").cloned().unwrap_or_default();
        for scope_spans in array(resource_spans, "scopeSpans") {
            for span in array(scope_spans, "spans") {
                received.push(ReceivedSpan {
                    trace_id: text(span, "traceId").to_ascii_lowercase(),
                    span_id: text(span, "spanId").to_ascii_lowercase(),
                    parent_span_id: text(span, "parentSpanId").to_ascii_lowercase(),
                    name: text(span, "name"),
                    service: service.clone(),
                    attributes: attributes(span),
                });
            }
        }
    }
    received
}

fn array<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    value[key].as_array().into_iter().flatten()
}

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_owned()
}

fn attributes(value: &Value) -> HashMap<String, String> {
    array(value, "attributes")
        .filter_map(|attribute| {
            let key = attribute["key"].as_str()?.to_owned();
            let value = &attribute["value"];
            let text = if let Some(s) = value["stringValue"].as_str() {
                s.to_owned()
            } else if let Some(i) = value["intValue"].as_str() {
                i.to_owned()
            } else if let Some(i) = value["intValue"].as_i64() {
                i.to_string()
            } else if let Some(b) = value["boolValue"].as_bool() {
                b.to_string()
            } else {
                value.to_string()
            };
            Some((key, text))
        })
        .collect()
}
