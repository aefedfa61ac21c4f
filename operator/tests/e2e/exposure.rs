//! The children of other projects' APIs and the pod settings platform teams set:
//! - an HTTPRoute asked for before the Gateway API CRDs exist gives `Degraded` naming them, and
//!   installing them (from the `sigs.k8s.io/gateway-api` module) heals the app without a change to
//!   it; the route has the parents, hosts, backend, weights and timeouts of the spec, its
//!   conditions are mirrored, drift is corrected, and it goes when `spec.route` is unset;
//! - the same for a PodMonitor and the Prometheus Operator CRDs;
//! - digests, pull secrets and policy, affinity, spread, service account, fsGroup and the
//!   NetworkPolicy reach their objects; placement that contradicts the same-node rule is refused;
//! - a child apply the API server keeps refusing with a code that is not "invalid" (here a
//!   ValidatingAdmissionPolicy answering 403) ends in `Degraded` with the API server's message.
//!
//! Nothing in the cluster plays the Gateway: no implementation builds from Go modules within the
//! CI budget, so the test writes the route's status the way a Gateway controller does, through the
//! real API server's status subresource.

use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use tetris_operator::crd::TetrisApp;
use tetris_operator::podmonitor::PodMonitor;
use tetris_operator::route::HttpRoute;

use crate::common::*;

/// The Gateway API release whose standard CRDs the test installs.
pub const GATEWAY_API: (&str, &str) = ("sigs.k8s.io/gateway-api", "v1.6.3");
/// The Prometheus Operator release whose PodMonitor CRD the test installs.
const PROMETHEUS_OPERATOR: (&str, &str) = ("github.com/prometheus-operator/prometheus-operator", "v0.88.0");

/// The directory of a Go module in the module cache, downloading it through the Go proxy if needed.
fn module_dir((module, version): (&str, &str)) -> PathBuf {
    let out = std::process::Command::new("go")
        .args(["mod", "download", "-json", &format!("{module}@{version}")])
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap_or_else(|e| panic!("go mod download {module}: {e}"));
    let info: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("go mod download {module}: {e}: {}", String::from_utf8_lossy(&out.stderr))
    });
    PathBuf::from(info["Dir"].as_str().unwrap_or_else(|| panic!("go mod download {module}: {info}")))
}

/// The Gateway API standard CRDs the route tests install.
pub const GATEWAY_CRDS: [&str; 3] = [
    "config/crd/standard/gateway.networking.k8s.io_gatewayclasses.yaml",
    "config/crd/standard/gateway.networking.k8s.io_gateways.yaml",
    "config/crd/standard/gateway.networking.k8s.io_httproutes.yaml",
];

/// Held by every test that needs the Gateway API CRDs absent or present: the route test starts
/// without them, so a test that installs them holds it and removes them before letting go.
pub static GATEWAY_API_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Installs CRDs from files of a module and waits until they are served.
pub fn install_crds(module: (&str, &str), files: &[&str]) {
    let dir = module_dir(module);
    for file in files {
        let path = dir.join(file);
        let shown = path.display().to_string();
        cluster()
            .run_kubectl(&["apply", "--server-side", "-f", &shown])
            .unwrap_or_else(|e| panic!("{shown}: {e}"));
        let yaml = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{shown}: {e}"));
        let crd: Value = serde_yaml::from_str(&yaml).unwrap_or_else(|e| panic!("{shown}: {e}"));
        let name = crd["metadata"]["name"].as_str().expect("CRD name").to_owned();
        cluster()
            .run_kubectl(&["wait", "--for=condition=Established", &format!("crd/{name}"), "--timeout=60s"])
            .unwrap_or_else(|e| panic!("CRD {name} not established: {e}"));
    }
}

/// Waits until the app's condition `type_` has `status` (and, if given, `reason`) for its generation.
async fn wait_condition(
    env: &TestEnv,
    name: &str,
    type_: &str,
    status: &str,
    reason: Option<&str>,
) -> TetrisApp {
    let apps = env.apps();
    wait_for(&format!("{name}: {type_}={status} {reason:?}"), || async {
        let app = apps.get_opt(name).await.ok()??;
        let c = condition(&app, type_)?;
        let fresh = c.observed_generation == app.metadata.generation;
        (fresh && c.status == status && reason.is_none_or(|r| c.reason == r)).then_some(app)
    })
    .await
}

