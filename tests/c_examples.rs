//! The tutorial's C programs (examples-c/) and the example broker, built and
//! run: each compiles with -Wall -Wextra -Werror -pedantic against the
//! static and the shared library; outputs are compared exactly; the broker's
//! queueing, redelivery and load behaviour is checked with a test client
//! (tests/c_examples/broker_probe.c); reconnect is shown through a
//! fault-injecting proxy and across a broker killed and restarted; the
//! hello world, send/receive and request/response runs are repeated under
//! AddressSanitizer with leak detection; the server's correlation-ids are
//! checked with a Qpid Proton client (tests/c_examples/correlated_client.py);
//! every failure ends a program with a clear message, `-h` describes every
//! option and bad values are refused; each program is at most 2.5 times as
//! long as its Python original; and scripts/tutorial runs end to end.
//!
//! Every program listens on port 0 or on a port held for it until it binds
//! (`reserve_port`), every wait has a time limit, and a guard kills (only)
//! the processes a test started.

mod common;
mod fault_proxy;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::examples::{Broker, Build, build};
use common::program::{
    self, Program, reconnects, refused_port, reserve_port, sequence, sequences, tail, tally,
};
use common::{manifest_dir, out_dir};
use fault_proxy::FaultProxy;

// ---- building -------------------------------------------------------------------

const EXAMPLES: [&str; 10] = [
    "helloworld",
    "helloworld_direct",
    "simple_send",
    "simple_recv",
    "server",
    "client",
    "broker",
    "tx_send",
    "tx_recv",
    "embed_poll",
];

/// The test client that probes the broker's queueing.
const PROBE: &str = "tests/c_examples/broker_probe.c";

// ---- running --------------------------------------------------------------------

const LIMIT: Duration = Duration::from_secs(60);

/// Runs a program to completion and asserts exit 0 and exactly `expected`.
fn run_exact(exe: &Path, args: &[&str], expected: &[&str]) {
    program::run_exact(exe, args, &[], expected, LIMIT);
}

/// The example broker as this file starts it: 20 s to listen and for its
/// log to show what a test waits for.
impl Broker {
    fn start(kind: Build) -> Broker {
        Broker::start_on(kind, 0)
    }

    fn start_on(kind: Build, port: u16) -> Broker {
        Broker::start_with(kind, port, &[])
    }

    fn start_with(kind: Build, port: u16, extra: &[&str]) -> Broker {
        Broker::launch(kind, port, extra, &[], Duration::from_secs(20))
    }

    fn url(&self, address: &str) -> String {
        format!("localhost:{}/{address}", self.port)
    }
}

const HELLO: [&str; 1] = ["Hello World!"];

const REQUESTS: [&str; 4] = [
    "Twas brillig, and the slithy toves => TWAS BRILLIG, AND THE SLITHY TOVES",
    "Did gire and gymble in the wabe. => DID GIRE AND GYMBLE IN THE WABE.",
    "All mimsy were the borogroves, => ALL MIMSY WERE THE BOROGROVES,",
    "And the mome raths outgrabe. => AND THE MOME RATHS OUTGRABE.",
];

// ---- every example compiles, both ways ----------------------------------------------

#[test]
fn every_example_compiles_against_the_static_and_the_shared_library() {
    for name in EXAMPLES.iter().chain([PROBE].iter()) {
        for kind in [Build::Static, Build::Shared] {
            let exe = build(name, kind);
            assert!(exe.exists(), "{} was not built", exe.display());
        }
    }
}

// ---- hello world ----------------------------------------------------------------------

#[test]
fn helloworld_direct_prints_hello_world() {
    // Port 0: it says which port it got, then the message.
    let out = Program::start(
        &build("helloworld_direct", Build::Static),
        &["-a", "localhost:0/examples"],
    )
    .success(LIMIT);
    assert_eq!(out.len(), 2, "unexpected output: {out:?}");
    let port: u16 = out[0]
        .strip_prefix("listening on ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {:?}", out[0]));
    assert_ne!(port, 0);
    assert_eq!(out[1], "Hello World!");
    // A given port: exactly the tutorial's output. (The port is held for
    // it until it listens: see `reserve_port`.)
    let port = reserve_port();
    let url = format!("localhost:{}/examples", port.port);
    run_exact(
        &build("helloworld_direct", Build::Shared),
        &["-a", &url],
        &HELLO,
    );
}

