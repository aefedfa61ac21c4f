//! The PostgreSQL backend with real PostgreSQL servers ([`crate::pg`]) and several real server
//! processes sharing one database: the promises of the SQLite scoreboard, across replicas.

use crate::pg::Postgres;
use crate::player::played;
use crate::support::{Client, Spawned, WAIT};
use futures::future::join_all;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, watch};

/// The environment of a server on the PostgreSQL database at `url` with a pool of `pool`.
fn pg_env(url: &str, pool: usize) -> Vec<(String, String)> {
    vec![
        ("TETRIS_SCOREBOARD_BACKEND".into(), "postgres".into()),
        ("TETRIS_DATABASE_URL".into(), url.into()),
        ("TETRIS_DATABASE_POOL_SIZE".into(), pool.to_string()),
    ]
}

async fn spawn(dir: &std::path::Path, env: &[(String, String)]) -> Spawned {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // The SQLite path must not be used: a directory that does not exist makes any use fail.
    Spawned::start(&dir.join("unused/never.db"), &env).await
}

async fn new_game(server: &Spawned) -> String {
    let res = server
        .http
        .post(server.url("/api/games"))
        .json(&json!({"mode": "solo", "startLevel": 0}))
        .send()
        .await
        .expect("POST /api/games");
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.expect("json")["gameId"].as_str().expect("gameId").to_owned()
}

