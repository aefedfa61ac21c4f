//! Where the repository, `helm` and the `tetris-operator` binary are.
//!
//! `helm` comes from `hack/tools/build.sh` (pinned in `hack/tools/helm/go.mod`), or from `$HELM`
//! when hack/test-deploy.sh has built it already. The operator binary comes from
//! `$TETRIS_OPERATOR_BIN`, or from a `cargo build` of this workspace.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The repository root (two levels above this crate).
pub fn repo_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        manifest.ancestors().nth(2).expect("the crate lives at testing/deploy-tests").to_path_buf()
    })
}

/// Path of a `helm` binary: `$HELM`, else the one `hack/tools/build.sh` builds (and caches).
pub fn helm() -> &'static Path {
    static HELM: OnceLock<PathBuf> = OnceLock::new();
    HELM.get_or_init(|| {
        if let Some(path) = std::env::var_os("HELM") {
            return PathBuf::from(path);
        }
        let script = repo_root().join("hack/tools/build.sh");
        let out = Command::new("bash")
            .arg(&script)
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "{} failed:\n{}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let bin_dir = stdout.lines().last().unwrap_or_default().trim();
        Path::new(bin_dir).join("helm")
    })
}

/// Path of the `tetris-operator` binary: `$TETRIS_OPERATOR_BIN`, else built with cargo (a no-op
/// when `cargo test --workspace` has built it already).
pub fn operator_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(path) = std::env::var_os("TETRIS_OPERATOR_BIN") {
            return PathBuf::from(path);
        }
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let out = Command::new(&cargo)
            .current_dir(repo_root())
            .args([
                "build",
                "--quiet",
                "--package",
                "tetris-operator",
                "--bin",
                "tetris-operator",
                "--message-format=short",
            ])
            .output()
            .unwrap_or_else(|e| panic!("running cargo build for tetris-operator: {e}"));
        assert!(
            out.status.success(),
            "cargo build -p tetris-operator failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // A relative CARGO_TARGET_DIR is relative to where cargo ran: the repository root here.
        let target =
            repo_root().join(std::env::var_os("CARGO_TARGET_DIR").unwrap_or_else(|| "target".into()));
        let bin = target.join("debug/tetris-operator");
        assert!(bin.is_file(), "cargo build succeeded but {} is missing", bin.display());
        bin
    })
}