#[test]
fn helloworld_through_the_broker_prints_hello_world() {
    let broker = Broker::start(Build::Static);
    let url = broker.url("examples");
    run_exact(&build("helloworld", Build::Static), &["-a", &url], &HELLO);
    run_exact(&build("helloworld", Build::Shared), &["-a", &url], &HELLO);
    broker.stop();
}

// ---- simple_send / simple_recv ----------------------------------------------------------

#[test]
fn simple_send_then_simple_recv_1000_in_order() {
    let broker = Broker::start(Build::Static);
    let url = broker.url("send-first");
    run_exact(
        &build("simple_send", Build::Static),
        &["-a", &url, "-m", "1000"],
        &["all messages confirmed"],
    );
    let out = Program::start(
        &build("simple_recv", Build::Shared),
        &["-a", &url, "-m", "1000"],
    )
    .success(LIMIT);
    assert_eq!(out, sequences(1000));
    broker.stop();
}

#[test]
fn simple_recv_first_then_simple_send_1000_in_order() {
    let broker = Broker::start(Build::Static);
    let url = broker.url("recv-first");
    let recv = Program::start(
        &build("simple_recv", Build::Static),
        &["-a", &url, "-m", "1000"],
    );
    broker.wait_consumers("recv-first", 1);
    run_exact(
        &build("simple_send", Build::Shared),
        &["-a", &url, "-m", "1000"],
        &["all messages confirmed"],
    );
    assert_eq!(recv.success(LIMIT), sequences(1000));
    broker.stop();
}

// ---- embed_poll: muon inside the application's poll() loop --------------------------------

/// `embed_poll` sends each line of its standard input from its own
/// `poll()` loop (stdin and `muon_loop_fd`); `simple_recv` receives them
/// through the broker, and a last line without a newline counts too. Then
/// 3,000 lines, read only as credit allows, all confirmed and received in
/// order.
#[test]
fn embed_poll_sends_each_line_of_its_input_through_the_broker() {
    let broker = Broker::start(Build::Static);
    let url = broker.url("lines");
    let recv = Program::start(
        &build("simple_recv", Build::Static),
        &["-a", &url, "-m", "3"],
    );
    broker.wait_consumers("lines", 1);
    let send = Program::start_input(
        &build("embed_poll", Build::Static),
        &["-a", &url],
        "Twas brillig,\nand the slithy toves\ndid gire",
    );
    assert_eq!(send.success(LIMIT), ["all 3 lines confirmed"]);
    assert_eq!(
        recv.success(LIMIT),
        ["Twas brillig,", "and the slithy toves", "did gire"]
    );
    let url = broker.url("many");
    let input: String = (1..=3000).map(|n| format!("line {n}\n")).collect();
    let recv = Program::start(
        &build("simple_recv", Build::Shared),
        &["-a", &url, "-m", "3000"],
    );
    broker.wait_consumers("many", 1);
    let send = Program::start_input(&build("embed_poll", Build::Shared), &["-a", &url], &input);
    assert_eq!(send.success(LIMIT), ["all 3000 lines confirmed"]);
    let got = recv.success(LIMIT);
    let want: Vec<String> = (1..=3000).map(|n| format!("line {n}")).collect();
    assert_eq!(got, want);
    broker.stop();
}

// ---- request / response -------------------------------------------------------------------

#[test]
fn client_and_server_print_the_upper_cased_requests() {
    let broker = Broker::start(Build::Static);
    let url = broker.url("requests");
    let server = Program::start(&build("server", Build::Static), &["-a", &url]);
    broker.wait_consumers("requests", 1);
    run_exact(&build("client", Build::Static), &["-a", &url], &REQUESTS);
    run_exact(
        &build("client", Build::Shared),
        &["-a", &url, "hello", "Grüße, world"],
        &["hello => HELLO", "Grüße, world => GRüßE, WORLD"],
    );
    // A fixed reply address (-r) instead of a dynamic receiver.
    run_exact(
        &build("client", Build::Static),
        &["-a", &url, "-r", "fixed-replies", "hi"],
        &["hi => HI"],
    );
    server.signal(libc::SIGTERM);
    assert_eq!(server.success(LIMIT), Vec::<String>::new());
    broker.stop();
}

