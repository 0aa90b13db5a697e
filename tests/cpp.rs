//! The C++ API (include/muon.hpp) and the C++ examples (examples-cpp/),
//! compiled with g++ and clang++ under `-std=c++17 -Wall -Wextra -Werror
//! -pedantic` against the static library, and run over real sockets:
//!
//! - each example prints exactly what its C counterpart (examples-c/)
//!   prints, on stdout and stderr, with the same exit status: through the
//!   example broker, directly, over TLS, when refused, on bad options;
//! - the examples talk to the C ones, reconnect through a cutting proxy and
//!   across a broker killed and restarted, and run against Qpid Proton's C++
//!   example broker (`broker.cpp`, compiled from the installed examples);
//! - tests/cpp/types.cpp sends every AMQP type, made from C++ types, to the C
//!   `types` program of the interop suite (its print must be
//!   tests/interop/types.expected) and reads the C program's message back
//!   into C++ types;
//! - tests/cpp/api.cpp checks the API itself, exceptions thrown in handlers
//!   coming out of `run()` among it;
//! - the examples and both test programs again under AddressSanitizer and
//!   UndefinedBehaviorSanitizer (skipped only if the compiler lacks them and
//!   `MUON_REQUIRE_ASAN` is unset);
//! - no example is longer than the Qpid Proton C++ example it mirrors;
//! - every function of muon.h is used by muon.hpp.
//!
//! Every program listens on port 0 or on a port found free, every wait has a
//! time limit, and a guard kills (only) the processes a test started.

mod common;
mod fault_proxy;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use common::examples::{Broker, Build, build};
use common::pki::Pki;
use common::program::{Program, free_port, reconnects, sequence, sequences, tail, tally};
use common::{lib_dir, manifest_dir, out_dir, run_compiler};
use fault_proxy::FaultProxy;

const LIMIT: Duration = Duration::from_secs(60);

/// The C++ examples, named as their C counterparts.
const EXAMPLES: [&str; 6] = [
    "helloworld",
    "helloworld_direct",
    "simple_send",
    "simple_recv",
    "server",
    "client",
];

/// The C++ test programs.
const API: &str = "tests/cpp/api.cpp";
const TYPES: &str = "tests/cpp/types.cpp";

// ---- building -----------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Cxx {
    Gcc,
    Clang,
}

impl Cxx {
    fn program(self) -> &'static str {
        match self {
            Cxx::Gcc => "g++",
            Cxx::Clang => "clang++",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Plain,
    /// AddressSanitizer (with leak detection) and UndefinedBehaviorSanitizer.
    Sanitized,
}

const STRICT: [&str; 6] = [
    "-std=c++17",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-pedantic",
    "-g",
];
const SANITIZE: [&str; 3] = [
    "-fsanitize=address,undefined",
    "-fno-omit-frame-pointer",
    "-fno-sanitize-recover=undefined",
];

/// Compiles `examples-cpp/<name>.cpp`, or `name` itself when it ends in
/// `.cpp` (a path from the crate root), with `cxx`, once per compiler and
/// kind, into a directory of its own: the executable is named as the
/// example (the examples print their own name). Compilations are serialised:
/// the machine has few cores.
fn build_cpp(name: &str, cxx: Cxx, kind: Kind) -> PathBuf {
    type Built = HashMap<(String, Cxx, Kind), PathBuf>;
    static BUILT: OnceLock<Mutex<Built>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(p) = built.get(&(name.to_string(), cxx, kind)) {
        return p.clone();
    }
    let src = if name.ends_with(".cpp") {
        manifest_dir().join(name)
    } else {
        manifest_dir()
            .join("examples-cpp")
            .join(format!("{name}.cpp"))
    };
    let stem = src.file_stem().expect("a C++ file name").to_string_lossy();
    let dir = out_dir().join(format!("cpp-{cxx:?}-{kind:?}").to_lowercase());
    std::fs::create_dir_all(&dir).expect("output directory");
    let exe = dir.join(stem.as_ref());
    let mut cmd = Command::new(cxx.program());
    cmd.args(STRICT)
        .arg(format!("-I{}", manifest_dir().join("include").display()))
        .arg(format!(
            "-I{}",
            manifest_dir().join("examples-cpp").display()
        ))
        .arg("-pthread");
    if kind == Kind::Sanitized {
        cmd.args(SANITIZE);
    }
    cmd.arg(&src)
        .arg("-o")
        .arg(&exe)
        .arg(lib_dir().join("libmuon.a"))
        .args(["-lpthread", "-ldl", "-lm"]);
    run_compiler(
        cmd,
        &format!(
            "compiling {} with {} ({kind:?})",
            src.display(),
            cxx.program()
        ),
    );
    built.insert((name.to_string(), cxx, kind), exe.clone());
    exe
}

fn cpp(name: &str) -> PathBuf {
    build_cpp(name, Cxx::Gcc, Kind::Plain)
}

fn c(name: &str) -> PathBuf {
    build(name, Build::Static)
}

/// True if g++ builds and runs a program with ASan and UBSan.
fn sanitizers_supported() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        let dir = out_dir();
        let src = dir.join("cpp_sanitizer_probe.cpp");
        let exe = dir.join("cpp_sanitizer_probe");
        std::fs::write(&src, "int main() { return 0; }\n").expect("can write the probe");
        let built = Command::new("g++")
            .args(SANITIZE)
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

/// The environment sanitized programs run with: leaks and undefined
/// behaviour are failures.
const SANITIZER_ENV: [(&str, &str); 2] = [
    ("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0"),
    ("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1"),
];

// ---- running --------------------------------------------------------------------------

impl Broker {
    fn start() -> Broker {
        Broker::launch(Build::Static, 0, &[], &[], Duration::from_secs(20))
    }

