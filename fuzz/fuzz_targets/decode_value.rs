//! Decodes arbitrary bytes as one AMQP value. Nothing may panic; whatever
//! decodes must re-encode (with `encoded_len` telling the size) to bytes
//! that decode to the same value (floats compared by bits), and encoding
//! that again must give the same bytes.
//!
//! The check is `check_decode_value` in `common.rs`, which `tests/fuzz_replay.rs`
//! also runs over the committed seeds and corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| common::check_decode_value(data));
