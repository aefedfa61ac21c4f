//! The operator benchmark's driver (`make bench-operator` runs it through
//! `hack/bench-operator.sh`): the same N apps three ways, one after the other, on one local
//! control plane (real kube-apiserver, etcd, controller-manager, scheduler; kwok nodes):
//!
//! - **limit**: this process server-side applies the exact children the operator would write (built
//!   by the operator's own `children::build`), as fast as the API server takes them, at the
//!   operator's concurrency. Nothing can create the children faster through the API.
//! - **operator**: the release `tetris-operator run`, started once the N TetrisApps exist.
//! - **helm**: one `helm upgrade --install` per app of a chart rendering the same objects (the chart
//!   is generated from `children::build`, so it cannot drift from the operator's output), run
//!   at the same concurrency.
//!
//! Each way starts from N stored TetrisApps (created before the clock starts, helm aside) in a
//! fresh namespace, and the namespace is deleted before the next way runs, so every way meets the
//! same cluster. Per way it prints the time until every child exists, the time until every app is
//! Ready (the limit and helm: every Deployment available), API writes per app from the audit log
//! by resource, the control plane's CPU seconds, and for the operator its CPU seconds, peak RSS,
//! reconcile work and queue-wait quantiles, and the writes and work of a resync of all N apps.
//!
//! Not a test: nothing here asserts; it measures and prints.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, PersistentVolumeClaim, Service};
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use local_cluster::{LocalCluster, Options};
use serde::Serialize;
use serde_json::json;
use tetris_operator::caches::Child;
use tetris_operator::children::{self, Children};
use tetris_operator::crd::TetrisApp;
use tetris_operator::meta::Parent;

const CONCURRENCY: usize = 16;
/// The user every way writes as (the limit's client, the operator, helm), so the audit log tells
/// their writes from the driver's, the control plane's and kwok's.
const WRITER: &str = "bench-writer";
/// Longest wait for one step (children, readiness, a namespace's deletion).
const STEP_TIMEOUT: Duration = Duration::from_secs(1200);
/// Pods one kwok node takes (the scheduler's default limit is 110 per node; kwok nodes in this
/// repository advertise more).
const PODS_PER_NODE: usize = 200;

struct Args {
    sizes: Vec<usize>,
    /// Which of limit, operator, helm to run (BENCH_WAYS; all three by default).
    ways: Vec<String>,
    helm_max: usize,
    operator_bin: PathBuf,
    helm_bin: PathBuf,
    out: Option<PathBuf>,
}

fn args() -> Result<Args> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let sizes = env("BENCH_SIZES")
        .unwrap_or_else(|| "100 500 2000".into())
        .split_whitespace()
        .map(|s| s.parse().context("BENCH_SIZES holds numbers"))
        .collect::<Result<Vec<usize>>>()?;
    Ok(Args {
        sizes,
        ways: env("BENCH_WAYS")
            .unwrap_or_else(|| "limit operator helm".into())
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        helm_max: env("BENCH_HELM_MAX").map(|s| s.parse()).transpose()?.unwrap_or(500),
        operator_bin: env("BENCH_OPERATOR_BIN")
            .context("BENCH_OPERATOR_BIN: the release tetris-operator")?
            .into(),
        helm_bin: env("BENCH_HELM_BIN").unwrap_or_else(|| "helm".into()).into(),
        out: env("BENCH_OUT").map(PathBuf::from),
    })
}

/// One way's figures at one N.
#[derive(Debug, Default)]
struct Figures {
    way: &'static str,
    n: usize,
    children: Duration,
    ready: Duration,
    writes: BTreeMap<String, usize>,
    control_plane_cpu: f64,
    operator: Option<OperatorFigures>,
    /// The limit's apply latency, p50 and p99 (ms).
    request_ms: Option<(f64, f64)>,
}

#[derive(Debug, Default)]
struct OperatorFigures {
    cpu: f64,
    peak_rss_mib: f64,
    reconciles: u64,
    work_p50_ms: f64,
    work_p99_ms: f64,
    queue_p50_ms: f64,
    queue_p99_ms: f64,
    api_p50_ms: f64,
    api_p99_ms: f64,
    own_p50_ms: f64,
    own_p99_ms: f64,
    resync_writes: usize,
    resync_work_p99_ms: f64,
}

