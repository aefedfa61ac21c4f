//! The kustomize base and the Helm chart: same objects, both accepted by the API server.

use deploy_tests::install::{installed, wait_until};
use deploy_tests::manifests::{
    differences, find, normalized, parse_documents, render_helm, render_kustomize,
};
use deploy_tests::tools::{helm, repo_root};
use deploy_tests::{OPERATOR_NAME, OPERATOR_NAMESPACE};
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

fn kubectl_without_cluster() -> Command {
    let bin = local_cluster::binaries::bin_dir().unwrap_or_else(|e| panic!("control-plane binaries: {e}"));
    Command::new(bin.join("kubectl"))
}

#[test]
fn chart_crd_copy_is_the_generated_crd() {
    let generated = repo_root().join("crds/tetrisapps.gameops.dev.yaml");
    let copy = repo_root().join("deploy/helm/tetris-operator/files/crds/tetrisapps.gameops.dev.yaml");
    let read =
        |p: &std::path::Path| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    assert!(
        read(&generated) == read(&copy),
        "{} differs from {}; run: cp crds/tetrisapps.gameops.dev.yaml deploy/helm/tetris-operator/files/crds/",
        copy.display(),
        generated.display()
    );
}

#[test]
fn kustomize_and_helm_render_the_same_objects() {
    let kustomize = parse_documents(&render_kustomize(kubectl_without_cluster()));
    // namespace.create renders the Namespace the kustomize base has; everything else is default.
    let helm = parse_documents(&render_helm(&["namespace.create=true"]));
    let diff = differences("kustomize", &kustomize, "helm", &helm);
    assert!(diff.is_empty(), "deploy/ and the Helm chart disagree:\n  {}", diff.join("\n  "));

    // The comparison above covers these; they are named here because they are what matters most.
    for (kind, name) in [
        ("ClusterRole", OPERATOR_NAME),
        ("ClusterRoleBinding", OPERATOR_NAME),
        ("Role", "tetris-operator-leader-election"),
        ("RoleBinding", "tetris-operator-leader-election"),
        ("Deployment", OPERATOR_NAME),
        ("CustomResourceDefinition", "tetrisapps.gameops.dev"),
    ] {
        assert_eq!(
            normalized(find(&kustomize, kind, name)),
            normalized(find(&helm, kind, name)),
            "{kind} {name}"
        );
    }
}

#[test]
fn rbac_names_every_resource_and_verb() {
    let objects = parse_documents(&render_kustomize(kubectl_without_cluster()));
    for object in objects.iter().filter(|o| o["kind"] == "ClusterRole" || o["kind"] == "Role") {
        for rule in object["rules"].as_array().into_iter().flatten() {
            for field in ["apiGroups", "resources", "verbs"] {
                let values = rule[field].as_array().unwrap_or_else(|| panic!("rule without {field}: {rule}"));
                assert!(
                    !values.iter().any(|v| v == "*"),
                    "wildcard {field} in {}: {rule}",
                    object["metadata"]["name"]
                );
            }
            let resources: Vec<&Value> = rule["resources"].as_array().into_iter().flatten().collect();
            assert!(
                !resources.iter().any(|r| *r == "secrets"),
                "{} grants access to secrets: {rule}",
                object["metadata"]["name"]
            );
            // Pods only to watch them and patch their deletion cost: no get (logs), create, delete or exec.
            if resources.iter().any(|r| *r == "pods" || r.as_str().is_some_and(|r| r.starts_with("pods/"))) {
                assert_eq!(
                    resources,
                    [&Value::from("pods")],
                    "pods share no rule, subresources stay out: {rule}"
                );
                assert_eq!(rule["verbs"], serde_json::json!(["list", "watch", "patch"]), "pod verbs: {rule}");
            }
        }
    }
}

