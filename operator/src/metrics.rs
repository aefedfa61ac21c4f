//! Prometheus metrics of the operator: reconciles, failures, reconcile durations, writes by kind,
//! TetrisApps by condition, and whether this process leads.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Label set with one `kind` label (a Kubernetes kind or an error kind).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    /// The kind.
    pub kind: String,
}

/// Label set with one `condition` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConditionLabel {
    /// ready, progressing or degraded.
    pub condition: String,
}

/// Every metric the operator exports, registered in one registry.
pub struct Metrics {
    registry: Registry,
    reconciles: Counter<u64, AtomicU64>,
    failures: Family<KindLabel, Counter>,
    duration: Histogram,
    queue_wait: Histogram,
    leadership_lost: Counter<u64, AtomicU64>,
    writes: Family<KindLabel, Counter>,
    apps: Family<ConditionLabel, Gauge>,
    leader: Gauge,
    /// App key -> its state, to derive the by-condition gauge; a std Mutex because no await happens while it is held.
    states: Mutex<HashMap<String, &'static str>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates and registers every metric under the `tetris_operator` prefix.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("tetris_operator");
        let reconciles = Counter::default();
        let failures = Family::<KindLabel, Counter>::default();
        let buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
        let duration = Histogram::new(buckets);
        let queue_wait = Histogram::new(buckets);
        let leadership_lost = Counter::default();
        let writes = Family::<KindLabel, Counter>::default();
        let apps = Family::<ConditionLabel, Gauge>::default();
        let leader = Gauge::default();
        registry.register("reconciles", "Reconciles run", reconciles.clone());
        registry.register("reconcile_failures", "Reconciles that failed, by error kind", failures.clone());
        registry.register(
            "reconcile_duration_seconds",
            "Duration of one reconcile's own work (after the watch caches are loaded)",
            duration.clone(),
        );
        registry.register(
            "reconcile_queue_seconds",
            "Time from a TetrisApp's watch event to the start of the reconcile it caused",
            queue_wait.clone(),
        );
        registry.register(
            "leadership_lost",
            "Times this process stepped down because it could not renew the lease in time",
            leadership_lost.clone(),
        );
        registry.register("writes", "Writes to the API server, by object kind", writes.clone());
        registry.register("tetrisapps", "TetrisApps by condition", apps.clone());
        registry.register("leader", "1 while this process holds the leader lease", leader.clone());
        Metrics {
            registry,
            reconciles,
            failures,
            duration,
            queue_wait,
            leadership_lost,
            writes,
            apps,
            leader,
            states: Mutex::default(),
        }
    }

    /// Starts timing a reconcile; the duration is recorded when the guard drops.
    pub fn reconcile_started(&self) -> ReconcileTimer<'_> {
        self.reconciles.inc();
        ReconcileTimer { metrics: self, start: Instant::now() }
    }

    /// Records how long a TetrisApp's event waited in the queue before its reconcile started.
    pub fn queued(&self, wait: std::time::Duration) {
        self.queue_wait.observe(wait.as_secs_f64());
    }

    /// Counts one step-down after failing to renew the lease.
    pub fn lost_leadership(&self) {
        self.leadership_lost.inc();
    }

    /// Counts a failed reconcile.
    pub fn reconcile_failed(&self, kind: &str) {
        self.failures.get_or_create(&KindLabel { kind: kind.to_owned() }).inc();
    }

    /// Counts one write (apply, delete, status, event) of `kind`.
    pub fn wrote(&self, kind: &str) {
        self.writes.get_or_create(&KindLabel { kind: kind.to_owned() }).inc();
    }

    /// Marks whether this process leads.
    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// Records the state of one app (`None` when it is gone) and refreshes the by-condition gauge.
    pub fn set_app_state(&self, key: String, state: Option<&'static str>) {
        let Ok(mut states) = self.states.lock() else { return };
        match state {
            Some(s) => states.insert(key, s),
            None => states.remove(&key),
        };
        for condition in ["ready", "progressing", "degraded"] {
            let n = states.values().filter(|s| **s == condition).count();
            self.apps.get_or_create(&ConditionLabel { condition: condition.to_owned() }).set(n as i64);
        }
    }

    /// Reconciles run so far.
    pub fn reconciles(&self) -> u64 {
        self.reconciles.get()
    }

    /// Writes of `kind` so far.
    pub fn writes(&self, kind: &str) -> u64 {
        self.writes.get_or_create(&KindLabel { kind: kind.to_owned() }).get()
    }

    /// The metrics in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Records a reconcile's duration when dropped, so early returns are timed too.
pub struct ReconcileTimer<'a> {
    metrics: &'a Metrics,
    start: Instant,
}

impl Drop for ReconcileTimer<'_> {
    fn drop(&mut self) {
        self.metrics.duration.observe(self.start.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_show_up_in_the_text_format() {
        let m = Metrics::new();
        drop(m.reconcile_started());
        m.wrote("Deployment");
        m.reconcile_failed("Apply");
        m.set_app_state("ns/a".into(), Some("ready"));
        m.set_app_state("ns/b".into(), Some("degraded"));
        m.set_app_state("ns/b".into(), None);
        let text = m.encode();
        assert!(text.contains("tetris_operator_reconciles_total 1"), "{text}");
        assert!(text.contains("tetris_operator_writes_total{kind=\"Deployment\"} 1"), "{text}");
        assert!(text.contains("tetris_operator_reconcile_failures_total{kind=\"Apply\"} 1"), "{text}");
        assert!(text.contains("tetris_operator_tetrisapps{condition=\"ready\"} 1"), "{text}");
        assert!(text.contains("tetris_operator_tetrisapps{condition=\"degraded\"} 0"), "{text}");
        assert!(text.contains("tetris_operator_reconcile_duration_seconds_count 1"), "{text}");
        assert_eq!(m.reconciles(), 1);
    }
}
