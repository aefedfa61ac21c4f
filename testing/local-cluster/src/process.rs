//! Starting components so that none outlives its cluster.
//!
//! Every component of a cluster runs in one process group (the first component leads it). A
//! watchdog shell, in a group of its own, polls the owning process and, once it is gone, sends
//! SIGTERM and then SIGKILL to the whole group, runs the real node's cleanup script if the run has
//! one, and removes the run directory. That covers a test
//! binary that exits without dropping its statics, one that panics, and one killed by a signal.
//! [`Components::stop`] does the same at once for a cluster that is dropped.

use crate::{Error, Result};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

/// One running component and where its log goes.
#[derive(Debug)]
struct Running {
    name: String,
    log: PathBuf,
    child: Child,
    /// How it was started, so it can be started again.
    program: PathBuf,
    args: Vec<String>,
    extra_path: Option<PathBuf>,
    dir: PathBuf,
}

/// The components of one cluster, in start order.
#[derive(Debug, Default)]
pub struct Components {
    group: Mutex<Option<u32>>,
    running: Mutex<Vec<Running>>,
}

impl Components {
    /// Starts `program` with `args`, stdout and stderr to `<dir>/<name>.log`, in the cluster's
    /// process group. The first call also starts the watchdog that guards the group.
    pub fn spawn(&self, dir: &Path, name: &str, program: &Path, args: &[String]) -> Result<()> {
        self.spawn_inner(dir, name, program, args, None)
    }

    /// [`Components::spawn`] with `extra_path` put first on the component's PATH.
    pub fn spawn_with_path(
        &self,
        dir: &Path,
        name: &str,
        program: &Path,
        args: &[String],
        extra_path: &Path,
    ) -> Result<()> {
        self.spawn_inner(dir, name, program, args, Some(extra_path))
    }

    fn spawn_inner(
        &self,
        dir: &Path,
        name: &str,
        program: &Path,
        args: &[String],
        extra_path: Option<&Path>,
    ) -> Result<()> {
        let log = dir.join(format!("{name}.log"));
        let out = File::create(&log).map_err(|source| Error::Io {
            action: "creating",
            path: log.clone(),
            source,
        })?;
        let err =
            out.try_clone().map_err(|source| Error::Io { action: "opening", path: log.clone(), source })?;
        let mut group = self.group.lock().unwrap_or_else(|p| p.into_inner());
        let mut command = Command::new(program);
        command.args(args).current_dir(dir).stdin(Stdio::null()).stdout(out).stderr(err);
        if let Some(extra) = extra_path {
            let path = std::env::var("PATH").unwrap_or_default();
            command.env("PATH", format!("{}:{path}", extra.display()));
        }
        // 0 makes the first component the leader of a new group; the rest join it.
        command.process_group(group.map_or(0, |g| g as i32));
        let child = command.spawn().map_err(|e| Error::Command {
            command: format!("{} {}", program.display(), args.join(" ")),
            detail: e.to_string(),
        })?;
        if group.is_none() {
            *group = Some(child.id());
            start_watchdog(child.id(), dir)?;
        }
        self.running.lock().unwrap_or_else(|p| p.into_inner()).push(Running {
            name: name.into(),
            log,
            child,
            program: program.to_owned(),
            args: args.to_vec(),
            extra_path: extra_path.map(Path::to_owned),
            dir: dir.to_owned(),
        });
        Ok(())
    }

    /// Kills the component `name` (SIGKILL) and starts it again the way it was started, in the
    /// same process group; its log starts over.
    pub fn restart(&self, name: &str) -> Result<()> {
        let found = {
            let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
            let i = running.iter().position(|r| r.name == name).ok_or_else(|| Error::Command {
                command: format!("restart {name}"),
                detail: "no such component".into(),
            })?;
            let mut r = running.remove(i);
            let _ = r.child.kill();
            let _ = r.child.wait();
            r
        };
        self.spawn_inner(&found.dir, &found.name, &found.program, &found.args, found.extra_path.as_deref())
    }

    /// Sends `signal` (a name `kill` knows, such as `STOP` or `CONT`) to the component `name`.
    pub fn signal(&self, name: &str, signal: &str) -> Result<()> {
        let pid = self.pids().into_iter().find(|(n, _)| n == name).map(|(_, pid)| pid).ok_or_else(|| {
            Error::Command { command: format!("kill -{signal} {name}"), detail: "no such component".into() }
        })?;
        let status = Command::new("kill").args([format!("-{signal}"), pid.to_string()]).status();
        match status {
            Ok(s) if s.success() => Ok(()),
            other => {
                Err(Error::Command { command: format!("kill -{signal} {pid}"), detail: format!("{other:?}") })
            }
        }
    }

    /// Fails with the component's log tail if any component has exited.
    pub fn check_alive(&self) -> Result<()> {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        for r in running.iter_mut() {
            if let Ok(Some(status)) = r.child.try_wait() {
                return Err(Error::Exited {
                    component: r.name.clone(),
                    status: status.to_string(),
                    tail: tail(&r.log, 40),
                });
            }
        }
        Ok(())
    }

    /// Process ids of the running components, by name.
    pub fn pids(&self) -> Vec<(String, u32)> {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running.iter().map(|r| (r.name.clone(), r.child.id())).collect()
    }

    /// The last `lines` of every component's log, headed by its name.
    pub fn log_tails(&self, lines: usize) -> String {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        for r in running.iter() {
            out.push_str(&format!("----- {} ({}) -----\n{}\n", r.name, r.log.display(), tail(&r.log, lines)));
        }
        out
    }

    /// Kills every component (SIGKILL: a test cluster has nothing to flush) and reaps them.
    pub fn stop(&self) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        for r in running.iter_mut().rev() {
            let _ = r.child.kill();
            let _ = r.child.wait();
        }
        running.clear();
    }
}

/// The watchdog: a shell in its own process group that outlives the owner just long enough to
/// take the cluster down with it.
fn start_watchdog(group: u32, dir: &Path) -> Result<()> {
    let owner = std::process::id();
    let script = format!(
        "while kill -0 {owner} 2>/dev/null; do sleep 0.2; done; \
         kill -TERM -{group} 2>/dev/null; sleep 2; kill -KILL -{group} 2>/dev/null; \
         [ -f '{dir}/node-cleanup.sh' ] && bash '{dir}/node-cleanup.sh'; \
         [ -n \"$KEEP_LOCAL_CLUSTER_DIR\" ] || rm -rf '{dir}'",
        dir = dir.display()
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| Error::Command { command: "sh -c <watchdog>".into(), detail: e.to_string() })?;
    Ok(())
}

/// The last `lines` lines of a file (reads at most the last 64 KiB).
pub fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut f) = File::open(path) else { return String::new() };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Polls `check` every `interval` until it returns `Some`, failing after `timeout`.
pub fn wait_for<T>(
    what: &str,
    dir: &Path,
    timeout: Duration,
    interval: Duration,
    mut check: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let start = std::time::Instant::now();
    loop {
        if let Some(v) = check()? {
            return Ok(v);
        }
        if start.elapsed() > timeout {
            return Err(Error::Timeout {
                what: what.into(),
                seconds: timeout.as_secs(),
                dir: dir.to_owned(),
            });
        }
        std::thread::sleep(interval);
    }
}
