//! `strategy: BlueGreen` (pure, no client): the new version comes up beside the old one at full
//! size, reachable through the preview Service `<name>-preview`; the main Service switches to it
//! at promotion.
//!
//! How, and why:
//! - the new pods run in `<name>-canary` (role label `canary`, as a canary's), `replicas` of them;
//!   the preview Service selects them by that label;
//! - the main Service selects pods by their version label, so it can hold the old version until
//!   promotion and switch in one write. Existing WebSocket connections are not moved by a selector
//!   change, so the matches on the old pods play on;
//! - promotion: automatic once every new pod is Ready and `autoPromotionSeconds` have passed (with
//!   `blueGreen.analysis`, also once a measurement of the new pods has passed and none has failed
//!   past `failureLimit` since they were Ready), or, without it, when promoted (`kubectl tetris
//!   promote`, `spec.upgrade.promote`). A failing analysis aborts; an inconclusive one pauses
//!   until promoted. From then on
//!   the old version takes no new matches; the app's own Deployment rolls to the new version, so
//!   its old pods get SIGTERM and drain their live matches (up to `drainSeconds`);
//! - once that Deployment has rolled, `<name>-canary` goes to 0 after `scaleDownDelaySeconds`
//!   (endpoint updates take time to reach every proxy); its pods drain too, busy ones last;
//! - abort (by a human or the analysis): the main Service stays on the old version, the preview
//!   Service goes (nothing is left to preview) and the new pods drain and go.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::jiff::Timestamp;

use super::analysis::Verdict;
use super::api::{ABORT_ANNOTATION, PROMOTE_ANNOTATION, RolloutPhase, RolloutStatus};
use super::canary::{Plan, ROLE_LABEL, control, settled};
use super::tally::Tally;
use crate::crd::TetrisApp;
use crate::deployment;
use crate::meta::Parent;

/// The pod label the main Service selects the live version by.
const VERSION_LABEL: &str = "app.kubernetes.io/version";

/// The preview Service's name.
pub fn preview_name(parent: &Parent) -> String {
    format!("{}-preview", parent.name)
}

