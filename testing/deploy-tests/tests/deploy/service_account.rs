//! The operator's RBAC: sufficient (the real binary, authenticated as the ServiceAccount with a
//! TokenRequest token, reconciles a TetrisApp to Ready) and least (`kubectl auth can-i`).

use deploy_tests::install::{installed, service_account_kubeconfig, wait_until};
use deploy_tests::manifests::{find, parse_documents, render_kustomize};
use deploy_tests::tools::{operator_binary, repo_root};
use deploy_tests::{OPERATOR_NAME, OPERATOR_NAMESPACE};
use serde_json::Value;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const SERVICE_ACCOUNT_USER: &str = "system:serviceaccount:tetris-operator:tetris-operator";

/// The operator process; killed when dropped so a failing test leaves nothing running.
struct Operator {
    child: Child,
    log: PathBuf,
    /// Where its /healthz, /readyz and /metrics listen.
    probe_port: u16,
}

impl Operator {
    /// Starts the binary with exactly the arguments and environment of the operator container in
    /// `deploy/`, so the test also proves the Deployment's command line is one the binary accepts.
    /// Three things differ, because this is a local process and not a pod: the downward-API
    /// variables get fixed values, the probe address is a free local port, and the credentials
    /// come from `kubeconfig` instead of the pod's mounted token.
    fn start(deployment: &Value, kubeconfig: &Path, log: PathBuf) -> Operator {
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        let args: Vec<&str> = container["args"]
            .as_array()
            .unwrap_or_else(|| panic!("operator container has no args: {container}"))
            .iter()
            .map(|a| a.as_str().unwrap_or_else(|| panic!("non-string arg {a}")))
            .collect();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap_or_else(|e| panic!("picking a free port: {e}"))
            .port();
        let mut command = Command::new(operator_binary());
        command.args(&args).env("KUBECONFIG", kubeconfig);
        for var in container["env"].as_array().into_iter().flatten() {
            let name = var["name"].as_str().unwrap_or_else(|| panic!("env entry without a name: {var}"));
            let value = match (var["value"].as_str(), var["valueFrom"]["fieldRef"]["fieldPath"].as_str()) {
                (Some(value), _) => value.to_owned(),
                (None, Some("metadata.name")) => "deploy-tests".to_owned(),
                (None, Some("metadata.namespace")) => OPERATOR_NAMESPACE.to_owned(),
                _ => panic!("env {name} comes from a source this test cannot provide: {var}"),
            };
            command.env(name, value);
        }
        command.env("TETRIS_OPERATOR_PROBE_ADDRESS", format!("127.0.0.1:{port}"));
        let file = File::create(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        let err = file.try_clone().unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        let child = command
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {} {args:?}: {e}", operator_binary().display()));
        Operator { child, log, probe_port: port }
    }

    /// `GET path` on the probe port: the status code and the body.
    fn get(&self, path: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.probe_port))
            .unwrap_or_else(|e| panic!("connecting to the probe port {}: {e}", self.probe_port));
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap_or_else(|e| panic!("read timeout: {e}"));
        write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap_or_else(|e| panic!("reading GET {path}: {e}"));
        let code = response.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
        (code, body)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("operator log ({}), last lines:", self.log.display());
            for line in tail.into_iter().rev() {
                eprintln!("  {line}");
            }
        }
    }
}