#[test]
fn helloworld_direct_with_a_count_waits_for_other_senders() {
    // -m 3: its own hello and two messages from simple_send, in any order.
    let hello = Program::start(
        &build("helloworld_direct", Build::Static),
        &["-a", "127.0.0.1:0/examples", "-m", "3"],
    );
    let port = hello.wait_line("listening on ", LIMIT);
    let port = port.trim_start_matches("listening on ");
    run_exact(
        &build("simple_send", Build::Static),
        &["-a", &format!("127.0.0.1:{port}/examples"), "-m", "2"],
        &["all messages confirmed"],
    );
    let mut out = hello.success(LIMIT);
    out.sort();
    assert_eq!(
        out,
        [
            "Hello World!".to_string(),
            format!("listening on {port}"),
            "{'sequence': 1}".to_string(),
            "{'sequence': 2}".to_string(),
        ]
    );
}

// ---- AddressSanitizer with leak detection ------------------------------------------------------

#[test]
fn hello_send_recv_and_request_response_are_clean_under_asan() {
    let broker = Broker::start(Build::Asan);
    run_exact(
        &build("helloworld", Build::Asan),
        &["-a", &broker.url("asan-hello")],
        &HELLO,
    );
    let port = reserve_port();
    let direct = format!("localhost:{}/examples", port.port);
    run_exact(
        &build("helloworld_direct", Build::Asan),
        &["-a", &direct],
        &HELLO,
    );

    let url = broker.url("asan-send");
    run_exact(
        &build("simple_send", Build::Asan),
        &["-a", &url, "-m", "1000"],
        &["all messages confirmed"],
    );
    let out = Program::start(
        &build("simple_recv", Build::Asan),
        &["-a", &url, "-m", "1000"],
    )
    .success(LIMIT);
    assert_eq!(out, sequences(1000));

    let url = broker.url("asan-requests");
    let server = Program::start(&build("server", Build::Asan), &["-a", &url]);
    broker.wait_consumers("asan-requests", 1);
    run_exact(&build("client", Build::Asan), &["-a", &url], &REQUESTS);
    server.signal(libc::SIGTERM);
    server.success(LIMIT);
    broker.stop();
}

// ---- request / response: the correlation-id ---------------------------------------------------

/// A client on Qpid Proton's Python binding with all its requests in
/// flight at once, matching responses by correlation-id
/// (tests/c_examples/correlated_client.py): the server must echo a
/// request's correlation-id, and use its message-id when it has none.
#[test]
fn server_echoes_the_correlation_id_else_the_message_id_to_a_proton_client() {
    let broker = Broker::start(Build::Static);
    let url = broker.url("correlated");
    let server = Program::start(&build("server", Build::Static), &["-a", &url]);
    broker.wait_consumers("correlated", 1);
    let script = manifest_dir().join("tests/c_examples/correlated_client.py");
    let requests = ["one", "two", "three", "four", "five"];
    for mode in ["correlation-id", "message-id"] {
        let mut args = vec![script.to_str().expect("a UTF-8 path"), &url, mode];
        args.extend(requests);
        let out = Program::start(Path::new("/usr/bin/python3"), &args).success(LIMIT);
        let want: Vec<String> = requests
            .iter()
            .map(|r| format!("{r} => {}", r.to_uppercase()))
            .collect();
        assert_eq!(out, want, "{mode}");
    }
    // Our own client, with no ids at all, still gets its answers.
    run_exact(
        &build("client", Build::Static),
        &["-a", &url, "hi"],
        &["hi => HI"],
    );
    server.signal(libc::SIGTERM);
    assert_eq!(server.success(LIMIT), Vec::<String>::new());
    broker.stop();
}

// ---- failures are reported clearly ----------------------------------------------------------

