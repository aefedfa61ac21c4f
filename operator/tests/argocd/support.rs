//! What every scenario uses: the shared control plane with the TetrisApp CRD, a namespace with
//! its own operator process (the real `tetris-operator` binary, watching only that namespace), a
//! local Git repository, and the example Application pointed at both.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;
use std::time::Duration;

use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use local_cluster::LocalCluster;
use local_cluster::process::Components;
use serde_json::{Value, json};

use crate::argocd::{self, ArgoCd};

/// Longest wait for any one step to converge.
pub const CONVERGE: Duration = Duration::from_secs(120);
/// The Git folder the example Application syncs.
pub const APPS_PATH: &str = "examples/argocd/tetrisapps";

/// A path relative to the repository root.
pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

/// The shared local control plane, with the TetrisApp CRD installed.
pub fn cluster() -> &'static LocalCluster {
    static CRD: Once = Once::new();
    let cluster = local_cluster::shared();
    CRD.call_once(|| {
        let crd = std::fs::read_to_string(repo_path("crds/tetrisapps.gameops.dev.yaml"))
            .expect("the generated CRD is committed under crds/");
        let installed = cluster.kubectl_apply(&crd).and_then(|_| {
            cluster.run_kubectl(&[
                "wait",
                "--for=condition=Established",
                "crd/tetrisapps.gameops.dev",
                "--timeout=60s",
            ])
        });
        if let Err(e) = installed {
            panic!("installing the TetrisApp CRD: {e}");
        }
    });
    cluster
}

/// A local Git repository, the source an Application syncs from (`file://`, as Argo CD's own
/// end-to-end tests do).
pub struct GitRepo {
    dir: PathBuf,
}

impl GitRepo {
    /// An empty repository on branch `main` in `dir`.
    pub fn init(dir: PathBuf) -> GitRepo {
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        let repo = GitRepo { dir };
        repo.git(&["init", "--quiet", "--initial-branch=main"]);
        repo
    }

    /// The URL to put in an Application's `spec.source.repoURL`.
    pub fn url(&self) -> String {
        format!("file://{}", self.dir.display())
    }

