//! The loop itself: connections, listeners, timers, reconnect, wake.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};

use super::{Address, Error};
use crate::codec::transport::{AmqpError, condition};
use crate::engine::{self, Config, Connection, Event, Key, LinkId, LinkOptions, SessionId};

const WAKE_TOKEN: Token = Token(usize::MAX);
const READ_CHUNK: usize = 64 * 1024;

/// A connection of a [`Loop`]: stays the same across reconnects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnId(pub Key);

/// A listener of a [`Loop`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(pub Key);

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
    /// Attempts before giving up (0: no limit).
    pub max_attempts: u32,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(10),
            max_attempts: 0,
        }
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
    /// The transport of a connection was lost or refused, with the reason.
    /// With reconnect on, a new attempt is scheduled.
    Disconnected(ConnId, AmqpError),
    /// A reconnect attempt got a new transport; the links the application
    /// had are being re-attached (new link IDs: `LinkRecreated`).
    Reconnected(ConnId),
    /// After a reconnect, the link that was `old` is now `new`.
    LinkRecreated {
        /// The connection.
        conn: ConnId,
        /// The link ID before the reconnect (now stale).
        old: LinkId,
        /// Its replacement.
        new: LinkId,
    },
    /// The connection is gone for good; its ID is stale after this.
    ConnectionFinal(ConnId),
    /// A timer fired with the token it was scheduled with.
    Timer(TimerId, u64),
    /// `LoopWaker::wake` was called.
    Wake,
}

/// Wakes a loop from another thread. Thread-safe.
#[derive(Clone)]
pub struct LoopWaker {
    waker: Arc<Waker>,
    flag: Arc<AtomicBool>,
}

impl LoopWaker {
    /// Makes the loop report [`LoopEvent::Wake`] soon.
    pub fn wake(&self) -> io::Result<()> {
        self.flag.store(true, Ordering::SeqCst);
        self.waker.wake()
    }
}

/// A link the application opened, remembered so that reconnect can attach
/// it again.
#[derive(Debug, Clone)]
struct Recipe {
    link: LinkId,
    role: crate::codec::transport::Role,
    options: LinkOptions,
}

struct Conn {
    engine: Connection,
    socket: Option<TcpStream>,
    connecting: bool,
    writable: bool,
    deadline: Option<Instant>,
    /// Client side: where to (re)connect.
    addresses: Vec<Address>,
    next_address: usize,
    options: Option<ConnectOptions>,
    attempt: u32,
    reconnect_timer: Option<TimerId>,
    /// The application closed it: do not reconnect.
    closing: bool,
    recipes: Vec<Recipe>,
    session: Option<SessionId>,
    final_sent: bool,
    /// The engine reported a failure before the transport closed.
    failure: Option<AmqpError>,
    clean_close: bool,
}

struct Listener {
    socket: Option<TcpListener>,
    config: Config,
    port: u16,
}

enum TimerKind {
    User(u64),
    Reconnect(ConnId),
}

struct Timer {
    at: Instant,
    kind: TimerKind,
}

/// An event loop (not thread-safe: it and its IDs belong to one thread).
pub struct Loop {
    poll: Poll,
    events: Events,
    waker: LoopWaker,
    conns: engine::Slab<Conn>,
    listeners: engine::Slab<Listener>,
    timers: engine::Slab<Timer>,
    heap: BinaryHeap<Reverse<(Instant, TimerId)>>,
    queue: VecDeque<LoopEvent>,
    dirty: Vec<ConnId>,
    buf: Vec<u8>,
    stopped: bool,
}

fn token_of(key: Key, listener: bool) -> Token {
    Token(((key.generation as usize) << 32) | ((key.index as usize) << 1) | listener as usize)
}

fn key_of(t: Token) -> (Key, bool) {
    let v = t.0;
    (
        Key {
            index: ((v & 0xffff_ffff) >> 1) as u32,
            generation: (v >> 32) as u32,
        },
        v & 1 == 1,
    )
}

