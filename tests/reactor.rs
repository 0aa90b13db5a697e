//! The reactor over real loopback sockets: connect and listen, timers,
//! running until the work ends, wake-ups from other threads, idle timeouts,
//! reconnect with backoff and failover, the frame trace.
//!
//! Time limits here are generous upper bounds that only catch hangs; where
//! timing is the point (backoff, idle timeout), only lower bounds are
//! asserted, which a slow machine cannot break.

use std::io::{Read, Write};
use std::net::TcpListener as StdListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use muon::codec::Value;
use muon::codec::message::{Body, Message};
use muon::codec::messaging::{DeliveryState, Source, Target};
use muon::codec::transport::{Role, condition};
use muon::engine::{Config, EndpointState, Event, LinkId, LinkOptions};
use muon::reactor::{ConnectOptions, Loop, LoopEvent, ReconnectPolicy};

const LIMIT: Duration = Duration::from_secs(20);

fn receiver_opts(address: &str) -> LinkOptions {
    LinkOptions {
        source: Some(Source {
            address: Some(address.into()),
            ..Default::default()
        }),
        target: Some(Target::default()),
        ..Default::default()
    }
}

fn sender_opts(address: &str) -> LinkOptions {
    LinkOptions {
        target: Some(Target {
            address: Some(address.into()),
            ..Default::default()
        }),
        source: Some(Source::default()),
        ..Default::default()
    }
}

fn text(s: &str) -> Message {
    Message {
        body: Body::Value(Value::String(s.to_owned().into())),
        ..Default::default()
    }
}

/// What a server (or a well-behaved client) does without being asked:
/// answer opens, begins, attaches and closes, grant credit to incoming
/// senders, release what is final. Returns true if it handled the event.
fn handshake(lp: &mut Loop, ev: &LoopEvent) -> bool {
    match ev {
        LoopEvent::Engine(id, Event::ConnectionRemoteOpen) => {
            let Some(e) = lp.engine(*id) else {
                return true;
            };
            if e.local_state() == EndpointState::Uninit {
                e.open();
            }
        }
        LoopEvent::Engine(id, Event::SessionRemoteOpen(s)) => {
            let Some(e) = lp.engine(*id) else {
                return true;
            };
            if e.session_local_state(*s) == EndpointState::Uninit {
                e.session_open(*s).unwrap();
            }
        }
        LoopEvent::Engine(id, Event::LinkRemoteOpen(l)) => {
            let Some(e) = lp.engine(*id) else {
                return true;
            };
            if e.link_local_state(*l) == EndpointState::Uninit {
                e.link_open(*l).unwrap();
                if e.link_role(*l) == Some(Role::Receiver) {
                    e.link_flow(*l, 10, false).unwrap();
                }
            }
        }
        LoopEvent::Engine(id, Event::LinkRemoteClose(l)) => {
            let Some(e) = lp.engine(*id) else {
                return true;
            };
            if e.link_local_state(*l) != EndpointState::Closed {
                e.link_close(*l, true, None).unwrap();
            }
        }
        LoopEvent::Engine(id, Event::ConnectionRemoteClose) => {
            let Some(e) = lp.engine(*id) else {
                return true;
            };
            if e.local_state() != EndpointState::Closed {
                e.close(None);
            }
        }
        LoopEvent::ConnectionFinal(id) => lp.release_connection(*id),
        LoopEvent::ListenerFinal(id) => lp.release_listener(*id),
        _ => return false,
    }
    true
}

/// Polls `lp` and hands every event to `f` until `f` returns true or the
/// loop has no work left. Panics after [`LIMIT`].
fn drive(lp: &mut Loop, mut f: impl FnMut(&mut Loop, LoopEvent) -> bool) {
    let start = Instant::now();
    loop {
        while let Some(ev) = lp.next_event() {
            if f(lp, ev) {
                return;
            }
        }
        if !lp.has_work() {
            return;
        }
        assert!(start.elapsed() < LIMIT, "the loop did not finish in time");
        lp.poll(Some(Duration::from_millis(200))).unwrap();
    }
}

#[test]
fn connect_listen_send_and_receive_over_loopback() {
    let mut lp = Loop::new().unwrap();
    let l = lp
        .listen("127.0.0.1:0", Config::default(), &Default::default())
        .unwrap();
    let port = lp.listener_port(l).unwrap();
    let c = lp
        .connect(&format!("127.0.0.1:{port}"), ConnectOptions::default())
        .unwrap();
    let snd = lp.open_link(c, Role::Sender, sender_opts("q")).unwrap();
    let (mut sent, mut got, mut accepted, mut finals) = (false, None, false, 0);
    drive(&mut lp, |lp, ev| {
        match &ev {
            LoopEvent::Engine(id, Event::LinkFlow(k)) if *id == c && *k == snd && !sent => {
                lp.engine(c)
                    .unwrap()
                    .send(snd, None, &text("Hello World!"), false)
                    .unwrap();
                sent = true;
            }
            LoopEvent::Engine(id, Event::Delivery(d)) => {
                let e = lp.engine(*id).unwrap();
                got = Some(Message::decode(e.delivery_payload(*d).unwrap()).unwrap());
                e.disposition(*d, Some(DeliveryState::Accepted), true)
                    .unwrap();
            }
            LoopEvent::Engine(id, Event::DeliveryUpdated(d)) if *id == c => {
                let e = lp.engine(c).unwrap();
                accepted = e.delivery_remote_state(*d) == Some(&DeliveryState::Accepted);
                lp.close(c, None).unwrap();
            }
            LoopEvent::ConnectionFinal(id) => {
                finals += 1;
                if *id == c {
                    lp.close_listener(l).unwrap();
                }
            }
            _ => {}
        }
        handshake(lp, &ev);
        false
    });
    assert!(accepted);
    assert_eq!(finals, 2, "both ends of the connection ended");
    assert_eq!(got.unwrap().body, text("Hello World!").body);
    assert!(!lp.has_work(), "run returns once nothing is left");
}

