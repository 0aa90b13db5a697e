//! The loop itself: its public commands (connect, listen, schedule, open
//! links, close), running (`poll`, `next_event`) and timers. Socket work
//! (reading, writing, accepting, losing and re-making transports) is in
//! `io.rs`.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};

use super::embed::{TIMER_TOKEN, TimerFd};
use super::slab::Slab;
use super::tls::{TlsClientSettings, TlsServerSettings, TlsSession};
use super::trace::{self, FrameTracer, LogSink};
use super::{Address, Error};
use crate::codec::transport::{AmqpError, Role};
use crate::engine::{self, Config, Connection, Event, Key, LinkId, LinkOptions, SessionId};
use crate::log::{self, Category, Level};

pub(super) const WAKE_TOKEN: Token = Token(usize::MAX);
pub(super) const READ_CHUNK: usize = 64 * 1024;

/// Reads of `READ_CHUNK` one connection may do per turn of the loop before
/// the others get theirs: a peer that writes as fast as it is read does
/// not starve the rest.
pub(super) const READ_BUDGET: usize = 16;

/// A connection of a [`Loop`]: stays the same across reconnects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnId(pub Key);

/// A listener of a [`Loop`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(pub Key);

/// Makes a listening socket bound to an address, for [`Loop::listen_with`].
pub type Binder = fn(SocketAddr) -> io::Result<std::net::TcpListener>;

/// A timer of a [`Loop`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId(pub Key);

/// Exponential backoff for the built-in reconnect.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconnectPolicy {
    /// Delay before the first attempt.
    pub initial: Duration,
    /// Upper bound of the delay, which doubles after each failed attempt.
    pub max: Duration,
    /// Attempts in a row before giving up (0: no limit).
    pub max_attempts: u32,
}

impl Default for ReconnectPolicy {
    /// The tutorial's backoff: 0.1 s, doubling up to 10 s, without limit.
    fn default() -> Self {
        ReconnectPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(10),
            max_attempts: 0,
        }
    }
}

impl ReconnectPolicy {
    /// The delay before attempt number `attempt` (0 for the first).
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }
}

/// How to connect.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Engine settings (container id, SASL, limits...). Credentials and
    /// hostname from the URL fill in what is not set here.
    pub config: Config,
    /// Reconnect automatically, with this backoff.
    pub reconnect: Option<ReconnectPolicy>,
    /// Further URLs tried in turn on reconnect.
    pub failover: Vec<Address>,
    /// TLS settings for `amqps://` URLs.
    pub tls: TlsClientSettings,
    /// Follow a peer's `amqp:connection:redirect`: connect to the host its
    /// info names (same scheme, credentials and TLS settings; the
    /// certificate checked against the redirect's `hostname`), re-attaching
    /// the links as a reconnect does, after a short wait that grows with
    /// each redirect in a row (see [`MAX_REDIRECTS`]). A host that is not
    /// a DNS name or an IP literal, or port 0, is not followed. Off by
    /// default.
    pub follow_redirect: bool,
}

/// Redirects followed in a row before a redirect is reported as the close
/// it is. "In a row": the count starts over only once a transport's AMQP
/// connection stayed open for [`REDIRECT_SETTLED`] (a redirecting peer
/// opens before it closes, and may attach links too, so neither alone
/// ends a run); each followed redirect waits first (20 ms doubling up to
/// 500 ms, or the reconnect policy's delays if there is one).
/// Two nodes redirecting to each other thus cost at most 10 connections,
/// a few seconds apart at most, before the close is reported.
pub const MAX_REDIRECTS: u32 = 10;

/// How long a transport's AMQP connection must have been open, with no
/// redirect, before the redirects in a row count from zero again.
pub const REDIRECT_SETTLED: Duration = Duration::from_secs(10);

/// The wait before following connection redirect number `n` in a row (1
/// for the first): the reconnect policy's delay for attempt `n - 1` if the
/// connection has one, else 20 ms doubling up to 500 ms (the 10 allowed
/// in a row take about 3 s in all).
pub(super) fn redirect_delay(policy: Option<&ReconnectPolicy>, n: u32) -> Duration {
    let attempt = n.saturating_sub(1);
    match policy {
        Some(p) => p.delay(attempt),
        None => ReconnectPolicy {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(500),
            max_attempts: 0,
        }
        .delay(attempt),
    }
}

/// Where a peer's `amqp:connection:redirect` sends a client connection.
#[derive(Debug, Clone)]
pub(super) struct Redirect {
    /// What to connect to: the info's `network-host` (else `hostname`)
    /// and `port`, with the current address's scheme and credentials.
    pub addr: Address,
    /// The info's `hostname`: the AMQP hostname, and the name the TLS
    /// certificate must be valid for.
    pub hostname: String,
    /// The close's error, reported by `on_disconnected`.
    pub error: AmqpError,
}

/// What the loop reports to the layer above.
#[derive(Debug, Clone, PartialEq)]
pub enum LoopEvent {
    /// An engine event of a connection.
    Engine(ConnId, Event),
    /// A listener accepted a connection (its engine waits for the peer).
    Accepted(ListenerId, ConnId),
    /// A listener is bound and accepting.
    ListenerOpen(ListenerId),
    /// A listener is closed; its ID is stale after this.
    ListenerFinal(ListenerId),
    /// The transport of a connection ended without a completed AMQP close
    /// (lost, refused, or failed: a protocol error, a failed login, a
    /// time-out), with the reason; also while the connection was being
    /// closed, but not after [`Loop::abort`]. Every link and session of the
    /// connection had its final event just before. With reconnect on (and
    /// the connection not being closed), a new attempt is scheduled.
    Disconnected(ConnId, AmqpError),
    /// A reconnect attempt reached the peer (the TCP connection is up; the
    /// AMQP open follows). The links the application had open are being
    /// re-attached, with new IDs (see [`LoopEvent::LinkRecreated`]).
    Reconnected(ConnId),
    /// On reconnect, the link that was `old` is now `new`.
    LinkRecreated {
        /// The connection.
        conn: ConnId,
        /// The link ID before the reconnect (stale now).
        old: LinkId,
        /// Its replacement.
        new: LinkId,
    },
    /// The connection is gone for good; its ID is stale once released
    /// with [`Loop::release_connection`].
    ConnectionFinal(ConnId),
    /// A timer fired with the token it was scheduled with.
    Timer(TimerId, u64),
    /// [`LoopWaker::wake`] was called.
    Wake,
}

