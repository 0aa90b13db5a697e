//! Shared harness for the engine tests: a fake clock, two engines pumped
//! in memory, a decoder for the bytes in flight, and hand-made frames.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use muon::codec::frame::{self, FRAME_TYPE_AMQP, FRAME_TYPE_SASL};
use muon::codec::messaging::{DeliveryState, Source, Target};
use muon::codec::security::SaslFrame;
use muon::codec::transport::{Performative, Role as LinkRole};
use muon::codec::{Decoder, Encode};
use muon::engine::{Config, Connection, EndpointState, Event, LinkId, LinkOptions, SessionId};

/// A clock the test moves by hand: a fixed base plus an offset.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base: Instant,
    offset: Duration,
}

impl Clock {
    pub fn new() -> Clock {
        Clock {
            base: Instant::now(),
            offset: Duration::ZERO,
        }
    }
    pub fn now(&self) -> Instant {
        self.base + self.offset
    }
    pub fn advance(&mut self, d: Duration) {
        self.offset += d;
    }
    pub fn set_ms(&mut self, ms: u64) {
        self.offset = Duration::from_millis(ms);
    }
    pub fn at_ms(&self, ms: u64) -> Instant {
        self.base + Duration::from_millis(ms)
    }
}

/// One unit of what went over the wire.
#[derive(Debug, Clone, PartialEq)]
pub enum Wire {
    Header([u8; 8]),
    Sasl(SaslFrame),
    /// An empty AMQP frame (heartbeat), with its channel.
    Empty(u16),
    /// An AMQP frame: channel, whole frame size, performative, payload length.
    Frame {
        channel: u16,
        size: usize,
        perf: Box<Performative>,
        payload: Vec<u8>,
    },
    /// Bytes that are none of the above (the rest of the stream is not parsed).
    Garbage(Vec<u8>),
}

impl Wire {
    pub fn perf(&self) -> Option<&Performative> {
        match self {
            Wire::Frame { perf, .. } => Some(perf),
            _ => None,
        }
    }
}

/// Decodes a byte stream into [`Wire`] units, incrementally. A protocol
/// header is recognised by "AMQP" at a frame boundary.
#[derive(Debug, Default)]
pub struct WireLog {
    buf: Vec<u8>,
    broken: bool,
    pub units: Vec<Wire>,
    /// Keep transfer payloads (off for big transfers).
    pub keep_payloads: bool,
}

impl WireLog {
    pub fn new() -> WireLog {
        WireLog {
            keep_payloads: true,
            ..WireLog::default()
        }
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        if self.broken {
            return;
        }
        self.buf.extend_from_slice(bytes);
        let mut pos = 0;
        loop {
            let rest = &self.buf[pos..];
            if rest.len() >= 4 && &rest[..4] == b"AMQP" {
                if rest.len() < 8 {
                    break;
                }
                let mut h = [0u8; 8];
                h.copy_from_slice(&rest[..8]);
                self.units.push(Wire::Header(h));
                pos += 8;
                continue;
            }
            match frame::parse_frame(rest, u32::MAX) {
                Ok(None) => break,
                Ok(Some((f, used))) => {
                    let unit = if f.frame_type == FRAME_TYPE_SASL {
                        match SaslFrame::decode(&mut Decoder::new(f.body)) {
                            Ok(s) => Wire::Sasl(s),
                            Err(_) => Wire::Garbage(f.body.to_vec()),
                        }
                    } else if f.body.is_empty() {
                        Wire::Empty(f.channel)
                    } else {
                        let mut d = Decoder::new(f.body);
                        match Performative::decode(&mut d) {
                            Ok(p) => Wire::Frame {
                                channel: f.channel,
                                size: used,
                                perf: Box::new(p),
                                payload: if self.keep_payloads {
                                    f.body[d.position()..].to_vec()
                                } else {
                                    Vec::new()
                                },
                            },
                            Err(_) => Wire::Garbage(f.body.to_vec()),
                        }
                    };
                    self.units.push(unit);
                    pos += used;
                }
                Err(_) => {
                    self.units.push(Wire::Garbage(rest.to_vec()));
                    self.broken = true;
                    pos = self.buf.len();
                    break;
                }
            }
        }
        self.buf.drain(..pos);
    }

    pub fn take(&mut self) -> Vec<Wire> {
        std::mem::take(&mut self.units)
    }

    pub fn perfs(&self) -> impl Iterator<Item = &Performative> {
        self.units.iter().filter_map(Wire::perf)
    }
}

/// Decodes a whole byte stream at once.
pub fn decode_all(bytes: &[u8]) -> Vec<Wire> {
    let mut w = WireLog::new();
    w.feed(bytes);
    w.units
}

