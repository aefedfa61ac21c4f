//! Every file under `examples/` against the real API server, with server-side dry run: the valid
//! ones are accepted, each one under `examples/invalid/` is rejected with the message its header
//! documents (comment lines `# expect: <text the API server's error contains>`, one or more).

use deploy_tests::install::installed;
use deploy_tests::tools::repo_root;
use std::path::{Path, PathBuf};

/// A minimal Argo CD Application CRD (the fields the examples use, no unknown fields allowed), so
/// the Argo CD example is checked as a Kubernetes object without installing Argo CD.
const ARGOCD_APPLICATION_CRD: &str = include_str!("../../fixtures/argocd-application-crd.yaml");

/// Every example: each YAML file, except that a folder with a `kustomization.yaml` is one example
/// (applied with `-k`), represented by that file.
fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let kustomization = dir.join("kustomization.yaml");
    if kustomization.is_file() {
        out.push(kustomization);
        return;
    }
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

/// The messages an invalid example documents: every `# expect: <text>` line of its leading
/// comments; the API server's error must contain each.
fn documented_messages(path: &Path, text: &str) -> Vec<String> {
    let messages: Vec<String> = text
        .lines()
        .take_while(|l| l.starts_with('#') || l.trim().is_empty())
        .filter_map(|l| l.trim_start_matches('#').trim().strip_prefix("expect:"))
        .map(|m| m.trim().trim_matches('"').to_owned())
        .filter(|m| !m.is_empty())
        .collect();
    assert!(
        !messages.is_empty(),
        "{} documents no `# expect: <message>` in its leading comments",
        path.display()
    );
    messages
}

#[test]
fn every_example_is_accepted_or_rejected_with_its_documented_message() {
    let cluster = local_cluster::shared();
    let _logs = cluster.log_guard();
    installed(cluster);
    cluster
        .kubectl_apply(ARGOCD_APPLICATION_CRD)
        .unwrap_or_else(|e| panic!("Argo CD Application CRD fixture: {e}"));
    cluster
        .run_kubectl(&[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/applications.argoproj.io",
        ])
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
        let mut command = cluster.kubectl();
        command.args(["apply", "--dry-run=server"]);
        if path.file_name().is_some_and(|n| n == "kustomization.yaml") {
            // It re-applies deploy/, which other tests installed with other managers: server-side
            // and forced, since the question is whether the objects are accepted, not who owns them.
            command.args(["--server-side", "--force-conflicts", "-k"]).arg(path.parent().unwrap_or(path));
        } else {
            command.arg("-f").arg(path);
        }
        let out = command.output().unwrap_or_else(|e| panic!("kubectl apply --dry-run=server {shown}: {e}"));
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if path.starts_with(&invalid_dir) {
            let messages = documented_messages(path, &text);
            let missing: Vec<&String> = messages.iter().filter(|m| !stderr.contains(m.as_str())).collect();
            if out.status.success() {
                wrong.push(format!("{shown}: accepted, but it documents the error {messages:?}"));
            } else if !missing.is_empty() {
                wrong.push(format!("{shown}: rejected, but without {missing:?}:\n{stderr}"));
            } else {
                rejected += 1;
            }
        } else if !out.status.success() {
            wrong.push(format!("{shown}: rejected:\n{stderr}"));
        } else if stderr
            .lines()
            // kubectl's bookkeeping when managers change (other tests applied the same objects).
            .any(|l| {
                l.starts_with("Warning:") && !l.contains("kubectl.kubernetes.io/last-applied-configuration")
            })
        {
            wrong.push(format!("{shown}: accepted with warnings:\n{stderr}"));
        } else {
            accepted += 1;
        }
    }
    assert!(wrong.is_empty(), "examples that do not behave as documented:\n{}", wrong.join("\n"));
    assert!(
        accepted >= 3,
        "expected at least minimal, production and the Argo CD examples; found {accepted}"
    );
    assert!(rejected >= 1, "no invalid example under examples/invalid/");
}

#[test]
fn argocd_cm_snippet_is_a_configmap_the_api_server_accepts() {
    let cluster = local_cluster::shared();
    let _logs = cluster.log_guard();
    let _ = cluster.run_kubectl(&["create", "namespace", "argocd"]);
    let path = repo_root().join("deploy/argocd/argocd-cm.yaml");
    let out = cluster
        .run_kubectl(&["apply", "--dry-run=server", "-f", &path.display().to_string()])
        .unwrap_or_else(|e| panic!("deploy/argocd/argocd-cm.yaml: {e}"));
    assert!(out.contains("configmap/argocd-cm"), "{out}");
}
