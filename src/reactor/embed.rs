//! Running a loop inside someone else's: one descriptor that is readable
//! when the loop has work ([`Loop::fd`]), the next deadline
//! ([`Loop::next_deadline`]), and connections whose transport the
//! application drives itself ([`Loop::attach_external`]: bytes in with
//! [`Loop::feed`], bytes out with [`Loop::pending_output`] and
//! [`Loop::output_taken`]).
//!
//! The descriptor is mio's own (epoll on Linux): readable while any source
//! registered in the loop's `Poll` has readiness that `poll` has not yet
//! collected. Sockets and the waker are registered there already; what is
//! not a descriptor (timers, engine deadlines, events already queued,
//! input left over from a read budget, output commands made outside a run)
//! becomes one through a timerfd, registered in the same `Poll` and armed
//! by [`Loop::arm`] for the earliest of them.
//!
//! An external connection is an ordinary connection of the loop (same
//! engine, same events, same close, loss and final logic as a socket's)
//! whose transport is the application's: it has no socket, the loop never
//! writes for it, and the application pulls its output.

use std::io;
use std::time::Instant;

use mio::{Interest, Token};

use super::Error;
use super::event_loop::{Conn, ConnId, Loop, Tracers, unique_id};
use super::trace::{Dir, LogSink};
use crate::codec::transport::{AmqpError, condition};
use crate::engine::{Config, Connection};

/// The token of the timerfd in the loop's `Poll`.
pub(super) const TIMER_TOKEN: Token = Token(usize::MAX - 1);

/// What the timerfd is set to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Armed {
    /// Disarmed (or expired and collected).
    Off,
    /// To expire at once: work is waiting.
    Now,
    /// To expire then.
    At(Instant),
}

/// A non-blocking timerfd on the monotonic clock (the clock of
/// [`Instant`] on Linux).
pub(super) struct TimerFd {
    fd: std::os::fd::OwnedFd,
    pub armed: Armed,
}

impl TimerFd {
    #[cfg(target_os = "linux")]
    fn new() -> io::Result<TimerFd> {
        use std::os::fd::FromRawFd;
        // SAFETY: a plain system call; the descriptor it returns is ours.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(TimerFd {
            // SAFETY: `fd` was just made and is owned by nothing else.
            fd: unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) },
            armed: Armed::Off,
        })
    }

    #[cfg(not(target_os = "linux"))]
    fn new() -> io::Result<TimerFd> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "muon_loop_fd needs Linux (epoll and timerfd)",
        ))
    }

    /// Sets the timer to `to` (relative to `now`).
    #[cfg(target_os = "linux")]
    fn set(&mut self, to: Armed, now: Instant) {
        use std::os::fd::AsRawFd;
        if to == self.armed {
            return;
        }
        let delay = match to {
            Armed::Off => std::time::Duration::ZERO,
            // A zero it_value disarms: the shortest delay that does not.
            Armed::Now => std::time::Duration::from_nanos(1),
            Armed::At(at) => at
                .saturating_duration_since(now)
                .max(std::time::Duration::from_nanos(1)),
        };
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: delay.as_secs().min(i64::MAX as u64 / 2) as libc::time_t,
                tv_nsec: delay.subsec_nanos() as libc::c_long,
            },
        };
        // SAFETY: a valid timerfd and a valid itimerspec; the old value is
        // not asked for.
        let r =
            unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
        if r == 0 {
            self.armed = to;
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn set(&mut self, _to: Armed, _now: Instant) {}

    /// The timer expired and `poll` collected it: clears its count.
    #[cfg(target_os = "linux")]
    pub(super) fn expired(&mut self) {
        use std::os::fd::AsRawFd;
        let mut count = [0u8; 8];
        // SAFETY: reads at most 8 bytes into an 8-byte buffer; the
        // descriptor is non-blocking, so an empty timer returns EAGAIN.
        unsafe { libc::read(self.fd.as_raw_fd(), count.as_mut_ptr().cast(), 8) };
        self.armed = Armed::Off;
    }

    #[cfg(not(target_os = "linux"))]
    pub(super) fn expired(&mut self) {}
}

