//! The reconcile pipeline and the controller that drives it.
//!
//! `fetch` (the watch cache hands us the TetrisApp) -> `validate` + `build` ([`children::build`],
//! pure) -> `apply` (client: server-side apply of each child that differs from the watch cache) ->
//! `status` (pure computation, client only when it changed) -> Events for what changed.
//!
//! Children are watched through reflectors ([`crate::caches`]) whose stores the reconciler reads,
//! so deciding that nothing needs writing costs no request at all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams};
use kube::core::error_boundary::{DeserializeGuard, InvalidObject};
use kube::runtime::controller::{Action, Config as ControllerConfig, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{PredicateConfig, WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use tracing::{debug, info, warn};

use crate::apply::{self, Applier, child_ref, rejected};
use crate::caches::{ChildCaches, ChildStreams, namespaced_or_all};
use crate::children::{self, Children};
use crate::crd::{DeletionPolicy, TetrisApp, TetrisAppStatus};
use crate::meta::{APP_LABEL, FIELD_MANAGER, Parent};
use crate::metrics::Metrics;
use crate::notices;
use crate::rollout::deletion_cost::Tracker;
use crate::rollout::{self, analysis, canary};
use crate::route;
use crate::scoreboard;
use crate::status::{self, Problem};
use crate::{Error, Result};

/// What the controller needs to run.
#[derive(Debug, Clone)]
pub struct ControllerSettings {
    /// Only watch this namespace (all namespaces when `None`).
    pub namespace: Option<String>,
    /// How often every TetrisApp is reconciled even when nothing changed.
    pub resync: Duration,
    /// Reconciles running at once.
    pub concurrency: u16,
    /// Reporting instance of Events (the operator's identity).
    pub instance: String,
    /// How often the game pods' live matches are read into their deletion cost.
    pub pod_cost_interval: Duration,
}

/// Shared state of all reconciles.
pub struct Context {
    client: Client,
    recorder: Recorder,
    caches: ChildCaches,
    metrics: Arc<Metrics>,
    resync: Duration,
    /// Consecutive failures per app, for exponential backoff; a std Mutex because no await happens while it is held.
    failures: Mutex<HashMap<ObjectRef<Guarded>, u32>>,
    /// When the oldest not yet reconciled event of each app arrived, for the queue-wait metric.
    queued: Mutex<HashMap<ObjectRef<Guarded>, std::time::Instant>>,
    /// The last status this process wrote to each app; a std Mutex (no await inside).
    written: Mutex<HashMap<ObjectRef<Guarded>, Written>>,
    /// The game pods' deletion cost (busy pods go last on every scale-down).
    pods: Tracker,
    /// What the canary analysis saw at its earlier measurements; a std Mutex (no await inside).
    analysis: Mutex<analysis::Memory>,
}

/// Runs the controller until `shutdown` completes.
pub async fn run(
    client: Client,
    settings: ControllerSettings,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let (caches, streams) = ChildCaches::watch(&client, settings.namespace.as_deref());
    let recorder = Recorder::new(
        client.clone(),
        Reporter { controller: FIELD_MANAGER.to_owned(), instance: Some(settings.instance.clone()) },
    );
    let (pods, pod_watch) = Tracker::new(&client, settings.namespace.as_deref(), metrics.clone());
    // The pod watch and the periodic scan run while the controller does (so only on the leader).
    let pod_costs = futures::future::join(pod_watch, pods.clone().run(settings.pod_cost_interval));
    let ctx = Arc::new(Context {
        client: client.clone(),
        recorder,
        caches,
        metrics,
        resync: settings.resync,
        failures: Mutex::default(),
        queued: Mutex::default(),
        written: Mutex::default(),
        pods,
        analysis: Mutex::default(),
    });

    // A TetrisApp that does not deserialize (say, stored under an older schema) must not stop the
    // watch of all the others: the guard turns it into a value the reconciler reports and skips.
    let apps: Api<Guarded> = namespaced_or_all(&client, settings.namespace.as_deref());
    let (reader, writer) = reflector::store();
    let deleted_ctx = ctx.clone();
    let queued_ctx = ctx.clone();
    let app_stream = crate::caches::relisting_watcher(apps, crate::caches::watch_config())
        .default_backoff()
        .modify(|app| {
            app.managed_fields_mut().clear();
            // Written by `kubectl apply` (a whole second copy of the spec); never read here.
            app.annotations_mut().remove("kubectl.kubernetes.io/last-applied-configuration");
        })
        .reflect(writer)
        .inspect(move |event| {
            if let Ok(watcher::Event::Delete(DeserializeGuard(Ok(app)))) = event {
                let key = ObjectRef::from_obj(&DeserializeGuard(Ok(app.clone())));
                if let Ok(mut queued) = deleted_ctx.queued.lock() {
                    queued.remove(&key);
                }
                if let Ok(mut written) = deleted_ctx.written.lock() {
                    written.remove(&key);
                }
                tokio::spawn(app_deleted(deleted_ctx.clone(), app.clone()));
            }
        })
        .applied_objects()
        // A change of the status alone (most often the operator's own write) reconciles nothing,
        // except in the two fields a reconcile reads back for its decisions (see
        // `reconcile_worthy`). The store above still holds all of it.
        .predicate_filter(reconcile_worthy, PredicateConfig::default())
        .inspect(move |app| {
            if let (Ok(app), Ok(mut queued)) = (app, queued_ctx.queued.lock()) {
                queued.entry(ObjectRef::from_obj(app)).or_insert_with(std::time::Instant::now);
            }
        });

    let ChildStreams {
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
    } = streams;
    let controller = Controller::for_stream(app_stream, reader)
        .owns_stream(configmaps)
        .owns_stream(deployments)
        .owns_stream(services)
        .owns_stream(ingresses)
        .owns_stream(network_policies)
        // A Gateway writing the route's status reconciles the app, which mirrors it.
        .owns_stream(routes)
        .owns_stream(pod_monitors)
        .owns_stream(hpas)
        .owns_stream(pdbs)
        // Retained claims have no owner reference, so they map back to their app by label.
        .watches_stream(pvcs, |pvc: PersistentVolumeClaim| {
            let ns = pvc.namespace()?;
            let name = pvc.labels().get(APP_LABEL)?.clone();
            Some(ObjectRef::<Guarded>::new(&name).within(&ns))
        })
        .with_config(ControllerConfig::default().concurrency(settings.concurrency))
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                // Object-level errors are already logged by the reconciler; these are watch hiccups.
                tracing::debug!(error = %e, "controller event");
            }
        });
    futures::pin_mut!(pod_costs);
    futures::future::select(std::pin::pin!(controller), pod_costs).await;
}