    /// Writes `text` to `rel` (creating folders) and stages it.
    pub fn write(&self, rel: &str, text: &str) {
        let path = self.dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("creating {}: {e}", parent.display()));
        }
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        self.git(&["add", rel]);
    }

    /// Removes `rel` from the work tree and the index.
    pub fn remove(&self, rel: &str) {
        self.git(&["rm", "--quiet", rel]);
    }

    /// Commits what is staged; returns the commit's hash.
    pub fn commit(&self, message: &str) -> String {
        self.git(&["commit", "--quiet", "-m", message]);
        self.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }

    fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(["-c", "user.name=test", "-c", "user.email=test@localhost", "-c", "commit.gpgsign=false"])
            .args(args)
            .current_dir(&self.dir)
            .output()
            .unwrap_or_else(|e| panic!("running git {}: {e}", args.join(" ")));
        assert!(
            out.status.success(),
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// One scenario's world: a namespace, a Git repository and the example Application syncing it
/// into that namespace, and an operator process watching it.
pub struct Scenario {
    pub cluster: &'static LocalCluster,
    pub argocd: &'static ArgoCd,
    pub ns: String,
    pub client: Client,
    pub repo: GitRepo,
    /// The Application's name (the namespace's: one Application per scenario).
    pub app: String,
    dir: PathBuf,
    operator: Option<Components>,
}

impl Scenario {
    /// A namespace named after `prefix`, with an empty Git repository; nothing runs yet.
    pub async fn new(prefix: &str) -> Scenario {
        let cluster = cluster();
        let argocd = argocd::shared();
        let ns = cluster.namespace(prefix);
        let dir = argocd.dir().join(&ns);
        let repo = GitRepo::init(dir.join("git"));
        let client = cluster.client().await;
        Scenario { cluster, argocd, app: ns.clone(), ns, client, repo, dir, operator: None }
    }

    /// Starts the operator binary, watching this scenario's namespace only.
    pub fn start_operator(&mut self) {
        let kubeconfig = self
            .cluster
            .kubeconfig_as("tetris-operator")
            .unwrap_or_else(|e| panic!("kubeconfig for the operator: {e}"));
        let args: Vec<String> = [
            format!("KUBECONFIG={}", kubeconfig.display()),
            env!("CARGO_BIN_EXE_tetris-operator").to_owned(),
            "run".into(),
            "--leader-election=false".into(),
            format!("--watch-namespace={}", self.ns),
            "--probe-address=127.0.0.1:0".into(),
            "--resync-seconds=300".into(),
            "--log-level=tetris_operator=debug,kube=info".into(),
        ]
        .into();
        let components = Components::default();
        if let Err(e) = components.spawn(&self.dir, "tetris-operator", Path::new("env"), &args) {
            panic!("starting the operator: {e}");
        }
        self.operator = Some(components);
    }

    /// Creates the Application of `examples/argocd/application.yaml`, with only its name, its
    /// repository URL and its destination namespace changed to this scenario's.
    pub async fn create_application(&self) {
        let text = std::fs::read_to_string(repo_path("examples/argocd/application.yaml"))
            .expect("examples/argocd/application.yaml is committed");
        let mut app: Value = serde_yaml::from_str(&text).expect("the example Application is YAML");
        app["metadata"]["name"] = json!(self.app);
        app["spec"]["source"]["repoURL"] = json!(self.repo.url());
        app["spec"]["destination"]["namespace"] = json!(self.ns);
        let object: DynamicObject = serde_json::from_value(app).expect("an Application is an object");
        applications(&self.client)
            .create(&PostParams::default(), &object)
            .await
            .unwrap_or_else(|e| panic!("creating Application {}: {e}", self.app));
    }

    /// Asks Argo CD to compare the Application with Git now, as a Git webhook would, instead of
    /// waiting for the next periodic resync.
    pub async fn refresh(&self) {
        let patch = json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}});
        applications(&self.client)
            .patch(&self.app, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap_or_else(|e| panic!("refreshing Application {}: {e}", self.app));
    }

    /// Commits what is staged and has Argo CD look at it; returns the commit's hash.
    pub async fn push(&self, message: &str) -> String {
        let commit = self.repo.commit(message);
        self.refresh().await;
        commit
    }

    /// The Application as JSON, if it exists.
    pub async fn application(&self) -> Option<Value> {
        let app = applications(&self.client).get_opt(&self.app).await.ok()??;
        serde_json::to_value(app).ok()
    }

    /// A TetrisApp of this namespace as JSON, if it exists.
    pub async fn tetrisapp(&self, name: &str) -> Option<Value> {
        let app = tetrisapps(&self.client, &self.ns).get_opt(name).await.ok()??;
        serde_json::to_value(app).ok()
    }

    /// Merge-patches a TetrisApp as the user `kubectl` would, the way someone fixing things by
    /// hand does.
    pub fn kubectl_patch(&self, name: &str, patch: &Value) {
        let patch = patch.to_string();
        let patched = self.cluster.run_kubectl(&[
            "-n",
            &self.ns,
            "patch",
            "tetrisapp",
            name,
            "--type=merge",
            "-p",
            &patch,
        ]);
        if let Err(e) = patched {
            panic!("kubectl patch tetrisapp {name}: {e}");
        }
    }

    /// Polls `check` every 250 ms until it returns Some; after [`CONVERGE`] fails with `what`,
    /// the Application's status and the Argo CD and operator logs. Fails at once if an Argo CD
    /// process has exited.
    pub async fn wait<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let polled = tokio::time::timeout(CONVERGE, async {
            let mut ticks = tokio::time::interval(Duration::from_millis(250));
            loop {
                ticks.tick().await;
                if let Err(e) = self.argocd.check_alive() {
                    panic!("waiting for {what}: {e}");
                }
                if let Some(v) = check().await {
                    break v;
                }
            }
        })
        .await;
        match polled {
            Ok(v) => v,
            Err(_) => {
                panic!("gave up after {}s waiting for: {what}\n{}", CONVERGE.as_secs(), self.report().await)
            }
        }
    }

    /// The Application's status and the logs, for a failure message.
    pub async fn report(&self) -> String {
        let status = self.application().await.map(|a| a["status"].clone()).unwrap_or(Value::Null);
        let operator = self.operator.as_ref().map(|o| o.log_tails(30)).unwrap_or_default();
        format!("Application {} status: {status:#}\n{}\n{operator}", self.app, self.argocd.log_tails(30))
    }

    /// Waits until the Application is Synced to `revision` with health `health`; returns it.
    pub async fn wait_app(&self, revision: &str, health: &str) -> Value {
        self.wait(&format!("Application {} Synced to {revision} and {health}", self.app), || async {
            let app = self.application().await?;
            let status = &app["status"];
            (status["sync"]["status"] == "Synced"
                && status["sync"]["revision"] == revision
                && status["health"]["status"] == health)
                .then_some(app)
        })
        .await
    }
}

impl Drop for Scenario {
    fn drop(&mut self) {
        if let Some(operator) = self.operator.take() {
            operator.stop();
        }
    }
}

/// Argo CD Applications (in Argo CD's namespace).
pub fn applications(client: &Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Application");
    Api::namespaced_with(client.clone(), argocd::NAMESPACE, &ApiResource::from_gvk(&gvk))
}

/// TetrisApps of a namespace, untyped: these tests read them as Argo CD does.
pub fn tetrisapps(client: &Client, ns: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("gameops.dev", "v1alpha1", "TetrisApp");
    Api::namespaced_with(client.clone(), ns, &ApiResource::from_gvk(&gvk))
}

/// The health Argo CD shows for one resource of the Application (`status.resources`).
pub fn resource_health<'a>(app: &'a Value, kind: &str, name: &str) -> Option<&'a Value> {
    app["status"]["resources"]
        .as_array()?
        .iter()
        .find(|r| r["kind"] == kind && r["name"] == name)
        .map(|r| &r["health"])
}

/// Whether a TetrisApp is Ready for its current generation, as the operator reports it.
pub fn is_ready(app: &Value) -> bool {
    let generation = &app["metadata"]["generation"];
    let ready = app["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
        .is_some_and(|c| c["status"] == "True" && &c["observedGeneration"] == generation);
    ready && &app["status"]["observedGeneration"] == generation
}