#[test]
fn timers_fire_in_order_of_due_time_then_of_scheduling() {
    let mut lp = Loop::new().unwrap();
    let start = Instant::now();
    lp.schedule(Duration::from_millis(60), 3);
    lp.schedule(Duration::from_millis(20), 1);
    let cancelled = lp.schedule(Duration::from_millis(30), 99);
    lp.schedule(Duration::from_millis(40), 2);
    // Due at once: fire first, in the order scheduled.
    for t in 10..20 {
        lp.schedule(Duration::ZERO, t);
    }
    lp.cancel(cancelled).unwrap();
    assert!(lp.cancel(cancelled).is_err(), "a cancelled timer is stale");
    let mut order = Vec::new();
    drive(&mut lp, |_, ev| {
        if let LoopEvent::Timer(_, t) = ev {
            order.push((t, start.elapsed()));
        }
        false
    });
    let tokens: Vec<u64> = order.iter().map(|(t, _)| *t).collect();
    assert_eq!(
        tokens,
        vec![10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 1, 2, 3]
    );
    for (t, at) in &order {
        let due = match t {
            1 => 20,
            2 => 40,
            3 => 60,
            _ => 0,
        };
        assert!(*at >= Duration::from_millis(due), "timer {t} fired early");
    }
    assert!(!lp.has_work());
}

#[test]
fn run_returns_when_the_work_ends_and_stop_ends_it_early() {
    let mut lp = Loop::new().unwrap();
    assert!(!lp.has_work(), "a new loop has nothing to do");
    let l = lp
        .listen("127.0.0.1:0", Config::default(), &Default::default())
        .unwrap();
    assert!(lp.has_work(), "a listener is work");
    lp.stop();
    assert!(!lp.has_work(), "stop ends the run");
    lp.resume();
    lp.close_listener(l).unwrap();
    assert!(lp.close_listener(l).is_err(), "closing twice is stale");
    let mut events = Vec::new();
    drive(&mut lp, |lp, ev| {
        handshake(lp, &ev);
        events.push(ev);
        false
    });
    assert!(matches!(events[0], LoopEvent::ListenerOpen(x) if x == l));
    assert!(matches!(events[1], LoopEvent::ListenerFinal(x) if x == l));
    assert!(!lp.has_work());
    assert!(!lp.listener_exists(l));
}

#[test]
fn an_idle_loop_sleeps_until_its_timeout() {
    let mut lp = Loop::new().unwrap();
    let l = lp
        .listen("127.0.0.1:0", Config::default(), &Default::default())
        .unwrap();
    let port = lp.listener_port(l).unwrap();
    let c = lp
        .connect(&format!("127.0.0.1:{port}"), ConnectOptions::default())
        .unwrap();
    drive(&mut lp, |lp, ev| {
        handshake(lp, &ev);
        matches!(ev, LoopEvent::Engine(id, Event::ConnectionRemoteOpen) if id == c)
    });
    // Let the server side finish its half of the handshake.
    let settle = Instant::now() + Duration::from_millis(200);
    while Instant::now() < settle {
        lp.poll(Some(Duration::from_millis(20))).unwrap();
        while let Some(ev) = lp.next_event() {
            handshake(&mut lp, &ev);
        }
    }
    // Nothing to write and nothing to read: no readiness, no spin.
    let t = Instant::now();
    lp.poll(Some(Duration::from_millis(150))).unwrap();
    assert!(t.elapsed() >= Duration::from_millis(140), "woke early");
    assert_eq!(lp.next_event(), None);
}

#[test]
fn wake_from_another_thread() {
    let mut lp = Loop::new().unwrap();
    let waker = lp.waker();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        for _ in 0..5 {
            waker.wake().unwrap();
        }
    });
    let start = Instant::now();
    // No work at all, yet a poll without timeout returns for the wake.
    lp.poll(None).unwrap();
    let mut wakes = 0;
    while let Some(ev) = lp.next_event() {
        assert_eq!(ev, LoopEvent::Wake);
        wakes += 1;
    }
    t.join().unwrap();
    assert!(start.elapsed() >= Duration::from_millis(45));
    // Several wakes before the loop looked may be reported once.
    assert!((1..=5).contains(&wakes), "{wakes} wakes");
    lp.poll(Some(Duration::ZERO)).unwrap();
    while let Some(ev) = lp.next_event() {
        assert_eq!(ev, LoopEvent::Wake);
    }
}

