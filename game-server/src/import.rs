//! `tetris-game-server import-sqlite`: copies an app's SQLite scoreboard into PostgreSQL, for the
//! move from the `sqlite` to the `postgres` backend (README, "Scoreboard backends").
//!
//! # Idempotent
//! Every score keeps its game id, which is `UNIQUE` in PostgreSQL: rows already there are skipped
//! (`ON CONFLICT (game) DO NOTHING`), so running the import again, or after an interrupted run,
//! copies only what is missing. `best` is then rebuilt from all of `scores`, in the same
//! transaction, so the boards are exactly what the scores say, whatever ran before.
//!
//! # The ticket key
//! The SQLite file's ticket key is copied when PostgreSQL has none yet: games handed out by the old
//! server before the switch can still be submitted to the new ones, and a game scored before the
//! import is still refused as already submitted. When PostgreSQL already has a key (servers ran on
//! it first), it is kept and the import says so; old unsubmitted games are then refused.
//!
//! # While servers run
//! The import holds the migration lock and locks `best` for the rebuild; submits on running
//! PostgreSQL servers wait for the commit (a few seconds at most for a large file), then go on.
//! It ends with a notification, so running servers reload their boards.

use crate::scoreboard::postgres::{self, CHANNEL, MIGRATION_LOCK, REBUILD_BEST};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::time::Duration;

/// Rows sent to PostgreSQL in one statement.
const CHUNK: usize = 1000;

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// Scores in the SQLite file.
    pub read: u64,
    /// Scores that were not in PostgreSQL yet and were copied.
    pub copied: u64,
    /// Whether the file's ticket key became PostgreSQL's.
    pub key_copied: bool,
}

impl std::fmt::Display for Imported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} scores read, {} copied, {} already present; ticket key {}",
            self.read,
            self.copied,
            self.read - self.copied,
            if self.key_copied { "copied" } else { "kept (PostgreSQL already had one)" }
        )
    }
}

/// One row of `scores`, as both databases store it.
struct Row {
    game: String,
    mode: String,
    name: String,
    score: i64,
    lines: i64,
    level: i64,
    pieces: i64,
    duration_ms: i64,
    start_level: i32,
    seed: i64,
    ruleset: String,
    input_log: Option<String>,
    submitted_at: i64,
}

/// Copies `from` (a SQLite scoreboard, opened read-only) into the PostgreSQL database at `url`.
pub async fn import_sqlite(from: &Path, url: &str) -> Result<Imported, String> {
    let (rows, key) = read_sqlite(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    let config = postgres::parse_url(url)?;
    let mut client = postgres::connect_patiently(&config, Duration::from_secs(10)).await?;
    let db = |e: tokio_postgres::Error| {
        format!("import into PostgreSQL failed, nothing was changed: {}", postgres::detail(&e))
    };
    postgres::migrate(&mut client).await.map_err(db)?;
    let tx = client.transaction().await.map_err(db)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(db)?;
    tx.batch_execute("LOCK TABLE best IN SHARE ROW EXCLUSIVE MODE").await.map_err(db)?;
    let insert = tx
        .prepare(
            "INSERT INTO scores (game, mode, name, score, lines, level, pieces, duration_ms, start_level, seed, ruleset, input_log, submitted_at)
             SELECT game, mode, name, score, lines, level, pieces, duration_ms, start_level, seed, ruleset, input_log, submitted_at
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::int8[], $7::int8[],
                $8::int8[], $9::int4[], $10::int8[], $11::text[], $12::text[], $13::int8[]) WITH ORDINALITY AS r
                (game, mode, name, score, lines, level, pieces, duration_ms, start_level, seed, ruleset, input_log, submitted_at, n)
             ORDER BY n
             ON CONFLICT (game) DO NOTHING",
        )
        .await
        .map_err(db)?;
    let mut copied = 0;
    for chunk in rows.chunks(CHUNK) {
        let col = |f: fn(&Row) -> String| chunk.iter().map(f).collect::<Vec<_>>();
        let int = |f: fn(&Row) -> i64| chunk.iter().map(f).collect::<Vec<_>>();
        copied += tx
            .execute(
                &insert,
                &[
                    &col(|r| r.game.clone()),
                    &col(|r| r.mode.clone()),
                    &col(|r| r.name.clone()),
                    &int(|r| r.score),
                    &int(|r| r.lines),
                    &int(|r| r.level),
                    &int(|r| r.pieces),
                    &int(|r| r.duration_ms),
                    &chunk.iter().map(|r| r.start_level).collect::<Vec<_>>(),
                    &int(|r| r.seed),
                    &col(|r| r.ruleset.clone()),
                    &chunk.iter().map(|r| r.input_log.clone()).collect::<Vec<_>>(),
                    &int(|r| r.submitted_at),
                ],
            )
            .await
            .map_err(db)?;
    }
    let key_copied = match key {
        Some(key) => {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('ticket_key', $1) ON CONFLICT (key) DO NOTHING",
                &[&key],
            )
            .await
            .map_err(db)?;
            let stored: Vec<u8> = tx
                .query_one("SELECT value FROM meta WHERE key = 'ticket_key'", &[])
                .await
                .map_err(db)?
                .get(0);
            stored == key
        }
        None => false,
    };
    tx.batch_execute(REBUILD_BEST).await.map_err(db)?;
    tx.execute("SELECT pg_notify($1, 'import')", &[&CHANNEL]).await.map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(Imported { read: rows.len() as u64, copied, key_copied })
}

/// Every score of the file in id order (so ties keep their order), and its ticket key.
fn read_sqlite(path: &Path) -> rusqlite::Result<(Vec<Row>, Option<Vec<u8>>)> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut stmt = conn.prepare(
        "SELECT game, mode, name, score, lines, level, pieces, duration_ms, start_level, seed, ruleset, input_log, submitted_at
         FROM scores ORDER BY id",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(Row {
                game: r.get(0)?,
                mode: r.get(1)?,
                name: r.get(2)?,
                score: r.get(3)?,
                lines: r.get(4)?,
                level: r.get(5)?,
                pieces: r.get(6)?,
                duration_ms: r.get(7)?,
                start_level: r.get(8)?,
                seed: r.get(9)?,
                ruleset: r.get(10)?,
                input_log: r.get(11)?,
                submitted_at: r.get(12)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let key = conn
        .query_row("SELECT value FROM meta WHERE key = 'ticket_key'", [], |r| r.get::<_, Vec<u8>>(0))
        .ok();
    Ok((rows, key))
}
