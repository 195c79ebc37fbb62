//! `/api/ingestData` bodies (Akto's `{"batchData": [...]}`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use reconstructor_fuzz::{SETUPS, batch_records, check_outcome, received_at};

fuzz_target!(|data: &[u8]| {
    let records = batch_records(data);
    for setup in SETUPS.iter() {
        let outcome = setup.decoder.decode_ingest_data(data, received_at());
        check_outcome(&outcome, records, setup.cap);
    }
});