/// Wakes a loop from another thread. Thread-safe.
#[derive(Clone)]
pub struct LoopWaker {
    pub(super) waker: Arc<Waker>,
    pub(super) flag: Arc<AtomicBool>,
}

impl LoopWaker {
    /// Makes the loop report [`LoopEvent::Wake`] soon (several wakes
    /// before the loop looks are reported once).
    pub fn wake(&self) -> io::Result<()> {
        self.flag.store(true, Ordering::SeqCst);
        self.waker.wake()
    }
}

/// A link the application opened, remembered so that reconnect can attach
/// it again.
#[derive(Debug, Clone)]
pub(super) struct Recipe {
    pub link: LinkId,
    pub role: Role,
    pub options: LinkOptions,
    /// `amqp:link:redirect`s followed by this link and those it replaced.
    pub redirects: u32,
    /// The peer redirected the link: it is attached again, to the new
    /// address, once its final event was handed out.
    pub redirected: bool,
}

/// The two directions of a traced connection.
#[derive(Debug, Default)]
pub(super) struct Tracers {
    pub label: String,
    pub out: FrameTracer,
    pub input: FrameTracer,
}

pub(super) struct Conn {
    pub engine: Connection,
    pub socket: Option<TcpStream>,
    /// The transport is the application's (see `embed.rs`): no socket,
    /// and the application takes the output.
    pub external: bool,
    /// A TCP connect is in progress (WRITABLE will say how it went).
    pub connecting: bool,
    /// WRITABLE is registered.
    pub writable: bool,
    pub deadline: Option<Instant>,
    /// Client side: the URL and the failover URLs, tried in turn.
    pub addresses: Vec<Address>,
    pub next_address: usize,
    /// Client side: the address of the current transport.
    pub current: Option<Address>,
    /// A redirect being followed: the next transport goes there.
    pub redirect: Option<Redirect>,
    /// Redirects followed in a row (see [`MAX_REDIRECTS`]).
    pub redirects: u32,
    /// When the current transport's AMQP connection opened (the peer's
    /// open came), if it did: see [`REDIRECT_SETTLED`].
    pub opened_at: Option<Instant>,
    /// Client side: how it was made (`None` for accepted connections).
    pub options: Option<ConnectOptions>,
    /// The hostname and credentials came from the URL, so each failover
    /// URL brings its own.
    pub url_hostname: bool,
    pub url_credentials: bool,
    /// Failed attempts in a row.
    pub attempt: u32,
    pub reconnect_timer: Option<TimerId>,
    /// A reconnect attempt is under way: report it once the transport is
    /// up.
    pub reconnecting: bool,
    /// The application closed it: do not reconnect.
    pub closing: bool,
    pub recipes: Vec<Recipe>,
    pub session: Option<SessionId>,
    pub final_sent: bool,
    /// Why the transport failed, if it did (the first reason wins).
    pub failure: Option<AmqpError>,
    /// The current transport was dealt with (lost or ended): a done engine
    /// between reconnect attempts is not ended a second time.
    pub transport_over: bool,
    pub trace: Option<Box<Tracers>>,
    pub serial: u64,
    /// Queued for the write phase of `flush_dirty`.
    pub write_queued: bool,
    /// The TLS session of the current transport, if it is TLS.
    pub tls: Option<Box<TlsSession>>,
    /// Reading stopped while the engine's output is above its
    /// `max_output` (the peer is not reading); resumed when it drains.
    pub read_paused: bool,
    /// A finished engine's last output (its close) is written until then,
    /// at most: a peer that does not read it does not keep the socket.
    pub linger: Option<Instant>,
    /// Client: the TLS configuration for `amqps://` addresses.
    pub tls_config: Option<Arc<rustls::ClientConfig>>,
    /// Server: TLS or plain is decided by the peer's first byte.
    pub sniff: Option<Arc<rustls::ServerConfig>>,
    /// Counters of the engines of earlier transports (reconnects).
    pub prior: engine::Counters,
    /// Reconnects that reached a connected transport.
    pub reconnects: u32,
    /// When the current transport connected.
    pub connected_at: Option<Instant>,
}

impl Conn {
    /// A connection entry around `engine` in its first state: no socket,
    /// no addresses, no TLS, nothing traced; each maker (connect, accept,
    /// an external transport) sets what differs.
    pub(super) fn new(engine: Connection, serial: u64) -> Conn {
        Conn {
            engine,
            socket: None,
            external: false,
            connecting: false,
            writable: false,
            deadline: None,
            addresses: Vec::new(),
            next_address: 0,
            current: None,
            redirect: None,
            redirects: 0,
            opened_at: None,
            options: None,
            url_hostname: false,
            url_credentials: false,
            attempt: 0,
            reconnect_timer: None,
            reconnecting: false,
            closing: false,
            recipes: Vec::new(),
            session: None,
            final_sent: false,
            failure: None,
            transport_over: false,
            write_queued: false,
            trace: None,
            serial,
            tls: None,
            tls_config: None,
            sniff: None,
            read_paused: false,
            linger: None,
            prior: engine::Counters::default(),
            reconnects: 0,
            connected_at: None,
        }
    }

    /// Starts the count of redirects in a row over if the current
    /// transport's AMQP connection has been open for [`REDIRECT_SETTLED`].
    pub(super) fn settle_redirects(&mut self, now: Instant) {
        if self
            .opened_at
            .is_some_and(|t| now.saturating_duration_since(t) >= REDIRECT_SETTLED)
        {
            self.redirects = 0;
        }
    }

    /// Who a log message is about: `[c1] host:port (container "a", peer
    /// "b")`, the peer's container once its open came. Never credentials.
    pub(super) fn who(&self) -> String {
        let peer = if let Some(a) = &self.current {
            // After a redirect, the host followed, not the URL.
            format!("{}:{}", trace::escape(&a.host), a.port)
        } else if self.addresses.is_empty() {
            self.socket
                .as_ref()
                .and_then(|s| s.peer_addr().ok())
                .map_or_else(|| "?".to_owned(), |a| a.to_string())
        } else {
            let n = self.addresses.len();
            let a = &self.addresses[(self.next_address + n - 1) % n];
            format!("{}:{}", a.host, a.port)
        };
        let remote = self
            .engine
            .remote_open()
            .map_or_else(String::new, |o| format!(", peer {:?}", o.container_id));
        format!(
            "[c{}] {peer} (container {:?}{remote})",
            self.serial,
            self.engine.config().container_id
        )
    }

