//! The connection: protocol headers, frames in and out, open and close,
//! heartbeats and idle timeout (spec §2.2–§2.4), and the event queue.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::config::Config;
use super::delivery::Delivery;
use super::event::Event;
use super::link::Link;
use super::sasl::Sasl;
use super::session::Session;
use super::slab::Slab;
use super::{LinkId, SessionId};
use crate::codec::Decoder;
use crate::codec::Encode;
use crate::codec::frame::{
    self, FRAME_TYPE_AMQP, FRAME_TYPE_SASL, FrameError, MIN_MAX_FRAME_SIZE, ProtocolHeader,
};
use crate::codec::transport::{AmqpError, Close, Open, Performative, condition};

/// Which end of the TCP connection this engine is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The side that connected.
    Client,
    /// The side that accepted.
    Server,
}

/// Where the byte stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Waiting for the peer's protocol header; `None` = any (a server
    /// before the first header), else the one expected.
    AwaitHeader(Option<ProtocolHeader>),
    /// SASL frames.
    Sasl,
    /// AMQP frames.
    Amqp,
    /// Nothing more is read.
    Done,
}

/// The lifecycle of one side of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EndpointState {
    /// Not opened yet.
    #[default]
    Uninit,
    /// Opened (for the local side: the frame was sent or is queued).
    Active,
    /// Closed.
    Closed,
}

/// Work the application queued before its prerequisites existed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deferred {
    Begin(SessionId),
}

/// An entity whose final event was handed out; it is released on the next
/// call to [`Connection::next_event`], so the final event's handler can
/// still read it.
#[derive(Debug, Clone, Copy)]
enum Release {
    Session(SessionId),
    Link(LinkId),
}

/// One AMQP 1.0 connection, sans I/O. Feed it bytes with
/// [`receive`](Self::receive), write out [`output`](Self::output) and
/// report it with [`consume_output`](Self::consume_output), call
/// [`tick`](Self::tick) by the deadline it returns, and handle
/// [`next_event`](Self::next_event).
pub struct Connection {
    pub(crate) config: Config,
    pub(crate) role: Role,
    pub(crate) phase: Phase,
    inbuf: Vec<u8>,
    pub(crate) out: Vec<u8>,
    out_pos: usize,
    pub(crate) now: Instant,
    last_input: Instant,
    last_output_len: u64,
    last_output_at: Instant,
    total_output: u64,
    pub(crate) amqp_header_sent: bool,
    pub(crate) open_requested: bool,
    pub(crate) open_sent: bool,
    pub(crate) close_sent: bool,
    pub(crate) local_state: EndpointState,
    pub(crate) remote_state: EndpointState,
    pub(crate) remote_open: Option<Open>,
    pub(crate) local_error: Option<AmqpError>,
    pub(crate) remote_error: Option<AmqpError>,
    pub(crate) remote_max_frame: u32,
    pub(crate) remote_channel_max: u16,
    pub(crate) sessions: Slab<Session>,
    pub(crate) links: Slab<Link>,
    pub(crate) deliveries: Slab<Delivery>,
    pub(crate) local_channels: HashMap<u16, SessionId>,
    pub(crate) remote_channels: HashMap<u16, SessionId>,
    pub(crate) sasl: Sasl,
    events: VecDeque<Event>,
    deferred: Vec<Deferred>,
    release: Vec<Release>,
    pub(crate) dirty_sessions: Vec<SessionId>,
    pub(crate) scratch: Vec<u8>,
    pub(crate) name_counter: u64,
}

impl Connection {
    /// A connecting (client) engine. It writes its protocol header at once.
    pub fn client(config: Config, now: Instant) -> Connection {
        let mut c = Connection::new(config, Role::Client, now);
        let header = if c.config.sasl.enabled {
            ProtocolHeader::Sasl
        } else {
            ProtocolHeader::Amqp
        };
        c.out.extend_from_slice(header.as_bytes());
        c.amqp_header_sent = header == ProtocolHeader::Amqp;
        c.phase = Phase::AwaitHeader(Some(header));
        c
    }

