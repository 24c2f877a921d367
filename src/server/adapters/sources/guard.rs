//! Which addresses a search may read. Without `scrape.allow_private_addresses`, a campaign could
//! otherwise make the server read its own network: the cloud metadata service at
//! 169.254.169.254, an admin panel on 127.0.0.1, a database on 10.0.0.5.
//!
//! The rule is kept where every connection passes: the resolver (so a name that resolves, or
//! later re-resolves, to a private address is never connected to), the redirect policy, and a
//! look at each request's IP-literal host, which reqwest connects to without resolving.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;

use crate::protocol::failure::{Blocked, Target};
use crate::protocol::problem::{AddressKind, SourceRule};

/// The redirects one request follows, as reqwest's default policy.
const MAX_REDIRECTS: usize = 10;

/// An address searches may not read, and what kind it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Forbidden {
    pub(super) ip: IpAddr,
    kind: AddressKind,
}

impl fmt::Display for Forbidden {
    /// "a private address (10.0.0.5)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} address ({})", self.kind.english(), self.ip)
    }
}

impl Forbidden {
    /// "{what} points at a private address (10.0.0.5), which searches may not read; …".
    /// The rule a source's setting `field` (set to `value`) breaks by naming this address.
    pub(super) fn rule(&self, field: &str, value: &str) -> SourceRule {
        SourceRule::PrivateAddress {
            field: field.to_owned(),
            value: value.to_owned(),
            kind: self.kind,
            ip: self.ip.to_string(),
        }
    }

    /// The refusal of a request for `what` that would reach this address.
    pub(super) fn blocked(&self, what: Target) -> Blocked {
        Blocked::Address {
            what,
            kind: self.kind,
            ip: self.ip.to_string(),
        }
    }
}

/// Why `ip` may not be read, or `None` for a public address.
pub(super) fn forbidden(ip: IpAddr) -> Option<Forbidden> {
    let kind = match ip {
        IpAddr::V4(v4) => v4_kind(v4),
        IpAddr::V6(v6) => v6_kind(v6),
    }?;
    Some(Forbidden { ip, kind })
}

fn v4_kind(ip: Ipv4Addr) -> Option<AddressKind> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some(AddressKind::Loopback)
    } else if ip.is_private() {
        Some(AddressKind::Private)
    } else if ip.is_link_local() {
        Some(AddressKind::LinkLocal)
    } else if a == 0 {
        // 0.0.0.0/8 means "this host" to Linux's connect().
        Some(AddressKind::Unspecified)
    } else if ip.is_broadcast() {
        Some(AddressKind::Broadcast)
    } else if a == 100 && (64..128).contains(&b) {
        Some(AddressKind::CarrierGradeNat)
    } else {
        None
    }
}

fn v6_kind(ip: Ipv6Addr) -> Option<AddressKind> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some(AddressKind::Loopback)
    } else if ip.is_unspecified() {
        Some(AddressKind::Unspecified)
    } else if first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfec0 {
        // fc00::/7 unique local, and the deprecated site-local fec0::/10 some stacks still route.
        Some(AddressKind::Private)
    } else if first & 0xffc0 == 0xfe80 {
        Some(AddressKind::LinkLocal)
    } else {
        // An IPv4 address dressed as IPv6 reaches the IPv4 host: ::ffff:a.b.c.d (mapped),
        // ::a.b.c.d (compatible) and 64:ff9b::a.b.c.d (NAT64).
        let [s0, s1, s2, s3, s4, s5, _, _] = ip.segments();
        let octets = ip.octets();
        let embedded = Ipv4Addr::new(octets[12], octets[13], octets[14], octets[15]);
        let wraps_v4 = matches!(
            (s0, s1, s2, s3, s4, s5),
            (0, 0, 0, 0, 0, 0xffff) | (0, 0, 0, 0, 0, 0) | (0x64, 0xff9b, 0, 0, 0, 0)
        );
        wraps_v4.then(|| v4_kind(embedded)).flatten()
    }
}

/// Why `url` may not be read because its host is an IP literal, which reqwest connects to
/// without asking the resolver.
pub(super) fn forbidden_literal(url: &Url) -> Option<Forbidden> {
    let host = url.host_str()?;
    // The URL parser has already put every IPv4 spelling (0x7f000001, 127.1) in dotted form.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    forbidden(bare.parse::<IpAddr>().ok()?)
}

