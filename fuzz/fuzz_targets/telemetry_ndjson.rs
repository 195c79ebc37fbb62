//! `/api/telemetry` bodies sent as NDJSON (one telemetry object per line).
#![no_main]

use libfuzzer_sys::fuzz_target;
use reconstructor::ingest::TelemetryEncoding;
use reconstructor_fuzz::{SETUPS, check_outcome, ndjson_records, received_at};

fuzz_target!(|data: &[u8]| {
    let records = ndjson_records(data);
    for setup in SETUPS.iter() {
        let outcome =
            setup
                .decoder
                .decode_telemetry(data, TelemetryEncoding::NdJson, received_at());
        check_outcome(&outcome, records, setup.cap);
    }
});
