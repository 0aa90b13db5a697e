//! Parses arbitrary text as a JMS selector and matches what parses against
//! messages. Nothing may panic; refusals name a column within the text.
//!
//! The check is `check_selector` in `common.rs`, which `tests/fuzz_replay.rs`
//! also runs over the committed seeds.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| common::check_selector(data));
