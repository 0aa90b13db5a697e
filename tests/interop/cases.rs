//! The cases of the interop matrix, numbered as in the issue:
//!
//! 1. Proton's programs against muon's broker;
//! 2. muon's programs against Proton's brokers;
//! 3. direct, no broker;
//! 4. RabbitMQ;
//! 5. type fidelity;
//! 6. large and many;
//! 7. failures are clear;
//! 8. link features brokers are used for: selectors, browsing, durable
//!    subscriptions (ActiveMQ).
//!
//! Plus controls, Proton against Proton, so that a muon failure is never a
//! broken peer.

use crate::harness::{Client, Run, describe_command, is_listening, run, split_trace};
use crate::peers::{self, Broker, PYTHON, Rabbit};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "activemq.rs"]
pub mod activemq;
#[path = "rabbit_tls.rs"]
mod rabbit_tls;
#[path = "volume.rs"]
mod volume;

/// Everything the cases share.
/// Built programs by name, or why they could not be built.
pub type Programs = HashMap<&'static str, Result<PathBuf, String>>;

pub struct Env {
    pub dir: PathBuf,
    pub muon: Programs,
    pub proton_c: Programs,
    pub python: Result<(), String>,
    pub expected: Result<Vec<String>, String>,
    pub muon_broker: Broker,
    pub proton_c_broker: Broker,
    pub broker_py: Broker,
    pub rabbit: Rabbit,
    pub activemq: activemq::Node,
}

/// What a case found.
pub enum Outcome {
    Pass(String),
    Fail(String),
    /// The peer lacks the feature; said so in the matrix, with the reason.
    NotApplicable(String),
}

type CaseFn = Box<dyn FnOnce(&Ctx) -> Result<String, String> + Send>;

pub struct Case {
    pub section: &'static str,
    pub peer: String,
    pub name: String,
    pub not_applicable: Option<String>,
    pub rabbit: bool,
    pub run: Option<CaseFn>,
}

/// A case's view of the world: the shared environment and a scratch
/// directory of its own.
pub struct Ctx {
    pub env: Arc<Env>,
    pub dir: PathBuf,
    counter: std::cell::Cell<u32>,
}

impl Ctx {
    pub fn new(env: Arc<Env>, dir: PathBuf) -> Ctx {
        Ctx {
            env,
            dir,
            counter: std::cell::Cell::new(0),
        }
    }

    fn tag(&self, what: &str) -> String {
        let n = self.counter.get() + 1;
        self.counter.set(n);
        let clean: String = what
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .take(30)
            .collect();
        format!("{n:02}-{clean}")
    }

    /// Runs `cmd` to completion within `limit`.
    fn run(&self, cmd: Command, limit: Duration) -> Run {
        let tag = self.tag(&describe_command(&cmd));
        run(&self.dir, &tag, cmd, limit)
    }

    /// Starts `cmd` in the background.
    fn start(&self, cmd: Command) -> Result<Client, String> {
        let tag = self.tag(&describe_command(&cmd));
        Client::start(&self.dir, &tag, cmd)
    }

    /// A muon program (an example, or "types").
    /// muon's programs run with the frame trace on (`MUON_TRACE=frm`, to
    /// stderr), so a failure shows the last frames; `MUON_INTEROP_TRACE=0`
    /// turns it off.
    fn muon(&self, name: &str) -> Result<Command, String> {
        match self.env.muon.get(name) {
            Some(Ok(p)) => {
                let mut c = Command::new(p);
                if std::env::var("MUON_INTEROP_TRACE").map_or(true, |v| v != "0") {
                    c.env("MUON_TRACE", "frm");
                }
                Ok(c)
            }
            Some(Err(e)) => Err(format!("muon's {name} is not available: {e}")),
            None => Err(format!("muon's {name} is not built by the suite")),
        }
    }

    /// A muon C++ example (examples-cpp/), compiled by the first case that
    /// needs it, with the frame trace on as for `muon`.
    fn muon_cpp(&self, name: &str) -> Result<Command, String> {
        static BUILT: std::sync::OnceLock<
            std::sync::Mutex<HashMap<String, Result<PathBuf, String>>>,
        > = std::sync::OnceLock::new();
        let mut built = BUILT
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let exe = built
            .entry(name.to_string())
            .or_insert_with(|| {
                let dir = self.env.dir.join("bin").join("cpp");
                std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                peers::compile_muon_cpp(name, &dir.join(name))
            })
            .clone()
            .map_err(|e| format!("muon's C++ {name} is not available: {e}"))?;
        let mut c = Command::new(exe);
        if std::env::var("MUON_INTEROP_TRACE").map_or(true, |v| v != "0") {
            c.env("MUON_TRACE", "frm");
        }
        Ok(c)
    }

    /// A muon program without the frame trace, for runs of many messages
    /// (the trace of 200,000 would be hundreds of MB).
    fn muon_quiet(&self, name: &str) -> Result<Command, String> {
        let mut c = self.muon(name)?;
        c.env_remove("MUON_TRACE");
        Ok(c)
    }

    /// Fails at once, before any peer is started, when a muon program the
    /// case needs is not available.
    fn needs(&self, names: &[&str]) -> Result<(), String> {
        for n in names {
            self.muon(n)?;
        }
        Ok(())
    }

    fn proton_c(&self, name: &str) -> Result<Command, String> {
        match self.env.proton_c.get(name) {
            Some(Ok(p)) => Ok(Command::new(p)),
            Some(Err(e)) => Err(format!("Proton's C {name} is not available: {e}")),
            None => Err(format!("Proton's C {name} is not built by the suite")),
        }
    }

    /// A Proton Python program: one of the installed examples, or a path.
    fn py(&self, script: &Path) -> Result<Command, String> {
        self.env.python.clone()?;
        let mut c = Command::new(PYTHON);
        c.arg("-u").arg(script);
        Ok(c)
    }

    fn peer_py(&self) -> Result<Command, String> {
        self.py(&peers::interop_dir().join("types_peer.py"))
    }
}

const LIMIT: Duration = Duration::from_secs(60);
const BIG_LIMIT: Duration = Duration::from_secs(120);

fn args(cmd: Result<Command, String>, a: &[&str]) -> Result<Command, String> {
    let mut c = cmd?;
    c.args(a);
    Ok(c)
}

// ------------------------------------------------------------- checking

/// `{'sequence': 1}` ... `{'sequence': n}`, one per line: what Proton's
/// simple_recv.py prints for simple_send.py's messages (and what muon's
/// simple_recv prints too).
fn sequence_lines(n: usize) -> String {
    (1..=n).map(|i| format!("{{'sequence': {i}}}\n")).collect()
}

/// Checks that `out` has exactly the lines `want`, saying where not.
fn expect_lines(what: &str, out: &str, want: &str) -> Result<(), String> {
    if out == want {
        return Ok(());
    }
    let got: Vec<&str> = out.lines().collect();
    let exp: Vec<&str> = want.lines().collect();
    let i = got
        .iter()
        .zip(&exp)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(exp.len()));
    Err(format!(
        "{what}: {} lines instead of {}; first difference at line {}: got {:?}, expected {:?}",
        got.len(),
        exp.len(),
        i + 1,
        got.get(i).copied().unwrap_or("(end of output)"),
        exp.get(i).copied().unwrap_or("(end of output)")
    ))
}

