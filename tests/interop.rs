//! The interop suite: muon's C programs against Qpid Proton (Python and C,
//! from Debian's packages), a private RabbitMQ node and a private ActiveMQ
//! Classic broker (tests/interop/activemq.rs says when its cases run), and
//! Proton's programs against muon's broker. It installs missing peers itself
//! (tests/interop/install-peers.sh), starts every server on ports of its
//! own (never 5672), stops only processes it started, and prints a matrix
//! (peer × case × result) at the end. A peer that cannot be installed or
//! started fails its cases with the reason; nothing passes vacuously.
//!
//! `MUON_INTEROP_ONLY=text` runs only the cases whose peer or name contains
//! `text` (for debugging); `MUON_INTEROP_KEEP=1` keeps the scratch
//! directory (logs of every program and server) even when all pass;
//! `MUON_INTEROP_EXAMPLES=dir` takes muon's examples from `dir` instead of
//! examples-c/.

#[path = "interop/cases.rs"]
mod cases;
mod common;
#[path = "interop/harness.rs"]
mod harness;
#[path = "interop/peers.rs"]
mod peers;

use cases::{Case, Ctx, Env, Outcome};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The muon C examples the cases run (examples-c/NAME.c).
const MUON_EXAMPLES: &[&str] = &[
    "broker",
    "helloworld",
    "helloworld_direct",
    "simple_send",
    "simple_recv",
    "server",
    "client",
    "tx_send",
    "tx_recv",
];
const PROTON_C: &[&str] = &["broker", "send", "receive", "direct"];
/// How many cases run at once (2-core machines; most cases are I/O bound).
const WORKERS: usize = 3;

struct Done {
    case: Case,
    outcome: Outcome,
    secs: f64,
}

fn scratch_dir() -> PathBuf {
    let d =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("interop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("can create the scratch directory");
    d
}

/// Builds muon's examples and types.c, and Proton's C examples, in
/// parallel (each is one compiler run).
fn build(dir: &Path) -> (cases::Programs, cases::Programs) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("can create bin/");
    let examples = std::env::var_os("MUON_INTEROP_EXAMPLES")
        .map_or_else(|| common::manifest_dir().join("examples-c"), PathBuf::from);
    std::thread::scope(|s| {
        let muon: Vec<_> = MUON_EXAMPLES
            .iter()
            .map(|&name| {
                let (bin, examples) = (&bin, &examples);
                (
                    name,
                    s.spawn(move || {
                        peers::compile_muon(
                            &examples.join(format!("{name}.c")),
                            &bin.join(name),
                            Some(examples),
                        )
                    }),
                )
            })
            .chain(std::iter::once((
                "types",
                s.spawn(|| {
                    peers::compile_muon(
                        &peers::interop_dir().join("types.c"),
                        &bin.join("types"),
                        None,
                    )
                }),
            )))
            .chain(std::iter::once((
                "amq_features",
                s.spawn(|| {
                    peers::compile_muon(
                        &common::manifest_dir().join("tests/c/amq_features.c"),
                        &bin.join("amq_features"),
                        Some(&common::manifest_dir().join("tests/c")),
                    )
                }),
            )))
            .collect();
        let proton: Vec<_> = PROTON_C
            .iter()
            .map(|&name| (name, s.spawn(|| peers::compile_proton_c(name, &bin))))
            .collect();
        let join = |v: Vec<(
            &'static str,
            std::thread::ScopedJoinHandle<'_, Result<PathBuf, String>>,
        )>| {
            v.into_iter()
                .map(|(n, h)| {
                    (
                        n,
                        h.join()
                            .unwrap_or_else(|_| Err("the build thread panicked".into())),
                    )
                })
                .collect::<HashMap<_, _>>()
        };
        (join(muon), join(proton))
    })
}

fn python_ok() -> Result<(), String> {
    let mut cmd = Command::new(peers::PYTHON);
    cmd.args(["-c", "import proton; print(proton.VERSION)"]);
    peers::output_of(cmd, "/usr/bin/python3 -c 'import proton'").map(|_| ())
}

