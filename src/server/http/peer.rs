//! Who is on the other end of a request: the client's address and whether it came over TLS.
//!
//! Forwarding headers (`X-Forwarded-For`, `X-Forwarded-Proto`) are believed only when the
//! connection comes from a configured trusted proxy; anyone else could write them to pose as
//! another address (and dodge the per-address login limit) or as an HTTPS page.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::ConnectInfo;
use http::request::Parts;

use crate::server::settings::TrustedProxy;

/// The client of a request, as far as this server can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    /// The client's address: the connection's, or the one a trusted proxy forwarded.
    pub address: IpAddr,
    /// The request reached us (or our trusted proxy) over TLS.
    pub secure: bool,
}

impl Peer {
    /// Works out the client of `parts`, believing forwarding headers only from `trusted`.
    pub fn of(parts: &Parts, trusted: &[TrustedProxy]) -> Peer {
        let connected = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
        let is_trusted = |ip: IpAddr| trusted.iter().any(|proxy| proxy.contains(ip));
        if !is_trusted(connected) {
            return Peer {
                address: connected,
                secure: parts.uri.scheme_str() == Some("https"),
            };
        }
        // Each proxy appends the address it heard from: read from the right, past our own proxies.
        let forwarded: Vec<IpAddr> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|hop| hop.trim().parse().ok())
            .collect();
        let address = forwarded
            .iter()
            .rev()
            .copied()
            .find(|&ip| !is_trusted(ip))
            .or_else(|| forwarded.first().copied())
            .unwrap_or(connected);
        let secure = parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
        Peer { address, secure }
    }

    /// This site's own origin as the client sees it (`https://host`), from the `Host` header.
    pub fn own_origin(&self, parts: &Parts) -> Option<String> {
        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()))?;
        let scheme = if self.secure { "https" } else { "http" };
        Some(format!("{scheme}://{}", host.to_ascii_lowercase()))
    }
}

/// True if a browser page at `origin` may talk to us: the site's own origin (scheme, host and
/// port), or one listed in `allowed_origins` (exact match).
pub fn origin_allowed(origin: &str, own: Option<&str>, allowed: &[String]) -> bool {
    let origin = origin.trim_end_matches('/').to_ascii_lowercase();
    if allowed.is_empty() {
        return own.is_some_and(|own| own == origin);
    }
    allowed
        .iter()
        .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(&origin))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(peer: &str, headers: &[(&str, &str)]) -> Parts {
        let mut request = http::Request::builder().uri("/api/login");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let (mut parts, _) = request.body(()).unwrap().into_parts();
        parts
            .extensions
            .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        parts
    }

    fn trusted() -> Vec<TrustedProxy> {
        vec!["10.0.0.0/8".parse().unwrap()]
    }

    #[test]
    fn forwarding_headers_from_anyone_else_are_ignored() {
        let parts = parts(
            "203.0.113.9:5000",
            &[
                ("x-forwarded-for", "198.51.100.1"),
                ("x-forwarded-proto", "https"),
            ],
        );
        let peer = Peer::of(&parts, &trusted());
        assert_eq!(peer.address, "203.0.113.9".parse::<IpAddr>().unwrap());
        assert!(!peer.secure);
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_its_scheme() {
        // The client wrote a fake first hop; our proxies appended what they really heard.
        let parts = parts(
            "10.0.0.2:5000",
            &[
                ("x-forwarded-for", "1.2.3.4, 198.51.100.7, 10.0.0.3"),
                ("x-forwarded-proto", "https"),
                ("host", "Jobs.Example.com"),
            ],
        );
        let peer = Peer::of(&parts, &trusted());
        assert_eq!(peer.address, "198.51.100.7".parse::<IpAddr>().unwrap());
        assert!(peer.secure);
        assert_eq!(
            peer.own_origin(&parts).as_deref(),
            Some("https://jobs.example.com")
        );
    }

    #[test]
    fn own_origin_is_matched_exactly_scheme_included() {
        let own = Some("https://app.example.com");
        assert!(origin_allowed("https://app.example.com", own, &[]));
        assert!(!origin_allowed("http://app.example.com", own, &[]));
        assert!(!origin_allowed("https://evil-app.example.com", own, &[]));
        assert!(!origin_allowed(
            "https://app.example.com.evil.net",
            own,
            &[]
        ));
        assert!(!origin_allowed("https://app.example.com:8443", own, &[]));
        assert!(!origin_allowed("null", own, &[]));
        assert!(!origin_allowed("https://app.example.com", None, &[]));
    }

    #[test]
    fn allowlist_is_matched_exactly() {
        let allowed = vec!["https://example.com".to_owned()];
        assert!(origin_allowed("https://example.com/", None, &allowed));
        assert!(!origin_allowed("https://evil-example.com", None, &allowed));
        assert!(!origin_allowed(
            "https://example.com.evil.net",
            None,
            &allowed
        ));
        assert!(!origin_allowed("http://example.com", None, &allowed));
    }
}
