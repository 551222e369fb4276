//! The `fhirgate` command line: `serve`, `check-config`, `token`, `map`, `audit verify`
//! (DESIGN.md "CLI").
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
    /// Print one access token signed by the sandbox authorization server's key (from the data
    /// dir; created when absent), with `iss` and `aud` from the config. Exit 2 when the
    /// sandbox is disabled or an argument is invalid.
    Token {
        /// Space-separated SMART scopes, e.g. "launch/patient patient/*.rs".
        #[arg(long)]
        scope: String,
        /// Patient launch context (`patient` claim).
        #[arg(long)]
        patient: Option<String>,
        /// `fhirUser` claim, e.g. Practitioner/123.
        #[arg(long = "fhir-user")]
        fhir_user: Option<String>,
        /// `client_id` claim.
        #[arg(long = "client-id", default_value = "fhirgate-cli")]
        client_id: String,
        /// Lifetime in seconds (default `auth.sandbox.token_ttl_seconds`).
        #[arg(long)]
        ttl: Option<u64>,
        /// Config file.
        #[arg(long, env = "FHIRGATE_CONFIG", default_value = "gateway.yaml")]
        config: PathBuf,
    },
    /// Check a config file: exit 0 when valid, 2 with `file:line: key.path: problem` lines.
    CheckConfig {
        /// Config file.
        #[arg(long, env = "FHIRGATE_CONFIG", default_value = "gateway.yaml")]
        config: PathBuf,
    },
    /// Convert a file or stdin to stdout: wearable readings (`omh`, `healthkit`, `fitbit`)
    /// to one FHIR `collection` Bundle, or FHIR Observations to Open mHealth data points.
    /// Exit 0 all mapped, 1 nothing mapped, 3 some mapped (refusals in an OperationOutcome on
    /// stderr), 2 usage error.
    Map {
        /// Source format: omh, healthkit, fitbit, hl7v2, ncpdp or fhir.
        #[arg(long)]
        from: String,
        /// Target format: fhir, omh, hl7v2 or ncpdp.
        #[arg(long)]
        to: String,
        /// Patient id for `Observation.subject` (required for wearable sources); for `ncpdp`
        /// the patient the message's resources refer to, instead of a Patient from it.
        #[arg(long)]
        patient: Option<String>,
        /// IANA zone for source times without an offset (Fitbit); without it such times
        /// keep date precision.
        #[arg(long)]
        timezone: Option<String>,
        /// HL7 v2 trigger event for `--to hl7v2` (e.g. S12, S15, A04, A03) instead of the one
        /// the resource's status implies.
        #[arg(long)]
        event: Option<String>,
        /// Input file, or `-` (default) for stdin.
        input: Option<String>,
    },
    /// Audit trail tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the audit trail's HMAC chain and checkpoint: exit 0 when intact, 1 naming the
    /// first broken record.
    Verify {
        /// Config file.
        #[arg(long, env = "FHIRGATE_CONFIG", default_value = "gateway.yaml")]
        config: PathBuf,
    },
}