/// Runs `cmd` and requires exit status 0.
fn ok(ctx: &Ctx, cmd: Result<Command, String>, limit: Duration) -> Result<Run, String> {
    ctx.run(cmd?, limit).require_ok()
}

/// Waits for a background peer: fully if the other side of the case
/// succeeded, briefly (then killed) if it failed, so a failure does not
/// wait out the time limit.
fn finish<T>(peer: Client, other: &Result<T, String>, limit: Duration) -> Run {
    peer.finish(if other.is_ok() {
        limit.min(AFTER)
    } else {
        Duration::from_secs(3)
    })
}

/// How long a peer may take to finish once the other side is done.
const AFTER: Duration = Duration::from_secs(30);

/// Starts a listening program and waits until `port` listens.
fn start_listening(ctx: &Ctx, cmd: Result<Command, String>, port: u16) -> Result<Client, String> {
    let mut c = ctx.start(cmd?)?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !is_listening(port) {
        if !c.running() {
            return Err(format!(
                "the listener exited early: {}",
                c.kill().describe()
            ));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "nothing listens on {port}: {}",
                c.kill().describe()
            ));
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    Ok(c)
}

/// Starts a program that listens (a "server" of a case, not of the suite)
/// on a port chosen for it.
fn listening_peer(
    ctx: &Ctx,
    build: impl FnOnce(u16) -> Result<Command, String>,
) -> Result<(Client, u16), String> {
    let port = crate::harness::free_port();
    let c = start_listening(ctx, build(port), port)?;
    Ok((c, port))
}

/// The lines after `prefix` in `out` ("sent " / "got ").
fn canonical(out: &str, prefix: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .map(str::to_string)
        .collect()
}

/// Compares a canonical dump with the expected message, naming the first
/// field that differs.
fn same_as_expected(ctx: &Ctx, who: &str, got: &[String]) -> Result<(), String> {
    let want = ctx.env.expected.clone()?;
    if got == want.as_slice() {
        return Ok(());
    }
    let i = got
        .iter()
        .zip(&want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    Err(format!(
        "{who}: {} fields instead of {}; first difference at field {}:\n    got:      {}\n    expected: {}",
        got.len(),
        want.len(),
        i + 1,
        got.get(i).map_or("(none)", |s| s.as_str()),
        want.get(i).map_or("(none)", |s| s.as_str())
    ))
}

fn unique(ctx: &Ctx, base: &str) -> String {
    let n = ctx
        .dir
        .file_name()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    format!("{base}-{n}")
}

// --------------------------------------------------------------- brokers

/// Where a case's broker is: host:port, and how addresses are written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum B {
    Muon,
    ProtonC,
    ProtonPy,
    Rabbit,
    ActiveMq,
}

impl B {
    pub fn label(self) -> &'static str {
        match self {
            B::Muon => "muon broker",
            B::ProtonC => "Proton C broker",
            B::ProtonPy => "Proton broker.py",
            B::Rabbit => "RabbitMQ",
            B::ActiveMq => "ActiveMQ",
        }
    }

    fn port(self, ctx: &Ctx) -> Result<u16, String> {
        match self {
            B::Muon => ctx.env.muon_broker.port(),
            B::ProtonC => ctx.env.proton_c_broker.port(),
            B::ProtonPy => ctx.env.broker_py.port(),
            B::Rabbit => ctx.env.rabbit.wait(Duration::from_secs(150)),
            B::ActiveMq => activemq::port(ctx),
        }
    }

    /// `host:port`, with guest:guest for RabbitMQ and ActiveMQ's user
    /// (SASL PLAIN).
    fn hostport(self, ctx: &Ctx) -> Result<String, String> {
        if self == B::ActiveMq {
            return activemq::hostport(ctx);
        }
        let p = self.port(ctx)?;
        Ok(match self {
            B::Rabbit => format!("amqp://guest:guest@127.0.0.1:{p}"),
            _ => format!("127.0.0.1:{p}"),
        })
    }

    /// An address on this broker: RabbitMQ's queue form `/queue/NAME`.
    fn address(self, name: &str) -> String {
        match self {
            B::Rabbit => format!("/queue/{name}"),
            _ => name.to_string(),
        }
    }

    /// A URL with the address in its path (`//queue/NAME` for RabbitMQ:
    /// the first `/` ends the host part).
    fn url(self, ctx: &Ctx, name: &str) -> Result<String, String> {
        Ok(format!("{}/{}", self.hostport(ctx)?, self.address(name)))
    }

    fn health(self, ctx: &Ctx) -> Result<(), String> {
        match self {
            B::Muon => ctx.env.muon_broker.health(),
            B::ProtonC => ctx.env.proton_c_broker.health(),
            B::ProtonPy => ctx.env.broker_py.health(),
            B::Rabbit | B::ActiveMq => Ok(()),
        }
    }
}

/// Adds the broker's state to a failure.
fn with_broker(ctx: &Ctx, b: B, r: Result<String, String>) -> Result<String, String> {
    r.map_err(|e| match b.health(ctx) {
        Ok(()) => e,
        Err(h) => format!("{e}\n  and the broker died: {h}"),
    })
}

// ------------------------------------------------ §1 Proton vs muon broker

fn proton_helloworld(ctx: &Ctx, b: B) -> Result<String, String> {
    let port = b.port(ctx)?;
    let addr = unique(ctx, "hello");
    let script = peers::adapt_python(
        "helloworld.py",
        &ctx.dir,
        "HelloWorld(\"localhost:5672\", \"examples\")",
        &format!("HelloWorld(\"127.0.0.1:{port}\", \"{addr}\")"),
    )?;
    let r = ok(ctx, ctx.py(&script), LIMIT)?;
    expect_lines("helloworld.py", &r.stdout, "Hello World!\n")?;
    Ok("Hello World!".into())
}

fn proton_send_recv(ctx: &Ctx, b: B, n: usize) -> Result<String, String> {
    let url = b.url(ctx, &unique(ctx, "seq"))?;
    let m = n.to_string();
    let recv = ctx.start(args(
        ctx.py(&peers::proton_py("simple_recv.py")),
        &["-a", &url, "-m", &m],
    )?)?;
    let send = ok(
        ctx,
        args(
            ctx.py(&peers::proton_py("simple_send.py")),
            &["-a", &url, "-m", &m],
        ),
        LIMIT,
    )?;
    expect_lines("simple_send.py", &send.stdout, "all messages confirmed\n")?;
    let recv = recv.finish(LIMIT).require_ok()?;
    expect_lines("simple_recv.py", &recv.stdout, &sequence_lines(n))?;
    Ok(format!("{n} messages in order"))
}

const REQUESTS: [&str; 4] = [
    "Twas brillig, and the slithy toves",
    "Did gire and gymble in the wabe.",
    "All mimsy were the borogroves,",
    "And the mome raths outgrabe.",
];

