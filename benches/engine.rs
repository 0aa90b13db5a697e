//! Two engines in memory pumping 1,000,000 messages of 100 bytes, at least
//! once (the receiver accepts and settles, the sender settles on seeing
//! it) and pre-settled. Criterion reports the time per million (and
//! messages per second as throughput); before that, each mode prints its
//! messages per second and its heap allocations per message in steady
//! state, counted by a global allocator.
//!
//! Run: `cargo bench --bench engine`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use muon::codec::messaging::{DeliveryState, Target};
use muon::codec::transport::{ReceiverSettleMode, Role, SenderSettleMode};
use muon::engine::{Config, Connection, EndpointState, Event, LinkId, LinkOptions, SaslConfig};

/// Counts every allocation (the bench is single-threaded).
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter is a static atomic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const MESSAGES: u64 = 1_000_000;
const PAYLOAD: [u8; 100] = [0x5a; 100];
/// The receiver's credit window, topped up at half.
const WINDOW: u32 = 1000;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    AtLeastOnce,
    Presettled,
}

struct Bench {
    c: Connection,
    s: Connection,
    snd: LinkId,
    rcv: LinkId,
    mode: Mode,
    now: Instant,
    /// Allocations made inside the sending engine's calls.
    send_path_allocs: u64,
}

/// Moves everything `a` has written into `b`, without copying.
fn transfer(a: &mut Connection, b: &mut Connection, now: Instant) -> bool {
    let out = a.output();
    if out.is_empty() {
        return false;
    }
    b.receive(out, now);
    let n = out.len();
    a.consume_output(n);
    true
}

impl Bench {
    fn new(mode: Mode) -> Bench {
        let now = Instant::now();
        let no_sasl = SaslConfig {
            enabled: false,
            ..SaslConfig::default()
        };
        let config = |id: &str| Config {
            container_id: id.into(),
            sasl: no_sasl.clone(),
            ..Config::default()
        };
        let mut c = Connection::client(config("sender"), now);
        let mut s = Connection::server(config("receiver"), now);
        c.open();
        let cs = c.session_new().unwrap();
        c.session_open(cs).unwrap();
        let snd_mode = match mode {
            Mode::AtLeastOnce => SenderSettleMode::Unsettled,
            Mode::Presettled => SenderSettleMode::Settled,
        };
        let options = LinkOptions {
            target: Some(Target::address("bench")),
            snd_settle_mode: Some(snd_mode),
            rcv_settle_mode: Some(ReceiverSettleMode::First),
            ..LinkOptions::default()
        };
        let snd = c.link_new(cs, Role::Sender, options).unwrap();
        c.link_open(snd).unwrap();
        let mut rcv = None;
        for _ in 0..10 {
            transfer(&mut c, &mut s, now);
            while let Some(e) = s.next_event() {
                match e {
                    Event::ConnectionRemoteOpen => s.open(),
                    Event::SessionRemoteOpen(x) => s.session_open(x).unwrap(),
                    Event::LinkRemoteOpen(l) => {
                        s.link_open(l).unwrap();
                        s.link_flow(l, WINDOW, false).unwrap();
                        rcv = Some(l);
                    }
                    _ => {}
                }
            }
            transfer(&mut s, &mut c, now);
            while c.next_event().is_some() {}
        }
        assert_eq!(c.link_remote_state(snd), EndpointState::Active);
        Bench {
            c,
            s,
            snd,
            rcv: rcv.expect("the receiver attached"),
            mode,
            now,
            send_path_allocs: 0,
        }
    }

    /// Sends `n` messages and sees every one delivered (and, at least
    /// once, accepted and settled on both sides).
    fn run(&mut self, n: u64) {
        let (c, s, now) = (&mut self.c, &mut self.s, self.now);
        let (snd, rcv, mode) = (self.snd, self.rcv, self.mode);
        let mut sent = 0u64;
        let mut received = 0u64;
        while received < n {
            let before = ALLOCS.load(Ordering::Relaxed);
            while sent < n && c.link_credit(snd) > 0 {
                c.send(snd, None, &PAYLOAD[..], mode == Mode::Presettled)
                    .unwrap();
                sent += 1;
            }
            let out = c.output();
            let after = ALLOCS.load(Ordering::Relaxed);
            self.send_path_allocs += after - before;
            s.receive(out, now);
            let len = out.len();
            c.consume_output(len);
            while let Some(e) = s.next_event() {
                if let Event::Delivery(d) = e {
                    received += 1;
                    debug_assert_eq!(s.delivery_payload(d).map(<[u8]>::len), Some(100));
                    match mode {
                        Mode::AtLeastOnce => s
                            .disposition(d, Some(DeliveryState::Accepted), true)
                            .unwrap(),
                        Mode::Presettled => s.settle(d).unwrap(),
                    }
                }
            }
            if s.link_credit(rcv) < WINDOW / 2 {
                s.link_flow(rcv, WINDOW, false).unwrap();
            }
            let out = s.output();
            let before = ALLOCS.load(Ordering::Relaxed);
            c.receive(out, now);
            let len = out.len();
            s.consume_output(len);
            while let Some(e) = c.next_event() {
                if let Event::DeliveryUpdated(d) = e {
                    c.settle(d).unwrap();
                }
            }
            let after = ALLOCS.load(Ordering::Relaxed);
            self.send_path_allocs += after - before;
        }
    }
}

/// Warms up, then times one million messages and counts allocations.
fn report(mode: Mode, name: &str) {
    let mut b = Bench::new(mode);
    b.run(200_000);
    b.send_path_allocs = 0;
    let allocs_before = ALLOCS.load(Ordering::Relaxed);
    let start = Instant::now();
    b.run(MESSAGES);
    let elapsed = start.elapsed();
    let allocs = ALLOCS.load(Ordering::Relaxed) - allocs_before;
    assert_eq!(b.c.delivery_count() + b.s.delivery_count(), 0);
    println!(
        "{name}: {:.0} msgs/s; allocations per message in steady state: {:.6} \
         (sending engine {:.6}, total {allocs} over {MESSAGES})",
        MESSAGES as f64 / elapsed.as_secs_f64(),
        allocs as f64 / MESSAGES as f64,
        b.send_path_allocs as f64 / MESSAGES as f64,
    );
}

fn engine(c: &mut Criterion) {
    report(Mode::AtLeastOnce, "at-least-once");
    report(Mode::Presettled, "presettled");
    let mut g = c.benchmark_group("engine_pair_1M_x_100B");
    g.throughput(Throughput::Elements(MESSAGES));
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(2));
    g.measurement_time(Duration::from_secs(15));
    for (mode, name) in [
        (Mode::AtLeastOnce, "at_least_once"),
        (Mode::Presettled, "presettled"),
    ] {
        let mut b = Bench::new(mode);
        g.bench_function(name, |it| it.iter(|| b.run(MESSAGES)));
    }
    g.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
