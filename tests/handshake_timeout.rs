//! The handshake time-out: a peer that connects and says nothing, or
//! stalls mid-header, mid-SASL or mid-TLS, is dropped once the time-out
//! from the connection's start to the peer's AMQP open has passed. First
//! the engine alone with a hand-moved clock, then real sockets through the
//! reactor, on both sides (listener and connector, plain and TLS).
//!
//! Time limits on the socket tests are upper bounds that only catch hangs;
//! where the time-out is the point, only a lower bound is asserted.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use muon::codec::frame::ProtocolHeader;
use muon::engine::{Config, Connection, Event};
use muon::reactor::{ConnectOptions, Loop, LoopEvent, TlsClientSettings, TlsServerSettings};

const LIMIT: Duration = Duration::from_secs(10);

fn config(timeout_ms: u64) -> Config {
    Config {
        handshake_timeout: Some(Duration::from_millis(timeout_ms)),
        ..Config::default()
    }
}

fn transport_error(e: &mut Connection) -> Option<String> {
    while let Some(ev) = e.next_event() {
        if let Event::TransportError(err) = ev {
            return Some(format!(
                "{}: {}",
                err.condition.as_str(),
                err.description.unwrap_or_default()
            ));
        }
    }
    None
}

#[test]
fn a_silent_peer_fails_the_engine_at_the_deadline_and_not_before() {
    let t0 = Instant::now();
    let mut server = Connection::server(config(500), t0);
    let deadline = server.tick(t0).expect("the handshake is timed");
    assert_eq!(deadline, t0 + Duration::from_millis(500));
    // Half a header changes nothing: the deadline holds.
    server.receive(
        &ProtocolHeader::Sasl.as_bytes()[..4],
        t0 + Duration::from_millis(100),
    );
    assert_eq!(server.tick(t0 + Duration::from_millis(499)), Some(deadline));
    assert!(!server.is_done());
    assert_eq!(server.tick(t0 + Duration::from_millis(500)), None);
    assert!(server.is_done());
    let why = transport_error(&mut server).expect("a transport error");
    assert!(
        why.starts_with("amqp:resource-limit-exceeded: handshake time-out"),
        "{why}"
    );
}

#[test]
fn the_deadline_ends_with_the_peers_open_and_none_means_no_limit() {
    let t0 = Instant::now();
    let mut client = Connection::client(config(500), t0);
    let mut server = Connection::server(config(500), t0);
    client.open();
    // Pump until both have the other's open.
    for _ in 0..20 {
        let out = client.output().to_vec();
        client.consume_output(out.len());
        server.receive(&out, t0);
        while let Some(ev) = server.next_event() {
            if ev == Event::ConnectionRemoteOpen {
                server.open();
            }
        }
        let back = server.output().to_vec();
        server.consume_output(back.len());
        client.receive(&back, t0);
    }
    assert!(client.remote_open().is_some() && server.remote_open().is_some());
    let late = t0 + Duration::from_secs(3600);
    assert_eq!(client.tick(late), None, "nothing timed after the open");
    assert_eq!(server.tick(late), None);
    assert!(!client.is_done() && !server.is_done());

    let no_limit = Config {
        handshake_timeout: None,
        ..Config::default()
    };
    let mut quiet = Connection::server(no_limit, t0);
    assert_eq!(quiet.tick(late), None);
    assert!(!quiet.is_done());
}

/// A muon listener with a 300 ms handshake time-out.
fn listener(lp: &mut Loop) -> u16 {
    let l = lp
        .listen("127.0.0.1:0", config(300), &Default::default())
        .expect("listen");
    lp.listener_port(l).expect("a port")
}

/// Runs the loop on this thread until `done` says so (or panics after
/// `LIMIT`).
fn run_until(lp: &mut Loop, mut done: impl FnMut(&mut Loop, LoopEvent) -> bool) {
    let start = Instant::now();
    loop {
        while let Some(ev) = lp.next_event() {
            if let LoopEvent::ConnectionFinal(id) = ev {
                lp.release_connection(id);
                if done(lp, LoopEvent::ConnectionFinal(id)) {
                    return;
                }
                continue;
            }
            if done(lp, ev) {
                return;
            }
        }
        assert!(start.elapsed() < LIMIT, "the loop did not finish in time");
        lp.poll(Some(Duration::from_millis(50))).expect("poll");
    }
}

/// A raw client that connects and sends `bytes`, then waits for the
/// listener to close; returns how long that took and what it was sent.
fn stalled_client(port: u16, bytes: &'static [u8]) -> std::thread::JoinHandle<(Duration, Vec<u8>)> {
    std::thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let start = Instant::now();
        s.write_all(bytes).expect("write");
        s.set_read_timeout(Some(LIMIT)).expect("timeout");
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        (start.elapsed(), got)
    })
}

