//! The PostgreSQL backend: one database shared by every replica of an app.
//!
//! # What differs from SQLite
//! - **No writer thread, no group commit of our own.** Each submit takes a pooled connection and
//!   runs one transaction; PostgreSQL commits concurrent transactions together (its WAL flush covers
//!   every commit waiting for it), so replicas and connections need no coordination of ours.
//!   A score is acknowledged only after `COMMIT` returned. The server refuses to run with
//!   `synchronous_commit = off` as the database default (a commit would then be acknowledged before
//!   it is on disk): it sets `on` for its own sessions in that case.
//! - **Bounded pool** ([`deadpool_postgres`]): at most `TETRIS_DATABASE_POOL_SIZE` connections, a
//!   submit waits at most [`WAIT`] for one, creating one times out after [`CONNECT_TIMEOUT`]. While
//!   PostgreSQL is down, submits fail fast with [`SubmitError::Unavailable`] (503) and `/readyz` says
//!   `database_unavailable`; connections are re-created when it returns, without a restart.
//! - **Duplicate submits across replicas**: `scores.game` is `UNIQUE` and the insert is
//!   `ON CONFLICT (game) DO NOTHING RETURNING id`: of two transactions inserting the same game at
//!   the same moment, PostgreSQL lets one commit and makes the other wait for it, then see the
//!   conflict. No read-then-write race exists to lose.
//! - **Best per player** is an `INSERT .. ON CONFLICT DO UPDATE .. WHERE best.rank_key <
//!   excluded.rank_key`, which re-checks against the newest committed row under its row lock, so
//!   two replicas storing two games of one player keep the better one.
//! - **Migrations** run in one transaction holding a transaction-scoped advisory lock
//!   ([`MIGRATION_LOCK`]): replicas that start together run them one after the other; the second
//!   finds the schema at its version and does nothing. (Without the lock, two concurrent
//!   `CREATE TABLE IF NOT EXISTS` can fail with a unique violation on PostgreSQL's catalog.)
//! - **Ticket key**: in `meta`, inserted `ON CONFLICT DO NOTHING` then read, so every replica signs
//!   and verifies game tickets with the first key ever stored (a game issued by one pod is accepted
//!   on any other).
//! - **Live scoreboard across replicas**: a transaction that changed a best row also runs
//!   `pg_notify('tetris_scores', ..)`, delivered at commit. Every replica keeps one extra connection
//!   (outside the pool) that `LISTEN`s and reloads its top-N tables on each notification, then
//!   pushes them to its open scoreboard pages. After that connection is lost and re-made, the tables
//!   are reloaded once, since notifications sent meanwhile are gone.
//!
//! # TLS
//! `sslmode` of the URI, as libpq reads it: `disable` (plain TCP), `prefer` (the default when the
//! URI names none: TLS when the server offers it), `require` (TLS or no connection). As with libpq
//! without a root certificate, the server's certificate is not verified (CloudNativePG signs it
//! with its own CA, which the pod does not have): TLS here protects against eavesdropping, not
//! against an impostor on the pod network. `verify-ca` and `verify-full` would promise more, so
//! they are refused at start with a message naming `TETRIS_DATABASE_URL`, never downgraded.

use super::{Accepted, Boards, Entry, MAX_RANK, OpenError, Opened, Store, Submission, SubmitError};
use crate::games::{KEY_BYTES, Mode, unix_now};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures::future::BoxFuture;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tetris_config::Ruleset;
use tokio::sync::watch;
use tokio_postgres_rustls::MakeRustlsConnect;

/// Longest wait for a pooled connection before a submit is answered 503.
pub const WAIT: Duration = Duration::from_secs(2);
/// Longest time to open a new connection (TCP, TLS, authentication).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest time one submit's transaction may take. A hung server must not hold a request (and its
/// submit permit) forever; a transaction cut off here is either rolled back or committed, never
/// acknowledged, and a retry of a committed one answers `already_submitted`.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default and bounds of `TETRIS_DATABASE_POOL_SIZE`.
pub const DEFAULT_POOL_SIZE: usize = 10;
/// Largest pool one server may hold.
pub const MAX_POOL_SIZE: usize = 100;
/// The notification channel of score changes.
pub const CHANNEL: &str = "tetris_scores";
/// Key of the advisory lock migrations hold (any constant unlikely to collide: "tetris" in ASCII).
pub const MIGRATION_LOCK: i64 = 0x7465_7472_6973;
/// Current schema version, in `meta` under `schema_version`.
pub const SCHEMA_VERSION: i64 = 1;