fn responses() -> String {
    REQUESTS
        .iter()
        .map(|r| format!("{r} => {}\n", r.to_uppercase()))
        .collect()
}

/// A server (started by `server`) and a client (`client`) through a broker.
fn request_response(
    ctx: &Ctx,
    server: Result<Command, String>,
    client: Result<Command, String>,
    client_name: &str,
) -> Result<String, String> {
    let srv = ctx.start(server?)?;
    // The broker queues requests until the server's receiver attaches.
    let r = ctx.run(client?, LIMIT);
    let srv = srv.kill();
    if r.stderr.contains("usage:") && r.what.contains(" -r ") {
        return Err(format!(
            "muon's client has no -r option for a fixed reply address yet: {}",
            r.describe()
        ));
    }
    let r = r
        .require_ok()
        .map_err(|e| format!("{e}\n  server: {}", srv.describe()))?;
    expect_lines(client_name, &r.stdout, &responses())?;
    Ok("four upper-cased lines".into())
}

fn proton_client_server(ctx: &Ctx, b: B) -> Result<String, String> {
    let url = b.url(ctx, &unique(ctx, "requests"))?;
    request_response(
        ctx,
        args(ctx.py(&peers::proton_py("server.py")), &["-a", &url]),
        args(ctx.py(&peers::proton_py("client.py")), &["-a", &url]),
        "client.py",
    )
}

fn proton_to_muon_recv(ctx: &Ctx, b: B, n: usize) -> Result<String, String> {
    ctx.needs(&["simple_recv"])?;
    let url = b.url(ctx, &unique(ctx, "p2m"))?;
    let m = n.to_string();
    let recv = ctx.start(args(ctx.muon("simple_recv"), &["-a", &url, "-m", &m])?)?;
    let send = ok(
        ctx,
        args(
            ctx.py(&peers::proton_py("simple_send.py")),
            &["-a", &url, "-m", &m],
        ),
        LIMIT,
    );
    let recv = finish(recv, &send, LIMIT);
    let send = send?;
    expect_lines("simple_send.py", &send.stdout, "all messages confirmed\n")?;
    let recv = recv.require_ok()?;
    expect_lines("muon simple_recv", &recv.stdout, &sequence_lines(n))?;
    Ok(format!("{n} messages in order"))
}

fn muon_to_proton_recv(ctx: &Ctx, b: B, n: usize) -> Result<String, String> {
    ctx.needs(&["simple_send"])?;
    let url = b.url(ctx, &unique(ctx, "m2p"))?;
    let m = n.to_string();
    let recv = ctx.start(args(
        ctx.py(&peers::proton_py("simple_recv.py")),
        &["-a", &url, "-m", &m],
    )?)?;
    let send = ok(
        ctx,
        args(ctx.muon("simple_send"), &["-a", &url, "-m", &m]),
        LIMIT,
    );
    let recv = finish(recv, &send, LIMIT);
    let send = send?;
    expect_lines("muon simple_send", &send.stdout, "all messages confirmed\n")?;
    let recv = recv.require_ok()?;
    expect_lines("simple_recv.py", &recv.stdout, &sequence_lines(n))?;
    Ok(format!("{n} messages in order"))
}

/// Proton's C send.c / receive.c (the proactor API) through a broker.
fn proton_c_send_receive(ctx: &Ctx, b: B, n: usize) -> Result<String, String> {
    let port = b.port(ctx)?.to_string();
    let addr = unique(ctx, "csr");
    let m = n.to_string();
    let recv = ctx.start(args(
        ctx.proton_c("receive"),
        &["127.0.0.1", &port, &addr, &m],
    )?)?;
    let send = ok(
        ctx,
        args(ctx.proton_c("send"), &["127.0.0.1", &port, &addr, &m]),
        LIMIT,
    );
    let recv = finish(recv, &send, LIMIT);
    let send = send?;
    let recv = recv.require_ok()?;
    let want_send = format!("{n} messages sent and acknowledged\n");
    expect_lines("send.c", &send.stdout, &want_send)?;
    if !recv.stdout.ends_with(&format!("{n} messages received\n")) {
        return Err(format!(
            "receive.c did not report {n} messages: {}",
            recv.describe()
        ));
    }
    Ok(format!("{n} messages"))
}

// ---------------------------------------- §2 muon programs, Proton brokers

fn muon_helloworld(ctx: &Ctx, b: B) -> Result<String, String> {
    ctx.needs(&["helloworld"])?;
    let url = b.url(ctx, &unique(ctx, "hello"))?;
    let r = ok(ctx, args(ctx.muon("helloworld"), &["-a", &url]), LIMIT)?;
    expect_lines("muon helloworld", &r.stdout, "Hello World!\n")?;
    Ok("Hello World!".into())
}

fn muon_send_recv(
    ctx: &Ctx,
    b: B,
    url: Result<String, String>,
    n: usize,
) -> Result<String, String> {
    ctx.needs(&["simple_send", "simple_recv"])?;
    let _ = b;
    let url = url?;
    let m = n.to_string();
    let recv = ctx.start(args(ctx.muon("simple_recv"), &["-a", &url, "-m", &m])?)?;
    let send = ok(
        ctx,
        args(ctx.muon("simple_send"), &["-a", &url, "-m", &m]),
        LIMIT,
    );
    let recv = finish(recv, &send, LIMIT);
    let send = send?;
    expect_lines("muon simple_send", &send.stdout, "all messages confirmed\n")?;
    let recv = recv.require_ok()?;
    expect_lines("muon simple_recv", &recv.stdout, &sequence_lines(n))?;
    Ok(format!("{n} messages in order"))
}

fn muon_client_server(ctx: &Ctx, b: B, fixed_reply: bool) -> Result<String, String> {
    ctx.needs(&["server", "client"])?;
    let name = unique(ctx, "requests");
    let url = b.url(ctx, &name)?;
    let mut client_args = vec!["-a".to_string(), url.clone()];
    if fixed_reply {
        client_args.push("-r".into());
        client_args.push(b.address(&unique(ctx, "replies")));
    }
    let ca: Vec<&str> = client_args.iter().map(String::as_str).collect();
    request_response(
        ctx,
        args(ctx.muon("server"), &["-a", &url]),
        args(ctx.muon("client"), &ca),
        "muon client",
    )
}

// --------------------------------------------------------- §3 direct

fn muon_send_direct_recv(ctx: &Ctx, n: usize) -> Result<String, String> {
    ctx.needs(&["simple_send"])?;
    let m = n.to_string();
    let (recv, port) = listening_peer(ctx, |p| {
        args(
            ctx.py(&peers::proton_py("direct_recv.py")),
            &["-a", &format!("127.0.0.1:{p}/examples"), "-m", &m],
        )
    })?;
    let url = format!("127.0.0.1:{port}/examples");
    let send = ok(
        ctx,
        args(ctx.muon("simple_send"), &["-a", &url, "-m", &m]),
        LIMIT,
    );
    let recv = finish(recv, &send, LIMIT);
    let send = send?;
    expect_lines("muon simple_send", &send.stdout, "all messages confirmed\n")?;
    let recv = recv.require_ok()?;
    expect_lines("direct_recv.py", &recv.stdout, &sequence_lines(n))?;
    Ok(format!("{n} messages in order"))
}

