//! Reading the API server's audit log, which records every write (see the policy in `cluster.rs`).

use std::path::Path;

/// Every event in the audit log at `path`, oldest first; lines that do not parse (a line being
/// written right now) are skipped.
pub fn read(path: &Path) -> Vec<serde_json::Value> {
    let Ok(text) = std::fs::read_to_string(path) else { return Vec::new() };
    text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect()
}

/// Writes in `events` by `user` in `namespace` (all namespaces when `None`), as
/// `"<verb> <resource>[/<subresource>] <name>"`, for counting and for readable failure messages.
pub fn writes_by(events: &[serde_json::Value], user: &str, namespace: Option<&str>) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["user"]["username"] == user)
        .filter(|e| namespace.is_none_or(|ns| e["objectRef"]["namespace"] == ns))
        .filter(|e| {
            matches!(e["verb"].as_str(), Some("create" | "update" | "patch" | "delete" | "deletecollection"))
        })
        .map(|e| {
            let r = &e["objectRef"];
            let sub = r["subresource"].as_str().map(|s| format!("/{s}")).unwrap_or_default();
            format!(
                "{} {}{} {}",
                e["verb"].as_str().unwrap_or("?"),
                r["resource"].as_str().unwrap_or("?"),
                sub,
                r["name"].as_str().unwrap_or("")
            )
        })
        .collect()
}
