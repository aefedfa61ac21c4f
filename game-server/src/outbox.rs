//! A connection's outbox: how any part of the server sends to one WebSocket without awaiting.
//!
//! Rooms, the scoreboard push and the drain all hold an `Arc<Conn>` and call [`Conn::send`], which
//! never blocks: it appends the already-serialized text to a bounded queue that the connection's task
//! drains. A client that does not read fast enough fills its queue; relayed boards are then
//! dropped (the next one supersedes them), and any other message closes the connection, because a
//! client that missed a `match_end` would show a wrong game.
//!
//! Why a `Mutex<VecDeque>` and a `Notify` rather than a tokio `mpsc` and a `watch`: an idle
//! connection then owns no queue memory at all (an mpsc channel allocates a 32-slot block up front),
//! which is most of the difference between 4 KB and 2 KB per open socket at 10,000 sockets.

use axum::extract::ws::Utf8Bytes;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use tokio::sync::Notify;
use tokio::time::Instant;

/// Messages that may wait in one connection's queue.
pub const OUTBOX_CAPACITY: usize = 256;

/// How and why a connection is being closed: a WebSocket close code and reason.
pub type CloseReason = (u16, &'static str);

/// Close code: normal closure (also idle timeout).
pub const CLOSE_NORMAL: u16 = 1000;
/// Close code: the server is going away (shutdown).
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code: protocol error on the wire.
pub const CLOSE_PROTOCOL: u16 = 1002;
/// Close code: policy violation (abuse, or too slow to read).
pub const CLOSE_POLICY: u16 = 1008;
/// Close code: frame too big.
pub const CLOSE_TOO_BIG: u16 = 1009;
/// Close code: the seat was resumed on another connection.
pub const CLOSE_RESUMED_ELSEWHERE: u16 = 4001;

#[derive(Debug, Default)]
struct Outbox {
    queue: VecDeque<Utf8Bytes>,
    close: Option<CloseReason>,
}

/// One open WebSocket, as seen by the rest of the server.
#[derive(Debug)]
pub struct Conn {
    /// Unique per process.
    pub id: u64,
    /// A std Mutex, not a tokio one: held only to push or take, never across an await.
    outbox: Mutex<Outbox>,
    /// Wakes the connection's task (new message or close). `notify_one` keeps a permit, so no wake
    /// is lost.
    wake_sender: Notify,
    /// Milliseconds since [`epoch`] when the client last sent anything (idle detection).
    last_seen_ms: AtomicU64,
}

impl Conn {
    /// A connection with an empty outbox.
    pub fn new(id: u64) -> Self {
        Conn {
            id,
            outbox: Mutex::default(),
            wake_sender: Notify::new(),
            last_seen_ms: AtomicU64::new(now_ms()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Outbox> {
        // Every critical section is a single push or drain, so a poisoned outbox is still consistent.
        self.outbox.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `text`; a full queue closes the connection (see the module doc).
    pub fn send(&self, text: Utf8Bytes) {
        if !self.push(text) {
            self.close((CLOSE_POLICY, "too slow to read"));
        }
    }

    /// Queues `text` unless the queue is full (for messages a later one supersedes).
    pub fn send_lossy(&self, text: Utf8Bytes) {
        let _ = self.push(text);
    }

    /// Returns false when the queue is full.
    fn push(&self, text: Utf8Bytes) -> bool {
        let mut out = self.lock();
        if out.close.is_some() {
            return true; // closing: nothing more will be sent, and that is not the sender's fault
        }
        if out.queue.len() >= OUTBOX_CAPACITY {
            return false;
        }
        out.queue.push_back(text);
        drop(out);
        self.wake_sender.notify_one();
        true
    }

    /// Asks the connection's task to close it with `reason`; the first reason wins. Messages
    /// already queued are still sent before the close frame.
    pub fn close(&self, reason: CloseReason) {
        let mut out = self.lock();
        if out.close.is_none() {
            out.close = Some(reason);
        }
        drop(out);
        self.wake_sender.notify_one();
    }

    /// The close reason, once one was given.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.lock().close
    }

    /// Takes the oldest queued message; also says whether more are queued and gives the close
    /// reason if one was given.
    pub fn pop(&self) -> (Option<Utf8Bytes>, bool, Option<CloseReason>) {
        let mut out = self.lock();
        let next = out.queue.pop_front();
        let more = !out.queue.is_empty();
        if !more && out.queue.capacity() > 16 {
            // A burst grew the queue; give the memory back once it has drained. (Not at every drain:
            // an active player's queue empties after each relayed board, and freeing the few slots
            // it needs each time would cost an allocation per message for no measurable memory.)
            out.queue = VecDeque::new();
        }
        (next, more, out.close)
    }

    /// Resolves when there may be something to send (a message or a close).
    pub async fn sendable(&self) {
        self.wake_sender.notified().await;
    }

    /// Records that the client sent something now.
    pub fn touch(&self) {
        self.last_seen_ms.store(now_ms(), Ordering::Relaxed);
    }

    /// Milliseconds since the client last sent anything.
    pub fn idle_ms(&self) -> u64 {
        now_ms().saturating_sub(self.last_seen_ms.load(Ordering::Relaxed))
    }
}

/// The instant the server's millisecond clock counts from.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &'static str) -> Utf8Bytes {
        Utf8Bytes::from_static(s)
    }

    #[test]
    fn a_full_queue_drops_lossy_messages_and_closes_on_others() {
        let conn = Conn::new(1);
        for _ in 0..OUTBOX_CAPACITY {
            conn.send(text("x"));
        }
        conn.send_lossy(text("board"));
        assert_eq!(conn.close_reason(), None, "a dropped board does not close");
        conn.send(text("match_end"));
        assert_eq!(conn.close_reason(), Some((CLOSE_POLICY, "too slow to read")));
    }

    #[test]
    fn queued_messages_survive_a_close_and_the_first_reason_wins() {
        let conn = Conn::new(1);
        conn.send(text("a"));
        conn.close((CLOSE_GOING_AWAY, "bye"));
        conn.close((CLOSE_NORMAL, "later"));
        conn.send(text("after close"));
        assert_eq!(conn.pop(), (Some(text("a")), false, Some((CLOSE_GOING_AWAY, "bye"))));
        assert_eq!(conn.pop(), (None, false, Some((CLOSE_GOING_AWAY, "bye"))));
    }
}
