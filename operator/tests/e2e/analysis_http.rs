//! A canary `analysis` step with the HTTP check (issue 10), against a real HTTP server the test
//! starts on 127.0.0.1 (the operator runs in this process, on the host, so it reaches it): an
//! answer that is not JSON is inconclusive and pauses the rollout (phase Paused, the check named),
//! a promotion continues, `count` passing measurements pass the step, and a failed condition aborts
//! the rollout as the automatic rollback does (Degraded `RolloutAborted` naming the check, a
//! Warning Event, `status.version` the stable version, the spec never written).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Patch, PatchParams};
use serde_json::json;
use tetris_operator::crd::TetrisApp;
use tetris_operator::rollout::api::{RolloutPhase, RolloutStatus};

use crate::common::*;

const RESYNC: Duration = Duration::from_secs(300);

/// The team's metric endpoint: answers whatever body the test last set.
struct Metric {
    body: Arc<Mutex<String>>,
    port: u16,
    server: tokio::task::JoinHandle<()>,
}

impl Metric {
    async fn start(body: &str) -> Metric {
        let shared = Arc::new(Mutex::new(body.to_owned()));
        let app = Router::new()
            .route(
                "/rate",
                get(|State(b): State<Arc<Mutex<String>>>| async move {
                    b.lock().map(|b| b.clone()).unwrap_or_default()
                }),
            )
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Metric { body: shared, port, server }
    }

    fn answer(&self, body: &str) {
        if let Ok(mut b) = self.body.lock() {
            *b = body.to_owned();
        }
    }
}

impl Drop for Metric {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn app_yaml(version: &str, port: u16) -> String {
    format!(
        "apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: ah\nspec:\n  version: {version}\n  replicas: 4\n  upgrade:\n    strategy: Canary\n    canary:\n      steps:\n      - setWeight: 25\n      - analysis: {{count: 2}}\n      - pause: {{seconds: 600}}\n      analysis:\n        intervalSeconds: 2\n        http:\n          url: http://127.0.0.1:{port}/rate\n          jsonPath: errorRate\n          condition: '< 0.05'\n"
    )
}

/// Waits until `status.rollout` of the current generation satisfies `check`.
async fn wait_rollout(env: &TestEnv, what: &str, check: impl Fn(&RolloutStatus) -> bool) -> TetrisApp {
    let app = wait_for(what, || async {
        let app = env.apps().get("ah").await.ok()?;
        let rollout = app.status.as_ref()?.rollout.as_ref()?;
        (rollout.observed_generation == app.metadata.generation && check(rollout)).then_some(app.clone())
    })
    .await;
    let shown = env.cluster.run_kubectl(&["get", "tetrisapp", "ah", "-n", &env.ns]).unwrap_or_default();
    println!("{}", shown.trim_end());
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analysis_step_with_an_http_check_pauses_when_inconclusive_passes_and_aborts_on_failure() {
    let metric = Metric::start("<html>not the metric</html>").await;
    let env = TestEnv::start("analysis-http", RESYNC).await;
    let _logs = env.cluster.log_guard();
    env.apply_app(&app_yaml("1.0.0", metric.port)).await;
    env.wait_ready("ah").await;
    env.apply_app(&app_yaml("1.1.0", metric.port)).await;

    // Not JSON: inconclusive, so the rollout pauses (at the weight or at the analysis step,
    // whichever the first measurement found it at) and says which check.
    let paused = wait_rollout(&env, "paused by an inconclusive HTTP check", |r| {
        r.phase == RolloutPhase::Paused && r.inconclusive.is_some()
    })
    .await;
    let rollout = paused.status.as_ref().and_then(|s| s.rollout.clone()).expect("rollout");
    assert!(
        rollout.message.contains("inconclusive")
            && rollout.message.contains(&format!("http check http://127.0.0.1:{}/rate", metric.port))
            && rollout.message.contains("not JSON"),
        "{}",
        rollout.message
    );
    assert!(!rollout.aborted);

    // A good answer and a promotion: two passing measurements pass the analysis step, and the
    // timed pause after it holds (a promotion does not cut timed pauses short).
    metric.answer(r#"{"errorRate": 0.01}"#);
    env.apps()
        .patch(
            "ah",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"gameops.dev/promote": "1.1.0"}}})),
        )
        .await
        .expect("promote");
    wait_rollout(&env, "the analysis step passed, paused at step 2", |r| {
        r.phase == RolloutPhase::Paused && r.step == Some(2) && r.inconclusive.is_none()
    })
    .await;

    // Over the threshold: the measurement fails and, with failureLimit 0, aborts the rollout.
    metric.answer(r#"{"errorRate": 0.5}"#);
    let aborted = wait_rollout(&env, "aborted by the HTTP check", |r| r.aborted).await;
    let degraded = condition(&aborted, "Degraded").expect("Degraded");
    assert_eq!((degraded.status.as_str(), degraded.reason.as_str()), ("True", "RolloutAborted"));
    assert!(
        degraded.message.contains("aborted by the analysis: http check: errorRate is 0.5")
            && degraded.message.contains("not < 0.05"),
        "{}",
        degraded.message
    );
    assert_eq!(aborted.status.as_ref().and_then(|s| s.version.as_deref()), Some("1.0.0"));
    assert_eq!(aborted.spec.version, "1.1.0", "the spec is never written");
    wait_for("a RolloutAborted Event", || async {
        event_reasons(&env, "ah").await.iter().any(|r| r == "RolloutAborted").then_some(())
    })
    .await;
    wait_for("every pod back on the stable version", || async {
        let deps = env.api::<Deployment>();
        let replicas = |d: Option<Deployment>| d.and_then(|d| d.spec?.replicas).unwrap_or(-1);
        let stable = replicas(deps.get_opt("ah").await.ok()?);
        let canary = replicas(deps.get_opt("ah-canary").await.ok()?);
        (stable == 4 && canary == 0).then_some(())
    })
    .await;
    env.stop().await;
}

