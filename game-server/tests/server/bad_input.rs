//! Thousands of malformed, oversized and out-of-order messages against the real binary: every one is
//! answered with an error (or the socket is closed for abuse), nothing panics, and a well-formed
//! pair still plays afterwards.

use crate::support::{Client, Spawned, state_msg};
use futures::StreamExt;
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

/// Messages that must each get exactly one `error` (when sent within the rate limit).
fn malformed(i: usize) -> Message {
    let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
    let texts = [
        "",
        "{",
        "null",
        "42",
        "\"hello\"",
        "[]",
        &deep,
        r#"{"type":null}"#,
        r#"{"type":"hello"}"#,
        r#"{"type":"hello","protocol":"1"}"#,
        r#"{"type":"hello","protocol":1,"resumeToken":7}"#,
        r#"{"type":"create_room","name":"x"}"#,
        r#"{"type":"create_room","name":"x","startLevel":99999999999}"#,
        r#"{"type":"join_room","name":"\u0000","code":"AAAAAA"}"#,
        r#"{"type":"state","board":"x"}"#,
        r#"{"type":"state","board":"","piece":null,"next":"","hold":null,"score":0,"level":0,"lines":0}"#,
        r#"{"type":"garbage","lines":-1}"#,
        r#"{"type":"game_over","score":1e99,"lines":0,"level":0}"#,
        r#"{"type":"ping","type":"ping"}"#,
        "\u{feff}{\"type\":\"ping\"}",
        "{\"type\":\"ping\"}\u{0}",
    ];
    match i % (texts.len() + 2) {
        n if n < texts.len() => Message::text(texts[n]),
        n if n == texts.len() => Message::binary(vec![0xff; 64]),
        _ => Message::text(format!(r#"{{"type":"\u{{{:04x}}}"}}"#, 0xd800 + i % 0x400)),
    }
}

/// Well-formed messages sent in the wrong state: each gets an error too.
fn out_of_order() -> Vec<serde_json::Value> {
    vec![
        state_msg(1),
        json!({"type": "garbage", "lines": 1}),
        json!({"type": "pause"}),
        json!({"type": "unpause"}),
        json!({"type": "game_over", "score": 1, "lines": 0, "level": 0}),
        json!({"type": "rematch"}),
        json!({"type": "leave_room"}),
        json!({"type": "join_room", "name": "x", "code": "AAAAAA"}),
        json!({"type": "hello", "protocol": 1}),
    ]
}

#[tokio::test]
async fn thousands_of_bad_messages_never_break_the_server() {
    let dir = tempfile::tempdir().expect("dir");
    let mut server = Spawned::start(&dir.path().join("s.db"), &[]).await;
    let url = server.ws_url();
    let mut answered = 0usize;

    // 30 sockets x 110 malformed messages (inside the burst, so each gets its own error).
    let mut tasks = Vec::new();
    for s in 0..30 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = Client::greeted(&url).await;
            for i in 0..110 {
                c.send_raw(malformed(s * 110 + i)).await;
            }
            for _ in 0..110 {
                let v = c.expect("error").await;
                assert!(v["code"].as_str().is_some_and(|c| !c.is_empty() && c != "rate_limited"), "{v}");
            }
            110
        }));
    }
    for t in tasks {
        answered += t.await.expect("malformed task");
    }

    // Out-of-order messages: before hello, then after hello without a room.
    let mut c = Client::connect(&url).await;
    for m in out_of_order() {
        if m["type"] != "hello" {
            c.send(m).await;
            c.expect_error("hello_required").await;
            answered += 1;
        }
    }
    c.hello().await;
    for m in out_of_order() {
        c.send(m).await;
        c.expect("error").await;
        answered += 1;
    }

    // Oversized frames: each closes its socket with 1009, after reading no more than the header.
    for size in [4097, 65_536] {
        let mut c = Client::greeted(&url).await;
        c.send_raw(Message::text("x".repeat(size))).await;
        assert_eq!(c.closed().await.map(|f| u16::from(f.code)), Some(1009), "{size} bytes");
    }
    // A frame larger than the socket buffers: the server closes while the client is still writing
    // it, and the bytes it never read turn its close into a TCP reset, which may reach the client
    // before the 1009 frame does. Either way the socket ends and the server carries on (below).
    let mut c = Client::greeted(&url).await;
    {
        use futures::SinkExt;
        if c.ws.send(Message::text("x".repeat(1_000_000))).await.is_ok() {
            let code = c.closed().await.map(|f| u16::from(f.code));
            assert!(matches!(code, Some(1009) | None), "1 MB frame: {code:?}");
        }
    }

    // A flood far past the rate limit: rate_limited notices, then a 1008 close for abuse. Every
    // message is refused (bad JSON or dropped), so the 1000th closes the socket; sending exactly that
    // many leaves no unread bytes on the server, whose close would otherwise turn into a TCP reset.
    let mut flood = Client::greeted(&url).await;
    let sender = async {
        for _ in 0..1000 {
            if flood.ws.send(Message::text("{")).await.is_err() {
                break;
            }
        }
    };
    use futures::SinkExt;
    sender.await;
    let mut rate_limited = 0;
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(10), flood.ws.next())
            .await
            .expect("answers within 10 s")
        {
            Some(Ok(Message::Text(t))) => rate_limited += usize::from(t.as_str().contains("rate_limited")),
            Some(Ok(Message::Close(f))) => break f.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            None | Some(Err(_)) => break None,
        }
    };
    assert!(rate_limited >= 1);
    assert_eq!(close, Some(1008));

    // Raw garbage after a valid upgrade handshake: the server drops that socket.
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.expect("tcp");
    let handshake = format!(
        "GET /ws HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        server.addr
    );
    tcp.write_all(handshake.as_bytes()).await.expect("write handshake");
    let mut buf = [0u8; 1024];
    let n = tcp.read(&mut buf).await.expect("read response");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 101"));
    tcp.write_all(&[0x81, 0x05, b'h', b'e', b'l', b'l', b'o']).await.expect("unmasked frame");
    let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf)).await.expect("server reacts");

    assert!(answered >= 3300);

    // A well-formed pair still plays a whole match.
    let (mut a, mut b, _, _) = Client::pair(&url).await;
    a.send(state_msg(10)).await;
    assert_eq!(b.expect("opponent_state").await["score"], 10);
    // Classic: a top-out with fewer points than the opponent's replayed game loses at once.
    b.send_synced(crate::support::soft_drop_inputs(60)).await;
    a.send(json!({"type": "game_over", "score": 10, "lines": 0, "level": 0})).await;
    assert_eq!(b.expect("match_end").await["you"], "won");

    let metrics =
        server.http.get(server.url("/metrics")).send().await.expect("GET").text().await.expect("text");
    assert!(metrics.contains(r#"tetris_errors_total{code="bad_message"}"#), "{metrics}");
    server.signal("TERM");
    let status = server.exit(Duration::from_secs(20)).await;
    assert!(status.success());
    assert!(!server.output().contains("panicked"), "{}", server.output());
}
