//! Rendering the two install paths and comparing what they produce.

use crate::tools::{helm, repo_root};
use crate::{OPERATOR_NAMESPACE, RELEASE_NAME};
use serde_json::Value;
use std::process::Command;

/// Labels and annotations only Helm adds, which carry no behaviour: ignored when comparing.
const HELM_ONLY_LABELS: &[&str] =
    &["helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/version"];
const HELM_ONLY_ANNOTATIONS: &[&str] = &["helm.sh/resource-policy"];

/// Runs `command`, returning stdout; panics with the command's stderr if it fails.
pub fn run(command: &mut Command) -> String {
    let shown = format!("{command:?}");
    let out = command.output().unwrap_or_else(|e| panic!("{shown}: {e}"));
    assert!(
        out.status.success(),
        "{shown} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap_or_else(|e| panic!("{shown} printed non-UTF-8: {e}"))
}

/// `kubectl kustomize deploy/` with the given kubectl.
pub fn render_kustomize(mut kubectl: Command) -> String {
    run(kubectl.arg("kustomize").arg(repo_root().join("deploy")))
}

/// `helm template` of the chart as release [`RELEASE_NAME`] in [`OPERATOR_NAMESPACE`], with `--set` pairs.
pub fn render_helm(sets: &[&str]) -> String {
    let mut command = Command::new(helm());
    command
        .args(["template", RELEASE_NAME])
        .arg(repo_root().join("deploy/helm/tetris-operator"))
        .args(["--namespace", OPERATOR_NAMESPACE]);
    for set in sets {
        command.args(["--set", set]);
    }
    run(&mut command)
}

/// Every non-empty document of a multi-document YAML stream.
pub fn parse_documents(yaml: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(|doc| {
            let value: serde_yaml::Value =
                serde::Deserialize::deserialize(doc).unwrap_or_else(|e| panic!("invalid YAML document: {e}"));
            serde_json::to_value(value)
                .unwrap_or_else(|e| panic!("YAML document is not JSON-compatible: {e}"))
        })
        .filter(|v| !v.is_null())
        .collect()
}

/// `Kind/namespace/name` of an object (namespace empty for cluster-scoped ones).
pub fn identity(object: &Value) -> String {
    let text = |pointer: &str| object.pointer(pointer).and_then(Value::as_str).unwrap_or("").to_owned();
    format!("{}/{}/{}", text("/kind"), text("/metadata/namespace"), text("/metadata/name"))
}

/// The object with this kind and name.
pub fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects.iter().find(|o| o["kind"] == kind && o["metadata"]["name"] == name).unwrap_or_else(|| {
        panic!("no {kind} {name} among: {:?}", objects.iter().map(identity).collect::<Vec<_>>())
    })
}

/// The object without what only Helm adds, with every number as a float (YAML writers differ on
/// `1` versus `1.0`), ready to be compared with the kustomize rendering.
pub fn normalized(object: &Value) -> Value {
    let mut object = numbers_as_floats(object);
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        for (field, keys) in [("labels", HELM_ONLY_LABELS), ("annotations", HELM_ONLY_ANNOTATIONS)] {
            if let Some(map) = metadata.get_mut(field).and_then(Value::as_object_mut) {
                for key in keys {
                    map.remove(*key);
                }
                if map.is_empty() {
                    metadata.remove(field);
                }
            }
        }
    }
    object
}

fn numbers_as_floats(value: &Value) -> Value {
    match value {
        Value::Number(n) => {
            n.as_f64().and_then(serde_json::Number::from_f64).map_or(Value::Null, Value::Number)
        }
        Value::Array(items) => Value::Array(items.iter().map(numbers_as_floats).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), numbers_as_floats(v))).collect())
        }
        other => other.clone(),
    }
}

/// A readable description of how two renderings differ: objects only in one, and for objects in
/// both, the top-level fields whose values differ. Empty when they are equal.
pub fn differences(left_name: &str, left: &[Value], right_name: &str, right: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    for l in left {
        match right.iter().find(|r| identity(r) == identity(l)) {
            None => out.push(format!("{} only in {left_name}", identity(l))),
            Some(r) => {
                let (l, r) = (normalized(l), normalized(r));
                if l != r {
                    let fields = differing_paths(&l, &r, String::new());
                    out.push(format!("{} differs at: {}", identity(&l), fields.join(", ")));
                }
            }
        }
    }
    for r in right {
        if !left.iter().any(|l| identity(l) == identity(r)) {
            out.push(format!("{} only in {right_name}", identity(r)));
        }
    }
    out
}

fn differing_paths(l: &Value, r: &Value, path: String) -> Vec<String> {
    match (l, r) {
        (Value::Object(lm), Value::Object(rm)) => {
            let mut keys: Vec<&String> = lm.keys().chain(rm.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .filter(|k| lm.get(*k) != rm.get(*k))
                .flat_map(|k| {
                    let sub = format!("{path}.{k}");
                    match (lm.get(k), rm.get(k)) {
                        (Some(a), Some(b)) => differing_paths(a, b, sub),
                        (a, b) => vec![format!("{sub} ({} vs {})", brief(a), brief(b))],
                    }
                })
                .collect()
        }
        _ => vec![format!("{path} ({} vs {})", brief(Some(l)), brief(Some(r)))],
    }
}

fn brief(value: Option<&Value>) -> String {
    match value {
        None => "absent".into(),
        Some(v) => {
            let text = v.to_string();
            if text.chars().count() > 80 {
                format!("{}...", text.chars().take(80).collect::<String>())
            } else {
                text
            }
        }
    }
}
