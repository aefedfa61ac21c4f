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
    EnvFromSource, HTTPGetAction, LocalObjectReference, PersistentVolumeClaimVolumeSource, PodAffinity,
    PodAffinityTerm, PodSecurityContext, PodSpec, PodTemplateSpec, Probe, SeccompProfile, SecurityContext,
    Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::crd::{AccessMode, TetrisAppSpec, UpgradeStrategy};
use crate::meta::{CONFIG_HASH_ANNOTATION, CONTAINER_NAME, DATA_DIR, METRICS_PORT_NAME, PORT_NAME, Parent};

/// Seconds added to `drainSeconds` for endpoint removal and the final flush before the kubelet kills the pod.
pub const DRAIN_MARGIN_SECONDS: i64 = 15;
/// The non-root user and group the game server runs as (owns the scoreboard volume through fsGroup).
pub const RUN_AS_ID: i64 = 65532;
/// Topology key of the same-node affinity.
const HOSTNAME_KEY: &str = "kubernetes.io/hostname";

/// The image reference of the game server for a spec: `image:version`, or with a digest in
/// `spec.image`, the digest with the version as its tag (`repo:version@sha256:...`) unless
/// `spec.image` already names a tag beside the digest.
pub fn image(spec: &TetrisAppSpec) -> String {
    match spec.image.split_once('@') {
        None => format!("{}:{}", spec.image, spec.version),
        Some((repo, digest)) => {
            let last = repo.rsplit('/').next().unwrap_or(repo);
            // A `:` in the last path segment is a tag; one in the first segment alone is a registry port.
            let has_tag =
                last.contains(':') && repo.contains('/') || !repo.contains('/') && repo.contains(':');
            if has_tag { spec.image.clone() } else { format!("{repo}:{}@{digest}", spec.version) }
        }
    }
}

/// The Deployment named like the TetrisApp. `config_hash` is the hash of the ConfigMap data.
pub fn build(parent: &Parent, spec: &TetrisAppSpec, config_hash: &str) -> Deployment {
    let pod_labels = pod_labels(parent, spec);
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
        // A canary's or BlueGreen's stable Deployment rolls to the new version at promotion.
        UpgradeStrategy::RollingUpdate | UpgradeStrategy::Canary | UpgradeStrategy::BlueGreen => {
            DeploymentStrategy {
                type_: Some("RollingUpdate".to_owned()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(IntOrString::Int(spec.upgrade.max_surge)),
                    max_unavailable: Some(IntOrString::Int(spec.upgrade.max_unavailable)),
                }),
            }
        }
    }
}

fn pod_spec(parent: &Parent, spec: &TetrisAppSpec) -> PodSpec {
    PodSpec {
        containers: vec![container(parent, spec)],
        // Service links would inject `<SERVICE>_PORT=tcp://...` variables, and a Service named
        // `tetris` would collide with the server's own TETRIS_PORT.
        enable_service_links: Some(false),
        automount_service_account_token: Some(false),
        service_account_name: spec.pod.service_account_name.clone(),
        image_pull_secrets: (!spec.image_pull_secrets.is_empty()).then(|| {
            spec.image_pull_secrets.iter().map(|s| LocalObjectReference { name: s.name.clone() }).collect()
        }),
        topology_spread_constraints: (!spec.pod.topology_spread_constraints.is_empty())
            .then(|| spec.pod.topology_spread_constraints.clone()),
        termination_grace_period_seconds: Some(
            i64::from(spec.upgrade.drain_seconds.max(0)) + DRAIN_MARGIN_SECONDS,
        ),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(RUN_AS_ID),
            run_as_group: Some(RUN_AS_ID),
            fs_group: Some(spec.pod.fs_group),
            fs_group_change_policy: Some(spec.pod.fs_group_change_policy.as_str().to_owned()),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".to_owned(),
                localhost_profile: None,
            }),
            ..PodSecurityContext::default()
        }),
        affinity: affinity(parent, spec),
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
        image_pull_policy: Some(spec.image_pull_policy.as_str().to_owned()),
        env_from: Some(vec![EnvFromSource {
            config_map_ref: Some(ConfigMapEnvSource { name: parent.configmap_name(), optional: Some(false) }),
            ..EnvFromSource::default()
        }]),
        ports: Some(vec![
            ContainerPort {
                name: Some(PORT_NAME.to_owned()),
                container_port: spec.server.port,
                protocol: Some("TCP".to_owned()),
                ..ContainerPort::default()
            },
            ContainerPort {
                name: Some(METRICS_PORT_NAME.to_owned()),
                container_port: spec.server.metrics_port,
                protocol: Some("TCP".to_owned()),
                ..ContainerPort::default()
            },
        ]),
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