    /// Output is waiting: the engine's, or TLS records.
    pub(super) fn output_pending(&self) -> bool {
        self.engine.output_len() > 0 || self.tls.as_ref().is_some_and(|t| t.wants_write())
    }
}

pub(super) struct Listener {
    pub socket: Option<TcpListener>,
    pub config: Config,
    pub port: u16,
    /// Serve TLS with this configuration.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// With TLS: plain AMQP is accepted too (told by the first byte).
    pub allow_plain: bool,
}

pub(super) enum TimerKind {
    User(u64),
    Reconnect(ConnId),
}

pub(super) struct Timer {
    pub at: Instant,
    pub kind: TimerKind,
}

/// An event loop (not thread-safe: it and its IDs belong to one thread;
/// only a [`LoopWaker`] crosses threads).
pub struct Loop {
    pub(super) poll: Poll,
    pub(super) events: Events,
    pub(super) waker: LoopWaker,
    pub(super) conns: Slab<Conn>,
    pub(super) listeners: Slab<Listener>,
    pub(super) timers: Slab<Timer>,
    /// Due time, then scheduling order (so timers due at the same instant
    /// fire in the order they were scheduled).
    pub(super) heap: BinaryHeap<Reverse<(Instant, u64, TimerId)>>,
    pub(super) timer_seq: u64,
    pub(super) queue: VecDeque<LoopEvent>,
    pub(super) dirty: Vec<ConnId>,
    /// Connections with input left to read: their turn's read budget ran
    /// out, or their output drained below the limit that paused reading.
    pub(super) read_again: Vec<ConnId>,
    /// Connections whose output waits for the end of the dispatch batch.
    pub(super) to_write: Vec<ConnId>,
    /// Connections whose engine holds entities that had their final event
    /// (see [`Connection::next_event_held`]): released once every queued
    /// event was handed out, so that the events queued before a final one
    /// still find what they name (a delivery's outcome, a link's
    /// condition).
    pub(super) releasing: Vec<ConnId>,
    /// Links a peer redirected, to attach again once their final events
    /// were handed out (so that the layer above has kept them for it).
    pub(super) link_redirects: Vec<(ConnId, LinkId)>,
    pub(super) buf: Vec<u8>,
    pub(super) stopped: bool,
    pub(super) trace_frames: bool,
    pub(super) log: LogSink,
    pub(super) conn_serial: u64,
    /// Made by [`Loop::fd`]: armed for the next deadline, so that the
    /// loop's descriptor is readable when it has work.
    pub(super) timerfd: Option<TimerFd>,
}

pub(super) fn token_of(key: Key, listener: bool) -> Token {
    Token(((key.generation as usize) << 32) | ((key.index as usize) << 1) | listener as usize)
}

pub(super) fn key_of(t: Token) -> (Key, bool) {
    let v = t.0;
    (
        Key {
            index: ((v & 0xffff_ffff) >> 1) as u32,
            generation: (v >> 32) as u32,
        },
        v & 1 == 1,
    )
}

/// Resolves `host:port` to its first address.
pub(super) fn resolve(host: &str, port: u16) -> Result<SocketAddr, Error> {
    (host, port)
        .to_socket_addrs()
        .map_err(|e| Error::Resolve(format!("{host}:{port}: {e}")))?
        .next()
        .ok_or_else(|| Error::Resolve(format!("{host}:{port}")))
}

