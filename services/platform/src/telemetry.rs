//! Tracing set up once per process: human-readable or JSON lines, filtered by
//! `RUST_LOG` when set, else by the configured filter. Every event a consumer handles runs
//! in a span carrying its `correlation_id`, so one order can be followed across services.
//!
//! Traces, when `log.otlp_endpoint` is set: the same spans go to an OpenTelemetry collector
//! (OTLP over HTTP, JSON bodies) through `tracing-opentelemetry`, and the W3C trace context
//! (`traceparent`, `tracestate`) is read from HTTP requests ([`http_span`]) and carried in
//! every AMQP message's headers (`bureau_event_bus`), so one order's journey is one trace
//! across the gateways and the workers. Off, no context is read or written.

use std::sync::OnceLock;

use axum::http::HeaderMap;
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{EnvFilter, Layer, fmt, prelude::*};

use crate::settings::{LogFormat, LogSettings};

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Installs the global subscriber (and the trace exporter when configured). A second call
/// (tests) is a no-op.
pub fn init(service: &'static str, settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(settings.filter.clone()));
    let logs: BoxedLayer = match settings.format {
        LogFormat::Json => fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_filter(filter)
            .boxed(),
        LogFormat::Pretty => fmt::layer().with_target(false).with_filter(filter).boxed(),
    };
    let (traces, exporter_error) = match trace_layer(service, settings) {
        Ok(layer) => (layer, None),
        Err(error) => (None, Some(error)),
    };
    let mut layers = vec![logs];
    layers.extend(traces);
    let result = tracing_subscriber::registry().with(layers).try_init();
    if result.is_ok() {
        tracing::info!(service, version = env!("CARGO_PKG_VERSION"), "starting");
        if let Some(error) = exporter_error {
            tracing::warn!(%error, "traces are off: the OTLP exporter could not be built");
        } else if !settings.otlp_endpoint.is_empty() {
            tracing::info!(endpoint = %settings.otlp_endpoint, "exporting traces");
        }
    }
}

type BoxedLayer = Box<dyn Layer<tracing_subscriber::Registry> + Send + Sync>;

fn trace_layer(
    service: &'static str,
    settings: &LogSettings,
) -> Result<Option<BoxedLayer>, opentelemetry_otlp::ExporterBuildError> {
    if settings.otlp_endpoint.is_empty() || PROVIDER.get().is_some() {
        return Ok(None);
    }
    use opentelemetry_otlp::{Protocol, WithExportConfig};
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpJson)
        .with_endpoint(format!(
            "{}/v1/traces",
            settings.otlp_endpoint.trim_end_matches('/')
        ))
        .build()?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(service)
                .build(),
        )
        .build();
    let tracer = provider.tracer(service);
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let _ = PROVIDER.set(provider);
    Ok(Some(
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(EnvFilter::new(settings.traces_filter.clone()))
            .boxed(),
    ))
}

/// Sends the spans not exported yet (binaries call it before they exit).
pub fn flush() {
    if let Some(provider) = PROVIDER.get() {
        let _ = provider.force_flush();
    }
}

/// The span of one HTTP request, named by its matched `route` (never the raw path), child
/// of the caller's span when the request carries a W3C `traceparent`.
pub fn http_span(method: &str, route: &str, headers: &HeaderMap) -> tracing::Span {
    let span = tracing::info_span!(
        "http",
        otel.name = %format!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = %route,
    );
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(headers))
    });
    let _ = span.set_parent(parent);
    span
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }
}
