//! The progressive-delivery part of the `TetrisApp` API (`spec.upgrade.canary`, the promote and
//! abort controls, `status.rollout`), kept beside the code that acts on it; [`crate::crd`] embeds
//! these types, and the CRD schema is generated from them like the rest.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Annotation `kubectl tetris promote` sets: the version it promotes (every pause without a
/// duration is passed while it equals `spec.version`).
pub const PROMOTE_ANNOTATION: &str = "gameops.dev/promote";
/// Annotation `kubectl tetris retry` sets to a new token: lifts an abort made by the analysis.
pub const RETRY_ANNOTATION: &str = "gameops.dev/retry";
/// Annotation `kubectl tetris abort` sets: the version whose rollout is aborted while it equals
/// `spec.version`. `kubectl tetris retry` removes it.
pub const ABORT_ANNOTATION: &str = "gameops.dev/abort";

/// How a `strategy: BlueGreen` upgrade is promoted and finished.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BlueGreenSpec {
    /// Seconds after every new pod is Ready before the main Service switches to them on its own (0-86400); absent waits until promoted (`kubectl tetris promote`, or `spec.upgrade.promote` set to `spec.version`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 86400))]
    pub auto_promotion_seconds: Option<i32>,
    /// Seconds the new version's extra pods stay after the switch, while endpoint updates propagate (0-3600).
    #[serde(default = "default_scale_down_delay")]
    #[schemars(range(min = 0, max = 3600))]
    pub scale_down_delay_seconds: i32,
    /// Checks of the new pods while they wait behind the preview Service (the same fields as `upgrade.canary.analysis`): automatic promotion also waits for a passing measurement and for none failing over `autoPromotionSeconds`; more failures than `failureLimit` abort (the preview Service goes, the new pods drain); an inconclusive one pauses until promoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<AnalysisSpec>,
}

fn default_scale_down_delay() -> i32 {
    30
}

impl Default for BlueGreenSpec {
    fn default() -> Self {
        BlueGreenSpec {
            auto_promotion_seconds: None,
            scale_down_delay_seconds: default_scale_down_delay(),
            analysis: None,
        }
    }
}

/// The canary steps of `strategy: Canary`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(validation = kube::core::Rule::new("has(self.analysis) || !self.steps.exists(s, has(s.analysis))").message("upgrade.canary.steps[].analysis requires upgrade.canary.analysis, which holds the checks and their thresholds").field_path(".analysis").reason(::kube::core::Reason::FieldValueRequired))]
#[serde(rename_all = "camelCase")]
pub struct CanarySpec {
    /// What happens, in order, after `spec.version` changes: `setWeight` (percent of new matches for the new version), `pause` (for `seconds`, or until promoted), `testers` (requests with a header or cookie go to the new version, with `spec.route` only) and `analysis` (holds until `count` measurements of `analysis` have passed). Without `spec.route` a weight is given by replica counts: canary pods = ceil(weight x replicas / 100), stable pods = replicas - canary pods. With `spec.route` it is given exactly by the HTTPRoute's backendRef weights (`<name>` 100 - weight, `<name>-canary` weight); the stable Deployment keeps every replica and the canary gets ceil(weight x replicas / 100) pods (at least one during a `testers` or `analysis` step). After the last step the stable Deployment rolls to the new version and the canary pods drain and go.
    #[schemars(length(min = 1, max = 20))]
    pub steps: Vec<CanaryStep>,
    /// Checks of the canary pods' own signals while they run; a failure aborts the rollout without a human.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<AnalysisSpec>,
}

