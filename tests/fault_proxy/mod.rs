//! A small fault-injecting TCP proxy for the reconnect tests: it forwards
//! every connection it accepts to an upstream address, and cuts each one
//! (shuts both sockets down, mid-frame as likely as not) once it has carried
//! a number of bytes drawn for that connection. A client that reconnects is
//! cut again later, so a long run is cut many times, whatever its timing.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// The running proxy; stops accepting and cuts everything when dropped.
pub struct FaultProxy {
    port: u16,
    cuts: Arc<AtomicUsize>,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// One proxied connection: both sockets, and the bytes carried so far.
struct Pair {
    client: TcpStream,
    server: TcpStream,
    carried: AtomicUsize,
    budget: usize,
    cut: AtomicBool,
}

impl Pair {
    fn cut(&self, cuts: &AtomicUsize) {
        if !self.cut.swap(true, Ordering::SeqCst) {
            let _ = self.client.shutdown(Shutdown::Both);
            let _ = self.server.shutdown(Shutdown::Both);
            cuts.fetch_add(1, Ordering::SeqCst);
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

impl FaultProxy {
    /// Listens on a free local port and forwards to `upstream`, cutting each
    /// connection after between `min_bytes` and `max_bytes` bytes (drawn
    /// from a fixed seed, so runs are repeatable).
    pub fn start(upstream: SocketAddr, min_bytes: usize, max_bytes: usize) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("the proxy can listen");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let port = listener.local_addr().expect("bound").port();
        let cuts = Arc::new(AtomicUsize::new(0));
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (c, a, s) = (cuts.clone(), accepted.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
            let mut pairs: Vec<Arc<Pair>> = Vec::new();
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let Ok(server) = TcpStream::connect(upstream) else {
                            continue; // upstream down: the client sees a close
                        };
                        a.fetch_add(1, Ordering::SeqCst);
                        seed = seed
                            .wrapping_mul(6_364_136_223_846_793_005)
                            .wrapping_add(1_442_695_040_888_963_407);
                        let span = (max_bytes - min_bytes).max(1) as u64;
                        let budget = min_bytes + ((seed >> 33) % span) as usize;
                        client.set_nonblocking(false).ok();
                        client.set_nodelay(true).ok();
                        server.set_nodelay(true).ok();
                        let pair = Arc::new(Pair {
                            client,
                            server,
                            carried: AtomicUsize::new(0),
                            budget,
                            cut: AtomicBool::new(false),
                        });
                        pump(pair.clone(), true, c.clone());
                        pump(pair.clone(), false, c.clone());
                        pairs.push(pair);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
                pairs.retain(|p| !p.cut.load(Ordering::SeqCst));
            }
            for p in &pairs {
                p.close();
            }
        });
        FaultProxy {
            port,
            cuts,
            accepted,
            stop,
            thread: Some(thread),
        }
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How many connections were cut so far.
    pub fn cuts(&self) -> usize {
        self.cuts.load(Ordering::SeqCst)
    }

    /// How many connections were forwarded so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Copies one direction of `pair` until end of stream, an error, or the
/// connection's byte budget is spent (then it is cut).
fn pump(pair: Arc<Pair>, upstream: bool, cuts: Arc<AtomicUsize>) {
    std::thread::spawn(move || {
        let (mut from, mut to) = match (pair.client.try_clone(), pair.server.try_clone()) {
            (Ok(c), Ok(s)) if upstream => (c, s),
            (Ok(c), Ok(s)) => (s, c),
            _ => return pair.close(),
        };
        let mut buf = [0u8; 4096];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => return pair.close(),
                Ok(n) => n,
            };
            let before = pair.carried.fetch_add(n, Ordering::SeqCst);
            if before + n >= pair.budget {
                // Forward part of this chunk, then cut: a frame is split.
                let part = pair.budget.saturating_sub(before).min(n);
                let _ = to.write_all(&buf[..part]);
                return pair.cut(&cuts);
            }
            if to.write_all(&buf[..n]).is_err() {
                return pair.close();
            }
        }
    });
}
