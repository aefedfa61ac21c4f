//! A real PostgreSQL server for tests: `initdb` in a temporary directory, listening on 127.0.0.1
//! at a free port (its Unix socket in the same directory), stopped when the value is dropped, also
//! when the test panics. `stop`, `crash` and `start` act on the same data directory, for restart
//! tests.
//!
//! PostgreSQL refuses to run as root: when the tests run as root, the server runs as the
//! `postgres` user (Debian's `postgresql` package creates it) and the directory is given to it.
//! The binaries come from `TETRIS_PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`, else `PATH`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One PostgreSQL server and its data directory.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// (uid, gid) to run as, when the tests run as root.
    user: Option<(u32, u32)>,
    /// The TCP port on 127.0.0.1.
    pub port: u16,
    running: bool,
}

impl Postgres {
    /// A fresh cluster (superuser `tetris`, trust authentication on 127.0.0.1), started.
    pub fn start() -> Postgres {
        let bin = bin_dir();
        let user = run_as();
        let dir = tempfile::Builder::new().prefix("tetris-pg-").tempdir().expect("temp dir");
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown the PostgreSQL dir");
        }
        let mut pg = Postgres { dir, bin, user, port: free_port(), running: false };
        let data = pg.data();
        let out = pg
            .command("initdb")
            .args(["-D", data.to_str().expect("utf-8 path"), "-U", "tetris", "--auth=trust", "-E", "UTF8"])
            .args(["--no-sync", "--no-instructions"])
            .output()
            .expect("run initdb");
        assert!(out.status.success(), "initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        pg.start_again();
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, tool: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(tool));
        if let Some((uid, gid)) = self.user {
            use std::os::unix::process::CommandExt;
            cmd.uid(uid).gid(gid);
        }
        cmd.current_dir(self.dir.path());
        cmd
    }

    /// The URI of database `db` (no TLS: the test server has no certificate).
    pub fn url(&self, db: &str) -> String {
        format!("postgresql://tetris@127.0.0.1:{}/{db}?sslmode=disable", self.port)
    }

    /// Starts the server on the existing data directory and waits until it accepts connections.
    pub fn start_again(&mut self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        let out = self
            .command("pg_ctl")
            .args(["-D", self.data().to_str().expect("utf-8"), "-o", &opts, "-l"])
            .arg(&log)
            .args(["-w", "-t", "30", "start"])
            .output()
            .expect("run pg_ctl start");
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        self.running = true;
    }

    /// Stops the server with `mode` (`fast`: clean; `immediate`: like a crash, recovery at next start).
    fn stop_with(&mut self, mode: &str) {
        if !self.running {
            return;
        }
        let out = self
            .command("pg_ctl")
            .args(["-D", self.data().to_str().expect("utf-8"), "-m", mode, "-w", "-t", "30", "stop"])
            .output()
            .expect("run pg_ctl stop");
        assert!(out.status.success(), "pg_ctl stop failed: {}", String::from_utf8_lossy(&out.stderr));
        self.running = false;
    }

    /// A clean stop.
    #[allow(dead_code)] // part of the harness (restart tests with a checkpoint); today's tests crash it
    pub fn stop(&mut self) {
        self.stop_with("fast");
    }

    /// Stops at once, without a checkpoint (PostgreSQL recovers from its WAL at the next start).
    pub fn crash(&mut self) {
        self.stop_with("immediate");
    }

    /// Creates database `name` and returns its URI.
    pub fn database(&self, name: &str) -> String {
        let out = self
            .command("createdb")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "tetris", name])
            .output()
            .expect("run createdb");
        assert!(out.status.success(), "createdb failed: {}", String::from_utf8_lossy(&out.stderr));
        self.url(name)
    }

    /// A plain client of database `db` (for assertions on what is stored).
    pub async fn client(&self, db: &str) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.url(db), tokio_postgres::NoTls)
            .await
            .expect("connect to PostgreSQL");
        tokio::spawn(connection);
        client
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.running {
            let _ = self
                .command("pg_ctl")
                .args(["-D", self.data().to_str().unwrap_or_default(), "-m", "immediate", "-w", "stop"])
                .output();
        }
    }
}

fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("TETRIS_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        // On PATH (Command resolves a bare name when the directory part is empty).
        Path::new("").to_path_buf()
    })
}

/// The `postgres` user's ids when running as root (PostgreSQL will not run as root).
fn run_as() -> Option<(u32, u32)> {
    let out = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&out.stdout).trim() != "0" {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
    let line = passwd
        .lines()
        .find(|l| l.starts_with("postgres:"))
        .expect("running as root needs the postgres user (apt-get install postgresql)");
    let fields: Vec<&str> = line.split(':').collect();
    Some((fields[2].parse().expect("uid"), fields[3].parse().expect("gid")))
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}
