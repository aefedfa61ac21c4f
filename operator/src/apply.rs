//! The apply step of the pipeline (needs a client): server-side apply of each child that the watch
//! cache shows is not yet as desired, under one field manager with `force`, and removal of the
//! optional children (Ingress, HTTPRoute, PodMonitor, NetworkPolicy, HorizontalPodAutoscaler,
//! PodDisruptionBudget) the spec no longer asks for. The SQLite claim is never removed: with the
//! PostgreSQL backend it is only no longer applied, so its scores stay for the import.
//! A child whose kind the cluster does not serve (its CRD is missing) is reported, not retried.

use std::fmt::Debug;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::{info, warn};

use crate::caches::{ApiState, Child, ChildCaches, OptionalCache};
use crate::children::Children;
use crate::meta::{FIELD_MANAGER, Parent};
use crate::metrics::Metrics;
use crate::route::HttpRoute;
use crate::{Error, Result};

/// What the apply step needs: a client, the watch caches and the write counter.
pub struct Applier<'a> {
    /// Client for the writes.
    pub client: &'a Client,
    /// The children as last seen.
    pub caches: &'a ChildCaches,
    /// Counts every write.
    pub metrics: &'a Metrics,
}

/// What the apply step did.
pub struct Outcome {
    /// The Deployment as the server (or, when unchanged, the cache) has it.
    pub deployment: Arc<Deployment>,
    /// The HTTPRoute as last seen, when the spec asks for one and the cluster serves the kind.
    pub route: Option<Arc<HttpRoute>>,
    /// Kinds of the children that did not exist before.
    pub created: Vec<String>,
    /// Children the spec asks for that the cluster cannot take yet, each said in terms of the spec.
    pub unavailable: Vec<String>,
}

/// What one child apply did.
enum Applied<K> {
    /// The watch cache already had every field; nothing was sent.
    Unchanged(Arc<K>),
    /// Sent, and the server answered with the object; `created` when it did not exist before.
    Written { obj: K, created: bool },
}

/// Applies every child that differs from the watch cache.
pub async fn apply(ctx: &Applier<'_>, parent: &Parent, desired: &Children) -> Result<Outcome> {
    let mut created = Vec::new();
    let mut note = |kind: &str, was_created: bool| {
        if was_created {
            created.push(kind.to_owned());
        }
    };
    // The claim and the ConfigMap before the Deployment, since its pods mount the one and read the
    // other at start; the three independent ones at once (one round trip instead of three, which
    // matters when the API server answers slowly, as under a burst of new apps).
    let pvc = async {
        match &desired.pvc {
            Some(pvc) => ensure(ctx, &ctx.caches.pvcs, parent, pvc).await.map(Some),
            None => Ok(None),
        }
    };
    let cm = ensure(ctx, &ctx.caches.configmaps, parent, &desired.configmap);
    let svc = ensure(ctx, &ctx.caches.services, parent, &desired.service);
    let (pvc, cm, svc) = futures::try_join!(pvc, cm, svc)?;
    let dep = ensure(ctx, &ctx.caches.deployments, parent, &desired.deployment).await?;
    if let Some(pvc) = &pvc {
        note("PersistentVolumeClaim", was_created(pvc));
    }
    note("ConfigMap", was_created(&cm));
    note("Deployment", was_created(&dep));
    note("Service", was_created(&svc));
    match &desired.ingress {
        Some(ing) => {
            let ing = ensure(ctx, &ctx.caches.ingresses, parent, ing).await?;
            note("Ingress", was_created(&ing));
        }
        None => remove(ctx, &ctx.caches.ingresses, parent, "spec.ingress").await?,
    }
    match &desired.network_policy {
        Some(np) => {
            let np = ensure(ctx, &ctx.caches.network_policies, parent, np).await?;
            note("NetworkPolicy", was_created(&np));
        }
        None => remove(ctx, &ctx.caches.network_policies, parent, "spec.networkPolicy.enabled").await?,
    }
    match &desired.hpa {
        Some(hpa) => {
            let hpa = ensure(ctx, &ctx.caches.hpas, parent, hpa).await?;
            note("HorizontalPodAutoscaler", was_created(&hpa));
        }
        None => remove(ctx, &ctx.caches.hpas, parent, "spec.autoscaling").await?,
    }
    match &desired.pdb {
        Some(pdb) => {
            let pdb = ensure(ctx, &ctx.caches.pdbs, parent, pdb).await?;
            note("PodDisruptionBudget", was_created(&pdb));
        }
        None => remove(ctx, &ctx.caches.pdbs, parent, "spec.disruption").await?,
    }
    let mut unavailable = Vec::new();
    let route = optional(ctx, &ctx.caches.routes, parent, desired.route.as_ref(), "spec.route").await?;
    let route = match route {
        Optional::Applied(a) => {
            note("HTTPRoute", was_created(&a));
            Some(into_arc(a))
        }
        Optional::Unavailable(why) => {
            unavailable.push(why);
            None
        }
        Optional::Absent => None,
    };
    let pm = optional(
        ctx,
        &ctx.caches.pod_monitors,
        parent,
        desired.pod_monitor.as_ref(),
        "spec.monitoring.enabled",
    )
    .await?;
    match pm {
        Optional::Applied(a) => note("PodMonitor", was_created(&a)),
        Optional::Unavailable(why) => unavailable.push(why),
        Optional::Absent => {}
    }
    Ok(Outcome { deployment: into_arc(dep), route, created, unavailable })
}

