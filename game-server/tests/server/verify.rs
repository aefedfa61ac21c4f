//! Scores verified by replay: a real game is accepted with the totals its replay gives; forged,
//! altered, truncated, foreign, repeated, oversized and fuzzed logs are each refused with their
//! reason code, and nothing makes the server fail.

use crate::player::{play, played, submission};
use crate::support::TestServer;
use serde_json::{Value, json};
use tetris_game_server::settings::Settings;

/// The rejection code of a response.
fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn a_real_game_is_accepted_with_the_totals_of_its_replay() {
    for modern in [false, true] {
        let server = TestServer::start(|c| {
            if modern {
                c.ruleset = tetris_config::Ruleset::Modern;
            }
        })
        .await;
        let (game, _) = server.new_game(3).await;
        let body = played(&game, "ada", 1);
        let (status, answer) = server.submit(&body).await;
        assert_eq!(status, 201, "{answer}");
        assert_eq!(answer["score"], body["score"]);
        assert!(body["score"].as_u64() > Some(0), "the test game scores something");
        let (_, boards) = server.get_json("/api/scores").await;
        assert_eq!(boards["solo"][0]["score"], body["score"]);
        assert_eq!(boards["solo"][0]["level"], 3);
    }
}

#[tokio::test]
async fn forged_altered_truncated_and_foreign_logs_are_refused_with_their_reason() {
    let server = TestServer::start(|_| {}).await;
    let (game, _) = server.new_game(0).await;
    let (log, real) = play(&game, 2);
    let honest = submission(&game, "ada", &log, &real);
    let mut cases: Vec<(&str, Value, &str)> = Vec::new();

    let mut no_log = honest.clone();
    no_log.as_object_mut().expect("object").remove("inputLog");
    cases.push(("no log", no_log, "missing_log"));
    for forged in [
        "not json",
        "{}",
        r#"{"v":2}"#,
        "[1,2,3]",
        r#"{"v":9,"ruleset":"classic","seed":1,"startLevel":0,"frames":1,"inputs":[]}"#,
    ] {
        let mut b = honest.clone();
        b["inputLog"] = json!(forged);
        cases.push(("forged log", b, "bad_log"));
    }
    // A made-up log for this very ticket: well formed, but it plays some other game.
    let mut made_up = log.clone();
    made_up["inputs"] = json!([[0, 2], [1, 0]]);
    let mut b = honest.clone();
    b["inputLog"] = json!(made_up.to_string());
    cases.push(("made-up log", b, "game_not_over"));

    let mut altered = honest.clone();
    altered["score"] = json!(real.score + 100);
    cases.push(("altered score", altered, "score_mismatch"));
    let mut altered_lines = honest.clone();
    altered_lines["pieces"] = json!(real.pieces + 1);
    cases.push(("altered pieces", altered_lines, "score_mismatch"));

    let mut truncated = log.clone();
    let half = real.frame / 2;
    truncated["frames"] = json!(half);
    truncated["inputs"] = json!(
        log["inputs"]
            .as_array()
            .expect("inputs")
            .iter()
            .filter(|e| e[0].as_u64() < Some(u64::from(half)))
            .collect::<Vec<_>>()
    );
    let mut b = honest.clone();
    b["inputLog"] = json!(truncated.to_string());
    cases.push(("truncated log", b, "game_not_over"));

    let (other, _) = server.new_game(0).await;
    let (foreign_log, foreign) = play(&other, 2);
    cases.push(("another game's log", submission(&game, "ada", &foreign_log, &foreign), "log_mismatch"));
    let mut v1 = log.clone();
    v1["v"] = json!(1);
    let mut b = honest.clone();
    b["inputLog"] = json!(v1.to_string());
    cases.push(("another rules version", b, "log_mismatch"));

    for (what, body, expected) in &cases {
        let (status, answer) = server.submit(body).await;
        assert_eq!((status, code(&answer)), (422, *expected), "{what}: {answer}");
        assert!(
            !answer["error"]["message"].as_str().unwrap_or("").is_empty(),
            "{what}: the player is told why"
        );
    }
    // None of them used up the game: the honest submission still counts, once.
    let (status, answer) = server.submit(&honest).await;
    assert_eq!(status, 201, "{answer}");
    let (status, answer) = server.submit(&honest).await;
    assert_eq!((status, code(&answer)), (409, "already_submitted"));

    let metrics =
        server.http.get(server.url("/metrics")).send().await.expect("GET").text().await.expect("text");
    for reason in
        ["missing_log", "bad_log", "game_not_over", "score_mismatch", "log_mismatch", "already_submitted"]
    {
        assert!(
            metrics.contains(&format!("tetris_scores_rejected_total{{reason=\"{reason}\"}}")),
            "{reason} is counted"
        );
    }
}

