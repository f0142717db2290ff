//! The `callassist` binary: a thin CLI over the library.

/// mimalloc instead of glibc's malloc: allocation and freeing were ~10% of
/// the server's CPU under burst load (perf), spread over many threads'
/// arenas (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use callassist::{
    config::KEYS,
    model::{commands, IntentModel, TrainConfig},
    replay, server, telemetry, Config,
};
use clap::{Parser, Subcommand};
use std::{collections::BTreeMap, io::IsTerminal, path::PathBuf, process::ExitCode};
use tokio::net::TcpListener;

#[derive(Parser)]
#[command(
    name = "callassist",
    version,
    about = "Real-time call assist for bank contact centers (gRPC)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (embedded model and playbook, defaults unless configured).
    #[command(after_help = config_help())]
    Serve {
        /// TOML configuration file (also CALLASSIST_CONFIG).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Listen address, e.g. 0.0.0.0:50051 (same as --set listen=ADDR).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Address for /metrics and /console, or 0 for off (same as
        /// --set metrics_listen=ADDR) [default: 127.0.0.1:9464].
        #[arg(long, value_name = "ADDR")]
        metrics_listen: Option<String>,
        /// Serve this intent model (from `callassist train`) instead of the
        /// embedded one (same as --set model=MODEL).
        #[arg(long, value_name = "MODEL")]
        model: Option<String>,
        /// Serve this playbook (TOML) instead of the embedded one; reloaded
        /// when the file changes and on SIGHUP (same as --set playbook=FILE).
        #[arg(long, value_name = "FILE")]
        playbook: Option<String>,
        /// Serve the no-op comparison service (one trivial Analysis per
        /// final segment, no analysis) for load tests (same as --set echo=true).
        #[arg(long)]
        echo: bool,
        /// Override a configuration key; repeatable.
        #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_key_value)]
        set: Vec<(String, String)>,
    },
    /// Ask a server's gRPC health service whether it serves (exit 0) or not
    /// (exit 1): for container health checks.
    Health {
        #[command(flatten)]
        target: callassist::client::Target,
        /// Service to ask about ("" for the whole server).
        #[arg(long, default_value = callassist::server::SERVICE_NAME)]
        service: String,
    },
    /// Print the SHA-256 digest of a bearer token (read from standard input)
    /// for the `tenants` configuration key.
    HashToken,
    /// Train an intent model (JSONL `{"text","intent"}` or CSV `text,category`).
    Train {
        /// Training data; repeatable.
        #[arg(long, required = true, value_name = "FILE")]
        data: Vec<PathBuf>,
        /// Validation data for calibration and the out-of-scope threshold; repeatable.
        #[arg(long, value_name = "FILE")]
        val: Vec<PathBuf>,
        /// Hold out this share of --data (chosen by hash) as validation.
        #[arg(long, value_name = "FRACTION")]
        holdout: Option<f64>,
        /// Where to write the model.
        #[arg(long, value_name = "MODEL")]
        out: PathBuf,
        /// Shuffling seed (training is deterministic given the seed).
        #[arg(long, default_value_t = TrainConfig::default().seed)]
        seed: u64,
        /// Passes over the data.
        #[arg(long, default_value_t = TrainConfig::default().epochs)]
        epochs: usize,
        /// log2 of the number of feature hash buckets.
        #[arg(long, default_value_t = TrainConfig::default().bits)]
        bits: u8,
        /// AdaGrad learning rate.
        #[arg(long, default_value_t = TrainConfig::default().learning_rate)]
        learning_rate: f32,
        /// L2 penalty.
        #[arg(long, default_value_t = TrainConfig::default().l2)]
        l2: f32,
        /// How the weights are fitted (`--epochs` is then the most L-BFGS
        /// iterations).
        #[arg(long, value_enum, default_value_t = TrainConfig::default().optimizer)]
        optimizer: callassist::model::Optimizer,
        /// What training minimizes.
        #[arg(long, value_enum, default_value_t = TrainConfig::default().loss)]
        loss: callassist::model::Loss,
    },
    /// Evaluate an intent model: accuracy, macro-F1, per-label table, confusions.
    Eval {
        /// Evaluation data; repeatable.
        #[arg(long, required = true, value_name = "FILE")]
        data: Vec<PathBuf>,
        /// The model (default: the embedded bank model).
        #[arg(long, value_name = "MODEL")]
        model: Option<PathBuf>,
        /// Evaluate only the share held out by `train --holdout FRACTION`.
        #[arg(long, value_name = "FRACTION")]
        holdout: Option<f64>,
        /// Out-of-scope threshold instead of the model's.
        #[arg(long)]
        threshold: Option<f32>,
        /// Rows of the per-label table.
        #[arg(long, default_value_t = 20)]
        rows: usize,
        /// Evaluate the semantic tier: this head (from `train-semantic`)
        /// mixed with the model, on the cached encoder's embeddings.
        #[arg(long, value_name = "HEAD")]
        semantic: Option<PathBuf>,
    },
    /// Measure the emotion cues on a public emotion data set.
    EvalEmotions {
        /// The data file (GoEmotions dev.tsv, SMP2020 *.json, CPED *.csv).
        #[arg(long, value_name = "FILE")]
        data: PathBuf,
        /// Its layout: goemotions, smp2020 or cped.
        #[arg(long)]
        format: callassist::model::emotion_eval::Format,
        /// English cue model to use beside the lexicon (default: the embedded one).
        #[arg(long, value_name = "MODEL")]
        model: Option<PathBuf>,
        /// Measure the lexicon alone.
        #[arg(long, conflicts_with = "model")]
        lexicon_only: bool,
        /// Measure with the semantic tier: this emotion head (from
        /// `train-semantic-emotions`) on the cached encoder's embeddings.
        #[arg(long, value_name = "HEAD")]
        semantic: Option<PathBuf>,
    },
    /// Train the English emotion-cue model on GoEmotions train.tsv
    /// (one-vs-rest logistic regression fitted by L-BFGS).
    TrainEmotions {
        /// GoEmotions train.tsv (emotions.txt beside it).
        #[arg(long, value_name = "FILE")]
        data: PathBuf,
        /// Where to write the model.
        #[arg(long, value_name = "MODEL")]
        out: PathBuf,
        /// Most L-BFGS iterations.
        #[arg(long, default_value_t = 400)]
        iterations: usize,
        /// log2 of the number of feature hash buckets (the intent model's
        /// 20 lets both models share one featurization of a turn).
        #[arg(long, default_value_t = 20)]
        bits: u8,
        /// L2 penalty.
        #[arg(long, default_value_t = 1e-5)]
        l2: f32,
        /// Drop the feature rows whose weights all stay below this (the
        /// model shrinks from 246k to 55k rows at 0.3, macro-F1 unchanged).
        #[arg(long, default_value_t = 0.3)]
        min_weight: f32,
    },
    /// Train the semantic tier's intent head on the encoder's embeddings
    /// of the same data as an n-gram model (`train`), mixed with it.
    TrainSemantic {
        /// Training data; repeatable (the n-gram model's, in its order).
        #[arg(long, required = true, value_name = "FILE")]
        data: Vec<PathBuf>,
        /// Extra validation data; repeatable.
        #[arg(long, value_name = "FILE")]
        val: Vec<PathBuf>,
        /// Share of the training data held out (as `train --holdout`).
        #[arg(long, default_value_t = 0.15)]
        holdout: f64,
        /// The n-gram model to mix with (default: the embedded bank model).
        #[arg(long, value_name = "MODEL")]
        base: Option<PathBuf>,
        /// The encoder model file (default: the cached one, fetched if
        /// missing).
        #[arg(long, value_name = "FILE")]
        encoder: Option<PathBuf>,
        /// L2 penalty of the head (chosen on CLINC150 validation).
        #[arg(long, default_value_t = 3e-3)]
        l2: f32,
        /// Where to write the head.
        #[arg(long, value_name = "HEAD")]
        out: PathBuf,
    },
    /// Train the semantic tier's emotion head on GoEmotions and the
    /// project's own bilingual examples.
    TrainSemanticEmotions {
        /// GoEmotions train.tsv (emotions.txt beside it).
        #[arg(long, value_name = "FILE")]
        goemotions: PathBuf,
        /// Own examples (JSON Lines `{"text","cues","lang"}`).
        #[arg(
            long,
            value_name = "FILE",
            default_value = "data/emotions/own_bilingual.jsonl"
        )]
        own: PathBuf,
        /// L2 penalty (chosen on GoEmotions dev).
        #[arg(long, default_value_t = 3e-2)]
        l2: f32,
        /// Where to write the head.
        #[arg(long, value_name = "HEAD")]
        out: PathBuf,
    },
    /// Fetch the encoder's weights into the cache (what `serve` does in the
    /// background on first start) and print the model file's path.
    FetchEncoder,
    /// Stream a recorded call to a running server and print the assists live.
    Replay {
        /// The recording (JSON Lines, see examples/calls/).
        file: PathBuf,
        #[command(flatten)]
        target: callassist::client::Target,
        /// Pace: 1 = real time, 5 = five times faster, 0 = as fast as possible.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Call id to use (default: the recording's id plus a timestamp).
        #[arg(long)]
        call_id: Option<String>,
        /// Also print analyses of interim segments.
        #[arg(long, short)]
        verbose: bool,
        /// Never color the output (also NO_COLOR).
        #[arg(long)]
        no_color: bool,
    },
    /// Generate realistic call traffic against a server and measure it.
    Loadgen {
        #[command(flatten)]
        target: callassist::client::Target,
        /// Concurrent calls.
        #[arg(long, default_value_t = 100)]
        calls: usize,
        /// How long the calls are held (after the ramp-up), e.g. 60s or 10m.
        #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
        duration: std::time::Duration,
        /// Ramp-up time [default: a tenth of the duration, at most 30s].
        #[arg(long, value_parser = humantime::parse_duration)]
        ramp: Option<std::time::Duration>,
        /// realistic (paced, interims) or burst (closed loop, finals only).
        #[arg(long, value_enum, default_value = "realistic")]
        profile: callassist::loadgen::Profile,
        /// WatchCall watchers per call.
        #[arg(long, default_value_t = 0)]
        watchers: usize,
        /// Time compression of the realistic calls (1 = real time).
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// How long each realistic call lasts, e.g. 10m (its recorded
        /// conversation repeats) [default: one pass, about a minute].
        #[arg(long, value_parser = humantime::parse_duration)]
        call_length: Option<std::time::Duration>,
        /// Calls per HTTP/2 connection.
        #[arg(long, default_value_t = 100)]
        streams_per_connection: usize,
        /// Seed of the call scripts.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Sample this server process's memory every second and report its
        /// CPU time (Linux); repeat for several processes (replicas, Redis):
        /// their sum is reported.
        #[arg(long)]
        server_pid: Vec<u32>,
        /// Another replica of the same service (cluster mode), repeatable:
        /// calls are spread over `--addr` and these, and each call's
        /// watchers watch it on another replica than its stream.
        #[arg(long, value_name = "URL")]
        replica: Vec<String>,
        /// Write the JSON report here.
        #[arg(long, value_name = "FILE.json")]
        report: Option<PathBuf>,
        /// Write the SVG chart here.
        #[arg(long, value_name = "FILE.svg")]
        plot: Option<PathBuf>,
        /// No progress line.
        #[arg(long, short)]
        quiet: bool,
    },
}

