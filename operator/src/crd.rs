//! The `TetrisApp` API: spec and status types, from which the CRD schema (descriptions, defaults,
//! ranges, patterns and CEL rules) is generated.
//!
//! Validation lives in the schema so `kubectl apply` rejects bad input with a message naming the field.
//! Every CEL message starts with the field path it is about, because the API server prefixes it with
//! the path of the object the rule is attached to, which for cross-field rules is the parent.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Affinity, ResourceRequirements, Toleration, TopologySpreadConstraint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, CustomResourceExt, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tetris_config::limits;

pub use crate::hpa::AutoscalingSpec;
pub use crate::pdb::DisruptionSpec;
pub use crate::scoreboard::{Backend, PostgresSpec, ScoreboardSpec, UriSecretRef};

/// API group of the `TetrisApp` kind.
pub const GROUP: &str = "gameops.dev";
/// Default image repository of the game server.
pub const DEFAULT_IMAGE: &str = "ghcr.io/tetris-operator/game-server";

/// Desired state of one Tetris game: which game-server release runs, how many replicas, its game settings, and how it is exposed, stored and upgraded.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "gameops.dev",
    version = "v1alpha1",
    kind = "TetrisApp",
    plural = "tetrisapps",
    shortname = "tetris",
    shortname = "ta",
    category = "all",
    namespaced,
    status = "TetrisAppStatus",
    derive = "PartialEq",
    doc = "A Tetris game server with its configuration, Service, optional Ingress and scoreboard volume.",
    scale(
        spec_replicas_path = ".spec.replicas",
        status_replicas_path = ".status.replicas",
        label_selector_path = ".status.selector"
    ),
    printcolumn(name = "Version", type_ = "string", json_path = ".status.version", description = "Fully rolled-out game-server version"),
    printcolumn(name = "Replicas", type_ = "integer", json_path = ".spec.replicas", description = "Desired replicas"),
    printcolumn(name = "Ready", type_ = "integer", json_path = ".status.readyReplicas", description = "Ready replicas"),
    printcolumn(name = "Status", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].reason", description = "Reason of the Ready condition"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.rollout.phase", description = "Rollout phase: Healthy, Progressing, Paused or Degraded"),
    printcolumn(name = "Step", type_ = "integer", json_path = ".status.rollout.step", description = "Canary step under way"),
    printcolumn(name = "Weight", type_ = "integer", json_path = ".status.rollout.canaryWeight", description = "Percent of new matches on the canary version"),
    printcolumn(name = "URL", type_ = "string", json_path = ".status.url", description = "Where players open the game"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$') && size(self.metadata.name) <= 58")
        .message("metadata.name must be a DNS-1035 label of at most 58 characters (lowercase letters, digits and '-', starting with a letter), because it names the Service and the PersistentVolumeClaim")
        .reason(::kube::core::Reason::FieldValueInvalid),
)]
#[x_kube(
    validation = Rule::new("self.scoreboard.backend == 'postgres' || self.storage.accessMode != 'ReadWriteOncePod' || (self.upgrade.strategy == 'Recreate' && self.replicas <= 1)")
        .message("storage.accessMode ReadWriteOncePod requires upgrade.strategy Recreate and replicas at most 1, because only one pod can ever mount the volume")
        .field_path(".storage.accessMode")
        .reason(::kube::core::Reason::FieldValueInvalid)
)]
// Issue 12: scoreboard backend, autoscaling, disruption budget (types in scoreboard.rs, hpa.rs, pdb.rs).
#[x_kube(
    validation = Rule::new("!has(self.autoscaling) || (has(self.resources) && has(self.resources.requests) && 'cpu' in self.resources.requests)")
        .message("autoscaling requires resources.requests.cpu, because the CPU target is a percentage of the request")
        .field_path(".autoscaling")
        .reason(::kube::core::Reason::FieldValueRequired)
)]
#[x_kube(
    validation = Rule::new("!has(self.autoscaling) || self.scoreboard.backend == 'postgres' || self.storage.accessMode != 'ReadWriteOncePod'")
        .message("autoscaling with scoreboard.backend sqlite cannot use storage.accessMode ReadWriteOncePod, which lets only one pod mount the volume; use scoreboard.backend postgres")
        .field_path(".autoscaling")
        .reason(::kube::core::Reason::FieldValueForbidden)
)]
#[x_kube(
    validation = Rule::new("!has(self.disruption) || self.scoreboard.backend == 'postgres' || self.storage.accessMode == 'ReadWriteMany'")
        .message("disruption needs pods that can leave a node one at a time: with scoreboard.backend sqlite on a ReadWriteOnce volume every pod shares one node and a drain must take them together; use scoreboard.backend postgres or storage.accessMode ReadWriteMany")
        .field_path(".disruption")
        .reason(::kube::core::Reason::FieldValueForbidden)
)]
#[x_kube(
    validation = Rule::new("!has(self.disruption) || !has(self.disruption.minAvailable) || self.replicas == 0 || self.disruption.minAvailable < (has(self.autoscaling) ? self.autoscaling.minReplicas : self.replicas)")
        .message("disruption.minAvailable must be below replicas (autoscaling.minReplicas while autoscaling), or a node drain could never evict a game pod")
        .field_path(".disruption.minAvailable")
        .reason(::kube::core::Reason::FieldValueInvalid)
)]
// Issue 10: an A/B step needs a router that can match requests.
#[x_kube(
    validation = Rule::new("!has(self.upgrade.canary) || has(self.route) || !self.upgrade.canary.steps.exists(s, has(s.testers))")
        .message("upgrade.canary.steps[].testers requires spec.route: only an HTTPRoute can send requests with a header or cookie to the new version")
        .field_path(".upgrade.canary.steps")
        .reason(::kube::core::Reason::FieldValueForbidden)
)]
#[serde(rename_all = "camelCase")]
pub struct TetrisAppSpec {
    /// Game-server release to run, used as the image tag (e.g. `1.4.2` or `v1.4.2-rc.1`). Changing it starts an upgrade.
    #[schemars(regex(pattern = r"^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$"), length(max = 64))]
    pub version: String,