impl Loop {
    /// A new loop. The frame trace is on if the `MUON_TRACE` environment
    /// variable lists `frm`.
    pub fn new() -> Result<Loop, Error> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKE_TOKEN)?);
        Ok(Loop {
            poll,
            events: Events::with_capacity(1024),
            waker: LoopWaker {
                waker,
                flag: Arc::new(AtomicBool::new(false)),
            },
            conns: Slab::default(),
            listeners: Slab::default(),
            timers: Slab::default(),
            heap: BinaryHeap::new(),
            timer_seq: 0,
            queue: VecDeque::new(),
            dirty: Vec::new(),
            read_again: Vec::new(),
            to_write: Vec::new(),
            releasing: Vec::new(),
            link_redirects: Vec::new(),
            buf: vec![0; READ_CHUNK],
            stopped: false,
            trace_frames: super::trace::env_wants_frames(),
            log: LogSink::default(),
            conn_serial: 0,
            timerfd: None,
        })
    }

    /// A handle that wakes this loop from any thread.
    pub fn waker(&self) -> LoopWaker {
        self.waker.clone()
    }

    // ---- trace ----------------------------------------------------------------

    /// Turns the frame trace on or off for transports started from now on
    /// (a transport is traced from its first byte or not at all).
    pub fn set_frame_trace(&mut self, on: bool) {
        self.trace_frames = on;
    }

    /// True if new transports are traced.
    pub fn frame_trace(&self) -> bool {
        self.trace_frames
    }

    /// Keeps trace lines for [`take_log`](Self::take_log) instead of
    /// printing them to standard error.
    pub fn set_log_capture(&mut self, capture: bool) {
        self.log.capture = capture;
    }

    /// The trace lines kept since the last call.
    pub fn take_log(&mut self) -> Vec<String> {
        if self.log.lines.is_empty() {
            return Vec::new(); // the common case, without building an iterator
        }
        self.log.lines.drain(..).collect()
    }

    /// True if captured log lines wait for [`take_log`](Self::take_log).
    pub fn has_log(&self) -> bool {
        !self.log.lines.is_empty()
    }

    pub(super) fn new_tracers(&mut self, serial: u64) -> Option<Box<Tracers>> {
        self.trace_frames.then(|| {
            Box::new(Tracers {
                label: format!("c{serial}"),
                ..Tracers::default()
            })
        })
    }

    // ---- connections ----------------------------------------------------------

    /// Connects to `url` (`[amqp://][user[:password]@]host[:port][/address]`).
    /// The engine is opened at once; frames go out when the socket connects.
    /// A connection that cannot be made is reported later, as
    /// [`LoopEvent::Disconnected`].
    pub fn connect(&mut self, url: &str, mut options: ConnectOptions) -> Result<ConnId, Error> {
        let addr = Address::parse(url)?;
        let url_credentials = options.config.sasl.username.is_none();
        let url_hostname = options.config.hostname.is_none();
        if options.config.container_id.is_empty() {
            options.config.container_id = unique_id();
        }
        // A client certificate is an identity: SASL EXTERNAL uses it when
        // the server offers it.
        options.config.sasl.external |= options.tls.client_cert.is_some();
        let mut addresses = vec![addr];
        addresses.extend(options.failover.iter().cloned());
        // Built once: reconnects and failover reuse it.
        let tls_config = if addresses.iter().any(|a| a.scheme == "amqps") {
            Some(super::tls::client_config(&options.tls).map_err(Error::Tls)?)
        } else {
            None
        };
        self.conn_serial += 1;
        let serial = self.conn_serial;
        let engine = Connection::client(options.config.clone(), Instant::now());
        let id = ConnId(self.conns.insert(Conn {
            addresses,
            options: Some(options),
            url_hostname,
            url_credentials,
            tls_config,
            ..Conn::new(engine, serial)
        }));
        self.start_transport(id, false);
        Ok(id)
    }

    /// Sets the XOAUTH2 token the next transport of a client connection
    /// logs in with (a fresh token for each reconnect).
    pub fn set_token(&mut self, id: ConnId, token: Option<String>) -> Result<(), Error> {
        let c = self.conns.get_mut(id.0).ok_or(Error::Stale("connection"))?;
        let o = c
            .options
            .as_mut()
            .ok_or(Error::Engine(engine::Error::WrongState(
                "only a connection made with connect has a token",
            )))?;
        o.config.sasl.token = token;
        Ok(())
    }

    /// The engine of a connection, for commands. Marks the connection so
    /// that its output is written and its events collected afterwards.
    /// `None` once the connection is final.
    pub fn engine(&mut self, id: ConnId) -> Option<&mut Connection> {
        let c = self.conns.get_mut(id.0)?;
        if c.final_sent {
            return None;
        }
        self.dirty.push(id);
        Some(&mut c.engine)
    }

    /// Gives a delivery's payload buffer back to its connection's engine
    /// for reuse (dropped if the connection is gone).
    pub fn recycle_payload(&mut self, id: ConnId, buf: Vec<u8>) {
        if let Some(c) = self.conns.get_mut(id.0) {
            c.engine.recycle_payload(buf);
        }
    }

    /// The engine of a connection, read-only (also after its final event,
    /// until it is released).
    pub fn engine_ref(&self, id: ConnId) -> Option<&Connection> {
        self.conns.get(id.0).map(|c| &c.engine)
    }

    /// The connection's default session, begun on first use.
    pub fn default_session(&mut self, id: ConnId) -> Result<SessionId, Error> {
        let c = self.live_conn(id)?;
        if let Some(s) = c.session
            && c.engine.session_local_state(s) == engine::EndpointState::Active
        {
            return Ok(s);
        }
        let s = c.engine.session_new()?;
        c.engine.session_open(s)?;
        c.session = Some(s);
        self.dirty.push(id);
        Ok(s)
    }

    fn live_conn(&mut self, id: ConnId) -> Result<&mut Conn, Error> {
        match self.conns.get_mut(id.0) {
            Some(c) if !c.final_sent => Ok(c),
            _ => Err(Error::Stale("connection")),
        }
    }

    /// Opens a link on the default session. With reconnect on, it is
    /// remembered and attached again after a reconnect (until it is closed
    /// with [`forget_link`](Self::forget_link) or ends while the transport
    /// is up).
    pub fn open_link(
        &mut self,
        id: ConnId,
        role: Role,
        options: LinkOptions,
    ) -> Result<LinkId, Error> {
        if self.live_conn(id)?.engine.is_done() {
            // Between transports (waiting to reconnect) or closed.
            return Err(Error::Engine(engine::Error::Closed));
        }
        let s = self.default_session(id)?;
        let c = self.live_conn(id)?;
        let l = c.engine.link_new(s, role, options.clone())?;
        c.engine.link_open(l)?;
        if c.options
            .as_ref()
            .is_some_and(|o| o.reconnect.is_some() || o.follow_redirect)
        {
            c.recipes.push(Recipe {
                link: l,
                role,
                options,
                redirects: 0,
                redirected: false,
            });
        }
        self.dirty.push(id);
        Ok(l)
    }

    /// Forgets a link for reconnect purposes (the application closed it).
    pub fn forget_link(&mut self, id: ConnId, link: LinkId) {
        if let Some(c) = self.conns.get_mut(id.0) {
            c.recipes.retain(|r| r.link != link);
        }
    }

    /// True if a reconnect would attach `link` again.
    pub fn will_recreate(&self, id: ConnId, link: LinkId) -> bool {
        self.conns.get(id.0).is_some_and(|c| {
            !c.closing && !c.final_sent && c.recipes.iter().any(|r| r.link == link)
        })
    }

    /// Closes a connection (and stops reconnecting it). Between reconnect
    /// attempts, the connection ends at once.
    pub fn close(&mut self, id: ConnId, error: Option<AmqpError>) -> Result<(), Error> {
        let c = self.live_conn(id)?;
        c.closing = true;
        if let Some(t) = c.reconnect_timer.take() {
            self.timers.remove(t.0);
            self.finalize(id);
            return Ok(());
        }
        c.engine.close(error);
        self.dirty.push(id);
        Ok(())
    }

    /// Ends a connection at once, without the AMQP close handshake: the
    /// socket is shut now (output not yet written is dropped, no close
    /// frame goes out), no reconnect follows, and every session and link
    /// gets its final event, then [`LoopEvent::ConnectionFinal`] (no
    /// [`LoopEvent::Disconnected`]: the caller ended it). The peer sees
    /// the transport end without a close.
    pub fn abort(&mut self, id: ConnId) -> Result<(), Error> {
        let c = self.live_conn(id)?;
        c.closing = true;
        c.transport_over = true;
        c.failure = None;
        c.engine.abort();
        if let Some(t) = c.reconnect_timer.take() {
            self.timers.remove(t.0);
        }
        self.shut(id);
        self.finalize(id);
        Ok(())
    }

    /// True if `id` names a connection that has not had its final event.
    pub fn connection_exists(&self, id: ConnId) -> bool {
        self.conns.get(id.0).is_some_and(|c| !c.final_sent)
    }

    /// True if the connection is the accepting side.
    pub fn is_server(&self, id: ConnId) -> bool {
        self.conns.get(id.0).is_some_and(|c| c.options.is_none())
    }

    /// True while the connection has a transport that is connected (not
    /// connecting, not between reconnect attempts).
    pub fn is_connected(&self, id: ConnId) -> bool {
        self.conns.get(id.0).is_some_and(|c| {
            (c.socket.is_some() && !c.connecting)
                || (c.external && !c.transport_over && !c.final_sent)
        })
    }

    /// The connection's counters over all its transports so far.
    pub fn conn_counters(&self, id: ConnId) -> Option<engine::Counters> {
        let c = self.conns.get(id.0)?;
        let mut total = c.prior;
        total.add(c.engine.counters());
        Some(total)
    }

    /// Reconnects of the connection that reached a connected transport.
    pub fn reconnects(&self, id: ConnId) -> u32 {
        self.conns.get(id.0).map_or(0, |c| c.reconnects)
    }

    /// When the current transport connected (`None` while not connected).
    pub fn connected_since(&self, id: ConnId) -> Option<Instant> {
        self.conns
            .get(id.0)
            .filter(|c| c.socket.is_some() && !c.connecting)
            .and_then(|c| c.connected_at)
    }

    /// The current transport is TLS (handshake done or not).
    pub fn is_tls(&self, id: ConnId) -> bool {
        self.conns.get(id.0).is_some_and(|c| c.tls.is_some())
    }

    /// The TLS protocol version and cipher suite of the current transport,
    /// once its handshake is done (`None` without TLS).
    pub fn tls_in_use(&self, id: ConnId) -> Option<(String, String)> {
        self.conns.get(id.0)?.tls.as_ref()?.negotiated()
    }

    /// Releases a connection's slot after its final event was handled.
    pub fn release_connection(&mut self, id: ConnId) {
        if self.conns.get(id.0).is_some_and(|c| c.final_sent) {
            self.shut(id);
            self.conns.remove(id.0);
        }
    }

    // ---- listeners ------------------------------------------------------------

    /// Listens on `host:port` (port 0 picks a free port); with `amqps://`
    /// or a certificate in `tls`, it serves TLS. Accepted connections get
    /// engines made with `config`.
    pub fn listen(
        &mut self,
        addr: &str,
        config: Config,
        tls: &TlsServerSettings,
    ) -> Result<ListenerId, Error> {
        self.listen_with(addr, config, tls, None)
    }

    /// [`Loop::listen`], with the listening socket made by `bind` (bound
    /// to the resolved address and listening) instead of mio's bind: how
    /// the C API makes a listener several loops share (`SO_REUSEPORT`).
    pub fn listen_with(
        &mut self,
        addr: &str,
        mut config: Config,
        tls: &TlsServerSettings,
        bind: Option<Binder>,
    ) -> Result<ListenerId, Error> {
        let a = Address::parse(addr)?;
        let tls_config = if a.scheme == "amqps" || tls.cert.is_some() {
            Some(super::tls::server_config(tls).map_err(Error::Tls)?)
        } else {
            None
        };
        if tls_config.is_some() && !tls.insecure_allow_plain {
            config.encrypted = true;
        }
        let sa = resolve(&a.host, a.port)?;
        let mut sock = match bind {
            None => TcpListener::bind(sa)?,
            Some(bind) => {
                let std_sock = bind(sa)?;
                std_sock.set_nonblocking(true)?;
                TcpListener::from_std(std_sock)
            }
        };
        let port = sock.local_addr()?.port();
        let id = ListenerId(self.listeners.insert(Listener {
            socket: None,
            config,
            port,
            tls: tls_config,
            allow_plain: tls.insecure_allow_plain,
        }));
        if let Err(e) =
            self.poll
                .registry()
                .register(&mut sock, token_of(id.0, true), Interest::READABLE)
        {
            self.listeners.remove(id.0);
            return Err(e.into());
        }
        if let Some(l) = self.listeners.get_mut(id.0) {
            l.socket = Some(sock);
        }
        self.queue.push_back(LoopEvent::ListenerOpen(id));
        Ok(id)
    }

    /// The port a listener is bound to.
    pub fn listener_port(&self, id: ListenerId) -> Option<u16> {
        self.listeners
            .get(id.0)
            .filter(|l| l.socket.is_some())
            .map(|l| l.port)
    }

    /// Stops a listener (accepted connections carry on);
    /// [`LoopEvent::ListenerFinal`] follows.
    pub fn close_listener(&mut self, id: ListenerId) -> Result<(), Error> {
        let l = self
            .listeners
            .get_mut(id.0)
            .ok_or(Error::Stale("listener"))?;
        let Some(mut sock) = l.socket.take() else {
            return Err(Error::Stale("listener"));
        };
        self.poll.registry().deregister(&mut sock).ok();
        self.queue.push_back(LoopEvent::ListenerFinal(id));
        Ok(())
    }

    /// Releases a listener's slot after its final event was handled.
    pub fn release_listener(&mut self, id: ListenerId) {
        if self.listeners.get(id.0).is_some_and(|l| l.socket.is_none()) {
            self.listeners.remove(id.0);
        }
    }

    /// True if `id` names an open listener.
    pub fn listener_exists(&self, id: ListenerId) -> bool {
        self.listeners.get(id.0).is_some_and(|l| l.socket.is_some())
    }

    // ---- timers -------------------------------------------------------------

    /// Fires [`LoopEvent::Timer`] with `token` after `delay`. Timers fire in
    /// order of their due time, and timers due at the same time in the
    /// order they were scheduled.
    pub fn schedule(&mut self, delay: Duration, token: u64) -> TimerId {
        self.add_timer(delay, TimerKind::User(token))
    }

    pub(super) fn add_timer(&mut self, delay: Duration, kind: TimerKind) -> TimerId {
        let at = Instant::now() + delay;
        let id = TimerId(self.timers.insert(Timer { at, kind }));
        self.timer_seq += 1;
        self.heap.push(Reverse((at, self.timer_seq, id)));
        id
    }

    /// Cancels a timer that has not fired.
    pub fn cancel(&mut self, id: TimerId) -> Result<(), Error> {
        match self.timers.get(id.0) {
            Some(Timer {
                kind: TimerKind::User(_),
                ..
            }) => {
                self.timers.remove(id.0);
                Ok(())
            }
            _ => Err(Error::Stale("timer")),
        }
    }

    pub(super) fn next_timer(&mut self) -> Option<Instant> {
        while let Some(Reverse((at, _, id))) = self.heap.peek().copied() {
            if self.timers.get(id.0).is_some_and(|t| t.at == at) {
                return Some(at);
            }
            self.heap.pop();
        }
        None
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((at, _, id))) = self.heap.peek().copied() {
            if at > now {
                break;
            }
            self.heap.pop();
            if self.timers.get(id.0).is_none_or(|t| t.at != at) {
                continue;
            }
            let Some(t) = self.timers.remove(id.0) else {
                continue;
            };
            match t.kind {
                TimerKind::User(token) => self.queue.push_back(LoopEvent::Timer(id, token)),
                TimerKind::Reconnect(c) => self.reconnect_now(c),
            }
        }
    }

    // ---- running --------------------------------------------------------------

    /// True while there is work: connections, listeners, timers or
    /// undelivered events (and [`stop`](Self::stop) was not called).
    pub fn has_work(&self) -> bool {
        !self.stopped
            && (!self.conns.is_empty()
                || !self.listeners.is_empty()
                || !self.timers.is_empty()
                || !self.queue.is_empty())
    }

    /// Makes [`has_work`](Self::has_work) false until [`resume`](Self::resume).
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    /// Clears a [`stop`](Self::stop).
    pub fn resume(&mut self) {
        self.stopped = false;
    }

    /// True once [`stop`](Self::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// The next event, if one is queued. Output that commands produced
    /// since the last call is written first.
    pub fn next_event(&mut self) -> Option<LoopEvent> {
        self.flush_dirty();
        self.queue.pop_front()
    }

    /// Waits up to `timeout` (`None`: until something happens) for I/O,
    /// timers or a wake-up, and handles what happened; events are then
    /// read with [`next_event`](Self::next_event). Returns at once if
    /// events are already queued.
    pub fn poll(&mut self, timeout: Option<Duration>) -> Result<(), Error> {
        self.flush_dirty();
        if !self.queue.is_empty() {
            return Ok(());
        }
        let now = Instant::now();
        let mut deadline = timeout.map(|t| now + t);
        let mut earliest = |d: Instant| deadline = Some(deadline.map_or(d, |x| x.min(d)));
        if let Some(t) = self.timed_deadline() {
            earliest(t);
        }
        if !self.read_again.is_empty() {
            earliest(now);
        }
        let wait = deadline.map(|d| d.saturating_duration_since(now));
        match self.poll.poll(&mut self.events, wait) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
        let ready: Vec<(Token, bool, bool)> = self
            .events
            .iter()
            .map(|e| {
                (
                    e.token(),
                    e.is_readable() || e.is_read_closed() || e.is_error(),
                    e.is_writable() || e.is_write_closed() || e.is_error(),
                )
            })
            .collect();
        for (token, readable, writable) in ready {
            if token == TIMER_TOKEN {
                // It only makes the loop's descriptor readable; what was
                // due is handled below.
                if let Some(t) = self.timerfd.as_mut() {
                    t.expired();
                }
                continue;
            }
            if token == WAKE_TOKEN {
                if self.waker.flag.swap(false, Ordering::SeqCst) {
                    self.queue.push_back(LoopEvent::Wake);
                }
                continue;
            }
            let (key, is_listener) = key_of(token);
            if is_listener {
                self.accept(ListenerId(key));
                continue;
            }
            let id = ConnId(key);
            // A token of a closed (or reused) slot finds nothing: readiness
            // for a socket that is gone is dropped here.
            if self.conns.get(id.0).is_none_or(|c| c.socket.is_none()) {
                continue;
            }
            if writable {
                self.on_writable(id);
            }
            if readable {
                self.on_readable(id);
            }
            self.dirty.push(id);
        }
        // Input left over from the last turn (edge-triggered readiness
        // will not report it again).
        let again = std::mem::take(&mut self.read_again);
        for id in again {
            if self.conns.get(id.0).is_some_and(|c| c.socket.is_some()) {
                self.on_readable(id);
                self.dirty.push(id);
            }
        }
        self.fire_timers();
        self.tick_engines();
        self.flush_dirty();
        Ok(())
    }

    fn tick_engines(&mut self) {
        let now = Instant::now();
        let due: Vec<Key> = self
            .conns
            .iter()
            .filter(|(_, c)| {
                c.deadline.is_some_and(|d| d <= now) || c.linger.is_some_and(|d| d <= now)
            })
            .map(|(k, _)| k)
            .collect();
        for k in due {
            if let Some(c) = self.conns.get_mut(k)
                && c.deadline.is_some_and(|d| d <= now)
            {
                c.deadline = c.engine.tick(now);
            }
            self.dirty.push(ConnId(k));
        }
    }

    /// Writes output and collects events of every connection touched since
    /// the last call; ends transports whose engine is done.
    pub(super) fn flush_dirty(&mut self) {
        // Every event queued so far was handed out (and handled): what
        // engines held for them can go.
        if self.queue.is_empty() && !self.releasing.is_empty() {
            self.release_finished();
        }
        if self.queue.is_empty() && !self.link_redirects.is_empty() {
            self.reattach_redirected();
        }
        // Collect the events of every engine touched since the last call
        // (one clock read for them all).
        let now = Instant::now();
        dedup(&mut self.dirty);
        while let Some(id) = self.dirty.pop() {
            if self.collect(id, now)
                && let Some(c) = self.conns.get_mut(id.0)
                && !c.write_queued
            {
                c.write_queued = true;
                self.to_write.push(id);
            }
        }
        // Write only once the application has handled every queued event:
        // what its callbacks queued (dispositions, credit, transfers) then
        // goes out coalesced, in one write per connection per batch.
        if !self.queue.is_empty() {
            // Except credit: the peer's sender waits for it, so it goes
            // out now (with whatever else is ready), not after the batch.
            for id in &self.to_write {
                if let Some(c) = self.conns.get_mut(id.0)
                    && !c.final_sent
                    && c.engine.credit_granted()
                {
                    Self::write_out(&self.poll, &mut self.log, c, token_of(id.0, false));
                }
            }
            return;
        }
        while let Some(id) = self.to_write.pop() {
            let Some(c) = self.conns.get_mut(id.0) else {
                continue;
            };
            c.write_queued = false;
            if c.final_sent {
                continue;
            }
            Self::write_out(&self.poll, &mut self.log, c, token_of(id.0, false));
            self.resume_reading(id);
            // A failed write reports through the engine.
            self.collect(id, now);
            let Some(c) = self.conns.get_mut(id.0) else {
                continue;
            };
            if c.engine.is_done() && !c.transport_over && c.output_pending() && c.linger.is_none() {
                // The last frames go out while the peer reads them, for
                // the close time-out at most.
                c.linger = c.engine.config().close_timeout.map(|t| now + t);
            }
            let lingered = c.linger.is_some_and(|t| now >= t);
            if c.engine.is_done()
                && !c.transport_over
                && (!c.output_pending()
                    || (c.socket.is_none() && !c.external)
                    || c.connecting
                    || lingered)
            {
                // A failure is reported even while closing: the close
                // did not complete (no reconnect follows a close).
                let failure = c.failure.take();
                let redirect = c.redirect.is_some();
                self.shut(id);
                match failure {
                    Some(reason) => self.transport_lost(id, reason),
                    None if redirect => self.redirected(id),
                    None => self.finalize(id),
                }
            }
            // Otherwise a done engine waits for WRITABLE to drain its close.
        }
    }

    /// Ticks a connection's engine and queues its events; false if the
    /// connection is gone or final.
    fn collect(&mut self, id: ConnId, now: Instant) -> bool {
        let Some(c) = self.conns.get_mut(id.0) else {
            return false;
        };
        if c.final_sent {
            return false;
        }
        // The engine's clock matters only once a deadline is due, or when
        // the engine says its deadline may have moved earlier.
        if c.engine.timers_changed() || c.deadline.is_some_and(|d| d <= now) {
            c.deadline = c.engine.tick(now);
        }
        let up = !c.engine.is_done();
        while let Some(e) = c.engine.next_event_held() {
            match &e {
                Event::TransportError(err) => {
                    c.failure.get_or_insert(err.clone());
                }
                // The AMQP connection is up: the backoff starts over (the
                // redirects in a row only once it stayed up a while).
                Event::ConnectionRemoteOpen => {
                    c.attempt = 0;
                    c.opened_at = Some(now);
                }
                // A redirect to follow: answered here (the close is not
                // handed out; `on_disconnected` reports it once the
                // transport is over, and a new one starts).
                Event::ConnectionRemoteClose => {
                    c.settle_redirects(now);
                    if c.redirect.is_none()
                        && let Some(r) = redirect_of(c)
                    {
                        c.redirect = Some(r);
                        c.redirects += 1;
                        c.engine.close(None);
                        continue;
                    }
                    if let Some(e) = c.engine.remote_condition()
                        && log::enabled(Category::Connection, Level::Warning)
                    {
                        log::deliver(
                            Category::Connection,
                            Level::Warning,
                            &format!("{}: the peer closed the connection: {}", c.who(), show(e)),
                        );
                    }
                }
                // A link redirect to follow: the detach is answered here,
                // and the link attached again to the new address once its
                // final event was handed out.
                Event::LinkRemoteClose(l) => {
                    if up
                        && c.redirect.is_none()
                        && let Some(address) = link_redirect_of(c, *l)
                        && let Some(r) = c.recipes.iter_mut().find(|r| r.link == *l)
                    {
                        match r.role {
                            Role::Sender => {
                                r.options
                                    .target
                                    .get_or_insert_with(Default::default)
                                    .address = Some(address)
                            }
                            Role::Receiver => {
                                r.options
                                    .source
                                    .get_or_insert_with(Default::default)
                                    .address = Some(address)
                            }
                        }
                        r.redirects += 1;
                        r.redirected = true;
                        let _ = c.engine.link_close(*l, true, None);
                        continue;
                    }
                    if let Some(e) = c.engine.link_remote_condition(*l)
                        && log::enabled(Category::Connection, Level::Warning)
                    {
                        let name = c.engine.link_name(*l).unwrap_or_default();
                        log::deliver(
                            Category::Connection,
                            Level::Warning,
                            &format!("{}: the peer closed link {name:?}: {}", c.who(), show(e)),
                        );
                    }
                }
                // A link that ended while the transport was up is not
                // re-attached by a later reconnect (unless a redirect
                // ends it).
                Event::LinkFinal(l) if up && c.redirect.is_none() => {
                    if c.recipes.iter().any(|r| r.link == *l && r.redirected) {
                        self.link_redirects.push((id, *l));
                    } else {
                        c.recipes.retain(|r| r.link != *l)
                    }
                }
                _ => {}
            }
            self.queue.push_back(LoopEvent::Engine(id, e));
        }
        self.note_finished(id);
        true
    }

    /// Remembers to release what `id`'s engine holds (see `releasing`).
    pub(super) fn note_finished(&mut self, id: ConnId) {
        if self
            .conns
            .get(id.0)
            .is_some_and(|c| c.engine.has_finished())
            && !self.releasing.contains(&id)
        {
            self.releasing.push(id);
        }
    }

    /// Releases the entities engines held for events now handed out: call
    /// only with the queue empty.
    fn release_finished(&mut self) {
        for id in self.releasing.drain(..) {
            if let Some(c) = self.conns.get_mut(id.0) {
                c.engine.release_finished();
            }
        }
    }

    /// Reports the connection's final event (after its engine's last
    /// events).
    pub(super) fn finalize(&mut self, id: ConnId) {
        let Some(c) = self.conns.get_mut(id.0) else {
            return;
        };
        if c.final_sent {
            return;
        }
        c.final_sent = true;
        c.deadline = None;
        while let Some(e) = c.engine.next_event_held() {
            self.queue.push_back(LoopEvent::Engine(id, e));
        }
        self.note_finished(id);
        self.queue.push_back(LoopEvent::ConnectionFinal(id));
    }
}

