//! §6 at volume: 200,000 messages, sender started first and the receiver
//! a second later, so that a queue fills. Through a muon broker of the
//! case's own with a small bound (`-m 2000`), the bound is hit many times:
//! the broker holds its producers back by not topping up their credit,
//! never by taking it back (a cut leaves Qpid Proton's senders on
//! negative credit, on which its examples keep sending until the broker
//! closes them with `amqp:link:transfer-limit-exceeded`). Each case checks
//! that every sequence number arrived exactly once, that the broker said
//! it held producers back, and that its peak resident size stayed small;
//! the figures go in the matrix.
//!
//! Through Proton's C broker, Proton's broker.py and RabbitMQ (the suite's
//! own), muon's programs carry the same load; those brokers bound nothing
//! we can count, so only delivery and time are checked.

use super::*;
use crate::harness::Server;

/// Messages per run.
pub const VOLUME: usize = 200_000;
/// broker.py (one Python thread relaying every message) at 200,000 takes
/// over 90 s on a 2-core machine and 100,000 take 44 s alone but 85 s
/// beside the other volume cases; 50,000 stay well under a minute.
pub const VOLUME_BROKER_PY: usize = 50_000;
/// The case's broker's bound: small, so that 200,000 hit it often.
const BOUND: &str = "2000";
/// The most the case's broker may have resident at its peak. A queue
/// holds at most its bound plus the credit its producers still hold
/// (1000 each): a few MB of small messages.
const MAX_RSS_KB: u64 = 64 * 1024;
/// How long a side of a volume run may take.
const VOLUME_LIMIT: Duration = Duration::from_secs(150);
/// How long the receiver starts after the sender.
const HEAD_START: Duration = Duration::from_secs(1);

/// A muon broker started by the case, with its own port and log.
struct OwnBroker {
    server: Server,
    port: u16,
}

impl OwnBroker {
    fn start(ctx: &Ctx, bound: &str) -> Result<OwnBroker, String> {
        // No frame trace: 200,000 messages would make it hundreds of MB.
        let mut cmd = ctx.muon_quiet("broker")?;
        cmd.args(["-a", "127.0.0.1:0", "-m", bound]);
        let mut server = Server::start(
            &format!("muon broker -m {bound}"),
            cmd,
            ctx.dir.join("broker.log"),
        )?;
        let line = server.wait_for_line("listening on ", Duration::from_secs(20))?;
        let port = line
            .rsplit(' ')
            .next()
            .and_then(|p| p.trim().parse::<u16>().ok())
            .ok_or_else(|| format!("cannot read a port from {line:?}"))?;
        Ok(OwnBroker { server, port })
    }

    /// The broker's peak resident set (VmHWM, kB), read while it runs.
    fn peak_rss_kb(&self) -> Result<u64, String> {
        let pid = self.server.pid().ok_or("the broker is not running")?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .map_err(|e| format!("cannot read /proc/{pid}/status: {e}"))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| format!("no VmHWM in /proc/{pid}/status"))
    }

    /// Stops the broker: its peak RSS (read first), how many times a queue
    /// started holding producers back, and whether it was still alive.
    fn stop(mut self) -> (Result<u64, String>, usize, Result<(), String>) {
        let alive = self.server.check_alive();
        let rss = self.peak_rss_kb();
        let full = self
            .server
            .output()
            .lines()
            .filter(|l| l.starts_with("broker: queue ") && l.contains(" is full"))
            .count();
        self.server.stop(Duration::from_secs(5));
        (rss, full, alive)
    }
}

/// What a receiver printed: one `{'sequence': N}` (Python, muon) or
/// `{"sequence"=N}` (Proton C) line per message.
struct Sequence {
    received: usize,
    duplicates: usize,
    missing: usize,
}

fn sequence_stats(out: &str, n: usize) -> Sequence {
    let mut seen = vec![0u32; n + 1];
    let (mut received, mut duplicates, mut stray) = (0, 0, 0);
    for l in out.lines().filter(|l| l.contains("sequence")) {
        let num = l
            .split(|c: char| !c.is_ascii_digit())
            .rfind(|s| !s.is_empty())
            .and_then(|s| s.parse::<usize>().ok());
        received += 1;
        match num {
            Some(i) if (1..=n).contains(&i) => {
                seen[i] += 1;
                if seen[i] > 1 {
                    duplicates += 1;
                }
            }
            _ => stray += 1,
        }
    }
    let missing = seen.iter().skip(1).filter(|&&c| c == 0).count() + stray;
    Sequence {
        received,
        duplicates,
        missing,
    }
}

/// The programs of a run.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Clients {
    /// Proton's simple_send.py / simple_recv.py.
    ProtonPy,
    /// Proton's C send / receive.
    ProtonC,
    /// muon's simple_send / simple_recv.
    Muon,
}