    /// An accepting (server) engine. It waits for the client's header.
    pub fn server(config: Config, now: Instant) -> Connection {
        Connection::new(config, Role::Server, now)
    }

    fn new(mut config: Config, role: Role, now: Instant) -> Connection {
        config.max_frame_size = config.max_frame_size.max(MIN_MAX_FRAME_SIZE);
        Connection {
            sasl: Sasl::new(&config),
            config,
            role,
            phase: Phase::AwaitHeader(None),
            inbuf: Vec::new(),
            out: Vec::new(),
            out_pos: 0,
            now,
            last_input: now,
            last_output_len: 0,
            last_output_at: now,
            total_output: 0,
            amqp_header_sent: false,
            open_requested: false,
            open_sent: false,
            close_sent: false,
            local_state: EndpointState::Uninit,
            remote_state: EndpointState::Uninit,
            remote_open: None,
            local_error: None,
            remote_error: None,
            remote_max_frame: MIN_MAX_FRAME_SIZE,
            remote_channel_max: 0,
            sessions: Slab::default(),
            links: Slab::default(),
            deliveries: Slab::default(),
            local_channels: HashMap::new(),
            remote_channels: HashMap::new(),
            events: VecDeque::new(),
            deferred: Vec::new(),
            release: Vec::new(),
            dirty_sessions: Vec::new(),
            scratch: Vec::new(),
            name_counter: 0,
        }
    }

    /// Which end this engine is.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The configuration the engine was made with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    // ---- input ------------------------------------------------------------

    /// Processes bytes read from the transport at time `now`. Complete
    /// frames are handled at once; a partial frame is kept (at most one
    /// frame of the negotiated size is ever buffered).
    pub fn receive(&mut self, bytes: &[u8], now: Instant) {
        self.now = now;
        if bytes.is_empty() || self.phase == Phase::Done {
            return;
        }
        self.last_input = now;
        if self.inbuf.is_empty() {
            let used = self.process(bytes);
            if self.phase != Phase::Done {
                self.inbuf.extend_from_slice(&bytes[used..]);
            }
        } else {
            self.inbuf.extend_from_slice(bytes);
            let buf = std::mem::take(&mut self.inbuf);
            let used = self.process(&buf);
            self.inbuf = buf;
            self.inbuf.drain(..used);
            if self.phase == Phase::Done {
                self.inbuf.clear();
            }
        }
        self.flush();
    }

    /// Handles as much of `buf` as forms whole headers and frames; returns
    /// the bytes used.
    fn process(&mut self, buf: &[u8]) -> usize {
        let mut pos = 0;
        loop {
            match self.phase {
                Phase::Done => return buf.len(),
                Phase::AwaitHeader(expected) => {
                    if buf.len() - pos < 8 {
                        // A wrong first byte need not wait for eight.
                        if buf.len() > pos
                            && !b"AMQP".starts_with(&buf[pos..(pos + 4).min(buf.len())])
                        {
                            let mut h = [0u8; 8];
                            let n = (buf.len() - pos).min(8);
                            h[..n].copy_from_slice(&buf[pos..pos + n]);
                            self.bad_header(h);
                            return buf.len();
                        }
                        return pos;
                    }
                    let bytes = &buf[pos..pos + 8];
                    pos += 8;
                    match ProtocolHeader::parse(bytes) {
                        Ok(h) => self.on_header(h, expected),
                        Err(_) => {
                            let mut h = [0u8; 8];
                            h.copy_from_slice(bytes);
                            self.bad_header(h);
                            return buf.len();
                        }
                    }
                }
                Phase::Sasl | Phase::Amqp => {
                    let max = self.config.max_frame_size;
                    match frame::parse_frame(&buf[pos..], max) {
                        Ok(None) => return pos,
                        Ok(Some((f, used))) => {
                            pos += used;
                            let expect = if self.phase == Phase::Sasl {
                                FRAME_TYPE_SASL
                            } else {
                                FRAME_TYPE_AMQP
                            };
                            if f.frame_type != expect {
                                self.fail(
                                    condition::FRAMING_ERROR,
                                    format!(
                                        "frame type {} where {} was expected",
                                        f.frame_type, expect
                                    ),
                                );
                            } else if self.phase == Phase::Sasl {
                                self.on_sasl_frame(f.body);
                            } else {
                                self.on_amqp_frame(f.channel, f.body);
                            }
                        }
                        Err(e) => {
                            let cond = match e {
                                FrameError::TooLarge { .. } => condition::FRAMING_ERROR,
                                _ => condition::FRAMING_ERROR,
                            };
                            self.fail(cond, e.to_string());
                            return buf.len();
                        }
                    }
                }
            }
        }
    }

