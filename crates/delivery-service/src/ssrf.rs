//! The SSRF guard of webhook deliveries: targets on loopback, private, link-local, CGNAT,
//! multicast, unspecified or cloud-metadata addresses are refused unless their range is
//! allow-listed. Names are resolved by our own resolver, which drops refused addresses, and
//! the connection goes to the addresses it returned (so a DNS answer cannot change between the
//! check and the connect). IP literals in URLs and redirects are checked before any request.

use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Which addresses deliveries may reach.
#[derive(Debug, Clone)]
pub struct Guard {
    enabled: bool,
    allow: Vec<IpNet>,
}

/// Refused target.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "destination address {0} is not allowed (private, loopback or metadata address; see DESTINATIONS_WEBHOOK_ALLOWED_CIDRS)"
)]
pub struct Blocked(pub IpAddr);

impl Guard {
    /// A guard; `allow` are CIDR strings (a bare address is a /32 or /128).
    pub fn new(enabled: bool, allow: &[String]) -> Result<Self, String> {
        let allow = allow
            .iter()
            .map(|c| {
                c.parse::<IpNet>()
                    .or_else(|_| c.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("invalid address range {c:?}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { enabled, allow })
    }

    /// A guard that allows everything.
    pub fn off() -> Self {
        Self {
            enabled: false,
            allow: Vec::new(),
        }
    }

    /// Whether `ip` may be reached.
    pub fn allows(&self, ip: IpAddr) -> bool {
        !self.enabled || !is_internal(ip) || self.allow.iter().any(|n| n.contains(&ip))
    }

    /// Checks an address.
    pub fn check(&self, ip: IpAddr) -> Result<(), Blocked> {
        if self.allows(ip) {
            Ok(())
        } else {
            Err(Blocked(ip))
        }
    }
}

/// Whether an address is internal (not on the public internet).
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..=127).contains(&o[1]))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (18..=19).contains(&o[1]))
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x64 && s[1] == 0xff9b)
        }
    }
}

/// A DNS resolver that drops addresses the guard refuses.
pub struct GuardedResolver {
    guard: Arc<Guard>,
}

impl GuardedResolver {
    /// A resolver enforcing `guard`.
    pub fn new(guard: Arc<Guard>) -> Self {
        Self { guard }
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.guard.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = addrs
                .iter()
                .copied()
                .filter(|a| guard.allows(a.ip()))
                .collect();
            if allowed.is_empty()
                && let Some(first) = addrs.first()
            {
                return Err(
                    Box::new(Blocked(first.ip())) as Box<dyn std::error::Error + Send + Sync>
                );
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_ranges() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn allow_list_opens_ranges() {
        let g = Guard::new(true, &["127.0.0.0/8".into()]).unwrap();
        assert!(g.allows("127.0.0.1".parse().unwrap()));
        assert!(!g.allows("10.0.0.1".parse().unwrap()));
        assert!(!g.allows("169.254.169.254".parse().unwrap()));
        assert!(Guard::off().allows("10.0.0.1".parse().unwrap()));
        assert!(Guard::new(true, &["nope".into()]).is_err());
    }

    #[tokio::test]
    async fn resolver_drops_blocked_addresses() {
        use reqwest::dns::Resolve;
        let r = GuardedResolver::new(Arc::new(Guard::new(true, &[]).unwrap()));
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        assert!(
            r.resolve(name).await.is_err(),
            "localhost resolves to loopback only"
        );
        let r = GuardedResolver::new(Arc::new(
            Guard::new(true, &["127.0.0.0/8".into(), "::1/128".into()]).unwrap(),
        ));
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        assert!(r.resolve(name).await.unwrap().count() >= 1);
    }
}
