//! The real node: containerd, runc, CNI, kubelet and kube-proxy running real pods beside the kwok
//! nodes.
//!
//! # A network namespace of its own
//! The node (containerd, kubelet, kube-proxy) runs in a network namespace that the run creates,
//! joined to the host by a veth pair: `10.123.0.1` on the host's end, `10.123.0.2` (the node's
//! InternalIP) on the node's. Pods sit on a CNI bridge inside it (`10.124.0.0/24`). The host routes
//! the Service range and the pod range to the node, so a test process on the host reaches a
//! ClusterIP through kube-proxy's rules the way a client in a cluster does. Everything the node
//! changes in the network (the bridge, kube-proxy's and the kubelet's iptables chains, CNI's masquerade
//! rules, the veth and its routes) lives in that namespace and goes away with it; the host's own
//! iptables are never touched. The API server listens on the host's end of the veth, so pods reach
//! it through the `kubernetes` Service.
//!
//! # One real node per machine at a time
//! Addresses are fixed, so a machine-wide lock (`/run/lock/local-cluster-real-node.lock`) serialises
//! runs; the next run waits. Under the lock, a run first sweeps what a dead run may have left (its
//! cleanup script is in its run directory).
//!
//! # Cleanup
//! `node-cleanup.sh` in the run directory kills the run's containers (by the run's cgroups) and
//! runc shims (by the run's containerd socket in their command line), unmounts everything under
//! the run directory, removes the run's cgroups in every hierarchy, deletes the network namespace
//! and CNI's cache entries. [`crate::LocalCluster::stop`] runs it, and so does the watchdog when the
//! owning process dies, panics or is killed.

use crate::process::wait_for;
use crate::{Error, Result};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The API server's address on the host's end of the veth.
pub const HOST_IP: &str = "10.123.0.1";
/// The node's InternalIP, on the node's end of the veth.
pub const NODE_IP: &str = "10.123.0.2";
/// The pod network on the node's CNI bridge.
pub const POD_CIDR: &str = "10.124.0.0/24";
/// The Service range (kube-apiserver's `--service-cluster-ip-range`).
pub const SERVICE_CIDR: &str = "10.96.0.0/16";
/// The real node's name.
pub const NODE_NAME: &str = "real-node-0";
/// The default StorageClass on a cluster with a real node.
pub const STORAGE_CLASS: &str = "local-path";

const LOCK: &str = "/run/lock/local-cluster-real-node.lock";
const NODE_TIMEOUT: Duration = Duration::from_secs(120);

/// The node's host-side state: the machine lock, its network namespace, cgroup and directories.
#[derive(Debug)]
pub struct RealNode {
    /// The run directory's `node/` folder.
    pub dir: PathBuf,
    /// Network namespace name (`lc-<pid>`).
    pub netns: String,
    /// The cgroup (in every hierarchy) that holds the node's pods.
    pub cgroup: String,
    _lock: File,
}

impl RealNode {
    /// Checks the host, takes the machine lock, sweeps a dead run's leftovers, and sets up the
    /// network namespace and the cgroups. The control plane starts after this (the API server binds
    /// [`HOST_IP`], which exists from here on).
    pub fn prepare(run_dir: &Path) -> Result<RealNode> {
        check_host()?;
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(LOCK)
            .map_err(|source| Error::Io { action: "opening", path: LOCK.into(), source })?;
        lock.lock().map_err(|source| Error::Io { action: "locking", path: LOCK.into(), source })?;
        sweep(run_dir);
        let id = std::process::id();
        let node = RealNode {
            dir: run_dir.join("node"),
            netns: format!("lc-{id}"),
            cgroup: format!("local-cluster-{id}"),
            _lock: lock,
        };
        mkdir(&node.dir)?;
        write(&run_dir.join("owner.pid"), &id.to_string())?;
        node.write_cleanup_script(run_dir)?;
        node.setup_network()?;
        node.setup_cgroups()?;
        Ok(node)
    }