#[test]
fn operator_running_as_its_service_account_reconciles_the_minimal_example_to_ready() {
    let cluster = local_cluster::shared();
    let _logs = cluster.log_guard();
    let kubeconfig = service_account_kubeconfig(cluster);
    let namespace = cluster.namespace("sa-ready");
    let rendered = parse_documents(&render_kustomize(cluster.kubectl()));
    let deployment = find(&rendered, "Deployment", OPERATOR_NAME);
    let mut operator =
        Operator::start(deployment, kubeconfig, cluster.dir().join("operator-as-service-account.log"));

    let example = repo_root().join("examples/minimal.yaml");
    cluster
        .run_kubectl(&["apply", "-n", &namespace, "-f", &example.display().to_string()])
        .unwrap_or_else(|e| panic!("applying examples/minimal.yaml: {e}"));
    let waited = cluster.run_kubectl(&[
        "wait",
        "--for=condition=Ready",
        "--timeout=180s",
        "-n",
        &namespace,
        "tetrisapp/tetris",
    ]);
    if let Err(e) = waited {
        let status = cluster.run_kubectl(&["get", "-n", &namespace, "tetrisapp/tetris", "-o", "yaml"]);
        let exited = operator.child.try_wait().ok().flatten();
        panic!("examples/minimal.yaml did not become Ready: {e}\noperator exit: {exited:?}\n{status:?}");
    }

    // What a user sees: the printer columns show the reason of the Ready condition.
    let table = cluster
        .run_kubectl(&["get", "tetrisapps", "-n", &namespace])
        .unwrap_or_else(|e| panic!("kubectl get tetrisapps: {e}"));
    println!("kubectl get tetrisapps -n {namespace}\n{table}");
    let row = table
        .lines()
        .find(|l| l.starts_with("tetris "))
        .unwrap_or_else(|| panic!("no row for tetris:\n{table}"));
    assert!(row.contains("Available"), "STATUS column is not Available:\n{table}");

    // The probes of the Deployment point at endpoints the binary serves, and it reports itself leader.
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    for probe in ["livenessProbe", "readinessProbe"] {
        let path =
            container[probe]["httpGet"]["path"].as_str().unwrap_or_else(|| panic!("{probe} has no path"));
        let (code, body) = operator.get(path);
        assert_eq!(code, 200, "{probe} {path} answered {code}: {body}");
    }
    let (code, metrics) = operator.get("/metrics");
    assert_eq!(code, 200, "/metrics answered {code}");
    assert!(
        metrics.contains("tetris_operator_leader 1"),
        "the operator does not report itself leader:\n{metrics}"
    );

    // Leader election went through the Role in the operator's namespace.
    let holder = wait_until("the operator to hold its Lease", Duration::from_secs(30), || {
        let holder = cluster
            .run_kubectl(&[
                "get",
                "lease",
                OPERATOR_NAME,
                "-n",
                OPERATOR_NAMESPACE,
                "-o",
                "jsonpath={.spec.holderIdentity}",
            ])
            .ok()?;
        (!holder.is_empty()).then_some(holder)
    });
    assert_eq!(holder, "deploy-tests", "the Lease is held by someone else");

    // The writes were made as the ServiceAccount (not some other credential the process found),
    // and none was refused.
    let events = cluster.audit_events();
    let as_service_account = events
        .iter()
        .filter(|e| e["user"]["username"] == SERVICE_ACCOUNT_USER)
        .filter(|e| e["objectRef"]["namespace"] == namespace.as_str())
        .count();
    assert!(as_service_account > 0, "no write in {namespace} was made as {SERVICE_ACCOUNT_USER}");
    let refused: Vec<String> = events
        .iter()
        .filter(|e| e["user"]["username"] == SERVICE_ACCOUNT_USER && e["responseStatus"]["code"] == 403)
        .map(|e| format!("{} {}", e["verb"], e["requestURI"]))
        .collect();
    assert!(refused.is_empty(), "the API server refused the operator: {refused:?}");
    let log = operator.log();
    assert!(!log.to_lowercase().contains("forbidden"), "the operator logged a forbidden request:\n{log}");
}

/// The same for kinds of other projects' CRDs: (verb, group, resource, allowed), in `games`.
const CAN_I_UNINSTALLED: &[(&str, &str, &str, bool)] = &[
    ("watch", "gateway.networking.k8s.io", "httproutes", true),
    ("patch", "gateway.networking.k8s.io", "httproutes", true),
    ("delete", "gateway.networking.k8s.io", "httproutes", true),
    ("create", "gateway.networking.k8s.io", "gateways", false),
    ("update", "gateway.networking.k8s.io", "httproutes", false),
    ("watch", "monitoring.coreos.com", "podmonitors", true),
    ("create", "monitoring.coreos.com", "podmonitors", true),
    ("create", "monitoring.coreos.com", "servicemonitors", false),
    ("create", "monitoring.coreos.com", "prometheusrules", false),
];