/// A peer that opens the AMQP connection and then never sends another
/// byte: a muon server engine driven by hand over a std socket, which
/// stops once its open went out.
fn silent_peer() -> (u16, std::thread::JoinHandle<()>) {
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        let now = Instant::now();
        let mut e = muon::engine::Connection::server(
            Config {
                container_id: "silent".into(),
                ..Config::default()
            },
            now,
        );
        let mut buf = [0u8; 4096];
        let mut opened = false;
        while !opened {
            let n = sock.read(&mut buf).unwrap();
            assert!(n > 0, "the client hung up before its open");
            e.receive(&buf[..n], now);
            while let Some(ev) = e.next_event() {
                if ev == Event::ConnectionRemoteOpen {
                    e.open();
                    opened = true;
                }
            }
            let out = e.output().to_vec();
            sock.write_all(&out).unwrap();
            e.consume_output(out.len());
        }
        // Silence: read and drop whatever comes until the client gives up.
        while matches!(sock.read(&mut buf), Ok(n) if n > 0) {}
    });
    (port, t)
}

#[test]
fn idle_timeout_closes_a_connection_to_a_silent_peer() {
    let (port, peer) = silent_peer();
    let mut lp = Loop::new().unwrap();
    let mut options = ConnectOptions::default();
    options.config.idle_timeout = Some(Duration::from_millis(300));
    let c = lp.connect(&format!("127.0.0.1:{port}"), options).unwrap();
    let mut opened_at = None;
    let mut error = None;
    let mut disconnected = None;
    drive(&mut lp, |lp, ev| {
        handshake(lp, &ev);
        match ev {
            LoopEvent::Engine(_, Event::ConnectionRemoteOpen) => opened_at = Some(Instant::now()),
            LoopEvent::Engine(_, Event::TransportError(e)) => error = Some(e),
            LoopEvent::Disconnected(id, e) if id == c => disconnected = Some(e),
            _ => {}
        }
        false
    });
    let opened_at = opened_at.expect("the peer opened");
    let error = error.expect("a transport error is reported");
    assert_eq!(error.condition.as_str(), condition::RESOURCE_LIMIT_EXCEEDED);
    assert!(opened_at.elapsed() >= Duration::from_millis(290));
    let reason = disconnected.expect("the transport is reported lost");
    assert_eq!(
        reason.condition.as_str(),
        condition::RESOURCE_LIMIT_EXCEEDED
    );
    assert!(!lp.has_work(), "without reconnect the connection ends");
    peer.join().unwrap();
}

#[test]
fn heartbeats_keep_a_quiet_connection_open() {
    // Both ends run on this one thread, each timing the other out after
    // 200 ms of silence and sending a heartbeat every 50 ms (a quarter:
    // each advertises half of its time-out, and the peer writes at half of
    // that). A thread that is not scheduled for 150 ms (a loaded machine)
    // silences both ends at once, and whichever wakes first times the
    // other out: that is right, and says nothing about heartbeats. So the
    // gaps between the loop's turns are measured, and a run in which one
    // came near the time-out is run again; a run without such a gap must
    // stay up.
    const ATTEMPTS: usize = 5;
    let mut gaps = Vec::new();
    for _ in 0..ATTEMPTS {
        match quiet_connection_for_a_second() {
            Ok(()) => return,
            Err((gap, errors)) => {
                assert!(
                    gap >= STALL,
                    "the connection failed although the loop never stalled \
                     (longest gap between turns {gap:?}): {errors:?}"
                );
                gaps.push(gap);
            }
        }
    }
    panic!(
        "the loop stalled past {STALL:?} in each of {ATTEMPTS} runs ({gaps:?}): \
         the machine is too loaded to test heartbeats"
    );
}

/// A gap between two turns of the loop long enough (with the 50 ms between
/// heartbeats) to reach the 200 ms idle time-out.
const STALL: Duration = Duration::from_millis(120);

/// Opens a connection to a listener of the same loop, both ends with a
/// 200 ms idle time-out, keeps it quiet for a second (five time-outs), then
/// closes it. Ok if it stayed up; else the longest gap between turns of the
/// loop, and the errors.
fn quiet_connection_for_a_second() -> Result<(), (Duration, Vec<muon::codec::transport::AmqpError>)>
{
    let mut lp = Loop::new().unwrap();
    let server = Config {
        idle_timeout: Some(Duration::from_millis(200)),
        ..Config::default()
    };
    let l = lp
        .listen("127.0.0.1:0", server, &Default::default())
        .unwrap();
    let port = lp.listener_port(l).unwrap();
    let mut options = ConnectOptions::default();
    options.config.idle_timeout = Some(Duration::from_millis(200));
    let c = lp.connect(&format!("127.0.0.1:{port}"), options).unwrap();
    // Quiet for five idle timeouts, then a clean close.
    lp.schedule(Duration::from_millis(1000), 7);
    let mut closing = false;
    let mut errors = Vec::new();
    let start = Instant::now();
    let mut last_turn = Instant::now();
    let mut longest = Duration::ZERO;
    loop {
        while let Some(ev) = lp.next_event() {
            match &ev {
                LoopEvent::Engine(_, Event::TransportError(e)) => errors.push(e.clone()),
                LoopEvent::Timer(_, 7)
                    if lp
                        .engine_ref(c)
                        .is_some_and(|e| e.remote_state() == EndpointState::Active) =>
                {
                    closing = true;
                    lp.close(c, None).unwrap();
                }
                LoopEvent::ConnectionFinal(id) if *id == c => lp.close_listener(l).unwrap(),
                _ => {}
            }
            handshake(&mut lp, &ev);
        }
        if !lp.has_work() {
            break;
        }
        assert!(start.elapsed() < LIMIT, "the loop did not finish in time");
        lp.poll(Some(Duration::from_millis(200))).unwrap();
        // While the connection is up, the loop wakes at least every 50 ms
        // (a heartbeat is due): a longer gap is a stall.
        let now = Instant::now();
        if !closing {
            longest = longest.max(now - last_turn);
        }
        last_turn = now;
    }
    if closing && errors.is_empty() {
        Ok(())
    } else {
        Err((longest, errors))
    }
}

