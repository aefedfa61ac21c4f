//! Busy pods go last: each game pod's `controller.kubernetes.io/pod-deletion-cost` annotation is
//! kept equal to the duo matches it is running (`tetris_matches_playing` on its metrics port).
//!
//! Why this way:
//! - the ReplicaSet controller ranks the pods it removes by this annotation right after "not
//!   ready before ready", so a lower cost goes first whoever shrinks the ReplicaSet: a smaller
//!   `spec.replicas`, the old ReplicaSet at the end of a rolling update, an HPA;
//! - the count comes from the pod itself (its own gauge), read by the operator over the pod
//!   network, because a game pod has no API credentials (its token is not mounted) and should not
//!   get any just to annotate itself;
//! - the scan runs on a timer, separately from reconciles, so a slow or unreachable pod never
//!   holds up a reconcile; before a reconcile lowers `spec.replicas` it scans that app's pods once
//!   more (see [`Tracker::refresh_app`]), so a scale-down the operator makes sees a current count;
//! - an app with a single pod is not scanned: no scale-down has a choice to make there, and most
//!   apps (and every kwok pod of the scale benchmarks) cost no request at all;
//! - a pod whose metrics cannot be read keeps the cost it had: guessing 0 would offer a pod that
//!   may be busy for deletion, and its readiness already ranks an unhealthy pod first;
//! - the annotation is written with a merge patch of that one key only when the count changed, so
//!   a quiet game makes no writes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, PodStatus};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, Store};
use kube::{Client, ResourceExt};
use tracing::{debug, warn};

use crate::caches::{namespaced_or_all, relisting_watcher, watch_config};
use crate::meta::{APP_LABEL, FIELD_MANAGER, MANAGED_BY, MANAGED_BY_LABEL, METRICS_PORT_NAME, PORT_NAME};
use crate::metrics::Metrics;

/// The annotation the ReplicaSet controller reads (lower goes first; absent counts as 0).
pub const DELETION_COST_ANNOTATION: &str = "controller.kubernetes.io/pod-deletion-cost";
/// The game server's gauge of duo matches running now.
const MATCHES_METRIC: &str = "tetris_matches_playing";
/// How often the pods are scanned unless the operator is told otherwise.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// Pods scanned at once.
const CONCURRENCY: usize = 16;
/// The longest a scrape may take (connect, headers and body); a pod slower than this keeps its cost.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(2);
/// The most of a metrics page read (the game server's is a few KiB).
const MAX_BODY: usize = 256 * 1024;

/// Watches the game pods and keeps their deletion cost current.
#[derive(Clone)]
pub struct Tracker {
    client: Client,
    pods: Store<Pod>,
    http: reqwest::Client,
    metrics: Arc<Metrics>,
}

/// Why a pod's live-match count could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    /// The pod has no IP yet, or no port to read metrics from.
    #[error("pod has no IP or metrics port")]
    NoAddress,
    /// The request failed or timed out.
    #[error("metrics request failed")]
    Request(#[source] reqwest::Error),
    /// The answer was not a 200.
    #[error("metrics answered HTTP {0}")]
    Status(u16),
    /// The page was larger than the bound.
    #[error("metrics page over {MAX_BODY} bytes")]
    TooLarge,
    /// The page has no `tetris_matches_playing` sample.
    #[error("metrics page has no {MATCHES_METRIC} sample")]
    NoSample,
}

impl Tracker {
    /// Sets up the pod watch (in `namespace`, or all namespaces); [`Tracker::run`] drives it.
    pub fn new(
        client: &Client,
        namespace: Option<&str>,
        metrics: Arc<Metrics>,
    ) -> (Tracker, impl std::future::Future<Output = ()> + Send + 'static) {
        let api: Api<Pod> = namespaced_or_all(client, namespace);
        let (pods, writer) = reflector::store();
        let config = watch_config()
            .labels(&format!("{MANAGED_BY_LABEL}={MANAGED_BY},app.kubernetes.io/component=game-server"));
        let watch = relisting_watcher(api, config)
            .default_backoff()
            .modify(slim)
            .reflect(writer)
            .for_each(|_| futures::future::ready(()));
        let http = reqwest::Client::builder()
            .timeout(SCRAPE_TIMEOUT)
            .connect_timeout(SCRAPE_TIMEOUT)
            // Pod IPs are never reached through a proxy, whatever the operator's environment says.
            .no_proxy()
            .build()
            .expect("a client without TLS roots or proxies always builds");
        (Tracker { client: client.clone(), pods, http, metrics }, watch)
    }