/// The user's affinity (`spec.pod.affinity`) merged with the operator's own rule: required
/// affinity to the app's own pods on one hostname when the volume is ReadWriteOnce, added to any
/// required pod-affinity terms the user wrote. The scheduler lets the first pod go anywhere (a pod
/// matching its own affinity term is a special case).
fn affinity(parent: &Parent, spec: &TetrisAppSpec) -> Option<Affinity> {
    let mut affinity = spec.pod.affinity.clone();
    if pinned_to_one_node(spec) {
        let term = PodAffinityTerm {
            label_selector: Some(LabelSelector {
                match_labels: Some(parent.selector_labels()),
                ..LabelSelector::default()
            }),
            topology_key: HOSTNAME_KEY.to_owned(),
            ..PodAffinityTerm::default()
        };
        let a = affinity.get_or_insert_with(Affinity::default);
        let pa = a.pod_affinity.get_or_insert_with(PodAffinity::default);
        pa.required_during_scheduling_ignored_during_execution.get_or_insert_with(Vec::new).push(term);
    }
    affinity.filter(|a| a != &Affinity::default())
}

/// Whether every pod of the app must run on one node (ReadWriteOnce storage the SQLite scoreboard
/// is on; with PostgreSQL there is no volume).
fn pinned_to_one_node(spec: &TetrisAppSpec) -> bool {
    spec.storage.access_mode == AccessMode::ReadWriteOnce && crate::scoreboard::uses_volume(spec)
}

/// Refuses placement that contradicts the same-node rule of ReadWriteOnce storage: a required
/// pod anti-affinity term, or a DoNotSchedule topology spread, that matches the app's own pods
/// would keep a second pod (a surging rollout's, or another replica) off the node that mounts the
/// volume, so it could never start. The message names the TetrisApp field.
pub fn check_placement(parent: &Parent, spec: &TetrisAppSpec) -> Result<(), String> {
    if !pinned_to_one_node(spec) {
        return Ok(());
    }
    let own = pod_labels(parent, spec);
    let why = "with storage.accessMode ReadWriteOnce every pod of the app runs on the node that mounts the volume; \
               use storage.accessMode ReadWriteMany, or drop the rule for the app's own pods";
    let anti = spec
        .pod
        .affinity
        .as_ref()
        .and_then(|a| a.pod_anti_affinity.as_ref())
        .and_then(|a| a.required_during_scheduling_ignored_during_execution.as_deref())
        .unwrap_or_default();
    for (i, term) in anti.iter().enumerate() {
        let same_namespace = term.namespace_selector.is_some()
            || term.namespaces.as_ref().is_none_or(|n| n.is_empty() || n.contains(&parent.namespace));
        if same_namespace && term.label_selector.as_ref().is_some_and(|s| selects(s, &own)) {
            return Err(format!(
                "spec.pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[{i}] keeps the app's own pods apart ({}), which contradicts the same-node rule: {why}",
                term.topology_key
            ));
        }
    }
    for (i, c) in spec.pod.topology_spread_constraints.iter().enumerate() {
        if c.when_unsatisfiable == "DoNotSchedule"
            && c.label_selector.as_ref().is_some_and(|s| selects(s, &own))
        {
            return Err(format!(
                "spec.pod.topologySpreadConstraints[{i}] spreads the app's own pods over {} with DoNotSchedule, which contradicts the same-node rule: {why}",
                c.topology_key
            ));
        }
    }
    Ok(())
}

/// The labels of the app's pods.
fn pod_labels(parent: &Parent, spec: &TetrisAppSpec) -> BTreeMap<String, String> {
    let mut labels = parent.labels("game-server");
    labels.insert("app.kubernetes.io/version".to_owned(), spec.version.clone());
    labels
}