    /// Image repository of the game server. Without a digest the tag is `version`. With a digest (`repo@sha256:<64 hex>` or `repo:tag@sha256:<64 hex>`) the digest decides what runs: `repo@sha256:...` becomes `repo:<version>@sha256:...`, and a tag written with the digest is kept as it is.
    #[serde(default = "default_image")]
    #[schemars(
        regex(
            pattern = r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*((:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?@sha256:[a-f0-9]{64})?$"
        ),
        length(max = 400)
    )]
    pub image: String,

    /// When the kubelet pulls the image: IfNotPresent (default), Always or Never.
    #[serde(default)]
    pub image_pull_policy: PullPolicy,

    /// Secrets (in the TetrisApp's namespace) with credentials for a private registry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub image_pull_secrets: Vec<SecretRef>,

    /// Number of game-server pods. 0 stops the game but keeps the scoreboard volume.
    #[serde(default = "default_replicas")]
    #[schemars(range(min = 0, max = 100))]
    pub replicas: i32,

    /// Game settings, rendered into the ConfigMap the server reads its `TETRIS_*` environment from.
    #[serde(default)]
    pub game: GameSpec,

    /// Game-server process settings.
    #[serde(default)]
    pub server: ServerSpec,

    /// CPU and memory requests and limits of the game-server container. Every value must be a Kubernetes quantity (e.g. `250m`, `128Mi`), and a request may not exceed its limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::resources")]
    pub resources: Option<ResourceRequirements>,

    /// Pod placement and metadata.
    #[serde(default)]
    pub pod: PodSpec,

    /// The Service in front of the game-server pods.
    #[serde(default)]
    pub service: ServiceSpec,

    /// HTTP(S) exposure through an Ingress. Absent means no Ingress (an existing one is removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<IngressSpec>,

    /// HTTP(S) exposure through a Gateway API HTTPRoute attached to the team's Gateway. Absent means no HTTPRoute (an existing one is removed). Needs the Gateway API CRDs in the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<RouteSpec>,

    /// Who counts as one player behind a proxy, and how much one player may open at once.
    #[serde(default)]
    pub clients: ClientsSpec,

    /// Prometheus Operator scraping of the game's `/metrics` through a PodMonitor.
    #[serde(default)]
    pub monitoring: MonitoringSpec,

    /// A NetworkPolicy admitting only players on the game port and the monitoring namespace on the metrics port.
    #[serde(default)]
    pub network_policy: NetworkPolicySpec,

    /// The scoreboard volume (SQLite database at /data/scores.db).
    #[serde(default)]
    pub storage: StorageSpec,

    /// How version and configuration changes roll out.
    #[serde(default)]
    pub upgrade: UpgradeSpec,

    /// Where the scores are kept: SQLite on the `storage` volume (default) or a PostgreSQL server.
    #[serde(default)]
    pub scoreboard: ScoreboardSpec,

    /// Horizontal autoscaling on CPU through a HorizontalPodAutoscaler that writes `spec.replicas` (through the scale subresource). Absent means no HPA (an existing one is removed). While it is set, leave `spec.replicas` to the autoscaler (GitOps tools: ignore its differences).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<AutoscalingSpec>,

    /// How many game-server pods a node drain may take at once (a PodDisruptionBudget). Absent, pods that can move one at a time (PostgreSQL, or ReadWriteMany storage) get `maxUnavailable: 1`; pods pinned to one node by a ReadWriteOnce volume get no budget, because a drain must take them together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disruption: Option<DisruptionSpec>,
}

