//! The game server's configuration contract: every `TETRIS_*` environment variable, its default,
//! its bounds, and how it is parsed and rendered.
//!
//! # Why a crate of its own
//! The game server parses these variables at start; the operator renders them into the ConfigMap it
//! mounts as the pod's environment. Both sides use [`GameConfig`], so a variable renamed or a bound
//! changed here changes both, and the operator can reject a spec the server would refuse to start with.
//!
//! Parsing is strict: an unknown value, an out-of-range number or an empty required value is an error
//! that names the variable. Unknown `TETRIS_*` variables are ignored (forward compatibility with a
//! newer operator), but [`GameConfig::unknown_vars`] lists them so the server can log a warning.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

/// Names of every environment variable in the contract.
pub mod vars {
    /// Listen address (an IP, e.g. `0.0.0.0` or `127.0.0.1`).
    pub const ADDRESS: &str = "TETRIS_ADDRESS";
    /// Listen port (1-65535).
    pub const PORT: &str = "TETRIS_PORT";
    /// Path of the SQLite scoreboard file.
    pub const DATABASE: &str = "TETRIS_DATABASE";
    /// Title shown on every page.
    pub const TITLE: &str = "TETRIS_TITLE";
    /// `classic` (NES-style) or `modern` (guideline: 7-bag, SRS, hold, hard drop, ghost, lock delay).
    pub const RULESET: &str = "TETRIS_RULESET";
    /// Whether solo mode is offered (`true`/`false`).
    pub const SOLO: &str = "TETRIS_SOLO";
    /// Whether duo mode is offered (`true`/`false`).
    pub const DUO: &str = "TETRIS_DUO";
    /// Lowest start level a player may pick.
    pub const START_LEVEL_MIN: &str = "TETRIS_START_LEVEL_MIN";
    /// Highest start level a player may pick.
    pub const START_LEVEL_MAX: &str = "TETRIS_START_LEVEL_MAX";
    /// How many rows each scoreboard table shows.
    pub const SCOREBOARD_SIZE: &str = "TETRIS_SCOREBOARD_SIZE";
    /// Most duo rooms open at once.
    pub const MAX_ROOMS: &str = "TETRIS_MAX_ROOMS";
    /// Most WebSocket connections open at once.
    pub const MAX_CONNECTIONS: &str = "TETRIS_MAX_CONNECTIONS";
    /// Seconds a duo player may take to reconnect before the room ends.
    pub const RECONNECT_GRACE_SECONDS: &str = "TETRIS_RECONNECT_GRACE_SECONDS";
    /// Seconds a draining server lets live matches run after SIGTERM.
    pub const DRAIN_SECONDS: &str = "TETRIS_DRAIN_SECONDS";
    /// Comma-separated WebSocket origins allowed besides the server's own host.
    pub const ALLOWED_ORIGINS: &str = "TETRIS_ALLOWED_ORIGINS";
    /// `error`, `warn`, `info`, `debug` or `trace`.
    pub const LOG_LEVEL: &str = "TETRIS_LOG_LEVEL";
    /// Port (1-65535) of a second listener serving only `/metrics`; empty or absent serves
    /// `/metrics` on the game port instead.
    pub const METRICS_PORT: &str = "TETRIS_METRICS_PORT";

    /// Every variable, in rendering order.
    pub const ALL: &[&str] = &[
        ADDRESS,
        PORT,
        DATABASE,
        TITLE,
        RULESET,
        SOLO,
        DUO,
        START_LEVEL_MIN,
        START_LEVEL_MAX,
        SCOREBOARD_SIZE,
        MAX_ROOMS,
        MAX_CONNECTIONS,
        RECONNECT_GRACE_SECONDS,
        DRAIN_SECONDS,
        ALLOWED_ORIGINS,
        LOG_LEVEL,
        METRICS_PORT,
    ];
}

