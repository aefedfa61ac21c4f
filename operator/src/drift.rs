//! Decides whether a child needs a write (pure, no client): the apply is skipped when every field
//! the operator would set already has that value on the live object.
//!
//! # Why not just apply every time
//! A server-side apply that changes nothing is still a request the audit log records as a patch, and
//! at hundreds of TetrisApps a resync would cost thousands of writes. So the desired object is
//! compared with the live one from the watch cache: each field present in the desired object must
//! hold the same value on the live object (the server may add defaulted fields; those are not ours).
//! A field the operator set earlier but no longer sets would not show up in that comparison, so the
//! desired object carries the hash of itself in an annotation, and a changed hash always differs.

use serde_json::Value;

/// True when `live` already holds every field of `desired` with the same value.
pub fn up_to_date<K: serde::Serialize>(desired: &K, live: &K) -> bool {
    match (serde_json::to_value(desired), serde_json::to_value(live)) {
        (Ok(d), Ok(l)) => contains(&d, &l, false),
        _ => false,
    }
}

/// `in_resources` is set below a `resources` key, where strings are quantities the API server
/// rewrites into canonical form (`0.5` becomes `500m`), so they compare by value.
fn contains(desired: &Value, live: &Value, in_resources: bool) -> bool {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => d.iter().all(|(key, dv)| {
            let below = in_resources || key == "resources";
            match l.get(key) {
                Some(lv) => contains(dv, lv, below),
                None => is_empty(dv),
            }
        }),
        (Value::Array(d), Value::Array(l)) => {
            d.len() == l.len() && d.iter().zip(l).all(|(dv, lv)| contains(dv, lv, in_resources))
        }
        (Value::String(a), Value::String(b)) if in_resources => a == b || quantity_eq(a, b),
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b || (is_empty(a) && is_empty(b)),
    }
}

/// The API server drops empty lists, maps and nulls, so desired empties match absent fields.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn quantity_eq(a: &str, b: &str) -> bool {
    match (quantity_value(a), quantity_value(b)) {
        (Some(x), Some(y)) => (x - y).abs() <= f64::EPSILON * x.abs().max(y.abs()) * 4.0,
        _ => false,
    }
}

/// The value of a Kubernetes quantity (`1Gi`, `500m`, `1e3`), or None if it is not one.
fn quantity_value(q: &str) -> Option<f64> {
    const SUFFIXES: [(&str, f64); 15] = [
        ("Ki", 1024.0),
        ("Mi", 1_048_576.0),
        ("Gi", 1_073_741_824.0),
        ("Ti", 1_099_511_627_776.0),
        ("Pi", 1_125_899_906_842_624.0),
        ("Ei", 1_152_921_504_606_846_976.0),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    let (number, factor) =
        SUFFIXES.iter().find_map(|(s, f)| q.strip_suffix(s).map(|n| (n, *f))).unwrap_or((q, 1.0));
    if number.is_empty()
        || !number.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == '-' || c == '+')
    {
        return None;
    }
    number.parse::<f64>().ok().map(|n| n * factor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_defaulted_fields_do_not_count_as_drift() {
        let desired = json!({"spec": {"ports": [{"port": 80, "name": "http"}]}});
        let live = json!({"spec": {"ports": [{"port": 80, "name": "http", "protocol": "TCP"}], "clusterIP": "10.0.0.1"}});
        assert!(up_to_date(&desired, &live));
    }

    #[test]
    fn a_manual_change_of_an_owned_field_is_drift() {
        let desired = json!({"spec": {"ports": [{"port": 80}]}});
        let live = json!({"spec": {"ports": [{"port": 81}]}});
        assert!(!up_to_date(&desired, &live));
    }

    #[test]
    fn a_changed_hash_annotation_is_drift_even_when_fields_only_went_away() {
        let desired = json!({"metadata": {"annotations": {"gameops.dev/applied-hash": "b"}}});
        let live = json!({"metadata": {"annotations": {"gameops.dev/applied-hash": "a", "team": "x"}}});
        assert!(!up_to_date(&desired, &live));
    }

    #[test]
    fn list_length_differences_are_drift() {
        assert!(!up_to_date(&json!({"a": [1]}), &json!({"a": [1, 2]})));
        assert!(up_to_date(&json!({"a": []}), &json!({})));
    }

    #[test]
    fn quantities_compare_by_value_only_under_resources() {
        let desired = json!({"resources": {"requests": {"cpu": "0.5", "memory": "1024Mi"}}});
        let live = json!({"resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}});
        assert!(up_to_date(&desired, &live));
        assert!(!up_to_date(&json!({"title": "10"}), &json!({"title": "10.0"})));
        assert!(!up_to_date(&json!({"resources": {"cpu": "1"}}), &json!({"resources": {"cpu": "2"}})));
    }

    #[test]
    fn quantity_parser() {
        assert_eq!(quantity_value("1Gi"), Some(1_073_741_824.0));
        assert_eq!(quantity_value("250m"), Some(0.25));
        assert_eq!(quantity_value("1e3"), Some(1000.0));
        assert_eq!(quantity_value("Gi"), None);
        assert_eq!(quantity_value("abc"), None);
    }
}