impl Figures {
    fn writes_per_app(&self) -> f64 {
        self.writes.values().sum::<usize>() as f64 / self.n as f64
    }
    /// Writes per app that are Events (recorded, not part of the app's state).
    fn events_per_app(&self) -> f64 {
        self.writes.get("events").copied().unwrap_or(0) as f64 / self.n as f64
    }
    fn writes_breakdown(&self) -> String {
        self.writes
            .iter()
            .map(|(k, v)| format!("{k} {:.2}", *v as f64 / self.n as f64))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = args()?;
    let most = args.sizes.iter().copied().max().unwrap_or(0);
    let nodes = most.div_ceil(PODS_PER_NODE).max(1) + 1;
    eprintln!("== starting the local control plane with {nodes} kwok nodes");
    let cluster =
        tokio::task::block_in_place(|| LocalCluster::start(Options { nodes, ..Options::default() }))
            .context("local control plane")?;
    let crd = std::fs::read_to_string(repo().join("crds/tetrisapps.gameops.dev.yaml"))?;
    cluster.kubectl_apply(&crd)?;
    cluster.run_kubectl(&[
        "wait",
        "--for=condition=Established",
        "crd/tetrisapps.gameops.dev",
        "--timeout=60s",
    ])?;
    let client = cluster.client().await;
    let chart = tempfile::tempdir()?;
    write_chart(chart.path())?;

    let mut all = Vec::new();
    for &n in &args.sizes {
        for way in ["limit", "operator", "helm"] {
            if !args.ways.iter().any(|w| w == way) {
                continue;
            }
            if way == "helm" && n > args.helm_max {
                eprintln!("== N={n}: helm skipped (BENCH_HELM_MAX={})", args.helm_max);
                continue;
            }
            let ns = format!("{way}-{n}");
            eprintln!("== N={n}: {way}");
            let figures = run_way(&cluster, &client, &args, chart.path(), way, n, &ns).await?;
            print_row(&figures);
            all.push(figures);
            delete_namespace(&client, &ns).await?;
        }
    }
    let report = report(&all, &args);
    println!("\n{report}");
    if let Some(out) = &args.out {
        std::fs::write(out, &report)?;
        eprintln!("(written to {})", out.display());
    }
    cluster.stop();
    Ok(())
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The spec of every app: one replica, the default settings otherwise.
fn app(i: usize) -> TetrisApp {
    let mut app = TetrisApp::new(
        &format!("app-{i:04}"),
        serde_json::from_value(json!({"version": "1.0.0"})).expect("spec"),
    );
    app.meta_mut().labels = Some([("bench".to_owned(), "operator".to_owned())].into());
    app
}

async fn create_apps(client: &Client, ns: &str, n: usize) -> Result<()> {
    let apps: Api<TetrisApp> = Api::namespaced(client.clone(), ns);
    let results: Vec<kube::Result<TetrisApp>> = futures::stream::iter(0..n)
        .map(|i| {
            let apps = apps.clone();
            async move { apps.create(&PostParams::default(), &app(i)).await }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    for r in results {
        r.context("creating a TetrisApp")?;
    }
    Ok(())
}

async fn create_namespace(client: &Client, ns: &str) -> Result<()> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let body = Namespace {
        metadata: ObjectMeta { name: Some(ns.into()), ..ObjectMeta::default() },
        ..Namespace::default()
    };
    namespaces.create(&PostParams::default(), &body).await?;
    Ok(())
}

async fn delete_namespace(client: &Client, ns: &str) -> Result<()> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces.delete(ns, &DeleteParams::foreground()).await?;
    let start = Instant::now();
    while namespaces.get_opt(ns).await?.is_some() {
        if start.elapsed() > STEP_TIMEOUT {
            bail!("namespace {ns} still there after {STEP_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(())
}

/// A reflector over one kind in `ns`, for counting without polling the API server.
fn cache<K: Child>(client: &Client, ns: &str) -> Store<K> {
    let (reader, writer) = reflector::store();
    let stream = watcher(Api::<K>::namespaced(client.clone(), ns), watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects();
    tokio::spawn(stream.for_each(|_| async {}));
    reader
}

struct Caches {
    configmaps: Store<ConfigMap>,
    deployments: Store<Deployment>,
    services: Store<Service>,
    pvcs: Store<PersistentVolumeClaim>,
    apps: Store<TetrisApp>,
}

impl Caches {
    fn new(client: &Client, ns: &str) -> Caches {
        Caches {
            configmaps: cache(client, ns),
            deployments: cache(client, ns),
            services: cache(client, ns),
            pvcs: cache(client, ns),
            apps: cache(client, ns),
        }
    }
    fn children_exist(&self, n: usize) -> bool {
        self.configmaps.state().len() >= n
            && self.deployments.state().len() >= n
            && self.services.state().len() >= n
            && self.pvcs.state().len() >= n
    }
    fn deployments_available(&self, n: usize) -> bool {
        let available = |d: &Deployment| {
            let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
            d.status.as_ref().and_then(|s| s.available_replicas).unwrap_or(0) >= want
        };
        self.deployments.state().iter().filter(|d| available(d)).count() >= n
    }
    fn apps_ready(&self, n: usize) -> bool {
        let ready = |a: &TetrisApp| {
            a.status.as_ref().is_some_and(|s| {
                s.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True")
                    && s.observed_generation == a.metadata.generation
            })
        };
        self.apps.state().iter().filter(|a| ready(a)).count() >= n
    }
}

async fn wait_for(what: &str, start: Instant, check: impl Fn() -> bool) -> Result<Duration> {
    loop {
        if check() {
            return Ok(start.elapsed());
        }
        if start.elapsed() > STEP_TIMEOUT {
            bail!("{what}: not done after {STEP_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn run_way(
    cluster: &LocalCluster,
    client: &Client,
    args: &Args,
    chart: &Path,
    way: &'static str,
    n: usize,
    ns: &str,
) -> Result<Figures> {
    create_namespace(client, ns).await?;
    let caches = Caches::new(client, ns);
    if way != "helm" {
        create_apps(client, ns, n).await?;
        wait_for("apps cached", Instant::now(), || caches.apps.state().len() >= n).await?;
    }
    let audit_from = audit_len(cluster);
    let cpu_before = control_plane_cpu(cluster);
    let mut figures = Figures { way, n, ..Figures::default() };
    let start = Instant::now();
    match way {
        "limit" => {
            let apps = caches.apps.state();
            let mut latencies = apply_children(&cluster.client_as(WRITER).await, &apps).await?;
            latencies.sort();
            let at = |q: f64| {
                latencies[((latencies.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0
            };
            figures.request_ms = Some((at(0.5), at(0.99)));
            figures.children = wait_for("children", start, || caches.children_exist(n)).await?;
            figures.ready =
                wait_for("deployments available", start, || caches.deployments_available(n)).await?;
        }
        "helm" => {
            helm_installs(cluster, args, chart, ns, n).await?;
            figures.children = wait_for("children", start, || caches.children_exist(n)).await?;
            figures.ready =
                wait_for("deployments available", start, || caches.deployments_available(n)).await?;
        }
        _ => {
            let mut operator = Operator::start(cluster, args, ns).await?;
            figures.children = wait_for("children", start, || caches.children_exist(n)).await?;
            figures.ready = wait_for("apps Ready", start, || caches.apps_ready(n)).await?;
            // The last status writes land in the audit log before it is read.
            tokio::time::sleep(Duration::from_secs(2)).await;
            let mut op = operator.figures().await?;
            // A resync: touching every app's labels reconciles each once, with nothing to change.
            let before = operator.scrape().await?;
            let resync_audit_from = audit_len(cluster);
            let apps: Api<TetrisApp> = Api::namespaced(client.clone(), ns);
            let stamp = format!("{}", start.elapsed().as_millis());
            let pp = PatchParams::default();
            futures::stream::iter(0..n)
                .map(|i| {
                    let (apps, pp, stamp) = (apps.clone(), pp.clone(), stamp.clone());
                    async move {
                        let body = json!({"metadata": {"annotations": {"bench/resync": stamp}}});
                        apps.patch(&format!("app-{i:04}"), &pp, &Patch::Merge(body)).await
                    }
                })
                .buffer_unordered(CONCURRENCY)
                .collect::<Vec<_>>()
                .await;
            let resynced = Instant::now();
            loop {
                let now = operator.scrape().await?;
                if counter(&now, "tetris_operator_reconciles_total")
                    - counter(&before, "tetris_operator_reconciles_total")
                    >= n as f64
                {
                    break;
                }
                if resynced.elapsed() > STEP_TIMEOUT {
                    bail!("resync: fewer than {n} reconciles");
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
            let after = operator.scrape().await?;
            op.resync_writes = audit_writes(cluster, ns, resync_audit_from).values().sum();
            op.resync_work_p99_ms =
                quantile(&after, &before, "tetris_operator_reconcile_duration_seconds", 0.99) * 1000.0;
            figures.operator = Some(op);
            operator.stop();
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    figures.control_plane_cpu = control_plane_cpu(cluster) - cpu_before;
    figures.writes = audit_writes(cluster, ns, audit_from);
    Ok(figures)
}

/// The limit: every child of every app, server-side applied at the operator's concurrency. Returns
/// each request's latency, the API server's answer time the operator's reconciles also wait for.
async fn apply_children(client: &Client, apps: &[Arc<TetrisApp>]) -> Result<Vec<Duration>> {
    let mut objects: Vec<(String, serde_json::Value)> = Vec::new();
    for app in apps {
        let parent = Parent::of(app)?;
        let built = children::build(app, &parent)?.map_err(anyhow::Error::msg)?;
        for (kind, obj) in objects_of(&built)? {
            objects.push((kind, obj));
        }
    }
    let results: Vec<Result<Duration>> = futures::stream::iter(objects)
        .map(|(kind, obj)| async move {
            let sent = Instant::now();
            let ns = obj["metadata"]["namespace"].as_str().unwrap_or_default().to_owned();
            let name = obj["metadata"]["name"].as_str().unwrap_or_default().to_owned();
            let pp = PatchParams::apply("bench-limit").force();
            match kind.as_str() {
                "ConfigMap" => apply::<ConfigMap>(client, &ns, &name, &pp, &obj).await,
                "Deployment" => apply::<Deployment>(client, &ns, &name, &pp, &obj).await,
                "Service" => apply::<Service>(client, &ns, &name, &pp, &obj).await,
                "PersistentVolumeClaim" => {
                    apply::<PersistentVolumeClaim>(client, &ns, &name, &pp, &obj).await
                }
                other => bail!("the benchmark's apps have no {other}"),
            }?;
            Ok(sent.elapsed())
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    results.into_iter().collect()
}

async fn apply<K: Child>(
    client: &Client,
    ns: &str,
    name: &str,
    pp: &PatchParams,
    obj: &serde_json::Value,
) -> Result<()> {
    Api::<K>::namespaced(client.clone(), ns).patch(name, pp, &Patch::Apply(obj)).await?;
    Ok(())
}

/// The children the benchmark's apps have (their spec asks for no Ingress, route, PodMonitor or
/// NetworkPolicy), with apiVersion and kind set for an apply.
fn objects_of(c: &Children) -> Result<Vec<(String, serde_json::Value)>> {
    fn typed<K: Resource<DynamicType = ()> + Serialize>(obj: &K) -> Result<(String, serde_json::Value)> {
        let mut v = serde_json::to_value(obj)?;
        v["apiVersion"] = json!(K::api_version(&()));
        v["kind"] = json!(K::kind(&()));
        Ok((K::kind(&()).to_string(), v))
    }
    let extra = c.ingress.is_some()
        || c.route.is_some()
        || c.pod_monitor.is_some()
        || c.network_policy.is_some()
        || c.hpa.is_some()
        || c.pdb.is_some();
    let Some(pvc) = c.pvc.as_ref().filter(|_| !extra) else {
        bail!("the benchmark expects an app with four children (a ConfigMap, claim, Deployment and Service)");
    };
    Ok(vec![typed(&c.configmap)?, typed(pvc)?, typed(&c.deployment)?, typed(&c.service)?])
}

/// A chart whose one template is the operator's own children of an app, with the release name
/// in place of the app's name and no owner reference (Helm owns them).
fn write_chart(dir: &Path) -> Result<()> {
    const PLACEHOLDER: &str = "benchhelmapp";
    let mut app = TetrisApp::new(PLACEHOLDER, serde_json::from_value(json!({"version": "1.0.0"}))?);
    app.metadata.namespace = Some("benchhelmns".into());
    app.metadata.uid = Some("00000000-0000-0000-0000-000000000000".into());
    let parent = Parent::of(&app)?;
    let built = children::build(&app, &parent)?.map_err(anyhow::Error::msg)?;
    let mut docs = String::new();
    for (_, mut obj) in objects_of(&built)? {
        let meta = obj["metadata"].as_object_mut().context("metadata")?;
        meta.remove("ownerReferences");
        meta.remove("namespace");
        docs += "---\n";
        docs += &serde_yaml::to_string(&obj)?;
    }
    let docs = docs.replace(PLACEHOLDER, "{{ .Release.Name }}");
    std::fs::create_dir_all(dir.join("templates"))?;
    std::fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: bench-tetris\nversion: 0.1.0\ndescription: \"The operator benchmark's chart: one app's children, as the operator renders them\"\n",
    )?;
    std::fs::write(dir.join("templates/app.yaml"), docs)?;
    Ok(())
}

async fn helm_installs(cluster: &LocalCluster, args: &Args, chart: &Path, ns: &str, n: usize) -> Result<()> {
    let kubeconfig = cluster.kubeconfig_as(WRITER)?;
    let results: Vec<Result<()>> = futures::stream::iter(0..n)
        .map(|i| {
            let mut cmd = tokio::process::Command::new(&args.helm_bin);
            cmd.args([
                "upgrade",
                "--install",
                &format!("app-{i:04}"),
                &chart.display().to_string(),
                "-n",
                ns,
            ])
            .env("KUBECONFIG", &kubeconfig)
            .env("HELM_CACHE_HOME", chart.join(".cache"))
            .env("HELM_CONFIG_HOME", chart.join(".config"))
            .env("HELM_DATA_HOME", chart.join(".data"))
            .stdout(std::process::Stdio::null());
            async move {
                let out = cmd.output().await?;
                if !out.status.success() {
                    bail!("helm install {i}: {}", String::from_utf8_lossy(&out.stderr));
                }
                Ok(())
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    results.into_iter().collect()
}

/// The release operator, watching one namespace, without leader election.
struct Operator {
    child: std::process::Child,
    port: u16,
    http: reqwest::Client,
}

impl Operator {
    async fn start(cluster: &LocalCluster, args: &Args, ns: &str) -> Result<Operator> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = std::process::Command::new(&args.operator_bin)
            .args(["run", "--leader-election=false", "--log-level", "warn"])
            .args(["--probe-address", &format!("127.0.0.1:{port}")])
            .args([
                "--watch-namespace",
                ns,
                "--concurrency",
                &CONCURRENCY.to_string(),
                "--resync-seconds",
                "3600",
            ])
            .env("KUBECONFIG", cluster.kubeconfig_as(WRITER)?)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .context("starting the operator")?;
        Ok(Operator { child, port, http: reqwest::Client::new() })
    }

    async fn scrape(&self) -> Result<String> {
        let url = format!("http://127.0.0.1:{}/metrics", self.port);
        for _ in 0..100 {
            if let Ok(r) = self.http.get(&url).send().await
                && let Ok(text) = r.text().await
            {
                return Ok(text);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the operator's /metrics did not answer")
    }

    async fn figures(&mut self) -> Result<OperatorFigures> {
        let text = self.scrape().await?;
        let empty = String::new();
        let (utime, stime) = proc_cpu(self.child.id()).context("operator CPU")?;
        Ok(OperatorFigures {
            cpu: utime + stime,
            peak_rss_mib: peak_rss_mib(self.child.id()).unwrap_or(f64::NAN),
            reconciles: counter(&text, "tetris_operator_reconciles_total") as u64,
            work_p50_ms: quantile(&text, &empty, "tetris_operator_reconcile_duration_seconds", 0.5) * 1000.0,
            work_p99_ms: quantile(&text, &empty, "tetris_operator_reconcile_duration_seconds", 0.99) * 1000.0,
            queue_p50_ms: quantile(&text, &empty, "tetris_operator_reconcile_queue_seconds", 0.5) * 1000.0,
            queue_p99_ms: quantile(&text, &empty, "tetris_operator_reconcile_queue_seconds", 0.99) * 1000.0,
            api_p50_ms: quantile(&text, &empty, "tetris_operator_reconcile_api_wait_seconds", 0.5) * 1000.0,
            api_p99_ms: quantile(&text, &empty, "tetris_operator_reconcile_api_wait_seconds", 0.99) * 1000.0,
            own_p50_ms: quantile(&text, &empty, "tetris_operator_reconcile_work_seconds", 0.5) * 1000.0,
            own_p99_ms: quantile(&text, &empty, "tetris_operator_reconcile_work_seconds", 0.99) * 1000.0,
            ..OperatorFigures::default()
        })
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The sum of a counter over its labels in a Prometheus text exposition.
fn counter(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| {
            l.starts_with(name) && (l[name.len()..].starts_with(' ') || l[name.len()..].starts_with('{'))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A histogram's quantile, interpolated within buckets, of the observations between `before` and
/// `after` (an empty `before`: since start).
fn quantile(after: &str, before: &str, name: &str, q: f64) -> f64 {
    let buckets = |text: &str| -> BTreeMap<u64, f64> {
        let prefix = format!("{name}_bucket{{le=\"");
        text.lines()
            .filter_map(|l| {
                let rest = l.strip_prefix(&prefix)?;
                let (le, value) = rest.split_once("\"} ")?;
                let le = if le == "+Inf" { f64::INFINITY } else { le.parse().ok()? };
                Some(((le * 1e6).min(u64::MAX as f64) as u64, value.trim().parse().ok()?))
            })
            .collect()
    };
    let (a, b) = (buckets(after), buckets(before));
    let cumulative: Vec<(f64, f64)> = a
        .iter()
        .map(|(le, c)| {
            let bound = if *le == u64::MAX { f64::INFINITY } else { *le as f64 / 1e6 };
            (bound, c - b.get(le).copied().unwrap_or(0.0))
        })
        .collect();
    let Some(&(_, total)) = cumulative.last() else { return f64::NAN };
    if total <= 0.0 {
        return f64::NAN;
    }
    let rank = q * total;
    let (mut prev_le, mut prev_c) = (0.0, 0.0);
    for (le, c) in cumulative {
        if c >= rank {
            if !le.is_finite() {
                // Beyond the last bucket (10 s): printed as `inf`.
                return f64::INFINITY;
            }
            return prev_le + (le - prev_le) * (rank - prev_c) / (c - prev_c).max(1e-9);
        }
        (prev_le, prev_c) = (le, c);
    }
    prev_le
}

/// User and system CPU seconds of a process (from `/proc/<pid>/stat`).
fn proc_cpu(pid: u32) -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split_whitespace().collect();
    let ticks = 100.0; // USER_HZ on Linux
    Some((fields.get(11)?.parse::<f64>().ok()? / ticks, fields.get(12)?.parse::<f64>().ok()? / ticks))
}

fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 =
        status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// CPU seconds used so far by the control plane's processes (API server, etcd, controller-manager,
/// scheduler, kwok).
fn control_plane_cpu(cluster: &LocalCluster) -> f64 {
    cluster.pids().iter().filter_map(|(_, pid)| proc_cpu(*pid)).map(|(u, s)| u + s).sum()
}

fn audit_len(cluster: &LocalCluster) -> u64 {
    std::fs::metadata(cluster.audit_log()).map(|m| m.len()).unwrap_or(0)
}

/// Writes by [`WRITER`] in `ns` recorded after byte `from` of the audit log, by resource.
fn audit_writes(cluster: &LocalCluster, ns: &str, from: u64) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let Ok(mut file) = std::fs::File::open(cluster.audit_log()) else { return out };
    use std::io::Seek;
    if file.seek(std::io::SeekFrom::Start(from)).is_err() {
        return out;
    }
    let needle = format!("\"namespace\":\"{ns}\"");
    for line in std::io::BufReader::new(file).lines().map_while(|l| l.ok()) {
        if !line.contains(&needle) {
            continue;
        }
        let Ok(e) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
        if e["stage"] != "ResponseComplete" || e["objectRef"]["namespace"] != ns {
            continue;
        }
        if !matches!(e["verb"].as_str(), Some("create" | "update" | "patch" | "delete")) {
            continue;
        }
        if e["user"]["username"] != WRITER {
            continue;
        }
        let resource = e["objectRef"]["resource"].as_str().unwrap_or("?");
        let sub = e["objectRef"]["subresource"].as_str();
        let key = match sub {
            Some(s) => format!("{resource}/{s}"),
            None => resource.to_owned(),
        };
        *out.entry(key).or_default() += 1;
    }
    out
}

fn print_row(f: &Figures) {
    let mut line = format!(
        "{:>5} {:<8} children {:>7.1}s  ready {:>7.1}s  writes/app {:.2} ({})  control plane CPU {:.1}s",
        f.n,
        f.way,
        f.children.as_secs_f64(),
        f.ready.as_secs_f64(),
        f.writes_per_app(),
        f.writes_breakdown(),
        f.control_plane_cpu
    );
    if let Some((p50, p99)) = f.request_ms {
        line += &format!("\n               apply latency p50 {p50:.1} ms p99 {p99:.1} ms");
    }
    if let Some(op) = &f.operator {
        line += &format!(
            "\n               operator CPU {:.1}s, peak RSS {:.1} MiB, {} reconciles, reconcile p50 {:.1} ms p99 {:.1} ms (API wait p50 {:.1} p99 {:.1}, own work p50 {:.1} p99 {:.1}), queue wait p50 {:.1} ms p99 {:.1} ms, resync writes {} (reconcile p99 {:.1} ms)",
            op.cpu,
            op.peak_rss_mib,
            op.reconciles,
            op.work_p50_ms,
            op.work_p99_ms,
            op.api_p50_ms,
            op.api_p99_ms,
            op.own_p50_ms,
            op.own_p99_ms,
            op.queue_p50_ms,
            op.queue_p99_ms,
            op.resync_writes,
            op.resync_work_p99_ms
        );
    }
    eprintln!("{line}");
    let _ = std::io::stderr().flush();
}

fn report(all: &[Figures], args: &Args) -> String {
    let find = |way: &str, n: usize| all.iter().find(|f| f.way == way && f.n == n);
    let mut s = String::new();
    s += "| N | way | all children exist | all Ready | writes/app (audit log) | of which Events | by resource, per app | control-plane CPU | operator CPU | operator peak RSS |\n";
    s += "|---|---|---|---|---|---|---|---|---|---|\n";
    for f in all {
        let (cpu, rss) = f
            .operator
            .as_ref()
            .map(|o| (format!("{:.1} s", o.cpu), format!("{:.1} MiB", o.peak_rss_mib)))
            .unwrap_or_default();
        s += &format!(
            "| {} | {} | {:.1} s | {:.1} s | {:.2} | {:.2} | {} | {:.1} s | {cpu} | {rss} |\n",
            f.n,
            f.way,
            f.children.as_secs_f64(),
            f.ready.as_secs_f64(),
            f.writes_per_app(),
            f.events_per_app(),
            f.writes_breakdown(),
            f.control_plane_cpu
        );
    }
    s += "\n| N | limit's apply latency p50 / p99 | operator / limit (children) | operator / limit (Ready) | helm / operator (children) | helm / operator (Ready) | reconcile p50 / p99 | of it API wait p50 / p99 | own work p50 / p99 | queue wait p50 / p99 | reconciles | resync: writes, reconcile p99 | operator CPU per app |\n";
    s += "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    for &n in &args.sizes {
        let (Some(limit), Some(op)) = (find("limit", n), find("operator", n)) else { continue };
        let ratio = |a: Duration, b: Duration| format!("{:.2}x", a.as_secs_f64() / b.as_secs_f64().max(1e-9));
        let helm = find("helm", n);
        let o = op.operator.as_ref();
        s += &format!(
            "| {n} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            limit.request_ms.map(|(a, b)| format!("{a:.1} / {b:.1} ms")).unwrap_or_default(),
            ratio(op.children, limit.children),
            ratio(op.ready, limit.ready),
            helm.map(|h| ratio(h.children, op.children)).unwrap_or_else(|| "not run".into()),
            helm.map(|h| ratio(h.ready, op.ready)).unwrap_or_else(|| "not run".into()),
            o.map(|o| format!("{:.1} / {:.1} ms", o.work_p50_ms, o.work_p99_ms)).unwrap_or_default(),
            o.map(|o| format!("{:.1} / {:.1} ms", o.api_p50_ms, o.api_p99_ms)).unwrap_or_default(),
            o.map(|o| format!("{:.1} / {:.1} ms", o.own_p50_ms, o.own_p99_ms)).unwrap_or_default(),
            o.map(|o| format!("{:.1} / {:.1} ms", o.queue_p50_ms, o.queue_p99_ms)).unwrap_or_default(),
            o.map(|o| o.reconciles.to_string()).unwrap_or_default(),
            o.map(|o| format!("{}, {:.1} ms", o.resync_writes, o.resync_work_p99_ms)).unwrap_or_default(),
            o.map(|o| format!("{:.1} ms", o.cpu * 1000.0 / n as f64)).unwrap_or_default(),
        );
    }
    s
}
