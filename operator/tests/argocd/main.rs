//! GitOps with the real Argo CD: its application controller and repo server (built from Go
//! modules by `hack/argocd/build.sh`, cached), redis, and a local Git repository per scenario,
//! against the shared local control plane (kwok nodes). The TetrisApp health check is installed
//! from `deploy/argocd/argocd-cm.yaml` with the README's command, and the Application is
//! `examples/argocd/application.yaml` with only its repository and namespace changed.
//!
//! One control plane and one Argo CD for the binary. Each scenario has its own namespace, Git
//! repository, Application and operator process, and [`gitops_with_argo_cd`] runs them all at
//! once: they spend their time waiting, and libtest would run only as many tests at a time as
//! there are cores.
//!
//! # Layout
//! - [`argocd`]: starts Argo CD and creates what its install would (namespace, argocd-cm, project).
//! - [`support`]: the per-scenario world (namespace, Git repository, Application, operator) and waits.
//! - [`health_oracle`]: the health check's fixtures through Argo CD's own Lua VM (no cluster).
//! - [`sync`] (a), [`upgrade`] (b), [`invalid`] (c), [`states`] (d), [`self_heal`] (e),
//!   [`prune`] (f): the end-to-end scenarios of the README's Argo CD section.

mod argocd;
mod health_oracle;
mod invalid;
mod prune;
mod self_heal;
mod states;
mod support;
mod sync;
mod upgrade;

use std::future::Future;
use std::pin::Pin;

type Run = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Every scenario at once, each on its own task; fails naming each scenario that panicked (its
/// panic message, with the Application's status and the logs, is printed as it happens).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gitops_with_argo_cd() {
    let scenarios: Vec<(&str, Run)> = vec![
        ("a: sync, health and no drift", Box::pin(sync::the_example_syncs_is_healthy_only_once_ready_and_the_operator_never_makes_it_out_of_sync())),
        ("b: version bump", Box::pin(upgrade::a_version_bump_in_git_is_progressing_then_healthy_with_the_new_version())),
        (
            "c: invalid TetrisApp",
            Box::pin(invalid::an_invalid_tetrisapp_fails_the_sync_with_the_field_named_and_changes_nothing()),
        ),
        ("d: stuck rollout", Box::pin(states::a_rollout_past_its_progress_deadline_shows_degraded())),
        ("d: replicas 0", Box::pin(states::replicas_zero_in_git_shows_suspended())),
        ("e: self-heal", Box::pin(self_heal::self_heal_reverts_a_manual_patch_and_the_operator_follows())),
        ("f: prune", Box::pin(prune::removing_the_file_from_git_prunes_the_tetrisapp_and_its_children_but_keeps_the_volume())),
    ];
    let total = scenarios.len();
    let start = std::time::Instant::now();
    let started: Vec<_> = scenarios
        .into_iter()
        .map(|(name, run)| {
            let timed = async move {
                run.await;
                eprintln!("scenario {name}: passed after {:.1}s", start.elapsed().as_secs_f64());
            };
            (name, tokio::spawn(timed))
        })
        .collect();
    let mut failed = Vec::new();
    for (name, handle) in started {
        if handle.await.is_err() {
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "{} of {total} scenarios failed: {failed:?}", failed.len());
}
