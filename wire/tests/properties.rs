//! Property tests: the parsers are total, and the models survive a serialize → deserialize trip.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use reconstructor_wire as wire;
use serde_json::Value;
use wire::address::{
    Authority, ClientAddress, Destination, parse_authority, parse_client_address,
    parse_destination_address,
};
use wire::akto::{BatchEnvelope, Record};
use wire::nta::{Common, Request, Response, Telemetry};
use wire::{Headers, Scalar};

// ---------------------------------------------------------------------------------------------
// Strategies

/// Strings that hit the parsers' edge cases far more often than uniformly random text does.
fn address_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\\[\\]:0-9a-fA-F.%@/ x_-]{0,40}",
        "\\[?[0-9a-f:]{0,30}\\]?(:[0-9]{0,6}){0,3}",
        "[a-z.]{0,12}(:[0-9+-]{0,7}){0,3}",
    ]
}

fn dns_name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,10}[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?){0,4}\\.?"
}

fn valid_host() -> impl Strategy<Value = String> {
    prop_oneof![
        dns_name(),
        any::<Ipv4Addr>().prop_map(|ip| ip.to_string()),
        any::<Ipv6Addr>().prop_map(|ip| ip.to_string()),
    ]
}

/// Finite floats that serde_json reads back bit for bit without its `float_roundtrip` feature: at
/// most 15 significant digits and a small exponent keep its parser on the exact path.
fn decimal_f64() -> impl Strategy<Value = f64> {
    (-999_999_999_999_999i64..=999_999_999_999_999, 0i32..=15)
        .prop_map(|(mantissa, scale)| mantissa as f64 / 10f64.powi(scale))
}

fn composite() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::collection::vec(any::<i64>().prop_map(Value::from), 0..4).prop_map(Value::Array),
        prop::collection::btree_map(any::<String>(), any::<String>().prop_map(Value::from), 0..4)
            .prop_map(|map| Value::Object(map.into_iter().collect())),
    ]
}

/// Any scalar that can sit in an `Option<Scalar>` field (where `null` means `None`).
fn scalar() -> impl Strategy<Value = Scalar> {
    prop_oneof![
        any::<bool>().prop_map(Scalar::Bool),
        any::<i64>().prop_map(Scalar::Int),
        ((i64::MAX as u64) + 1..=u64::MAX).prop_map(Scalar::UInt),
        decimal_f64().prop_map(Scalar::Float),
        any::<String>().prop_map(Scalar::Str),
        composite().prop_map(|v| Scalar::Composite(Box::new(v))),
    ]
}

fn opt_string() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(any::<String>())
}

fn opt_scalar() -> impl Strategy<Value = Option<Scalar>> {
    proptest::option::of(scalar())
}

fn headers() -> impl Strategy<Value = Headers> {
    // A small name alphabet makes repeated names, which must keep their order, common.
    let name = prop_oneof!["[a-c]", any::<String>()];
    prop::collection::vec((name, any::<String>()), 0..6).prop_map(Headers::from_pairs)
}

fn common() -> impl Strategy<Value = Common> {
    (
        opt_scalar(),
        proptest::option::of(headers()),
        opt_string(),
        opt_scalar(),
        opt_scalar(),
    )
        .prop_map(|(version, headers, body, truncated_body, time)| Common {
            version,
            headers,
            body,
            truncated_body,
            time,
        })
}

fn telemetry() -> impl Strategy<Value = Telemetry> {
    let request = (
        opt_string(),
        opt_string(),
        opt_string(),
        proptest::option::of(common()),
    )
        .prop_map(|(method, path, host, common)| Request {
            method,
            path,
            host,
            common,
        });
    let response =
        (opt_scalar(), proptest::option::of(common())).prop_map(|(status_code, common)| Response {
            status_code,
            common,
        });
    (
        opt_string(),
        opt_string(),
        opt_string(),
        opt_string(),
        opt_string(),
        proptest::option::of(request),
        proptest::option::of(response),
    )
        .prop_map(
            |(
                request_id,
                scheme,
                destination_address,
                destination_namespace,
                source_address,
                request,
                response,
            )| Telemetry {
                request_id,
                scheme,
                destination_address,
                destination_namespace,
                source_address,
                request,
                response,
            },
        )
}

/// Loose values the way Akto's own clients write them: always strings.
fn opt_akto_string() -> impl Strategy<Value = Option<Scalar>> {
    proptest::option::of(any::<String>().prop_map(Scalar::Str))
}