    fn url(&self, address: &str) -> String {
        format!("localhost:{}/{address}", self.port)
    }
}

/// What a finished program did: exit code, stdout lines, stderr with the
/// executable's path written PROGRAM (usage lines print argv[0]).
#[derive(Debug, PartialEq, Eq)]
struct Ran {
    code: Option<i32>,
    out: Vec<String>,
    err: String,
}

fn ran(exe: &Path, args: &[&str]) -> Ran {
    let (status, out, err) = Program::start(exe, args).wait(LIMIT);
    Ran {
        code: status.code(),
        out,
        err: err.replace(&exe.display().to_string(), "PROGRAM"),
    }
}

/// Runs the C example and the C++ example `name` with the same arguments;
/// they must exit alike and print the same, on stdout and on stderr.
fn same(name: &str, args: &[&str]) -> Ran {
    let from_c = ran(&c(name), args);
    let from_cpp = ran(&cpp(name), args);
    assert_eq!(
        from_cpp, from_c,
        "{name} {args:?}: the C++ example (left) and the C example (right) differ"
    );
    from_cpp
}

/// Runs a program to completion: exit 0, no sanitizer report, exactly `expected`.
fn run_exact<S: AsRef<str>>(exe: &Path, args: &[&str], expected: &[S]) {
    let out = Program::start_env(exe, args, &SANITIZER_ENV).success(LIMIT);
    let expected: Vec<&str> = expected.iter().map(AsRef::as_ref).collect();
    assert_eq!(
        out,
        expected,
        "{} {args:?}: unexpected output",
        exe.display()
    );
}

const HELLO: [&str; 1] = ["Hello World!"];

const REQUESTS: [&str; 4] = [
    "Twas brillig, and the slithy toves => TWAS BRILLIG, AND THE SLITHY TOVES",
    "Did gire and gymble in the wabe. => DID GIRE AND GYMBLE IN THE WABE.",
    "All mimsy were the borogroves, => ALL MIMSY WERE THE BOROGROVES,",
    "And the mome raths outgrabe. => AND THE MOME RATHS OUTGRABE.",
];

// ---- building, both compilers ---------------------------------------------------------------

#[test]
fn header_examples_and_test_programs_build_strict_with_gcc_and_clang() {
    for cxx in [Cxx::Gcc, Cxx::Clang] {
        for name in EXAMPLES.iter().chain([API, TYPES].iter()) {
            assert!(build_cpp(name, cxx, Kind::Plain).exists());
        }
    }
}

// ---- the same output as the C examples --------------------------------------------------------

#[test]
fn examples_print_what_the_c_examples_print_through_the_broker() {
    let broker = Broker::start();
    // Hello world: the tutorial's output, from both.
    let hello = same("helloworld", &["-a", &broker.url("examples")]);
    assert!(hello.code == Some(0) && hello.out == HELLO, "{hello:?}");
    // 1,000 messages sent, then received, each language on a queue of its own.
    for (lang, exe_send, exe_recv) in [
        ("c", c("simple_send"), c("simple_recv")),
        ("cpp", cpp("simple_send"), cpp("simple_recv")),
    ] {
        let url = broker.url(&format!("send-first-{lang}"));
        run_exact(
            &exe_send,
            &["-a", &url, "-m", "1000"],
            &["all messages confirmed"],
        );
        run_exact(&exe_recv, &["-a", &url, "-m", "1000"], &sequences(1000));
    }
    // The receiver first (the clang++ builds, this time), then the sender.
    let url = broker.url("recv-first");
    let recv = Program::start(
        &build_cpp("simple_recv", Cxx::Clang, Kind::Plain),
        &["-a", &url, "-m", "1000"],
    );
    broker.wait_consumers("recv-first", 1);
    run_exact(
        &build_cpp("simple_send", Cxx::Clang, Kind::Plain),
        &["-a", &url, "-m", "1000"],
        &["all messages confirmed"],
    );
    assert_eq!(recv.success(LIMIT), sequences(1000));
    // -m 0 sends nothing.
    let none = same("simple_send", &["-a", &broker.url("none"), "-m", "0"]);
    assert_eq!(none.out, ["all messages confirmed"]);
    // Request/response, against each language's server.
    for lang in ["c", "cpp"] {
        let exe = |n: &str| if lang == "c" { c(n) } else { cpp(n) };
        let address = format!("requests-{lang}");
        let url = broker.url(&address);
        let server = Program::start(&exe("server"), &["-a", &url]);
        broker.wait_consumers(&address, 1);
        for client in [c("client"), cpp("client")] {
            run_exact(&client, &["-a", &url], &REQUESTS);
            run_exact(
                &client,
                &["-a", &url, "hello", "Grüße, world"],
                &["hello => HELLO", "Grüße, world => GRüßE, WORLD"],
            );
            run_exact(
                &client,
                &["-a", &url, "-r", "fixed-replies", "hi"],
                &["hi => HI"],
            );
        }
        server.signal(libc::SIGTERM);
        assert_eq!(server.success(LIMIT), Vec::<String>::new(), "{lang} server");
    }
    broker.stop();
}

#[test]
fn failures_and_bad_options_are_reported_as_the_c_examples_report_them() {
    // Nothing listens on a port just released: refused, exit 1, same words.
    let url = format!("localhost:{}/examples", free_port());
    for name in ["helloworld", "simple_send", "simple_recv", "client"] {
        let r = same(name, &["-a", &url]);
        assert_eq!(r.code, Some(1), "{name}: {r:?}");
        assert!(
            r.err.contains("cannot connect to") && r.err.contains("refused"),
            "{name}: {r:?}"
        );
    }
    // The broker refuses a temporary address that does not exist. (Not
    // helloworld: its sender may still get credit after the refusal, and
    // fails to send on the closing connection, each language saying so in
    // its own words.)
    let broker = Broker::start();
    for (name, extra) in [
        ("simple_recv", &[][..]),
        ("client", &["-r", "temp.404-replies"][..]),
        ("server", &[][..]),
    ] {
        let mut args = vec!["-a".to_string(), broker.url("temp.404")];
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = same(name, &args);
        assert_eq!(r.code, Some(1), "{name}: {r:?}");
        assert!(r.err.contains("amqp:not-found"), "{name}: {r:?}");
    }
    broker.stop();
    // Bad command lines: the same usage text, exit status 2.
    for name in EXAMPLES {
        for args in [
            &["-x"][..],
            &["-m", "many"][..],
            &["--cert", "only.pem"][..],
        ] {
            let r = same(name, args);
            assert_eq!(r.code, Some(2), "{name} {args:?}: {r:?}");
            // A program that takes -m says why its COUNT is bad instead.
            assert!(
                r.err.starts_with("usage: ") || r.err.contains(": -m many: not a number"),
                "{name} {args:?}: {r:?}"
            );
        }
    }
    for (name, args) in [
        ("helloworld", &["extra"][..]),
        ("helloworld_direct", &["-m", "-1"][..]), // -m 0 now listens until interrupted
        ("client", &["-r"][..]),
        (
            "helloworld_direct",
            &["-a", "amqps://localhost:0/examples"][..],
        ),
    ] {
        assert_eq!(same(name, args).code, Some(2), "{name} {args:?}");
    }
    // A CA file that cannot be read.
    let r = same(
        "helloworld",
        &["-a", "amqps://localhost:1/x", "--ca", "/nonexistent.pem"],
    );
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.err.starts_with("helloworld: CA file /nonexistent.pem"),
        "{r:?}"
    );
}