/// A TetrisApp as watched: either the object or why it could not be read.
type Guarded = DeserializeGuard<TetrisApp>;

/// What of a TetrisApp a reconcile depends on (the predicate hash): its metadata and spec, and of
/// its status the two fields the rollout reads back, `status.version` (the stable version) and
/// `status.rollout` (the step, the analysis tally, the pause start). A canary or blue/green moves
/// on when its own status write comes back; the rest of the status (counts, conditions) is
/// computed from the children and not read for decisions.
fn reconcile_worthy(app: &Guarded) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let meta = app.meta();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&meta.uid, meta.generation, &meta.labels, &meta.annotations, meta.deletion_timestamp.is_some())
        .hash(&mut h);
    if let Ok(app) = &app.0 {
        let status = app.status.as_ref();
        status.and_then(|s| s.version.as_deref()).hash(&mut h);
        serde_json::to_string(&status.and_then(|s| s.rollout.as_ref())).unwrap_or_default().hash(&mut h);
    }
    Some(h.finish())
}

/// The operator's last status write to one app, so that a reconcile whose cache does not show it
/// yet neither writes it again nor writes a mere change of pod counts soon after.
#[derive(Clone)]
struct Written {
    /// When it was written.
    at: std::time::Instant,
    /// The app's resourceVersion the write was computed from.
    over: Option<String>,
    /// Hash of the status written.
    status: u64,
    /// Hash of its [`status::shape`] (the status without pod counts).
    shape: u64,
}

