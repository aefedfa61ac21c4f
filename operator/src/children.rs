//! The validate and build steps of the pipeline (pure, no client): from a TetrisApp to the full set
//! of children it should have, each stamped with the hash of itself.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Service};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use tetris_config::{ConfigError, vars};

use crate::crd::TetrisApp;
use crate::meta::{Parent, hash_of, stamp_applied_hash};
use crate::podmonitor::PodMonitor;
use crate::route::HttpRoute;
use crate::{
    Result, configmap, deployment, hpa, ingress, networkpolicy, pdb, podmonitor, pvc, route, scoreboard,
    service,
};

/// Every child of one TetrisApp, as the operator wants it.
#[derive(Debug, Clone, PartialEq)]
pub struct Children {
    /// Game configuration as `TETRIS_*` environment.
    pub configmap: ConfigMap,
    /// The scoreboard claim, with the SQLite backend (never deleted by the operator: see [`scoreboard`]).
    pub pvc: Option<PersistentVolumeClaim>,
    /// The game-server pods.
    pub deployment: Deployment,
    /// The Service in front of them.
    pub service: Service,
    /// The Ingress, when `spec.ingress` is set.
    pub ingress: Option<Ingress>,
    /// The HTTPRoute, when `spec.route` is set.
    pub route: Option<HttpRoute>,
    /// The PodMonitor, when `spec.monitoring.enabled`.
    pub pod_monitor: Option<PodMonitor>,
    /// The NetworkPolicy, when `spec.networkPolicy.enabled`.
    pub network_policy: Option<NetworkPolicy>,
    /// The HorizontalPodAutoscaler, when `spec.autoscaling` is set.
    pub hpa: Option<HorizontalPodAutoscaler>,
    /// The PodDisruptionBudget, when the pods can leave their nodes one at a time.
    pub pdb: Option<PodDisruptionBudget>,
    /// Where players reach the game.
    pub url: String,
}

/// Validates the spec (beyond what the schema checks) and builds the children. `Ok(Err(message))`
/// is a spec that cannot be reconciled; `Err` is an object without the metadata a stored one has.
pub fn build(app: &TetrisApp, parent: &Parent) -> Result<std::result::Result<Children, String>> {
    let config = match configmap::game_config(&app.spec) {
        Ok(config) => config,
        Err(e) => return Ok(Err(describe(&e))),
    };
    if let Err(message) = deployment::check_placement(parent, &app.spec) {
        return Ok(Err(message));
    }
    let mut configmap = configmap::build(parent, &config, &app.spec);
    let config_hash = hash_of(&configmap.data)?;
    let mut deployment = deployment::build(parent, &app.spec, &config_hash);
    scoreboard::shape_deployment(&mut deployment, parent, &app.spec);
    if let Some(s) = deployment.spec.as_mut() {
        s.replicas = Some(hpa::replicas(&app.spec));
    }
    let mut service = service::build(parent, &app.spec);
    let mut pvc = scoreboard::uses_volume(&app.spec).then(|| pvc::build(parent, &app.spec));
    let mut hpa = hpa::build(parent, &app.spec);
    let mut pdb = pdb::build(parent, &app.spec);
    let mut ingress = ingress::build(parent, &app.spec);
    let mut route = route::build(parent, &app.spec);
    let mut pod_monitor = podmonitor::build(parent, &app.spec);
    let mut network_policy = networkpolicy::build(parent, &app.spec);
    stamp_applied_hash(&mut configmap)?;
    stamp_applied_hash(&mut deployment)?;
    stamp_applied_hash(&mut service)?;
    stamp_all(&mut pvc)?;
    stamp_all(&mut hpa)?;
    stamp_all(&mut pdb)?;
    stamp_all(&mut ingress)?;
    stamp_all(&mut route)?;
    stamp_all(&mut pod_monitor)?;
    stamp_all(&mut network_policy)?;
    let url = route::public_url(&app.spec)
        .or_else(|| ingress::public_url(&app.spec))
        .unwrap_or_else(|| service::cluster_url(parent, &app.spec));
    Ok(Ok(Children {
        configmap,
        pvc,
        deployment,
        service,
        ingress,
        route,
        pod_monitor,
        network_policy,
        hpa,
        pdb,
        url,
    }))
}

