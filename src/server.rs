//! Runs the service: the CallAssistService, gRPC health and reflection, the
//! reaper, and the graceful drain.

use crate::{
    grpc::{auth, echo::Echo, CallAssist},
    model::IntentModel,
    pb::{self, call_assist_service_server::CallAssistServiceServer},
    pipeline::Pipeline,
    reload,
    session::{Registry, SummaryLog},
    Config, Error,
};
use std::{future::Future, sync::Arc, time::Instant};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::{
    service::interceptor::InterceptedService,
    transport::{server::TcpIncoming, Certificate, Identity, ServerTlsConfig},
};
use tonic_health::ServingStatus;
use tracing::{info, warn};

/// The fully-qualified name of the service, as health checks name it.
pub const SERVICE_NAME: &str = "callassist.v1.CallAssistService";

/// The health name that reports the semantic tier: SERVING when the
/// encoder decides customer finals, NOT_SERVING while it loads or when it
/// is off or unavailable (the service itself serves either way).
pub const SEMANTIC_HEALTH_NAME: &str = "callassist.semantic";

/// Loads the semantic tier and mirrors its state on [`SEMANTIC_HEALTH_NAME`].
async fn semantic_health(
    tier: Arc<crate::semantic::SemanticTier>,
    settings: crate::config::Semantic,
    health: tonic_health::server::HealthReporter,
) {
    health
        .set_service_status(SEMANTIC_HEALTH_NAME, ServingStatus::NotServing)
        .await;
    crate::semantic::load(tier.clone(), settings).await;
    if tier.state() == crate::semantic::State::Ready {
        health
            .set_service_status(SEMANTIC_HEALTH_NAME, ServingStatus::Serving)
            .await;
    }
}

/// Serves on `listener` until `shutdown` resolves, then drains: health turns
/// NOT_SERVING, new calls are refused, every live call ends with a summary
/// sent to its client and watchers, and the server waits for streams to
/// finish, at most `config.drain_timeout`.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    let http = match config.metrics_listen {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .map_err(|e| Error::Io(format!("metrics_listen {addr}: cannot bind: {e}")))?,
        ),
        None => None,
    };
    serve_with_http(listener, http, config, shutdown).await
}

