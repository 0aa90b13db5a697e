//! Hostile and broken peers, over real TCP sockets: every input gets an
//! answer within `ANSWER` (an AMQP `close` whose condition is decoded, a
//! `detach`, a disposition, the protocol header and the socket closed, or
//! the normal answer of an input the spec allows), and everything a peer
//! can make muon hold is bounded. The table of decisions is
//! docs/HOSTILE.md.
//!
//! First the example broker (examples-c/broker.c, the real C program on
//! muon's C API) is fed every byte sequence at once, one raw peer per case,
//! in parallel threads; afterwards it must still serve a good client, and
//! its resident memory must not have grown past a bound. Then muon's own
//! limits, in a listener run by this test (`reactor::Loop` with small
//! limits, so that each is reached in milliseconds), and a client facing a
//! hostile server (the engine's checks hold in both roles).
//!
//! The cases and the raw peer are in tests/hostile/cases.rs, shared with
//! tests/hostile_peers.rs, which sends the same inputs to Qpid Proton's C
//! broker and RabbitMQ.

#[path = "hostile/cases.rs"]
mod cases;
mod common;
mod common_engine;

use std::io::Write;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use cases::*;
use common::examples::{Broker, Build};
use common_engine::{Wire, WireLog, amqp_frame};
use muon::codec::frame::AMQP_HEADER;
use muon::codec::messaging::DeliveryState;
use muon::codec::transport::{
    Detach, Disposition, Open, Performative, Role as LinkRole, condition,
};
use muon::engine::{Config, EndpointState, Event};
use muon::reactor::{ConnectOptions, Loop, LoopEvent};

#[test]
fn the_example_broker_answers_every_hostile_input_and_stays_well() {
    let broker = Broker::launch(Build::Static, 0, &[], &[], LIMIT);
    let port = broker.port;
    let pid = broker.program.pid().expect("the broker runs");
    good_client(port, "warm-up");
    let before = rss_kib(pid);
    let cases = broker_cases();
    let failures: Vec<String> = std::thread::scope(|scope| {
        let running: Vec<_> = cases
            .iter()
            .map(|c| scope.spawn(move || run_case(port, c)))
            .collect();
        running
            .into_iter()
            .filter_map(|h| h.join().expect("a case thread"))
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Still serving, and no memory kept for what was refused.
    good_client(port, "after");
    let after = rss_kib(pid);
    assert!(
        after < before + 64 * 1024,
        "the broker's RSS grew from {before} KiB to {after} KiB"
    );
    broker.stop();
}

// ---- muon's limits, in a listener of this test ------------------------------------

/// What the test's listener saw of its (one) connection.
#[derive(Debug, Default)]
struct Seen {
    /// Why its transport ended.
    disconnect: Option<muon::codec::transport::AmqpError>,
    /// The conditions of `Event::TransportError`s.
    errors: Vec<String>,
    /// The largest output the engine held (sampled every turn).
    max_output: usize,
    /// Whole messages received.
    deliveries: usize,
}

/// A listener with `config`, on a thread of its own, acting as an
/// application would: it answers opens, begins, attaches, detaches and
/// closes, gives each receiving link `credit`, sends `send` messages on
/// each sending link as credit allows, settles what it sent once the peer
/// has, and never settles what it receives. It ends with its first
/// connection (or after `LIMIT`).
fn serve(config: Config, credit: u32, send: usize) -> (u16, std::thread::JoinHandle<Seen>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        let mut lp = Loop::new().expect("a loop");
        let l = lp
            .listen("127.0.0.1:0", config, &Default::default())
            .expect("listen");
        tx.send(lp.listener_port(l).expect("a port"))
            .expect("the test waits");
        let mut seen = Seen::default();
        let mut conn = None;
        let mut sent = 0;
        let start = Instant::now();
        while start.elapsed() < LIMIT {
            lp.poll(Some(Duration::from_millis(20))).expect("poll");
            while let Some(ev) = lp.next_event() {
                match ev {
                    LoopEvent::Accepted(_, c) => conn = Some(c),
                    LoopEvent::Disconnected(_, why) => seen.disconnect = Some(why),
                    LoopEvent::ConnectionFinal(c) => {
                        lp.release_connection(c);
                        return seen;
                    }
                    LoopEvent::Engine(c, e) => {
                        let Some(x) = lp.engine(c) else { continue };
                        match e {
                            Event::TransportError(err) => {
                                seen.errors.push(err.condition.as_str().to_owned());
                            }
                            Event::Delivery(_) => seen.deliveries += 1,
                            Event::ConnectionRemoteOpen => x.open(),
                            Event::ConnectionRemoteClose => x.close(None),
                            Event::SessionRemoteOpen(s)
                                if x.session_local_state(s) == EndpointState::Uninit =>
                            {
                                let _ = x.session_open(s);
                            }
                            Event::SessionRemoteClose(s) => {
                                let _ = x.session_close(s, None);
                            }
                            Event::LinkRemoteOpen(k)
                                if x.link_local_state(k) == EndpointState::Uninit =>
                            {
                                let _ = x.link_open(k);
                                if x.link_role(k) == Some(LinkRole::Receiver) {
                                    let _ = x.link_flow(k, credit, false);
                                }
                            }
                            Event::LinkRemoteClose(k) => {
                                let _ = x.link_close(k, true, None);
                            }
                            Event::DeliveryUpdated(d) if x.delivery_remote_settled(d) => {
                                let _ = x.settle(d);
                            }
                            Event::LinkFlow(k) if x.link_role(k) == Some(LinkRole::Sender) => {
                                while sent < send && x.link_credit(k) > 0 {
                                    if x.send(k, None, HELLO, false).is_err() {
                                        break;
                                    }
                                    sent += 1;
                                }
                            }
                            _ => {}
                        }
                    }
                    _ => {}
                }
            }
            if let Some(x) = conn.and_then(|c| lp.engine_ref(c)) {
                seen.max_output = seen.max_output.max(x.output_len());
            }
        }
        seen
    });
    (rx.recv().expect("the listener's port"), t)
}

