//! Canary and blue/green on real pods (issue 10): the replica split of each canary step and the
//! share of new quick-match rooms it gives through the Service; a blue/green switch with a duo
//! match on the old version, which plays to its end, and scores acknowledged throughout.

use crate::support::*;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use serde_json::json;
use std::time::{Duration, Instant};
use tetris_operator::crd::TetrisApp;

fn role(p: &Pod) -> &str {
    p.labels().get("gameops.dev/role").map(String::as_str).unwrap_or("stable")
}

/// Waits for `status.rollout` at `phase`/`step` with exactly `stable` + `canary` ready pods.
async fn wait_split(env: &Env, name: &str, phase: &str, step: i32, stable: usize, canary: usize) -> Vec<Pod> {
    let apps = env.api::<TetrisApp>();
    eventually(&format!("{phase} at step {step}: {stable} stable + {canary} canary pods"), STEP, || async {
        let app = apps.get(name).await.ok()?;
        let r = app.status.as_ref()?.rollout.clone()?;
        let pods: Vec<Pod> =
            env.pods(name).await.into_iter().filter(|p| p.metadata.deletion_timestamp.is_none()).collect();
        let count = |which: &str| pods.iter().filter(|p| role(p) == which && pod_ready(p)).count();
        (format!("{:?}", r.phase) == phase
            && r.step == Some(step)
            && pods.len() == stable + canary
            && count("stable") == stable
            && count("canary") == canary)
            .then_some(pods)
    })
    .await
}

#[tokio::test]
async fn canary_steps_give_their_replica_split_and_that_share_of_new_rooms() {
    let env = Env::new("canary").await;
    let name = "tetris";
    let spec = "  replicas: 4\n  clients:\n    maxConnectionsPerClient: 0\n    maxRoomsPerClient: 0\n  upgrade:\n    strategy: Canary\n    drainSeconds: 30\n    canary:\n      steps:\n      - setWeight: 25\n      - pause: {}\n      - setWeight: 100\n      - pause: {seconds: 15}\n";
    env.apply_app(name, OLD, spec).await;
    env.wait_ready(name, OLD).await;
    let started = Instant::now();
    env.patch_spec(name, json!({"version": NEW})).await;
    // 25% of 4: ceil(0.25 x 4) = 1 canary pod, 3 stable.
    let pods = wait_split(&env, name, "Paused", 1, 3, 1).await;

    // The Service's endpoints and kube-proxy lag the pods' readiness: the split is measured once
    // every pod is an endpoint and a fresh connection has reached the canary version.
    let ips: std::collections::BTreeSet<String> =
        pods.iter().filter_map(|p| p.status.as_ref()?.pod_ip.clone()).collect();
    eventually("all four pods behind the Service", STEP, || async {
        let endpoints: std::collections::BTreeSet<String> =
            env.ready_endpoints(name).await.into_iter().collect();
        (endpoints == ips).then_some(())
    })
    .await;
    let game = Game::new(env.service_url(name).await);
    eventually("a fresh connection through the Service reaches the canary", STEP, || async {
        (game.get_json("/version").await?["version"] == NEW).then_some(())
    })
    .await;

    // 200 quick-match room creations through the Service, all held open, then each pod's rooms.
    let mut players = Vec::new();
    for i in 0..200 {
        let (mut p, _) = Player::join(&game.ws_url()).await;
        p.send(json!({"type": "quick_match", "name": format!("q{i}"), "startLevel": 0})).await;
        p.next().await;
        players.push(p);
    }
    let (mut on_canary, mut total) = (0.0, 0.0);
    for pod in &pods {
        let rooms = pod_metric(pod, "tetris_rooms").await.expect("the pod's rooms gauge");
        total += rooms;
        if role(pod) == "canary" {
            on_canary += rooms;
        }
    }
    let share = on_canary / total;
    println!(
        "canary at 25% (1 pod of 4): {on_canary} of {total} new quick-match rooms ({:.1}%) on the canary",
        share * 100.0
    );
    assert!(total >= 100.0, "200 quick-match players open at least 100 rooms ({total})");
    assert!(
        (0.13..=0.37).contains(&share),
        "about a quarter of new rooms on the canary: {:.1}%",
        share * 100.0
    );
    drop(players);

    // Promoted with the plugin: 100% is 0 stable + 4 canary during the timed pause, then the
    // stable pods roll to the new version and the canary ones go.
    kubectl_with_plugin(&["tetris", "promote", name, "-n", &env.ns]);
    wait_split(&env, name, "Paused", 3, 0, 4).await;
    let app = env.wait_ready(name, NEW).await;
    assert_eq!(app.status.and_then(|s| s.version).as_deref(), Some(NEW));
    println!("canary {OLD} -> {NEW} through its steps: {:.1}s", started.elapsed().as_secs_f64());
}

