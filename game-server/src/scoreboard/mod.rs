//! The scoreboard: SQLite in WAL mode, written by one dedicated thread, read from an in-memory copy;
//! or PostgreSQL ([`postgres`]), shared by every replica. Both are a [`Store`] behind [`Scoreboard`];
//! this page describes SQLite, `postgres.rs` what differs.
//!
//! # Durability
//! A score is acknowledged (`201`) only after the transaction holding it has committed with
//! `synchronous=FULL`: in WAL mode that fsyncs the WAL on every commit, so an acknowledged score
//! survives SIGKILL (the WAL is in the file, not in our memory) and power loss (the WAL is on the disk,
//! not in the page cache). `NORMAL` would survive SIGKILL but could lose the last commits on power loss,
//! which would break "acknowledged means kept".
//!
//! # Throughput
//! An fsync per score would cap submits at the disk's fsync rate. The writer thread instead takes
//! every submission waiting in its channel (up to [`MAX_BATCH`]), writes them in one transaction, does
//! one commit (one fsync), and only then answers each of them: group commit. Under load, batches grow
//! and the fsync cost is shared; when idle, a lone submit commits at once. The async runtime never
//! touches SQLite, so a slow disk delays score acks but never a game.
//!
//! # Boards
//! One board per mode (solo marathon, duo, sprint, blitz) and per ruleset: a server shows only the
//! boards of the ruleset it runs, since classic and modern scores are not comparable. Sprint ranks
//! by time (lowest first), every other mode by score. A game in which nothing happened (0 points,
//! 0 lines, e.g. a duo walkover) is stored but never ranked.
//!
//! # Schema versions
//! `PRAGMA user_version` 0 had one `best` row per (mode, name) across rulesets; version 1 keys it by
//! (mode, ruleset, name) and adds the time. Opening a version 0 file rebuilds `best` from `scores`
//! (which holds every accepted game), in the same transaction that sets version 1.
//!
//! # Reads
//! The top-N tables are kept in memory (refreshed by the writer after a commit that changed them, with
//! an indexed `ORDER BY score DESC LIMIT N`) and published through a `watch` channel, which the hub
//! uses to push `scores` messages. `GET /api/scores` never touches the database.

use crate::games::{KEY_BYTES, Mode, Ticket};
use crate::plausibility::Report;
use axum::body::Bytes;
use axum::extract::ws::Utf8Bytes;
use futures::future::BoxFuture;
use rusqlite::{Connection, params};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tetris_config::Ruleset;
use tokio::sync::{mpsc, oneshot, watch};
use writer::Writer;

pub mod postgres;
mod writer;

/// Most submissions written in one transaction.
pub const MAX_BATCH: usize = 512;
/// Submissions that may wait for the writer before senders wait.
const QUEUE: usize = 4096;
/// Ranks are counted up to this; below it `rank` is `null`.
pub const MAX_RANK: u32 = 1000;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS scores (
    id INTEGER PRIMARY KEY,
    game TEXT NOT NULL UNIQUE,
    mode TEXT NOT NULL,
    name TEXT NOT NULL,
    score INTEGER NOT NULL,
    lines INTEGER NOT NULL,
    level INTEGER NOT NULL,
    pieces INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    start_level INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    ruleset TEXT NOT NULL,
    input_log TEXT,
    submitted_at INTEGER NOT NULL
);
";

/// The current schema version (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

/// The per-board best table of schema version 1. `rank_key` is what ranks (higher first): the
/// score, or minus the time for sprint.
const BEST_V1: &str = "
CREATE TABLE best (
    mode TEXT NOT NULL,
    ruleset TEXT NOT NULL,
    name TEXT NOT NULL,
    score INTEGER NOT NULL,
    lines INTEGER NOT NULL,
    level INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    rank_key INTEGER NOT NULL,
    score_id INTEGER NOT NULL,
    PRIMARY KEY (mode, ruleset, name)
) WITHOUT ROWID;
CREATE INDEX best_rank ON best (mode, ruleset, rank_key DESC, score_id);
INSERT INTO best (mode, ruleset, name, score, lines, level, duration_ms, rank_key, score_id)
SELECT mode, ruleset, name, score, lines, level, duration_ms, k, id FROM (
    SELECT *, CASE WHEN mode = 'sprint' THEN -duration_ms ELSE score END AS k,
        row_number() OVER (PARTITION BY mode, ruleset, name
            ORDER BY CASE WHEN mode = 'sprint' THEN -duration_ms ELSE score END DESC, id) AS n
    FROM scores WHERE NOT (score = 0 AND lines = 0)
) WHERE n = 1;
";