fn message(app: &TetrisApp, type_: &str) -> String {
    condition(app, type_).map(|c| c.message.clone()).unwrap_or_default()
}

/// Writes the route's status as a Gateway controller would, for the parent the app names.
pub async fn gateway_says(env: &TestEnv, name: &str, accepted: &str, resolved: (&str, &str)) {
    let routes: Api<HttpRoute> = env.api();
    let route = routes.get(name).await.expect("route");
    let generation = route.metadata.generation;
    let cond = |type_: &str, status: &str, reason: &str| {
        json!({"type": type_, "status": status, "reason": reason, "message": format!("{type_} by the test gateway"),
               "observedGeneration": generation, "lastTransitionTime": "2026-01-01T00:00:00Z"})
    };
    let status = json!({"status": {"parents": [{
        "parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "public", "namespace": "gateways", "sectionName": "https"},
        "controllerName": "example.com/test-gateway",
        "conditions": [cond("Accepted", accepted, if accepted == "True" { "Accepted" } else { "NotAllowedByListeners" }),
                       cond("ResolvedRefs", resolved.0, resolved.1)],
    }]}});
    routes.patch_status(name, &PatchParams::default(), &Patch::Merge(&status)).await.expect("route status");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_waits_for_the_gateway_api_then_follows_the_spec_and_its_gateway() {
    // The routed canary test installs the Gateway API CRDs too (and removes them when done).
    let _gateway_api = GATEWAY_API_LOCK.lock().await;
    let env = TestEnv::start("route", Duration::from_secs(300)).await;
    let _logs = env.cluster.log_guard();
    let yaml = "apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: routed\nspec:\n  version: 1.0.0\n  route:\n    parentRefs:\n    - name: public\n      namespace: gateways\n      sectionName: https\n    hostnames: [tetris.example.com]\n    path: /play\n";
    env.apply_app(yaml).await;

    // No Gateway API in the cluster: the game runs, and the status says what is missing.
    let app = wait_condition(&env, "routed", "Degraded", "True", Some("APINotServed")).await;
    let msg = message(&app, "Degraded");
    assert!(msg.contains("spec.route") && msg.contains("CRD is not installed"), "{msg}");
    assert!(
        env.api::<Deployment>().get_opt("routed").await.expect("get").is_some(),
        "the game itself is deployed"
    );
    assert_eq!(condition(&app, "Ready").map(|c| c.status.as_str()), Some("False"));

    install_crds(GATEWAY_API, &GATEWAY_CRDS);
    let routes: Api<HttpRoute> = env.api();
    let route =
        wait_for("the HTTPRoute once its CRD exists", || async { routes.get_opt("routed").await.ok()? })
            .await;
    let p = &route.spec.parent_refs[0];
    assert_eq!(
        (p.name.as_str(), p.namespace.as_deref(), p.section_name.as_deref()),
        ("public", Some("gateways"), Some("https"))
    );
    assert_eq!(route.spec.hostnames, ["tetris.example.com"]);
    let rule = &route.spec.rules[0];
    let path = rule.matches[0].path.as_ref().expect("path match");
    assert_eq!((path.type_.as_deref(), path.value.as_deref()), (Some("PathPrefix"), Some("/play")));
    let backend = &rule.backend_refs[0];
    assert_eq!((backend.name.as_str(), backend.port, backend.weight), ("routed", Some(80), Some(1)));
    let timeouts = rule.timeouts.as_ref().expect("timeouts");
    assert_eq!((timeouts.request.as_deref(), timeouts.backend_request.as_deref()), (Some("0s"), Some("0s")));
    let svc = env.api::<Service>().get("routed").await.expect("service");
    let port = &svc.spec.and_then(|s| s.ports).expect("ports")[0];
    assert_eq!(port.app_protocol.as_deref(), Some("kubernetes.io/ws"));

    // Healed without a change to the app; the Gateway has not spoken yet.
    let app = wait_condition(&env, "routed", "Degraded", "False", None).await;
    assert_eq!(
        condition(&app, "RouteAccepted").map(|c| (c.status.as_str(), c.reason.as_str())),
        Some(("Unknown", "Pending"))
    );
    assert_eq!(app.status.as_ref().and_then(|s| s.url.as_deref()), Some("https://tetris.example.com/play"));

    gateway_says(&env, "routed", "True", ("False", "BackendNotFound")).await;
    let app = wait_condition(&env, "routed", "Degraded", "True", Some("RouteRefsNotResolved")).await;
    assert_eq!(condition(&app, "RouteAccepted").map(|c| c.status.as_str()), Some("True"));
    assert_eq!(condition(&app, "RouteResolvedRefs").map(|c| c.reason.as_str()), Some("BackendNotFound"));
    assert!(
        message(&app, "Degraded").contains("Gateway gateways/public, listener https"),
        "{}",
        message(&app, "Degraded")
    );
    gateway_says(&env, "routed", "True", ("True", "ResolvedRefs")).await;
    wait_condition(&env, "routed", "RouteResolvedRefs", "True", None).await;
    wait_condition(&env, "routed", "Ready", "True", None).await;

    // Drift on an owned field is corrected.
    routes
        .patch(
            "routed",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"hostnames": ["evil.example.com"]}})),
        )
        .await
        .expect("manual edit");
    wait_for("hostnames restored", || async {
        let r = routes.get("routed").await.ok()?;
        (r.spec.hostnames == ["tetris.example.com"]).then_some(())
    })
    .await;

    // Unset: the route goes, and so do the mirrored conditions and the WebSocket hint.
    env.patch_spec("routed", json!({"route": null})).await;
    wait_for("route removed", || async { routes.get_opt("routed").await.ok()?.is_none().then_some(()) })
        .await;
    let app = wait_condition(&env, "routed", "Ready", "True", None).await;
    assert!(condition(&app, "RouteAccepted").is_none(), "no route, no route conditions");
    let svc = env.api::<Service>().get("routed").await.expect("service");
    assert_eq!(svc.spec.and_then(|s| s.ports).expect("ports")[0].app_protocol, None);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_monitor_waits_for_the_prometheus_operator_crds_then_follows_the_spec() {
    let env = TestEnv::start("monitor", Duration::from_secs(300)).await;
    let _logs = env.cluster.log_guard();
    let yaml = "apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: watched\nspec:\n  version: 1.0.0\n  monitoring:\n    enabled: true\n    interval: 15s\n    labels:\n      release: prometheus\n";
    env.apply_app(yaml).await;
    let app = wait_condition(&env, "watched", "Degraded", "True", Some("APINotServed")).await;
    let msg = message(&app, "Degraded");
    assert!(msg.contains("spec.monitoring.enabled") && msg.contains("PodMonitor"), "{msg}");

    install_crds(
        PROMETHEUS_OPERATOR,
        &["example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml"],
    );
    let monitors: Api<PodMonitor> = env.api();
    let pm =
        wait_for("the PodMonitor once its CRD exists", || async { monitors.get_opt("watched").await.ok()? })
            .await;
    assert_eq!(pm.metadata.labels.as_ref().map(|l| l["release"].as_str()), Some("prometheus"));
    assert_eq!(
        pm.spec.selector.match_labels.as_ref().map(|m| m["gameops.dev/tetrisapp"].as_str()),
        Some("watched")
    );
    let ep = &pm.spec.pod_metrics_endpoints[0];
    assert_eq!(
        (ep.port.as_deref(), ep.path.as_deref(), ep.interval.as_deref()),
        (Some("metrics"), Some("/metrics"), Some("15s"))
    );
    wait_condition(&env, "watched", "Ready", "True", None).await;

    env.patch_spec("watched", json!({"monitoring": {"enabled": false}})).await;
    wait_for("PodMonitor removed", || async {
        monitors.get_opt("watched").await.ok()?.is_none().then_some(())
    })
    .await;
    env.stop().await;
}

