//! Reads arbitrary bytes as a stream of frames, with the smallest
//! max-frame-size (512, the limit before open and for SASL) and a common
//! one (65536). Every frame's body is decoded as what its type says: an
//! AMQP frame's as a performative (a transfer's payload then as a
//! message), a SASL frame's as a SASL frame body. Nothing may panic, and
//! whatever decodes must re-encode to bytes that decode to the same
//! encoding again.
//!
//! The check is `check_parse_frame` in `common.rs`, which `tests/fuzz_replay.rs`
//! also runs over the committed seeds and corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| common::check_parse_frame(data));