/// Brings the schema to [`SCHEMA_VERSION`], rebuilding `best` from `scores` when it is older.
fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute_batch(SCHEMA)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version < SCHEMA_VERSION {
        tx.execute_batch("DROP INDEX IF EXISTS best_rank; DROP TABLE IF EXISTS best;")?;
        tx.execute_batch(BEST_V1)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    }
    tx.commit()
}

/// The database could not be opened or prepared.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The SQLite file.
    #[error(
        "cannot use the scoreboard database {path}: {source} (set TETRIS_DATABASE to a writable file path)"
    )]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// PostgreSQL: the message names the setting to fix (never the password).
    #[error("{0}")]
    Postgres(String),
}

/// A score to store.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The verified ticket of the game.
    pub ticket: Ticket,
    /// Validated player name.
    pub name: String,
    /// Reported totals (already checked for plausibility).
    pub report: Report,
    /// Input log for later replay verification.
    pub input_log: Option<String>,
}

/// A stored score, as answered to the player.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    /// Always true (the field makes the response self-describing).
    pub accepted: bool,
    /// `solo` or `duo`.
    pub mode: &'static str,
    /// Player name.
    pub name: String,
    /// This game's score.
    pub score: u32,
    /// Player's best in this mode, after this game.
    pub best: u32,
    /// Whether this game set the best.
    pub personal_best: bool,
    /// Rank of `best` (1 = top), if within [`MAX_RANK`].
    pub rank: Option<u32>,
}

/// Why a submission was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// The game already has a score.
    #[error("a score for this game was already accepted")]
    AlreadySubmitted,
    /// The database failed; nothing was stored.
    #[error("the scoreboard cannot write right now")]
    Unavailable,
}

/// One row of a scoreboard table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// 1 = best.
    pub rank: u32,
    /// Player name.
    pub name: String,
    /// Best score.
    pub score: u32,
    /// Lines of that game.
    pub lines: u32,
    /// Final level of that game.
    pub level: u32,
    /// Play time of that game (sprint and blitz boards only).
    #[serde(rename = "timeMs", skip_serializing_if = "Option::is_none")]
    pub time_ms: Option<u64>,
}

/// The top-N table of every mode (in [`Mode::ALL`] order) for the server's ruleset, with their
/// JSON forms prepared once per change.
#[derive(Debug, Clone)]
pub struct Boards {
    /// The ruleset these boards are for.
    pub ruleset: Ruleset,
    /// One table per mode, in [`Mode::ALL`] order.
    pub tables: [Vec<Entry>; 4],
    /// `{"ruleset":..,"solo":[...],"duo":[...],"sprint":[...],"blitz":[...]}` for `GET /api/scores`.
    pub api_json: Bytes,
    /// The `scores` WebSocket message.
    pub ws_json: Utf8Bytes,
}