/// How long after a status write a change of replica counts alone waits to be written (with
/// whatever else changed by then). Conditions, versions and generations are written at once.
/// Pods of a new app or a scale-up turn ready within seconds of each other, so a few seconds
/// coalesce most of those writes, and `kubectl get tetrisapps` is never more than that behind
/// (the benchmark's first runs used 30 s: fewer writes under load, but READY counts half a
/// minute stale).
const COUNTS_SETTLE: Duration = Duration::from_secs(5);

fn hash_of(status: &TetrisAppStatus) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_vec(status).unwrap_or_default().hash(&mut h);
    h.finish()
}

/// One pass of the pipeline for one TetrisApp (or a report about one that cannot be read).
async fn reconcile(guarded: Arc<Guarded>, ctx: Arc<Context>) -> Result<Action> {
    // Until every cache holds its first list, a missing child may only be not loaded yet.
    ctx.caches.ready().await;
    let waited = ctx.queued.lock().ok().and_then(|mut q| q.remove(&ObjectRef::from_obj(guarded.as_ref())));
    if let Some(since) = waited {
        ctx.metrics.queued(since.elapsed());
    }
    ctx.metrics
        .time_reconcile(async {
            match &guarded.0 {
                Ok(app) => reconcile_app(app, &ctx).await,
                Err(invalid) => {
                    unreadable(&ctx, invalid).await;
                    Ok(Action::await_change())
                }
            }
        })
        .await
}

/// Logs and records an Event for a TetrisApp the operator cannot read, then leaves it alone.
async fn unreadable(ctx: &Context, invalid: &InvalidObject) {
    let meta = &invalid.metadata;
    warn!(namespace = ?meta.namespace, name = ?meta.name, error = %invalid.error, "cannot read TetrisApp; skipping it");
    ctx.metrics.reconcile_failed("unreadable");
    let reference = k8s_openapi::api::core::v1::ObjectReference {
        api_version: Some(format!("{}/v1alpha1", crate::crd::GROUP)),
        kind: Some("TetrisApp".to_owned()),
        name: meta.name.clone(),
        namespace: meta.namespace.clone(),
        uid: meta.uid.clone(),
        ..Default::default()
    };
    let note = format!("the operator cannot read this TetrisApp and skips it: {}", invalid.error);
    publish_ref(ctx, &reference, true, "UnreadableObject", note).await;
}

