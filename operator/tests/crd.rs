//! The committed CRD under crds/ is exactly what `tetris-operator crd` prints.

use std::path::PathBuf;

fn committed() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../crds/tetrisapps.gameops.dev.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

#[test]
fn committed_crd_is_up_to_date() {
    let generated = tetris_operator::crd::crd_yaml().expect("CRD serializes");
    assert!(
        generated == committed(),
        "crds/tetrisapps.gameops.dev.yaml is stale; regenerate it with\n  cargo run -p tetris-operator -- crd > crds/tetrisapps.gameops.dev.yaml"
    );
}

#[test]
fn crd_subcommand_prints_the_committed_crd() {
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_tetris-operator")).arg("crd").output().expect("runs");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), committed());
}
