//! Drives a whole connection: a client and a server engine wired back to
//! back, fed the input as a script of operations (genuine output in
//! chunks, arbitrary bytes injected into either side, corrupted or dropped
//! output, time, and each side's commands). The invariants (no panic,
//! output that parses as frames, bounded buffers and state) are listed in
//! `common_connection.rs`, whose `check_connection` `tests/fuzz_replay.rs`
//! also runs over the committed seeds and corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common_connection.rs"]
mod common_connection;

fuzz_target!(|data: &[u8]| common_connection::check_connection(data));
