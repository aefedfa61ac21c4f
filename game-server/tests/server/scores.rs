//! Score submission: issued games, ordering, limits, and every way a score is refused.

use crate::player::{play, played, submission};
use crate::support::{TestServer, plausible};
use serde_json::{Value, json};

#[tokio::test]
async fn issued_game_round_trips_to_the_board() {
    let server = TestServer::start(|_| {}).await;
    let (game, seed) = server.new_game(0).await;
    assert!(seed <= u64::from(u32::MAX));
    let (log, real) = play(&game, 0);
    let (status, body) = server.submit(&submission(&game, "  ada  ", &log, &real)).await;
    assert_eq!(status, 201, "{body}");
    let score = real.score;
    assert_eq!(
        body,
        json!({"accepted": true, "mode": "solo", "name": "ada", "score": score, "best": score, "personalBest": true, "rank": 1})
    );
    let (_, boards) = server.get_json("/api/scores").await;
    let row = json!([{"rank": 1, "name": "ada", "score": score, "lines": real.lines, "level": real.level}]);
    assert_eq!(boards["solo"], row);
    assert_eq!(boards["duo"], json!([]));
}

#[tokio::test]
async fn board_keeps_best_per_name_orders_by_score_and_is_capped() {
    let server = TestServer::start(|c| c.scoreboard_size = 3).await;
    let names = ["ada", "bob", "ada", "cy", "dee", "ada", "eve"];
    // What the board must show: each name's best (the earlier of equal scores), highest first.
    let mut best: Vec<(String, u64, usize)> = Vec::new();
    for (i, name) in names.into_iter().enumerate() {
        let (game, _) = server.new_game(0).await;
        let body = played(&game, name, i as u32);
        let (status, answer) = server.submit(&body).await;
        assert_eq!(status, 201, "{answer}");
        let score = body["score"].as_u64().expect("score");
        match best.iter_mut().find(|(n, _, _)| n == name) {
            Some(b) if score > b.1 => (b.1, b.2) = (score, i),
            Some(_) => {}
            None => best.push((name.to_owned(), score, i)),
        }
    }
    best.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
    let expected: Vec<(String, u64)> = best.into_iter().take(3).map(|(n, s, _)| (n, s)).collect();
    let (_, boards) = server.get_json("/api/scores").await;
    let rows: Vec<(String, u64)> = boards["solo"]
        .as_array()
        .expect("array")
        .iter()
        .map(|r| (r["name"].as_str().expect("name").to_owned(), r["score"].as_u64().expect("score")))
        .collect();
    // Best per name, ties to the earlier score, capped at 3.
    assert_eq!(rows, expected);
    let (_, one) = server.get_json("/api/scores?limit=1").await;
    assert_eq!(one["solo"].as_array().expect("array").len(), 1);
    let (_, capped) = server.get_json("/api/scores?limit=1000").await;
    assert_eq!(capped["solo"].as_array().expect("array").len(), 3, "limit is capped at scoreboardSize");
    let (status, _) = server.get_json("/api/scores?limit=0").await;
    assert_eq!(status, 400);
    let (status, _) = server.get_json("/api/scores?all=1").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_lower_score_reports_the_kept_best_and_rank() {
    let server = TestServer::start(|_| {}).await;
    // Three real games with different scores: bob gets the best, ada the middle, then the lowest.
    let mut games = Vec::new();
    for variant in 0..8 {
        let (game, _) = server.new_game(0).await;
        let (log, real) = play(&game, variant);
        if games
            .iter()
            .all(|(_, _, r): &(String, Value, tetris_game_server::rules::Game)| r.score != real.score)
        {
            games.push((game, log, real));
        }
    }
    assert!(games.len() >= 3, "the test player's games differ in score");
    games.sort_by_key(|(_, _, r)| std::cmp::Reverse(r.score));
    let [(g1, l1, r1), (g2, l2, r2), (g3, l3, r3)] =
        [games[0].clone(), games[1].clone(), games[games.len() - 1].clone()];
    assert_eq!(server.submit(&submission(&g1, "bob", &l1, &r1)).await.0, 201);
    assert_eq!(server.submit(&submission(&g2, "ada", &l2, &r2)).await.0, 201);
    let (status, body) = server.submit(&submission(&g3, "ada", &l3, &r3)).await;
    assert_eq!(status, 201);
    assert_eq!(body["best"], r2.score);
    assert_eq!(body["personalBest"], false);
    assert_eq!(body["rank"], 2);
}

#[tokio::test]
async fn forged_game_ids_are_refused() {
    let server = TestServer::start(|_| {}).await;
    let (game, _) = server.new_game(0).await;
    // Same payload, MAC flipped in its last digit; a made-up id; an id from "another server".
    let mut flipped = game.clone();
    let last = flipped.pop().expect("non-empty");
    flipped.push(if last == '0' { '1' } else { '0' });
    let made_up = format!("{}.{}", "01".repeat(24), "ab".repeat(16));
    for forged in [flipped, made_up, "solo-1".into(), "x".repeat(5000)] {
        let (status, body) = server.submit(&plausible(&forged, "mallory", 100)).await;
        assert_eq!((status, body["error"]["code"].clone()), (403, json!("unknown_game")), "{forged}");
    }
    let (_, boards) = server.get_json("/api/scores").await;
    assert_eq!(boards["solo"], json!([]));
}

#[tokio::test]
async fn a_game_counts_only_once_even_when_submitted_concurrently() {
    let server = TestServer::start(|_| {}).await;
    let (game, _) = server.new_game(0).await;
    let body = played(&game, "ada", 0);
    let attempts = futures::future::join_all((0..8).map(|_| server.submit(&body))).await;
    let accepted = attempts.iter().filter(|(s, _)| *s == 201).count();
    let replayed =
        attempts.iter().filter(|(s, b)| *s == 409 && b["error"]["code"] == "already_submitted").count();
    assert_eq!((accepted, replayed), (1, 7), "{attempts:?}");
    let (status, _) = server.submit(&played(&game, "someone-else", 0)).await;
    assert_eq!(status, 409, "a replay under another name is refused too");
}

/// The plausibility rules still apply to what the replay yields: a real game longer than the time
/// since its ticket was issued (played offline ahead of time, or faster than real time) is refused.
#[tokio::test]
async fn a_real_game_longer_than_its_ticket_is_old_is_implausible() {
    let server = TestServer::start(|_| {}).await;
    let (game, _) = server.new_game(0).await;
    // No input at all: classic level 0 takes minutes to top out.
    let (mut log, _) = play(&game, 0);
    let mut idle = tetris_game_server::rules::Game::new(
        tetris_game_server::rules::Rules::new(tetris_game_server::rules::RulesetName::Classic, 2, None),
        &tetris_game_server::rules::pieces::Seed::Number(crate::player::ticket_info(&game).seed),
        0,
        None,
    );
    while !idle.over {
        idle.step(0);
    }
    assert!(idle.frame > 60 * 60, "a long game: {} frames", idle.frame);
    log["inputs"] = json!([]);
    log["frames"] = json!(idle.frame);
    let (status, body) = server.submit(&submission(&game, "mallory", &log, &idle)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("implausible_score")), "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("longer than the time")), "{body}");
}

#[tokio::test]
async fn malformed_submissions_get_json_errors() {
    let server = TestServer::start(|_| {}).await;
    let (game, _) = server.new_game(0).await;
    let post = |body: String, ctype: &'static str| {
        let req = server.http.post(server.url("/api/scores")).header("content-type", ctype).body(body);
        async move {
            let res = req.send().await.expect("POST");
            let status = res.status().as_u16();
            let json: Value = res.json().await.expect("every error is JSON");
            (status, json["error"]["code"].as_str().unwrap_or_default().to_owned())
        }
    };
    let mut extra = plausible(&game, "ada", 1);
    extra["admin"] = json!(true);
    let mut negative = plausible(&game, "ada", 1);
    negative["score"] = json!(-5);
    let mut huge_log = plausible(&game, "ada", 1);
    huge_log["inputLog"] = json!("x".repeat(300_000));
    let cases = [
        (post("{".into(), "application/json").await, (400, "bad_request")),
        (post("[]".into(), "application/json").await, (400, "bad_request")),
        (post(extra.to_string(), "application/json").await, (400, "bad_request")),
        (post(negative.to_string(), "application/json").await, (400, "bad_request")),
        (post(plausible(&game, "ada", 1).to_string(), "text/plain").await, (415, "unsupported_media_type")),
        (post(huge_log.to_string(), "application/json").await, (413, "payload_too_large")),
    ];
    for (got, (status, code)) in cases {
        assert_eq!(got, (status, code.to_owned()));
    }
}

