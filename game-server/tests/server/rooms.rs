//! Duo rooms: every lifecycle transition and every room message.

use crate::support::{Client, TestServer, soft_drop_inputs, state_msg};
use serde_json::json;
use tetris_config::Ruleset;

#[tokio::test]
async fn a_private_room_starts_a_match_with_one_seed_and_two_tickets() {
    let server = TestServer::start(|_| {}).await;
    let mut a = server.client().await;
    a.send(json!({"type": "create_room", "name": "ada", "startLevel": 3})).await;
    let joined = a.expect("room_joined").await;
    assert_eq!(joined["seat"], 0);
    assert_eq!(joined["players"], json!(["ada"]));
    let code = joined["code"].as_str().expect("code");
    assert_eq!(code.len(), 6);
    let mut b = server.client().await;
    b.send(json!({"type": "join_room", "name": "bob", "code": code.to_lowercase()})).await;
    let b_joined = b.expect("room_joined").await;
    assert_eq!((b_joined["seat"].clone(), b_joined["players"].clone()), (json!(1), json!(["ada", "bob"])));
    assert_eq!(a.expect("opponent_joined").await["name"], "bob");
    let sa = a.expect("match_start").await;
    let sb = b.expect("match_start").await;
    assert_eq!(sa["seed"], sb["seed"]);
    assert_ne!(sa["gameId"], sb["gameId"]);
    assert_eq!((sa["seat"].clone(), sb["seat"].clone()), (json!(0), json!(1)));
    assert_eq!((sa["opponent"].clone(), sb["opponent"].clone()), (json!("bob"), json!("ada")));
    assert_eq!(
        (sa["startLevel"].clone(), sa["match"].clone(), sa["ruleset"].clone()),
        (json!(3), json!(1), json!("classic"))
    );
}

#[tokio::test]
async fn boards_are_relayed_live_both_ways() {
    let server = TestServer::start(|_| {}).await;
    let (mut a, mut b, _, _) = server.pair().await;
    a.send(state_msg(120)).await;
    let seen = b.expect("opponent_state").await;
    let mut expected = state_msg(120);
    expected["type"] = json!("opponent_state");
    assert_eq!(seen, expected);
    b.send(state_msg(40)).await;
    assert_eq!(a.expect("opponent_state").await["score"], 40);
}

#[tokio::test]
async fn invalid_boards_are_refused_not_relayed() {
    let server = TestServer::start(|_| {}).await;
    let (mut a, mut b, _, _) = server.pair().await;
    let mut bad = state_msg(0);
    bad["board"] = json!("<script>");
    a.send(bad).await;
    a.expect_error("bad_message").await;
    a.send(state_msg(7)).await;
    assert_eq!(b.expect("opponent_state").await["score"], 7, "nothing was relayed before the valid one");
}

#[tokio::test]
async fn garbage_a_client_claims_is_refused_the_server_computes_it() {
    // Regression for the trusted-client era: a `garbage` message was relayed as sent, so a
    // modified page could bury its opponent without clearing a line.
    let modern = TestServer::start(|c| c.ruleset = Ruleset::Modern).await;
    let (mut a, mut b, _, _) = modern.pair().await;
    a.send(json!({"type": "garbage", "lines": 4})).await;
    a.expect_error("garbage_by_server").await;
    b.send(json!({"type": "ping"})).await;
    b.expect("pong").await; // no garbage reached bob before the pong
    let classic = TestServer::start(|_| {}).await;
    let (mut a, _b, _, _) = classic.pair().await;
    a.send(json!({"type": "garbage", "lines": 1})).await;
    a.expect_error("not_in_ruleset").await;
}

#[tokio::test]
async fn pause_and_unpause_are_mirrored_and_only_the_pauser_resumes_at_first() {
    let server = TestServer::start(|_| {}).await;
    let (mut a, mut b, _, _) = server.pair().await;
    a.send(json!({"type": "pause"})).await;
    assert_eq!(a.expect("paused").await["by"], "you");
    assert_eq!(b.expect("paused").await["by"], "opponent");
    b.send(json!({"type": "unpause"})).await;
    b.expect_error("pause_not_allowed").await;
    a.send(json!({"type": "unpause"})).await;
    assert_eq!(a.expect("unpaused").await["by"], "you");
    assert_eq!(b.expect("unpaused").await["by"], "opponent");
}

