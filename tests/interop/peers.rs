//! The peers: installing them, building the programs (muon's C examples
//! and tests/interop/types.c; Proton's C examples; adapted copies of the
//! Proton Python examples that have their address written in), and the
//! brokers the cases run through: muon's, Proton's C and Python brokers and
//! a private RabbitMQ node.

use crate::common;
use crate::harness::{Server, free_port, tail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The Debian packages the suite's peers come from.
pub const PACKAGES: &[&str] = &[
    "python3-qpid-proton",
    "libqpid-proton11-dev",
    "libqpid-proton11-dev-examples",
    "rabbitmq-server",
];

/// Debian's Python, which has the `proton` module (a `python3` earlier on
/// PATH, e.g. from pyenv, may not).
pub const PYTHON: &str = "/usr/bin/python3";
/// Where libqpid-proton11-dev-examples puts Proton's examples.
pub const PROTON_EXAMPLES: &str = "/usr/share/proton/examples";
/// RabbitMQ's own scripts (the /usr/sbin wrappers switch to the rabbitmq
/// user and use the system node's directories).
pub const RABBITMQ_BIN: &str = "/usr/lib/rabbitmq/bin";

pub fn interop_dir() -> PathBuf {
    common::manifest_dir().join("tests/interop")
}

fn installed(p: &str) -> bool {
    Command::new("dpkg")
        .args(["-s", p])
        .output()
        .is_ok_and(|o| {
            o.status.success()
                && String::from_utf8_lossy(&o.stdout).contains("Status: install ok installed")
        })
}

pub fn package_version(p: &str) -> String {
    Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}", p])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or_else(
            || "?".into(),
            |o| String::from_utf8_lossy(&o.stdout).into_owned(),
        )
}

/// Installs whatever of `PACKAGES` is missing (tests/interop/install-peers.sh,
/// as root or through password-less sudo; `MUON_INTEROP_NO_INSTALL=1` turns
/// this off). Returns, per package, `Ok` or why it is not there.
pub fn ensure_packages() -> Vec<(&'static str, Result<(), String>)> {
    let missing: Vec<&str> = PACKAGES.iter().copied().filter(|p| !installed(p)).collect();
    let mut install_error = None;
    if !missing.is_empty() {
        if std::env::var_os("MUON_INTEROP_NO_INSTALL").is_some() {
            install_error = Some("MUON_INTEROP_NO_INSTALL is set".to_string());
        } else {
            let out = Command::new(interop_dir().join("install-peers.sh"))
                .args(&missing)
                .output();
            match out {
                Ok(o) if o.status.success() => {}
                Ok(o) => {
                    install_error = Some(format!(
                        "install-peers.sh failed ({}): {}",
                        o.status,
                        tail(&String::from_utf8_lossy(&o.stderr), 5)
                    ))
                }
                Err(e) => install_error = Some(format!("cannot run install-peers.sh: {e}")),
            }
        }
    }
    PACKAGES
        .iter()
        .map(|&p| {
            let r = if installed(p) {
                Ok(())
            } else {
                Err(format!(
                    "Debian package {p} is not installed and could not be installed ({}); \
                     run .ci/run or `apt-get install {p}`",
                    install_error.as_deref().unwrap_or("unknown reason")
                ))
            };
            (p, r)
        })
        .collect()
}

/// Installs Debian's `activemq` when it is missing (only when the
/// ActiveMQ cases run: the package alone has no AMQP transport, see
/// tests/common/activemq.rs); `Err` says why it is not there.
pub fn ensure_activemq() -> Result<(), String> {
    if installed("activemq") {
        return Ok(());
    }
    if std::env::var_os("MUON_INTEROP_NO_INSTALL").is_some() {
        return Err("Debian package activemq is not installed (MUON_INTEROP_NO_INSTALL)".into());
    }
    let mut cmd = Command::new(interop_dir().join("install-peers.sh"));
    cmd.arg("activemq");
    output_of(cmd, "install-peers.sh activemq").map(drop)
}

