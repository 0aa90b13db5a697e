//! Generates the C header into `$OUT_DIR/muon.h`; the committed
//! `include/muon.h` is checked against it by `tests/header.rs`. Only
//! `src/ffi` is read: everything the header declares lives there.
//!
//! Also gives the shared library its SONAME (ELF targets): `libmuon.so.0.N`
//! while the version is 0.N.x, `libmuon.so.M` from 1.0 on (M.x.y). The
//! SONAME changes exactly when Cargo's semver says the API may break: before
//! 1.0 a new minor version may break, a new patch version may not; from 1.0
//! only a new major version may. `scripts/install` reads it back from the
//! built library and names the installed files after it.

/// The SONAME of version `major.minor.x`.
fn soname(major: &str, minor: &str) -> String {
    if major == "0" {
        format!("libmuon.so.0.{minor}")
    } else {
        format!("libmuon.so.{major}")
    }
}

fn main() {
    let elf = std::env::var("CARGO_CFG_TARGET_FAMILY")
        .is_ok_and(|f| f.split(',').any(|f| f == "unix"))
        && std::env::var("CARGO_CFG_TARGET_VENDOR").is_ok_and(|v| v != "apple");
    if elf {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets the version");
        let minor = std::env::var("CARGO_PKG_VERSION_MINOR").expect("cargo sets the version");
        println!(
            "cargo:rustc-cdylib-link-arg=-Wl,-soname,{}",
            soname(&major, &minor)
        );
    }
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let config = cbindgen::Config::from_file(format!("{crate_dir}/cbindgen.toml"))
        .expect("cbindgen.toml is valid");
    let mut sources: Vec<_> = std::fs::read_dir(format!("{crate_dir}/src/ffi"))
        .expect("src/ffi exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        // cbindgen follows mod.rs's `mod` declarations into the files
        // listed here, which would declare every item twice; mod.rs itself
        // holds no C items.
        .filter(|p| p.file_name().is_some_and(|n| n != "mod.rs"))
        .collect();
    sources.sort();
    let mut builder = cbindgen::Builder::new().with_config(config);
    for src in sources {
        builder = builder.with_src(src);
    }
    builder
        .generate()
        .expect("cbindgen generates the header")
        .write_to_file(format!("{out_dir}/muon.h"));
}
