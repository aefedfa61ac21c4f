//! Builds the game-server Deployment (pure, no client).
//!
//! What it encodes, and why:
//! - the image is `spec.image:spec.version`, so changing the version is the upgrade;
//! - the pod template carries the hash of the ConfigMap data, so a game-setting change rolls the pods
//!   (environment from a ConfigMap is only read at container start);
//! - `terminationGracePeriodSeconds` covers `drainSeconds` plus time for endpoint removal and the
//!   final scoreboard flush, so the kubelet never kills a match the server is still finishing;
//! - with ReadWriteOnce storage every pod of the app must share a node (required pod affinity to the
//!   app's own pods on the hostname), otherwise a surging rolling update's new pod could not mount it;
//! - the pod runs under the restricted Pod Security Standard.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMapEnvSource, Container, ContainerPort, EmptyDirVolumeSource,
    EnvFromSource, HTTPGetAction, PersistentVolumeClaimVolumeSource, PodAffinity, PodAffinityTerm,
    PodSecurityContext, PodSpec, PodTemplateSpec, Probe, SeccompProfile, SecurityContext, Volume,
    VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::crd::{AccessMode, TetrisAppSpec, UpgradeStrategy};
use crate::meta::{CONFIG_HASH_ANNOTATION, CONTAINER_NAME, DATA_DIR, PORT_NAME, Parent};

/// Seconds added to `drainSeconds` for endpoint removal and the final flush before the kubelet kills the pod.
pub const DRAIN_MARGIN_SECONDS: i64 = 15;
/// The non-root user and group the game server runs as (owns the scoreboard volume through fsGroup).
pub const RUN_AS_ID: i64 = 65532;
/// Topology key of the same-node affinity.
const HOSTNAME_KEY: &str = "kubernetes.io/hostname";

/// The image reference of the game server for a spec.
pub fn image(spec: &TetrisAppSpec) -> String {
    format!("{}:{}", spec.image, spec.version)
}

/// The Deployment named like the TetrisApp. `config_hash` is the hash of the ConfigMap data.
pub fn build(parent: &Parent, spec: &TetrisAppSpec, config_hash: &str) -> Deployment {
    let mut pod_labels = parent.labels("game-server");
    pod_labels.insert("app.kubernetes.io/version".to_owned(), spec.version.clone());
    let mut pod_annotations = spec.pod.annotations.clone();
    pod_annotations.insert(CONFIG_HASH_ANNOTATION.to_owned(), config_hash.to_owned());

    Deployment {
        metadata: parent.child_meta(parent.name.clone(), "game-server", true),
        spec: Some(DeploymentSpec {
            replicas: Some(spec.replicas),
            selector: LabelSelector {
                match_labels: Some(parent.selector_labels()),
                ..LabelSelector::default()
            },
            strategy: Some(strategy(spec)),
            progress_deadline_seconds: Some(spec.upgrade.progress_deadline_seconds),
            revision_history_limit: Some(3),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    annotations: Some(pod_annotations),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod_spec(parent, spec)),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    }
}

fn strategy(spec: &TetrisAppSpec) -> DeploymentStrategy {
    match spec.upgrade.strategy {
        UpgradeStrategy::Recreate => {
            DeploymentStrategy { type_: Some("Recreate".to_owned()), rolling_update: None }
        }
        UpgradeStrategy::RollingUpdate => DeploymentStrategy {
            type_: Some("RollingUpdate".to_owned()),
            rolling_update: Some(RollingUpdateDeployment {
                max_surge: Some(IntOrString::Int(spec.upgrade.max_surge)),
                max_unavailable: Some(IntOrString::Int(spec.upgrade.max_unavailable)),
            }),
        },
    }
}

fn pod_spec(parent: &Parent, spec: &TetrisAppSpec) -> PodSpec {
    PodSpec {
        containers: vec![container(parent, spec)],
        // Service links would inject `<SERVICE>_PORT=tcp://...` variables, and a Service named
        // `tetris` would collide with the server's own TETRIS_PORT.
        enable_service_links: Some(false),
        automount_service_account_token: Some(false),
        termination_grace_period_seconds: Some(
            i64::from(spec.upgrade.drain_seconds.max(0)) + DRAIN_MARGIN_SECONDS,
        ),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(RUN_AS_ID),
            run_as_group: Some(RUN_AS_ID),
            fs_group: Some(RUN_AS_ID),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".to_owned(),
                localhost_profile: None,
            }),
            ..PodSecurityContext::default()
        }),
        affinity: same_node_affinity(parent, spec),
        node_selector: (!spec.pod.node_selector.is_empty()).then(|| spec.pod.node_selector.clone()),
        tolerations: (!spec.pod.tolerations.is_empty()).then(|| spec.pod.tolerations.clone()),
        priority_class_name: spec.pod.priority_class_name.clone(),
        volumes: Some(vec![
            Volume {
                name: "data".to_owned(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: parent.pvc_name(),
                    read_only: None,
                }),
                ..Volume::default()
            },
            Volume {
                name: "tmp".to_owned(),
                empty_dir: Some(EmptyDirVolumeSource::default()),
                ..Volume::default()
            },
        ]),
        ..PodSpec::default()
    }
}