/// Names of the game server's settings beyond [`GameConfig`]: score verification and per-client
/// limits. The server parses them (its `settings` module); the operator renders them from the
/// TetrisApp.
pub mod server_vars {
    /// Rules version new games are issued under (1 or 2; default the newest). Pin it to the old
    /// version during a rolling upgrade that adds one, so old pods can verify every new game.
    pub const RULES_VERSION: &str = "TETRIS_RULES_VERSION";
    /// Threads that replay submitted games (default: half the cores, at least 1).
    pub const REPLAY_THREADS: &str = "TETRIS_REPLAY_THREADS";
    /// Comma-separated CIDRs of proxies whose `X-Forwarded-For` is believed (default: none).
    pub const TRUSTED_PROXIES: &str = "TETRIS_TRUSTED_PROXIES";
    /// Open WebSocket connections per client address (default 0: no limit; the operator sets one).
    /// Per-client limits are off by default because without `TETRIS_TRUSTED_PROXIES` a server
    /// behind a proxy sees every player at the proxy's address.
    pub const MAX_CONNECTIONS_PER_CLIENT: &str = "TETRIS_MAX_CONNECTIONS_PER_CLIENT";
    /// Duo rooms a client address may have open at once (default 0: no limit).
    pub const MAX_ROOMS_PER_CLIENT: &str = "TETRIS_MAX_ROOMS_PER_CLIENT";
    /// Score submissions per client address per minute (default 0: no limit).
    pub const SUBMITS_PER_MINUTE_PER_CLIENT: &str = "TETRIS_SUBMITS_PER_MINUTE_PER_CLIENT";
    /// Where scores are kept: `sqlite` (default; the file at `TETRIS_DATABASE`) or `postgres`
    /// (the server at `TETRIS_DATABASE_URL`).
    pub const SCOREBOARD_BACKEND: &str = "TETRIS_SCOREBOARD_BACKEND";
    /// PostgreSQL connection URI (`postgresql://user:password@host:port/db?sslmode=...`), the shape
    /// of CloudNativePG's `<cluster>-app` Secret key `uri`. The operator passes it from the Secret
    /// (`secretKeyRef`), never through the ConfigMap.
    pub const DATABASE_URL: &str = "TETRIS_DATABASE_URL";
    /// Most PostgreSQL connections one server holds open (its pool's bound).
    pub const DATABASE_POOL_SIZE: &str = "TETRIS_DATABASE_POOL_SIZE";
    /// This pod's IP (the downward API's `status.podIP`): where the other replicas of the app reach
    /// the duo rooms this pod hosts.
    pub const POD_IP: &str = "TETRIS_POD_IP";
    /// Every name above.
    pub const ALL: [&str; 10] = [
        RULES_VERSION,
        REPLAY_THREADS,
        TRUSTED_PROXIES,
        MAX_CONNECTIONS_PER_CLIENT,
        MAX_ROOMS_PER_CLIENT,
        SUBMITS_PER_MINUTE_PER_CLIENT,
        SCOREBOARD_BACKEND,
        DATABASE_URL,
        DATABASE_POOL_SIZE,
        POD_IP,
    ];
}

/// Bounds that both the server and the operator's CRD schema enforce.
pub mod limits {
    /// Highest start level (the NES gravity table goes flat at 29).
    pub const MAX_START_LEVEL: u8 = 29;
    /// Longest title, in characters.
    pub const MAX_TITLE_CHARS: usize = 64;
    /// Largest scoreboard table.
    pub const MAX_SCOREBOARD_SIZE: u16 = 100;
    /// Most rooms one server may hold.
    pub const MAX_ROOMS: u32 = 100_000;
    /// Most WebSocket connections one server may hold.
    pub const MAX_CONNECTIONS: u32 = 100_000;
    /// Longest reconnect grace.
    pub const MAX_RECONNECT_GRACE_SECONDS: u32 = 300;
    /// Longest drain.
    pub const MAX_DRAIN_SECONDS: u32 = 3600;
    /// Most allowed origins, and the longest one.
    pub const MAX_ORIGINS: usize = 32;
    /// Longest origin, in bytes.
    pub const MAX_ORIGIN_BYTES: usize = 253 + 16;
}

