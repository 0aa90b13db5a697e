//! The hostile inputs of tests/hostile.rs (the same cases, the same bytes:
//! `broker_cases` in tests/hostile/cases.rs) sent to the interop suite's
//! other brokers: Qpid Proton's C example broker and a private RabbitMQ
//! 3.10 node, both started on ports of their own as tests/interop.rs
//! starts them (tests/interop/peers.rs).
//!
//! What they answer is an observation, not a verdict on them: the test
//! records, for each input, the answer that came within the time muon is
//! given (2 s), whether the peer then still served a well-behaved client,
//! and how much its resident memory grew, prints the tables, and compares
//! them with the tables committed in docs/HOSTILE.md ("The same inputs
//! against Qpid Proton's C broker and RabbitMQ"). It fails if a peer cannot
//! be started or cannot serve a well-behaved client before the first input
//! (the harness is broken), or if an answer or the served-afterwards column
//! differs from the committed table (the doc would no longer be true); a
//! committed cell starting with "varies" accepts any answer, and the memory
//! column is never compared. `BLESS=1` writes the observed tables into
//! docs/HOSTILE.md instead (keeping the "varies" cells).
//!
//! The muon column is observed the same way, on muon's example broker
//! (whose answers tests/hostile.rs asserts), so that the three columns
//! speak the same words. Each broker gets the cases `WORKERS` at a time for
//! their answers, then each input again, one after the other, so that what
//! it does afterwards and its memory growth belong to one input; the
//! brokers run at the same time, muon's and Proton's cases while RabbitMQ
//! boots.

#[path = "hostile/cases.rs"]
mod cases;
mod common;
mod common_engine;
#[allow(dead_code)] // the interop suite's helpers, of which this uses a few
#[path = "interop/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "interop/peers.rs"]
mod peers;

use std::any::Any;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cases::{ANSWER, Case, broker_cases, good_client_with, observe};
use common::examples::{Broker, Build};
use muon::codec::transport::Performative;

/// How long the raw peer waits for a step of a case's setup (the peer's
/// open, its credit) or for the well-behaved client's answers, and how long
/// one write may block before the peer counts as having stopped reading.
const PATIENCE: Duration = Duration::from_secs(5);

/// How long after an input its connection is held open before the peer's
/// memory is read.
const SETTLE: Duration = Duration::from_millis(250);

/// How many cases run at once against one broker, for their answers.
const WORKERS: usize = 4;

/// The queue the well-behaved client sends to and receives from.
const GOOD_QUEUE: &str = "hostile-good";

/// The header lines of the two committed tables in docs/HOSTILE.md.
const ANSWERS: &str = "| input | muon | Proton C broker | RabbitMQ 3.10 |";
const AFTER: &str = "| input | muon: served | muon: RSS | Proton C broker: served | \
                     Proton C broker: RSS | RabbitMQ 3.10: served | RabbitMQ 3.10: RSS |";
/// The columns of each table that are compared with the committed one.
const ANSWERS_COMPARED: &[usize] = &[1, 2, 3];
const AFTER_COMPARED: &[usize] = &[1, 3, 5];

/// What one peer did with one case.
struct Row {
    answer: String,
    /// Whether a well-behaved client was served after the case (or why not).
    served: Result<(), String>,
    /// Growth of the peer's resident memory, in KiB, while the input's
    /// connection was open (`SETTLE` after the input) and after it closed
    /// and the well-behaved client was served.
    held: Option<i64>,
    after: Option<i64>,
}

/// What one peer did with every case.
struct PeerRun {
    /// The limits its open announces.
    announced: String,
    rows: Vec<Row>,
    /// Resident memory before the first input and after the last, in KiB.
    rss: (Option<u64>, Option<u64>),
    /// Seconds until the answers were in, and in all.
    secs: (f64, f64),
}

fn panic_text(e: &(dyn Any + Send)) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a panic".into())
}

/// Resident memory of process `pid` (if known) in KiB, while it exists.
fn rss(pid: Option<u32>) -> Option<u64> {
    cases::rss_of(pid?)
}