/// The address a peer's `amqp:link:redirect` detach of link `l` names, if
/// the connection follows redirects, the link has not followed too many,
/// and the info names no other host than the connection's.
fn link_redirect_of(c: &Conn, l: LinkId) -> Option<String> {
    use crate::codec::Value;
    let follow = c.options.as_ref().is_some_and(|o| o.follow_redirect);
    if !follow || c.closing {
        return None;
    }
    let recipe = c.recipes.iter().find(|r| r.link == l)?;
    if recipe.redirects >= MAX_REDIRECTS {
        return None;
    }
    let error = c.engine.link_remote_condition(l)?;
    if error.condition.as_str() != crate::codec::transport::condition::LINK_REDIRECT {
        return None;
    }
    let info = error.info.as_ref()?;
    let text = |key: &str| match info.get(key) {
        Some(Value::String(s) | Value::Symbol(s)) if !s.is_empty() => Some(s.to_string()),
        _ => None,
    };
    // Another host or port would need another connection: not followed.
    let current = c.current.as_ref()?;
    if info.get("port").is_some_and(|v| !matches!(v, Value::Null))
        && redirect_port(info.get("port"), current)? != current.port
    {
        return None;
    }
    let hostname = c.engine.config().hostname.clone();
    for key in ["network-host", "hostname"] {
        if let Some(h) = text(key)
            && h != current.host
            && Some(&h) != hostname.as_ref()
        {
            return None;
        }
    }
    text("address")
}

