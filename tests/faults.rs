//! Network faults between the example broker and its clients, injected by
//! the fault proxy (tests/fault_proxy): partial writes of one byte,
//! delayed segments, half-closed sockets (one direction shut down, the
//! other open), connections reset mid-frame, and a consumer that stops
//! reading. In each case every message is delivered, and its sender told:
//! `simple_send` (reconnecting, resending what was not confirmed) ends with
//! "all messages confirmed", and `simple_recv` (reconnecting) prints every
//! sequence number, at least once. For the consumer that stops reading,
//! muon's bound on a connection's pending output holds the broker's memory
//! while the queue's bound holds back the producer.

mod common;
mod fault_proxy;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::examples::{Broker, Build, build};
use common::program::{Program, reconnects, rss_kib, tally};
use fault_proxy::{Fault, FaultProxy};
use muon::codec::message::{Body, Message};
use muon::codec::messaging::{DeliveryState, Source, Target};
use muon::codec::transport::Role;
use muon::engine::{EndpointState, Event, LinkOptions};
use muon::reactor::{ConnectOptions, Loop, LoopEvent};

const LIMIT: Duration = Duration::from_secs(120);

fn start_broker(args: &[&str]) -> (Broker, SocketAddr) {
    let broker = Broker::launch(Build::Static, 0, args, &[], Duration::from_secs(20));
    let upstream = format!("127.0.0.1:{}", broker.port)
        .parse()
        .expect("an address");
    (broker, upstream)
}

/// What a run through the proxy came to.
struct Run {
    sender_reconnects: usize,
    receiver_reconnects: usize,
    duplicates: usize,
    cuts: usize,
}

/// `simple_recv` then `simple_send` of `total` messages to `address`,
/// both through a proxy doing `fault`: the sender must confirm them all,
/// and the receiver must print every sequence number.
fn through(fault: Fault, address: &str, total: u64) -> Run {
    let (broker, upstream) = start_broker(&[]);
    let proxy = FaultProxy::with(upstream, fault);
    let url = format!("127.0.0.1:{}/{address}", proxy.port());
    let start = Instant::now();
    let receiver = Program::start(
        &build("simple_recv", Build::Static),
        &["-a", &url, "-m", "0"],
    )
    .named("simple_recv");
    broker.wait_consumers(address, 1);
    let sender = Program::start(
        &build("simple_send", Build::Static),
        &["-a", &url, "-m", &total.to_string()],
    )
    .named("simple_send");
    let sent = sender.success(LIMIT);
    assert_eq!(
        sent.last().map(String::as_str),
        Some("all messages confirmed"),
        "{fault:?}: {sent:?}"
    );
    receiver.wait_output(LIMIT, "every sequence number", |l| {
        tally(l).len() as u64 == total
    });
    let lines = receiver.lines();
    drop(receiver);
    let seen = tally(&lines);
    assert_eq!(
        seen.keys().copied().collect::<Vec<_>>(),
        (1..=total).collect::<Vec<_>>(),
        "{fault:?}"
    );
    let run = Run {
        sender_reconnects: reconnects(&sent),
        receiver_reconnects: reconnects(&lines),
        duplicates: seen.values().map(|n| n - 1).sum(),
        cuts: proxy.cuts(),
    };
    println!(
        "{fault:?}: {total} messages in {:.1} s; {} connections, {} faults; sender reconnected \
         {} times, receiver {}; {} duplicates",
        start.elapsed().as_secs_f64(),
        proxy.accepted(),
        run.cuts,
        run.sender_reconnects,
        run.receiver_reconnects,
        run.duplicates
    );
    drop(proxy);
    broker.stop();
    run
}

/// Every byte in a write of its own, both ways: every frame, header and
/// SASL exchange arrives in pieces, and nothing is lost or repeated.
#[test]
fn one_byte_writes_lose_nothing() {
    let run = through(Fault::OneByte, "one-byte", 1_000);
    assert_eq!(run.sender_reconnects + run.receiver_reconnects, 0);
    assert_eq!(run.duplicates, 0);
}

/// Each segment held back up to 15 ms (in order): nothing times out,
/// nothing is lost or repeated.
#[test]
fn delayed_segments_lose_nothing() {
    let run = through(Fault::Delay(Duration::from_millis(15)), "delayed", 2_000);
    assert_eq!(run.sender_reconnects + run.receiver_reconnects, 0);
    assert_eq!(run.duplicates, 0);
}

/// The server-to-client direction shut down mid-frame (the client reads
/// end of stream while it can still write): the client gives the
/// connection up and reconnects. Messages flow that way to the receiver,
/// so it is the one cut.
#[test]
fn half_closed_toward_the_client_loses_nothing() {
    let run = through(
        Fault::HalfClose {
            toward_server: false,
            min_bytes: 60_000,
            max_bytes: 160_000,
        },
        "half-closed-down",
        10_000,
    );
    assert!(
        run.receiver_reconnects >= 2,
        "the receiver was cut only {} times",
        run.receiver_reconnects
    );
}

