//! The writer thread: the only code that writes the scoreboard. Group commit and read-your-writes
//! are explained in the parent module's documentation.

use super::{Accepted, Boards, Command, MAX_BATCH, MAX_RANK, Submission, SubmitError, all_tops};
use crate::games::unix_now;
use rusqlite::{Connection, OptionalExtension, params};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tetris_config::Ruleset;
use tokio::sync::{mpsc, oneshot, watch};

/// Owns the write connection; runs on its own thread.
pub(crate) struct Writer {
    pub(crate) conn: Connection,
    pub(crate) size: usize,
    /// The ruleset whose boards are published.
    pub(crate) ruleset: Ruleset,
    pub(crate) boards: watch::Sender<Arc<Boards>>,
    pub(crate) healthy: Arc<AtomicBool>,
    /// The file's `PRAGMA data_version` when last looked at: it changes when another process
    /// (another replica sharing the file on the same node) commits.
    pub(crate) data_version: Option<i64>,
}

impl Writer {
    /// Serves commands until every sender is gone or `Stop` arrives.
    pub(crate) fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let mut batch: Vec<(Box<Submission>, Reply)> = Vec::with_capacity(MAX_BATCH);
        while let Some(first) = rx.blocking_recv() {
            let mut stop = None;
            let mut next = Some(first);
            while let Some(command) = next.take() {
                match command {
                    Command::Submit(s, r) => batch.push((s, r)),
                    Command::Probe(reply) => {
                        let _ = reply.send(self.probe());
                    }
                    Command::FollowOthers => self.follow_others(),
                    Command::Stop(done) => stop = Some(done),
                }
                if stop.is_none() && batch.len() < MAX_BATCH {
                    next = rx.try_recv().ok();
                }
            }
            if !batch.is_empty() {
                self.write(&mut batch);
            }
            if let Some(done) = stop {
                // Closed before answering: once `stop` returns, `is_usable` must already see the
                // writer as gone (a receiver dropped only when this function returns would race it).
                // Anything still queued is dropped unanswered, which its sender reports as unavailable.
                rx.close();
                if let Err(e) = self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)") {
                    tracing::warn!(error = %e, "WAL checkpoint at shutdown failed");
                }
                let _ = done.send(());
                return;
            }
        }
    }

    /// Writes `batch` in one transaction; answers every sender after the commit (or the failure).
    fn write(&mut self, batch: &mut Vec<(Box<Submission>, Reply)>) {
        let mut changed = false;
        let outcome = (|| -> rusqlite::Result<Vec<Result<Accepted, SubmitError>>> {
            let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut results = Vec::with_capacity(batch.len());
            for (submission, _) in batch.iter() {
                let result = store(&tx, submission)?;
                changed |= result.as_ref().is_ok_and(|a| a.personal_best);
                results.push(result);
            }
            tx.commit()?;
            Ok(results)
        })();
        match outcome {
            Ok(results) => {
                self.healthy.store(true, Ordering::Relaxed);
                // Tables first, answers second: a player who got 201 and then reads the board sees
                // their score.
                if changed {
                    self.refresh();
                }
                for ((_, reply), result) in batch.drain(..).zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(e) => {
                self.healthy.store(false, Ordering::Relaxed);
                tracing::error!(error = %e, batch = batch.len(), "scoreboard write failed; nothing in the batch was stored");
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(SubmitError::Unavailable));
                }
            }
        }
    }

    /// A one-row write transaction; records and returns whether it committed.
    fn probe(&mut self) -> bool {
        let ok = self
            .conn
            .execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('probe', ?1)",
                params![unix_now() as i64],
            )
            .is_ok();
        self.healthy.store(ok, Ordering::Relaxed);
        ok
    }

    /// Reloads the tables if another process committed since the last look, so a score accepted by
    /// another replica sharing the file reaches this one's boards (and its live pages) within one
    /// [`super::FOLLOW_INTERVAL`]. The server's own commits refresh the tables at once (`write`).
    fn follow_others(&mut self) {
        let Ok(version) = self.conn.query_row("PRAGMA data_version", [], |r| r.get::<_, i64>(0)) else {
            return;
        };
        if self.data_version.replace(version).is_some_and(|seen| seen != version) {
            self.refresh();
        }
    }

    /// Reloads the top-N tables and publishes them if they changed.
    fn refresh(&mut self) {
        match all_tops(&self.conn, self.ruleset, self.size) {
            Ok(tables) => {
                let current = self.boards.borrow().clone();
                if current.tables != tables {
                    self.boards.send_replace(Arc::new(Boards::new(self.ruleset, tables)));
                }
            }
            Err(e) => tracing::error!(error = %e, "reading the scoreboard tables failed"),
        }
    }
}

