//! The committed `include/muon.h` must be exactly what `build.rs` generates
//! from `src/ffi`, and its version macros must match Cargo.toml.

use std::path::PathBuf;

/// The header cbindgen generated for this build.
const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/muon.h"));

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("include/muon.h")
}

#[test]
fn committed_header_matches_generated() {
    let path = committed_path();
    if std::env::var_os("BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("include/ has a parent"))
            .expect("can create include/");
        std::fs::write(&path, GENERATED).expect("can write include/muon.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != GENERATED {
        let line = committed
            .lines()
            .zip(GENERATED.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| "the end".to_string(), |n| format!("line {}", n + 1));
        panic!(
            "include/muon.h differs from the generated header (first at {line}); \
             run `BLESS=1 cargo test --test header` and commit it"
        );
    }
}

/// The value of `#define NAME value` in `header`.
fn define<'h>(header: &'h str, name: &str) -> &'h str {
    header
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix("#define ")?.strip_prefix(name)?;
            rest.starts_with(' ').then(|| rest.trim())
        })
        .unwrap_or_else(|| panic!("the header defines {name}"))
}

#[test]
fn version_macros_match_cargo_version() {
    for header in [
        GENERATED,
        &std::fs::read_to_string(committed_path()).unwrap_or_default(),
    ] {
        if header.is_empty() {
            continue; // reported by the test above
        }
        assert_eq!(
            define(header, "MUON_VERSION_MAJOR"),
            env!("CARGO_PKG_VERSION_MAJOR")
        );
        assert_eq!(
            define(header, "MUON_VERSION_MINOR"),
            env!("CARGO_PKG_VERSION_MINOR")
        );
        assert_eq!(
            define(header, "MUON_VERSION_PATCH"),
            env!("CARGO_PKG_VERSION_PATCH")
        );
        assert_eq!(
            define(header, "MUON_VERSION_STRING"),
            format!("\"{}\"", env!("CARGO_PKG_VERSION"))
        );
    }
}