/// What a side does by itself when events arrive.
#[derive(Debug, Clone, Copy)]
pub struct Auto {
    /// Answer remote open/begin/attach/detach/end/close with ours.
    pub handshake: bool,
    /// Receivers answered by the handshake get this much credit (0: none).
    pub credit: u32,
    /// Accept and settle every incoming message.
    pub accept: bool,
    /// Settle outgoing deliveries once the peer settled them or gave a
    /// terminal outcome.
    pub settle: bool,
}

impl Default for Auto {
    fn default() -> Self {
        Auto {
            handshake: true,
            credit: 0,
            accept: false,
            settle: true,
        }
    }
}

/// One engine with its event log and what it wrote.
pub struct Side {
    pub conn: Connection,
    pub events: Vec<Event>,
    pub sent: WireLog,
    pub auto: Auto,
    /// Output is not delivered to the peer while set.
    pub hold: bool,
}

impl Side {
    fn new(conn: Connection) -> Side {
        Side {
            conn,
            events: Vec::new(),
            sent: WireLog::new(),
            auto: Auto::default(),
            hold: false,
        }
    }

    /// Takes the events logged so far.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Handles every waiting event (auto behaviours), logging them.
    pub fn drain_events(&mut self) -> bool {
        let mut any = false;
        while let Some(e) = self.conn.next_event() {
            any = true;
            self.react(&e);
            self.events.push(e);
        }
        any
    }

    fn react(&mut self, e: &Event) {
        let a = self.auto;
        let c = &mut self.conn;
        match *e {
            Event::ConnectionRemoteOpen
                if a.handshake && c.local_state() == EndpointState::Uninit =>
            {
                c.open();
            }
            Event::ConnectionRemoteClose
                if a.handshake && c.local_state() != EndpointState::Closed =>
            {
                c.close(None);
            }
            Event::SessionRemoteOpen(s)
                if a.handshake && c.session_local_state(s) == EndpointState::Uninit =>
            {
                c.session_open(s).unwrap();
            }
            Event::SessionRemoteClose(s)
                if a.handshake && c.session_local_state(s) != EndpointState::Closed =>
            {
                c.session_close(s, None).unwrap();
            }
            Event::LinkRemoteOpen(l)
                if a.handshake && c.link_local_state(l) == EndpointState::Uninit =>
            {
                c.link_open(l).unwrap();
                if a.credit > 0 && c.link_role(l) == Some(LinkRole::Receiver) {
                    c.link_flow(l, a.credit, false).unwrap();
                }
            }
            Event::LinkRemoteClose(l)
                if a.handshake && c.link_local_state(l) != EndpointState::Closed =>
            {
                let closed = c.link_remote_closed(l);
                c.link_close(l, closed, None).unwrap();
            }
            Event::Delivery(d) if a.accept => {
                c.disposition(d, Some(DeliveryState::Accepted), true)
                    .unwrap();
            }
            Event::DeliveryUpdated(d) if a.settle => {
                let outgoing = c
                    .delivery_link(d)
                    .and_then(|l| c.link_role(l))
                    .is_some_and(|r| r == LinkRole::Sender);
                let terminal = c.delivery_remote_state(d).is_some_and(|s| s.is_terminal());
                if outgoing && (c.delivery_remote_settled(d) || terminal) {
                    c.settle(d).unwrap();
                }
            }
            _ => {}
        }
    }
}

/// Two engines wired back to back.
pub struct Pair {
    pub c: Side,
    pub s: Side,
    pub clock: Clock,
    /// Bytes moved per step (0: all that is pending).
    pub chunk: usize,
}

/// A client config: container "client", anonymous SASL.
pub fn client_config() -> Config {
    Config {
        container_id: "client".into(),
        ..Config::default()
    }
}

/// A server config: container "server".
pub fn server_config() -> Config {
    Config {
        container_id: "server".into(),
        ..Config::default()
    }
}

impl Pair {
    pub fn new(client: Config, server: Config) -> Pair {
        let clock = Clock::new();
        Pair {
            c: Side::new(Connection::client(client, clock.now())),
            s: Side::new(Connection::server(server, clock.now())),
            clock,
            chunk: 0,
        }
    }

    pub fn default_pair() -> Pair {
        Pair::new(client_config(), server_config())
    }

    /// Moves up to one chunk from `a` to `b`; true if anything moved.
    fn step(a: &mut Side, b: &mut Side, chunk: usize, now: Instant) -> bool {
        if a.hold {
            return false;
        }
        let out = a.conn.output();
        if out.is_empty() {
            return false;
        }
        let n = if chunk == 0 {
            out.len()
        } else {
            chunk.min(out.len())
        };
        a.sent.feed(&out[..n]);
        b.conn.receive(&out[..n], now);
        a.conn.consume_output(n);
        true
    }

    /// Moves bytes both ways and handles events until nothing happens.
    pub fn pump(&mut self) {
        let now = self.clock.now();
        for _ in 0..10_000_000 {
            let mut moved = Pair::step(&mut self.c, &mut self.s, self.chunk, now);
            moved |= Pair::step(&mut self.s, &mut self.c, self.chunk, now);
            moved |= self.c.drain_events();
            moved |= self.s.drain_events();
            if !moved {
                return;
            }
        }
        panic!("pump did not settle");
    }

