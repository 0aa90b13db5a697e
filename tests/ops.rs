//! Operating muon: statistics, the log and the frame trace, through the C
//! API over real connections (tests/c/ops_*.c), and the environment
//! variables `MUON_LOG` and `MUON_TRACE` as a program sees them.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use common::{Link, compile_c};

/// tests/c/ops_log.c, compiled once for all the tests that run it.
fn ops_log() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| compile_c(Path::new("tests/c/ops_log.c"), Link::Static))
}

/// Runs `exe` with `args` and `env` (`MUON_LOG` and `MUON_TRACE` removed
/// unless given), expecting status 0 and `expect` as the last line of
/// standard output; returns standard error.
fn run(exe: &Path, args: &[&str], env: &[(&str, &str)], expect: &str) -> String {
    let mut cmd = common::command(exe);
    cmd.env_remove("MUON_LOG")
        .env_remove("MUON_TRACE")
        .args(args)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().expect("the test program starts");
    let out = common::ChildGuard(Some(child)).wait(Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success() && stdout.lines().last() == Some(expect),
        "{} failed ({}); stdout:\n{stdout}\nstderr:\n{stderr}",
        exe.display(),
        out.status
    );
    stderr
}

/// N messages with the four outcomes: exact counts on both links and both
/// connections, bytes and frames equal on both ends, the struct_size
/// contract, stale and NULL handles.
#[test]
fn statistics_count_a_known_exchange() {
    let exe = compile_c(Path::new("tests/c/ops_stats.c"), Link::Static);
    let stderr = run(&exe, &[], &[], "ops_stats: ok");
    assert!(stderr.is_empty(), "{stderr}");
}

/// The log callback gets SASL errors (without the password), the loss, the
/// reconnect attempts, the failover choice and the frame trace, each in its
/// category and level; bad level specifications are refused.
#[test]
fn log_callback_gets_sasl_failures_reconnects_and_frames() {
    let exe = ops_log();
    let stderr = run(exe, &[], &[], "ops_log: ok");
    // Everything went to the callback: nothing on standard error.
    assert!(stderr.is_empty(), "{stderr}");
}

/// Without MUON_LOG and a callback, nothing is logged.
#[test]
fn nothing_is_logged_by_default() {
    let exe = ops_log();
    let stderr = run(exe, &["env"], &[], "ops_log: ok");
    assert!(stderr.is_empty(), "{stderr}");
}

/// `MUON_LOG` picks categories and levels; what it does not understand is
/// said once, on standard error; lines name the time, level, category,
/// connection, address and container ids, never the password.
#[test]
fn muon_log_selects_categories_and_reports_bad_items_once() {
    let exe = ops_log();
    let stderr = run(
        exe,
        &["env"],
        &[("MUON_LOG", "reconnect:debug,bogus,tls:loud")],
        "ops_log: ok",
    );
    let bad: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("MUON_LOG: not understood"))
        .collect();
    assert_eq!(bad.len(), 1, "{stderr}");
    assert!(bad[0].contains("ignored: bogus, tls:loud"), "{stderr}");
    let reconnect: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(" info reconnect: "))
        .collect();
    assert!(reconnect.len() >= 3, "{stderr}");
    for l in &reconnect {
        // muon: 2026-12-06T05:10:00.123456Z info reconnect: [c1] ...
        let ts = l
            .strip_prefix("muon: ")
            .and_then(|r| r.split(' ').next())
            .unwrap_or_default();
        assert!(ts.len() == 27 && ts.ends_with('Z'), "{l}");
        assert!(l.contains(": [c1] "), "{l}");
    }
    assert!(
        reconnect
            .iter()
            .any(|l| l.contains("(failover: address 2 of 2)")),
        "{stderr}"
    );
    // Only what was asked for: no SASL or connection lines.
    assert!(!stderr.contains(" sasl: "), "{stderr}");
    assert!(!stderr.contains(" connection: "), "{stderr}");

    // Everything, SASL included: the password is in no line.
    let stderr = run(exe, &["env"], &[("MUON_LOG", "debug")], "ops_log: ok");
    assert!(
        stderr.lines().any(|l| l.contains(" error sasl: [c")
            && l.contains("container \"ops-client\"")
            && l.contains("SASL PLAIN authentication failed")),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(!stderr.contains("not understood"), "{stderr}");
    // frames:debug turns the frame trace on, through the log.
    assert!(
        stderr.contains("@sasl-init(65) [mechanism=:PLAIN"),
        "{stderr}"
    );
}

