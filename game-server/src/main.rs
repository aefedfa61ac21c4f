//! `tetris-game-server`: reads the `TETRIS_*` environment, binds, serves until SIGTERM, drains.

use anyhow::Context as _;
use clap::Parser;
use std::process::ExitCode;
use tetris_config::{GameConfig, LogLevel};
use tetris_game_server::settings::Settings;
use tracing_subscriber::filter::LevelFilter;

/// The release this binary reports: `TETRIS_BUILD_VERSION` at build time (the image build passes
/// its tag), else the crate version. Read here, in the binary crate, so a new tag recompiles only
/// this file (see [`tetris_game_server::Build`]).
const VERSION: &str = match option_env!("TETRIS_BUILD_VERSION") {
    Some(v) => v,
    None => env!("CARGO_PKG_VERSION"),
};

/// The fault of a test build (`TETRIS_BUILD_FAULT`, see `fault.rs`), `None` in every published image.
const FAULT: Option<&str> = option_env!("TETRIS_BUILD_FAULT");

/// The Tetris game server: web client, duo matches over WebSocket, SQLite or PostgreSQL scoreboard.
///
/// Configuration comes only from environment variables (TETRIS_ADDRESS, TETRIS_PORT, TETRIS_DATABASE,
/// TETRIS_TITLE, TETRIS_RULESET, TETRIS_SOLO, TETRIS_DUO, TETRIS_START_LEVEL_MIN, TETRIS_START_LEVEL_MAX,
/// TETRIS_SCOREBOARD_SIZE, TETRIS_MAX_ROOMS, TETRIS_MAX_CONNECTIONS, TETRIS_RECONNECT_GRACE_SECONDS,
/// TETRIS_DRAIN_SECONDS, TETRIS_ALLOWED_ORIGINS, TETRIS_LOG_LEVEL, and this server's own
/// TETRIS_RULES_VERSION, TETRIS_REPLAY_THREADS, TETRIS_TRUSTED_PROXIES,
/// TETRIS_MAX_CONNECTIONS_PER_CLIENT, TETRIS_MAX_ROOMS_PER_CLIENT,
/// TETRIS_SUBMITS_PER_MINUTE_PER_CLIENT, TETRIS_SCOREBOARD_BACKEND, TETRIS_DATABASE_URL,
/// TETRIS_DATABASE_POOL_SIZE, TETRIS_POD_IP). An invalid value stops the server
/// with a message naming the variable. SIGTERM or Ctrl-C starts a graceful drain.
#[derive(Parser)]
#[command(version = VERSION)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Copies a SQLite scoreboard into PostgreSQL (moving an app to the postgres backend).
    /// Idempotent: scores already in PostgreSQL are skipped, and the boards are rebuilt from all
    /// scores. Also copies the ticket key when PostgreSQL has none yet.
    ImportSqlite {
        /// The SQLite scoreboard file (opened read-only).
        #[arg(long)]
        from: std::path::PathBuf,
        /// The PostgreSQL URI; defaults to TETRIS_DATABASE_URL (an environment variable keeps the
        /// password out of the process list).
        #[arg(long, env = "TETRIS_DATABASE_URL", hide_env_values = true)]
        to: String,
    },
}

fn main() -> ExitCode {
    tetris_game_server::stamp_build(tetris_game_server::Build { version: VERSION, fault: FAULT });
    if let Some(Command::ImportSqlite { from, to }) = Cli::parse().command {
        return import(&from, &to);
    }
    let config = match GameConfig::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tetris-game-server: {e}");
            return ExitCode::from(2);
        }
    };
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tetris-game-server: {e}");
            return ExitCode::from(2);
        }
    };
    // A plain level filter: an EnvFilter would link a regex engine the server never needs.
    let level = match config.log_level {
        LogLevel::Error => LevelFilter::ERROR,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Trace => LevelFilter::TRACE,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let env_names: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
    let not_read_here = |n: &&str| !tetris_game_server::settings::vars::ALL.contains(n);
    for unknown in
        GameConfig::unknown_vars(env_names.iter().map(String::as_str)).into_iter().filter(not_read_here)
    {
        tracing::warn!(variable = unknown, "unknown TETRIS_* variable ignored");
    }
    match serve(config, settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("tetris-game-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(config: GameConfig, settings: Settings) -> anyhow::Result<()> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    runtime.block_on(async {
        let addr = (config.address, config.port);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {}:{} (TETRIS_ADDRESS, TETRIS_PORT)", config.address, config.port))?;
        let local = listener.local_addr().context("reading the bound address")?;
        tracing::info!(address = %local, ruleset = %config.ruleset, backend = settings.backend.name(), "listening");
        if let Some(fault) = FAULT {
            tracing::warn!(fault, "this is a test build with an injected fault (TETRIS_BUILD_FAULT); never run it for players");
        }
        tetris_game_server::run_with_settings(listener, config, settings, shutdown_signal()).await?;
        Ok(())
    })
}

fn import(from: &std::path::Path, to: &str) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tetris-game-server: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(tetris_game_server::import::import_sqlite(from, to)) {
        Ok(report) => {
            println!("imported {}: {report}", from.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tetris-game-server import-sqlite: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGTERM (Kubernetes) or Ctrl-C.
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
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received");
}
