//! The Tetris game server: serves the web client, runs duo matches over a WebSocket protocol and
//! keeps the scoreboard in SQLite or PostgreSQL.
//!
//! # Layout
//! - [`protocol`]: every WebSocket message (typed serde enums, `client` and `server` halves), its
//!   bounds, strict parsing with a fast path for relayed boards.
//! - [`ws`]: the `/ws` endpoint: Origin and connection limits, receive task, send task, rate limit.
//! - [`session`]: one connection's state machine (hello, then messages mapped to room operations).
//! - [`hub`]: registry of connections, rooms, resume tokens and scoreboard watchers; drain switch.
//! - [`rooms`]: one duo room and its match; `rooms/closing.rs`: leave, disconnect grace, resume,
//!   drain and close.
//! - [`matchmaking`]: the quick-match queue.
//! - [`forward`]: duo across replicas: a room on another replica, found in the registry, relayed.
//! - [`outbox`]: non-blocking per-connection send queues and close reasons.
//! - [`games`]: signed single-use game tickets (`gameId`) and seeds.
//! - [`plausibility`]: bounds a submitted score must meet.
//! - [`rules`]: the Rust port of the web client's rules engine, to replay submitted games.
//! - [`verify`]: replays a submitted game and checks its totals (reason codes); `verify/pool.rs`:
//!   the bounded replay threads.
//! - [`clients`]: per-client limits (connections, rooms, submits) and the client address behind
//!   trusted proxies.
//! - [`settings`]: this server's `TETRIS_*` settings beyond `tetris_config` (rules version, replay
//!   threads, trusted proxies, per-client limits).
//! - [`scoreboard`]: the `Store` interface; SQLite (WAL, `synchronous=FULL`), top-N tables in memory;
//!   `scoreboard/writer.rs`: the group-committing writer thread; `scoreboard/postgres.rs`: PostgreSQL
//!   (bounded pool, LISTEN/NOTIFY boards, the duo room registry).
//! - [`import`]: `import-sqlite`, the move of a SQLite scoreboard into PostgreSQL.
//! - [`names`]: the player name rule.
//! - [`api`]: JSON endpoints (`/api/config`, `/api/games`, `/api/scores`).
//! - [`ops`]: `/healthz`, `/readyz`, `/version`, `/metrics`; [`metrics`]: the Prometheus registry;
//!   `fault`: the faults of test-only image builds (none in a published one).
//! - [`assets`]: the embedded web client; [`error`]: the HTTP error shape.
//! - [`drain`]: graceful shutdown after SIGTERM.
//! - [`http`]: the accept loop (connection cap, header read timeout) in place of `axum::serve`.
//!
//! [`run`] takes its listener and its shutdown signal as arguments, so tests bind `127.0.0.1:0` and
//! trigger the drain themselves; [`app`] builds the router for `oneshot` tests; [`serve`] runs the
//! accept loop (connection cap, header read timeout) that `axum::serve` cannot configure.

pub mod api;
pub mod assets;
pub mod clients;
pub mod drain;
pub mod error;
mod fault;
pub mod forward;
pub mod games;
pub mod http;
pub mod hub;
pub mod import;
pub mod matchmaking;
pub mod metrics;
pub mod names;
pub mod ops;
pub mod outbox;
pub mod plausibility;
pub mod protocol;
pub mod rooms;
pub mod rules;
pub mod scoreboard;
pub mod session;
pub mod settings;
pub mod verify;
pub mod ws;

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use games::Tickets;
use http::{HEADER_READ_TIMEOUT, HTTP_CONNECTION_MARGIN, HttpServer};
use hub::{Hub, HubConfig};
use metrics::Metrics;
use scoreboard::Scoreboard;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tetris_config::GameConfig;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower_http::timeout::TimeoutLayer;