/// [`serve`] with the HTTP port (`/metrics`, `/console`) on `http`, already
/// bound (tests bind `127.0.0.1:0`), or none; `config.metrics_listen` is
/// not used.
pub async fn serve_with_http(
    listener: TcpListener,
    http: Option<TcpListener>,
    config: Config,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    let started = Instant::now();
    let metrics = crate::instruments::install();
    let grpc_port = listener.local_addr()?.port();
    let store = match &config.summary_log {
        Some(path) => Some(Arc::new(SummaryLog::open(path)?)),
        None => None,
    };
    let mut registry = Registry::new(config.limits.clone());
    if let Some(store) = &store {
        registry = registry.with_store(store.clone());
    }
    let registry = Arc::new(registry);
    let pipeline = match &config.model {
        Some(path) => {
            let model = std::fs::read(path)
                .map_err(Error::from)
                .and_then(|bytes| IntentModel::decode(&bytes))
                .map_err(|e| Error::Config(format!("model: {}: {e}", path.display())))?;
            info!(model = %path.display(), labels = model.linear.classes(), "serving a trained intent model");
            Pipeline::with_model(Arc::new(model))
        }
        None => Pipeline::new(),
    };
    let pipeline = Arc::new(if config.console_raw_personal_data {
        warn!("console_raw_personal_data is on: consoles see personal numbers unmasked");
        pipeline.with_raw_personal_data()
    } else {
        pipeline
    });
    if let Some(path) = &config.playbook {
        let playbook = crate::playbook::Playbook::load(path)
            .map_err(|e| Error::Config(format!("playbook: {e}")))?;
        info!(playbook = %playbook, "serving a playbook file");
        pipeline.set_playbook(Arc::new(playbook));
    }
    let draining = CancellationToken::new();
    let semantic = Arc::new(crate::semantic::SemanticTier::new(
        crate::semantic::State::Loading,
    ));
    let mut service = CallAssist::new(
        registry.clone(),
        pipeline.clone(),
        draining.clone(),
        config.max_segment_bytes,
        semantic.clone(),
    );
    let hand_over = CancellationToken::new();
    let cluster = match &config.cluster.redis_url {
        Some(_) => {
            let cluster = crate::cluster::Cluster::connect(&config.cluster, &config.limits)?;
            tokio::spawn(
                cluster
                    .clone()
                    .run_upkeep(registry.clone(), draining.clone()),
            );
            service = service.with_cluster(cluster.clone(), hand_over.clone());
            Some(cluster)
        }
        None => None,
    };

    let (health, health_service) = tonic_health::server::health_reporter();
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| Error::Io(format!("reflection: {e}")))?;
    let reflection_alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .map_err(|e| Error::Io(format!("reflection: {e}")))?;

    let reaper = tokio::spawn(registry.clone().run_reaper(draining.clone()));
    tokio::spawn(crate::instruments::run_upkeep(
        metrics.clone(),
        draining.clone(),
    ));
    if let Some(http) = http {
        info!(addr = %http.local_addr()?, "metrics at /metrics, agent console at /console");
        let site = crate::http::Site {
            metrics,
            registry: registry.clone(),
            grpc_port,
        };
        tokio::spawn(crate::http::serve(http, site, draining.clone()));
    }
    if let Some(path) = &config.playbook {
        tokio::spawn(reload::watch(
            path.clone(),
            pipeline.clone(),
            config.playbook_poll_interval,
            draining.clone(),
        ));
        spawn_sighup_reload(path.clone(), pipeline.clone(), draining.clone());
    }
    let stop_accepting = draining.clone();
    let guard = auth::interceptor(Arc::new(config.tokens.clone()));
    let max_message = config.transport.max_message_bytes;
    let assist = (!config.echo).then(|| {
        InterceptedService::new(
            CallAssistServiceServer::new(service).max_decoding_message_size(max_message),
            guard.clone(),
        )
    });
    let echo = config.echo.then(|| {
        InterceptedService::new(
            CallAssistServiceServer::new(Echo).max_decoding_message_size(max_message),
            guard.clone(),
        )
    });
    if config.tokens.enabled() {
        info!("bearer-token authentication is on (health checks are open)");
    }
    let transport = &config.transport;
    let mut builder = tonic::transport::Server::builder()
        // gRPC-Web from browsers arrives over HTTP/1.1 too.
        .accept_http1(true)
        .http2_keepalive_interval(Some(transport.keepalive_interval))
        .http2_keepalive_timeout(Some(transport.keepalive_timeout))
        .max_concurrent_streams(Some(transport.max_streams_per_connection));
    if let Some(tls) = &config.tls {
        builder = builder
            .tls_config(tls_config(tls)?)
            .map_err(|e| Error::Config(format!("tls: {e}")))?;
        info!(mutual = tls.client_ca.is_some(), "TLS is on");
    }
    let server = builder
        .layer(cors(&config.cors_allowed_origins))
        .layer(tonic_web::GrpcWebLayer::new())
        .add_service(health_service)
        .add_service(InterceptedService::new(reflection, guard.clone()))
        .add_service(InterceptedService::new(reflection_alpha, guard))
        .add_optional_service(assist)
        .add_optional_service(echo)
        .serve_with_incoming_shutdown(incoming(listener), async move {
            stop_accepting.cancelled().await
        });
    tokio::pin!(server);

    for name in ["", SERVICE_NAME] {
        health
            .set_service_status(name, ServingStatus::Serving)
            .await;
    }
    if config.echo {
        semantic.set_state(crate::semantic::State::Off);
    } else {
        tokio::spawn(semantic_health(
            semantic.clone(),
            config.semantic.clone(),
            health.clone(),
        ));
    }
    if config.echo {
        warn!("serving the no-op echo service (load-test comparison), not the assist");
    }
    info!(ready_ms = started.elapsed().as_millis() as u64, "serving");

    tokio::select! {
        result = &mut server => {
            reaper.abort();
            if let Some(store) = &store {
                store.close();
            }
            return result.map_err(|e| Error::Io(format!("server: {e}")));
        }
        _ = shutdown => {}
    }

    info!(
        open_calls = registry.open_calls(),
        "shutting down: draining calls"
    );
    for name in ["", SERVICE_NAME] {
        health
            .set_service_status(name, ServingStatus::NotServing)
            .await;
    }
    registry.begin_drain();
    // Cluster mode with other replicas up: streams hand their calls over
    // (checkpoint, release, UNAVAILABLE to the client) instead of ending
    // them; nothing else is held here.
    let handing_over = match &cluster {
        Some(cluster) => cluster.others_alive().await,
        None => false,
    };
    if handing_over {
        info!("other replicas are up: handing live calls over to them");
        hand_over.cancel();
    }
    draining.cancel();
    if !handing_over {
        // Let attached streams end their own calls (their clients get the
        // summary), then end whatever is left, e.g. calls whose client is
        // away.
        tokio::task::yield_now().await;
        registry.finish_all("server_shutdown");
    }
    match tokio::time::timeout(config.drain_timeout, &mut server).await {
        Ok(result) => result.map_err(|e| Error::Io(format!("server: {e}")))?,
        Err(_) => {
            warn!(deadline = ?config.drain_timeout, "drain deadline passed; closing the remaining connections")
        }
    }
    reaper.abort();
    if let Some(cluster) = &cluster {
        // What the drain wrote (checkpoints, summaries) reaches Redis
        // before the process exits.
        cluster.leave(config.drain_timeout).await;
    }
    if let Some(store) = &store {
        // Every summary of the drain is on disk before the process exits.
        store.close();
    }
    info!("stopped");
    Ok(())
}