/// The broker rejects every message to a temporary queue that does not
/// exist: simple_send must not wait forever for their acceptance.
#[test]
fn simple_send_exits_non_zero_when_the_broker_rejects_its_messages() {
    let broker = Broker::start(Build::Static);
    let (status, out, err) = Program::start(
        &build("simple_send", Build::Static),
        &["-a", &broker.url("temp.gone"), "-m", "3"],
    )
    .wait(LIMIT);
    assert_eq!(status.code(), Some(1), "{out:?} {err}");
    assert!(out.is_empty(), "{out:?}");
    assert!(
        err.lines().any(
            |l| l.starts_with("simple_send: message rejected by localhost:")
                && l.ends_with(": amqp:not-found: temp.gone")
        ),
        "unclear message: {err}"
    );
    broker.stop();
}

/// `-h` describes every option a program takes; a bad `-m` or `-a` is
/// refused before anything is done, naming what is wrong.
#[test]
fn options_are_described_and_bad_values_refused() {
    let takes_m = ["helloworld_direct", "simple_send", "simple_recv"];
    for name in [
        "helloworld",
        "helloworld_direct",
        "simple_send",
        "simple_recv",
        "server",
        "client",
    ] {
        let exe = build(name, Build::Static);
        let (status, out, err) = Program::start(&exe, &["-h"]).wait(LIMIT);
        assert_eq!(status.code(), Some(0), "{name} -h: {err}");
        let help = out.join("\n");
        let mut options = vec!["-a", "--ca", "--cert", "--key", "-h"];
        if takes_m.contains(&name) {
            options.push("-m");
        }
        if name == "client" {
            options.push("-r");
        }
        for option in options {
            assert!(
                help.lines()
                    .any(|l| l.trim_start().starts_with(option) && l.len() > 20),
                "{name} -h does not describe {option}:\n{help}"
            );
        }
        if !takes_m.contains(&name) {
            assert!(!help.contains("-m COUNT"), "{name}:\n{help}");
        }
        let (status, _, err) = Program::start(&exe, &["-a", "localhost:abc/q"]).wait(LIMIT);
        assert_eq!(status.code(), Some(2), "{name}: {err}");
        assert!(
            err.contains(&format!(
                "{name}: -a: invalid URL \"localhost:abc/q\": the port \"abc\" is not a number"
            )),
            "{name}: {err}"
        );
        let (status, _, err) = Program::start(&exe, &["--no-such-option", "x"]).wait(LIMIT);
        assert_eq!(status.code(), Some(2), "{name}: {err}");
        assert!(err.starts_with(&format!("usage: {name} ")), "{name}: {err}");
    }
    for name in takes_m {
        let exe = build(name, Build::Static);
        for bad in ["2147483648", "99999999999999999999999", "-1", "12x", ""] {
            let (status, _, err) = Program::start(&exe, &["-m", bad]).wait(LIMIT);
            assert_eq!(status.code(), Some(2), "{name} -m {bad:?}: {err}");
            assert!(
                err.contains(&format!(
                    "{name}: -m {bad}: not a number from 0 to 2147483647"
                )),
                "{name} -m {bad:?}: {err}"
            );
        }
    }
}

#[test]
fn failures_exit_non_zero_with_a_clear_message() {
    // Nothing listens on this port, and nothing can while `port` is kept.
    let port = refused_port();
    let url = format!("localhost:{}/examples", port.port);
    for name in ["helloworld", "simple_send", "simple_recv", "client"] {
        let (status, _, err) =
            Program::start(&build(name, Build::Static), &["-a", &url]).wait(LIMIT);
        assert_eq!(status.code(), Some(1), "{name}: {err}");
        assert!(
            err.contains("cannot connect to") && err.contains("refused"),
            "{name}: unclear message: {err}"
        );
    }
    // A remote close with a condition: the broker refuses a consumer on a
    // temporary address that does not exist.
    let broker = Broker::start(Build::Static);
    let (status, out, err) = Program::start(
        &build("simple_recv", Build::Static),
        &["-a", &broker.url("temp.404")],
    )
    .wait(LIMIT);
    assert_eq!(status.code(), Some(1), "{err}");
    assert_eq!(out, ["Closed due to amqp:not-found: no such queue"]);
    assert!(err.contains("amqp:not-found"), "{err}");
    broker.stop();
}

