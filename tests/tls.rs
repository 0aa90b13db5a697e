//! TLS end to end, over real sockets with the real programs: the example
//! broker serving TLS, the C examples connecting with `amqps://`, every
//! refusal a user is likely to meet (each with its condition and its
//! description in words), the AMQP TLS protocol header, reconnect through a
//! cutting proxy, Qpid Proton (Python) as TLS client and as TLS server, and
//! AddressSanitizer with leak detection.
//!
//! Every certificate is made at test time with the `openssl` CLI, in a
//! directory under `CARGO_TARGET_TMPDIR` (never in the source tree: the
//! private keys must not be committed). Every program listens on port 0 or
//! on a port found free, every wait has a time limit, and a guard kills (only)
//! the processes a test started.

mod common;
mod fault_proxy;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::examples::{Broker, Build, build};
use common::pki::Pki;
use common::program::{self, Program, free_port, reconnects, sequences, tally};
use common::{Link, compile_c, manifest_dir};
use fault_proxy::FaultProxy;

/// How long one short client run may take (a handshake and a few frames).
const SHORT: Duration = Duration::from_secs(10);
/// How long a run of 1,000 messages, or a sanitized run, may take.
const LONG: Duration = Duration::from_secs(30);

// ---- certificates ---------------------------------------------------------------

/// The test PKI, made once per run of this file: a CA; a server certificate
/// for localhost and 127.0.0.1; an expired one for the same names; one for
/// another name; a client certificate `alice` from the CA; a second,
/// unrelated CA and a client certificate `mallory` from it.
fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        Pki::builder(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tls-pki"))
            .ca("ca", "/CN=muon test CA")
            .ca("ca2", "/CN=an unrelated CA")
            .server("server", "ca")
            .expired_server("expired", "ca")
            .server_for("other", "ca", "other.example")
            .client("alice", "ca", "alice")
            .client("mallory", "ca2", "mallory")
            .build()
            .expect("the test PKI")
    })
}

// ---- running --------------------------------------------------------------------

/// Runs a program to completion and asserts exit 0 and exactly `expected`.
fn run_exact(exe: &Path, args: &[&str], env: &[(&str, &str)], expected: &[&str]) {
    program::run_exact(exe, args, env, expected, LONG);
}

/// Runs a client that must be refused: it exits with status 1 within a few
/// seconds, printing `<program>: cannot connect to <url>: <why>` on stderr.
fn refused(name: &str, url: &str, args: &[&str], why: &str) {
    let line = format!("{name}: cannot connect to {}: {why}", host_of(url));
    exits_saying(name, url, args, &line);
}

/// Runs the example `name` on `url` with `args`; it must exit with status 1
/// within a few seconds, with a line of stderr that starts with `expected`.
fn exits_saying(name: &str, url: &str, args: &[&str], expected: &str) {
    let mut all = vec!["-a", url];
    all.extend_from_slice(args);
    let (status, _, err) = Program::start(&build(name, Build::Static), &all).wait(SHORT);
    assert_eq!(status.code(), Some(1), "{name} {all:?}: {err}");
    assert!(
        err.lines().any(|l| l.starts_with(expected)),
        "{name} {all:?}: expected\n  {expected}\ngot:\n{err}"
    );
}

/// The example broker as this file starts it: any port, `args` the TLS options.
impl Broker {
    fn start(kind: Build, args: &[&str]) -> Broker {
        Broker::launch(kind, 0, args, &[], LONG)
    }

    /// A broker serving TLS with the certificate `cert` (cert.pem, cert.key)
    /// and the further broker options `extra`.
    fn tls(kind: Build, cert: &str, extra: &[&str]) -> Broker {
        let pki = pki();
        let (c, k) = (
            pki.path(&format!("{cert}.pem")),
            pki.path(&format!("{cert}.key")),
        );
        let mut args = vec!["--tls-cert", &c, "--tls-key", &k];
        args.extend_from_slice(extra);
        Broker::start(kind, &args)
    }

    fn url(&self, scheme: &str, address: &str) -> String {
        format!("{scheme}://localhost:{}/{address}", self.port)
    }
}

const HELLO: [&str; 1] = ["Hello World!"];

// ---- 1. success -------------------------------------------------------------------