impl Boards {
    pub(crate) fn new(ruleset: Ruleset, tables: [Vec<Entry>; 4]) -> Self {
        let api = tables_json(ruleset, &tables, usize::MAX);
        let ws = format!(r#"{{"type":"scores",{}"#, &api[1..]);
        Boards { ruleset, tables, api_json: Bytes::from(api), ws_json: Utf8Bytes::from(ws) }
    }

    /// The table of `mode`.
    pub fn table(&self, mode: Mode) -> &[Entry] {
        let i = Mode::ALL.iter().position(|m| *m == mode).expect("Mode::ALL lists every mode");
        &self.tables[i]
    }
}

/// The JSON object of every table, each cut to its first `limit` rows.
pub fn tables_json(ruleset: Ruleset, tables: &[Vec<Entry>; 4], limit: usize) -> String {
    let mut map = serde_json::Map::new();
    map.insert("ruleset".into(), ruleset.as_str().into());
    for (mode, rows) in Mode::ALL.iter().zip(tables) {
        let rows = &rows[..limit.min(rows.len())];
        map.insert(mode.as_str().into(), serde_json::to_value(rows).expect("entries serialize"));
    }
    serde_json::to_string(&map).expect("a JSON map serializes")
}

/// How often the writer looks for commits of other processes sharing the file.
pub(crate) const FOLLOW_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

pub(crate) enum Command {
    Submit(Box<Submission>, oneshot::Sender<Result<Accepted, SubmitError>>),
    /// Try a small write transaction and report whether it committed.
    Probe(oneshot::Sender<bool>),
    /// Reload the tables if another process has committed to the file.
    FollowOthers,
    Stop(oneshot::Sender<()>),
}

/// What a scoreboard backend does. SQLite ([`SqliteStore`]) and PostgreSQL ([`postgres::PgStore`])
/// implement it; [`Scoreboard`] is the one handle the rest of the server uses, whichever is behind it.
/// The top-N tables are not part of it: each backend publishes them into the `watch` channel it was
/// given, and [`Scoreboard`] hands out receivers.
pub(crate) trait Store: Send + Sync {
    /// Stores `submission`; resolves only once it is durable (or refused).
    fn submit(&self, submission: Submission) -> BoxFuture<'_, Result<Accepted, SubmitError>>;
    /// Whether the database can take a write now (readiness).
    fn is_usable(&self) -> BoxFuture<'_, bool>;
    /// Finishes or refuses what is queued and releases the database.
    fn stop(&self) -> BoxFuture<'_, ()>;

    /// Whether this store keeps the duo room registry that lets replicas reach each other's rooms
    /// (PostgreSQL; SQLite does not, see docs/scoreboard-backends.md, "Duo across replicas").
    fn shares_rooms(&self) -> bool {
        false
    }
    /// Records that room `code` lives on `home` (`ip:port`); `waiting`: a quick-match room that
    /// waits for an opponent.
    fn register_room<'a>(&'a self, _code: &'a str, _home: &'a str, _waiting: bool) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
    /// Forgets room `code` (closed, or paired).
    fn forget_room<'a>(&'a self, _code: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
    /// Forgets every room of `home` (a server starting again at the same address).
    fn forget_home<'a>(&'a self, _home: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
    /// Where private room `code` lives.
    fn room_home<'a>(&'a self, _code: &'a str) -> BoxFuture<'a, Option<String>> {
        Box::pin(async { None })
    }
    /// Takes the oldest quick-match room waiting on another server than `except_home` out of the
    /// registry (so no other server takes it too); returns its code and home.
    fn take_waiting<'a>(&'a self, _except_home: &'a str) -> BoxFuture<'a, Option<(String, String)>> {
        Box::pin(async { None })
    }
}

/// Handle to the scoreboard; cheap to share behind an `Arc`.
pub struct Scoreboard {
    store: Box<dyn Store>,
    boards: watch::Receiver<Arc<Boards>>,
    backend: &'static str,
}

impl Scoreboard {
    /// Opens (creating if needed) the SQLite database at `path`, starts the writer thread, and
    /// returns the handle and the ticket-signing key stored in the database.
    /// Boards are those of `ruleset`, the one this server runs.
    pub fn open(
        path: &Path,
        size: u16,
        ruleset: Ruleset,
    ) -> Result<(Scoreboard, [u8; KEY_BYTES]), OpenError> {
        let (store, boards, key) = SqliteStore::open(path, size, ruleset)?;
        Ok((Scoreboard { store: Box::new(store), boards, backend: "sqlite" }, key))
    }

