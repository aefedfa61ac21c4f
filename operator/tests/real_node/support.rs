//! The world every real-node test shares: a local cluster with a real node, the operator and game
//! images built from the Dockerfiles and loaded into it, the operator installed with
//! `kubectl apply -k` as real pods; and the players: HTTP and WebSocket clients that reach a game
//! through its Service's ClusterIP (routed to the node, load-balanced by kube-proxy).

use futures::{SinkExt, StreamExt};
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use local_cluster::{LocalCluster, Options};
use serde_json::{Value, json};
use std::future::Future;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tetris_game_server::rules::{RulesetName, player};
use tetris_operator::crd::TetrisApp;
use tokio_tungstenite::tungstenite::Message;

/// The game image tags the tests move between (each binary reports its tag as its version).
pub const OLD: &str = "0.1.0";
pub const NEW: &str = "0.2.0";
/// Test-only game builds with a fault compiled in (game-server/src/fault.rs, Dockerfile.game
/// `FAULT`): one turns unready 15 s after it starts, one counts an error a second.
pub const UNREADY: &str = "0.3.0-unready";
pub const ERRORS: &str = "0.3.0-errors";
pub const GAME_IMAGE: &str = "localhost/tetris-game-server";
/// Longest wait for one step on the real node (image builds happen before, in [`world`]).
pub const STEP: Duration = Duration::from_secs(180);

/// The cluster, with the images loaded and the operator running as two real pods.
pub struct World {
    pub cluster: LocalCluster,
}

/// Starts the shared world on first use (cold: builds the images, minutes; warm: seconds).
pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let started = Instant::now();
        let cluster = LocalCluster::start(Options { nodes: 0, real_node: true, ..Options::default() })
            .unwrap_or_else(|e| panic!("the real node could not start: {e}"));
        let images = [("operator", "dev"), ("game", OLD), ("game", NEW), ("game", UNREADY), ("game", ERRORS)];
        for (what, tag) in images {
            let image = local_cluster::images::build(what, tag)
                .unwrap_or_else(|e| panic!("building the {what} image {tag}: {e}"));
            cluster.load_image(&image).unwrap_or_else(|e| panic!("loading {}: {e}", image.reference));
        }
        install_operator(&cluster);
        eprintln!("real-node world ready in {:.1}s", started.elapsed().as_secs_f64());
        World { cluster }
    })
}

/// `kubectl apply -k` of an overlay over deploy/ that only points the image at the local build.
fn install_operator(cluster: &LocalCluster) {
    let overlay = cluster.dir().join("operator-overlay");
    std::fs::create_dir_all(&overlay).expect("overlay dir");
    let deploy = repo_path("deploy").canonicalize().expect("deploy/ exists");
    let kustomization = format!(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - {}\n\
         images:\n  - name: ghcr.io/tetris-operator/operator\n    newName: localhost/tetris-operator\n    newTag: dev\n",
        relative_to(&deploy, &overlay)
    );
    std::fs::write(overlay.join("kustomization.yaml"), kustomization).expect("write kustomization");
    cluster
        .run_kubectl(&["apply", "--server-side", "-k", &overlay.display().to_string()])
        .unwrap_or_else(|e| panic!("kubectl apply -k deploy/: {e}"));
    cluster
        .run_kubectl(&[
            "-n",
            "tetris-operator",
            "rollout",
            "status",
            "deployment/tetris-operator",
            "--timeout=180s",
        ])
        .unwrap_or_else(|e| panic!("operator rollout: {e}\n{}", cluster.log_tails(40)));
}

/// `target` as a path relative to `from` (kustomize refuses absolute resource paths in some versions).
fn relative_to(target: &std::path::Path, from: &std::path::Path) -> String {
    let from = from.canonicalize().expect("overlay exists");
    let depth = from.components().count() - 1;
    let mut rel = String::new();
    for _ in 0..depth {
        rel.push_str("../");
    }
    rel.push_str(target.to_string_lossy().trim_start_matches('/'));
    rel
}

/// A path relative to the repository root.
pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

/// One test's namespace (Pod Security `restricted` enforced) and an admin client.
pub struct Env {
    pub ns: String,
    pub client: Client,
}

impl Env {
    pub async fn new(prefix: &str) -> Env {
        let world = world();
        let ns = world.cluster.namespace(prefix);
        world
            .cluster
            .run_kubectl(&["label", "namespace", &ns, "pod-security.kubernetes.io/enforce=restricted"])
            .expect("label namespace");
        Env { ns, client: world.cluster.client().await }
    }

    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    /// Applies a TetrisApp whose image is the local game build, at `version`, with `extra` spec YAML
    /// (indented by two spaces) appended.
    pub async fn apply_app(&self, name: &str, version: &str, extra: &str) {
        let yaml = format!(
            "apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: {name}\nspec:\n  version: \"{version}\"\n  image: {GAME_IMAGE}\n  game:\n    scoreboardSize: 100\n{extra}"
        );
        let value: Value = serde_yaml::from_str(&yaml).expect("test YAML parses");
        self.api::<TetrisApp>()
            .patch(name, &PatchParams::apply("test").force(), &Patch::Apply(&value))
            .await
            .unwrap_or_else(|e| panic!("applying TetrisApp {name}: {e}"));
    }