/// The schema of version 1: the SQLite tables, in PostgreSQL types, plus the duo room registry.
const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS scores (
    id BIGSERIAL PRIMARY KEY,
    game TEXT NOT NULL UNIQUE,
    mode TEXT NOT NULL,
    name TEXT NOT NULL,
    score BIGINT NOT NULL,
    lines BIGINT NOT NULL,
    level BIGINT NOT NULL,
    pieces BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    start_level INTEGER NOT NULL,
    seed BIGINT NOT NULL,
    ruleset TEXT NOT NULL,
    input_log TEXT,
    submitted_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS best (
    mode TEXT NOT NULL,
    ruleset TEXT NOT NULL,
    name TEXT NOT NULL,
    score BIGINT NOT NULL,
    lines BIGINT NOT NULL,
    level BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    rank_key BIGINT NOT NULL,
    score_id BIGINT NOT NULL,
    PRIMARY KEY (mode, ruleset, name)
);
CREATE INDEX IF NOT EXISTS best_rank ON best (mode, ruleset, rank_key DESC, score_id);
CREATE TABLE IF NOT EXISTS rooms (
    code TEXT PRIMARY KEY,
    home TEXT NOT NULL,
    waiting BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS rooms_waiting ON rooms (created_at) WHERE waiting;
";

/// Rebuilds `best` from `scores` (the import runs it after copying scores in).
pub(crate) const REBUILD_BEST: &str = "
DELETE FROM best;
INSERT INTO best (mode, ruleset, name, score, lines, level, duration_ms, rank_key, score_id)
SELECT mode, ruleset, name, score, lines, level, duration_ms, k, id FROM (
    SELECT *, CASE WHEN mode = 'sprint' THEN -duration_ms ELSE score END AS k,
        row_number() OVER (PARTITION BY mode, ruleset, name
            ORDER BY CASE WHEN mode = 'sprint' THEN -duration_ms ELSE score END DESC, id) AS n
    FROM scores WHERE NOT (score = 0 AND lines = 0)
) ranked WHERE n = 1;
";

/// How to reach PostgreSQL (from `TETRIS_DATABASE_URL` and `TETRIS_DATABASE_POOL_SIZE`).
#[derive(Clone, PartialEq, Eq)]
pub struct PgOptions {
    /// The connection URI; it holds the password, so it is never printed.
    pub url: String,
    /// Most connections of the pool.
    pub pool_size: usize,
}

impl std::fmt::Debug for PgOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgOptions").field("url", &"<redacted>").field("pool_size", &self.pool_size).finish()
    }
}

/// Parses a connection URI and checks that its `sslmode` is one this server honours (see the module
/// doc, "TLS"). The error names the variable and never repeats the URI (it holds the password).
pub fn parse_url(url: &str) -> Result<tokio_postgres::Config, String> {
    let var = tetris_config::server_vars::DATABASE_URL;
    if url.trim().is_empty() {
        return Err(format!(
            "{var} is empty; it must be a PostgreSQL URI (postgresql://user:password@host:port/db)"
        ));
    }
    for refused in ["verify-ca", "verify-full"] {
        if url.contains(&format!("sslmode={refused}")) {
            return Err(format!(
                "{var} asks for sslmode={refused}, which this server cannot honour (it does not verify \
                 server certificates); use sslmode=require for TLS without verification, or prefer/disable"
            ));
        }
    }
    let config = tokio_postgres::Config::from_str(url).map_err(|e| {
        format!("{var} is not a PostgreSQL URI this server can use ({e}); supported sslmode values: disable, prefer, require")
    })?;
    if config.get_hosts().is_empty() {
        return Err(format!("{var} names no host"));
    }
    Ok(config)
}

/// A TLS connector for `sslmode=prefer|require`: encrypts, does not authenticate the server (see
/// the module doc). The handshake signatures are still checked, so the session key is the one the
/// certificate's holder agreed to.
fn tls() -> MakeRustlsConnect {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Unverified(provider)))
        .with_no_client_auth();
    MakeRustlsConnect::new(config)
}

