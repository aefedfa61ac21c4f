//! Builds the PersistentVolumeClaim of the scoreboard (pure, no client).
//!
//! Under `deletionPolicy: Retain` (the default) the claim carries no owner reference, so the
//! garbage collector leaves it (and the scores) in place when the TetrisApp is deleted; a TetrisApp
//! created later with the same name adopts it again. Under `Delete` it is owned like every other
//! child. Switching the policy adds or removes the owner reference on the next apply, because the
//! operator's field manager owns that list entry.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimSpec, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::crd::{DeletionPolicy, TetrisAppSpec};
use crate::meta::Parent;

/// The claim `<name>-data`.
pub fn build(parent: &Parent, spec: &TetrisAppSpec) -> PersistentVolumeClaim {
    let storage = &spec.storage;
    let owned = storage.deletion_policy == DeletionPolicy::Delete;
    PersistentVolumeClaim {
        metadata: parent.child_meta(parent.pvc_name(), "scoreboard", owned),
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec![storage.access_mode.as_str().to_owned()]),
            storage_class_name: storage.storage_class_name.clone(),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([("storage".to_owned(), Quantity(storage.size.clone()))])),
                limits: None,
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::fixtures::app;

    fn built(spec: &str) -> PersistentVolumeClaim {
        let app = app(spec);
        build(&Parent::of(&app).expect("fixture has metadata"), &app.spec)
    }

    #[test]
    fn retain_leaves_the_claim_unowned() {
        let pvc = built("version: 1.0.0");
        assert_eq!(pvc.metadata.name.as_deref(), Some("arcade-data"));
        assert!(pvc.metadata.owner_references.is_none());
    }

    #[test]
    fn delete_policy_owns_the_claim() {
        let pvc = built("version: 1.0.0\nstorage:\n  deletionPolicy: Delete");
        assert_eq!(pvc.metadata.owner_references.map(|o| o.len()), Some(1));
    }

    #[test]
    fn size_class_and_mode_come_from_spec_storage() {
        let pvc = built(
            "version: 1.0.0\nstorage:\n  size: 5Gi\n  storageClassName: fast\n  accessMode: ReadWriteOncePod\nupgrade:\n  strategy: Recreate",
        );
        let spec = pvc.spec.expect("spec");
        assert_eq!(spec.access_modes, Some(vec!["ReadWriteOncePod".to_owned()]));
        assert_eq!(spec.storage_class_name.as_deref(), Some("fast"));
        let requests = spec.resources.and_then(|r| r.requests).expect("requests");
        assert_eq!(requests["storage"], Quantity("5Gi".into()));
    }
}