#[test]
fn kubectl_apply_k_installs_everything_under_restricted_pod_security() {
    let cluster = local_cluster::shared();
    let _logs = cluster.log_guard();
    let install = installed(cluster);
    for object in [
        "namespace/tetris-operator",
        "customresourcedefinition.apiextensions.k8s.io/tetrisapps.gameops.dev",
        "serviceaccount/tetris-operator",
        "clusterrole.rbac.authorization.k8s.io/tetris-operator",
        "clusterrolebinding.rbac.authorization.k8s.io/tetris-operator",
        "role.rbac.authorization.k8s.io/tetris-operator-leader-election",
        "rolebinding.rbac.authorization.k8s.io/tetris-operator-leader-election",
        "deployment.apps/tetris-operator",
        "service/tetris-operator-metrics",
        "poddisruptionbudget.policy/tetris-operator",
    ] {
        assert!(
            install.stdout.contains(object),
            "kubectl apply -k deploy/ did not apply {object}:\n{}",
            install.stdout
        );
    }
    assert!(
        !install.stderr.contains("would violate PodSecurity"),
        "the operator's pod template breaks the restricted Pod Security Standard:\n{}",
        install.stderr
    );
    // The namespace enforces "restricted": pods that break it are never created, so two Ready
    // replicas (kwok's fake nodes make them Ready) prove the pod template is admitted.
    cluster
        .run_kubectl(&[
            "wait",
            "--for=jsonpath={.status.readyReplicas}=2",
            "--timeout=120s",
            "-n",
            OPERATOR_NAMESPACE,
            "deployment/tetris-operator",
        ])
        .unwrap_or_else(|e| panic!("operator Deployment did not get 2 ready replicas: {e}"));
}

