//! Settings of this server beyond the shared contract in `tetris_config` (which the operator and
//! the server both compile): score verification and per-client limits. Each is a `TETRIS_*`
//! environment variable that the operator sets from the TetrisApp; an invalid value stops the
//! server at start with a message naming the variable, as `GameConfig` does.

use crate::rules::{RULES_VERSION, RULES_VERSIONS};
use std::net::IpAddr;

/// Names of the variables read here (declared in the shared contract, which the operator renders).
pub use tetris_config::server_vars as vars;

/// A network in CIDR notation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `10.0.0.0/8`, `fd00::/8` or a bare address (a single host).
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (s.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    /// Whether `ip` is inside this network (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Where scores are kept ([`vars::SCOREBOARD_BACKEND`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Backend {
    /// The SQLite file at `TETRIS_DATABASE` (one node).
    #[default]
    Sqlite,
    /// PostgreSQL at [`vars::DATABASE_URL`], pool bounded by [`vars::DATABASE_POOL_SIZE`].
    Postgres(crate::scoreboard::postgres::PgOptions),
}

impl Backend {
    /// `sqlite` or `postgres`.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

/// The settings read here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// [`vars::SCOREBOARD_BACKEND`] with its connection settings.
    pub backend: Backend,
    /// [`vars::POD_IP`]: where other replicas reach the duo rooms this server hosts (`None`: rooms
    /// are reachable only through this server itself).
    pub pod_ip: Option<IpAddr>,
    /// [`vars::RULES_VERSION`].
    pub rules_version: u8,
    /// [`vars::REPLAY_THREADS`].
    pub replay_threads: usize,
    /// [`vars::TRUSTED_PROXIES`].
    pub trusted_proxies: Vec<Cidr>,
    /// [`vars::MAX_CONNECTIONS_PER_CLIENT`] (0: none).
    pub max_connections_per_client: u32,
    /// [`vars::MAX_ROOMS_PER_CLIENT`] (0: none).
    pub max_rooms_per_client: u32,
    /// [`vars::SUBMITS_PER_MINUTE_PER_CLIENT`] (0: none).
    pub submits_per_minute_per_client: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            backend: Backend::Sqlite,
            pod_ip: None,
            rules_version: RULES_VERSION,
            replay_threads: crate::verify::pool::ReplayPool::default_threads(),
            trusted_proxies: Vec::new(),
            max_connections_per_client: 0,
            max_rooms_per_client: 0,
            submits_per_minute_per_client: 0,
        }
    }
}

