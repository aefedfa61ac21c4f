//! Done-when 7: with two nodes, every pod of a ReadWriteOnce TetrisApp with 3 replicas runs on one
//! node, also mid-rollout; `kubectl wait --for=condition=Ready` returns once the app is Ready.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_write_once_app_keeps_all_pods_on_one_node_even_mid_rollout() {
    dedicated_node("place-a", "placement");
    dedicated_node("place-b", "placement");
    let env = TestEnv::start("placement", Duration::from_secs(300)).await;
    let _logs = env.cluster.log_guard();

    // Every pod ever seen for the app, with the node it was scheduled on.
    let seen: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
    let pods = env.api::<Pod>();
    let watch_seen = seen.clone();
    let watch = tokio::spawn(async move {
        let config = watcher::Config::default().labels("gameops.dev/tetrisapp=spread");
        let mut stream = watcher(pods, config).default_backoff().applied_objects().boxed();
        while let Some(Ok(pod)) = stream.next().await {
            if let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.clone())
                && let Ok(mut seen) = watch_seen.lock()
            {
                seen.insert(pod.name_any(), node);
            }
        }
    });

    let yaml = format!(
        "apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: spread\nspec:\n  version: 1.0.0\n  replicas: 3\n{}",
        placed_on("placement")
    );
    env.apply_app(&yaml).await;
    let kubectl_wait = {
        let mut cmd = env.cluster.kubectl();
        cmd.args(["wait", "--for=condition=Ready", "tetrisapp/spread", "-n", &env.ns, "--timeout=120s"]);
        tokio::task::spawn_blocking(move || cmd.output()).await.expect("join").expect("kubectl wait runs")
    };
    assert!(
        kubectl_wait.status.success(),
        "kubectl wait failed: {}",
        String::from_utf8_lossy(&kubectl_wait.stderr)
    );
    let app = env.apps().get("spread").await.expect("app");
    assert!(is_ready(&app), "kubectl wait returned only once the app was Ready");

    let nodes: BTreeSet<String> = env
        .pods("spread")
        .await
        .iter()
        .filter_map(|p| p.spec.as_ref().and_then(|s| s.node_name.clone()))
        .collect();
    assert_eq!(nodes.len(), 1, "all three pods on one node: {nodes:?}");

    env.patch_spec("spread", json!({"version": "1.1.0"})).await;
    env.wait_ready("spread").await;
    wait_for("three new pods", || async {
        let pods = env.pods("spread").await;
        let new = pods
            .iter()
            .filter(|p| p.labels().get("app.kubernetes.io/version").map(String::as_str) == Some("1.1.0"));
        (pods.len() == 3 && new.count() == 3).then_some(())
    })
    .await;
    watch.abort();
    let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
    assert!(seen.len() >= 6, "old and new pods were observed: {seen:?}");
    let nodes: BTreeSet<&String> = seen.values().collect();
    assert_eq!(nodes.len(), 1, "every pod of every ReplicaSet shared one node: {seen:?}");
    env.stop().await;
}