    /// Connects to PostgreSQL (see [`postgres`]): migrates the schema, loads the shared ticket key,
    /// starts listening for other replicas' scores.
    pub async fn connect_postgres(
        options: &postgres::PgOptions,
        size: u16,
        ruleset: Ruleset,
    ) -> Result<(Scoreboard, [u8; KEY_BYTES]), OpenError> {
        let (store, boards, key) = postgres::PgStore::connect(options, size, ruleset).await?;
        Ok((Scoreboard { store: Box::new(store), boards, backend: "postgres" }, key))
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// Stores `submission`; resolves only once it is durable (or refused).
    pub async fn submit(&self, submission: Submission) -> Result<Accepted, SubmitError> {
        self.store.submit(submission).await
    }

    /// The current top-N tables.
    pub fn boards(&self) -> Arc<Boards> {
        self.boards.borrow().clone()
    }

    /// A receiver that sees every new version of the tables.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Boards>> {
        self.boards.clone()
    }

    /// Whether the database is usable now (see each backend's `is_usable`).
    pub async fn is_usable(&self) -> bool {
        self.store.is_usable().await
    }

    /// Lets the backend finish what is queued, and stop.
    pub async fn stop(&self) {
        self.store.stop().await;
    }

    /// Whether the backend keeps the duo room registry ([`Store::shares_rooms`]).
    pub fn shares_rooms(&self) -> bool {
        self.store.shares_rooms()
    }

    /// [`Store::register_room`].
    pub async fn register_room(&self, code: &str, home: &str, waiting: bool) {
        self.store.register_room(code, home, waiting).await;
    }

    /// [`Store::forget_room`].
    pub async fn forget_room(&self, code: &str) {
        self.store.forget_room(code).await;
    }

    /// [`Store::forget_home`].
    pub async fn forget_home(&self, home: &str) {
        self.store.forget_home(home).await;
    }

    /// [`Store::room_home`].
    pub async fn room_home(&self, code: &str) -> Option<String> {
        self.store.room_home(code).await
    }

    /// [`Store::take_waiting`].
    pub async fn take_waiting(&self, except_home: &str) -> Option<(String, String)> {
        self.store.take_waiting(except_home).await
    }
}

/// The SQLite backend: one writer thread (see "Throughput" above), a separate connection for probes.
pub(crate) struct SqliteStore {
    tx: mpsc::Sender<Command>,
    healthy: Arc<AtomicBool>,
    /// A std Mutex, not a tokio one: it is only locked inside `spawn_blocking`, never across an await.
    probe: Arc<Mutex<Connection>>,
}

type Opened<S> = (S, watch::Receiver<Arc<Boards>>, [u8; KEY_BYTES]);

impl SqliteStore {
    fn open(path: &Path, size: u16, ruleset: Ruleset) -> Result<Opened<SqliteStore>, OpenError> {
        let err = |source| OpenError::Sqlite { path: path.to_owned(), source };
        let conn = open_writer(path).map_err(err)?;
        let key = load_key(&conn).map_err(err)?;
        let size = usize::from(size);
        // Read before the tables, so a commit of another process in between is caught up with.
        let data_version = conn.query_row("PRAGMA data_version", [], |r| r.get::<_, i64>(0)).ok();
        let boards = Boards::new(ruleset, all_tops(&conn, ruleset, size).map_err(err)?);
        let probe = Connection::open(path).map_err(err)?;
        probe.busy_timeout(std::time::Duration::from_secs(1)).map_err(err)?;

        let (tx, rx) = mpsc::channel(QUEUE);
        let (boards_tx, boards_rx) = watch::channel(Arc::new(boards));
        let healthy = Arc::new(AtomicBool::new(true));
        let writer =
            Writer { conn, size, ruleset, boards: boards_tx, healthy: healthy.clone(), data_version };
        std::thread::Builder::new()
            .name("scoreboard-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| err(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))?;
        // Several replicas on one node share the file; each one's boards follow the others' commits.
        // A weak sender, so the writer still ends when the store is dropped.
        let follow = tx.downgrade();
        std::thread::Builder::new()
            .name("scoreboard-follow".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(FOLLOW_INTERVAL);
                    let Some(tx) = follow.upgrade() else { return };
                    if let Err(mpsc::error::TrySendError::Closed(_)) = tx.try_send(Command::FollowOthers) {
                        return;
                    }
                }
            })
            .map_err(|e| err(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))?;
        let store = SqliteStore { tx, healthy, probe: Arc::new(Mutex::new(probe)) };
        Ok((store, boards_rx, key))
    }

    async fn submit(&self, submission: Submission) -> Result<Accepted, SubmitError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Command::Submit(Box::new(submission), reply))
            .await
            .map_err(|_| SubmitError::Unavailable)?;
        answer.await.unwrap_or(Err(SubmitError::Unavailable))
    }

    /// Whether the database is usable: a read works now, and either the last write succeeded or a
    /// probe write succeeds now. (Without the probe, a server that failed one write would stay
    /// not-ready forever: not ready means no traffic, and no traffic means no write to prove it healthy.)
    async fn is_usable(&self) -> bool {
        if self.tx.is_closed() {
            return false;
        }
        if !self.healthy.load(Ordering::Relaxed) {
            let (reply, answer) = oneshot::channel();
            if self.tx.send(Command::Probe(reply)).await.is_err() {
                return false;
            }
            let probe = tokio::time::timeout(std::time::Duration::from_secs(2), answer).await;
            if !matches!(probe, Ok(Ok(true))) {
                return false;
            }
        }
        let probe = self.probe.clone();
        let read = tokio::task::spawn_blocking(move || {
            let conn = probe.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            conn.query_row("SELECT count(*) FROM meta", [], |r| r.get::<_, i64>(0)).is_ok()
        });
        matches!(tokio::time::timeout(std::time::Duration::from_secs(2), read).await, Ok(Ok(true)))
    }

    /// Lets the writer finish everything queued, checkpoint the WAL, and stop.
    async fn stop(&self) {
        let (done, stopped) = oneshot::channel();
        if self.tx.send(Command::Stop(done)).await.is_ok() {
            let _ = stopped.await;
        }
    }
}