#[test]
fn a_listener_drops_peers_that_stall_before_their_open() {
    for (what, bytes) in [
        ("nothing", &b""[..]),
        ("half a header", &b"AMQP"[..]),
        // The SASL header, then no sasl-init: the listener's mechanisms
        // go out, and the peer stalls mid-SASL.
        ("mid-SASL", &b"AMQP\x03\x01\x00\x00"[..]),
        // A TLS listener would see this; a plain one refuses it at once,
        // so it is not here: see the TLS client test below.
    ] {
        let mut lp = Loop::new().expect("a loop");
        let port = listener(&mut lp);
        let peer = stalled_client(port, bytes);
        let mut accepted = 0;
        run_until(&mut lp, |_, ev| {
            if matches!(ev, LoopEvent::Accepted(..)) {
                accepted += 1;
            }
            matches!(ev, LoopEvent::ConnectionFinal(_))
        });
        let (took, got) = peer.join().expect("the raw client");
        assert_eq!(accepted, 1, "{what}");
        assert!(
            took >= Duration::from_millis(250) && took < Duration::from_secs(5),
            "{what}: closed after {took:?}"
        );
        if what == "mid-SASL" {
            assert!(got.starts_with(b"AMQP\x03\x01\x00\x00"), "{what}: {got:?}");
        }
    }
}

/// A server that accepts and then never says a word.
fn mute_server() -> (u16, std::thread::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let t = std::thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        s.set_read_timeout(Some(LIMIT)).ok();
        let mut buf = [0u8; 1024];
        // Read (and ignore) until the client gives up.
        while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
    });
    (port, t)
}

#[test]
fn a_client_gives_up_on_a_server_that_never_answers_plain_and_tls() {
    for scheme in ["amqp", "amqps"] {
        let (port, server) = mute_server();
        let mut lp = Loop::new().expect("a loop");
        let options = ConnectOptions {
            config: config(300),
            // The server never answers, so no certificate is ever looked at.
            tls: TlsClientSettings {
                insecure_skip_verify: true,
                ..Default::default()
            },
            ..Default::default()
        };
        let start = Instant::now();
        lp.connect(&format!("{scheme}://127.0.0.1:{port}"), options)
            .expect("connect");
        let mut reason = None;
        run_until(&mut lp, |_, ev| {
            if let LoopEvent::Disconnected(_, why) = &ev {
                reason = Some(why.clone());
            }
            matches!(ev, LoopEvent::ConnectionFinal(_))
        });
        let took = start.elapsed();
        let why = reason.expect("a disconnect with its reason");
        assert_eq!(
            why.condition.as_str(),
            "amqp:resource-limit-exceeded",
            "{scheme}"
        );
        assert!(
            why.description
                .as_deref()
                .is_some_and(|d| d.starts_with("handshake time-out")),
            "{scheme}: {why:?}"
        );
        assert!(
            took >= Duration::from_millis(250) && took < Duration::from_secs(5),
            "{scheme}: gave up after {took:?}"
        );
        drop(lp);
        server.join().expect("the mute server");
    }
}

#[test]
fn a_tls_listener_drops_peers_that_stall_mid_handshake() {
    let pki = common::pki::Pki::builder(
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("handshake-timeout-pki"),
    )
    .ca("ca", "/CN=muon test CA")
    .server("server", "ca")
    .build()
    .expect("the test PKI");
    let read = |name: &str| std::fs::read(pki.path(name)).expect("a PEM file");
    let tls = TlsServerSettings {
        cert: Some((read("server.pem"), read("server.key"))),
        ..Default::default()
    };
    // Nothing at all; the first bytes of a ClientHello record and no more.
    for (what, bytes) in [
        ("nothing", &b""[..]),
        ("half a ClientHello", &b"\x16\x03\x01\x00\xc8\x01"[..]),
    ] {
        let mut lp = Loop::new().expect("a loop");
        let l = lp.listen("127.0.0.1:0", config(300), &tls).expect("listen");
        let port = lp.listener_port(l).expect("a port");
        let peer = stalled_client(port, bytes);
        run_until(&mut lp, |_, ev| matches!(ev, LoopEvent::ConnectionFinal(_)));
        let (took, _) = peer.join().expect("the raw client");
        assert!(
            took >= Duration::from_millis(250) && took < Duration::from_secs(5),
            "{what}: closed after {took:?}"
        );
    }
}