/// The client-to-server direction shut down mid-frame (the broker reads
/// end of stream while it can still write): the broker ends the
/// connection, and the client reconnects. Messages flow that way from the
/// sender, so it is the one cut.
#[test]
fn half_closed_toward_the_server_loses_nothing() {
    let run = through(
        Fault::HalfClose {
            toward_server: true,
            min_bytes: 60_000,
            max_bytes: 160_000,
        },
        "half-closed-up",
        10_000,
    );
    assert!(
        run.sender_reconnects >= 2,
        "the sender was cut only {} times",
        run.sender_reconnects
    );
}

/// Connections reset (TCP RST) mid-frame, both peers at once.
#[test]
fn connections_reset_mid_frame_lose_nothing() {
    let run = through(
        Fault::Reset {
            min_bytes: 120_000,
            max_bytes: 300_000,
        },
        "reset",
        10_000,
    );
    assert!(run.cuts >= 4, "only {} resets", run.cuts);
    assert!(run.sender_reconnects >= 2 && run.receiver_reconnects >= 2);
}

// ---- a consumer that stops reading ------------------------------------------------------

/// Payload bytes per message.
const PAYLOAD: usize = 16 * 1024;
/// How long the consumer's side does not read.
const STALL: Duration = Duration::from_secs(10);

fn numbered(n: u64) -> Message {
    let mut data = n.to_be_bytes().to_vec();
    data.resize(PAYLOAD, b'x');
    Message {
        body: Body::Data(vec![data]),
        ..Default::default()
    }
}

fn number_of(payload: &[u8]) -> u64 {
    match Message::decode(payload).expect("a message").body {
        Body::Data(d) if d.len() == 1 && d[0].len() >= 8 => {
            u64::from_be_bytes(d[0][..8].try_into().expect("8 bytes"))
        }
        other => panic!("not a numbered message: {other:?}"),
    }
}

