//! (e) Self-heal: a manual `kubectl patch` of a TetrisApp's spec is reverted to what Git holds,
//! and the operator follows both changes.

use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use serde_json::json;

use crate::support::*;

pub async fn self_heal_reverts_a_manual_patch_and_the_operator_follows() {
    let mut s = Scenario::new("argocd-heal").await;
    s.start_operator();
    let lobby = "apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: lobby\nspec:\n  version: \"0.1.0\"\n  replicas: 1\n";
    s.repo.write(&format!("{APPS_PATH}/lobby.yaml"), lobby);
    let revision = s.repo.commit("lobby");
    s.create_application().await;
    let synced = s.wait_app(&revision, "Healthy").await;
    let first_sync = synced["status"]["operationState"]["startedAt"].clone();
    let before = s.tetrisapp("lobby").await.expect("lobby exists");
    let generation = before["metadata"]["generation"].as_i64().expect("metadata.generation");

    s.kubectl_patch("lobby", &json!({"spec": {"replicas": 3}}));
    let healed = s
        .wait("the patch reverted and the operator done with it", || async {
            let app = s.tetrisapp("lobby").await?;
            let reverted = app["metadata"]["generation"].as_i64()? >= generation + 2;
            (reverted && app["spec"]["replicas"] == 1 && is_ready(&app)).then_some(app)
        })
        .await;
    assert_eq!(
        healed["metadata"]["generation"].as_i64(),
        Some(generation + 2),
        "one patch, one revert: {healed}"
    );
    let deployments: Api<Deployment> = Api::namespaced(s.client.clone(), &s.ns);
    let replicas = deployments.get("lobby").await.ok().and_then(|d| d.spec?.replicas);
    assert_eq!(replicas, Some(1), "the operator scaled the Deployment back");

    let app = s.wait_app(&revision, "Healthy").await;
    let operation = &app["status"]["operationState"];
    assert_ne!(operation["startedAt"], first_sync, "a second sync ran: {operation:#}");
    assert_eq!(operation["phase"], "Succeeded");
    assert_eq!(operation["operation"]["initiatedBy"]["automated"], true, "started by self-heal");
}