fn forced(text: String) -> AmqpError {
    AmqpError::new(condition::CONNECTION_FORCED, text)
}

/// Feeds bytes read from a transport to an engine, through the frame
/// trace: what a socket's read and an application's feed have in common.
pub(super) fn take_in(
    engine: &mut Connection,
    trace: &mut Option<Box<Tracers>>,
    log: &mut LogSink,
    bytes: &[u8],
    now: Instant,
) {
    if let Some(t) = trace.as_mut() {
        t.input.feed(&t.label, Dir::In, bytes, log);
    }
    engine.receive(bytes, now);
}

impl Loop {
    // ---- the loop's descriptor ------------------------------------------------

    /// The descriptor that is readable while the loop has work (see the
    /// module's documentation). Made on first use; the loop keeps it
    /// armed from then on ([`arm`](Self::arm)).
    #[cfg(unix)]
    pub fn fd(&mut self) -> Result<std::os::fd::RawFd, Error> {
        use std::os::fd::AsRawFd;
        if self.timerfd.is_none() {
            let t = TimerFd::new()?;
            self.poll.registry().register(
                &mut mio::unix::SourceFd(&t.fd.as_raw_fd()),
                TIMER_TOKEN,
                Interest::READABLE,
            )?;
            self.timerfd = Some(t);
        }
        self.arm();
        Ok(self.poll.as_raw_fd())
    }

    /// True once [`fd`](Self::fd) was asked for.
    pub fn has_fd(&self) -> bool {
        self.timerfd.is_some()
    }

    /// When the loop next has something to do without any I/O: now if
    /// events are queued or work was left for the next turn (output to
    /// write, input to read, connections touched by commands), else the
    /// earliest timer, engine deadline or close linger. `None`: nothing
    /// until I/O or a wake.
    pub fn next_deadline(&mut self) -> Option<Instant> {
        let now = Instant::now();
        if !self.queue.is_empty()
            || !self.dirty.is_empty()
            || !self.read_again.is_empty()
            || !self.to_write.is_empty()
        {
            return Some(now);
        }
        self.timed_deadline()
    }

    /// The earliest timer, engine deadline or close linger.
    pub(super) fn timed_deadline(&mut self) -> Option<Instant> {
        let mut deadline = self.next_timer();
        let mut earliest = |d: Instant| deadline = Some(deadline.map_or(d, |x: Instant| x.min(d)));
        for (_, c) in self.conns.iter() {
            if let Some(d) = c.deadline {
                earliest(d);
            }
            if let Some(d) = c.linger {
                earliest(d);
            }
        }
        deadline
    }

    /// Sets the timerfd (if [`fd`](Self::fd) made one) to the next
    /// deadline, so that the loop's descriptor becomes readable then.
    pub fn arm(&mut self) {
        if self.timerfd.is_none() {
            return;
        }
        let now = Instant::now();
        let to = match self.next_deadline() {
            None => Armed::Off,
            Some(d) if d <= now => Armed::Now,
            Some(d) => Armed::At(d),
        };
        if let Some(t) = self.timerfd.as_mut() {
            t.set(to, now);
        }
    }

    // ---- connections over the application's transport ---------------------------

    /// A connection whose transport the application drives: no socket;
    /// bytes read go in with [`feed`](Self::feed), bytes to write come out
    /// of [`pending_output`](Self::pending_output). A client (`server`
    /// false) opens at once and writes its protocol header; a server waits
    /// for the peer's. Its events, close and loss are those of any other
    /// connection of the loop; it is never reconnected.
    pub fn attach_external(&mut self, server: bool, mut config: Config) -> ConnId {
        if config.container_id.is_empty() {
            config.container_id = unique_id();
        }
        let now = Instant::now();
        let (engine, options) = if server {
            (Connection::server(config, now), None)
        } else {
            let mut engine = Connection::client(config.clone(), now);
            engine.open();
            (
                engine,
                Some(super::ConnectOptions {
                    config,
                    ..Default::default()
                }),
            )
        };
        self.conn_serial += 1;
        let serial = self.conn_serial;
        let trace = self.new_tracers(serial);
        if let Some(t) = &trace {
            self.log.emit(format!(
                "[{}] {} over the application's transport",
                t.label,
                if server { "accepting" } else { "connecting" }
            ));
        }
        let id = ConnId(self.conns.insert(Conn {
            external: true,
            options,
            connected_at: Some(now),
            trace,
            ..Conn::new(engine, serial)
        }));
        // Collected once now, so that the handshake time-out is known.
        self.dirty.push(id);
        id
    }