/// A config with short time-outs, for tests that wait for them.
fn quick() -> Config {
    Config {
        container_id: "limits".into(),
        handshake_timeout: Some(Duration::from_millis(300)),
        close_timeout: Some(Duration::from_millis(300)),
        ..Config::default()
    }
}

/// Connects a raw peer to `port` and opens the connection.
fn opened_peer(port: u16) -> Peer {
    let mut p = Peer::connect(port);
    handshake(&mut p);
    p
}

/// Closes the peer's connection and returns what the listener saw.
fn finish(mut p: Peer, server: std::thread::JoinHandle<Seen>) -> Seen {
    p.send(&close());
    p.wait_eof(LIMIT);
    server.join().expect("the listener's thread")
}

#[test]
fn link_state_is_bounded_per_connection() {
    let (port, server) = serve(
        Config {
            max_link_state: 8 * 1024,
            ..quick()
        },
        0,
        0,
    );
    let mut p = opened_peer(port);
    let mut b = amqp_frame(0, &begin(), &[]);
    // Small links fit; a 6 KB name on top of them does not.
    b.extend(amqp_frame(0, &attach("a", 0, LinkRole::Sender, "q"), &[]));
    b.extend(amqp_frame(0, &attach("b", 1, LinkRole::Sender, "q"), &[]));
    p.send(&b);
    p.wait_for("two attaches", |x| match x {
        Performative::Attach(a) if a.name == "b" => Some(()),
        _ => None,
    });
    let name = "n".repeat(6000);
    p.send(&amqp_frame(
        0,
        &attach(&name, 2, LinkRole::Sender, "q"),
        &[],
    ));
    p.read_until(ANSWER, |u| close_condition(u).is_some());
    assert_eq!(
        close_condition(&p.got.units).as_deref(),
        Some(condition::RESOURCE_LIMIT_EXCEEDED),
        "{}",
        p.summary()
    );
    let seen = finish(p, server);
    assert_eq!(seen.errors, vec![condition::RESOURCE_LIMIT_EXCEEDED]);
}