fn direct_send_muon_recv(ctx: &Ctx, n: usize) -> Result<String, String> {
    ctx.needs(&["simple_recv"])?;
    let m = n.to_string();
    let (send, port) = listening_peer(ctx, |p| {
        args(
            ctx.py(&peers::proton_py("direct_send.py")),
            &["-a", &format!("127.0.0.1:{p}/examples"), "-m", &m],
        )
    })?;
    let url = format!("127.0.0.1:{port}/examples");
    let recv = ok(
        ctx,
        args(ctx.muon("simple_recv"), &["-a", &url, "-m", &m]),
        LIMIT,
    );
    let send = finish(send, &recv, LIMIT);
    let recv = recv?;
    expect_lines("muon simple_recv", &recv.stdout, &sequence_lines(n))?;
    let send = send
        .require_ok()
        .map_err(|e| format!("{e}\n  muon's side: {}", recv.describe()))?;
    expect_lines("direct_send.py", &send.stdout, "all messages confirmed\n")?;
    Ok(format!("{n} messages in order"))
}

fn muon_client_server_direct(ctx: &Ctx) -> Result<String, String> {
    ctx.needs(&["client"])?;
    let port = crate::harness::free_port();
    let script = peers::adapt_python(
        "server_direct.py",
        &ctx.dir,
        "Server(\"0.0.0.0:8888\")",
        &format!("Server(\"127.0.0.1:{port}\")"),
    )?;
    let srv = start_listening(ctx, ctx.py(&script), port)?;
    let url = format!("127.0.0.1:{port}/examples");
    let r = ctx.run(args(ctx.muon("client"), &["-a", &url])?, LIMIT);
    let srv = srv.kill();
    let r = r
        .require_ok()
        .map_err(|e| format!("{e}\n  server_direct.py: {}", srv.describe()))?;
    expect_lines("muon client", &r.stdout, &responses())?;
    Ok("four upper-cased lines, dynamic reply address".into())
}

/// muon's listener (helloworld_direct, which also sends itself its hello)
/// reached by Proton's sender.
fn proton_send_muon_listener(ctx: &Ctx) -> Result<String, String> {
    ctx.needs(&["helloworld_direct"])?;
    let port = crate::harness::free_port();
    let url = format!("127.0.0.1:{port}/examples");
    // Proton's sender first: it retries until the listener is there
    // (Proton's container reconnects by default).
    let send = ctx.start(args(
        ctx.py(&peers::proton_py("simple_send.py")),
        &["-a", &url, "-m", "1"],
    )?)?;
    let hello = ctx.run(
        args(ctx.muon("helloworld_direct"), &["-a", &url, "-m", "2"])?,
        LIMIT,
    );
    let send = send.finish(Duration::from_secs(20));
    let hello = hello.require_ok()?;
    let send = send.require_ok().map_err(|e| {
        if hello.stdout == "Hello World!\n" {
            format!(
                "helloworld_direct closed its listener after its own hello, before Proton's \
                 sender got in (it needs `-m COUNT`: keep listening until COUNT messages \
                 arrived)\n  {e}"
            )
        } else {
            e
        }
    })?;
    expect_lines("simple_send.py", &send.stdout, "all messages confirmed\n")?;
    let mut lines: Vec<&str> = hello.stdout.lines().collect();
    lines.sort_unstable();
    if lines != ["Hello World!", "{'sequence': 1}"] {
        return Err(format!(
            "helloworld_direct printed {:?}; expected its own \"Hello World!\" and Proton's {{'sequence': 1}}",
            hello.stdout
        ));
    }
    Ok("Proton's message and muon's own hello, both received".into())
}

/// Proton's C direct.c as the listening counterpart.
fn muon_send_c_direct(ctx: &Ctx, n: usize) -> Result<String, String> {
    ctx.needs(&["simple_send"])?;
    let m = n.to_string();
    let (recv, port) = listening_peer(ctx, |p| {
        args(
            ctx.proton_c("direct"),
            &["127.0.0.1", &p.to_string(), "examples", &m],
        )
    })?;
    let url = format!("127.0.0.1:{port}/examples");
    let send = ok(
        ctx,
        args(ctx.muon("simple_send"), &["-a", &url, "-m", &m]),
        LIMIT,
    );
    let recv = finish(recv, &send, LIMIT);
    let send = send?;
    expect_lines("muon simple_send", &send.stdout, "all messages confirmed\n")?;
    let recv = recv.require_ok()?;
    if !recv.stdout.contains(&format!("{n} messages received")) {
        return Err(format!(
            "direct.c did not report {n} messages: {}",
            recv.describe()
        ));
    }
    Ok(format!("{n} messages"))
}

// ------------------------------------------------------------ §5 types

fn type_fidelity_proton_muon_proton(ctx: &Ctx, b: B) -> Result<String, String> {
    let hp = b.hostport(ctx)?;
    let a = b.address(&unique(ctx, "types-a"));
    let z = b.address(&unique(ctx, "types-b"));
    let send = ok(
        ctx,
        args(ctx.peer_py(), &["send", "--connect", &hp, "--address", &a]),
        LIMIT,
    )?;
    same_as_expected(ctx, "Proton sent", &canonical(&send.stdout, "sent "))?;
    let echo = ok(
        ctx,
        args(
            ctx.muon("types"),
            &[
                "echo",
                "--connect",
                &hp,
                "--address",
                &a,
                "--reply-address",
                &z,
            ],
        ),
        LIMIT,
    )?;
    same_as_expected(ctx, "muon decoded", &canonical(&echo.stdout, "got "))?;
    let recv = ok(
        ctx,
        args(ctx.peer_py(), &["recv", "--connect", &hp, "--address", &z]),
        LIMIT,
    )?;
    same_as_expected(
        ctx,
        "Proton decoded muon's re-encoding",
        &canonical(&recv.stdout, "got "),
    )?;
    Ok(format!(
        "{} fields identical at each hop",
        canonical(&recv.stdout, "got ").len()
    ))
}

fn type_fidelity_muon_proton_muon(ctx: &Ctx, b: B) -> Result<String, String> {
    let hp = b.hostport(ctx)?;
    let a = b.address(&unique(ctx, "types-c"));
    let z = b.address(&unique(ctx, "types-d"));
    let send = ok(
        ctx,
        args(
            ctx.muon("types"),
            &["send", "--connect", &hp, "--address", &a],
        ),
        LIMIT,
    )?;
    same_as_expected(ctx, "muon sent", &canonical(&send.stdout, "sent "))?;
    let echo = ok(
        ctx,
        args(
            ctx.peer_py(),
            &[
                "echo",
                "--connect",
                &hp,
                "--address",
                &a,
                "--reply-address",
                &z,
            ],
        ),
        LIMIT,
    )?;
    same_as_expected(ctx, "Proton decoded", &canonical(&echo.stdout, "got "))?;
    let recv = ok(
        ctx,
        args(
            ctx.muon("types"),
            &["recv", "--connect", &hp, "--address", &z],
        ),
        LIMIT,
    )?;
    same_as_expected(
        ctx,
        "muon decoded Proton's re-encoding",
        &canonical(&recv.stdout, "got "),
    )?;
    Ok(format!(
        "{} fields identical at each hop",
        canonical(&recv.stdout, "got ").len()
    ))
}

