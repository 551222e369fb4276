//! The `fhirgate` command line: `serve` and `check-config` (DESIGN.md "CLI").
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use fhirgate::config::{self, ConfigError};

/// fhirgate — a FHIR R4 gateway: SMART-on-FHIR edge in front of EHRs, pharmacies and payers.
#[derive(Parser)]
#[command(name = "fhirgate", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the FHIR API under /fhir. Prints `fhirgate listening on http://HOST:PORT` once
    /// ready; logs are JSON lines on stderr; SIGTERM drains in-flight requests, then exits 0.
    Serve {
        /// Config file.
        #[arg(long, env = "FHIRGATE_CONFIG", default_value = "gateway.yaml")]
        config: PathBuf,
        /// Address to listen on, overriding `server.listen`; port 0 picks a free port.
        #[arg(long, env = "FHIRGATE_LISTEN")]
        listen: Option<SocketAddr>,
    },
    /// Check a config file: exit 0 when valid, 2 with `file:line: key.path: problem` lines.
    CheckConfig {
        /// Config file.
        #[arg(long, env = "FHIRGATE_CONFIG", default_value = "gateway.yaml")]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { config } => match config::load(&config) {
            Ok(_) => {
                println!("{}: ok", config.display());
                ExitCode::SUCCESS
            }
            Err(e) => config_failure(&e),
        },
        Command::Serve { config, listen } => {
            let loaded = match config::load(&config) {
                Ok(c) => c,
                Err(e) => return config_failure(&e),
            };
            init_logging();
            let listen = listen.unwrap_or(loaded.server.listen);
            match serve(loaded, listen) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %e, "fhirgate stopped");
                    eprintln!("fhirgate: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn serve(config: config::Config, listen: SocketAddr) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(fhirgate::server::run(config, listen))?;
    Ok(())
}

fn config_failure(e: &ConfigError) -> ExitCode {
    eprintln!("{e}");
    ExitCode::from(2)
}

/// JSON lines on stderr; level from `RUST_LOG` (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_current_span(false)
        .init();
}
