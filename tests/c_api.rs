//! The C API from C: each `tests/c/api_*.c` program is compiled with
//! `-std=c11 -Wall -Wextra -Werror -pedantic` against the static library
//! and run; then again under AddressSanitizer with leak detection, when the
//! C compiler supports it (the Rust side is not instrumented, but every
//! allocation goes through the sanitizer's malloc, so leaks on either side
//! of the API are found). One program is also linked against the shared
//! library. Each program checks itself and exits non-zero on the first
//! failed check; here we check its exit status and its last line.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use common::{Link, lib_dir, manifest_dir, out_dir};

fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".to_string())
}

const STRICT: [&str; 6] = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g"];
const ASAN: [&str; 2] = ["-fsanitize=address", "-fno-omit-frame-pointer"];

/// Compiles `tests/c/<name>.c` against `libmuon.a`, with ASan if asked,
/// into an executable named after `name` and `tag` (tests running at the
/// same time must not share one).
fn compile(name: &str, asan: bool, tag: &str) -> PathBuf {
    let src = manifest_dir().join("tests/c").join(format!("{name}.c"));
    let exe = out_dir().join(format!("{name}-{tag}"));
    let mut cmd = Command::new(cc());
    cmd.args(STRICT)
        .arg(format!("-I{}", manifest_dir().join("include").display()))
        .arg(&src);
    if asan {
        cmd.args(ASAN);
    }
    cmd.arg("-o")
        .arg(&exe)
        .arg(lib_dir().join("libmuon.a"))
        .args(["-lpthread", "-ldl", "-lm"]);
    let out = cmd.output().expect("the C compiler runs");
    assert!(
        out.status.success(),
        "compiling {} failed:\n{}{}",
        src.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// True if `cc -fsanitize=address` builds a program that runs.
fn asan_supported() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        let dir = out_dir();
        let src = dir.join("asan_probe.c");
        let exe = dir.join("asan_probe");
        std::fs::write(&src, "int main(void) { return 0; }\n").expect("can write the probe");
        let built = Command::new(cc())
            .args(ASAN)
            .arg(&src)
            .arg("-o")
            .arg(&exe)
            .output()
            .is_ok_and(|o| o.status.success());
        built
            && Command::new(&exe)
                .output()
                .is_ok_and(|o| o.status.success())
    })
}

/// Runs `exe` with `env`, expecting exit status 0 and `expect` as the last
/// line of standard output. Returns standard error.
fn run(exe: &Path, args: &[&str], env: &[(&str, &str)], expect: &str) -> String {
    let mut cmd = common::command(exe);
    cmd.args(args)
        .envs(env.iter().copied())
        .env(
            "ASAN_OPTIONS",
            "detect_leaks=1:halt_on_error=1:abort_on_error=0",
        )
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
    let out = common::ChildGuard(Some(child)).wait(Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "{} failed ({}); stdout:\n{stdout}\nstderr:\n{stderr}",
        exe.display(),
        out.status
    );
    assert_eq!(
        stdout.lines().last(),
        Some(expect),
        "{}: stdout:\n{stdout}\nstderr:\n{stderr}",
        exe.display()
    );
    stderr
}

macro_rules! c_program {
    ($name:ident) => {
        mod $name {
            use super::*;

            const NAME: &str = stringify!($name);

            #[test]
            fn static_library() {
                let exe = compile(NAME, false, "static");
                run(&exe, &[], &[], &format!("{NAME}: ok"));
            }

            #[test]
            fn address_sanitizer() {
                if std::env::var_os("VALGRIND").is_some() {
                    eprintln!("under VALGRIND: the ASan build is not run");
                    return;
                }
                if !asan_supported() {
                    // CI sets MUON_REQUIRE_ASAN: there a missing sanitizer
                    // is a failure, never a silent pass.
                    assert!(
                        std::env::var_os("MUON_REQUIRE_ASAN").is_none(),
                        "{} does not support -fsanitize=address, and MUON_REQUIRE_ASAN is set",
                        cc()
                    );
                    eprintln!("{} does not support -fsanitize=address: skipped", cc());
                    return;
                }
                let exe = compile(NAME, true, "asan");
                run(&exe, &[], &[], &format!("{NAME}: ok"));
            }
        }
    };
}

c_program!(api_null);
c_program!(api_stale);
c_program!(api_close_in_callback);
c_program!(api_reentrant);
c_program!(api_threads);
c_program!(api_scoping);
c_program!(api_manual);
c_program!(api_trace);
c_program!(api_sasl);
c_program!(api_token);

/// The shared library works the same: one program linked to `libmuon.so`.
#[test]
fn api_scoping_shared_library() {
    let exe = common::compile_c(Path::new("tests/c/api_scoping.c"), Link::Shared);
    run(&exe, &[], &[], "api_scoping: ok");
}

/// `MUON_TRACE=frm`, read when the loop is made, prints the frame trace on
/// standard error when no log callback is set.
#[test]
fn muon_trace_env_prints_frames_to_stderr() {
    let exe = compile("api_trace", false, "env");
    let stderr = run(&exe, &["env"], &[("MUON_TRACE", "frm")], "api_trace: ok");
    for needle in [
        "-> SASL header",
        "-> AMQP header",
        "0 -> @open Open {",
        "0 <- @open Open {",
        "@attach Attach {",
        "@transfer Transfer {",
        "@close Close {",
    ] {
        assert!(stderr.contains(needle), "no {needle:?} in:\n{stderr}");
    }
}
