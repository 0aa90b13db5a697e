//! The hostile inputs of tests/hostile.rs, shared with tests/hostile_peers.rs
//! (which sends the same bytes to Qpid Proton's C broker and RabbitMQ): a
//! raw TCP peer that writes hand-made bytes and decodes what comes back,
//! the frames it writes, the cases (`broker_cases`) with the answer muon's
//! example broker must give to each, and a well-behaved client.
#![allow(dead_code)] // each test binary uses its own subset

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use crate::common_engine::{self, Wire, WireLog, amqp_frame, sasl_frame};
use muon::codec::frame::{AMQP_HEADER, SASL_HEADER};
use muon::codec::messaging::{DeliveryState, Source, Target, TargetKind};
use muon::codec::security::{SaslCode, SaslFrame, SaslInit};
use muon::codec::transport::{
    Attach, Begin, Close, Detach, Disposition, End, Flow, Open, Performative, ReceiverSettleMode,
    Role as LinkRole, SenderSettleMode, Transfer, condition,
};
use muon::codec::{Binary, DeliveryTag, Symbol};

/// How long a hostile input may wait for its answer.
pub const ANSWER: Duration = Duration::from_secs(2);

/// Upper bound on any wait that only catches hangs.
pub const LIMIT: Duration = Duration::from_secs(20);

// ---- a raw peer -----------------------------------------------------------------

/// A TCP peer that writes hand-made bytes and decodes what comes back.
pub struct Peer {
    pub s: TcpStream,
    pub got: WireLog,
    /// The other side closed the socket (EOF or reset).
    pub eof: bool,
    /// A write failed (see `send`).
    pub write_failed: bool,
    /// How long `wait_for` waits, and how long one write may block.
    pub patience: Duration,
}

impl Peer {
    pub fn connect(port: u16) -> Peer {
        Peer::connect_with(port, LIMIT)
    }

    /// A peer whose waits and writes give up after `patience`.
    pub fn connect_with(port: u16, patience: Duration) -> Peer {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_nodelay(true).ok();
        s.set_write_timeout(Some(patience)).ok();
        let mut got = WireLog::new();
        got.keep_payloads = false;
        Peer {
            s,
            got,
            eof: false,
            write_failed: false,
            patience,
        }
    }

    /// Writes `bytes`; false if the other side is gone or stopped reading
    /// (a write blocked longer than `patience`), which `write_failed`
    /// then records.
    pub fn send(&mut self, bytes: &[u8]) -> bool {
        let ok = self.s.write_all(bytes).is_ok();
        self.write_failed |= !ok;
        ok
    }