/// A record with its loose fields drawn from `loose()`.
fn record_with<S: Strategy<Value = Option<Scalar>>>(
    loose: impl Fn() -> S,
) -> impl Strategy<Value = Record> {
    let strings = (
        opt_string(),
        opt_string(),
        opt_string(),
        opt_string(),
        opt_string(),
        opt_string(),
        opt_string(),
        opt_string(),
        opt_string(),
    );
    let rest = (
        proptest::option::of(headers()),
        proptest::option::of(headers()),
        loose(),
        loose(),
        loose(),
        loose(),
        loose(),
        loose(),
        loose(),
    );
    (strings, rest).prop_map(
        |(
            (path, method, request_payload, response_payload, ip, r#type, status, source, dest_ip),
            (
                request_headers,
                response_headers,
                time,
                status_code,
                akto_account_id,
                akto_vxlan_id,
                is_pending,
                tag,
                direction,
            ),
        )| Record {
            path,
            method,
            request_headers,
            response_headers,
            request_payload,
            response_payload,
            ip,
            time,
            status_code,
            r#type,
            status,
            akto_account_id,
            akto_vxlan_id,
            is_pending,
            source,
            tag,
            dest_ip,
            direction,
        },
    )
}

/// Arbitrary JSON documents, to show decoding never panics whatever the shape.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        decimal_f64().prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        Just(Value::from("{\"host\":\"a\"}")),
        Just(Value::from("{not json")),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![
            Just("requestID".to_owned()),
            Just("request".to_owned()),
            Just("response".to_owned()),
            Just("common".to_owned()),
            Just("headers".to_owned()),
            Just("key".to_owned()),
            Just("value".to_owned()),
            Just("statusCode".to_owned()),
            Just("requestHeaders".to_owned()),
            Just("tag".to_owned()),
            Just("batchData".to_owned()),
            any::<String>(),
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..5)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

// ---------------------------------------------------------------------------------------------
// Address parsers

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn address_parsers_never_panic(s in address_like()) {
        let _ = parse_authority(&s);
        let _ = parse_destination_address(&s);
        let _ = parse_client_address(&s);
    }

    #[test]
    fn parsed_authorities_borrow_from_the_input_and_print_back(s in address_like()) {
        if let Some(authority) = parse_authority(&s) {
            prop_assert!(!authority.host.is_empty());
            prop_assert!(s.contains(authority.host));
            let printed = authority.to_string();
            prop_assert_eq!(parse_authority(&printed), Some(authority));
        }
        if let Some(destination) = parse_destination_address(&s) {
            prop_assert!(destination.host.is_some() || destination.port.is_some());
            if let Some(host) = destination.host {
                prop_assert!(!host.is_empty() && s.contains(host));
            }
        }
    }
}

