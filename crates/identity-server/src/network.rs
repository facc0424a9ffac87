//! The network profile, enforced inside the binary as well as by its security group: a request
//! from outside the allowed networks gets 403 before any handler runs.
//!
//! The client address is the TCP peer's, unless the peer is a trusted proxy (the load balancer):
//! then it is the right-most `X-Forwarded-For` entry that is not itself a trusted proxy. Entries
//! further left were written by the client and prove nothing, so a client outside the allowed
//! networks cannot talk its way in with a forged header.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;

use crate::config::NetworkConfig;

#[derive(Debug, Clone)]
pub struct NetworkProfile(Arc<NetworkConfig>);

/// Paths open to the health networks as well as the allowed ones.
const HEALTH_PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

fn contains(nets: &[IpNet], ip: IpAddr) -> bool {
    let ip = canonical(ip);
    nets.iter().any(|n| n.contains(&ip))
}

/// `::ffff:10.0.0.1` is `10.0.0.1`: a dual-stack listener reports IPv4 peers this way.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

impl NetworkProfile {
    pub fn new(config: NetworkConfig) -> Self {
        Self(Arc::new(config))
    }

    /// Whether `peer` is a trusted proxy (the load balancer), whose `X-Forwarded-*` headers count.
    pub fn is_trusted_proxy(&self, peer: IpAddr) -> bool {
        contains(&self.0.trusted_proxies, peer)
    }

    /// The address a request comes from, honouring `X-Forwarded-For` only from trusted proxies.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !contains(&self.0.trusted_proxies, peer) {
            return peer;
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse::<IpAddr>().ok())
            .map(canonical)
            .collect();
        forwarded.into_iter().rev().find(|ip| !contains(&self.0.trusted_proxies, *ip)).unwrap_or(peer)
    }

    /// The health paths are also open to loopback: the container's own health check (see
    /// `deploy/*/task-definition.json`) calls them from inside the task.
    pub fn allows(&self, client: IpAddr, path: &str) -> bool {
        contains(&self.0.allowed_networks, client)
            || (HEALTH_PATHS.contains(&path)
                && (canonical(client).is_loopback() || contains(&self.0.health_networks, client)))
    }

    /// The 403 for a request from outside the profile, if it is one. Needs the server to be run
    /// with `into_make_service_with_connect_info::<Peer>()` (`serve.rs`); without a peer address it
    /// refuses.
    pub(crate) fn refusal(&self, req: &Request) -> Option<Response> {
        let Some(ConnectInfo(crate::serve::Peer(peer))) =
            req.extensions().get::<ConnectInfo<crate::serve::Peer>>().copied()
        else {
            return Some((StatusCode::FORBIDDEN, "forbidden: unknown client address\n").into_response());
        };
        let client = self.client_ip(peer.ip(), req.headers());
        if self.allows(client, req.uri().path()) {
            return None;
        }
        // The route template, not the path: a path can hold a person's id (`/api/sso/{id}`).
        let route = req.extensions().get::<axum::extract::MatchedPath>().map_or("unmatched", |m| m.as_str());
        tracing::warn!(client.ip = %client, http.route = route, "refused by the network profile");
        Some((StatusCode::FORBIDDEN, "forbidden: your network may not call this service\n").into_response())
    }
}

/// Whether a path is one of the health routes every binary has.
pub(crate) fn is_health_path(path: &str) -> bool {
    HEALTH_PATHS.contains(&path)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn profile() -> NetworkProfile {
        NetworkProfile::new(NetworkConfig {
            allowed_networks: nets(&["10.1.0.0/16"]),
            trusted_proxies: nets(&["10.9.0.0/24"]),
            health_networks: nets(&["10.9.0.0/24"]),
        })
    }

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn direct_clients_are_judged_by_their_own_address() {
        let p = profile();
        assert_eq!(p.client_ip(ip("10.1.2.3"), &HeaderMap::new()), ip("10.1.2.3"));
        assert!(p.allows(ip("10.1.2.3"), "/api/v1/people"));
        assert!(!p.allows(ip("192.168.1.1"), "/api/v1/people"));
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let p = profile();
        // Through the load balancer: the right-most untrusted entry is the client.
        assert_eq!(p.client_ip(ip("10.9.0.5"), &xff("10.1.2.3")), ip("10.1.2.3"));
        assert_eq!(p.client_ip(ip("10.9.0.5"), &xff("1.2.3.4, 10.1.2.3, 10.9.0.7")), ip("10.1.2.3"));
        // A client forging the header through the proxy: its own address is appended last.
        assert_eq!(p.client_ip(ip("10.9.0.5"), &xff("10.1.2.3, 203.0.113.9")), ip("203.0.113.9"));
        // An untrusted peer's header is ignored.
        assert_eq!(p.client_ip(ip("203.0.113.9"), &xff("10.1.2.3")), ip("203.0.113.9"));
        // Garbage entries are skipped; nothing usable means the proxy itself.
        assert_eq!(p.client_ip(ip("10.9.0.5"), &xff("not-an-ip")), ip("10.9.0.5"));
    }

    #[test]
    fn health_networks_reach_health_routes_only() {
        let p = profile();
        assert!(p.allows(ip("10.9.0.5"), "/healthz"));
        assert!(p.allows(ip("10.9.0.5"), "/metrics"));
        assert!(!p.allows(ip("10.9.0.5"), "/scim/v2/Users"));
    }

    #[test]
    fn the_containers_own_health_check_is_allowed() {
        let p = profile();
        assert!(p.allows(ip("127.0.0.1"), "/healthz"));
        assert!(p.allows(ip("::1"), "/readyz"));
        assert!(!p.allows(ip("127.0.0.1"), "/scim/v2/Users"), "loopback is not a client network");
    }

    #[test]
    fn ipv4_mapped_addresses_count_as_ipv4() {
        assert!(profile().allows(profile().client_ip(ip("::ffff:10.1.0.9"), &HeaderMap::new()), "/x"));
    }

    #[test]
    fn the_default_profile_allows_loopback_only() {
        let p = NetworkProfile::new(NetworkConfig::default());
        assert!(p.allows(ip("127.0.0.1"), "/x"));
        assert!(p.allows(ip("::1"), "/x"));
        assert!(!p.allows(ip("10.0.0.1"), "/x"));
    }
}