#[tokio::test]
async fn each_player_has_three_pauses_per_match() {
    let server = TestServer::start(|_| {}).await;
    let (mut a, mut b, _, _) = server.pair().await;
    for _ in 0..3 {
        a.send(json!({"type": "pause"})).await;
        a.expect("paused").await;
        b.expect("paused").await;
        a.send(json!({"type": "unpause"})).await;
        a.expect("unpaused").await;
        b.expect("unpaused").await;
    }
    a.send(json!({"type": "pause"})).await;
    a.expect_error("pause_not_allowed").await;
    b.send(json!({"type": "pause"})).await;
    assert_eq!(a.expect("paused").await["by"], "opponent", "the other player still has theirs");
}

#[tokio::test]
async fn quick_match_has_no_pause() {
    let server = TestServer::start(|_| {}).await;
    let mut a = server.client().await;
    let mut b = server.client().await;
    a.send(json!({"type": "quick_match", "name": "ada", "startLevel": 0})).await;
    a.expect("queued").await;
    b.send(json!({"type": "quick_match", "name": "bob", "startLevel": 0})).await;
    for c in [&mut a, &mut b] {
        c.expect("room_joined").await;
        c.expect("match_start").await;
    }
    a.send(json!({"type": "pause"})).await;
    let err = a.expect_error("pause_not_allowed").await;
    assert!(err["message"].as_str().is_some_and(|m| m.contains("quick")), "{err}");
}

#[tokio::test]
async fn classic_topping_out_first_does_not_lose_when_the_score_is_higher() {
    let server = TestServer::start(|_| {}).await;
    let (mut a, mut b, _, _) = server.pair().await;
    // Bob's replay scores some points, then he tops out (he claims 5000: only the replay counts).
    b.send_synced(soft_drop_inputs(40)).await;
    b.send(json!({"type": "game_over", "score": 5000, "lines": 12, "level": 1})).await;
    let bobs = a.expect("opponent_topped_out").await["score"].as_u64().expect("score");
    assert!((1..5000).contains(&bobs), "the replayed score, not the claimed one: {bobs}");
    // Alice plays on; a board claiming more points wins nothing, her replay passing bob's does.
    a.send(state_with_score(9000)).await;
    assert_eq!(b.expect("opponent_state").await["score"], 9000, "a claimed score is no result");
    a.send(soft_drop_inputs(200)).await;
    let end = a.expect("match_end").await;
    assert_eq!(
        (end["winner"].as_u64(), end["you"].as_str(), end["reason"].as_str()),
        (Some(0), Some("won"), Some("score"))
    );
    assert_eq!(end["scores"][1], bobs);
    assert!(end["scores"][0].as_u64() > Some(bobs), "{end}");
    assert_eq!(b.expect("match_end").await["you"], "lost");
}

#[tokio::test]
async fn classic_both_out_the_higher_score_wins() {
    let server = TestServer::start(|_| {}).await;
    let (mut a, mut b, _, _) = server.pair().await;
    a.send_synced(soft_drop_inputs(100)).await;
    a.send(json!({"type": "game_over", "score": 900, "lines": 3, "level": 0})).await;
    b.expect("opponent_topped_out").await;
    b.send_synced(soft_drop_inputs(20)).await;
    b.send(json!({"type": "game_over", "score": 30000, "lines": 1, "level": 0})).await;
    let end = a.expect("match_end").await;
    assert_eq!(
        (end["winner"].as_u64(), end["you"].as_str(), end["reason"].as_str()),
        (Some(0), Some("won"), Some("score"))
    );
    assert_eq!(b.expect("match_end").await["you"], "lost");
}

fn state_with_score(score: u32) -> serde_json::Value {
    let mut s = state_msg(1);
    s["score"] = json!(score);
    s
}

