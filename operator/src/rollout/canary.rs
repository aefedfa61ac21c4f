//! `strategy: Canary` without a traffic router (pure, no client): where a canary rollout stands,
//! and the two Deployments that put it into effect.
//!
//! How it works, and why:
//! - the stable pods are the app's own Deployment (`<name>`), kept at the version in
//!   `status.version` (the last one fully rolled out); the new version runs in `<name>-canary`,
//!   whose pods carry `gameops.dev/role: canary`. The Service selects both, so the share of *new
//!   matches* (each room lives on the pod it was created on) is the share of pods;
//! - replica weights round up: canary pods = ceil(weight x replicas / 100) (at least one pod for
//!   any weight above 0), stable pods = replicas - canary pods, so the Service always has
//!   `replicas` pods and the share is exactly canary / replicas. With 4 replicas, 25% is 1 pod of 4;
//!   with 3 it is 1 of 3 (33%): `status.rollout.canaryWeight` says the share really given;
//! - a step moves on only when both Deployments have settled at their counts (weights), its time
//!   has passed (timed pauses) or the version is promoted (pauses without a duration); several
//!   steps can pass in one reconcile;
//! - after the last step the stable Deployment rolls to the new version (a rolling update at full
//!   size), and only once it has, the canary goes to 0 pods; pods that go drain their live
//!   matches (SIGTERM drain), and the busy ones go last ([`super::deletion_cost`]);
//! - promote and abort are levels, not events: a version string in an annotation (kubectl) or in
//!   `spec.upgrade` (Git) that acts while it equals `spec.version`. The operator never writes the
//!   TetrisApp, so nothing fights GitOps, and a stale value does nothing to the next version.
//!   Abort puts every replica back on the stable version and the canary to 0; lifting it starts
//!   the canary again from its first step (retry).

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;

use super::analysis::Verdict;
use super::api::{
    ABORT_ANNOTATION, AnalysisSpec, CanaryStep, PROMOTE_ANNOTATION, RolloutPhase, RolloutStatus,
};
use super::tally::{AnalysisProgress, Tally};
use crate::Result;
use crate::children::Children;
use crate::crd::{TetrisApp, TetrisAppSpec, TetrisAppStatus, UpgradeStrategy};
use crate::deployment;
use crate::meta::Parent;
use crate::meta::stamp_applied_hash;
use crate::route::Testers;
use crate::status::{DEGRADED, PROGRESSING, READY};

/// Label telling canary pods apart from stable ones.
pub const ROLE_LABEL: &str = "gameops.dev/role";

/// What this reconcile should run, and what to say about it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// The version the stable Deployment runs.
    pub stable_version: String,
    /// Pods of the stable Deployment.
    pub stable_replicas: i32,
    /// Pods of the canary Deployment; `None` when there is none and none is needed.
    pub canary_replicas: Option<i32>,
    /// `status.rollout` (without its observedGeneration), when a canary is under way or aborted.
    pub status: Option<RolloutStatus>,
    /// When a timed pause ends.
    pub requeue: Option<Duration>,
    /// BlueGreen: the version the main Service selects (by the pods' version label).
    pub active_version: Option<String>,
    /// BlueGreen: the preview Service `<name>-preview` in front of the new pods is wanted.
    pub preview: bool,
    /// The strategy whose words the conditions use (`Canary`, `BlueGreen`).
    pub strategy: &'static str,
    /// Canary with `spec.route`: the percent of requests the route sends to `<name>-canary`
    /// (the stable Service `<name>` gets the rest); `None` leaves the route at one backend.
    pub route_weight: Option<i32>,
    /// Canary with `spec.route`, during an A/B step: the requests the route sends to the canary.
    pub testers: Option<Testers>,
}

/// The Deployment name of the canary pods.
pub fn canary_name(parent: &Parent) -> String {
    format!("{}-canary", parent.name)
}

/// Canary pods for `weight` percent of `replicas` (rounded up; 0 only for weight 0).
pub fn canary_replicas(weight: i32, replicas: i32) -> i32 {
    let w = i64::from(weight.clamp(0, 100));
    let r = i64::from(replicas.max(0));
    i32::try_from((w * r + 99) / 100).unwrap_or(replicas)
}

/// The analysis to measure now: a canary's (or a blue/green's new pods', before the switch) with
/// pods in `<name>-canary`, once its interval has passed.
/// Returns it with the field it is at, for the messages.
pub fn analysis_due<'a>(
    app: &'a TetrisApp,
    canary: Option<&Deployment>,
    now: Timestamp,
) -> Option<(&'a AnalysisSpec, &'static str)> {
    let upgrade = &app.spec.upgrade;
    let (analysis, field) = match upgrade.strategy {
        UpgradeStrategy::Canary => (upgrade.canary.as_ref()?.analysis.as_ref()?, "upgrade.canary.analysis"),
        UpgradeStrategy::BlueGreen => {
            (upgrade.blue_green.as_ref()?.analysis.as_ref()?, "upgrade.blueGreen.analysis")
        }
        _ => return None,
    };
    let running = app.status.as_ref()?.version.as_deref()?;
    if running == app.spec.version {
        return None;
    }
    if canary.and_then(|d| d.spec.as_ref()?.replicas).unwrap_or(0) == 0 {
        return None;
    }
    let old = app.status.as_ref()?.rollout.as_ref();
    let same = old.is_some_and(|o| o.canary_version.as_deref() == Some(app.spec.version.as_str()));
    if same && old.is_some_and(|o| o.aborted) {
        return None;
    }
    // After a blue/green switch the new pods are the live ones: nothing is left to decide.
    if upgrade.strategy == UpgradeStrategy::BlueGreen && same && old.is_some_and(|o| o.step == Some(1)) {
        return None;
    }
    let last = old.filter(|_| same).and_then(|o| o.analysed_at.as_deref()?.parse::<Timestamp>().ok());
    let due = last.is_none_or(|t| now.duration_since(t).as_secs() >= i64::from(analysis.interval_seconds));
    due.then_some((analysis, field))
}