/// Game settings, rendered into the `TETRIS_*` environment of the game server.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(validation = Rule::new("self.solo || self.duo").message("game.solo and game.duo: at least one mode must be enabled").reason(::kube::core::Reason::FieldValueInvalid))]
#[x_kube(validation = Rule::new("self.startLevelMin <= self.startLevelMax").message("game.startLevelMin must not exceed game.startLevelMax").field_path(".startLevelMin").reason(::kube::core::Reason::FieldValueInvalid))]
#[serde(rename_all = "camelCase")]
pub struct GameSpec {
    /// Title shown on every page (1-64 characters, no control characters).
    #[serde(default = "default_title")]
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[^\x00-\x1F\x7F]+$"))]
    pub title: String,
    /// Game rules: `classic` (NES-style) or `modern` (guideline: 7-bag, SRS, hold, hard drop, ghost piece).
    #[serde(default)]
    pub ruleset: Ruleset,
    /// Whether single-player mode is offered.
    #[serde(default = "default_true")]
    pub solo: bool,
    /// Whether two-player versus mode (rooms by code and quick match) is offered.
    #[serde(default = "default_true")]
    pub duo: bool,
    /// Lowest start level a player may pick (0-29).
    #[serde(default)]
    #[schemars(range(min = 0, max = 29))]
    pub start_level_min: i32,
    /// Highest start level a player may pick (0-29).
    #[serde(default = "default_start_level_max")]
    #[schemars(range(min = 0, max = 29))]
    pub start_level_max: i32,
    /// Rows shown in each scoreboard table (1-100).
    #[serde(default = "default_scoreboard_size")]
    #[schemars(range(min = 1, max = 100))]
    pub scoreboard_size: i32,
    /// Most duo rooms open at once on one pod (1-100000).
    #[serde(default = "default_max_rooms")]
    #[schemars(range(min = 1, max = 100000))]
    pub max_rooms: i32,
    /// Most WebSocket connections open at once on one pod (1-100000).
    #[serde(default = "default_max_connections")]
    #[schemars(range(min = 1, max = 100000))]
    pub max_connections: i32,
    /// Version of the rules new games are played under (1 or 2); absent takes the game server's newest. Pin the old version while a rollout adds a new one, so players on old and new pods play the same rules; games are always verified under the version they were started with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 2))]
    pub rules_version: Option<i32>,
    /// Seconds a disconnected duo player may take to come back before the match ends (0-300).
    #[serde(default = "default_reconnect_grace")]
    #[schemars(range(min = 0, max = 300))]
    pub reconnect_grace_seconds: i32,
    /// Browser origins allowed to open game WebSockets besides the server's own host, e.g. `https://tetris.example.com`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 32),
        inner(regex(pattern = r"^https?://[A-Za-z0-9.:\[\]-]+$"), length(max = 269))
    )]
    pub allowed_origins: Vec<String>,
}

/// Per-client limits of the game server. A client is the address a connection comes from, or,
/// from a trusted proxy, the right-most address of `X-Forwarded-For` that is not a trusted proxy.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClientsSpec {
    /// Proxies (CIDRs such as `10.0.0.0/8`, the Gateway's or ingress controller's pods) whose `X-Forwarded-For` is believed. Empty: every connection is its own client, so players behind one proxy share the limits below; set this when the game sits behind a Gateway or an Ingress.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 32),
        inner(
            regex(pattern = r"^([0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}|[0-9A-Fa-f:]+/[0-9]{1,3})$"),
            length(max = 64)
        )
    )]
    pub trusted_proxies: Vec<String>,
    /// Most WebSocket connections one client may hold open (0: no limit; 0-100000).
    #[serde(default = "default_connections_per_client")]
    #[schemars(range(min = 0, max = 100000))]
    pub max_connections_per_client: i32,
    /// Most duo rooms one client may have open (0: no limit; 0-100000).
    #[serde(default = "default_rooms_per_client")]
    #[schemars(range(min = 0, max = 100000))]
    pub max_rooms_per_client: i32,
    /// Most score submits one client may make per minute (0: no limit; 0-100000).
    #[serde(default = "default_submits_per_client")]
    #[schemars(range(min = 0, max = 100000))]
    pub submits_per_minute_per_client: i32,
}

/// Game rules the browser client plays.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub enum Ruleset {
    #[default]
    Classic,
    Modern,
}

/// Game-server process settings.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(validation = Rule::new("self.metricsPort != self.port").message("server.metricsPort must differ from server.port").field_path(".metricsPort").reason(::kube::core::Reason::FieldValueInvalid))]
#[serde(rename_all = "camelCase")]
pub struct ServerSpec {
    /// Container port the game server listens on (1-65535).
    #[serde(default = "default_server_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    /// Threads that replay submitted games to verify their scores (1-64); absent takes half the pod's cores, at least 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 64))]
    pub replay_threads: Option<i32>,
    /// Container port serving only `/metrics` (1-65535, default 9090), kept apart from the game port so a NetworkPolicy can admit scrapers there and players on the game port.
    #[serde(default = "default_metrics_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub metrics_port: i32,
    /// Log level of the game server.
    #[serde(default)]
    pub log_level: LogLevel,
}

