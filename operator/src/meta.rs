//! Identity of the children of a TetrisApp: their names, labels, owner reference and the hash
//! annotation that lets a no-op reconcile skip writing.
//!
//! Names and labels are deterministic functions of the TetrisApp's name, so the same spec always
//! yields byte-identical children. Labels never come from the parent's own labels: Argo CD tracks
//! its resources by `app.kubernetes.io/instance` (or `argocd.argoproj.io/*`), and a child carrying
//! them would be pruned or reported as drift by the parent's Argo CD application.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::crd::TetrisApp;
use crate::{Error, Result};

/// Field manager of every server-side apply the operator makes.
pub const FIELD_MANAGER: &str = "tetris-operator";
/// Label naming the TetrisApp a child belongs to (the pod selector uses it).
pub const APP_LABEL: &str = "gameops.dev/tetrisapp";
/// Label marking everything this operator manages (the child watches select on it).
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY: &str = "tetris-operator";
/// Annotation holding the hash of the object the operator last applied.
pub const APPLIED_HASH_ANNOTATION: &str = "gameops.dev/applied-hash";
/// Pod-template annotation holding the hash of the game configuration, so config changes roll pods.
pub const CONFIG_HASH_ANNOTATION: &str = "gameops.dev/config-hash";
/// Name of the game-server container.
pub const CONTAINER_NAME: &str = "game-server";
/// Name of the container port (the Service and Ingress refer to it by name).
pub const PORT_NAME: &str = "http";
/// Name of the container port serving `/metrics` only (the PodMonitor and NetworkPolicy refer to it).
pub const METRICS_PORT_NAME: &str = "metrics";
/// Where the scoreboard volume is mounted.
pub const DATA_DIR: &str = "/data";
/// The SQLite database on the scoreboard volume.
pub const DATABASE_PATH: &str = "/data/scores.db";

/// What the builders need to know about the parent: its name, namespace and controller owner reference.
#[derive(Debug, Clone, PartialEq)]
pub struct Parent {
    /// Name of the TetrisApp (and of its Deployment, Service and Ingress).
    pub name: String,
    /// Namespace of the TetrisApp and all its children.
    pub namespace: String,
    /// Controller owner reference pointing at the TetrisApp.
    pub owner: OwnerReference,
}

impl Parent {
    /// Reads the parent identity; a TetrisApp from the API always has all three, one built in memory may not.
    pub fn of(app: &TetrisApp) -> Result<Parent> {
        let name = app.metadata.name.clone().ok_or(Error::MissingMetadata("name"))?;
        let namespace = app.namespace().ok_or(Error::MissingMetadata("namespace"))?;
        let owner = app.controller_owner_ref(&()).ok_or(Error::MissingMetadata("uid"))?;
        Ok(Parent { name, namespace, owner })
    }

    /// Name of the ConfigMap.
    pub fn configmap_name(&self) -> String {
        format!("{}-config", self.name)
    }

    /// Name of the PersistentVolumeClaim.
    pub fn pvc_name(&self) -> String {
        format!("{}-data", self.name)
    }

    /// Labels that select the game-server pods. Never changes for an app (a Deployment selector is immutable).
    pub fn selector_labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("app.kubernetes.io/name".to_owned(), "tetris".to_owned()),
            (APP_LABEL.to_owned(), self.name.clone()),
        ])
    }

    /// The selector as a label-selector string (for status and the scale subresource).
    pub fn selector_string(&self) -> String {
        self.selector_labels().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
    }

    /// Recommended labels of every child.
    pub fn labels(&self, component: &str) -> BTreeMap<String, String> {
        let mut labels = self.selector_labels();
        labels.insert("app.kubernetes.io/component".to_owned(), component.to_owned());
        labels.insert("app.kubernetes.io/part-of".to_owned(), "tetris".to_owned());
        labels.insert(MANAGED_BY_LABEL.to_owned(), MANAGED_BY.to_owned());
        labels
    }

    /// Metadata of a child named `name`, owned by the TetrisApp when `owned`.
    pub fn child_meta(&self, name: String, component: &str, owned: bool) -> ObjectMeta {
        ObjectMeta {
            name: Some(name),
            namespace: Some(self.namespace.clone()),
            labels: Some(self.labels(component)),
            owner_references: owned.then(|| vec![self.owner.clone()]),
            ..ObjectMeta::default()
        }
    }
}

