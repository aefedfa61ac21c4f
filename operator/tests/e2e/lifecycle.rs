//! Done-when 1 (a minimal TetrisApp becomes Ready with all its children), 4 (deleted or edited
//! children are put back) and 6 (deletion keeps or removes the scoreboard per deletionPolicy).

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Service};
use kube::ResourceExt;
use kube::api::{DeleteParams, Patch, PatchParams};

use crate::common::*;

const RESYNC: Duration = Duration::from_secs(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minimal_example_becomes_ready_with_owned_children_and_printer_columns() {
    let env = TestEnv::start("minimal", RESYNC).await;
    let _logs = env.cluster.log_guard();
    let file = repo_path("examples/minimal.yaml");
    env.cluster
        .run_kubectl(&["apply", "-n", &env.ns, "-f", &file.display().to_string()])
        .expect("kubectl apply examples/minimal.yaml");

    let app = env.wait_ready("tetris").await;
    let uid = app.uid().expect("uid");
    let status = app.status.clone().expect("status");
    assert_eq!(status.observed_generation, app.metadata.generation);
    assert_eq!(status.version.as_deref(), Some("0.1.0"));
    assert_eq!(status.ready_replicas, 1);
    assert_eq!(status.url.as_deref(), Some(format!("http://tetris.{}.svc/", env.ns).as_str()));
    for t in ["Ready", "Progressing", "Degraded"] {
        let c = condition(&app, t).unwrap_or_else(|| panic!("condition {t}"));
        assert_eq!(c.observed_generation, app.metadata.generation, "{t} observes the generation");
    }

    let owned_by_app = |refs: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference]| {
        refs.iter().any(|r| r.uid == uid && r.controller == Some(true) && r.kind == "TetrisApp")
    };
    let cm = env.api::<ConfigMap>().get("tetris-config").await.expect("ConfigMap");
    assert!(owned_by_app(cm.owner_references()), "ConfigMap owned");
    assert_eq!(
        cm.data.as_ref().and_then(|d| d.get("TETRIS_DATABASE")).map(String::as_str),
        Some("/data/scores.db")
    );
    let dep = env.api::<Deployment>().get("tetris").await.expect("Deployment");
    assert!(owned_by_app(dep.owner_references()), "Deployment owned");
    assert_eq!(image_of(&dep), "ghcr.io/tetris-operator/game-server:0.1.0");
    let svc = env.api::<Service>().get("tetris").await.expect("Service");
    assert!(owned_by_app(svc.owner_references()), "Service owned");
    let pvc = env.api::<PersistentVolumeClaim>().get("tetris-data").await.expect("PVC");
    assert!(
        pvc.owner_references().is_empty(),
        "under deletionPolicy Retain the claim is deliberately unowned"
    );
    for child in [cm.labels(), dep.labels(), svc.labels(), pvc.labels()] {
        assert!(!child.contains_key("app.kubernetes.io/instance"), "no Argo CD tracking label on children");
    }

    let pods = env.pods("tetris").await;
    assert_eq!(pods.len(), 1, "one replica");
    for pod in &pods {
        assert!(pod_ready(pod), "pod {} Ready", pod.name_any());
        let node = pod.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default();
        assert!(node.starts_with("kwok-node"), "scheduled on a kwok node, got {node:?}");
    }

    let table =
        env.cluster.run_kubectl(&["get", "tetrisapps", "-n", &env.ns]).expect("kubectl get tetrisapps");
    let header: Vec<&str> = table.lines().next().unwrap_or_default().split_whitespace().collect();
    assert_eq!(
        header,
        ["NAME", "VERSION", "REPLICAS", "READY", "STATUS", "PHASE", "STEP", "WEIGHT", "URL", "AGE"],
        "{table}"
    );
    // STEP and WEIGHT are empty outside a canary, so the row has two words fewer.
    let row: Vec<&str> = table.lines().nth(1).unwrap_or_default().split_whitespace().collect();
    assert_eq!(
        &row[..7],
        ["tetris", "0.1.0", "1", "1", "Available", "Healthy", &format!("http://tetris.{}.svc/", env.ns)],
        "{table}"
    );
    let short = env.cluster.run_kubectl(&["get", "ta", "-n", &env.ns, "-o", "name"]).expect("short name ta");
    assert_eq!(short.trim(), "tetrisapp.gameops.dev/tetris");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_children_are_recreated_and_manual_edits_reverted() {
    let env = TestEnv::start("selfheal", RESYNC).await;
    let _logs = env.cluster.log_guard();
    env.apply_app("apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: heal\nspec:\n  version: 1.0.0\n").await;
    env.wait_ready("heal").await;

    let services = env.api::<Service>();
    let old_uid = services.get("heal").await.expect("Service").uid();
    services.delete("heal", &DeleteParams::default()).await.expect("delete Service");
    wait_for("Service recreated with a new uid", || async {
        let svc = services.get_opt("heal").await.ok()??;
        (svc.uid() != old_uid).then_some(())
    })
    .await;

    let cms = env.api::<ConfigMap>();
    cms.delete("heal-config", &DeleteParams::default()).await.expect("delete ConfigMap");
    wait_for("ConfigMap recreated", || async { cms.get_opt("heal-config").await.ok()?.map(|_| ()) }).await;

    // A human edits the port the operator owns; the operator takes it back.
    let edit = serde_json::json!({"spec": {"ports": [{"name": "http", "port": 8081, "targetPort": "http", "protocol": "TCP"}]}});
    services.patch("heal", &PatchParams::default(), &Patch::Merge(&edit)).await.expect("edit Service port");
    wait_for("Service port reverted to 80", || async {
        let svc = services.get("heal").await.ok()?;
        let port = svc.spec?.ports?.first()?.port;
        (port == 80).then_some(())
    })
    .await;

    // A field the operator does not own (an extra annotation) is left alone.
    let note = serde_json::json!({"metadata": {"annotations": {"example.com/owner": "games-team"}}});
    services.patch("heal", &PatchParams::default(), &Patch::Merge(&note)).await.expect("annotate Service");
    let deployments = env.api::<Deployment>();
    let replicas = serde_json::json!({"spec": {"replicas": 3}});
    deployments
        .patch("heal", &PatchParams::default(), &Patch::Merge(&replicas))
        .await
        .expect("scale Deployment by hand");
    wait_for("Deployment replicas reverted to spec.replicas", || async {
        let dep = deployments.get("heal").await.ok()?;
        (dep.spec?.replicas == Some(1)).then_some(())
    })
    .await;
    let svc = services.get("heal").await.expect("Service");
    assert_eq!(svc.annotations().get("example.com/owner").map(String::as_str), Some("games-team"));
    assert!(event_reasons(&env, "heal").await.iter().any(|r| r == "Created"));
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_keeps_the_claim_under_retain_and_removes_it_under_delete() {
    let env = TestEnv::start("deletion", RESYNC).await;
    let _logs = env.cluster.log_guard();
    env.apply_app("apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: keep\nspec:\n  version: 1.0.0\n").await;
    env.apply_app(
        "apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: drop\nspec:\n  version: 1.0.0\n  storage:\n    deletionPolicy: Delete\n",
    )
    .await;
    env.wait_ready("keep").await;
    env.wait_ready("drop").await;
    let pvcs = env.api::<PersistentVolumeClaim>();
    assert!(
        pvcs.get("drop-data").await.expect("claim").owner_references().iter().any(|o| o.kind == "TetrisApp")
    );

    let apps = env.apps();
    apps.delete("keep", &DeleteParams::background()).await.expect("delete keep");
    apps.delete("drop", &DeleteParams::background()).await.expect("delete drop");
    let deployments = env.api::<Deployment>();
    wait_for("both Deployments garbage-collected", || async {
        let list = deployments.list(&Default::default()).await.ok()?;
        list.items.is_empty().then_some(())
    })
    .await;
    wait_for("claim drop-data deleted with its TetrisApp", || async {
        pvcs.get_opt("drop-data").await.ok()?.is_none().then_some(())
    })
    .await;
    let kept = pvcs.get("keep-data").await.expect("claim keep-data is retained");
    assert!(kept.owner_references().is_empty(), "retained claim is unowned");
    assert!(kept.metadata.deletion_timestamp.is_none(), "retained claim is not being deleted");
    wait_for("ScoreboardRetained event for keep", || async {
        event_reasons(&env, "keep").await.iter().any(|r| r == "ScoreboardRetained").then_some(())
    })
    .await;

    // A TetrisApp created again under the same name adopts the retained scoreboard.
    env.apply_app("apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: keep\nspec:\n  version: 1.0.0\n").await;
    env.wait_ready("keep").await;
    assert_eq!(pvcs.get("keep-data").await.expect("claim").uid(), kept.uid(), "same claim, same scores");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingress_follows_spec_ingress_and_is_removed_when_unset() {
    let env = TestEnv::start("ingress", RESYNC).await;
    let _logs = env.cluster.log_guard();
    env.apply_app(
        "apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: web\nspec:\n  version: 1.0.0\n  ingress:\n    host: tetris.example.com\n    className: nginx\n    tls:\n      secretName: web-tls\n",
    )
    .await;
    let app = env.wait_ready("web").await;
    assert_eq!(app.status.and_then(|s| s.url).as_deref(), Some("https://tetris.example.com/"));
    let ingresses = env.api::<k8s_openapi::api::networking::v1::Ingress>();
    let ing = ingresses.get("web").await.expect("Ingress");
    let spec = ing.spec.expect("spec");
    assert_eq!(spec.ingress_class_name.as_deref(), Some("nginx"));
    assert_eq!(spec.tls.expect("tls")[0].secret_name.as_deref(), Some("web-tls"));

    env.patch_spec("web", serde_json::json!({"ingress": null})).await;
    wait_for("Ingress removed once spec.ingress is unset", || async {
        ingresses.get_opt("web").await.ok()?.is_none().then_some(())
    })
    .await;
    let app = env.wait_ready("web").await;
    assert_eq!(app.status.and_then(|s| s.url), Some(format!("http://web.{}.svc/", env.ns)));
    env.stop().await;
}
