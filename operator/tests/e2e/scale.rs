//! Issue 12, the operator's part: beyond one node.
//! - With `scoreboard.backend: postgres` there is no claim and no same-node rule: the URI comes
//!   from the (CloudNativePG-shaped) Secret through `secretKeyRef`, the pods spread over two nodes,
//!   and the NetworkPolicy admits the app's own pods on the game port.
//! - `spec.autoscaling` becomes an HPA aimed at the TetrisApp's scale subresource. The real HPA
//!   controller of the local control plane raises `spec.replicas` to `minReplicas` (it does that
//!   before it reads any metric); a scale written through the subresource, as the HPA writes one,
//!   is followed by the Deployment, not reverted. CPU-driven scaling itself is not exercised: the
//!   local control plane has no metrics-server (nothing serves `metrics.k8s.io`, and kwok pods use no
//!   CPU), so the HPA reports `FailedGetResourceMetric` and leaves the count where it is. The raise
//!   to `minReplicas` can take up to half a minute after the CRD is installed: the controller-manager
//!   learns about a new kind's scale subresource only when it refreshes its discovery (every 30 s).
//! - The PodDisruptionBudget (default `maxUnavailable: 1`, then `spec.disruption`) and the HPA
//!   appear and go with the spec; manual edits of both are corrected; a resync writes nothing.
//! - Switching an app from SQLite to PostgreSQL keeps its claim, says so in a condition and an
//!   Event, and the condition goes once the user deletes the claim.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Secret};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::json;
use tetris_operator::crd::TetrisApp;

use crate::common::*;

/// A Secret shaped like the one CloudNativePG writes for a cluster named `scores` (`scores-app`).
async fn cloudnativepg_secret(env: &TestEnv) {
    let ns = &env.ns;
    let data = BTreeMap::from([
        ("username".to_owned(), "app".to_owned()),
        ("password".to_owned(), "not-a-real-password".to_owned()),
        ("host".to_owned(), format!("scores-rw.{ns}")),
        ("port".to_owned(), "5432".to_owned()),
        ("dbname".to_owned(), "app".to_owned()),
        ("uri".to_owned(), format!("postgresql://app:not-a-real-password@scores-rw.{ns}:5432/app")),
    ]);
    let secret = Secret {
        metadata: ObjectMeta { name: Some("scores-app".into()), ..ObjectMeta::default() },
        type_: Some("kubernetes.io/basic-auth".into()),
        string_data: Some(data),
        ..Secret::default()
    };
    env.api::<Secret>().create(&PostParams::default(), &secret).await.expect("Secret");
}

/// Waits until the operator has reconciled three times (resyncs, the HPA's and the budget's status
/// updates) without writing anything in the namespace; returns the writes so far.
async fn settled_writes(env: &TestEnv, resync: Duration) -> Vec<String> {
    let mut last = env.operator_writes();
    let mut since = env.metrics.reconciles();
    for _ in 0..40 {
        tokio::time::sleep(resync).await;
        let now = env.operator_writes();
        if now != last {
            (last, since) = (now, env.metrics.reconciles());
        } else if env.metrics.reconciles() >= since + 3 {
            return now;
        }
    }
    panic!("the operator kept writing: {:#?}", env.operator_writes());
}

fn replicas_of(app: &TetrisApp) -> i32 {
    app.spec.replicas
}