impl Clients {
    pub fn label(self) -> &'static str {
        match self {
            Clients::ProtonPy => "Proton simple_send.py → simple_recv.py",
            Clients::ProtonC => "Proton C send.c → receive.c",
            Clients::Muon => "muon simple_send → simple_recv",
        }
    }

    /// The sender's and the receiver's commands for `n` messages.
    fn commands(
        self,
        ctx: &Ctx,
        url: &str,
        port: u16,
        addr: &str,
        n: usize,
    ) -> Result<(Command, Command), String> {
        let m = n.to_string();
        Ok(match self {
            Clients::ProtonPy => (
                args(
                    ctx.py(&peers::proton_py("simple_send.py")),
                    &["-a", url, "-m", &m],
                )?,
                args(
                    ctx.py(&peers::proton_py("simple_recv.py")),
                    &["-a", url, "-m", &m],
                )?,
            ),
            Clients::ProtonC => {
                let p = port.to_string();
                let a = ["127.0.0.1", p.as_str(), addr, m.as_str()];
                (
                    args(ctx.proton_c("send"), &a)?,
                    args(ctx.proton_c("receive"), &a)?,
                )
            }
            Clients::Muon => (
                args(ctx.muon_quiet("simple_send"), &["-a", url, "-m", &m])?,
                args(ctx.muon_quiet("simple_recv"), &["-a", url, "-m", &m])?,
            ),
        })
    }

    /// Checks the sender's own report.
    fn sender_ok(self, out: &str, n: usize) -> Result<(), String> {
        let want = match self {
            Clients::ProtonC => format!("{n} messages sent and acknowledged\n"),
            _ => "all messages confirmed\n".to_string(),
        };
        expect_lines("sender", out, &want)
    }
}

/// Sender first, receiver `HEAD_START` later; `n` messages. Returns the
/// figures for the matrix, or why it failed.
fn run_volume(
    ctx: &Ctx,
    progs: Clients,
    url: &str,
    port: u16,
    addr: &str,
    n: usize,
) -> Result<String, String> {
    let (send, recv) = progs.commands(ctx, url, port, addr, n)?;
    let t0 = Instant::now();
    let send = ctx.start(send)?;
    std::thread::sleep(HEAD_START);
    let recv = ctx.start(recv)?;
    let send = send.finish(VOLUME_LIMIT).require_ok();
    // Not `finish`: the receiver may trail the sender by many seconds.
    let recv = recv.finish(if send.is_ok() {
        VOLUME_LIMIT
    } else {
        Duration::from_secs(3)
    });
    let secs = t0.elapsed().as_secs_f64();
    let send = send?;
    let recv = recv.require_ok()?;
    if progs == Clients::ProtonPy && send.stdout.is_empty() {
        // simple_send.py catches KeyboardInterrupt and exits 0.
        return Err(format!(
            "simple_send.py exited 0 without confirming anything: it was interrupted \
             (SIGINT); {}",
            send.describe()
        ));
    }
    progs.sender_ok(&send.stdout, n)?;
    let s = sequence_stats(&recv.stdout, n);
    if progs == Clients::ProtonC && !recv.stdout.ends_with(&format!("{n} messages received\n")) {
        return Err(format!(
            "receive.c did not report {n} messages: {}",
            recv.describe()
        ));
    }
    let figures = format!(
        "{n} sent, {} received, {} duplicates, {} missing",
        s.received, s.duplicates, s.missing
    );
    if s.received != n || s.duplicates != 0 || s.missing != 0 {
        return Err(format!("{figures}; receiver: {}", recv.describe()));
    }
    Ok(format!("{figures}, {secs:.1} s"))
}

/// `progs` through a muon broker of the case's own with a small bound.
fn through_own_broker(ctx: &Ctx, progs: Clients, n: usize) -> Result<String, String> {
    ctx.needs(&["broker"])?;
    let broker = OwnBroker::start(ctx, BOUND)?;
    let addr = unique(ctx, "volume");
    let url = format!("127.0.0.1:{}/{addr}", broker.port);
    let r = run_volume(ctx, progs, &url, broker.port, &addr, n);
    let (rss, full, alive) = broker.stop();
    let rss_text = rss
        .as_ref()
        .map_or_else(|e| e.clone(), |kb| format!("{:.1} MB", *kb as f64 / 1024.0));
    let about = format!("bound -m {BOUND} hit {full} times, broker VmHWM {rss_text}");
    let figures = r.map_err(|e| match &alive {
        Ok(()) => format!("{e}\n  broker: {about}"),
        Err(dead) => format!("{e}\n  and the broker died: {dead}"),
    })?;
    alive?;
    if full == 0 {
        return Err(format!(
            "{figures}, but the broker never said a queue was full (no `broker: queue NAME is \
             full` line in broker.log): the bound was not exercised"
        ));
    }
    let kb = rss?;
    if kb >= MAX_RSS_KB {
        return Err(format!(
            "{figures}; {about}: more than {} MB",
            MAX_RSS_KB / 1024
        ));
    }
    Ok(format!("{figures}; {about}"))
}

/// muon's programs through one of the suite's brokers.
fn through_shared_broker(ctx: &Ctx, b: B, n: usize) -> Result<String, String> {
    ctx.needs(&["simple_send", "simple_recv"])?;
    let addr = unique(ctx, "volume");
    let url = b.url(ctx, &addr)?;
    let port = b.port(ctx)?;
    run_volume(ctx, Clients::Muon, &url, port, &b.address(&addr), n)
}

/// The volume cases: the muon broker ones first (they are the longest),
/// RabbitMQ's sorted last by the runner.
pub fn cases() -> Vec<Case> {
    let peer = format!("muon broker -m {BOUND}");
    let mut v: Vec<Case> = [Clients::ProtonPy, Clients::ProtonC, Clients::Muon]
        .into_iter()
        .map(|p| {
            case(
                "6",
                &peer,
                &format!("{} ({VOLUME}), bound hit", p.label()),
                move |c| through_own_broker(c, p, VOLUME),
            )
        })
        .collect();
    for (b, n) in [
        (B::ProtonC, VOLUME),
        (B::ProtonPy, VOLUME_BROKER_PY),
        (B::Rabbit, VOLUME),
    ] {
        v.push(on(
            b,
            "6",
            &format!("{} ({n})", Clients::Muon.label()),
            move |c, b| through_shared_broker(c, b, n),
        ));
    }
    v
}