/// The game rules the browser client plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ruleset {
    /// NES-style: no hold, no hard drop, NES gravity and scoring.
    #[default]
    Classic,
    /// Guideline: 7-bag, SRS with wall kicks, hold, hard drop, ghost piece, lock delay, garbage in duo.
    Modern,
}

impl Ruleset {
    /// The value as written in the environment.
    pub fn as_str(self) -> &'static str {
        match self {
            Ruleset::Classic => "classic",
            Ruleset::Modern => "modern",
        }
    }
}

impl FromStr for Ruleset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "classic" => Ok(Ruleset::Classic),
            "modern" => Ok(Ruleset::Modern),
            _ => Err("must be one of: classic, modern".into()),
        }
    }
}

impl fmt::Display for Ruleset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much the server logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warn,
    /// One line per event an operator cares about.
    #[default]
    Info,
    /// Per-request detail.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    /// The value as written in the environment (also a valid `tracing` filter).
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

impl FromStr for LogLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "error" => Ok(LogLevel::Error),
            "warn" => Ok(LogLevel::Warn),
            "info" => Ok(LogLevel::Info),
            "debug" => Ok(LogLevel::Debug),
            "trace" => Ok(LogLevel::Trace),
            _ => Err("must be one of: error, warn, info, debug, trace".into()),
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A configuration value that was rejected, with the variable that carried it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {var}={value:?}: {reason}")]
pub struct ConfigError {
    /// The environment variable, e.g. `TETRIS_PORT`.
    pub var: &'static str,
    /// The value as given (truncated to 100 characters so a huge value cannot flood a log).
    pub value: String,
    /// What was wrong and what is accepted.
    pub reason: String,
}

impl ConfigError {
    fn new(var: &'static str, value: &str, reason: impl Into<String>) -> Self {
        ConfigError { var, value: value.chars().take(100).collect(), reason: reason.into() }
    }
}

/// The whole game-server configuration. [`Default`] holds every default value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GameConfig {
    /// Listen address.
    pub address: IpAddr,
    /// Listen port (0 is accepted for tests: the OS picks one).
    pub port: u16,
    /// SQLite scoreboard file.
    pub database: PathBuf,
    /// Title shown on every page.
    pub title: String,
    /// Game rules.
    pub ruleset: Ruleset,
    /// Solo mode offered.
    pub solo: bool,
    /// Duo mode offered.
    pub duo: bool,
    /// Lowest start level.
    pub start_level_min: u8,
    /// Highest start level.
    pub start_level_max: u8,
    /// Rows per scoreboard table.
    pub scoreboard_size: u16,
    /// Most duo rooms open at once.
    pub max_rooms: u32,
    /// Most WebSocket connections at once.
    pub max_connections: u32,
    /// Seconds a dropped duo player may take to come back.
    pub reconnect_grace_seconds: u32,
    /// Seconds live matches may run after SIGTERM.
    pub drain_seconds: u32,
    /// WebSocket origins allowed besides the server's own host (e.g. `https://tetris.example.com`).
    pub allowed_origins: Vec<String>,
    /// Log level.
    pub log_level: LogLevel,
    /// Port of the metrics-only listener; `None` serves `/metrics` on the game port.
    pub metrics_port: Option<u16>,
}