#[tokio::test]
async fn bad_names_are_refused() {
    let server = TestServer::start(|_| {}).await;
    for name in ["", "   ", "seventeen-chars-x", "tab\there", "rtl\u{202e}x"] {
        let (game, _) = server.new_game(0).await;
        let (status, body) = server.submit(&plausible(&game, name, 10)).await;
        assert_eq!((status, body["error"]["code"].clone()), (400, json!("invalid_name")), "{name:?}");
    }
}

#[tokio::test]
async fn input_log_is_accepted_within_its_bound() {
    let server = TestServer::start(|_| {}).await;
    let (game, _) = server.new_game(0).await;
    let body = played(&game, "ada", 0);
    let log = body["inputLog"].as_str().expect("log");
    assert!(log.len() <= tetris_game_server::api::MAX_INPUT_LOG_CHARS);
    assert_eq!(server.submit(&body).await.0, 201);
}

#[tokio::test]
async fn game_issue_validates_mode_and_start_level() {
    let server = TestServer::start(|c| c.start_level_max = 5).await;
    for body in [
        json!({"mode": "duo", "startLevel": 0}),
        json!({"mode": "solo", "startLevel": 6}),
        json!({"mode": "solo"}),
    ] {
        let res = server.http.post(server.url("/api/games")).json(&body).send().await.expect("POST");
        assert_eq!(res.status(), 400, "{body}");
    }
    let solo_off = TestServer::start(|c| c.solo = false).await;
    let res = solo_off
        .http
        .post(solo_off.url("/api/games"))
        .json(&json!({"mode": "solo", "startLevel": 0}))
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn a_ticket_survives_a_restart_on_the_same_database() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("scores.db");
    let first = TestServer::start(|c| c.database = db.clone()).await;
    let (game, _) = first.new_game(0).await;
    first.shut_down().await;
    let second = TestServer::start(|c| c.database = db.clone()).await;
    let (status, body) = second.submit(&played(&game, "ada", 0)).await;
    assert_eq!(status, 201, "the signing key lives in the database: {body}");
}

