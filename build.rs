//! Generates the C header into `$OUT_DIR/muon.h` and nothing else; the
//! committed `include/muon.h` is checked against it by `tests/header.rs`.
//! Only `src/ffi` is read: everything the header declares lives there.

fn main() {
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
