//! ActiveMQ Classic, the second broker family: a private broker
//! (tests/common/activemq.rs: Debian's `activemq` 5.17, its own
//! configuration, data directory and free AMQP port, one user) started by
//! the suite in the background, and the cases run through it: the
//! tutorial programs on queues (ActiveMQ makes dynamic nodes, so `client`
//! runs without `-r`) and on topics (`topic://` addresses, two subscribers
//! each getting every message), Proton's programs beside muon's, the
//! type-fidelity message, 10 MiB messages, small frames and many links,
//! wrong credentials, and the link features of tests/c/amq_features.c (a
//! JMS selector, browsing, a durable subscription, transactions).
//!
//! Debian's package has no AMQP transport (see tests/common/activemq.rs):
//! the cases run when the broker has one (`MUON_ACTIVEMQ_LIB` or
//! `MUON_ACTIVEMQ_HOME`), and fail saying why when asked for
//! (`MUON_INTEROP_ACTIVEMQ=1`, which scripts/interop sets) without it.
//! Otherwise the matrix has one row saying they were not run, and why.

use super::*;
use crate::common::activemq::{self, ActiveMq, PASSWORD, USER};
use std::sync::{Condvar, Mutex};

/// How long a case waits for the broker (it starts while others run).
const BOOT: Duration = Duration::from_secs(150);

/// Whether the ActiveMQ cases were asked for: `MUON_INTEROP_ACTIVEMQ=1`,
/// or an AMQP module or installation named.
pub fn wanted() -> bool {
    std::env::var("MUON_INTEROP_ACTIVEMQ").is_ok_and(|v| v == "1")
        || std::env::var_os("MUON_ACTIVEMQ_LIB").is_some()
        || std::env::var_os("MUON_ACTIVEMQ_HOME").is_some()
}

/// Whether the ActiveMQ cases run: `Ok` when wanted or possible (then a
/// broker that cannot start fails them), `Err` with why they are not run.
pub fn enabled() -> Result<(), String> {
    if wanted() {
        return Ok(());
    }
    activemq::check_available().map_err(|e| {
        format!(
            "not run: {e}. scripts/interop runs them (MUON_INTEROP_ACTIVEMQ=1) and fails them \
             while the transport is missing"
        )
    })
}

#[derive(Default)]
struct State {
    ready: Option<Result<u16, String>>,
    stop: bool,
    log: Option<PathBuf>,
    startup: Option<Duration>,
}