/// Runs `cmd` and returns its output, or `Err` with what went wrong.
pub fn output_of(mut cmd: Command, what: &str) -> Result<String, String> {
    let o = cmd
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "{what} failed ({}):\n{}{}",
            o.status,
            tail(&String::from_utf8_lossy(&o.stdout), 20),
            tail(&String::from_utf8_lossy(&o.stderr), 20)
        ));
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// Compiles a muon C program (an example or a test program) against the
/// committed header and libmuon.so, with the flags of the C API tests.
pub fn compile_muon(
    src: &Path,
    out: &Path,
    extra_include: Option<&Path>,
) -> Result<PathBuf, String> {
    if !src.exists() {
        return Err(format!("{} does not exist", src.display()));
    }
    let lib = common::lib_dir();
    let mut cmd = common::cc_command(&["-O1"]);
    if let Some(dir) = extra_include {
        cmd.arg(format!("-I{}", dir.display()));
    }
    cmd.arg(src)
        .arg("-o")
        .arg(out)
        .arg(format!("-L{}", lib.display()))
        .arg("-lmuon")
        .arg("-lpthread")
        .arg(format!("-Wl,-rpath,{}", lib.display()));
    output_of(cmd, &format!("compiling {}", src.display()))?;
    Ok(out.to_path_buf())
}

/// Compiles a muon C++ example (examples-cpp/NAME.cpp, over
/// include/muon.hpp) against libmuon.so, with the flags tests/cpp.rs uses.
pub fn compile_muon_cpp(name: &str, out: &Path) -> Result<PathBuf, String> {
    let root = common::manifest_dir();
    let src = root.join("examples-cpp").join(format!("{name}.cpp"));
    if !src.exists() {
        return Err(format!("{} does not exist", src.display()));
    }
    let lib = common::lib_dir();
    let mut cmd = Command::new("g++");
    cmd.args([
        "-std=c++17",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-pedantic",
        "-O1",
        "-pthread",
    ])
    .arg(format!("-I{}", root.join("include").display()))
    .arg(format!("-I{}", root.join("examples-cpp").display()))
    .arg(&src)
    .arg("-o")
    .arg(out)
    .arg(format!("-L{}", lib.display()))
    .arg("-lmuon")
    .arg("-lpthread")
    .arg(format!("-Wl,-rpath,{}", lib.display()));
    output_of(cmd, &format!("compiling {}", src.display()))?;
    Ok(out.to_path_buf())
}

/// Compiles one of Proton's C examples (a copy of the installed source is
/// never needed: it compiles in place, output in `out_dir`).
pub fn compile_proton_c(name: &str, out_dir: &Path) -> Result<PathBuf, String> {
    let dir = Path::new(PROTON_EXAMPLES).join("c");
    let src = dir.join(format!("{name}.c"));
    if !src.exists() {
        return Err(format!(
            "{} is missing (libqpid-proton11-dev-examples)",
            src.display()
        ));
    }
    // Debian ships libqpid-proton.pc only; the proactor is inside
    // libqpid-proton.so. Use libqpid-proton-proactor.pc where it exists.
    let mut flags = String::new();
    for pc in [
        &["libqpid-proton-proactor", "libqpid-proton-core"][..],
        &["libqpid-proton"][..],
    ] {
        let mut cmd = Command::new("pkg-config");
        cmd.args(["--cflags", "--libs"]).args(pc);
        if let Ok(f) = output_of(cmd, "pkg-config") {
            flags = f;
            break;
        }
    }
    if flags.trim().is_empty() {
        return Err("pkg-config knows no libqpid-proton (libqpid-proton11-dev)".into());
    }
    let out = out_dir.join(format!("proton-{name}"));
    let mut cmd = Command::new("cc");
    cmd.args(["-O1", "-w", "-pthread"])
        .arg(format!("-I{}", dir.display()))
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .args(flags.split_whitespace())
        .arg("-lpthread");
    output_of(cmd, &format!("compiling Proton's {name}.c"))?;
    Ok(out)
}

/// Copies Proton's Python example `name` into `dir`, replacing `from` with
/// `to` (the examples that have their address written in). The installed
/// file is never changed.
pub fn adapt_python(name: &str, dir: &Path, from: &str, to: &str) -> Result<PathBuf, String> {
    let src = Path::new(PROTON_EXAMPLES).join("python").join(name);
    let text =
        std::fs::read_to_string(&src).map_err(|e| format!("cannot read {}: {e}", src.display()))?;
    if !text.contains(from) {
        return Err(format!(
            "{} no longer contains {from:?}; adapt the suite",
            src.display()
        ));
    }
    let out = dir.join(name);
    std::fs::write(&out, text.replace(from, to)).map_err(|e| e.to_string())?;
    Ok(out)
}

