//! ThreadSanitizer for the C programs that use threads (`tests/c_api.rs`,
//! `tests/threads.rs`): whether the C compiler has it, and muon built with
//! it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::{manifest_dir, out_dir};

fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".to_string())
}

/// Where the ThreadSanitizer build of muon goes (beside the normal
/// builds, so that it never replaces the library the other tests link).
pub fn tsan_target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the tmp directory is in the target directory")
        .join("tsan")
}

/// True if `cc -fsanitize=thread` builds a program that runs and reports
/// a deliberate data race (so that a clean run means something).
pub fn tsan_supported() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        let dir = out_dir();
        // Named after the test binary: several run at once.
        let src = dir.join(concat!("tsan_probe-", env!("CARGO_CRATE_NAME"), ".c"));
        let exe = dir.join(concat!("tsan_probe-", env!("CARGO_CRATE_NAME")));
        std::fs::write(
            &src,
            "#include <pthread.h>\n\
             static int shared;\n\
             static void *writer(void *p) { (void)p; shared++; return 0; }\n\
             int main(void) {\n\
                 pthread_t t;\n\
                 pthread_create(&t, 0, writer, 0);\n\
                 shared++;\n\
                 pthread_join(t, 0);\n\
                 return 0;\n\
             }\n",
        )
        .expect("can write the probe");
        let built = Command::new(cc())
            .args(["-fsanitize=thread", "-g"])
            .arg(&src)
            .arg("-o")
            .arg(&exe)
            .arg("-lpthread")
            .output()
            .is_ok_and(|o| o.status.success());
        built
            && Command::new(&exe)
                .env("TSAN_OPTIONS", "exitcode=66")
                .output()
                .is_ok_and(|o| {
                    o.status.code() == Some(66)
                        && String::from_utf8_lossy(&o.stderr).contains("data race")
                })
    })
}

/// What a ThreadSanitizer program links with.
#[derive(Debug, Clone)]
pub struct TsanBuild {
    /// `libmuon.a` instrumented for ThreadSanitizer.
    pub lib: PathBuf,
    /// The C file of the functions below.
    pub shim: PathBuf,
    /// The linker flag that wraps std's contended lock.
    pub wrap: String,
}

/// `libmuon.a` instrumented for ThreadSanitizer, and what to link with
/// it; an error says why it cannot be built.
///
/// A library built without instrumentation gives false reports: every
/// hand-over between threads that muon synchronizes in Rust (the posted
/// functions' queue behind a `std::sync::Mutex`, its `Vec` allocated on
/// one thread and freed on the other) is invisible to the sanitizer
/// (`api_threads` had four such reports, on every run). So muon itself is
/// built with `-Zsanitizer=thread` (stable rustc accepts it with
/// `RUSTC_BOOTSTRAP=1`; the flags go to muon's crate only, with `cargo
/// rustc`). What that leaves out, and why the result is sound:
///
/// - The standard library and the dependencies are not instrumented
///   (`-Zbuild-std`, which would rebuild std with the sanitizer, is not
///   available on stable). rustc refuses to mix instrumented and
///   uninstrumented crates unless told `-Cunsafe-allow-abi-mismatch=
///   sanitizer`: ThreadSanitizer adds calls around memory accesses and
///   changes no type layout or calling convention (the check exists for
///   sanitizers that do), so the mix is what C programs do with
///   uninstrumented system libraries: accesses made inside std and the
///   dependencies (mio, rustls, ring) are not checked, nothing is
///   checked wrongly.
/// - At `-Copt-level=2`, std's `#[inline]` synchronization (the mutex
///   fast paths, `Arc` counts, atomics) is compiled into muon and
///   instrumented, so it orders what it should. The contended path of
///   `Mutex::lock` stays out of line in std: when it acquires the lock
///   the sanitizer does not see it (a false report about one run in three
///   in `api_threads`). The link wraps that function (`--wrap`) with one
///   that tells the sanitizer the lock was acquired (`__tsan_acquire` on
///   the mutex, whose release by the inlined unlock is instrumented),
///   which is exactly what returning from it means.
/// - rustc's LLVM calls `__tsan_memcpy`, `__tsan_memmove` and
///   `__tsan_memset`, which Debian 12's libtsan (GCC 12) predates; the
///   link gets versions that call `memcpy` and the others, which libtsan
///   intercepts and checks, so the copies are checked as before.
pub fn tsan_library() -> Result<TsanBuild, String> {
    static LIB: OnceLock<Result<TsanBuild, String>> = OnceLock::new();
    LIB.get_or_init(|| {
        let dir = tsan_target_dir();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .current_dir(manifest_dir())
            .env("RUSTC_BOOTSTRAP", "1")
            .env("CARGO_TARGET_DIR", &dir)
            .env_remove("RUSTFLAGS")
            .args([
                "rustc",
                "--lib",
                "--features",
                "test-panic",
                "--crate-type",
                "staticlib",
                "--",
                "-Zsanitizer=thread",
                "-Cunsafe-allow-abi-mismatch=sanitizer",
                "-Copt-level=2",
            ])
            .output()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "the ThreadSanitizer build of muon failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let lib = dir.join("debug/libmuon.a");
        // The symbol of std's out-of-line contended lock, as muon calls it.
        let nm = Command::new("nm")
            .arg("-u")
            .arg(&lib)
            .output()
            .map_err(|e| format!("cannot run nm: {e}"))?;
        let nm = String::from_utf8_lossy(&nm.stdout);
        let contended = nm
            .split_whitespace()
            .find(|s| s.contains("5futex") && s.ends_with("5Mutex14lock_contended"))
            .ok_or("no call to std's Mutex::lock_contended in the instrumented muon")?;
        let shim = out_dir().join(concat!("tsan_shim-", env!("CARGO_CRATE_NAME"), ".c"));
        std::fs::write(
            &shim,
            format!(
                "/* Written by tests/c_api.rs: see tsan_library there. */\n\
                 #include <string.h>\n\
                 void *__tsan_memcpy(void *d, const void *s, size_t n) {{ return memcpy(d, s, n); }}\n\
                 void *__tsan_memmove(void *d, const void *s, size_t n) {{ return memmove(d, s, n); }}\n\
                 void *__tsan_memset(void *d, int c, size_t n) {{ return memset(d, c, n); }}\n\
                 void __tsan_acquire(void *addr);\n\
                 void __real_{contended}(void *mutex);\n\
                 void __wrap_{contended}(void *mutex) {{\n\
                     __real_{contended}(mutex);\n\
                     __tsan_acquire(mutex);\n\
                 }}\n"
            ),
        )
        .map_err(|e| format!("cannot write the shim: {e}"))?;
        Ok(TsanBuild {
            lib,
            shim,
            wrap: format!("-Wl,--wrap={contended}"),
        })
    })
    .clone()
}
