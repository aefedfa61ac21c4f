//! Leader election through a `coordination.k8s.io/v1` Lease, so two operator replicas never
//! reconcile at once (kube-rs has none built in).
//!
//! The algorithm is client-go's: a candidate takes the Lease when it is free or when its record
//! (holder, renew time, transitions) has not changed for `lease_duration` as measured by the
//! candidate's own monotonic clock, so clocks of different machines never need to agree. Every write
//! carries the resourceVersion it was based on, so of two candidates racing for the Lease exactly one
//! wins. The leader renews every `retry`; if it cannot renew for `renew_deadline` (shorter than the
//! lease duration) it gives up before anyone else may take over. On graceful shutdown it releases
//! the Lease so a standby takes over at once.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use kube::{Client, ResourceExt};
use tracing::{debug, info, warn};

use crate::{Error, Result};

/// Timing and identity of one candidate.
#[derive(Debug, Clone)]
pub struct LeaseSettings {
    /// Name of the Lease object.
    pub name: String,
    /// Namespace of the Lease object.
    pub namespace: String,
    /// This candidate's identity (unique per process).
    pub identity: String,
    /// How long a Lease stays valid without renewal.
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before it gives up leadership.
    pub renew_deadline: Duration,
    /// Pause between attempts to acquire or renew.
    pub retry: Duration,
}

/// What a candidate should do about the Lease it just read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// No Lease exists: create it holding it.
    Create,
    /// Take it over (free, expired, or ours already).
    Acquire,
    /// Someone else holds a valid Lease: wait.
    Wait,
}

/// Decides from the Lease and how long its record has been unchanged (by our clock).
pub fn decide(
    lease: Option<&Lease>,
    identity: &str,
    unchanged_for: Duration,
    lease_duration: Duration,
) -> Decision {
    let Some(lease) = lease else { return Decision::Create };
    let spec = lease.spec.as_ref();
    let holder = spec.and_then(|s| s.holder_identity.as_deref()).unwrap_or("");
    if holder.is_empty() || holder == identity {
        return Decision::Acquire;
    }
    let duration = spec
        .and_then(|s| s.lease_duration_seconds)
        .and_then(|s| u64::try_from(s).ok())
        .map_or(lease_duration, Duration::from_secs);
    if unchanged_for >= duration { Decision::Acquire } else { Decision::Wait }
}

/// Reads the [`Fingerprint`] of a Lease.
fn fingerprint(lease: &Lease) -> Fingerprint {
    let spec = lease.spec.as_ref();
    (
        spec.and_then(|s| s.holder_identity.clone()),
        spec.and_then(|s| s.renew_time.as_ref()).map(|t| t.0.to_string()),
        spec.and_then(|s| s.lease_transitions),
    )
}

/// One candidate for the Lease.
pub struct LeaderElector {
    api: Api<Lease>,
    settings: LeaseSettings,
    /// The last record seen and when (by our clock) it was first seen.
    observed: Option<(Fingerprint, Instant)>,
}

impl LeaderElector {
    /// A candidate using `client` for the Lease API.
    pub fn new(client: Client, settings: LeaseSettings) -> LeaderElector {
        let api = Api::namespaced(client, &settings.namespace);
        LeaderElector { api, settings, observed: None }
    }

    /// Waits until this candidate holds the Lease. Errors reading the Lease are retried.
    pub async fn acquire(&mut self) {
        let mut logged_wait = false;
        loop {
            let attempt = tokio::time::timeout(self.settings.renew_deadline, self.try_acquire_or_renew())
                .await
                .unwrap_or_else(|_| Err(Error::LeaseTimeout(self.settings.renew_deadline)));
            match attempt {
                Ok(true) => {
                    info!(lease = %self.settings.name, identity = %self.settings.identity, "became leader");
                    return;
                }
                Ok(false) => {
                    if !logged_wait {
                        info!(lease = %self.settings.name, "another replica leads; standing by");
                        logged_wait = true;
                    }
                }
                Err(e) => warn!(error = %e, "leader election: could not read or write the lease"),
            }
            tokio::time::sleep(self.settings.retry).await;
        }
    }

    /// Renews the Lease until renewing fails for longer than the renew deadline (or someone else
    /// took it); returns the error that ended leadership.
    pub async fn hold(&mut self) -> Error {
        let mut last_renew = Instant::now();
        loop {
            tokio::time::sleep(self.settings.retry).await;
            // A stalled API server keeps the request open; without a bound, a leader could go on
            // reconciling past the point where another replica may take the Lease.
            let attempt = tokio::time::timeout(self.settings.renew_deadline, self.try_acquire_or_renew())
                .await
                .unwrap_or_else(|_| Err(Error::LeaseTimeout(self.settings.renew_deadline)));
            match attempt {
                Ok(true) => last_renew = Instant::now(),
                Ok(false) => return Error::LostLeadership(self.settings.name.clone()),
                Err(e) => {
                    warn!(error = %e, "leader election: renew failed");
                    if last_renew.elapsed() >= self.settings.renew_deadline {
                        return Error::LostLeadership(self.settings.name.clone());
                    }
                }
            }
        }
    }