/// Whether a label selector selects an object with `labels` (an empty selector selects everything).
fn selects(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let by_label = selector.match_labels.iter().flatten().all(|(k, v)| labels.get(k) == Some(v));
    let by_expression = selector.match_expressions.iter().flatten().all(|e| {
        let value = labels.get(&e.key);
        let listed = |v: &String| e.values.iter().flatten().any(|x| x == v);
        match e.operator.as_str() {
            "In" => value.is_some_and(listed),
            "NotIn" => !value.is_some_and(listed),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        }
    });
    by_label && by_expression
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

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn a_digest_decides_what_runs_and_keeps_the_version_as_tag() {
        let image = |img: &str| {
            let dep = built(&format!("version: 1.2.3\nimage: {img}"));
            pod(&dep).containers[0].image.clone().expect("image")
        };
        assert_eq!(image(&format!("ghcr.io/t/game@{DIGEST}")), format!("ghcr.io/t/game:1.2.3@{DIGEST}"));
        assert_eq!(image(&format!("ghcr.io/t/game:edge@{DIGEST}")), format!("ghcr.io/t/game:edge@{DIGEST}"));
        assert_eq!(
            image(&format!("registry.local:5000/t/game@{DIGEST}")),
            format!("registry.local:5000/t/game:1.2.3@{DIGEST}"),
            "a registry port is not a tag"
        );
        assert_eq!(image(&format!("game@{DIGEST}")), format!("game:1.2.3@{DIGEST}"));
    }

    #[test]
    fn pull_policy_secrets_service_account_and_fs_group_reach_the_pod() {
        let dep = built(
            "version: 1.0.0\nimagePullPolicy: Always\nimagePullSecrets:\n- name: registry\npod:\n  serviceAccountName: games\n  fsGroup: 2000\n  fsGroupChangePolicy: Always",
        );
        let p = pod(&dep);
        assert_eq!(p.containers[0].image_pull_policy.as_deref(), Some("Always"));
        assert_eq!(p.image_pull_secrets.as_ref().map(|s| s[0].name.as_str()), Some("registry"));
        assert_eq!(p.service_account_name.as_deref(), Some("games"));
        assert_eq!(p.automount_service_account_token, Some(false));
        let psc = p.security_context.as_ref().expect("security context");
        assert_eq!((psc.fs_group, psc.fs_group_change_policy.as_deref()), (Some(2000), Some("Always")));
        let defaults = built("version: 1.0.0");
        let psc = pod(&defaults).security_context.clone().expect("security context");
        assert_eq!(
            (psc.fs_group, psc.fs_group_change_policy.as_deref()),
            (Some(RUN_AS_ID), Some("OnRootMismatch"))
        );
        assert_eq!(pod(&defaults).containers[0].image_pull_policy.as_deref(), Some("IfNotPresent"));
    }

    #[test]
    fn the_users_affinity_is_kept_and_the_same_node_term_added_to_it() {
        let dep = built(
            "version: 1.0.0\npod:\n  affinity:\n    nodeAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n        nodeSelectorTerms:\n        - matchExpressions:\n          - {key: pool, operator: In, values: [games]}\n    podAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n      - topologyKey: topology.kubernetes.io/zone\n        labelSelector:\n          matchLabels: {app: redis}\n  topologySpreadConstraints:\n  - maxSkew: 1\n    topologyKey: topology.kubernetes.io/zone\n    whenUnsatisfiable: ScheduleAnyway\n    labelSelector:\n      matchLabels: {gameops.dev/tetrisapp: arcade}",
        );
        let p = pod(&dep);
        let a = p.affinity.as_ref().expect("affinity");
        assert!(a.node_affinity.is_some(), "node affinity kept");
        let terms = a
            .pod_affinity
            .as_ref()
            .and_then(|pa| pa.required_during_scheduling_ignored_during_execution.clone())
            .expect("terms");
        assert_eq!(terms.len(), 2, "the user's term and the same-node term");
        assert_eq!(terms[0].topology_key, "topology.kubernetes.io/zone");
        assert_eq!(terms[1].topology_key, HOSTNAME_KEY);
        assert_eq!(p.topology_spread_constraints.as_ref().map(Vec::len), Some(1));
        let rwx = built(
            "version: 1.0.0\nstorage:\n  accessMode: ReadWriteMany\npod:\n  affinity:\n    podAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n      - topologyKey: zone\n        labelSelector: {matchLabels: {app: redis}}",
        );
        let terms = pod(&rwx)
            .affinity
            .clone()
            .and_then(|a| a.pod_affinity)
            .and_then(|pa| pa.required_during_scheduling_ignored_during_execution)
            .expect("terms");
        assert_eq!(terms.len(), 1, "no same-node term without ReadWriteOnce");
    }

    fn placement(spec: &str) -> Result<(), String> {
        let app = app(spec);
        check_placement(&Parent::of(&app).expect("fixture has metadata"), &app.spec)
    }

    #[test]
    fn placement_that_contradicts_the_same_node_rule_is_refused_naming_the_field() {
        let anti = "version: 1.0.0\npod:\n  affinity:\n    podAntiAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n      - topologyKey: kubernetes.io/hostname\n        labelSelector:\n          matchExpressions:\n          - {key: gameops.dev/tetrisapp, operator: In, values: [arcade]}";
        let err = placement(anti).expect_err("anti-affinity to its own pods");
        assert!(
            err.starts_with(
                "spec.pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]"
            ),
            "{err}"
        );
        assert!(
            placement(&format!("{anti}\nstorage:\n  accessMode: ReadWriteMany")).is_ok(),
            "no same-node rule, no contradiction"
        );
        let other_app = anti.replace("values: [arcade]", "values: [noisy-neighbour]");
        assert!(placement(&other_app).is_ok(), "keeping away from other apps' pods is fine");
        let other_ns = format!("{anti}\n        namespaces: [elsewhere]");
        assert!(placement(&other_ns).is_ok(), "a term about another namespace's pods is fine");

        let spread = "version: 1.0.0\npod:\n  topologySpreadConstraints:\n  - maxSkew: 1\n    topologyKey: kubernetes.io/hostname\n    whenUnsatisfiable: DoNotSchedule\n    labelSelector:\n      matchLabels: {app.kubernetes.io/name: tetris}";
        let err = placement(spread).expect_err("spread of its own pods");
        assert!(err.starts_with("spec.pod.topologySpreadConstraints[0]"), "{err}");
        assert!(
            placement(&spread.replace("DoNotSchedule", "ScheduleAnyway")).is_ok(),
            "a soft spread only prefers"
        );
        let not_exists = spread.replace(
            "matchLabels: {app.kubernetes.io/name: tetris}",
            "matchExpressions: [{key: gameops.dev/tetrisapp, operator: DoesNotExist}]",
        );
        assert!(placement(&not_exists).is_ok(), "a selector that excludes the app's pods");
    }
}