/// Where a BlueGreen upgrade stands. The app's own Deployment (`_stable`) needs no check: after
/// the switch its rolling update is what `status.version` waits for.
pub fn plan(
    app: &TetrisApp,
    _stable: Option<&Deployment>,
    green: Option<&Deployment>,
    now: Timestamp,
    measured: Option<&Verdict>,
) -> Plan {
    let spec = &app.spec;
    let n = spec.replicas;
    let version = &spec.version;
    let bg = spec.upgrade.blue_green.clone().unwrap_or_default();
    let old = app.status.as_ref().and_then(|s| s.rollout.clone()).unwrap_or_default();
    let same = old.canary_version.as_deref() == Some(version.as_str());
    let since = |t: &Option<String>| t.as_deref().and_then(|t| t.parse::<Timestamp>().ok());
    let green_pods = green.and_then(|d| d.spec.as_ref()?.replicas).unwrap_or(0);
    let plan = |stable_version: &str, green: Option<i32>, active: &str, status: Option<RolloutStatus>| Plan {
        stable_version: stable_version.to_owned(),
        stable_replicas: n,
        canary_replicas: green,
        status,
        active_version: Some(active.to_owned()),
        preview: true,
        strategy: "BlueGreen",
        ..Plan::default()
    };
    let running = app.status.as_ref().and_then(|s| s.version.clone());
    let Some(stable_version) = running.filter(|r| r != version) else {
        // Installed or finished: after a promotion the new pods of `<name>-canary` stay for the delay.
        let promoted_at =
            since(&old.step_started_at).filter(|_| same && old.step == Some(1) && green_pods > 0);
        if let Some(at) = promoted_at {
            let left = i64::from(bg.scale_down_delay_seconds) - now.duration_since(at).as_secs();
            if left > 0 {
                let status = RolloutStatus {
                    phase: RolloutPhase::Progressing,
                    message: format!(
                        "version {version} is live; the extra pods go in {left}s (upgrade.blueGreen.scaleDownDelaySeconds)"
                    ),
                    ..old
                };
                let mut p = plan(version, Some(green_pods), version, Some(status));
                p.requeue = Some(Duration::from_secs(left.unsigned_abs()));
                return p;
            }
        }
        return plan(version, green.map(|_| 0), version, None);
    };
    let analysis = bg.analysis.as_ref();
    let tally = Tally::of(app, &old, same, analysis, measured, now);
    let base = tally.base(&stable_version, version);
    let by_hand = control(app, ABORT_ANNOTATION, spec.upgrade.abort.as_deref());
    if tally.aborts() || by_hand.is_some() {
        let message = match (&tally.failed_check, by_hand) {
            (Some(check), _) => format!(
                "rollout of version {version} aborted by the analysis: {check}; the main Service stays on {stable_version} and the new pods drain; kubectl tetris retry (or a new spec.upgrade.retry) tries again"
            ),
            (None, _) if tally.aborts() => old.message.clone(),
            (None, by) => format!(
                "rollout of version {version} aborted by {}: the main Service stays on {stable_version} and the new pods drain; clear the abort to retry",
                by.unwrap_or_default()
            ),
        };
        let status = RolloutStatus {
            phase: RolloutPhase::Degraded,
            step: Some(0),
            canary_weight: Some(0),
            aborted: true,
            message,
            ..base
        };
        let mut p = plan(&stable_version, Some(0), &stable_version, Some(status));
        p.preview = false;
        return p;
    }
    let fresh = !same || old.aborted;
    let promoted_before = !fresh && old.step == Some(1);
    let up = settled(green, n, &deployment::image(spec));
    // step 0 records when every new pod was first seen Ready; step 1 when the switch happened.
    let ready_since = if !fresh && old.step == Some(0) { since(&old.step_started_at) } else { None };
    let ready_since = if up { Some(ready_since.unwrap_or(now)) } else { None };
    let promoted = control(app, PROMOTE_ANNOTATION, spec.upgrade.promote.as_deref()).is_some();
    let auto_left = match (bg.auto_promotion_seconds, ready_since) {
        (Some(s), Some(at)) => Some(i64::from(s) - now.duration_since(at).as_secs()),
        _ => None,
    };
    // Passing measurements since every new pod was Ready, and an inconclusive one that holds.
    let waited = !fresh && old.step == Some(0) && up;
    let passes =
        if waited { old.analysis_passes } else { 0 } + i32::from(up && measured == Some(&Verdict::Pass));
    let inconclusive = match measured {
        Some(Verdict::Inconclusive(why)) => Some(why.clone()),
        _ if !fresh => old.inconclusive.clone(),
        _ => None,
    }
    .filter(|_| !promoted && up);
    let analysed = analysis.is_none() || passes > 0 && inconclusive.is_none();
    if promoted_before || up && (promoted || analysed && auto_left.is_some_and(|l| l <= 0)) {
        let at = if promoted_before { old.step_started_at.clone() } else { Some(now.to_string()) };
        let status = RolloutStatus {
            phase: RolloutPhase::Progressing,
            step: Some(1),
            canary_weight: Some(100),
            step_started_at: at,
            message: format!(
                "promoted: new matches go to version {version}; the pods of {stable_version} keep their live matches until they end, then go"
            ),
            ..base
        };
        return plan(version, Some(n), version, Some(status));
    }
    let every = analysis.map(|a| Duration::from_secs(u64::try_from(a.interval_seconds).unwrap_or(10)));
    let (phase, message, requeue) = match (up, auto_left) {
        (false, _) => (
            RolloutPhase::Progressing,
            format!("starting {n} pods of version {version} behind the preview Service"),
            None,
        ),
        (true, _) if inconclusive.is_some() => (
            RolloutPhase::Paused,
            format!(
                "paused because the analysis was inconclusive: {}; kubectl tetris promote (or spec.upgrade.promote: \"{version}\") switches, kubectl tetris abort aborts",
                inconclusive.clone().unwrap_or_default()
            ),
            None,
        ),
        (true, Some(left)) if left <= 0 => (
            RolloutPhase::Progressing,
            format!(
                "every pod of version {version} is Ready; the main Service switches after a passing analysis measurement (upgrade.blueGreen.analysis)"
            ),
            every,
        ),
        (true, Some(left)) => (
            RolloutPhase::Progressing,
            format!("every pod of version {version} is Ready; the main Service switches in {left}s"),
            Some(Duration::from_secs(left.unsigned_abs())),
        ),
        (true, None) => (
            RolloutPhase::Paused,
            format!(
                "every pod of version {version} is Ready behind the preview Service; waiting to be promoted (kubectl tetris promote, or spec.upgrade.promote: \"{version}\")"
            ),
            None,
        ),
    };
    let status = RolloutStatus {
        phase,
        step: Some(0),
        canary_weight: Some(0),
        step_started_at: ready_since.map(|t| t.to_string()),
        message,
        analysis_passes: passes,
        inconclusive,
        ..base
    };
    let mut p = plan(&stable_version, Some(n), &stable_version, Some(status));
    // The analysis measures again after its interval.
    p.requeue = match (requeue, every.filter(|_| green_pods > 0)) {
        (Some(r), Some(e)) => Some(r.min(e)),
        (r, e) => r.or(e),
    };
    p
}

