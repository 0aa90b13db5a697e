//! Decodes arbitrary bytes as a message (the payload of a transfer).
//!
//! The first byte chooses how the rest is cut into parts, as if it had
//! arrived in several transfer frames: `Message::decode_parts` on the parts
//! must agree with `Message::decode` on the whole, error and offset
//! included. A message that decodes must re-encode to `encoded_len`
//! bytes that decode to a message which encodes to the same bytes
//! (compared as bytes, so that NaNs compare equal).
//!
//! The check is `check_decode_message` in `common.rs`, which `tests/fuzz_replay.rs`
//! also runs over the committed seeds and corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| common::check_decode_message(data));
