//! Bounds on what one client can hold: plain-HTTP connections (header read timeout, connection cap)
//! and duo rooms nobody joins (waiting timeout). Timeouts are shortened through `RunOptions` and
//! `HubConfig`; every assertion is on an outcome, with [`WAIT`] as a generous upper bound.

use crate::support::{TestServer, WAIT, test_options};
use serde_json::json;
use std::time::Duration;
use tetris_game_server::RunOptions;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A header read timeout short enough that the tests which wait for it stay quick.
const SHORT: Duration = Duration::from_millis(300);
/// A header read timeout no test waits for, so connections held on purpose stay open.
const LONG: Duration = Duration::from_secs(600);

fn with_header_timeout(header_read_timeout: Duration) -> RunOptions {
    RunOptions { header_read_timeout, ..test_options() }
}

/// A kept-alive HTTP/1.1 connection spoken by hand, so a test controls every byte.
struct Raw {
    stream: BufReader<TcpStream>,
}

impl Raw {
    async fn connect(server: &TestServer) -> Raw {
        Raw { stream: BufReader::new(TcpStream::connect(server.addr).await.expect("connect")) }
    }

    /// `GET path`; the status, or `None` if the server closed the connection instead of answering.
    async fn get(&mut self, path: &str) -> Option<u16> {
        let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n");
        // A closed connection may refuse the write or only the read; either way there is no answer.
        self.stream.get_mut().write_all(request.as_bytes()).await.ok()?;
        tokio::time::timeout(WAIT, self.response()).await.expect("answer or close within WAIT")
    }

