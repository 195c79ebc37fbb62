//! The three address parsers of `wire::address`, on any text.
//!
//! Invariants: what a parser returns is part of its input, and what `Authority` and
//! `ClientAddress` write is read back as the same value.
#![no_main]

use std::net::SocketAddr;

use libfuzzer_sys::fuzz_target;
use reconstructor_wire::address::{
    ClientAddress, parse_authority, parse_client_address, parse_destination_address,
};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };

    if let Some(authority) = parse_authority(s) {
        assert!(!authority.host.is_empty());
        assert!(s.contains(authority.host));
        let written = authority.to_string();
        assert_eq!(
            parse_authority(&written),
            Some(authority),
            "{written:?} does not read back"
        );
    }

    if let Some(destination) = parse_destination_address(s) {
        assert!(destination.host.is_some() || destination.port.is_some());
        if let Some(host) = destination.host {
            assert!(!host.is_empty() && s.contains(host));
        }
    }

    if let Some(client) = parse_client_address(s) {
        assert_eq!(
            parse_client_address(&client.ip.to_string()),
            Some(ClientAddress {
                ip: client.ip,
                port: None
            })
        );
        if let Some(socket) = client.socket_addr() {
            let written = socket.to_string();
            assert_eq!(
                parse_client_address(&written),
                Some(client),
                "{written:?} does not read back"
            );
            assert_eq!(written.parse::<SocketAddr>().ok(), Some(socket));
        }
    }
});