#[tokio::test]
async fn topping_out_loses_and_both_see_the_winner() {
    let server = TestServer::start(|c| c.ruleset = Ruleset::Modern).await;
    let (mut a, mut b, _, _) = server.pair().await;
    b.send(json!({"type": "game_over", "score": 100, "lines": 1, "level": 0})).await;
    assert_eq!(
        a.expect("match_end").await,
        json!({"type": "match_end", "winner": 0, "you": "won", "reason": "topped_out", "match": 1, "scores": [0, 0], "garbageSent": [0, 0]})
    );
    assert_eq!(b.expect("match_end").await["you"], "lost");
    // Nothing more to play until a rematch.
    a.send(state_msg(1)).await;
    a.expect_error("not_playing").await;
}

#[tokio::test]
async fn rematch_needs_both_and_brings_a_new_seed() {
    let server = TestServer::start(|c| c.ruleset = Ruleset::Modern).await;
    let (mut a, mut b, first, _) = server.pair().await;
    a.send(json!({"type": "rematch"})).await;
    a.expect_error("not_finished").await;
    a.send(json!({"type": "game_over", "score": 0, "lines": 0, "level": 0})).await;
    a.expect("match_end").await;
    b.expect("match_end").await;
    a.send(json!({"type": "rematch"})).await;
    b.expect("rematch_requested").await;
    b.send(json!({"type": "rematch"})).await;
    let again_a = a.expect("match_start").await;
    let again_b = b.expect("match_start").await;
    assert_eq!(again_a["match"], 2);
    assert_eq!(again_a["seed"], again_b["seed"]);
    assert_ne!(again_a["gameId"], first["gameId"], "each match has fresh tickets");
}

#[tokio::test]
async fn leaving_ends_the_room_for_both() {
    let server = TestServer::start(|_| {}).await;
    let (mut a, mut b, _, _) = server.pair().await;
    a.send(json!({"type": "leave_room"})).await;
    assert_eq!(a.expect("match_end").await["you"], "lost");
    assert_eq!(a.expect("room_closed").await["reason"], "left");
    assert_eq!(
        b.expect("match_end").await,
        json!({"type": "match_end", "winner": 1, "you": "won", "reason": "opponent_left", "match": 1, "scores": [0, 0], "garbageSent": [0, 0]})
    );
    assert_eq!(b.expect("room_closed").await["reason"], "opponent_left");
    // Both are free again, and the room is gone.
    b.send(json!({"type": "state", "board": ".".repeat(200), "piece": null, "next": "", "hold": null, "score": 0, "level": 0, "lines": 0})).await;
    b.expect_error("not_in_room").await;
    a.send(json!({"type": "create_room", "name": "ada", "startLevel": 0})).await;
    a.expect("room_joined").await;
    assert!(server.state.hub.connections() >= 2);
}

#[tokio::test]
async fn a_disconnect_without_grace_ends_the_room() {
    let server = TestServer::start(|c| c.reconnect_grace_seconds = 0).await;
    let (a, mut b, _, _) = server.pair().await;
    drop(a);
    assert_eq!(b.expect("match_end").await["reason"], "opponent_disconnected");
    assert_eq!(b.expect("room_closed").await["reason"], "opponent_disconnected");
}

