//! The WebSocket connection rules: handshake, limits, origin, scoreboard pushes.

use crate::player::played;
use crate::support::{Client, TestServer};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn hello_comes_first_and_only_once() {
    let server = TestServer::start(|_| {}).await;
    let mut c = Client::connect(&server.ws_url()).await;
    c.send(json!({"type": "ping"})).await;
    c.expect_error("hello_required").await;
    c.send(json!({"type": "hello", "protocol": 2})).await;
    let err = c.expect_error("unsupported_protocol").await;
    assert_eq!(err["ref"], "hello");
    let welcome = c.hello().await;
    assert_eq!(
        welcome,
        json!({"type": "welcome", "protocol": 1, "ruleset": "classic", "draining": false, "resumed": false})
    );
    c.send(json!({"type": "hello", "protocol": 1})).await;
    c.expect_error("already_hello").await;
    c.send(json!({"type": "ping"})).await;
    assert_eq!(c.recv().await, json!({"type": "pong"}));
}

#[tokio::test]
async fn malformed_messages_get_errors_and_the_socket_stays_open() {
    let server = TestServer::start(|_| {}).await;
    let mut c = server.client().await;
    for bad in
        ["nope", "{}", r#"{"type":"ping","extra":1}"#, r#"{"type":"fly"}"#, r#"{"type":"garbage","lines":0}"#]
    {
        c.send_raw(Message::text(bad)).await;
        let err = c.expect_error("bad_message").await;
        assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()), "{err}");
    }
    c.send_raw(Message::binary(vec![1u8, 2, 3])).await;
    c.expect_error("binary_not_supported").await;
    c.send(json!({"type": "ping"})).await;
    c.expect("pong").await;
}

#[tokio::test]
async fn an_oversized_frame_closes_with_1009() {
    let server = TestServer::start(|_| {}).await;
    let mut c = server.client().await;
    c.send_raw(Message::text(format!(r#"{{"type":"ping","pad":"{}"}}"#, "x".repeat(5000)))).await;
    let frame = c.closed().await.expect("close frame");
    assert_eq!(u16::from(frame.code), 1009);
    // The server is fine.
    server.client().await;
}

#[tokio::test]
async fn flooding_is_rate_limited() {
    let server = TestServer::start(|_| {}).await;
    let mut c = server.client().await;
    for _ in 0..300 {
        c.send(json!({"type": "ping"})).await;
    }
    let mut pongs = 0;
    loop {
        let v = c.recv().await;
        if v["type"] == "error" {
            assert_eq!(v["code"], "rate_limited");
            break;
        }
        pongs += 1;
    }
    assert!(pongs >= 100, "the burst is allowed ({pongs} pongs before the limit)");
}

#[tokio::test]
async fn foreign_origins_are_refused_and_listed_ones_allowed() {
    let server = TestServer::start(|c| c.allowed_origins = vec!["https://tetris.example.com".into()]).await;
    let url = server.ws_url();
    assert_eq!(Client::connect_with(&url, &[("origin", "https://evil.example")]).await.err(), Some(403));
    assert!(Client::connect_with(&url, &[("origin", "https://tetris.example.com")]).await.is_ok());
    let own = format!("http://{}", server.addr);
    assert!(Client::connect_with(&url, &[("origin", &own)]).await.is_ok());
}

#[tokio::test]
async fn connections_beyond_the_limit_get_503() {
    let server = TestServer::start(|c| c.max_connections = 2).await;
    let _a = server.client().await;
    let b = server.client().await;
    assert_eq!(Client::connect_with(&server.ws_url(), &[]).await.err(), Some(503));
    // A slot frees when a socket closes.
    drop(b);
    // Polled until WAIT (not a fixed number of rounds): on a loaded machine the server may take
    // longer than a couple of seconds to notice the closed socket.
    let reconnect = async {
        loop {
            if let Ok(c) = Client::connect_with(&server.ws_url(), &[]).await {
                return c;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    };
    let reconnected = tokio::time::timeout(crate::support::WAIT, reconnect).await;
    assert!(reconnected.is_ok(), "the freed slot is reusable");
}

#[tokio::test]
async fn scoreboard_watchers_get_a_snapshot_then_live_updates() {
    let server = TestServer::start(|_| {}).await;
    let mut watcher = server.client().await;
    watcher.send(json!({"type": "watch_scores"})).await;
    assert_eq!(
        watcher.expect("scores").await,
        json!({"type": "scores", "ruleset": "classic", "solo": [], "duo": [], "sprint": [], "blitz": []})
    );
    let mut lobby = server.client().await;
    lobby.send(json!({"type": "watch_scores"})).await;
    lobby.expect("scores").await;
    let (game, _) = server.new_game(0).await;
    let body = played(&game, "ada", 0);
    assert_eq!(server.submit(&body).await.0, 201);
    for c in [&mut watcher, &mut lobby] {
        let push = c.expect("scores").await;
        assert_eq!(push["solo"][0]["name"], "ada");
        assert_eq!(push["solo"][0]["score"], body["score"]);
    }
    watcher.send(json!({"type": "unwatch_scores"})).await;
    let (game, _) = server.new_game(0).await;
    server.submit(&played(&game, "bob", 1)).await;
    lobby.expect("scores").await;
    watcher.send(json!({"type": "ping"})).await;
    watcher.expect("pong").await; // no push arrived before the pong
}

#[tokio::test]
async fn metrics_count_players_and_messages() {
    let server = TestServer::start(|_| {}).await;
    let _c = server.client().await;
    let text = server.http.get(server.url("/metrics")).send().await.expect("GET").text().await.expect("text");
    assert!(text.contains("tetris_players_online 1"), "{text}");
    assert!(text.contains(r#"tetris_ws_messages_total{direction="in"} 1"#), "{text}");
}

/// Regression: the loop wrote what was still queued after the client's Close frame, which fails once
/// tungstenite saw the Close, and dropped the socket without the answer the closing handshake needs
/// (a browser then reports 1006, not a clean close).
#[tokio::test]
async fn a_close_from_the_client_is_answered() {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    let server = TestServer::start(|_| {}).await;
    for ping_first in [false, true] {
        let mut c = server.client().await;
        if ping_first {
            // Its pong may still be queued when the Close arrives.
            c.send(json!({"type": "ping"})).await;
        }
        c.ws.close(Some(CloseFrame { code: CloseCode::Normal, reason: "bye".into() })).await.expect("close");
        let answer = loop {
            match tokio::time::timeout(crate::support::WAIT, c.ws.next()).await.expect("answer within WAIT") {
                Some(Ok(Message::Close(frame))) => break frame,
                Some(Ok(_)) => continue,
                other => panic!("expected the server's Close frame, got {other:?}"),
            }
        };
        assert_eq!(answer.map(|f| u16::from(f.code)), Some(1000), "ping_first={ping_first}");
    }
}
