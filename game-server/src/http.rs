//! The HTTP side of the server: an accept loop in place of `axum::serve`, with a cap on connections
//! that are not (yet) WebSockets and a header read timeout.

use crate::metrics::Metrics;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot, watch};
use tokio::task::JoinSet;

/// Longest wait for a request head, counted from when a connection starts waiting for one. A client
/// sends its whole head in one packet, so 10 s ends only stalled or hostile connections (slowloris,
/// or connect and say nothing) while allowing for a slow mobile link. hyper restarts this timer
/// whenever a kept-alive connection waits for its next request, so it is the idle keep-alive limit too.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Plain-HTTP connections (not upgraded to a WebSocket) allowed beyond `TETRIS_MAX_CONNECTIONS`.
/// Every allowed player may be in the middle of its upgrade request at once; the margin leaves room
/// for page loads (a browser opens up to six connections), score submissions, probes and scrapes.
/// An upgraded socket gives its slot back (it counts against `TETRIS_MAX_CONNECTIONS` instead).
pub const HTTP_CONNECTION_MARGIN: usize = 256;

/// The HTTP side of [`serve`]: an accept loop in place of `axum::serve`, which sets no hyper timer
/// (so no header read timeout, and idle keep-alive connections stay open for as long as the client
/// likes) and accepts without bound.
pub(crate) struct HttpServer {
    pub(crate) router: Router,
    /// Cap on connections not (yet) upgraded to a WebSocket.
    pub(crate) max_connections: usize,
    pub(crate) header_read_timeout: Duration,
    pub(crate) metrics: Arc<Metrics>,
}

impl HttpServer {
    /// Accepts until `stop`, then lets every connection finish its request in flight and waits for
    /// them (the caller bounds that wait; dropping this future aborts the rest).
    ///
    /// A connection beyond the cap is closed at once rather than left waiting: the client (or the load
    /// balancer, which can try another replica) learns at once instead of hanging in the listen
    /// backlog, and the accept loop keeps the backlog empty for connections that will be served.
    pub(crate) async fn run(self, listener: TcpListener, stop: oneshot::Receiver<()>) {
        // hyper's HTTP/1 directly, not hyper-util's auto (HTTP/1 or 2) builder: that one first reads
        // the opening bytes to look for the HTTP/2 preface, without any timeout, so a client that
        // connects and sends nothing would never meet the header read timeout. (axum is built
        // without HTTP/2 anyway.)
        let mut builder = http1::Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(self.header_read_timeout);
        let permits = Arc::new(Semaphore::new(self.max_connections));
        let (closing, closing_rx) = watch::channel(false);
        let mut conns = JoinSet::new();
        let mut listener = listener;
        let mut stop = std::pin::pin!(stop);
        let mut full = false;
        loop {
            let tcp = tokio::select! {
                biased;
                _ = &mut stop => break,
                // Reaps finished connections so the set holds only open ones.
                Some(joined) = conns.join_next(), if !conns.is_empty() => {
                    if let Err(e) = joined {
                        tracing::warn!(error = %e, "HTTP connection task failed");
                    }
                    continue;
                }
                // axum's `Listener::accept` retries on errors and sleeps a second when out of file
                // descriptors, instead of spinning.
                (tcp, peer) = axum::serve::Listener::accept(&mut listener) => (tcp, peer),
            };
            let (tcp, peer) = tcp;
            let Ok(permit) = permits.clone().try_acquire_owned() else {
                self.metrics.error("http_connection_limit");
                if !full {
                    tracing::warn!(
                        limit = self.max_connections,
                        "HTTP connection limit reached: closing new connections"
                    );
                    full = true;
                }
                drop(tcp);
                continue;
            };
            full = false;
            // Game messages are small and latency-bound; Nagle's algorithm would hold them back.
            let _ = tcp.set_nodelay(true);
            let service = TowerToHyperService::new(WithPeer { router: self.router.clone(), peer });
            let conn = builder.serve_connection(TokioIo::new(tcp), service).with_upgrades();
            conns.spawn(drive(conn, closing_rx.clone(), permit));
        }
        drop(listener);
        let _ = closing.send(true);
        while conns.join_next().await.is_some() {}
    }
}

/// One HTTP connection as hyper serves it.
type Connection = http1::UpgradeableConnection<TokioIo<TcpStream>, TowerToHyperService<WithPeer>>;

/// The router, with the connection's peer address put into every request's extensions as
/// axum's `ConnectInfo` (per-client limits need it; see `clients.rs`).
#[derive(Clone)]
pub(crate) struct WithPeer {
    router: Router,
    peer: SocketAddr,
}

impl tower::Service<axum::extract::Request<hyper::body::Incoming>> for WithPeer {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = <Router as tower::Service<axum::extract::Request<hyper::body::Incoming>>>::Future;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        tower::Service::<axum::extract::Request<hyper::body::Incoming>>::poll_ready(&mut self.router, cx)
    }

    fn call(&mut self, mut request: axum::extract::Request<hyper::body::Incoming>) -> Self::Future {
        request.extensions_mut().insert(axum::extract::ConnectInfo(self.peer));
        self.router.call(request)
    }
}

/// Runs one connection until it ends or is upgraded (the WebSocket then lives on in its own task and
/// `permit` is released); when `closing` turns true, finishes the request in flight and closes.
async fn drive(conn: Connection, mut closing: watch::Receiver<bool>, permit: OwnedSemaphorePermit) {
    let mut conn = std::pin::pin!(conn);
    let ended = tokio::select! {
        ended = conn.as_mut() => ended,
        // (An error means the accept loop is gone, which also means closing.)
        () = async { let _ = closing.wait_for(|c| *c).await; } => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = ended {
        // Routine: clients reset connections, and the header read timeout ends stalled ones.
        tracing::debug!(error = %e, "HTTP connection ended with an error");
    }
    drop(permit);
}