#[test]
fn helloworld_direct_prints_what_the_c_example_prints() {
    // Port 0: the port it got, then the message.
    let out =
        Program::start(&cpp("helloworld_direct"), &["-a", "localhost:0/examples"]).success(LIMIT);
    assert_eq!(out.len(), 2, "{out:?}");
    assert!(out[0].starts_with("listening on "), "{out:?}");
    assert_eq!(out[1], "Hello World!");
    // A given port: exactly the C example's output.
    let url = format!("localhost:{}/examples", free_port());
    let r = same("helloworld_direct", &["-a", &url]);
    assert!(r.code == Some(0) && r.out == HELLO, "{r:?}");
    // A port in use: the same refusal.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let url = format!(
        "127.0.0.1:{}/examples",
        busy.local_addr().expect("bound").port()
    );
    let r = same("helloworld_direct", &["-a", &url]);
    assert_eq!(r.code, Some(1), "{r:?}");
    // -m 3: its own hello and two messages from the other language's sender.
    for (listener, sender) in [
        (cpp("helloworld_direct"), c("simple_send")),
        (c("helloworld_direct"), cpp("simple_send")),
    ] {
        let hello = Program::start(&listener, &["-a", "127.0.0.1:0/examples", "-m", "3"]);
        let port = hello.wait_line("listening on ", LIMIT);
        let port = port.trim_start_matches("listening on ");
        run_exact(
            &sender,
            &["-a", &format!("127.0.0.1:{port}/examples"), "-m", "2"],
            &["all messages confirmed"],
        );
        let out = hello.success(LIMIT);
        let mut rest = out[1..].to_vec();
        rest.sort();
        assert_eq!(
            rest,
            ["Hello World!", "{'sequence': 1}", "{'sequence': 2}"],
            "{out:?}"
        );
    }
}