/// Runs every case against the peer `name` on `port`: first for its
/// answer, `WORKERS` cases at a time; then each input again, one after the
/// other: the memory of process `pid` read `SETTLE` after the input, with
/// its connection open, then again once it is closed and a well-behaved
/// client has been served.
fn run_peer(name: &str, port: u16, pid: Option<u32>, cases: &[Case]) -> PeerRun {
    let start = Instant::now();
    // A peer that cannot serve the client before any input is not a
    // finding but a broken harness (or peer set-up).
    if let Err(e) = catch_unwind(|| good_client_with(port, GOOD_QUEUE, PATIENCE)) {
        panic!(
            "{name} does not serve a well-behaved client even before the first input: {}",
            panic_text(&*e)
        );
    }
    // What it announces (the limits some answers depend on).
    let mut p = cases::Peer::connect_with(port, PATIENCE);
    p.send(&cases::opened());
    let (channel_max, max_frame, idle) = p.wait_for("open", |x| match x {
        Performative::Open(o) => Some((o.channel_max, o.max_frame_size, o.idle_time_out)),
        _ => None,
    });
    drop(p);
    let announced = format!(
        "{name} opens with channel-max {channel_max}, max-frame-size {max_frame}, \
         idle-time-out {idle:?}"
    );
    let first = rss(pid);
    // The answers.
    let next = AtomicUsize::new(0);
    let mut answers: Vec<(usize, String)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(c) = cases.get(i) else { break };
                        let label = catch_unwind(AssertUnwindSafe(|| {
                            let o = observe(port, c, PATIENCE, ANSWER);
                            eprintln!(
                                "{name} | {}: input {:.2} s, answer {:.2} s: {}",
                                c.name,
                                o.sent.as_secs_f64(),
                                o.took.as_secs_f64(),
                                o.peer.summary()
                            );
                            o.label(c)
                        }))
                        .unwrap_or_else(|e| format!("(no connection: {})", panic_text(&*e)));
                        done.push((i, label));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a worker"))
            .collect()
    });
    answers.sort();
    let answered = start.elapsed().as_secs_f64();
    // Afterwards.
    let rows = cases
        .iter()
        .zip(answers)
        .map(|(c, (_, answer))| {
            let before = rss(pid);
            let growth = |now: Option<u64>| {
                before
                    .zip(now)
                    .map(|(b, a)| i64::try_from(a).unwrap_or(0) - i64::try_from(b).unwrap_or(0))
            };
            let held = catch_unwind(AssertUnwindSafe(|| {
                let o = observe(port, c, PATIENCE, SETTLE);
                let held = rss(pid);
                drop(o);
                held
            }))
            .ok()
            .flatten();
            let served = catch_unwind(|| good_client_with(port, GOOD_QUEUE, PATIENCE))
                .map_err(|e| panic_text(&*e));
            Row {
                answer,
                served,
                held: growth(held),
                after: growth(rss(pid)),
            }
        })
        .collect();
    PeerRun {
        announced,
        rows,
        rss: (first, rss(pid)),
        secs: (answered, start.elapsed().as_secs_f64()),
    }
}

/// A markdown cell: no pipes, no line breaks.
fn cell(s: &str) -> String {
    s.replace('|', "/").replace('\n', " ")
}

/// Memory growth while held and after, in MiB ("< 1 MiB" when both are).
fn mib(held: Option<i64>, after: Option<i64>) -> String {
    let m = |k: i64| {
        if k < 1024 {
            "< 1".to_owned()
        } else {
            format!("+{}", (k + 512) / 1024)
        }
    };
    match (held, after) {
        (Some(h), Some(a)) if h < 1024 && a < 1024 => "< 1 MiB".into(),
        (Some(h), Some(a)) => format!("{} / {} MiB", m(h), m(a)),
        _ => "not measured".into(),
    }
}

fn served(r: &Result<(), String>) -> String {
    match r {
        Ok(()) => "yes".into(),
        Err(_) => "**no**".into(),
    }
}

/// A table: its header line, then rows of cells.
fn render(header: &str, rows: &[Vec<String>]) -> String {
    let n = header.matches('|').count() - 1;
    let mut s = format!("{header}\n|{}\n", "---|".repeat(n));
    for r in rows {
        s.push_str(&format!("| {} |\n", r.join(" | ")));
    }
    s
}