async fn reconcile_app(app: &TetrisApp, ctx: &Context) -> Result<Action> {
    if app.metadata.deletion_timestamp.is_some() {
        // Owner references let the garbage collector remove the children.
        return Ok(Action::await_change());
    }
    let parent = Parent::of(app)?;
    debug!(namespace = %parent.namespace, name = %parent.name, generation = ?app.metadata.generation, "reconcile");

    let key = ObjectRef::<Guarded>::new(&parent.name).within(&parent.namespace);
    let failures_so_far = ctx.failures.lock().map(|f| f.get(&key).copied().unwrap_or(0)).unwrap_or(0);
    // An apply error the operator keeps retrying (with backoff) after it has said so in the status.
    let mut retry = None;
    let mut route_conditions = Vec::new();
    let live_canary = ctx.caches.deployments.get(&child_ref(&parent, &canary::canary_name(&parent)));
    let started = k8s_openapi::jiff::Timestamp::now();
    let measured = match canary::analysis_due(app, live_canary.as_deref(), started) {
        Some((spec, field)) => Some(analysis::measure(&ctx.pods, &ctx.analysis, &parent, spec, field).await),
        None => None,
    };
    let plan = canary::plan(
        app,
        ctx.caches.deployments.get(&child_ref(&parent, &parent.name)).as_deref(),
        live_canary.as_deref(),
        started,
        measured.as_ref(),
    );
    scale_down_sees_busy_pods(&parent, &plan, live_canary.as_deref(), ctx).await;
    // The rollout step shapes the built Deployment (stable version and replicas) and adds the canary's.
    let (built, extra) = match children::build(app, &parent)? {
        Ok(mut desired) => {
            let extra = canary::put_into_effect(&mut desired, &parent, &app.spec, &plan)?;
            (Ok(desired), extra)
        }
        Err(invalid) => (Err(invalid), canary::Extra::default()),
    };
    let (live_deployment, problem, url) = match built {
        Err(invalid) => (
            ctx.caches.deployments.get(&child_ref(&parent, &parent.name)),
            Some(Problem::InvalidSpec(invalid)),
            None,
        ),
        Ok(desired) => match apply::apply(&ctx.applier(), &parent, &desired).await {
            Ok(outcome) => {
                apply_rollout_children(ctx, &parent, &extra).await?;
                // A new app's first children are no news (its `Deployed` Event follows); children
                // created again, after someone deleted them, are.
                let reconciled_before = app.status.as_ref().is_some_and(|s| s.observed_generation.is_some());
                if !outcome.created.is_empty() && reconciled_before {
                    created_event(ctx, &parent, &desired, &outcome.created).await;
                }
                let mut problem = outcome.unavailable.first().map(|m| Problem::Unavailable(m.clone()));
                if app.spec.route.is_some() && outcome.route.is_some() {
                    let live = outcome.route.as_deref();
                    for (type_, gateway_type, reason) in [
                        (status::ROUTE_ACCEPTED, "Accepted", "RouteNotAccepted"),
                        (status::ROUTE_RESOLVED_REFS, "ResolvedRefs", "RouteRefsNotResolved"),
                    ] {
                        if let Some(c) = route::condition(&app.spec, &parent.namespace, live, gateway_type) {
                            if c.status == "False" && problem.is_none() {
                                problem = Some(Problem::Route { reason, message: c.message.clone() });
                            }
                            route_conditions.push((type_, c));
                        }
                    }
                }
                (Some(outcome.deployment), problem, Some(desired.url.clone()))
            }
            Err(e @ Error::Apply { .. }) => {
                let Some(api) = e.api_status() else { return Err(e) };
                // A refusal (400, 422) will not change until the spec does. Any other answer may be
                // passing, so it is retried; but once it has failed three times running, the status
                // says so instead of the operator retrying in silence (a 500 from a value the
                // schema let through, a webhook or policy that denies, a quota).
                let refused = rejected(api.code);
                if !refused && failures_so_far < 2 {
                    return Err(e);
                }
                let kind = match &e {
                    Error::Apply { kind, .. } => kind.clone(),
                    _ => "child".to_owned(),
                };
                let msg = format!("the API server rejected the {kind} (HTTP {}): {}", api.code, api.message);
                if !refused {
                    retry = Some(e);
                }
                (
                    ctx.caches.deployments.get(&child_ref(&parent, &parent.name)),
                    Some(Problem::ApplyFailed(msg)),
                    Some(desired.url.clone()),
                )
            }
            Err(e) => return Err(e),
        },
    };

    // A SQLite claim outliving a switch to PostgreSQL is said in the status until it is deleted.
    let claim = ctx.caches.pvcs.get(&child_ref(&parent, &parent.pvc_name()));
    route_conditions.extend(scoreboard::retained_volume(&parent, &app.spec, claim.as_deref()));
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let mut new = status::compute(
        app,
        &parent,
        live_deployment.as_deref(),
        problem.as_ref(),
        &route_conditions,
        url,
        &now,
    );
    let old = app.status.clone().unwrap_or_default();
    canary::decorate(&mut new, &old, &plan, live_canary.as_deref(), app.metadata.generation, &now);
    ctx.metrics.set_app_state(format!("{}/{}", parent.namespace, parent.name), Some(state_label(&new)));
    let (settle, wrote) = match status_write(ctx, &key, app, &old, &new) {
        StatusWrite::None => (None, false),
        StatusWrite::Later(after) => (Some(after), false),
        StatusWrite::Now(hash) => {
            write_status(ctx, &parent, &new).await?;
            let written = Written {
                at: std::time::Instant::now(),
                over: app.resource_version(),
                status: hash,
                shape: hash_of(&status::shape(&new)),
            };
            if let Ok(mut all) = ctx.written.lock() {
                all.insert(key.clone(), written);
            }
            (None, true)
        }
    };
    if wrote {
        let ready = status::find(&new, status::READY).map(|c| c.reason.as_str()).unwrap_or_default();
        info!(namespace = %parent.namespace, name = %parent.name, ready, version = ?new.version, "status changed");
        for notice in notices::for_change(&old, &new) {
            publish(ctx, app, notice.warning, notice.reason, notice.note).await;
        }
        let retained = |s: &TetrisAppStatus| status::find(s, scoreboard::VOLUME_RETAINED).cloned();
        if let (None, Some(kept)) = (retained(&old), retained(&new)) {
            publish(ctx, app, false, scoreboard::VOLUME_RETAINED_EVENT, kept.message).await;
        }
    }
    if let Some(e) = retry {
        return Err(e);
    }
    if let Ok(mut failures) = ctx.failures.lock() {
        failures.remove(&key);
    }
    let next = match problem {
        // A missing CRD is looked for again soon: installing it heals the app without a change to it.
        Some(Problem::Unavailable(_)) => Some(UNAVAILABLE_RECHECK),
        // A Gateway's verdict changes with the route's status, which is watched.
        Some(Problem::Route { .. }) => Some(ctx.resync),
        // Nothing will change until the spec (or the conflicting object) does.
        Some(_) => None,
        // A timed canary pause ends on its own.
        None => Some(plan.requeue.map_or(ctx.resync, |d| d.min(ctx.resync))),
    };
    // A status write held back comes due on its own.
    let next = match (next, settle) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Ok(next.map_or_else(Action::await_change, Action::requeue))
}

