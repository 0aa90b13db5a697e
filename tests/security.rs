//! Security end to end through the example broker and real clients:
//! authorization (`--users` made with `--hash-password`, `--acl`),
//! ANONYMOUS with and without `--allow-anonymous`, SASL EXTERNAL with a
//! client certificate, failover from an `amqp://` URL to an `amqps://` one,
//! and frame traces that show no password, SCRAM proof or server signature.
//!
//! Certificates are made at test time with the `openssl` CLI under
//! `CARGO_TARGET_TMPDIR` (never in the source tree) by `common::pki`, as
//! for `tests/tls.rs`. Every program listens on port 0, every wait has a
//! time limit, and the processes a test starts are killed (by their own
//! handle) if it ends first. `tests/c/api_sasl.c` covers the same API from C in one process.

mod common;

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use common::examples::{self, Broker, Build, hash_password};
use common::out_dir;
use common::pki::Pki;

/// How long one client run may take.
const LIMIT: Duration = Duration::from_secs(20);

// ---- certificates ---------------------------------------------------------------

/// The test PKI, made once per run: a CA, a server certificate for
/// localhost and 127.0.0.1, and a client certificate whose CN is `alice`.
fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        Pki::builder(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("security-pki"))
            .ca("ca", "/CN=muon security test CA")
            .server("server", "ca")
            .client("alice", "ca", "alice")
            .build()
            .expect("the test PKI")
    })
}

fn pki_file(name: &str) -> String {
    pki().path(name)
}

// ---- building -------------------------------------------------------------------

/// Compiles `src` (relative to the crate root) against `libmuon.a`, once
/// per run.
fn build(src: &str) -> PathBuf {
    examples::build(src, Build::Static)
}

fn example(name: &str) -> PathBuf {
    examples::build(name, Build::Static)
}

// ---- running --------------------------------------------------------------------