/// The redirect a client connection's peer asked for by closing it with
/// `amqp:connection:redirect`, if the connection follows redirects, has
/// not followed too many in a row, and the info names a host.
fn redirect_of(c: &Conn) -> Option<Redirect> {
    use crate::codec::Value;
    let follow = c.options.as_ref().is_some_and(|o| o.follow_redirect);
    if !follow || c.closing || c.redirects >= MAX_REDIRECTS {
        return None;
    }
    let error = c.engine.remote_condition()?;
    if error.condition.as_str() != crate::codec::transport::condition::REDIRECT {
        return None;
    }
    let info = error.info.as_ref()?;
    let text = |key: &str| match info.get(key) {
        Some(Value::String(s) | Value::Symbol(s)) if !s.is_empty() => Some(s.to_string()),
        _ => None,
    };
    let hostname = text("hostname");
    let host = text("network-host").or_else(|| hostname.clone())?;
    // The host is resolved on the loop's thread: only a name or an IP
    // literal is followed, never arbitrary text from the peer.
    if !valid_host(&host) {
        return None;
    }
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .map_or(host.clone(), str::to_owned);
    let current = c.current.as_ref()?;
    let port = redirect_port(info.get("port"), current)?;
    Some(Redirect {
        hostname: hostname.unwrap_or_else(|| host.clone()),
        addr: Address {
            host,
            port,
            ..current.clone()
        },
        error: error.clone(),
    })
}

