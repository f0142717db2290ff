//! OpenTelemetry: the binary, pointed at an OTLP collector (a fake one
//! here, speaking the real OTLP/gRPC trace service), exports a span per call
//! and per segment, and a `traceparent` sent by the platform makes the call
//! part of the platform's trace.

mod common;

use common::*;
use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        trace_service_server::{TraceService, TraceServiceServer},
        ExportTraceServiceRequest, ExportTraceServiceResponse,
    },
    trace::v1::Span,
};
use std::{
    process::Stdio,
    sync::{Arc, Mutex},
};
use tonic::{metadata::MetadataValue, Request, Response, Status};

#[derive(Default, Clone)]
struct Collector {
    spans: Arc<Mutex<Vec<Span>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let mut spans = self.spans.lock().unwrap();
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                spans.extend(scope.spans);
            }
        }
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_and_segments_are_exported_as_spans_of_the_callers_trace() {
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let otlp = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );

    let addr = free_addr();
    let mut server = serve_command(addr, None)
        .args(["--set", &format!("otlp_endpoint=http://{otlp}")])
        .args(["--set", "log_level=warn"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let channel = channel_to(addr).await;
    let mut client =
        callassist::pb::call_assist_service_client::CallAssistServiceClient::new(channel);

    // The platform's trace: this call is one step of it.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent_id = "00f067aa0ba902b7";
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tx.send(start("traced-call")).await.unwrap();
    let mut request = Request::new(tokio_stream::wrappers::ReceiverStream::new(rx));
    let traceparent: MetadataValue<_> = format!("00-{trace_id}-{parent_id}-01").parse().unwrap();
    request.metadata_mut().insert("traceparent", traceparent);
    let rx = client.stream_call(request).await.unwrap().into_inner();
    let mut call = CallStream { tx, rx };
    call.send(customer("s1", "我的卡丢了，我好担心", 0)).await;
    call.send(agent("a1", "您别着急，我马上帮您挂失", 3000))
        .await;
    call.send(end("hangup")).await;
    assert!(is_summary(call.rest().await.last().unwrap()));

    // Stopping flushes the exporter.
    sigterm(server.id());
    assert!(server.wait().unwrap().success());
    let spans = eventually(|| {
        let spans = collector.spans.lock().unwrap().clone();
        async move { spans.iter().any(|s| s.name == "call").then_some(spans) }
    })
    .await;

    let call_span = spans.iter().find(|s| s.name == "call").unwrap();
    assert_eq!(hex(&call_span.trace_id), trace_id, "the platform's trace");
    assert_eq!(
        hex(&call_span.parent_span_id),
        parent_id,
        "a child of the caller's span"
    );
    let segments: Vec<&Span> = spans.iter().filter(|s| s.name == "segment").collect();
    assert_eq!(segments.len(), 2, "one span per segment");
    for segment in segments {
        assert_eq!(segment.trace_id, call_span.trace_id);
        assert_eq!(
            segment.parent_span_id, call_span.span_id,
            "inside the call's span"
        );
    }
}
