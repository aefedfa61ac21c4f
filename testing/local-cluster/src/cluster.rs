//! [`LocalCluster`]: starting the control plane, bootstrapping it, and handing out clients.

use crate::binaries;
use crate::images::Image;
use crate::node::{self, RealNode};
use crate::pki::{ClientCert, Pki};
use crate::process::{Components, wait_for};
use crate::{Error, Result};
use std::collections::HashMap;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How to start a cluster.
#[derive(Debug, Clone)]
pub struct Options {
    /// Fake nodes created at start (`kwok-node-0`, `kwok-node-1`, ...); more with [`LocalCluster::add_node`].
    pub nodes: usize,
    /// Where the run directory goes (default: a fresh folder under the system temp dir).
    pub dir: Option<PathBuf>,
    /// Also start a real node ([`node::NODE_NAME`]: containerd, runc, CNI, kubelet, kube-proxy)
    /// that runs real containers, with a default StorageClass whose claims bind to it. Needs root;
    /// one real node per machine at a time (a second run waits for the first).
    pub real_node: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { nodes: 1, dir: None, real_node: false }
    }
}

/// A running control plane on 127.0.0.1. Dropping it stops every component; a leaked or static one
/// is stopped by the watchdog when the process exits.
#[derive(Debug)]
pub struct LocalCluster {
    dir: PathBuf,
    bin: PathBuf,
    pki: Pki,
    api_url: String,
    kubeconfig: PathBuf,
    components: Components,
    users: Mutex<HashMap<String, PathBuf>>,
    started_in: Duration,
    /// Declared last: dropped (releasing the machine lock) after [`Drop`] has cleaned up.
    real_node: Option<RealNode>,
}

const APISERVER_TIMEOUT: Duration = Duration::from_secs(120);
const NODE_TIMEOUT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(200);

/// The audit policy: writes only, at Metadata level, without the node heartbeat noise.
const AUDIT_POLICY: &str = r#"apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: None
  verbs: ["get", "list", "watch"]
- level: None
  namespaces: ["kube-node-lease"]
- level: None
  resources:
  - group: ""
    resources: ["nodes", "nodes/status"]
- level: Metadata
"#;

impl LocalCluster {
    /// Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok, waits until the
    /// API server is ready, installs a default StorageClass and `options.nodes` Ready fake nodes.
    /// A start that fails (say, a port taken between picking and binding) is retried twice.
    pub fn start(options: Options) -> Result<LocalCluster> {
        let mut last = None;
        for _attempt in 0..3 {
            match Self::start_once(&options) {
                Ok(cluster) => return Ok(cluster),
                Err(e) => {
                    eprintln!("local-cluster: start failed, retrying: {e}");
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| Error::Command { command: "start".into(), detail: "no attempt".into() }))
    }

    fn start_once(options: &Options) -> Result<LocalCluster> {
        let started = Instant::now();
        let bin = binaries::bin_dir()?;
        let dir = match &options.dir {
            Some(d) => d.clone(),
            None => fresh_dir()?,
        };
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            action: "creating",
            path: dir.clone(),
            source,
        })?;
        let real_node = if options.real_node { Some(RealNode::prepare(&dir)?) } else { None };
        let pki = Pki::create(&dir.join("pki"))?;
        let [etcd_port, peer_port, api_port, kwok_port] = free_ports()?;
        // With a real node, pods reach the API server through the `kubernetes` Service: it listens on
        // the host's end of the node's veth, not on loopback.
        let bind = if real_node.is_some() { node::HOST_IP } else { "127.0.0.1" };
        let api_url = format!("https://{bind}:{api_port}");

        let mut cluster = LocalCluster {
            kubeconfig: dir.join("admin.kubeconfig"),
            dir,
            bin,
            pki,
            api_url,
            components: Components::default(),
            users: Mutex::new(HashMap::new()),
            started_in: Duration::ZERO,
            real_node,
        };
        let admin = cluster.pki.client("admin", &["system:masters"])?;
        cluster.write_kubeconfig(&cluster.kubeconfig, "admin", &admin)?;