    fn on_header(&mut self, got: ProtocolHeader, expected: Option<ProtocolHeader>) {
        match (self.role, expected) {
            (Role::Client, Some(want)) => {
                if got != want {
                    self.transport_failed(
                        condition::NOT_IMPLEMENTED,
                        format!(
                            "peer answered with the {got:?} protocol header, {want:?} was expected"
                        ),
                    );
                    return;
                }
                if got == ProtocolHeader::Sasl {
                    self.phase = Phase::Sasl;
                } else {
                    self.phase = Phase::Amqp;
                    self.send_open_if_ready();
                }
            }
            (Role::Server, None) => match got {
                ProtocolHeader::Sasl if self.config.sasl.enabled => {
                    self.out.extend_from_slice(ProtocolHeader::Sasl.as_bytes());
                    self.phase = Phase::Sasl;
                    self.sasl_server_start();
                }
                ProtocolHeader::Amqp
                    if !self.config.sasl.enabled || self.config.sasl.allow_skip =>
                {
                    self.out.extend_from_slice(ProtocolHeader::Amqp.as_bytes());
                    self.amqp_header_sent = true;
                    self.phase = Phase::Amqp;
                    self.send_open_if_ready();
                }
                other => {
                    // Answer with the header we do support, then close (§2.2).
                    let ours = if self.config.sasl.enabled {
                        ProtocolHeader::Sasl
                    } else {
                        ProtocolHeader::Amqp
                    };
                    self.out.extend_from_slice(ours.as_bytes());
                    self.transport_failed(
                        condition::NOT_IMPLEMENTED,
                        format!("client asked for the {other:?} protocol, which this server does not accept"),
                    );
                }
            },
            (Role::Server, Some(want)) => {
                // After SASL: the AMQP header.
                if got != want {
                    self.out.extend_from_slice(want.as_bytes());
                    self.transport_failed(
                        condition::NOT_IMPLEMENTED,
                        format!("client sent the {got:?} protocol header, {want:?} was expected"),
                    );
                    return;
                }
                self.out.extend_from_slice(ProtocolHeader::Amqp.as_bytes());
                self.amqp_header_sent = true;
                self.phase = Phase::Amqp;
                self.send_open_if_ready();
            }
            (Role::Client, None) => {}
        }
    }

    fn bad_header(&mut self, got: [u8; 8]) {
        if self.role == Role::Server
            && !self.amqp_header_sent
            && self.phase == Phase::AwaitHeader(None)
        {
            let ours = if self.config.sasl.enabled {
                ProtocolHeader::Sasl
            } else {
                ProtocolHeader::Amqp
            };
            self.out.extend_from_slice(ours.as_bytes());
        }
        self.transport_failed(
            condition::NOT_IMPLEMENTED,
            format!("unsupported protocol header {got:02x?}"),
        );
    }