impl Loop {
    /// A new loop.
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
            conns: engine::Slab::default(),
            listeners: engine::Slab::default(),
            timers: engine::Slab::default(),
            heap: BinaryHeap::new(),
            queue: VecDeque::new(),
            dirty: Vec::new(),
            buf: vec![0; READ_CHUNK],
            stopped: false,
        })
    }

    /// A handle that wakes this loop from any thread.
    pub fn waker(&self) -> LoopWaker {
        self.waker.clone()
    }

    // ---- connections --------------------------------------------------------

    /// Connects to `url` (`[amqp://][user[:password]@]host[:port][/address]`).
    /// The engine is opened at once; frames go out when the socket connects.
    pub fn connect(&mut self, url: &str, mut options: ConnectOptions) -> Result<ConnId, Error> {
        let addr = Address::parse(url)?;
        let cfg = &mut options.config;
        if cfg.sasl.username.is_none() {
            cfg.sasl.username = addr.user.clone();
            cfg.sasl.password = addr.password.clone();
        }
        if cfg.hostname.is_none() {
            cfg.hostname = Some(addr.host.clone());
        }
        if cfg.container_id.is_empty() {
            cfg.container_id = unique_container_id();
        }
        let now = Instant::now();
        let mut addresses = vec![addr];
        addresses.extend(options.failover.iter().cloned());
        let engine = Connection::client(options.config.clone(), now);
        let id = ConnId(self.conns.insert(Conn {
            engine,
            socket: None,
            connecting: false,
            writable: false,
            deadline: None,
            addresses,
            next_address: 0,
            options: Some(options),
            attempt: 0,
            reconnect_timer: None,
            closing: false,
            recipes: Vec::new(),
            session: None,
            final_sent: false,
            failure: None,
            clean_close: false,
        }));
        if let Some(c) = self.conns.get_mut(id.0) {
            c.engine.open();
        }
        if let Err(e) = self.start_socket(id) {
            // Report asynchronously, like a refused connection.
            self.transport_lost(
                id,
                AmqpError::new(condition::CONNECTION_FORCED, e.to_string()),
            );
        }
        Ok(id)
    }

    fn start_socket(&mut self, id: ConnId) -> Result<(), Error> {
        let c = self.conns.get_mut(id.0).ok_or(Error::Stale("connection"))?;
        let addr = c.addresses[c.next_address % c.addresses.len()].clone();
        c.next_address = (c.next_address + 1) % c.addresses.len();
        let sa: SocketAddr = (addr.host.as_str(), addr.port)
            .to_socket_addrs()
            .map_err(|e| Error::Resolve(format!("{}:{}: {e}", addr.host, addr.port)))?
            .next()
            .ok_or_else(|| Error::Resolve(format!("{}:{}", addr.host, addr.port)))?;
        let mut sock = TcpStream::connect(sa)?;
        sock.set_nodelay(true).ok();
        self.poll.registry().register(
            &mut sock,
            token_of(id.0, false),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        c.socket = Some(sock);
        c.connecting = true;
        c.writable = true;
        Ok(())
    }

    /// The engine of a connection, for commands. Marks the connection so
    /// that its output is written and its events collected afterwards.
    pub fn engine(&mut self, id: ConnId) -> Option<&mut Connection> {
        let c = self.conns.get_mut(id.0)?;
        if c.final_sent {
            return None;
        }
        self.dirty.push(id);
        Some(&mut c.engine)
    }

    /// The engine of a connection, read-only.
    pub fn engine_ref(&self, id: ConnId) -> Option<&Connection> {
        self.conns
            .get(id.0)
            .filter(|c| !c.final_sent)
            .map(|c| &c.engine)
    }

    /// The connection's default session, begun on first use.
    pub fn default_session(&mut self, id: ConnId) -> Result<SessionId, Error> {
        let c = self.conns.get_mut(id.0).ok_or(Error::Stale("connection"))?;
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

    /// Opens a link on the default session and remembers it for reconnect.
    pub fn open_link(
        &mut self,
        id: ConnId,
        role: crate::codec::transport::Role,
        options: LinkOptions,
    ) -> Result<LinkId, Error> {
        let s = self.default_session(id)?;
        let c = self.conns.get_mut(id.0).ok_or(Error::Stale("connection"))?;
        let l = c.engine.link_new(s, role, options.clone())?;
        c.engine.link_open(l)?;
        if c.options.as_ref().is_some_and(|o| o.reconnect.is_some()) {
            c.recipes.push(Recipe {
                link: l,
                role,
                options,
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

    /// Closes a connection (and stops reconnecting it).
    pub fn close(&mut self, id: ConnId, error: Option<AmqpError>) -> Result<(), Error> {
        let c = self.conns.get_mut(id.0).ok_or(Error::Stale("connection"))?;
        if c.final_sent {
            return Err(Error::Stale("connection"));
        }
        c.closing = true;
        if let Some(t) = c.reconnect_timer.take() {
            self.timers.remove(t.0);
            // Nothing is connected: the connection ends here.
            self.finalize(id);
            return Ok(());
        }
        c.engine.close(error);
        self.dirty.push(id);
        Ok(())
    }

    /// True if `id` names a live connection.
    pub fn connection_exists(&self, id: ConnId) -> bool {
        self.conns.get(id.0).is_some_and(|c| !c.final_sent)
    }

    /// True if the connection is the accepting side.
    pub fn is_server(&self, id: ConnId) -> bool {
        self.conns.get(id.0).is_some_and(|c| c.options.is_none())
    }

    // ---- listeners ------------------------------------------------------------

    /// Listens on `host:port` (port 0 picks a free port). Accepted
    /// connections get engines made with `config`.
    pub fn listen(&mut self, addr: &str, config: Config) -> Result<ListenerId, Error> {
        let (host, port) = split_host_port(addr)?;
        let sa: SocketAddr = (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|e| Error::Resolve(format!("{addr}: {e}")))?
            .next()
            .ok_or_else(|| Error::Resolve(addr.to_owned()))?;
        let mut sock = TcpListener::bind(sa)?;
        let port = sock.local_addr()?.port();
        let id = ListenerId(self.listeners.insert(Listener {
            socket: None,
            config,
            port,
        }));
        self.poll
            .registry()
            .register(&mut sock, token_of(id.0, true), Interest::READABLE)?;
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

    /// Stops a listener (accepted connections carry on).
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

    /// Fires [`LoopEvent::Timer`] with `token` after `delay`.
    pub fn schedule(&mut self, delay: Duration, token: u64) -> TimerId {
        self.add_timer(delay, TimerKind::User(token))
    }

    fn add_timer(&mut self, delay: Duration, kind: TimerKind) -> TimerId {
        let at = Instant::now() + delay;
        let id = TimerId(self.timers.insert(Timer { at, kind }));
        self.heap.push(Reverse((at, id)));
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

    // ---- running --------------------------------------------------------------

    /// True while there is work: connections, listeners or timers.
    pub fn has_work(&self) -> bool {
        !self.stopped
            && (!self.conns.is_empty()
                || self.listeners.keys().next().is_some()
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

    /// The next event, if one is queued.
    pub fn next_event(&mut self) -> Option<LoopEvent> {
        self.flush_dirty();
        self.queue.pop_front()
    }

    /// Waits up to `timeout` (forever if `None`) for I/O, timers or a
    /// wake-up, and handles what happened; events are then read with
    /// [`next_event`](Self::next_event).
    pub fn poll(&mut self, timeout: Option<Duration>) -> Result<(), Error> {
        self.flush_dirty();
        if !self.queue.is_empty() {
            return Ok(());
        }
        let now = Instant::now();
        let mut deadline = timeout.map(|t| now + t);
        let mut earliest = |d: Instant| {
            deadline = Some(deadline.map_or(d, |x| x.min(d)));
        };
        while let Some(Reverse((at, id))) = self.heap.peek().copied() {
            if self.timers.get(id.0).is_some_and(|t| t.at == at) {
                earliest(at);
                break;
            }
            self.heap.pop();
        }
        for k in self.conns.keys() {
            if let Some(d) = self.conns.get(k).and_then(|c| c.deadline) {
                earliest(d);
            }
        }
        let wait = deadline.map(|d| d.saturating_duration_since(now));
        match self.poll.poll(&mut self.events, wait) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
        let ready: Vec<(Token, bool, bool, bool)> = self
            .events
            .iter()
            .map(|e| {
                (
                    e.token(),
                    e.is_readable() || e.is_read_closed() || e.is_error(),
                    e.is_writable() || e.is_write_closed(),
                    e.is_error(),
                )
            })
            .collect();
        for (token, readable, writable, _error) in ready {
            if token == WAKE_TOKEN {
                if self.waker.flag.swap(false, Ordering::SeqCst) {
                    self.queue.push_back(LoopEvent::Wake);
                }
                continue;
            }
            let (key, is_listener) = key_of(token);
            if is_listener {
                self.accept(ListenerId(key));
            } else {
                let id = ConnId(key);
                if writable {
                    self.on_writable(id);
                }
                if readable {
                    self.on_readable(id);
                }
                self.dirty.push(id);
            }
        }
        self.fire_timers();
        self.tick_engines();
        self.flush_dirty();
        Ok(())
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((at, id))) = self.heap.peek().copied() {
            if at > now {
                break;
            }
            self.heap.pop();
            let Some(t) = self.timers.get(id.0) else {
                continue;
            };
            if t.at != at {
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

    fn tick_engines(&mut self) {
        let now = Instant::now();
        let due: Vec<Key> = self
            .conns
            .keys()
            .filter(|k| {
                self.conns
                    .get(*k)
                    .and_then(|c| c.deadline)
                    .is_some_and(|d| d <= now)
            })
            .collect();
        for k in due {
            if let Some(c) = self.conns.get_mut(k) {
                c.deadline = c.engine.tick(now);
            }
            self.dirty.push(ConnId(k));
        }
    }

    fn accept(&mut self, id: ListenerId) {
        loop {
            let Some(l) = self.listeners.get_mut(id.0) else {
                return;
            };
            let Some(sock) = l.socket.as_mut() else {
                return;
            };
            match sock.accept() {
                Ok((mut stream, _)) => {
                    stream.set_nodelay(true).ok();
                    let mut config = l.config.clone();
                    if config.container_id.is_empty() {
                        config.container_id = unique_container_id();
                    }
                    let now = Instant::now();
                    let engine = Connection::server(config, now);
                    let cid = ConnId(self.conns.insert(Conn {
                        engine,
                        socket: None,
                        connecting: false,
                        writable: false,
                        deadline: None,
                        addresses: Vec::new(),
                        next_address: 0,
                        options: None,
                        attempt: 0,
                        reconnect_timer: None,
                        closing: false,
                        recipes: Vec::new(),
                        session: None,
                        final_sent: false,
                        failure: None,
                        clean_close: false,
                    }));
                    if self
                        .poll
                        .registry()
                        .register(&mut stream, token_of(cid.0, false), Interest::READABLE)
                        .is_err()
                    {
                        self.conns.remove(cid.0);
                        continue;
                    }
                    if let Some(c) = self.conns.get_mut(cid.0) {
                        c.socket = Some(stream);
                    }
                    self.queue.push_back(LoopEvent::Accepted(id, cid));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // Out of descriptors or a reset before accept: try later.
                Err(_) => return,
            }
        }
    }

    fn on_readable(&mut self, id: ConnId) {
        let now = Instant::now();
        let Some(c) = self.conns.get_mut(id.0) else {
            return;
        };
        if c.connecting {
            return; // wait for writable to confirm the connection
        }
        loop {
            let Some(sock) = c.socket.as_mut() else {
                return;
            };
            match sock.read(&mut self.buf) {
                Ok(0) => {
                    c.engine.input_closed(now);
                    return;
                }
                Ok(n) => {
                    c.engine.receive(&self.buf[..n], now);
                    if c.engine.is_done() {
                        return;
                    }
                    // Keep the write side moving during long reads.
                    if c.engine.output_len() > READ_CHUNK {
                        Self::write_out(&self.poll, c, token_of(id.0, false));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    c.failure
                        .get_or_insert(AmqpError::new(condition::CONNECTION_FORCED, e.to_string()));
                    c.engine.input_closed(now);
                    return;
                }
            }
        }
    }

    fn on_writable(&mut self, id: ConnId) {
        let Some(c) = self.conns.get_mut(id.0) else {
            return;
        };
        if c.connecting {
            let Some(sock) = c.socket.as_ref() else {
                return;
            };
            match sock.take_error() {
                Ok(Some(e)) | Err(e) => {
                    let reason = AmqpError::new(
                        condition::CONNECTION_FORCED,
                        format!("connect failed: {e}"),
                    );
                    self.transport_lost(id, reason);
                    return;
                }
                Ok(None) => {}
            }
            match sock.peer_addr() {
                Ok(_) => {
                    c.connecting = false;
                    c.attempt = 0;
                }
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                Err(e) => {
                    let reason = AmqpError::new(
                        condition::CONNECTION_FORCED,
                        format!("connect failed: {e}"),
                    );
                    self.transport_lost(id, reason);
                    return;
                }
            }
        }
        Self::write_out(&self.poll, c, token_of(id.0, false));
    }

    /// Writes as much pending output as the socket takes, in one call per
    /// buffer; registers WRITABLE only when some is left.
    fn write_out(poll: &Poll, c: &mut Conn, token: Token) {
        if c.connecting {
            return;
        }
        let Some(sock) = c.socket.as_mut() else {
            return;
        };
        loop {
            let out = c.engine.output();
            if out.is_empty() {
                break;
            }
            match sock.write(out) {
                Ok(0) => break,
                Ok(n) => c.engine.consume_output(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    c.failure
                        .get_or_insert(AmqpError::new(condition::CONNECTION_FORCED, e.to_string()));
                    c.engine.input_closed(Instant::now());
                    // Nothing more can be written.
                    let n = c.engine.output_len();
                    c.engine.consume_output(n);
                    return;
                }
            }
        }
        let want_write = c.engine.output_len() > 0;
        if want_write != c.writable {
            let interest = if want_write {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            poll.registry().reregister(sock, token, interest).ok();
            c.writable = want_write;
        }
    }

    /// Writes output and collects events of every connection touched since
    /// the last call; ends connections whose transport is done.
    fn flush_dirty(&mut self) {
        while let Some(id) = self.dirty.pop() {
            let Some(c) = self.conns.get_mut(id.0) else {
                continue;
            };
            if c.final_sent {
                continue;
            }
            Self::write_out(&self.poll, c, token_of(id.0, false));
            c.deadline = c.engine.tick(Instant::now());
            while let Some(e) = c.engine.next_event() {
                if let Event::TransportError(err) = &e {
                    c.failure.get_or_insert(err.clone());
                }
                self.queue.push_back(LoopEvent::Engine(id, e));
            }
            if c.engine.is_done() && (c.engine.output_len() == 0 || c.socket.is_none()) {
                let failure = if c.closing { None } else { c.failure.take() };
                self.shut(id);
                match failure {
                    Some(reason) => self.transport_lost(id, reason),
                    None => self.finalize(id),
                }
            }
            // Otherwise a done engine waits for WRITABLE to drain its close.
        }
    }

    fn shut(&mut self, id: ConnId) {
        if let Some(c) = self.conns.get_mut(id.0)
            && let Some(mut sock) = c.socket.take()
        {
            self.poll.registry().deregister(&mut sock).ok();
            sock.shutdown(std::net::Shutdown::Both).ok();
        }
    }

    /// The transport is gone without a clean close: report, then reconnect
    /// or end the connection.
    fn transport_lost(&mut self, id: ConnId, reason: AmqpError) {
        self.shut(id);
        let Some(c) = self.conns.get_mut(id.0) else {
            return;
        };
        self.queue.push_back(LoopEvent::Disconnected(id, reason));
        let policy = c.options.as_ref().and_then(|o| o.reconnect.clone());
        match policy {
            Some(p) if !c.closing && (p.max_attempts == 0 || c.attempt < p.max_attempts) => {
                let factor = 1u32.checked_shl(c.attempt.min(20)).unwrap_or(u32::MAX);
                let delay = p.initial.saturating_mul(factor).min(p.max);
                c.attempt += 1;
                let t = self.add_timer(delay, TimerKind::Reconnect(id));
                if let Some(c) = self.conns.get_mut(id.0) {
                    c.reconnect_timer = Some(t);
                }
            }
            _ => self.finalize(id),
        }
    }

    fn reconnect_now(&mut self, id: ConnId) {
        let Some(c) = self.conns.get_mut(id.0) else {
            return;
        };
        c.reconnect_timer = None;
        let Some(options) = c.options.clone() else {
            return;
        };
        let now = Instant::now();
        // Old links and sessions are gone: their final events come first.
        while let Some(e) = c.engine.next_event() {
            self.queue.push_back(LoopEvent::Engine(id, e));
        }
        let Some(c) = self.conns.get_mut(id.0) else {
            return;
        };
        c.engine = Connection::client(options.config.clone(), now);
        c.engine.open();
        c.failure = None;
        c.clean_close = false;
        c.session = None;
        c.deadline = None;
        let recipes = std::mem::take(&mut c.recipes);
        if let Err(e) = self.start_socket(id) {
            if let Some(c) = self.conns.get_mut(id.0) {
                c.recipes = recipes;
            }
            self.transport_lost(
                id,
                AmqpError::new(condition::CONNECTION_FORCED, e.to_string()),
            );
            return;
        }
        self.queue.push_back(LoopEvent::Reconnected(id));
        for r in recipes {
            if let Ok(new) = self.open_link(id, r.role, r.options.clone()) {
                self.queue.push_back(LoopEvent::LinkRecreated {
                    conn: id,
                    old: r.link,
                    new,
                });
            }
        }
        self.dirty.push(id);
    }

    fn finalize(&mut self, id: ConnId) {
        let Some(c) = self.conns.get_mut(id.0) else {
            return;
        };
        if c.final_sent {
            return;
        }
        c.final_sent = true;
        while let Some(e) = c.engine.next_event() {
            self.queue.push_back(LoopEvent::Engine(id, e));
        }
        self.queue.push_back(LoopEvent::ConnectionFinal(id));
    }

    /// Releases a connection's slot after its final event was handled.
    pub fn release_connection(&mut self, id: ConnId) {
        if self.conns.get(id.0).is_some_and(|c| c.final_sent) {
            self.shut(id);
            self.conns.remove(id.0);
        }
    }
}

fn split_host_port(addr: &str) -> Result<(String, u16), Error> {
    let a = Address::parse(addr)?;
    Ok((a.host, a.port))
}

fn unique_container_id() -> String {
    use std::sync::atomic::AtomicU64;
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("muon-{}-{:x}-{n}", std::process::id(), t & 0xffff_ffff_ffff)
}