/// mimalloc instead of glibc malloc: the gateway allocates and frees many short-lived
/// buffers per request (answers of tens of kB, headers, JSON), where glibc's bins and
/// consolidation cost ~12 % of its CPU under load (docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Map {
            from,
            to,
            patient,
            timezone,
            event,
            input,
        } => fhirgate::cli::map::run(&fhirgate::cli::map::MapArgs {
            from,
            to,
            patient,
            timezone,
            event,
            input,
        }),
        Command::Token {
            scope,
            patient,
            fhir_user,
            client_id,
            ttl,
            config,
        } => match config::load(&config) {
            Ok(loaded) => token(&loaded, scope, patient, fhir_user, client_id, ttl),
            Err(e) => config_failure(&e),
        },
        Command::Audit {
            command: AuditCommand::Verify { config },
        } => match config::load(&config) {
            Ok(loaded) => audit_verify(&loaded),
            Err(e) => config_failure(&e),
        },
        Command::CheckConfig { config } => match config::load(&config) {
            Ok(loaded) => {
                if loaded.auth.issuers.is_empty() && !loaded.auth.sandbox.enabled {
                    eprintln!(
                        "{}: warning: auth: no issuer is trusted and the sandbox is off, so every /fhir call but metadata answers 401",
                        config.display()
                    );
                }
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

/// `fhirgate audit verify`: exit 0 with the record count, 1 with the first broken record.
fn audit_verify(config: &config::Config) -> ExitCode {
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|rt| {
            Ok(rt.block_on(fhirgate::policy::audit::verify(
                config,
                &config.server.data_dir,
            ))?)
        });
    match result {
        Ok(head) => {
            println!("audit trail intact: {} records", head.count);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fhirgate: {e:#}");
            ExitCode::FAILURE
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

/// `fhirgate token`: one JWT on stdout and nothing else.
fn token(
    config: &config::Config,
    scope: String,
    patient: Option<String>,
    fhir_user: Option<String>,
    client_id: String,
    ttl: Option<u64>,
) -> ExitCode {
    use fhirgate::auth::sandbox::{SandboxKey, TokenRequest, mint};
    let sandbox = &config.auth.sandbox;
    if !sandbox.enabled {
        eprintln!(
            "fhirgate token: the sandbox authorization server is disabled (auth.sandbox.enabled)"
        );
        return ExitCode::from(2);
    }
    if patient
        .as_deref()
        .is_some_and(|p| !fhirgate_adapters::interaction::is_valid_id(p))
    {
        eprintln!("fhirgate token: --patient must be a FHIR id");
        return ExitCode::from(2);
    }
    if fhir_user
        .as_deref()
        .is_some_and(|u| fhirgate::auth::relative_reference(u).is_none())
    {
        eprintln!("fhirgate token: --fhir-user must be TYPE/ID, e.g. Practitioner/123");
        return ExitCode::from(2);
    }
    match scope_problem(&scope, patient.is_some()) {
        Some(ScopeProblem::Invalid(problem)) => {
            eprintln!("fhirgate token: {problem}");
            return ExitCode::from(2);
        }
        Some(ScopeProblem::Useless(warning)) => eprintln!("fhirgate token: warning: {warning}"),
        None => {}
    }
    let key_file = config
        .server
        .data_dir
        .join(fhirgate::auth::sandbox::KEY_FILE);
    if !key_file.exists() {
        eprintln!(
            "fhirgate token: creating a new sandbox key at {}; only a server with this data dir accepts the token",
            key_file.display()
        );
    }
    let Some(audience) = config.auth.audiences.first() else {
        eprintln!("fhirgate token: auth.audiences is empty");
        return ExitCode::from(2);
    };
    let key = match SandboxKey::load_or_create(&config.server.data_dir) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("fhirgate token: {e}");
            return ExitCode::FAILURE;
        }
    };
    let request = TokenRequest {
        client_id,
        scope,
        patient,
        fhir_user,
        ttl: ttl.unwrap_or(sandbox.token_ttl_seconds),
    };
    match mint(
        &key,
        sandbox.issuer.trim_end_matches('/'),
        audience,
        &request,
    ) {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fhirgate token: signing failed: {e}");
            ExitCode::FAILURE
        }
    }
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

/// What is wrong with a `--scope` value.
enum ScopeProblem {
    /// Not a SMART scope at all: exit 2.
    Invalid(String),
    /// Valid, but the token will grant nothing (a warning; attack tests mint such tokens).
    Useless(String),
}

/// Checks `scope` for `fhirgate token`: unknown scopes are invalid; patient-context scopes
/// without `--patient` grant nothing (SMART App Launch 2.x §3).
fn scope_problem(scope: &str, has_patient: bool) -> Option<ScopeProblem> {
    use fhirgate::auth::scope::{Context, Scopes, parse_resource_scope};
    const OTHER: [&str; 7] = [
        "openid",
        "fhirUser",
        "profile",
        "offline_access",
        "online_access",
        "launch",
        "launch/patient",
    ];
    if scope.split_ascii_whitespace().next().is_none() {
        return Some(ScopeProblem::Invalid("--scope is empty".into()));
    }
    if let Some(bad) = scope
        .split_ascii_whitespace()
        .find(|s| !OTHER.contains(s) && parse_resource_scope(s).is_none())
    {
        return Some(ScopeProblem::Invalid(format!(
            "'{bad}' is not a SMART scope (e.g. patient/Observation.rs, system/*.read)"
        )));
    }
    let parsed = Scopes::parse(scope);
    let wants_patient = parsed.launch_patient || parsed.has_context(Context::Patient);
    (wants_patient && !has_patient).then(|| {
        ScopeProblem::Useless(
            "launch/patient and patient/ scopes need --patient ID to grant anything".into(),
        )
    })
}
