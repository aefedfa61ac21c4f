//! Upgrades and scale-downs that never cut a live match.
//!
//! - [`deletion_cost`]: keeps each game pod's `controller.kubernetes.io/pod-deletion-cost` equal to
//!   the number of duo matches it is running, so every scale-down (a smaller `spec.replicas`, the
//!   old ReplicaSet at the end of a rollout, an HPA) removes idle pods first.

pub mod api;
pub mod canary;
pub mod deletion_cost;
