//! The JSON API: client configuration, solo game tickets, score submission and the top-N tables.
//!
//! Bodies are read as bytes and parsed here (not with axum's `Json` extractor) so that every failure,
//! including a wrong content type or an oversized body, gets the same JSON error shape.

use crate::AppState;
use crate::error::ApiError;
use crate::games::{Mode, Ticket, TicketError, unix_now};
use crate::names::validate_name;
use crate::plausibility::{self, Report};
use crate::scoreboard::{Submission, SubmitError, tables_json};
use crate::verify::pool::PoolError;
use crate::verify::{self, Rejection};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Largest `POST /api/scores` body (the input log dominates).
pub const MAX_SCORE_BODY: usize = 256 * 1024;
/// Largest body of any other request.
pub const MAX_BODY: usize = 4 * 1024;
/// Score submissions served at once; more are refused with 503 `busy` before their body is read.
/// With [`MAX_SCORE_BODY`] this bounds the memory bodies can hold to 64 MiB.
pub const MAX_SUBMITS_IN_FLIGHT: usize = 256;

/// Middleware on `POST /api/scores`: takes a permit or refuses at once (a client retries; waiting
/// here would hold the body it is sending).
pub async fn limit_submits(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Ok(_permit) = state.submit_permits.clone().try_acquire_owned() else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "too many scores are being submitted right now; retry in a moment",
        )
        .into_response();
    };
    next.run(request).await
}
/// Longest input log, in characters.
pub const MAX_INPUT_LOG_CHARS: usize = 200_000;
/// Longest game id accepted before it is even looked at.
const MAX_GAME_ID: usize = 128;

fn json_response(status: StatusCode, body: impl Into<axum::body::Body>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.into()).into_response()
}

/// Parses a JSON request body, mapping each failure to its error code.
fn json_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let is_json = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    });
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send Content-Type: application/json",
        ));
    }
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "request body is too large")
        } else {
            ApiError::bad_request("could not read the request body")
        }
    })?;
    serde_json::from_slice(&body).map_err(|e| {
        let text = e.to_string();
        let text = text.rsplit_once(" at line ").map_or(text.as_str(), |(head, _)| head);
        ApiError::bad_request(text.chars().take(160).collect::<String>())
    })
}

/// `GET /api/config`.
pub async fn config(State(app): State<AppState>) -> Response {
    json_response(StatusCode::OK, app.config_json.clone())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewGame {
    mode: String,
    start_level: u8,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IssuedGame<'a> {
    game_id: &'a str,
    seed: u32,
    mode: &'static str,
    ruleset: &'static str,
    start_level: u8,
    /// The rules version to play under (the log's `v`).
    rules: u8,
}

/// `POST /api/games`: issues a solo game ticket.
pub async fn issue_game(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match issue(&app, &headers, body) {
        Ok(r) => r,
        Err(e) => {
            app.metrics.error(e.code);
            e.into_response()
        }
    }
}

fn issue(
    app: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let req: NewGame = json_body(headers, body)?;
    let mode = match Mode::parse(&req.mode) {
        Some(m @ (Mode::Solo | Mode::Sprint | Mode::Blitz)) => m,
        _ => {
            return Err(ApiError::bad_request(
                "mode must be \"solo\", \"sprint\" or \"blitz\"; duo games are issued by their room",
            ));
        }
    };
    if !app.config.solo {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "mode_disabled",
            "solo mode is turned off on this server",
        ));
    }
    let (min, max) = (app.config.start_level_min, app.config.start_level_max);
    if !(min..=max).contains(&req.start_level) {
        return Err(ApiError::bad_request(format!("startLevel must be from {min} to {max}")));
    }
    let rules = app.settings.rules_version;
    if mode != Mode::Solo && rules < 2 {
        return Err(ApiError::bad_request(format!(
            "{} games need rules version 2; this server issues version {rules}",
            mode.as_str()
        )));
    }
    // Sprint and blitz boards compare like with like: every game starts at the lowest level.
    if mode != Mode::Solo && req.start_level != min {
        return Err(ApiError::bad_request(format!("{} games start at level {min}", mode.as_str())));
    }
    let seed = crate::games::new_seed();
    let ticket = app.tickets.issue(mode, app.config.ruleset, req.start_level, seed, rules);
    app.metrics.games_started.get_or_create(&[("mode", mode.as_str())]).inc();
    let body = serde_json::to_string(&IssuedGame {
        game_id: &ticket.game_id,
        seed,
        mode: mode.as_str(),
        ruleset: app.config.ruleset.as_str(),
        start_level: req.start_level,
        rules,
    })
    .expect("plain fields serialize");
    Ok(json_response(StatusCode::CREATED, body))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ScoreBody {
    game_id: String,
    name: String,
    score: u32,
    lines: u32,
    level: u32,
    pieces: u32,
    duration_ms: u64,
    #[serde(default)]
    input_log: Option<String>,
}

