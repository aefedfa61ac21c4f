//! Done-when 5: invalid TetrisApps are rejected by the API server with a message naming the field
//! (the files under examples/invalid/ and the transition rules), and specs that pass the schema but
//! cannot be reconciled end up Degraded with a reason and an Event.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Patch, PatchParams};
use serde_json::json;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_under_examples_invalid_is_rejected_naming_the_field() {
    let cluster = cluster();
    let ns = cluster.namespace("invalid");
    let dir = repo_path("examples/invalid");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples/invalid exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "at least ten invalid examples, found {}", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable");
        let expects: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("# expect: ")).collect();
        assert!(!expects.is_empty(), "{} has no `# expect:` line", file.display());
        let out = cluster
            .kubectl()
            .args(["create", "-n", &ns, "-f", &file.display().to_string()])
            .output()
            .expect("kubectl runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            failures.push(format!("{}: accepted", file.display()));
            continue;
        }
        for e in expects {
            if !stderr.contains(e) {
                failures.push(format!("{}: message lacks {e:?}:\n{stderr}", file.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let left = cluster.run_kubectl(&["get", "tetrisapps", "-n", &ns, "-o", "name"]).expect("list");
    assert!(left.trim().is_empty(), "nothing was stored: {left}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transition_rules_protect_the_scoreboard_volume() {
    let cluster = cluster();
    let ns = cluster.namespace("transitions");
    let client = cluster.client().await;
    let apps: kube::Api<tetris_operator::crd::TetrisApp> = kube::Api::namespaced(client, &ns);
    let create = json!({"apiVersion": "gameops.dev/v1alpha1", "kind": "TetrisApp", "metadata": {"name": "vol"},
        "spec": {"version": "1.0.0", "storage": {"size": "2Gi", "storageClassName": "kwok-volume"}}});
    apps.patch("vol", &PatchParams::apply("test"), &Patch::Apply(&create)).await.expect("valid app");
    let reject = |storage: serde_json::Value, field: &'static str, message: &'static str| {
        let apps = apps.clone();
        async move {
            let patch = json!({"spec": {"storage": storage}});
            match apps.patch("vol", &PatchParams::default(), &Patch::Merge(&patch)).await {
                Ok(_) => panic!("{field} change was accepted"),
                Err(kube::Error::Api(s)) => {
                    assert!(
                        s.message.contains(field) && s.message.contains(message),
                        "{field}: {}",
                        s.message
                    )
                }
                Err(e) => panic!("unexpected error: {e}"),
            }
        }
    };
    reject(json!({"size": "1Gi"}), "spec.storage.size", "storage.size can only grow").await;
    reject(json!({"storageClassName": "fast"}), "spec.storage.storageClassName", "immutable").await;
    reject(json!({"accessMode": "ReadWriteMany"}), "spec.storage.accessMode", "immutable").await;
    let grow = json!({"spec": {"storage": {"size": "3Gi"}}});
    apps.patch("vol", &PatchParams::default(), &Patch::Merge(&grow)).await.expect("growing is allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_the_game_server_would_refuse_is_degraded_until_fixed() {
    let env = TestEnv::start("degraded", Duration::from_secs(300)).await;
    let _logs = env.cluster.log_guard();
    // U+0085 passes the schema's pattern (which only bans ASCII controls) but the game server's
    // config contract refuses any control character in the title.
    // Created as JSON: YAML (which an apply patch is) reads U+0085 as a line break.
    let odd: tetris_operator::crd::TetrisApp = serde_json::from_value(
        json!({"apiVersion": "gameops.dev/v1alpha1", "kind": "TetrisApp", "metadata": {"name": "odd"},
        "spec": {"version": "1.0.0", "game": {"title": "Tet\u{0085}ris"}}}),
    )
    .expect("valid TetrisApp JSON");
    env.apps().create(&kube::api::PostParams::default(), &odd).await.expect("schema accepts the title");
    let apps = env.apps();
    let app = wait_for("Degraded=True InvalidSpec", || async {
        let app = apps.get("odd").await.ok()?;
        let c = condition(&app, "Degraded")?;
        (c.status == "True" && c.reason == "InvalidSpec").then_some(app)
    })
    .await;
    let message = condition(&app, "Degraded").map(|c| c.message.clone()).unwrap_or_default();
    assert!(message.starts_with("spec.game.title:"), "{message}");
    assert_eq!(condition(&app, "Ready").map(|c| c.reason.as_str()), Some("InvalidSpec"));
    assert!(env.api::<Deployment>().get_opt("odd").await.expect("get").is_none(), "nothing built from it");
    wait_for("InvalidSpec Warning event", || async {
        event_reasons(&env, "odd").await.iter().any(|r| r == "InvalidSpec").then_some(())
    })
    .await;
    env.patch_spec("odd", json!({"game": {"title": "Tetris"}})).await;
    env.wait_ready("odd").await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_the_api_server_rejects_is_degraded_with_the_reason_and_recovers() {
    let env = TestEnv::start("rejected", Duration::from_secs(300)).await;
    let _logs = env.cluster.log_guard();
    // Passes the TetrisApp schema (which takes affinity as Kubernetes defines it); the Deployment
    // validation refuses the unknown selector operator.
    env.apply_app(
        "apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: greedy\nspec:\n  version: 1.0.0\n  pod:\n    affinity:\n      nodeAffinity:\n        requiredDuringSchedulingIgnoredDuringExecution:\n          nodeSelectorTerms:\n          - matchExpressions:\n            - {key: pool, operator: Within, values: [games]}\n",
    )
    .await;
    let apps = env.apps();
    let app = wait_for("Degraded=True ApplyFailed", || async {
        let app = apps.get("greedy").await.ok()?;
        let c = condition(&app, "Degraded")?;
        (c.status == "True" && c.reason == "ApplyFailed").then_some(app)
    })
    .await;
    let message = condition(&app, "Degraded").map(|c| c.message.clone()).unwrap_or_default();
    assert!(
        message.contains("Deployment") && message.contains("Within") && message.contains("HTTP 422"),
        "{message}"
    );
    wait_for("ApplyFailed Warning event", || async {
        event_reasons(&env, "greedy").await.iter().any(|r| r == "ApplyFailed").then_some(())
    })
    .await;
    env.patch_spec("greedy", json!({"pod": {"affinity": null}})).await;
    let app = env.wait_ready("greedy").await;
    assert_eq!(condition(&app, "Degraded").map(|c| c.status.as_str()), Some("False"));
    env.stop().await;
}
