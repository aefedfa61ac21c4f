//! Computes a TetrisApp's status from the current state of its Deployment (pure, no client); the
//! Events a status change is worth are in [`crate::notices`].
//!
//! The status never depends on why a reconcile ran, only on what is there now: the Deployment's
//! generation, replica counts and conditions, and whether the spec could be applied at all. A
//! condition keeps its `lastTransitionTime` while its status stays the same, so a reconcile that
//! finds nothing new computes a status equal to the stored one and writes nothing.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::crd::{TetrisApp, TetrisAppStatus};
use crate::deployment;
use crate::meta::Parent;
use crate::route::RouteCondition;

/// Condition type: the app runs the desired version on all desired replicas.
pub const READY: &str = "Ready";
/// Condition type: a rollout is under way.
pub const PROGRESSING: &str = "Progressing";
/// Condition type: something needs a human (invalid spec, rejected child, stuck rollout).
pub const DEGRADED: &str = "Degraded";

/// Condition type mirroring the HTTPRoute's `Accepted` condition (only with `spec.route`).
pub const ROUTE_ACCEPTED: &str = "RouteAccepted";
/// Condition type mirroring the HTTPRoute's `ResolvedRefs` condition (only with `spec.route`).
pub const ROUTE_RESOLVED_REFS: &str = "RouteResolvedRefs";

/// Why the spec could not be put into effect, if it could not.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// The spec passed the schema but the operator cannot build children from it.
    InvalidSpec(String),
    /// The API server refused a child built from the spec (e.g. an immutable field of a retained
    /// claim), or kept failing to apply it.
    ApplyFailed(String),
    /// The spec asks for a child of a kind the cluster does not serve (a missing CRD). The other
    /// children are in place; the game runs, but not everything the spec asks for.
    Unavailable(String),
    /// A Gateway refused the HTTPRoute or could not resolve its backend.
    Route {
        /// `RouteNotAccepted` or `RouteRefsNotResolved`.
        reason: &'static str,
        /// What the Gateways said.
        message: String,
    },
}

impl Problem {
    fn reason(&self) -> &'static str {
        match self {
            Problem::InvalidSpec(_) => "InvalidSpec",
            Problem::ApplyFailed(_) => "ApplyFailed",
            Problem::Unavailable(_) => "APINotServed",
            Problem::Route { reason, .. } => reason,
        }
    }
    fn message(&self) -> &str {
        match self {
            Problem::InvalidSpec(m) | Problem::ApplyFailed(m) | Problem::Unavailable(m) => m,
            Problem::Route { message, .. } => message,
        }
    }
    /// Whether the problem stops the rollout itself (nothing new was applied), as opposed to one
    /// optional child missing while the game runs.
    fn blocks(&self) -> bool {
        matches!(self, Problem::InvalidSpec(_) | Problem::ApplyFailed(_))
    }
}

/// The HTTPRoute conditions to mirror: (TetrisApp condition type, what the Gateways say).
pub type RouteConditions = Vec<(&'static str, RouteCondition)>;

/// Where a rollout of the Deployment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rollout {
    /// Every desired replica runs the current template and is available; no old pod is left.
    Complete,
    /// The Deployment controller gave up (ProgressDeadlineExceeded).
    Stuck,
    /// Still moving.
    InProgress,
}

struct Counts {
    replicas: i32,
    ready: i32,
    updated: i32,
    available: i32,
}

fn counts(dep: Option<&Deployment>) -> Counts {
    let s = dep.and_then(|d| d.status.as_ref());
    Counts {
        replicas: s.and_then(|s| s.replicas).unwrap_or(0),
        ready: s.and_then(|s| s.ready_replicas).unwrap_or(0),
        updated: s.and_then(|s| s.updated_replicas).unwrap_or(0),
        available: s.and_then(|s| s.available_replicas).unwrap_or(0),
    }
}

