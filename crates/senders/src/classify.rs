//! Attempt codes of transport failures (spec §2.4): the error chain is searched for an I/O
//! error kind first, then for the wording of DNS, TLS and timeout failures.

use std::error::Error;

/// The network class of `err` (`dns_error`, `connection_refused`, `connection_reset`,
/// `network_unreachable`, `timeout`, `tls_error`), or `None` when it is not a network failure.
pub fn network_code(err: &(dyn Error + 'static)) -> Option<&'static str> {
    let mut text = String::new();
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(code) = io_code(io)
        {
            return Some(code);
        }
        text.push(' ');
        text.push_str(&e.to_string().to_ascii_lowercase());
        cur = e.source();
    }
    text_code(&text)
}

pub use outpost_core::error::chain_text;

/// The class of an I/O error, by kind.
pub fn io_code(io: &std::io::Error) -> Option<&'static str> {
    use std::io::ErrorKind::*;
    match io.kind() {
        ConnectionRefused => Some("connection_refused"),
        ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => {
            Some("connection_reset")
        }
        NetworkUnreachable | HostUnreachable => Some("network_unreachable"),
        TimedOut => Some("timeout"),
        _ => text_code(&io.to_string().to_ascii_lowercase()),
    }
}

/// The class named by an error's wording (lower case).
pub fn text_code(text: &str) -> Option<&'static str> {
    if text.contains("connection refused") {
        Some("connection_refused")
    } else if text.contains("dns error")
        || text.contains("failed to lookup")
        || text.contains("name or service not known")
        || text.contains("no such host")
        || text.contains("temporary failure in name resolution")
    {
        Some("dns_error")
    } else if text.contains("timed out") || text.contains("timeout") {
        Some("timeout")
    } else if text.contains("certificate") || text.contains("tls") || text.contains("handshake") {
        Some("tls_error")
    } else if text.contains("connection reset") || text.contains("broken pipe") {
        Some("connection_reset")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[derive(Debug)]
    struct Wrap(io::Error);
    impl std::fmt::Display for Wrap {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "send failed")
        }
    }
    impl Error for Wrap {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn finds_the_io_kind_in_the_chain() {
        let e = Wrap(io::Error::from(io::ErrorKind::ConnectionRefused));
        assert_eq!(network_code(&e), Some("connection_refused"));
        let e = Wrap(io::Error::other(
            "failed to lookup address information: Name or service not known",
        ));
        assert_eq!(network_code(&e), Some("dns_error"));
        let e = Wrap(io::Error::other("invalid peer certificate: UnknownIssuer"));
        assert_eq!(network_code(&e), Some("tls_error"));
        let e = Wrap(io::Error::other("queue full"));
        assert_eq!(network_code(&e), None);
    }
}
