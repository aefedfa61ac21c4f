//! Installing `deploy/` into the shared cluster once, and acting as the operator's ServiceAccount.

use crate::tools::repo_root;
use crate::{OPERATOR_NAME, OPERATOR_NAMESPACE};
use local_cluster::LocalCluster;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// What `kubectl apply -k deploy/` printed.
#[derive(Debug)]
pub struct Installed {
    /// Standard output (one line per object).
    pub stdout: String,
    /// Standard error (warnings, e.g. Pod Security violations, would appear here).
    pub stderr: String,
}

/// Runs `kubectl apply -k deploy/` against `cluster` the first time it is called (later calls
/// return the first result) and waits until the TetrisApp CRD is established.
pub fn installed(cluster: &'static LocalCluster) -> &'static Installed {
    static INSTALLED: OnceLock<Installed> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let out = cluster
            .kubectl()
            .arg("apply")
            .arg("-k")
            .arg(repo_root().join("deploy"))
            .output()
            .unwrap_or_else(|e| panic!("running kubectl apply -k deploy/: {e}"));
        let installed = Installed {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert!(
            out.status.success(),
            "kubectl apply -k deploy/ failed:\n{}{}",
            installed.stdout,
            installed.stderr
        );
        cluster
            .run_kubectl(&[
                "wait",
                "--for=condition=Established",
                "--timeout=60s",
                "crd/tetrisapps.gameops.dev",
            ])
            .unwrap_or_else(|e| panic!("CRD not established: {e}"));
        installed
    })
}

/// A kubeconfig that authenticates as the operator's ServiceAccount with a token from the
/// TokenRequest API (`kubectl create token`), the way a pod's projected token does. Created once.
pub fn service_account_kubeconfig(cluster: &'static LocalCluster) -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        installed(cluster);
        let token = cluster
            .run_kubectl(&["create", "token", OPERATOR_NAME, "-n", OPERATOR_NAMESPACE, "--duration=2h"])
            .unwrap_or_else(|e| panic!("TokenRequest for the operator's ServiceAccount: {e}"));
        let ca = cluster
            .run_kubectl(&["config", "view", "--raw", "--minify", "-o", "jsonpath={.clusters[0].cluster.certificate-authority}"])
            .unwrap_or_else(|e| panic!("reading the CA path from the admin kubeconfig: {e}"));
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: local\n  cluster:\n    server: {server}\n    certificate-authority: {ca}\n\
             users:\n- name: {OPERATOR_NAME}\n  user:\n    token: {token}\n\
             contexts:\n- name: operator\n  context:\n    cluster: local\n    user: {OPERATOR_NAME}\n    namespace: {OPERATOR_NAMESPACE}\n\
             current-context: operator\n",
            server = cluster.api_url(),
            ca = ca.trim(),
            token = token.trim(),
        );
        let path = cluster.dir().join("operator-service-account.kubeconfig");
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        path
    })
}

/// Polls `check` every 250 ms until it returns `Some`, or panics after `timeout` with `what`.
pub fn wait_until<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}