pub fn proton_py(name: &str) -> PathBuf {
    Path::new(PROTON_EXAMPLES).join("python").join(name)
}

/// A broker shared by the cases: its port, or why it is not running.
#[derive(Clone)]
pub struct Broker {
    pub name: &'static str,
    pub port: Result<u16, String>,
    pub server: Option<Arc<Mutex<Server>>>,
}

impl Broker {
    pub fn failed(name: &'static str, why: String) -> Broker {
        Broker {
            name,
            port: Err(why),
            server: None,
        }
    }

    /// The port, or `Err` saying why the broker is not usable.
    pub fn port(&self) -> Result<u16, String> {
        self.port
            .clone()
            .map_err(|e| format!("{} is not running: {e}", self.name))
    }

    /// `Ok` while the broker process is alive; `Err` with its log otherwise.
    pub fn health(&self) -> Result<(), String> {
        match &self.server {
            Some(s) => s.lock().unwrap_or_else(|e| e.into_inner()).check_alive(),
            None => Ok(()),
        }
    }

    pub fn stop(&self) {
        if let Some(s) = &self.server {
            s.lock()
                .unwrap_or_else(|e| e.into_inner())
                .stop(Duration::from_secs(10));
        }
    }
}

/// Starts a broker that prints "listening on PORT" (muon's broker with
/// `-a 127.0.0.1:0`, Proton's C broker with `127.0.0.1 0`).
pub fn start_printing_broker(name: &'static str, cmd: Command, log: PathBuf) -> Broker {
    let mut server = match Server::start(name, cmd, log) {
        Ok(s) => s,
        Err(e) => return Broker::failed(name, e),
    };
    let port = server
        .wait_for_line("listening on ", Duration::from_secs(20))
        .and_then(|l| {
            l.rsplit(' ')
                .next()
                .and_then(|p| p.trim().parse::<u16>().ok())
                .ok_or_else(|| format!("cannot read a port from {l:?}"))
        });
    Broker {
        name,
        port,
        server: Some(Arc::new(Mutex::new(server))),
    }
}

/// Starts Proton's Python example broker on a port of our own.
pub fn start_broker_py(log: PathBuf) -> Broker {
    let name = "Proton broker.py";
    let port = free_port();
    let mut cmd = Command::new(PYTHON);
    cmd.arg("-u")
        .arg(proton_py("broker.py"))
        .args(["-a", &format!("127.0.0.1:{port}")]);
    let mut server = match Server::start(name, cmd, log) {
        Ok(s) => s,
        Err(e) => return Broker::failed(name, e),
    };
    let port = server
        .wait_listening(port, Duration::from_secs(20))
        .map(|()| port);
    Broker {
        name,
        port,
        server: Some(Arc::new(Mutex::new(server))),
    }
}