// ---- the broker ---------------------------------------------------------------------------

fn probe(url: &str, n: u64, mode: &str) -> Program {
    Program::start(
        &build(PROBE, Build::Static),
        &["-a", url, "-m", &n.to_string(), mode],
    )
}

fn send(url: &str, n: u64) {
    run_exact(
        &build("simple_send", Build::Static),
        &["-a", url, "-m", &n.to_string()],
        &["all messages confirmed"],
    );
}

fn recv(url: &str, n: u64) -> Vec<String> {
    Program::start(
        &build("simple_recv", Build::Static),
        &["-a", url, "-m", &n.to_string()],
    )
    .success(LIMIT)
}

#[test]
fn broker_shares_a_queue_round_robin() {
    let broker = Broker::start(Build::Static);
    let url = broker.url("shared");
    // Each consumer grants 50 credit at once, so neither runs dry: the
    // broker alternates strictly between them, once both credits are in
    // (attached is not enough: a consumer's credit follows its attach, and
    // messages sent before it arrives all go to the other one).
    let a = probe(&url, 50, "recv");
    let b = probe(&url, 50, "recv");
    broker.wait_log_count("consumer from shared has credit\n", 2);
    send(&url, 100);
    let (a, b) = (a.success(LIMIT), b.success(LIMIT));
    let odd: Vec<String> = sequences(100).into_iter().step_by(2).collect();
    let even: Vec<String> = sequences(100).into_iter().skip(1).step_by(2).collect();
    assert!(
        (a == odd && b == even) || (a == even && b == odd),
        "not round-robin:\n{a:?}\n{b:?}"
    );
    broker.stop();
}

#[test]
fn broker_redelivers_the_unsettled_messages_of_a_consumer_that_disconnects() {
    let broker = Broker::start(Build::Static);
    let url = broker.url("held");
    send(&url, 10);
    // Takes 1..5 without settling them, then exits without closing.
    assert_eq!(probe(&url, 5, "hold").success(LIMIT), sequences(5));
    assert_eq!(recv(&url, 10), sequences(10));
    broker.stop();
}

#[test]
fn broker_takes_back_released_and_modified_messages_and_drops_rejected_ones() {
    let broker = Broker::start(Build::Static);
    for mode in ["release", "modify"] {
        let url = broker.url(mode);
        send(&url, 10);
        assert_eq!(probe(&url, 3, mode).success(LIMIT), sequences(3));
        assert_eq!(recv(&url, 10), sequences(10), "after {mode}");
    }
    let url = broker.url("reject");
    send(&url, 10);
    assert_eq!(probe(&url, 3, "reject").success(LIMIT), sequences(3));
    assert_eq!(recv(&url, 7), sequences(10)[3..].to_vec());
    let log = broker.stop();
    assert!(
        log.contains("rejected (3 so far)"),
        "rejections not counted:\n{log}"
    );
}

#[test]
fn broker_serves_presettled_senders_and_consumers_and_the_anonymous_relay() {
    let broker = Broker::start(Build::Static);
    let url = broker.url("presettled");
    assert_eq!(
        probe(&url, 100, "presend").success(LIMIT),
        ["sent 100 pre-settled"]
    );
    assert_eq!(recv(&url, 100), sequences(100));
    send(&url, 100);
    assert_eq!(probe(&url, 100, "prerecv").success(LIMIT), sequences(100));
    let url = broker.url("relayed");
    assert_eq!(
        probe(&url, 100, "anon").success(LIMIT),
        ["all messages confirmed"]
    );
    assert_eq!(recv(&url, 100), sequences(100));
    broker.stop();
}

