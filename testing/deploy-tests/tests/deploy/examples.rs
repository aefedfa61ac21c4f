//! Every file under `examples/` against the real API server, with server-side dry run: the valid
//! ones are accepted, each one under `examples/invalid/` is rejected with the message its header
//! documents (a comment line `# expect: <text the API server's error contains>`).

use deploy_tests::install::installed;
use deploy_tests::tools::repo_root;
use std::path::{Path, PathBuf};

/// A minimal Argo CD Application CRD (the fields the examples use, no unknown fields allowed), so
/// the Argo CD example is checked as a Kubernetes object without installing Argo CD.
const ARGOCD_APPLICATION_CRD: &str = include_str!("../../fixtures/argocd-application-crd.yaml");

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap_or_else(|e| panic!("{}: {e}", dir.display())).path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            out.push(path);
        }
    }
}

/// The message an invalid example documents: the text after `# expect:` in its leading comments.
fn documented_message(path: &Path, text: &str) -> String {
    text.lines()
        .take_while(|l| l.starts_with('#') || l.trim().is_empty())
        .find_map(|l| l.trim_start_matches('#').trim().strip_prefix("expect:").map(|m| m.trim().trim_matches('"').to_owned()))
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| panic!("{} documents no `# expect: <message>` in its leading comments", path.display()))
}

#[test]
fn every_example_is_accepted_or_rejected_with_its_documented_message() {
    let cluster = local_cluster::shared();
    let _logs = cluster.log_guard();
    installed(cluster);
    cluster.kubectl_apply(ARGOCD_APPLICATION_CRD).unwrap_or_else(|e| panic!("Argo CD Application CRD fixture: {e}"));
    cluster
        .run_kubectl(&["wait", "--for=condition=Established", "--timeout=60s", "crd/applications.argoproj.io"])
        .unwrap_or_else(|e| panic!("Argo CD Application CRD fixture not established: {e}"));
    // The Argo CD example lives in the `argocd` namespace; a dry run still needs the namespace.
    let _ = cluster.run_kubectl(&["create", "namespace", "argocd"]);

    let examples = repo_root().join("examples");
    let mut files = Vec::new();
    yaml_files(&examples, &mut files);
    files.sort();
    let invalid_dir = examples.join("invalid");
    let (mut accepted, mut rejected, mut wrong) = (0, 0, Vec::new());
    for path in &files {
        let shown = path.strip_prefix(repo_root()).unwrap_or(path).display().to_string();
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{shown}: {e}"));
        let out = cluster
            .kubectl()
            .args(["apply", "--dry-run=server", "-f"])
            .arg(path)
            .output()
            .unwrap_or_else(|e| panic!("kubectl apply --dry-run=server -f {shown}: {e}"));
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if path.starts_with(&invalid_dir) {
            let message = documented_message(path, &text);
            if out.status.success() {
                wrong.push(format!("{shown}: accepted, but it documents the error {message:?}"));
            } else if !stderr.contains(&message) {
                wrong.push(format!("{shown}: rejected, but without {message:?}:\n{stderr}"));
            } else {
                rejected += 1;
            }
        } else if !out.status.success() {
            wrong.push(format!("{shown}: rejected:\n{stderr}"));
        } else if stderr.contains("Warning:") {
            wrong.push(format!("{shown}: accepted with warnings:\n{stderr}"));
        } else {
            accepted += 1;
        }
    }
    assert!(wrong.is_empty(), "examples that do not behave as documented:\n{}", wrong.join("\n"));
    assert!(accepted >= 3, "expected at least minimal, production and the Argo CD examples; found {accepted}");
    assert!(rejected >= 1, "no invalid example under examples/invalid/");
}