/// Hex SHA-256 of the JSON form of `value`. serde_json writes struct fields in declaration order and
/// BTreeMaps sorted, so equal values give equal hashes across runs and processes.
pub fn hash_of<T: Serialize>(value: &T) -> Result<String> {
    let bytes = serde_json::to_vec(value).map_err(Error::Serialize)?;
    let digest = Sha256::digest(&bytes);
    Ok(digest.iter().take(16).map(|b| format!("{b:02x}")).collect())
}

/// Stamps `APPLIED_HASH_ANNOTATION` with the hash of the object as built (without that annotation).
pub fn stamp_applied_hash<K: Resource + Serialize>(obj: &mut K) -> Result<()> {
    let meta = obj.meta_mut();
    if let Some(a) = meta.annotations.as_mut() {
        a.remove(APPLIED_HASH_ANNOTATION);
        if a.is_empty() {
            meta.annotations = None;
        }
    }
    let hash = hash_of(obj)?;
    obj.annotations_mut().insert(APPLIED_HASH_ANNOTATION.to_owned(), hash);
    Ok(())
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Small inline fixtures shared by the builder tests.
    use crate::crd::TetrisApp;

    /// A TetrisApp as the API server would return it (defaults applied, uid set), from a YAML spec.
    pub fn app(spec_yaml: &str) -> TetrisApp {
        let mut value: serde_json::Value = serde_yaml::from_str(&format!(
            "apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: arcade\n  namespace: games\n  uid: 1b7c6a1e-0000-4000-8000-000000000001\n  generation: 3\n  labels:\n    app.kubernetes.io/instance: argo-app\n    argocd.argoproj.io/instance: argo-app\nspec:\n{}",
            indent(spec_yaml)
        ))
        .expect("fixture YAML parses");
        if value["status"].is_null() {
            value.as_object_mut().expect("object").remove("status");
        }
        serde_json::from_value(value).expect("fixture is a TetrisApp")
    }

    fn indent(s: &str) -> String {
        s.lines().map(|l| format!("  {l}\n")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_labels_never_copy_argo_tracking_labels_from_the_parent() {
        let app = fixtures::app("version: 1.0.0");
        let parent = Parent::of(&app).expect("fixture has metadata");
        let labels = parent.labels("game-server");
        assert!(
            labels.keys().all(|k| k != "app.kubernetes.io/instance" && !k.starts_with("argocd.argoproj.io"))
        );
        assert_eq!(labels[APP_LABEL], "arcade");
    }

    #[test]
    fn owner_reference_is_a_controller_reference() {
        let parent = Parent::of(&fixtures::app("version: 1.0.0")).expect("fixture has metadata");
        assert_eq!(parent.owner.controller, Some(true));
        assert_eq!(parent.owner.kind, "TetrisApp");
        assert_eq!(parent.owner.name, "arcade");
    }

    #[test]
    fn missing_uid_is_a_typed_error_not_a_panic() {
        let mut app = fixtures::app("version: 1.0.0");
        app.metadata.uid = None;
        assert!(matches!(Parent::of(&app), Err(Error::MissingMetadata("uid"))));
    }

    #[test]
    fn hash_is_stable_and_ignores_the_previous_stamp() {
        let parent = Parent::of(&fixtures::app("version: 1.0.0")).expect("fixture has metadata");
        let mut a = k8s_openapi::api::core::v1::ConfigMap {
            metadata: parent.child_meta("x".into(), "config", true),
            ..Default::default()
        };
        stamp_applied_hash(&mut a).expect("hash");
        let first = a.annotations()[APPLIED_HASH_ANNOTATION].clone();
        stamp_applied_hash(&mut a).expect("hash");
        assert_eq!(a.annotations()[APPLIED_HASH_ANNOTATION], first);
        assert_eq!(first.len(), 32);
    }
}