#[test]
fn a_full_queue_makes_its_producer_wait_until_consumers_drain_it() {
    // At most 100 messages per queue: once 100 wait, the sender of 5,000
    // gets no more credit (what it sent on the credit it had, up to the
    // broker's window of 1,000, is still taken).
    let broker = Broker::start_with(Build::Static, 0, &["-m", "100"]);
    let url = broker.url("bounded");
    let mut sender = Program::start(
        &build("simple_send", Build::Static),
        &["-a", &url, "-m", "5000"],
    );
    let deadline = Instant::now() + LIMIT;
    while !broker
        .program
        .stderr()
        .contains("broker: queue bounded is full (100 messages")
    {
        assert!(Instant::now() < deadline, "{}", broker.program.stderr());
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        sender.is_running(),
        "the sender finished against a full queue"
    );
    // A consumer drains it: the producer resumes, and every message
    // arrives once, in order.
    assert_eq!(recv(&url, 5000), sequences(5000));
    assert_eq!(
        sender.success(LIMIT).last().map(String::as_str),
        Some("all messages confirmed")
    );
    let log = broker.stop();
    assert!(log.contains("queue bounded down to 50 messages"), "{log}");
}

#[test]
fn broker_serves_200_connections_at_once() {
    let broker = Broker::start(Build::Static);
    let out = Program::start(
        &build(PROBE, Build::Static),
        &["-a", &broker.url("load"), "-m", "100", "load", "200"],
    )
    .success(Duration::from_secs(120));
    assert_eq!(out, ["200 connections each sent and received 100 messages"]);
    let log = broker.stop();
    assert_eq!(log.matches(" accepted\n").count(), 200);
}

// ---- reconnect --------------------------------------------------------------------------

