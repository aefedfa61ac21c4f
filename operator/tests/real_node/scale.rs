//! Busy pods go last: a scale-down removes the pods without a live match and keeps the one that
//! hosts a match, which then plays to its end.

use crate::support::*;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use serde_json::json;
use std::time::Instant;

const COST: &str = "controller.kubernetes.io/pod-deletion-cost";

fn cost(pod: &Pod) -> Option<&str> {
    pod.annotations().get(COST).map(String::as_str)
}

#[tokio::test]
async fn scaling_from_three_to_one_keeps_the_pod_with_the_live_match() {
    let env = Env::new("scale").await;
    let name = "tetris";
    env.apply_app(name, OLD, "  replicas: 3\n  upgrade:\n    drainSeconds: 60\n").await;
    env.wait_ready(name, OLD).await;
    let live = |p: &Pod| pod_ready(p) && p.metadata.deletion_timestamp.is_none();
    let pods = eventually("three ready pods", STEP, || async {
        let pods: Vec<Pod> = env.pods(name).await.into_iter().filter(live).collect();
        (pods.len() == 3).then_some(pods)
    })
    .await;
    // The match goes on the youngest pod, the one the ReplicaSet controller's own order (shortest
    // ready, then newest, ties broken by UID) would most likely remove: without the deletion cost
    // this test fails at least two times in three (two of the three pods go).
    let busy = pods
        .iter()
        .max_by_key(|p| p.metadata.creation_timestamp.as_ref().map(|t| t.0))
        .expect("three pods")
        .clone();
    let idle: Vec<String> = pods.iter().map(name_of).filter(|n| *n != name_of(&busy)).collect();
    let (mut a, mut b) = Player::pair(&pod_ws_url(&busy)).await;
    a.relay(&mut b, 100).await;

    // The operator reads the pod's live matches into its deletion cost; the idle pods stay at 0.
    let seen = Instant::now();
    eventually("the busy pod's deletion cost is 1 and the others' 0", STEP, || async {
        let pods = env.pods(name).await;
        let busy_cost = pods.iter().find(|p| name_of(p) == name_of(&busy)).and_then(cost);
        let idle_costs =
            pods.iter().filter(|p| idle.contains(&name_of(p))).all(|p| matches!(cost(p), None | Some("0")));
        (busy_cost == Some("1") && idle_costs).then_some(())
    })
    .await;
    println!(
        "deletion cost of the busy pod set {:.1}s after its match started",
        seen.elapsed().as_secs_f64()
    );

    env.patch_spec(name, json!({"replicas": 1})).await;
    let remaining = eventually("the two idle pods gone", STEP, || async {
        let pods = env.pods(name).await;
        let terminating: Vec<String> =
            pods.iter().filter(|p| p.metadata.deletion_timestamp.is_some()).map(name_of).collect();
        assert!(
            !terminating.contains(&name_of(&busy)),
            "the pod with the live match was chosen for removal (idle: {idle:?}, terminating: {terminating:?})"
        );
        (pods.len() == 1).then_some(pods)
    })
    .await;
    assert_eq!(name_of(&remaining[0]), name_of(&busy), "the pod with the live match is the one kept");

    // The match plays on and ends by its rules on the kept pod.
    a.relay(&mut b, 300).await;
    b.relay(&mut a, 200).await;
    a.send(json!({"type": "inputs", "frame": 120, "inputs": [[0, 4]]})).await;
    a.send(json!({"type": "ping"})).await;
    a.expect("pong").await;
    b.send(json!({"type": "game_over", "score": 100, "lines": 1, "level": 0})).await;
    let end_a = a.expect("match_end").await;
    let end_b = b.expect("match_end").await;
    assert_eq!(end_a["you"], "won", "the match ended by its rules: {end_a}");
    assert_eq!(end_b["you"], "lost", "the match ended by its rules: {end_b}");
    env.wait_ready(name, OLD).await;
}
