//! One real Argo CD for the whole test binary: redis (Debian's redis-server), the repo server and
//! the application controller (built from `hack/argocd` by its cached build script), as local
//! processes against the shared local control plane, with what Argo CD's own install would have
//! created: the `argocd` namespace, argocd-cm (the TetrisApp health check patched in exactly as
//! the README says), argocd-secret and the `default` AppProject.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use local_cluster::LocalCluster;
use local_cluster::process::{Components, wait_for};

/// The namespace Argo CD runs in and keeps its Applications in.
pub const NAMESPACE: &str = "argocd";
/// How often the controller compares every Application with Git on its own. Changes to the
/// objects it tracks are noticed at once (it watches them); this bounds how late a Git commit is seen.
const APP_RESYNC_SECONDS: &str = "5";

/// The running Argo CD.
pub struct ArgoCd {
    dir: PathBuf,
    components: Components,
}

/// The Argo CD of this test binary, started on first use on the shared local control plane.
/// Its processes are stopped by the process-group watchdog when the test binary exits.
pub fn shared() -> &'static ArgoCd {
    static SHARED: OnceLock<ArgoCd> = OnceLock::new();
    SHARED.get_or_init(|| match ArgoCd::start(crate::support::cluster()) {
        Ok(argocd) => argocd,
        Err(e) => panic!("Argo CD failed to start (hack/setup.sh installs redis-server): {e}"),
    })
}

/// The bin directory of the Argo CD build (building it on first use; a stamp makes it a no-op after).
pub fn bin_dir() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let script = crate::support::repo_path("hack/argocd/build.sh");
        // stderr is inherited: the first build takes minutes and says so.
        let out = Command::new(&script)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
        assert!(out.status.success(), "{} failed with {}", script.display(), out.status);
        let stdout = String::from_utf8_lossy(&out.stdout);
        PathBuf::from(stdout.lines().last().unwrap_or_default().trim())
    })
    .clone()
}

impl ArgoCd {
    fn start(cluster: &'static LocalCluster) -> local_cluster::Result<ArgoCd> {
        let bin = bin_dir();
        let dir = cluster.dir().join("argocd");
        for sub in ["tls", "ssh", "gnupg", "plugins", "tmp"] {
            std::fs::create_dir_all(dir.join(sub)).map_err(|source| local_cluster::Error::Io {
                action: "creating",
                path: dir.join(sub),
                source,
            })?;
        }
        install(cluster, &bin)?;

        let components = Components::default();
        let redis = free_port();
        components.spawn(
            &dir,
            "redis",
            Path::new("redis-server"),
            &args(&["--port", &redis.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]),
        )?;
        let repo_server = free_port();
        let redis_address = format!("127.0.0.1:{redis}");
        let mut repo_args = env(&dir, "argocd-repo-server");
        repo_args.extend(args(&[
            "ARGOCD_GPG_ENABLED=false",
            &format!("ARGOCD_TLS_DATA_PATH={}", dir.join("tls").display()),
            &format!("ARGOCD_SSH_DATA_PATH={}", dir.join("ssh").display()),
            &format!("ARGOCD_GNUPGHOME={}", dir.join("gnupg").display()),
            &format!("ARGOCD_PLUGINSOCKFILEPATH={}", dir.join("plugins").display()),
            &bin.join("argocd").display().to_string(),
            "--address",
            "127.0.0.1",
            "--port",
            &repo_server.to_string(),
            "--metrics-address",
            "127.0.0.1",
            "--metrics-port",
            &free_port().to_string(),
            "--redis",
            &redis_address,
            "--disable-tls",
            // Its default names a mounted Secret's file, which contradicts --disable-tls.
            "--client-ca-path=",
        ]));
        // PATH: the repo server runs git-verify-wrapper.sh for every revision it reads.
        components.spawn_with_path(&dir, "argocd-repo-server", Path::new("env"), &repo_args, &bin)?;

        let kubeconfig = cluster.kubeconfig_as("argocd-application-controller")?;
        let mut controller_args = env(&dir, "argocd-application-controller");
        controller_args.extend(args(&[
            "ARGOCD_FAKE_IN_CLUSTER=true",
            &format!("KUBECONFIG={}", kubeconfig.display()),
            &bin.join("argocd").display().to_string(),
            "--kubeconfig",
            &kubeconfig.display().to_string(),
            "--namespace",
            NAMESPACE,
            "--redis",
            &redis_address,
            "--repo-server",
            &format!("127.0.0.1:{repo_server}"),
            "--repo-server-plaintext",
            "--metrics-port",
            &free_port().to_string(),
            "--app-resync",
            APP_RESYNC_SECONDS,
            "--app-resync-jitter",
            "0",
            "--persist-resource-health",
        ]));
        components.spawn(&dir, "argocd-application-controller", Path::new("env"), &controller_args)?;

        // Ready once the controller answers on the repo server's behalf: it serves metrics only
        // after its caches are up, and the repo server listens at once.
        wait_for("the Argo CD repo server to listen", &dir, Duration::from_secs(60), POLL, || {
            components.check_alive()?;
            Ok(std::net::TcpStream::connect(("127.0.0.1", repo_server)).ok().map(|_| ()))
        })?;
        Ok(ArgoCd { dir, components })
    }

