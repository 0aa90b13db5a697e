//! Many loops on many threads in one process, a listener shared by several
//! loops, and the multi-threaded example server (issue 15, "Threads").
//!
//! - `tests/c/threads_broker.c`: 8 loops on 8 threads, each with 2
//!   connections to the example broker (one broker process, started here),
//!   messages sent and received on every connection and each one counted,
//!   while 2 more threads post functions (some carrying messages made on
//!   their thread) to every loop and wake them. Run under ThreadSanitizer
//!   (muon instrumented too: `common::tsan`), which must report nothing.
//!   CI runs `CI_MESSAGES` messages in all; `MUON_THREADS_MESSAGES=1000000`
//!   runs the full figure (and `MUON_THREADS_SECONDS` bounds it).
//! - `tests/c/threads_listen.c`: 4 loops on 4 threads listen on one port
//!   with `muon_connection_options_set_reuse_port`; 32 connections are
//!   spread by the kernel over at least two of them, each served from
//!   accept to end on its loop's thread. Plain and under ThreadSanitizer.
//! - `examples-c/server_direct.c -t 2`: several `client` examples at once
//!   get their answers, and the server ends cleanly on SIGTERM.
//!
//! Where ThreadSanitizer is missing the programs run without it, unless
//! `MUON_REQUIRE_TSAN` is set (CI), which makes that a failure.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::examples::{Broker, Build, build};
use common::program::Program;
use common::tsan::{tsan_library, tsan_supported};
use common::{Link, compile_c, manifest_dir, out_dir};

/// Messages in all in the CI run of `threads_broker` under
/// ThreadSanitizer: about 8 s on a busy 2-core machine (the full
/// 1,000,000 took 280 s there).
const CI_MESSAGES: u64 = 40_000;

fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".to_string())
}

/// `tests/c/<name>.c` compiled under ThreadSanitizer against the
/// instrumented muon; `None` (said on stderr) where that cannot be had and
/// `MUON_REQUIRE_TSAN` is not set.
fn tsan_program(name: &str) -> Option<PathBuf> {
    let required = std::env::var_os("MUON_REQUIRE_TSAN").is_some();
    if std::env::var_os("VALGRIND").is_some() {
        eprintln!("under VALGRIND: the TSan build is not run");
        return None;
    }
    if !tsan_supported() {
        assert!(
            !required,
            "{} cannot build a ThreadSanitizer program that reports a race, and MUON_REQUIRE_TSAN is set",
            cc()
        );
        eprintln!(
            "{} does not support -fsanitize=thread: not under TSan",
            cc()
        );
        return None;
    }
    let build = match tsan_library() {
        Ok(built) => built,
        Err(why) => {
            assert!(!required, "{why}");
            eprintln!("{why}\nnot under TSan");
            return None;
        }
    };
    let src = manifest_dir().join("tests/c").join(format!("{name}.c"));
    let exe = out_dir().join(format!("{name}-tsan"));
    let mut cmd = Command::new(cc());
    cmd.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g"])
        .args(["-fsanitize=thread", "-O1"])
        .arg(format!("-I{}", manifest_dir().join("include").display()))
        .arg(&src)
        .arg(&build.shim)
        .arg(&build.wrap)
        .arg("-o")
        .arg(&exe)
        .arg(&build.lib)
        .args(["-lpthread", "-ldl", "-lm"]);
    common::run_compiler(
        cmd,
        &format!("compiling {} with -fsanitize=thread", src.display()),
    );
    Some(exe)
}

/// Runs a test program to completion; it must exit 0, say `NAME: ok` last,
/// and (under TSan) ThreadSanitizer must have said nothing. Returns stdout.
fn run(exe: &Path, name: &str, args: &[&str], limit: Duration) -> String {
    let child = common::command(exe)
        .args(args)
        .env("TSAN_OPTIONS", "halt_on_error=1:second_deadlock_stack=1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
    let out = common::ChildGuard(Some(child)).wait(limit);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.lines().last() == Some(&format!("{name}: ok")[..]),
        "{} failed ({}); stdout:\n{stdout}\nstderr:\n{stderr}",
        exe.display(),
        out.status
    );
    assert!(
        !stderr.contains("ThreadSanitizer"),
        "{name}: ThreadSanitizer reported:\n{stderr}"
    );
    eprint!("{stdout}");
    stdout
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v}: not a number"))
        })
        .unwrap_or(default)
}