#[derive(Debug)]
struct Unverified(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Connects once, retrying while the server is unreachable (it may start after us) for up to
/// `patience`; an answer from PostgreSQL itself (bad password, no such database) fails at once.
pub(crate) async fn connect_patiently(
    config: &tokio_postgres::Config,
    patience: Duration,
) -> Result<tokio_postgres::Client, String> {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        match config.connect(tls()).await {
            Ok((client, connection)) => {
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!(error = %e, "PostgreSQL connection ended");
                    }
                });
                return Ok(client);
            }
            Err(e) if is_unreachable(&e) && tokio::time::Instant::now() < deadline => {
                tracing::warn!(error = %e, "PostgreSQL not reachable yet; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(describe(&e)),
        }
    }
}

/// What PostgreSQL said (SQLSTATE and message), or the client's error.
pub(crate) fn detail(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => match std::error::Error::source(e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        },
    }
}

/// Whether `e` says the server could not be reached (worth retrying), rather than that it answered
/// no (authentication, no such database) or that TLS was asked for and refused, which retrying
/// cannot change.
fn is_unreachable(e: &tokio_postgres::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.downcast_ref::<std::io::Error>().is_some() {
            return true;
        }
        source = s.source();
    }
    e.to_string().contains("timeout") || e.to_string().contains("timed out")
}

/// A message for a connection or query error that names the setting (never the URI).
fn describe(e: &tokio_postgres::Error) -> String {
    let detail = detail(e);
    format!("cannot use the PostgreSQL scoreboard at {} ({detail})", tetris_config::server_vars::DATABASE_URL)
}

fn describe_var() -> String {
    format!("cannot use the PostgreSQL scoreboard at {}", tetris_config::server_vars::DATABASE_URL)
}

/// Brings the schema to [`SCHEMA_VERSION`] under the migration lock (see the module doc).
pub(crate) async fn migrate(client: &mut tokio_postgres::Client) -> Result<(), tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    tx.batch_execute(SCHEMA_V1).await?;
    let version: Option<Vec<u8>> =
        tx.query_opt("SELECT value FROM meta WHERE key = 'schema_version'", &[]).await?.map(|row| row.get(0));
    let version = version.and_then(|v| std::str::from_utf8(&v).ok()?.parse::<i64>().ok()).unwrap_or(0);
    if version < SCHEMA_VERSION {
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&SCHEMA_VERSION.to_string().into_bytes()],
        )
        .await?;
    }
    tx.commit().await
}

/// The PostgreSQL store.
pub(crate) struct PgStore {
    inner: Arc<Inner>,
    listener: tokio::task::AbortHandle,
    refresher: tokio::task::AbortHandle,
}

struct Inner {
    pool: Pool,
    size: usize,
    ruleset: Ruleset,
    boards: watch::Sender<Arc<Boards>>,
    /// One reload of the tables at a time, so a reload that read older rows never publishes after
    /// one that read newer rows.
    refreshing: tokio::sync::Mutex<()>,
    /// Reloads asked for (by submits that changed a best, and by notifications), and the highest
    /// one a finished reload covers: a reload that starts after a request was made reads every row
    /// committed before it, so one reload answers every request made before it started. Under load
    /// that is one reload per batch of submits rather than one per submit (the group commit of the
    /// tables).
    wanted: std::sync::atomic::AtomicU64,
    done: watch::Sender<u64>,
    kick: tokio::sync::Notify,
    /// Whether the LISTEN connection is up (readiness: without it this pod's boards go stale).
    listening: AtomicBool,
    stopped: AtomicBool,
}

