//! Shared helpers: the real server on 127.0.0.1:0 and a generated client.
#![allow(dead_code)]

use callassist::{
    pb::{
        self, assist_event::Payload, call_assist_service_client::CallAssistServiceClient,
        stream_call_request::Event as Inbound,
    },
    semantic::weights,
    server, Config, Error,
};
use std::{net::SocketAddr, time::Duration};
use tokio::{net::TcpListener, sync::mpsc, task::JoinHandle};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{transport::Channel, Code, Status, Streaming};
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};

/// How long a test waits for anything before failing.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A running server.
pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: JoinHandle<Result<(), Error>>,
}

/// The configuration tests run with: defaults, except short time-outs and
/// the fast tier only (what a test expects must not depend on when the
/// encoder becomes ready; `tests/semantic.rs` turns it on).
pub fn test_config() -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        drain_timeout: Duration::from_secs(5),
        // Many servers run at once: no fixed metrics port.
        metrics_listen: None,
        semantic: callassist::config::Semantic {
            mode: callassist::config::SemanticMode::Off,
            ..Default::default()
        },
        ..Config::default()
    }
}

/// The encoder's model file, fetched into the user's cache on first use
/// (as the browser test installs Chromium).
pub fn encoder_weights() -> std::path::PathBuf {
    static PATH: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let cache = weights::default_cache_dir(&|k| std::env::var(k).ok());
        weights::ensure(&cache, &mut |line| eprintln!("{line}")).expect("encoder weights")
    })
    .clone()
}

/// [`test_config`] with the semantic tier on the real weights, one encoder
/// thread and `budget`.
pub fn semantic_config(budget: Duration) -> callassist::Config {
    let mut config = test_config();
    config.semantic = callassist::config::Semantic {
        mode: callassist::config::SemanticMode::Cached,
        model: Some(encoder_weights()),
        threads: 1,
        budget,
        ..Default::default()
    };
    config
}

