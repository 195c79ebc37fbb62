//! Parsers for the address forms producers send.
//!
//! All parsers are total (they never panic, whatever the input), borrow from their input instead of
//! allocating, and return `None` for anything they cannot make sense of. Hosts are returned as given,
//! without lower-casing or removing a trailing dot: normalizing is the server's decision.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A host with an optional port, as in a `Host` header, NTA's `request.host` or HTTP/2's
/// `:authority`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Authority<'a> {
    /// A DNS name (possibly with a trailing dot), an IPv4 address, or an IPv6 address without
    /// brackets.
    pub host: &'a str,
    /// The port, when one was given.
    pub port: Option<u16>,
}

impl Authority<'_> {
    /// The host as an IP address, when it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

/// Writes `host`, `host:port`, `[v6]` or `[v6]:port`, which [`parse_authority`] reads back.
/// IPv6 hosts are always bracketed, as in a URL, so the output is unambiguous.
impl fmt::Display for Authority<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(self.host)?;
        }
        match self.port {
            Some(port) => write!(f, ":{port}"),
            None => Ok(()),
        }
    }
}

/// Parses a `Host` header, NTA's `request.host` or an `:authority`: `host`, `host:port`, `[v6]`,
/// `[v6]:port` or a bare IPv6 address (which cannot carry a port).
///
/// Refused: an empty host, empty DNS labels (a single trailing dot is fine), a port that is not
/// decimal digits or exceeds 65535, whitespace and control characters, userinfo (`@`), paths (`/`),
/// and the other characters a URL parser refuses in a domain. An empty port after the colon
/// (`host:`) is allowed, as RFC 3986 does, and means no port.
pub fn parse_authority(s: &str) -> Option<Authority<'_>> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        host.parse::<Ipv6Addr>().ok()?;
        let port = port_suffix(after)?;
        return Some(Authority { host, port });
    }
    let (host, port) = match s.split_once(':') {
        None => (s, None),
        Some((host, port)) if !port.contains(':') => (host, Some(port)),
        // Two or more colons without brackets can only be an IPv6 address with no port.
        Some(_) => {
            s.parse::<Ipv6Addr>().ok()?;
            return Some(Authority {
                host: s,
                port: None,
            });
        }
    };
    if !is_valid_host(host) {
        return None;
    }
    let port = match port {
        None | Some("") => None,
        Some(port) => Some(parse_port(port)?),
    };
    Some(Authority { host, port })
}

/// Where a request went, from NTA's `destinationAddress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Destination<'a> {
    /// The host (a name or an IP, IPv6 without brackets), or `None` when the producer left it
    /// empty (Kong sends `":8000"`).
    pub host: Option<&'a str>,
    /// The port.
    pub port: Option<u16>,
}

/// Parses NTA's `destinationAddress`, from the right: `host:443`, `ip:port`, `:8000` (no host),
/// `[::1]:443`, a bare host, or a bare IPv6 address (a host with no port).
///
/// The Invicti Worker appends the scheme's default port to the URL's host even when the host
/// already carries one, producing `api.shop.example:8443:443`; the inner port (8443) is the one the
/// request really went to, so it wins. The same applies after a bracketed IPv6 address.
///
/// Returns `None` for an empty string, for `":"`, and for anything with an invalid host or port.
pub fn parse_destination_address(s: &str) -> Option<Destination<'_>> {
    let (host, ports) = if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        host.parse::<Ipv6Addr>().ok()?;
        if !(after.is_empty() || after.starts_with(':')) {
            return None;
        }
        (Some(host), after.strip_prefix(':'))
    } else if s.parse::<Ipv6Addr>().is_ok() {
        // An unbracketed IPv6 address with a port appended would be ambiguous; producers bracket
        // addresses that carry a port, so a string that parses as IPv6 is taken whole.
        return Some(Destination {
            host: Some(s),
            port: None,
        });
    } else {
        let (host, ports) = match s.split_once(':') {
            Some((host, ports)) => (host, Some(ports)),
            None => (s, None),
        };
        let host = if host.is_empty() {
            None
        } else if is_valid_host(host) {
            Some(host)
        } else {
            return None;
        };
        (host, ports)
    };
    let port = match ports {
        None => None,
        Some(ports) => match ports.split_once(':') {
            // The Worker's appended default port must still be a port, or the string is not one of
            // the known forms.
            Some((inner, appended)) => {
                parse_port(appended)?;
                Some(parse_port(inner)?)
            }
            None if ports.is_empty() => None,
            None => Some(parse_port(ports)?),
        },
    };
    if host.is_none() && port.is_none() {
        return None;
    }
    Some(Destination { host, port })
}

