//! The whole-connection check: a client and a server engine wired back to
//! back in memory, driven by the input as a script of operations. Besides
//! passing each other's genuine output (in chunks the input chooses), the
//! script injects arbitrary bytes into either side, corrupts or drops the
//! genuine output, moves the clock, and makes either side begin, attach,
//! send, grant credit, settle, detach, end, close and lose its transport.
//! Each side answers what the peer asks as an application would (open,
//! begin, attach with credit, accept).
//!
//! Shared by the `connection` fuzz target and `tests/fuzz_replay.rs`
//! (which runs it over every committed seed and corpus file).
//!
//! Invariants checked after every operation (a failure panics):
//! - no panic anywhere in the engine;
//! - what each engine writes parses as its protocol: a protocol header
//!   first, SASL frames only after a SASL header and at most 512 bytes,
//!   then (after the outcome) the AMQP header and AMQP frames no larger
//!   than the frame size in force (512 until the peer's `open`, then the
//!   peer's `max-frame-size`), every frame body decoding as what its type
//!   says, and nothing at all after a `close` frame;
//! - buffered input is at most one frame of our `max-frame-size` plus
//!   what the last `receive` handed in (the engine's documented bound);
//! - output is bounded by input: over the whole run, what an engine wrote
//!   (taken and still buffered, with payloads held back by the peer's
//!   window) is at most `OUTPUT_PER_INPUT_BYTE` bytes per byte it was fed,
//!   plus what the script's own commands may write (`COMMAND_COST` each,
//!   a send twice its payload more) and `INITIAL_ALLOWANCE` (headers, SASL
//!   exchange, one close with its error); and within one operation, the
//!   same for the input it completed (the partial frame it held plus what
//!   it was fed) plus `REACTION_SLACK` (dispositions and flows queued as
//!   reactions to earlier input, flushed now). Every answer the engine
//!   gives is a constant plus at most what the peer's own frame carried
//!   (begin, attach, flow, disposition, detach, end, close), and the
//!   smallest frame is 8 bytes, so a peer cannot make it write out of
//!   proportion to what it sends; and as the reactor does, the driver
//!   feeds input only while `wants_input()` (output at most
//!   `max_output`), so what a peer that does not read can make an engine
//!   buffer stays near `max_output`;
//! - links and deliveries held stay within the configured limits plus
//!   what this script created itself.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use muon::codec::Decoder;
use muon::codec::frame::{
    AMQP_HEADER, FRAME_TYPE_AMQP, FRAME_TYPE_SASL, MIN_MAX_FRAME_SIZE, SASL_HEADER, parse_frame,
};
use muon::codec::messaging::{DeliveryState, Rejected, Source, Target};
use muon::codec::security::SaslFrame;
use muon::codec::transport::{AmqpError, Performative, Role as LinkRole};
use muon::engine::{
    Config, Connection, DeliveryId, EndpointState, Event, LinkId, LinkOptions, SaslConfig,
    SessionId,
};

/// Output bytes an engine may write per input byte it is fed. Measured
/// with the `amplify` seed (a peer attaching and detaching again and
/// again, and asking for echoed flows): about 1.4; 4 leaves room for
/// answers whose fixed part is larger than the small frame that asked.
/// (The first answers, a protocol header answered with a header and the
/// SASL mechanisms, are in `INITIAL_ALLOWANCE`.)
pub const OUTPUT_PER_INPUT_BYTE: usize = 4;
/// Output bytes one command of the script may write (begin, attach with
/// the small termini used here, flow, disposition, detach, end or close
/// with a short error, a tick's heartbeat or idle close); a send may
/// write its payload twice more (frame headers and transfer performatives
/// of a payload split at 512 bytes).
pub const COMMAND_COST: usize = 512;
/// What an engine may write besides: protocol headers, the SASL exchange,
/// a close whose error describes a violation.
pub const INITIAL_ALLOWANCE: usize = 2048;
/// What one operation may flush of frames queued by reactions to earlier
/// input: dispositions and flows of every link (at most 32 here).
pub const REACTION_SLACK: usize = 8 * 1024;
/// At most this many operations are run per input.
const MAX_OPS: usize = 2000;
/// At most this many sessions, links and sends are made by the script on
/// each side.
const MAX_LOCAL_SESSIONS: usize = 8;
const MAX_LOCAL_LINKS: usize = 16;
const MAX_SENDS: usize = 200;
/// Payload sizes a send picks from.
const PAYLOADS: [usize; 6] = [0, 1, 20, 300, 700, 5000];