/// The port a redirect's info names (the scheme's default if none); `None`
/// if it is not a port number (0 included).
fn redirect_port(v: Option<&crate::codec::Value<'_>>, current: &Address) -> Option<u16> {
    use crate::codec::Value;
    let port = match v {
        None | Some(Value::Null) => {
            if current.scheme == "amqps" {
                5671
            } else {
                5672
            }
        }
        Some(v) => match v {
            Value::Ushort(p) => *p,
            Value::Ubyte(p) => u16::from(*p),
            Value::Uint(p) => u16::try_from(*p).ok()?,
            Value::Ulong(p) => u16::try_from(*p).ok()?,
            Value::Short(p) => u16::try_from(*p).ok()?,
            Value::Int(p) => u16::try_from(*p).ok()?,
            Value::Long(p) => u16::try_from(*p).ok()?,
            _ => return None,
        },
    };
    (port != 0).then_some(port)
}

/// A host a redirect may send a connection to: at most 253 characters,
/// an IPv4 or IPv6 literal (the latter possibly in brackets), or a DNS
/// name: labels of 1 to 63 letters, digits, `-` or `_`, separated by dots
/// (one final dot allowed).
pub(super) fn valid_host(host: &str) -> bool {
    if host.is_empty() || host.len() > 253 {
        return false;
    }
    if host.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    !name.is_empty()
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// How much of a peer's description a log line shows.
pub(super) const DESCRIPTION_SHOWN: usize = 1024;

/// A condition in one line: `amqp:condition: description`, the peer's
/// text escaped (see [`trace::escape`]) and its description cut at
/// 1024 characters.
pub(super) fn show(e: &AmqpError) -> String {
    let condition = trace::escape(e.condition.as_str());
    match &e.description {
        Some(d) => format!(
            "{condition}: {}",
            trace::escape_capped(d, DESCRIPTION_SHOWN)
        ),
        None => condition,
    }
}

/// Drops repeated connections from a dirty list (each command marks its
/// connection, so one callback can mark it many times; collecting it once
/// is enough). Short lists keep their order.
fn dedup(ids: &mut Vec<ConnId>) {
    if ids.len() <= 1 {
        return;
    }
    if ids.len() > 16 {
        ids.sort_unstable_by_key(|c| c.0);
        ids.dedup();
        return;
    }
    // Keep each one's last mark: the list is popped from the end, so the
    // connection touched last is still collected first.
    let mut kept = 0;
    for i in 0..ids.len() {
        let id = ids[i];
        if !ids[i + 1..].contains(&id) {
            ids[kept] = id;
            kept += 1;
        }
    }
    ids.truncate(kept);
}

/// A container id unique to this process and moment.
pub(super) fn unique_id() -> String {
    use std::sync::atomic::AtomicU64;
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("muon-{}-{:x}-{n}", std::process::id(), t & 0xffff_ffff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_host_is_a_name_or_an_ip_literal() {
        for ok in [
            "localhost",
            "broker-1.example.com",
            "broker.example.com.",
            "_srv.example",
            "127.0.0.1",
            "::1",
            "[::1]",
            "[fe80::1]",
            &format!("{}.{}", "a".repeat(63), "b".repeat(63)),
        ] {
            assert!(valid_host(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "a..b",
            ".a",
            "exa mple",
            "a/b",
            "host:5672",
            "[127.0.0.1]",
            "[::1",
            "münchen.de",
            "a\nb",
            &"a".repeat(64),
            &vec!["abcdefg"; 32].join("."), // 255 characters
        ] {
            assert!(!valid_host(bad), "{bad:?}");
        }
    }

    #[test]
    fn redirects_in_a_row_wait_longer() {
        let d: Vec<u128> = (1..=10)
            .map(|n| redirect_delay(None, n).as_millis())
            .collect();
        assert_eq!(d, [20, 40, 80, 160, 320, 500, 500, 500, 500, 500]);
        let p = ReconnectPolicy::default();
        assert_eq!(redirect_delay(Some(&p), 1), Duration::from_millis(100));
        assert_eq!(redirect_delay(Some(&p), 3), Duration::from_millis(400));
    }

    #[test]
    fn show_escapes_and_cuts_the_peer_text() {
        let e = AmqpError::new("amqp:x\u{1b}", format!("bad\n{}", "y".repeat(2000)));
        let s = show(&e);
        assert!(s.starts_with("amqp:x\\x1b: bad\\x0ay"), "{s:.40}");
        assert!(
            s.ends_with("... (980 bytes more)"),
            "{}",
            &s[s.len() - 40..]
        );
    }
}