/// A server on its own thread and loop, listening on `port`, that answers
/// everything until told to stop; then it drops its loop, so its sockets
/// close without any AMQP close.
fn server_thread(port: u16) -> (u16, mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    let (stop_tx, stop_rx) = mpsc::channel();
    let (port_tx, port_rx) = mpsc::channel();
    let t = std::thread::spawn(move || {
        let mut lp = Loop::new().unwrap();
        let l = lp
            .listen(
                &format!("127.0.0.1:{port}"),
                Config::default(),
                &Default::default(),
            )
            .unwrap();
        port_tx.send(lp.listener_port(l).unwrap()).unwrap();
        while stop_rx.try_recv().is_err() {
            lp.poll(Some(Duration::from_millis(20))).unwrap();
            while let Some(ev) = lp.next_event() {
                handshake(&mut lp, &ev);
            }
        }
    });
    (port_rx.recv().unwrap(), stop_tx, t)
}

#[test]
fn reconnect_with_backoff_to_a_listener_that_comes_and_goes() {
    let (port, stop, server) = server_thread(0);
    let mut lp = Loop::new().unwrap();
    let policy = ReconnectPolicy {
        initial: Duration::from_millis(40),
        max: Duration::from_millis(160),
        max_attempts: 0,
    };
    let c = lp
        .connect(
            &format!("127.0.0.1:{port}"),
            ConnectOptions {
                reconnect: Some(policy.clone()),
                ..Default::default()
            },
        )
        .unwrap();
    let old = lp.open_link(c, Role::Receiver, receiver_opts("q")).unwrap();
    drive(
        &mut lp,
        |_, ev| matches!(ev, LoopEvent::Engine(_, Event::LinkRemoteOpen(l)) if l == old),
    );

    // The server goes away.
    stop.send(()).unwrap();
    server.join().unwrap();
    let mut log = Vec::new();
    let mut disconnects = Vec::new();
    drive(&mut lp, |_, ev| {
        match &ev {
            LoopEvent::Disconnected(_, _) => disconnects.push(Instant::now()),
            LoopEvent::Engine(_, Event::LinkFinal(_)) => {}
            LoopEvent::Engine(_, _) => return false,
            _ => {}
        }
        log.push(ev);
        // Five failed attempts after the first loss.
        disconnects.len() == 6
    });
    assert!(
        matches!(&log[0], LoopEvent::Engine(_, Event::LinkFinal(l)) if *l == old),
        "the old link ends before the disconnect is reported: {log:?}"
    );
    assert!(matches!(&log[1], LoopEvent::Disconnected(id, _) if *id == c));
    assert!(lp.connection_exists(c), "the connection survives");
    for (i, w) in disconnects.windows(2).enumerate() {
        let gap = w[1] - w[0];
        assert!(
            gap >= policy.delay(i as u32),
            "attempt {} came after {gap:?}, before its backoff {:?}",
            i + 1,
            policy.delay(i as u32)
        );
    }
    assert_eq!(policy.delay(0), Duration::from_millis(40));
    assert_eq!(policy.delay(2), Duration::from_millis(160));
    assert_eq!(policy.delay(30), Duration::from_millis(160));
    assert!(lp.open_link(c, Role::Sender, sender_opts("q")).is_err());

    // The server comes back on the same port.
    let (_, stop, server) = server_thread(port);
    let mut new: Option<LinkId> = None;
    let mut reconnected = false;
    drive(&mut lp, |_, ev| {
        match ev {
            LoopEvent::Reconnected(id) if id == c => reconnected = true,
            LoopEvent::LinkRecreated {
                conn,
                old: o,
                new: n,
            } => {
                assert_eq!((conn, o), (c, old));
                new = Some(n);
            }
            LoopEvent::Engine(_, Event::LinkRemoteOpen(l)) => {
                assert_eq!(Some(l), new, "the re-made link is the one opened");
                return true;
            }
            _ => {}
        }
        false
    });
    assert!(reconnected);
    let e = lp.engine_ref(c).unwrap();
    assert_eq!(e.remote_state(), EndpointState::Active);
    assert_eq!(e.link_remote_state(new.unwrap()), EndpointState::Active);
    lp.close(c, None).unwrap();
    drive(&mut lp, |lp, ev| {
        handshake(lp, &ev);
        false
    });
    assert!(!lp.has_work());
    stop.send(()).unwrap();
    server.join().unwrap();
}

