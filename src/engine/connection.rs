//! The connection: state, output, the event queue, open and close (spec
//! §2.4). Input is handled in `input.rs`, time in `timer.rs`.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use super::config::Config;
use super::delivery::Delivery;
use super::event::Event;
use super::link::Link;
use super::sasl::Sasl;
use super::session::Session;
use super::slab::Slab;
use super::{DeliveryId, LinkId, SessionId};
use crate::codec::Encode;
use crate::codec::frame::{
    self, FRAME_TYPE_AMQP, FRAME_TYPE_SASL, MIN_MAX_FRAME_SIZE, ProtocolHeader,
};
use crate::codec::transport::{AmqpError, Close, Open};

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

/// An entity whose final event was handed out; it is released on the next
/// call to [`Connection::next_event`], so the final event's handler can
/// still read it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Release {
    Session(SessionId),
    Link(LinkId),
    Delivery(DeliveryId),
}

/// Buffers kept for reuse, so that steady traffic allocates nothing: each
/// at most [`POOL_MAX_CAPACITY`] bytes, all together at most
/// [`POOL_MAX_BYTES`] (enough for a few thousand small deliveries in
/// flight at once).
const POOL_MAX_CAPACITY: usize = 1 << 20;
const POOL_MAX_BYTES: usize = 8 << 20;