/// How much the game server logs.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub enum LogLevel {
    Error,
    Warn,
    #[default]
    Info,
    Debug,
    Trace,
}

/// Pod placement and metadata of the game-server pods.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    /// Extra annotations on the game-server pods (keys are qualified names such as `example.com/team`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "crate::schema::annotations")]
    pub annotations: BTreeMap<String, String>,
    /// Node labels a node must have to run the game-server pods (keys are qualified names, values label values).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "crate::schema::labels")]
    pub node_selector: BTreeMap<String, String>,
    /// Taints the game-server pods tolerate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::schema::tolerations")]
    pub tolerations: Vec<Toleration>,
    /// PriorityClass of the game-server pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"), length(max = 253))]
    pub priority_class_name: Option<String>,
    /// Node and pod affinity of the game-server pods. Merged with the operator's own rule for ReadWriteOnce storage (all pods of the app on one node): required pod affinity terms are added to it, and a required anti-affinity or a DoNotSchedule spread on the hostname that matches the app's own pods is refused (Degraded), because it contradicts that rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::affinity")]
    pub affinity: Option<Affinity>,
    /// How the game-server pods spread across zones or nodes (see the affinity note for ReadWriteOnce storage).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::schema::spread")]
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    /// ServiceAccount the game-server pods run as (in the TetrisApp's namespace); absent uses `default`. Its token is not mounted: the game never calls the Kubernetes API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"), length(max = 253))]
    pub service_account_name: Option<String>,
    /// Group that owns the scoreboard volume (1-2147483647, default 65532, the game server's own group), so the non-root server can write it.
    #[serde(default = "default_fs_group")]
    #[schemars(range(min = 1, max = 2147483647))]
    pub fs_group: i64,
    /// When the kubelet changes the volume's ownership to `fsGroup`: OnRootMismatch (default: only when the volume root differs, fast for big volumes) or Always.
    #[serde(default)]
    pub fs_group_change_policy: FsGroupChangePolicy,
}

/// When the kubelet changes a volume's ownership to the pod's fsGroup.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FsGroupChangePolicy {
    #[default]
    OnRootMismatch,
    Always,
}

/// When the kubelet pulls the game-server image.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PullPolicy {
    #[default]
    IfNotPresent,
    Always,
    Never,
}

/// A Secret in the TetrisApp's namespace, by name.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SecretRef {
    /// Name of the Secret.
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"), length(min = 1, max = 253))]
    pub name: String,
}

/// The Service in front of the game-server pods.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(validation = Rule::new("!has(self.nodePort) || self.type != 'ClusterIP'").message("service.nodePort requires service.type NodePort or LoadBalancer").field_path(".nodePort").reason(::kube::core::Reason::FieldValueForbidden))]
#[serde(rename_all = "camelCase")]
pub struct ServiceSpec {
    /// Service type: ClusterIP, NodePort or LoadBalancer.
    #[serde(default, rename = "type")]
    pub type_: ServiceType,
    /// Port the Service listens on (1-65535); it forwards to the game server's port.
    #[serde(default = "default_service_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    /// Fixed node port (30000-32767) for NodePort and LoadBalancer Services; absent lets Kubernetes choose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 30000, max = 32767))]
    pub node_port: Option<i32>,
    /// Extra annotations on the Service (e.g. for a cloud load balancer).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "crate::schema::annotations")]
    pub annotations: BTreeMap<String, String>,
}

/// Kubernetes Service type.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ServiceType {
    #[default]
    ClusterIP,
    NodePort,
    LoadBalancer,
}

/// HTTP(S) exposure of the game through an Ingress.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(validation = Rule::new("!has(self.tls) || has(self.host)").message("ingress.tls requires ingress.host, because the certificate is issued for a host name").field_path(".tls").reason(::kube::core::Reason::FieldValueRequired))]
#[serde(rename_all = "camelCase")]
pub struct IngressSpec {
    /// Host name players use (a DNS name, e.g. `tetris.example.com`); absent matches every host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"),
        length(max = 253)
    )]
    pub host: Option<String>,
    /// IngressClass to use; absent uses the cluster's default class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"), length(max = 253))]
    pub class_name: Option<String>,
    /// URL path prefix of the game (starts with `/`).
    #[serde(default = "default_ingress_path")]
    #[schemars(regex(pattern = r"^/[A-Za-z0-9/._~-]*$"), length(max = 256))]
    pub path: String,
    /// TLS termination at the Ingress; requires `host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<IngressTls>,
    /// Extra annotations on the Ingress (e.g. for cert-manager or the ingress controller).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "crate::schema::annotations")]
    pub annotations: BTreeMap<String, String>,
}