/// The engine limits of the fuzzed connection: small, so that the input
/// reaches them.
fn config(id: &str, flags: u8, client: bool) -> Config {
    let bit = |n: u8| flags & (1 << n) != 0;
    let (sasl_bit, small_frames, idle) = if client { (0, 2, 4) } else { (1, 3, 5) };
    Config {
        container_id: id.into(),
        sasl: SaslConfig {
            enabled: bit(sasl_bit),
            allow_skip: !bit(6),
            ..SaslConfig::default()
        },
        max_frame_size: if bit(small_frames) { 512 } else { 4096 },
        channel_max: 15,
        idle_timeout: bit(idle).then_some(Duration::from_millis(1000)),
        session_window: 8,
        max_message_size: 64 * 1024,
        max_output: 16 * 1024,
        max_sessions: 4,
        max_links_per_session: 4,
        max_link_state: 32 * 1024,
        max_unsettled_per_link: 8,
        max_incomplete_bytes: 32 * 1024,
        ..Config::default()
    }
}

/// Reads the script.
struct Script<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Script<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }
    fn take(&mut self, n: usize) -> &[u8] {
        let end = self.pos.saturating_add(n).min(self.data.len());
        let s = &self.data[self.pos..end];
        self.pos = end;
        s
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> Option<T> {
        if v.is_empty() {
            return None;
        }
        let i = usize::from(self.byte().unwrap_or(0)) % v.len();
        Some(v[i])
    }
}

/// Where the parse of one side's output is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    /// Nothing yet: a protocol header must come.
    Start,
    /// After the SASL header.
    Sasl,
    /// After the AMQP header.
    Amqp,
    /// After a `close`: nothing may follow.
    Closed,
}

/// Checks one engine's output stream as it is taken.
struct OutputCheck {
    buf: Vec<u8>,
    state: Stream,
    who: &'static str,
}

impl OutputCheck {
    fn new(who: &'static str) -> OutputCheck {
        OutputCheck {
            buf: Vec::new(),
            state: Stream::Start,
            who,
        }
    }

    /// Takes `bytes` the engine wrote; `max_frame` is the frame size in
    /// force (ours to the peer).
    fn feed(&mut self, bytes: &[u8], max_frame: u32) {
        let who = self.who;
        if bytes.is_empty() {
            return;
        }
        assert!(
            self.state != Stream::Closed,
            "{who} wrote {} bytes after its close",
            bytes.len()
        );
        self.buf.extend_from_slice(bytes);
        let mut pos = 0;
        loop {
            let rest = &self.buf[pos..];
            if rest.is_empty() {
                break;
            }
            let header_allowed = matches!(self.state, Stream::Start | Stream::Sasl);
            let n = rest.len().min(4);
            if header_allowed && rest[..n] == b"AMQP"[..n] {
                if rest.len() < 8 {
                    break;
                }
                let h = &rest[..8];
                self.state = if h == SASL_HEADER && self.state == Stream::Start {
                    Stream::Sasl
                } else if h == AMQP_HEADER {
                    Stream::Amqp
                } else {
                    panic!(
                        "{who} wrote the protocol header {h:02x?} in state {:?}",
                        self.state
                    )
                };
                pos += 8;
                continue;
            }
            assert!(
                self.state != Stream::Start,
                "{who} wrote {:02x?} before a protocol header",
                &rest[..rest.len().min(16)]
            );
            let limit = if self.state == Stream::Sasl {
                MIN_MAX_FRAME_SIZE
            } else {
                max_frame.max(MIN_MAX_FRAME_SIZE)
            };
            let (frame, used) = match parse_frame(rest, limit) {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => panic!("{who} wrote a bad frame ({e}) in state {:?}", self.state),
            };
            match (self.state, frame.frame_type) {
                (Stream::Sasl, FRAME_TYPE_SASL) => {
                    if let Err(e) = SaslFrame::decode(&mut Decoder::new(frame.body)) {
                        panic!("{who} wrote a SASL frame that does not decode: {e}");
                    }
                }
                (Stream::Amqp, FRAME_TYPE_AMQP) => {
                    if !frame.body.is_empty() {
                        match Performative::decode(&mut Decoder::new(frame.body)) {
                            Ok(Performative::Close(_)) => self.state = Stream::Closed,
                            Ok(_) => {}
                            Err(e) => {
                                panic!("{who} wrote a performative that does not decode: {e}")
                            }
                        }
                    }
                }
                (s, t) => panic!("{who} wrote a frame of type {t} in state {s:?}"),
            }
            pos += used;
            if self.state == Stream::Closed {
                assert!(
                    pos == self.buf.len(),
                    "{who} wrote {} bytes after its close",
                    self.buf.len() - pos
                );
            }
        }
        self.buf.drain(..pos);
    }
}