/// `kubectl auth can-i` as the ServiceAccount: (verb, resource, namespace or "-A", subresource, allowed).
const CAN_I: &[(&str, &str, &str, &str, bool)] = &[
    // What it needs.
    ("watch", "tetrisapps.gameops.dev", "-A", "", true),
    ("patch", "tetrisapps.gameops.dev", "games", "status", true),
    ("create", "deployments.apps", "games", "", true),
    ("patch", "services", "games", "", true),
    ("create", "persistentvolumeclaims", "games", "", true),
    ("create", "ingresses.networking.k8s.io", "games", "", true),
    ("delete", "ingresses.networking.k8s.io", "games", "", true),
    ("create", "networkpolicies.networking.k8s.io", "games", "", true),
    ("delete", "networkpolicies.networking.k8s.io", "games", "", true),
    ("watch", "horizontalpodautoscalers.autoscaling", "-A", "", true),
    ("patch", "horizontalpodautoscalers.autoscaling", "games", "", true),
    ("delete", "horizontalpodautoscalers.autoscaling", "games", "", true),
    ("watch", "poddisruptionbudgets.policy", "-A", "", true),
    ("create", "poddisruptionbudgets.policy", "games", "", true),
    ("delete", "poddisruptionbudgets.policy", "games", "", true),
    ("create", "events.events.k8s.io", "games", "", true),
    ("update", "leases.coordination.k8s.io", OPERATOR_NAMESPACE, "", true),
    // Game pods: watched, and patched for their pod-deletion-cost annotation.
    ("watch", "pods", "-A", "", true),
    ("patch", "pods", "games", "", true),
    // Secrets: not even in its own namespace.
    ("get", "secrets", OPERATOR_NAMESPACE, "", false),
    ("list", "secrets", "-A", "", false),
    ("watch", "secrets", "games", "", false),
    // Leases only in its own namespace (kube-system holds the control plane's).
    ("update", "leases.coordination.k8s.io", "kube-system", "", false),
    ("create", "leases.coordination.k8s.io", "games", "", false),
    // Its own API: it never creates, deletes or changes a TetrisApp's spec.
    ("create", "tetrisapps.gameops.dev", "games", "", false),
    ("patch", "tetrisapps.gameops.dev", "games", "", false),
    ("update", "tetrisapps.gameops.dev", "games", "", false),
    ("delete", "tetrisapps.gameops.dev", "games", "", false),
    // Children are applied server-side and removed by the garbage collector.
    ("update", "deployments.apps", "games", "", false),
    ("delete", "deployments.apps", "games", "", false),
    ("delete", "configmaps", "games", "", false),
    ("delete", "persistentvolumeclaims", "games", "", false),
    // Kinds it does not manage.
    ("create", "pods", "games", "", false),
    ("delete", "pods", "games", "", false),
    ("create", "pods", "games", "exec", false),
    ("get", "pods", "games", "log", false),
    ("update", "pods", "games", "", false),
    ("patch", "pods", "games", "status", false),
    ("create", "statefulsets.apps", "games", "", false),
    ("create", "jobs.batch", "games", "", false),
    ("update", "networkpolicies.networking.k8s.io", "games", "", false),
    ("update", "horizontalpodautoscalers.autoscaling", "games", "", false),
    ("update", "poddisruptionbudgets.policy", "games", "", false),
    // The HPA writes the scale itself; the operator never does (it never writes a spec).
    ("update", "tetrisapps.gameops.dev", "games", "scale", false),
    ("patch", "tetrisapps.gameops.dev", "games", "scale", false),
    ("create", "serviceaccounts", "games", "", false),
    ("create", "serviceaccounts", "games", "token", false),
    ("create", "rolebindings.rbac.authorization.k8s.io", "games", "", false),
    // Cluster-scoped power.
    ("create", "clusterrolebindings.rbac.authorization.k8s.io", "-A", "", false),
    ("escalate", "clusterroles.rbac.authorization.k8s.io", "-A", "", false),
    ("update", "customresourcedefinitions.apiextensions.k8s.io", "-A", "", false),
    ("delete", "namespaces", "-A", "", false),
    ("get", "nodes", "-A", "", false),
    ("impersonate", "users", "-A", "", false),
];

