//! Where the scores live: `spec.scoreboard` (pure, no client).
//!
//! - `sqlite` (the default, as before): the database file on the `<name>-data` claim. With a
//!   ReadWriteOnce volume every pod of the app shares the node that mounts it
//!   ([`crate::deployment`]'s same-node rule).
//! - `postgres`: the server at the URI in a Secret of the app's namespace, by default under the key
//!   `uri`, which is the shape of CloudNativePG's `<cluster>-app` Secret, so such a cluster plugs in
//!   as it is. No claim, no same-node rule: the pods spread across nodes (a soft spread on the
//!   hostname unless the user wrote one) and a rolling update may surge onto any node.
//!
//! The URI reaches the pods only through `valueFrom.secretKeyRef`: the kubelet resolves it, so the
//! operator never reads a Secret (its RBAC has no access to Secrets at all). A missing Secret or key
//! leaves the new pods in `CreateContainerConfigError`, which the operator cannot see without read
//! access to pods either; the rollout then stops at its deadline, and the `Degraded` message names
//! `spec.scoreboard.postgres.secretRef` as the first thing to check ([`deadline_hint`]).
//!
//! Switching an app from `sqlite` to `postgres` never deletes the claim: the scores in it are what
//! the game server's import reads. The operator stops applying (and mounting) it, and the
//! `SQLiteVolumeRetained` condition says it is still there until the user deletes it.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{
    EnvVar, EnvVarSource, ObjectFieldSelector, PersistentVolumeClaim, SecretKeySelector,
    TopologySpreadConstraint,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tetris_config::server_vars;

use crate::crd::{AccessMode, TetrisAppSpec};
use crate::meta::Parent;
use crate::route::RouteCondition;

/// Condition type saying a SQLite claim outlived the switch to PostgreSQL.
pub const VOLUME_RETAINED: &str = "SQLiteVolumeRetained";
/// Event reason recorded when that condition appears.
pub const VOLUME_RETAINED_EVENT: &str = "SQLiteVolumeRetained";
/// Smallest and largest connection pool a server may be given (the schema's range).
pub const POOL_SIZE_RANGE: (i32, i32) = (1, 100);
/// Topology key of the default spread.
const HOSTNAME_KEY: &str = "kubernetes.io/hostname";
/// Name of the volume that mounts the SQLite claim in the pod template.
const DATA_VOLUME: &str = "data";

/// Where the scoreboard is kept.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[x_kube(validation = Rule::new("self.backend != 'postgres' || has(self.postgres)").message("scoreboard.postgres is required with scoreboard.backend postgres: name the Secret holding the connection URI").field_path(".postgres").reason(::kube::core::Reason::FieldValueRequired))]
#[serde(rename_all = "camelCase")]
pub struct ScoreboardSpec {
    /// `sqlite` (default): a database file on the `<name>-data` volume, so with ReadWriteOnce storage every pod of the app runs on one node. `postgres`: the PostgreSQL server named by `postgres.secretRef`; no volume, and the pods spread across nodes.
    #[serde(default)]
    pub backend: Backend,
    /// The PostgreSQL server, read only with `backend: postgres` (and required then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<PostgresSpec>,
}

/// Scoreboard backend of the game server.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    #[default]
    Sqlite,
    Postgres,
}

/// A PostgreSQL server for the scoreboard.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PostgresSpec {
    /// Secret (in the TetrisApp's namespace) holding the connection URI, e.g. CloudNativePG's `<cluster>-app`. The kubelet reads it when it starts a pod; the operator never does.
    pub secret_ref: UriSecretRef,
    /// Size of each game-server pod's connection pool (1-100, default 10). A pod holds at most this plus one connection (the live scoreboard's listener), so `autoscaling.maxReplicas` (or `replicas`) times (`poolSize` + 1) must stay below PostgreSQL's `max_connections`.
    #[serde(default = "default_pool_size")]
    #[schemars(range(min = 1, max = 100))]
    pub pool_size: i32,
}

/// A key of a Secret holding a PostgreSQL URI (`postgresql://user:password@host:port/db`).
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UriSecretRef {
    /// Name of the Secret.
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"), length(min = 1, max = 253))]
    pub name: String,
    /// Key of the URI in the Secret (default `uri`, as CloudNativePG writes it).
    #[serde(default = "default_uri_key")]
    #[schemars(regex(pattern = r"^[-._a-zA-Z0-9]+$"), length(min = 1, max = 253))]
    pub key: String,
}

fn default_pool_size() -> i32 {
    10
}
fn default_uri_key() -> String {
    "uri".to_owned()
}