// ---- TLS -----------------------------------------------------------------------------------

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        Pki::builder(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cpp-tls-pki"))
            .ca("ca", "/CN=muon cpp test CA")
            .server("server", "ca")
            .build()
            .expect("the test PKI")
    })
}

#[test]
fn examples_speak_tls_as_the_c_examples_do() {
    let pki = pki();
    let (ca, cert, key) = (
        pki.path("ca.pem"),
        pki.path("server.pem"),
        pki.path("server.key"),
    );
    let broker = Broker::launch(
        Build::Static,
        0,
        &["--tls-cert", &cert, "--tls-key", &key],
        &[],
        Duration::from_secs(20),
    );
    let url = format!("amqps://localhost:{}/examples", broker.port);
    let r = same("helloworld", &["-a", &url, "--ca", &ca]);
    assert!(r.code == Some(0) && r.out == HELLO, "{r:?}");
    // Without the CA the server is not trusted: the same failure.
    let r = same("helloworld", &["-a", &url]);
    assert_eq!(r.code, Some(1), "{r:?}");
    broker.stop();
    // Direct, the listener serving the certificate.
    let url = format!("amqps://localhost:{}/examples", free_port());
    let r = same(
        "helloworld_direct",
        &["-a", &url, "--cert", &cert, "--key", &key, "--ca", &ca],
    );
    assert!(r.code == Some(0) && r.out == HELLO, "{r:?}");
}

// ---- reconnect ---------------------------------------------------------------------------

#[test]
fn reconnect_through_a_cutting_proxy_loses_nothing() {
    const TOTAL: u64 = 10_000;
    let broker = Broker::start();
    let upstream = format!("127.0.0.1:{}", broker.port)
        .parse()
        .expect("an address");
    // Each connection is cut after 80 to 200 kB (see tests/c_examples.rs).
    let proxy = FaultProxy::start(upstream, 80_000, 200_000);
    let url = format!("127.0.0.1:{}/cut", proxy.port());
    let receiver = Program::start(&cpp("simple_recv"), &["-a", &url, "-m", "0"]);
    broker.wait_consumers("cut", 1);
    let sent = Program::start(&cpp("simple_send"), &["-a", &url, "-m", &TOTAL.to_string()])
        .success(Duration::from_secs(180));
    assert_eq!(
        sent.last().map(String::as_str),
        Some("all messages confirmed")
    );
    receiver.wait_output(Duration::from_secs(120), "every sequence number", |l| {
        tally(l).len() as u64 == TOTAL
    });
    let lines = receiver.lines();
    drop(receiver);
    let seen = tally(&lines);
    assert_eq!(
        seen.keys().copied().collect::<Vec<_>>(),
        (1..=TOTAL).collect::<Vec<_>>()
    );
    println!(
        "fault proxy: {} connections, {} cuts; sender reconnected {} times, receiver {}",
        proxy.accepted(),
        proxy.cuts(),
        reconnects(&sent),
        reconnects(&lines)
    );
    assert!(
        reconnects(&sent) >= 1 && reconnects(&lines) >= 1,
        "no reconnects: sender {:?}, receiver {:?}",
        tail(&sent, 5),
        tail(&lines, 5)
    );
    for line in sent.iter().chain(&lines) {
        assert!(
            sequence(line).is_some()
                || line == "all messages confirmed"
                || line == "Disconnected, reconnecting..."
                || line == "Reconnecting..."
                || line.starts_with("Disconnected, will try to reconnect after "),
            "unexpected line {line:?}"
        );
    }
    drop(proxy);
    broker.stop();
}

