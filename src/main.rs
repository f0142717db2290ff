//! The `callassist` binary: a thin CLI over the library.

use callassist::{config::KEYS, replay, server, telemetry, Config};
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
        /// Override a configuration key; repeatable.
        #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_key_value)]
        set: Vec<(String, String)>,
    },
    /// Stream a recorded call to a running server and print the assists live.
    Replay {
        /// The recording (JSON Lines, see examples/calls/).
        file: PathBuf,
        /// Server address.
        #[arg(long, default_value = "http://127.0.0.1:50051")]
        addr: String,
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
            mut set,
        } => {
            if let Some(addr) = listen {
                set.push(("listen".into(), addr));
            }
            let env: BTreeMap<String, String> = std::env::vars().collect();
            let config = match Config::load(config.as_deref(), &env, &set) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("callassist: {e}");
                    return ExitCode::from(2);
                }
            };
            telemetry::init(&config);
            let listener = match TcpListener::bind(config.listen).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!(listen = %config.listen, "cannot bind: {e}");
                    return ExitCode::FAILURE;
                }
            };
            tracing::info!(listen = %config.listen, "callassist listening");
            match server::serve(listener, config, shutdown_signal()).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Replay {
            file,
            addr,
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
                addr,
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