/// The PostgreSQL settings when the app uses PostgreSQL.
pub fn postgres(spec: &TetrisAppSpec) -> Option<&PostgresSpec> {
    match spec.scoreboard.backend {
        Backend::Postgres => spec.scoreboard.postgres.as_ref(),
        Backend::Sqlite => None,
    }
}

/// Whether the app keeps its scores in PostgreSQL.
pub fn uses_postgres(spec: &TetrisAppSpec) -> bool {
    spec.scoreboard.backend == Backend::Postgres
}

/// Whether the app needs the SQLite claim.
pub fn uses_volume(spec: &TetrisAppSpec) -> bool {
    !uses_postgres(spec)
}

/// Whether each pod of the app can run on any node independently of the others: no volume that
/// ties them to one node. Such pods can leave a draining node one at a time, so a disruption
/// budget helps them; pods pinned to one node have to leave it together.
pub fn pods_move_independently(spec: &TetrisAppSpec) -> bool {
    uses_postgres(spec) || spec.storage.access_mode == AccessMode::ReadWriteMany
}

/// The scoreboard's part of the ConfigMap. Nothing in SQLite mode, so the ConfigMap (and the pod
/// template's config hash) of an app that does not use this stays byte-identical.
pub fn config_data(spec: &TetrisAppSpec, data: &mut BTreeMap<String, String>) {
    if let Some(pg) = postgres(spec) {
        data.insert(server_vars::SCOREBOARD_BACKEND.to_owned(), "postgres".to_owned());
        data.insert(server_vars::DATABASE_POOL_SIZE.to_owned(), pg.pool_size.to_string());
    }
}

/// Shapes the built Deployment for PostgreSQL: the URI from the Secret, the pod's own IP (where
/// the other replicas reach the duo rooms it hosts; the server uses it only with PostgreSQL), no
/// data volume, and a soft spread across nodes unless the user spread the pods over the hostname
/// already. A SQLite app's Deployment is left exactly as it was, so upgrading the operator rolls
/// no pods of such apps.
pub fn shape_deployment(deployment: &mut Deployment, parent: &Parent, spec: &TetrisAppSpec) {
    let Some(pg) = postgres(spec) else { return };
    let Some(pod) = deployment.spec.as_mut().and_then(|s| s.template.spec.as_mut()) else { return };
    for c in &mut pod.containers {
        let env = c.env.get_or_insert_with(Vec::new);
        env.push(EnvVar {
            name: server_vars::POD_IP.to_owned(),
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    field_path: "status.podIP".to_owned(),
                    api_version: None,
                }),
                ..EnvVarSource::default()
            }),
            ..EnvVar::default()
        });
        env.push(EnvVar {
            name: server_vars::DATABASE_URL.to_owned(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: pg.secret_ref.name.clone(),
                    key: pg.secret_ref.key.clone(),
                    optional: Some(false),
                }),
                ..EnvVarSource::default()
            }),
            ..EnvVar::default()
        });
        if let Some(mounts) = c.volume_mounts.as_mut() {
            mounts.retain(|m| m.name != DATA_VOLUME);
        }
    }
    if let Some(volumes) = pod.volumes.as_mut() {
        volumes.retain(|v| v.name != DATA_VOLUME);
    }
    let spreads = pod.topology_spread_constraints.get_or_insert_with(Vec::new);
    if !spreads.iter().any(|c| c.topology_key == HOSTNAME_KEY) {
        // ScheduleAnyway: a preference, so a cluster with fewer nodes than replicas (or a node
        // that is full) still runs every pod.
        spreads.push(TopologySpreadConstraint {
            max_skew: 1,
            topology_key: HOSTNAME_KEY.to_owned(),
            when_unsatisfiable: "ScheduleAnyway".to_owned(),
            label_selector: Some(LabelSelector {
                match_labels: Some(parent.selector_labels()),
                ..LabelSelector::default()
            }),
            ..TopologySpreadConstraint::default()
        });
    }
}

/// The `SQLiteVolumeRetained` condition when the app uses PostgreSQL and its SQLite claim (as the
/// watch cache has it) is still there; it goes once the user deletes the claim.
pub fn retained_volume(
    parent: &Parent,
    spec: &TetrisAppSpec,
    claim: Option<&PersistentVolumeClaim>,
) -> Option<(&'static str, RouteCondition)> {
    if !uses_postgres(spec) {
        return None;
    }
    claim.filter(|c| c.metadata.deletion_timestamp.is_none())?;
    Some((
        VOLUME_RETAINED,
        RouteCondition {
            status: "True",
            reason: "KeptForImport".to_owned(),
            message: format!(
                "spec.scoreboard.backend is postgres; PersistentVolumeClaim {} with the SQLite scoreboard is kept, no longer mounted, so its scores can be imported into PostgreSQL; delete it once they are",
                parent.pvc_name()
            ),
        },
    ))
}