async fn deployment_replicas(env: &TestEnv, name: &str) -> Option<i32> {
    env.deployment(name).await.spec.and_then(|s| s.replicas)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_app_spreads_without_a_volume_follows_its_autoscaler_and_keeps_a_budget() {
    dedicated_node("scale-a", "scale");
    dedicated_node("scale-b", "scale");
    let resync = Duration::from_secs(2);
    let env = TestEnv::start("scale", resync).await;
    let _logs = env.cluster.log_guard();
    cloudnativepg_secret(&env).await;
    let yaml = format!(
        "apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: hiscore\nspec:\n  version: 1.0.0\n  replicas: 1\n  resources:\n    requests: {{cpu: 100m}}\n  scoreboard:\n    backend: postgres\n    postgres:\n      secretRef: {{name: scores-app}}\n      poolSize: 5\n  autoscaling:\n    minReplicas: 2\n    maxReplicas: 4\n    targetCPUUtilizationPercentage: 60\n  networkPolicy:\n    enabled: true\n{}",
        placed_on("scale")
    );
    let created = env.apply_app(&yaml).await;
    let uid = created.metadata.uid.clone().expect("uid");

    // The HPA aims at the TetrisApp, owned by it.
    let hpas: Api<HorizontalPodAutoscaler> = env.api();
    let hpa = wait_for("the HPA", || async { hpas.get_opt("hiscore").await.ok()? }).await;
    let target = &hpa.spec.scale_target_ref;
    assert_eq!(
        (target.api_version.as_deref(), target.kind.as_str(), target.name.as_str()),
        (Some("gameops.dev/v1alpha1"), "TetrisApp", "hiscore")
    );
    assert_eq!((hpa.spec.min_replicas, hpa.spec.max_replicas), (Some(2), 4));
    let metric = hpa.spec.metrics.as_ref().and_then(|m| m.first()).and_then(|m| m.resource.as_ref());
    assert_eq!(metric.map(|r| (r.name.as_str(), r.target.average_utilization)), Some(("cpu", Some(60))));
    let owner = hpa.metadata.owner_references.as_ref().and_then(|o| o.first()).expect("owner");
    assert_eq!((owner.uid.as_str(), owner.controller), (uid.as_str(), Some(true)));

    // The real HPA controller raises spec.replicas to minReplicas through the scale subresource.
    let app = wait_for("the HPA controller to write spec.replicas = 2", || async {
        let app = env.apps().get("hiscore").await.ok()?;
        (replicas_of(&app) == 2).then_some(app)
    })
    .await;
    let through_scale = app
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .any(|m| m.subresource.as_deref() == Some("scale") && m.manager.as_deref() != Some("test"));
    assert!(through_scale, "spec.replicas was written through /scale: {:?}", app.metadata.managed_fields);
    let app = env.wait_ready("hiscore").await;
    assert_eq!(app.status.as_ref().map(|s| s.ready_replicas), Some(2));

    // No claim, no same-node rule: two pods on two nodes.
    let claims: Api<PersistentVolumeClaim> = env.api();
    assert!(claims.get_opt("hiscore-data").await.expect("get").is_none(), "no claim in postgres mode");
    let dep = env.deployment("hiscore").await;
    let pod = dep.spec.as_ref().and_then(|s| s.template.spec.clone()).expect("pod spec");
    assert!(
        pod.affinity.as_ref().and_then(|a| a.pod_affinity.as_ref()).is_none(),
        "no same-node affinity: {:?}",
        pod.affinity
    );
    assert!(pod.volumes.iter().flatten().all(|v| v.persistent_volume_claim.is_none()), "no claim mounted");
    let spread = pod.topology_spread_constraints.clone().unwrap_or_default();
    assert!(
        spread
            .iter()
            .any(|c| c.topology_key == "kubernetes.io/hostname" && c.when_unsatisfiable == "ScheduleAnyway"),
        "{spread:?}"
    );
    let env_var = |name: &str| pod.containers[0].env.iter().flatten().find(|e| e.name == name).cloned();
    let url = env_var("TETRIS_DATABASE_URL").and_then(|e| e.value_from).and_then(|v| v.secret_key_ref);
    assert_eq!(url.map(|k| (k.name, k.key)), Some(("scores-app".to_owned(), "uri".to_owned())));
    let ip = env_var("TETRIS_POD_IP").and_then(|e| e.value_from).and_then(|v| v.field_ref);
    assert_eq!(ip.map(|f| f.field_path), Some("status.podIP".to_owned()));
    let cm = env.api::<ConfigMap>().get("hiscore-config").await.expect("ConfigMap");
    let data = cm.data.unwrap_or_default();
    assert_eq!(data.get("TETRIS_SCOREBOARD_BACKEND").map(String::as_str), Some("postgres"));
    assert_eq!(data.get("TETRIS_DATABASE_POOL_SIZE").map(String::as_str), Some("5"));
    assert!(data.values().all(|v| !v.contains("postgresql://")), "the URI never enters the ConfigMap");
    let nodes: BTreeSet<String> =
        env.pods("hiscore").await.iter().filter_map(|p| p.spec.as_ref()?.node_name.clone()).collect();
    assert_eq!(nodes.len(), 2, "the two pods spread over both nodes: {nodes:?}");
    let np = env.api::<NetworkPolicy>().get("hiscore").await.expect("NetworkPolicy");
    let own_pods = np.spec.and_then(|s| s.ingress).unwrap_or_default().into_iter().any(|r| {
        r.from.iter().flatten().any(|p| {
            p.pod_selector
                .as_ref()
                .and_then(|s| s.match_labels.as_ref())
                .and_then(|l| l.get("gameops.dev/tetrisapp"))
                == Some(&"hiscore".to_owned())
        }) && r.ports.iter().flatten().any(|p| p.port == Some(IntOrString::String("http".into())))
    });
    assert!(own_pods, "the app's own pods are admitted on the game port");

    // The default budget: one pod at a time.
    let pdbs: Api<PodDisruptionBudget> = env.api();
    let pdb = pdbs.get("hiscore").await.expect("PodDisruptionBudget");
    let spec = pdb.spec.clone().expect("spec");
    assert_eq!((spec.max_unavailable, spec.min_available), (Some(IntOrString::Int(1)), None));
    assert_eq!(
        spec.selector.and_then(|s| s.match_labels).and_then(|l| l.get("gameops.dev/tetrisapp").cloned()),
        Some("hiscore".to_owned())
    );
    assert_eq!(pdb.metadata.owner_references.map(|o| o[0].uid.clone()), Some(uid.clone()));

    // A scale written through the subresource, as the HPA writes one, is followed.
    env.apps()
        .patch_scale("hiscore", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 3}})))
        .await
        .expect("scale");
    wait_for("the Deployment to follow the scale", || async {
        (deployment_replicas(&env, "hiscore").await == Some(3)).then_some(())
    })
    .await;
    wait_for("three ready replicas", || async {
        let app = env.apps().get("hiscore").await.ok()?;
        (is_ready(&app) && app.status.as_ref()?.ready_replicas == 3).then_some(())
    })
    .await;

    // Nothing changes: reconciles write nothing, and the scale stays.
    let before = settled_writes(&env, resync).await;
    // The audit log is written as requests complete; give the last reconcile's requests time to land.
    tokio::time::sleep(resync).await;
    assert_eq!(env.operator_writes(), before, "a no-op reconcile writes nothing");
    assert_eq!(deployment_replicas(&env, "hiscore").await, Some(3), "the HPA's count is not reverted");
    assert_eq!(env.apps().get("hiscore").await.map(|a| replicas_of(&a)).ok(), Some(3));

    // Manual edits of the HPA and the budget are corrected.
    hpas.patch("hiscore", &PatchParams::default(), &Patch::Merge(json!({"spec": {"maxReplicas": 10}})))
        .await
        .expect("edit HPA");
    pdbs.patch("hiscore", &PatchParams::default(), &Patch::Merge(json!({"spec": {"maxUnavailable": 3}})))
        .await
        .expect("edit PDB");
    wait_for("HPA and PDB restored", || async {
        let hpa = hpas.get("hiscore").await.ok()?;
        let pdb = pdbs.get("hiscore").await.ok()?.spec?;
        (hpa.spec.max_replicas == 4 && pdb.max_unavailable == Some(IntOrString::Int(1))).then_some(())
    })
    .await;

    // spec.disruption replaces the default; unsetting autoscaling removes the HPA and keeps the count.
    env.patch_spec("hiscore", json!({"disruption": {"minAvailable": 1}, "autoscaling": null})).await;
    wait_for("minAvailable budget and no HPA", || async {
        let pdb = pdbs.get("hiscore").await.ok()?.spec?;
        let budget = pdb.min_available == Some(IntOrString::Int(1)) && pdb.max_unavailable.is_none();
        (budget && hpas.get_opt("hiscore").await.ok()?.is_none()).then_some(())
    })
    .await;
    assert_eq!(deployment_replicas(&env, "hiscore").await, Some(3));

    // Back to SQLite: the claim and the same-node rule return, the budget goes.
    env.patch_spec(
        "hiscore",
        json!({"disruption": null, "scoreboard": {"backend": "sqlite", "postgres": null}}),
    )
    .await;
    wait_for("claim back, budget gone", || async {
        let claim = claims.get_opt("hiscore-data").await.ok()?;
        (claim.is_some() && pdbs.get_opt("hiscore").await.ok()?.is_none()).then_some(())
    })
    .await;
    let dep = env.deployment("hiscore").await;
    let pod = dep.spec.and_then(|s| s.template.spec).expect("pod spec");
    assert!(pod.affinity.and_then(|a| a.pod_affinity).is_some(), "same-node rule with ReadWriteOnce SQLite");
    assert!(
        pod.containers[0]
            .env
            .iter()
            .flatten()
            .all(|e| e.name != "TETRIS_DATABASE_URL" && e.name != "TETRIS_POD_IP"),
        "a SQLite app's pods are as before"
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_to_postgres_keeps_the_sqlite_claim_until_the_user_deletes_it() {
    let env = TestEnv::start("migrate", Duration::from_secs(300)).await;
    let _logs = env.cluster.log_guard();
    env.apply_app("apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: moving\nspec:\n  version: 1.0.0\n").await;
    env.wait_ready("moving").await;
    let claims: Api<PersistentVolumeClaim> = env.api();
    assert!(claims.get_opt("moving-data").await.expect("get").is_some(), "SQLite claim");

    cloudnativepg_secret(&env).await;
    env.patch_spec(
        "moving",
        json!({"scoreboard": {"backend": "postgres", "postgres": {"secretRef": {"name": "scores-app"}}}}),
    )
    .await;
    let app = env.wait_ready("moving").await;
    let kept = condition(&app, "SQLiteVolumeRetained").expect("condition");
    assert_eq!((kept.status.as_str(), kept.reason.as_str()), ("True", "KeptForImport"));
    assert!(
        kept.message.contains("moving-data") && kept.message.contains("spec.scoreboard.backend"),
        "{}",
        kept.message
    );
    assert_eq!(condition(&app, "Degraded").map(|c| c.status.as_str()), Some("False"), "kept, not a fault");
    assert!(claims.get_opt("moving-data").await.expect("get").is_some(), "the scores are still there");
    let dep = env.deployment("moving").await;
    let pod = dep.spec.and_then(|s| s.template.spec).expect("pod spec");
    assert!(pod.volumes.iter().flatten().all(|v| v.persistent_volume_claim.is_none()), "no longer mounted");
    wait_for("the SQLiteVolumeRetained Event", || async {
        event_reasons(&env, "moving").await.iter().any(|r| r == "SQLiteVolumeRetained").then_some(())
    })
    .await;

    claims.delete("moving-data", &DeleteParams::default()).await.expect("delete claim");
    wait_for("the condition to go with the claim", || async {
        let app = env.apps().get("moving").await.ok()?;
        (condition(&app, "SQLiteVolumeRetained").is_none() && is_ready(&app)).then_some(())
    })
    .await;
    assert!(claims.get_opt("moving-data").await.expect("get").is_none(), "the operator did not recreate it");
    env.stop().await;
}