fn run_cases(env: &Arc<Env>, cases: Vec<Case>) -> Vec<Done> {
    let mut order: Vec<(usize, Case)> = cases.into_iter().enumerate().collect();
    // RabbitMQ's cases last: its node boots while the others run.
    order.sort_by_key(|(i, c)| (c.rabbit, *i));
    order.reverse(); // popped from the back
    let queue = Arc::new(Mutex::new(order));
    let done = Arc::new(Mutex::new(Vec::new()));
    std::thread::scope(|s| {
        for _ in 0..WORKERS {
            let (queue, done, env) = (queue.clone(), done.clone(), env.clone());
            s.spawn(move || {
                loop {
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).pop();
                    let Some((i, mut case)) = next else { break };
                    let start = Instant::now();
                    let outcome = match (case.not_applicable.clone(), case.run.take()) {
                        (Some(why), _) => Outcome::NotApplicable(why),
                        (None, Some(f)) => {
                            let dir = env.dir.join("cases").join(format!("{i:03}"));
                            let _ = std::fs::create_dir_all(&dir);
                            let ctx = Ctx::new(env.clone(), dir);
                            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&ctx)))
                            {
                                Ok(Ok(note)) => Outcome::Pass(note),
                                Ok(Err(why)) => Outcome::Fail(why),
                                Err(_) => Outcome::Fail("the case panicked".into()),
                            }
                        }
                        (None, None) => Outcome::Fail("no test body".into()),
                    };
                    let secs = start.elapsed().as_secs_f64();
                    let mark = match &outcome {
                        Outcome::Pass(_) => "pass",
                        Outcome::Fail(_) => "FAIL",
                        Outcome::NotApplicable(_) => "n/a",
                    };
                    eprintln!(
                        "interop: {mark:4} {:>5.1}s  {} | {}",
                        secs, case.peer, case.name
                    );
                    done.lock().unwrap_or_else(|e| e.into_inner()).push((
                        i,
                        Done {
                            case,
                            outcome,
                            secs,
                        },
                    ));
                }
            });
        }
    });
    let mut v = std::mem::take(&mut *done.lock().unwrap_or_else(|e| e.into_inner()));
    v.sort_by_key(|(i, _)| *i);
    v.into_iter().map(|(_, d)| d).collect()
}