/// `POST /api/scores`: verifies, checks and durably stores a score, then answers.
pub async fn submit(
    State(app): State<AppState>,
    peer: Option<Extension<ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let client = crate::ws::client_of(&app, peer.as_ref().map(|e| &e.0), &headers);
    let outcome = if app.clients.submit(client) {
        submit_inner(&app, &headers, body).await
    } else {
        Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "client_submit_limit",
            "too many scores from your address this minute; try again soon",
        ))
    };
    match outcome {
        Ok(r) => r,
        Err(e) => {
            app.metrics.scores_rejected.get_or_create(&[("reason", e.code)]).inc();
            e.into_response()
        }
    }
}

async fn submit_inner(
    app: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let req: ScoreBody = json_body(headers, body)?;
    if req.input_log.as_ref().is_some_and(|l| l.chars().count() > MAX_INPUT_LOG_CHARS) {
        return Err(ApiError::bad_request(format!(
            "inputLog must be at most {MAX_INPUT_LOG_CHARS} characters"
        )));
    }
    let unknown =
        || ApiError::new(StatusCode::FORBIDDEN, "unknown_game", "this game was not issued by this server");
    if req.game_id.len() > MAX_GAME_ID {
        return Err(unknown());
    }
    let ticket = app.tickets.verify(&req.game_id).map_err(|e| match e {
        TicketError::Unknown => unknown(),
        TicketError::Expired => {
            ApiError::new(StatusCode::GONE, "game_expired", "this game is too old to submit")
        }
    })?;
    let enabled = match ticket.mode {
        Mode::Solo | Mode::Sprint | Mode::Blitz => app.config.solo,
        Mode::Duo => app.config.duo,
    };
    if !enabled {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "mode_disabled",
            "this mode is turned off on this server",
        ));
    }
    let name = validate_name(&req.name)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_name", e.to_string()))?;
    let report = Report {
        score: req.score,
        lines: req.lines,
        level: req.level,
        pieces: req.pieces,
        duration_ms: req.duration_ms,
    };
    let (report, input_log) = match ticket.mode {
        Mode::Solo | Mode::Sprint | Mode::Blitz => {
            let (replayed, log) = replayed(app, &ticket, report, req.input_log).await?;
            (replayed, Some(log))
        }
        Mode::Duo => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "duo_by_server",
                "duo results are recorded by the server when the match ends",
            ));
        }
    };
    let elapsed_ms = unix_now().saturating_sub(ticket.issued_at).saturating_mul(1000) + 999;
    plausibility::check(&ticket, &report, elapsed_ms)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "implausible_score", e.0))?;
    let mode = ticket.mode;
    let accepted =
        app.scores.submit(Submission { ticket, name, report, input_log }).await.map_err(|e| match e {
            SubmitError::AlreadySubmitted => ApiError::new(
                StatusCode::CONFLICT,
                "already_submitted",
                "a score for this game was already accepted",
            ),
            SubmitError::Unavailable => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                "the scoreboard cannot save right now; try again later",
            ),
        })?;
    app.metrics.scores_accepted.get_or_create(&[("mode", mode.as_str())]).inc();
    if mode != Mode::Duo {
        app.metrics.games_finished.get_or_create(&[("mode", mode.as_str())]).inc();
    }
    let body = serde_json::to_string(&accepted).expect("plain fields serialize");
    Ok(json_response(StatusCode::CREATED, body))
}

/// Replays `log` on the replay pool and checks `report` against it ([`verify::verify`]); returns
/// the replayed totals and the log (to store with the score).
async fn replayed(
    app: &AppState,
    ticket: &Ticket,
    report: Report,
    log: Option<String>,
) -> Result<(Report, String), ApiError> {
    let refuse = |r: Rejection| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, r.code(), r.to_string());
    let log = log.ok_or_else(|| refuse(Rejection::MissingLog))?;
    let ticket = ticket.clone();
    let job = move || {
        let outcome = verify::verify(&ticket, &report, &log);
        (outcome, log)
    };
    match app.replays.run(job).await {
        Ok((Ok(replayed), log)) => Ok((replayed, log)),
        Ok((Err(rejection), _)) => Err(refuse(rejection)),
        Err(PoolError::Busy) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "too many games are being verified right now; retry in a moment",
        )),
        Err(PoolError::Failed) => {
            tracing::error!("a replay panicked");
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "replay_failed",
                "the game could not be verified",
            ))
        }
    }
}

/// `GET /api/scores?limit=N`: the top-N tables from memory.
pub async fn top(State(app): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let size = usize::from(app.config.scoreboard_size);
    let mut limit = size;
    for pair in query.as_deref().unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("limit", v)) => match v.parse::<usize>() {
                Ok(n) if n >= 1 => limit = n.min(size),
                _ => {
                    return ApiError::bad_request(format!("limit must be a whole number from 1 to {size}"))
                        .into_response();
                }
            },
            _ => return ApiError::bad_request("the only query parameter is limit").into_response(),
        }
    }
    let boards = app.scores.boards();
    if limit >= size {
        return json_response(StatusCode::OK, boards.api_json.clone());
    }
    json_response(StatusCode::OK, tables_json(boards.ruleset, &boards.tables, limit))
}