type Reply = oneshot::Sender<Result<Accepted, SubmitError>>;

/// Inserts one score and updates the player's best; `Err` only for database failures.
fn store(tx: &rusqlite::Transaction<'_>, s: &Submission) -> rusqlite::Result<Result<Accepted, SubmitError>> {
    let t = &s.ticket;
    let r = &s.report;
    let mode = t.mode.as_str();
    let inserted = tx
        .prepare_cached(
            "INSERT INTO scores (game, mode, name, score, lines, level, pieces, duration_ms, start_level, seed, ruleset, input_log, submitted_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) ON CONFLICT (game) DO NOTHING",
        )?
        .execute(params![
            t.key,
            mode,
            s.name,
            r.score,
            r.lines,
            r.level,
            r.pieces,
            r.duration_ms as i64,
            t.start_level,
            t.seed,
            t.ruleset.as_str(),
            s.input_log,
            unix_now() as i64,
        ])?;
    if inserted == 0 {
        return Ok(Err(SubmitError::AlreadySubmitted));
    }
    let id = tx.last_insert_rowid();
    let ruleset = t.ruleset.as_str();
    let rank_key = if t.mode.ranks_by_time() { -(r.duration_ms as i64) } else { i64::from(r.score) };
    let previous: Option<(i64, i64, u32)> = tx
        .prepare_cached(
            "SELECT rank_key, score_id, score FROM best WHERE mode = ?1 AND ruleset = ?2 AND name = ?3",
        )?
        .query_row(params![mode, ruleset, s.name], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()?;
    // A game where nothing happened (a walkover) is kept but never ranked.
    if r.score == 0 && r.lines == 0 {
        return Ok(Ok(Accepted {
            accepted: true,
            mode,
            name: s.name.clone(),
            score: 0,
            best: previous.map_or(0, |p| p.2),
            personal_best: false,
            rank: None,
        }));
    }
    let personal_best = previous.is_none_or(|(best, _, _)| rank_key > best);
    let (best_key, best_id, best) = if personal_best {
        tx.prepare_cached(
            "INSERT INTO best (mode, ruleset, name, score, lines, level, duration_ms, rank_key, score_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (mode, ruleset, name) DO UPDATE SET score = excluded.score, lines = excluded.lines,
             level = excluded.level, duration_ms = excluded.duration_ms, rank_key = excluded.rank_key,
             score_id = excluded.score_id",
        )?
        .execute(params![
            mode,
            ruleset,
            s.name,
            r.score,
            r.lines,
            r.level,
            r.duration_ms as i64,
            rank_key,
            id
        ])?;
        (rank_key, id, r.score)
    } else {
        previous.unwrap_or((rank_key, id, r.score))
    };
    let above: u32 = tx
        .prepare_cached(
            "SELECT count(*) FROM (SELECT 1 FROM best WHERE mode = ?1 AND ruleset = ?2
             AND (rank_key > ?3 OR (rank_key = ?3 AND score_id < ?4)) LIMIT ?5)",
        )?
        .query_row(params![mode, ruleset, best_key, best_id, MAX_RANK], |row| row.get(0))?;
    Ok(Ok(Accepted {
        accepted: true,
        mode,
        name: s.name.clone(),
        score: r.score,
        best,
        personal_best,
        rank: (above < MAX_RANK).then_some(above + 1),
    }))
}
