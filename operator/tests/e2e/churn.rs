//! Churn and faults, on a control plane of this test's own (it stalls and restarts the API server,
//! which would disturb every other test):
//! - two real `tetris-operator run` processes with leader election; the leader is SIGKILLed 20
//!   times (each time a new process, a new identity, takes its place, as a new pod would) while
//!   100 apps are created, upgraded, scaled and deleted. Every app converges, and every live app
//!   has exactly one of each child, and no child is left of a deleted one. Most apps run 0 or 1
//!   replicas: the test is about the operator's children and status, and 2 cores also run the
//!   control plane and kwok's fake pods;
//! - the API server frozen for 20 s (SIGSTOP, SIGCONT), then restarted: both operator processes
//!   keep running (a leader that cannot renew steps down and campaigns again instead of exiting),
//!   and the changes made right after each fault are all reconciled. (A restarted API server
//!   answers the request resuming a watch with 410 Gone; kube-runtime alone retried that forever,
//!   and this test failed until the operator's watches listed again: `caches::relisting_watcher`.)
//!
//! `CHURN_KILLS=N` runs fewer kills while working on the test; the suite runs all twenty.
//! Its figures (longest handover, convergence after each fault) are printed with `--nocapture`
//! and quoted in `operator/BENCHMARKS.md`.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Service};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use local_cluster::{LocalCluster, Options};
use serde_json::json;
use tetris_operator::crd::TetrisApp;

use crate::common::*;

const APPS: usize = 100;
const KILLS: usize = 20;
/// The shortest timings the operator accepts, so each handover takes about three seconds.
const TIMING: LeaseTiming = LeaseTiming { duration: 3, renew: 2, retry: 1 };
/// Longest wait for convergence after churn or a fault.
const SETTLE: Duration = Duration::from_secs(180);

fn name(i: usize) -> String {
    format!("app-{i:03}")
}

/// Polls `check` every 500 ms until it returns Some, or panics after [`SETTLE`].
async fn settle<T, F, Fut>(cluster: &LocalCluster, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(start.elapsed() < SETTLE, "gave up waiting for: {what}\n{}", cluster.log_tails(30));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn holder(leases: &Api<Lease>) -> Option<(String, i64)> {
    let spec = leases.get_opt("tetris-operator").await.ok()??.spec?;
    Some((spec.holder_identity?, spec.renew_time?.0.as_millisecond()))
}

/// What every app should be once the churn is over: (version, replicas), or None when deleted.
type Wanted = BTreeMap<String, Option<(String, i32)>>;

/// Whether every app is as wanted: Ready on its generation at its version and replica count.
async fn converged(apps: &Api<TetrisApp>, deployments: &Api<Deployment>, wanted: &Wanted) -> Option<()> {
    let live: BTreeMap<String, TetrisApp> =
        apps.list(&ListParams::default()).await.ok()?.items.into_iter().map(|a| (a.name_any(), a)).collect();
    for (name, want) in wanted {
        match (want, live.get(name)) {
            (None, None) => {}
            (Some((version, replicas)), Some(app)) => {
                let status = app.status.as_ref()?;
                if !is_ready(app)
                    || status.version.as_deref() != Some(version)
                    || app.spec.replicas != *replicas
                {
                    return None;
                }
                let dep = deployments.get_opt(name).await.ok()??;
                (dep.spec.as_ref()?.replicas == Some(*replicas)).then_some(())?;
            }
            _ => return None,
        }
    }
    Some(())
}

/// The last lines each operator process logged about its own work and its watches.
fn operator_logs(operators: &[(String, OperatorProcess)]) -> String {
    let mut out = String::new();
    for (id, p) in operators {
        let log = p.log();
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("tetris_operator") || l.contains("kube_runtime"))
            .filter(|l| !l.contains("decision") && !l.contains("Syncing"))
            .collect();
        out += &format!("--- {id}\n{}\n", lines[lines.len().saturating_sub(60)..].join("\n"));
    }
    out
}

/// The first apps that are not as wanted, with their status, for a failure message.
async fn not_converged(apps: &Api<TetrisApp>, wanted: &Wanted) -> String {
    let mut out = Vec::new();
    for (name, want) in wanted {
        let app = apps.get_opt(name).await.ok().flatten();
        let ok = match (&app, want) {
            (None, None) => true,
            (Some(a), Some((v, r))) => {
                is_ready(a)
                    && a.status.as_ref().and_then(|s| s.version.as_deref()) == Some(v)
                    && a.spec.replicas == *r
            }
            _ => false,
        };
        if !ok && out.len() < 5 {
            out.push(format!("{name}: want {want:?}, have {:?}", app.map(|a| (a.spec.replicas, a.status))));
        }
    }
    out.join("\n")
}