    fn on_amqp_frame(&mut self, channel: u16, body: &[u8]) {
        if body.is_empty() {
            return; // heartbeat
        }
        if self.remote_state == EndpointState::Closed {
            return; // late frames after the peer's close are ignored
        }
        let mut d = Decoder::new(body);
        let perf = match Performative::decode(&mut d) {
            Ok(p) => p,
            Err(e) => {
                self.fail(condition::DECODE_ERROR, format!("undecodable frame: {e}"));
                return;
            }
        };
        let payload = &body[d.position()..];
        if self.remote_state == EndpointState::Uninit && !matches!(perf, Performative::Open(_)) {
            self.fail(
                condition::ILLEGAL_STATE,
                format!("{} before open", perf.name()),
            );
            return;
        }
        match perf {
            Performative::Open(o) => self.on_open(channel, o),
            Performative::Close(c) => self.on_close(c),
            Performative::Begin(b) => self.on_begin(channel, b),
            Performative::End(e) => self.on_end(channel, e),
            Performative::Attach(a) => self.on_attach(channel, a),
            Performative::Detach(dt) => self.on_detach(channel, dt),
            Performative::Flow(f) => self.on_flow(channel, f),
            Performative::Transfer(t) => self.on_transfer(channel, t, payload),
            Performative::Disposition(dp) => self.on_disposition(channel, dp),
        }
    }

    fn on_open(&mut self, channel: u16, open: Open) {
        if self.remote_state != EndpointState::Uninit {
            self.fail(condition::ILLEGAL_STATE, "a second open");
            return;
        }
        if channel != 0 {
            self.fail(condition::FRAMING_ERROR, "open on a channel other than 0");
            return;
        }
        // A peer that asks for less than the minimum gets the minimum
        // (clamped, as Proton does).
        self.remote_max_frame = open.max_frame_size.max(MIN_MAX_FRAME_SIZE);
        self.remote_channel_max = open.channel_max;
        self.remote_state = EndpointState::Active;
        self.remote_open = Some(open);
        self.push(Event::ConnectionRemoteOpen);
    }

    fn on_close(&mut self, close: Close) {
        self.remote_state = EndpointState::Closed;
        self.remote_error = close.error;
        self.push(Event::ConnectionRemoteClose);
        if self.close_sent {
            self.finish();
        }
    }

    // ---- output -----------------------------------------------------------

    /// Bytes waiting to be written to the transport. Pending dispositions
    /// and credit are coalesced into frames first.
    pub fn output(&mut self) -> &[u8] {
        self.flush();
        &self.out[self.out_pos..]
    }

    /// How many bytes are waiting to be written.
    pub fn output_len(&self) -> usize {
        self.out.len() - self.out_pos
    }

