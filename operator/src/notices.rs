//! The Events a change of a TetrisApp's status is worth (pure, no client): the first deployment, a
//! version change starting, finishing (as an upgrade or a rollback) or being abandoned, and a
//! `Degraded` condition appearing or changing its reason.
//!
//! Like the status, the Events depend only on the old and the new status, never on why a reconcile
//! ran, so a reconcile that writes no status records no Event.
//!
//! | Reason             | When                                                                    |
//! |--------------------|-------------------------------------------------------------------------|
//! | `Deployed`         | `status.version` is set for the first time                              |
//! | `UpgradeStarted`   | `status.targetVersion` moves away from the running version              |
//! | `UpgradeAbandoned` | `status.targetVersion` returns to the running version mid-rollout       |
//! | `Upgraded`         | `status.version` changes to a higher version                            |
//! | `RolledBack`       | `status.version` changes to a lower version                             |
//! | `VersionChanged`   | `status.version` changes between versions of the same precedence, or not comparable |
//! | `InvalidSpec`, `ApplyFailed`, `RolloutStuck`, `RolloutAborted` | `Degraded` turns True or changes its reason (Warning) |
//!
//! "Upgrade" means any change of `spec.version`, as in the design: `UpgradeStarted` and
//! `UpgradeAbandoned` are recorded for a change to a lower version too, with a note that says
//! "rolling back". Only a finished change is told apart by direction ([`crate::version::precedence`]),
//! because that is when the running version, the thing a human asks about, actually moved.

use std::cmp::Ordering;

use crate::crd::TetrisAppStatus;
use crate::status::{DEGRADED, find};
use crate::version::precedence;

/// An Event worth recording about a status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Warning rather than Normal.
    pub warning: bool,
    /// Machine-readable reason (CamelCase).
    pub reason: &'static str,
    /// What happened, for humans.
    pub note: String,
}

impl Notice {
    fn normal(reason: &'static str, note: String) -> Notice {
        Notice { warning: false, reason, note }
    }
}

/// The Events the change from `old` to `new` is worth, in the order they should be recorded.
pub fn for_change(old: &TetrisAppStatus, new: &TetrisAppStatus) -> Vec<Notice> {
    [target_change(old, new), version_change(old, new), degradation(old, new)].into_iter().flatten().collect()
}

/// A rollout starting, or an unfinished one called off, while some version runs. Nothing is said
/// before the first version runs: `Deployed` covers that.
fn target_change(old: &TetrisAppStatus, new: &TetrisAppStatus) -> Option<Notice> {
    let running = old.version.as_deref()?;
    let before = old.target_version.as_deref()?;
    let target = new.target_version.as_deref()?;
    if before == target {
        None
    } else if target != running {
        let note = match precedence(target, running) {
            Some(Ordering::Less) => format!("rolling back from version {running} to {target}"),
            Some(Ordering::Greater) => format!("upgrading from version {running} to {target}"),
            // Same precedence (`1.0.0` and `v1.0.0`) or not comparable.
            _ => format!("changing version from {running} to {target}"),
        };
        Some(Notice::normal("UpgradeStarted", note))
    } else {
        // spec.version went back to the running version while `before` was still rolling out; the
        // Deployment replaces whatever new pods there were, and `status.version` never moved.
        Some(Notice::normal(
            "UpgradeAbandoned",
            format!(
                "rollout of version {before} abandoned before it finished; \
                 spec.version is back to {running}, which keeps running"
            ),
        ))
    }
}

/// The running version set for the first time or changed by a finished rollout.
fn version_change(old: &TetrisAppStatus, new: &TetrisAppStatus) -> Option<Notice> {
    let to = new.version.as_deref()?;
    let Some(from) = old.version.as_deref() else {
        return Some(Notice::normal("Deployed", format!("version {to} is running")));
    };
    if from == to {
        return None;
    }
    Some(match precedence(from, to) {
        Some(Ordering::Less) => Notice::normal("Upgraded", format!("upgraded from version {from} to {to}")),
        Some(Ordering::Greater) => {
            Notice::normal("RolledBack", format!("rolled back from version {from} to {to}"))
        }
        // Same precedence (`v1.0.0` and `1.0.0`) or not comparable: neither word would be true.
        Some(Ordering::Equal) | None => {
            Notice::normal("VersionChanged", format!("version changed from {from} to {to}"))
        }
    })
}