fn expected_matches(ctx: &Ctx) -> Result<String, String> {
    let py = ok(ctx, args(ctx.peer_py(), &["expected"]), LIMIT)?;
    same_as_expected(ctx, "types_peer.py expected", &canonical_all(&py.stdout))?;
    let c = ok(ctx, args(ctx.muon("types"), &["expected"]), LIMIT)?;
    same_as_expected(ctx, "types.c expected", &canonical_all(&c.stdout))?;
    Ok(format!(
        "Python and C build the same {}-field message",
        canonical_all(&c.stdout).len()
    ))
}

fn canonical_all(out: &str) -> Vec<String> {
    out.lines().map(str::to_string).collect()
}

// -------------------------------------------------------- §6 large, many

const BIG: usize = 10 * 1024 * 1024;

fn big_proton_to_muon(ctx: &Ctx, b: B) -> Result<String, String> {
    let hp = b.hostport(ctx)?;
    let a = b.address(&unique(ctx, "big-pm"));
    let size = BIG.to_string();
    let recv = ctx.start(args(
        ctx.muon("types"),
        &[
            "recv",
            "--connect",
            &hp,
            "--address",
            &a,
            "--kind",
            "big",
            "--size",
            &size,
        ],
    )?)?;
    let send = ok(
        ctx,
        args(
            ctx.peer_py(),
            &[
                "send",
                "--connect",
                &hp,
                "--address",
                &a,
                "--kind",
                "big",
                "--size",
                &size,
            ],
        ),
        BIG_LIMIT,
    );
    let recv = finish(recv, &send, BIG_LIMIT);
    send?;
    let recv = recv.require_ok()?;
    if !recv
        .stdout
        .contains(&format!("got big message of {BIG} bytes, intact"))
    {
        return Err(format!(
            "muon did not report the message intact: {}",
            recv.describe()
        ));
    }
    Ok("10 MiB intact".into())
}

fn big_muon_to_proton(ctx: &Ctx, b: B) -> Result<String, String> {
    let hp = b.hostport(ctx)?;
    let a = b.address(&unique(ctx, "big-mp"));
    let size = BIG.to_string();
    let recv = ctx.start(args(
        ctx.peer_py(),
        &[
            "recv",
            "--connect",
            &hp,
            "--address",
            &a,
            "--kind",
            "big",
            "--size",
            &size,
        ],
    )?)?;
    let send = ok(
        ctx,
        args(
            ctx.muon("types"),
            &[
                "send",
                "--connect",
                &hp,
                "--address",
                &a,
                "--kind",
                "big",
                "--size",
                &size,
            ],
        ),
        BIG_LIMIT,
    );
    let recv = finish(recv, &send, BIG_LIMIT);
    send?;
    let recv = recv.require_ok()?;
    if !recv
        .stdout
        .contains(&format!("got big message of {BIG} bytes, intact"))
    {
        return Err(format!(
            "Proton did not report the message intact: {}",
            recv.describe()
        ));
    }
    Ok("10 MiB intact".into())
}

/// A muon receiver asking for max-frame-size 512 gets Proton's types
/// message through the broker, split by the broker into 512-byte frames.
fn small_frames_muon_receiver(ctx: &Ctx, b: B) -> Result<String, String> {
    let hp = b.hostport(ctx)?;
    let a = b.address(&unique(ctx, "frames"));
    if b == B::Rabbit {
        // RabbitMQ 3.10 cannot parse the types message (see the n/a row);
        // 100 kB of data in 512-byte frames instead.
        let size = "100000";
        ok(
            ctx,
            args(
                ctx.peer_py(),
                &[
                    "send",
                    "--connect",
                    &hp,
                    "--address",
                    &a,
                    "--kind",
                    "big",
                    "--size",
                    size,
                ],
            ),
            LIMIT,
        )?;
        let recv = ok(
            ctx,
            args(
                ctx.muon("types"),
                &[
                    "recv",
                    "--connect",
                    &hp,
                    "--address",
                    &a,
                    "--kind",
                    "big",
                    "--size",
                    size,
                    "--max-frame",
                    "512",
                ],
            ),
            LIMIT,
        )?;
        if !recv.stdout.contains("intact") {
            return Err(format!(
                "muon did not report the message intact: {}",
                recv.describe()
            ));
        }
        return Ok("100 kB intact in 512-byte frames".into());
    }
    ok(
        ctx,
        args(ctx.peer_py(), &["send", "--connect", &hp, "--address", &a]),
        LIMIT,
    )?;
    let recv = ok(
        ctx,
        args(
            ctx.muon("types"),
            &[
                "recv",
                "--connect",
                &hp,
                "--address",
                &a,
                "--max-frame",
                "512",
            ],
        ),
        LIMIT,
    )?;
    same_as_expected(
        ctx,
        "muon decoded (512-byte frames)",
        &canonical(&recv.stdout, "got "),
    )?;
    Ok("types message intact in 512-byte frames".into())
}

/// A Proton receiver asking for 512 gets muon's message from the broker.
fn small_frames_proton_receiver(ctx: &Ctx, b: B) -> Result<String, String> {
    let hp = b.hostport(ctx)?;
    let a = b.address(&unique(ctx, "frames-p"));
    ok(
        ctx,
        args(
            ctx.muon("types"),
            &["send", "--connect", &hp, "--address", &a],
        ),
        LIMIT,
    )?;
    let recv = ok(
        ctx,
        args(
            ctx.peer_py(),
            &[
                "recv",
                "--connect",
                &hp,
                "--address",
                &a,
                "--max-frame",
                "512",
            ],
        ),
        LIMIT,
    )?;
    same_as_expected(
        ctx,
        "Proton decoded (512-byte frames)",
        &canonical(&recv.stdout, "got "),
    )?;
    Ok("types message intact in 512-byte frames".into())
}

/// Direct: Proton listens asking for 512-byte frames; muon's sender must
/// split its transfer.
fn small_frames_direct_muon_sender(ctx: &Ctx) -> Result<String, String> {
    let (recv, port) = listening_peer(ctx, |p| {
        args(
            ctx.peer_py(),
            &[
                "recv",
                "--listen",
                &format!("127.0.0.1:{p}"),
                "--max-frame",
                "512",
            ],
        )
    })?;
    let send = ok(
        ctx,
        args(
            ctx.muon("types"),
            &[
                "send",
                "--connect",
                &format!("127.0.0.1:{port}"),
                "--address",
                "frames",
            ],
        ),
        LIMIT,
    );
    let recv = finish(recv, &send, LIMIT);
    send?;
    let recv = recv.require_ok()?;
    same_as_expected(
        ctx,
        "Proton decoded muon's 512-byte frames",
        &canonical(&recv.stdout, "got "),
    )?;
    Ok("muon split its transfer into 512-byte frames".into())
}

