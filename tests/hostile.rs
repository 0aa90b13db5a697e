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

mod common;
mod common_engine;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use common::examples::{Broker, Build};
use common_engine::{Wire, WireLog, amqp_frame, sasl_frame};
use muon::codec::frame::{AMQP_HEADER, SASL_HEADER};
use muon::codec::messaging::{DeliveryState, Source, Target, TargetKind};
use muon::codec::security::{SaslCode, SaslFrame, SaslInit};
use muon::codec::transport::{
    Attach, Begin, Close, Detach, Disposition, End, Flow, Open, Performative, ReceiverSettleMode,
    Role as LinkRole, SenderSettleMode, Transfer, condition,
};
use muon::codec::{Binary, DeliveryTag, Symbol};
use muon::engine::{Config, EndpointState, Event};
use muon::reactor::{ConnectOptions, Loop, LoopEvent};

/// How long a hostile input may wait for its answer.
const ANSWER: Duration = Duration::from_secs(2);

/// Upper bound on any wait that only catches hangs.
const LIMIT: Duration = Duration::from_secs(20);

// ---- a raw peer -----------------------------------------------------------------

/// A TCP peer that writes hand-made bytes and decodes what comes back.
struct Peer {
    s: TcpStream,
    got: WireLog,
    /// The other side closed the socket (EOF or reset).
    eof: bool,
}

impl Peer {
    fn connect(port: u16) -> Peer {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_nodelay(true).ok();
        let mut got = WireLog::new();
        got.keep_payloads = false;
        Peer { s, got, eof: false }
    }

    /// Writes `bytes`; false if the other side is gone.
    fn send(&mut self, bytes: &[u8]) -> bool {
        self.s.write_all(bytes).is_ok()
    }

