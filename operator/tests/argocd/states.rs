//! (d) The health Argo CD shows for a stuck rollout (Degraded, from the operator's progress
//! deadline) and for an app scaled to zero (Suspended).

use crate::support::*;

pub async fn a_rollout_past_its_progress_deadline_shows_degraded() {
    let mut s = Scenario::new("argocd-stuck").await;
    s.start_operator();
    // No node carries this label: the pod stays Pending and the Deployment misses its deadline.
    let stuck = "apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: stuck\nspec:\n  version: \"0.1.0\"\n  pod:\n    nodeSelector:\n      tetris-test/nowhere: \"true\"\n  upgrade:\n    progressDeadlineSeconds: 30\n";
    s.repo.write(&format!("{APPS_PATH}/stuck.yaml"), stuck);
    let revision = s.repo.commit("a TetrisApp no node can run");
    s.create_application().await;
    s.wait_app(&revision, "Progressing").await;
    let app = s.wait_app(&revision, "Degraded").await;
    let health = resource_health(&app, "TetrisApp", "stuck").cloned().unwrap_or_default();
    let message = health["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("ProgressDeadlineExceeded: "), "{health}");
}

pub async fn replicas_zero_in_git_shows_suspended() {
    let mut s = Scenario::new("argocd-zero").await;
    s.start_operator();
    let file = format!("{APPS_PATH}/lobby.yaml");
    let lobby = |replicas: u8| {
        format!(
            "apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: lobby\nspec:\n  version: \"0.1.0\"\n  replicas: {replicas}\n"
        )
    };
    s.repo.write(&file, &lobby(1));
    let first = s.repo.commit("lobby, one replica");
    s.create_application().await;
    s.wait_app(&first, "Healthy").await;

    s.repo.write(&file, &lobby(0));
    let zero = s.push("lobby scaled to zero").await;
    let app = s.wait_app(&zero, "Suspended").await;
    let health = resource_health(&app, "TetrisApp", "lobby").cloned().unwrap_or_default();
    assert_eq!(health["message"], "Scaled to zero replicas; the scoreboard volume is kept", "{health}");
}
