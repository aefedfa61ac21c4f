//! 3b and 3c: `spec.version` moves a game with players on it to another image, without cutting the
//! live match or losing an acknowledged score.

use crate::support::*;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use serde_json::json;
use std::time::{Duration, Instant};

/// Waits until the old pod is terminating (the rollout reached it); returns when that was seen.
async fn wait_terminating(pods: &Api<Pod>, old: &str) -> Instant {
    eventually(&format!("old pod {old} terminating"), STEP, || async {
        let pod = pods.get_opt(old).await.ok()?;
        match pod {
            Some(p) if p.metadata.deletion_timestamp.is_none() => None,
            _ => Some(Instant::now()),
        }
    })
    .await
}

/// The live match plays on after the old pod got SIGTERM, ends normally, and the old container
/// exits 0 before its grace period; returns nothing, panics on any broken promise.
async fn finish_match_on_draining_pod(
    old: &Pod,
    mut a: Player,
    mut b: Player,
    exit: tokio::task::JoinHandle<Option<(i32, Option<String>)>>,
    terminating_at: Instant,
) {
    // Boards still flow both ways between the two players on the draining pod.
    a.relay(&mut b, 300).await;
    b.relay(&mut a, 100).await;
    // The server replays both players' inputs and decides the match: Alice hard-drops a piece (her
    // replayed score is above Bob's), the ping's answer says the server has taken her inputs, then
    // Bob tops out.
    a.send(json!({"type": "inputs", "frame": 120, "inputs": [[0, 4]]})).await;
    a.send(json!({"type": "ping"})).await;
    a.expect("pong").await;
    b.send(json!({"type": "game_over", "score": 100, "lines": 1, "level": 0})).await;
    a.send_state(900).await;
    let end_a = a.expect("match_end").await;
    let end_b = b.expect("match_end").await;
    assert_eq!(end_a["you"], "won", "the match ended by its rules: {end_a}");
    assert_eq!(end_b["you"], "lost", "the match ended by its rules: {end_b}");
    drop((a, b));
    let grace = old.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).expect("grace period");
    let (code, reason) = tokio::time::timeout(Duration::from_secs(grace as u64 + 30), exit)
        .await
        .expect("the old container's exit is reported")
        .expect("watch task")
        .expect("a terminated state");
    let took = terminating_at.elapsed();
    assert_eq!(code, 0, "the old game container exits 0 (reason {reason:?})");
    assert!(
        took < Duration::from_secs(grace as u64),
        "exited {took:?} after SIGTERM, within its {grace}s grace period"
    );
    println!("old pod drained and exited 0 {:.1}s after SIGTERM (grace {grace}s)", took.as_secs_f64());
}

#[tokio::test]
async fn rolling_update_with_a_live_match_and_a_stream_of_submits() {
    let env = Env::new("upgrade").await;
    let name = "tetris";
    env.apply_app(name, OLD, "").await;
    env.wait_ready(name, OLD).await;
    let game = Game::new(env.service_url(name).await);
    let pods = env.api::<Pod>();
    let old = env.pods(name).await.into_iter().find(pod_ready).expect("the old pod");
    let exit = tokio::spawn(watch_exit(pods.clone(), name_of(&old)));

    let (mut a, mut b) = Player::pair(&game.ws_url()).await;
    a.relay(&mut b, 100).await;
    let (stop, stream) = submit_stream(game.clone(), "roll");

    let started = Instant::now();
    env.patch_spec(name, json!({"version": NEW})).await;
    let terminating_at = wait_terminating(&pods, &name_of(&old)).await;
    // The new pod is Ready (maxUnavailable 0: it was before the old one was told to stop), and new
    // players land on it: the Service sends them to a pod that is not draining, which runs NEW.
    let new_pods: Vec<Pod> =
        env.pods(name).await.into_iter().filter(|p| name_of(p) != name_of(&old)).collect();
    assert!(new_pods.iter().any(pod_ready), "a new pod is Ready when the old one starts draining");
    eventually("new players reach the new version", STEP, || async {
        let v = game.get_json("/version").await?;
        (v["version"] == NEW).then_some(())
    })
    .await;
    let (_newcomer, welcome) = Player::join(&game.ws_url()).await;
    assert_eq!(welcome["draining"], false, "a new room goes to the new pod");

    finish_match_on_draining_pod(&old, a, b, exit, terminating_at).await;
    let app = env.wait_ready(name, NEW).await;
    println!("rolling update {OLD} -> {NEW} with players: {:.1}s", started.elapsed().as_secs_f64());
    assert_eq!(app.status.and_then(|s| s.version).as_deref(), Some(NEW));

    let _ = stop.send(true);
    let acked = stream.await.expect("submit stream");
    assert!(acked.len() >= 5, "the stream got scores acknowledged during the rollout ({})", acked.len());
    game.assert_on_board(&acked).await;
}

#[tokio::test]
async fn recreate_with_read_write_once_pod_keeps_the_match_and_the_scores() {
    let env = Env::new("recreate").await;
    let name = "tetris";
    env.apply_app(
        name,
        OLD,
        "  upgrade:\n    strategy: Recreate\n  storage:\n    accessMode: ReadWriteOncePod\n",
    )
    .await;
    env.wait_ready(name, OLD).await;
    let game = Game::new(env.service_url(name).await);
    let pods = env.api::<Pod>();
    let old = env.pods(name).await.into_iter().find(pod_ready).expect("the old pod");
    let exit = tokio::spawn(watch_exit(pods.clone(), name_of(&old)));
    let (a, b) = Player::pair(&game.ws_url()).await;
    let (stop, stream) = submit_stream(game.clone(), "recr");
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Measure the longest stretch with no ready endpoint.
    let (gap_stop, mut gap_stopped) = tokio::sync::watch::channel(false);
    let gap = {
        let ns = env.ns.clone();
        let client = env.client.clone();
        tokio::spawn(async move {
            let env = Env { ns, client };
            let (mut longest, mut since) = (Duration::ZERO, None::<Instant>);
            while !*gap_stopped.borrow() {
                let empty = env.ready_endpoints(name).await.is_empty();
                match (empty, since) {
                    (true, None) => since = Some(Instant::now()),
                    (false, Some(s)) => {
                        longest = longest.max(s.elapsed());
                        since = None;
                    }
                    _ => {}
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                    _ = gap_stopped.changed() => {}
                }
            }
            longest
        })
    };

    let started = Instant::now();
    env.patch_spec(name, json!({"version": NEW})).await;
    let terminating_at = wait_terminating(&pods, &name_of(&old)).await;
    // Recreate: the old pod finishes its match before any new pod starts.
    finish_match_on_draining_pod(&old, a, b, exit, terminating_at).await;
    let old_gone_at = Instant::now();
    env.wait_ready(name, NEW).await;
    let _ = gap_stop.send(true);
    let gap = gap.await.expect("gap task");
    println!(
        "recreate {OLD} -> {NEW} (ReadWriteOncePod): {:.1}s in all; longest time with no ready pod {:.1}s, \
         of which {:.1}s from the old container's exit to the new pod Ready",
        started.elapsed().as_secs_f64(),
        gap.as_secs_f64(),
        old_gone_at.elapsed().as_secs_f64()
    );
    let _ = stop.send(true);
    let acked = stream.await.expect("submit stream");
    assert!(!acked.is_empty(), "scores were acknowledged");
    game.assert_on_board(&acked).await;
}