fn stamp_all<K: kube::Resource + serde::Serialize>(child: &mut Option<K>) -> Result<()> {
    match child.as_mut() {
        Some(c) => stamp_applied_hash(c),
        None => Ok(()),
    }
}

/// A config error in terms of the spec field a user wrote, not the environment variable.
fn describe(e: &ConfigError) -> String {
    let field = match e.var {
        vars::PORT => "spec.server.port",
        vars::TITLE => "spec.game.title",
        vars::SOLO | vars::DUO => "spec.game.solo/duo",
        vars::START_LEVEL_MIN => "spec.game.startLevelMin",
        vars::START_LEVEL_MAX => "spec.game.startLevelMax",
        vars::SCOREBOARD_SIZE => "spec.game.scoreboardSize",
        vars::MAX_ROOMS => "spec.game.maxRooms",
        vars::MAX_CONNECTIONS => "spec.game.maxConnections",
        vars::RECONNECT_GRACE_SECONDS => "spec.game.reconnectGraceSeconds",
        vars::DRAIN_SECONDS => "spec.upgrade.drainSeconds",
        vars::ALLOWED_ORIGINS => "spec.game.allowedOrigins",
        vars::LOG_LEVEL => "spec.server.logLevel",
        vars::METRICS_PORT => "spec.server.metricsPort",
        other => other,
    };
    format!("{field}: {} (game server variable {})", e.reason, e.var)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{APPLIED_HASH_ANNOTATION, fixtures::app};
    use kube::ResourceExt;

    fn children(spec: &str) -> std::result::Result<Children, String> {
        let app = app(spec);
        build(&app, &Parent::of(&app).expect("fixture has metadata")).expect("metadata present")
    }

    #[test]
    fn same_spec_always_yields_identical_children() {
        let spec = "version: 1.0.0\ningress:\n  host: t.example.com";
        assert_eq!(children(spec), children(spec));
    }

    #[test]
    fn every_child_carries_its_applied_hash() {
        let c = children("version: 1.0.0\ningress:\n  host: t.example.com").expect("valid");
        assert!(c.configmap.annotations().contains_key(APPLIED_HASH_ANNOTATION));
        assert!(c.deployment.annotations().contains_key(APPLIED_HASH_ANNOTATION));
        assert!(c.service.annotations().contains_key(APPLIED_HASH_ANNOTATION));
        assert!(c.pvc.expect("claim").annotations().contains_key(APPLIED_HASH_ANNOTATION));
        assert!(c.ingress.expect("ingress").annotations().contains_key(APPLIED_HASH_ANNOTATION));
        assert_eq!(c.url, "http://t.example.com/");
    }

    #[test]
    fn a_game_setting_change_changes_the_pod_template_hash() {
        let hash = |spec: &str| {
            let c = children(spec).expect("valid");
            c.deployment
                .spec
                .and_then(|s| s.template.metadata)
                .and_then(|m| m.annotations)
                .expect("annotations")[crate::meta::CONFIG_HASH_ANNOTATION]
                .clone()
        };
        assert_ne!(hash("version: 1.0.0"), hash("version: 1.0.0\ngame:\n  title: Other"));
        assert_eq!(hash("version: 1.0.0"), hash("version: 1.0.0\nreplicas: 2"));
    }

    #[test]
    fn a_config_the_server_refuses_names_the_spec_field() {
        let err = children("version: 1.0.0\ngame:\n  title: \"\"").expect_err("empty title");
        assert!(err.starts_with("spec.game.title:"), "{err}");
    }
}
