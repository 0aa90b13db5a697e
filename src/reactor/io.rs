//! Socket work of the loop: starting transports (and re-starting them for
//! reconnect), reading and writing, accepting, and losing transports.
//!
//! mio readiness is edge-triggered: every read loop runs until
//! `WouldBlock` (retrying on `Interrupted`), or readiness that arrived
//! during the loop would never be reported again. WRITABLE is registered
//! only while the engine has output the socket did not take.

use std::io::{self, Read, Write};
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Interest, Poll, Token};

use super::Address;
use super::embed::take_in;
use super::event_loop::{
    Conn, ConnId, ListenerId, Loop, LoopEvent, READ_BUDGET, READ_CHUNK, TimerKind, resolve, show,
    token_of,
};
use super::tls::{Input, TlsSession};
use super::trace::{Dir, LogSink};
use crate::codec::transport::{AmqpError, condition};
use crate::engine::{Config, Connection, Event};
use crate::log::{self, Category, Level};

/// The engine settings for a transport to `addr`: the hostname and
/// credentials come from the URL unless the options set them.
fn config_for(c: &Conn, addr: &Address) -> Config {
    let mut config = c
        .options
        .as_ref()
        .map(|o| o.config.clone())
        .unwrap_or_default();
    if c.url_hostname {
        config.hostname = Some(addr.host.clone());
    }
    if c.url_credentials {
        config.sasl.username = addr.user.clone();
        config.sasl.password = addr.password.clone();
    }
    config
}

fn forced(text: String) -> AmqpError {
    AmqpError::new(condition::CONNECTION_FORCED, text)
}

impl Loop {
    /// Starts a transport for a client connection, to the next of its URLs:
    /// a fresh engine and a non-blocking TCP connect. On a reconnect, the
    /// remembered links are attached again once the TCP connect succeeds,
    /// so that failed attempts make no links. A failure is reported as
    /// [`LoopEvent::Disconnected`], never returned.
    pub(super) fn start_transport(&mut self, id: super::ConnId, reconnect: bool) {
        let Some(c) = self.conns.get_mut(id.0) else {
            return;
        };
        let redirect = c.redirect.take();
        let addr = match &redirect {
            Some(r) => r.addr.clone(),
            None => {
                let a = c.addresses[c.next_address % c.addresses.len()].clone();
                let (which, of) = (c.next_address % c.addresses.len() + 1, c.addresses.len());
                c.next_address = (c.next_address + 1) % c.addresses.len();
                if reconnect && log::enabled(Category::Reconnect, Level::Info) {
                    let failover = if of > 1 {
                        format!(" (failover: address {which} of {of})")
                    } else {
                        String::new()
                    };
                    log::deliver(
                        Category::Reconnect,
                        Level::Info,
                        &format!(
                            "[c{}] reconnect attempt {} to {}:{}{failover}",
                            c.serial, c.attempt, a.host, a.port
                        ),
                    );
                }
                a
            }
        };
        if let Some(r) = &redirect
            && log::enabled(Category::Reconnect, Level::Info)
        {
            log::deliver(
                Category::Reconnect,
                Level::Info,
                &format!(
                    "[c{}] following the peer's redirect to {}:{}",
                    c.serial,
                    super::trace::escape(&r.addr.host),
                    r.addr.port
                ),
            );
        }
        let mut config = config_for(c, &addr);
        if let Some(r) = redirect {
            // The redirect names the host: its certificate must be valid
            // for that name, whatever the options said for the first.
            config.hostname = Some(r.hostname);
        }
        c.current = Some(addr.clone());
        let tls = match (&c.tls_config, addr.scheme == "amqps") {
            (Some(tc), true) => {
                config.encrypted = true;
                // The name checked against the certificate (and sent as
                // SNI): the hostname option, else the URL's host.
                let name = config.hostname.clone().unwrap_or_else(|| addr.host.clone());
                Some(TlsSession::client(tc.clone(), &name))
            }
            _ => None,
        };
        let mut engine = Connection::client(config, Instant::now());
        engine.open();
        let old = std::mem::replace(&mut c.engine, engine);
        c.prior.add(old.counters());
        c.connected_at = None;
        // A transport that stayed open long enough ends a run of
        // redirects (see `MAX_REDIRECTS`), whatever ended it.
        c.settle_redirects(Instant::now());
        c.opened_at = None;
        c.session = None;
        c.failure = None;
        c.deadline = None;
        c.transport_over = false;
        c.read_paused = false;
        c.linger = None;
        c.reconnecting = reconnect;
        let serial = c.serial;
        let insecure = c
            .options
            .as_ref()
            .is_some_and(|o| o.tls.insecure_skip_verify);
        c.tls = None;
        drop(old);
        let tls = match tls {
            Some(Ok(t)) => Some(Box::new(t)),
            Some(Err(reason)) => {
                log::log(
                    Category::Tls,
                    Level::Error,
                    &format!(
                        "[c{serial}] {}:{}: TLS cannot start: {}",
                        addr.host,
                        addr.port,
                        show(&reason)
                    ),
                );
                self.transport_lost(id, reason);
                return;
            }
            None => None,
        };
        if tls.is_some() && insecure {
            // Said whether or not the trace is on.
            self.log.warn_tls(format!(
                "muon: WARNING: TLS to {}:{} without verifying the server's certificate \
                 (insecure_skip_verify): anyone on the path can read and change this connection",
                addr.host, addr.port
            ));
        }
        let tracers = self.new_tracers(serial);
        if let Some(t) = &tracers {
            let how = if tls.is_some() { " (TLS)" } else { "" };
            self.log.emit(format!(
                "[{}] connecting to {}:{}{how}",
                t.label, addr.host, addr.port
            ));
        }
        if let Some(c) = self.conns.get_mut(id.0) {
            c.trace = tracers;
            c.tls = tls;
        }
        if let Err(reason) = self.connect_socket(id, &addr) {
            self.transport_lost(id, reason);
        }
        self.dirty.push(id);
    }

