//! Watch caches of the children (ConfigMaps, Deployments, Services, Ingresses, NetworkPolicies,
//! HTTPRoutes, PodMonitors, HorizontalPodAutoscalers, PodDisruptionBudgets, claims that carry the
//! operator's managed-by label). The reconciler
//! compares desired children with these instead of asking the API server, and the same watch
//! streams trigger reconciles of the owning app.
//!
//! HTTPRoutes and PodMonitors are kinds of other projects' CRDs, which a cluster may not have. Their
//! watches therefore never hold up the others: each reports through an [`ApiState`] whether its
//! kind is served, and keeps retrying (with backoff) while it is not, so installing the CRDs later
//! is noticed without a restart.

use std::fmt::Debug;

use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Service};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::meta::{MANAGED_BY, MANAGED_BY_LABEL};
use crate::podmonitor::PodMonitor;
use crate::route::HttpRoute;

/// Whether the API server serves a kind that comes from another project's CRD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiState {
    /// The first list has not answered yet.
    Unknown,
    /// Listed and watched.
    Served,
    /// The list failed for a reason retrying alone will not fix soon (the CRD is missing: 404; or
    /// the operator may not list it: 403); the text says which.
    Unavailable(String),
}

/// A cache of a kind that may not be served, with its [`ApiState`].
#[derive(Clone)]
pub struct OptionalCache<K: Resource<DynamicType = ()> + 'static> {
    /// The objects, once served.
    pub store: Store<K>,
    state: tokio::sync::watch::Receiver<ApiState>,
}

impl<K: Resource<DynamicType = ()> + 'static> OptionalCache<K> {
    /// Whether the kind is served right now.
    pub fn state(&self) -> ApiState {
        self.state.borrow().clone()
    }
}

/// What every child kind is: a namespaced Kubernetes object the operator can read, write and cache.
pub trait Child:
    Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
    + Clone
    + Serialize
    + DeserializeOwned
    + Debug
    + Send
    + Sync
    + 'static
{
}

impl<K> Child for K where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + Serialize
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static
{
}

/// A boxed watch stream of one child kind.
pub type ChildStream<K> = std::pin::Pin<Box<dyn Stream<Item = Result<K, watcher::Error>> + Send>>;

/// The caches, readable by every reconcile.
#[derive(Clone)]
pub struct ChildCaches {
    /// ConfigMaps.
    pub configmaps: Store<ConfigMap>,
    /// Deployments.
    pub deployments: Store<Deployment>,
    /// Services.
    pub services: Store<Service>,
    /// Ingresses.
    pub ingresses: Store<Ingress>,
    /// NetworkPolicies.
    pub network_policies: Store<NetworkPolicy>,
    /// PersistentVolumeClaims.
    pub pvcs: Store<PersistentVolumeClaim>,
    /// HorizontalPodAutoscalers.
    pub hpas: Store<HorizontalPodAutoscaler>,
    /// PodDisruptionBudgets.
    pub pdbs: Store<PodDisruptionBudget>,
    /// HTTPRoutes (Gateway API CRDs).
    pub routes: OptionalCache<HttpRoute>,
    /// PodMonitors (Prometheus Operator CRDs).
    pub pod_monitors: OptionalCache<PodMonitor>,
    /// True once every cache holds its initial list.
    ready: tokio::sync::watch::Receiver<bool>,
}

/// The watch streams that fill the caches; the controller polls them (and reconciles the owners).
pub struct ChildStreams {
    /// ConfigMaps.
    pub configmaps: ChildStream<ConfigMap>,
    /// Deployments.
    pub deployments: ChildStream<Deployment>,
    /// Services.
    pub services: ChildStream<Service>,
    /// Ingresses.
    pub ingresses: ChildStream<Ingress>,
    /// NetworkPolicies.
    pub network_policies: ChildStream<NetworkPolicy>,
    /// PersistentVolumeClaims.
    pub pvcs: ChildStream<PersistentVolumeClaim>,
    /// HorizontalPodAutoscalers.
    pub hpas: ChildStream<HorizontalPodAutoscaler>,
    /// PodDisruptionBudgets.
    pub pdbs: ChildStream<PodDisruptionBudget>,
    /// HTTPRoutes.
    pub routes: ChildStream<HttpRoute>,
    /// PodMonitors.
    pub pod_monitors: ChildStream<PodMonitor>,
}