/// The private RabbitMQ node: started by a thread of its own (which lives
/// until `stop`, so that its children's parent-death signal is tied to it),
/// used by the cases once `wait` says it is up.
pub struct Rabbit {
    dir: PathBuf,
    state: Arc<(Mutex<RabbitState>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The node's listeners, once it is up.
#[derive(Clone, Copy)]
struct RabbitPorts {
    amqp: u16,
    amqps: u16,
}

#[derive(Default)]
struct RabbitState {
    ready: Option<Result<RabbitPorts, String>>,
    stop: bool,
    log: Option<PathBuf>,
}

impl Rabbit {
    /// Starts the node in the background. `available` is `Err` when the
    /// package is missing.
    pub fn start(dir: PathBuf, available: Result<(), String>) -> Rabbit {
        let node = format!("muon-test-{}@localhost", std::process::id());
        let state = Arc::new((Mutex::new(RabbitState::default()), Condvar::new()));
        let st = state.clone();
        let d = dir.clone();
        let n = node;
        let thread = std::thread::spawn(move || {
            let set = |r: Result<RabbitPorts, String>| {
                let (m, cv) = &*st;
                m.lock().unwrap_or_else(|e| e.into_inner()).ready = Some(r);
                cv.notify_all();
            };
            if let Err(e) = available {
                set(Err(e));
                return;
            }
            let (mut epmd, mut server) = (None, None);
            set(start_rabbit(&d, &n, &st, &mut epmd, &mut server));
            // Wait for the end of the suite, then stop the node (graceful
            // SIGTERM through rabbitmq-server's trap) and epmd.
            let (m, cv) = &*st;
            let mut g = m.lock().unwrap_or_else(|e| e.into_inner());
            while !g.stop {
                g = cv.wait(g).unwrap_or_else(|e| e.into_inner());
            }
            drop(g);
            if let Some(mut s) = server {
                s.stop(Duration::from_secs(30));
            }
            if let Some(mut e) = epmd {
                e.stop(Duration::from_secs(5));
            }
        });
        Rabbit {
            dir,
            state,
            thread: Some(thread),
        }
    }

    /// Waits (up to `limit`) for the node; its AMQP port or why it failed.
    pub fn wait(&self, limit: Duration) -> Result<u16, String> {
        self.wait_ports(limit).map(|p| p.amqp)
    }

    /// Waits (up to `limit`) for the node; its TLS (amqps) port.
    pub fn wait_tls(&self, limit: Duration) -> Result<u16, String> {
        self.wait_ports(limit).map(|p| p.amqps)
    }

    /// A file of the node's PKI (`ca.pem`, `client.pem`, `client.key`,
    /// `other-ca.pem`: see `make_pki`), as an argument.
    pub fn pki(&self, name: &str) -> String {
        self.dir.join(PKI_DIR).join(name).display().to_string()
    }

    fn wait_ports(&self, limit: Duration) -> Result<RabbitPorts, String> {
        let (m, cv) = &*self.state;
        let deadline = Instant::now() + limit;
        let mut g = m.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(r) = &g.ready {
                return r
                    .clone()
                    .map_err(|e| format!("RabbitMQ is not running: {e}"));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!("RabbitMQ did not start within {limit:?}"));
            }
            g = cv
                .wait_timeout(g, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// The node's operating-system process id (the Erlang VM, `beam.smp`),
    /// from the pid file it writes (`RABBITMQ_PID_FILE`) once it is up.
    /// Used by tests/hostile_peers.rs, which measures the node's memory.
    #[allow(dead_code)]
    pub fn os_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir.join("rabbit.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    pub fn log_tail(&self, n: usize) -> String {
        let (m, _) = &*self.state;
        let log = m.lock().unwrap_or_else(|e| e.into_inner()).log.clone();
        log.and_then(|l| std::fs::read_to_string(l).ok())
            .map(|t| tail(&t, n))
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

impl Drop for Rabbit {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The environment of every rabbitmq-* command for the private node.
fn rabbit_env(cmd: &mut Command, dir: &Path, node: &str, amqp: u16, dist: u16, epmd: u16) {
    cmd.env("HOME", dir.join("home"))
        .env("RABBITMQ_CONF_ENV_FILE", dir.join("rabbitmq-env.conf"))
        .env("RABBITMQ_NODENAME", node)
        .env("RABBITMQ_NODE_PORT", amqp.to_string())
        .env("RABBITMQ_DIST_PORT", dist.to_string())
        .env("ERL_EPMD_PORT", epmd.to_string())
        .env("RABBITMQ_MNESIA_BASE", dir.join("mnesia"))
        .env("RABBITMQ_LOG_BASE", dir.join("log"))
        .env("RABBITMQ_CONFIG_FILE", dir.join("rabbitmq.conf"))
        .env("RABBITMQ_ADVANCED_CONFIG_FILE", dir.join("advanced.config"))
        .env("RABBITMQ_ENABLED_PLUGINS_FILE", dir.join("enabled_plugins"))
        .env("RABBITMQ_PID_FILE", dir.join("rabbit.pid"))
        .current_dir(dir);
}

/// Where, under the node's directory, its certificates are made.
const PKI_DIR: &str = "tls";

/// The common name of the client certificate, which RabbitMQ takes as the
/// user name with SASL EXTERNAL (`ssl_cert_login_from = common_name`); the
/// user is in rabbitmq-definitions.json.
pub const CLIENT_CN: &str = "muon-tls-client";

/// Makes the node's certificates in `dir` (with `common::pki`; the node
/// runs as us, so it can read the keys): `ca.pem`; `server.pem`/`.key` for
/// localhost and 127.0.0.1; `client.pem`/`.key` with the common name
/// `CLIENT_CN`; and `other-ca.pem`, a CA that signed none of them.
fn make_pki(dir: &Path) -> Result<(), String> {
    common::pki::Pki::builder(dir)
        .ca("ca", "/CN=muon interop CA")
        .ca("other-ca", "/CN=an unrelated CA")
        .server("server", "ca")
        .client("client", "ca", CLIENT_CN)
        .build()
        .map(drop)
}

/// The plugins of the private node: AMQP 1.0, and SASL EXTERNAL with the
/// TLS client certificate's common name as the user.
const RABBIT_PLUGINS: &[&str] = &["rabbitmq_amqp1_0", "rabbitmq_auth_mechanism_ssl"];

/// Starts epmd and the node (kept in `epmd` and `server`, so that they are
/// stopped whatever happens); returns the node's AMQP and AMQPS ports.
fn start_rabbit(
    dir: &Path,
    node: &str,
    st: &Arc<(Mutex<RabbitState>, Condvar)>,
    epmd: &mut Option<Server>,
    server: &mut Option<Server>,
) -> Result<RabbitPorts, String> {
    let amqp = free_port();
    let amqps = free_port();
    let dist = free_port();
    let epmd_port = free_port();
    for sub in ["home", "mnesia", "log"] {
        std::fs::create_dir_all(dir.join(sub))
            .map_err(|e| format!("cannot create {}: {e}", dir.join(sub).display()))?;
    }
    let template = std::fs::read_to_string(interop_dir().join("rabbitmq.conf.in"))
        .map_err(|e| format!("cannot read rabbitmq.conf.in: {e}"))?;
    let definitions = interop_dir().join("rabbitmq-definitions.json");
    // The node runs as us, so it can read the keys it is pointed at.
    let pki = dir.join(PKI_DIR);
    make_pki(&pki).map_err(|e| format!("cannot make the TLS certificates: {e}"))?;
    let files = [
        (
            "rabbitmq.conf",
            template
                .replace("@AMQP_PORT@", &amqp.to_string())
                .replace("@AMQPS_PORT@", &amqps.to_string())
                .replace("@PKI@", &pki.display().to_string())
                .replace("@DEFINITIONS@", &definitions.display().to_string()),
        ),
        ("rabbitmq-env.conf", String::new()),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).map_err(|e| format!("cannot write {name}: {e}"))?;
    }

    // rabbitmq-plugins enable ..., offline: writes our enabled_plugins
    // file (RABBITMQ_ENABLED_PLUGINS_FILE) before the node starts.
    let mut cmd = Command::new(Path::new(RABBITMQ_BIN).join("rabbitmq-plugins"));
    cmd.args(["--offline", "enable"]).args(RABBIT_PLUGINS);
    rabbit_env(&mut cmd, dir, node, amqp, dist, epmd_port);
    let r = crate::harness::run(dir, "rabbitmq-plugins", cmd, Duration::from_secs(60));
    if !r.ok() {
        return Err(format!(
            "rabbitmq-plugins enable {} failed: {}",
            RABBIT_PLUGINS.join(" "),
            r.describe()
        ));
    }

    // Our own epmd, in the foreground so it is ours to stop.
    let mut cmd = Command::new("epmd");
    cmd.args(["-port", &epmd_port.to_string()]);
    let e = epmd.insert(Server::start("epmd", cmd, dir.join("epmd.log"))?);
    e.wait_listening(epmd_port, Duration::from_secs(10))?;

    let mut cmd = Command::new(Path::new(RABBITMQ_BIN).join("rabbitmq-server"));
    rabbit_env(&mut cmd, dir, node, amqp, dist, epmd_port);
    {
        let (m, _) = &**st;
        m.lock().unwrap_or_else(|e| e.into_inner()).log =
            Some(dir.join("log").join(format!("{node}.log")));
    }
    let log = dir.join("rabbitmq-server.out");
    let s = server.insert(Server::start("RabbitMQ", cmd, log)?);
    s.wait_for_line("completed with", Duration::from_secs(120))?;
    s.wait_listening(amqp, Duration::from_secs(20))?;
    s.wait_listening(amqps, Duration::from_secs(20))?;
    Ok(RabbitPorts { amqp, amqps })
}