/// TLS settings of the Ingress.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IngressTls {
    /// Secret (in the TetrisApp's namespace) holding the certificate and key for `ingress.host`.
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"), length(min = 1, max = 253))]
    pub secret_name: String,
}

/// Exposure of the game through a Gateway API HTTPRoute (`gateway.networking.k8s.io/v1`).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RouteSpec {
    /// Gateways (or their listeners) the route attaches to.
    #[schemars(length(min = 1, max = 8))]
    pub parent_refs: Vec<RouteParentRef>,
    /// Host names the route answers (e.g. `tetris.example.com` or `*.games.example.com`); empty takes the listeners' host names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 16),
        inner(
            regex(pattern = r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"),
            length(min = 1, max = 253)
        )
    )]
    pub hostnames: Vec<String>,
    /// URL path prefix of the game (starts with `/`).
    #[serde(default = "default_ingress_path")]
    #[schemars(regex(pattern = r"^/[A-Za-z0-9/._~-]*$"), length(max = 1024))]
    #[x_kube(validation = Rule::new("!self.contains('//') && !self.contains('/./') && !self.contains('/../') && !self.endsWith('/.') && !self.endsWith('/..')").message("route.path must not contain '//', '/./' or '/../' or end in '/.' or '/..'").reason(::kube::core::Reason::FieldValueInvalid))]
    pub path: String,
    /// Longest a request through the Gateway may take, as a Gateway API duration (e.g. `30s`, `1h`). The default `0s` turns the timeout off, because a player's WebSocket stays open for the whole session.
    #[serde(default = "default_route_timeout")]
    #[schemars(regex(pattern = r"^([0-9]{1,5}(h|m|s|ms)){1,4}$"), length(max = 32))]
    pub request_timeout: String,
    /// Scheme players use to reach the Gateway listener, for `status.url`: https (default) or http.
    #[serde(default)]
    pub scheme: RouteScheme,
    /// Extra annotations on the HTTPRoute.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "crate::schema::annotations")]
    pub annotations: BTreeMap<String, String>,
}

/// A Gateway the HTTPRoute attaches to.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RouteParentRef {
    /// Name of the Gateway.
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"), length(min = 1, max = 253))]
    pub name: String,
    /// Namespace of the Gateway; absent means the TetrisApp's namespace. The Gateway's listener must allow routes from this namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"), length(min = 1, max = 63))]
    pub namespace: Option<String>,
    /// Name of the listener of the Gateway to attach to; absent attaches to every listener that allows the route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"), length(min = 1, max = 253))]
    pub section_name: Option<String>,
}

/// URL scheme of a Gateway listener.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum RouteScheme {
    #[default]
    Https,
    Http,
}

/// Prometheus Operator scraping of the game's metrics.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MonitoringSpec {
    /// Whether a PodMonitor (`monitoring.coreos.com/v1`) scrapes the game-server pods; needs the Prometheus Operator CRDs.
    #[serde(default)]
    pub enabled: bool,
    /// Scrape interval, as a Prometheus duration (e.g. `30s`, `1m`).
    #[serde(default = "default_scrape_interval")]
    #[schemars(
        regex(pattern = r"^(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$"),
        length(min = 2, max = 16)
    )]
    pub interval: String,
    /// Labels on the PodMonitor, so a Prometheus' `podMonitorSelector` picks it up (e.g. `release: prometheus`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "crate::schema::labels")]
    pub labels: BTreeMap<String, String>,
}

/// A NetworkPolicy in front of the game-server pods.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct NetworkPolicySpec {
    /// Whether the NetworkPolicy exists. While it does, the pods admit nothing but the two rules below (the cluster's network plugin must enforce NetworkPolicies).
    #[serde(default)]
    pub enabled: bool,
    /// Namespaces (by name) players' traffic may come from on the game port, typically the Gateway's or ingress controller's; empty admits players from everywhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 16),
        inner(regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"), length(min = 1, max = 63))
    )]
    pub player_namespaces: Vec<String>,
    /// Namespace (by name) whose pods may scrape the metrics port, typically Prometheus'; absent admits no one there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"), length(min = 1, max = 63))]
    pub metrics_namespace: Option<String>,
}

