//! Replays the committed fuzz inputs without libFuzzer: every file in
//! `fuzz/seeds/<target>` and `fuzz/corpus/<target>` goes through the same
//! check function the fuzz target runs (`fuzz/fuzz_targets/common.rs`,
//! `fuzz/fuzz_targets/common_connection.rs`), so an input committed there
//! (a crash the fuzzer found, once fixed) fails the normal suite if the
//! bug comes back.

#[path = "../fuzz/fuzz_targets/common.rs"]
mod common;
#[path = "../fuzz/fuzz_targets/common_connection.rs"]
mod common_connection;

use std::path::Path;

/// Runs `check` over every committed input of `target`; fails listing
/// each input whose check panicked.
fn replay(target: &str, check: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files = Vec::new();
    for dir in ["seeds", "corpus"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        files.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_file()));
    }
    files.sort();
    assert!(
        files.len() >= 10,
        "only {} committed inputs for {target} under {}",
        files.len(),
        root.display()
    );
    let mut failed = Vec::new();
    for f in &files {
        let data = std::fs::read(f).expect("a readable fuzz input");
        if std::panic::catch_unwind(|| check(&data)).is_err() {
            failed.push(f.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} {target} inputs fail their check (the panic messages are above): {failed:#?}",
        failed.len(),
        files.len()
    );
}

#[test]
fn decode_value() {
    replay("decode_value", common::check_decode_value);
}

#[test]
fn decode_message() {
    replay("decode_message", common::check_decode_message);
}

#[test]
fn parse_frame() {
    replay("parse_frame", common::check_parse_frame);
}

#[test]
fn connection() {
    replay("connection", common_connection::check_connection);
}

#[test]
fn selector() {
    replay("selector", common::check_selector);
}