#[test]
fn sessions_and_links_per_session_are_bounded_by_their_options() {
    let one_too_many =
        |p: &mut Peer, frame: &dyn Fn(u16) -> Vec<u8>, answer: fn(&Performative) -> bool| {
            p.send(&(0..2).flat_map(frame).collect::<Vec<u8>>());
            p.read_until(LIMIT, |u| {
                u.iter()
                    .filter_map(Wire::perf)
                    .filter(|x| answer(x))
                    .count()
                    == 2
            });
            p.send(&frame(2));
            p.read_until(ANSWER, |u| close_condition(u).is_some());
        };
    // Sessions: begins on channels 0, 1, then 2.
    let (port, server) = serve(
        Config {
            max_sessions: 2,
            ..quick()
        },
        0,
        0,
    );
    let mut p = opened_peer(port);
    one_too_many(&mut p, &|ch| amqp_frame(ch, &begin(), &[]), |x| {
        matches!(x, Performative::Begin(_))
    });
    assert_eq!(
        close_condition(&p.got.units).as_deref(),
        Some(condition::RESOURCE_LIMIT_EXCEEDED),
        "sessions: {}",
        p.summary()
    );
    finish(p, server);
    // Links: attaches on handles 0, 1, then 2, on one session.
    let (port, server) = serve(
        Config {
            max_links_per_session: 2,
            ..quick()
        },
        0,
        0,
    );
    let mut p = opened_peer(port);
    p.send(&amqp_frame(0, &begin(), &[]));
    let link = |h: u16| {
        let name = format!("l{h}");
        amqp_frame(0, &attach(&name, u32::from(h), LinkRole::Sender, "q"), &[])
    };
    one_too_many(&mut p, &link, is_attach);
    assert_eq!(
        close_condition(&p.got.units).as_deref(),
        Some(condition::RESOURCE_LIMIT_EXCEEDED),
        "links: {}",
        p.summary()
    );
    finish(p, server);
}

#[test]
fn deliveries_held_per_link_are_bounded() {
    // The peer sends; the listener holds what it received unsettled: one
    // more than the limit detaches the link.
    let (port, server) = serve(
        Config {
            max_unsettled_per_link: 3,
            ..quick()
        },
        100,
        0,
    );
    let mut p = opened_peer(port);
    producing_on(&mut p, "q");
    let mut b = Vec::new();
    for id in 0..4 {
        b.extend(amqp_frame(0, &transfer(0, Some(id), false), HELLO));
    }
    p.send(&b);
    p.read_until(ANSWER, |u| detach_condition(u).is_some());
    assert_eq!(
        detach_condition(&p.got.units).as_deref(),
        Some(condition::RESOURCE_LIMIT_EXCEEDED),
        "{}",
        p.summary()
    );
    let seen = finish(p, server);
    assert_eq!(seen.deliveries, 3, "{seen:?}");
    // The peer receives, with credit for 10, and settles nothing: the
    // listener's sender stops at 3, as if its credit were used up, and
    // goes on as the peer settles.
    let (port, server) = serve(
        Config {
            max_unsettled_per_link: 3,
            ..quick()
        },
        0,
        10,
    );
    let mut p = opened_peer(port);
    let mut b = amqp_frame(0, &begin(), &[]);
    b.extend(amqp_frame(0, &attach("c", 0, LinkRole::Receiver, "q"), &[]));
    b.extend(amqp_frame(0, &flow(Some(0), 10), &[]));
    p.send(&b);
    let transfers = |p: &Peer| {
        p.got
            .perfs()
            .filter(|x| matches!(x, Performative::Transfer(_)))
            .count()
    };
    p.read_until(Duration::from_millis(300), |_| false);
    assert_eq!(transfers(&p), 3, "{}", p.summary());
    let settle = |first, last| Disposition {
        role: LinkRole::Receiver,
        first,
        last: Some(last),
        settled: true,
        state: Some(DeliveryState::Accepted),
        batchable: false,
    };
    p.send(&amqp_frame(0, &settle(0, 1), &[]));
    p.read_until(ANSWER, |u| {
        u.iter()
            .filter(|w| matches!(w.perf(), Some(Performative::Transfer(_))))
            .count()
            == 5
    });
    assert_eq!(transfers(&p), 5, "{}", p.summary());
    assert!(detach_condition(&p.got.units).is_none(), "{}", p.summary());
    finish(p, server);
}