    /// Scans every app's pods every `interval`, forever (the caller drops it to stop).
    pub async fn run(self, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        if self.pods.wait_until_ready().await.is_err() {
            return;
        }
        loop {
            tick.tick().await;
            self.scan(None).await;
        }
    }

    /// Scans the pods of one app now (before a scale-down the operator is about to make).
    pub async fn refresh_app(&self, namespace: &str, name: &str) {
        self.scan(Some((namespace, name))).await;
    }

    /// Scans the pods of every app with more than one pod, or of `only` that app.
    async fn scan(&self, only: Option<(&str, &str)>) {
        let mut by_app: BTreeMap<(String, String), Vec<Arc<Pod>>> = BTreeMap::new();
        for pod in self.pods.state().into_iter().filter(|p| scannable(p)) {
            let (Some(ns), Some(app)) = (pod.namespace(), pod.labels().get(APP_LABEL).cloned()) else {
                continue;
            };
            if only.is_none_or(|(n, a)| n == ns && a == app) {
                by_app.entry((ns, app)).or_default().push(pod);
            }
        }
        // Owned futures: the reconcile that awaits a refresh must stay Send for any lifetime.
        let visits = by_app.into_values().filter(|pods| pods.len() > 1).flatten().map(|pod| {
            let this = self.clone();
            let visit: futures::future::BoxFuture<'static, ()> = Box::pin(async move {
                match this.live_matches(&pod).await {
                    Ok(matches) => this.record(&pod, matches).await,
                    Err(e) => {
                        debug!(pod = %pod.name_any(), error = %e, "cannot read live matches; cost kept")
                    }
                }
            });
            visit
        });
        futures::stream::iter(visits).buffer_unordered(CONCURRENCY).collect::<Vec<()>>().await;
    }

    /// The watched game pods.
    pub fn pods(&self) -> &Store<Pod> {
        &self.pods
    }

    async fn live_matches(&self, pod: &Pod) -> Result<u64, ScrapeError> {
        let page = self.metrics_page(pod).await?;
        live_matches(&page).ok_or(ScrapeError::NoSample)
    }

    /// A pod's metrics page (bounded in size and time).
    pub async fn metrics_page(&self, pod: &Pod) -> Result<String, ScrapeError> {
        let url = metrics_url(pod).ok_or(ScrapeError::NoAddress)?;
        self.fetch(&url).await
    }

    /// GETs `url` with the scrape timeouts and body bound (the analysis' HTTP check uses it too).
    pub async fn fetch(&self, url: &str) -> Result<String, ScrapeError> {
        let mut res = self.http.get(url).send().await.map_err(ScrapeError::Request)?;
        if !res.status().is_success() {
            return Err(ScrapeError::Status(res.status().as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(ScrapeError::Request)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(ScrapeError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    async fn record(&self, pod: &Pod, matches: u64) {
        let cost = cost(matches);
        if current_cost(pod) == Some(cost) || current_cost(pod).is_none() && cost == 0 {
            return;
        }
        let Some(ns) = pod.namespace() else { return };
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
        let patch =
            serde_json::json!({"metadata": {"annotations": {DELETION_COST_ANNOTATION: cost.to_string()}}});
        self.metrics.wrote("Pod");
        match api
            .patch(
                &pod.name_any(),
                &PatchParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..PatchParams::default() },
                &Patch::Merge(&patch),
            )
            .await
        {
            Ok(_) => debug!(namespace = %ns, pod = %pod.name_any(), matches, "pod deletion cost updated"),
            // Gone or terminating pods need no cost; anything else is tried again on the next scan.
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                warn!(namespace = %ns, pod = %pod.name_any(), error = %e, "failed to update pod deletion cost")
            }
        }
    }
}

/// Whether a pod can be asked for its matches and is worth a cost: running, not terminating (a
/// terminating pod is already chosen), with an IP.
/// Keeps of a pod only what the scans and the analysis read: its metadata (without managed
/// fields), its containers' names and ports, and its phase, IP, conditions and container restart
/// counts. A game pod's spec and status are most of its size (environment, volumes, probes,
/// security context, image IDs), and the operator watches every game pod it runs.
fn slim(pod: &mut Pod) {
    pod.managed_fields_mut().clear();
    pod.spec = pod.spec.take().map(|spec| PodSpec {
        containers: spec
            .containers
            .into_iter()
            .map(|c| Container { name: c.name, ports: c.ports, ..Container::default() })
            .collect(),
        ..PodSpec::default()
    });
    pod.status = pod.status.take().map(|status| PodStatus {
        phase: status.phase,
        pod_ip: status.pod_ip,
        conditions: status.conditions.map(|cs| {
            cs.into_iter()
                .map(|mut c| {
                    c.message = None;
                    c
                })
                .collect()
        }),
        container_statuses: status.container_statuses.map(|cs| {
            cs.into_iter()
                .map(|mut c| {
                    c.image_id = String::new();
                    c.container_id = None;
                    c.last_state = None;
                    c.state = None;
                    c
                })
                .collect()
        }),
        ..PodStatus::default()
    });
}

fn scannable(pod: &Pod) -> bool {
    let status = pod.status.as_ref();
    pod.metadata.deletion_timestamp.is_none()
        && status.and_then(|s| s.phase.as_deref()) == Some("Running")
        && status.and_then(|s| s.pod_ip.as_deref()).is_some()
}

/// `http://<pod IP>:<metrics port>/metrics`; the game port when the pod has no metrics port (the
/// server then serves `/metrics` there).
fn metrics_url(pod: &Pod) -> Option<String> {
    let ip = pod.status.as_ref()?.pod_ip.as_deref()?;
    let ports: Vec<_> = pod.spec.as_ref()?.containers.iter().flat_map(|c| c.ports.iter().flatten()).collect();
    let by_name =
        |name: &str| ports.iter().find(|p| p.name.as_deref() == Some(name)).map(|p| p.container_port);
    let port = by_name(METRICS_PORT_NAME).or_else(|| by_name(PORT_NAME))?;
    // An IPv6 pod IP needs brackets in a URL.
    let host = if ip.contains(':') { format!("[{ip}]") } else { ip.to_owned() };
    Some(format!("http://{host}:{port}/metrics"))
}

/// The value of the `tetris_matches_playing` sample in a Prometheus or OpenMetrics text page.
pub fn live_matches(page: &str) -> Option<u64> {
    page.lines().find_map(|line| {
        let rest = line.strip_prefix(MATCHES_METRIC)?;
        // The bare name only (not `tetris_matches_playing_total`), with or without labels.
        let rest = match rest.chars().next()? {
            ' ' => rest,
            '{' => &rest[rest.find('}')? + 1..],
            _ => return None,
        };
        let value: f64 = rest.split_whitespace().next()?.parse().ok()?;
        (value.is_finite() && value >= 0.0).then_some(value as u64)
    })
}

/// The deletion cost of a pod running `matches` matches (the annotation is an int32).
pub fn cost(matches: u64) -> i32 {
    i32::try_from(matches).unwrap_or(i32::MAX)
}

/// The cost the pod's annotation holds now, if any and readable.
fn current_cost(pod: &Pod) -> Option<i32> {
    pod.annotations().get(DELETION_COST_ANNOTATION)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "# HELP tetris_matches_playing Duo matches running now.\n\
        # TYPE tetris_matches_playing gauge\n\
        tetris_matches_playing 2\n\
        # TYPE tetris_matches_playing_total counter\n\
        tetris_matches_playing_total 7\n\
        # EOF\n";

    #[test]
    fn the_cached_pod_keeps_what_scans_and_analysis_read_and_nothing_else() {
        let mut pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "arcade-1", "namespace": "games", "labels": {"gameops.dev/tetrisapp": "arcade"},
                "annotations": {DELETION_COST_ANNOTATION: "3"},
                "managedFields": [{"manager": "kubelet", "operation": "Update"}]},
            "spec": {"containers": [{"name": "game", "image": "tetris-game:1.0.0",
                "env": [{"name": "TETRIS_TITLE", "value": "x"}],
                "ports": [{"name": "http", "containerPort": 8080}, {"name": "metrics", "containerPort": 9090}]}],
                "volumes": [{"name": "data", "emptyDir": {}}], "nodeName": "n1"},
            "status": {"phase": "Running", "podIP": "10.124.0.7", "hostIP": "10.123.0.2",
                "conditions": [{"type": "Ready", "status": "True", "message": "long text"}],
                "containerStatuses": [{"name": "game", "image": "tetris-game:1.0.0", "imageID": "sha256:abc",
                    "ready": true, "restartCount": 2, "state": {"running": {}}}]}
        }))
        .expect("pod");
        slim(&mut pod);
        assert!(pod.metadata.managed_fields.as_ref().is_none_or(Vec::is_empty));
        assert_eq!(current_cost(&pod), Some(3), "annotations kept");
        assert_eq!(metrics_url(&pod).as_deref(), Some("http://10.124.0.7:9090/metrics"), "ports and IP kept");
        assert!(scannable(&pod));
        let spec = pod.spec.as_ref().expect("spec");
        assert!(
            spec.volumes.is_none() && spec.containers[0].env.is_none() && spec.containers[0].image.is_none()
        );
        let status = pod.status.as_ref().expect("status");
        assert_eq!(status.container_statuses.as_ref().map(|c| c[0].restart_count), Some(2), "restarts kept");
        assert_eq!(status.conditions.as_ref().map(|c| c[0].status.as_str()), Some("True"), "readiness kept");
        assert!(
            status.host_ip.is_none()
                && status.container_statuses.as_ref().is_some_and(|c| c[0].image_id.is_empty())
        );
    }

    #[test]
    fn reads_the_gauge_and_not_a_metric_that_shares_its_prefix() {
        assert_eq!(live_matches(PAGE), Some(2));
        let only_longer = "tetris_matches_playing_total 7\n";
        assert_eq!(live_matches(only_longer), None);
        assert_eq!(live_matches("tetris_matches_playing{pod=\"a\"} 3\n"), Some(3));
    }

    #[test]
    fn a_page_without_the_gauge_or_with_a_bad_value_gives_nothing() {
        assert_eq!(live_matches("tetris_rooms 4\n"), None);
        assert_eq!(live_matches("tetris_matches_playing NaN\n"), None);
        assert_eq!(live_matches("tetris_matches_playing -1\n"), None);
    }

    #[test]
    fn the_cost_is_the_match_count_capped_to_an_int32() {
        assert_eq!(cost(0), 0);
        assert_eq!(cost(3), 3);
        assert_eq!(cost(u64::MAX), i32::MAX);
    }

    fn pod(yaml: &str) -> Pod {
        serde_yaml::from_str(yaml).expect("fixture pod parses")
    }

    #[test]
    fn the_metrics_url_uses_the_named_metrics_port_then_the_game_port() {
        let with_metrics = pod(
            "metadata: {name: p}\nspec:\n  containers:\n  - name: game-server\n    ports:\n    - {name: http, containerPort: 8080}\n    - {name: metrics, containerPort: 9090}\nstatus: {phase: Running, podIP: 10.0.0.7}\n",
        );
        assert_eq!(metrics_url(&with_metrics).as_deref(), Some("http://10.0.0.7:9090/metrics"));
        assert!(scannable(&with_metrics));
        let game_port_only = pod(
            "metadata: {name: p}\nspec:\n  containers:\n  - name: game-server\n    ports:\n    - {name: http, containerPort: 8080}\nstatus: {phase: Running, podIP: 'fd00::7'}\n",
        );
        assert_eq!(metrics_url(&game_port_only).as_deref(), Some("http://[fd00::7]:8080/metrics"));
    }

    #[test]
    fn pending_or_terminating_pods_are_not_scanned() {
        let pending = pod("metadata: {name: p}\nspec: {containers: []}\nstatus: {phase: Pending}\n");
        assert!(!scannable(&pending));
        let terminating = pod(
            "metadata: {name: p, deletionTimestamp: '2026-01-01T00:00:00Z'}\nspec: {containers: []}\nstatus: {phase: Running, podIP: 10.0.0.7}\n",
        );
        assert!(!scannable(&terminating));
    }

    #[test]
    fn the_current_cost_is_read_from_the_annotation() {
        let p = pod(&format!(
            "metadata:\n  name: p\n  annotations: {{{DELETION_COST_ANNOTATION}: '4'}}\nspec: {{containers: []}}\n"
        ));
        assert_eq!(current_cost(&p), Some(4));
        assert_eq!(current_cost(&pod("metadata: {name: p}\nspec: {containers: []}\n")), None);
    }
}
