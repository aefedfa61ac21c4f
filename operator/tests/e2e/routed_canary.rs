//! `strategy: Canary` with `spec.route` (issue 10): the canary's weight is the HTTPRoute's
//! backendRef weights (the stable Service `<name>`, selecting only stable pods, and `<name>-canary`,
//! selecting only canary pods), not the pod counts; an A/B step adds a rule sending testers (by
//! header) to the canary Service while it holds and removes it after; abort and promotion put the
//! route back to 100/0; a strategy changed away removes the canary's and the preview's children
//! and leaves the route one backend. An A/B step without a route is refused by the schema.
//!
//! Nothing plays the Gateway (see exposure.rs): the test reads the route the operator writes and
//! writes the route's status as a Gateway controller would.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use tetris_operator::crd::TetrisApp;
use tetris_operator::rollout::api::RolloutPhase;
use tetris_operator::route::HttpRoute;

use crate::common::*;
use crate::exposure::{GATEWAY_API, GATEWAY_API_LOCK, GATEWAY_CRDS, gateway_says, install_crds};

const RESYNC: Duration = Duration::from_secs(300);

fn app_yaml(version: &str) -> String {
    format!(
        "apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: rc\nspec:\n  version: {version}\n  replicas: 4\n  route:\n    parentRefs:\n    - name: public\n      namespace: gateways\n      sectionName: https\n    hostnames: [tetris.example.com]\n  upgrade:\n    strategy: Canary\n    canary:\n      steps:\n      - setWeight: 25\n      - testers:\n          header: {{name: X-Tetris-Canary, value: \"yes\"}}\n      - setWeight: 50\n      - pause: {{seconds: 15}}\n"
    )
}

/// One rule of the route: its header matches (type, name, value) and its (backend, weight) pairs.
type Rule = (Vec<(String, String, String)>, Vec<(String, i32)>);
/// The route's rules, in order.
type Rules = Vec<Rule>;

async fn rules(env: &TestEnv) -> Option<Rules> {
    let route = env.api::<HttpRoute>().get_opt("rc").await.ok()??;
    Some(
        route
            .spec
            .rules
            .iter()
            .map(|r| {
                let headers = r
                    .matches
                    .iter()
                    .flat_map(|m| &m.headers)
                    .map(|h| (h.type_.clone().unwrap_or_default(), h.name.clone(), h.value.clone()))
                    .collect();
                let backends =
                    r.backend_refs.iter().map(|b| (b.name.clone(), b.weight.unwrap_or(1))).collect();
                (headers, backends)
            })
            .collect(),
    )
}

fn weighted(stable: i32, canary: i32) -> Rule {
    (Vec::new(), vec![("rc".to_owned(), stable), ("rc-canary".to_owned(), canary)])
}

fn testers_rule() -> Rule {
    (
        vec![("Exact".to_owned(), "X-Tetris-Canary".to_owned(), "yes".to_owned())],
        vec![("rc-canary".to_owned(), 1)],
    )
}

/// Waits until the app's rollout shows `phase` at `step` for its generation, both Deployments
/// settled at `stable` + `canary` ready pods, and the route has exactly `want`; prints what
/// `kubectl get tetrisapps` shows then.
async fn wait_routed(
    env: &TestEnv,
    phase: RolloutPhase,
    step: Option<i32>,
    (stable, canary): (i32, i32),
    want: &Rules,
) -> TetrisApp {
    let deps = env.api::<Deployment>();
    let app = wait_for(
        &format!("rc: {phase:?} at step {step:?}, {stable} stable + {canary} canary pods, route {want:?}"),
        || async {
            let app = env.apps().get("rc").await.ok()?;
            let rollout = app.status.as_ref()?.rollout.clone()?;
            let pods = |d: Option<Deployment>| {
                d.map(|d| {
                    let ready = d.status.and_then(|s| s.ready_replicas).unwrap_or(0);
                    (d.spec.and_then(|s| s.replicas).unwrap_or(0), ready)
                })
                .unwrap_or((0, 0))
            };
            let s = pods(deps.get_opt("rc").await.ok()?);
            let c = pods(deps.get_opt("rc-canary").await.ok()?);
            let fresh = rollout.observed_generation == app.metadata.generation;
            (fresh
                && rollout.phase == phase
                && rollout.step == step
                && s == (stable, stable)
                && c == (canary, canary)
                && rules(env).await.as_ref() == Some(want))
            .then_some(app)
        },
    )
    .await;
    let shown = env.cluster.run_kubectl(&["get", "tetrisapp", "rc", "-n", &env.ns]).unwrap_or_default();
    println!("{}", shown.trim_end());
    app
}

fn weight(app: &TetrisApp) -> Option<i32> {
    app.status.as_ref()?.rollout.as_ref()?.canary_weight
}

