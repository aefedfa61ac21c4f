//! Proves the local control plane is real: the Deployment and ReplicaSet controllers, the
//! scheduler, kwok's fake kubelet and the garbage collector all do their jobs, and the harness
//! leaves no process behind.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use std::process::Command;
use std::time::{Duration, Instant};

/// Polls `check` until it returns `Some`, panicking with `what` after `limit` (a deadline for a
/// state that must be reached, not a performance assertion).
async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(start.elapsed() < limit, "{what}: not reached within {limit:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn deployment(name: &str, image: &str) -> Deployment {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image}]}
            }
        }
    }))
    .expect("literal Deployment is valid")
}

#[tokio::test]
async fn deployment_rolls_out_and_is_garbage_collected() {
    let cluster = local_cluster::shared();
    let _logs = cluster.log_guard();
    let client = cluster.client().await;
    let ns = cluster.namespace("rollout");
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let replicasets: Api<ReplicaSet> = Api::namespaced(client.clone(), &ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let limit = Duration::from_secs(90);

    deployments
        .create(&PostParams::default(), &deployment("web", "example.com/web:1"))
        .await
        .expect("create");
    eventually("3 ready replicas", limit, || async {
        let d = deployments.get("web").await.ok()?;
        (d.status?.ready_replicas == Some(3)).then_some(())
    })
    .await;
    let ready_pods = pods.list(&ListParams::default()).await.expect("list pods");
    assert_eq!(ready_pods.items.len(), 3);
    for pod in &ready_pods.items {
        let status = pod.status.as_ref().expect("pod has status");
        assert_eq!(status.phase.as_deref(), Some("Running"));
        assert!(pod.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some(), "scheduled onto a node");
    }

    let patch = serde_json::json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "example.com/web:2"}]}}}});
    deployments.patch("web", &PatchParams::default(), &Patch::Strategic(patch)).await.expect("patch image");
    eventually("rollout to image :2 complete", limit, || async {
        let d = deployments.get("web").await.ok()?;
        let generation = d.metadata.generation?;
        let s = d.status?;
        let done = s.observed_generation == Some(generation)
            && s.updated_replicas == Some(3)
            && s.ready_replicas == Some(3)
            && s.replicas == Some(3);
        done.then_some(())
    })
    .await;
    let sets = replicasets.list(&ListParams::default()).await.expect("list replicasets").items;
    assert_eq!(sets.len(), 2, "one ReplicaSet per template");
    let image_of = |rs: &ReplicaSet| {
        rs.spec
            .as_ref()
            .and_then(|s| s.template.as_ref())
            .and_then(|t| t.spec.as_ref())
            .map(|p| p.containers[0].image.clone())
    };
    for rs in &sets {
        let replicas = rs.spec.as_ref().and_then(|s| s.replicas);
        match image_of(rs).flatten().as_deref() {
            Some("example.com/web:1") => assert_eq!(replicas, Some(0), "old ReplicaSet scaled to 0"),
            Some("example.com/web:2") => assert_eq!(replicas, Some(3), "new ReplicaSet holds every replica"),
            other => panic!("unexpected image {other:?}"),
        }
    }

    deployments.delete("web", &DeleteParams::background()).await.expect("delete");
    eventually("ReplicaSets and Pods garbage-collected", limit, || async {
        let rs = replicasets.list(&ListParams::default()).await.ok()?;
        let p = pods.list(&ListParams::default()).await.ok()?;
        (rs.items.is_empty() && p.items.is_empty()).then_some(())
    })
    .await;
}

#[tokio::test]
async fn server_and_kubectl_report_the_real_release() {
    let cluster = local_cluster::shared();
    let client = cluster.client().await;
    let info = client.apiserver_version().await.expect("/version");
    assert_eq!(info.git_version, "v1.36.3");
    let out = cluster.run_kubectl(&["version", "-o", "json"]).expect("kubectl version");
    let v: serde_json::Value = serde_json::from_str(&out).expect("kubectl version prints JSON");
    assert_eq!(v["clientVersion"]["gitVersion"], "v1.36.3");
    assert_eq!(v["serverVersion"]["gitVersion"], "v1.36.3");
}

#[tokio::test]
async fn fake_nodes_can_be_added_and_turn_ready() {
    let cluster = local_cluster::shared();
    cluster.add_node("extra-node").expect("second node turns Ready");
    let out = cluster.run_kubectl(&["get", "nodes", "-o", "name"]).expect("get nodes");
    assert!(out.contains("node/kwok-node-0") && out.contains("node/extra-node"), "{out}");
}

/// Processes whose command line mentions `dir` (every component's flags name the run directory, and
/// so does the watchdog's script unless `components_only`).
fn processes_under(dir: &str, components_only: bool) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return found };
    for entry in entries.flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let launcher = text.contains("--exit-after-ready") || text.contains("--panic-after-ready");
        let skipped_watchdog = components_only && text.contains("kill -0");
        if text.contains(dir) && !launcher && !skipped_watchdog {
            found.push(format!("{}: {}", entry.file_name().to_string_lossy(), text.trim()));
        }
    }
    found
}

/// Starts `local-cluster up` with `flag`, reads where it ran, and checks every component is gone
/// once the process has exited.
async fn no_component_outlives(flag: &str) {
    let dir = std::env::temp_dir().join(format!(
        "local-cluster-cleanup-{}-{}",
        std::process::id(),
        flag.trim_start_matches('-')
    ));
    let out = Command::new(env!("CARGO_BIN_EXE_local-cluster"))
        .args(["up", flag, "--dir"])
        .arg(&dir)
        .output()
        .expect("run local-cluster up");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("ready in"),
        "cluster came up: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pids_line = stdout.lines().find(|l| l.starts_with("pids: ")).expect("pids printed");
    assert_eq!(pids_line.split(' ').count(), 1 + 5, "five components were running: {pids_line}");
    let dir = dir.display().to_string();
    eventually(&format!("no process of {dir} left after `up {flag}`"), Duration::from_secs(20), || async {
        processes_under(&dir, false).is_empty().then_some(())
    })
    .await;
    assert!(!std::path::Path::new(&dir).exists(), "run directory removed");
}

#[tokio::test]
async fn harness_leaves_no_process_behind_on_exit_or_panic() {
    no_component_outlives("--exit-after-ready").await;
    no_component_outlives("--panic-after-ready").await;
}

#[test]
fn dropping_a_cluster_stops_its_components_at_once() {
    let cluster = local_cluster::LocalCluster::start(Default::default()).expect("start");
    let dir = cluster.dir().display().to_string();
    assert_eq!(processes_under(&dir, true).len(), 5, "{:?}", processes_under(&dir, true));
    drop(cluster);
    let left = processes_under(&dir, true);
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Regression: kwok started without `--node-lease-duration-seconds` renewed no node Lease, so the
/// node lifecycle controller marked every node NotReady ~50 s after start and every pod not-ready.
#[tokio::test]
async fn kwok_renews_node_leases() {
    use k8s_openapi::api::coordination::v1::Lease;
    let cluster = local_cluster::shared();
    let leases: Api<Lease> = Api::namespaced(cluster.client().await, "kube-node-lease");
    let renew_time = || async {
        let lease = leases.get_opt("kwok-node-0").await.ok().flatten()?;
        lease.spec?.renew_time
    };
    let first = eventually("node lease exists", Duration::from_secs(60), renew_time).await;
    eventually("node lease renewed", Duration::from_secs(60), || async {
        renew_time().await.filter(|t| *t != first).map(|_| ())
    })
    .await;
}
