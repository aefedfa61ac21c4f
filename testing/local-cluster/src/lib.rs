//! A real, local Kubernetes control plane for tests and the demo: etcd, kube-apiserver,
//! kube-controller-manager, kube-scheduler and kwok (fake nodes whose pods turn Running and Ready),
//! all on 127.0.0.1 with free ports, built from the Go modules in `hack/control-plane/`; and, when
//! asked, a real node whose pods are real containers.
//!
//! # Layout
//! - [`binaries`]: finds (and on first use builds) the control-plane binaries.
//! - [`pki`]: a throw-away CA, the API server's serving certificate and client certificates, via `openssl`.
//! - [`process`]: starts components in one process group, keeps their logs, and a watchdog that kills
//!   the group when the owning process is gone, so no component outlives a test run, even one that panics.
//! - [`cluster`]: [`LocalCluster`]: start, bootstrap (storage class, fake node), clients, namespaces.
//! - [`node`]: the real node (containerd, runc, CNI, kubelet, kube-proxy in a network namespace of its
//!   own, a local-path volume provisioner) and its cleanup.
//! - [`images`]: the pause image and the project's images built from its Dockerfiles with buildah.
//! - [`audit`]: the API server's audit log of writes, for tests that count what the operator changed.
//!
//! # Why sync
//! Starting and stopping use `std::process` and `kubectl`, not a Kubernetes client, so one cluster can be
//! shared by every `#[tokio::test]` of a test binary even though each test has its own runtime. Clients
//! are made per call ([`LocalCluster::client`]) on the caller's runtime.

pub mod audit;
pub mod binaries;
pub mod cluster;
pub mod images;
pub mod node;
pub mod pki;
pub mod process;

pub use cluster::{LocalCluster, LogGuard, Options};

use std::path::PathBuf;
use std::sync::OnceLock;

/// Everything that can go wrong while starting or using the local cluster.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A command (openssl, kubectl, the build script) could not run or failed.
    #[error("command `{command}` failed: {detail}")]
    Command {
        /// The command line, for the reader to re-run it.
        command: String,
        /// Exit status and the end of stderr.
        detail: String,
    },
    /// A file of the run directory could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// Which file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A component did not become ready in time; its log is in the run directory.
    #[error("{what} was not ready after {seconds}s (logs in {dir})")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        seconds: u64,
        /// The run directory with every component's log.
        dir: PathBuf,
    },
    /// A component exited while it should be running.
    #[error("{component} exited early ({status}); last log lines:\n{tail}")]
    Exited {
        /// Component name.
        component: String,
        /// Exit status.
        status: String,
        /// The end of its log.
        tail: String,
    },
    /// A kubeconfig could not be turned into a client.
    #[error("building a client from {path}: {message}")]
    Client {
        /// The kubeconfig.
        path: PathBuf,
        /// What kube said.
        message: String,
    },
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Runs `command` with stdin closed: its stdout, or [`Error::Command`] naming the command line,
/// with its exit status and stderr.
pub(crate) fn output_of(command: &mut std::process::Command) -> Result<String> {
    let line = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    let out = command
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::Command { command: line.clone(), detail: e.to_string() })?;
    if !out.status.success() {
        return Err(Error::Command {
            command: line,
            detail: format!("{}: {}", out.status, String::from_utf8_lossy(&out.stderr).trim()),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Writes a file of the run directory.
pub(crate) fn write_file(path: &std::path::Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|source| Error::Io {
        action: "writing",
        path: path.to_owned(),
        source,
    })
}

/// The cluster shared by every test of this test binary: started on first use, torn down by the
/// watchdog when the process exits (statics are never dropped).
///
/// Panics if the cluster cannot start, with the reason and where the logs are: a test cannot run
/// without it, and the panic message is the most useful thing to show.
pub fn shared() -> &'static LocalCluster {
    static SHARED: OnceLock<LocalCluster> = OnceLock::new();
    SHARED.get_or_init(|| match LocalCluster::start(Options::default()) {
        Ok(cluster) => cluster,
        Err(e) => panic!("local control plane failed to start: {e}"),
    })
}