#[tokio::test]
async fn blue_green_switches_at_promotion_and_the_match_on_the_old_version_finishes() {
    let env = Env::new("bluegreen").await;
    let name = "tetris";
    env.apply_app(name, OLD, "  upgrade:\n    strategy: BlueGreen\n    drainSeconds: 60\n    blueGreen:\n      scaleDownDelaySeconds: 5\n").await;
    env.wait_ready(name, OLD).await;
    let game = Game::new(env.service_url(name).await);
    // kube-proxy may program a new Service after its pod is Ready (a loaded run's first
    // connection timed out): the players join once the Service answers.
    eventually("the Service answers", STEP, || async {
        (game.get_json("/version").await?["version"] == OLD).then_some(())
    })
    .await;
    let pods = env.api::<Pod>();
    let old = env.pods(name).await.into_iter().find(pod_ready).expect("the old pod");
    let exit = tokio::spawn(watch_exit(pods.clone(), name_of(&old)));
    let (mut a, mut b) = Player::pair(&game.ws_url()).await;
    a.relay(&mut b, 100).await;
    let (stop, stream) = submit_stream(game.clone(), "bg");

    env.patch_spec(name, json!({"version": NEW})).await;
    let apps = env.api::<TetrisApp>();
    eventually("every new pod Ready behind the preview Service, waiting for promotion", STEP, || async {
        let app = apps.get(name).await.ok()?;
        let paused =
            app.status.as_ref()?.rollout.as_ref().map(|r| format!("{:?}", r.phase)) == Some("Paused".into());
        paused.then_some(())
    })
    .await;
    let preview = Game::new(env.service_url(&format!("{name}-preview")).await);
    eventually("the preview Service reaches the new version", STEP, || async {
        (preview.get_json("/version").await?["version"] == NEW).then_some(())
    })
    .await;
    // Manual promotion waits: a while later players still land on the old version only.
    for _ in 0..10 {
        let v = game.get_json("/version").await.expect("the main Service answers");
        assert_eq!(v["version"], OLD, "before promotion the main Service stays on the old version");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    a.relay(&mut b, 200).await;

    env.patch_spec(name, json!({"upgrade": {"promote": NEW}})).await;
    eventually("the main Service switched to the new version", STEP, || async {
        (game.get_json("/version").await?["version"] == NEW).then_some(())
    })
    .await;
    let terminating_at = eventually("the old pod terminating after the switch", STEP, || async {
        let pod = pods.get_opt(&name_of(&old)).await.ok()?;
        pod.is_none_or(|p| p.metadata.deletion_timestamp.is_some()).then(Instant::now)
    })
    .await;
    // The match on the old version plays to its end; the old container drains and exits 0.
    b.relay(&mut a, 300).await;
    a.send(json!({"type": "inputs", "frame": 120, "inputs": [[0, 4]]})).await;
    a.send(json!({"type": "ping"})).await;
    a.expect("pong").await;
    b.send(json!({"type": "game_over", "score": 100, "lines": 1, "level": 0})).await;
    assert_eq!(a.expect("match_end").await["you"], "won");
    assert_eq!(b.expect("match_end").await["you"], "lost");
    drop((a, b));
    let (code, reason) =
        tokio::time::timeout(STEP, exit).await.expect("exit reported").expect("watch").expect("terminated");
    assert_eq!(code, 0, "the old container drained and exited 0 (reason {reason:?})");
    println!("old pod drained {:.1}s after it was told to stop", terminating_at.elapsed().as_secs_f64());
    env.wait_ready(name, NEW).await;
    let _ = stop.send(true);
    let acked = stream.await.expect("submit stream");
    assert!(acked.len() >= 5, "scores acknowledged during the switch ({})", acked.len());
    game.assert_on_board(&acked).await;
}