    async fn response(&mut self) -> Option<u16> {
        let mut line = String::new();
        self.stream.read_line(&mut line).await.ok().filter(|n| *n > 0)?;
        let status = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("a status line");
        let mut length = 0;
        loop {
            line.clear();
            self.stream.read_line(&mut line).await.ok().filter(|n| *n > 0)?;
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().expect("a numeric content-length");
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await.ok()?;
        Some(status)
    }

    /// Whether the server closes the connection within [`WAIT`] (anything it says first, such as a
    /// `408`, is skipped). While waiting, sends `drip` one byte every 50 ms, if given.
    async fn closed_by_server(self, drip: Option<&[u8]>) -> bool {
        let (mut read, mut write) = self.stream.into_inner().into_split();
        let eof = async {
            let mut buf = [0; 1024];
            while let Ok(n) = read.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        };
        let trickle = async {
            for byte in drip.unwrap_or_default().iter().cycle() {
                if write.write_all(&[*byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            std::future::pending::<()>().await;
        };
        let closed = async {
            tokio::select! {
                () = eof => {},
                () = trickle => {},
            }
        };
        tokio::time::timeout(WAIT, closed).await.is_ok()
    }
}

/// A connection that got `200` for `/healthz`, retrying while the server closes new connections (a
/// slot is given back only once the server has noticed that a connection ended or was upgraded).
async fn connect_when_a_slot_frees(server: &TestServer) -> Raw {
    let attempt = async {
        loop {
            let mut raw = Raw::connect(server).await;
            if let Some(status) = raw.get("/healthz").await {
                assert_eq!(status, 200);
                return raw;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(WAIT, attempt).await.expect("a connection is served within WAIT")
}

#[tokio::test]
async fn a_connection_that_stops_halfway_through_its_request_head_is_closed() {
    let server = TestServer::start_with(|_| {}, |_| {}, with_header_timeout(SHORT)).await;
    let mut raw = Raw::connect(&server).await;
    raw.stream.get_mut().write_all(b"GET /healthz HTTP/1.1\r\nHost: te").await.expect("write");
    assert!(raw.closed_by_server(None).await, "a stalled request head must not hold the connection");
}

#[tokio::test]
async fn a_request_head_sent_one_byte_at_a_time_is_closed() {
    let server = TestServer::start_with(|_| {}, |_| {}, with_header_timeout(SHORT)).await;
    let mut raw = Raw::connect(&server).await;
    raw.stream.get_mut().write_all(b"GET /healthz HTTP/1.1\r\nX-Slow: ").await.expect("write");
    // Each byte arrives well within the timeout; only the head as a whole is bounded (slowloris).
    assert!(raw.closed_by_server(Some(b"abc")).await, "a trickled request head must not hold the connection");
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed() {
    let server = TestServer::start_with(|_| {}, |_| {}, with_header_timeout(SHORT)).await;
    let raw = Raw::connect(&server).await;
    assert!(raw.closed_by_server(None).await, "a silent connection must not be kept");
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let server = TestServer::start_with(|_| {}, |_| {}, with_header_timeout(SHORT)).await;
    let mut raw = Raw::connect(&server).await;
    assert_eq!(raw.get("/healthz").await, Some(200));
    assert!(raw.closed_by_server(None).await, "an idle keep-alive connection must not be kept forever");
}

#[tokio::test]
async fn connections_beyond_the_cap_are_closed_and_a_slot_frees_when_one_closes() {
    // Cap: max_connections (1) + margin (1) = 2 plain-HTTP connections.
    let options = RunOptions { http_connection_margin: 1, ..with_header_timeout(LONG) };
    let server = TestServer::start_with(|c| c.max_connections = 1, |_| {}, options).await;
    let mut first = Raw::connect(&server).await;
    assert_eq!(first.get("/healthz").await, Some(200));
    let mut second = Raw::connect(&server).await;
    assert_eq!(second.get("/healthz").await, Some(200));

    let mut third = Raw::connect(&server).await;
    assert_eq!(third.get("/healthz").await, None, "a third connection is closed without an answer");
    assert!(third.closed_by_server(None).await);
    assert!(
        server.state.metrics.render().contains(r#"code="http_connection_limit""#),
        "refusals are counted"
    );

    assert_eq!(first.get("/healthz").await, Some(200), "the connections within the cap still work");
    assert_eq!(second.get("/version").await, Some(200));
    drop(second);
    let mut fourth = connect_when_a_slot_frees(&server).await;
    assert_eq!(first.get("/healthz").await, Some(200));
    assert_eq!(fourth.get("/healthz").await, Some(200));
}

#[tokio::test]
async fn an_upgraded_websocket_gives_its_http_slot_back() {
    // Cap: max_connections (2) + margin (0) = 2 plain-HTTP connections; two sockets fit under
    // TETRIS_MAX_CONNECTIONS and must not keep holding HTTP slots once upgraded.
    let options = RunOptions { http_connection_margin: 0, ..with_header_timeout(LONG) };
    let server = TestServer::start_with(|c| c.max_connections = 2, |_| {}, options).await;
    let mut a = server.client().await;
    let mut b = server.client().await;
    let mut first = connect_when_a_slot_frees(&server).await;
    let mut second = connect_when_a_slot_frees(&server).await;
    assert_eq!((first.get("/healthz").await, second.get("/healthz").await), (Some(200), Some(200)));
    // The sockets still work.
    a.send(json!({"type": "ping"})).await;
    a.expect("pong").await;
    b.send(json!({"type": "ping"})).await;
    b.expect("pong").await;
}

#[tokio::test]
async fn a_private_room_nobody_joins_times_out_and_frees_its_slot() {
    let server =
        TestServer::start_with(|c| c.max_rooms = 1, |h| h.waiting_timeout = SHORT, test_options()).await;
    let mut ada = server.client().await;
    ada.send(json!({"type": "create_room", "name": "ada", "startLevel": 0})).await;
    ada.expect("room_joined").await;
    assert_eq!(ada.expect("room_closed").await["reason"], "waiting_timeout");
    // With TETRIS_MAX_ROOMS=1 this is refused (`room_limit`) unless the slot was given back.
    let mut bob = server.client().await;
    bob.send(json!({"type": "create_room", "name": "bob", "startLevel": 0})).await;
    bob.expect("room_joined").await;
}

#[tokio::test]
async fn a_quick_match_wait_times_out_and_the_player_may_queue_again() {
    let server =
        TestServer::start_with(|c| c.max_rooms = 1, |h| h.waiting_timeout = SHORT, test_options()).await;
    let mut ada = server.client().await;
    ada.send(json!({"type": "quick_match", "name": "ada", "startLevel": 0})).await;
    ada.expect("queued").await;
    assert_eq!(ada.expect("room_closed").await["reason"], "waiting_timeout");
    // Refused (`already_in_room`, or `room_limit` with TETRIS_MAX_ROOMS=1) unless the wait ended
    // for good.
    ada.send(json!({"type": "quick_match", "name": "ada", "startLevel": 0})).await;
    ada.expect("queued").await;
}
