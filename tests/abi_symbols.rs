//! `libmuon.so` exports only `muon_*` names (STYLE.md 2.2), and exactly the
//! functions the committed header declares.
//!
//! A Rust cdylib exports its `#[no_mangle]` items and nothing else: rustc
//! hands the linker a version script that makes every other symbol local.
//! The linker itself may still define a few symbols in the dynamic symbol
//! table that no code declares: `_init` and `_fini` (the DT_INIT/DT_FINI
//! entry points) and `__bss_start`, `_edata`, `_end` (section boundaries).
//! Those five, and only they, are tolerated.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

const LINKER_DEFINED: [&str; 5] = ["_init", "_fini", "__bss_start", "_edata", "_end"];

/// `(type letter, name)` for every defined dynamic symbol of the cdylib.
fn exported_symbols() -> Vec<(String, String)> {
    let so = common::lib_dir().join("libmuon.so");
    let out = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(&so)
        .output()
        .expect("nm (binutils) is installed");
    assert!(out.status.success(), "nm failed on {}", so.display());
    String::from_utf8(out.stdout)
        .expect("nm prints text")
        .lines()
        .filter_map(|line| {
            // "0000000000012340 T muon_value_free" (address, type, name)
            let mut parts = line.split_whitespace().rev();
            let name = parts.next()?;
            let kind = parts.next()?;
            // Versioned names print as name@@VERSION; judge the name.
            let name = name.split('@').next().unwrap_or(name);
            Some((kind.to_string(), name.to_string()))
        })
        .collect()
}

#[test]
fn only_muon_symbols_are_exported() {
    let symbols = exported_symbols();
    let foreign: Vec<_> = symbols
        .iter()
        .filter(|(_, name)| !name.starts_with("muon_") && !LINKER_DEFINED.contains(&name.as_str()))
        .collect();
    assert!(
        foreign.is_empty(),
        "libmuon.so exports non-muon symbols: {foreign:?}"
    );
    assert!(
        symbols.iter().any(|(_, n)| n == "muon_value_free"),
        "the exported functions are there"
    );
    for (kind, name) in &symbols {
        if name.starts_with("muon_") {
            assert_eq!(kind, "T", "{name} is exported as a function (text) symbol");
        }
    }
}

#[test]
fn exports_match_the_header() {
    let header = std::fs::read_to_string(common::manifest_dir().join("include/muon.h"))
        .expect("include/muon.h exists");
    // Every declaration is "<type> muon_name(": a name right before '(' that
    // does not sit inside a comment line.
    let declared: BTreeSet<String> = header
        .lines()
        .filter(|l| !l.trim_start().starts_with(['*', '/']) && !l.starts_with(' '))
        .filter_map(|l| {
            let before = &l[..l.find('(')?];
            let name = before.rsplit([' ', '*']).next()?;
            name.starts_with("muon_").then(|| name.to_string())
        })
        .collect();
    let exported: BTreeSet<String> = exported_symbols()
        .into_iter()
        .map(|(_, n)| n)
        .filter(|n| n.starts_with("muon_"))
        // Test-only export (feature `test-panic`), kept out of the header.
        .filter(|n| n != "muon_test_panic")
        .collect();
    let missing: Vec<_> = declared.difference(&exported).collect();
    let undeclared: Vec<_> = exported.difference(&declared).collect();
    assert!(
        missing.is_empty(),
        "declared in muon.h but not exported: {missing:?}"
    );
    assert!(
        undeclared.is_empty(),
        "exported but not declared in muon.h: {undeclared:?}"
    );
}