impl PgStore {
    /// Connects, migrates, loads the key and the tables, starts the listener.
    pub(crate) async fn connect(
        options: &PgOptions,
        size: u16,
        ruleset: Ruleset,
    ) -> Result<Opened<PgStore>, OpenError> {
        let mut config = parse_url(&options.url).map_err(OpenError::Postgres)?;
        config.connect_timeout(CONNECT_TIMEOUT).keepalives(true).keepalives_idle(Duration::from_secs(30));
        if config.get_application_name().is_none() {
            config.application_name("tetris-game-server");
        }
        let mut first =
            connect_patiently(&config, Duration::from_secs(30)).await.map_err(OpenError::Postgres)?;
        let db = |e: tokio_postgres::Error| OpenError::Postgres(describe(&e));
        migrate(&mut first).await.map_err(db)?;
        let sync: String = first.query_one("SHOW synchronous_commit", &[]).await.map_err(db)?.get(0);
        if sync == "off" {
            tracing::warn!(
                "the database's synchronous_commit is off; this server sets it on for its own sessions"
            );
            config.options("-c synchronous_commit=on");
        }
        let key = load_key(&first).await?;
        let size = usize::from(size);
        drop(first);

        let manager = Manager::from_config(
            config.clone(),
            tls(),
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.clamp(1, MAX_POOL_SIZE))
            .wait_timeout(Some(WAIT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(WAIT))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| OpenError::Postgres(format!("cannot build the PostgreSQL pool: {e}")))?;
        let pooled = pool.get().await.map_err(|e| OpenError::Postgres(format!("{}: {e}", describe_var())))?;
        let tables = all_tops(&pooled, ruleset, size).await.map_err(db)?;
        drop(pooled);
        let (boards_tx, boards_rx) = watch::channel(Arc::new(Boards::new(ruleset, tables)));
        let inner = Arc::new(Inner {
            pool,
            size,
            ruleset,
            boards: boards_tx,
            refreshing: tokio::sync::Mutex::new(()),
            wanted: std::sync::atomic::AtomicU64::new(0),
            done: watch::Sender::new(0),
            kick: tokio::sync::Notify::new(),
            listening: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
        });
        let listener = tokio::spawn(listen(config, Arc::downgrade(&inner))).abort_handle();
        let refresher = tokio::spawn(refresher(inner.clone())).abort_handle();
        Ok((PgStore { inner, listener, refresher }, boards_rx, key))
    }
}

impl Store for PgStore {
    fn submit(&self, submission: Submission) -> BoxFuture<'_, Result<Accepted, SubmitError>> {
        Box::pin(async move {
            if self.inner.stopped.load(Ordering::Acquire) {
                return Err(SubmitError::Unavailable);
            }
            let stored = tokio::time::timeout(STATEMENT_TIMEOUT, store(&self.inner.pool, &submission)).await;
            match stored {
                Ok(Ok(accepted)) => {
                    if accepted.as_ref().is_ok_and(|a| a.personal_best) {
                        // Tables before the answer, as with SQLite: a player who got 201 and then
                        // reads the board on this pod sees their score.
                        self.inner.refreshed().await;
                    }
                    accepted
                }
                Ok(Err(e)) => {
                    let error = match &e {
                        WriteError::Db(db) => detail(db),
                        other => other.to_string(),
                    };
                    tracing::error!(%error, "scoreboard write failed; the score was not stored");
                    Err(SubmitError::Unavailable)
                }
                Err(_) => {
                    tracing::error!("scoreboard write timed out; the score was not acknowledged");
                    Err(SubmitError::Unavailable)
                }
            }
        })
    }

    /// Ready when a pooled connection answers within [`WAIT`], the server takes writes (not a
    /// standby left over after a failover), and the LISTEN connection is up.
    fn is_usable(&self) -> BoxFuture<'_, bool> {
        Box::pin(async move {
            if self.inner.stopped.load(Ordering::Acquire) || !self.inner.listening.load(Ordering::Acquire) {
                return false;
            }
            let check = async {
                let client = self.inner.pool.get().await.ok()?;
                let row = client.query_one("SELECT NOT pg_is_in_recovery()", &[]).await.ok()?;
                Some(row.get::<_, bool>(0))
            };
            matches!(tokio::time::timeout(WAIT, check).await, Ok(Some(true)))
        })
    }

    fn shares_rooms(&self) -> bool {
        true
    }

    fn register_room<'a>(&'a self, code: &'a str, home: &'a str, waiting: bool) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let sql = "INSERT INTO rooms (code, home, waiting) VALUES ($1, $2, $3)
                       ON CONFLICT (code) DO UPDATE SET home = excluded.home, waiting = excluded.waiting, created_at = now()";
            self.inner.registry(sql, &[&code, &home, &waiting]).await;
        })
    }

    fn forget_room<'a>(&'a self, code: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move { self.inner.registry("DELETE FROM rooms WHERE code = $1", &[&code]).await })
    }

    fn forget_home<'a>(&'a self, home: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move { self.inner.registry("DELETE FROM rooms WHERE home = $1", &[&home]).await })
    }

    fn room_home<'a>(&'a self, code: &'a str) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move {
            let query = async {
                let client = self.inner.pool.get().await.ok()?;
                let row =
                    client.query_opt("SELECT home FROM rooms WHERE code = $1", &[&code]).await.ok()??;
                Some(row.get::<_, String>(0))
            };
            tokio::time::timeout(STATEMENT_TIMEOUT, query).await.ok().flatten()
        })
    }

    /// `FOR UPDATE SKIP LOCKED` in a `DELETE .. RETURNING`: two servers taking at the same moment
    /// lock different rows (or find none), so a waiting room is handed to one server only.
    fn take_waiting<'a>(&'a self, except_home: &'a str) -> BoxFuture<'a, Option<(String, String)>> {
        Box::pin(async move {
            let query = async {
                let client = self.inner.pool.get().await.ok()?;
                let row = client
                    .query_opt(
                        "DELETE FROM rooms WHERE code = (
                            SELECT code FROM rooms WHERE waiting AND home <> $1
                            ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
                         RETURNING code, home",
                        &[&except_home],
                    )
                    .await
                    .ok()??;
                Some((row.get::<_, String>(0), row.get::<_, String>(1)))
            };
            tokio::time::timeout(STATEMENT_TIMEOUT, query).await.ok().flatten()
        })
    }

    fn stop(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.inner.stopped.store(true, Ordering::Release);
            self.listener.abort();
            self.refresher.abort();
            self.inner.pool.close();
        })
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.listener.abort();
        self.refresher.abort();
    }
}

