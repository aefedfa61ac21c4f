//! End-to-end tests of the operator against the local control plane (real kube-apiserver,
//! controller-manager, scheduler and kwok nodes): one cluster for the whole binary, one namespace
//! and one in-process operator per test (the leader-election test runs two real processes).

mod common;
mod invalid;
mod leader;
mod lifecycle;
mod placement;
mod upgrade;
mod writes;
