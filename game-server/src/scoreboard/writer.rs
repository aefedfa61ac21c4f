//! The writer thread: the only code that writes the scoreboard. Group commit and read-your-writes
//! are explained in the parent module's documentation.

use super::{Accepted, Boards, Command, MAX_BATCH, MAX_RANK, Submission, SubmitError, top};
use crate::games::{Mode, unix_now};
use rusqlite::{Connection, OptionalExtension, params};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::{mpsc, oneshot, watch};

/// Owns the write connection; runs on its own thread.
pub(crate) struct Writer {
    pub(crate) conn: Connection,
    pub(crate) size: usize,
    pub(crate) boards: watch::Sender<Arc<Boards>>,
    pub(crate) healthy: Arc<AtomicBool>,
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
        let mut changed = [false; 2];
        let outcome = (|| -> rusqlite::Result<Vec<Result<Accepted, SubmitError>>> {
            let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut results = Vec::with_capacity(batch.len());
            for (submission, _) in batch.iter() {
                let result = store(&tx, submission)?;
                if result.as_ref().is_ok_and(|a| a.personal_best) {
                    changed[usize::from(submission.ticket.mode == Mode::Duo)] = true;
                }
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
                if changed.iter().any(|c| *c) {
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

    /// Reloads the top-N tables and publishes them if they changed.
    fn refresh(&mut self) {
        let tables = top(&self.conn, Mode::Solo, self.size)
            .and_then(|solo| Ok((solo, top(&self.conn, Mode::Duo, self.size)?)));
        match tables {
            Ok((solo, duo)) => {
                let current = self.boards.borrow().clone();
                if current.solo != solo || current.duo != duo {
                    self.boards.send_replace(Arc::new(Boards::new(solo, duo)));
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
    let previous: Option<(u32, i64)> = tx
        .prepare_cached("SELECT score, score_id FROM best WHERE mode = ?1 AND name = ?2")?
        .query_row(params![mode, s.name], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let personal_best = previous.is_none_or(|(best, _)| r.score > best);
    let (best, best_id) = if personal_best {
        tx.prepare_cached(
            "INSERT INTO best (mode, name, score, lines, level, score_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (mode, name) DO UPDATE SET score = excluded.score, lines = excluded.lines,
             level = excluded.level, score_id = excluded.score_id",
        )?
        .execute(params![mode, s.name, r.score, r.lines, r.level, id])?;
        (r.score, id)
    } else {
        previous.unwrap_or((r.score, id))
    };
    let above: u32 = tx
        .prepare_cached(
            "SELECT count(*) FROM (SELECT 1 FROM best WHERE mode = ?1 AND (score > ?2 OR (score = ?2 AND score_id < ?3)) LIMIT ?4)",
        )?
        .query_row(params![mode, best, best_id, MAX_RANK], |row| row.get(0))?;
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