/// Built-in checks of the canary pods, measured every `intervalSeconds` while canary pods run.
/// A measurement fails when any threshold is exceeded; more than `failureLimit` failed
/// measurements abort the rollout (`Degraded`, reason `RolloutAborted`, the failed check in the
/// message). A pod whose metrics cannot be read adds nothing to a measurement.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisSpec {
    /// Seconds between measurements (2-3600).
    #[serde(default = "default_interval")]
    #[schemars(range(min = 2, max = 3600))]
    pub interval_seconds: i32,
    /// Failed measurements tolerated; one more aborts (0-100).
    #[serde(default)]
    #[schemars(range(min = 0, max = 100))]
    pub failure_limit: i32,
    /// Canary pods that may have turned unready after being ready (0-1000).
    #[serde(default)]
    #[schemars(range(min = 0, max = 1000))]
    pub max_unready_pods: i32,
    /// Container restarts tolerated over all canary pods (0-1000).
    #[serde(default)]
    #[schemars(range(min = 0, max = 1000))]
    pub max_restarts: i32,
    /// Highest rate of `tetris_errors_total` over all canary pods, in errors per minute (0-1000000).
    #[serde(default = "default_max_errors")]
    #[schemars(range(min = 0, max = 1_000_000))]
    pub max_errors_per_minute: i32,
    /// Matches the canary pods cut short between two measurements (`tetris_matches_aborted_total`: drain deadline or a lost peer, not game over or a player leaving), over all canary pods (0-1000); absent does not check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1000))]
    pub max_aborted_matches: Option<i32>,
    /// A team's own metric, read over HTTP at every measurement: a failed condition fails the measurement; an answer that cannot be read, or lacks the field, is inconclusive and pauses the rollout (phase Paused) until promoted or aborted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpCheck>,
}

/// An HTTP check: GET `url`, take the number at `jsonPath` of the JSON answer, test `condition`.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HttpCheck {
    /// URL the operator GETs (`http://` or `https://`, 2-second timeout, at most 256 KiB), reachable from the operator's pod; it must answer 2xx with JSON (e.g. a Prometheus query: `http://prometheus.monitoring:9090/api/v1/query?query=...`).
    #[schemars(regex(pattern = r"^https?://[^\s]+$"), length(max = 2048))]
    pub url: String,
    /// Where the number is in the answer: field names and list indexes joined by dots (e.g. `errorRate`, or `data.result.0.value.1` for a Prometheus instant query); a string holding a number counts.
    #[schemars(regex(pattern = r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$"), length(max = 256))]
    pub json_path: String,
    /// What the number must satisfy: an operator (`<`, `<=`, `>`, `>=`, `==`, `!=`) and a number, e.g. `< 0.05`.
    #[schemars(regex(pattern = r"^(<|<=|>|>=|==|!=) *-?[0-9]+(\.[0-9]+)?$"), length(max = 64))]
    pub condition: String,
}

fn default_interval() -> i32 {
    10
}
fn default_max_errors() -> i32 {
    60
}

/// One canary step: exactly one of `setWeight`, `pause`, `testers` and `analysis`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(validation = kube::core::Rule::new("(has(self.setWeight) ? 1 : 0) + (has(self.pause) ? 1 : 0) + (has(self.testers) ? 1 : 0) + (has(self.analysis) ? 1 : 0) == 1").message("upgrade.canary.steps[]: each step has exactly one of setWeight, pause, testers and analysis").reason(::kube::core::Reason::FieldValueInvalid))]
#[serde(rename_all = "camelCase")]
pub struct CanaryStep {
    /// Percent (0-100) of new matches the new version takes from this step on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub set_weight: Option<i32>,
    /// Waits `seconds`, or without `seconds` until promoted (`kubectl tetris promote`, or `spec.upgrade.promote` set to `spec.version`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<PauseStep>,
    /// A/B: requests carrying a header or cookie go to the new version (an extra HTTPRoute rule, so `spec.route` is required), the others by the weight so far; holds like a pause (for `seconds`, or until promoted), and the rule goes when the step has passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub testers: Option<TestersStep>,
    /// Runs the checks of `upgrade.canary.analysis` until `count` measurements in a row have passed, then moves on; a failure counts against `failureLimit` (and aborts past it) as at any other time; an inconclusive one pauses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<AnalysisStep>,
}