    /// Runs `program` inside the node's network namespace (and nothing else: the mount namespace is
    /// the host's, so containerd and the kubelet see each other's mounts).
    pub fn in_netns(&self, program: &Path, args: &[String]) -> (PathBuf, Vec<String>) {
        let mut all =
            vec![format!("--net=/run/netns/{}", self.netns), "--".into(), program.display().to_string()];
        all.extend(args.iter().cloned());
        (PathBuf::from("nsenter"), all)
    }

    /// containerd's socket.
    pub fn containerd_socket(&self) -> PathBuf {
        self.dir.join("containerd/containerd.sock")
    }

    /// containerd's configuration (a private root, state, socket, CNI configuration and runc root).
    pub fn containerd_config(&self, pause_image: &str) -> Result<PathBuf> {
        let d = self.dir.display();
        for sub in ["containerd/root", "containerd/state", "cni/net.d", "cni/ipam", "cni/cache"] {
            mkdir(&self.dir.join(sub))?;
        }
        let toml = format!(
            r#"version = 3
root = "{d}/containerd/root"
state = "{d}/containerd/state"

[plugins."io.containerd.server.v1.grpc"]
  address = "{d}/containerd/containerd.sock"
[plugins."io.containerd.server.v1.ttrpc"]
  address = "{d}/containerd/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/containerd/opt"
[plugins."io.containerd.nri.v1.nri"]
  disable = true

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "{pause_image}"

[plugins."io.containerd.cri.v1.runtime"]
  # The VM has no CAP_SYS_RESOURCE: a negative oom_score_adj (-998 for sandboxes) is refused.
  restrict_oom_score_adj = true
  # Pod network namespaces under the state directory instead of /var/run/netns.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        Root = "{d}/containerd/runc"
        SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "{d}/cni/net.d"
"#
        );
        let path = self.dir.join("containerd.toml");
        write(&path, &toml)?;
        let cni = format!(
            r#"{{
  "cniVersion": "1.0.0",
  "name": "local-cluster",
  "plugins": [
    {{
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {{
        "type": "host-local",
        "ranges": [[{{"subnet": "{POD_CIDR}"}}]],
        "routes": [{{"dst": "0.0.0.0/0"}}],
        "dataDir": "{d}/cni/ipam"
      }}
    }},
    {{"type": "portmap", "capabilities": {{"portMappings": true}}}}
  ]
}}
"#
        );
        write(&self.dir.join("cni/net.d/10-local-cluster.conflist"), &cni)?;
        Ok(path)
    }

    /// The kubelet's configuration file.
    pub fn kubelet_config(&self, ca: &Path) -> Result<PathBuf> {
        let d = self.dir.display();
        mkdir(&self.dir.join("pod-logs"))?;
        let yaml = format!(
            r#"apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This VM keeps cgroup v1 (its controllers are held by the sandbox's own cgroups).
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /{cgroup}
# No CAP_SYS_RESOURCE: the kubelet may not lower its own oom_score_adj.
oomScoreAdj: 0
containerRuntimeEndpoint: unix://{d}/containerd/containerd.sock
address: {NODE_IP}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {{enabled: false}}
  webhook: {{enabled: false}}
  x509: {{clientCAFile: {ca}}}
authorization:
  mode: AlwaysAllow
podLogsDir: {d}/pod-logs
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
failSwapOn: false
maxPods: 60
serializeImagePulls: false
registerNode: true
# The test machine's disk is shared with builds; do not evict pods for a full-ish disk.
evictionHard: {{memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
nodeStatusUpdateFrequency: 5s
syncFrequency: 10s
"#,
            cgroup = self.cgroup,
            ca = ca.display(),
        );
        let path = self.dir.join("kubelet.yaml");
        write(&path, &yaml)?;
        Ok(path)
    }

    /// kube-proxy's configuration file (iptables mode, inside the node's namespace).
    pub fn kube_proxy_config(&self, kubeconfig: &Path) -> Result<PathBuf> {
        let yaml = format!(
            r#"apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
hostnameOverride: {NODE_NAME}
clusterCIDR: {POD_CIDR}
clientConnection:
  kubeconfig: {kubeconfig}
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# Leave the conntrack table as the kernel has it (0: do not touch).
conntrack:
  maxPerCore: 0
  min: 0
iptables:
  # Masquerade service traffic, so a pod reaching a Service whose backend is on the same bridge
  # gets its replies through the node (no br_netfilter needed).
  masqueradeAll: true
"#,
            kubeconfig = kubeconfig.display()
        );
        let path = self.dir.join("kube-proxy.yaml");
        write(&path, &yaml)?;
        Ok(path)
    }

    /// Imports an OCI archive into containerd's `k8s.io` namespace (where the kubelet looks).
    pub fn import_image(&self, ctr: &Path, archive: &Path) -> Result<()> {
        let socket = self.containerd_socket();
        let args = [
            "-a".to_string(),
            socket.display().to_string(),
            "-n".into(),
            "k8s.io".into(),
            "images".into(),
            "import".into(),
            "--no-unpack".into(),
            archive.display().to_string(),
        ];
        run(ctr, &args).map(|_| ())
    }

    /// Waits until containerd answers on its socket.
    pub fn wait_containerd(&self, ctr: &Path, run_dir: &Path) -> Result<()> {
        let socket = self.containerd_socket();
        wait_for("containerd", run_dir, NODE_TIMEOUT, Duration::from_millis(100), || {
            let args = ["-a".to_string(), socket.display().to_string(), "version".into()];
            Ok(run(ctr, &args).ok().map(|_| ()))
        })
    }

    /// Runs the cleanup script now (idempotent).
    pub fn cleanup(run_dir: &Path) {
        let script = run_dir.join("node-cleanup.sh");
        if script.is_file() {
            let _ = Command::new("bash").arg(&script).stdin(Stdio::null()).status();
        }
    }

    fn setup_network(&self) -> Result<()> {
        let ns = &self.netns;
        let host_if = format!("lch{}", std::process::id());
        let node_if = format!("lcn{}", std::process::id());
        let steps: Vec<Vec<String>> = vec![
            sv(&["ip", "netns", "add", ns]),
            sv(&["ip", "link", "add", &host_if, "type", "veth", "peer", "name", &node_if, "netns", ns]),
            sv(&["ip", "addr", "add", &format!("{HOST_IP}/30"), "dev", &host_if]),
            sv(&["ip", "link", "set", &host_if, "up"]),
            sv(&["ip", "-n", ns, "addr", "add", &format!("{NODE_IP}/30"), "dev", &node_if]),
            sv(&["ip", "-n", ns, "link", "set", &node_if, "up"]),
            sv(&["ip", "-n", ns, "link", "set", "lo", "up"]),
            sv(&["ip", "-n", ns, "route", "add", "default", "via", HOST_IP]),
            // Pods reach the API server and the host through the node: it routes.
            sv(&["ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]),
            sv(&["ip", "route", "add", SERVICE_CIDR, "via", NODE_IP, "dev", &host_if]),
            sv(&["ip", "route", "add", POD_CIDR, "via", NODE_IP, "dev", &host_if]),
        ];
        for step in steps {
            let (program, args) = step.split_first().expect("every step names a program");
            run(Path::new(program), args)?;
        }
        Ok(())
    }

    fn setup_cgroups(&self) -> Result<()> {
        // The kubelet needs its cgroupRoot to exist in every hierarchy. cpuset children start empty:
        // copy the parent's CPUs and memory nodes, or no task could join.
        for hierarchy in cgroup_hierarchies() {
            let dir = hierarchy.join(&self.cgroup);
            mkdir(&dir)?;
            for file in ["cpuset.cpus", "cpuset.mems"] {
                if let Ok(value) = std::fs::read_to_string(hierarchy.join(file)) {
                    let _ = std::fs::write(dir.join(file), value.trim());
                }
            }
        }
        Ok(())
    }

    fn write_cleanup_script(&self, run_dir: &Path) -> Result<()> {
        let script = CLEANUP
            .replace("@DIR@", &run_dir.display().to_string())
            .replace("@NETNS@", &self.netns)
            .replace("@CGROUP@", &self.cgroup);
        write(&run_dir.join("node-cleanup.sh"), &script)
    }
}

/// What a real-node run leaves until its cleanup: used by the cleanup test to prove nothing does.
pub fn leftovers(run_dir: &Path, netns: &str, cgroup: &str) -> Vec<String> {
    let mut found = Vec::new();
    let dir = run_dir.display().to_string();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            // The watchdog's own shell names the directory too; it is gone once cleanup is done.
            if cmdline.contains(&dir) {
                found.push(format!("process {}: {}", entry.file_name().to_string_lossy(), cmdline.trim()));
            }
        }
    }
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    for line in mounts.lines() {
        if line.contains(&dir) || line.contains(&format!("/run/netns/{netns}")) {
            found.push(format!("mount: {line}"));
        }
    }
    if Path::new("/run/netns").join(netns).exists() {
        found.push(format!("network namespace {netns}"));
    }
    for hierarchy in cgroup_hierarchies() {
        if hierarchy.join(cgroup).exists() {
            found.push(format!("cgroup {}", hierarchy.join(cgroup).display()));
        }
    }
    let links = Command::new("ip").args(["-o", "link"]).output().map(|o| o.stdout).unwrap_or_default();
    let pid = netns.trim_start_matches("lc-");
    for line in String::from_utf8_lossy(&links).lines() {
        if line.contains(&format!("lch{pid}")) || line.contains("cni0") {
            found.push(format!("link: {line}"));
        }
    }
    let routes = Command::new("ip").args(["route"]).output().map(|o| o.stdout).unwrap_or_default();
    for line in String::from_utf8_lossy(&routes).lines() {
        if line.contains(NODE_IP) {
            found.push(format!("route: {line}"));
        }
    }
    if run_dir.exists() {
        found.push(format!("run directory {dir}"));
    }
    found
}

/// Every cgroup hierarchy mounted under /sys/fs/cgroup (v1 controllers, named ones, the v2 one).
fn cgroup_hierarchies() -> Vec<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let mut fields = l.split_whitespace();
            let (_, point, kind) = (fields.next()?, fields.next()?, fields.next()?);
            (kind == "cgroup" || kind == "cgroup2").then(|| PathBuf::from(point))
        })
        .collect()
}