/// helloworld, then simple_send and simple_recv with 1,000 messages, through
/// the TLS broker, trusting the test CA by `--ca` and then by `SSL_CERT_FILE`
/// (the platform store's override) instead.
#[test]
fn examples_run_through_the_tls_broker_with_ca_option_and_with_ssl_cert_file() {
    let pki = pki();
    let broker = Broker::tls(Build::Static, "server", &[]);
    let ca = pki.path("ca.pem");
    let by_option = (vec!["--ca", ca.as_str()], vec![]);
    let by_env = (vec![], vec![("SSL_CERT_FILE", ca.as_str())]);
    for (i, (args, env)) in [by_option, by_env].into_iter().enumerate() {
        let url = broker.url("amqps", &format!("hello{i}"));
        let mut all = vec!["-a", url.as_str()];
        all.extend(&args);
        run_exact(&build("helloworld", Build::Static), &all, &env, &HELLO);

        let url = broker.url("amqps", &format!("queue{i}"));
        let mut all = vec!["-a", url.as_str(), "-m", "1000"];
        all.extend(&args);
        run_exact(
            &build("simple_send", Build::Static),
            &all,
            &env,
            &["all messages confirmed"],
        );
        let out =
            Program::start_env(&build("simple_recv", Build::Static), &all, &env).success(LONG);
        assert_eq!(out, sequences(1000));
    }
    broker.stop();
}

// ---- 2. refusals, each in words -----------------------------------------------------

#[test]
fn refusals_say_why_and_the_broker_keeps_serving_good_clients() {
    let pki = pki();
    let (ca, ca2) = (pki.path("ca.pem"), pki.path("ca2.pem"));
    let (alice, alice_key) = (pki.path("alice.pem"), pki.path("alice.key"));
    let (mallory, mallory_key) = (pki.path("mallory.pem"), pki.path("mallory.key"));
    let good = Broker::tls(Build::Static, "server", &[]);
    let url = good.url("amqps", "examples");

    // A CA the client does not trust (only the unrelated one, added).
    refused(
        "helloworld",
        &url,
        &["--ca", &ca2],
        "amqp:unauthorized-access: TLS: the server's certificate was issued by an unknown \
         certificate authority (not in the trust store; add its CA)",
    );
    // The reconnecting clients give up too (verification would fail again
    // on every attempt: this is not a lost connection).
    refused(
        "simple_recv",
        &url,
        &["--ca", &ca2],
        "amqp:unauthorized-access: TLS: the server's certificate was issued by an unknown \
         certificate authority",
    );

    // An expired certificate.
    let expired = Broker::tls(Build::Static, "expired", &[]);
    refused(
        "helloworld",
        &expired.url("amqps", "examples"),
        &["--ca", &ca],
        "amqp:unauthorized-access: TLS: the server's certificate has expired",
    );

    // A certificate for another name.
    let other = Broker::tls(Build::Static, "other", &[]);
    refused(
        "helloworld",
        &other.url("amqps", "examples"),
        &["--ca", &ca],
        "amqp:unauthorized-access: TLS: the server's certificate is not valid for the name \
         \"localhost\" (name mismatch)",
    );

    // TLS to a plain port, and plain to the TLS port.
    let plain = Broker::start(Build::Static, &[]);
    refused(
        "helloworld",
        &plain.url("amqps", "examples"),
        &["--ca", &ca],
        "amqp:connection:framing-error: TLS: the server did not answer with TLS \
         (is it a plain AMQP port? use amqp://)",
    );
    refused(
        "helloworld",
        &good.url("amqp", "examples"),
        &[],
        "amqp:not-implemented: the server speaks TLS on this port: connect with amqps://",
    );

    // Client certificates: required and missing; from the wrong CA; right.
    let mutual = Broker::tls(
        Build::Static,
        "server",
        &["--tls-client-ca", &ca, "--tls-require-client-cert"],
    );
    let mutual_url = mutual.url("amqps", "examples");
    refused(
        "helloworld",
        &mutual_url,
        &["--ca", &ca],
        "amqp:unauthorized-access: TLS: the server requires a client certificate, and none was \
         configured (or it was refused)",
    );
    refused(
        "helloworld",
        &mutual_url,
        &["--ca", &ca, "--cert", &mallory, "--key", &mallory_key],
        "amqp:unauthorized-access: TLS: the server does not trust our certificate (unknown CA)",
    );
    let alice_args = [
        "-a",
        &mutual_url,
        "--ca",
        &ca,
        "--cert",
        &alice,
        "--key",
        &alice_key,
    ];
    run_exact(
        &build("helloworld", Build::Static),
        &alice_args,
        &[],
        &HELLO,
    );

    // After all that, the brokers still serve good clients.
    run_exact(
        &build("helloworld", Build::Static),
        &["-a", &url, "--ca", &ca],
        &[],
        &HELLO,
    );
    run_exact(
        &build("helloworld", Build::Static),
        &alice_args,
        &[],
        &HELLO,
    );
    for b in [good, expired, other, plain, mutual] {
        b.stop();
    }
}