#[test]
fn helm_template_applies_server_side_over_the_kustomize_install_without_conflicts() {
    let cluster = local_cluster::shared();
    let _logs = cluster.log_guard();
    installed(cluster);
    let rendered = render_helm(&[]);
    // A second field manager applying the chart's objects over the kustomize ones: any field the
    // two set to different values is a conflict, so success means they agree on every shared field.
    let mut child = cluster
        .kubectl()
        .args(["apply", "--server-side", "--field-manager=helm-template", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting kubectl apply --server-side: {e}"));
    child
        .stdin
        .take()
        .map(|mut stdin| stdin.write_all(rendered.as_bytes()))
        .transpose()
        .unwrap_or_else(|e| panic!("writing the chart to kubectl: {e}"));
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("kubectl apply --server-side: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "helm template | kubectl apply --server-side failed:\n{}{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!stderr.contains("would violate PodSecurity"), "{stderr}");
    let deployment =
        wait_until("the chart's labels on the operator Deployment", Duration::from_secs(30), || {
            let labels = cluster
                .run_kubectl(&[
                    "get",
                    "-n",
                    OPERATOR_NAMESPACE,
                    "deployment/tetris-operator",
                    "-o",
                    "jsonpath={.metadata.labels}",
                ])
                .ok()?;
            labels.contains("helm.sh/chart").then_some(labels)
        });
    assert!(deployment.contains("tetris-operator"), "{deployment}");
}

#[test]
fn values_schema_rejects_bad_values_before_rendering() {
    let chart = repo_root().join("deploy/helm/tetris-operator");
    for (set, why) in [
        ("replicaCount=two", "a string replica count"),
        ("logFormat=xml", "an unknown log format"),
        ("metrics.port=70000", "a port out of range"),
        ("imageTag=1.0", "a misspelt top-level value"),
        ("image.digest=sha256:nothex", "a malformed digest"),
    ] {
        let out = Command::new(helm())
            .arg("template")
            .arg("t")
            .arg(&chart)
            .args(["--set", set])
            .output()
            .unwrap_or_else(|e| panic!("helm template: {e}"));
        assert!(!out.status.success(), "values.schema.json accepted {why} (--set {set})");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("schema"), "helm rejected {why} but not through the schema:\n{stderr}");
    }
}

#[test]
fn optional_parts_render_objects_the_api_server_accepts() {
    let cluster = local_cluster::shared();
    let _logs = cluster.log_guard();
    installed(cluster);

    // The chart with every optional part that needs no extra CRD switched on.
    let digest = format!("sha256:{}", "0".repeat(64));
    let rendered = render_helm(&[
        "networkPolicy.enabled=true",
        "namespace.create=true",
        "crds.keep=false",
        &format!("image.digest={digest}"),
        "podAnnotations.example\\.com/team=games",
        "priorityClassName=system-cluster-critical",
    ]);
    let objects = parse_documents(&rendered);
    let policy = find(&objects, "NetworkPolicy", OPERATOR_NAME);
    assert_eq!(policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"], "tetris-operator");
    let image =
        &find(&objects, "Deployment", OPERATOR_NAME)["spec"]["template"]["spec"]["containers"][0]["image"];
    assert_eq!(image.as_str(), Some(format!("ghcr.io/tetris-operator/operator@{digest}").as_str()));
    dry_run_apply(cluster, "helm template with every option", &rendered);

    // The kustomize NetworkPolicy component, through the example overlay that uses it.
    let mut kubectl = cluster.kubectl();
    kubectl.arg("kustomize").arg(repo_root().join("examples/kustomize/with-network-policy"));
    let with_policy = deploy_tests::manifests::run(&mut kubectl);
    let objects = parse_documents(&with_policy);
    let policy = find(&objects, "NetworkPolicy", OPERATOR_NAME);
    assert_eq!(policy["metadata"]["namespace"], OPERATOR_NAMESPACE);
    dry_run_apply(cluster, "deploy/ with the network-policy component", &with_policy);
}

/// `kubectl apply --server-side --dry-run=server` of `yaml`, which must succeed without warnings.
/// Conflicts are forced: these objects differ from the installed ones on purpose, and the question
/// here is only whether the API server accepts them.
fn dry_run_apply(cluster: &local_cluster::LocalCluster, what: &str, yaml: &str) {
    let mut child = cluster
        .kubectl()
        .args([
            "apply",
            "--server-side",
            "--force-conflicts",
            "--dry-run=server",
            "--field-manager=dry-run",
            "-f",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting kubectl: {e}"));
    child
        .stdin
        .take()
        .map(|mut stdin| stdin.write_all(yaml.as_bytes()))
        .transpose()
        .unwrap_or_else(|e| panic!("writing {what} to kubectl: {e}"));
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("kubectl apply: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the API server refused {what}:\n{stderr}");
    assert!(!stderr.contains("Warning"), "the API server warned about {what}:\n{stderr}");
}

#[test]
fn helm_install_works_under_another_release_name_and_namespace() {
    let cluster = local_cluster::shared();
    let _logs = cluster.log_guard();
    // The CRD belongs to the kustomize install in this cluster, so this release leaves it alone.
    installed(cluster);
    let namespace = cluster.namespace("helm-release");
    cluster
        .run_kubectl(&["label", "namespace", &namespace, "pod-security.kubernetes.io/enforce=restricted"])
        .unwrap_or_else(|e| panic!("labelling {namespace}: {e}"));
    let release = "games-operator";
    let helm = || {
        let mut command = Command::new(helm());
        command.env("KUBECONFIG", cluster.kubeconfig()).args(["--namespace", &namespace]);
        command
    };
    let mut install = helm();
    install.args(["install", release]).arg(repo_root().join("deploy/helm/tetris-operator")).args([
        "--set",
        "crds.install=false",
        "--wait",
        "--timeout",
        "3m",
    ]);
    deploy_tests::manifests::run(&mut install);

    // Names follow the release; the binding points at this namespace's ServiceAccount.
    let full_name = format!("{release}-tetris-operator");
    let subjects = cluster
        .run_kubectl(&[
            "get",
            "clusterrolebinding",
            &full_name,
            "-o",
            "jsonpath={.subjects[0].namespace}/{.subjects[0].name}",
        ])
        .unwrap_or_else(|e| panic!("the release's ClusterRoleBinding: {e}"));
    assert_eq!(subjects, format!("{namespace}/{full_name}"));
    let ready = cluster
        .run_kubectl(&[
            "get",
            "deployment",
            &full_name,
            "-n",
            &namespace,
            "-o",
            "jsonpath={.status.readyReplicas}",
        ])
        .unwrap_or_else(|e| panic!("the release's Deployment: {e}"));
    assert_eq!(ready, "2", "helm install --wait returned before both replicas were ready");

    let mut uninstall = helm();
    uninstall.args(["uninstall", release, "--wait", "--timeout", "2m"]);
    deploy_tests::manifests::run(&mut uninstall);
    let left = cluster.run_kubectl(&["get", "clusterrole", &full_name]);
    assert!(left.is_err(), "helm uninstall left the ClusterRole {full_name}");
    // The shared CRD is untouched.
    cluster
        .run_kubectl(&["get", "crd", "tetrisapps.gameops.dev"])
        .unwrap_or_else(|e| panic!("the CRD is gone after uninstalling a release that did not own it: {e}"));
}
