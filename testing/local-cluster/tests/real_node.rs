//! The real node runs real containers and leaves nothing behind: no process, mount, network
//! namespace, link, route, iptables rule, cgroup or file of a run survives it, whether its owner is
//! killed with pods running or panics.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What `local-cluster up` printed about the run.
struct Run {
    child: Child,
    dir: std::path::PathBuf,
    netns: String,
    cgroup: String,
    kubeconfig: String,
}

fn up(extra: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_local-cluster"))
        .args(["up", "--nodes", "0", "--real-node"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("local-cluster up starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (mut dir, mut netns, mut cgroup, mut kubeconfig) = (None, None, None, None);
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("stdout line");
        if let Some(d) = line.strip_prefix("dir: ") {
            dir = Some(d.to_owned());
        } else if let Some(k) = line.strip_prefix("KUBECONFIG=") {
            kubeconfig = Some(k.to_owned());
        } else if let Some(rest) = line.strip_prefix("real node: ") {
            // real node: real-node-0 (network namespace lc-123, cgroup local-cluster-123)
            let inner = rest.split_once('(').and_then(|(_, r)| r.strip_suffix(')')).expect("names");
            let (ns, cg) = inner.split_once(", cgroup ").expect("cgroup");
            netns = Some(ns.trim_start_matches("network namespace ").to_owned());
            cgroup = Some(cg.to_owned());
            break;
        }
    }
    Run {
        child,
        dir: dir.expect("printed its dir").into(),
        netns: netns.expect("printed the netns"),
        cgroup: cgroup.expect("printed the cgroup"),
        kubeconfig: kubeconfig.expect("printed KUBECONFIG"),
    }
}

/// The host's network state that a run must leave as it found it.
fn host_network() -> String {
    let mut all = String::new();
    for (program, args) in [
        ("iptables-save", vec![]),
        ("ip6tables-save", vec![]),
        ("ip", vec!["-o", "link"]),
        ("ip", vec!["route"]),
        ("ip", vec!["netns", "list"]),
    ] {
        let out = Command::new(program).args(&args).output().expect("read the host's network state");
        let text = String::from_utf8_lossy(&out.stdout);
        // Comments carry timestamps; counters move with traffic.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let line = line.split(" [").next().unwrap_or(line);
            all.push_str(line);
            all.push('\n');
        }
    }
    all
}

/// One real node at a time in this binary, so one test's run never shows in another's snapshot.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn wait_clean(run: &Run) {
    let start = Instant::now();
    loop {
        let left = local_cluster::node::leftovers(&run.dir, &run.netns, &run.cgroup);
        if left.is_empty() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "a real-node run left behind:\n{}",
            left.join("\n")
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn kubectl(run: &Run, args: &[&str], stdin: Option<&str>) -> String {
    let bin = local_cluster::binaries::bin_dir().expect("bin dir");
    let mut child = Command::new(bin.join("kubectl"))
        .args(args)
        .env("KUBECONFIG", &run.kubeconfig)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl");
    if let Some(text) = stdin {
        use std::io::Write;
        child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write");
    }
    let out = child.wait_with_output().expect("kubectl runs");
    assert!(out.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const WORKLOAD: &str = r#"apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: sleeper}
spec:
  securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: c
    image: localhost/tetris/pause:local
    imagePullPolicy: Never
    securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
    volumeMounts: [{name: data, mountPath: /data}, {name: scratch, mountPath: /scratch}]
  volumes:
  - {name: data, persistentVolumeClaim: {claimName: data}}
  - {name: scratch, emptyDir: {medium: Memory}}
"#;

#[test]
fn a_killed_run_with_running_pods_leaves_nothing_behind() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    local_cluster::node::sweep_dead_runs(&std::env::temp_dir().join("local-cluster"));
    let before = host_network();
    let mut run = up(&[]);
    kubectl(&run, &["apply", "-f", "-"], Some(WORKLOAD));
    kubectl(&run, &["wait", "--for=condition=Ready", "pod/sleeper", "--timeout=120s"], None);
    let phase = kubectl(&run, &["get", "pvc", "data", "-o", "jsonpath={.status.phase}"], None);
    assert_eq!(phase, "Bound", "the local-path provisioner bound the claim");
    // While it runs, the run does have things to clean up (so the check below can fail).
    let during = local_cluster::node::leftovers(&run.dir, &run.netns, &run.cgroup);
    for kind in ["process", "mount", "network namespace", "cgroup"] {
        assert!(during.iter().any(|l| l.starts_with(kind)), "a running node has a {kind}: {during:?}");
    }

    // SIGKILL: no destructor runs; the watchdog alone must clean up.
    run.child.kill().expect("kill local-cluster up");
    let _ = run.child.wait();
    wait_clean(&run);
    assert_eq!(host_network(), before, "the host's iptables, links, routes and namespaces are as before");
}

#[test]
fn a_run_that_panics_leaves_nothing_behind() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    local_cluster::node::sweep_dead_runs(&std::env::temp_dir().join("local-cluster"));
    let before = host_network();
    let mut run = up(&["--panic-after-ready"]);
    let status = run.child.wait().expect("wait");
    assert!(!status.success(), "the run panicked on purpose");
    wait_clean(&run);
    assert_eq!(host_network(), before, "the host's iptables, links, routes and namespaces are as before");
}
