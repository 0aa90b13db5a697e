//! AMQP transactions (local transactions, spec Part 4) through the C API,
//! over real sockets:
//!
//! - tests/c/txn_client.c against the example broker (examples-c/broker.c
//!   with broker_txn.h): sends committed arrive and sends rolled back never
//!   do; acknowledgements rolled back are redelivered (delivery-count 1)
//!   and committed ones are gone; and against a coordinator of its own (a
//!   listener answering declare and discharge): the transfer carries the
//!   transaction's id, refused discharges reach `on_transaction_failed`
//!   with `amqp:transaction:rollback`, `:unknown-id` and `:timeout`, a declare
//!   left unanswered is rejected (`amqp:not-implemented`), a peer
//!   that does not coordinate refuses the controller with
//!   `amqp:not-implemented`;
//! - Qpid Proton's Python tx_send.py and tx_recv.py against the example
//!   broker, with muon's examples-c tx_send and tx_recv on the other end of
//!   the queue both ways (Proton's own Python broker has no transactions,
//!   so muon's client meets Proton only through the queue).
//!
//! Needs /usr/bin/python3 with Qpid Proton's binding and its examples in
//! /usr/share/proton/examples/python (`.ci/run` installs them); a test
//! fails when they are missing.

mod common;

use std::path::Path;
use std::time::Duration;

use common::examples::{Broker, Build, build};
use common::program::Program;

const LIMIT: Duration = Duration::from_secs(60);

const PROTON_EXAMPLES: &str = "/usr/share/proton/examples/python";

fn broker() -> Broker {
    Broker::launch(Build::Static, 0, &[], &[], Duration::from_secs(20))
}

/// `{'sequence': 1}` ... `{'sequence': n}`.
fn sequences(n: u32) -> Vec<String> {
    (1..=n).map(|i| format!("{{'sequence': {i}}}")).collect()
}

/// One of Qpid Proton's Python examples, run to completion; its stdout.
fn proton(example: &str, args: &[&str]) -> Vec<String> {
    let script = Path::new(PROTON_EXAMPLES).join(example);
    assert!(
        script.exists(),
        "{} is missing: install Qpid Proton's Python examples (.ci/run does)",
        script.display()
    );
    let mut all = vec![script.to_str().expect("a UTF-8 path")];
    all.extend_from_slice(args);
    Program::start(Path::new("/usr/bin/python3"), &all)
        .named(example)
        .success(LIMIT)
}

#[test]
fn sends_and_acknowledgements_commit_and_roll_back_through_the_c_api() {
    let broker = broker();
    let port = broker.port.to_string();
    let out = Program::start(&build("tests/c/txn_client.c", Build::Static), &[&port])
        .named("txn_client")
        .success(LIMIT);
    assert_eq!(out, ["txn_client: ok"]);
    let log = broker.stop();
    // The broker saw each outcome (its -v log).
    for line in [
        "committed (2 posted, 0 accepted)",
        "rolled back (2 posted, 0 accepted)",
        "rolled back (0 posted, 2 accepted)",
        "committed (0 posted, 2 accepted)",
    ] {
        assert!(
            log.contains(line),
            "the broker's log has no {line:?}:\n{log}"
        );
    }
}

#[test]
fn proton_tx_send_to_muon_tx_recv_through_the_example_broker() {
    let broker = broker();
    let url = format!("localhost:{}/tx-proton-to-muon", broker.port);
    // (Proton's tx_send commits full batches only: 30 is 5 of 6.)
    let out = proton("tx_send.py", &["-a", &url, "-m", "30", "-b", "6"]);
    assert_eq!(out, ["all messages committed"]);
    let out = Program::start(
        &build("tx_recv", Build::Static),
        &["-a", &url, "-m", "30", "4"],
    )
    .success(LIMIT);
    assert_eq!(out, sequences(30));
    broker.stop();
}

#[test]
fn muon_tx_send_to_proton_tx_recv_through_the_example_broker() {
    let broker = broker();
    let url = format!("localhost:{}/tx-muon-to-proton", broker.port);
    let out = Program::start(
        &build("tx_send", Build::Static),
        &["-a", &url, "-m", "30", "7"],
    )
    .success(LIMIT);
    assert_eq!(out, ["all messages committed"]);
    let out = proton("tx_recv.py", &["-a", &url, "-m", "30", "-b", "5"]);
    assert_eq!(out, sequences(30));
    broker.stop();
}