    pub async fn patch_spec(&self, name: &str, spec: Value) {
        self.api::<TetrisApp>()
            .patch(name, &PatchParams::default(), &Patch::Merge(json!({ "spec": spec })))
            .await
            .unwrap_or_else(|e| panic!("patching TetrisApp {name}: {e}"));
    }

    /// Waits until the app is Ready for its generation with `version` fully rolled out.
    pub async fn wait_ready(&self, name: &str, version: &str) -> TetrisApp {
        let apps = self.api::<TetrisApp>();
        eventually(&format!("TetrisApp {}/{name} Ready at {version}", self.ns), STEP, || async {
            let app = apps.get_opt(name).await.ok()??;
            let status = app.status.as_ref()?;
            let ready = status.observed_generation == app.metadata.generation
                && status.conditions.iter().any(|c| {
                    c.type_ == "Ready"
                        && c.status == "True"
                        && c.observed_generation == app.metadata.generation
                });
            (ready && status.version.as_deref() == Some(version)).then_some(app)
        })
        .await
    }

    /// The app's game pods.
    pub async fn pods(&self, name: &str) -> Vec<Pod> {
        let lp = ListParams::default().labels(&format!("gameops.dev/tetrisapp={name}"));
        self.api::<Pod>().list(&lp).await.map(|l| l.items).unwrap_or_default()
    }

    /// `http://<ClusterIP>:<port>` of the app's Service.
    pub async fn service_url(&self, name: &str) -> String {
        let svc = self.api::<Service>().get(name).await.unwrap_or_else(|e| panic!("Service {name}: {e}"));
        let spec = svc.spec.expect("Service has a spec");
        let ip = spec.cluster_ip.expect("ClusterIP");
        let port = spec.ports.and_then(|p| p.first().map(|p| p.port)).expect("a port");
        // The app is Ready once its pods are, but the node's proxy rules for the ClusterIP may
        // lag behind the endpoints (a loaded machine saw "connection refused" right after
        // Ready): wait until the address takes a connection.
        let addr = format!("{ip}:{port}");
        eventually(&format!("Service {name} takes connections at {addr}"), STEP, || async {
            let connect = tokio::net::TcpStream::connect(&addr);
            matches!(tokio::time::timeout(Duration::from_secs(2), connect).await, Ok(Ok(_))).then_some(())
        })
        .await;
        format!("http://{addr}")
    }

    /// Addresses of the app's Service endpoints that are ready.
    pub async fn ready_endpoints(&self, name: &str) -> Vec<String> {
        let lp = ListParams::default().labels(&format!("kubernetes.io/service-name={name}"));
        let slices = self.api::<EndpointSlice>().list(&lp).await.map(|l| l.items).unwrap_or_default();
        slices
            .iter()
            .flat_map(|s| s.endpoints.iter().flatten())
            .filter(|e| e.conditions.as_ref().and_then(|c| c.ready) == Some(true))
            .flat_map(|e| e.addresses.clone())
            .collect()
    }
}

/// Polls `check` until it returns Some, panicking after `limit` with `what` (a deadline for a state
/// that must be reached, not a performance assertion).
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if start.elapsed() > limit {
            panic!("gave up after {limit:?} waiting for: {what}\n{}", world().cluster.log_tails(25));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub fn pod_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// The host process of a pod's game container: found by the pod's UID in its cgroup path.
pub fn game_process(pod: &Pod) -> Option<u32> {
    let uid = pod.metadata.uid.as_deref()?.replace('-', "_");
    let uid_dash = pod.metadata.uid.as_deref()?.to_owned();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if !cmdline.starts_with(b"/usr/local/bin/tetris-game-server") {
            continue;
        }
        let cgroup = std::fs::read_to_string(entry.path().join("cgroup")).unwrap_or_default();
        if cgroup.contains(&uid) || cgroup.contains(&uid_dash) {
            return Some(pid);
        }
    }
    None
}

/// Asserts that every uid of host process `pid` (real, effective, saved, filesystem) is `uid`.
pub fn assert_runs_as(pid: u32, uid: &str) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("process status");
    let line = status.lines().find(|l| l.starts_with("Uid:")).expect("Uid line");
    assert!(line.split_whitespace().skip(1).all(|u| u == uid), "process {pid} runs as {uid}: {line}");
}