#[test]
fn reconnect_through_a_cutting_proxy_loses_nothing() {
    const TOTAL: u64 = 20_000;
    let broker = Broker::start(Build::Static);
    let upstream = format!("127.0.0.1:{}", broker.port)
        .parse()
        .expect("an address");
    // Each connection is cut after 80 to 200 kB: 20,000 messages are about
    // 1.4 MB each way, so both clients are cut many times. (A budget below
    // the broker's producer window, ~75 kB, cuts most connections before
    // the dispositions of their first window come back, and the sender
    // then resends that window again and again: at-least-once, but mostly
    // duplicates.)
    let proxy = FaultProxy::start(upstream, 80_000, 200_000);
    let url = format!("127.0.0.1:{}/cut", proxy.port());
    let receiver = Program::start(
        &build("simple_recv", Build::Static),
        &["-a", &url, "-m", "0"],
    );
    broker.wait_consumers("cut", 1);
    let sender = Program::start(
        &build("simple_send", Build::Static),
        &["-a", &url, "-m", &TOTAL.to_string()],
    );
    let sent = sender.success(Duration::from_secs(180));
    assert_eq!(
        sent.last().map(String::as_str),
        Some("all messages confirmed"),
        "{sent:?}"
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
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    let (sender_reconnects, receiver_reconnects) = (reconnects(&sent), reconnects(&lines));
    println!(
        "fault proxy: {} connections, {} cuts; sender reconnected {sender_reconnects} times, \
         receiver {receiver_reconnects} times; {} messages received, {duplicates} duplicates",
        proxy.accepted(),
        proxy.cuts(),
        lines.iter().filter(|l| sequence(l).is_some()).count()
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

#[test]
fn clients_reconnect_to_a_broker_killed_and_restarted() {
    const TOTAL: u64 = 50_000;
    // Bounded, so that the sender is still sending when the broker dies
    // (unbounded, the broker takes all 50,000 at once).
    let broker = Broker::start_with(Build::Static, 0, &["-m", "10000"]);
    let port = broker.port;
    let url = broker.url("restart");
    let mut receiver = Program::start(
        &build("simple_recv", Build::Static),
        &["-a", &url, "-m", "0"],
    );
    broker.wait_consumers("restart", 1);
    let mut sender = Program::start(
        &build("simple_send", Build::Static),
        &["-a", &url, "-m", &TOTAL.to_string()],
    );
    // Mid-run: once the receiver has 2,000 messages, SIGKILL the broker.
    receiver.wait_output(LIMIT, "2000 messages", |l| l.len() >= 2000);
    broker.program.signal(libc::SIGKILL);
    let _ = broker.program.wait(LIMIT);
    assert!(
        sender.is_running(),
        "the sender finished before the broker was killed"
    );
    assert!(
        receiver.is_running(),
        "the receiver stopped when the broker was killed"
    );
    std::thread::sleep(Duration::from_millis(500));
    let broker = Broker::start_on(Build::Static, port);
    let sent = sender.success(LIMIT);
    assert_eq!(
        sent.last().map(String::as_str),
        Some("all messages confirmed"),
        "{sent:?}"
    );
    assert!(
        sent.iter()
            .any(|l| l.starts_with("Disconnected, will try to reconnect after")),
        "the sender did not back off: {:?}",
        tail(&sent, 10)
    );
    // Messages the dead broker held are lost with it (it keeps them in
    // memory); the last ones are sent after the restart and must arrive.
    let last = format!("{{'sequence': {TOTAL}}}");
    receiver.wait_output(LIMIT, &last, |l| l.contains(&last));
    let lines = receiver.lines();
    drop(receiver);
    assert!(
        reconnects(&lines) >= 2,
        "the receiver did not reconnect: {:?}",
        tail(&lines, 10)
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Disconnected, will try to reconnect after"))
    );
    broker.stop();
}

// ---- the tutorial script ----------------------------------------------------------------

#[test]
fn the_tutorial_script_runs_end_to_end() {
    // Builds the release library (quick when it is up to date) and every
    // example, starts the broker on a free port, runs the programs, stops it.
    let program = Program::start(&manifest_dir().join("scripts/tutorial"), &[]);
    let out = program.success(Duration::from_secs(900)).join("\n");
    let port = |after: &str| -> String {
        let rest = &out[out
            .find(after)
            .unwrap_or_else(|| panic!("no {after:?} in:\n{out}"))..];
        rest.lines().nth(1).unwrap_or_default().to_string()
    };
    assert!(port("== broker ==").starts_with("listening on "), "{out}");
    assert!(
        port("== helloworld_direct ==").starts_with("listening on "),
        "{out}"
    );
    let expected = [
        "== helloworld ==\nHello World!\n".to_string(),
        "\nHello World!\n\n== simple_send ==\nall messages confirmed\n".to_string(),
        format!("== simple_recv ==\n{}\n", sequences(100).join("\n")),
        format!("== client ==\n{}\n", REQUESTS.join("\n")),
        "== server ==\n\ntutorial done".to_string(),
    ];
    for e in expected {
        assert!(out.contains(&e), "missing {e:?} in:\n{out}");
    }
}

// ---- install and pkg-config -----------------------------------------------------------

#[test]
fn installed_muon_builds_the_examples_outside_the_repository_with_pkg_config() {
    let root = out_dir().join("install-test");
    let _ = std::fs::remove_dir_all(&root);
    let prefix = root.join("prefix");
    let status = Command::new(manifest_dir().join("scripts/install"))
        .arg(&prefix)
        .stdout(Stdio::null())
        .status()
        .expect("scripts/install runs");
    assert!(status.success(), "scripts/install failed");
    for f in [
        "lib/libmuon.a",
        "lib/libmuon.so",
        "include/muon.h",
        "lib/pkgconfig/muon.pc",
    ] {
        assert!(prefix.join(f).exists(), "{f} was not installed");
    }
    // A user's directory, away from the repository: the installed examples.
    let user = root.join("user");
    std::fs::create_dir_all(&user).expect("a directory");
    for entry in std::fs::read_dir(prefix.join("share/muon/examples")).expect("examples installed")
    {
        let entry = entry.expect("a directory entry");
        std::fs::copy(entry.path(), user.join(entry.file_name())).expect("copy");
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{cc} -std=c11 -Wall -Wextra -Werror -pedantic -o helloworld_direct helloworld_direct.c \
             $(pkg-config --cflags --libs muon)"
        ))
        .current_dir(&user)
        .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
        .output()
        .expect("sh runs");
    assert!(
        out.status.success(),
        "building with pkg-config failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = reserve_port();
    let url = format!("localhost:{}/examples", port.port);
    run_exact(&user.join("helloworld_direct"), &["-a", &url], &HELLO);
}

// ---- line counts beside Qpid Proton's Python tutorial ---------------------------------------

/// The tutorial's Python programs, counted as the C ones are (non-blank,
/// non-comment lines), from Qpid Proton's Python tutorial.
const PYTHON_LINES: [(&str, f64); 6] = [
    ("helloworld", 41.0),
    ("helloworld_direct", 37.0),
    ("simple_recv", 41.0),
    ("simple_send", 62.0),
    ("server", 24.0),
    ("client", 27.0),
];

/// The most a C example may be, in lines, against its Python original.
const MAX_RATIO: f64 = 2.5;

/// Non-blank lines of C source that are not only comment: `/* */` and `//`
/// comments are taken out (not inside string or character literals), then
/// the lines with anything left are counted.
fn code_lines(src: &str) -> usize {
    let mut out = String::with_capacity(src.len());
    let mut chars = src.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for d in chars.by_ref() {
                    if d == '\n' {
                        out.push('\n');
                    }
                    if last == '*' && d == '/' {
                        break;
                    }
                    last = d;
                }
            }
            '/' if chars.peek() == Some(&'/') => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' | '\'' => {
                out.push(c);
                while let Some(d) = chars.next() {
                    out.push(d);
                    if d == '\\' {
                        if let Some(e) = chars.next() {
                            out.push(e);
                        }
                    } else if d == c || d == '\n' {
                        break;
                    }
                }
            }
            _ => out.push(c),
        }
    }
    out.lines().filter(|l| !l.trim().is_empty()).count()
}