/// The rows of the table under `header` in `doc`, and the byte range the
/// table (header to last row) takes there.
fn table_in(doc: &str, header: &str) -> Option<(Vec<Vec<String>>, std::ops::Range<usize>)> {
    let begin = doc.find(&format!("{header}\n"))?;
    let mut end = begin;
    let mut rows = Vec::new();
    for (i, line) in doc[begin..].split_inclusive('\n').enumerate() {
        if !line.starts_with('|') {
            break;
        }
        end += line.len();
        if i >= 2 {
            let inner = line
                .trim_end()
                .trim_start_matches('|')
                .trim_end_matches('|');
            rows.push(inner.split('|').map(|c| c.trim().to_owned()).collect());
        }
    }
    Some((rows, begin..end))
}

/// The differences between the committed table and the fresh one, in the
/// `compared` columns ("varies" in a committed cell accepts anything).
fn differences(
    header: &str,
    committed: &[Vec<String>],
    fresh: &[Vec<String>],
    compared: &[usize],
) -> Vec<String> {
    let names: Vec<&str> = header.trim_matches('|').split('|').map(str::trim).collect();
    let mut out = Vec::new();
    for f in fresh {
        let Some(c) = committed.iter().find(|c| c.first() == f.first()) else {
            out.push(format!("{:?}: no row in the committed table", f[0]));
            continue;
        };
        for &i in compared {
            let (was, now) = (c.get(i).map_or("", String::as_str), &f[i]);
            if !was.starts_with("varies") && was != now {
                out.push(format!(
                    "{:?}, {}: committed {was:?}, observed {now:?}",
                    f[0], names[i]
                ));
            }
        }
    }
    for c in committed {
        if !fresh.iter().any(|f| f.first() == c.first()) {
            out.push(format!("{:?}: committed, but no such case", c[0]));
        }
    }
    out
}

/// `fresh` with the committed table's "varies" cells kept.
fn keep_varies(committed: &[Vec<String>], mut fresh: Vec<Vec<String>>) -> Vec<Vec<String>> {
    for f in &mut fresh {
        if let Some(c) = committed.iter().find(|c| c.first() == f.first()) {
            for (i, cell) in f.iter_mut().enumerate() {
                if let Some(was) = c.get(i).filter(|w| w.starts_with("varies")) {
                    cell.clone_from(was);
                }
            }
        }
    }
    fresh
}

fn scratch_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("hostile-peers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("can create the scratch directory");
    d
}