/// `amqps://localhost:PORT/examples` → `amqps://localhost:PORT`: what the
/// examples print as the peer.
fn host_of(url: &str) -> String {
    let rest = url.find("://").map_or(0, |i| i + 3);
    url[..rest + url[rest..].find('/').unwrap_or(url.len() - rest)].to_string()
}

// ---- 3. the AMQP TLS protocol header -----------------------------------------------

/// §5.2.1's TLS header (protocol id 2) asks for TLS inside AMQP's own
/// negotiation, which muon does not do: it answers with the header it does
/// speak (SASL, id 3) and closes.
#[test]
fn the_amqp_tls_header_gets_the_sasl_header_and_a_close() {
    let broker = Broker::start(Build::Static, &[]);
    let mut sock = TcpStream::connect(("127.0.0.1", broker.port)).expect("connect to the broker");
    sock.set_read_timeout(Some(Duration::from_secs(2)))
        .expect("a read timeout");
    let started = Instant::now();
    sock.write_all(b"AMQP\x02\x01\x00\x00")
        .expect("send the header");
    let mut got = Vec::new();
    let r = sock.read_to_end(&mut got);
    let took = started.elapsed();
    assert!(
        r.is_ok(),
        "no end of stream within 2 s ({took:?}): {r:?}, got {got:?}"
    );
    assert_eq!(got, b"AMQP\x03\x01\x00\x00", "took {took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    broker.stop();
}

// ---- 4. reconnect over TLS ----------------------------------------------------------

/// The TLS variant of c_examples' cutting-proxy test: the proxy is plain
/// TCP, so TLS goes through it, and every cut lands somewhere in a TLS
/// record. The clients connect to 127.0.0.1, checked against the
/// certificate's IP address.
#[test]
fn reconnect_over_tls_through_a_cutting_proxy_loses_nothing() {
    const TOTAL: u64 = 8_000;
    let ca = pki().path("ca.pem");
    let broker = Broker::tls(Build::Static, "server", &[]);
    let upstream = format!("127.0.0.1:{}", broker.port)
        .parse()
        .expect("an address");
    // 8,000 messages are about 600 kB each way: cut every 60 to 160 kB,
    // each client is cut several times. A budget below the ~75 kB that the
    // broker's window of 1,000 messages takes would cut every connection
    // before its dispositions come back, and the sender would resend the
    // same window forever.
    let proxy = FaultProxy::start(upstream, 60_000, 160_000);
    let url = format!("amqps://127.0.0.1:{}/cut", proxy.port());
    let receiver = Program::start(
        &build("simple_recv", Build::Static),
        &["-a", &url, "-m", "0", "--ca", &ca],
    );
    broker.wait_consumers("cut", 1);
    let sender = Program::start(
        &build("simple_send", Build::Static),
        &["-a", &url, "-m", &TOTAL.to_string(), "--ca", &ca],
    );
    let sent = sender.success(LONG);
    assert_eq!(
        sent.last().map(String::as_str),
        Some("all messages confirmed"),
        "{sent:?}"
    );
    receiver.wait_output(LONG, "every sequence number", |l| {
        tally(l).len() as u64 == TOTAL
    });
    let lines = receiver.lines();
    drop(receiver);
    let seen = tally(&lines);
    assert_eq!(
        seen.keys().copied().collect::<Vec<_>>(),
        (1..=TOTAL).collect::<Vec<_>>()
    );
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    let (sender_reconnects, receiver_reconnects) = (reconnects(&sent), reconnects(&lines));
    println!(
        "fault proxy (TLS): {} connections, {} cuts; sender reconnected {sender_reconnects} \
         times, receiver {receiver_reconnects} times; {duplicates} duplicates",
        proxy.accepted(),
        proxy.cuts(),
    );
    assert!(
        sender_reconnects >= 3,
        "the sender was cut only {sender_reconnects} times"
    );
    assert!(
        receiver_reconnects >= 3,
        "the receiver was cut only {receiver_reconnects} times"
    );
    drop(proxy);
    broker.stop();
}

// ---- 5. Qpid Proton over TLS ----------------------------------------------------------

/// Debian's Python, which has the `proton` module.
const PYTHON: &str = "/usr/bin/python3";

/// Checks that Proton's Python binding is installed (installing it like the
/// interop suite does when it is not) and has TLS; a missing peer fails the
/// test, it never passes without running.
fn proton_ready() {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    let r = READY.get_or_init(|| {
        let has = || {
            Command::new(PYTHON)
                .args([
                    "-c",
                    "import proton, sys; sys.exit(0 if proton.SSL.present() else 3)",
                ])
                .output()
        };
        if matches!(has(), Ok(o) if o.status.success()) {
            return Ok(());
        }
        if std::env::var_os("MUON_INTEROP_NO_INSTALL").is_none() {
            let _ = Command::new(manifest_dir().join("tests/interop/install-peers.sh"))
                .arg("python3-qpid-proton")
                .output();
        }
        match has() {
            Ok(o) if o.status.success() => Ok(()),
            Ok(o) if o.status.code() == Some(3) => {
                Err("Proton's Python binding has no TLS (proton.SSL.present() is false)".into())
            }
            Ok(o) => Err(format!(
                "{PYTHON} cannot import proton (install python3-qpid-proton): {}",
                String::from_utf8_lossy(&o.stderr)
            )),
            Err(e) => Err(format!("cannot run {PYTHON}: {e}")),
        }
    });
    if let Err(why) = r {
        panic!("the Qpid Proton peer is missing: {why}");
    }
}

fn proton(args: &[&str]) -> Program {
    proton_ready();
    let script = manifest_dir().join("tests/tls/proton_tls.py");
    let script = script.to_string_lossy();
    let mut all = vec!["-B", &*script];
    all.extend_from_slice(args);
    Program::start(Path::new(PYTHON), &all)
}

/// Proton as a TLS client (verifying muon's certificate and name against the
/// CA) sends to muon's TLS broker; muon's simple_recv takes the messages.
#[test]
fn proton_sends_over_tls_to_the_muon_broker() {
    let ca = pki().path("ca.pem");
    let broker = Broker::tls(Build::Static, "server", &[]);
    let url = broker.url("amqps", "from-proton");
    let out = proton(&["send", &url, &ca, "100"]).success(LONG);
    assert_eq!(out, ["all messages confirmed"]);
    let got = Program::start(
        &build("simple_recv", Build::Static),
        &["-a", &url, "-m", "100", "--ca", &ca],
    )
    .success(LONG);
    assert_eq!(got, sequences(100));
    broker.stop();
}

/// Proton as a TLS server; muon's simple_send connects with amqps:// and
/// `--ca`, and sees every message accepted.
#[test]
fn muon_sends_over_tls_to_a_proton_server() {
    let pki = pki();
    let port = free_port().to_string();
    let (cert, key) = (pki.path("server.pem"), pki.path("server.key"));
    let server = proton(&["serve", "127.0.0.1", &port, &cert, &key, "100"]);
    server.wait_line("listening on ", SHORT);
    run_exact(
        &build("simple_send", Build::Static),
        &[
            "-a",
            &format!("amqps://127.0.0.1:{port}/examples"),
            "-m",
            "100",
            "--ca",
            &pki.path("ca.pem"),
        ],
        &[],
        &["all messages confirmed"],
    );
    let mut expected = vec![format!("listening on {port}")];
    expected.extend(sequences(100));
    assert_eq!(server.success(SHORT), expected);
}

// ---- 6. AddressSanitizer with leak detection ---------------------------------------------

/// helloworld over TLS, and over mutual TLS, with the broker and the client
/// both under ASan/LSan.
#[test]
fn tls_and_mutual_tls_are_clean_under_asan() {
    let pki = pki();
    let ca = pki.path("ca.pem");
    let broker = Broker::tls(Build::Asan, "server", &["--tls-client-ca", &ca]);
    let hello = build("helloworld", Build::Asan);
    run_exact(
        &hello,
        &["-a", &broker.url("amqps", "asan"), "--ca", &ca],
        &[],
        &HELLO,
    );
    run_exact(
        &hello,
        &[
            "-a",
            &broker.url("amqps", "asan-mutual"),
            "--ca",
            &ca,
            "--cert",
            &pki.path("alice.pem"),
            "--key",
            &pki.path("alice.key"),
        ],
        &[],
        &HELLO,
    );
    // A refusal frees everything too.
    let (status, _, err) = Program::start(
        &hello,
        &[
            "-a",
            &broker.url("amqps", "asan"),
            "--ca",
            &pki.path("ca2.pem"),
        ],
    )
    .wait(LONG);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("unknown certificate authority") && !err.contains("Sanitizer"),
        "{err}"
    );
    broker.stop();
}