    /// Reports that the first `n` bytes of [`output`](Self::output) were
    /// written.
    pub fn consume_output(&mut self, n: usize) {
        let n = n.min(self.out.len() - self.out_pos);
        self.out_pos += n;
        self.total_output += n as u64;
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        } else if self.out_pos > 64 * 1024 && self.out_pos * 2 > self.out.len() {
            self.out.drain(..self.out_pos);
            self.out_pos = 0;
        }
    }

    /// Writes queued dispositions and credit as frames.
    pub(crate) fn flush(&mut self) {
        if self.dirty_sessions.is_empty() {
            return;
        }
        let dirty = std::mem::take(&mut self.dirty_sessions);
        for sid in &dirty {
            self.flush_session(*sid);
        }
        let mut dirty = dirty;
        dirty.clear();
        if self.dirty_sessions.is_empty() {
            self.dirty_sessions = dirty;
        }
    }

    /// Appends one AMQP frame carrying `perf` (and `payload`) on `channel`.
    pub(crate) fn write_frame<P: Encode>(&mut self, channel: u16, perf: &P, payload: &[u8]) {
        let mark = frame::begin_frame(&mut self.out, FRAME_TYPE_AMQP, channel);
        perf.encode(&mut self.out);
        self.out.extend_from_slice(payload);
        frame::end_frame(&mut self.out, mark);
    }

    pub(crate) fn write_sasl_frame<P: Encode>(&mut self, perf: &P) {
        let mark = frame::begin_frame(&mut self.out, FRAME_TYPE_SASL, 0);
        perf.encode(&mut self.out);
        frame::end_frame(&mut self.out, mark);
    }

    // ---- time -------------------------------------------------------------

    /// Advances the clock: sends a heartbeat when the peer's idle timeout
    /// needs one, closes the connection when the peer has been silent past
    /// ours. Returns when to call again, if anything is timed.
    pub fn tick(&mut self, now: Instant) -> Option<Instant> {
        self.now = now;
        if self.phase == Phase::Done {
            return None;
        }
        let mut next: Option<Instant> = None;
        if self.remote_state == EndpointState::Active
            && let Some(limit) = self.config.idle_timeout
        {
            let deadline = self.last_input + limit;
            if now >= deadline {
                self.fail(
                    condition::RESOURCE_LIMIT_EXCEEDED,
                    format!(
                        "local-idle-timeout expired: no frame from the peer for {} ms",
                        limit.as_millis()
                    ),
                );
                return None;
            }
            next = Some(deadline);
        }
        let peer_idle = self
            .remote_open
            .as_ref()
            .and_then(|o| o.idle_time_out)
            .filter(|ms| *ms > 0);
        if let Some(ms) = peer_idle
            && self.open_sent
            && !self.close_sent
        {
            // Anything written counts; track when output last grew.
            let written = self.total_output + self.output_len() as u64;
            if written != self.last_output_len {
                self.last_output_len = written;
                self.last_output_at = now;
            }
            let interval = Duration::from_millis(u64::from(ms / 2).max(1));
            let mut due = self.last_output_at + interval;
            if now >= due {
                frame::write_empty_frame(&mut self.out);
                self.last_output_len = self.total_output + self.output_len() as u64;
                self.last_output_at = now;
                due = now + interval;
            }
            next = Some(next.map_or(due, |n| n.min(due)));
        }
        next
    }

    // ---- events -----------------------------------------------------------

    pub(crate) fn push(&mut self, e: Event) {
        self.events.push_back(e);
    }

    /// The next event, if any. Entities whose final event was returned by
    /// the previous call are released now.
    pub fn next_event(&mut self) -> Option<Event> {
        for r in std::mem::take(&mut self.release) {
            match r {
                Release::Session(s) => {
                    self.sessions.remove(s.0);
                }
                Release::Link(l) => self.release_link(l),
            }
        }
        let e = self.events.pop_front()?;
        match e {
            Event::SessionFinal(s) => self.release.push(Release::Session(s)),
            Event::LinkFinal(l) => self.release.push(Release::Link(l)),
            _ => {}
        }
        Some(e)
    }

    /// True while events are waiting.
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    // ---- connection commands ---------------------------------------------

    /// Opens the connection: `open` is sent as soon as the protocol header
    /// exchange allows.
    pub fn open(&mut self) {
        if self.open_requested {
            return;
        }
        self.open_requested = true;
        self.local_state = EndpointState::Active;
        self.send_open_if_ready();
    }

    pub(crate) fn send_open_if_ready(&mut self) {
        if !self.open_requested
            || self.open_sent
            || !self.amqp_header_sent
            || self.phase == Phase::Done
        {
            return;
        }
        let c = &self.config;
        let open = Open {
            container_id: c.container_id.clone(),
            hostname: c.hostname.clone(),
            max_frame_size: c.max_frame_size,
            channel_max: c.channel_max,
            idle_time_out: c
                .idle_timeout
                .map(|d| (d.as_millis() / 2).min(u128::from(u32::MAX)) as u32),
            outgoing_locales: None,
            incoming_locales: None,
            offered_capabilities: c.offered_capabilities.clone(),
            desired_capabilities: c.desired_capabilities.clone(),
            properties: c.properties.clone(),
        };
        self.write_frame(0, &open, &[]);
        self.open_sent = true;
        for d in std::mem::take(&mut self.deferred) {
            match d {
                Deferred::Begin(s) => self.send_begin(s),
            }
        }
    }

    /// Queues a begin until `open` went out.
    pub(crate) fn defer_begin(&mut self, s: SessionId) {
        if self.open_sent {
            self.send_begin(s);
        } else {
            self.deferred.push(Deferred::Begin(s));
        }
    }

    /// Closes the connection, with `error` if it failed. `close` is the last
    /// frame written; once the peer's `close` arrives the transport is done.
    pub fn close(&mut self, error: Option<AmqpError>) {
        if self.close_sent || self.phase == Phase::Done {
            return;
        }
        if !self.amqp_header_sent {
            // Still in SASL: there is no AMQP connection to close.
            self.finish();
            return;
        }
        if !self.open_sent {
            // The first frame must be open (§2.4.1).
            self.open_requested = true;
            self.send_open_if_ready();
        }
        self.local_state = EndpointState::Closed;
        self.local_error = error.clone();
        self.flush();
        self.write_frame(0, &Close { error }, &[]);
        self.close_sent = true;
        if self.remote_state == EndpointState::Closed {
            self.finish();
        }
    }

    /// The peer violated the protocol: close with `cond` and report it.
    pub(crate) fn fail(&mut self, cond: &str, description: impl Into<String>) {
        if self.phase == Phase::Done {
            return;
        }
        let err = AmqpError::new(cond, description);
        self.push(Event::TransportError(err.clone()));
        if self.amqp_header_sent && !self.close_sent {
            if !self.open_sent {
                self.open_requested = true;
                self.send_open_if_ready();
            }
            self.local_state = EndpointState::Closed;
            self.local_error = Some(err.clone());
            self.write_frame(0, &Close { error: Some(err) }, &[]);
            self.close_sent = true;
        }
        self.finish();
    }

    /// The transport failed outside AMQP framing (bad header, SASL
    /// failure): report and stop.
    pub(crate) fn transport_failed(&mut self, cond: &str, description: impl Into<String>) {
        if self.phase == Phase::Done {
            return;
        }
        self.push(Event::TransportError(AmqpError::new(cond, description)));
        self.finish();
    }

    /// The transport reached end of stream (or failed) at `now`.
    pub fn input_closed(&mut self, now: Instant) {
        self.now = now;
        if self.phase == Phase::Done {
            return;
        }
        self.transport_failed(
            condition::CONNECTION_FORCED,
            "the connection was closed by the peer without an AMQP close",
        );
    }

    /// Ends the transport: every session and link gets its final event.
    fn finish(&mut self) {
        if self.phase == Phase::Done {
            return;
        }
        self.phase = Phase::Done;
        self.flush();
        let links: Vec<_> = self.links.keys().map(LinkId).collect();
        for l in links {
            self.push(Event::LinkFinal(l));
        }
        let sessions: Vec<_> = self.sessions.keys().map(SessionId).collect();
        for s in sessions {
            self.push(Event::SessionFinal(s));
        }
        self.push(Event::TransportClosed);
    }

    /// True once nothing more will be read; the transport can be shut
    /// after [`output`](Self::output) is written.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// The peer's `open`, once it arrived.
    pub fn remote_open(&self) -> Option<&Open> {
        self.remote_open.as_ref()
    }

    /// The error the peer closed the connection with.
    pub fn remote_condition(&self) -> Option<&AmqpError> {
        self.remote_error.as_ref()
    }

    /// The error this side closed the connection with.
    pub fn local_condition(&self) -> Option<&AmqpError> {
        self.local_error.as_ref()
    }

    /// Local state of the connection.
    pub fn local_state(&self) -> EndpointState {
        self.local_state
    }

    /// Remote state of the connection.
    pub fn remote_state(&self) -> EndpointState {
        self.remote_state
    }

    /// The largest frame this side may write.
    pub fn remote_max_frame_size(&self) -> u32 {
        self.remote_max_frame
    }

    /// Number of live deliveries (incoming and outgoing, unsettled).
    pub fn delivery_count(&self) -> usize {
        self.deliveries.len()
    }
}