/// A port with nothing listening on it.
fn dead_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn reconnect_gives_up_after_its_attempts_and_rotates_failover_urls() {
    let (a, b) = (dead_port(), dead_port());
    let mut lp = Loop::new().unwrap();
    lp.set_frame_trace(true);
    lp.set_log_capture(true);
    let c = lp
        .connect(
            &format!("127.0.0.1:{a}"),
            ConnectOptions {
                reconnect: Some(ReconnectPolicy {
                    initial: Duration::from_millis(5),
                    max: Duration::from_millis(20),
                    max_attempts: 3,
                }),
                failover: vec![muon::reactor::Address::parse(&format!("127.0.0.1:{b}")).unwrap()],
                ..Default::default()
            },
        )
        .unwrap();
    let mut events = Vec::new();
    drive(&mut lp, |lp, ev| {
        handshake(lp, &ev);
        events.push(ev);
        false
    });
    let disconnects = events
        .iter()
        .filter(|e| matches!(e, LoopEvent::Disconnected(id, _) if *id == c))
        .count();
    assert_eq!(disconnects, 4, "the first try and three attempts");
    assert!(matches!(events.last(), Some(LoopEvent::ConnectionFinal(id)) if *id == c));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, LoopEvent::Reconnected(_)))
    );
    let tries: Vec<String> = lp
        .take_log()
        .into_iter()
        .filter(|l| l.contains("connecting to"))
        .map(|l| {
            l.split_once(' ')
                .map_or(l.clone(), |(_, rest)| rest.to_owned())
        })
        .collect();
    let want: Vec<String> = [a, b, a, b]
        .iter()
        .map(|p| format!("[c1] connecting to 127.0.0.1:{p}"))
        .collect();
    assert_eq!(tries, want);
}

#[test]
fn closing_between_attempts_ends_the_connection() {
    let mut lp = Loop::new().unwrap();
    let c = lp
        .connect(
            &format!("127.0.0.1:{}", dead_port()),
            ConnectOptions {
                reconnect: Some(ReconnectPolicy::default()),
                ..Default::default()
            },
        )
        .unwrap();
    let mut events = Vec::new();
    drive(&mut lp, |lp, ev| {
        if matches!(ev, LoopEvent::Disconnected(..)) {
            lp.close(c, None).unwrap();
        }
        handshake(lp, &ev);
        if !matches!(ev, LoopEvent::Engine(..)) {
            events.push(ev);
        }
        false
    });
    assert!(matches!(events[0], LoopEvent::Disconnected(..)));
    assert!(matches!(events[1], LoopEvent::ConnectionFinal(id) if id == c));
    assert_eq!(events.len(), 2);
}

#[test]
fn a_large_message_crosses_in_many_frames_and_partial_writes() {
    let mut lp = Loop::new().unwrap();
    let l = lp
        .listen("127.0.0.1:0", Config::default(), &Default::default())
        .unwrap();
    let port = lp.listener_port(l).unwrap();
    let c = lp
        .connect(&format!("127.0.0.1:{port}"), ConnectOptions::default())
        .unwrap();
    let snd = lp.open_link(c, Role::Sender, sender_opts("big")).unwrap();
    let payload: Vec<u8> = (0..8 * 1024 * 1024u32)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    let big = Message {
        body: Body::Value(Value::Binary(payload.clone().into())),
        ..Default::default()
    };
    let mut sent = false;
    let mut got = None;
    drive(&mut lp, |lp, ev| {
        match &ev {
            LoopEvent::Engine(id, Event::LinkFlow(k)) if *id == c && *k == snd && !sent => {
                lp.engine(c).unwrap().send(snd, None, &big, true).unwrap();
                sent = true;
            }
            LoopEvent::Engine(id, Event::Delivery(d)) => {
                let e = lp.engine(*id).unwrap();
                got = Some(Message::decode(e.delivery_payload(*d).unwrap()).unwrap());
                e.settle(*d).unwrap();
                lp.close(c, None).unwrap();
            }
            LoopEvent::ConnectionFinal(id) if *id == c => lp.close_listener(l).unwrap(),
            _ => {}
        }
        handshake(lp, &ev);
        false
    });
    let got = got.expect("the message arrived");
    assert_eq!(got.body, Body::Value(Value::Binary(payload.into())));
}