    /// Reads until `done` holds for what arrived, the socket closes or
    /// `limit` passes; returns whether `done` holds.
    fn read_until(&mut self, limit: Duration, done: impl Fn(&[Wire]) -> bool) -> bool {
        let start = Instant::now();
        let mut buf = vec![0u8; 1 << 16];
        while !self.eof && !done(&self.got.units) {
            let left = limit.saturating_sub(start.elapsed());
            if left.is_zero() {
                break;
            }
            self.s.set_read_timeout(Some(left)).ok();
            match self.s.read(&mut buf) {
                Ok(0) => self.eof = true,
                Ok(n) => self.got.feed(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => self.eof = true,
            }
        }
        done(&self.got.units)
    }

    /// Waits for a frame `pick` finds something in.
    fn wait_for<T>(&mut self, what: &str, pick: impl Fn(&Performative) -> Option<T>) -> T {
        let found = |u: &[Wire]| u.iter().filter_map(Wire::perf).find_map(&pick);
        self.read_until(LIMIT, |u| found(u).is_some());
        found(&self.got.units).unwrap_or_else(|| panic!("no {what}; got: {}", self.summary()))
    }

    /// Reads until the socket is closed (or `limit`); true if it was.
    fn wait_eof(&mut self, limit: Duration) -> bool {
        self.read_until(limit, |_| false);
        self.eof
    }

    fn summary(&self) -> String {
        let mut v: Vec<String> = self
            .got
            .units
            .iter()
            .map(|u| match u {
                Wire::Header(h) => format!("header({})", h[4]),
                Wire::Sasl(f) => format!("{f:?}").chars().take(40).collect(),
                Wire::Empty(_) => "empty".into(),
                Wire::Frame { perf, .. } => match &**perf {
                    Performative::Close(c) => format!("close({:?})", c.error),
                    Performative::End(e) => format!("end({:?})", e.error),
                    Performative::Detach(d) => format!("detach({:?})", d.error),
                    p => p.name().to_string(),
                },
                Wire::Garbage(g) => format!("garbage({})", g.len()),
            })
            .collect();
        if v.len() > 12 {
            let tail = v.split_off(v.len() - 6);
            v.truncate(6);
            v.push("...".into());
            v.extend(tail);
        }
        if self.eof {
            v.push("EOF".into());
        }
        v.join(" ")
    }
}

// ---- frames ---------------------------------------------------------------------

fn open() -> Open {
    Open {
        container_id: "hostile".into(),
        hostname: None,
        max_frame_size: 65536,
        channel_max: 9,
        idle_time_out: None,
        outgoing_locales: None,
        incoming_locales: None,
        offered_capabilities: None,
        desired_capabilities: None,
        properties: None,
    }
}

fn begin() -> Begin {
    Begin {
        remote_channel: None,
        next_outgoing_id: 0,
        incoming_window: 1 << 20,
        outgoing_window: 1 << 20,
        handle_max: 1 << 20,
        offered_capabilities: None,
        desired_capabilities: None,
        properties: None,
    }
}

/// An attach of the peer's link `name` on `handle`, in `role`, to or from
/// the queue `address`.
fn attach(name: &str, handle: u32, role: LinkRole, address: &str) -> Attach {
    Attach {
        name: name.into(),
        handle,
        role,
        snd_settle_mode: SenderSettleMode::Mixed,
        rcv_settle_mode: ReceiverSettleMode::First,
        source: Some(Source::address(address)),
        target: Some(TargetKind::Target(Target::address(address))),
        unsettled: None,
        incomplete_unsettled: false,
        initial_delivery_count: (role == LinkRole::Sender).then_some(0),
        max_message_size: None,
        offered_capabilities: None,
        desired_capabilities: None,
        properties: None,
    }
}

/// A transfer on `handle`: the first frame of delivery `id` (with its id
/// and tag), or a continuation (`None`).
fn transfer(handle: u32, id: Option<u32>, more: bool) -> Transfer {
    Transfer {
        handle,
        delivery_id: id,
        delivery_tag: id.map(|i| DeliveryTag::from_u64(u64::from(i))),
        message_format: id.map(|_| 0),
        settled: id.map(|_| false),
        more,
        rcv_settle_mode: None,
        state: None,
        resume: false,
        aborted: false,
        batchable: false,
    }
}

/// A flow: the session's part only (`handle` none) or a link's too.
fn flow(handle: Option<u32>, credit: u32) -> Flow {
    Flow {
        next_incoming_id: Some(0),
        incoming_window: 1 << 20,
        next_outgoing_id: 0,
        outgoing_window: 1 << 20,
        handle,
        delivery_count: handle.map(|_| 0),
        link_credit: handle.map(|_| credit),
        available: None,
        drain: false,
        echo: false,
        properties: None,
    }
}

fn close() -> Vec<u8> {
    amqp_frame(0, &Close { error: None }, &[])
}

/// The message `amqp-value("hello")`.
const HELLO: &[u8] = b"\x00\x53\x77\xa1\x05hello";

/// The plain AMQP header and an open.
fn opened() -> Vec<u8> {
    opened_with(open())
}

fn opened_with(o: Open) -> Vec<u8> {
    let mut b = AMQP_HEADER.to_vec();
    b.extend(amqp_frame(0, &o, &[]));
    b
}

/// A frame with `doff` words of header (the extended header zeroed).
fn with_doff(frame: Vec<u8>, doff: u8) -> Vec<u8> {
    let extra = usize::from(doff) * 4 - 8;
    let mut f = frame;
    f.splice(8..8, std::iter::repeat_n(0u8, extra));
    let n = u32::try_from(f.len()).expect("a small frame");
    f[..4].copy_from_slice(&n.to_be_bytes());
    f[4] = doff;
    f
}

/// `levels` lists nested in one another around a null, as list32s.
fn nested_lists(levels: usize) -> Vec<u8> {
    let mut v = vec![0x40u8];
    for _ in 0..levels {
        let mut outer = vec![0xd0];
        outer.extend(u32::try_from(v.len() + 4).unwrap().to_be_bytes());
        outer.extend(1u32.to_be_bytes());
        outer.extend(v);
        v = outer;
    }
    v
}

// ---- what an answer is --------------------------------------------------------------

fn close_condition(u: &[Wire]) -> Option<String> {
    common_engine::close_condition(u)
}

fn detach_condition(u: &[Wire]) -> Option<String> {
    u.iter().filter_map(Wire::perf).find_map(|p| match p {
        Performative::Detach(d) if d.error.is_some() => {
            d.error.as_ref().map(|e| e.condition.as_str().to_owned())
        }
        _ => None,
    })
}

fn rejected_condition(u: &[Wire]) -> Option<String> {
    u.iter().filter_map(Wire::perf).find_map(|p| match p {
        Performative::Disposition(Disposition {
            state: Some(DeliveryState::Rejected(r)),
            ..
        }) => Some(
            r.error
                .as_ref()
                .map(|e| e.condition.as_str().to_owned())
                .unwrap_or_default(),
        ),
        _ => None,
    })
}

fn has(u: &[Wire], what: fn(&Performative) -> bool) -> bool {
    u.iter().filter_map(Wire::perf).any(what)
}

/// What a case must get back, within `ANSWER` of its last write.
#[derive(Clone, Copy)]
enum Expect {
    /// An AMQP close with this condition.
    Close(&'static str),
    /// A detach with this condition (the connection goes on).
    Detach(&'static str),
    /// The message rejected with this condition.
    Rejected(&'static str),
    /// This protocol header, then the socket closed (§2.2).
    HeaderThenEof(&'static [u8; 8]),
    /// The socket closed (no AMQP close can be sent: SASL, or not AMQP).
    Eof,
    /// The input is allowed: its ordinary answer (a frame `what` finds),
    /// and then a close is answered too (the connection still works).
    Served(&'static str, fn(&Performative) -> bool),
    /// A SASL outcome `ok`.
    SaslOk,
}

impl Expect {
    /// What is expected, for a failure message.
    fn describe(self) -> String {
        match self {
            Expect::Close(c) => format!("close({c:?})"),
            Expect::Detach(c) => format!("detach({c:?})"),
            Expect::Rejected(c) => format!("rejected({c:?})"),
            Expect::HeaderThenEof(h) => format!("header {h:?}, then end of stream"),
            Expect::Eof => "end of stream".into(),
            Expect::Served(what, _) => format!("{what}, then a close answered"),
            Expect::SaslOk => "sasl-outcome ok".into(),
        }
    }

    /// Whether what `p` got since unit `mark` (the input) meets this.
    fn met(self, p: &Peer, mark: usize) -> bool {
        let u = &p.got.units[mark.min(p.got.units.len())..];
        match self {
            Expect::Close(c) => close_condition(u).as_deref() == Some(c),
            Expect::Detach(c) => detach_condition(u).as_deref() == Some(c),
            Expect::Rejected(c) => rejected_condition(u).as_deref() == Some(c),
            Expect::HeaderThenEof(h) => p.eof && u == [Wire::Header(*h)],
            Expect::Eof => p.eof,
            Expect::Served(_, what) => has(u, what),
            Expect::SaslOk => u
                .iter()
                .any(|w| matches!(w, Wire::Sasl(SaslFrame::Outcome(o)) if o.code == SaslCode::Ok)),
        }
    }
}

/// One hostile input: `setup` brings the connection to where the input
/// applies (waiting for answers as needed), `send` is the input itself.
struct Case {
    name: &'static str,
    setup: fn(&mut Peer),
    send: fn(&mut Peer),
    expect: Expect,
}

/// Runs a case against `port`: the answer must come within `ANSWER` of
/// the input. Returns a failure message, if any.
fn run_case(port: u16, c: &Case) -> Option<String> {
    let mut p = Peer::connect(port);
    (c.setup)(&mut p);
    let mark = p.got.units.len();
    let begun = Instant::now();
    (c.send)(&mut p);
    let sent = begun.elapsed();
    let start = Instant::now();
    let expect = c.expect;
    let deadline = start + ANSWER;
    while !expect.met(&p, mark) && !p.eof && Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        p.read_until(left.min(Duration::from_millis(50)), |_| false);
    }
    let mut ok = expect.met(&p, mark);
    let took = start.elapsed();
    assert!(sent < LIMIT, "{}: writing the input took {sent:?}", c.name);
    if ok && let Expect::Served(..) = expect {
        // The connection still works: a close is answered.
        p.send(&close());
        ok = p.read_until(ANSWER, |u| close_condition(u).is_some());
    }
    eprintln!("case {:?}: input {sent:?}, answer {took:?}", c.name);
    (!ok).then(|| {
        format!(
            "{}: expected {} within {ANSWER:?} (input written in {sent:?}, waited {took:?}); got: {}",
            c.name,
            expect.describe(),
            p.summary()
        )
    })
}

// ---- the broker's cases -------------------------------------------------------------

fn nothing(_: &mut Peer) {}

/// Open, then wait for the broker's open.
fn handshake(p: &mut Peer) {
    p.send(&opened());
    p.wait_for("open", |x| matches!(x, Performative::Open(_)).then_some(()));
}

/// Handshake, a begin on channel 0, and a sender link "p" (handle 0) to
/// the queue `hostile`, with the broker's credit in.
fn producing(p: &mut Peer) {
    handshake(p);
    let mut b = amqp_frame(0, &begin(), &[]);
    b.extend(amqp_frame(
        0,
        &attach("p", 0, LinkRole::Sender, "hostile"),
        &[],
    ));
    p.send(&b);
    p.wait_for("credit", |x| match x {
        Performative::Flow(f) if f.link_credit.is_some_and(|c| c > 0) => Some(()),
        _ => None,
    });
}

/// Handshake, a begin, and a receiver link "c" (handle 0) from `hostile`.
fn consuming(p: &mut Peer) {
    handshake(p);
    let mut b = amqp_frame(0, &begin(), &[]);
    b.extend(amqp_frame(
        0,
        &attach("c", 0, LinkRole::Receiver, "hostile"),
        &[],
    ));
    p.send(&b);
    p.wait_for("attach", |x| {
        matches!(x, Performative::Attach(_)).then_some(())
    });
}

fn is_open(p: &Performative) -> bool {
    matches!(p, Performative::Open(_))
}

fn is_attach(p: &Performative) -> bool {
    matches!(p, Performative::Attach(_))
}

fn is_flow(p: &Performative) -> bool {
    matches!(p, Performative::Flow(_))
}

fn broker_cases() -> Vec<Case> {
    vec![
        Case {
            name: "truncated protocol header",
            setup: nothing,
            send: |p| {
                p.send(b"AMQP\x00\x01");
            },
            expect: Expect::HeaderThenEof(&SASL_HEADER),
        },
        Case {
            name: "truncated protocol header, then end of stream",
            setup: nothing,
            send: |p| {
                p.send(b"AMQP\x00");
                p.s.shutdown(Shutdown::Write).ok();
            },
            expect: Expect::Eof,
        },
        Case {
            name: "frame with an extended header (doff 3)",
            setup: nothing,
            send: |p| {
                let mut b = AMQP_HEADER.to_vec();
                b.extend(with_doff(amqp_frame(0, &open(), &[]), 3));
                p.send(&b);
            },
            expect: Expect::Served("open", is_open),
        },
        Case {
            name: "open of more than 512 bytes before the open exchange",
            setup: nothing,
            send: |p| {
                let mut o = open();
                o.container_id = "x".repeat(2000);
                p.send(&opened_with(o));
            },
            expect: Expect::Served("open", is_open),
        },
        Case {
            name: "open with max-frame-size below 512",
            setup: nothing,
            send: |p| {
                let mut o = open();
                o.max_frame_size = 100;
                p.send(&opened_with(o));
            },
            expect: Expect::Close(condition::FRAME_SIZE_TOO_SMALL),
        },
        Case {
            name: "open asking for a 1 ms idle time-out",
            setup: nothing,
            send: |p| {
                let mut o = open();
                o.idle_time_out = Some(1);
                p.send(&opened_with(o));
            },
            expect: Expect::Close(condition::INVALID_FIELD),
        },
        Case {
            name: "begin above channel-max",
            setup: handshake,
            send: |p| {
                p.send(&amqp_frame(40000, &begin(), &[]));
            },
            expect: Expect::Close(condition::FRAMING_ERROR),
        },
        Case {
            name: "transfer beyond credit",
            setup: handshake,
            send: |p| {
                // Before the broker's flow: no credit at all.
                let mut b = amqp_frame(0, &begin(), &[]);
                b.extend(amqp_frame(
                    0,
                    &attach("p", 0, LinkRole::Sender, "hostile"),
                    &[],
                ));
                b.extend(amqp_frame(0, &transfer(0, Some(0), false), HELLO));
                p.send(&b);
            },
            expect: Expect::Close(condition::TRANSFER_LIMIT_EXCEEDED),
        },
        Case {
            name: "endless multi-frame delivery (more, forever)",
            setup: producing,
            send: |p| {
                let chunk = vec![0u8; 60_000];
                p.send(&amqp_frame(0, &transfer(0, Some(0), true), &chunk));
                let frame = amqp_frame(0, &transfer(0, None, true), &chunk);
                // 64 MiB and a bit; the answer stops it.
                for i in 0..1200 {
                    if !p.send(&frame) || (i % 64 == 0 && detach_or_close_waiting(p)) {
                        break;
                    }
                }
            },
            expect: Expect::Detach(condition::MESSAGE_SIZE_EXCEEDED),
        },
        Case {
            name: "disposition for a delivery never sent",
            setup: producing,
            send: |p| {
                let dp = Disposition {
                    role: LinkRole::Receiver,
                    first: 5,
                    last: Some(9),
                    settled: true,
                    state: Some(DeliveryState::Accepted),
                    batchable: false,
                };
                p.send(&amqp_frame(0, &dp, &[]));
            },
            expect: Expect::Close(condition::INVALID_FIELD),
        },
        Case {
            name: "session flow with absurd values",
            setup: producing,
            send: |p| {
                let f = Flow {
                    next_incoming_id: Some(u32::MAX - 7),
                    incoming_window: u32::MAX,
                    next_outgoing_id: u32::MAX - 3,
                    outgoing_window: u32::MAX,
                    echo: true,
                    ..flow(None, 0)
                };
                p.send(&amqp_frame(0, &f, &[]));
            },
            expect: Expect::Served("echoed flow", is_flow),
        },
        Case {
            name: "link flow with absurd values",
            setup: consuming,
            send: |p| {
                let f = Flow {
                    delivery_count: Some(u32::MAX - 3),
                    link_credit: Some(u32::MAX),
                    available: Some(u32::MAX),
                    drain: true,
                    echo: true,
                    ..flow(Some(0), 0)
                };
                p.send(&amqp_frame(0, &f, &[]));
            },
            expect: Expect::Served(
                "link flow",
                |x| matches!(x, Performative::Flow(f) if f.handle.is_some()),
            ),
        },
        Case {
            name: "duplicate attach of a link name",
            setup: producing,
            send: |p| {
                p.send(&amqp_frame(
                    0,
                    &attach("p", 1, LinkRole::Sender, "hostile"),
                    &[],
                ));
            },
            expect: Expect::Close(condition::NOT_ALLOWED),
        },
        Case {
            name: "attach with a huge name",
            setup: handshake,
            send: |p| {
                let mut b = amqp_frame(0, &begin(), &[]);
                let name = "n".repeat(60_000);
                b.extend(amqp_frame(
                    0,
                    &attach(&name, 0, LinkRole::Sender, "hostile"),
                    &[],
                ));
                p.send(&b);
            },
            expect: Expect::Served("attach", is_attach),
        },
        Case {
            name: "transfer after end",
            setup: producing,
            send: |p| {
                let mut b = amqp_frame(0, &End { error: None }, &[]);
                b.extend(amqp_frame(0, &transfer(0, Some(0), false), HELLO));
                p.send(&b);
            },
            expect: Expect::Close(condition::NOT_ALLOWED),
        },
        Case {
            name: "transfer after detach",
            setup: producing,
            send: |p| {
                let d = Detach {
                    handle: 0,
                    closed: true,
                    error: None,
                };
                let mut b = amqp_frame(0, &d, &[]);
                b.extend(amqp_frame(0, &transfer(0, Some(0), false), HELLO));
                p.send(&b);
            },
            expect: Expect::Close(condition::UNATTACHED_HANDLE),
        },
        Case {
            name: "message whose payload is garbage",
            setup: producing,
            send: |p| {
                p.send(&amqp_frame(
                    0,
                    &transfer(0, Some(0), false),
                    b"\xff\xfe garbage",
                ));
            },
            expect: Expect::Rejected(condition::DECODE_ERROR),
        },
        Case {
            name: "message body nested 1,000 deep",
            setup: producing,
            send: |p| {
                let mut body = b"\x00\x53\x77".to_vec();
                body.extend(nested_lists(1000));
                p.send(&amqp_frame(0, &transfer(0, Some(0), false), &body));
            },
            expect: Expect::Rejected(condition::DECODE_ERROR),
        },
        Case {
            name: "performative with a value nested 1,000 deep",
            setup: handshake,
            send: |p| {
                // begin's properties (a map) holding a deep list.
                let mut body = vec![0x00, 0x53, 0x11, 0xd0];
                let mut fields = vec![0x40, 0x43, 0x70, 0, 0, 0, 1, 0x70, 0, 0, 0, 1];
                fields.extend([0x40, 0x40, 0x40]);
                let mut map = vec![0xd1];
                let mut entries = vec![0xa3, 1, b'k'];
                entries.extend(nested_lists(1000));
                map.extend(u32::try_from(entries.len() + 4).unwrap().to_be_bytes());
                map.extend(2u32.to_be_bytes());
                map.extend(entries);
                fields.extend(map);
                body.extend(u32::try_from(fields.len() + 4).unwrap().to_be_bytes());
                body.extend(8u32.to_be_bytes());
                body.extend(fields);
                let mut f = vec![0, 0, 0, 0, 2, 0, 0, 0];
                f.extend(body);
                let n = u32::try_from(f.len()).unwrap();
                f[..4].copy_from_slice(&n.to_be_bytes());
                p.send(&f);
            },
            expect: Expect::Close(condition::DECODE_ERROR),
        },
        Case {
            name: "100,000 heartbeats in a burst",
            setup: handshake,
            send: |p| {
                let b: Vec<u8> = [0u8, 0, 0, 8, 2, 0, 0, 0].repeat(100_000);
                p.send(&b);
                p.send(&close());
            },
            expect: Expect::Close(""),
        },
        Case {
            name: "100,000 flows in a burst (echo on)",
            setup: consuming,
            send: |p| {
                let f = Flow {
                    echo: true,
                    ..flow(Some(0), 0)
                };
                let b = amqp_frame(0, &f, &[]).repeat(100_000);
                p.send(&b);
                p.send(&close());
            },
            expect: Expect::Close(""),
        },
        Case {
            name: "SASL frame larger than 512 bytes",
            setup: nothing,
            send: |p| {
                let init = SaslInit {
                    mechanism: Symbol::from("ANONYMOUS"),
                    initial_response: Some(Binary(vec![b'a'; 2000])),
                    hostname: None,
                };
                let mut b = SASL_HEADER.to_vec();
                b.extend(sasl_frame(&init));
                p.send(&b);
            },
            expect: Expect::SaslOk,
        },
        Case {
            name: "SASL frame larger than max-frame-size",
            setup: nothing,
            send: |p| {
                let mut b = SASL_HEADER.to_vec();
                b.extend([0x00, 0x10, 0x00, 0x00, 2, 1, 0, 0]);
                p.send(&b);
            },
            expect: Expect::Eof,
        },
        Case {
            name: "more sessions than allowed",
            setup: handshake,
            send: |p| {
                let mut b = Vec::new();
                for ch in 0..1025u16 {
                    b.extend(amqp_frame(ch, &begin(), &[]));
                }
                p.send(&b);
            },
            expect: Expect::Close(condition::RESOURCE_LIMIT_EXCEEDED),
        },
        Case {
            name: "more links on a session than allowed",
            setup: handshake,
            send: |p| {
                let mut b = amqp_frame(0, &begin(), &[]);
                for h in 0..1025u32 {
                    let name = format!("l{h}");
                    b.extend(amqp_frame(
                        0,
                        &attach(&name, h, LinkRole::Sender, "hostile"),
                        &[],
                    ));
                }
                p.send(&b);
            },
            expect: Expect::Close(condition::RESOURCE_LIMIT_EXCEEDED),
        },
    ]
}

/// True once the broker's answer to an endless delivery has arrived
/// (checked without waiting, between writes).
fn detach_or_close_waiting(p: &mut Peer) -> bool {
    p.s.set_nonblocking(true).ok();
    let mut buf = [0u8; 4096];
    if let Ok(n) = p.s.read(&mut buf)
        && n > 0
    {
        p.got.feed(&buf[..n]);
    }
    p.s.set_nonblocking(false).ok();
    detach_condition(&p.got.units).is_some() || close_condition(&p.got.units).is_some()
}

/// Resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

/// A well-behaved client: sends one message to `address` and reads it
/// back, then closes cleanly.
fn good_client(port: u16, address: &str) {
    let mut p = Peer::connect(port);
    handshake(&mut p);
    let mut b = amqp_frame(0, &begin(), &[]);
    b.extend(amqp_frame(
        0,
        &attach("good-out", 0, LinkRole::Sender, address),
        &[],
    ));
    b.extend(amqp_frame(
        0,
        &attach("good-in", 1, LinkRole::Receiver, address),
        &[],
    ));
    p.send(&b);
    p.wait_for("credit", |x| match x {
        Performative::Flow(f) if f.link_credit.is_some_and(|c| c > 0) => Some(()),
        _ => None,
    });
    p.send(&amqp_frame(0, &transfer(0, Some(0), false), HELLO));
    p.wait_for("the accepted outcome", |x| match x {
        Performative::Disposition(d) if d.state == Some(DeliveryState::Accepted) => Some(()),
        _ => None,
    });
    p.send(&amqp_frame(0, &flow(Some(1), 10), &[]));
    p.wait_for("the message back", |x| {
        matches!(x, Performative::Transfer(_)).then_some(())
    });
    p.send(&close());
    p.wait_for("the close", |x| {
        matches!(x, Performative::Close(_)).then_some(())
    });
}

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
