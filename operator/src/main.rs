//! `tetris-operator run` (the controller) and `tetris-operator crd` (prints the CRD YAML).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::{ArgAction, Parser, Subcommand};
use tetris_operator::controller::ControllerSettings;
use tetris_operator::leader::LeaseSettings;
use tetris_operator::operator::{Operator, Settings};
use tetris_operator::telemetry::{self, LogFormat};

#[derive(Parser)]
#[command(name = "tetris-operator", version, about = "Runs Tetris game servers from TetrisApp resources")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the controller.
    Run(RunArgs),
    /// Print the TetrisApp CustomResourceDefinition as YAML.
    Crd,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Address of /healthz, /readyz and /metrics.
    #[arg(long, env = "TETRIS_OPERATOR_PROBE_ADDRESS", default_value = "0.0.0.0:8081")]
    probe_address: SocketAddr,
    /// Elect a leader through a Lease so only one replica reconciles.
    #[arg(long, env = "TETRIS_OPERATOR_LEADER_ELECTION", default_value_t = true, action = ArgAction::Set)]
    leader_election: bool,
    /// Name of the leader Lease.
    #[arg(long, env = "TETRIS_OPERATOR_LEASE_NAME", default_value = "tetris-operator")]
    lease_name: String,
    /// Namespace of the leader Lease (default: the kubeconfig's namespace, or `default`).
    #[arg(long, env = "POD_NAMESPACE")]
    lease_namespace: Option<String>,
    /// Identity in the Lease (default: hostname and process id).
    #[arg(long, env = "POD_NAME")]
    identity: Option<String>,
    /// Seconds a Lease stays valid without renewal.
    #[arg(long, env = "TETRIS_OPERATOR_LEASE_DURATION_SECONDS", default_value_t = 15)]
    lease_duration_seconds: u64,
    /// Seconds the leader keeps trying to renew before giving up leadership (less than the lease duration).
    #[arg(long, env = "TETRIS_OPERATOR_LEASE_RENEW_SECONDS", default_value_t = 10)]
    lease_renew_seconds: u64,
    /// Seconds between attempts to acquire or renew the Lease.
    #[arg(long, env = "TETRIS_OPERATOR_LEASE_RETRY_SECONDS", default_value_t = 2)]
    lease_retry_seconds: u64,
    /// Watch only this namespace (default: all namespaces).
    #[arg(long, env = "TETRIS_OPERATOR_WATCH_NAMESPACE")]
    watch_namespace: Option<String>,
    /// Seconds between resyncs of every TetrisApp.
    #[arg(long, env = "TETRIS_OPERATOR_RESYNC_SECONDS", default_value_t = 300)]
    resync_seconds: u64,
    /// Reconciles running at once.
    #[arg(long, env = "TETRIS_OPERATOR_CONCURRENCY", default_value_t = 8)]
    concurrency: u16,
    /// Seconds between reads of each game pod's live matches into its pod-deletion-cost (busy pods go last).
    #[arg(long, env = "TETRIS_OPERATOR_POD_COST_SECONDS", default_value_t = 5)]
    pod_cost_seconds: u64,
    /// Log format.
    #[arg(long, env = "TETRIS_OPERATOR_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Log filter, e.g. `info` or `tetris_operator=debug,kube=info`.
    #[arg(long, env = "TETRIS_OPERATOR_LOG_LEVEL", default_value = "info")]
    log_level: String,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Crd => {
            print!("{}", tetris_operator::crd::crd_yaml()?);
            Ok(())
        }
        Command::Run(args) => {
            telemetry::init(args.log_format, &args.log_level).map_err(anyhow::Error::msg)?;
            let runtime = tokio::runtime::Runtime::new().context("failed to start the async runtime")?;
            let result = runtime.block_on(run(args));
            // Tasks still blocked on an unreachable API server must not keep the process alive.
            runtime.shutdown_timeout(Duration::from_secs(5));
            result
        }
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.lease_renew_seconds < args.lease_duration_seconds
            && args.lease_retry_seconds < args.lease_renew_seconds,
        "need --lease-retry-seconds < --lease-renew-seconds < --lease-duration-seconds"
    );
    let client =
        kube::Client::try_default().await.context("failed to load kubeconfig or in-cluster config")?;
    let identity = args.identity.unwrap_or_else(default_identity);
    let lease = args.leader_election.then(|| LeaseSettings {
        name: args.lease_name,
        namespace: args.lease_namespace.unwrap_or_else(|| client.default_namespace().to_owned()),
        identity: identity.clone(),
        lease_duration: Duration::from_secs(args.lease_duration_seconds),
        renew_deadline: Duration::from_secs(args.lease_renew_seconds),
        retry: Duration::from_secs(args.lease_retry_seconds),
    });
    let settings = Settings {
        controller: ControllerSettings {
            namespace: args.watch_namespace,
            resync: Duration::from_secs(args.resync_seconds.max(1)),
            concurrency: args.concurrency.max(1),
            instance: identity.clone(),
            pod_cost_interval: Duration::from_secs(args.pod_cost_seconds.max(1)),
        },
        lease,
    };
    let listener = tokio::net::TcpListener::bind(args.probe_address)
        .await
        .with_context(|| format!("failed to listen on --probe-address {}", args.probe_address))?;
    tracing::info!(%identity, probe_address = %args.probe_address, leader_election = settings.lease.is_some(), "tetris-operator starting");
    let result = Operator::new(client, settings).run(Some(listener), shutdown_signal()).await;
    match &result {
        Ok(()) => tracing::info!("shut down cleanly"),
        Err(e) => tracing::error!(error = %e, "tetris-operator stopped"),
    }
    result.map_err(anyhow::Error::from)
}

/// Completes on SIGTERM or Ctrl-C.
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
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested");
}

fn default_identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "tetris-operator".to_owned());
    format!("{host}-{}", std::process::id())
}
