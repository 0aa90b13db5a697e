//! Helpers shared by the tests that compile and run C programs against
//! muon (`tests/c_*.rs`): where cargo put the libraries, how to compile a
//! C file against them, and how to run the result with a time limit and,
//! when `VALGRIND` is set, under valgrind. The submodules serve the tests
//! that run the examples: `program` (a running program and its output),
//! `examples` (building the examples, the example broker), `pki` (test
//! certificates), `activemq` (a private ActiveMQ Classic broker) and
//! `tsan` (ThreadSanitizer builds).
#![allow(dead_code)] // each test binary uses its own subset (submodules too)

pub mod activemq;
pub mod examples;
pub mod pki;
pub mod program;
pub mod tsan;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The crate root, where `include/` and `tests/c/` are.
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The directory holding `libmuon.a` and `libmuon.so` for this build.
/// Cargo builds every crate type of the library into `target/<profile>/deps`,
/// the directory of the test executable, and copies them one level up;
/// the copy in `deps` is the one built together with this test.
///
/// `libmuon.so` carries a SONAME (`libmuon.so.0.1`, see build.rs), which is
/// what a program linked with `-lmuon` asks the dynamic loader for; cargo
/// makes no file of that name, so a symlink to `libmuon.so` is put beside it.
pub fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    let deps = exe.parent().expect("the test executable is in a directory");
    for dir in [deps, deps.parent().unwrap_or(deps)] {
        if dir.join("libmuon.a").exists() {
            link_soname(dir);
            return dir.to_path_buf();
        }
    }
    panic!("libmuon.a not found next to {}", exe.display());
}

/// The SONAME of the shared library `so` (from `readelf -d`), if it has one.
pub fn soname(so: &Path) -> Option<String> {
    let out = Command::new("readelf")
        .arg("-d")
        .arg(so)
        .output()
        .expect("readelf (binutils) is installed");
    assert!(out.status.success(), "readelf -d {} failed", so.display());
    // " 0x000000000000000e (SONAME)  Library soname: [libmuon.so.0.1]"
    String::from_utf8_lossy(&out.stdout).lines().find_map(|l| {
        let rest = l.split("Library soname: [").nth(1)?;
        Some(rest.split(']').next()?.to_string())
    })
}

/// Makes `dir/<SONAME>` a symlink to `dir/libmuon.so` (atomically: test
/// binaries run in parallel).
fn link_soname(dir: &Path) {
    let so = dir.join("libmuon.so");
    let Some(name) = soname(&so) else { return };
    let link = dir.join(&name);
    if std::fs::read_link(&link).is_ok_and(|t| t == Path::new("libmuon.so")) {
        return;
    }
    let tmp = dir.join(format!("{name}.tmp{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink("libmuon.so", &tmp).expect("can make a symlink beside libmuon.so");
    std::fs::rename(&tmp, &link).expect("can rename the symlink into place");
}

/// How a C program is linked to muon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// `libmuon.a` plus the system libraries Rust's std needs on Linux
    /// (`rustc --print native-static-libs`: pthread, dl, m).
    Static,
    /// `libmuon.so`, found at run time through an rpath.
    Shared,
}

/// Where compiled test programs go.
pub fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c");
    std::fs::create_dir_all(&dir).expect("can create the output directory");
    dir
}

/// Compiles the C file `src` (relative paths are taken from the crate root)
/// with `$CC` (default `cc`) in strict C11 and links it to muon. Panics with
/// the compiler's output when compilation fails. Returns the executable.
pub fn compile_c(src: &Path, link: Link) -> PathBuf {
    let src = manifest_dir().join(src);
    let stem = src.file_stem().expect("a C file name").to_string_lossy();
    let suffix = match link {
        Link::Static => "static",
        Link::Shared => "shared",
    };
    let exe = out_dir().join(format!("{stem}-{suffix}"));
    let lib = lib_dir();
    let mut cmd = cc_command(&[]);
    cmd.arg(&src).arg("-o").arg(&exe);
    match link {
        Link::Static => {
            cmd.arg(lib.join("libmuon.a"))
                .args(["-lpthread", "-ldl", "-lm"]);
        }
        Link::Shared => {
            // DT_RPATH (not RUNPATH): it wins over the LD_LIBRARY_PATH
            // cargo sets, which also lists target/<profile>, where an older
            // `cargo build` may have left another libmuon.so.
            cmd.arg(format!("-L{}", lib.display()))
                .arg("-lmuon")
                .arg("-Wl,--disable-new-dtags")
                .arg(format!("-Wl,-rpath,{}", lib.display()));
        }
    }
    run_compiler(cmd, &format!("compiling {}", src.display()));
    exe
}

/// `$CC` (default `cc`) with the flags every C program of the tests is
/// compiled with (strict C11, every warning an error, debug info), then
/// `extra`, then the committed header's directory on the include path. The
/// caller adds the sources, `-o` and the libraries.
pub fn cc_command(extra: &[&str]) -> Command {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let mut cmd = Command::new(cc);
    cmd.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g"])
        .args(extra)
        .arg(format!("-I{}", manifest_dir().join("include").display()));
    cmd
}

/// Runs a compiler command; panics with `what` and the compiler's output
/// when it fails.
pub fn run_compiler(mut cmd: Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()));
    assert!(
        out.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A child process that is killed if the test ends before it does.
pub struct ChildGuard(pub Option<Child>);

impl ChildGuard {
    /// Waits for the child to exit, killing it after `limit`; returns its
    /// output, or panics on timeout.
    pub fn wait(mut self, limit: Duration) -> Output {
        let mut child = self.0.take().expect("not yet waited for");
        let deadline = Instant::now() + limit;
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(None) => {
                    let _ = child.kill();
                    let out = child.wait_with_output().expect("killed child exits");
                    panic!(
                        "timed out after {limit:?}; stdout:\n{}\nstderr:\n{}",
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
                Err(e) => panic!("cannot wait for the child: {e}"),
            }
        }
        child.wait_with_output().expect("exited child's output")
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The command that runs `exe`: wrapped in valgrind (errors and definite
/// leaks fail the run) when the `VALGRIND` variable is set.
pub fn command(exe: &Path) -> Command {
    match std::env::var_os("VALGRIND") {
        Some(_) => {
            let mut cmd = Command::new("valgrind");
            cmd.args([
                "--quiet",
                "--error-exitcode=1",
                "--leak-check=full",
                "--errors-for-leak-kinds=definite",
            ])
            .arg(exe);
            cmd
        }
        None => Command::new(exe),
    }
}

/// Starts `exe` with `args`, piping its stdout and stderr.
pub fn spawn(exe: &Path, args: &[&str]) -> ChildGuard {
    let child = command(exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
    ChildGuard(Some(child))
}

/// Runs `exe` to completion (60 s limit, 10 minutes under valgrind) and
/// asserts that it exits with status 0 and prints exactly `expected`.
pub fn run_expecting(exe: &Path, args: &[&str], expected: &str) {
    let limit = if std::env::var_os("VALGRIND").is_some() {
        Duration::from_secs(600)
    } else {
        Duration::from_secs(60)
    };
    let out = spawn(exe, args).wait(limit);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{} failed ({}); stdout:\n{stdout}\nstderr:\n{stderr}",
        exe.display(),
        out.status
    );
    if stdout != expected {
        let first_diff = stdout
            .lines()
            .zip(expected.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(stdout.lines().count().min(expected.lines().count()));
        panic!(
            "{}: unexpected output (first difference at line {}):\n--- got\n{stdout}\n--- expected\n{expected}\nstderr:\n{stderr}",
            exe.display(),
            first_diff + 1
        );
    }
}