/// What an engine had written and held before an operation.
#[derive(Debug, Clone, Copy)]
struct Held {
    produced: usize,
    input: usize,
}

/// One engine, what it made, and what the script may pick from.
struct Side {
    conn: Connection,
    out: OutputCheck,
    sessions: Vec<SessionId>,
    links: Vec<LinkId>,
    deliveries: Vec<DeliveryId>,
    local_sessions: usize,
    local_links: usize,
    sends: usize,
    accept: bool,
    /// Output bytes taken from the engine so far.
    taken: usize,
    /// Input bytes fed to the engine so far.
    fed: usize,
    /// Output the script's commands may have caused so far.
    allowance: usize,
}

impl Side {
    fn new(conn: Connection, who: &'static str, accept: bool) -> Side {
        Side {
            conn,
            out: OutputCheck::new(who),
            sessions: Vec::new(),
            links: Vec::new(),
            deliveries: Vec::new(),
            local_sessions: 0,
            local_links: 0,
            sends: 0,
            accept,
            taken: 0,
            fed: 0,
            allowance: INITIAL_ALLOWANCE,
        }
    }

    /// Everything the engine has written: taken, buffered, and payloads
    /// held back by the peer's window.
    fn produced(&self) -> usize {
        self.taken + self.conn.output_len() + self.conn.pending_send_bytes()
    }

    fn held(&self) -> Held {
        Held {
            produced: self.produced(),
            input: self.conn.input_len(),
        }
    }

    /// Feeds `bytes` as input, if the engine wants input; returns how many
    /// bytes were fed.
    fn feed(&mut self, bytes: &[u8], now: Instant) -> usize {
        if !self.conn.wants_input() {
            return 0;
        }
        self.conn.receive(bytes, now);
        self.fed += bytes.len();
        bytes.len()
    }

    /// Handles every waiting event as an application would.
    fn drain_events(&mut self) {
        let mut n = 0;
        while let Some(e) = self.conn.next_event() {
            n += 1;
            assert!(n < 1_000_000, "{}: endless events", self.out.who);
            self.react(e);
        }
    }

