//! 3a: the operator as real pods reconciles the minimal example to a real, hardened game pod that a
//! player reaches through the Service.

use crate::support::*;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use std::time::Instant;

#[tokio::test]
async fn operator_pods_reconcile_the_minimal_example_and_a_player_scores() {
    let env = Env::new("install").await;
    let client = env.client.clone();

    // The operator: two real pods in the restricted namespace, one holding the Lease.
    let operators: Api<Pod> = Api::namespaced(client.clone(), "tetris-operator");
    let lp = ListParams::default().labels("app.kubernetes.io/name=tetris-operator");
    let op_pods = eventually("two Ready operator pods", STEP, || async {
        let pods = operators.list(&lp).await.ok()?.items;
        (pods.iter().filter(|p| pod_ready(p)).count() == 2).then_some(pods)
    })
    .await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), "tetris-operator");
    let holder = eventually("the operator Lease has a holder", STEP, || async {
        leases.get_opt("tetris-operator").await.ok()??.spec?.holder_identity
    })
    .await;
    assert!(
        op_pods.iter().any(|p| name_of(p) == holder),
        "Lease holder {holder} is one of the operator pods"
    );

    // examples/minimal.yaml, with the image pointed at the local build.
    let minimal = std::fs::read_to_string(repo_path("examples/minimal.yaml")).expect("examples/minimal.yaml");
    let mut app: serde_json::Value = serde_yaml::from_str(&minimal).expect("example parses");
    app["spec"]["version"] = OLD.into();
    app["spec"]["image"] = GAME_IMAGE.into();
    let name = app["metadata"]["name"].as_str().expect("name").to_owned();
    let applied = Instant::now();
    env.api::<tetris_operator::crd::TetrisApp>()
        .patch(&name, &kube::api::PatchParams::apply("test"), &kube::api::Patch::Apply(&app))
        .await
        .expect("apply examples/minimal.yaml");
    env.wait_ready(&name, OLD).await;
    println!("apply to Ready with a real pod: {:.1}s", applied.elapsed().as_secs_f64());

    // The pod runs as non-root with a read-only root filesystem: read from the real process.
    let pod = env.pods(&name).await.into_iter().find(pod_ready).expect("a Ready game pod");
    let pid = game_process(&pod).expect("the game container's process is on the host");
    assert_runs_as(pid, "65532");
    let mounts = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).expect("mountinfo");
    let root = mounts.lines().find(|l| l.split_whitespace().nth(4) == Some("/")).expect("a root mount");
    assert!(
        root.split_whitespace().nth(5).is_some_and(|o| o.split(',').any(|f| f == "ro")),
        "root is read-only: {root}"
    );

    // Readiness gates the endpoint: the Service's ready endpoint is this pod.
    let pod_ip = pod.status.as_ref().and_then(|s| s.pod_ip.clone()).expect("pod IP");
    let endpoints = eventually("the pod is a ready endpoint", STEP, || async {
        let e = env.ready_endpoints(&name).await;
        (!e.is_empty()).then_some(e)
    })
    .await;
    assert_eq!(endpoints, vec![pod_ip]);

    // A player: WebSocket hello, a solo game issued and scored, found on the board.
    let game = Game::new(env.service_url(&name).await);
    let version = game.get_json("/version").await.expect("/version through the Service");
    assert_eq!(version["version"], OLD);
    let (_player, welcome) = Player::join(&game.ws_url()).await;
    assert_eq!(welcome["draining"], false);
    let acked = game.play_solo("ada", 7).await.expect("the score is acknowledged");
    game.assert_on_board(&[acked]).await;
}

/// The image itself is fit for Pod Security `restricted`: a pod that only says `runAsNonRoot`
/// (as a team's own chart might) starts, because the image's user is 65532, and the server runs
/// with a read-only root filesystem and its data on a volume.
#[tokio::test]
async fn the_game_image_runs_as_its_own_non_root_user_under_restricted() {
    let env = Env::new("image").await;
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "bare-game"},
        "spec": {
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "game-server",
                "image": format!("{GAME_IMAGE}:{OLD}"),
                "imagePullPolicy": "Never",
                "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8080}, "periodSeconds": 1},
                "securityContext": {
                    "allowPrivilegeEscalation": false,
                    "readOnlyRootFilesystem": true,
                    "capabilities": {"drop": ["ALL"]}
                },
                "volumeMounts": [{"name": "data", "mountPath": "/data"}, {"name": "tmp", "mountPath": "/tmp"}]
            }],
            "volumes": [{"name": "data", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}]
        }
    }))
    .expect("literal pod");
    let pods = env.api::<Pod>();
    pods.create(&Default::default(), &pod).await.expect("the restricted namespace admits the pod");
    let ready = eventually("the bare game pod is Ready", STEP, || async {
        let p = pods.get_opt("bare-game").await.ok()??;
        if let Some(waiting) = p
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .and_then(|c| c.first())
            .and_then(|c| c.state.as_ref())
            .and_then(|s| s.waiting.as_ref())
            .filter(|w| w.reason.as_deref() == Some("CreateContainerConfigError"))
        {
            panic!("the kubelet refused the image: {:?}", waiting.message);
        }
        pod_ready(&p).then_some(p)
    })
    .await;
    let pid = game_process(&ready).expect("the container's process");
    assert_runs_as(pid, "65532");
}
