//! What the analysis has said about a rollout so far (pure): the failed measurements and the
//! abort they made, shared by Canary and BlueGreen, and a canary step's passing and inconclusive
//! measurements. All of it lives in `status.rollout`, so an operator restart loses none of it.

use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;

use super::analysis::Verdict;
use super::api::{AnalysisSpec, RETRY_ANNOTATION, RolloutStatus};
use crate::crd::TetrisApp;

/// The analysis' failures of this rollout, and an abort it made, which holds until a new retry
/// token (annotation or `spec.upgrade.retry`) arrives (shared by Canary and BlueGreen).
pub(super) struct Tally {
    /// Failed measurements so far, this reconcile's included.
    pub failures: i32,
    /// The check that failed in this reconcile's measurement.
    pub failed_check: Option<String>,
    /// An abort by the analysis that no new retry token has lifted.
    pub held: bool,
    /// Failures that the limit does not tolerate.
    pub over_limit: bool,
    analysed_at: Option<String>,
    retry: Option<String>,
}

impl Tally {
    pub(super) fn of(
        app: &TetrisApp,
        old: &RolloutStatus,
        same: bool,
        analysis: Option<&AnalysisSpec>,
        measured: Option<&Verdict>,
        now: Timestamp,
    ) -> Tally {
        let limit = analysis.map_or(i32::MAX, |a| a.failure_limit);
        let retry =
            app.annotations().get(RETRY_ANNOTATION).cloned().or_else(|| app.spec.upgrade.retry.clone());
        let auto_aborted = same && old.aborted && old.analysis_failures > limit;
        let retried = auto_aborted && retry != old.retry;
        let held = auto_aborted && !retried;
        let mut failures = if same && (!old.aborted || held) { old.analysis_failures } else { 0 };
        let mut failed_check = None;
        if let Some(Verdict::Fail(check)) = measured.filter(|_| !held) {
            failures += 1;
            failed_check = Some(check.clone());
        }
        let analysed_at = if measured.is_some() {
            Some(now.to_string())
        } else if same && !retried {
            old.analysed_at.clone()
        } else {
            None
        };
        Tally { failures, failed_check, held, over_limit: failures > limit, analysed_at, retry }
    }

    /// Whether the analysis aborts (or keeps aborted) the rollout.
    pub(super) fn aborts(&self) -> bool {
        self.held || self.over_limit
    }

    /// The status fields every plan of this rollout carries.
    pub(super) fn base(&self, stable_version: &str, version: &str) -> RolloutStatus {
        RolloutStatus {
            stable_version: Some(stable_version.to_owned()),
            canary_version: Some(version.to_owned()),
            analysis_failures: self.failures,
            analysed_at: self.analysed_at.clone(),
            retry: self.retry.clone(),
            ..RolloutStatus::default()
        }
    }
}

/// What the analysis has said during the step under way.
pub(super) struct AnalysisProgress {
    /// The step the rollout was at before this reconcile, when it carries on.
    step: Option<usize>,
    /// Measurements in a row that passed at that step (this reconcile's included).
    passes: i32,
    /// The inconclusive check that holds the rollout, until promoted.
    pub(super) inconclusive: Option<String>,
}

impl AnalysisProgress {
    pub(super) fn of(
        old: &RolloutStatus,
        resume: bool,
        step: usize,
        measured: Option<&Verdict>,
        promoted: bool,
    ) -> AnalysisProgress {
        let mut passes = if resume { old.analysis_passes } else { 0 };
        match measured {
            Some(Verdict::Pass) => passes += 1,
            Some(Verdict::Fail(_)) => passes = 0,
            _ => {}
        }
        let inconclusive = match measured {
            Some(Verdict::Inconclusive(why)) => Some(why.clone()),
            _ if resume => old.inconclusive.clone(),
            _ => None,
        };
        AnalysisProgress {
            step: resume.then_some(step),
            passes,
            inconclusive: inconclusive.filter(|_| !promoted),
        }
    }

    /// Passing measurements counted for `step` (none for a step just reached).
    pub(super) fn passes_at(&self, step: usize) -> i32 {
        if self.step == Some(step) { self.passes } else { 0 }
    }
}
