//! Builds the PodDisruptionBudget of the game-server pods (pure, no client).
//!
//! A budget keeps a node drain (or any eviction) from taking every game pod at once. It is only
//! useful, and only built, when the pods can leave a node one at a time: with PostgreSQL, or SQLite
//! on a ReadWriteMany volume. With a ReadWriteOnce volume every pod of the app shares the node that
//! mounts it; a drain must take them all, since a replacement of one of them cannot start anywhere
//! else while the others still hold that node, so a budget would stall the drain for good. The
//! schema therefore refuses `spec.disruption` there, and no default budget is made.
//!
//! Without `spec.disruption` the default is `maxUnavailable: 1`. It never blocks an app with one
//! pod (that pod may go, as it would without a budget) and lets bigger apps lose one pod at a time.
//! `unhealthyPodEvictionPolicy: AlwaysAllow` lets a drain evict pods that are not ready anyway
//! (say, waiting for their Secret), which protect no player.

use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::KubeSchema;
use serde::{Deserialize, Serialize};

use crate::crd::TetrisAppSpec;
use crate::meta::Parent;
use crate::scoreboard;

/// How many game-server pods a voluntary disruption (a node drain) may take at once. Set exactly one field.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(validation = Rule::new("has(self.maxUnavailable) != has(self.minAvailable)").message("disruption: set exactly one of disruption.maxUnavailable and disruption.minAvailable").reason(::kube::core::Reason::FieldValueInvalid))]
#[serde(rename_all = "camelCase")]
pub struct DisruptionSpec {
    /// Most pods that may be down at once through evictions (0-100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub max_unavailable: Option<i32>,
    /// Fewest pods that must stay up through evictions (0-100); must be below `replicas` (or `autoscaling.minReplicas`), or a drain could never evict a game pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub min_available: Option<i32>,
}

/// The budget named like the TetrisApp, when its pods can leave their nodes one at a time.
pub fn build(parent: &Parent, spec: &TetrisAppSpec) -> Option<PodDisruptionBudget> {
    if !scoreboard::pods_move_independently(spec) {
        return None;
    }
    let (max_unavailable, min_available) = match &spec.disruption {
        Some(DisruptionSpec { min_available: Some(n), .. }) => (None, Some(*n)),
        Some(DisruptionSpec { max_unavailable: Some(n), .. }) => (Some(*n), None),
        _ => (Some(1), None),
    };
    Some(PodDisruptionBudget {
        metadata: parent.child_meta(parent.name.clone(), "game-server", true),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: max_unavailable.map(IntOrString::Int),
            min_available: min_available.map(IntOrString::Int),
            selector: Some(LabelSelector {
                match_labels: Some(parent.selector_labels()),
                ..LabelSelector::default()
            }),
            unhealthy_pod_eviction_policy: Some("AlwaysAllow".to_owned()),
        }),
        ..PodDisruptionBudget::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::fixtures::app;

    const PG: &str = "version: 1.0.0\nreplicas: 3\nscoreboard:\n  backend: postgres\n  postgres:\n    secretRef: {name: scores-app}";

    fn built(spec: &str) -> Option<PodDisruptionBudget> {
        let app = app(spec);
        build(&Parent::of(&app).expect("metadata"), &app.spec)
    }

    #[test]
    fn postgres_gets_one_pod_at_a_time_by_default() {
        let pdb = built(PG).expect("budget");
        let spec = pdb.spec.expect("spec");
        assert_eq!((spec.max_unavailable, spec.min_available), (Some(IntOrString::Int(1)), None));
        let selector = spec.selector.and_then(|s| s.match_labels).expect("selector");
        assert_eq!(selector["gameops.dev/tetrisapp"], "arcade");
        assert_eq!(spec.unhealthy_pod_eviction_policy.as_deref(), Some("AlwaysAllow"));
        assert_eq!(pdb.metadata.owner_references.map(|o| o.len()), Some(1));
    }

    #[test]
    fn the_spec_decides_when_it_says() {
        let spec =
            built(&format!("{PG}\ndisruption:\n  minAvailable: 2")).and_then(|p| p.spec).expect("spec");
        assert_eq!((spec.max_unavailable, spec.min_available), (None, Some(IntOrString::Int(2))));
        let spec =
            built(&format!("{PG}\ndisruption:\n  maxUnavailable: 0")).and_then(|p| p.spec).expect("spec");
        assert_eq!(spec.max_unavailable, Some(IntOrString::Int(0)));
    }

    #[test]
    fn pods_pinned_to_one_node_get_no_budget_and_shared_volumes_do() {
        assert!(
            built("version: 1.0.0\nreplicas: 3").is_none(),
            "ReadWriteOnce SQLite: the pods leave together"
        );
        assert!(built("version: 1.0.0\nstorage:\n  accessMode: ReadWriteMany").is_some());
    }
}
