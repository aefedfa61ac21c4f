//! Prometheus metrics of the operator: reconciles, failures, reconcile durations, writes by kind,
//! TetrisApps by condition, and whether this process leads.
//!
//! A reconcile's duration is split in two: the time it awaited API requests ([`api_wait`], with
//! overlapping requests counted once) and the rest, its own work. Together with the queue wait
//! (from a TetrisApp's watch event to the start of its reconcile) that says where a slow
//! convergence spends its time: waiting for a turn, for the API server, or in the operator.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

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
    api_wait: Histogram,
    work: Histogram,
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
        let api_wait = Histogram::new(buckets);
        let work = Histogram::new(buckets);
        let queue_wait = Histogram::new(buckets);
        let leadership_lost = Counter::default();
        let writes = Family::<KindLabel, Counter>::default();
        let apps = Family::<ConditionLabel, Gauge>::default();
        let leader = Gauge::default();
        registry.register("reconciles", "Reconciles run", reconciles.clone());
        registry.register("reconcile_failures", "Reconciles that failed, by error kind", failures.clone());
        registry.register(
            "reconcile_duration_seconds",
            "Duration of one reconcile, API requests included (after the watch caches are loaded)",
            duration.clone(),
        );
        registry.register(
            "reconcile_api_wait_seconds",
            "Time one reconcile spent awaiting API requests (overlapping requests counted once)",
            api_wait.clone(),
        );
        registry.register(
            "reconcile_work_seconds",
            "One reconcile's own work: its duration less its API wait",
            work.clone(),
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
            api_wait,
            work,
            queue_wait,
            leadership_lost,
            writes,
            apps,
            leader,
            states: Mutex::default(),
        }
    }

    /// Runs one reconcile, recording its duration, its API wait and its own work.
    pub async fn time_reconcile<F: Future>(&self, reconcile: F) -> F::Output {
        self.reconciles.inc();
        let start = Instant::now();
        let (out, api) = API_WAIT
            .scope(RefCell::default(), async {
                let out = reconcile.await;
                (out, API_WAIT.with(|clock| clock.borrow().total()))
            })
            .await;
        let total = start.elapsed();
        self.duration.observe(total.as_secs_f64());
        self.api_wait.observe(api.as_secs_f64());
        self.work.observe(total.saturating_sub(api).as_secs_f64());
        out
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

tokio::task_local! {
    /// The API wait of the reconcile being polled; set by [`Metrics::time_reconcile`].
    static API_WAIT: RefCell<ApiClock>;
}

/// Wall time during which at least one API request of a reconcile was in flight.
#[derive(Default)]
struct ApiClock {
    in_flight: u32,
    since: Option<Instant>,
    total: Duration,
}

impl ApiClock {
    fn enter(&mut self) {
        if self.in_flight == 0 {
            self.since = Some(Instant::now());
        }
        self.in_flight += 1;
    }
    fn leave(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if self.in_flight == 0
            && let Some(since) = self.since.take()
        {
            self.total += since.elapsed();
        }
    }
    fn total(&self) -> Duration {
        self.total + self.since.map_or(Duration::ZERO, |s| s.elapsed())
    }
}

/// Leaves the clock when the request completes or is dropped half-way.
struct InFlight;

impl Drop for InFlight {
    fn drop(&mut self) {
        let _ = API_WAIT.try_with(|clock| clock.borrow_mut().leave());
    }
}

/// Awaits `request`, an API request of the reconcile being run, counting the time as API wait.
/// Outside a timed reconcile it just awaits.
pub async fn api_wait<F: Future>(request: F) -> F::Output {
    let timed = API_WAIT.try_with(|clock| clock.borrow_mut().enter()).is_ok();
    let _guard = timed.then_some(InFlight);
    request.await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_show_up_in_the_text_format() {
        let m = Metrics::new();
        futures::executor::block_on(m.time_reconcile(async {}));
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

    #[tokio::test]
    async fn api_wait_counts_overlapping_requests_once_and_the_rest_is_work() {
        let m = Metrics::new();
        let pause = |ms| api_wait(tokio::time::sleep(Duration::from_millis(ms)));
        m.time_reconcile(async {
            futures::join!(pause(50), pause(50));
            std::thread::sleep(Duration::from_millis(30));
        })
        .await;
        let text = m.encode();
        let sum = |name: &str| -> f64 {
            let line = format!("tetris_operator_{name}_sum ");
            text.lines().find_map(|l| l.strip_prefix(&line)?.parse().ok()).expect("sum")
        };
        let (api, work) = (sum("reconcile_api_wait_seconds"), sum("reconcile_work_seconds"));
        assert!((0.05..0.09).contains(&api), "two overlapping 50 ms requests: {api}");
        assert!((0.03..0.06).contains(&work), "30 ms of blocking work: {work}");
    }
}