/// An HTTP client of the game (through its Service).
#[derive(Clone)]
pub struct Game {
    pub base: String,
    http: reqwest::Client,
}

/// One acknowledged score.
#[derive(Debug, Clone)]
pub struct Acked {
    pub name: String,
    pub score: u64,
}

impl Game {
    pub fn new(base: String) -> Game {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            // A fresh connection per request, so kube-proxy balances each one as a new player's would.
            .pool_max_idle_per_host(0)
            .build()
            .expect("HTTP client");
        Game { base, http }
    }

    pub async fn get_json(&self, path: &str) -> Option<Value> {
        let res = self.http.get(format!("{}{path}", self.base)).send().await.ok()?;
        if !res.status().is_success() {
            return None;
        }
        res.json().await.ok()
    }

    /// Plays a solo game the way the client does (issue, then submit); Some when acknowledged.
    pub async fn play_solo(&self, name: &str, variant: u32) -> Option<Acked> {
        let issued: Value = self
            .http
            .post(format!("{}/api/games", self.base))
            .json(&json!({"mode": "solo", "startLevel": 0}))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let game_id = issued["gameId"].as_str()?;
        // A real game, played to its end by the game server's test player: the server replays the
        // log and acknowledges only what the rules produce.
        let setup = player::Setup {
            ruleset: if issued["ruleset"] == "modern" { RulesetName::Modern } else { RulesetName::Classic },
            version: u8::try_from(issued["rules"].as_u64()?).ok()?,
            seed: u32::try_from(issued["seed"].as_u64()?).ok()?,
            start_level: u32::try_from(issued["startLevel"].as_u64()?).ok()?,
            goal: None,
        };
        let played = player::play(setup, variant, 0);
        let body = player::submission(game_id, name, &played);
        let res = self.http.post(format!("{}/api/scores", self.base)).json(&body).send().await.ok()?;
        (res.status().as_u16() == 201).then(|| Acked { name: name.to_owned(), score: played.game.score })
    }