/// Whether a reconcile writes the status it computed.
enum StatusWrite {
    /// Nothing to write: it is stored already, or this process wrote it and the cache lags.
    None,
    /// Only pod counts changed shortly after the last write; written after this long.
    Later(Duration),
    /// Write now; the hash of the status.
    Now(u64),
}

fn status_write(
    ctx: &Context,
    key: &ObjectRef<Guarded>,
    app: &TetrisApp,
    old: &TetrisAppStatus,
    new: &TetrisAppStatus,
) -> StatusWrite {
    let last = ctx.written.lock().ok().and_then(|w| w.get(key).cloned());
    let settling = |last: &Written| {
        let since = last.at.elapsed();
        // A little past the settle time, so the requeue does not arrive a hair early.
        (since < COUNTS_SETTLE).then(|| COUNTS_SETTLE - since + Duration::from_millis(100))
    };
    if let Some(last) = last.as_ref().filter(|l| l.over.is_some() && l.over == app.resource_version()) {
        // The cache does not show this process's last write yet (a child's event came first), so
        // the status to compare with is the one written, not the one cached.
        let hash = hash_of(new);
        if hash == last.status {
            return StatusWrite::None;
        }
        return match settling(last).filter(|_| hash_of(&status::shape(new)) == last.shape) {
            Some(after) => StatusWrite::Later(after),
            None => StatusWrite::Now(hash),
        };
    }
    if new == old {
        return StatusWrite::None;
    }
    match last.as_ref().and_then(settling).filter(|_| status::only_counts_changed(old, new)) {
        Some(after) => StatusWrite::Later(after),
        None => StatusWrite::Now(hash_of(new)),
    }
}

/// Applies the children the rollout adds, and removes those it no longer wants (a strategy
/// changed away from Canary or BlueGreen, a route unset): nothing of the old strategy stays.
async fn apply_rollout_children(ctx: &Context, parent: &Parent, extra: &canary::Extra) -> Result<()> {
    let applier = ctx.applier();
    let canary = canary::canary_name(parent);
    match &extra.canary {
        Some(c) => drop(apply::apply_deployment(&applier, parent, c).await?),
        None => {
            let why = "upgrade.strategy is neither Canary nor BlueGreen";
            apply::remove_named(&applier, &ctx.caches.deployments, parent, &canary, why).await?
        }
    }
    match &extra.preview {
        Some(preview) => apply::apply_service(&applier, parent, preview).await?,
        None => {
            let preview = rollout::bluegreen::preview_name(parent);
            let why = "upgrade.strategy is not BlueGreen";
            apply::remove_named(&applier, &ctx.caches.services, parent, &preview, why).await?
        }
    }
    match &extra.canary_service {
        Some(svc) => apply::apply_service(&applier, parent, svc).await?,
        None => {
            let why = "no canary behind spec.route (upgrade.strategy Canary with spec.route)";
            apply::remove_named(&applier, &ctx.caches.services, parent, &canary, why).await?
        }
    }
    Ok(())
}