/// A pool or database failure (not a refusal).
#[derive(Debug, thiserror::Error)]
enum WriteError {
    #[error("no connection: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("{0}")]
    Db(#[from] tokio_postgres::Error),
}

/// One submit's transaction (see the module doc for why each statement is race-free).
async fn store(pool: &Pool, s: &Submission) -> Result<Result<Accepted, SubmitError>, WriteError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let t = &s.ticket;
    let r = &s.report;
    let mode = t.mode.as_str();
    let ruleset = t.ruleset.as_str();
    let insert = tx
        .prepare_cached(
            "INSERT INTO scores (game, mode, name, score, lines, level, pieces, duration_ms, start_level, seed, ruleset, input_log, submitted_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (game) DO NOTHING RETURNING id",
        )
        .await?;
    let inserted = tx
        .query_opt(
            &insert,
            &[
                &t.key,
                &mode,
                &s.name,
                &i64::from(r.score),
                &i64::from(r.lines),
                &i64::from(r.level),
                &i64::from(r.pieces),
                &(r.duration_ms as i64),
                &i32::from(t.start_level),
                &i64::from(t.seed),
                &ruleset,
                &s.input_log,
                &(unix_now() as i64),
            ],
        )
        .await?;
    let Some(inserted) = inserted else {
        return Ok(Err(SubmitError::AlreadySubmitted));
    };
    let id: i64 = inserted.get(0);
    let select_best = tx
        .prepare_cached(
            "SELECT rank_key, score_id, score FROM best WHERE mode = $1 AND ruleset = $2 AND name = $3",
        )
        .await?;
    let read_best =
        |row: tokio_postgres::Row| (row.get::<_, i64>(0), row.get::<_, i64>(1), row.get::<_, i64>(2));
    // A game where nothing happened (a walkover) is kept but never ranked.
    if r.score == 0 && r.lines == 0 {
        let previous = tx.query_opt(&select_best, &[&mode, &ruleset, &s.name]).await?.map(read_best);
        tx.commit().await?;
        return Ok(Ok(Accepted {
            accepted: true,
            mode,
            name: s.name.clone(),
            score: 0,
            best: previous.map_or(0, |p| clamp_u32(p.2)),
            personal_best: false,
            rank: None,
        }));
    }
    let rank_key = if t.mode.ranks_by_time() { -(r.duration_ms as i64) } else { i64::from(r.score) };
    let upsert = tx
        .prepare_cached(
            "INSERT INTO best (mode, ruleset, name, score, lines, level, duration_ms, rank_key, score_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (mode, ruleset, name) DO UPDATE SET score = excluded.score, lines = excluded.lines,
             level = excluded.level, duration_ms = excluded.duration_ms, rank_key = excluded.rank_key,
             score_id = excluded.score_id
             WHERE best.rank_key < excluded.rank_key
             RETURNING rank_key, score_id, score",
        )
        .await?;
    let improved = tx
        .query_opt(
            &upsert,
            &[
                &mode,
                &ruleset,
                &s.name,
                &i64::from(r.score),
                &i64::from(r.lines),
                &i64::from(r.level),
                &(r.duration_ms as i64),
                &rank_key,
                &id,
            ],
        )
        .await?
        .map(read_best);
    let personal_best = improved.is_some();
    let (best_key, best_id, best) = match improved {
        Some(b) => b,
        None => tx.query_opt(&select_best, &[&mode, &ruleset, &s.name]).await?.map(read_best).unwrap_or((
            rank_key,
            id,
            i64::from(r.score),
        )),
    };
    let above = tx
        .prepare_cached(
            "SELECT count(*) FROM (SELECT 1 FROM best WHERE mode = $1 AND ruleset = $2
             AND (rank_key > $3 OR (rank_key = $3 AND score_id < $4)) LIMIT $5) above",
        )
        .await?;
    let above: i64 =
        tx.query_one(&above, &[&mode, &ruleset, &best_key, &best_id, &i64::from(MAX_RANK)]).await?.get(0);
    if personal_best {
        // Delivered to every listening replica when (and only if) this transaction commits.
        tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &ruleset]).await?;
    }
    tx.commit().await?;
    let above = u32::try_from(above).unwrap_or(MAX_RANK);
    Ok(Ok(Accepted {
        accepted: true,
        mode,
        name: s.name.clone(),
        score: r.score,
        best: clamp_u32(best),
        personal_best,
        rank: (above < MAX_RANK).then_some(above + 1),
    }))
}