fn container(parent: &Parent, spec: &TetrisAppSpec) -> Container {
    let probe = |path: &str, period: i32, failures: i32| Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_owned()),
            port: IntOrString::String(PORT_NAME.to_owned()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        failure_threshold: Some(failures),
        timeout_seconds: Some(2),
        ..Probe::default()
    };
    Container {
        name: CONTAINER_NAME.to_owned(),
        image: Some(image(spec)),
        image_pull_policy: Some("IfNotPresent".to_owned()),
        env_from: Some(vec![EnvFromSource {
            config_map_ref: Some(ConfigMapEnvSource { name: parent.configmap_name(), optional: Some(false) }),
            ..EnvFromSource::default()
        }]),
        ports: Some(vec![ContainerPort {
            name: Some(PORT_NAME.to_owned()),
            container_port: spec.server.port,
            protocol: Some("TCP".to_owned()),
            ..ContainerPort::default()
        }]),
        readiness_probe: Some(probe("/readyz", 5, 2)),
        liveness_probe: Some(probe("/healthz", 10, 3)),
        resources: spec.resources.clone(),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            capabilities: Some(Capabilities { drop: Some(vec!["ALL".to_owned()]), add: None }),
            ..SecurityContext::default()
        }),
        volume_mounts: Some(vec![
            VolumeMount {
                name: "data".to_owned(),
                mount_path: DATA_DIR.to_owned(),
                ..VolumeMount::default()
            },
            VolumeMount { name: "tmp".to_owned(), mount_path: "/tmp".to_owned(), ..VolumeMount::default() },
        ]),
        ..Container::default()
    }
}

/// Required affinity to the app's own pods on one hostname when the volume is ReadWriteOnce. The
/// scheduler lets the first pod go anywhere (a pod matching its own affinity term is a special case).
fn same_node_affinity(parent: &Parent, spec: &TetrisAppSpec) -> Option<Affinity> {
    (spec.storage.access_mode == AccessMode::ReadWriteOnce).then(|| Affinity {
        pod_affinity: Some(PodAffinity {
            required_during_scheduling_ignored_during_execution: Some(vec![PodAffinityTerm {
                label_selector: Some(LabelSelector {
                    match_labels: Some(parent.selector_labels()),
                    ..LabelSelector::default()
                }),
                topology_key: HOSTNAME_KEY.to_owned(),
                ..PodAffinityTerm::default()
            }]),
            ..PodAffinity::default()
        }),
        ..Affinity::default()
    })
}

/// The pod-template labels a Deployment was built with (used to read the version it runs).
pub fn template_version(dep: &Deployment) -> Option<&str> {
    template_labels(dep)?.get("app.kubernetes.io/version").map(String::as_str)
}

