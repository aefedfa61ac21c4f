//! Test harness: a real server on 127.0.0.1:0 with a real SQLite file, an HTTP client, and a
//! WebSocket client that speaks the protocol.

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;
use tetris_config::GameConfig;
use tetris_game_server::hub::HubConfig;
use tetris_game_server::settings::Settings;
use tetris_game_server::{AppState, RunOptions};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Upper bound for any single wait in a test; hitting it is a failure, never synchronisation.
pub const WAIT: Duration = Duration::from_secs(10);

/// A server running inside the test's runtime.
pub struct TestServer {
    pub addr: SocketAddr,
    pub state: AppState,
    pub http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// Starts a server with the default config changed by `tweak`.
    pub async fn start(tweak: impl FnOnce(&mut GameConfig)) -> TestServer {
        TestServer::start_with(tweak, |_| {}, test_options()).await
    }

    /// Starts a server with the config changed by `tweak`, the hub settings derived from it changed by
    /// `tweak_hub`, and `options` (start from [`test_options`]).
    pub async fn start_with(
        tweak: impl FnOnce(&mut GameConfig),
        tweak_hub: impl FnOnce(&mut HubConfig),
        options: RunOptions,
    ) -> TestServer {
        TestServer::start_configured(tweak, tweak_hub, Settings::default(), options).await
    }

    /// Starts a server with the default config changed by `tweak` and this server's `settings`.
    pub async fn start_with_settings(tweak: impl FnOnce(&mut GameConfig), settings: Settings) -> TestServer {
        TestServer::start_configured(tweak, |_| {}, settings, test_options()).await
    }

    /// The most general start: config, hub settings, server settings and run options.
    pub async fn start_configured(
        tweak: impl FnOnce(&mut GameConfig),
        tweak_hub: impl FnOnce(&mut HubConfig),
        settings: Settings,
        options: RunOptions,
    ) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = GameConfig {
            address: "127.0.0.1".parse().expect("literal"),
            port: 0,
            database: dir.path().join("scores.db"),
            reconnect_grace_seconds: 0,
            drain_seconds: 5,
            ..GameConfig::default()
        };
        tweak(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let addr = listener.local_addr().expect("local addr");
        let mut hub = HubConfig::from(&config);
        tweak_hub(&mut hub);
        let state = AppState::with_settings(config, hub, settings).expect("state");
        let (tx, rx) = oneshot::channel::<()>();
        let served = state.clone();
        let task = tokio::spawn(async move {
            tetris_game_server::serve(listener, served, options, async {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
        });
        TestServer {
            addr,
            state,
            http: reqwest::Client::new(),
            shutdown: Some(tx),
            task: Some(task),
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Starts the drain (what SIGTERM does) and waits for the server to finish.
    pub async fn shut_down(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(WAIT * 2, task).await.expect("server stops").expect("server task");
        }
    }

    /// Sends the drain signal without waiting.
    pub fn signal_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Waits for the server task to end.
    pub async fn wait_stopped(mut self) {
        if let Some(task) = self.task.take() {
            tokio::time::timeout(WAIT * 2, task).await.expect("server stops").expect("server task");
        }
    }

    /// Issues a solo game; returns (gameId, seed).
    pub async fn new_game(&self, start_level: u8) -> (String, u64) {
        let res = self
            .http
            .post(self.url("/api/games"))
            .json(&json!({"mode": "solo", "startLevel": start_level}))
            .send()
            .await
            .expect("POST /api/games");
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.expect("json");
        (body["gameId"].as_str().expect("gameId").to_owned(), body["seed"].as_u64().expect("seed"))
    }

    /// Submits a score body; returns (status, json).
    pub async fn submit(&self, body: &Value) -> (u16, Value) {
        let res = self.http.post(self.url("/api/scores")).json(body).send().await.expect("POST /api/scores");
        let status = res.status().as_u16();
        (status, res.json().await.expect("json body"))
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let res = self.http.get(self.url(path)).send().await.expect("GET");
        let status = res.status().as_u16();
        (status, res.json().await.expect("json body"))
    }

    /// Connects and says hello.
    pub async fn client(&self) -> Client {
        let mut c = Client::connect(&self.ws_url()).await;
        c.hello().await;
        c
    }

    /// Two clients in a private room with a match started; returns them and both match_starts.
    pub async fn pair(&self) -> (Client, Client, Value, Value) {
        Client::pair(&self.ws_url()).await
    }
}

impl Client {
    /// Connects to `url` and says hello.
    pub async fn greeted(url: &str) -> Client {
        let mut c = Client::connect(url).await;
        c.hello().await;
        c
    }

    /// Two clients at `url` in a private room with a match started.
    pub async fn pair(url: &str) -> (Client, Client, Value, Value) {
        let mut a = Client::greeted(url).await;
        let mut b = Client::greeted(url).await;
        a.send(json!({"type": "create_room", "name": "ada", "startLevel": 0})).await;
        let joined = a.expect("room_joined").await;
        let code = joined["code"].as_str().expect("code").to_owned();
        b.send(json!({"type": "join_room", "name": "bob", "code": code})).await;
        b.expect("room_joined").await;
        a.expect("opponent_joined").await;
        let start_a = a.expect("match_start").await;
        let start_b = b.expect("match_start").await;
        (a, b, start_a, start_b)
    }
}

/// The options every test server uses unless told otherwise: no endpoint grace, so drains are quick.
pub fn test_options() -> RunOptions {
    RunOptions { endpoint_grace: Duration::ZERO, ..RunOptions::default() }
}

/// A plausible report for a classic game started at level 0 (scores up to 15,000), without an
/// input log: what a duo seat's client submits; a solo game needs [`crate::player::played`].
pub fn plausible(game_id: &str, name: &str, score: u32) -> Value {
    assert!(score <= 15_000);
    json!({"gameId": game_id, "name": name, "score": score, "lines": 24, "level": 2, "pieces": 60, "durationMs": 5000})
}

/// An `inputs` message for a duo seat's first `frames` frames with soft drop held from the
/// start: in classic, the server's replay scores a point per cell dropped (some tens of points).
pub fn soft_drop_inputs(frames: u32) -> Value {
    json!({"type": "inputs", "frame": frames, "inputs": [[0, 4]]})
}

/// A valid `state` message with `score`.
pub fn state_msg(score: u32) -> Value {
    json!({
        "type": "state",
        "board": format!("{}{}", ".".repeat(190), "IIII..OO.."),
        "piece": {"kind": "T", "x": 4, "y": 0, "rot": 1},
        "next": "SZ",
        "hold": null,
        "score": score,
        "level": 0,
        "lines": 0
    })
}

/// A protocol client.
pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    pub async fn connect(url: &str) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("ws connect");
        Client { ws }
    }

    /// Connects with extra request headers; returns the HTTP status on refusal.
    pub async fn connect_with(url: &str, headers: &[(&str, &str)]) -> Result<Client, u16> {
        let mut req = url.into_client_request().expect("request");
        for (k, v) in headers {
            req.headers_mut().insert(
                tungstenite::http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                tungstenite::http::HeaderValue::from_str(v).expect("value"),
            );
        }
        match tokio_tungstenite::connect_async(req).await {
            Ok((ws, _)) => Ok(Client { ws }),
            Err(tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
            Err(e) => panic!("unexpected connect error: {e}"),
        }
    }

    pub async fn hello(&mut self) -> Value {
        self.send(json!({"type": "hello", "protocol": 1})).await;
        self.expect("welcome").await
    }

    pub async fn send(&mut self, v: Value) {
        self.ws.send(Message::text(v.to_string())).await.expect("ws send");
    }

    /// Sends `v`, then waits for a `pong` to a `ping`: the server has handled `v` (a connection's
    /// messages are handled in order), so another client's next message cannot overtake it.
    pub async fn send_synced(&mut self, v: Value) {
        self.send(v).await;
        self.send(json!({"type": "ping"})).await;
        self.expect("pong").await;
    }

    pub async fn send_raw(&mut self, m: Message) {
        self.ws.send(m).await.expect("ws send");
    }

    /// Next text message as JSON (pings are answered by tungstenite).
    pub async fn recv(&mut self) -> Value {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next()).await.expect("message within WAIT");
            match msg {
                Some(Ok(Message::Text(t))) => {
                    return serde_json::from_str(t.as_str()).expect("server sends JSON");
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a text message, got {other:?}"),
            }
        }
    }

    /// The next message, which must have `type` `kind`.
    pub async fn expect(&mut self, kind: &str) -> Value {
        let v = self.recv().await;
        assert_eq!(v["type"], kind, "expected {kind}, got {v}");
        v
    }

    /// The next `error` message, which must have `code`.
    pub async fn expect_error(&mut self, code: &str) -> Value {
        let v = self.expect("error").await;
        assert_eq!(v["code"], code, "{v}");
        v
    }

    /// Reads until the server closes; returns the close frame (skipping text messages).
    pub async fn closed(&mut self) -> Option<CloseFrame> {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next()).await.expect("close within WAIT");
            match msg {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => continue,
                None | Some(Err(_)) => return None,
            }
        }
    }
}

