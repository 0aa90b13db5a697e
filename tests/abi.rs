//! The C ABI, recorded with libabigail and checked against every build: a
//! change that could break a program compiled against an earlier muon of
//! the same SONAME fails this test until it is recorded on purpose with
//!
//! ```sh
//! BLESS=1 cargo test --test abi      # rewrites abi/*.abi; commit them
//! ```
//!
//! Two records, in libabigail's ABIXML (`abidw`), compared with `abidiff`:
//!
//! - `abi/libmuon.so.abi`: the shared library's SONAME and the functions it
//!   exports, read from the ELF symbol table of the library this build made
//!   (its debug information stripped: Rust's describes the Rust types, the
//!   insides of handles opaque to C, and changes with every internal edit).
//!   A removed function is an incompatible change.
//! - `abi/muon.h.abi`: the C view, as a C compiler sees `include/muon.h`:
//!   every declared function's signature and every type reachable from
//!   them (struct layouts, enumerator values, callback types). It is read
//!   from the debug information of a small shared object compiled from a
//!   generated C file that holds, for each function `f` of the header, a
//!   pointer `probe_f` of type `__typeof__(f) *`, initialised to `f` and
//!   linked against the built libmuon.so: the variables' types are the
//!   functions' C signatures. A change of a signature shows as a change of
//!   the type of `probe_f`, a removed function as a removed `probe_f`.
//!
//! Every difference abidiff reports fails the test (abidiff calls a changed
//! struct layout an "ABI change", not "incompatible": only removals are),
//! added functions included, so that the records stay current. `abi/muon.abignore`
//! suppresses what is not API (`muon_test_panic`, exported with the
//! `test-panic` feature). Needs `abidw`/`abidiff` (Debian: abigail-tools),
//! `objcopy` and `cc`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{lib_dir, manifest_dir};

const BLESS_HINT: &str = "if the change is intended (a new function, or a break that comes with a \
     new SONAME: a new minor version before 1.0), record it with \
     `BLESS=1 cargo test --test abi` and commit abi/";

/// abidw's options: nothing that depends on where or on which machine the
/// inputs were built (paths, source locations, needed libraries), and
/// type ids that do not shift when a type is added.
const ABIDW_OPTIONS: [&str; 7] = [
    "--no-corpus-path",
    "--no-comp-dir-path",
    "--no-show-locs",
    "--no-elf-needed",
    "--drop-undefined-syms",
    "--type-id-style",
    "hash",
];

fn abi_dir() -> PathBuf {
    manifest_dir().join("abi")
}

fn suppressions() -> PathBuf {
    abi_dir().join("muon.abignore")
}

/// A scratch directory of this test's own, emptied.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("abi")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("can create a scratch directory");
    dir
}