/// An invalid setting: names the variable and the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}={value:?} is invalid: {reason}")]
pub struct SettingsError {
    /// The variable.
    pub var: &'static str,
    /// Its value.
    pub value: String,
    /// What a valid value looks like.
    pub reason: String,
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Settings, SettingsError> {
        Settings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        let mut s = Settings::default();
        let bad = |var: &'static str, value: &str, reason: &str| SettingsError {
            var,
            value: value.chars().take(200).collect(),
            reason: reason.into(),
        };
        if let Some(v) = lookup(vars::RULES_VERSION) {
            s.rules_version = v
                .trim()
                .parse()
                .ok()
                .filter(|n| RULES_VERSIONS.contains(n))
                .ok_or_else(|| bad(vars::RULES_VERSION, &v, "must be 1 or 2"))?;
        }
        if let Some(v) = lookup(vars::REPLAY_THREADS) {
            s.replay_threads = v
                .trim()
                .parse()
                .ok()
                .filter(|n| (1..=64).contains(n))
                .ok_or_else(|| bad(vars::REPLAY_THREADS, &v, "must be a whole number from 1 to 64"))?;
        }
        if let Some(v) = lookup(vars::TRUSTED_PROXIES) {
            s.trusted_proxies = v
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| {
                    Cidr::parse(p).ok_or_else(|| {
                        bad(vars::TRUSTED_PROXIES, &v, "must be CIDRs such as 10.0.0.0/8, comma-separated")
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        for (var, field) in [
            (vars::MAX_CONNECTIONS_PER_CLIENT, &mut s.max_connections_per_client),
            (vars::MAX_ROOMS_PER_CLIENT, &mut s.max_rooms_per_client),
            (vars::SUBMITS_PER_MINUTE_PER_CLIENT, &mut s.submits_per_minute_per_client),
        ] {
            if let Some(v) = lookup(var) {
                *field = v
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n| *n <= 100_000)
                    .ok_or_else(|| bad(var, &v, "must be a whole number from 0 (no limit) to 100000"))?;
            }
        }
        let backend = lookup(vars::SCOREBOARD_BACKEND);
        match backend.as_deref().map(str::trim) {
            None | Some("" | "sqlite") => {}
            Some("postgres") => {
                let url = lookup(vars::DATABASE_URL).unwrap_or_default();
                // Checked here, so a bad URI stops the server before it binds (and never echoes
                // the URI: it holds the password).
                crate::scoreboard::postgres::parse_url(&url).map_err(|reason| SettingsError {
                    var: vars::DATABASE_URL,
                    value: "<redacted>".into(),
                    reason,
                })?;
                let pool_size = match lookup(vars::DATABASE_POOL_SIZE) {
                    None => crate::scoreboard::postgres::DEFAULT_POOL_SIZE,
                    Some(v) => v
                        .trim()
                        .parse()
                        .ok()
                        .filter(|n| (1..=crate::scoreboard::postgres::MAX_POOL_SIZE).contains(n))
                        .ok_or_else(|| {
                            bad(vars::DATABASE_POOL_SIZE, &v, "must be a whole number from 1 to 100")
                        })?,
                };
                s.backend = Backend::Postgres(crate::scoreboard::postgres::PgOptions { url, pool_size });
            }
            Some(_) => {
                let v = backend.unwrap_or_default();
                return Err(bad(vars::SCOREBOARD_BACKEND, &v, "must be sqlite or postgres"));
            }
        }
        if let Some(v) = lookup(vars::POD_IP).filter(|v| !v.trim().is_empty()) {
            s.pod_ip = Some(v.trim().parse().map_err(|_| bad(vars::POD_IP, &v, "must be an IP address"))?);
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_and_every_setting_parse() {
        assert_eq!(from(&[]), Ok(Settings::default()));
        let s = from(&[
            (vars::RULES_VERSION, "1"),
            (vars::REPLAY_THREADS, "3"),
            (vars::TRUSTED_PROXIES, "10.0.0.0/8, fd00::/8,127.0.0.1"),
            (vars::MAX_CONNECTIONS_PER_CLIENT, "0"),
            (vars::MAX_ROOMS_PER_CLIENT, "5"),
            (vars::SUBMITS_PER_MINUTE_PER_CLIENT, "60"),
        ])
        .expect("valid");
        assert_eq!((s.rules_version, s.replay_threads, s.trusted_proxies.len()), (1, 3, 3));
        assert_eq!(
            (s.max_connections_per_client, s.max_rooms_per_client, s.submits_per_minute_per_client),
            (0, 5, 60)
        );
    }

    #[test]
    fn invalid_values_name_the_variable() {
        for (var, value) in [
            (vars::RULES_VERSION, "3"),
            (vars::REPLAY_THREADS, "0"),
            (vars::TRUSTED_PROXIES, "10.0.0.0/33"),
            (vars::TRUSTED_PROXIES, "proxy.local"),
            (vars::MAX_ROOMS_PER_CLIENT, "-1"),
        ] {
            let err = from(&[(var, value)]).expect_err(value);
            assert_eq!(err.var, var);
            assert!(err.to_string().starts_with(var), "{err}");
        }
    }

    #[test]
    fn the_postgres_backend_needs_a_usable_uri_and_a_bounded_pool() {
        use crate::scoreboard::postgres::PgOptions;
        let url = "postgresql://app:pw@cluster-rw.games.svc:5432/app";
        let s = from(&[
            (vars::SCOREBOARD_BACKEND, "postgres"),
            (vars::DATABASE_URL, url),
            (vars::DATABASE_POOL_SIZE, "4"),
            (vars::POD_IP, "10.1.2.3"),
        ])
        .expect("a CloudNativePG app URI as it is");
        assert_eq!(s.backend, Backend::Postgres(PgOptions { url: url.into(), pool_size: 4 }));
        assert_eq!(s.pod_ip, Some("10.1.2.3".parse().expect("ip")));
        assert!(!format!("{s:?}").contains("pw"), "Debug never shows the password");
        for (pairs, var) in [
            (vec![(vars::SCOREBOARD_BACKEND, "postgres")], vars::DATABASE_URL),
            (vec![(vars::SCOREBOARD_BACKEND, "mysql")], vars::SCOREBOARD_BACKEND),
            (
                vec![
                    (vars::SCOREBOARD_BACKEND, "postgres"),
                    (vars::DATABASE_URL, "postgresql://h/db?sslmode=verify-full"),
                ],
                vars::DATABASE_URL,
            ),
            (
                vec![
                    (vars::SCOREBOARD_BACKEND, "postgres"),
                    (vars::DATABASE_URL, "postgresql://u:pw@h/db?sslmode=bogus"),
                ],
                vars::DATABASE_URL,
            ),
            (
                vec![
                    (vars::SCOREBOARD_BACKEND, "postgres"),
                    (vars::DATABASE_URL, url),
                    (vars::DATABASE_POOL_SIZE, "0"),
                ],
                vars::DATABASE_POOL_SIZE,
            ),
            (vec![(vars::POD_IP, "pod-a")], vars::POD_IP),
        ] {
            let err = from(&pairs).expect_err(var);
            assert_eq!(err.var, var, "{err}");
            assert!(!err.to_string().contains("pw"), "the password leaked: {err}");
        }
        // sqlite (the default) ignores the PostgreSQL settings.
        let s = from(&[(vars::DATABASE_URL, "not a uri")]).expect("unused");
        assert_eq!(s.backend, Backend::Sqlite);
    }

    #[test]
    fn cidrs_match_their_networks_only() {
        let net = Cidr::parse("10.1.0.0/16").expect("cidr");
        assert!(net.contains("10.1.200.3".parse().expect("ip")));
        assert!(net.contains("::ffff:10.1.0.9".parse().expect("ip")), "IPv4-mapped IPv6");
        assert!(!net.contains("10.2.0.1".parse().expect("ip")));
        assert!(Cidr::parse("0.0.0.0/0").expect("any").contains("192.0.2.1".parse().expect("ip")));
        assert!(Cidr::parse("fd00::/8").expect("v6").contains("fd12::1".parse().expect("ip")));
        assert!(!Cidr::parse("127.0.0.1").expect("host").contains("127.0.0.2".parse().expect("ip")));
    }
}