async fn post(server: &Spawned, body: &Value) -> (u16, Value) {
    let res = server.http.post(server.url("/api/scores")).json(body).send().await.expect("POST /api/scores");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn ready_status(server: &Spawned) -> (u16, Value) {
    let res = server.http.get(server.url("/readyz")).send().await.expect("GET /readyz");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Polls `/readyz` until it answers `status`.
async fn wait_ready_status(server: &Spawned, status: u16) -> Value {
    tokio::time::timeout(WAIT * 2, async {
        loop {
            let (s, body) = ready_status(server).await;
            if s == status {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("/readyz never answered {status}\n{}", server.output()))
}

/// Three replicas started at the same moment on one fresh database (the migration race), then: a
/// game issued by one is scored on another, the same submit sent to all three at once is
/// accepted exactly once, a score accepted on one reaches a scoreboard page open on another, and
/// each replica holds at most its pool's connections (plus its LISTEN connection).
#[tokio::test]
async fn replicas_share_one_database_safely() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().expect("dir");
    let base = pg.database("game");
    let replicas = ["replica-a", "replica-b", "replica-c"];
    let envs: Vec<_> = replicas
        .iter()
        .map(|name| {
            pg_env(&base.replace("sslmode=disable", &format!("sslmode=disable&application_name={name}")), 2)
        })
        .collect();
    // All three create the schema at once: each must come up ready (none fails on the catalog).
    let servers = join_all(envs.iter().map(|env| spawn(dir.path(), env))).await;
    let db = pg.client("game").await;
    let version: Vec<u8> = db
        .query_one("SELECT value FROM meta WHERE key = 'schema_version'", &[])
        .await
        .expect("version")
        .get(0);
    assert_eq!(version, b"1");
    let keys: i64 =
        db.query_one("SELECT count(*) FROM meta WHERE key = 'ticket_key'", &[]).await.expect("keys").get(0);
    assert_eq!(keys, 1, "one ticket key for every replica");

    // A scoreboard page open on replica C.
    let mut watcher = Client::greeted(&servers[2].ws_url()).await;
    watcher.send(json!({"type": "watch_scores"})).await;
    watcher.expect("scores").await;

    // The same submit to every replica at the same moment: one 201, two 409. Games are issued by
    // replica A and replica B, so every replica verifies the others' tickets.
    for round in 0..8u32 {
        let game = new_game(&servers[(round % 2) as usize]).await;
        let body = played(&game, &format!("dup{round}"), round);
        let answers = join_all(servers.iter().map(|s| post(s, &body))).await;
        let mut statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409, 409], "round {round}: {answers:?}");
        for (status, body) in &answers {
            if *status == 409 {
                assert_eq!(body["error"]["code"], "already_submitted", "{body}");
            }
        }
    }
    let stored: i64 =
        db.query_one("SELECT count(*) FROM scores WHERE name LIKE 'dup%'", &[]).await.expect("count").get(0);
    assert_eq!(stored, 8);

    // A new best on replica A reaches the page on replica C.
    let game = new_game(&servers[0]).await;
    let (status, _) = post(&servers[0], &played(&game, "livecast", 3)).await;
    assert_eq!(status, 201);
    tokio::time::timeout(WAIT, async {
        loop {
            let msg = watcher.expect("scores").await;
            let solo = msg["solo"].as_array().expect("solo table");
            if solo.iter().any(|e| e["name"] == "livecast") {
                return;
            }
        }
    })
    .await
    .expect("replica C pushed the score accepted on replica A");
    // And replica B's API shows it too.
    let boards: Value = servers[1]
        .http
        .get(servers[1].url("/api/scores"))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    assert!(boards["solo"].as_array().expect("solo").iter().any(|e| e["name"] == "livecast"), "{boards}");

    // 24 submits at once to replica A, whose pool holds 2 connections: all are stored, and
    // replica A never held more than its pool plus its LISTEN connection.
    let mut bodies = Vec::new();
    for i in 0..24u32 {
        let game = new_game(&servers[0]).await;
        bodies.push(played(&game, &format!("burst{i}"), i));
    }
    let answers = join_all(bodies.iter().map(|b| post(&servers[0], b))).await;
    assert!(answers.iter().all(|(s, _)| *s == 201), "{answers:?}");
    for name in replicas {
        let held: i64 = db
            .query_one("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", &[&name])
            .await
            .expect("pg_stat_activity")
            .get(0);
        assert!((1..=3).contains(&held), "{name} holds {held} connections with a pool of 2");
    }
    // The processes are killed on drop.
    drop(servers);
}

/// PostgreSQL dies in the middle of a stream of submits from 8 writers and comes back: while it is
/// down the server is not ready and answers 503 `database_unavailable`; it becomes ready again
/// without a restart, keeps accepting scores, and every score it acknowledged is in the database.
#[tokio::test]
async fn a_postgres_restart_loses_no_acknowledged_score() {
    let mut pg = Postgres::start();
    let dir = tempfile::tempdir().expect("dir");
    let url = pg.database("game");
    let server = Arc::new(spawn(dir.path(), &pg_env(&url, 4)).await);
    let mut games = Vec::new();
    for _ in 0..400 {
        games.push(new_game(&server).await);
    }
    let games = Arc::new(Mutex::new(games));
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let (count_tx, mut count_rx) = watch::channel(0usize);
    let count_tx = Arc::new(count_tx);
    let stop = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut writers = Vec::new();
    for w in 0..8u32 {
        let (games, acked, count_tx, stop, server, refused) =
            (games.clone(), acked.clone(), count_tx.clone(), stop.clone(), server.clone(), refused.clone());
        writers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let Some(game) = games.lock().await.pop() else { return };
                let body = played(&game, &format!("p{w}-{}", &game[40..48]), w);
                let (status, answer) = post(&server, &body).await;
                match status {
                    201 => {
                        let mut a = acked.lock().await;
                        a.push(game);
                        count_tx.send_replace(a.len());
                    }
                    // Not acknowledged: PostgreSQL is down (or the commit's answer was lost, then
                    // it may be stored; it was never acknowledged, so either is right).
                    503 => {
                        assert_eq!(answer["error"]["code"], "database_unavailable", "{answer}");
                        refused.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    409 => {}
                    other => panic!("unexpected status {other}: {answer}"),
                }
            }
        }));
    }
    tokio::time::timeout(WAIT * 3, count_rx.wait_for(|n| *n >= 80)).await.expect("80 acks").expect("watch");
    pg.crash();
    let body = wait_ready_status(&server, 503).await;
    assert_eq!(body["status"], "database_unavailable");
    let probe = new_game(&server).await;
    let (status, answer) = post(&server, &played(&probe, "while-down", 1)).await;
    assert_eq!((status, answer["error"]["code"].clone()), (503, json!("database_unavailable")), "{answer}");
    let before_return = *count_rx.borrow();

    pg.start_again();
    wait_ready_status(&server, 200).await;
    tokio::time::timeout(WAIT * 3, count_rx.wait_for(|n| *n >= before_return + 80))
        .await
        .expect("80 more acks after PostgreSQL returned")
        .expect("watch");
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.expect("writer task");
    }
    assert!(refused.load(Ordering::Relaxed) > 0, "some submits met PostgreSQL down");
    let acked = acked.lock().await.clone();
    for game in &acked {
        let (status, body) = post(&server, &played(game, "again", 0)).await;
        assert_eq!(
            (status, body["error"]["code"].clone()),
            (409, json!("already_submitted")),
            "acknowledged game {game} was lost"
        );
    }
    let db = pg.client("game").await;
    let stored: i64 =
        db.query_one("SELECT count(*) FROM scores WHERE name LIKE 'p%'", &[]).await.expect("count").get(0);
    assert!(stored as usize >= acked.len(), "{stored} stored, {} acknowledged", acked.len());
}

