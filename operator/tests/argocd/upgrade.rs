//! (b) A version bump committed to Git: the Application goes Progressing while the rollout runs,
//! then Healthy with the new version.

use crate::support::*;

/// A TetrisApp whose pods may run only on this scenario's own node, so cordoning that node holds
/// the rollout's surge pod Pending (kwok makes scheduled pods Ready at once).
fn tetrisapp(version: &str) -> String {
    format!(
        "apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: lobby\nspec:\n  version: \"{version}\"\n  replicas: 1\n  game:\n    title: Lobby Tetris\n  pod:\n    nodeSelector:\n      tetris-test/group: {NODE}\n    tolerations:\n    - key: tetris-test/group\n      operator: Equal\n      value: {NODE}\n      effect: NoSchedule\n"
    )
}

const NODE: &str = "argocd-upgrade";

pub async fn a_version_bump_in_git_is_progressing_then_healthy_with_the_new_version() {
    let mut s = Scenario::new("argocd-upgrade").await;
    if let Err(e) = s.cluster.add_dedicated_node(NODE, "tetris-test/group", NODE) {
        panic!("creating node {NODE}: {e}");
    }
    s.start_operator();
    let file = format!("{APPS_PATH}/lobby.yaml");
    s.repo.write(&file, &tetrisapp("0.1.0"));
    let first = s.repo.commit("lobby 0.1.0");
    s.create_application().await;
    s.wait_app(&first, "Healthy").await;

    s.cluster.run_kubectl(&["cordon", NODE]).expect("cordon");
    s.repo.write(&file, &tetrisapp("0.2.0"));
    let bump = s.push("lobby 0.2.0").await;
    // Progressing at first only because the operator has not seen the new generation yet; then
    // because the rollout runs, which the TetrisApp's health message shows.
    let app = s
        .wait("the Application Progressing with the rollout of 0.2.0", || async {
            let app = s.application().await?;
            let status = &app["status"];
            let health = resource_health(&app, "TetrisApp", "lobby")?;
            let rolling = health["message"].as_str()?.starts_with("RollingOut: ");
            (status["sync"]["revision"] == bump.as_str()
                && status["sync"]["status"] == "Synced"
                && status["health"]["status"] == "Progressing"
                && health["status"] == "Progressing"
                && rolling)
                .then_some(app)
        })
        .await;
    assert_eq!(app["status"]["sync"]["status"], "Synced", "a rollout is not drift");
    let lobby = s.tetrisapp("lobby").await.expect("lobby exists");
    assert_eq!(lobby["status"]["version"], "0.1.0", "0.1.0 serves until the rollout completes");
    assert_eq!(lobby["status"]["targetVersion"], "0.2.0");

    s.cluster.run_kubectl(&["uncordon", NODE]).expect("uncordon");
    let app = s.wait_app(&bump, "Healthy").await;
    let health = resource_health(&app, "TetrisApp", "lobby").cloned().unwrap_or_default();
    assert_eq!(health["message"], "Available: 1 of 1 replicas ready on version 0.2.0", "{health}");
    let lobby = s.tetrisapp("lobby").await.expect("lobby exists");
    assert!(is_ready(&lobby), "{lobby}");
    assert_eq!(lobby["status"]["version"], "0.2.0");
}
