//! The differential test: random games (bot play with mistakes, button mashing, garbage, every
//! handling, goals, corrupted logs) generated and replayed by the JavaScript engine in one node
//! process (`tests/differential/games.mjs`), then replayed here; every final state must agree, and
//! every log one engine refuses the other must refuse too.

use serde_json::{Value, json};
use std::io::BufRead;
use std::process::{Command, Stdio};
use tetris_game_server::rules::{Game, InputLog, replay};

/// Games per rules version and ruleset: 2,000 per ruleset in all (about 10 s of node).
const GAMES: usize = 1000;

/// What the Rust engine reached, in the shape `games.mjs` prints.
fn state(game: &Game) -> Value {
    let mut v = serde_json::to_value(game.final_state()).expect("serializes");
    v["active"] = game.active.map_or(
        Value::Null,
        |a| json!({"kind": a.kind.letter().to_string(), "x": a.x, "y": a.y, "rot": a.rot}),
    );
    v["b2b"] = json!(game.b2b);
    v["combo"] = json!(game.combo);
    v["pending"] = json!(game.pending_lines());
    v["sent"] = json!(game.sent);
    v
}

#[test]
fn rust_and_javascript_engines_agree_on_thousands_of_random_games() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/differential/games.mjs");
    // Read while node still writes: both engines run at once.
    let mut node = Command::new("node")
        .args([script, &GAMES.to_string(), "20261201"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("node (>= 20) must be installed to run the differential test (make setup installs it)");
    let stdout = std::io::BufReader::new(node.stdout.take().expect("piped stdout"));
    let (mut games, mut refused, mut per_ruleset) = (0, 0, std::collections::HashMap::new());
    for (i, line) in stdout.lines().enumerate() {
        let case: Value =
            serde_json::from_str(&line.expect("node's output")).expect("one JSON object per line");
        let (log, expect) = (&case["log"], &case["expect"]);
        *per_ruleset.entry(log["ruleset"].as_str().unwrap_or("?").to_owned()).or_insert(0) += 1;
        let ours = InputLog::parse(&log.to_string()).and_then(|l| replay(&l));
        if expect.get("error").is_some() {
            assert!(ours.is_err(), "game {i}: node refused this log, Rust replayed it: {log}");
            refused += 1;
            continue;
        }
        let game =
            ours.unwrap_or_else(|e| panic!("game {i}: node replayed it, Rust refused it ({e}): {log}"));
        assert_eq!(&state(&game), expect, "game {i} differs: {log}");
        games += 1;
    }
    assert!(node.wait().expect("node exits").success(), "games.mjs failed");
    assert!(per_ruleset.values().all(|&n| n >= 2 * GAMES), "{per_ruleset:?}");
    assert!(games >= 3 * GAMES && refused > 0, "{games} games compared, {refused} refused logs");
}