/// Over a real socket, the receiving side's session window, not credit,
/// limits the sender: the listener takes frames of 512 bytes and opens a
/// session window of 4 frames while granting credit for every message at
/// once, and 100 messages of 3,000 bytes (7 frames each) go out in one
/// batch. Every message arrives intact and in order, and the listener has
/// re-opened its window with session flows (no handle) many times over:
/// a sender ignoring the window would be closed with
/// `amqp:session:window-violation`, one that never resumed would hang.
#[test]
fn the_session_window_not_credit_paces_multi_frame_messages() {
    const MESSAGES: usize = 100;
    let mut lp = Loop::new().unwrap();
    lp.set_frame_trace(true);
    lp.set_log_capture(true);
    let server = Config {
        max_frame_size: 512,
        session_window: 4,
        ..Config::default()
    };
    let l = lp
        .listen("127.0.0.1:0", server, &Default::default())
        .unwrap();
    let port = lp.listener_port(l).unwrap();
    let c = lp
        .connect(&format!("127.0.0.1:{port}"), ConnectOptions::default())
        .unwrap();
    let snd = lp.open_link(c, Role::Sender, sender_opts("paced")).unwrap();
    let body = |n: usize| -> Vec<u8> { (0..3000).map(|i| ((i * 13 + n) % 251) as u8).collect() };
    let mut sent = false;
    let mut got: Vec<Vec<u8>> = Vec::new();
    drive(&mut lp, |lp, ev| {
        match &ev {
            LoopEvent::Engine(id, Event::LinkRemoteOpen(k)) if *id != c => {
                handshake(lp, &ev);
                // Credit for all of them at once: credit never runs out.
                lp.engine(*id)
                    .unwrap()
                    .link_flow(*k, MESSAGES as u32, false)
                    .unwrap();
                return false;
            }
            LoopEvent::Engine(id, Event::LinkFlow(k)) if *id == c && *k == snd && !sent => {
                let e = lp.engine(c).unwrap();
                assert!(
                    e.link_credit(snd) >= MESSAGES as u32,
                    "credit for every message"
                );
                for n in 0..MESSAGES {
                    let m = Message {
                        body: Body::Value(Value::Binary(body(n).into())),
                        ..Default::default()
                    };
                    e.send(snd, None, &m, true).unwrap();
                }
                sent = true;
            }
            LoopEvent::Engine(id, Event::Delivery(d)) => {
                let e = lp.engine(*id).unwrap();
                let m = Message::decode(e.delivery_payload(*d).unwrap()).unwrap();
                let Body::Value(Value::Binary(b)) = m.body else {
                    panic!("a binary body");
                };
                got.push(b.to_vec());
                e.settle(*d).unwrap();
                if got.len() == MESSAGES {
                    lp.close(c, None).unwrap();
                }
            }
            LoopEvent::ConnectionFinal(id) if *id == c => lp.close_listener(l).unwrap(),
            _ => {}
        }
        handshake(lp, &ev);
        false
    });
    assert_eq!(got.len(), MESSAGES);
    for (n, b) in got.iter().enumerate() {
        assert_eq!(b, &body(n), "message {n}");
    }
    let log = lp.take_log();
    assert!(
        !log.iter().any(|l| l.contains("window-violation")),
        "{}",
        log.join("\n")
    );
    let transfers = log
        .iter()
        .filter(|l| l.contains("[c1] 0 -> @transfer(20)"))
        .count();
    assert!(
        transfers >= MESSAGES * 6,
        "{transfers} transfer frames: multi-frame messages"
    );
    let window_flows = log
        .iter()
        .filter(|l| l.contains("[c2] 0 -> @flow(19)") && !l.contains("handle="))
        .count();
    eprintln!("{transfers} transfer frames, {window_flows} session flows");
    assert!(
        window_flows >= transfers / 5,
        "{window_flows} session flows for {transfers} frames through a window of 4"
    );
}

#[test]
fn the_frame_trace_shows_every_frame_both_ways() {
    let mut lp = Loop::new().unwrap();
    lp.set_frame_trace(true);
    lp.set_log_capture(true);
    let l = lp
        .listen("127.0.0.1:0", Config::default(), &Default::default())
        .unwrap();
    let port = lp.listener_port(l).unwrap();
    let c = lp
        .connect(&format!("127.0.0.1:{port}"), ConnectOptions::default())
        .unwrap();
    let snd = lp.open_link(c, Role::Sender, sender_opts("q")).unwrap();
    let mut sent = false;
    drive(&mut lp, |lp, ev| {
        match &ev {
            LoopEvent::Engine(id, Event::LinkFlow(k)) if *id == c && *k == snd && !sent => {
                lp.engine(c)
                    .unwrap()
                    .send(snd, None, &text("traced"), false)
                    .unwrap();
                sent = true;
            }
            LoopEvent::Engine(id, Event::Delivery(d)) => {
                lp.engine(*id)
                    .unwrap()
                    .disposition(*d, Some(DeliveryState::Accepted), true)
                    .unwrap();
            }
            LoopEvent::Engine(id, Event::DeliveryUpdated(_)) if *id == c => {
                lp.close(c, None).unwrap()
            }
            LoopEvent::ConnectionFinal(id) if *id == c => lp.close_listener(l).unwrap(),
            _ => {}
        }
        handshake(lp, &ev);
        false
    });
    let log = lp.take_log();
    let has = |needle: &str| log.iter().any(|l| l.contains(needle));
    for (conn, dir) in [("c1", "->"), ("c1", "<-"), ("c2", "->"), ("c2", "<-")] {
        for what in [
            "SASL header",
            "AMQP header",
            "@open(16) [",
            "@begin(17) [",
            "@attach(18) [",
            "@close(24) [",
        ] {
            assert!(
                log.iter().any(|l| l.contains(&format!(" [{conn}] "))
                    && l.contains(dir)
                    && l.contains(what)),
                "no {what} {dir} on {conn} in:\n{}",
                log.join("\n")
            );
        }
    }
    assert!(has("-> @sasl-mechanisms") && has("<- @sasl-init") && has("-> @sasl-outcome"));
    assert!(has("[c1] 0 -> @transfer(20) [handle=0") && has("(payload "));
    assert!(has("[c2] 0 <- @transfer(20) ["));
    assert!(has("-> @flow(19) [") && has("link-credit=") && has("-> @disposition(21) ["));
    assert!(has("container-id=\"muon-"), "{}", log.join("\n"));
    assert!(!has("=null"), "null fields are left out");
    // Every line starts with a UTC timestamp and names its connection.
    assert!(log.iter().all(|l| {
        let (ts, rest) = l.split_once(' ').unwrap_or_default();
        ts.len() == 27
            && ts.ends_with('Z')
            && (rest.starts_with("[c1] ") || rest.starts_with("[c2] "))
    }));
}

