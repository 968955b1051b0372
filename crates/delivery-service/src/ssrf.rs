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
            // Addresses that carry an IPv4 address: judged by it.
            let embedded = |hi: u16, lo: u16| {
                IpAddr::V4(std::net::Ipv4Addr::from(
                    (u32::from(hi) << 16) | u32::from(lo),
                ))
            };
            if s[0] == 0x2002 {
                // 6to4
                return is_internal(embedded(s[1], s[2]));
            }
            if s[..6] == [0; 6] {
                // IPv4-compatible (deprecated) `::a.b.c.d`
                return true;
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link local
                || (s[0] & 0xffc0) == 0xfec0 // site local (deprecated)
                || (s[0] == 0x64 && s[1] == 0xff9b) // NAT64
                || (s[0] == 0x2001 && s[1] == 0) // Teredo
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || s[0] == 0x0100 && s[1..4] == [0; 3] // discard-only
        }
    }
}

/// The answer of a [`Lookup`].
pub type LookupFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>;

/// A resolution failure: the name's addresses are all refused, or the lookup failed.
pub type ResolveError = Box<dyn std::error::Error + Send + Sync>;

/// Resolves a host name to addresses: the system resolver, or a fixed table in tests.
pub trait Lookup: Send + Sync + 'static {
    /// The addresses of `host`.
    fn lookup(&self, host: &str) -> LookupFuture;
}

/// The system resolver (`getaddrinfo` through tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: &str) -> LookupFuture {
        let host = host.to_string();
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// A DNS resolver that drops addresses the guard refuses. Every connection resolves anew
/// through it and connects only to the addresses it kept, so an answer that changes between
/// lookups (DNS rebinding) is checked each time it is used.
pub struct GuardedResolver {
    guard: Arc<Guard>,
    lookup: Arc<dyn Lookup>,
}

impl GuardedResolver {
    /// A resolver enforcing `guard` over the system resolver.
    pub fn new(guard: Arc<Guard>) -> Self {
        Self::with_lookup(guard, Arc::new(SystemLookup))
    }

    /// A resolver enforcing `guard` over `lookup`.
    pub fn with_lookup(guard: Arc<Guard>, lookup: Arc<dyn Lookup>) -> Self {
        Self { guard, lookup }
    }

    /// The addresses of `host` the guard allows; an error naming the first refused address
    /// when it allows none.
    pub async fn allowed(&self, host: &str) -> Result<Vec<IpAddr>, ResolveError> {
        let addrs = self.lookup.lookup(host).await?;
        let allowed: Vec<IpAddr> = addrs
            .iter()
            .copied()
            .filter(|ip| self.guard.allows(*ip))
            .collect();
        match addrs.first() {
            Some(first) if allowed.is_empty() => Err(Box::new(Blocked(*first))),
            _ => Ok(allowed),
        }
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let this = Self {
            guard: self.guard.clone(),
            lookup: self.lookup.clone(),
        };
        let host = name.as_str().to_string();
        Box::pin(async move {
            let ips = this.allowed(&host).await?;
            Ok(Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0))) as reqwest::dns::Addrs)
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
            "::127.0.0.1",
            "2002:7f00:1::1",
            "2002:a00:1::",
            "fec0::1",
            "2001:db8::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "64:ff9b::a00:1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "2002:808:808::1",
        ] {
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

    /// Answers from a table; each name's answers are used in turn, the last one repeating.
    struct Table(std::sync::Mutex<std::collections::HashMap<String, Vec<Vec<IpAddr>>>>);

    impl Lookup for Table {
        fn lookup(&self, host: &str) -> LookupFuture {
            let mut t = self.0.lock().unwrap();
            let answers = t.get_mut(host).unwrap();
            let next = if answers.len() > 1 {
                answers.remove(0)
            } else {
                answers[0].clone()
            };
            Box::pin(async move { Ok(next) })
        }
    }

    fn table(rows: &[(&str, &[&[&str]])]) -> Arc<dyn Lookup> {
        let map = rows
            .iter()
            .map(|(name, answers)| {
                let answers = answers
                    .iter()
                    .map(|a| a.iter().map(|ip| ip.parse().unwrap()).collect())
                    .collect();
                (name.to_string(), answers)
            })
            .collect();
        Arc::new(Table(std::sync::Mutex::new(map)))
    }

    #[tokio::test]
    async fn mixed_answers_keep_only_public_addresses() {
        let guard = Arc::new(Guard::new(true, &[]).unwrap());
        let lookup = table(&[("mixed.test", &[&["10.0.0.7", "93.184.216.34", "::1"]])]);
        let r = GuardedResolver::with_lookup(guard, lookup);
        let ips = r.allowed("mixed.test").await.unwrap();
        assert_eq!(ips, vec!["93.184.216.34".parse::<IpAddr>().unwrap()]);
    }

    /// DNS rebinding: the name answers a public address, then a private one. Every resolution
    /// is checked, so the second use is refused instead of reaching the private address.
    #[tokio::test]
    async fn rebinding_is_refused_on_the_next_resolution() {
        use reqwest::dns::Resolve;
        let guard = Arc::new(Guard::new(true, &[]).unwrap());
        let lookup = table(&[("rebind.test", &[&["93.184.216.34"], &["169.254.169.254"]])]);
        let r = GuardedResolver::with_lookup(guard, lookup);
        let first: Vec<_> = r
            .resolve("rebind.test".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert_eq!(first[0].ip(), "93.184.216.34".parse::<IpAddr>().unwrap());
        let err = r
            .resolve("rebind.test".parse().unwrap())
            .await
            .err()
            .unwrap();
        let blocked = err.downcast_ref::<Blocked>().expect("refused as Blocked");
        assert_eq!(blocked.0, "169.254.169.254".parse::<IpAddr>().unwrap());
    }
}
