//! The plain-HTTP port (`metrics_listen`, default `127.0.0.1:9464`):
//! Prometheus metrics at `/metrics` and the agent console at `/console`.
//! The console's page calls the gRPC port with gRPC-Web.

use crate::session::Registry;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::{body::Bytes, service::service_fn};
use hyper_util::rt::TokioIo;
use metrics_exporter_prometheus::PrometheusHandle;
use std::{convert::Infallible, sync::Arc};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::debug;

/// The console's files, embedded in the binary: (path, content type, body).
const CONSOLE: &[(&str, &str, &str)] = &[
    (
        "/console",
        "text/html; charset=utf-8",
        include_str!("../console/index.html"),
    ),
    (
        "/console/",
        "text/html; charset=utf-8",
        include_str!("../console/index.html"),
    ),
    (
        "/console/console.js",
        "text/javascript; charset=utf-8",
        include_str!("../console/console.js"),
    ),
    (
        "/console/grpc-web.js",
        "text/javascript; charset=utf-8",
        include_str!("../console/grpc-web.js"),
    ),
    (
        "/console/console.css",
        "text/css; charset=utf-8",
        include_str!("../console/console.css"),
    ),
];

/// What the HTTP port needs.
#[derive(Debug, Clone)]
pub struct Site {
    /// Renders the metrics.
    pub metrics: PrometheusHandle,
    /// For the gauges set at scrape time.
    pub registry: Arc<Registry>,
    /// The gRPC port: the console calls the page's own host on this port
    /// (unless its URL says `?grpc=…`).
    pub grpc_port: u16,
}

fn respond(
    status: StatusCode,
    content_type: &str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, "no-store")
        .body(Full::new(body.into()))
        .expect("a valid response")
}

impl Site {
    fn handle(&self, request: &Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        if request.method() != Method::GET && request.method() != Method::HEAD {
            return respond(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "GET only\n");
        }
        let path = request.uri().path();
        if path == "/metrics" {
            crate::instruments::set_gauges(self.registry.open_calls(), self.registry.watchers());
            return respond(
                StatusCode::OK,
                "text/plain; version=0.0.4; charset=utf-8",
                self.metrics.render(),
            );
        }
        if path == "/console/config.json" {
            let body = format!("{{\"grpcPort\":{}}}", self.grpc_port);
            return respond(StatusCode::OK, "application/json", body);
        }
        match CONSOLE.iter().find(|(p, _, _)| *p == path) {
            Some((_, content_type, body)) => respond(StatusCode::OK, content_type, *body),
            None => respond(
                StatusCode::NOT_FOUND,
                "text/plain",
                "not found: try /metrics or /console\n",
            ),
        }
    }
}

/// Serves `site` on `listener` until `stop` is cancelled.
pub async fn serve(listener: TcpListener, site: Site, stop: CancellationToken) {
    let site = Arc::new(site);
    loop {
        let (stream, _) = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    debug!(error = %e, "http accept failed");
                    continue;
                }
            },
        };
        let site = site.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let response = site.handle(&request);
                async move { Ok::<_, Infallible>(response) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = connection.await {
                debug!(error = %e, "http connection ended with an error");
            }
        });
    }
}