/// Applies one more Deployment of the app (a canary's) like the children above.
pub async fn apply_deployment(
    ctx: &Applier<'_>,
    parent: &Parent,
    desired: &Deployment,
) -> Result<Arc<Deployment>> {
    ensure(ctx, &ctx.caches.deployments, parent, desired).await.map(into_arc)
}

/// Applies one more Service of the app (a BlueGreen preview) like the children above.
pub async fn apply_service(
    ctx: &Applier<'_>,
    parent: &Parent,
    desired: &k8s_openapi::api::core::v1::Service,
) -> Result<()> {
    ensure(ctx, &ctx.caches.services, parent, desired).await.map(|_| ())
}

fn into_arc<K>(a: Applied<K>) -> Arc<K> {
    match a {
        Applied::Unchanged(k) => k,
        Applied::Written { obj, .. } => Arc::new(obj),
    }
}

/// What became of a child whose kind the cluster may not serve.
enum Optional<K> {
    /// Served and applied (or already in place).
    Applied(Applied<K>),
    /// Asked for, but the kind is not served; the message says so in terms of `field`.
    Unavailable(String),
    /// Not asked for (and removed if it was there).
    Absent,
}

async fn optional<K>(
    ctx: &Applier<'_>,
    cache: &OptionalCache<K>,
    parent: &Parent,
    desired: Option<&K>,
    field: &str,
) -> Result<Optional<K>>
where
    K: Child,
{
    match (cache.state(), desired) {
        (ApiState::Served, Some(d)) => Ok(Optional::Applied(ensure(ctx, &cache.store, parent, d).await?)),
        (ApiState::Served, None) => {
            remove(ctx, &cache.store, parent, field).await?;
            Ok(Optional::Absent)
        }
        (ApiState::Unavailable(why), Some(_)) => Ok(Optional::Unavailable(format!(
            "{field} asks for a {}, but {why}; the operator creates it by itself once that is fixed",
            K::kind(&())
        ))),
        (ApiState::Unknown, Some(_)) => Ok(Optional::Unavailable(format!(
            "{field} asks for a {}, and the operator does not know yet whether the API server serves that kind",
            K::kind(&())
        ))),
        (_, None) => Ok(Optional::Absent),
    }
}

fn was_created<K>(a: &Applied<K>) -> bool {
    matches!(a, Applied::Written { created: true, .. })
}