#[tokio::test]
async fn a_dropped_player_resumes_within_the_grace() {
    let server = TestServer::start(|c| c.reconnect_grace_seconds = 30).await;
    let mut a = server.client().await;
    a.send(json!({"type": "create_room", "name": "ada", "startLevel": 0})).await;
    let joined = a.expect("room_joined").await;
    let token = joined["resumeToken"].as_str().expect("token").to_owned();
    let mut b = server.client().await;
    b.send(json!({"type": "join_room", "name": "bob", "code": joined["code"]})).await;
    b.expect("room_joined").await;
    a.expect("opponent_joined").await;
    let start = a.expect("match_start").await;
    b.expect("match_start").await;
    a.send(state_msg(50)).await;
    b.expect("opponent_state").await;
    b.send(state_msg(60)).await;
    a.expect("opponent_state").await;
    drop(a);
    assert_eq!(b.expect("opponent_disconnected").await["graceSeconds"], 30);

    let mut again = Client::connect(&server.ws_url()).await;
    again.send(json!({"type": "hello", "protocol": 1, "resumeToken": token})).await;
    assert_eq!(again.expect("welcome").await["resumed"], true);
    let snap = again.expect("resumed").await;
    assert_eq!(snap["seat"], 0);
    assert_eq!(snap["phase"], "playing");
    assert_eq!(snap["gameId"], start["gameId"]);
    assert_eq!(snap["seed"], start["seed"]);
    assert_eq!(snap["you"]["score"], 50);
    assert_eq!(snap["opponentState"]["score"], 60);
    b.expect("opponent_reconnected").await;
    again.send(state_msg(70)).await;
    assert_eq!(b.expect("opponent_state").await["score"], 70);
}

#[tokio::test]
async fn a_resume_token_moves_the_seat_and_closes_the_old_socket() {
    let server = TestServer::start(|c| c.reconnect_grace_seconds = 30).await;
    let mut a = server.client().await;
    a.send(json!({"type": "create_room", "name": "ada", "startLevel": 0})).await;
    let token = a.expect("room_joined").await["resumeToken"].clone();
    let mut second_tab = Client::connect(&server.ws_url()).await;
    second_tab.send(json!({"type": "hello", "protocol": 1, "resumeToken": token})).await;
    second_tab.expect("welcome").await;
    assert_eq!(second_tab.expect("resumed").await["phase"], "waiting");
    assert_eq!(u16::from(a.closed().await.expect("close frame").code), 4001);
    let mut bogus = Client::connect(&server.ws_url()).await;
    bogus.send(json!({"type": "hello", "protocol": 1, "resumeToken": "0123"})).await;
    assert_eq!(bogus.expect("welcome").await["resumed"], false);
    bogus.expect_error("bad_resume_token").await;
}

#[tokio::test]
async fn the_grace_running_out_ends_the_match() {
    let server = TestServer::start(|c| c.reconnect_grace_seconds = 1).await;
    let (a, mut b, _, _) = server.pair().await;
    drop(a);
    b.expect("opponent_disconnected").await;
    assert_eq!(
        b.expect("match_end").await,
        json!({"type": "match_end", "winner": 1, "you": "won", "reason": "opponent_disconnected", "match": 1, "scores": [0, 0], "garbageSent": [0, 0]})
    );
    b.expect("room_closed").await;
}

#[tokio::test]
async fn join_errors_own_room_full_room_unknown_code_already_in_room() {
    let server = TestServer::start(|_| {}).await;
    let mut a = server.client().await;
    a.send(json!({"type": "create_room", "name": "ada", "startLevel": 0})).await;
    let code = a.expect("room_joined").await["code"].clone();
    a.send(json!({"type": "join_room", "name": "ada", "code": code})).await;
    a.expect_error("own_room").await;
    a.send(json!({"type": "create_room", "name": "ada", "startLevel": 0})).await;
    a.expect_error("already_in_room").await;
    let mut b = server.client().await;
    b.send(json!({"type": "join_room", "name": "bob", "code": "ZZZZZZ"})).await;
    b.expect_error("room_not_found").await;
    b.send(json!({"type": "join_room", "name": "bob", "code": "<b>"})).await;
    b.expect_error("room_not_found").await;
    b.send(json!({"type": "join_room", "name": "bob", "code": code})).await;
    b.expect("room_joined").await;
    let mut c = server.client().await;
    c.send(json!({"type": "join_room", "name": "cy", "code": code})).await;
    c.expect_error("room_full").await;
    c.send(json!({"type": "create_room", "name": "", "startLevel": 0})).await;
    c.expect_error("invalid_name").await;
    c.send(json!({"type": "create_room", "name": "cy", "startLevel": 10})).await;
    c.expect_error("bad_message").await;
    c.send(json!({"type": "leave_room"})).await;
    c.expect_error("not_in_room").await;
}