    /// Ticks both engines at the clock's time, then pumps.
    pub fn tick(&mut self) {
        let now = self.clock.now();
        self.c.conn.tick(now);
        self.s.conn.tick(now);
        self.pump();
    }

    /// Opens the connection (client first, server answers).
    pub fn connect(&mut self) {
        self.c.conn.open();
        self.pump();
        assert_eq!(self.c.conn.remote_state(), EndpointState::Active);
        assert_eq!(self.s.conn.remote_state(), EndpointState::Active);
    }

    /// Begins a session from the client; returns (client, server) ids.
    pub fn session(&mut self) -> (SessionId, SessionId) {
        let cs = self.c.conn.session_new().unwrap();
        self.c.conn.session_open(cs).unwrap();
        self.pump();
        let ss = self
            .s
            .events
            .iter()
            .rev()
            .find_map(|e| match e {
                Event::SessionRemoteOpen(s) => Some(*s),
                _ => None,
            })
            .expect("server saw the begin");
        (cs, ss)
    }

    /// Attaches a link from the client; returns (client, server) ids.
    pub fn link(
        &mut self,
        cs: SessionId,
        role: LinkRole,
        options: LinkOptions,
    ) -> (LinkId, LinkId) {
        let cl = self.c.conn.link_new(cs, role, options).unwrap();
        self.c.conn.link_open(cl).unwrap();
        self.pump();
        let name = self.c.conn.link_name(cl).unwrap().to_owned();
        let sl = self
            .s
            .events
            .iter()
            .rev()
            .find_map(|e| match e {
                Event::LinkRemoteOpen(l) if self.s.conn.link_name(*l) == Some(name.as_str()) => {
                    Some(*l)
                }
                _ => None,
            })
            .expect("server saw the attach");
        (cl, sl)
    }

    /// A connected pair with one session and a client sender to "q"
    /// whose server-side receiver has `credit`.
    pub fn with_sender(credit: u32) -> (Pair, LinkId, LinkId) {
        let mut p = Pair::default_pair();
        p.s.auto.credit = credit;
        p.connect();
        let (cs, _) = p.session();
        let (cl, sl) = p.link(cs, LinkRole::Sender, sender_options("q"));
        (p, cl, sl)
    }
}

pub fn sender_options(address: &str) -> LinkOptions {
    LinkOptions {
        target: Some(Target::address(address)),
        source: Some(Source::default()),
        ..LinkOptions::default()
    }
}

pub fn receiver_options(address: &str) -> LinkOptions {
    LinkOptions {
        source: Some(Source::address(address)),
        target: Some(Target::default()),
        ..LinkOptions::default()
    }
}

/// One AMQP frame carrying `perf` and `payload` on `channel`.
pub fn amqp_frame<P: Encode>(channel: u16, perf: &P, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mark = frame::begin_frame(&mut out, FRAME_TYPE_AMQP, channel);
    perf.encode(&mut out);
    out.extend_from_slice(payload);
    frame::end_frame(&mut out, mark);
    out
}

/// One SASL frame carrying `perf`.
pub fn sasl_frame<P: Encode>(perf: &P) -> Vec<u8> {
    let mut out = Vec::new();
    let mark = frame::begin_frame(&mut out, FRAME_TYPE_SASL, 0);
    perf.encode(&mut out);
    frame::end_frame(&mut out, mark);
    out
}

/// The condition of the last `close` in `units`, if any.
pub fn close_condition(units: &[Wire]) -> Option<String> {
    units.iter().rev().find_map(|u| match u.perf() {
        Some(Performative::Close(c)) => Some(
            c.error
                .as_ref()
                .map(|e| e.condition.as_str().to_owned())
                .unwrap_or_default(),
        ),
        _ => None,
    })
}

/// The conditions of every `TransportError` in `events`.
pub fn transport_errors(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::TransportError(err) => Some(err.condition.as_str().to_owned()),
            _ => None,
        })
        .collect()
}

// ---- SASL --------------------------------------------------------------------

/// A client and a server engine with these SASL settings (over a transport
/// that is `encrypted` or not), the client opened and the pair pumped.
pub fn sasl_pair(
    client: muon::engine::SaslConfig,
    server: muon::engine::SaslConfig,
    encrypted: bool,
) -> Pair {
    let mut p = Pair::new(
        Config {
            sasl: client,
            encrypted,
            ..client_config()
        },
        Config {
            sasl: server,
            encrypted,
            ..server_config()
        },
    );
    p.c.conn.open();
    p.pump();
    p
}

/// The SASL frames among what went over the wire.
pub fn sasl_frames(units: &[Wire]) -> Vec<SaslFrame> {
    units
        .iter()
        .filter_map(|u| match u {
            Wire::Sasl(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}
