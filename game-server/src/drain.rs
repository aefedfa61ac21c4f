//! Graceful drain after SIGTERM (see `PROTOCOL.md`, "Drain").
//!
//! 1. Not ready at once (`/readyz` 503), every socket told `draining`, new rooms refused, rooms without
//!    a running match closed.
//! 2. Keep serving for at least the endpoint grace (load balancers need a few seconds to stop sending
//!    new players here), then until no match is running, but never past the drain limit.
//! 3. End what still runs (`match_end` `server_shutdown`), close every socket with 1001, wait briefly
//!    for the sockets to flush their close frames.

use crate::hub::Hub;
use std::time::Duration;
use tokio::time::{Instant, sleep_until, timeout_at};

/// The endpoint grace used by the binary: long enough for endpoint updates to reach proxies.
pub const ENDPOINT_GRACE: Duration = Duration::from_secs(5);
/// How long closed sockets get to say goodbye.
const CLOSE_WAIT: Duration = Duration::from_secs(3);

/// Runs the whole drain; returns when the server may stop accepting HTTP and exit.
pub async fn drain(hub: &Hub, endpoint_grace: Duration) {
    let started = Instant::now();
    let limit = hub.cfg.drain;
    tracing::info!(
        drain_seconds = limit.as_secs(),
        matches = hub.matches_playing(),
        connections = hub.connections(),
        "draining: not ready, refusing new rooms"
    );
    hub.start_drain();
    let deadline = started + limit;
    let min_serve = started + endpoint_grace.min(limit);
    let finished = timeout_at(deadline, async {
        sleep_until(min_serve).await;
        hub.no_matches().await;
    })
    .await
    .is_ok();
    if finished {
        tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "drain: no match left");
    } else {
        tracing::warn!(matches = hub.matches_playing(), "drain limit reached: ending running matches");
    }
    hub.end_drain();
    let close_deadline = Instant::now() + CLOSE_WAIT;
    while hub.connections() > 0 && Instant::now() < close_deadline {
        // Connections close within milliseconds of end_drain; this bounded wait only lets their send
        // tasks flush the close frames before the runtime stops.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
