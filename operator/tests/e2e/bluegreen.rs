//! `strategy: BlueGreen` (issue 10): the new version comes up beside the old one at full size
//! behind the preview Service, the main Service stays on the old version until promotion (manual
//! promotion waits), switches at promotion, and the new version's extra pods go after
//! `scaleDownDelaySeconds`.

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::ResourceExt;
use kube::api::ListParams;
use tetris_operator::rollout::api::RolloutPhase;

use crate::common::*;

const RESYNC: Duration = Duration::from_secs(300);

fn app_yaml(version: &str, extra: &str) -> String {
    format!(
        "apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: bg\nspec:\n  version: {version}\n  replicas: 2\n  upgrade:\n    strategy: BlueGreen\n    blueGreen:\n      scaleDownDelaySeconds: 3\n{extra}"
    )
}

/// The ready endpoint addresses of Service `name`.
async fn endpoints(env: &TestEnv, name: &str) -> BTreeSet<String> {
    let lp = ListParams::default().labels(&format!("kubernetes.io/service-name={name}"));
    let slices = env.api::<EndpointSlice>().list(&lp).await.map(|l| l.items).unwrap_or_default();
    slices
        .iter()
        .flat_map(|s| s.endpoints.iter().flatten())
        .filter(|e| e.conditions.as_ref().and_then(|c| c.ready) == Some(true))
        .flat_map(|e| e.addresses.clone())
        .collect()
}

/// Pod IPs of the app's ready, not terminating pods of `version`.
async fn pod_ips(env: &TestEnv, version: &str) -> BTreeSet<String> {
    env.pods("bg")
        .await
        .iter()
        .filter(|p| pod_ready(p) && p.metadata.deletion_timestamp.is_none())
        .filter(|p| p.labels().get("app.kubernetes.io/version").map(String::as_str) == Some(version))
        .filter_map(|p| p.status.as_ref()?.pod_ip.clone())
        .collect()
}

/// Prints what `kubectl get tetrisapps` shows now (the README quotes a run).
fn show(env: &TestEnv) {
    let shown = env.cluster.run_kubectl(&["get", "tetrisapp", "bg", "-n", &env.ns]).unwrap_or_default();
    println!("{}", shown.trim_end());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_previews_the_new_pods_waits_for_promotion_and_switches_the_main_service() {
    let env = TestEnv::start("bluegreen", RESYNC).await;
    let _logs = env.cluster.log_guard();
    env.apply_app(&app_yaml("1.0.0", "")).await;
    env.wait_ready("bg").await;
    show(&env);
    env.apply_app(&app_yaml("1.1.0", "")).await;

    // Both versions at full size; the preview Service reaches the new pods, the main one the old.
    let apps = env.apps();
    wait_for("every new pod Ready behind the preview Service, waiting for promotion", || async {
        let app = apps.get("bg").await.ok()?;
        let rollout = app.status.as_ref()?.rollout.clone()?;
        let (new, old) = (pod_ips(&env, "1.1.0").await, pod_ips(&env, "1.0.0").await);
        (rollout.phase == RolloutPhase::Paused
            && rollout.observed_generation == app.metadata.generation
            && new.len() == 2
            && old.len() == 2
            && endpoints(&env, "bg-preview").await == new
            && endpoints(&env, "bg").await == old)
            .then_some(())
    })
    .await;
    show(&env);
    let svc = env.api::<Service>().get("bg").await.expect("main Service");
    assert_eq!(svc.spec.and_then(|s| s.selector).expect("selector")["app.kubernetes.io/version"], "1.0.0");
    // Manual promotion waits: still paused a while later, the main Service unchanged.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let app = apps.get("bg").await.expect("app");
    assert_eq!(
        app.status.as_ref().and_then(|s| s.rollout.as_ref()).map(|r| r.phase),
        Some(RolloutPhase::Paused)
    );
    assert_eq!(app.status.as_ref().and_then(|s| s.version.as_deref()), Some("1.0.0"));
    assert_eq!(endpoints(&env, "bg").await, pod_ips(&env, "1.0.0").await);

    // Promoted from Git: the main Service switches to the new pods, the old ones roll away.
    env.apply_app(&app_yaml("1.1.0", "    promote: 1.1.0\n")).await;
    // Shown once switched (step 1), if the test sees it before the extra pods go; not asserted.
    let switched = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let step = apps.get("bg").await.ok().and_then(|a| a.status?.rollout?.step);
            if step == Some(1) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    if switched.await.is_ok() {
        show(&env);
    }
    let done = wait_for("promoted, rolled out, and the extra pods gone after the delay", || async {
        let app = apps.get("bg").await.ok()?;
        let green = env.api::<Deployment>().get("bg-canary").await.ok()?;
        let new = pod_ips(&env, "1.1.0").await;
        (is_ready(&app)
            && green.spec.as_ref()?.replicas == Some(0)
            && pod_ips(&env, "1.0.0").await.is_empty()
            && new.len() == 2
            && endpoints(&env, "bg").await == new)
            .then_some(app)
    })
    .await;
    show(&env);
    assert_eq!(done.status.as_ref().and_then(|s| s.version.as_deref()), Some("1.1.0"));
    let svc = env.api::<Service>().get("bg").await.expect("main Service");
    assert_eq!(svc.spec.and_then(|s| s.selector).expect("selector")["app.kubernetes.io/version"], "1.1.0");
    env.stop().await;
}
