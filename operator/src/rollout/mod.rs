//! Upgrades and scale-downs that never cut a live match.
//!
//! - [`api`]: the `spec.upgrade.canary` and `status.rollout` types; [`canary`]: where a canary
//!   stands and the Deployments, Services and route weights that put it into effect (pure);
//!   [`bluegreen`]: the same for `strategy: BlueGreen`; [`analysis`]: one measurement of the new
//!   pods' own signals (and a team's HTTP check), whose failure aborts the rollout; [`tally`]:
//!   what the measurements have said so far.
//! - [`deletion_cost`]: keeps each game pod's `controller.kubernetes.io/pod-deletion-cost` equal to
//!   the number of duo matches it is running, so every scale-down (a smaller `spec.replicas`, the
//!   old ReplicaSet at the end of a rollout, an HPA) removes idle pods first.

pub mod analysis;
pub mod api;
pub mod bluegreen;
pub mod canary;
pub mod deletion_cost;
mod tally;