/// A client address: an IP and, from some producers, a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddress {
    /// The client IP.
    pub ip: IpAddr,
    /// The client port, when the producer sent one.
    pub port: Option<u16>,
}

impl ClientAddress {
    /// The address as a socket address, when a port is known.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        self.port.map(|port| SocketAddr::new(self.ip, port))
    }
}

/// Parses NTA's `sourceAddress` or Akto's `ip`: `1.2.3.4`, `1.2.3.4:5678`, `10.0.0.5:` (Kong leaves
/// the port empty), `2001:db8::7`, `[2001:db8::7]` or `[2001:db8::7]:443`. A zone suffix
/// (`fe80::1%eth0`) is dropped, since it only means something on the producer's host.
///
/// Returns `None` for `""` and for anything that is not an IP address, including host names.
pub fn parse_client_address(s: &str) -> Option<ClientAddress> {
    if let Some(ip) = parse_ip(s) {
        return Some(ClientAddress { ip, port: None });
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        let ip = IpAddr::V6(parse_ipv6_with_zone(ip)?);
        let port = port_suffix(after)?;
        return Some(ClientAddress { ip, port });
    }
    let (ip, port) = s.split_once(':')?;
    let ip = IpAddr::V4(ip.parse::<Ipv4Addr>().ok()?);
    let port = match port {
        "" => None,
        port => Some(parse_port(port)?),
    };
    Some(ClientAddress { ip, port })
}

fn parse_ip(s: &str) -> Option<IpAddr> {
    match s.parse::<IpAddr>() {
        Ok(ip) => Some(ip),
        Err(_) if s.contains(':') => parse_ipv6_with_zone(s).map(IpAddr::V6),
        Err(_) => None,
    }
}

fn parse_ipv6_with_zone(s: &str) -> Option<Ipv6Addr> {
    let addr = match s.split_once('%') {
        None => s,
        Some((addr, zone)) if is_zone_id(zone) => addr,
        Some(_) => return None,
    };
    addr.parse().ok()
}

/// Interface names and numeric indexes; anything else after `%` is not a zone.
fn is_zone_id(zone: &str) -> bool {
    !zone.is_empty()
        && zone
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// After a bracketed IPv6 address: nothing, `:` (empty port) or `:port`.
fn port_suffix(after: &str) -> Option<Option<u16>> {
    match after.strip_prefix(':') {
        None if after.is_empty() => Some(None),
        None => None,
        Some("") => Some(None),
        Some(port) => parse_port(port).map(Some),
    }
}

/// Decimal digits only: `u16::from_str` would also accept a leading `+`.
fn parse_port(s: &str) -> Option<u16> {
    if s.is_empty() {
        return None;
    }
    s.bytes().try_fold(0u16, |acc, b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u16::from(b - b'0'))
        } else {
            None
        }
    })
}

/// A DNS name or IPv4 address, tolerant of what real hosts contain (underscores, non-ASCII names)
/// but refusing what cannot be part of one.
fn is_valid_host(host: &str) -> bool {
    let name = host.strip_suffix('.').unwrap_or(host);
    !name.is_empty()
        && name.split('.').all(|label| !label.is_empty())
        && !name.chars().any(is_forbidden_host_char)
}