/// Where the rollout stands, from the app, its two live Deployments, the time and the analysis
/// measurement just made (if one was due).
pub fn plan(
    app: &TetrisApp,
    stable: Option<&Deployment>,
    canary: Option<&Deployment>,
    now: Timestamp,
    measured: Option<&Verdict>,
) -> Plan {
    if app.spec.upgrade.strategy == UpgradeStrategy::BlueGreen {
        return super::bluegreen::plan(app, stable, canary, now, measured);
    }
    let spec = &app.spec;
    let n = spec.replicas;
    let running = app.status.as_ref().and_then(|s| s.version.clone());
    let steps = spec.upgrade.canary.as_ref().map(|c| c.steps.as_slice()).unwrap_or_default();
    let is_canary = spec.upgrade.strategy == UpgradeStrategy::Canary;
    // With an HTTPRoute the route's weights split the traffic, and the stable pods stay at full size.
    let routed = is_canary && spec.route.is_some();
    let plain = Plan {
        stable_version: spec.version.clone(),
        stable_replicas: n,
        // Another strategy has no canary: a canary Deployment left from Canary goes (its pods drain).
        canary_replicas: canary.filter(|_| is_canary).map(|_| 0),
        status: None,
        requeue: None,
        route_weight: routed.then_some(0),
        ..Plan::default()
    };
    let stable_version = match running {
        Some(v)
            if spec.upgrade.strategy == UpgradeStrategy::Canary && v != spec.version && !steps.is_empty() =>
        {
            v
        }
        // First install, the version already rolled out, or another strategy: no canary.
        _ => return plain,
    };
    let version = &spec.version;
    // With a route, the main Service selects the stable pods only while the canary runs.
    let stable_selector = routed.then(|| stable_version.clone());
    let old = app.status.as_ref().and_then(|s| s.rollout.clone()).unwrap_or_default();
    let same = old.canary_version.as_deref() == Some(version.as_str());
    let analysis = spec.upgrade.canary.as_ref().and_then(|c| c.analysis.as_ref());
    let tally = Tally::of(app, &old, same, analysis, measured, now);
    let base = tally.base(&stable_version, version);
    if tally.aborts() {
        let message = match tally.failed_check {
            Some(check) => format!(
                "rollout of version {version} aborted by the analysis: {check}; the stable version {stable_version} takes every new match and the canary pods drain; kubectl tetris retry (or a new spec.upgrade.retry) tries again from the first step"
            ),
            None => old.message.clone(),
        };
        return Plan {
            stable_version,
            stable_replicas: n,
            canary_replicas: Some(0),
            status: Some(RolloutStatus {
                phase: RolloutPhase::Degraded,
                step: old.step,
                canary_weight: Some(0),
                aborted: true,
                message,
                ..base
            }),
            requeue: None,
            strategy: "Canary",
            route_weight: routed.then_some(0),
            active_version: stable_selector.clone(),
            ..Plan::default()
        };
    }

    if let Some(by) = control(app, ABORT_ANNOTATION, spec.upgrade.abort.as_deref()) {
        let message = format!(
            "rollout of version {version} aborted by {by}: the stable version {stable_version} takes every new match and the canary pods drain; clear the abort to retry from the first step"
        );
        return Plan {
            stable_version,
            stable_replicas: n,
            canary_replicas: Some(0),
            status: Some(RolloutStatus {
                phase: RolloutPhase::Degraded,
                step: same.then_some(old.step).flatten(),
                canary_weight: Some(0),
                aborted: true,
                message,
                ..base
            }),
            requeue: None,
            strategy: "Canary",
            route_weight: routed.then_some(0),
            active_version: stable_selector.clone(),
            ..Plan::default()
        };
    }
    let promoted = control(app, PROMOTE_ANNOTATION, spec.upgrade.promote.as_deref()).is_some();
    // A retry (the abort lifted) and a new version both start from the first step.
    let resume = same && !old.aborted;
    let mut step = if resume { usize::try_from(old.step.unwrap_or(0)).unwrap_or(0) } else { 0 };
    let mut started = resume
        .then(|| old.step_started_at.as_deref().and_then(|t| t.parse::<Timestamp>().ok()))
        .flatten()
        .unwrap_or(now);
    let mut requeue = None;
    let mut phase = RolloutPhase::Progressing;
    let mut message = String::new();
    let checks = AnalysisProgress::of(&old, resume, step, measured, promoted);
    while let Some(current) = steps.get(step) {
        if let Some(why) = &checks.inconclusive {
            phase = RolloutPhase::Paused;
            message = format!(
                "step {step}: paused because the analysis was inconclusive: {why}; kubectl tetris promote (or spec.upgrade.promote: \"{version}\") continues, kubectl tetris abort aborts"
            );
            break;
        }
        let weight = weight_at(steps, step);
        let c = pods_at(steps, step, n);
        let stable_pods = if routed { n } else { n - c };
        let passed = match current {
            CanaryStep { set_weight: Some(_), .. } => {
                let done =
                    settled(stable, stable_pods, &deployment::image(&with_version(spec, &stable_version)))
                        && (c == 0 && canary.is_none() || settled(canary, c, &deployment::image(spec)));
                if !done {
                    message = format!(
                        "step {step}: moving {c} of {n} pods to version {version} ({weight}% of new matches)"
                    );
                }
                done
            }
            // A promotion passes the pauses that wait for one; a timed pause runs its time.
            CanaryStep { pause: Some(p), .. } => match p.seconds {
                Some(s) => {
                    let left = i64::from(s) - now.duration_since(started).as_secs();
                    if left > 0 {
                        requeue = Some(Duration::from_secs(left.unsigned_abs()));
                        phase = RolloutPhase::Paused;
                        message = format!("step {step}: paused for {s}s at {weight}% ({left}s left)");
                    }
                    left <= 0
                }
                None if promoted => true,
                None => {
                    phase = RolloutPhase::Paused;
                    message = format!(
                        "step {step}: paused at {weight}% until promoted (kubectl tetris promote, or spec.upgrade.promote: \"{version}\")"
                    );
                    false
                }
            },
            CanaryStep { analysis: Some(a), .. } => {
                let passed = checks.passes_at(step);
                if passed < a.count {
                    message = format!(
                        "step {step}: analysis at {weight}%, {passed} of {} measurements in a row passed",
                        a.count
                    );
                }
                passed >= a.count
            }
            // An A/B step holds like a pause once its canary pods are up; its timer runs from the
            // step's start, so pods that are slow to come up shorten the testers' time.
            CanaryStep { testers: Some(t), .. } => {
                let up = settled(canary, c, &deployment::image(spec));
                let who = Testers::of(t).map_or_else(String::new, |t| describe_testers(&t));
                let left = t.seconds.map(|s| i64::from(s) - now.duration_since(started).as_secs());
                if !up {
                    message =
                        format!("step {step}: starting {c} canary pod(s) of version {version} for testers");
                    false
                } else if left.is_some_and(|l| l <= 0) || left.is_none() && promoted {
                    true
                } else {
                    phase = RolloutPhase::Paused;
                    message = match left {
                        Some(l) => {
                            requeue = Some(Duration::from_secs(l.unsigned_abs()));
                            format!(
                                "step {step}: testers ({who}) go to version {version}, others {weight}% ({l}s left)"
                            )
                        }
                        None => format!(
                            "step {step}: testers ({who}) go to version {version}, others {weight}%, until promoted (kubectl tetris promote, or spec.upgrade.promote: \"{version}\")"
                        ),
                    };
                    false
                }
            }
            // The schema requires one of the two.
            CanaryStep { .. } => true,
        };
        if !passed {
            break;
        }
        step += 1;
        started = now;
    }
    let promoting = step >= steps.len();
    let weight = if promoting { weight_at(steps, steps.len() - 1) } else { weight_at(steps, step) };
    let c = if promoting { canary_replicas(weight, n) } else { pods_at(steps, step, n) };
    let testers = steps.get(step).and_then(|s| s.testers.as_ref()).and_then(Testers::of);
    if promoting {
        message = format!("promoting version {version}: the stable pods roll to it, then the canary pods go");
    }
    let status = RolloutStatus {
        phase,
        step: i32::try_from(step).ok(),
        canary_weight: Some(match (routed, promoting) {
            (true, true) => 0,
            (true, false) => weight,
            _ if n > 0 => c * 100 / n,
            _ => 0,
        }),
        step_started_at: Some(started.to_string()),
        message,
        analysis_passes: if promoting { 0 } else { checks.passes_at(step) },
        inconclusive: checks.inconclusive.clone(),
        ..base
    };
    if let Some(a) = analysis.filter(|_| c > 0) {
        let every = Duration::from_secs(u64::try_from(a.interval_seconds).unwrap_or(10));
        requeue = Some(requeue.map_or(every, |r: Duration| r.min(every)));
    }
    // While the stable pods roll to the new version the main Service selects every pod again
    // (the canary's too, of the same version) and the route sends it everything.
    let active_version = (routed && !promoting).then(|| stable_version.clone());
    Plan {
        stable_version: if promoting { version.clone() } else { stable_version },
        stable_replicas: if promoting || routed { n } else { n - c },
        canary_replicas: Some(c),
        status: Some(status),
        requeue,
        strategy: "Canary",
        route_weight: routed.then_some(if promoting { 0 } else { weight }),
        testers: testers.filter(|_| routed),
        active_version,
        ..Plan::default()
    }
}