fn run(mut cmd: Command, what: &str) -> Output {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!(
            "{what}: cannot run {:?} ({e}); abidw and abidiff come with Debian's \
             abigail-tools, objcopy with binutils",
            cmd.get_program()
        )
    });
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `abidw` of the ELF file `elf`, as text.
fn abidw(elf: &Path) -> String {
    let mut cmd = Command::new("abidw");
    cmd.args(ABIDW_OPTIONS)
        .arg("--suppressions")
        .arg(suppressions())
        .arg(elf);
    let xml = String::from_utf8(run(cmd, &format!("abidw {}", elf.display())).stdout)
        .expect("abidw writes UTF-8");
    // abidw keeps ELF symbols without debug information whatever the
    // suppressions say; the test-only export is dropped here.
    xml.lines()
        .filter(|l| !l.contains("name='muon_test_panic'"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The library's record: its exported symbols and SONAME.
fn library_abi(dir: &Path) -> String {
    let stripped = dir.join("libmuon.so");
    let mut cmd = Command::new("objcopy");
    cmd.arg("--strip-debug")
        .arg(lib_dir().join("libmuon.so"))
        .arg(&stripped);
    run(cmd, "objcopy --strip-debug libmuon.so");
    abidw(&stripped)
}

/// The functions `include/muon.h` declares: a declaration starts at the
/// beginning of a line (comments and continuation lines are indented or
/// start with '/' or '*') and its name is the word before the first '('.
fn header_functions() -> Vec<String> {
    let header = std::fs::read_to_string(manifest_dir().join("include/muon.h"))
        .expect("include/muon.h exists");
    let names: Vec<String> = header
        .lines()
        .filter(|l| !l.starts_with([' ', '/', '*', '#', '}']))
        .filter_map(|l| {
            let name = l[..l.find('(')?].rsplit([' ', '*']).next()?;
            name.starts_with("muon_").then(|| name.to_string())
        })
        .collect();
    assert!(
        names.iter().any(|n| n == "muon_loop_new"),
        "the header's functions were found"
    );
    names
}

/// The header's record: the C signatures and types, through the probe.
fn header_abi(dir: &Path) -> String {
    let mut probe = String::from(
        "/* Generated by tests/abi.rs: one pointer per function of muon.h, typed\n \
         * with the function's C signature. */\n#include <muon.h>\n\n",
    );
    for f in header_functions() {
        probe += &format!("__typeof__({f}) *const probe_{f} = {f};\n");
    }
    std::fs::write(dir.join("probe.c"), probe).expect("can write probe.c");
    let lib = lib_dir(); // also makes the SONAME link the probe is linked to
    let mut cmd = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".to_string()));
    // Relative paths, from inside `dir`: nothing of this machine's layout
    // reaches the debug information beyond what abidw drops.
    cmd.current_dir(dir)
        .args([
            "-g",
            "-O0",
            "-fPIC",
            "-shared",
            "-o",
            "libprobe.so",
            "probe.c",
        ])
        .arg(format!("-I{}", manifest_dir().join("include").display()))
        .arg(format!("-L{}", lib.display()))
        .arg("-lmuon");
    run(cmd, "compiling the ABI probe");
    abidw(&dir.join("libprobe.so"))
}

/// Compares the committed record `name` with `current` (rewriting it
/// under BLESS); returns abidiff's report when they differ.
fn check(name: &str, current: &str, dir: &Path) -> Option<String> {
    let committed = abi_dir().join(name);
    if std::env::var_os("BLESS").is_some() {
        std::fs::create_dir_all(abi_dir()).expect("can create abi/");
        std::fs::write(&committed, current).expect("can write the record");
        return None;
    }
    if !committed.exists() {
        return Some(format!(
            "abi/{name} does not exist: record it with `BLESS=1 cargo test --test abi` \
             and commit abi/"
        ));
    }
    let fresh = dir.join(name);
    std::fs::write(&fresh, current).expect("can write");
    let out = Command::new("abidiff")
        .arg("--suppressions")
        .arg(suppressions())
        .arg("--no-show-locs")
        .arg(&committed)
        .arg(&fresh)
        .output()
        .expect("abidiff (abigail-tools) is installed");
    let code = out.status.code().unwrap_or(-1);
    if code == 0 {
        return None;
    }
    // abidiff's status is a bit set: 1 error, 2 usage error, 4 an ABI
    // change, 8 an incompatible one (removals).
    assert!(
        code & 3 == 0,
        "abidiff failed on abi/{name} ({code}):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kind = if code & 8 != 0 {
        "an INCOMPATIBLE ABI change (a removal, or another SONAME)"
    } else {
        "an ABI change. Review it: a changed signature, a moved struct member or a \
         changed enumerator value breaks programs built against the record; a new \
         function, or a callback appended to muon_handler (callers pass its \
         struct_size), does not. Either way the record must be updated"
    };
    Some(format!(
        "abi/{name} differs from this build: {kind}.\n\
         abidiff abi/{name} (recorded) {} (this build):\n{}\n{BLESS_HINT}",
        fresh.display(),
        String::from_utf8_lossy(&out.stdout)
    ))
}

#[test]
fn exported_symbols_match_the_abi_record() {
    let dir = scratch("library");
    if let Some(report) = check("libmuon.so.abi", &library_abi(&dir), &dir) {
        panic!("{report}");
    }
}

#[test]
fn header_types_and_signatures_match_the_abi_record() {
    let dir = scratch("header");
    if let Some(report) = check("muon.h.abi", &header_abi(&dir), &dir) {
        panic!("{report}");
    }
}
