//! Helpers for the deploy tests: rendering the two install paths, finding the tools they need,
//! installing the operator's objects into the shared local cluster once, and acting as the
//! operator's ServiceAccount.
//!
//! # Layout
//! - [`manifests`]: renders `deploy/` (kustomize) and the Helm chart, parses multi-document YAML,
//!   and picks objects out of the result.
//! - [`tools`]: where the repository, `helm` and the `tetris-operator` binary are.
//! - [`install`]: `kubectl apply -k deploy/` into the shared cluster (once per test binary) and a
//!   kubeconfig that authenticates as the operator's ServiceAccount with a TokenRequest token.
//!
//! The tests themselves are in `tests/deploy/`.

pub mod install;
pub mod manifests;
pub mod tools;

/// Namespace that `deploy/` installs the operator into.
pub const OPERATOR_NAMESPACE: &str = "tetris-operator";
/// Name of the operator's ServiceAccount, Deployment and ClusterRole.
pub const OPERATOR_NAME: &str = "tetris-operator";
/// Helm release name that makes the chart's object names equal to the kustomize base's.
pub const RELEASE_NAME: &str = "tetris-operator";