/// Writes what the hand-driven engine `e` has to send, then reads what
/// arrives within `wait` into it. False if nothing arrived.
fn exchange(
    e: &mut muon::engine::Connection,
    sock: &mut std::net::TcpStream,
    wait: Duration,
) -> bool {
    let out = e.output().to_vec();
    sock.write_all(&out).unwrap();
    e.consume_output(out.len());
    sock.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 65536];
    match sock.read(&mut buf) {
        Ok(n) if n > 0 => {
            e.receive(&buf[..n], Instant::now());
            true
        }
        Ok(_) => panic!("the loop hung up"),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            false
        }
        Err(e) => panic!("read failed: {e}"),
    }
}

/// The loop holds a batch's output back until the application has handled
/// every event of the batch, so that dispositions coalesce; credit does not
/// wait. A sender is idle until credit comes back, so a receiver that
/// grants it while working through a long batch must not make the sender
/// wait for the rest of the batch (that made the two sides take turns
/// instead of working at once).
#[test]
fn credit_granted_mid_batch_goes_out_before_the_batch_ends() {
    let mut lp = Loop::new().unwrap();
    let l = lp
        .listen("127.0.0.1:0", Config::default(), &Default::default())
        .unwrap();
    let port = lp.listener_port(l).unwrap();
    let mut sock = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    // The sending peer: an engine driven by hand over a std socket, so the
    // test sees exactly when bytes reach it.
    let mut e = muon::engine::Connection::client(Config::default(), Instant::now());
    e.open();
    let s = e.session_new().unwrap();
    e.session_open(s).unwrap();
    let snd = e.link_new(s, Role::Sender, sender_opts("q")).unwrap();
    e.link_open(snd).unwrap();
    let start = Instant::now();
    while e.link_credit(snd) == 0 {
        assert!(start.elapsed() < LIMIT, "the link never got credit");
        exchange(&mut e, &mut sock, Duration::from_millis(10));
        while e.next_event().is_some() {}
        lp.poll(Some(Duration::from_millis(10))).unwrap();
        while let Some(ev) = lp.next_event() {
            handshake(&mut lp, &ev);
        }
    }
    // Ten messages in one write: one read, one batch of ten deliveries.
    let credit = e.link_credit(snd);
    assert_eq!(credit, 10, "the handshake's window");
    for i in 0..credit {
        e.send(snd, None, &text(&format!("m{i}")), false).unwrap();
    }
    assert!(!exchange(&mut e, &mut sock, Duration::from_millis(1)));
    assert_eq!(e.link_credit(snd), 0);
    let mut deliveries = Vec::new();
    let mut flow_seen_with_left = None;
    while deliveries.len() < credit as usize {
        assert!(start.elapsed() < LIMIT, "the deliveries did not arrive");
        lp.poll(Some(Duration::from_millis(200))).unwrap();
        while let Some(ev) = lp.next_event() {
            if let LoopEvent::Engine(id, Event::Delivery(d)) = ev {
                let rcv = lp.engine(id).unwrap();
                let link = rcv.delivery_link(d).unwrap();
                rcv.disposition(d, Some(DeliveryState::Accepted), true)
                    .unwrap();
                deliveries.push(d);
                if deliveries.len() == 1 {
                    // The first of the batch: grant more, then look at the
                    // wire before handling the rest.
                    rcv.link_flow(link, 100, false).unwrap();
                    // Taking the next event is when the loop writes what
                    // the last callback queued.
                    let next = lp.next_event();
                    let arrived = exchange(&mut e, &mut sock, Duration::from_secs(5));
                    flow_seen_with_left = Some((arrived, e.link_credit(snd)));
                    if let Some(LoopEvent::Engine(id, Event::Delivery(d))) = next {
                        let rcv = lp.engine(id).unwrap();
                        rcv.disposition(d, Some(DeliveryState::Accepted), true)
                            .unwrap();
                        deliveries.push(d);
                    }
                }
            }
        }
    }
    let (arrived, credit_then) = flow_seen_with_left.unwrap();
    assert!(arrived, "the credit waited for the end of the batch");
    assert!(credit_then > 0, "the sender got credit back mid-batch");
}