impl Default for GameConfig {
    fn default() -> Self {
        GameConfig {
            address: IpAddr::from([0, 0, 0, 0]),
            port: 8080,
            database: PathBuf::from("/data/scores.db"),
            title: "Tetris".into(),
            ruleset: Ruleset::Classic,
            solo: true,
            duo: true,
            start_level_min: 0,
            start_level_max: 9,
            scoreboard_size: 10,
            max_rooms: 1000,
            max_connections: 10_000,
            reconnect_grace_seconds: 10,
            drain_seconds: 60,
            allowed_origins: Vec::new(),
            log_level: LogLevel::Info,
            metrics_port: None,
        }
    }
}

impl GameConfig {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (a variable that is absent takes its default), then
    /// checks the cross-field rules with [`GameConfig::validate`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut c = GameConfig::default();
        let get = |var: &'static str| lookup(var).map(|v| (var, v));
        if let Some((var, v)) = get(vars::ADDRESS) {
            c.address = v.trim().parse().map_err(|_| ConfigError::new(var, &v, "must be an IP address"))?;
        }
        if let Some((var, v)) = get(vars::PORT) {
            c.port = parse_num(var, &v, 0, u16::MAX)?;
        }
        if let Some((var, v)) = get(vars::DATABASE) {
            if v.trim().is_empty() {
                return Err(ConfigError::new(var, &v, "must be a file path"));
            }
            c.database = PathBuf::from(v);
        }
        if let Some((_, v)) = get(vars::TITLE) {
            c.title = v;
        }
        if let Some((var, v)) = get(vars::RULESET) {
            c.ruleset = v.trim().parse().map_err(|e: String| ConfigError::new(var, &v, e))?;
        }
        if let Some((var, v)) = get(vars::SOLO) {
            c.solo = parse_bool(var, &v)?;
        }
        if let Some((var, v)) = get(vars::DUO) {
            c.duo = parse_bool(var, &v)?;
        }
        if let Some((var, v)) = get(vars::START_LEVEL_MIN) {
            c.start_level_min = parse_num(var, &v, 0, limits::MAX_START_LEVEL)?;
        }
        if let Some((var, v)) = get(vars::START_LEVEL_MAX) {
            c.start_level_max = parse_num(var, &v, 0, limits::MAX_START_LEVEL)?;
        }
        if let Some((var, v)) = get(vars::SCOREBOARD_SIZE) {
            c.scoreboard_size = parse_num(var, &v, 1, limits::MAX_SCOREBOARD_SIZE)?;
        }
        if let Some((var, v)) = get(vars::MAX_ROOMS) {
            c.max_rooms = parse_num(var, &v, 1, limits::MAX_ROOMS)?;
        }
        if let Some((var, v)) = get(vars::MAX_CONNECTIONS) {
            c.max_connections = parse_num(var, &v, 1, limits::MAX_CONNECTIONS)?;
        }
        if let Some((var, v)) = get(vars::RECONNECT_GRACE_SECONDS) {
            c.reconnect_grace_seconds = parse_num(var, &v, 0, limits::MAX_RECONNECT_GRACE_SECONDS)?;
        }
        if let Some((var, v)) = get(vars::DRAIN_SECONDS) {
            c.drain_seconds = parse_num(var, &v, 0, limits::MAX_DRAIN_SECONDS)?;
        }
        if let Some((_, v)) = get(vars::ALLOWED_ORIGINS) {
            c.allowed_origins =
                v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
        }
        if let Some((var, v)) = get(vars::LOG_LEVEL) {
            c.log_level = v.trim().parse().map_err(|e: String| ConfigError::new(var, &v, e))?;
        }
        if let Some((var, v)) = get(vars::METRICS_PORT) {
            c.metrics_port = match v.trim() {
                "" => None,
                _ => Some(parse_num(var, &v, 1, u16::MAX)?),
            };
        }
        c.validate()?;
        Ok(c)
    }

    /// Checks the rules that involve a value's content or more than one field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let title_chars = self.title.chars().count();
        if title_chars == 0
            || title_chars > limits::MAX_TITLE_CHARS
            || self.title.chars().any(char::is_control)
        {
            return Err(ConfigError::new(
                vars::TITLE,
                &self.title,
                format!("must be 1 to {} characters without control characters", limits::MAX_TITLE_CHARS),
            ));
        }
        if !self.solo && !self.duo {
            return Err(ConfigError::new(
                vars::DUO,
                "false",
                "at least one of TETRIS_SOLO and TETRIS_DUO must be true",
            ));
        }
        if self.start_level_max > limits::MAX_START_LEVEL {
            return Err(ConfigError::new(
                vars::START_LEVEL_MAX,
                &self.start_level_max.to_string(),
                format!("must be at most {}", limits::MAX_START_LEVEL),
            ));
        }
        if self.start_level_min > self.start_level_max {
            return Err(ConfigError::new(
                vars::START_LEVEL_MIN,
                &self.start_level_min.to_string(),
                format!("must not exceed TETRIS_START_LEVEL_MAX ({})", self.start_level_max),
            ));
        }
        if self.metrics_port.is_some_and(|p| p == self.port) {
            return Err(ConfigError::new(
                vars::METRICS_PORT,
                &self.port.to_string(),
                "must differ from TETRIS_PORT",
            ));
        }
        if self.allowed_origins.len() > limits::MAX_ORIGINS {
            return Err(ConfigError::new(
                vars::ALLOWED_ORIGINS,
                &self.allowed_origins.join(","),
                format!("at most {} origins", limits::MAX_ORIGINS),
            ));
        }
        for origin in &self.allowed_origins {
            if !valid_origin(origin) {
                return Err(ConfigError::new(
                    vars::ALLOWED_ORIGINS,
                    origin,
                    "each origin must look like http(s)://host[:port], without a path",
                ));
            }
        }
        Ok(())
    }

    /// Renders the configuration as environment variables, every variable present, in a stable order.
    /// `from_lookup` of the result gives back an equal configuration.
    pub fn to_env(&self) -> BTreeMap<&'static str, String> {
        let mut env = BTreeMap::new();
        env.insert(vars::ADDRESS, self.address.to_string());
        env.insert(vars::PORT, self.port.to_string());
        env.insert(vars::DATABASE, self.database.display().to_string());
        env.insert(vars::TITLE, self.title.clone());
        env.insert(vars::RULESET, self.ruleset.to_string());
        env.insert(vars::SOLO, self.solo.to_string());
        env.insert(vars::DUO, self.duo.to_string());
        env.insert(vars::START_LEVEL_MIN, self.start_level_min.to_string());
        env.insert(vars::START_LEVEL_MAX, self.start_level_max.to_string());
        env.insert(vars::SCOREBOARD_SIZE, self.scoreboard_size.to_string());
        env.insert(vars::MAX_ROOMS, self.max_rooms.to_string());
        env.insert(vars::MAX_CONNECTIONS, self.max_connections.to_string());
        env.insert(vars::RECONNECT_GRACE_SECONDS, self.reconnect_grace_seconds.to_string());
        env.insert(vars::DRAIN_SECONDS, self.drain_seconds.to_string());
        env.insert(vars::ALLOWED_ORIGINS, self.allowed_origins.join(","));
        env.insert(vars::LOG_LEVEL, self.log_level.to_string());
        env.insert(vars::METRICS_PORT, self.metrics_port.map(|p| p.to_string()).unwrap_or_default());
        env
    }

    /// `TETRIS_*` variables present in `names` that this version does not know.
    pub fn unknown_vars<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
        names.into_iter().filter(|n| n.starts_with("TETRIS_") && !vars::ALL.contains(n)).collect()
    }
}

