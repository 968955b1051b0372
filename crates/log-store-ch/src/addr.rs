//! `CLICKHOUSE_ADDR` to the base URL of ClickHouse's HTTP interface.
//!
//! Upstream's `CLICKHOUSE_ADDR` is `host:port` of the native protocol (9000, TLS 9440), which its
//! Go client speaks. This store speaks the HTTP interface (8123, TLS 8443), so an address with a
//! native port is refused with an explanation rather than failing later with a protocol error.

use crate::ChError;
use reqwest::Url;

/// Default port of the HTTP interface.
pub const HTTP_PORT: u16 = 8123;
/// Default port of the HTTPS interface.
pub const HTTPS_PORT: u16 = 8443;
/// Ports of the native protocol (plain, TLS), which this store cannot speak.
pub const NATIVE_PORTS: [u16; 2] = [9000, 9440];

/// The base URL (`http(s)://host:port`, no trailing slash) of ClickHouse's HTTP interface for
/// `CLICKHOUSE_ADDR` and `CLICKHOUSE_TLS_ENABLED`.
///
/// Accepts `http://host[:port][/path]`, `https://host[:port][/path]` or `host[:port]` (IPv6 in
/// brackets). Without a scheme, `tls` chooses `https` (default port 8443) or `http` (8123); with
/// one, the scheme decides, except that `http://` with `tls` is refused as contradictory.
/// Refused too: the native-protocol ports 9000 and 9440, other schemes, credentials in the URL
/// (use `CLICKHOUSE_USERNAME` / `CLICKHOUSE_PASSWORD`), query strings and fragments.
pub fn http_url(addr: &str, tls: bool) -> Result<String, ChError> {
    let addr = addr.trim();
    let bad = |why: String| ChError::Config(format!("CLICKHOUSE_ADDR {addr:?}: {why}"));
    if addr.is_empty() {
        return Err(bad("empty".into()));
    }
    let with_scheme = if addr.contains("://") {
        addr.to_string()
    } else {
        format!("{}://{addr}", if tls { "https" } else { "http" })
    };
    let url = Url::parse(&with_scheme).map_err(|e| bad(format!("not an address: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if !tls => {}
        "http" => {
            return Err(bad(
                "http:// contradicts CLICKHOUSE_TLS_ENABLED=true (use https://, or host:port)"
                    .into(),
            ));
        }
        other => {
            return Err(bad(format!(
                "scheme {other}:// is not supported: this store speaks ClickHouse's HTTP interface \
                 (http:// or https://)"
            )));
        }
    }
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad("no host".into()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "credentials in the address are not supported: use CLICKHOUSE_USERNAME and \
             CLICKHOUSE_PASSWORD"
                .into(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("query strings and fragments are not supported".into()));
    }
    // `Url` drops a port equal to the scheme's default (`https://ch:443`), so whether one was
    // written is read from the text.
    let port = match url.port_or_known_default() {
        Some(p) if has_explicit_port(&with_scheme) => p,
        _ if url.scheme() == "https" => HTTPS_PORT,
        _ => HTTP_PORT,
    };
    if NATIVE_PORTS.contains(&port) {
        return Err(bad(format!(
            "port {port} is ClickHouse's native protocol, which this store does not speak: point \
             it at the HTTP interface instead (port {HTTP_PORT}, or {HTTPS_PORT} with TLS)"
        )));
    }
    let path = url.path().trim_end_matches('/');
    Ok(format!("{}://{host}:{port}{path}", url.scheme()))
}

/// Whether the authority of `url` (`scheme://[user@]host[:port]/..`) names a port.
fn has_explicit_port(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    // An IPv6 host is bracketed: only a colon after the closing bracket starts a port.
    let after_host = host_port.rsplit_once(']').map_or(host_port, |(_, p)| p);
    after_host.contains(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(addr: &str, tls: bool) -> String {
        http_url(addr, tls).unwrap_or_else(|e| panic!("{addr} (tls {tls}): {e}"))
    }

    fn refused(addr: &str, tls: bool) -> String {
        match http_url(addr, tls) {
            Ok(u) => panic!("{addr} (tls {tls}) accepted as {u}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn host_and_port_take_the_scheme_from_tls() {
        assert_eq!(ok("clickhouse:8123", false), "http://clickhouse:8123");
        assert_eq!(ok("clickhouse:8443", true), "https://clickhouse:8443");
        assert_eq!(ok(" 10.0.0.5:18123 ", false), "http://10.0.0.5:18123");
        assert_eq!(ok("[::1]:8123", false), "http://[::1]:8123");
    }

    #[test]
    fn default_ports() {
        assert_eq!(ok("clickhouse", false), "http://clickhouse:8123");
        assert_eq!(ok("clickhouse", true), "https://clickhouse:8443");
        assert_eq!(ok("http://ch.internal", false), "http://ch.internal:8123");
        assert_eq!(
            ok("https://ch.internal/", false),
            "https://ch.internal:8443"
        );
    }

    #[test]
    fn urls_keep_their_scheme_port_and_path() {
        assert_eq!(ok("http://127.0.0.1:8123/", false), "http://127.0.0.1:8123");
        assert_eq!(ok("https://ch:443", false), "https://ch:443");
        assert_eq!(ok("http://ch:80", false), "http://ch:80");
        assert_eq!(ok("ch:443", true), "https://ch:443");
        assert_eq!(ok("http://[::1]/", false), "http://[::1]:8123");
        assert_eq!(ok("https://ch:8443", true), "https://ch:8443");
        assert_eq!(
            ok("https://proxy.example/clickhouse/", true),
            "https://proxy.example:8443/clickhouse"
        );
    }

    #[test]
    fn native_ports_are_refused_with_an_explanation() {
        for (addr, tls) in [
            ("clickhouse:9000", false),
            ("clickhouse:9440", true),
            ("http://clickhouse:9000", false),
            ("https://clickhouse:9440", false),
        ] {
            let e = refused(addr, tls);
            assert!(e.contains("native protocol"), "{e}");
            assert!(e.contains("8123") && e.contains("8443"), "{e}");
        }
    }

    #[test]
    fn other_mistakes_are_refused() {
        assert!(refused("", false).contains("empty"));
        assert!(refused("http://ch:8123", true).contains("CLICKHOUSE_TLS_ENABLED"));
        assert!(refused("tcp://ch:9000", false).contains("tcp://"));
        assert!(refused("clickhouse://ch:8123", false).contains("clickhouse://"));
        assert!(refused("http://u:p@ch:8123", false).contains("CLICKHOUSE_USERNAME"));
        assert!(refused("http://ch:8123/?database=x", false).contains("query"));
        assert!(refused("ch:notaport", false).contains("not an address"));
    }
}
