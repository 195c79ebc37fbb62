//! `/api/telemetry` bodies sent as JSON (one telemetry object or an array of them).
#![no_main]

use libfuzzer_sys::fuzz_target;
use reconstructor::ingest::TelemetryEncoding;
use reconstructor_fuzz::{SETUPS, check_outcome, json_records, received_at};

fuzz_target!(|data: &[u8]| {
    let records = json_records(data);
    for setup in SETUPS.iter() {
        let outcome = setup
            .decoder
            .decode_telemetry(data, TelemetryEncoding::Json, received_at());
        check_outcome(&outcome, records, setup.cap);
    }
});
