//! The C examples (examples-c/) and other C programs built the way the
//! examples are, once per build kind per test binary, and the example
//! broker run on a port of its own.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::program::Program;
use super::{cc_command, lib_dir, manifest_dir, out_dir, run_compiler};

/// How an example is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Build {
    /// libmuon.a plus the system libraries Rust's std needs.
    Static,
    /// libmuon.so through an rpath.
    Shared,
    /// libmuon.a, the C code under AddressSanitizer with leak detection.
    Asan,
}

/// Compiles `examples-c/<name>.c`, or `name` itself when it ends in `.c`
/// (a path from the crate root), once per build kind, into a directory of
/// this test binary's own. Compilations are serialised: the machine has few
/// cores.
pub fn build(name: &str, kind: Build) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<(String, Build), PathBuf>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(p) = built.get(&(name.to_string(), kind)) {
        return p.clone();
    }
    let src = if name.ends_with(".c") {
        manifest_dir().join(name)
    } else {
        manifest_dir().join("examples-c").join(format!("{name}.c"))
    };
    let stem = src.file_stem().expect("a C file name").to_string_lossy();
    let dir = out_dir().join(concat!("examples-", env!("CARGO_CRATE_NAME")));
    std::fs::create_dir_all(&dir).expect("output directory");
    let exe = dir.join(format!("{stem}-{kind:?}").to_lowercase());
    let lib = lib_dir();
    let mut cmd = cc_command(&["-pthread"]);
    cmd.arg(&src).arg("-o").arg(&exe);
    match kind {
        Build::Static | Build::Asan => {
            if kind == Build::Asan {
                cmd.args(["-fsanitize=address", "-fno-omit-frame-pointer"]);
            }
            cmd.arg(lib.join("libmuon.a"))
                .args(["-lpthread", "-ldl", "-lm"]);
        }
        Build::Shared => {
            cmd.arg(format!("-L{}", lib.display()))
                .arg("-lmuon")
                .arg(format!("-Wl,-rpath,{}", lib.display()));
        }
    }
    run_compiler(cmd, &format!("compiling {} ({kind:?})", src.display()));
    built.insert((name.to_string(), kind), exe.clone());
    exe
}

/// How long `Broker::stop` waits for the broker to exit after SIGINT.
const STOP_LIMIT: Duration = Duration::from_secs(30);

/// The example broker on a port of its own, its stdout and stderr (the `-v`
/// log) collected as they come; stopped with SIGINT (and checked to exit
/// cleanly) by `stop`, killed if the test ends first.
pub struct Broker {
    pub program: Program,
    pub port: u16,
    /// How long to wait for it to listen, and for what its log should show.
    limit: Duration,
}

impl Broker {
    /// Starts the broker built as `kind` on `localhost:port` (0: any free
    /// port) with `-v`, the further options `args` and the environment
    /// variables `env`, and waits (up to `limit`) until it listens.
    pub fn launch(
        kind: Build,
        port: u16,
        args: &[&str],
        env: &[(&str, &str)],
        limit: Duration,
    ) -> Broker {
        let addr = format!("localhost:{port}");
        let mut all = vec!["-a", &addr, "-v"];
        all.extend_from_slice(args);
        let program = Program::start_env(&build("broker", kind), &all, env);
        let line = program.wait_line("listening on ", limit);
        let port = line["listening on ".len()..]
            .parse()
            .expect("a port number");
        Broker {
            program,
            port,
            limit,
        }
    }

    /// What the broker printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.program.stderr()
    }

    /// Waits until the broker's stderr contains `needle` `n` times.
    pub fn wait_log_count(&self, needle: &str, n: usize) {
        let deadline = Instant::now() + self.limit;
        while self.program.stderr().matches(needle).count() < n {
            assert!(
                Instant::now() < deadline,
                "no {needle:?} (x{n}) in the broker's log:\n{}",
                self.program.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until the broker's stderr contains `needle`.
    pub fn wait_log(&self, needle: &str) {
        self.wait_log_count(needle, 1);
    }

    /// Waits until the broker's -v log shows `n` consumers attached to
    /// `address`.
    pub fn wait_consumers(&self, address: &str, n: usize) {
        self.wait_log_count(&format!("consumer from {address}\n"), n);
    }

    /// Stops the broker with SIGINT; it must exit cleanly. Returns its log.
    pub fn stop(self) -> String {
        self.program.signal(libc::SIGINT);
        let (status, _, err) = self.program.wait(STOP_LIMIT);
        assert!(
            status.success() && !err.contains("Sanitizer"),
            "the broker did not stop cleanly ({status}):\n{err}"
        );
        err
    }
}

/// `broker --hash-password NAME` with `password` on stdin, run from the
/// broker executable `broker`: its exit status, its stdout (the line for
/// `--users`, trimmed) and its stderr.
pub fn hash_password(
    broker: &Path,
    name: &str,
    password: &str,
    limit: Duration,
) -> (ExitStatus, String, String) {
    let (status, out, err) =
        Program::start_input(broker, &["--hash-password", name], &format!("{password}\n"))
            .wait(limit);
    (status, out.join("\n").trim().to_string(), err)
}