impl ChildCaches {
    /// Sets up the watches (in `namespace`, or all namespaces). Must run inside a tokio runtime.
    pub fn watch(client: &Client, namespace: Option<&str>) -> (ChildCaches, ChildStreams) {
        let (configmaps, cm) = child_watch(client, namespace);
        let (deployments, dep) = child_watch(client, namespace);
        let (services, svc) = child_watch(client, namespace);
        let (ingresses, ing) = child_watch(client, namespace);
        let (network_policies, np) = child_watch(client, namespace);
        let (pvcs, pvc) = child_watch(client, namespace);
        let (hpas, hpa) = child_watch(client, namespace);
        let (pdbs, pdb) = child_watch(client, namespace);
        let (routes, route) = optional_watch(client, namespace);
        let (pod_monitors, pm) = optional_watch(client, namespace);
        // One task waits for the stores: concurrent waiters on a kube Store's readiness are not all
        // woken (a second reconcile waiting at start-up hung forever), so reconciles wait on a watch
        // channel this task sets instead. The optional kinds count as loaded once their first list
        // has answered either way.
        let (tx, ready) = tokio::sync::watch::channel(false);
        let stores = (
            configmaps.clone(),
            deployments.clone(),
            services.clone(),
            ingresses.clone(),
            network_policies.clone(),
            pvcs.clone(),
            hpas.clone(),
            pdbs.clone(),
        );
        let states = (routes.state.clone(), pod_monitors.state.clone());
        tokio::spawn(async move {
            let known = |s: &ApiState| *s != ApiState::Unknown;
            let (mut route_state, mut pm_state) = states;
            // An error only means the writer was dropped, i.e. the controller is shutting down.
            let _ = futures::join!(
                stores.0.wait_until_ready(),
                stores.1.wait_until_ready(),
                stores.2.wait_until_ready(),
                stores.3.wait_until_ready(),
                stores.4.wait_until_ready(),
                stores.5.wait_until_ready(),
                stores.6.wait_until_ready(),
                stores.7.wait_until_ready(),
                async { route_state.wait_for(known).await.map(|_| ()) },
                async { pm_state.wait_for(known).await.map(|_| ()) },
            );
            let _ = tx.send(true);
        });
        (
            ChildCaches {
                configmaps,
                deployments,
                services,
                ingresses,
                network_policies,
                pvcs,
                hpas,
                pdbs,
                routes,
                pod_monitors,
                ready,
            },
            ChildStreams {
                configmaps: cm,
                deployments: dep,
                services: svc,
                ingresses: ing,
                network_policies: np,
                pvcs: pvc,
                hpas: hpa,
                pdbs: pdb,
                routes: route,
                pod_monitors: pm,
            },
        )
    }

    /// Completes once every cache holds its initial list, so a cache still loading is never
    /// mistaken for missing children (which would re-apply everything after each restart).
    pub async fn ready(&self) {
        // Fails only when the sender is gone, i.e. the controller is shutting down.
        let _ = self.ready.clone().wait_for(|ready| *ready).await;
    }
}

/// A reflector over the children of one kind that carry the operator's managed-by label. Managed
/// fields are dropped before caching: they are large and the drift check does not read them.
fn child_watch<K>(client: &Client, namespace: Option<&str>) -> (Store<K>, ChildStream<K>)
where
    K: Child,
{
    let api: Api<K> = namespaced_or_all(client, namespace);
    let (reader, writer) = reflector::store();
    let config = watch_config().labels(&format!("{MANAGED_BY_LABEL}={MANAGED_BY}"));
    let stream = relisting_watcher(api, config)
        .default_backoff()
        .modify(|obj| obj.managed_fields_mut().clear())
        .reflect(writer)
        .filter(news_only())
        .touched_objects()
        .boxed();
    (reader, stream)
}

/// A filter of watch events that passes a child's event only when something a reconcile reads
/// changed since the last event of that child (deletions always pass).
///
/// # Why
/// A Deployment's controller updates its object three or four times while one pod starts (the
/// revision annotation, observed generation and counts, condition timestamps and messages), and
/// each update reconciled the app again: with the child's own creation events, about 8.5
/// reconciles per new app in the operator benchmark, each taking a turn in the queue. Of a
/// Deployment's status a reconcile reads only the counts, the observed generation and each
/// condition's type, status and reason ([`crate::status`], [`crate::rollout`]); of every child,
/// nothing of its resourceVersion or the revision annotation.
fn news_only<K: Child>()
-> impl FnMut(&Result<watcher::Event<K>, watcher::Error>) -> futures::future::Ready<bool> + Send {
    let mut seen: std::collections::HashMap<(Option<String>, String), u64> = Default::default();
    move |event| {
        let keep = match event {
            Ok(watcher::Event::Apply(obj) | watcher::Event::InitApply(obj)) => {
                let key = (obj.meta().namespace.clone(), obj.name_any());
                let hash = read_hash(obj);
                seen.insert(key, hash) != Some(hash)
            }
            Ok(watcher::Event::Delete(obj)) => {
                seen.remove(&(obj.meta().namespace.clone(), obj.name_any()));
                true
            }
            _ => true,
        };
        futures::future::ready(keep)
    }
}