fn blue_green_yaml(version: &str, port: u16) -> String {
    format!(
        "apiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: ahbg\nspec:\n  version: {version}\n  replicas: 2\n  upgrade:\n    strategy: BlueGreen\n    blueGreen:\n      autoPromotionSeconds: 2\n      scaleDownDelaySeconds: 1\n      analysis:\n        intervalSeconds: 2\n        http:\n          url: http://127.0.0.1:{port}/rate\n          jsonPath: errorRate\n          condition: '< 0.05'\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_auto_promotion_waits_for_the_analysis_and_a_failing_one_aborts() {
    let metric = Metric::start(r#"{"errorRate": 0.5}"#).await;
    let env = TestEnv::start("analysis-bg", RESYNC).await;
    let _logs = env.cluster.log_guard();
    env.apply_app(&blue_green_yaml("1.0.0", metric.port)).await;
    env.wait_ready("ahbg").await;
    let services = env.api::<k8s_openapi::api::core::v1::Service>();
    assert!(
        services.get_opt("ahbg-preview").await.expect("get").is_some(),
        "BlueGreen keeps a preview Service"
    );

    // Failing analysis: no switch, the preview goes, the new pods go, Degraded RolloutAborted.
    env.apply_app(&blue_green_yaml("1.1.0", metric.port)).await;
    let aborted = wait_for("ahbg aborted by the analysis", || async {
        let app = env.apps().get("ahbg").await.ok()?;
        let rollout = app.status.as_ref()?.rollout.as_ref()?;
        (rollout.observed_generation == app.metadata.generation && rollout.aborted).then_some(app.clone())
    })
    .await;
    let degraded = condition(&aborted, "Degraded").expect("Degraded");
    assert_eq!(degraded.reason, "RolloutAborted");
    assert!(
        degraded.message.contains("aborted by the analysis: http check: errorRate is 0.5"),
        "{}",
        degraded.message
    );
    assert_eq!(aborted.status.as_ref().and_then(|s| s.version.as_deref()), Some("1.0.0"));
    wait_for("the preview Service gone and the new pods at 0", || async {
        let preview = services.get_opt("ahbg-preview").await.ok()?;
        let green = env.api::<Deployment>().get_opt("ahbg-canary").await.ok()??;
        (preview.is_none() && green.spec?.replicas == Some(0)).then_some(())
    })
    .await;
    let main = services.get("ahbg").await.expect("main Service");
    assert_eq!(
        main.spec
            .and_then(|s| s.selector)
            .and_then(|s| s.get("app.kubernetes.io/version").cloned())
            .as_deref(),
        Some("1.0.0"),
        "the main Service stayed on the old version"
    );

    // A good answer and a retry: the new pods come back, pass, and the switch happens by itself.
    metric.answer(r#"{"errorRate": 0.0}"#);
    env.apps()
        .patch(
            "ahbg",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"gameops.dev/retry": "t1"}}})),
        )
        .await
        .expect("retry");
    let done = wait_for("ahbg promoted after a passing analysis", || async {
        let app = env.apps().get("ahbg").await.ok()?;
        (app.status.as_ref()?.version.as_deref() == Some("1.1.0")).then_some(app)
    })
    .await;
    let rollout = done.status.as_ref().and_then(|s| s.rollout.clone()).expect("rollout");
    assert_eq!((rollout.aborted, rollout.analysis_failures), (false, 0));
    env.stop().await;
}