/// Content Security Policy of every response: only this origin's scripts, styles and sockets.
pub const CSP: &str = "default-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Longest time any HTTP request may take (a WebSocket is upgraded long before).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// How long requests still in flight after the drain may take before the server stops anyway.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// What the binary was built as: its release and, in a test build, its fault. The binary's
/// `main` reads both at compile time (`TETRIS_BUILD_VERSION`, `TETRIS_BUILD_FAULT`) and stamps
/// them here once, before serving, so only the small binary crate is compiled per image tag: the
/// library is the same for every tag (each game image build compiled it whole before).
#[derive(Clone, Copy, Debug)]
pub struct Build {
    /// The release this binary reports (`/version`, `/api/config`).
    pub version: &'static str,
    /// The fault of a test build (see [`fault`]), `None` in every published image.
    pub fault: Option<&'static str>,
}

static BUILD: std::sync::OnceLock<Build> = std::sync::OnceLock::new();

/// Stamps what the binary was built as; only the first call counts (the binary's `main` makes it).
pub fn stamp_build(build: Build) {
    let _ = BUILD.set(build);
}

/// What the binary was built as: the stamp, else (tests, embedders) the crate version and no fault.
pub fn build() -> Build {
    BUILD.get().copied().unwrap_or(Build { version: env!("CARGO_PKG_VERSION"), fault: None })
}