// ---- 7. TLS and plain on one port -----------------------------------------------------

/// A TLS listener that also accepts plain AMQP (off by default; the broker's
/// `--tls-insecure-allow-plain`) tells the two apart by the first byte:
/// both kinds of client are served, and the plain one is not treated as
/// encrypted (PLAIN is not offered to it).
#[test]
fn a_tls_port_that_allows_plain_serves_both_and_offers_plain_clients_no_plain() {
    let pki = pki();
    let ca = pki.path("ca.pem");
    let users = pki.dir.join("mixed-users");
    std::fs::write(&users, "bob plain:pw\n").expect("write the users file");
    let users = users.to_string_lossy().into_owned();
    let broker = Broker::tls(
        Build::Static,
        "server",
        &[
            "--tls-insecure-allow-plain",
            "--users",
            &users,
            "--allow-anonymous",
        ],
    );
    run_exact(
        &build("helloworld", Build::Static),
        &["--ca", &ca, "-a", &broker.url("amqps", "examples")],
        &[],
        &HELLO,
    );
    run_exact(
        &build("helloworld", Build::Static),
        &["-a", &broker.url("amqp", "examples")],
        &[],
        &HELLO,
    );
    // Over TLS, bob logs in (SCRAM derived from the test password).
    let port = broker.port;
    run_exact(
        &build("helloworld", Build::Static),
        &[
            "--ca",
            &ca,
            "-a",
            &format!("amqps://bob:pw@localhost:{port}/examples"),
        ],
        &[],
        &HELLO,
    );
    // In clear, SCRAM is still fine (no password crosses), and PLAIN is not
    // offered: the trace of the plain connection's SASL shows no PLAIN.
    let out = Command::new(build("helloworld", Build::Static))
        .args(["-a", &format!("amqp://bob:pw@localhost:{port}/examples")])
        .env("MUON_TRACE", "frm")
        .output()
        .expect("run helloworld");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let offered = err
        .lines()
        .find(|l| l.contains("@sasl-mechanisms"))
        .unwrap_or_else(|| panic!("no sasl-mechanisms in the trace:\n{err}"));
    assert!(
        !offered.contains("\"PLAIN\""),
        "PLAIN offered over a plain connection: {offered}"
    );
    assert!(!err.contains("pw@") && !err.contains("\\0pw"), "{err}");
    let log = broker.stop();
    assert!(log.contains("--tls-insecure-allow-plain"), "{log}");
}

