//! The W3C trace context (`traceparent`, `tracestate`) in AMQP message headers: written by
//! each publish from its span, read by the consumer to make its span a child of it. Through
//! the global propagator, which is set only when traces are on
//! (`bureau_platform::telemetry`); otherwise nothing is written or read.

use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable};
use opentelemetry::propagation::{Extractor, Injector};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Writes `span`'s context into `headers`.
pub(crate) fn inject(span: &tracing::Span, headers: &mut FieldTable) {
    let context = span.context();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut HeaderInjector(headers))
    });
}

/// Makes `span` a child of the context a message carries (if it carries one).
pub(crate) fn continue_in(span: &tracing::Span, properties: &BasicProperties) {
    let Some(headers) = properties.headers().as_ref() else {
        return;
    };
    let context = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(headers))
    });
    let _ = span.set_parent(context);
}

/// Links `from` to `to`'s context (a batch span to each event span it handled). Nothing when
/// traces are off (`to` has no valid context then).
pub(crate) fn link(from: &tracing::Span, to: &tracing::Span) {
    let context = to.context();
    let span_context = opentelemetry::trace::TraceContextExt::span(&context)
        .span_context()
        .clone();
    if span_context.is_valid() {
        from.add_link(span_context);
    }
}

struct HeaderInjector<'a>(&'a mut FieldTable);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0
            .insert(key.into(), AMQPValue::LongString(value.into()));
    }
}

struct HeaderExtractor<'a>(&'a FieldTable);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match self.0.inner().get(key)? {
            AMQPValue::LongString(value) => std::str::from_utf8(value.as_bytes()).ok(),
            AMQPValue::ShortString(value) => Some(value.as_str()),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        self.0.inner().keys().map(|key| key.as_str()).collect()
    }
}