/// What a client run gave.
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Run {
    fn ok(&self, what: &str) -> &Self {
        assert!(
            self.status.success(),
            "{what} failed ({}); stdout:\n{}\nstderr:\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }

    /// Exit status 1 and a line of stderr that contains `needle`.
    fn refused(&self, what: &str, needle: &str) {
        assert_eq!(
            self.status.code(),
            Some(1),
            "{what}: expected exit 1; stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        assert!(
            self.stderr.contains(needle),
            "{what}: no {needle:?} in stderr:\n{}",
            self.stderr
        );
    }
}

/// Runs `exe` with `args` and `env` to completion (killed after `LIMIT`).
fn run(exe: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let child = common::command(exe)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
    let out = common::ChildGuard(Some(child)).wait(LIMIT);
    Run {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The example broker as this file starts it: any port, `args` its
/// options and `env` its environment (`MUON_TRACE=frm` puts the frame trace
/// in its log); killed when dropped.
impl Broker {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Broker {
        Broker::launch(Build::Static, 0, args, env, LIMIT)
    }
}

/// `broker --hash-password NAME` with `password` on stdin: NAME's line for
/// `--users`.
fn users_line(name: &str, password: &str) -> String {
    let (status, line, err) = hash_password(&example("broker"), name, password, LIMIT);
    assert!(status.success(), "--hash-password failed ({status}): {err}");
    assert!(
        line.starts_with(&format!("{name} SCRAM-SHA-512$")) && !line.contains(password),
        "unexpected --users line {line:?}"
    );
    line
}

/// Writes `text` to a file of this test run and returns its path.
fn write_file(name: &str, text: &str) -> String {
    let dir = out_dir().join("security");
    std::fs::create_dir_all(&dir).expect("output directory");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("can write the file");
    path.to_string_lossy().into_owned()
}

const BOB_PW: &str = "bob-Pw-7q1x";
const CAROL_PW: &str = "carol-Pw-3k9z";

/// The users file: bob and carol, hashed.
fn users_file() -> String {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| {
        let text = format!(
            "# made by broker --hash-password\n{}\n{}\n",
            users_line("bob", BOB_PW),
            users_line("carol", CAROL_PW)
        );
        write_file("users", &text)
    })
    .clone()
}

fn sequences(n: u64) -> String {
    (1..=n).map(|i| format!("{{'sequence': {i}}}\n")).collect()
}

// ---- 1. authorization ------------------------------------------------------------

/// bob may send to `orders`, carol may receive from it; nothing else is
/// allowed, and without `--allow-anonymous` nobody gets in without
/// credentials.
#[test]
fn the_acl_lets_bob_send_and_carol_receive_and_refuses_everything_else() {
    let acl = write_file("acl-orders", "bob send orders\ncarol receive orders\n");
    let broker = Broker::start(&["--users", &users_file(), "--acl", &acl], &[]);
    let url = |userinfo: &str, address: &str| {
        format!("amqp://{userinfo}127.0.0.1:{}/{address}", broker.port)
    };
    let bob = format!("bob:{BOB_PW}@");
    let carol = format!("carol:{CAROL_PW}@");
    let (send, recv) = (example("simple_send"), example("simple_recv"));

    let r = run(&send, &["-a", &url(&bob, "orders"), "-m", "3"], &[]);
    r.ok("simple_send as bob to orders");
    assert_eq!(r.stdout, "all messages confirmed\n");
    broker.wait_log("producer to orders");

    run(&recv, &["-a", &url(&bob, "orders"), "-m", "3"], &[])
        .refused("simple_recv as bob from orders", "amqp:unauthorized-access");
    broker.wait_log("bob may not receive from orders");
    run(&send, &["-a", &url(&carol, "orders"), "-m", "1"], &[])
        .refused("simple_send as carol to orders", "amqp:unauthorized-access");
    run(&send, &["-a", &url(&bob, "other"), "-m", "1"], &[])
        .refused("simple_send as bob to other", "amqp:unauthorized-access");

    // A wrong password, and no credentials at all.
    run(&send, &["-a", &url("bob:wrong@", "orders"), "-m", "1"], &[]).refused(
        "simple_send with a wrong password",
        "amqp:unauthorized-access",
    );
    run(&send, &["-a", &url("", "orders"), "-m", "1"], &[]).refused(
        "simple_send without credentials",
        "amqp:unauthorized-access",
    );

    // carol gets what bob sent, and nothing was lost to the refusals.
    let r = run(&recv, &["-a", &url(&carol, "orders"), "-m", "3"], &[]);
    r.ok("simple_recv as carol from orders");
    assert_eq!(r.stdout, sequences(3));
}

/// With `--allow-anonymous`, ANONYMOUS logs in, but the ACL (no rule for
/// it) refuses its links; a rule for a user named "anonymous" is not one
/// for unauthenticated clients.
#[test]
fn anonymous_logs_in_with_allow_anonymous_but_the_acl_refuses_its_links() {
    let acl = write_file("acl-anonymous", "bob send orders\nanonymous all orders\n");
    let broker = Broker::start(
        &["--users", &users_file(), "--acl", &acl, "--allow-anonymous"],
        &[],
    );
    let url = format!("amqp://127.0.0.1:{}/orders", broker.port);
    let r = run(&build("tests/c/sec_client.c"), &["-a", &url], &[]);
    r.ok("sec_client anonymous");
    assert_eq!(r.stdout, "open: user (none) mechanism ANONYMOUS\n");

    run(&example("simple_send"), &["-a", &url, "-m", "1"], &[])
        .refused("simple_send anonymous", "amqp:unauthorized-access");
    broker.wait_log("anonymous may not send to orders");
    run(&example("simple_recv"), &["-a", &url, "-m", "1"], &[])
        .refused("simple_recv anonymous", "amqp:unauthorized-access");
    broker.wait_log("anonymous may not receive from orders");
}

// ---- 2. EXTERNAL -----------------------------------------------------------------

/// A client certificate logs in with EXTERNAL as its CN, which the ACL then
/// knows.
#[test]
fn a_client_certificate_logs_in_with_external_as_its_common_name() {
    let (ca, server, server_key) = (
        pki_file("ca.pem"),
        pki_file("server.pem"),
        pki_file("server.key"),
    );
    let acl = write_file("acl-alice", "alice all examples\n");
    let broker = Broker::start(
        &[
            "--tls-cert",
            &server,
            "--tls-key",
            &server_key,
            "--tls-client-ca",
            &ca,
            "--users",
            &users_file(),
            "--acl",
            &acl,
        ],
        &[],
    );
    let url = format!("amqps://localhost:{}/examples", broker.port);
    let (alice, alice_key) = (pki_file("alice.pem"), pki_file("alice.key"));
    let r = run(
        &example("helloworld"),
        &[
            "--ca", &ca, "--cert", &alice, "--key", &alice_key, "-a", &url,
        ],
        &[("MUON_TRACE", "frm")],
    );
    r.ok("helloworld with alice's certificate");
    assert_eq!(r.stdout, "Hello World!\n");
    let init = r
        .stderr
        .lines()
        .find(|l| l.contains("@sasl-init"))
        .unwrap_or_else(|| panic!("no sasl-init in the trace:\n{}", r.stderr));
    assert!(init.contains("EXTERNAL"), "{init}");

    // Again and again: the server must know the certificate's subject
    // before it answers the SASL header that a TLS 1.3 client sends right
    // behind its Finished, often in the same read (it did not, and offered
    // no EXTERNAL about half the time).
    for _ in 0..10 {
        let r = run(
            &build("tests/c/sec_client.c"),
            &[
                "--ca", &ca, "--cert", &alice, "--key", &alice_key, "-a", &url,
            ],
            &[],
        );
        r.ok("sec_client with alice's certificate");
        assert_eq!(r.stdout, "open: user (none) mechanism EXTERNAL\n");
    }

    // The same client without a certificate has no way in (no
    // --allow-anonymous), and one with it is still refused an address the
    // ACL does not give alice.
    run(&example("helloworld"), &["--ca", &ca, "-a", &url], &[]).refused(
        "helloworld without a certificate",
        "amqp:unauthorized-access",
    );
    let other = format!("amqps://localhost:{}/other", broker.port);
    run(
        &example("helloworld"),
        &[
            "--ca", &ca, "--cert", &alice, "--key", &alice_key, "-a", &other,
        ],
        &[],
    )
    .refused("helloworld as alice to other", "amqp:unauthorized-access");
    broker.wait_log("alice may not");
}

// ---- 3. failover across schemes ------------------------------------------------

/// A client whose URL is a dead `amqp://` port and whose failover URL is
/// the TLS broker reaches the broker over TLS.
#[test]
fn failover_from_a_dead_amqp_url_reaches_the_amqps_broker() {
    let broker = Broker::start(
        &[
            "--tls-cert",
            &pki_file("server.pem"),
            "--tls-key",
            &pki_file("server.key"),
        ],
        &[],
    );
    // Refused while `dead` is kept: bound, never listening.
    let dead = common::program::refused_port();
    let r = run(
        &build("tests/c/sec_client.c"),
        &[
            "-a",
            &format!("amqp://127.0.0.1:{}/x", dead.port),
            "--failover",
            &format!("amqps://localhost:{}/x", broker.port),
            "--ca",
            &pki_file("ca.pem"),
        ],
        &[("MUON_TRACE", "frm")],
    );
    r.ok("sec_client with failover");
    assert_eq!(r.stdout, "open: user (none) mechanism ANONYMOUS\n");
    assert!(
        r.stderr.contains("disconnected: "),
        "the dead URL was not tried first:\n{}",
        r.stderr
    );
    // (The broker takes TLS only: a plain client would have been refused.)
}

// ---- 4. traces show no secret -------------------------------------------------

/// Every `p=` (SCRAM proof) and `v=` (server signature) in `trace` is
/// redacted, and `secret` appears nowhere, in clear or in hex.
fn assert_no_secret(what: &str, trace: &str, secret: &str) {
    let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
    assert!(
        !trace.contains(secret) && !trace.contains(&hex),
        "{what}: the password is in the trace:\n{trace}"
    );
    for key in [",p=", "\"v="] {
        for (i, _) in trace.match_indices(key) {
            let rest = &trace[i + key.len()..];
            assert!(
                rest.starts_with("<redacted"),
                "{what}: {key} not redacted: {}",
                &trace[i..(i + 80).min(trace.len())]
            );
        }
    }
}

/// PLAIN over TLS and SCRAM (in clear and over TLS): neither the client's
/// nor the broker's frame trace shows the password, the proof or the
/// server's signature.
#[test]
fn frame_traces_of_plain_and_scram_logins_show_no_secret() {
    let trace = [("MUON_TRACE", "frm")];
    let tls = Broker::start(
        &[
            "--tls-cert",
            &pki_file("server.pem"),
            "--tls-key",
            &pki_file("server.key"),
            "--users",
            &users_file(),
        ],
        &trace,
    );
    let clear = Broker::start(&["--users", &users_file()], &trace);
    let ca = pki_file("ca.pem");
    let client = build("tests/c/sec_client.c");
    let tls_url = format!("amqps://bob:{BOB_PW}@localhost:{}/x", tls.port);
    let clear_url = format!("amqp://bob:{BOB_PW}@127.0.0.1:{}/x", clear.port);

    // PLAIN over TLS, asked for.
    let r = run(
        &client,
        &["-a", &tls_url, "--ca", &ca, "--mechanisms", "PLAIN"],
        &trace,
    );
    r.ok("PLAIN over TLS");
    assert_eq!(r.stdout, "open: user bob mechanism PLAIN\n");
    assert!(
        r.stderr.contains(r#"PLAIN user "bob" password <redacted>"#),
        "{}",
        r.stderr
    );
    assert_no_secret("PLAIN client", &r.stderr, BOB_PW);

    // SCRAM over TLS (the strongest, by default) and in clear.
    let r = run(&client, &["-a", &tls_url, "--ca", &ca], &trace);
    r.ok("SCRAM over TLS");
    assert_eq!(r.stdout, "open: user bob mechanism SCRAM-SHA-512\n");
    assert_no_secret("SCRAM client over TLS", &r.stderr, BOB_PW);
    for mech in ["SCRAM-SHA-256", "SCRAM-SHA-1"] {
        let r = run(&client, &["-a", &clear_url, "--mechanisms", mech], &trace);
        r.ok(mech);
        assert_eq!(r.stdout, format!("open: user bob mechanism {mech}\n"));
        assert!(r.stderr.contains(",p=<redacted>"), "{}", r.stderr);
        assert!(r.stderr.contains("v=<redacted>"), "{}", r.stderr);
        assert_no_secret(mech, &r.stderr, BOB_PW);
    }
    // The examples log in the same way.
    let r = run(
        &example("simple_send"),
        &["-a", &clear_url, "-m", "1"],
        &trace,
    );
    r.ok("simple_send with SCRAM");
    assert_no_secret("simple_send", &r.stderr, BOB_PW);

    // The brokers received all of it.
    tls.wait_log("PLAIN user \"bob\" password <redacted>");
    clear.wait_log(",p=<redacted>");
    assert_no_secret("the TLS broker", &tls.stderr(), BOB_PW);
    assert_no_secret("the cleartext broker", &clear.stderr(), BOB_PW);
}