/// Moving an app from SQLite to PostgreSQL: `import-sqlite` copies every score and the ticket key,
/// twice in a row changes nothing, and a PostgreSQL server then shows the same boards, refuses the
/// old games as already scored, and accepts a game the SQLite server issued but nobody scored.
#[tokio::test]
async fn import_sqlite_moves_the_scores_and_is_idempotent() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("old.db");
    let mut old = Spawned::start(&file, &[]).await;
    let mut scored = Vec::new();
    for i in 0..6u32 {
        let game = new_game(&old).await;
        let (status, _) = post(&old, &played(&game, &format!("old{}", i % 4), i)).await;
        assert_eq!(status, 201);
        scored.push(game);
    }
    let unscored = new_game(&old).await;
    let boards_before: Value =
        old.http.get(old.url("/api/scores")).send().await.expect("GET").json().await.expect("json");
    old.signal("TERM");
    assert!(old.exit(WAIT).await.success());

    let url = pg.database("game");
    let import = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tetris-game-server"))
            .args(["import-sqlite", "--from"])
            .arg(&file)
            .env("TETRIS_DATABASE_URL", &url)
            .output()
            .expect("run import-sqlite");
        assert!(out.status.success(), "import failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(import().contains("6 scores read, 6 copied, 0 already present; ticket key copied"));
    assert!(import().contains("6 scores read, 0 copied, 6 already present"), "the second run copies nothing");
    let db = pg.client("game").await;
    let count: i64 = db.query_one("SELECT count(*) FROM scores", &[]).await.expect("count").get(0);
    assert_eq!(count, 6);

    let new = spawn(dir.path(), &pg_env(&url, 2)).await;
    let boards_after: Value =
        new.http.get(new.url("/api/scores")).send().await.expect("GET").json().await.expect("json");
    assert_eq!(boards_after, boards_before);
    for game in &scored {
        let (status, body) = post(&new, &played(game, "again", 0)).await;
        assert_eq!((status, body["error"]["code"].clone()), (409, json!("already_submitted")), "{body}");
    }
    let (status, body) = post(&new, &played(&unscored, "late", 2)).await;
    assert_eq!(status, 201, "a game issued before the move is still accepted: {body}");
}

/// A URI whose TLS mode the server cannot honour stops it at start, naming the variable, without
/// printing the URI (it holds the password); so does `require` against a server without TLS.
#[tokio::test]
async fn unsupported_or_unavailable_tls_is_a_startup_error() {
    let pg = Postgres::start();
    let run = |url: String| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tetris-game-server"))
            .env("TETRIS_ADDRESS", "127.0.0.1")
            .env("TETRIS_PORT", "0")
            .env("TETRIS_SCOREBOARD_BACKEND", "postgres")
            .env("TETRIS_DATABASE_URL", url)
            .output()
            .expect("run the server")
    };
    let verify =
        run(format!("postgresql://tetris:s3cret@127.0.0.1:{}/postgres?sslmode=verify-full", pg.port));
    let err = String::from_utf8_lossy(&verify.stderr);
    assert_eq!(verify.status.code(), Some(2), "{err}");
    assert!(err.contains("TETRIS_DATABASE_URL") && err.contains("verify-full"), "{err}");
    assert!(!err.contains("s3cret"), "the password leaked: {err}");
    let require = run(pg.url("postgres").replace("sslmode=disable", "sslmode=require"));
    let err = String::from_utf8_lossy(&require.stderr);
    assert!(!require.status.success(), "sslmode=require against a plaintext server must not start: {err}");
    assert!(err.contains("TETRIS_DATABASE_URL"), "{err}");
}