/// A Service's selector.
async fn selector(env: &TestEnv, name: &str) -> Option<std::collections::BTreeMap<String, String>> {
    env.api::<Service>().get_opt(name).await.ok()??.spec?.selector
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routed_canary_splits_by_backend_weights_and_testers_by_header() {
    let _gateway_api = GATEWAY_API_LOCK.lock().await;
    install_crds(GATEWAY_API, &GATEWAY_CRDS);
    let env = TestEnv::start("routed-canary", RESYNC).await;
    let _logs = env.cluster.log_guard();

    // An A/B step needs a router: without spec.route the API server refuses it, naming the field.
    let unrouted: Value = serde_yaml::from_str(
        &app_yaml("1.0.0").replace("  route:\n    parentRefs:\n    - name: public\n      namespace: gateways\n      sectionName: https\n    hostnames: [tetris.example.com]\n", ""),
    )
    .expect("YAML");
    let refused = env
        .apps()
        .patch(
            "unrouted",
            &PatchParams::apply("test"),
            &Patch::Apply(&{
                let mut v = unrouted.clone();
                v["metadata"]["name"] = json!("unrouted");
                v
            }),
        )
        .await
        .expect_err("testers without a route");
    let said = refused.to_string();
    assert!(said.contains("spec.upgrade.canary.steps") && said.contains("requires spec.route"), "{said}");

    env.apply_app(&app_yaml("1.0.0")).await;
    // At rest the route already has both backends: every request on the stable Service.
    wait_for("the route", || async { env.api::<HttpRoute>().get_opt("rc").await.ok()? }).await;
    gateway_says(&env, "rc", "True", ("True", "ResolvedRefs")).await;
    let healthy = wait_routed(&env, RolloutPhase::Healthy, None, (4, 0), &vec![weighted(100, 0)]).await;
    assert!(is_ready(&healthy));

    // 25%: the route gives it exactly, with 1 canary pod beside 4 stable ones (not 1 of 4 pods),
    // and the A/B step right after it adds the testers' rule and holds until promoted.
    env.apply_app(&app_yaml("1.1.0")).await;
    let ab =
        wait_routed(&env, RolloutPhase::Paused, Some(1), (4, 1), &vec![testers_rule(), weighted(75, 25)])
            .await;
    assert_eq!(weight(&ab), Some(25));
    let message = ab.status.as_ref().and_then(|s| s.rollout.as_ref()).map(|r| r.message.clone());
    assert!(
        message.as_deref().is_some_and(|m| m.contains("testers (header X-Tetris-Canary: yes)")),
        "{message:?}"
    );
    let stable_sel = selector(&env, "rc").await.expect("main Service");
    assert_eq!(
        stable_sel.get("app.kubernetes.io/version").map(String::as_str),
        Some("1.0.0"),
        "stable pods only"
    );
    let canary_sel = selector(&env, "rc-canary").await.expect("canary Service");
    assert_eq!(canary_sel.get("gameops.dev/role").map(String::as_str), Some("canary"), "canary pods only");

    // Abort: back to 100/0, no testers' rule, the canary pods go.
    env.apps()
        .patch(
            "rc",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"gameops.dev/abort": "1.1.0"}}})),
        )
        .await
        .expect("abort");
    let aborted = wait_routed(&env, RolloutPhase::Degraded, Some(1), (4, 0), &vec![weighted(100, 0)]).await;
    assert_eq!(weight(&aborted), Some(0));
    assert_eq!(condition(&aborted, "Degraded").map(|c| c.reason.as_str()), Some("RolloutAborted"));

    // Retry (the abort lifted), then promote: the testers' rule goes, 50/50 holds for the timed
    // pause, and after promotion the route is back to 100/0 with every pod on the new version.
    env.apps()
        .patch(
            "rc",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"gameops.dev/abort": null}}})),
        )
        .await
        .expect("lift the abort");
    wait_routed(&env, RolloutPhase::Paused, Some(1), (4, 1), &vec![testers_rule(), weighted(75, 25)]).await;
    env.apps()
        .patch(
            "rc",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"gameops.dev/promote": "1.1.0"}}})),
        )
        .await
        .expect("promote");
    let half = wait_routed(&env, RolloutPhase::Paused, Some(3), (4, 2), &vec![weighted(50, 50)]).await;
    assert_eq!(weight(&half), Some(50));
    let done = wait_routed(&env, RolloutPhase::Healthy, None, (4, 0), &vec![weighted(100, 0)]).await;
    assert_eq!(done.status.as_ref().and_then(|s| s.version.as_deref()), Some("1.1.0"));
    assert_eq!(image_of(&env.deployment("rc").await), "ghcr.io/tetris-operator/game-server:1.1.0");

    // Strategy changed away: to BlueGreen the canary Service goes and the route has one backend
    // again; to RollingUpdate the preview Service and the canary Deployment go too.
    env.patch_spec("rc", json!({"upgrade": {"strategy": "BlueGreen", "canary": null}})).await;
    wait_for("BlueGreen: no canary Service, a preview Service, one backend", || async {
        let services: Api<Service> = env.api();
        let one = rules(&env).await? == vec![(Vec::new(), vec![("rc".to_owned(), 1)])];
        (one && services.get_opt("rc-canary").await.ok()?.is_none()
            && services.get_opt("rc-preview").await.ok()?.is_some())
        .then_some(())
    })
    .await;
    env.patch_spec("rc", json!({"upgrade": {"strategy": "RollingUpdate"}})).await;
    wait_for("RollingUpdate: no preview Service, no canary Deployment", || async {
        let preview = env.api::<Service>().get_opt("rc-preview").await.ok()?;
        let canary = env.api::<Deployment>().get_opt("rc-canary").await.ok()?;
        (preview.is_none() && canary.is_none()).then_some(())
    })
    .await;
    assert_eq!(selector(&env, "rc").await.and_then(|s| s.get("app.kubernetes.io/version").cloned()), None);
    env.stop().await;

    // Leave the cluster as the route test expects to find it: without the Gateway API.
    for file in GATEWAY_CRDS {
        // `.../<group>_<plural>.yaml` holds the CRD `<plural>.<group>`.
        let stem = file.rsplit('/').next().unwrap_or_default().trim_end_matches(".yaml");
        let (group, plural) =
            stem.split_once('_').expect("Gateway API CRD file names are <group>_<plural>.yaml");
        let name = format!("{plural}.{group}");
        cluster()
            .run_kubectl(&["delete", "crd", &name, "--ignore-not-found", "--wait=true", "--timeout=60s"])
            .unwrap_or_else(|e| panic!("deleting CRD {name}: {e}"));
    }
}