fn rollout(app: &TetrisApp, dep: Option<&Deployment>, c: &Counts) -> Rollout {
    let Some(dep) = dep else { return Rollout::InProgress };
    let status = dep.status.as_ref();
    let stuck = status.and_then(|s| s.conditions.as_ref()).is_some_and(|cs| {
        cs.iter().any(|c| {
            c.type_ == "Progressing"
                && c.status == "False"
                && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
        })
    });
    let observed = status.and_then(|s| s.observed_generation).unwrap_or(0);
    let current_template = dep
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|p| p.containers.first())
        .and_then(|c| c.image.as_deref())
        == Some(deployment::image(&app.spec).as_str());
    let want = crate::hpa::replicas(&app.spec);
    let complete = current_template
        && observed >= dep.metadata.generation.unwrap_or(0)
        && c.updated == want
        && c.replicas == want
        && c.available == want;
    match (complete, stuck) {
        (true, _) => Rollout::Complete,
        (false, true) => Rollout::Stuck,
        (false, false) => Rollout::InProgress,
    }
}

/// The status for `app` given its live Deployment (if any) and the problem that stopped the
/// reconcile (if any). `url` is where players reach the game; `now` stamps new transitions.
pub fn compute(
    app: &TetrisApp,
    parent: &Parent,
    dep: Option<&Deployment>,
    problem: Option<&Problem>,
    route: &[(&'static str, RouteCondition)],
    url: Option<String>,
    now: &Time,
) -> TetrisAppStatus {
    let old = app.status.clone().unwrap_or_default();
    let generation = app.metadata.generation;
    let c = counts(dep);
    let want = crate::hpa::replicas(&app.spec);
    let state = rollout(app, dep, &c);
    let version = &app.spec.version;

    let blocking = problem.filter(|p| p.blocks());
    let (mut ready, progressing, mut degraded) = match (blocking, state) {
        (Some(p), _) => (
            (false, p.reason(), p.message().to_owned()),
            (false, p.reason(), "the spec cannot be put into effect; waiting for a change".to_owned()),
            (true, p.reason(), p.message().to_owned()),
        ),
        (None, Rollout::Complete) => (
            if want == 0 {
                (true, "ScaledToZero", "replicas is 0; the scoreboard volume is kept".to_owned())
            } else {
                (true, "Available", format!("{want} of {want} replicas ready on version {version}"))
            },
            (false, "RolloutComplete", format!("version {version} is rolled out")),
            (false, "AsExpected", "no problems".to_owned()),
        ),
        (None, Rollout::Stuck) => {
            let mut msg = format!(
                "rollout of version {version} made no progress for {}s ({} of {want} updated replicas available)",
                app.spec.upgrade.progress_deadline_seconds,
                c.available.min(c.updated)
            );
            msg.push_str(&crate::scoreboard::deadline_hint(&app.spec).unwrap_or_default());
            (
                (false, "ProgressDeadlineExceeded", msg.clone()),
                (false, "ProgressDeadlineExceeded", msg.clone()),
                (true, "ProgressDeadlineExceeded", msg),
            )
        }
        (None, Rollout::InProgress) => (
            (
                false,
                "RollingOut",
                format!(
                    "rolling out version {version}: {} of {want} updated replicas ready",
                    c.updated.min(c.ready)
                ),
            ),
            (true, "RollingOut", format!("{} of {want} replicas updated, {} ready", c.updated, c.ready)),
            (false, "AsExpected", "no problems".to_owned()),
        ),
    };

    // A problem that leaves the rollout alone (a missing CRD, a refused route) still means the
    // app is not everything its spec asks for: not Ready, and Degraded, unless the rollout is stuck.
    if let Some(p) = problem.filter(|p| !p.blocks())
        && state != Rollout::Stuck
    {
        ready = (false, p.reason(), p.message().to_owned());
        degraded = (true, p.reason(), p.message().to_owned());
    }

    let flag = |b: bool| if b { "True" } else { "False" };
    let cond = |type_: &str, (status, reason, message): (bool, &str, String)| {
        condition(&old.conditions, type_, flag(status), reason, message, generation, now)
    };
    let mut conditions = vec![cond(READY, ready), cond(PROGRESSING, progressing), cond(DEGRADED, degraded)];
    for (type_, rc) in route {
        conditions.push(condition(
            &old.conditions,
            type_,
            rc.status,
            &rc.reason,
            rc.message.clone(),
            generation,
            now,
        ));
    }
    TetrisAppStatus {
        observed_generation: generation,
        conditions,
        version: if blocking.is_none() && state == Rollout::Complete {
            Some(version.clone())
        } else {
            old.version.clone()
        },
        target_version: Some(version.clone()),
        replicas: c.replicas,
        ready_replicas: c.ready,
        updated_replicas: c.updated,
        url,
        selector: Some(parent.selector_string()),
        // Filled in by the rollout step (crate::rollout::canary::decorate).
        rollout: None,
    }
}

fn condition(
    old: &[Condition],
    type_: &str,
    status: &str,
    reason: &str,
    message: String,
    generation: Option<i64>,
    now: &Time,
) -> Condition {
    let status = status.to_owned();
    let last_transition_time = old
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| now.clone());
    Condition {
        type_: type_.to_owned(),
        status,
        reason: reason.to_owned(),
        message,
        observed_generation: generation,
        last_transition_time,
    }
}

/// Whether `new` differs from `old` only in what moves with every pod of a rollout: the replica
/// counts and the condition messages that quote them. Condition statuses and reasons, versions,
/// the observed generation, the URL and the rollout step are the same.
///
/// # Why
/// A new app's Deployment passes through several such states before it is Ready (observed, pods
/// created, pods ready), and writing each one cost 3.5 status writes per new app in the operator
/// benchmark. The controller writes these changes late, at most once per settle interval, and
/// every other change at once ([`crate::controller`]).
pub fn only_counts_changed(old: &TetrisAppStatus, new: &TetrisAppStatus) -> bool {
    old != new && shape(old) == shape(new)
}

/// A status without what [`only_counts_changed`] ignores (counts zeroed, messages cleared).
pub fn shape(status: &TetrisAppStatus) -> TetrisAppStatus {
    let mut s = status.clone();
    (s.replicas, s.ready_replicas, s.updated_replicas) = (0, 0, 0);
    for c in &mut s.conditions {
        c.message.clear();
    }
    s
}

/// Looks up a condition by type.
pub fn find<'a>(status: &'a TetrisAppStatus, type_: &str) -> Option<&'a Condition> {
    status.conditions.iter().find(|c| c.type_ == type_)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::fixtures::app;
    use k8s_openapi::api::apps::v1::{DeploymentCondition, DeploymentStatus};

    fn now() -> Time {
        Time("2026-01-01T00:00:00Z".parse().expect("timestamp"))
    }

    fn later() -> Time {
        Time("2026-01-01T01:00:00Z".parse().expect("timestamp"))
    }

    fn dep_for(
        app: &TetrisApp,
        generation: i64,
        observed: i64,
        replicas: i32,
        updated: i32,
        ready: i32,
    ) -> Deployment {
        let parent = Parent::of(app).expect("fixture has metadata");
        let mut dep = deployment::build(&parent, &app.spec, "h");
        dep.metadata.generation = Some(generation);
        dep.status = Some(DeploymentStatus {
            observed_generation: Some(observed),
            replicas: Some(replicas),
            updated_replicas: Some(updated),
            ready_replicas: Some(ready),
            available_replicas: Some(ready),
            ..DeploymentStatus::default()
        });
        dep
    }

    fn status_of(
        app: &TetrisApp,
        dep: Option<&Deployment>,
        problem: Option<&Problem>,
        now: &Time,
    ) -> TetrisAppStatus {
        let parent = Parent::of(app).expect("fixture has metadata");
        compute(app, &parent, dep, problem, &[], Some("http://x/".into()), now)
    }

    fn cond<'a>(s: &'a TetrisAppStatus, t: &str) -> &'a Condition {
        find(s, t).expect("condition present")
    }

    #[test]
    fn complete_rollout_is_ready_and_records_the_version() {
        let app = app("version: 1.0.0\nreplicas: 2");
        let s = status_of(&app, Some(&dep_for(&app, 1, 1, 2, 2, 2)), None, &now());
        assert_eq!(cond(&s, READY).status, "True");
        assert_eq!(cond(&s, READY).reason, "Available");
        assert_eq!(cond(&s, PROGRESSING).status, "False");
        assert_eq!(cond(&s, DEGRADED).status, "False");
        assert_eq!(s.version.as_deref(), Some("1.0.0"));
        assert_eq!(s.observed_generation, Some(3));
        assert!(s.conditions.iter().all(|c| c.observed_generation == Some(3)));
        assert_eq!(s.selector.as_deref(), Some("app.kubernetes.io/name=tetris,gameops.dev/tetrisapp=arcade"));
    }

    #[test]
    fn version_changes_only_after_the_rollout_completes() {
        let mut app = app("version: 2.0.0\nreplicas: 3");
        app.status = Some(TetrisAppStatus { version: Some("1.0.0".into()), ..Default::default() });
        // old pods still around: 4 pods, 1 updated
        let s = status_of(&app, Some(&dep_for(&app, 2, 2, 4, 1, 3)), None, &now());
        assert_eq!(s.version.as_deref(), Some("1.0.0"));
        assert_eq!(s.target_version.as_deref(), Some("2.0.0"));
        assert_eq!(cond(&s, PROGRESSING).status, "True");
        assert_eq!(cond(&s, READY).reason, "RollingOut");
        let s = status_of(&app, Some(&dep_for(&app, 2, 2, 3, 3, 3)), None, &now());
        assert_eq!(s.version.as_deref(), Some("2.0.0"));
    }

    #[test]
    fn a_deployment_not_yet_observed_by_its_controller_is_still_progressing() {
        let app = app("version: 1.0.0");
        let s = status_of(&app, Some(&dep_for(&app, 2, 1, 1, 1, 1)), None, &now());
        assert_eq!(cond(&s, PROGRESSING).status, "True");
        assert_eq!(s.version, None);
    }

    #[test]
    fn a_deployment_still_running_the_old_image_is_not_complete() {
        let old = app("version: 1.0.0");
        let new = app("version: 2.0.0");
        let s = status_of(&new, Some(&dep_for(&old, 1, 1, 1, 1, 1)), None, &now());
        assert_eq!(cond(&s, PROGRESSING).status, "True");
    }

    #[test]
    fn progress_deadline_exceeded_is_degraded() {
        let app = app("version: 1.0.0");
        let mut dep = dep_for(&app, 1, 1, 1, 0, 0);
        if let Some(s) = dep.status.as_mut() {
            s.conditions = Some(vec![DeploymentCondition {
                type_: "Progressing".into(),
                status: "False".into(),
                reason: Some("ProgressDeadlineExceeded".into()),
                ..Default::default()
            }]);
        }
        let s = status_of(&app, Some(&dep), None, &now());
        assert_eq!(cond(&s, DEGRADED).status, "True");
        assert_eq!(cond(&s, DEGRADED).reason, "ProgressDeadlineExceeded");
        assert_eq!(cond(&s, READY).reason, "ProgressDeadlineExceeded");
    }

    #[test]
    fn invalid_spec_is_degraded_with_the_reason() {
        let app = app("version: 1.0.0");
        let s = status_of(&app, None, Some(&Problem::InvalidSpec("invalid TETRIS_TITLE".into())), &now());
        assert_eq!(cond(&s, DEGRADED).status, "True");
        assert_eq!(cond(&s, DEGRADED).reason, "InvalidSpec");
        assert_eq!(cond(&s, DEGRADED).message, "invalid TETRIS_TITLE");
        assert_eq!(cond(&s, READY).status, "False");
    }

    #[test]
    fn recomputing_an_unchanged_state_gives_an_equal_status() {
        let mut app = app("version: 1.0.0");
        let dep = dep_for(&app, 1, 1, 1, 1, 1);
        let first = status_of(&app, Some(&dep), None, &now());
        app.status = Some(first.clone());
        let second = status_of(&app, Some(&dep), None, &later());
        assert_eq!(first, second, "lastTransitionTime is kept, so nothing would be written");
    }

    #[test]
    fn transition_time_moves_only_when_the_condition_status_flips() {
        let mut app = app("version: 1.0.0");
        app.status = Some(status_of(&app, Some(&dep_for(&app, 1, 1, 1, 0, 0)), None, &now()));
        let s = status_of(&app, Some(&dep_for(&app, 1, 1, 1, 1, 1)), None, &later());
        assert_eq!(cond(&s, READY).last_transition_time, later());
        assert_eq!(cond(&s, DEGRADED).last_transition_time, now());
    }

    #[test]
    fn pod_counts_moving_within_one_rollout_state_are_only_counts() {
        let mut app = app("version: 1.0.0\nreplicas: 2");
        let first = status_of(&app, Some(&dep_for(&app, 1, 1, 2, 0, 0)), None, &now());
        app.status = Some(first.clone());
        let pods_up = status_of(&app, Some(&dep_for(&app, 1, 1, 2, 2, 1)), None, &later());
        assert!(only_counts_changed(&first, &pods_up), "{first:?} -> {pods_up:?}");
        let ready = status_of(&app, Some(&dep_for(&app, 1, 1, 2, 2, 2)), None, &later());
        assert!(!only_counts_changed(&first, &ready), "Ready turning True is written at once");
        assert!(!only_counts_changed(&first, &first), "no change at all is not a counts change");
        let mut upgraded = app.clone();
        upgraded.spec.version = "2.0.0".into();
        let target = status_of(&upgraded, Some(&dep_for(&app, 1, 1, 2, 0, 0)), None, &later());
        assert!(!only_counts_changed(&first, &target), "a new target version is written at once");
    }

    #[test]
    fn scaled_to_zero_is_ready() {
        let app = app("version: 1.0.0\nreplicas: 0");
        let s = status_of(&app, Some(&dep_for(&app, 1, 1, 0, 0, 0)), None, &now());
        assert_eq!(cond(&s, READY).status, "True");
        assert_eq!(cond(&s, READY).reason, "ScaledToZero");
    }

    #[test]
    fn a_missing_crd_is_degraded_but_the_rollout_and_version_go_on() {
        let app = app("version: 1.0.0\nroute:\n  parentRefs: [{name: gw}]");
        let problem =
            Problem::Unavailable("spec.route asks for a HTTPRoute, but its CRD is not installed".into());
        let s = status_of(&app, Some(&dep_for(&app, 1, 1, 1, 1, 1)), Some(&problem), &now());
        assert_eq!(cond(&s, DEGRADED).status, "True");
        assert_eq!(cond(&s, DEGRADED).reason, "APINotServed");
        assert!(cond(&s, DEGRADED).message.starts_with("spec.route"));
        assert_eq!(cond(&s, READY).status, "False");
        assert_eq!(cond(&s, PROGRESSING).status, "False");
        assert_eq!(s.version.as_deref(), Some("1.0.0"), "the game itself is rolled out");
    }

    #[test]
    fn route_conditions_are_mirrored_with_their_own_status() {
        let app = app("version: 1.0.0\nroute:\n  parentRefs: [{name: gw}]");
        let parent = Parent::of(&app).expect("fixture has metadata");
        let route = vec![
            (
                ROUTE_ACCEPTED,
                RouteCondition {
                    status: "True",
                    reason: "Accepted".into(),
                    message: "Gateway games/gw: True (Accepted)".into(),
                },
            ),
            (
                ROUTE_RESOLVED_REFS,
                RouteCondition {
                    status: "Unknown",
                    reason: "Pending".into(),
                    message: "no status yet".into(),
                },
            ),
        ];
        let dep = dep_for(&app, 1, 1, 1, 1, 1);
        let s = compute(&app, &parent, Some(&dep), None, &route, None, &now());
        assert_eq!(cond(&s, ROUTE_ACCEPTED).status, "True");
        assert_eq!(cond(&s, ROUTE_RESOLVED_REFS).status, "Unknown");
        assert_eq!(cond(&s, READY).status, "True");
        let refused = Problem::Route {
            reason: "RouteNotAccepted",
            message: "Gateway games/gw: False (NotAllowedByListeners)".into(),
        };
        let s = compute(&app, &parent, Some(&dep), Some(&refused), &route, None, &now());
        assert_eq!(
            (cond(&s, DEGRADED).status.as_str(), cond(&s, DEGRADED).reason.as_str()),
            ("True", "RouteNotAccepted")
        );
    }
}
