//! muon inside other event loops, and connections over transports the
//! application owns: the C programs `tests/c/embed_*.c`, compiled against
//! the static library and run.
//!
//! - `embed_poll`: the loop's descriptor and deadline in the application's
//!   own `poll()` loop (timers, a post from another thread, sends from the
//!   application's code, a listener and a client over TCP).
//! - `embed_uv`: the same loop inside libuv (`uv_poll_t` on the descriptor,
//!   `uv_timer_t` from the deadline); needs Debian's `libuv1-dev`, which
//!   `.ci/run` installs: without it the test fails, it is not skipped.
//! - `embed_driver`: `muon_driver` over a socketpair, over a pipe pair and
//!   over the application's TCP socket to a muon listener (20,000
//!   messages each, some split across frames, heartbeats through the
//!   drivers' deadlines), and its errors; the error cases, the socketpair
//!   (with 2,000 messages) and `embed_poll` again under AddressSanitizer
//!   and UndefinedBehaviorSanitizer when the compiler has them (required
//!   on CI: `MUON_REQUIRE_ASAN`).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{cc_command, lib_dir, manifest_dir, out_dir, run_compiler};

const ASAN: [&str; 4] = [
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=undefined",
    "-fno-omit-frame-pointer",
    "-O1",
];

/// Compiles `tests/c/<name>.c` against `libmuon.a` with `extra` flags and
/// `libs`, into an executable named after `name` and `tag`.
fn compile(name: &str, tag: &str, extra: &[&str], libs: &[&str]) -> PathBuf {
    let src = manifest_dir().join("tests/c").join(format!("{name}.c"));
    let exe = out_dir().join(format!("{name}-{tag}"));
    let mut cmd = cc_command(extra);
    cmd.arg(&src)
        .arg("-o")
        .arg(&exe)
        .arg(lib_dir().join("libmuon.a"))
        .args(libs)
        .args(["-lpthread", "-ldl", "-lm"]);
    run_compiler(cmd, &format!("compiling {}", src.display()));
    exe
}

/// Runs `exe` with `args`; it must exit 0 with a last line starting with
/// `expect`.
fn run(exe: &Path, args: &[&str], expect: &str) {
    let child = common::command(exe)
        .args(args)
        .env("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1")
        .env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
    let out = common::ChildGuard(Some(child)).wait(Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{} {args:?} failed ({}); stdout:\n{stdout}\nstderr:\n{stderr}",
        exe.display(),
        out.status
    );
    assert!(
        stdout.lines().last().is_some_and(|l| l.starts_with(expect)),
        "{} {args:?}: stdout:\n{stdout}\nstderr:\n{stderr}",
        exe.display()
    );
}

/// True if the C compiler builds and runs a program with ASan and UBSan;
/// on CI (`MUON_REQUIRE_ASAN`) a compiler without them fails the test.
fn sanitizers() -> bool {
    let dir = out_dir();
    let src = dir.join("embed_asan_probe.c");
    let exe = dir.join("embed_asan_probe");
    std::fs::write(&src, "int main(void) { return 0; }\n").expect("can write the probe");
    let ok = std::process::Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(ASAN)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .output()
        .is_ok_and(|o| o.status.success())
        && std::process::Command::new(&exe)
            .output()
            .is_ok_and(|o| o.status.success());
    assert!(
        ok || std::env::var_os("MUON_REQUIRE_ASAN").is_none(),
        "the C compiler has no ASan/UBSan, and MUON_REQUIRE_ASAN is set"
    );
    ok
}

#[test]
fn a_loop_runs_inside_the_applications_poll_loop() {
    let exe = compile("embed_poll", "static", &[], &[]);
    run(&exe, &[], "embed_poll: ok");
}

#[test]
fn a_loop_runs_inside_libuv() {
    let exe = compile("embed_uv", "static", &[], &["-luv"]);
    run(&exe, &[], "embed_uv: ok");
}

#[test]
fn two_drivers_talk_over_a_socketpair() {
    let exe = compile("embed_driver", "socketpair", &[], &[]);
    run(&exe, &["socketpair"], "embed_driver socketpair: ok");
}

#[test]
fn two_drivers_talk_over_a_pipe_pair() {
    let exe = compile("embed_driver", "pipes", &[], &[]);
    run(&exe, &["pipes"], "embed_driver pipes: ok");
}

#[test]
fn a_driver_talks_to_a_muon_listener() {
    let exe = compile("embed_driver", "listener", &[], &[]);
    run(&exe, &["listener"], "embed_driver listener: ok");
}

#[test]
fn driver_errors_end_the_connection_as_a_sockets_would() {
    let exe = compile("embed_driver", "errors", &[], &[]);
    run(&exe, &["errors"], "embed_driver errors: ok");
}

#[test]
fn drivers_and_the_loop_descriptor_under_address_sanitizer() {
    if std::env::var_os("VALGRIND").is_some() || !sanitizers() {
        eprintln!("no ASan/UBSan run");
        return;
    }
    let driver = compile("embed_driver", "asan", &ASAN, &[]);
    run(&driver, &["errors"], "embed_driver errors: ok");
    run(
        &driver,
        &["socketpair", "2000"],
        "embed_driver socketpair: ok",
    );
    let poll = compile("embed_poll", "asan", &ASAN, &[]);
    run(&poll, &[], "embed_poll: ok");
}
