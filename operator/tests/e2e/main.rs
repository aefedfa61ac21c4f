//! End-to-end tests of the operator against the local control plane (real kube-apiserver,
//! controller-manager, scheduler and kwok nodes): one cluster for the whole binary, one namespace
//! and one in-process operator per test (the leader-election test runs two real processes; the
//! start-up test runs the real binary against a control plane of its own, without the CRD).

mod analysis_http;
mod bluegreen;
mod canary;
mod churn;
mod common;
mod exposure;
mod invalid;
mod leader;
mod lifecycle;
mod placement;
mod routed_canary;
mod scale;
mod startup;
mod upgrade;
mod writes;
