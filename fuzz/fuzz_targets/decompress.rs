//! `encoding::decompress` with each content coding (and some lists of them) and a small cap.
//!
//! The first byte picks the `Content-Encoding` value, the second the cap, the rest is the body.
//! Invariants: the output never exceeds the cap; a body nothing was decoded from comes back as
//! its first `cap` bytes, flagged as cut exactly when it was longer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reconstructor::ingest::encoding::decompress;

const CODINGS: &[&str] = &[
    "gzip",
    "x-gzip",
    "deflate",
    "br",
    "zstd",
    "identity",
    "gzip, br",
    "deflate, gzip",
    "br, zstd",
    "zstd, zstd, zstd",
    "gzip, gzip, gzip, gzip, gzip, gzip, gzip, gzip, gzip, gzip",
    "GZIP , unknown, deflate",
];

fuzz_target!(|data: &[u8]| {
    let [coding, cap, body @ ..] = data else {
        return;
    };
    let coding = CODINGS[usize::from(*coding) % CODINGS.len()];
    let cap = usize::from(*cap) * 16;

    let out = decompress(coding, body, cap);
    assert!(
        out.bytes.len() <= cap,
        "{} bytes out with a cap of {cap}",
        out.bytes.len()
    );
    if !out.decoded {
        assert_eq!(&out.bytes[..], &body[..body.len().min(cap)]);
        assert_eq!(out.truncated, body.len() > cap);
    }
});