/// Fails with a message naming what is missing when this machine cannot run a real node.
fn check_host() -> Result<()> {
    let fail = |detail: String| Err(Error::Command { command: "real node host check".into(), detail });
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid = status.lines().find(|l| l.starts_with("Uid:")).and_then(|l| l.split_whitespace().nth(1));
    if uid != Some("0") {
        return fail("the real node needs root (network namespaces, mounts, cgroups, containerd)".into());
    }
    for (tool, package) in [
        ("/usr/sbin/runc", "runc"),
        ("/usr/lib/cni/bridge", "containernetworking-plugins"),
        ("/usr/lib/cni/host-local", "containernetworking-plugins"),
        ("/usr/lib/cni/portmap", "containernetworking-plugins"),
        ("/usr/lib/cni/loopback", "containernetworking-plugins"),
        ("/usr/sbin/iptables", "iptables"),
        ("/usr/sbin/conntrack", "conntrack"),
        ("/usr/bin/nsenter", "util-linux"),
        ("/usr/sbin/ip", "iproute2"),
    ] {
        if !Path::new(tool).exists() {
            return fail(format!("{tool} is missing: apt-get install {package} (hack/setup.sh installs it)"));
        }
    }
    if cgroup_hierarchies().is_empty() {
        return fail("no cgroup hierarchy is mounted under /sys/fs/cgroup".into());
    }
    Ok(())
}