    fn external(conns: &mut super::Slab<Conn>, id: ConnId) -> Result<&mut Conn, Error> {
        match conns.get_mut(id.0) {
            Some(c) if c.external && !c.final_sent => Ok(c),
            _ => Err(Error::Stale("connection")),
        }
    }

    /// Bytes the application read from an external connection's
    /// transport. Refused with `Closed` once the transport is over (the
    /// engine reads no more).
    pub fn feed(&mut self, id: ConnId, bytes: &[u8]) -> Result<(), Error> {
        let c = Self::external(&mut self.conns, id)?;
        if c.transport_over || c.engine.is_done() {
            return Err(Error::Engine(crate::engine::Error::Closed));
        }
        if !bytes.is_empty() {
            take_in(
                &mut c.engine,
                &mut c.trace,
                &mut self.log,
                bytes,
                Instant::now(),
            );
        }
        self.dirty.push(id);
        Ok(())
    }

    /// The application's transport reached end of stream: without an AMQP
    /// close before it, the connection is lost (`amqp:connection:forced`).
    pub fn feed_closed(&mut self, id: ConnId) -> Result<(), Error> {
        let c = Self::external(&mut self.conns, id)?;
        if !c.engine.is_done() {
            c.engine.input_closed(Instant::now());
        }
        self.dirty.push(id);
        Ok(())
    }

    /// The application's transport failed: output not yet taken is
    /// dropped and the connection is lost with `amqp:connection:forced`
    /// and `description`.
    pub fn external_failed(&mut self, id: ConnId, description: &str) -> Result<(), Error> {
        let c = Self::external(&mut self.conns, id)?;
        let reason = forced(format!("transport failed: {description}"));
        if !c.engine.is_done() {
            c.engine.transport_broken(&reason, Instant::now());
        }
        c.failure.get_or_insert(reason);
        let n = c.engine.output_len();
        c.engine.consume_output(n);
        self.dirty.push(id);
        Ok(())
    }

    /// An external connection's bytes to write (empty: none now). `None`
    /// once it is over (the application may close its transport).
    pub fn pending_output(&mut self, id: ConnId) -> Option<&[u8]> {
        let c = self.conns.get_mut(id.0).filter(|c| c.external)?;
        if c.final_sent || (c.engine.is_done() && c.engine.output_len() == 0) {
            return None;
        }
        Some(c.engine.output())
    }

    /// The application wrote the first `n` bytes of
    /// [`pending_output`](Self::pending_output) to its transport.
    pub fn output_taken(&mut self, id: ConnId, n: usize) -> Result<(), Error> {
        let c = Self::external(&mut self.conns, id)?;
        if n > c.engine.output_len() {
            return Err(Error::Engine(crate::engine::Error::InvalidArgument(
                "more bytes written than were pending",
            )));
        }
        Self::sent(&mut c.engine, &mut c.trace, &mut self.log, n);
        self.dirty.push(id);
        Ok(())
    }

    /// An external connection's next deadline (handshake, idle or close
    /// time-out, heartbeat), if it has one.
    pub fn conn_deadline(&self, id: ConnId) -> Option<Instant> {
        let c = self.conns.get(id.0)?;
        match (c.deadline, c.linger) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// True if `id` is a connection over the application's transport.
    pub fn is_external(&self, id: ConnId) -> bool {
        self.conns.get(id.0).is_some_and(|c| c.external)
    }
}