#[tokio::test]
async fn quick_match_pairs_in_arrival_order() {
    let server = TestServer::start(|_| {}).await;
    let mut a = server.client().await;
    a.send(json!({"type": "quick_match", "name": "ada", "startLevel": 2})).await;
    a.expect("queued").await;
    let mut b = server.client().await;
    b.send(json!({"type": "quick_match", "name": "bob", "startLevel": 0})).await;
    assert_eq!(b.expect("room_joined").await["seat"], 1);
    assert_eq!(a.expect("room_joined").await["players"], json!(["ada", "bob"]));
    let sa = a.expect("match_start").await;
    let sb = b.expect("match_start").await;
    assert_eq!(sa["seed"], sb["seed"]);
    assert_eq!(sb["startLevel"], 2, "the first player's start level");
    let mut c = server.client().await;
    c.send(json!({"type": "quick_match", "name": "cy", "startLevel": 0})).await;
    c.expect("queued").await;
    // A queued player who leaves is not paired afterwards.
    c.send(json!({"type": "leave_room"})).await;
    assert_eq!(c.expect("room_closed").await["reason"], "left");
    let mut d = server.client().await;
    d.send(json!({"type": "quick_match", "name": "dee", "startLevel": 0})).await;
    d.expect("queued").await;
}

#[tokio::test]
async fn one_socket_cannot_fill_a_room_alone() {
    // The original let one socket take both seats of a room.
    let server = TestServer::start(|_| {}).await;
    let mut a = server.client().await;
    a.send(json!({"type": "quick_match", "name": "ada", "startLevel": 0})).await;
    a.expect("queued").await;
    a.send(json!({"type": "quick_match", "name": "ada2", "startLevel": 0})).await;
    a.expect_error("already_in_room").await;
    let mut b = server.client().await;
    b.send(json!({"type": "quick_match", "name": "bob", "startLevel": 0})).await;
    assert_eq!(b.expect("room_joined").await["players"], json!(["ada", "bob"]));
}

#[tokio::test]
async fn the_room_limit_is_enforced_and_freed() {
    let server = TestServer::start(|c| c.max_rooms = 2).await;
    let mut a = server.client().await;
    let mut b = server.client().await;
    let mut c = server.client().await;
    for x in [&mut a, &mut b] {
        x.send(json!({"type": "create_room", "name": "x", "startLevel": 0})).await;
        x.expect("room_joined").await;
    }
    c.send(json!({"type": "quick_match", "name": "c", "startLevel": 0})).await;
    c.expect_error("room_limit").await;
    a.send(json!({"type": "leave_room"})).await;
    a.expect("room_closed").await;
    c.send(json!({"type": "create_room", "name": "c", "startLevel": 0})).await;
    c.expect("room_joined").await;
}

#[tokio::test]
async fn many_rooms_run_side_by_side() {
    // The original allowed only two rooms; 50 concurrent matches must not interfere.
    let server = TestServer::start(|_| {}).await;
    let mut pairs = Vec::new();
    for _ in 0..50 {
        pairs.push(server.pair().await);
    }
    for (i, (a, b, _, _)) in pairs.iter_mut().enumerate() {
        a.send(state_msg(i as u32)).await;
        assert_eq!(b.expect("opponent_state").await["score"], i as u64);
    }
    let metrics =
        server.http.get(server.url("/metrics")).send().await.expect("GET").text().await.expect("text");
    assert!(metrics.contains("tetris_rooms 50"), "{metrics}");
    assert!(metrics.contains("tetris_matches_playing 50"), "{metrics}");
}

#[tokio::test]
async fn duo_can_be_turned_off() {
    let server = TestServer::start(|c| c.duo = false).await;
    let mut a = server.client().await;
    a.send(json!({"type": "create_room", "name": "ada", "startLevel": 0})).await;
    a.expect_error("duo_disabled").await;
}

