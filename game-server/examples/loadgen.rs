//! Load generator for `hack/bench-game.sh` (a benchmark, not a test): every loop is bounded in count
//! and time, and it only talks to 127.0.0.1.
//!
//! Subcommands:
//! - `startup`: spawns the server binary, measures the time from spawn to `/readyz` 200, idle RSS.
//! - `relay`: duo pairs exchanging `state` messages; relayed messages/s and latency percentiles.
//! - `submit`: concurrent `POST /api/scores` of real games (played by
//!   `tetris_game_server::rules::player`, each verified by replay on the server) on keep-alive connections; submits/s, latency, and the
//!   server's CPU per verified submit.
//! - `boards`: live scoreboard across replicas: time from a 201 on one server to the new best on a
//!   scoreboard page open on another.
//! - `replay`: the rules engine alone, in this process: replays the shared vectors and reports the
//!   cost per 1,000 frames.
//! - `sockets`: opens N WebSockets (hello each) and reports the server's RSS before and after.

use clap::{Parser, Subcommand};
use futures::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tetris_game_server::rules::RulesetName;
use tetris_game_server::rules::player::{self, Setup};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Spawn the server `runs` times; report time to ready and idle RSS.
    Startup {
        #[arg(long)]
        bin: String,
        #[arg(long)]
        dir: String,
        #[arg(long, default_value_t = 5)]
        runs: u32,
        #[arg(long, default_value_t = 18090)]
        port: u16,
    },
    /// Duo relay throughput and latency.
    Relay {
        #[arg(long)]
        addr: SocketAddr,
        /// Where the second player of each pair connects (another replica: the cross-replica
        /// relay); default `addr`.
        #[arg(long)]
        peer: Option<SocketAddr>,
        #[arg(long, default_value_t = 500)]
        pairs: usize,
        /// Messages per second each player sends (the server allows 60).
        #[arg(long, default_value_t = 50)]
        rate: u32,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Server pid: report its CPU time and run-queue wait during the run (from schedstat).
        #[arg(long)]
        pid: Option<u32>,
    },
    /// Score submissions.
    Submit {
        #[arg(long)]
        addr: SocketAddr,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 20000)]
        count: usize,
        /// Server pid: report its CPU time and run-queue wait during the run (from schedstat).
        #[arg(long)]
        pid: Option<u32>,
        /// Frames each piece waits before its hard drop (longer games; the server must run modern).
        #[arg(long, default_value_t = 0)]
        pace: u32,
    },
    /// Live scoreboard across replicas: submits `count` new bests one at a time to `addr` and
    /// measures how long after each 201 a scoreboard page open on `watch` (another replica) shows it.
    Boards {
        #[arg(long)]
        addr: SocketAddr,
        #[arg(long)]
        watch: SocketAddr,
        /// New players (each game enters the board: run on an empty scoreboard of size >= count).
        #[arg(long, default_value_t = 50)]
        count: usize,
    },
    /// Replay cost of the rules engine, in this process.
    Replay {
        /// Directory of the shared vectors (`game-server/web/test/vectors`).
        #[arg(long)]
        vectors: String,
        /// Replays of each vector.
        #[arg(long, default_value_t = 200)]
        rounds: u32,
    },
    /// Many open WebSockets.
    Sockets {
        #[arg(long)]
        addr: SocketAddr,
        #[arg(long)]
        pid: u32,
        #[arg(long, default_value_t = 10000)]
        count: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Cmd::Relay { peer: Some(addr), .. } | Cmd::Boards { watch: addr, .. } = &cli.cmd {
        anyhow::ensure!(addr.ip().is_loopback(), "load is only ever sent to a loopback address, not {addr}");
    }
    if let Cmd::Relay { addr, .. }
    | Cmd::Boards { addr, .. }
    | Cmd::Submit { addr, .. }
    | Cmd::Sockets { addr, .. } = &cli.cmd
    {
        anyhow::ensure!(addr.ip().is_loopback(), "load is only ever sent to a loopback address, not {addr}");
    }
    match cli.cmd {
        Cmd::Startup { bin, dir, runs, port } => startup(&bin, &dir, runs, port).await,
        Cmd::Relay { addr, peer, pairs, rate, seconds, pid } => {
            relay(addr, peer.unwrap_or(addr), pairs, rate, seconds, pid).await
        }
        Cmd::Boards { addr, watch, count } => boards(addr, watch, count).await,
        Cmd::Submit { addr, concurrency, count, pid, pace } => {
            submit(addr, concurrency, count, pid, pace).await
        }
        Cmd::Replay { vectors, rounds } => replay_cost(&vectors, rounds),
        Cmd::Sockets { addr, pid, count } => sockets(addr, pid, count).await,
    }
}

fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    status_kib(pid, "VmRSS:")
}

fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with(field)).ok_or_else(|| anyhow::anyhow!("no {field}"))?;
    Ok(line.split_whitespace().nth(1).unwrap_or("0").parse()?)
}

/// (ns on CPU, ns runnable but waiting for a CPU), summed over the process's threads.
fn schedstat(pid: u32) -> anyhow::Result<(u64, u64)> {
    let mut total = (0, 0);
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let text = std::fs::read_to_string(task?.path().join("schedstat")).unwrap_or_default();
        let mut fields = text.split_whitespace().map(|f| f.parse::<u64>().unwrap_or(0));
        total.0 += fields.next().unwrap_or(0);
        total.1 += fields.next().unwrap_or(0);
    }
    Ok(total)
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// A minimal HTTP/1.1 keep-alive client: the load generator must cost less CPU than the server.
struct Http {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Http {
    async fn connect(addr: SocketAddr) -> anyhow::Result<Http> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Http { stream, buf: Vec::with_capacity(4096) })
    }

    async fn request(&mut self, method: &str, path: &str, body: &str) -> anyhow::Result<(u16, String)> {
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.stream.write_all(req.as_bytes()).await?;
        self.buf.clear();
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..end])?.to_ascii_lowercase();
                let status: u16 = head.get(9..12).unwrap_or("0").parse()?;
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map(|v| v.trim().parse())
                    .transpose()?
                    .unwrap_or(0);
                while self.buf.len() < end + 4 + len {
                    self.read_more().await?;
                }
                let body = String::from_utf8_lossy(&self.buf[end + 4..end + 4 + len]).into_owned();
                return Ok((status, body));
            }
            self.read_more().await?;
        }
    }

    async fn read_more(&mut self) -> anyhow::Result<()> {
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "connection closed");
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