/// Waits until the server reports the semantic tier ready (loading takes
/// seconds in a debug build, more while other tests load theirs).
pub async fn wait_until_semantic(server: &TestServer) {
    let mut health = HealthClient::new(server.channel().await);
    for _ in 0..1200 {
        let status = health
            .check(HealthCheckRequest {
                service: callassist::server::SEMANTIC_HEALTH_NAME.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        if status == ServingStatus::Serving as i32 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the semantic tier did not become ready");
}

pub async fn start_server() -> TestServer {
    start_server_with(test_config()).await
}

pub async fn start_server_with(config: Config) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(server::serve(listener, config, async {
        let _ = stopped.await;
    }));
    TestServer {
        addr,
        stop: Some(stop),
        handle,
    }
}

impl TestServer {
    /// A server started by other means (e.g. with its HTTP port).
    pub fn from_parts(
        addr: SocketAddr,
        stop: tokio::sync::oneshot::Sender<()>,
        handle: JoinHandle<Result<(), Error>>,
    ) -> Self {
        TestServer {
            addr,
            stop: Some(stop),
            handle,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn channel(&self) -> Channel {
        channel_to(self.addr).await
    }

    pub async fn client(&self) -> CallAssistServiceClient<Channel> {
        CallAssistServiceClient::new(self.channel().await)
    }

    /// Triggers a graceful shutdown and waits for the server to stop.
    pub async fn shutdown(mut self) -> Result<(), Error> {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(PATIENCE, self.handle)
            .await
            .expect("server stopped in time")
            .unwrap()
    }
}

pub fn start(call_id: &str) -> pb::StreamCallRequest {
    start_in(call_id, "")
}

pub fn start_in(call_id: &str, language_code: &str) -> pb::StreamCallRequest {
    pb::StreamCallRequest {
        event: Some(Inbound::Start(pb::CallStart {
            call_id: call_id.into(),
            agent_id: "agent-7".into(),
            language_code: language_code.into(),
            metadata: Default::default(),
        })),
    }
}

pub fn segment(
    id: &str,
    speaker: pb::Speaker,
    text: &str,
    is_final: bool,
    start_ms: u32,
    end_ms: u32,
) -> pb::StreamCallRequest {
    pb::StreamCallRequest {
        event: Some(Inbound::Segment(pb::TranscriptSegment {
            segment_id: id.into(),
            speaker: speaker as i32,
            text: text.into(),
            is_final,
            start_ms,
            end_ms,
            asr_confidence: 0.9,
        })),
    }
}

pub fn customer(id: &str, text: &str, start_ms: u32) -> pb::StreamCallRequest {
    segment(
        id,
        pb::Speaker::Customer,
        text,
        true,
        start_ms,
        start_ms + 1000,
    )
}

pub fn agent(id: &str, text: &str, start_ms: u32) -> pb::StreamCallRequest {
    segment(
        id,
        pb::Speaker::Agent,
        text,
        true,
        start_ms,
        start_ms + 1000,
    )
}

pub fn end(reason: &str) -> pb::StreamCallRequest {
    pb::StreamCallRequest {
        event: Some(Inbound::End(pb::CallEnd {
            reason: reason.into(),
        })),
    }
}

/// One StreamCall seen from the client.
pub struct CallStream {
    pub tx: mpsc::Sender<pb::StreamCallRequest>,
    pub rx: Streaming<pb::StreamCallResponse>,
}

/// Opens a StreamCall whose first message is `first`.
pub async fn open(
    client: &mut CallAssistServiceClient<Channel>,
    first: pb::StreamCallRequest,
) -> Result<CallStream, Status> {
    let (tx, rx) = mpsc::channel(256);
    tx.send(first).await.unwrap();
    let rx = client
        .stream_call(ReceiverStream::new(rx))
        .await?
        .into_inner();
    Ok(CallStream { tx, rx })
}

impl CallStream {
    pub async fn send(&self, request: pb::StreamCallRequest) {
        self.tx.send(request).await.expect("stream open");
    }

    /// The next event, `Ok(None)` when the server closed the stream.
    pub async fn next(&mut self) -> Result<Option<pb::AssistEvent>, Status> {
        match tokio::time::timeout(PATIENCE, self.rx.message())
            .await
            .expect("server answered in time")?
        {
            Some(r) => Ok(Some(r.event.expect("event set"))),
            None => Ok(None),
        }
    }

    /// Events until (and including) the first one matching `done`.
    pub async fn until(&mut self, done: impl Fn(&pb::AssistEvent) -> bool) -> Vec<pb::AssistEvent> {
        let mut events = Vec::new();
        loop {
            let event = self
                .next()
                .await
                .expect("no error")
                .expect("stream still open");
            let stop = done(&event);
            events.push(event);
            if stop {
                return events;
            }
        }
    }

    /// The error status that ends the stream, skipping events before it.
    pub async fn error(&mut self) -> Status {
        loop {
            match self.next().await {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("the stream ended without an error"),
                Err(status) => return status,
            }
        }
    }

    /// Every event until the server closes the stream.
    pub async fn rest(&mut self) -> Vec<pb::AssistEvent> {
        let mut events = Vec::new();
        while let Some(event) = self.next().await.expect("no error") {
            events.push(event);
        }
        events
    }
}

pub fn is_analysis_of(segment_id: &str) -> impl Fn(&pb::AssistEvent) -> bool + '_ {
    move |e| {
        e.segment_id == segment_id
            && matches!(e.payload, Some(Payload::Analysis(ref a)) if a.is_final)
    }
}

pub fn is_summary(e: &pb::AssistEvent) -> bool {
    matches!(e.payload, Some(Payload::Summary(_)))
}

pub fn summary_of(e: &pb::AssistEvent) -> &pb::CallSummary {
    match &e.payload {
        Some(Payload::Summary(s)) => s,
        other => panic!("expected a summary, got {other:?}"),
    }
}

pub fn suggestions(events: &[pb::AssistEvent]) -> Vec<&pb::Suggestion> {
    events
        .iter()
        .filter_map(|e| match &e.payload {
            Some(Payload::Suggestion(s)) => Some(s),
            _ => None,
        })
        .collect()
}

/// `GetCallSummary` for `call_id`: the summary, or the error status.
pub async fn call_summary(
    client: &mut CallAssistServiceClient<Channel>,
    call_id: &str,
) -> Result<pb::CallSummary, Status> {
    let request = pb::GetCallSummaryRequest {
        call_id: call_id.into(),
    };
    let response = client.get_call_summary(request).await?.into_inner();
    Ok(response
        .summary
        .expect("a summary in every successful response"))
}

/// `WatchCall` for `call_id` from after `after_event_id`: the event stream,
/// or the error status.
pub async fn watch_call(
    client: &mut CallAssistServiceClient<Channel>,
    call_id: &str,
    after_event_id: u64,
) -> Result<Streaming<pb::WatchCallResponse>, Status> {
    let request = pb::WatchCallRequest {
        call_id: call_id.into(),
        after_event_id,
    };
    Ok(client.watch_call(request).await?.into_inner())
}

/// Asserts a status code and that the message mentions `needle`.
pub fn assert_status(status: &Status, code: Code, needle: &str) {
    assert_eq!(status.code(), code, "unexpected status: {status:?}");
    assert!(
        status.message().contains(needle),
        "message {:?} should mention {needle:?}",
        status.message()
    );
}

/// Retries `f` until it returns `Some`, for conditions reached asynchronously.
pub async fn eventually<T, F, Fut>(mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not reached in {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `path`, installing Debian's `package` with apt-get first if it is
/// missing (updating the package lists once if the install fails). The
/// tests of one binary run in parallel and apt takes one lock: installs are
/// serialized here, and apt waits for a lock another process holds.
pub fn apt_installed(path: &str, package: &str) -> std::path::PathBuf {
    static APT: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let path = std::path::PathBuf::from(path);
    let _apt = APT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !path.exists() {
        const WAIT_FOR_LOCK: &str = "DPkg::Lock::Timeout=300";
        let install = || {
            std::process::Command::new("apt-get")
                .args([
                    "-o",
                    WAIT_FOR_LOCK,
                    "install",
                    "-y",
                    "--no-install-recommends",
                    package,
                ])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .is_ok_and(|s| s.success())
        };
        if !install() {
            run(std::process::Command::new("apt-get").args(["-o", WAIT_FOR_LOCK, "update"]));
            assert!(install(), "apt-get install {package} failed");
        }
    }
    path
}

/// Runs a command and fails the test with its output if it fails.
pub fn run(command: &mut std::process::Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A Python virtual environment under `target/tmp/NAME` with the pinned
/// `requirements` installed (once; reused while they do not change); the
/// path of its `python`. Needs only `python3` and PyPI.
pub fn python_venv(name: &str, requirements: &std::path::Path) -> std::path::PathBuf {
    let wanted = std::fs::read_to_string(requirements).unwrap();
    let venv = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let marker = venv.join("requirements.installed");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        run(std::process::Command::new(python)
            .args(["-m", "venv", "--clear"])
            .arg(&venv));
        run(std::process::Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "--disable-pip-version-check", "-r"])
            .arg(requirements));
        std::fs::write(&marker, wanted).unwrap();
    }
    venv.join("bin/python")
}

/// Python with grpcio (the example client's requirements) and stubs
/// generated from `proto/` by grpcio-tools, the way an integrator makes
/// them: (python, stubs directory).
pub fn grpc_python() -> (std::path::PathBuf, std::path::PathBuf) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let requirements = root.join("examples/clients/python/requirements.txt");
    let python = python_venv("interop-venv", &requirements);
    let stubs = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("interop-stubs");
    std::fs::create_dir_all(&stubs).unwrap();
    run(std::process::Command::new(&python)
        .args(["-m", "grpc_tools.protoc", "-Iproto", "--python_out"])
        .arg(&stubs)
        .arg("--grpc_python_out")
        .arg(&stubs)
        .arg("proto/callassist/v1/call_assist.proto")
        .current_dir(root));
    (python, stubs)
}

/// A channel to the server at `addr`, which may still be starting.
pub async fn channel_to(addr: SocketAddr) -> Channel {
    let url = format!("http://{addr}");
    eventually(|| async {
        Channel::from_shared(url.clone())
            .unwrap()
            .connect()
            .await
            .ok()
    })
    .await
}

/// A free local address (bound, then released for a process to take).
pub fn free_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// `callassist serve`, the binary, on `addr`, with its HTTP port (metrics,
/// console) on `http` or off, and `RUST_LOG` cleared so that `log_level`
/// applies. The caller adds flags and standard streams, and spawns it.
pub fn serve_command(addr: SocketAddr, http: Option<SocketAddr>) -> std::process::Command {
    let http = http.map_or_else(|| "0".to_string(), |a| a.to_string());
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_callassist"));
    command
        .args([
            "serve",
            "--listen",
            &addr.to_string(),
            "--metrics-listen",
            &http,
            "--set",
            "semantic_tier=off",
        ])
        .env_remove("RUST_LOG");
    command
}

/// Sends SIGTERM to process `pid` (a graceful shutdown).
pub fn sigterm(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -TERM {pid}");
}
