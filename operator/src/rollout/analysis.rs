//! The canary analysis (needs the pod network): one measurement of the canary pods' own signals
//! against `spec.upgrade.canary.analysis`.
//!
//! - readiness failures: canary pods seen Ready at an earlier measurement and not Ready now (a
//!   pod that never gets Ready keeps its Deployment from settling, and the progress deadline
//!   covers that);
//! - restarts: the containers' restart counts, summed over the canary pods;
//! - errors: the rate of `tetris_errors_total` (all codes) between this measurement and the last,
//!   summed over the canary pods, per minute;
//! - aborted matches (optional): the increase of `tetris_matches_aborted_total` (all reasons)
//!   between this measurement and the last, summed over the canary pods.
//!
//! - the HTTP check (optional): a team's own metric, a number in a JSON answer held against a
//!   condition. An answer that cannot be read, is not JSON or lacks the number says nothing about
//!   the new version, so it is *inconclusive* (the rollout pauses for a human), not a failure.
//!
//! What was seen before (Ready pods, error counters) is kept in memory: after an operator restart
//! the first measurement only takes the baseline for those two checks.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Instant;

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;

use super::api::{AnalysisSpec, HttpCheck};
use super::canary::ROLE_LABEL;
use super::deletion_cost::Tracker;
use crate::meta::{APP_LABEL, Parent};

/// The game server's error counter (its samples, one per code).
const ERRORS_METRIC: &str = "tetris_errors_total";
/// The game server's counter of matches it cut short (one sample per reason).
const ABORTED_METRIC: &str = "tetris_matches_aborted_total";

/// What earlier measurements saw, per pod UID.
#[derive(Default)]
pub struct Memory {
    seen_ready: HashSet<String>,
    errors: HashMap<String, (Instant, f64)>,
    aborted: HashMap<String, f64>,
}

/// One measurement's figures, over the canary pods.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Figures {
    /// Pods that turned unready after being seen Ready.
    pub unready: usize,
    /// Container restarts.
    pub restarts: i32,
    /// Errors per minute since the last measurement.
    pub errors_per_minute: f64,
    /// Matches aborted since the last measurement.
    pub aborted_matches: f64,
}

/// What one measurement found.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Every check passed.
    Pass,
    /// A check failed: which, with its figure and the field holding its threshold.
    Fail(String),
    /// A check could not tell: which, and why.
    Inconclusive(String),
}

/// One measurement: the built-in checks, then (if they pass) the HTTP check. `field` is where
/// `spec` is in the TetrisApp, for the messages.
pub async fn measure(
    tracker: &Tracker,
    memory: &Mutex<Memory>,
    parent: &Parent,
    spec: &AnalysisSpec,
    field: &str,
) -> Verdict {
    let builtin = match figures(tracker, memory, parent).await {
        Some(f) => verdict(spec, field, &f),
        None => Ok(()),
    };
    match (builtin, &spec.http) {
        (Err(failed), _) => Verdict::Fail(failed),
        (Ok(()), None) => Verdict::Pass,
        (Ok(()), Some(check)) => {
            let answer = tracker.fetch(&check.url).await.map_err(|e| e.to_string());
            http_verdict(check, field, answer)
        }
    }
}

async fn figures(tracker: &Tracker, memory: &Mutex<Memory>, parent: &Parent) -> Option<Figures> {
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
    let mut pages = Vec::new();
    for pod in &pods {
        if let Ok(page) = tracker.metrics_page(pod).await {
            pages.push((uid(pod), counter_total(&page, ERRORS_METRIC), counter_total(&page, ABORTED_METRIC)));
        }
    }
    let now = Instant::now();
    let Ok(mut memory) = memory.lock() else { return None };
    // Forget pods that are gone (of any app), so the memory stays as large as the pods are.
    let alive: HashSet<String> = tracker.pods().state().iter().map(|p| uid(p)).collect();
    memory.seen_ready.retain(|u| alive.contains(u));
    memory.errors.retain(|u, _| alive.contains(u));
    memory.aborted.retain(|u, _| alive.contains(u));
    let unready = pods.iter().filter(|p| memory.seen_ready.contains(&uid(p)) && !ready(p)).count();
    for p in pods.iter().filter(|p| ready(p)) {
        memory.seen_ready.insert(uid(p));
    }
    let mut per_minute = 0.0;
    let mut aborted_matches = 0.0;
    for (uid, errors, aborted) in pages {
        if let Some((at, before)) = memory.errors.insert(uid.clone(), (now, errors)) {
            let seconds = now.duration_since(at).as_secs_f64();
            if seconds > 0.0 && errors >= before {
                per_minute += (errors - before) * 60.0 / seconds;
            }
        }
        // A counter that went down belongs to a restarted container: its restart is counted.
        if let Some(before) = memory.aborted.insert(uid, aborted).filter(|b| aborted >= *b) {
            aborted_matches += aborted - before;
        }
    }
    Some(Figures { unready, restarts, errors_per_minute: per_minute, aborted_matches })
}

