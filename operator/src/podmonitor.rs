//! Builds the optional PodMonitor (pure, no client) that has the Prometheus Operator scrape the
//! game's `/metrics` on the metrics port. `None` unless `spec.monitoring.enabled`.
//!
//! Like the HTTPRoute, the type is a hand-written subset of the Prometheus Operator's
//! `monitoring.coreos.com/v1` PodMonitor: the fields the operator writes, nothing else.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use serde::{Deserialize, Serialize};

use crate::crd::TetrisAppSpec;
use crate::meta::{METRICS_PORT_NAME, Parent};

/// The part of `PodMonitor` (`monitoring.coreos.com/v1`) the operator writes.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[kube(
    group = "monitoring.coreos.com",
    version = "v1",
    kind = "PodMonitor",
    namespaced,
    derive = "PartialEq",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct PodMonitorSpec {
    /// The pods to scrape.
    pub selector: LabelSelector,
    /// Where and how often.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pod_metrics_endpoints: Vec<PodMetricsEndpoint>,
    /// Pod label whose value becomes the `job` label of the scraped series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_label: Option<String>,
}

/// One scrape endpoint of the pods.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct PodMetricsEndpoint {
    /// Container port name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// HTTP path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Scrape interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
}

/// The PodMonitor named like the TetrisApp, scraping its pods' metrics port.
pub fn build(parent: &Parent, spec: &TetrisAppSpec) -> Option<PodMonitor> {
    let monitoring = &spec.monitoring;
    if !monitoring.enabled {
        return None;
    }
    let mut metadata = parent.child_meta(parent.name.clone(), "monitoring", true);
    if let Some(labels) = metadata.labels.as_mut() {
        // The operator's own labels win: the child watch selects on them.
        for (k, v) in &monitoring.labels {
            labels.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    Some(PodMonitor {
        metadata,
        spec: PodMonitorSpec {
            selector: LabelSelector {
                match_labels: Some(parent.selector_labels()),
                ..LabelSelector::default()
            },
            pod_metrics_endpoints: vec![PodMetricsEndpoint {
                port: Some(METRICS_PORT_NAME.to_owned()),
                path: Some("/metrics".to_owned()),
                interval: Some(monitoring.interval.clone()),
            }],
            job_label: Some(crate::meta::APP_LABEL.to_owned()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::fixtures::app;

    fn built(spec: &str) -> Option<PodMonitor> {
        let app = app(spec);
        build(&Parent::of(&app).expect("fixture has metadata"), &app.spec)
    }

    #[test]
    fn disabled_monitoring_builds_nothing() {
        assert_eq!(built("version: 1.0.0"), None);
        assert_eq!(built("version: 1.0.0\nmonitoring:\n  enabled: false"), None);
    }

    #[test]
    fn pod_monitor_scrapes_the_metrics_port_of_the_apps_pods() {
        let pm = built("version: 1.0.0\nmonitoring:\n  enabled: true\n  interval: 15s\n  labels:\n    release: prometheus\n    app.kubernetes.io/managed-by: someone-else")
            .expect("pod monitor");
        let labels = pm.metadata.labels.clone().expect("labels");
        assert_eq!(labels["release"], "prometheus");
        assert_eq!(
            labels["app.kubernetes.io/managed-by"], "tetris-operator",
            "the watch label is never overridden"
        );
        assert_eq!(
            pm.spec.selector.match_labels.as_ref().map(|m| m["gameops.dev/tetrisapp"].as_str()),
            Some("arcade")
        );
        let ep = &pm.spec.pod_metrics_endpoints[0];
        assert_eq!(
            (ep.port.as_deref(), ep.path.as_deref(), ep.interval.as_deref()),
            (Some("metrics"), Some("/metrics"), Some("15s"))
        );
    }
}
