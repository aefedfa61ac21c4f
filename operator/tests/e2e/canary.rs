//! `strategy: Canary` with replica weights (issue 10): each step gives the documented split of
//! pods between the stable Deployment and `<name>-canary`, pauses hold it, and promote, abort and
//! retry work both from kubectl (the `kubectl tetris` plugin, an annotation) and from Git (a
//! `kubectl apply` of the spec with `upgrade.promote` / `upgrade.abort`). The operator never writes
//! the spec.

use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use tetris_operator::crd::TetrisApp;
use tetris_operator::rollout::api::RolloutPhase;

use crate::common::*;

const RESYNC: Duration = Duration::from_secs(300);
const STABLE_IMAGE: &str = "ghcr.io/tetris-operator/game-server:1.0.0";
const CANARY_IMAGE: &str = "ghcr.io/tetris-operator/game-server:1.1.0";

fn app_yaml(name: &str, version: &str, upgrade_extra: &str) -> String {
    format!(
        "apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: {name}\nspec:\n  version: {version}\n  replicas: 4\n  upgrade:\n    strategy: Canary\n    canary:\n      steps:\n      - setWeight: 25\n      - pause: {{}}\n      - setWeight: 50\n      - pause: {{seconds: 2}}\n{upgrade_extra}"
    )
}