proptest! {
    #[test]
    fn authority_round_trips_through_display(host in valid_host(), port in proptest::option::of(any::<u16>())) {
        let authority = Authority { host: &host, port };
        let printed = authority.to_string();
        prop_assert_eq!(parse_authority(&printed), Some(authority));
    }

    #[test]
    fn destination_reads_a_printed_authority(host in valid_host(), port in proptest::option::of(any::<u16>())) {
        let printed = Authority { host: &host, port }.to_string();
        prop_assert_eq!(
            parse_destination_address(&printed),
            Some(Destination { host: Some(&host), port })
        );
    }

    #[test]
    fn destination_prefers_the_urls_own_port_over_the_appended_default(
        host in valid_host(),
        own in proptest::option::of(any::<u16>()),
        default in prop_oneof![Just(80u16), Just(443u16), any::<u16>()],
    ) {
        let printed = format!("{}:{default}", Authority { host: &host, port: own });
        prop_assert_eq!(
            parse_destination_address(&printed),
            Some(Destination { host: Some(&host), port: Some(own.unwrap_or(default)) })
        );
    }

    #[test]
    fn client_address_reads_every_printed_form(ip in any::<IpAddr>(), port in proptest::option::of(any::<u16>())) {
        let forms = match (ip, port) {
            (IpAddr::V4(v4), None) => vec![v4.to_string(), format!("{v4}:")],
            (IpAddr::V4(v4), Some(p)) => vec![format!("{v4}:{p}")],
            (IpAddr::V6(v6), None) => vec![v6.to_string(), format!("[{v6}]"), format!("[{v6}]:")],
            (IpAddr::V6(v6), Some(p)) => vec![format!("[{v6}]:{p}")],
        };
        for form in forms {
            prop_assert_eq!(parse_client_address(&form), Some(ClientAddress { ip, port }), "{}", form);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Models

proptest! {
    #[test]
    fn scalar_round_trips_in_its_own_type(value in prop_oneof![Just(Scalar::Null), scalar()]) {
        let text = serde_json::to_string(&value).unwrap();
        let back: Scalar = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back, value);
    }

    #[test]
    fn numeric_strings_convert_like_numbers(v in any::<i64>(), pad in "[ \t\n]{0,2}") {
        let padded = Scalar::Str(format!("{pad}{v}{pad}"));
        prop_assert_eq!(padded.as_i64(), Some(v));
        prop_assert_eq!(Scalar::Int(v).as_i64(), Some(v));
        prop_assert_eq!(Scalar::Str(v.to_string()).as_f64(), Some(v as f64));
    }

    #[test]
    fn headers_round_trip_through_both_forms(h in headers()) {
        let array = serde_json::to_string(&h).unwrap();
        prop_assert_eq!(serde_json::from_str::<Headers>(&array).unwrap(), h.clone());
        let encoded = serde_json::to_string(&h.to_encoded_object()).unwrap();
        prop_assert_eq!(serde_json::from_str::<Headers>(&encoded).unwrap(), h.clone());
        let object: Headers = serde_json::from_str(&h.to_encoded_object()).unwrap();
        prop_assert_eq!(object, h);
    }

    #[test]
    fn telemetry_round_trips(t in telemetry()) {
        let text = serde_json::to_string(&t).unwrap();
        let back: Telemetry = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back, t);
    }

    #[test]
    fn akto_record_in_canonical_string_form_round_trips(
        r in record_with(opt_akto_string)
    ) {
        let text = serde_json::to_string(&r).unwrap();
        let back: Record = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&back, &r);
        // And through the envelope the server uses.
        let body = format!("{{\"batchData\":[{text},{text}]}}");
        let envelope: BatchEnvelope<'_> = serde_json::from_str(&body).unwrap();
        let records: Vec<_> = envelope.records().map(|(_, r)| r.unwrap()).collect();
        prop_assert_eq!(records, vec![r.clone(), r]);
    }

    #[test]
    fn akto_record_with_loose_values_is_written_as_strings(r in record_with(opt_scalar)) {
        let text = serde_json::to_string(&r).unwrap();
        let back: Record = serde_json::from_str(&text).unwrap();
        let as_string = |v: &Option<Scalar>| v.as_ref().map(|s| Scalar::Str(s.as_str_lossy().into_owned()));
        prop_assert_eq!(&back.time, &as_string(&r.time));
        prop_assert_eq!(&back.status_code, &as_string(&r.status_code));
        prop_assert_eq!(&back.akto_account_id, &as_string(&r.akto_account_id));
        prop_assert_eq!(&back.akto_vxlan_id, &as_string(&r.akto_vxlan_id));
        prop_assert_eq!(&back.is_pending, &as_string(&r.is_pending));
        prop_assert_eq!(&back.tag, &as_string(&r.tag));
        prop_assert_eq!(&back.direction, &as_string(&r.direction));
        // Numbers and booleans written as strings keep their meaning.
        if let Some(Scalar::Int(v)) = &r.time {
            prop_assert_eq!(back.time.as_ref().and_then(Scalar::as_i64), Some(*v));
        }
        if let Some(Scalar::UInt(v)) = &r.status_code {
            prop_assert_eq!(back.status_code.as_ref().and_then(Scalar::as_u64), Some(*v));
        }
        if let Some(Scalar::Bool(v)) = &r.is_pending {
            prop_assert_eq!(back.is_pending.as_ref().and_then(Scalar::as_bool), Some(*v));
        }
        // The canonical form is a fixed point.
        prop_assert_eq!(serde_json::to_string(&back).unwrap(), text);
    }

    #[test]
    fn decoding_any_json_document_never_panics(doc in json_value()) {
        let text = doc.to_string();
        let _ = serde_json::from_str::<Telemetry>(&text);
        let _ = serde_json::from_str::<Record>(&text);
        let _ = serde_json::from_str::<Headers>(&text);
        let _ = serde_json::from_str::<Scalar>(&text);
        if let Ok(envelope) = serde_json::from_str::<BatchEnvelope<'_>>(&text) {
            for (_, record) in envelope.records() {
                let _ = record;
            }
        }
    }

    #[test]
    fn wrong_scalar_types_never_fail_a_record(
        status in json_value(),
        time in json_value(),
        truncated in json_value(),
    ) {
        let doc = serde_json::json!({
            "response": {"statusCode": status, "common": {"time": time, "truncatedBody": truncated}}
        });
        prop_assert!(serde_json::from_value::<Telemetry>(doc.clone()).is_ok());
        prop_assert!(serde_json::from_str::<Telemetry>(&doc.to_string()).is_ok());
        let record = serde_json::json!({"time": doc, "statusCode": [1], "is_pending": {"a": null}});
        prop_assert!(serde_json::from_str::<Record>(&record.to_string()).is_ok());
    }

    #[test]
    fn headers_of_any_shape_never_fail_a_record(headers in json_value()) {
        // Except a string that breaks JSON itself, every shape decodes; problems become data.
        let doc = serde_json::json!({"request": {"common": {"headers": headers.clone()}}});
        prop_assert!(serde_json::from_str::<Telemetry>(&doc.to_string()).is_ok());
        let record = serde_json::json!({"requestHeaders": headers});
        prop_assert!(serde_json::from_str::<Record>(&record.to_string()).is_ok());
    }
}