/// The peer's dispositions and its answering detach arrive in one read:
/// every outcome is still readable when its event is handed out (the
/// engine releases the link and its deliveries only once the events queued
/// before the link's final event were taken), and the link's ID is stale
/// afterwards.
#[test]
fn outcomes_read_with_the_final_detach_are_still_reported() {
    let mut lp = Loop::new().unwrap();
    let l = lp
        .listen("127.0.0.1:0", Config::default(), &Default::default())
        .unwrap();
    let port = lp.listener_port(l).unwrap();
    let c = lp
        .connect(&format!("127.0.0.1:{port}"), ConnectOptions::default())
        .unwrap();
    let snd = lp.open_link(c, Role::Sender, sender_opts("q")).unwrap();
    let (mut sent, mut accepted, mut link_final, mut stale_after) = (false, 0, false, false);
    drive(&mut lp, |lp, ev| {
        match &ev {
            LoopEvent::Engine(id, Event::LinkFlow(k)) if *id == c && *k == snd && !sent => {
                let e = lp.engine(c).unwrap();
                for i in 0..5 {
                    e.send(snd, None, &text(&format!("m{i}")), false).unwrap();
                }
                // Closed at once: the outcomes come with the peer's detach.
                e.link_close(snd, true, None).unwrap();
                sent = true;
            }
            LoopEvent::Engine(id, Event::Delivery(d)) => {
                let e = lp.engine(*id).unwrap();
                e.disposition(*d, Some(DeliveryState::Accepted), true)
                    .unwrap();
            }
            LoopEvent::Engine(id, Event::DeliveryUpdated(d)) if *id == c => {
                assert!(!link_final, "an outcome after the link's final event");
                let e = lp.engine(c).unwrap();
                if e.delivery_remote_state(*d) == Some(&DeliveryState::Accepted) {
                    accepted += 1;
                }
            }
            LoopEvent::Engine(id, Event::LinkFinal(k)) if *id == c && *k == snd => {
                link_final = true;
                lp.close(c, None).unwrap();
            }
            LoopEvent::ConnectionFinal(id) if *id == c => {
                stale_after = lp.engine_ref(c).unwrap().link_name(snd).is_none();
                lp.close_listener(l).unwrap();
            }
            _ => {}
        }
        handshake(lp, &ev);
        false
    });
    assert!(link_final);
    assert_eq!(accepted, 5, "every outcome was readable");
    assert!(stale_after, "the link was released after its final event");
}

/// `abort` shuts the transport without a close: the peer sees the
/// transport end (`Disconnected`, `amqp:connection:forced`) and no close;
/// the aborting side gets its final events without `Disconnected`, and its
/// reconnect policy does not start a new attempt.
#[test]
fn abort_ends_a_connection_without_a_close_and_without_reconnect() {
    let mut lp = Loop::new().unwrap();
    let l = lp
        .listen("127.0.0.1:0", Config::default(), &Default::default())
        .unwrap();
    let port = lp.listener_port(l).unwrap();
    let c = lp
        .connect(
            &format!("127.0.0.1:{port}"),
            ConnectOptions {
                reconnect: Some(ReconnectPolicy {
                    initial: Duration::from_millis(5),
                    max: Duration::from_millis(20),
                    max_attempts: 0,
                }),
                ..Default::default()
            },
        )
        .unwrap();
    let rcv = lp.open_link(c, Role::Receiver, receiver_opts("q")).unwrap();
    let mut server_disconnected = None;
    let (mut server_remote_close, mut client_disconnected, mut reconnected) = (0, 0, 0);
    let (mut client_link_final, mut client_final) = (false, false);
    drive(&mut lp, |lp, ev| {
        match &ev {
            LoopEvent::Engine(id, Event::LinkRemoteOpen(k)) if *id == c && *k == rcv => {
                lp.abort(c).unwrap();
                assert!(lp.abort(c).is_err(), "an aborted connection is over");
            }
            LoopEvent::Engine(id, Event::LinkFinal(k)) if *id == c && *k == rcv => {
                client_link_final = true;
            }
            LoopEvent::Engine(id, Event::ConnectionRemoteClose) if *id != c => {
                server_remote_close += 1;
            }
            LoopEvent::Disconnected(id, e) if *id == c => {
                let _ = e;
                client_disconnected += 1;
            }
            LoopEvent::Disconnected(_, e) => server_disconnected = Some(e.clone()),
            LoopEvent::Reconnected(_) => reconnected += 1,
            LoopEvent::ConnectionFinal(id) if *id == c => client_final = true,
            LoopEvent::ConnectionFinal(_) => lp.close_listener(l).unwrap(),
            _ => {}
        }
        handshake(lp, &ev);
        false
    });
    assert!(client_link_final && client_final);
    assert_eq!(client_disconnected, 0);
    assert_eq!(reconnected, 0);
    assert_eq!(server_remote_close, 0, "the peer saw no close");
    let why = server_disconnected.expect("the peer saw its transport end");
    assert_eq!(why.condition.as_str(), condition::CONNECTION_FORCED);
}
