//! The start-up check (`operator::check_crd`): `tetris-operator run` against a cluster without the
//! TetrisApp CRD exits at once, non-zero, saying how to install it; after following those
//! instructions the same binary starts and turns ready.

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use local_cluster::{LocalCluster, Options};

use crate::common::*;

/// How long a start that must fail may take: one list request, then exit. Generous for a loaded
/// machine; a retry loop or a hang would blow it.
const EXIT_BOUND: Duration = Duration::from_secs(30);

/// Starts `tetris-operator run` with default settings (all namespaces, leader election on), its
/// stdout and stderr going to `log`.
fn spawn_operator(kubeconfig: &Path, port: u16, log: &Path) -> Child {
    let file = std::fs::File::create(log).expect("log file");
    Command::new(env!("CARGO_BIN_EXE_tetris-operator"))
        .args(["run", "--probe-address", &format!("127.0.0.1:{port}")])
        .env("KUBECONFIG", kubeconfig)
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("log file"))
        .stderr(file)
        .spawn()
        .expect("tetris-operator starts")
}

/// The exit status of `child` once it exits, or None if it is still running after `bound`.
async fn exit_within(child: &mut Child, bound: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < bound {
        if let Some(status) = child.try_wait().expect("child status") {
            return Some(status);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// Kills the child when dropped, so a failed assertion leaves no operator process behind.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_without_the_crd_exits_with_install_instructions_and_starts_once_it_is_installed() {
    // The shared cluster gets the CRD from the first test that uses it, so this test starts a
    // control plane of its own (a few seconds). No nodes: nothing is scheduled here.
    let cluster = LocalCluster::start(Options { nodes: 0, ..Options::default() })
        .unwrap_or_else(|e| panic!("local control plane failed to start: {e}"));
    let _logs = cluster.log_guard();
    let dir = tempfile::tempdir().expect("temp dir");

    let log = dir.path().join("without-crd.log");
    let mut operator = Killed(spawn_operator(cluster.kubeconfig(), free_port(), &log));
    let status = exit_within(&mut operator.0, EXIT_BOUND).await;
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    let Some(status) = status else {
        panic!("still running {EXIT_BOUND:?} after start without the CRD:\n{output}");
    };
    assert!(!status.success(), "exit status {status}:\n{output}");
    assert!(status.code().is_some(), "exited by itself, not by a signal: {status}");
    assert!(output.contains("TetrisApp CRD (tetrisapps.gameops.dev) is not installed"), "{output}");
    assert!(output.contains("tetris-operator crd | kubectl apply --server-side -f -"), "{output}");

    // Follow the instructions: the CRD as the binary prints it, applied server-side.
    let crd = Command::new(env!("CARGO_BIN_EXE_tetris-operator")).arg("crd").output().expect("crd runs");
    assert!(crd.status.success(), "{}", String::from_utf8_lossy(&crd.stderr));
    cluster.kubectl_apply(&String::from_utf8_lossy(&crd.stdout)).expect("CRD applies");
    cluster
        .run_kubectl(&["wait", "--for=condition=Established", "crd/tetrisapps.gameops.dev", "--timeout=60s"])
        .expect("CRD established");

    let log = dir.path().join("with-crd.log");
    let port = free_port();
    let mut operator = Killed(spawn_operator(cluster.kubeconfig(), port, &log));
    let start = Instant::now();
    loop {
        if http_get(port, "/readyz").await.is_some() {
            break;
        }
        let output = || std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(status) = operator.0.try_wait().expect("child status") {
            panic!("exited with {status} although the CRD is installed:\n{}", output());
        }
        assert!(start.elapsed() < CONVERGE, "not ready after {CONVERGE:?}:\n{}", output());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