/// An analysis step of a canary.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisStep {
    /// Passing measurements needed, one every `analysis.intervalSeconds` (1-100).
    #[serde(default = "default_count")]
    #[schemars(range(min = 1, max = 100))]
    pub count: i32,
}

fn default_count() -> i32 {
    3
}

/// An A/B step: who counts as a tester, and how long the step holds.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(validation = kube::core::Rule::new("has(self.header) != has(self.cookie)").message("upgrade.canary.steps[].testers: set exactly one of header and cookie").reason(::kube::core::Reason::FieldValueInvalid))]
#[serde(rename_all = "camelCase")]
pub struct TestersStep {
    /// Testers send this request header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<HeaderMatch>,
    /// Testers carry this cookie (matched as a regular expression on the `Cookie` header, so the Gateway must support `RegularExpression` header matches).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<CookieMatch>,
    /// How long the step holds (1-86400); absent holds until promoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 86400))]
    pub seconds: Option<i32>,
}

/// A request header testers send: its exact `value`, or a `regex` its value matches.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(validation = kube::core::Rule::new("has(self.value) != has(self.regex)").message("upgrade.canary.steps[].testers.header: set exactly one of value and regex").reason(::kube::core::Reason::FieldValueInvalid))]
#[serde(rename_all = "camelCase")]
pub struct HeaderMatch {
    /// Header name (an HTTP token, e.g. `X-Tetris-Canary`; compared case-insensitively by Gateways).
    #[schemars(regex(pattern = r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$"), length(min = 1, max = 256))]
    pub name: String,
    /// The exact value (Gateway API match type `Exact`, core support).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 4096))]
    pub value: Option<String>,
    /// A regular expression the value matches (match type `RegularExpression`; its dialect is the Gateway's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024))]
    pub regex: Option<String>,
}

/// A cookie testers carry, with its exact value.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CookieMatch {
    /// Cookie name.
    #[schemars(regex(pattern = r"^[A-Za-z0-9._~-]+$"), length(min = 1, max = 128))]
    pub name: String,
    /// Cookie value.
    #[schemars(regex(pattern = r"^[A-Za-z0-9._~-]+$"), length(min = 1, max = 256))]
    pub value: String,
}

/// A pause of the canary.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct PauseStep {
    /// How long to wait (1-86400); absent waits until promoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 86400))]
    pub seconds: Option<i32>,
}

/// Where an upgrade stands (`status.rollout`), for every strategy.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct RolloutStatus {
    /// The metadata.generation these fields describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Healthy, Progressing, Paused or Degraded.
    #[serde(default)]
    pub phase: RolloutPhase,
    /// Index of the canary step under way (equal to the number of steps while promoting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<i32>,
    /// Percent of new matches the new version takes now: its share of the pods behind the Service, or with `spec.route` the canary backendRef's weight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_weight: Option<i32>,
    /// The version the stable pods run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_version: Option<String>,
    /// The version the canary pods run, while a canary is under way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_version: Option<String>,
    /// True once the rollout of `canaryVersion` was aborted (until the abort is lifted).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub aborted: bool,
    /// Failed analysis measurements of this canary so far.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub analysis_failures: i32,
    /// Passing measurements so far in the analysis step under way.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub analysis_passes: i32,
    /// The check whose last measurement was inconclusive, while it pauses the rollout (until promoted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inconclusive: Option<String>,
    /// When the analysis last measured (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysed_at: Option<String>,
    /// The retry token (`gameops.dev/retry` or `spec.upgrade.retry`) last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<String>,
    /// When the current step started (RFC 3339), for timed pauses; written once per step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_started_at: Option<String>,
    /// What is happening, for humans.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// The phase of an upgrade.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RolloutPhase {
    /// The wanted version runs everywhere.
    #[default]
    Healthy,
    /// Pods are moving.
    Progressing,
    /// A canary pause holds the rollout (for its duration, or until promoted).
    Paused,
    /// Aborted, stuck or refused: a human should look.
    Degraded,
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}