/// The WHATWG URL standard's forbidden domain code points, plus `"` (which no real host contains
/// and which signals the Envoy filter's unescaped JSON) and any Unicode whitespace.
fn is_forbidden_host_char(c: char) -> bool {
    c.is_control()
        || c.is_whitespace()
        || matches!(
            c,
            '#' | '/' | ':' | '<' | '>' | '?' | '@' | '[' | '\\' | ']' | '^' | '|' | '%' | '"'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(host: &str, port: Option<u16>) -> Option<Authority<'_>> {
        Some(Authority { host, port })
    }

    #[test]
    fn parse_authority_table() {
        let cases: &[(&str, Option<Authority<'_>>)] = &[
            ("api.shop.example", auth("api.shop.example", None)),
            ("API.Shop.Example", auth("API.Shop.Example", None)),
            (
                "api.shop.example:8443",
                auth("api.shop.example", Some(8443)),
            ),
            ("api.shop.example.", auth("api.shop.example.", None)),
            (
                "api.shop.example.:443",
                auth("api.shop.example.", Some(443)),
            ),
            ("localhost", auth("localhost", None)),
            (
                "my_service.internal:80",
                auth("my_service.internal", Some(80)),
            ),
            ("bücher.example", auth("bücher.example", None)),
            ("xn--bcher-kva.example", auth("xn--bcher-kva.example", None)),
            ("203.0.113.7", auth("203.0.113.7", None)),
            ("203.0.113.7:8080", auth("203.0.113.7", Some(8080))),
            ("[::1]", auth("::1", None)),
            ("[::1]:443", auth("::1", Some(443))),
            ("[2001:db8::1]:65535", auth("2001:db8::1", Some(65535))),
            ("2001:db8::1", auth("2001:db8::1", None)),
            ("::1", auth("::1", None)),
            ("host:0", auth("host", Some(0))),
            ("host:00080", auth("host", Some(80))),
            ("host:", auth("host", None)),
            ("[::1]:", auth("::1", None)),
            // Refused.
            ("", None),
            (".", None),
            ("..", None),
            ("a..b", None),
            (".example", None),
            (":443", None),
            ("host:65536", None),
            ("host:99999999999999999999", None),
            ("host:+80", None),
            ("host:-1", None),
            ("host:8o", None),
            ("host: 80", None),
            ("host:80 ", None),
            (" host", None),
            ("ho st", None),
            ("host\t", None),
            ("ho\u{0}st", None),
            ("ho\u{7f}st", None),
            ("host\u{a0}", None),
            ("user@host", None),
            ("host/path", None),
            ("host?q", None),
            ("host#f", None),
            ("ho\\st", None),
            ("ho%41st", None),
            ("ho\"st", None),
            ("api.shop.example:8443:443", None),
            ("[::1", None),
            ("[::1]x", None),
            ("[::1]:x", None),
            ("[::1]:65536", None),
            ("[]", None),
            ("[a.example]", None),
            ("[1.2.3.4]", None),
            ("[::1]]", None),
            ("2001:db8::1::2", None),
            ("2001:db8::1:99999", None),
            ("[fe80::1%eth0]", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_authority(input), *want, "{input:?}");
        }
    }

    #[test]
    fn authority_display_brackets_ipv6() {
        let cases: &[(Authority<'_>, &str)] = &[
            (
                Authority {
                    host: "a.example",
                    port: None,
                },
                "a.example",
            ),
            (
                Authority {
                    host: "a.example",
                    port: Some(8443),
                },
                "a.example:8443",
            ),
            (
                Authority {
                    host: "1.2.3.4",
                    port: Some(80),
                },
                "1.2.3.4:80",
            ),
            (
                Authority {
                    host: "::1",
                    port: None,
                },
                "[::1]",
            ),
            (
                Authority {
                    host: "2001:db8::1",
                    port: Some(443),
                },
                "[2001:db8::1]:443",
            ),
        ];
        for (authority, want) in cases {
            assert_eq!(authority.to_string(), *want);
            assert_eq!(parse_authority(want), Some(*authority), "{want}");
        }
    }

    #[test]
    fn authority_ip() {
        assert_eq!(
            parse_authority("[::1]:80").unwrap().ip(),
            Some(IpAddr::V6(Ipv6Addr::LOCALHOST))
        );
        assert_eq!(
            parse_authority("127.0.0.1").unwrap().ip(),
            Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
        );
        assert_eq!(parse_authority("a.example").unwrap().ip(), None);
    }

    fn dest(host: Option<&str>, port: Option<u16>) -> Option<Destination<'_>> {
        Some(Destination { host, port })
    }

    #[test]
    fn parse_destination_address_table() {
        let cases: &[(&str, Option<Destination<'_>>)] = &[
            (
                "api.shop.example:443",
                dest(Some("api.shop.example"), Some(443)),
            ),
            (
                "api.shop.example:80",
                dest(Some("api.shop.example"), Some(80)),
            ),
            // The Worker's appended default port: the URL's own port wins.
            (
                "api.shop.example:8443:443",
                dest(Some("api.shop.example"), Some(8443)),
            ),
            (
                "api.shop.example:8080:80",
                dest(Some("api.shop.example"), Some(8080)),
            ),
            ("[::1]:8443:443", dest(Some("::1"), Some(8443))),
            (":8000", dest(None, Some(8000))),
            ("10.1.2.3:8080", dest(Some("10.1.2.3"), Some(8080))),
            ("[::1]:443", dest(Some("::1"), Some(443))),
            ("[2001:db8::5]", dest(Some("2001:db8::5"), None)),
            ("[2001:db8::5]:", dest(Some("2001:db8::5"), None)),
            ("2001:db8::5", dest(Some("2001:db8::5"), None)),
            ("2001:db8::5:443", dest(Some("2001:db8::5:443"), None)),
            ("::1", dest(Some("::1"), None)),
            ("api.shop.example", dest(Some("api.shop.example"), None)),
            ("api.shop.example:", dest(Some("api.shop.example"), None)),
            (
                "api.shop.example.:443",
                dest(Some("api.shop.example."), Some(443)),
            ),
            ("::", dest(Some("::"), None)),
            (":8000:80", dest(None, Some(8000))),
            // Refused.
            ("", None),
            (":", None),
            (":::", None),
            ("host:65536", None),
            ("host:abc", None),
            ("host:8443:abc", None),
            ("host:abc:443", None),
            ("host::443", None),
            ("host:1:2:3", None),
            ("ho st:80", None),
            ("user@host:80", None),
            ("[::1]443", None),
            ("[::1]:443x", None),
            ("[nothost]:443", None),
            ("[::1", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_destination_address(input), *want, "{input:?}");
        }
    }

    fn client(ip: &str, port: Option<u16>) -> Option<ClientAddress> {
        Some(ClientAddress {
            ip: ip.parse().unwrap(),
            port,
        })
    }

    #[test]
    fn parse_client_address_table() {
        let cases: &[(&str, Option<ClientAddress>)] = &[
            ("203.0.113.7", client("203.0.113.7", None)),
            ("127.0.0.1", client("127.0.0.1", None)),
            ("10.0.0.5:5678", client("10.0.0.5", Some(5678))),
            ("10.0.0.5:", client("10.0.0.5", None)),
            ("2001:db8::7", client("2001:db8::7", None)),
            ("[2001:db8::7]", client("2001:db8::7", None)),
            ("[2001:db8::7]:443", client("2001:db8::7", Some(443))),
            ("[2001:db8::7]:", client("2001:db8::7", None)),
            ("::ffff:1.2.3.4", client("::ffff:1.2.3.4", None)),
            ("fe80::1%eth0", client("fe80::1", None)),
            ("[fe80::1%25]:80", client("fe80::1", Some(80))),
            // Refused.
            ("", None),
            (":", None),
            (":80", None),
            ("localhost", None),
            ("localhost:80", None),
            ("unknown", None),
            ("1.2.3", None),
            ("1.2.3.256", None),
            ("1.2.3.4:99999", None),
            ("1.2.3.4:80:80", None),
            ("1.2.3.4 ", None),
            (" 1.2.3.4", None),
            ("1.2.3.4, 5.6.7.8", None),
            ("2001:db8::7:", None),
            ("[2001:db8::7]443", None),
            ("[1.2.3.4]:80", None),
            ("fe80::1%", None),
            ("fe80::1%a b", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_client_address(input), *want, "{input:?}");
        }
    }

    #[test]
    fn client_socket_addr() {
        let with_port = parse_client_address("[::1]:8080").unwrap();
        assert_eq!(with_port.socket_addr(), Some("[::1]:8080".parse().unwrap()));
        assert_eq!(parse_client_address("::1").unwrap().socket_addr(), None);
    }

    #[test]
    fn parse_port_table() {
        let cases: &[(&str, Option<u16>)] = &[
            ("0", Some(0)),
            ("80", Some(80)),
            ("65535", Some(65535)),
            ("000065535", Some(65535)),
            ("65536", None),
            ("", None),
            ("+1", None),
            ("1_0", None),
            ("٣", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_port(input), *want, "{input:?}");
        }
    }
}
