//! Builds the optional Ingress (pure, no client). `None` when `spec.ingress` is unset; the
//! reconciler then deletes an Ingress it created earlier.

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule, IngressServiceBackend,
    IngressSpec, IngressTLS, ServiceBackendPort,
};

use crate::crd::TetrisAppSpec;
use crate::meta::{PORT_NAME, Parent};

/// The Ingress named like the TetrisApp, routing `host` + `path` to the Service's named port.
pub fn build(parent: &Parent, spec: &TetrisAppSpec) -> Option<Ingress> {
    let ing = spec.ingress.as_ref()?;
    let mut metadata = parent.child_meta(parent.name.clone(), "game-server", true);
    metadata.annotations = (!ing.annotations.is_empty()).then(|| ing.annotations.clone());
    let backend = IngressBackend {
        service: Some(IngressServiceBackend {
            name: parent.name.clone(),
            port: Some(ServiceBackendPort { name: Some(PORT_NAME.to_owned()), number: None }),
        }),
        resource: None,
    };
    Some(Ingress {
        metadata,
        spec: Some(IngressSpec {
            ingress_class_name: ing.class_name.clone(),
            rules: Some(vec![IngressRule {
                host: ing.host.clone(),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some(ing.path.clone()),
                        path_type: "Prefix".to_owned(),
                        backend,
                    }],
                }),
            }]),
            tls: ing.tls.as_ref().map(|tls| {
                vec![IngressTLS {
                    hosts: ing.host.clone().map(|h| vec![h]),
                    secret_name: Some(tls.secret_name.clone()),
                }]
            }),
            ..IngressSpec::default()
        }),
        ..Ingress::default()
    })
}

/// The public URL of the game when the Ingress names a host.
pub fn public_url(spec: &TetrisAppSpec) -> Option<String> {
    let ing = spec.ingress.as_ref()?;
    let host = ing.host.as_ref()?;
    let scheme = if ing.tls.is_some() { "https" } else { "http" };
    Some(format!("{scheme}://{host}{}", ing.path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::fixtures::app;

    fn built(spec: &str) -> (Option<Ingress>, Option<String>) {
        let app = app(spec);
        let parent = Parent::of(&app).expect("fixture has metadata");
        (build(&parent, &app.spec), public_url(&app.spec))
    }

    #[test]
    fn absent_ingress_builds_nothing() {
        assert_eq!(built("version: 1.0.0"), (None, None));
    }

    #[test]
    fn tls_ingress_routes_host_to_the_service() {
        let (ing, url) = built(
            "version: 1.0.0\ningress:\n  host: tetris.example.com\n  className: nginx\n  tls:\n    secretName: tetris-tls",
        );
        let spec = ing.expect("ingress").spec.expect("spec");
        assert_eq!(spec.ingress_class_name.as_deref(), Some("nginx"));
        let rule = &spec.rules.expect("rules")[0];
        assert_eq!(rule.host.as_deref(), Some("tetris.example.com"));
        let path = &rule.http.as_ref().expect("http").paths[0];
        assert_eq!(path.path.as_deref(), Some("/"));
        assert_eq!(path.backend.service.as_ref().map(|s| s.name.as_str()), Some("arcade"));
        let tls = &spec.tls.expect("tls")[0];
        assert_eq!(tls.secret_name.as_deref(), Some("tetris-tls"));
        assert_eq!(tls.hosts, Some(vec!["tetris.example.com".to_owned()]));
        assert_eq!(url.as_deref(), Some("https://tetris.example.com/"));
    }

    #[test]
    fn plain_http_url_with_path() {
        let (_, url) = built("version: 1.0.0\ningress:\n  host: t.example.com\n  path: /play");
        assert_eq!(url.as_deref(), Some("http://t.example.com/play"));
    }
}
