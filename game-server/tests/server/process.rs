//! The real binary: configuration errors, --help, drain on SIGTERM, durability across SIGKILL.

use crate::player::played;
use crate::support::{Client, Spawned, WAIT, state_msg};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, watch};

fn run_binary(env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tetris-game-server"))
        .env("TETRIS_ADDRESS", "127.0.0.1")
        .env("TETRIS_PORT", "0")
        .envs(env.iter().copied())
        .args(args)
        .output()
        .expect("run the server binary")
}

#[test]
fn invalid_config_exits_non_zero_naming_the_variable() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("s.db");
    let db = db.to_str().expect("utf-8 path");
    for (var, value) in [
        ("TETRIS_PORT", "http"),
        ("TETRIS_RULESET", "tengen"),
        ("TETRIS_MAX_ROOMS", "0"),
        ("TETRIS_ALLOWED_ORIGINS", "evil"),
        ("TETRIS_START_LEVEL_MIN", "12"),
    ] {
        let out = run_binary(&[("TETRIS_DATABASE", db), (var, value)], &[]);
        assert!(!out.status.success(), "{var}={value} must fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(var), "{var}={value}: {stderr}");
    }
}

#[test]
fn an_unusable_database_exits_non_zero_naming_the_variable() {
    let out = run_binary(&[("TETRIS_DATABASE", "/nonexistent-dir/for/sure/scores.db")], &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("TETRIS_DATABASE"), "{stderr}");
}

#[test]
fn help_lists_the_environment() {
    let out = run_binary(&[], &["--help"]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("TETRIS_DATABASE") && stdout.contains("SIGTERM"), "{stdout}");
}

#[tokio::test]
async fn sigterm_drains_a_live_match_then_exits_zero() {
    let dir = tempfile::tempdir().expect("dir");
    let mut server = Spawned::start(&dir.path().join("s.db"), &[("TETRIS_DRAIN_SECONDS", "30")]).await;
    let (mut a, mut b, start, _) = Client::pair(&server.ws_url()).await;

    server.signal("TERM");
    // Not ready at once: the first poll that sees the signal's effect must say draining.
    let poll = async {
        loop {
            let readyz = server.http.get(server.url("/readyz")).send().await.expect("server still serves");
            if readyz.status() == 503 {
                return readyz.json::<Value>().await.expect("json");
            }
        }
    };
    assert_eq!(
        tokio::time::timeout(WAIT, poll).await.expect("503 within WAIT"),
        json!({"status": "draining"})
    );
    assert_eq!(server.http.get(server.url("/healthz")).send().await.expect("GET").status(), 200);
    assert_eq!(a.expect("draining").await["seconds"], 30);
    b.expect("draining").await;

    // New rooms are refused with a clear message.
    let mut late = Client::connect(&server.ws_url()).await;
    late.send(json!({"type": "hello", "protocol": 1})).await;
    assert_eq!(late.expect("welcome").await["draining"], true);
    late.send(json!({"type": "create_room", "name": "late", "startLevel": 0})).await;
    let refused = late.expect_error("draining").await;
    assert!(refused["message"].as_str().is_some_and(|m| m.contains("restarting")), "{refused}");

    // The match goes on to its end.
    a.send(state_msg(300)).await;
    assert_eq!(b.expect("opponent_state").await["score"], 300);
    a.send_synced(crate::support::soft_drop_inputs(120)).await;
    b.send(json!({"type": "game_over", "score": 0, "lines": 0, "level": 0})).await;
    assert_eq!(a.expect("match_end").await["you"], "won");
    assert_eq!(a.expect("room_closed").await["reason"], "server_shutdown");
    // The server still records the result during the drain: ada's replayed score is on the board.
    let _ = start;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let boards: Value =
            server.http.get(server.url("/api/scores")).send().await.expect("GET").json().await.expect("json");
        if boards["duo"][0]["name"] == "ada" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the duo result never reached the board: {boards}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Then the process closes the sockets with 1001 and exits 0, well before the 30 s limit.
    let status = server.exit(Duration::from_secs(25)).await;
    assert!(status.success(), "exit status {status:?}\n{}", server.output());
    assert_eq!(u16::from(a.closed().await.expect("close frame").code), 1001);
    assert!(!server.output().contains("panicked"), "{}", server.output());
}

async fn post_score(server: &Spawned, body: &Value) -> (u16, Value) {
    let res = server.http.post(server.url("/api/scores")).json(body).send().await.expect("POST");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn every_acknowledged_score_survives_sigkill() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("s.db");
    let mut server = Spawned::start(&db, &[]).await;
    let mut games = Vec::new();
    for _ in 0..600 {
        let res = server
            .http
            .post(server.url("/api/games"))
            .json(&json!({"mode": "solo", "startLevel": 0}))
            .send()
            .await
            .expect("POST /api/games");
        games.push(res.json::<Value>().await.expect("json")["gameId"].as_str().expect("id").to_owned());
    }
    let games = Arc::new(Mutex::new(games));
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let (count_tx, mut count_rx) = watch::channel(0usize);
    let count_tx = Arc::new(count_tx);
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..8 {
        let (games, acked, count_tx, stop) = (games.clone(), acked.clone(), count_tx.clone(), stop.clone());
        let (http, url) = (server.http.clone(), server.url("/api/scores"));
        writers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let Some(game) = games.lock().await.pop() else { return };
                let body = played(&game, &format!("p{w}-{}", &game[40..48]), w);
                match http.post(&url).json(&body).send().await {
                    Ok(res) if res.status() == 201 => {
                        let mut a = acked.lock().await;
                        a.push(game);
                        count_tx.send_replace(a.len());
                    }
                    Ok(res) => panic!("unexpected status {} before the kill", res.status()),
                    Err(_) => return, // the server died mid-request: not acknowledged
                }
            }
        }));
    }
    // Kill mid-stream: after 150 acknowledgements, while the writers keep submitting.
    tokio::time::timeout(WAIT * 3, count_rx.wait_for(|n| *n >= 150)).await.expect("150 acks").expect("watch");
    server.signal("KILL");
    let status = server.exit(WAIT).await;
    assert!(!status.success(), "SIGKILL, not a clean exit");
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.expect("writer task");
    }
    let acked = acked.lock().await.clone();
    assert!(acked.len() >= 150);

    let restarted = Spawned::start(&db, &[]).await;
    for game in &acked {
        let (status, body) = post_score(&restarted, &played(game, "again", 0)).await;
        assert_eq!(
            (status, body["error"]["code"].clone()),
            (409, json!("already_submitted")),
            "acknowledged game {game} was lost"
        );
    }
    let (status, boards) = {
        let res = restarted.http.get(restarted.url("/api/scores")).send().await.expect("GET");
        (res.status(), res.json::<Value>().await.expect("json"))
    };
    assert_eq!(status, 200);
    assert_eq!(boards["solo"].as_array().expect("array").len(), 10);
}