/// `forbidden_literal`, and `localhost` too (RFC 6761: it is loopback on every system), for
/// checks made before anything is resolved.
pub(super) fn forbidden_host(url: &Url) -> Option<Forbidden> {
    if let Some(forbidden) = forbidden_literal(url) {
        return Some(forbidden);
    }
    let name = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
    (name == "localhost" || name.ends_with(".localhost")).then_some(Forbidden {
        ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        kind: AddressKind::Loopback,
    })
}

/// Where one context's requests may go.
#[derive(Clone, Debug)]
pub(super) enum Reach {
    /// Anywhere (`scrape.allow_private_addresses`).
    Anywhere,
    /// Public addresses only.
    Public,
    /// Only jobpulse's own origin, where the demo site is; `None` if it could not be read.
    Itself(Option<Url>),
}

impl Reach {
    /// Whether a request to `url`, named `what` in the refusal, may be sent. Only the IP-literal
    /// host is judged here: names are judged by `PublicResolver` when they are connected to.
    pub(super) fn check(&self, url: &Url, what: Target) -> Result<(), Refused> {
        match self {
            Reach::Anywhere => Ok(()),
            Reach::Public => match forbidden_literal(url) {
                Some(forbidden) => Err(Refused(forbidden.blocked(what))),
                None => Ok(()),
            },
            Reach::Itself(Some(own)) if own.origin() == url.origin() => Ok(()),
            Reach::Itself(own) => Err(Refused(Blocked::NotDemoSite {
                what,
                demo: own.as_ref().map(Url::to_string),
            })),
        }
    }
}

/// A request the guard stopped; found again in reqwest's error chain, so the source fails
/// with this sentence instead of retrying a connection that can never be allowed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.english())]
pub(super) struct Refused(pub(super) Blocked);

/// Resolves names with the system resolver, and keeps only the public addresses.
pub(super) struct PublicResolver;

impl Resolve for PublicResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let (public, private): (Vec<SocketAddr>, Vec<SocketAddr>) = found
                .into_iter()
                .partition(|addr| forbidden(addr.ip()).is_none());
            if public.is_empty() && !private.is_empty() {
                let addresses: Vec<String> = private.iter().map(|a| a.ip().to_string()).collect();
                return Err(Box::new(Refused(Blocked::Resolves { host, addresses })) as _);
            }
            let public: Addrs = Box::new(public.into_iter());
            Ok(public)
        })
    }
}

/// Follows redirects as reqwest does by default, but never to a forbidden IP literal (a
/// redirect to a name goes through `PublicResolver` like any request).
pub(super) fn redirect_policy() -> redirect::Policy {
    redirect::Policy::custom(|attempt| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            return attempt.error("too many redirects");
        }
        match forbidden_literal(attempt.url()) {
            Some(forbidden) => {
                let url = attempt.url().to_string();
                attempt.error(Refused(forbidden.blocked(Target::RedirectTo { url })))
            }
            None => attempt.follow(),
        }
    })
}

