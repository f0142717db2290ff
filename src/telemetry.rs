//! Logging with `tracing`, and trace export with OpenTelemetry, set up once
//! by the binary.
//!
//! The log filter comes from `RUST_LOG` when set, else from the `log_level`
//! configuration key. Transcript text is never logged: spans carry call and
//! segment ids only.
//!
//! With `otlp_endpoint` set, spans (one per call, one per segment, one per
//! watcher) are also exported over OTLP/gRPC to a collector, and a W3C
//! `traceparent` in a request's metadata makes the call's span a child of
//! the caller's trace ([`link_to_caller`]).

use crate::config::{Config, LogFormat};
use opentelemetry::{propagation::Extractor, trace::TracerProvider as _};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::{propagation::TraceContextPropagator, trace::SdkTracerProvider, Resource};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{layer::SubscriberExt, util::SubscriberInitExt, EnvFilter, Layer};

/// What must outlive the subscriber: the trace exporter, flushed by
/// [`Telemetry::shutdown`] before the process exits.
#[must_use = "keep it until the end, then call shutdown"]
pub struct Telemetry {
    /// The OpenTelemetry tracer provider, if traces are exported.
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still buffered.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider {
            if let Err(e) = provider.shutdown() {
                eprintln!("callassist: trace export did not flush: {e}");
            }
        }
    }
}

/// Installs the global subscriber (and the trace exporter). Call once, from
/// `main`, inside the Tokio runtime.
pub fn init(config: &Config) -> Result<Telemetry, crate::Error> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log_level));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = match config.log_format {
        LogFormat::Text => fmt.boxed(),
        LogFormat::Json => fmt
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .boxed(),
    };
    let (otel, provider) = match &config.otlp_endpoint {
        Some(endpoint) => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint.clone())
                .build()
                .map_err(|e| crate::Error::Config(format!("otlp_endpoint: {e}")))?;
            let provider = SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(Resource::builder().with_service_name("callassist").build())
                .build();
            opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
            // Call, segment and watcher spans, whatever the log level.
            let spans = EnvFilter::new("callassist=debug");
            let layer = tracing_opentelemetry::layer()
                .with_tracer(provider.tracer("callassist"))
                .with_filter(spans);
            (Some(layer), Some(provider))
        }
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .with(otel)
        .init();
    Ok(Telemetry { provider })
}

/// Reads W3C trace context from gRPC metadata.
struct Metadata<'a>(&'a tonic::metadata::MetadataMap);

impl Extractor for Metadata<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .keys()
            .filter_map(|k| match k {
                tonic::metadata::KeyRef::Ascii(k) => Some(k.as_str()),
                tonic::metadata::KeyRef::Binary(_) => None,
            })
            .collect()
    }
}

/// Makes `span` a child of the trace named in the request's `traceparent`
/// metadata, if any (a no-op without trace export).
pub fn link_to_caller(span: &tracing::Span, metadata: &tonic::metadata::MetadataMap) {
    let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&Metadata(metadata)));
    let _ = span.set_parent(parent);
}