/// CORS for gRPC-Web: the configured origins may call, send the headers a
/// gRPC-Web client sends (and `authorization`), and read the status
/// trailers-in-headers.
fn cors(origins: &[String]) -> tower_http::cors::CorsLayer {
    use http::{header::HeaderName, HeaderValue, Method};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let allow_origin = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    let headers = [
        "content-type",
        "x-grpc-web",
        "x-user-agent",
        "grpc-timeout",
        "authorization",
        "traceparent",
    ];
    let exposed = ["grpc-status", "grpc-message", "grpc-status-details-bin"];
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::POST, Method::OPTIONS])
        .allow_headers(headers.map(HeaderName::from_static))
        .expose_headers(exposed.map(HeaderName::from_static))
        .max_age(std::time::Duration::from_secs(3600))
}

/// The rustls configuration from the certificate files.
fn tls_config(tls: &crate::config::Tls) -> Result<ServerTlsConfig, Error> {
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(|e| Error::Config(format!("tls: {}: {e}", path.display())))
    };
    let mut config =
        ServerTlsConfig::new().identity(Identity::from_pem(read(&tls.cert)?, read(&tls.key)?));
    if let Some(ca) = &tls.client_ca {
        config = config.client_ca_root(Certificate::from_pem(read(ca)?));
    }
    Ok(config)
}

/// Accepted connections with Nagle's algorithm off: assists are small
/// messages that must leave at once, not wait ~40 ms for a delayed ACK.
fn incoming(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .with_keepalive(Some(std::time::Duration::from_secs(60)))
}

/// Reloads the playbook on SIGHUP (Unix), until `stop`.
#[cfg(unix)]
fn spawn_sighup_reload(path: std::path::PathBuf, pipeline: Arc<Pipeline>, stop: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            warn!(error = %e, "cannot listen for SIGHUP; the playbook reloads on file change only");
            return;
        }
    };
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                got = hangups.recv() => {
                    if got.is_none() {
                        return;
                    }
                    info!("SIGHUP: reloading the playbook");
                    reload::reload(&path, &pipeline);
                }
            }
        }
    });
}

#[cfg(not(unix))]
fn spawn_sighup_reload(_: std::path::PathBuf, _: Arc<Pipeline>, _: CancellationToken) {}