/// 8 loops on 8 threads, 2 connections each to one example broker, every
/// message counted, with post and wake storms from 2 other threads; under
/// ThreadSanitizer when it can be had.
#[test]
fn eight_loops_through_the_broker_with_post_and_wake_storms() {
    let messages = env_number("MUON_THREADS_MESSAGES", CI_MESSAGES);
    let seconds = env_number("MUON_THREADS_SECONDS", 240);
    let exe = tsan_program("threads_broker")
        .unwrap_or_else(|| compile_c(Path::new("tests/c/threads_broker.c"), Link::Static));
    let broker = Broker::launch(Build::Static, 0, &[], &[], Duration::from_secs(60));
    let port = broker.port.to_string();
    let (messages, seconds) = (messages.to_string(), seconds.to_string());
    let limit = Duration::from_secs(seconds.parse::<u64>().expect("a number") + 30);
    run(
        &exe,
        "threads_broker",
        &[&port, "8", "2", &messages, "2", &seconds],
        limit,
    );
    broker.stop();
}

/// Listeners of 4 loops on 4 threads share one port; the kernel spreads
/// 32 connections over at least two of them.
#[test]
fn loops_on_threads_share_a_listening_port() {
    let exe = compile_c(Path::new("tests/c/threads_listen.c"), Link::Static);
    run(
        &exe,
        "threads_listen",
        &["4", "32"],
        Duration::from_secs(90),
    );
}

#[test]
fn loops_on_threads_share_a_listening_port_under_thread_sanitizer() {
    if let Some(exe) = tsan_program("threads_listen") {
        run(
            &exe,
            "threads_listen",
            &["4", "32"],
            Duration::from_secs(90),
        );
    }
}

const REQUESTS: [&str; 4] = [
    "Twas brillig, and the slithy toves => TWAS BRILLIG, AND THE SLITHY TOVES",
    "Did gire and gymble in the wabe. => DID GIRE AND GYMBLE IN THE WABE.",
    "All mimsy were the borogroves, => ALL MIMSY WERE THE BOROGROVES,",
    "And the mome raths outgrabe. => AND THE MOME RATHS OUTGRABE.",
];

/// `server_direct -t 2` (under AddressSanitizer with leak detection):
/// two loops on two threads share the port; six `client` examples at once,
/// then six more, each get their four answers; SIGTERM ends it with status
/// 0 and nothing on stderr.
#[test]
fn server_direct_with_two_threads_answers_several_clients_at_once() {
    let server = Program::start_env(
        &build("server_direct", Build::Asan),
        &["-a", "127.0.0.1:0", "-t", "2"],
        &[("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1")],
    );
    let line = server.wait_line("listening on ", Duration::from_secs(30));
    let url = format!("127.0.0.1:{}/examples", &line["listening on ".len()..]);
    let client = build("client", Build::Static);
    for _ in 0..2 {
        let clients: Vec<Program> = (0..6)
            .map(|_| Program::start(&client, &["-a", &url]))
            .collect();
        for c in clients {
            assert_eq!(c.success(Duration::from_secs(60)), REQUESTS);
        }
    }
    server.signal(libc::SIGTERM);
    let (status, out, err) = server.wait(Duration::from_secs(30));
    assert!(status.success(), "server_direct: {status}\n{err}");
    assert_eq!(out, vec![line]);
    assert_eq!(err, "");
}

/// `server_direct` refuses a bad `-t` and describes it in `-h`.
#[test]
fn server_direct_describes_and_checks_its_thread_count() {
    let exe = build("server_direct", Build::Static);
    let (status, out, _) = Program::start(&exe, &["-h"]).wait(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0));
    assert!(
        out.iter().any(|l| l.trim_start().starts_with("-t")),
        "{out:?}"
    );
    for bad in ["0", "x", "257", ""] {
        let (status, _, err) =
            Program::start(&exe, &["-t", bad, "-a", "127.0.0.1:0"]).wait(Duration::from_secs(30));
        assert_eq!(status.code(), Some(2), "-t {bad:?}: {err}");
        assert!(err.contains("-t"), "-t {bad:?}: {err}");
    }
}
