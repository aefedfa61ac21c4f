//! The shared rules vectors (`web/test/vectors/v*/`): the Rust port must reproduce every `expect`
//! block from its `log`, for every rules version (a game played under version 1 still replays under
//! version 1). node checks the same files against the JavaScript engine (`web/test/vectors.test.js`).

use serde_json::Value;
use std::path::PathBuf;
use tetris_game_server::rules::{InputLog, RULES_VERSIONS, replay};

/// Every vector file, by version directory.
fn vector_files() -> Vec<(u8, PathBuf)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web/test/vectors");
    let mut out = Vec::new();
    for v in RULES_VERSIONS {
        let dir = root.join(format!("v{v}"));
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        out.extend(files.into_iter().map(|f| (v, f)));
    }
    out
}

#[test]
fn every_vector_of_every_rules_version_replays_to_its_expected_state() {
    let files = vector_files();
    for v in RULES_VERSIONS {
        assert!(files.iter().filter(|(fv, _)| *fv == v).count() >= 5, "vectors of version {v} are missing");
    }
    for (version, path) in files {
        let text = std::fs::read_to_string(&path).expect("vector file");
        let vector: Value = serde_json::from_str(&text).expect("vector JSON");
        let log =
            InputLog::parse(&vector["log"].to_string()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(log.v, version, "{}", path.display());
        let game = replay(&log).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let got = serde_json::to_value(game.final_state()).expect("serializes");
        assert_eq!(got, vector["expect"], "{}", path.display());
    }
}

#[test]
fn a_vector_log_replayed_under_the_other_version_does_not_match() {
    // Proves the version switches something: v1's modern line-clear delay changes the outcome.
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web/test/vectors/v1/modern-level0-bot-garbage.json");
    let vector: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("file")).expect("JSON");
    let mut log = InputLog::parse(&vector["log"].to_string()).expect("log");
    log.v = 2;
    let got = serde_json::to_value(replay(&log).expect("replays").final_state()).expect("serializes");
    assert_ne!(got, vector["expect"]);
}
