//! Builds the optional NetworkPolicy (pure, no client) in front of the game-server pods: players on
//! the game port (from everywhere, or from the namespaces named), the app's own pods on the game
//! port (a duo room hosted on one replica is reached by the others through `TETRIS_POD_IP`), the
//! monitoring namespace and the operator's own pods on the metrics port, nothing else. `None`
//! unless `spec.networkPolicy.enabled`.
//!
//! The operator reads each pod's live-match gauge there to keep busy pods last on scale-down
//! ([`crate::rollout::deletion_cost`]). It runs in whatever namespace it was installed in, so its
//! pods are admitted by their `app.kubernetes.io/name: tetris-operator` label from any namespace:
//! the metrics port serves counts only, nothing a player could use.
//!
//! Only ingress is restricted: the game server makes no connections of its own worth a rule, and
//! an egress rule would also need DNS and, for PostgreSQL, the database, which vary per cluster.

use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

use crate::crd::TetrisAppSpec;
use crate::meta::{METRICS_PORT_NAME, PORT_NAME, Parent};

/// The `app.kubernetes.io/name` of the operator's pods (kustomize and Helm installs alike).
const OPERATOR_NAME: &str = "tetris-operator";
/// The label every namespace carries with its own name.
const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

fn namespace_peer(name: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector {
            match_labels: Some(BTreeMap::from([(NAMESPACE_NAME_LABEL.to_owned(), name.to_owned())])),
            ..LabelSelector::default()
        }),
        ..NetworkPolicyPeer::default()
    }
}

fn port(name: &str) -> Option<Vec<NetworkPolicyPort>> {
    Some(vec![NetworkPolicyPort {
        port: Some(IntOrString::String(name.to_owned())),
        protocol: Some("TCP".to_owned()),
        ..NetworkPolicyPort::default()
    }])
}

/// The NetworkPolicy named like the TetrisApp.
pub fn build(parent: &Parent, spec: &TetrisAppSpec) -> Option<NetworkPolicy> {
    let np = &spec.network_policy;
    if !np.enabled {
        return None;
    }
    let players = NetworkPolicyIngressRule {
        // No `from` admits every source.
        from: (!np.player_namespaces.is_empty())
            .then(|| np.player_namespaces.iter().map(|n| namespace_peer(n)).collect()),
        ports: port(PORT_NAME),
    };
    // The app's own pods, in its own namespace (a bare podSelector peer means that namespace).
    let own_pods = NetworkPolicyIngressRule {
        from: Some(vec![NetworkPolicyPeer {
            pod_selector: Some(LabelSelector {
                match_labels: Some(parent.selector_labels()),
                ..LabelSelector::default()
            }),
            ..NetworkPolicyPeer::default()
        }]),
        ports: port(PORT_NAME),
    };
    let mut ingress = vec![players, own_pods];
    if let Some(ns) = &np.metrics_namespace {
        ingress.push(NetworkPolicyIngressRule {
            from: Some(vec![namespace_peer(ns)]),
            ports: port(METRICS_PORT_NAME),
        });
    }
    ingress.push(NetworkPolicyIngressRule {
        from: Some(vec![NetworkPolicyPeer {
            namespace_selector: Some(LabelSelector::default()),
            pod_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([(
                    "app.kubernetes.io/name".to_owned(),
                    OPERATOR_NAME.to_owned(),
                )])),
                ..LabelSelector::default()
            }),
            ..NetworkPolicyPeer::default()
        }]),
        ports: port(METRICS_PORT_NAME),
    });
    Some(NetworkPolicy {
        metadata: parent.child_meta(parent.name.clone(), "game-server", true),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(parent.selector_labels()),
                ..LabelSelector::default()
            }),
            policy_types: Some(vec!["Ingress".to_owned()]),
            ingress: Some(ingress),
            egress: None,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::fixtures::app;

    fn built(spec: &str) -> Option<NetworkPolicy> {
        let app = app(spec);
        build(&Parent::of(&app).expect("fixture has metadata"), &app.spec)
    }

    #[test]
    fn disabled_builds_nothing() {
        assert_eq!(built("version: 1.0.0"), None);
    }

    #[test]
    fn players_everywhere_and_metrics_from_one_namespace() {
        let np = built("version: 1.0.0\nnetworkPolicy:\n  enabled: true\n  metricsNamespace: monitoring")
            .expect("policy");
        let spec = np.spec.expect("spec");
        assert_eq!(spec.policy_types, Some(vec!["Ingress".to_owned()]));
        let rules = spec.ingress.expect("rules");
        assert_eq!(rules.len(), 4, "players, the app's own pods, scrapers, the operator");
        assert_eq!(rules[0].from, None, "players from every source");
        assert_eq!(
            rules[0].ports.as_ref().and_then(|p| p[0].port.clone()),
            Some(IntOrString::String("http".into()))
        );
        let from = rules[2].from.as_ref().expect("metrics peers");
        let ns = from[0].namespace_selector.as_ref().and_then(|s| s.match_labels.clone()).expect("selector");
        assert_eq!(ns[NAMESPACE_NAME_LABEL], "monitoring");
        assert_eq!(
            rules[2].ports.as_ref().and_then(|p| p[0].port.clone()),
            Some(IntOrString::String("metrics".into()))
        );
    }

    #[test]
    fn players_only_from_the_named_namespaces_and_no_scrapers_unless_named() {
        let np =
            built("version: 1.0.0\nnetworkPolicy:\n  enabled: true\n  playerNamespaces: [gateways, edge]")
                .expect("policy");
        let rules = np.spec.and_then(|s| s.ingress).expect("rules");
        assert_eq!(rules.len(), 3, "no monitoring rule without metricsNamespace");
        assert_eq!(rules[0].from.as_ref().map(Vec::len), Some(2));
        let own = rules[1].from.as_ref().expect("own pods");
        let selector = own[0].pod_selector.as_ref().and_then(|s| s.match_labels.clone()).expect("pods");
        assert_eq!(selector["gameops.dev/tetrisapp"], "arcade", "the app's own pods, for duo rooms");
        assert!(own[0].namespace_selector.is_none(), "in the app's namespace only");
        assert_eq!(rules[1].ports, rules[0].ports, "on the game port");
        let operator = &rules[2].from.as_ref().expect("operator peer")[0];
        assert_eq!(
            operator.pod_selector.as_ref().and_then(|s| s.match_labels.clone()),
            Some(BTreeMap::from([("app.kubernetes.io/name".to_owned(), "tetris-operator".to_owned())]))
        );
        assert_eq!(operator.namespace_selector, Some(LabelSelector::default()), "from any namespace");
        assert_eq!(
            rules[2].ports.as_ref().and_then(|p| p[0].port.clone()),
            Some(IntOrString::String("metrics".into()))
        );
    }
}