/// Children by kind and app label; fails on a duplicate, a child without its owner, or a child
/// of a deleted app.
async fn children_are_exact(client: &Client, ns: &str, wanted: &Wanted) -> Result<(), String> {
    async fn owners<K>(client: &Client, ns: &str) -> Vec<(String, usize, bool)>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
    {
        let api: Api<K> = Api::namespaced(client.clone(), ns);
        let items = api
            .list(&ListParams::default().labels("gameops.dev/tetrisapp"))
            .await
            .map(|l| l.items)
            .unwrap_or_default();
        let mut by_app: BTreeMap<String, (usize, bool)> = BTreeMap::new();
        for item in items.iter().filter(|i| i.meta().deletion_timestamp.is_none()) {
            let app = item.labels().get("gameops.dev/tetrisapp").cloned().unwrap_or_default();
            let owned = item.owner_references().iter().any(|o| o.kind == "TetrisApp" && o.name == app);
            let entry = by_app.entry(app).or_insert((0, true));
            entry.0 += 1;
            entry.1 &= owned;
        }
        by_app.into_iter().map(|(app, (n, owned))| (app, n, owned)).collect()
    }
    let mut problems = Vec::new();
    for (kind, found) in [
        ("Deployment", owners::<Deployment>(client, ns).await),
        ("Service", owners::<Service>(client, ns).await),
        ("ConfigMap", owners::<ConfigMap>(client, ns).await),
        ("PersistentVolumeClaim", owners::<PersistentVolumeClaim>(client, ns).await),
    ] {
        for (app, n, owned) in &found {
            match wanted.get(app) {
                Some(Some(_)) if *n == 1 && *owned => {}
                Some(Some(_)) if *n != 1 => problems.push(format!("{n} {kind}s of {app}")),
                Some(Some(_)) => problems.push(format!("{kind} of {app} without its owner reference")),
                _ => problems.push(format!("{kind} of deleted app {app} left behind")),
            }
        }
        for (app, want) in wanted {
            if want.is_some() && !found.iter().any(|(a, _, _)| a == app) {
                problems.push(format!("no {kind} for {app}"));
            }
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_leader_kills_a_frozen_and_a_restarted_api_server_lose_nothing() {
    let cluster =
        LocalCluster::start(Options { nodes: 2, ..Options::default() }).expect("private control plane");
    let _logs = cluster.log_guard();
    let crd = std::fs::read_to_string(repo_path("crds/tetrisapps.gameops.dev.yaml")).expect("CRD file");
    cluster.kubectl_apply(&crd).expect("CRD applies");
    cluster
        .run_kubectl(&["wait", "--for=condition=Established", "crd/tetrisapps.gameops.dev", "--timeout=60s"])
        .expect("CRD established");
    let ns = cluster.namespace("churn");
    let client = cluster.client().await;
    let apps: Api<TetrisApp> = Api::namespaced(client.clone(), &ns);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let leases: Api<Lease> = Api::namespaced(client.clone(), &ns);
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = cluster.kubeconfig_as("tetris-operator").expect("kubeconfig");
    let mut spawned = 0;
    let spawn = |spawned: &mut usize| {
        *spawned += 1;
        let identity = format!("op-{spawned}");
        (identity.clone(), OperatorProcess::spawn(&identity, &ns, &kubeconfig, dir.path(), TIMING))
    };
    let mut operators = vec![spawn(&mut spawned), spawn(&mut spawned)];

    // The churn, in waves that overlap the kills: create all, then upgrade, scale and delete.
    let churn = {
        let apps = apps.clone();
        tokio::spawn(async move {
            let pp = PatchParams::apply("test");
            futures::stream::iter(0..APPS)
                .for_each_concurrent(8, |i| {
                    let apps = apps.clone();
                    let pp = pp.clone();
                    async move {
                        let body = json!({"apiVersion": "gameops.dev/v1alpha1", "kind": "TetrisApp",
                            "metadata": {"name": name(i)},
                            "spec": {"version": "1.0.0", "replicas": 0, "storage": {"deletionPolicy": "Delete"}}});
                        apps.patch(&name(i), &pp, &Patch::Apply(body)).await.expect("create app");
                    }
                })
                .await;
            for wave in 0..4 {
                tokio::time::sleep(Duration::from_secs(5)).await;
                for i in (wave..APPS).step_by(4) {
                    let change = match i % 5 {
                        0 | 3 => json!({"spec": {"version": "1.1.0"}}),
                        1 => json!({"spec": {"version": "1.1.0", "replicas": 1}}),
                        2 => json!({"spec": {"replicas": 1}}),
                        _ => {
                            apps.delete(&name(i), &DeleteParams::default()).await.expect("delete app");
                            continue;
                        }
                    };
                    apps.patch(&name(i), &PatchParams::default(), &Patch::Merge(change))
                        .await
                        .expect("change app");
                }
            }
        })
    };
    let mut wanted: Wanted = (0..APPS)
        .map(|i| {
            let want = match i % 5 {
                0 | 3 => Some(("1.1.0".to_owned(), 0)),
                1 => Some(("1.1.0".to_owned(), 1)),
                2 => Some(("1.0.0".to_owned(), 1)),
                _ => None,
            };
            (name(i), want)
        })
        .collect();

    // Twenty times: kill whoever leads once it has led for a moment, and start a new process.
    let mut handovers = Vec::new();
    let kills = std::env::var("CHURN_KILLS").ok().and_then(|k| k.parse().ok()).unwrap_or(KILLS);
    for kill in 0..kills {
        let started = Instant::now();
        let (leader, _) = settle(&cluster, "a leader", || async {
            let (who, _) = holder(&leases).await?;
            operators.iter().any(|(id, _)| *id == who).then_some((who, ()))
        })
        .await;
        handovers.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(800)).await;
        let at = operators.iter().position(|(id, _)| *id == leader).expect("leader is one of ours");
        let (_, mut victim) = operators.remove(at);
        let _ = victim.child.kill();
        let _ = victim.child.wait();
        operators.push(spawn(&mut spawned));
        eprintln!("kill {}: SIGKILLed leader {leader}", kill + 1);
    }
    churn.await.expect("churn finished");
    let start = Instant::now();
    let converge =
        settle(&cluster, "every app converged after the churn", || converged(&apps, &deployments, &wanted));
    if tokio::time::timeout(SETTLE - Duration::from_secs(5), converge).await.is_err() {
        panic!("not converged: {}\n{}", not_converged(&apps, &wanted).await, operator_logs(&operators));
    }
    eprintln!(
        "churn: {kills} leader kills during {APPS} apps' churn; longest handover {:?}; converged {:?} after the last change",
        handovers.iter().max().unwrap_or(&Duration::ZERO),
        start.elapsed()
    );
    // The garbage collector removes the children of deleted apps in the background.
    let deadline = Instant::now() + SETTLE;
    loop {
        match children_are_exact(&client, &ns, &wanted).await {
            Ok(()) => break,
            Err(e) if Instant::now() > deadline => panic!("children after the churn: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }

    // Faults of the API server itself. The processes must outlive them.
    let pids: Vec<u32> = operators.iter().map(|(_, p)| p.child.id()).collect();
    cluster.freeze_apiserver().expect("SIGSTOP kube-apiserver");
    tokio::time::sleep(Duration::from_secs(20)).await;
    cluster.thaw_apiserver().expect("SIGCONT kube-apiserver");
    for i in (0..APPS).filter(|i| i % 5 == 0).take(10) {
        apps.patch(&name(i), &PatchParams::default(), &Patch::Merge(json!({"spec": {"version": "1.2.0"}})))
            .await
            .expect("change after the freeze");
        wanted.insert(name(i), Some(("1.2.0".to_owned(), 0)));
    }
    let start = Instant::now();
    settle(&cluster, "the changes made after the freeze", || converged(&apps, &deployments, &wanted)).await;
    eprintln!(
        "freeze: 20 s SIGSTOP of kube-apiserver; the 10 changes made after SIGCONT converged in {:?}",
        start.elapsed()
    );

    tokio::task::block_in_place(|| cluster.restart_apiserver()).expect("kube-apiserver restarts");
    for i in (0..APPS).filter(|i| i % 5 == 1).take(10) {
        apps.patch(&name(i), &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 2}})))
            .await
            .expect("change after the restart");
        wanted.insert(name(i), Some(("1.1.0".to_owned(), 2)));
    }
    let start = Instant::now();
    let converge =
        settle(&cluster, "the changes made after the restart", || converged(&apps, &deployments, &wanted));
    if tokio::time::timeout(SETTLE - Duration::from_secs(5), converge).await.is_err() {
        panic!(
            "not converged after the restart: {}\n{}",
            not_converged(&apps, &wanted).await,
            operator_logs(&operators)
        );
    }
    eprintln!(
        "restart: kube-apiserver restarted; the 10 changes made after it converged in {:?}",
        start.elapsed()
    );
    for (id, p) in operators.iter_mut() {
        assert!(p.child.try_wait().expect("process state").is_none(), "{id} exited:\n{}", p.log());
    }
    let still: Vec<u32> = operators.iter().map(|(_, p)| p.child.id()).collect();
    assert_eq!(pids, still, "no operator process was restarted");
    let mut lost = 0.0;
    for (_, p) in &operators {
        lost += p.metric("tetris_operator_leadership_lost_total").await.unwrap_or(0.0);
    }
    eprintln!("faults: both operator processes kept running; leadership stepped down {lost} times");
    children_are_exact(&client, &ns, &wanted).await.expect("children after the faults");
}
