//! Done-when 2 (a version change rolls the image; Progressing while it runs; status.version only
//! after it completes; Events for an upgrade, an abandoned one and a rollback) and 3 (a
//! game-setting change updates the ConfigMap and rolls the pods).

use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use serde_json::json;
use tetris_operator::meta::CONFIG_HASH_ANNOTATION;

use crate::common::*;

const RESYNC: Duration = Duration::from_secs(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_change_rolls_the_image_and_status_version_follows_only_a_completed_rollout() {
    // A node of its own, cordoned mid-rollout, holds the surge pod Pending so the rollout is
    // observably in progress (kwok makes scheduled pods Ready at once).
    dedicated_node("upgrade-node", "upgrade");
    let env = TestEnv::start("upgrade", RESYNC).await;
    let _logs = env.cluster.log_guard();
    let yaml = format!(
        "apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: up\nspec:\n  version: 1.0.0\n  replicas: 2\n{}",
        placed_on("upgrade")
    );
    env.apply_app(&yaml).await;
    env.wait_ready("up").await;

    env.cluster.run_kubectl(&["cordon", "upgrade-node"]).expect("cordon");
    env.patch_spec("up", json!({"version": "1.1.0"})).await;
    let apps = env.apps();
    let mid = wait_for("Progressing=True for the new generation while the surge pod is Pending", || async {
        let app = apps.get("up").await.ok()?;
        let progressing = condition(&app, "Progressing")?;
        (progressing.status == "True" && progressing.observed_generation == app.metadata.generation)
            .then_some(app)
    })
    .await;
    let status = mid.status.clone().expect("status");
    assert_eq!(status.version.as_deref(), Some("1.0.0"), "version stays until the rollout completes");
    assert_eq!(status.target_version.as_deref(), Some("1.1.0"));
    assert_eq!(condition(&mid, "Ready").map(|c| c.reason.as_str()), Some("RollingOut"));
    assert_eq!(image_of(&env.deployment("up").await), "ghcr.io/tetris-operator/game-server:1.1.0");
    let old_ready = env.pods("up").await.iter().filter(|p| pod_ready(p)).count();
    assert_eq!(old_ready, 2, "maxUnavailable 0 keeps both old pods serving");

    env.cluster.run_kubectl(&["uncordon", "upgrade-node"]).expect("uncordon");
    let done = env.wait_ready("up").await;
    assert_eq!(done.status.as_ref().and_then(|s| s.version.as_deref()), Some("1.1.0"));
    assert_eq!(condition(&done, "Progressing").map(|c| c.status.as_str()), Some("False"));
    let pods = wait_for("only new pods left", || async {
        let pods = env.pods("up").await;
        let all_new = pods.iter().all(|p| {
            p.spec.as_ref().map(|s| s.containers[0].image.as_deref())
                == Some(Some("ghcr.io/tetris-operator/game-server:1.1.0"))
        });
        (pods.len() == 2 && all_new && pods.iter().all(pod_ready)).then_some(pods)
    })
    .await;
    assert_eq!(pods.len(), 2);
    let reasons = event_reasons(&env, "up").await;
    assert!(reasons.iter().any(|r| r == "UpgradeStarted"), "{reasons:?}");
    assert!(reasons.iter().any(|r| r == "Upgraded"), "{reasons:?}");

    // Called off mid-rollout: spec.version goes back while the 1.2.0 surge pod is still Pending.
    env.cluster.run_kubectl(&["cordon", "upgrade-node"]).expect("cordon");
    env.patch_spec("up", json!({"version": "1.2.0"})).await;
    wait_for("status.targetVersion 1.2.0 while 1.1.0 runs", || async {
        let app = apps.get("up").await.ok()?;
        let status = app.status.as_ref()?;
        (status.observed_generation == app.metadata.generation
            && status.target_version.as_deref() == Some("1.2.0")
            && status.version.as_deref() == Some("1.1.0"))
        .then_some(())
    })
    .await;
    env.patch_spec("up", json!({"version": "1.1.0"})).await;
    let back = env.wait_ready("up").await;
    assert_eq!(back.status.as_ref().and_then(|s| s.version.as_deref()), Some("1.1.0"));
    wait_for("UpgradeAbandoned event", || async {
        event_reasons(&env, "up").await.iter().any(|r| r == "UpgradeAbandoned").then_some(())
    })
    .await;
    env.cluster.run_kubectl(&["uncordon", "upgrade-node"]).expect("uncordon");

    // A finished change to a lower version is a rollback, not an upgrade.
    env.patch_spec("up", json!({"version": "1.0.0"})).await;
    let rolled_back = env.wait_ready("up").await;
    assert_eq!(rolled_back.status.as_ref().and_then(|s| s.version.as_deref()), Some("1.0.0"));
    wait_for("RolledBack event", || async {
        event_reasons(&env, "up").await.iter().any(|r| r == "RolledBack").then_some(())
    })
    .await;
    let upgraded = event_reasons(&env, "up").await.iter().filter(|r| *r == "Upgraded").count();
    assert_eq!(upgraded, 1, "only 1.0.0 -> 1.1.0 was an upgrade");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn game_setting_change_updates_the_configmap_and_rolls_the_pods() {
    let env = TestEnv::start("config", RESYNC).await;
    let _logs = env.cluster.log_guard();
    env.apply_app("apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: cfg\nspec:\n  version: 1.0.0\n").await;
    env.wait_ready("cfg").await;
    let hash = |dep: &k8s_openapi::api::apps::v1::Deployment| {
        dep.spec
            .as_ref()
            .and_then(|s| s.template.metadata.as_ref())
            .and_then(|m| m.annotations.as_ref())
            .and_then(|a| a.get(CONFIG_HASH_ANNOTATION).cloned())
            .expect("config hash annotation")
    };
    let old_hash = hash(&env.deployment("cfg").await);
    let old_pods = names(&env.pods("cfg").await);

    env.patch_spec("cfg", json!({"game": {"title": "Friday Tetris", "ruleset": "modern"}})).await;
    let cms = env.api::<ConfigMap>();
    wait_for("ConfigMap carries the new title", || async {
        let cm = cms.get("cfg-config").await.ok()?;
        let data = cm.data?;
        (data.get("TETRIS_TITLE").map(String::as_str) == Some("Friday Tetris")
            && data.get("TETRIS_RULESET").map(String::as_str) == Some("modern"))
        .then_some(())
    })
    .await;
    env.wait_ready("cfg").await;
    let new_hash = hash(&env.deployment("cfg").await);
    assert_ne!(new_hash, old_hash, "the pod template changes with the config");
    let new_pods = wait_for("pods replaced", || async {
        let pods = env.pods("cfg").await;
        let fresh = pods.iter().all(|p| !old_pods.contains(&p.name_any()));
        (pods.len() == 1 && fresh && pods.iter().all(pod_ready)).then_some(pods)
    })
    .await;
    let annotations = new_pods[0].annotations();
    assert_eq!(annotations.get(CONFIG_HASH_ANNOTATION), Some(&new_hash));
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_past_its_progress_deadline_is_degraded_with_an_event_until_fixed() {
    let env = TestEnv::start("stuck", RESYNC).await;
    let _logs = env.cluster.log_guard();
    // No node has this label, so the pod stays Pending and the Deployment misses its deadline.
    env.apply_app(
        "apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: stuck\nspec:\n  version: 1.0.0\n  pod:\n    nodeSelector:\n      tetris-test/nowhere: \"true\"\n  upgrade:\n    progressDeadlineSeconds: 30\n",
    )
    .await;
    let apps = env.apps();
    let app = wait_for("Degraded=True ProgressDeadlineExceeded", || async {
        let app = apps.get("stuck").await.ok()?;
        let c = condition(&app, "Degraded")?;
        (c.status == "True" && c.reason == "ProgressDeadlineExceeded").then_some(app)
    })
    .await;
    assert_eq!(condition(&app, "Ready").map(|c| c.reason.as_str()), Some("ProgressDeadlineExceeded"));
    assert_eq!(app.status.as_ref().and_then(|s| s.version.clone()), None, "never rolled out");
    wait_for("RolloutStuck Warning event", || async {
        event_reasons(&env, "stuck").await.iter().any(|r| r == "RolloutStuck").then_some(())
    })
    .await;
    env.patch_spec("stuck", json!({"pod": {"nodeSelector": null}})).await;
    let app = env.wait_ready("stuck").await;
    assert_eq!(condition(&app, "Degraded").map(|c| c.status.as_str()), Some("False"));
    env.stop().await;
}