/// The headers of examples-c that `file` includes (`#include "x.h"`),
/// directly or through other headers.
fn local_includes(dir: &Path, file: &str, seen: &mut Vec<String>) {
    let src = std::fs::read_to_string(dir.join(file)).expect("an example's source");
    for line in src.lines() {
        let Some(rest) = line.trim().strip_prefix("#include \"") else {
            continue;
        };
        let header = rest.split('"').next().unwrap_or_default().to_string();
        if dir.join(&header).exists() && !seen.contains(&header) {
            seen.push(header.clone());
            local_includes(dir, &header, seen);
        }
    }
}

/// Each tutorial program's C lines, with each examples-c header it uses
/// counted once and split evenly across the programs (all of examples-c's,
/// the broker included) that use it, against its Python original.
#[test]
fn each_example_is_at_most_2_5_times_its_python_original() {
    let dir = manifest_dir().join("examples-c");
    let mut programs: Vec<String> = std::fs::read_dir(&dir)
        .expect("examples-c")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".c"))
        .collect();
    programs.sort();
    let mut headers_of = BTreeMap::new();
    let mut users: BTreeMap<String, usize> = BTreeMap::new();
    for p in &programs {
        let mut seen = Vec::new();
        local_includes(&dir, p, &mut seen);
        for h in &seen {
            *users.entry(h.clone()).or_default() += 1;
        }
        headers_of.insert(p.trim_end_matches(".c").to_string(), seen);
    }
    let lines = |f: &str| code_lines(&std::fs::read_to_string(dir.join(f)).expect("a source"));
    println!("shared headers (lines / programs using them):");
    for (h, n) in &users {
        println!("  {h:<14} {:>4} / {n}", lines(h));
    }
    println!(
        "{:<18} {:>6} {:>8} {:>7} {:>7} {:>6}",
        "program", "C", "shared", "total", "Python", "ratio"
    );
    let mut over = Vec::new();
    for (name, python) in PYTHON_LINES {
        let own = lines(&format!("{name}.c")) as f64;
        let shared: f64 = headers_of[name]
            .iter()
            .map(|h| lines(h) as f64 / users[h] as f64)
            .sum();
        let ratio = (own + shared) / python;
        println!(
            "{name:<18} {own:>6} {shared:>8.1} {:>7.1} {python:>7} {ratio:>6.2}",
            own + shared
        );
        if ratio > MAX_RATIO {
            over.push(format!("{name}: {ratio:.2}"));
        }
    }
    assert!(
        over.is_empty(),
        "over {MAX_RATIO}x the Python original: {over:?}"
    );
}

#[test]
fn code_lines_counts_code_not_comments() {
    let src = "/* a\n * comment */\nint x; // trailing\n\n  // whole line\nchar *s = \"amqp://h\"; /* x */\n\
               char c = '\"';\nchar *t = \"/* not a comment */\";\n";
    assert_eq!(code_lines(src), 4);
}
