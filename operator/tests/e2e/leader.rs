//! Done-when 9: two real `tetris-operator run` processes; only the leader reconciles, and killing
//! it hands over to the other within the lease duration.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;

use crate::common::*;

const LEASE_SECONDS: u64 = 6;
const RETRY_SECONDS: u64 = 1;
const TIMING: LeaseTiming = LeaseTiming { duration: LEASE_SECONDS, renew: 4, retry: RETRY_SECONDS };

async fn holder(leases: &Api<Lease>) -> Option<String> {
    leases.get_opt("tetris-operator").await.ok()??.spec?.holder_identity
}

fn micros(t: &k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime) -> i64 {
    t.0.as_microsecond()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_leader_reconciles_and_a_standby_takes_over_when_it_is_killed() {
    let cluster = cluster();
    let _logs = cluster.log_guard();
    let ns = cluster.namespace("leader");
    let client = cluster.client().await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), &ns);
    let dir = tempfile::tempdir().expect("temp dir");
    let kc_a = cluster.kubeconfig_as("tetris-operator-a").expect("kubeconfig a");
    let kc_b = cluster.kubeconfig_as("tetris-operator-b").expect("kubeconfig b");

    let mut a = OperatorProcess::spawn("op-a", &ns, &kc_a, dir.path(), TIMING);
    wait_for("op-a holds the lease", || async {
        (holder(&leases).await.as_deref() == Some("op-a")).then_some(())
    })
    .await;
    let b = OperatorProcess::spawn("op-b", &ns, &kc_b, dir.path(), TIMING);
    wait_for("op-b serves /readyz while standing by", || async {
        http_get(b.port, "/readyz").await.map(|_| ())
    })
    .await;

    let apps: Api<tetris_operator::crd::TetrisApp> = Api::namespaced(client.clone(), &ns);
    let create = |name: &str| serde_json::json!({"apiVersion": "gameops.dev/v1alpha1", "kind": "TetrisApp", "metadata": {"name": name}, "spec": {"version": "1.0.0"}});
    let pp = kube::api::PatchParams::apply("test");
    apps.patch("first", &pp, &kube::api::Patch::Apply(create("first"))).await.expect("create first");
    wait_for("first Ready", || async { is_ready(&apps.get("first").await.ok()?).then_some(()) }).await;

    let writes = |user: &str| local_cluster::audit::writes_by(&cluster.audit_events(), user, Some(&ns));
    assert!(!writes("tetris-operator-a").is_empty(), "the leader wrote the children");
    assert!(
        writes("tetris-operator-b").iter().all(|w| w.contains("leases")),
        "the standby wrote nothing but lease reads: {:?}",
        writes("tetris-operator-b")
    );
    assert!(a.metric("tetris_operator_reconciles_total").await.unwrap_or(0.0) > 0.0, "{}", a.log());
    assert_eq!(b.metric("tetris_operator_reconciles_total").await, Some(0.0), "{}", b.log());
    assert_eq!(b.metric("tetris_operator_leader").await, Some(0.0));

    let _ = a.child.kill();
    let _ = a.child.wait();
    let last_renew = leases
        .get("tetris-operator")
        .await
        .expect("lease")
        .spec
        .and_then(|s| s.renew_time)
        .expect("renewTime");
    let lease = wait_for("op-b takes the lease", || async {
        let lease = leases.get("tetris-operator").await.ok()?;
        (lease.spec.as_ref()?.holder_identity.as_deref() == Some("op-b")).then_some(lease)
    })
    .await;
    let spec = lease.spec.expect("lease spec");
    let acquired = spec.acquire_time.as_ref().expect("acquireTime");
    let gap = Duration::from_micros(u64::try_from(micros(acquired) - micros(&last_renew)).unwrap_or(0));
    // op-b may take over once it has seen the record unchanged for the lease duration; it checks
    // every retry period, and the lease it saw last may be up to one retry period old.
    let bound = Duration::from_secs(LEASE_SECONDS + 2 * RETRY_SECONDS + 1);
    assert!(gap <= bound, "handover took {gap:?} after the last renewal, more than {bound:?}");
    assert_eq!(spec.lease_transitions, Some(1));

    apps.patch("second", &pp, &kube::api::Patch::Apply(create("second"))).await.expect("create second");
    wait_for("second Ready under the new leader", || async {
        is_ready(&apps.get("second").await.ok()?).then_some(())
    })
    .await;
    assert!(
        writes("tetris-operator-b").iter().any(|w| w.contains("deployments second")),
        "{:?}",
        writes("tetris-operator-b")
    );
    assert_eq!(b.metric("tetris_operator_leader").await, Some(1.0));
}
