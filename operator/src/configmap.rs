//! Builds the ConfigMap holding the game server's `TETRIS_*` environment (pure, no client).
//!
//! The data comes from [`tetris_config::GameConfig::to_env`], the same contract the game server
//! parses at start, and the config is checked with [`GameConfig::validate`] first, so the operator
//! never writes a configuration the server would refuse to start with.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use tetris_config::{ConfigError, GameConfig, LogLevel, Ruleset, server_vars, vars};

use crate::crd::{self, TetrisAppSpec};
use crate::meta::{DATABASE_PATH, Parent};

/// The game-server configuration a spec asks for, checked against the server's own rules.
pub fn game_config(spec: &TetrisAppSpec) -> Result<GameConfig, ConfigError> {
    let game = &spec.game;
    let config = GameConfig {
        address: std::net::IpAddr::from([0, 0, 0, 0]),
        // The schema bounds the port to 1-65535; a value outside is clamped to the default rather than wrapped.
        port: u16::try_from(spec.server.port).unwrap_or(8080),
        database: DATABASE_PATH.into(),
        title: game.title.clone(),
        ruleset: match game.ruleset {
            crd::Ruleset::Classic => Ruleset::Classic,
            crd::Ruleset::Modern => Ruleset::Modern,
        },
        solo: game.solo,
        duo: game.duo,
        start_level_min: narrow(vars::START_LEVEL_MIN, game.start_level_min)?,
        start_level_max: narrow(vars::START_LEVEL_MAX, game.start_level_max)?,
        scoreboard_size: narrow(vars::SCOREBOARD_SIZE, game.scoreboard_size)?,
        max_rooms: narrow(vars::MAX_ROOMS, game.max_rooms)?,
        max_connections: narrow(vars::MAX_CONNECTIONS, game.max_connections)?,
        reconnect_grace_seconds: narrow(vars::RECONNECT_GRACE_SECONDS, game.reconnect_grace_seconds)?,
        drain_seconds: narrow(vars::DRAIN_SECONDS, spec.upgrade.drain_seconds)?,
        allowed_origins: game.allowed_origins.clone(),
        log_level: match spec.server.log_level {
            crd::LogLevel::Error => LogLevel::Error,
            crd::LogLevel::Warn => LogLevel::Warn,
            crd::LogLevel::Info => LogLevel::Info,
            crd::LogLevel::Debug => LogLevel::Debug,
            crd::LogLevel::Trace => LogLevel::Trace,
        },
        metrics_port: u16::try_from(spec.server.metrics_port).ok(),
    };
    config.validate()?;
    Ok(config)
}

/// The CRD uses signed 32-bit integers (the API's integer type); the contract uses narrower unsigned ones.
fn narrow<T: TryFrom<i32>>(var: &'static str, value: i32) -> Result<T, ConfigError> {
    T::try_from(value).map_err(|_| ConfigError {
        var,
        value: value.to_string(),
        reason: "out of range for the game server".to_owned(),
    })
}

/// The environment data of the ConfigMap: the checked game config plus the server settings of
/// `spec.clients`, `spec.game.rulesVersion` and `spec.server.replayThreads`.
pub fn data(config: &GameConfig, spec: &TetrisAppSpec) -> BTreeMap<String, String> {
    let mut data: BTreeMap<String, String> =
        config.to_env().into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    let c = &spec.clients;
    data.insert(server_vars::TRUSTED_PROXIES.to_owned(), c.trusted_proxies.join(","));
    data.insert(server_vars::MAX_CONNECTIONS_PER_CLIENT.to_owned(), c.max_connections_per_client.to_string());
    data.insert(server_vars::MAX_ROOMS_PER_CLIENT.to_owned(), c.max_rooms_per_client.to_string());
    data.insert(
        server_vars::SUBMITS_PER_MINUTE_PER_CLIENT.to_owned(),
        c.submits_per_minute_per_client.to_string(),
    );
    if let Some(v) = spec.game.rules_version {
        data.insert(server_vars::RULES_VERSION.to_owned(), v.to_string());
    }
    if let Some(n) = spec.server.replay_threads {
        data.insert(server_vars::REPLAY_THREADS.to_owned(), n.to_string());
    }
    crate::scoreboard::config_data(spec, &mut data);
    data
}

/// The ConfigMap `<name>-config` with the rendered environment.
pub fn build(parent: &Parent, config: &GameConfig, spec: &TetrisAppSpec) -> ConfigMap {
    ConfigMap {
        metadata: parent.child_meta(parent.configmap_name(), "config", true),
        data: Some(data(config, spec)),
        ..ConfigMap::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::fixtures::app;

    fn built(spec: &str) -> ConfigMap {
        let app = app(spec);
        let parent = Parent::of(&app).expect("fixture has metadata");
        build(&parent, &game_config(&app.spec).expect("valid game config"), &app.spec)
    }

    #[test]
    fn data_parses_back_through_the_game_servers_contract() {
        let cm = built(
            "version: 1.0.0\ngame:\n  title: Friday Tetris\n  ruleset: modern\n  duo: false\nupgrade:\n  drainSeconds: 90",
        );
        let data = cm.data.expect("data");
        let parsed = GameConfig::from_lookup(|k| data.get(k).cloned()).expect("server accepts the data");
        assert_eq!(parsed.title, "Friday Tetris");
        assert_eq!(parsed.ruleset, Ruleset::Modern);
        assert!(!parsed.duo);
        assert_eq!(parsed.drain_seconds, 90);
        assert_eq!(parsed.database, std::path::PathBuf::from("/data/scores.db"));
    }

    #[test]
    fn client_limits_rules_version_and_replay_threads_reach_the_servers_own_parser() {
        let cm = built(
            "version: 1.0.0\ngame:\n  rulesVersion: 1\nserver:\n  replayThreads: 3\nclients:\n  trustedProxies: [10.0.0.0/8, 'fd00::/8']\n  maxRoomsPerClient: 4",
        );
        let data = cm.data.expect("data");
        let settings = tetris_game_server::settings::Settings::from_lookup(|k| data.get(k).cloned())
            .expect("the game server accepts the settings");
        assert_eq!(settings.rules_version, 1);
        assert_eq!(settings.replay_threads, 3);
        assert_eq!(settings.trusted_proxies.len(), 2);
        assert_eq!(settings.max_rooms_per_client, 4);
        assert_eq!(settings.max_connections_per_client, 8, "the CRD's default");
        let defaults = built("version: 1.0.0").data.expect("data");
        assert!(!defaults.contains_key(server_vars::RULES_VERSION), "absent: the server's newest rules");
    }

    #[test]
    fn name_labels_and_owner() {
        let cm = built("version: 1.0.0");
        assert_eq!(cm.metadata.name.as_deref(), Some("arcade-config"));
        assert_eq!(cm.metadata.namespace.as_deref(), Some("games"));
        assert_eq!(cm.metadata.owner_references.expect("owned").len(), 1);
    }

    #[test]
    fn config_the_server_would_refuse_is_rejected() {
        let app = app("version: 1.0.0\ngame:\n  solo: false\n  duo: false");
        let err = game_config(&app.spec).expect_err("no mode enabled");
        assert_eq!(err.var, tetris_config::vars::DUO);
    }

    #[test]
    fn same_spec_gives_identical_configmap() {
        assert_eq!(built("version: 1.0.0"), built("version: 1.0.0"));
    }
}