#[test]
fn clients_back_off_while_the_broker_is_down_and_resume() {
    const TOTAL: u64 = 20_000;
    let broker = Broker::launch(
        Build::Static,
        0,
        &["-m", "5000"],
        &[],
        Duration::from_secs(20),
    );
    let port = broker.port;
    let url = broker.url("restart");
    let mut receiver = Program::start(&cpp("simple_recv"), &["-a", &url, "-m", "0"]);
    broker.wait_consumers("restart", 1);
    let mut sender = Program::start(&cpp("simple_send"), &["-a", &url, "-m", &TOTAL.to_string()]);
    receiver.wait_output(LIMIT, "1000 messages", |l| l.len() >= 1000);
    broker.program.signal(libc::SIGKILL);
    let _ = broker.program.wait(LIMIT);
    assert!(sender.is_running() && receiver.is_running());
    // Long enough for the immediate retry and the first waits to fail.
    std::thread::sleep(Duration::from_millis(700));
    let broker = Broker::launch(
        Build::Static,
        port,
        &["-m", "5000"],
        &[],
        Duration::from_secs(20),
    );
    let sent = sender.success(LIMIT);
    assert_eq!(
        sent.last().map(String::as_str),
        Some("all messages confirmed")
    );
    for out in [&sent, &receiver.lines()] {
        assert!(
            out.iter().any(|l| l == "Disconnected, reconnecting...")
                && out
                    .iter()
                    .any(|l| l == "Disconnected, will try to reconnect after 0.1 seconds")
                && out.iter().any(|l| l == "Reconnecting..."),
            "no backoff: {:?}",
            tail(out, 10)
        );
    }
    let last = format!("{{'sequence': {TOTAL}}}");
    receiver.wait_output(LIMIT, &last, |l| l.contains(&last));
    drop(receiver);
    broker.stop();
}

/// The hello world of the README's C++ section, pointed at the test broker.
#[test]
fn the_readme_hello_world_builds_and_prints_hello_world() {
    let readme = std::fs::read_to_string(manifest_dir().join("README.md")).expect("README.md");
    let start = readme.find("```cpp\n").expect("a C++ block in the README") + 7;
    let end = start + readme[start..].find("```").expect("the end of the block");
    let broker = Broker::start();
    let code = readme[start..end].replace(
        "\"localhost:5672\"",
        &format!("\"localhost:{}\"", broker.port),
    );
    assert!(
        code.contains(&broker.port.to_string()),
        "no URL to point at the broker"
    );
    let dir = out_dir().join("cpp-readme");
    std::fs::create_dir_all(&dir).expect("a directory");
    std::fs::write(dir.join("hello.cpp"), code).expect("can write the program");
    let exe = build_cpp(
        &dir.join("hello.cpp").display().to_string(),
        Cxx::Gcc,
        Kind::Plain,
    );
    run_exact(&exe, &[], &HELLO);
    broker.stop();
}

// ---- the two languages together ------------------------------------------------------------

#[test]
fn cpp_and_c_examples_talk_to_each_other() {
    let broker = Broker::start();
    for (send, recv, q) in [
        (cpp("simple_send"), c("simple_recv"), "cpp-to-c"),
        (c("simple_send"), cpp("simple_recv"), "c-to-cpp"),
    ] {
        let url = broker.url(q);
        run_exact(
            &send,
            &["-a", &url, "-m", "500"],
            &["all messages confirmed"],
        );
        run_exact(&recv, &["-a", &url, "-m", "500"], &sequences(500));
    }
    broker.stop();
}

// ---- the API, exceptions, types --------------------------------------------------------------

#[test]
fn api_program_passes_with_gcc_and_clang() {
    for cxx in [Cxx::Gcc, Cxx::Clang] {
        let out = Program::start(&build_cpp(API, cxx, Kind::Plain), &[]).success(LIMIT);
        assert_eq!(out.last().map(String::as_str), Some("api: ok"), "{cxx:?}");
    }
}

/// Runs `types_cpp` (C++) and `types` (C, tests/interop/types.c) through the
/// example broker: C++ → C (the C program's canonical print of what it got
/// is tests/interop/types.expected), C → C++ and C++ → C++ (the C++ reader
/// checks every value against the C++ value it was made from).
fn type_fidelity(types_cpp: &Path) {
    static TYPES_C: OnceLock<PathBuf> = OnceLock::new();
    let types_c = TYPES_C.get_or_init(|| {
        common::compile_c(Path::new("tests/interop/types.c"), common::Link::Static)
    });
    let expected = std::fs::read_to_string(manifest_dir().join("tests/interop/types.expected"))
        .expect("tests/interop/types.expected");
    let broker = Broker::start();
    let hostport = format!("127.0.0.1:{}", broker.port);
    run_exact(types_cpp, &["send", &hostport, "cpp-to-c"], &["sent"]);
    let got = Program::start(
        types_c,
        &["recv", "--connect", &hostport, "--address", "cpp-to-c"],
    )
    .success(LIMIT);
    let got: Vec<&str> = got
        .iter()
        .map(|l| l.strip_prefix("got ").unwrap_or(l))
        .collect();
    let want: Vec<&str> = expected.lines().collect();
    if let Some(i) = got.iter().zip(&want).position(|(a, b)| a != b) {
        panic!(
            "what C++ sent, as the C program read it, differs at line {}:\n  got  {}\n  want {}",
            i + 1,
            got[i],
            want[i]
        );
    }
    assert_eq!(got.len(), want.len());
    Program::start(
        types_c,
        &["send", "--connect", &hostport, "--address", "c-to-cpp"],
    )
    .success(LIMIT);
    for (q, sender) in [("c-to-cpp", None), ("cpp-to-cpp", Some(types_cpp))] {
        if let Some(s) = sender {
            run_exact(s, &["send", &hostport, q], &["sent"]);
        }
        let out =
            Program::start_env(types_cpp, &["recv", &hostport, q], &SANITIZER_ENV).success(LIMIT);
        assert_eq!(out, ["ok: 256 values checked"], "{q}");
    }
    broker.stop();
}