// ---- 8. the TLS options from C ----------------------------------------------------------

/// tests/c/api_tls.c: the TLS setters' errors (NULL, a missing file, no
/// certificate, no key) with `muon_connection_options_error` saying why; a
/// listener whose certificate comes from memory; clients trusting only a CA
/// from memory (opens), only an unrelated CA from a file (refused: unknown
/// issuer), and none with verification off (opens).
#[test]
fn the_tls_options_work_from_c() {
    let pki = pki();
    let exe = compile_c(Path::new("tests/c/api_tls.c"), Link::Static);
    let out = Command::new(&exe)
        .args([
            pki.path("ca.pem"),
            pki.path("server.pem"),
            pki.path("server.key"),
            pki.path("ca2.pem"),
        ])
        .output()
        .expect("run api_tls");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success() && stdout.ends_with("tls: ok\n"),
        "api_tls failed ({}):\n{stdout}{stderr}",
        out.status
    );
    // Turning verification off is said, whether or not a trace is on.
    assert!(
        stderr.contains("WARNING: TLS to localhost") && stderr.contains("insecure_skip_verify"),
        "{stderr}"
    );
}

// ---- 9. hello world direct, over TLS ------------------------------------------------------

/// helloworld_direct listens and connects to itself: over `amqps://` its
/// listener serves `--cert/--key` and its client trusts `--ca`, so the
/// tutorial's brokerless hello world runs over TLS too; without `--cert`
/// it says what is missing.
#[test]
fn helloworld_direct_runs_over_tls() {
    let pki = pki();
    let (ca, cert, key) = (
        pki.path("ca.pem"),
        pki.path("server.pem"),
        pki.path("server.key"),
    );
    let exe = build("helloworld_direct", Build::Static);
    let out = Command::new(&exe)
        .args([
            "-a",
            "amqps://localhost:0/examples",
            "--cert",
            &cert,
            "--key",
            &key,
            "--ca",
            &ca,
        ])
        .output()
        .expect("run helloworld_direct");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        out.status.success()
            && lines.len() == 2
            && lines[0].starts_with("listening on ")
            && lines[1] == "Hello World!",
        "{out:?}"
    );
    let out = Command::new(&exe)
        .args(["-a", "amqps://localhost:0/examples"])
        .output()
        .expect("run helloworld_direct");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("needs --cert FILE --key FILE"),
        "{out:?}"
    );
}
