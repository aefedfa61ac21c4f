//! Helpers shared by the end-to-end tests: the shared local control plane, an in-process operator
//! per test namespace, polling waits, small accessors and probe requests to operator processes.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use local_cluster::LocalCluster;
use serde_json::Value;
use tetris_operator::crd::TetrisApp;
use tetris_operator::metrics::Metrics;
use tetris_operator::operator::{Operator, Settings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

/// The user the in-process operators authenticate as, so the audit log attributes their writes.
pub const OPERATOR_USER: &str = "tetris-operator";
/// Longest wait for the cluster to converge in any one step.
pub const CONVERGE: Duration = Duration::from_secs(90);

/// The local control plane with the CRD installed.
pub fn cluster() -> &'static LocalCluster {
    static CRD: Once = Once::new();
    let cluster = local_cluster::shared();
    CRD.call_once(|| {
        let yaml = std::fs::read_to_string(repo_path("crds/tetrisapps.gameops.dev.yaml")).expect("CRD file");
        cluster.kubectl_apply(&yaml).expect("CRD applies");
        cluster
            .run_kubectl(&[
                "wait",
                "--for=condition=Established",
                "crd/tetrisapps.gameops.dev",
                "--timeout=60s",
            ])
            .expect("CRD established");
    });
    cluster
}

/// A path relative to the repository root.
pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

/// One test's world: a fresh namespace, an admin client and an operator watching only that namespace.
pub struct TestEnv {
    pub cluster: &'static LocalCluster,
    pub ns: String,
    pub client: Client,
    pub metrics: Arc<Metrics>,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl TestEnv {
    /// Starts an in-process operator (no leader election) for a new namespace named after `prefix`.
    pub async fn start(prefix: &str, resync: Duration) -> TestEnv {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("tetris_operator=debug,kube_runtime=info")
            .with_test_writer()
            .try_init();
        let cluster = cluster();
        let ns = cluster.namespace(prefix);
        let client = cluster.client().await;
        let op_client = cluster.client_as(OPERATOR_USER).await;
        let operator = Operator::new(op_client, Settings::standalone(Some(ns.clone()), resync));
        let metrics = operator.metrics();
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(e) = operator.run(None, shutdown).await {
                panic!("operator failed: {e}");
            }
        });
        TestEnv { cluster, ns, client, metrics, stop: Some(stop), handle: Some(handle) }
    }

    /// Stops the operator and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            let _ = tokio::time::timeout(Duration::from_secs(30), handle).await;
        }
    }

    pub fn apps(&self) -> Api<TetrisApp> {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    /// Creates or updates a TetrisApp from YAML (server-side apply as the user `test`).
    pub async fn apply_app(&self, yaml: &str) -> TetrisApp {
        let value: Value = serde_yaml::from_str(yaml).expect("test YAML parses");
        let name = value["metadata"]["name"].as_str().expect("metadata.name").to_owned();
        self.apps()
            .patch(&name, &PatchParams::apply("test").force(), &Patch::Apply(&value))
            .await
            .unwrap_or_else(|e| panic!("applying TetrisApp {name}: {e}"))
    }

    /// Merge-patches a TetrisApp's spec as the user `test`.
    pub async fn patch_spec(&self, name: &str, spec: Value) {
        self.apps()
            .patch(name, &PatchParams::default(), &Patch::Merge(serde_json::json!({ "spec": spec })))
            .await
            .unwrap_or_else(|e| panic!("patching TetrisApp {name}: {e}"));
    }

    /// Waits until the TetrisApp has `Ready=True` for its current generation; returns it.
    pub async fn wait_ready(&self, name: &str) -> TetrisApp {
        let apps = self.apps();
        wait_for(&format!("TetrisApp {}/{name} Ready for its generation", self.ns), || async {
            let app = apps.get_opt(name).await.ok()??;
            is_ready(&app).then_some(app)
        })
        .await
    }

    /// The app's game-server pods.
    pub async fn pods(&self, name: &str) -> Vec<Pod> {
        let lp = ListParams::default().labels(&format!("gameops.dev/tetrisapp={name}"));
        self.api::<Pod>().list(&lp).await.map(|l| l.items).unwrap_or_default()
    }

    /// The app's Deployment.
    pub async fn deployment(&self, name: &str) -> Deployment {
        self.api::<Deployment>().get(name).await.unwrap_or_else(|e| panic!("Deployment {name}: {e}"))
    }

    /// Writes the operator's user made in this namespace, from the audit log.
    pub fn operator_writes(&self) -> Vec<String> {
        local_cluster::audit::writes_by(&self.cluster.audit_events(), OPERATOR_USER, Some(&self.ns))
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Ready=True, with both the status and the condition observing the current generation.
pub fn is_ready(app: &TetrisApp) -> bool {
    let generation = app.metadata.generation;
    app.status.as_ref().is_some_and(|s| {
        s.observed_generation == generation
            && condition(app, "Ready")
                .is_some_and(|c| c.status == "True" && c.observed_generation == generation)
    })
}

/// A condition of the app by type.
pub fn condition<'a>(
    app: &'a TetrisApp,
    type_: &str,
) -> Option<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    app.status.as_ref()?.conditions.iter().find(|c| c.type_ == type_)
}