/// `MUON_TRACE=frm` prints the trace in the spec's notation; a word it
/// does not know is reported once (three loops are made).
#[test]
fn muon_trace_reports_unknown_words_once_and_traces_in_spec_notation() {
    let exe = ops_log();
    let stderr = run(
        exe,
        &["env"],
        &[("MUON_TRACE", "frm,frames")],
        "ops_log: ok",
    );
    let bad: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("MUON_TRACE: not understood"))
        .collect();
    assert_eq!(bad.len(), 1, "{stderr}");
    assert!(bad[0].contains("ignored: frames"), "{stderr}");
    let has = |needle: &str| stderr.lines().any(|l| l.contains(needle));
    assert!(
        has("] 0 -> @open(16) [container-id=\"ops-reconnecting\""),
        "{stderr}"
    );
    assert!(has("@flow(19) [") && has("link-credit="), "{stderr}");
    assert!(
        has("@attach(18) [name=") && has("snd-settle-mode="),
        "{stderr}"
    );
    assert!(
        has(
            "-> @sasl-init(65) [mechanism=:PLAIN, initial-response=PLAIN user \"alice\" password <redacted>"
        ),
        "{stderr}"
    );
    assert!(
        !stderr.contains("link_credit") && !stderr.contains("hunter2"),
        "{stderr}"
    );
    for l in stderr
        .lines()
        .filter(|l| l.contains(" -> ") || l.contains(" <- "))
    {
        let (ts, rest) = l.split_once(' ').unwrap_or_default();
        assert!(
            ts.len() == 27 && ts.as_bytes()[10] == b'T' && ts.ends_with('Z'),
            "{l}"
        );
        assert!(rest.starts_with("[c"), "{l}");
    }
}

/// The example broker's summary: on SIGUSR1 (it keeps running) and, with
/// -v, on exit: a line per queue (depth, consumers, in and out counts and
/// rates) and per connection (muon's statistics).
#[test]
fn broker_prints_a_summary_on_sigusr1_and_on_exit() {
    use common::examples::{Broker, Build, build};
    use common::program::Program;
    let limit = Duration::from_secs(30);
    let broker = Broker::launch(Build::Static, 0, &[], &[], limit);
    let url = format!("localhost:{}/ops-q", broker.port);
    let (status, out, err) = Program::start(
        &build("simple_send", Build::Static),
        &["-a", &url, "-m", "7"],
    )
    .wait(limit);
    assert!(status.success(), "simple_send: {out:?} {err}");
    let recv = Program::start(
        &build("simple_recv", Build::Static),
        &["-a", &url, "-m", "100"],
    );
    recv.wait_line("{'sequence': 7}", limit);
    // The receiver printed the last message; its acceptances, which the
    // broker counts as "out", may still be on their way: ask again until
    // a summary shows all 7 out and settled.
    let deadline = std::time::Instant::now() + limit;
    loop {
        broker.program.signal(libc::SIGUSR1);
        std::thread::sleep(Duration::from_millis(200));
        let log = broker.stderr();
        if log.contains("broker: queue ops-q: depth 0, consumers 1, in 7 (")
            && log.contains(", out 7 (")
            && log.contains(" bytes, 7 messages; unsettled 0;")
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no summary with 7 out and nothing unsettled:\n{log}"
        );
    }
    let log = broker.stderr();
    let conn = log
        .lines()
        .find(|l| {
            l.starts_with("broker: connection ") && l.contains(" bytes, 7 messages; unsettled 0;")
        })
        .unwrap_or_else(|| panic!("no connection line:\n{log}"));
    assert!(conn.contains("SASL ANONYMOUS; TLS no"), "{conn}");
    // Still running: another signal, another summary.
    let summaries = log
        .matches("broker: queue ops-q: depth 0, consumers")
        .count();
    broker.program.signal(libc::SIGUSR1);
    broker.wait_log_count("broker: queue ops-q: depth 0, consumers", summaries + 1);
    let log = broker.stop();
    assert!(
        log.matches("broker: queue ops-q: depth 0, consumers")
            .count()
            >= summaries + 2,
        "-v: the summary again on exit:\n{log}"
    );
    drop(recv);
}