/// Makes the main Service select the pods of `version` only.
pub fn select_version(service: &mut Service, version: &str) {
    if let Some(selector) = service.spec.as_mut().and_then(|s| s.selector.as_mut()) {
        selector.insert(VERSION_LABEL.to_owned(), version.to_owned());
    }
}

/// The preview Service: like the main one, in the cluster only, in front of the new pods.
pub fn preview_service(main: &Service, parent: &Parent) -> Service {
    canary_pods_service(main, preview_name(parent), parent)
}

/// A Service named `name` like the main one, in the cluster only, selecting the pods of
/// `<name>-canary` (the BlueGreen preview, and a routed canary's backend).
pub fn canary_pods_service(main: &Service, name: String, parent: &Parent) -> Service {
    let mut svc = main.clone();
    svc.metadata.name = Some(name);
    svc.metadata.annotations = None;
    if let Some(s) = svc.spec.as_mut() {
        s.type_ = Some("ClusterIP".to_owned());
        for port in s.ports.iter_mut().flatten() {
            port.node_port = None;
        }
        let mut selector = parent.selector_labels();
        selector.insert(ROLE_LABEL.to_owned(), "canary".to_owned());
        s.selector = Some(selector);
    }
    svc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::TetrisAppStatus;
    use crate::meta::fixtures::app;
    use k8s_openapi::api::apps::v1::DeploymentStatus;

    fn at(t: &str) -> Timestamp {
        t.parse().expect("timestamp")
    }

    fn bg_app(extra: &str, rollout: Option<RolloutStatus>, running: &str) -> TetrisApp {
        let mut app = app(&format!("version: 0.2.0\nreplicas: 2\nupgrade:\n  strategy: BlueGreen\n{extra}"));
        app.status = Some(TetrisAppStatus { version: Some(running.into()), rollout, ..Default::default() });
        app
    }

    fn green(app: &TetrisApp, ready: i32) -> Deployment {
        let parent = Parent::of(app).expect("fixture has metadata");
        let mut dep = deployment::build(&parent, &app.spec, "h");
        dep.status = Some(DeploymentStatus {
            replicas: Some(2),
            updated_replicas: Some(2),
            available_replicas: Some(ready),
            ready_replicas: Some(ready),
            ..DeploymentStatus::default()
        });
        dep
    }

    #[test]
    fn the_new_pods_come_up_at_full_size_while_the_main_service_stays_on_the_old_version() {
        let app = bg_app("", None, "0.1.0");
        let p = plan(&app, None, None, at("2026-01-01T00:00:00Z"), None);
        assert_eq!((p.stable_version.as_str(), p.stable_replicas, p.canary_replicas), ("0.1.0", 2, Some(2)));
        assert_eq!(p.active_version.as_deref(), Some("0.1.0"));
        assert!(p.preview);
        assert_eq!(p.status.map(|s| s.phase), Some(RolloutPhase::Progressing));
    }

    #[test]
    fn manual_promotion_waits_until_promoted_then_switches() {
        let app = bg_app("", None, "0.1.0");
        let ready = green(&app, 2);
        let waiting = plan(&app, None, Some(&ready), at("2026-01-01T00:00:00Z"), None);
        assert_eq!(waiting.status.as_ref().map(|s| s.phase), Some(RolloutPhase::Paused));
        assert_eq!(waiting.active_version.as_deref(), Some("0.1.0"), "no switch without a promotion");
        let mut promoted = bg_app("  promote: 0.2.0\n", waiting.status, "0.1.0");
        promoted.spec.upgrade.promote = Some("0.2.0".into());
        let switched = plan(&promoted, None, Some(&ready), at("2026-01-01T00:00:05Z"), None);
        assert_eq!(switched.active_version.as_deref(), Some("0.2.0"));
        assert_eq!(switched.stable_version, "0.2.0", "the old pods roll (and drain) once switched");
        assert_eq!(switched.status.and_then(|s| s.step), Some(1));
    }

    #[test]
    fn automatic_promotion_after_the_seconds_and_the_scale_down_delay_after_it() {
        let extra = "  blueGreen:\n    autoPromotionSeconds: 10\n    scaleDownDelaySeconds: 30\n";
        let app = bg_app(extra, None, "0.1.0");
        let ready = green(&app, 2);
        let first = plan(&app, None, Some(&ready), at("2026-01-01T00:00:00Z"), None);
        assert_eq!(first.requeue, Some(Duration::from_secs(10)));
        let app = bg_app(extra, first.status, "0.1.0");
        let later = plan(&app, None, Some(&ready), at("2026-01-01T00:00:11Z"), None);
        assert_eq!(later.active_version.as_deref(), Some("0.2.0"));
        // Rolled out: the extra pods stay 30 s after the switch, then go.
        let done = bg_app(extra, later.status, "0.2.0");
        let kept = plan(&done, None, Some(&ready), at("2026-01-01T00:00:21Z"), None);
        assert_eq!((kept.canary_replicas, kept.requeue), (Some(2), Some(Duration::from_secs(20))));
        let gone = plan(&done, None, Some(&ready), at("2026-01-01T00:00:42Z"), None);
        assert_eq!((gone.canary_replicas, gone.status), (Some(0), None));
    }

    #[test]
    fn the_preview_service_selects_the_new_pods_and_the_main_one_a_version() {
        let app = bg_app("", None, "0.1.0");
        let parent = Parent::of(&app).expect("fixture has metadata");
        let mut main = crate::service::build(&parent, &app.spec);
        let preview = preview_service(&main, &parent);
        assert_eq!(preview.metadata.name.as_deref(), Some("arcade-preview"));
        let selector = preview.spec.and_then(|s| s.selector).expect("selector");
        assert_eq!(selector[ROLE_LABEL], "canary");
        select_version(&mut main, "0.1.0");
        assert_eq!(main.spec.and_then(|s| s.selector).expect("selector")[VERSION_LABEL], "0.1.0");
    }

    #[test]
    fn automatic_promotion_waits_for_a_passing_analysis_and_a_failing_one_aborts() {
        let extra = "  blueGreen:\n    autoPromotionSeconds: 10\n    analysis:\n      intervalSeconds: 5\n";
        let app = bg_app(extra, None, "0.1.0");
        let ready = green(&app, 2);
        let first = plan(&app, None, Some(&ready), at("2026-01-01T00:00:00Z"), None);
        let app = bg_app(extra, first.status, "0.1.0");
        let unmeasured = plan(&app, None, Some(&ready), at("2026-01-01T00:00:11Z"), None);
        assert_eq!(
            unmeasured.active_version.as_deref(),
            Some("0.1.0"),
            "no switch before a passing measurement"
        );
        let status = unmeasured.status.clone().expect("status");
        assert!(status.message.contains("after a passing analysis measurement"), "{}", status.message);
        assert_eq!(unmeasured.requeue, Some(Duration::from_secs(5)), "measured again after the interval");
        let app = bg_app(extra, Some(status), "0.1.0");
        let passed = plan(&app, None, Some(&ready), at("2026-01-01T00:00:12Z"), Some(&Verdict::Pass));
        assert_eq!(passed.active_version.as_deref(), Some("0.2.0"));

        let failed = plan(
            &app,
            None,
            Some(&ready),
            at("2026-01-01T00:00:12Z"),
            Some(&Verdict::Fail("container restarts: 3".into())),
        );
        assert_eq!(
            (failed.active_version.as_deref(), failed.canary_replicas, failed.preview),
            (Some("0.1.0"), Some(0), false)
        );
        let status = failed.status.expect("status");
        assert!(
            status.aborted && status.message.contains("aborted by the analysis: container restarts: 3"),
            "{}",
            status.message
        );
        // Held: a later pass does not undo the abort.
        let held = bg_app(extra, Some(status), "0.1.0");
        let still = plan(&held, None, Some(&ready), at("2026-01-01T00:00:20Z"), None);
        assert_eq!(still.status.map(|s| (s.aborted, s.phase)), Some((true, RolloutPhase::Degraded)));
    }

    #[test]
    fn an_inconclusive_analysis_pauses_the_switch_until_promoted() {
        let extra = "  blueGreen:\n    autoPromotionSeconds: 0\n    analysis: {}\n";
        let app = bg_app(extra, None, "0.1.0");
        let ready = green(&app, 2);
        let why = Verdict::Inconclusive("http check http://m/q: no answer".into());
        let paused = plan(&app, None, Some(&ready), at("2026-01-01T00:00:00Z"), Some(&why));
        let status = paused.status.expect("status");
        assert_eq!((status.phase, paused.active_version.as_deref()), (RolloutPhase::Paused, Some("0.1.0")));
        assert!(status.message.contains("inconclusive: http check"), "{}", status.message);
        let mut promoted = bg_app(extra, Some(status), "0.1.0");
        promoted.spec.upgrade.promote = Some("0.2.0".into());
        let switched = plan(&promoted, None, Some(&ready), at("2026-01-01T00:00:01Z"), None);
        assert_eq!(switched.active_version.as_deref(), Some("0.2.0"));
    }
}