/// Everything the handlers share; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// The shared parts of [`AppState`].
pub struct Shared {
    /// Configuration the server started with.
    pub config: GameConfig,
    /// Duo rooms and connections.
    pub hub: Arc<Hub>,
    /// Scoreboard database.
    pub scores: Arc<Scoreboard>,
    /// Game ticket issuer.
    pub tickets: Arc<Tickets>,
    /// Metrics registry.
    pub metrics: Arc<Metrics>,
    /// `GET /api/config` body, rendered once.
    pub config_json: Bytes,
    /// `GET /version` body, rendered once.
    pub version_json: Bytes,
    /// Permits for score submissions in flight ([`api::MAX_SUBMITS_IN_FLIGHT`]): each may carry a
    /// 256 KiB body, so without a bound a stalled disk would let waiting bodies grow without limit.
    pub submit_permits: Arc<tokio::sync::Semaphore>,
    /// Settings beyond `config` (rules version, replay threads, per-client limits).
    pub settings: settings::Settings,
    /// Threads that replay submitted games.
    pub replays: verify::pool::ReplayPool,
    /// Per-client counts and limits (connections, rooms, submits).
    pub clients: Arc<clients::ClientLimits>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The server could not start or stopped on an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The scoreboard database could not be opened.
    #[error("{0}")]
    Database(#[from] scoreboard::OpenError),
    /// The HTTP server failed.
    #[error("HTTP server failed: {0}")]
    Serve(#[from] std::io::Error),
}

impl AppState {
    /// Opens the database and builds the shared state.
    pub fn new(config: GameConfig) -> Result<Self, RunError> {
        let hub = HubConfig::from(&config);
        Self::with_hub_config(config, hub)
    }

    /// [`AppState::new`] with explicit hub settings (tests shorten its timeouts).
    pub fn with_hub_config(config: GameConfig, hub: HubConfig) -> Result<Self, RunError> {
        Self::with_settings(config, hub, settings::Settings::default())
    }

    /// [`AppState::with_hub_config`] with this server's own settings ([`settings::Settings`]).
    pub fn with_settings(
        config: GameConfig,
        hub: HubConfig,
        settings: settings::Settings,
    ) -> Result<Self, RunError> {
        if let settings::Backend::Postgres(_) = settings.backend {
            return Err(RunError::Database(scoreboard::OpenError::Postgres(
                "the PostgreSQL backend connects asynchronously: use AppState::open".into(),
            )));
        }
        let (scores, key) = Scoreboard::open(&config.database, config.scoreboard_size, config.ruleset)?;
        Ok(Self::with_scoreboard(config, hub, settings, scores, key))
    }

    /// Opens the backend `settings` names (SQLite or PostgreSQL) and builds the shared state.
    pub async fn open(
        config: GameConfig,
        hub: HubConfig,
        settings: settings::Settings,
    ) -> Result<Self, RunError> {
        let (scores, key) = match &settings.backend {
            settings::Backend::Sqlite => {
                Scoreboard::open(&config.database, config.scoreboard_size, config.ruleset)?
            }
            settings::Backend::Postgres(options) => {
                Scoreboard::connect_postgres(options, config.scoreboard_size, config.ruleset).await?
            }
        };
        Ok(Self::with_scoreboard(config, hub, settings, scores, key))
    }

    /// The shared state around an opened scoreboard and its ticket key.
    fn with_scoreboard(
        config: GameConfig,
        mut hub: HubConfig,
        settings: settings::Settings,
        scores: Scoreboard,
        key: [u8; games::KEY_BYTES],
    ) -> Self {
        hub.rules_version = settings.rules_version;
        let scores = Arc::new(scores);
        let metrics = Arc::new(Metrics::new());
        let tickets = Arc::new(Tickets::new(key));
        let hub = Hub::new(hub, metrics.clone(), tickets.clone(), scores.subscribe(), Some(scores.clone()));
        let hub = Arc::new(hub);
        let config_json = Bytes::from(
            serde_json::json!({
                "title": config.title,
                "ruleset": config.ruleset.as_str(),
                "solo": config.solo,
                "duo": config.duo,
                // Solo modes offered (all three whenever solo is on).
                "soloModes": if config.solo { vec!["marathon", "sprint", "blitz"] } else { Vec::new() },
                "startLevelMin": config.start_level_min,
                "startLevelMax": config.start_level_max,
                "scoreboardSize": config.scoreboard_size,
                "protocol": protocol::PROTOCOL_VERSION,
                "version": build().version,
                "limits": {
                    "nameMaxChars": names::MAX_NAME_CHARS,
                    "maxMessageBytes": protocol::MAX_MESSAGE_BYTES,
                    "messagesPerSecond": ws::RATE_PER_SECOND as u32,
                    "messageBurst": ws::RATE_BURST as u32,
                    "maxInputLogChars": api::MAX_INPUT_LOG_CHARS,
                },
            })
            .to_string(),
        );
        let version_json = Bytes::from(
            serde_json::json!({
                "name": env!("CARGO_PKG_NAME"),
                "version": build().version,
                "ruleset": config.ruleset.as_str(),
                "protocol": protocol::PROTOCOL_VERSION,
            })
            .to_string(),
        );
        AppState(Arc::new(Shared {
            config,
            hub,
            scores,
            tickets,
            metrics,
            config_json,
            version_json,
            submit_permits: Arc::new(tokio::sync::Semaphore::new(api::MAX_SUBMITS_IN_FLIGHT)),
            clients: clients::ClientLimits::new(&settings),
            // As many waiting replays as submits may be in flight: the permits are the bound.
            replays: verify::pool::ReplayPool::new(settings.replay_threads, api::MAX_SUBMITS_IN_FLIGHT),
            settings,
        }))
    }
}

/// The router: pages, files, API, WebSocket and operations endpoints, with security headers.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new();
    for page in assets::PAGES {
        router = router.route(page, get(assets::page));
    }
    router = router
        .route("/api/config", get(api::config))
        .route("/api/games", post(api::issue_game))
        .route(
            "/api/scores",
            get(api::top)
                .post(
                    api::submit
                        .layer(axum::middleware::from_fn_with_state(state.clone(), api::limit_submits)),
                )
                .layer(DefaultBodyLimit::max(api::MAX_SCORE_BODY)),
        )
        .route("/ws", get(ws::upgrade))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/version", get(ops::version));
    // With a metrics port of its own, `/metrics` is served there only, so a NetworkPolicy can keep
    // players away from it while admitting Prometheus.
    if state.config.metrics_port.is_none() {
        router = router.route("/metrics", get(ops::metrics));
    }
    router
        .fallback(assets::file)
        .layer(DefaultBodyLimit::max(api::MAX_BODY))
        // Nothing a client asks for takes long; a stuck request must not hold a connection forever.
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// Connections the metrics-only listener accepts at once (scrapers, not players).
const METRICS_CONNECTIONS: usize = 16;

/// The router of the metrics-only listener: `/metrics` and nothing else.
fn metrics_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(ops::metrics))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
        .with_state(state)
}

async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    response
}

/// Options of [`run_with`] that the binary fixes and tests may shorten.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Minimum time to keep serving after the shutdown signal (see [`drain`]).
    pub endpoint_grace: Duration,
    /// Longest wait for a request head ([`HEADER_READ_TIMEOUT`]).
    pub header_read_timeout: Duration,
    /// Plain-HTTP connections allowed beyond `max_connections` ([`HTTP_CONNECTION_MARGIN`]).
    pub http_connection_margin: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            endpoint_grace: drain::ENDPOINT_GRACE,
            header_read_timeout: HEADER_READ_TIMEOUT,
            http_connection_margin: HTTP_CONNECTION_MARGIN,
        }
    }
}