/// One AMQP 1.0 connection, sans I/O. Feed it bytes with
/// [`receive`](Self::receive), write out [`output`](Self::output) and
/// report it with [`consume_output`](Self::consume_output), call
/// [`tick`](Self::tick) by the deadline it returns, and handle
/// [`next_event`](Self::next_event).
pub struct Connection {
    pub(crate) config: Config,
    pub(crate) role: Role,
    pub(crate) phase: Phase,
    pub(crate) inbuf: Vec<u8>,
    pub(crate) out: Vec<u8>,
    out_pos: usize,
    pub(crate) now: Instant,
    pub(crate) last_input: Instant,
    /// Total bytes ever queued for output when we last noticed it grow,
    /// and when that was (heartbeats, §2.4.5).
    pub(crate) last_output_total: u64,
    pub(crate) last_output_at: Instant,
    total_consumed: u64,
    /// Frames, bytes and deliveries so far (see [`Connection::counters`]).
    pub(crate) counters: super::Counters,
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
    /// Sessions opened locally whose begin waits for our open, or for the
    /// peer's open when channel 0 is taken (§2.4.1).
    pub(crate) begin_queue: Vec<SessionId>,
    /// Links whose attach did not fit the pre-open frame limit of 512.
    pub(crate) attach_queue: Vec<LinkId>,
    release: Vec<Release>,
    pub(crate) dirty_sessions: Vec<SessionId>,
    /// Credit was granted since the output was last taken (see
    /// [`credit_granted`](Connection::credit_granted)).
    pub(crate) credit_granted: bool,
    /// Something changed that [`tick`](Connection::tick) times (an open
    /// or close went out, the peer's open came in) since it last ran.
    pub(crate) timers_changed: bool,
    /// Sender links refused a send because the output was full: each gets
    /// a [`Event::LinkFlow`] once the output has drained to half.
    pub(crate) send_refused: Vec<LinkId>,
    pub(crate) buf_pool: Vec<Vec<u8>>,
    pool_bytes: usize,
    /// Payload bytes of deliveries held back (window, frame splitting):
    /// they count towards `max_output` with the output itself.
    pub(crate) pending_bytes: usize,
    pub(crate) id_scratch: Vec<(u32, DeliveryId)>,
    pub(crate) name_counter: u64,
    /// When the engine was made: the handshake time-out counts from here.
    pub(crate) started: Instant,
    /// When the first byte of a protocol header that is not complete yet
    /// arrived (the header time-out counts from here).
    pub(crate) header_started: Option<Instant>,
    /// When our `close` went out (the close time-out counts from here; set
    /// by the first tick after it).
    pub(crate) close_sent_at: Option<Instant>,
    /// Since when the output has been above `max_output` with none of it
    /// taken by the transport.
    pub(crate) output_full_since: Option<Instant>,
    /// Bytes of link state held for the peer's attaches (see
    /// `Config::max_link_state`).
    pub(crate) link_state: usize,
    /// Payload bytes of incomplete incoming deliveries.
    pub(crate) incomplete_bytes: usize,
    /// Sessions the peer began (not answers to ours) that hold a channel.
    pub(crate) peer_sessions: usize,
    /// The links the peer has attached (and not detached), by the peer's
    /// role and the link name: names are unique per direction (§2.6.1).
    pub(crate) remote_names: HashMap<(bool, String), LinkId>,
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
        // Every peer must accept 512-byte frames (§2.7.1); less is invalid.
        config.max_frame_size = config.max_frame_size.max(MIN_MAX_FRAME_SIZE);
        Connection {
            sasl: Sasl::default(),
            config,
            role,
            phase: Phase::AwaitHeader(None),
            inbuf: Vec::new(),
            out: Vec::new(),
            out_pos: 0,
            now,
            last_input: now,
            last_output_total: 0,
            last_output_at: now,
            total_consumed: 0,
            counters: super::Counters::default(),
            amqp_header_sent: false,
            open_requested: false,
            open_sent: false,
            close_sent: false,
            local_state: EndpointState::Uninit,
            remote_state: EndpointState::Uninit,
            remote_open: None,
            local_error: None,
            remote_error: None,
            // Until the peer's open: the limits every peer accepts (§2.4.1).
            remote_max_frame: MIN_MAX_FRAME_SIZE,
            remote_channel_max: 0,
            sessions: Slab::default(),
            links: Slab::default(),
            deliveries: Slab::default(),
            local_channels: HashMap::new(),
            remote_channels: HashMap::new(),
            events: VecDeque::new(),
            begin_queue: Vec::new(),
            attach_queue: Vec::new(),
            release: Vec::new(),
            dirty_sessions: Vec::new(),
            credit_granted: false,
            timers_changed: true,
            send_refused: Vec::new(),
            buf_pool: Vec::new(),
            pool_bytes: 0,
            pending_bytes: 0,
            id_scratch: Vec::new(),
            name_counter: 0,
            started: now,
            header_started: None,
            close_sent_at: None,
            output_full_since: None,
            link_state: 0,
            incomplete_bytes: 0,
            peer_sessions: 0,
            remote_names: HashMap::new(),
        }
    }

    /// Which end this engine is.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Says whether the transport below is encrypted, for a server that
    /// learns it from the peer's first byte (TLS or plain on one port).
    /// Call before any byte is fed.
    pub fn set_transport_encrypted(&mut self, on: bool) {
        self.config.encrypted = on;
    }

    /// The configuration the engine was made with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    // ---- output -----------------------------------------------------------

    /// Bytes waiting to be written to the transport. Pending dispositions
    /// and credit are coalesced into frames first.
    pub fn output(&mut self) -> &[u8] {
        self.flush();
        self.credit_granted = false;
        self.note_output();
        &self.out[self.out_pos..]
    }

    /// True when a receiver granted credit since [`output`](Self::output)
    /// was last called. Credit is what keeps a sender busy: a transport
    /// that holds output back to coalesce it should not hold this back
    /// (until the granting side has worked through all it read, the
    /// sender would sit idle).
    pub fn credit_granted(&self) -> bool {
        self.credit_granted
    }

    /// True when the deadline [`tick`](Self::tick) last returned may be
    /// out of date: an open or close went out, or the peer's open came in.
    /// (Traffic alone only moves deadlines later, which a tick at the old
    /// deadline finds out.)
    pub fn timers_changed(&self) -> bool {
        self.timers_changed
    }

    /// How many bytes are waiting to be written (dispositions and flows
    /// not yet coalesced into frames are not counted).
    pub fn output_len(&self) -> usize {
        self.out.len() - self.out_pos
    }

    /// Reports that the first `n` bytes of [`output`](Self::output) were
    /// written.
    pub fn consume_output(&mut self, n: usize) {
        let n = n.min(self.out.len() - self.out_pos);
        self.out_pos += n;
        self.total_consumed += n as u64;
        self.counters.bytes_out += n as u64;
        if n > 0 && self.output_full_since.is_some() {
            // Progress: the stall clock starts over at the next tick (or
            // stops).
            self.output_full_since = None;
            self.timers_changed = true;
        }
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        } else if self.out_pos > 64 * 1024 && self.out_pos * 2 > self.out.len() {
            self.out.drain(..self.out_pos);
            self.out_pos = 0;
        }
        if !self.send_refused.is_empty()
            && self.output_len() + self.pending_bytes <= self.config.max_output / 2
        {
            // Room again: the senders that were turned away may send.
            for l in std::mem::take(&mut self.send_refused) {
                if self.links.get(l.0).is_some_and(|k| k.link_credit > 0) {
                    self.push(Event::LinkFlow(l));
                }
            }
        }
    }

    /// Payload bytes of deliveries accepted by [`send`](Self::send) but
    /// not yet framed into the output (held back by the peer's session
    /// window, or waiting to be split). With
    /// [`output_len`](Self::output_len) they count towards
    /// `Config::max_output`.
    pub fn pending_send_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// Bytes of a partial frame held until the rest arrives: never more
    /// than one frame of our `max-frame-size` (plus what one `receive`
    /// call handed in).
    pub fn input_len(&self) -> usize {
        self.inbuf.len()
    }

    /// Records when output last grew, for heartbeats. Output queued by a
    /// command is stamped with the last time the engine was told, which
    /// errs towards sending a heartbeat early.
    pub(crate) fn note_output(&mut self) {
        let total = self.total_consumed + self.output_len() as u64;
        if total != self.last_output_total {
            self.last_output_total = total;
            self.last_output_at = self.now;
        }
        self.note_output_full();
    }

    /// Output above `max_output` starts the stalled-output clock: the
    /// next [`tick`](Self::tick) sets it.
    fn note_output_full(&mut self) {
        if self.output_full_since.is_none() && self.output_len() > self.config.max_output {
            self.timers_changed = true;
        }
    }

    /// False while the output waiting for the transport is above
    /// `Config::max_output`: a transport driver should then stop feeding
    /// input (and write instead), so that a peer that does not read what
    /// it is sent cannot make this side queue more and more answers. Once
    /// nothing of it is taken for `Config::stalled_output_timeout`, the
    /// connection fails (see [`tick`](Self::tick)).
    pub fn wants_input(&self) -> bool {
        self.output_len() <= self.config.max_output
    }

    /// Writes queued dispositions and credit as frames.
    pub(crate) fn flush(&mut self) {
        if self.dirty_sessions.is_empty() {
            return;
        }
        let mut dirty = std::mem::take(&mut self.dirty_sessions);
        for sid in &dirty {
            self.flush_session(*sid);
        }
        dirty.clear();
        if self.dirty_sessions.is_empty() {
            self.dirty_sessions = dirty;
        }
    }

    /// Appends one AMQP frame carrying `perf` (and `payload`) on `channel`.
    /// Nothing is written after `close` (§2.4.3: it is the last frame).
    pub(crate) fn write_frame<P: Encode>(&mut self, channel: u16, perf: &P, payload: &[u8]) {
        if self.close_sent {
            return;
        }
        self.counters.frames_out += 1;
        let mark = frame::begin_frame(&mut self.out, FRAME_TYPE_AMQP, channel);
        perf.encode(&mut self.out);
        self.out.extend_from_slice(payload);
        frame::end_frame(&mut self.out, mark);
    }

    pub(crate) fn write_sasl_frame<P: Encode>(&mut self, perf: &P) {
        self.counters.frames_out += 1;
        let mark = frame::begin_frame(&mut self.out, FRAME_TYPE_SASL, 0);
        perf.encode(&mut self.out);
        frame::end_frame(&mut self.out, mark);
    }

    /// Gives back a buffer taken with
    /// [`delivery_take_payload`](Self::delivery_take_payload) once it is no
    /// longer needed, for the engine to reuse for later deliveries.
    pub fn recycle_payload(&mut self, buf: Vec<u8>) {
        self.give_buf(buf);
    }

    /// A cleared buffer, reused if one is free.
    pub(crate) fn take_buf(&mut self) -> Vec<u8> {
        match self.buf_pool.pop() {
            Some(b) => {
                self.pool_bytes = self.pool_bytes.saturating_sub(b.capacity());
                b
            }
            None => Vec::new(),
        }
    }

    /// Returns a buffer for reuse (or drops it, past the pool's bounds).
    pub(crate) fn give_buf(&mut self, mut b: Vec<u8>) {
        let cap = b.capacity();
        if cap > 0 && cap <= POOL_MAX_CAPACITY && self.pool_bytes + cap <= POOL_MAX_BYTES {
            b.clear();
            self.pool_bytes += cap;
            self.buf_pool.push(b);
        }
    }

    // ---- events -----------------------------------------------------------

    pub(crate) fn push(&mut self, e: Event) {
        self.events.push_back(e);
    }

    /// The next event, if any. Entities whose final event was returned by
    /// the previous call are released now.
    pub fn next_event(&mut self) -> Option<Event> {
        self.release_finished();
        self.next_event_held()
    }

    /// The next event, like [`next_event`](Self::next_event), except that
    /// entities whose final event was returned stay readable (a link's
    /// condition, a delivery's state) until
    /// [`release_finished`](Self::release_finished): for a caller that
    /// queues events and handles them later, so that every event it
    /// queued before a final one still finds its entity.
    pub fn next_event_held(&mut self) -> Option<Event> {
        let e = self.events.pop_front()?;
        match e {
            Event::SessionFinal(s) => self.release.push(Release::Session(s)),
            Event::LinkFinal(l) => self.release.push(Release::Link(l)),
            Event::DeliveryUpdated(d) if self.delivery_settles_after_event(d) => {
                self.release.push(Release::Delivery(d))
            }
            _ => {}
        }
        Some(e)
    }

    /// Releases the entities whose final event was handed out: their IDs
    /// are stale from now on.
    pub fn release_finished(&mut self) {
        if self.release.is_empty() {
            return;
        }
        let mut release = std::mem::take(&mut self.release);
        for r in release.drain(..) {
            match r {
                Release::Session(s) => {
                    self.sessions.remove(s.0);
                }
                Release::Link(l) => self.release_link(l),
                Release::Delivery(d) => self.release_delivery(d),
            }
        }
        if self.release.is_empty() {
            self.release = release;
        }
    }

    /// True if entities wait for [`release_finished`](Self::release_finished).
    pub fn has_finished(&self) -> bool {
        !self.release.is_empty()
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
        self.write_open();
        self.send_queued_begins();
    }

    /// Writes our `open` (§2.7.1); our idle timeout is advertised at half
    /// of what we tolerate (§2.4.5).
    fn write_open(&mut self) {
        let c = &self.config;
        let open = Open {
            container_id: c.container_id.clone(),
            hostname: c.hostname.clone(),
            max_frame_size: c.max_frame_size,
            channel_max: c.channel_max,
            idle_time_out: c
                .idle_timeout
                .filter(|d| !d.is_zero())
                .map(|d| (d.as_millis() / 2).clamp(1, u128::from(u32::MAX)) as u32),
            outgoing_locales: None,
            incoming_locales: None,
            offered_capabilities: c.offered_capabilities.clone(),
            desired_capabilities: c.desired_capabilities.clone(),
            properties: c.properties.clone(),
        };
        self.write_frame(0, &open, &[]);
        self.open_sent = true;
        self.timers_changed = true;
    }

    /// Closes the connection, with `error` if it failed. `close` is the last
    /// frame written; once the peer's `close` arrives the transport is done.
    pub fn close(&mut self, error: Option<AmqpError>) {
        if self.close_sent || self.phase == Phase::Done {
            return;
        }
        if !self.amqp_header_sent {
            // Still in SASL: there is no AMQP connection to close.
            self.local_state = EndpointState::Closed;
            self.local_error = error;
            self.finish();
            return;
        }
        self.local_state = EndpointState::Closed;
        self.local_error = error.clone();
        if !self.open_sent {
            // The first frame must be open (§2.4.1); nothing else before
            // close, so queued begins are dropped.
            self.open_requested = true;
            self.write_open();
        }
        self.flush();
        self.write_frame(0, &Close { error }, &[]);
        self.close_sent = true;
        self.timers_changed = true;
        self.begin_queue.clear();
        self.attach_queue.clear();
        if self.remote_state == EndpointState::Closed {
            self.finish();
        }
    }

    /// The peer violated the protocol: close with `cond`, report it with
    /// [`Event::TransportError`] and stop reading (DISCARDING, §2.4.6).
    pub(crate) fn fail(&mut self, cond: &str, description: impl Into<String>) {
        if self.phase == Phase::Done {
            return;
        }
        let err = AmqpError::new(cond, description);
        self.push(Event::TransportError(err.clone()));
        self.local_state = EndpointState::Closed;
        self.local_error = Some(err.clone());
        if self.amqp_header_sent && !self.close_sent {
            if !self.open_sent {
                self.write_open();
            }
            self.write_frame(0, &Close { error: Some(err) }, &[]);
            self.close_sent = true;
            self.timers_changed = true;
        }
        self.finish();
    }

    /// The transport failed outside AMQP framing (bad header, SASL
    /// failure): report and stop.
    pub(crate) fn transport_failed(&mut self, cond: &str, description: impl Into<String>) {
        if self.phase == Phase::Done {
            return;
        }
        let err = AmqpError::new(cond, description);
        self.push(Event::TransportError(err.clone()));
        if self.local_error.is_none() {
            self.local_error = Some(err);
        }
        self.finish();
    }

    /// The transport reached end of stream (or failed) at `now`.
    pub fn input_closed(&mut self, now: Instant) {
        self.now = now;
        if self.phase == Phase::Done {
            return;
        }
        self.transport_failed(
            crate::codec::transport::condition::CONNECTION_FORCED,
            "the connection was closed by the peer without an AMQP close",
        );
    }

    /// The transport below failed at `now` for `reason` (a TLS error, a
    /// failed read): the connection ends with that condition.
    pub fn transport_broken(&mut self, reason: &AmqpError, now: Instant) {
        self.now = now;
        self.transport_failed(
            reason.condition.as_str(),
            reason.description.clone().unwrap_or_default(),
        );
    }

    /// Ends the connection at once, without a close frame: the caller shuts
    /// the transport without writing what is pending. Every session and
    /// link not yet final gets its final event, then
    /// [`Event::TransportClosed`]; no [`Event::TransportError`].
    pub fn abort(&mut self) {
        if self.phase == Phase::Done {
            return;
        }
        self.local_state = EndpointState::Closed;
        self.finish();
    }

    /// Ends the transport: every session and link not yet final gets its
    /// final event, then [`Event::TransportClosed`].
    pub(crate) fn finish(&mut self) {
        if self.phase == Phase::Done {
            return;
        }
        self.phase = Phase::Done;
        self.inbuf = Vec::new();
        self.begin_queue.clear();
        self.attach_queue.clear();
        let links: Vec<_> = self.links.keys().map(LinkId).collect();
        for l in links {
            if let Some(link) = self.links.get_mut(l.0)
                && !link.final_sent
            {
                link.final_sent = true;
                self.push(Event::LinkFinal(l));
            }
        }
        let sessions: Vec<_> = self.sessions.keys().map(SessionId).collect();
        for s in sessions {
            if let Some(ses) = self.sessions.get_mut(s.0)
                && !ses.final_sent
            {
                ses.final_sent = true;
                self.push(Event::SessionFinal(s));
            }
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

    /// The error this side closed the connection with (including a
    /// protocol violation by the peer that made the engine close).
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

    /// The highest channel this side may use (0 until the peer's open).
    pub fn remote_channel_max(&self) -> u16 {
        self.remote_channel_max
    }

    /// Number of live deliveries (incoming and outgoing, unsettled).
    pub fn delivery_count(&self) -> usize {
        self.deliveries.len()
    }
}