    /// Scores on the solo board, by name.
    pub async fn board(&self) -> Vec<(String, u64)> {
        let Some(boards) = self.get_json("/api/scores").await else { return Vec::new() };
        boards["solo"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .filter_map(|r| Some((r["name"].as_str()?.to_owned(), r["score"].as_u64()?)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every acknowledged score is on the board (it keeps each name's best).
    pub async fn assert_on_board(&self, acked: &[Acked]) {
        let board = eventually("the scoreboard answers", STEP, || async {
            let b = self.board().await;
            (!b.is_empty()).then_some(b)
        })
        .await;
        let missing: Vec<&Acked> =
            acked.iter().filter(|a| !board.iter().any(|(n, s)| *n == a.name && *s >= a.score)).collect();
        assert!(missing.is_empty(), "acknowledged scores missing from the board: {missing:?}");
    }

    pub fn ws_url(&self) -> String {
        format!("{}/ws", self.base.replacen("http://", "ws://", 1))
    }
}

/// Submits solo scores one after another until told to stop; returns those acknowledged. Failures
/// (a pod restarting) are retried by the next round: the promise is about acknowledged scores.
pub fn submit_stream(
    game: Game,
    prefix: &'static str,
) -> (tokio::sync::watch::Sender<bool>, tokio::task::JoinHandle<Vec<Acked>>) {
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move {
        let mut acked = Vec::new();
        let mut i = 0u64;
        // At most 90 submissions, so every one fits on a 100-row board.
        while !*stopped.borrow() && i < 90 {
            i += 1;
            if let Some(a) = game.play_solo(&format!("{prefix}{i}"), u32::try_from(i).unwrap_or(0)).await {
                acked.push(a);
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(400)) => {}
                _ = stopped.changed() => {}
            }
        }
        acked
    });
    (stop, task)
}

/// A protocol client over the Service.
pub struct Player {
    ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

impl Player {
    /// Connects and says hello; returns the player and the `welcome`.
    pub async fn join(url: &str) -> (Player, Value) {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap_or_else(|e| panic!("ws {url}: {e}"));
        let mut p = Player { ws };
        p.send(json!({"type": "hello", "protocol": 1})).await;
        let welcome = p.expect("welcome").await;
        (p, welcome)
    }

    pub async fn send(&mut self, v: Value) {
        self.ws.send(Message::text(v.to_string())).await.expect("ws send");
    }

    /// The next message of type `kind`, skipping others (boards, drain notices) but recording them.
    pub async fn expect(&mut self, kind: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let msg = tokio::time::timeout(left, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("no {kind} message within 30s"));
            match msg {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(t.as_str()).expect("server sends JSON");
                    if v["type"] == kind {
                        return v;
                    }
                    if v["type"] == "error" || v["type"] == "room_closed" {
                        panic!("expected {kind}, got {v}");
                    }
                }
                Some(Ok(_)) => continue,
                other => panic!("expected {kind}, connection gave {other:?}"),
            }
        }
    }

    /// The next text message, whatever its type.
    pub async fn next(&mut self) -> Value {
        let msg = tokio::time::timeout(Duration::from_secs(30), self.ws.next())
            .await
            .expect("a message within 30s");
        match msg {
            Some(Ok(Message::Text(t))) => serde_json::from_str(t.as_str()).expect("server sends JSON"),
            other => panic!("expected a message, connection gave {other:?}"),
        }
    }

    /// Two players in a private room with a match started.
    pub async fn pair(url: &str) -> (Player, Player) {
        let (mut a, _) = Player::join(url).await;
        let (mut b, _) = Player::join(url).await;
        a.send(json!({"type": "create_room", "name": "ada", "startLevel": 0})).await;
        let code = a.expect("room_joined").await["code"].as_str().expect("code").to_owned();
        b.send(json!({"type": "join_room", "name": "bob", "code": code})).await;
        b.expect("room_joined").await;
        a.expect("match_start").await;
        b.expect("match_start").await;
        (a, b)
    }

    /// Sends a board with `score`.
    pub async fn send_state(&mut self, score: u32) {
        self.send(json!({
            "type": "state",
            "board": format!("{}{}", ".".repeat(190), "IIII..OO.."),
            "piece": {"kind": "T", "x": 4, "y": 0, "rot": 1},
            "next": "SZ", "hold": null, "score": score, "level": 0, "lines": 0
        }))
        .await;
    }

    /// Sends a board with `score`; the opponent must see it relayed.
    pub async fn relay(&mut self, to: &mut Player, score: u32) {
        self.send_state(score).await;
        loop {
            let seen = to.expect("opponent_state").await;
            if seen["score"] == score {
                return;
            }
        }
    }
}

/// The terminated state of a pod's game container, once the kubelet reports it (the pod may be
/// gone by then: the test watches it while it terminates).
pub async fn watch_exit(pods: Api<Pod>, name: String) -> Option<(i32, Option<String>)> {
    use kube::runtime::watcher;
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut stream = std::pin::pin!(watcher(pods, config));
    while let Some(event) = stream.next().await {
        let pods: Vec<Pod> = match event {
            Ok(watcher::Event::Apply(p) | watcher::Event::InitApply(p) | watcher::Event::Delete(p)) => {
                vec![p]
            }
            _ => continue,
        };
        for pod in pods {
            let terminated = pod
                .status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref())
                .and_then(|cs| cs.iter().find(|c| c.name == "game-server"))
                .and_then(|c| c.state.as_ref())
                .and_then(|s| s.terminated.clone());
            if let Some(t) = terminated {
                return Some((t.exit_code, t.reason));
            }
        }
    }
    None
}

/// `ws://<pod IP>:<game port>/ws`: the test reaches one chosen pod directly (the host routes the
/// pod range to the node), so the match lands where the test wants it.
pub fn pod_ws_url(pod: &Pod) -> String {
    let ip = pod.status.as_ref().and_then(|s| s.pod_ip.clone()).expect("a running pod has an IP");
    let port = pod
        .spec
        .as_ref()
        .and_then(|s| s.containers[0].ports.as_ref())
        .and_then(|ports| ports.iter().find(|p| p.name.as_deref() == Some("http")))
        .map(|p| p.container_port)
        .expect("the game port");
    format!("ws://{ip}:{port}/ws")
}

/// `kubectl ARGS` with the `kubectl tetris` plugin on PATH (deploy/kubectl-plugin).
pub fn kubectl_with_plugin(args: &[&str]) -> String {
    let mut cmd = world().cluster.kubectl();
    let kubectl_dir = PathBuf::from(cmd.get_program()).parent().expect("kubectl has a directory").to_owned();
    let plugins = repo_path("deploy/kubectl-plugin").canonicalize().expect("plugin directory");
    let path = format!(
        "{}:{}:{}",
        plugins.display(),
        kubectl_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = cmd.env("PATH", path).args(args).output().expect("kubectl runs");
    assert!(out.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A pod's Prometheus page, read from its metrics port on the pod IP.
pub async fn pod_metric(pod: &Pod, metric: &str) -> Option<f64> {
    let ip = pod.status.as_ref()?.pod_ip.clone()?;
    let port = pod.spec.as_ref()?.containers[0]
        .ports
        .as_ref()?
        .iter()
        .find(|p| p.name.as_deref() == Some("metrics"))?
        .container_port;
    let page = reqwest::get(format!("http://{ip}:{port}/metrics")).await.ok()?.text().await.ok()?;
    page.lines().find_map(|l| l.strip_prefix(metric)?.strip_prefix(' ')?.trim().parse().ok())
}

pub fn name_of(pod: &Pod) -> String {
    pod.name_any()
}
