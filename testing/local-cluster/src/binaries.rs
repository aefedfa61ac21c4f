//! Where the control-plane binaries are, building them on first use.
//!
//! `LOCAL_CLUSTER_BIN` names a directory that already holds them; otherwise
//! `hack/control-plane/build.sh` (found from this crate's source location) builds them into the
//! cache and prints the directory. Its stamp check makes warm calls take milliseconds.

use crate::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The programs a cluster needs, each of which must be in the bin directory.
pub const REQUIRED: &[&str] =
    &["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kwok"];

/// The directory holding the control-plane binaries (built once per process at most).
pub fn bin_dir() -> Result<PathBuf> {
    static DIR: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(|| locate().map_err(|e| e.to_string()))
        .clone()
        .map_err(|detail| Error::Command { command: "hack/control-plane/build.sh".into(), detail })
}

fn locate() -> Result<PathBuf> {
    let dir = match std::env::var_os("LOCAL_CLUSTER_BIN") {
        Some(dir) => PathBuf::from(dir),
        None => build()?,
    };
    for name in REQUIRED {
        if !dir.join(name).is_file() {
            return Err(Error::Command {
                command: format!("test -f {}", dir.join(name).display()),
                detail: "control-plane binary missing; run hack/control-plane/build.sh".into(),
            });
        }
    }
    Ok(dir)
}

fn build() -> Result<PathBuf> {
    let script = repo_root().join("hack/control-plane/build.sh");
    let command = script.display().to_string();
    // stderr is inherited: the first build takes many minutes and prints its progress.
    let out = Command::new(&script)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Error::Command { command: command.clone(), detail: e.to_string() })?;
    if !out.status.success() {
        return Err(Error::Command { command, detail: format!("exited with {}", out.status) });
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default().trim();
    Ok(PathBuf::from(last))
}

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap_or_else(|_| {
        // canonicalize only fails if the source tree moved after the build; the joined path is the best guess.
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    })
}
