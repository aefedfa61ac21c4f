//! Automatic rollback of a canary (issue 10): the analysis reads the canary pods' own signals and
//! aborts without a human when a version turns unready after it starts, or when its error rate is
//! over the threshold; an abort while a match is live on the canary lets that match finish.

use crate::support::*;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use serde_json::json;
use std::time::Instant;
use tetris_operator::crd::TetrisApp;

fn canary_spec(interval: u32) -> String {
    format!(
        "  replicas: 2\n  upgrade:\n    strategy: Canary\n    drainSeconds: 60\n    canary:\n      steps:\n      - setWeight: 50\n      - pause: {{}}\n      analysis:\n        intervalSeconds: {interval}\n        maxErrorsPerMinute: 30\n"
    )
}

/// Waits until the analysis has aborted the rollout of `bad`: Degraded/RolloutAborted naming
/// `check`, the stable version kept, the canary at 0 replicas and the stable at 2.
async fn wait_rolled_back(env: &Env, name: &str, bad: &str, check: &str) -> TetrisApp {
    let apps = env.api::<TetrisApp>();
    let app = eventually(
        &format!("{name}: the rollout of {bad} aborted by the analysis ({check})"),
        STEP,
        || async {
            let app = apps.get(name).await.ok()?;
            let degraded = app.status.as_ref()?.conditions.iter().find(|c| c.type_ == "Degraded")?.clone();
            (degraded.status == "True" && degraded.reason == "RolloutAborted").then_some(app)
        },
    )
    .await;
    let status = app.status.clone().expect("status");
    let degraded = status.conditions.iter().find(|c| c.type_ == "Degraded").expect("Degraded");
    assert!(
        degraded.message.contains("aborted by the analysis") && degraded.message.contains(check),
        "{}",
        degraded.message
    );
    assert_eq!(status.version.as_deref(), Some(OLD), "status.version stays the stable version");
    assert_eq!(app.spec.version, bad, "the spec is never written");
    let deps = env.api::<Deployment>();
    eventually("every new match back on the stable version: canary 0, stable 2 ready", STEP, || async {
        let canary = deps.get(&format!("{name}-canary")).await.ok()?;
        let stable = deps.get(name).await.ok()?;
        let ready = |d: &Deployment| d.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0);
        (canary.spec.as_ref()?.replicas == Some(0)
            && stable.spec.as_ref()?.replicas == Some(2)
            && ready(&stable) == 2)
            .then_some(())
    })
    .await;
    let events = env.api::<k8s_openapi::api::events::v1::Event>();
    eventually("a Warning Event RolloutAborted", STEP, || async {
        let list = events.list(&Default::default()).await.ok()?;
        list.items
            .iter()
            .any(|e| e.reason.as_deref() == Some("RolloutAborted") && e.type_.as_deref() == Some("Warning"))
            .then_some(())
    })
    .await;
    app
}

#[tokio::test]
async fn a_canary_that_turns_unready_after_it_starts_is_rolled_back_without_a_human() {
    let env = Env::new("rollback-unready").await;
    let name = "tetris";
    env.apply_app(name, OLD, &canary_spec(3)).await;
    env.wait_ready(name, OLD).await;
    let started = Instant::now();
    env.patch_spec(name, json!({"version": UNREADY})).await;
    wait_rolled_back(&env, name, UNREADY, "readiness failures").await;
    println!("{UNREADY} rolled back {:.1}s after the version change", started.elapsed().as_secs_f64());
}

#[tokio::test]
async fn a_canary_over_the_error_rate_is_rolled_back_and_its_live_match_finishes() {
    let env = Env::new("rollback-errors").await;
    let name = "tetris";
    env.apply_app(name, OLD, &canary_spec(15)).await;
    env.wait_ready(name, OLD).await;
    let started = Instant::now();
    env.patch_spec(name, json!({"version": ERRORS})).await;
    // A duo match on the canary pod, before the analysis has two samples to take a rate from.
    let canary = eventually("the canary pod Ready", STEP, || async {
        env.pods(name).await.into_iter().find(|p| {
            pod_ready(p) && p.labels().get("gameops.dev/role").map(String::as_str) == Some("canary")
        })
    })
    .await;
    let pods = env.api::<Pod>();
    let exit = tokio::spawn(watch_exit(pods.clone(), name_of(&canary)));
    let (mut a, mut b) = Player::pair(&pod_ws_url(&canary)).await;
    a.relay(&mut b, 100).await;

    wait_rolled_back(&env, name, ERRORS, "error rate").await;
    println!("{ERRORS} rolled back {:.1}s after the version change", started.elapsed().as_secs_f64());
    // The canary pod drains: its match plays on to its end, then the container exits 0.
    a.relay(&mut b, 300).await;
    b.relay(&mut a, 200).await;
    a.send(json!({"type": "inputs", "frame": 120, "inputs": [[0, 4]]})).await;
    a.send(json!({"type": "ping"})).await;
    a.expect("pong").await;
    b.send(json!({"type": "game_over", "score": 100, "lines": 1, "level": 0})).await;
    let end_a = a.expect("match_end").await;
    assert_eq!(end_a["you"], "won", "the match on the aborted canary ended by its rules: {end_a}");
    assert_eq!(b.expect("match_end").await["you"], "lost");
    drop((a, b));
    let (code, reason) = tokio::time::timeout(STEP, exit)
        .await
        .expect("the canary container's exit is reported")
        .expect("watch task")
        .expect("a terminated state");
    assert_eq!(code, 0, "the drained canary container exits 0 (reason {reason:?})");
}