impl Store for SqliteStore {
    fn submit(&self, submission: Submission) -> BoxFuture<'_, Result<Accepted, SubmitError>> {
        Box::pin(SqliteStore::submit(self, submission))
    }
    fn is_usable(&self) -> BoxFuture<'_, bool> {
        Box::pin(SqliteStore::is_usable(self))
    }
    fn stop(&self) -> BoxFuture<'_, ()> {
        Box::pin(SqliteStore::stop(self))
    }
}

/// The writer's connection: WAL, `synchronous=FULL` (see "Durability" above), schema in place.
fn open_writer(path: &Path) -> rusqlite::Result<Connection> {
    let mut conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    migrate(&mut conn)?;
    Ok(conn)
}

fn load_key(conn: &Connection) -> rusqlite::Result<[u8; KEY_BYTES]> {
    let fresh: [u8; KEY_BYTES] = rand::random();
    // INSERT OR IGNORE then SELECT: replicas that start together all end up with the first key.
    conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('ticket_key', ?1)", params![&fresh[..]])?;
    let stored: Vec<u8> =
        conn.query_row("SELECT value FROM meta WHERE key = 'ticket_key'", [], |r| r.get(0))?;
    stored
        .try_into()
        .map_err(|_| rusqlite::Error::InvalidColumnType(0, "ticket_key".into(), rusqlite::types::Type::Blob))
}

pub(crate) fn top(
    conn: &Connection,
    mode: Mode,
    ruleset: Ruleset,
    size: usize,
) -> rusqlite::Result<Vec<Entry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, score, lines, level, duration_ms FROM best WHERE mode = ?1 AND ruleset = ?2
         ORDER BY rank_key DESC, score_id LIMIT ?3",
    )?;
    let timed = matches!(mode, Mode::Sprint | Mode::Blitz);
    let rows = stmt.query_map(params![mode.as_str(), ruleset.as_str(), size as i64], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, u32>(1)?,
            r.get::<_, u32>(2)?,
            r.get::<_, u32>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })?;
    let mut out = Vec::with_capacity(size);
    for (i, row) in rows.enumerate() {
        let (name, score, lines, level, ms) = row?;
        out.push(Entry {
            rank: i as u32 + 1,
            name,
            score,
            lines,
            level,
            time_ms: timed.then_some(ms.max(0) as u64),
        });
    }
    Ok(out)
}

