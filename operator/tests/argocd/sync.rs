//! (a) The example Application syncs `examples/argocd/tetrisapps`: Healthy only once the
//! TetrisApps are Ready, and Synced from its first sync on, whatever the operator writes.

use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use serde_json::Value;

use crate::support::*;

const EXAMPLES: [&str; 2] = ["lobby", "tournament"];

pub async fn the_example_syncs_is_healthy_only_once_ready_and_the_operator_never_makes_it_out_of_sync() {
    let mut s = Scenario::new("argocd-sync").await;
    for name in EXAMPLES {
        let file = format!("{APPS_PATH}/{name}.yaml");
        let text = std::fs::read_to_string(repo_path(&file)).expect("the example TetrisApps are committed");
        s.repo.write(&file, &text);
    }
    let revision = s.repo.commit("the example TetrisApps");
    s.create_application().await;

    // No operator yet: the TetrisApps exist but nothing has reconciled them.
    s.wait("first sync done, each TetrisApp waiting for the operator", || async {
        let app = s.application().await?;
        let status = &app["status"];
        let waiting = EXAMPLES.iter().all(|name| {
            resource_health(&app, "TetrisApp", name).is_some_and(|h| {
                h["status"] == "Progressing"
                    && h["message"] == "Waiting for the operator to reconcile the TetrisApp"
            })
        });
        (status["operationState"]["phase"] == "Succeeded"
            && status["sync"]["revision"] == revision.as_str()
            && status["sync"]["status"] == "Synced"
            && status["health"]["status"] == "Progressing"
            && waiting)
            .then_some(())
    })
    .await;

    // From here on every look at the Application must find it Synced.
    let seen = std::sync::Mutex::new(Vec::new());
    let record = |app: &Value| seen.lock().unwrap_or_else(|p| p.into_inner()).push(sync_status(app));
    s.start_operator();
    let healthy = s
        .wait("the Application Healthy", || async {
            let app = s.application().await?;
            record(&app);
            (app["status"]["health"]["status"] == "Healthy").then_some(app)
        })
        .await;
    let deployments: Api<Deployment> = Api::namespaced(s.client.clone(), &s.ns);
    for name in EXAMPLES {
        let tetrisapp = s.tetrisapp(name).await.expect("the TetrisApp exists");
        assert!(is_ready(&tetrisapp), "{name} is Ready when the Application is Healthy: {tetrisapp}");
        let available = deployments.get(name).await.ok().and_then(|d| d.status?.available_replicas);
        assert_eq!(available, Some(1), "{name}'s pod is available when the Application is Healthy");
        let health = resource_health(&healthy, "TetrisApp", name).cloned().unwrap_or_default();
        assert_eq!(
            health["message"], "Available: 1 of 1 replicas ready on version 0.1.0",
            "{name}: {health}"
        );
    }

    // Two more full comparisons with Git, after the operator's status writes and children.
    let mut app = healthy;
    for _ in 0..2 {
        let before = app["status"]["reconciledAt"].clone();
        s.refresh().await;
        app = s
            .wait("the Application compared with Git again", || async {
                let app = s.application().await?;
                record(&app);
                (app["status"]["reconciledAt"] != before).then_some(app)
            })
            .await;
    }
    let seen = seen.into_inner().unwrap_or_else(|p| p.into_inner());
    assert!(seen.iter().all(|s| s == "Synced"), "sync statuses seen after the first sync: {seen:?}");
    assert_eq!(app["status"]["health"]["status"], "Healthy", "and still Healthy");
    let resources: Vec<(String, String, String)> = app["status"]["resources"]
        .as_array()
        .expect("status.resources")
        .iter()
        .map(|r| (text(&r["kind"]), text(&r["name"]), text(&r["status"])))
        .collect();
    let want: Vec<(String, String, String)> =
        EXAMPLES.iter().map(|n| ("TetrisApp".into(), n.to_string(), "Synced".into())).collect();
    assert_eq!(resources, want, "only what Git holds is tracked, and it is Synced");
    let history = app["status"]["history"].as_array().map(Vec::len);
    assert_eq!(history, Some(1), "no sync after the first: nothing drifted");
}

fn sync_status(app: &Value) -> String {
    text(&app["status"]["sync"]["status"])
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}