#[tokio::test]
async fn the_drain_limit_ends_running_matches_without_a_winner() {
    let mut server = TestServer::start(|c| c.drain_seconds = 1).await;
    let (mut a, mut b, _, _) = server.pair().await;
    let mut waiting = server.client().await;
    waiting.send(json!({"type": "create_room", "name": "wes", "startLevel": 0})).await;
    waiting.expect("room_joined").await;
    server.signal_shutdown();
    for c in [&mut a, &mut b, &mut waiting] {
        assert_eq!(c.expect("draining").await["seconds"], 1);
    }
    assert_eq!(
        waiting.expect("room_closed").await["reason"],
        "server_shutdown",
        "waiting rooms close at once"
    );
    for c in [&mut a, &mut b] {
        assert_eq!(
            c.expect("match_end").await,
            json!({"type": "match_end", "winner": null, "you": "none", "reason": "server_shutdown", "match": 1, "scores": [0, 0], "garbageSent": [0, 0]})
        );
        assert_eq!(c.expect("room_closed").await["reason"], "server_shutdown");
        assert_eq!(u16::from(c.closed().await.expect("close frame").code), 1001);
    }
    let page = server.state.hub.metrics.render();
    assert_eq!(aborted(&page, "server_shutdown"), 1.0, "the drain deadline cut the match: {page}");
    server.wait_stopped().await;
}

/// The value of `tetris_matches_aborted_total{reason}` on a metrics page.
fn aborted(page: &str, reason: &str) -> f64 {
    let series = format!("tetris_matches_aborted_total{{reason=\"{reason}\"}} ");
    page.lines()
        .find_map(|l| l.strip_prefix(&series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} on the metrics page:\n{page}"))
}

#[tokio::test]
async fn a_match_cut_short_counts_as_aborted_and_one_played_out_or_left_does_not() {
    let server = TestServer::start(|c| {
        c.ruleset = Ruleset::Modern;
        c.reconnect_grace_seconds = 0;
    })
    .await;
    let metrics = || async {
        server.http.get(server.url("/metrics")).send().await.expect("GET").text().await.expect("text")
    };
    // Played out: one player tops out.
    let (mut a, mut b, _, _) = server.pair().await;
    b.send(json!({"type": "game_over", "score": 0, "lines": 0, "level": 0})).await;
    assert_eq!(a.expect("match_end").await["reason"], "topped_out");
    // Left by a player's choice.
    let (mut c, mut d, _, _) = server.pair().await;
    c.send(json!({"type": "leave_room"})).await;
    assert_eq!(d.expect("match_end").await["reason"], "opponent_left");
    let page = metrics().await;
    assert!(page.contains("tetris_games_finished_total{mode=\"duo\"} 2"), "both matches ended: {page}");
    assert_eq!(aborted(&page, "opponent_disconnected"), 0.0, "{page}");
    assert_eq!(aborted(&page, "server_shutdown"), 0.0, "{page}");

    // A peer lost (its socket dropped, no grace): aborted.
    let (e, mut f, _, _) = server.pair().await;
    drop(e);
    assert_eq!(f.expect("match_end").await["reason"], "opponent_disconnected");
    let page = metrics().await;
    assert_eq!(aborted(&page, "opponent_disconnected"), 1.0, "{page}");
    assert_eq!(aborted(&page, "server_shutdown"), 0.0, "{page}");
}

#[tokio::test]
async fn joining_a_room_whose_creator_dropped_says_so_at_once() {
    let server = TestServer::start(|c| c.reconnect_grace_seconds = 30).await;
    let mut a = server.client().await;
    a.send(json!({"type": "create_room", "name": "ada", "startLevel": 0})).await;
    let joined = a.expect("room_joined").await;
    drop(a);
    // Poll until the server has seen the drop (the seat is then held for the grace period).
    let mut b = server.client().await;
    let seen_drop = tokio::time::timeout(crate::support::WAIT, async {
        while server.state.hub.connections() != 1 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(seen_drop.is_ok(), "the server notices the closed socket");
    b.send(json!({"type": "join_room", "name": "bob", "code": joined["code"]})).await;
    b.expect("room_joined").await;
    b.expect("match_start").await;
    assert_eq!(b.expect("opponent_disconnected").await["graceSeconds"], 30);
}