fn matrix(results: &[Done], total: Duration, header: &str) -> String {
    let mut s = String::new();
    let w_peer = results
        .iter()
        .map(|d| d.case.peer.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let w_case = results
        .iter()
        .map(|d| d.case.name.chars().count() + 5)
        .max()
        .unwrap_or(4)
        .max(4);
    s.push_str(&format!("\n{header}\n"));
    s.push_str(&format!(
        "{:<w_peer$}  {:<w_case$}  {:<6} {:>6}  note\n",
        "peer", "case", "result", "time"
    ));
    s.push_str(&format!("{}\n", "-".repeat(w_peer + w_case + 30)));
    let mut peers: Vec<&str> = Vec::new();
    for d in results {
        if !peers.contains(&d.case.peer.as_str()) {
            peers.push(&d.case.peer);
        }
    }
    let (mut pass, mut fail, mut na) = (0, 0, 0);
    for p in peers {
        for d in results.iter().filter(|d| d.case.peer == p) {
            let (mark, note) = match &d.outcome {
                Outcome::Pass(n) => {
                    pass += 1;
                    ("pass", n.lines().next().unwrap_or("").to_string())
                }
                Outcome::Fail(n) => {
                    fail += 1;
                    (
                        "FAIL",
                        n.lines().next().unwrap_or("").chars().take(90).collect(),
                    )
                }
                Outcome::NotApplicable(n) => {
                    na += 1;
                    ("n/a", n.chars().take(90).collect())
                }
            };
            let name = format!("§{} {}", d.case.section, d.case.name);
            s.push_str(&format!(
                "{:<w_peer$}  {:<w_case$}  {:<6} {:>5.1}s  {}\n",
                d.case.peer, name, mark, d.secs, note
            ));
        }
    }
    s.push_str(&format!(
        "{} cases: {pass} pass, {fail} fail, {na} not applicable; suite run time {:.1} s\n",
        results.len(),
        total.as_secs_f64()
    ));
    let failures: Vec<&Done> = results
        .iter()
        .filter(|d| matches!(d.outcome, Outcome::Fail(_)))
        .collect();
    if !failures.is_empty() {
        s.push_str("\nfailures:\n");
        for d in failures {
            if let Outcome::Fail(why) = &d.outcome {
                s.push_str(&format!(
                    "\n[{} | §{} {}]\n  {}\n",
                    d.case.peer,
                    d.case.section,
                    d.case.name,
                    why.replace('\n', "\n  ")
                ));
            }
        }
    }
    s
}

#[test]
fn interop_matrix() {
    let t0 = Instant::now();
    let dir = scratch_dir();
    let packages = peers::ensure_packages();
    let pkg = |name: &str| -> Result<(), String> {
        packages
            .iter()
            .find(|(p, _)| *p == name)
            .map_or(Ok(()), |(_, r)| r.clone())
    };
    let python = pkg("python3-qpid-proton").and_then(|()| python_ok());

    let (muon, proton_c) =
        if pkg("libqpid-proton11-dev-examples").is_ok() && pkg("libqpid-proton11-dev").is_ok() {
            build(&dir)
        } else {
            let (m, _) = build(&dir);
            let why = pkg("libqpid-proton11-dev-examples")
                .and(pkg("libqpid-proton11-dev"))
                .unwrap_err();
            (m, PROTON_C.iter().map(|&n| (n, Err(why.clone()))).collect())
        };

    // The servers: started from this thread (their parent-death signal is
    // tied to it), RabbitMQ from a thread of its own in the background.
    let rabbit = peers::Rabbit::start(dir.join("rabbitmq"), pkg("rabbitmq-server"));
    let activemq = match cases::activemq::enabled() {
        Ok(()) => cases::activemq::Node::start(dir.join("activemq"), peers::ensure_activemq()),
        Err(why) => cases::activemq::Node::absent(why),
    };
    let muon_broker = match muon.get("broker") {
        Some(Ok(p)) => {
            let mut cmd = Command::new(p);
            cmd.args(["-a", "127.0.0.1:0"]);
            peers::start_printing_broker("muon broker", cmd, dir.join("muon-broker.log"))
        }
        Some(Err(e)) => peers::Broker::failed(
            "muon broker",
            format!("cannot build examples-c/broker.c: {e}"),
        ),
        None => peers::Broker::failed("muon broker", "not built".into()),
    };
    let proton_c_broker = match proton_c.get("broker") {
        Some(Ok(p)) => {
            let mut cmd = Command::new(p);
            cmd.args(["127.0.0.1", "0"])
                .current_dir(Path::new(peers::PROTON_EXAMPLES).join("c"));
            peers::start_printing_broker("Proton C broker", cmd, dir.join("proton-c-broker.log"))
        }
        Some(Err(e)) => peers::Broker::failed("Proton C broker", e.clone()),
        None => peers::Broker::failed("Proton C broker", "not built".into()),
    };
    let broker_py = match &python {
        Ok(()) => peers::start_broker_py(dir.join("proton-broker-py.log")),
        Err(e) => peers::Broker::failed("Proton broker.py", e.clone()),
    };

    // The expected canonical form of the types message.
    let expected = std::fs::read_to_string(peers::interop_dir().join("types.expected"))
        .map(|t| t.lines().map(str::to_string).collect())
        .map_err(|e| format!("cannot read tests/interop/types.expected: {e}"));

    let env = Arc::new(Env {
        dir: dir.clone(),
        muon,
        proton_c,
        python,
        expected,
        muon_broker,
        proton_c_broker,
        broker_py,
        rabbit,
        activemq,
    });

    let only = std::env::var("MUON_INTEROP_ONLY").ok();
    let cases: Vec<Case> = cases::all()
        .into_iter()
        .filter(|c| {
            only.as_deref()
                .is_none_or(|o| c.peer.contains(o) || c.name.contains(o) || c.section == o)
        })
        .collect();
    let results = run_cases(&env, cases);

    // Stop everything we started.
    let mut env =
        Arc::try_unwrap(env).unwrap_or_else(|_| panic!("cases still hold the environment"));
    for b in [&env.muon_broker, &env.proton_c_broker, &env.broker_py] {
        b.stop();
    }
    env.rabbit.stop();
    let activemq_start = env.activemq.startup();
    env.activemq.stop();

    let mut header = format!(
        "interop matrix: muon {} against Qpid Proton {} (Python and C), RabbitMQ {} and \
         ActiveMQ {}",
        env!("CARGO_PKG_VERSION"),
        peers::package_version("python3-qpid-proton"),
        peers::package_version("rabbitmq-server"),
        peers::package_version("activemq")
    );
    if let Some(t) = activemq_start {
        header.push_str(&format!(" (ActiveMQ started in {:.1} s)", t.as_secs_f64()));
    }
    let text = matrix(&results, t0.elapsed(), &header);
    let _ = std::fs::write(dir.join("matrix.txt"), &text);
    // Printed straight to stderr so that it shows even when the test
    // passes (libtest captures print!/eprint! only).
    let _ = std::io::stderr().write_all(text.as_bytes());

    let failed = results
        .iter()
        .any(|d| matches!(d.outcome, Outcome::Fail(_)));
    if failed {
        panic!(
            "interop failures (matrix above; logs of every program in {})",
            dir.display()
        );
    }
    if std::env::var_os("MUON_INTEROP_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