        cluster.start_etcd(etcd_port, peer_port)?;
        cluster.start_apiserver(etcd_port, api_port, bind)?;
        cluster.wait_apiserver()?;
        cluster.start_controllers(kwok_port)?;
        cluster.kubectl_apply(&storage_class_yaml(cluster.real_node.is_none()))?;
        if cluster.real_node.is_some() {
            cluster.start_real_node()?;
        }
        for i in 0..options.nodes {
            cluster.add_node(&format!("kwok-node-{i}"))?;
        }
        cluster.started_in = started.elapsed();
        Ok(cluster)
    }

    fn start_etcd(&self, port: u16, peer: u16) -> Result<()> {
        let client = format!("http://127.0.0.1:{port}");
        let peer = format!("http://127.0.0.1:{peer}");
        let args = [
            "--name=local".into(),
            format!("--data-dir={}", self.dir.join("etcd").display()),
            format!("--listen-client-urls={client}"),
            format!("--advertise-client-urls={client}"),
            format!("--listen-peer-urls={peer}"),
            format!("--initial-advertise-peer-urls={peer}"),
            format!("--initial-cluster=local={peer}"),
            // Test data is thrown away: skipping fsync makes every write several times faster.
            "--unsafe-no-fsync=true".into(),
            "--quota-backend-bytes=2147483648".into(),
            "--log-level=warn".into(),
        ];
        self.components.spawn(&self.dir, "etcd", &self.bin.join("etcd"), &args)
    }

    fn start_apiserver(&self, etcd_port: u16, port: u16, bind: &str) -> Result<()> {
        let policy = self.dir.join("audit-policy.yaml");
        write(&policy, AUDIT_POLICY)?;
        let (cert, key) = self.pki.serving();
        let (sa_key, sa_pub) = self.pki.service_account();
        let mut args = vec![
            format!("--etcd-servers=http://127.0.0.1:{etcd_port}"),
            format!("--bind-address={bind}"),
            format!("--advertise-address={bind}"),
            format!("--secure-port={port}"),
            format!("--cert-dir={}", self.dir.join("pki").display()),
            format!("--tls-cert-file={}", cert.display()),
            format!("--tls-private-key-file={}", key.display()),
            format!("--client-ca-file={}", self.pki.ca_cert().display()),
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
            format!("--service-account-key-file={}", sa_pub.display()),
            format!("--service-account-signing-key-file={}", sa_key.display()),
            "--service-cluster-ip-range=10.96.0.0/16".into(),
            "--authorization-mode=RBAC".into(),
            "--allow-privileged=true".into(),
            "--profiling=false".into(),
            format!("--audit-policy-file={}", policy.display()),
            format!("--audit-log-path={}", self.audit_log().display()),
            "--audit-log-format=json".into(),
            "--audit-log-maxsize=500".into(),
            "--audit-log-mode=blocking".into(),
        ];
        if self.real_node.is_some() {
            // logs, exec and port-forward go to the kubelet by its InternalIP (the node's name does not
            // resolve), with a client certificate the kubelet trusts (same CA).
            let client = self.pki.client("kube-apiserver-kubelet-client", &["system:masters"])?;
            args.extend([
                "--kubelet-preferred-address-types=InternalIP".into(),
                format!("--kubelet-client-certificate={}", client.cert.display()),
                format!("--kubelet-client-key={}", client.key.display()),
            ]);
        }
        self.components.spawn(&self.dir, "kube-apiserver", &self.bin.join("kube-apiserver"), &args)
    }

    fn wait_apiserver(&self) -> Result<()> {
        wait_for("kube-apiserver /readyz", &self.dir, APISERVER_TIMEOUT, POLL, || {
            self.components.check_alive()?;
            let out = self.kubectl().args(["get", "--raw", "/readyz"]).stderr(Stdio::null()).output();
            Ok(out.ok().filter(|o| o.status.success() && o.stdout.starts_with(b"ok")).map(|_| ()))
        })
    }

    fn start_controllers(&self, kwok_port: u16) -> Result<()> {
        let (sa_key, _) = self.pki.service_account();
        // With one credential for every controller (no per-controller service accounts), the
        // controller-manager needs more than its bootstrap role grants.
        let kcm = self.user_kubeconfig("system:kube-controller-manager", &["system:masters"])?;
        let args = vec![
            format!("--kubeconfig={}", kcm.display()),
            "--leader-elect=false".into(),
            "--secure-port=0".into(),
            format!("--service-account-private-key-file={}", sa_key.display()),
            format!("--root-ca-file={}", self.pki.ca_cert().display()),
            format!("--cluster-signing-cert-file={}", self.pki.ca_cert().display()),
            format!("--cluster-signing-key-file={}", self.pki.ca_key().display()),
            "--use-service-account-credentials=false".into(),
            // No cloud, no pod network: the controllers that would manage them only log errors.
            "--controllers=*,-nodeipam,-service-lb-controller,-cloud-node-lifecycle-controller".into(),
            // The default client rate limit (20 QPS) would make the controller-manager, not the
            // system under test, the bottleneck of any test or benchmark with many objects.
            "--kube-api-qps=500".into(),
            "--kube-api-burst=1000".into(),
            "--concurrent-deployment-syncs=10".into(),
            "--concurrent-replicaset-syncs=10".into(),
            // The HPA controller looks at each HPA every 15 s by default (and at a new one only
            // after that); tests of an HPA's effect would wait that long for nothing.
            "--horizontal-pod-autoscaler-sync-period=2s".into(),
        ];
        self.components.spawn(
            &self.dir,
            "kube-controller-manager",
            &self.bin.join("kube-controller-manager"),
            &args,
        )?;

        let sched = self.user_kubeconfig("system:kube-scheduler", &[])?;
        let args = vec![
            format!("--kubeconfig={}", sched.display()),
            "--leader-elect=false".into(),
            "--secure-port=0".into(),
            "--kube-api-qps=500".into(),
            "--kube-api-burst=1000".into(),
        ];
        self.components.spawn(&self.dir, "kube-scheduler", &self.bin.join("kube-scheduler"), &args)?;

        let kwok = self.user_kubeconfig("kwok", &["system:masters"])?;
        let mut args = vec![
            format!("--kubeconfig={}", kwok.display()),
            "--manage-all-nodes=false".into(),
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake".into(),
            format!("--server-address=127.0.0.1:{kwok_port}"),
            "--node-ip=127.0.0.1".into(),
            "--cidr=10.244.0.0/16".into(),
            // Without a lease duration kwok renews no node Lease; the node lifecycle controller then
            // marks every node NotReady after its grace period and every pod not-ready with it.
            "--node-lease-duration-seconds=40".into(),
        ];
        let stages = self.bin.join("kwok-stages");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&stages)
            .map_err(|source| Error::Io { action: "listing", path: stages.clone(), source })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| !p.ends_with("volume-fast-storage-class.yaml"))
            .collect();
        files.sort();
        args.extend(files.iter().map(|f| format!("--config={}", f.display())));
        self.components.spawn(&self.dir, "kwok", &self.bin.join("kwok"), &args)
    }

    /// Starts containerd, the kubelet, kube-proxy (all in the node's network namespace) and the
    /// volume provisioner, imports the pause image, and waits until the node is Ready.
    fn start_real_node(&self) -> Result<()> {
        let node = self.real_node.as_ref().expect("start_real_node is called only with a real node");
        let pause = crate::images::pause()?;
        let config = node.containerd_config(&pause.reference)?;
        let (program, args) =
            node.in_netns(&self.bin.join("containerd"), &[format!("--config={}", config.display())]);
        // containerd finds its shim on PATH.
        self.components.spawn_with_path(&self.dir, "containerd", &program, &args, &self.bin)?;
        node.wait_containerd(&self.bin.join("ctr"), &self.dir)?;
        node.import_image(&self.bin.join("ctr"), &pause.archive)?;

        let kubelet_kc =
            self.user_kubeconfig(&format!("system:node:{}", node::NODE_NAME), &["system:masters"])?;
        let kubelet_config = node.kubelet_config(&self.pki.ca_cert())?;
        let (program, args) = node.in_netns(
            &self.bin.join("kubelet"),
            &[
                format!("--config={}", kubelet_config.display()),
                format!("--kubeconfig={}", kubelet_kc.display()),
                format!("--root-dir={}", node.dir.join("kubelet").display()),
                format!("--cert-dir={}", node.dir.join("kubelet-pki").display()),
                format!("--hostname-override={}", node::NODE_NAME),
                format!("--node-ip={}", node::NODE_IP),
                "--node-labels=local-cluster.dev/node=real".into(),
                "--v=1".into(),
            ],
        );
        self.components.spawn(&self.dir, "kubelet", &program, &args)?;

        let proxy_kc = self.user_kubeconfig("system:kube-proxy", &["system:masters"])?;
        let proxy_config = node.kube_proxy_config(&proxy_kc)?;
        let (program, args) =
            node.in_netns(&self.bin.join("kube-proxy"), &[format!("--config={}", proxy_config.display())]);
        self.components.spawn(&self.dir, "kube-proxy", &program, &args)?;

        let prov_kc = self.user_kubeconfig("local-path-provisioner", &["system:masters"])?;
        let volumes = node.dir.join("volumes");
        std::fs::create_dir_all(&volumes).map_err(|source| Error::Io {
            action: "creating",
            path: volumes.clone(),
            source,
        })?;
        self.components.spawn(
            &self.dir,
            "local-path-provisioner",
            &self.bin.join("local-path-provisioner"),
            &[format!("-kubeconfig={}", prov_kc.display()), format!("-dir={}", volumes.display())],
        )?;
        self.wait_node_ready(node::NODE_NAME, Duration::from_secs(120))
    }

    /// Imports an image into the real node's containerd, so pods that name it (with
    /// `imagePullPolicy: IfNotPresent` or `Never`) start without a registry.
    pub fn load_image(&self, image: &Image) -> Result<()> {
        match &self.real_node {
            Some(node) => node.import_image(&self.bin.join("ctr"), &image.archive),
            None => Err(Error::Command {
                command: format!("load_image {}", image.reference),
                detail: "this cluster has no real node (Options::real_node)".into(),
            }),
        }
    }

    /// The real node's network namespace and cgroup names (for the cleanup test).
    pub fn real_node_names(&self) -> Option<(String, String)> {
        self.real_node.as_ref().map(|n| (n.netns.clone(), n.cgroup.clone()))
    }

    /// Creates a fake node managed by kwok and waits until it is Ready.
    pub fn add_node(&self, name: &str) -> Result<()> {
        self.create_node(name, None)
    }

    /// Creates a fake node labelled `key=value` and tainted `key=value:NoSchedule`, so that only pods
    /// that select and tolerate it land there (a test's private node in a shared cluster).
    pub fn add_dedicated_node(&self, name: &str, key: &str, value: &str) -> Result<()> {
        self.create_node(name, Some((key, value)))
    }

    fn create_node(&self, name: &str, dedicated: Option<(&str, &str)>) -> Result<()> {
        self.kubectl_apply(&node_yaml(name, dedicated))?;
        self.wait_node_ready(name, NODE_TIMEOUT)
    }

    fn wait_node_ready(&self, name: &str, timeout: Duration) -> Result<()> {
        wait_for(&format!("node {name} Ready"), &self.dir, timeout, POLL, || {
            self.components.check_alive()?;
            let out = self
                .kubectl()
                .args([
                    "get",
                    "node",
                    name,
                    "-o",
                    "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
                ])
                .stderr(Stdio::null())
                .output();
            Ok(out.ok().filter(|o| o.stdout == b"True").map(|_| ()))
        })
    }

    /// Creates a namespace named `<prefix>-<n>` (unique in this cluster) and waits for its default
    /// ServiceAccount, without which no pod can be created in it.
    pub fn namespace(&self, prefix: &str) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name =
            format!("{prefix}-{}-{}", std::process::id() % 10_000, NEXT.fetch_add(1, Ordering::Relaxed));
        let created = self.run_kubectl(&["create", "namespace", &name]);
        if let Err(e) = created {
            panic!("creating namespace {name}: {e}");
        }
        let waited =
            wait_for(&format!("default ServiceAccount in {name}"), &self.dir, NODE_TIMEOUT, POLL, || {
                Ok(self.run_kubectl(&["get", "serviceaccount", "default", "-n", &name]).ok().map(|_| ()))
            });
        if let Err(e) = waited {
            panic!("{e}");
        }
        name
    }

    /// A `kubectl` command (the one built with the control plane) with this cluster's admin KUBECONFIG.
    pub fn kubectl(&self) -> Command {
        let mut c = Command::new(self.bin.join("kubectl"));
        c.env("KUBECONFIG", &self.kubeconfig).stdin(Stdio::null());
        c
    }

    /// Runs kubectl with `args`, returning stdout, or an error with stderr.
    pub fn run_kubectl(&self, args: &[&str]) -> Result<String> {
        let out = self.kubectl().args(args).output().map_err(|e| Error::Command {
            command: format!("kubectl {}", args.join(" ")),
            detail: e.to_string(),
        })?;
        if !out.status.success() {
            return Err(Error::Command {
                command: format!("kubectl {}", args.join(" ")),
                detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `kubectl apply --server-side -f -` with `yaml` on stdin.
    pub fn kubectl_apply(&self, yaml: &str) -> Result<String> {
        let command = "kubectl apply --server-side -f -".to_string();
        let mut child = self
            .kubectl()
            .args(["apply", "--server-side", "--field-manager=local-cluster", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::Command { command: command.clone(), detail: e.to_string() })?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(yaml.as_bytes())
                .map_err(|e| Error::Command { command: command.clone(), detail: e.to_string() })?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| Error::Command { command: command.clone(), detail: e.to_string() })?;
        if !out.status.success() {
            return Err(Error::Command {
                command,
                detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// A client for the admin user (group `system:masters`), bound to the caller's tokio runtime.
    pub async fn client(&self) -> kube::Client {
        self.client_from(&self.kubeconfig).await
    }

    /// A client whose certificate names `user` (in `system:masters`), so the audit log attributes
    /// its writes to that user.
    pub async fn client_as(&self, user: &str) -> kube::Client {
        match self.kubeconfig_as(user) {
            Ok(path) => self.client_from(&path).await,
            Err(e) => panic!("kubeconfig for {user}: {e}"),
        }
    }

    /// A kubeconfig file for `user` in `system:masters` (created on first use).
    pub fn kubeconfig_as(&self, user: &str) -> Result<PathBuf> {
        self.user_kubeconfig(user, &["system:masters"])
    }

    /// A kubeconfig file for `user` in `groups` (created on first use; the groups of the first call win).
    pub fn user_kubeconfig(&self, user: &str, groups: &[&str]) -> Result<PathBuf> {
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(path) = users.get(user) {
            return Ok(path.clone());
        }
        let cert = self.pki.client(user, groups)?;
        let file = user.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_");
        let path = self.dir.join(format!("{file}.kubeconfig"));
        self.write_kubeconfig(&path, user, &cert)?;
        users.insert(user.to_owned(), path.clone());
        Ok(path)
    }

    async fn client_from(&self, path: &Path) -> kube::Client {
        let built = async {
            let kubeconfig = kube::config::Kubeconfig::read_from(path).map_err(|e| e.to_string())?;
            let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
                .await
                .map_err(|e| e.to_string())?;
            kube::Client::try_from(config).map_err(|e| e.to_string())
        };
        match built.await {
            Ok(client) => client,
            Err(message) => panic!("{}", Error::Client { path: path.to_owned(), message }),
        }
    }

    fn write_kubeconfig(&self, path: &Path, user: &str, cert: &ClientCert) -> Result<()> {
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: local\n  cluster:\n    server: {server}\n    certificate-authority: {ca}\n\
             users:\n- name: {user:?}\n  user:\n    client-certificate: {cert}\n    client-key: {key}\n\
             contexts:\n- name: local\n  context:\n    cluster: local\n    user: {user:?}\n    namespace: default\n\
             current-context: local\n",
            server = self.api_url,
            ca = self.pki.ca_cert().display(),
            cert = cert.cert.display(),
            key = cert.key.display(),
        );
        write(path, &text)
    }

    /// Path of the admin kubeconfig (for kubectl and child processes).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// `https://127.0.0.1:<port>` of the API server.
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// The run directory: PKI, kubeconfigs, etcd data, audit log and one log per component.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory of the control-plane binaries (kubectl among them).
    pub fn bin_dir(&self) -> &Path {
        &self.bin
    }

    /// How long [`LocalCluster::start`] took, from nothing to Ready nodes.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// Freezes kube-apiserver (SIGSTOP): connections stay open and nothing answers, as when a
    /// control plane stalls.
    pub fn freeze_apiserver(&self) -> Result<()> {
        self.components.signal("kube-apiserver", "STOP")
    }

    /// Lets a frozen kube-apiserver run again (SIGCONT).
    pub fn thaw_apiserver(&self) -> Result<()> {
        self.components.signal("kube-apiserver", "CONT")
    }

    /// Kills kube-apiserver and starts it again on the same port, with the same data in etcd;
    /// returns once it is ready.
    pub fn restart_apiserver(&self) -> Result<()> {
        self.components.restart("kube-apiserver")?;
        self.wait_apiserver()
    }

    /// Process ids of the components, by name.
    pub fn pids(&self) -> Vec<(String, u32)> {
        self.components.pids()
    }

    /// The audit log file (JSON lines, writes only).
    pub fn audit_log(&self) -> PathBuf {
        self.dir.join("audit.log")
    }

    /// Every audit event logged so far (writes only: create, update, patch, delete, deletecollection).
    pub fn audit_events(&self) -> Vec<serde_json::Value> {
        crate::audit::read(&self.audit_log())
    }

    /// The end of every component's log.
    pub fn log_tails(&self, lines: usize) -> String {
        self.components.log_tails(lines)
    }

    /// A guard that prints every component's log tail if the test holding it panics.
    pub fn log_guard(&self) -> LogGuard<'_> {
        LogGuard { cluster: self }
    }

    /// Stops every component now (and, with a real node, removes its containers, mounts, cgroups
    /// and network namespace).
    pub fn stop(&self) {
        self.components.stop();
        if self.real_node.is_some() {
            RealNode::cleanup(&self.dir);
        }
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Prints the cluster's logs when dropped during a panic; see [`LocalCluster::log_guard`].
#[derive(Debug)]
pub struct LogGuard<'a> {
    cluster: &'a LocalCluster,
}

impl Drop for LogGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "local-cluster: test failed; run directory {} (set KEEP_LOCAL_CLUSTER_DIR=1 to keep it)\n{}",
                self.cluster.dir.display(),
                self.cluster.log_tails(30)
            );
        }
    }
}

fn fresh_dir() -> Result<PathBuf> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let base = std::env::temp_dir().join("local-cluster");
    let dir = base.join(format!("{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
        action: "creating",
        path: dir.clone(),
        source,
    })?;
    Ok(dir)
}

/// Picks free ports by binding port 0; all listeners are held until every port is known, so one run
/// never gets the same port twice.
fn free_ports<const N: usize>() -> Result<[u16; N]> {
    let mut listeners = Vec::with_capacity(N);
    let mut ports = [0u16; N];
    for port in ports.iter_mut() {
        let l = TcpListener::bind("127.0.0.1:0").map_err(|source| Error::Io {
            action: "binding",
            path: "127.0.0.1:0".into(),
            source,
        })?;
        *port = l
            .local_addr()
            .map_err(|source| Error::Io { action: "reading", path: "local addr".into(), source })?
            .port();
        listeners.push(l);
    }
    Ok(ports)
}

fn write(path: &Path, text: &str) -> Result<()> {
    crate::write_file(path, text)
}

/// kwok's fake volumes, the default without a real node; with one, `local-path` (directories on the
/// real node, bound once a pod is scheduled, as local storage binds on real clusters) is.
fn storage_class_yaml(kwok_default: bool) -> String {
    format!(
        "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: kwok-volume\n  annotations:\n    \
         storageclass.kubernetes.io/is-default-class: \"{kwok_default}\"\nprovisioner: kwok.x-k8s.io/volume\n\
         reclaimPolicy: Delete\nvolumeBindingMode: Immediate\nallowVolumeExpansion: true\n{local}",
        local = if kwok_default {
            String::new()
        } else {
            format!(
                "---\napiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: {}\n  annotations:\n    \
                 storageclass.kubernetes.io/is-default-class: \"true\"\nprovisioner: local-cluster.dev/local-path\n\
                 reclaimPolicy: Delete\nvolumeBindingMode: WaitForFirstConsumer\n",
                node::STORAGE_CLASS
            )
        }
    )
}

fn node_yaml(name: &str, dedicated: Option<(&str, &str)>) -> String {
    let (label, taint) = match dedicated {
        Some((key, value)) => (
            format!("\n    {key}: {value}"),
            format!("spec:\n  taints:\n  - {{key: {key}, value: {value}, effect: NoSchedule}}\n"),
        ),
        None => (String::new(), String::new()),
    };
    format!(
        r#"apiVersion: v1
kind: Node
metadata:
  name: {name}
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: {name}
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok{label}
{taint}status:
  capacity: {{cpu: "32", memory: 256Gi, pods: "250", ephemeral-storage: 1Ti}}
  allocatable: {{cpu: "32", memory: 256Gi, pods: "250", ephemeral-storage: 1Ti}}
  nodeInfo:
    architecture: amd64
    operatingSystem: linux
    kubeletVersion: fake
    kubeProxyVersion: fake
"#
    )
}