#[test]
fn every_amqp_type_goes_between_cpp_types_and_c_intact() {
    type_fidelity(&cpp(TYPES));
}

// ---- sanitizers ------------------------------------------------------------------------------

#[test]
fn examples_and_api_are_clean_under_address_and_undefined_behavior_sanitizers() {
    if std::env::var_os("VALGRIND").is_some() {
        eprintln!("under VALGRIND: the sanitized builds are not run");
        return;
    }
    if !sanitizers_supported() {
        assert!(
            std::env::var_os("MUON_REQUIRE_ASAN").is_none(),
            "g++ does not support -fsanitize=address,undefined, and MUON_REQUIRE_ASAN is set"
        );
        eprintln!("g++ does not support -fsanitize=address,undefined: skipped");
        return;
    }
    let s = |n: &str| build_cpp(n, Cxx::Gcc, Kind::Sanitized);
    let api = Program::start_env(&s(API), &[], &SANITIZER_ENV).success(LIMIT);
    assert_eq!(api.last().map(String::as_str), Some("api: ok"));
    let broker = Broker::start();
    run_exact(&s("helloworld"), &["-a", &broker.url("examples")], &HELLO);
    run_exact(
        &s("helloworld_direct"),
        &["-a", &format!("localhost:{}/examples", free_port())],
        &HELLO,
    );
    let url = broker.url("sanitized");
    run_exact(
        &s("simple_send"),
        &["-a", &url, "-m", "200"],
        &["all messages confirmed"],
    );
    run_exact(
        &s("simple_recv"),
        &["-a", &url, "-m", "200"],
        &sequences(200),
    );
    let url = broker.url("sanitized-requests");
    let server = Program::start_env(&s("server"), &["-a", &url], &SANITIZER_ENV);
    broker.wait_consumers("sanitized-requests", 1);
    run_exact(&s("client"), &["-a", &url], &REQUESTS);
    server.signal(libc::SIGTERM);
    assert_eq!(server.success(LIMIT), Vec::<String>::new());
    // A failure path: refused, with the reconnecting client's messages.
    let refused = format!("localhost:{}/x", free_port());
    let (status, _, err) =
        Program::start_env(&s("simple_recv"), &["-a", &refused], &SANITIZER_ENV).wait(LIMIT);
    assert!(
        status.code() == Some(1) && !err.contains("Sanitizer") && !err.contains("runtime error"),
        "{err}"
    );
    broker.stop();
    type_fidelity(&s(TYPES));
}

// ---- Qpid Proton's C++ broker -------------------------------------------------------------------

/// Where libqpid-proton11-dev-examples puts Proton's C++ examples (the same
/// sources Debian's libqpid-proton-cpp12-dev-doc shows as HTML), with the
/// options.hpp they include.
const PROTON_CPP_EXAMPLES: &str = "/usr/share/proton/examples/cpp";
/// What building broker.cpp needs: the C++ library and its headers, and the
/// examples.
const PROTON_PACKAGES: [&str; 2] = ["libqpid-proton-cpp12-dev", "libqpid-proton11-dev-examples"];

fn installed(p: &str) -> bool {
    Command::new("dpkg")
        .args(["-s", p])
        .output()
        .is_ok_and(|o| {
            o.status.success()
                && String::from_utf8_lossy(&o.stdout).contains("Status: install ok installed")
        })
}

/// Installs the Proton packages if missing (tests/interop/install-peers.sh,
/// as root or with password-less sudo), then requires them.
fn require_proton_cpp() {
    let missing: Vec<&str> = PROTON_PACKAGES
        .iter()
        .copied()
        .filter(|p| !installed(p))
        .collect();
    if !missing.is_empty() {
        let out = Command::new(manifest_dir().join("tests/interop/install-peers.sh"))
            .args(&missing)
            .output();
        let still: Vec<&str> = missing.into_iter().filter(|p| !installed(p)).collect();
        assert!(
            still.is_empty(),
            "Qpid Proton's C++ broker needs the Debian packages {still:?}, which could not be \
             installed ({out:?}); run .ci/run or apt-get install them"
        );
    }
}