    fn react(&mut self, e: Event) {
        let c = &mut self.conn;
        match e {
            Event::ConnectionRemoteOpen if c.local_state() == EndpointState::Uninit => c.open(),
            Event::ConnectionRemoteClose if c.local_state() != EndpointState::Closed => {
                c.close(None)
            }
            Event::SessionRemoteOpen(s) => {
                if c.session_local_state(s) == EndpointState::Uninit {
                    let _ = c.session_open(s);
                }
                if !self.sessions.contains(&s) {
                    self.sessions.push(s);
                }
            }
            Event::SessionRemoteClose(s) if c.session_local_state(s) != EndpointState::Closed => {
                let _ = c.session_close(s, None);
            }
            Event::LinkRemoteOpen(l) => {
                if c.link_local_state(l) == EndpointState::Uninit {
                    let _ = c.link_open(l);
                    if c.link_role(l) == Some(LinkRole::Receiver) {
                        let _ = c.link_flow(l, 4, false);
                    }
                }
                if !self.links.contains(&l) {
                    self.links.push(l);
                }
            }
            Event::LinkRemoteClose(l) if c.link_local_state(l) != EndpointState::Closed => {
                let closed = c.link_remote_closed(l);
                let _ = c.link_close(l, closed, None);
            }
            Event::Delivery(d) => {
                if let Some(p) = c.delivery_take_payload(d) {
                    let _ = muon::codec::message::Message::decode(&p);
                    c.recycle_payload(p);
                }
                if self.accept {
                    let _ = c.disposition(d, Some(DeliveryState::Accepted), true);
                } else if self.deliveries.len() < 64 {
                    self.deliveries.push(d);
                }
            }
            Event::DeliveryUpdated(d) => {
                let terminal = c.delivery_remote_state(d).is_some_and(|s| s.is_terminal());
                if c.delivery_remote_settled(d) || terminal {
                    let _ = c.settle(d);
                }
            }
            Event::LinkFinal(l) => self.links.retain(|x| *x != l),
            Event::SessionFinal(s) => self.sessions.retain(|x| *x != s),
            _ => {}
        }
    }

    /// Checks the bounds on what the engine holds and wrote, after an
    /// operation that fed it `fed` bytes and allowed its commands `cost`.
    fn check_bounds(&self, cfg: &Config, before: Held, fed: usize, cost: usize) {
        let who = self.out.who;
        let c = &self.conn;
        assert!(
            c.input_len() <= cfg.max_frame_size as usize + fed,
            "{who} holds {} input bytes (max-frame-size {}, {fed} fed)",
            c.input_len(),
            cfg.max_frame_size
        );
        let produced = self.produced();
        let bound = OUTPUT_PER_INPUT_BYTE * self.fed + self.allowance;
        assert!(
            produced <= bound,
            "{who} wrote {produced} bytes, fed {} (bound {bound})",
            self.fed
        );
        let grew = produced.saturating_sub(before.produced);
        let bound = OUTPUT_PER_INPUT_BYTE * (before.input + fed) + cost + REACTION_SLACK;
        assert!(
            grew <= bound,
            "{who} wrote {grew} bytes in one operation (bound {bound}; before: {before:?}, {fed} fed)"
        );
        // Links: those the peer may have attached at once, plus ours.
        let peer_links = cfg.max_sessions * cfg.max_links_per_session;
        assert!(
            c.link_count() <= peer_links + MAX_LOCAL_LINKS,
            "{who} holds {} links",
            c.link_count()
        );
        // Deliveries: each link at most max_unsettled_per_link incoming,
        // plus what the script sent.
        let deliveries = (peer_links + MAX_LOCAL_LINKS) * cfg.max_unsettled_per_link + MAX_SENDS;
        assert!(
            c.delivery_count() <= deliveries,
            "{who} holds {} deliveries",
            c.delivery_count()
        );
    }
}

/// The frame size in force for what `c` writes.
fn frame_limit(c: &Connection) -> u32 {
    if c.remote_open().is_some() {
        c.remote_max_frame_size()
    } else {
        MIN_MAX_FRAME_SIZE
    }
}

/// Takes up to `n` bytes of `from`'s output (checking them), possibly
/// changed by `edit`, and hands them to `to` if it wants input. Returns
/// the number of bytes handed over.
fn transfer(
    from: &mut Side,
    to: &mut Side,
    n: usize,
    now: Instant,
    edit: Option<(usize, u8)>,
    deliver: bool,
) -> usize {
    if deliver && !to.conn.wants_input() {
        return 0;
    }
    let limit = frame_limit(&from.conn);
    let out = from.conn.output();
    let n = n.min(out.len());
    if n == 0 {
        return 0;
    }
    let mut bytes = out[..n].to_vec();
    from.conn.consume_output(n);
    from.taken += n;
    from.out.feed(&bytes, limit);
    if !deliver {
        return 0;
    }
    if let Some((at, b)) = edit {
        let at = at % bytes.len();
        bytes[at] = b;
    }
    to.feed(&bytes, now)
}

