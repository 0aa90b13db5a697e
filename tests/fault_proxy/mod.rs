//! A small fault-injecting TCP proxy for the reconnect and fault tests: it
//! forwards every connection it accepts to an upstream address, and does
//! to each one the [`Fault`] it was started with: cuts it (shuts both
//! sockets down, mid-frame as likely as not) once it has carried a number
//! of bytes drawn for that connection, or once it has lived a time drawn
//! for it; resets it (TCP RST) mid-frame; shuts down one direction only;
//! forwards everything one byte per write; or holds each segment back for
//! a while. A client that reconnects meets the fault again, so a long run
//! meets it many times, whatever its timing. Independently of the fault,
//! [`FaultProxy::stop_reading`] makes it stop reading from the upstream
//! side (a client that no longer reads, as the server sees it), and
//! [`FaultProxy::cut_all`] cuts every connection at once.
//!
//! Random draws come from a fixed seed, so runs are repeatable (up to the
//! timing of the programs on either side).

#![allow(dead_code)] // each test binary uses its own subset

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the proxy does to each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// None: everything is forwarded as it comes (for `stop_reading` and
    /// `cut_all` alone).
    None,
    /// Shut both sockets down once the connection carried a number of
    /// bytes (both directions together) drawn between the two bounds.
    Cut { min_bytes: usize, max_bytes: usize },
    /// As `Cut`, but with a TCP reset (`SO_LINGER` 0, then close): both
    /// peers see the connection reset mid-frame, not an orderly end.
    Reset { min_bytes: usize, max_bytes: usize },
    /// Shut both sockets down once the connection has lived a time drawn
    /// between half and one and a half times this period.
    CutEvery(Duration),
    /// Forward everything, one byte per `write` (with `TCP_NODELAY`, one
    /// byte per segment as far as the kernel allows): every frame and
    /// every header arrives in pieces.
    OneByte,
    /// Forward everything, each segment held back by a time drawn up to
    /// this bound (in order: a segment never overtakes an earlier one).
    Delay(Duration),
    /// Once one direction carried a number of bytes drawn between the
    /// bounds, shut that direction down (the far side reads end of stream
    /// mid-frame) and stop carrying it; the other direction stays open.
    /// `toward_server`: the client-to-server direction, else the
    /// server-to-client one.
    HalfClose {
        toward_server: bool,
        min_bytes: usize,
        max_bytes: usize,
    },
}

/// The state the proxy's threads share.
struct Shared {
    cuts: AtomicUsize,
    accepted: AtomicUsize,
    stop: AtomicBool,
    /// Reading from the upstream side is paused.
    paused: AtomicBool,
    /// Connections still carried (cut or closed ones are dropped).
    pairs: Mutex<Vec<Arc<Pair>>>,
}

