//! (c) An invalid TetrisApp committed to Git: the sync fails with the API server's message naming
//! the field, and nothing else changes.
//!
//! Only the invalid object is in the commit: Argo CD applies a sync's objects one by one (with
//! server-side apply its dry run passes them all), so a valid change committed beside an invalid
//! one is applied, and only the invalid object fails.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;

use crate::support::*;

const LOBBY: &str = "apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: lobby\nspec:\n  version: \"0.1.0\"\n  replicas: 1\n";

pub async fn an_invalid_tetrisapp_fails_the_sync_with_the_field_named_and_changes_nothing() {
    let mut s = Scenario::new("argocd-invalid").await;
    s.start_operator();
    s.repo.write(&format!("{APPS_PATH}/lobby.yaml"), LOBBY);
    let first = s.repo.commit("lobby");
    s.create_application().await;
    s.wait_app(&first, "Healthy").await;
    let before = s.tetrisapp("lobby").await.expect("lobby exists");
    let configmaps: Api<ConfigMap> = Api::namespaced(s.client.clone(), &s.ns);
    let config_before = configmaps.get("lobby-config").await.expect("lobby's ConfigMap").data;
    let deployments: Api<Deployment> = Api::namespaced(s.client.clone(), &s.ns);
    let generation = |d: Deployment| d.metadata.generation;
    let deployment_before = deployments.get("lobby").await.map(generation).expect("lobby's Deployment");

    // The API server rejects replicas -1 (the CRD's minimum is 0).
    let invalid = std::fs::read_to_string(repo_path("examples/invalid/negative-replicas.yaml"))
        .expect("examples/invalid/negative-replicas.yaml");
    s.repo.write(&format!("{APPS_PATH}/negative.yaml"), &invalid);
    let bad = s.push("an invalid TetrisApp").await;

    let app = s
        .wait("the sync of the invalid commit failed", || async {
            let app = s.application().await?;
            let operation = &app["status"]["operationState"];
            let attempted = operation["syncResult"]["revision"] == bad.as_str()
                || operation["operation"]["sync"]["revision"] == bad.as_str();
            let failed = operation["phase"] == "Failed"
                || operation["message"].as_str().is_some_and(|m| m.contains("Retrying attempt"));
            (attempted && failed).then_some(app)
        })
        .await;
    let message = app["status"]["operationState"]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("spec.replicas"), "the sync names the field: {message}");
    assert!(message.contains("greater than or equal to 0"), "with the API server's reason: {message}");
    let results =
        app["status"]["operationState"]["syncResult"]["resources"].as_array().cloned().unwrap_or_default();
    let negative = results.iter().find(|r| r["name"] == "negative").cloned().unwrap_or_default();
    assert_eq!(negative["status"], "SyncFailed", "{negative}");
    assert!(negative["message"].as_str().unwrap_or_default().contains("spec.replicas"), "{negative}");
    assert_eq!(app["status"]["sync"]["status"], "OutOfSync", "Git and the cluster now differ");
    assert_eq!(app["status"]["health"]["status"], "Healthy", "what runs is unaffected");

    assert!(s.tetrisapp("negative").await.is_none(), "the invalid TetrisApp was not created");
    let after = s.tetrisapp("lobby").await.expect("lobby exists");
    assert_eq!(
        after["metadata"]["generation"], before["metadata"]["generation"],
        "lobby's spec is unchanged"
    );
    assert!(is_ready(&after), "{after}");
    let config_after = configmaps.get("lobby-config").await.expect("lobby's ConfigMap").data;
    assert_eq!(config_after, config_before, "lobby's ConfigMap is unchanged");
    let deployment_after = deployments.get("lobby").await.map(generation).expect("lobby's Deployment");
    assert_eq!(deployment_after, deployment_before, "lobby's Deployment spec is unchanged");
}