/// The suite's broker: started by a thread of its own, which lives until
/// `stop` (the broker's parent-death signal is tied to that thread).
pub struct Node {
    state: Arc<(Mutex<State>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Node {
    /// Starts the broker in `dir` in the background; `available` is `Err`
    /// when it cannot run (the package is missing).
    pub fn start(dir: PathBuf, available: Result<(), String>) -> Node {
        let state = Arc::new((Mutex::new(State::default()), Condvar::new()));
        let st = state.clone();
        let thread = std::thread::spawn(move || {
            let (m, cv) = &*st;
            let r = available.and_then(|()| ActiveMq::start(&dir));
            let mut broker = None;
            {
                let mut g = m.lock().unwrap_or_else(|e| e.into_inner());
                g.log = Some(dir.join("activemq.log"));
                g.ready = Some(r.map(|b| {
                    let port = b.port();
                    g.startup = Some(b.startup);
                    broker = Some(b);
                    port
                }));
                cv.notify_all();
            }
            let mut g = m.lock().unwrap_or_else(|e| e.into_inner());
            while !g.stop {
                g = cv.wait(g).unwrap_or_else(|e| e.into_inner());
            }
            drop(g);
            if let Some(mut b) = broker {
                b.stop();
            }
        });
        Node {
            state,
            thread: Some(thread),
        }
    }

    /// A node that will not start, saying why.
    pub fn absent(why: String) -> Node {
        let state = Arc::new((Mutex::new(State::default()), Condvar::new()));
        state.0.lock().unwrap_or_else(|e| e.into_inner()).ready = Some(Err(why));
        Node {
            state,
            thread: None,
        }
    }

    /// Waits (up to `limit`) for the broker; its AMQP port or why not.
    pub fn wait(&self, limit: Duration) -> Result<u16, String> {
        let (m, cv) = &*self.state;
        let deadline = Instant::now() + limit;
        let mut g = m.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(r) = &g.ready {
                return r
                    .clone()
                    .map_err(|e| format!("ActiveMQ is not running: {e}"));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!("ActiveMQ did not start within {limit:?}"));
            }
            g = cv
                .wait_timeout(g, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// How long the broker took to start, once it has.
    pub fn startup(&self) -> Option<Duration> {
        self.state
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .startup
    }

    /// The last `n` lines of the broker's log.
    pub fn log_tail(&self, n: usize) -> String {
        let log = self
            .state
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .log
            .clone();
        log.and_then(|l| std::fs::read_to_string(l).ok())
            .map(|t| crate::harness::tail(&t, n))
            .unwrap_or_default()
    }

    pub fn stop(&mut self) {
        {
            let (m, cv) = &*self.state;
            m.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
            cv.notify_all();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The broker's port, waiting for it.
pub fn port(ctx: &Ctx) -> Result<u16, String> {
    ctx.env.activemq.wait(BOOT)
}

/// `amqp://USER:PASSWORD@127.0.0.1:PORT`.
pub fn hostport(ctx: &Ctx) -> Result<String, String> {
    Ok(format!("amqp://{USER}:{PASSWORD}@127.0.0.1:{}", port(ctx)?))
}

/// Adds the end of the broker's log to a failure.
fn with_log(ctx: &Ctx, r: Result<String, String>) -> Result<String, String> {
    r.map_err(|e| {
        let log = ctx.env.activemq.log_tail(8);
        if log.is_empty() || e.contains("ActiveMQ is not running") {
            e
        } else {
            format!(
                "{e}\n  ActiveMQ's log ends:\n    {}",
                log.replace('\n', "\n    ")
            )
        }
    })
}

// ------------------------------------------------------------------ cases

/// Two muon simple_recv subscribed to one `topic://` address, then
/// simple_send: each subscriber gets every message, in order. A
/// subscriber is in place once the broker answered its attach (read from
/// its frame trace).
fn topic_two_subscribers(ctx: &Ctx, n: usize) -> Result<String, String> {
    ctx.needs(&["simple_send", "simple_recv"])?;
    let url = format!("{}/topic://{}", hostport(ctx)?, unique(ctx, "news"));
    let m = n.to_string();
    let mut subs = Vec::new();
    for _ in 0..2 {
        // The trace is needed here, whatever MUON_INTEROP_TRACE says.
        let mut cmd = ctx.muon("simple_recv")?;
        cmd.env("MUON_TRACE", "frm").args(["-a", &url, "-m", &m]);
        subs.push(ctx.start(cmd)?);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    for s in &mut subs {
        while !s.stderr_now().contains("<- @attach") {
            if !s.running() || Instant::now() > deadline {
                return Err("a subscriber did not get its attach answered".to_string());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let send = ok(
        ctx,
        args(ctx.muon("simple_send"), &["-a", &url, "-m", &m]),
        LIMIT,
    );
    let runs: Vec<Run> = subs.into_iter().map(|s| finish(s, &send, LIMIT)).collect();
    let send = send?;
    expect_lines("muon simple_send", &send.stdout, "all messages confirmed\n")?;
    for (i, r) in runs.into_iter().enumerate() {
        let r = r.require_ok()?;
        expect_lines(
            &format!("subscriber {}", i + 1),
            &r.stdout,
            &sequence_lines(n),
        )?;
    }
    Ok(format!("2 subscribers got all {n} messages, in order"))
}

/// Wrong credentials through the C API: the connection fails with
/// amqp:unauthorized-access.
fn wrong_password_api(ctx: &Ctx) -> Result<String, String> {
    let url = format!("amqp://{USER}:wrong@127.0.0.1:{}", port(ctx)?);
    wrong_password_condition(ctx, &url, "never")
}

/// Wrong credentials given to simple_send: it exits non-zero, soon, saying
/// amqp:unauthorized-access.
fn wrong_password_example(ctx: &Ctx) -> Result<String, String> {
    ctx.needs(&["simple_send"])?;
    let url = format!("amqp://{USER}:wrong@127.0.0.1:{}/never", port(ctx)?);
    let r = ctx.run(
        args(ctx.muon("simple_send"), &["-a", &url, "-m", "1"])?,
        Duration::from_secs(30),
    );
    if r.timed_out || r.ok() {
        return Err(format!(
            "simple_send did not fail with a wrong password: {}",
            r.describe()
        ));
    }
    let all = split_trace(&r.stderr).1;
    match all
        .lines()
        .find(|l| l.starts_with("simple_send: ") && l.contains("amqp:unauthorized-access"))
    {
        Some(l) => Ok(format!(
            "exit {}: {}",
            r.status.map_or(-1, |s| s.code().unwrap_or(-1)),
            l.trim()
        )),
        None => Err(format!(
            "simple_send did not print amqp:unauthorized-access on stderr: {}",
            r.describe()
        )),
    }
}

/// examples-c's tx_send and tx_recv: 30 messages sent in transactions of 7
/// (the last of 2), 25 received and acknowledged in transactions of 5, then
/// simple_recv gets exactly the 5 not acknowledged: the committed
/// acknowledgements took the others off the queue.
fn tx_examples(ctx: &Ctx) -> Result<String, String> {
    ctx.needs(&["tx_send", "tx_recv", "simple_recv"])?;
    let url = format!("{}/{}", hostport(ctx)?, unique(ctx, "txex"));
    let send = ok(
        ctx,
        args(ctx.muon("tx_send"), &["-a", &url, "-m", "30", "7"]),
        LIMIT,
    )?;
    expect_lines("muon tx_send", &send.stdout, "all messages committed\n")?;
    let recv = ok(
        ctx,
        args(ctx.muon("tx_recv"), &["-a", &url, "-m", "25", "5"]),
        LIMIT,
    )?;
    let all = sequence_lines(30);
    let (first, rest) = all.split_at(all.match_indices('\n').nth(24).map_or(0, |(i, _)| i + 1));
    expect_lines("muon tx_recv", &recv.stdout, first)?;
    let tail = ok(
        ctx,
        args(ctx.muon("simple_recv"), &["-a", &url, "-m", "5"]),
        LIMIT,
    )?;
    expect_lines("muon simple_recv", &tail.stdout, rest)?;
    Ok("30 sent in 5 transactions, 25 acknowledged in 5, simple_recv got the other 5".into())
}

/// tests/c/amq_features.c's test `which` (selector, browse, durable,
/// transactions): its
/// "ok" lines are the note.
fn features(ctx: &Ctx, which: &str) -> Result<String, String> {
    let hp = hostport(ctx)?;
    let name = unique(ctx, which);
    let r = ok(
        ctx,
        args(ctx.muon("amq_features"), &[which, &hp, &name]),
        LIMIT,
    )?;
    let oks: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("ok "))
        .collect();
    if oks.is_empty() {
        return Err(format!(
            "amq_features {which} said nothing: {}",
            r.describe()
        ));
    }
    Ok(oks.join("; "))
}

fn amq(
    section: &'static str,
    name: &str,
    f: impl FnOnce(&Ctx) -> Result<String, String> + Send + 'static,
) -> Case {
    case(section, B::ActiveMq.label(), name, move |ctx| {
        with_log(ctx, f(ctx))
    })
}

/// The ActiveMQ cases, or one row saying why they are not run.
pub fn cases() -> Vec<Case> {
    let b = B::ActiveMq;
    if let Err(why) = enabled() {
        return vec![Case {
            section: "4",
            peer: b.label().into(),
            name: "every ActiveMQ case".into(),
            not_applicable: Some(why),
            rabbit: false,
            run: None,
        }];
    }
    let mut v = vec![
        amq(
            "4",
            "muon simple_send → simple_recv (1000), SASL PLAIN",
            move |c| muon_send_recv(c, b, b.url(c, &unique(c, "seq")), 1000),
        ),
        amq("4", "muon helloworld", move |c| muon_helloworld(c, b)),
        amq(
            "4",
            "muon client → server (dynamic reply address)",
            move |c| muon_client_server(c, b, false),
        ),
        amq(
            "4",
            "Proton simple_send.py → muon simple_recv (1000)",
            move |c| proton_to_muon_recv(c, b, 1000),
        ),
        amq(
            "4",
            "muon simple_send → Proton simple_recv.py (1000)",
            move |c| muon_to_proton_recv(c, b, 1000),
        ),
        amq(
            "4",
            "topic://: muon simple_send → 2 × simple_recv (100 each)",
            move |c| topic_two_subscribers(c, 100),
        ),
        amq("5", "types Proton → muon → Proton", move |c| {
            type_fidelity_proton_muon_proton(c, b)
        }),
        amq("5", "types muon → Proton → muon", move |c| {
            type_fidelity_muon_proton_muon(c, b)
        }),
        amq("6", "10 MiB Proton → muon", move |c| {
            big_proton_to_muon(c, b)
        }),
        amq("6", "10 MiB muon → Proton", move |c| {
            big_muon_to_proton(c, b)
        }),
        amq("6", "muon receiver, max-frame-size 512", move |c| {
            small_frames_muon_receiver(c, b)
        }),
        amq("6", "10 links on one connection (muon)", move |c| {
            ten_links(c, b)
        }),
        amq(
            "7",
            "wrong password → amqp:unauthorized-access (C API)",
            wrong_password_api,
        ),
        amq(
            "7",
            "wrong password → simple_send exits non-zero",
            wrong_password_example,
        ),
        amq(
            "8",
            "tx_send (30, by 7) → tx_recv (25, by 5) → simple_recv (the other 5)",
            tx_examples,
        ),
    ];
    for (which, name) in [
        (
            "selector",
            "JMS selector, no-local filter: only matching messages arrive (C API)",
        ),
        (
            "browse",
            "browsing (distribution mode copy): messages stay (C API)",
        ),
        (
            "durable",
            "durable subscription: detach, publish, re-attach (C API)",
        ),
        (
            "transactions",
            "transactions: sends and acknowledgements, committed and rolled back (C API)",
        ),
    ] {
        v.push(amq("8", name, move |c| features(c, which)));
    }
    v
}