/// Runs the cleanup script of every run directory whose owner process is gone, then deletes any
/// node network namespace (`lc-<pid>`) whose owner is gone but whose directory already went (its
/// veth would hold the fixed addresses and routes the new run needs).
/// [`sweep`] for every run under `base` (tests call it before they record the host's state, so a
/// run killed before them does not count as theirs).
pub fn sweep_dead_runs(base: &Path) {
    sweep(&base.join(".none"));
}

fn sweep(run_dir: &Path) {
    sweep_dirs(run_dir);
    let Ok(entries) = std::fs::read_dir("/run/netns") else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let owner = name.strip_prefix("lc-").and_then(|p| p.parse::<u32>().ok());
        if owner.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
            eprintln!("local-cluster: deleting network namespace {name} of a dead run");
            let _ = run(Path::new("ip"), &sv(&["netns", "del", &name]));
        }
    }
}

fn sweep_dirs(run_dir: &Path) {
    let Some(base) = run_dir.parent() else { return };
    let Ok(entries) = std::fs::read_dir(base) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path == run_dir || !path.join("node-cleanup.sh").is_file() {
            continue;
        }
        let owner =
            std::fs::read_to_string(path.join("owner.pid")).ok().and_then(|p| p.trim().parse::<u32>().ok());
        let dead = owner.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists());
        if dead {
            eprintln!("local-cluster: cleaning up what a dead run left in {}", path.display());
            RealNode::cleanup(&path);
        }
    }
}

