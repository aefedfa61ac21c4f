//! 3f: the leading operator pod is deleted in the middle of a rollout; the standby replica takes
//! the Lease and finishes it.

use crate::support::*;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams};
use serde_json::json;
use std::time::Instant;

#[tokio::test]
async fn the_standby_operator_finishes_a_rollout_when_the_leader_pod_is_deleted() {
    let env = Env::new("failover").await;
    let name = "tetris";
    env.apply_app(name, OLD, "").await;
    env.wait_ready(name, OLD).await;

    let leases: Api<Lease> = Api::namespaced(env.client.clone(), "tetris-operator");
    let operators: Api<Pod> = Api::namespaced(env.client.clone(), "tetris-operator");
    let holder = eventually("a Lease holder", STEP, || async {
        leases.get_opt("tetris-operator").await.ok()??.spec?.holder_identity
    })
    .await;

    env.patch_spec(name, json!({"version": NEW})).await;
    // The rollout has begun (the Deployment has the new image) when the leader goes.
    let deployments = env.api::<k8s_openapi::api::apps::v1::Deployment>();
    eventually("the Deployment asks for the new image", STEP, || async {
        let d = deployments.get_opt(name).await.ok()??;
        let image = d.spec?.template.spec?.containers.first()?.image.clone()?;
        image.ends_with(&format!(":{NEW}")).then_some(())
    })
    .await;
    let deleted = Instant::now();
    operators.delete(&holder, &DeleteParams::default()).await.expect("delete the leading operator pod");

    let new_holder = eventually("another operator pod takes the Lease", STEP, || async {
        let h = leases.get_opt("tetris-operator").await.ok()??.spec?.holder_identity?;
        (h != holder).then_some(h)
    })
    .await;
    println!(
        "Lease moved from {holder} to {new_holder} {:.1}s after the leader pod was deleted",
        deleted.elapsed().as_secs_f64()
    );
    let app = env.wait_ready(name, NEW).await;
    assert_eq!(
        app.status.and_then(|s| s.version).as_deref(),
        Some(NEW),
        "the new leader finished the rollout"
    );
}
