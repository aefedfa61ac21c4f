//! Watch caches of the children (ConfigMaps, Deployments, Services, Ingresses, claims that carry
//! the operator's managed-by label). The reconciler compares desired children with these instead
//! of asking the API server, and the same watch streams trigger reconciles of the owning app.

use std::fmt::Debug;

use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;

use crate::meta::{MANAGED_BY, MANAGED_BY_LABEL};

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
    /// PersistentVolumeClaims.
    pub pvcs: Store<PersistentVolumeClaim>,
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
    /// PersistentVolumeClaims.
    pub pvcs: ChildStream<PersistentVolumeClaim>,
}

impl ChildCaches {
    /// Sets up the watches (in `namespace`, or all namespaces). Must run inside a tokio runtime.
    pub fn watch(client: &Client, namespace: Option<&str>) -> (ChildCaches, ChildStreams) {
        let (configmaps, cm) = child_watch(client, namespace);
        let (deployments, dep) = child_watch(client, namespace);
        let (services, svc) = child_watch(client, namespace);
        let (ingresses, ing) = child_watch(client, namespace);
        let (pvcs, pvc) = child_watch(client, namespace);
        // One task waits for the stores: concurrent waiters on a kube Store's readiness are not all
        // woken (a second reconcile waiting at start-up hung forever), so reconciles wait on a watch
        // channel this task sets instead.
        let (tx, ready) = tokio::sync::watch::channel(false);
        let stores =
            (configmaps.clone(), deployments.clone(), services.clone(), ingresses.clone(), pvcs.clone());
        tokio::spawn(async move {
            // An error only means the writer was dropped, i.e. the controller is shutting down.
            let _ = futures::join!(
                stores.0.wait_until_ready(),
                stores.1.wait_until_ready(),
                stores.2.wait_until_ready(),
                stores.3.wait_until_ready(),
                stores.4.wait_until_ready(),
            );
            let _ = tx.send(true);
        });
        (
            ChildCaches { configmaps, deployments, services, ingresses, pvcs, ready },
            ChildStreams { configmaps: cm, deployments: dep, services: svc, ingresses: ing, pvcs: pvc },
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
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
{
    let api: Api<K> = namespaced_or_all(client, namespace);
    let (reader, writer) = reflector::store();
    let config = watcher::Config::default().labels(&format!("{MANAGED_BY_LABEL}={MANAGED_BY}"));
    let stream = watcher(api, config)
        .default_backoff()
        .modify(|obj| obj.managed_fields_mut().clear())
        .reflect(writer)
        .touched_objects()
        .boxed();
    (reader, stream)
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