/// Server-side applies `desired` unless the watch cache shows it is already in place.
async fn ensure<K>(ctx: &Applier<'_>, store: &Store<K>, parent: &Parent, desired: &K) -> Result<Applied<K>>
where
    K: Child,
{
    let name = desired.meta().name.clone().ok_or(Error::MissingMetadata("child name"))?;
    let live = store.get(&child_ref(parent, &name));
    if let Some(live) = live.as_ref().filter(|live| crate::drift::up_to_date(desired, live.as_ref())) {
        return Ok(Applied::Unchanged(live.clone()));
    }
    let kind = K::kind(&()).to_string();
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &parent.namespace);
    let err = |source: kube::Error| Error::Apply {
        kind: kind.clone(),
        name: name.clone(),
        namespace: parent.namespace.clone(),
        source: Box::new(source),
    };
    ctx.metrics.wrote(&kind);
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let applied = crate::metrics::api_wait(api.patch(&name, &params, &Patch::Apply(desired))).await;
    let obj = match applied {
        Ok(obj) if live.is_none() || crate::drift::up_to_date(desired, &obj) => obj,
        // A list entry someone else added by hand (say a second Service port after `kubectl edit`)
        // survives a server-side apply, because the operator does not own it, and may even make
        // the merged object invalid. A merge patch replaces such lists wholesale; the apply after
        // it takes ownership of every field again.
        Ok(_) => take_back(ctx, &api, &name, desired).await.map_err(err)?,
        Err(kube::Error::Api(s)) if live.is_some() && rejected(s.code) => {
            take_back(ctx, &api, &name, desired).await.map_err(err)?
        }
        Err(e) => return Err(err(e)),
    };
    info!(namespace = %parent.namespace, %name, %kind, created = live.is_none(), "applied");
    Ok(Applied::Written { obj, created: live.is_none() })
}

async fn take_back<K>(ctx: &Applier<'_>, api: &Api<K>, name: &str, desired: &K) -> kube::Result<K>
where
    K: Resource<DynamicType = ()> + Clone + Serialize + DeserializeOwned + Debug,
{
    let kind = K::kind(&()).to_string();
    warn!(%name, %kind, "fields changed by someone else block the apply; replacing them");
    ctx.metrics.wrote(&kind);
    let merge = PatchParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..PatchParams::default() };
    crate::metrics::api_wait(api.patch(name, &merge, &Patch::Merge(desired))).await?;
    ctx.metrics.wrote(&kind);
    let params = PatchParams::apply(FIELD_MANAGER).force();
    crate::metrics::api_wait(api.patch(name, &params, &Patch::Apply(desired))).await
}

/// Deletes the child of this kind the app owns, if the watch cache has one (so an app without it
/// costs no request). `field` is the spec field whose absence asks for the removal, for the log.
async fn remove<K>(ctx: &Applier<'_>, store: &Store<K>, parent: &Parent, field: &str) -> Result<()>
where
    K: Child,
{
    remove_named(ctx, store, parent, &parent.name, field).await
}

/// Deletes the child `name` of this kind the app owns, if the watch cache has one; `why` says
/// what no longer asks for it, for the log.
pub async fn remove_named<K>(
    ctx: &Applier<'_>,
    store: &Store<K>,
    parent: &Parent,
    name: &str,
    why: &str,
) -> Result<()>
where
    K: Child,
{
    let Some(live) = store.get(&child_ref(parent, name)) else { return Ok(()) };
    let ours =
        live.owner_references().iter().any(|o| o.uid == parent.owner.uid && o.controller == Some(true));
    if !ours {
        return Ok(());
    }
    let kind = K::kind(&()).to_string();
    ctx.metrics.wrote(&kind);
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &parent.namespace);
    match crate::metrics::api_wait(api.delete(name, &DeleteParams::default())).await {
        Ok(_) => {
            info!(namespace = %parent.namespace, %name, %kind, %why, "deleted child the spec no longer asks for");
            Ok(())
        }
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(source) => Err(Error::Delete {
            kind,
            name: name.to_owned(),
            namespace: parent.namespace.clone(),
            source: Box::new(source),
        }),
    }
}

/// 4xx answers that retrying cannot fix: the object itself is wrong.
pub fn rejected(code: u16) -> bool {
    matches!(code, 400 | 422)
}

/// The cache key of a child of `parent`.
pub fn child_ref<K: Resource<DynamicType = ()>>(parent: &Parent, name: &str) -> ObjectRef<K> {
    ObjectRef::new(name).within(&parent.namespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_requests_the_object_is_wrong_for_count_as_rejected() {
        assert!(rejected(422) && rejected(400));
        assert!(!rejected(409) && !rejected(403) && !rejected(500) && !rejected(429));
    }
}