/// A hash of what of a child a reconcile can read (see [`news_only`]).
fn read_hash<K: Child>(obj: &K) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut v = serde_json::to_value(obj).unwrap_or_default();
    if let Some(meta) = v.get_mut("metadata").and_then(|m| m.as_object_mut()) {
        meta.remove("resourceVersion");
        meta.remove("managedFields");
        if let Some(a) = meta.get_mut("annotations").and_then(|a| a.as_object_mut()) {
            a.remove("deployment.kubernetes.io/revision");
        }
    }
    if K::kind(&()) == "Deployment"
        && let Some(status) = v.get_mut("status").and_then(|s| s.as_object_mut())
    {
        status.retain(|k, _| {
            matches!(
                k.as_str(),
                "observedGeneration"
                    | "replicas"
                    | "updatedReplicas"
                    | "readyReplicas"
                    | "availableReplicas"
                    | "conditions"
            )
        });
        for c in status.get_mut("conditions").and_then(|c| c.as_array_mut()).into_iter().flatten() {
            if let Some(c) = c.as_object_mut() {
                c.retain(|k, _| matches!(k.as_str(), "type" | "status" | "reason"));
            }
        }
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.to_string().hash(&mut h);
    h.finish()
}

/// A reflector like [`child_watch`] over a kind that may not be served, reporting whether it is.
fn optional_watch<K>(client: &Client, namespace: Option<&str>) -> (OptionalCache<K>, ChildStream<K>)
where
    K: Child,
{
    let api: Api<K> = namespaced_or_all(client, namespace);
    let (reader, writer) = reflector::store();
    let (tx, state) = tokio::sync::watch::channel(ApiState::Unknown);
    let kind = format!("{}/{} {}", K::group(&()), K::version(&()), K::kind(&()));
    let config = watch_config().labels(&format!("{MANAGED_BY_LABEL}={MANAGED_BY}"));
    let stream = relisting_watcher(api, config)
        .inspect(move |event| match event {
            Ok(watcher::Event::InitDone) => {
                tx.send_if_modified(|s| std::mem::replace(s, ApiState::Served) != ApiState::Served);
            }
            Err(watcher::Error::InitialListFailed(kube::Error::Api(status))) => {
                let why = match status.code {
                    404 => format!("{kind} is not served by the API server: its CRD is not installed"),
                    403 => format!("the operator may not list {kind}: {}", status.message),
                    _ => return,
                };
                let next = ApiState::Unavailable(why);
                tx.send_if_modified(|s| {
                    let changed = *s != next;
                    *s = next;
                    changed
                });
            }
            _ => {}
        })
        .default_backoff()
        .modify(|obj| obj.managed_fields_mut().clear())
        .reflect(writer)
        .touched_objects()
        // The state above tells the reconciler about a kind that is not served; its list errors,
        // retried with backoff forever, must not reach the controller as trigger errors.
        .filter(|item| futures::future::ready(item.is_ok()))
        .boxed();
    (OptionalCache { store: reader, state }, stream)
}

/// The watch settings of every watch: lists are "most recent" (a consistent read, not whatever
/// the API server's watch cache holds), and each watch request asks the server to end it after
/// [`WATCH_TIMEOUT_SECONDS`]. kube-runtime also gives up on a watch that has been silent that long
/// (plus a margin) and resumes it; with its default of 290 s, a watch left hanging by an API
/// server restart kept an operator deaf to every change for minutes in the churn test.
pub fn watch_config() -> watcher::Config {
    watcher::Config::default().list_semantic(watcher::ListSemantic::MostRecent).timeout(WATCH_TIMEOUT_SECONDS)
}

/// How long one watch request lasts before it is resumed (from the resourceVersion it reached, so
/// nothing is listed again): a dozen light requests a minute per operator, for recovery within a
/// minute from a watch the API server silently dropped.
pub const WATCH_TIMEOUT_SECONDS: u32 = 30;

/// kube-runtime's [`watcher`], started over from a fresh list whenever the API server refuses to
/// resume a watch from the resourceVersion it holds (410 Gone).
///
/// # Why
/// kube-runtime re-lists on a 410 that arrives as a watch *event*, but when the request that
/// resumes a watch is itself answered 410 (what a restarted API server does for a resourceVersion
/// older than its new watch cache), it retries the same resourceVersion forever: the cache, and
/// the controller it feeds, never see another change. The churn test (`e2e::churn`) restarts
/// the API server and caught exactly that. Starting a new watcher lists again; the reflector
/// treats the new list as a full replacement of its store.
pub fn relisting_watcher<K>(
    api: Api<K>,
    config: watcher::Config,
) -> impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let start = move || watcher(api.clone(), config.clone()).boxed();
    let first = start();
    futures::stream::unfold((first, start), |(mut inner, start)| async move {
        let item = inner.next().await?;
        if is_gone(&item) {
            tracing::info!("the API server refused to resume a watch (410 Gone); listing again");
            inner = start();
        }
        Some((item, (inner, start)))
    })
}

/// Whether a watch failed because its resourceVersion is too old for the API server.
fn is_gone<K>(item: &Result<watcher::Event<K>, watcher::Error>) -> bool {
    matches!(
        item,
        Err(watcher::Error::WatchStartFailed(kube::Error::Api(status))
            | watcher::Error::WatchFailed(kube::Error::Api(status))) if status.code == 410
    )
}

/// An Api for one namespace, or for all of them.
pub fn namespaced_or_all<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}
