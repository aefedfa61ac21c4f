//! Per-client limits: open WebSocket connections, open duo rooms and score submissions per
//! minute, counted per client address. Behind a proxy every connection comes from the proxy, so the
//! client is the address in `X-Forwarded-For`, believed only when the connection comes from a
//! trusted proxy (`TETRIS_TRUSTED_PROXIES`); anyone else could write that header.
//!
//! Counts live in maps keyed by address. A connection slot and a room slot are RAII guards (the
//! count drops with the guard), so no code path can forget to give one back; the submit windows
//! are pruned when the map grows, so a flood from many addresses cannot grow it without bound.

use crate::settings::{Cidr, Settings};
use axum::http::HeaderMap;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Addresses whose submit window is kept before old windows are pruned.
const MAX_TRACKED: usize = 100_000;
/// Longest `X-Forwarded-For` looked at (hops); a longer header is not believed past this.
const MAX_HOPS: usize = 16;
const WINDOW: Duration = Duration::from_secs(60);

/// The client address of a request that arrived from `peer`: the right-most `X-Forwarded-For`
/// address that is not a trusted proxy, when `peer` itself is one; otherwise `peer`.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev().take(MAX_HOPS) {
        // A hop that is not an address ends what can be believed: keep the last good one.
        let Ok(ip) = hop.parse::<IpAddr>() else { break };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

#[derive(Default)]
struct Counts {
    conns: HashMap<IpAddr, u32>,
    rooms: HashMap<IpAddr, u32>,
    submits: HashMap<IpAddr, (Instant, u32)>,
}

/// The per-client counters and their limits (0: no limit).
pub struct ClientLimits {
    max_conns: u32,
    max_rooms: u32,
    submits_per_minute: u32,
    /// The trusted proxies, for [`client_ip`].
    pub trusted: Vec<Cidr>,
    /// A std Mutex: held for a map update, never across an await.
    counts: Mutex<Counts>,
}

impl std::fmt::Debug for ClientLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientLimits")
    }
}

/// Which count a [`Slot`] holds.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Conn,
    Room,
}

/// One open connection or room of a client; the count drops with it.
#[derive(Debug)]
pub struct Slot {
    limits: Arc<ClientLimits>,
    ip: IpAddr,
    kind: Kind,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = self.limits.lock();
        let map = match self.kind {
            Kind::Conn => &mut c.conns,
            Kind::Room => &mut c.rooms,
        };
        if let Some(n) = map.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

impl ClientLimits {
    /// Limits from `settings`.
    pub fn new(settings: &Settings) -> Arc<Self> {
        Arc::new(ClientLimits {
            max_conns: settings.max_connections_per_client,
            max_rooms: settings.max_rooms_per_client,
            submits_per_minute: settings.submits_per_minute_per_client,
            trusted: settings.trusted_proxies.clone(),
            counts: Mutex::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn take(self: &Arc<Self>, ip: IpAddr, kind: Kind) -> Option<Slot> {
        let limit = match kind {
            Kind::Conn => self.max_conns,
            Kind::Room => self.max_rooms,
        };
        let mut c = self.lock();
        let map = match kind {
            Kind::Conn => &mut c.conns,
            Kind::Room => &mut c.rooms,
        };
        let n = map.entry(ip).or_insert(0);
        if limit != 0 && *n >= limit {
            return None;
        }
        *n += 1;
        Some(Slot { limits: self.clone(), ip, kind })
    }

    /// A connection slot for `ip`, or `None` at `TETRIS_MAX_CONNECTIONS_PER_CLIENT`.
    pub fn connection(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        self.take(ip, Kind::Conn)
    }

    /// A room slot for `ip`, or `None` at `TETRIS_MAX_ROOMS_PER_CLIENT`.
    pub fn room(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        self.take(ip, Kind::Room)
    }

    /// Counts a submission of `ip`; false once it made `TETRIS_SUBMITS_PER_MINUTE_PER_CLIENT` in
    /// the current minute.
    pub fn submit(&self, ip: IpAddr) -> bool {
        if self.submits_per_minute == 0 {
            return true;
        }
        let now = Instant::now();
        let mut c = self.lock();
        if c.submits.len() >= MAX_TRACKED {
            c.submits.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let (start, n) = c.submits.entry(ip).or_insert((now, 0));
        if now.duration_since(*start) >= WINDOW {
            (*start, *n) = (now, 0);
        }
        if *n >= self.submits_per_minute {
            return false;
        }
        *n += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let trusted = vec![Cidr::parse("10.0.0.0/8").expect("cidr")];
        let h = xff(&["203.0.113.9, 10.1.2.3"]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &h, &trusted),
            ip("203.0.113.9"),
            "proxy chain inside the cluster"
        );
        assert_eq!(
            client_ip(ip("198.51.100.7"), &h, &trusted),
            ip("198.51.100.7"),
            "a client writing the header"
        );
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &[]), ip("10.0.0.1"), "no trusted proxies: the peer");
        // The right-most untrusted hop is the client: a client-written left part is ignored.
        let spoofed = xff(&["1.2.3.4", "203.0.113.9"]);
        assert_eq!(client_ip(ip("10.0.0.1"), &spoofed, &trusted), ip("203.0.113.9"));
        assert_eq!(client_ip(ip("10.0.0.1"), &xff(&["junk, 203.0.113.9"]), &trusted), ip("203.0.113.9"));
        assert_eq!(client_ip(ip("10.0.0.1"), &xff(&["203.0.113.9, junk"]), &trusted), ip("10.0.0.1"));
        assert_eq!(client_ip(ip("10.0.0.1"), &HeaderMap::new(), &trusted), ip("10.0.0.1"));
    }

    #[test]
    fn slots_are_limited_per_address_and_given_back_on_drop() {
        let settings =
            Settings { max_connections_per_client: 2, max_rooms_per_client: 1, ..Settings::default() };
        let limits = ClientLimits::new(&settings);
        let a = ip("192.0.2.1");
        let (one, two) = (limits.connection(a), limits.connection(a));
        assert!(one.is_some() && two.is_some());
        assert!(limits.connection(a).is_none(), "a third connection from the same address");
        assert!(limits.connection(ip("192.0.2.2")).is_some(), "another address has its own count");
        drop(one);
        assert!(limits.connection(a).is_some(), "a closed connection gives its slot back");
        let room = limits.room(a);
        assert!(room.is_some() && limits.room(a).is_none());
        drop(room);
        assert!(limits.room(a).is_some());
    }

    #[test]
    fn submits_are_counted_per_minute() {
        let limits = ClientLimits::new(&Settings { submits_per_minute_per_client: 3, ..Settings::default() });
        let a = ip("192.0.2.1");
        assert_eq!((0..5).filter(|_| limits.submit(a)).count(), 3);
        assert!(limits.submit(ip("192.0.2.2")));
    }
}