#[test]
fn examples_run_against_protons_cpp_broker() {
    require_proton_cpp();
    let src = Path::new(PROTON_CPP_EXAMPLES).join("broker.cpp");
    let exe = out_dir().join("proton-cpp-broker");
    let mut cmd = Command::new("g++");
    cmd.args(["-std=c++17", "-O1", "-w", "-pthread"])
        .arg(format!("-I{PROTON_CPP_EXAMPLES}"))
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .args(["-lqpid-proton-cpp", "-lpthread"]);
    run_compiler(cmd, "compiling Qpid Proton's C++ broker.cpp");
    let broker = Program::start(&exe, &["-a", "127.0.0.1:0"]).named("Proton broker.cpp");
    let line = broker.wait_line("broker listening on ", LIMIT);
    let port: u16 = line["broker listening on ".len()..]
        .trim()
        .parse()
        .expect("a port");
    let url = |q: &str| format!("127.0.0.1:{port}/{q}");
    run_exact(&cpp("helloworld"), &["-a", &url("examples")], &HELLO);
    run_exact(
        &cpp("simple_send"),
        &["-a", &url("proton-q"), "-m", "100"],
        &["all messages confirmed"],
    );
    run_exact(
        &cpp("simple_recv"),
        &["-a", &url("proton-q"), "-m", "100"],
        &sequences(100),
    );
    let recv = Program::start(&cpp("simple_recv"), &["-a", &url("proton-q2"), "-m", "100"]);
    std::thread::sleep(Duration::from_millis(300));
    run_exact(
        &cpp("simple_send"),
        &["-a", &url("proton-q2"), "-m", "100"],
        &["all messages confirmed"],
    );
    assert_eq!(recv.success(LIMIT), sequences(100));
    // Request/response with a dynamic reply queue, which broker.cpp makes.
    let server = Program::start(&cpp("server"), &["-a", &url("proton-requests")]);
    std::thread::sleep(Duration::from_millis(300));
    run_exact(&cpp("client"), &["-a", &url("proton-requests")], &REQUESTS);
    server.signal(libc::SIGTERM);
    assert_eq!(server.success(LIMIT), Vec::<String>::new());
}

// ---- size, completeness ---------------------------------------------------------------------------

/// The length of Qpid Proton's C++ examples (0.37, as Debian ships them in
/// libqpid-proton-cpp12-dev-doc and libqpid-proton11-dev-examples), in lines
/// that are neither blank nor only comment: each muon C++ example may be at
/// most as long as the one it mirrors. helloworld_direct is measured against
/// server_direct.cpp, Proton's listening example.
const PROTON_CPP_LINES: [(&str, &str, usize); 6] = [
    ("helloworld", "helloworld", 42),
    ("simple_send", "simple_send", 83),
    ("simple_recv", "simple_recv", 65),
    ("server", "server", 55),
    ("client", "client", 67),
    ("helloworld_direct", "server_direct", 84),
];

/// Lines of C or C++ source that hold code: not blank, not only a comment.
fn code_lines(text: &str) -> usize {
    let mut in_block = false;
    let mut n = 0;
    for line in text.lines() {
        let mut code = String::new();
        let mut rest = line;
        loop {
            if in_block {
                match rest.find("*/") {
                    Some(i) => {
                        in_block = false;
                        rest = &rest[i + 2..];
                    }
                    None => break,
                }
            } else {
                let block = rest.find("/*");
                let comment = rest.find("//");
                match (block, comment) {
                    (_, Some(c)) if block.is_none_or(|b| c < b) => {
                        code.push_str(&rest[..c]);
                        break;
                    }
                    (Some(b), _) => {
                        code.push_str(&rest[..b]);
                        in_block = true;
                        rest = &rest[b + 2..];
                    }
                    _ => {
                        code.push_str(rest);
                        break;
                    }
                }
            }
        }
        if !code.trim().is_empty() {
            n += 1;
        }
    }
    n
}