/// The verdict of one measurement's figures (pure): `Err` names the failed check, its figure and
/// the field (under `field`) holding its threshold.
pub fn verdict(spec: &AnalysisSpec, field: &str, figures: &Figures) -> Result<(), String> {
    let Figures { unready, restarts, errors_per_minute, aborted_matches } = *figures;
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
    if let Some(max) = spec.max_aborted_matches.filter(|max| aborted_matches > f64::from(*max)) {
        return Err(format!(
            "matches aborted: {aborted_matches:.0} cut short on the canary pods since the last measurement (tetris_matches_aborted_total; {field}.maxAbortedMatches {max})"
        ));
    }
    Ok(())
}

/// The verdict of the HTTP check on an answer (or why there was none) (pure).
pub fn http_verdict(check: &HttpCheck, field: &str, answer: Result<String, String>) -> Verdict {
    let url = &check.url;
    let path = &check.json_path;
    let inconclusive = |why: String| Verdict::Inconclusive(format!("http check {url}: {why}"));
    let body = match answer {
        Ok(body) => body,
        Err(e) => return inconclusive(format!("no answer ({e})")),
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&body) else {
        return inconclusive("the answer is not JSON".to_owned());
    };
    let Some(value) = number_at(&json, path) else {
        return inconclusive(format!("the answer has no number at {path} ({field}.http.jsonPath)"));
    };
    let Some(holds) = condition_holds(&check.condition, value) else {
        return inconclusive(format!(
            "cannot read the condition {:?} ({field}.http.condition)",
            check.condition
        ));
    };
    if holds {
        Verdict::Pass
    } else {
        Verdict::Fail(format!(
            "http check: {path} is {value} at {url}, not {} ({field}.http.condition)",
            check.condition
        ))
    }
}