/// The running proxy; stops accepting and ends everything when dropped.
pub struct FaultProxy {
    port: u16,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// One proxied connection: both sockets, and the bytes carried so far.
struct Pair {
    client: TcpStream,
    server: TcpStream,
    /// Bytes carried: both directions, client to server, server to client.
    carried: AtomicUsize,
    up: AtomicUsize,
    down: AtomicUsize,
    budget: usize,
    born: Instant,
    lifetime: Duration,
    /// Seed of the connection's own random draws (delays).
    seed: u64,
    cut: AtomicBool,
}

impl Pair {
    fn cut(&self, shared: &Shared) {
        if !self.cut.swap(true, Ordering::SeqCst) {
            let _ = self.client.shutdown(Shutdown::Both);
            let _ = self.server.shutdown(Shutdown::Both);
            shared.cuts.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Resets both sockets: with `SO_LINGER` 0 the kernel sends RST when
    /// the last descriptor closes. Reading is shut down so that the pump
    /// threads (each holding a descriptor) wake up and let go.
    fn reset(&self, shared: &Shared) {
        if !self.cut.swap(true, Ordering::SeqCst) {
            for s in [&self.client, &self.server] {
                set_linger_zero(s);
                let _ = s.shutdown(Shutdown::Read);
            }
            shared.cuts.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Ends both sockets after a normal end of stream (not counted as a cut).
    fn close(&self) {
        if !self.cut.swap(true, Ordering::SeqCst) {
            let _ = self.client.shutdown(Shutdown::Both);
            let _ = self.server.shutdown(Shutdown::Both);
        }
    }
}

/// `SO_LINGER` with a zero time-out: closing the socket sends RST.
fn set_linger_zero(s: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a socket this process owns (the stream keeps
    // it open), with a pointer to a live `linger` and its exact size.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

/// The next value of a 64-bit linear congruential generator.
fn next(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *seed >> 33
}

/// A draw in `min..max` (`min` when the range is empty).
fn draw(seed: &mut u64, min: usize, max: usize) -> usize {
    let span = (max.saturating_sub(min)).max(1) as u64;
    min + (next(seed) % span) as usize
}

impl FaultProxy {
    /// Listens on a free local port and forwards to `upstream`, cutting each
    /// connection after between `min_bytes` and `max_bytes` bytes (drawn
    /// from a fixed seed, so runs are repeatable).
    pub fn start(upstream: SocketAddr, min_bytes: usize, max_bytes: usize) -> FaultProxy {
        FaultProxy::with(
            upstream,
            Fault::Cut {
                min_bytes,
                max_bytes,
            },
        )
    }

    /// Listens on a free local port and forwards to `upstream`, doing
    /// `fault` to every connection.
    pub fn with(upstream: SocketAddr, fault: Fault) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("the proxy can listen");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let port = listener.local_addr().expect("bound").port();
        let shared = Arc::new(Shared {
            cuts: AtomicUsize::new(0),
            accepted: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            pairs: Mutex::new(Vec::new()),
        });
        let sh = shared.clone();
        let thread = std::thread::spawn(move || {
            let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
            while !sh.stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let Ok(server) = TcpStream::connect(upstream) else {
                            continue; // upstream down: the client sees a close
                        };
                        sh.accepted.fetch_add(1, Ordering::SeqCst);
                        let (budget, lifetime) = match fault {
                            Fault::Cut {
                                min_bytes,
                                max_bytes,
                            }
                            | Fault::Reset {
                                min_bytes,
                                max_bytes,
                            }
                            | Fault::HalfClose {
                                min_bytes,
                                max_bytes,
                                ..
                            } => (draw(&mut seed, min_bytes, max_bytes), Duration::MAX),
                            Fault::CutEvery(period) => {
                                let ms = period.as_millis() as usize;
                                let life = draw(&mut seed, ms / 2, ms + ms / 2);
                                (usize::MAX, Duration::from_millis(life as u64))
                            }
                            Fault::None | Fault::OneByte | Fault::Delay(_) => {
                                (usize::MAX, Duration::MAX)
                            }
                        };
                        client.set_nonblocking(false).ok();
                        client.set_nodelay(true).ok();
                        server.set_nodelay(true).ok();
                        let pair = Arc::new(Pair {
                            client,
                            server,
                            carried: AtomicUsize::new(0),
                            up: AtomicUsize::new(0),
                            down: AtomicUsize::new(0),
                            budget,
                            born: Instant::now(),
                            lifetime,
                            seed: next(&mut seed),
                            cut: AtomicBool::new(false),
                        });
                        pump(pair.clone(), true, fault, sh.clone());
                        pump(pair.clone(), false, fault, sh.clone());
                        sh.pairs
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(pair);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
                let mut pairs = sh.pairs.lock().unwrap_or_else(|e| e.into_inner());
                for p in pairs.iter() {
                    if p.born.elapsed() >= p.lifetime {
                        p.cut(&sh);
                    }
                }
                pairs.retain(|p| !p.cut.load(Ordering::SeqCst));
            }
            for p in sh.pairs.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                p.close();
            }
        });
        FaultProxy {
            port,
            shared,
            thread: Some(thread),
        }
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How many connections were cut (or reset, or half-closed) so far.
    pub fn cuts(&self) -> usize {
        self.shared.cuts.load(Ordering::SeqCst)
    }

    /// How many connections were forwarded so far.
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Stops (`true`) or resumes (`false`) reading from the upstream side
    /// of every connection: the server sees clients that do not read, and
    /// what it writes piles up in the sockets' buffers, then in its own.
    /// (At most one segment read before the pause is still forwarded.)
    pub fn stop_reading(&self, stop: bool) {
        self.shared.paused.store(stop, Ordering::SeqCst);
    }

    /// Cuts every connection carried now; returns how many.
    pub fn cut_all(&self) -> usize {
        let pairs = self.shared.pairs.lock().unwrap_or_else(|e| e.into_inner());
        let before = self.cuts();
        for p in pairs.iter() {
            p.cut(&self.shared);
        }
        self.cuts() - before
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Copies one direction of `pair` (`upstream`: client to server) until end
/// of stream, an error, or the fault ends it.
fn pump(pair: Arc<Pair>, upstream: bool, fault: Fault, shared: Arc<Shared>) {
    std::thread::spawn(move || {
        let (mut from, to) = match (pair.client.try_clone(), pair.server.try_clone()) {
            (Ok(c), Ok(s)) if upstream => (c, s),
            (Ok(c), Ok(s)) => (s, c),
            _ => return pair.close(),
        };
        let mut out = Output::new(to, fault, pair.seed ^ u64::from(upstream));
        let mut buf = [0u8; 4096];
        loop {
            while !upstream && shared.paused.load(Ordering::SeqCst) {
                if pair.cut.load(Ordering::SeqCst) || shared.stop.load(Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => {
                    out.finish();
                    return pair.close();
                }
                Ok(n) => n,
            };
            let before = pair.carried.fetch_add(n, Ordering::SeqCst);
            let mine = if upstream { &pair.up } else { &pair.down };
            let before_mine = mine.fetch_add(n, Ordering::SeqCst);
            match fault {
                Fault::Cut { .. } | Fault::Reset { .. } if before + n >= pair.budget => {
                    // Forward part of this chunk, then cut: a frame is split.
                    let part = pair.budget.saturating_sub(before).min(n);
                    let _ = out.write(&buf[..part]);
                    out.finish();
                    if matches!(fault, Fault::Reset { .. }) {
                        // Give the partial frame a moment to leave before
                        // the reset discards what is unsent.
                        std::thread::sleep(Duration::from_millis(2));
                        return pair.reset(&shared);
                    }
                    return pair.cut(&shared);
                }
                Fault::HalfClose { toward_server, .. }
                    if toward_server == upstream && before_mine + n >= pair.budget =>
                {
                    let part = pair.budget.saturating_sub(before_mine).min(n);
                    let _ = out.write(&buf[..part]);
                    out.finish();
                    // The far side reads end of stream; this side's peer
                    // may go on writing, unread.
                    let _ = out.stream().shutdown(Shutdown::Write);
                    if !pair.cut.load(Ordering::SeqCst) {
                        shared.cuts.fetch_add(1, Ordering::SeqCst);
                    }
                    return;
                }
                _ => {}
            }
            if out.write(&buf[..n]).is_err() {
                return pair.close();
            }
        }
    });
}

/// A delay line: segments with the time each is due, and the thread that
/// writes them.
type DelayLine = (mpsc::Sender<(Instant, Vec<u8>)>, JoinHandle<()>);

/// Where a pump writes: straight to the socket, one byte per write, or
/// through a delay line (a thread that writes each segment when its time
/// comes).
struct Output {
    stream: TcpStream,
    fault: Fault,
    seed: u64,
    delayed: Option<DelayLine>,
    last_due: Instant,
}

impl Output {
    fn new(stream: TcpStream, fault: Fault, seed: u64) -> Output {
        let delayed = match fault {
            Fault::Delay(_) => {
                let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
                let mut s = stream.try_clone().expect("a second handle on the socket");
                let t = std::thread::spawn(move || {
                    for (due, data) in rx {
                        let now = Instant::now();
                        if due > now {
                            std::thread::sleep(due - now);
                        }
                        if s.write_all(&data).is_err() {
                            let _ = s.shutdown(Shutdown::Both);
                            return;
                        }
                    }
                });
                Some((tx, t))
            }
            _ => None,
        };
        Output {
            stream,
            fault,
            seed,
            delayed,
            last_due: Instant::now(),
        }
    }

    fn stream(&self) -> &TcpStream {
        &self.stream
    }

    fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self.fault {
            Fault::OneByte => {
                for b in data {
                    self.stream.write_all(std::slice::from_ref(b))?;
                }
                Ok(())
            }
            Fault::Delay(max) => {
                let ms = draw(&mut self.seed, 0, max.as_millis() as usize + 1);
                let due = (Instant::now() + Duration::from_millis(ms as u64)).max(self.last_due);
                self.last_due = due;
                let (tx, _) = self.delayed.as_ref().expect("a delay line");
                tx.send((due, data.to_vec()))
                    .map_err(|_| std::io::Error::other("the delay line ended"))
            }
            _ => self.stream.write_all(data),
        }
    }

    /// Waits until everything handed to the delay line is written.
    fn finish(&mut self) {
        if let Some((tx, t)) = self.delayed.take() {
            drop(tx);
            let _ = t.join();
        }
    }
}