#[test]
fn proton_and_rabbitmq_meet_the_same_hostile_inputs() {
    let t0 = Instant::now();
    let dir = scratch_dir();
    let packages = peers::ensure_packages();
    let pkg = |name: &str| -> Result<(), String> {
        packages
            .iter()
            .find(|(p, _)| *p == name)
            .map_or(Ok(()), |(_, r)| r.clone())
    };
    // RabbitMQ boots in the background while Proton's broker is built.
    let mut rabbit = peers::Rabbit::start(dir.join("rabbitmq"), pkg("rabbitmq-server"));
    pkg("libqpid-proton11-dev")
        .and(pkg("libqpid-proton11-dev-examples"))
        .unwrap_or_else(|e| panic!("Proton's C broker cannot be built: {e}"));
    let exe = peers::compile_proton_c("broker", &dir).unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = Command::new(exe);
    cmd.args(["127.0.0.1", "0"])
        .current_dir(Path::new(peers::PROTON_EXAMPLES).join("c"));
    let proton =
        peers::start_printing_broker("Proton C broker", cmd, dir.join("proton-broker.log"));
    let proton_port = proton.port().unwrap_or_else(|e| panic!("{e}"));
    let proton_pid = proton.server.as_ref().and_then(|s| {
        s.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pid()
    });

    let muon = Broker::launch(Build::Static, 0, &[], &[], Duration::from_secs(20));
    let muon_pid = muon.program.pid();

    let cases = broker_cases();
    let rabbit_up = std::sync::OnceLock::new();
    let runs = std::thread::scope(|s| {
        let m = s.spawn(|| run_peer("muon", muon.port, muon_pid, &cases));
        let p = s.spawn(|| run_peer("Proton C broker", proton_port, proton_pid, &cases));
        let r = s.spawn(|| {
            let port = rabbit
                .wait(Duration::from_secs(150))
                .unwrap_or_else(|e| panic!("{e}\nthe node's log ends:\n{}", rabbit.log_tail(20)));
            let _ = rabbit_up.set(t0.elapsed().as_secs_f64());
            let pid = rabbit.os_pid();
            assert!(pid.is_some(), "RabbitMQ wrote no pid file");
            run_peer("RabbitMQ", port, pid, &cases)
        });
        [m.join(), p.join(), r.join()]
    });
    let proton_alive = proton.health();
    muon.stop();
    proton.stop();
    rabbit.stop();
    let runs: Vec<PeerRun> = runs
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| std::panic::resume_unwind(e)))
        .collect();

    // The tables.
    let answers: Vec<Vec<String>> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut row = vec![cell(c.name)];
            row.extend(runs.iter().map(|r| cell(&r.rows[i].answer)));
            row
        })
        .collect();
    let after: Vec<Vec<String>> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut row = vec![cell(c.name)];
            for r in &runs {
                row.push(served(&r.rows[i].served));
                row.push(mib(r.rows[i].held, r.rows[i].after));
            }
            row
        })
        .collect();
    let mut text = format!(
        "\nhostile inputs against Qpid Proton {} (C broker) and RabbitMQ {}:\n\n{}\n{}\n",
        peers::package_version("libqpid-proton11"),
        peers::package_version("rabbitmq-server"),
        render(ANSWERS, &answers),
        render(AFTER, &after)
    );
    for (name, run) in ["muon", "Proton C broker", "RabbitMQ"].iter().zip(&runs) {
        text.push_str(&format!("{}\n", run.announced));
        let kib = |k: Option<u64>| k.map_or("?".into(), |k| format!("{} MiB", k / 1024));
        text.push_str(&format!(
            "{name}: RSS {} before the first input, {} after the last; answers in {:.1} s, \
             all in {:.1} s\n",
            kib(run.rss.0),
            kib(run.rss.1),
            run.secs.0,
            run.secs.1
        ));
        for (c, row) in cases.iter().zip(&run.rows) {
            if let Err(why) = &row.served {
                text.push_str(&format!("  after {:?}: {why}\n", c.name));
            }
        }
    }
    if let Err(e) = &proton_alive {
        text.push_str(&format!("Proton C broker did not survive: {e}\n"));
    }
    text.push_str(&format!(
        "RabbitMQ up after {:.1} s; total {:.1} s\n",
        rabbit_up.get().copied().unwrap_or(f64::NAN),
        t0.elapsed().as_secs_f64()
    ));
    let _ = std::io::stderr().write_all(text.as_bytes());

    // Against the committed tables.
    let doc_path = common::manifest_dir().join("docs/HOSTILE.md");
    let mut doc = std::fs::read_to_string(&doc_path).expect("docs/HOSTILE.md");
    let bless = std::env::var_os("BLESS").is_some();
    let mut diffs = Vec::new();
    for (header, fresh, compared) in [
        (ANSWERS, answers, ANSWERS_COMPARED),
        (AFTER, after, AFTER_COMPARED),
    ] {
        let Some((committed, range)) = table_in(&doc, header) else {
            panic!("docs/HOSTILE.md has no table headed\n{header}");
        };
        if bless {
            let rows = keep_varies(&committed, fresh);
            doc.replace_range(range, &render(header, &rows));
        } else {
            diffs.extend(differences(header, &committed, &fresh, compared));
        }
    }
    if bless {
        std::fs::write(&doc_path, doc).expect("can write docs/HOSTILE.md");
    }
    assert!(
        diffs.is_empty(),
        "the peers no longer answer as docs/HOSTILE.md says (tables above; \
         BLESS=1 cargo test --test hostile_peers rewrites them):\n{}",
        diffs.join("\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
