//! The replay pool: a few OS threads that replay submitted games, fed by a bounded queue.
//!
//! Why not the async workers or `spawn_blocking`: a replay is pure CPU (up to a few milliseconds
//! for the longest game), so on the async workers a flood of submits would delay relayed duo
//! messages; `spawn_blocking` would grow to hundreds of threads under the same flood. A fixed pool
//! with a bounded queue keeps replays to their cores, and a submit that finds the queue full is
//! refused at once with `busy` (the client retries) instead of waiting without bound.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

/// Why a job did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The queue is full.
    #[error("every replay worker is busy")]
    Busy,
    /// The job panicked (a bug; the worker survives).
    #[error("the replay failed")]
    Failed,
}

/// A fixed set of replay threads.
pub struct ReplayPool {
    queue: SyncSender<Job>,
}

impl std::fmt::Debug for ReplayPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReplayPool")
    }
}

impl ReplayPool {
    /// Starts `threads` workers sharing a queue of `queue` waiting jobs. The workers end when the
    /// pool is dropped.
    pub fn new(threads: usize, queue: usize) -> Self {
        let (tx, rx) = sync_channel::<Job>(queue);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new().name(format!("replay-{i}")).spawn(move || work(&rx));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a replay thread");
            }
        }
        ReplayPool { queue: tx }
    }

    /// The default number of workers: half the cores (at least one), so replays never take every
    /// core from the async workers that relay duo messages.
    pub fn default_threads() -> usize {
        std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
    }

    /// Runs `job` on a worker and returns its result, or refuses at once when the queue is full.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        let (tx, rx) = oneshot::channel();
        let boxed: Job = Box::new(move || {
            let _ = tx.send(catch_unwind(AssertUnwindSafe(job)));
        });
        match self.queue.try_send(boxed) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => return Err(PoolError::Busy),
        }
        match rx.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) | Err(_) => Err(PoolError::Failed),
        }
    }
}

fn work(rx: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for the next job, never while running one.
        let job = match rx.lock() {
            Ok(guard) => guard.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_and_a_full_queue_refuses_at_once() {
        let pool = Arc::new(ReplayPool::new(1, 1));
        assert_eq!(pool.run(|| 2 + 2).await, Ok(4));
        // Block the only worker, fill the one queue slot, and the next job is refused.
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let p = pool.clone();
        let blocked = tokio::spawn(async move { p.run(move || wait.recv().is_ok()).await });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let p = pool.clone();
        let queued = tokio::spawn(async move { p.run(|| 1).await });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(pool.run(|| 0).await, Err(PoolError::Busy));
        release.send(()).expect("worker waits");
        assert_eq!(blocked.await.expect("joins"), Ok(true));
        assert_eq!(queued.await.expect("joins"), Ok(1));
    }

    #[tokio::test]
    async fn a_panicking_job_fails_alone_and_the_worker_survives() {
        let pool = ReplayPool::new(1, 4);
        let panicked = pool.run(|| -> u8 { panic!("a bug") }).await;
        assert_eq!(panicked, Err(PoolError::Failed));
        assert_eq!(pool.run(|| 7).await, Ok(7));
    }
}