async fn startup(bin: &str, dir: &str, runs: u32, port: u16) -> anyhow::Result<()> {
    let mut times = Vec::new();
    let mut rss = Vec::new();
    let mut anon = Vec::new();
    for run in 0..runs {
        let db = format!("{dir}/startup-{run}.db");
        let started = Instant::now();
        let mut child = tokio::process::Command::new(bin)
            .env("TETRIS_ADDRESS", "127.0.0.1")
            .env("TETRIS_PORT", port.to_string())
            .env("TETRIS_DATABASE", &db)
            .env("TETRIS_LOG_LEVEL", "warn")
            .kill_on_drop(true)
            .spawn()?;
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
        let deadline = started + Duration::from_secs(10);
        let ready = loop {
            anyhow::ensure!(Instant::now() < deadline, "not ready within 10 s");
            if let Ok(mut http) = Http::connect(addr).await
                && let Ok((200, _)) = http.request("GET", "/readyz", "").await
            {
                break started.elapsed();
            }
            tokio::time::sleep(Duration::from_micros(500)).await;
        };
        times.push(ready.as_micros() as u64);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let pid = child.id().ok_or_else(|| anyhow::anyhow!("no pid"))?;
        rss.push(rss_kib(pid)?);
        anon.push(status_kib(pid, "RssAnon:")?);
        child.kill().await?;
        let _ = child.wait().await;
    }
    times.sort_unstable();
    rss.sort_unstable();
    println!("startup_to_ready_ms_median {:.1}", percentile(&times, 0.5) as f64 / 1000.0);
    println!("startup_to_ready_ms_all {:?}", times.iter().map(|t| *t as f64 / 1000.0).collect::<Vec<_>>());
    anon.sort_unstable();
    println!("idle_rss_kib_median {}", percentile(&rss, 0.5));
    println!("idle_rss_anon_kib_median {}", percentile(&anon, 0.5));
    Ok(())
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

async fn ws_connect(addr: SocketAddr) -> anyhow::Result<Ws> {
    // TCP_NODELAY like a browser's WebSocket: with Nagle's algorithm on, small frames wait for the
    // peer's delayed ACK (40-200 ms) and the benchmark would measure the client's TCP settings.
    let (mut ws, _) =
        tokio_tungstenite::connect_async_with_config(format!("ws://{addr}/ws"), None, true).await?;
    ws.send(Message::text(r#"{"type":"hello","protocol":1}"#)).await?;
    next_text(&mut ws).await?;
    Ok(ws)
}

async fn next_text(ws: &mut Ws) -> anyhow::Result<String> {
    loop {
        match tokio::time::timeout(Duration::from_secs(20), ws.next()).await? {
            Some(Ok(Message::Text(t))) => return Ok(t.as_str().to_owned()),
            Some(Ok(_)) => continue,
            other => anyhow::bail!("socket ended: {other:?}"),
        }
    }
}

async fn until(ws: &mut Ws, kind: &str) -> anyhow::Result<String> {
    let tag = format!(r#""type":"{kind}""#);
    loop {
        let t = next_text(ws).await?;
        if t.contains(&tag) {
            return Ok(t);
        }
    }
}

/// The next message whose type is one of `kinds`.
async fn until_any(ws: &mut Ws, kinds: &[&str]) -> anyhow::Result<String> {
    let tags: Vec<String> = kinds.iter().map(|k| format!(r#""type":"{k}""#)).collect();
    loop {
        let t = next_text(ws).await?;
        if tags.iter().any(|tag| t.contains(tag.as_str())) {
            return Ok(t);
        }
    }
}

/// A pair in a private room opened on `addr`; the second player connects to `peer` (another
/// replica of the same app, for the cross-replica relay, or `addr` itself).
async fn make_pair(addr: SocketAddr, peer: SocketAddr) -> anyhow::Result<(Ws, Ws)> {
    let mut a = ws_connect(addr).await?;
    let mut b = ws_connect(peer).await?;
    a.send(Message::text(r#"{"type":"create_room","name":"a","startLevel":0}"#)).await?;
    let joined = until(&mut a, "room_joined").await?;
    let code = joined
        .split(r#""code":""#)
        .nth(1)
        .and_then(|r| r.get(..6))
        .ok_or_else(|| anyhow::anyhow!("no code"))?;
    // On another replica the code is found through the room registry, which the room's server
    // updates right after opening it: a join that arrives first is refused and tried again.
    let join = format!(r#"{{"type":"join_room","name":"b","code":"{code}"}}"#);
    for attempt in 0.. {
        b.send(Message::text(join.clone())).await?;
        let answer = until_any(&mut b, &["room_joined", "error"]).await?;
        if !answer.contains("room_not_found") {
            break;
        }
        anyhow::ensure!(attempt < 100, "the room never appeared on the peer: {answer}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    until(&mut a, "match_start").await?;
    until(&mut b, "match_start").await?;
    Ok((a, b))
}

fn state_text(seq: u64) -> String {
    // A realistic ~430-byte board: a few filled rows at the bottom.
    let board = format!("{}{}", ".".repeat(160), "IIIIJJJ.LLOOSSTTZZ..GGGGGGGGG.GGGG.GGGGG");
    format!(
        r#"{{"type":"state","board":"{board}","piece":{{"kind":"T","x":4,"y":3,"rot":1}},"next":"SZIOJ","hold":"L","score":{seq},"level":3,"lines":27}}"#
    )
}

fn score_of(text: &str) -> Option<u64> {
    let rest = text.split(r#""score":"#).nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

async fn relay(
    addr: SocketAddr,
    peer: SocketAddr,
    pairs: usize,
    rate: u32,
    seconds: u64,
    pid: Option<u32>,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        seconds <= 120 && pairs <= 5000 && rate <= 60,
        "bounded: seconds <= 120, pairs <= 5000, rate <= 60"
    );
    let sem = Arc::new(tokio::sync::Semaphore::new(64));
    let mut setups = Vec::new();
    for _ in 0..pairs {
        let sem = sem.clone();
        setups.push(tokio::spawn(async move {
            let _permit = sem.acquire().await;
            make_pair(addr, peer).await
        }));
    }
    let mut sockets = Vec::new();
    for s in setups {
        let (a, b) = s.await??;
        sockets.push(a);
        sockets.push(b);
    }
    let n = sockets.len();
    let sched_before = pid.map(schedstat).transpose()?;
    let per_conn = (u64::from(rate) * (seconds + 2)) as usize;
    // sent[conn][seq] = ns since `t0` when conn sent seq (seq < per_conn).
    let sent: Arc<Vec<Vec<AtomicU64>>> =
        Arc::new((0..n).map(|_| (0..per_conn).map(|_| AtomicU64::new(0)).collect()).collect());
    let t0 = Instant::now();
    let warmup = Duration::from_secs(1);
    let measure_end = warmup + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for (i, ws) in sockets.into_iter().enumerate() {
        let opp = i ^ 1;
        let sent = sent.clone();
        let (mut sink, mut stream) = ws.split();
        let texts: Vec<String> = (0..per_conn as u64).map(state_text).collect();
        let sender_sent = sent.clone();
        let sender = tokio::spawn(async move {
            let period = Duration::from_nanos(1_000_000_000 / u64::from(rate));
            // Spread the connections' phases so sends do not arrive in lockstep.
            let offset = period.mul_f64((i as f64 * 0.618_034) % 1.0);
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
            for (seq, text) in texts.into_iter().enumerate() {
                tick.tick().await;
                if t0.elapsed() > measure_end + Duration::from_millis(200) {
                    break;
                }
                sender_sent[i][seq].store(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
                if sink.send(Message::text(text)).await.is_err() {
                    break;
                }
            }
            sink
        });
        let receiver = tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_conn);
            let mut received = 0u64;
            let stop = measure_end + Duration::from_millis(500);
            while let Ok(Some(Ok(msg))) =
                tokio::time::timeout(stop.saturating_sub(t0.elapsed()), stream.next()).await
            {
                let Message::Text(t) = msg else { continue };
                let now = t0.elapsed();
                if !t.as_str().starts_with(r#"{"type":"opponent_state""#) {
                    continue;
                }
                let Some(seq) = score_of(t.as_str()) else { continue };
                let at = sent[opp].get(seq as usize).map_or(0, |a| a.load(Ordering::Relaxed));
                let sent_at = Duration::from_nanos(at);
                if sent_at >= warmup && sent_at < measure_end {
                    received += 1;
                    lat.push(now.saturating_sub(sent_at).as_micros() as u64);
                }
            }
            (received, lat)
        });
        tasks.push((sender, receiver));
    }
    let mut total = 0u64;
    let mut lat = Vec::new();
    let mut sinks = Vec::new();
    for (s, r) in tasks {
        let (received, l) = r.await?;
        total += received;
        lat.extend(l);
        sinks.push(s.await?);
    }
    if let (Some(pid), Some((run0, wait0))) = (pid, sched_before) {
        let (run1, wait1) = schedstat(pid)?;
        println!("relay_server_cpu_ms {}", (run1 - run0) / 1_000_000);
        println!("relay_server_runqueue_wait_ms {}", (wait1 - wait0) / 1_000_000);
        // Every message the server relayed during the whole run (setup and warm-up included).
        let relayed: u64 =
            sent.iter().map(|c| c.iter().filter(|t| t.load(Ordering::Relaxed) > 0).count() as u64).sum();
        println!("relay_server_cpu_us_per_msg {:.1}", (run1 - run0) as f64 / 1000.0 / relayed.max(1) as f64);
    }
    lat.sort_unstable();
    let offered = (n as u64) * u64::from(rate) * seconds;
    println!("relay_connections {n}");
    println!("relay_offered_msgs {offered}");
    println!("relay_delivered_msgs {total}");
    println!("relay_msgs_per_s {:.0}", total as f64 / seconds as f64);
    println!("relay_latency_ms_p50 {:.2}", percentile(&lat, 0.5) as f64 / 1000.0);
    println!("relay_latency_ms_p99 {:.2}", percentile(&lat, 0.99) as f64 / 1000.0);
    println!("relay_latency_ms_max {:.2}", lat.last().copied().unwrap_or(0) as f64 / 1000.0);
    Ok(())
}

async fn boards(addr: SocketAddr, watch: SocketAddr, count: usize) -> anyhow::Result<()> {
    anyhow::ensure!(count <= 100, "bounded: count <= 100 (the largest scoreboard)");
    let mut http = Http::connect(addr).await?;
    let issued = Instant::now();
    let (mut games, mut longest) = (Vec::new(), 0u32);
    for i in 0..count {
        let (status, body) = http.request("POST", "/api/games", r#"{"mode":"solo","startLevel":0}"#).await?;
        anyhow::ensure!(status == 201, "issue failed: {status} {body}");
        let issued: serde_json::Value = serde_json::from_str(&body)?;
        let setup = Setup {
            ruleset: if issued["ruleset"] == "modern" { RulesetName::Modern } else { RulesetName::Classic },
            version: issued["rules"].as_u64().unwrap_or(2) as u8,
            seed: issued["seed"].as_u64().unwrap_or(0) as u32,
            start_level: 0,
            goal: None,
        };
        let played = player::play(setup, i as u32, 0);
        longest = longest.max(played.game.frame);
        let name = format!("cast{i}");
        games.push((
            player::submission(issued["gameId"].as_str().unwrap_or_default(), &name, &played).to_string(),
            name,
        ));
    }
    let playable =
        Duration::from_millis(u64::from(longest) * 1000 / 60).saturating_sub(Duration::from_secs(4));
    tokio::time::sleep(playable.saturating_sub(issued.elapsed())).await;
    let mut page = ws_connect(watch).await?;
    page.send(Message::text(r#"{"type":"watch_scores"}"#)).await?;
    until(&mut page, "scores").await?;
    let mut lat = Vec::new();
    for (body, name) in games {
        let tag = format!(r#""name":"{name}""#);
        let (status, resp) = http.request("POST", "/api/scores", &body).await?;
        anyhow::ensure!(status == 201, "submit failed: {status} {resp}");
        let acked = Instant::now();
        loop {
            let t = next_text(&mut page).await?;
            if t.starts_with(r#"{"type":"scores""#) && t.contains(&tag) {
                break;
            }
        }
        lat.push(acked.elapsed().as_micros() as u64);
    }
    lat.sort_unstable();
    println!("boards_count {}", lat.len());
    println!("boards_latency_ms_p50 {:.2}", percentile(&lat, 0.5) as f64 / 1000.0);
    println!("boards_latency_ms_p99 {:.2}", percentile(&lat, 0.99) as f64 / 1000.0);
    println!("boards_latency_ms_max {:.2}", lat.last().copied().unwrap_or(0) as f64 / 1000.0);
    Ok(())
}

async fn submit(
    addr: SocketAddr,
    concurrency: usize,
    count: usize,
    pid: Option<u32>,
    pace: u32,
) -> anyhow::Result<()> {
    anyhow::ensure!(count <= 200_000 && concurrency <= 1024, "bounded: count <= 200000, concurrency <= 1024");
    // Issue the games and play them first (not measured).
    let mut http = Http::connect(addr).await?;
    let issued = Instant::now();
    let mut games = Vec::with_capacity(count);
    let (mut frames, mut longest) = (0u64, 0u32);
    for i in 0..count {
        let (status, body) = http.request("POST", "/api/games", r#"{"mode":"solo","startLevel":0}"#).await?;
        anyhow::ensure!(status == 201, "issue failed: {status} {body}");
        let issued: serde_json::Value = serde_json::from_str(&body)?;
        let id = issued["gameId"].as_str().unwrap_or_default();
        let setup = Setup {
            ruleset: if issued["ruleset"] == "modern" { RulesetName::Modern } else { RulesetName::Classic },
            version: issued["rules"].as_u64().unwrap_or(2) as u8,
            seed: issued["seed"].as_u64().unwrap_or(0) as u32,
            start_level: 0,
            goal: None,
        };
        let played = player::play(setup, i as u32, pace);
        frames += u64::from(played.game.frame);
        longest = longest.max(played.game.frame);
        games.push(player::submission(id, &format!("bench{}", i % 997), &played).to_string());
    }
    // A game may not be submitted before it could have been played (the server's clock rule).
    let playable =
        Duration::from_millis(u64::from(longest) * 1000 / 60).saturating_sub(Duration::from_secs(4));
    tokio::time::sleep(playable.saturating_sub(issued.elapsed())).await;
    println!("submit_frames_per_game {:.0}", frames as f64 / count.max(1) as f64);
    let queue = Arc::new(std::sync::Mutex::new(games));
    let sched_before = pid.map(schedstat).transpose()?;
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let queue = queue.clone();
        workers.push(tokio::spawn(async move {
            let mut http = Http::connect(addr).await?;
            let mut lat = Vec::new();
            loop {
                let Some(body) = queue.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.pop() else { break };
                let t = Instant::now();
                let (status, resp) = http.request("POST", "/api/scores", &body).await?;
                anyhow::ensure!(status == 201, "submit failed: {status} {resp}");
                lat.push(t.elapsed().as_micros() as u64);
            }
            anyhow::Ok(lat)
        }));
    }
    let mut lat = Vec::new();
    for w in workers {
        lat.extend(w.await??);
    }
    let elapsed = started.elapsed();
    if let (Some(pid), Some((run0, wait0))) = (pid, sched_before) {
        let (run1, wait1) = schedstat(pid)?;
        println!("submit_server_cpu_ms {}", (run1 - run0) / 1_000_000);
        println!("submit_server_runqueue_wait_ms {}", (wait1 - wait0) / 1_000_000);
        println!(
            "submit_server_cpu_us_per_submit {:.1}",
            (run1 - run0) as f64 / 1000.0 / lat.len().max(1) as f64
        );
    }
    lat.sort_unstable();
    println!("submit_count {}", lat.len());
    println!("submit_concurrency {concurrency}");
    println!("submits_per_s {:.0}", lat.len() as f64 / elapsed.as_secs_f64());
    println!("submit_latency_ms_p50 {:.2}", percentile(&lat, 0.5) as f64 / 1000.0);
    println!("submit_latency_ms_p99 {:.2}", percentile(&lat, 0.99) as f64 / 1000.0);
    Ok(())
}

/// Replays every vector `rounds` times and prints the engine's cost per 1,000 frames.
fn replay_cost(dir: &str, rounds: u32) -> anyhow::Result<()> {
    anyhow::ensure!(rounds <= 10_000, "bounded: rounds <= 10000");
    let mut logs = Vec::new();
    for version in tetris_game_server::rules::RULES_VERSIONS {
        for entry in std::fs::read_dir(format!("{dir}/v{version}"))? {
            let text = std::fs::read_to_string(entry?.path())?;
            let vector: serde_json::Value = serde_json::from_str(&text)?;
            logs.push(tetris_game_server::rules::InputLog::parse(&vector["log"].to_string())?);
        }
    }
    let started = Instant::now();
    let mut frames = 0u64;
    for _ in 0..rounds {
        for log in &logs {
            frames += u64::from(tetris_game_server::rules::replay(log)?.frame);
        }
    }
    let elapsed = started.elapsed();
    println!("replay_logs {}", logs.len() as u64 * u64::from(rounds));
    println!("replay_frames {frames}");
    println!("replay_us_per_1000_frames {:.1}", elapsed.as_secs_f64() * 1e9 / frames.max(1) as f64);
    Ok(())
}

async fn sockets(addr: SocketAddr, pid: u32, count: usize) -> anyhow::Result<()> {
    anyhow::ensure!(count <= 50_000, "bounded: count <= 50000");
    let before = rss_kib(pid)?;
    // Players arrive over time; 64 handshakes in flight keeps the server's transient handshake buffers
    // (freed after the upgrade) from inflating the steady-state figure.
    let sem = Arc::new(tokio::sync::Semaphore::new(64));
    let mut tasks = Vec::new();
    for _ in 0..count {
        let sem = sem.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire().await;
            ws_connect(addr).await
        }));
    }
    let mut open = Vec::with_capacity(count);
    for t in tasks {
        open.push(t.await??);
    }
    // Let the server settle (allocator, lazily touched buffers) before reading its RSS.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(pid)?;
    println!("sockets_open {}", open.len());
    println!("sockets_rss_before_kib {before}");
    println!("sockets_rss_after_kib {after}");
    println!(
        "sockets_bytes_per_socket {:.0}",
        (after.saturating_sub(before) * 1024) as f64 / open.len() as f64
    );
    drop(open);
    Ok(())
}