/// Duo across replicas: players on two server processes play each other by room code and by quick
/// match, relayed to the room's home; a header claiming to be a relay without the shared key's
/// signature gets no relay's rights; a draining home keeps the relayed match running to its end.
#[tokio::test]
async fn players_on_different_replicas_play_each_other() {
    use crate::support::{soft_drop_inputs, state_msg};
    let pg = Postgres::start();
    let dir = tempfile::tempdir().expect("dir");
    let url = pg.database("game");
    let mut env = pg_env(&url, 3);
    env.push(("TETRIS_POD_IP".into(), "127.0.0.1".into()));
    env.push(("TETRIS_DRAIN_SECONDS".into(), "30".into()));
    let (mut home, other) = futures::join!(spawn(dir.path(), &env), spawn(dir.path(), &env));

    // By code: ada opens a room on `home`, bob joins it through `other`.
    let mut ada = Client::greeted(&home.ws_url()).await;
    let mut bob = Client::greeted(&other.ws_url()).await;
    ada.send(json!({"type": "create_room", "name": "ada", "startLevel": 0})).await;
    let code = ada.expect("room_joined").await["code"].as_str().expect("code").to_owned();
    let db = pg.client("game").await;
    // The registry row is written in the background right after the room opens.
    tokio::time::timeout(WAIT, async {
        while db.query_opt("SELECT 1 FROM rooms WHERE code = $1", &[&code]).await.expect("query").is_none() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the room is registered");
    bob.send(json!({"type": "join_room", "name": "bob", "code": code.to_lowercase()})).await;
    let joined = bob.expect("room_joined").await;
    assert_eq!((joined["code"].as_str(), joined["seat"].as_u64()), (Some(code.as_str()), Some(1)));
    let bob_token = joined["resumeToken"].as_str().expect("resume token").to_owned();
    assert_eq!(ada.expect("opponent_joined").await["name"], "bob");
    let (start_a, start_b) = (ada.expect("match_start").await, bob.expect("match_start").await);
    assert_eq!(start_a["seed"], start_b["seed"], "one match, on one server");
    ada.send(state_msg(120)).await;
    assert_eq!(bob.expect("opponent_state").await["score"], 120);
    bob.send(state_msg(340)).await;
    assert_eq!(ada.expect("opponent_state").await["score"], 340);

    // Bob's connection drops; he comes back through `other` again, which does not hold the room:
    // the token leads it to the home, and the seat is his again.
    drop(bob);
    ada.expect("opponent_disconnected").await;
    let mut bob = Client::connect(&other.ws_url()).await;
    bob.send(json!({"type": "hello", "protocol": 1, "resumeToken": bob_token})).await;
    assert_eq!(bob.expect("welcome").await["resumed"], true);
    assert_eq!(bob.expect("resumed").await["code"], code);
    ada.expect("opponent_reconnected").await;
    bob.send(state_msg(341)).await;
    assert_eq!(ada.expect("opponent_state").await["score"], 341);
    // A token nobody holds is refused as on one server.
    let mut stranger = Client::connect(&other.ws_url()).await;
    stranger
        .send(json!({"type": "hello", "protocol": 1, "resumeToken": format!("{code}{}", "0".repeat(32))}))
        .await;
    assert_eq!(stranger.expect("welcome").await["resumed"], false);
    stranger.expect_error("bad_resume_token").await;

    // Quick match: cy waits on `other`, dee arrives on `home`.
    let mut cy = Client::greeted(&other.ws_url()).await;
    cy.send(json!({"type": "quick_match", "name": "cy", "startLevel": 0})).await;
    cy.expect("queued").await;
    let waiting = tokio::time::timeout(WAIT, async {
        loop {
            if let Some(row) = db.query_opt("SELECT code FROM rooms WHERE waiting", &[]).await.expect("query")
            {
                return row.get::<_, String>(0);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the waiting room is registered");

    // Someone who sends the relay header without the key's signature is an ordinary client: it may
    // not join a quick-match room by its code.
    let forged = format!(
        "127.0.0.9 {} {}",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs(),
        "0".repeat(64)
    );
    let mut eve =
        Client::connect_with(&other.ws_url(), &[("x-tetris-forwarded", &forged)]).await.expect("connects");
    eve.hello().await;
    eve.send(json!({"type": "join_room", "name": "eve", "code": waiting})).await;
    eve.expect_error("room_not_found").await;

    let mut dee = Client::greeted(&home.ws_url()).await;
    dee.send(json!({"type": "quick_match", "name": "dee", "startLevel": 0})).await;
    assert_eq!(dee.expect("room_joined").await["seat"], 1);
    assert_eq!(cy.expect("room_joined").await["players"], json!(["cy", "dee"]));
    let (qa, qb) = (cy.expect("match_start").await, dee.expect("match_start").await);
    assert_eq!(qa["code"], qb["code"]);
    dee.send(state_msg(77)).await;
    assert_eq!(cy.expect("opponent_state").await["score"], 77);
    let left: i64 =
        db.query_one("SELECT count(*) FROM rooms WHERE waiting", &[]).await.expect("count").get(0);
    assert_eq!(left, 0, "a paired room no longer waits in the registry");

    // The home drains: the relayed match goes on to its end.
    home.signal("TERM");
    ada.expect("draining").await;
    bob.expect("draining").await;
    ada.send(state_msg(500)).await;
    assert_eq!(bob.expect("opponent_state").await["score"], 500);
    ada.send_synced(soft_drop_inputs(120)).await;
    bob.send(json!({"type": "game_over", "score": 0, "lines": 0, "level": 0})).await;
    assert_eq!(ada.expect("match_end").await["you"], "won");
    assert_eq!(bob.expect("match_end").await["you"], "lost");
    // And it keeps relaying dee to her room on `other` until that match ends too; then it closes
    // her socket with 1001, so her next one goes to a live replica.
    dee.expect("draining").await;
    cy.send_synced(soft_drop_inputs(120)).await;
    dee.send(json!({"type": "game_over", "score": 0, "lines": 0, "level": 0})).await;
    assert_eq!(cy.expect("match_end").await["you"], "won");
    assert_eq!(dee.expect("match_end").await["you"], "lost");
    assert_eq!(u16::from(dee.closed().await.expect("close frame").code), 1001);
    assert!(home.exit(Duration::from_secs(25)).await.success(), "{}", home.output());
    drop(other);
}

/// The same promise with SQLite, for replicas sharing one file on one node (several replicas of
/// a SQLite app, or the old and new versions of a blue/green upgrade): a score accepted by one
/// process reaches the pages and the API of the other, which follows the file's commits. Without
/// that, the other kept its in-memory tables until its own next best, and a real-node blue/green
/// test found an acknowledged score missing from the board the new pods served.
#[tokio::test]
async fn sqlite_replicas_sharing_a_file_show_each_others_scores() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("scores.db");
    let a = Spawned::start(&file, &[]).await;
    let b = Spawned::start(&file, &[]).await;
    let mut watcher = Client::greeted(&b.ws_url()).await;
    watcher.send(json!({"type": "watch_scores"})).await;
    watcher.expect("scores").await;

    let game = new_game(&a).await;
    let (status, _) = post(&a, &played(&game, "sharedfile", 3)).await;
    assert_eq!(status, 201);
    tokio::time::timeout(WAIT, async {
        loop {
            let msg = watcher.expect("scores").await;
            if msg["solo"].as_array().expect("solo table").iter().any(|e| e["name"] == "sharedfile") {
                return;
            }
        }
    })
    .await
    .expect("the page on B shows the score A accepted");
    let boards: Value =
        b.http.get(b.url("/api/scores")).send().await.expect("GET").json().await.expect("json");
    assert!(
        boards["solo"].as_array().expect("solo").iter().any(|e| e["name"] == "sharedfile"),
        "B's API shows it: {boards}"
    );
}