    /// Fails with the logs if an Argo CD process has exited.
    pub fn check_alive(&self) -> local_cluster::Result<()> {
        self.components.check_alive()
    }

    /// The end of each Argo CD process's log, for a failing test to print.
    pub fn log_tails(&self, lines: usize) -> String {
        self.components.log_tails(lines)
    }

    /// Where the Argo CD processes keep their logs and scratch files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

const POLL: Duration = Duration::from_millis(200);

/// The `env` arguments every Argo CD process starts with: which component the binary runs, and a
/// temp directory of its own (the repo server clones into it).
fn env(dir: &Path, component: &str) -> Vec<String> {
    vec![format!("ARGOCD_BINARY_NAME={component}"), format!("TMPDIR={}", dir.join("tmp").display())]
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("the loopback interface has a free port")
}

/// Creates what Argo CD's install creates and the controller reads: its CRDs, the namespace, an
/// empty argocd-cm and argocd-secret, and the `default` AppProject; then installs the health check
/// with the README's own command.
fn install(cluster: &LocalCluster, bin: &Path) -> local_cluster::Result<()> {
    for crd in ["application-crd.yaml", "appproject-crd.yaml"] {
        let path = bin.join(crd);
        let yaml = std::fs::read_to_string(&path).map_err(|source| local_cluster::Error::Io {
            action: "reading",
            path: path.clone(),
            source,
        })?;
        cluster.kubectl_apply(&yaml)?;
    }
    cluster.run_kubectl(&[
        "wait",
        "--for=condition=Established",
        "crd/applications.argoproj.io",
        "crd/appprojects.argoproj.io",
        "--timeout=60s",
    ])?;
    cluster.kubectl_apply(BOOTSTRAP)?;
    let patch = crate::support::repo_path("deploy/argocd/argocd-cm.yaml");
    let patch = patch.display().to_string();
    cluster.run_kubectl(&[
        "-n",
        NAMESPACE,
        "patch",
        "configmap",
        "argocd-cm",
        "--type",
        "merge",
        "--patch-file",
        &patch,
    ])?;
    Ok(())
}

/// What Argo CD's install manifests hold before anyone configures anything.
const BOOTSTRAP: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: argocd
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  namespace: argocd
  labels:
    app.kubernetes.io/name: argocd-cm
    app.kubernetes.io/part-of: argocd
---
apiVersion: v1
kind: Secret
metadata:
  name: argocd-secret
  namespace: argocd
  labels:
    app.kubernetes.io/name: argocd-secret
    app.kubernetes.io/part-of: argocd
---
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: default
  namespace: argocd
spec:
  sourceRepos: ["*"]
  destinations:
  - server: "*"
    namespace: "*"
  clusterResourceWhitelist:
  - group: "*"
    kind: "*"
"#;