/// The real binary, started on 127.0.0.1:0 and found through its "listening" log line.
pub struct Spawned {
    pub child: tokio::process::Child,
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    output: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Spawned {
    /// Starts the binary with `env` (plus address, port 0 and `database`) and waits until ready.
    pub async fn start(database: &std::path::Path, env: &[(&str, &str)]) -> Spawned {
        use tokio::io::AsyncBufReadExt;
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_tetris-game-server"));
        cmd.env("TETRIS_ADDRESS", "127.0.0.1")
            .env("TETRIS_PORT", "0")
            .env("TETRIS_DATABASE", database)
            .env("TETRIS_LOG_LEVEL", "info")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("spawn the server binary");
        let output = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let (addr_tx, addr_rx) = oneshot::channel::<SocketAddr>();
        let out = output.clone();
        tokio::spawn(async move {
            let mut addr_tx = Some(addr_tx);
            let mut lines = tokio::io::BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(addr) = line.split_whitespace().find_map(|w| w.strip_prefix("address="))
                    && let (Some(tx), Ok(addr)) = (addr_tx.take(), addr.parse())
                {
                    let _ = tx.send(addr);
                }
                out.lock().expect("log lock").push_str(&(line + "\n"));
            }
        });
        let err = output.clone();
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                err.lock().expect("log lock").push_str(&(line + "\n"));
            }
        });
        let addr =
            tokio::time::timeout(WAIT, addr_rx).await.expect("listening line within WAIT").expect("address");
        let spawned = Spawned { child, addr, http: reqwest::Client::new(), output };
        spawned.wait_ready().await;
        spawned
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Polls `/readyz` until it answers 200.
    pub async fn wait_ready(&self) {
        let poll = async {
            loop {
                if let Ok(res) = self.http.get(self.url("/readyz")).send().await
                    && res.status() == 200
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(WAIT, poll).await.expect("ready within WAIT");
    }

    /// Sends `signal` (e.g. "TERM", "KILL") with the `kill` command.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("child still running");
        let status = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} {pid}");
    }

    /// Waits for the process to exit (bounded by `limit`).
    pub async fn exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        tokio::time::timeout(limit, self.child.wait()).await.expect("exits within the limit").expect("wait")
    }

    /// Everything the process printed so far.
    pub fn output(&self) -> String {
        self.output.lock().expect("log lock").clone()
    }
}