/// Duo results come from the server: both replayed scores reach the duo board when the match
/// ends, and a client that submits its duo score itself is refused.
#[tokio::test]
async fn duo_results_are_recorded_by_the_server_not_submitted_by_clients() {
    let server = TestServer::start(|_| {}).await;
    let (mut a, mut b, start_a, _) = server.pair().await;
    a.send_synced(crate::support::soft_drop_inputs(120)).await;
    b.send_synced(crate::support::soft_drop_inputs(60)).await;
    b.send(json!({"type": "game_over", "score": 0, "lines": 0, "level": 0})).await;
    a.send(json!({"type": "game_over", "score": 0, "lines": 0, "level": 0})).await;
    let end = a.expect("match_end").await;
    let scores: Vec<u64> =
        end["scores"].as_array().expect("scores").iter().filter_map(Value::as_u64).collect();
    assert!(scores[0] > scores[1] && scores[1] > 0, "{end}");
    assert_eq!(b.expect("match_end").await["scores"], end["scores"], "both see the same result");
    let deadline = std::time::Instant::now() + crate::support::WAIT;
    let board = loop {
        let (_, boards) = server.get_json("/api/scores").await;
        if boards["duo"].as_array().is_some_and(|rows| rows.len() == 2) {
            break boards["duo"].clone();
        }
        assert!(std::time::Instant::now() < deadline, "the results never reached the board: {boards}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!((board[0]["name"].as_str(), board[0]["score"].as_u64()), (Some("ada"), Some(scores[0])));
    assert_eq!((board[1]["name"].as_str(), board[1]["score"].as_u64()), (Some("bob"), Some(scores[1])));
    let game = start_a["gameId"].as_str().expect("gameId");
    let (status, body) = server.submit(&plausible(game, "ada", 800)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("duo_by_server")), "{body}");
}

/// Submissions in flight are bounded: each may carry a 256 KiB body, so a flood of slow uploads
/// must be refused rather than buffered. Holds every permit with uploads that never finish their
/// body, sees a complete submit refused with 503 `busy`, then sees it accepted once they are gone.
#[tokio::test]
async fn submissions_in_flight_are_bounded_and_excess_is_refused_as_busy() {
    use tokio::io::AsyncWriteExt;
    let server = TestServer::start(|_| {}).await;
    let mut stalled = Vec::new();
    for _ in 0..tetris_game_server::api::MAX_SUBMITS_IN_FLIGHT {
        let mut s = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
        let head = "POST /api/scores HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{";
        s.write_all(head.as_bytes()).await.expect("write head");
        stalled.push(s);
    }
    let deadline = std::time::Instant::now() + crate::support::WAIT;
    while server.state.submit_permits.available_permits() > 0 {
        assert!(std::time::Instant::now() < deadline, "stalled uploads never reached the handler");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (game, _) = server.new_game(0).await;
    let body = played(&game, "ada", 0);
    let (status, refused) = server.submit(&body).await;
    assert_eq!(status, 503, "a complete submit was served while every permit was held: {refused}");
    assert_eq!(refused["error"]["code"], "busy", "{refused}");
    drop(stalled);
    loop {
        let (status, reply) = server.submit(&body).await;
        if status == 201 {
            break;
        }
        assert_eq!(status, 503, "{reply}");
        assert!(std::time::Instant::now() < deadline, "permits never came back");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Issues a game in `mode` at level 0.
async fn new_game_in(server: &TestServer, mode: &str) -> String {
    let res = server
        .http
        .post(server.url("/api/games"))
        .json(&json!({"mode": mode, "startLevel": 0}))
        .send()
        .await
        .expect("POST /api/games");
    assert_eq!(res.status(), 201, "mode {mode}");
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["mode"], mode);
    body["gameId"].as_str().expect("gameId").to_owned()
}

#[tokio::test]
async fn sprint_ranks_the_fastest_time_first_on_its_own_board() {
    use tetris_game_server::plausibility::Report;
    use tetris_game_server::scoreboard::Submission;
    let server = TestServer::start(|c| c.ruleset = tetris_config::Ruleset::Modern).await;
    // Ranking is the scoreboard's part, so these go to it directly: a real 40-line sprint takes
    // longer to play than this test should wait (its replay is what verify.rs and the browser
    // test check).
    let plays = [("ada", 9_900), ("bob", 9_000), ("ada", 9_400), ("ada", 9_950)];
    for (name, ms) in plays {
        let game = new_game_in(&server, "sprint").await;
        let ticket = server.state.tickets.verify(&game).expect("issued ticket");
        let report = Report { score: 3000, lines: 40, level: 4, pieces: 100, duration_ms: ms };
        let stored =
            server.state.scores.submit(Submission { ticket, name: name.into(), report, input_log: None });
        stored.await.expect("stored");
    }
    let (_, boards) = server.get_json("/api/scores").await;
    assert_eq!(boards["ruleset"], "modern");
    assert_eq!(
        boards["sprint"],
        json!([
            {"rank": 1, "name": "bob", "score": 3000, "lines": 40, "level": 4, "timeMs": 9_000},
            {"rank": 2, "name": "ada", "score": 3000, "lines": 40, "level": 4, "timeMs": 9_400}
        ]),
        "ada's best is her fastest, not her last"
    );
    assert_eq!(boards["solo"], json!([]), "sprint games stay off the marathon board");
    // A real sprint that topped out before 40 lines is refused by the sprint rule; a real blitz
    // that topped out early counts on the blitz board.
    let game = new_game_in(&server, "sprint").await;
    let (status, body) = server.submit(&played(&game, "cy", 0)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("implausible_score")), "{body}");
    let game = new_game_in(&server, "blitz").await;
    let (status, body) = server.submit(&played(&game, "cy", 0)).await;
    assert_eq!(status, 201, "{body}");
    let (_, boards) = server.get_json("/api/scores").await;
    assert_eq!(boards["blitz"][0]["name"], "cy");
    // Sprint and blitz start at the lowest level.
    let res = server
        .http
        .post(server.url("/api/games"))
        .json(&json!({"mode": "blitz", "startLevel": 3}))
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn a_game_where_nothing_happened_is_stored_but_not_ranked() {
    // Modern at level 29, only turning each piece upright: every piece falls at once and locks,
    // no drop points and no lines, and the stack reaches the top within a few seconds.
    let server = TestServer::start(|c| {
        c.ruleset = tetris_config::Ruleset::Modern;
        c.start_level_max = 29;
    })
    .await;
    let (game, _) = server.new_game(29).await;
    let (mut log, real) = play(&game, 0);
    let mut idle = tetris_game_server::rules::Game::new(
        tetris_game_server::rules::Rules::new(tetris_game_server::rules::RulesetName::Modern, 2, None),
        &tetris_game_server::rules::pieces::Seed::Number(crate::player::ticket_info(&game).seed),
        29,
        None,
    );
    let (mut inputs, mut turned, mut last) = (Vec::new(), 0, 0u8);
    while !idle.over {
        let mask = if idle.pieces != turned && last == 0 { 8 } else { 0 };
        if mask == 8 {
            turned = idle.pieces;
        }
        if mask != last {
            inputs.push((idle.frame, mask));
            last = mask;
        }
        idle.step(mask);
    }
    let _ = real;
    log["inputs"] = json!(inputs);
    log["frames"] = json!(idle.frame);
    assert_eq!((idle.score, idle.lines), (0, 0));
    let (status, body) = server.submit(&submission(&game, "idle", &log, &idle)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!((body["personalBest"].as_bool(), body["rank"].is_null()), (Some(false), true));
    let (_, boards) = server.get_json("/api/scores").await;
    assert_eq!(boards["solo"], json!([]));
}
