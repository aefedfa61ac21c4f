//! The health check's fixtures evaluated by Argo CD's own Lua VM (`hack/argocd/health-oracle`:
//! gitops-engine's `health.GetResourceHealth` over Argo CD's `util/lua`), reading the script from
//! `deploy/argocd/argocd-cm.yaml` as Argo CD reads it. Debian's lua5.1 opens libraries that Argo
//! CD's sandbox keeps closed, so only this VM can say a script works in Argo CD.

use std::process::{Command, Output};

use crate::argocd;
use crate::support::repo_path;

fn oracle(configmap: &std::path::Path) -> Output {
    let bin = argocd::bin_dir().join("health-oracle");
    Command::new(&bin)
        .arg(configmap)
        .arg(repo_path("deploy/argocd/health_test.yaml"))
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", bin.display()))
}

#[test]
fn every_fixture_gets_its_expected_health_in_argo_cds_lua_vm() {
    let out = oracle(&repo_path("deploy/argocd/argocd-cm.yaml"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let fixtures = std::fs::read_dir(repo_path("deploy/argocd/testdata")).expect("testdata/").count();
    assert_eq!(stdout.lines().filter(|l| l.starts_with("ok ")).count(), fixtures, "{stdout}");
}

/// The gap this oracle closes: `string` exists in lua5.1 but not in Argo CD's sandbox, where the
/// script errors and the TetrisApp (and with it the Application) turns Unknown.
#[test]
fn a_script_calling_a_library_the_sandbox_keeps_closed_is_unknown() {
    let installed =
        std::fs::read_to_string(repo_path("deploy/argocd/argocd-cm.yaml")).expect("argocd-cm.yaml");
    let first_line = "    local hs = {}\n";
    assert!(installed.contains(first_line), "the health script starts with `local hs = {{}}`");
    let broken =
        installed.replacen(first_line, "    local hs = {}\n    hs.since = string.format(\"%d\", 1)\n", 1);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("argocd-cm.yaml");
    std::fs::write(&path, broken).expect("writing the broken argocd-cm");
    let out = oracle(&path);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("got  Unknown:"), "{stdout}");
}