const DIGEST: &str = "sha256:4f1f8a7e0c2b3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_settings_and_network_policy_reach_their_objects_and_contradictions_are_refused() {
    let env = TestEnv::start("podsettings", Duration::from_secs(300)).await;
    let _logs = env.cluster.log_guard();
    let sa = ServiceAccount {
        metadata: kube::api::ObjectMeta { name: Some("games".into()), ..Default::default() },
        ..Default::default()
    };
    env.api::<ServiceAccount>().create(&PostParams::default(), &sa).await.expect("service account");
    let yaml = format!(
        "apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: settled\nspec:\n  version: 1.2.0\n  image: registry.example.com/games/tetris@{DIGEST}\n  imagePullPolicy: Always\n  imagePullSecrets:\n  - name: registry-creds\n  pod:\n    serviceAccountName: games\n    fsGroup: 3000\n    affinity:\n      nodeAffinity:\n        preferredDuringSchedulingIgnoredDuringExecution:\n        - weight: 10\n          preference:\n            matchExpressions:\n            - {{key: pool, operator: In, values: [games]}}\n    topologySpreadConstraints:\n    - maxSkew: 1\n      topologyKey: topology.kubernetes.io/zone\n      whenUnsatisfiable: ScheduleAnyway\n      labelSelector:\n        matchLabels: {{gameops.dev/tetrisapp: settled}}\n  networkPolicy:\n    enabled: true\n    playerNamespaces: [gateways]\n    metricsNamespace: monitoring\n"
    );
    env.apply_app(&yaml).await;
    env.wait_ready("settled").await;
    let dep = env.deployment("settled").await;
    let pod = dep.spec.as_ref().and_then(|s| s.template.spec.clone()).expect("pod spec");
    let c = &pod.containers[0];
    assert_eq!(
        c.image.as_deref(),
        Some(format!("registry.example.com/games/tetris:1.2.0@{DIGEST}").as_str())
    );
    assert_eq!(c.image_pull_policy.as_deref(), Some("Always"));
    assert_eq!(pod.image_pull_secrets.as_ref().map(|s| s[0].name.as_str()), Some("registry-creds"));
    assert_eq!(pod.service_account_name.as_deref(), Some("games"));
    assert_eq!(pod.security_context.as_ref().and_then(|s| s.fs_group), Some(3000));
    let affinity = pod.affinity.as_ref().expect("affinity");
    assert!(affinity.node_affinity.is_some(), "the user's node affinity");
    assert!(affinity.pod_affinity.is_some(), "the operator's same-node rule beside it");
    assert_eq!(
        pod.topology_spread_constraints.as_ref().map(|t| t[0].topology_key.as_str()),
        Some("topology.kubernetes.io/zone")
    );
    let ports: Vec<_> = c.ports.iter().flatten().filter_map(|p| p.name.clone()).collect();
    assert_eq!(ports, ["http", "metrics"]);

    let policies: Api<NetworkPolicy> = env.api();
    let np = policies.get("settled").await.expect("network policy");
    let rules = np.spec.and_then(|s| s.ingress).expect("ingress rules");
    let peers = |i: usize| -> Vec<String> {
        rules[i]
            .from
            .iter()
            .flatten()
            .filter_map(|p| {
                p.namespace_selector
                    .as_ref()?
                    .match_labels
                    .as_ref()?
                    .get("kubernetes.io/metadata.name")
                    .cloned()
            })
            .collect()
    };
    assert_eq!(peers(0), ["gateways"]);
    assert_eq!(
        peers(1),
        Vec::<String>::new(),
        "the app's own pods, by pod selector (duo rooms across replicas)"
    );
    assert!(rules[1].from.iter().flatten().all(|p| p.pod_selector.is_some()));
    assert_eq!(peers(2), ["monitoring"]);
    // Deleted by hand: recreated.
    policies.delete("settled", &DeleteParams::default()).await.expect("delete");
    wait_for("network policy recreated", || async {
        policies.get_opt("settled").await.ok()?.filter(|p| p.metadata.deletion_timestamp.is_none())
    })
    .await;

    // Spreading the app's own pods across nodes contradicts the volume's same-node rule.
    env.patch_spec(
        "settled",
        json!({"pod": {"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"gameops.dev/tetrisapp": "settled"}}}]}}),
    )
    .await;
    let app = wait_condition(&env, "settled", "Degraded", "True", Some("InvalidSpec")).await;
    let msg = message(&app, "Degraded");
    assert!(
        msg.starts_with("spec.pod.topologySpreadConstraints[0]") && msg.contains("ReadWriteOnce"),
        "{msg}"
    );
    let unchanged = env.deployment("settled").await;
    assert!(
        unchanged
            .spec
            .and_then(|s| s.template.spec)
            .and_then(|p| p.topology_spread_constraints)
            .is_some_and(|t| t[0].topology_key == "topology.kubernetes.io/zone"),
        "the refused rule never reaches the pods"
    );

    env.patch_spec(
        "settled",
        json!({"pod": {"topologySpreadConstraints": null}, "networkPolicy": {"enabled": false}}),
    )
    .await;
    wait_for("network policy removed", || async {
        policies.get_opt("settled").await.ok()?.is_none().then_some(())
    })
    .await;
    wait_condition(&env, "settled", "Degraded", "False", None).await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_the_api_server_keeps_refusing_is_degraded_with_its_message() {
    let env = TestEnv::start("refused", Duration::from_secs(300)).await;
    let _logs = env.cluster.log_guard();
    // A policy of the kind Kyverno or Gatekeeper users write: no Deployments in this namespace.
    let policy = format!(
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata:\n  name: no-deployments-{ns}\nspec:\n  failurePolicy: Fail\n  matchConstraints:\n    resourceRules:\n    - apiGroups: [apps]\n      apiVersions: [v1]\n      operations: [CREATE, UPDATE]\n      resources: [deployments]\n  validations:\n  - expression: \"false\"\n    message: team quota exhausted in {ns}\n    reason: Forbidden\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata:\n  name: no-deployments-{ns}\nspec:\n  policyName: no-deployments-{ns}\n  validationActions: [Deny]\n  matchResources:\n    namespaceSelector:\n      matchLabels:\n        kubernetes.io/metadata.name: {ns}\n",
        ns = env.ns
    );
    env.cluster.kubectl_apply(&policy).expect("admission policy");
    // The policy takes effect once the API server has loaded it; probe with a dry run.
    let probe = Deployment {
        metadata: kube::api::ObjectMeta { name: Some("probe".into()), ..Default::default() },
        spec: Some(serde_json::from_value(json!({"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}})).expect("spec")),
        ..Default::default()
    };
    let deployments: Api<Deployment> = env.api();
    wait_for("the admission policy denies", || async {
        let pp = PostParams { dry_run: true, ..Default::default() };
        matches!(deployments.create(&pp, &probe).await, Err(kube::Error::Api(s)) if s.code == 403)
            .then_some(())
    })
    .await;

    env.apply_app("apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: denied\nspec:\n  version: 1.0.0\n").await;
    let app = wait_condition(&env, "denied", "Degraded", "True", Some("ApplyFailed")).await;
    let msg = message(&app, "Degraded");
    assert!(
        msg.contains("Deployment") && msg.contains("HTTP 403") && msg.contains("team quota exhausted"),
        "{msg}"
    );
    let reasons = event_reasons(&env, "denied").await;
    assert!(reasons.iter().any(|r| r == "ApplyFailed"), "a Warning Event says so too: {reasons:?}");

    // The operator keeps retrying, so lifting the policy heals the app without a change to it.
    env.cluster
        .run_kubectl(&["delete", "validatingadmissionpolicybinding", &format!("no-deployments-{}", env.ns)])
        .expect("lift policy");
    env.wait_ready("denied").await;
    env.stop().await;
}
