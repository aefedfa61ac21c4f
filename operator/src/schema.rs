//! Schemas of the Kubernetes types a TetrisApp embeds (resources, tolerations, affinity, spread,
//! annotation and label maps), tightened so the API server refuses at `kubectl apply` what it would
//! otherwise refuse only later, on the child the operator builds from them.
//!
//! k8s-openapi's schemas say only what the fields are (a quantity is "int or string", a toleration
//! operator any string). Each function here takes that schema and adds bounds (sizes, enums,
//! patterns) and CEL rules whose messages name the TetrisApp field. The API server prefixes a CEL
//! message with the path of the object the rule sits on, so messages say the rest of the path.

use k8s_openapi::api::core::v1::{Affinity, ResourceRequirements, Toleration, TopologySpreadConstraint};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Value, json};

/// A qualified name (`prefix/name` or `name`), as label and annotation keys must be.
pub const QUALIFIED_NAME: &str = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";
/// A label value (empty, or up to 63 characters of letters, digits, `-`, `_`, `.`).
pub const LABEL_VALUE: &str = r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$";
/// Longest qualified name: a 253-character prefix, `/`, a 63-character name.
const QUALIFIED_NAME_MAX: usize = 317;

fn rule(rule: &str, message: &str, reason: &str) -> Value {
    json!({ "rule": rule, "message": message, "reason": reason })
}