/// Who set a promote or abort control for the current version, if anyone.
pub(super) fn control(app: &TetrisApp, annotation: &str, field: Option<&str>) -> Option<String> {
    let version = app.spec.version.as_str();
    if app.annotations().get(annotation).map(String::as_str) == Some(version) {
        Some(format!("annotation {annotation}"))
    } else if field == Some(version) {
        let name = if annotation == ABORT_ANNOTATION { "abort" } else { "promote" };
        Some(format!("spec.upgrade.{name}"))
    } else {
        None
    }
}

/// Canary pods at `step`: the weight's share of `replicas` (rounded up), and at least one for
/// the testers of an A/B step and for an analysis step to measure.
fn pods_at(steps: &[CanaryStep], step: usize, replicas: i32) -> i32 {
    let c = canary_replicas(weight_at(steps, step), replicas);
    match steps.get(step) {
        Some(CanaryStep { testers: Some(_), .. } | CanaryStep { analysis: Some(_), .. }) if replicas > 0 => {
            c.max(1)
        }
        _ => c,
    }
}

fn describe_testers(t: &Testers) -> String {
    match t.match_type {
        crate::route::MatchType::Exact => format!("header {}: {}", t.header, t.value),
        crate::route::MatchType::RegularExpression => format!("header {} matching {}", t.header, t.value),
    }
}

/// The weight of the last `setWeight` at or before `step` (0 before the first).
fn weight_at(steps: &[CanaryStep], step: usize) -> i32 {
    steps.iter().take(step + 1).filter_map(|s| s.set_weight).next_back().unwrap_or(0)
}

/// Whether a Deployment runs `image` on exactly `replicas` available pods, none older left.
pub(super) fn settled(dep: Option<&Deployment>, replicas: i32, image: &str) -> bool {
    let Some(dep) = dep else { return false };
    let spec_image =
        dep.spec.as_ref().and_then(|s| s.template.spec.as_ref()).and_then(|p| p.containers.first());
    let s = dep.status.clone().unwrap_or_default();
    dep.spec.as_ref().and_then(|s| s.replicas) == Some(replicas)
        && spec_image.and_then(|c| c.image.as_deref()) == Some(image)
        && s.observed_generation.unwrap_or(0) >= dep.metadata.generation.unwrap_or(0)
        && s.replicas.unwrap_or(0) == replicas
        && s.updated_replicas.unwrap_or(0) == replicas
        && s.available_replicas.unwrap_or(0) == replicas
}

pub(super) fn with_version(spec: &TetrisAppSpec, version: &str) -> TetrisAppSpec {
    TetrisAppSpec { version: version.to_owned(), ..spec.clone() }
}