/// What to add to a rollout-deadline message in PostgreSQL mode: the first thing to check when
/// the new pods never start is the Secret they read the URI from.
pub fn deadline_hint(spec: &TetrisAppSpec) -> Option<String> {
    let pg = postgres(spec)?;
    Some(format!(
        "; pods that never start may be waiting in CreateContainerConfigError for spec.scoreboard.postgres.secretRef (Secret {}, key {}): check that both exist",
        pg.secret_ref.name, pg.secret_ref.key
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::fixtures::app;

    const PG: &str = "version: 1.0.0\nscoreboard:\n  backend: postgres\n  postgres:\n    secretRef:\n      name: scores-app";

    fn shaped(spec: &str) -> Deployment {
        let app = app(spec);
        let parent = Parent::of(&app).expect("fixture has metadata");
        let mut dep = crate::deployment::build(&parent, &app.spec, "cafe");
        shape_deployment(&mut dep, &parent, &app.spec);
        dep
    }

    fn pod(dep: &Deployment) -> &k8s_openapi::api::core::v1::PodSpec {
        dep.spec.as_ref().and_then(|s| s.template.spec.as_ref()).expect("pod spec")
    }

    fn env<'a>(dep: &'a Deployment, name: &str) -> Option<&'a EnvVar> {
        pod(dep).containers[0].env.iter().flatten().find(|e| e.name == name)
    }

    #[test]
    fn the_secret_key_defaults_to_cloudnativepgs_uri_and_the_pool_to_ten() {
        let spec = app(PG).spec;
        let pg = postgres(&spec).expect("postgres mode");
        assert_eq!((pg.secret_ref.key.as_str(), pg.pool_size), ("uri", 10));
    }

    #[test]
    fn postgres_mode_reads_the_uri_from_the_secret_and_drops_the_volume() {
        let dep = shaped(PG);
        let url = env(&dep, server_vars::DATABASE_URL).expect("database URL");
        assert_eq!(url.value, None, "never a literal value");
        let key = url.value_from.as_ref().and_then(|v| v.secret_key_ref.as_ref()).expect("secretKeyRef");
        assert_eq!((key.name.as_str(), key.key.as_str()), ("scores-app", "uri"));
        let ip = env(&dep, server_vars::POD_IP).and_then(|e| e.value_from.as_ref()).expect("pod IP");
        assert_eq!(ip.field_ref.as_ref().map(|f| f.field_path.as_str()), Some("status.podIP"));
        let p = pod(&dep);
        assert!(p.volumes.iter().flatten().all(|v| v.name != DATA_VOLUME), "no data volume");
        assert!(p.containers[0].volume_mounts.iter().flatten().all(|m| m.name != DATA_VOLUME));
        assert!(p.volumes.iter().flatten().any(|v| v.name == "tmp"), "the scratch volume stays");
        let pinned = p
            .affinity
            .as_ref()
            .and_then(|a| a.pod_affinity.as_ref())
            .and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref());
        assert!(pinned.is_none(), "no same-node rule");
        let spread = p.topology_spread_constraints.as_deref().expect("default spread");
        assert_eq!(spread.len(), 1);
        assert_eq!(
            (spread[0].topology_key.as_str(), spread[0].when_unsatisfiable.as_str()),
            (HOSTNAME_KEY, "ScheduleAnyway")
        );
    }

    #[test]
    fn a_users_hostname_spread_replaces_the_default_and_others_are_kept_beside_it() {
        let own = shaped(&format!(
            "{PG}\npod:\n  topologySpreadConstraints:\n  - maxSkew: 2\n    topologyKey: kubernetes.io/hostname\n    whenUnsatisfiable: DoNotSchedule\n    labelSelector: {{matchLabels: {{gameops.dev/tetrisapp: arcade}}}}"
        ));
        let spread = pod(&own).topology_spread_constraints.clone().expect("spread");
        assert_eq!(spread.len(), 1);
        assert_eq!(spread[0].max_skew, 2);
        let zone = shaped(&format!(
            "{PG}\npod:\n  topologySpreadConstraints:\n  - maxSkew: 1\n    topologyKey: topology.kubernetes.io/zone\n    whenUnsatisfiable: ScheduleAnyway"
        ));
        assert_eq!(pod(&zone).topology_spread_constraints.as_ref().map(Vec::len), Some(2));
    }

    #[test]
    fn sqlite_mode_leaves_the_deployment_as_it_was() {
        let app = app("version: 1.0.0");
        let parent = Parent::of(&app).expect("fixture has metadata");
        let dep = shaped("version: 1.0.0");
        assert_eq!(dep, crate::deployment::build(&parent, &app.spec, "cafe"), "no pod of a SQLite app rolls");
        assert!(env(&dep, server_vars::DATABASE_URL).is_none());
        assert!(env(&dep, server_vars::POD_IP).is_none());
        let p = pod(&dep);
        assert!(p.volumes.iter().flatten().any(|v| v.name == DATA_VOLUME));
        assert!(p.topology_spread_constraints.is_none());
        assert!(p.affinity.as_ref().and_then(|a| a.pod_affinity.as_ref()).is_some());
    }

    #[test]
    fn a_postgres_block_under_sqlite_changes_nothing() {
        let spec = app(&PG.replace("backend: postgres", "backend: sqlite")).spec;
        assert!(postgres(&spec).is_none());
        let mut data = BTreeMap::new();
        config_data(&spec, &mut data);
        assert!(data.is_empty(), "an app without PostgreSQL keeps its ConfigMap (and pods) as they were");
    }

    #[test]
    fn the_configmap_names_the_backend_and_pool_never_the_uri() {
        let spec = app(&format!("{PG}\n    poolSize: 4")).spec;
        let mut data = BTreeMap::new();
        config_data(&spec, &mut data);
        assert_eq!(data[server_vars::SCOREBOARD_BACKEND], "postgres");
        assert_eq!(data[server_vars::DATABASE_POOL_SIZE], "4");
        assert!(!data.contains_key(server_vars::DATABASE_URL));
    }

    #[test]
    fn a_kept_claim_is_reported_only_in_postgres_mode_and_until_it_goes() {
        let pg = app(PG);
        let parent = Parent::of(&pg).expect("fixture has metadata");
        let claim = PersistentVolumeClaim::default();
        let (type_, c) = retained_volume(&parent, &pg.spec, Some(&claim)).expect("reported");
        assert_eq!((type_, c.status), (VOLUME_RETAINED, "True"));
        assert!(c.message.contains("arcade-data") && c.message.contains("spec.scoreboard.backend"));
        assert!(retained_volume(&parent, &pg.spec, None).is_none(), "deleted: no condition");
        let sqlite = app("version: 1.0.0");
        assert!(retained_volume(&parent, &sqlite.spec, Some(&claim)).is_none(), "in use, not retained");
    }

    #[test]
    fn a_rollout_stuck_in_postgres_mode_is_degraded_naming_the_secret_ref() {
        use k8s_openapi::api::apps::v1::{DeploymentCondition, DeploymentStatus};
        let app = app(&format!("{PG}\nreplicas: 2"));
        let parent = Parent::of(&app).expect("fixture has metadata");
        // Pods waiting in CreateContainerConfigError never turn available; the Deployment
        // controller gives up at the deadline.
        let mut dep = crate::deployment::build(&parent, &app.spec, "h");
        dep.metadata.generation = Some(1);
        dep.status = Some(DeploymentStatus {
            observed_generation: Some(1),
            replicas: Some(2),
            updated_replicas: Some(2),
            conditions: Some(vec![DeploymentCondition {
                type_: "Progressing".into(),
                status: "False".into(),
                reason: Some("ProgressDeadlineExceeded".into()),
                ..DeploymentCondition::default()
            }]),
            ..DeploymentStatus::default()
        });
        let now =
            k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH);
        let s = crate::status::compute(&app, &parent, Some(&dep), None, &[], None, &now);
        let degraded = crate::status::find(&s, crate::status::DEGRADED).expect("Degraded");
        assert_eq!(
            (degraded.status.as_str(), degraded.reason.as_str()),
            ("True", "ProgressDeadlineExceeded")
        );
        assert!(
            degraded.message.contains("spec.scoreboard.postgres.secretRef (Secret scores-app, key uri)"),
            "{}",
            degraded.message
        );
    }

    #[test]
    fn placement_keeping_the_apps_pods_apart_is_fine_without_a_volume() {
        let anti = "\npod:\n  affinity:\n    podAntiAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n      - topologyKey: kubernetes.io/hostname\n        labelSelector:\n          matchLabels: {gameops.dev/tetrisapp: arcade}";
        let check = |spec: &str| {
            let app = app(spec);
            crate::deployment::check_placement(&Parent::of(&app).expect("metadata"), &app.spec)
        };
        assert!(check(&format!("version: 1.0.0{anti}")).is_err(), "refused with ReadWriteOnce SQLite");
        assert!(check(&format!("{PG}{anti}")).is_ok(), "no same-node rule with PostgreSQL");
    }

    #[test]
    fn the_deadline_hint_names_the_secret_field() {
        let hint = deadline_hint(&app(PG).spec).expect("postgres mode");
        assert!(hint.contains("spec.scoreboard.postgres.secretRef") && hint.contains("scores-app"));
        assert!(deadline_hint(&app("version: 1.0.0").spec).is_none());
    }
}