/// `kubectl tetris ARGS` through kubectl's own plugin lookup (the plugin directory and the
/// control plane's kubectl on PATH).
fn kubectl_tetris(env: &TestEnv, args: &[&str]) -> String {
    let mut cmd = env.cluster.kubectl();
    let kubectl_dir = PathBuf::from(cmd.get_program()).parent().expect("kubectl has a directory").to_owned();
    let plugins = repo_path("deploy/kubectl-plugin").canonicalize().expect("plugin directory");
    let path = format!(
        "{}:{}:{}",
        plugins.display(),
        kubectl_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out =
        cmd.env("PATH", path).arg("tetris").args(args).args(["-n", &env.ns]).output().expect("kubectl runs");
    assert!(out.status.success(), "kubectl tetris {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The stable and canary Deployments' (spec replicas, image), the canary's when it exists.
async fn split(env: &TestEnv, name: &str) -> ((i32, String), Option<(i32, String)>) {
    let deps = env.api::<Deployment>();
    let of = |d: &Deployment| (d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0), image_of(d));
    let stable = env.deployment(name).await;
    let canary = deps.get_opt(&format!("{name}-canary")).await.ok().flatten();
    (of(&stable), canary.as_ref().map(of))
}

/// Waits for `status.rollout` to show `phase` at `step` for the current generation, with the
/// Deployments settled at `stable` + `canary` replicas (spec and ready pods); returns the app.
async fn wait_step(
    env: &TestEnv,
    name: &str,
    phase: RolloutPhase,
    step: Option<i32>,
    stable: i32,
    canary: i32,
) -> TetrisApp {
    let apps = env.apps();
    let deps = env.api::<Deployment>();
    let app = wait_for(
        &format!("{name}: {phase:?} at step {step:?} with {stable} stable + {canary} canary pods"),
        || async {
            let app = apps.get(name).await.ok()?;
            let rollout = app.status.as_ref()?.rollout.clone()?;
            let ready = |d: Option<Deployment>| {
                d.map(|d| {
                    let s = d.status.unwrap_or_default();
                    (d.spec.and_then(|s| s.replicas).unwrap_or(0), s.ready_replicas.unwrap_or(0))
                })
                .unwrap_or((0, 0))
            };
            let s = ready(deps.get_opt(name).await.ok()?);
            let c = ready(deps.get_opt(&format!("{name}-canary")).await.ok()?);
            (rollout.observed_generation == app.metadata.generation
                && rollout.phase == phase
                && rollout.step == step
                && s == (stable, stable)
                && c == (canary, canary))
                .then_some(app)
        },
    )
    .await;
    // What `kubectl get tetrisapps` shows at this step (the README quotes a run).
    let shown = env.cluster.run_kubectl(&["get", "tetrisapp", name, "-n", &env.ns]).unwrap_or_default();
    println!("{}", shown.trim_end());
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_steps_split_the_pods_and_kubectl_tetris_promotes_aborts_and_retries() {
    let env = TestEnv::start("canary-kubectl", RESYNC).await;
    let _logs = env.cluster.log_guard();
    env.apply_app(&app_yaml("cn", "1.0.0", "")).await;
    env.wait_ready("cn").await;
    let first = env.apps().get("cn").await.expect("app");
    assert_eq!(first.status.and_then(|s| s.rollout).map(|r| r.phase), Some(RolloutPhase::Healthy));

    env.apply_app(&app_yaml("cn", "1.1.0", "")).await;
    // setWeight 25 of 4 replicas: ceil(25% x 4) = 1 canary pod, 4 - 1 = 3 stable; then the pause holds it.
    let paused = wait_step(&env, "cn", RolloutPhase::Paused, Some(1), 3, 1).await;
    assert_eq!(split(&env, "cn").await, ((3, STABLE_IMAGE.into()), Some((1, CANARY_IMAGE.into()))));
    let status = paused.status.expect("status");
    let rollout = status.rollout.clone().expect("rollout");
    assert_eq!(rollout.canary_weight, Some(25));
    assert_eq!(rollout.stable_version.as_deref(), Some("1.0.0"));
    assert_eq!(rollout.canary_version.as_deref(), Some("1.1.0"));
    assert_eq!(status.version.as_deref(), Some("1.0.0"), "status.version stays stable during the canary");
    assert_eq!(condition_reason(&env, "cn", "Progressing").await, "CanaryPaused");
    let shown = kubectl_tetris(&env, &["status", "cn"]);
    assert!(shown.starts_with("Paused step=1 weight=25%"), "{shown}");
    let columns = env.cluster.run_kubectl(&["get", "tetrisapp", "cn", "-n", &env.ns]).expect("kubectl get");
    let header: Vec<&str> = columns.lines().next().unwrap_or_default().split_whitespace().collect();
    assert!(header.windows(3).any(|w| w == ["PHASE", "STEP", "WEIGHT"]), "{columns}");
    let at = |column: &str| header.iter().position(|h| *h == column).expect("column");
    let row: Vec<&str> = columns.lines().nth(1).unwrap_or_default().split_whitespace().collect();
    assert_eq!([row[at("PHASE")], row[at("STEP")], row[at("WEIGHT")]], ["Paused", "1", "25"], "{columns}");

    // Abort: every replica back on stable, the canary at 0, Degraded with the reason and a Warning Event.
    kubectl_tetris(&env, &["abort", "cn"]);
    let aborted = wait_step(&env, "cn", RolloutPhase::Degraded, Some(1), 4, 0).await;
    assert_eq!(split(&env, "cn").await, ((4, STABLE_IMAGE.into()), Some((0, CANARY_IMAGE.into()))));
    let degraded = condition(&aborted, "Degraded").expect("Degraded");
    assert_eq!((degraded.status.as_str(), degraded.reason.as_str()), ("True", "RolloutAborted"));
    assert!(degraded.message.contains("annotation gameops.dev/abort"), "{}", degraded.message);
    assert_eq!(
        aborted.spec.version, "1.1.0",
        "the spec is never written: Git still shows the wanted version"
    );
    assert_eq!(aborted.status.as_ref().and_then(|s| s.version.as_deref()), Some("1.0.0"));
    wait_for("a RolloutAborted Event", || async {
        event_reasons(&env, "cn").await.iter().any(|r| r == "RolloutAborted").then_some(())
    })
    .await;

    // Retry: the canary starts again from its first step.
    kubectl_tetris(&env, &["retry", "cn"]);
    wait_step(&env, "cn", RolloutPhase::Paused, Some(1), 3, 1).await;

    // Promote: the pause passes, 50% of 4 is 2 + 2, the timed pause ends by itself, and the stable
    // Deployment rolls to the new version before the canary goes to 0.
    kubectl_tetris(&env, &["promote", "cn"]);
    let done = wait_step(&env, "cn", RolloutPhase::Healthy, None, 4, 0).await;
    assert!(is_ready(&done), "Ready once promoted");
    assert_eq!(done.status.as_ref().and_then(|s| s.version.as_deref()), Some("1.1.0"));
    assert_eq!(split(&env, "cn").await, ((4, CANARY_IMAGE.into()), Some((0, CANARY_IMAGE.into()))));
    env.stop().await;
}

/// What a GitOps tool does with the file in Git: `kubectl apply --server-side`.
fn git_apply(env: &TestEnv, yaml: &str) {
    let yaml = yaml.replace("metadata:\n", &format!("metadata:\n  namespace: {}\n", env.ns));
    env.cluster.kubectl_apply(&yaml).unwrap_or_else(|e| panic!("kubectl apply: {e}"));
}

async fn condition_reason(env: &TestEnv, name: &str, type_: &str) -> String {
    let app = env.apps().get(name).await.expect("app");
    condition(&app, type_).map(|c| c.reason.clone()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_promote_abort_and_retry_from_git() {
    let env = TestEnv::start("canary-git", RESYNC).await;
    let _logs = env.cluster.log_guard();
    git_apply(&env, &app_yaml("cg", "1.0.0", ""));
    env.wait_ready("cg").await;
    git_apply(&env, &app_yaml("cg", "1.1.0", ""));
    wait_step(&env, "cg", RolloutPhase::Paused, Some(1), 3, 1).await;

    git_apply(&env, &app_yaml("cg", "1.1.0", "    abort: 1.1.0\n"));
    let aborted = wait_step(&env, "cg", RolloutPhase::Degraded, Some(1), 4, 0).await;
    let degraded = condition(&aborted, "Degraded").expect("Degraded");
    assert_eq!((degraded.status.as_str(), degraded.reason.as_str()), ("True", "RolloutAborted"));
    assert!(degraded.message.contains("spec.upgrade.abort"), "{}", degraded.message);

    // Retry from Git: the abort removed from the file.
    git_apply(&env, &app_yaml("cg", "1.1.0", ""));
    wait_step(&env, "cg", RolloutPhase::Paused, Some(1), 3, 1).await;
    git_apply(&env, &app_yaml("cg", "1.1.0", "    promote: 1.1.0\n"));
    let done = wait_step(&env, "cg", RolloutPhase::Healthy, None, 4, 0).await;
    assert_eq!(done.status.as_ref().and_then(|s| s.version.as_deref()), Some("1.1.0"));
    let patched = env.apps().get("cg").await.expect("app");
    assert_eq!(
        patched.spec.upgrade.promote.as_deref(),
        Some("1.1.0"),
        "the operator left the spec as Git has it"
    );
    env.stop().await;
}