/// The number at a dotted path of field names and list indexes; a string holding a number counts
/// (Prometheus answers sample values as strings).
fn number_at(json: &serde_json::Value, path: &str) -> Option<f64> {
    let mut at = json;
    for key in path.split('.') {
        at = match at {
            serde_json::Value::Object(map) => map.get(key)?,
            serde_json::Value::Array(list) => list.get(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    let n = match at {
        serde_json::Value::Number(n) => n.as_f64()?,
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    n.is_finite().then_some(n)
}

/// Whether `value` meets a condition such as `< 0.05`; `None` when the condition cannot be read.
fn condition_holds(condition: &str, value: f64) -> Option<bool> {
    let c = condition.trim();
    // Two-character operators first, so `<=` is not read as `<` and `=0`.
    let (op, rest) = ["<=", ">=", "==", "!=", "<", ">"]
        .iter()
        .find_map(|op| c.strip_prefix(op).map(|rest| (*op, rest)))?;
    let threshold = rest.trim().parse::<f64>().ok()?;
    Some(match op {
        "<" => value < threshold,
        "<=" => value <= threshold,
        ">" => value > threshold,
        ">=" => value >= threshold,
        "==" => value == threshold,
        _ => value != threshold,
    })
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

/// The sum of every sample of the counter `metric` on a metrics page.
pub fn counter_total(page: &str, metric: &str) -> f64 {
    page.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(metric)?;
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
            max_aborted_matches: None,
            http: None,
        }
    }

    fn http(condition: &str) -> HttpCheck {
        HttpCheck {
            url: "http://127.0.0.1:9/rate".into(),
            json_path: "data.result.0.value.1".into(),
            condition: condition.into(),
        }
    }

    const PROMETHEUS: &str = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"0.02"]}]}}"#;

    #[test]
    fn the_http_check_holds_the_number_at_the_path_against_the_condition() {
        assert_eq!(http_verdict(&http("< 0.05"), FIELD, Ok(PROMETHEUS.into())), Verdict::Pass);
        assert_eq!(
            http_verdict(&http("<=0.02"), FIELD, Ok(PROMETHEUS.into())),
            Verdict::Pass,
            "<= is not < then ="
        );
        let Verdict::Fail(failed) = http_verdict(&http(">= 1"), FIELD, Ok(PROMETHEUS.into())) else {
            panic!("0.02 >= 1 fails")
        };
        assert!(failed.contains("data.result.0.value.1 is 0.02") && failed.contains("not >= 1"), "{failed}");
        let plain = HttpCheck { json_path: "errorRate".into(), ..http("== 0") };
        assert_eq!(http_verdict(&plain, FIELD, Ok(r#"{"errorRate": 0}"#.into())), Verdict::Pass);
    }

    #[test]
    fn an_answer_that_cannot_be_read_or_lacks_the_field_is_inconclusive() {
        let said = |answer: Result<String, String>| match http_verdict(&http("< 0.05"), FIELD, answer) {
            Verdict::Inconclusive(why) => why,
            other => panic!("inconclusive expected, got {other:?}"),
        };
        assert!(said(Err("connection refused".into())).contains("no answer (connection refused)"));
        assert!(said(Ok("<html>".into())).contains("not JSON"));
        let missing = said(Ok(r#"{"data":{"result":[]}}"#.into()));
        assert!(
            missing.contains("no number at data.result.0.value.1") && missing.contains("http.jsonPath"),
            "{missing}"
        );
        assert!(said(Ok(r#"{"data":{"result":[{"value":[1,"NaN"]}]}}"#.into())).contains("no number"));
    }

    #[test]
    fn every_error_code_counts_and_other_metrics_do_not() {
        let page = "# TYPE tetris_errors counter\ntetris_errors_total{code=\"bad_message\"} 3\ntetris_errors_total{code=\"injected_fault\"} 40\ntetris_errors_created 17\ntetris_rooms 2\n";
        assert_eq!(counter_total(page, ERRORS_METRIC), 43.0);
        assert_eq!(counter_total("tetris_rooms 2\n", ERRORS_METRIC), 0.0);
        let aborted = "tetris_matches_aborted_total{reason=\"opponent_disconnected\"} 2\ntetris_matches_aborted_total{reason=\"server_shutdown\"} 1\ntetris_matches_playing 4\n";
        assert_eq!(counter_total(aborted, ABORTED_METRIC), 3.0);
    }

    #[test]
    fn aborted_matches_over_the_threshold_fail_and_absent_does_not_check() {
        let figures = Figures { aborted_matches: 2.0, ..Figures::default() };
        assert_eq!(verdict(&spec(), "upgrade.canary.analysis", &figures), Ok(()), "not asked for");
        let strict = AnalysisSpec { max_aborted_matches: Some(1), ..spec() };
        let failed = verdict(&strict, "upgrade.blueGreen.analysis", &figures).expect_err("2 > 1");
        assert!(
            failed.starts_with("matches aborted: 2")
                && failed.contains("upgrade.blueGreen.analysis.maxAbortedMatches 1"),
            "{failed}"
        );
        assert_eq!(verdict(&strict, "f", &Figures { aborted_matches: 1.0, ..Figures::default() }), Ok(()));
    }

    const FIELD: &str = "upgrade.canary.analysis";

    #[test]
    fn the_verdict_names_the_check_that_failed_and_the_field() {
        assert_eq!(
            verdict(
                &spec(),
                FIELD,
                &Figures { unready: 0, restarts: 1, errors_per_minute: 30.0, aborted_matches: 0.0 }
            ),
            Ok(())
        );
        let unready = verdict(
            &spec(),
            FIELD,
            &Figures { unready: 1, restarts: 0, errors_per_minute: 0.0, aborted_matches: 0.0 },
        )
        .expect_err("one unready pod");
        assert!(
            unready.starts_with("readiness failures: 1") && unready.contains("maxUnreadyPods 0"),
            "{unready}"
        );
        let restarts = verdict(
            &spec(),
            FIELD,
            &Figures { unready: 0, restarts: 2, errors_per_minute: 0.0, aborted_matches: 0.0 },
        )
        .expect_err("two restarts");
        assert!(restarts.contains("maxRestarts 1"), "{restarts}");
        let errors = verdict(
            &spec(),
            FIELD,
            &Figures { unready: 0, restarts: 0, errors_per_minute: 60.0, aborted_matches: 0.0 },
        )
        .expect_err("60 errors a minute");
        assert!(
            errors.starts_with("error rate: 60 errors/min") && errors.contains("maxErrorsPerMinute 30"),
            "{errors}"
        );
    }
}
