//! 3d and 3e: the kubelet restarts a killed game container without losing an acknowledged score,
//! and a game setting changed in the TetrisApp rolls the pods and is served.

use crate::support::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn a_sigkilled_game_container_restarts_and_keeps_every_acknowledged_score() {
    let env = Env::new("sigkill").await;
    let name = "tetris";
    env.apply_app(name, OLD, "").await;
    env.wait_ready(name, OLD).await;
    let game = Game::new(env.service_url(name).await);
    let pod = env.pods(name).await.into_iter().find(pod_ready).expect("a Ready pod");
    let (stop, stream) = submit_stream(game.clone(), "kill");
    tokio::time::sleep(Duration::from_secs(3)).await;

    let pid = game_process(&pod).expect("the game container's process");
    let killed = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status().expect("kill");
    assert!(killed.success(), "SIGKILL sent to {pid}");
    let pods = env.api::<k8s_openapi::api::core::v1::Pod>();
    let pod_name = name_of(&pod);
    eventually("the kubelet restarted the container and it is Ready again", STEP, || async {
        let p = pods.get_opt(&pod_name).await.ok()??;
        let restarts = p.status.as_ref()?.container_statuses.as_ref()?.first()?.restart_count;
        (restarts >= 1 && pod_ready(&p)).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let _ = stop.send(true);
    let acked = stream.await.expect("submit stream");
    assert!(acked.len() >= 3, "scores were acknowledged around the kill ({})", acked.len());
    game.assert_on_board(&acked).await;
}

#[tokio::test]
async fn a_changed_game_setting_rolls_the_pods_and_is_served() {
    let env = Env::new("settings").await;
    let name = "tetris";
    env.apply_app(name, OLD, "").await;
    env.wait_ready(name, OLD).await;
    let game = Game::new(env.service_url(name).await);
    let before: Vec<String> = env.pods(name).await.iter().map(name_of).collect();
    let config = game.get_json("/api/config").await.expect("/api/config");
    assert_ne!(config["title"], "Friday Tetris");

    env.patch_spec(name, json!({"game": {"title": "Friday Tetris"}})).await;
    eventually("the new title is served by a new pod", STEP, || async {
        let c = game.get_json("/api/config").await?;
        (c["title"] == "Friday Tetris").then_some(())
    })
    .await;
    env.wait_ready(name, OLD).await;
    // The old pod drains (seconds without matches) and goes; only new pods are left.
    let after = eventually("only new pods are left", STEP, || async {
        let now: Vec<String> = env.pods(name).await.iter().map(name_of).collect();
        (!now.is_empty() && now.iter().all(|p| !before.contains(p))).then_some(now)
    })
    .await;
    println!("setting change replaced {before:?} with {after:?}");
}