#[tokio::test]
async fn a_log_ten_times_over_the_bound_is_refused_before_it_is_read() {
    let server = TestServer::start(|_| {}).await;
    let (game, _) = server.new_game(0).await;
    let mut body = played(&game, "ada", 3);
    let bound = tetris_game_server::api::MAX_INPUT_LOG_CHARS;
    body["inputLog"] = json!(format!("{{\"v\":2,\"pad\":\"{}\"}}", "x".repeat(10 * bound)));
    let (status, answer) = server.submit(&body).await;
    assert_eq!((status, code(&answer)), (413, "payload_too_large"));
}

#[tokio::test]
async fn fuzzed_logs_are_refused_with_a_reason_code_and_never_fail_the_server() {
    let server = TestServer::start(|c| c.ruleset = tetris_config::Ruleset::Modern).await;
    let (game, _) = server.new_game(0).await;
    let (log, real) = play(&game, 4);
    let text = log.to_string();
    let mut rng = 0x2545_f491_u64;
    let known = ["bad_log", "log_mismatch", "game_not_over", "score_mismatch"];
    let mut accepted = 0;
    for case in 0..200 {
        let mut body = submission(&game, "fuzz", &log, &real);
        body["inputLog"] = json!(tetris_game_server::rules::player::mutated(&text, &mut rng));
        let (status, answer) = server.submit(&body).await;
        match status {
            // A mutation that changes nothing the rules see is the same game: it may count once.
            201 => accepted += 1,
            409 => assert_eq!(code(&answer), "already_submitted"),
            422 => assert!(known.contains(&code(&answer)), "case {case}: {answer}"),
            _ => panic!("case {case}: {status} {answer}"),
        }
    }
    assert!(accepted <= 1);
    let (status, _) = server.get_json("/api/scores").await;
    assert_eq!(status, 200, "the server still answers");
}

#[tokio::test]
async fn a_game_started_under_rules_v1_is_verified_under_v1_after_an_upgrade() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("scores.db");
    let pinned = Settings { rules_version: 1, ..Settings::default() };
    let old = TestServer::start_with_settings(|c| c.database = db.clone(), pinned).await;
    let (game, _) = old.new_game(0).await;
    old.shut_down().await;
    // The upgraded server issues version 2, and still replays the old game under version 1.
    let new = TestServer::start(|c| c.database = db.clone()).await;
    let (game2, _) = new.new_game(0).await;
    assert_eq!(crate::player::ticket_info(&game2).rules, 2);
    let (log, real) = play(&game, 5);
    assert_eq!(log["v"], 1);
    let mut as_v2 = log.clone();
    as_v2["v"] = json!(2);
    let (status, answer) = new.submit(&submission(&game, "ada", &as_v2, &real)).await;
    assert_eq!((status, code(&answer)), (422, "log_mismatch"), "{answer}");
    let (status, answer) = new.submit(&submission(&game, "ada", &log, &real)).await;
    assert_eq!(status, 201, "{answer}");
}