/// The children a rollout adds to the app's own: the canary (or BlueGreen new-version)
/// Deployment, the BlueGreen preview Service and the routed canary's Service. Those that are
/// `None` are removed if they exist (a strategy changed away leaves nothing behind).
#[derive(Debug, Default)]
pub struct Extra {
    /// `<name>-canary`, when the plan has one.
    pub canary: Option<Deployment>,
    /// `<name>-preview`, with strategy BlueGreen.
    pub preview: Option<Service>,
    /// `<name>-canary`, the route's canary backend, with strategy Canary and `spec.route`.
    pub canary_service: Option<Service>,
}

/// Puts the plan into the children as built from the spec: the stable Deployment's version and
/// replicas, the main Service's selector (BlueGreen); returns the children the rollout adds. All
/// carry their applied hash.
pub fn put_into_effect(
    children: &mut Children,
    parent: &Parent,
    spec: &TetrisAppSpec,
    plan: &Plan,
) -> Result<Extra> {
    let mut extra = Extra::default();
    if let Some(replicas) = plan.canary_replicas {
        let mut dep = canary_deployment(&children.deployment, parent, replicas);
        stamp_applied_hash(&mut dep)?;
        extra.canary = Some(dep);
    }
    if plan.preview {
        let mut preview = super::bluegreen::preview_service(&children.service, parent);
        stamp_applied_hash(&mut preview)?;
        extra.preview = Some(preview);
    }
    if let Some(weight) = plan.route_weight {
        let mut svc = super::bluegreen::canary_pods_service(&children.service, canary_name(parent), parent);
        stamp_applied_hash(&mut svc)?;
        extra.canary_service = Some(svc);
        if let Some(route) = children.route.as_mut() {
            crate::route::split(route, parent, spec, weight, plan.testers.as_ref());
            stamp_applied_hash(route)?;
        }
    }
    if let Some(active) = &plan.active_version {
        super::bluegreen::select_version(&mut children.service, active);
        stamp_applied_hash(&mut children.service)?;
    }
    if plan.stable_replicas != spec.replicas || plan.stable_version != spec.version {
        shape_stable(&mut children.deployment, spec, plan);
        stamp_applied_hash(&mut children.deployment)?;
    }
    Ok(extra)
}

/// Puts the plan into the stable Deployment as built from the spec: its version and replicas.
pub fn shape_stable(dep: &mut Deployment, spec: &TetrisAppSpec, plan: &Plan) {
    let Some(ds) = dep.spec.as_mut() else { return };
    ds.replicas = Some(plan.stable_replicas);
    if plan.stable_version != spec.version {
        set_version(dep, &with_version(spec, &plan.stable_version));
    }
}

fn set_version(dep: &mut Deployment, spec: &TetrisAppSpec) {
    let Some(ds) = dep.spec.as_mut() else { return };
    if let Some(labels) = ds.template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.insert("app.kubernetes.io/version".to_owned(), spec.version.clone());
    }
    if let Some(c) = ds.template.spec.as_mut().and_then(|p| p.containers.first_mut()) {
        c.image = Some(deployment::image(spec));
    }
}

/// The canary Deployment: the stable one as built from the spec (new version), renamed, with
/// `replicas` pods labelled (and selected) as canary pods.
pub fn canary_deployment(built: &Deployment, parent: &Parent, replicas: i32) -> Deployment {
    let mut dep = built.clone();
    dep.metadata.name = Some(canary_name(parent));
    if let Some(labels) = dep.metadata.labels.as_mut() {
        labels.insert(ROLE_LABEL.to_owned(), "canary".to_owned());
    }
    if let Some(ds) = dep.spec.as_mut() {
        ds.replicas = Some(replicas);
        ds.selector
            .match_labels
            .get_or_insert_with(Default::default)
            .insert(ROLE_LABEL.to_owned(), "canary".to_owned());
        if let Some(labels) = ds.template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
            labels.insert(ROLE_LABEL.to_owned(), "canary".to_owned());
        }
    }
    dep
}

/// Writes the plan into the computed status: `status.rollout` for every strategy, and the
/// conditions of a paused or aborted canary. `canary` is the live canary Deployment: its progress
/// deadline counts like the stable one's.
pub fn decorate(
    status: &mut TetrisAppStatus,
    old: &TetrisAppStatus,
    plan: &Plan,
    canary: Option<&Deployment>,
    generation: Option<i64>,
    now: &Time,
) {
    let degraded =
        |s: &TetrisAppStatus| s.conditions.iter().any(|c| c.type_ == DEGRADED && c.status == "True");
    let ready = status.conditions.iter().any(|c| c.type_ == READY && c.status == "True");
    let mut rollout = plan.status.clone().unwrap_or_else(|| RolloutStatus {
        phase: if degraded(status) {
            RolloutPhase::Degraded
        } else if ready {
            RolloutPhase::Healthy
        } else {
            RolloutPhase::Progressing
        },
        stable_version: status.version.clone(),
        message: status
            .conditions
            .iter()
            .find(|c| c.type_ == READY)
            .map(|c| c.message.clone())
            .unwrap_or_default(),
        ..RolloutStatus::default()
    });
    rollout.observed_generation = generation;
    if plan.status.is_some() && !degraded(status) {
        let stuck = canary.and_then(|d| d.status.as_ref()?.conditions.as_ref()).is_some_and(|cs| {
            cs.iter().any(|c| {
                c.type_ == "Progressing"
                    && c.status == "False"
                    && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
            })
        });
        let (reason, progressing, is_degraded) = match rollout.phase {
            _ if stuck => {
                rollout.phase = RolloutPhase::Degraded;
                rollout.message = format!(
                    "the canary pods of version {} made no progress for upgrade.progressDeadlineSeconds",
                    rollout.canary_version.clone().unwrap_or_default()
                );
                ("ProgressDeadlineExceeded".to_owned(), false, true)
            }
            RolloutPhase::Degraded => ("RolloutAborted".to_owned(), false, true),
            RolloutPhase::Paused => (format!("{}Paused", plan.strategy), true, false),
            _ => (format!("{}Progressing", plan.strategy), true, false),
        };
        let message = rollout.message.clone();
        let reason = reason.as_str();
        set(&mut status.conditions, &old.conditions, READY, false, reason, &message, generation, now);
        set(
            &mut status.conditions,
            &old.conditions,
            PROGRESSING,
            progressing,
            reason,
            &message,
            generation,
            now,
        );
        if is_degraded {
            set(&mut status.conditions, &old.conditions, DEGRADED, true, reason, &message, generation, now);
        }
    }
    status.rollout = Some(rollout);
}