fn clamp_u32(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

impl Inner {
    /// Runs one registry statement; a failure is logged, never fatal (the registry only finds
    /// rooms: a room missing from it is reachable on its own server, a stale row is removed when a
    /// server fails to reach it).
    async fn registry(&self, sql: &str, params: &[&(dyn tokio_postgres::types::ToSql + Sync)]) {
        let run = async {
            let client = self.pool.get().await.map_err(|e| e.to_string())?;
            client.execute(sql, params).await.map_err(|e| detail(&e))
        };
        match tokio::time::timeout(STATEMENT_TIMEOUT, run).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "duo room registry update failed"),
            Err(_) => tracing::warn!("duo room registry update timed out"),
        }
    }

    /// Asks for a reload of the tables (answered by [`refresher`]).
    fn want_refresh(&self) -> u64 {
        let asked = self.wanted.fetch_add(1, Ordering::AcqRel) + 1;
        self.kick.notify_one();
        asked
    }

    /// Returns once a reload that started after this call has finished (or after
    /// [`STATEMENT_TIMEOUT`]: the score is committed either way; only the board would lag).
    async fn refreshed(&self) {
        let asked = self.want_refresh();
        let mut done = self.done.subscribe();
        let _ = tokio::time::timeout(STATEMENT_TIMEOUT, done.wait_for(|d| *d >= asked)).await;
    }

    /// Reloads the tables and publishes them if they changed; a failure keeps the old ones.
    async fn refresh(&self) {
        let _one_at_a_time = self.refreshing.lock().await;
        let tables = async {
            let client = self.pool.get().await.map_err(|e| e.to_string())?;
            all_tops(&client, self.ruleset, self.size).await.map_err(|e| e.to_string())
        };
        match tokio::time::timeout(STATEMENT_TIMEOUT, tables).await {
            Ok(Ok(tables)) => {
                if self.boards.borrow().tables != tables {
                    self.boards.send_replace(Arc::new(Boards::new(self.ruleset, tables)));
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "reloading the scoreboard tables failed"),
            Err(_) => tracing::warn!("reloading the scoreboard tables timed out"),
        }
    }
}