fn link_options(sender: bool, n: usize) -> LinkOptions {
    let addr = format!("q{n}");
    if sender {
        LinkOptions {
            target: Some(Target::address(&addr)),
            source: Some(Source::default()),
            ..LinkOptions::default()
        }
    } else {
        LinkOptions {
            source: Some(Source::address(&addr)),
            target: Some(Target::default()),
            ..LinkOptions::default()
        }
    }
}

/// Runs the script `data`. Panics when an invariant does not hold.
pub fn check_connection(data: &[u8]) {
    let mut s = Script { data, pos: 0 };
    let flags = s.byte().unwrap_or(0);
    let ccfg = config("client", flags, true);
    let scfg = config("server", flags, false);
    let base = Instant::now();
    let mut ms: u64 = 0;
    let mut c = Side::new(Connection::client(ccfg.clone(), base), "client", false);
    let mut v = Side::new(
        Connection::server(scfg.clone(), base),
        "server",
        flags & 0x80 != 0,
    );
    c.conn.open();

    for _ in 0..MAX_OPS {
        let Some(op) = s.byte() else { break };
        let arg = op >> 4;
        let now = base + Duration::from_millis(ms);
        let server_acts = arg & 1 == 1;
        let (before_c, before_v) = (c.held(), v.held());
        let (mut fed_c, mut fed_v) = (0usize, 0usize);
        // What the acting side's command may write.
        let mut cost = COMMAND_COST;
        match op & 0x0f {
            // The genuine output, in chunks of 1..=all bytes.
            0 | 1 => {
                let n = if arg == 0 {
                    usize::MAX
                } else {
                    usize::from(arg) * usize::from(arg) * 3
                };
                if op & 0x0f == 0 {
                    fed_v = transfer(&mut c, &mut v, n, now, None, true);
                } else {
                    fed_c = transfer(&mut v, &mut c, n, now, None, true);
                }
            }
            // Arbitrary bytes from the script, to one side.
            2 | 3 => {
                let len = usize::from(s.byte().unwrap_or(0)) + 1;
                let bytes = s.take(len).to_vec();
                if op & 0x0f == 2 {
                    fed_v = v.feed(&bytes, now);
                } else {
                    fed_c = c.feed(&bytes, now);
                }
            }
            // Time passes.
            4 => {
                const STEPS: [u64; 8] = [0, 1, 10, 100, 499, 1000, 5000, 31_000];
                ms += STEPS[usize::from(arg & 7)];
                let now = base + Duration::from_millis(ms);
                let _ = c.conn.tick(now);
                let _ = v.conn.tick(now);
            }
            // Begin a session.
            5 => {
                let side = if server_acts { &mut v } else { &mut c };
                if side.local_sessions < MAX_LOCAL_SESSIONS
                    && let Ok(id) = side.conn.session_new()
                {
                    side.local_sessions += 1;
                    side.sessions.push(id);
                    let _ = side.conn.session_open(id);
                }
            }
            // Attach a link.
            6 => {
                let side = if server_acts { &mut v } else { &mut c };
                if side.local_links < MAX_LOCAL_LINKS
                    && let Some(sid) = s.pick(&side.sessions)
                {
                    let sender = arg & 2 != 0;
                    let role = if sender {
                        LinkRole::Sender
                    } else {
                        LinkRole::Receiver
                    };
                    side.local_links += 1;
                    if let Ok(l) =
                        side.conn
                            .link_new(sid, role, link_options(sender, side.local_links))
                    {
                        side.links.push(l);
                        let _ = side.conn.link_open(l);
                        if !sender {
                            let _ = side.conn.link_flow(l, u32::from(arg >> 2) * 3, false);
                        }
                    }
                }
            }
            // Send a message.
            7 => {
                let side = if server_acts { &mut v } else { &mut c };
                if side.sends < MAX_SENDS
                    && let Some(l) = s.pick(&side.links)
                {
                    side.sends += 1;
                    let size = PAYLOADS[usize::from(arg >> 1) % PAYLOADS.len()];
                    cost += 2 * size;
                    let payload = vec![0x5a; size];
                    let _ = side.conn.send(l, None, payload.as_slice(), arg & 8 != 0);
                }
            }
            // Credit (and drain).
            8 => {
                let side = if server_acts { &mut v } else { &mut c };
                if let Some(l) = s.pick(&side.links) {
                    let credit = u32::from(s.byte().unwrap_or(0) & 0x1f);
                    let _ = side.conn.link_flow(l, credit, arg & 2 != 0);
                    if arg & 4 != 0 {
                        let _ = side.conn.link_request_echo(l);
                    }
                    if arg & 8 != 0 {
                        let _ = side.conn.link_drained(l);
                    }
                }
            }
            // An outcome for a delivery held.
            9 => {
                let side = if server_acts { &mut v } else { &mut c };
                if let Some(d) = s.pick(&side.deliveries) {
                    let state = match arg >> 1 {
                        0 => None,
                        1 => Some(DeliveryState::Accepted),
                        2 => Some(DeliveryState::Released),
                        _ => Some(DeliveryState::Rejected(Rejected {
                            error: Some(AmqpError::new("amqp:internal-error", "no")),
                        })),
                    };
                    let _ = side.conn.disposition(d, state, arg & 8 != 0);
                    side.deliveries.retain(|x| *x != d);
                }
            }
            // Detach a link.
            10 => {
                let side = if server_acts { &mut v } else { &mut c };
                if let Some(l) = s.pick(&side.links) {
                    let err = (arg & 4 != 0).then(|| AmqpError::new("amqp:internal-error", "x"));
                    let _ = side.conn.link_close(l, arg & 2 != 0, err);
                }
            }
            // End a session.
            11 => {
                let side = if server_acts { &mut v } else { &mut c };
                if let Some(sid) = s.pick(&side.sessions) {
                    let err = (arg & 2 != 0).then(|| AmqpError::new("amqp:internal-error", "x"));
                    let _ = side.conn.session_close(sid, err);
                }
            }
            // Close the connection.
            12 => {
                let side = if server_acts { &mut v } else { &mut c };
                let err = (arg & 2 != 0).then(|| AmqpError::new("amqp:internal-error", "x"));
                side.conn.close(err);
            }
            // The transport ends.
            13 => {
                let side = if server_acts { &mut v } else { &mut c };
                match arg >> 1 {
                    0 => side.conn.input_closed(now),
                    1 => side
                        .conn
                        .transport_broken(&AmqpError::new("amqp:connection:forced", "lost"), now),
                    2 => side.conn.abort(),
                    _ => {}
                }
            }
            // The genuine output with one byte changed, or dropped.
            _ => {
                let n = usize::from(s.byte().unwrap_or(0)) + 1;
                let at = usize::from(s.byte().unwrap_or(0));
                let b = s.byte().unwrap_or(0);
                let deliver = arg & 2 == 0;
                let edit = (op & 0x0f == 14).then_some((at, b));
                if server_acts {
                    fed_c = transfer(&mut v, &mut c, n, now, edit, deliver);
                } else {
                    fed_v = transfer(&mut c, &mut v, n, now, edit, deliver);
                }
            }
        }
        // Commands (kinds 4 to 13) are allowed their output: a tick on
        // both sides, any other on the side that acted.
        let (cost_c, cost_v) = match op & 0x0f {
            4 => (cost, cost),
            5..=13 if server_acts => (0, cost),
            5..=13 => (cost, 0),
            _ => (0, 0),
        };
        c.allowance += cost_c;
        v.allowance += cost_v;
        c.drain_events();
        v.drain_events();
        c.check_bounds(&ccfg, before_c, fed_c, cost_c);
        v.check_bounds(&scfg, before_v, fed_v, cost_v);
    }

    // The end: whatever each side still has to say must parse too.
    let limit = frame_limit(&c.conn);
    let rest = c.conn.output().to_vec();
    c.out.feed(&rest, limit);
    let limit = frame_limit(&v.conn);
    let rest = v.conn.output().to_vec();
    v.out.feed(&rest, limit);
}
