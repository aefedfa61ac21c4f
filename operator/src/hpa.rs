//! Builds the HorizontalPodAutoscaler of `spec.autoscaling` (pure, no client).
//!
//! The HPA (`autoscaling/v2`) targets the TetrisApp itself through its scale subresource
//! (`spec.replicas`, `status.replicas`, `status.selector`), not the Deployment: it writes
//! `spec.replicas` of the TetrisApp and the operator passes that on to the Deployment like any other
//! change, so the two never fight over the Deployment's replica count. While autoscaling is on, the
//! operator keeps the Deployment within `minReplicas..=maxReplicas` even if someone (a GitOps tool
//! syncing an old `spec.replicas`) writes a value outside; `replicas: 0` still stops the game, as the
//! HPA controller also leaves a target at 0 alone.
//!
//! Only CPU drives it. A players-per-pod target would be a `Pods` metric, which the HPA controller
//! reads from the custom metrics API (`custom.metrics.k8s.io`); that needs an adapter such as
//! prometheus-adapter in the cluster, so it is left out rather than offered half-working.

use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};
use kube::KubeSchema;
use serde::{Deserialize, Serialize};

use crate::crd::TetrisAppSpec;
use crate::meta::Parent;

/// Horizontal autoscaling of the game-server pods on CPU.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(validation = Rule::new("self.minReplicas <= self.maxReplicas").message("autoscaling.minReplicas must not exceed autoscaling.maxReplicas").field_path(".minReplicas").reason(::kube::core::Reason::FieldValueInvalid))]
#[serde(rename_all = "camelCase")]
pub struct AutoscalingSpec {
    /// Fewest pods (1-100, default 1).
    #[serde(default = "default_min_replicas")]
    #[schemars(range(min = 1, max = 100))]
    pub min_replicas: i32,
    /// Most pods (1-100).
    #[schemars(range(min = 1, max = 100))]
    pub max_replicas: i32,
    /// Average CPU use the autoscaler keeps the pods at, in percent of their CPU request (1-1000, default 70). Needs `resources.requests.cpu`.
    #[serde(default = "default_cpu", rename = "targetCPUUtilizationPercentage")]
    #[schemars(range(min = 1, max = 1000))]
    pub target_cpu_utilization_percentage: i32,
}

fn default_min_replicas() -> i32 {
    1
}
fn default_cpu() -> i32 {
    70
}

/// The replica count the Deployment gets: `spec.replicas`, kept within the autoscaling bounds while
/// autoscaling is on (0 stays 0: the game is stopped).
pub fn replicas(spec: &TetrisAppSpec) -> i32 {
    match &spec.autoscaling {
        Some(a) if spec.replicas > 0 => {
            spec.replicas.clamp(a.min_replicas, a.max_replicas.max(a.min_replicas))
        }
        _ => spec.replicas,
    }
}

/// The HPA named like the TetrisApp, when `spec.autoscaling` is set.
pub fn build(parent: &Parent, spec: &TetrisAppSpec) -> Option<HorizontalPodAutoscaler> {
    let a = spec.autoscaling.as_ref()?;
    Some(HorizontalPodAutoscaler {
        metadata: parent.child_meta(parent.name.clone(), "autoscaler", true),
        spec: HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some(parent.owner.api_version.clone()),
                kind: parent.owner.kind.clone(),
                name: parent.name.clone(),
            },
            min_replicas: Some(a.min_replicas),
            max_replicas: a.max_replicas,
            metrics: Some(vec![MetricSpec {
                type_: "Resource".to_owned(),
                resource: Some(ResourceMetricSource {
                    name: "cpu".to_owned(),
                    target: MetricTarget {
                        type_: "Utilization".to_owned(),
                        average_utilization: Some(a.target_cpu_utilization_percentage),
                        ..MetricTarget::default()
                    },
                }),
                ..MetricSpec::default()
            }]),
            behavior: None,
        },
        ..HorizontalPodAutoscaler::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::fixtures::app;

    const SCALED: &str = "version: 1.0.0\nreplicas: 3\nresources:\n  requests: {cpu: 100m}\nautoscaling:\n  minReplicas: 2\n  maxReplicas: 6\n  targetCPUUtilizationPercentage: 60";

    #[test]
    fn no_autoscaling_no_hpa() {
        let app = app("version: 1.0.0");
        assert!(build(&Parent::of(&app).expect("metadata"), &app.spec).is_none());
    }

    #[test]
    fn the_hpa_scales_the_tetrisapp_through_its_scale_subresource_on_cpu() {
        let app = app(SCALED);
        let hpa = build(&Parent::of(&app).expect("metadata"), &app.spec).expect("hpa");
        assert_eq!(hpa.metadata.name.as_deref(), Some("arcade"));
        assert_eq!(hpa.metadata.owner_references.as_ref().map(Vec::len), Some(1));
        let spec = hpa.spec;
        let target = &spec.scale_target_ref;
        assert_eq!(
            (target.api_version.as_deref(), target.kind.as_str(), target.name.as_str()),
            (Some("gameops.dev/v1alpha1"), "TetrisApp", "arcade")
        );
        assert_eq!((spec.min_replicas, spec.max_replicas), (Some(2), 6));
        let metric = &spec.metrics.expect("metrics")[0];
        let resource = metric.resource.as_ref().expect("resource metric");
        assert_eq!((resource.name.as_str(), resource.target.average_utilization), ("cpu", Some(60)));
    }

    #[test]
    fn replicas_follow_spec_within_the_bounds_and_zero_stays_zero() {
        let at =
            |replicas: i32| replicas_of(&SCALED.replace("replicas: 3", &format!("replicas: {replicas}")));
        assert_eq!(at(3), 3, "the HPA's own value");
        assert_eq!(at(1), 2, "below minReplicas");
        assert_eq!(at(9), 6, "above maxReplicas");
        assert_eq!(at(0), 0, "stopped");
        assert_eq!(replicas_of("version: 1.0.0\nreplicas: 9"), 9, "no autoscaling");
    }

    fn replicas_of(spec: &str) -> i32 {
        replicas(&app(spec).spec)
    }
}