fn parse_bool(var: &'static str, v: &str) -> Result<bool, ConfigError> {
    match v.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ConfigError::new(var, v, "must be true or false")),
    }
}

fn parse_num<T>(var: &'static str, v: &str, min: T, max: T) -> Result<T, ConfigError>
where
    T: FromStr + PartialOrd + fmt::Display + Copy,
{
    let range = || format!("must be a whole number from {min} to {max}");
    let n: T = v.trim().parse().map_err(|_| ConfigError::new(var, v, range()))?;
    if n < min || n > max {
        return Err(ConfigError::new(var, v, range()));
    }
    Ok(n)
}

fn valid_origin(origin: &str) -> bool {
    let rest = match origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://")) {
        Some(rest) => rest,
        None => return false,
    };
    origin.len() <= limits::MAX_ORIGIN_BYTES
        && !rest.is_empty()
        && rest.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(pairs: &[(&str, &str)]) -> Result<GameConfig, ConfigError> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        GameConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn empty_environment_gives_defaults() {
        assert_eq!(parse(&[]).expect("defaults are valid"), GameConfig::default());
    }

    #[test]
    fn rendered_environment_parses_back_to_the_same_config() {
        let config = GameConfig {
            address: "127.0.0.1".parse().expect("literal IP"),
            port: 9000,
            database: "/tmp/x.db".into(),
            title: "Friday <Tetris> & co".into(),
            ruleset: Ruleset::Modern,
            solo: false,
            duo: true,
            start_level_min: 3,
            start_level_max: 19,
            scoreboard_size: 25,
            max_rooms: 7,
            max_connections: 50,
            reconnect_grace_seconds: 0,
            drain_seconds: 120,
            allowed_origins: vec!["https://tetris.example.com".into(), "http://localhost:8080".into()],
            log_level: LogLevel::Debug,
            metrics_port: Some(9090),
        };
        let env = config.to_env();
        assert_eq!(env.len(), vars::ALL.len(), "every variable is rendered");
        let back = GameConfig::from_lookup(|k| env.get(k).cloned()).expect("rendered config parses");
        assert_eq!(back, config);
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        let cases = [
            (vars::PORT, "70000"),
            (vars::PORT, "http"),
            (vars::ADDRESS, "localhost"),
            (vars::DATABASE, " "),
            (vars::RULESET, "tengen"),
            (vars::SOLO, "yes"),
            (vars::START_LEVEL_MAX, "30"),
            (vars::SCOREBOARD_SIZE, "0"),
            (vars::MAX_ROOMS, "-1"),
            (vars::DRAIN_SECONDS, "3601"),
            (vars::ALLOWED_ORIGINS, "tetris.example.com"),
            (vars::LOG_LEVEL, "verbose"),
            (vars::TITLE, ""),
            (vars::METRICS_PORT, "0"),
            (vars::METRICS_PORT, "8080"),
        ];
        for (var, value) in cases {
            let err = parse(&[(var, value)]).expect_err(var);
            assert_eq!(err.var, var, "{value:?} for {var} blamed {}", err.var);
            assert!(err.to_string().contains(var), "message names the variable: {err}");
        }
    }

    #[test]
    fn start_level_range_must_be_ordered() {
        let err =
            parse(&[(vars::START_LEVEL_MIN, "8"), (vars::START_LEVEL_MAX, "5")]).expect_err("min > max");
        assert_eq!(err.var, vars::START_LEVEL_MIN);
    }

    #[test]
    fn at_least_one_mode_is_on() {
        assert!(parse(&[(vars::SOLO, "false"), (vars::DUO, "false")]).is_err());
        assert!(parse(&[(vars::SOLO, "false")]).is_ok());
    }

    #[test]
    fn unknown_tetris_variables_are_listed() {
        let names = ["TETRIS_PORT", "TETRIS_COLOUR", "HOME"];
        assert_eq!(GameConfig::unknown_vars(names), vec!["TETRIS_COLOUR"]);
    }

    #[test]
    fn huge_values_are_truncated_in_errors() {
        let huge = "9".repeat(10_000);
        let err = parse(&[(vars::PORT, &huge)]).expect_err("too large");
        assert!(err.value.len() <= 100);
    }
}