/// The guard's refusal inside a reqwest error, if that is why it failed.
pub(super) fn refusal(error: &reqwest::Error) -> Option<Refused> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(refused) = current.downcast_ref::<Refused>() {
            return Some(refused.clone());
        }
        cause = current.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(ip: &str) -> Option<String> {
        forbidden(ip.parse().unwrap()).map(|f| f.to_string())
    }

    #[test]
    fn private_and_special_addresses_are_forbidden() {
        for (ip, expected) in [
            ("127.0.0.1", "a loopback address (127.0.0.1)"),
            ("127.8.9.10", "a loopback address (127.8.9.10)"),
            ("10.0.0.5", "a private address (10.0.0.5)"),
            ("172.16.0.1", "a private address (172.16.0.1)"),
            ("172.31.255.255", "a private address (172.31.255.255)"),
            ("192.168.1.1", "a private address (192.168.1.1)"),
            ("169.254.169.254", "a link-local address (169.254.169.254)"),
            ("0.0.0.0", "an unspecified address (0.0.0.0)"),
            ("0.1.2.3", "an unspecified address (0.1.2.3)"),
            ("255.255.255.255", "a broadcast address (255.255.255.255)"),
            ("100.64.0.1", "a carrier-grade NAT address (100.64.0.1)"),
            (
                "100.127.255.255",
                "a carrier-grade NAT address (100.127.255.255)",
            ),
            ("::1", "a loopback address (::1)"),
            ("::", "an unspecified address (::)"),
            ("fc00::1", "a private address (fc00::1)"),
            ("fd12:3456::1", "a private address (fd12:3456::1)"),
            ("fe80::1", "a link-local address (fe80::1)"),
            ("febf::1", "a link-local address (febf::1)"),
            ("::ffff:127.0.0.1", "a loopback address (::ffff:127.0.0.1)"),
            (
                "::ffff:169.254.169.254",
                "a link-local address (::ffff:169.254.169.254)",
            ),
            ("::ffff:10.1.2.3", "a private address (::ffff:10.1.2.3)"),
            ("64:ff9b::10.0.0.1", "a private address (64:ff9b::a00:1)"),
        ] {
            assert_eq!(kind(ip).as_deref(), Some(expected), "{ip}");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for ip in [
            "93.184.215.14",
            "8.8.8.8",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert_eq!(kind(ip), None, "{ip}");
        }
    }

    #[test]
    fn literal_hosts_are_judged_in_every_spelling() {
        let host = |url: &str| forbidden_host(&Url::parse(url).unwrap()).map(|f| f.ip.to_string());
        // The URL parser normalises these the way the connection will read them.
        assert_eq!(host("http://0x7f000001/").as_deref(), Some("127.0.0.1"));
        assert_eq!(host("http://127.1:8080/").as_deref(), Some("127.0.0.1"));
        assert_eq!(host("http://2130706433/").as_deref(), Some("127.0.0.1"));
        assert_eq!(
            host("http://[::ffff:a00:5]/").as_deref(),
            Some("::ffff:10.0.0.5")
        );
        assert_eq!(host("http://LocalHost./").as_deref(), Some("127.0.0.1"));
        assert_eq!(host("http://api.localhost/").as_deref(), Some("127.0.0.1"));
        assert_eq!(host("https://example.com/"), None);
        assert_eq!(host("https://8.8.8.8/"), None);
    }

    #[test]
    fn refusals_say_what_to_change() {
        let refused = forbidden("10.0.0.5".parse().unwrap()).unwrap();
        assert_eq!(
            refused.blocked(Target::SearchUrl).english(),
            "the search URL points at a private address (10.0.0.5), which searches may not \
             read; an admin can allow it with scrape.allow_private_addresses"
        );
    }

    #[tokio::test]
    async fn the_resolver_drops_private_addresses() {
        let name: Name = "localhost".parse().unwrap();
        let error = match PublicResolver.resolve(name).await {
            Ok(addrs) => panic!("resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(error) => error,
        };
        let refused = error.downcast_ref::<Refused>().expect("a refusal");
        assert!(
            refused
                .to_string()
                .starts_with("localhost resolves only to private addresses (")
        );
        let name: Name = "127.0.0.1".parse().unwrap();
        assert!(PublicResolver.resolve(name).await.is_err());
    }

    /// A server on 127.0.0.1 that answers every request with a redirect to `location`.
    async fn redirecting_to(location: &'static str) -> SocketAddr {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut request = [0; 1024];
                let _ = stream.read(&mut request).await;
                let answer = format!(
                    "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\
                     Connection: close\r\n\r\n"
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            }
        });
        addr
    }

    #[tokio::test]
    async fn redirects_to_forbidden_literals_are_refused() {
        let client = reqwest::Client::builder()
            .redirect(redirect_policy())
            .no_proxy()
            .build()
            .unwrap();
        let addr = redirecting_to("http://[::ffff:a9fe:a9fe]/latest/meta-data/").await;
        let error = client
            .get(format!("http://{addr}/"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            refusal(&error).map(|r| r.to_string()).as_deref(),
            Some(
                "a redirect to http://[::ffff:a9fe:a9fe]/latest/meta-data/ points at a \
                 link-local address (::ffff:169.254.169.254), which searches may not read; an \
                 admin can allow it with scrape.allow_private_addresses"
            )
        );

        // A relative redirect lands on the same literal host, and is judged like any other.
        let addr = redirecting_to("/again").await;
        let error = client
            .get(format!("http://{addr}/"))
            .send()
            .await
            .unwrap_err();
        let refused = refusal(&error).expect("a refusal").to_string();
        assert!(
            refused.starts_with(&format!(
                "a redirect to http://{addr}/again points at a loopback"
            )),
            "{refused}"
        );
    }
}