/// Keeps one connection `LISTEN`ing on [`CHANNEL`] for as long as the store lives, re-making it
/// when it is lost, and reloads the tables on every notification (several waiting ones: once).
async fn listen(config: tokio_postgres::Config, inner: std::sync::Weak<Inner>) {
    use futures::StreamExt;
    loop {
        match config.connect(tls()).await {
            Ok((client, mut connection)) => {
                let (notify_tx, mut notify_rx) = tokio::sync::mpsc::channel::<()>(1);
                let driver = tokio::spawn(async move {
                    let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(message) = messages.next().await {
                        match message {
                            Ok(tokio_postgres::AsyncMessage::Notification(_)) => {
                                // A full channel already holds a reload that will read these rows.
                                let _ = notify_tx.try_send(());
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(error = %e, "scoreboard LISTEN connection lost");
                                return;
                            }
                        }
                    }
                });
                if client.batch_execute(&format!("LISTEN {CHANNEL}")).await.is_ok() {
                    let Some(store) = inner.upgrade() else { return };
                    store.listening.store(true, Ordering::Release);
                    // Scores committed while no connection listened were never announced to us.
                    store.want_refresh();
                    drop(store);
                    while notify_rx.recv().await.is_some() {
                        let Some(store) = inner.upgrade() else { return };
                        store.want_refresh();
                    }
                }
                driver.abort();
                if let Some(store) = inner.upgrade() {
                    store.listening.store(false, Ordering::Release);
                }
            }
            Err(e) => tracing::debug!(error = %e, "scoreboard LISTEN connection failed; retrying"),
        }
        if inner.strong_count() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Serves reload requests ([`Inner::want_refresh`]) one reload at a time, each covering every
/// request made before it started. Holds the store until [`PgStore`] aborts it (on stop or drop).
async fn refresher(store: Arc<Inner>) {
    loop {
        let kicked = store.kick.notified();
        tokio::pin!(kicked);
        // Registered before the check, so a request made in between still wakes us.
        kicked.as_mut().enable();
        if *store.done.borrow() >= store.wanted.load(Ordering::Acquire) {
            kicked.await;
            continue;
        }
        let covers = store.wanted.load(Ordering::Acquire);
        store.refresh().await;
        store.done.send_modify(|d| *d = (*d).max(covers));
    }
}

async fn load_key(client: &tokio_postgres::Client) -> Result<[u8; KEY_BYTES], OpenError> {
    let db = |e: tokio_postgres::Error| OpenError::Postgres(describe(&e));
    let fresh: [u8; KEY_BYTES] = rand::random();
    // Insert-if-absent then read: replicas that start together all end up with the first key.
    client
        .execute(
            "INSERT INTO meta (key, value) VALUES ('ticket_key', $1) ON CONFLICT (key) DO NOTHING",
            &[&fresh.to_vec()],
        )
        .await
        .map_err(db)?;
    let stored: Vec<u8> =
        client.query_one("SELECT value FROM meta WHERE key = 'ticket_key'", &[]).await.map_err(db)?.get(0);
    // A key of another length was not written by this server; using a fresh one would split the
    // replicas, so the server stops and says so instead.
    stored.try_into().map_err(|_| {
        OpenError::Postgres(format!("meta.ticket_key in the PostgreSQL scoreboard is not {KEY_BYTES} bytes"))
    })
}

/// Every mode's table for `ruleset`, in [`Mode::ALL`] order: one statement (one snapshot, one
/// round trip) of four index-ordered `LIMIT` scans.
async fn all_tops(
    client: &impl deadpool_postgres::GenericClient,
    ruleset: Ruleset,
    size: usize,
) -> Result<[Vec<Entry>; 4], tokio_postgres::Error> {
    let one = |m: usize| {
        format!(
            "(SELECT mode, name, score, lines, level, duration_ms, rank_key, score_id FROM best
              WHERE mode = ${m} AND ruleset = $5 ORDER BY rank_key DESC, score_id LIMIT $6)"
        )
    };
    let sql = [one(1), one(2), one(3), one(4)].join(" UNION ALL ");
    let stmt = client.prepare_cached(&sql).await?;
    let [a, b, c, d] = Mode::ALL.map(Mode::as_str);
    let rows = client.query(&stmt, &[&a, &b, &c, &d, &ruleset.as_str(), &(size as i64)]).await?;
    let mut sorted: [Vec<(i64, i64, Entry)>; 4] = Default::default();
    for row in rows {
        let mode: &str = row.get(0);
        let Some(i) = Mode::ALL.iter().position(|m| m.as_str() == mode) else { continue };
        let timed = matches!(Mode::ALL[i], Mode::Sprint | Mode::Blitz);
        sorted[i].push((
            row.get(6),
            row.get(7),
            Entry {
                rank: 0,
                name: row.get(1),
                score: clamp_u32(row.get(2)),
                lines: clamp_u32(row.get(3)),
                level: clamp_u32(row.get(4)),
                time_ms: timed.then_some(row.get::<_, i64>(5).max(0) as u64),
            },
        ));
    }
    Ok(sorted.map(|mut rows| {
        // UNION ALL does not promise to keep each branch's order.
        rows.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
        rows.into_iter().enumerate().map(|(i, (_, _, e))| Entry { rank: i as u32 + 1, ..e }).collect()
    }))
}
