//! The Python binding (python/): a virtual environment is made under the
//! target directory, `pip install ./python` builds the wheel there (cargo's
//! release libmuon.a, from this target directory, linked into a cffi
//! extension), and pytest runs python/tests against real peers: the example
//! broker and the C examples built here, a fault-injecting proxy in front of
//! the broker (tests/fault_proxy), Qpid Proton's Python examples on
//! /usr/bin/python3, tests/interop/types.c, and a private RabbitMQ node
//! (the interop suite's, tests/interop/peers.rs, on ports and in a directory
//! of its own; it boots while the wheel builds). The test fails (never
//! skips) when the venv, pip, the build or any peer cannot work.

mod common;
mod fault_proxy;
#[allow(dead_code)] // the interop suite's helpers, of which this uses a few
#[path = "interop/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "interop/peers.rs"]
mod peers;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::examples::{Broker, Build, build};
use common::manifest_dir;
use fault_proxy::FaultProxy;

/// The cargo target directory this test was built in (target/debug/deps/..).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    exe.ancestors()
        .nth(3)
        .expect("the test executable is in TARGET/PROFILE/deps")
        .to_path_buf()
}

fn run(cmd: &mut Command, what: &str) {
    let start = Instant::now();
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    assert!(status.success(), "{what} failed ({status})");
    eprintln!("python: {what}: {:.1} s", start.elapsed().as_secs_f64());
}

/// The venv, made once and reused while its Python and tools work; the
/// binding itself is reinstalled every run.
fn venv() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("python-venv");
    let py = dir.join("bin/python");
    let ready = py.exists()
        && Command::new(&py)
            .args(["-c", "import cffi, pytest, setuptools, wheel"])
            .status()
            .is_ok_and(|s| s.success());
    if !ready {
        let _ = std::fs::remove_dir_all(&dir);
        run(
            Command::new("python3").args(["-m", "venv"]).arg(&dir),
            "python3 -m venv",
        );
        run(
            Command::new(&py).args([
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "setuptools>=61",
                "wheel",
                "cffi>=1.15",
                "pytest",
            ]),
            "pip install setuptools wheel cffi pytest",
        );
    }
    py
}

#[test]
fn python_binding() {
    let root = manifest_dir();
    // The private RabbitMQ node boots in the background meanwhile.
    let rabbit_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("python-rabbitmq-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&rabbit_dir);
    let rabbit_pkg = peers::ensure_packages()
        .into_iter()
        .find(|(p, _)| *p == "rabbitmq-server")
        .map_or(Ok(()), |(_, r)| r);
    let mut rabbit = peers::Rabbit::start(rabbit_dir.clone(), rabbit_pkg);
    let rabbit_t0 = Instant::now();
    let py = venv();
    run(
        Command::new(&py)
            .args([
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "--no-build-isolation",
                "--force-reinstall",
                "--no-deps",
            ])
            .arg(root.join("python"))
            .env("CARGO_TARGET_DIR", target_dir()),
        "pip install ./python",
    );

    let mut env: Vec<(String, String)> = Vec::new();
    for name in [
        "broker",
        "helloworld",
        "helloworld_direct",
        "simple_send",
        "simple_recv",
        "server",
        "client",
    ] {
        let exe = build(name, Build::Static);
        env.push((format!("MUON_C_{}", name.to_uppercase()), path(&exe)));
    }
    let types = build("tests/interop/types.c", Build::Static);
    env.push(("MUON_C_TYPES".into(), path(&types)));

    // A broker for the whole run, and the fault proxy in front of it.
    let broker = Broker::launch(Build::Static, 0, &[], &[], Duration::from_secs(20));
    let upstream: SocketAddr = format!("127.0.0.1:{}", broker.port)
        .parse()
        .expect("an address");
    // Cuts after 80-200 KB, as in tests/c_examples.rs: more than one credit
    // window of simple_send's messages (the broker grants 1,000), so every
    // connection gets some confirmations back before its cut. Below a
    // window the sender can resend the same unconfirmed window forever.
    let proxy = FaultProxy::start(upstream, 80_000, 200_000);
    env.push((
        "MUON_TEST_BROKER".into(),
        format!("localhost:{}", broker.port),
    ));
    env.push((
        "MUON_TEST_PROXY".into(),
        format!("127.0.0.1:{}", proxy.port()),
    ));
    let rabbit_port = rabbit
        .wait(Duration::from_secs(150))
        .unwrap_or_else(|e| panic!("{e}\nthe node's log ends:\n{}", rabbit.log_tail(20)));
    eprintln!(
        "python: RabbitMQ up after {:.1} s",
        rabbit_t0.elapsed().as_secs_f64()
    );
    env.push((
        "MUON_TEST_RABBITMQ".into(),
        format!("127.0.0.1:{rabbit_port}"),
    ));

    let mut pytest = Command::new(&py);
    pytest
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(root.join("python/tests"))
        .current_dir(root.join("python"));
    for (k, v) in &env {
        pytest.env(k, v);
    }
    run(&mut pytest, "pytest python/tests");
    assert!(proxy.cuts() > 0, "the fault proxy cut no connection");
    broker.stop();
    rabbit.stop();
    let _ = std::fs::remove_dir_all(&rabbit_dir);
}

fn path(p: &Path) -> String {
    p.to_str().expect("a UTF-8 path").to_string()
}
