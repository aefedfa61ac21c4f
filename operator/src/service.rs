//! Builds the Service in front of the game-server pods (pure, no client).

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::crd::{ServiceType, TetrisAppSpec};
use crate::meta::{PORT_NAME, Parent};

/// The Service port's `appProtocol` with an HTTPRoute: HTTP/1.1 with WebSocket upgrades.
pub const WEBSOCKET_APP_PROTOCOL: &str = "kubernetes.io/ws";

/// The Service named like the TetrisApp, forwarding `spec.service.port` to the pods' named port.
pub fn build(parent: &Parent, spec: &TetrisAppSpec) -> Service {
    let svc = &spec.service;
    let mut metadata = parent.child_meta(parent.name.clone(), "game-server", true);
    metadata.annotations = (!svc.annotations.is_empty()).then(|| svc.annotations.clone());
    Service {
        metadata,
        spec: Some(ServiceSpec {
            type_: Some(svc.type_.as_str().to_owned()),
            selector: Some(parent.selector_labels()),
            ports: Some(vec![ServicePort {
                name: Some(PORT_NAME.to_owned()),
                port: svc.port,
                target_port: Some(IntOrString::String(PORT_NAME.to_owned())),
                protocol: Some("TCP".to_owned()),
                // Tells Gateway implementations the port carries WebSockets (the game's `/ws`).
                app_protocol: spec.route.is_some().then(|| WEBSOCKET_APP_PROTOCOL.to_owned()),
                node_port: match svc.type_ {
                    ServiceType::ClusterIP => None,
                    _ => svc.node_port,
                },
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// The in-cluster URL of the game.
pub fn cluster_url(parent: &Parent, spec: &TetrisAppSpec) -> String {
    let port = spec.service.port;
    let suffix = if port == 80 { String::new() } else { format!(":{port}") };
    format!("http://{}.{}.svc{suffix}/", parent.name, parent.namespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::fixtures::app;

    fn built(spec: &str) -> (Service, String) {
        let app = app(spec);
        let parent = Parent::of(&app).expect("fixture has metadata");
        (build(&parent, &app.spec), cluster_url(&parent, &app.spec))
    }

    #[test]
    fn forwards_service_port_to_the_named_container_port() {
        let (svc, url) = built("version: 1.0.0\nservice:\n  port: 8000");
        let port = &svc.spec.as_ref().and_then(|s| s.ports.clone()).expect("ports")[0];
        assert_eq!(port.port, 8000);
        assert_eq!(port.target_port, Some(IntOrString::String("http".into())));
        assert_eq!(svc.spec.and_then(|s| s.type_).as_deref(), Some("ClusterIP"));
        assert_eq!(url, "http://arcade.games.svc:8000/");
    }

    #[test]
    fn the_port_says_websocket_only_behind_a_route() {
        let app_protocol =
            |spec: &str| built(spec).0.spec.and_then(|s| s.ports).expect("ports")[0].app_protocol.clone();
        assert_eq!(app_protocol("version: 1.0.0"), None);
        assert_eq!(
            app_protocol("version: 1.0.0\nroute:\n  parentRefs: [{name: gw}]").as_deref(),
            Some("kubernetes.io/ws")
        );
    }

    #[test]
    fn selector_matches_the_deployment_pods() {
        let (svc, _) = built("version: 1.0.0");
        let selector = svc.spec.and_then(|s| s.selector).expect("selector");
        assert_eq!(selector["gameops.dev/tetrisapp"], "arcade");
        assert_eq!(selector.len(), 2);
    }

    #[test]
    fn node_port_and_annotations_for_node_port_services() {
        let (svc, url) =
            built("version: 1.0.0\nservice:\n  type: NodePort\n  nodePort: 30080\n  annotations:\n    a: b");
        assert_eq!(svc.metadata.annotations.as_ref().map(|a| a["a"].as_str()), Some("b"));
        let spec = svc.spec.expect("spec");
        assert_eq!(spec.type_.as_deref(), Some("NodePort"));
        assert_eq!(spec.ports.expect("ports")[0].node_port, Some(30080));
        assert_eq!(url, "http://arcade.games.svc/");
    }
}