/// A Warning when `Degraded` turns True or changes its reason.
fn degradation(old: &TetrisAppStatus, new: &TetrisAppStatus) -> Option<Notice> {
    let degraded = |s: &TetrisAppStatus| {
        find(s, DEGRADED).filter(|c| c.status == "True").map(|c| (c.reason.clone(), c.message.clone()))
    };
    let (reason, message) = degraded(new)?;
    if degraded(old).is_some_and(|(r, _)| r == reason) {
        return None;
    }
    let reason = match reason.as_str() {
        "InvalidSpec" => "InvalidSpec",
        "ApplyFailed" => "ApplyFailed",
        "APINotServed" => "APINotServed",
        "RouteNotAccepted" => "RouteNotAccepted",
        "RouteRefsNotResolved" => "RouteRefsNotResolved",
        "RolloutAborted" => "RolloutAborted",
        _ => "RolloutStuck",
    };
    Some(Notice { warning: true, reason, note: message })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

    /// A status running `version` (if any) and rolling out to `target`.
    fn at(version: Option<&str>, target: &str) -> TetrisAppStatus {
        TetrisAppStatus {
            version: version.map(str::to_owned),
            target_version: Some(target.to_owned()),
            ..Default::default()
        }
    }

    fn degraded(mut s: TetrisAppStatus, reason: &str) -> TetrisAppStatus {
        s.conditions.push(Condition {
            type_: DEGRADED.to_owned(),
            status: "True".to_owned(),
            reason: reason.to_owned(),
            message: format!("{reason} happened"),
            observed_generation: Some(1),
            last_transition_time: Time("2026-01-01T00:00:00Z".parse().expect("timestamp")),
        });
        s
    }

    fn reasons(old: &TetrisAppStatus, new: &TetrisAppStatus) -> Vec<&'static str> {
        for_change(old, new).into_iter().map(|n| n.reason).collect()
    }

    fn only(old: &TetrisAppStatus, new: &TetrisAppStatus) -> Notice {
        let mut notices = for_change(old, new);
        assert_eq!(notices.len(), 1, "{notices:?}");
        notices.remove(0)
    }

    #[test]
    fn first_version_running_is_deployed() {
        let n = only(&TetrisAppStatus::default(), &at(Some("1.0.0"), "1.0.0"));
        assert_eq!((n.reason, n.note.as_str()), ("Deployed", "version 1.0.0 is running"));
        assert!(!n.warning);
        assert!(reasons(&at(None, "1.0.0"), &at(None, "1.0.0")).is_empty(), "still rolling out");
    }

    #[test]
    fn no_change_records_nothing() {
        let s = at(Some("1.0.0"), "1.1.0");
        assert!(reasons(&s, &s).is_empty());
        assert!(reasons(&TetrisAppStatus::default(), &TetrisAppStatus::default()).is_empty());
    }

    #[test]
    fn upgrade_records_started_then_upgraded() {
        let n = only(&at(Some("1.0.0"), "1.0.0"), &at(Some("1.0.0"), "1.1.0"));
        assert_eq!((n.reason, n.note.as_str()), ("UpgradeStarted", "upgrading from version 1.0.0 to 1.1.0"));
        let n = only(&at(Some("1.0.0"), "1.1.0"), &at(Some("1.1.0"), "1.1.0"));
        assert_eq!((n.reason, n.note.as_str()), ("Upgraded", "upgraded from version 1.0.0 to 1.1.0"));
    }

    #[test]
    fn a_start_between_versions_of_the_same_rank_or_not_comparable_says_changing() {
        let n = only(&at(Some("1.0.0"), "1.0.0"), &at(Some("1.0.0"), "v1.0.0"));
        assert_eq!((n.reason, n.note.as_str()), ("UpgradeStarted", "changing version from 1.0.0 to v1.0.0"));
        let n = only(&at(Some("1.0.0"), "1.0.0"), &at(Some("1.0.0"), "latest"));
        assert_eq!((n.reason, n.note.as_str()), ("UpgradeStarted", "changing version from 1.0.0 to latest"));
    }

    #[test]
    fn a_finished_change_to_a_lower_version_is_rolled_back_not_upgraded() {
        let n = only(&at(Some("1.1.0"), "1.1.0"), &at(Some("1.1.0"), "1.0.0"));
        assert_eq!(
            (n.reason, n.note.as_str()),
            ("UpgradeStarted", "rolling back from version 1.1.0 to 1.0.0")
        );
        let n = only(&at(Some("1.1.0"), "1.0.0"), &at(Some("1.0.0"), "1.0.0"));
        assert_eq!((n.reason, n.note.as_str()), ("RolledBack", "rolled back from version 1.1.0 to 1.0.0"));
        assert!(!n.warning, "a rollback someone asked for is not a problem");
    }

    #[test]
    fn versions_order_by_precedence_not_as_text() {
        assert_eq!(reasons(&at(Some("1.10.0"), "1.9.0"), &at(Some("1.9.0"), "1.9.0")), ["RolledBack"]);
        assert_eq!(reasons(&at(Some("1.9.0"), "1.10.0"), &at(Some("1.10.0"), "1.10.0")), ["Upgraded"]);
        assert_eq!(reasons(&at(Some("2.0.0-rc.1"), "2.0.0"), &at(Some("2.0.0"), "2.0.0")), ["Upgraded"]);
        assert_eq!(
            reasons(&at(Some("2.0.0"), "2.0.0-rc.1"), &at(Some("2.0.0-rc.1"), "2.0.0-rc.1")),
            ["RolledBack"]
        );
    }

    #[test]
    fn a_change_that_is_neither_higher_nor_lower_is_version_changed() {
        let n = only(&at(Some("1.0.0"), "v1.0.0"), &at(Some("v1.0.0"), "v1.0.0"));
        assert_eq!((n.reason, n.note.as_str()), ("VersionChanged", "version changed from 1.0.0 to v1.0.0"));
        // The schema forbids such tags; a status written by hand could still hold one.
        assert_eq!(reasons(&at(Some("latest"), "1.0.0"), &at(Some("1.0.0"), "1.0.0")), ["VersionChanged"]);
    }

    #[test]
    fn going_back_to_the_running_version_mid_rollout_is_upgrade_abandoned() {
        let n = only(&at(Some("1.0.0"), "1.1.0"), &at(Some("1.0.0"), "1.0.0"));
        assert_eq!(n.reason, "UpgradeAbandoned");
        assert_eq!(
            n.note,
            "rollout of version 1.1.0 abandoned before it finished; spec.version is back to 1.0.0, which keeps running"
        );
        assert!(!n.warning);
        // The same when the abandoned change was itself to a lower version.
        assert_eq!(reasons(&at(Some("1.1.0"), "1.0.0"), &at(Some("1.1.0"), "1.1.0")), ["UpgradeAbandoned"]);
    }

    #[test]
    fn redirecting_an_unfinished_rollout_starts_a_new_one_from_the_running_version() {
        let n = only(&at(Some("1.0.0"), "1.1.0"), &at(Some("1.0.0"), "1.2.0"));
        assert_eq!((n.reason, n.note.as_str()), ("UpgradeStarted", "upgrading from version 1.0.0 to 1.2.0"));
    }

    #[test]
    fn changing_the_target_of_a_first_rollout_records_nothing_until_deployed() {
        assert!(reasons(&at(None, "1.0.0"), &at(None, "1.1.0")).is_empty());
        assert_eq!(reasons(&at(None, "1.1.0"), &at(Some("1.1.0"), "1.1.0")), ["Deployed"]);
    }

    #[test]
    fn degraded_records_a_warning_once_per_reason() {
        let ok = at(Some("1.0.0"), "1.0.0");
        let invalid = degraded(ok.clone(), "InvalidSpec");
        let n = only(&ok, &invalid);
        assert!(n.warning);
        assert_eq!((n.reason, n.note.as_str()), ("InvalidSpec", "InvalidSpec happened"));
        assert!(reasons(&invalid, &invalid).is_empty());
        assert_eq!(reasons(&invalid, &degraded(ok.clone(), "ApplyFailed")), ["ApplyFailed"]);
        assert_eq!(reasons(&ok, &degraded(ok.clone(), "ProgressDeadlineExceeded")), ["RolloutStuck"]);
        assert!(reasons(&invalid, &ok).is_empty(), "Degraded clearing is no Warning");
    }

    #[test]
    fn abandoning_a_stuck_rollout_records_the_abandonment() {
        let stuck = degraded(at(Some("1.0.0"), "1.1.0"), "ProgressDeadlineExceeded");
        assert!(reasons(&stuck, &stuck).is_empty());
        assert_eq!(reasons(&stuck, &at(Some("1.0.0"), "1.0.0")), ["UpgradeAbandoned"]);
    }

    #[test]
    fn several_notices_of_one_change_come_version_first_then_warning() {
        let started_and_stuck = degraded(at(Some("1.0.0"), "1.1.0"), "ProgressDeadlineExceeded");
        assert_eq!(
            reasons(&at(Some("1.0.0"), "1.0.0"), &started_and_stuck),
            ["UpgradeStarted", "RolloutStuck"]
        );
    }
}