/// Every mode's table for `ruleset`, in [`Mode::ALL`] order.
pub(crate) fn all_tops(
    conn: &Connection,
    ruleset: Ruleset,
    size: usize,
) -> rusqlite::Result<[Vec<Entry>; 4]> {
    let [a, b, c, d] = Mode::ALL;
    Ok([
        top(conn, a, ruleset, size)?,
        top(conn, b, ruleset, size)?,
        top(conn, c, ruleset, size)?,
        top(conn, d, ruleset, size)?,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "Acknowledged means kept" rests on these two settings of the connection that commits scores;
    /// a SIGKILL test cannot tell FULL from NORMAL (only power loss can), so they are checked here.
    #[test]
    fn the_writer_commits_in_wal_mode_with_synchronous_full() {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn = open_writer(&dir.path().join("s.db")).expect("open");
        let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).expect("journal_mode");
        let sync: i64 = conn.pragma_query_value(None, "synchronous", |r| r.get(0)).expect("synchronous");
        assert_eq!((mode.as_str(), sync), ("wal", 2), "2 is FULL");
    }

    /// A schema version 0 file (one best row per mode and name, rulesets mixed) is rebuilt into
    /// per-ruleset boards from its scores, and walkovers (0 points, 0 lines) are not ranked.
    #[test]
    fn a_version_0_database_is_migrated_into_per_ruleset_boards() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("old.db");
        let old = Connection::open(&path).expect("open");
        old.execute_batch(SCHEMA).expect("scores table");
        old.execute_batch(
            "CREATE TABLE best (mode TEXT NOT NULL, name TEXT NOT NULL, score INTEGER NOT NULL, lines INTEGER NOT NULL,
             level INTEGER NOT NULL, score_id INTEGER NOT NULL, PRIMARY KEY (mode, name)) WITHOUT ROWID;
             CREATE INDEX best_rank ON best (mode, score DESC, score_id);",
        )
        .expect("version 0 best table");
        let rows = [
            ("a", "solo", "ada", 9000, 30, "classic"),
            ("b", "solo", "ada", 500, 3, "modern"),
            ("c", "solo", "bob", 800, 5, "modern"),
            ("d", "duo", "cy", 0, 0, "modern"),
        ];
        for (game, mode, name, score, lines, ruleset) in rows {
            old.execute(
                "INSERT INTO scores (game, mode, name, score, lines, level, pieces, duration_ms, start_level, seed, ruleset, submitted_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0, 50, 60000, 0, 1, ?6, 0)",
                params![game, mode, name, score, lines, ruleset],
            )
            .expect("insert");
        }
        old.execute("INSERT INTO best VALUES ('solo', 'ada', 9000, 30, 0, 1)", []).expect("old best");
        drop(old);

        let conn = open_writer(&path).expect("migrates");
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).expect("version");
        assert_eq!(version, SCHEMA_VERSION);
        let names = |mode, ruleset| -> Vec<(String, u32)> {
            top(&conn, mode, ruleset, 10).expect("top").into_iter().map(|e| (e.name, e.score)).collect()
        };
        assert_eq!(names(Mode::Solo, Ruleset::Modern), vec![("bob".into(), 800), ("ada".into(), 500)]);
        assert_eq!(names(Mode::Solo, Ruleset::Classic), vec![("ada".into(), 9000)]);
        assert_eq!(names(Mode::Duo, Ruleset::Modern), vec![], "the walkover is not ranked");
        drop(conn);
        // Opening again changes nothing.
        let again = open_writer(&path).expect("reopen");
        assert_eq!(top(&again, Mode::Solo, Ruleset::Modern, 10).expect("top").len(), 2);
    }

    /// Regression: the writer dropped its receiver only after answering `Stop`, so a readiness check
    /// right after `stop()` could still find the channel open and report the database usable.
    #[tokio::test]
    async fn a_stopped_scoreboard_is_unusable_as_soon_as_stop_returns() {
        let dir = tempfile::tempdir().expect("temp dir");
        // The race needed the writer thread to be slower than this task; a few rounds make that likely.
        for round in 0..20 {
            let (board, _) = Scoreboard::open(&dir.path().join("s.db"), 10, Ruleset::Modern).expect("open");
            assert!(board.is_usable().await);
            board.stop().await;
            assert!(!board.is_usable().await, "usable after stop (round {round})");
        }
    }
}