/// Direct: muon connects asking for 512-byte frames to a listening Proton
/// sender.
fn small_frames_direct_muon_receiver(ctx: &Ctx) -> Result<String, String> {
    let (send, port) = listening_peer(ctx, |p| {
        args(
            ctx.peer_py(),
            &["send", "--listen", &format!("127.0.0.1:{p}")],
        )
    })?;
    let recv = ok(
        ctx,
        args(
            ctx.muon("types"),
            &[
                "recv",
                "--connect",
                &format!("127.0.0.1:{port}"),
                "--address",
                "frames",
                "--max-frame",
                "512",
            ],
        ),
        LIMIT,
    );
    let send = finish(send, &recv, LIMIT);
    let recv = recv?;
    send.require_ok()
        .map_err(|e| format!("{e}\n  muon's side: {}", recv.describe()))?;
    same_as_expected(
        ctx,
        "muon decoded Proton's 512-byte frames",
        &canonical(&recv.stdout, "got "),
    )?;
    Ok("Proton's transfer reassembled from 512-byte frames".into())
}

/// Ten senders on one muon connection, ten receivers on another.
fn ten_links(ctx: &Ctx, b: B) -> Result<String, String> {
    let hp = b.hostport(ctx)?;
    let a = b.address(&unique(ctx, "links"));
    let common = [
        "--connect",
        &hp,
        "--address",
        &a,
        "--kind",
        "seq",
        "--links",
        "10",
        "--count",
        "10",
    ];
    let mut ra = vec!["recv"];
    ra.extend_from_slice(&common);
    let mut sa = vec!["send"];
    sa.extend_from_slice(&common);
    let recv = ctx.start(args(ctx.muon("types"), &ra)?)?;
    let send = ok(ctx, args(ctx.muon("types"), &sa), LIMIT);
    let recv = finish(recv, &send, LIMIT);
    let send = send?;
    let recv = recv.require_ok()?;
    if !send.stdout.contains("ok 100 messages confirmed")
        || !recv.stdout.contains("ok 100 messages received")
    {
        return Err(format!(
            "not all 100 messages moved:\n  {}\n  {}",
            send.describe(),
            recv.describe()
        ));
    }
    Ok("10 senders + 10 receivers, 10 messages each, in order per link".into())
}

/// Ten links from Proton to muon's broker on one connection each way.
fn ten_links_proton(ctx: &Ctx, b: B) -> Result<String, String> {
    let hp = b.hostport(ctx)?;
    let a = b.address(&unique(ctx, "plinks"));
    let common = [
        "--connect",
        &hp,
        "--address",
        &a,
        "--kind",
        "seq",
        "--links",
        "10",
        "--count",
        "10",
    ];
    let mut ra = vec!["recv"];
    ra.extend_from_slice(&common);
    let mut sa = vec!["send"];
    sa.extend_from_slice(&common);
    let recv = ctx.start(args(ctx.peer_py(), &ra)?)?;
    let send = ok(ctx, args(ctx.peer_py(), &sa), LIMIT);
    let recv = finish(recv, &send, LIMIT);
    send?;
    let recv = recv.require_ok()?;
    if !recv.stdout.contains("ok 100 messages received") {
        return Err(format!("not all 100 messages arrived: {}", recv.describe()));
    }
    Ok("Proton: 10 + 10 links on one connection each".into())
}

// ------------------------------------------------------------- §4, §7

fn rabbit_send_recv(ctx: &Ctx, plain: bool) -> Result<String, String> {
    let p = B::Rabbit.port(ctx)?;
    // RabbitMQ's anonymous user may not use plain-* queues (see
    // rabbitmq.conf.in): PLAIN must really be PLAIN.
    let q = unique(ctx, if plain { "plain" } else { "anon" });
    let url = if plain {
        format!("amqp://guest:guest@127.0.0.1:{p}//queue/{q}")
    } else {
        format!("amqp://127.0.0.1:{p}//queue/{q}")
    };
    let r = muon_send_recv(ctx, B::Rabbit, Ok(url), 1000)?;
    Ok(format!(
        "{r}, SASL {}",
        if plain {
            "PLAIN guest:guest"
        } else {
            "ANONYMOUS"
        }
    ))
}

/// The C++ examples (examples-cpp/) against RabbitMQ: helloworld, then
/// simple_send and simple_recv with 1,000 messages, SASL PLAIN from the URL.
fn rabbit_cpp_examples(ctx: &Ctx) -> Result<String, String> {
    let p = B::Rabbit.port(ctx)?;
    let url = |q: &str| format!("amqp://guest:guest@127.0.0.1:{p}//queue/{}", unique(ctx, q));
    let hello = ok(
        ctx,
        args(ctx.muon_cpp("helloworld"), &["-a", &url("cpp-hello")]),
        LIMIT,
    )?;
    expect_lines("muon C++ helloworld", &hello.stdout, "Hello World!\n")?;
    let url = url("cpp-seq");
    let n = 1000;
    let m = n.to_string();
    let recv = ctx.start(args(ctx.muon_cpp("simple_recv"), &["-a", &url, "-m", &m])?)?;
    let send = ok(
        ctx,
        args(ctx.muon_cpp("simple_send"), &["-a", &url, "-m", &m]),
        LIMIT,
    );
    let recv = finish(recv, &send, LIMIT);
    let send = send?;
    expect_lines(
        "muon C++ simple_send",
        &send.stdout,
        "all messages confirmed\n",
    )?;
    let recv = recv.require_ok()?;
    expect_lines("muon C++ simple_recv", &recv.stdout, &sequence_lines(n))?;
    Ok(format!(
        "C++ Hello World!, {n} messages in order, SASL PLAIN"
    ))
}

fn rabbit_wrong_password_api(ctx: &Ctx) -> Result<String, String> {
    let p = B::Rabbit.port(ctx)?;
    wrong_password_condition(
        ctx,
        &format!("amqp://guest:wrong@127.0.0.1:{p}"),
        "/queue/never",
    )
}

/// The `types` program's `fail` mode logging in at `url` (wrong
/// credentials) to attach to `address`: it must fail with
/// `amqp:unauthorized-access`; returns its `condition ...` line.
pub fn wrong_password_condition(ctx: &Ctx, url: &str, address: &str) -> Result<String, String> {
    let r = ctx.run(
        args(
            ctx.muon("types"),
            &[
                "fail",
                "--connect",
                url,
                "--address",
                address,
                "--expect-condition",
                "amqp:unauthorized-access",
            ],
        )?,
        Duration::from_secs(30),
    );
    let cond = r
        .stdout
        .lines()
        .find(|l| l.starts_with("condition "))
        .unwrap_or("")
        .to_string();
    r.require_ok()?;
    Ok(cond)
}