/// The scoreboard volume.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(validation = Rule::new("has(self.storageClassName) == has(oldSelf.storageClassName) && (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)").message("storage.storageClassName is immutable: a PersistentVolumeClaim cannot change its class").field_path(".storageClassName").reason(::kube::core::Reason::FieldValueForbidden))]
#[serde(rename_all = "camelCase")]
pub struct StorageSpec {
    /// Size of the volume as a Kubernetes quantity (e.g. `1Gi`). It can only grow (volume expansion), never shrink.
    #[serde(default = "default_storage_size")]
    #[schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$"), length(max = 32))]
    #[x_kube(validation = Rule::new("quantity(self).compareTo(quantity(oldSelf)) >= 0").message("storage.size can only grow: a PersistentVolumeClaim cannot shrink").reason(::kube::core::Reason::FieldValueForbidden))]
    pub size: String,
    /// StorageClass of the volume; absent uses the cluster's default class. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"), length(max = 253))]
    pub storage_class_name: Option<String>,
    /// Access mode of the volume. With ReadWriteOnce (the default) all pods of the app are scheduled on one node so a surging rolling update can mount it; ReadWriteOncePod requires Recreate and at most one replica. Immutable.
    #[serde(default)]
    #[x_kube(validation = Rule::new("self == oldSelf").message("storage.accessMode is immutable").reason(::kube::core::Reason::FieldValueForbidden))]
    pub access_mode: AccessMode,
    /// What happens to the volume when the TetrisApp is deleted: Retain (default) keeps the scores, Delete removes them.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

/// Access mode of the scoreboard volume.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AccessMode {
    #[default]
    ReadWriteOnce,
    ReadWriteOncePod,
    ReadWriteMany,
}

/// What happens to the scoreboard volume when its TetrisApp is deleted.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DeletionPolicy {
    #[default]
    Retain,
    Delete,
}

/// How version and configuration changes roll out.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(validation = Rule::new("self.strategy == 'Recreate' || self.maxSurge > 0 || self.maxUnavailable > 0").message("upgrade.maxSurge and upgrade.maxUnavailable must not both be 0 with RollingUpdate").field_path(".maxSurge").reason(::kube::core::Reason::FieldValueInvalid))]
#[x_kube(validation = Rule::new("self.strategy != 'Canary' || has(self.canary)").message("upgrade.canary is required with upgrade.strategy Canary: it lists the steps").field_path(".canary").reason(::kube::core::Reason::FieldValueRequired))]
#[serde(rename_all = "camelCase")]
pub struct UpgradeSpec {
    /// RollingUpdate (default: new pods start before old ones drain), Recreate (all old pods stop first) Canary (new pods take a share of new matches step by step, `canary.steps`) or BlueGreen (the new version comes up beside the old one at full size behind the preview Service `<name>-preview`; the main Service switches at promotion).
    #[serde(default)]
    pub strategy: UpgradeStrategy,
    /// Extra pods a rolling update may start above `replicas` (0-100).
    #[serde(default = "default_max_surge")]
    #[schemars(range(min = 0, max = 100))]
    pub max_surge: i32,
    /// Pods a rolling update may take down below `replicas` (0-100).
    #[serde(default)]
    #[schemars(range(min = 0, max = 100))]
    pub max_unavailable: i32,
    /// Seconds a draining pod may keep running live matches after it is told to stop (0-3600).
    #[serde(default = "default_drain_seconds")]
    #[schemars(range(min = 0, max = 3600))]
    pub drain_seconds: i32,
    /// Seconds a rollout may make no progress before the TetrisApp is marked Degraded (30-86400).
    #[serde(default = "default_progress_deadline")]
    #[schemars(range(min = 30, max = 86400))]
    pub progress_deadline_seconds: i32,
    /// Promotion and scale-down of the old pods, with strategy BlueGreen (defaults: manual promotion, 30 s delay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blue_green: Option<crate::rollout::api::BlueGreenSpec>,
    /// The canary steps, with strategy Canary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<crate::rollout::api::CanarySpec>,
    /// Promotion from Git: while it equals `spec.version`, every canary pause without a duration is passed (`kubectl tetris promote` sets the annotation `gameops.dev/promote` instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub promote: Option<String>,
    /// Abort from Git: while it equals `spec.version`, that version's canary takes no new matches and its pods drain and go; the stable version keeps every replica. Clear it (or change `spec.version`) to retry from the first step (`kubectl tetris abort` sets the annotation `gameops.dev/abort` instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub abort: Option<String>,
    /// Retry from Git after the analysis aborted a rollout: change it to any new value to start the canary again from its first step (`kubectl tetris retry` sets the annotation `gameops.dev/retry` instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub retry: Option<String>,
}

/// Deployment strategy of the game-server pods.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum UpgradeStrategy {
    #[default]
    RollingUpdate,
    Recreate,
    Canary,
    BlueGreen,
}

/// Observed state of a TetrisApp, computed from its Deployment on every reconcile.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct TetrisAppStatus {
    /// The metadata.generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready, Progressing and Degraded, each with its own observedGeneration, reason and message.
    #[serde(default)]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// Game-server version every ready replica runs (set once a rollout completes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Version being rolled out (spec.version as last seen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_version: Option<String>,
    /// Game-server pods that exist, of any version.
    #[serde(default)]
    pub replicas: i32,
    /// Game-server pods that are ready.
    #[serde(default)]
    pub ready_replicas: i32,
    /// Game-server pods that run the current spec.
    #[serde(default)]
    pub updated_replicas: i32,
    /// Where players open the game.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Label selector of the game-server pods (for the scale subresource).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// Where the upgrade stands: phase, canary step and weight, stable and canary versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<crate::rollout::api::RolloutStatus>,
}