fn with(schema: Schema, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Schema {
    let mut value = schema.to_value();
    if let Some(obj) = value.as_object_mut() {
        edit(obj);
    }
    Schema::try_from(value).unwrap_or_else(|_| Schema::default())
}

fn set(obj: &mut serde_json::Map<String, Value>, path: &[&str], key: &str, value: Value) {
    let mut cur = obj;
    for p in path {
        match cur.get_mut(*p).and_then(Value::as_object_mut) {
            Some(next) => cur = next,
            None => return,
        }
    }
    cur.insert(key.to_owned(), value);
}

/// Keys of a map checked as qualified names (CEL, because structural schemas have no `propertyNames`).
fn key_rules(field: &str) -> Value {
    json!([rule(
        &format!(
            "self.all(k, size(k) <= {QUALIFIED_NAME_MAX} && k.matches('{}'))",
            QUALIFIED_NAME.replace('\\', "\\\\")
        ),
        &format!(
            "{field}: every key must be a qualified name (an optional DNS prefix and '/', then up to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)"
        ),
        "FieldValueInvalid",
    )])
}

/// Annotations: at most 64, keys qualified names, values up to 4 KiB each.
pub fn annotations(_: &mut SchemaGenerator) -> Schema {
    Schema::try_from(json!({
        "type": "object",
        "maxProperties": 64,
        "additionalProperties": { "type": "string", "maxLength": 4096 },
        "x-kubernetes-validations": key_rules("annotations"),
    }))
    .unwrap_or_default()
}

/// Labels (node selectors, PodMonitor labels): at most 32, keys qualified names, values label values.
pub fn labels(_: &mut SchemaGenerator) -> Schema {
    Schema::try_from(json!({
        "type": "object",
        "maxProperties": 32,
        "additionalProperties": { "type": "string", "maxLength": 63, "pattern": LABEL_VALUE },
        "x-kubernetes-validations": key_rules("labels"),
    }))
    .unwrap_or_default()
}

/// Resource requests and limits: quantities only, known resource names, requests within limits.
pub fn resources(g: &mut SchemaGenerator) -> Schema {
    let names =
        "k in ['cpu', 'memory', 'ephemeral-storage'] || k.startsWith('hugepages-') || k.contains('/')";
    with(ResourceRequirements::json_schema(g), |obj| {
        obj.insert("nullable".into(), json!(true));
        for list in ["limits", "requests"] {
            set(obj, &["properties", list], "maxProperties", json!(16));
            set(obj, &["properties", list, "additionalProperties"], "maxLength", json!(64));
        }
        set(obj, &["properties", "claims"], "maxItems", json!(16));
        let mut rules = Vec::new();
        for list in ["limits", "requests"] {
            rules.push(rule(
                &format!("!has(self.{list}) || self.{list}.all(k, size(k) <= {QUALIFIED_NAME_MAX} && ({names}))"),
                &format!("resources.{list}: a resource name is cpu, memory, ephemeral-storage, hugepages-<size> or a qualified name such as example.com/gpu"),
                "FieldValueInvalid",
            ));
            rules.push(rule(
                &format!("!has(self.{list}) || self.{list}.all(k, isQuantity(string(self.{list}[k])))"),
                &format!(
                    "resources.{list}: every value must be a Kubernetes quantity such as 250m, 1.5 or 128Mi"
                ),
                "FieldValueInvalid",
            ));
        }
        rules.push(rule(
            "!has(self.limits) || !has(self.requests) || self.requests.all(k, !(k in self.limits) || !isQuantity(string(self.requests[k])) || !isQuantity(string(self.limits[k])) || quantity(string(self.requests[k])).compareTo(quantity(string(self.limits[k]))) <= 0)",
            "resources.requests: a request must not exceed the limit of the same resource",
            "FieldValueInvalid",
        ));
        obj.insert("x-kubernetes-validations".into(), Value::Array(rules));
    })
}

/// Tolerations: at most 32; operators and effects the API server knows; a value only with Equal.
pub fn tolerations(g: &mut SchemaGenerator) -> Schema {
    let item = with(Toleration::json_schema(g), |obj| {
        set(obj, &["properties", "operator"], "enum", json!(["Exists", "Equal"]));
        set(
            obj,
            &["properties", "effect"],
            "enum",
            json!(["", "NoSchedule", "PreferNoSchedule", "NoExecute"]),
        );
        set(obj, &["properties", "key"], "maxLength", json!(QUALIFIED_NAME_MAX));
        set(obj, &["properties", "key"], "pattern", json!(format!("^$|{QUALIFIED_NAME}")));
        set(obj, &["properties", "value"], "maxLength", json!(63));
        set(obj, &["properties", "value"], "pattern", json!(LABEL_VALUE));
        obj.insert(
            "x-kubernetes-validations".into(),
            json!([
                rule(
                    "!has(self.operator) || self.operator != 'Exists' || !has(self.value) || self.value == ''",
                    "value must be empty when operator is Exists",
                    "FieldValueInvalid",
                ),
                rule(
                    "(has(self.key) && self.key != '') || (has(self.operator) && self.operator == 'Exists')",
                    "operator must be Exists when key is empty (a toleration of every taint)",
                    "FieldValueInvalid",
                ),
                rule(
                    "!has(self.tolerationSeconds) || (has(self.effect) && self.effect == 'NoExecute')",
                    "tolerationSeconds requires effect NoExecute",
                    "FieldValueInvalid",
                ),
            ]),
        );
    });
    Schema::try_from(json!({ "type": "array", "maxItems": 32, "items": item.to_value() })).unwrap_or_default()
}

/// Affinity, as Kubernetes defines it (the operator checks it against its own same-node rule).
pub fn affinity(g: &mut SchemaGenerator) -> Schema {
    with(Affinity::json_schema(g), |obj| {
        obj.insert("nullable".into(), json!(true));
    })
}

/// Topology spread constraints: at most 8, with the skew, policy and domain bounds the API server enforces.
pub fn spread(g: &mut SchemaGenerator) -> Schema {
    let item = with(TopologySpreadConstraint::json_schema(g), |obj| {
        set(obj, &["properties", "maxSkew"], "minimum", json!(1));
        set(obj, &["properties", "minDomains"], "minimum", json!(1));
        set(obj, &["properties", "whenUnsatisfiable"], "enum", json!(["DoNotSchedule", "ScheduleAnyway"]));
        set(obj, &["properties", "nodeAffinityPolicy"], "enum", json!(["Honor", "Ignore"]));
        set(obj, &["properties", "nodeTaintsPolicy"], "enum", json!(["Honor", "Ignore"]));
        set(obj, &["properties", "topologyKey"], "minLength", json!(1));
        set(obj, &["properties", "topologyKey"], "maxLength", json!(QUALIFIED_NAME_MAX));
        set(obj, &["properties", "topologyKey"], "pattern", json!(QUALIFIED_NAME));
        obj.insert(
            "x-kubernetes-validations".into(),
            json!([rule(
                "!has(self.minDomains) || self.whenUnsatisfiable == 'DoNotSchedule'",
                "minDomains requires whenUnsatisfiable DoNotSchedule",
                "FieldValueInvalid",
            )]),
        );
    });
    Schema::try_from(json!({ "type": "array", "maxItems": 8, "items": item.to_value() })).unwrap_or_default()
}