/// A begin, and a sender link "p" on handle 0 to `address`, with credit.
fn producing_on(p: &mut Peer, address: &str) {
    let mut b = amqp_frame(0, &begin(), &[]);
    b.extend(amqp_frame(
        0,
        &attach("p", 0, LinkRole::Sender, address),
        &[],
    ));
    p.send(&b);
    p.wait_for("credit", |x| match x {
        Performative::Flow(f) if f.link_credit.is_some_and(|c| c > 0) => Some(()),
        _ => None,
    });
}

#[test]
fn incomplete_messages_are_bounded_per_connection() {
    let (port, server) = serve(
        Config {
            max_incomplete_bytes: 10_000,
            ..quick()
        },
        10,
        0,
    );
    let mut p = opened_peer(port);
    let mut b = amqp_frame(0, &begin(), &[]);
    b.extend(amqp_frame(0, &attach("p0", 0, LinkRole::Sender, "q"), &[]));
    b.extend(amqp_frame(0, &attach("p1", 1, LinkRole::Sender, "q"), &[]));
    p.send(&b);
    p.read_until(LIMIT, |u| {
        u.iter()
            .filter_map(Wire::perf)
            .filter(|x| matches!(x, Performative::Flow(f) if f.link_credit.is_some_and(|c| c > 0)))
            .count()
            == 2
    });
    // Half of a message on each link: the second half-message goes past.
    let half = [0x42u8; 6000];
    let mut b = amqp_frame(0, &transfer(0, Some(0), true), &half);
    b.extend(amqp_frame(0, &transfer(1, Some(1), true), &half));
    p.send(&b);
    p.read_until(ANSWER, |u| detach_condition(u).is_some());
    let detached: Vec<(u32, String)> = p
        .got
        .perfs()
        .filter_map(|x| match x {
            Performative::Detach(d) => Some((
                d.handle,
                d.error
                    .as_ref()
                    .map(|e| e.condition.as_str().to_owned())
                    .unwrap_or_default(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(detached.len(), 1, "{}", p.summary());
    assert_eq!(detached[0].1, condition::RESOURCE_LIMIT_EXCEEDED);
    // The other link goes on: its message completes, and the bytes it
    // held are free again (a second message of the same size fits).
    let other = if detached[0].0 == 0 { 1 } else { 0 };
    let id = other;
    let mut b = amqp_frame(0, &transfer(other, None, false), &half);
    b.extend(amqp_frame(0, &transfer(other, Some(id + 2), true), &half));
    b.extend(amqp_frame(0, &transfer(other, None, false), &half));
    p.send(&b);
    let seen = finish(p, server);
    assert!(seen.errors.is_empty(), "{seen:?}");
    assert_eq!(seen.deliveries, 2, "{seen:?}");
}

#[test]
fn nesting_deeper_than_the_option_is_a_decode_error() {
    // The properties map is one level: 3 lists inside it make 4, 4 make 5.
    for (levels, refused) in [(3, false), (4, true)] {
        let (port, server) = serve(
            Config {
                max_decode_depth: 4,
                ..quick()
            },
            0,
            0,
        );
        let mut p = opened_peer(port);
        // An attach whose properties hold the nested value.
        let mut a = attach("deep", 0, LinkRole::Sender, "q");
        a.properties = Some(muon::codec::Map(vec![(
            muon::codec::Value::Symbol("k".into()),
            muon::codec::Decoder::decode_exact(&nested_lists(levels))
                .expect("a value")
                .into_owned(),
        )]));
        let mut b = amqp_frame(0, &begin(), &[]);
        b.extend(amqp_frame(0, &a, &[]));
        p.send(&b);
        p.read_until(ANSWER, |u| {
            close_condition(u).is_some() || has(u, is_attach)
        });
        if refused {
            assert_eq!(
                close_condition(&p.got.units).as_deref(),
                Some(condition::DECODE_ERROR),
                "{levels}: {}",
                p.summary()
            );
        } else {
            assert!(has(&p.got.units, is_attach), "{levels}: {}", p.summary());
        }
        finish(p, server);
    }
}

#[test]
fn a_peer_that_stops_reading_is_dropped_with_bounded_output() {
    let max_output = 64 * 1024;
    let (port, server) = serve(
        Config {
            max_output,
            stalled_output_timeout: Some(Duration::from_millis(300)),
            max_links_per_session: 1 << 20,
            max_link_state: 1 << 30,
            ..quick()
        },
        0,
        0,
    );
    let mut p = opened_peer(port);
    p.send(&amqp_frame(0, &begin(), &[]));
    // Attach and detach, again and again (a new handle each time: one is
    // busy until the detach went both ways), and never read the answers.
    let pair = |h: u32| {
        let mut b = amqp_frame(0, &attach("x", h, LinkRole::Sender, "q"), &[]);
        let d = Detach {
            handle: h,
            closed: true,
            error: None,
        };
        b.extend(amqp_frame(0, &d, &[]));
        b
    };
    p.s.set_write_timeout(Some(Duration::from_millis(200))).ok();
    let start = Instant::now();
    let mut written = 0usize;
    let mut h = 0u32;
    while start.elapsed() < Duration::from_secs(5) {
        let burst: Vec<u8> = (0..1000).flat_map(|i| pair((h + i) % 65536)).collect();
        h = (h + 1000) % 65536;
        match p.s.write_all(&burst) {
            Ok(()) => written += burst.len(),
            Err(_) => break, // the listener stopped reading (or closed)
        }
    }
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "the peer could write on"
    );
    let seen = server.join().expect("the listener's thread");
    let why = seen.disconnect.expect("the transport ended");
    assert_eq!(
        why.condition.as_str(),
        condition::RESOURCE_LIMIT_EXCEEDED,
        "{why:?}"
    );
    assert!(
        why.description
            .as_deref()
            .is_some_and(|d| d.contains("read none")),
        "{why:?}"
    );
    // What it queued stayed near max-output: reading stopped there (at
    // most one turn of reads, 1 MiB, is answered past it).
    assert!(
        seen.max_output < max_output + 2 * 1024 * 1024,
        "{} bytes of output queued (peer wrote {written})",
        seen.max_output
    );
    assert!(seen.max_output > max_output, "the output never filled");
    assert!(p.wait_eof(LIMIT), "the socket was closed");
}

#[test]
fn a_peer_whose_open_never_comes_is_told_why() {
    // Header exchanged, the listener's open not even sent: after the
    // handshake time-out, open and close(resource-limit-exceeded).
    let (port, server) = serve(quick(), 0, 0);
    let mut p = Peer::connect(port);
    let start = Instant::now();
    p.send(&AMQP_HEADER);
    p.read_until(LIMIT, |u| close_condition(u).is_some());
    let took = start.elapsed();
    assert_eq!(
        close_condition(&p.got.units).as_deref(),
        Some(condition::RESOURCE_LIMIT_EXCEEDED),
        "{}",
        p.summary()
    );
    assert!(
        took >= Duration::from_millis(250) && took < ANSWER,
        "closed after {took:?}"
    );
    assert!(p.wait_eof(LIMIT));
    server.join().expect("the listener's thread");
}

/// A raw server: accepts one connection, answers the protocol header with
/// `AMQP 0 1 0 0`, then writes `then` (after reading the client's open);
/// returns what the client sent and when the socket closed.
fn raw_server(then: Vec<u8>) -> (u16, std::thread::JoinHandle<(Vec<Wire>, Duration, bool)>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("an address").port();
    let t = std::thread::spawn(move || {
        let (s, _) = l.accept().expect("accept");
        let mut p = Peer {
            s,
            got: WireLog::new(),
            eof: false,
            write_failed: false,
            patience: LIMIT,
        };
        p.read_until(LIMIT, |u| has(u, is_open));
        p.send(&AMQP_HEADER);
        p.send(&then);
        let start = Instant::now();
        let eof = p.wait_eof(LIMIT);
        (p.got.units, start.elapsed(), eof)
    });
    (port, t)
}

/// Runs a client loop connected to `port` with `config` until its
/// connection ends; `on_open` runs when the peer's open arrives. Returns
/// why the transport ended (its disconnect, else its transport error).
fn client(
    port: u16,
    config: Config,
    on_open: fn(&mut Loop, muon::reactor::ConnId),
) -> Option<muon::codec::transport::AmqpError> {
    let mut lp = Loop::new().expect("a loop");
    let options = ConnectOptions {
        config: Config {
            sasl: muon::engine::SaslConfig {
                enabled: false,
                ..Default::default()
            },
            ..config
        },
        ..Default::default()
    };
    lp.connect(&format!("amqp://127.0.0.1:{port}"), options)
        .expect("connect");
    let start = Instant::now();
    let mut why = None;
    while start.elapsed() < LIMIT {
        while let Some(ev) = lp.next_event() {
            match ev {
                LoopEvent::Engine(c, Event::ConnectionRemoteOpen) => on_open(&mut lp, c),
                LoopEvent::Engine(_, Event::TransportError(w)) => why = why.or(Some(w)),
                LoopEvent::Disconnected(_, w) => why = Some(w),
                LoopEvent::ConnectionFinal(c) => {
                    lp.release_connection(c);
                    return why;
                }
                _ => {}
            }
        }
        lp.poll(Some(Duration::from_millis(20))).expect("poll");
    }
    panic!("the client did not end");
}

#[test]
fn a_client_holds_a_hostile_server_to_the_same_rules() {
    for (what, o, cond) in [
        (
            "max-frame-size below 512",
            Open {
                max_frame_size: 100,
                ..open()
            },
            condition::FRAME_SIZE_TOO_SMALL,
        ),
        (
            "a 1 ms idle time-out",
            Open {
                idle_time_out: Some(1),
                ..open()
            },
            condition::INVALID_FIELD,
        ),
    ] {
        let (port, server) = raw_server(amqp_frame(0, &o, &[]));
        let why = client(port, quick(), |_, _| {});
        let (got, _, eof) = server.join().expect("the raw server");
        assert_eq!(close_condition(&got).as_deref(), Some(cond), "{what}");
        assert!(eof, "{what}: the client closed the socket");
        assert_eq!(
            why.map(|w| w.condition.as_str().to_owned()).as_deref(),
            Some(cond)
        );
    }
}

#[test]
fn a_client_whose_server_never_opens_or_never_closes_gives_up() {
    // Our open sent, the server's never comes: the handshake time-out
    // closes, telling the server why.
    let (port, server) = raw_server(Vec::new());
    let why = client(port, quick(), |_, _| {});
    let (got, took, eof) = server.join().expect("the raw server");
    assert_eq!(
        close_condition(&got).as_deref(),
        Some(condition::RESOURCE_LIMIT_EXCEEDED)
    );
    assert!(eof && took < ANSWER, "closed after {took:?}");
    let why = why.expect("a reason");
    assert!(
        why.description
            .as_deref()
            .is_some_and(|d| d.contains("handshake time-out")),
        "{why:?}"
    );
    // The server opens, the client closes, the server never answers: the
    // close time-out ends the transport.
    let (port, server) = raw_server(amqp_frame(0, &open(), &[]));
    let why = client(port, quick(), |lp, c| {
        lp.close(c, None).expect("close");
    });
    let (got, took, eof) = server.join().expect("the raw server");
    assert_eq!(close_condition(&got).as_deref(), Some(""));
    assert!(eof && took < ANSWER, "closed after {took:?}");
    let why = why.expect("a reason");
    assert!(
        why.description
            .as_deref()
            .is_some_and(|d| d.contains("close time-out")),
        "{why:?}"
    );
}