/// Before the operator lowers either Deployment's replicas, the app's pods' deletion cost is read
/// afresh, so the ReplicaSet controller removes the pods without a live match first.
async fn scale_down_sees_busy_pods(
    parent: &Parent,
    plan: &canary::Plan,
    live_canary: Option<&k8s_openapi::api::apps::v1::Deployment>,
    ctx: &Context,
) {
    let replicas = |d: Option<&k8s_openapi::api::apps::v1::Deployment>| {
        d.and_then(|d| d.spec.as_ref()?.replicas).unwrap_or(0)
    };
    let live = ctx.caches.deployments.get(&child_ref(parent, &parent.name));
    if plan.stable_replicas < replicas(live.as_deref())
        || plan.canary_replicas.is_some_and(|c| c < replicas(live_canary))
    {
        ctx.pods.refresh_app(&parent.namespace, &parent.name).await;
    }
}

/// How soon an app that asks for a kind the cluster does not serve is looked at again.
const UNAVAILABLE_RECHECK: Duration = Duration::from_secs(10);

fn state_label(s: &TetrisAppStatus) -> &'static str {
    let is_true = |t| status::find(s, t).is_some_and(|c| c.status == "True");
    if is_true(status::DEGRADED) {
        "degraded"
    } else if is_true(status::READY) {
        "ready"
    } else {
        "progressing"
    }
}

impl Context {
    fn applier(&self) -> Applier<'_> {
        Applier { client: &self.client, caches: &self.caches, metrics: &self.metrics }
    }
}

/// One Event listing the children that had to be created (first reconcile, or deleted by someone).
async fn created_event(ctx: &Context, parent: &Parent, desired: &Children, created: &[String]) {
    let mut note = format!("created {}", created.join(", "));
    if desired.pvc.as_ref().is_some_and(|pvc| pvc.metadata.owner_references.is_none()) {
        note.push_str(&format!(
            "; PersistentVolumeClaim {} is kept when the TetrisApp is deleted (deletionPolicy Retain)",
            parent.pvc_name()
        ));
    }
    info!(namespace = %parent.namespace, name = %parent.name, children = %created.join(","), "created children");
    publish_ref(ctx, &TetrisAppRef(parent).object_ref(), false, "Created", note).await;
}

async fn write_status(ctx: &Context, parent: &Parent, status: &TetrisAppStatus) -> Result<()> {
    let api: Api<TetrisApp> = Api::namespaced(ctx.client.clone(), &parent.namespace);
    let body = serde_json::json!({
        "apiVersion": format!("{}/v1alpha1", crate::crd::GROUP),
        "kind": "TetrisApp",
        "status": status,
    });
    ctx.metrics.wrote("TetrisApp/status");
    let params = PatchParams::apply(FIELD_MANAGER).force();
    crate::metrics::api_wait(api.patch_status(&parent.name, &params, &Patch::Apply(&body))).await.map_err(
        |source| Error::Status {
            name: parent.name.clone(),
            namespace: parent.namespace.clone(),
            source: Box::new(source),
        },
    )?;
    Ok(())
}

/// An object reference to a TetrisApp from its parent identity (also usable after it is deleted).
struct TetrisAppRef<'a>(&'a Parent);

impl TetrisAppRef<'_> {
    fn object_ref(&self) -> k8s_openapi::api::core::v1::ObjectReference {
        k8s_openapi::api::core::v1::ObjectReference {
            api_version: Some(self.0.owner.api_version.clone()),
            kind: Some(self.0.owner.kind.clone()),
            name: Some(self.0.name.clone()),
            namespace: Some(self.0.namespace.clone()),
            uid: Some(self.0.owner.uid.clone()),
            ..Default::default()
        }
    }
}

async fn publish(ctx: &Context, app: &TetrisApp, warning: bool, reason: &str, note: String) {
    publish_ref(ctx, &app.object_ref(&()), warning, reason, note).await;
}