fn sv(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn run(program: &Path, args: &[String]) -> Result<String> {
    crate::output_of(Command::new(program).args(args))
}

fn mkdir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).map_err(|source| Error::Io {
        action: "creating",
        path: path.to_owned(),
        source,
    })
}

fn write(path: &Path, text: &str) -> Result<()> {
    crate::write_file(path, text)
}

/// The cleanup script; @DIR@, @NETNS@ and @CGROUP@ are filled in per run. Every step is idempotent
/// and tolerates what is already gone, so it can run twice (stop, then the watchdog).
const CLEANUP: &str = r#"#!/usr/bin/env bash
# Removes everything a real-node run made: containers, shims, mounts, cgroups, the network namespace.
dir='@DIR@'; netns='@NETNS@'; cgroup='@CGROUP@'
hierarchies=$(awk '$3 == "cgroup" || $3 == "cgroup2" {print $2}' /proc/self/mounts)
kill_run() {
  # Containers and pods: every process in the run's cgroups.
  for h in $hierarchies; do
    [ -d "$h/$cgroup" ] && find "$h/$cgroup" -name cgroup.procs -exec cat {} + 2>/dev/null
  done | sort -u | xargs -r kill -9 2>/dev/null
  # containerd, kubelet, kube-proxy, the provisioner (started through nsenter) and the runc shims
  # (which detach into sessions of their own): every process whose command line names the run
  # directory, but not this script or the watchdog that runs it.
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [ "$pid" = $$ ] || [ "$pid" = "$PPID" ] && continue
    cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
    case $cmd in
      *node-cleanup.sh*|*"kill -0"*) ;;
      *"$dir"*) kill -9 "$pid" 2>/dev/null ;;
    esac
  done
}
for _ in 1 2 3; do kill_run; sleep 0.3; done
# Mounts under the run directory (container root filesystems, shm, pod network namespaces, the
# kubelet's volumes and its own bind mount), deepest first.
for _ in 1 2 3; do
  points=$(awk -v d="$dir" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r)
  [ -z "$points" ] && break
  for m in $points; do umount -l "$m" 2>/dev/null; done
done
# cgroups, deepest first; a cgroup whose last task is still exiting needs another try.
for _ in 1 2 3 4 5 6 7 8 9 10; do
  left=0
  for h in $hierarchies; do
    [ -d "$h/$cgroup" ] || continue
    find "$h/$cgroup" -depth -type d -exec rmdir {} \; 2>/dev/null
    [ -d "$h/$cgroup" ] && left=1
  done
  [ $left = 0 ] && break
  kill_run; sleep 0.3
done
# The network namespace holds the bridge, the veth (its host end and routes go with it) and every
# iptables rule the node made.
ip netns pids "$netns" 2>/dev/null | xargs -r kill -9 2>/dev/null
ip netns del "$netns" 2>/dev/null
rm -f /var/lib/cni/results/local-cluster-* 2>/dev/null
rm -rf "$dir/node" 2>/dev/null
rm -f "$dir/node-cleanup.sh"
exit 0
"#;
