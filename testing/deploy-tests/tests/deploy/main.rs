//! What ships, tested against a real local control plane (one per test binary, shared by every
//! test here; each test that creates TetrisApps uses its own namespace).
//!
//! - `install_paths`: `kubectl apply -k deploy/` and `helm template | kubectl apply --server-side`
//!   both succeed and install the same objects; the optional parts render accepted objects; a real
//!   `helm install` under another release name and namespace works and uninstalls cleanly.
//! - `service_account`: the operator binary, authenticated as the ServiceAccount from `deploy/`,
//!   reconciles the minimal example to Ready (the RBAC is sufficient), and `kubectl auth can-i`
//!   shows what that identity cannot do (the RBAC is least).
//! - `examples`: every file under `examples/` is accepted, or rejected with its documented message;
//!   the Argo CD `argocd-cm` snippet is a valid ConfigMap.

mod examples;
mod install_paths;
mod service_account;
