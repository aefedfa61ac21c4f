//! (f) Removing a TetrisApp's file from Git prunes it: its children go with it, and its volume
//! stays under the default `deletionPolicy: Retain`.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Service};
use kube::Api;

use crate::support::*;

fn tetrisapp(name: &str) -> String {
    format!(
        "apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: {name}\nspec:\n  version: \"0.1.0\"\n  replicas: 1\n"
    )
}

pub async fn removing_the_file_from_git_prunes_the_tetrisapp_and_its_children_but_keeps_the_volume() {
    let mut s = Scenario::new("argocd-prune").await;
    s.start_operator();
    for name in ["lobby", "tournament"] {
        s.repo.write(&format!("{APPS_PATH}/{name}.yaml"), &tetrisapp(name));
    }
    let first = s.repo.commit("lobby and tournament");
    s.create_application().await;
    s.wait_app(&first, "Healthy").await;
    let deployments: Api<Deployment> = Api::namespaced(s.client.clone(), &s.ns);
    let services: Api<Service> = Api::namespaced(s.client.clone(), &s.ns);
    let configmaps: Api<ConfigMap> = Api::namespaced(s.client.clone(), &s.ns);
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(s.client.clone(), &s.ns);
    let claim = claims.get("tournament-data").await.expect("tournament's volume claim");

    s.repo.remove(&format!("{APPS_PATH}/tournament.yaml"));
    let removed = s.push("tournament removed").await;
    let app = s.wait_app(&removed, "Healthy").await;
    let tracked: Vec<&str> = app["status"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(tracked, ["lobby"]);

    s.wait("tournament and its children gone", || async {
        let gone = s.tetrisapp("tournament").await.is_none()
            && deployments.get_opt("tournament").await.ok()?.is_none()
            && services.get_opt("tournament").await.ok()?.is_none()
            && configmaps.get_opt("tournament-config").await.ok()?.is_none();
        gone.then_some(())
    })
    .await;
    let kept = claims.get("tournament-data").await.expect("the volume claim is retained");
    assert_eq!(kept.metadata.uid, claim.metadata.uid, "the same claim, not a new one");
    assert!(deployments.get_opt("lobby").await.ok().flatten().is_some(), "lobby is untouched");
    assert!(is_ready(&s.tetrisapp("lobby").await.expect("lobby exists")));
}