/// Replaces condition `type_`, keeping its lastTransitionTime while its status is unchanged.
#[allow(clippy::too_many_arguments)]
fn set(
    conditions: &mut [Condition],
    old: &[Condition],
    type_: &str,
    status: bool,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: &Time,
) {
    let status = if status { "True" } else { "False" }.to_owned();
    let since = old
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| now.clone());
    if let Some(c) = conditions.iter_mut().find(|c| c.type_ == type_) {
        *c = Condition {
            type_: type_.to_owned(),
            status,
            reason: reason.to_owned(),
            message: message.to_owned(),
            observed_generation: generation,
            last_transition_time: since,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::fixtures::app;
    use crate::rollout::api::RETRY_ANNOTATION;
    use k8s_openapi::api::apps::v1::DeploymentStatus;

    const SPEC: &str = "version: 0.2.0\nreplicas: 4\nupgrade:\n  strategy: Canary\n  canary:\n    steps:\n    - setWeight: 25\n    - pause: {}\n    - setWeight: 50\n    - pause: {seconds: 30}\n";

    fn at(now: &str) -> Timestamp {
        now.parse().expect("timestamp")
    }

    /// The app with `0.1.0` rolled out, `rollout` as its status.rollout, and `annotations`.
    fn canary_app(rollout: Option<RolloutStatus>, annotations: &[(&str, &str)]) -> TetrisApp {
        let mut app = app(SPEC);
        app.status = Some(TetrisAppStatus { version: Some("0.1.0".into()), rollout, ..Default::default() });
        for (k, v) in annotations {
            app.metadata.annotations.get_or_insert_with(Default::default).insert((*k).into(), (*v).into());
        }
        app
    }

    /// A live Deployment of `app` settled at `version` on `replicas` available pods.
    fn live(app: &TetrisApp, version: &str, replicas: i32) -> Deployment {
        let parent = Parent::of(app).expect("fixture has metadata");
        let spec = with_version(&app.spec, version);
        let mut dep = deployment::build(&parent, &spec, "h");
        if let Some(s) = dep.spec.as_mut() {
            s.replicas = Some(replicas);
        }
        dep.metadata.generation = Some(2);
        dep.status = Some(DeploymentStatus {
            observed_generation: Some(2),
            replicas: Some(replicas),
            updated_replicas: Some(replicas),
            available_replicas: Some(replicas),
            ready_replicas: Some(replicas),
            ..DeploymentStatus::default()
        });
        dep
    }

    #[test]
    fn canary_replicas_round_up_and_stable_takes_the_rest() {
        assert_eq!(canary_replicas(25, 4), 1);
        assert_eq!(canary_replicas(25, 3), 1, "33% of the pods: the share rounds up");
        assert_eq!(canary_replicas(50, 3), 2);
        assert_eq!(canary_replicas(1, 4), 1, "any weight above 0 gets a pod");
        assert_eq!(canary_replicas(0, 4), 0);
        assert_eq!(canary_replicas(100, 4), 4);
        assert_eq!(canary_replicas(25, 0), 0);
    }

    #[test]
    fn no_canary_before_a_first_version_runs_or_with_another_strategy() {
        let mut first = app(SPEC);
        first.status = None;
        let plan = plan(&first, None, None, at("2026-01-01T00:00:00Z"), None);
        assert_eq!(
            (plan.stable_version.as_str(), plan.stable_replicas, plan.canary_replicas),
            ("0.2.0", 4, None)
        );
        let rolling = app("version: 0.2.0\nreplicas: 4");
        let plan = super::plan(&rolling, None, None, at("2026-01-01T00:00:00Z"), None);
        assert_eq!(plan.status, None);
    }

    #[test]
    fn the_first_weight_splits_the_pods_and_waits_for_them() {
        let app = canary_app(None, &[]);
        let stable = live(&app, "0.1.0", 4);
        let plan = plan(&app, Some(&stable), None, at("2026-01-01T00:00:00Z"), None);
        assert_eq!(
            (plan.stable_version.as_str(), plan.stable_replicas, plan.canary_replicas),
            ("0.1.0", 3, Some(1))
        );
        let status = plan.status.expect("rollout status");
        assert_eq!(
            (status.phase, status.step, status.canary_weight),
            (RolloutPhase::Progressing, Some(0), Some(25))
        );
        assert_eq!(status.stable_version.as_deref(), Some("0.1.0"));
        assert_eq!(status.canary_version.as_deref(), Some("0.2.0"));
    }

    #[test]
    fn settled_pods_pass_the_weight_and_stop_at_a_pause_until_promoted() {
        let app = canary_app(None, &[]);
        let (stable, canary) = (live(&app, "0.1.0", 3), live(&app, "0.2.0", 1));
        let now = at("2026-01-01T00:00:00Z");
        let paused = plan(&app, Some(&stable), Some(&canary), now, None);
        let status = paused.status.clone().expect("rollout status");
        assert_eq!(
            (status.phase, status.step, status.canary_weight),
            (RolloutPhase::Paused, Some(1), Some(25))
        );
        assert!(status.message.contains("until promoted"), "{}", status.message);
        assert_eq!(
            (paused.stable_replicas, paused.canary_replicas),
            (3, Some(1)),
            "the pause holds the split"
        );

        // Promoted by annotation: the pause passes, the next weight starts.
        let promoted = canary_app(Some(status.clone()), &[(PROMOTE_ANNOTATION, "0.2.0")]);
        let next = plan(&promoted, Some(&stable), Some(&canary), now, None);
        assert_eq!((next.stable_replicas, next.canary_replicas), (2, Some(2)));
        assert_eq!(next.status.as_ref().and_then(|s| s.step), Some(2));
        // A promotion of another version, and one from Git, for this version.
        let stale = canary_app(Some(status.clone()), &[(PROMOTE_ANNOTATION, "0.1.9")]);
        assert_eq!(
            plan(&stale, Some(&stable), Some(&canary), now, None).status.map(|s| s.phase),
            Some(RolloutPhase::Paused)
        );
        let mut git = canary_app(Some(status), &[]);
        git.spec.upgrade.promote = Some("0.2.0".into());
        assert_eq!(plan(&git, Some(&stable), Some(&canary), now, None).canary_replicas, Some(2));
    }

    #[test]
    fn a_timed_pause_waits_its_seconds_then_promotion_rolls_the_stable_pods() {
        let app = canary_app(None, &[]);
        let (stable, canary) = (live(&app, "0.1.0", 2), live(&app, "0.2.0", 2));
        let paused = RolloutStatus {
            step: Some(3),
            canary_version: Some("0.2.0".into()),
            step_started_at: Some("2026-01-01T00:00:00Z".into()),
            ..RolloutStatus::default()
        };
        let app = canary_app(Some(paused), &[]);
        let waiting = plan(&app, Some(&stable), Some(&canary), at("2026-01-01T00:00:10Z"), None);
        assert_eq!(waiting.status.as_ref().map(|s| s.phase), Some(RolloutPhase::Paused));
        assert_eq!(waiting.requeue, Some(Duration::from_secs(20)));
        let done = plan(&app, Some(&stable), Some(&canary), at("2026-01-01T00:00:31Z"), None);
        assert_eq!(
            done.stable_version, "0.2.0",
            "after the last step the stable pods roll to the new version"
        );
        assert_eq!(
            (done.stable_replicas, done.canary_replicas),
            (4, Some(2)),
            "the canary stays until they have"
        );
        assert_eq!(done.status.and_then(|s| s.step), Some(4));
    }

    #[test]
    fn abort_returns_every_pod_to_stable_and_lifting_it_retries_from_the_first_step() {
        let progressed =
            RolloutStatus { step: Some(2), canary_version: Some("0.2.0".into()), ..RolloutStatus::default() };
        let app = canary_app(Some(progressed), &[(ABORT_ANNOTATION, "0.2.0")]);
        let aborted = plan(&app, None, None, at("2026-01-01T00:00:00Z"), None);
        assert_eq!(
            (aborted.stable_version.as_str(), aborted.stable_replicas, aborted.canary_replicas),
            ("0.1.0", 4, Some(0))
        );
        let status = aborted.status.expect("rollout status");
        assert!(status.aborted);
        assert_eq!(status.phase, RolloutPhase::Degraded);
        assert!(status.message.contains("annotation gameops.dev/abort"), "{}", status.message);

        let retried = canary_app(Some(status), &[]);
        let plan = plan(&retried, Some(&live(&retried, "0.1.0", 4)), None, at("2026-01-01T00:00:00Z"), None);
        assert_eq!(plan.status.and_then(|s| s.step), Some(0));
        assert_eq!(plan.canary_replicas, Some(1));
    }

    #[test]
    fn the_canary_deployment_selects_only_canary_pods() {
        let app = canary_app(None, &[]);
        let parent = Parent::of(&app).expect("fixture has metadata");
        let dep = canary_deployment(&deployment::build(&parent, &app.spec, "h"), &parent, 2);
        assert_eq!(dep.metadata.name.as_deref(), Some("arcade-canary"));
        let spec = dep.spec.expect("spec");
        assert_eq!(spec.replicas, Some(2));
        assert_eq!(spec.selector.match_labels.expect("selector")[ROLE_LABEL], "canary");
        assert_eq!(spec.template.metadata.and_then(|m| m.labels).expect("labels")[ROLE_LABEL], "canary");
    }

    #[test]
    fn an_aborted_canary_is_degraded_with_the_reason_and_keeps_the_stable_version() {
        let app = canary_app(None, &[(ABORT_ANNOTATION, "0.2.0")]);
        let plan = plan(&app, None, None, at("2026-01-01T00:00:00Z"), None);
        let now = Time(at("2026-01-01T00:00:00Z"));
        let cond = |t: &str, s: &str| Condition {
            type_: t.into(),
            status: s.into(),
            reason: "RollingOut".into(),
            message: String::new(),
            observed_generation: Some(3),
            last_transition_time: now.clone(),
        };
        let mut status = TetrisAppStatus {
            version: Some("0.1.0".into()),
            conditions: vec![cond(READY, "False"), cond(PROGRESSING, "True"), cond(DEGRADED, "False")],
            ..Default::default()
        };
        decorate(&mut status, &TetrisAppStatus::default(), &plan, None, Some(3), &now);
        let degraded = status.conditions.iter().find(|c| c.type_ == DEGRADED).expect("Degraded");
        assert_eq!((degraded.status.as_str(), degraded.reason.as_str()), ("True", "RolloutAborted"));
        assert_eq!(status.version.as_deref(), Some("0.1.0"));
        let rollout = status.rollout.expect("rollout");
        assert_eq!((rollout.phase, rollout.observed_generation), (RolloutPhase::Degraded, Some(3)));
    }

    #[test]
    fn a_failed_analysis_aborts_holds_and_a_new_retry_token_starts_again() {
        let mut app = canary_app(None, &[(RETRY_ANNOTATION, "t1")]);
        app.spec.upgrade.canary.as_mut().expect("canary").analysis = Some(AnalysisSpec {
            interval_seconds: 5,
            failure_limit: 0,
            max_unready_pods: 0,
            max_restarts: 0,
            max_errors_per_minute: 60,
            max_aborted_matches: None,
            http: None,
        });
        let now = at("2026-01-01T00:00:00Z");
        let (stable, canary) = (live(&app, "0.1.0", 3), live(&app, "0.2.0", 1));
        let passed = plan(&app, Some(&stable), Some(&canary), now, Some(&Verdict::Pass));
        assert_eq!(passed.requeue, Some(Duration::from_secs(5)), "measured again after the interval");
        let check = "error rate: 120 errors/min".to_owned();
        let mut failing = app.clone();
        failing.status.as_mut().expect("status").rollout = passed.status;
        let aborted = plan(&failing, Some(&stable), Some(&canary), now, Some(&Verdict::Fail(check)));
        assert_eq!((aborted.stable_replicas, aborted.canary_replicas), (4, Some(0)));
        let status = aborted.status.expect("status");
        assert!(
            status.aborted && status.message.contains("aborted by the analysis: error rate"),
            "{}",
            status.message
        );

        // Held while the token is the one already seen, whatever later measurements say.
        let mut held = app.clone();
        held.status.as_mut().expect("status").rollout = Some(status.clone());
        let still = plan(&held, Some(&live(&app, "0.1.0", 4)), None, now, None);
        assert_eq!(still.canary_replicas, Some(0));
        assert_eq!(still.status.as_ref().map(|s| s.message.clone()), Some(status.message.clone()));
        // A new token: from the first step again, failures forgotten.
        held.metadata.annotations.as_mut().expect("annotations").insert(RETRY_ANNOTATION.into(), "t2".into());
        let again = plan(&held, Some(&live(&app, "0.1.0", 4)), None, now, None);
        let status = again.status.expect("status");
        assert_eq!((status.step, status.analysis_failures, status.aborted), (Some(0), 0, false));
        assert_eq!(again.canary_replicas, Some(1));
    }

    #[test]
    fn a_promotion_does_not_cut_a_timed_pause_short() {
        // Regression: the promote annotation passed timed pauses too, so the real-node canary
        // test never saw the 15 s pause after 100%.
        let timed = RolloutStatus {
            step: Some(3),
            canary_version: Some("0.2.0".into()),
            step_started_at: Some("2026-01-01T00:00:00Z".into()),
            ..RolloutStatus::default()
        };
        let app = canary_app(Some(timed), &[(PROMOTE_ANNOTATION, "0.2.0")]);
        let (stable, canary) = (live(&app, "0.1.0", 2), live(&app, "0.2.0", 2));
        let p = plan(&app, Some(&stable), Some(&canary), at("2026-01-01T00:00:05Z"), None);
        assert_eq!(p.status.map(|s| (s.phase, s.step)), Some((RolloutPhase::Paused, Some(3))));
    }

    const ROUTED: &str = "version: 0.2.0\nreplicas: 3\nroute:\n  parentRefs: [{name: public}]\nupgrade:\n  strategy: Canary\n  canary:\n    steps:\n    - setWeight: 25\n    - testers:\n        header: {name: X-Canary, value: \"yes\"}\n    - setWeight: 50\n";

    fn routed_app(rollout: Option<RolloutStatus>, annotations: &[(&str, &str)]) -> TetrisApp {
        let mut app = canary_app(rollout, annotations);
        app.spec = crate::meta::fixtures::app(ROUTED).spec;
        app
    }

    #[test]
    fn with_a_route_the_weight_is_exact_and_the_stable_pods_stay_at_full_size() {
        let app = routed_app(None, &[]);
        let stable = live(&app, "0.1.0", 3);
        let p = plan(&app, Some(&stable), None, at("2026-01-01T00:00:00Z"), None);
        assert_eq!(
            (p.stable_replicas, p.canary_replicas),
            (3, Some(1)),
            "25% of 3 rounds up to 1 canary pod"
        );
        assert_eq!(p.route_weight, Some(25), "the route, not the pods, gives the share");
        assert_eq!(p.status.as_ref().and_then(|s| s.canary_weight), Some(25), "not 33: 1 of 3 pods");
        assert_eq!(
            p.active_version.as_deref(),
            Some("0.1.0"),
            "the main Service selects the stable pods only"
        );
        assert_eq!(p.testers, None);

        let mut children =
            crate::children::build(&app, &Parent::of(&app).expect("meta")).expect("meta").expect("valid");
        let extra =
            put_into_effect(&mut children, &Parent::of(&app).expect("meta"), &app.spec, &p).expect("hash");
        let backends: Vec<_> = children.route.expect("route").spec.rules[0]
            .backend_refs
            .iter()
            .map(|b| (b.name.clone(), b.weight))
            .collect();
        assert_eq!(backends, [("arcade".to_owned(), Some(75)), ("arcade-canary".to_owned(), Some(25))]);
        let svc = extra.canary_service.expect("the canary backend's Service");
        assert_eq!(svc.metadata.name.as_deref(), Some("arcade-canary"));
        assert_eq!(svc.spec.and_then(|s| s.selector).expect("selector")[ROLE_LABEL], "canary");
        let main = children.service.spec.and_then(|s| s.selector).expect("selector");
        assert_eq!(main["app.kubernetes.io/version"], "0.1.0");
    }

    #[test]
    fn an_ab_step_sends_testers_to_the_canary_until_promoted_and_then_the_rule_goes() {
        let app = routed_app(None, &[]);
        let (stable, canary) = (live(&app, "0.1.0", 3), live(&app, "0.2.0", 1));
        let now = at("2026-01-01T00:00:00Z");
        let ab = plan(&app, Some(&stable), Some(&canary), now, None);
        let status = ab.status.clone().expect("status");
        assert_eq!((status.phase, status.step), (RolloutPhase::Paused, Some(1)));
        assert!(status.message.contains("testers (header X-Canary: yes)"), "{}", status.message);
        let t = ab.testers.clone().expect("testers during the A/B step");
        assert_eq!(
            (t.header.as_str(), t.match_type, t.value.as_str()),
            ("X-Canary", crate::route::MatchType::Exact, "yes")
        );
        let parent = Parent::of(&app).expect("meta");
        let mut children = crate::children::build(&app, &parent).expect("meta").expect("valid");
        put_into_effect(&mut children, &parent, &app.spec, &ab).expect("hash");
        let rules = children.route.expect("route").spec.rules;
        assert_eq!(rules.len(), 2, "the testers' rule and the weighted one");
        assert_eq!(rules[0].matches[0].headers[0].name, "X-Canary");
        assert_eq!(rules[0].backend_refs[0].name, "arcade-canary");

        let promoted = routed_app(Some(status), &[(PROMOTE_ANNOTATION, "0.2.0")]);
        let next = plan(&promoted, Some(&stable), Some(&canary), now, None);
        assert_eq!(next.testers, None, "the rule goes once the step has passed");
        assert_eq!(next.route_weight, Some(50));
    }

    #[test]
    fn a_routed_canary_goes_back_to_all_stable_on_abort_and_on_promotion() {
        let progressed =
            RolloutStatus { step: Some(2), canary_version: Some("0.2.0".into()), ..RolloutStatus::default() };
        let aborted = routed_app(Some(progressed), &[(ABORT_ANNOTATION, "0.2.0")]);
        let p = plan(&aborted, None, None, at("2026-01-01T00:00:00Z"), None);
        assert_eq!((p.route_weight, p.canary_replicas, p.stable_replicas), (Some(0), Some(0), 3));
        let app = routed_app(None, &[]);
        let done =
            RolloutStatus { step: Some(3), canary_version: Some("0.2.0".into()), ..RolloutStatus::default() };
        let promoting = routed_app(Some(done), &[]);
        let p = plan(
            &promoting,
            Some(&live(&app, "0.1.0", 3)),
            Some(&live(&app, "0.2.0", 2)),
            at("2026-01-01T00:00:00Z"),
            None,
        );
        assert_eq!((p.stable_version.as_str(), p.route_weight), ("0.2.0", Some(0)));
        assert_eq!(p.active_version, None, "the main Service selects every pod while the stable ones roll");
    }

    #[test]
    fn another_strategy_wants_no_canary_deployment_so_a_left_one_is_removed() {
        let mut app = canary_app(None, &[]);
        app.spec.upgrade.strategy = UpgradeStrategy::RollingUpdate;
        let left = live(&app, "0.2.0", 0);
        let p = plan(&app, Some(&live(&app, "0.1.0", 4)), Some(&left), at("2026-01-01T00:00:00Z"), None);
        assert_eq!((p.canary_replicas, p.route_weight, p.preview), (None, None, false));
        let still = canary_app(Some(RolloutStatus::default()), &[]);
        let mut done = still.clone();
        done.status.as_mut().expect("status").version = Some("0.2.0".into());
        let p = plan(&done, None, Some(&left), at("2026-01-01T00:00:00Z"), None);
        assert_eq!(p.canary_replicas, Some(0), "Canary keeps its idle Deployment for the next version");
    }

    const ANALYSED: &str = "version: 0.2.0\nreplicas: 4\nupgrade:\n  strategy: Canary\n  canary:\n    steps:\n    - setWeight: 25\n    - analysis: {count: 2}\n    - pause: {seconds: 600}\n    analysis:\n      intervalSeconds: 5\n";

    fn analysed_app(rollout: Option<RolloutStatus>, annotations: &[(&str, &str)]) -> TetrisApp {
        let mut app = canary_app(rollout, annotations);
        app.spec = crate::meta::fixtures::app(ANALYSED).spec;
        app
    }

    #[test]
    fn an_analysis_step_moves_on_after_count_passes_in_a_row() {
        let app = analysed_app(None, &[]);
        let (stable, canary) = (live(&app, "0.1.0", 3), live(&app, "0.2.0", 1));
        let now = at("2026-01-01T00:00:00Z");
        let reached = plan(&app, Some(&stable), Some(&canary), now, Some(&Verdict::Pass));
        let status = reached.status.expect("status");
        assert_eq!(
            (status.step, status.analysis_passes),
            (Some(1), 0),
            "a measurement before the step does not count"
        );
        let one =
            plan(&analysed_app(Some(status), &[]), Some(&stable), Some(&canary), now, Some(&Verdict::Pass));
        let status = one.status.expect("status");
        assert_eq!(
            (status.step, status.analysis_passes, status.phase),
            (Some(1), 1, RolloutPhase::Progressing)
        );
        assert!(status.message.contains("1 of 2 measurements"), "{}", status.message);
        let failed = plan(
            &analysed_app(Some(status.clone()), &[]),
            Some(&stable),
            Some(&canary),
            now,
            Some(&Verdict::Fail("x".into())),
        );
        assert!(failed.status.expect("status").aborted, "failureLimit 0: one failure aborts");
        let two =
            plan(&analysed_app(Some(status), &[]), Some(&stable), Some(&canary), now, Some(&Verdict::Pass));
        let status = two.status.expect("status");
        assert_eq!(
            (status.step, status.phase),
            (Some(2), RolloutPhase::Paused),
            "passed: on to the timed pause"
        );
    }

    #[test]
    fn an_inconclusive_measurement_pauses_until_promoted() {
        let app = analysed_app(None, &[]);
        let (stable, canary) = (live(&app, "0.1.0", 3), live(&app, "0.2.0", 1));
        let now = at("2026-01-01T00:00:00Z");
        let first = plan(&app, Some(&stable), Some(&canary), now, None).status.expect("status");
        let why = Verdict::Inconclusive("http check http://m/q: the answer is not JSON".into());
        let paused = plan(&analysed_app(Some(first), &[]), Some(&stable), Some(&canary), now, Some(&why));
        let status = paused.status.expect("status");
        assert_eq!((status.phase, status.step), (RolloutPhase::Paused, Some(1)));
        assert!(status.message.contains("inconclusive: http check http://m/q"), "{}", status.message);
        assert_eq!(paused.canary_replicas, Some(1), "the canary keeps its pods while paused");
        // Still held by a later pass; a promotion continues.
        let held = plan(
            &analysed_app(Some(status.clone()), &[]),
            Some(&stable),
            Some(&canary),
            now,
            Some(&Verdict::Pass),
        );
        assert_eq!(held.status.map(|s| s.phase), Some(RolloutPhase::Paused));
        let promoted = analysed_app(Some(status), &[(PROMOTE_ANNOTATION, "0.2.0")]);
        let p = plan(&promoted, Some(&stable), Some(&canary), now, Some(&Verdict::Pass));
        let status = p.status.expect("status");
        assert_eq!(
            (status.inconclusive, status.phase, status.analysis_passes),
            (None, RolloutPhase::Progressing, 1)
        );
    }
}
