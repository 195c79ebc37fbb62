//! The address of whoever sent a request, believing forwarding headers only from configured
//! proxies (anyone else could write any address into them).

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::Request;
use ipnet::IpNet;

/// The client address for logs: the peer, or — when the peer is a trusted proxy — the nearest
/// untrusted address in `X-Forwarded-For` (read right to left), else `X-Real-IP`.
pub(crate) fn client_ip<B>(request: &Request<B>, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|hop| hop.trim().parse().ok())
        .collect();
    if let Some(ip) = forwarded.iter().rev().find(|ip| !is_trusted(ip)) {
        return Some(*ip);
    }
    if let Some(first) = forwarded.first() {
        return Some(*first);
    }
    request
        .headers()
        .get("x-real-ip")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .or(Some(peer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(peer: &str, headers: &[(&'static str, &str)]) -> Request<()> {
        let mut request = Request::new(());
        request
            .extensions_mut()
            .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        for (name, value) in headers {
            request.headers_mut().append(*name, value.parse().unwrap());
        }
        request
    }

    #[test]
    fn forwarded_headers_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec![
            "127.0.0.1/32".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ];
        let spoofed = request("203.0.113.5:4000", &[("x-forwarded-for", "1.1.1.1")]);
        assert_eq!(client_ip(&spoofed, &trusted), "203.0.113.5".parse().ok());
        let proxied = request(
            "127.0.0.1:4000",
            &[("x-forwarded-for", "9.9.9.9, 198.51.100.7, 10.1.2.3")],
        );
        assert_eq!(client_ip(&proxied, &trusted), "198.51.100.7".parse().ok());
        let real_ip = request("127.0.0.1:4000", &[("x-real-ip", "198.51.100.8")]);
        assert_eq!(client_ip(&real_ip, &trusted), "198.51.100.8".parse().ok());
        let bare = request("127.0.0.1:4000", &[]);
        assert_eq!(client_ip(&bare, &trusted), "127.0.0.1".parse().ok());
        assert_eq!(client_ip(&proxied, &[]), "127.0.0.1".parse().ok());
        assert_eq!(client_ip(&Request::new(()), &trusted), None);
    }
}
