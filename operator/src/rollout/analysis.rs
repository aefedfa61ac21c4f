//! The canary analysis (needs the pod network): one measurement of the canary pods' own signals
//! against `spec.upgrade.canary.analysis`.
//!
//! - readiness failures: canary pods seen Ready at an earlier measurement and not Ready now (a
//!   pod that never gets Ready keeps its Deployment from settling, and the progress deadline
//!   covers that);
//! - restarts: the containers' restart counts, summed over the canary pods;
//! - errors: the rate of `tetris_errors_total` (all codes) between this measurement and the last,
//!   summed over the canary pods, per minute.
//!
//! What was seen before (Ready pods, error counters) is kept in memory: after an operator restart
//! the first measurement only takes the baseline for those two checks.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Instant;

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;

use super::api::AnalysisSpec;
use super::canary::ROLE_LABEL;
use super::deletion_cost::Tracker;
use crate::meta::{APP_LABEL, Parent};

/// The game server's error counter (its samples, one per code).
const ERRORS_METRIC: &str = "tetris_errors_total";

/// What earlier measurements saw, per pod UID.
#[derive(Default)]
pub struct Memory {
    seen_ready: HashSet<String>,
    errors: HashMap<String, (Instant, f64)>,
}

/// One measurement: `Err` names the check that failed and its figure.
pub async fn measure(
    tracker: &Tracker,
    memory: &Mutex<Memory>,
    parent: &Parent,
    spec: &AnalysisSpec,
) -> Result<(), String> {
    let pods: Vec<_> = tracker
        .pods()
        .state()
        .into_iter()
        .filter(|p| {
            p.namespace().as_deref() == Some(parent.namespace.as_str())
                && p.labels().get(APP_LABEL) == Some(&parent.name)
                && p.labels().get(ROLE_LABEL).map(String::as_str) == Some("canary")
                && p.metadata.deletion_timestamp.is_none()
        })
        .collect();
    let restarts: i32 = pods.iter().map(|p| restarts(p)).sum();
    let mut errors = Vec::new();
    for pod in &pods {
        if let Ok(page) = tracker.metrics_page(pod).await {
            errors.push((uid(pod), errors_total(&page)));
        }
    }
    let now = Instant::now();
    let Ok(mut memory) = memory.lock() else { return Ok(()) };
    // Forget pods that are gone (of any app), so the memory stays as large as the pods are.
    let alive: HashSet<String> = tracker.pods().state().iter().map(|p| uid(p)).collect();
    memory.seen_ready.retain(|u| alive.contains(u));
    memory.errors.retain(|u, _| alive.contains(u));
    let unready = pods.iter().filter(|p| memory.seen_ready.contains(&uid(p)) && !ready(p)).count();
    for p in pods.iter().filter(|p| ready(p)) {
        memory.seen_ready.insert(uid(p));
    }
    let mut per_minute = 0.0;
    for (uid, total) in errors {
        if let Some((at, before)) = memory.errors.insert(uid, (now, total)) {
            let seconds = now.duration_since(at).as_secs_f64();
            if seconds > 0.0 && total >= before {
                per_minute += (total - before) * 60.0 / seconds;
            }
        }
    }
    verdict(spec, unready, restarts, per_minute)
}

/// The verdict of one measurement's figures (pure).
pub fn verdict(
    spec: &AnalysisSpec,
    unready: usize,
    restarts: i32,
    errors_per_minute: f64,
) -> Result<(), String> {
    let field = "upgrade.canary.analysis";
    if unready > usize::try_from(spec.max_unready_pods).unwrap_or(0) {
        return Err(format!(
            "readiness failures: {unready} canary pod(s) turned unready after being ready ({field}.maxUnreadyPods {})",
            spec.max_unready_pods
        ));
    }
    if restarts > spec.max_restarts {
        return Err(format!(
            "container restarts: {restarts} on the canary pods ({field}.maxRestarts {})",
            spec.max_restarts
        ));
    }
    if errors_per_minute > f64::from(spec.max_errors_per_minute) {
        return Err(format!(
            "error rate: {errors_per_minute:.0} errors/min of tetris_errors_total on the canary pods ({field}.maxErrorsPerMinute {})",
            spec.max_errors_per_minute
        ));
    }
    Ok(())
}

fn uid(pod: &Pod) -> String {
    pod.metadata.uid.clone().unwrap_or_else(|| pod.name_any())
}

fn ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map_or(0, |cs| cs.iter().map(|c| c.restart_count).sum())
}

/// The sum of every `tetris_errors_total` sample on a metrics page.
pub fn errors_total(page: &str) -> f64 {
    page.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(ERRORS_METRIC)?;
            let rest = match rest.chars().next()? {
                ' ' => rest,
                '{' => &rest[rest.find('}')? + 1..],
                _ => return None,
            };
            rest.split_whitespace().next()?.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> AnalysisSpec {
        AnalysisSpec {
            interval_seconds: 5,
            failure_limit: 0,
            max_unready_pods: 0,
            max_restarts: 1,
            max_errors_per_minute: 30,
        }
    }

    #[test]
    fn every_error_code_counts_and_other_metrics_do_not() {
        let page = "# TYPE tetris_errors counter\ntetris_errors_total{code=\"bad_message\"} 3\ntetris_errors_total{code=\"injected_fault\"} 40\ntetris_errors_created 17\ntetris_rooms 2\n";
        assert_eq!(errors_total(page), 43.0);
        assert_eq!(errors_total("tetris_rooms 2\n"), 0.0);
    }

    #[test]
    fn the_verdict_names_the_check_that_failed_and_the_field() {
        assert_eq!(verdict(&spec(), 0, 1, 30.0), Ok(()));
        let unready = verdict(&spec(), 1, 0, 0.0).expect_err("one unready pod");
        assert!(
            unready.starts_with("readiness failures: 1") && unready.contains("maxUnreadyPods 0"),
            "{unready}"
        );
        let restarts = verdict(&spec(), 0, 2, 0.0).expect_err("two restarts");
        assert!(restarts.contains("maxRestarts 1"), "{restarts}");
        let errors = verdict(&spec(), 0, 0, 60.0).expect_err("60 errors a minute");
        assert!(
            errors.starts_with("error rate: 60 errors/min") && errors.contains("maxErrorsPerMinute 30"),
            "{errors}"
        );
    }
}