#[test]
fn examples_are_no_longer_than_protons_cpp_examples() {
    assert_eq!(
        code_lines("a();\n\n// x\n/* y\n z */ b(); // c\n\"//\"\n"),
        3
    );
    for (ours, theirs, limit) in PROTON_CPP_LINES {
        let path = manifest_dir()
            .join("examples-cpp")
            .join(format!("{ours}.cpp"));
        let n = code_lines(&std::fs::read_to_string(&path).expect("the example"));
        assert!(
            n <= limit,
            "examples-cpp/{ours}.cpp has {n} lines of code, Proton's {theirs}.cpp {limit}"
        );
        // Where Proton's examples are installed, the constant is checked too.
        let proton = Path::new(PROTON_CPP_EXAMPLES).join(format!("{theirs}.cpp"));
        if let Ok(text) = std::fs::read_to_string(&proton) {
            assert_eq!(code_lines(&text), limit, "{}", proton.display());
        }
        println!("{ours}: {n} lines of code (Proton's {theirs}.cpp: {limit})");
    }
}

/// Functions of muon.h that muon.hpp does not call, and why.
const NOT_WRAPPED: [(&str, &str); 16] = [
    (
        "muon_loop_fd",
        "not wrapped yet: a C++ program calls it on muon::loop_ref::get()",
    ),
    (
        "muon_loop_timeout",
        "not wrapped yet: a C++ program calls it on muon::loop_ref::get()",
    ),
    (
        "muon_driver_new",
        "not wrapped yet (no muon::driver class): a C++ program calls the C driver API, with loop_ref::get() as its loop",
    ),
    (
        "muon_driver_connection",
        "not wrapped yet (no muon::driver class): a C++ program calls the C driver API, with loop_ref::get() as its loop",
    ),
    (
        "muon_driver_loop",
        "not wrapped yet (no muon::driver class): a C++ program calls the C driver API, with loop_ref::get() as its loop",
    ),
    (
        "muon_driver_read",
        "not wrapped yet (no muon::driver class): a C++ program calls the C driver API, with loop_ref::get() as its loop",
    ),
    (
        "muon_driver_read_closed",
        "not wrapped yet (no muon::driver class): a C++ program calls the C driver API, with loop_ref::get() as its loop",
    ),
    (
        "muon_driver_write_buffer",
        "not wrapped yet (no muon::driver class): a C++ program calls the C driver API, with loop_ref::get() as its loop",
    ),
    (
        "muon_driver_written",
        "not wrapped yet (no muon::driver class): a C++ program calls the C driver API, with loop_ref::get() as its loop",
    ),
    (
        "muon_driver_transport_error",
        "not wrapped yet (no muon::driver class): a C++ program calls the C driver API, with loop_ref::get() as its loop",
    ),
    (
        "muon_driver_timeout",
        "not wrapped yet (no muon::driver class): a C++ program calls the C driver API, with loop_ref::get() as its loop",
    ),
    (
        "muon_driver_process",
        "not wrapped yet (no muon::driver class): a C++ program calls the C driver API, with loop_ref::get() as its loop",
    ),
    (
        "muon_driver_free",
        "not wrapped yet (no muon::driver class): a C++ program calls the C driver API, with loop_ref::get() as its loop",
    ),
    (
        "muon_loop_free",
        "muon::loop frees with muon_loop_try_free, which says whether it did",
    ),
    (
        "muon_value_get_string_copy",
        "strings are read with muon_value_get_string, which keeps NUL characters",
    ),
    (
        "muon_terminus_has_capability",
        "muon::terminus is a copy: its has_capability searches the copied list",
    ),
];

#[test]
fn every_function_of_the_c_header_is_used_by_the_cpp_header() {
    let h = std::fs::read_to_string(manifest_dir().join("include/muon.h")).expect("muon.h");
    let hpp = std::fs::read_to_string(manifest_dir().join("include/muon.hpp")).expect("muon.hpp");
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let uses = |name: &str| {
        hpp.match_indices(name)
            .any(|(i, _)| !hpp[..i].ends_with(ident) && !hpp[i + name.len()..].starts_with(ident))
    };
    let mut functions = Vec::new();
    for line in h.lines() {
        if line.is_empty() || line.starts_with([' ', '*', '/', '#']) || line.starts_with("typedef")
        {
            continue;
        }
        if let Some(open) = line.find('(') {
            let head = &line[..open];
            let start = head.rfind(|c: char| !ident(c)).map_or(0, |i| i + 1);
            if head[start..].starts_with("muon_") {
                functions.push(head[start..].to_string());
            }
        }
    }
    assert!(
        functions.len() > 300,
        "found only {} functions",
        functions.len()
    );
    let missing: Vec<&String> = functions
        .iter()
        .filter(|f| !uses(f) && !NOT_WRAPPED.iter().any(|(n, _)| n == f))
        .collect();
    assert!(
        missing.is_empty(),
        "muon.hpp does not use {missing:?}: wrap them (or list them in NOT_WRAPPED, saying why)"
    );
    for (name, _) in NOT_WRAPPED {
        assert!(
            functions.iter().any(|f| f == name),
            "{name} is not in muon.h"
        );
        assert!(!uses(name), "{name} is used after all");
    }
}