/// Polls `check` every 200ms until it returns Some, or panics after [`CONVERGE`] naming `what`.
pub async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if start.elapsed() > CONVERGE {
            panic!("gave up waiting for: {what}\n{}", cluster().log_tails(20));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The image of the first container of a Deployment's pod template.
pub fn image_of(dep: &Deployment) -> String {
    dep.spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|p| p.containers.first())
        .and_then(|c| c.image.clone())
        .unwrap_or_default()
}

/// Whether a pod is Ready.
pub fn pod_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Event reasons recorded about `name` in the namespace (events.k8s.io).
pub async fn event_reasons(env: &TestEnv, name: &str) -> Vec<String> {
    let events: Api<k8s_openapi::api::events::v1::Event> = env.api();
    events
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .filter_map(|e| e.reason.clone())
        .collect()
}

/// Creates a fake node with a taint and a label of its own, so only the pods of the test that
/// asks for it (by toleration and node selector) land there and other tests' pods never do.
pub fn dedicated_node(name: &str, group: &str) {
    cluster()
        .add_dedicated_node(name, "tetris-test/group", group)
        .unwrap_or_else(|e| panic!("creating node {name}: {e}"));
}

/// The spec fragment that places an app's pods on the dedicated nodes of `group`.
pub fn placed_on(group: &str) -> String {
    format!(
        "  pod:\n    nodeSelector:\n      tetris-test/group: {group}\n    tolerations:\n    - key: tetris-test/group\n      operator: Equal\n      value: {group}\n      effect: NoSchedule\n"
    )
}

/// Names of the objects in a list.
pub fn names<K: ResourceExt>(items: &[K]) -> Vec<String> {
    let mut n: Vec<String> = items.iter().map(|o| o.name_any()).collect();
    n.sort();
    n
}

/// A port nothing listens on right now, for a probe server of an operator process.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The response to `GET path` on 127.0.0.1:`port` if it is a 200, else None.
pub async fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await.ok()?;
    let mut out = String::new();
    stream.read_to_string(&mut out).await.ok()?;
    out.starts_with("HTTP/1.1 200").then_some(out)
}

/// A `tetris-operator run` child process, killed when dropped.
pub struct OperatorProcess {
    pub child: Child,
    pub port: u16,
    log: PathBuf,
}

/// Leader-election timings of an operator process, in seconds (retry < renew < duration).
#[derive(Debug, Clone, Copy)]
pub struct LeaseTiming {
    pub duration: u64,
    pub renew: u64,
    pub retry: u64,
}

impl OperatorProcess {
    pub fn spawn(
        identity: &str,
        ns: &str,
        kubeconfig: &Path,
        dir: &Path,
        lease: LeaseTiming,
    ) -> OperatorProcess {
        let port = free_port();
        let log = dir.join(format!("{identity}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_tetris-operator"))
            .args([
                "run",
                "--probe-address",
                &format!("127.0.0.1:{port}"),
                "--leader-election=true",
                "--lease-name",
                "tetris-operator",
                "--lease-namespace",
                ns,
                "--identity",
                identity,
                "--lease-duration-seconds",
                &lease.duration.to_string(),
                "--lease-renew-seconds",
                &lease.renew.to_string(),
                "--lease-retry-seconds",
                &lease.retry.to_string(),
                "--watch-namespace",
                ns,
                "--log-format",
                "json",
            ])
            .env("KUBECONFIG", kubeconfig)
            .env(
                "TETRIS_OPERATOR_LOG_LEVEL",
                std::env::var("TEST_OPERATOR_LOG_LEVEL").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log file"))
            .stderr(file)
            .spawn()
            .expect("tetris-operator starts");
        OperatorProcess { child, port, log }
    }

    pub async fn metric(&self, name: &str) -> Option<f64> {
        let body = http_get(self.port, "/metrics").await?;
        body.lines().find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for OperatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