#[test]
fn service_account_can_do_what_it_needs_and_nothing_it_does_not() {
    let cluster = local_cluster::shared();
    let _logs = cluster.log_guard();
    installed(cluster);
    let kubeconfig = service_account_kubeconfig(cluster);
    let mut wrong = Vec::new();
    for &(verb, resource, namespace, subresource, want) in CAN_I {
        let mut command = cluster.kubectl();
        command.arg("--kubeconfig").arg(kubeconfig).args(["auth", "can-i", verb, resource]);
        if namespace == "-A" {
            command.arg("--all-namespaces");
        } else {
            command.args(["-n", namespace]);
        }
        if !subresource.is_empty() {
            command.arg(format!("--subresource={subresource}"));
        }
        let out = command.output().unwrap_or_else(|e| panic!("kubectl auth can-i: {e}"));
        let answer = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if answer != "yes" && answer != "no" {
            panic!(
                "kubectl auth can-i {verb} {resource} gave no answer: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        if (answer == "yes") != want {
            wrong.push(format!(
                "{verb} {resource} {subresource} in {namespace}: {answer}, want {}",
                if want { "yes" } else { "no" }
            ));
        }
    }
    // Kinds of CRDs this cluster does not have: `kubectl auth can-i` cannot resolve their names,
    // so ask the authorizer directly with a SelfSubjectAccessReview by group and resource.
    for &(verb, group, resource, want) in CAN_I_UNINSTALLED {
        let review = format!(
            "{{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":\"SelfSubjectAccessReview\",\"spec\":{{\"resourceAttributes\":{{\"verb\":\"{verb}\",\"group\":\"{group}\",\"resource\":\"{resource}\",\"namespace\":\"games\"}}}}}}"
        );
        let mut command = cluster.kubectl();
        command
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["create", "--validate=false", "-f", "-", "-o", "jsonpath={.status.allowed}"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = command.spawn().unwrap_or_else(|e| panic!("kubectl create review: {e}"));
        if let Some(mut stdin) = child.stdin.take() {
            std::io::Write::write_all(&mut stdin, review.as_bytes()).expect("review to stdin");
        }
        let out = child.wait_with_output().expect("kubectl create review");
        let allowed = String::from_utf8_lossy(&out.stdout).trim() == "true";
        if allowed != want {
            wrong.push(format!(
                "{verb} {resource}.{group} in games: allowed={allowed}, want {want} ({})",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    assert!(wrong.is_empty(), "the operator's RBAC is wrong:\n  {}", wrong.join("\n  "));

    // And the full list has no wildcard resource or verb.
    let list = cluster
        .run_kubectl(&[
            "--kubeconfig",
            &kubeconfig.display().to_string(),
            "auth",
            "can-i",
            "--list",
            "-n",
            "games",
        ])
        .unwrap_or_else(|e| panic!("kubectl auth can-i --list: {e}"));
    for line in list.lines().skip(1) {
        let columns: Vec<&str> = line.split_whitespace().collect();
        let is_resource_rule = columns.first().is_some_and(|c| !c.starts_with('['));
        if is_resource_rule {
            assert!(
                !line.contains("[*]") && columns[0] != "*" && columns[0] != "*.*",
                "wildcard grant: {line}"
            );
        }
    }
}