fn template_labels(dep: &Deployment) -> Option<&BTreeMap<String, String>> {
    dep.spec.as_ref()?.template.metadata.as_ref()?.labels.as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::fixtures::app;

    fn built(spec: &str) -> Deployment {
        let app = app(spec);
        let parent = Parent::of(&app).expect("fixture has metadata");
        build(&parent, &app.spec, "cafe")
    }

    fn pod(dep: &Deployment) -> &PodSpec {
        dep.spec.as_ref().and_then(|s| s.template.spec.as_ref()).expect("pod spec")
    }

    #[test]
    fn image_is_repository_and_version() {
        let dep = built("version: 1.2.3");
        assert_eq!(
            pod(&dep).containers[0].image.as_deref(),
            Some("ghcr.io/tetris-operator/game-server:1.2.3")
        );
        let dep = built("version: 2.0.0\nimage: registry.example.com:5000/games/tetris");
        assert_eq!(
            pod(&dep).containers[0].image.as_deref(),
            Some("registry.example.com:5000/games/tetris:2.0.0")
        );
        assert_eq!(template_version(&dep), Some("2.0.0"));
    }

    #[test]
    fn config_hash_is_a_pod_template_annotation() {
        let dep = built("version: 1.0.0\npod:\n  annotations:\n    team: games");
        let annotations =
            dep.spec.and_then(|s| s.template.metadata).and_then(|m| m.annotations).expect("annotations");
        assert_eq!(annotations[CONFIG_HASH_ANNOTATION], "cafe");
        assert_eq!(annotations["team"], "games");
    }

    #[test]
    fn probes_env_and_volume_follow_the_game_server_contract() {
        let dep = built("version: 1.0.0\nserver:\n  port: 9000");
        let c = &pod(&dep).containers[0];
        let path =
            |p: &Option<Probe>| p.as_ref().and_then(|p| p.http_get.as_ref()).and_then(|h| h.path.clone());
        assert_eq!(path(&c.readiness_probe).as_deref(), Some("/readyz"));
        assert_eq!(path(&c.liveness_probe).as_deref(), Some("/healthz"));
        assert_eq!(c.ports.as_ref().expect("ports")[0].container_port, 9000);
        let env = c.env_from.as_ref().expect("envFrom")[0].config_map_ref.as_ref().expect("configmap ref");
        assert_eq!(env.name, "arcade-config");
        let mounts = c.volume_mounts.as_ref().expect("mounts");
        assert!(mounts.iter().any(|m| m.mount_path == "/data" && m.name == "data"));
        let claim = pod(&dep).volumes.as_ref().expect("volumes")[0].persistent_volume_claim.clone();
        assert_eq!(claim.expect("pvc volume").claim_name, "arcade-data");
    }

    #[test]
    fn pod_is_restricted() {
        let dep = built("version: 1.0.0");
        let p = pod(&dep);
        let psc = p.security_context.as_ref().expect("pod security context");
        assert_eq!(psc.run_as_non_root, Some(true));
        assert_eq!(psc.seccomp_profile.as_ref().map(|s| s.type_.as_str()), Some("RuntimeDefault"));
        let sc = p.containers[0].security_context.as_ref().expect("container security context");
        assert_eq!(sc.allow_privilege_escalation, Some(false));
        assert_eq!(sc.capabilities.as_ref().and_then(|c| c.drop.clone()), Some(vec!["ALL".to_owned()]));
    }

    #[test]
    fn regression_service_links_are_off_so_a_service_named_tetris_cannot_override_tetris_port() {
        assert_eq!(pod(&built("version: 1.0.0")).enable_service_links, Some(false));
    }

    #[test]
    fn strategy_and_grace_come_from_spec_upgrade() {
        let dep = built("version: 1.0.0\nupgrade:\n  drainSeconds: 120\n  maxSurge: 2\n  maxUnavailable: 1");
        assert_eq!(pod(&dep).termination_grace_period_seconds, Some(135));
        let strategy = dep.spec.as_ref().and_then(|s| s.strategy.clone()).expect("strategy");
        let ru = strategy.rolling_update.expect("rolling update");
        assert_eq!(ru.max_surge, Some(IntOrString::Int(2)));
        assert_eq!(ru.max_unavailable, Some(IntOrString::Int(1)));
        let dep = built("version: 1.0.0\nreplicas: 1\nupgrade:\n  strategy: Recreate");
        let strategy = dep.spec.and_then(|s| s.strategy).expect("strategy");
        assert_eq!(strategy.type_.as_deref(), Some("Recreate"));
        assert!(strategy.rolling_update.is_none());
    }

    #[test]
    fn read_write_once_pins_all_pods_to_one_node() {
        let dep = built("version: 1.0.0\nreplicas: 3");
        let terms = pod(&dep)
            .affinity
            .as_ref()
            .and_then(|a| a.pod_affinity.as_ref())
            .and_then(|a| a.required_during_scheduling_ignored_during_execution.clone())
            .expect("required pod affinity");
        assert_eq!(terms[0].topology_key, "kubernetes.io/hostname");
        let selector = terms[0].label_selector.as_ref().and_then(|s| s.match_labels.clone()).expect("labels");
        assert_eq!(Some(&selector), dep.spec.as_ref().and_then(|s| s.selector.match_labels.as_ref()));
        let rwx = built("version: 1.0.0\nstorage:\n  accessMode: ReadWriteMany");
        assert!(pod(&rwx).affinity.is_none());
    }

    #[test]
    fn same_spec_gives_identical_deployment() {
        assert_eq!(built("version: 1.0.0\nreplicas: 2"), built("version: 1.0.0\nreplicas: 2"));
    }
}