/// Records an Event; failing to record one is logged, never fails the reconcile.
async fn publish_ref(
    ctx: &Context,
    reference: &k8s_openapi::api::core::v1::ObjectReference,
    warning: bool,
    reason: &str,
    note: String,
) {
    let event = Event {
        type_: if warning { EventType::Warning } else { EventType::Normal },
        reason: reason.to_owned(),
        note: Some(note),
        action: "Reconcile".to_owned(),
        secondary: None,
    };
    ctx.metrics.wrote("Event");
    if let Err(e) = crate::metrics::api_wait(ctx.recorder.publish(&event, reference)).await {
        warn!(error = %e, reason, "failed to record event");
    }
}

/// A deleted TetrisApp whose claim is retained gets an Event saying where the scores are.
async fn app_deleted(ctx: Arc<Context>, app: TetrisApp) {
    let Ok(parent) = Parent::of(&app) else { return };
    ctx.metrics.set_app_state(format!("{}/{}", parent.namespace, parent.name), None);
    // With the PostgreSQL backend there may be no claim at all.
    let claim = ctx.caches.pvcs.get(&child_ref(&parent, &parent.pvc_name()));
    if app.spec.storage.deletion_policy != DeletionPolicy::Retain || claim.is_none() {
        return;
    }
    let note = format!(
        "TetrisApp deleted; PersistentVolumeClaim {} with the scoreboard was kept (deletionPolicy Retain). \
         A TetrisApp with the same name adopts it again; delete it by hand to remove the scores.",
        parent.pvc_name()
    );
    info!(namespace = %parent.namespace, name = %parent.name, pvc = %parent.pvc_name(), "retained scoreboard claim");
    publish_ref(&ctx, &TetrisAppRef(&parent).object_ref(), false, "ScoreboardRetained", note).await;
}

/// Transient failures requeue with exponential backoff per app (1s doubling to 5 minutes).
fn error_policy(app: Arc<Guarded>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.reconcile_failed(error.metric_label());
    let attempts = match ctx.failures.lock() {
        Ok(mut failures) => {
            let n = failures.entry(ObjectRef::from_obj(app.as_ref())).or_insert(0);
            *n = n.saturating_add(1);
            *n
        }
        Err(_) => 1,
    };
    let delay = Duration::from_secs(1u64 << attempts.min(9).saturating_sub(1)).min(Duration::from_secs(300));
    warn!(
        namespace = app.namespace().unwrap_or_default(),
        name = app.name_any(),
        error = %error,
        cause = %error.root_cause(),
        attempts,
        retry_in_s = delay.as_secs(),
        "reconcile failed"
    );
    Action::requeue(delay)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_tetrisapp_becomes_a_reportable_value_not_a_watch_error() {
        let json = serde_json::json!({
            "apiVersion": "gameops.dev/v1alpha1", "kind": "TetrisApp",
            "metadata": {"name": "old", "namespace": "games", "uid": "u1"},
            "spec": {"version": "1.0.0", "replicas": "three", "storage": {"deletionPolicy": "Archive"}}
        });
        let guarded: Guarded = serde_json::from_value(json).expect("the guard itself always deserializes");
        let invalid = guarded.0.expect_err("the object is not a TetrisApp");
        assert_eq!(invalid.metadata.name.as_deref(), Some("old"));
        assert_eq!(invalid.metadata.namespace.as_deref(), Some("games"));
    }

    #[test]
    fn state_label_prefers_degraded_over_ready() {
        let cond = |t: &str, s: &str| k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
            type_: t.into(),
            status: s.into(),
            reason: String::new(),
            message: String::new(),
            observed_generation: None,
            last_transition_time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
        };
        let mut s = TetrisAppStatus {
            conditions: vec![cond("Ready", "True"), cond("Degraded", "False")],
            ..Default::default()
        };
        assert_eq!(state_label(&s), "ready");
        s.conditions[1].status = "True".into();
        assert_eq!(state_label(&s), "degraded");
        s.conditions.clear();
        assert_eq!(state_label(&s), "progressing");
    }
}
