//! Per-client limits over real sockets: connections, rooms and submits counted per client address,
//! and `X-Forwarded-For` believed only from a trusted proxy.

use crate::support::{Client, TestServer};
use serde_json::json;
use tetris_game_server::settings::{Cidr, Settings};

fn limited(trust_loopback: bool) -> Settings {
    Settings {
        max_connections_per_client: 2,
        max_rooms_per_client: 1,
        submits_per_minute_per_client: 2,
        trusted_proxies: if trust_loopback {
            vec![Cidr::parse("127.0.0.0/8").expect("cidr")]
        } else {
            Vec::new()
        },
        ..Settings::default()
    }
}

#[tokio::test]
async fn connections_are_limited_per_client_and_forwarded_for_counts_only_behind_a_trusted_proxy() {
    // Not trusted: the header is the client's own writing, so all three come from 127.0.0.1.
    let direct = TestServer::start_with_settings(|_| {}, limited(false)).await;
    let url = direct.ws_url();
    let _a = Client::connect_with(&url, &[("x-forwarded-for", "203.0.113.1")]).await.expect("first");
    let _b = Client::connect_with(&url, &[("x-forwarded-for", "203.0.113.2")]).await.expect("second");
    assert_eq!(Client::connect_with(&url, &[("x-forwarded-for", "203.0.113.3")]).await.err(), Some(429));

    // Behind a trusted proxy (loopback here), each forwarded address has its own two.
    let proxied = TestServer::start_with_settings(|_| {}, limited(true)).await;
    let url = proxied.ws_url();
    let mut open = Vec::new();
    for _ in 0..2 {
        open.push(
            Client::connect_with(&url, &[("x-forwarded-for", "203.0.113.1")])
                .await
                .expect("within the limit"),
        );
    }
    assert_eq!(Client::connect_with(&url, &[("x-forwarded-for", "203.0.113.1")]).await.err(), Some(429));
    let other = Client::connect_with(&url, &[("x-forwarded-for", "203.0.113.2")]).await;
    assert!(other.is_ok(), "another client behind the same proxy");
    // A closed socket gives its slot back.
    drop(open.pop());
    let deadline = std::time::Instant::now() + crate::support::WAIT;
    while Client::connect_with(&url, &[("x-forwarded-for", "203.0.113.1")]).await.is_err() {
        assert!(std::time::Instant::now() < deadline, "the slot never came back");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let metrics =
        proxied.http.get(proxied.url("/metrics")).send().await.expect("GET").text().await.expect("text");
    assert!(metrics.contains(r#"tetris_errors_total{code="client_connection_limit"}"#));
}

#[tokio::test]
async fn rooms_are_limited_per_client_and_a_closed_room_gives_its_slot_back() {
    let server = TestServer::start_with_settings(|_| {}, limited(true)).await;
    let url = server.ws_url();
    let mut a = Client::connect_with(&url, &[("x-forwarded-for", "198.51.100.4")]).await.expect("a");
    a.hello().await;
    a.send(json!({"type": "create_room", "name": "ada", "startLevel": 0})).await;
    a.expect("room_joined").await;
    let mut a2 = Client::connect_with(&url, &[("x-forwarded-for", "198.51.100.4")]).await.expect("a2");
    a2.hello().await;
    a2.send(json!({"type": "quick_match", "name": "ada2", "startLevel": 0})).await;
    a2.expect_error("client_room_limit").await;
    a.send(json!({"type": "leave_room"})).await;
    a.expect("room_closed").await;
    a2.send(json!({"type": "create_room", "name": "ada2", "startLevel": 0})).await;
    a2.expect("room_joined").await;
}

#[tokio::test]
async fn submits_are_limited_per_client_per_minute() {
    let server = TestServer::start_with_settings(|_| {}, limited(true)).await;
    let post = |ip: &'static str| {
        let req = server.http.post(server.url("/api/scores")).header("x-forwarded-for", ip).json(&json!({}));
        async move { req.send().await.expect("POST").status().as_u16() }
    };
    // Malformed bodies: counted all the same (the limit comes before the body is looked at).
    assert_eq!((post("192.0.2.8").await, post("192.0.2.8").await), (400, 400));
    assert_eq!(post("192.0.2.8").await, 429);
    assert_eq!(post("192.0.2.9").await, 400, "another client has its own budget");
}