/// Serves on `listener` until `shutdown` resolves, then drains and returns.
pub async fn run(
    listener: TcpListener,
    config: GameConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    run_with(listener, config, RunOptions::default(), shutdown).await
}

/// [`run`] with this server's own settings (the binary reads them from the environment).
pub async fn run_with_settings(
    listener: TcpListener,
    config: GameConfig,
    settings: settings::Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    run_settings_boxed(listener, config, settings, Box::pin(shutdown)).await
}

/// The shutdown signal, boxed: the public functions are generic over it, and everything behind
/// them takes this instead, so the server is compiled once, in this library, and not again in
/// every crate that calls it with its own future type (the binary crate, recompiled for each image
/// tag, stays small; see [`Build`]).
type Shutdown = std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

async fn run_settings_boxed(
    listener: TcpListener,
    config: GameConfig,
    settings: settings::Settings,
    shutdown: Shutdown,
) -> Result<(), RunError> {
    let hub = HubConfig::from(&config);
    let state = AppState::open(config, hub, settings).await?;
    serve_boxed(listener, state, RunOptions::default(), shutdown).await
}

/// [`run`] with explicit options.
pub async fn run_with(
    listener: TcpListener,
    config: GameConfig,
    options: RunOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let state = AppState::new(config)?;
    serve_boxed(listener, state, options, Box::pin(shutdown)).await
}

/// Serves an already built state (tests use this to inspect the state while serving).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    options: RunOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    serve_boxed(listener, state, options, Box::pin(shutdown)).await
}

async fn serve_boxed(
    listener: TcpListener,
    state: AppState,
    options: RunOptions,
    shutdown: Shutdown,
) -> Result<(), RunError> {
    let listener_addr = listener.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let http = HttpServer {
        router: app(state.clone()),
        max_connections: (state.config.max_connections as usize)
            .saturating_add(options.http_connection_margin),
        header_read_timeout: options.header_read_timeout,
        metrics: state.metrics.clone(),
    };
    let mut server = tokio::spawn(http.run(listener, stopped));
    // The metrics-only listener, when TETRIS_METRICS_PORT asks for one; it stops with the process.
    let metrics_server = match state.config.metrics_port {
        Some(port) => {
            let listener = TcpListener::bind((state.config.address, port)).await?;
            let http = HttpServer {
                router: metrics_app(state.clone()),
                max_connections: METRICS_CONNECTIONS,
                header_read_timeout: options.header_read_timeout,
                metrics: state.metrics.clone(),
            };
            let (stop, stopped) = oneshot::channel::<()>();
            Some((tokio::spawn(http.run(listener, stopped)), stop))
        }
        None => None,
    };

    if let (Some(ip), Ok(local)) = (state.settings.pod_ip, listener_addr) {
        state.hub.share_rooms_at(std::net::SocketAddr::new(ip, local.port()).to_string()).await;
    }
    let hub = state.hub.clone();
    let mut boards = state.scores.subscribe();
    let pusher = tokio::spawn(async move {
        while boards.changed().await.is_ok() {
            hub.push_scores();
        }
    });

    let result = tokio::select! {
        finished = &mut server => Some(finished),
        () = shutdown => None,
    };
    let served = match result {
        Some(finished) => finished,
        None => {
            drain::drain(&state.hub, options.endpoint_grace).await;
            let _ = stop.send(());
            match tokio::time::timeout(STOP_TIMEOUT, &mut server).await {
                Ok(finished) => finished,
                Err(_) => {
                    // Dropping the accept loop's task set aborts the connections still open.
                    server.abort();
                    Ok(())
                }
            }
        }
    };
    pusher.abort();
    if let Some((task, stop)) = metrics_server {
        let _ = stop.send(());
        task.abort();
    }
    state.scores.stop().await;
    tracing::info!("stopped");
    served.map_err(|join| RunError::Serve(std::io::Error::other(join)))
}