    /// Gives the Lease up so a standby can take over without waiting for it to expire.
    pub async fn release(&mut self) -> Result<()> {
        let Some(mut lease) = self.api.get_opt(&self.settings.name).await.map_err(lease_error)? else {
            return Ok(());
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        if spec.holder_identity.as_deref() != Some(self.settings.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(now());
        self.api.replace(&self.settings.name, &PostParams::default(), &lease).await.map_err(lease_error)?;
        info!(lease = %self.settings.name, "released leadership");
        Ok(())
    }

    /// One round: read the Lease, then create, take or renew it if the decision says so.
    /// `Ok(true)` when we hold it afterwards.
    async fn try_acquire_or_renew(&mut self) -> Result<bool> {
        let current = self.api.get_opt(&self.settings.name).await.map_err(lease_error)?;
        let unchanged_for = match &current {
            Some(lease) => {
                let fp = fingerprint(lease);
                match &self.observed {
                    Some((seen, since)) if *seen == fp => since.elapsed(),
                    _ => {
                        self.observed = Some((fp, Instant::now()));
                        Duration::ZERO
                    }
                }
            }
            None => Duration::ZERO,
        };
        let decision =
            decide(current.as_ref(), &self.settings.identity, unchanged_for, self.settings.lease_duration);
        debug!(?decision, "leader election");
        let s = &self.settings;
        let result = match (decision, current) {
            (Decision::Wait, _) => return Ok(false),
            (Decision::Create, _) => {
                let lease = Lease {
                    metadata: ObjectMeta { name: Some(s.name.clone()), ..ObjectMeta::default() },
                    spec: Some(self.spec(None, 0)),
                };
                self.api.create(&PostParams::default(), &lease).await
            }
            (Decision::Acquire, Some(mut lease)) => {
                let old = lease.spec.clone().unwrap_or_default();
                let ours = old.holder_identity.as_deref() == Some(s.identity.as_str());
                let transitions = old.lease_transitions.unwrap_or(0) + i32::from(!ours);
                lease.spec = Some(self.spec(if ours { old.acquire_time } else { None }, transitions));
                // replace sends the resourceVersion we read: a concurrent writer makes this a 409.
                self.api.replace(&lease.name_any(), &PostParams::default(), &lease).await
            }
            (Decision::Acquire, None) => return Ok(false),
        };
        match result {
            Ok(lease) => {
                self.observed = Some((fingerprint(&lease), Instant::now()));
                Ok(true)
            }
            Err(kube::Error::Api(status)) if status.is_conflict() || status.is_already_exists() => Ok(false),
            Err(e) => Err(lease_error(e)),
        }
    }

    fn spec(&self, acquire_time: Option<MicroTime>, transitions: i32) -> LeaseSpec {
        let seconds = i32::try_from(self.settings.lease_duration.as_secs()).unwrap_or(i32::MAX);
        LeaseSpec {
            holder_identity: Some(self.settings.identity.clone()),
            lease_duration_seconds: Some(seconds),
            acquire_time: Some(acquire_time.unwrap_or_else(now)),
            renew_time: Some(now()),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }
}

fn lease_error(e: kube::Error) -> Error {
    Error::Lease(Box::new(e))
}

/// The part of a Lease that changes whenever its holder renews or changes: holder, renew time, transitions.
type Fingerprint = (Option<String>, Option<String>, Option<i32>);

fn now() -> MicroTime {
    MicroTime(k8s_openapi::jiff::Timestamp::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(holder: Option<&str>, duration: i32) -> Lease {
        Lease {
            metadata: ObjectMeta::default(),
            spec: Some(LeaseSpec {
                holder_identity: holder.map(str::to_owned),
                lease_duration_seconds: Some(duration),
                ..LeaseSpec::default()
            }),
        }
    }

    const D: Duration = Duration::from_secs(15);

    #[test]
    fn no_lease_means_create() {
        assert_eq!(decide(None, "a", Duration::ZERO, D), Decision::Create);
    }

    #[test]
    fn a_valid_lease_of_another_holder_means_wait() {
        assert_eq!(decide(Some(&lease(Some("b"), 15)), "a", Duration::from_secs(14), D), Decision::Wait);
    }

    #[test]
    fn an_expired_lease_is_taken_over() {
        assert_eq!(decide(Some(&lease(Some("b"), 15)), "a", Duration::from_secs(15), D), Decision::Acquire);
    }

    #[test]
    fn the_lease_holders_own_duration_counts_not_ours() {
        assert_eq!(decide(Some(&lease(Some("b"), 30)), "a", Duration::from_secs(20), D), Decision::Wait);
        assert_eq!(decide(Some(&lease(Some("b"), 1)), "a", Duration::from_secs(1), D), Decision::Acquire);
    }

    #[test]
    fn our_own_or_a_released_lease_is_acquired_at_once() {
        assert_eq!(decide(Some(&lease(Some("a"), 15)), "a", Duration::ZERO, D), Decision::Acquire);
        assert_eq!(decide(Some(&lease(None, 1)), "a", Duration::ZERO, D), Decision::Acquire);
        assert_eq!(decide(Some(&lease(Some(""), 15)), "a", Duration::ZERO, D), Decision::Acquire);
    }

    #[test]
    fn fingerprint_changes_when_the_holder_renews() {
        let mut l = lease(Some("b"), 15);
        let before = fingerprint(&l);
        if let Some(s) = l.spec.as_mut() {
            s.renew_time = Some(now());
        }
        assert_ne!(before, fingerprint(&l));
    }
}