    fn connect_socket(&mut self, id: ConnId, addr: &Address) -> Result<(), AmqpError> {
        let sa = resolve(&addr.host, addr.port).map_err(|e| forced(e.to_string()))?;
        let mut sock =
            TcpStream::connect(sa).map_err(|e| forced(format!("cannot connect to {sa}: {e}")))?;
        sock.set_nodelay(true).ok();
        // WRITABLE tells when the connect finished (or failed).
        self.poll
            .registry()
            .register(
                &mut sock,
                token_of(id.0, false),
                Interest::READABLE | Interest::WRITABLE,
            )
            .map_err(|e| forced(format!("cannot register the socket: {e}")))?;
        if let Some(c) = self.conns.get_mut(id.0) {
            c.socket = Some(sock);
            c.connecting = true;
            c.writable = true;
        }
        Ok(())
    }

    pub(super) fn accept(&mut self, id: ListenerId) {
        loop {
            let Some(l) = self.listeners.get_mut(id.0) else {
                return;
            };
            let Some(sock) = l.socket.as_mut() else {
                return;
            };
            match sock.accept() {
                Ok((mut stream, peer)) => {
                    stream.set_nodelay(true).ok();
                    let (tls, sniff) = match (&l.tls, l.allow_plain) {
                        (Some(tc), false) => match TlsSession::server(tc.clone()) {
                            Ok(t) => (Some(Box::new(t)), None),
                            Err(_) => continue,
                        },
                        (Some(tc), true) => (None, Some(tc.clone())),
                        (None, _) => (None, None),
                    };
                    let mut config = l.config.clone();
                    if config.container_id.is_empty() {
                        config.container_id = super::event_loop::unique_id();
                    }
                    self.conn_serial += 1;
                    let serial = self.conn_serial;
                    let trace = self.new_tracers(serial);
                    if let Some(t) = &trace {
                        self.log.emit(format!("[{}] accepted from {peer}", t.label));
                    }
                    let cid = ConnId(self.conns.insert(Conn {
                        trace,
                        tls,
                        sniff,
                        connected_at: Some(Instant::now()),
                        ..Conn::new(Connection::server(config, Instant::now()), serial)
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
                    // Collected once now, so that its engine's deadline
                    // (the handshake time-out) is known even if the peer
                    // never sends a byte.
                    self.dirty.push(cid);
                    // The peer may have written already: its bytes are read
                    // when READABLE comes (registration reports readiness
                    // that is already there).
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // Out of descriptors, or a connection reset before it was
                // accepted: the listener stays; later readiness retries.
                Err(_) => return,
            }
        }
    }

    pub(super) fn on_readable(&mut self, id: ConnId) {
        let now = Instant::now();
        let Some(c) = self.conns.get_mut(id.0) else {
            return;
        };
        if c.connecting {
            return; // WRITABLE decides whether the connect worked
        }
        let mut reads = 0;
        loop {
            if !c.engine.wants_input() {
                // The peer is not reading what it is sent: read no more
                // (and make no more answers) until that drains.
                c.read_paused = true;
                Self::write_out(&self.poll, &mut self.log, c, token_of(id.0, false));
                if !c.engine.wants_input() {
                    return;
                }
                c.read_paused = false;
            }
            if reads == READ_BUDGET {
                // Fair shares: the rest waits for the next turn.
                self.read_again.push(id);
                return;
            }
            reads += 1;
            let Some(sock) = c.socket.as_mut() else {
                return;
            };
            match sock.read(&mut self.buf) {
                Ok(0) => {
                    c.engine.input_closed(now);
                    return;
                }
                Ok(n) => {
                    if let Some(config) = c.sniff.take() {
                        // A TLS record starts with 22 (handshake); "AMQP"
                        // with 'A'.
                        if self.buf[0] == 0x16 {
                            match TlsSession::server(config) {
                                Ok(t) => {
                                    c.tls = Some(Box::new(t));
                                    c.engine.set_transport_encrypted(true);
                                }
                                Err(reason) => {
                                    c.engine.transport_broken(&reason, now);
                                    c.failure.get_or_insert(reason);
                                    return;
                                }
                            }
                        } else {
                            c.engine.set_transport_encrypted(false);
                        }
                    }
                    if let Some(tls) = c.tls.as_mut() {
                        let (engine, trace, log) = (&mut c.engine, &mut c.trace, &mut self.log);
                        let r = tls.absorb(&self.buf[..n], |input| match input {
                            // Before the plaintext that follows: EXTERNAL is
                            // offered only once the identity is known.
                            Input::Established(identity) => {
                                if engine.role() == crate::engine::Role::Server {
                                    engine.set_external_identity(identity);
                                }
                            }
                            Input::Plain(plain) => take_in(engine, trace, log, plain, now),
                        });
                        let handshake_done = match r {
                            Ok(a) => {
                                if a.closed {
                                    c.engine.input_closed(now);
                                }
                                a.handshake_done
                            }
                            Err(reason) => {
                                // Send the alert rustls queued, then end.
                                if let Some(sock) = c.socket.as_mut() {
                                    tls.write_to(sock).ok();
                                }
                                if log::enabled(Category::Tls, Level::Error) {
                                    log::deliver(
                                        Category::Tls,
                                        Level::Error,
                                        &format!("{}: TLS failed: {}", c.who(), show(&reason)),
                                    );
                                }
                                c.engine.transport_broken(&reason, now);
                                c.failure.get_or_insert(reason);
                                return;
                            }
                        };
                        let handshaking = tls.is_handshaking();
                        if handshake_done {
                            Self::tls_established(&mut self.log, c);
                        }
                        // The handshake needs answers now, and plaintext
                        // queued before it finished can go once it is done.
                        // After that, output waits for the step's batched
                        // write, as a plain connection's does.
                        if handshaking || handshake_done {
                            Self::write_out(&self.poll, &mut self.log, c, token_of(id.0, false));
                        }
                    } else {
                        let (engine, trace) = (&mut c.engine, &mut c.trace);
                        take_in(engine, trace, &mut self.log, &self.buf[..n], now);
                    }
                    if c.engine.is_done() {
                        return;
                    }
                    // Keep the write side moving during a long read.
                    if c.engine.output_len() > READ_CHUNK {
                        Self::write_out(&self.poll, &mut self.log, c, token_of(id.0, false));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let reason = forced(format!("read failed: {e}"));
                    c.engine.transport_broken(&reason, now);
                    c.failure.get_or_insert(reason);
                    return;
                }
            }
        }
    }

    pub(super) fn on_writable(&mut self, id: ConnId) {
        let Some(c) = self.conns.get_mut(id.0) else {
            return;
        };
        if c.connecting {
            let Some(sock) = c.socket.as_ref() else {
                return;
            };
            let failed = match sock.take_error() {
                Ok(Some(e)) | Err(e) => Some(e),
                Ok(None) => match sock.peer_addr() {
                    Ok(_) => None,
                    // Not connected yet: a spurious wake-up.
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                    Err(e) => Some(e),
                },
            };
            if let Some(e) = failed {
                self.transport_lost(id, forced(format!("connect failed: {e}")));
                return;
            }
            c.connecting = false;
            c.connected_at = Some(Instant::now());
            if let Some(t) = &c.trace {
                self.log.emit(format!("[{}] connected", t.label));
            }
            if std::mem::take(&mut c.reconnecting) {
                c.reconnects += 1;
                if log::enabled(Category::Reconnect, Level::Info) {
                    log::deliver(
                        Category::Reconnect,
                        Level::Info,
                        &format!("{}: reconnected", c.who()),
                    );
                }
                self.queue.push_back(LoopEvent::Reconnected(id));
                self.reattach(id);
            }
        }
        let Some(c) = self.conns.get_mut(id.0) else {
            return;
        };
        Self::write_out(&self.poll, &mut self.log, c, token_of(id.0, false));
        self.resume_reading(id);
    }

    /// Reading paused on a full output starts again once it has drained:
    /// the input that waited is read on the loop's next turn.
    pub(super) fn resume_reading(&mut self, id: ConnId) {
        if let Some(c) = self.conns.get_mut(id.0)
            && c.read_paused
            && c.engine.wants_input()
        {
            c.read_paused = false;
            self.read_again.push(id);
        }
    }

    /// Writes as much pending output as the socket takes: the engine keeps
    /// all its frames in one buffer, so this is one `write` call per
    /// readiness, not one per frame. WRITABLE is registered only while
    /// output is left over.
    pub(super) fn write_out(poll: &Poll, log: &mut LogSink, c: &mut Conn, token: Token) {
        if c.connecting {
            return;
        }
        let Some(sock) = c.socket.as_mut() else {
            return;
        };
        let result = match c.tls.as_mut() {
            None => Self::write_plain(sock, &mut c.engine, &mut c.trace, log),
            Some(tls) => Self::write_tls(sock, tls, &mut c.engine, &mut c.trace, log),
        };
        if let Err(e) = result {
            let reason = forced(format!("write failed: {e}"));
            c.engine.transport_broken(&reason, Instant::now());
            c.failure.get_or_insert(reason);
            // Nothing more can be written: drop the engine's output and
            // the TLS records, or the done engine would wait for WRITABLE
            // (edge-triggered, already spent) to drain them, forever.
            let n = c.engine.output_len();
            c.engine.consume_output(n);
            if let Some(tls) = c.tls.as_mut() {
                tls.discard_output();
            }
            return;
        }
        // With TLS, engine output that TLS cannot take yet (its buffer is
        // full before the handshake is done) waits for the next read, not
        // for WRITABLE, which would fire at once and forever.
        let want_write = match &c.tls {
            None => c.engine.output_len() > 0,
            Some(t) => t.wants_write(),
        };
        if want_write != c.writable {
            let interest = if want_write {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            if poll.registry().reregister(sock, token, interest).is_ok() {
                c.writable = want_write;
            }
        }
    }

    /// The first `n` bytes of the engine's output went to the transport:
    /// the trace shows them, and the engine lets them go.
    pub(super) fn sent(
        engine: &mut Connection,
        trace: &mut Option<Box<super::event_loop::Tracers>>,
        log: &mut LogSink,
        n: usize,
    ) {
        if let Some(t) = trace.as_mut() {
            let out = engine.output();
            t.out.feed(&t.label, Dir::Out, &out[..n], log);
        }
        engine.consume_output(n);
    }

    fn write_plain(
        sock: &mut TcpStream,
        engine: &mut Connection,
        trace: &mut Option<Box<super::event_loop::Tracers>>,
        log: &mut LogSink,
    ) -> io::Result<()> {
        loop {
            let out = engine.output();
            if out.is_empty() {
                return Ok(());
            }
            match sock.write(out) {
                Ok(0) => return Ok(()),
                Ok(n) => Self::sent(engine, trace, log, n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn write_tls(
        sock: &mut TcpStream,
        tls: &mut TlsSession,
        engine: &mut Connection,
        trace: &mut Option<Box<super::event_loop::Tracers>>,
        log: &mut LogSink,
    ) -> io::Result<()> {
        loop {
            let out = engine.output();
            let n = if out.is_empty() { 0 } else { tls.send(out) };
            if n > 0 {
                Self::sent(engine, trace, log, n);
            }
            if !tls.write_to(sock)? {
                return Ok(()); // the socket is full: WRITABLE resumes
            }
            if n == 0 {
                return Ok(()); // nothing more TLS can take now
            }
        }
    }

    /// The handshake is done: say so in the trace. (A verified client
    /// certificate's subject went to the engine, for SASL EXTERNAL, as soon
    /// as the handshake finished: see `TlsSession::absorb`.)
    fn tls_established(log: &mut LogSink, c: &mut Conn) {
        let Some(tls) = c.tls.as_ref() else {
            return;
        };
        if let Some(t) = &c.trace {
            let who = tls
                .peer_identity()
                .map_or(String::new(), |p| format!(", peer certificate {p:?}"));
            log.emit(format!(
                "[{}] TLS established: {}{who}",
                t.label,
                tls.describe()
            ));
        }
    }

    /// Closes and forgets a connection's socket.
    pub(super) fn shut(&mut self, id: ConnId) {
        if let Some(c) = self.conns.get_mut(id.0)
            && let Some(mut sock) = c.socket.take()
        {
            if let Some(tls) = c.tls.as_mut()
                && !c.connecting
            {
                // Best effort: a clean TLS end (close_notify).
                tls.close();
                tls.write_to(&mut sock).ok();
            }
            self.poll.registry().deregister(&mut sock).ok();
            sock.shutdown(std::net::Shutdown::Both).ok();
            c.connecting = false;
            c.writable = false;
        }
    }

    /// The transport is gone without a clean close. Every link and session
    /// gets its final event, then [`LoopEvent::Disconnected`] with
    /// `reason`; then either a reconnect is scheduled or the connection
    /// ends.
    pub(super) fn transport_lost(&mut self, id: ConnId, reason: AmqpError) {
        self.shut(id);
        let Some(c) = self.conns.get_mut(id.0) else {
            return;
        };
        if c.final_sent || c.transport_over {
            return;
        }
        c.transport_over = true;
        if !c.engine.is_done() {
            c.engine.input_closed(Instant::now());
        }
        c.deadline = None;
        while let Some(e) = c.engine.next_event_held() {
            // The engine's own account of the loss would only repeat
            // `reason` less precisely.
            if !matches!(e, Event::TransportError(_)) {
                self.queue.push_back(LoopEvent::Engine(id, e));
            }
        }
        let finished = c.engine.has_finished();
        // A SASL failure is the engine's, with a description that starts
        // so; every other loss is the connection's.
        let category = if reason
            .description
            .as_deref()
            .is_some_and(|d| d.starts_with("SASL"))
        {
            Category::Sasl
        } else {
            Category::Connection
        };
        if log::enabled(category, Level::Error) {
            log::deliver(
                category,
                Level::Error,
                &format!("{}: disconnected: {}", c.who(), show(&reason)),
            );
        }
        if let Some(t) = &c.trace {
            self.log
                .emit(format!("[{}] disconnected: {}", t.label, show(&reason)));
        }
        self.queue.push_back(LoopEvent::Disconnected(id, reason));
        if finished && !self.releasing.contains(&id) {
            self.releasing.push(id);
        }
        let Some(c) = self.conns.get_mut(id.0) else {
            return;
        };
        let policy = c.options.as_ref().and_then(|o| o.reconnect.clone());
        match policy {
            Some(p) if !c.closing && (p.max_attempts == 0 || c.attempt < p.max_attempts) => {
                let delay = p.delay(c.attempt);
                c.attempt += 1;
                if log::enabled(Category::Reconnect, Level::Info) {
                    log::deliver(
                        Category::Reconnect,
                        Level::Info,
                        &format!(
                            "[c{}] reconnect attempt {} in {} ms",
                            c.serial,
                            c.attempt,
                            delay.as_millis()
                        ),
                    );
                }
                let t = self.add_timer(delay, TimerKind::Reconnect(id));
                if let Some(c) = self.conns.get_mut(id.0) {
                    c.reconnect_timer = Some(t);
                }
            }
            Some(p) if !c.closing => {
                log::log(
                    Category::Reconnect,
                    Level::Warning,
                    &format!(
                        "[c{}] giving up after {} reconnect attempts",
                        c.serial, p.max_attempts
                    ),
                );
                self.finalize(id);
            }
            _ => self.finalize(id),
        }
    }

    /// The peer closed the connection with a redirect to follow (see
    /// `redirect_of`): the close ends this transport (every link and
    /// session gets its final event), [`LoopEvent::Disconnected`] reports
    /// the peer's error, and a transport to the new host starts on the
    /// loop's next turn, re-attaching the links as a reconnect does.
    pub(super) fn redirected(&mut self, id: ConnId) {
        let Some(c) = self.conns.get_mut(id.0) else {
            return;
        };
        let Some(r) = c.redirect.as_ref() else {
            return;
        };
        let error = r.error.clone();
        let target = format!(
            "{}:{} ({})",
            super::trace::escape(&r.addr.host),
            r.addr.port,
            super::trace::escape(&r.hostname)
        );
        // Each redirect in a row waits longer: two peers redirecting to
        // each other are not reconnected to at full speed (and
        // `MAX_REDIRECTS` ends the run).
        let delay = super::event_loop::redirect_delay(
            c.options.as_ref().and_then(|o| o.reconnect.as_ref()),
            c.redirects,
        );
        c.transport_over = true;
        c.deadline = None;
        while let Some(e) = c.engine.next_event_held() {
            self.queue.push_back(LoopEvent::Engine(id, e));
        }
        let finished = c.engine.has_finished();
        if let Some(t) = &c.trace {
            self.log
                .emit(format!("[{}] redirected to {target}", t.label));
        }
        self.queue.push_back(LoopEvent::Disconnected(id, error));
        if finished && !self.releasing.contains(&id) {
            self.releasing.push(id);
        }
        let t = self.add_timer(delay, TimerKind::Reconnect(id));
        if let Some(c) = self.conns.get_mut(id.0) {
            c.reconnect_timer = Some(t);
        }
    }

    /// Attaches the links peers redirected again, to their new addresses
    /// (call only with the queue empty: their final events were handed
    /// out, and the layer above keeps what `LinkRecreated` moves over).
    pub(super) fn reattach_redirected(&mut self) {
        for (id, old) in std::mem::take(&mut self.link_redirects) {
            let Some(c) = self.conns.get_mut(id.0) else {
                continue;
            };
            let Some(i) = c.recipes.iter().position(|r| r.link == old && r.redirected) else {
                continue;
            };
            let r = c.recipes.remove(i);
            if c.closing || c.final_sent || c.engine.is_done() {
                continue;
            }
            let address = match r.role {
                crate::codec::transport::Role::Sender => {
                    r.options.target.as_ref().and_then(|t| t.address.clone())
                }
                crate::codec::transport::Role::Receiver => {
                    r.options.source.as_ref().and_then(|s| s.address.clone())
                }
            };
            if let Some(t) = &c.trace {
                self.log.emit(format!(
                    "[{}] link redirected to {}",
                    t.label,
                    super::trace::escape_capped(
                        &address.unwrap_or_default(),
                        super::event_loop::DESCRIPTION_SHOWN
                    )
                ));
            }
            if let Ok(new) = self.open_link(id, r.role, r.options) {
                if let Some(c) = self.conns.get_mut(id.0)
                    && let Some(n) = c.recipes.iter_mut().find(|n| n.link == new)
                {
                    n.redirects = r.redirects;
                }
                self.queue
                    .push_back(LoopEvent::LinkRecreated { conn: id, old, new });
            }
        }
    }

    /// Attaches the remembered links again, on a new transport.
    fn reattach(&mut self, id: ConnId) {
        let Some(c) = self.conns.get_mut(id.0) else {
            return;
        };
        for r in std::mem::take(&mut c.recipes) {
            if let Ok(new) = self.open_link(id, r.role, r.options) {
                self.queue.push_back(LoopEvent::LinkRecreated {
                    conn: id,
                    old: r.link,
                    new,
                });
            }
        }
        self.dirty.push(id);
    }

    pub(super) fn reconnect_now(&mut self, id: ConnId) {
        let Some(c) = self.conns.get_mut(id.0) else {
            return;
        };
        c.reconnect_timer = None;
        if c.closing || c.final_sent {
            return;
        }
        self.start_transport(id, true);
    }
}