fn default_image() -> String {
    DEFAULT_IMAGE.to_owned()
}
fn default_replicas() -> i32 {
    1
}
fn default_true() -> bool {
    true
}
fn default_title() -> String {
    "Tetris".to_owned()
}
fn default_start_level_max() -> i32 {
    9
}
fn default_scoreboard_size() -> i32 {
    10
}
fn default_max_rooms() -> i32 {
    1000
}
fn default_max_connections() -> i32 {
    10_000
}
fn default_reconnect_grace() -> i32 {
    10
}
fn default_server_port() -> i32 {
    8080
}
fn default_metrics_port() -> i32 {
    9090
}
fn default_service_port() -> i32 {
    80
}
fn default_ingress_path() -> String {
    "/".to_owned()
}
fn default_connections_per_client() -> i32 {
    8
}
fn default_rooms_per_client() -> i32 {
    2
}
fn default_submits_per_client() -> i32 {
    30
}
fn default_route_timeout() -> String {
    "0s".to_owned()
}
fn default_scrape_interval() -> String {
    "30s".to_owned()
}
fn default_fs_group() -> i64 {
    crate::deployment::RUN_AS_ID
}
fn default_storage_size() -> String {
    "1Gi".to_owned()
}
fn default_max_surge() -> i32 {
    1
}
fn default_drain_seconds() -> i32 {
    60
}
fn default_progress_deadline() -> i32 {
    600
}

impl Default for GameSpec {
    fn default() -> Self {
        GameSpec {
            title: default_title(),
            ruleset: Ruleset::default(),
            solo: true,
            duo: true,
            start_level_min: 0,
            start_level_max: default_start_level_max(),
            scoreboard_size: default_scoreboard_size(),
            max_rooms: default_max_rooms(),
            max_connections: default_max_connections(),
            rules_version: None,
            reconnect_grace_seconds: default_reconnect_grace(),
            allowed_origins: Vec::new(),
        }
    }
}

impl Default for ClientsSpec {
    fn default() -> Self {
        ClientsSpec {
            trusted_proxies: Vec::new(),
            max_connections_per_client: default_connections_per_client(),
            max_rooms_per_client: default_rooms_per_client(),
            submits_per_minute_per_client: default_submits_per_client(),
        }
    }
}

impl Default for MonitoringSpec {
    fn default() -> Self {
        MonitoringSpec { enabled: false, interval: default_scrape_interval(), labels: BTreeMap::new() }
    }
}

impl Default for PodSpec {
    fn default() -> Self {
        PodSpec {
            annotations: BTreeMap::new(),
            node_selector: BTreeMap::new(),
            tolerations: Vec::new(),
            priority_class_name: None,
            affinity: None,
            topology_spread_constraints: Vec::new(),
            service_account_name: None,
            fs_group: default_fs_group(),
            fs_group_change_policy: FsGroupChangePolicy::default(),
        }
    }
}

impl Default for ServerSpec {
    fn default() -> Self {
        ServerSpec {
            port: default_server_port(),
            replay_threads: None,
            metrics_port: default_metrics_port(),
            log_level: LogLevel::default(),
        }
    }
}

impl Default for ServiceSpec {
    fn default() -> Self {
        ServiceSpec {
            type_: ServiceType::default(),
            port: default_service_port(),
            node_port: None,
            annotations: BTreeMap::new(),
        }
    }
}

impl Default for StorageSpec {
    fn default() -> Self {
        StorageSpec {
            size: default_storage_size(),
            storage_class_name: None,
            access_mode: AccessMode::default(),
            deletion_policy: DeletionPolicy::default(),
        }
    }
}

impl Default for UpgradeSpec {
    fn default() -> Self {
        UpgradeSpec {
            strategy: UpgradeStrategy::default(),
            max_surge: default_max_surge(),
            max_unavailable: 0,
            drain_seconds: default_drain_seconds(),
            progress_deadline_seconds: default_progress_deadline(),
            blue_green: None,
            canary: None,
            promote: None,
            abort: None,
            retry: None,
        }
    }
}

// The limits are shared with the game server's config contract; keep the schema ranges in step.
const _: () = assert!(limits::MAX_START_LEVEL == 29);
const _: () = assert!(limits::MAX_SCOREBOARD_SIZE == 100);
const _: () = assert!(limits::MAX_DRAIN_SECONDS == 3600);
const _: () = assert!(limits::MAX_RECONNECT_GRACE_SECONDS == 300);
const _: () = assert!(limits::MAX_ROOMS == 100_000 && limits::MAX_CONNECTIONS == 100_000);
const _: () = assert!(limits::MAX_TITLE_CHARS == 64 && limits::MAX_ORIGINS == 32);