    /// Reads until `done` holds for what arrived, the socket closes or
    /// `limit` passes; returns whether `done` holds.
    pub fn read_until(&mut self, limit: Duration, done: impl Fn(&[Wire]) -> bool) -> bool {
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
    pub fn wait_for<T>(&mut self, what: &str, pick: impl Fn(&Performative) -> Option<T>) -> T {
        let found = |u: &[Wire]| u.iter().filter_map(Wire::perf).find_map(&pick);
        self.read_until(self.patience, |u| found(u).is_some());
        found(&self.got.units).unwrap_or_else(|| panic!("no {what}; got: {}", self.summary()))
    }

    /// Reads until the socket is closed (or `limit`); true if it was.
    pub fn wait_eof(&mut self, limit: Duration) -> bool {
        self.read_until(limit, |_| false);
        self.eof
    }

    pub fn summary(&self) -> String {
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

pub fn open() -> Open {
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

pub fn begin() -> Begin {
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
pub fn attach(name: &str, handle: u32, role: LinkRole, address: &str) -> Attach {
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
pub fn transfer(handle: u32, id: Option<u32>, more: bool) -> Transfer {
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
pub fn flow(handle: Option<u32>, credit: u32) -> Flow {
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

pub fn close() -> Vec<u8> {
    amqp_frame(0, &Close { error: None }, &[])
}

/// The message `amqp-value("hello")`.
pub const HELLO: &[u8] = b"\x00\x53\x77\xa1\x05hello";

/// The plain AMQP header and an open.
pub fn opened() -> Vec<u8> {
    opened_with(open())
}

pub fn opened_with(o: Open) -> Vec<u8> {
    let mut b = AMQP_HEADER.to_vec();
    b.extend(amqp_frame(0, &o, &[]));
    b
}

/// A frame with `doff` words of header (the extended header zeroed).
pub fn with_doff(frame: Vec<u8>, doff: u8) -> Vec<u8> {
    let extra = usize::from(doff) * 4 - 8;
    let mut f = frame;
    f.splice(8..8, std::iter::repeat_n(0u8, extra));
    let n = u32::try_from(f.len()).expect("a small frame");
    f[..4].copy_from_slice(&n.to_be_bytes());
    f[4] = doff;
    f
}

/// `levels` lists nested in one another around a null, as list32s.
pub fn nested_lists(levels: usize) -> Vec<u8> {
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

pub fn close_condition(u: &[Wire]) -> Option<String> {
    common_engine::close_condition(u)
}

pub fn detach_condition(u: &[Wire]) -> Option<String> {
    u.iter().filter_map(Wire::perf).find_map(|p| match p {
        Performative::Detach(d) if d.error.is_some() => {
            d.error.as_ref().map(|e| e.condition.as_str().to_owned())
        }
        _ => None,
    })
}

pub fn rejected_condition(u: &[Wire]) -> Option<String> {
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

pub fn has(u: &[Wire], what: fn(&Performative) -> bool) -> bool {
    u.iter().filter_map(Wire::perf).any(what)
}

/// What a case must get back, within `ANSWER` of its last write.
#[derive(Clone, Copy)]
pub enum Expect {
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
    pub fn describe(self) -> String {
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
    pub fn met(self, p: &Peer, mark: usize) -> bool {
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
pub struct Case {
    pub name: &'static str,
    pub setup: fn(&mut Peer),
    pub send: fn(&mut Peer),
    pub expect: Expect,
}

/// What a peer did with one case's input.
pub struct Observation {
    /// The raw peer, with everything it received.
    pub peer: Peer,
    /// Where, in what it received, the answer to the input begins.
    pub mark: usize,
    /// Why the case's setup failed (the peer did not answer as a broker
    /// should before the input could be sent), if it did.
    pub setup_failed: Option<String>,
    /// How long writing the input took.
    pub sent: Duration,
    /// How long the answer was waited for.
    pub took: Duration,
    /// Whether the input could not all be written (the peer stopped reading).
    pub write_failed: bool,
    /// Whether the answer muon gives was met.
    pub met: bool,
    /// For an input muon serves, and the peer did too: whether a close
    /// sent afterwards was answered within `ANSWER`.
    pub close_answered: Option<bool>,
}

/// Runs case `c` against `port` (waits and writes giving up after
/// `patience`): its setup, its input, then reads until muon's answer has
/// come, the peer sent a close or closed the socket, or `window` passed.
/// A setup that fails is reported, not raised.
pub fn observe(port: u16, c: &Case, patience: Duration, window: Duration) -> Observation {
    let mut p = Peer::connect_with(port, patience);
    let setup = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (c.setup)(&mut p)));
    let mut o = Observation {
        mark: p.got.units.len(),
        setup_failed: setup.err().map(|e| {
            e.downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "the setup panicked".into())
        }),
        peer: p,
        sent: Duration::ZERO,
        took: Duration::ZERO,
        write_failed: false,
        met: false,
        close_answered: None,
    };
    if o.setup_failed.is_some() {
        return o;
    }
    let p = &mut o.peer;
    let mark = o.mark;
    let begun = Instant::now();
    (c.send)(p);
    o.sent = begun.elapsed();
    o.write_failed = p.write_failed;
    let start = Instant::now();
    let expect = c.expect;
    let deadline = start + window;
    let closed = |p: &Peer| close_condition(&p.got.units[mark..]).is_some();
    while !expect.met(p, mark) && !p.eof && !closed(p) && Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        p.read_until(left.min(Duration::from_millis(50)), |_| false);
    }
    o.met = expect.met(p, mark);
    o.took = start.elapsed();
    if o.met
        && let Expect::Served(..) = expect
    {
        // The connection still works: a close is answered.
        p.send(&close());
        o.close_answered = Some(p.read_until(ANSWER, |u| close_condition(u).is_some()));
    }
    o
}

/// Runs a case against `port`: the answer must come within `ANSWER` of
/// the input. Returns a failure message, if any.
pub fn run_case(port: u16, c: &Case) -> Option<String> {
    let o = observe(port, c, LIMIT, ANSWER);
    if let Some(why) = &o.setup_failed {
        return Some(format!("{}: the setup failed: {why}", c.name));
    }
    let (sent, took) = (o.sent, o.took);
    assert!(sent < LIMIT, "{}: writing the input took {sent:?}", c.name);
    let ok = o.met && o.close_answered != Some(false);
    eprintln!("case {:?}: input {sent:?}, answer {took:?}", c.name);
    (!ok).then(|| {
        format!(
            "{}: expected {} within {ANSWER:?} (input written in {sent:?}, waited {took:?}); got: {}",
            c.name,
            c.expect.describe(),
            o.peer.summary()
        )
    })
}

/// A condition as the tables write it: without the `amqp:` prefix.
fn short(cond: &str) -> String {
    format!("`{}`", cond.strip_prefix("amqp:").unwrap_or(cond))
}

/// A protocol header as the tables write it (`AMQP 3 1 0 0`).
fn header_label(h: &[u8; 8]) -> String {
    format!("header `AMQP {} {} {} {}`", h[4], h[5], h[6], h[7])
}

impl Observation {
    /// What the peer answered, in a few words: for an input muon serves,
    /// when the peer gave the same answer, that answer, then any close, end
    /// or detach with an error that came, and whether a close sent
    /// afterwards was answered; otherwise each kind of thing that came
    /// back, in the order it first came (the reply to our own protocol
    /// header left out; close, end and detach with their conditions,
    /// dispositions with their outcomes), then "socket closed" if the
    /// socket closed without a close, or "nothing". Input the peer stopped
    /// reading is said first.
    pub fn label(&self, c: &Case) -> String {
        if let Some(why) = &self.setup_failed {
            let why = why.lines().next().unwrap_or("").split("; got:").next();
            return format!("(setup failed: {})", why.unwrap_or(""));
        }
        let u = &self.peer.got.units[self.mark.min(self.peer.got.units.len())..];
        let mut answer = match (self.met, c.expect) {
            (true, Expect::Served(what, _)) => {
                // Muon's answer; then any error the peer reported (its
                // answer to our close included).
                let errors: Vec<String> = u
                    .iter()
                    .filter_map(Wire::perf)
                    .filter(|p| match p {
                        Performative::Close(x) => x.error.is_some(),
                        Performative::End(x) => x.error.is_some(),
                        Performative::Detach(x) => x.error.is_some(),
                        _ => false,
                    })
                    .map(perf_label)
                    .collect();
                let mut s = what.to_owned();
                if !errors.is_empty() {
                    s = format!("{s}, then {}", errors.join(", "));
                }
                match self.close_answered {
                    Some(true) if errors.is_empty() => s + "; close answered",
                    Some(true) => s,
                    _ => s + "; close not answered",
                }
            }
            _ => {
                let mut items: Vec<String> = Vec::new();
                for w in u {
                    let item = match w {
                        Wire::Header(h) if *h == AMQP_HEADER => continue,
                        Wire::Header(h) => header_label(h),
                        Wire::Sasl(SaslFrame::Mechanisms(_)) => "sasl-mechanisms".into(),
                        Wire::Sasl(SaslFrame::Outcome(o)) => {
                            format!("sasl-outcome `{}`", format!("{:?}", o.code).to_lowercase())
                        }
                        Wire::Sasl(_) => "a SASL frame".into(),
                        Wire::Empty(_) => "empty frames".into(),
                        Wire::Garbage(_) => "undecodable bytes".into(),
                        Wire::Frame { perf, .. } => perf_label(perf),
                    };
                    if !items.contains(&item) {
                        items.push(item);
                    }
                }
                let closed = u
                    .iter()
                    .any(|w| matches!(w.perf(), Some(Performative::Close(_))));
                if self.peer.eof && !closed {
                    items.push("socket closed".into());
                }
                if items.is_empty() {
                    "nothing".into()
                } else {
                    items.join(", ")
                }
            }
        };
        if self.write_failed {
            answer = format!("stopped reading the input; {answer}");
        }
        answer
    }
}

/// A performative as `Observation::label` writes it.
fn perf_label(p: &Performative) -> String {
    let with = |what: &str, e: &Option<muon::codec::transport::AmqpError>| match e {
        Some(e) => format!("{what} {}", short(e.condition.as_str())),
        None => what.to_owned(),
    };
    match p {
        Performative::Close(x) if x.error.is_none() => "close (no error)".into(),
        Performative::Close(x) => with("close", &x.error),
        Performative::End(x) => with("end", &x.error),
        Performative::Detach(x) => with("detach", &x.error),
        Performative::Disposition(d) => match &d.state {
            Some(DeliveryState::Rejected(r)) => with("rejected", &r.error),
            Some(DeliveryState::Accepted) => "accepted".into(),
            Some(DeliveryState::Released) => "released".into(),
            Some(DeliveryState::Modified(_)) => "modified".into(),
            _ => "disposition".into(),
        },
        p => p.name().into(),
    }
}

// ---- the broker's cases -------------------------------------------------------------

pub fn nothing(_: &mut Peer) {}

/// Open, then wait for the broker's open.
pub fn handshake(p: &mut Peer) {
    p.send(&opened());
    p.wait_for("open", |x| matches!(x, Performative::Open(_)).then_some(()));
}

/// Handshake, a begin on channel 0, and a sender link "p" (handle 0) to
/// the queue `hostile`, with the broker's credit in.
pub fn producing(p: &mut Peer) {
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
pub fn consuming(p: &mut Peer) {
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

pub fn is_open(p: &Performative) -> bool {
    matches!(p, Performative::Open(_))
}

pub fn is_attach(p: &Performative) -> bool {
    matches!(p, Performative::Attach(_))
}

pub fn is_flow(p: &Performative) -> bool {
    matches!(p, Performative::Flow(_))
}

pub fn broker_cases() -> Vec<Case> {
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
pub fn detach_or_close_waiting(p: &mut Peer) -> bool {
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
pub fn rss_kib(pid: u32) -> u64 {
    rss_of(pid).expect("VmRSS in /proc/PID/status")
}

/// Resident memory of process `pid`, in KiB, while it exists.
pub fn rss_of(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// A well-behaved client: sends one message to `address` and reads it
/// back, then closes cleanly.
pub fn good_client(port: u16, address: &str) {
    good_client_with(port, address, LIMIT);
}

/// `good_client`, each wait giving up after `patience` (with a panic).
pub fn good_client_with(port: u16, address: &str, patience: Duration) {
    let mut p = Peer::connect_with(port, patience);
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