/// A consumer with ample credit (100,000 messages of 16 KiB) whose
/// connection stops reading (the proxy stops reading from the broker) for
/// 10 s while a producer sends as fast as the broker lets it. The broker
/// writes into the consumer's connection until muon's bound on pending
/// output (64 MiB) refuses more; then its queue fills to its bound (`-b
/// 4M`) and the producer gets no more credit. So the broker's memory
/// stops growing: over the last 4 s of the stall it grows by less than 8
/// MiB, the producer is held back, and in all it stays under 320 MiB over
/// what it held before: the pending output (64 MiB), the messages muon
/// queues beside it (1,024 of 16 KiB), the broker's copies of what it sent
/// and has not seen settled (as much again), its queue (4 MiB) and what
/// the producer's credit lets it send past the bound (1,000 messages).
/// Without the output bound the producer would never be held back and the
/// broker would grow by what it sends (tens of MiB a second). Then the
/// proxy reads again: every message arrives once, in order.
#[test]
fn a_consumer_that_stops_reading_leaves_the_broker_bounded() {
    let (broker, upstream) = start_broker(&["-b", "4M"]);
    let broker_pid = broker.program.pid().expect("running");
    let proxy = FaultProxy::with(upstream, Fault::None);
    let mut lp = Loop::new().expect("a loop");
    let link = |role: Role| {
        let (source, target) = (
            Source {
                address: (role == Role::Receiver).then(|| "stalled".into()),
                ..Default::default()
            },
            Target {
                address: (role == Role::Sender).then(|| "stalled".into()),
                ..Default::default()
            },
        );
        LinkOptions {
            source: Some(source),
            target: Some(target),
            ..Default::default()
        }
    };
    let c = lp
        .connect(
            &format!("127.0.0.1:{}", proxy.port()),
            ConnectOptions::default(),
        )
        .expect("connect");
    let rcv = lp
        .open_link(c, Role::Receiver, link(Role::Receiver))
        .expect("a receiver");
    let p = lp
        .connect(
            &format!("127.0.0.1:{}", broker.port),
            ConnectOptions::default(),
        )
        .expect("connect");
    let snd = lp
        .open_link(p, Role::Sender, link(Role::Sender))
        .expect("a sender");
    let (mut sent, mut accepted, mut received) = (0u64, 0u64, 0u64);
    let mut base = None;
    let mut stalled_at: Option<Instant> = None;
    let mut resumed = false;
    // (time since the stall began, broker RSS KiB, producer credit)
    let mut samples: Vec<(Duration, u64, u32)> = Vec::new();
    let mut last_sample = Instant::now();
    let (mut closing, mut finals) = (false, 0);
    let deadline = Instant::now() + STALL + LIMIT;
    loop {
        while let Some(ev) = lp.next_event() {
            match ev {
                LoopEvent::Engine(id, Event::LinkRemoteOpen(l)) if id == c && l == rcv => {
                    lp.engine(c)
                        .expect("live")
                        .link_flow(rcv, 100_000, false)
                        .expect("credit");
                }
                LoopEvent::Engine(id, Event::Delivery(d)) if id == c => {
                    let e = lp.engine(c).expect("live");
                    let payload = e.delivery_take_payload(d).expect("a payload");
                    received += 1;
                    assert_eq!(number_of(&payload), received, "lost, repeated or reordered");
                    e.disposition(d, Some(DeliveryState::Accepted), true)
                        .expect("accept");
                }
                LoopEvent::Engine(id, Event::DeliveryUpdated(d)) if id == p => {
                    let e = lp.engine(p).expect("live");
                    if matches!(e.delivery_remote_state(d), Some(DeliveryState::Accepted)) {
                        accepted += 1;
                    }
                    if e.delivery_remote_settled(d) {
                        let _ = e.settle(d);
                    }
                }
                LoopEvent::Engine(_, Event::TransportError(e)) => panic!("transport error {e:?}"),
                LoopEvent::Disconnected(_, e) => panic!("disconnected: {e:?}"),
                LoopEvent::Engine(_, Event::LinkRemoteClose(_)) if !closing => {
                    panic!("the broker closed a link")
                }
                LoopEvent::ConnectionFinal(id) => {
                    finals += 1;
                    lp.release_connection(id);
                }
                _ => {}
            }
        }
        let now = Instant::now();
        let producing = !resumed && !closing;
        let mut credit = 0;
        if producing
            && let Some(e) = lp.engine(p)
            && e.link_remote_state(snd) == EndpointState::Active
        {
            if base.is_none() {
                std::thread::sleep(Duration::from_millis(200));
                base = rss_kib(broker_pid);
            }
            let e = lp.engine(p).expect("live");
            let mut burst = 0;
            while e.link_credit(snd) > 0 && burst < 64 {
                sent += 1;
                burst += 1;
                e.send(snd, None, &numbered(sent), false)
                    .expect("send with credit");
            }
            credit = e.link_credit(snd);
        }
        // Flowing: once the consumer has had 500 messages, its side stops
        // reading.
        if stalled_at.is_none() && received >= 500 {
            proxy.stop_reading(true);
            stalled_at = Some(now);
        }
        if let Some(t0) = stalled_at
            && !resumed
            && now - last_sample >= Duration::from_millis(100)
        {
            last_sample = now;
            samples.push((now - t0, rss_kib(broker_pid).unwrap_or(0), credit));
            if now - t0 >= STALL {
                // The producer stops; the consumer's side reads again and
                // takes everything.
                resumed = true;
                proxy.stop_reading(false);
            }
        }
        if resumed && received == sent && accepted == sent && !closing {
            closing = true;
            lp.close(c, None).expect("close");
            lp.close(p, None).expect("close");
        }
        if finals == 2 {
            break;
        }
        assert!(
            now < deadline,
            "timed out: {sent} sent, {accepted} accepted, {received} received; the broker's \
             log:\n{}",
            broker.stderr()
        );
        let wait = if producing && credit > 0 { 0 } else { 5 };
        lp.poll(Some(Duration::from_millis(wait))).expect("poll");
    }
    let base = base.expect("measured");
    let peak = samples.iter().map(|s| s.1).max().unwrap_or(0);
    let late: Vec<&(Duration, u64, u32)> = samples
        .iter()
        .filter(|s| s.0 >= STALL - Duration::from_secs(4))
        .collect();
    let late_growth = late
        .last()
        .map_or(0, |s| s.1)
        .saturating_sub(late.first().map_or(0, |s| s.1));
    let late_credit = late.iter().filter(|s| s.2 == 0).count();
    let log = broker.stop();
    println!(
        "stopped reader: {sent} messages of {} KiB, {:.1} s without reading; broker RSS \
         {:.1} MiB before, peak {:.1} MiB (+{:.1} MiB), {:+.1} MiB over the last 4 s of the \
         stall; the producer had no credit in {late_credit} of its last {} samples",
        PAYLOAD / 1024,
        STALL.as_secs_f64(),
        base as f64 / 1024.0,
        peak as f64 / 1024.0,
        peak.saturating_sub(base) as f64 / 1024.0,
        late_growth as f64 / 1024.0,
        late.len()
    );
    assert!(
        log.contains("queue stalled is full"),
        "the queue never filled: the broker kept writing to the stalled consumer\n{log}"
    );
    assert!(
        late_credit * 10 >= late.len() * 9,
        "the producer was not held back at the end of the stall"
    );
    assert!(
        late_growth < 8 * 1024,
        "the broker kept growing: +{late_growth} KiB in the last 4 s"
    );
    assert!(
        peak.saturating_sub(base) < 320 * 1024,
        "the broker grew by {} KiB",
        peak.saturating_sub(base)
    );
    assert_eq!(accepted, sent);
}