fn config_help() -> String {
    let mut help = String::from("Configuration keys (TOML file, CALLASSIST_<KEY> environment variables, or --set KEY=VALUE):\n");
    for (key, about) in KEYS {
        help.push_str(&format!("  {key:<24} {about}\n"));
    }
    help
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .ok_or_else(|| format!("{s:?} is not KEY=VALUE"))
}

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Serve {
            config,
            listen,
            metrics_listen,
            model,
            playbook,
            echo,
            mut set,
        } => {
            if echo {
                set.push(("echo".into(), "true".into()));
            }
            for (key, value) in [
                ("listen", listen),
                ("metrics_listen", metrics_listen),
                ("model", model),
                ("playbook", playbook),
            ] {
                if let Some(value) = value {
                    set.push((key.into(), value));
                }
            }
            let env: BTreeMap<String, String> = std::env::vars().collect();
            let config = match Config::load(config.as_deref(), &env, &set) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("callassist: {e}");
                    return ExitCode::from(2);
                }
            };
            let telemetry = match telemetry::init(&config) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("callassist: {e}");
                    return ExitCode::from(2);
                }
            };
            let listener = match TcpListener::bind(config.listen).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!(listen = %config.listen, "cannot bind: {e}");
                    return ExitCode::FAILURE;
                }
            };
            tracing::info!(listen = %config.listen, "callassist listening");
            let served = server::serve(listener, config, shutdown_signal()).await;
            telemetry.shutdown();
            match served {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Train {
            data,
            val,
            holdout,
            out,
            seed,
            epochs,
            bits,
            learning_rate,
            l2,
            optimizer,
            loss,
        } => {
            let config = TrainConfig {
                bits,
                epochs,
                learning_rate,
                l2,
                seed,
                optimizer,
                loss,
            };
            let args = commands::TrainArgs {
                data,
                val,
                holdout,
                out,
                config,
            };
            report(
                commands::train(&args, &mut std::io::stdout(), &mut std::io::stderr()).map(|_| ()),
            )
        }
        Command::Eval {
            data,
            model,
            holdout,
            threshold,
            rows,
            semantic,
        } => {
            let model = intent_model(model);
            if let Some(head) = semantic {
                let cache = encoder_cache();
                return report(model.and_then(|model| {
                    let head = std::fs::read(&head)
                        .map_err(|e| callassist::Error::Io(format!("{}: {e}", head.display())))?;
                    let head = callassist::semantic::head::IntentHead::decode(&head)
                        .map_err(callassist::Error::Io)?;
                    let encoder = fetch_encoder(&cache)?;
                    callassist::semantic::train::eval(
                        &model,
                        &head,
                        &encoder,
                        &cache,
                        &data,
                        holdout,
                        &mut std::io::stdout(),
                    )
                }));
            }
            let args = commands::EvalArgs {
                data,
                holdout,
                threshold,
                rows,
            };
            report(model.and_then(|m| commands::eval(&m, &args, &mut std::io::stdout())))
        }
        Command::EvalEmotions {
            data,
            format,
            model,
            lexicon_only,
            semantic,
        } => {
            use callassist::{
                model::emotion_model::EmotionModel, pipeline::emotion::EmotionDetector,
                semantic::emotion_head::EmotionHead,
            };
            let detector = match (model, lexicon_only) {
                (_, true) => Ok(EmotionDetector::lexicon_only()),
                (Some(path), _) => std::fs::read(&path)
                    .map_err(|e| callassist::Error::Io(format!("{}: {e}", path.display())))
                    .and_then(|b| EmotionModel::decode(&b))
                    .map(|m| EmotionDetector::with_model(std::sync::Arc::new(m))),
                (None, false) => Ok(EmotionDetector::default()),
            };
            let cache = encoder_cache();
            let run = |d: EmotionDetector| -> Result<(), callassist::Error> {
                let Some(head) = &semantic else {
                    return callassist::model::emotion_eval::evaluate(
                        &d.with_head(None),
                        format,
                        &data,
                        None,
                        &mut std::io::stdout(),
                    )
                    .map(|_| ());
                };
                let head = std::fs::read(head)
                    .map_err(|e| callassist::Error::Io(format!("{}: {e}", head.display())))
                    .and_then(|b| EmotionHead::decode(&b).map_err(callassist::Error::Io))?;
                let encoder = fetch_encoder(&cache)?;
                let embed = |texts: &[&str]| {
                    callassist::semantic::train::cached_embeddings(
                        &encoder,
                        &cache,
                        texts,
                        &mut std::io::stderr(),
                    )
                };
                callassist::model::emotion_eval::evaluate(
                    &d.with_head(Some(std::sync::Arc::new(head))),
                    format,
                    &data,
                    Some(&embed),
                    &mut std::io::stdout(),
                )
                .map(|_| ())
            };
            report(detector.and_then(run))
        }
        Command::TrainEmotions {
            data,
            out,
            iterations,
            bits,
            l2,
            min_weight,
        } => {
            let config = TrainConfig {
                bits,
                epochs: iterations,
                l2,
                optimizer: callassist::model::Optimizer::Lbfgs,
                // Intensities are the model's probabilities.
                loss: callassist::model::Loss::Log,
                ..TrainConfig::default()
            };
            report(
                callassist::model::emotion_model::train(
                    &data,
                    &out,
                    config,
                    min_weight,
                    &mut std::io::stderr(),
                )
                .map(|_| ()),
            )
        }
        Command::TrainSemantic {
            data,
            val,
            holdout,
            base,
            encoder,
            l2,
            out,
        } => {
            let base = intent_model(base);
            let cache = encoder_cache();
            let encoder = match encoder {
                Some(path) => Ok(path),
                None => fetch_encoder(&cache),
            };
            report(base.and_then(|base| {
                let args = callassist::semantic::train::Args {
                    data,
                    val,
                    holdout,
                    base,
                    encoder: encoder?,
                    cache: cache.clone(),
                    l2,
                    out,
                };
                callassist::semantic::train::train(
                    &args,
                    &mut std::io::stdout(),
                    &mut std::io::stderr(),
                )
                .map(|_| ())
            }))
        }
        Command::TrainSemanticEmotions {
            goemotions,
            own,
            l2,
            out,
        } => {
            let cache = encoder_cache();
            report(fetch_encoder(&cache).and_then(|encoder| {
                let args = callassist::semantic::train::EmotionArgs {
                    goemotions,
                    own,
                    encoder,
                    cache: cache.clone(),
                    l2,
                    out,
                };
                callassist::semantic::train::train_emotions(
                    &args,
                    &mut std::io::stdout(),
                    &mut std::io::stderr(),
                )
                .map(|_| ())
            }))
        }
        Command::FetchEncoder => {
            let cache = encoder_cache();
            report(fetch_encoder(&cache).map(|path| println!("{}", path.display())))
        }
        Command::Loadgen {
            target,
            calls,
            duration,
            ramp,
            profile,
            watchers,
            speed,
            call_length,
            streams_per_connection,
            seed,
            server_pid,
            replica,
            report,
            plot,
            quiet,
        } => {
            let options = callassist::loadgen::Options {
                target,
                calls,
                duration,
                ramp: ramp
                    .unwrap_or_else(|| (duration / 10).min(std::time::Duration::from_secs(30))),
                profile,
                watchers,
                speed: if speed > 0.0 { speed } else { 1.0 },
                call_length,
                streams_per_connection,
                seed,
                server_pids: server_pid,
                replicas: replica,
                progress: !quiet,
            };
            let result = match callassist::loadgen::run(&options).await {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("callassist: {e}");
                    return ExitCode::FAILURE;
                }
            };
            print!("{}", callassist::loadgen::stats::summary(&result));
            let write = |path: &PathBuf, text: String| {
                std::fs::write(path, text)
                    .map_err(|e| eprintln!("callassist: {}: {e}", path.display()))
                    .is_ok()
            };
            let json = serde_json::to_string_pretty(&result).expect("the report serializes");
            let ok = report.as_ref().is_none_or(|p| write(p, json))
                & plot
                    .as_ref()
                    .is_none_or(|p| write(p, callassist::loadgen::chart::svg(&result)));
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Command::Health { target, service } => {
            match callassist::client::health(&target, &service).await {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => {
                    eprintln!("callassist: {} is not serving {service:?}", target.addr);
                    ExitCode::FAILURE
                }
                Err(e) => {
                    eprintln!("callassist: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::HashToken => {
            let mut token = String::new();
            if std::io::stdin().read_line(&mut token).is_err() || token.trim().is_empty() {
                eprintln!("callassist: write the token on standard input");
                return ExitCode::from(2);
            }
            println!("{}", callassist::auth::hash_token(token.trim()));
            ExitCode::SUCCESS
        }
        Command::Replay {
            file,
            target,
            speed,
            call_id,
            verbose,
            no_color,
        } => {
            let lines = match replay::load(&file) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("callassist: {e}");
                    return ExitCode::from(2);
                }
            };
            let color = !no_color
                && std::env::var_os("NO_COLOR").is_none()
                && std::io::stdout().is_terminal();
            let options = replay::Options {
                target,
                speed,
                call_id,
                color,
                verbose,
            };
            match replay::replay(lines, &options, &mut std::io::stdout()).await {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("callassist: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn report(result: Result<(), callassist::Error>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("callassist: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown signal received");
}

/// The cached encoder model file, fetched with progress on standard error
/// if missing.
fn fetch_encoder(cache: &std::path::Path) -> Result<PathBuf, callassist::Error> {
    callassist::semantic::weights::ensure(cache, &mut |line| eprintln!("{line}"))
        .map_err(callassist::Error::Io)
}

/// The intent model at `path`, or the embedded one.
fn intent_model(path: Option<PathBuf>) -> Result<IntentModel, callassist::Error> {
    match path {
        Some(path) => std::fs::read(&path)
            .map_err(|e| callassist::Error::Io(format!("{}: {e}", path.display())))
            .and_then(|b| IntentModel::decode(&b)),
        None => Ok((*callassist::pipeline::intent::default_model()).clone()),
    }
}

/// The user's encoder cache directory (see `semantic::weights`).
fn encoder_cache() -> PathBuf {
    callassist::semantic::weights::default_cache_dir(&|k| std::env::var(k).ok())
}