fn rabbit_wrong_password_example(ctx: &Ctx) -> Result<String, String> {
    ctx.needs(&["simple_send"])?;
    let p = B::Rabbit.port(ctx)?;
    let url = format!("amqp://guest:wrong@127.0.0.1:{p}//queue/never");
    let r = ctx.run(
        args(ctx.muon("simple_send"), &["-a", &url, "-m", "1"])?,
        Duration::from_secs(30),
    );
    if r.timed_out {
        return Err(format!("simple_send did not give up: {}", r.describe()));
    }
    if r.ok() {
        return Err(format!(
            "simple_send exited 0 with a wrong password: {}",
            r.describe()
        ));
    }
    let all = split_trace(&r.stderr).1;
    // muon's own refusal to send PLAIN in clear would carry the same
    // condition: the example must have opted in, and RabbitMQ refused.
    if all.contains("allow-insecure-PLAIN") {
        return Err(format!(
            "simple_send never sent the password (PLAIN over cleartext not allowed): {}",
            r.describe()
        ));
    }
    let line = all
        .lines()
        .find(|l| l.starts_with("simple_send: ") && l.contains("amqp:unauthorized-access"));
    match line {
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

/// An address RabbitMQ refuses: a target on an exchange that does not
/// exist. RabbitMQ ends the session with amqp:not-found.
const REFUSED: &str = "/exchange/muon-no-such-exchange/key";

fn rabbit_refused_api(ctx: &Ctx) -> Result<String, String> {
    let hp = B::Rabbit.hostport(ctx)?;
    let r = ctx.run(
        args(
            ctx.muon("types"),
            &[
                "fail",
                "--connect",
                &hp,
                "--address",
                REFUSED,
                "--kind",
                "seq",
                "--expect-condition",
                "amqp:not-found",
            ],
        )?,
        Duration::from_secs(30),
    );
    let cond = r
        .stdout
        .lines()
        .find(|l| l.starts_with("condition "))
        .unwrap_or("")
        .to_string();
    r.require_ok()?;
    Ok(cond)
}

/// A muon example given an address RabbitMQ refuses: it must exit
/// non-zero, soon, with the remote condition on stderr. `args` follow
/// `-a URL`.
fn rabbit_refused_example(ctx: &Ctx, program: &str, args_after: &[&str]) -> Result<String, String> {
    ctx.needs(&[program])?;
    let hp = B::Rabbit.hostport(ctx)?;
    let url = format!("{hp}/{REFUSED}");
    let mut a = vec!["-a", url.as_str()];
    a.extend_from_slice(args_after);
    let r = ctx.run(args(ctx.muon(program), &a)?, Duration::from_secs(30));
    if r.timed_out {
        return Err(format!(
            "{program} hung on a refused address: {}",
            r.describe()
        ));
    }
    if r.ok() {
        return Err(format!(
            "{program} exited 0 on a refused address: {}",
            r.describe()
        ));
    }
    let stderr = split_trace(&r.stderr).1;
    let own = format!("{program}: ");
    match stderr
        .lines()
        .find(|l| l.starts_with(&own) && l.contains("amqp:not-found"))
    {
        Some(l) => Ok(format!(
            "exit {}: {}",
            r.status.map_or(-1, |s| s.code().unwrap_or(-1)),
            l.trim()
        )),
        None => Err(format!(
            "{program} did not print the remote condition amqp:not-found on stderr: {}",
            r.describe()
        )),
    }
}

// --------------------------------------------------------------- the list

fn case(
    section: &'static str,
    peer: &str,
    name: &str,
    f: impl FnOnce(&Ctx) -> Result<String, String> + Send + 'static,
) -> Case {
    let rabbit = peer.starts_with("RabbitMQ");
    Case {
        section,
        peer: peer.to_string(),
        name: name.to_string(),
        not_applicable: None,
        rabbit,
        run: Some(Box::new(move |ctx: &Ctx| {
            let r = f(ctx);
            if rabbit {
                r.map_err(|e| with_rabbit_log(ctx, e))
            } else {
                r
            }
        })),
    }
}

/// Adds what RabbitMQ logged about the case's queues (their names end in
/// the case's number) to a failure.
fn with_rabbit_log(ctx: &Ctx, e: String) -> String {
    let id = unique(ctx, "");
    let lines: Vec<String> = ctx
        .env
        .rabbit
        .log_tail(100_000)
        .lines()
        .filter(|l| l.contains(&format!("{id}'")) || l.contains(&format!("{id}\"")))
        .map(|l| l.chars().take(300).collect())
        .collect();
    if lines.is_empty() {
        e
    } else {
        format!(
            "{e}\n  RabbitMQ logged:\n    {}",
            lines[lines.len().saturating_sub(6)..].join("\n    ")
        )
    }
}

fn on(
    b: B,
    section: &'static str,
    name: &str,
    f: impl FnOnce(&Ctx, B) -> Result<String, String> + Send + 'static,
) -> Case {
    case(section, b.label(), name, move |ctx| {
        with_broker(ctx, b, f(ctx, b))
    })
}

/// Every case, in matrix order.
pub fn all() -> Vec<Case> {
    let mut v = Vec::new();
    // Controls: Proton against its own brokers, so a failure elsewhere is
    // muon's and not a broken peer or machine.
    for b in [B::ProtonC, B::ProtonPy] {
        v.push(on(
            b,
            "control",
            "Proton simple_send.py → simple_recv.py (100)",
            |c, b| proton_send_recv(c, b, 100),
        ));
    }
    v.push(on(
        B::ProtonC,
        "control",
        "types_peer.py → types_peer.py echo → types_peer.py",
        |ctx, b| {
            let hp = b.hostport(ctx)?;
            let (a, z) = (unique(ctx, "ctl-a"), unique(ctx, "ctl-b"));
            ok(
                ctx,
                args(ctx.peer_py(), &["send", "--connect", &hp, "--address", &a]),
                LIMIT,
            )?;
            ok(
                ctx,
                args(
                    ctx.peer_py(),
                    &[
                        "echo",
                        "--connect",
                        &hp,
                        "--address",
                        &a,
                        "--reply-address",
                        &z,
                    ],
                ),
                LIMIT,
            )?;
            let r = ok(
                ctx,
                args(ctx.peer_py(), &["recv", "--connect", &hp, "--address", &z]),
                LIMIT,
            )?;
            same_as_expected(
                ctx,
                "Proton → Proton → Proton",
                &canonical(&r.stdout, "got "),
            )?;
            Ok("Proton round trip intact".into())
        },
    ));
    v.push(case(
        "5",
        "muon + Proton",
        "types.c and types_peer.py build the same message",
        expected_matches,
    ));
    // 6 at volume first: the longest cases, started while the short ones
    // fill the other workers.
    v.extend(volume::cases());

    // 1. Proton's programs against muon's broker.
    let m = B::Muon;
    v.push(on(m, "1", "Proton helloworld.py", proton_helloworld));
    v.push(on(
        m,
        "1",
        "Proton simple_send.py → simple_recv.py (1000)",
        |c, b| proton_send_recv(c, b, 1000),
    ));
    v.push(on(
        m,
        "1",
        "Proton client.py → server.py (dynamic reply, anonymous relay)",
        proton_client_server,
    ));
    v.push(on(
        m,
        "1",
        "Proton simple_send.py → muon simple_recv (1000)",
        |c, b| proton_to_muon_recv(c, b, 1000),
    ));
    v.push(on(
        m,
        "1",
        "muon simple_send → Proton simple_recv.py (1000)",
        |c, b| muon_to_proton_recv(c, b, 1000),
    ));
    v.push(on(m, "1", "Proton C send.c → receive.c (100)", |c, b| {
        proton_c_send_receive(c, b, 100)
    }));

    // 2. muon's programs against Proton's brokers.
    for b in [B::ProtonC, B::ProtonPy] {
        v.push(on(b, "2", "muon helloworld", muon_helloworld));
        v.push(on(
            b,
            "2",
            "muon simple_send → simple_recv (1000)",
            |c, b| {
                let url = b.url(c, &unique(c, "seq"));
                muon_send_recv(c, b, url, 1000)
            },
        ));
        if b == B::ProtonC {
            v.push(Case {
                section: "2",
                peer: b.label().into(),
                name: "muon client → server (dynamic reply address)".into(),
                not_applicable: Some(
                    "Proton's C example broker has no dynamic receivers (it copies the \
                     receiver's null source address); run against broker.py below, and here with \
                     a fixed reply address"
                        .into(),
                ),
                rabbit: false,
                run: None,
            });
            v.push(on(
                b,
                "2",
                "muon client -r fixed reply → server",
                |c, b| muon_client_server(c, b, true),
            ));
        } else {
            v.push(on(
                b,
                "2",
                "muon client → server (dynamic reply address)",
                |c, b| muon_client_server(c, b, false),
            ));
        }
    }
    v.push(on(
        B::ProtonPy,
        "2",
        "muon simple_send → Proton simple_recv.py (1000)",
        |c, b| muon_to_proton_recv(c, b, 1000),
    ));
    v.push(on(
        B::ProtonC,
        "2",
        "Proton simple_send.py → muon simple_recv (1000)",
        |c, b| proton_to_muon_recv(c, b, 1000),
    ));

    // 3. Direct.
    let d = "Proton direct";
    v.push(case(
        "3",
        d,
        "muon simple_send → Proton direct_recv.py (1000)",
        |c| muon_send_direct_recv(c, 1000),
    ));
    v.push(case(
        "3",
        d,
        "Proton direct_send.py → muon simple_recv (1000)",
        |c| direct_send_muon_recv(c, 1000),
    ));
    v.push(case(
        "3",
        d,
        "muon client → Proton server_direct.py",
        muon_client_server_direct,
    ));
    v.push(case(
        "3",
        d,
        "Proton simple_send.py → muon helloworld_direct listener",
        proton_send_muon_listener,
    ));
    v.push(case(
        "3",
        d,
        "muon simple_send → Proton C direct.c (100)",
        |c| muon_send_c_direct(c, 100),
    ));

    // 5. Type fidelity, through brokers that relay bytes (Proton's C
    // broker) and that decode (muon's broker).
    for b in [B::ProtonC, B::Muon] {
        v.push(on(
            b,
            "5",
            "types Proton → muon → Proton",
            type_fidelity_proton_muon_proton,
        ));
        v.push(on(
            b,
            "5",
            "types muon → Proton → muon",
            type_fidelity_muon_proton_muon,
        ));
    }

    // 6. Large and many.
    for b in [B::Muon, B::ProtonC, B::ProtonPy] {
        v.push(on(b, "6", "10 MiB Proton → muon", big_proton_to_muon));
        v.push(on(b, "6", "10 MiB muon → Proton", big_muon_to_proton));
        v.push(on(
            b,
            "6",
            "muon receiver, max-frame-size 512",
            small_frames_muon_receiver,
        ));
        v.push(on(b, "6", "10 links on one connection (muon)", ten_links));
    }
    v.push(on(
        B::Muon,
        "6",
        "Proton receiver, max-frame-size 512",
        small_frames_proton_receiver,
    ));
    v.push(on(
        B::Muon,
        "6",
        "10 links on one connection (Proton)",
        ten_links_proton,
    ));
    v.push(case(
        "6",
        d,
        "muon sender → Proton receiver asking max-frame-size 512",
        small_frames_direct_muon_sender,
    ));
    v.push(case(
        "6",
        d,
        "Proton sender → muon receiver asking max-frame-size 512",
        small_frames_direct_muon_receiver,
    ));

    // ActiveMQ (its broker starts in the background).
    v.extend(activemq::cases());

    // 4. RabbitMQ (last: the node takes a while to boot).
    let r = B::Rabbit;
    v.push(case(
        "4",
        r.label(),
        "muon simple_send → simple_recv (1000), SASL PLAIN from URL",
        |c| rabbit_send_recv(c, true),
    ));
    v.push(case(
        "4",
        r.label(),
        "muon simple_send → simple_recv (1000), SASL ANONYMOUS",
        |c| rabbit_send_recv(c, false),
    ));
    v.push(on(r, "4", "muon helloworld", muon_helloworld));
    v.push(case(
        "4",
        r.label(),
        "muon C++ helloworld, simple_send → simple_recv (1000)",
        rabbit_cpp_examples,
    ));
    v.push(on(
        r,
        "4",
        "muon client -r fixed reply queue → server",
        |c, b| muon_client_server(c, b, true),
    ));
    // 4 over TLS (amqps): PLAIN, EXTERNAL, and the refusals.
    v.extend(rabbit_tls::cases());
    v.push(Case {
        section: "5",
        peer: r.label().into(),
        name: "types message through RabbitMQ".into(),
        not_applicable: Some(
            "RabbitMQ 3.10's AMQP 1.0 parser cannot read an array of double \
             (failed_to_parse_constructor,130 = 0x82) and ends the session; the types \
             cases run through Proton's and muon's brokers"
                .into(),
        ),
        rabbit: true,
        run: None,
    });
    v.push(on(r, "6", "10 MiB Proton → muon", big_proton_to_muon));
    v.push(on(r, "6", "10 MiB muon → Proton", big_muon_to_proton));
    v.push(on(
        r,
        "6",
        "muon receiver, max-frame-size 512",
        small_frames_muon_receiver,
    ));
    v.push(on(r, "6", "10 links on one connection (muon)", ten_links));
    v.push(case(
        "7",
        r.label(),
        "wrong password → amqp:unauthorized-access (C API)",
        rabbit_wrong_password_api,
    ));
    v.push(case(
        "7",
        r.label(),
        "wrong password → simple_send exits non-zero",
        rabbit_wrong_password_example,
    ));
    v.push(case(
        "7",
        r.label(),
        "refused address → remote condition (C API)",
        rabbit_refused_api,
    ));
    // Every example that connects, refused: RabbitMQ ends the session, and
    // each must say why and exit, never hang.
    let refused: [(&'static str, &'static [&'static str]); 5] = [
        ("simple_send", &["-m", "1"]),
        ("simple_recv", &["-m", "1"]),
        ("helloworld", &[]),
        ("server", &[]),
        ("client", &["-r", "/queue/muon-refused-replies"]),
    ];
    for (program, extra) in refused {
        v.push(case(
            "7",
            r.label(),
            &format!("refused address → {program} exits non-zero"),
            move |c| rabbit_refused_example(c, program, extra),
        ));
    }
    v
}