impl AccessMode {
    /// The value as Kubernetes spells it in a PersistentVolumeClaim.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessMode::ReadWriteOnce => "ReadWriteOnce",
            AccessMode::ReadWriteOncePod => "ReadWriteOncePod",
            AccessMode::ReadWriteMany => "ReadWriteMany",
        }
    }
}

impl PullPolicy {
    /// The value as Kubernetes spells it in a container.
    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::IfNotPresent => "IfNotPresent",
            PullPolicy::Always => "Always",
            PullPolicy::Never => "Never",
        }
    }
}

impl FsGroupChangePolicy {
    /// The value as Kubernetes spells it in a pod security context.
    pub fn as_str(self) -> &'static str {
        match self {
            FsGroupChangePolicy::OnRootMismatch => "OnRootMismatch",
            FsGroupChangePolicy::Always => "Always",
        }
    }
}

impl ServiceType {
    /// The value as Kubernetes spells it in a Service.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::ClusterIP => "ClusterIP",
            ServiceType::NodePort => "NodePort",
            ServiceType::LoadBalancer => "LoadBalancer",
        }
    }
}

/// The CRD as YAML, exactly as committed under `crds/`.
pub fn crd_yaml() -> Result<String, serde_yaml::Error> {
    let yaml = serde_yaml::to_string(&TetrisApp::crd())?;
    Ok(format!("# Generated by `tetris-operator crd`; do not edit.\n{yaml}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn spec_schema() -> Value {
        let crd = serde_json::to_value(TetrisApp::crd()).expect("CRD serializes");
        crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"].clone()
    }

    #[test]
    fn minimal_spec_deserializes_with_every_default() {
        let spec: TetrisAppSpec = serde_json::from_value(json!({"version": "1.0.0"})).expect("minimal spec");
        assert_eq!(spec.image, DEFAULT_IMAGE);
        assert_eq!(spec.replicas, 1);
        assert_eq!(spec.server.port, 8080);
        assert_eq!(spec.storage.deletion_policy, DeletionPolicy::Retain);
        assert_eq!(spec.upgrade, UpgradeSpec::default());
        assert_eq!(spec.game, GameSpec::default());
    }

    #[test]
    fn schema_defaults_match_rust_defaults() {
        let schema = spec_schema();
        let props = &schema["properties"];
        assert_eq!(props["replicas"]["default"], json!(1));
        assert_eq!(props["image"]["default"], json!(DEFAULT_IMAGE));
        assert_eq!(props["storage"]["default"]["deletionPolicy"], json!("Retain"));
        assert_eq!(props["storage"]["default"]["size"], json!("1Gi"));
        assert_eq!(props["upgrade"]["default"]["drainSeconds"], json!(60));
        assert_eq!(props["game"]["default"]["title"], json!("Tetris"));
        assert_eq!(props["server"]["default"]["port"], json!(8080));
    }

    #[test]
    fn every_schema_property_has_a_description() {
        fn walk(path: &str, schema: &Value, missing: &mut Vec<String>) {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (name, sub) in props {
                    let p = format!("{path}.{name}");
                    if sub.get("description").is_none() {
                        missing.push(p.clone());
                    }
                    walk(&p, sub, missing);
                }
            }
            if let Some(items) = schema.get("items") {
                walk(&format!("{path}[]"), items, missing);
            }
        }
        let mut missing = Vec::new();
        walk("spec", &spec_schema(), &mut missing);
        assert!(missing.is_empty(), "fields without description: {missing:?}");
    }

    #[test]
    fn cel_rules_are_in_the_schema() {
        let crd = serde_json::to_string(&TetrisApp::crd()).expect("CRD serializes");
        for needle in [
            "quantity(self).compareTo(quantity(oldSelf)) >= 0",
            "ReadWriteOncePod",
            "!has(self.tls) || has(self.host)",
            "self.solo || self.duo",
            "self.metadata.name.matches",
            "storageClassName == oldSelf.storageClassName",
        ] {
            assert!(crd.contains(needle), "CRD lacks rule {needle}");
        }
    }

    #[test]
    fn names_and_subresources_follow_the_design() {
        let crd = TetrisApp::crd();
        assert_eq!(crd.metadata.name.as_deref(), Some("tetrisapps.gameops.dev"));
        assert_eq!(crd.spec.names.short_names, Some(vec!["tetris".to_owned(), "ta".to_owned()]));
        let version = &crd.spec.versions[0];
        assert_eq!(version.name, "v1alpha1");
        let sub = version.subresources.as_ref().expect("subresources");
        assert!(sub.status.is_some());
        let scale = sub.scale.as_ref().expect("scale subresource");
        assert_eq!(scale.label_selector_path.as_deref(), Some(".status.selector"));
        let columns: Vec<_> =
            version.additional_printer_columns.iter().flatten().map(|c| c.name.to_uppercase()).collect();
        assert_eq!(
            columns,
            ["VERSION", "REPLICAS", "READY", "STATUS", "PHASE", "STEP", "WEIGHT", "URL", "AGE"]
        );
    }
}
