//! Pages, static files, operations endpoints, headers.

use crate::support::TestServer;
use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;

fn assert_security_headers(res: &reqwest::Response) {
    let h = res.headers();
    let csp = h.get("content-security-policy").expect("CSP").to_str().expect("ascii");
    assert!(csp.starts_with("default-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(h.get("x-content-type-options").expect("nosniff"), "nosniff");
    assert_eq!(h.get("x-frame-options").expect("XFO"), "DENY");
}

#[tokio::test]
async fn each_page_serves_the_client_with_security_headers() {
    let server = TestServer::start(|_| {}).await;
    for page in ["/", "/solo", "/duo", "/scores", "/index.html"] {
        let res = server.http.get(server.url(page)).send().await.expect("GET page");
        assert_eq!(res.status(), 200, "{page}");
        assert_security_headers(&res);
        assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8", "{page}");
        assert_eq!(res.headers()["cache-control"], "no-cache");
        let body = res.text().await.expect("body");
        assert!(body.to_ascii_lowercase().starts_with("<!doctype html>"), "{page}");
    }
}

#[tokio::test]
async fn every_embedded_file_has_its_content_type_and_revalidates_with_304() {
    let server = TestServer::start(|_| {}).await;
    for asset in tetris_game_server::assets::FILES {
        let res = server.http.get(server.url(asset.path)).send().await.expect("GET file");
        assert_eq!(res.status(), 200, "{}", asset.path);
        assert_security_headers(&res);
        assert_eq!(res.headers()["content-type"], asset.content_type, "{}", asset.path);
        let etag = res.headers()["etag"].to_str().expect("etag").to_owned();
        assert_eq!(res.bytes().await.expect("body").as_ref(), asset.bytes, "{}", asset.path);
        let again = server
            .http
            .get(server.url(asset.path))
            .header("if-none-match", &etag)
            .send()
            .await
            .expect("GET again");
        assert_eq!(again.status(), 304, "{}", asset.path);
    }
    let js = tetris_game_server::assets::FILES.iter().find(|a| a.path.ends_with(".js"));
    if let Some(js) = js {
        assert_eq!(js.content_type, "text/javascript; charset=utf-8");
    }
}

#[tokio::test]
async fn unknown_paths_are_404_and_other_methods_405() {
    let server = TestServer::start(|_| {}).await;
    let res = server.http.get(server.url("/nope/../../etc/passwd")).send().await.expect("GET");
    assert_eq!(res.status(), 404);
    assert_security_headers(&res);
    let res = server.http.delete(server.url("/index.html")).send().await.expect("DELETE");
    assert_eq!(res.status(), 405);
}

#[tokio::test]
async fn operations_endpoints_answer() {
    let server = TestServer::start(|c| c.ruleset = tetris_config::Ruleset::Modern).await;
    assert_eq!(server.get_json("/healthz").await, (200, serde_json::json!({"status": "ok"})));
    assert_eq!(server.get_json("/readyz").await, (200, serde_json::json!({"status": "ready"})));
    let (status, version) = server.get_json("/version").await;
    assert_eq!(status, 200);
    assert_eq!(version["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(version["ruleset"], "modern");
    let metrics = server.http.get(server.url("/metrics")).send().await.expect("GET /metrics");
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.expect("text");
    for name in ["tetris_players_online", "tetris_rooms", "tetris_scores_accepted", "tetris_draining"] {
        assert!(text.contains(name), "{name} missing from\n{text}");
    }
}

#[tokio::test]
async fn with_a_metrics_port_metrics_are_served_there_and_not_on_the_game_port() {
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let server = TestServer::start(|c| c.metrics_port = Some(port)).await;
    let on_game_port = server.http.get(server.url("/metrics")).send().await.expect("GET /metrics");
    assert_eq!(on_game_port.status(), 404, "players cannot read metrics on the game port");
    let scraped = server.http.get(format!("http://127.0.0.1:{port}/metrics")).send().await.expect("scrape");
    assert_eq!(scraped.status(), 200);
    assert!(scraped.text().await.expect("text").contains("tetris_players_online"));
    let other = server.http.get(format!("http://127.0.0.1:{port}/")).send().await.expect("GET /");
    assert_eq!(other.status(), 404, "the metrics port serves nothing else");
    assert_eq!(server.get_json("/readyz").await.0, 200);
}

#[tokio::test]
async fn config_endpoint_reports_the_settings_the_client_needs() {
    let server = TestServer::start(|c| {
        c.title = "Friday <Tetris>".into();
        c.start_level_max = 19;
        c.solo = false;
    })
    .await;
    let (status, cfg) = server.get_json("/api/config").await;
    assert_eq!(status, 200);
    assert_eq!(cfg["title"], "Friday <Tetris>", "returned as JSON data, never as HTML");
    assert_eq!(cfg["startLevelMax"], 19);
    assert_eq!(cfg["solo"], false);
    assert_eq!(cfg["protocol"], 1);
    assert_eq!(cfg["limits"]["nameMaxChars"], 16);
    assert!(!cfg.to_string().contains("scores.db"), "no server paths leak: {cfg}");
}

#[tokio::test]
async fn router_answers_oneshot_requests_without_a_socket() {
    let server = TestServer::start(|_| {}).await;
    let router = tetris_game_server::app(server.state.clone());
    let res = router
        .oneshot(Request::get("/version").body(Body::empty()).expect("request"))
        .await
        .expect("oneshot");
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn readyz_fails_when_the_scoreboard_cannot_write() {
    let server = TestServer::start(|_| {}).await;
    assert_eq!(server.get_json("/readyz").await.0, 200);
    // Stop the writer thread: the database is no longer usable by this server.
    server.state.scores.stop().await;
    assert_eq!(
        server.get_json("/readyz").await,
        (503, serde_json::json!({"status": "database_unavailable"}))
    );
    // Liveness is unaffected, and a submit says why it cannot be stored.
    assert_eq!(server.get_json("/healthz").await.0, 200);
    let (game, _) = server.new_game(0).await;
    let (status, body) = server.submit(&crate::player::played(&game, "ada", 0)).await;
    assert_eq!((status, body["error"]["code"].clone()), (503, serde_json::json!("database_unavailable")));
}
